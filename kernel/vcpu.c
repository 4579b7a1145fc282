/*
 * Upcalls: interrupts delivered into a running driver thread; see
 * kernel/vcpu.h, abi/airlock/upcall.h and docs/ARCHITECTURE.md, section
 * 11.11. BKL held, interrupts off, throughout.
 *
 * A registered thread has an entry point, an interrupt stack and a state
 * area (the upper half of its UTCB page: kernel-allocated, always mapped,
 * reached here through the direct map). Delivery ("entering the handler")
 * rewrites the thread's user frame: RIP, RSP and RFLAGS go into
 * state->saved, the frame gets the entry point and the interrupt stack,
 * and vif is cleared. Nothing else of the frame changes, so the handler's
 * entry code finds the interrupted general registers in the registers.
 *
 * Where delivery happens: only on the thread's way out to user mode, in
 * vcpu_exit_work (the pending-work step of every exit, PENDING_UPCALL),
 * so there is one place that rewrites a frame, whatever the thread was
 * doing when the interrupt came:
 *   running here        the interrupt's own exit path delivers (eager);
 *   running elsewhere   that CPU's PENDING_UPCALL + a reschedule IPI;
 *   waiting in an IPC   woken: the call returns -AL_EINTR (and a sleep),
 *   or a sleep          then delivered on its way out (blocked);
 *   anything else       upcall_due: delivered when it next leaves the
 *                       kernel (lazy); while any thread owes one, every
 *                       switch checks (SWITCH_UPCALL), else none pays.
 * The trampoline (arch/x86_64/entry.S, irq_entry) delivers by itself
 * when the interrupted thread is the one the interrupt is bound to; it
 * never reaches this file.
 */
#include "kernel/vcpu.h"
#include "kernel/irqobj.h"
#include "kernel/ipc.h"
#include "kernel/ipc_impl.h"
#include "kernel/thread.h"
#include "kernel/cpu.h"
#include "kernel/bkl.h"
#include "kernel/fault.h"
#include "kernel/panic.h"
#include "kernel/syscall.h"
#include "kernel/upcall.h"
#include "kernel/usercopy.h"
#include "abi/airlock/errno.h"
#include "abi/airlock/layout.h"
#include "abi/airlock/upcall.h"
#include <arch/cpu.h>
#include <arch/percpu.h>
#include <arch/vcpu.h>
#include <arch/smp.h>
#include "lib/string.h"

_Static_assert(sizeof(struct al_utcb) <= AL_UPCALL_OFFSET, "the UTCB's own part ends before the upcall state area");
_Static_assert(AL_UPCALL_OFFSET + sizeof(struct al_upcall_state) <= AL_PAGE_SIZE, "the state area fits the UTCB page");
_Static_assert(sizeof(struct al_upcall_regs) == (AL_FR_COUNT - AL_FR_RIP) * 8,
               "the saved context is the fault reply's register words");

/* an interrupt stack smaller than this is refused (the entry code's
 * frame, an FXSAVE area and a few calls) */
#define UPCALL_STACK_MIN 2048
/* a handler entered while its thread was already on the interrupt stack
 * (it set vif itself) starts this far below the interrupted RSP (the
 * System V red zone) */
#define UPCALL_RED_ZONE 128

/* upcall_due: DUE_HERE, the thread was interrupted in user mode on this
 * CPU and enters on the way out of that interrupt (user_exit_work takes
 * the upcall before a reschedule, so nothing comes between); DUE_AWAY,
 * anything else: counted in ndue, and while any thread is, every switch
 * checks the thread it switches in (SWITCH_UPCALL) and the IPC fast paths
 * are off (a thread that owes an entry must not block where block() does
 * not look) */
enum { DUE_NONE, DUE_HERE, DUE_AWAY };
static unsigned long ndue; /* threads DUE_AWAY */

static void due_away(struct thread *t, int how)
{
    unsigned long before = ndue;
    ndue += (how == DUE_AWAY) - (t->upcall_due == DUE_AWAY);
    t->upcall_due = how;
    if ((before == 0) == (ndue == 0))
        return;
    if (ndue)
        ipc_fast_off |= IPC_FAST_OFF_UPCALL;
    else
        ipc_fast_off &= ~IPC_FAST_OFF_UPCALL;
    switch_work_all(SWITCH_UPCALL, ndue != 0);
}

