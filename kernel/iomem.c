/*
 * Device memory by capability (AL_CAP_IOMEM; docs/ABI.md, section 5.13).
 * BKL held, interrupts off, throughout.
 *
 * An iomem capability names the physical page frames [first, last] (kept
 * in its slot, struct cap.mem); all of them name the one object
 * iomem_space. The root task starts with one for all physical addresses
 * below AL_IOMEM_LIMIT; whoever holds one with CONTROL derives sub-ranges
 * (iomem_derive) and passes them on like any capability (cap_give, cap
 * items in IPC). A holder maps device pages of its range into its own
 * space with iomem_map; RAM and the kernel's own device pages (interrupt
 * controllers, the AP start-up page) are never mappable, whatever the
 * range says.
 *
 * A mapping made this way is a root of the mapping database in the
 * holder's space (like sigma0's ownership of RAM): the holder can map it
 * on, and everything derived goes with it. It lasts as long as the holder
 * has a capability that covers the page: when an iomem capability is
 * deleted (cap_delete, a revocation of an ancestor, the end of the task),
 * every device page of the holder in its range that no remaining iomem
 * capability of the holder covers is unmapped, with its derivations, in
 * every task, and the TLBs are shot down before the deleting call
 * returns.
 *
 * Why the kernel maps device pages itself rather than sigma0: the check
 * "this client holds a capability for this page" must be made by whoever
 * maps, and revocation must take the mapping away. The kernel has both
 * (the capability's derivation tree and the mapping database); sigma0
 * would have to be told of every revocation. sigma0 owns RAM only.
 */
#include "kernel/iomem.h"
#include "kernel/cap.h"
#include "kernel/bootinfo.h"
#include "kernel/cpu.h"
#include "kernel/map.h"
#include "kernel/mapdb.h"
#include "kernel/object.h"
#include "kernel/panic.h"
#include "kernel/syscall.h"
#include "kernel/task.h"
#include "kernel/thread.h"
#include "abi/airlock/boot.h"
#include "abi/airlock/errno.h"
#include <arch/paging.h>
#include <arch/pagetable.h>
#include <arch/smp.h>
#include <arch/console.h>

#define IOMEM_PAGES (AL_IOMEM_LIMIT >> 12)
_Static_assert(IOMEM_PAGES - 1 <= UINT32_MAX, "a page frame number fits struct cap.mem");

static char iomem_space;

/* a device page: not RAM of the boot memory map, not page 0, not one the
 * kernel keeps (interrupt controllers, the AP start-up page) */
static int is_device(uint64_t pa)
{
    if (pa < 0x1000 || pa >= AL_IOMEM_LIMIT)
        return 0;
    for (unsigned i = 0; i < boot_info.nmem; i++)
        if (pa + 4096 > boot_info.mem[i].base && pa < boot_info.mem[i].base + boot_info.mem[i].len)
            return 0;
    return !arch_device_page_reserved(pa);
}

/* does an iomem capability of t cover page frame pfn? (scans its cspace:
 * only on deletions, which are rare for device memory) */
static int covered(struct task *t, uint64_t pfn)
{
    for (unsigned i = 0; i < AL_CSPACE_SLOTS; i++) {
        const struct cap *c = &t->cspace->slot[i];
        if (c->type == AL_CAP_IOMEM && pfn >= c->mem.first && pfn <= c->mem.last)
            return 1;
    }
    return 0;
}

struct takedown {
    struct task *t;
    uint64_t flush;
};

/* pt_walk visitor: take down a device root that no capability of its task
 * covers any more. Removing while walking is safe (see mapdb.c,
 * gone_visit). */
static int takedown_visit(uint64_t va, uint64_t pte, uint64_t size, int level, void *arg)
{
    (void)pte, (void)size, (void)level;
    struct takedown *d = arg;
    struct mapnode *n = mapdb_lookup(d->t, va);
    if (!n || n->parent || !n->device)
        return 0;
    if (covered(d->t, n->pa >> 12))
        return 0;
    mapdb_root_remove(n, &d->flush);
    return 0;
}

/* the capability in slot c is gone: so are the device pages only it
 * covered. (The slot is already empty, its range cleared: every device
 * page of the holder is checked against the capabilities that remain.) */
static void iomem_release(struct cap *c, void *obj)
{
    (void)obj;
    struct task *t = c->holder;
    assert(t && t->iomem_caps > 0);
    t->iomem_caps--;
    if (!t->iomem_mapped)
        return;
    struct takedown d = {t, 0};
    pt_walk(t->pml4, 0, 255, takedown_visit, &d);
    map_flush(d.flush);
}

static void iomem_describe(const struct cap *c, struct al_cap_info *info)
{
    uint64_t first = c->mem.first, n = (uint64_t)c->mem.last - c->mem.first + 1;
    info->badge = 0; /* the slot's badge word holds the range */
    info->id = AL_IOMEM_ID(first << 12, n << 12);
}

/* only a task's capability space can hold one (it maps into that task) */
static int iomem_prepare(struct cap *dst)
{
    return dst->holder ? 0 : -AL_EINVAL;
}

