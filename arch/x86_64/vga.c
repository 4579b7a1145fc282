/* VGA text-mode mirror of the console (80x25 at physical 0xB8000). */
#include <stdint.h>
#include "abi/airlock/layout.h"
#include <arch/cpu.h>
#include "arch/x86_64/vga.h"
#include "arch/x86_64/textgrid.h"

#define COLS 80
#define ROWS 25
#define ATTR 0x0700

static volatile uint16_t *const vga = (volatile uint16_t *)(AL_DIRECT_MAP + 0xB8000);
static int row, col;
/* a user-mode console owns the screen (vga_release): no more mirroring */
static volatile int released;

static void move_cursor(void)
{
    uint16_t pos = (uint16_t)(row * COLS + col);
    outb(0x3D4, 14);
    outb(0x3D5, (uint8_t)(pos >> 8));
    outb(0x3D4, 15);
    outb(0x3D5, (uint8_t)pos);
}

void vga_init(void)
{
    for (int i = 0; i < COLS * ROWS; i++)
        vga[i] = ATTR | ' ';
    row = col = 0;
    move_cursor();
}

static void scroll(void)
{
    for (int i = 0; i < COLS * (ROWS - 1); i++)
        vga[i] = vga[i + COLS];
    for (int i = COLS * (ROWS - 1); i < COLS * ROWS; i++)
        vga[i] = ATTR | ' ';
    row = ROWS - 1;
}

void vga_release(void)
{
    if (released)
        return;
    released = 1;
    outb(0x3D4, 0x0A); /* the hardware cursor off: the console draws its own */
    outb(0x3D5, 0x20);
}

void vga_putc(char c)
{
    if (released)
        return;
    if (!textgrid_control(c, &row, &col)) {
        vga[row * COLS + col] = (uint16_t)(ATTR | (uint8_t)c);
        col++;
    }
    if (col >= COLS) {
        col = 0;
        row++;
    }
    if (row >= ROWS)
        scroll();
    move_cursor();
}
