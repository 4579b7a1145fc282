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

/* the boot CPU's timer tick (kernel/sched.c): a new storm-throttle tick;
 * the lines throttled in the last one are unmasked if they want it */
void irqobj_tick(void);
#endif
