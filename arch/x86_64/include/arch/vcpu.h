/*
 * Upcalls, the architecture's part (arch/x86_64/vcpu.c; the fast path in
 * arch/x86_64/entry.S, irq_entry; docs/ARCHITECTURE.md, section 11.11).
 *
 * The trampoline delivers an upcall by itself when the interrupted thread
 * is the one the vector is bound to. It knows that from the route table in
 * its CPU's entry area (EA_UPCALL, kernel-written): per vector, the kernel
 * stack top of the thread bound to it (which struct cpu_entry holds for
 * the thread running here anyway, CE_KSTACK_TOP) with the bit in its low
 * byte, and that thread's state area, entry point and interrupt stack. So
 * a thread switch costs nothing more. Generic code reaches the table
 * through these functions. BKL held.
 */
#ifndef ARCH_VCPU_H
#define ARCH_VCPU_H
#include <stdint.h>
#include <stddef.h>
#include <arch/percpu.h>

/* the route table pages of a CPU's entry area: one array per field, so
 * the trampoline indexes each by vector */
struct vcpu_routes {
    uint64_t owner[256];     /* kernel stack top of the bound thread | bit; 0: none */
    uint64_t state[256];     /* its state area (user address: its UTCB page) */
    uint64_t entry[256];     /* its handler */
    uint64_t stack_lo[256];  /* its interrupt stack [lo, top) */
    uint64_t stack_top[256];
    uint64_t fast[256];      /* deliveries by the trampoline on this CPU */
    /* the trampoline's deliveries, timed: a ring of (TSC cycles from the
     * arrival to the IRET into the handler) << 8 | vector, slot
     * cpu_entry.wait_head % 256 the next; the kernel reads it behind
     * (arch_vcpu_waits) */
    uint64_t waits[256];
    uint64_t unused[256];
};
#define VCPU_ROUTES_SIZE 0x4000 /* its pages */
#define VCPU_WAIT_SLOTS  256
/* cpu_entry.upcall_eoi in x2APIC mode: the fast path's EOI is a WRMSR */
#define UPCALL_EOI_MSR   1

/* vector is bound, on every CPU, to the thread whose kernel stack top is
 * kstack_top (0: to none) under bit, with its registration's addresses */
void arch_vcpu_route(unsigned vector, uint64_t kstack_top, unsigned bit, uint64_t state_va, uint64_t entry,
                     uint64_t stack_lo, uint64_t stack_top);
/* the trampoline's deliveries for vector, summed over the CPUs */
uint64_t arch_vcpu_fast_count(unsigned vector);
/* the trampoline's timed deliveries on every CPU since the last call, in
 * order per CPU: fn(vector, wait in TSC cycles) for each; those
 * overwritten before they were read (more than VCPU_WAIT_SLOTS on a CPU
 * between two calls) are skipped */
void arch_vcpu_waits(void (*fn)(unsigned vector, uint64_t wait));
/* the TSC at the arrival of the interrupt being handled (the trampoline
 * reads it first thing) */
static inline uint64_t arch_irq_arrived_at(void)
{
    uint64_t t;
    __asm__ volatile("movq %%gs:%c1, %0" : "=r"(t) : "i"(offsetof(struct cpu_entry, irq_tsc)));
    return t;
}
/* this CPU's local APIC is enabled (lapic_enable): the fast path may send
 * its EOI through cpu_entry.eoi_mmio (xAPIC) */
void vcpu_eoi_ready(void);
/* the fast path on (1) or off (0) on every CPU (a test and benchmark
 * knob, AL_KCTL_UPCALL_FASTPATH); returns the old setting */
int arch_vcpu_fast(int on);

/* direct ring-3 delivery, on this CPU (arch/x86_64/vcpu.c): the gate of
 * vector leads to entry in ring 3 on the stack ending at stack_top, or
 * back to the kernel */
void arch_direct_on(unsigned vector, uint64_t entry, uint64_t stack_top);
void arch_direct_off(unsigned vector);
/* vector is the highest in service on this CPU: its EOI is sent (1);
 * otherwise nothing (0) */
int arch_direct_eoi(unsigned vector);
/* a self-IPI of vector (a test knob: an interrupt that arrives while the
 * kernel runs) */
void arch_self_ipi(unsigned vector);

struct trap_frame;
/* leave a system call through IRET with every register from tf (the
 * current thread's user frame), dropping the BKL: for a call that
 * rewrote the whole context (upcall_return) */
_Noreturn void arch_return_user_full(struct trap_frame *tf);
#endif
