/*
 * Thread, scheduling, time and CPU system calls. These name the caller's
 * own threads by thread id (0 = the caller); threads of any task are
 * reached through thread capabilities (thread_control here, thread_cap in
 * kernel/sys_task.c). Every argument
 * is checked; see docs/ABI.md for the errors.
 * BKL held, interrupts disabled.
 */
#include "kernel/syscall.h"
#include "kernel/thread.h"
#include "kernel/task.h"
#include "kernel/cpu.h"
#include "kernel/usercopy.h"
#include "kernel/nospec.h"
#include "kernel/cap.h"
#include "kernel/fault.h"
#include "abi/airlock/errno.h"
#include "abi/airlock/layout.h"
#include <arch/timer.h>
#include <arch/smp.h>
#include "lib/string.h"
#include "kernel/audit.h"
#include "kernel/panic.h"

static struct thread *lookup(uint64_t tid)
{
    struct thread *self = current();
    if (tid == 0 || tid == self->id)
        return self;
    if (tid > 0xffffffffULL)
        return NULL;
    struct thread *t = thread_by_id(self->task, (unsigned)tid);
    return t && t->state != T_DEAD ? t : NULL;
}

static int prio_ok(uint64_t prio, long *err)
{
    if ((int64_t)prio < 0 || prio > PRIO_MAX)
        return *err = -AL_EINVAL, 0;
    if ((int)prio > current()->task->max_prio)
        return *err = -AL_EPERM, 0;
    return 1;
}

static int cpu_ok(uint64_t cpu)
{
    return (int64_t)cpu == -1 || (cpu < ncpus && cpus[array_index_nospec(cpu, ncpus)].online);
}

static int state_abi(enum thread_state s)
{
    switch (s) {
    case T_NEW:
        return AL_TS_NEW;
    case T_RUNNABLE:
        return AL_TS_RUNNABLE;
    case T_RUNNING:
        return AL_TS_RUNNING;
    case T_BLOCKED:
        return AL_TS_BLOCKED;
    case T_SUSPENDED:
        return AL_TS_SUSPENDED;
    default:
        return AL_TS_DEAD;
    }
}

/* The operations on a live thread t that both the thread-id calls and
 * thread_control offer, with every argument check in one place (the
 * caller has found t and checked that it may name it). */
static long thread_op(struct thread *t, uint64_t op, uint64_t arg)
{
    long err = 0;
    switch (op) {
    case AL_TC_STATE:
        return state_abi(t->state);
    case AL_TC_SUSPEND:
        thread_suspend(t);
        return 0;
    case AL_TC_RESUME:
        thread_resume(t);
        return 0;
    case AL_TC_SET_PRIO:
        if (!prio_ok(arg, &err))
            return err;
        sched_set_prio(t, (int)arg);
        return 0;
    case AL_TC_SET_AFFINITY:
        if (!cpu_ok(arg))
            return -AL_EINVAL;
        sched_set_affinity(t, (int)(int64_t)arg);
        return 0;
    case AL_TC_SET_HANDLER:
        return fault_set_handler(t, (int64_t)arg);
    default:
        return -AL_EINVAL;
    }
}

/* Checks and creation shared by thread_create and thread_create_in: a
 * started thread of task t (entry, stack, RDI = arg) with priority prio
 * (limited by the caller's task) on CPU cpu (-1: any). */
long thread_spawn_checked(struct task *t, uint64_t entry, uint64_t stack, uint64_t arg, uint64_t prio, uint64_t cpu)
{
    long err = 0;
    if (entry < AL_USER_LO || entry >= AL_USER_HI || stack <= AL_USER_LO || stack > AL_USER_HI)
        return -AL_EFAULT;
    if (!prio_ok(prio, &err))
        return err;
    if (!cpu_ok(cpu))
        return -AL_EINVAL;
    if (t->nthreads >= AL_THREADS_MAX)
        return -AL_ENOMEM;
    /* the airlock invariant, checked on every space before it first runs */
    if (!t->main && audit_user_space(t->pml4, t->name))
        panic("audit failed for task %u (%s)", t->id, t->name);
    struct thread *th = thread_create_user(t, entry, stack, arg, 0, &err);
    if (!th)
        return err;
    th->prio = (int)prio;
    th->affinity = (int)(int64_t)cpu;
    th->cpu = th->affinity >= 0 ? (unsigned)th->affinity : current()->cpu;
    task_placed(t, th->cpu);
    thread_start(th);
    return th->id;
}

SYSCALL_DEFINE(thread_create)
{
    return thread_spawn_checked(current()->task, a0, a1, a2, a3, a4);
}

SYSCALL_DEFINE(thread_join)
{
    struct thread *self = current();
    if (a0 == 0 || a0 == self->id || a0 > 0xffffffffULL)
        return -AL_EINVAL;
    struct thread *t = thread_by_id(self->task, (unsigned)a0);
    if (!t)
        return -AL_ESRCH;
    if (t->joiner)
        return -AL_EBUSY;
    if (a1 && !user_range_ok(a1, sizeof(long)))
        return -AL_EFAULT;
    long status;
    enum thread_end e = thread_join(t, &status);
    if (a1 && copy_to_user(self->task, a1, &status, sizeof status))
        return -AL_EFAULT;
    return thread_end_abi(e);
}

