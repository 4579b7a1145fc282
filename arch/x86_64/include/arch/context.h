/*
 * Kernel contexts of threads: the switch between two kernel stacks, the
 * first frame of a new thread, and the user-visible per-thread register
 * state that the switch carries (the FS base, which points to the UTCB).
 * Callers hold the big kernel lock with interrupts off.
 */
#ifndef ARCH_CONTEXT_H
#define ARCH_CONTEXT_H
#include <stdint.h>
#include <arch/cpu.h>

struct trap_frame;

/* save the callee-saved registers and RSP in *save, resume at next_ksp
 * (arch/x86_64/switch.S) */
void switch_context(uint64_t *save, uint64_t next_ksp);

/* A new user thread: fill its trap frame tf (user code and stack
 * selectors, IF set, rip/rsp, first two arguments) and return the kernel
 * stack pointer at which switch_context starts it; it leaves through the
 * trampoline with that frame. */
uint64_t arch_context_user(struct trap_frame *tf, uint64_t rip, uint64_t rsp, uint64_t arg0, uint64_t arg1);
/* A new kernel thread on the stack ending at stack_top: it runs fn(arg),
 * then thread_exit() with its result. */
uint64_t arch_context_kernel(uint64_t stack_top, void (*fn)(void *), void *arg);

/* the base of the thread-local segment (%fs) of the thread about to run */
static inline void arch_set_tls_base(uint64_t va)
{
    wrmsr(MSR_FS_BASE, va);
}
#endif
