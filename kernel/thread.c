/* Thread objects, creation, exit, join and faults. See thread.h. */
#include "kernel/thread.h"
#include "kernel/task.h"
#include "kernel/cpu.h"
#include "kernel/kstack.h"
#include "kernel/frame.h"
#include "kernel/panic.h"
#include "kernel/console.h"
#include "kernel/arch.h"
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/paging.h"
#include "lib/string.h"

extern char thread_first_user[], thread_first_kernel[];
extern char kernel_boot_stack[], kernel_boot_stack_top[];
void switch_context(uint64_t *save, uint64_t next);

static unsigned next_id = 1;
static unsigned long live;

unsigned long thread_live_count(void) { return live; }

struct trap_frame *thread_frame(struct thread *t)
{
    return (struct trap_frame *)(t->kstack_top - TF_SIZE);
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
    int slot = kstack_alloc(&t->kstack_top);
    if (slot < 0) {
        frame_free(pa);
        return NULL;
    }
    t->kstack_slot = (uint64_t)slot;
    t->id = next_id++;
    t->state = T_NEW;
    t->fpu = (char *)t + THREAD_FPU_OFFSET;
    fpu_init_area(t->fpu);
    unsigned i = 0;
    for (; name && name[i] && i + 1 < sizeof t->name; i++)
        t->name[i] = name[i];
    t->name[i] = 0;
    live++;
    return t;
}

static void thread_free(struct thread *t)
{
    kstack_free((int)t->kstack_slot);
    frame_free(v2p_direct(t));
    live--;
}

/* Prepare the switch frame below `sp`: six callee-saved slots + ret. */
static uint64_t push_switch_frame(uint64_t sp, void *ret, uint64_t r12, uint64_t r13)
{
    uint64_t *s = (uint64_t *)sp;
    *--s = (uint64_t)ret;
    *--s = 0;           /* rbp */
    *--s = 0;           /* rbx */
    *--s = r12;
    *--s = r13;
    *--s = 0;           /* r14 */
    *--s = 0;           /* r15 */
    return (uint64_t)s;
}

struct thread *thread_create_user(struct task *task, uint64_t rip, uint64_t rsp, uint64_t rdi, uint64_t rsi)
{
    struct thread *t = thread_alloc(task->name);
    if (!t)
        return NULL;
    t->task = task;
    struct trap_frame *tf = thread_frame(t);
    memset(tf, 0, sizeof *tf);
    tf->rip = rip;
    tf->cs = SEL_UCODE;
    tf->rflags = 0x202;         /* IF */
    tf->rsp = rsp;
    tf->ss = SEL_UDATA;
    tf->rdi = rdi;
    tf->rsi = rsi;
    t->ksp = push_switch_frame((uint64_t)tf, thread_first_user, 0, 0);
    t->task_next = task->threads;
    task->threads = t;
    task->nthreads++;
    return t;
}

struct thread *thread_create_kernel(void (*fn)(void *), void *arg, const char *name)
{
    struct thread *t = thread_alloc(name);
    if (!t)
        return NULL;
    t->ksp = push_switch_frame(t->kstack_top, thread_first_kernel, (uint64_t)fn, (uint64_t)arg);
    return t;
}

void thread_start(struct thread *t)
{
    assert(t->state == T_NEW);
    sched_enqueue(t);
}

static void task_unlink(struct thread *t)
{
    struct task *task = t->task;
    if (!task)
        return;
    for (struct thread **p = &task->threads; *p; p = &(*p)->task_next)
        if (*p == t) {
            *p = t->task_next;
            task->nthreads--;
            return;
        }
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
    if (status)
        *status = t->exit_status;
    enum thread_end e = t->end;
    task_unlink(t);
    thread_free(t);
    return e;
}

