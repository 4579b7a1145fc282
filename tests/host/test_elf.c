/*
 * tests/host/test_elf.c - unit tests for kernel/elf.c.
 *
 * A valid minimal static ELF64 is built in memory; a corpus of malformed
 * variants must each be rejected with the expected reason, and a seeded
 * random-mutation fuzz loop must never crash and never accept an image
 * whose description violates the parser's guarantees. Every parse runs on
 * an exactly sized heap copy so ASan flags any out-of-bounds read.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "lib/elf.h"
#include "lib/string.h"

#define LO           0x10000ULL
#define HI           0x800000000000ULL /* top of the canonical lower half */
#define PT_GNU_STACK 0x6474e551u
#define IMG_MAX      8192

struct img {
    unsigned char b[IMG_MAX];
    size_t size;
};

static void get_eh(const struct img *im, struct elf64_ehdr *eh)
{
    memcpy(eh, im->b, sizeof *eh);
}

static void put_eh(struct img *im, const struct elf64_ehdr *eh)
{
    memcpy(im->b, eh, sizeof *eh);
}

static void get_ph(const struct img *im, unsigned i, struct elf64_phdr *ph)
{
    struct elf64_ehdr eh;
    get_eh(im, &eh);
    memcpy(ph, im->b + eh.e_phoff + i * sizeof *ph, sizeof *ph);
}

static void put_ph(struct img *im, unsigned i, const struct elf64_phdr *ph)
{
    struct elf64_ehdr eh;
    get_eh(im, &eh);
    memcpy(im->b + eh.e_phoff + i * sizeof *ph, ph, sizeof *ph);
}

/*
 * Valid image, 0x1100 bytes:
 *   phdr 0: PT_LOAD R|X  off 0      vaddr 0x400000 filesz 0x200 memsz 0x200
 *   phdr 1: PT_LOAD R|W  off 0x1000 vaddr 0x401000 filesz 0x100 memsz 0x2000
 *   phdr 2: PT_GNU_STACK R|W (ignored)
 *   phdr 3: PT_NOTE off 0x100 size 0x20 (ignored)
 *   entry 0x400100
 */
static void build_valid(struct img *im)
{
    memset(im, 0, sizeof *im);
    im->size = 0x1100;
    struct elf64_ehdr eh = {0};
    eh.e_ident[0] = 0x7f;
    eh.e_ident[1] = 'E';
    eh.e_ident[2] = 'L';
    eh.e_ident[3] = 'F';
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_EXEC;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    eh.e_entry = 0x400100;
    eh.e_phoff = sizeof eh;
    eh.e_ehsize = sizeof eh;
    eh.e_phentsize = sizeof(struct elf64_phdr);
    eh.e_phnum = 4;
    put_eh(im, &eh);

    struct elf64_phdr ph[4] = {
        {PT_LOAD, ELF_SEG_R | ELF_SEG_X, 0, 0x400000, 0x400000, 0x200, 0x200, 0x1000},
        {PT_LOAD, ELF_SEG_R | ELF_SEG_W, 0x1000, 0x401000, 0x401000, 0x100, 0x2000, 0x1000},
        {PT_GNU_STACK, ELF_SEG_R | ELF_SEG_W, 0, 0, 0, 0, 0, 16},
        {PT_NOTE, ELF_SEG_R, 0x100, 0, 0, 0x20, 0x20, 4},
    };
    for (unsigned i = 0; i < 4; i++)
        put_ph(im, i, &ph[i]);
    for (size_t i = 0x1000; i < 0x1100; i++)
        im->b[i] = (unsigned char)i;
}

/* Parse an exact-size heap copy of data[0..size) placed at `misalign`. */
static int parse_bytes(const unsigned char *data, size_t size, size_t misalign, struct elf_image *out, const char **why)
{
    unsigned char *copy = malloc(size + misalign + 1);
    assert_non_null(copy);
    memcpy(copy + misalign, data, size);
    int rc = elf_parse(size ? copy + misalign : NULL, size, LO, HI, out, why);
    free(copy);
    return rc;
}

