/*
 * Local APIC: x2APIC mode (MSRs) where CPUID.1:ECX[21] says the CPU has it
 * and the command line does not say nox2apic, the xAPIC (MMIO) otherwise
 * (QEMU TCG has no x2APIC). The timer and the IPIs belong to the kernel;
 * no user thread can reach the APIC. In xAPIC mode its page is mapped
 * uncached in the kernel's MMIO window, and also at LAPIC_TRAMP_VA in the
 * trampoline region (supervisor-only) so that the entry code can write
 * the EOI register before CR3 holds the kernel's tables
 * (cpu_entry.eoi_mmio; docs/ARCHITECTURE.md section 10.3).
 */
#ifndef ARCH_X86_64_LAPIC_H
#define ARCH_X86_64_LAPIC_H
#include <stdint.h>
#include <arch/timer.h>
#include "abi/airlock/layout.h"

#define VEC_TIMER    0xEF
#define VEC_RESCHED  0xF0
#define VEC_TLB      0xF1
#define VEC_SPURIOUS 0xFF


/* the last page below the CPU entry areas (the trampoline text is far
 * smaller: the trampoline_mappings self-test) */
#define LAPIC_TRAMP_VA (AL_TRAMP_CPU_AREAS - 4096)

extern int lapic_x2apic;        /* x2APIC mode on every CPU */
extern uint64_t lapic_phys;     /* the local APIC's page (the MADT's or the MSR's) */
void lapic_init(uint64_t phys); /* BSP: map the page; every CPU: lapic_enable */
void lapic_enable(void);        /* this CPU: software-enable, mask LINTs, start timer */
uint32_t lapic_id(void);
void lapic_eoi(void);
void lapic_send_ipi(uint32_t apic_id, uint8_t vector);
void lapic_send_nmi_all_others(void);
void lapic_self_ipi(uint8_t vector);
int lapic_in_service_top(unsigned vector); /* 1: vector is the highest in service */
void lapic_send_init_sipi(uint32_t apic_id, uint8_t page);
void lapic_timer_calibrate(void); /* BSP, against the PIT */

#endif
