/*
 * kernel/frame.c - physical frame allocator (two bitmaps, next-fit hint).
 * Contract in kernel/frame.h. Callers serialise (kernel big lock).
 */
#include "kernel/frame.h"

#include <stdbool.h>

#define EINVAL_RET (-22)
#define ENOMEM_RET (-12)
#define FRAME_MASK (FRAME_SIZE - 1)

static uint64_t *used_bm;   /* 1 = not allocatable */
static uint64_t *usable_bm; /* 1 = managed RAM */
static uint64_t nframes;    /* frames covered: max_phys / FRAME_SIZE */
static uint64_t nwords;     /* 64-bit words per bitmap */
static uint64_t max_phys;
static size_t free_frames;
static size_t total_frames;
static uint64_t hint_word; /* next-fit: word where the last search ended */
/* every word below low_word is full (all its frames used): contiguous
 * searches start there. Frees lower it; allocations never invalidate it. */
static uint64_t low_word;

/* ---- bitmap helpers ---------------------------------------------------- */

static bool bit_get(const uint64_t *bm, uint64_t f)
{
    return (bm[f / 64] >> (f % 64)) & 1;
}

/* Mask of bits [lo, hi) within one word, 0 <= lo < hi <= 64. */
static uint64_t bit_mask(unsigned lo, unsigned hi)
{
    uint64_t m = hi == 64 ? ~0ULL : (1ULL << hi) - 1;
    return m & ~((1ULL << lo) - 1);
}

/* Set (val=true) or clear frames [from, to) in bm; to <= nframes. */
static void bits_fill(uint64_t *bm, uint64_t from, uint64_t to, bool val)
{
    while (from < to) {
        uint64_t w = from / 64;
        unsigned lo = from % 64;
        unsigned hi = (to - w * 64) >= 64 ? 64 : (unsigned)(to - w * 64);
        uint64_t m = bit_mask(lo, hi);
        bm[w] = val ? bm[w] | m : bm[w] & ~m;
        from = w * 64 + hi;
    }
}

/* Portable popcount (no libgcc __popcountdi2 in the kernel). */
static unsigned popcount64(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (unsigned)((x * 0x0101010101010101ULL) >> 56);
}

/* ---- range arithmetic for init ---------------------------------------- */

/* Round [base, base+len) inward to frames; false if empty. Saturating. */
static bool round_in(const struct mem_range *r, uint64_t *s, uint64_t *e)
{
    uint64_t end;
    if (__builtin_add_overflow(r->base, r->len, &end))
        end = UINT64_MAX;
    if (r->base > UINT64_MAX - FRAME_MASK)
        return false;
    *s = (r->base + FRAME_MASK) & ~FRAME_MASK;
    *e = end & ~FRAME_MASK;
    return *s < *e;
}

/* Round [base, base+len) outward to frames; false if empty. Saturating. */
static bool round_out(const struct mem_range *r, uint64_t *s, uint64_t *e)
{
    uint64_t end;
    if (r->len == 0)
        return false;
    if (__builtin_add_overflow(r->base, r->len, &end) || end > UINT64_MAX - FRAME_MASK)
        end = UINT64_MAX & ~FRAME_MASK;
    else
        end = (end + FRAME_MASK) & ~FRAME_MASK;
    *s = r->base & ~FRAME_MASK;
    *e = end;
    return *s < *e;
}

/* True iff [s, e) is fully covered by the union of rounded avail ranges
 * and intersects no rounded reserved range. */
static bool placement_ok(uint64_t s, uint64_t e, const struct mem_range *avail, size_t navail,
                         const struct mem_range *res, size_t nres)
{
    for (size_t i = 0; i < nres; i++) {
        uint64_t rs, re;
        if (round_out(&res[i], &rs, &re) && rs < e && s < re)
            return false;
    }
    uint64_t pos = s;
    while (pos < e) {
        uint64_t next = pos;
        for (size_t i = 0; i < navail; i++) {
            uint64_t as, ae;
            if (round_in(&avail[i], &as, &ae) && as <= pos && pos < ae && ae > next)
                next = ae;
        }
        if (next == pos)
            return false; /* pos not covered by any avail range */
        pos = next;
    }
    return true;
}

