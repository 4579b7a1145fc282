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
#include "kernel/audit.h"
#include "kernel/fault.h"
#include "kernel/panic.h"
#include "kernel/kmem.h"
#include "abi/airlock/errno.h"
#include "abi/airlock/layout.h"

static struct task *task_arg(uint64_t slot, long *err)
{
    struct cap *c = cap_lookup(current()->task, slot, AL_CAP_TASK, AL_R_CONTROL, err);
    return c ? c->obj : NULL;
}

/* task_kill(task): every thread of the task ends (END_KILLED), at its
 * next return to user mode; the call returns at once. The task's end is
 * reported by task_wait as usual (AL_THREAD_KILLED if its first thread was
 * still running). */
SYSCALL_DEFINE(task_kill)
{
    long err = 0;
    struct task *t = task_arg(a0, &err);
    if (!t)
        return err;
    for (struct thread *th = t->threads; th; th = th->task_next)
        thread_kill(th);
    return 0;
}

SYSCALL_DEFINE(task_create)
{
    struct task *self = current()->task;
    long err = 0;
    struct cap *slot = cap_empty_slot(self, a0, &err);
    if (!slot)
        return err;
    char name[32];
    unsigned n = 0;
    if (a1) {
        /* up to 31 characters, stopping at the first NUL: a page's part at
         * a time (not a byte per copy), so a name may still end just
         * before a page that is not mapped */
        while (n < sizeof name - 1) {
            uint64_t ua = a1 + n;
            unsigned k = 4096 - (unsigned)(ua & 0xfff), j = 0;
            if (k > sizeof name - 1 - n)
                k = sizeof name - 1 - n;
            if (copy_from_user(self, &name[n], ua, k))
                return -AL_EFAULT;
            while (j < k && name[n + j])
                j++;
            n += j;
            if (j < k)
                break;
        }
    }
    name[n] = 0;
    struct task *t = task_create(n ? name : self->name, self->kmem, KMEM_CHILD_DEFAULT, &err);
    if (!t)
        return err;
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
    return t ? thread_spawn_checked(t, a1, a2, a3, a4, a5) : err;
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
        return -AL_EINVAL; /* a task naming itself would never die */
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
        return -AL_ESRCH; /* never had a thread */
    if (a1 && !user_range_ok(a1, sizeof(struct al_task_end)))
        return -AL_EFAULT;
    if (t->waiter)
        return -AL_EBUSY;
    t->refs++; /* the task stays while we wait, whatever happens to our capability */
    task_wait(t);
    struct al_task_end end = {thread_end_abi(t->main->end), t->main->exit_status};
    task_put(t);
    if (a1 && copy_to_user(current()->task, a1, &end, sizeof end))
        return -AL_EFAULT;
    return 0;
}

/* thread_cap(task, tid, slot): a capability (CONTROL) to thread tid of our
 * own task (task = -1) or of a task we control */
SYSCALL_DEFINE(thread_cap)
{
    long err = 0;
    struct task *t = (int64_t)a0 == -1 ? current()->task : task_arg(a0, &err);
    if (!t)
        return err;
    if (a1 == 0 || a1 > 0xffffffffULL)
        return -AL_ESRCH;
    struct thread *th = thread_by_id(t, (unsigned)a1);
    if (!th || th->state == T_DEAD)
        return -AL_ESRCH;
    struct cap *slot = cap_empty_slot(current()->task, a2, &err);
    if (!slot)
        return err;
    cap_install(slot, AL_CAP_THREAD, AL_R_CONTROL, th, 0);
    return 0;
}

/* the task named by slot a0 (-1: the caller's own) */
static struct kmem *kmem_arg(uint64_t a0, long *err)
{
    struct task *t = (int64_t)a0 == -1 ? current()->task : task_arg(a0, err);
    return t ? t->kmem : NULL;
}

/* kmem_info(task, out): the budget of a task we control (-1: our own) */
SYSCALL_DEFINE(kmem_info)
{
    long err = 0;
    struct kmem *k = kmem_arg(a0, &err);
    if (!k)
        return err;
    struct al_kmem_info info = {
        .limit = k->limit,
        .used = k->used,
        .peak = k->peak,
        .nodes = k->nodes,
        .tables = k->tables,
        .children = k->children,
        .task = k->id,
    };
    if (copy_to_user(current()->task, a1, &info, sizeof info))
        return -AL_EFAULT;
    return 0;
}

/* kmem_set(task, frames): the budget of a task we created becomes
 * `frames`, the difference taken from or given back to ours */
SYSCALL_DEFINE(kmem_set)
{
    long err = 0;
    struct task *t = task_arg(a0, &err);
    if (!t)
        return err;
    if (t->kmem->parent != current()->task->kmem)
        return -AL_EPERM; /* only its creator hands it budget */
    if (a1 > KMEM_BOOT_TASK)
        return -AL_EDQUOT;
    long r = kmem_set_limit(t->kmem, a1);
    return r == -22 ? -AL_EBUSY : r;
}
