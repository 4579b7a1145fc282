/*
 * tests/host/test_mapdb.c - unit tests for kernel/mapdb.c (the mapping
 * database) and kernel/map.c (map_pages: check everything, then map).
 *
 * Tasks are plain struct task with a real PML4: the page tables are
 * arch/x86_64/pagetable.c's, over frames of kernel/frame.c in a heap arena
 * (p2v(pa) = pt_host_arena + pa with -DAIRLOCK_HOST_TEST). The "physical"
 * pages that are mapped lie beyond the arena and are never touched. The
 * kernel-only pieces are this file's: cpus[]/ncpus (which CPU runs which
 * task, for the TLB shootdown masks), pte_nx, panic(), and
 * tlb_shootdown_user(), which records the masks map.c asks to flush.
 *
 * Expectations come from hand-written chains or from an independent model
 * (an array of (task, va) keys with parent, rights, pa); every node is
 * compared with its page-table entry (present, address, W, NX, PCD/PWT).
 * Each test ends with every task gone (mapdb_task_gone) and checks that no
 * node and no page-table frame is left.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include <arch/paging.h>
#include <arch/tlb.h>
#include "kernel/mapdb.h"
#include "kernel/map.h"
#include "kernel/task.h"
#include "kernel/thread.h"
#include "kernel/cpu.h"
#include "kernel/frame.h"
#include "kernel/panic.h"
#include "abi/airlock/errno.h"
#include "lib/string.h"

#define ARENA_SIZE (32ULL << 20)
#define PA_BASE    0x100000000ULL /* mapped pages: beyond the arena, never touched */
#define VA(i)      (0x400000ULL + (uint64_t)(i)*4096)
#define RWX        (MAP_R | MAP_W | MAP_X)

/* ---- what mapdb.c and map.c need from the rest of the kernel ---- */

uint8_t *pt_host_arena;
uint64_t pte_nx = PTE_NX;
struct cpu cpus[MAX_CPUS];
unsigned ncpus;

_Noreturn void panic(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fail_msg("kernel panic: %s", buf);
    abort();
}

_Noreturn void assert_fail(const char *expr, const char *file, int line, const char *func)
{
    fail_msg("kernel assert: %s (%s:%d, %s)", expr, file, line, func);
    abort();
}

static uint64_t shootdown_masks[64];
static unsigned shootdowns;

int tlb_pcid = 0; /* no PCID: the masks name the CPUs that run a task */

void tlb_shootdown_user(uint64_t cpumask, uint64_t space, uint64_t va, uint64_t npages)
{
    assert_int_not_equal(cpumask, 0); /* map_flush skips empty masks */
    assert_int_equal(space, 0);       /* of every space */
    assert_int_equal(va, 0);          /* map.c flushes everything */
    assert_int_equal(npages, 0);
    assert_true(shootdowns < 64);
    shootdown_masks[shootdowns++] = cpumask;
}

/* ---- fixtures ---- */

#define NTASKS 8
static struct task tasks[NTASKS];
static struct thread running[NTASKS]; /* cpu i runs running[i] when set */
static size_t frames_baseline;        /* free frames + slab frames */

static void *test_p2v(uint64_t pa)
{
    return pt_host_arena + pa;
}

static int group_setup(void **state)
{
    (void)state;
    pt_host_arena = aligned_alloc(4096, ARENA_SIZE);
    if (!pt_host_arena)
        return -1;
    const struct mem_range av[] = {{0, ARENA_SIZE}};
    if (frame_init(av, 1, NULL, 0, test_p2v) != 0)
        return -1;
    mapdb_init(); /* once: the node slab survives the tests */
    frames_baseline = frame_free_count() + mapdb_slab_frames();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free(pt_host_arena);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    memset(tasks, 0, sizeof tasks);
    memset(running, 0, sizeof running);
    memset(cpus, 0, sizeof cpus);
    ncpus = 4;
    for (unsigned i = 0; i < NTASKS; i++) {
        tasks[i].id = i;
        tasks[i].is_sigma0 = i == 0;
        tasks[i].pml4 = pt_alloc_table();
        if (!tasks[i].pml4)
            return -1;
    }
    shootdowns = 0;
    return mapdb_nodes() == 0 ? 0 : -1;
}

