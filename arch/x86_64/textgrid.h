/*
 * The cursor rules the kernel's text screens share (vga.c, fbcon.c).
 */
#ifndef ARCH_X86_64_TEXTGRID_H
#define ARCH_X86_64_TEXTGRID_H

/* Moves the cursor (*row, *col) for the control character c ('\n', '\r',
 * '\b', '\t') and returns 1; returns 0 for any other character, which the
 * caller draws at the cursor before advancing the column. Wrapping past
 * the last column and scrolling past the last row are the caller's. */
static inline int textgrid_control(char c, int *row, int *col)
{
    switch (c) {
    case '\n':
        *col = 0;
        (*row)++;
        return 1;
    case '\r':
        *col = 0;
        return 1;
    case '\b':
        if (*col > 0)
            (*col)--;
        return 1;
    case '\t':
        *col = (*col + 8) & ~7;
        return 1;
    default:
        return 0;
    }
}
#endif
