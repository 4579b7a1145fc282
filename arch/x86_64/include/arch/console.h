/*
 * The kernel's own output devices, polled: the first serial port (the log,
 * and the terminal of `make run`) and, as a mirror, the VGA text buffer
 * (BIOS) or a framebuffer text console (UEFI). Called by kernel/console.c
 * with its lock held.
 */
#ifndef ARCH_CONSOLE_H
#define ARCH_CONSOLE_H
#include <stdint.h>

/* A linear RGB framebuffer from the Multiboot2 framebuffer tag, checked
 * by bootinfo_parse (kernel/bootinfo.c): 32 bits a pixel, pitch >= 4 *
 * width (a multiple of 4), 8 <= width, 16 <= height (both <= 8192),
 * pitch * height <= 64 MiB, the whole range [addr, addr + pitch *
 * height) below 2^40 and no page of it in usable RAM; each colour field inside the pixel, 1..8 bits.
 * ok is 0 when there is none or the tag was refused (then the log goes to
 * the serial port only). */
struct console_fb {
    int ok;
    uint64_t addr;
    uint32_t pitch, width, height;
    uint8_t red_pos, red_size, green_pos, green_size, blue_pos, blue_size;
};

void arch_console_init(void);
/* one character to every kernel output device ('\n' ends a line) */
void arch_console_putc(char c);
/* A user task mapped the device page pa (iomem_map; BKL held). If it is
 * one of the kernel's output devices that a user-mode driver may take (the
 * VGA text screen, any page of the framebuffer console), the kernel stops
 * writing to it: the user-mode driver owns the screen from then on. The
 * serial log is never given up (its ports are the kernel's). */
void arch_console_device_mapped(uint64_t pa);
/* The boot loader left the display in a graphics mode (UEFI): there is no
 * text screen, the kernel writes its log to the serial port only. */
void arch_console_no_text_screen(void);
/* The boot loader's framebuffer (checked by bootinfo_parse, fb->ok): draw
 * the log on it as text from now on, as well as on the serial port, until
 * a user task maps one of its pages (arch_console_device_mapped). Called
 * once, after paging_init. 0, or -1 if there is no usable framebuffer. */
int arch_console_framebuffer(const struct console_fb *fb);
#endif
