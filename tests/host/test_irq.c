/*
 * tests/host/test_irq.c - unit tests for kernel/irq.c: the device-vector
 * allocator (exhaustion, free, reuse, never a kernel vector), bindings to
 * GSIs, ISA IRQs and MSIs, and irq_arrived (counts, masking a level line
 * before the EOI, unexpected vectors left to the caller), and the sink
 * an IRQ object sets on its vector (called after the mask, before the EOI).
 *
 * The architecture (<arch/irq.h>) is a fake that records each call: a
 * table of 48 GSIs of which GSI 2 is the kernel's, ISA IRQ 0 -> GSI 2,
 * IRQ 8 -> GSI 8 edge, IRQ 9 -> GSI 9 level; the log of calls lets the
 * tests check order (mask before EOI).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/irq.h"
#include "kernel/upcall.h"
#include "abi/airlock/errno.h"
#include <arch/irq.h>

/* ------------------------------------------------------ the fake arch */

#define NGSI 48
static struct arch_irq_route lines[NGSI];
static int routed[NGSI];
static char log_buf[4096];

static void logf_(const char *what, uint32_t gsi)
{
    size_t n = strlen(log_buf);
    snprintf(log_buf + n, sizeof log_buf - n, "%s%s:%u", n ? " " : "", what, (unsigned)gsi);
}

int arch_irq_isa_to_gsi(unsigned irq, uint32_t *gsi, unsigned *flags)
{
    switch (irq) {
    case 0: *gsi = 2; *flags = 0; return 0;
    case 8: *gsi = 8; *flags = 0; return 0;
    case 9: *gsi = 9; *flags = ARCH_IRQ_LEVEL; return 0;
    default: return -AL_EINVAL;
    }
}

int arch_irq_route_gsi(uint32_t gsi, unsigned vector, uint32_t dest, unsigned flags)
{
    if (gsi >= NGSI || !arch_irq_vector_ok(vector) || dest > 0xff || (flags & ~ARCH_IRQ_FLAGS))
        return -AL_EINVAL;
    if (gsi == 2)
        return -AL_EPERM;
    lines[gsi] = (struct arch_irq_route){.vector = vector, .dest = dest, .flags = flags, .masked = 1};
    routed[gsi] = 1;
    logf_("route", gsi);
    return 0;
}

int arch_irq_set_dest(uint32_t gsi, uint32_t dest)
{
    if (gsi >= NGSI || !routed[gsi] || dest > 0xff)
        return -AL_EINVAL;
    lines[gsi].dest = dest; /* (the real one masks around the change) */
    logf_("dest", gsi);
    return 0;
}

int arch_irq_unroute_gsi(uint32_t gsi)
{
    if (gsi >= NGSI)
        return -AL_EINVAL;
    lines[gsi] = (struct arch_irq_route){.masked = 1};
    routed[gsi] = 0;
    logf_("unroute", gsi);
    return 0;
}

int arch_irq_mask(uint32_t gsi)
{
    if (gsi >= NGSI)
        return -AL_EINVAL;
    lines[gsi].masked = 1;
    logf_("mask", gsi);
    return 0;
}

int arch_irq_unmask(uint32_t gsi)
{
    if (gsi >= NGSI || !routed[gsi])
        return -AL_EINVAL;
    lines[gsi].masked = 0;
    logf_("unmask", gsi);
    return 0;
}

int arch_irq_read(uint32_t gsi, struct arch_irq_route *out)
{
    if (gsi >= NGSI)
        return -AL_EINVAL;
    *out = lines[gsi];
    return 0;
}

void arch_irq_eoi(void)
{
    logf_("eoi", 0);
}

int arch_msi_compose(unsigned vector, uint32_t dest, uint64_t *addr, uint32_t *data)
{
    if (!arch_irq_vector_ok(vector) || dest > 0xff)
        return -AL_EINVAL;
    *addr = 0xfee00000u | dest << 12;
    *data = vector;
    return 0;
}

/* ------------------------------------------------------------- tests */

static int nvectors(void)
{
    int n = 0;
    for (unsigned v = 0; v < 256; v++)
        n += arch_irq_vector_ok(v);
    return n;
}

static int free_all(void **state)
{
    (void)state;
    for (unsigned v = 0; v < 256; v++)
        irq_vector_free(v);
    memset(lines, 0, sizeof lines);
    memset(routed, 0, sizeof routed);
    log_buf[0] = 0;
    return 0;
}

static int is_kernel_vector(unsigned v)
{
    return v < 0x30 || v == 0x80 || v >= 0xE0; /* exceptions, PICs, int 0x80, timer, IPIs, spurious */
}

