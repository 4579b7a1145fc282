/*
 * In-kernel self-tests of #DB (vector 1) in kernel mode: it runs on its own
 * IST stack (IST4) through the paranoid path, and every kind is dismissed
 * (arch/x86_64/trap.c, kernel_debug_trap): a single-step (TF) trap, one
 * taken with GS.base not the kernel's (as on the first instruction of the
 * SYSCALL entry, before SWAPGS), a data breakpoint and an instruction
 * breakpoint. The user-mode side (single-stepping across SYSCALL and INT,
 * MOV SS) is in user/bin/crash.c.
 */
#include "kernel/selftest.h"
#include "kernel/console.h"
#include <arch/cpu.h>
#include <arch/paging.h>
#include <arch/percpu.h>
#include <arch/trap.h>
#include "arch/x86_64/entry_area.h"

/* DR7: local enable of breakpoint 0, and its kind and length fields */
#define DR7_L0          1ul
#define DR7_RW0_WRITE   (1ul << 16)
#define DR7_LEN0_8BYTES (2ul << 18)

static uint64_t read_dr7(void)
{
    uint64_t v;
    __asm__ volatile("movq %%dr7, %0" : "=r"(v));
    return v;
}

/* the trap frame of the last kernel #DB lay on this CPU's #DB stack */
static int on_db_stack(uint64_t frame)
{
    uint64_t base = (uint64_t)this_entry();
    return frame >= base + EA_IST_DB - EA_IST_SIZE && frame < base + EA_IST_DB;
}

SELFTEST(db_ist_gate)
{
    uint64_t base = (uint64_t)this_entry();
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) d;
    __asm__ volatile("sidt %0" : "=m"(d));
    const uint8_t *g = (const uint8_t *)d.base + VEC_DB * 16;
    ST_CHECK((g[4] & 7) == IST_DB); /* the gate's IST field */
    ST_CHECK(g[5] == 0x8E);         /* interrupt gate, DPL 0: INT 1 from user mode is #GP */
    /* TSS.IST4 (the TSS is packed: 4 reserved bytes, RSP0-2, 8 reserved, IST1-7) */
    uint64_t ist4;
    __builtin_memcpy(&ist4, (const char *)(base + EA_TSS + 4 + 3 * 8 + 8 + (IST_DB - 1) * 8), 8);
    ST_CHECK(ist4 == base + EA_IST_DB);
    for (uint64_t p = base + EA_IST_DB - EA_IST_SIZE; p < base + EA_IST_DB; p += 4096) {
        uint64_t e = pt_lookup(kernel_pml4, p, NULL);
        ST_CHECK((e & PTE_P) && (e & PTE_W) && (e & PTE_NX) && !(e & PTE_U));
    }
    ST_CHECK(pt_lookup(kernel_pml4, base + EA_IST_DB - EA_IST_SIZE - 4096, NULL) == 0); /* guard */
    ST_CHECK(pt_lookup(kernel_pml4, base + EA_IST_DB, NULL) == 0);                      /* above */
    ST_CHECK(read_dr7() == DR7_RESERVED); /* no breakpoint armed */
}

SELFTEST(db_kernel_single_step)
{
    struct kernel_db_stats a, b;
    uint64_t rip, rflags;
    trap_kernel_db_stats(&a);
    /* TF set by POPF traps after the next instruction (the first NOP):
     * RIP = 1b. The handler clears TF in the frame, so nothing else traps. */
    __asm__ volatile("pushfq; orq %[tf], (%%rsp); popfq; nop\n"
                     "1: nop; nop; leaq 1b(%%rip), %[rip]; pushfq; popq %[fl]"
                     : [rip] "=r"(rip), [fl] "=r"(rflags)
                     : [tf] "i"(RFLAGS_TF)
                     : "memory", "cc");
    trap_kernel_db_stats(&b);
    ST_CHECK(b.steps == a.steps + 1);
    ST_CHECK(b.breakpoints == a.breakpoints && b.other == a.other);
    ST_CHECK(b.last_rip == rip);
    ST_CHECK(b.last_dr6 & DR6_BS);
    ST_CHECK(on_db_stack(b.last_frame));
    ST_CHECK(!(rflags & RFLAGS_TF));
}

/* as on the first instruction of syscall_entry: GS.base is not this CPU's
 * entry area (SWAPGS has not run); the paranoid path must find its CPU from
 * RSP and give GS back as it found it */
SELFTEST(db_kernel_step_before_swapgs)
{
    struct kernel_db_stats a, b;
    uint64_t rip, kgs = rdmsr(MSR_KERNEL_GS_BASE);
    trap_kernel_db_stats(&a);
    __asm__ volatile("swapgs; pushfq; orq %[tf], (%%rsp); popfq; nop\n"
                     "1: nop; swapgs; leaq 1b(%%rip), %[rip]"
                     : [rip] "=r"(rip)
                     : [tf] "i"(RFLAGS_TF)
                     : "memory", "cc");
    trap_kernel_db_stats(&b);
    ST_CHECK(b.steps == a.steps + 1);
    ST_CHECK(b.last_rip == rip);
    ST_CHECK(on_db_stack(b.last_frame));
    ST_CHECK(rdmsr(MSR_GS_BASE) == (uint64_t)this_entry());
    ST_CHECK(rdmsr(MSR_KERNEL_GS_BASE) == kgs);
}

static volatile uint64_t watched;

SELFTEST(db_kernel_breakpoints)
{
    struct kernel_db_stats a, b, c;
    trap_kernel_db_stats(&a);
    /* a data breakpoint (a trap after the write): dismissed by disarming */
    __asm__ volatile("movq %0, %%dr0" ::"r"((uint64_t)&watched));
    __asm__ volatile("movq %0, %%dr7" ::"r"(DR7_RESERVED | DR7_L0 | DR7_RW0_WRITE | DR7_LEN0_8BYTES));
    watched = 42;
    trap_kernel_db_stats(&b);
    ST_CHECK(b.breakpoints == a.breakpoints + 1);
    ST_CHECK(b.last_dr6 & 1);
    ST_CHECK(on_db_stack(b.last_frame));
    ST_CHECK(read_dr7() == DR7_RESERVED);
    ST_CHECK(watched == 42);
    /* an instruction breakpoint (a fault, before the instruction): without
     * the disarming it would repeat forever */
    uint64_t at, ran = 0;
    __asm__ volatile("leaq 1f(%%rip), %[at]; movq %[at], %%dr0; movq %[dr7], %%dr7\n"
                     "1: incq %[ran]"
                     : [at] "=&r"(at), [ran] "+r"(ran)
                     : [dr7] "r"(DR7_RESERVED | DR7_L0)
                     : "memory");
    trap_kernel_db_stats(&c);
    ST_CHECK(c.breakpoints == b.breakpoints + 1);
    ST_CHECK(c.last_rip == at);
    ST_CHECK(ran == 1);
    ST_CHECK(read_dr7() == DR7_RESERVED);
    ST_CHECK(c.steps == a.steps && c.other == a.other);
}
