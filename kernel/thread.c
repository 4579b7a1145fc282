/* Thread objects, creation, exit, join, faults, suspend/resume. See thread.h.
 * Locking: BKL held throughout. */
#include "kernel/thread.h"
#include "kernel/irqobj.h"
#include "kernel/upcall.h"
#include "kernel/vcpu.h"
#include "kernel/task.h"
#include "kernel/mapdb.h"
#include "kernel/cpu.h"
#include "kernel/kstack.h"
#include "kernel/frame.h"
#include "kernel/kmem.h"
#include "kernel/panic.h"
#include "kernel/console.h"
#include <arch/system.h>
#include <arch/fpu.h>
#include <arch/trap.h>
#include <arch/context.h>
#include <arch/paging.h>
#include "lib/string.h"
#include "kernel/ipc.h"
#include "kernel/bkl.h"
#include "abi/airlock/errno.h"
#include "kernel/object.h"
#include <arch/tlb.h>
#include "abi/airlock/layout.h"


static void utcb_free(struct thread *t);
static unsigned next_id = 1;
static unsigned long live;
struct thread *all_threads;

unsigned long thread_live_count(void)
{
    return live;
}

struct trap_frame *thread_frame(struct thread *t)
{
    return (struct trap_frame *)(t->kstack_top - sizeof(struct trap_frame));
}

static struct thread *thread_alloc(const char *name)
{
    _Static_assert(sizeof(struct thread) <= THREAD_FPU_OFFSET, "thread fits before its FPU area");
    if (THREAD_FPU_OFFSET + fpu_area_size() > FRAME_SIZE)
        panic("FPU state of %u bytes does not fit the thread frame", fpu_area_size());
    uint64_t pa = frame_alloc();
    if (!pa)
        return NULL;
    struct thread *t = p2v(pa);
    memset(t, 0, sizeof *t);
    t->kstack_slot = kstack_alloc(&t->kstack_top);
    if (t->kstack_slot < 0) {
        frame_free(pa);
        return NULL;
    }
    t->id = next_id++;
    t->cr3 = kernel_pml4;
    t->state = T_NEW;
    t->prio = PRIO_DEFAULT;
    t->affinity = -1;
    t->cpu = arch_cpu_index();
    t->slice = SLICE_TICKS;
    t->fpu = (char *)t + THREAD_FPU_OFFSET;
    fpu_init_area(t->fpu);
    unsigned i = 0;
    for (; name && name[i] && i + 1 < sizeof t->name; i++)
        t->name[i] = name[i];
    t->name[i] = 0;
    t->all_next = all_threads;
    all_threads = t;
    live++;
    return t;
}

/* The kernel stack goes as soon as the thread is dead and switched away
 * from (sched_switch_tail); the object stays until joined/torn down. */
void thread_release_stack(struct thread *t)
{
    if (t->kstack_slot >= 0) {
        kstack_free(t->kstack_slot);
        kmem_uncharge(t->kmem, KSTACK_PAGES);
        t->kstack_slot = -1;
    }
}

void thread_free(struct thread *t)
{
    cap_delete(&t->fault_handler);
    assert(t->state == T_DEAD || t->state == T_NEW);
    thread_release_stack(t);
    if (t->task) {
        struct task *task = t->task;
        utcb_free(t);
        for (struct thread **p = &task->threads; *p; p = &(*p)->task_next)
            if (*p == t) {
                *p = t->task_next;
                break;
            }
        task->nthreads--;
        if (t->state == T_NEW)
            task->live_threads--;
    }
    for (struct thread **p = &all_threads; *p; p = &(*p)->all_next)
        if (*p == t) {
            *p = t->all_next;
            break;
        }
    live--;
    t->task = NULL;
    t->state = T_DEAD;
    t->freed = 1;
    if (!t->refs) {
        kmem_uncharge(t->kmem, 1);
        frame_free(v2p_direct(t));
    }
}

/* a thread capability was deleted: the object goes with the last one
 * once the thread was released (t->freed) */
static void thread_release(struct cap *c, void *obj)
{
    struct thread *t = obj;
    (void)c;
    assert(t->refs > 0);
    if (--t->refs == 0 && t->freed) {
        kmem_uncharge(t->kmem, 1);
        frame_free(v2p_direct(t));
    }
}

/* the thread's UTCB page: a free slot of the task's UTCB area */
static int utcb_alloc(struct task *task, struct thread *t)
{
    int r;
    for (int i = 0; i < AL_UTCB_SLOTS; i++) {
        if (task->utcb_used[i / 64] & (1ULL << (i % 64)))
            continue;
        uint64_t va = AL_UTCB_BASE + (uint64_t)i * 4096, pa;
        if ((r = task_map_new_page(task, va, 1, 0, &pa)))
            return r;
        task->utcb_used[i / 64] |= 1ULL << (i % 64);
        t->utcb_slot = i;
        t->utcb_va = va;
        t->utcb = p2v(pa);
        t->utcb->self = (struct al_utcb *)va;
        t->utcb->rcv_cap_slot = -1;
        return 0;
    }
    return -AL_ENOMEM;
}

