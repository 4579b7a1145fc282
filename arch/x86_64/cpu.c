/*
 * Per-CPU bring-up: features, the entry area in the trampoline region
 * (GDT, TSS with I/O bitmap, IDT, entry and IST stacks), SYSCALL MSRs,
 * control-register hardening and FPU/SSE enablement.
 */
#include <arch/cpu.h>
#include <arch/init.h>
#include <arch/paging.h>
#include <arch/vcpu.h>
#include "arch/x86_64/entry_area.h"
#include "kernel/cpu.h"
#include "kernel/frame.h"
#include "kernel/panic.h"
#include "kernel/console.h"
#include <arch/system.h>
#include "arch/x86_64/lapic.h"
#include <arch/tlb.h>
#include "lib/string.h"

struct cpu_features cpu_feat;
struct cpu cpus[MAX_CPUS];
unsigned ncpus = 1;
int percpu_ready;

extern char tramp_base[], vector_stubs[], syscall_entry[];
extern char __tramp_start[];

uint64_t tramp_alias(const void *sym)
{
    return AL_TRAMPOLINE + ((uint64_t)sym - (uint64_t)__tramp_start);
}

void cpu_detect_features(void)
{
    uint32_t a, b, c, d, max;
    cpuid(0, 0, &max, &b, &c, &d);
    cpuid(1, 0, &a, &b, &c, &d);
    cpu_feat.pge = !!(d & (1u << 13));
    cpu_feat.mce = !!(d & (1u << 7));
    cpu_feat.fxsr = !!(d & (1u << 24));
    cpu_feat.pcid = !!(c & (1u << 17));
    cpu_feat.xsave = !!(c & (1u << 26));
    cpu_feat.x2apic = !!(c & (1u << 21));
    if (max >= 7) {
        cpuid(7, 0, &a, &b, &c, &d);
        cpu_feat.smep = !!(b & (1u << 7));
        cpu_feat.smap = !!(b & (1u << 20));
        cpu_feat.invpcid = !!(b & (1u << 10));
        cpu_feat.umip = !!(c & (1u << 2));
    }
    cpuid(0x80000001, 0, &a, &b, &c, &d);
    cpu_feat.nx = !!(d & (1u << 20));
    cpu_feat.pdpe1gb = !!(d & (1u << 26));
}

struct tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss) == 104, "TSS size");
_Static_assert(EA_TSS + sizeof(struct tss) == EA_IOBITMAP, "I/O bitmap follows the TSS");

struct idt_gate {
    uint16_t off0, sel;
    uint8_t ist, type;
    uint16_t off1;
    uint32_t off2, zero;
} __attribute__((packed));

/* pages of the entry area that are backed, with their flags */
static const struct {
    uint32_t off;
    uint32_t pages;
    int writable;
} area_pages[] = {
    {0x00000, 5, 1}, /* cpu_entry + GDT, TSS, I/O bitmap, terminator */
    {EA_IDT, 1, 0},
    {EA_ENTRY_STACK, 1, 1},
    {EA_IST_NMI - EA_IST_SIZE, EA_IST_SIZE / 4096, 1},
    {EA_IST_DF - EA_IST_SIZE, EA_IST_SIZE / 4096, 1},
    {EA_IST_MC - EA_IST_SIZE, EA_IST_SIZE / 4096, 1},
    {EA_IST_DB - EA_IST_SIZE, EA_IST_SIZE / 4096, 1},
    {EA_UPCALL, VCPU_ROUTES_SIZE / 4096, 1},
};

#define GATE_INTERRUPT 0x8E /* present, 64-bit interrupt gate (IF cleared), DPL 0 */
#define GATE_TRAP      0x8F /* present, 64-bit trap gate (IF kept), DPL 0 */

static void set_gate_to(struct idt_gate *g, uint16_t sel, uint8_t type, uint64_t addr, int ist, int dpl)
{
    g->off0 = (uint16_t)addr;
    g->sel = sel;
    g->ist = (uint8_t)ist;
    g->type = (uint8_t)(type | (dpl << 5));
    g->off1 = (uint16_t)(addr >> 16);
    g->off2 = (uint32_t)(addr >> 32);
    g->zero = 0;
}

static void set_gate(struct idt_gate *g, uint64_t addr, int ist, int dpl)
{
    set_gate_to(g, SEL_KCODE, GATE_INTERRUPT, addr, ist, dpl);
}

/* this CPU's IDT, writable (the entry area maps it read-only) */
static struct idt_gate *idt_of(uint64_t base)
{
    return p2v(pt_lookup(kernel_pml4, base + EA_IDT, NULL) & PTE_ADDR);
}

/* Build CPU `idx`'s entry area. Runs on the BSP for every CPU (under the
 * boot path, single-threaded), before that CPU loads it. */
struct cpu_entry *entry_area_setup(unsigned idx)
{
    uint64_t base = (uint64_t)ENTRY_AREA(idx);
    for (unsigned i = 0; i < sizeof area_pages / sizeof area_pages[0]; i++)
        for (uint32_t p = 0; p < area_pages[i].pages; p++) {
            uint64_t pa = pt_alloc_table(); /* zeroed frame */
            if (!pa)
                panic("entry area: out of memory");
            paging_map_tramp(base + area_pages[i].off + p * 4096ULL, pa, (area_pages[i].writable ? PTE_W : 0) | pte_nx);
        }
    /* fill through the kernel's view; the IDT page is read-only, so write it
     * through the direct map */
    struct cpu_entry *e = (struct cpu_entry *)base;
    e->self = e;
    e->kernel_cr3 = kernel_pml4;
    e->user_cr3 = kernel_pml4;
    e->entry_top = base + EA_ENTRY_TOP;
    e->kcpu = &cpus[idx];
    e->cpu_index = idx;

    uint64_t *gdt = (uint64_t *)(base + EA_GDT);
    gdt[0] = 0;
    gdt[1] = 0x00af9a000000ffffULL; /* 0x08 kernel code 64 */
    gdt[2] = 0x00cf92000000ffffULL; /* 0x10 kernel data */
    gdt[3] = 0x00cffa000000ffffULL; /* 0x18 user code 32 (SYSRET base, unused) */
    gdt[4] = 0x00cff2000000ffffULL; /* 0x20 user data */
    gdt[5] = 0x00affa000000ffffULL; /* 0x28 user code 64 */
    uint64_t tss = base + EA_TSS;
    uint64_t limit = (EA_IOBM_END - EA_TSS); /* includes the terminator byte */
    gdt[6] = (limit & 0xffff) | ((tss & 0xffffff) << 16) | (0x89ULL << 40) | (((limit >> 16) & 0xf) << 48) |
             (((tss >> 24) & 0xff) << 56);
    gdt[7] = tss >> 32;

    struct tss *t = (struct tss *)tss;
    t->rsp[0] = base + EA_ENTRY_TOP;
    t->ist[IST_NMI - 1] = base + EA_IST_NMI;
    t->ist[IST_DF - 1] = base + EA_IST_DF;
    t->ist[IST_MC - 1] = base + EA_IST_MC;
    t->ist[IST_DB - 1] = base + EA_IST_DB;
    t->iomap_base = EA_IOBITMAP - EA_TSS;
    memset((void *)(base + EA_IOBITMAP), 0xff, EA_IOBM_END - EA_IOBITMAP + 1);

    struct idt_gate *idt = idt_of(base);
    uint64_t stubs = tramp_alias(vector_stubs);
    for (int v = 0; v < IDT_VECTORS; v++) {
        /* #DB on its own stack: it can arrive at CPL 0 before the SYSCALL
         * entry has a stack (a single-step delayed by MOV SS, or an
         * emulator's reading of TF across SYSCALL; docs/ARCHITECTURE.md
         * section 8.3) */
        int ist = v == VEC_NMI ? IST_NMI : v == VEC_DF ? IST_DF : v == VEC_MC ? IST_MC : v == VEC_DB ? IST_DB : 0;
        int dpl = (v == 3 || v == 0x80) ? 3 : 0;
        set_gate(&idt[v], stubs + VECTOR_STUB_SIZE * (uint64_t)v, ist, dpl);
    }
    cpus[idx].index = idx;
    cpus[idx].entry = e;
    return e;
}

void cpu_gate_direct(unsigned vector, uint64_t entry, uint64_t stack_top)
{
    uint64_t base = (uint64_t)this_entry();
    struct tss *t = (struct tss *)(base + EA_TSS);
    t->ist[IST_DIRECT - 1] = stack_top;
    /* a trap gate: the handler runs with IF set (the timer still preempts
     * it); DPL 0: INT n from user mode cannot enter it */
    set_gate_to(&idt_of(base)[vector & 0xff], SEL_UCODE, GATE_TRAP, entry, IST_DIRECT, 0);
}

void cpu_gate_kernel(unsigned vector)
{
    uint64_t base = (uint64_t)this_entry();
    set_gate(&idt_of(base)[vector & 0xff], tramp_alias(vector_stubs) + VECTOR_STUB_SIZE * (uint64_t)(vector & 0xff), 0,
             0);
    ((struct tss *)(base + EA_TSS))->ist[IST_DIRECT - 1] = 0;
}

