/*
 * Synchronous IPC through endpoints (L4 style, seL4-like endpoints).
 *
 * State machine of a thread (thread->ipc_state):
 *   IPC_NONE --send, no receiver--> IPC_SEND (queued on ep->sendq)
 *   IPC_NONE --recv, no sender----> IPC_RECV (queued on ep->recvq)
 *   IPC_SEND --taken by a receiver--> IPC_NONE (send) | IPC_REPLY (call)
 *   IPC_RECV --a sender arrives----> IPC_NONE
 *   IPC_REPLY --reply-------------> IPC_NONE
 *   any blocked state --timeout---> IPC_NONE with -AL_ETIMEDOUT
 *   any blocked state --endpoint/partner gone--> IPC_NONE, -AL_ECANCELED
 * Queues are ordered by priority, FIFO within a priority. A message is
 * copied from the sender's UTCB to the receiver's through the direct map
 * (no user page-table walk); capability items are checked before anything
 * is copied, so a failed transfer changes nothing.
 *
 * Fast path: a call to a waiting receiver, and a reply to a waiting caller
 * when the replier then waits on an empty endpoint, with untyped words only
 * (<= IPC_FAST_WORDS), where the partner may run on this CPU and nothing of
 * higher priority is queued there, switch directly to the partner without
 * touching the run queue. It produces exactly what the general path does
 * (tested with the fast path disabled through kernel_control).
 *
 * Files: kernel/endpoint.c (endpoints, wait queues, reply bookkeeping),
 * kernel/ipc.c (transfer and the general path), kernel/ipc_fast.c (fast
 * paths and the ipc system call), kernel/sys_ipc.c (endpoint_create,
 * reply_save), kernel/fault.c (fault messages); kernel/ipc_impl.h is
 * their shared internal interface.
 *
 * Locking: BKL.
 */
#ifndef KERNEL_IPC_H
#define KERNEL_IPC_H
#include <stdint.h>

struct thread;
struct cap;

/* IPC_XFER: blocked while the partner copies string items (kernel/ipc_string.c) */
enum ipc_state { IPC_NONE, IPC_SEND, IPC_RECV, IPC_REPLY, IPC_XFER };

#define IPC_FAST_WORDS 8

struct endpoint {
    unsigned refs; /* capabilities naming it */
    struct thread *sendq, *recvq;
    struct kmem *kmem; /* pays for its frame (NULL: the kernel) */
};

/* a new endpoint, no capability yet (cap_install it: endpoint_ops) */
struct kmem;
/* an endpoint charged to k (NULL: the kernel's own); NULL with
 * *err = -AL_EDQUOT or -AL_ENOMEM */
struct endpoint *endpoint_create(struct kmem *k, long *err);
void ipc_timeout(struct thread *t);     /* from the sleep list */
void ipc_thread_dies(struct thread *t); /* cancel everything that involves t */
/* send (call: and wait for the reply) on ep as `self`; kernel/fault.c uses it
 * for fault messages */
long ipc_send(struct thread *self, struct endpoint *ep, uint64_t tag, uint64_t badge, int grant, int call,
              int64_t timeout);
/* the fault fast path: call a waiting handler directly (1), or 0 */
struct trap_frame;
int fault_fast_call(struct thread *self, struct cap *h, uint64_t tag, const struct trap_frame *tf, uint64_t addr);
/* Reasons the fast paths are off (0: on), one load in fast_cpu_ok:
 * IPC_FAST_OFF_KNOB: kernel_control(AL_KCTL_IPC_FASTPATH, 0);
 * IPC_FAST_OFF_KILLS: killed threads exist (thread_kill): a thread killed
 * while it ran must not block on a fast path, where nothing checks it;
 * the general path's block() does (kernel/ipc.c);
 * IPC_FAST_OFF_UPCALL: threads owe an upcall entry (kernel/vcpu.c): one
 * that owes it must not block in a send or receive without it, which only
 * block() checks. BKL held to change. */
#define IPC_FAST_OFF_KNOB   1
#define IPC_FAST_OFF_KILLS  2
#define IPC_FAST_OFF_UPCALL 4
extern int ipc_fast_off;
#endif
