/*
 * SMP bring-up: CPUs and IOAPICs from the ACPI MADT, topology from CPUID,
 * application processors started one at a time with INIT-SIPI-SIPI through
 * the real-mode code in apboot.S, each given its own entry area (GDT, TSS,
 * IDT, entry and IST stacks in the trampoline region), GS-based per-CPU
 * data, LAPIC timer and idle thread.
 */
#include <arch/smp.h>
#include <arch/init.h>
#include <arch/cpu.h>
#include "arch/x86_64/lapic.h"
#include <arch/paging.h>
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/ioapic.h"
#include "arch/x86_64/topology.h"
#include "arch/x86_64/apboot.h"
#include "kernel/upcall.h"
#include "kernel/cpu.h"
#include "kernel/frame.h"
#include "kernel/console.h"
#include "kernel/panic.h"
#include "lib/string.h"

extern char apboot_start[], apboot_end[], apboot_data[], ap_entry64[];

struct madt_summary smp_madt;

void arch_send_resched(unsigned cpu)
{
    lapic_send_ipi(cpus[cpu].apic_id, VEC_RESCHED);
}

uint32_t arch_cpu_hw_id(void)
{
    return lapic_id();
}

int arch_device_page_reserved(uint64_t pa)
{
    pa &= ~0xfffULL;
    if (pa == AP_BOOT_PAGE)
        return 1;
    if (pa == 0xfee00000ULL || pa == lapic_phys)
        return 1; /* local APIC (default and actual address) */
    for (unsigned i = 0; i < smp_madt.nioapics; i++)
        if (pa == (smp_madt.ioapic_addr[i] & ~0xfffULL))
            return 1;
    return 0;
}
static struct topo_shifts shifts;
static volatile int ap_ready;

static const void *acpi_map(uint64_t pa, uint64_t len, void *ctx)
{
    (void)ctx;
    if (!len || pa + len < pa)
        return NULL;
    if (pa + len <= paging_direct_top())
        return p2v(pa);
    return paging_map_mmio(pa, len);
}

static int find_rsdp(uint8_t out[36])
{
    if (bootinfo_rsdp(out))
        return 1;
    /* Multiboot1: search the EBDA's first KiB, then the BIOS area */
    uint16_t ebda_seg;
    memcpy(&ebda_seg, p2v(0x40E), 2);
    uint64_t areas[2][2] = {{(uint64_t)ebda_seg << 4, 1024}, {0xE0000, 0x20000}};
    for (int i = 0; i < 2; i++) {
        if (!areas[i][0] || areas[i][0] + areas[i][1] > 0x100000)
            continue;
        long off = acpi_scan_rsdp(p2v(areas[i][0]), areas[i][1]);
        if (off >= 0) {
            uint64_t n = areas[i][1] - (uint64_t)off < 36 ? areas[i][1] - (uint64_t)off : 36;
            memset(out, 0, 36);
            memcpy(out, p2v(areas[i][0] + (uint64_t)off), n);
            return 1;
        }
    }
    return 0;
}

static void read_topology(void)
{
    uint32_t a, b, c, d, max;
    cpuid(0, 0, &max, &b, &c, &d);
    uint32_t sub[8][3];
    unsigned n = 0;
    if (max >= 0xB)
        for (; n < 8; n++) {
            cpuid(0xB, n, &a, &b, &c, &d);
            sub[n][0] = a, sub[n][1] = b, sub[n][2] = c;
            if (((c >> 8) & 0xff) == 0)
                break;
        }
    if (!n || topo_from_leaf_b((const uint32_t(*)[3])sub, n, &shifts)) {
        uint32_t b1, d1, a4 = 0;
        cpuid(1, 0, &a, &b1, &c, &d1);
        if (max >= 4)
            cpuid(4, 0, &a4, &b, &c, &d);
        topo_from_legacy(b1, d1, a4, max >= 4, &shifts);
    }
}

static void set_topology(unsigned idx)
{
    struct topo_id id = topo_split(cpus[idx].apic_id, &shifts);
    cpus[idx].package = id.package;
    cpus[idx].core = id.core;
    cpus[idx].smt = id.thread;
}

/* first code of an AP in C: on its idle thread's stack, kernel CR3 loaded */
_Noreturn void ap_main(unsigned idx)
{
    cpu_load(idx);
    lapic_enable();
    cpus[idx].online = 1;
    __atomic_store_n(&ap_ready, 1, __ATOMIC_RELEASE);
    bkl_lock();
    thread_enter_idle();
}

static uint64_t ap_tables(void)
{
    uint64_t pml4 = pt_alloc_table();
    if (!pml4)
        panic("smp: out of memory");
    uint64_t *k = p2v(kernel_pml4), *a = p2v(pml4);
    for (int i = 256; i < 512; i++)
        a[i] = k[i];
    if (pt_map(pml4, AP_BOOT_PAGE, AP_BOOT_PAGE, PTE_W))
        panic("smp: cannot map the AP start-up page");
    return pml4;
}

