/*
 * Task system calls: make a task (an empty address space and capability
 * space), start threads in it, give it capabilities, wait for it. These are
 * what the root task uses to load the other boot modules. A task lives as
 * long as a capability names it or one of its threads runs.
 * BKL held.
 */
#include "kernel/syscall.h"
#include "kernel/cap.h"
#include "kernel/task.h"
#include "kernel/thread.h"
#include "kernel/cpu.h"
#include "kernel/usercopy.h"
#include "abi/airlock/errno.h"
#include "abi/airlock/layout.h"

static struct task *task_arg(uint64_t slot, long *err)
{
    struct cap *c = cap_lookup(current()->task, slot, AL_CAP_TASK, AL_R_CONTROL, err);
    return c ? c->obj : NULL;
}

SYSCALL_DEFINE(task_create)
{
    struct task *self = current()->task;
    struct cap *slot = cap_slot(self, a0);
    if (!slot)
        return -AL_EBADCAP;
    if (slot->type)
        return -AL_EEXIST;
    char name[32];
    unsigned n = 0;
    if (a1) {
        /* up to 31 characters, stopping at the first NUL */
        for (; n < sizeof name - 1; n++) {
            if (copy_from_user(self, &name[n], a1 + n, 1))
                return -AL_EFAULT;
            if (!name[n])
                break;
        }
    }
    name[n] = 0;
    struct task *t = task_create(n ? name : self->name);
    if (!t)
        return -AL_ENOMEM;
    t->max_prio = self->max_prio;
    cap_install(slot, AL_CAP_TASK, AL_R_CONTROL, t, 0);
    return t->id;
}

/* thread_create_in(task, entry, stack, arg, prio, cpu): a running thread in
 * a task we control; RDI = arg, RSI = 0 at its start */
SYSCALL_DEFINE(thread_create_in)
{
    long err = 0;
    struct task *t = task_arg(a0, &err);
    struct task *self = current()->task;
    if (!t)
        return err;
    if (a1 < AL_USER_LO || a1 >= AL_USER_HI || a2 <= AL_USER_LO || a2 > AL_USER_HI)
        return -AL_EFAULT;
    if ((int64_t)a4 < 0 || a4 > PRIO_MAX)
        return -AL_EINVAL;
    if ((int)a4 > self->max_prio)
        return -AL_EPERM;
    if (!((int64_t)a5 == -1 || (a5 < ncpus && cpus[a5].online)))
        return -AL_EINVAL;
    if (t->nthreads >= AL_THREADS_MAX)
        return -AL_ENOMEM;
    struct thread *th = thread_create_user(t, a1, a2, a3, 0);
    if (!th)
        return -AL_ENOMEM;
    th->prio = (int)a4;
    th->affinity = (int)(int64_t)a5;
    th->cpu = th->affinity >= 0 ? (unsigned)th->affinity : current()->cpu;
    thread_start(th);
    return th->id;
}

/* cap_give(task, src, dst, rights): derive our capability src into slot
 * dst of a task we control */
SYSCALL_DEFINE(cap_give)
{
    long err = 0;
    struct task *t = task_arg(a0, &err);
    if (!t)
        return err;
    struct cap *src = cap_slot(current()->task, a1);
    if (!src || !src->type)
        return -AL_EBADCAP;
    struct cap *dst = cap_slot(t, a2);
    if (!dst)
        return -AL_EBADCAP;
    if (a3 & ~(uint64_t)AL_R_ALL)
        return -AL_EINVAL;
    if (src->type == AL_CAP_TASK && src->obj == t)
        return -AL_EINVAL;          /* a task naming itself would never die */
    return cap_derive(src, dst, (int)a3, 0);
}

/* task_wait(task, out): block until every thread of the task has ended;
 * *out says how its first thread ended */
SYSCALL_DEFINE(task_wait)
{
    long err = 0;
    struct task *t = task_arg(a0, &err);
    if (!t)
        return err;
    if (t == current()->task)
        return -AL_EINVAL;
    if (!t->main)
        return -AL_ESRCH;           /* never had a thread */
    if (a1 && !user_range_ok(a1, sizeof(struct al_task_end)))
        return -AL_EFAULT;
    if (t->waiter)
        return -AL_EBUSY;
    task_wait(t);
    struct al_task_end end = {t->main->end == END_EXIT ? AL_THREAD_EXITED : AL_THREAD_FAULTED,
                              t->main->exit_status};
    if (a1 && copy_to_user(current()->task, a1, &end, sizeof end))
        return -AL_EFAULT;
    return 0;
}
