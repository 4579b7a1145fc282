/*
 * The kernel's own output devices, polled: the first serial port (the log,
 * and the terminal of `make run`) and the VGA text buffer as a mirror.
 * Called by kernel/console.c with its lock held.
 */
#ifndef ARCH_CONSOLE_H
#define ARCH_CONSOLE_H
void arch_console_init(void);
/* one character to every kernel output device ('\n' ends a line) */
void arch_console_putc(char c);
#endif
