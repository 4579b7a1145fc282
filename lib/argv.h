/*
 * The initial stack of a program (SysV layout), shared by the kernel's
 * loader (sigma0, root) and the root task's loader (everything else).
 */
#ifndef LIB_ARGV_H
#define LIB_ARGV_H
#include <stdint.h>

#define ARGV_MAX 16

/* Lay out the words of cmdline (at most ARGV_MAX) in the top page of a new
 * stack: the strings at the top, below them argc, argv[0..argc-1], NULL.
 * `page` is the builder's view of the page that the program will see at
 * page_va. Returns the program's initial RSP (16-byte aligned, pointing at
 * argc), or 0 if the arguments do not fit in the page. */
uint64_t argv_build(const char *cmdline, unsigned char *page, uint64_t page_va);
#endif
