/*
 * In-kernel self-tests of the kernel address space, the airlock and the
 * frame/stack allocators. Run with the kernel command line `ktest`.
 */
#include "kernel/selftest.h"
#include "kernel/console.h"
#include "kernel/bootinfo.h"
#include "kernel/frame.h"
#include "kernel/kstack.h"
#include "kernel/task.h"
#include "kernel/audit.h"
#include "kernel/usercopy.h"
#include "kernel/panic.h"
#include "lib/elf.h"
#include "abi/airlock/errno.h"
#include <arch/paging.h>
#include <arch/cpu.h>
#include "arch/x86_64/entry_area.h"
#include <arch/trap.h>
#include "arch/x86_64/lapic.h"
#include "arch/x86_64/pcid.h"
#include <arch/tlb.h>
#include <arch/percpu.h>
#include "kernel/thread.h"
#include "kernel/cpu.h"
#include "lib/string.h"
#include "lib/format.h"
#include "kernel/kmem.h"

static long kerr; /* task_create's error, unused: these tasks are the kernel's */

extern char __text_start[], __text_end[], __rodata_start[], __rodata_end[], __data_start[], __data_end[];
extern char __tramp_start[], __tramp_end[], syscall_entry[], vector_stubs[];

SELFTEST(frame_alloc_roundtrip)
{
    size_t before = frame_free_count();
    uint64_t a = frame_alloc(), b = frame_alloc();
    ST_CHECK(a && b && a != b && !(a & 0xfff) && !(b & 0xfff));
    ST_CHECK(frame_free_count() == before - 2);
    ST_CHECK(frame_free(a) == 0 && frame_free(b) == 0);
    ST_CHECK(frame_free(a) != 0); /* double free refused */
    ST_CHECK(frame_free_count() == before);
    ST_CHECK(frame_free(0x100000) != 0); /* kernel image: never allocatable */
}

/* no kernel page is both writable and executable, no global page outside
 * the trampoline, and the image sections carry their permissions */
struct wx_ctx {
    unsigned wx, global_outside, checked;
};
static int wx_visit(uint64_t va, uint64_t pte, uint64_t size, int level, void *arg)
{
    struct wx_ctx *c = arg;
    (void)size, (void)level;
    c->checked++;
    if ((pte & PTE_W) && !(pte & PTE_NX))
        c->wx++;
    if ((pte & PTE_G) && (va < AL_TRAMPOLINE || va >= AL_TRAMPOLINE + (1ULL << 39)))
        c->global_outside++;
    return 0;
}

SELFTEST(kernel_wx_and_global)
{
    struct wx_ctx c = {0, 0, 0};
    pt_walk(kernel_pml4, 256, 511, wx_visit, &c);
    ST_CHECK(c.checked > 100);
    ST_CHECK(c.wx == 0);
    ST_CHECK(c.global_outside == 0);
    ST_CHECK(cpu_feat.nx);
    uint64_t t = pt_lookup(kernel_pml4, (uint64_t)__text_start, NULL);
    ST_CHECK((t & PTE_P) && !(t & PTE_W) && !(t & PTE_NX));
    uint64_t r = pt_lookup(kernel_pml4, (uint64_t)__rodata_start, NULL);
    ST_CHECK((r & PTE_P) && !(r & PTE_W) && (r & PTE_NX));
    uint64_t d = pt_lookup(kernel_pml4, (uint64_t)__data_start, NULL);
    ST_CHECK((d & PTE_P) && (d & PTE_W) && (d & PTE_NX));
    /* the direct-map alias of kernel text is read-only */
    uint64_t alias = pt_lookup(kernel_pml4, AL_DIRECT_MAP + ((uint64_t)__text_start - AL_KERNEL_BASE), NULL);
    ST_CHECK((alias & PTE_P) && !(alias & PTE_W) && (alias & PTE_NX));
    ST_CHECK(read_cr0() & CR0_WP);
}