static void utcb_free(struct thread *t)
{
    struct task *task = t->task;
    if (!t->utcb_va)
        return;
    uint64_t pte = pt_unmap(task->pml4, t->utcb_va);
    /* other threads of the task may still hold the translation (with
     * PCID: any CPU that ran the task) */
    tlb_shootdown_user(task_cpu_mask(task), task->cr3, t->utcb_va, 1);
    if (pte & PTE_P) {
        frame_free(pte & PTE_ADDR);
        kmem_uncharge(task->kmem, 1); /* task_map_new_page charged it */
        task->kmem->pages--;
    }
    task->utcb_used[t->utcb_slot / 64] &= ~(1ULL << (t->utcb_slot % 64));
    t->utcb_va = 0;
    t->utcb = NULL;
}

struct thread *thread_create_user(struct task *task, uint64_t rip, uint64_t rsp, uint64_t rdi, uint64_t rsi, long *err)
{
    if (kmem_charge(task->kmem, 1 + KSTACK_PAGES)) {
        *err = -AL_EDQUOT;
        return NULL;
    }
    struct thread *t = thread_alloc(task->name);
    if (!t) {
        kmem_uncharge(task->kmem, 1 + KSTACK_PAGES);
        *err = -AL_ENOMEM;
        return NULL;
    }
    t->kmem = task->kmem; /* from here thread_free gives the charge back */
    long r = utcb_alloc(task, t);
    if (r) {
        *err = r;
        thread_free(t);
        return NULL;
    }
    t->task = task;
    t->cr3 = task->cr3;
    task_placed(task, t->cpu);
    t->ksp = arch_context_user(thread_frame(t), rip, rsp, rdi, rsi);
    t->task_next = task->threads;
    task->threads = t;
    task->nthreads++;
    task->live_threads++;
    if (!task->main)
        task->main = t;
    return t;
}

struct thread *thread_create_kernel(void (*fn)(void *), void *arg, const char *name)
{
    struct thread *t = thread_alloc(name);
    if (!t)
        return NULL;
    t->ksp = arch_context_kernel(t->kstack_top, fn, arg);
    return t;
}

void thread_start(struct thread *t)
{
    assert(t->state == T_NEW);
    t->state = T_BLOCKED;
    if (t->suspended)
        t->state = T_SUSPENDED;
    else
        sched_enqueue(t);
}

struct thread *thread_by_id(struct task *task, unsigned id)
{
    for (struct thread *t = task->threads; t; t = t->task_next)
        if (t->id == id)
            return t;
    return NULL;
}

enum thread_end thread_join(struct thread *t, long *status)
{
    struct thread *self = current();
    assert(t != self && !t->joiner);
    while (t->state != T_DEAD) {
        t->joiner = self;
        self->state = T_BLOCKED;
        schedule();
    }
    t->joiner = NULL;
    if (status)
        *status = t->exit_status;
    enum thread_end e = t->end;
    /* a task's first thread stays until the task goes: task_wait reports it */
    if (!t->task || t->task->main != t)
        thread_free(t);
    return e;
}

static unsigned kills_pending;
static void kills_set(int on);

_Noreturn static void die(void)
{
    struct thread *self = current();
    if (self->killed && --kills_pending == 0) /* (however it ends) */
        kills_set(0);
    ipc_thread_dies(self);
    vcpu_unregister(self); /* (its IRQ objects unbound) */
    irqobj_wait_end(self, 0);
    self->state = T_DEAD;
    if (self->joiner)
        sched_enqueue(self->joiner);
    if (self->task && --self->task->live_threads == 0 && self->task->waiter) {
        sched_enqueue(self->task->waiter);
        self->task->waiter = NULL;
    }
    schedule();
    panic("dead thread %u was scheduled", self->id);
}

/* kills_pending: killed threads not dead yet. While there are any, every
 * CPU's switches run sched_switch_tail, which sends a killed thread
 * switched in to the kill point (a switch costs nothing extra otherwise). */
static void kills_set(int on)
{
    if (on)
        ipc_fast_off |= IPC_FAST_OFF_KILLS;
    else
        ipc_fast_off &= ~IPC_FAST_OFF_KILLS;
    switch_work_all(SWITCH_KILL, on);
}

void thread_kill(struct thread *t)
{
    assert_kernel_locked();
    if (t->state == T_DEAD || t->killed || !t->task)
        return;
    t->killed = 1;
    if (kills_pending++ == 0)
        kills_set(1);
    t->suspended = 0;
    if (t->state == T_RUNNING) {
        /* stopped as a suspension would stop it (schedule()), and ends
         * there instead */
        t->suspended = 1;
        if (t == current())
            this_entry()->pending |= PENDING_RESCHED;
        else
            sched_kick(t->cpu);
    } else if (t->state == T_SUSPENDED) {
        sched_enqueue(t);
    } else if (t->state == T_BLOCKED && (t->ipc_state || t->sleeping)) {
        sched_sleep_cancel(t);
        if (t->ipc_state) {
            ipc_timeout(t); /* off the endpoint's queue, or its reply link */
            t->ipc_result = -AL_ECANCELED;
        }
        sched_enqueue(t);
    }
    /* T_RUNNABLE (and the ones just enqueued): it ends in sched_switch_tail
     * when it is switched in */
}

void thread_kill_point(void)
{
    struct thread *self = current();
    if (!self->killed)
        return;
    self->end = END_KILLED;
    self->exit_status = 0;
    die();
}

_Noreturn void thread_exit(long status)
{
    struct thread *self = current();
    self->end = END_EXIT;
    self->exit_status = status;
    die();
}

_Noreturn void thread_fault(struct trap_frame *tf, uint64_t fault_addr)
{
    struct thread *self = current();
    self->end = END_FAULT;
    self->exit_status = tf->vector;
    self->fault_addr = fault_addr;
    self->fault_rip = tf->rip;
    self->fault_error = tf->error;
    if (tf->vector == VEC_PF)
        kprintf("[fault] %s (thread %u, cpu %u): %s error %#lx (%s %s%s) at rip %#lx, address %#lx: terminated\n",
                self->name, self->id, self->cpu, trap_name((int)tf->vector), (unsigned long)tf->error,
                (tf->error & 16)  ? "exec"
                : (tf->error & 2) ? "write"
                                  : "read",
                (tf->error & 1) ? "protection" : "not-present", (tf->error & 8) ? " reserved-bit" : "",
                (unsigned long)tf->rip, (unsigned long)fault_addr);
    else
        kprintf("[fault] %s (thread %u, cpu %u): %s (vector %ld) error %#lx at rip %#lx, rsp %#lx: terminated\n",
                self->name, self->id, self->cpu, trap_name((int)tf->vector), (long)tf->vector, (unsigned long)tf->error,
                (unsigned long)tf->rip, (unsigned long)tf->rsp);
    die();
}

void thread_suspend(struct thread *t)
{
    if (t->suspended || t->state == T_DEAD)
        return;
    t->suspended = 1;
    if (t->state == T_RUNNABLE) {
        sched_dequeue(t);
        t->state = T_SUSPENDED;
    } else if (t->state == T_RUNNING) {
        if (t == current())
            schedule(); /* comes back after resume */
        else
            sched_kick(t->cpu); /* it stops at its next kernel exit */
    }
    /* T_BLOCKED: becomes T_SUSPENDED instead of runnable when woken */
}

void thread_resume(struct thread *t)
{
    if (!t->suspended)
        return;
    t->suspended = 0;
    if (t->state == T_SUSPENDED)
        sched_enqueue(t);
}

void thread_init_cpu(unsigned cpu)
{
    struct thread *idle = thread_create_kernel(sched_idle_loop, NULL, "idle");
    if (!idle)
        panic("no memory for an idle thread");
    idle->prio = -1;
    idle->affinity = (int)cpu;
    idle->cpu = cpu;
    idle->state = T_RUNNING;
    cpus[cpu].idle = idle;
}

_Noreturn static void enter(struct thread *t)
{
    struct cpu *c = this_cpu();
    static struct thread boot_ctx[MAX_CPUS]; /* abandoned boot stacks' contexts */
    struct thread *dummy = &boot_ctx[c->index];
    dummy->state = T_DEAD;
    dummy->kstack_slot = -1;
    c->entry->kstack_top = t->kstack_top;
    c->current = t;
    t->state = T_RUNNING;
    t->cpu = c->index;
    switch_context(&dummy->ksp, t->ksp);
    panic("boot context resumed");
}

_Noreturn void thread_boot(void (*fn)(void))
{
    struct thread *t = thread_create_kernel((void (*)(void *))fn, NULL, "kmain");
    if (!t)
        panic("no memory for the boot thread");
    enter(t);
}

_Noreturn void thread_enter_idle(void)
{
    enter(this_cpu()->idle);
}

uint64_t thread_kstack_top(const struct thread *t)
{
    return t->kstack_top;
}

int thread_kstack_bounds(unsigned long *lo, unsigned long *hi)
{
    struct thread *t = current();
    if (!t || !t->kstack_top || t->kstack_slot < 0)
        return 0;
    *lo = t->kstack_top - KSTACK_SIZE;
    *hi = t->kstack_top;
    return 1;
}

static void thread_ref(void *obj)
{
    ((struct thread *)obj)->refs++;
}

static void thread_describe(const struct cap *c, struct al_cap_info *info)
{
    info->id = ((const struct thread *)c->obj)->id;
}

const struct obj_ops thread_ops = {
    .name = "thread",
    .ref = thread_ref,
    .release = thread_release,
    .describe = thread_describe,
};
