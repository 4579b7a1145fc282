#include "kernel/audit.h"
#include "kernel/console.h"
#include <arch/paging.h>

extern char __image_phys_start[], __image_phys_end[];

struct ctx {
    const char *name;
    uint64_t bad_va, bad_pte;
    const char *why;
};

static int check_tramp_leaf(uint64_t va, uint64_t pte, uint64_t size, int level, void *arg)
{
    struct ctx *c = arg;
    (void)level;
    c->bad_va = va;
    c->bad_pte = pte;
    if (pte & PTE_U)
        return c->why = "user-accessible page in the trampoline region", 1;
    if (size != 4096)
        return c->why = "large page in the trampoline region", 1;
    if (!paging_is_tramp_frame(pte & PTE_ADDR))
        return c->why = "trampoline slot maps a frame that is not trampoline backing", 1;
    return 0;
}

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

/* every non-leaf entry under the trampoline slot must be supervisor-only */
static int tables_supervisor(uint64_t tpa, int level)
{
    uint64_t *t = p2v(tpa);
    for (int i = 0; i < 512; i++) {
        if (!(t[i] & PTE_P))
            continue;
        if (t[i] & PTE_U)
            return 0;
        if (level > 1 && !(t[i] & PTE_PS) && !tables_supervisor(t[i] & PTE_ADDR, level - 1))
            return 0;
    }
    return 1;
}

int audit_user_space(uint64_t pml4, const char *name)
{
    uint64_t *p = p2v(pml4);
    struct ctx c = {name, 0, 0, NULL};
    for (int i = 256; i < 512; i++) {
        if (i == TRAMP_PML4_SLOT) {
            if (p[i] != paging_tramp_pml4e()) {
                kprintf("[audit] %s: PML4 slot %d is not the shared trampoline entry (%#lx)\n", name, i,
                        (unsigned long)p[i]);
                return -1;
            }
        } else if (p[i]) {
            kprintf("[audit] %s: kernel-half PML4 slot %d is populated (%#lx)\n", name, i, (unsigned long)p[i]);
            return -1;
        }
    }
    if ((p[TRAMP_PML4_SLOT] & PTE_U) || !tables_supervisor(p[TRAMP_PML4_SLOT] & PTE_ADDR, 3)) {
        kprintf("[audit] %s: user bit set on a trampoline page table\n", name);
        return -1;
    }
    if (pt_walk(pml4, TRAMP_PML4_SLOT, TRAMP_PML4_SLOT, check_tramp_leaf, &c) ||
        pt_walk(pml4, 0, 255, check_user_leaf, &c)) {
        kprintf("[audit] %s: %s: va %#lx pte %#lx\n", name, c.why, (unsigned long)c.bad_va, (unsigned long)c.bad_pte);
        return -1;
    }
    return 0;
}