static void test_alloc_exhaust_free(void **state)
{
    (void)state;
    int n = nvectors();
    assert_int_equal(n, 0xDF - 0x30 + 1 - 1); /* 0x30..0xDF without 0x80 */
    static int seen[256];
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < n; i++) {
        int v = irq_vector_alloc();
        assert_true(v > 0 && v < 256);
        assert_false(is_kernel_vector((unsigned)v));
        assert_false(seen[v]);
        seen[v] = 1;
        struct irq_vec_info vi;
        irq_vector_info((unsigned)v, &vi);
        assert_int_equal(vi.kind, IRQ_ALLOCATED);
    }
    assert_int_equal(irq_vector_alloc(), -AL_EBUSY);
    assert_int_equal(irq_vector_alloc(), -AL_EBUSY);
    /* free one in the middle: it is the next one handed out */
    assert_int_equal(irq_vector_free(0x81), 0);
    assert_int_equal(irq_vector_free(0x81), -AL_EINVAL); /* twice */
    assert_int_equal(irq_vector_alloc(), 0x81);
    assert_int_equal(irq_vector_alloc(), -AL_EBUSY);
    /* kernel vectors and out-of-range ones cannot be freed (nor bound) */
    assert_int_equal(irq_vector_free(0x80), -AL_EINVAL);
    assert_int_equal(irq_vector_free(0xEF), -AL_EINVAL);
    assert_int_equal(irq_vector_free(0x20), -AL_EINVAL);
    assert_int_equal(irq_vector_free(300), -AL_EINVAL);
    assert_int_equal(irq_bind_gsi(0xF0, 5, 0, 0), -AL_EINVAL);
    for (unsigned v = 0; v < 256; v++)
        if (seen[v])
            assert_int_equal(irq_vector_free(v), 0);
    assert_int_equal(irq_vector_alloc(), 0x30); /* lowest first */
}

static void test_bind_gsi(void **state)
{
    (void)state;
    int v = irq_vector_alloc(), w = irq_vector_alloc();
    assert_int_equal(irq_bind_gsi((unsigned)v, 20, ARCH_IRQ_PCI_INTX, 3), 0);
    assert_true(lines[20].masked && lines[20].vector == (unsigned)v && lines[20].dest == 3 &&
                lines[20].flags == ARCH_IRQ_PCI_INTX);
    struct irq_vec_info vi;
    irq_vector_info((unsigned)v, &vi);
    assert_int_equal(vi.kind, IRQ_GSI);
    assert_int_equal(vi.gsi, 20);
    assert_true(vi.masked);
    /* the same vector twice, the same line for a second vector */
    assert_int_equal(irq_bind_gsi((unsigned)v, 21, 0, 0), -AL_EINVAL);
    assert_int_equal(irq_bind_gsi((unsigned)w, 20, 0, 0), -AL_EBUSY);
    /* refusals of the architecture pass through, the vector stays unbound */
    assert_int_equal(irq_bind_gsi((unsigned)w, 2, 0, 0), -AL_EPERM);
    assert_int_equal(irq_bind_isa((unsigned)w, 0, 0), -AL_EPERM); /* the PIT */
    assert_int_equal(irq_bind_isa((unsigned)w, 3, 0), -AL_EINVAL);
    assert_int_equal(irq_bind_gsi((unsigned)w, 99, 0, 0), -AL_EINVAL);
    assert_int_equal(irq_bind_gsi((unsigned)w, 21, 0, 0x100), -AL_EINVAL);
    irq_vector_info((unsigned)w, &vi);
    assert_int_equal(vi.kind, IRQ_ALLOCATED);
    /* ISA: GSI and flags from the architecture */
    assert_int_equal(irq_bind_isa((unsigned)w, 9, 1), 0);
    assert_true(lines[9].vector == (unsigned)w && lines[9].flags == ARCH_IRQ_LEVEL && lines[9].dest == 1);
    /* mask, unmask; unbind masks and unroutes; free of a bound vector too */
    assert_int_equal(irq_unmask((unsigned)v), 0);
    assert_false(lines[20].masked);
    assert_int_equal(irq_mask((unsigned)v), 0);
    assert_true(lines[20].masked);
    assert_int_equal(irq_unbind((unsigned)v), 0);
    assert_false(routed[20]);
    assert_int_equal(irq_unmask((unsigned)v), -AL_EINVAL); /* not bound to a line */
    assert_int_equal(irq_vector_free((unsigned)w), 0);
    assert_false(routed[9]);
    /* the line is free for another vector now */
    assert_int_equal(irq_bind_gsi((unsigned)v, 9, 0, 0), 0);
}

