/*
 * arch/x86_64/entry.S — ALL kernel entry and exit code: the trampoline.
 *
 * This file is the only content of the .trampoline section. Those pages are
 * mapped twice: in the kernel image (unused for execution) and at
 * AL_TRAMPOLINE, read-only + executable + supervisor + global, in the kernel
 * space and in every user space (the same page tables). The IDT, LSTAR and
 * every exit jump use the AL_TRAMPOLINE alias, so code here must be
 * position independent: only relative jumps (and RIP-relative reads of
 * the constants at the end of the text: .Lzero and the C entry points)
 * inside this file, and absolute references to kernel symbols, used only
 * after CR3 points to the kernel: either movabs, or a 32-bit
 * sign-extended address operand, which reaches the kernel image because
 * -mcmodel=kernel keeps it in the top 2 GiB (the linker checks each one:
 * R_X86_64_32S). The operand form saves the movabs on the hot paths.
 *
 * GS: while the kernel runs, GS.base = this CPU's struct cpu_entry (in the
 * trampoline region, so it is valid under either CR3) and KERNEL_GS_BASE
 * holds the user's GS base. Entries from user mode SWAPGS first; exits
 * SWAPGS last. Entries from kernel mode do not touch GS or CR3.
 * Interrupts are disabled in the kernel (SYSCALL's FMASK clears IF, every
 * IDT gate is an interrupt gate), so only NMI, #MC and #DB can arrive
 * inside the entry/exit windows; they use the "paranoid" path that saves
 * and restores CR3 and GS.base whatever their state. (#DB: a single-step
 * trap that MOV SS / POP SS delayed past a SYSCALL or INT, or an
 * emulator's reading of TF across SYSCALL, lands on the first instruction
 * of the entry, before SWAPGS; db_entry below.)
 *
 * The trap frame (struct trap_frame, arch/x86_64/include/arch/trap.h) at
 * the top of the thread's kernel stack, low to high addresses (the numbers
 * are for orientation: the code uses the TF_* names only):
 *
 *   kstack_top - 176 -> +------+
 *                       | r15  |  0     \
 *                       | ...  |         | pushed by the stubs below
 *                       | rax  | 112    /  (a SYSCALL frame leaves r15, r14,
 *                       |vector| 120       r13, r12, rbp, rbx unwritten:
 *                       | error| 128       C preserves them; they never
 *                       | rip  | 136       leave through IRET)
 *                       | cs   | 144   \
 *                       |rflags| 152    | hardware frame, copied from the
 *                       | rsp  | 160    | per-CPU entry stack (user entry)
 *                       | ss   | 168   /  or pushed here (kernel entry)
 *   kstack_top       -> +------+
 *
 * Per-CPU entry stack (TSS.RSP0, in the trampoline region), user entry:
 *   the CPU pushes ss, rsp, rflags, cs, rip (+ error); the stub pushes
 *   error (0) and the vector (a struct hw_frame, HW_* offsets); common_entry
 *   copies these 7 words to the kernel stack after switching CR3. On exit
 *   the stub builds a struct exit_frame (saved RAX/RDI + IRET frame, EXF_*
 *   offsets) at the top of the entry stack, because the kernel stack is not
 *   mapped once CR3 holds the user's page tables.
 *
 * Offsets and sizes: every one comes from asm-offsets.h, generated from
 * the C structures at build time (arch/x86_64/asm-offsets.c); none is
 * written here as a number. Frames are built and taken apart with the
 * checked PUSHQ_AT/POPQ_AT macros below, so a push order that no longer
 * matches the structure stops the build instead of corrupting registers.
 */
#include "abi/airlock/layout.h"
#include "abi/airlock/errno.h"
#include "abi/airlock/upcall.h"
#include "arch/x86_64/entry_area.h"
#include <arch/cpu.h>
#include "asm-offsets.h"

