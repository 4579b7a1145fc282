/*
 * The application-processor start-up page, shared by smp.c (which copies the
 * code there and fills the data block) and apboot.S (the code, which runs
 * from there and reads the data block at the APB_* offsets of the generated
 * asm-offsets.h).
 */
#ifndef ARCH_X86_64_APBOOT_H
#define ARCH_X86_64_APBOOT_H

/* Physical page the AP start-up code runs from: below 1 MiB (real mode),
 * page aligned (the STARTUP IPI vector is its page number), and never handed
 * out by the frame allocator (arch_device_page_reserved). */
#define AP_BOOT_PAGE 0x8000

#ifndef __ASSEMBLER__
#include <stdint.h>

/* the data block at apboot_data, filled by the BSP before each start-up */
struct apboot_data {
    uint64_t cr3;   /* temporary AP page tables (physical, below 4 GiB) */
    uint64_t efer;  /* EFER bits to set: LME, and NXE when the CPU has it */
    uint64_t stack; /* initial RSP (kernel virtual address) */
    uint64_t entry; /* 64-bit entry point (ap_entry64) */
    uint64_t cpu;   /* CPU index, passed in EDI */
};

/* the AP's first C code, entered from apboot.S on its initial stack */
_Noreturn void ap_main(unsigned cpu);
#endif /* !__ASSEMBLER__ */
#endif
