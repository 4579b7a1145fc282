/*
 * tests/host/test_bootinfo.c - unit tests for kernel/bootinfo.c.
 *
 * "Physical memory" is an anonymous, lazily committed mapping of 4 GiB plus
 * a little (MAP_NORESERVE): with -DAIRLOCK_HOST_TEST, p2v(pa) is
 * pt_host_arena + pa, so the boot loader structures are built at physical
 * addresses inside it, and the 4 GiB limit of the boot direct map can be
 * exercised for real. Only the low 16 MiB and a window around 4 GiB are
 * ever touched (and cleared before each test).
 *
 * Strings that are not NUL-terminated are checked two ways: the bytes after
 * the structure are filled with a marker that must not show up in the
 * copy, and (for Multiboot2 module tags) the page after the tag is made
 * PROT_NONE so that any read past the tag faults.
 *
 * kprintf is provided here and logs into a buffer that tests search.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE under -std=c11 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "kernel/bootinfo.h"
#include "kernel/console.h"
#include <arch/pagetable.h>
#include "lib/string.h"

#define MB1_MAGIC 0x2BADB002u
#define MB2_MAGIC 0x36d76289u

#define GIB4       0x100000000ULL
#define LOW_SIZE   (16ULL << 20)
#define HIGH_WIN   0x10000ULL /* cleared window on either side of 4 GiB */
#define ARENA_SIZE (GIB4 + HIGH_WIN)
#define PAGE       0x1000ULL

/* the fake machine: RAM [0, 0x9f000) and [1 MiB, 16 MiB), kernel image at
 * [1 MiB, 2 MiB) */
#define RAM_LO_LEN 0x9f000ULL
#define RAM_HI     0x100000ULL
#define RAM_HI_LEN (LOW_SIZE - RAM_HI)
#define IMG_S      0x100000ULL
#define IMG_E      0x200000ULL

/* where the tests put things */
#define INFO     0x1000ULL /* MB1 info or MB2 fixed part */
#define MMAP     0x2000ULL /* MB1 memory map */
#define MODS     0x3000ULL /* MB1 module array */
#define STRS     0x8000ULL /* strings */
#define MOD_AREA 0x400000ULL

uint8_t *pt_host_arena;

/* ------------------------------------------------------------------ */
/* kprintf log                                                         */

static char logbuf[1 << 16];
static size_t loglen;

int kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(logbuf + loglen, sizeof logbuf - loglen, fmt, ap);
    va_end(ap);
    if (n > 0) {
        loglen += (size_t)n;
        if (loglen >= sizeof logbuf)
            loglen = sizeof logbuf - 1;
    }
    return n;
}

static int log_has(const char *s)
{
    return strstr(logbuf, s) != NULL;
}

static unsigned log_count(const char *s)
{
    unsigned n = 0;
    for (const char *p = logbuf; (p = strstr(p, s)) != NULL; p++)
        n++;
    return n;
}

/* ------------------------------------------------------------------ */
/* Arena and writers                                                   */

static void w8(uint64_t pa, uint8_t v)
{
    pt_host_arena[pa] = v;
}
static void w32(uint64_t pa, uint32_t v)
{
    memcpy(pt_host_arena + pa, &v, 4);
}
static void w64(uint64_t pa, uint64_t v)
{
    memcpy(pt_host_arena + pa, &v, 8);
}
static void wstr(uint64_t pa, const char *s)
{
    memcpy(pt_host_arena + pa, s, strlen(s) + 1);
}
static void fill(uint64_t pa, int c, size_t n)
{
    memset(pt_host_arena + pa, c, n);
}

static int group_setup(void **state)
{
    (void)state;
    void *p = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    pt_host_arena = p;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    munmap(pt_host_arena, ARENA_SIZE);
    pt_host_arena = NULL;
    return 0;
}

static int setup(void **state)
{
    (void)state;
    memset(pt_host_arena, 0, LOW_SIZE);
    memset(pt_host_arena + GIB4 - HIGH_WIN, 0, 2 * HIGH_WIN);
    memset(logbuf, 0, sizeof logbuf);
    loglen = 0;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Multiboot1 builders                                                 */

/* MB1 info offsets */
#define MB1_FLAGS     0
#define MB1_MEM_LOWER 4
#define MB1_MEM_UPPER 8
#define MB1_CMDLINE   16
#define MB1_MODS_CNT  20
#define MB1_MODS_ADDR 24
#define MB1_MMAP_LEN  44
#define MB1_MMAP_ADDR 48

#define F_MEM  (1u << 0)
#define F_CMD  (1u << 2)
#define F_MODS (1u << 3)
#define F_MMAP (1u << 6)

static uint64_t mb1_mmap_end; /* where the next entry goes */

static void mb1_info(uint32_t flags)
{
    w32(INFO + MB1_FLAGS, flags);
    w32(INFO + MB1_MMAP_ADDR, (uint32_t)MMAP);
    w32(INFO + MB1_MMAP_LEN, 0);
    mb1_mmap_end = MMAP;
}

/* one memory map entry with an explicit size field; updates mmap_length */
static void mb1_ent_sized(uint32_t size, uint64_t base, uint64_t len, uint32_t type)
{
    uint64_t p = mb1_mmap_end;
    w32(p, size);
    w64(p + 4, base);
    w64(p + 12, len);
    w32(p + 20, type);
    mb1_mmap_end = p + size + 4;
    w32(INFO + MB1_MMAP_LEN, (uint32_t)(mb1_mmap_end - MMAP));
}

static void mb1_ent(uint64_t base, uint64_t len, uint32_t type)
{
    mb1_ent_sized(20, base, len, type);
}

/* the standard fake machine: low RAM, a reserved hole, high RAM */
static void mb1_std_mmap(void)
{
    mb1_ent(0, RAM_LO_LEN, 1);
    mb1_ent(RAM_LO_LEN, RAM_HI - RAM_LO_LEN, 2);
    mb1_ent(RAM_HI, RAM_HI_LEN, 1);
}

static void mb1_mod(unsigned i, uint32_t s, uint32_t e, uint32_t str)
{
    uint64_t m = MODS + 16ULL * i;
    w32(m, s);
    w32(m + 4, e);
    w32(m + 8, str);
    w32(m + 12, 0);
}

static void mb1_mods(uint32_t count)
{
    w32(INFO + MB1_MODS_CNT, count);
    w32(INFO + MB1_MODS_ADDR, (uint32_t)MODS);
}

static int parse1(void)
{
    return bootinfo_parse(MB1_MAGIC, INFO, IMG_S, IMG_E);
}

/* ------------------------------------------------------------------ */
/* Multiboot2 builders                                                 */

static uint64_t mb2_base, mb2_cur;

static void mb2_begin(uint64_t pa)
{
    mb2_base = pa;
    mb2_cur = pa + 8;
    w32(pa + 4, 0);
}

/* reserve a tag of `size` bytes; returns its address and advances to the
 * next 8-byte boundary */
static uint64_t mb2_tag(uint32_t type, uint32_t size)
{
    uint64_t p = mb2_cur;
    w32(p, type);
    w32(p + 4, size);
    mb2_cur = p + ((size + 7u) & ~7u);
    return p;
}

static void mb2_cmdline(const char *s)
{
    uint64_t p = mb2_tag(1, (uint32_t)(8 + strlen(s) + 1));
    wstr(p + 8, s);
}

static void mb2_module(uint32_t s, uint32_t e, const char *str)
{
    uint64_t p = mb2_tag(3, (uint32_t)(16 + strlen(str) + 1));
    w32(p + 8, s);
    w32(p + 12, e);
    wstr(p + 16, str);
}

struct e820 {
    uint64_t base, len;
    uint32_t type;
};

static void mb2_mmap_esz(const struct e820 *e, unsigned n, uint32_t esz)
{
    uint64_t p = mb2_tag(6, 16 + n * esz);
    w32(p + 8, esz);
    w32(p + 12, 0);
    for (unsigned i = 0; i < n; i++) {
        uint64_t q = p + 16 + (uint64_t)i * esz;
        w64(q, e[i].base);
        w64(q + 8, e[i].len);
        w32(q + 16, e[i].type);
        w32(q + 20, 0);
    }
}

static const struct e820 std_map[] = {
    {0, RAM_LO_LEN, 1},
    {RAM_LO_LEN, RAM_HI - RAM_LO_LEN, 2},
    {RAM_HI, RAM_HI_LEN, 1},
};

static void mb2_std_mmap(void)
{
    mb2_mmap_esz(std_map, 3, 24);
}

/* end tag and total_size */
static void mb2_finish(void)
{
    mb2_tag(0, 8);
    w32(mb2_base, (uint32_t)(mb2_cur - mb2_base));
}

/* total_size without an end tag */
static void mb2_finish_noend(void)
{
    w32(mb2_base, (uint32_t)(mb2_cur - mb2_base));
}

static int parse2(void)
{
    return bootinfo_parse(MB2_MAGIC, mb2_base, IMG_S, IMG_E);
}

static void assert_std_ranges(void)
{
    assert_int_equal(boot_info.nmem, 2);
    assert_int_equal(boot_info.mem[0].base, 0);
    assert_int_equal(boot_info.mem[0].len, RAM_LO_LEN);
    assert_int_equal(boot_info.mem[1].base, RAM_HI);
    assert_int_equal(boot_info.mem[1].len, RAM_HI_LEN);
}

/* ------------------------------------------------------------------ */
/* Common checks                                                       */

static void test_unknown_magic(void **state)
{
    (void)state;
    mb1_info(F_MMAP);
    mb1_std_mmap();
    assert_int_equal(bootinfo_parse(0x1BADB002u, INFO, IMG_S, IMG_E), -22);
    assert_int_equal(bootinfo_parse(0, INFO, IMG_S, IMG_E), -22);
    assert_int_equal(bootinfo_parse(0xe85250d6u, INFO, IMG_S, IMG_E), -22); /* MB2 header magic */
    assert_int_equal(boot_info.protocol, 0);
    assert_int_equal(boot_info.nmem, 0);
}

static void test_bad_info_address(void **state)
{
    (void)state;
    /* a valid structure at INFO, so only the address can be the reason */
    mb1_info(F_MMAP);
    mb1_std_mmap();
    assert_int_equal(bootinfo_parse(MB1_MAGIC, 0, IMG_S, IMG_E), -22);
    assert_int_equal(bootinfo_parse(MB2_MAGIC, 0, IMG_S, IMG_E), -22);
    const uint64_t bad[] = {GIB4 - PAGE + 1, GIB4 - 8, GIB4 - 1, GIB4, GIB4 + PAGE, ~0ULL};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(bootinfo_parse(MB1_MAGIC, bad[i], IMG_S, IMG_E), -22);
        assert_int_equal(bootinfo_parse(MB2_MAGIC, bad[i], IMG_S, IMG_E), -22);
        if (bad[i] <= ARENA_SIZE - 64) {
            /* valid MB1 data there (the arena extends past 4 GiB): still
             * refused because of where it is */
            w32(bad[i] + MB1_FLAGS, F_MEM);
            w32(bad[i] + MB1_MEM_LOWER, 640);
            w32(bad[i] + MB1_MEM_UPPER, 1024);
            assert_int_equal(bootinfo_parse(MB1_MAGIC, bad[i], IMG_S, IMG_E), -22);
            assert_int_equal(boot_info.nmem, 0);
            fill(bad[i], 0, 64);
        }
    }
    assert_int_equal(parse1(), 0);
}

