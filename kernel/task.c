/* Tasks (address spaces). See task.h. */
#include "kernel/task.h"
#include "kernel/thread.h"
#include "kernel/frame.h"
#include "kernel/cpu.h"
#include "kernel/cap.h"
#include "kernel/object.h"
#include "kernel/mapdb.h"
#include "kernel/ioport.h"
#include "kernel/kmem.h"
#include "abi/airlock/errno.h"
#include <arch/tlb.h>
#include "kernel/panic.h"
#include <arch/paging.h>
#include <arch/page.h>
#include "lib/string.h"

static unsigned next_id = 1;
static unsigned long live;

unsigned long task_live_count(void)
{
    return live;
}

/* the task object and its PML4 (the cspace charges itself) */
#define TASK_OWN_FRAMES 2

struct task *task_create(const char *name, struct kmem *parent, uint64_t limit, long *err)
{
    struct kmem *k = kmem_new(parent, limit, 0, err);
    if (!k && *err == -AL_ENOMEM) { /* the records are used up: a frame more of them, for good */
        uint64_t rec = frame_alloc();
        if (rec) {
            kmem_records_add(p2v(rec), AL_PAGE_SIZE);
            k = kmem_new(parent, limit, 0, err);
        }
    }
    if (!k)
        return NULL;
    if (kmem_charge(k, TASK_OWN_FRAMES)) {
        *err = -AL_EDQUOT;
        kmem_task_gone(k);
        return NULL;
    }
    *err = -AL_ENOMEM;
    uint64_t pa = frame_alloc();
    if (!pa)
        goto fail_kmem;
    struct task *t = p2v(pa);
    memset(t, 0, sizeof *t);
    t->kmem = k;
    t->pml4 = pt_alloc_table(); /* kmem_payer is NULL here: charged above */
    if (!t->pml4) {
        frame_free(pa);
        goto fail_kmem;
    }
    /* the upper half holds nothing but the shared trampoline tables */
    ((uint64_t *)p2v(t->pml4))[TRAMP_PML4_SLOT] = paging_tramp_pml4e();
    t->cr3 = tlb_space_new(t->pml4);
    t->id = next_id++;
    t->max_prio = PRIO_USER_MAX;
    long r = cspace_create(t);
    if (r) {
        tlb_space_free(t->cr3, 0); /* never loaded */
        frame_free(t->pml4);
        frame_free(pa);
        *err = r;
        goto fail_kmem;
    }
    k->id = t->id;
    unsigned i = 0;
    for (; name && name[i] && i + 1 < sizeof t->name; i++)
        t->name[i] = name[i];
    t->name[i] = 0;
    live++;
    return t;
fail_kmem:
    kmem_uncharge(k, TASK_OWN_FRAMES);
    kmem_task_gone(k);
    return NULL;
}

void task_wait(struct task *t)
{
    while (t->live_threads) {
        assert(!t->waiter);
        t->waiter = current();
        current()->state = T_BLOCKED;
        schedule();
    }
}

/* Tasks whose last capability went while they had no threads are
 * destroyed from a list, not recursively: destroying one deletes its
 * capabilities, which may name the next task, and so on, arbitrarily deep. */
static struct task *doomed;
static int draining;

void task_put(struct task *t)
{
    assert(t->refs > 0);
    if (--t->refs)
        return;
    if (t->live_threads) {
        t->orphan = 1;
        return;
    }
    t->doomed_next = doomed;
    doomed = t;
    if (draining)
        return;
    draining = 1;
    while (doomed) {
        struct task *d = doomed;
        doomed = d->doomed_next;
        task_destroy(d);
    }
    draining = 0;
}

void task_destroy(struct task *t)
{
    assert(t->live_threads == 0);
    struct kmem *k = t->kmem;
    cspace_destroy(t);
    ioport_task_gone(t);
    while (t->threads)
        thread_free(t->threads);
    assert(t->nthreads == 0);
    /* with PCID: its tag (and the paging-structure caches under it) gone
     * from every CPU that ran it, before its tables are freed */
    tlb_space_free(t->cr3, t->tlb_cpus);
    /* one walk: each page's mappings (derived ones everywhere; the frames
     * stay sigma0's), then the kernel-made pages and the tables. No frame
     * another space may still cache goes before the shootdown below:
     * derived pages are never the kernel-made ones freed here. */
    uint64_t mask = 0;
    struct mapdb_gone g = {t, &mask};
    pt_free_lower(t->pml4, true, mapdb_page_gone, &g);
    if (mask)
        tlb_shootdown_user(mask, 0, 0, 0);
    frame_free(t->pml4);
    frame_free(v2p_direct(t));
    live--;
    /* the tables and the kernel-made pages went with pt_free_lower; what
     * its endpoints in other tasks' cspaces hold stays charged until they go */
    assert(k->nodes == 0); /* mapdb_task_gone took every node of it */
    kmem_nodes_gone(k);
    kmem_uncharge(k, k->tables + k->pages + TASK_OWN_FRAMES);
    k->tables = k->pages = 0;
    kmem_task_gone(k);
}

int task_map_new_page(struct task *t, uint64_t va, int writable, int executable, uint64_t *pa_out)
{
    if (kmem_charge(t->kmem, 1))
        return -AL_EDQUOT;
    uint64_t pa = frame_alloc();
    if (!pa) {
        kmem_uncharge(t->kmem, 1);
        return -12;
    }
    clear_page(p2v(pa));
    uint64_t flags = PTE_U | (writable ? PTE_W : 0) | (executable ? 0 : pte_nx);
    int r = task_pt_map(t, va, pa, flags);
    if (r) {
        frame_free(pa);
        kmem_uncharge(t->kmem, 1);
        return r;
    }
    t->kmem->pages++;
    if (pa_out)
        *pa_out = pa;
    return 0;
}

static void task_release(struct cap *c, void *obj)
{
    (void)c;
    task_put(obj);
}

static void task_ref(void *obj)
{
    ((struct task *)obj)->refs++;
}

static void task_describe(const struct cap *c, struct al_cap_info *info)
{
    info->id = ((const struct task *)c->obj)->id;
}

/* A task lives while a capability names it or a thread of it runs: the
 * last capability's deletion destroys a task without threads now, else
 * when its last thread dies (orphan). */
const struct obj_ops task_ops = {
    .name = "task",
    .ref = task_ref,
    .release = task_release,
    .describe = task_describe,
};
