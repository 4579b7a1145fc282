/*
 * x86_64 4-level page-table manipulation. Pure logic over physical frames:
 * tables are reached through p2v() (the kernel's direct map; a test arena on
 * the host) and allocated from the frame allocator. No TLB maintenance here:
 * callers flush (they know which CPUs may cache the mapping).
 *
 * Locking: callers hold the big kernel lock (or own the table exclusively).
 */
#ifndef ARCH_PAGETABLE_H
#define ARCH_PAGETABLE_H
#include <stdbool.h>
#include <stdint.h>

#define PTE_P     (1ULL << 0)
#define PTE_W     (1ULL << 1)
#define PTE_U     (1ULL << 2)
#define PTE_PWT   (1ULL << 3)
#define PTE_PCD   (1ULL << 4)
#define PTE_A     (1ULL << 5)
#define PTE_D     (1ULL << 6)
#define PTE_PS    (1ULL << 7)
#define PTE_G     (1ULL << 8)
#define PTE_NX    (1ULL << 63)
#define PTE_ADDR  0x000ffffffffff000ULL
#define PTE_FLAGS (~PTE_ADDR)

#define PT_INDEX(va, level) (((va) >> (12 + 9 * ((level)-1))) & 511) /* level 4 = PML4 */

#ifdef AIRLOCK_HOST_TEST
extern uint8_t *pt_host_arena;
static inline void *p2v(uint64_t pa)
{
    return pt_host_arena + pa;
}
#else
#include "abi/airlock/layout.h"
static inline void *p2v(uint64_t pa)
{
    return (void *)(pa + AL_DIRECT_MAP);
}
static inline uint64_t v2p_direct(const void *va)
{
    return (uint64_t)va - AL_DIRECT_MAP;
}
#endif

static inline bool va_canonical(uint64_t va)
{
    return ((int64_t)(va << 16) >> 16) == (int64_t)va;
}

/* The index of the first entry in [i, end) of table t with a bit of mask
 * set (PTE_P: the next present entry), or end; end <= 512 (the groups
 * read stay inside the table).
 * Sixteen entries at a time: most tables are nearly empty (a user space's
 * page tables hold a few entries each), and the audit and the teardown
 * look at every entry of them (about 1.3 instructions per empty entry
 * against 4 one at a time). */
static inline unsigned pt_next(const uint64_t *t, unsigned i, unsigned end, uint64_t mask)
{
    for (; i < end && (i & 15); i++)
        if (t[i] & mask)
            return i;
    /* (through a pointer: 32-bit index arithmetic would cost an LEA per entry) */
    const uint64_t *g = t + i, *gend = t + end;
    for (; g < gend; g += 16)
        if ((g[0] | g[1] | g[2] | g[3] | g[4] | g[5] | g[6] | g[7] | g[8] | g[9] | g[10] | g[11] | g[12] | g[13] |
             g[14] | g[15]) &
            mask)
            break;
    for (; g < gend; g++)
        if (*g & mask)
            return (unsigned)(g - t);
    return end;
}

/* Allocate a zeroed table frame; 0 on out-of-memory. */
uint64_t pt_alloc_table(void);

/* Map the 4 KiB page at va to pa with leaf flags (PTE_P is implied).
 * Intermediate tables are created as needed with P|W, plus U when the leaf
 * has U. Returns 0, -12 (no memory) or -17 if va is already mapped (use
 * pt_protect / pt_unmap first) or -22 if va/pa is unaligned or
 * non-canonical or a large page covers va. */
int pt_map(uint64_t pml4, uint64_t va, uint64_t pa, uint64_t flags);

/* Map a 2 MiB page (PS). Same errors. */
int pt_map_large(uint64_t pml4, uint64_t va, uint64_t pa, uint64_t flags);

/* Remove the 4 KiB mapping at va; returns its old PTE (0 if none).
 * Empty intermediate tables are left in place. */
uint64_t pt_unmap(uint64_t pml4, uint64_t va);

/* The leaf PTE translating va (4K or 2M leaf), 0 if unmapped. If size is
 * not NULL it receives the page size. */
uint64_t pt_lookup(uint64_t pml4, uint64_t va, uint64_t *size);

/* Change the flags of the existing 4K leaf at va; -2 if not mapped. */
int pt_protect(uint64_t pml4, uint64_t va, uint64_t flags);

/* Visit every present leaf under PML4 slots [first, last]: fn(va, pte, size, arg);
 * a non-zero return stops the walk and is returned. */
typedef int (*pt_visit_fn)(uint64_t va, uint64_t pte, uint64_t size, int level_of_leaf, void *arg);
int pt_walk(uint64_t pml4, unsigned first, unsigned last, pt_visit_fn fn, void *arg);

/* Free every page table in the lower half of pml4 (entries 0..255) and, if
 * free_leaves, every frame mapped by a 4K leaf there; then clear them.
 * If fn is not NULL, each present leaf is first visited as by pt_walk (the
 * return value is ignored); the visit may unmap that leaf (pt_unmap: then
 * its frame is not freed) and others of the lower half, but frees no
 * table. One walk for a dying space's mappings and its tables.
 * The upper half is untouched. Returns the number of frames freed. */
uint64_t pt_free_lower(uint64_t pml4, bool free_leaves, pt_visit_fn fn, void *arg);

#endif