/* info exactly one page below 4 GiB is still accepted (and read in place) */
static void test_info_last_page(void **state)
{
    (void)state;
    const uint64_t info = GIB4 - PAGE;
    w32(info + MB1_FLAGS, F_MEM);
    w32(info + MB1_MEM_LOWER, 640);
    w32(info + MB1_MEM_UPPER, 1024);
    assert_int_equal(bootinfo_parse(MB1_MAGIC, info, IMG_S, IMG_E), 0);
    assert_int_equal(boot_info.nmem, 2);
    assert_int_equal(boot_info.mem[1].len, 1024 * 1024);
}

/* each parse starts from scratch */
/* UEFI: an EFI system-table tag means no text screen, unless a framebuffer
 * tag says EGA text; a graphics framebuffer tag means none either; BIOS
 * (no such tag) keeps the text screen */
static void test_mb2_text_screen(void **state)
{
    (void)state;
    mb2_begin(INFO);
    mb2_std_mmap();
    mb2_finish();
    assert_int_equal(parse2(), 0);
    assert_int_equal(boot_info.graphics_fb, 0);

    mb2_begin(INFO);
    mb2_std_mmap();
    w32(mb2_tag(12, 16) + 8, 0x7f000000u); /* EFI 64-bit system table */
    mb2_finish();
    assert_int_equal(parse2(), 0);
    assert_int_equal(boot_info.graphics_fb, 1);

    for (int t = 0; t <= 2; t++) {
        mb2_begin(INFO);
        mb2_std_mmap();
        mb2_tag(12, 16);
        uint64_t fb = mb2_tag(8, 32);
        w8(fb + 29, (uint8_t)t); /* framebuffer type: indexed, RGB, EGA text */
        mb2_finish();
        assert_int_equal(parse2(), 0);
        assert_int_equal(boot_info.graphics_fb, t != 2);
    }
}

/* a Multiboot2 RGB framebuffer tag (38 bytes): 1024x768, 32 bpp, pitch
 * 4096, at addr, BGRX colour fields */
static uint64_t mb2_fb_tag(uint64_t addr)
{
    uint64_t fb = mb2_tag(8, 38);
    w64(fb + 8, addr);
    w32(fb + 16, 4096);
    w32(fb + 20, 1024);
    w32(fb + 24, 768);
    w8(fb + 28, 32);
    w8(fb + 29, 1);
    const uint8_t colour[6] = {16, 8, 8, 8, 0, 8};
    for (int i = 0; i < 6; i++)
        w8(fb + 32 + i, colour[i]);
    return fb;
}

/* the framebuffer console's tag: a sane one is taken as is; every hostile
 * field (depth, sizes, pitch, address, overlap with RAM, colour fields, a
 * short tag) leaves boot_info.fb.ok 0 */
static void test_mb2_framebuffer(void **state)
{
    (void)state;
    const uint64_t addr = 0xc0000000u;
    mb2_begin(INFO);
    mb2_std_mmap();
    mb2_fb_tag(addr);
    mb2_finish();
    assert_int_equal(parse2(), 0);
    assert_int_equal(boot_info.graphics_fb, 1);
    assert_int_equal(boot_info.fb.ok, 1);
    assert_true(boot_info.fb.addr == addr);
    assert_int_equal(boot_info.fb.pitch, 4096);
    assert_int_equal(boot_info.fb.width, 1024);
    assert_int_equal(boot_info.fb.height, 768);
    assert_int_equal(boot_info.fb.red_pos, 16);
    assert_int_equal(boot_info.fb.blue_size, 8);

    struct {
        unsigned off, width; /* field to spoil: offset in the tag, 1/4/8 bytes */
        uint64_t v;
    } bad[] = {
        {28, 1, 24},                 /* 24 bits a pixel */
        {28, 1, 16},                 /* 16 */
        {29, 1, 0},                  /* indexed colour */
        {20, 4, 4},                  /* narrower than a glyph */
        {24, 4, 8},                  /* lower than a glyph */
        {20, 4, 0x10000},            /* huge width */
        {24, 4, 0xffffffffu},        /* huge height */
        {16, 4, 1024 * 4 - 4},       /* pitch shorter than a pixel line */
        {16, 4, 4098},               /* pitch not a multiple of 4 */
        {16, 4, 0x100000},           /* pitch * height over 64 MiB */
        {8, 8, 0},                   /* no address */
        {8, 8, 0xc0000002u},         /* misaligned */
        {8, 8, 0xffffffffffff0000u}, /* wraps */
        {8, 8, 1ULL << 40},          /* beyond the limit */
        {8, 8, 0x200000},            /* over usable RAM */
        {8, 8, RAM_LO_LEN - 0x1000}, /* its first page overlaps RAM */
        {33, 1, 0},                  /* an empty colour field */
        {32, 1, 30},                 /* red past the pixel */
        {35, 1, 9},                  /* green wider than 8 bits */
        {36, 1, 200},                /* blue way past */
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mb2_begin(INFO);
        mb2_std_mmap();
        uint64_t fb = mb2_fb_tag(addr);
        if (bad[i].width == 1)
            w8(fb + bad[i].off, (uint8_t)bad[i].v);
        else if (bad[i].width == 4)
            w32(fb + bad[i].off, (uint32_t)bad[i].v);
        else
            w64(fb + bad[i].off, bad[i].v);
        mb2_finish();
        assert_int_equal(parse2(), 0);
        if (boot_info.fb.ok)
            fail_msg("hostile framebuffer tag %u accepted", i);
    }
    /* a tag too short for the colour fields */
    mb2_begin(INFO);
    mb2_std_mmap();
    uint64_t fb = mb2_fb_tag(addr);
    w32(fb + 4, 32);
    mb2_finish();
    assert_int_equal(parse2(), 0);
    assert_int_equal(boot_info.fb.ok, 0);
    assert_int_equal(boot_info.graphics_fb, 1);
}

