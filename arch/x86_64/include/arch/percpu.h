/*
 * Per-CPU data that the entry code needs before CR3 points to the kernel:
 * struct cpu_entry, at the start of each CPU's entry area in the trampoline
 * region (GS.base while the kernel runs). Generic code reaches it through
 * this_entry() and ENTRY_INC(); the kernel-private per-CPU data (struct cpu,
 * kernel/cpu.h) is reached through arch_cpu_local().
 *
 * Nothing secret may live here: the entry area is mapped (supervisor-only)
 * in every user address space.
 *
 * The assembly reaches the fields at the CE_* offsets of the generated
 * asm-offsets.h (arch/x86_64/asm-offsets.c), never at written-out numbers:
 * fields may be added or moved freely (the struct must stay below the GDT
 * in the entry area: asserted there).
 */
#ifndef ARCH_PERCPU_H
#define ARCH_PERCPU_H

/* bits in cpu_entry.pending: work to do before returning to user mode */
#define PENDING_RESCHED 1
#define PENDING_UPCALL  2 /* the current thread may have an upcall to enter (kernel/vcpu.c) */
#define PENDING_DIRECT  4 /* this CPU's direct gate is to be taken down (kernel/vcpu.c) */

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>
#include "abi/airlock/layout.h"

struct cpu;

struct cpu_entry {
    struct cpu_entry *self;
    uint64_t kernel_cr3;
    uint64_t user_cr3;   /* CR3 of the current thread's task */
    uint64_t kstack_top; /* current thread's kernel stack top */
    uint64_t entry_top;
    uint64_t scratch;
    uint64_t cr3_writes;
    uint64_t syscalls;
    uint64_t interrupts;
    struct cpu *kcpu; /* kernel-private per-CPU data */
    uint64_t cpu_index;
    uint64_t pending;
    uint64_t tlb_flushes;
    uint64_t invlpg;
    uint64_t fpu_saves;
    uint64_t nmis;
    uint64_t fpu_restores;
    uint64_t ipc_fast, ipc_slow;
    /* the local APIC's EOI register, for the entry code: in xAPIC mode its
     * virtual address in the trampoline region (mapped in every space,
     * uncached, supervisor-only: write 0 to it), 0 in x2APIC mode (then
     * WRMSR 0x80B). Set by lapic_enable. */
    uint64_t eoi_mmio;
    /* upcalls (arch/vcpu.h): the trampoline's fast path */
    uint64_t upcall_eoi;  /* the local APIC's EOI register in the entry area, UPCALL_EOI_MSR in x2APIC mode (a
                           * WRMSR); 0: no fast path */
    uint64_t upcall_fast; /* deliveries by the trampoline on this CPU */
    uint64_t irq_tsc;     /* TSC at the arrival of the device interrupt being handled */
    uint64_t park_rdx, park_rcx, park_r8; /* irq_entry's registers (RAX: scratch) */
    uint64_t wait_head;   /* the trampoline's timed deliveries so far (struct vcpu_routes, waits) */
};

#define ENTRY_AREA(cpu) ((struct cpu_entry *)(AL_TRAMP_CPU_AREAS + (uint64_t)(cpu)*AL_TRAMP_CPU_SIZE))

/* this CPU's entry area, through GS (valid whenever the kernel runs) */
static inline struct cpu_entry *this_entry(void)
{
    struct cpu_entry *e;
    __asm__ volatile("movq %%gs:%c1, %0" : "=r"(e) : "i"(offsetof(struct cpu_entry, self)));
    return e;
}
#define ENTRY_INC(field) __asm__ volatile("incq %%gs:%c0" ::"i"(__builtin_offsetof(struct cpu_entry, field)) : "memory")

/* the kernel-private per-CPU data of this CPU (struct cpu) */
static inline struct cpu *arch_cpu_local(void)
{
    struct cpu *c;
    __asm__ volatile("movq %%gs:%c1, %0" : "=r"(c) : "i"(offsetof(struct cpu_entry, kcpu)));
    return c;
}

/* the pending-work word of this CPU */
static inline uint64_t arch_pending(void)
{
    uint64_t p;
    __asm__ volatile("movq %%gs:%c1, %0" : "=r"(p) : "i"(offsetof(struct cpu_entry, pending)));
    return p;
}

/* clear bits in this CPU's pending-work word */
static inline void arch_pending_clear(uint64_t bits)
{
    __asm__ volatile("andq %0, %%gs:%c1" ::"er"(~bits), "i"(offsetof(struct cpu_entry, pending)) : "memory");
}

/* what the entry code loads for the thread about to run: its kernel stack
 * top and its address space (written through GS: no pointer chase) */
static inline void arch_set_entry_thread(uint64_t kstack_top, uint64_t user_cr3)
{
    __asm__ volatile("movq %0, %%gs:%c1" ::"r"(kstack_top), "i"(offsetof(struct cpu_entry, kstack_top)) : "memory");
    __asm__ volatile("movq %0, %%gs:%c1" ::"r"(user_cr3), "i"(offsetof(struct cpu_entry, user_cr3)) : "memory");
}
#endif /* !__ASSEMBLER__ */
#endif
