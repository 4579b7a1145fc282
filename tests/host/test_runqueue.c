/*
 * tests/host/test_runqueue.c - unit tests for kernel/runqueue.h, the
 * scheduler's per-CPU run queue (256 priorities, FIFO per priority, a
 * two-level bitmap for the O(1) choice of the highest priority).
 *
 * Threads are plain struct thread objects from a static pool; only prio,
 * rq_next and rq_prev matter to the queue. Expectations come from
 * hand-written orders or from an independent model (one array per
 * priority), never from the code under test: bitmap and summary words are
 * recomputed from the model and compared word by word, and every list is
 * walked both ways. rq_check_error (what DEBUG kernels run at every
 * schedule) is checked too, and shown to catch corrupted queues.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/runqueue.h"

#define POOL 512

static struct thread pool[POOL];
static struct runqueue rq;

static int setup(void **state)
{
    (void)state;
    memset(&rq, 0, sizeof rq);
    memset(pool, 0, sizeof pool);
    return 0;
}

/* deterministic xorshift64* */
static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}
static unsigned rnd_below(unsigned n)
{
    return (unsigned)(rnd() % n);
}

static struct thread *th(unsigned i, int prio)
{
    pool[i].prio = prio;
    return &pool[i];
}

/* dequeue what the scheduler would run next: the head of the top priority */
static struct thread *pop(void)
{
    int p = rq_top(&rq);
    if (p < 0)
        return NULL;
    struct thread *t = rq.head[p];
    assert_non_null(t);
    rq_remove(&rq, t);
    assert_null(t->rq_next);
    assert_null(t->rq_prev);
    return t;
}

/* the list at priority p is exactly want[0..n) (forwards and backwards) */
static void expect_list(int p, struct thread *const *want, unsigned n)
{
    struct thread *t = rq.head[p];
    for (unsigned i = 0; i < n; i++, t = t->rq_next) {
        assert_ptr_equal(t, want[i]);
        assert_ptr_equal(t->rq_prev, i ? want[i - 1] : NULL);
    }
    assert_null(t);
    assert_ptr_equal(rq.tail[p], n ? want[n - 1] : NULL);
}

static void test_empty(void **state)
{
    (void)state;
    assert_int_equal(rq_top(&rq), -1);
    assert_int_equal(rq_count(&rq), 0);
    assert_null(rq_check_error(&rq));
    for (int p = 0; p < RQ_PRIOS; p++)
        assert_false(rq_higher_queued(&rq, p));
}

/* FIFO inside one priority, at the extremes 0 and 255 and in between */
static void test_fifo_within_priority(void **state)
{
    (void)state;
    static const int prios[] = {0, 1, 63, 64, 127, 128, 200, 255};
    for (unsigned k = 0; k < sizeof prios / sizeof *prios; k++) {
        int p = prios[k];
        struct thread *want[20];
        for (unsigned i = 0; i < 20; i++) {
            want[i] = th(i, p);
            rq_insert(&rq, want[i]);
            assert_int_equal(rq_count(&rq), i + 1);
            assert_int_equal(rq_top(&rq), p);
        }
        expect_list(p, want, 20);
        assert_null(rq_check_error(&rq));
        for (unsigned i = 0; i < 20; i++)
            assert_ptr_equal(pop(), want[i]);
        assert_null(pop());
        assert_int_equal(rq_count(&rq), 0);
        for (int w = 0; w < 4; w++)
            assert_int_equal(rq.bitmap[w], 0);
        assert_int_equal(rq.summary, 0);
        assert_null(rq.head[p]);
        assert_null(rq.tail[p]);
    }
}

/* rq_insert_head: the thread runs next at its priority; tail inserts
 * still go behind everything */
static void test_insert_head(void **state)
{
    (void)state;
    struct thread *a = th(0, 42), *b = th(1, 42), *c = th(2, 42), *d = th(3, 42);
    rq_insert_head(&rq, a); /* [a] (empty list: head and tail) */
    expect_list(42, (struct thread *[]){a}, 1);
    rq_insert(&rq, b);      /* [a b] */
    rq_insert_head(&rq, c); /* [c a b] */
    rq_insert(&rq, d);      /* [c a b d] */
    expect_list(42, (struct thread *[]){c, a, b, d}, 4);
    assert_int_equal(rq_count(&rq), 4);
    assert_int_equal(rq.bitmap[0], 1ULL << 42);
    assert_int_equal(rq.summary, 1);
    assert_null(rq_check_error(&rq));
    assert_ptr_equal(pop(), c);
    assert_ptr_equal(pop(), a);
    assert_ptr_equal(pop(), b);
    assert_ptr_equal(pop(), d);
    assert_null(pop());
}