/*
 * Checked frame pushes and pops. frame_sp is an assembly-time variable: the
 * offset, in the frame being built or taken apart, that RSP points at (it
 * follows the source text, so every entry point sets it with FRAME_AT).
 * Each macro emits exactly the one instruction it names; the .if lines only
 * compare numbers while assembling.
 *   FRAME_AT off           RSP points at offset off of the frame (no code)
 *   PUSHQ_AT src, field    pushq src, which must land on offset field
 *   POPQ_AT dst, field     popq dst, which must read offset field
 *   SKIP_DOWN from, to     subq: leave the slots [to, from) unwritten
 *   SKIP_UP from, to       addq: drop the slots [from, to)
 */
.macro FRAME_AT off:req
    .set frame_sp, \off
.endm
.macro PUSHQ_AT src:req, field:req
    pushq \src
    .set frame_sp, frame_sp - 8
    .if frame_sp != (\field)
    .error "frame push out of order: the frame's layout changed"
    .endif
.endm
.macro POPQ_AT dst:req, field:req
    .if frame_sp != (\field)
    .error "frame pop out of order: the frame's layout changed"
    .endif
    popq \dst
    .set frame_sp, frame_sp + 8
.endm
.macro SKIP_DOWN from:req, to:req
    .if frame_sp != (\from)
    .error "frame skip from the wrong slot"
    .endif
    subq $((\from) - (\to)), %rsp
    .set frame_sp, \to
.endm
.macro SKIP_UP from:req, to:req
    .if frame_sp != (\from)
    .error "frame skip from the wrong slot"
    .endif
    addq $((\to) - (\from)), %rsp
    .set frame_sp, \to
.endm

/* RSP -> TF_VECTOR: push rax down to r11, the registers C may clobber;
 * afterwards RSP -> TF_R11 (shared by PUSH_GPRS and syscall_entry, which
 * leaves the callee-saved rest unwritten) */
.macro PUSH_RAX_TO_R11
    PUSHQ_AT %rax, TF_RAX
    PUSHQ_AT %rcx, TF_RCX
    PUSHQ_AT %rdx, TF_RDX
    PUSHQ_AT %rsi, TF_RSI
    PUSHQ_AT %rdi, TF_RDI
    PUSHQ_AT %r8, TF_R8
    PUSHQ_AT %r9, TF_R9
    PUSHQ_AT %r10, TF_R10
    PUSHQ_AT %r11, TF_R11
.endm
/* RSP -> TF_VECTOR (the hardware frame is in place): push the general
 * registers; afterwards RSP -> the struct trap_frame */
.macro PUSH_GPRS
    PUSH_RAX_TO_R11
    PUSHQ_AT %rbx, TF_RBX
    PUSHQ_AT %rbp, TF_RBP
    PUSHQ_AT %r12, TF_R12
    PUSHQ_AT %r13, TF_R13
    PUSHQ_AT %r14, TF_R14
    PUSHQ_AT %r15, TF_R15
    .if frame_sp != 0
    .error "the pushes must end at the start of struct trap_frame"
    .endif
.endm
/* RSP -> the struct trap_frame: pop r15 down to r8; afterwards RSP ->
 * TF_RDI (shared by POP_GPRS and exit_user_iret, which takes RDI from its
 * exit frame instead) */
.macro POP_R15_TO_R8
    FRAME_AT 0
    POPQ_AT %r15, TF_R15
    POPQ_AT %r14, TF_R14
    POPQ_AT %r13, TF_R13
    POPQ_AT %r12, TF_R12
    POPQ_AT %rbp, TF_RBP
    POPQ_AT %rbx, TF_RBX
    POPQ_AT %r11, TF_R11
    POPQ_AT %r10, TF_R10
    POPQ_AT %r9, TF_R9
    POPQ_AT %r8, TF_R8
.endm
/* RSP -> the struct trap_frame: pop the general registers; afterwards
 * RSP -> TF_VECTOR */
