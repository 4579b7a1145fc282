/*
 * Device vectors: allocator, bindings and arrival. Contract in
 * kernel/irq.h; the routing itself is the architecture's (<arch/irq.h>).
 */
#include "kernel/irq.h"
#include "kernel/upcall.h"
#include "kernel/bkl.h"
#include "abi/airlock/errno.h"
#include "abi/airlock/syscall.h"
#include <arch/irq.h>

_Static_assert(ARCH_IRQ_VEC_SYSCALL == AL_INT_SYSCALL_VECTOR, "int $0x80 is never a device vector");

static struct irq_vec_info vecs[256];
static unsigned long gsi_counts[IRQ_COUNTED_GSIS];

/* the vector's entry if it is a device vector in one of the given states */
static struct irq_vec_info *vec_in(unsigned vector, unsigned kinds)
{
    if (!arch_irq_vector_ok(vector))
        return 0;
    struct irq_vec_info *v = &vecs[vector];
    return (kinds >> v->kind) & 1 ? v : 0;
}
#define K(kind) (1u << (kind))

int irq_vector_alloc(void)
{
    assert_kernel_locked();
    for (unsigned v = ARCH_IRQ_VEC_FIRST; v <= ARCH_IRQ_VEC_LAST; v++) {
        if (!arch_irq_vector_ok(v) || vecs[v].kind != IRQ_FREE)
            continue;
        vecs[v] = (struct irq_vec_info){.kind = IRQ_ALLOCATED};
        return (int)v;
    }
    return -AL_EBUSY;
}

int irq_unbind(unsigned vector)
{
    assert_kernel_locked();
    struct irq_vec_info *v = vec_in(vector, K(IRQ_ALLOCATED) | K(IRQ_GSI) | K(IRQ_MSI));
    if (!v)
        return -AL_EINVAL;
    if (v->kind == IRQ_GSI)
        arch_irq_unroute_gsi(v->gsi); /* masked, vector cleared */
    v->kind = IRQ_ALLOCATED;
    v->masked = 0;
    return 0;
}

int irq_vector_free(unsigned vector)
{
    int rc = irq_unbind(vector);
    if (rc == 0)
        vecs[vector] = (struct irq_vec_info){.kind = IRQ_FREE};
    return rc;
}

int irq_bind_gsi(unsigned vector, uint32_t gsi, unsigned flags, uint32_t dest)
{
    assert_kernel_locked();
    struct irq_vec_info *v = vec_in(vector, K(IRQ_ALLOCATED));
    if (!v)
        return -AL_EINVAL;
    for (unsigned w = ARCH_IRQ_VEC_FIRST; w <= ARCH_IRQ_VEC_LAST; w++)
        if (vecs[w].kind == IRQ_GSI && vecs[w].gsi == gsi)
            return -AL_EBUSY; /* one vector per line (objects sharing it share it) */
    int rc = arch_irq_route_gsi(gsi, vector, dest, flags);
    if (rc)
        return rc;
    v->kind = IRQ_GSI;
    v->gsi = gsi;
    v->flags = flags;
    v->dest = dest;
    v->masked = 1;
    return 0;
}

int irq_bind_isa(unsigned vector, unsigned isa, uint32_t dest)
{
    uint32_t gsi;
    unsigned flags;
    int rc = arch_irq_isa_to_gsi(isa, &gsi, &flags);
    return rc ? rc : irq_bind_gsi(vector, gsi, flags, dest);
}

int irq_bind_msi(unsigned vector, uint32_t dest, uint64_t *addr, uint32_t *data)
{
    assert_kernel_locked();
    struct irq_vec_info *v = vec_in(vector, K(IRQ_ALLOCATED));
    if (!v)
        return -AL_EINVAL;
    int rc = arch_msi_compose(vector, dest, addr, data);
    if (rc)
        return rc;
    v->kind = IRQ_MSI;
    v->dest = dest;
    return 0;
}

int irq_gsi_vector(uint32_t gsi)
{
    assert_kernel_locked();
    for (unsigned w = ARCH_IRQ_VEC_FIRST; w <= ARCH_IRQ_VEC_LAST; w++)
        if (vecs[w].kind == IRQ_GSI && vecs[w].gsi == gsi)
            return (int)w;
    return -AL_ENOENT;
}

int irq_set_dest(unsigned vector, uint32_t dest, uint64_t *addr, uint32_t *data)
{
    assert_kernel_locked();
    struct irq_vec_info *v = vec_in(vector, K(IRQ_GSI) | K(IRQ_MSI));
    if (!v)
        return -AL_EINVAL;
    int rc = v->kind == IRQ_GSI ? arch_irq_set_dest(v->gsi, dest) : arch_msi_compose(vector, dest, addr, data);
    if (rc == 0)
        v->dest = dest;
    return rc;
}

int irq_mask(unsigned vector)
{
    assert_kernel_locked();
    struct irq_vec_info *v = vec_in(vector, K(IRQ_GSI));
    if (!v)
        return -AL_EINVAL;
    int rc = arch_irq_mask(v->gsi);
    if (rc == 0)
        v->masked = 1;
    return rc;
}

int irq_unmask(unsigned vector)
{
    assert_kernel_locked();
    struct irq_vec_info *v = vec_in(vector, K(IRQ_GSI));
    if (!v)
        return -AL_EINVAL;
    int rc = arch_irq_unmask(v->gsi);
    if (rc == 0)
        v->masked = 0;
    return rc;
}

int irq_set_sink(unsigned vector, void (*sink)(void *arg), void *arg)
{
    assert_kernel_locked();
    struct irq_vec_info *v = vec_in(vector, K(IRQ_ALLOCATED) | K(IRQ_GSI) | K(IRQ_MSI));
    if (!v)
        return -AL_EINVAL;
    v->sink = sink;
    v->sink_arg = arg;
    return 0;
}

void irq_vector_info(unsigned vector, struct irq_vec_info *out)
{
    *out = vector < 256 ? vecs[vector] : (struct irq_vec_info){.kind = IRQ_FREE};
}

unsigned long irq_gsi_count(uint32_t gsi)
{
    return gsi < IRQ_COUNTED_GSIS ? gsi_counts[gsi] : 0;
}

/*
 * An interrupt arrived on a device vector (called by the architecture's
 * dispatch, BKL held, interrupts off). A level-triggered line is masked
 * before the EOI: its device still asserts it, and unmasked it would fire
 * again at once. Returns 0 for a vector nobody allocated, which the caller
 * treats as unexpected (counts and acknowledges it). The vector's sink
 * (its IRQ object, kernel/irqobj.c) hears of it before the EOI.
 */
int irq_arrived(unsigned vector)
{
    assert_kernel_locked();
    struct irq_vec_info *v = vec_in(vector, K(IRQ_ALLOCATED) | K(IRQ_GSI) | K(IRQ_MSI));
    if (!v)
        return 0;
    v->count++;
    if (v->kind == IRQ_GSI) {
        if (v->gsi < IRQ_COUNTED_GSIS)
            gsi_counts[v->gsi]++;
        if ((v->flags & ARCH_IRQ_LEVEL) && arch_irq_mask(v->gsi) == 0)
            v->masked = 1;
    }
    if (v->sink)
        v->sink(v->sink_arg);
    arch_irq_eoi();
    return 1;
}