/* Consider candidate start c for a bitmap of `bytes`; keep the lowest. */
static void try_place(uint64_t c, uint64_t bytes, uint64_t *best, const struct mem_range *avail, size_t navail,
                      const struct mem_range *res, size_t nres)
{
    uint64_t e;
    if (c < FRAME_SIZE || c >= *best)
        return;
    if (__builtin_add_overflow(c, bytes, &e) || e > max_phys)
        return;
    if (placement_ok(c, e, avail, navail, res, nres))
        *best = c;
}

/* ---- public interface -------------------------------------------------- */

int frame_init(const struct mem_range *avail, size_t navail, const struct mem_range *reserved, size_t nres,
               void *(*p2v)(uint64_t pa))
{
    uint64_t s, e;

    used_bm = usable_bm = NULL;
    nframes = nwords = max_phys = hint_word = low_word = 0;
    free_frames = total_frames = 0;

    for (size_t i = 0; i < navail; i++)
        if (round_in(&avail[i], &s, &e) && e > max_phys)
            max_phys = e;
    if (max_phys <= FRAME_SIZE)
        return ENOMEM_RET; /* nothing beyond frame 0 */

    uint64_t nf = max_phys / FRAME_SIZE;
    uint64_t nw = (nf + 63) / 64;
    /* Both bitmaps, rounded up to whole frames (cannot overflow: nw < 2^52). */
    uint64_t bytes = (2 * nw * 8 + FRAME_MASK) & ~FRAME_MASK;

    /* The lowest valid start is frame 1, a rounded avail start, or the
     * rounded end of a reserved range: try exactly those candidates. */
    uint64_t best = UINT64_MAX;
    try_place(FRAME_SIZE, bytes, &best, avail, navail, reserved, nres);
    for (size_t i = 0; i < navail; i++)
        if (round_in(&avail[i], &s, &e))
            try_place(s, bytes, &best, avail, navail, reserved, nres);
    for (size_t i = 0; i < nres; i++)
        if (round_out(&reserved[i], &s, &e))
            try_place(e, bytes, &best, avail, navail, reserved, nres);
    if (best == UINT64_MAX) {
        max_phys = 0;
        return ENOMEM_RET;
    }

    nframes = nf;
    nwords = nw;
    used_bm = p2v(best);
    usable_bm = used_bm + nw;
    for (uint64_t w = 0; w < nw; w++) {
        used_bm[w] = ~0ULL; /* includes the tail bits beyond nframes */
        usable_bm[w] = 0;
    }

    for (size_t i = 0; i < navail; i++)
        if (round_in(&avail[i], &s, &e))
            bits_fill(usable_bm, s / FRAME_SIZE, e / FRAME_SIZE, true);
    /* Unmanage reserved ranges, the bitmap itself and frame 0. */
    for (size_t i = 0; i < nres; i++)
        if (round_out(&reserved[i], &s, &e) && s < max_phys)
            bits_fill(usable_bm, s / FRAME_SIZE, (e > max_phys ? max_phys : e) / FRAME_SIZE, false);
    bits_fill(usable_bm, best / FRAME_SIZE, (best + bytes) / FRAME_SIZE, false);
    bits_fill(usable_bm, 0, 1, false);

    for (uint64_t w = 0; w < nw; w++) {
        used_bm[w] = ~usable_bm[w];
        total_frames += popcount64(usable_bm[w]);
    }
    if (total_frames == 0) {
        /* The bitmap fit but nothing is left to manage: stay unusable. */
        used_bm = usable_bm = NULL;
        nframes = nwords = max_phys = 0;
        return ENOMEM_RET;
    }
    free_frames = total_frames;
    return 0;
}

