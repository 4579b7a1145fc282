/*
 * System start: the kernel starts sigma0 and the root task, nothing else.
 *
 * sigma0 receives every free frame but a kernel pool (page tables, thread
 * and capability objects, mapping-database nodes) as mapping-database roots
 * at AL_SIGMA0_BASE + physical address, and a page describing them. The
 * root task receives the remaining boot modules (read-only) and their list,
 * a send capability to sigma0 and the boot endpoint; it loads the modules.
 * The kernel's boot thread then waits for the root task and stops the
 * machine with its result.
 */
#include "kernel/system.h"
#include "kernel/bootinfo.h"
#include "kernel/loader.h"
#include "kernel/task.h"
#include "kernel/kmem.h"
#include "kernel/thread.h"
#include "kernel/cap.h"
#include "kernel/ioport.h"
#include "kernel/irqobj.h"
#include "kernel/iomem.h"
#include "kernel/ipc.h"
#include "kernel/mapdb.h"
#include "kernel/frame.h"
#include "kernel/console.h"
#include "kernel/panic.h"
#include "kernel/cpu.h"
#include "abi/airlock/boot.h"
#include "abi/airlock/layout.h"
#include <arch/paging.h>
#include "lib/string.h"

static const char *base_name(const char *cmdline)
{
    const char *b = cmdline;
    for (const char *s = cmdline; *s && *s != ' '; s++)
        if (*s == '/')
            b = s + 1;
    return b;
}

int system_find(int *s0, int *root)
{
    *s0 = *root = -1;
    for (unsigned i = 0; i < boot_info.nmods; i++) {
        const char *b = base_name(boot_info.mods[i].cmdline);
        if (*s0 < 0 && !strncmp(b, "sigma0", 6))
            *s0 = (int)i;
        else if (*root < 0 && !strncmp(b, "root", 4))
            *root = (int)i;
    }
    return *s0 >= 0 && *root >= 0;
}

/* kernel-made, read-only, zeroed pages in t at va (physically contiguous,
 * so the kernel fills them through one direct-map pointer); the task owns
 * the frames */
static void *info_pages(struct task *t, uint64_t va, unsigned n)
{
    uint64_t pa = frame_alloc_contig(n, 4096, 0);
    if (!pa)
        panic("system: no memory for boot information");
    memset(p2v(pa), 0, n * 4096ULL);
    for (unsigned i = 0; i < n; i++)
        if (pt_map(t->pml4, va + i * 4096ULL, pa + i * 4096ULL, PTE_U | pte_nx))
            panic("system: cannot map boot information");
    return p2v(pa);
}

/* give sigma0 all free frames but the kernel pool */
static void give_memory(struct task *s0)
{
    struct al_sigma0_info *info = info_pages(s0, AL_BOOTINFO, 1);
    info->magic = AL_BOOT_MAGIC;
    size_t total = frame_total_count();
    size_t keep = total / 4 > 4096 ? total / 4 : 4096;
    unsigned long given = 0;
    size_t chunk = 4096; /* taken in contiguous chunks: few ranges */
    while (frame_free_count() > keep + 256 && info->nranges < AL_S0_MAX_RANGES) {
        size_t want = frame_free_count() - keep - 256;
        if (want > chunk)
            want = chunk;
        uint64_t pa = frame_alloc_contig(want, 4096, 0);
        if (!pa) {
            if (chunk == 1)
                break;
            chunk /= 2;
            continue;
        }
        /* no kernel data may reach user space: the frames may have held
         * anything (page tables, objects of the self-tests) */
        memset(p2v(pa), 0, want * 4096ULL);
        for (size_t i = 0; i < want; i++)
            if (mapdb_root(s0, AL_SIGMA0_BASE + pa + i * 4096, pa + i * 4096, MAP_R | MAP_W | MAP_X, 0))
                panic("system: cannot give memory to sigma0");
        given += want;
        unsigned long n = info->nranges;
        if (n && info->range[n - 1].base + info->range[n - 1].npages * 4096 == pa) {
            info->range[n - 1].npages += want;
        } else {
            info->range[n].base = pa;
            info->range[n].npages = want;
            info->nranges++;
        }
    }
    kprintf("system: sigma0 owns %lu pages (%lu MiB) in %lu ranges; the kernel keeps %lu free frames\n", given,
            given / 256, info->nranges, (unsigned long)frame_free_count());
}