static void assert_rejected(const struct img *im, const char *reason)
{
    struct elf_image out;
    const char *why = NULL;
    memset(&out, 0xa5, sizeof out);
    int rc = parse_bytes(im->b, im->size, 0, &out, &why);
    if (rc != -22)
        fail_msg("expected rejection \"%s\", got rc %d", reason, rc);
    assert_non_null(why);
    assert_string_equal(why, reason);
    static const struct elf_image zero;
    assert_memory_equal(&out, &zero, sizeof out); /* zeroed on failure */
}

static void test_valid_accepted(void **state)
{
    (void)state;
    struct img im;
    build_valid(&im);
    for (size_t mis = 0; mis < 8; mis++) { /* unaligned data is fine */
        struct elf_image out;
        const char *why = "untouched";
        assert_int_equal(parse_bytes(im.b, im.size, mis, &out, &why), 0);
        assert_string_equal(why, "untouched");
        assert_int_equal(out.entry, 0x400100);
        assert_int_equal(out.nseg, 2);
        assert_int_equal(out.seg[0].vaddr, 0x400000);
        assert_int_equal(out.seg[0].memsz, 0x200);
        assert_int_equal(out.seg[0].offset, 0);
        assert_int_equal(out.seg[0].filesz, 0x200);
        assert_int_equal(out.seg[0].flags, ELF_SEG_R | ELF_SEG_X);
        assert_int_equal(out.seg[1].vaddr, 0x401000);
        assert_int_equal(out.seg[1].memsz, 0x2000);
        assert_int_equal(out.seg[1].offset, 0x1000);
        assert_int_equal(out.seg[1].filesz, 0x100);
        assert_int_equal(out.seg[1].flags, ELF_SEG_R | ELF_SEG_W);
    }
}

static void test_valid_variants(void **state)
{
    (void)state;
    struct img im;
    struct elf64_phdr ph;
    struct elf_image out;
    const char *why = NULL;

    /* Empty PT_LOAD (memsz 0) with nonsense fields is skipped. */
    build_valid(&im);
    get_ph(&im, 3, &ph);
    ph = (struct elf64_phdr){PT_LOAD, ELF_SEG_W | ELF_SEG_X, ~0ULL, 0xffff800000000000ULL, 0, 0, 0, 0};
    put_ph(&im, 3, &ph);
    assert_int_equal(parse_bytes(im.b, im.size, 0, &out, &why), 0);
    assert_int_equal(out.nseg, 2);

    /* Unknown flag bits beyond RWX are masked off; X-only is fine. */
    build_valid(&im);
    get_ph(&im, 0, &ph);
    ph.p_flags = ELF_SEG_X | 0xf00000u;
    put_ph(&im, 0, &ph);
    assert_int_equal(parse_bytes(im.b, im.size, 0, &out, &why), 0);
    assert_int_equal(out.seg[0].flags, ELF_SEG_X);

    /* Segment ending exactly at hi, and one starting exactly at lo. */
    build_valid(&im);
    get_ph(&im, 1, &ph);
    ph.p_vaddr = HI - 0x2000;
    put_ph(&im, 1, &ph);
    get_ph(&im, 0, &ph);
    ph.p_vaddr = LO;
    put_ph(&im, 0, &ph);
    struct elf64_ehdr eh;
    get_eh(&im, &eh);
    eh.e_entry = LO + 0x1ff; /* last byte of the text segment */
    put_eh(&im, &eh);
    assert_int_equal(parse_bytes(im.b, im.size, 0, &out, &why), 0);
    assert_int_equal(out.entry, LO + 0x1ff);

    /* Adjacent pages do not overlap. */
    build_valid(&im);
    get_ph(&im, 1, &ph);
    ph.p_vaddr = 0x401ff0; /* page 0x401000, text ends in page 0x400000 */
    put_ph(&im, 1, &ph);
    assert_int_equal(parse_bytes(im.b, im.size, 0, &out, &why), 0);

    /* Exactly ELF_MAX_SEGMENTS loads is accepted. */
    build_valid(&im);
    get_eh(&im, &eh);
    eh.e_phnum = ELF_MAX_SEGMENTS;
    put_eh(&im, &eh);
    for (unsigned i = 0; i < ELF_MAX_SEGMENTS; i++) {
        ph = (struct elf64_phdr){
            PT_LOAD, i == 0 ? ELF_SEG_R | ELF_SEG_X : ELF_SEG_R, 0, 0x400000 + i * 0x1000ULL, 0, 0x10, 0x1000, 0x1000};
        put_ph(&im, i, &ph);
    }
    assert_int_equal(parse_bytes(im.b, im.size, 0, &out, &why), 0);
    assert_int_equal(out.nseg, ELF_MAX_SEGMENTS);
    assert_int_equal(out.seg[15].vaddr, 0x40f000);
}

