/*
 * tests/host/test_cap.c - unit tests for kernel/cap.c: capability spaces
 * and the derivation tree (install, derive, lookup, describe, delete,
 * revoke, cspace create/destroy).
 *
 * The object types behind capabilities are this file's: obj_types[] (the
 * kernel's is in kernel/object.c, not linked) holds counting stubs. Every
 * ref and every release is counted per object, and each release checks
 * the contract of kernel/object.h (the slot is already empty and
 * unlinked) and that the slot held a capability the test knows to be
 * live, so "released exactly once per capability" is checked at every
 * deletion. Task objects are real struct task: their release destroys the
 * task's capability space when the last task capability goes (as the
 * kernel's does for an orphaned task), so deletions re-enter cap.c from
 * the middle of a revoke.
 *
 * Capability spaces come from kernel/frame.c over a heap arena
 * (p2v(pa) = pt_host_arena + pa with -DAIRLOCK_HOST_TEST). The kernel's
 * v2p_direct has no host version in <arch/pagetable.h>, so kernel/cap.c is
 * compiled as part of this file, after the host v2p_direct below.
 *
 * Expectations come from the test's own bookkeeping (which slots hold a
 * capability, whose child each is), never from cap.c's tree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include <arch/pagetable.h>

#define ARENA_SIZE (32ULL << 20)

uint8_t *pt_host_arena;

/* the inverse of the host p2v, for kernel/cap.c's cspace_destroy */
static inline uint64_t v2p_direct(const void *va)
{
    return (uint64_t)((const uint8_t *)va - pt_host_arena);
}

#include "kernel/cap.c"

/* kernel/ioport.c is not linked: no I/O-port capabilities here */
struct task *ioport_dirty;
char ioport_space;
void ioport_commit_slow(void)
{
}

/* kernel/panic.h's assert() in cap.c lands here */
void assert_fail(const char *expr, const char *file, int line, const char *func)
{
    fail_msg("kernel assert: %s (%s:%d, %s)", expr, file, line, func);
    abort();
}

/* ---- counting object types ---- */

struct fobj {
    int refs;                /* capabilities naming it now */
    unsigned long ref_calls; /* ref() calls */
    unsigned long rel_calls; /* release() calls */
    unsigned long id;        /* reported by describe */
};

#define NTASKS 400 /* 400 * 256 slots: room for a 100,000-deep chain */

/* the objects the tests name (globals: teardown may still release them) */
static struct fobj ep, other, keep, th, rp;

static struct task tasks[NTASKS];
static int destroy_on_last[NTASKS]; /* release of the last task cap destroys its cspace */
static unsigned long total_refs, total_releases;
/* live[i]: the test installed or derived a capability into the slot at
 * arena offset i * sizeof(struct cap) and it was not released since */
static uint8_t live[ARENA_SIZE / sizeof(struct cap)];
static unsigned long nlive;

static size_t slot_index(const struct cap *c)
{
    uint64_t off = (uint64_t)((const uint8_t *)c - pt_host_arena);
    assert_true(off < ARENA_SIZE);
    assert_int_equal(off % sizeof(struct cap), 0);
    return off / sizeof(struct cap);
}

static void mark_live(struct cap *c)
{
    size_t i = slot_index(c);
    assert_false(live[i]);
    live[i] = 1;
    nlive++;
}

/* the contract of release: c is empty and unlinked; it held a live cap */
static void released(struct cap *c)
{
    assert_int_equal(c->type, AL_CAP_NONE);
    assert_null(c->parent);
    assert_null(c->child);
    assert_null(c->next);
    assert_null(c->prev);
    assert_null(c->obj);
    size_t i = slot_index(c);
    if (!live[i])
        fail_msg("release of a slot that holds no capability (or twice)");
    live[i] = 0;
    nlive--;
    total_releases++;
}

static void fobj_ref(void *obj)
{
    struct fobj *o = obj;
    o->refs++;
    o->ref_calls++;
    total_refs++;
}

