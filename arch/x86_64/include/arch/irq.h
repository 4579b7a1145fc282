/*
 * Interrupt routing: what generic code may ask of the platform's interrupt
 * controllers (docs/ARCHITECTURE.md, section 10.7).
 *
 * A device interrupt reaches a CPU on a *device vector*, one of
 * [ARCH_IRQ_VEC_FIRST, ARCH_IRQ_VEC_LAST]; the architecture hands every
 * arrival on such a vector to irq_arrived() (kernel/upcall.h), and handles
 * a vector irq_arrived() does not claim like any other unexpected one
 * (counted, acknowledged). The kernel's own vectors (the timer, the IPIs,
 * the spurious vector, `int $0x80`, the remapped PIC range) lie outside it.
 *
 * Sources: a *GSI* (global system interrupt: an input line of an IOAPIC)
 * routed to (vector, destination), or an *MSI* whose address/data message
 * the device writes itself. Legacy ISA IRQs 0..15 are GSIs after the
 * firmware's interrupt source overrides.
 *
 * Contract of every function here: BKL held, interrupts off; no function
 * panics on a bad argument or on what the firmware said: it refuses with
 * -AL_EINVAL (no such line, vector or destination), -AL_EPERM (a line the
 * kernel keeps) and returns 0 on success.
 */
#ifndef ARCH_IRQ_H
#define ARCH_IRQ_H
#include <stdint.h>

/* device vectors: below the kernel's (0xEF timer, 0xF0/0xF1 IPIs, 0xFF
 * spurious), above the remapped PICs (0x20..0x2f), 0x80 excepted */
#define ARCH_IRQ_VEC_FIRST   0x30u
#define ARCH_IRQ_VEC_LAST    0xDFu
#define ARCH_IRQ_VEC_SYSCALL 0x80u /* int $0x80: never a device vector */

/* trigger mode and polarity of a line (flags) */
#define ARCH_IRQ_LEVEL 1u /* level-triggered (else edge) */
#define ARCH_IRQ_LOW   2u /* active-low (else active-high) */
#define ARCH_IRQ_FLAGS (ARCH_IRQ_LEVEL | ARCH_IRQ_LOW)
/* PCI INTx lines: shared, level-triggered, active-low */
#define ARCH_IRQ_PCI_INTX (ARCH_IRQ_LEVEL | ARCH_IRQ_LOW)
/* an ISA line without an override: edge, active-high */
#define ARCH_IRQ_ISA_DEFAULT 0u

/* 1 if vector is a device vector (one the allocator may hand out) */
static inline int arch_irq_vector_ok(unsigned vector)
{
    return vector >= ARCH_IRQ_VEC_FIRST && vector <= ARCH_IRQ_VEC_LAST && vector != ARCH_IRQ_VEC_SYSCALL;
}

/* what a GSI's redirection entry holds (arch_irq_read) */
struct arch_irq_route {
    unsigned vector;
    uint32_t dest;  /* destination: a CPU's hardware ID (cpus[i].apic_id) */
    unsigned flags; /* ARCH_IRQ_LEVEL | ARCH_IRQ_LOW */
    int masked;
    int remote_irr; /* level: delivered, its EOI not yet seen */
};

/* ISA IRQ irq (0..15) -> its GSI and flags, after the firmware's
 * overrides. -AL_EINVAL if the IRQ has no usable line (the cascade, IRQ 2;
 * an IRQ whose override was refused or whose GSI another IRQ took; no
 * IOAPIC serves it). The PIT's IRQ 0 is translated, but not routable. */
int arch_irq_isa_to_gsi(unsigned irq, uint32_t *gsi, unsigned *flags);

/* Program GSI gsi to deliver vector to the CPU whose hardware ID is dest,
 * with flags; the line is left MASKED (arch_irq_unmask starts it). */
int arch_irq_route_gsi(uint32_t gsi, unsigned vector, uint32_t dest, unsigned flags);
/* Deliver a routed GSI to the CPU whose hardware ID is dest from now on,
 * keeping its vector, flags and mask bit. The entry is masked while it
 * changes (never half-written and unmasked). An interrupt the old CPU has
 * already accepted is still delivered there, on the same vector (device
 * vectors mean the same source on every CPU); a level line's remote IRR
 * is cleared by that CPU's EOI, which the IOAPIC matches by vector. */
int arch_irq_set_dest(uint32_t gsi, uint32_t dest);
/* Mask the line and clear its vector (the boot state). */
int arch_irq_unroute_gsi(uint32_t gsi);
int arch_irq_mask(uint32_t gsi);
int arch_irq_unmask(uint32_t gsi);
int arch_irq_read(uint32_t gsi, struct arch_irq_route *out);

/* Acknowledge the interrupt in service on this CPU (its local APIC). A
 * level-triggered line must be masked before, or it fires again at once. */
void arch_irq_eoi(void);

/* The MSI message that delivers vector, edge-triggered, with fixed
 * delivery, to the CPU whose hardware ID is dest: the device writes *data
 * (32 bits; 16 in a 16-bit field) to *addr (64 bits, the upper half 0). */
int arch_msi_compose(unsigned vector, uint32_t dest, uint64_t *addr, uint32_t *data);
#endif