static void test_parse_resets_state(void **state)
{
    (void)state;
    mb2_begin(INFO);
    mb2_cmdline("first");
    mb2_std_mmap();
    mb2_module(MOD_AREA, MOD_AREA + PAGE, "m");
    mb2_finish();
    assert_int_equal(parse2(), 0);
    assert_int_equal(boot_info.nmods, 1);

    setup(NULL);
    mb1_info(F_MMAP);
    mb1_ent(RAM_HI, RAM_HI_LEN, 1);
    assert_int_equal(parse1(), 0);
    assert_int_equal(boot_info.protocol, 1);
    assert_int_equal(boot_info.nmem, 1);
    assert_int_equal(boot_info.nmods, 0);
    assert_string_equal(boot_info.cmdline, "");
    assert_int_equal(boot_info.have_rsdp, 0);
}

/* ------------------------------------------------------------------ */
/* Multiboot1                                                          */

static void test_mb1_valid(void **state)
{
    (void)state;
    mb1_info(F_MMAP | F_CMD | F_MODS);
    mb1_std_mmap();
    wstr(STRS, "ktest=modules foo");
    w32(INFO + MB1_CMDLINE, (uint32_t)STRS);
    wstr(STRS + 0x100, "/boot/root.elf arg1");
    wstr(STRS + 0x200, "second");
    mb1_mod(0, MOD_AREA, MOD_AREA + 0x1234, (uint32_t)(STRS + 0x100));
    mb1_mod(1, MOD_AREA + 0x2000, MOD_AREA + 0x3000, (uint32_t)(STRS + 0x200));
    mb1_mods(2);

    assert_int_equal(parse1(), 0);
    assert_int_equal(boot_info.protocol, 1);
    assert_std_ranges();
    assert_string_equal(boot_info.cmdline, "ktest=modules foo");
    assert_int_equal(boot_info.nmods, 2);
    assert_int_equal(boot_info.mods_refused, 0);
    assert_int_equal(boot_info.mods[0].start, MOD_AREA);
    assert_int_equal(boot_info.mods[0].end, MOD_AREA + 0x1234);
    assert_string_equal(boot_info.mods[0].cmdline, "/boot/root.elf arg1");
    assert_int_equal(boot_info.mods[1].start, MOD_AREA + 0x2000);
    assert_int_equal(boot_info.mods[1].end, MOD_AREA + 0x3000);
    assert_string_equal(boot_info.mods[1].cmdline, "second");
    assert_int_equal(boot_info.have_rsdp, 0);
    assert_false(log_has("refused"));
}

/* flags bits clear: the corresponding fields are garbage and ignored */
static void test_mb1_flags_gate_fields(void **state)
{
    (void)state;
    mb1_info(F_MMAP);
    mb1_std_mmap();
    wstr(STRS, "should not appear");
    w32(INFO + MB1_CMDLINE, (uint32_t)STRS);
    mb1_mod(0, MOD_AREA, MOD_AREA + PAGE, 0);
    mb1_mods(1);
    assert_int_equal(parse1(), 0);
    assert_string_equal(boot_info.cmdline, "");
    assert_int_equal(boot_info.nmods, 0);
    assert_int_equal(boot_info.mods_refused, 0);
}

static void test_mb1_meminfo_fallback(void **state)
{
    (void)state;
    mb1_info(F_MEM);
    w32(INFO + MB1_MEM_LOWER, 639);
    w32(INFO + MB1_MEM_UPPER, 15 * 1024);
    assert_int_equal(parse1(), 0);
    assert_int_equal(boot_info.nmem, 2);
    assert_int_equal(boot_info.mem[0].base, 0);
    assert_int_equal(boot_info.mem[0].len, 639 * 1024);
    assert_int_equal(boot_info.mem[1].base, 0x100000);
    assert_int_equal(boot_info.mem[1].len, 15ULL << 20);
}

/* zero mem_lower: only the upper range */
static void test_mb1_meminfo_zero_lower(void **state)
{
    (void)state;
    mb1_info(F_MEM);
    w32(INFO + MB1_MEM_LOWER, 0);
    w32(INFO + MB1_MEM_UPPER, 0xffffffffu); /* maximum: no overflow in * 1024 */
    assert_int_equal(parse1(), 0);
    assert_int_equal(boot_info.nmem, 1);
    assert_int_equal(boot_info.mem[0].base, 0x100000);
    assert_int_equal(boot_info.mem[0].len, 0xffffffffULL * 1024);
}

/* with a memory map, mem_lower/mem_upper are not used */
static void test_mb1_mmap_preferred(void **state)
{
    (void)state;
    mb1_info(F_MMAP | F_MEM);
    w32(INFO + MB1_MEM_LOWER, 639);
    w32(INFO + MB1_MEM_UPPER, 1024);
    mb1_std_mmap();
    assert_int_equal(parse1(), 0);
    assert_std_ranges();
}

static void test_mb1_no_usable_memory(void **state)
{
    (void)state;
    /* no memory information at all */
    mb1_info(F_CMD);
    wstr(STRS, "x");
    w32(INFO + MB1_CMDLINE, (uint32_t)STRS);
    assert_int_equal(parse1(), -22);

    /* a map with only reserved / ACPI / bad entries; mem fields present but
     * not used since the map is there */
    setup(NULL);
    mb1_info(F_MMAP | F_MEM);
    w32(INFO + MB1_MEM_LOWER, 639);
    w32(INFO + MB1_MEM_UPPER, 1024);
    mb1_ent(0, RAM_LO_LEN, 2);
    mb1_ent(RAM_HI, RAM_HI_LEN, 3);
    mb1_ent(LOW_SIZE, 0x100000, 5);
    assert_int_equal(parse1(), -22);

    /* usable entries of length 0, or wrapping around 2^64 */
    setup(NULL);
    mb1_info(F_MMAP);
    mb1_ent(RAM_HI, 0, 1);
    mb1_ent(~0ULL - 0xfff, 0x2000, 1);
    assert_int_equal(parse1(), -22);

    /* an empty map */
    setup(NULL);
    mb1_info(F_MMAP);
    assert_int_equal(parse1(), -22);

    /* mem_lower = mem_upper = 0 */
    setup(NULL);
    mb1_info(F_MEM);
    assert_int_equal(parse1(), -22);
}

static void test_mb1_mmap_skips_bad_entries(void **state)
{
    (void)state;
    mb1_info(F_MMAP);
    mb1_ent(RAM_HI, 0, 1);             /* empty */
    mb1_ent(~0ULL - 0xfff, 0x2000, 1); /* wraps */
    mb1_ent(RAM_HI, RAM_HI_LEN, 1);
    assert_int_equal(parse1(), 0);
    assert_int_equal(boot_info.nmem, 1);
    assert_int_equal(boot_info.mem[0].base, RAM_HI);
    assert_int_equal(boot_info.mem[0].len, RAM_HI_LEN);
}

/* next entry = entry + size + 4, also for sizes larger than 20 */
static void test_mb1_mmap_entry_size_honoured(void **state)
{
    (void)state;
    mb1_info(F_MMAP);
    mb1_ent_sized(28, 0, RAM_LO_LEN, 1);
    /* the 8 extra bytes: where a parser assuming 24-byte entries would
     * find a size field */
    fill(MMAP + 24, 0xff, 8);
    mb1_ent_sized(20, RAM_HI, RAM_HI_LEN, 1);
    assert_int_equal(mb1_mmap_end, MMAP + 32 + 24);
    assert_int_equal(parse1(), 0);
    assert_std_ranges();
}

static void test_mb1_mmap_short_entry_stops(void **state)
{
    (void)state;
    mb1_info(F_MMAP);
    mb1_ent(0, RAM_LO_LEN, 1);
    mb1_ent_sized(16, 0x200000, 0x100000, 1); /* too short: walk stops */
    mb1_ent(RAM_HI, RAM_HI_LEN, 1);
    assert_int_equal(parse1(), 0);
    assert_int_equal(boot_info.nmem, 1);
    assert_int_equal(boot_info.mem[0].base, 0);

    /* size 0 first: nothing at all, no endless loop */
    setup(NULL);
    mb1_info(F_MMAP);
    mb1_ent_sized(0, RAM_HI, RAM_HI_LEN, 1);
    w32(INFO + MB1_MMAP_LEN, 0x100);
    assert_int_equal(parse1(), -22);
}

