#ifndef ARCH_X86_64_VGA_H
#define ARCH_X86_64_VGA_H
void vga_init(void);
void vga_putc(char c);
/* the screen is a user-mode console's from now on: stop the mirror and
 * turn the hardware cursor off (the CRT controller stays the kernel's) */
void vga_release(void);
#endif
