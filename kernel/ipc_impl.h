/*
 * IPC internals shared by kernel/endpoint.c (queues, reply bookkeeping),
 * kernel/ipc.c (general path), kernel/ipc_fast.c (fast paths) and
 * kernel/fault.c (fault messages) and kernel/irqobj.c (interrupt
 * messages). Not for other kernel code: it uses
 * kernel/ipc.h. All with the big kernel lock held, interrupts off.
 */
#ifndef KERNEL_IPC_IMPL_H
#define KERNEL_IPC_IMPL_H
#include <stddef.h>
#include <stdint.h>
#include "kernel/ipc.h"
#include "kernel/thread.h"
#include "kernel/bkl.h"
#include "kernel/cap.h"
#include "abi/airlock/errno.h"

/* ---- wait queues and waking (inline: the general path lives on them) ---- */

static inline void ipc_q_remove(struct thread **q, struct thread *t)
{
    if (t->ipc_prev)
        t->ipc_prev->ipc_next = t->ipc_next;
    else
        *q = t->ipc_next;
    if (t->ipc_next)
        t->ipc_next->ipc_prev = t->ipc_prev;
    t->ipc_next = t->ipc_prev = NULL;
}

/* by priority, FIFO within a priority */
static inline void ipc_q_insert(struct thread **q, struct thread *t)
{
    struct thread *prev = NULL, *cur = *q;
    while (cur && cur->prio >= t->prio) {
        prev = cur;
        cur = cur->ipc_next;
    }
    t->ipc_prev = prev;
    t->ipc_next = cur;
    if (cur)
        cur->ipc_prev = t;
    if (prev)
        prev->ipc_next = t;
    else
        *q = t;
}

static inline void ipc_wake(struct thread *t, long result)
{
    t->ipc_state = IPC_NONE;
    t->ipc_ep = NULL;
    t->ipc_result = result;
    sched_sleep_cancel(t);
    sched_enqueue(t);
}

/* a caller stops waiting for its reply: forget every reference to it */
static inline void ipc_unlink_reply(struct thread *caller)
{
    if (caller->reply_server && caller->reply_server->reply_to == caller)
        caller->reply_server->reply_to = NULL;
    caller->reply_server = NULL;
    if (caller->reply_slot) {
        struct cap *c = caller->reply_slot;
        caller->reply_slot = NULL;
        cap_delete(c);
    }
}

/* a caller whose reply can no longer come: it gets -AL_ECANCELED */
static inline void ipc_cancel_caller(struct thread *caller)
{
    if (caller->ipc_state != IPC_REPLY)
        return;
    ipc_unlink_reply(caller);
    ipc_wake(caller, -AL_ECANCELED);
}

/* The one place where a call turns into a wait for the reply: `caller`
 * (whose message `server` has taken) is to wait for it, and `server` owes
 * it the reply. The server owes no other unsaved reply: a caller of this
 * either knows it (fast paths) or dropped it (reply_drop_older). The
 * caller then puts `caller` into IPC_REPLY (block() or directly). */
static inline void reply_link(struct thread *caller, struct thread *server)
{
    server->reply_to = caller;
    caller->reply_server = server;
    caller->reply_gen++;
}

/* A server takes a new call while it still owes an unsaved reply to an
 * older caller: that reply can no longer be given (save it with
 * reply_save to keep it), so the older caller is cancelled. */
static inline void reply_drop_older(struct thread *server, struct thread *caller)
{
    if (server->reply_to && server->reply_to != caller) {
        struct thread *older = server->reply_to;
        server->reply_to = NULL;
        ipc_cancel_caller(older);
    }
}

/* Where a map item answering a fault lands: the aligned block of the
 * flexpage's size (2^order) around the thread's fault address. */
static inline uint64_t fault_block(const struct thread *t, uint64_t order)
{
    return t->fault_addr_ipc & ~((1ULL << order) - 1);
}

/* the general path of the ipc system call (kernel/ipc.c) */
long ipc_general(uint64_t op, uint64_t cap, uint64_t tag, uint64_t rcv_cap, uint64_t timeout);
/* block the current thread in `state` (timeout: ns, <= 0 none); returns
 * its result when woken (kernel/ipc.c) */
long ipc_block(struct thread *self, int state, int64_t timeout);
#define IPC_TIMEOUT_MAX (3600LL * 1000000000LL)

/* ---- string items (kernel/ipc_string.c) ---- */
struct xfer;
/* one string item (kind word, sender's address): 0, -AL_EINVAL, -AL_E2BIG
 * or -AL_EFAULT */
long xfer_check_item(uint64_t kind, uint64_t addr);
/* the record of a transfer of the string items among item[0..2*items)
 * (already checked) from s to r, whose buffers it checks: 0, or an error
 * with *xp = XFER_RECV_BAD when the receiver's buffers are at fault */
long xfer_prepare(struct thread *s, struct thread *r, const uint64_t *item, uint64_t items, uint64_t words,
                  struct xfer **xp);
#define XFER_RECV_BAD ((struct xfer *)1)
#define XFER_PENDING  1            /* transfer(): words delivered, strings to copy (s->xfer) */
void xfer_discard(struct xfer *x); /* a prepared transfer that will not run */
/* run the copy prepared in s->xfer from s to r as the current thread (s
 * or r: the side that found its partner, which is blocked and off every
 * queue); call: the sender then waits for the reply (reply_timeout: the
 * sender's timeout in ns, <= 0 none). Returns the current thread's result;
 * a successful caller returns once its reply came. */
long xfer_start(struct thread *s, struct thread *r, int call, int64_t reply_timeout);
/* the task a fault answer to t lands in while t waits for a pager in its
 * string-copy partner's place (kmsg == KMSG_PROXY): the partner's, or NULL
 * if it left */
struct task *xfer_proxy_task(struct thread *t);
void xfer_leave(struct thread *t); /* t leaves its transfer for good (killed, dying) */
#endif
