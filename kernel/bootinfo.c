/*
 * Multiboot1 / Multiboot2 parsing. The boot loader's structures are read
 * through the direct map (the boot page tables map the first 4 GiB) and are
 * treated as untrusted: every count, size and pointer is bounded, and
 * modules whose range is empty, inverted, outside RAM or overlapping the
 * kernel image or another module are refused with a console message.
 */
#include "kernel/bootinfo.h"
#include "kernel/upcall.h"
#include "kernel/console.h"
#include "lib/string.h"
#include <arch/pagetable.h>

#define MB1_BOOT_MAGIC 0x2BADB002u
#define MB2_BOOT_MAGIC 0x36d76289u
#define LOW_LIMIT      0x100000000ULL /* what the boot tables map */
#define MB2_MAX_SIZE   0x10000u

struct boot_info boot_info;

static uint32_t rd32(uint64_t pa)
{
    uint32_t v;
    memcpy(&v, p2v(pa), 4);
    return v;
}
static uint8_t rd8(uint64_t pa)
{
    return *(const uint8_t *)p2v(pa);
}
static uint64_t rd64(uint64_t pa)
{
    uint64_t v;
    memcpy(&v, p2v(pa), 8);
    return v;
}

/* copy a NUL-terminated string of at most len-1 bytes from physical pa */
static void copy_str(char *dst, unsigned len, uint64_t pa, uint64_t limit)
{
    unsigned i = 0;
    if (pa)
        for (; i + 1 < len && pa + i < limit; i++) {
            char c = *(const char *)p2v(pa + i);
            if (!c)
                break;
            dst[i] = c;
        }
    dst[i] = 0;
}

static void add_mem(uint64_t base, uint64_t len)
{
    if (!len || base + len < base)
        return;
    if (boot_info.nmem == BOOT_MAX_MEM) {
        kprintf("boot: more than %d memory ranges, ignoring %#llx+%#llx\n", BOOT_MAX_MEM, (unsigned long long)base,
                (unsigned long long)len);
        return;
    }
    boot_info.mem[boot_info.nmem].base = base;
    boot_info.mem[boot_info.nmem].len = len;
    boot_info.nmem++;
}

static int in_ram(uint64_t s, uint64_t e)
{
    for (unsigned i = 0; i < boot_info.nmem; i++)
        if (s >= boot_info.mem[i].base && e <= boot_info.mem[i].base + boot_info.mem[i].len)
            return 1;
    return 0;
}

static uint64_t img_start, img_end;

/* Modules are added after the memory map is known. */
static void add_module(uint64_t s, uint64_t e, uint64_t str_pa, uint64_t str_limit)
{
    struct boot_module m;
    copy_str(m.cmdline, sizeof m.cmdline, str_pa, str_limit);
    m.start = s;
    m.end = e;
    const char *why = NULL;
    if (boot_info.nmods == BOOT_MAX_MODS)
        why = "too many modules";
    else if (e <= s)
        why = "empty or inverted range";
    else if (!in_ram(s, e))
        why = "not inside usable RAM";
    else if (s < img_end && e > img_start)
        why = "overlaps the kernel image";
    for (unsigned i = 0; !why && i < boot_info.nmods; i++)
        if (s < boot_info.mods[i].end && e > boot_info.mods[i].start)
            why = "overlaps another module";
    if (why) {
        kprintf("boot: module '%s' [%#llx-%#llx) refused: %s\n", m.cmdline, (unsigned long long)s,
                (unsigned long long)e, why);
        boot_info.mods_refused++;
        return;
    }
    boot_info.mods[boot_info.nmods++] = m;
}

static int parse_mb1(uint64_t info)
{
    uint32_t flags = rd32(info);
    if (flags & (1u << 2))
        copy_str(boot_info.cmdline, sizeof boot_info.cmdline, rd32(info + 16), LOW_LIMIT);
    if (flags & (1u << 6)) {
        uint64_t p = rd32(info + 48), end = p + rd32(info + 44);
        if (end > LOW_LIMIT)
            end = LOW_LIMIT;
        while (p + 24 <= end) {
            uint32_t size = rd32(p);
            if (size < 20)
                break;
            if (rd32(p + 20) == 1)
                add_mem(rd64(p + 4), rd64(p + 12));
            p += (uint64_t)size + 4;
        }
    } else if (flags & 1u) {
        add_mem(0, (uint64_t)rd32(info + 4) * 1024);
        add_mem(0x100000, (uint64_t)rd32(info + 8) * 1024);
    }
    if (!boot_info.nmem)
        return -22;
    if (flags & (1u << 3)) {
        uint32_t count = rd32(info + 20);
        uint64_t addr = rd32(info + 24);
        for (uint32_t i = 0; i < count && i < 256 && addr + 16 * (i + 1) <= LOW_LIMIT; i++) {
            uint64_t m = addr + 16 * i;
            add_module(rd32(m), rd32(m + 4), rd32(m + 8), LOW_LIMIT);
        }
        if (count > BOOT_MAX_MODS)
            kprintf("boot: %u modules given, at most %d are used\n", count, BOOT_MAX_MODS);
    }
    return 0;
}

#define FB_MAX_DIM    8192u
#define FB_MAX_BYTES  (64ULL << 20)
#define FB_ADDR_LIMIT (1ULL << 40)

/* a colour field of a 32-bit pixel: 1..8 bits, inside the pixel */
static int color_ok(uint8_t pos, uint8_t size)
{
    return size >= 1 && size <= 8 && pos < 32 && pos + size <= 32;
}

/* The Multiboot2 framebuffer tag at p (size bytes, type 1 = RGB): layout
 * addr u64 @8, pitch @16, width @20, height @24, bpp u8 @28, type @29,
 * colour info @32 (red pos, size, green pos, size, blue pos, size). Every
 * field is hostile: boot_info.fb is filled only if all of it holds (see
 * struct console_fb), else a console message says why. */
static void check_fb(uint64_t p, uint32_t size)
{
    struct console_fb f = {0};
    const char *why = NULL;
    if (size < 38) {
        why = "tag too short";
    } else {
        f.addr = rd64(p + 8);
        f.pitch = rd32(p + 16);
        f.width = rd32(p + 20);
        f.height = rd32(p + 24);
        uint8_t bpp = rd8(p + 28);
        f.red_pos = rd8(p + 32);
        f.red_size = rd8(p + 33);
        f.green_pos = rd8(p + 34);
        f.green_size = rd8(p + 35);
        f.blue_pos = rd8(p + 36);
        f.blue_size = rd8(p + 37);
        uint64_t bytes = (uint64_t)f.pitch * f.height;
        if (bpp != 32)
            why = "not 32 bits a pixel";
        else if (f.width < 8 || f.height < 16 || f.width > FB_MAX_DIM || f.height > FB_MAX_DIM)
            why = "size out of range";
        else if (f.pitch % 4 || f.pitch < 4ULL * f.width || bytes > FB_MAX_BYTES)
            why = "bad pitch";
        else if (!f.addr || f.addr % 4 || f.addr >= FB_ADDR_LIMIT || bytes > FB_ADDR_LIMIT - f.addr)
            why = "bad address";
        else if (!color_ok(f.red_pos, f.red_size) || !color_ok(f.green_pos, f.green_size) ||
                 !color_ok(f.blue_pos, f.blue_size))
            why = "bad colour fields";
        uint64_t lo = f.addr & ~0xfffULL, hi = (f.addr + bytes + 0xfff) & ~0xfffULL;
        for (unsigned i = 0; !why && i < boot_info.nmem; i++)
            if (lo < boot_info.mem[i].base + boot_info.mem[i].len && hi > boot_info.mem[i].base)
                why = "overlaps usable RAM";
    }
    if (why) {
        kprintf("boot: framebuffer refused: %s\n", why);
        return;
    }
    f.ok = 1;
    boot_info.fb = f;
}

static int parse_mb2(uint64_t info)
{
    uint32_t total = rd32(info);
    if (total < 16 || total > MB2_MAX_SIZE || info + total > LOW_LIMIT)
        return -22;
    uint64_t end = info + total;
    int fb_type = -1, efi = 0;
    uint64_t fb_tag = 0; /* the framebuffer tag, checked after the memory map */
    /* pass 1: memory map, command line, ACPI; pass 2: modules */
    for (int pass = 0; pass < 2; pass++) {
        for (uint64_t p = info + 8; p + 8 <= end;) {
            uint32_t type = rd32(p), size = rd32(p + 4);
            if (type == 0 || size < 8 || p + size > end)
                break;
            if (pass == 0 && type == 1) {
                copy_str(boot_info.cmdline, sizeof boot_info.cmdline, p + 8, p + size);
            } else if (pass == 0 && type == 6 && size >= 16) {
                uint32_t esz = rd32(p + 8);
                if (esz >= 24)
                    for (uint64_t e = p + 16; e + esz <= p + size; e += esz)
                        if (rd32(e + 16) == 1)
                            add_mem(rd64(e), rd64(e + 8));
            } else if (pass == 0 && (type == 14 || type == 15) && size >= 8 + 20 && !boot_info.have_rsdp) {
                uint32_t n = size - 8 < sizeof boot_info.rsdp_copy ? size - 8 : sizeof boot_info.rsdp_copy;
                memcpy(boot_info.rsdp_copy, p2v(p + 8), n);
                boot_info.have_rsdp = 1;
            } else if (pass == 0 && type == 8 && size >= 30) {
                /* framebuffer info: its type at offset 29 (0 indexed, 1
                 * RGB, 2 EGA text) */
                fb_type = rd8(p + 29);
                fb_tag = p;
            } else if (pass == 0 && (type == 11 || type == 12)) {
                efi = 1; /* an EFI system table: the firmware is UEFI */
            } else if (pass == 1 && type == 3 && size >= 17) {
                add_module(rd32(p + 8), rd32(p + 12), p + 16, p + size);
            }
            p += (size + 7) & ~7u;
        }
        if (pass == 0 && !boot_info.nmem)
            return -22;
    }
    boot_info.graphics_fb = fb_type >= 0 ? fb_type != 2 : efi;
    if (fb_tag && fb_type == 1)
        check_fb(fb_tag, rd32(fb_tag + 4));
    return 0;
}

int bootinfo_parse(uint32_t magic, uint64_t info_phys, uint64_t image_start, uint64_t image_end)
{
    memset(&boot_info, 0, sizeof boot_info);
    img_start = image_start;
    img_end = image_end;
    if (info_phys == 0 || info_phys > LOW_LIMIT - 4096)
        return -22;
    if (magic == MB1_BOOT_MAGIC) {
        boot_info.protocol = 1;
        return parse_mb1(info_phys);
    }
    if (magic == MB2_BOOT_MAGIC) {
        boot_info.protocol = 2;
        return parse_mb2(info_phys);
    }
    return -22;
}

/* the word of the kernel command line that is `key` (exact) or starts with
 * "key=" (with_value); *end gets the word's end. NULL if there is none. */
static const char *find_word(const char *key, int with_value, const char **end)
{
    size_t kl = strlen(key);
    const char *s = boot_info.cmdline;
    while (*s) {
        while (*s == ' ')
            s++;
        const char *w = s;
        while (*s && *s != ' ')
            s++;
        size_t n = (size_t)(s - w);
        if (strncmp(w, key, kl) || n < kl)
            continue;
        if (with_value ? (n > kl && w[kl] == '=') : n == kl) {
            *end = s;
            return w;
        }
    }
    return NULL;
}

const char *bootinfo_arg(const char *key, char *buf, unsigned len)
{
    if (!len)
        return NULL;
    const char *end, *w = find_word(key, 1, &end);
    if (!w)
        return NULL;
    unsigned n = 0;
    for (const char *v = w + strlen(key) + 1; v < end && n + 1 < len; v++)
        buf[n++] = *v;
    buf[n] = 0;
    return buf;
}

int bootinfo_flag(const char *key)
{
    const char *end;
    if (find_word(key, 0, &end))
        return 1;
    char v[8];
    return bootinfo_arg(key, v, sizeof v) && v[0] == '1' && v[1] == 0; /* exactly key=1 */
}

int bootinfo_rsdp(uint8_t out[36])
{
    if (!boot_info.have_rsdp)
        return 0;
    memcpy(out, boot_info.rsdp_copy, 36);
    return 1;
}