.macro POP_GPRS
    POP_R15_TO_R8
    POPQ_AT %rdi, TF_RDI
    POPQ_AT %rsi, TF_RSI
    POPQ_AT %rdx, TF_RDX
    POPQ_AT %rcx, TF_RCX
    POPQ_AT %rax, TF_RAX
.endm

/* the slot of exit_frame field `off`, relative to the entry stack top (the
 * exit frame ends there) */
#define EXIT_SLOT(off) ((off) - EXF_SIZE)

    .section .trampoline, "ax"
    .code64
    .globl tramp_base
tramp_base:

/*
 * syscall_entry — SYSCALL from user mode.
 * In:  RAX = number, RDI RSI RDX R10 R8 R9 = arguments, RCX = user RIP,
 *      R11 = user RFLAGS, RSP = user stack, IF = 0 (FMASK), GS = user.
 * Out: (via syscall_exit) RAX = result, RDI..R10 from the frame (as
 *      passed unless the call rewrote them), RCX/R11 clobbered.
 * Cost on the fast path: two CR3 writes, no stack copy, no FPU work.
 */
    .align 16
    .globl syscall_entry
syscall_entry:
    swapgs
    movq %rsp, %gs:CE_SCRATCH
    movq %gs:CE_KCR3, %rsp
    movq %rsp, %cr3
    incq %gs:CE_CR3_WRITES
    movq %gs:CE_KSTACK_TOP, %rsp
    FRAME_AT TF_SIZE
    PUSHQ_AT $SEL_UDATA, TF_SS
    PUSHQ_AT %gs:CE_SCRATCH, TF_RSP
    PUSHQ_AT %r11, TF_RFLAGS
    PUSHQ_AT $SEL_UCODE, TF_CS
    PUSHQ_AT %rcx, TF_RIP
    PUSHQ_AT $0, TF_ERROR
    PUSHQ_AT $TF_VECTOR_SYSCALL, TF_VECTOR
    PUSH_RAX_TO_R11
    SKIP_DOWN TF_R11, 0                 /* the rest (rbx rbp r12-r15): not
                                           saved, C preserves them */
    incq %gs:CE_SYSCALLS
    lock btsl $0, bkl_word              /* the big kernel lock */
    jc .Lsyscall_bkl_contended
.Lsyscall_dispatch:
    cmpq $SYS_COUNT, %rax
    jae .Lsyscall_enosys
    /* Spectre v1: should the jae be mispredicted as not taken, RAX would
     * index syscall_table out of bounds. CMOV is not predicted: it waits
     * for the flags of the cmp, so a wrong-path RAX is 0, not the user's. */
    cmovaeq .Lzero(%rip), %rax
    movq %r10, %rcx                     /* 4th C argument */
    call *syscall_table(,%rax,8)
.Lsyscall_done:
    cmpq $0, %gs:CE_PENDING
    jne .Lsyscall_work
    movl $0, bkl_word                   /* release the BKL */
    .globl syscall_exit
syscall_exit:
    /* RSP -> frame, RAX = result, BKL released. Nothing below may fault. */
    movq TF_RSP(%rsp), %rcx
    movq %rcx, %gs:CE_SCRATCH
    movq TF_RIP(%rsp), %rcx             /* canonical: written by SYSCALL,
                                           and the top user page is never
                                           mapped (AL_USER_HI) */
    movq TF_RFLAGS(%rsp), %r11
    movq TF_R10(%rsp), %r10
    movq TF_R9(%rsp), %r9
    movq TF_R8(%rsp), %r8
    movq TF_RDI(%rsp), %rdi
    movq TF_RSI(%rsp), %rsi
    movq TF_RDX(%rsp), %rdx
    movq %gs:CE_UCR3, %rsp
    movq %rsp, %cr3
    incq %gs:CE_CR3_WRITES
    movq %gs:CE_SCRATCH, %rsp
    swapgs
    sysretq

