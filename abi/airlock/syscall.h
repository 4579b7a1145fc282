/*
 * System call ABI (see docs/ABI.md).
 *
 * Entry: SYSCALL with RAX = number, arguments in RDI, RSI, RDX, R10, R8, R9
 *        (or `int $0x80` with the same registers).
 * Exit:  RAX = result (>= 0) or -AL_Exxx. RCX and R11 are clobbered by
 *        SYSCALL/SYSRET; RDI, RSI, RDX, R8, R9, R10 come back as they were
 *        passed in; every other register, including all FPU/SSE state, is
 *        preserved.
 */
#ifndef AIRLOCK_ABI_SYSCALL_H
#define AIRLOCK_ABI_SYSCALL_H

#define AL_INT_SYSCALL_VECTOR 0x80

enum al_syscall_nr {
#define SYSCALL(nr, name, nargs, params, args) AL_SYS_##name = nr,
#include "abi/airlock/syscalls.def"
#undef SYSCALL
    AL_SYS_COUNT
};

/* Counters returned by the stats call (AL_SYS_stats). All are per-CPU sums
 * since boot; the struct only grows at its end, `size` says how much the
 * caller wants. */
struct al_stats {
    unsigned long cr3_writes;   /* MOV to CR3 executed by the kernel */
    unsigned long tlb_flushes;  /* full TLB flushes (CR3 writes without PCID, CR4 toggles) */
    unsigned long invlpg;       /* single-page invalidations */
    unsigned long syscalls;     /* system calls entered (SYSCALL and int 0x80) */
    unsigned long interrupts;   /* hardware interrupts and exceptions taken */
    unsigned long fpu_saves;    /* XSAVE/FXSAVE executed */
    unsigned long free_frames;  /* physical frames free right now */
    unsigned long total_frames; /* physical frames managed */
    unsigned long nmis;         /* non-maskable interrupts taken */
    unsigned long fpu_restores; /* XRSTOR/FXRSTOR executed */
    unsigned long ipc_fast;     /* IPCs completed by the fast path */
    unsigned long ipc_slow;     /* IPCs completed by the general path */
    unsigned long cache_frames; /* kernel frames held by caches that only grow (mapping-database
                                   nodes, budget records): free_frames + cache_frames is constant when
                                   nothing leaks */
    unsigned long mapdb_nodes;  /* mappings in the mapping database */
    unsigned long live_tasks;   /* task objects not yet destroyed */
    unsigned long live_threads; /* thread objects not yet freed */
};

/* kmem_info: a task's kernel-memory budget, in 4 KiB frames */
struct al_kmem_info {
    unsigned long limit;    /* what its creator gave it */
    unsigned long used;     /* held by its objects, and the budgets of its children */
    unsigned long peak;     /* the highest `used` so far */
    unsigned long nodes;    /* mapping-database nodes (a frame per 56) */
    unsigned long tables;   /* page tables of its address space */
    unsigned long children; /* budgets handed to tasks it created (still alive) */
    unsigned long task;     /* the task's id */
};

/* thread_join results */
#define AL_THREAD_EXITED  1 /* *status = the value passed to exit */
#define AL_THREAD_FAULTED 2 /* *status = the exception vector */
#define AL_THREAD_KILLED  3 /* task_kill ended it; *status = 0 */

/* thread states in struct al_thread_info */
enum al_thread_state { AL_TS_NEW, AL_TS_RUNNABLE, AL_TS_RUNNING, AL_TS_BLOCKED, AL_TS_SUSPENDED, AL_TS_DEAD };

struct al_thread_info {
    unsigned int tid, task; /* task 0: a kernel thread */
    int state;              /* enum al_thread_state */
    int prio;               /* -1: idle thread */
    int cpu, affinity;      /* affinity -1: any CPU */
    unsigned long cpu_time_ns;
    unsigned long switches, migrations;
    char name[24];
};

/* the scheduler tick: a thread's cpu_time_ns grows by 1e9 / AL_TICK_HZ for
 * each tick that finds it running (sampled, not measured) */
#define AL_TICK_HZ 100
struct al_cpu_info {
    unsigned int index, apic_id;
    unsigned int package, core, smt;
    int online;
    unsigned long ticks;        /* timer ticks taken (AL_TICK_HZ; CPU time is sampled at them) */
    unsigned long madt_apic_id; /* the MADT's APIC ID for this CPU */
};

#define AL_PRIO_MAX_USER 200  /* highest priority a boot module may use */
#define AL_THREADS_MAX   1024 /* threads per task */

#endif
