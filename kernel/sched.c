/*
 * The scheduler: per-CPU run queues with 256 priorities (higher first),
 * round-robin with a time slice inside a priority, strict preemption by a
 * higher priority (on another CPU through a reschedule IPI), O(1) choice of
 * the next thread through a 256-bit priority bitmap, idle CPUs stealing
 * unpinned work, and a sleep list served by the timer tick.
 *
 * Locking: everything here runs with the BKL held and interrupts disabled.
 * The BKL is what makes migration safe: a thread switched out on CPU A
 * cannot be picked by CPU B before A has finished switch_context, because B
 * needs the BKL that A keeps until the next thread leaves the kernel.
 */
#include "kernel/thread.h"
#include "kernel/vcpu.h"
#include "kernel/upcall.h"
#include "kernel/task.h"
#include "kernel/cpu.h"
#include "kernel/runqueue.h"
#include "kernel/panic.h"
#include "kernel/console.h"
#include "kernel/irqobj.h"
#include <arch/fpu.h>
#include <arch/timer.h>
#include <arch/smp.h>
#include <arch/paging.h>
#include <arch/cpu.h>
#include "kernel/bkl.h"
#include "kernel/ipc.h"
#include "kernel/switch.h"
#include "kernel/ioport.h"

void thread_release_stack(struct thread *t);

static struct thread *sleepers; /* sorted by wake_at */

static inline struct runqueue *rq_of(unsigned cpu)
{
    return &cpus[cpu].rq;
}

/* kernel/runqueue.h's insert and remove, out of line (but for
 * sched_dequeue): inlined at every call site they grow schedule() and
 * sched_enqueue(), and through the register allocation that costs the
 * yield fast path an instruction (make bench) */
static __attribute__((noinline)) void rq_add(struct runqueue *rq, struct thread *t)
{
    rq_insert(rq, t);
}

static __attribute__((noinline)) void rq_del(struct runqueue *rq, struct thread *t)
{
    rq_remove(rq, t);
}

void sched_kick(unsigned cpu)
{
    if (cpu == this_entry()->cpu_index)
        this_entry()->pending |= PENDING_RESCHED;
    else
        arch_send_resched(cpu);
}

static int running_prio(unsigned cpu)
{
    struct thread *c = cpus[cpu].current;
    return c ? c->prio : -1;
}

/* where an unpinned thread should go: its last CPU, unless another CPU
 * would run it sooner (idle, or running something of lower priority) */
static unsigned place(struct thread *t)
{
    if (t->affinity >= 0)
        return (unsigned)t->affinity;
    unsigned best = t->cpu < ncpus ? t->cpu : 0;
    if (running_prio(best) < t->prio && rq_top(rq_of(best)) < t->prio)
        return best;
    for (unsigned i = 0; i < ncpus; i++)
        if (cpus[i].online && running_prio(i) < 0 && !rq_count(rq_of(i)))
            return i;
    for (unsigned i = 0; i < ncpus; i++)
        if (cpus[i].online && running_prio(i) < t->prio && rq_top(rq_of(i)) < t->prio)
            return i;
    return best;
}

void sched_enqueue(struct thread *t)
{
    assert_kernel_locked();
    assert(t->state != T_RUNNABLE && t->state != T_DEAD && t->state != T_RUNNING);
    if (t->suspended) {
        t->state = T_SUSPENDED;
        return;
    }
    unsigned cpu = place(t);
    if (cpu != t->cpu) {
        t->migrations++;
        task_placed(t->task, cpu); /* (t->cpu's bit is in already) */
    }
    t->cpu = cpu;
    t->state = T_RUNNABLE;
    rq_add(rq_of(cpu), t);
    if (t->prio > running_prio(cpu))
        sched_kick(cpu);
}

void sched_dequeue(struct thread *t)
{
    assert(t->state == T_RUNNABLE);
    rq_remove(rq_of(t->cpu), t);
    t->state = T_BLOCKED;
}

/* an idle CPU takes the best unpinned runnable thread of another CPU */
static struct thread *steal(unsigned self)
{
    struct thread *best = NULL;
    for (unsigned i = 0; i < ncpus; i++) {
        if (i == self)
            continue;
        struct runqueue *rq = rq_of(i);
        for (int p = rq_top(rq); p >= 0 && (!best || p > best->prio); p--)
            for (struct thread *t = rq->head[p]; t; t = t->rq_next)
                if (t->affinity < 0) {
                    best = t;
                    break;
                }
    }
    if (best) {
        rq_del(rq_of(best->cpu), best);
        best->cpu = self;
        task_placed(best->task, self);
        best->migrations++;
    }
    return best;
}