uint64_t frame_alloc(void)
{
    if (free_frames == 0)
        return 0;
    for (uint64_t i = 0; i < nwords; i++) {
        uint64_t w = hint_word + i;
        if (w >= nwords)
            w -= nwords;
        if (~used_bm[w] != 0) {
            unsigned b = (unsigned)__builtin_ctzll(~used_bm[w]);
            used_bm[w] |= 1ULL << b;
            free_frames--;
            hint_word = w;
            return (w * 64 + b) * FRAME_SIZE;
        }
    }
    return 0; /* unreachable while free_frames is accurate */
}

uint64_t frame_alloc_contig(size_t n, uint64_t align, uint64_t limit)
{
    if (n == 0 || align < FRAME_SIZE || (align & (align - 1)) != 0)
        return 0;
    if (n > free_frames)
        return 0;
    uint64_t end_frame = nframes; /* exclusive bound on frames used */
    if (limit != 0 && limit / FRAME_SIZE < end_frame)
        end_frame = limit / FRAME_SIZE;
    uint64_t step = align / FRAME_SIZE;

    /* the words below low_word are full: move it past any that filled
     * since (sigma0's frames lie below the kernel's pool: thousands of
     * full words that every search would pass again) */
    while (low_word < nwords && used_bm[low_word] == ~0ULL)
        low_word++;
    /* Frame 0 is never usable, so starting at `step` loses nothing. */
    uint64_t f = low_word * 64 > step ? (low_word * 64 + step - 1) / step * step : step;
    while (f < end_frame && n <= end_frame - f) {
        /* a word at a time: the free bits of f's word from f on */
        uint64_t w = f / 64, fr = ~used_bm[w] & (~0ULL << (f % 64));
        if (!(fr >> (f % 64) & 1)) {
            /* f is used: on to the next free frame, aligned up */
            uint64_t next = fr ? w * 64 + (uint64_t)__builtin_ctzll(fr) : (w + 1) * 64;
            f = (next + step - 1) / step * step;
            continue;
        }
        /* f is free: how far the free run from f reaches (at least to
         * f + n is enough) */
        uint64_t end = f;
        for (;;) {
            uint64_t used = used_bm[end / 64] & (~0ULL << (end % 64));
            if (used) {
                end = end / 64 * 64 + (uint64_t)__builtin_ctzll(used);
                break;
            }
            end = end / 64 * 64 + 64;
            if (end - f >= n || end >= end_frame)
                break;
        }
        if (end - f >= n) {
            bits_fill(used_bm, f, f + n, true);
            free_frames -= n;
            return f * FRAME_SIZE;
        }
        /* frame `end` is taken: next aligned candidate strictly after it */
        uint64_t next = end / step * step + step;
        if (next <= f)
            break; /* overflow */
        f = next;
    }
    return 0;
}

int frame_free(uint64_t pa)
{
    if ((pa & FRAME_MASK) != 0 || pa >= max_phys)
        return EINVAL_RET;
    uint64_t f = pa / FRAME_SIZE;
    if (!bit_get(usable_bm, f) || !bit_get(used_bm, f))
        return EINVAL_RET;
    used_bm[f / 64] &= ~(1ULL << (f % 64));
    free_frames++;
    if (f / 64 < low_word)
        low_word = f / 64;
    return 0;
}

int frame_reserve(uint64_t base, uint64_t len)
{
    uint64_t s, e;
    struct mem_range r = {base, len};
    if (len == 0)
        return 0;
    if (base + len < base || !round_out(&r, &s, &e) || e > max_phys)
        return EINVAL_RET;
    for (uint64_t f = s / FRAME_SIZE; f < e / FRAME_SIZE; f++)
        if (!bit_get(usable_bm, f) || bit_get(used_bm, f))
            return EINVAL_RET;
    bits_fill(used_bm, s / FRAME_SIZE, e / FRAME_SIZE, true);
    free_frames -= (size_t)((e - s) / FRAME_SIZE);
    return 0;
}

size_t frame_free_count(void)
{
    return free_frames;
}

size_t frame_total_count(void)
{
    return total_frames;
}

uint64_t frame_max_phys(void)
{
    return max_phys;
}