SELFTEST(cpu_hardening)
{
    uint64_t cr4 = read_cr4();
    ST_CHECK(!!(cr4 & CR4_SMEP) == cpu_feat.smep);
    ST_CHECK(!!(cr4 & CR4_SMAP) == cpu_feat.smap);
    ST_CHECK(!!(cr4 & CR4_UMIP) == cpu_feat.umip);
    ST_CHECK(rdmsr(MSR_EFER) & EFER_NXE);
    ST_CHECK(rdmsr(MSR_EFER) & EFER_SCE);
    ST_CHECK(rdmsr(MSR_LSTAR) == tramp_alias(syscall_entry));
    ST_CHECK(read_cr3() == kernel_pml4);
}

SELFTEST(trampoline_mappings)
{
    uint64_t tsize = (uint64_t)(__tramp_end - __tramp_start);
    ST_CHECK(tsize > 0 && tsize <= 0x10000);
    for (uint64_t off = 0; off < tsize; off += 4096) {
        uint64_t e = pt_lookup(kernel_pml4, AL_TRAMPOLINE + off, NULL);
        ST_CHECK((e & PTE_P) && !(e & PTE_W) && !(e & PTE_U) && !(e & PTE_NX));
        ST_CHECK((e & PTE_ADDR) == (uint64_t)__tramp_start - AL_KERNEL_BASE + off);
    }
    uint64_t base = (uint64_t)ENTRY_AREA(0);
    uint64_t idt = pt_lookup(kernel_pml4, base + EA_IDT, NULL);
    ST_CHECK((idt & PTE_P) && !(idt & PTE_W) && (idt & PTE_NX) && !(idt & PTE_U));
    ST_CHECK(pt_lookup(kernel_pml4, base + EA_ENTRY_STACK - 4096, NULL) == 0); /* guard */
    ST_CHECK(pt_lookup(kernel_pml4, base + EA_IST_NMI, NULL) == 0);            /* guard above IST1 */
    uint64_t st = pt_lookup(kernel_pml4, base + EA_ENTRY_TOP - 8, NULL);
    ST_CHECK((st & PTE_P) && (st & PTE_W) && (st & PTE_NX) && !(st & PTE_U));
    /* IDT gates point into the trampoline alias */
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) d;
    __asm__ volatile("sidt %0" : "=m"(d));
    ST_CHECK(d.base == base + EA_IDT);
    const uint8_t *g = (const uint8_t *)d.base + 14 * 16;
    uint64_t off = (uint64_t)g[0] | (uint64_t)g[1] << 8 | (uint64_t)g[6] << 16 | (uint64_t)g[7] << 24 |
                   (uint64_t)g[8] << 32 | (uint64_t)g[9] << 40 | (uint64_t)g[10] << 48 | (uint64_t)g[11] << 56;
    ST_CHECK(off == tramp_alias(vector_stubs) + 14 * 16);
    ST_CHECK(this_entry() == (struct cpu_entry *)base);
}

SELFTEST(kstack_guard_pages)
{
    uint64_t top;
    unsigned long live = kstack_live_count();
    int slot = kstack_alloc(&top);
    ST_CHECK(slot >= 0);
    if (slot < 0)
        return;
    for (uint64_t va = top - KSTACK_SIZE; va < top; va += 4096) {
        uint64_t e = pt_lookup(kernel_pml4, va, NULL);
        ST_CHECK((e & PTE_P) && (e & PTE_W) && (e & PTE_NX) && !(e & PTE_U));
    }
    for (uint64_t va = top - KSTACK_SLOT; va < top - KSTACK_SIZE; va += 4096)
        ST_CHECK(pt_lookup(kernel_pml4, va, NULL) == 0);
    kstack_free(slot);
    ST_CHECK(pt_lookup(kernel_pml4, top - 8, NULL) == 0);
    ST_CHECK(kstack_live_count() == live);
}