static void test_arrival_edge_level(void **state)
{
    (void)state;
    int e = irq_vector_alloc(), l = irq_vector_alloc();
    assert_int_equal(irq_bind_isa((unsigned)e, 8, 0), 0);
    assert_int_equal(irq_bind_gsi((unsigned)l, 20, ARCH_IRQ_PCI_INTX, 0), 0);
    assert_int_equal(irq_unmask((unsigned)e), 0);
    assert_int_equal(irq_unmask((unsigned)l), 0);
    unsigned long g8 = irq_gsi_count(8), g20 = irq_gsi_count(20);

    log_buf[0] = 0;
    assert_int_equal(irq_arrived((unsigned)e), 1);
    assert_int_equal(irq_arrived((unsigned)e), 1);
    assert_string_equal(log_buf, "eoi:0 eoi:0"); /* an edge line is not masked */
    assert_false(lines[8].masked);

    log_buf[0] = 0;
    assert_int_equal(irq_arrived((unsigned)l), 1);
    assert_string_equal(log_buf, "mask:20 eoi:0"); /* masked before the EOI */
    struct irq_vec_info vi;
    irq_vector_info((unsigned)l, &vi);
    assert_true(vi.masked && lines[20].masked);
    assert_int_equal(vi.count, 1);
    /* the acknowledgement */
    assert_int_equal(irq_unmask((unsigned)l), 0);
    irq_vector_info((unsigned)l, &vi);
    assert_false(vi.masked);
    assert_int_equal(irq_arrived((unsigned)l), 1);

    irq_vector_info((unsigned)e, &vi);
    assert_int_equal(vi.count, 2);
    assert_int_equal(irq_gsi_count(8) - g8, 2);
    assert_int_equal(irq_gsi_count(20) - g20, 2);
    assert_int_equal(irq_gsi_count(100000), 0);
}

static void test_arrival_unexpected_and_msi(void **state)
{
    (void)state;
    log_buf[0] = 0;
    /* free device vectors, kernel vectors: not claimed, nothing done */
    assert_int_equal(irq_arrived(0x30), 0);
    assert_int_equal(irq_arrived(0x80), 0);
    assert_int_equal(irq_arrived(0xEF), 0);
    assert_int_equal(irq_arrived(0xFF), 0);
    assert_int_equal(irq_arrived(1000), 0);
    assert_string_equal(log_buf, "");
    /* allocated, unbound: counted, acknowledged */
    int v = irq_vector_alloc();
    assert_int_equal(irq_arrived((unsigned)v), 1);
    assert_string_equal(log_buf, "eoi:0");
    /* MSI */
    uint64_t addr = 0;
    uint32_t data = 0;
    assert_int_equal(irq_bind_msi((unsigned)v, 0x100, &addr, &data), -AL_EINVAL);
    assert_int_equal(irq_bind_msi((unsigned)v, 2, &addr, &data), 0);
    assert_true(addr == 0xfee02000u && data == (unsigned)v);
    assert_int_equal(irq_bind_msi((unsigned)v, 2, &addr, &data), -AL_EINVAL); /* already bound */
    assert_int_equal(irq_mask((unsigned)v), -AL_EINVAL);                     /* no line to mask */
    log_buf[0] = 0;
    assert_int_equal(irq_arrived((unsigned)v), 1);
    assert_string_equal(log_buf, "eoi:0");
    struct irq_vec_info vi;
    irq_vector_info((unsigned)v, &vi);
    assert_int_equal(vi.kind, IRQ_MSI);
    assert_int_equal(vi.count, 2);
    /* freed: unexpected again */
    assert_int_equal(irq_vector_free((unsigned)v), 0);
    assert_int_equal(irq_arrived((unsigned)v), 0);
    /* a reused vector starts counting from zero */
    assert_int_equal(irq_vector_alloc(), v);
    irq_vector_info((unsigned)v, &vi);
    assert_int_equal(vi.count, 0);
}

/* the sink (an IRQ object in the kernel) hears of each arrival after a
 * level line's mask and before the EOI; unbinding keeps it, freeing
 * clears it, and only a vector in use can have one */
static void sink_fn(void *arg)
{
    logf_("sink", (uint32_t)(uintptr_t)arg);
}

