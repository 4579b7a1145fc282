#include <arch/tlb.h>
#include "arch/x86_64/lapic.h"
#include <arch/cpu.h>
#include <arch/paging.h>
#include <arch/trap.h>
#include "kernel/cpu.h"

static volatile uint64_t req_va, req_npages;
static volatile uint64_t pending_mask; /* bit i: CPU i has not flushed yet */

static void flush_local(uint64_t va, uint64_t npages)
{
    if (npages && npages <= 32) {
        for (uint64_t i = 0; i < npages; i++)
            paging_invlpg(va + i * 4096);
    } else {
        paging_load_cr3(read_cr3()); /* counted as a CR3 write = a full flush */
    }
}

void tlb_poll(void)
{
    uint64_t bit = 1ULL << this_entry()->cpu_index;
    if (!(__atomic_load_n(&pending_mask, __ATOMIC_ACQUIRE) & bit))
        return;
    flush_local(req_va, req_npages);
    __atomic_fetch_and(&pending_mask, ~bit, __ATOMIC_RELEASE);
}

/* CPUs that run the scheduler: one that failed to start never acknowledges */
uint64_t tlb_all_cpus(void)
{
    uint64_t m = 0;
    for (unsigned i = 0; i < ncpus; i++)
        if (cpus[i].online)
            m |= 1ULL << i;
    return m;
}

static void shootdown(uint64_t cpumask, uint64_t va, uint64_t npages, int user_only)
{
    unsigned self = (unsigned)this_entry()->cpu_index;
    uint64_t others = cpumask & ~(1ULL << self) & tlb_all_cpus();
    /* For user mappings: without PCID (Airlock never sets CR4.PCIDE), a CPU
     * running on the kernel's CR3 holds no user translations. The entry's
     * CR3 write dropped every non-global entry, and the exit to user mode
     * writes CR3 again before any user address is used. So the local flush
     * is needed only when a user CR3 is loaded. Kernel mappings (kernel
     * stacks) always need it. */
    if ((cpumask & (1ULL << self)) && !(user_only && read_cr3() == kernel_pml4))
        flush_local(va, npages);
    if (!others)
        return;
    req_va = va;
    req_npages = npages;
    __atomic_store_n(&pending_mask, others, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < ncpus; i++)
        if (others & (1ULL << i))
            lapic_send_ipi(cpus[i].apic_id, VEC_TLB);
    while (__atomic_load_n(&pending_mask, __ATOMIC_ACQUIRE))
        cpu_relax();
}

void tlb_shootdown(uint64_t cpumask, uint64_t va, uint64_t npages)
{
    shootdown(cpumask, va, npages, 0);
}

void tlb_shootdown_user(uint64_t cpumask, uint64_t va, uint64_t npages)
{
    shootdown(cpumask, va, npages, 1);
}
