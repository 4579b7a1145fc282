/*
 * arch/x86_64/entry.S — ALL kernel entry and exit code: the trampoline.
 *
 * This file is the only content of the .trampoline section. Those pages are
 * mapped twice: in the kernel image (unused for execution) and at
 * AL_TRAMPOLINE, read-only + executable + supervisor + global, in the kernel
 * space and in every user space (the same page tables). The IDT, LSTAR and
 * every exit jump use the AL_TRAMPOLINE alias, so code here must be
 * position independent: only relative jumps inside this file, and absolute
 * (movabs) references to kernel symbols, which are used only after CR3
 * points to the kernel.
 *
 * GS: while the kernel runs, GS.base = this CPU's struct cpu_entry (in the
 * trampoline region, so it is valid under either CR3) and KERNEL_GS_BASE
 * holds the user's GS base. Entries from user mode SWAPGS first; exits
 * SWAPGS last. Entries from kernel mode do not touch GS or CR3.
 * Interrupts are disabled in the kernel (SYSCALL's FMASK clears IF, every
 * IDT gate is an interrupt gate), so only NMI and #MC can arrive inside the
 * entry/exit windows; they use the "paranoid" path that saves and restores
 * CR3 and GS.base whatever their state.
 *
 * The trap frame (struct trap_frame, arch/x86_64/entry_area.h) at the top
 * of the thread's kernel stack, low to high addresses:
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
 *   error (0) and the vector; common_entry copies these 7 words to the
 *   kernel stack after switching CR3. On exit the stub builds the IRET
 *   frame (+ saved RDI/RAX) there again, because the kernel stack is not
 *   mapped once CR3 holds the user's page tables.
 */
#include "abi/airlock/layout.h"
#include "abi/airlock/errno.h"
#include "arch/x86_64/entry_area.h"
#include <arch/cpu.h>

/* al_sys_count = highest syscall number + 1, from the one syscall list */
#define SYSCALL(nr, name, nargs, params, args) .set al_sys_count, (nr) + 1;
#include "abi/airlock/syscalls.def"
#undef SYSCALL

/* the general-register part of struct trap_frame, in its order */
.macro PUSH_GPRS
    pushq %rax
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
.endm
.macro POP_GPRS
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rax
.endm

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
    pushq $SEL_UDATA                    /* ss */
    pushq %gs:CE_SCRATCH                /* rsp */
    pushq %r11                          /* rflags */
    pushq $SEL_UCODE                    /* cs */
    pushq %rcx                          /* rip */
    pushq $0                            /* error */
    pushq $TF_VECTOR_SYSCALL            /* vector */
    pushq %rax
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    subq $48, %rsp                      /* rbx rbp r12-r15: not saved */
    incq %gs:CE_SYSCALLS
    movabsq $bkl_word, %r11             /* the big kernel lock */
    lock btsl $0, (%r11)
    jc 3f
4:  cmpq $al_sys_count, %rax
    jae 1f
    movq %r10, %rcx                     /* 4th C argument */
    movabsq $syscall_table, %r11
    call *(%r11,%rax,8)
5:  testq $PENDING_RESCHED, %gs:CE_PENDING
    jnz 2f
    movabsq $bkl_word, %rcx
    movl $0, (%rcx)                     /* release the BKL */
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

1:  movq $-AL_ENOSYS, %rax
    jmp 5b
2:  /* pending work (reschedule): C may switch threads and comes back */
    movq %rax, TF_RAX(%rsp)
    movq %rsp, %rdi
    movabsq $syscall_pending_work, %rax
    call *%rax
    movq TF_RAX(%rsp), %rax
    jmp 5b
3:  /* BKL contended: spin in C, then reload the argument registers */
    movabsq $bkl_lock_contended, %rax
    call *%rax
    movq TF_RDI(%rsp), %rdi
    movq TF_RSI(%rsp), %rsi
    movq TF_RDX(%rsp), %rdx
    movq TF_R10(%rsp), %r10
    movq TF_R8(%rsp), %r8
    movq TF_R9(%rsp), %r9
    movq TF_RAX(%rsp), %rax
    jmp 4b

/*
 * vector_stubs — one 16-byte stub per IDT vector, generated here.
 * Each pushes a zero error code where the CPU pushes none, then the
 * vector number, and jumps to common_entry (or paranoid_entry for NMI,
 * #DF and #MC, which run on IST stacks).
 */
    .align 16
    .globl vector_stubs
