/* Kernel-private per-CPU data (not mapped in user spaces). */
#ifndef KERNEL_CPU_H
#define KERNEL_CPU_H
#include <stdint.h>
#include "arch/x86_64/entry_area.h"

#define MAX_CPUS 64

struct thread;

struct cpu {
    unsigned index;
    uint32_t apic_id;
    struct cpu_entry *entry;        /* this CPU's entry area (trampoline) */
    struct thread *current;
    struct thread *idle;
    struct thread *reap;            /* dead thread to free after the switch */
};

extern struct cpu cpus[MAX_CPUS];
extern unsigned ncpus;

static inline struct cpu *this_cpu(void)
{
    struct cpu *c;
    __asm__ volatile("movq %%gs:%c1, %0" : "=r"(c) : "i"(CE_KCPU));
    return c;
}

static inline struct thread *current(void) { return this_cpu()->current; }
#endif
