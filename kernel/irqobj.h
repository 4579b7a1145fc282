/*
 * IRQ objects (AL_CAP_IRQ) and the IRQ-control capability
 * (AL_CAP_IRQ_CONTROL), kernel/irqobj.c; docs/ARCHITECTURE.md, section
 * 11.9, and docs/ABI.md, section 5.12.
 *
 * An IRQ object owns one device vector (kernel/irq.h) bound to its source
 * (an ISA IRQ, a GSI, or an MSI) from creation until its last capability
 * is deleted. Bound to an endpoint, each arrival is delivered as a
 * kernel-made message (label AL_LABEL_IRQ) to a receiver of that
 * endpoint; while no receiver waits, the object itself waits on the
 * endpoint's send queue (a queue node shaped like a thread), so every
 * receive path, the fast path's emptiness test included, sees the message.
 * One message is outstanding at a time: until irq_ack, arrivals are only
 * counted (a level line stays masked by kernel/irq.c).
 *
 * Locking: the big kernel lock, interrupts off, for everything here.
 */
#ifndef KERNEL_IRQOBJ_H
#define KERNEL_IRQOBJ_H
#include <stdint.h>

struct task;
struct thread;

/* the object every IRQ-control capability names */
extern char irq_control_space;

/* system start: the root task's IRQ-control capability (AL_SLOT_IRQ_CONTROL) */
void irqobj_grant_root(struct task *root);

/* ipc_recv found `node` first on an endpoint's send queue: if it is an
 * IRQ object's queue node, it leaves the queue, its message goes to the
 * receiver r, and 1 is returned; 0 for a thread (nothing done) */
int irqobj_take(struct thread *node, struct thread *r);

/* upcall mode (kernel/vcpu.c): the handler of the thread pool object idx
 * is bound to was entered at TSC now with its arrivals pending: their
 * wait goes into the object's histogram; returns the TSC of the oldest
 * (0: none was waiting) */
uint64_t irqobj_upcall_entered(unsigned idx, uint64_t now);
/* thread t's upcall registration ends: every IRQ object bound to it is
 * unbound (as irq_detach does) */
void irqobj_upcall_release(struct thread *t);
/* ... t registered again (entry, stack): the trampoline's routes follow */
void irqobj_upcall_reroute(struct thread *t);

/* direct gates (kernel/vcpu.c): the gate of pool object idx is down on
 * its CPU at last (after an unbind that could not take it down at once);
 * and a handler run through it returned (counted) */
void irqobj_direct_down(unsigned idx);
void irqobj_direct_returned(unsigned idx);

/* The wait of an IRQ message ends when its receiver's receive returns:
 * a receiver woken with one carries it (thread.irq_wait) and ends it where
 * its receive resumes (block() in kernel/ipc.c, the fast path's
 * fast_reply_switch), returned 1; a thread that dies with it drops it
 * (0). BKL held. */
void irqobj_wait_end(struct thread *t, int returned);

/* the boot CPU's timer tick (kernel/sched.c): a new storm-throttle tick;
 * the lines throttled in the last one are unmasked if they want it */
void irqobj_tick(void);
#endif