/* one thread at every priority, queued in a shuffled order: they come
 * out 255 first, 0 last, and the bitmap words follow exactly */
static void test_highest_first_all_levels(void **state)
{
    (void)state;
    unsigned order[RQ_PRIOS];
    for (unsigned i = 0; i < RQ_PRIOS; i++)
        order[i] = i;
    rng_state = 0x1234567;
    for (unsigned i = RQ_PRIOS - 1; i > 0; i--) {
        unsigned j = rnd_below(i + 1), x = order[i];
        order[i] = order[j];
        order[j] = x;
    }
    for (unsigned i = 0; i < RQ_PRIOS; i++)
        rq_insert(&rq, th(order[i], (int)order[i]));
    assert_int_equal(rq_count(&rq), RQ_PRIOS);
    for (int w = 0; w < 4; w++)
        assert_int_equal(rq.bitmap[w], ~0ULL);
    assert_int_equal(rq.summary, 0xf);
    assert_null(rq_check_error(&rq));

    for (int p = RQ_PRIOS - 1; p >= 0; p--) {
        assert_int_equal(rq_top(&rq), p);
        struct thread *t = pop();
        assert_ptr_equal(t, &pool[p]);
        assert_int_equal(rq_count(&rq), (unsigned)p);
        /* priorities 0..p-1 remain */
        for (int w = 0; w < 4; w++) {
            uint64_t want = p >= 64 * (w + 1) ? ~0ULL : p <= 64 * w ? 0 : (1ULL << (p - 64 * w)) - 1;
            assert_int_equal(rq.bitmap[w], want);
            assert_int_equal(!!(rq.summary & (1ULL << w)), want != 0);
        }
        assert_null(rq_check_error(&rq));
    }
    assert_int_equal(rq_top(&rq), -1);
    assert_int_equal(rq.summary, 0);
}

/* rq_higher_queued(p) for every p, with one thread queued at every q, and
 * with two (q and a lower r): true iff something above p is queued */
static void test_higher_queued_all_pairs(void **state)
{
    (void)state;
    for (int q = 0; q < RQ_PRIOS; q++) {
        struct thread *t = th(0, q);
        rq_insert(&rq, t);
        for (int p = 0; p < RQ_PRIOS; p++)
            if (!!rq_higher_queued(&rq, p) != (q > p))
                fail_msg("one thread at %d: higher_queued(%d) wrong", q, p);
        rq_remove(&rq, t);
    }
    rng_state = 99;
    for (int k = 0; k < 2000; k++) {
        int q = (int)rnd_below(RQ_PRIOS), r = (int)rnd_below(RQ_PRIOS);
        rq_insert(&rq, th(0, q));
        rq_insert(&rq, th(1, r));
        int hi = q > r ? q : r;
        for (int p = 0; p < RQ_PRIOS; p++)
            if (!!rq_higher_queued(&rq, p) != (hi > p))
                fail_msg("threads at %d and %d: higher_queued(%d) wrong", q, r, p);
        rq_remove(&rq, &pool[0]);
        rq_remove(&rq, &pool[1]);
    }
    assert_int_equal(rq_count(&rq), 0);
}

/* removal from the middle, the head and the tail keeps the links, and the
 * bitmap bit (and summary bit) goes only with the last thread */
static void test_remove_positions(void **state)
{
    (void)state;
    struct thread *t[5];
    for (unsigned i = 0; i < 5; i++)
        rq_insert(&rq, t[i] = th(i, 70));
    struct thread *other = th(10, 100); /* same bitmap word (1) */
    rq_insert(&rq, other);

    rq_remove(&rq, t[2]); /* middle */
    expect_list(70, (struct thread *[]){t[0], t[1], t[3], t[4]}, 4);
    rq_remove(&rq, t[0]); /* head */
    expect_list(70, (struct thread *[]){t[1], t[3], t[4]}, 3);
    rq_remove(&rq, t[4]); /* tail */
    expect_list(70, (struct thread *[]){t[1], t[3]}, 2);
    assert_int_equal(rq_count(&rq), 3);
    assert_null(rq_check_error(&rq));
    assert_int_equal(rq.bitmap[1], (1ULL << 6) | (1ULL << 36));

    rq_remove(&rq, t[3]);
    rq_remove(&rq, t[1]); /* the last at 70: bit 6 of word 1 goes */
    expect_list(70, NULL, 0);
    assert_int_equal(rq.bitmap[1], 1ULL << 36);
    assert_int_equal(rq.summary, 1ULL << 1); /* word 1 still has 100 */
    assert_int_equal(rq_top(&rq), 100);
    rq_remove(&rq, other);
    assert_int_equal(rq.bitmap[1], 0);
    assert_int_equal(rq.summary, 0);
    assert_int_equal(rq_count(&rq), 0);
    assert_null(rq_check_error(&rq));
}

