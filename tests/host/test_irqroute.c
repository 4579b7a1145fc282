/*
 * tests/host/test_irqroute.c - unit tests for arch/x86_64/irqroute.c: IOAPIC
 * GSI ranges (and hostile MADT IOAPIC entries), ISA IRQ -> GSI through the
 * interrupt source overrides (flags, hostile overrides), the lines the
 * kernel keeps, redirection-entry encoding and MSI message composition.
 *
 * Expected values are written out by hand from the 82093AA datasheet, the
 * ACPI MPS INTI flags table and the Intel SDM's MSI format, never computed
 * by the code under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86_64/ioapic.h"
#include "abi/airlock/errno.h"

#define LAPIC 0xfee00000ULL

static struct irq_layout L;

/* one IOAPIC, GSIs 0..23, as on QEMU q35 */
static void q35(void)
{
    memset(&L, 0, sizeof L);
    assert_int_equal(irqroute_add_ioapic(&L, 0, 0xfec00000u, 0, 24, LAPIC), 0);
}

static struct acpi_override ov(uint8_t src, uint32_t gsi, uint16_t flags)
{
    struct acpi_override o = {.bus = 0, .source_irq = src, .gsi = gsi, .flags = flags};
    return o;
}

static void expect_isa(unsigned irq, uint32_t gsi, unsigned flags)
{
    assert_true(L.isa[irq].valid);
    assert_int_equal(L.isa[irq].gsi, gsi);
    assert_int_equal(L.isa[irq].flags, flags);
}

static void test_ioapic_ranges(void **state)
{
    (void)state;
    memset(&L, 0, sizeof L);
    assert_int_equal(irqroute_add_ioapic(&L, 0, 0xfec00000u, 0, 24, LAPIC), 0);
    assert_int_equal(irqroute_add_ioapic(&L, 1, 0xfec01000u, 24, 32, LAPIC), 0);
    unsigned io, pin;
    assert_int_equal(irqroute_find(&L, 0, &io, &pin), 0);
    assert_int_equal(io, 0);
    assert_int_equal(pin, 0);
    assert_int_equal(irqroute_find(&L, 23, &io, &pin), 0);
    assert_int_equal(pin, 23);
    assert_int_equal(irqroute_find(&L, 24, &io, &pin), 0);
    assert_int_equal(io, 1);
    assert_int_equal(pin, 0);
    assert_int_equal(irqroute_find(&L, 55, &io, &pin), 0);
    assert_int_equal(pin, 31);
    assert_int_equal(irqroute_find(&L, 56, &io, &pin), -AL_EINVAL);
    assert_int_equal(irqroute_find(&L, 0xffffffffu, &io, &pin), -AL_EINVAL);
    assert_int_equal(L.refused, 0);
}

