/*
 * Framebuffer text console (see fbcon.h). Light grey on black, cols =
 * width / 8, rows = height / 16, cells from the top left corner; a line
 * past the last row scrolls the text area up by one row. Only the pixels
 * of [addr, addr + pitch * height) are ever written, through a mapping of
 * exactly those pages.
 */
#include <stdint.h>
#include <arch/paging.h>
#include <arch/console.h>
#include "arch/x86_64/fbcon.h"
#include "arch/x86_64/textgrid.h"

static volatile uint8_t *fb;  /* NULL: no framebuffer console */
static uint64_t fb_lo, fb_hi; /* its pages, physical */
static uint32_t pitch, fg;
static int cols, rows; /* the text area, in cells */
static int row, col;   /* the cursor, in cells */
static volatile int released;

static uint32_t channel(uint8_t pos, uint8_t size, uint32_t v8)
{
    return (v8 >> (8 - size)) << pos;
}

int fbcon_init(const struct console_fb *f)
{
    if (!f->ok || fb)
        return -1;
    uint64_t bytes = (uint64_t)f->pitch * f->height;
    fb_lo = f->addr & ~0xfffULL;
    fb_hi = (f->addr + bytes + 0xfff) & ~0xfffULL;
    fb = paging_map_mmio(f->addr, bytes);
    pitch = f->pitch;
    cols = (int)(f->width / 8); /* (at most 8192 / 8: bootinfo.c) */
    rows = (int)(f->height / 16);
    fg = channel(f->red_pos, f->red_size, 0xaa) | channel(f->green_pos, f->green_size, 0xaa) |
         channel(f->blue_pos, f->blue_size, 0xaa);
    for (uint32_t y = 0; y < f->height; y++)
        for (uint32_t x = 0; x < f->width; x++)
            *(volatile uint32_t *)(fb + (uint64_t)y * pitch + 4ULL * x) = 0;
    row = col = 0;
    return 0;
}

int fbcon_covers(uint64_t pa)
{
    return fb && pa >= fb_lo && pa < fb_hi;
}

void fbcon_release(void)
{
    released = 1;
}

int fbcon_active(void)
{
    return fb && !released;
}

static void draw(uint32_t r, uint32_t c, unsigned char ch)
{
    const uint8_t *g = fbcon_font[ch < 128 ? ch : '?'];
    for (uint32_t y = 0; y < 16; y++) {
        volatile uint32_t *px = (volatile uint32_t *)(fb + (uint64_t)(r * 16 + y) * pitch + 32ULL * c);
        for (uint32_t x = 0; x < 8; x++)
            px[x] = (g[y] & (0x80 >> x)) ? fg : 0;
    }
}

static void scroll(void)
{
    uint64_t line = 32ULL * cols; /* bytes of the text area in a pixel line */
    for (int y = 0; y < (rows - 1) * 16; y++) {
        volatile uint64_t *d = (volatile uint64_t *)(fb + (uint64_t)y * pitch);
        volatile uint64_t *s = (volatile uint64_t *)(fb + (uint64_t)(y + 16) * pitch);
        for (uint64_t i = 0; i < line / 8; i++)
            d[i] = s[i];
    }
    for (int c = 0; c < cols; c++)
        draw((uint32_t)rows - 1, (uint32_t)c, ' ');
    row = rows - 1;
}

void fbcon_putc(char c)
{
    if (!fb || released)
        return;
    if (!textgrid_control(c, &row, &col)) {
        draw((uint32_t)row, (uint32_t)col, (unsigned char)c);
        col++;
    }
    if (col >= cols) {
        col = 0;
        row++;
    }
    if (row >= rows)
        scroll();
}
