/*
 * 32-bit entry: Multiboot1 (QEMU -kernel, via the elf32 copy) and Multiboot2
 * (GRUB) headers, then protected mode -> long mode -> higher half.
 *
 * Contract on entry (both protocols): 32-bit protected mode, paging off,
 * EAX = boot-loader magic, EBX = physical address of the boot information.
 * We keep both in EDI/ESI (the first two SysV arguments) and pass them to
 * kmain(magic, info_phys) untouched; the protocol is decided in C.
 *
 * The boot page tables map the first 4 GiB three times with 2 MiB pages:
 * identity (needed for the jump), the direct map (AL_DIRECT_MAP) and the
 * kernel image window (AL_KERNEL_BASE). C replaces them with the real kernel
 * PML4 very early (arch/x86_64/paging.c); they are never used afterwards.
 */
#include "abi/airlock/layout.h"
#include <arch/cpu.h>

#define MB1_MAGIC   0x1BADB002
#define MB1_FLAGS   0x00000003          /* page-align modules, want memory map */
#define MB2_MAGIC   0xE85250D6

    .section .multiboot, "a"
    .align 4
mb1_header:
    .long MB1_MAGIC
    .long MB1_FLAGS
    .long -(MB1_MAGIC + MB1_FLAGS)

    .align 8
mb2_header:
    .long MB2_MAGIC
    .long 0                             /* i386 protected mode */
    .long mb2_header_end - mb2_header
    .long -(MB2_MAGIC + 0 + (mb2_header_end - mb2_header))
    /* module alignment tag: modules page aligned */
    .align 8
    .short 6, 0
    .long 8
    /* framebuffer tag, optional: 32 bits a pixel, any size. Without it GRUB
     * under UEFI hands the kernel no console at all; GRUB's configuration
     * (tools/mkiso.sh) keeps VGA text mode under BIOS (gfxpayload=text) and
     * the firmware's graphics mode under UEFI (the framebuffer console) */
    .align 8
    .short 5, 1
    .long 20
    .long 0, 0, 32
    /* end tag */
    .align 8
    .short 0, 0
    .long 8
mb2_header_end:

    .section .boot.text, "ax"
    .code32
    .globl _start
_start:
    cli
    cld
    movl %eax, %edi
    movl %ebx, %esi
    movl $boot_stack_top, %esp

    /* long mode available? */
    movl $0x80000000, %eax
    cpuid
    cmpl $0x80000001, %eax
    jb no_long_mode
    movl $0x80000001, %eax
    cpuid
    testl $(1 << 29), %edx
    jz no_long_mode
    movl %edx, %ebp                     /* keep: bit 20 = NX */

    /* the loader need not zero NOLOAD sections: clear the boot tables */
    pushl %edi
    movl $boot_pml4, %edi
    movl $(boot_stack - boot_pml4) / 4, %ecx
    xorl %eax, %eax
    rep stosl
    popl %edi

    /* PD entries: 2048 x 2 MiB covering 0..4 GiB (present, writable, PS) */
    movl $boot_pd, %ebx
    xorl %ecx, %ecx
.Lfill_pd:
    movl %ecx, %eax
    shll $21, %eax
    orl $0x83, %eax
    movl %eax, (%ebx,%ecx,8)
    movl %ecx, %eax
    shrl $11, %eax                      /* high dword: (i * 2M) >> 32 */
    movl %eax, 4(%ebx,%ecx,8)
    incl %ecx
    cmpl $2048, %ecx
    jne .Lfill_pd

    /* low PDPT: 4 entries -> the 4 PDs; used for identity and direct map */
    movl $boot_pdpt_lo, %ebx
    movl $boot_pd + 0x003, %eax
    movl %eax, 0(%ebx)
    addl $0x1000, %eax
    movl %eax, 8(%ebx)
    addl $0x1000, %eax
    movl %eax, 16(%ebx)
    addl $0x1000, %eax
    movl %eax, 24(%ebx)
    /* high PDPT: slots 510, 511 -> first two GiB (kernel image window) */
    movl $boot_pdpt_hi, %ebx
    movl $boot_pd + 0x003, %eax
    movl %eax, 510*8(%ebx)
    addl $0x1000, %eax
    movl %eax, 511*8(%ebx)
    /* PML4: 0 (identity), 256 (direct map), 511 (kernel) */
    movl $boot_pml4, %ebx
    movl $boot_pdpt_lo + 0x003, %eax
    movl %eax, 0(%ebx)
    movl %eax, 256*8(%ebx)
    movl $boot_pdpt_hi + 0x003, %eax
    movl %eax, 511*8(%ebx)

    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl $boot_pml4, %eax
    movl %eax, %cr3

    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    testl $(1 << 20), %ebp              /* CPUID 0x80000001 EDX.NX */
    jz .Lset_efer
    orl $EFER_NXE, %eax                 /* the kernel tables use NX */
.Lset_efer:
    wrmsr

    movl %cr0, %eax
    orl $(CR0_PG | CR0_WP | CR0_PE), %eax
    movl %eax, %cr0

    lgdt boot_gdt_ptr
    ljmp $0x08, $long_mode_low

no_long_mode:
    movl $0xB8000, %ebx
    movl $0x4f4e4f4f, (%ebx)            /* "NO" in white on red */
    movl $0x4f344f36, 4(%ebx)           /* "64" */
.Lno_long_mode_halt:
    hlt
    jmp .Lno_long_mode_halt

    .code64
long_mode_low:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
    movabsq $long_mode_high, %rax
    jmp *%rax

    .section .boot.data, "aw"
    .align 16
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff            /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff            /* 0x10: data */
boot_gdt_end:
boot_gdt_ptr:
    .short boot_gdt_end - boot_gdt - 1
    .long boot_gdt

    .section .boot.bss, "aw", @nobits
    .align 4096
boot_pml4:      .skip 4096
boot_pdpt_lo:   .skip 4096
boot_pdpt_hi:   .skip 4096
boot_pd:        .skip 4096 * 4
boot_stack:     .skip 4096
boot_stack_top:

    .text
    .code64
long_mode_high:
    /* zero .bss (it also holds the boot stack we are about to use) */
    movabsq $__bss_start, %rdx
    movabsq $__bss_end, %rcx
    subq %rdx, %rcx
    shrq $3, %rcx
    movl %edi, %r8d
    movq %rdx, %rdi
    xorl %eax, %eax
    rep stosq
    movl %r8d, %edi
    movabsq $kernel_boot_stack_top, %rsp
    xorl %ebp, %ebp                     /* terminates backtraces */
    /* EDI = magic, ESI = info physical address (zero-extended) */
    movl %edi, %edi
    movl %esi, %esi
    call kmain
.Lkmain_returned:
    cli
    hlt
    jmp .Lkmain_returned

    .bss
    .align 16
    .globl kernel_boot_stack, kernel_boot_stack_top
kernel_boot_stack:
    .skip 16384
kernel_boot_stack_top:
