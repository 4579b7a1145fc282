/* The CPU's interrupt flag, for code that checks its own contracts. */
#ifndef ARCH_IRQFLAGS_H
#define ARCH_IRQFLAGS_H
#include <stdint.h>

/* 1 if maskable interrupts are enabled on this CPU (RFLAGS.IF) */
static inline int arch_irqs_enabled(void)
{
    uint64_t f;
    __asm__ volatile("pushfq; popq %0" : "=r"(f));
    return (f >> 9) & 1;
}
#endif