.Lsyscall_enosys:
    movq $-AL_ENOSYS, %rax
    jmp .Lsyscall_done
.Lsyscall_work:
    /* pending work (a reschedule, an upcall to enter): C may switch
     * threads and comes back, and may rewrite the frame's RIP/RSP/RFLAGS */
    movq %rax, TF_RAX(%rsp)
    movq %rsp, %rdi
    movabsq $user_exit_work, %rax
    call *%rax
    movq TF_RAX(%rsp), %rax
    jmp .Lsyscall_done
.Lsyscall_bkl_contended:
    /* spin in C, then reload the argument registers */
    movabsq $bkl_lock_contended, %rax
    call *%rax
    movq TF_RDI(%rsp), %rdi
    movq TF_RSI(%rsp), %rsi
    movq TF_RDX(%rsp), %rdx
    movq TF_R10(%rsp), %r10
    movq TF_R8(%rsp), %r8
    movq TF_R9(%rsp), %r9
    movq TF_RAX(%rsp), %rax
    jmp .Lsyscall_dispatch

/*
 * vector_stubs — one stub per IDT vector, VECTOR_STUB_SIZE bytes apart
 * (padded with int3), generated here.
 * Each pushes a zero error code where the CPU pushes none, then the
 * vector number, and jumps to common_entry (or paranoid_entry for NMI,
 * #DF and #MC, and db_entry for #DB, which run on IST stacks; irq_entry
 * for the device vectors).
 */
    .align VECTOR_STUB_SIZE
    .globl vector_stubs
vector_stubs:
    .set vec, 0
    .rept IDT_VECTORS
    /* stub vec starts exactly at vector_stubs + vec * VECTOR_STUB_SIZE,
     * where cpu.c points the gate (.org fails if a stub outgrew its size) */
    .org vector_stubs + vec * VECTOR_STUB_SIZE, 0xcc
    .if !(vec == VEC_DF || vec == VEC_TS || vec == VEC_NP || vec == VEC_SS || vec == VEC_GP || vec == VEC_PF || vec == VEC_AC || vec == VEC_CP || vec == VEC_VC || vec == VEC_SX)
    pushq $0                            /* error: the CPU pushes none */
    .endif
    pushq $vec
    .if (vec == VEC_NMI || vec == VEC_DF || vec == VEC_MC)
    jmp paranoid_entry
    .elseif (vec == VEC_DB)
    jmp db_entry
    .elseif (vec >= IRQ_VEC_FIRST && vec <= IRQ_VEC_LAST && vec != IRQ_VEC_SYSCALL)
    jmp irq_entry
    .else
    jmp common_entry
    .endif
    .set vec, vec + 1
    .endr
    .org vector_stubs + IDT_VECTORS * VECTOR_STUB_SIZE, 0xcc

/*
 * common_entry — every non-IST vector.
 * In:  RSP -> vector, error, rip, cs, rflags, rsp, ss.
 *      From user: RSP is the per-CPU entry stack, CR3 = user, GS = user.
 *      From kernel: RSP is the current kernel stack, CR3 = kernel.
 * Calls trap_dispatch(struct trap_frame *) with CR3 = kernel, GS = kernel,
 * on the thread's kernel stack, then leaves the way it came.
 */
common_entry:
    testb $SEL_RPL_MASK, HW_CS(%rsp)
    jz .Lcommon_from_kernel
    swapgs