/* every task gone, as task_destroy does it (its mappings dropped in the
 * walk that frees its tables): no node left, every page table back */
static int teardown(void **state)
{
    (void)state;
    uint64_t flush = 0;
    for (unsigned i = 0; i < NTASKS; i++) {
        struct mapdb_gone g = {&tasks[i], &flush};
        pt_free_lower(tasks[i].pml4, false, mapdb_page_gone, &g);
        frame_free(tasks[i].pml4);
    }
    if (mapdb_nodes() != 0)
        return -1;
    return frame_free_count() + mapdb_slab_frames() == frames_baseline ? 0 : -1;
}

/* CPU `cpu` runs a thread of task t (NULL: idle) */
static void run_on(unsigned cpu, struct task *t)
{
    running[cpu].task = t;
    cpus[cpu].current = t ? &running[cpu] : NULL;
}

static struct mapnode *N(unsigned t, uint64_t va)
{
    return mapdb_lookup(&tasks[t], va);
}

/* the node exists with these rights and parent, and its PTE matches */
static void expect_node(unsigned t, uint64_t va, uint64_t pa, uint32_t rights, struct mapnode *parent)
{
    struct mapnode *n = N(t, va);
    assert_non_null(n);
    assert_ptr_equal(n->task, &tasks[t]);
    assert_int_equal(n->va, va);
    assert_int_equal(n->pa, pa);
    assert_int_equal(n->rights, rights);
    assert_ptr_equal(n->parent, parent);
    uint64_t pte = pt_lookup(tasks[t].pml4, va, NULL);
    assert_true(pte & PTE_P);
    assert_true(pte & PTE_U);
    assert_int_equal(pte & PTE_ADDR, pa);
    assert_int_equal(!!(pte & PTE_W), !!(rights & MAP_W));
    assert_int_equal(!!(pte & PTE_NX), !(rights & MAP_X) || (rights & MAP_W));
    assert_int_equal(!!(pte & (PTE_PCD | PTE_PWT)), !!n->device);
}

static void expect_gone(unsigned t, uint64_t va)
{
    assert_null(N(t, va));
    assert_int_equal(pt_lookup(tasks[t].pml4, va, NULL), 0);
}

static long map1(struct mapnode *src, unsigned dst, uint64_t dva, uint32_t mask, int grant, uint64_t *flush)
{
    long e = mapdb_map_check(src, &tasks[dst], dva, mask, grant);
    long e2 = mapdb_map(src, &tasks[dst], dva, mask, grant, flush);
    assert_int_equal(e, e2); /* the check predicts the map */
    return e2;
}

/* ---- tests ---- */

static void test_root(void **state)
{
    (void)state;
    assert_int_equal(mapdb_root(&tasks[0], VA(0), PA_BASE, RWX, 0), 0);
    assert_int_equal(mapdb_root(&tasks[0], VA(1), PA_BASE + 0x1000, MAP_R | MAP_X, 0), 0);
    assert_int_equal(mapdb_root(&tasks[0], VA(2), PA_BASE + 0x2000, MAP_R | MAP_W, 1), 0);
    assert_int_equal(mapdb_nodes(), 3);
    expect_node(0, VA(0), PA_BASE, RWX, NULL);
    expect_node(0, VA(1), PA_BASE + 0x1000, MAP_R | MAP_X, NULL);
    assert_false(pt_lookup(tasks[0].pml4, VA(1), NULL) & PTE_NX); /* executable */
    expect_node(0, VA(2), PA_BASE + 0x2000, MAP_R | MAP_W, NULL);
    assert_int_equal(pt_lookup(tasks[0].pml4, VA(2), NULL) & (PTE_PCD | PTE_PWT), PTE_PCD | PTE_PWT);
    /* one node per (task, va) */
    assert_int_equal(mapdb_root(&tasks[0], VA(0), PA_BASE + 0x5000, RWX, 0), -AL_EEXIST);
    expect_node(0, VA(0), PA_BASE, RWX, NULL);
    assert_null(N(0, VA(3)));
    assert_null(N(1, VA(0)));
    assert_int_equal(mapdb_nodes(), 3);
    /* device memory stays uncached when mapped on */
    uint64_t flush = 0;
    assert_int_equal(mapdb_map(N(0, VA(2)), &tasks[1], VA(7), MAP_R, 0, &flush), 0);
    assert_int_equal(N(1, VA(7))->device, 1);
    expect_node(1, VA(7), PA_BASE + 0x2000, MAP_R, N(0, VA(2)));
    assert_int_equal(pt_lookup(tasks[1].pml4, VA(7), NULL) & (PTE_PCD | PTE_PWT), PTE_PCD | PTE_PWT);
    assert_int_equal(mapdb_map(N(0, VA(0)), &tasks[1], VA(8), MAP_R, 0, &flush), 0);
    assert_int_equal(N(1, VA(8))->device, 0);
    assert_int_equal(pt_lookup(tasks[1].pml4, VA(8), NULL) & (PTE_PCD | PTE_PWT), 0);
}

