/*
 * al_upcall_entry — the entry point user/lib registers for upcalls
 * (al_upcall_setup, user/lib/airlock.h; abi/airlock/upcall.h).
 * In:  RSP = the interrupt stack (16-byte aligned), every general
 *      register the interrupted code's (state->regs_saved = 0), or, when
 *      upcall_return entered the handler again, the handler's own
 *      (regs_saved = 1: state->saved is complete already). FS = the UTCB.
 * It completes state->saved with the general registers, saves the
 * interrupted SSE state (FXSAVE64) on the interrupt stack, calls
 * al_upcall_fn(state), restores the SSE state and returns through
 * upcall_return, which never comes back unless it refused the saved
 * context (then the thread stops on UD2).
 */
#include "asm-offsets.h"
#include "abi/airlock/upcall.h"

#define ST(field) %fs:(UPCALL_OFFSET + field)

    .set FXSAVE_SIZE, 512

    .text
    .globl al_upcall_entry
al_upcall_entry:
    cmpq $0, ST(UPS_REGS_SAVED)
    jne .Lsaved
    movq %rax, ST(UPS_RAX)
    movq %rbx, ST(UPS_RBX)
    movq %rcx, ST(UPS_RCX)
    movq %rdx, ST(UPS_RDX)
    movq %rsi, ST(UPS_RSI)
    movq %rdi, ST(UPS_RDI)
    movq %rbp, ST(UPS_RBP)
    movq %r8, ST(UPS_R8)
    movq %r9, ST(UPS_R9)
    movq %r10, ST(UPS_R10)
    movq %r11, ST(UPS_R11)
    movq %r12, ST(UPS_R12)
    movq %r13, ST(UPS_R13)
    movq %r14, ST(UPS_R14)
    movq %r15, ST(UPS_R15)
    movq $1, ST(UPS_REGS_SAVED)
.Lsaved:
    subq $FXSAVE_SIZE, %rsp
    fxsave64 (%rsp)
    xorl %ebp, %ebp
    movq %fs:0, %rdi                    /* the UTCB's self pointer */
    addq $UPCALL_OFFSET, %rdi
    call *al_upcall_fn(%rip)
    fxrstor64 (%rsp)
    movl $SYS_UPCALL_RETURN, %eax
    xorl %edi, %edi
    syscall
    ud2

/*
 * al_upcall_direct_entry — where a direct gate leads (al_upcall_direct,
 * irq_bind_direct; docs/ABI.md section 5.15), in ring 3 with IF set.
 * In:  RSP -> the CPU's frame (RIP CS RFLAGS RSP SS) at the top of the
 *      direct stack; every general register the interrupted code's.
 * It stores the interrupted context into state->direct_saved (the
 * registers, then RIP, RSP, RFLAGS from the CPU's frame), counts the
 * arrival in the state area under al_upcall_direct_bit (the kernel never
 * saw it), saves the SSE state, calls al_upcall_fn(state) and returns
 * through upcall_direct_return, which sends the EOI and restores
 * direct_saved; UD2 if that refuses.
 */
#define SD(field) %fs:(UPCALL_OFFSET + field)
/* the CPU's frame field f, RSP pointing at its RIP */
#define CPUF(f) ((f) - HWF_BASE)(%rsp)
    .globl al_upcall_direct_entry
al_upcall_direct_entry:
    movq %rax, SD(UPD_RAX)
    movq %rbx, SD(UPD_RBX)
    movq %rcx, SD(UPD_RCX)
    movq %rdx, SD(UPD_RDX)
    movq %rsi, SD(UPD_RSI)
    movq %rdi, SD(UPD_RDI)
    movq %rbp, SD(UPD_RBP)
    movq %r8, SD(UPD_R8)
    movq %r9, SD(UPD_R9)
    movq %r10, SD(UPD_R10)
    movq %r11, SD(UPD_R11)
    movq %r12, SD(UPD_R12)
    movq %r13, SD(UPD_R13)
    movq %r14, SD(UPD_R14)
    movq %r15, SD(UPD_R15)
    movq CPUF(HWF_RIP), %rax
    movq %rax, SD(UPD_RIP)
    movq CPUF(HWF_RSP), %rax
    movq %rax, SD(UPD_RSP)
    movq CPUF(HWF_RFLAGS), %rax
    movq %rax, SD(UPD_RFLAGS)
    cld
    movq %fs:0, %rdi
    addq $UPCALL_OFFSET, %rdi
    movq al_upcall_direct_bit(%rip), %rcx
    lock incq UPS_COUNT(%rdi, %rcx, 8)
    lock btsq %rcx, UPS_PENDING(%rdi)
    movq $AL_UPCALL_PATH_DIRECT, UPS_PATH(%rdi)
    incq UPS_ENTRIES(%rdi)
    andq $-16, %rsp
    subq $FXSAVE_SIZE, %rsp
    fxsave64 (%rsp)
    xorl %ebp, %ebp
    call *al_upcall_fn(%rip)
    fxrstor64 (%rsp)
    movl $SYS_UPCALL_DIRECT_RETURN, %eax
    syscall
    ud2
