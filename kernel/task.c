/* Tasks (address spaces). See task.h. */
#include "kernel/task.h"
#include "kernel/thread.h"
#include "kernel/frame.h"
#include "kernel/cpu.h"
#include "kernel/cap.h"
#include "kernel/object.h"
#include "kernel/mapdb.h"
#include "kernel/ioport.h"
#include <arch/tlb.h>
#include "kernel/panic.h"
#include <arch/paging.h>
#include "lib/string.h"

static unsigned next_id = 1;
static unsigned long live;

unsigned long task_live_count(void)
{
    return live;
}

struct task *task_create(const char *name)
{
    uint64_t pa = frame_alloc();
    if (!pa)
        return NULL;
    struct task *t = p2v(pa);
    memset(t, 0, sizeof *t);
    t->pml4 = pt_alloc_table();
    if (!t->pml4) {
        frame_free(pa);
        return NULL;
    }
    /* the upper half holds nothing but the shared trampoline tables */
    ((uint64_t *)p2v(t->pml4))[TRAMP_PML4_SLOT] = paging_tramp_pml4e();
    t->cr3 = tlb_space_new(t->pml4);
    t->id = next_id++;
    t->max_prio = PRIO_USER_MAX;
    if (cspace_create(t)) {
        tlb_space_free(t->cr3, 0); /* never loaded */
        frame_free(t->pml4);
        frame_free(pa);
        return NULL;
    }
    unsigned i = 0;
    for (; name && name[i] && i + 1 < sizeof t->name; i++)
        t->name[i] = name[i];
    t->name[i] = 0;
    live++;
    return t;
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
    uint64_t mask = 0;
    mapdb_task_gone(t, &mask); /* derived mappings everywhere; frames stay sigma0's */
    if (mask)
        tlb_shootdown_user(mask, 0, 0, 0);
    cspace_destroy(t);
    ioport_task_gone(t);
    while (t->threads)
        thread_free(t->threads);
    assert(t->nthreads == 0);
    /* with PCID: its tag (and the paging-structure caches under it) gone
     * from every CPU that ran it, before its tables are freed */
    tlb_space_free(t->cr3, t->tlb_cpus);
    pt_free_lower(t->pml4, true);
    frame_free(t->pml4);
    frame_free(v2p_direct(t));
    live--;
}

int task_map_new_page(struct task *t, uint64_t va, int writable, int executable, uint64_t *pa_out)
{
    uint64_t pa = frame_alloc();
    if (!pa)
        return -12;
    memset(p2v(pa), 0, 4096);
    uint64_t flags = PTE_U | (writable ? PTE_W : 0) | (executable ? 0 : pte_nx);
    int r = pt_map(t->pml4, va, pa, flags);
    if (r) {
        frame_free(pa);
        return r;
    }
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