/* (the interrupt-here case stays inline: no count, no loop) */
static inline void due(struct thread *t, int how)
{
    if (t->upcall_due == how)
        return;
    if (how == DUE_AWAY || t->upcall_due == DUE_AWAY)
        due_away(t, how);
    else
        t->upcall_due = how;
}

int vcpu_owed_slow(const struct thread *t)
{
    return t->upcall && t->upcall->vif;
}

void vcpu_switch_tail(void)
{
    if (current()->upcall_due)
        this_entry()->pending |= PENDING_UPCALL;
}

/* the handler's stack pointer: the top of the interrupt stack, or below
 * the interrupted RSP if that is on the interrupt stack already */
static uint64_t handler_sp(const struct thread *t, uint64_t rsp)
{
    if (rsp > t->upcall_stack_lo && rsp <= t->upcall_stack_top)
        return (rsp - UPCALL_RED_ZONE) & ~15ULL;
    return t->upcall_stack_top;
}

/* the handler is entered (path: AL_UPCALL_PATH_*) on the stack sp: the
 * frame gets the entry point, vif is cleared, and the IRQ objects whose
 * arrivals the entry reports are accounted (latency, path) */
static void enter(struct thread *t, struct trap_frame *tf, unsigned long path, uint64_t sp)
{
    struct al_upcall_state *st = t->upcall;
    uint64_t now = rdtsc(), first = 0;
    st->vif = 0;
    st->path = path;
    st->entries++;
    tf->rip = t->upcall_entry;
    tf->rsp = sp;
    tf->rflags &= ~(RFLAGS_TF | RFLAGS_DF);
    for (uint64_t p = st->pending; p; p &= p - 1) {
        unsigned idx = t->upcall_irq[__builtin_ctzll(p)];
        if (idx) {
            uint64_t at = irqobj_upcall_entered(idx - 1, now);
            if (at && (!first || at < first))
                first = at;
        }
    }
    st->arrived_at = first;
}

/* a fresh entry: the frame's RIP, RSP and RFLAGS become the saved context
 * (the general registers stay in the frame for the entry code to save) */
static void enter_handler(struct thread *t, struct trap_frame *tf, unsigned long path)
{
    struct al_upcall_state *st = t->upcall;
    st->saved.rip = tf->rip;
    st->saved.rsp = tf->rsp;
    st->saved.rflags = tf->rflags;
    st->regs_saved = 0;
    enter(t, tf, path, handler_sp(t, tf->rsp));
}

void vcpu_exit_work(struct trap_frame *tf)
{
    struct thread *t = current();
    if (!t->upcall || !t->upcall_due)
        return;
    due(t, DUE_NONE);
    if (t->upcall->vif && t->upcall->pending)
        enter_handler(t, tf, AL_UPCALL_PATH_KERNEL);
}

/* waiting where an upcall may cut the wait: an IPC's send or receive
 * phase (not the wait for a reply: the server has the message), or a
 * sleep; never a fault IPC or a string transfer */
static int interruptible(const struct thread *t)
{
    if (t->state != T_BLOCKED || t->kmsg || t->xfer)
        return 0; /* (a string transfer under way ends first: kernel/ipc_string.c) */
    return t->ipc_state == IPC_SEND || t->ipc_state == IPC_RECV || (t->ipc_state == IPC_NONE && t->sleeping);
}

void vcpu_post(struct thread *t, unsigned bit, unsigned long n)
{
    assert_kernel_locked();
    struct al_upcall_state *st = t->upcall;
    debug_assert(st && bit < AL_UPCALL_BITS);
    __atomic_fetch_add(&st->count[bit], n, __ATOMIC_RELAXED);
    __atomic_fetch_or(&st->pending, 1ULL << bit, __ATOMIC_SEQ_CST);
    if (!st->vif)
        return; /* counted: taken by the handler, or at its upcall_return */
    if (t == current()) { /* (interrupted in user mode: the kernel runs with interrupts off) */
        due(t, DUE_HERE);
        this_entry()->pending |= PENDING_UPCALL;
        return;
    }
    due(t, DUE_AWAY);
    if (t->state == T_RUNNING) {
        cpus[t->cpu].entry->pending |= PENDING_UPCALL;
        arch_send_resched(t->cpu);
    } else if (interruptible(t)) {
        sched_sleep_cancel(t);
        if (t->ipc_state != IPC_NONE)
            ipc_timeout(t); /* off the endpoint's queue */
        t->ipc_result = -AL_EINTR;
        sched_enqueue(t);
    }
    /* runnable (or made so): vcpu_switch_tail arms its exit */
}

