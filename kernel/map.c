/*
 * Mapping pages from one task to another through the mapping database:
 * the helpers behind task_map (kernel/sys_map.c) and the map and grant
 * items of IPC messages and fault replies (kernel/ipc.c, ipc_fast.c).
 * BKL held, interrupts off.
 */
#include "kernel/map.h"
#include "kernel/mapdb.h"
#include "kernel/task.h"
#include "kernel/audit.h"
#include "kernel/panic.h"
#include "kernel/bkl.h"
#include "abi/airlock/errno.h"
#include <arch/tlb.h>

void map_flush(uint64_t mask)
{
    assert_kernel_locked();
    if (mask)
        tlb_shootdown_user(mask, 0, 0, 0);
}

static inline __attribute__((always_inline)) long pages_check(struct task *src, uint64_t sva, struct task *dst,
                                                              uint64_t dva, uint64_t npages, uint32_t rights, int grant,
                                                              struct mapnode **first)
{
    assert_kernel_locked();
    for (uint64_t i = 0; i < npages; i++) {
        struct mapnode *n = mapdb_lookup(src, sva + i * 4096);
        if (!n)
            return -AL_EPERM; /* not memory the sender may pass on */
        if (i == 0 && first)
            *first = n;
        long e = mapdb_map_check(n, dst, dva + i * 4096, rights, grant);
        if (e)
            return e;
    }
    return 0;
}

static inline __attribute__((always_inline)) long pages_checked(struct task *src, uint64_t sva, struct task *dst,
                                                                uint64_t dva, uint64_t npages, uint32_t rights,
                                                                int grant, struct mapnode *first)
{
    uint64_t mask = 0;
    long err = 0;
    assert_kernel_locked();
    for (uint64_t i = 0; i < npages && !err; i++) {
        /* an earlier page's replacement may have revoked this source page
         * (overlapping ranges): then the map stops here. The first page
         * has no earlier page: the check's node for it is still good. */
        struct mapnode *n = i == 0 && first ? first : mapdb_lookup(src, sva + i * 4096);
        err = n ? mapdb_map(n, dst, dva + i * 4096, rights, grant, &mask) : -AL_EPERM;
    }
    map_flush(mask);
#ifdef DEBUG
    if (audit_user_space(dst->pml4, dst->name))
        panic("audit failed after a map into task %u", dst->id);
#endif
    return err;
}

/* map (or grant) npages of src's pages at sva to dst at dva; every source
 * page must be in the mapping database (checked first) */
long map_pages(struct task *src, uint64_t sva, struct task *dst, uint64_t dva, uint64_t npages, uint32_t rights,
               int grant)
{
    /* everything is checked before anything changes: only running out of
     * memory can stop a map half-way */
    struct mapnode *first = NULL;
    long e = pages_check(src, sva, dst, dva, npages, rights, grant, &first);
    return e ? e : pages_checked(src, sva, dst, dva, npages, rights, grant, first);
}

long map_pages_check(struct task *src, uint64_t sva, struct task *dst, uint64_t dva, uint64_t npages, uint32_t rights,
                     int grant, struct mapnode **first)
{
    return pages_check(src, sva, dst, dva, npages, rights, grant, first);
}

long map_pages_checked(struct task *src, uint64_t sva, struct task *dst, uint64_t dva, uint64_t npages, uint32_t rights,
                       int grant, struct mapnode *first)
{
    return pages_checked(src, sva, dst, dva, npages, rights, grant, first);
}
