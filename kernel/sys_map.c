/*
 * User-level memory management system calls (the L4 way): task_map (map or
 * grant own pages into a task one holds a capability to), unmap (revoke
 * what was derived from own pages, recursively) and map_info. (Device
 * memory is mapped by capability: kernel/iomem.c.)
 * Map and grant items in IPC use the same helpers (kernel/map.c).
 * BKL held.
 */
#include "kernel/syscall.h"
#include "kernel/mapdb.h"
#include "kernel/cap.h"
#include "kernel/task.h"
#include "kernel/thread.h"
#include "kernel/cpu.h"
#include "kernel/bootinfo.h"
#include "kernel/usercopy.h"
#include "abi/airlock/errno.h"
#include "abi/airlock/layout.h"
#include <arch/paging.h>
#include <arch/tlb.h>
#include <arch/smp.h>
#include "kernel/map.h"
#include "kernel/audit.h"
#include "kernel/panic.h"

/* task_map(task, fpage, dst, rights): rights R/W/X, plus AL_MAP_GRANT */
SYSCALL_DEFINE(task_map)
{
    long err = 0;
    struct cap *c = cap_lookup(current()->task, a0, AL_CAP_TASK, AL_R_CONTROL, &err);
    if (!c)
        return err;
    if (!fpage_ok(a1) || (a3 & ~(uint64_t)(AL_MAP_R | AL_MAP_W | AL_MAP_X | AL_MAP_GRANT)))
        return -AL_EINVAL;
    uint64_t size = 1ULL << AL_FPAGE_ORDER(a1);
    if (!fpage_ok(AL_FPAGE_BASE(a2) | AL_FPAGE_ORDER(a1)) || (a2 & 0xfff))
        return -AL_EINVAL;
    return map_pages(current()->task, AL_FPAGE_BASE(a1), c->obj, a2, size / 4096, (uint32_t)(a3 & 7),
                     !!(a3 & AL_MAP_GRANT));
}

/* unmap(fpage, flags): flags = rights to remove (0 or with R: everything)
 * | AL_UNMAP_SELF. Returns how many pages of the caller were in the
 * mapping database. */
SYSCALL_DEFINE(unmap)
{
    struct task *t = current()->task;
    if (!fpage_ok(a0) || (a1 & ~(uint64_t)(7 | AL_UNMAP_SELF)))
        return -AL_EINVAL;
    uint64_t base = AL_FPAGE_BASE(a0), n = (1ULL << AL_FPAGE_ORDER(a0)) / 4096, mask = 0;
    uint32_t off = (uint32_t)(a1 & 7);
    if (!off || (off & MAP_R))
        off = 0;
    long count = 0;
    for (uint64_t i = 0; i < n; i++) {
        struct mapnode *node = mapdb_lookup(t, base + i * 4096);
        if (!node)
            continue;
        count++;
        mapdb_unmap(node, !!(a1 & AL_UNMAP_SELF), off, &mask);
    }
    map_flush(mask);
    return count;
}

/* map_info(va): the rights of the caller's mapping at va (| AL_MAP_MANAGED
 * if the mapping database knows it), or -AL_ENOENT */
SYSCALL_DEFINE(map_info)
{
    struct task *t = current()->task;
    if (!user_range_ok(a0, 1))
        return -AL_EFAULT;
    uint64_t va = a0 & ~0xfffULL;
    uint64_t pte = pt_lookup(t->pml4, va, NULL);
    if (!(pte & PTE_P) || !(pte & PTE_U))
        return -AL_ENOENT;
    long r = AL_MAP_R | ((pte & PTE_W) ? AL_MAP_W : 0) | ((pte & PTE_NX) ? 0 : AL_MAP_X);
    struct mapnode *n = mapdb_lookup(t, va);
    if (n)
        r = (long)n->rights | AL_MAP_MANAGED;
    return r;
}