/* the yield rotation: the head leaves, the yielding thread joins at the
 * tail, count and bitmap unchanged */
static void test_replace_head(void **state)
{
    (void)state;
    struct thread *a = th(0, 5), *b = th(1, 5), *c = th(2, 5), *x = th(3, 5), *y = th(4, 5);
    rq_insert(&rq, a);
    rq_insert(&rq, b);
    rq_insert(&rq, c);
    rq_insert(&rq, th(5, 200));
    uint64_t bm0 = rq.bitmap[0], bm3 = rq.bitmap[3], sum = rq.summary;

    rq_replace_head(&rq, a, x); /* [a b c] -> [b c x] */
    expect_list(5, (struct thread *[]){b, c, x}, 3);
    assert_null(a->rq_next);
    assert_null(a->rq_prev);
    assert_int_equal(rq_count(&rq), 4);
    assert_null(rq_check_error(&rq));

    rq_replace_head(&rq, b, a); /* [b c x] -> [c x a] */
    expect_list(5, (struct thread *[]){c, x, a}, 3);
    rq_remove(&rq, x);
    rq_remove(&rq, a);          /* [c] */
    rq_replace_head(&rq, c, y); /* a single thread: [c] -> [y] */
    expect_list(5, (struct thread *[]){y}, 1);
    assert_null(c->rq_next);
    assert_null(c->rq_prev);
    assert_int_equal(rq_count(&rq), 2);
    assert_int_equal(rq.bitmap[0], bm0);
    assert_int_equal(rq.bitmap[3], bm3);
    assert_int_equal(rq.summary, sum);
    assert_null(rq_check_error(&rq));
}

/* rq_check_error is not vacuous: each kind of corruption is reported */
static void test_check_error_detects(void **state)
{
    (void)state;
    struct thread *a = th(0, 130), *b = th(1, 130), *c = th(2, 131);
    rq_insert(&rq, a);
    rq_insert(&rq, b);
    rq_insert(&rq, c);
    assert_null(rq_check_error(&rq));

    rq.bitmap[2] &= ~(1ULL << 2); /* bit of 130 */
    assert_non_null(rq_check_error(&rq));
    rq.bitmap[2] |= 1ULL << 2;

    rq.summary &= ~(1ULL << 2);
    assert_non_null(rq_check_error(&rq));
    rq.summary |= 1ULL << 2;

    rq.summary |= 1ULL << 5; /* beyond the 4 words */
    assert_non_null(rq_check_error(&rq));
    rq.summary &= ~(1ULL << 5);

    rq.nr++;
    assert_non_null(rq_check_error(&rq));
    rq.nr -= 2;
    assert_non_null(rq_check_error(&rq));
    rq.nr++;

    b->rq_prev = NULL;
    assert_non_null(rq_check_error(&rq));
    b->rq_prev = a;

    rq.tail[130] = a;
    assert_non_null(rq_check_error(&rq));
    rq.tail[130] = b;

    b->rq_next = a; /* a cycle: reported, not followed forever */
    assert_non_null(rq_check_error(&rq));
    b->rq_next = NULL;

    c->prio = 7; /* changed while queued */
    assert_non_null(rq_check_error(&rq));
    c->prio = 131;

    assert_null(rq_check_error(&rq));
}

/* ---- random operations against a model ---- */

static unsigned model[RQ_PRIOS][POOL]; /* pool indices, head first */
static unsigned model_len[RQ_PRIOS];
static int queued[POOL];
static struct thread stale; /* what a not-queued thread's links point to */

static void model_remove(int p, unsigned pos)
{
    memmove(&model[p][pos], &model[p][pos + 1], (model_len[p] - pos - 1) * sizeof model[p][0]);
    model_len[p]--;
}

static unsigned model_find(int p, unsigned idx)
{
    for (unsigned i = 0; i < model_len[p]; i++)
        if (model[p][i] == idx)
            return i;
    fail_msg("thread %u not in the model at %d", idx, p);
    return 0;
}

static int model_top(void)
{
    for (int p = RQ_PRIOS - 1; p >= 0; p--)
        if (model_len[p])
            return p;
    return -1;
}

