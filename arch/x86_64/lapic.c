/*
 * Local APIC, LAPIC timer and the TSC clock, calibrated against the PIT.
 * x2APIC (MSRs) where the CPU has it, the xAPIC (MMIO) otherwise; the
 * register numbers are the xAPIC offsets, and the x2APIC MSR of register r
 * is 0x800 + r/16 (SDM Vol. 3A 10.12.1.2), except the ICR, one 64-bit MSR.
 */
#include "arch/x86_64/lapic.h"
#include <arch/vcpu.h>
#include <arch/cpu.h>
#include <arch/paging.h>
#include <arch/percpu.h>
#include "kernel/panic.h"
#include "kernel/console.h"
#include "kernel/upcall.h"

#define REG_ID        0x020
#define REG_EOI       0x0B0
#define REG_ISR       0x100 /* in-service: 8 registers of 32 bits, 0x10 apart */
#define REG_PPR       0x0A0
#define REG_SVR       0x0F0
#define REG_ICR_LO    0x300
#define REG_ICR_HI    0x310
#define REG_LVT_TMR   0x320
#define REG_LVT_LINT0 0x350
#define REG_LVT_LINT1 0x360
#define REG_LVT_ERR   0x370
#define REG_TMR_INIT  0x380
#define REG_TMR_CUR   0x390
#define REG_TMR_DIV   0x3E0

#define MSR_X2APIC_BASE 0x800
#define MSR_X2APIC_ICR  0x830
#define APIC_BASE_EN    (1u << 11)
#define APIC_BASE_EXTD  (1u << 10) /* x2APIC mode */

static volatile uint32_t *lapic;
static uint64_t timer_per_sec, tsc_per_sec, tsc_boot, ns_mult; /* ns = tsc * ns_mult >> 32 */
int lapic_x2apic; /* every CPU's LAPIC is in x2APIC mode (decided on the BSP) */

static inline uint32_t rd(unsigned r)
{
    return lapic_x2apic ? (uint32_t)rdmsr(MSR_X2APIC_BASE + r / 16) : lapic[r / 4];
}
static inline void wr(unsigned r, uint32_t v)
{
    if (lapic_x2apic)
        wrmsr(MSR_X2APIC_BASE + r / 16, v);
    else
        lapic[r / 4] = v;
}

uint64_t lapic_phys;

/* this CPU: global enable, and x2APIC mode if chosen (xAPIC -> x2APIC is
 * a legal transition: EN stays set, EXTD is added; SDM Vol. 3A 10.12.5) */
static void mode_enable(void)
{
    uint64_t b = rdmsr(MSR_APIC_BASE) | APIC_BASE_EN;
    wrmsr(MSR_APIC_BASE, b);
    if (lapic_x2apic)
        wrmsr(MSR_APIC_BASE, b | APIC_BASE_EXTD);
}

void lapic_init(uint64_t phys)
{
    lapic_phys = phys & ~0xfffULL;
    lapic = (volatile uint32_t *)paging_map_mmio(phys, 4096);
    lapic_x2apic = cpu_feat.x2apic && !bootinfo_flag("nox2apic");
    if (!lapic_x2apic) /* the EOI register for the trampoline's fast path (cpu_entry.eoi_mmio) */
        paging_map_tramp(LAPIC_TRAMP_VA, lapic_phys, PTE_W | PTE_PCD | PTE_PWT | pte_nx);
    mode_enable();
    kprintf("lapic: %s%s\n", lapic_x2apic ? "x2APIC mode (MSRs)" : "xAPIC mode (MMIO)",
            !lapic_x2apic && cpu_feat.x2apic ? ", nox2apic on the command line" : "");
}

uint32_t lapic_id(void)
{
    return lapic_x2apic ? rd(REG_ID) : rd(REG_ID) >> 24;
}
void lapic_eoi(void)
{
    if (lapic_x2apic)
        wrmsr(MSR_X2APIC_EOI, 0);
    else
        lapic[REG_EOI / 4] = 0;
}

/* PIT channel 2 gated one-shot: busy-wait `ms` milliseconds */
static void pit_wait_ms(unsigned ms)
{
    uint32_t count = 1193182u * ms / 1000;
    outb(0x61, (inb(0x61) & ~0x02) | 0x01); /* gate on, speaker off */
    outb(0x43, 0xB0);                       /* ch2, lo/hi, mode 0 */
    outb(0x42, (uint8_t)count);
    outb(0x42, (uint8_t)(count >> 8));
    outb(0x61, inb(0x61) & ~0x01); /* restart the count */
    outb(0x61, inb(0x61) | 0x01);
    while (!(inb(0x61) & 0x20))
        cpu_relax();
}