.Lcommon_from_user:                     /* (irq_entry joins here, GS swapped) */
    movq %rax, %gs:CE_SCRATCH
    movq %gs:CE_KCR3, %rax
    movq %rax, %cr3
    incq %gs:CE_CR3_WRITES
    movq %rsp, %rax                     /* -> struct hw_frame */
    movq %gs:CE_KSTACK_TOP, %rsp
    FRAME_AT TF_SIZE
    /* SS is not taken from the hardware frame: user mode has one stack
     * segment, and QEMU delivers a ring-3 IST gate (a direct upcall gate)
     * with SS null (RPL 3) where the SDM keeps SS; an IRET to ring 3 with
     * that SS raises #GP in the exit path, under the user's CR3 (decision 64) */
    PUSHQ_AT $SEL_UDATA, TF_SS
    PUSHQ_AT HW_RSP(%rax), TF_RSP
    PUSHQ_AT HW_RFLAGS(%rax), TF_RFLAGS
    PUSHQ_AT HW_CS(%rax), TF_CS
    PUSHQ_AT HW_RIP(%rax), TF_RIP
    PUSHQ_AT HW_ERROR(%rax), TF_ERROR
    PUSHQ_AT HW_VECTOR(%rax), TF_VECTOR
    movq %gs:CE_SCRATCH, %rax
.Lcommon_from_kernel:
    /* from kernel mode the CPU and the stub built the hardware frame in
     * place: it is the trap frame's tail (asserted in asm-offsets.c) */
    FRAME_AT TF_VECTOR
    PUSH_GPRS
    cld
    movq %rsp, %rdi
    call *.Ltrap_dispatch(%rip)
    testb $SEL_RPL_MASK, TF_CS(%rsp)
    jnz exit_user_iret
    POP_GPRS
    SKIP_UP TF_VECTOR, TF_RIP           /* vector, error */
    iretq

/*
 * irq_entry — the device vectors (IRQ_VEC_FIRST..IRQ_VEC_LAST, not int
 * $0x80): the arrival's TSC for the latency histograms (CE_IRQ_TSC), then
 * the upcall fast path, or common_entry.
 * In:  as common_entry. From kernel mode (the idle loop): common_entry.
 * Fast path (docs/ARCHITECTURE.md, section 11.11), taken when all hold:
 *  - the route's owner (VR_OWNER, kernel-written: the bound thread's
 *    kernel stack top | bit) is the thread running here (CE_KSTACK_TOP):
 *    the interrupt is this very thread's, and an MSI or an edge line
 *    (nothing to mask), so no kernel decision is needed; XOR leaves the
 *    bit, below UPCALL_BITS, exactly then;
 *  - the EOI can be sent from here (CE_UPCALL_EOI: the local APIC's EOI
 *    register mapped in the entry area, or VR_EOI_MSR in x2APIC mode, a
 *    WRMSR; 0 without SMAP or with the kernel_control knob off);
 *  - vif clear, or the interrupted RSP is off the interrupt stack (the
 *    kernel works out a nested handler's stack).
 * It counts the arrival (count[bit], pending bit: locked, as the kernel
 * and the thread write them too); if vif is set it saves RIP, RSP, RFLAGS
 * in the state area, clears vif and points the hardware frame at the
 * handler on the interrupt stack; then EOI and IRET. CR3 stays the
 * user's, no kernel stack or kernel C code is touched; the state area is
 * user memory (the thread's UTCB page, always mapped: STAC/CLAC).
 * RAX, RDX, RCX, R8 are parked in the entry area (CE_SCRATCH, CE_PARK_*).
 * Anything else: common_entry, past its SWAPGS, with RAX, RDX as they came.
 */
