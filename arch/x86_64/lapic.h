/*
 * Local APIC (xAPIC, MMIO). QEMU TCG has no x2APIC, so the MMIO interface is
 * the one used everywhere; it is also the fallback on real hardware.
 * The timer and the IPIs belong to the kernel; no user thread can reach
 * the APIC (its page is mapped only in the kernel space, uncached).
 */
#ifndef ARCH_X86_64_LAPIC_H
#define ARCH_X86_64_LAPIC_H
#include <stdint.h>
#include <arch/timer.h>

#define VEC_TIMER    0xEF
#define VEC_RESCHED  0xF0
#define VEC_TLB      0xF1
#define VEC_SPURIOUS 0xFF


extern uint64_t lapic_phys;     /* the local APIC's page (the MADT's or the MSR's) */
void lapic_init(uint64_t phys); /* BSP: map the page; every CPU: lapic_enable */
void lapic_enable(void);        /* this CPU: software-enable, mask LINTs, start timer */
uint32_t lapic_id(void);
void lapic_eoi(void);
void lapic_send_ipi(uint32_t apic_id, uint8_t vector);
void lapic_send_nmi_all_others(void);
void lapic_send_init_sipi(uint32_t apic_id, uint8_t page);
void lapic_timer_calibrate(void); /* BSP, against the PIT */

#endif
