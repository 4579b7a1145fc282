/*
 * panic(), assert() and symbolized backtraces.
 *
 * Backtraces follow the RBP chain (the kernel is built with frame pointers)
 * and stop at the first frame pointer outside the current kernel stack, so
 * a corrupted chain cannot fault the panic path. Symbols come from the
 * table tools/gensyms.sh generates from the linked kernel (second link).
 */
#include <stdarg.h>
#include <stdint.h>
#include "kernel/panic.h"
#include "kernel/console.h"
#include <arch/system.h>
#include "abi/airlock/layout.h"
#include <arch/cpu.h>
#include <arch/trap.h>

struct ksym {
    unsigned long addr;
    const char *name;
};
extern const struct ksym ksyms_table[];
extern const unsigned long ksyms_count;
extern char __tramp_start[], __tramp_end[];

const char *ksym_lookup(unsigned long addr, unsigned long *offset)
{
    extern char __text_start[], __text_end[];
    unsigned long tsize = (unsigned long)(__tramp_end - __tramp_start);
    if (addr >= AL_TRAMPOLINE && addr < AL_TRAMPOLINE + tsize)
        addr = addr - AL_TRAMPOLINE + (unsigned long)__tramp_start;
    unsigned long lo = 0, hi = ksyms_count;
    /* only kernel code is symbolized (a user RIP in a report is not) */
    int in_text = addr >= (unsigned long)__text_start && addr < (unsigned long)__text_end;
    int in_tramp = addr >= (unsigned long)__tramp_start && addr < (unsigned long)__tramp_end;
    if (!hi || !(in_text || in_tramp) || addr < ksyms_table[0].addr)
        return NULL;
    while (hi - lo > 1) {
        unsigned long mid = (lo + hi) / 2;
        if (ksyms_table[mid].addr <= addr)
            lo = mid;
        else
            hi = mid;
    }
    if (offset)
        *offset = addr - ksyms_table[lo].addr;
    return ksyms_table[lo].name;
}

static void print_addr(unsigned long a)
{
    unsigned long off;
    const char *n = ksym_lookup(a, &off);
    if (n)
        kprintf("  [<%016lx>] %s+%#lx\n", a, n, off);
    else
        kprintf("  [<%016lx>] ?\n", a);
}

void backtrace_from(unsigned long rbp, unsigned long rip)
{
    unsigned long lo, hi;
    arch_stack_bounds(&lo, &hi);
    kprintf("Backtrace:\n");
    if (rip)
        print_addr(rip);
    for (int depth = 0; depth < 32; depth++) {
        if (rbp < lo || rbp + 16 > hi || (rbp & 7))
            break;
        unsigned long ret = ((unsigned long *)rbp)[1];
        if (!ret)
            break;
        print_addr(ret);
        rbp = ((unsigned long *)rbp)[0];
    }
}

static volatile int panicking;

int panic_in_progress(void)
{
    return panicking;
}

static void panic_enter(void)
{
    __asm__ volatile("cli");
    if (__atomic_exchange_n(&panicking, 1, __ATOMIC_SEQ_CST)) {
        /* another CPU is already panicking: stop quietly */
        halt_forever();
    }
    arch_stop_other_cpus();
    console_break_lock();
    kprintf("\n================ KERNEL PANIC (cpu %lu) ================\n", (unsigned long)arch_cpu_index());
}

_Noreturn static void panic_exit(void)
{
    kprintf("================ system halted ================\n");
    arch_halt_system(1);
}

static void dump_cregs(void)
{
    kprintf("CR0=%016llx CR2=%016llx CR3=%016llx CR4=%016llx\n", (unsigned long long)read_cr0(),
            (unsigned long long)read_cr2(), (unsigned long long)read_cr3(), (unsigned long long)read_cr4());
}

_Noreturn void panic(const char *fmt, ...)
{
    panic_enter();
    va_list ap;
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
    kprintf("\n");
    unsigned long rbp, rsp;
    __asm__ volatile("movq %%rbp, %0; movq %%rsp, %1" : "=r"(rbp), "=r"(rsp));
    kprintf("RSP=%016lx RBP=%016lx\n", rsp, rbp);
    dump_cregs();
    backtrace_from(rbp, 0);
    panic_exit();
}

_Noreturn void panic_trap(const struct trap_frame *tf, const char *what)
{
    panic_enter();
    kprintf("%s: vector %ld error %#lx %s mode\n", what, (long)tf->vector, (unsigned long)tf->error,
            (tf->cs & 3) ? "user" : "kernel");
    kprintf("RIP=%04lx:%016lx RFLAGS=%016lx RSP=%04lx:%016lx\n", (unsigned long)tf->cs, (unsigned long)tf->rip,
            (unsigned long)tf->rflags, (unsigned long)tf->ss, (unsigned long)tf->rsp);
    kprintf("RAX=%016lx RBX=%016lx RCX=%016lx RDX=%016lx\n", (unsigned long)tf->rax, (unsigned long)tf->rbx,
            (unsigned long)tf->rcx, (unsigned long)tf->rdx);
    kprintf("RSI=%016lx RDI=%016lx RBP=%016lx R8 =%016lx\n", (unsigned long)tf->rsi, (unsigned long)tf->rdi,
            (unsigned long)tf->rbp, (unsigned long)tf->r8);
    kprintf("R9 =%016lx R10=%016lx R11=%016lx R12=%016lx\n", (unsigned long)tf->r9, (unsigned long)tf->r10,
            (unsigned long)tf->r11, (unsigned long)tf->r12);
    kprintf("R13=%016lx R14=%016lx R15=%016lx\n", (unsigned long)tf->r13, (unsigned long)tf->r14,
            (unsigned long)tf->r15);
    dump_cregs();
    backtrace_from(tf->rbp, tf->rip);
    panic_exit();
}

_Noreturn void assert_fail(const char *expr, const char *file, int line, const char *func)
{
    panic("assertion failed: %s\n  at %s:%d in %s()", expr, file, line, func);
}