static void fobj_release(struct cap *c, void *obj)
{
    struct fobj *o = obj;
    released(c);
    assert_true(o->refs > 0);
    o->refs--;
    o->rel_calls++;
}

static void fobj_describe(const struct cap *c, struct al_cap_info *info)
{
    info->id = ((const struct fobj *)c->obj)->id;
}

static void task_ref(void *obj)
{
    struct task *t = obj;
    t->refs++;
    total_refs++;
}

static void task_release(struct cap *c, void *obj)
{
    struct task *t = obj;
    released(c);
    assert_true(t->refs > 0);
    if (--t->refs == 0 && destroy_on_last[t - tasks])
        cspace_destroy(t); /* deletes more capabilities, maybe of this revoke */
}

static void task_describe(const struct cap *c, struct al_cap_info *info)
{
    info->id = ((const struct task *)c->obj)->id;
}

static const struct obj_ops t_endpoint = {"endpoint", fobj_ref, fobj_release, fobj_describe, NULL, NULL};
static const struct obj_ops t_reply = {"reply", fobj_ref, fobj_release, fobj_describe, NULL, NULL};
static const struct obj_ops t_task = {"task", task_ref, task_release, task_describe, NULL, NULL};
static const struct obj_ops t_thread = {"thread", fobj_ref, fobj_release, NULL, NULL, NULL}; /* no describe: id 0 */

const struct obj_ops *const obj_types[AL_CAP_TYPES] = {
    [AL_CAP_ENDPOINT] = &t_endpoint,
    [AL_CAP_REPLY] = &t_reply,
    [AL_CAP_TASK] = &t_task,
    [AL_CAP_THREAD] = &t_thread,
};

/* ---- fixtures ---- */

static void *test_p2v(uint64_t pa)
{
    return pt_host_arena + pa;
}

static int group_setup(void **state)
{
    (void)state;
    pt_host_arena = aligned_alloc(4096, ARENA_SIZE);
    return pt_host_arena ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    free(pt_host_arena);
    pt_host_arena = NULL;
    return 0;
}

static size_t free_at_start;

/* a fresh allocator over the arena and NTASKS tasks without cspaces */
static int setup(void **state)
{
    (void)state;
    const struct mem_range av[] = {{0, ARENA_SIZE}};
    memset(pt_host_arena, 0xa5, ARENA_SIZE); /* cspace_create must clear */
    if (frame_init(av, 1, NULL, 0, test_p2v) != 0)
        return -1;
    free_at_start = frame_free_count();
    memset(tasks, 0, sizeof tasks);
    memset(destroy_on_last, 0, sizeof destroy_on_last);
    for (unsigned i = 0; i < NTASKS; i++)
        tasks[i].id = 1000 + i;
    memset(live, 0, sizeof live);
    ep = other = keep = th = rp = (struct fobj){0};
    nlive = total_refs = total_releases = 0;
    return 0;
}

/* every cspace the test made is destroyed here: all capabilities are
 * released, every frame is back, the counts balance */
static int teardown(void **state)
{
    (void)state;
    for (unsigned i = 0; i < NTASKS; i++)
        cspace_destroy(&tasks[i]);
    for (unsigned i = 0; i < NTASKS; i++)
        if (tasks[i].refs)
            return -1;
    if (nlive != 0 || total_refs != total_releases || frame_free_count() != free_at_start)
        return -1;
    return 0;
}

static struct task *mktask(unsigned i)
{
    assert_int_equal(cspace_create(&tasks[i]), 0);
    return &tasks[i];
}

static struct cap *S(unsigned task, unsigned slot)
{
    struct cap *c = cap_slot(&tasks[task], slot);
    assert_non_null(c);
    return c;
}

static void install(struct cap *dst, int type, int rights, void *obj, uint64_t badge)
{
    cap_install(dst, type, rights, obj, badge);
    mark_live(dst);
}