/* rq equals the model: every list both ways, bitmap, summary, count */
static void compare_full(void)
{
    uint64_t bm[4] = {0}, sum = 0;
    unsigned n = 0;
    for (int p = 0; p < RQ_PRIOS; p++) {
        struct thread *prev = NULL, *t = rq.head[p];
        for (unsigned i = 0; i < model_len[p]; i++, prev = t, t = t->rq_next) {
            assert_ptr_equal(t, &pool[model[p][i]]);
            assert_ptr_equal(t->rq_prev, prev);
        }
        assert_null(t);
        assert_ptr_equal(rq.tail[p], prev);
        if (model_len[p]) {
            bm[p / 64] |= 1ULL << (p % 64);
            sum |= 1ULL << (p / 64);
        }
        n += model_len[p];
    }
    for (int w = 0; w < 4; w++)
        assert_int_equal(rq.bitmap[w], bm[w]);
    assert_int_equal(rq.summary, sum);
    assert_int_equal(rq_count(&rq), n);
    assert_null(rq_check_error(&rq));
}

/* 100,000 random inserts (tail and head), removals (anywhere), picks and
 * yield rotations over 512 threads, with priorities drawn both from a few
 * crowded levels and from all 256 (changed only while not queued) */
static void test_random_against_model(void **state)
{
    (void)state;
    memset(model_len, 0, sizeof model_len);
    memset(queued, 0, sizeof queued);
    rng_state = 0x9e3779b97f4a7c15ULL;
    for (unsigned i = 0; i < POOL; i++)
        pool[i].prio = (int)rnd_below(RQ_PRIOS);
    unsigned counts[5] = {0};

    for (unsigned op = 0; op < 100000; op++) {
        unsigned idx = rnd_below(POOL);
        struct thread *t = &pool[idx];
        unsigned kind = rnd_below(5);
        if (!queued[idx]) {
            /* new priority: crowded levels (0, 63, 64, 255) half the time */
            if (rnd_below(4) == 0) {
                static const int crowded[] = {0, 63, 64, 255};
                t->prio = rnd_below(2) ? crowded[rnd_below(4)] : (int)rnd_below(RQ_PRIOS);
            }
            int p = t->prio;
            /* links left over from before must not matter */
            t->rq_next = t->rq_prev = &stale;
            if (kind == 0 && model_len[p]) {
                /* yield rotation: the head of p leaves, t joins the tail */
                unsigned h = model[p][0];
                rq_replace_head(&rq, rq.head[p], t);
                assert_null(pool[h].rq_next);
                assert_null(pool[h].rq_prev);
                model_remove(p, 0);
                model[p][model_len[p]++] = idx;
                queued[h] = 0;
                queued[idx] = 1;
                counts[0]++;
            } else if (kind == 1) {
                rq_insert_head(&rq, t);
                memmove(&model[p][1], &model[p][0], model_len[p] * sizeof model[p][0]);
                model[p][0] = idx;
                model_len[p]++;
                queued[idx] = 1;
                counts[1]++;
            } else {
                rq_insert(&rq, t);
                model[p][model_len[p]++] = idx;
                queued[idx] = 1;
                counts[2]++;
            }
        } else if (kind < 2) {
            /* the scheduler's pick: the head of the top priority */
            int p = model_top();
            assert_int_equal(rq_top(&rq), p);
            struct thread *got = pop();
            assert_ptr_equal(got, &pool[model[p][0]]);
            queued[model[p][0]] = 0;
            model_remove(p, 0);
            counts[3]++;
        } else {
            int p = t->prio;
            rq_remove(&rq, t);
            assert_null(t->rq_next);
            assert_null(t->rq_prev);
            model_remove(p, model_find(p, idx));
            queued[idx] = 0;
            counts[4]++;
        }
        /* cheap checks every step, the whole structure every 16 */
        int top = model_top();
        assert_int_equal(rq_top(&rq), top);
        int p = (int)rnd_below(RQ_PRIOS);
        assert_int_equal(!!rq_higher_queued(&rq, p), top > p);
        if (op % 16 == 0)
            compare_full();
    }
    compare_full();
    for (unsigned k = 0; k < 5; k++)
        assert_true(counts[k] > 1000); /* every operation was exercised */
    /* drain: strictly by priority, FIFO inside one */
    while (rq_count(&rq)) {
        int p = model_top();
        assert_ptr_equal(pop(), &pool[model[p][0]]);
        model_remove(p, 0);
    }
    compare_full();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_empty, setup),
        cmocka_unit_test_setup(test_fifo_within_priority, setup),
        cmocka_unit_test_setup(test_insert_head, setup),
        cmocka_unit_test_setup(test_highest_first_all_levels, setup),
        cmocka_unit_test_setup(test_higher_queued_all_pairs, setup),
        cmocka_unit_test_setup(test_remove_positions, setup),
        cmocka_unit_test_setup(test_replace_head, setup),
        cmocka_unit_test_setup(test_check_error_detects, setup),
        cmocka_unit_test_setup(test_random_against_model, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
