/*
 * Application-processor start-up code. Copied to physical AP_BOOT_PAGE
 * (arch/x86_64/apboot.h: below 1 MiB, never handed out by the frame
 * allocator) and entered in real mode by the STARTUP IPI at
 * CS:IP = (AP_BOOT_PAGE >> 4):0000. It goes to protected mode, then long
 * mode with the temporary AP page tables (identity map of this page + the
 * kernel's upper half), and jumps to apboot_data.entry in the kernel image
 * with RSP = apboot_data.stack and EDI = apboot_data.cpu. The BSP fills the
 * data block (struct apboot_data, APB_* offsets from asm-offsets.h) at the
 * end before each start-up and starts one AP at a time.
 */
#include <arch/cpu.h>
#include "arch/x86_64/apboot.h"
#include "asm-offsets.h"

/* the physical address of x once the page is copied to AP_BOOT_PAGE */
#define REL(x) ((x) - apboot_start + AP_BOOT_PAGE)
/* the physical address of apboot_data field `off` (APB_*) */
#define APB(off) REL(apboot_data + (off))

    .section .rodata
    .globl apboot_start, apboot_end, apboot_data
    .align 16
    .code16
apboot_start:
    cli
    cld
    xorw %ax, %ax
    movw %ax, %ds
    lgdtl REL(ap_gdt_ptr)
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $0x08, $REL(ap32)

    .code32
ap32:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl APB(APB_CR3), %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl APB(APB_EFER), %eax             /* LME, and NXE when the CPU has it */
    wrmsr
    movl %cr0, %eax
    orl $(CR0_PG | CR0_WP), %eax
    movl %eax, %cr0
    ljmpl $0x18, $REL(ap64)

    .code64
ap64:
    movq APB(APB_STACK), %rsp
    movl APB(APB_CPU), %edi
    movq APB(APB_ENTRY), %rax
    jmp *%rax

    .align 16
ap_gdt:
    .quad 0
    .quad 0x00cf9a000000ffff            /* 0x08: 32-bit code */
    .quad 0x00cf92000000ffff            /* 0x10: data */
    .quad 0x00af9a000000ffff            /* 0x18: 64-bit code */
ap_gdt_ptr:
    .short ap_gdt_ptr - ap_gdt - 1
    .long REL(ap_gdt)
    .align 8
apboot_data:                            /* struct apboot_data */
    .skip APB_SIZE
apboot_end:

    .text
    .globl ap_entry64
ap_entry64:
    /* upper half of the temporary tables = the kernel's: switch for real */
    movabsq $kernel_pml4, %rax
    movq (%rax), %rax
    movq %rax, %cr3
    xorl %ebp, %ebp
    call ap_main
.Lap_main_returned:
    cli
    hlt
    jmp .Lap_main_returned