static struct task *load(struct boot_module *m, struct thread **th)
{
    struct task *t;
    const char *why;
    int r = loader_load(p2v(m->start), m->end - m->start, m->cmdline, &t, th, &why);
    if (r) {
        kprintf("system: cannot start '%s': %s (error %d)\n", m->cmdline, why ? why : "?", r);
        return NULL;
    }
    return t;
}

int system_start(int s0i, int rooti, int ktap, unsigned ktap_first)
{
    struct thread *s0th, *rth;
    struct task *s0 = load(&boot_info.mods[s0i], &s0th);
    if (!s0)
        return -1;
    s0->is_sigma0 = 1;
    give_memory(s0);
    /* sigma0's budget: what its boot mappings took, and a little more */
    if (kmem_set_limit(s0->kmem, s0->kmem->used + KMEM_SIGMA0_SPARE))
        panic("system: sigma0's budget");
    long err;
    struct endpoint *ep = endpoint_create(NULL, &err);
    if (!ep)
        panic("system: no memory for sigma0's endpoint");
    cap_install(cap_slot(s0, AL_SLOT_SIGMA0), AL_CAP_ENDPOINT, AL_R_RECV | AL_R_SEND, ep, 0);
    s0th->prio = PRIO_USER_MAX;

    struct task *root = load(&boot_info.mods[rooti], &rth);
    if (!root)
        return -1;
    cap_install(cap_slot(root, AL_SLOT_SIGMA0), AL_CAP_ENDPOINT, AL_R_SEND, ep, 0);
    ioport_grant_root(root);
    irqobj_grant_root(root);
    iomem_grant_root(root);
    struct al_bootinfo *bi = info_pages(root, AL_BOOTINFO, 2);
    _Static_assert(sizeof(struct al_bootinfo) <= 8192, "boot info fits two pages");
    bi->magic = AL_BOOT_MAGIC;
    bi->ktap = (unsigned long)ktap;
    bi->ktap_first = ktap_first;
    bi->ncpus = ncpus;
    uint64_t va = AL_MODULES;
    for (unsigned i = 0; i < boot_info.nmods; i++) {
        if ((int)i == s0i || (int)i == rooti)
            continue;
        struct boot_module *m = &boot_info.mods[i];
        struct al_boot_module *d = &bi->mods[bi->nmods++];
        uint64_t first = m->start & ~0xfffULL, last = (m->end + 0xfff) & ~0xfffULL;
        for (uint64_t pa = first; pa < last; pa += 4096, va += 4096)
            if (pt_map(root->pml4, va, pa, PTE_U | pte_nx))
                panic("system: cannot map a boot module into the root task");
        d->va = va - (last - first) + (m->start - first);
        d->size = m->end - m->start;
        memcpy(d->cmdline, m->cmdline, sizeof d->cmdline - 1);
        va += 4096; /* a gap between modules */
    }
    /* the root task's budget: the kernel's free frames but a reserve for
     * the kernel's own objects (its threads, the node slab's rounding);
     * the kernel's record then holds exactly what it handed out */
    uint64_t free = frame_free_count(), reserve = free / 16 > 512 ? free / 16 : 512;
    if (free <= reserve || kmem_set_limit(root->kmem, root->kmem->used + (free - reserve)))
        panic("system: no memory for the root task's budget");
    kmem_kernel_init(kmem_kernel.used);
    kprintf("system: kernel memory: sigma0 %lu frames, root %lu frames, %lu frames kept\n",
            (unsigned long)s0->kmem->limit, (unsigned long)root->kmem->limit, (unsigned long)reserve);
    kprintf("system: sigma0 is task %u, root is task %u with %lu boot modules\n", s0->id, root->id, bi->nmods);
    thread_start(s0th);
    thread_start(rth);
    task_wait(root);
    long status = rth->exit_status;
    if (rth->end == END_EXIT)
        kprintf("system: the root task exited with status %ld\n", status);
    else
        kprintf("system: the root task was killed by vector %ld\n", status);
    return rth->end == END_EXIT ? (int)status : -1;
}