vector_stubs:
    .set vec, 0
    .rept 256
    .align 16
    .if !(vec == 8 || vec == 10 || vec == 11 || vec == 12 || vec == 13 || vec == 14 || vec == 17 || vec == 21 || vec == 29 || vec == 30)
    pushq $0
    .endif
    pushq $vec
    .if (vec == 2 || vec == 8 || vec == 18)
    jmp paranoid_entry
    .else
    jmp common_entry
    .endif
    .set vec, vec + 1
    .endr

/*
 * common_entry — every non-IST vector.
 * In:  RSP -> vector, error, rip, cs, rflags, rsp, ss.
 *      From user: RSP is the per-CPU entry stack, CR3 = user, GS = user.
 *      From kernel: RSP is the current kernel stack, CR3 = kernel.
 * Calls trap_dispatch(struct trap_frame *) with CR3 = kernel, GS = kernel,
 * on the thread's kernel stack, then leaves the way it came.
 */
common_entry:
    testb $3, 24(%rsp)
    jz 1f
    swapgs
    movq %rax, %gs:CE_SCRATCH
    movq %gs:CE_KCR3, %rax
    movq %rax, %cr3
    incq %gs:CE_CR3_WRITES
    movq %rsp, %rax
    movq %gs:CE_KSTACK_TOP, %rsp
    pushq 48(%rax)                      /* ss */
    pushq 40(%rax)                      /* rsp */
    pushq 32(%rax)                      /* rflags */
    pushq 24(%rax)                      /* cs */
    pushq 16(%rax)                      /* rip */
    pushq 8(%rax)                       /* error */
    pushq 0(%rax)                       /* vector */
    movq %gs:CE_SCRATCH, %rax
1:  PUSH_GPRS
    cld
    movq %rsp, %rdi
    movabsq $trap_dispatch, %rax
    call *%rax
    testb $3, TF_CS(%rsp)
    jnz exit_user_iret
    POP_GPRS
    addq $16, %rsp
    iretq

/*
 * exit_user_iret — leave to user mode through IRET.
 * In:  RSP -> a complete, sanitized trap frame on the kernel stack
 *      (user CS/SS, canonical user RIP, sane RFLAGS: nothing here faults),
 *      CR3 = kernel, GS = kernel. Used after exceptions, interrupts,
 *      int 0x80, and to start new threads.
 */
    .globl exit_user_iret
exit_user_iret:
    movq %gs:CE_ENTRY_TOP, %rdi
    movq TF_SS(%rsp), %rax
    movq %rax, -8(%rdi)
    movq TF_RSP(%rsp), %rax
    movq %rax, -16(%rdi)
    movq TF_RFLAGS(%rsp), %rax
    movq %rax, -24(%rdi)
    movq TF_CS(%rsp), %rax
    movq %rax, -32(%rdi)
    movq TF_RIP(%rsp), %rax
    movq %rax, -40(%rdi)
    movq TF_RDI(%rsp), %rax
    movq %rax, -48(%rdi)
    movq TF_RAX(%rsp), %rax
    movq %rax, -56(%rdi)
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    addq $8, %rsp                       /* rdi: from the entry stack */
    popq %rsi
    popq %rdx
    popq %rcx
    leaq -56(%rdi), %rsp                /* leave the kernel stack */
    movq %gs:CE_UCR3, %rax
    movq %rax, %cr3
    incq %gs:CE_CR3_WRITES
    popq %rax
    popq %rdi
    swapgs
    iretq

/*
 * paranoid_entry — NMI, #DF, #MC on their IST stacks.
 * May interrupt anything, including the entry/exit windows above, so it
 * trusts neither CR3 nor GS: the CPU's entry area is derived from RSP (the
 * IST stacks lie inside it, which is aligned to its size), CR3 and GS.base
 * are saved in callee-saved registers, set to the kernel's, and restored
 * before IRET. KERNEL_GS_BASE is never touched.
 */
paranoid_entry:
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
    movabsq $paranoid_dispatch, %rax
    call *%rax
    movl $MSR_GS_BASE, %ecx
    movq %r13, %rax
    movq %r13, %rdx
    shrq $32, %rdx
    wrmsr
    movq %r12, %cr3
    incq CE_CR3_WRITES(%rbx)
    POP_GPRS
    addq $16, %rsp
    iretq

    .align 16
    .globl tramp_text_end
tramp_text_end:
