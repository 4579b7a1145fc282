/*
 * I/O-port permissions in the TSS I/O bitmap (see <arch/ioport.h>), and
 * the #GP handler that gives a task's port set to the CPU on the task's
 * first port access there (kernel/ioport.c, ioport_fault).
 */
#include <arch/ioport.h>
#include <arch/percpu.h>
#include <arch/trap.h>
#include <arch/tlb.h>
#include "arch/x86_64/entry_area.h"
#include "kernel/cpu.h"
#include "kernel/panic.h"
#include "kernel/upcall.h"
#include "lib/string.h"

_Static_assert(EA_IOBM_END - EA_IOBITMAP == ARCH_IOBITMAP_SIZE, "the entry area holds a whole I/O bitmap");

/* the ports the kernel uses (grep arch/x86_64 for inb/outb) or that
 * control what it owns; never granted */
static const struct {
    uint16_t first, last;
} reserved[] = {
    {0x20, 0x23},   /* master PIC (pic.c); IMCR 0x22/0x23 (interrupt routing) */
    {0x40, 0x43},   /* PIT (lapic.c calibrates with channel 2) */
    {0x61, 0x61},   /* PIT channel 2 gate, speaker, NMI status */
    {0xa0, 0xa1},   /* slave PIC (pic.c) */
    {0xf4, 0xf7},   /* isa-debug-exit (cpu.c: stopping the machine) */
    {0x3d4, 0x3d5}, /* VGA CRT controller (vga.c: the cursor) */
    {0x3f8, 0x3ff}, /* COM1, the kernel console (serial.c) */
    {0x4d0, 0x4d1}, /* ELCR: edge/level of the legacy interrupt lines */
};

int arch_ioport_reserved(unsigned first, unsigned last)
{
    for (unsigned i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (first <= reserved[i].last && last >= reserved[i].first)
            return 1;
    return 0;
}

void arch_ioport_deny_reserved(uint8_t *bitmap)
{
    for (unsigned i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        for (unsigned p = reserved[i].first; p <= reserved[i].last; p++)
            bitmap[p / 8] |= (uint8_t)(1u << (p % 8));
}

void arch_ioport_load(unsigned cpu, const uint8_t *bitmap, unsigned lo, unsigned hi)
{
    uint8_t *hw = (uint8_t *)ENTRY_AREA(cpu) + EA_IOBITMAP;
    assert(lo <= hi && hi <= ARCH_IOBITMAP_SIZE);
    if (bitmap)
        memcpy(hw + lo, bitmap + lo, hi - lo);
    else
        memset(hw + lo, 0xff, hi - lo);
}

void arch_ioport_sync(uint64_t cpumask)
{
    /* The TLB shootdown's IPI and acknowledgement are exactly the barrier
     * needed: a target acknowledges from the interrupt handler (its user
     * code interrupted) or from the kernel (where it runs no user code).
     * Its flush costs nothing extra on a CPU interrupted in user mode
     * (the entry's CR3 write flushed already). */
    cpumask &= ~(1ULL << this_entry()->cpu_index);
    if (cpumask)
        tlb_shootdown_user(cpumask, 0, 0, 0);
}

/* #GP: from user mode, first the chance that the task's ports are not
 * (or not as they are now) in this CPU's bitmap: then they are loaded and
 * the instruction runs again (a #GP for any other reason comes back, with
 * the ports loaded, and goes on below). BKL held (from user mode). */
TRAP_HANDLER(VEC_GP, general_protection)
{
    if (!(tf->cs & SEL_RPL_MASK))
        panic_trap(tf, "unhandled exception in kernel");
    if (ioport_fault())
        return;
    if (!fault_ipc(tf, 0))
        thread_fault(tf, 0);
}
