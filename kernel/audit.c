#include "kernel/audit.h"
#include "kernel/console.h"
#include <arch/paging.h>

extern char __image_phys_start[], __image_phys_end[];

struct ctx {
    const char *name;
    uint64_t bad_va, bad_pte;
    const char *why;
};

static int check_user_leaf(uint64_t va, uint64_t pte, uint64_t size, int level, void *arg)
{
    struct ctx *c = arg;
    (void)level;
    uint64_t pa = pte & PTE_ADDR;
    c->bad_va = va;
    c->bad_pte = pte;
    if (pa < (uint64_t)__image_phys_end && pa + size > (uint64_t)__image_phys_start)
        return c->why = "user half maps a kernel image frame", 1;
    if (paging_is_tramp_frame(pa))
        return c->why = "user half maps a trampoline frame", 1;
    return 0;
}

/* checks 3 and 4 in one pass over the tables under the trampoline slot
 * (level 3: its PDPT): no entry at any level has U, and every leaf is a
 * 4 KiB page of trampoline backing */
static int tramp_tables_bad(uint64_t tpa, int level, uint64_t base, struct ctx *c)
{
    uint64_t *t = p2v(tpa);
    for (unsigned i = pt_next(t, 0, 512, PTE_P); i < 512; i = pt_next(t, i + 1, 512, PTE_P)) {
        uint64_t e = t[i], va = base + ((uint64_t)i << (12 + 9 * (level - 1)));
        int leaf = level == 1 || (e & PTE_PS);
        c->bad_va = va;
        c->bad_pte = e;
        if (e & PTE_U)
            return c->why = leaf ? "user-accessible page in the trampoline region"
                                 : "user bit set on a trampoline page table",
                   1;
        if (!leaf) {
            if (tramp_tables_bad(e & PTE_ADDR, level - 1, va, c))
                return 1;
        } else if (level != 1) {
            return c->why = "large page in the trampoline region", 1;
        } else if (!paging_is_tramp_frame(e & PTE_ADDR)) {
            return c->why = "trampoline slot maps a frame that is not trampoline backing", 1;
        }
    }
    return 0;
}

int audit_user_space(uint64_t pml4, const char *name)
{
    uint64_t *p = p2v(pml4);
    struct ctx c = {name, 0, 0, NULL};
    /* checks 1 and 2: the kernel half is empty but for the shared entry */
    for (unsigned i = pt_next(p, 256, 512, ~0ULL); i < 512; i = pt_next(p, i + 1, 512, ~0ULL))
        if (i != TRAMP_PML4_SLOT) {
            kprintf("[audit] %s: kernel-half PML4 slot %u is populated (%#lx)\n", name, i, (unsigned long)p[i]);
            return -1;
        }
    if (p[TRAMP_PML4_SLOT] != paging_tramp_pml4e()) {
        kprintf("[audit] %s: PML4 slot %d is not the shared trampoline entry (%#lx)\n", name, TRAMP_PML4_SLOT,
                (unsigned long)p[TRAMP_PML4_SLOT]);
        return -1;
    }
    if ((p[TRAMP_PML4_SLOT] & PTE_U) ||
        tramp_tables_bad(p[TRAMP_PML4_SLOT] & PTE_ADDR, 3, 0xffff000000000000ULL | (uint64_t)TRAMP_PML4_SLOT << 39,
                         &c) ||
        pt_walk(pml4, 0, 255, check_user_leaf, &c)) {
        kprintf("[audit] %s: %s: va %#lx pte %#lx\n", name, c.why ? c.why : "user bit set on a trampoline page table",
                (unsigned long)c.bad_va, (unsigned long)c.bad_pte);
        return -1;
    }
    return 0;
}
