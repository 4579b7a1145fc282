/*
 * tests/host/test_acpi.c - unit tests for kernel/acpi.c and kernel/topology.c.
 *
 * ACPI tables (RSDP v1/v2, RSDT, XSDT, MADT plus a decoy FACP) are built in
 * a fake physical memory array. The map callback bounds-checks every
 * request against that array and hands out an exactly sized heap copy, so
 * ASan flags any read past what the parser asked for. MADTs handed to
 * acpi_parse_madt directly are likewise exactly sized heap copies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "arch/x86_64/acpi.h"
#include "arch/x86_64/topology.h"
#include "lib/string.h"

/* ------------------------------------------------------------------ */
/* Fake physical memory                                                */

#define PHYS_BASE 0x000E0000ULL
#define PHYS_SIZE 0x20000u
#define PA_RSDT   0x000E1000ULL
#define PA_XSDT   0x000E2000ULL
#define PA_MADT   0x000E3000ULL
#define PA_FACP   0x000E4000ULL
#define MAX_MAPS  4096

struct fakemem {
    uint8_t mem[PHYS_SIZE];
    void *maps[MAX_MAPS];
    unsigned nmaps;
    unsigned refused;
};

static struct fakemem *fm;

static uint8_t *phys(uint64_t pa)
{
    assert_true(pa >= PHYS_BASE && pa - PHYS_BASE < PHYS_SIZE);
    return fm->mem + (pa - PHYS_BASE);
}

static const void *fake_map(uint64_t pa, uint64_t len, void *ctx)
{
    struct fakemem *m = ctx;
    assert_ptr_equal(m, fm);
    if (pa < PHYS_BASE || len == 0 || len > PHYS_SIZE || pa - PHYS_BASE > PHYS_SIZE - len) {
        m->refused++;
        return NULL;
    }
    assert_true(m->nmaps < MAX_MAPS);
    void *copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, m->mem + (pa - PHYS_BASE), len);
    m->maps[m->nmaps++] = copy;
    return copy;
}

static int setup(void **state)
{
    (void)state;
    fm = calloc(1, sizeof *fm);
    return fm ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    for (unsigned i = 0; i < fm->nmaps; i++)
        free(fm->maps[i]);
    free(fm);
    fm = NULL;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Table builders                                                      */

static uint8_t sum8(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; i++)
        s = (uint8_t)(s + p[i]);
    return s;
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}
static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}
static void put16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, 2);
}

static void build_rsdp(uint8_t *p, unsigned rev, uint32_t rsdt, uint64_t xsdt)
{
    memset(p, 0, ACPI_RSDP_V2_LEN);
    memcpy(p, "RSD PTR ", 8);
    memcpy(p + 9, "AIRLCK", 6);
    p[15] = (uint8_t)rev;
    put32(p + 16, rsdt);
    p[8] = (uint8_t)-sum8(p, 20);
    if (rev >= 2) {
        put32(p + 20, ACPI_RSDP_V2_LEN);
        put64(p + 24, xsdt);
        p[32] = (uint8_t)-sum8(p, ACPI_RSDP_V2_LEN);
    }
}

/* Fix up length and checksum of a table of tlen bytes at p. */
static void seal(uint8_t *p, uint32_t tlen)
{
    put32(p + 4, tlen);
    p[9] = 0;
    p[9] = (uint8_t)-sum8(p, tlen);
}

static void build_hdr(uint8_t *p, const char sig[4])
{
    memset(p, 0, ACPI_HDR_LEN);
    memcpy(p, sig, 4);
    p[8] = 1;
    memcpy(p + 10, "AIRLCK", 6);
}

/* Root table at pa listing the given physical addresses. */
static void build_root(uint64_t pa, bool xsdt, const uint64_t *ents, unsigned n)
{
    uint8_t *p = phys(pa);
    size_t esz = xsdt ? 8 : 4;
    build_hdr(p, xsdt ? "XSDT" : "RSDT");
    for (unsigned i = 0; i < n; i++) {
        if (xsdt)
            put64(p + ACPI_HDR_LEN + i * esz, ents[i]);
        else
            put32(p + ACPI_HDR_LEN + i * esz, (uint32_t)ents[i]);
    }
    seal(p, (uint32_t)(ACPI_HDR_LEN + n * esz));
}

struct madt {
    uint8_t b[4096];
    uint32_t len;
};

static void madt_init(struct madt *m, uint32_t lapic, uint32_t flags)
{
    memset(m, 0, sizeof *m);
    build_hdr(m->b, "APIC");
    put32(m->b + 36, lapic);
    put32(m->b + 40, flags);
    m->len = ACPI_MADT_HDR_LEN;
}

static uint8_t *madt_ent(struct madt *m, uint8_t type, uint8_t len)
{
    assert_true(m->len + len <= sizeof m->b);
    uint8_t *e = m->b + m->len;
    e[0] = type;
    e[1] = len;
    m->len += len;
    return e;
}

static void add_lapic(struct madt *m, uint8_t uid, uint8_t id, uint32_t fl)
{
    uint8_t *e = madt_ent(m, 0, 8);
    e[2] = uid;
    e[3] = id;
    put32(e + 4, fl);
}

static void add_x2apic(struct madt *m, uint32_t id, uint32_t uid, uint32_t fl)
{
    uint8_t *e = madt_ent(m, 9, 16);
    put32(e + 4, id);
    put32(e + 8, fl);
    put32(e + 12, uid);
}

static void add_ioapic(struct madt *m, uint8_t id, uint32_t addr, uint32_t gsi)
{
    uint8_t *e = madt_ent(m, 1, 12);
    e[2] = id;
    put32(e + 4, addr);
    put32(e + 8, gsi);
}