static void test_sink(void **state)
{
    (void)state;
    assert_int_equal(irq_set_sink(0x30, sink_fn, (void *)7), -AL_EINVAL); /* free */
    assert_int_equal(irq_set_sink(0x80, sink_fn, (void *)7), -AL_EINVAL); /* not a device vector */
    int l = irq_vector_alloc();
    assert_int_equal(irq_set_sink((unsigned)l, sink_fn, (void *)7), 0);
    assert_int_equal(irq_bind_gsi((unsigned)l, 20, ARCH_IRQ_PCI_INTX, 0), 0);
    assert_int_equal(irq_unmask((unsigned)l), 0);
    log_buf[0] = 0;
    assert_int_equal(irq_arrived((unsigned)l), 1);
    assert_string_equal(log_buf, "mask:20 sink:7 eoi:0");
    assert_int_equal(irq_unbind((unsigned)l), 0);
    log_buf[0] = 0;
    assert_int_equal(irq_arrived((unsigned)l), 1); /* ALLOCATED again: still its sink's */
    assert_string_equal(log_buf, "sink:7 eoi:0");
    assert_int_equal(irq_set_sink((unsigned)l, NULL, NULL), 0);
    log_buf[0] = 0;
    assert_int_equal(irq_arrived((unsigned)l), 1);
    assert_string_equal(log_buf, "eoi:0");
    assert_int_equal(irq_set_sink((unsigned)l, sink_fn, (void *)7), 0);
    assert_int_equal(irq_vector_free((unsigned)l), 0);
    assert_int_equal(irq_vector_alloc(), l);
    log_buf[0] = 0;
    assert_int_equal(irq_arrived((unsigned)l), 1); /* reused: no sink */
    assert_string_equal(log_buf, "eoi:0");
}

/* the vector of a GSI (for joining a shared line); moving a bound
 * vector's destination: a line's entry rewritten with its mask kept, an
 * MSI's new message; refusals change nothing */
static void test_gsi_vector_and_dest(void **state)
{
    (void)state;
    int v = irq_vector_alloc(), m = irq_vector_alloc(), a = irq_vector_alloc();
    assert_int_equal(irq_gsi_vector(20), -AL_ENOENT);
    assert_int_equal(irq_bind_gsi((unsigned)v, 20, ARCH_IRQ_PCI_INTX, 0), 0);
    assert_int_equal(irq_gsi_vector(20), v);
    assert_int_equal(irq_gsi_vector(21), -AL_ENOENT);
    log_buf[0] = 0;
    assert_int_equal(irq_set_dest((unsigned)v, 3, NULL, NULL), 0);
    assert_string_equal(log_buf, "dest:20");
    struct irq_vec_info vi;
    irq_vector_info((unsigned)v, &vi);
    assert_true(vi.dest == 3 && vi.masked && lines[20].dest == 3 && lines[20].masked &&
                lines[20].vector == (unsigned)v && lines[20].flags == ARCH_IRQ_PCI_INTX);
    assert_int_equal(irq_set_dest((unsigned)v, 0x100, NULL, NULL), -AL_EINVAL);
    irq_vector_info((unsigned)v, &vi);
    assert_int_equal(vi.dest, 3);
    /* an MSI: the new message; a bad destination changes nothing */
    uint64_t addr = 0;
    uint32_t data = 0;
    assert_int_equal(irq_bind_msi((unsigned)m, 0, &addr, &data), 0);
    assert_int_equal(irq_set_dest((unsigned)m, 2, &addr, &data), 0);
    assert_true(addr == (0xfee00000u | 2u << 12) && data == (uint32_t)m);
    assert_int_equal(irq_set_dest((unsigned)m, 0x1000, &addr, &data), -AL_EINVAL);
    irq_vector_info((unsigned)m, &vi);
    assert_int_equal(vi.dest, 2);
    /* not bound, not a device vector */
    assert_int_equal(irq_set_dest((unsigned)a, 1, &addr, &data), -AL_EINVAL);
    assert_int_equal(irq_set_dest(0xEF, 1, &addr, &data), -AL_EINVAL);
    /* unbound: the GSI has no vector any more */
    assert_int_equal(irq_unbind((unsigned)v), 0);
    assert_int_equal(irq_gsi_vector(20), -AL_ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_alloc_exhaust_free, free_all),
        cmocka_unit_test_setup(test_bind_gsi, free_all),
        cmocka_unit_test_setup(test_arrival_edge_level, free_all),
        cmocka_unit_test_setup(test_arrival_unexpected_and_msi, free_all),
        cmocka_unit_test_setup(test_sink, free_all),
        cmocka_unit_test_setup(test_gsi_vector_and_dest, free_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