/* enough kernel-stack slots for every thread the memory could pay for
 * (KSTACK_PAGES + 2 frames each), between the bounds, and the region's
 * page tables all there: the last slot's stack is mapped without
 * allocating a table (kstack_init made them) */
SELFTEST(kstack_slots_cover_memory)
{
    uint64_t want = frame_total_count() / (KSTACK_PAGES + 2);
    ST_CHECK(kstack_slots >= KSTACK_SLOTS_MIN && kstack_slots <= KSTACK_SLOTS_MAX);
    ST_CHECK(kstack_slots >= want || kstack_slots == KSTACK_SLOTS_MAX);
    uint64_t top = kstack_slot_top((int)kstack_slots - 1);
    ST_CHECK(pt_lookup(kernel_pml4, top - 4096, NULL) == 0); /* (not mapped: no stack there yet) */
    uint64_t free0 = frame_free_count(), pa = frame_alloc();
    ST_CHECK(pa && pt_map(kernel_pml4, top - 4096, pa, PTE_W | pte_nx) == 0);
    ST_CHECK(frame_free_count() == free0 - 1); /* (the page, no table) */
    pt_unmap(kernel_pml4, top - 4096);
    tlb_shootdown(tlb_all_cpus(), top - 4096, 1); /* (never touched, but as kstack_free does) */
    frame_free(pa);
}

/* the budget records used up (by hand): task_create gives a frame more of
 * them and goes on; the records come back, the frame stays the pool's */
SELFTEST(kmem_records_grow)
{
    static struct kmem *held[KMEM_RECORDS];
    unsigned n = 0;
    long err = 0;
    while (n < KMEM_RECORDS && (held[n] = kmem_new(&kmem_kernel, 0, 0, &err)) != NULL)
        n++;
    ST_CHECK(kmem_new(&kmem_kernel, 0, 0, &err) == NULL && err == -AL_ENOMEM); /* (the pool is dry) */
    unsigned long added = kmem_records_added();
    struct task *t = task_create("records", &kmem_kernel, 64, &kerr);
    ST_CHECK(t != NULL);
    ST_CHECK(kmem_records_added() == added + AL_PAGE_SIZE);
    if (t)
        task_destroy(t);
    while (n)
        kmem_task_gone(held[--n]);
}

SELFTEST(audit_accepts_clean_space)
{
    struct task *t = task_create("audit-ok", &kmem_kernel, 64, &kerr);
    ST_CHECK(t != NULL);
    if (!t)
        return;
    ST_CHECK(task_map_new_page(t, 0x400000, 1, 0, NULL) == 0);
    ST_CHECK(audit_user_space(t->pml4, t->name) == 0);
    task_destroy(t);
}

SELFTEST(audit_catches_kernel_mappings)
{
    size_t before = frame_free_count();
    struct task *t = task_create("audit-bad", &kmem_kernel, 64, &kerr);
    ST_CHECK(t != NULL);
    if (!t)
        return;
    uint64_t *pml4 = p2v(t->pml4);
    /* 1: a kernel-half slot populated (a copy of the kernel's direct map) */
    pml4[256] = ((uint64_t *)p2v(kernel_pml4))[256];
    kprintf("    # expected audit complaint follows\n");
    ST_CHECK(audit_user_space(t->pml4, t->name) != 0);
    pml4[256] = 0;
    /* 2: the trampoline slot replaced */
    uint64_t saved = pml4[TRAMP_PML4_SLOT];
    pml4[TRAMP_PML4_SLOT] = 0;
    ST_CHECK(audit_user_space(t->pml4, t->name) != 0);
    pml4[TRAMP_PML4_SLOT] = saved;
    /* 3: a user page mapping a kernel-image frame */
    ST_CHECK(pt_map(t->pml4, 0x500000, (uint64_t)__text_start - AL_KERNEL_BASE, PTE_U) == 0);
    ST_CHECK(audit_user_space(t->pml4, t->name) != 0);
    pt_unmap(t->pml4, 0x500000);
    /* 4: a user page mapping a trampoline (entry area) frame */
    uint64_t ea = pt_lookup(kernel_pml4, (uint64_t)ENTRY_AREA(0), NULL) & PTE_ADDR;
    ST_CHECK(pt_map(t->pml4, 0x600000, ea, PTE_U) == 0);
    ST_CHECK(audit_user_space(t->pml4, t->name) != 0);
    pt_unmap(t->pml4, 0x600000);
    ST_CHECK(audit_user_space(t->pml4, t->name) == 0);
    task_destroy(t);
    ST_CHECK(frame_free_count() == before);
}

