/*
 * Trap dispatch: every vector's stub ends in trap_dispatch() (or
 * paranoid_dispatch() for NMI, #DF, #MC and a #DB from kernel mode). Handlers are registered with
 * TRAP_HANDLER; an exception from user mode without a handler terminates
 * the faulting thread (thread_fault), one from kernel mode panics.
 */
#include <arch/trap.h>
#include <arch/percpu.h>
#include <arch/cpu.h>
#include "kernel/panic.h"
#include "kernel/upcall.h"
#include "kernel/console.h"
#include "arch/x86_64/lapic.h"
#include "arch/x86_64/entry_area.h"
#include <arch/init.h>
#include <arch/tlb.h>
#include <arch/irq.h>

extern const struct trap_desc __trap_table_start[], __trap_table_end[];
static trap_handler_fn handlers[256];

static const char *const names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "#15",
    "#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23", "#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
};

const char *trap_name(int vector)
{
    if (vector >= 0 && vector < 32)
        return names[vector];
    return vector == -1 ? "syscall" : "IRQ";
}

static unsigned long unexpected_irqs;

/* An interrupt vector nobody registered: not the interrupted thread's doing,
 * so note it, acknowledge it and carry on. Installed for every vector >= 32
 * without a handler, which keeps that test off trap_dispatch's hot path. */
static void unexpected_interrupt(struct trap_frame *tf)
{
    (void)tf;
    unexpected_irqs++;
    lapic_eoi();
}

unsigned long trap_unexpected_count(void)
{
    return unexpected_irqs;
}

void trap_init(void)
{
    for (const struct trap_desc *d = __trap_table_start; d < __trap_table_end; d++) {
        assert(d->vector >= 0 && d->vector <= d->last && d->last < 256);
        for (int v = d->vector; v <= d->last; v++) {
            assert(!handlers[v]);
            handlers[v] = d->fn;
        }
    }
    for (int v = 32; v < 256; v++)
        if (!handlers[v])
            handlers[v] = unexpected_interrupt;
}

/*
 * Every non-IST vector ends here. Exceptions and interrupts from user mode,
 * and device/timer interrupts that woke an idle CPU, take the BKL; the TLB
 * shootdown IPI does not (see arch/x86_64/tlb.h). Exceptions in kernel mode
 * are bugs and panic without it. Returning to user mode is a preemption
 * point: a pending reschedule switches threads here.
 */
void trap_dispatch(struct trap_frame *tf)
{
    ENTRY_INC(interrupts);
    if (tf->vector == VEC_TLB) {
        tlb_poll();
        lapic_eoi();
        return;
    }
    int from_user = tf->cs & 3;
    int locked = from_user || tf->vector >= 32;
    if (locked)
        bkl_lock();
    trap_handler_fn fn = handlers[tf->vector & 0xff];
    if (fn) {
        fn(tf);
    } else if (from_user) {
        if (!fault_ipc(tf, 0))
            thread_fault(tf, 0);
    } else {
        panic_trap(tf, "unhandled exception in kernel");
    }
    if (from_user && arch_pending())
        user_exit_work_trap(tf);
    if (locked)
        bkl_unlock();
}

/* The device vectors (<arch/irq.h>): to the generic irq_arrived, which
 * counts, masks a level line and acknowledges; a vector nobody allocated
 * stays unexpected. The handler table has an entry per vector, so
 * trap_dispatch and the kernel's own vectors pay nothing for this. */
static void device_interrupt(struct trap_frame *tf)
{
    if (!irq_arrived((unsigned)tf->vector))
        unexpected_interrupt(tf);
}
/* around int $0x80, which is never a device vector */
TRAP_RANGE(ARCH_IRQ_VEC_FIRST, ARCH_IRQ_VEC_SYSCALL - 1, device_vectors_lo)
{
    device_interrupt(tf);
}
TRAP_RANGE(ARCH_IRQ_VEC_SYSCALL + 1, ARCH_IRQ_VEC_LAST, device_vectors_hi)
{
    device_interrupt(tf);
}

TRAP_HANDLER(VEC_TIMER, timer_interrupt)
{
    lapic_eoi();
    sched_tick();
}

TRAP_HANDLER(VEC_RESCHED, reschedule_ipi)
{
    lapic_eoi();
    this_entry()->pending |= PENDING_RESCHED;
}

TRAP_HANDLER(VEC_SPURIOUS, spurious_interrupt)
{
    /* no EOI for spurious interrupts */
}

