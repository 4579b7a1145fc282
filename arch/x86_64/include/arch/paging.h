/*
 * The kernel address space and the shared trampoline page tables.
 *
 * kernel_pml4: the one kernel PML4 (all CPUs). Slots: 256.. direct map,
 * 508 kernel stacks, 510 trampoline region, 511 kernel image.
 * tramp_pdpt: the PDPT behind slot 510, shared by the kernel PML4 and every
 * user PML4; everything under it is supervisor-only.
 */
#ifndef ARCH_PAGING_H
#define ARCH_PAGING_H
#include <stdint.h>
#include <arch/pagetable.h>

#define TRAMP_PML4_SLOT  510
#define KSTACK_PML4_SLOT 508
#define MMIO_WINDOW      0xfffffe8000000000ULL /* slot 509 */

extern uint64_t kernel_pml4;
extern uint64_t pte_nx; /* PTE_NX if the CPU has NX, else 0 */

/* Build the kernel address space and switch to it. */
void paging_init(uint64_t max_phys);
/* Map a page into the trampoline region (supervisor, global). */
void paging_map_tramp(uint64_t va, uint64_t pa, uint64_t flags);
/* The PML4 entry every user space copies into slot TRAMP_PML4_SLOT. */
uint64_t paging_tramp_pml4e(void);

/* Map device memory [pa, pa+size) uncached into the kernel's MMIO window
 * (PML4 slot 509, kernel space only); returns its virtual address. */
void *paging_map_mmio(uint64_t pa, uint64_t size);
/* end of the direct map (physical) */
uint64_t paging_direct_top(void);

/* CR3 writes through the kernel: counted in the per-CPU entry area. */
void paging_load_cr3(uint64_t cr3);
/* Invalidate one page on this CPU (counted). */
void paging_invlpg(uint64_t va);

/* Is pa one of the frames that back the trampoline region? (for the audit) */
int paging_is_tramp_frame(uint64_t pa);
void paging_register_tramp_frame(uint64_t pa);
#endif
