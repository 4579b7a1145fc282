/*
 * 16550 UART on COM1, polled: the kernel's primary console. (The user-mode
 * interrupt-driven UART driver of a later issue takes over input; kernel
 * output stays polled so that panics always get out.)
 */
#include <arch/cpu.h>
#include "arch/x86_64/serial.h"

#define COM1 0x3F8

void serial_init(void)
{
    outb(COM1 + 1, 0x00); /* no interrupts */
    outb(COM1 + 3, 0x80); /* DLAB */
    outb(COM1 + 0, 0x01); /* 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03); /* 8N1 */
    outb(COM1 + 2, 0xC7); /* FIFO on, cleared, 14-byte threshold */
    outb(COM1 + 4, 0x03); /* DTR, RTS; OUT2 off: no IRQ to the PIC */
}

void serial_putc(char c)
{
    for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
        cpu_relax();
    outb(COM1, (uint8_t)c);
}
