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

static inline void outw(unsigned port, unsigned short v)
{
    __asm__ volatile("outw %%ax, %%dx" ::"a"(v), "d"(port) : "memory");
}

static inline unsigned short inw(unsigned port)
{
    unsigned short v;
    __asm__ volatile("inw %%dx, %%ax" : "=a"(v) : "d"(port) : "memory");
    return v;
}

static inline void outl(unsigned port, unsigned v)
{
    __asm__ volatile("outl %%eax, %%dx" ::"a"(v), "d"(port) : "memory");
}

static inline unsigned inl(unsigned port)
{
    unsigned v;
    __asm__ volatile("inl %%dx, %%eax" : "=a"(v) : "d"(port) : "memory");
    return v;
}

#endif