static void add_iso(struct madt *m, uint8_t bus, uint8_t irq, uint32_t gsi, uint16_t fl)
{
    uint8_t *e = madt_ent(m, 2, 10);
    e[2] = bus;
    e[3] = irq;
    put32(e + 4, gsi);
    put16(e + 8, fl);
}

static void madt_seal(struct madt *m)
{
    seal(m->b, m->len);
}

/* The reference MADT: 4 CPUs, 1 IOAPIC, 2 overrides, an LAPIC NMI entry. */
static void build_ref_madt(struct madt *m)
{
    madt_init(m, 0xFEE00000u, ACPI_MADT_PCAT_COMPAT);
    add_lapic(m, 0, 0, 1);
    add_lapic(m, 1, 2, 1);
    add_ioapic(m, 4, 0xFEC00000u, 0);
    add_lapic(m, 2, 4, 1);
    add_iso(m, 0, 0, 2, 0);
    add_lapic(m, 3, 6, 1);
    add_iso(m, 0, 9, 9, 0x000D);      /* active high, level */
    uint8_t *nmi = madt_ent(m, 4, 6); /* LAPIC NMI: ignored */
    nmi[2] = 0xFF;
    put16(nmi + 3, 5);
    nmi[5] = 1;
    madt_seal(m);
}

/* Parse m through an exactly sized heap copy of mlen bytes. */
static int parse_copy(const struct madt *m, uint32_t mlen, struct acpi_madt_info *out)
{
    uint8_t *copy = malloc(mlen ? mlen : 1);
    assert_non_null(copy);
    memcpy(copy, m->b, mlen);
    int rc = acpi_parse_madt(copy, mlen, out);
    free(copy);
    return rc;
}

static int parse(const struct madt *m, struct acpi_madt_info *out)
{
    return parse_copy(m, m->len, out);
}

/* Full firmware image: RSDT and XSDT both list FACP then MADT. */
static void build_firmware(const struct madt *m)
{
    uint8_t *facp = phys(PA_FACP);
    build_hdr(facp, "FACP");
    seal(facp, 116);
    memcpy(phys(PA_MADT), m->b, m->len);
    uint64_t ents[] = {PA_FACP, PA_MADT};
    build_root(PA_RSDT, false, ents, 2);
    build_root(PA_XSDT, true, ents, 2);
}

static void check_ref_info(const struct acpi_madt_info *mi)
{
    assert_int_equal(mi->lapic_addr, 0xFEE00000u);
    assert_true(mi->pcat_compat);
    assert_int_equal(mi->ncpus, 4);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(mi->cpus[i].apic_id, 2 * i);
        assert_int_equal(mi->cpus[i].acpi_uid, i);
        assert_true(mi->cpus[i].enabled);
    }
    assert_int_equal(mi->nioapics, 1);
    assert_int_equal(mi->ioapics[0].id, 4);
    assert_int_equal(mi->ioapics[0].addr, 0xFEC00000u);
    assert_int_equal(mi->ioapics[0].gsi_base, 0);
    assert_int_equal(mi->noverrides, 2);
    assert_int_equal(mi->overrides[0].bus, 0);
    assert_int_equal(mi->overrides[0].source_irq, 0);
    assert_int_equal(mi->overrides[0].gsi, 2);
    assert_int_equal(mi->overrides[0].flags, 0);
    assert_int_equal(mi->overrides[1].source_irq, 9);
    assert_int_equal(mi->overrides[1].gsi, 9);
    assert_int_equal(mi->overrides[1].flags, 0x000D);
}

/* ------------------------------------------------------------------ */
/* RSDP                                                                */

static void test_rsdp_v1(void **state)
{
    (void)state;
    uint8_t r[ACPI_RSDP_V2_LEN];
    bool x = true;
    build_rsdp(r, 0, (uint32_t)PA_RSDT, 0);
    assert_int_equal(acpi_rsdp_root(r, ACPI_RSDP_V1_LEN, &x), PA_RSDT);
    assert_false(x);
    /* Too short, NULL, and a v1 RSDP without an RSDT address. */
    assert_int_equal(acpi_rsdp_root(r, 19, &x), 0);
    assert_int_equal(acpi_rsdp_root(NULL, 20, &x), 0);
    build_rsdp(r, 0, 0, 0);
    assert_int_equal(acpi_rsdp_root(r, 20, &x), 0);
    assert_false(x);
}

static void test_rsdp_v2(void **state)
{
    (void)state;
    uint8_t r[ACPI_RSDP_V2_LEN];
    bool x = false;
    build_rsdp(r, 2, (uint32_t)PA_RSDT, PA_XSDT);
    assert_int_equal(acpi_rsdp_root(r, sizeof r, &x), PA_XSDT);
    assert_true(x);
    /* XSDT address 0: fall back to the RSDT. */
    build_rsdp(r, 2, (uint32_t)PA_RSDT, 0);
    assert_int_equal(acpi_rsdp_root(r, sizeof r, &x), PA_RSDT);
    assert_false(x);
    /* A 64-bit XSDT address is passed through unchanged. */
    build_rsdp(r, 2, (uint32_t)PA_RSDT, 0x123456789000ULL);
    assert_int_equal(acpi_rsdp_root(r, sizeof r, &x), 0x123456789000ULL);
    assert_true(x);
    /* Revision 2 given only 20 bytes cannot be verified. */
    assert_int_equal(acpi_rsdp_root(r, 20, &x), 0);
    assert_false(x);
}

