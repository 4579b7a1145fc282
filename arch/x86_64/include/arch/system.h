/* System-wide services of the architecture layer that generic code calls. */
#ifndef ARCH_SYSTEM_H
#define ARCH_SYSTEM_H
#include <stdint.h>

unsigned arch_cpu_index(void);
void arch_stop_other_cpus(void);
/* QEMU: leave through isa-debug-exit with (code << 1) | 1; else halt. */
_Noreturn void arch_halt_system(int code);
/* bounds of the stack the caller runs on (for safe backtraces) */
void arch_stack_bounds(unsigned long *lo, unsigned long *hi);
#endif
