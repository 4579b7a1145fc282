/*
 * In-kernel self-tests of interrupt routing on the emulated machine: an
 * ISA line through the IOAPIC (the CMOS RTC's periodic interrupt, ISA IRQ
 * 8), edge and level, and an MSI from QEMU's `edu` PCI device when the
 * machine has one (the `selftest` suite adds `-device edu`). Each test
 * leaves the device and the line as it found them: interrupt off, line
 * masked and unrouted, vector free.
 *
 * The kernel runs with interrupts off; an interrupt arrives while the boot
 * thread sleeps and its CPU idles, so each wait is a sleep loop with a
 * deadline.
 */
#include "kernel/selftest.h"
#include "kernel/console.h"
#include "kernel/irq.h"
#include "kernel/thread.h"
#include "abi/airlock/errno.h"
#include <arch/irq.h>
#include <arch/cpu.h>
#include <arch/smp.h>
#include <arch/timer.h>
#include <arch/paging.h>
#include <arch/trap.h>
#include "arch/x86_64/ioapic.h"

/* wait up to ms milliseconds for the vector's count to reach want */
static unsigned long wait_count(unsigned vec, unsigned long want, unsigned ms)
{
    struct irq_vec_info vi;
    uint64_t until = clock_ns() + (uint64_t)ms * 1000000ULL;
    for (;;) {
        irq_vector_info(vec, &vi);
        if (vi.count >= want || clock_ns() >= until)
            return vi.count;
        sched_sleep_until(clock_ns() + 1000000);
    }
}

static void sleep_ms(unsigned ms)
{
    sched_sleep_until(clock_ns() + (uint64_t)ms * 1000000ULL);
}

/* ------------------------------------------------------------ the RTC */

#define CMOS_INDEX 0x70
#define CMOS_DATA  0x71
#define RTC_A      0x0A /* bits 3:0: periodic rate, 32768 >> (rate - 1) Hz */
#define RTC_B      0x0B /* bit 6: periodic interrupt enable */
#define RTC_C      0x0C /* flags; reading it lowers the IRQ line */
#define RTC_B_PIE  0x40

static uint8_t cmos_read(uint8_t r)
{
    outb(CMOS_INDEX, r);
    return inb(CMOS_DATA);
}

static void cmos_write(uint8_t r, uint8_t v)
{
    outb(CMOS_INDEX, r);
    outb(CMOS_DATA, v);
}

/* What the kernel keeps and refuses, whatever the firmware said. */
SELFTEST(irq_routing_refusals)
{
    const struct irq_layout *l = ioapic_layout();
    uint32_t gsi, dest = arch_cpu_hw_id();
    unsigned flags;
    ST_CHECK(l->nioapics >= 1);
    ST_CHECK(arch_irq_isa_to_gsi(0, &gsi, &flags) == 0);
    ST_CHECK(arch_irq_route_gsi(gsi, ARCH_IRQ_VEC_FIRST, dest, 0) == -AL_EPERM); /* the PIT's line */
    ST_CHECK(arch_irq_isa_to_gsi(2, &gsi, &flags) == -AL_EINVAL);                  /* the cascade */
    ST_CHECK(arch_irq_isa_to_gsi(16, &gsi, &flags) == -AL_EINVAL);
    ST_CHECK(arch_irq_isa_to_gsi(8, &gsi, &flags) == 0);
    ST_CHECK(arch_irq_route_gsi(gsi, 0x80, dest, 0) == -AL_EINVAL);
    ST_CHECK(arch_irq_route_gsi(gsi, 0xEF, dest, 0) == -AL_EINVAL);
    ST_CHECK(arch_irq_route_gsi(gsi, 0x20, dest, 0) == -AL_EINVAL);
    ST_CHECK(arch_irq_route_gsi(gsi, ARCH_IRQ_VEC_FIRST, 0x100, 0) == -AL_EINVAL);
    ST_CHECK(arch_irq_route_gsi(gsi, ARCH_IRQ_VEC_FIRST, dest, 4) == -AL_EINVAL);
    ST_CHECK(arch_irq_route_gsi(0xffffffu, ARCH_IRQ_VEC_FIRST, dest, 0) == -AL_EINVAL);
    ST_CHECK(arch_irq_unmask(gsi) == -AL_EINVAL); /* never routed */
    /* every line is masked at boot */
    for (unsigned i = 0; i < l->nioapics; i++)
        for (unsigned p = 0; p < l->ioapics[i].npins; p++) {
            struct arch_irq_route r;
            ST_CHECK(arch_irq_read(l->ioapics[i].gsi_base + p, &r) == 0 && r.masked);
        }
}

