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

/* exception vectors (architectural); macros, not an enum, because the
 * entry stubs (arch/x86_64/entry.S) use them too */
#define VEC_DE  0
#define VEC_DB  1
#define VEC_NMI 2
#define VEC_BP  3
#define VEC_OF  4
#define VEC_BR  5
#define VEC_UD  6
#define VEC_NM  7
#define VEC_DF  8
#define VEC_TS  10
#define VEC_NP  11
#define VEC_SS  12
#define VEC_GP  13
#define VEC_PF  14
#define VEC_MF  16
#define VEC_AC  17
#define VEC_MC  18
#define VEC_XM  19
#define VEC_VE  20
#define VEC_CP  21
#define VEC_VC  29
#define VEC_SX  30

#ifndef __ASSEMBLER__
#include <stdint.h>

/*
 * The hardware interrupt frame, completed by the entry stubs: vector and
 * error code (the stub pushes both, or only the vector where the CPU pushes
 * an error code), then what the CPU pushes, low to high addresses.
 */
struct hw_frame {
    int64_t vector;
    uint64_t error;
    uint64_t rip, cs, rflags, rsp, ss;
};

/*
 * The register frame of an entry (layout diagram: arch/x86_64/entry.S).
 * Its tail, from `vector` on, is a struct hw_frame field for field (the
 * entry code copies one into the other word by word; asserted in
 * arch/x86_64/asm-offsets.c, as is the hardware order of struct hw_frame).
 * The assembly takes every offset from the generated asm-offsets.h and
 * checks each push and pop against them, so reordering the general
 * registers here cannot silently break the entry path: it still works, or
 * the build stops.
 */
struct trap_frame {
    uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
    uint64_t rdi, rsi, rdx, rcx, rax;
    int64_t vector; /* = struct hw_frame from here on */
    uint64_t error;
    uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*trap_handler_fn)(struct trap_frame *tf);

/* aligned: the compiler may align section objects to 16 or 32 bytes, so the
 * type must have that alignment for the section to be a plain array */
struct trap_desc {
    int vector, last; /* the vectors [vector, last] */
    trap_handler_fn fn;
    const char *name;
} __attribute__((aligned(32)));

#define TRAP_RANGE(vec, vlast, fname)                                                                                  \
    static void fname(struct trap_frame *tf);                                                                          \
    static const struct trap_desc trap_desc_##fname __attribute__((section(".trap_table"), used)) = {                  \
        .vector = (vec), .last = (vlast), .fn = fname, .name = #fname};                                                \
    static void fname(struct trap_frame *tf)
/* one handler for one vector; TRAP_RANGE: one handler for a range (the
 * device vectors). trap_init refuses a vector with two handlers. */
#define TRAP_HANDLER(vec, fname) TRAP_RANGE(vec, vec, fname)

const char *trap_name(int vector); /* "#PF", "#GP", ... or "IRQ" */
unsigned long trap_unexpected_count(void); /* interrupts that arrived on a vector without a handler */
void arch_nmi(struct trap_frame *tf);
uint64_t tramp_alias(const void *sym);
/* kernel-mode entry points of the trampoline, as aliases */
extern char exit_user_iret[];
#endif /* !__ASSEMBLER__ */
#endif
