/* New thread contexts and stack bounds; see arch/context.h. */
#include <arch/context.h>
#include <arch/system.h>
#include <arch/init.h>
#include "arch/x86_64/entry_area.h"
#include "kernel/cpu.h"
#include "kernel/upcall.h"
#include "lib/string.h"

extern char thread_first_user[], thread_first_kernel[];
extern char kernel_boot_stack[], kernel_boot_stack_top[];

/* the frame switch_context pops (arch/x86_64/switch.S) */
static uint64_t push_switch_frame(uint64_t sp, void *ret, uint64_t r12, uint64_t r13)
{
    uint64_t *s = (uint64_t *)sp;
    *--s = (uint64_t)ret;
    *--s = 0; /* rbp */
    *--s = 0; /* rbx */
    *--s = r12;
    *--s = r13;
    *--s = 0; /* r14 */
    *--s = 0; /* r15 */
    return (uint64_t)s;
}

uint64_t arch_context_user(struct trap_frame *tf, uint64_t rip, uint64_t rsp, uint64_t arg0, uint64_t arg1)
{
    memset(tf, 0, sizeof *tf);
    tf->rip = rip;
    tf->cs = SEL_UCODE;
    tf->rflags = RFLAGS_IF | 2;
    tf->rsp = rsp;
    tf->ss = SEL_UDATA;
    tf->rdi = arg0;
    tf->rsi = arg1;
    return push_switch_frame((uint64_t)tf, thread_first_user, 0, 0);
}

uint64_t arch_context_kernel(uint64_t stack_top, void (*fn)(void *), void *arg)
{
    return push_switch_frame(stack_top, thread_first_kernel, (uint64_t)fn, (uint64_t)arg);
}

void arch_stack_bounds(unsigned long *lo, unsigned long *hi)
{
    if (percpu_ready && thread_kstack_bounds(lo, hi))
        return;
    *lo = (unsigned long)kernel_boot_stack;
    *hi = (unsigned long)kernel_boot_stack_top;
}