/* mmap_length bounds the walk, and an entry must fit entirely */
static void test_mb1_mmap_length_bounds(void **state)
{
    (void)state;
    mb1_info(F_MMAP);
    mb1_std_mmap();
    w32(INFO + MB1_MMAP_LEN, 24);
    assert_int_equal(parse1(), 0);
    assert_int_equal(boot_info.nmem, 1);
    assert_int_equal(boot_info.mem[0].base, 0);

    /* the third entry is cut by one byte */
    w32(INFO + MB1_MMAP_LEN, 3 * 24 - 1);
    assert_int_equal(parse1(), 0);
    assert_int_equal(boot_info.nmem, 1);
}

/* a map running up to 4 GiB is cut there, not read past it */
static void test_mb1_mmap_at_4g(void **state)
{
    (void)state;
    mb1_info(F_MMAP);
    const uint64_t mm = GIB4 - 2 * 24;
    w32(INFO + MB1_MMAP_ADDR, (uint32_t)mm);
    w32(INFO + MB1_MMAP_LEN, 0xffffffffu);
    for (int i = 0; i < 3; i++) { /* the third one lies past 4 GiB */
        uint64_t p = mm + 24ULL * i;
        w32(p, 20);
        w64(p + 4, RAM_HI + 0x100000ULL * i);
        w64(p + 12, 0x1000);
        w32(p + 20, 1);
    }
    assert_int_equal(parse1(), 0);
    assert_int_equal(boot_info.nmem, 2);
    assert_int_equal(boot_info.mem[1].base, RAM_HI + 0x100000);
}

static void test_mb1_mmap_too_many_ranges(void **state)
{
    (void)state;
    mb1_info(F_MMAP);
    for (unsigned i = 0; i < BOOT_MAX_MEM + 6; i++) {
        mb1_ent(RAM_HI + 0x10000ULL * i, 0x8000, 1);
        mb1_ent(RAM_HI + 0x10000ULL * i + 0x8000, 0x8000, 2); /* reserved ones do not count */
    }
    assert_int_equal(parse1(), 0);
    assert_int_equal(boot_info.nmem, BOOT_MAX_MEM);
    for (unsigned i = 0; i < BOOT_MAX_MEM; i++) {
        assert_int_equal(boot_info.mem[i].base, RAM_HI + 0x10000ULL * i);
        assert_int_equal(boot_info.mem[i].len, 0x8000);
    }
    assert_int_equal(log_count("more than 64 memory ranges"), 6);
}

static void test_mb1_cmdline_truncated(void **state)
{
    (void)state;
    char want[BOOT_CMDLINE_MAX];
    mb1_info(F_MMAP | F_CMD);
    mb1_std_mmap();
    for (unsigned i = 0; i < 400; i++)
        w8(STRS + i, (uint8_t)('a' + i % 26));
    w8(STRS + 400, 0);
    w32(INFO + MB1_CMDLINE, (uint32_t)STRS);
    assert_int_equal(parse1(), 0);
    for (unsigned i = 0; i < BOOT_CMDLINE_MAX - 1; i++)
        want[i] = (char)('a' + i % 26);
    want[BOOT_CMDLINE_MAX - 1] = 0;
    assert_int_equal(strlen(boot_info.cmdline), BOOT_CMDLINE_MAX - 1);
    assert_string_equal(boot_info.cmdline, want);

    /* exactly BOOT_CMDLINE_MAX - 1 characters fit unchanged */
    w8(STRS + BOOT_CMDLINE_MAX - 1, 0);
    assert_int_equal(parse1(), 0);
    assert_string_equal(boot_info.cmdline, want);
}

/* a command line that is not terminated before 4 GiB stops there */
static void test_mb1_cmdline_at_4g(void **state)
{
    (void)state;
    mb1_info(F_MMAP | F_CMD);
    mb1_std_mmap();
    fill(GIB4 - 10, 'c', 10);
    fill(GIB4, 'Z', 64); /* beyond what the boot tables map */
    w32(INFO + MB1_CMDLINE, (uint32_t)(GIB4 - 10));
    assert_int_equal(parse1(), 0);
    assert_string_equal(boot_info.cmdline, "cccccccccc");
}

static void test_mb1_cmdline_null_pointer(void **state)
{
    (void)state;
    mb1_info(F_MMAP | F_CMD);
    mb1_std_mmap();
    wstr(0, "at address zero");
    w32(INFO + MB1_CMDLINE, 0);
    assert_int_equal(parse1(), 0);
    assert_string_equal(boot_info.cmdline, "");
}

static void test_mb1_module_overlaps_kernel(void **state)
{
    (void)state;
    /* one RAM range around the image, so only the image overlap matters */
    mb1_info(F_MMAP | F_MODS);
    mb1_ent(0, LOW_SIZE, 1);
    wstr(STRS, "evil");
    wstr(STRS + 0x40, "tail");
    wstr(STRS + 0x80, "head");
    wstr(STRS + 0xc0, "ok-below");
    wstr(STRS + 0x100, "ok-above");
    mb1_mod(0, IMG_S + 0x1000, IMG_S + 0x2000, (uint32_t)STRS);
    mb1_mod(1, IMG_E - 1, IMG_E + 0x1000, (uint32_t)(STRS + 0x40));
    mb1_mod(2, IMG_S - 0x1000, IMG_S + 1, (uint32_t)(STRS + 0x80));
    mb1_mod(3, IMG_S - 0x1000, IMG_S, (uint32_t)(STRS + 0xc0));
    mb1_mod(4, IMG_E, IMG_E + 0x1000, (uint32_t)(STRS + 0x100));
    mb1_mods(5);

    assert_int_equal(parse1(), 0);
    assert_int_equal(boot_info.mods_refused, 3);
    assert_int_equal(boot_info.nmods, 2);
    assert_string_equal(boot_info.mods[0].cmdline, "ok-below");
    assert_string_equal(boot_info.mods[1].cmdline, "ok-above");
    assert_true(log_has("module 'evil'"));
    assert_true(log_has("module 'tail'"));
    assert_true(log_has("module 'head'"));
    assert_int_equal(log_count("refused: overlaps the kernel image"), 3);
    assert_int_equal(log_count("refused"), 3);
}

static void test_mb1_module_empty_inverted(void **state)
{
    (void)state;
    mb1_info(F_MMAP | F_MODS);
    mb1_std_mmap();
    wstr(STRS, "empty");
    wstr(STRS + 0x40, "inverted");
    mb1_mod(0, MOD_AREA, MOD_AREA, (uint32_t)STRS);
    mb1_mod(1, MOD_AREA + 0x2000, MOD_AREA + 0x1000, (uint32_t)(STRS + 0x40));
    mb1_mod(2, 0, 0, 0);
    mb1_mods(3);
    assert_int_equal(parse1(), 0);
    assert_int_equal(boot_info.nmods, 0);
    assert_int_equal(boot_info.mods_refused, 3);
    assert_true(log_has("'empty'"));
    assert_true(log_has("'inverted'"));
    assert_int_equal(log_count("refused: empty or inverted range"), 3);
}

static void test_mb1_module_outside_ram(void **state)
{
    (void)state;
    mb1_info(F_MMAP | F_MODS);
    mb1_std_mmap();
    mb1_mod(0, (uint32_t)LOW_SIZE, (uint32_t)LOW_SIZE + 0x1000, 0);          /* above RAM */
    mb1_mod(1, (uint32_t)LOW_SIZE - 0x1000, (uint32_t)LOW_SIZE + 1, 0);      /* one byte over */
    mb1_mod(2, (uint32_t)RAM_LO_LEN, (uint32_t)RAM_LO_LEN + 0x1000, 0);      /* reserved hole */
    mb1_mod(3, (uint32_t)RAM_LO_LEN - 0x1000, (uint32_t)RAM_HI + 0x1000, 0); /* across the hole */
    mb1_mod(4, (uint32_t)LOW_SIZE - 0x1000, (uint32_t)LOW_SIZE, 0);          /* last page: ok */
    mb1_mods(5);
    assert_int_equal(parse1(), 0);
    assert_int_equal(boot_info.mods_refused, 4);
    assert_int_equal(boot_info.nmods, 1);
    assert_int_equal(boot_info.mods[0].start, LOW_SIZE - 0x1000);
    assert_int_equal(boot_info.mods[0].end, LOW_SIZE);
    assert_int_equal(log_count("refused: not inside usable RAM"), 4);
}

