/*
 * I/O-port permissions in hardware: on x86_64 the I/O permission bitmap of
 * each CPU's TSS (in its entry area, docs/ARCHITECTURE.md section 7), one
 * bit per port, a set bit denies the port to user mode (which always runs
 * with IOPL 0). Generic code (kernel/ioport.c) builds each task's bitmap in
 * the same format and decides when a CPU's must change.
 *
 * All calls: BKL held, interrupts off.
 */
#ifndef ARCH_IOPORT_H
#define ARCH_IOPORT_H
#include <stdint.h>

#define ARCH_IOPORTS       65536              /* ports 0 .. 0xffff */
#define ARCH_IOBITMAP_SIZE (ARCH_IOPORTS / 8) /* bytes */

/* 1 if any port of [first, last] is one the kernel keeps for itself (the
 * PICs, the PIT and its gate, COM1, the VGA CRT controller, the debug-exit
 * port ...): those are never granted to user mode. */
int arch_ioport_reserved(unsigned first, unsigned last);
/* set the bits of every port the kernel keeps in a task bitmap */
void arch_ioport_deny_reserved(uint8_t *bitmap);
/* Make bytes [lo, hi) of CPU cpu's hardware bitmap those of `bitmap` (a
 * whole one; NULL: all ones); the caller knows the other bytes agree
 * already. Any CPU's may be written (the caller holds the BKL, under which
 * alone bitmaps change); a remote CPU running user code sees the change at
 * its next port access, arch_ioport_sync makes sure it has. */
void arch_ioport_load(unsigned cpu, const uint8_t *bitmap, unsigned lo, unsigned hi);
/* Return when every CPU in cpumask (bit i: CPU i; this CPU is skipped) has
 * taken an interrupt since the call: an instruction of user code it ran
 * before the call has completed, any later one sees the new bitmap. */
void arch_ioport_sync(uint64_t cpumask);
#endif