/* sigma0 -> A -> B -> C with shrinking rights; the checks refuse what
 * mapdb_map refuses */
static void test_chain_and_checks(void **state)
{
    (void)state;
    uint64_t flush = 0;
    mapdb_root(&tasks[0], VA(0), PA_BASE, RWX, 0);
    struct mapnode *s = N(0, VA(0));
    assert_int_equal(map1(s, 1, VA(10), MAP_R | MAP_W, 0, &flush), 0);
    struct mapnode *a = N(1, VA(10));
    assert_int_equal(map1(a, 2, VA(20), RWX, 0, &flush), 0); /* X cannot come back */
    struct mapnode *b = N(2, VA(20));
    assert_int_equal(map1(b, 3, VA(30), MAP_R | MAP_X, 0, &flush), 0);
    expect_node(1, VA(10), PA_BASE, MAP_R | MAP_W, s);
    expect_node(2, VA(20), PA_BASE, MAP_R | MAP_W, a);
    expect_node(3, VA(30), PA_BASE, MAP_R, b);
    assert_ptr_equal(s->child, a);
    assert_ptr_equal(a->child, b);
    assert_int_equal(mapdb_nodes(), 4);
    assert_int_equal(flush, 0); /* new mappings need no shootdown */

    /* no R left after the mask: refused */
    assert_int_equal(map1(a, 4, VA(0), MAP_W, 0, &flush), -AL_EPERM);
    assert_int_equal(map1(N(3, VA(30)), 4, VA(0), MAP_R | MAP_W, 0, &flush), 0);
    expect_node(4, VA(0), PA_BASE, MAP_R, N(3, VA(30)));
    /* ownership does not move */
    assert_int_equal(map1(s, 4, VA(1), RWX, 1, &flush), -AL_EPERM);
    /* onto itself: map refused, grant a no-op */
    assert_int_equal(map1(b, 2, VA(20), RWX, 0, &flush), -AL_EINVAL);
    assert_int_equal(map1(b, 2, VA(20), RWX, 1, &flush), 0);
    expect_node(2, VA(20), PA_BASE, MAP_R | MAP_W, a);
    /* over one of its own ancestors: would unmap the source */
    assert_int_equal(map1(N(3, VA(30)), 1, VA(10), MAP_R, 0, &flush), -AL_EINVAL);
    expect_node(1, VA(10), PA_BASE, MAP_R | MAP_W, s);
    /* over a page the kernel mapped (no node): the check refuses */
    assert_int_equal(pt_map(tasks[5].pml4, VA(50), PA_BASE + 0x77000, PTE_U | PTE_W), 0);
    assert_int_equal(mapdb_map_check(a, &tasks[5], VA(50), MAP_R, 0), -AL_EEXIST);
    assert_int_equal(mapdb_map_check(a, &tasks[5], VA(51), MAP_R, 0), 0);
    pt_unmap(tasks[5].pml4, VA(50));
    assert_int_equal(mapdb_nodes(), 5);
    assert_int_equal(flush, 0);
}

/* mapping over an existing mapping replaces it and revokes what was
 * derived from it; the CPUs running the tasks that lost pages are named */