static void test_mb1_modules_overlap_each_other(void **state)
{
    (void)state;
    mb1_info(F_MMAP | F_MODS);
    mb1_std_mmap();
    wstr(STRS, "first");
    wstr(STRS + 0x40, "second");
    wstr(STRS + 0x80, "third");
    wstr(STRS + 0xc0, "fourth");
    mb1_mod(0, MOD_AREA, MOD_AREA + 0x2000, (uint32_t)STRS);
    mb1_mod(1, MOD_AREA + 0x1fff, MOD_AREA + 0x3000, (uint32_t)(STRS + 0x40)); /* one byte */
    mb1_mod(2, MOD_AREA + 0x2000, MOD_AREA + 0x3000, (uint32_t)(STRS + 0x80)); /* adjacent: ok */
    mb1_mod(3, MOD_AREA - 0x1000, MOD_AREA + 0x4000, (uint32_t)(STRS + 0xc0)); /* covers both */
    mb1_mods(4);
    assert_int_equal(parse1(), 0);
    assert_int_equal(boot_info.nmods, 2);
    assert_int_equal(boot_info.mods_refused, 2);
    assert_string_equal(boot_info.mods[0].cmdline, "first");
    assert_string_equal(boot_info.mods[1].cmdline, "third");
    assert_true(log_has("module 'second'"));
    assert_true(log_has("module 'fourth'"));
    assert_int_equal(log_count("refused: overlaps another module"), 2);
}

static void test_mb1_too_many_modules(void **state)
{
    (void)state;
    mb1_info(F_MMAP | F_MODS);
    mb1_std_mmap();
    for (unsigned i = 0; i < 40; i++) {
        char s[16];
        snprintf(s, sizeof s, "mod%u", i);
        wstr(STRS + 16ULL * i, s);
        mb1_mod(i, (uint32_t)(MOD_AREA + PAGE * i), (uint32_t)(MOD_AREA + PAGE * (i + 1)), (uint32_t)(STRS + 16 * i));
    }
    mb1_mods(40);
    assert_int_equal(parse1(), 0);
    assert_int_equal(boot_info.nmods, BOOT_MAX_MODS);
    assert_int_equal(boot_info.mods_refused, 40 - BOOT_MAX_MODS);
    for (unsigned i = 0; i < BOOT_MAX_MODS; i++) {
        char s[16];
        snprintf(s, sizeof s, "mod%u", i);
        assert_string_equal(boot_info.mods[i].cmdline, s);
        assert_int_equal(boot_info.mods[i].start, MOD_AREA + PAGE * i);
    }
    assert_int_equal(log_count("refused: too many modules"), 40 - BOOT_MAX_MODS);
    assert_true(log_has("40 modules given, at most 32 are used"));
}

/* a huge count is bounded (the walk does not go on for 2^32 entries) */
static void test_mb1_huge_module_count(void **state)
{
    (void)state;
    mb1_info(F_MMAP | F_MODS);
    mb1_std_mmap();
    mb1_mods(0xffffffffu); /* all-zero entries: empty ranges */
    assert_int_equal(parse1(), 0);
    assert_int_equal(boot_info.nmods, 0);
    assert_int_equal(boot_info.mods_refused, 256); /* at most 256 entries examined */
}

/* the module array is not read past 4 GiB */
static void test_mb1_module_array_at_4g(void **state)
{
    (void)state;
    mb1_info(F_MMAP | F_MODS);
    mb1_std_mmap();
    const uint64_t arr = GIB4 - 2 * 16;
    for (unsigned i = 0; i < 3; i++) { /* the third lies past 4 GiB */
        w32(arr + 16 * i, (uint32_t)(MOD_AREA + PAGE * i));
        w32(arr + 16 * i + 4, (uint32_t)(MOD_AREA + PAGE * (i + 1)));
    }
    w32(INFO + MB1_MODS_CNT, 3);
    w32(INFO + MB1_MODS_ADDR, (uint32_t)arr);
    assert_int_equal(parse1(), 0);
    assert_int_equal(boot_info.nmods, 2);
    assert_int_equal(boot_info.mods_refused, 0);
    assert_int_equal(boot_info.mods[1].start, MOD_AREA + PAGE);
}

static void test_mb1_module_cmdline_truncated(void **state)
{
    (void)state;
    mb1_info(F_MMAP | F_MODS);
    mb1_std_mmap();
    fill(STRS, 'm', 1000);
    w8(STRS + 1000, 0);
    mb1_mod(0, MOD_AREA, MOD_AREA + PAGE, (uint32_t)STRS);
    mb1_mods(1);
    assert_int_equal(parse1(), 0);
    assert_int_equal(boot_info.nmods, 1);
    assert_int_equal(strlen(boot_info.mods[0].cmdline), BOOT_MODLINE_MAX - 1);
    for (unsigned i = 0; i < BOOT_MODLINE_MAX - 1; i++)
        assert_int_equal(boot_info.mods[0].cmdline[i], 'm');
}

/* modules need a memory map: without usable RAM the parse fails before */
static void test_mb1_modules_without_memory(void **state)
{
    (void)state;
    mb1_info(F_MODS);
    mb1_mod(0, MOD_AREA, MOD_AREA + PAGE, 0);
    mb1_mods(1);
    assert_int_equal(parse1(), -22);
    assert_int_equal(boot_info.nmods, 0);
}

/* ------------------------------------------------------------------ */
/* Multiboot2                                                          */

static void test_mb2_valid(void **state)
{
    (void)state;
    static const uint8_t rsdp[20] = {'R', 'S', 'D', ' ', 'P', 'T', 'R',  ' ',  0x42, 'B',
                                     'O', 'C', 'H', 'S', ' ', 0,   0x00, 0x10, 0x0e, 0x00};
    mb2_begin(INFO);
    mb2_cmdline("ktest=modules foo bar=1");
    mb2_module(MOD_AREA, MOD_AREA + 0x1234, "/boot/root.elf x y");
    mb2_std_mmap();
    uint64_t t = mb2_tag(14, 8 + 20);
    memcpy(pt_host_arena + t + 8, rsdp, 20);
    mb2_module(MOD_AREA + 0x2000, MOD_AREA + 0x3000, "");
    mb2_finish();

    assert_int_equal(parse2(), 0);
    assert_int_equal(boot_info.protocol, 2);
    assert_std_ranges();
    assert_string_equal(boot_info.cmdline, "ktest=modules foo bar=1");
    assert_int_equal(boot_info.nmods, 2);
    assert_int_equal(boot_info.mods_refused, 0);
    assert_int_equal(boot_info.mods[0].start, MOD_AREA);
    assert_int_equal(boot_info.mods[0].end, MOD_AREA + 0x1234);
    assert_string_equal(boot_info.mods[0].cmdline, "/boot/root.elf x y");
    assert_int_equal(boot_info.mods[1].start, MOD_AREA + 0x2000);
    assert_int_equal(boot_info.mods[1].end, MOD_AREA + 0x3000);
    assert_string_equal(boot_info.mods[1].cmdline, "");
    assert_int_equal(boot_info.have_rsdp, 1);
    assert_memory_equal(boot_info.rsdp_copy, rsdp, 20);
    for (unsigned i = 20; i < sizeof boot_info.rsdp_copy; i++)
        assert_int_equal(boot_info.rsdp_copy[i], 0);
    assert_false(log_has("refused"));
}

static void test_mb2_xsdp(void **state)
{
    (void)state;
    uint8_t x[36], x2[36];
    for (unsigned i = 0; i < 36; i++) {
        x[i] = (uint8_t)(0x80 + i);
        x2[i] = (uint8_t)(0x10 + i);
    }
    mb2_begin(INFO);
    mb2_std_mmap();
    uint64_t t = mb2_tag(15, 8 + 36 + 4); /* larger tag: only 36 bytes copied */
    memcpy(pt_host_arena + t + 8, x, 36);
    fill(t + 8 + 36, 0xee, 4);
    t = mb2_tag(14, 8 + 36); /* a second ACPI tag: the first one wins */
    memcpy(pt_host_arena + t + 8, x2, 36);
    mb2_finish();
    assert_int_equal(parse2(), 0);
    assert_int_equal(boot_info.have_rsdp, 1);
    assert_memory_equal(boot_info.rsdp_copy, x, 36);
}

static void test_mb2_rsdp_too_short(void **state)
{
    (void)state;
    mb2_begin(INFO);
    mb2_std_mmap();
    uint64_t t = mb2_tag(14, 8 + 19);
    fill(t + 8, 0x55, 19);
    mb2_finish();
    assert_int_equal(parse2(), 0);
    assert_int_equal(boot_info.have_rsdp, 0);
    for (unsigned i = 0; i < sizeof boot_info.rsdp_copy; i++)
        assert_int_equal(boot_info.rsdp_copy[i], 0);
}

