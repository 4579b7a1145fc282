/*
 * Airlock virtual memory layout, as seen by user programs and the kernel.
 *
 * This is part of the ABI: user programs may rely on the user window
 * [AL_USER_LO, AL_USER_HI) and on the fact that nothing above AL_USER_HI is
 * reachable from user mode except the trampoline region, which is mapped
 * supervisor-only (every user access to it faults).
 *
 *   0x0000_0000_0000_0000  +----------------------------+
 *                          | unmapped (NULL guard, 64K) |
 *   AL_USER_LO             +----------------------------+
 *                          | user half                  |
 *   AL_USER_HI             +----------------------------+  (top user page is
 *                          | never mapped (SYSRET RIP)  |   never mappable)
 *   0x0000_8000_0000_0000  +----------------------------+
 *                          | non-canonical hole         |
 *   0xffff_8000_0000_0000  +----------------------------+  kernel space only:
 *                          | direct map of phys memory  |   PML4 slot 256..
 *   0xffff_fe00_0000_0000  | kernel stacks + guards     |   slot 508
 *   0xffff_ff00_0000_0000  | TRAMPOLINE REGION          |   slot 510: the only
 *                          |  (shared by every space)   |   kernel slot present
 *   0xffff_ffff_8000_0000  | kernel image               |   in user spaces
 *                          +----------------------------+
 */
#ifndef AIRLOCK_ABI_LAYOUT_H
#define AIRLOCK_ABI_LAYOUT_H

#define AL_PAGE_SIZE 0x1000ULL
#define AL_USER_LO   0x0000000000010000ULL
/* The last page below the canonical hole is never mappable: a SYSCALL there
 * would leave a non-canonical RCX for SYSRET (see docs/ARCHITECTURE.md). */
#define AL_USER_HI        0x00007ffffffff000ULL
#define AL_USER_STACK_TOP 0x00007fffffff0000ULL
/* sigma0 sees physical address pa at AL_SIGMA0_BASE + pa */
#define AL_SIGMA0_BASE 0x0000100000000000ULL
/* the root task finds its boot information and the boot modules here */
#define AL_BOOTINFO 0x00007ffe00000000ULL
#define AL_MODULES  0x00007ffe00100000ULL
/* one UTCB page per thread, kernel-managed, between the program and the stack */
#define AL_UTCB_BASE       0x00007fff00000000ULL
#define AL_UTCB_SLOTS      1024
#define AL_UTCB_END        (AL_UTCB_BASE + AL_UTCB_SLOTS * AL_PAGE_SIZE)
#define AL_USER_STACK_SIZE 0x0000000000010000ULL

#define AL_DIRECT_MAP      0xffff800000000000ULL
#define AL_KSTACK_REGION   0xfffffe0000000000ULL
#define AL_TRAMPOLINE      0xffffff0000000000ULL
#define AL_TRAMP_CPU_AREAS (AL_TRAMPOLINE + 0x200000ULL)
#define AL_TRAMP_CPU_SIZE  0x20000ULL /* 128 KiB per CPU, naturally aligned */
#define AL_KERNEL_BASE     0xffffffff80000000ULL
#define AL_KERNEL_LOAD     0x0000000000100000ULL /* physical load address */

#endif