/*
 * The RTC's periodic interrupt through the IOAPIC. Edge: each time the
 * test reads register C the line drops, the next period raises it, and
 * the count grows. Level (programmed so on purpose, active-high like the
 * line): the first arrival masks the line; while masked and still
 * asserted nothing more arrives; after register C and irq_unmask the next
 * period arrives and masks it again.
 */
SELFTEST(irq_ioapic_rtc)
{
    uint32_t gsi, dest = arch_cpu_hw_id();
    unsigned flags;
    struct irq_vec_info vi;
    struct arch_irq_route r;
    ST_CHECK(arch_irq_isa_to_gsi(8, &gsi, &flags) == 0);
    int vec = irq_vector_alloc();
    ST_CHECK(arch_irq_vector_ok((unsigned)vec));
    if (!arch_irq_vector_ok((unsigned)vec))
        return;
    unsigned long gsi_before = irq_gsi_count(gsi);
    ST_CHECK(irq_bind_isa((unsigned)vec, 8, dest) == 0);
    ST_CHECK(arch_irq_read(gsi, &r) == 0 && r.vector == (unsigned)vec && r.dest == dest && r.masked &&
             r.flags == flags);

    uint8_t a = cmos_read(RTC_A), b = cmos_read(RTC_B);
    cmos_write(RTC_A, (uint8_t)((a & 0xf0) | 6)); /* 1024 Hz */
    (void)cmos_read(RTC_C);
    cmos_write(RTC_B, (uint8_t)(b | RTC_B_PIE));

    /* masked: nothing arrives */
    sleep_ms(20);
    irq_vector_info((unsigned)vec, &vi);
    ST_CHECK(vi.count == 0 && vi.masked);

    /* edge: one arrival per drop of the line */
    (void)cmos_read(RTC_C);
    ST_CHECK(irq_unmask((unsigned)vec) == 0);
    ST_CHECK(arch_irq_read(gsi, &r) == 0 && !r.masked);
    unsigned long n = 0;
    for (unsigned i = 1; i <= 3; i++) {
        n = wait_count((unsigned)vec, i, 300);
        (void)cmos_read(RTC_C);
    }
    ST_CHECK(n >= 3);
    irq_vector_info((unsigned)vec, &vi);
    ST_CHECK(vi.kind == IRQ_GSI && !vi.masked); /* an edge line stays unmasked */
    ST_CHECK(irq_gsi_count(gsi) - gsi_before == vi.count);
    ST_CHECK(irq_mask((unsigned)vec) == 0);

    /* level: masked by the arrival until unmasked */
    ST_CHECK(irq_unbind((unsigned)vec) == 0);
    ST_CHECK(irq_bind_gsi((unsigned)vec, gsi, ARCH_IRQ_LEVEL, dest) == 0);
    ST_CHECK(arch_irq_read(gsi, &r) == 0 && r.masked && r.flags == ARCH_IRQ_LEVEL);
    irq_vector_info((unsigned)vec, &vi);
    unsigned long base = vi.count;
    (void)cmos_read(RTC_C);
    ST_CHECK(irq_unmask((unsigned)vec) == 0);
    ST_CHECK(wait_count((unsigned)vec, base + 1, 300) == base + 1);
    sleep_ms(30); /* the line is still asserted: register C not read */
    irq_vector_info((unsigned)vec, &vi);
    ST_CHECK(vi.count == base + 1 && vi.masked);
    ST_CHECK(arch_irq_read(gsi, &r) == 0 && r.masked && !r.remote_irr);
    (void)cmos_read(RTC_C);
    ST_CHECK(irq_unmask((unsigned)vec) == 0);
    ST_CHECK(wait_count((unsigned)vec, base + 2, 300) >= base + 2);
    sleep_ms(10);
    irq_vector_info((unsigned)vec, &vi);
    ST_CHECK(vi.count == base + 2 && vi.masked);
    kprintf("    # rtc: ISA IRQ 8 = GSI %u on vector %#x: %lu edge arrivals, then 2 level arrivals, each masking\n",
            gsi, (unsigned)vec, base);

    /* restore: RTC interrupt off, line masked and unrouted, vector free */
    cmos_write(RTC_B, b);
    cmos_write(RTC_A, a);
    (void)cmos_read(RTC_C);
    ST_CHECK(irq_vector_free((unsigned)vec) == 0);
    ST_CHECK(arch_irq_read(gsi, &r) == 0 && r.masked && r.vector == 0);
    irq_vector_info((unsigned)vec, &vi);
    ST_CHECK(vi.kind == IRQ_FREE);
}

