/*
 * tests/host/test_frame.c - unit tests for kernel/frame.c.
 *
 * "Physical memory" [0, ARENA_SIZE) is a heap arena; p2v maps into it and
 * records where the allocator put its bitmap. Only the bitmap is ever
 * written, so managed ranges may extend far beyond the arena as long as
 * the bitmap lands inside it (ASan would catch a stray write).
 *
 * Expectations come from an independent per-frame model of
 * avail \ reserved \ {frame 0}, minus one contiguous run for the bitmap.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "kernel/frame.h"
#include "lib/string.h"

#define ARENA_SIZE   (4ULL << 20)
#define ARRAY_LEN(a) (sizeof(a) / sizeof *(a))

static unsigned char *arena;
static uint64_t bitmap_pa;
static unsigned p2v_calls;

static void *test_p2v(uint64_t pa)
{
    assert_true(pa < ARENA_SIZE);
    assert_int_equal(pa % FRAME_SIZE, 0);
    bitmap_pa = pa;
    p2v_calls++;
    return arena + pa;
}

static int setup(void **state)
{
    (void)state;
    arena = aligned_alloc(FRAME_SIZE, ARENA_SIZE);
    return arena ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(arena);
    return 0;
}

/* Independent model: is frame f usable RAM, not reserved, not frame 0? */
static bool model_usable(uint64_t f, const struct mem_range *av, size_t nav, const struct mem_range *rs, size_t nrs)
{
    uint64_t lo = f * FRAME_SIZE, hi = lo + FRAME_SIZE;
    bool in_avail = false;
    if (f == 0)
        return false;
    for (size_t i = 0; i < nav; i++)
        if (av[i].base <= lo && hi <= av[i].base + av[i].len)
            in_avail = true;
    for (size_t i = 0; i < nrs; i++)
        if (rs[i].len && rs[i].base < hi && lo < rs[i].base + rs[i].len)
            return false;
    return in_avail;
}

/*
 * Allocate everything, checking every frame against the model; returns the
 * number allocated and leaves a per-frame map in *seen (caller frees).
 * Verifies that the model frames not handed out form exactly one run
 * starting at bitmap_pa (the bitmap).
 */
static size_t drain_and_check(const struct mem_range *av, size_t nav, const struct mem_range *rs, size_t nrs,
                              unsigned char **seen_out)
{
    uint64_t nf = frame_max_phys() / FRAME_SIZE;
    unsigned char *seen = calloc(nf, 1);
    assert_non_null(seen);
    size_t n = 0, total = frame_total_count();
    assert_int_equal(frame_free_count(), total);

    for (;;) {
        uint64_t pa = frame_alloc();
        if (pa == 0)
            break;
        assert_int_equal(pa % FRAME_SIZE, 0);
        assert_true(pa < frame_max_phys());
        uint64_t f = pa / FRAME_SIZE;
        assert_false(seen[f]); /* never handed out twice */
        assert_true(model_usable(f, av, nav, rs, nrs));
        seen[f] = 1;
        n++;
        assert_int_equal(frame_free_count(), total - n);
    }
    assert_int_equal(n, total);
    assert_int_equal(frame_free_count(), 0);
    assert_int_equal(frame_alloc(), 0);

    /* Model frames never returned: exactly the bitmap run. */
    uint64_t bm_first = bitmap_pa / FRAME_SIZE, missing = 0;
    for (uint64_t f = 0; f < nf; f++) {
        if (model_usable(f, av, nav, rs, nrs) && !seen[f]) {
            assert_int_equal(f, bm_first + missing);
            missing++;
        }
    }
    assert_true(missing >= 1);
    *seen_out = seen;
    return n;
}

static void free_all(unsigned char *seen, uint64_t nf)
{
    for (uint64_t f = 0; f < nf; f++)
        if (seen[f])
            assert_int_equal(frame_free(f * FRAME_SIZE), 0);
}

static void test_messy_init(void **state)
{
    (void)state;
    const struct mem_range av[] = {
        {0x100000, 0x700000}, /* 1 MiB .. 8 MiB */
        {0x0, 0x9fc00},       /* low memory, unaligned end */
        {0x500123, 0x400000}, /* overlaps, unaligned both ends */
        {0x2000800, 0x800},   /* rounds inward to nothing */
        {0x1000000, 0x1000},  /* lone frame at 16 MiB */
        {0x1000000, 0x1000},  /* exact duplicate */
    };
    const struct mem_range rs[] = {
        {0x100000, 0x200000}, /* "kernel image" */
        {0x800, 0x2000},      /* rounds outward to [0, 0x3000) */
        {0x7ff0, 0x20},       /* rounds outward to [0x7000, 0x9000) */
        {0x5000000, 0x1000},  /* outside all RAM: harmless */
        {0x600000, 0},        /* empty: ignored */
    };
    p2v_calls = 0;
    assert_int_equal(frame_init(av, ARRAY_LEN(av), rs, ARRAY_LEN(rs), test_p2v), 0);
    assert_int_equal(p2v_calls, 1);
    assert_int_equal(frame_max_phys(), 0x1001000);
    assert_int_equal(bitmap_pa, 0x3000); /* first free frame after reserved */

    uint64_t model = 0;
    for (uint64_t f = 0; f < 0x1001; f++)
        model += model_usable(f, av, ARRAY_LEN(av), rs, ARRAY_LEN(rs));
    assert_int_equal(frame_total_count(), model - 1); /* 1 bitmap frame */

    unsigned char *seen;
    size_t n = drain_and_check(av, ARRAY_LEN(av), rs, ARRAY_LEN(rs), &seen);
    assert_true(seen[0x1000000 / FRAME_SIZE]); /* lone frame used */
    assert_false(seen[0x900000 / FRAME_SIZE]); /* past unaligned end */
    assert_true(seen[0x8ff000 / FRAME_SIZE]);

    /* Free everything back; counts return; double frees all rejected. */
    free_all(seen, 0x1001);
    assert_int_equal(frame_free_count(), n);
    for (uint64_t f = 0; f < 0x1001; f++)
        if (seen[f])
            assert_int_equal(frame_free(f * FRAME_SIZE), -22);
    assert_int_equal(frame_free_count(), n);
    free(seen);
}

static void test_bitmap_placement_large(void **state)
{
    (void)state;
    const struct mem_range av[] = {
        {0x100000000ULL, 0x40000000}, /* 4..5 GiB: makes a big bitmap */
        {0x0, 0x8000},                /* too small for the bitmap */
        {0x10000, 0x3ff0000},         /* 64 KiB .. 64 MiB */
    };
    const struct mem_range rs[] = {{0x10000, 0x5000}};
    assert_int_equal(frame_init(av, 3, rs, 1, test_p2v), 0);
    assert_int_equal(frame_max_phys(), 0x140000000ULL);
    assert_int_equal(bitmap_pa, 0x15000);

    unsigned char *seen;
    drain_and_check(av, 3, rs, 1, &seen);
    /* Bitmap frames, reserved frames and holes are not freeable. */
    assert_int_equal(frame_free(0x15000), -22);
    assert_int_equal(frame_free(0x20000), -22);
    assert_int_equal(frame_free(0x10000), -22);
    assert_int_equal(frame_free(0x8000), -22);        /* hole */
    assert_int_equal(frame_free(0x80000000ULL), -22); /* hole */
    assert_int_equal(frame_free(0x13ffff000ULL), 0);  /* last frame */
    assert_int_equal(frame_alloc(), 0x13ffff000ULL);
    free(seen);
}

static void test_nomem(void **state)
{
    (void)state;
    const struct mem_range zero_only[] = {{0, 0x1000}};
    const struct mem_range tiny[] = {{0x1800, 0x1000}}; /* inward: none */
    const struct mem_range one[] = {{0x1000, 0x1000}};  /* bitmap only */
    const struct mem_range all[] = {{0, 0x100000}};
    const struct mem_range cover[] = {{0, 0x100000}};

    assert_int_equal(frame_init(NULL, 0, NULL, 0, test_p2v), -12);
    assert_int_equal(frame_init(zero_only, 1, NULL, 0, test_p2v), -12);
    assert_int_equal(frame_init(tiny, 1, NULL, 0, test_p2v), -12);
    assert_int_equal(frame_init(one, 1, NULL, 0, test_p2v), -12);
    assert_int_equal(frame_init(all, 1, cover, 1, test_p2v), -12);

    /* After a failed init the allocator is empty but safe. */
    assert_int_equal(frame_alloc(), 0);
    assert_int_equal(frame_alloc_contig(1, FRAME_SIZE, 0), 0);
    assert_int_equal(frame_free(0x1000), -22);
    assert_int_equal(frame_reserve(0x1000, 1), -22);
    assert_int_equal(frame_free_count(), 0);
    assert_int_equal(frame_total_count(), 0);
    assert_int_equal(frame_max_phys(), 0);
}

static void test_frame0_and_free_errors(void **state)
{
    (void)state;
    const struct mem_range av[] = {{0, 0x10000}, {0x20000, 0x10000}};
    const struct mem_range rs[] = {{0x24000, 0x1000}};
    assert_int_equal(frame_init(av, 2, rs, 1, test_p2v), 0);
    assert_int_equal(bitmap_pa, 0x1000);
    assert_int_equal(frame_total_count(), 15 - 1 + 16 - 1);

    uint64_t a = frame_alloc();
    assert_int_not_equal(a, 0);
    size_t before = frame_free_count();
    assert_int_equal(frame_free(0), -22);     /* frame 0 */
    assert_int_equal(frame_free(a + 1), -22); /* unaligned */
    assert_int_equal(frame_free(a + 0x800), -22);
    assert_int_equal(frame_free(0x30000), -22); /* == max_phys */
    assert_int_equal(frame_free(~0ULL & ~0xfffULL), -22);
    assert_int_equal(frame_free(0x18000), -22); /* hole */
    assert_int_equal(frame_free(0x24000), -22); /* reserved */
    assert_int_equal(frame_free(0x1000), -22);  /* bitmap */
    uint64_t never = a == 0x2000 ? 0x3000 : 0x2000;
    assert_int_equal(frame_free(never), -22);     /* already free */
    assert_int_equal(frame_free_count(), before); /* nothing changed */

    assert_int_equal(frame_free(a), 0);
    assert_int_equal(frame_free(a), -22); /* double free */
    assert_int_equal(frame_free_count(), before + 1);

    /* Frame 0 is never returned, even when everything is allocated. */
    unsigned char *seen;
    drain_and_check(av, 2, rs, 1, &seen);
    assert_false(seen[0]);
    free(seen);
}

static void test_realloc_next_fit(void **state)
{
    (void)state;
    const struct mem_range av[] = {{0, 0x400000}};
    assert_int_equal(frame_init(av, 1, NULL, 0, test_p2v), 0);
    size_t total = frame_total_count();
    assert_int_equal(total, 1024 - 2);

    uint64_t a = frame_alloc(), b = frame_alloc(), c = frame_alloc();
    assert_true(a && b && c && a != b && b != c && a != c);
    assert_int_equal(frame_free(b), 0);
    assert_int_equal(frame_free_count(), total - 2);
    uint64_t d = frame_alloc();
    assert_true(d != 0 && d != a && d != c);
    assert_int_equal(frame_free_count(), total - 3);

    /* Exhaust: exactly the remaining frames come out, then 0. */
    size_t got = 0;
    while (frame_alloc() != 0)
        got++;
    assert_int_equal(got, total - 3);
    assert_int_equal(frame_free_count(), 0);

    /* A single freed frame is found again wherever the hint points. */
    const uint64_t victims[] = {a, c, d, 0x3ff000};
    for (size_t i = 0; i < ARRAY_LEN(victims); i++) {
        assert_int_equal(frame_free(victims[i]), 0);
        assert_int_equal(frame_free_count(), 1);
        assert_int_equal(frame_alloc(), victims[i]);
        assert_int_equal(frame_alloc(), 0);
    }
}

