/*
 * The kernel's own output devices, polled: the first serial port (the log,
 * and the terminal of `make run`) and the VGA text buffer as a mirror.
 * Called by kernel/console.c with its lock held.
 */
#ifndef ARCH_CONSOLE_H
#define ARCH_CONSOLE_H
#include <stdint.h>
void arch_console_init(void);
/* one character to every kernel output device ('\n' ends a line) */
void arch_console_putc(char c);
/* A user task mapped the device page pa (iomem_map; BKL held). If it is
 * one of the kernel's output devices that a user-mode driver may take (the
 * VGA text screen), the kernel stops writing to it: the user-mode console
 * owns the screen from then on. The serial log is never given up (its
 * ports are the kernel's). */
void arch_console_device_mapped(uint64_t pa);
/* The boot loader left the display in a graphics mode (UEFI): there is no
 * text screen, the kernel writes its log to the serial port only. */
void arch_console_no_text_screen(void);
#endif
