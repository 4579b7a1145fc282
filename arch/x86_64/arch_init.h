#ifndef ARCH_X86_64_ARCH_INIT_H
#define ARCH_X86_64_ARCH_INIT_H
#include <stdint.h>
struct cpu_entry;
struct cpu_entry *entry_area_setup(unsigned idx);
void cpu_load(unsigned idx);
extern int percpu_ready;
#endif