static void test_truncated_header(void **state)
{
    (void)state;
    struct img im;
    build_valid(&im);
    for (size_t sz = 0; sz < sizeof(struct elf64_ehdr); sz++) {
        im.size = sz;
        assert_rejected(&im, "file too small");
    }
    /* Cut inside the program header table. */
    for (size_t sz = 64; sz < 64 + 4 * 56; sz += 7) {
        im.size = sz;
        assert_rejected(&im, "program headers outside file");
    }
    /* NULL with a nonzero size is rejected too. */
    struct elf_image out;
    const char *why = NULL;
    assert_int_equal(elf_parse(NULL, 100, LO, HI, &out, &why), -22);
    assert_string_equal(why, "file too small");
    /* why may be NULL. */
    assert_int_equal(elf_parse(im.b, 10, LO, HI, &out, NULL), -22);
}

/* ---- malformed corpus ------------------------------------------------- */

typedef void (*mutator)(struct img *im);

#define EH_MUT(name, stmt)                                                                                             \
    static void name(struct img *im)                                                                                   \
    {                                                                                                                  \
        struct elf64_ehdr eh;                                                                                          \
        get_eh(im, &eh);                                                                                               \
        stmt;                                                                                                          \
        put_eh(im, &eh);                                                                                               \
    }
#define PH_MUT(name, idx, stmt)                                                                                        \
    static void name(struct img *im)                                                                                   \
    {                                                                                                                  \
        struct elf64_phdr ph;                                                                                          \
        get_ph(im, idx, &ph);                                                                                          \
        stmt;                                                                                                          \
        put_ph(im, idx, &ph);                                                                                          \
    }