static void test_mb2_total_size_bounds(void **state)
{
    (void)state;
    /* a structure with usable memory, so only total_size decides */
    mb2_begin(INFO);
    mb2_std_mmap();
    mb2_finish();
    const uint32_t bad[] = {0, 8, 15, 0x10001, 0x100000, 0xffffffffu};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        w32(INFO, bad[i]);
        assert_int_equal(parse2(), -22);
    }
    /* the largest allowed size, with the end tag early */
    w32(INFO, 0x10000);
    assert_int_equal(parse2(), 0);
    assert_std_ranges();

    /* 16 bytes: only the end tag, hence no memory */
    setup(NULL);
    mb2_begin(INFO);
    mb2_finish();
    assert_int_equal(*(uint32_t *)(pt_host_arena + INFO), 16);
    assert_int_equal(parse2(), -22);
}

/* the structure must end below 4 GiB */
static void test_mb2_past_4g(void **state)
{
    (void)state;
    mb2_begin(GIB4 - PAGE);
    mb2_std_mmap();
    mb2_finish();
    assert_int_equal(parse2(), 0);
    assert_std_ranges();
    /* one page plus one byte */
    w32(mb2_base, (uint32_t)PAGE + 1);
    assert_int_equal(parse2(), -22);
}

/* the end tag stops the walk even if total_size says there is more */
static void test_mb2_end_tag_stops(void **state)
{
    (void)state;
    mb2_begin(INFO);
    mb2_std_mmap();
    mb2_tag(0, 8);
    mb2_cmdline("after the end");
    mb2_module(MOD_AREA, MOD_AREA + PAGE, "after");
    mb2_finish_noend();
    assert_int_equal(parse2(), 0);
    assert_string_equal(boot_info.cmdline, "");
    assert_int_equal(boot_info.nmods, 0);
    assert_int_equal(boot_info.mods_refused, 0);
}

/* no end tag: the walk ends at total_size */
static void test_mb2_no_end_tag(void **state)
{
    (void)state;
    mb2_begin(INFO);
    mb2_std_mmap();
    mb2_cmdline("c");
    mb2_finish_noend();
    fill(mb2_cur, 0xff, 64); /* garbage just after total_size */
    assert_int_equal(parse2(), 0);
    assert_string_equal(boot_info.cmdline, "c");
}

static void test_mb2_tag_past_total_stops(void **state)
{
    (void)state;
    mb2_begin(INFO);
    mb2_std_mmap();
    mb2_cmdline("kept");
    uint64_t t = mb2_tag(3, 16 + 2);
    w32(t + 8, MOD_AREA);
    w32(t + 12, MOD_AREA + PAGE);
    wstr(t + 16, "m");
    mb2_finish_noend();
    /* total_size ends one byte before the module tag does */
    w32(INFO, (uint32_t)(t + 16 + 2 - 1 - INFO));
    assert_int_equal(parse2(), 0);
    assert_string_equal(boot_info.cmdline, "kept");
    assert_int_equal(boot_info.nmods, 0);
    assert_int_equal(boot_info.mods_refused, 0);

    /* a cmdline tag that overruns: not copied, and later tags not seen */
    setup(NULL);
    mb2_begin(INFO);
    mb2_std_mmap();
    t = mb2_tag(1, 0x100);
    wstr(t + 8, "overrun");
    mb2_module(MOD_AREA, MOD_AREA + PAGE, "m");
    mb2_finish();
    w32(t + 4, (uint32_t)(mb2_cur - t + 8)); /* past total */
    assert_int_equal(parse2(), 0);
    assert_string_equal(boot_info.cmdline, "");
    assert_int_equal(boot_info.nmods, 0);

    /* a memory map tag that overruns: no memory */
    setup(NULL);
    mb2_begin(INFO);
    t = mb2_tag(6, 16 + 24);
    w32(t + 8, 24);
    w64(t + 16, RAM_HI);
    w64(t + 24, RAM_HI_LEN);
    w32(t + 32, 1);
    mb2_finish();
    w32(t + 4, 0x8000);
    assert_int_equal(parse2(), -22);
    assert_int_equal(boot_info.nmem, 0);
}

static void test_mb2_tag_size_too_small_stops(void **state)
{
    (void)state;
    static const uint32_t sizes[] = {0, 1, 4, 7};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        setup(NULL);
        mb2_begin(INFO);
        uint64_t t = mb2_tag(1, 8); /* rewritten below */
        mb2_std_mmap();
        mb2_finish();
        w32(t + 4, sizes[i]);
        assert_int_equal(parse2(), -22);
        assert_int_equal(boot_info.nmem, 0);
    }
    /* after the memory map: memory kept, the module after it not seen */
    setup(NULL);
    mb2_begin(INFO);
    mb2_std_mmap();
    uint64_t t = mb2_tag(1, 8);
    mb2_module(MOD_AREA, MOD_AREA + PAGE, "m");
    mb2_finish();
    w32(t + 4, 4);
    assert_int_equal(parse2(), 0);
    assert_std_ranges();
    assert_int_equal(boot_info.nmods, 0);
}

/* tags are 8-byte aligned; unknown tags are skipped */
static void test_mb2_alignment_and_unknown_tags(void **state)
{
    (void)state;
    mb2_begin(INFO);
    uint64_t t = mb2_tag(21, 8 + 4); /* image load base, odd size */
    w32(t + 8, 0xdeadbeef);
    t = mb2_tag(2, 8 + 3); /* boot loader name "ab" */
    wstr(t + 8, "ab");
    mb2_cmdline("x"); /* size 10 */
    mb2_std_mmap();
    mb2_module(MOD_AREA, MOD_AREA + PAGE, "abc"); /* size 20 */
    t = mb2_tag(0x7fff, 8);                       /* unknown */
    mb2_finish();
    assert_int_equal(parse2(), 0);
    assert_string_equal(boot_info.cmdline, "x");
    assert_std_ranges();
    assert_int_equal(boot_info.nmods, 1);
    assert_string_equal(boot_info.mods[0].cmdline, "abc");
}

/* modules are taken after the whole memory map is known */
static void test_mb2_module_before_mmap(void **state)
{
    (void)state;
    mb2_begin(INFO);
    mb2_module(MOD_AREA, MOD_AREA + PAGE, "early");
    mb2_module(IMG_S, IMG_E, "kernel");
    mb2_std_mmap();
    mb2_finish();
    assert_int_equal(parse2(), 0);
    assert_int_equal(boot_info.nmods, 1);
    assert_string_equal(boot_info.mods[0].cmdline, "early");
    assert_int_equal(boot_info.mods_refused, 1);
    assert_true(log_has("module 'kernel'"));
    assert_true(log_has("refused: overlaps the kernel image"));
}

static void test_mb2_module_refusals(void **state)
{
    (void)state;
    mb2_begin(INFO);
    mb2_std_mmap();
    mb2_module(MOD_AREA, MOD_AREA + 0x2000, "good");
    mb2_module(MOD_AREA + 0x1000, MOD_AREA + 0x3000, "overlap");
    mb2_module(MOD_AREA + 0x5000, MOD_AREA + 0x5000, "empty");
    mb2_module(MOD_AREA + 0x6000, MOD_AREA + 0x5000, "inverted");
    mb2_module((uint32_t)LOW_SIZE, (uint32_t)LOW_SIZE + PAGE, "outside");
    mb2_module(IMG_S + PAGE, IMG_S + 2 * PAGE, "kernel");
    mb2_finish();
    assert_int_equal(parse2(), 0);
    assert_int_equal(boot_info.nmods, 1);
    assert_string_equal(boot_info.mods[0].cmdline, "good");
    assert_int_equal(boot_info.mods_refused, 5);
    assert_int_equal(log_count("refused"), 5);
    assert_true(log_has("'overlap' [0x401000-0x403000) refused: overlaps another module"));
    assert_true(log_has("'empty' [0x405000-0x405000) refused: empty or inverted range"));
    assert_true(log_has("'inverted' [0x406000-0x405000) refused: empty or inverted range"));
    assert_true(log_has("'outside' [0x1000000-0x1001000) refused: not inside usable RAM"));
    assert_true(log_has("'kernel' [0x101000-0x102000) refused: overlaps the kernel image"));
}

static void test_mb2_too_many_modules(void **state)
{
    (void)state;
    mb2_begin(INFO);
    mb2_std_mmap();
    for (unsigned i = 0; i < 40; i++) {
        char s[16];
        snprintf(s, sizeof s, "m%u", i);
        mb2_module((uint32_t)(MOD_AREA + PAGE * i), (uint32_t)(MOD_AREA + PAGE * (i + 1)), s);
    }
    mb2_finish();
    assert_int_equal(parse2(), 0);
    assert_int_equal(boot_info.nmods, BOOT_MAX_MODS);
    assert_int_equal(boot_info.mods_refused, 40 - BOOT_MAX_MODS);
    assert_string_equal(boot_info.mods[BOOT_MAX_MODS - 1].cmdline, "m31");
    assert_int_equal(boot_info.mods[BOOT_MAX_MODS - 1].start, MOD_AREA + PAGE * 31);
    assert_int_equal(log_count("refused: too many modules"), 40 - BOOT_MAX_MODS);
}

