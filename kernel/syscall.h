/*
 * System call dispatch. The table is generated from abi/airlock/syscalls.def;
 * each handler receives the raw argument registers (RDI, RSI, RDX, R10, R8,
 * R9) as uint64_t and must treat them as hostile: user pointers go through
 * kernel/usercopy.h only. Handlers run with interrupts disabled and the big
 * kernel lock held, on the calling thread's kernel stack, CR3 = kernel.
 */
#ifndef KERNEL_SYSCALL_H
#define KERNEL_SYSCALL_H
#include <stdint.h>
#include "abi/airlock/syscall.h"

typedef long (*syscall_fn)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
extern const syscall_fn syscall_table[AL_SYS_COUNT];

#define SYSCALL_DEFINE(name)                                                                                           \
    long sys_##name(uint64_t a0 __attribute__((unused)), uint64_t a1 __attribute__((unused)),                          \
                    uint64_t a2 __attribute__((unused)), uint64_t a3 __attribute__((unused)),                          \
                    uint64_t a4 __attribute__((unused)), uint64_t a5 __attribute__((unused)))

#define SYSCALL(nr, name, nargs, params, args) SYSCALL_DEFINE(name);
#include "abi/airlock/syscalls.def"
#undef SYSCALL

/* sum of the per-CPU counters */
void syscall_collect_stats(struct al_stats *s);
#endif