void vcpu_unregister(struct thread *t)
{
    assert_kernel_locked();
    if (!t->upcall)
        return;
    irqobj_upcall_release(t);
    t->upcall = NULL;
    due(t, DUE_NONE);
}

/* upcall_register(entry, stack, size, flags): the caller's upcall entry
 * point and interrupt stack [stack, stack + size); entry 0 ends the
 * registration (its IRQ objects are unbound). A first registration clears
 * the state area; registering again changes entry and stack only.
 * Checks in docs/ABI.md's order. */
SYSCALL_DEFINE(upcall_register)
{
    struct thread *self = current();
    if (a3 & ~(uint64_t)AL_UPCALL_ENABLE)
        return -AL_EINVAL;
    if (a0 == 0) {
        vcpu_unregister(self);
        return 0;
    }
    if (a0 < AL_USER_LO || a0 >= AL_USER_HI || !user_range_ok(a1, a2))
        return -AL_EFAULT;
    if (a2 < UPCALL_STACK_MIN || ((a1 + a2) & 15))
        return -AL_EINVAL;
    self->upcall_entry = a0;
    self->upcall_stack_lo = a1;
    self->upcall_stack_top = a1 + a2;
    if (!self->upcall) {
        struct al_upcall_state *st = (void *)((char *)self->utcb + AL_UPCALL_OFFSET);
        memset((void *)st, 0, sizeof *st);
        st->vif = (a3 & AL_UPCALL_ENABLE) != 0;
        self->upcall = st;
    }
    irqobj_upcall_reroute(self); /* (entry and stack in the trampoline's routes) */
    return 0;
}

/* upcall_return(flags): the handler is done. More pending: it is entered
 * again at once (the saved context stays); otherwise the saved context,
 * every register, is restored and vif set, atomically. AL_UPCALL_POLL
 * (outside a handler, after setting vif): enter the handler now if any
 * interrupt is pending; returns 0. */
SYSCALL_DEFINE(upcall_return)
{
    struct thread *self = current();
    struct al_upcall_state *st = self->upcall;
    if (a0 & ~(uint64_t)AL_UPCALL_POLL)
        return -AL_EINVAL;
    if (!st)
        return -AL_ENOENT;
    if (a0 & AL_UPCALL_POLL) {
        due(self, DUE_HERE); /* (on the way out of this call) */
        this_entry()->pending |= PENDING_UPCALL;
        return 0;
    }
    struct trap_frame *tf = thread_frame(self);
    if (st->pending) {
        /* again, for the same saved context (regs_saved stays 1): the
         * handler's own state is dropped */
        enter(self, tf, AL_UPCALL_PATH_AGAIN, handler_sp(self, st->saved.rsp));
        return 0;
    }
    struct al_upcall_regs regs = st->saved; /* once: the thread may change it meanwhile */
    if (!fault_set_regs(tf, (const uint64_t *)&regs))
        return -AL_EINVAL;
    st->vif = 1;
    user_exit_work(tf); /* (an upcall that comes now is entered with this context) */
    arch_return_user_full(tf); /* every register from the frame, by IRET */
}

/* ---- direct ring-3 gates (docs/ARCHITECTURE.md, section 11.11) ----
 *
 * One binding per CPU. Its gate is up only while its thread is the
 * current thread of its CPU: put up and taken down by the switch tail
 * (SWITCH_DIRECT), so the kernel (interrupts off), the idle loop and every
 * other thread never meet it, and an arrival then takes the kernel's gate
 * and becomes an ordinary upcall. The CPU pushes its frame onto the
 * driver's direct stack (IST_DIRECT) and the handler runs in ring 3 with
 * IF set; the vector stays in service (blocking its priority class on
 * this CPU) until upcall_direct_return sends the EOI. A handler
 * interrupted by a switch away is acknowledged by the kernel then, and
 * its gate stays down until it returns (a new arrival would reset the
 * direct stack under it). */
