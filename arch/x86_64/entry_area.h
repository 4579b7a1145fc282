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
 *  0x11000  ...    unmapped up to AL_TRAMP_CPU_SIZE (128K)
 *
 * The area is aligned to its size, so code running on an IST stack finds
 * its CPU's area as RSP & ~(AL_TRAMP_CPU_SIZE-1) without trusting GS.
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

/* struct cpu_entry field offsets (checked against the C struct) */
#define CE_SELF         0
#define CE_KCR3         8
#define CE_UCR3         16
#define CE_KSTACK_TOP   24
#define CE_ENTRY_TOP    32
#define CE_SCRATCH      40
#define CE_CR3_WRITES   48
#define CE_SYSCALLS     56
#define CE_INTERRUPTS   64
#define CE_KCPU         72
#define CE_CPU_INDEX    80
#define CE_PENDING      88
#define CE_TLB_FLUSHES  96
#define CE_INVLPG       104
#define CE_FPU_SAVES    112
#define CE_NMIS         120
#define CE_FPU_RESTORES 128
#define CE_IPC_FAST     136
#define CE_IPC_SLOW     144

/* GDT selectors. SYSCALL loads CS=KCODE, SS=KCODE+8; SYSRET loads
 * CS=UCODE32+16 (=UCODE), SS=UCODE32+8 (=UDATA), hence this order. */
#define SEL_KCODE   0x08
#define SEL_KDATA   0x10
#define SEL_UCODE32 0x18
#define SEL_UDATA   0x23
#define SEL_UCODE   0x2b
#define SEL_TSS     0x30

/* trap frame offsets (struct trap_frame) */
#define TF_R15    0
#define TF_R14    8
#define TF_R13    16
#define TF_R12    24
#define TF_RBP    32
#define TF_RBX    40
#define TF_R11    48
#define TF_R10    56
#define TF_R9     64
#define TF_R8     72
#define TF_RDI    80
#define TF_RSI    88
#define TF_RDX    96
#define TF_RCX    104
#define TF_RAX    112
#define TF_VECTOR 120
#define TF_ERROR  128
#define TF_RIP    136
#define TF_CS     144
#define TF_RFLAGS 152
#define TF_RSP    160
#define TF_SS     168
#define TF_SIZE   176


#include <arch/percpu.h>
#include <arch/trap.h>

#endif