static void test_ioapic_hostile(void **state)
{
    (void)state;
    q35();
    /* overlapping GSIs, at either end */
    assert_int_equal(irqroute_add_ioapic(&L, 1, 0xfec01000u, 23, 8, LAPIC), -AL_EINVAL);
    assert_int_equal(irqroute_add_ioapic(&L, 1, 0xfec01000u, 0, 1, LAPIC), -AL_EINVAL);
    /* the same page as another IOAPIC, as the local APIC */
    assert_int_equal(irqroute_add_ioapic(&L, 1, 0xfec00400u, 100, 8, LAPIC), -AL_EINVAL);
    assert_int_equal(irqroute_add_ioapic(&L, 1, 0xfee00000u, 100, 8, LAPIC), -AL_EINVAL);
    /* address 0, in the first MiB, window across a page */
    assert_int_equal(irqroute_add_ioapic(&L, 1, 0, 100, 8, LAPIC), -AL_EINVAL);
    assert_int_equal(irqroute_add_ioapic(&L, 1, 0xb8000u, 100, 8, LAPIC), -AL_EINVAL);
    assert_int_equal(irqroute_add_ioapic(&L, 1, 0xfec01ff0u, 100, 8, LAPIC), -AL_EINVAL);
    /* no pins (all-ones version register is turned into 0), too many pins */
    assert_int_equal(irqroute_add_ioapic(&L, 1, 0xfec01000u, 100, 0, LAPIC), -AL_EINVAL);
    assert_int_equal(irqroute_add_ioapic(&L, 1, 0xfec01000u, 100, IOAPIC_MAX_PINS + 1, LAPIC), -AL_EINVAL);
    /* GSI range overflowing 32 bits; the last possible range is fine */
    assert_int_equal(irqroute_add_ioapic(&L, 1, 0xfec01000u, 0xfffffff0u, 17, LAPIC), -AL_EINVAL);
    assert_int_equal(L.refused, 10);
    assert_int_equal(L.nioapics, 1);
    assert_int_equal(irqroute_add_ioapic(&L, 1, 0xfec01000u, 0xfffffff0u, 16, LAPIC), 0);
    /* full */
    for (unsigned i = 2; i < IRQ_MAX_IOAPICS; i++)
        assert_int_equal(irqroute_add_ioapic(&L, (uint8_t)i, 0xfec00000u + 0x1000u * i, 100 * i, 8, LAPIC), 0);
    assert_int_equal(irqroute_add_ioapic(&L, 9, 0xfed00000u, 5000, 8, LAPIC), -AL_EINVAL);
    assert_int_equal(L.nioapics, IRQ_MAX_IOAPICS);
}

/* QEMU's MADT: IRQ 0 -> GSI 2, and 5, 9, 10, 11 level active-high */
static void test_isa_qemu(void **state)
{
    (void)state;
    q35();
    struct acpi_override o[] = {ov(0, 2, 0), ov(5, 5, 0xd), ov(9, 9, 0xd), ov(10, 10, 0xd), ov(11, 11, 0xd)};
    assert_int_equal(irqroute_isa(&L, o, 5), 0);
    expect_isa(0, 2, 0);
    expect_isa(1, 1, 0);
    assert_false(L.isa[2].valid); /* the cascade; and GSI 2 is the PIT's now */
    expect_isa(4, 4, 0);
    expect_isa(5, 5, ARCH_IRQ_LEVEL);
    expect_isa(8, 8, 0);
    expect_isa(9, 9, ARCH_IRQ_LEVEL);
    expect_isa(15, 15, 0);
    /* the kernel keeps the PIT's line and GSI 0 */
    assert_true(irqroute_reserved(&L, 2));
    assert_true(irqroute_reserved(&L, 0));
    assert_false(irqroute_reserved(&L, 8));
    assert_false(irqroute_reserved(&L, 16));
}

/* every polarity and trigger encoding */
static void test_isa_flags(void **state)
{
    (void)state;
    q35();
    struct acpi_override o[] = {
        ov(1, 1, 0x0),  /* conforms: edge, high */
        ov(3, 3, 0x1),  /* high, conforms */
        ov(4, 4, 0x3),  /* low, conforms (edge) */
        ov(5, 5, 0x4),  /* conforms (high), edge */
        ov(6, 6, 0xc),  /* level, conforms (high) */
        ov(7, 7, 0xf),  /* level, low */
        ov(8, 8, 0x2),  /* reserved polarity */
        ov(10, 10, 0x8), /* reserved trigger */
        ov(11, 11, 0x7), /* edge, low */
    };
    assert_int_equal(irqroute_isa(&L, o, 9), 2);
    expect_isa(1, 1, 0);
    expect_isa(3, 3, 0);
    expect_isa(4, 4, ARCH_IRQ_LOW);
    expect_isa(5, 5, 0);
    expect_isa(6, 6, ARCH_IRQ_LEVEL);
    expect_isa(7, 7, ARCH_IRQ_LEVEL | ARCH_IRQ_LOW);
    assert_false(L.isa[8].valid); /* refused: neither the default nor what it said */
    assert_false(L.isa[10].valid);
    expect_isa(11, 11, ARCH_IRQ_LOW);
    expect_isa(12, 12, 0); /* untouched */
    assert_int_equal(L.refused, 2);
}