static int derive(struct cap *src, struct cap *dst, int mask, uint64_t badge)
{
    int e = cap_derive(src, dst, mask, badge);
    if (!e)
        mark_live(dst);
    return e;
}

/* the children of c, newest first, are exactly want[0..n) */
static void expect_children(struct cap *c, struct cap *const *want, unsigned n)
{
    struct cap *prev = NULL, *d = c->child;
    for (unsigned i = 0; i < n; i++, prev = d, d = d->next) {
        assert_ptr_equal(d, want[i]);
        assert_ptr_equal(d->parent, c);
        assert_ptr_equal(d->prev, prev);
    }
    assert_null(d);
}

/* ---- tests ---- */

static void test_cspace_and_slots(void **state)
{
    (void)state;
    size_t before = frame_free_count();
    struct task *t = mktask(0);
    assert_int_equal(before - frame_free_count(), CSPACE_FRAMES);
    for (unsigned i = 0; i < AL_CSPACE_SLOTS; i++) { /* cleared, though the arena was not */
        struct cap *c = cap_slot(t, i);
        assert_ptr_equal(c, &t->cspace->slot[i]);
        assert_int_equal(c->type, 0);
        assert_null(c->obj);
        assert_null(c->parent);
        assert_null(c->child);
    }
    assert_null(cap_slot(t, AL_CSPACE_SLOTS));
    assert_null(cap_slot(t, ~0ULL));
    assert_null(cap_slot(NULL, 0));
    assert_null(cap_slot(&tasks[1], 0)); /* no cspace */

    th.id = 77;
    install(S(0, 3), AL_CAP_ENDPOINT, AL_R_SEND | AL_R_RECV, &ep, 0);
    install(S(0, 4), AL_CAP_THREAD, AL_R_CONTROL, &th, 0);
    install(S(0, 5), AL_CAP_TASK, AL_R_CONTROL, &tasks[7], 0);
    assert_int_equal(ep.refs, 1);
    assert_int_equal(ep.ref_calls, 1);
    assert_int_equal(tasks[7].refs, 1);

    long err = 0;
    assert_ptr_equal(cap_lookup(t, 3, AL_CAP_ENDPOINT, AL_R_SEND, &err), S(0, 3));
    assert_ptr_equal(cap_lookup(t, 3, AL_CAP_ENDPOINT, AL_R_SEND | AL_R_RECV, &err), S(0, 3));
    assert_ptr_equal(cap_lookup(t, 3, AL_CAP_ENDPOINT, 0, &err), S(0, 3));
    err = 0;
    assert_null(cap_lookup(t, 3, AL_CAP_ENDPOINT, AL_R_GRANT, &err));
    assert_int_equal(err, -AL_EPERM);
    err = 0;
    assert_null(cap_lookup(t, 3, AL_CAP_TASK, 0, &err)); /* wrong type */
    assert_int_equal(err, -AL_EBADCAP);
    err = 0;
    assert_null(cap_lookup(t, 9, AL_CAP_ENDPOINT, 0, &err)); /* empty */
    assert_int_equal(err, -AL_EBADCAP);
    err = 0;
    assert_null(cap_lookup(t, AL_CSPACE_SLOTS, AL_CAP_ENDPOINT, 0, &err));
    assert_int_equal(err, -AL_EBADCAP);
    err = 0;
    assert_null(cap_lookup(&tasks[2], 0, AL_CAP_ENDPOINT, 0, &err)); /* no cspace */
    assert_int_equal(err, -AL_EBADCAP);

    struct al_cap_info info;
    memset(&info, 0xff, sizeof info);
    cap_describe(S(0, 5), &info);
    assert_int_equal(info.type, AL_CAP_TASK);
    assert_int_equal(info.rights, AL_R_CONTROL);
    assert_int_equal(info.badge, 0);
    assert_int_equal(info.id, 1007);
    memset(&info, 0xff, sizeof info);
    cap_describe(S(0, 4), &info); /* a type without describe: id 0 */
    assert_int_equal(info.type, AL_CAP_THREAD);
    assert_int_equal(info.id, 0);

    /* destroy releases each capability once and gives the frames back */
    cspace_destroy(t);
    assert_null(t->cspace);
    assert_int_equal(frame_free_count(), before);
    assert_int_equal(ep.refs, 0);
    assert_int_equal(ep.rel_calls, 1);
    assert_int_equal(th.rel_calls, 1);
    assert_int_equal(tasks[7].refs, 0);
    assert_int_equal(nlive, 0);
    cspace_destroy(t); /* no cspace: nothing */
    assert_int_equal(total_releases, 3);
}

