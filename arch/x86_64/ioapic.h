/*
 * IOAPICs, the ISA interrupt source overrides and MSI messages (private to
 * x86_64; generic code uses <arch/irq.h>).
 *
 * The routing *logic* lives in irqroute.c: pure functions of the MADT's
 * values, without hardware or state, run unchanged in the host tests
 * (tests/host/test_irqroute.c). ioapic.c holds the one struct irq_layout
 * built at boot, the register access and <arch/irq.h>.
 *
 * The MADT is hostile input (docs/ARCHITECTURE.md, section 3): an IOAPIC
 * whose address or GSI range is impossible, or that overlaps another, is
 * refused; an override for a line that does not exist, with reserved flag
 * values, or repeating a source or a target GSI, is refused. Nothing here
 * panics.
 */
#ifndef ARCH_X86_64_IOAPIC_H
#define ARCH_X86_64_IOAPIC_H
#include <stdint.h>
#include <arch/irq.h>
#include "arch/x86_64/acpi.h"

#define IRQ_MAX_IOAPICS ACPI_MAX_IOAPICS
#define IRQ_ISA_LINES   16
#define IOAPIC_MAX_PINS 256 /* the version register's 8-bit "max entry" + 1 */

/* the IOAPIC's MMIO window: IOREGSEL at +0x00, IOWIN at +0x10 */
#define IOAPIC_REGSEL  0x00
#define IOAPIC_WIN     0x10
#define IOAPIC_WINDOW  0x20 /* bytes that must lie in one page */
#define IOAPIC_REG_ID  0x00
#define IOAPIC_REG_VER 0x01
#define IOAPIC_REG_RTE 0x10 /* + 2 * pin: low word; + 1: high word */

/* redirection-entry bits (Intel 82093AA IOAPIC datasheet) */
#define RTE_VECTOR   0xffULL
#define RTE_DELMODE  (7ULL << 8)  /* 000 = fixed */
#define RTE_DESTLOG  (1ULL << 11) /* 0 = physical destination */
#define RTE_PENDING  (1ULL << 12) /* delivery status (read-only) */
#define RTE_LOW      (1ULL << 13) /* polarity: active-low */
#define RTE_RIRR     (1ULL << 14) /* remote IRR (read-only, level) */
#define RTE_LEVEL    (1ULL << 15) /* trigger mode: level */
#define RTE_MASKED   (1ULL << 16)
#define RTE_DEST_SHIFT 56         /* 8-bit physical destination, bits 63:56 */

/* MSI (Intel SDM vol. 3, "Message Signalled Interrupts") */
#define MSI_ADDR_BASE       0xFEE00000u
#define MSI_ADDR_DEST_SHIFT 12 /* bits 19:12 destination ID */
#define MSI_ADDR_RH         (1u << 3) /* redirection hint (0: use DM) */
#define MSI_ADDR_DM         (1u << 2) /* destination mode (0: physical) */
#define MSI_DATA_LEVEL      (1u << 15) /* trigger mode (0: edge) */
#define MSI_DATA_ASSERT     (1u << 14) /* level: assert (ignored for edge) */
#define MSI_DATA_DELMODE    (7u << 8)  /* 000 = fixed */

/* MPS INTI flags of an override (ACPI 6.x, table "MPS INTI Flags") */
#define INTI_POL_MASK  0x3u
#define INTI_POL_BUS   0x0u /* conforms to the bus: ISA active-high */
#define INTI_POL_HIGH  0x1u
#define INTI_POL_LOW   0x3u
#define INTI_TRIG_MASK 0xcu
#define INTI_TRIG_BUS  0x0u /* conforms to the bus: ISA edge */
#define INTI_TRIG_EDGE 0x4u
#define INTI_TRIG_LEVEL 0xcu

struct irq_ioapic {
    uint8_t id;
    uint32_t addr;     /* physical address of the register window */
    uint32_t gsi_base; /* its pins are GSIs gsi_base .. gsi_base + npins - 1 */
    unsigned npins;
};

