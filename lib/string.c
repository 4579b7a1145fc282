/*
 * lib/string.c - freestanding memory and string primitives.
 * See lib/string.h for contracts. Compiled out for host tests, where libc
 * provides the same functions.
 *
 * These are deliberately simple loops (plus a word-sized fast path in
 * memcpy/memset). gcc's loop-distribution pass may recognise such loops and
 * replace them with calls to memcpy/memset/strlen even under -fno-builtin,
 * which here would recurse forever; NO_LOOP_PATTERNS disables that pass for
 * these functions.
 */
#include "lib/string.h"

#ifndef AIRLOCK_HOST_TEST

#include <stdint.h>

#if defined(__GNUC__) && !defined(__clang__)
#define NO_LOOP_PATTERNS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define NO_LOOP_PATTERNS
#endif

/* Word type for unaligned-safe bulk copies. may_alias lets us access any
 * object through it; aligned(1) makes unaligned access well-defined for gcc. */
typedef uint64_t __attribute__((may_alias, aligned(1))) unaligned_word;

NO_LOOP_PATTERNS
void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n >= sizeof(uint64_t)) {
        *(unaligned_word *)d = *(const unaligned_word *)s;
        d += sizeof(uint64_t);
        s += sizeof(uint64_t);
        n -= sizeof(uint64_t);
    }
    while (n--)
        *d++ = *s++;
    return dst;
}

NO_LOOP_PATTERNS
void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d == s || n == 0)
        return dst;
    /* Forward copy is safe when dst is below src or the ranges are apart. */
    if ((uintptr_t)d < (uintptr_t)s || (uintptr_t)d >= (uintptr_t)s + n) {
        while (n--)
            *d++ = *s++;
    } else {
        d += n;
        s += n;
        while (n--)
            *--d = *--s;
    }
    return dst;
}

NO_LOOP_PATTERNS
void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    unsigned char b = (unsigned char)c;
    uint64_t w = 0x0101010101010101ULL * b;
    while (n >= sizeof(uint64_t)) {
        *(unaligned_word *)d = w;
        d += sizeof(uint64_t);
        n -= sizeof(uint64_t);
    }
    while (n--)
        *d++ = b;
    return dst;
}

NO_LOOP_PATTERNS
int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

NO_LOOP_PATTERNS
size_t strlen(const char *s)
{
    const char *p = s;
    while (*p)
        p++;
    return (size_t)(p - s);
}

NO_LOOP_PATTERNS
NO_LOOP_PATTERNS
int strcmp(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a;
    const unsigned char *y = (const unsigned char *)b;
    while (*x && *x == *y) {
        x++;
        y++;
    }
    return (*x > *y) - (*x < *y);
}

NO_LOOP_PATTERNS
int strncmp(const char *a, const char *b, size_t n)
{
    const unsigned char *x = (const unsigned char *)a;
    const unsigned char *y = (const unsigned char *)b;
    for (; n > 0; n--, x++, y++) {
        if (*x != *y)
            return (*x > *y) - (*x < *y);
        if (*x == 0)
            return 0;
    }
    return 0;
}

NO_LOOP_PATTERNS
char *strchr(const char *s, int c)
{
    char ch = (char)c;
    for (;; s++) {
        if (*s == ch)
            return (char *)s;
        if (*s == 0)
            return NULL;
    }
}

#else
/* ISO C forbids an empty translation unit. */
typedef int airlock_string_host_stub;
#endif /* AIRLOCK_HOST_TEST */
