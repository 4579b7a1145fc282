/* The kernel's output devices behind arch/console.h: COM1 and VGA text. */
#include <arch/console.h>
#include "arch/x86_64/serial.h"
#include "arch/x86_64/vga.h"

void arch_console_init(void)
{
    serial_init();
    vga_init();
}

void arch_console_device_mapped(uint64_t pa)
{
    if (pa >= 0xb8000 && pa < 0xc0000) /* the text screen */
        vga_release();
}

void arch_console_no_text_screen(void)
{
    vga_release();
}

void arch_console_putc(char c)
{
    if (c == '\n')
        serial_putc('\r');
    serial_putc(c);
    vga_putc(c);
}