/* module tags smaller than 17 bytes (no room for a string) are skipped */
static void test_mb2_module_tag_too_small(void **state)
{
    (void)state;
    mb2_begin(INFO);
    mb2_std_mmap();
    uint64_t t = mb2_tag(3, 16);
    w32(t + 8, MOD_AREA);
    w32(t + 12, MOD_AREA + PAGE);
    mb2_module(MOD_AREA + PAGE, MOD_AREA + 2 * PAGE, "next");
    mb2_finish();
    assert_int_equal(parse2(), 0);
    assert_int_equal(boot_info.nmods, 1);
    assert_string_equal(boot_info.mods[0].cmdline, "next");
    assert_int_equal(boot_info.mods_refused, 0);
}

/*
 * A module tag whose string has no terminator and fills the tag up to the
 * very end of a page. The string is bounded by the tag: with the rest of
 * the structure after it filled with 'Z', no 'Z' may be copied; with the
 * next page PROT_NONE, any read past the tag faults.
 */
static void mb2_unterminated_module(unsigned strlen_, int guard)
{
    const uint64_t page_end = 0x10000;
    const uint32_t size = 16 + strlen_;
    uint64_t t = page_end - size;
    mb2_begin(t - 8 - (16 + 3 * 24)); /* fixed part + mmap right before */
    mb2_std_mmap();
    assert_int_equal(mb2_cur, t);
    t = mb2_tag(3, size);
    w32(t + 8, MOD_AREA);
    w32(t + 12, MOD_AREA + PAGE);
    fill(t + 16, 'A', strlen_);
    w32(mb2_base, (uint32_t)(page_end - mb2_base)); /* the tag ends the structure */
    if (guard)
        assert_int_equal(mprotect(pt_host_arena + page_end, PAGE, PROT_NONE), 0);
    else
        fill(page_end, 'Z', PAGE);
    int r = parse2();
    if (guard)
        assert_int_equal(mprotect(pt_host_arena + page_end, PAGE, PROT_READ | PROT_WRITE), 0);
    assert_int_equal(r, 0);
    assert_int_equal(boot_info.nmods, 1);
    unsigned want = strlen_ < BOOT_MODLINE_MAX - 1 ? strlen_ : BOOT_MODLINE_MAX - 1;
    assert_int_equal(strlen(boot_info.mods[0].cmdline), want);
    for (unsigned i = 0; i < want; i++)
        assert_int_equal(boot_info.mods[0].cmdline[i], 'A');
    assert_null(strchr(boot_info.mods[0].cmdline, 'Z'));
}

static void test_mb2_module_cmdline_unterminated(void **state)
{
    (void)state;
    static const unsigned lens[] = {
        1, 7, 100, BOOT_MODLINE_MAX - 2, BOOT_MODLINE_MAX - 1, BOOT_MODLINE_MAX, BOOT_MODLINE_MAX + 1, 300};
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++)
        for (int guard = 0; guard < 2; guard++) {
            setup(NULL);
            mb2_unterminated_module(lens[i], guard);
        }
}

static void test_mb2_module_cmdline_truncated(void **state)
{
    (void)state;
    char s[400];
    memset(s, 'q', sizeof s - 1);
    s[sizeof s - 1] = 0;
    mb2_begin(INFO);
    mb2_std_mmap();
    mb2_module(MOD_AREA, MOD_AREA + PAGE, s);
    mb2_finish();
    assert_int_equal(parse2(), 0);
    assert_int_equal(boot_info.nmods, 1);
    assert_int_equal(strlen(boot_info.mods[0].cmdline), BOOT_MODLINE_MAX - 1);
    assert_memory_equal(boot_info.mods[0].cmdline, s, BOOT_MODLINE_MAX - 1);
}

static void test_mb2_cmdline_truncated_and_bounded(void **state)
{
    (void)state;
    char s[600];
    for (unsigned i = 0; i < sizeof s - 1; i++)
        s[i] = (char)('A' + i % 26);
    s[sizeof s - 1] = 0;
    mb2_begin(INFO);
    mb2_std_mmap();
    mb2_cmdline(s);
    mb2_finish();
    assert_int_equal(parse2(), 0);
    assert_int_equal(strlen(boot_info.cmdline), BOOT_CMDLINE_MAX - 1);
    assert_memory_equal(boot_info.cmdline, s, BOOT_CMDLINE_MAX - 1);

    /* unterminated inside its tag: stops at the tag's end */
    setup(NULL);
    mb2_begin(INFO);
    mb2_std_mmap();
    uint64_t t = mb2_tag(1, 8 + 5);
    memcpy(pt_host_arena + t + 8, "hello", 5);
    fill(t + 13, 'Z', 3); /* padding up to the next tag */
    mb2_finish();
    assert_int_equal(parse2(), 0);
    assert_string_equal(boot_info.cmdline, "hello");
}

static void test_mb2_mmap_entry_size(void **state)
{
    (void)state;
    /* larger entries are stepped over by entry_size */
    mb2_begin(INFO);
    mb2_mmap_esz(std_map, 3, 40);
    mb2_finish();
    assert_int_equal(parse2(), 0);
    assert_std_ranges();

    /* entry_size < 24 is unusable: the map is ignored */
    static const uint32_t bad[] = {0, 8, 20, 23};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        setup(NULL);
        mb2_begin(INFO);
        mb2_mmap_esz(std_map, 3, 24);
        mb2_finish();
        w32(INFO + 8 + 8, bad[i]);
        assert_int_equal(parse2(), -22);
    }

    /* a tag too short for the map header */
    setup(NULL);
    mb2_begin(INFO);
    uint64_t t = mb2_tag(6, 12);
    w32(t + 8, 24);
    mb2_finish();
    assert_int_equal(parse2(), -22);

    /* the last entry cut by the tag size is not used */
    setup(NULL);
    mb2_begin(INFO);
    mb2_mmap_esz(std_map, 3, 24);
    mb2_finish();
    w32(INFO + 8 + 4, 16 + 3 * 24 - 1);
    assert_int_equal(parse2(), 0);
    assert_int_equal(boot_info.nmem, 1);
    assert_int_equal(boot_info.mem[0].base, 0);
}

static void test_mb2_mmap_too_many_ranges(void **state)
{
    (void)state;
    struct e820 e[BOOT_MAX_MEM + 10];
    for (unsigned i = 0; i < BOOT_MAX_MEM + 10; i++) {
        e[i].base = RAM_HI + 0x10000ULL * i;
        e[i].len = 0x10000;
        e[i].type = 1;
    }
    mb2_begin(INFO);
    mb2_mmap_esz(e, BOOT_MAX_MEM + 10, 24);
    mb2_finish();
    assert_int_equal(parse2(), 0);
    assert_int_equal(boot_info.nmem, BOOT_MAX_MEM);
    for (unsigned i = 0; i < BOOT_MAX_MEM; i++) {
        assert_int_equal(boot_info.mem[i].base, e[i].base);
        assert_int_equal(boot_info.mem[i].len, e[i].len);
    }
    assert_int_equal(log_count("more than 64 memory ranges"), 10);
}

static void test_mb2_no_usable_memory(void **state)
{
    (void)state;
    static const struct e820 res[] = {{0, RAM_LO_LEN, 2}, {RAM_HI, RAM_HI_LEN, 3}, {RAM_HI, 0, 1}};
    mb2_begin(INFO);
    mb2_cmdline("c");
    mb2_mmap_esz(res, 3, 24);
    mb2_module(MOD_AREA, MOD_AREA + PAGE, "m");
    mb2_finish();
    assert_int_equal(parse2(), -22);
    assert_int_equal(boot_info.nmods, 0);

    /* no memory map tag at all */
    setup(NULL);
    mb2_begin(INFO);
    mb2_cmdline("c");
    mb2_finish();
    assert_int_equal(parse2(), -22);
}

/* ------------------------------------------------------------------ */
/* Command line                                                        */

static void set_cmdline(const char *s)
{
    setup(NULL);
    mb2_begin(INFO);
    mb2_cmdline(s);
    mb2_std_mmap();
    mb2_finish();
    assert_int_equal(parse2(), 0);
    assert_string_equal(boot_info.cmdline, s);
}

