/*
 * Bringing the machine up, in the order kernel/main.c calls it: this CPU's
 * entry area and descriptor tables, the legacy PIC off, the trap table,
 * then the other CPUs (arch/smp.h).
 */
#ifndef ARCH_INIT_H
#define ARCH_INIT_H
#include <stdint.h>
struct cpu_entry;
/* build CPU idx's entry area (GDT, TSS, IDT, entry and IST stacks) */
struct cpu_entry *entry_area_setup(unsigned idx);
/* load CPU idx's descriptor tables, GS base, SYSCALL MSRs */
void cpu_load(unsigned idx);
/* this CPU's gate for vector: straight to entry in ring 3 on the stack
 * ending at stack_top (IST_DIRECT), or back to the kernel's stub */
void cpu_gate_direct(unsigned vector, uint64_t entry, uint64_t stack_top);
void cpu_gate_kernel(unsigned vector);
/* set once the boot CPU's GS-based per-CPU data is valid */
extern int percpu_ready;
void pic_disable(void);
void trap_init(void);
#endif
