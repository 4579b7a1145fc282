/*
 * Interrupt and exception handlers are plain C functions declared with
 * TRAP_HANDLER(vector, name). The generated entry stub for the vector has
 * already saved the complete general-register frame (struct trap_frame) on
 * the thread's kernel stack; the FPU/SSE/AVX state is untouched by kernel
 * code (built with -mgeneral-regs-only) and is saved eagerly at every thread
 * switch, so a handler that switches threads preserves it too.
 *
 * Handlers run with interrupts disabled and the big kernel lock held (except
 * the TLB-shootdown IPI), on the current thread's kernel stack, CR3 = kernel.
 */
#ifndef ARCH_TRAP_H
#define ARCH_TRAP_H

/* trap_frame.vector of a SYSCALL entry */
#define TF_VECTOR_SYSCALL (-1)

#ifndef __ASSEMBLER__
#include <stdint.h>

/* the register frame of an entry (layout diagram: arch/x86_64/entry.S) */
struct trap_frame {
    uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
    uint64_t rdi, rsi, rdx, rcx, rax;
    int64_t vector;
    uint64_t error;
    uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*trap_handler_fn)(struct trap_frame *tf);

/* aligned: the compiler may align section objects to 16 or 32 bytes, so the
 * type must have that alignment for the section to be a plain array */
struct trap_desc {
    int vector;
    trap_handler_fn fn;
    const char *name;
} __attribute__((aligned(32)));

#define TRAP_HANDLER(vec, fname)                                                                                       \
    static void fname(struct trap_frame *tf);                                                                          \
    static const struct trap_desc trap_desc_##fname                                                                    \
        __attribute__((section(".trap_table"), used)) = {(vec), fname, #fname};                                        \
    static void fname(struct trap_frame *tf)

enum {
    VEC_DE = 0,
    VEC_DB = 1,
    VEC_NMI = 2,
    VEC_BP = 3,
    VEC_OF = 4,
    VEC_BR = 5,
    VEC_UD = 6,
    VEC_NM = 7,
    VEC_DF = 8,
    VEC_TS = 10,
    VEC_NP = 11,
    VEC_SS = 12,
    VEC_GP = 13,
    VEC_PF = 14,
    VEC_MF = 16,
    VEC_AC = 17,
    VEC_MC = 18,
    VEC_XM = 19,
    VEC_VE = 20,
    VEC_CP = 21,
};

const char *trap_name(int vector); /* "#PF", "#GP", ... or "IRQ" */
unsigned long trap_unexpected_count(void); /* interrupts that arrived on a vector without a handler */
void arch_nmi(struct trap_frame *tf);
uint64_t tramp_alias(const void *sym);
/* kernel-mode entry points of the trampoline, as aliases */
extern char exit_user_iret[];
#endif /* !__ASSEMBLER__ */
#endif
