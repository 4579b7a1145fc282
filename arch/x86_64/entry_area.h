/*
 * The per-CPU entry area: the part of each CPU's state that must be
 * reachable before CR3 points to the kernel, and therefore lives in the
 * trampoline region (mapped supervisor-only, at the same address, in the
 * kernel space and in every user space). Shared between C and entry.S.
 *
 * Nothing secret may live here: it is mapped in user address spaces
 * (supervisor-only, but speculative attacks can read it). It holds CR3
 * values, stack pointers, counters and the CPU descriptor tables.
 *
 *  offset   size   what                               mapping
 *  0x00000  4K     struct cpu_entry (GS base); GDT at +0x800   RW NX
 *  0x01000  12K+1  TSS (ends at 0x2000), I/O bitmap 0x2000..0x3fff,
 *                  terminator byte at 0x4000                   RW NX
 *  0x05000  4K     IDT                                         R- NX
 *  0x06000  4K     guard (unmapped)
 *  0x07000  4K     entry stack: TSS.RSP0 = 0x8000              RW NX
 *  0x08000  4K     guard
 *  0x09000  8K     IST1 (NMI)   top 0x0b000                    RW NX
 *  0x0b000  4K     guard
 *  0x0c000  8K     IST2 (#DF)   top 0x0e000                    RW NX
 *  0x0e000  4K     guard
 *  0x0f000  8K     IST3 (#MC)   top 0x11000                    RW NX
 *  0x11000  4K     guard
 *  0x12000  8K     IST4 (#DB)   top 0x14000                    RW NX
 *  0x14000  4K     guard
 *  0x15000  16K    upcall routes (struct vcpu_routes)          RW NX
 *  0x19000  ...    unmapped up to AL_TRAMP_CPU_SIZE (128K)
 *
 * The area is aligned to its size, so code running on an IST stack finds
 * its CPU's area as RSP & ~(AL_TRAMP_CPU_SIZE-1) without trusting GS.
 *
 * The EA_* offsets below are the one definition of this layout (C and
 * assembly include them). The offsets of fields inside the structures that
 * the assembly reads or writes (struct cpu_entry, struct trap_frame,
 * struct hw_frame, struct exit_frame) are not written down anywhere: they
 * are generated from the C structures at build time into asm-offsets.h
 * (arch/x86_64/asm-offsets.c), which also asserts that they fit the
 * layout above (struct cpu_entry below the GDT, the frames on the entry
 * stack); cpu.c asserts the TSS against the I/O bitmap.
 */
#ifndef ARCH_X86_64_ENTRY_AREA_H
#define ARCH_X86_64_ENTRY_AREA_H

#define EA_GDT         0x00800
#define EA_TSS         0x01f98
#define EA_IOBITMAP    0x02000
#define EA_IOBM_END    0x04000
#define EA_IDT         0x05000
#define EA_ENTRY_STACK 0x07000
#define EA_ENTRY_TOP   0x08000
#define EA_IST_NMI     0x0b000
#define EA_IST_DF      0x0e000
#define EA_IST_MC      0x11000
#define EA_IST_DB      0x14000
#define EA_UPCALL      0x15000
/* every IST stack: EA_IST_* is its top, it is this long, and the page below
 * it is an unmapped guard */
#define EA_IST_SIZE    0x02000

/* the IST slots of the TSS (1-based, as the IDT gate's IST field) */
#define IST_NMI 1
#define IST_DF  2
#define IST_MC  3
#define IST_DB  4
#define IST_DIRECT 5 /* a direct ring-3 gate: the driver's own stack (arch/x86_64/vcpu.c) */

/* GDT selectors. SYSCALL loads CS=KCODE, SS=KCODE+8; SYSRET loads
 * CS=UCODE32+16 (=UCODE), SS=UCODE32+8 (=UDATA), hence this order. */
#define SEL_KCODE   0x08
#define SEL_KDATA   0x10
#define SEL_UCODE32 0x18
#define SEL_UDATA   0x23
#define SEL_UCODE   0x2b
#define SEL_TSS     0x30

/* the requested-privilege-level bits of a selector (3 = user) */
#define SEL_RPL_MASK 3

/* the IDT: one gate per vector, each pointing at a stub of this size in
 * vector_stubs (entry.S) */
#define IDT_VECTORS      256
#define VECTOR_STUB_SIZE 16

#ifndef __ASSEMBLER__
#include <stdint.h>

/*
 * What exit_user_iret builds at the top of the per-CPU entry stack (its
 * end is EA_ENTRY_TOP) before it leaves the kernel stack: the two registers
 * it still needs after the switch to the user's CR3, popped in this order,
 * then the IRET frame (architectural order).
 */
struct exit_frame {
    uint64_t rax, rdi;
    uint64_t rip, cs, rflags, rsp, ss;
};

struct trap_frame;
/* called from entry.S with the frame on the kernel stack (common path) or
 * on an IST stack (paranoid path: NMI, #DF, #MC, and #DB from kernel mode) */
void trap_dispatch(struct trap_frame *tf);
void paranoid_dispatch(struct trap_frame *tf);

/* #DB taken in kernel mode and dismissed (arch/x86_64/trap.c): counted by
 * cause, and the last one's frame address and RIP (for the self-tests) */
struct kernel_db_stats {
    unsigned long steps;       /* DR6.BS: a single-step (TF) trap */
    unsigned long breakpoints; /* DR6.B0-B3: a debug-register hit */
    unsigned long other;       /* neither (e.g. an emulator's own reading) */
    uint64_t last_frame;       /* address of the last one's trap frame */
    uint64_t last_rip, last_dr6;
};
void trap_kernel_db_stats(struct kernel_db_stats *out);
#endif

#include <arch/percpu.h>
#include <arch/trap.h>

#endif