static void test_rsdp_bad_checksum(void **state)
{
    (void)state;
    uint8_t r[ACPI_RSDP_V2_LEN];
    bool x = true;
    build_rsdp(r, 0, (uint32_t)PA_RSDT, 0);
    r[8] ^= 1;
    assert_int_equal(acpi_rsdp_root(r, 20, &x), 0);
    assert_false(x);
    /* A v2 RSDP whose first-20-byte checksum is broken. */
    build_rsdp(r, 2, (uint32_t)PA_RSDT, PA_XSDT);
    r[16] ^= 0x10; /* RSDT address changed, checksums stale */
    assert_int_equal(acpi_rsdp_root(r, sizeof r, &x), 0);
    /* Bad signature with a correct checksum. */
    build_rsdp(r, 0, (uint32_t)PA_RSDT, 0);
    r[0] = 'X';
    r[8] = 0;
    r[8] = (uint8_t)-sum8(r, 20);
    assert_int_equal(acpi_rsdp_root(r, 20, &x), 0);
}

static void test_rsdp_bad_ext_checksum(void **state)
{
    (void)state;
    uint8_t r[ACPI_RSDP_V2_LEN];
    bool x = true;
    build_rsdp(r, 2, (uint32_t)PA_RSDT, PA_XSDT);
    r[32] ^= 0x55;
    assert_int_equal(acpi_rsdp_root(r, sizeof r, &x), 0);
    assert_false(x);
    /* XSDT address tampered with: v1 checksum still fine, extended not. */
    build_rsdp(r, 2, (uint32_t)PA_RSDT, PA_XSDT);
    r[25] ^= 0x01;
    assert_int_equal(acpi_rsdp_root(r, sizeof r, &x), 0);
    /* Length field too small or larger than what was provided. */
    build_rsdp(r, 2, (uint32_t)PA_RSDT, PA_XSDT);
    put32(r + 20, 20);
    r[32] = 0;
    r[32] = (uint8_t)-sum8(r, 36);
    assert_int_equal(acpi_rsdp_root(r, sizeof r, &x), 0);
    put32(r + 20, 0xFFFFFFFFu);
    assert_int_equal(acpi_rsdp_root(r, sizeof r, &x), 0);
}

static void test_rsdp_scan(void **state)
{
    (void)state;
    enum { BLK = 1024 };
    uint8_t *blk = calloc(1, BLK);
    assert_non_null(blk);
    /* Decoys: a signature at 0x10 with a bad checksum, and one at an
     * unaligned offset with a good checksum. */
    build_rsdp(blk + 0x10, 0, (uint32_t)PA_RSDT, 0);
    blk[0x10 + 8] ^= 1;
    build_rsdp(blk + 0x84, 0, (uint32_t)PA_RSDT, 0);
    assert_int_equal(acpi_scan_rsdp(blk, BLK), -1);

    build_rsdp(blk + 0x30, 2, (uint32_t)PA_RSDT, PA_XSDT);
    assert_int_equal(acpi_scan_rsdp(blk, BLK), 0x30);
    bool x = false;
    assert_int_equal(acpi_rsdp_root(blk + 0x30, BLK - 0x30, &x), PA_XSDT);
    assert_true(x);

    /* Block ending mid-structure: the v2 RSDP is truncated, not found;
     * ASan verifies nothing past the block is read. */
    uint8_t *tight = malloc(0x30 + 30);
    assert_non_null(tight);
    memcpy(tight, blk, 0x30 + 30);
    assert_int_equal(acpi_scan_rsdp(tight, 0x30 + 30), -1);
    free(tight);

    /* A v1 RSDP exactly at the end of a block is found. */
    uint8_t *end = malloc(0x40 + 20);
    assert_non_null(end);
    memset(end, 0, 0x40 + 20);
    uint8_t v1[ACPI_RSDP_V2_LEN];
    build_rsdp(v1, 0, (uint32_t)PA_RSDT, 0);
    memcpy(end + 0x40, v1, 20);
    assert_int_equal(acpi_scan_rsdp(end, 0x40 + 20), 0x40);
    free(end);

    assert_int_equal(acpi_scan_rsdp(blk, 0), -1);
    assert_int_equal(acpi_scan_rsdp(blk, 19), -1);
    assert_int_equal(acpi_scan_rsdp(NULL, BLK), -1);
    free(blk);
}

/* ------------------------------------------------------------------ */
/* Root tables and table lookup                                        */

static void test_full_chain_rsdt_and_xsdt(void **state)
{
    (void)state;
    struct madt m;
    build_ref_madt(&m);
    build_firmware(&m);

    for (int rev = 0; rev <= 2; rev += 2) {
        uint8_t *rsdp = phys(PHYS_BASE + 0x30);
        build_rsdp(rsdp, (unsigned)rev, (uint32_t)PA_RSDT, PA_XSDT);
        long off = acpi_scan_rsdp(phys(PHYS_BASE), 0x1000);
        assert_int_equal(off, 0x30);
        bool x;
        uint64_t root = acpi_rsdp_root(phys(PHYS_BASE + (uint64_t)off), ACPI_RSDP_V2_LEN, &x);
        assert_int_equal(root, rev ? PA_XSDT : PA_RSDT);
        assert_int_equal(x, rev != 0);

        uint32_t len = 0;
        uint64_t pa = acpi_find_table(root, x, "APIC", fake_map, fm, &len);
        assert_int_equal(pa, PA_MADT);
        assert_int_equal(len, m.len);

        const void *t = fake_map(pa, len, fm);
        assert_non_null(t);
        struct acpi_madt_info mi;
        assert_int_equal(acpi_parse_madt(t, len, &mi), 0);
        check_ref_info(&mi);

        /* The decoy is found too; a missing table is not. */
        assert_int_equal(acpi_find_table(root, x, "FACP", fake_map, fm, &len), PA_FACP);
        assert_int_equal(len, 116);
        assert_int_equal(acpi_find_table(root, x, "HPET", fake_map, fm, &len), 0);
        assert_int_equal(len, 0);
    }
    assert_int_equal(fm->refused, 0);
}

