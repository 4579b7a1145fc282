/*
 * kernel/acpi.c - defensive parsing of RSDP, RSDT/XSDT and MADT.
 * Contract in kernel/acpi.h.
 *
 * Every field is read through memcpy at an offset that has been checked
 * against the bytes available, using subtraction-based comparisons so no
 * sum can overflow. Lengths found in tables are only trusted after they
 * have been checked against what the caller (or the map callback) provided.
 */
#include "arch/x86_64/acpi.h"

#include "lib/string.h"

#define EINVAL_RET (-22)

/* Offsets inside the RSDP. */
enum {
    RSDP_CHECKSUM = 8,
    RSDP_REVISION = 15,
    RSDP_RSDT = 16,
    RSDP_LENGTH = 20,
    RSDP_XSDT = 24,
};

/* Offsets inside the System Description Table header and the MADT. */
enum {
    HDR_LENGTH = 4,
    MADT_LAPIC_ADDR = 36,
    MADT_FLAGS = 40,
};

/* MADT entry types and their minimum lengths. */
enum {
    MADT_LAPIC = 0,
    MADT_LAPIC_LEN = 8,
    MADT_IOAPIC = 1,
    MADT_IOAPIC_LEN = 12,
    MADT_ISO = 2,
    MADT_ISO_LEN = 10,
    MADT_X2APIC = 9,
    MADT_X2APIC_LEN = 16,
};

static uint8_t checksum(const uint8_t *p, size_t len)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + p[i]);
    return sum;
}

static uint16_t rd16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* ------------------------------------------------------------------ RSDP */

uint64_t acpi_rsdp_root(const void *rsdp, size_t len, bool *is_xsdt)
{
    const uint8_t *p = rsdp;
    bool dummy;

    if (is_xsdt == NULL)
        is_xsdt = &dummy;
    *is_xsdt = false;

    if (p == NULL || len < ACPI_RSDP_V1_LEN)
        return 0;
    if (memcmp(p, "RSD PTR ", 8) != 0)
        return 0;
    if (checksum(p, ACPI_RSDP_V1_LEN) != 0)
        return 0;

    uint64_t rsdt = rd32(p + RSDP_RSDT);
    if (p[RSDP_REVISION] < 2)
        return rsdt;

    /* ACPI 2.0+: the extended part must be present and verifiable. */
    if (len < ACPI_RSDP_V2_LEN)
        return 0;
    uint32_t xlen = rd32(p + RSDP_LENGTH);
    if (xlen < ACPI_RSDP_V2_LEN || xlen > len)
        return 0;
    if (checksum(p, xlen) != 0)
        return 0;

    uint64_t xsdt = rd64(p + RSDP_XSDT);
    if (xsdt != 0) {
        *is_xsdt = true;
        return xsdt;
    }
    return rsdt;
}

long acpi_scan_rsdp(const void *block, size_t len)
{
    const uint8_t *p = block;

    if (p == NULL)
        return -1;
    /* off + 20 <= len, written so that it cannot overflow. */
    for (size_t off = 0; len >= ACPI_RSDP_V1_LEN && off <= len - ACPI_RSDP_V1_LEN; off += 16) {
        if (p[off] != 'R' || memcmp(p + off, "RSD PTR ", 8) != 0)
            continue;
        size_t avail = len - off;
        if (avail > ACPI_RSDP_V2_LEN)
            avail = ACPI_RSDP_V2_LEN;
        if (acpi_rsdp_root(p + off, avail, NULL) != 0)
            return (long)off;
    }
    return -1;
}

/* ------------------------------------------------------------ RSDT/XSDT */

/*
 * Map the table at pa whose header must carry sig, check its length
 * (>= min_len, <= ACPI_MAX_TABLE_LEN) and checksum. Returns the full
 * mapping and its length, or NULL.
 */
static const uint8_t *map_table(uint64_t pa, const char sig[4], uint32_t min_len, acpi_map_fn map, void *ctx,
                                uint32_t *len)
{
    if (pa == 0)
        return NULL;
    const uint8_t *h = map(pa, ACPI_HDR_LEN, ctx);
    if (h == NULL || memcmp(h, sig, 4) != 0)
        return NULL;
    uint32_t tlen = rd32(h + HDR_LENGTH);
    if (tlen < min_len || tlen > ACPI_MAX_TABLE_LEN)
        return NULL;
    /* Map again at full length; the bytes may change underneath us, so the
     * signature and length are checked again in the new mapping. */
    const uint8_t *t = map(pa, tlen, ctx);
    if (t == NULL || memcmp(t, sig, 4) != 0 || rd32(t + HDR_LENGTH) != tlen)
        return NULL;
    if (checksum(t, tlen) != 0)
        return NULL;
    *len = tlen;
    return t;
}

