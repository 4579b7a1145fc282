/*
 * Anonymous memory for a task: mem_map / mem_unmap. A stop-gap until the
 * pager protocol (sigma0, map/grant items) of the IPC issue replaces it;
 * kept minimal and strict: page-aligned ranges inside the user window,
 * never W+X, no overmapping. Unmapping shoots the pages down on every CPU
 * running a thread of the task before the frames are freed.
 * BKL held.
 */
#include "kernel/syscall.h"
#include "kernel/thread.h"
#include "kernel/task.h"
#include "kernel/cpu.h"
#include "kernel/frame.h"
#include "kernel/usercopy.h"
#include "abi/airlock/errno.h"
#include "abi/airlock/layout.h"
#include "arch/x86_64/paging.h"
#include "arch/x86_64/tlb.h"

#define MEM_MAX_PAGES 4096

static int range_ok(uint64_t va, uint64_t npages)
{
    if ((va & 0xfff) || !npages || npages > MEM_MAX_PAGES || !user_range_ok(va, npages * 4096))
        return 0;
    /* the UTCB area belongs to the kernel */
    return va + npages * 4096 <= AL_UTCB_BASE || va >= AL_UTCB_END;
}

/* CPUs whose current thread belongs to t (they may cache its mappings) */
static uint64_t task_cpus(struct task *t)
{
    uint64_t mask = 0;
    for (unsigned i = 0; i < ncpus; i++)
        if (cpus[i].current && cpus[i].current->task == t)
            mask |= 1ULL << i;
    return mask;
}

static uint64_t unmap_range(struct task *t, uint64_t va, uint64_t npages)
{
    uint64_t frames[64], n = 0, done = 0;
    for (uint64_t i = 0; i <= npages; i++) {
        if (i < npages) {
            uint64_t pte = pt_unmap(t->pml4, va + i * 4096);
            if (pte & PTE_P) {
                frames[n++] = pte & PTE_ADDR;
                done++;
            }
        }
        if (n && (n == 64 || i == npages)) {
            /* no CPU may still translate to these frames once they are free */
            tlb_shootdown(task_cpus(t), va, npages);
            for (uint64_t k = 0; k < n; k++)
                frame_free(frames[k]);
            n = 0;
        }
    }
    return done;
}

SYSCALL_DEFINE(mem_map)
{
    struct task *t = current()->task;
    uint64_t va = a0, npages = a1, flags = a2;
    if (flags & ~(uint64_t)(AL_MEM_WRITE | AL_MEM_EXEC) || flags == (AL_MEM_WRITE | AL_MEM_EXEC))
        return -AL_EINVAL;
    if (!range_ok(va, npages))
        return (va & 0xfff) || !npages || npages > MEM_MAX_PAGES || user_range_ok(va, npages * 4096) ? -AL_EINVAL
                                                                                                 : -AL_EFAULT;
    for (uint64_t i = 0; i < npages; i++)
        if (pt_lookup(t->pml4, va + i * 4096, NULL))
            return -AL_EEXIST;
    for (uint64_t i = 0; i < npages; i++) {
        int r = task_map_new_page(t, va + i * 4096, !!(flags & AL_MEM_WRITE), !!(flags & AL_MEM_EXEC), NULL);
        if (r) {
            unmap_range(t, va, i);
            return -AL_ENOMEM;
        }
    }
    return 0;
}

SYSCALL_DEFINE(mem_unmap)
{
    struct task *t = current()->task;
    if (!range_ok(a0, a1))
        return (a0 & 0xfff) || !a1 || a1 > MEM_MAX_PAGES || user_range_ok(a0, a1 * 4096) ? -AL_EINVAL : -AL_EFAULT;
    return (long)unmap_range(t, a0, a1);
}
