/*
 * kernel/topology.c - CPU topology from CPUID register values.
 * Contract in kernel/topology.h.
 */
#include "arch/x86_64/topology.h"

#include <stddef.h>

#define EINVAL_RET (-22)

enum {
    LEVEL_INVALID = 0,
    LEVEL_SMT = 1,
    LEVEL_CORE = 2,
    HTT_BIT = 1u << 28,
};

/* Smallest b with (1 << b) >= x; 0 for x <= 1. */
static unsigned ceil_log2(uint32_t x)
{
    unsigned b = 0;
    while (b < 32 && (1ull << b) < x)
        b++;
    return b;
}

int topo_from_leaf_b(const uint32_t (*sub)[3], unsigned n, struct topo_shifts *out)
{
    bool have_smt = false, have_core = false;
    unsigned smt_shift = 0, core_shift = 0;

    if (out == NULL)
        return EINVAL_RET;
    out->smt_bits = out->core_bits = 0;
    if (sub == NULL || n == 0)
        return EINVAL_RET;
    /* Subleaf 0 must describe a level with at least one processor. */
    if (((sub[0][2] >> 8) & 0xFF) == LEVEL_INVALID || (sub[0][1] & 0xFFFF) == 0)
        return EINVAL_RET;

    for (unsigned i = 0; i < n; i++) {
        unsigned type = (sub[i][2] >> 8) & 0xFF;
        unsigned shift = sub[i][0] & 0x1F;
        if (type == LEVEL_INVALID)
            break;
        if (type == LEVEL_SMT) {
            if (have_smt)
                return EINVAL_RET;
            have_smt = true;
            smt_shift = shift;
        } else if (type == LEVEL_CORE) {
            if (have_core)
                return EINVAL_RET;
            have_core = true;
            core_shift = shift;
        }
    }
    if (have_core && core_shift < smt_shift)
        return EINVAL_RET;

    out->smt_bits = smt_shift;
    out->core_bits = have_core ? core_shift - smt_shift : 0;
    return 0;
}

void topo_from_legacy(uint32_t leaf1_ebx, uint32_t leaf1_edx, uint32_t leaf4_eax, bool have_leaf4,
                      struct topo_shifts *out)
{
    if (out == NULL)
        return;
    out->smt_bits = out->core_bits = 0;
    if (!(leaf1_edx & HTT_BIT))
        return;

    uint32_t logical = (leaf1_ebx >> 16) & 0xFF;
    uint32_t cores = have_leaf4 ? ((leaf4_eax >> 26) & 0x3F) + 1 : 1;
    if (logical < cores)
        logical = cores; /* also covers logical == 0 */

    uint32_t per_core = (logical + cores - 1) / cores;
    out->smt_bits = ceil_log2(per_core);
    out->core_bits = ceil_log2(cores);
}

struct topo_id topo_split(uint32_t apic_id, const struct topo_shifts *s)
{
    unsigned smt = s ? s->smt_bits : 0;
    unsigned core = s ? s->core_bits : 0;
    if (smt > 32)
        smt = 32;
    if (core > 32 - smt)
        core = 32 - smt;

    /* 64-bit arithmetic: shifts of up to 32 are well defined. */
    uint64_t id = apic_id;
    struct topo_id r;
    r.thread = (unsigned)(id & ((1ull << smt) - 1));
    r.core = (unsigned)((id >> smt) & ((1ull << core) - 1));
    r.package = (unsigned)(id >> (smt + core));
    return r;
}

void topo_count(const uint32_t *apic_ids, unsigned n, const struct topo_shifts *s, unsigned *packages, unsigned *cores,
                unsigned *threads)
{
    unsigned np = 0, nc = 0, nt = 0;

    if (apic_ids == NULL)
        n = 0;
    for (unsigned i = 0; i < n; i++) {
        struct topo_id a = topo_split(apic_ids[i], s);
        bool new_pkg = true, new_core = true, new_thread = true;
        for (unsigned j = 0; j < i; j++) {
            struct topo_id b = topo_split(apic_ids[j], s);
            if (a.package != b.package)
                continue;
            new_pkg = false;
            if (a.core != b.core)
                continue;
            new_core = false;
            if (apic_ids[i] == apic_ids[j])
                new_thread = false;
        }
        np += new_pkg;
        nc += new_core;
        nt += new_thread;
    }
    if (packages)
        *packages = np;
    if (cores)
        *cores = nc;
    if (threads)
        *threads = nt;
}