irq_entry:
    FRAME_AT TF_VECTOR
    testb $SEL_RPL_MASK, HW_CS(%rsp)
    jz .Lirq_from_kernel
    swapgs
    movq %rax, %gs:CE_SCRATCH
    movq %rdx, %gs:CE_PARK_RDX
    rdtsc
    shlq $32, %rdx
    orq %rdx, %rax
    movq %rax, %gs:CE_IRQ_TSC
    movq HW_VECTOR(%rsp), %rax
    movq %gs:VR_OWNER(, %rax, 8), %rdx
    xorq %gs:CE_KSTACK_TOP, %rdx            /* our thread's: the bit */
    cmpq $UPCALL_BITS, %rdx
    jae .Lirq_slow
    cmpq $0, %gs:CE_UPCALL_EOI
    je .Lirq_slow
    movq %rcx, %gs:CE_PARK_RCX
    movq %gs:VR_STATE(, %rax, 8), %rcx      /* the state area (user memory) */
    stac
    cmpq $0, UPS_VIF(%rcx)
    je .Lirq_count                          /* vif clear: only counted */
    movq %r8, %gs:CE_PARK_R8
    movq HW_RSP(%rsp), %r8
    cmpq %gs:VR_STACK_LO(, %rax, 8), %r8
    jbe .Lirq_enter
    cmpq %gs:VR_STACK_TOP(, %rax, 8), %r8
    jbe .Lirq_nested                        /* on the interrupt stack already */
.Lirq_enter:
    movq %r8, UPS_RSP(%rcx)
    movq HW_RIP(%rsp), %r8
    movq %r8, UPS_RIP(%rcx)
    movq HW_RFLAGS(%rsp), %r8
    movq %r8, UPS_RFLAGS(%rcx)
    andq $~RFLAGS_TF_DF, %r8
    movq %r8, HW_RFLAGS(%rsp)
    movq %gs:VR_ENTRY(, %rax, 8), %r8
    movq %r8, HW_RIP(%rsp)
    movq %gs:VR_STACK_TOP(, %rax, 8), %r8
    movq %r8, HW_RSP(%rsp)
    movq %gs:CE_IRQ_TSC, %r8
    movq %r8, UPS_ARRIVED_AT(%rcx)
    /* the wait, for the kernel's histogram: (now - arrival) << 8 | vector
     * into this CPU's ring (struct vcpu_routes, waits), slot, then count */
    movq %rdx, %r8                          /* (the bit, while RDTSC has RDX) */
    rdtsc
    shlq $32, %rdx
    orq %rdx, %rax
    subq %gs:CE_IRQ_TSC, %rax
    shlq $8, %rax
    orq HW_VECTOR(%rsp), %rax
    .if VR_WAIT_SLOTS != 256
    .error "the ring index below is the count's low byte"
    .endif
    movzbl %gs:CE_WAIT_HEAD, %edx
    movq %rax, %gs:VR_WAITS(, %rdx, 8)
    incq %gs:CE_WAIT_HEAD
    movq %r8, %rdx
    movq HW_VECTOR(%rsp), %rax
    movq %gs:CE_PARK_R8, %r8
    movq $0, UPS_VIF(%rcx)
    movq $0, UPS_REGS_SAVED(%rcx)
    movq $AL_UPCALL_PATH_TRAMPOLINE, UPS_PATH(%rcx)
    incq UPS_ENTRIES(%rcx)
.Lirq_count:
    lock incq UPS_COUNT(%rcx, %rdx, 8)
    lock btsq %rdx, UPS_PENDING(%rcx)
    clac
    incq %gs:VR_FAST(, %rax, 8)
    incq %gs:CE_UPCALL_FAST
    movq %gs:CE_UPCALL_EOI, %rax
    testb $VR_EOI_MSR, %al
    jnz .Lirq_eoi_msr
    movl $0, (%rax)                         /* EOI (xAPIC: the mapped register) */
.Lirq_eoi_sent:
    movq %gs:CE_PARK_RCX, %rcx
    movq %gs:CE_PARK_RDX, %rdx
    movq %gs:CE_SCRATCH, %rax
    swapgs
    movq $SEL_UDATA, HW_SS(%rsp)            /* (a direct handler's null SS: common_entry) */
    SKIP_UP TF_VECTOR, TF_RIP               /* vector, error */
    iretq
.Lirq_eoi_msr:                              /* EOI (x2APIC; RAX, RCX, RDX are parked) */
    movl $MSR_X2APIC_EOI, %ecx
    xorl %eax, %eax
    xorl %edx, %edx
    wrmsr
    jmp .Lirq_eoi_sent