void lapic_timer_calibrate(void)
{
    wr(REG_TMR_DIV, 0x3);      /* divide by 16 */
    wr(REG_LVT_TMR, 1u << 16); /* masked */
    wr(REG_TMR_INIT, 0xffffffffu);
    uint64_t t0 = rdtsc();
    pit_wait_ms(50);
    uint64_t t1 = rdtsc();
    uint32_t elapsed = 0xffffffffu - rd(REG_TMR_CUR);
    wr(REG_TMR_INIT, 0);
    timer_per_sec = (uint64_t)elapsed * 20;
    tsc_per_sec = (t1 - t0) * 20;
    tsc_boot = t0;
    if (!timer_per_sec || !tsc_per_sec)
        panic("LAPIC timer / TSC calibration failed");
    ns_mult = (1000000000ULL << 32) / tsc_per_sec;
    kprintf("timer: LAPIC %lu Hz (/16), TSC %lu Hz, tick %d Hz\n", (unsigned long)timer_per_sec,
            (unsigned long)tsc_per_sec, TIMER_HZ);
}

uint64_t tsc_to_ns(uint64_t d)
{
    return (uint64_t)(((unsigned __int128)d * ns_mult) >> 32);
}

uint64_t clock_ns(void)
{
    return tsc_to_ns(rdtsc() - tsc_boot);
}

void udelay(uint64_t us)
{
    uint64_t end = rdtsc() + tsc_per_sec * us / 1000000;
    while (rdtsc() < end)
        cpu_relax();
}

void lapic_enable(void)
{
    mode_enable(); /* (the BSP's: done already in lapic_init) */
    this_entry()->eoi_mmio = lapic_x2apic ? 0 : LAPIC_TRAMP_VA + REG_EOI;
    vcpu_eoi_ready(); /* (the upcall fast path's EOI: arch/x86_64/vcpu.c) */
    wr(REG_SVR, 0x100 | VEC_SPURIOUS);
    wr(REG_LVT_LINT0, 1u << 16);
    wr(REG_LVT_LINT1, 4u << 8); /* NMI delivery, as firmware wires LINT1 */
    wr(REG_LVT_ERR, 1u << 16);
    wr(REG_TMR_DIV, 0x3);
    wr(REG_LVT_TMR, VEC_TIMER | (1u << 17)); /* periodic */
    wr(REG_TMR_INIT, (uint32_t)(timer_per_sec / TIMER_HZ));
    lapic_eoi();
}

static void icr_wait(void)
{
    for (int i = 0; i < 1000000 && (rd(REG_ICR_LO) & (1u << 12)); i++)
        cpu_relax();
}

/* Send one IPI: lo is the ICR's low word. xAPIC: wait for the previous
 * one to be sent (delivery status), then the destination (high word) and
 * the low word, whose write sends it. x2APIC: one 64-bit WRMSR with the
 * 32-bit x2APIC ID in the high half; no delivery status. WRMSR to the
 * x2APIC MSRs is not serializing, so MFENCE; LFENCE first makes the
 * stores before it (a shootdown request, a run-queue entry) visible before
 * the IPI can arrive (SDM Vol. 3A 10.12.3). */
static void send_icr(uint32_t dest, uint32_t lo)
{
    if (lapic_x2apic) {
        __asm__ volatile("mfence; lfence" ::: "memory");
        wrmsr(MSR_X2APIC_ICR, (uint64_t)dest << 32 | lo);
        return;
    }
    icr_wait();
    wr(REG_ICR_HI, dest << 24);
    wr(REG_ICR_LO, lo);
}

void lapic_send_ipi(uint32_t apic_id, uint8_t vector)
{
    send_icr(apic_id, vector | (1u << 14)); /* fixed, assert */
}

void lapic_self_ipi(uint8_t vector)
{
    lapic_send_ipi(lapic_id(), vector);
}

int lapic_in_service_top(unsigned vector)
{
    /* the processor priority's class is the highest in-service vector's
     * (the task priority is never raised); within the class, no higher
     * vector of the same ISR register may be in service */
    if ((rd(REG_PPR) >> 4 & 0xf) != (vector >> 4))
        return 0;
    uint32_t isr = rd(REG_ISR + (vector / 32) * 0x10), bit = vector % 32;
    uint32_t class_above = (bit / 16 * 16 + 15 == bit) ? 0 : (0xffffu << (bit / 16 * 16)) & ~((2u << bit) - 1);
    return (isr >> bit & 1) && !(isr & class_above);
}

void lapic_send_nmi_all_others(void)
{
    send_icr(0, (4u << 8) | (1u << 14) | (3u << 18)); /* NMI, all excluding self */
}

void lapic_send_init_sipi(uint32_t apic_id, uint8_t page)
{
    send_icr(apic_id, (5u << 8) | (1u << 14)); /* INIT assert */
    udelay(10000);
    for (int i = 0; i < 2; i++) {
        send_icr(apic_id, (6u << 8) | page); /* STARTUP */
        udelay(200);
    }
    if (!lapic_x2apic)
        icr_wait();
}