static struct thread *pick(unsigned self, int may_steal)
{
    struct runqueue *rq = rq_of(self);
    int p = rq_top(rq);
    if (p >= 0) {
        struct thread *t = rq->head[p];
        rq_del(rq, t);
        return t;
    }
    return may_steal ? steal(self) : NULL;
}

/* the rare work after a switch: a dead thread to reap, a killed thread
 * switched in (it ends here, on its own stack, where it was blocked or
 * preempted: thread_kill made sure nothing there still needs it) */
static __attribute__((noinline)) void switch_tail_slow(struct cpu *c)
{
    struct thread *r = c->reap;
    if (r) {
        c->reap = NULL;
        c->switch_work &= ~(uint64_t)SWITCH_REAP;
        thread_release_stack(r);
        /* the last thread of a task nobody holds a capability to */
        if (r->task && r->task->orphan && !r->task->live_threads && !r->task->waiter)
            task_destroy(r->task);
    }
    if (c->switch_work & SWITCH_UPCALL)
        vcpu_switch_tail();
    if (c->switch_work & SWITCH_DIRECT)
        vcpu_direct_sync();
    if (c->switch_work & SWITCH_KILL)
        thread_kill_point();
}

/* (the common case, a switch with nothing to do here or only the I/O
 * bitmap, stays as short as before the slow part existed) */
__attribute__((noinline)) void sched_switch_tail(void)
{
    struct cpu *c = this_cpu();
    if (c->switch_work & SWITCH_PORTS)
        ioport_switch(c);
    if (c->switch_work & (SWITCH_REAP | SWITCH_KILL | SWITCH_UPCALL | SWITCH_DIRECT))
        switch_tail_slow(c);
}

#ifdef DEBUG
/* DEBUG builds: the run queue's lists, bitmap, summary and count agree
 * (kernel/runqueue.h), and every queued thread is runnable */
static void rq_check(const struct runqueue *rq)
{
    const char *err = rq_check_error(rq);
    if (err)
        panic("run queue of CPU %u: %s", this_cpu()->index, err);
    for (int p = 0; p < RQ_PRIOS; p++)
        for (struct thread *t = rq->head[p]; t; t = t->rq_next)
            assert(t->state == T_RUNNABLE);
}
#endif

void schedule(void)
{
    assert_kernel_locked();
#ifdef DEBUG
    rq_check(&this_cpu()->rq);
#endif
    struct cpu *c = this_cpu();
    struct thread *prev = c->current;
    c->entry->pending &= ~(uint64_t)PENDING_RESCHED;
    if (prev->state == T_RUNNING && prev->suspended && prev != c->idle) {
        thread_kill_point(); /* a running thread that was killed ends here */
        prev->state = T_SUSPENDED;
    }
    int prev_runs = prev->state == T_RUNNING && prev != c->idle;
    int must_leave = prev_runs && prev->affinity >= 0 && (unsigned)prev->affinity != c->index;
    struct thread *next = pick(c->index, !prev_runs || must_leave);
    if (prev_runs && !must_leave) {
        if (!next)
            return;                    /* nothing else to run */
        if (next->prio < prev->prio) { /* prev still outranks the queue */
            rq_insert_head(rq_of(c->index), next);
            return;
        }
        prev->state = T_RUNNABLE; /* round robin, or preempted */
        prev->slice = SLICE_TICKS;
        rq_add(rq_of(c->index), prev);
    } else if (must_leave) {
        prev->state = T_BLOCKED; /* affinity moved it elsewhere */
        sched_enqueue(prev);
    }
    if (!next) {
        if (prev == c->idle)
            return;
        next = c->idle;
    }
    switch_to(prev, next);
}

/* Yield: the common case (an equal-priority thread is queued here and
 * nothing better) rotates the queue in place and switches directly. */
