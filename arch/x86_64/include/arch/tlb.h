/*
 * TLB shootdown. Without PCID every CR3 write flushes all non-global
 * entries, and every kernel entry from user mode writes CR3; so a CPU that
 * took the shootdown IPI from user mode is already clean, and one that took
 * it in the kernel flushes explicitly (INVLPG for a few pages, a CR3 reload
 * otherwise). The initiator holds the BKL and waits for every target's
 * acknowledgement; targets acknowledge from the IPI handler or while
 * spinning for the BKL (tlb_poll), so the wait cannot deadlock.
 */
#ifndef ARCH_TLB_H
#define ARCH_TLB_H
#include <stdint.h>

/* Invalidate [va, va + npages*4K) (npages 0: everything non-global) on
 * every CPU in cpumask (bit i = CPU i), including this one, and return when
 * all are done. BKL held. */
void tlb_shootdown(uint64_t cpumask, uint64_t va, uint64_t npages);
/* The same for user mappings only: this CPU skips its flush while it runs
 * on the kernel's CR3, which holds no user translations (no PCID). */
void tlb_shootdown_user(uint64_t cpumask, uint64_t va, uint64_t npages);
/* this CPU: serve a pending shootdown request, if any */
void tlb_poll(void);
uint64_t tlb_all_cpus(void);
#endif
