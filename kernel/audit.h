/*
 * The airlock audit: proves that a user PML4 maps nothing of the kernel.
 *  - PML4 slots 256..511 are empty except slot 510, which must be exactly
 *    the shared trampoline entry;
 *  - every entry under the trampoline slot is supervisor-only (U = 0) and
 *    every leaf there maps a frame registered as trampoline backing
 *    (entry/exit text, per-CPU entry areas);
 *  - no lower-half leaf maps a frame of the kernel image or of the
 *    trampoline.
 * Returns 0, or -1 after printing the first violation.
 */
#ifndef KERNEL_AUDIT_H
#define KERNEL_AUDIT_H
#include <stdint.h>
int audit_user_space(uint64_t pml4, const char *name);
#endif