static void test_derive_rights_and_badges(void **state)
{
    (void)state;
    mktask(0);
    mktask(1);
    install(S(0, 0), AL_CAP_ENDPOINT, AL_R_ALL, &ep, 0);

    /* rights are masked, and cannot come back further down */
    assert_int_equal(derive(S(0, 0), S(1, 0), AL_R_SEND | AL_R_GRANT, 0), 0);
    assert_int_equal(S(1, 0)->rights, AL_R_SEND | AL_R_GRANT);
    assert_int_equal(S(1, 0)->type, AL_CAP_ENDPOINT);
    assert_ptr_equal(S(1, 0)->obj, &ep);
    assert_int_equal(derive(S(1, 0), S(1, 1), AL_R_ALL, 0), 0);
    assert_int_equal(S(1, 1)->rights, AL_R_SEND | AL_R_GRANT);
    assert_int_equal(derive(S(1, 1), S(1, 2), AL_R_RECV | AL_R_SEND, 0), 0);
    assert_int_equal(S(1, 2)->rights, AL_R_SEND);
    assert_int_equal(derive(S(1, 2), S(1, 3), AL_R_RECV, 0), 0);
    assert_int_equal(S(1, 3)->rights, 0);
    assert_int_equal(ep.refs, 5);
    assert_int_equal(ep.ref_calls, 5);

    /* an occupied destination: refused, nothing counted, nothing changed */
    assert_int_equal(derive(S(0, 0), S(1, 0), AL_R_ALL, 0), -AL_EEXIST);
    assert_int_equal(S(1, 0)->rights, AL_R_SEND | AL_R_GRANT);
    assert_ptr_equal(S(1, 0)->parent, S(0, 0));
    assert_int_equal(ep.ref_calls, 5);

    /* a badge on an unbadged endpoint capability: the child has it */
    assert_int_equal(derive(S(0, 0), S(1, 10), AL_R_SEND, 0xbad9e), 0);
    assert_int_equal(S(1, 10)->badge, 0xbad9e);
    assert_int_equal(S(0, 0)->badge, 0);
    /* below a badged one: no new badge, the badge is inherited */
    assert_int_equal(derive(S(1, 10), S(1, 11), AL_R_SEND, 0x1234), -AL_EPERM);
    assert_int_equal(S(1, 11)->type, 0);
    assert_int_equal(derive(S(1, 10), S(1, 11), AL_R_ALL, 0), 0);
    assert_int_equal(S(1, 11)->badge, 0xbad9e);
    assert_int_equal(S(1, 11)->rights, AL_R_SEND);
    /* an endpoint installed with a badge counts as badged */
    install(S(0, 20), AL_CAP_ENDPOINT, AL_R_ALL, &ep, 5);
    assert_int_equal(derive(S(0, 20), S(1, 20), AL_R_ALL, 6), -AL_EPERM);
    /* only endpoints take badges */
    install(S(0, 1), AL_CAP_TASK, AL_R_CONTROL, &tasks[5], 0);
    assert_int_equal(derive(S(0, 1), S(1, 21), AL_R_ALL, 1), -AL_EPERM);
    assert_int_equal(derive(S(0, 1), S(1, 21), AL_R_ALL, 0), 0);
    assert_int_equal(tasks[5].refs, 2);

    /* one-shot reply capabilities are never copied, badge or not */
    install(S(0, 2), AL_CAP_REPLY, AL_R_SEND, &rp, 0);
    assert_int_equal(derive(S(0, 2), S(1, 30), AL_R_ALL, 0), -AL_EPERM);
    assert_int_equal(derive(S(0, 2), S(1, 30), AL_R_ALL, 9), -AL_EPERM);
    assert_int_equal(S(1, 30)->type, 0);
    assert_null(S(0, 2)->child);
    assert_int_equal(rp.ref_calls, 1);
    /* what cap_info reports for a derived, badged capability */
    struct al_cap_info info;
    cap_describe(S(1, 11), &info);
    assert_int_equal(info.type, AL_CAP_ENDPOINT);
    assert_int_equal(info.rights, AL_R_SEND);
    assert_int_equal(info.badge, 0xbad9e);

    assert_int_equal(total_refs, nlive);
}