/* ------------------------------------------------------- MSI from edu */

#define PCI_ADDR       0xCF8
#define PCI_DATA       0xCFC
#define PCI_COMMAND    0x04
#define PCI_CMD_MEM    (1u << 1)
#define PCI_CMD_MASTER (1u << 2) /* the device's MSI write is a bus-master write */
#define PCI_CMD_INTX_OFF (1u << 10)
#define PCI_STATUS_CAPS (1u << 4)
#define PCI_BAR0       0x10
#define PCI_CAP_PTR    0x34
#define PCI_CAP_MSI    0x05
#define MSI_CTL_ENABLE (1u << 0)
#define MSI_CTL_64     (1u << 7)
#define MSI_CTL_MME    (7u << 4)

#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8
#define EDU_IDENT  0x00 /* 0xRRrr00ed */
#define EDU_STATUS 0x24 /* interrupt status */
#define EDU_RAISE  0x60 /* status |= value; interrupt */
#define EDU_ACK    0x64 /* status &= ~value */

static uint32_t pci_addr(unsigned dev, unsigned off)
{
    return 0x80000000u | (dev << 11) | (off & 0xfcu); /* bus 0, function 0 */
}

static uint32_t pci_read32(unsigned dev, unsigned off)
{
    outl(PCI_ADDR, pci_addr(dev, off));
    return inl(PCI_DATA);
}

static uint16_t pci_read16(unsigned dev, unsigned off)
{
    return (uint16_t)(pci_read32(dev, off) >> (8 * (off & 2)));
}

static void pci_write16(unsigned dev, unsigned off, uint16_t v)
{
    outl(PCI_ADDR, pci_addr(dev, off));
    outw((uint16_t)(PCI_DATA + (off & 2)), v);
}

static void pci_write32(unsigned dev, unsigned off, uint32_t v)
{
    outl(PCI_ADDR, pci_addr(dev, off));
    outl(PCI_DATA, v);
}

/* the edu device's slot on bus 0, -1 if the machine has none */
static int edu_find(void)
{
    for (unsigned dev = 0; dev < 32; dev++)
        if (pci_read32(dev, 0) == ((uint32_t)EDU_DEVICE << 16 | EDU_VENDOR))
            return (int)dev;
    return -1;
}

/* its MSI capability's offset, 0 if none */
static unsigned msi_cap(unsigned dev)
{
    if (!(pci_read16(dev, 0x06) & PCI_STATUS_CAPS))
        return 0;
    unsigned off = pci_read32(dev, PCI_CAP_PTR) & 0xfc;
    for (int n = 0; off >= 0x40 && n < 48; n++) {
        uint32_t w = pci_read32(dev, off);
        if ((w & 0xff) == PCI_CAP_MSI)
            return off;
        off = (w >> 8) & 0xfc;
    }
    return 0;
}

