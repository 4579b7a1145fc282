/* Minimal user-space C support: printf (to the console server, or through
 * debug_write), exit, KTAP. */
#include "user/lib/airlock.h"
#include "user/lib/console.h"
#include "abi/airlock/boot.h"
#include "lib/format.h"
#include "lib/string.h"

struct outbuf {
    char buf[256]; /* (at most CON_MAX_BYTES: one CON_WRITE per flush) */
    unsigned n;
};

/* Where printf's output goes: to the console server (CON_WRITE, user/lib/
 * console.h) if this task holds a send capability in AL_SLOT_CONSOLE
 * (looked at once, at the first output), else to the kernel's log
 * (debug_write). A CON_WRITE that fails (the console is gone, or does not
 * answer within the timeout) sends that chunk through debug_write
 * instead; after a failure the next attempts wait only briefly, until one
 * succeeds. The call uses the message registers: they are saved and
 * restored around it, so printf between a call and the reading of its
 * reply does no harm. */
enum { OUT_UNKNOWN, OUT_CONSOLE, OUT_DEBUG };
static int out_mode, out_forced_debug, out_failing;
#define CON_TIMEOUT      3000000000L /* the console makes a writer wait about 1 s at most */
#define CON_TIMEOUT_FAIL 200000000L

void console_output(int on)
{
    out_forced_debug = !on;
}

static int con_write(const char *p, unsigned n)
{
    struct al_utcb *u = al_utcb();
    unsigned words = 1 + (n + 7) / 8;
    unsigned long keep[1 + (sizeof ((struct outbuf *)0)->buf + 7) / 8], tag = u->tag, badge = u->badge;
    memcpy(keep, u->mr, words * sizeof keep[0]);
    u->mr[0] = n;
    memcpy(&u->mr[1], p, n);
    long r = al_ipc(AL_IPC_CALL, AL_SLOT_CONSOLE, AL_TAG(words, 0, CON_WRITE), 0,
                    out_failing ? CON_TIMEOUT_FAIL : CON_TIMEOUT);
    int ok = r == 0 && AL_TAG_LABEL(u->tag) == CON_OK && u->mr[0] == n;
    memcpy(u->mr, keep, words * sizeof keep[0]);
    u->tag = tag;
    u->badge = badge;
    out_failing = !ok;
    return ok;
}

static void flush(struct outbuf *o)
{
    if (!o->n)
        return;
    if (out_mode == OUT_UNKNOWN) {
        struct al_cap_info ci;
        out_mode = al_cap_info(AL_SLOT_CONSOLE, &ci) == 0 && ci.type == AL_CAP_ENDPOINT && (ci.rights & AL_R_SEND)
                       ? OUT_CONSOLE
                       : OUT_DEBUG;
    }
    if (out_mode != OUT_CONSOLE || out_forced_debug || !con_write(o->buf, o->n))
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
