/* The kernel's output devices behind arch/console.h: COM1, VGA text (BIOS)
 * or the framebuffer console (UEFI). */
#include <arch/console.h>
#include "arch/x86_64/serial.h"
#include "arch/x86_64/vga.h"
#include "arch/x86_64/fbcon.h"

void arch_console_init(void)
{
    serial_init();
    vga_init();
}

void arch_console_device_mapped(uint64_t pa)
{
    if (pa >= 0xb8000 && pa < 0xc0000) /* the text screen */
        vga_release();
    if (fbcon_covers(pa)) /* the framebuffer: its user-mode driver owns it */
        fbcon_release();
}

int arch_console_framebuffer(const struct console_fb *fb)
{
    return fbcon_init(fb);
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
    fbcon_putc(c);
}