struct irq_isa_line {
    uint8_t valid;   /* the IRQ has a line */
    uint8_t flags;   /* ARCH_IRQ_LEVEL | ARCH_IRQ_LOW */
    uint32_t gsi;
};

/* Everything the firmware said about routing, after the checks. */
struct irq_layout {
    unsigned nioapics;
    struct irq_ioapic ioapics[IRQ_MAX_IOAPICS];
    struct irq_isa_line isa[IRQ_ISA_LINES];
    uint32_t reserved_gsi[2]; /* lines the kernel keeps (the PIT's; GSI 0) */
    unsigned nreserved;
    unsigned refused; /* MADT entries refused (IOAPICs and overrides) */
};

/*
 * Add an IOAPIC with npins pins (from its version register) to l. Refused
 * (-AL_EINVAL, l unchanged apart from l->refused) if: l is full; addr is
 * 0, below 1 MiB, in lapic_page, or its window crosses a page; another
 * IOAPIC uses the same page; npins is 0 or above IOAPIC_MAX_PINS;
 * gsi_base + npins overflows 32 bits; or its GSIs overlap another's.
 */
int irqroute_add_ioapic(struct irq_layout *l, uint8_t id, uint32_t addr, uint32_t gsi_base, unsigned npins,
                        uint64_t lapic_page);

/* The IOAPIC (index into l->ioapics) and pin of gsi; -AL_EINVAL if none. */
int irqroute_find(const struct irq_layout *l, uint32_t gsi, unsigned *ioapic, unsigned *pin);

/*
 * Build l->isa and l->reserved_gsi from the overrides (after every IOAPIC
 * was added). ISA IRQ i defaults to GSI i, edge, active-high. An override
 * is applied if its bus is 0 (ISA), its source is below 16, its flags use
 * no reserved encoding (polarity or trigger 2), its GSI lies on an IOAPIC,
 * and neither its source nor its GSI was named by an earlier override;
 * otherwise it is refused (counted in l->refused) and its source IRQ, if
 * it is an ISA IRQ, has no line (the firmware said the default is wrong,
 * and it did not say what is right). Then an IRQ keeps its line only if
 * that GSI exists and no override moved another IRQ onto it; IRQ 2, the
 * PC/AT cascade, never has a line. Returns the number of overrides
 * refused.
 */
unsigned irqroute_isa(struct irq_layout *l, const struct acpi_override *ov, unsigned n);

/* 1 if the kernel keeps gsi: the PIT's line (ISA IRQ 0 after its
 * override) and, when that override moved it, GSI 0, where PC chipsets
 * wire the 8259's output. */
int irqroute_reserved(const struct irq_layout *l, uint32_t gsi);

/* Redirection entry: fixed delivery, physical destination. Arguments are
 * not checked here (arch_irq_route_gsi does). */
uint64_t ioapic_rte_encode(unsigned vector, uint32_t dest, unsigned flags, int masked);
void ioapic_rte_decode(uint64_t rte, struct arch_irq_route *out);
/* the entry rte with its destination replaced by dest (low 8 bits), every
 * other field (vector, flags, mask) kept */
uint64_t ioapic_rte_set_dest(uint64_t rte, uint32_t dest);

/* arch_msi_compose's logic: -AL_EINVAL unless arch_irq_vector_ok(vector)
 * and dest fits the 8 bits of an xAPIC destination. */
int msi_compose(unsigned vector, uint32_t dest, uint64_t *addr, uint32_t *data);

struct acpi_madt_info;
/* BSP, BKL held, once, from smp_init: check and map every IOAPIC of the
 * MADT, mask every redirection entry, build the ISA map; prints one line. */
void ioapic_init(const struct acpi_madt_info *info, uint64_t lapic_page);
/* the layout built at boot (self-tests) */
const struct irq_layout *ioapic_layout(void);
#endif
