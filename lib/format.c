/*
 * lib/format.c - printf-style formatter. Contracts in lib/format.h.
 *
 * Freestanding: uses only <stdarg.h>, <stddef.h>, <stdint.h>. Integer
 * arguments are widened to 64 bits; magnitudes are computed in unsigned
 * arithmetic so INT64_MIN needs no special case.
 */
#include "lib/format.h"

#include <stdbool.h>
#include <stdint.h>

enum {
    F_MINUS = 1 << 0, /* '-' left-justify */
    F_ZERO = 1 << 1,  /* '0' pad with zeros */
    F_PLUS = 1 << 2,  /* '+' always sign */
    F_SPACE = 1 << 3, /* ' ' space for positive */
    F_HASH = 1 << 4,  /* '#' alternate form */
};

enum len_mod { L_NONE, L_HH, L_H, L_L, L_LL, L_Z, L_T, L_J };

/* Output state: sink plus running count (saturates rather than wraps). */
struct sink {
    fmt_out_fn out;
    void *arg;
    size_t count;
};

static void emit(struct sink *s, char c)
{
    s->out(c, s->arg);
    s->count++;
}

static void emit_n(struct sink *s, char c, int n)
{
    for (; n > 0; n--)
        emit(s, c);
}

static void emit_span(struct sink *s, const char *from, const char *to)
{
    for (; from < to; from++)
        emit(s, *from);
}

/* Parse a decimal field at *p, clamped to FMT_MAX_FIELD. */
static int parse_num(const char **p)
{
    int v = 0;
    while (**p >= '0' && **p <= '9') {
        if (v < FMT_MAX_FIELD)
            v = v * 10 + (**p - '0');
        (*p)++;
    }
    return v > FMT_MAX_FIELD ? FMT_MAX_FIELD : v;
}

static int clamp_field(int v)
{
    return v > FMT_MAX_FIELD ? FMT_MAX_FIELD : v;
}

/* Fetch a signed integer argument of the given length, widened. */
static int64_t arg_signed(va_list *ap, enum len_mod len)
{
    switch (len) {
    case L_HH:
        return (signed char)va_arg(*ap, int);
    case L_H:
        return (short)va_arg(*ap, int);
    case L_L:
        return va_arg(*ap, long);
    case L_LL:
        return va_arg(*ap, long long);
    case L_Z:
        return va_arg(*ap, ptrdiff_t); /* signed counterpart of size_t */
    case L_T:
        return va_arg(*ap, ptrdiff_t);
    case L_J:
        return va_arg(*ap, intmax_t);
    default:
        return va_arg(*ap, int);
    }
}

/* Fetch an unsigned integer argument of the given length, widened. */
static uint64_t arg_unsigned(va_list *ap, enum len_mod len)
{
    switch (len) {
    case L_HH:
        return (unsigned char)va_arg(*ap, unsigned int);
    case L_H:
        return (unsigned short)va_arg(*ap, unsigned int);
    case L_L:
        return va_arg(*ap, unsigned long);
    case L_LL:
        return va_arg(*ap, unsigned long long);
    case L_Z:
        return va_arg(*ap, size_t);
    case L_T:
        return (uint64_t)va_arg(*ap, ptrdiff_t);
    case L_J:
        return va_arg(*ap, uintmax_t);
    default:
        return va_arg(*ap, unsigned int);
    }
}

/*
 * Emit an integer with C semantics. base is 8, 10 or 16; sign is 0 or the
 * sign character ('-', '+', ' '); prec < 0 means "no precision".
 */
static void emit_int(struct sink *s, uint64_t mag, unsigned base, bool upper, char sign, int flags, int width, int prec)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char buf[24]; /* 64-bit octal needs 22 digits */
    int nd = 0;

    /* Precision 0 with value 0 produces no digits (C 7.21.6.1). */
    if (!(mag == 0 && prec == 0)) {
        uint64_t v = mag;
        do {
            buf[nd++] = digits[v % base];
            v /= base;
        } while (v != 0);
    }

    /* '0' is ignored with '-' or when a precision is given. */
    bool zero_pad = (flags & F_ZERO) && !(flags & F_MINUS) && prec < 0;
    const char *prefix = "";
    if (flags & F_HASH) {
        if (base == 16 && mag != 0)
            prefix = upper ? "0X" : "0x";
        else if (base == 8 && (nd == 0 || buf[nd - 1] != '0') && prec <= nd)
            prec = nd + 1; /* force a leading zero */
    }
    int nprefix = prefix[0] ? 2 : 0;
    int nzero = prec > nd ? prec - nd : 0;
    int body = (sign ? 1 : 0) + nprefix + nzero + nd;
    int pad = width > body ? width - body : 0;

    if (zero_pad) {
        nzero += pad;
        pad = 0;
    }
    if (!(flags & F_MINUS))
        emit_n(s, ' ', pad);
    if (sign)
        emit(s, sign);
    for (int i = 0; i < nprefix; i++)
        emit(s, prefix[i]);
    emit_n(s, '0', nzero);
    while (nd > 0)
        emit(s, buf[--nd]);
    if (flags & F_MINUS)
        emit_n(s, ' ', pad);
}

