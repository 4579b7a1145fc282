#include "kernel/kstack.h"
#include "abi/airlock/layout.h"
#include <arch/paging.h>
#include "kernel/frame.h"
#include "kernel/panic.h"
#include "kernel/console.h"
#include <arch/tlb.h>

unsigned kstack_slots;
static uint8_t used[KSTACK_SLOTS_MAX];
static unsigned hint;
static unsigned long live;

/* Make the page tables of the whole region now, so stacks never allocate
 * (and leak-count) kernel page tables later. */
void kstack_init(void)
{
    uint64_t per_table = 0x200000 / KSTACK_SLOT, n = frame_total_count() / (KSTACK_PAGES + 2);
    n = n < KSTACK_SLOTS_MIN ? KSTACK_SLOTS_MIN : n > KSTACK_SLOTS_MAX ? KSTACK_SLOTS_MAX : n;
    kstack_slots = (unsigned)((n + per_table - 1) / per_table * per_table); /* (whole page tables) */
    kprintf("kstack: %u slots (%lu MiB of kernel address space, %lu page tables)\n", kstack_slots,
            (unsigned long)(kstack_slots * KSTACK_SLOT >> 20), (unsigned long)(kstack_slots / per_table));
    /* one page, mapped and unmapped where each table goes, so that pt_map
     * makes the table; the tables lie together (a page freed between each
     * two would leave holes that slow every later contiguous search) */
    uint64_t pa = frame_alloc();
    for (int s = 0; s < (int)kstack_slots; s += (int)per_table) {
        uint64_t va = kstack_slot_top(s) - 4096;
        if (!pa || pt_map(kernel_pml4, va, pa, PTE_W | pte_nx))
            panic("kstack: cannot build the stack region's page tables");
        pt_unmap(kernel_pml4, va);
    }
    frame_free(pa);
}

uint64_t kstack_slot_top(int slot)
{
    return AL_KSTACK_REGION + (uint64_t)(slot + 1) * KSTACK_SLOT;
}

int kstack_alloc(uint64_t *top)
{
    /* lowest free slot first, so slots (and their page tables) are reused */
    for (unsigned n = 0; n < kstack_slots; n++) {
        unsigned s = (hint + n) % kstack_slots;
        if (used[s])
            continue;
        uint64_t t = kstack_slot_top((int)s);
        unsigned mapped = 0;
        for (; mapped < KSTACK_PAGES; mapped++) {
            uint64_t pa = frame_alloc();
            if (!pa || pt_map(kernel_pml4, t - (mapped + 1) * 4096, pa, PTE_W | pte_nx)) {
                if (pa)
                    frame_free(pa);
                break;
            }
        }
        if (mapped < KSTACK_PAGES) {
            for (unsigned i = 0; i < mapped; i++) { /* never used: no TLB entry */
                uint64_t pte = pt_unmap(kernel_pml4, t - (i + 1) * 4096);
                frame_free(pte & PTE_ADDR);
            }
            return -12;
        }
        used[s] = 1;
        hint = s + 1; /* lowest free slot is at or above the hint */
        live++;
        *top = t;
        return (int)s;
    }
    return -12;
}

void kstack_free(int slot)
{
    assert(slot >= 0 && (unsigned)slot < kstack_slots && used[slot]);
    uint64_t t = kstack_slot_top(slot);
    uint64_t frames[KSTACK_PAGES];
    for (unsigned i = 0; i < KSTACK_PAGES; i++) {
        uint64_t pte = pt_unmap(kernel_pml4, t - (i + 1) * 4096);
        assert(pte & PTE_P);
        frames[i] = pte & PTE_ADDR;
    }
    /* the slot will be reused: no CPU may keep a translation for it */
    tlb_shootdown(tlb_all_cpus(), t - KSTACK_SIZE, KSTACK_PAGES);
    for (unsigned i = 0; i < KSTACK_PAGES; i++)
        frame_free(frames[i]);
    used[slot] = 0;
    if ((unsigned)slot < hint)
        hint = (unsigned)slot;
    live--;
}

unsigned long kstack_live_count(void)
{
    return live;
}
