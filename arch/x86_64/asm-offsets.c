/*
 * asm-offsets.c — the source of $(B)/gen/asm-offsets.h, the one header that
 * gives the assembly (entry.S, apboot.S, ...) the offsets and sizes of the C
 * structures it touches. Never linked: the Makefile compiles it with -S
 * (same flags as the kernel), and every DEFINE() below leaves a line
 *     .ascii "->SYM value expression"
 * in the assembler output, which a sed step turns into
 *     #define SYM value /+ expression +/
 * So the numbers come from the compiler's own layout of the structures: a
 * field moved in C moves in the assembly at the next build. The .d file of
 * this compilation makes the header follow every header included here.
 *
 * Conventions: CE_ struct cpu_entry, TF_ struct trap_frame, HW_ struct
 * hw_frame, EXF_ struct exit_frame, APB_ struct apboot_data; *_SIZE is a
 * sizeof. The _Static_asserts are the layout facts the assembly relies on
 * beyond single offsets (copies word by word, hardware frame order, what
 * fits where in the entry area).
 */
#include <stddef.h>
#include <arch/percpu.h>
#include <arch/trap.h>
#include "arch/x86_64/entry_area.h"
#include "arch/x86_64/apboot.h"
#include "abi/airlock/layout.h"
#include "abi/airlock/syscall.h"
#include "abi/airlock/upcall.h"
#include <arch/vcpu.h>
#include <arch/irq.h>
#include <arch/cpu.h>

/* %c0: the bare number, without the '$' of an immediate */
#define DEFINE(sym, val)         __asm__ volatile("\n.ascii \"->" #sym " %c0 " #val "\"" ::"i"((long)(val)))
#define OFFSET(sym, type, field) DEFINE(sym, offsetof(struct type, field))
#define SIZE(sym, type)          DEFINE(sym, sizeof(struct type))
#define BLANK()                  __asm__ volatile("\n.ascii \"->\"")

/* the hardware pushes these words, in this order (Intel SDM vol. 3A, "64-bit mode stack frame") */
#define ASSERT_HW_ORDER(a, b)                                                                                          \
    _Static_assert(offsetof(struct hw_frame, b) == offsetof(struct hw_frame, a) + 8, #b " after " #a)
ASSERT_HW_ORDER(vector, error);
ASSERT_HW_ORDER(error, rip);
ASSERT_HW_ORDER(rip, cs);
ASSERT_HW_ORDER(cs, rflags);
ASSERT_HW_ORDER(rflags, rsp);
ASSERT_HW_ORDER(rsp, ss);
_Static_assert(sizeof(struct hw_frame) == offsetof(struct hw_frame, ss) + 8, "ss ends the hardware frame");

/* the trap frame's tail is a struct hw_frame: common_entry copies one into
 * the other, and a kernel-mode entry has the CPU push it in place */
#define ASSERT_TF_TAIL(f)                                                                                              \
    _Static_assert(offsetof(struct trap_frame, f) ==                                                                   \
                       offsetof(struct trap_frame, vector) + offsetof(struct hw_frame, f),                             \
                   "trap_frame." #f " as in hw_frame")
ASSERT_TF_TAIL(error);
ASSERT_TF_TAIL(rip);
ASSERT_TF_TAIL(cs);
ASSERT_TF_TAIL(rflags);
ASSERT_TF_TAIL(rsp);
ASSERT_TF_TAIL(ss);
_Static_assert(sizeof(struct trap_frame) == offsetof(struct trap_frame, vector) + sizeof(struct hw_frame),
               "the hardware frame ends the trap frame (kstack_top)");
_Static_assert(sizeof(struct trap_frame) % 16 == 0, "the trap frame keeps the kernel stack 16-byte aligned");

/* IRETQ pops rip, cs, rflags, rsp, ss: the end of the exit frame */
#define ASSERT_IRET_ORDER(f)                                                                                           \
    _Static_assert(offsetof(struct exit_frame, f) - offsetof(struct exit_frame, rip) ==                                \
                       offsetof(struct hw_frame, f) - offsetof(struct hw_frame, rip),                                  \
                   "exit_frame." #f " in IRET order")
ASSERT_IRET_ORDER(cs);
ASSERT_IRET_ORDER(rflags);
ASSERT_IRET_ORDER(rsp);
ASSERT_IRET_ORDER(ss);
_Static_assert(sizeof(struct exit_frame) == offsetof(struct exit_frame, ss) + 8, "ss ends the exit frame");

/* the entry area (arch/x86_64/entry_area.h) */
_Static_assert(sizeof(struct cpu_entry) <= EA_GDT, "struct cpu_entry runs into the GDT");
_Static_assert(sizeof(struct exit_frame) <= EA_ENTRY_TOP - EA_ENTRY_STACK, "exit frame fits the entry stack");
_Static_assert(sizeof(struct hw_frame) <= EA_ENTRY_TOP - EA_ENTRY_STACK, "hardware frame fits the entry stack");
_Static_assert(sizeof(struct trap_frame) <= EA_ENTRY_TOP - EA_ENTRY_STACK,
               "db_entry's trap frame (a user #DB handed to common_entry) fits the entry stack");
_Static_assert(EA_IST_NMI - EA_IST_SIZE - 4096 >= EA_ENTRY_TOP && EA_IST_DF - EA_IST_SIZE - 4096 >= EA_IST_NMI &&
                   EA_IST_MC - EA_IST_SIZE - 4096 >= EA_IST_DF && EA_IST_DB - EA_IST_SIZE - 4096 >= EA_IST_MC,
               "each IST stack has an unmapped guard page below it");
_Static_assert(EA_UPCALL >= EA_IST_DB + 4096 && EA_UPCALL + VCPU_ROUTES_SIZE <= AL_TRAMP_CPU_SIZE,
               "the entry area fits its naturally aligned slot");
_Static_assert(sizeof(struct vcpu_routes) == VCPU_ROUTES_SIZE, "the route table fills its pages");

/* the AP start-up page: real mode, and its page number is the SIPI vector */
_Static_assert(AP_BOOT_PAGE % 4096 == 0 && AP_BOOT_PAGE < 0x100000, "AP_BOOT_PAGE: a page below 1 MiB");

void asm_offsets(void);
void asm_offsets(void)
{
    /* struct cpu_entry: %gs:CE_* while the kernel runs */
    OFFSET(CE_SELF, cpu_entry, self);
    OFFSET(CE_KCR3, cpu_entry, kernel_cr3);
    OFFSET(CE_UCR3, cpu_entry, user_cr3);
    OFFSET(CE_KSTACK_TOP, cpu_entry, kstack_top);
    OFFSET(CE_ENTRY_TOP, cpu_entry, entry_top);
    OFFSET(CE_SCRATCH, cpu_entry, scratch);
    OFFSET(CE_CR3_WRITES, cpu_entry, cr3_writes);
    OFFSET(CE_SYSCALLS, cpu_entry, syscalls);
    OFFSET(CE_INTERRUPTS, cpu_entry, interrupts);
    OFFSET(CE_KCPU, cpu_entry, kcpu);
    OFFSET(CE_CPU_INDEX, cpu_entry, cpu_index);
    OFFSET(CE_PENDING, cpu_entry, pending);
    OFFSET(CE_TLB_FLUSHES, cpu_entry, tlb_flushes);
    OFFSET(CE_INVLPG, cpu_entry, invlpg);
    OFFSET(CE_FPU_SAVES, cpu_entry, fpu_saves);
    OFFSET(CE_NMIS, cpu_entry, nmis);
    OFFSET(CE_FPU_RESTORES, cpu_entry, fpu_restores);
    OFFSET(CE_IPC_FAST, cpu_entry, ipc_fast);
    OFFSET(CE_IPC_SLOW, cpu_entry, ipc_slow);
    OFFSET(CE_EOI_MMIO, cpu_entry, eoi_mmio);
    OFFSET(CE_UPCALL_EOI, cpu_entry, upcall_eoi);
    OFFSET(CE_PARK_RDX, cpu_entry, park_rdx);
    OFFSET(CE_PARK_RCX, cpu_entry, park_rcx);
    OFFSET(CE_PARK_R8, cpu_entry, park_r8);
    OFFSET(CE_UPCALL_FAST, cpu_entry, upcall_fast);
    OFFSET(CE_IRQ_TSC, cpu_entry, irq_tsc);
    OFFSET(CE_WAIT_HEAD, cpu_entry, wait_head);
    SIZE(CE_SIZE, cpu_entry);
    BLANK();

    /* struct trap_frame: the register frame at the top of a kernel stack */
    OFFSET(TF_R15, trap_frame, r15);
    OFFSET(TF_R14, trap_frame, r14);
    OFFSET(TF_R13, trap_frame, r13);
    OFFSET(TF_R12, trap_frame, r12);
    OFFSET(TF_RBP, trap_frame, rbp);
    OFFSET(TF_RBX, trap_frame, rbx);
    OFFSET(TF_R11, trap_frame, r11);
    OFFSET(TF_R10, trap_frame, r10);
    OFFSET(TF_R9, trap_frame, r9);
    OFFSET(TF_R8, trap_frame, r8);
    OFFSET(TF_RDI, trap_frame, rdi);
    OFFSET(TF_RSI, trap_frame, rsi);
    OFFSET(TF_RDX, trap_frame, rdx);
    OFFSET(TF_RCX, trap_frame, rcx);
    OFFSET(TF_RAX, trap_frame, rax);
    OFFSET(TF_VECTOR, trap_frame, vector);
    OFFSET(TF_ERROR, trap_frame, error);
    OFFSET(TF_RIP, trap_frame, rip);
    OFFSET(TF_CS, trap_frame, cs);
    OFFSET(TF_RFLAGS, trap_frame, rflags);
    OFFSET(TF_RSP, trap_frame, rsp);
    OFFSET(TF_SS, trap_frame, ss);
    SIZE(TF_SIZE, trap_frame);
    BLANK();

    /* struct hw_frame: what a vector stub leaves on the stack it runs on */
    OFFSET(HW_VECTOR, hw_frame, vector);
    OFFSET(HW_ERROR, hw_frame, error);
    OFFSET(HW_RIP, hw_frame, rip);
    OFFSET(HW_CS, hw_frame, cs);
    OFFSET(HW_RFLAGS, hw_frame, rflags);
    OFFSET(HW_RSP, hw_frame, rsp);
    OFFSET(HW_SS, hw_frame, ss);
    SIZE(HW_SIZE, hw_frame);
    BLANK();

    /* struct exit_frame: built by exit_user_iret below the entry stack top */
    OFFSET(EXF_RAX, exit_frame, rax);
    OFFSET(EXF_RDI, exit_frame, rdi);
    OFFSET(EXF_RIP, exit_frame, rip);
    OFFSET(EXF_CS, exit_frame, cs);
    OFFSET(EXF_RFLAGS, exit_frame, rflags);
    OFFSET(EXF_RSP, exit_frame, rsp);
    OFFSET(EXF_SS, exit_frame, ss);
    SIZE(EXF_SIZE, exit_frame);
    BLANK();

    /* struct apboot_data: the AP start-up parameters (apboot.S) */
    OFFSET(APB_CR3, apboot_data, cr3);
    OFFSET(APB_EFER, apboot_data, efer);
    OFFSET(APB_STACK, apboot_data, stack);
    OFFSET(APB_ENTRY, apboot_data, entry);
    OFFSET(APB_CPU, apboot_data, cpu);
    SIZE(APB_SIZE, apboot_data);
    BLANK();

    /* struct vcpu_routes: the route table page of the entry area */
    DEFINE(VR_OWNER, EA_UPCALL + offsetof(struct vcpu_routes, owner));
    DEFINE(VR_STATE, EA_UPCALL + offsetof(struct vcpu_routes, state));
    DEFINE(VR_ENTRY, EA_UPCALL + offsetof(struct vcpu_routes, entry));
    DEFINE(VR_STACK_LO, EA_UPCALL + offsetof(struct vcpu_routes, stack_lo));
    DEFINE(VR_STACK_TOP, EA_UPCALL + offsetof(struct vcpu_routes, stack_top));
    DEFINE(VR_FAST, EA_UPCALL + offsetof(struct vcpu_routes, fast));
    DEFINE(VR_WAITS, EA_UPCALL + offsetof(struct vcpu_routes, waits));
    DEFINE(VR_WAIT_SLOTS, VCPU_WAIT_SLOTS);
    DEFINE(VR_EOI_MSR, UPCALL_EOI_MSR);
    BLANK();

    /* struct al_upcall_state: a thread's upcall state area, in its UTCB
     * (the trampoline's fast path and user/lib/upcall.S) */
    DEFINE(UPS_VIF, offsetof(struct al_upcall_state, vif));
    DEFINE(UPS_PENDING, offsetof(struct al_upcall_state, pending));
    DEFINE(UPS_REGS_SAVED, offsetof(struct al_upcall_state, regs_saved));
    DEFINE(UPS_PATH, offsetof(struct al_upcall_state, path));
    DEFINE(UPS_ENTRIES, offsetof(struct al_upcall_state, entries));
    DEFINE(UPS_ARRIVED_AT, offsetof(struct al_upcall_state, arrived_at));
    DEFINE(UPS_COUNT, offsetof(struct al_upcall_state, count));
#define UPS_REG(sym, r) DEFINE(sym, offsetof(struct al_upcall_state, saved.r))
    UPS_REG(UPS_RIP, rip);
    UPS_REG(UPS_RSP, rsp);
    UPS_REG(UPS_RFLAGS, rflags);
    UPS_REG(UPS_RAX, rax);
    UPS_REG(UPS_RBX, rbx);
    UPS_REG(UPS_RCX, rcx);
    UPS_REG(UPS_RDX, rdx);
    UPS_REG(UPS_RSI, rsi);
    UPS_REG(UPS_RDI, rdi);
    UPS_REG(UPS_RBP, rbp);
    UPS_REG(UPS_R8, r8);
    UPS_REG(UPS_R9, r9);
    UPS_REG(UPS_R10, r10);
    UPS_REG(UPS_R11, r11);
    UPS_REG(UPS_R12, r12);
    UPS_REG(UPS_R13, r13);
    UPS_REG(UPS_R14, r14);
    UPS_REG(UPS_R15, r15);
#define UPD_REG(sym, r) DEFINE(sym, offsetof(struct al_upcall_state, direct_saved.r))
    UPD_REG(UPD_RIP, rip);
    UPD_REG(UPD_RSP, rsp);
    UPD_REG(UPD_RFLAGS, rflags);
    UPD_REG(UPD_RAX, rax);
    UPD_REG(UPD_RBX, rbx);
    UPD_REG(UPD_RCX, rcx);
    UPD_REG(UPD_RDX, rdx);
    UPD_REG(UPD_RSI, rsi);
    UPD_REG(UPD_RDI, rdi);
    UPD_REG(UPD_RBP, rbp);
    UPD_REG(UPD_R8, r8);
    UPD_REG(UPD_R9, r9);
    UPD_REG(UPD_R10, r10);
    UPD_REG(UPD_R11, r11);
    UPD_REG(UPD_R12, r12);
    UPD_REG(UPD_R13, r13);
    UPD_REG(UPD_R14, r14);
    UPD_REG(UPD_R15, r15);
#undef UPD_REG
#undef UPS_REG
    DEFINE(UPCALL_OFFSET, AL_UPCALL_OFFSET);
    DEFINE(UPCALL_BITS, AL_UPCALL_BITS);
    OFFSET(HWF_RIP, hw_frame, rip); /* (the CPU's frame, as a direct gate pushes it) */
    OFFSET(HWF_RFLAGS, hw_frame, rflags);
    OFFSET(HWF_RSP, hw_frame, rsp);
    DEFINE(HWF_BASE, offsetof(struct hw_frame, rip));
    DEFINE(RFLAGS_TF_DF, RFLAGS_TF | RFLAGS_DF); /* cleared at a handler's entry */
    BLANK();

    /* the device vectors (irq_entry), int $0x80 not among them */
    DEFINE(IRQ_VEC_FIRST, ARCH_IRQ_VEC_FIRST);
    DEFINE(IRQ_VEC_LAST, ARCH_IRQ_VEC_LAST);
    DEFINE(IRQ_VEC_SYSCALL, ARCH_IRQ_VEC_SYSCALL);
    BLANK();

    /* system calls: numbers 0 .. SYS_COUNT - 1 index syscall_table */
    DEFINE(SYS_COUNT, AL_SYS_COUNT);
    DEFINE(SYS_UPCALL_RETURN, AL_SYS_upcall_return); /* (user/lib/upcall.S) */
    DEFINE(SYS_UPCALL_DIRECT_RETURN, AL_SYS_upcall_direct_return);
}