static void test_replace(void **state)
{
    (void)state;
    uint64_t flush = 0;
    mapdb_root(&tasks[0], VA(0), PA_BASE, RWX, 0);
    mapdb_root(&tasks[0], VA(1), PA_BASE + 0x1000, RWX, 0);
    map1(N(0, VA(0)), 1, VA(5), RWX, 0, &flush);
    map1(N(1, VA(5)), 2, VA(5), RWX, 0, &flush);
    map1(N(2, VA(5)), 3, VA(5), RWX, 0, &flush);
    run_on(0, &tasks[0]);
    run_on(1, &tasks[2]);
    run_on(2, &tasks[3]);
    run_on(3, &tasks[3]);
    flush = 0;
    /* task 2's page at VA(5) becomes the other root's: 2 and 3 lose theirs */
    assert_int_equal(map1(N(0, VA(1)), 2, VA(5), MAP_R, 0, &flush), 0);
    expect_node(2, VA(5), PA_BASE + 0x1000, MAP_R, N(0, VA(1)));
    expect_gone(3, VA(5));
    expect_node(1, VA(5), PA_BASE, RWX, N(0, VA(0)));
    assert_null(N(1, VA(5))->child);
    assert_int_equal(flush, (1u << 1) | (1u << 2) | (1u << 3));
    assert_int_equal(mapdb_nodes(), 4);
}

/* taking rights away: from the derived mappings only, or from the node
 * too (never from a root); R taken away means unmapped */
static void test_reduce_rights(void **state)
{
    (void)state;
    uint64_t flush = 0;
    mapdb_root(&tasks[0], VA(0), PA_BASE, RWX, 0);
    struct mapnode *s = N(0, VA(0));
    map1(s, 1, VA(1), RWX, 0, &flush);
    map1(N(1, VA(1)), 2, VA(2), RWX, 0, &flush);
    map1(N(2, VA(2)), 3, VA(3), MAP_R | MAP_W, 0, &flush);
    map1(N(1, VA(1)), 4, VA(4), MAP_R | MAP_X, 0, &flush); /* a sibling branch */
    run_on(2, &tasks[3]);
    flush = 0;

    mapdb_unmap(N(1, VA(1)), 0, MAP_W, &flush);
    expect_node(1, VA(1), PA_BASE, RWX, s); /* keeps its own */
    expect_node(2, VA(2), PA_BASE, MAP_R | MAP_X, N(1, VA(1)));
    expect_node(3, VA(3), PA_BASE, MAP_R, N(2, VA(2)));
    expect_node(4, VA(4), PA_BASE, MAP_R | MAP_X, N(1, VA(1)));
    assert_int_equal(flush, 1u << 2);

    flush = 0;
    run_on(1, &tasks[1]);
    mapdb_unmap(N(1, VA(1)), 1, MAP_X, &flush); /* self too */
    expect_node(1, VA(1), PA_BASE, MAP_R | MAP_W, s);
    expect_node(2, VA(2), PA_BASE, MAP_R, N(1, VA(1)));
    expect_node(4, VA(4), PA_BASE, MAP_R, N(1, VA(1)));
    assert_int_equal(flush, (1u << 1) | (1u << 2));

    mapdb_unmap(s, 1, MAP_W, &flush); /* a root keeps its rights */
    expect_node(0, VA(0), PA_BASE, RWX, NULL);
    expect_node(1, VA(1), PA_BASE, MAP_R, s);

    mapdb_unmap(N(1, VA(1)), 0, MAP_R, &flush); /* R: unmap the derived ones */
    expect_node(1, VA(1), PA_BASE, MAP_R, s);
    expect_gone(2, VA(2));
    expect_gone(3, VA(3));
    expect_gone(4, VA(4));
    assert_int_equal(mapdb_nodes(), 2);
}

/* unmap: recursive, in every task; a root stays */
static void test_unmap(void **state)
{
    (void)state;
    uint64_t flush = 0;
    mapdb_root(&tasks[0], VA(0), PA_BASE, RWX, 0);
    struct mapnode *s = N(0, VA(0));
    /* a tree: s -> 1 -> {2 -> 3, 4 -> {5, 6}}, s -> 7 */
    map1(s, 1, VA(0), RWX, 0, &flush);
    map1(N(1, VA(0)), 2, VA(0), RWX, 0, &flush);
    map1(N(2, VA(0)), 3, VA(0), RWX, 0, &flush);
    map1(N(1, VA(0)), 4, VA(0), RWX, 0, &flush);
    map1(N(4, VA(0)), 5, VA(0), RWX, 0, &flush);
    map1(N(4, VA(0)), 6, VA(0), RWX, 0, &flush);
    map1(s, 7, VA(0), RWX, 0, &flush);
    assert_int_equal(mapdb_nodes(), 8);
    run_on(0, &tasks[5]);
    run_on(3, &tasks[7]);
    flush = 0;

    mapdb_unmap(N(4, VA(0)), 0, 0, &flush); /* 4's derivations only */
    expect_node(4, VA(0), PA_BASE, RWX, N(1, VA(0)));
    expect_gone(5, VA(0));
    expect_gone(6, VA(0));
    assert_int_equal(flush, 1u << 0);

    mapdb_unmap(N(1, VA(0)), 1, 0, &flush); /* 1 and everything below */
    for (unsigned t = 1; t <= 6; t++)
        expect_gone(t, VA(0));
    expect_node(7, VA(0), PA_BASE, RWX, s);
    assert_ptr_equal(s->child, N(7, VA(0)));
    assert_null(N(7, VA(0))->next);
    assert_null(N(7, VA(0))->prev);
    assert_int_equal(mapdb_nodes(), 2);

    flush = 0;
    mapdb_unmap(s, 1, 0, &flush); /* a root: its derivations go, it stays */
    expect_node(0, VA(0), PA_BASE, RWX, NULL);
    expect_gone(7, VA(0));
    assert_null(s->child);
    assert_int_equal(flush, 1u << 3);
    assert_int_equal(mapdb_nodes(), 1);
}

/* grant: the node moves to the new owner (same node, same place in the
 * tree, its derivations stay), with fewer rights for all of them if asked */
static void test_grant(void **state)
{
    (void)state;
    uint64_t flush = 0;
    mapdb_root(&tasks[0], VA(0), PA_BASE, RWX, 0);
    struct mapnode *s = N(0, VA(0));
    map1(s, 1, VA(1), RWX, 0, &flush);
    map1(s, 5, VA(5), MAP_R, 0, &flush); /* a sibling */
    struct mapnode *a = N(1, VA(1));
    map1(a, 2, VA(2), RWX, 0, &flush);
    map1(N(2, VA(2)), 3, VA(3), MAP_R | MAP_W, 0, &flush);
    run_on(1, &tasks[1]);
    flush = 0;

    assert_int_equal(map1(a, 4, VA(40), MAP_R | MAP_X, 1, &flush), 0);
    assert_ptr_equal(N(4, VA(40)), a); /* the same node */
    expect_gone(1, VA(1));
    expect_node(4, VA(40), PA_BASE, MAP_R | MAP_X, s);
    expect_node(2, VA(2), PA_BASE, MAP_R | MAP_X, a); /* W went down the tree */
    expect_node(3, VA(3), PA_BASE, MAP_R, N(2, VA(2)));
    expect_node(5, VA(5), PA_BASE, MAP_R, s);
    assert_int_equal(mapdb_nodes(), 5);
    assert_true(flush & (1u << 1)); /* the granter lost the page */

    /* grant over an existing mapping of the receiver: that one is revoked */
    map1(s, 6, VA(6), MAP_R, 0, &flush);
    map1(N(6, VA(6)), 7, VA(7), MAP_R, 0, &flush);
    assert_int_equal(map1(N(2, VA(2)), 6, VA(6), MAP_R, 1, &flush), 0);
    expect_node(6, VA(6), PA_BASE, MAP_R, a);
    expect_gone(2, VA(2));
    expect_gone(7, VA(7));
    expect_node(3, VA(3), PA_BASE, MAP_R, N(6, VA(6)));
    assert_int_equal(mapdb_nodes(), 5);
}

/* a task that goes takes its mappings and what was derived from them
 * everywhere; sigma0's ownership goes too when sigma0 itself goes */