/* thread_suspend(tid), thread_resume, thread_set_prio(tid, prio),
 * thread_set_affinity(tid, cpu), thread_set_handler(tid, slot): one of our
 * own task's threads by id, then thread_op */
SYSCALL_DEFINE(thread_suspend)
{
    struct thread *t = lookup(a0);
    return t ? thread_op(t, AL_TC_SUSPEND, 0) : -AL_ESRCH;
}

SYSCALL_DEFINE(thread_resume)
{
    struct thread *t = lookup(a0);
    return t ? thread_op(t, AL_TC_RESUME, 0) : -AL_ESRCH;
}

SYSCALL_DEFINE(thread_set_prio)
{
    struct thread *t = lookup(a0);
    return t ? thread_op(t, AL_TC_SET_PRIO, a1) : -AL_ESRCH;
}

SYSCALL_DEFINE(thread_set_affinity)
{
    struct thread *t = lookup(a0);
    return t ? thread_op(t, AL_TC_SET_AFFINITY, a1) : -AL_ESRCH;
}

SYSCALL_DEFINE(thread_set_handler)
{
    struct thread *t = lookup(a0);
    return t ? thread_op(t, AL_TC_SET_HANDLER, a1) : -AL_ESRCH;
}

/* thread_control(cap, op, arg): the same operations on any thread a
 * capability (CONTROL) names */
SYSCALL_DEFINE(thread_control)
{
    long err = 0;
    struct cap *c = cap_lookup(current()->task, a0, AL_CAP_THREAD, AL_R_CONTROL, &err);
    if (!c)
        return err;
    struct thread *t = c->obj;
    if (t->freed || t->state == T_DEAD)
        return -AL_ESRCH;
    return thread_op(t, a1, a2);
}

SYSCALL_DEFINE(thread_self)
{
    return current()->id;
}

SYSCALL_DEFINE(yield)
{
    return sched_yield();
}

#define SLEEP_MAX_NS (3600ULL * 1000000000ULL)

SYSCALL_DEFINE(sleep)
{
    if (a0 > SLEEP_MAX_NS)
        return -AL_EINVAL;
    if (a0 == 0) {
        sched_yield();
        return 0;
    }
    uint64_t until = clock_ns() + a0;
    sched_sleep_until(until);
    return clock_ns() < until ? -AL_EINTR : 0; /* early: an upcall woke it (kernel/vcpu.c) */
}

SYSCALL_DEFINE(clock)
{
    return (long)clock_ns();
}


/* thread_list(out, max): every thread in the system; returns how many
 * there are (entries beyond max are not written). */
SYSCALL_DEFINE(thread_list)
{
    struct task *task = current()->task;
    if (a1 > 4096)
        return -AL_E2BIG;
    if (!user_range_ok(a0, a1 * sizeof(struct al_thread_info)))
        return -AL_EFAULT;
    uint64_t n = 0;
    for (struct thread *t = all_threads; t; t = t->all_next, n++) {
        if (n >= a1)
            continue;
        struct al_thread_info info;
        memset(&info, 0, sizeof info);
        info.tid = t->id;
        info.task = t->task ? t->task->id : 0;
        info.state = state_abi(t->state);
        info.prio = t->prio;
        info.cpu = (int)t->cpu;
        info.affinity = t->affinity;
        info.cpu_time_ns = t->cpu_ns;
        info.switches = t->switches;
        info.migrations = t->migrations;
        memcpy(info.name, t->name, sizeof info.name - 1);
        if (copy_to_user(task, a0 + n * sizeof info, &info, sizeof info))
            return -AL_EFAULT;
    }
    return (long)n;
}

static void fill_cpu(unsigned i, struct al_cpu_info *c)
{
    memset(c, 0, sizeof *c);
    c->index = i;
    c->apic_id = cpus[i].apic_id;
    c->package = cpus[i].package;
    c->core = cpus[i].core;
    c->smt = cpus[i].smt;
    c->online = cpus[i].online;
    c->ticks = cpus[i].ticks;
    c->madt_apic_id = i < smp_madt.ncpus ? smp_madt.apic_ids[i] : ~0UL;
}

/* cpu_info(out, max): all CPUs; returns the CPU count */
SYSCALL_DEFINE(cpu_info)
{
    if (a1 > MAX_CPUS)
        return -AL_E2BIG;
    if (!user_range_ok(a0, a1 * sizeof(struct al_cpu_info)))
        return -AL_EFAULT;
    for (unsigned i = 0; i < ncpus && i < a1; i++) {
        struct al_cpu_info c;
        fill_cpu(i, &c);
        if (copy_to_user(current()->task, a0 + i * sizeof c, &c, sizeof c))
            return -AL_EFAULT;
    }
    return ncpus;
}

/* cpu_self(out): the CPU running the caller; apic_id read from the APIC now */
SYSCALL_DEFINE(cpu_self)
{
    struct al_cpu_info c;
    unsigned i = this_cpu()->index;
    fill_cpu(i, &c);
    c.apic_id = arch_cpu_hw_id();
    if (copy_to_user(current()->task, a0, &c, sizeof c))
        return -AL_EFAULT;
    return i;
}
