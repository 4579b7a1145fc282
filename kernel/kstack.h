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
/* The slots: as many as the memory could give threads, at least
 * KSTACK_SLOTS_MIN and at most KSTACK_SLOTS_MAX (set by kstack_init). A
 * thread's object, kernel stack and UTCB take KSTACK_PAGES + 2 frames of
 * some task's budget, so up to that bound the budgets, not a shared
 * count of slots, decide who may make threads (issue 12). */
#define KSTACK_SLOTS_MIN 4096
#define KSTACK_SLOTS_MAX 65536
extern unsigned kstack_slots;

/* Returns the slot index and sets *top, or -12 when out of memory/slots. */
void kstack_init(void); /* boot, after frame_init: the slots, and page tables for their region */
int kstack_alloc(uint64_t *top);
void kstack_free(int slot);
uint64_t kstack_slot_top(int slot);
unsigned long kstack_live_count(void);
#endif