EH_MUT(m_magic0, eh.e_ident[0] = 0x7e)
EH_MUT(m_magic1, eh.e_ident[1] = 'e')
EH_MUT(m_magic3, eh.e_ident[3] = 0)
EH_MUT(m_class32, eh.e_ident[EI_CLASS] = 1)
EH_MUT(m_bigendian, eh.e_ident[EI_DATA] = 2)
EH_MUT(m_identver, eh.e_ident[EI_VERSION] = 0)
EH_MUT(m_version, eh.e_version = 2)
EH_MUT(m_machine, eh.e_machine = 3)
EH_MUT(m_et_dyn, eh.e_type = ET_DYN)
EH_MUT(m_et_rel, eh.e_type = 1)
EH_MUT(m_ehsize, eh.e_ehsize = 52)
EH_MUT(m_phoff_beyond, eh.e_phoff = 0x2000)
EH_MUT(m_phoff_tail, eh.e_phoff = 0x1100 - 3 * 56) /* 4th phdr past end */
EH_MUT(m_phoff_huge, eh.e_phoff = 0xffffffffffffffc0ULL)
EH_MUT(m_phnum_huge, eh.e_phnum = 0xffff)
EH_MUT(m_phnum_65, eh.e_phnum = 65)
EH_MUT(m_phnum_0, eh.e_phnum = 0)
EH_MUT(m_phentsize_32, eh.e_phentsize = 32)
EH_MUT(m_phentsize_64, eh.e_phentsize = 64)
EH_MUT(m_entry_outside, eh.e_entry = 0x300000)
EH_MUT(m_entry_gap, eh.e_entry = 0x400200) /* just past text memsz */
EH_MUT(m_entry_data, eh.e_entry = 0x401000)
PH_MUT(m_filesz_gt_memsz, 1, ph.p_filesz = ph.p_memsz + 1)
PH_MUT(m_filesz_past_end, 1, ph.p_filesz = 0x101)
PH_MUT(m_offset_past_end, 1, ph.p_offset = 0x1001)
PH_MUT(m_offset_overflow, 1, ph.p_offset = 0xfffffffffffffff0ULL)
PH_MUT(m_vaddr_overflow, 1, ph.p_vaddr = 0xfffffffffffff000ULL)
PH_MUT(m_vaddr_round_overflow, 1, (ph.p_vaddr = ~0ULL - 0x10, ph.p_memsz = 8, ph.p_filesz = 8))
PH_MUT(m_kernel_half, 1, ph.p_vaddr = 0xffff800000000000ULL)
PH_MUT(m_straddle_hi, 1, ph.p_vaddr = HI - 0x1000)
PH_MUT(m_straddle_hi_round, 1, (ph.p_vaddr = HI - 0x8, ph.p_memsz = 0x10, ph.p_filesz = 0x10))
PH_MUT(m_below_lo, 1, ph.p_vaddr = LO - 1)
PH_MUT(m_null_page, 1, ph.p_vaddr = 0)
PH_MUT(m_wx, 1, ph.p_flags = ELF_SEG_R | ELF_SEG_W | ELF_SEG_X)
PH_MUT(m_wx_text, 0, ph.p_flags = ELF_SEG_W | ELF_SEG_X)
PH_MUT(m_no_flags, 1, ph.p_flags = 0)
PH_MUT(m_no_rwx_flags, 1, ph.p_flags = 0xf0000000u)
PH_MUT(m_overlap, 1, ph.p_vaddr = 0x400100)
PH_MUT(m_overlap_contain, 1, (ph.p_vaddr = 0x3ff000, ph.p_memsz = 0x10000))
PH_MUT(m_same_page, 1, ph.p_vaddr = 0x400800)
PH_MUT(m_same_page_tail, 1, ph.p_vaddr = 0x3ffff0) /* ends in text page */
PH_MUT(m_text_not_exec, 0, ph.p_flags = ELF_SEG_R)
PH_MUT(m_interp, 3, ph.p_type = PT_INTERP)
PH_MUT(m_dynamic, 3, ph.p_type = PT_DYNAMIC)
PH_MUT(m_interp_first, 0, ph.p_type = PT_INTERP)

static void m_no_load(struct img *im)
{
    struct elf64_phdr ph;
    for (unsigned i = 0; i < 2; i++) {
        get_ph(im, i, &ph);
        ph.p_type = PT_NOTE;
        put_ph(im, i, &ph);
    }
}

static void m_all_empty_loads(struct img *im)
{
    struct elf64_phdr ph;
    for (unsigned i = 0; i < 2; i++) {
        get_ph(im, i, &ph);
        ph.p_memsz = ph.p_filesz = 0;
        put_ph(im, i, &ph);
    }
}

static void m_too_many(struct img *im)
{
    struct elf64_ehdr eh;
    get_eh(im, &eh);
    eh.e_phnum = ELF_MAX_SEGMENTS + 1;
    put_eh(im, &eh);
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        struct elf64_phdr ph = {
            PT_LOAD, i ? ELF_SEG_R : ELF_SEG_R | ELF_SEG_X, 0, 0x400000 + i * 0x1000ULL, 0, 0x10, 0x10, 0};
        put_ph(im, i, &ph);
    }
}

static void m_dup_segment(struct img *im)
{
    struct elf64_phdr ph;
    get_ph(im, 0, &ph);
    put_ph(im, 3, &ph);
}

