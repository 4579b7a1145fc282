/*
 * Framebuffer text console: the kernel log drawn as 8x16 text on a linear
 * 32-bit RGB framebuffer (UEFI: GRUB's GOP mode), a mirror of the serial
 * log like the VGA text screen under BIOS. Called with the console lock held.
 */
#ifndef ARCH_X86_64_FBCON_H
#define ARCH_X86_64_FBCON_H
#include <stdint.h>
struct console_fb;
/* The font: one byte a glyph row (bit 7 leftmost), indexed by ASCII code;
 * generated at build time by tools/mkfont.py from a Debian PSF font. */
extern const uint8_t fbcon_font[128][16];
/* Map fb (checked by bootinfo_parse) uncached into the kernel's MMIO
 * window and clear it; from then on fbcon_putc draws. 0, or -1 if fb is
 * not ok. Once only, after paging_init. */
int fbcon_init(const struct console_fb *fb);
/* does the page at physical pa belong to the framebuffer? */
int fbcon_covers(uint64_t pa);
/* stop drawing for good (a user task mapped the framebuffer) */
void fbcon_release(void);
/* does the console draw (initialised and not released)? */
int fbcon_active(void);
void fbcon_putc(char c);
#endif