/*
 * An MSI composed by arch_msi_compose, programmed into edu's MSI
 * capability: each write to its raise register arrives once on the
 * vector, on this CPU; with MSI disabled again, nothing arrives.
 */
SELFTEST(irq_msi_edu)
{
    int dev = edu_find();
    if (dev < 0) {
        kprintf("    # no edu device on bus 0 (QEMU -device edu): MSI not tested in this boot\n");
        return;
    }
    unsigned d = (unsigned)dev, cap = msi_cap(d);
    ST_CHECK(cap != 0);
    uint32_t bar = pci_read32(d, PCI_BAR0);
    ST_CHECK((bar & 1) == 0 && (bar & ~0xfu) != 0);
    if (!cap || (bar & 1) || !(bar & ~0xfu))
        return;

    uint16_t cmd = pci_read16(d, PCI_COMMAND), ctl = pci_read16(d, cap + 2);
    int is64 = (ctl & MSI_CTL_64) != 0;
    unsigned data_off = cap + (is64 ? 0x0c : 0x08);
    uint32_t old_lo = pci_read32(d, cap + 4), old_hi = is64 ? pci_read32(d, cap + 8) : 0;
    uint16_t old_data = pci_read16(d, data_off);

    uint32_t dest = arch_cpu_hw_id();
    int vec = irq_vector_alloc();
    ST_CHECK(arch_irq_vector_ok((unsigned)vec));
    if (!arch_irq_vector_ok((unsigned)vec))
        return;
    uint64_t addr;
    uint32_t data;
    ST_CHECK(irq_bind_msi((unsigned)vec, dest, &addr, &data) == 0);
    ST_CHECK(addr == (0xFEE00000ULL | (uint64_t)dest << 12) && data == (unsigned)vec);

    volatile uint32_t *mmio = paging_map_mmio(bar & ~0xfu, 0x100);
    ST_CHECK((mmio[EDU_IDENT / 4] & 0xff) == 0xed);

    unsigned long unexpected = trap_unexpected_count();
    pci_write32(d, cap + 4, (uint32_t)addr);
    if (is64)
        pci_write32(d, cap + 8, (uint32_t)(addr >> 32));
    pci_write16(d, data_off, (uint16_t)data);
    pci_write16(d, cap + 2, (uint16_t)((ctl & ~MSI_CTL_MME) | MSI_CTL_ENABLE));
    pci_write16(d, PCI_COMMAND, (uint16_t)(cmd | PCI_CMD_MEM | PCI_CMD_MASTER | PCI_CMD_INTX_OFF));

    unsigned long n = 0;
    for (unsigned i = 1; i <= 3; i++) {
        mmio[EDU_RAISE / 4] = 1;
        n = wait_count((unsigned)vec, i, 300);
        ST_CHECK(n == i);
        ST_CHECK(mmio[EDU_STATUS / 4] & 1);
        mmio[EDU_ACK / 4] = 1;
        ST_CHECK((mmio[EDU_STATUS / 4] & 1) == 0);
    }

    /* MSI off (and INTx off): a raise arrives nowhere */
    pci_write16(d, cap + 2, (uint16_t)(ctl & ~MSI_CTL_ENABLE));
    mmio[EDU_RAISE / 4] = 1;
    sleep_ms(20);
    mmio[EDU_ACK / 4] = 1;
    struct irq_vec_info vi;
    irq_vector_info((unsigned)vec, &vi);
    ST_CHECK(vi.kind == IRQ_MSI && vi.count == 3);
    ST_CHECK(trap_unexpected_count() == unexpected);
    kprintf("    # edu at 00:%02x.0: MSI %#lx/%#x, 3 interrupts on vector %#x\n", d, (unsigned long)addr, data,
            (unsigned)vec);

    /* restore the device and free the vector */
    pci_write32(d, cap + 4, old_lo);
    if (is64)
        pci_write32(d, cap + 8, old_hi);
    pci_write16(d, data_off, old_data);
    pci_write16(d, cap + 2, ctl);
    pci_write16(d, PCI_COMMAND, cmd);
    ST_CHECK(irq_vector_free((unsigned)vec) == 0);
}
