/*
 * Bulk copies for the kernel (string items, kernel/ipc_string.c): through
 * the direct map, so both pointers are kernel addresses. REP MOVSQ moves
 * the 8-byte words and REP MOVSB the tail: under QEMU's -icount one
 * instruction counts per iteration, n / 8 + n % 8 for n bytes (MOVSB alone
 * would count n). Interrupts may be on or off; DF is clear in the kernel.
 */
#ifndef ARCH_COPY_H
#define ARCH_COPY_H
#include <stddef.h>

static inline void arch_copy_bulk(void *dst, const void *src, size_t n)
{
    size_t q = n >> 3, b = n & 7;
    __asm__ volatile("rep movsq\n\tmovq %3, %%rcx\n\trep movsb" : "+D"(dst), "+S"(src), "+c"(q) : "r"(b) : "memory");
}

/* Let pending interrupts in for one instruction (a preemption point in a
 * long kernel operation; the caller must not hold the BKL: an interrupt
 * taken here takes it in trap_dispatch). Interrupts are off again after. */
static inline void arch_irq_window(void)
{
    __asm__ volatile("sti; nop; cli" ::: "memory");
}
#endif
