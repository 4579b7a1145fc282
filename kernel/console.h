#ifndef KERNEL_CONSOLE_H
#define KERNEL_CONSOLE_H
#include <stdarg.h>
#include <stddef.h>

void console_init(void);
void console_write(const char *s, size_t n);
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kvprintf(const char *fmt, va_list ap);
/* panic path: drop the console lock so a CPU that died holding it does not
 * silence the panic message */
void console_break_lock(void);
#endif
