/*
 * The thread switch, inline for the two fast paths (yield, IPC) and the
 * scheduler. Caller: BKL held, interrupts off; prev is the current thread
 * and has already been given its new state; next is not on a run queue.
 */
#ifndef KERNEL_SWITCH_H
#define KERNEL_SWITCH_H
#include "kernel/thread.h"
#include "kernel/task.h"
#include "kernel/cpu.h"
#include "kernel/bkl.h"
#include <arch/fpu.h>
#include <arch/context.h>
#include <arch/percpu.h>

void sched_switch_tail(void);

static inline void switch_finish_to(struct cpu *c, struct thread *prev, struct thread *next, int user)
{
    assert_kernel_locked();
#ifdef DEBUG
    /* every CPU a thread runs on is in its task's tlb_cpus (section 10.6) */
    assert(!next->task || (next->task->tlb_cpus >> c->index) & 1);
#endif
    arch_set_entry_thread(next->kstack_top, next->cr3);
    c->current = next;
    next->switches++;
    next->state = T_RUNNING;
    next->cpu = c->index;
    if (user || next->utcb_va)
        arch_set_tls_base(next->utcb_va); /* the UTCB at %fs:0 */
    switch_context(&prev->ksp, next->ksp);
    if (this_cpu()->switch_work)
        sched_switch_tail();
}

/* general switch: either side may be a kernel thread, prev may be dead */
static inline void switch_to(struct thread *prev, struct thread *next)
{
    struct cpu *c = this_cpu();
    fpu_switch(prev->task && prev->state != T_DEAD ? prev->fpu : NULL, next->task ? next->fpu : NULL);
    if (prev->state == T_DEAD) {
        c->reap = prev;
        c->switch_work |= SWITCH_REAP;
    }
    switch_finish_to(c, prev, next, 0);
}

/* user thread to user thread, prev alive: the fast paths */
static inline void switch_user(struct cpu *c, struct thread *prev, struct thread *next)
{
    fpu_switch_both(prev->fpu, next->fpu);
    switch_finish_to(c, prev, next, 1);
}
/* IPC fast path: prev (a user thread) is blocked, next (a user thread,
 * blocked until now, allowed on this CPU, and nothing is queued here) runs
 * at once, without touching the run queue */
static inline void sched_switch_direct(struct cpu *c, struct thread *prev, struct thread *next)
{
    if (next->cpu != c->index) {
        next->migrations++;
        task_placed(next->task, c->index);
    }
    switch_user(c, prev, next);
}
#endif