.Lirq_nested:
    movq %gs:CE_PARK_R8, %r8
    clac
    movq %gs:CE_PARK_RCX, %rcx
.Lirq_slow:
    movq %gs:CE_PARK_RDX, %rdx
    movq %gs:CE_SCRATCH, %rax
    jmp .Lcommon_from_user
.Lirq_from_kernel:
    /* (GS is the kernel's; the kernel stack is ours to push on) */
    pushq %rax
    pushq %rdx
    rdtsc
    shlq $32, %rdx
    orq %rdx, %rax
    movq %rax, %gs:CE_IRQ_TSC
    popq %rdx
    popq %rax
    jmp common_entry

/*
 * exit_user_iret — leave to user mode through IRET.
 * In:  RSP -> a complete, sanitized trap frame on the kernel stack
 *      (user CS/SS, canonical user RIP, sane RFLAGS: nothing here faults),
 *      CR3 = kernel, GS = kernel. Used after exceptions, interrupts,
 *      int 0x80, and to start new threads.
 */
    .globl exit_user_iret
exit_user_iret:
    movq %gs:CE_ENTRY_TOP, %rdi         /* the exit frame ends here */
    movq TF_SS(%rsp), %rax
    movq %rax, EXIT_SLOT(EXF_SS)(%rdi)
    movq TF_RSP(%rsp), %rax
    movq %rax, EXIT_SLOT(EXF_RSP)(%rdi)
    movq TF_RFLAGS(%rsp), %rax
    movq %rax, EXIT_SLOT(EXF_RFLAGS)(%rdi)
    movq TF_CS(%rsp), %rax
    movq %rax, EXIT_SLOT(EXF_CS)(%rdi)
    movq TF_RIP(%rsp), %rax
    movq %rax, EXIT_SLOT(EXF_RIP)(%rdi)
    movq TF_RDI(%rsp), %rax
    movq %rax, EXIT_SLOT(EXF_RDI)(%rdi)
    movq TF_RAX(%rsp), %rax
    movq %rax, EXIT_SLOT(EXF_RAX)(%rdi)
    POP_R15_TO_R8
    SKIP_UP TF_RDI, TF_RSI              /* rdi: from the exit frame */
    POPQ_AT %rsi, TF_RSI
    POPQ_AT %rdx, TF_RDX
    POPQ_AT %rcx, TF_RCX
    leaq -EXF_SIZE(%rdi), %rsp          /* leave the kernel stack */
    movq %gs:CE_UCR3, %rax
    movq %rax, %cr3
    incq %gs:CE_CR3_WRITES
    FRAME_AT 0
    POPQ_AT %rax, EXF_RAX
    POPQ_AT %rdi, EXF_RDI
    .if frame_sp != EXF_RIP
    .error "IRETQ needs RSP at the exit frame's rip"
    .endif
    swapgs
    iretq

/*
 * db_entry — #DB (vector 1) on its IST stack (IST4), which it needs because
 * a #DB can arrive at CPL 0 on the first instruction of syscall_entry,
 * while RSP is still the user's.
 * From kernel mode: the paranoid path (paranoid_dispatch dismisses it).
 * From user mode (a program single-stepping itself, ICEBP): CR3 and GS are
 * the user's, and the per-CPU entry stack is free (nothing lives there
 * while the CPU runs user code), so the frame moves there, exactly where
 * the CPU would have pushed it through TSS.RSP0, and common_entry takes
 * over: the same path, and the same outcome, as before #DB had an IST.
 * The area is found from RSP, as in paranoid_entry (GS is the user's).
 * Only RAX and RCX are used, parked in the trap frame's own slots below the
 * hardware frame and taken back from the entry stack's copy.
 * Nesting: NMI and #MC have stacks of their own; nothing in this handler
 * or in the NMI/#MC/#DF handlers can raise a #DB (every gate clears TF, and
 * DR7 stays 0: decision 48), so IST4 is never entered twice.
 */