/* sibling lists: children newest first, and deleting the head, a middle
 * or the last child relinks the rest */
static void test_siblings(void **state)
{
    (void)state;
    mktask(0);
    mktask(1);
    struct cap *r = S(0, 0), *a = S(1, 0), *b = S(1, 1), *c = S(0, 1), *d = S(1, 2), *a1 = S(0, 2);
    install(r, AL_CAP_ENDPOINT, AL_R_ALL, &ep, 0);
    derive(r, a, AL_R_ALL, 0);
    derive(r, b, AL_R_ALL, 0);
    derive(r, c, AL_R_ALL, 0);
    derive(r, d, AL_R_ALL, 0);
    derive(a, a1, AL_R_ALL, 0);
    expect_children(r, (struct cap *[]){d, c, b, a}, 4);
    expect_children(a, (struct cap *[]){a1}, 1);
    assert_null(r->parent);

    cap_delete(c); /* middle */
    assert_int_equal(c->type, 0);
    expect_children(r, (struct cap *[]){d, b, a}, 3);
    cap_delete(d); /* head */
    expect_children(r, (struct cap *[]){b, a}, 2);
    cap_delete(a); /* last, with a child: both go */
    assert_int_equal(a1->type, 0);
    expect_children(r, (struct cap *[]){b}, 1);
    assert_int_equal(ep.refs, 2);
    assert_int_equal(ep.rel_calls, 4);
    cap_delete(b);
    expect_children(r, NULL, 0);
    cap_delete(S(0, 100)); /* an empty slot: nothing */
    assert_int_equal(total_releases, 5);
    cap_delete(r);
    assert_int_equal(ep.refs, 0);
    assert_int_equal(ep.ref_calls, 6);
    assert_int_equal(ep.rel_calls, 6);
}

/* delete of a middle node: its subtree goes, its parent and siblings stay */
static void test_delete_middle(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 4; i++)
        mktask(i);
    /* R -> A -> B -> C, R -> X, A -> Y, B -> Z */
    struct cap *R = S(0, 0), *A = S(1, 0), *B = S(2, 0), *C = S(3, 0), *X = S(3, 1), *Y = S(2, 1), *Z = S(0, 1);
    install(R, AL_CAP_ENDPOINT, AL_R_ALL, &ep, 0);
    derive(R, A, AL_R_ALL, 0);
    derive(A, B, AL_R_SEND | AL_R_RECV, 0);
    derive(B, C, AL_R_SEND, 0);
    derive(R, X, AL_R_ALL, 0);
    derive(A, Y, AL_R_ALL, 0);
    derive(B, Z, AL_R_ALL, 0);

    cap_delete(A);
    for (struct cap *const *p = (struct cap *[]){A, B, C, Y, Z, NULL}; *p; p++)
        assert_int_equal((*p)->type, 0);
    assert_int_equal(R->type, AL_CAP_ENDPOINT);
    expect_children(R, (struct cap *[]){X}, 1);
    assert_null(X->child);
    assert_int_equal(ep.refs, 2);
    assert_int_equal(ep.rel_calls, 5);

    /* the freed slots take new capabilities normally */
    assert_int_equal(derive(X, A, AL_R_SEND, 0), 0);
    expect_children(X, (struct cap *[]){A}, 1);
}