SELFTEST(usercopy_checks)
{
    struct task *t = task_create("usercopy", &kmem_kernel, 64, &kerr);
    ST_CHECK(t != NULL);
    if (!t)
        return;
    ST_CHECK(task_map_new_page(t, 0x400000, 1, 0, NULL) == 0);
    ST_CHECK(task_map_new_page(t, 0x401000, 0, 0, NULL) == 0); /* read-only */
    char buf[32] = "0123456789abcdef";
    char back[32];
    ST_CHECK(copy_to_user(t, 0x400ff8, buf, 8) == 0);
    ST_CHECK(copy_from_user(t, back, 0x400ff8, 8) == 0 && !memcmp(back, buf, 8));
    ST_CHECK(copy_to_user(t, 0x400ff8, buf, 16) == -AL_EFAULT);    /* straddles into RO */
    ST_CHECK(copy_from_user(t, back, 0x400ff8, 16) == 0);          /* reading RO is fine */
    ST_CHECK(copy_from_user(t, back, 0x401ff8, 16) == -AL_EFAULT); /* into unmapped */
    ST_CHECK(copy_from_user(t, back, 0, 1) == -AL_EFAULT);
    ST_CHECK(copy_from_user(t, back, AL_USER_HI - 8, 16) == -AL_EFAULT);
    ST_CHECK(copy_from_user(t, back, 0x400000, ~0ULL) == -AL_EFAULT);
    ST_CHECK(copy_from_user(t, back, AL_KERNEL_BASE + 0x100000, 1) == -AL_EFAULT);
    ST_CHECK(copy_from_user(t, back, AL_TRAMPOLINE, 1) == -AL_EFAULT);
    ST_CHECK(copy_from_user(t, back, 0x0000800000000000ULL, 1) == -AL_EFAULT);
    /* a supervisor page in the user half is not user memory either */
    uint64_t pa = frame_alloc();
    ST_CHECK(pt_map(t->pml4, 0x402000, pa, PTE_W) == 0);
    ST_CHECK(copy_from_user(t, back, 0x402000, 1) == -AL_EFAULT);
    task_destroy(t);
}

SELFTEST(kprintf_format)
{
    char b[64];
    fmt_snprintf(b, sizeof b, "%d %x %s %p %5s|%-3c|", -42, 0xbeefu, "ok", (void *)0x1000, "ab", 'z');
    ST_CHECK(!strcmp(b, "-42 beef ok 0x0000000000001000    ab|z  |"));
    ST_CHECK(fmt_snprintf(b, 4, "%s", "truncated") == 9 && !strcmp(b, "tru"));
}

SELFTEST(symbolizer)
{
    unsigned long off;
    const char *n = ksym_lookup((unsigned long)kprintf + 3, &off);
    ST_CHECK(n && !strcmp(n, "kprintf") && off == 3);
    n = ksym_lookup(tramp_alias(syscall_entry), &off);
    ST_CHECK(n && !strcmp(n, "syscall_entry") && off == 0);
}

SELFTEST(elf_refuses_garbage)
{
    static const uint8_t junk[64] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
    struct elf_image img;
    const char *why = NULL;
    ST_CHECK(elf_parse(junk, sizeof junk, AL_USER_LO, AL_USER_HI, &img, &why) < 0 && why);
    ST_CHECK(elf_parse(junk, 3, AL_USER_LO, AL_USER_HI, &img, &why) < 0);
}