db_entry:
    FRAME_AT TF_VECTOR                      /* RSP -> struct hw_frame */
    testb $SEL_RPL_MASK, HW_CS(%rsp)
    jz paranoid_entry
    PUSHQ_AT %rax, TF_RAX
    PUSHQ_AT %rcx, TF_RCX
    movq %rsp, %rax
    andq $~(AL_TRAMP_CPU_SIZE - 1), %rax    /* this CPU's entry area */
    addq $(EA_ENTRY_TOP - TF_SIZE), %rax    /* a trap frame ending at the entry stack top */
    .irp f, TF_RCX, TF_RAX, TF_VECTOR, TF_ERROR, TF_RIP, TF_CS, TF_RFLAGS, TF_RSP, TF_SS
    movq (\f - TF_RCX)(%rsp), %rcx
    movq %rcx, \f(%rax)
    .endr
    leaq TF_RCX(%rax), %rsp                 /* leave the IST stack */
    POPQ_AT %rcx, TF_RCX
    POPQ_AT %rax, TF_RAX
    .if frame_sp != TF_VECTOR
    .error "common_entry needs RSP at the hardware frame"
    .endif
    jmp common_entry

/*
 * paranoid_entry — NMI, #DF, #MC and kernel-mode #DB on their IST stacks.
 * May interrupt anything, including the entry/exit windows above, so it
 * trusts neither CR3 nor GS: the CPU's entry area is derived from RSP (the
 * IST stacks lie inside it, which is aligned to its size), CR3 and GS.base
 * are saved in callee-saved registers, set to the kernel's, and restored
 * before IRET. KERNEL_GS_BASE is never touched.
 */
paranoid_entry:
    FRAME_AT TF_VECTOR                      /* RSP -> struct hw_frame */
    PUSH_GPRS
    cld
    movq %rsp, %rbx
    andq $~(AL_TRAMP_CPU_SIZE - 1), %rbx    /* this CPU's entry area */
    movq %cr3, %r12                         /* saved CR3 */
    movq CE_KCR3(%rbx), %rax
    movq %rax, %cr3
    incq CE_CR3_WRITES(%rbx)
    movl $MSR_GS_BASE, %ecx
    rdmsr
    shlq $32, %rdx
    orq %rax, %rdx
    movq %rdx, %r13                         /* saved GS.base */
    movq %rbx, %rax
    movq %rbx, %rdx
    shrq $32, %rdx
    wrmsr
    movq %rsp, %rdi
    call *.Lparanoid_dispatch(%rip)
    testb $SEL_RPL_MASK, TF_CS(%rsp)
    jz .Lparanoid_restore
    movq $SEL_UDATA, TF_SS(%rsp)            /* (as common_entry: a direct handler's null SS) */
.Lparanoid_restore:
    movl $MSR_GS_BASE, %ecx
    movq %r13, %rax
    movq %r13, %rdx
    shrq $32, %rdx
    wrmsr
    movq %r12, %cr3
    incq CE_CR3_WRITES(%rbx)
    POP_GPRS
    SKIP_UP TF_VECTOR, TF_RIP               /* vector, error */
    iretq

/* a zero for CMOV (which takes no immediate), read RIP-relative: the
 * trampoline alias maps it with the code */
    .align 8
.Lzero:
    .quad 0
/* the C entry points of the interrupt paths, called indirectly through
 * these (one instruction; a direct call cannot reach the kernel image from
 * the trampoline alias, which is more than 2 GiB away) */
.Ltrap_dispatch:
    .quad trap_dispatch
.Lparanoid_dispatch:
    .quad paranoid_dispatch

    .align 16
    .globl tramp_text_end
tramp_text_end:
