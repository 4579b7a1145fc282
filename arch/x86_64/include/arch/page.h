/*
 * Clearing whole pages. The kernel's own fresh pages (page tables, UTCBs,
 * capability spaces, kernel-made user pages) are cleared by REP STOSQ, as
 * Linux's clear_page_rep does: one instruction whose iterations the CPU
 * runs as a string operation (fast-string microcode: 16 to 64 bytes a
 * cycle), against the 8-byte loop of memset (lib/string.c, shared with
 * user space), four instructions per 8 bytes. Under QEMU's -icount each
 * iteration counts as one instruction: 512 per page instead of 2,048
 * (the benchmarks' REP counts, tools/qemu-plugin/counters.c, show them).
 */
#ifndef ARCH_PAGE_H
#define ARCH_PAGE_H
#include <stddef.h>
#include <stdint.h>
#ifdef AIRLOCK_HOST_TEST
#include <string.h>
#endif

/* zero `pages` 4 KiB pages at p (8-byte aligned) */
static inline void clear_pages(void *p, size_t pages)
{
#ifdef AIRLOCK_HOST_TEST
    memset(p, 0, pages * 4096);
#else
    size_t n = pages * 512;
    __asm__ volatile("rep stosq" : "+D"(p), "+c"(n) : "a"(0ULL) : "memory");
#endif
}

static inline void clear_page(void *p)
{
    clear_pages(p, 1);
}
#endif