static void test_contig(void **state)
{
    (void)state;
    const struct mem_range av[] = {{0, 0x2000000}}; /* 32 MiB */
    const struct mem_range rs[] = {{0x100000, 0x100000}};
    assert_int_equal(frame_init(av, 1, rs, 1, test_p2v), 0);
    assert_int_equal(bitmap_pa, 0x1000);
    size_t free0 = frame_free_count();

    /* Bad arguments. */
    assert_int_equal(frame_alloc_contig(0, FRAME_SIZE, 0), 0);
    assert_int_equal(frame_alloc_contig(1, 0, 0), 0);
    assert_int_equal(frame_alloc_contig(1, 0x800, 0), 0);
    assert_int_equal(frame_alloc_contig(1, 0x3000, 0), 0);
    assert_int_equal(frame_alloc_contig(SIZE_MAX, FRAME_SIZE, 0), 0);
    assert_int_equal(frame_alloc_contig(free0 + 1, FRAME_SIZE, 0), 0);
    assert_int_equal(frame_free_count(), free0);

    /* Limit: first free frame is 0x2000 (0 unusable, 0x1000 bitmap). */
    assert_int_equal(frame_alloc_contig(1, FRAME_SIZE, 0x3000), 0x2000);
    assert_int_equal(frame_alloc_contig(1, FRAME_SIZE, 0x3000), 0);
    assert_int_equal(frame_alloc_contig(1, FRAME_SIZE, 0x3fff), 0);
    assert_int_equal(frame_alloc_contig(1, FRAME_SIZE, 0x4000), 0x3000);
    assert_int_equal(frame_alloc_contig(2, FRAME_SIZE, 0x5000), 0);
    assert_int_equal(frame_alloc_contig(2, FRAME_SIZE, 0x6000), 0x4000);

    /* Alignment; must skip the reserved [1 MiB, 2 MiB) region. */
    uint64_t p = frame_alloc_contig(4, 0x10000, 0);
    assert_int_equal(p, 0x10000);
    uint64_t q = frame_alloc_contig(0x100, 0x100000, 0);
    assert_int_equal(q, 0x200000); /* 1 MiB window at 1 MiB is reserved */
    uint64_t r = frame_alloc_contig(1, 0x200000, 0);
    assert_int_equal(r, 0x400000); /* 0 unusable, 2 MiB taken by q */
    assert_int_equal(frame_alloc_contig(0x200, FRAME_SIZE, 0x200000), 0);
    assert_int_equal(frame_free_count(), free0 - 1 - 1 - 2 - 4 - 0x100 - 1);

    /* Every frame of a contiguous block is individually allocated. */
    for (uint64_t i = 0; i < 4; i++)
        assert_int_equal(frame_reserve(p + i * FRAME_SIZE, 1), -22);
    for (uint64_t i = 0; i < 4; i++)
        assert_int_equal(frame_free(p + i * FRAME_SIZE), 0);
    assert_int_equal(frame_alloc_contig(4, 0x10000, 0x20000), 0x10000);

    /* Fragmentation: checkerboard leaves no run of 2; then open a run. */
    uint64_t *got = malloc(sizeof(uint64_t) * 0x2000);
    size_t n = 0;
    uint64_t pa;
    while ((pa = frame_alloc()) != 0)
        got[n++] = pa;
    for (size_t i = 0; i < n; i++)
        if ((got[i] / FRAME_SIZE) % 2 == 0)
            assert_int_equal(frame_free(got[i]), 0);
    assert_int_equal(frame_alloc_contig(2, FRAME_SIZE, 0), 0);
    assert_int_equal(frame_free(0x1000000 + FRAME_SIZE), 0); /* odd frame */
    assert_int_equal(frame_alloc_contig(3, FRAME_SIZE, 0), 0x1000000);
    assert_int_equal(frame_alloc_contig(3, FRAME_SIZE, 0), 0);
    /* A block ending exactly at max_phys (= limit) fits. */
    assert_int_equal(frame_free(0x2000000 - FRAME_SIZE), 0); /* odd frame */
    assert_int_equal(frame_alloc_contig(2, FRAME_SIZE, 0x2000000), 0x2000000 - 2 * FRAME_SIZE);
    /* A run across a word boundary (frames 62..66). */
    assert_int_equal(frame_free(0x3f000), 0);
    assert_int_equal(frame_free(0x41000), 0);
    assert_int_equal(frame_alloc_contig(5, FRAME_SIZE, 0), 0x3e000);
    /* The search starts at the lowest word with a free frame: frames
     * freed below words that filled since are found again. */
    assert_int_equal(frame_free(0x2000), 0);
    assert_int_equal(frame_free(0x3000), 0);
    assert_int_equal(frame_alloc_contig(2, FRAME_SIZE, 0), 0x2000);
    free(got);
}

