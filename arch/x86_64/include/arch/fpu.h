/*
 * FPU/SSE/AVX state. Policy: EAGER. The kernel never uses FPU registers
 * (built with -mgeneral-regs-only), so traps and system calls leave them
 * alone; the state of the outgoing user thread is saved and the incoming
 * one's restored at every switch between user threads (XSAVE/XRSTOR when
 * the CPU has it, FXSAVE/FXRSTOR otherwise). The area is in the thread
 * object, so the state follows a thread that migrates to another CPU.
 */
#ifndef ARCH_FPU_H
#define ARCH_FPU_H
#include <stdint.h>
#include <arch/cpu.h>
#include <arch/percpu.h>

void fpu_init_area(void *area); /* clean initial state (FCW 0x37f, MXCSR 0x1f80) */
unsigned fpu_area_size(void);

/* save the outgoing state (if any) and load the incoming one (if any):
 * one feature test for both */
static inline void fpu_switch(void *save, void *load)
{
    uint32_t lo = (uint32_t)cpu_feat.xcr0, hi = (uint32_t)(cpu_feat.xcr0 >> 32);
    if (cpu_feat.xsave) {
        if (save)
            __asm__ volatile("xsave64 (%0)" ::"r"(save), "a"(lo), "d"(hi) : "memory");
        if (load)
            __asm__ volatile("xrstor64 (%0)" ::"r"(load), "a"(lo), "d"(hi) : "memory");
    } else {
        if (save)
            __asm__ volatile("fxsave64 (%0)" ::"r"(save) : "memory");
        if (load)
            __asm__ volatile("fxrstor64 (%0)" ::"r"(load) : "memory");
    }
    if (save)
        ENTRY_INC(fpu_saves);
    if (load)
        ENTRY_INC(fpu_restores);
}

/* both threads are user threads: no NULL tests */
static inline void fpu_switch_both(void *save, void *load)
{
    if (cpu_feat.xsave) {
        __asm__ volatile("xsave64 (%0)\n\txrstor64 (%1)" ::"r"(save), "r"(load), "a"(cpu_feat.xcr0_lo),
                         "d"(cpu_feat.xcr0_hi)
                         : "memory");
    } else {
        __asm__ volatile("fxsave64 (%0)\n\tfxrstor64 (%1)" ::"r"(save), "r"(load) : "memory");
    }
    ENTRY_INC(fpu_saves);
    ENTRY_INC(fpu_restores);
}

#endif