static void test_find_bad_root(void **state)
{
    (void)state;
    struct madt m;
    build_ref_madt(&m);
    build_firmware(&m);
    uint32_t len = 123;

    /* Wrong root kind, wrong address, unmappable address. */
    assert_int_equal(acpi_find_table(PA_RSDT, true, "APIC", fake_map, fm, &len), 0);
    assert_int_equal(len, 0);
    assert_int_equal(acpi_find_table(PA_XSDT, false, "APIC", fake_map, fm, &len), 0);
    assert_int_equal(acpi_find_table(0, false, "APIC", fake_map, fm, &len), 0);
    assert_int_equal(acpi_find_table(0xFFFFFFFFFFFFF000ULL, true, "APIC", fake_map, fm, &len), 0);
    assert_int_equal(acpi_find_table(PA_RSDT, false, "APIC", NULL, fm, &len), 0);

    /* Root checksum broken. */
    phys(PA_RSDT)[9] ^= 1;
    assert_int_equal(acpi_find_table(PA_RSDT, false, "APIC", fake_map, fm, &len), 0);
    /* Root length below the header size. */
    build_root(PA_RSDT, false, NULL, 0);
    seal(phys(PA_RSDT), 20);
    assert_int_equal(acpi_find_table(PA_RSDT, false, "APIC", fake_map, fm, &len), 0);
    /* Root length beyond the mapping: the map callback refuses. */
    put32(phys(PA_XSDT) + 4, PHYS_SIZE);
    assert_int_equal(acpi_find_table(PA_XSDT, true, "APIC", fake_map, fm, &len), 0);
    assert_true(fm->refused > 0);
}

static void test_find_bad_table_checksum(void **state)
{
    (void)state;
    struct madt m;
    build_ref_madt(&m);
    build_firmware(&m);
    phys(PA_MADT)[50] ^= 0x80;
    uint32_t len = 7;
    assert_int_equal(acpi_find_table(PA_XSDT, true, "APIC", fake_map, fm, &len), 0);
    assert_int_equal(len, 0);
    assert_int_equal(acpi_find_table(PA_RSDT, false, "APIC", fake_map, fm, &len), 0);

    /* A second, valid MADT later in the list is used instead. */
    uint64_t alt = PA_MADT + 0x800;
    memcpy(phys(alt), m.b, m.len);
    uint64_t ents[] = {PA_FACP, PA_MADT, alt};
    build_root(PA_XSDT, true, ents, 3);
    assert_int_equal(acpi_find_table(PA_XSDT, true, "APIC", fake_map, fm, &len), alt);
    assert_int_equal(len, m.len);

    /* The parser also refuses the corrupted copy on its own. */
    struct madt bad = m;
    bad.b[50] ^= 0x80;
    struct acpi_madt_info mi;
    assert_int_equal(parse(&bad, &mi), -22);
    assert_int_equal(mi.ncpus, 0);
}

static void test_find_table_len_beyond_mapping(void **state)
{
    (void)state;
    struct madt m;
    build_ref_madt(&m);
    /* MADT placed 0x100 bytes before the end of fake memory, claiming
     * 0x200 bytes: the header maps but the whole table does not. */
    uint64_t pa = PHYS_BASE + PHYS_SIZE - 0x100;
    build_firmware(&m);
    memcpy(phys(pa), m.b, m.len);
    put32(phys(pa) + 4, 0x200); /* checksum irrelevant: never mapped */
    uint64_t ents[] = {pa};
    build_root(PA_RSDT, false, ents, 1);
    uint32_t len = 9;
    assert_int_equal(acpi_find_table(PA_RSDT, false, "APIC", fake_map, fm, &len), 0);
    assert_int_equal(len, 0);
    assert_true(fm->refused > 0);

    /* An absurd length is refused before mapping is even tried. */
    unsigned before = fm->refused;
    put32(phys(PA_MADT) + 4, 0xFFFFFFF0u); /* checksum irrelevant */
    uint64_t ents2[] = {PA_MADT};
    build_root(PA_RSDT, false, ents2, 1);
    assert_int_equal(acpi_find_table(PA_RSDT, false, "APIC", fake_map, fm, &len), 0);
    assert_int_equal(fm->refused, before);

    /* A root entry pointing outside memory is skipped, not fatal. */
    memcpy(phys(PA_MADT), m.b, m.len);
    uint64_t ents3[] = {0xDEAD0000ULL, PA_MADT};
    build_root(PA_XSDT, true, ents3, 2);
    assert_int_equal(acpi_find_table(PA_XSDT, true, "APIC", fake_map, fm, &len), PA_MADT);

    /* MADT length field larger than the bytes given to the parser. */
    struct acpi_madt_info mi;
    assert_int_equal(parse_copy(&m, m.len - 1, &mi), -22);
    assert_int_equal(mi.ncpus, 0);
}

/* ------------------------------------------------------------------ */
/* MADT                                                                */

static void test_madt_valid(void **state)
{
    (void)state;
    struct madt m;
    struct acpi_madt_info mi;
    build_ref_madt(&m);
    assert_int_equal(parse(&m, &mi), 0);
    check_ref_info(&mi);

    /* Extra bytes after the table (len > length field) are ignored. */
    struct madt big = m;
    assert_int_equal(parse_copy(&big, m.len + 16, &mi), 0);
    check_ref_info(&mi);

    /* No PCAT_COMPAT flag; header-only table. */
    madt_init(&m, 0xFEE00000u, 0);
    madt_seal(&m);
    assert_int_equal(parse(&m, &mi), 0);
    assert_false(mi.pcat_compat);
    assert_int_equal(mi.ncpus + mi.nioapics + mi.noverrides, 0);

    /* Bad signature / too short. */
    build_ref_madt(&m);
    memcpy(m.b, "APIX", 4);
    madt_seal(&m);
    assert_int_equal(parse(&m, &mi), -22);
    assert_int_equal(acpi_parse_madt(m.b, 43, &mi), -22);
    assert_int_equal(acpi_parse_madt(NULL, 100, &mi), -22);
}

static void test_madt_entry_len_zero(void **state)
{
    (void)state;
    struct madt m;
    struct acpi_madt_info mi;
    madt_init(&m, 0xFEE00000u, 1);
    add_lapic(&m, 0, 0, 1);
    add_lapic(&m, 1, 1, 1);
    uint8_t *z = m.b + m.len;
    z[0] = 0;
    z[1] = 0; /* length 0: would loop forever */
    /* Bytes after it that look like an enabled CPU with APIC ID 7. */
    z[2] = 0;
    z[3] = 8;
    z[5] = 7;
    z[6] = 1;
    m.len += 10;
    madt_seal(&m);
    assert_int_equal(parse(&m, &mi), -22);
    assert_int_equal(mi.ncpus, 2);
    assert_int_equal(mi.cpus[1].apic_id, 1);
    assert_int_equal(mi.lapic_addr, 0xFEE00000u);

    /* Length 1 is equally fatal. */
    madt_init(&m, 0xFEE00000u, 1);
    add_ioapic(&m, 1, 0xFEC00000u, 0);
    madt_ent(&m, 1, 1);
    madt_seal(&m);
    assert_int_equal(parse(&m, &mi), -22);
    assert_int_equal(mi.nioapics, 1);
}

static void test_madt_entry_overrun(void **state)
{
    (void)state;
    struct madt m;
    struct acpi_madt_info mi;
    madt_init(&m, 0xFEE00000u, 1);
    add_lapic(&m, 0, 0, 1);
    uint8_t *e = madt_ent(&m, 0, 8);
    e[3] = 1;
    e[4] = 1;
    e[1] = 9; /* claims one more byte than the table holds */
    madt_seal(&m);
    assert_int_equal(parse(&m, &mi), -22);
    assert_int_equal(mi.ncpus, 1);

    /* A lone trailing byte (no room for an entry header). */
    madt_init(&m, 0xFEE00000u, 1);
    add_lapic(&m, 0, 0, 1);
    m.len += 1;
    madt_seal(&m);
    assert_int_equal(parse(&m, &mi), -22);
    assert_int_equal(mi.ncpus, 1);

    /* Known entry shorter than its type: skipped, walk continues. */
    madt_init(&m, 0xFEE00000u, 1);
    madt_ent(&m, 1, 6); /* 6-byte "IOAPIC" */
    add_lapic(&m, 0, 3, 1);
    madt_ent(&m, 9, 12); /* truncated x2APIC */
    madt_ent(&m, 2, 4);  /* truncated override */
    madt_ent(&m, 0, 4);  /* truncated LAPIC */
    add_iso(&m, 0, 0, 2, 0);
    madt_seal(&m);
    assert_int_equal(parse(&m, &mi), -22);
    assert_int_equal(mi.ncpus, 1);
    assert_int_equal(mi.cpus[0].apic_id, 3);
    assert_int_equal(mi.nioapics, 0);
    assert_int_equal(mi.noverrides, 1);

    /* Unknown types of odd lengths and longer-than-needed entries are fine. */
    madt_init(&m, 0xFEE00000u, 1);
    madt_ent(&m, 0x7F, 3);
    madt_ent(&m, 5, 12);
    e = madt_ent(&m, 0, 12); /* LAPIC with 4 extra bytes */
    e[2] = 5;
    e[3] = 9;
    e[4] = 1;
    madt_seal(&m);
    assert_int_equal(parse(&m, &mi), 0);
    assert_int_equal(mi.ncpus, 1);
    assert_int_equal(mi.cpus[0].apic_id, 9);
    assert_int_equal(mi.cpus[0].acpi_uid, 5);
}

static void test_madt_cpu_cap(void **state)
{
    (void)state;
    struct madt m;
    struct acpi_madt_info mi;
    madt_init(&m, 0xFEE00000u, 1);
    for (unsigned i = 0; i < 200; i++)
        add_lapic(&m, (uint8_t)i, (uint8_t)i, 1); /* 0xFF is not reached */
    for (unsigned i = 0; i < 20; i++)
        add_ioapic(&m, (uint8_t)i, 0xFEC00000u + i * 0x1000, i * 24);
    for (unsigned i = 0; i < 30; i++)
        add_iso(&m, 0, (uint8_t)i, i, 0);
    madt_seal(&m);
    assert_int_equal(parse(&m, &mi), 0);
    assert_int_equal(mi.ncpus, ACPI_MAX_CPUS);
    assert_int_equal(mi.cpus[ACPI_MAX_CPUS - 1].apic_id, ACPI_MAX_CPUS - 1);
    assert_int_equal(mi.nioapics, ACPI_MAX_IOAPICS);
    assert_int_equal(mi.ioapics[ACPI_MAX_IOAPICS - 1].gsi_base, (ACPI_MAX_IOAPICS - 1) * 24);
    assert_int_equal(mi.noverrides, ACPI_MAX_OVERRIDES);
    assert_int_equal(mi.overrides[ACPI_MAX_OVERRIDES - 1].source_irq, ACPI_MAX_OVERRIDES - 1);
}

