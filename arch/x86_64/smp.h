#ifndef ARCH_X86_64_SMP_H
#define ARCH_X86_64_SMP_H
#include <stdint.h>
#define SMP_MAX_IOAPICS 8
/* what the MADT said (for tests and the IRQ issue) */
struct madt_summary {
    unsigned ncpus;
    uint32_t apic_ids[64];
    unsigned nioapics;
    uint32_t ioapic_addr[SMP_MAX_IOAPICS], ioapic_gsi[SMP_MAX_IOAPICS];
};
extern struct madt_summary smp_madt;
/* BSP, after the kernel address space and its own entry area are up, BKL held */
void smp_init(void);
#endif