/* revoke: every descendant in every task goes, the root stays as it was,
 * an unrelated tree through the same tasks is untouched */
static void test_revoke_across_tasks(void **state)
{
    (void)state;
    enum { T = 16, N = 2000 };
    for (unsigned i = 0; i < T; i++)
        mktask(i);
    install(S(0, 0), AL_CAP_ENDPOINT, AL_R_ALL, &ep, 0);
    install(S(0, 1), AL_CAP_ENDPOINT, AL_R_ALL, &other, 0);
    /* a random tree under each root, interleaved in slots of all tasks */
    static struct cap *nodes[2][N];
    unsigned n[2] = {1, 1};
    nodes[0][0] = S(0, 0);
    nodes[1][0] = S(0, 1);
    uint64_t seed = 12345;
    for (unsigned k = 2; k < 2 * N; k++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        unsigned tree = k & 1, slot = 2 + k / T, task = k % T;
        struct cap *parent = nodes[tree][(seed >> 33) % n[tree]];
        assert_int_equal(derive(parent, S(task, slot), AL_R_ALL, 0), 0);
        nodes[tree][n[tree]++] = S(task, slot);
    }
    assert_int_equal(ep.refs, N);
    assert_int_equal(other.refs, N);
    struct cap saved = *S(0, 0);

    cap_revoke(S(0, 0));
    assert_int_equal(ep.refs, 1);
    assert_int_equal(ep.rel_calls, N - 1);
    for (unsigned i = 1; i < N; i++)
        assert_int_equal(nodes[0][i]->type, 0);
    struct cap *root = S(0, 0);
    assert_int_equal(root->type, AL_CAP_ENDPOINT);
    assert_int_equal(root->rights, saved.rights);
    assert_ptr_equal(root->obj, &ep);
    assert_null(root->child);
    assert_null(root->parent);
    /* the other tree: all there, every link consistent */
    assert_int_equal(other.refs, N);
    for (unsigned i = 1; i < N; i++) {
        struct cap *c = nodes[1][i];
        assert_int_equal(c->type, AL_CAP_ENDPOINT);
        assert_ptr_equal(c->obj, &other);
        assert_non_null(c->parent);
        if (c->prev)
            assert_ptr_equal(c->prev->next, c);
        else
            assert_ptr_equal(c->parent->child, c);
        if (c->next)
            assert_ptr_equal(c->next->prev, c);
    }
    cap_revoke(S(0, 0)); /* nothing left to revoke */
    assert_int_equal(ep.rel_calls, N - 1);
    assert_int_equal(total_releases, N - 1);
}

/* 100,000 derivations deep, across 391 tasks: delete from the middle,
 * revoke from the root, delete the root, each capability released once.
 * cap_revoke is iterative (recursion this deep would need megabytes of
 * kernel stack) and linear: resuming at the root after each leaf, as it
 * once did, made this test take minutes */