static void test_madt_disabled_cpu(void **state)
{
    (void)state;
    struct madt m;
    struct acpi_madt_info mi;
    madt_init(&m, 0xFEE00000u, 1);
    add_lapic(&m, 0, 0, 1);
    add_lapic(&m, 1, 1, 0);           /* disabled, not online capable */
    add_lapic(&m, 2, 2, 2);           /* online capable only */
    add_lapic(&m, 3, 3, 0xFFFFFFFCu); /* only reserved bits set */
    add_x2apic(&m, 0x100, 9, 0);      /* disabled x2APIC */
    add_lapic(&m, 4, 1, 1);           /* ID 1 again, now enabled */
    madt_seal(&m);
    assert_int_equal(parse(&m, &mi), 0);
    assert_int_equal(mi.ncpus, 3);
    assert_int_equal(mi.cpus[0].apic_id, 0);
    assert_true(mi.cpus[0].enabled);
    assert_int_equal(mi.cpus[1].apic_id, 2);
    assert_false(mi.cpus[1].enabled);
    assert_int_equal(mi.cpus[2].apic_id, 1);
    assert_int_equal(mi.cpus[2].acpi_uid, 4);
    assert_true(mi.cpus[2].enabled);
}

static void test_madt_x2apic(void **state)
{
    (void)state;
    struct madt m;
    struct acpi_madt_info mi;
    madt_init(&m, 0xFEE00000u, 0);
    add_lapic(&m, 0, 0, 1);
    add_x2apic(&m, 0x12345, 0xABCDEF01u, 1);
    add_x2apic(&m, 0xFFFFFFFFu, 7, 1); /* invalid ID: skipped */
    add_x2apic(&m, 300, 301, 3);
    add_x2apic(&m, 0, 55, 1); /* duplicates the xAPIC entry */
    madt_seal(&m);
    assert_int_equal(parse(&m, &mi), 0);
    assert_int_equal(mi.ncpus, 3);
    assert_int_equal(mi.cpus[0].apic_id, 0);
    assert_int_equal(mi.cpus[0].acpi_uid, 0);
    assert_int_equal(mi.cpus[1].apic_id, 0x12345);
    assert_int_equal(mi.cpus[1].acpi_uid, 0xABCDEF01u);
    assert_true(mi.cpus[1].enabled);
    assert_int_equal(mi.cpus[2].apic_id, 300);
    assert_int_equal(mi.cpus[2].acpi_uid, 301);
    assert_true(mi.cpus[2].enabled);
}

static void test_madt_duplicate_and_ff(void **state)
{
    (void)state;
    struct madt m;
    struct acpi_madt_info mi;
    madt_init(&m, 0xFEE00000u, 1);
    add_lapic(&m, 0, 5, 1);
    add_lapic(&m, 1, 5, 1);    /* duplicate: dropped */
    add_lapic(&m, 2, 0xFF, 1); /* "no processor": dropped */
    add_lapic(&m, 3, 6, 2);
    add_lapic(&m, 4, 6, 1); /* duplicate of a not-enabled CPU: dropped */
    add_lapic(&m, 5, 7, 1);
    madt_seal(&m);
    assert_int_equal(parse(&m, &mi), 0);
    assert_int_equal(mi.ncpus, 3);
    assert_int_equal(mi.cpus[0].apic_id, 5);
    assert_int_equal(mi.cpus[0].acpi_uid, 0);
    assert_int_equal(mi.cpus[1].apic_id, 6);
    assert_int_equal(mi.cpus[1].acpi_uid, 3);
    assert_false(mi.cpus[1].enabled);
    assert_int_equal(mi.cpus[2].apic_id, 7);
    for (unsigned i = 0; i < mi.ncpus; i++)
        assert_int_not_equal(mi.cpus[i].apic_id, 0xFF);

    /* Duplicates do not consume capacity: 64 unique after 100 dups. */
    madt_init(&m, 0xFEE00000u, 1);
    for (unsigned i = 0; i < 100; i++)
        add_lapic(&m, 0, 0, 1);
    for (unsigned i = 1; i < 70; i++)
        add_lapic(&m, (uint8_t)i, (uint8_t)i, 1);
    madt_seal(&m);
    assert_int_equal(parse(&m, &mi), 0);
    assert_int_equal(mi.ncpus, ACPI_MAX_CPUS);
    assert_int_equal(mi.cpus[ACPI_MAX_CPUS - 1].apic_id, ACPI_MAX_CPUS - 1);
}

