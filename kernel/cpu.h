/* Kernel-private per-CPU data (not mapped in user spaces). */
#ifndef KERNEL_CPU_H
#define KERNEL_CPU_H
#include <stdint.h>
#include <arch/percpu.h>
#include "kernel/runqueue.h"

#define MAX_CPUS 64

/* cpu.switch_work: after a switch, sched_switch_tail ... */
#define SWITCH_REAP  1 /* frees the dead thread in cpu.reap */
#define SWITCH_PORTS 2 /* loads the next task's I/O ports (the bitmap holds a set) */
#define SWITCH_KILL  4 /* killed threads exist: one switched in goes to the kill point */
#define SWITCH_UPCALL 8 /* threads owe an upcall entry: one switched in enters on its way out (kernel/vcpu.c) */
#define SWITCH_DIRECT 16 /* this CPU has a direct gate: up only while its thread runs (kernel/vcpu.c) */

struct thread;

struct cpu {
    unsigned index;
    uint32_t apic_id;
    unsigned package, core, smt; /* topology from CPUID */
    int online;                  /* running the scheduler */
    struct cpu_entry *entry;     /* this CPU's entry area (trampoline) */
    struct thread *current;
    struct thread *idle;
    struct thread *reap;  /* dead thread whose stack to free after the switch */
    uint64_t switch_work; /* SWITCH_*: what sched_switch_tail has to do */
    /* the task whose I/O-port set this CPU's bitmap holds (NULL: none, all
     * ports denied), the set's generation and the bytes [io_start, io_end)
     * that may differ from all ones (kernel/ioport.c) */
    struct task *io_task;
    uint64_t io_gen;
    unsigned io_start, io_end;
    uint64_t ticks;     /* timer ticks taken */
    struct runqueue rq; /* kernel/runqueue.h */
};

extern struct cpu cpus[MAX_CPUS];
extern unsigned ncpus;

static inline struct cpu *this_cpu(void)
{
    return arch_cpu_local();
}

/* work for every CPU's switches: bit (SWITCH_*) set (on) or cleared. BKL
 * held. */
static inline void switch_work_all(uint64_t bit, int on)
{
    for (unsigned i = 0; i < ncpus; i++)
        if (on)
            cpus[i].switch_work |= bit;
        else
            cpus[i].switch_work &= ~bit;
}

static inline struct thread *current(void)
{
    return this_cpu()->current;
}
#endif