static void test_isa_hostile(void **state)
{
    (void)state;
    q35();
    struct acpi_override o[] = {
        ov(0, 2, 0),
        ov(0, 5, 0),     /* a second override for IRQ 0: refused, the first stands */
        ov(3, 2, 0),     /* onto GSI 2 again: refused, IRQ 3 has no line */
        ov(4, 40, 0),    /* GSI on no IOAPIC: refused, IRQ 4 has no line */
        ov(16, 16, 0xf), /* no such ISA IRQ */
        ov(200, 1, 0),
        {.bus = 1, .source_irq = 6, .gsi = 6, .flags = 0}, /* not ISA */
        ov(7, 9, 0),     /* IRQ 7 moves onto 9: IRQ 9's default line is taken */
        ov(12, 0xffffffffu, 0),
    };
    assert_int_equal(irqroute_isa(&L, o, 9), 7);
    expect_isa(0, 2, 0);
    assert_false(L.isa[3].valid);
    assert_false(L.isa[4].valid);
    expect_isa(6, 6, 0); /* its (bad) override ignored: the default */
    expect_isa(7, 9, 0);
    assert_false(L.isa[9].valid);
    assert_false(L.isa[12].valid);
    expect_isa(5, 5, 0);
    assert_int_equal(L.refused, 7);
}

/* an ISA IRQ whose GSI exists on no IOAPIC, and no IOAPIC at all */
static void test_isa_missing_lines(void **state)
{
    (void)state;
    memset(&L, 0, sizeof L);
    assert_int_equal(irqroute_add_ioapic(&L, 0, 0xfec00000u, 0, 8, LAPIC), 0); /* GSIs 0..7 */
    assert_int_equal(irqroute_isa(&L, NULL, 0), 0);
    expect_isa(0, 0, 0); /* no override: the PIT stays on GSI 0 */
    assert_true(irqroute_reserved(&L, 0));
    assert_false(irqroute_reserved(&L, 2));
    assert_false(L.isa[2].valid);
    expect_isa(7, 7, 0);
    assert_false(L.isa[8].valid);
    assert_false(L.isa[15].valid);

    memset(&L, 0, sizeof L);
    struct acpi_override o[] = {ov(0, 2, 0)};
    assert_int_equal(irqroute_isa(&L, o, 1), 1);
    for (unsigned i = 0; i < IRQ_ISA_LINES; i++)
        assert_false(L.isa[i].valid);
    assert_true(irqroute_reserved(&L, 0));
}

/* too many overrides, all for real lines: each handled, none overruns */
static void test_isa_many(void **state)
{
    (void)state;
    q35();
    struct acpi_override o[64];
    for (unsigned i = 0; i < 64; i++)
        o[i] = ov((uint8_t)(i % 16), i % 24, (uint16_t)(i & 0xf));
    unsigned refused = irqroute_isa(&L, o, 64);
    assert_true(refused >= 48); /* every source after its first mention */
    for (unsigned i = 0; i < IRQ_ISA_LINES; i++)
        if (L.isa[i].valid)
            assert_true(L.isa[i].gsi < 24);
}