static void test_deep_chain(void **state)
{
    (void)state;
    enum { DEPTH = 100000 };
    unsigned ntasks = (DEPTH + AL_CSPACE_SLOTS - 1) / AL_CSPACE_SLOTS;
    for (unsigned i = 0; i < ntasks; i++)
        mktask(i);
    install(S(0, 0), AL_CAP_ENDPOINT, AL_R_ALL, &ep, 0);
    for (unsigned k = 1; k < DEPTH; k++) /* link k in task k % ntasks */
        assert_int_equal(derive(S((k - 1) % ntasks, (k - 1) / ntasks), S(k % ntasks, k / ntasks), AL_R_ALL, 0), 0);
    assert_int_equal(ep.refs, DEPTH);

    /* delete in the middle: the lower half goes */
    unsigned mid = DEPTH / 2;
    cap_delete(S(mid % ntasks, mid / ntasks));
    assert_int_equal(ep.refs, mid);
    assert_int_equal(ep.rel_calls, DEPTH - mid);
    struct cap *above = S((mid - 1) % ntasks, (mid - 1) / ntasks);
    assert_int_equal(above->type, AL_CAP_ENDPOINT);
    assert_null(above->child);
    assert_int_equal(S((DEPTH - 1) % ntasks, (DEPTH - 1) / ntasks)->type, 0);

    /* revoke from the root: all but the root */
    cap_revoke(S(0, 0));
    assert_int_equal(ep.refs, 1);
    assert_int_equal(ep.rel_calls, DEPTH - 1);
    assert_null(S(0, 0)->child);
    assert_int_equal(S(0, 0)->type, AL_CAP_ENDPOINT);
    for (unsigned k = 1; k < DEPTH; k++)
        assert_int_equal(S(k % ntasks, k / ntasks)->type, 0);

    /* and a deep chain goes with its root too */
    for (unsigned k = 1; k < DEPTH; k++)
        derive(S((k - 1) % ntasks, (k - 1) / ntasks), S(k % ntasks, k / ntasks), AL_R_SEND, 0);
    cap_delete(S(0, 0));
    assert_int_equal(ep.refs, 0);
    assert_int_equal(ep.ref_calls, 2 * DEPTH - 1);
    assert_int_equal(ep.rel_calls, 2 * DEPTH - 1);
    assert_int_equal(nlive, 0);
}

/* Releases that delete more capabilities: the only capability to each of
 * tasks 1..11 is held by the next one (a cycle), and a task's last task
 * capability going destroys its cspace. Deleting one destroys them all, in
 * a cascade of cspace_destroy inside releases; the cspaces hold an
 * endpoint chain that also runs through task 0 (which survives). */
static void test_cascade_task_destroy(void **state)
{
    (void)state;
    enum { T = 12, LINKS = 300 };
    for (unsigned i = 0; i < T; i++) {
        mktask(i);
        destroy_on_last[i] = i > 0;
    }
    install(S(0, 0), AL_CAP_ENDPOINT, AL_R_ALL, &ep, 0);
    install(S(0, 1), AL_CAP_ENDPOINT, AL_R_ALL, &keep, 0); /* unrelated */
    assert_int_equal(derive(S(0, 1), S(0, 2), AL_R_SEND, 0), 0);
    /* root -> task 1 -> task 2 -> ... -> task 11 -> task 0 -> task 1 ... */
    struct cap *prev = S(0, 0);
    unsigned used[T] = {[0] = 2};
    for (unsigned k = 0; k < LINKS; k++) {
        unsigned task = (k + 1) % T;
        struct cap *c = S(task, ++used[task]);
        assert_int_equal(derive(prev, c, AL_R_SEND, 0), 0);
        prev = c;
    }
    for (unsigned i = 1; i < T; i++)
        install(S(i % (T - 1) + 1, 200 + i), AL_CAP_TASK, AL_R_CONTROL, &tasks[i], 0);
    assert_int_equal(ep.refs, 1 + LINKS);
    size_t free_before = frame_free_count();

    cap_delete(S(6, 205)); /* the capability to task 5 */
    for (unsigned i = 1; i < T; i++) {
        assert_null(tasks[i].cspace);
        assert_int_equal(tasks[i].refs, 0);
    }
    assert_int_equal(frame_free_count(), free_before + (T - 1) * CSPACE_FRAMES);
    /* the chain's first link was in task 1: all of it went, in task 0 too */
    assert_int_equal(ep.refs, 1);
    assert_int_equal(ep.rel_calls, LINKS);
    assert_null(S(0, 0)->child);
    for (unsigned s = 3; s <= used[0]; s++)
        assert_int_equal(S(0, s)->type, 0);
    assert_int_equal(keep.refs, 2);
    expect_children(S(0, 1), (struct cap *[]){S(0, 2)}, 1);
    assert_int_equal(nlive, 3);
    assert_int_equal(total_releases, LINKS + (T - 1));
}