/* legacy PIC vectors: masked, but a spurious IRQ7/15 can still arrive */
TRAP_HANDLER(0x27, pic_spurious7) {}
TRAP_HANDLER(0x2f, pic_spurious15) {}

/* NMI: counted; while the system panics, NMIs are the stop signal. */
void arch_nmi(struct trap_frame *tf)
{
    (void)tf;
    ENTRY_INC(nmis);
    if (panic_in_progress())
        halt_forever();
}

/*
 * #DB in kernel mode (db_entry hands one from user mode to the common path,
 * where it ends the thread or goes to its fault handler, as always). The
 * kernel never single-steps itself and arms no debug register, and user
 * mode has no access to them (MOV DRn is privileged, no system call sets
 * them), so a #DB at CPL 0 is one of:
 *   - a user's TF leaking into the kernel: a single-step that MOV SS /
 *     POP SS delayed past SYSCALL or INT n, or an emulator that steps
 *     SYSCALL on the old TF (XSA-204); it lands on the first instruction of
 *     the entry, before SWAPGS and the stack and CR3 switches. The user's
 *     own TF is in its saved RFLAGS (R11 or the frame) and traps again,
 *     in user mode, after the return;
 *   - a kernel single-step (the self-test) or a breakpoint hit (nothing
 *     arms one; the self-test does).
 * Each is dismissed: TF cleared in the interrupted RFLAGS (no repeat), the
 * breakpoints disarmed, DR6 reset, the cause counted. Never a panic, except
 * for a #DB that interrupted the #DB handler itself (its IST stack was
 * reused: the outer frame is gone), which nothing can raise today.
 */
static struct kernel_db_stats kdb;

static void kernel_debug_trap(struct trap_frame *tf)
{
    uint64_t dr6, area = (uint64_t)tf & ~(AL_TRAMP_CPU_SIZE - 1);
    if (tf->rsp >= area + EA_IST_DB - EA_IST_SIZE && tf->rsp < area + EA_IST_DB)
        panic_trap(tf, "#DB inside the #DB handler: its IST stack was reused");
    __asm__ volatile("movq %%dr6, %0" : "=r"(dr6));
    __asm__ volatile("movq %0, %%dr6" ::"r"(DR6_RESERVED));
    if (dr6 & DR6_B0_B3) {
        __asm__ volatile("movq %0, %%dr7" ::"r"(DR7_RESERVED));
        __atomic_fetch_add(&kdb.breakpoints, 1, __ATOMIC_RELAXED);
    } else if (dr6 & DR6_BS) {
        __atomic_fetch_add(&kdb.steps, 1, __ATOMIC_RELAXED);
    } else {
        __atomic_fetch_add(&kdb.other, 1, __ATOMIC_RELAXED);
    }
    tf->rflags &= ~RFLAGS_TF;
    kdb.last_frame = (uint64_t)tf;
    kdb.last_rip = tf->rip;
    kdb.last_dr6 = dr6;
}

void trap_kernel_db_stats(struct kernel_db_stats *out)
{
    out->steps = __atomic_load_n(&kdb.steps, __ATOMIC_RELAXED);
    out->breakpoints = __atomic_load_n(&kdb.breakpoints, __ATOMIC_RELAXED);
    out->other = __atomic_load_n(&kdb.other, __ATOMIC_RELAXED);
    out->last_frame = kdb.last_frame;
    out->last_rip = kdb.last_rip;
    out->last_dr6 = kdb.last_dr6;
}

void paranoid_dispatch(struct trap_frame *tf)
{
    ENTRY_INC(interrupts);
    if (tf->vector == VEC_NMI) {
        arch_nmi(tf);
        return;
    }
    if (tf->vector == VEC_DB) {
        if (tf->cs & 3) /* db_entry gives these to the common path */
            panic_trap(tf, "#DB from user mode on the paranoid path");
        kernel_debug_trap(tf);
        return;
    }
    panic_trap(tf, tf->vector == VEC_DF ? "double fault" : "machine check");
}

TRAP_HANDLER(VEC_PF, page_fault)
{
    uint64_t cr2 = read_cr2();
    if (tf->cs & 3) {
        if (!fault_ipc(tf, cr2))
            thread_fault(tf, cr2);
        return;
    }
    kprintf("kernel page fault at %#lx (error %#lx)\n", (unsigned long)cr2, (unsigned long)tf->error);
    panic_trap(tf, "page fault in kernel mode");
}