static void test_cmdline_arg_flag(void **state)
{
    (void)state;
    char buf[32];
    set_cmdline("ktest=modules foo bar=1 ktestx");

    memset(buf, 'X', sizeof buf);
    assert_ptr_equal(bootinfo_arg("ktest", buf, sizeof buf), buf);
    assert_string_equal(buf, "modules");
    assert_int_equal(bootinfo_flag("ktest"), 0);
    assert_int_equal(bootinfo_flag("foo"), 1);
    assert_int_equal(bootinfo_flag("bar"), 1);
    assert_int_equal(bootinfo_flag("ktestx"), 1);
    assert_int_equal(bootinfo_flag("kt"), 0);
    assert_int_equal(bootinfo_flag("fo"), 0);
    assert_int_equal(bootinfo_flag("foobar"), 0);
    assert_int_equal(bootinfo_flag("missing"), 0);
    assert_null(bootinfo_arg("missing", buf, sizeof buf));
    assert_null(bootinfo_arg("foo", buf, sizeof buf)); /* bare word has no value */
    assert_null(bootinfo_arg("kt", buf, sizeof buf));
    assert_null(bootinfo_arg("ktestx", buf, sizeof buf));
    assert_null(bootinfo_arg("test", buf, sizeof buf)); /* not a word start */
    assert_ptr_equal(bootinfo_arg("bar", buf, sizeof buf), buf);
    assert_string_equal(buf, "1");
}

static void test_cmdline_arg_truncation(void **state)
{
    (void)state;
    char buf[16];
    set_cmdline("ktest=modules");
    memset(buf, 'X', sizeof buf);
    assert_ptr_equal(bootinfo_arg("ktest", buf, 4), buf);
    assert_string_equal(buf, "mod");
    assert_int_equal(buf[4], 'X'); /* nothing written past len */

    memset(buf, 'X', sizeof buf);
    assert_ptr_equal(bootinfo_arg("ktest", buf, 1), buf);
    assert_string_equal(buf, "");
    assert_int_equal(buf[1], 'X');

    memset(buf, 'X', sizeof buf);
    assert_ptr_equal(bootinfo_arg("ktest", buf, 8), buf); /* exactly fits */
    assert_string_equal(buf, "modules");
    assert_int_equal(buf[8], 'X');
}

static void test_cmdline_spacing_and_edges(void **state)
{
    (void)state;
    char buf[32];
    set_cmdline("  a=1   b   c=  d=x=y e=0 ");
    assert_int_equal(bootinfo_flag("a"), 1);
    assert_int_equal(bootinfo_flag("b"), 1);
    assert_int_equal(bootinfo_flag("e"), 0);
    assert_int_equal(bootinfo_flag("c"), 0);
    assert_ptr_equal(bootinfo_arg("c", buf, sizeof buf), buf); /* present, empty value */
    assert_string_equal(buf, "");
    assert_ptr_equal(bootinfo_arg("d", buf, sizeof buf), buf);
    assert_string_equal(buf, "x=y"); /* value up to the word's end */
    assert_ptr_equal(bootinfo_arg("b", buf, sizeof buf), NULL);
    assert_ptr_equal(bootinfo_arg("a", buf, sizeof buf), buf);
    assert_string_equal(buf, "1");

    /* the first occurrence wins */
    set_cmdline("k=first k=second");
    assert_ptr_equal(bootinfo_arg("k", buf, sizeof buf), buf);
    assert_string_equal(buf, "first");

    /* empty command line */
    set_cmdline("");
    assert_null(bootinfo_arg("ktest", buf, sizeof buf));
    assert_int_equal(bootinfo_flag("ktest"), 0);

    /* a value word as the very last thing, without trailing space */
    set_cmdline("x panictest=abc");
    assert_ptr_equal(bootinfo_arg("panictest", buf, sizeof buf), buf);
    assert_string_equal(buf, "abc");
    assert_int_equal(bootinfo_flag("x"), 1);
}

/*
 * Regression: bootinfo_flag once compared only the first character of the
 * value, so "bar=10" or "bar=1x" counted as the flag being set.
 */
static void test_cmdline_flag_value_exactly_1(void **state)
{
    (void)state;
    set_cmdline("bar=10 baz=1x qux=1");
    assert_int_equal(bootinfo_flag("qux"), 1);
    assert_int_equal(bootinfo_flag("bar"), 0);
    assert_int_equal(bootinfo_flag("baz"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_unknown_magic, setup),
        cmocka_unit_test_setup(test_bad_info_address, setup),
        cmocka_unit_test_setup(test_info_last_page, setup),
        cmocka_unit_test_setup(test_parse_resets_state, setup),
        cmocka_unit_test_setup(test_mb2_text_screen, setup),
        cmocka_unit_test_setup(test_mb1_valid, setup),
        cmocka_unit_test_setup(test_mb1_flags_gate_fields, setup),
        cmocka_unit_test_setup(test_mb1_meminfo_fallback, setup),
        cmocka_unit_test_setup(test_mb1_meminfo_zero_lower, setup),
        cmocka_unit_test_setup(test_mb1_mmap_preferred, setup),
        cmocka_unit_test_setup(test_mb1_no_usable_memory, setup),
        cmocka_unit_test_setup(test_mb1_mmap_skips_bad_entries, setup),
        cmocka_unit_test_setup(test_mb1_mmap_entry_size_honoured, setup),
        cmocka_unit_test_setup(test_mb1_mmap_short_entry_stops, setup),
        cmocka_unit_test_setup(test_mb1_mmap_length_bounds, setup),
        cmocka_unit_test_setup(test_mb1_mmap_at_4g, setup),
        cmocka_unit_test_setup(test_mb1_mmap_too_many_ranges, setup),
        cmocka_unit_test_setup(test_mb1_cmdline_truncated, setup),
        cmocka_unit_test_setup(test_mb1_cmdline_at_4g, setup),
        cmocka_unit_test_setup(test_mb1_cmdline_null_pointer, setup),
        cmocka_unit_test_setup(test_mb1_module_overlaps_kernel, setup),
        cmocka_unit_test_setup(test_mb1_module_empty_inverted, setup),
        cmocka_unit_test_setup(test_mb1_module_outside_ram, setup),
        cmocka_unit_test_setup(test_mb1_modules_overlap_each_other, setup),
        cmocka_unit_test_setup(test_mb1_too_many_modules, setup),
        cmocka_unit_test_setup(test_mb1_huge_module_count, setup),
        cmocka_unit_test_setup(test_mb1_module_array_at_4g, setup),
        cmocka_unit_test_setup(test_mb1_module_cmdline_truncated, setup),
        cmocka_unit_test_setup(test_mb1_modules_without_memory, setup),
        cmocka_unit_test_setup(test_mb2_valid, setup),
        cmocka_unit_test_setup(test_mb2_xsdp, setup),
        cmocka_unit_test_setup(test_mb2_rsdp_too_short, setup),
        cmocka_unit_test_setup(test_mb2_total_size_bounds, setup),
        cmocka_unit_test_setup(test_mb2_past_4g, setup),
        cmocka_unit_test_setup(test_mb2_end_tag_stops, setup),
        cmocka_unit_test_setup(test_mb2_no_end_tag, setup),
        cmocka_unit_test_setup(test_mb2_tag_past_total_stops, setup),
        cmocka_unit_test_setup(test_mb2_tag_size_too_small_stops, setup),
        cmocka_unit_test_setup(test_mb2_alignment_and_unknown_tags, setup),
        cmocka_unit_test_setup(test_mb2_module_before_mmap, setup),
        cmocka_unit_test_setup(test_mb2_module_refusals, setup),
        cmocka_unit_test_setup(test_mb2_too_many_modules, setup),
        cmocka_unit_test_setup(test_mb2_module_tag_too_small, setup),
        cmocka_unit_test_setup(test_mb2_module_cmdline_unterminated, setup),
        cmocka_unit_test_setup(test_mb2_module_cmdline_truncated, setup),
        cmocka_unit_test_setup(test_mb2_cmdline_truncated_and_bounded, setup),
        cmocka_unit_test_setup(test_mb2_mmap_entry_size, setup),
        cmocka_unit_test_setup(test_mb2_mmap_too_many_ranges, setup),
        cmocka_unit_test_setup(test_mb2_no_usable_memory, setup),
        cmocka_unit_test_setup(test_mb2_framebuffer, setup),
        cmocka_unit_test_setup(test_cmdline_arg_flag, setup),
        cmocka_unit_test_setup(test_cmdline_arg_truncation, setup),
        cmocka_unit_test_setup(test_cmdline_spacing_and_edges, setup),
        cmocka_unit_test_setup(test_cmdline_flag_value_exactly_1, setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