static const struct {
    const char *name;
    mutator fn;
    const char *why;
} corpus[] = {
    {"magic0", m_magic0, "bad magic"},
    {"magic1", m_magic1, "bad magic"},
    {"magic3", m_magic3, "bad magic"},
    {"class32", m_class32, "not a 64-bit ELF"},
    {"big-endian", m_bigendian, "not little-endian"},
    {"ident version", m_identver, "bad ELF version"},
    {"e_version", m_version, "bad ELF version"},
    {"machine", m_machine, "wrong machine"},
    {"ET_DYN", m_et_dyn, "not a static executable (ET_EXEC)"},
    {"ET_REL", m_et_rel, "not a static executable (ET_EXEC)"},
    {"ehsize", m_ehsize, "bad header size"},
    {"phoff beyond", m_phoff_beyond, "program headers outside file"},
    {"phoff tail", m_phoff_tail, "program headers outside file"},
    {"phoff huge", m_phoff_huge, "program headers outside file"},
    {"phnum huge", m_phnum_huge, "bad program header count"},
    {"phnum 65", m_phnum_65, "bad program header count"},
    {"phnum 0", m_phnum_0, "bad program header count"},
    {"phentsize 32", m_phentsize_32, "bad program header entry size"},
    {"phentsize 64", m_phentsize_64, "bad program header entry size"},
    {"entry outside", m_entry_outside, "entry outside loadable segments"},
    {"entry gap", m_entry_gap, "entry outside loadable segments"},
    {"entry in data", m_entry_data, "entry not in executable segment"},
    {"text not exec", m_text_not_exec, "entry not in executable segment"},
    {"filesz>memsz", m_filesz_gt_memsz, "segment file size exceeds memory size"},
    {"filesz past end", m_filesz_past_end, "segment data outside file"},
    {"offset past end", m_offset_past_end, "segment data outside file"},
    {"offset overflow", m_offset_overflow, "segment data outside file"},
    {"vaddr overflow", m_vaddr_overflow, "segment address overflow"},
    {"vaddr round overflow", m_vaddr_round_overflow, "segment address overflow"},
    {"kernel half", m_kernel_half, "segment outside user range"},
    {"straddle hi", m_straddle_hi, "segment outside user range"},
    {"straddle hi rounded", m_straddle_hi_round, "segment outside user range"},
    {"below lo", m_below_lo, "segment outside user range"},
    {"null page", m_null_page, "segment outside user range"},
    {"W+X", m_wx, "writable and executable segment"},
    {"W+X text", m_wx_text, "writable and executable segment"},
    {"no flags", m_no_flags, "segment without permissions"},
    {"no RWX flags", m_no_rwx_flags, "segment without permissions"},
    {"overlap", m_overlap, "overlapping segments"},
    {"overlap contain", m_overlap_contain, "overlapping segments"},
    {"same page", m_same_page, "overlapping segments"},
    {"same page tail", m_same_page_tail, "overlapping segments"},
    {"duplicate", m_dup_segment, "overlapping segments"},
    {"PT_INTERP", m_interp, "dynamic executables unsupported"},
    {"PT_DYNAMIC", m_dynamic, "dynamic executables unsupported"},
    {"PT_INTERP first", m_interp_first, "dynamic executables unsupported"},
    {"no PT_LOAD", m_no_load, "no loadable segments"},
    {"only empty loads", m_all_empty_loads, "no loadable segments"},
    {"too many", m_too_many, "too many loadable segments"},
};

static void test_malformed_corpus(void **state)
{
    (void)state;
    size_t n = sizeof corpus / sizeof *corpus;
    assert_true(n >= 25);
    for (size_t i = 0; i < n; i++) {
        struct img im;
        build_valid(&im);
        corpus[i].fn(&im);
        print_message("  reject %-22s -> %s\n", corpus[i].name, corpus[i].why);
        assert_rejected(&im, corpus[i].why);
    }
}

/* ---- fuzz ---------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
    uint64_t x = rng_state; /* xorshift64 */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

