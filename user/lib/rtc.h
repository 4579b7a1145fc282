/*
 * The CMOS RTC through ports 0x70-0x71, for the tests that use its
 * periodic interrupt (ISA IRQ 8) as an interrupt source they control
 * (a module needs the word ports=0x70:2).
 */
#ifndef USER_LIB_RTC_H
#define USER_LIB_RTC_H
#include "user/lib/portio.h"

static inline unsigned char cmos_read(unsigned char r)
{
    outb(0x70, r);
    return inb(0x71);
}

static inline void cmos_write(unsigned char r, unsigned char v)
{
    outb(0x70, r);
    outb(0x71, v);
}

/* registers A and B as they were before rtc_periodic_on */
struct rtc_saved {
    unsigned char a, b;
};

/* the periodic interrupt on, at 1024 Hz (register C read first, so the
 * line starts low) */
static inline struct rtc_saved rtc_periodic_on(void)
{
    struct rtc_saved s = {cmos_read(0x0a), cmos_read(0x0b)};
    cmos_write(0x0a, (unsigned char)((s.a & 0xf0) | 6));
    (void)cmos_read(0x0c);
    cmos_write(0x0b, (unsigned char)(s.b | 0x40));
    return s;
}

/* registers A and B back, and register C read (the line low again) */
static inline void rtc_restore(struct rtc_saved s)
{
    cmos_write(0x0b, s.b);
    cmos_write(0x0a, s.a);
    (void)cmos_read(0x0c);
}
#endif