SELFTEST(vga_mirrors_console)
{
    /* the VGA text buffer mirrors what kprintf prints; with a graphics
     * framebuffer (UEFI) nothing is written there */
    kprintf("    # vga-mirror-check-7f3a\n");
    const volatile uint16_t *vga = (const volatile uint16_t *)(AL_DIRECT_MAP + 0xB8000);
    const char *needle = "vga-mirror-check-7f3a";
    size_t n = strlen(needle);
    int found = 0;
    for (int i = 0; i + (int)n <= 80 * 25 && !found; i++) {
        size_t k = 0;
        while (k < n && (char)(vga[i + k] & 0xff) == needle[k])
            k++;
        found = k == n;
    }
    ST_CHECK(found == !boot_info.graphics_fb);
}

/* An interrupt on a vector nobody registered is counted and acknowledged,
 * never blamed on a thread. Vector 0xE0 shares its priority class with the
 * timer (0xEF): without the EOI its in-service bit would hold back the
 * second 0xE0, and the count would stop at one. The IPIs are delivered
 * while this CPU idles during the sleeps (the kernel runs with IF clear). */
#define VEC_UNUSED 0xE0
SELFTEST(unexpected_interrupt_acknowledged)
{
    unsigned long before = trap_unexpected_count();
    for (int i = 1; i <= 2; i++) {
        lapic_send_ipi(lapic_id(), VEC_UNUSED);
        uint64_t until = clock_ns() + 200000000ULL;
        while (trap_unexpected_count() < before + (unsigned long)i && clock_ns() < until)
            sched_sleep_until(clock_ns() + 1000000);
        ST_CHECK(trap_unexpected_count() == before + (unsigned long)i);
    }
}

/* PCID (section 10.6): with it, CR4.PCIDE is set, the kernel's CR3 value
 * for the entry code is tag 0 with the no-flush bit, and each new space
 * gets a tag of its own with it (or the shared overflow tag without it,
 * once the pool is empty); without it, the plain PML4s of before */
SELFTEST(pcid_tags)
{
    uint64_t cr4 = read_cr4();
    struct cpu_entry *e = this_entry();
    ST_CHECK(!!(cr4 & CR4_PCIDE) == tlb_tagged());
    ST_CHECK((read_cr3() & CR3_PCID_MASK) == 0); /* the kernel runs under tag 0 */
    struct task *a = task_create("pcid-a", &kmem_kernel, 64, &kerr),
                *b = task_create("pcid-b", &kmem_kernel, 64, &kerr);
    ST_CHECK(a && b);
    if (!a || !b)
        return;
    ST_CHECK((a->cr3 & PTE_ADDR) == a->pml4 && (b->cr3 & PTE_ADDR) == b->pml4);
    if (tlb_tagged()) {
        ST_CHECK(cpu_feat.pcid && cpu_feat.invpcid);
        ST_CHECK(e->kernel_cr3 == (kernel_pml4 | CR3_NOFLUSH));
        unsigned pa = a->cr3 & CR3_PCID_MASK, pb = b->cr3 & CR3_PCID_MASK;
        ST_CHECK(pa != PCID_KERNEL && pb != PCID_KERNEL);
        /* two tags of their own, or the shared one without no-flush */
        ST_CHECK(pa != pb || pa == PCID_SHARED);
        ST_CHECK(!!(a->cr3 & CR3_NOFLUSH) == (pa != PCID_SHARED));
        ST_CHECK(!!(b->cr3 & CR3_NOFLUSH) == (pb != PCID_SHARED));
    } else {
        ST_CHECK(e->kernel_cr3 == kernel_pml4);
        ST_CHECK(a->cr3 == a->pml4 && b->cr3 == b->pml4);
    }
    task_destroy(a);
    task_destroy(b);
    /* a tag given back is handed out again (the pool does not leak) */
    if (tlb_tagged()) {
        unsigned seen = 0;
        for (int i = 0; i < 3; i++) {
            struct task *t = task_create("pcid-c", &kmem_kernel, 64, &kerr);
            ST_CHECK(t != NULL);
            if (!t)
                return;
            seen |= (t->cr3 & CR3_PCID_MASK) != PCID_SHARED;
            task_destroy(t);
        }
        char v[12];
        int none = bootinfo_arg("pcids", v, sizeof v) && v[0] == '0'; /* pcids=0: all share */
        ST_CHECK(seen || none);
    }
}

