/*
 * TLB shootdown and address-space tags (docs/ARCHITECTURE.md section 10.6).
 *
 * Without PCID every CR3 write flushes all non-global entries, and every
 * kernel entry from user mode writes CR3; so a CPU that took the shootdown
 * IPI from user mode is already clean, and one that took it in the kernel
 * flushes explicitly (INVLPG for a few pages, a CR3 reload otherwise).
 *
 * With PCID (CR4.PCIDE, where the CPU has PCID and INVPCID and the command
 * line does not say nopcid) the kernel's space has tag 0 and each user
 * space a tag of its own (arch/x86_64/pcid.h), and the CR3 values the
 * entry code loads carry the no-flush bit: translations survive the
 * entries and exits. A user space's translations may then sit in the TLB
 * of every CPU that ever ran one of its threads, so its shootdowns go to
 * all of those (task_cpu_mask) and invalidate its tag by INVPCID.
 *
 * The initiator holds the BKL and waits for every target's
 * acknowledgement; targets acknowledge from the IPI handler or while
 * spinning for the BKL (tlb_poll), so the wait cannot deadlock.
 */
#ifndef ARCH_TLB_H
#define ARCH_TLB_H
#include <stdint.h>

#define CR3_NOFLUSH   (1ULL << 63) /* with CR4.PCIDE: keep the new tag's entries */
#define CR3_PCID_MASK 0xfffULL

/* BSP, once, before any CPU loads its entry area's CR3 values: use PCID or
 * not ('nopcid'; 'pcids=N' limits the pool, to test its exhaustion) */
void tlb_init(void);
/* 1 if CR3 writes keep user translations (PCID on): a space's shootdown
 * must reach every CPU that ran it, and a CR3 write is no TLB flush */
extern int tlb_pcid;
static inline int tlb_tagged(void)
{
    return tlb_pcid;
}
/* the kernel space's CR3 value for the entry code (cpu_entry.kernel_cr3) */
uint64_t tlb_kernel_cr3(void);
/* the CR3 value of a new user space with PML4 pml4 (its tag, if any,
 * comes from the pool; BKL held) */
uint64_t tlb_space_new(uint64_t pml4);
/* the space is gone and no CPU will load it again: drop its tag on every
 * CPU in cpumask (all that may hold it) and give the tag back. BKL held. */
void tlb_space_free(uint64_t space, uint64_t cpumask);

/* Invalidate kernel mappings [va, va + npages*4K) (npages 0: everything
 * non-global) on every CPU in cpumask (bit i = CPU i), including this one,
 * and return when all are done. BKL held. */
void tlb_shootdown(uint64_t cpumask, uint64_t va, uint64_t npages);
/* The same for the user mappings of the space `space` (a value of
 * tlb_space_new), or of every user space (space 0). Without PCID this CPU
 * skips its flush while it runs on the kernel's CR3, which then holds no
 * user translations. BKL held. */
void tlb_shootdown_user(uint64_t cpumask, uint64_t space, uint64_t va, uint64_t npages);
/* this CPU: serve a pending shootdown request, if any */
void tlb_poll(void);
uint64_t tlb_all_cpus(void);
#endif