static void test_reserve(void **state)
{
    (void)state;
    const struct mem_range av[] = {{0, 0x100000}, {0x200000, 0x100000}};
    const struct mem_range rs[] = {{0x50000, 0x10000}};
    assert_int_equal(frame_init(av, 2, rs, 1, test_p2v), 0);
    size_t total = frame_total_count(), free0 = frame_free_count();

    assert_int_equal(frame_reserve(0x8000, 0), 0);    /* empty: no-op */
    assert_int_equal(frame_reserve(0x8010, 0x10), 0); /* page 0x8000 */
    assert_int_equal(frame_free_count(), free0 - 1);
    assert_int_equal(frame_reserve(0x8000, 1), -22); /* already used */
    assert_int_equal(frame_reserve(0xa000, 0x1000), 0);
    /* [0x9000, 0xc000) includes used 0xa000: all-or-nothing. */
    assert_int_equal(frame_reserve(0x9000, 0x3000), -22);
    assert_int_equal(frame_free_count(), free0 - 2);
    assert_int_equal(frame_reserve(0x9000, 0x1000), 0); /* still free */
    assert_int_equal(frame_reserve(0xbfff, 2), 0);      /* 0xb000+0xc000 */
    assert_int_equal(frame_free_count(), free0 - 5);

    assert_int_equal(frame_reserve(0, 1), -22);            /* frame 0 */
    assert_int_equal(frame_reserve(0x1000, 1), -22);       /* bitmap */
    assert_int_equal(frame_reserve(0x55000, 1), -22);      /* init-reserved */
    assert_int_equal(frame_reserve(0x4f000, 0x2000), -22); /* straddles it */
    assert_int_equal(frame_reserve(0x150000, 1), -22);     /* hole */
    assert_int_equal(frame_reserve(0xff000, 0x2000), -22); /* into hole */
    assert_int_equal(frame_reserve(0x300000, 1), -22);     /* past max */
    assert_int_equal(frame_reserve(~0ULL - 10, 100), -22); /* overflow */
    assert_int_equal(frame_reserve(0x2ff000, 0x1000), 0);  /* last frame */
    assert_int_equal(frame_free_count(), free0 - 6);
    assert_int_equal(frame_total_count(), total);

    /* Reserved-after-init frames never come out of frame_alloc ... */
    uint64_t pa;
    while ((pa = frame_alloc()) != 0) {
        assert_false(pa >= 0x8000 && pa < 0xd000);
        assert_false(pa >= 0x50000 && pa < 0x60000);
        assert_int_not_equal(pa, 0x2ff000);
    }
    /* ... but count as allocated and may be released with frame_free. */
    assert_int_equal(frame_free(0x8000), 0);
    assert_int_equal(frame_alloc(), 0x8000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messy_init),
        cmocka_unit_test(test_bitmap_placement_large),
        cmocka_unit_test(test_nomem),
        cmocka_unit_test(test_frame0_and_free_errors),
        cmocka_unit_test(test_realloc_next_fit),
        cmocka_unit_test(test_contig),
        cmocka_unit_test(test_reserve),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
