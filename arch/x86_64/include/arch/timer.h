/*
 * Time: the monotonic clock and the scheduler tick. On x86_64 the clock is
 * the TSC calibrated against the PIT, and the tick is the local APIC timer
 * (arch/x86_64/lapic.c), which belongs to the kernel.
 */
#ifndef ARCH_TIMER_H
#define ARCH_TIMER_H
#include <stdint.h>

#define TIMER_HZ 100 /* scheduler tick */

uint64_t clock_ns(void); /* monotonic, nanoseconds since boot */
void udelay(uint64_t us);
uint64_t tsc_to_ns(uint64_t ticks);
#endif
