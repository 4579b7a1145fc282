/* x86_64 page-table helpers; see pagetable.h for the contracts. */
#include <arch/pagetable.h>
#include <arch/page.h>
#include "kernel/frame.h"
#include "kernel/kmem.h"
#include "lib/string.h"

#define ENOMEM 12
#define EEXIST 17
#define EINVAL 22
#define ENOENT 2

uint64_t pt_alloc_table(void)
{
    /* a user space's tables are charged to kmem_payer (set around pt_map
     * by task_pt_map, kernel/task.h); NULL: the kernel's own */
    struct kmem *k = kmem_payer;
    if (k && kmem_charge(k, 1)) {
        kmem_refused = 1;
        return 0;
    }
    uint64_t pa = frame_alloc();
    if (pa)
        clear_page(p2v(pa));
    if (k) {
        if (pa)
            k->tables++;
        else
            kmem_uncharge(k, 1);
    }
    return pa;
}

static inline uint64_t *table(uint64_t pa)
{
    return (uint64_t *)p2v(pa & PTE_ADDR);
}

/* Walk to the table at `stop` level (1 = PT) for va, creating tables if
 * `create`. Returns a pointer to the entry in that table or NULL. */
static uint64_t *walk(uint64_t pml4, uint64_t va, int stop, bool create, uint64_t inter_flags, int *err)
{
    uint64_t *t = table(pml4);
    for (int level = 4; level > stop; level--) {
        uint64_t *e = &t[PT_INDEX(va, level)];
        if (!(*e & PTE_P)) {
            if (!create) {
                *err = -ENOENT;
                return NULL;
            }
            uint64_t n = pt_alloc_table();
            if (!n) {
                *err = -ENOMEM;
                return NULL;
            }
            *e = n | PTE_P | inter_flags;
        } else if (*e & PTE_PS) {
            *err = -EINVAL; /* a large page is in the way */
            return NULL;
        }
        t = table(*e);
    }
    return &t[PT_INDEX(va, stop)];
}

static int map_at(uint64_t pml4, uint64_t va, uint64_t pa, uint64_t flags, int level, uint64_t align)
{
    if ((va | pa) & (align - 1) || !va_canonical(va) || (pa & ~PTE_ADDR))
        return -EINVAL;
    int err = 0;
    uint64_t *e = walk(pml4, va, level, true, PTE_W | (flags & PTE_U), &err);
    if (!e)
        return err;
    if (*e & PTE_P)
        return -EEXIST;
    /* only now that the map succeeds: intermediate entries gain W (and U
     * for a user leaf) */
    uint64_t *t = table(pml4);
    for (int l = 4; l > level; l--) {
        uint64_t *ie = &t[PT_INDEX(va, l)];
        *ie |= PTE_W | (flags & PTE_U);
        t = table(*ie);
    }
    *e = pa | (flags & PTE_FLAGS) | PTE_P | (level == 2 ? PTE_PS : 0);
    return 0;
}

int pt_map(uint64_t pml4, uint64_t va, uint64_t pa, uint64_t flags)
{
    return map_at(pml4, va, pa, flags & ~PTE_PS, 1, 4096);
}

int pt_map_large(uint64_t pml4, uint64_t va, uint64_t pa, uint64_t flags)
{
    return map_at(pml4, va, pa, flags, 2, 1ULL << 21);
}

uint64_t pt_unmap(uint64_t pml4, uint64_t va)
{
    int err;
    if (!va_canonical(va))
        return 0;
    uint64_t *e = walk(pml4, va, 1, false, 0, &err);
    if (!e || !(*e & PTE_P))
        return 0;
    uint64_t old = *e;
    *e = 0;
    return old;
}

