/*
 * Kernel-memory budgets (KTAP; docs/ABI.md, section 5.16): argv[1] is the
 * budget root gave this module (its word kmem=N).
 *
 * A hostile child task with a small budget creates endpoints, then threads,
 * until the kernel refuses with AL_EDQUOT; we then map one page into it at
 * sparse addresses (a page table or three and a mapping node each) until
 * refused too. Meanwhile we, and a second child started afterwards, go on
 * creating objects and mapping memory. When the hostile child dies, every
 * frame comes back: our budget's use, and the kernel's counters, are what
 * they were before it. Then a chain of three (us, A, B): A cannot give B
 * more than it has, and whatever B gets is counted in A's use.
 *
 * Child tasks run code of this image (user/lib/child.h): text, a shared
 * page and stack pages mapped by us; no .rodata or .data.
 */
#include "user/lib/airlock.h"
#include "user/lib/child.h"
#include "abi/airlock/boot.h"

#define HOSTILE   20
#define SECOND    21
#define CHAIN_A   22
#define SHARED    0x50000000UL
#define CSTACK    0x50001000UL /* NSTACK pages: 512 bytes of stack per child thread */
#define NSTACK    8
#define CH_EP     16 /* the child's endpoint, on which its threads block */
#define CH_FIRST  17 /* the child's endpoints under test */
#define CH_B      30 /* A's slot for B */
#define CH_IRQC   14 /* the hostile child's IRQ-control capability (below its endpoint slots) */
#define CH_IRQ    15 /* its IRQ object */
#define H_BUDGET  200
#define A_BUDGET  100
#define SPARSE(i) (0x10000000000UL + (unsigned long)(i)*0x40000000UL) /* a new 1 GiB each */

struct shared {
    volatile long mode, done;
    volatile long eps, ep_err, threads, th_err, left;
    volatile long b_big, b_set, b_limit, a_used_before, a_used_after, a_limit, b_over;
    volatile long irq_full, irq_room, irq_used_before, irq_used_after;
};
enum { M_HOSTILE = 1, M_SECOND, M_CHAIN };

static struct shared *sh = (struct shared *)SHARED;

static __attribute__((noreturn, noinline)) void blocker(void *arg)
{
    (void)arg;
    for (;;)
        al_ipc(AL_IPC_RECV, 0, 0, CH_EP, AL_TIMEOUT_NEVER);
}

/* the children's first thread (an if chain: no jump table in .rodata) */
static __attribute__((noreturn, noinline)) void child_main(unsigned long arg)
{
    struct shared *s = (struct shared *)arg;
    long mode = s->mode;
    if (mode == M_HOSTILE || mode == M_SECOND) {
        long r = al_endpoint_create(CH_EP);
        long n = 0;
        if (mode == M_HOSTILE) {
            /* endpoints until refused, then give them back */
            for (long slot = CH_FIRST; r == 0 && slot < AL_CSPACE_SLOTS; slot++)
                if ((r = al_endpoint_create(slot)) == 0)
                    n++;
            s->eps = n;
            s->ep_err = r;
            /* an IRQ object is charged too: refused while the budget is
             * full, made once there is room, its frame back when it goes */
            struct al_irq_msi msi;
            struct al_kmem_info k;
            s->irq_full = al_irq_create(CH_IRQC, CH_IRQ, AL_IRQ_MSI, 0, 0, &msi);
            for (long slot = CH_FIRST; slot < CH_FIRST + n; slot++)
                al_cap_delete(slot);
            al_kmem_info(-1, &k);
            s->irq_used_before = (long)k.used;
            s->irq_room = al_irq_create(CH_IRQC, CH_IRQ, AL_IRQ_MSI, 0, 0, &msi);
            al_kmem_info(-1, &k);
            s->irq_used_after = (long)k.used;
            al_cap_delete(CH_IRQ);
        } else {
            s->eps = al_endpoint_create(CH_FIRST) == 0;
        }
        /* threads, blocked on CH_EP, until refused (or, for the second
         * task, two) */
        n = 0;
        r = 0;
        while (r >= 0 && n < NSTACK * 8 - 4 && (mode == M_HOSTILE || n < 2)) {
            r = al_thread_create(blocker, (void *)(CSTACK + (unsigned long)(n + 1) * 512 - 8), s, 90, -1);
            if (r >= 0)
                n++;
        }
        s->threads = n;
        s->th_err = r;
    } else if (mode == M_CHAIN) {
        /* we are A: create B, try to give it more than we have */
        struct al_kmem_info a, b;
        al_kmem_info(-1, &a);
        s->a_limit = a.limit;
        s->a_used_before = a.used;
        long r = al_task_create(CH_B, 0);
        if (r >= 0) {
            s->b_big = al_kmem_set(CH_B, a.limit + 1);
            al_kmem_info(-1, &a);
            s->b_over = al_kmem_set(CH_B, a.limit - a.used + 64 + 1); /* one frame more than A has unused */
            s->b_set = al_kmem_set(CH_B, a.limit - a.used + 64);      /* all A has left */
            al_kmem_info(CH_B, &b);
            s->b_limit = b.limit;
            al_kmem_info(-1, &a);
            s->a_used_after = a.used;
        } else {
            s->b_big = r;
        }
    }
    s->done = 1;
    for (;;)
        al_ipc(AL_IPC_RECV, 0, 0, CH_EP, AL_TIMEOUT_NEVER);
}

