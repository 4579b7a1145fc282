/*
 * The IOAPICs and <arch/irq.h>: every IOAPIC of the MADT is checked,
 * mapped uncached into the kernel's MMIO window and fully masked at boot;
 * GSIs are routed, masked and unmasked here on generic code's request.
 * The routing logic is in irqroute.c (contract: arch/x86_64/ioapic.h).
 *
 * Register access is IOREGSEL, then IOWIN: two MMIO accesses that must not
 * interleave with another CPU's. Every caller holds the BKL with
 * interrupts off (the contract of <arch/irq.h>), which serializes them.
 */
#include "arch/x86_64/ioapic.h"
#include "arch/x86_64/lapic.h"
#include <arch/paging.h>
#include "abi/airlock/errno.h"
#include "kernel/console.h"
#include "lib/string.h"

static struct irq_layout layout;
static volatile uint32_t *regs[IRQ_MAX_IOAPICS];

/*
 * Every redirection entry as this kernel last wrote it. Masking,
 * unmasking and a new destination are written from here; the entry is
 * never read back first. A read-modify-write would cost a third MMIO
 * access on every level line's mask and unmask, and it would trust the
 * read. QEMU 7.2's multi-threaded TCG can dispatch an MMIO access that
 * races another vCPU's memory-map change to the wrong region (decision
 * 73); one such read, of vector 0, once made the UART's unmask fail, and
 * its line stayed masked for good. Only arch_irq_read reads the hardware,
 * so the self-tests compare it with what was written. BKL held.
 */
static uint64_t shadow[IRQ_MAX_IOAPICS][IOAPIC_MAX_PINS];

static uint32_t io_read(unsigned io, unsigned reg)
{
    regs[io][IOAPIC_REGSEL / 4] = reg;
    return regs[io][IOAPIC_WIN / 4];
}

static void io_write(unsigned io, unsigned reg, uint32_t v)
{
    regs[io][IOAPIC_REGSEL / 4] = reg;
    regs[io][IOAPIC_WIN / 4] = v;
}

static uint64_t rte_read(unsigned io, unsigned pin)
{
    uint32_t lo = io_read(io, IOAPIC_REG_RTE + 2 * pin);
    uint32_t hi = io_read(io, IOAPIC_REG_RTE + 2 * pin + 1);
    return (uint64_t)hi << 32 | lo;
}

/* The low word of an entry, written and read back once (IOREGSEL still
 * selects it: one MMIO read). If the vector or the mask bit did not take,
 * it is written again, at most twice more, and the log says so: a lost
 * unmask would silence its line for good. Real IOAPICs do not lose writes;
 * QEMU 7.2's multi-threaded TCG did (decision 73). The read-only bits
 * (delivery status, remote IRR) are not compared. */
static void rte_write_lo(unsigned io, unsigned pin, uint32_t lo)
{
    const uint32_t keep = (uint32_t)(RTE_VECTOR | RTE_MASKED);
    for (int tries = 0;; tries++) {
        io_write(io, IOAPIC_REG_RTE + 2 * pin, lo);
        uint32_t got = regs[io][IOAPIC_WIN / 4];
        if ((got & keep) == (lo & keep))
            return;
        if (tries == 2) {
            kprintf("ioapic: %u pin %u: the entry reads %#x, not %#x, after three writes\n", io, pin, got, lo);
            return;
        }
        kprintf("ioapic: %u pin %u: a write did not take (reads %#x, not %#x): written again\n", io, pin, got, lo);
    }
}

/* Masked while it changes: the low word (mask bit) first, the high word,
 * then the low word with its final mask bit. */
static void rte_write(unsigned io, unsigned pin, uint64_t rte)
{
    shadow[io][pin] = rte;
    io_write(io, IOAPIC_REG_RTE + 2 * pin, (uint32_t)(rte | RTE_MASKED));
    io_write(io, IOAPIC_REG_RTE + 2 * pin + 1, (uint32_t)(rte >> 32));
    rte_write_lo(io, pin, (uint32_t)rte);
}

const struct irq_layout *ioapic_layout(void)
{
    return &layout;
}

