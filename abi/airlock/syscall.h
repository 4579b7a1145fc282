/*
 * System call ABI (see docs/ABI.md).
 *
 * Entry: SYSCALL with RAX = number, arguments in RDI, RSI, RDX, R10, R8, R9
 *        (or `int $0x80` with the same registers).
 * Exit:  RAX = result (>= 0) or -AL_Exxx. RCX and R11 are clobbered by
 *        SYSCALL/SYSRET; RDI, RSI, RDX, R8, R9, R10 come back as they were
 *        passed in; every other register, including all FPU/SSE state, is
 *        preserved.
 */
#ifndef AIRLOCK_ABI_SYSCALL_H
#define AIRLOCK_ABI_SYSCALL_H

#define AL_INT_SYSCALL_VECTOR 0x80

enum al_syscall_nr {
#define SYSCALL(nr, name, nargs, params, args) AL_SYS_##name = nr,
#include "abi/airlock/syscalls.def"
#undef SYSCALL
    AL_SYS_COUNT
};

/* Counters returned by the stats call (AL_SYS_stats). All are per-CPU sums
 * since boot; the struct only grows at its end, `size` says how much the
 * caller wants. */
struct al_stats {
    unsigned long cr3_writes;       /* MOV to CR3 executed by the kernel */
    unsigned long tlb_flushes;      /* full TLB flushes (CR3 writes without PCID, CR4 toggles) */
    unsigned long invlpg;           /* single-page invalidations */
    unsigned long syscalls;         /* system calls entered (SYSCALL and int 0x80) */
    unsigned long interrupts;       /* hardware interrupts and exceptions taken */
    unsigned long fpu_saves;        /* XSAVE/FXSAVE executed */
    unsigned long free_frames;      /* physical frames free right now */
    unsigned long total_frames;     /* physical frames managed */
    unsigned long nmis;             /* non-maskable interrupts taken */
};

#endif
