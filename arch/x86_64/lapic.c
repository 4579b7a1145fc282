/* Local APIC, LAPIC timer and the TSC clock, calibrated against the PIT. */
#include "arch/x86_64/lapic.h"
#include <arch/cpu.h>
#include <arch/paging.h>
#include "kernel/panic.h"
#include "kernel/console.h"

#define REG_ID        0x020
#define REG_EOI       0x0B0
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

static volatile uint32_t *lapic;
static uint64_t timer_per_sec, tsc_per_sec, tsc_boot, ns_mult; /* ns = tsc * ns_mult >> 32 */

static inline uint32_t rd(unsigned r)
{
    return lapic[r / 4];
}
static inline void wr(unsigned r, uint32_t v)
{
    lapic[r / 4] = v;
}

uint64_t lapic_phys;

void lapic_init(uint64_t phys)
{
    lapic_phys = phys & ~0xfffULL;
    lapic = (volatile uint32_t *)paging_map_mmio(phys, 4096);
    wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | (1u << 11));
}

uint32_t lapic_id(void)
{
    return rd(REG_ID) >> 24;
}
void lapic_eoi(void)
{
    wr(REG_EOI, 0);
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

void lapic_send_ipi(uint32_t apic_id, uint8_t vector)
{
    icr_wait();
    wr(REG_ICR_HI, apic_id << 24);
    wr(REG_ICR_LO, vector | (1u << 14)); /* fixed, assert */
}

void lapic_send_nmi_all_others(void)
{
    icr_wait();
    wr(REG_ICR_HI, 0);
    wr(REG_ICR_LO, (4u << 8) | (1u << 14) | (3u << 18)); /* NMI, all excluding self */
}

void lapic_send_init_sipi(uint32_t apic_id, uint8_t page)
{
    icr_wait();
    wr(REG_ICR_HI, apic_id << 24);
    wr(REG_ICR_LO, (5u << 8) | (1u << 14)); /* INIT assert */
    udelay(10000);
    for (int i = 0; i < 2; i++) {
        icr_wait();
        wr(REG_ICR_HI, apic_id << 24);
        wr(REG_ICR_LO, (6u << 8) | page); /* STARTUP */
        udelay(200);
    }
    icr_wait();
}
