/*
 * The big kernel lock (BKL). Airlock runs its kernel under one lock, as
 * seL4 does: every entry from user mode takes it (the SYSCALL path in
 * entry.S, trap_dispatch for exceptions and interrupts) and every exit to
 * user mode releases it; the idle loop drops it while halted. Kernel code
 * is short and runs with interrupts disabled, so contention is brief, and
 * every kernel object is protected by it without further locking.
 *
 * Not taken by: the NMI/#DF/#MC paranoid path, the TLB-shootdown IPI (its
 * handler touches only per-CPU state; a CPU spinning for the BKL polls the
 * shootdown mailbox, so a shootdown initiator holding the BKL can never
 * deadlock with it), and panic.
 */
#ifndef KERNEL_BKL_H
#define KERNEL_BKL_H
#include <stdint.h>

extern volatile uint32_t bkl_word; /* 0 = free, 1 = held (bit 0, see entry.S) */

void bkl_lock(void);
void bkl_unlock(void);
/* called from entry.S when the SYSCALL path found the lock taken */
void bkl_lock_contended(void);

/*
 * The contract of almost all kernel code: "BKL held, interrupts off".
 * DEBUG builds check it where the comments state it (the scheduler, thread
 * switches, IPC transfers, mapping changes); other builds compile it away.
 * The lock does not record its owner (the SYSCALL path takes it with one
 * `lock bts` in entry.S), so the check is "held by some CPU": on one CPU,
 * and with interrupts off, that is the whole contract.
 */
#ifdef DEBUG
#include <arch/irqflags.h>
#include "kernel/panic.h"
#define assert_kernel_locked()                                                                                         \
    do {                                                                                                               \
        assert(bkl_word & 1);                                                                                          \
        assert(!arch_irqs_enabled());                                                                                  \
    } while (0)
#else
#define assert_kernel_locked() ((void)0)
#endif
#endif