static int start_ap(unsigned idx, uint64_t pml4)
{
    struct apboot_data *d = p2v(AP_BOOT_PAGE + (uint64_t)(apboot_data - apboot_start));
    d->cr3 = pml4;
    d->efer = (1u << 8) | (cpu_feat.nx ? (1u << 11) : 0);
    d->stack = thread_kstack_top(cpus[idx].idle) - 512; /* below the idle thread's switch frame */
    d->entry = (uint64_t)ap_entry64;
    d->cpu = idx;
    __atomic_store_n(&ap_ready, 0, __ATOMIC_RELEASE);
    lapic_send_init_sipi(cpus[idx].apic_id, AP_BOOT_PAGE >> 12);
    for (int i = 0; i < 2000 && !__atomic_load_n(&ap_ready, __ATOMIC_ACQUIRE); i++)
        udelay(100);
    return ap_ready;
}

void smp_init(void)
{
    uint8_t rsdp[36];
    bool xsdt = false;
    uint64_t root = find_rsdp(rsdp) ? acpi_rsdp_root(rsdp, 36, &xsdt) : 0;
    uint32_t len = 0;
    uint64_t madt_pa = root ? acpi_find_table(root, xsdt, "APIC", acpi_map, NULL, &len) : 0;
    static struct acpi_madt_info info;
    uint64_t lapic_pa = rdmsr(MSR_APIC_BASE) & 0xfffff000ULL;
    if (madt_pa && acpi_parse_madt(acpi_map(madt_pa, len, NULL), len, &info) == 0) {
        if (info.lapic_addr)
            lapic_pa = info.lapic_addr;
    } else {
        kprintf("smp: no usable ACPI MADT; running on the boot CPU only\n");
        memset(&info, 0, sizeof info);
    }
    smp_madt.nioapics = info.nioapics;
    for (unsigned i = 0; i < info.nioapics && i < SMP_MAX_IOAPICS; i++) {
        smp_madt.ioapic_addr[i] = info.ioapics[i].addr;
        smp_madt.ioapic_gsi[i] = info.ioapics[i].gsi_base;
    }

    lapic_init(lapic_pa);
    ioapic_init(&info, lapic_pa);
    lapic_timer_calibrate();
    read_topology();
    cpus[0].apic_id = lapic_id();
    set_topology(0);
    lapic_enable();
    cpus[0].online = 1;

    uint32_t madt_ids[ACPI_MAX_CPUS] = {0};
    unsigned nmadt = 0;
    for (unsigned i = 0; i < info.ncpus; i++)
        if (info.cpus[i].enabled)
            madt_ids[nmadt++] = info.cpus[i].apic_id;
    smp_madt.ncpus = nmadt;
    memcpy(smp_madt.apic_ids, madt_ids, nmadt * sizeof madt_ids[0]);

    uint64_t pml4 = 0;
    for (unsigned i = 0; i < nmadt; i++) {
        if (madt_ids[i] == cpus[0].apic_id)
            continue;
        if (ncpus == MAX_CPUS) {
            kprintf("smp: more than %d CPUs, ignoring the rest\n", MAX_CPUS);
            break;
        }
        if (!pml4) {
            pml4 = ap_tables();
            memcpy(p2v(AP_BOOT_PAGE), apboot_start, (size_t)(apboot_end - apboot_start));
        }
        unsigned idx = ncpus;
        cpus[idx].apic_id = madt_ids[i];
        set_topology(idx);
        entry_area_setup(idx);
        thread_init_cpu(idx);
        ncpus++;
        if (!start_ap(idx, pml4)) {
            kprintf("smp: CPU with APIC ID %u did not start\n", madt_ids[i]);
            cpus[idx].online = 0;
        }
    }
    if (pml4) {
        pt_free_lower(pml4, false, NULL, NULL);
        frame_free(pml4);
    }
    unsigned pk, co, th, online = 0;
    uint32_t ids[MAX_CPUS];
    for (unsigned i = 0; i < ncpus; i++)
        if (cpus[i].online)
            ids[online++] = cpus[i].apic_id;
    topo_count(ids, online, &shifts, &pk, &co, &th);
    kprintf("smp: %u CPUs online (%u in the MADT, %u IOAPICs); topology: %u package(s), %u core(s), %u thread(s)\n",
            online, nmadt, info.nioapics, pk, co, th);
    for (unsigned i = 0; i < ncpus; i++)
        kprintf("smp:   cpu %u: APIC ID %u, package %u core %u thread %u%s\n", i, cpus[i].apic_id, cpus[i].package,
                cpus[i].core, cpus[i].smt, cpus[i].online ? "" : " (offline)");
}
