/*
 * lib/format.h - printf-style formatter shared by kernel and user space.
 *
 * Supported: conversions d i u x X o c s p %; flags - 0 + space #;
 * field width and precision (both may be '*'); length modifiers
 * hh h l ll z t j. No floating point.
 *
 * Deviations from / choices within ISO C:
 *   - %p always prints "0x" followed by exactly 16 lowercase hex digits
 *     (flags other than '-' and precision are ignored; width applies).
 *   - %s with a NULL pointer prints "(null)" (precision still truncates).
 *   - An unknown conversion is printed verbatim, from the '%' through the
 *     offending character ("%q" -> "%q", "%-5q" -> "%-5q"). A format that
 *     ends in the middle of a conversion specification is likewise emitted
 *     verbatim. Arguments consumed by '*' before that point stay consumed.
 *   - Widths/precisions larger than FMT_MAX_FIELD are clamped to it.
 *
 * Reentrant: no global state. Callers serialise access to their sink.
 */
#ifndef AIRLOCK_LIB_FORMAT_H
#define AIRLOCK_LIB_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

/* Upper bound on width/precision to keep output bounded and counts sane. */
#define FMT_MAX_FIELD 65536

/* Character sink: called once per output character, in order. */
typedef void (*fmt_out_fn)(char c, void *arg);

/* Format fmt with ap, feeding each character to out(c, arg).
 * Returns the number of characters emitted. */
int fmt_vformat(fmt_out_fn out, void *arg, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

/* C99 vsnprintf semantics: writes at most size-1 characters plus a NUL
 * into buf when size > 0 (buf may be NULL when size == 0), and returns
 * the length the full output would have had (excluding the NUL). */
int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

/* As fmt_vsnprintf with a variable argument list. */
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* AIRLOCK_LIB_FORMAT_H */
