/*
 * switch_context(uint64_t *save_rsp, uint64_t new_rsp)
 * Saves the callee-saved registers of the running thread on its kernel stack,
 * stores RSP in *save_rsp, and resumes the thread whose RSP is new_rsp.
 * Called from C only (sched.c) with interrupts disabled; CR3 is the kernel's
 * and stays so. FPU state is switched by the caller.
 *
 * A new thread's stack is prepared by thread.c as:
 *   [r15 r14 r13 r12 rbx rbp] [return address] [...]
 * with the return address thread_first_user (RSP then points at its trap
 * frame) or thread_first_kernel (R12 = function, R13 = argument).
 * Both run sched_switch_tail() first, as switch_to() does after
 * switch_context returns, and kernel threads keep the BKL.
 */
#include "abi/airlock/layout.h"

    .text
    .globl switch_context
switch_context:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret

    .globl thread_first_user
thread_first_user:
    /* RSP -> the new thread's trap frame; finish the switch, then leave as
     * arch_return_user_full does */
    call sched_switch_tail
    movq %rsp, %rdi
    jmp arch_return_user_full

/*
 * arch_return_user_full(tf) — leave a system call through IRET with every
 * register taken from the frame (arch/vcpu.h). In: RDI -> the current
 * thread's user trap frame (the top of its kernel stack), BKL held,
 * interrupts off, no pending work left. The C frames below are dropped.
 */
    .globl arch_return_user_full
arch_return_user_full:
    movq %rdi, %rsp
    call bkl_unlock
    /* the alias of exit_user_iret, computed as tramp_alias() (cpu.c) does */
    movabsq $exit_user_iret, %rax
    movabsq $__tramp_start, %rcx
    subq %rcx, %rax
    movabsq $AL_TRAMPOLINE, %rcx
    addq %rcx, %rax
    jmp *%rax

    .globl thread_first_kernel
thread_first_kernel:
    call sched_switch_tail
    xorl %ebp, %ebp
    movq %r13, %rdi
    call *%r12
    movq %rax, %rdi
    call thread_exit
    ud2
