/* The framebuffer console (UEFI): which device pages make the kernel let go
 * of it. (That it draws the log is checked from outside, by the uefi
 * suite's screendumps; tools/ktest.py FbPeer.) */
#include "kernel/selftest.h"
#include "kernel/console.h"
#include "kernel/bootinfo.h"
#include <arch/console.h>
#include "arch/x86_64/fbcon.h"

SELFTEST(fbcon_release_rules)
{
    const struct console_fb *f = &boot_info.fb;
    if (!f->ok) {
        /* BIOS (VGA text) or a refused tag: no framebuffer console */
        ST_CHECK(!fbcon_active());
        ST_CHECK(!fbcon_covers(0xb8000));
        return;
    }
    uint64_t lo = f->addr & ~0xfffULL, end = f->addr + (uint64_t)f->pitch * f->height;
    uint64_t hi = (end + 0xfff) & ~0xfffULL;
    ST_CHECK(fbcon_active());
    ST_CHECK(fbcon_covers(lo) && fbcon_covers(f->addr) && fbcon_covers(hi - 4096));
    ST_CHECK(!fbcon_covers(lo - 4096) && !fbcon_covers(hi) && !fbcon_covers(0xb8000));
    /* a task mapping the VGA text page or a page beside the framebuffer
     * takes nothing from it */
    arch_console_device_mapped(0xb8000);
    arch_console_device_mapped(hi);
    arch_console_device_mapped(lo - 4096);
    ST_CHECK(fbcon_active());
}
