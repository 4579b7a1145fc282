/*
 * Device vectors: their allocation, what each one is bound to, and the
 * generic half of an interrupt's arrival (irq_arrived, kernel/upcall.h).
 * docs/ARCHITECTURE.md, section 10.7.
 *
 * One global table: a device vector means the same source on every CPU
 * (the IDT's device range dispatches identically everywhere), and a
 * source's destination CPU is chosen when it is bound. The allocator hands
 * out only vectors for which arch_irq_vector_ok() holds (<arch/irq.h>),
 * lowest first, so never a vector the kernel itself uses.
 *
 * A vector is FREE, ALLOCATED (no source yet: an arrival is counted and
 * acknowledged), bound to a GSI (an IOAPIC line, routed masked; irq_unmask
 * starts it), or bound to an MSI (the device is programmed with the
 * message irq_bind_msi composes).
 *
 * Arrival: counted per vector and per GSI; a level-triggered GSI is masked
 * before the EOI and stays masked until irq_unmask (the IRQ object will do
 * that when its driver acknowledges); edge lines and MSIs are only
 * acknowledged.
 *
 * Contract of every function: BKL held, interrupts off (asserted in DEBUG
 * builds). Errors: -AL_EINVAL (no such vector or line, vector not in the
 * state the call needs), -AL_EBUSY (no free vector; the GSI is bound to
 * another vector), -AL_EPERM (a line the kernel keeps), 0 on success.
 */
#ifndef KERNEL_IRQ_H
#define KERNEL_IRQ_H
#include <stdint.h>

/* per-GSI counts are kept for GSIs below this (every IOAPIC line of q35) */
#define IRQ_COUNTED_GSIS 256

enum irq_kind { IRQ_FREE, IRQ_ALLOCATED, IRQ_GSI, IRQ_MSI };

struct irq_vec_info {
    enum irq_kind kind;
    uint32_t gsi;        /* IRQ_GSI */
    unsigned flags;      /* IRQ_GSI: ARCH_IRQ_LEVEL | ARCH_IRQ_LOW */
    uint32_t dest;       /* IRQ_GSI, IRQ_MSI: destination hardware ID */
    int masked;          /* IRQ_GSI: masked by the kernel (bound, or a level arrival) */
    unsigned long count; /* arrivals since it was allocated */
    /* called at each arrival (after the count and a level line's mask,
     * before the EOI), if set: the IRQ object owning the vector */
    void (*sink)(void *arg);
    void *sink_arg;
};

/* a free device vector, now ALLOCATED; -AL_EBUSY if none is left */
int irq_vector_alloc(void);
/* unbind (masking its line) and free; -AL_EINVAL if it is not allocated */
int irq_vector_free(unsigned vector);

/* bind an ALLOCATED vector to gsi, delivered to the CPU with hardware ID
 * dest (cpus[i].apic_id), with flags (<arch/irq.h>); the line is routed
 * masked */
int irq_bind_gsi(unsigned vector, uint32_t gsi, unsigned flags, uint32_t dest);
/* the same for ISA IRQ isa (0..15), its GSI and flags from the firmware */
int irq_bind_isa(unsigned vector, unsigned isa, uint32_t dest);
/* bind an ALLOCATED vector as an MSI to dest; *addr and *data are the
 * message to program into the device */
int irq_bind_msi(unsigned vector, uint32_t dest, uint64_t *addr, uint32_t *data);
/* the vector bound to gsi, or -AL_ENOENT (IRQ objects sharing a line
 * share its vector) */
int irq_gsi_vector(uint32_t gsi);
/* a bound vector's destination becomes the CPU with hardware ID dest: a
 * GSI's redirection entry is rewritten (arch_irq_set_dest: masked while it
 * changes, its mask state kept); for an MSI, *addr and *data are the new
 * message, which the device must be programmed with (until then it keeps
 * sending to the old CPU, on the same vector: still delivered and
 * counted). Nothing changes on an error (-AL_EINVAL: not bound, or a bad
 * destination). */
int irq_set_dest(unsigned vector, uint32_t dest, uint64_t *addr, uint32_t *data);
/* back to ALLOCATED; a GSI's line is masked and unrouted */
int irq_unbind(unsigned vector);

/* a GSI-bound vector's line: mask, or unmask (after a level arrival: the
 * acknowledgement) */
int irq_mask(unsigned vector);
int irq_unmask(unsigned vector);

/* an ALLOCATED or bound vector's arrivals go to sink(arg) too (NULL:
 * none); cleared when the vector is freed */
int irq_set_sink(unsigned vector, void (*sink)(void *arg), void *arg);

/* state of a vector (any vector; FREE outside the device range) */
void irq_vector_info(unsigned vector, struct irq_vec_info *out);
/* arrivals on gsi since boot (0 for gsi >= IRQ_COUNTED_GSIS) */
unsigned long irq_gsi_count(uint32_t gsi);
#endif