/* slot: a child with budget frames, its text, the shared page and the
 * stacks mapped, running child_main in mode */
static long child_start(long slot, long mode, unsigned long frames)
{
    long r = child_task_create(slot, "kmem-child");
    if (r < 0)
        return r;
    struct al_cap_info irqc;
    if (mode == M_HOSTILE && al_cap_info(AL_SLOT_IRQ_CONTROL, &irqc) == 0 &&
        (r = al_cap_give(slot, AL_SLOT_IRQ_CONTROL, CH_IRQC, irqc.rights)) < 0) /* (for its IRQ object) */
        return r;
    if ((r = al_kmem_set(slot, frames)) < 0)
        return r;
    if ((r = al_task_map(slot, AL_FPAGE(SHARED, 12), SHARED, AL_MAP_RW)) < 0)
        return r;
    for (unsigned long i = 0; i < NSTACK; i++)
        if ((r = al_task_map(slot, AL_FPAGE(CSTACK + i * 4096, 12), CSTACK + i * 4096, AL_MAP_RW)) < 0)
            return r;
    struct shared zero = {0};
    *sh = zero;
    sh->mode = mode;
    r = al_thread_create_in(slot, (unsigned long)child_main, CSTACK + NSTACK * 4096 - 8, SHARED, 90, -1);
    if (r < 0)
        return r;
    for (int i = 0; i < 2000 && !sh->done; i++)
        al_sleep(1000000);
    return sh->done ? 0 : -AL_ETIMEDOUT;
}

static long end_child(long slot)
{
    struct al_task_end e;
    al_task_kill(slot);
    long r = al_task_wait(slot, &e);
    al_cap_delete(slot);
    return r;
}

static long nothing(void *arg)
{
    (void)arg;
    return 0;
}

static char stk[4096] __attribute__((aligned(16)));

/* an endpoint, a thread, a mapping of our own: 0 if all worked */
static long own_objects(void)
{
    long e = al_endpoint_create(11);
    long th = thread_spawn(nothing, 0, stk, sizeof stk, 100, -1);
    long st = -1;
    long j = th >= 0 ? al_thread_join(th, &st) : th;
    long m = mem_alloc((void *)SPARSE(7000), 12, AL_MAP_RW);
    if (m >= 0)
        mem_free(m);
    al_cap_delete(11);
    return e ? e : th < 0 ? th : j < 0 ? j : m < 0 ? m : 0;
}

static unsigned long used(void)
{
    struct al_kmem_info k;
    return al_kmem_info(-1, &k) ? ~0UL : k.used;
}

static void snap(struct al_stats *st)
{
    al_stats(st, sizeof *st);
}

static int stats_equal(const struct al_stats *a, const struct al_stats *b)
{
    return a->free_frames + a->cache_frames == b->free_frames + b->cache_frames && a->mapdb_nodes == b->mapdb_nodes &&
           a->live_tasks == b->live_tasks && a->live_threads == b->live_threads;
}