uint64_t acpi_find_table(uint64_t root_pa, bool is_xsdt, const char sig[4], acpi_map_fn map, void *ctx, uint32_t *len)
{
    uint32_t dummy;
    if (len == NULL)
        len = &dummy;
    *len = 0;
    if (map == NULL || sig == NULL)
        return 0;

    uint32_t rlen;
    const uint8_t *root = map_table(root_pa, is_xsdt ? "XSDT" : "RSDT", ACPI_HDR_LEN, map, ctx, &rlen);
    if (root == NULL)
        return 0;

    size_t esz = is_xsdt ? 8 : 4;
    size_t n = (rlen - ACPI_HDR_LEN) / esz; /* trailing partial entry ignored */
    if (n > ACPI_MAX_ROOT_ENTRIES)
        n = ACPI_MAX_ROOT_ENTRIES;

    for (size_t i = 0; i < n; i++) {
        const uint8_t *e = root + ACPI_HDR_LEN + i * esz;
        uint64_t pa = is_xsdt ? rd64(e) : rd32(e);
        uint32_t tlen;
        if (map_table(pa, sig, ACPI_HDR_LEN, map, ctx, &tlen) != NULL) {
            *len = tlen;
            return pa;
        }
    }
    return 0;
}

/* ----------------------------------------------------------------- MADT */

static void add_cpu(struct acpi_madt_info *out, uint32_t apic_id, uint32_t uid, uint32_t flags)
{
    if (!(flags & (ACPI_CPU_ENABLED | ACPI_CPU_ONLINE_CAPABLE)))
        return; /* not usable, not even later */
    for (unsigned i = 0; i < out->ncpus; i++)
        if (out->cpus[i].apic_id == apic_id)
            return; /* duplicate: the first entry wins */
    if (out->ncpus == ACPI_MAX_CPUS)
        return;
    struct acpi_cpu *c = &out->cpus[out->ncpus++];
    c->apic_id = apic_id;
    c->acpi_uid = uid;
    c->enabled = (flags & ACPI_CPU_ENABLED) != 0;
}

int acpi_parse_madt(const void *madt, uint32_t len, struct acpi_madt_info *out)
{
    const uint8_t *t = madt;

    if (out == NULL)
        return EINVAL_RET;
    memset(out, 0, sizeof *out);
    if (t == NULL || len < ACPI_MADT_HDR_LEN)
        return EINVAL_RET;
    if (memcmp(t, "APIC", 4) != 0)
        return EINVAL_RET;
    uint32_t tlen = rd32(t + HDR_LENGTH);
    if (tlen < ACPI_MADT_HDR_LEN || tlen > len)
        return EINVAL_RET;
    if (checksum(t, tlen) != 0)
        return EINVAL_RET;

    out->lapic_addr = rd32(t + MADT_LAPIC_ADDR);
    out->pcat_compat = (rd32(t + MADT_FLAGS) & ACPI_MADT_PCAT_COMPAT) != 0;

    int rc = 0;
    uint32_t off = ACPI_MADT_HDR_LEN;
    while (off < tlen) {
        uint32_t left = tlen - off;
        if (left < 2)
            return EINVAL_RET; /* truncated entry header */
        const uint8_t *e = t + off;
        uint8_t type = e[0], elen = e[1];
        if (elen < 2 || elen > left)
            return EINVAL_RET; /* cannot find the next entry safely */
        off += elen;

        switch (type) {
        case MADT_LAPIC:
            if (elen < MADT_LAPIC_LEN) {
                rc = EINVAL_RET;
                break;
            }
            if (e[3] == 0xFF)
                break; /* "no such processor" */
            add_cpu(out, e[3], e[2], rd32(e + 4));
            break;
        case MADT_X2APIC:
            if (elen < MADT_X2APIC_LEN) {
                rc = EINVAL_RET;
                break;
            }
            if (rd32(e + 4) == 0xFFFFFFFFu)
                break;
            add_cpu(out, rd32(e + 4), rd32(e + 12), rd32(e + 8));
            break;
        case MADT_IOAPIC:
            if (elen < MADT_IOAPIC_LEN) {
                rc = EINVAL_RET;
                break;
            }
            if (out->nioapics < ACPI_MAX_IOAPICS) {
                struct acpi_ioapic *io = &out->ioapics[out->nioapics++];
                io->id = e[2];
                io->addr = rd32(e + 4);
                io->gsi_base = rd32(e + 8);
            }
            break;
        case MADT_ISO:
            if (elen < MADT_ISO_LEN) {
                rc = EINVAL_RET;
                break;
            }
            if (out->noverrides < ACPI_MAX_OVERRIDES) {
                struct acpi_override *o = &out->overrides[out->noverrides++];
                o->bus = e[2];
                o->source_irq = e[3];
                o->gsi = rd32(e + 4);
                o->flags = rd16(e + 8);
            }
            break;
        default:
            break; /* NMI sources, LAPIC NMI, address override, ... */
        }
    }
    return rc;
}