static void iomem_installed(struct cap *c)
{
    assert(c->holder);
    c->holder->iomem_caps++;
}

/* No lifetime: the physical address space is the machine's. */
const struct obj_ops iomem_ops = {
    .name = "iomem",
    .release = iomem_release,
    .describe = iomem_describe,
    .prepare = iomem_prepare,
    .installed = iomem_installed,
};

void iomem_grant_root(struct task *root)
{
    struct cap *slot = cap_slot(root, AL_SLOT_IOMEM);
    if (!slot || slot->type)
        panic("system: cannot give the root task its device memory");
    cap_install_range(slot, AL_CAP_IOMEM, AL_R_CONTROL, &iomem_space, 0, (uint32_t)(IOMEM_PAGES - 1));
}

/* iomem_derive(src, dst, base, size, rights): a capability in our slot dst
 * for the physical range [base, base + size) (page-aligned, inside src's),
 * derived from our iomem capability src (which needs CONTROL), with its
 * rights & rights */
SYSCALL_DEFINE(iomem_derive)
{
    struct cap *src, *dst;
    long err = cap_derive_args(current()->task, a0, a1, a4, AL_CAP_IOMEM, &src, &dst);
    if (err)
        return err;
    if ((a2 | a3) & 0xfff || !a3 || a2 >= AL_IOMEM_LIMIT || a3 > AL_IOMEM_LIMIT - a2)
        return -AL_EINVAL; /* (no wrap: base + size computed only when it fits) */
    uint64_t first = a2 >> 12, last = (a2 + a3) / 4096 - 1;
    if (first < src->mem.first || last > src->mem.last)
        return -AL_EPERM;
    return cap_derive_range(src, dst, (int)a4, (uint32_t)first, (uint32_t)last);
}

/* iomem_map(cap, pa_fpage, va, rights): map the device pages of the
 * physical flexpage pa_fpage (AL_FPAGE(pa, order), order 12..22, inside
 * the capability's range) at va in the caller's space (aligned to the
 * size, in the user window), uncached, with rights R or R|W. Every page
 * must be a device page and nothing may be mapped at va yet. All checks
 * come before any change. */
SYSCALL_DEFINE(iomem_map)
{
    long err = 0;
    struct task *self = current()->task;
    struct cap *c = cap_lookup(self, a0, AL_CAP_IOMEM, 0, &err);
    if (!c)
        return err;
    uint64_t order = AL_FPAGE_ORDER(a1), pa = AL_FPAGE_BASE(a1);
    if (order < AL_FPAGE_MIN_ORDER || order > AL_FPAGE_MAX_ORDER || (a1 & 0xfc0))
        return -AL_EINVAL;
    uint64_t size = 1ULL << order;
    if ((pa & (size - 1)) || (a2 & 0xfff) || !fpage_ok(a2 | order))
        return -AL_EINVAL;
    if (a3 != AL_MAP_R && a3 != (AL_MAP_R | AL_MAP_W))
        return -AL_EINVAL;
    if (pa >= AL_IOMEM_LIMIT || (pa >> 12) < c->mem.first || ((pa + size) >> 12) - 1 > c->mem.last)
        return -AL_EPERM;
    uint64_t n = size / 4096;
    for (uint64_t i = 0; i < n; i++) {
        if (!is_device(pa + i * 4096))
            return -AL_EPERM;
        if (pt_lookup(self->pml4, a2 + i * 4096, NULL) & PTE_P)
            return -AL_EEXIST;
    }
    self->iomem_mapped = 1;
    for (uint64_t i = 0; i < n; i++)
        arch_console_device_mapped(pa + i * 4096); /* (the screen: the kernel lets go of it) */
    uint32_t rights = a3 == AL_MAP_R ? MAP_R : MAP_R | MAP_W;
    for (uint64_t i = 0; i < n; i++) {
        long r = mapdb_root(self, a2 + i * 4096, pa + i * 4096, rights, 1);
        if (r) {
            /* out of memory: take back what this call mapped (nothing
             * can have been derived from it yet) */
            uint64_t flush = 0;
            for (uint64_t k = 0; k < i; k++)
                mapdb_root_remove(mapdb_lookup(self, a2 + k * 4096), &flush);
            map_flush(flush);
            return r;
        }
    }
    return 0;
}

/* phys_addr(va): the physical address behind the caller's mapping at va,
 * for programming DMA; only for tasks holding an iomem capability (drivers):
 * others have no use for physical addresses and are not told them. */
SYSCALL_DEFINE(phys_addr)
{
    struct task *self = current()->task;
    if (!self->iomem_caps)
        return -AL_EPERM;
    if (!user_range_ok(a0, 1))
        return -AL_EFAULT;
    uint64_t pte = pt_lookup(self->pml4, a0 & ~0xfffULL, NULL);
    if (!(pte & PTE_P) || !(pte & PTE_U))
        return -AL_ENOENT;
    return (long)((pte & PTE_ADDR) | (a0 & 0xfff));
}
