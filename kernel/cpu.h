/* Kernel-private per-CPU data (not mapped in user spaces). */
#ifndef KERNEL_CPU_H
#define KERNEL_CPU_H
#include <stdint.h>
#include <arch/percpu.h>
#include "kernel/runqueue.h"

#define MAX_CPUS 64

struct thread;

struct cpu {
    unsigned index;
    uint32_t apic_id;
    unsigned package, core, smt; /* topology from CPUID */
    int online;                  /* running the scheduler */
    struct cpu_entry *entry;     /* this CPU's entry area (trampoline) */
    struct thread *current;
    struct thread *idle;
    struct thread *reap; /* dead thread whose stack to free after the switch */
    uint64_t ticks;      /* timer ticks taken */
    struct runqueue rq;  /* kernel/runqueue.h */
};

extern struct cpu cpus[MAX_CPUS];
extern unsigned ncpus;

static inline struct cpu *this_cpu(void)
{
    return arch_cpu_local();
}

static inline struct thread *current(void)
{
    return this_cpu()->current;
}
#endif