/* Random mutations of the whole chain must never crash or read out of
 * bounds (ASan), and whatever is parsed must respect the caps. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static void test_fuzz(void **state)
{
    (void)state;
    struct madt ref;
    build_ref_madt(&ref);
    for (unsigned i = 0; i < 32; i++)
        add_x2apic(&ref, rng() % 100, i, rng() % 4);
    madt_seal(&ref);
    unsigned ok = 0, bad = 0;

    for (unsigned iter = 0; iter < 20000; iter++) {
        struct madt m = ref;
        unsigned flips = 1 + rng() % 4;
        for (unsigned f = 0; f < flips; f++)
            m.b[rng() % m.len] = (uint8_t)rng();
        if (rng() % 2)
            madt_seal(&m); /* get past the checksum, exercise the walk */
        uint32_t mlen = m.len;
        if (rng() % 4 == 0)
            mlen = rng() % (m.len + 1);
        struct acpi_madt_info mi;
        int rc = parse_copy(&m, mlen, &mi);
        assert_true(rc == 0 || rc == -22);
        if (rc == 0)
            ok++;
        else
            bad++;
        assert_true(mi.ncpus <= ACPI_MAX_CPUS);
        assert_true(mi.nioapics <= ACPI_MAX_IOAPICS);
        assert_true(mi.noverrides <= ACPI_MAX_OVERRIDES);
        for (unsigned a = 0; a < mi.ncpus; a++)
            for (unsigned b = a + 1; b < mi.ncpus; b++)
                assert_int_not_equal(mi.cpus[a].apic_id, mi.cpus[b].apic_id);
    }
    assert_true(ok > 0 && bad > 0);

    /* Mutate the root tables too; find_table must stay in bounds. */
    for (unsigned iter = 0; iter < 2000; iter++) {
        memset(fm->mem, 0, PHYS_SIZE);
        build_firmware(&ref);
        uint64_t root = rng() % 2 ? PA_XSDT : PA_RSDT;
        uint8_t *p = phys(root);
        p[rng() % 52] = (uint8_t)rng();
        if (rng() % 2)
            seal(p, (uint32_t)(36 + (rng() % 40)));
        uint32_t len;
        uint64_t pa = acpi_find_table(root, root == PA_XSDT, "APIC", fake_map, fm, &len);
        if (pa != 0) {
            assert_true(len >= ACPI_HDR_LEN && len <= ACPI_MAX_TABLE_LEN);
        } else {
            assert_int_equal(len, 0);
        }
        /* Free the mappings as we go to bound memory use. */
        for (unsigned i = 0; i < fm->nmaps; i++)
            free(fm->maps[i]);
        fm->nmaps = 0;
    }
}

/* ------------------------------------------------------------------ */
/* Topology                                                            */

static void test_topo_leaf_b(void **state)
{
    (void)state;
    /* 2 threads per core (shift 1), 4 cores per package (shift 3). */
    const uint32_t sub[][3] = {
        {1, 2, 0x0100},
        {3, 8, 0x0201},
        {0, 0, 0x0002},
    };
    struct topo_shifts s = {99, 99};
    assert_int_equal(topo_from_leaf_b(sub, 3, &s), 0);
    assert_int_equal(s.smt_bits, 1);
    assert_int_equal(s.core_bits, 2);

    /* Only the first subleaf supplied: no core level. */
    assert_int_equal(topo_from_leaf_b(sub, 1, &s), 0);
    assert_int_equal(s.smt_bits, 1);
    assert_int_equal(s.core_bits, 0);

    /* No SMT (shift 0), 16 cores: core bits 4. Extra bits above EAX[4:0]
     * and garbage after the terminating level are ignored. */
    const uint32_t nosmt[][3] = {
        {0xFFFFFFE0u, 1, 0x0100},
        {4, 16, 0x0201},
        {0, 0, 0x0002},
        {7, 1, 0x0203},
    };
    assert_int_equal(topo_from_leaf_b(nosmt, 4, &s), 0);
    assert_int_equal(s.smt_bits, 0);
    assert_int_equal(s.core_bits, 4);
}

static void test_topo_leaf_b_invalid(void **state)
{
    (void)state;
    struct topo_shifts s = {5, 5};
    const uint32_t none[][3] = {{0, 0, 0}};
    assert_int_equal(topo_from_leaf_b(none, 1, &s), -22);
    assert_int_equal(s.smt_bits, 0);
    assert_int_equal(s.core_bits, 0);
    assert_int_equal(topo_from_leaf_b(none, 0, &s), -22);
    assert_int_equal(topo_from_leaf_b(NULL, 3, &s), -22);

    const uint32_t ebx0[][3] = {{1, 0, 0x0100}}; /* EBX[15:0] == 0 */
    assert_int_equal(topo_from_leaf_b(ebx0, 1, &s), -22);

    const uint32_t inverted[][3] = {{4, 2, 0x0100}, {2, 8, 0x0201}};
    assert_int_equal(topo_from_leaf_b(inverted, 2, &s), -22);

    const uint32_t dup[][3] = {{1, 2, 0x0100}, {2, 4, 0x0101}};
    assert_int_equal(topo_from_leaf_b(dup, 2, &s), -22);
    assert_int_equal(s.smt_bits + s.core_bits, 0);
}

static void test_topo_split(void **state)
{
    (void)state;
    struct topo_shifts s = {1, 2};
    struct topo_id id = topo_split(0, &s);
    assert_int_equal(id.package + id.core + id.thread, 0);
    id = topo_split(1, &s);
    assert_int_equal(id.thread, 1);
    assert_int_equal(id.core, 0);
    assert_int_equal(id.package, 0);
    id = topo_split(6, &s); /* 0b110 */
    assert_int_equal(id.thread, 0);
    assert_int_equal(id.core, 3);
    assert_int_equal(id.package, 0);
    id = topo_split(13, &s); /* 0b1101 */
    assert_int_equal(id.thread, 1);
    assert_int_equal(id.core, 2);
    assert_int_equal(id.package, 1);
    id = topo_split(0x12345, &s);
    assert_int_equal(id.thread, 1);
    assert_int_equal(id.core, 2);
    assert_int_equal(id.package, 0x12345 >> 3);

    /* No SMT, no cores: everything is the package. */
    struct topo_shifts z = {0, 0};
    id = topo_split(42, &z);
    assert_int_equal(id.package, 42);
    assert_int_equal(id.core + id.thread, 0);

    /* Absurd widths are clamped, never undefined. */
    struct topo_shifts huge = {40, 40};
    id = topo_split(0xFFFFFFFFu, &huge);
    assert_int_equal(id.thread, 0xFFFFFFFFu);
    assert_int_equal(id.core, 0);
    assert_int_equal(id.package, 0);
    struct topo_shifts half = {16, 30};
    id = topo_split(0xABCD1234u, &half);
    assert_int_equal(id.thread, 0x1234);
    assert_int_equal(id.core, 0xABCD);
    assert_int_equal(id.package, 0);
}

