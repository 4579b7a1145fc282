/*
 * FPU/SSE/AVX state. Policy: EAGER. The kernel never uses FPU registers
 * (built with -mgeneral-regs-only), so traps and system calls leave them
 * alone; the state of the outgoing user thread is saved and the incoming
 * one's restored at every switch between user threads (XSAVE/XRSTOR when
 * the CPU has it, FXSAVE/FXRSTOR otherwise). The area is in the thread
 * object, so the state follows a thread that migrates to another CPU.
 */
#ifndef ARCH_X86_64_FPU_H
#define ARCH_X86_64_FPU_H
void fpu_init_area(void *area);     /* clean initial state (FCW 0x37f, MXCSR 0x1f80) */
void fpu_save(void *area);
void fpu_restore(void *area);
unsigned fpu_area_size(void);
#endif