/* ---- random operations against a model ---- */

enum { MT = 8, MS = 64, MN = MT * MS };
static int mparent[MN]; /* model: -1 root, -2 empty, else the parent */
static int mrights[MN];

static struct cap *mslot(int i)
{
    return S((unsigned)i / MS, (unsigned)i % MS);
}

static void model_delete(int i) /* i and its descendants */
{
    int changed = 1;
    mparent[i] = -3; /* marked */
    while (changed) {
        changed = 0;
        for (int j = 0; j < MN; j++)
            if (mparent[j] >= 0 && mparent[mparent[j]] == -3) {
                mparent[j] = -3;
                changed = 1;
            }
    }
    for (int j = 0; j < MN; j++)
        if (mparent[j] == -3)
            mparent[j] = -2;
}

static void model_compare(const struct fobj *o)
{
    int n = 0, nchildren[MN] = {0};
    for (int j = 0; j < MN; j++)
        if (mparent[j] >= 0)
            nchildren[mparent[j]]++;
    for (int i = 0; i < MN; i++) {
        struct cap *c = mslot(i);
        if (mparent[i] == -2) {
            assert_int_equal(c->type, 0);
            continue;
        }
        n++;
        assert_int_equal(c->type, AL_CAP_ENDPOINT);
        assert_int_equal(c->rights, mrights[i]);
        assert_ptr_equal(c->parent, mparent[i] < 0 ? NULL : mslot(mparent[i]));
        /* the children list: consistent links; each child's parent is c
         * (checked above from the model), so equal counts mean equal sets */
        int nchild = 0;
        for (struct cap *d = c->child, *p = NULL; d; p = d, d = d->next) {
            assert_ptr_equal(d->prev, p);
            assert_ptr_equal(d->parent, c);
            nchild++;
        }
        assert_int_equal(nchild, nchildren[i]);
    }
    assert_int_equal(o->refs, n);
    assert_int_equal(nlive, n);
}

/* 20,000 random installs, derives (with random masks), deletes and revokes
 * over 8 tasks x 64 slots, compared with the model after every step */
static void test_random_against_model(void **state)
{
    (void)state;
    for (unsigned i = 0; i < MT; i++)
        mktask(i);
    for (int i = 0; i < MN; i++)
        mparent[i] = -2;
    uint64_t seed = 0xc0ffee;
    unsigned did[4] = {0};
    for (unsigned op = 0; op < 20000; op++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        int a = (int)(seed % MN), b = (int)((seed >> 20) % MN), kind = (int)((seed >> 40) % 8);
        int mask = (int)((seed >> 50) & AL_R_ALL);
        if (mparent[a] == -2 && kind == 0) {
            install(mslot(a), AL_CAP_ENDPOINT, AL_R_ALL, &ep, 0);
            mparent[a] = -1;
            mrights[a] = AL_R_ALL;
            did[0]++;
        } else if (mparent[a] != -2 && kind < 5) {
            int e = derive(mslot(a), mslot(b), mask, 0);
            if (mparent[b] != -2) {
                assert_int_equal(e, -AL_EEXIST);
            } else {
                assert_int_equal(e, 0);
                mparent[b] = a;
                mrights[b] = mrights[a] & mask;
                did[1]++;
            }
        } else if (mparent[a] != -2 && kind < 7) {
            cap_delete(mslot(a));
            model_delete(a);
            did[2]++;
        } else if (mparent[a] != -2) {
            cap_revoke(mslot(a));
            int keep = mparent[a];
            model_delete(a);
            mparent[a] = keep;
            did[3]++;
        }
        model_compare(&ep);
    }
    for (int k = 0; k < 4; k++)
        assert_true(did[k] > 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cspace_and_slots, setup, teardown),
        cmocka_unit_test_setup_teardown(test_derive_rights_and_badges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_siblings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_middle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke_across_tasks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deep_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cascade_task_destroy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_against_model, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
