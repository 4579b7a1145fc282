/* Minimal user-space C support: printf through debug_write, exit, KTAP. */
#include "user/lib/airlock.h"
#include "lib/format.h"
#include "lib/string.h"

struct outbuf {
    char buf[256];
    unsigned n;
};

static void flush(struct outbuf *o)
{
    if (o->n)
        al_debug_write(o->buf, o->n);
    o->n = 0;
}

static void put(char c, void *arg)
{
    struct outbuf *o = arg;
    o->buf[o->n++] = c;
    if (o->n == sizeof o->buf)
        flush(o);
}

int vprintf(const char *fmt, va_list ap)
{
    struct outbuf o;
    o.n = 0;
    int n = fmt_vformat(put, &o, fmt, ap);
    flush(&o);
    return n;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

int puts(const char *s)
{
    return printf("%s\n", s);
}

_Noreturn void exit(long status)
{
    for (;;)
        al_exit(status);
}

long strtol_simple(const char *s, int *ok)
{
    long v = 0, sign = 1;
    *ok = 0;
    if (*s == '-')
        sign = -1, s++;
    for (; *s >= '0' && *s <= '9'; s++)
        v = v * 10 + (*s - '0'), *ok = 1;
    if (*s)
        *ok = 0;
    return v * sign;
}

unsigned long strtoul_hex(const char *s, int *ok)
{
    unsigned long v = 0;
    *ok = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s += 2;
    for (; *s; s++) {
        int d;
        if (*s >= '0' && *s <= '9')
            d = *s - '0';
        else if (*s >= 'a' && *s <= 'f')
            d = *s - 'a' + 10;
        else if (*s >= 'A' && *s <= 'F')
            d = *s - 'A' + 10;
        else
            return *ok = 0, v;
        v = v * 16 + (unsigned long)d;
        *ok = 1;
    }
    return v;
}

static int ktap_n, ktap_failed;

void ktap_plan(int n)
{
    printf("    KTAP version 1\n    1..%d\n", n);
}

void ktap_result(int ok, const char *fmt, ...)
{
    char name[160];
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    ktap_n++;
    if (!ok)
        ktap_failed++;
    printf("    %s %d %s\n", ok ? "ok" : "not ok", ktap_n, name);
}

int ktap_failures(void)
{
    return ktap_failed;
}

void al_thread_shim(void *);

long thread_spawn(long (*fn)(void *), void *arg, void *stack, unsigned long size, long prio, long cpu)
{
    uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
    top -= 16;
    ((void **)top)[0] = (void *)fn;
    ((void **)top)[1] = arg;
    return al_thread_create(al_thread_shim, (void *)top, (void *)top, prio, cpu);
}

int ncpus(void)
{
    struct al_cpu_info info[64];
    long n = al_cpu_info(info, 64);
    int online = 0;
    for (long i = 0; i < n && i < 64; i++)
        online += info[i].online;
    return online;
}