/* A kernel mapping changed under the TLB's feet is seen changed after
 * tlb_shootdown of its page, and of everything: INVLPG and a CR3 reload
 * without PCID; INVPCID of one address and of the kernel's tag with it */
#define REMAP_VA 0xfffffd8000000000ULL /* PML4 slot 507: unused */
SELFTEST(kernel_shootdown_remap)
{
    uint64_t fa = frame_alloc(), fb = frame_alloc();
    ST_CHECK(fa && fb);
    if (!fa || !fb)
        return;
    *(volatile uint64_t *)p2v(fa) = 0xaaaa;
    *(volatile uint64_t *)p2v(fb) = 0xbbbb;
    volatile uint64_t *v = (volatile uint64_t *)REMAP_VA;
    uint64_t self = 1ULL << this_entry()->cpu_index;
    ST_CHECK(pt_map(kernel_pml4, REMAP_VA, fa, PTE_W | pte_nx) == 0);
    ST_CHECK(*v == 0xaaaa);
    pt_unmap(kernel_pml4, REMAP_VA);
    ST_CHECK(pt_map(kernel_pml4, REMAP_VA, fb, PTE_W | pte_nx) == 0);
    tlb_shootdown(self, REMAP_VA, 1);
    ST_CHECK(*v == 0xbbbb);
    pt_unmap(kernel_pml4, REMAP_VA);
    ST_CHECK(pt_map(kernel_pml4, REMAP_VA, fa, PTE_W | pte_nx) == 0);
    tlb_shootdown(self, 0, 0);
    ST_CHECK(*v == 0xaaaa);
    pt_unmap(kernel_pml4, REMAP_VA);
    tlb_shootdown(self, REMAP_VA, 1);
    frame_free(fa);
    frame_free(fb);
}

/* the local APIC's mode (section 10.3): x2APIC where the CPU has it (and
 * nox2apic is not given), with no MMIO EOI address for the entry code;
 * the xAPIC otherwise, with its page also in the trampoline region
 * (uncached, supervisor-only, global) and the EOI register's address
 * there; the ID read either way is the one the MADT gave this CPU */
SELFTEST(lapic_mode)
{
    struct cpu_entry *e = this_entry();
    uint64_t base = rdmsr(MSR_APIC_BASE);
    ST_CHECK(base & (1u << 11));
    ST_CHECK(!!(base & (1u << 10)) == lapic_x2apic);
    ST_CHECK(lapic_x2apic == (cpu_feat.x2apic && !bootinfo_flag("nox2apic")));
    ST_CHECK(lapic_id() == cpus[e->cpu_index].apic_id);
    if (lapic_x2apic) {
        ST_CHECK(e->eoi_mmio == 0);
    } else {
        ST_CHECK(e->eoi_mmio == LAPIC_TRAMP_VA + 0xB0);
        uint64_t pte = pt_lookup(kernel_pml4, LAPIC_TRAMP_VA, NULL);
        ST_CHECK((pte & PTE_ADDR) == lapic_phys);
        ST_CHECK((pte & PTE_P) && (pte & PTE_W) && (pte & PTE_PCD) && (pte & PTE_PWT) && !(pte & PTE_U));
        /* the alias reads the same registers: the ID */
        ST_CHECK(*(volatile uint32_t *)(LAPIC_TRAMP_VA + 0x20) >> 24 == lapic_id());
    }
}
