/*
 * lib/string.h - freestanding memory and string primitives.
 *
 * Shared by kernel and user space. The kernel is built with -fno-builtin,
 * yet gcc may still emit calls to memcpy/memset/memmove/memcmp for struct
 * copies and initialisers, so these names are mandatory.
 *
 * On the host (unit tests, -DAIRLOCK_HOST_TEST) the C library already
 * provides these functions with identical contracts, so this header just
 * forwards to <string.h> and lib/string.c compiles to nothing.
 */
#ifndef AIRLOCK_LIB_STRING_H
#define AIRLOCK_LIB_STRING_H

#ifdef AIRLOCK_HOST_TEST
#include <string.h>
#else

#include <stddef.h>

/* Copy n bytes from src to dst. Regions must not overlap. Returns dst. */
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
/* Copy n bytes from src to dst; regions may overlap. Returns dst. */
void *memmove(void *dst, const void *src, size_t n);
/* Fill n bytes at dst with (unsigned char)c. Returns dst. */
void *memset(void *dst, int c, size_t n);
/* Compare n bytes as unsigned char: <0, 0, >0 like C. */
int memcmp(const void *a, const void *b, size_t n);
/* Length of NUL-terminated s, excluding the NUL. */
size_t strlen(const char *s);
/* Like strlen but never reads more than max bytes; returns at most max. */
/* Compare NUL-terminated strings as unsigned char. */
int strcmp(const char *a, const char *b);
/* Compare at most n characters of a and b, stopping at a NUL. */
int strncmp(const char *a, const char *b, size_t n);
/* First occurrence of (char)c in s, including the terminating NUL when
 * c == 0; NULL if not found. */
char *strchr(const char *s, int c);

#endif /* AIRLOCK_HOST_TEST */
#endif /* AIRLOCK_LIB_STRING_H */
