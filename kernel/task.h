/*
 * Tasks: an address space (a user PML4) and a capability space. A user
 * PML4 holds the user half and, in the upper half, only PML4 slot 510: the
 * shared trampoline page tables.
 * Memory: the task object is one frame. Frames the kernel mapped for the
 * task itself (the ELF images of sigma0 and root, stacks it made, UTCBs,
 * boot information) are owned by the task and freed with it; pages that
 * came through the mapping database stay their owner's (sigma0's).
 * Locking: big kernel lock.
 */
#ifndef KERNEL_TASK_H
#define KERNEL_TASK_H
#include <stddef.h>
#include <stdint.h>
#include "abi/airlock/layout.h"
#include "abi/airlock/errno.h"
#include "kernel/kmem.h"
#include <arch/pagetable.h>

struct cspace;
struct kmem;

struct thread;

struct task {
    uint64_t pml4; /* physical */
    uint64_t cr3;  /* what the entry code loads for it (tlb_space_new: PML4, tag, no-flush bit) */
    /* CPUs that may hold its translations: every CPU one of its threads
     * was placed on (task_placed); with PCID they survive the CR3 writes,
     * so its shootdowns go to all of these (task_cpu_mask) */
    uint64_t tlb_cpus;
    unsigned id;
    unsigned nthreads;     /* thread objects (live and dead) */
    unsigned live_threads; /* not yet dead */
    struct thread *threads;
    struct thread *waiter; /* blocked in task_wait */
    int max_prio;          /* highest priority its threads may have */
    struct cspace *cspace; /* capability space (kernel/cap.h) */
    unsigned refs;         /* task capabilities naming it */
    int orphan;            /* no capability left: destroyed with its last thread */
    int is_sigma0;
    struct thread *main;      /* the first thread: task_wait reports its end */
    struct task *doomed_next; /* task_put's destruction list */
    /* I/O ports (kernel/ioport.c): the union of the ranges of the ioport
     * capabilities in its cspace. io_bitmap (8 KiB, two frames, a clear
     * bit permits the port) exists only while io_caps > 0. */
    uint8_t *io_bitmap;
    unsigned io_start, io_end; /* the bytes of io_bitmap that may hold a clear bit */
    unsigned io_caps;          /* ioport capabilities in its cspace */
    uint64_t io_gen;           /* changes whenever the set is rebuilt */
    int io_dirty;              /* on ioport_dirty: its set shrank, CPUs to refresh */
    struct task *io_dirty_next;
    /* device memory (kernel/iomem.c): iomem capabilities in its cspace, and
     * whether it ever mapped a device page (else a deletion has nothing to
     * take down) */
    unsigned iomem_caps;
    int iomem_mapped;
    uint64_t utcb_used[AL_UTCB_SLOTS / 64];
    struct kmem *kmem; /* its kernel-memory budget (kernel/kmem.h) */
    char name[32];
};

/* a thread of t (NULL: a kernel thread) is placed on cpu, where it may
 * run next (BKL held): every site that gives a thread another cpu calls
 * this, so that t->tlb_cpus always holds the cpu of each of its threads */
static inline void task_placed(struct task *t, unsigned cpu)
{
    if (t)
        t->tlb_cpus |= 1ULL << cpu;
}

/* a task whose budget of `limit` frames is taken from parent; NULL with
 * *err = -AL_EDQUOT (parent's budget, or limit below the task's own
 * structures) or -AL_ENOMEM */
struct task *task_create(const char *name, struct kmem *parent, uint64_t limit, long *err);
/* pt_map into t's space, the page tables it needs charged to t's budget
 * (kmem_payer for the call; inline: the page-fault path maps through it):
 * 0, -AL_EDQUOT, or pt_map's errors */
static inline int task_pt_map(struct task *t, uint64_t va, uint64_t pa, uint64_t flags)
{
    kmem_payer = t->kmem;
    kmem_refused = 0;
    int r = pt_map(t->pml4, va, pa, flags);
    kmem_payer = NULL;
    return r && kmem_refused ? -AL_EDQUOT : r;
}
void task_destroy(struct task *t); /* all its threads must be dead (they are freed) */
/* drop a reference (a capability, or task_wait's): destroy the task now
 * if it was the last and it has no threads left, else when its last
 * thread has died */
void task_put(struct task *t);
/* Block until every thread of t has died. BKL held. */
void task_wait(struct task *t);
/* Allocate, zero and map one user page, charged to t's budget. */
int task_map_new_page(struct task *t, uint64_t va, int writable, int executable, uint64_t *pa_out);
unsigned long task_live_count(void);
#endif
