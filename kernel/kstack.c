#include "kernel/kstack.h"
#include "abi/airlock/layout.h"
#include "arch/x86_64/paging.h"
#include "kernel/frame.h"
#include "kernel/panic.h"

static uint8_t used[KSTACK_SLOTS];
static unsigned hint;
static unsigned long live;

uint64_t kstack_slot_top(int slot)
{
    return AL_KSTACK_REGION + (uint64_t)(slot + 1) * KSTACK_SLOT;
}

int kstack_alloc(uint64_t *top)
{
    for (unsigned n = 0; n < KSTACK_SLOTS; n++) {
        unsigned s = (hint + n) % KSTACK_SLOTS;
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
            for (unsigned i = 0; i < mapped; i++) {
                uint64_t pte = pt_unmap(kernel_pml4, t - (i + 1) * 4096);
                frame_free(pte & PTE_ADDR);
                paging_invlpg(t - (i + 1) * 4096);
            }
            return -12;
        }
        used[s] = 1;
        hint = s + 1;
        live++;
        *top = t;
        return (int)s;
    }
    return -12;
}

void kstack_free(int slot)
{
    assert(slot >= 0 && slot < KSTACK_SLOTS && used[slot]);
    uint64_t t = kstack_slot_top(slot);
    for (unsigned i = 0; i < KSTACK_PAGES; i++) {
        uint64_t va = t - (i + 1) * 4096;
        uint64_t pte = pt_unmap(kernel_pml4, va);
        assert(pte & PTE_P);
        paging_invlpg(va);
        frame_free(pte & PTE_ADDR);
    }
    used[slot] = 0;
    live--;
}

unsigned long kstack_live_count(void) { return live; }
