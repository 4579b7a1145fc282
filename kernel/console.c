/*
 * Kernel console: serial (primary) with a VGA text mirror. Output is
 * serialised by console_lock so lines from several CPUs do not interleave
 * within one kprintf call.
 */
#include "kernel/console.h"
#include <arch/console.h>
#include "kernel/spinlock.h"
#include "lib/format.h"

static spinlock_t console_lock = SPINLOCK_INIT;

void console_init(void)
{
    arch_console_init();
}

static void put(char c, void *arg)
{
    (void)arg;
    if (!c)
        return; /* keep the log text: NULs from user buffers are dropped */
    arch_console_putc(c);
}

void console_write(const char *s, size_t n)
{
    spin_lock(&console_lock);
    for (size_t i = 0; i < n; i++)
        put(s[i], NULL);
    spin_unlock(&console_lock);
}

int kvprintf(const char *fmt, va_list ap)
{
    spin_lock(&console_lock);
    int n = fmt_vformat(put, NULL, fmt, ap);
    spin_unlock(&console_lock);
    return n;
}

int kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = kvprintf(fmt, ap);
    va_end(ap);
    return n;
}

void console_break_lock(void)
{
    spin_unlock(&console_lock);
}
