/*
 * Kernel address space construction.
 *
 * W^X: kernel text R-X, rodata R-- NX, data/bss RW- NX; the direct map is
 * RW NX everywhere except over the kernel image, where it is mapped with
 * 4 KiB pages and is read-only over text and rodata, so no writable alias
 * of kernel code exists. The trampoline text is mapped R-X + global at
 * AL_TRAMPOLINE (its image copy is R-- NX: it is never executed there).
 * Nothing in the kernel space is global except the trampoline region,
 * because global entries survive the CR3 switch to a user space.
 */
#include <arch/paging.h>
#include <arch/cpu.h>
#include "arch/x86_64/entry_area.h"
#include "kernel/frame.h"
#include "kernel/panic.h"
#include "kernel/console.h"
#include "lib/string.h"

extern char __tramp_start[], __tramp_end[], __text_start[], __text_end[];
extern char __rodata_start[], __rodata_end[], __data_start[], __data_end[];

uint64_t kernel_pml4;
uint64_t pte_nx;
static uint64_t tramp_pdpt;

/* frames that may appear under the trampoline slot (audit allow-list),
 * sorted: the audit looks up every leaf under the slot and in the user
 * half, on every new space (a binary search, not a scan of the list) */
#define MAX_TRAMP_FRAMES 2048
static uint64_t tramp_frames[MAX_TRAMP_FRAMES];
static unsigned ntramp_frames;

void paging_register_tramp_frame(uint64_t pa)
{
    assert(ntramp_frames < MAX_TRAMP_FRAMES);
    unsigned i = ntramp_frames++;
    for (; i > 0 && tramp_frames[i - 1] > pa; i--)
        tramp_frames[i] = tramp_frames[i - 1];
    tramp_frames[i] = pa;
}

int paging_is_tramp_frame(uint64_t pa)
{
    unsigned lo = 0, hi = ntramp_frames;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (tramp_frames[mid] < pa)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ntramp_frames && tramp_frames[lo] == pa;
}

static uint64_t kva_to_pa(const void *p)
{
    return (uint64_t)p - AL_KERNEL_BASE;
}

static void map_range(uint64_t va, uint64_t va_end, uint64_t pa, uint64_t flags)
{
    for (; va < va_end; va += 4096, pa += 4096)
        if (pt_map(kernel_pml4, va, pa, flags))
            panic("paging: cannot map %#lx", (unsigned long)va);
}

/* permissions of the image page at physical pa, as seen in the direct map */
static uint64_t direct_flags_for(uint64_t pa)
{
    if (pa >= kva_to_pa(__tramp_start) && pa < kva_to_pa(__rodata_end))
        return pte_nx; /* text and rodata: read-only alias */
    return PTE_W | pte_nx;
}

static uint64_t direct_top;
uint64_t paging_direct_top(void)
{
    return direct_top;
}

void paging_init(uint64_t max_phys)
{
    pte_nx = cpu_feat.nx ? PTE_NX : 0;
    kernel_pml4 = pt_alloc_table();
    tramp_pdpt = pt_alloc_table();
    if (!kernel_pml4 || !tramp_pdpt)
        panic("paging: out of memory");
    ((uint64_t *)p2v(kernel_pml4))[TRAMP_PML4_SLOT] = tramp_pdpt | PTE_P | PTE_W;

    /* kernel image */
    map_range((uint64_t)__tramp_start, (uint64_t)__tramp_end, kva_to_pa(__tramp_start), pte_nx);
    map_range((uint64_t)__text_start, (uint64_t)__text_end, kva_to_pa(__text_start), 0);
    map_range((uint64_t)__rodata_start, (uint64_t)__rodata_end, kva_to_pa(__rodata_start), pte_nx);
    map_range((uint64_t)__data_start, (uint64_t)__data_end, kva_to_pa(__data_start), PTE_W | pte_nx);

    /* direct map: 2 MiB pages, 4 KiB over the kernel image */
    uint64_t img_lo = AL_KERNEL_LOAD & ~0x1fffffULL;
    uint64_t img_hi = (kva_to_pa(__data_end) + 0x1fffff) & ~0x1fffffULL;
    uint64_t top = (max_phys + 0x1fffff) & ~0x1fffffULL;
    direct_top = top;
    for (uint64_t pa = 0; pa < top; pa += 0x200000) {
        if (pa >= img_lo && pa < img_hi) {
            for (uint64_t p = pa; p < pa + 0x200000; p += 4096)
                if (pt_map(kernel_pml4, AL_DIRECT_MAP + p, p, direct_flags_for(p)))
                    panic("paging: direct map");
        } else if (pt_map_large(kernel_pml4, AL_DIRECT_MAP + pa, pa, PTE_W | pte_nx)) {
            panic("paging: direct map");
        }
    }

    /* trampoline text alias: R-X, supervisor, global */
    for (uint64_t off = 0; off < (uint64_t)(__tramp_end - __tramp_start); off += 4096)
        paging_map_tramp(AL_TRAMPOLINE + off, kva_to_pa(__tramp_start) + off, 0);

    if (cpu_feat.pge)
        write_cr4(read_cr4() | CR4_PGE);
    write_cr0(read_cr0() | CR0_WP);
    __asm__ volatile("mov %0, %%cr3" ::"r"(kernel_pml4) : "memory");
}

void paging_map_tramp(uint64_t va, uint64_t pa, uint64_t flags)
{
    assert(va >= AL_TRAMPOLINE && va < AL_TRAMPOLINE + (1ULL << 39));
    assert(!(flags & PTE_U));
    if (pt_map(kernel_pml4, va, pa, flags | (cpu_feat.pge ? PTE_G : 0)))
        panic("paging: cannot map trampoline page %#lx", (unsigned long)va);
    paging_register_tramp_frame(pa);
}

uint64_t paging_tramp_pml4e(void)
{
    return ((uint64_t *)p2v(kernel_pml4))[TRAMP_PML4_SLOT];
}

void *paging_map_mmio(uint64_t pa, uint64_t size)
{
    static uint64_t next = MMIO_WINDOW;
    uint64_t off = pa & 0xfff, base = pa & ~0xfffULL;
    uint64_t va = next;
    for (uint64_t p = base; p < pa + size; p += 4096, next += 4096)
        if (pt_map(kernel_pml4, next, p, PTE_W | PTE_PCD | PTE_PWT | pte_nx))
            panic("paging: cannot map MMIO %#lx", (unsigned long)p);
    next += 4096; /* an unmapped page between mappings */
    return (void *)(va + off);
}

void paging_load_cr3(uint64_t cr3)
{
    __asm__ volatile("mov %0, %%cr3" ::"r"(cr3) : "memory");
    ENTRY_INC(cr3_writes);
}

void paging_invlpg(uint64_t va)
{
    invlpg(va);
    ENTRY_INC(invlpg);
}