/* Check every guarantee elf.h promises for an accepted image. */
static void check_accepted(const struct elf_image *out, size_t size)
{
    assert_true(out->nseg >= 1 && out->nseg <= ELF_MAX_SEGMENTS);
    int entry_hits = 0;
    for (unsigned i = 0; i < out->nseg; i++) {
        const struct elf_segment *s = &out->seg[i];
        uint64_t start = s->vaddr & ~(ELF_PAGE - 1);
        uint64_t end = (s->vaddr + s->memsz + ELF_PAGE - 1) & ~(ELF_PAGE - 1);
        assert_true(s->memsz > 0);
        assert_true(s->vaddr + s->memsz > s->vaddr); /* no wrap */
        assert_true(start >= LO && end <= HI && start < end);
        assert_true(s->filesz <= s->memsz);
        assert_true(s->offset <= size && s->filesz <= size - s->offset);
        assert_true(s->flags != 0 && (s->flags & ~7u) == 0);
        assert_true((s->flags & (ELF_SEG_W | ELF_SEG_X)) != (ELF_SEG_W | ELF_SEG_X));
        if ((s->flags & ELF_SEG_X) && out->entry >= s->vaddr && out->entry < s->vaddr + s->memsz)
            entry_hits++;
        for (unsigned j = 0; j < i; j++) {
            const struct elf_segment *t = &out->seg[j];
            uint64_t ts = t->vaddr & ~(ELF_PAGE - 1);
            uint64_t te = (t->vaddr + t->memsz + ELF_PAGE - 1) & ~(ELF_PAGE - 1);
            assert_false(start < te && ts < end);
        }
    }
    assert_int_equal(entry_hits, 1);
}

static void test_fuzz(void **state)
{
    (void)state;
    static const uint64_t interesting[] = {
        0,
        1,
        0x1000,
        0xfff,
        0x7fffffffffffULL,
        0x800000000000ULL,
        0xffff800000000000ULL,
        ~0ULL,
        ~0ULL - 0xfff,
        0x400000,
        0x401000,
    };
    struct img base, im;
    build_valid(&base);
    unsigned accepted = 0, rejected = 0;

    for (unsigned iter = 0; iter < 20000; iter++) {
        im = base;
        unsigned nmut = 1 + rng() % 6;
        for (unsigned m = 0; m < nmut; m++) {
            /* Bias mutations towards the headers, where parsing happens. */
            size_t span = (rng() % 4) ? 64 + 4 * 56 : im.size;
            size_t pos = rng() % span;
            switch (rng() % 4) {
            case 0: /* random byte */
                im.b[pos] = (unsigned char)rng();
                break;
            case 1: /* flip a bit */
                im.b[pos] ^= (unsigned char)(1u << (rng() % 8));
                break;
            case 2: /* small delta */
                im.b[pos] = (unsigned char)(im.b[pos] + (rng() % 3) - 1);
                break;
            default: { /* plant an interesting 64-bit value */
                uint64_t v = interesting[rng() % (sizeof interesting / sizeof *interesting)];
                pos = pos > im.size - 8 ? im.size - 8 : pos;
                memcpy(im.b + pos, &v, 8);
                break;
            }
            }
        }
        if (rng() % 8 == 0)
            im.size = rng() % (im.size + 1);

        struct elf_image out;
        const char *why = NULL;
        int rc = parse_bytes(im.b, im.size, rng() % 8, &out, &why);
        if (rc == 0) {
            accepted++;
            check_accepted(&out, im.size);
        } else {
            rejected++;
            assert_int_equal(rc, -22);
            assert_non_null(why);
            assert_true(strlen(why) > 0);
        }
    }
    print_message("  fuzz: %u accepted, %u rejected\n", accepted, rejected);
    assert_true(accepted > 0 && rejected > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_accepted),
        cmocka_unit_test(test_valid_variants),
        cmocka_unit_test(test_truncated_header),
        cmocka_unit_test(test_malformed_corpus),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
