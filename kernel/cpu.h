/* Kernel-private per-CPU data (not mapped in user spaces). */
#ifndef KERNEL_CPU_H
#define KERNEL_CPU_H
#include <stdint.h>
#include <arch/percpu.h>

#define MAX_CPUS 64

struct thread;

/* per-CPU run queue: one FIFO per priority and a bitmap of non-empty ones */
struct runqueue {
    uint64_t bitmap[4];
    uint64_t summary; /* bit w: bitmap[w] is not zero */
    struct thread *head[256], *tail[256];
    unsigned nr;
};

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
    struct runqueue rq;
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
