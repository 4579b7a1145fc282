/*
 * Boot information, normalised from whichever protocol booted us
 * (Multiboot1 from QEMU -kernel, Multiboot2 from GRUB). Everything the boot
 * loader handed over is copied here, bounds-checked, before the frame
 * allocator may reuse the memory it lived in.
 */
#ifndef KERNEL_BOOTINFO_H
#define KERNEL_BOOTINFO_H
#include <stdint.h>
#include "kernel/frame.h"
#include <arch/console.h>

#define BOOT_MAX_MEM     64
#define BOOT_MAX_MODS    32
#define BOOT_CMDLINE_MAX 256
#define BOOT_MODLINE_MAX 160

struct boot_module {
    uint64_t start, end; /* physical, [start, end) */
    char cmdline[BOOT_MODLINE_MAX];
};

struct boot_info {
    int protocol; /* 1 or 2 */
    char cmdline[BOOT_CMDLINE_MAX];
    unsigned nmem;
    struct mem_range mem[BOOT_MAX_MEM]; /* usable RAM only */
    unsigned nmods;
    struct boot_module mods[BOOT_MAX_MODS];
    unsigned mods_refused; /* modules dropped: malformed ranges, too many */
    int have_rsdp;         /* rsdp_copy holds the RSDP (Multiboot2 ACPI tag) */
    /* no VGA text screen to mirror the log to: booted through UEFI (a
     * Multiboot2 EFI system-table tag) unless a framebuffer tag says EGA
     * text, or a framebuffer tag of a graphics type */
    int graphics_fb;
    uint8_t rsdp_copy[36];
    struct console_fb fb; /* a usable linear framebuffer, if fb.ok */
};

extern struct boot_info boot_info;

/* Parse the boot loader's information. Returns 0, or -22 if the magic is
 * unknown or the structure is unusable (the kernel then panics: it cannot
 * know its memory). Malformed modules are refused individually. */
int bootinfo_parse(uint32_t magic, uint64_t info_phys, uint64_t image_start, uint64_t image_end);

/* Value of "key=value" on the kernel command line; NULL if absent.
 * bootinfo_flag: 1 if the bare word `key` (or key=1) is present. */
const char *bootinfo_arg(const char *key, char *buf, unsigned len);
int bootinfo_flag(const char *key);
#endif