uint64_t pt_lookup(uint64_t pml4, uint64_t va, uint64_t *size)
{
    if (!va_canonical(va))
        return 0;
    uint64_t *t = table(pml4);
    for (int level = 4; level >= 1; level--) {
        uint64_t e = t[PT_INDEX(va, level)];
        if (!(e & PTE_P))
            return 0;
        if (level == 1 || ((e & PTE_PS) && level <= 3)) {
            if (size)
                *size = 1ULL << (12 + 9 * (level - 1));
            return e;
        }
        t = table(e);
    }
    return 0;
}

int pt_protect(uint64_t pml4, uint64_t va, uint64_t flags)
{
    int err;
    if (!va_canonical(va))
        return -ENOENT;
    uint64_t *e = walk(pml4, va, 1, false, 0, &err);
    if (!e || !(*e & PTE_P))
        return -ENOENT;
    *e = (*e & PTE_ADDR) | (flags & PTE_FLAGS & ~PTE_PS) | PTE_P;
    return 0;
}

static uint64_t free_level(uint64_t tpa, int level, uint64_t base, bool free_leaves, pt_visit_fn fn, void *arg)
{
    uint64_t n = 0;
    uint64_t *t = table(tpa);
    for (unsigned i = pt_next(t, 0, 512, PTE_P); i < 512; i = pt_next(t, i + 1, 512, PTE_P)) {
        uint64_t e = t[i], va = base + ((uint64_t)i << (12 + 9 * (level - 1)));
        if (level == 1 || (e & PTE_PS)) {
            if (fn) {
                fn(va, e, 1ULL << (12 + 9 * (level - 1)), level, arg);
                e = t[i]; /* (the visit may have unmapped it) */
            }
            if (free_leaves && level == 1 && (e & PTE_P) && frame_free(e & PTE_ADDR) == 0)
                n++;
        } else {
            n += free_level(e & PTE_ADDR, level - 1, va, free_leaves, fn, arg);
            if (frame_free(e & PTE_ADDR) == 0)
                n++;
        }
        t[i] = 0;
    }
    return n;
}

uint64_t pt_free_lower(uint64_t pml4, bool free_leaves, pt_visit_fn fn, void *arg)
{
    uint64_t n = 0;
    uint64_t *t = table(pml4);
    for (unsigned i = pt_next(t, 0, 256, PTE_P); i < 256; i = pt_next(t, i + 1, 256, PTE_P)) {
        n += free_level(t[i] & PTE_ADDR, 3, (uint64_t)i << 39, free_leaves, fn, arg);
        if (frame_free(t[i] & PTE_ADDR) == 0)
            n++;
        t[i] = 0;
    }
    return n;
}

static int walk_level(uint64_t tpa, int level, uint64_t base, pt_visit_fn fn, void *arg)
{
    uint64_t *t = table(tpa);
    for (unsigned i = pt_next(t, 0, 512, PTE_P); i < 512; i = pt_next(t, i + 1, 512, PTE_P)) {
        uint64_t e = t[i];
        uint64_t va = base + ((uint64_t)i << (12 + 9 * (level - 1)));
        int r;
        if (level == 1 || (e & PTE_PS))
            r = fn(va, e, 1ULL << (12 + 9 * (level - 1)), level, arg);
        else
            r = walk_level(e & PTE_ADDR, level - 1, va, fn, arg);
        if (r)
            return r;
    }
    return 0;
}

int pt_walk(uint64_t pml4, unsigned first, unsigned last, pt_visit_fn fn, void *arg)
{
    uint64_t *t = table(pml4);
    unsigned end = last < 512 ? last + 1 : 512;
    for (unsigned i = pt_next(t, first, end, PTE_P); i < end; i = pt_next(t, i + 1, end, PTE_P)) {
        uint64_t va = (uint64_t)i << 39;
        if (i >= 256)
            va |= 0xffff000000000000ULL;
        /* a PML4 entry is never a leaf; report it only through its leaves */
        int r = walk_level(t[i] & PTE_ADDR, 3, va, fn, arg);
        if (r)
            return r;
    }
    return 0;
}
