/*
 * Trap dispatch: every vector's stub ends in trap_dispatch() (or
 * paranoid_dispatch() for NMI, #DF, #MC). Handlers are registered with
 * TRAP_HANDLER; an exception from user mode without a handler terminates
 * the faulting thread (thread_fault), one from kernel mode panics.
 */
#include "arch/x86_64/trap.h"
#include "arch/x86_64/cpu.h"
#include "kernel/panic.h"
#include "kernel/thread.h"
#include "kernel/console.h"

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

void trap_init(void)
{
    for (const struct trap_desc *d = __trap_table_start; d < __trap_table_end; d++) {
        assert(d->vector >= 0 && d->vector < 256 && !handlers[d->vector]);
        handlers[d->vector] = d->fn;
    }
}

void trap_dispatch(struct trap_frame *tf)
{
    ENTRY_INC(interrupts);
    trap_handler_fn fn = handlers[tf->vector & 0xff];
    if (fn) {
        fn(tf);
        return;
    }
    if (tf->cs & 3) {
        thread_fault(tf, 0);
        return;
    }
    panic_trap(tf, tf->vector < 32 ? "unhandled exception in kernel" : "unexpected interrupt in kernel");
}

/* NMI, #DF, #MC: CR3 and GS.base were made the kernel's by the stub and are
 * restored after we return; never schedule from here. */
/* NMI: counted; while the system panics, NMIs are the stop signal. */
void arch_nmi(struct trap_frame *tf)
{
    (void)tf;
    ENTRY_INC(nmis);
    if (panic_in_progress())
        halt_forever();
}

void paranoid_dispatch(struct trap_frame *tf)
{
    ENTRY_INC(interrupts);
    if (tf->vector == VEC_NMI) {
        arch_nmi(tf);
        return;
    }
    panic_trap(tf, tf->vector == VEC_DF ? "double fault" : "machine check");
}

TRAP_HANDLER(VEC_PF, page_fault)
{
    uint64_t cr2 = read_cr2();
    if (tf->cs & 3) {
        thread_fault(tf, cr2);
        return;
    }
    kprintf("kernel page fault at %#lx (error %#lx)\n", (unsigned long)cr2, (unsigned long)tf->error);
    panic_trap(tf, "page fault in kernel mode");
}