struct direct {
    struct thread *t; /* NULL: no binding */
    unsigned idx;     /* its IRQ object (kernel/irqobj.c) */
    unsigned vector;
    uint64_t entry, stack_top;
    int up;           /* the gate leads to t now */
    int in_handler;   /* t was switched away inside a handler (acknowledged for it) */
    int unbound;      /* to be taken down at this CPU's next exit or switch */
};
static struct direct directs[MAX_CPUS];

/* CPU cpu has no direct binding any more (its gate is down) */
static void direct_clear(unsigned cpu)
{
    directs[cpu] = (struct direct){0};
    cpus[cpu].switch_work &= ~(uint64_t)SWITCH_DIRECT;
}

/* this CPU's gate comes down; 1 if an arrival it delivered was still in
 * service (acknowledged now) */
static int direct_down(struct direct *d)
{
    arch_direct_off(d->vector);
    d->up = 0;
    return arch_direct_eoi(d->vector);
}

long vcpu_direct_bind(struct thread *t, unsigned idx, unsigned vector, uint64_t entry, uint64_t stack_top)
{
    assert_kernel_locked();
    unsigned c = (unsigned)t->affinity;
    struct direct *d = &directs[c];
    if (d->t)
        return -AL_EBUSY;
    *d = (struct direct){.t = t, .idx = idx, .vector = vector, .entry = entry, .stack_top = stack_top};
    cpus[c].switch_work |= SWITCH_DIRECT;
    if (c == this_cpu()->index)
        vcpu_direct_sync();
    return 0;
}

void vcpu_direct_sync(void)
{
    assert_kernel_locked();
    struct cpu *c = this_cpu();
    struct direct *d = &directs[c->index];
    if (!d->t)
        return;
    int want = !d->unbound && !d->in_handler && c->current == d->t;
    if (want && !d->up) {
        arch_direct_on(d->vector, d->entry, d->stack_top);
        d->up = 1;
    } else if (!want && d->up) {
        if (direct_down(d) && !d->unbound)
            d->in_handler = 1; /* switched away inside its handler: acknowledged for it */
    }
    if (d->unbound && !d->up) {
        unsigned idx = d->idx;
        direct_clear(c->index);
        irqobj_direct_down(idx);
    }
}

int vcpu_direct_unbind(unsigned idx)
{
    assert_kernel_locked();
    for (unsigned i = 0; i < ncpus; i++) {
        struct direct *d = &directs[i];
        if (!d->t || d->idx != idx)
            continue;
        if (d->up && i != this_cpu()->index) {
            /* up on another CPU, its thread running there: down at its
             * next exit (this IPI makes one) or switch; the vector stays
             * the object's until then, so no other device can get it */
            d->unbound = 1;
            cpus[i].entry->pending |= PENDING_DIRECT;
            arch_send_resched(i);
            return 0;
        }
        if (d->up)
            direct_down(d);
        direct_clear(i);
        return 1;
    }
    return 1;
}

/* upcall_direct_return(): a handler entered through the direct gate is
 * done: the context the entry code put into state->direct_saved comes
 * back, checked as a fault reply's registers; the EOI goes out if the
 * vector is still in service here (the kernel sent it for a handler that
 * was switched away from); the gate is up again. */
SYSCALL_DEFINE(upcall_direct_return)
{
    struct thread *self = current();
    struct direct *d = &directs[this_cpu()->index];
    if (d->t != self || !self->upcall)
        return -AL_EINVAL;
    struct al_upcall_regs regs = self->upcall->direct_saved; /* once: the thread may change it meanwhile */
    struct trap_frame *tf = thread_frame(self);
    if (!fault_set_regs(tf, (const uint64_t *)&regs))
        return -AL_EINVAL;
    arch_direct_eoi(d->vector);
    irqobj_direct_returned(d->idx);
    if (d->in_handler) { /* (switched away inside it: the gate comes up again now) */
        d->in_handler = 0;
        vcpu_direct_sync();
    }
    user_exit_work(tf);
    arch_return_user_full(tf);
}