long sched_yield(void)
{
    struct cpu *c = this_cpu();
    struct thread *prev = c->current;
    struct runqueue *rq = &c->rq;
    int p = prev->prio;
    struct thread *next = rq->head[p]; /* (only user threads yield: p >= 0) */
    /* (a suspension or affinity change of a running thread always sets
     * PENDING_RESCHED, so those take the general path too) */
    if (!next || (arch_pending() & PENDING_RESCHED) || rq_higher_queued(rq, p)) {
        schedule();
        return 0;
    }
    /* next leaves the head, prev goes to the tail: nr and bitmap unchanged */
    rq_replace_head(rq, next, prev);
    prev->state = T_RUNNABLE;
    prev->slice = SLICE_TICKS;
    if (next->task)
        switch_user(c, prev, next);
    else
        switch_to(prev, next);
    return 0;
}

_Static_assert(TIMER_HZ == AL_TICK_HZ, "the ABI's tick is the scheduler's");

void sched_tick(void)
{
    struct cpu *c = this_cpu();
    c->ticks++;
    /* CPU time is sampled: the running thread is charged the whole tick
     * (cheaper than reading the TSC at every switch) */
    c->current->cpu_ns += 1000000000ULL / TIMER_HZ;
    /* the boot CPU serves the sleep list and the IRQ storm throttle */
    if (c->index == 0) {
        irqobj_tick();
        uint64_t now = clock_ns();
        while (sleepers && sleepers->wake_at <= now) {
            struct thread *t = sleepers;
            sleepers = t->wait_next;
            t->wait_next = NULL;
            t->sleeping = 0;
            if (t->ipc_state)
                ipc_timeout(t); /* dequeues it and sets -AL_ETIMEDOUT */
            sched_enqueue(t);
        }
    }
    struct thread *cur = c->current;
    if (cur == c->idle) {
        if (rq_count(rq_of(c->index)))
            c->entry->pending |= PENDING_RESCHED;
        return;
    }
    if (--cur->slice <= 0) {
        cur->slice = SLICE_TICKS;
        if (rq_top(rq_of(c->index)) >= cur->prio)
            c->entry->pending |= PENDING_RESCHED;
    }
}

void sched_sleep_add(struct thread *t, uint64_t ns)
{
    t->wake_at = ns;
    struct thread **p = &sleepers;
    while (*p && (*p)->wake_at <= ns)
        p = &(*p)->wait_next;
    t->wait_next = *p;
    *p = t;
    t->sleeping = 1;
}

void sched_sleep_cancel(struct thread *t)
{
    if (!t->sleeping)
        return;
    for (struct thread **p = &sleepers; *p; p = &(*p)->wait_next)
        if (*p == t) {
            *p = t->wait_next;
            break;
        }
    t->wait_next = NULL;
    t->sleeping = 0;
}

void sched_sleep_until(uint64_t ns)
{
    struct thread *self = current();
    if (self->killed)
        return; /* killed while it ran: it ends on its way out instead */
    if (vcpu_owed(self))
        return; /* an upcall came meanwhile: it is entered instead (sleep returns -AL_EINTR) */
    sched_sleep_add(self, ns);
    self->state = T_BLOCKED;
    schedule();
}

void sched_set_prio(struct thread *t, int prio)
{
    if (t->state == T_RUNNABLE) {
        rq_del(rq_of(t->cpu), t);
        t->prio = prio;
        t->state = T_BLOCKED;
        sched_enqueue(t);
    } else {
        t->prio = prio;
        if (t->state == T_RUNNING && t == current())
            this_entry()->pending |= PENDING_RESCHED; /* maybe no longer the best */
    }
}

void sched_set_affinity(struct thread *t, int cpu)
{
    t->affinity = cpu;
    if (cpu < 0 || (unsigned)cpu == t->cpu)
        return;
    if (t->state == T_RUNNABLE) {
        rq_del(rq_of(t->cpu), t);
        t->state = T_BLOCKED;
        sched_enqueue(t);
    } else if (t->state == T_RUNNING) {
        if (t == current())
            schedule(); /* leaves this CPU now */
        else
            sched_kick(t->cpu); /* leaves at its next reschedule */
    }
}

/* Each CPU's idle thread: schedule, and halt with the BKL dropped when
 * there is nothing to run. Interrupts wake it; their handlers take the BKL
 * themselves. */
void sched_idle_loop(void *arg)
{
    (void)arg;
    for (;;) {
        schedule();
        bkl_unlock();
        __asm__ volatile("sti; hlt; cli" ::: "memory");
        bkl_lock();
    }
}
