/*
 * Upcalls, the architecture's part: the entry-area fields and the route
 * table that the trampoline's fast path reads (arch/vcpu.h; the fast path
 * itself is irq_entry in entry.S). BKL held for every function here.
 */
#include <arch/vcpu.h>
#include <arch/cpu.h>
#include <arch/paging.h>
#include <arch/pagetable.h>
#include <arch/trap.h>
#include <arch/init.h>
#include "arch/x86_64/entry_area.h"
#include "arch/x86_64/lapic.h"
#include "kernel/cpu.h"
#include "kernel/panic.h"


static struct vcpu_routes *routes_of(unsigned cpu)
{
    return (struct vcpu_routes *)((uint64_t)ENTRY_AREA(cpu) + EA_UPCALL);
}

void arch_vcpu_route(unsigned vector, uint64_t kstack_top, unsigned bit, uint64_t state_va, uint64_t entry,
                     uint64_t stack_lo, uint64_t stack_top)
{
    assert(vector < 256 && bit < 256 && !(kstack_top & 0xff));
    for (unsigned i = 0; i < ncpus; i++) {
        struct vcpu_routes *r = routes_of(i);
        /* the owner last (and first, when it goes): a trampoline that
         * matches it finds the addresses in place */
        __atomic_store_n(&r->owner[vector], 0, __ATOMIC_RELEASE);
        if (!kstack_top)
            continue;
        r->state[vector] = state_va;
        r->entry[vector] = entry;
        r->stack_lo[vector] = stack_lo;
        r->stack_top[vector] = stack_top;
        __atomic_store_n(&r->owner[vector], kstack_top | bit, __ATOMIC_RELEASE);
    }
}

uint64_t arch_vcpu_fast_count(unsigned vector)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < ncpus; i++)
        n += __atomic_load_n(&routes_of(i)->fast[vector & 0xff], __ATOMIC_RELAXED);
    return n;
}

/* per CPU: the waits ring's slots read so far (cpu_entry.wait_head is
 * the writer's count). The trampoline writes a slot, then the count (TSO:
 * seen in that order); a slot the writer may have lapped is not used. */
static uint64_t wait_tail[MAX_CPUS];

void arch_vcpu_waits(void (*fn)(unsigned vector, uint64_t wait))
{
    for (unsigned i = 0; i < ncpus; i++) {
        const struct vcpu_routes *r = routes_of(i);
        const uint64_t *head = &ENTRY_AREA(i)->wait_head;
        uint64_t h = __atomic_load_n(head, __ATOMIC_ACQUIRE), t = wait_tail[i];
        for (; t != h; t++) {
            uint64_t v = __atomic_load_n(&r->waits[t % VCPU_WAIT_SLOTS], __ATOMIC_ACQUIRE);
            if (__atomic_load_n(head, __ATOMIC_ACQUIRE) - t <= VCPU_WAIT_SLOTS) /* (else overwritten) */
                fn((unsigned)(v & 0xff), v >> 8);
        }
        wait_tail[i] = t;
    }
}

static int fast_off; /* the kernel_control knob */

/* The fast path needs STAC (the state area is user memory), so only with
 * SMAP; and a way to the EOI: the xAPIC's EOI register, mapped in the
 * trampoline region (cpu_entry.eoi_mmio), or in x2APIC mode a WRMSR
 * (UPCALL_EOI_MSR, an odd value no mapping has) */
static void set_eoi(struct cpu_entry *e)
{
    uint64_t eoi = lapic_x2apic ? UPCALL_EOI_MSR : e->eoi_mmio;
    e->upcall_eoi = cpu_feat.smap && !fast_off ? eoi : 0;
}

void vcpu_eoi_ready(void)
{
    set_eoi(this_entry());
}

int arch_vcpu_fast(int on)
{
    int old = !fast_off;
    fast_off = !on;
    for (unsigned i = 0; i < ncpus; i++)
        set_eoi(ENTRY_AREA(i));
    return old;
}

/* SMAP is off on this CPU while a direct gate is up. QEMU's TCG makes the
 * interrupt frame's pushes onto the ring-3 stack supervisor accesses
 * (kernel MMU index at CPL 3), which SMAP refuses; by the SDM they are
 * accesses at the handler's CPL (3), and only the IDT, GDT and TSS reads
 * are implicit supervisor accesses (docs/ARCHITECTURE.md, decision 64).
 * The kernel loses little: its own address space maps no user memory
 * (it reaches user pages through its direct map), so only the
 * trampoline, which runs under the user's CR3, ever could touch them. */
void arch_direct_on(unsigned vector, uint64_t entry, uint64_t stack_top)
{
    cpu_gate_direct(vector, entry, stack_top);
    if (cpu_feat.smap)
        write_cr4(read_cr4() & ~CR4_SMAP);
}

void arch_direct_off(unsigned vector)
{
    cpu_gate_kernel(vector);
    if (cpu_feat.smap)
        write_cr4(read_cr4() | CR4_SMAP);
}

int arch_direct_eoi(unsigned vector)
{
    if (!lapic_in_service_top(vector))
        return 0;
    lapic_eoi();
    return 1;
}

void arch_self_ipi(unsigned vector)
{
    lapic_self_ipi((uint8_t)vector);
}
