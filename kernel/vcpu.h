/*
 * Upcalls: the virtual-CPU side of a driver thread (kernel/vcpu.c;
 * abi/airlock/upcall.h; docs/ARCHITECTURE.md, section 11.11).
 *
 * Locking: the big kernel lock, interrupts off, for everything here. The
 * state area is also written by the thread itself (any time) and by the
 * trampoline's fast path on the CPU where the thread runs in user mode
 * (without the lock): the kernel changes its words only with atomic
 * instructions, and trusts nothing it reads there (vif and pending are
 * hints; the saved context is checked before it is loaded).
 */
#ifndef KERNEL_VCPU_H
#define KERNEL_VCPU_H
#include <stdint.h>
#include "kernel/thread.h"

struct thread;

/* n arrivals of an IRQ object bound in upcall mode to thread t with bit
 * `bit`: counted in t's state area, its pending bit set, and, if t's
 * virtual interrupt flag is set, t made to enter its handler: at once if
 * it runs (an IPI if on another CPU), woken if it waits in an IPC or a
 * sleep (the call returns -AL_EINTR), when it next runs otherwise.
 * arrived_at: the TSC of the arrival in the trampoline. */
void vcpu_post(struct thread *t, unsigned bit, unsigned long n);

/* t owes an upcall entry that its virtual flag allows: it must not
 * block in an interruptible wait (an IPC send or receive, a sleep); the
 * wait returns -AL_EINTR at once instead */
int vcpu_owed_slow(const struct thread *t);
static inline int vcpu_owed(const struct thread *t)
{
    return t->upcall_due && vcpu_owed_slow(t);
}

/* direct ring-3 gates (one per CPU): t (pinned, registered) gets the gate
 * of vector on its CPU while it runs there, to entry on the stack ending at
 * stack_top; idx: the IRQ object (kernel/irqobj.c). 0 or -AL_EBUSY. */
long vcpu_direct_bind(struct thread *t, unsigned idx, unsigned vector, uint64_t entry, uint64_t stack_top);
/* the binding of IRQ object idx ends: 1 if its gate is down now, 0 if it
 * comes down at its CPU's next exit or switch (irqobj_direct_down then) */
int vcpu_direct_unbind(unsigned idx);
/* this CPU's gate as it should be: up exactly while its thread runs here
 * and is not inside a handler the kernel acknowledged for it (the switch
 * tail, and the exit work after a remote unbind) */
void vcpu_direct_sync(void);

/* the registration ends (the thread dies, or registers entry 0): its IRQ
 * objects are unbound (kernel/irqobj.c) and the fast path forgets it */
void vcpu_unregister(struct thread *t);

/* after a switch while threads owe an upcall entry (SWITCH_UPCALL): the
 * thread switched in enters its handler on its way out if it owes one */
void vcpu_switch_tail(void);
#endif
