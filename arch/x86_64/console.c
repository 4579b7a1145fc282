/* The kernel's output devices behind arch/console.h: COM1 and VGA text. */
#include <arch/console.h>
#include "arch/x86_64/serial.h"
#include "arch/x86_64/vga.h"

void arch_console_init(void)
{
    serial_init();
    vga_init();
}

void arch_console_putc(char c)
{
    if (c == '\n')
        serial_putc('\r');
    serial_putc(c);
    vga_putc(c);
}
