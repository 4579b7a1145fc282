#ifndef ARCH_SMP_H
#define ARCH_SMP_H
#include <stdint.h>
#define SMP_MAX_IOAPICS 8
/* what the ACPI MADT said: the CPUs it lists and the IOAPICs */
struct madt_summary {
    unsigned ncpus;
    uint32_t apic_ids[64];
    unsigned nioapics;
    uint32_t ioapic_addr[SMP_MAX_IOAPICS], ioapic_gsi[SMP_MAX_IOAPICS];
};
extern struct madt_summary smp_madt;
/* BSP, after the kernel address space and its own entry area are up, BKL held */
void smp_init(void);
/* ask CPU `cpu` to reschedule (an IPI) */
void arch_send_resched(unsigned cpu);
/* this CPU's interrupt-controller ID (the local APIC ID) */
uint32_t arch_cpu_hw_id(void);
/* a physical page of the platform's interrupt controllers (local APIC,
 * IOAPICs), which no user mapping may reach */
int arch_device_page_reserved(uint64_t pa);
#endif
