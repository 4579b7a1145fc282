/*
 * kernel/topology.h - CPU topology (package / core / SMT thread) from CPUID.
 *
 * Pure functions: the caller executes CPUID and passes the register values,
 * so everything here runs unchanged in the host unit tests. No state, safe
 * to call concurrently. CPUID values are treated as untrusted (hypervisors
 * report odd things): results are validated and all shifts are clamped.
 */
#ifndef AIRLOCK_KERNEL_TOPOLOGY_H
#define AIRLOCK_KERNEL_TOPOLOGY_H

#include <stdbool.h>
#include <stdint.h>

/* apic_id = pkg << (smt+core) | core << smt | smt */
struct topo_shifts {
    unsigned smt_bits, core_bits;
};

/*
 * From CPUID leaf 0xB subleaves: sub[i] = (eax, ebx, ecx) of subleaf i,
 * n subleaves; the walk stops at the first level type 0 (invalid).
 * EAX[4:0] = shift to the next level's ID, ECX[15:8] = level type
 * (1 SMT, 2 core; other types are ignored).
 * smt_bits = shift(SMT level) (0 if absent); core_bits = shift(core level)
 * - smt_bits (0 if absent).
 *
 * Returns 0, or -22 (with *out zeroed) if leaf 0xB is unusable: no
 * subleaves, subleaf 0 of type 0 or with EBX[15:0] == 0 (leaf not
 * supported), a level type repeated, or a core shift below the SMT shift.
 * The caller should then use topo_from_legacy.
 */
int topo_from_leaf_b(const uint32_t (*sub)[3], unsigned n, struct topo_shifts *out);

/*
 * Fallback from CPUID leaf 1 and leaf 4 (subleaf 0):
 *   logical per package = leaf1 EBX[23:16], only meaningful if EDX.HTT (28);
 *   cores per package   = leaf4 EAX[31:26] + 1 if have_leaf4, else 1.
 * Without HTT the package has a single thread: both widths are 0.
 * Otherwise core_bits = ceil(log2(cores)) and
 * smt_bits = ceil(log2(ceil(logical / cores))); a logical count below the
 * core count (inconsistent firmware) is raised to the core count.
 */
void topo_from_legacy(uint32_t leaf1_ebx, uint32_t leaf1_edx, uint32_t leaf4_eax, bool have_leaf4,
                      struct topo_shifts *out);

struct topo_id {
    unsigned package, core, thread;
};

/* Split an APIC ID by *s (widths clamped to 32 bits in total). */
struct topo_id topo_split(uint32_t apic_id, const struct topo_shifts *s);

/*
 * Count distinct packages, cores ((package, core) pairs) and threads
 * (distinct APIC IDs) in apic_ids[0..n). Any output pointer may be NULL.
 * O(n^2), no allocation.
 */
void topo_count(const uint32_t *apic_ids, unsigned n, const struct topo_shifts *s, unsigned *packages, unsigned *cores,
                unsigned *threads);

#endif /* AIRLOCK_KERNEL_TOPOLOGY_H */