int main(int argc, char **argv)
{
    ktap_plan(15);
    struct al_kmem_info me;
    long r = al_kmem_info(-1, &me);
    int ok_arg = 1;
    long given = argc > 1 ? strtol_simple(argv[1], &ok_arg) : 0;
    ktap_result(r == 0 && (long)me.limit == given && me.used > 0 && me.used <= me.limit && me.peak >= me.used,
                "kmem_info: our budget is root's kmem=%ld (limit %lu used %lu peak %lu)", given, me.limit, me.used,
                me.peak);
    ktap_result(al_kmem_info(-1, (struct al_kmem_info *)0x10) == -AL_EFAULT && al_kmem_info(200, &me) == -AL_EBADCAP &&
                    al_kmem_set(200, 1) == -AL_EBADCAP,
                "kmem_info and kmem_set: hostile arguments are refused");

    /* memory for the children, and the counters before any of them */
    mem_alloc((void *)SHARED, 12, AL_MAP_RW);
    for (unsigned long i = 0; i < NSTACK; i++)
        mem_alloc((void *)(CSTACK + i * 4096), 12, AL_MAP_RW);
    own_objects(); /* our page tables for them, made now */
    struct al_stats before, after;
    snap(&before);
    unsigned long used0 = used();

    r = child_start(HOSTILE, M_HOSTILE, H_BUDGET);
    ktap_result(r == 0 && used() == used0 + H_BUDGET, "a child's budget (%d frames) is counted in ours (%ld)", H_BUDGET,
                r);
    ktap_result(sh->eps > 0 && sh->ep_err == -AL_EDQUOT, "hostile: %ld endpoints, then %ld (AL_EDQUOT)", sh->eps,
                sh->ep_err);
    ktap_result(sh->threads > 0 && sh->th_err == -AL_EDQUOT, "hostile: %ld threads, then %ld (AL_EDQUOT)", sh->threads,
                sh->th_err);
    ktap_result(sh->irq_full == -AL_EDQUOT && sh->irq_room == 0 && sh->irq_used_after == sh->irq_used_before + 1,
                "hostile: an IRQ object refused with the budget full (%ld), made with room (%ld), one frame charged "
                "(%ld -> %ld)",
                sh->irq_full, sh->irq_room, sh->irq_used_before, sh->irq_used_after);
    /* page tables and mapping nodes: one page at sparse addresses */
    long maps = 0;
    r = 0;
    for (long i = 0; r == 0 && i < 4096; i++)
        if ((r = al_task_map(HOSTILE, AL_FPAGE(SHARED, 12), SPARSE(i), AL_MAP_R)) == 0)
            maps++;
    struct al_kmem_info h;
    al_kmem_info(HOSTILE, &h);
    ktap_result(r == -AL_EDQUOT && h.used <= h.limit && h.limit - h.used < 4 && h.tables > 0,
                "hostile: %ld sparse mappings (%lu page tables, %lu nodes), then %ld (AL_EDQUOT)", maps, h.tables,
                h.nodes, r);
    ktap_result(al_kmem_set(HOSTILE, 1) == -AL_EBUSY && al_kmem_set(HOSTILE, me.limit * 2) == -AL_EDQUOT,
                "kmem_set: below the use is refused (AL_EBUSY), beyond ours too (AL_EDQUOT)");

    /* the others go on: we, and a second task started now */
    r = own_objects();
    ktap_result(r == 0, "while it is refused we create an endpoint, a thread and a mapping (%ld)", r);
    r = child_start(SECOND, M_SECOND, 64);
    ktap_result(r == 0 && sh->eps == 1 && sh->threads == 2,
                "a second task started afterwards creates its objects and runs (%ld %ld %ld)", r, sh->eps, sh->threads);
    end_child(SECOND);

    /* the hostile task dies: everything comes back */
    r = end_child(HOSTILE);
    snap(&after);
    ktap_result(r == 0 && used() == used0 && stats_equal(&before, &after),
                "its death gives back every frame: our use %lu = %lu, kernel frames %lu = %lu, nodes %lu = %lu, tasks "
                "%lu = %lu, threads %lu = %lu",
                used(), used0, after.free_frames + after.cache_frames, before.free_frames + before.cache_frames,
                after.mapdb_nodes, before.mapdb_nodes, after.live_tasks, before.live_tasks, after.live_threads,
                before.live_threads);

    /* a chain of three: us, A, B */
    r = child_start(CHAIN_A, M_CHAIN, A_BUDGET);
    ktap_result(r == 0 && sh->a_limit == A_BUDGET && sh->b_big == -AL_EDQUOT && sh->b_over == -AL_EDQUOT,
                "chain: A (budget %ld) cannot give B more than it has (%ld, %ld)", sh->a_limit, sh->b_big, sh->b_over);
    ktap_result(sh->b_set == 0 && sh->b_limit <= A_BUDGET && sh->a_used_after == A_BUDGET,
                "chain: B gets what A has left (%ld frames), all of it counted in A's use (%ld of %ld)", sh->b_limit,
                sh->a_used_after, sh->a_limit);
    r = end_child(CHAIN_A);
    snap(&after);
    ktap_result(r == 0 && used() == used0 && stats_equal(&before, &after),
                "chain: A's and B's budgets come back when they die (use %lu = %lu)", used(), used0);

    /* an I/O bitmap (2 frames) is charged to the task that gets its first
     * ioport capability (we have one: kmem=... ports=0x70:2) */
    struct al_cap_info ci;
    struct al_kmem_info c0, c1;
    long give1 = -1, give2 = -1, set1 = -1, set2 = -1;
    if (al_cap_info(AL_SLOT_IOPORTS, &ci) == 0 && child_task_create(CHAIN_A, "kmem-io") == 0 &&
        al_kmem_info(CHAIN_A, &c0) == 0) {
        set1 = al_kmem_set(CHAIN_A, c0.used + 1);
        give1 = al_cap_give(CHAIN_A, AL_SLOT_IOPORTS, 10, ci.rights);
        set2 = al_kmem_set(CHAIN_A, c0.used + 2);
        give2 = al_cap_give(CHAIN_A, AL_SLOT_IOPORTS, 10, ci.rights);
    }
    al_kmem_info(CHAIN_A, &c1);
    al_cap_delete(CHAIN_A);
    ktap_result(set1 == 0 && give1 == -AL_EDQUOT && set2 == 0 && give2 == 0 && c1.used == c0.used + 2 &&
                    used() == used0,
                "an I/O bitmap is charged to its holder: refused with one frame left (%ld), given with two (%ld), "
                "back at its death",
                give1, give2);
    return ktap_failures() ? 1 : 0;
}
