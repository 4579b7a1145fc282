/*
 * The only way the kernel touches user memory. The kernel runs in its own
 * address space, so user memory is not mapped while it runs: these
 * routines translate each page through the task's page tables and copy via
 * the direct map. A range is accepted only if it lies entirely in
 * [AL_USER_LO, AL_USER_HI) without wrapping (which also rejects NULL,
 * kernel and non-canonical addresses) and every page is present,
 * user-accessible and, for writes, writable. Otherwise -AL_EFAULT, and
 * nothing is written for copy_to_user (the range is checked before copying).
 */
#ifndef KERNEL_USERCOPY_H
#define KERNEL_USERCOPY_H
#include <stddef.h>
#include <stdint.h>
#include "abi/airlock/layout.h"
struct task;

/* [uaddr, uaddr+len) lies in the user window without wrapping; inline
 * because every system call with a user pointer or flexpage asks */
static inline int user_range_ok(uint64_t uaddr, uint64_t len)
{
    return uaddr >= AL_USER_LO && uaddr <= AL_USER_HI && len <= AL_USER_HI - uaddr;
}
int copy_from_user(struct task *t, void *dst, uint64_t usrc, size_t len);
int copy_to_user(struct task *t, uint64_t udst, const void *src, size_t len);
#endif