static void test_rte_encoding(void **state)
{
    (void)state;
    /* vector 0x31, dest 3, edge high, unmasked */
    assert_true(ioapic_rte_encode(0x31, 3, 0, 0) == 0x0300000000000031ULL);
    /* level, low, masked, dest 0xfe */
    assert_true(ioapic_rte_encode(0x45, 0xfe, ARCH_IRQ_LEVEL | ARCH_IRQ_LOW, 1) ==
                (0xfe00000000000000ULL | (1ULL << 16) | (1ULL << 15) | (1ULL << 13) | 0x45));
    assert_true(ioapic_rte_encode(0x45, 0, ARCH_IRQ_LOW, 0) == ((1ULL << 13) | 0x45));
    assert_true(ioapic_rte_encode(0x45, 0, ARCH_IRQ_LEVEL, 0) == ((1ULL << 15) | 0x45));
    /* the boot state: masked, vector 0 */
    assert_true(ioapic_rte_encode(0, 0, 0, 1) == 0x10000ULL);
    /* delivery mode fixed (bits 10:8 = 0), physical (bit 11 = 0) always */
    assert_true((ioapic_rte_encode(0xdf, 0xff, ARCH_IRQ_FLAGS, 1) & (0xfULL << 8)) == 0);

    struct arch_irq_route r;
    ioapic_rte_decode(0x0500000000000000ULL | (1ULL << 16) | (1ULL << 15) | (1ULL << 14) | (1ULL << 13) |
                          (1ULL << 12) | 0x77,
                      &r);
    assert_int_equal(r.vector, 0x77);
    assert_int_equal(r.dest, 5);
    assert_int_equal(r.flags, ARCH_IRQ_LEVEL | ARCH_IRQ_LOW);
    assert_true(r.masked);
    assert_true(r.remote_irr);
    ioapic_rte_decode(0x0000000000000030ULL, &r);
    assert_int_equal(r.flags, 0);
    assert_false(r.masked);
    assert_false(r.remote_irr);
}

static void test_msi(void **state)
{
    (void)state;
    uint64_t a = 1;
    uint32_t d = 1;
    assert_int_equal(msi_compose(0x30, 0, &a, &d), 0);
    assert_true(a == 0xfee00000ULL);
    assert_int_equal(d, 0x30);
    assert_int_equal(msi_compose(0x41, 3, &a, &d), 0);
    assert_true(a == 0xfee03000ULL);
    assert_int_equal(d, 0x41); /* fixed (10:8 = 0), edge (bit 15 = 0) */
    assert_int_equal(msi_compose(0xdf, 0xff, &a, &d), 0);
    assert_true(a == 0xfeeff000ULL); /* bits 19:12; RH and DM (bits 3, 2) clear */
    assert_int_equal(d, 0xdf);
    /* refused: destination beyond 8 bits, kernel vectors, exceptions */
    a = 7;
    d = 7;
    assert_int_equal(msi_compose(0x30, 0x100, &a, &d), -AL_EINVAL);
    assert_int_equal(msi_compose(0x80, 0, &a, &d), -AL_EINVAL);
    assert_int_equal(msi_compose(0xef, 0, &a, &d), -AL_EINVAL);
    assert_int_equal(msi_compose(0xf1, 0, &a, &d), -AL_EINVAL);
    assert_int_equal(msi_compose(0xff, 0, &a, &d), -AL_EINVAL);
    assert_int_equal(msi_compose(0x0e, 0, &a, &d), -AL_EINVAL);
    assert_int_equal(msi_compose(0x2f, 0, &a, &d), -AL_EINVAL);
    assert_true(a == 7 && d == 7); /* untouched */
}

/* a new destination keeps every other field, the mask included */
static void test_rte_set_dest(void **state)
{
    (void)state;
    for (int masked = 0; masked < 2; masked++) {
        uint64_t rte = ioapic_rte_encode(0x41, 1, ARCH_IRQ_PCI_INTX, masked);
        uint64_t moved = ioapic_rte_set_dest(rte, 0xfe);
        struct arch_irq_route r;
        ioapic_rte_decode(moved, &r);
        assert_true(r.vector == 0x41 && r.dest == 0xfe && r.flags == ARCH_IRQ_PCI_INTX && r.masked == masked);
        assert_true(moved == ioapic_rte_encode(0x41, 0xfe, ARCH_IRQ_PCI_INTX, masked));
        assert_true(ioapic_rte_set_dest(moved, 1) == rte);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ioapic_ranges),  cmocka_unit_test(test_ioapic_hostile),
        cmocka_unit_test(test_isa_qemu),       cmocka_unit_test(test_isa_flags),
        cmocka_unit_test(test_isa_hostile),    cmocka_unit_test(test_isa_missing_lines),
        cmocka_unit_test(test_isa_many),       cmocka_unit_test(test_rte_encoding),
        cmocka_unit_test(test_msi),            cmocka_unit_test(test_rte_set_dest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