static void test_task_gone(void **state)
{
    (void)state;
    uint64_t flush = 0;
    for (unsigned i = 0; i < 4; i++)
        mapdb_root(&tasks[0], VA(i), PA_BASE + i * 4096, RWX, 0);
    /* 0 -> 1 -> 2 -> 3 for pages 0..3, and 2 maps page 1 to itself twice */
    for (unsigned i = 0; i < 4; i++) {
        map1(N(0, VA(i)), 1, VA(i), RWX, 0, &flush);
        map1(N(1, VA(i)), 2, VA(i), RWX, 0, &flush);
        map1(N(2, VA(i)), 3, VA(i), RWX, 0, &flush);
    }
    map1(N(2, VA(1)), 2, VA(100), MAP_R, 0, &flush);
    map1(N(2, VA(100)), 3, VA(100), MAP_R, 0, &flush);
    assert_int_equal(mapdb_nodes(), 4 * 4 + 2);
    run_on(0, &tasks[3]);
    run_on(1, &tasks[2]);
    flush = 0;

    mapdb_task_gone(&tasks[2], &flush);
    for (unsigned i = 0; i < 4; i++) {
        expect_gone(2, VA(i));
        expect_gone(3, VA(i));
        expect_node(1, VA(i), PA_BASE + i * 4096, RWX, N(0, VA(i)));
        assert_null(N(1, VA(i))->child);
    }
    expect_gone(2, VA(100));
    expect_gone(3, VA(100));
    assert_int_equal(mapdb_nodes(), 8);
    assert_int_equal(flush, 3u);

    mapdb_task_gone(&tasks[0], &flush); /* sigma0: roots and all below */
    assert_int_equal(mapdb_nodes(), 0);
    for (unsigned i = 0; i < 4; i++) {
        expect_gone(0, VA(i));
        expect_gone(1, VA(i));
    }
}

/* a 20,000-deep chain through 4 tasks: rights reduction, unmap from the
 * middle and a task going all walk it without recursion */
static void test_long_chain(void **state)
{
    (void)state;
    enum { DEPTH = 20000 };
    uint64_t flush = 0;
    static struct mapnode *chain[DEPTH];
    mapdb_root(&tasks[0], VA(0), PA_BASE, RWX, 0);
    chain[0] = N(0, VA(0));
    for (unsigned k = 1; k < DEPTH; k++) { /* link k: task 1 + k % 4, page k */
        assert_int_equal(map1(chain[k - 1], 1 + k % 4, VA(k), RWX, 0, &flush), 0);
        chain[k] = N(1 + k % 4, VA(k));
    }
    assert_int_equal(mapdb_nodes(), DEPTH);

    mapdb_unmap(chain[0], 0, MAP_W, &flush);
    for (unsigned k = 1; k < DEPTH; k++)
        expect_node(1 + k % 4, VA(k), PA_BASE, MAP_R | MAP_X, chain[k - 1]);

    mapdb_unmap(chain[DEPTH / 2], 1, 0, &flush);
    assert_int_equal(mapdb_nodes(), DEPTH / 2);
    assert_null(chain[DEPTH / 2 - 1]->child);
    for (unsigned k = DEPTH / 2; k < DEPTH; k++)
        expect_gone(1 + k % 4, VA(k));

    mapdb_task_gone(&tasks[3], &flush); /* its first link is k = 2 */
    assert_int_equal(mapdb_nodes(), 2);
    assert_null(chain[1]->child);

    /* a chain through one task's own pages, unmapped from the root */
    for (unsigned k = 1; k < DEPTH; k++)
        assert_int_equal(map1(k == 1 ? chain[0] : N(6, VA(k - 1)), 6, VA(k), MAP_R, 0, &flush), 0);
    assert_int_equal(mapdb_nodes(), 1 + 1 + DEPTH - 1);
    mapdb_unmap(chain[0], 1, 0, &flush);
    assert_int_equal(mapdb_nodes(), 1);
}

/* map_pages: every page is checked before any changes; an earlier page's
 * replacement can revoke a later source page (then EPERM, after the pages
 * before it were mapped); one shootdown for the CPUs that lost pages */