void ioapic_init(const struct acpi_madt_info *info, uint64_t lapic_page)
{
    memset(&layout, 0, sizeof layout);
    unsigned lines = 0;
    for (unsigned i = 0; i < info->nioapics && i < ACPI_MAX_IOAPICS; i++) {
        const struct acpi_ioapic *a = &info->ioapics[i];
        /* the address is checked before it is mapped or touched; the pin
         * count comes from the device, checked again by the same call */
        struct irq_layout probe = layout;
        if (irqroute_add_ioapic(&probe, a->id, a->addr, a->gsi_base, 1, lapic_page)) {
            layout.refused++;
            continue;
        }
        unsigned n = layout.nioapics;
        regs[n] = paging_map_mmio(a->addr, IOAPIC_WINDOW);
        uint32_t ver = io_read(n, IOAPIC_REG_VER);
        unsigned npins = ver == 0xffffffffu ? 0 : ((ver >> 16) & 0xffu) + 1; /* all ones: nothing there */
        if (irqroute_add_ioapic(&layout, a->id, a->addr, a->gsi_base, npins, lapic_page)) {
            regs[n] = 0;
            continue;
        }
        for (unsigned p = 0; p < npins; p++)
            rte_write(n, p, ioapic_rte_encode(0, 0, 0, 1));
        lines += npins;
    }
    irqroute_isa(&layout, info->overrides,
                 info->noverrides < ACPI_MAX_OVERRIDES ? info->noverrides : ACPI_MAX_OVERRIDES);
    kprintf("irq: %u IOAPIC(s), %u lines, all masked; ISA IRQ 0 -> GSI %u (PIT, kept); %u MADT entries refused\n",
            layout.nioapics, lines, layout.isa[0].gsi, layout.refused);
}

static int find(uint32_t gsi, unsigned *io, unsigned *pin)
{
    return irqroute_find(&layout, gsi, io, pin);
}

int arch_irq_isa_to_gsi(unsigned irq, uint32_t *gsi, unsigned *flags)
{
    if (irq >= IRQ_ISA_LINES || !layout.isa[irq].valid)
        return -AL_EINVAL;
    *gsi = layout.isa[irq].gsi;
    *flags = layout.isa[irq].flags;
    return 0;
}

int arch_irq_route_gsi(uint32_t gsi, unsigned vector, uint32_t dest, unsigned flags)
{
    unsigned io, pin;
    if (find(gsi, &io, &pin) || !arch_irq_vector_ok(vector) || dest > 0xffu || (flags & ~ARCH_IRQ_FLAGS))
        return -AL_EINVAL;
    if (irqroute_reserved(&layout, gsi))
        return -AL_EPERM;
    rte_write(io, pin, ioapic_rte_encode(vector, dest, flags, 1));
    return 0;
}

int arch_irq_set_dest(uint32_t gsi, uint32_t dest)
{
    unsigned io, pin;
    if (find(gsi, &io, &pin) || dest > 0xffu)
        return -AL_EINVAL;
    if (irqroute_reserved(&layout, gsi))
        return -AL_EPERM;
    uint64_t rte = shadow[io][pin];
    if ((rte & RTE_VECTOR) == 0)
        return -AL_EINVAL; /* never routed */
    rte_write(io, pin, ioapic_rte_set_dest(rte, dest)); /* masked while it changes */
    return 0;
}

int arch_irq_unroute_gsi(uint32_t gsi)
{
    unsigned io, pin;
    if (find(gsi, &io, &pin))
        return -AL_EINVAL;
    if (irqroute_reserved(&layout, gsi))
        return -AL_EPERM;
    rte_write(io, pin, ioapic_rte_encode(0, 0, 0, 1));
    return 0;
}

static int set_mask(uint32_t gsi, int masked)
{
    unsigned io, pin;
    if (find(gsi, &io, &pin))
        return -AL_EINVAL;
    if (irqroute_reserved(&layout, gsi))
        return -AL_EPERM;
    uint64_t rte = shadow[io][pin];
    if (!masked && (rte & RTE_VECTOR) == 0)
        return -AL_EINVAL; /* never routed: nothing to deliver */
    rte = masked ? rte | RTE_MASKED : rte & ~(uint64_t)RTE_MASKED;
    shadow[io][pin] = rte;
    rte_write_lo(io, pin, (uint32_t)rte); /* (the low word: vector, flags, mask) */
    return 0;
}

int arch_irq_mask(uint32_t gsi)
{
    return set_mask(gsi, 1);
}

int arch_irq_unmask(uint32_t gsi)
{
    return set_mask(gsi, 0);
}

int arch_irq_read(uint32_t gsi, struct arch_irq_route *out)
{
    unsigned io, pin;
    if (find(gsi, &io, &pin))
        return -AL_EINVAL;
    ioapic_rte_decode(rte_read(io, pin), out);
    return 0;
}

void arch_irq_eoi(void)
{
    lapic_eoi();
}

int arch_msi_compose(unsigned vector, uint32_t dest, uint64_t *addr, uint32_t *data)
{
    return msi_compose(vector, dest, addr, data);
}