/* Emit len bytes of str padded to width. */
static void emit_str(struct sink *s, const char *str, size_t len, int flags, int width)
{
    int pad = (size_t)width > len ? width - (int)len : 0;
    if (!(flags & F_MINUS))
        emit_n(s, ' ', pad);
    for (size_t i = 0; i < len; i++)
        emit(s, str[i]);
    if (flags & F_MINUS)
        emit_n(s, ' ', pad);
}

/* Length of str, reading at most max bytes (max < 0: unbounded). */
static size_t bounded_len(const char *str, int max)
{
    size_t n = 0;
    while ((max < 0 || n < (size_t)max) && str[n])
        n++;
    return n;
}

static int format_core(struct sink *s, const char *fmt, va_list *ap)
{
    const char *p = fmt;

    while (*p) {
        if (*p != '%') {
            emit(s, *p++);
            continue;
        }
        const char *start = p++; /* remember '%' for verbatim output */

        int flags = 0;
        for (;; p++) {
            if (*p == '-')
                flags |= F_MINUS;
            else if (*p == '0')
                flags |= F_ZERO;
            else if (*p == '+')
                flags |= F_PLUS;
            else if (*p == ' ')
                flags |= F_SPACE;
            else if (*p == '#')
                flags |= F_HASH;
            else
                break;
        }

        int width = 0;
        if (*p == '*') {
            p++;
            int w = va_arg(*ap, int);
            if (w < 0) {
                flags |= F_MINUS;
                /* Avoid negating INT_MIN; the result is clamped anyway. */
                w = w < -FMT_MAX_FIELD ? FMT_MAX_FIELD : -w;
            }
            width = clamp_field(w);
        } else {
            width = parse_num(&p);
        }

        int prec = -1;
        if (*p == '.') {
            p++;
            if (*p == '*') {
                p++;
                int pr = va_arg(*ap, int);
                prec = pr < 0 ? -1 : clamp_field(pr); /* negative: omitted */
            } else {
                prec = parse_num(&p);
            }
        }

        enum len_mod len = L_NONE;
        switch (*p) {
        case 'h':
            p++;
            if (*p == 'h') {
                p++;
                len = L_HH;
            } else
                len = L_H;
            break;
        case 'l':
            p++;
            if (*p == 'l') {
                p++;
                len = L_LL;
            } else
                len = L_L;
            break;
        case 'z':
            p++;
            len = L_Z;
            break;
        case 't':
            p++;
            len = L_T;
            break;
        case 'j':
            p++;
            len = L_J;
            break;
        default:
            break;
        }

        char conv = *p;
        if (conv == '\0') {
            /* Truncated specification: emit what we have and stop. */
            emit_span(s, start, p);
            break;
        }
        p++;

        switch (conv) {
        case 'd':
        case 'i': {
            int64_t v = arg_signed(ap, len);
            uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
            char sign = v < 0 ? '-' : (flags & F_PLUS) ? '+' : (flags & F_SPACE) ? ' ' : 0;
            emit_int(s, mag, 10, false, sign, flags, width, prec);
            break;
        }
        case 'u':
            emit_int(s, arg_unsigned(ap, len), 10, false, 0, flags, width, prec);
            break;
        case 'x':
            emit_int(s, arg_unsigned(ap, len), 16, false, 0, flags, width, prec);
            break;
        case 'X':
            emit_int(s, arg_unsigned(ap, len), 16, true, 0, flags, width, prec);
            break;
        case 'o':
            emit_int(s, arg_unsigned(ap, len), 8, false, 0, flags, width, prec);
            break;
        case 'c': {
            char c = (char)va_arg(*ap, int);
            emit_str(s, &c, 1, flags, width);
            break;
        }
        case 's': {
            const char *str = va_arg(*ap, const char *);
            if (str == NULL)
                str = "(null)";
            emit_str(s, str, bounded_len(str, prec), flags, width);
            break;
        }
        case 'p': {
            uint64_t v = (uint64_t)(uintptr_t)va_arg(*ap, void *);
            char buf[18];
            buf[0] = '0';
            buf[1] = 'x';
            for (int i = 0; i < 16; i++)
                buf[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xf];
            emit_str(s, buf, sizeof buf, flags, width);
            break;
        }
        case '%':
            emit(s, '%');
            break;
        default:
            /* Unknown conversion: reproduce the specification verbatim. */
            emit_span(s, start, p);
            break;
        }
    }
    return s->count > INT32_MAX ? INT32_MAX : (int)s->count;
}

int fmt_vformat(fmt_out_fn out, void *arg, const char *fmt, va_list ap)
{
    struct sink s = {out, arg, 0};
    va_list cp;
    va_copy(cp, ap); /* lets helpers take a pointer portably */
    int n = format_core(&s, fmt, &cp);
    va_end(cp);
    return n;
}

/* Bounded buffer sink for fmt_vsnprintf. */
struct bufsink {
    char *buf;
    size_t size; /* capacity including the NUL; 0 means write nothing */
    size_t pos;  /* characters produced so far (may exceed size) */
};

static void buf_out(char c, void *arg)
{
    struct bufsink *b = arg;
    if (b->size > 0 && b->pos < b->size - 1)
        b->buf[b->pos] = c;
    b->pos++;
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct bufsink b = {buf, size, 0};
    int n = fmt_vformat(buf_out, &b, fmt, ap);
    if (size > 0)
        buf[b.pos < size - 1 ? b.pos : size - 1] = '\0';
    return n;
}

int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