_Noreturn static void die(void)
{
    struct thread *self = current();
    self->state = T_DEAD;
    if (self->joiner)
        sched_enqueue(self->joiner);
    schedule();
    panic("dead thread %u was scheduled", self->id);
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
        kprintf("[fault] %s (thread %u): %s error %#lx (%s %s%s) at rip %#lx, address %#lx: terminated\n",
                self->name, self->id, trap_name((int)tf->vector), (unsigned long)tf->error,
                (tf->error & 16) ? "exec" : (tf->error & 2) ? "write" : "read",
                (tf->error & 1) ? "protection" : "not-present", (tf->error & 8) ? " reserved-bit" : "",
                (unsigned long)tf->rip, (unsigned long)fault_addr);
    else
        kprintf("[fault] %s (thread %u): %s (vector %ld) error %#lx at rip %#lx, rsp %#lx: terminated\n",
                self->name, self->id, trap_name((int)tf->vector), (long)tf->vector, (unsigned long)tf->error,
                (unsigned long)tf->rip, (unsigned long)tf->rsp);
    die();
}

/* ---- scheduler: FIFO run queue, one CPU (replaced by the SMP priority
 * scheduler in the threads issue) ---- */

static struct thread *rq_head, *rq_tail;

void sched_enqueue(struct thread *t)
{
    assert(t->state != T_RUNNABLE && t->state != T_DEAD);
    t->state = T_RUNNABLE;
    t->next = NULL;
    if (rq_tail)
        rq_tail->next = t;
    else
        rq_head = t;
    rq_tail = t;
}

static struct thread *rq_pop(void)
{
    struct thread *t = rq_head;
    if (t) {
        rq_head = t->next;
        if (!rq_head)
            rq_tail = NULL;
        t->next = NULL;
    }
    return t;
}

static void switch_to(struct thread *prev, struct thread *next)
{
    struct cpu *c = this_cpu();
    if (prev->task && prev->state != T_DEAD)
        fpu_save(prev->fpu);
    if (next->task)
        fpu_restore(next->fpu);
    c->entry->kstack_top = next->kstack_top;
    c->entry->user_cr3 = next->task ? next->task->pml4 : kernel_pml4;
    c->current = next;
    next->state = T_RUNNING;
    switch_context(&prev->ksp, next->ksp);
}

void schedule(void)
{
    struct thread *prev = current();
    struct thread *next = rq_pop();
    if (!next) {
        if (prev->state == T_RUNNING)
            return;
        next = this_cpu()->idle;
    }
    if (prev->state == T_RUNNING && prev != this_cpu()->idle)
        sched_enqueue(prev);
    if (next == prev) {
        prev->state = T_RUNNING;
        return;
    }
    switch_to(prev, next);
}

void sched_yield(void)
{
    schedule();
}

static void idle_loop(void *arg)
{
    (void)arg;
    for (;;) {
        schedule();
        /* nothing runnable: wait for an interrupt to make something so */
        __asm__ volatile("sti; hlt; cli" ::: "memory");
    }
}

void thread_init(void)
{
    struct cpu *c = this_cpu();
    c->idle = thread_create_kernel(idle_loop, NULL, "idle");
    if (!c->idle)
        panic("no memory for the idle thread");
    c->idle->state = T_RUNNABLE;
}

_Noreturn void thread_boot(void (*fn)(void))
{
    struct thread *t = thread_create_kernel((void (*)(void *))fn, NULL, "kmain");
    if (!t)
        panic("no memory for the boot thread");
    struct cpu *c = this_cpu();
    static struct thread boot_ctx;      /* the abandoned boot stack's context */
    boot_ctx.state = T_DEAD;
    c->current = &boot_ctx;
    c->entry->kstack_top = t->kstack_top;
    c->current = t;
    t->state = T_RUNNING;
    switch_context(&boot_ctx.ksp, t->ksp);
    panic("boot context resumed");
}

void arch_stack_bounds(unsigned long *lo, unsigned long *hi)
{
    extern int percpu_ready;
    struct thread *t = percpu_ready ? current() : NULL;
    if (t && t->kstack_top) {
        *lo = t->kstack_top - KSTACK_SIZE;
        *hi = t->kstack_top;
    } else {
        *lo = (unsigned long)kernel_boot_stack;
        *hi = (unsigned long)kernel_boot_stack_top;
    }
}