static void test_map_pages(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 4; i++)
        mapdb_root(&tasks[0], VA(i), PA_BASE + i * 4096, RWX, 0);
    /* all four pages or none: page 3 of the range has no node */
    assert_int_equal(map_pages(&tasks[0], VA(1), &tasks[1], VA(10), 4, RWX, 0), -AL_EPERM);
    for (unsigned i = 0; i < 4; i++)
        expect_gone(1, VA(10 + i));
    assert_int_equal(map_pages(&tasks[0], VA(0), &tasks[1], VA(10), 4, MAP_R | MAP_W, 0), 0);
    for (unsigned i = 0; i < 4; i++)
        expect_node(1, VA(10 + i), PA_BASE + i * 4096, MAP_R | MAP_W, N(0, VA(i)));
    assert_int_equal(shootdowns, 0); /* nothing was taken away */
    /* refused by a check on the last page (the kernel mapped that one):
     * nothing happens to the first three */
    assert_int_equal(pt_map(tasks[3].pml4, VA(33), PA_BASE + 0x99000, PTE_U), 0);
    assert_int_equal(map_pages(&tasks[0], VA(0), &tasks[3], VA(30), 4, MAP_R, 0), -AL_EEXIST);
    for (unsigned i = 0; i < 3; i++)
        expect_gone(3, VA(30 + i));
    assert_null(N(3, VA(33)));
    pt_unmap(tasks[3].pml4, VA(33));
    /* no R in the rights: refused */
    assert_int_equal(map_pages(&tasks[0], VA(0), &tasks[3], VA(30), 1, MAP_W | MAP_X, 0), -AL_EPERM);
    expect_gone(3, VA(30));

    /* task 2 gets pages 10..12 of task 1; then task 2 maps its [20, 22]
     * over task 1's [11, 13]: page 20 replaces 11, which revokes 21: the
     * map stops there, 22 is not mapped over 13 */
    assert_int_equal(map_pages(&tasks[1], VA(10), &tasks[2], VA(20), 3, MAP_R, 0), 0);
    run_on(2, &tasks[2]);
    run_on(3, &tasks[1]);
    assert_int_equal(map_pages(&tasks[2], VA(20), &tasks[1], VA(11), 3, MAP_R, 0), -AL_EPERM);
    expect_node(1, VA(11), PA_BASE, MAP_R, N(2, VA(20)));
    expect_gone(2, VA(21));
    expect_node(1, VA(12), PA_BASE + 0x2000, MAP_R | MAP_W, N(0, VA(2)));
    expect_node(1, VA(13), PA_BASE + 0x3000, MAP_R | MAP_W, N(0, VA(3)));
    expect_node(2, VA(22), PA_BASE + 0x2000, MAP_R, N(1, VA(12)));
    assert_int_equal(shootdowns, 1);
    assert_int_equal(shootdown_masks[0], (1u << 2) | (1u << 3));
}

/* ---- random operations against a model ---- */

enum { MT = 5, MV = 12, MK = MT * MV }; /* keys: task * MV + page */
static int mpar[MK];                    /* -2: no node; -1: root; else the parent key */
static uint32_t mrights[MK];
static uint64_t mpa[MK];

static unsigned key_task(int k)
{
    return (unsigned)k / MV;
}
static uint64_t key_va(int k)
{
    return VA(k % MV);
}
static struct mapnode *key_node(int k)
{
    return N(key_task(k), key_va(k));
}

static int model_is_ancestor(int a, int k)
{
    for (; k >= 0; k = mpar[k])
        if (k == a)
            return 1;
    return 0;
}

/* remove k's descendants (and k if self) from the model */
static void model_remove(int k, int self)
{
    int doomed[MK] = {0};
    for (int j = 0; j < MK; j++)
        if (mpar[j] != -2 && j != k && model_is_ancestor(k, j))
            doomed[j] = 1;
    for (int j = 0; j < MK; j++)
        if (doomed[j])
            mpar[j] = -2;
    if (self)
        mpar[k] = -2;
}

static void model_reduce_below(int k, uint32_t off)
{
    for (int j = 0; j < MK; j++)
        if (mpar[j] != -2 && j != k && model_is_ancestor(k, j))
            mrights[j] &= ~off;
}

