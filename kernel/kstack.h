/*
 * Kernel stacks: KSTACK_SIZE bytes each, in slots of the kernel-stack region
 * (PML4 slot 508, kernel space only). The lower half of every slot is left
 * unmapped as a guard: an overflow faults (a #PF in kernel mode, which
 * escalates to #DF on the IST stack and panics) instead of corrupting.
 * Locking: big kernel lock.
 */
#ifndef KERNEL_KSTACK_H
#define KERNEL_KSTACK_H
#include <stdint.h>

#define KSTACK_PAGES 4
#define KSTACK_SIZE  (KSTACK_PAGES * 4096ULL)
#define KSTACK_SLOT  (2 * KSTACK_SIZE)
#define KSTACK_SLOTS 4096

/* Returns the slot index and sets *top, or -12 when out of memory/slots. */
void kstack_init(void); /* boot: page tables for the whole region */
int kstack_alloc(uint64_t *top);
void kstack_free(int slot);
uint64_t kstack_slot_top(int slot);
unsigned long kstack_live_count(void);
#endif
