/*
 * Interrupt routing logic: IOAPIC GSI ranges, ISA IRQs through the MADT's
 * interrupt source overrides, redirection entries and MSI messages.
 * Contract in arch/x86_64/ioapic.h. Pure: no hardware, no globals, so the
 * host tests run it as the kernel does.
 */
#include "arch/x86_64/ioapic.h"
#include "abi/airlock/errno.h"

static int pages_equal(uint64_t a, uint64_t b)
{
    return (a & ~0xfffULL) == (b & ~0xfffULL);
}

int irqroute_add_ioapic(struct irq_layout *l, uint8_t id, uint32_t addr, uint32_t gsi_base, unsigned npins,
                        uint64_t lapic_page)
{
    int ok = l->nioapics < IRQ_MAX_IOAPICS && addr >= 0x100000u && (addr & 0xfffu) <= 0x1000u - IOAPIC_WINDOW &&
             !pages_equal(addr, lapic_page) && npins >= 1 && npins <= IOAPIC_MAX_PINS &&
             gsi_base <= UINT32_MAX - (npins - 1);
    for (unsigned i = 0; ok && i < l->nioapics; i++) {
        const struct irq_ioapic *o = &l->ioapics[i];
        uint32_t last = gsi_base + (npins - 1), olast = o->gsi_base + (o->npins - 1);
        if (pages_equal(addr, o->addr) || (gsi_base <= olast && o->gsi_base <= last))
            ok = 0;
    }
    if (!ok) {
        l->refused++;
        return -AL_EINVAL;
    }
    struct irq_ioapic *n = &l->ioapics[l->nioapics++];
    n->id = id;
    n->addr = addr;
    n->gsi_base = gsi_base;
    n->npins = npins;
    return 0;
}

int irqroute_find(const struct irq_layout *l, uint32_t gsi, unsigned *ioapic, unsigned *pin)
{
    for (unsigned i = 0; i < l->nioapics && i < IRQ_MAX_IOAPICS; i++) {
        const struct irq_ioapic *o = &l->ioapics[i];
        if (gsi >= o->gsi_base && gsi - o->gsi_base < o->npins) {
            *ioapic = i;
            *pin = gsi - o->gsi_base;
            return 0;
        }
    }
    return -AL_EINVAL;
}

static int gsi_exists(const struct irq_layout *l, uint32_t gsi)
{
    unsigned a, b;
    return irqroute_find(l, gsi, &a, &b) == 0;
}

/* MPS INTI flags of an ISA override -> ARCH_IRQ_* flags; -1 if reserved */
static int inti_flags(uint16_t inti)
{
    unsigned pol = inti & INTI_POL_MASK, trig = inti & INTI_TRIG_MASK, f = 0;
    if (pol == 0x2u || trig == 0x8u)
        return -1;
    if (pol == INTI_POL_LOW)
        f |= ARCH_IRQ_LOW;
    if (trig == INTI_TRIG_LEVEL)
        f |= ARCH_IRQ_LEVEL;
    return (int)f;
}

unsigned irqroute_isa(struct irq_layout *l, const struct acpi_override *ov, unsigned n)
{
    uint8_t named[IRQ_ISA_LINES] = {0}; /* source already named by an override */
    uint8_t broken[IRQ_ISA_LINES] = {0};
    uint32_t targets[IRQ_ISA_LINES];    /* GSIs that accepted overrides moved an IRQ onto */
    unsigned ntargets = 0, refused = 0;

    for (unsigned i = 0; i < IRQ_ISA_LINES; i++) {
        l->isa[i].valid = 0;
        l->isa[i].flags = ARCH_IRQ_ISA_DEFAULT;
        l->isa[i].gsi = i;
    }
    for (unsigned k = 0; k < n; k++) {
        const struct acpi_override *o = &ov[k];
        if (o->bus != 0 || o->source_irq >= IRQ_ISA_LINES) {
            refused++;
            continue;
        }
        unsigned src = o->source_irq;
        int f = inti_flags(o->flags), dup = named[src];
        for (unsigned t = 0; t < ntargets; t++)
            dup |= targets[t] == o->gsi;
        if (f < 0 || dup || !gsi_exists(l, o->gsi)) {
            refused++;
            if (!named[src])
                broken[src] = 1; /* not the default, and not what it said */
            named[src] = 1;
            continue;
        }
        named[src] = 1;
        l->isa[src].gsi = o->gsi;
        l->isa[src].flags = (uint8_t)f;
        targets[ntargets++] = o->gsi;
    }
    for (unsigned i = 0; i < IRQ_ISA_LINES; i++) {
        struct irq_isa_line *s = &l->isa[i];
        int taken = 0;
        if (!named[i]) /* the default identity line: unless an override took it */
            for (unsigned t = 0; t < ntargets; t++)
                taken |= targets[t] == s->gsi;
        s->valid = i != 2 && !broken[i] && !taken && gsi_exists(l, s->gsi);
    }
    l->nreserved = 0;
    if (l->isa[0].valid) {
        l->reserved_gsi[l->nreserved++] = l->isa[0].gsi;
        if (l->isa[0].gsi != 0)
            l->reserved_gsi[l->nreserved++] = 0;
    } else {
        l->reserved_gsi[l->nreserved++] = 0; /* the PIT's default line */
    }
    l->refused += refused;
    return refused;
}

int irqroute_reserved(const struct irq_layout *l, uint32_t gsi)
{
    for (unsigned i = 0; i < l->nreserved && i < 2; i++)
        if (l->reserved_gsi[i] == gsi)
            return 1;
    return 0;
}

uint64_t ioapic_rte_encode(unsigned vector, uint32_t dest, unsigned flags, int masked)
{
    uint64_t r = (uint64_t)(vector & 0xffu); /* fixed delivery, physical destination */
    if (flags & ARCH_IRQ_LOW)
        r |= RTE_LOW;
    if (flags & ARCH_IRQ_LEVEL)
        r |= RTE_LEVEL;
    if (masked)
        r |= RTE_MASKED;
    r |= (uint64_t)(dest & 0xffu) << RTE_DEST_SHIFT;
    return r;
}

uint64_t ioapic_rte_set_dest(uint64_t rte, uint32_t dest)
{
    return (rte & ~((uint64_t)0xffu << RTE_DEST_SHIFT)) | (uint64_t)(dest & 0xffu) << RTE_DEST_SHIFT;
}

void ioapic_rte_decode(uint64_t rte, struct arch_irq_route *out)
{
    out->vector = (unsigned)(rte & RTE_VECTOR);
    out->dest = (uint32_t)(rte >> RTE_DEST_SHIFT) & 0xffu;
    out->flags = ((rte & RTE_LEVEL) ? ARCH_IRQ_LEVEL : 0) | ((rte & RTE_LOW) ? ARCH_IRQ_LOW : 0);
    out->masked = (rte & RTE_MASKED) != 0;
    out->remote_irr = (rte & RTE_RIRR) != 0;
}

int msi_compose(unsigned vector, uint32_t dest, uint64_t *addr, uint32_t *data)
{
    if (!arch_irq_vector_ok(vector) || dest > 0xffu)
        return -AL_EINVAL;
    /* physical destination mode, no redirection hint: exactly that CPU */
    *addr = MSI_ADDR_BASE | (dest << MSI_ADDR_DEST_SHIFT);
    /* fixed delivery, edge (the level bit is ignored for edge) */
    *data = vector;
    return 0;
}