static void model_compare(void)
{
    unsigned n = 0;
    int nchildren[MK] = {0};
    for (int k = 0; k < MK; k++)
        if (mpar[k] >= 0)
            nchildren[mpar[k]]++;
    for (int k = 0; k < MK; k++) {
        if (mpar[k] == -2) {
            expect_gone(key_task(k), key_va(k));
            continue;
        }
        n++;
        expect_node(key_task(k), key_va(k), mpa[k], mrights[k], mpar[k] < 0 ? NULL : key_node(mpar[k]));
        int nc = 0;
        struct mapnode *self = key_node(k);
        for (struct mapnode *c = self->child, *p = NULL; c; p = c, c = c->next) {
            assert_ptr_equal(c->prev, p);
            assert_ptr_equal(c->parent, self);
            nc++;
        }
        assert_int_equal(nc, nchildren[k]);
    }
    assert_int_equal(mapdb_nodes(), n);
}

/* 20,000 random roots, maps, grants (with random masks), unmaps, rights
 * reductions and tasks going, over 5 tasks x 12 pages; the checks'
 * verdicts come from the model, the state is compared after every step */
static void test_random_against_model(void **state)
{
    (void)state;
    for (int k = 0; k < MK; k++)
        mpar[k] = -2;
    uint64_t seed = 0x5eed, flush = 0;
    unsigned did[6] = {0};
    for (unsigned op = 0; op < 20000; op++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        int a = (int)(seed % MK), b = (int)((seed >> 16) % MK), kind = (int)((seed >> 32) % 16);
        uint32_t mask = (uint32_t)(seed >> 40) & RWX;
        if (kind == 0 && key_task(a) == 0 && mpar[a] == -2) {
            mpa[a] = PA_BASE + ((seed >> 44) & 0xffff) * 4096;
            assert_int_equal(mapdb_root(&tasks[0], key_va(a), mpa[a], RWX, 0), 0);
            mpar[a] = -1;
            mrights[a] = RWX;
            did[0]++;
        } else if (kind < 9 && mpar[a] != -2) {
            int grant = kind >= 7;
            uint32_t r = mrights[a] & mask;
            long want = 0;
            if (!(r & MAP_R) || (grant && mpar[a] == -1))
                want = -AL_EPERM;
            else if (b == a)
                want = grant ? 0 : -AL_EINVAL;
            else if (mpar[b] != -2 && model_is_ancestor(b, a))
                want = -AL_EINVAL;
            long e = map1(key_node(a), key_task(b), key_va(b), mask, grant, &flush);
            assert_int_equal(e, want);
            if (e == 0 && b != a) {
                if (mpar[b] != -2)
                    model_remove(b, 1);
                mpa[b] = mpa[a];
                if (grant) { /* a moves to b */
                    model_reduce_below(a, mrights[a] & ~r);
                    mpar[b] = mpar[a];
                    mrights[b] = r;
                    for (int j = 0; j < MK; j++)
                        if (mpar[j] == a)
                            mpar[j] = b;
                    mpar[a] = -2;
                    did[2]++;
                } else {
                    mpar[b] = a;
                    mrights[b] = r;
                    did[1]++;
                }
            }
        } else if (kind < 11 && mpar[a] != -2) {
            int self = kind == 10;
            mapdb_unmap(key_node(a), self, 0, &flush);
            model_remove(a, self && mpar[a] >= 0);
            did[3]++;
        } else if (kind < 15 && mpar[a] != -2) {
            uint32_t off = mask & (MAP_W | MAP_X);
            int self = kind >= 13;
            mapdb_unmap(key_node(a), self, off, &flush);
            if (off) {
                model_reduce_below(a, off);
                if (self && mpar[a] >= 0)
                    mrights[a] &= ~off;
            } else {
                model_remove(a, self && mpar[a] >= 0);
            }
            did[4]++;
        } else if (kind == 15 && (seed >> 60) == 0) {
            unsigned t = key_task(a);
            mapdb_task_gone(&tasks[t], &flush);
            for (int k = 0; k < MK; k++)
                if (mpar[k] != -2 && key_task(k) == t)
                    model_remove(k, 1);
            did[5]++;
        }
        model_compare();
    }
    for (unsigned k = 0; k < 6; k++)
        assert_true(did[k] > 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_and_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reduce_rights, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_task_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_against_model, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