/* Load CPU `idx`'s descriptor tables and MSRs; runs on that CPU. */
void cpu_load(unsigned idx)
{
    uint64_t base = (uint64_t)ENTRY_AREA(idx);
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) gdtr = {8 * 8 - 1, base + EA_GDT},
                              idtr = {IDT_VECTORS * sizeof(struct idt_gate) - 1, base + EA_IDT};
    __asm__ volatile("lgdt %0" ::"m"(gdtr));
    __asm__ volatile("pushq $0x08; leaq 1f(%%rip), %%rax; pushq %%rax; lretq; 1:\n"
                     "movw $0x10, %%ax; movw %%ax, %%ss; movw %%ax, %%ds; movw %%ax, %%es;"
                     "xorw %%ax, %%ax; movw %%ax, %%fs; movw %%ax, %%gs" ::
                         : "rax", "memory");
    __asm__ volatile("ltr %w0" ::"r"(SEL_TSS));
    __asm__ volatile("lidt %0" ::"m"(idtr));
    wrmsr(MSR_GS_BASE, base);
    wrmsr(MSR_KERNEL_GS_BASE, 0);
    wrmsr(MSR_FS_BASE, 0);

    /* no debug-register breakpoints, whatever the firmware or the boot
     * loader left: Airlock arms none and gives user mode no access (MOV DRn
     * is privileged), so no #DB source exists in the NMI, #MC and #DF
     * handlers and the #DB stack is never entered twice (decision 48) */
    __asm__ volatile("movq %0, %%dr7" ::"r"((uint64_t)DR7_RESERVED));
    __asm__ volatile("movq %0, %%dr6" ::"r"((uint64_t)DR6_RESERVED));

    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE | (cpu_feat.nx ? EFER_NXE : 0));
    wrmsr(MSR_STAR, ((uint64_t)SEL_UCODE32 << 48) | ((uint64_t)SEL_KCODE << 32));
    wrmsr(MSR_LSTAR, tramp_alias(syscall_entry));
    /* SYSCALL clears IF, TF, DF, IOPL, NT, AC */
    wrmsr(MSR_FMASK, RFLAGS_IF | RFLAGS_TF | RFLAGS_DF | RFLAGS_IOPL | RFLAGS_NT | RFLAGS_AC);

    if (idx == 0)
        tlb_init(); /* PCID or not: decided once, on the boot CPU */
    uint64_t cr4 = read_cr4();
    /* PCID: CR3 holds the kernel's PML4 with PCID 0 here (bits 11:0 zero),
     * as setting CR4.PCIDE requires (SDM Vol. 3A 4.10.1) */
    if (tlb_tagged())
        cr4 |= CR4_PCIDE;
    if (cpu_feat.smep)
        cr4 |= CR4_SMEP;
    if (cpu_feat.smap)
        cr4 |= CR4_SMAP;
    if (cpu_feat.umip)
        cr4 |= CR4_UMIP;
    if (cpu_feat.pge)
        cr4 |= CR4_PGE;
    cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
    if (cpu_feat.mce)
        cr4 |= CR4_MCE; /* a machine check is #MC (panic report), not a shutdown */
    if (cpu_feat.xsave)
        cr4 |= CR4_OSXSAVE;
    write_cr4(cr4);
    /* only now may the entry code load CR3 values with a tag and the
     * no-flush bit (bit 63 is reserved while CR4.PCIDE is clear) */
    ENTRY_AREA(idx)->kernel_cr3 = tlb_kernel_cr3();
    /* FPU: native errors, no emulation, no lazy-switch traps */
    write_cr0((read_cr0() | (1ul << 5) | CR0_WP) & ~((1ul << 2) | (1ul << 3)));
    if (cpu_feat.xsave) {
        uint32_t a, b, c, d;
        cpuid(0xD, 0, &a, &b, &c, &d);
        uint64_t xcr0 = 3 | (a & 4); /* x87, SSE, AVX if present */
        __asm__ volatile("xsetbv" ::"c"(0), "a"((uint32_t)xcr0), "d"((uint32_t)(xcr0 >> 32)));
        cpuid(0xD, 0, &a, &b, &c, &d);
        cpu_feat.xcr0 = xcr0;
        cpu_feat.xcr0_lo = (uint32_t)xcr0;
        cpu_feat.xcr0_hi = (uint32_t)(xcr0 >> 32);
        cpu_feat.xsave_size = b; /* for the enabled features */
    } else {
        cpu_feat.xsave_size = 512;
    }
    __asm__ volatile("fninit");
}

unsigned arch_cpu_index(void)
{
    uint64_t i;
    if (!percpu_ready)
        return 0;
    __asm__ volatile("movq %%gs:%c1, %0" : "=r"(i) : "i"(offsetof(struct cpu_entry, cpu_index)));
    return (unsigned)i;
}

void arch_stop_other_cpus(void)
{
    /* the NMI handler halts every CPU once a panic is in progress */
    if (ncpus > 1 && cpus[0].online)
        lapic_send_nmi_all_others();
}

_Noreturn void arch_halt_system(int code)
{
    outb(0xf4, (uint8_t)code); /* isa-debug-exit, if present */
    halt_forever();
}
