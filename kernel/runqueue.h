/*
 * The per-CPU run queue: one FIFO list per priority (0..255, higher runs
 * first) and a two-level bitmap of the non-empty lists, so the highest
 * queued priority is found with two bit scans and no loop.
 *
 * Pure queue logic, no policy: which CPU a thread goes to, time slices,
 * preemption and thread states are kernel/sched.c's. A queued thread is
 * linked through t->rq_next / t->rq_prev at priority t->prio; its priority
 * must not change while it is queued. The functions are static inline:
 * the scheduler's fast path (yield) compiles to the same instructions as
 * when this code was written in kernel/sched.c (make bench; sched.c keeps
 * insert and remove out of line where they were). Host-tested:
 * tests/host/test_runqueue.c.
 *
 * Invariants (rq_check_error checks them all):
 * - head[p] == NULL iff tail[p] == NULL iff bit p of bitmap is clear;
 * - summary bit w is set iff bitmap[w] != 0 (and no other bit is set);
 * - each list is doubly linked head..tail and its threads have prio p;
 * - nr is the number of queued threads.
 *
 * Locking: the BKL (the queues of all CPUs are protected by it).
 */
#ifndef KERNEL_RUNQUEUE_H
#define KERNEL_RUNQUEUE_H
#include <stdint.h>
#include "kernel/thread.h"

#define RQ_PRIOS 256

struct runqueue {
    uint64_t bitmap[4];
    uint64_t summary; /* bit w: bitmap[w] is not zero */
    struct thread *head[RQ_PRIOS], *tail[RQ_PRIOS];
    unsigned nr;
};

/* queue t (not queued) at the tail of its priority */
static inline void rq_insert(struct runqueue *rq, struct thread *t)
{
    int p = t->prio;
    t->rq_next = NULL;
    t->rq_prev = rq->tail[p];
    if (rq->tail[p])
        rq->tail[p]->rq_next = t;
    else
        rq->head[p] = t;
    rq->tail[p] = t;
    rq->bitmap[p >> 6] |= 1ULL << (p & 63);
    rq->summary |= 1ULL << (p >> 6);
    rq->nr++;
}

/* queue t (not queued) at the head of its priority: it runs next there */
static inline void rq_insert_head(struct runqueue *rq, struct thread *t)
{
    int p = t->prio;
    t->rq_prev = NULL;
    t->rq_next = rq->head[p];
    if (rq->head[p])
        rq->head[p]->rq_prev = t;
    else
        rq->tail[p] = t;
    rq->head[p] = t;
    rq->bitmap[p >> 6] |= 1ULL << (p & 63);
    rq->summary |= 1ULL << (p >> 6);
    rq->nr++;
}

/* take t (queued on rq) off it, wherever it is in its list */
static inline void rq_remove(struct runqueue *rq, struct thread *t)
{
    int p = t->prio;
    if (t->rq_prev)
        t->rq_prev->rq_next = t->rq_next;
    else
        rq->head[p] = t->rq_next;
    if (t->rq_next)
        t->rq_next->rq_prev = t->rq_prev;
    else
        rq->tail[p] = t->rq_prev;
    if (!rq->head[p]) {
        rq->bitmap[p >> 6] &= ~(1ULL << (p & 63));
        if (!rq->bitmap[p >> 6])
            rq->summary &= ~(1ULL << (p >> 6));
    }
    t->rq_next = t->rq_prev = NULL;
    rq->nr--;
}

/* highest queued priority, -1 if empty: two bsr, no loop (the next
 * thread to run is head[rq_top(rq)]) */
static inline int rq_top(const struct runqueue *rq)
{
    if (!rq->summary)
        return -1;
    int w = 63 - __builtin_clzll(rq->summary);
    return w * 64 + 63 - __builtin_clzll(rq->bitmap[w]);
}

/* is anything of priority above p (0..255) queued? (1: yes, 0: no) */
static inline int rq_higher_queued(const struct runqueue *rq, int p)
{
    unsigned w = (unsigned)p >> 6, b = (unsigned)p & 63;
    /* two shifts: b + 1 may be 64. A 64-bit test: returned as an int
     * without it, bits 32..63 of the shifted word were cut off, and a
     * thread 33..63 levels above p (same word) went unseen */
    return (((rq->bitmap[w] >> b) >> 1) | (rq->summary >> w >> 1)) != 0;
}

/* number of queued threads */
static inline unsigned rq_count(const struct runqueue *rq)
{
    return rq->nr;
}

/* The yield rotation: next, the head of priority p = prev->prio, leaves
 * the queue and prev (not queued, same priority) joins at the tail. The
 * count and the bitmap do not change. always_inline: inlined before GCC
 * estimates branch probabilities, so sched_yield is laid out as if this
 * were written in place (a call still there then is predicted unlikely,
 * which moved the fast path and cost it an instruction) */
static inline __attribute__((always_inline)) void rq_replace_head(struct runqueue *rq, struct thread *next,
                                                                  struct thread *prev)
{
    int p = prev->prio;
    struct thread *after = next->rq_next;
    rq->head[p] = after;
    if (after)
        after->rq_prev = NULL;
    prev->rq_next = NULL;
    prev->rq_prev = after ? rq->tail[p] : NULL;
    if (after)
        rq->tail[p]->rq_next = prev;
    else
        rq->head[p] = prev;
    rq->tail[p] = prev;
    next->rq_next = next->rq_prev = NULL;
}

/* NULL if rq satisfies every invariant above, else which one it breaks
 * (DEBUG builds check this at every schedule; also the host tests). Lists
 * are walked at most nr + 1 steps, so a cycle is reported, not followed. */
static inline const char *rq_check_error(const struct runqueue *rq)
{
    unsigned n = 0;
    for (int p = 0; p < RQ_PRIOS; p++) {
        int bit = !!(rq->bitmap[p >> 6] & (1ULL << (p & 63)));
        if ((rq->head[p] != NULL) != bit)
            return "bitmap bit differs from the list's emptiness";
        if ((rq->tail[p] != NULL) != bit)
            return "tail differs from the list's emptiness";
        const struct thread *prev = NULL;
        for (const struct thread *t = rq->head[p]; t; prev = t, t = t->rq_next) {
            if (t->prio != p)
                return "thread queued at another priority than its own";
            if (t->rq_prev != prev)
                return "rq_prev does not point to the previous thread";
            if (++n > rq->nr)
                return "more threads in the lists than nr (or a cycle)";
        }
        if (prev != rq->tail[p])
            return "tail is not the last thread of the list";
    }
    for (int w = 0; w < 4; w++)
        if (!!rq->bitmap[w] != !!(rq->summary & (1ULL << w)))
            return "summary bit differs from its bitmap word";
    if (rq->summary >> 4)
        return "summary has bits beyond the bitmap";
    if (n != rq->nr)
        return "fewer threads in the lists than nr";
    return NULL;
}
#endif
