#ifndef KERNEL_MAP_H
#define KERNEL_MAP_H
#include <stdint.h>
#include "abi/airlock/ipc.h"
#include "abi/airlock/layout.h"
#include "kernel/usercopy.h"
struct task;
/* a flexpage inside the user window, outside the UTCB area, order 12..22;
 * inline: the IPC and fault fast paths check two per map item */
static inline int fpage_ok(uint64_t fpage)
{
    uint64_t order = AL_FPAGE_ORDER(fpage), base = AL_FPAGE_BASE(fpage);
    if (order < AL_FPAGE_MIN_ORDER || order > AL_FPAGE_MAX_ORDER)
        return 0;
    uint64_t size = 1ULL << order;
    if (base & (size - 1) || !user_range_ok(base, size))
        return 0;
    return base + size <= AL_UTCB_BASE || base >= AL_UTCB_END;
}
/* shoot down the user TLB entries of the CPUs in mask (0: none) */
void map_flush(uint64_t mask);
/* map or grant npages from src (sva) to dst (dva) with rights & each source's */
long map_pages(struct task *src, uint64_t sva, struct task *dst, uint64_t dva, uint64_t npages, uint32_t rights,
               int grant);
/* the two halves of map_pages: every check (nothing changes; *first, if
 * not NULL, gets the source node of the first page), and the mapping
 * itself once the checks passed. `first`: that node, or NULL to look it up
 * again; pass it only if nothing changed the mapping database since the
 * check (IPC with several items checks them all first: it passes NULL). */
struct mapnode;
long map_pages_check(struct task *src, uint64_t sva, struct task *dst, uint64_t dva, uint64_t npages, uint32_t rights,
                     int grant, struct mapnode **first);
long map_pages_checked(struct task *src, uint64_t sva, struct task *dst, uint64_t dva, uint64_t npages, uint32_t rights,
                       int grant, struct mapnode *first);
#endif
