/*
 * Port I/O for user-mode drivers: the ports must be named by one of the
 * task's I/O-port capabilities (docs/DRIVERS.md, section 2), else #GP.
 */
#ifndef USER_PORTIO_H
#define USER_PORTIO_H

static inline void outb(unsigned port, unsigned char v)
{
    __asm__ volatile("outb %%al, %%dx" ::"a"(v), "d"(port) : "memory");
}

static inline unsigned char inb(unsigned port)
{
    unsigned char v;
    __asm__ volatile("inb %%dx, %%al" : "=a"(v) : "d"(port) : "memory");
    return v;
}

#endif