static void test_topo_count(void **state)
{
    (void)state;
    const uint32_t ids[] = {0, 1, 2, 3, 4, 5, 6, 7};
    struct topo_shifts s = {1, 1};
    unsigned p = 0, c = 0, t = 0;
    topo_count(ids, 8, &s, &p, &c, &t);
    assert_int_equal(p, 2);
    assert_int_equal(c, 4);
    assert_int_equal(t, 8);

    /* Sparse IDs (SMT off), a duplicate, unordered. */
    const uint32_t sparse[] = {16, 0, 2, 18, 4, 0, 20};
    struct topo_shifts s2 = {1, 3};
    topo_count(sparse, 7, &s2, &p, &c, &t);
    assert_int_equal(p, 2);
    assert_int_equal(c, 6);
    assert_int_equal(t, 6);

    /* NULL outputs are allowed; empty list counts zero. */
    topo_count(ids, 8, &s, NULL, &c, NULL);
    assert_int_equal(c, 4);
    topo_count(ids, 0, &s, &p, &c, &t);
    assert_int_equal(p + c + t, 0);
}

static void test_topo_legacy(void **state)
{
    (void)state;
    struct topo_shifts s = {9, 9};
    const uint32_t HTT = 1u << 28;

    /* No HTT: single thread, single core, whatever EBX says. */
    topo_from_legacy(8u << 16, 0, 3u << 26, true, &s);
    assert_int_equal(s.smt_bits, 0);
    assert_int_equal(s.core_bits, 0);

    /* HTT, 8 logical, 4 cores -> 2 threads per core. */
    topo_from_legacy(8u << 16 | 0xFF00FFFFu, HTT, 3u << 26 | 0x3FFFFFFu, true, &s);
    assert_int_equal(s.smt_bits, 1);
    assert_int_equal(s.core_bits, 2);

    /* HTT, 8 logical, 8 cores -> no SMT. */
    topo_from_legacy(8u << 16, HTT, 7u << 26, true, &s);
    assert_int_equal(s.smt_bits, 0);
    assert_int_equal(s.core_bits, 3);

    /* HTT, 2 logical, no leaf 4 (Pentium 4 HT): all SMT. */
    topo_from_legacy(2u << 16, HTT, 0xFFFFFFFFu, false, &s);
    assert_int_equal(s.smt_bits, 1);
    assert_int_equal(s.core_bits, 0);
}

static void test_topo_legacy_rounding(void **state)
{
    (void)state;
    struct topo_shifts s;
    const uint32_t HTT = 1u << 28;

    /* 6 logical, 3 cores: 2 per core -> smt 1, core ceil(log2 3) = 2. */
    topo_from_legacy(6u << 16, HTT, 2u << 26, true, &s);
    assert_int_equal(s.smt_bits, 1);
    assert_int_equal(s.core_bits, 2);

    /* 12 logical, 6 cores -> smt 1, core 3. */
    topo_from_legacy(12u << 16, HTT, 5u << 26, true, &s);
    assert_int_equal(s.smt_bits, 1);
    assert_int_equal(s.core_bits, 3);

    /* 6 logical, 4 cores -> ceil(1.5) = 2 per core -> smt 1, core 2. */
    topo_from_legacy(6u << 16, HTT, 3u << 26, true, &s);
    assert_int_equal(s.smt_bits, 1);
    assert_int_equal(s.core_bits, 2);

    /* 3 logical, no leaf 4 -> smt 2. */
    topo_from_legacy(3u << 16, HTT, 0, false, &s);
    assert_int_equal(s.smt_bits, 2);
    assert_int_equal(s.core_bits, 0);

    /* Inconsistent: 0 or 1 logical but 4 cores -> core bits 2, no SMT. */
    topo_from_legacy(0, HTT, 3u << 26, true, &s);
    assert_int_equal(s.smt_bits, 0);
    assert_int_equal(s.core_bits, 2);
    topo_from_legacy(1u << 16, HTT, 3u << 26, true, &s);
    assert_int_equal(s.smt_bits, 0);
    assert_int_equal(s.core_bits, 2);

    /* Maximums: 255 logical, 64 cores -> 4 per core -> smt 2, core 6. */
    topo_from_legacy(255u << 16, HTT, 63u << 26, true, &s);
    assert_int_equal(s.smt_bits, 2);
    assert_int_equal(s.core_bits, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rsdp_v1),
        cmocka_unit_test(test_rsdp_v2),
        cmocka_unit_test(test_rsdp_bad_checksum),
        cmocka_unit_test(test_rsdp_bad_ext_checksum),
        cmocka_unit_test(test_rsdp_scan),
        cmocka_unit_test_setup_teardown(test_full_chain_rsdt_and_xsdt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_bad_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_bad_table_checksum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_table_len_beyond_mapping, setup, teardown),
        cmocka_unit_test(test_madt_valid),
        cmocka_unit_test(test_madt_entry_len_zero),
        cmocka_unit_test(test_madt_entry_overrun),
        cmocka_unit_test(test_madt_cpu_cap),
        cmocka_unit_test(test_madt_disabled_cpu),
        cmocka_unit_test(test_madt_x2apic),
        cmocka_unit_test(test_madt_duplicate_and_ff),
        cmocka_unit_test_setup_teardown(test_fuzz, setup, teardown),
        cmocka_unit_test(test_topo_leaf_b),
        cmocka_unit_test(test_topo_leaf_b_invalid),
        cmocka_unit_test(test_topo_split),
        cmocka_unit_test(test_topo_count),
        cmocka_unit_test(test_topo_legacy),
        cmocka_unit_test(test_topo_legacy_rounding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
