/*
 * kernel/acpi.h - pure, defensive parsing of the ACPI tables needed to find
 * the CPUs and interrupt controllers: RSDP -> RSDT/XSDT -> MADT ("APIC").
 *
 * Firmware is treated as untrusted: every byte may be wrong. The functions
 * never read outside the bytes they were given (or that the map callback
 * vouched for), verify signatures, checksums and lengths before use, copy
 * multi-byte fields with memcpy (tables are often misaligned), and cap every
 * count. They keep no state and touch no hardware, so they are safe to call
 * concurrently and run unchanged in the host unit tests.
 *
 * The host running the parser is assumed little-endian (x86_64).
 */
#ifndef AIRLOCK_KERNEL_ACPI_H
#define AIRLOCK_KERNEL_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACPI_MAX_CPUS      64
#define ACPI_MAX_IOAPICS   8
#define ACPI_MAX_OVERRIDES 16

/* Sizes of the fixed structures (bytes). */
#define ACPI_RSDP_V1_LEN  20
#define ACPI_RSDP_V2_LEN  36
#define ACPI_HDR_LEN      36 /* System Description Table header */
#define ACPI_MADT_HDR_LEN 44 /* header + local APIC address + flags */

/* Largest table acpi_find_table will map (root tables and the target). */
#define ACPI_MAX_TABLE_LEN (1u << 20)
/* Only the first this-many RSDT/XSDT entries are examined. */
#define ACPI_MAX_ROOT_ENTRIES 512

/* MADT flags bit 0: the system also has dual 8259 PICs (must be masked). */
#define ACPI_MADT_PCAT_COMPAT 1u
/* Local APIC / x2APIC entry flags. */
#define ACPI_CPU_ENABLED        1u
#define ACPI_CPU_ONLINE_CAPABLE 2u

/*
 * A usable processor. enabled is false for "online capable" CPUs that are
 * present but must not be started until hot-added. For type 0 entries
 * acpi_uid is the 8-bit ACPI Processor UID.
 */
struct acpi_cpu {
    uint32_t apic_id;
    uint32_t acpi_uid;
    bool enabled;
};

struct acpi_ioapic {
    uint8_t id;
    uint32_t addr;
    uint32_t gsi_base;
};

/* ISA IRQ source_irq on bus is delivered on gsi; flags are MPS INTI flags
 * (bits 1:0 polarity, bits 3:2 trigger mode). */
struct acpi_override {
    uint8_t bus, source_irq;
    uint32_t gsi;
    uint16_t flags;
};

struct acpi_madt_info {
    uint32_t lapic_addr;
    unsigned ncpus;
    struct acpi_cpu cpus[ACPI_MAX_CPUS];
    unsigned nioapics;
    struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
    unsigned noverrides;
    struct acpi_override overrides[ACPI_MAX_OVERRIDES];
    bool pcat_compat;
};

/*
 * A callback that maps physical memory for reading: returns a pointer valid
 * for len bytes or NULL. Returned pointers must stay valid until
 * acpi_find_table returns (it holds at most two at once: the root table and
 * one candidate); they need not be aligned.
 */
typedef const void *(*acpi_map_fn)(uint64_t pa, uint64_t len, void *ctx);

/*
 * Validate an RSDP given as len bytes at rsdp: "RSD PTR " signature and the
 * checksum of the first 20 bytes; if revision >= 2 also len >= 36, a length
 * field in [36, len] and the extended checksum over that many bytes (a
 * revision >= 2 RSDP that cannot be fully verified is rejected).
 *
 * Returns the physical address of the XSDT (revision >= 2 and nonzero,
 * *is_xsdt = true) else of the RSDT (*is_xsdt = false); 0 if invalid or if
 * no root table address is given (*is_xsdt = false then). is_xsdt may be
 * NULL.
 */
uint64_t acpi_rsdp_root(const void *rsdp, size_t len, bool *is_xsdt);

/*
 * Find the RSDP by scanning a memory block (e.g. the EBDA's first KiB, or
 * 0xE0000..0xFFFFF) on 16-byte boundaries relative to block. Returns the
 * offset within block of the first candidate accepted by acpi_rsdp_root
 * (candidates with bad checksums, or truncated by the end of the block, are
 * skipped), or -1 if none.
 */
long acpi_scan_rsdp(const void *block, size_t len);

/*
 * Walk the RSDT (4-byte entries) or XSDT (8-byte entries) at root_pa via
 * map(). The root table's signature, length (36..ACPI_MAX_TABLE_LEN) and
 * checksum are verified. The first entry whose table has signature sig,
 * a length in [36, ACPI_MAX_TABLE_LEN] that map() can provide, and a valid
 * checksum wins; invalid candidates are skipped. Returns its physical
 * address and sets *len (if non-NULL) to its length; returns 0 (and
 * *len = 0) if nothing valid was found.
 */
uint64_t acpi_find_table(uint64_t root_pa, bool is_xsdt, const char sig[4], acpi_map_fn map, void *ctx, uint32_t *len);

/*
 * Parse a MADT of len bytes already mapped at madt. *out is zeroed first.
 *
 * The header must carry signature "APIC", a length field in [44, len] and a
 * valid checksum; otherwise -22 with nothing parsed. Only the length-field
 * bytes are walked. Recognised entries:
 *   type 0 Processor Local APIC, type 9 Processor Local x2APIC -> cpus[]
 *   type 1 I/O APIC -> ioapics[], type 2 Interrupt Source Override ->
 *   overrides[]; every other type is skipped by its length.
 * CPUs with neither the enabled nor the online-capable flag are skipped
 * entirely, as are APIC ID 0xFF in type 0 and 0xFFFFFFFF in type 9 entries;
 * a CPU whose APIC ID was already recorded is ignored (first one wins).
 * Entries beyond the ACPI_MAX_* capacities are dropped silently.
 *
 * An entry with length < 2, or overrunning the table, stops the walk: what
 * was parsed so far stays in *out and -22 is returned. A recognised entry
 * shorter than its type's fixed size is skipped and the walk continues, but
 * the result is -22. Returns 0 if the table had no defect.
 */
int acpi_parse_madt(const void *madt, uint32_t len, struct acpi_madt_info *out);

#endif /* AIRLOCK_KERNEL_ACPI_H */
