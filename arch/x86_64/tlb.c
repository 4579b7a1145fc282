/*
 * TLB shootdown and address-space tags (PCIDs). See <arch/tlb.h> and
 * docs/ARCHITECTURE.md section 10.6.
 */
#include <arch/tlb.h>
#include "arch/x86_64/lapic.h"
#include "arch/x86_64/pcid.h"
#include <arch/cpu.h>
#include <arch/paging.h>
#include <arch/trap.h>
#include "kernel/cpu.h"
#include "kernel/upcall.h"
#include "kernel/console.h"
#include "kernel/panic.h"

int tlb_pcid; /* CR4.PCIDE is set on every CPU (decided once, on the BSP) */
/* shootdown's local skip for user mappings: the kernel's CR3 as read back
 * without PCID; with PCID a value CR3 never reads (bit 63), so that the
 * local flush is never skipped, at no extra test on the path without */
static uint64_t skip_cr3 = ~0ULL;
static struct pcid_pool pool;

#define REQ_ALL    0xffffffffu /* every tag but the global entries */
#define REQ_KERNEL PCID_KERNEL

static volatile uint64_t req_va, req_npages;
static volatile unsigned req_pcid;     /* with PCID: the tag to invalidate, or REQ_ALL */
static volatile uint64_t pending_mask; /* bit i: CPU i has not flushed yet */

/* INVPCID (SDM Vol. 2A): 0 one address of one PCID, 1 one PCID, 2 every
 * PCID and the global entries, 3 every PCID but the global entries; each
 * also invalidates the paging-structure caches for what it names */
#define INVPCID_ADDR   0
#define INVPCID_SINGLE 1
#define INVPCID_ALL_NG 3
static inline void invpcid(unsigned long type, uint64_t pcid, uint64_t va)
{
    struct {
        uint64_t pcid, va;
    } d = {pcid, va};
    __asm__ volatile("invpcid %0, %1" ::"m"(d), "r"(type) : "memory");
}

void tlb_init(void)
{
    const char *why = NULL;
    if (!cpu_feat.pcid)
        why = "the CPU has no PCID";
    else if (!cpu_feat.invpcid)
        why = "the CPU has no INVPCID (decision 56)";
    else if (bootinfo_flag("nopcid"))
        why = "nopcid on the command line";
    if (why) {
        skip_cr3 = kernel_pml4;
        kprintf("tlb: PCID off (%s): every CR3 write flushes the TLB\n", why);
        return;
    }
    unsigned n = PCID_POOL_MAX;
    char v[12];
    if (bootinfo_arg("pcids", v, sizeof v)) {
        n = 0;
        for (const char *s = v; *s >= '0' && *s <= '9' && n <= PCID_POOL_MAX; s++)
            n = n * 10 + (unsigned)(*s - '0');
    }
    pcid_pool_init(&pool, n);
    tlb_pcid = 1;
    kprintf("tlb: PCID on: kernel tag %u, %u user tags, then tag %u shared (flushed on every load); "
            "shootdowns by INVPCID\n",
            PCID_KERNEL, pool.n, PCID_SHARED);
}

uint64_t tlb_kernel_cr3(void)
{
    return kernel_pml4 | (tlb_pcid ? CR3_NOFLUSH | PCID_KERNEL : 0);
}

uint64_t tlb_space_new(uint64_t pml4)
{
    if (!tlb_pcid)
        return pml4;
    unsigned p = pcid_alloc(&pool);
    /* a tag of its own keeps its translations across the switches; the
     * shared one must be flushed on every load (no CR3_NOFLUSH) */
    return pml4 | p | (p == PCID_SHARED ? 0 : CR3_NOFLUSH);
}

static void flush_local(unsigned pcid, uint64_t va, uint64_t npages)
{
    if (!tlb_pcid) {
        if (npages && npages <= 32) {
            for (uint64_t i = 0; i < npages; i++)
                paging_invlpg(va + i * 4096);
        } else {
            paging_load_cr3(read_cr3()); /* counted as a CR3 write = a full flush */
        }
        return;
    }
    if (pcid == REQ_ALL) {
        invpcid(INVPCID_ALL_NG, 0, 0);
        ENTRY_INC(tlb_flushes);
    } else if (npages && npages <= 32) {
        for (uint64_t i = 0; i < npages; i++)
            invpcid(INVPCID_ADDR, pcid, va + i * 4096);
        __asm__ volatile("addq %0, %%gs:%c1" ::"r"(npages), "i"(offsetof(struct cpu_entry, invlpg)) : "memory");
    } else {
        invpcid(INVPCID_SINGLE, pcid, 0);
        ENTRY_INC(tlb_flushes);
    }
}

void tlb_poll(void)
{
    uint64_t bit = 1ULL << this_entry()->cpu_index;
    if (!(__atomic_load_n(&pending_mask, __ATOMIC_ACQUIRE) & bit))
        return;
    flush_local(req_pcid, req_va, req_npages);
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

/* the tag a shootdown names: a space's (a tlb_space_new value), every
 * tag (space 0), or the kernel's */
#define SPACE_KERNEL 1 /* (no space's CR3 value: it would be a PML4 at 0) */
static inline unsigned space_pcid(uint64_t space)
{
    return space == SPACE_KERNEL ? REQ_KERNEL : space ? (unsigned)(space & CR3_PCID_MASK) : REQ_ALL;
}

static void shootdown(uint64_t cpumask, uint64_t space, uint64_t va, uint64_t npages, int user_only)
{
    unsigned self = (unsigned)this_entry()->cpu_index;
    uint64_t others = cpumask & ~(1ULL << self) & tlb_all_cpus();
    /* For user mappings without PCID, a CPU running on the kernel's CR3
     * holds no user translations: the entry's CR3 write dropped every
     * non-global entry, and the exit to user mode writes CR3 again before
     * any user address is used. So the local flush is needed only when a
     * user CR3 is loaded. Kernel mappings (kernel stacks) always need it,
     * and with PCID so do user ones: they survive the CR3 writes under
     * their tag (INVPCID names the tag, whatever CR3 holds). */
    if ((cpumask & (1ULL << self)) && !(user_only && read_cr3() == skip_cr3))
        flush_local(space_pcid(space), va, npages);
    if (!others)
        return;
    req_va = va;
    req_npages = npages;
    req_pcid = space_pcid(space);
    __atomic_store_n(&pending_mask, others, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < ncpus; i++)
        if (others & (1ULL << i))
            lapic_send_ipi(cpus[i].apic_id, VEC_TLB);
    while (__atomic_load_n(&pending_mask, __ATOMIC_ACQUIRE))
        cpu_relax();
}

void tlb_shootdown(uint64_t cpumask, uint64_t va, uint64_t npages)
{
    shootdown(cpumask, SPACE_KERNEL, va, npages, 0);
}

void tlb_shootdown_user(uint64_t cpumask, uint64_t space, uint64_t va, uint64_t npages)
{
    shootdown(cpumask, space, va, npages, 1);
}

void tlb_space_free(uint64_t space, uint64_t cpumask)
{
    if (!tlb_pcid)
        return;
    unsigned p = (unsigned)(space & CR3_PCID_MASK);
    /* every CPU that may hold the tag drops it (and the paging-structure
     * caches under it, before the tables are freed); then it may go to a
     * new space */
    if (cpumask)
        shootdown(cpumask, space, 0, 0, 1);
    if (pcid_free(&pool, p))
        panic("tlb: PCID %u freed but not handed out", p);
}
