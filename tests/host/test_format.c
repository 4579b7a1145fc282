/*
 * tests/host/test_format.c - unit tests for lib/format.c.
 *
 * Two kinds of checks: hand-written expected strings for every feature,
 * and an exhaustive cross-check of flag/width/precision/conversion
 * combinations against the host libc's snprintf (where ISO C defines the
 * result; %p and NULL %s are Airlock-specific and checked by hand only).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <limits.h>
#include <cmocka.h>

#include "lib/format.h"
#include "lib/string.h"

/* Format into a large buffer and check both text and return value. */
#define CHECK(expect, ...)                                                                                             \
    do {                                                                                                               \
        char buf_[512];                                                                                                \
        memset(buf_, 'Z', sizeof buf_);                                                                                \
        int n_ = fmt_snprintf(buf_, sizeof buf_, __VA_ARGS__);                                                         \
        assert_string_equal(buf_, (expect));                                                                           \
        assert_int_equal(n_, (int)strlen(expect));                                                                     \
    } while (0)

/* Hidden from gcc's format checker, which rejects a literal NULL %s. */
static const char *volatile null_str = NULL;

static void test_plain_and_percent(void **state)
{
    (void)state;
    CHECK("", "%s", "");
    CHECK("hello", "hello");
    CHECK("100%", "100%%");
    CHECK("%%", "%%%%");
    CHECK("a%b", "a%cb", '%');
}

/* Some tests deliberately use flag combinations gcc calls redundant. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
static void test_signed(void **state)
{
    (void)state;
    CHECK("0", "%d", 0);
    CHECK("42", "%d", 42);
    CHECK("-42", "%i", -42);
    CHECK("2147483647", "%d", INT_MAX);
    CHECK("-2147483648", "%d", INT_MIN);
    CHECK("+5", "%+d", 5);
    CHECK(" 5", "% d", 5);
    CHECK("+5", "%+ d", 5); /* '+' overrides ' ' */
    CHECK("-5", "% d", -5);
    CHECK("+0", "%+d", 0);
}

static void test_int64_min(void **state)
{
    (void)state;
    CHECK("-9223372036854775808", "%lld", LLONG_MIN);
    CHECK("-9223372036854775808", "%ld", (long)INT64_MIN);
    CHECK("-9223372036854775808", "%jd", (intmax_t)INT64_MIN);
    CHECK("9223372036854775807", "%lld", LLONG_MAX);
    CHECK("18446744073709551615", "%llu", ULLONG_MAX);
    CHECK("8000000000000000", "%llx", (unsigned long long)LLONG_MIN);
    CHECK("1000000000000000000000", "%llo", (unsigned long long)LLONG_MIN);
    CHECK("1777777777777777777777", "%llo", ULLONG_MAX);
    CHECK("    -9223372036854775808", "%24lld", LLONG_MIN);
    CHECK("-00009223372036854775808", "%024lld", LLONG_MIN);
    CHECK("-9223372036854775808    ", "%-24lld", LLONG_MIN);
}

static void test_unsigned_hex_octal(void **state)
{
    (void)state;
    CHECK("4294967295", "%u", UINT_MAX);
    CHECK("deadbeef", "%x", 0xdeadbeefu);
    CHECK("DEADBEEF", "%X", 0xdeadbeefu);
    CHECK("0xdeadbeef", "%#x", 0xdeadbeefu);
    CHECK("0XDEADBEEF", "%#X", 0xdeadbeefu);
    CHECK("0", "%#x", 0u); /* no prefix for zero */
    CHECK("17", "%o", 15u);
    CHECK("017", "%#o", 15u);
    CHECK("0", "%#o", 0u);
    CHECK("0", "%#.0o", 0u); /* '#' forces one zero digit */
    CHECK("", "%.0o", 0u);
    CHECK("0017", "%#.4o", 15u); /* already leading zero: no extra */
    CHECK("00017", "%#05o", 15u);
    CHECK("0x00ff", "%#06x", 255u);
    CHECK("  0xff", "%#6x", 255u);
}

static void test_width_precision(void **state)
{
    (void)state;
    CHECK("   42", "%5d", 42);
    CHECK("42   ", "%-5d", 42);
    CHECK("00042", "%05d", 42);
    CHECK("-0042", "%05d", -42);
    CHECK("42   ", "%-05d", 42);  /* '-' overrides '0' */
    CHECK("  042", "%05.3d", 42); /* precision disables '0' */
    CHECK("00042", "%.5d", 42);
    CHECK("-00042", "%.5d", -42);
    CHECK("+00042", "%+.5d", 42);
    CHECK("", "%.0d", 0);
    CHECK("     ", "%5.0d", 0);
    CHECK("", "%.0x", 0u);
    CHECK("", "%.0u", 0u);
    CHECK("", "%.d", 0); /* '.' alone means precision 0 */
    CHECK("+", "%+.0d", 0);
    CHECK("1", "%.0d", 1);
    CHECK("42", "%1d", 42); /* width smaller than content */
    CHECK("   42", "%*d", 5, 42);
    CHECK("42   ", "%*d", -5, 42); /* negative '*' width = '-' flag */
    CHECK("00042", "%.*d", 5, 42);
    CHECK("42", "%.*d", -3, 42); /* negative '*' precision = none */
    CHECK("  00042", "%*.*d", 7, 5, 42);
    CHECK("0000000000000000000000000000000000000001", "%.40d", 1);
}

#pragma GCC diagnostic pop

static void test_length_modifiers(void **state)
{
    (void)state;
    CHECK("-1", "%hhd", (signed char)-1);
    CHECK("255", "%hhu", (unsigned char)255);
    CHECK("44", "%hhu", 300); /* truncated to unsigned char */
    CHECK("-1", "%hhd", 255); /* truncated to signed char */
    CHECK("-32768", "%hd", (short)SHRT_MIN);
    CHECK("65535", "%hu", (unsigned short)65535);
    CHECK("ffff", "%hx", 0x1ffff);
    CHECK("-1", "%ld", -1L);
    CHECK("ffffffffffffffff", "%lx", ~0UL);
    CHECK("123456789012", "%lld", 123456789012LL);
    CHECK("18446744073709551615", "%zu", (size_t)SIZE_MAX);
    CHECK("-7", "%zd", (ptrdiff_t)-7);
    CHECK("-3", "%td", (ptrdiff_t)-3);
    CHECK("ffffffffffffffff", "%tx", (ptrdiff_t)-1);
    CHECK("18446744073709551615", "%ju", (uintmax_t)UINTMAX_MAX);
    CHECK("-9223372036854775808", "%jd", (intmax_t)INTMAX_MIN);
}

static void test_char_string(void **state)
{
    (void)state;
    CHECK("x", "%c", 'x');
    CHECK("    x", "%5c", 'x');
    CHECK("x    ", "%-5c", 'x');
    CHECK("hello", "%s", "hello");
    CHECK("  hello", "%7s", "hello");
    CHECK("hello  ", "%-7s", "hello");
    CHECK("hel", "%.3s", "hello");
    CHECK("  hel", "%5.3s", "hello");
    CHECK("hel  ", "%-5.3s", "hello");
    CHECK("", "%.0s", "hello");
    CHECK("hello", "%.10s", "hello");
    CHECK("he", "%.*s", 2, "hello");
    CHECK("(null)", "%s", null_str);
    CHECK("  (null)", "%8s", null_str);
    CHECK("(nu", "%.3s", null_str);
    /* Precision bounds the read: an unterminated array is fine. */
    char raw[3] = {'a', 'b', 'c'};
    CHECK("abc", "%.3s", raw);
}

static void test_pointer(void **state)
{
    (void)state;
    CHECK("0x0000000000000000", "%p", (void *)0);
    CHECK("0x00000000deadbeef", "%p", (void *)0xdeadbeefUL);
    CHECK("0xffffffffffffffff", "%p", (void *)~0UL);
    CHECK("0xffff800000001000", "%p", (void *)0xffff800000001000UL);
    CHECK("  0x0000000000000001", "%20p", (void *)1);
    CHECK("0x0000000000000001  ", "%-20p", (void *)1);
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
static void test_unknown_and_truncated_spec(void **state)
{
    (void)state;
    CHECK("%q", "%q");
    CHECK("a%qb", "a%qb");
    CHECK("%-5q", "%-5q");
    CHECK("%lq 7", "%lq %d", 7);
    CHECK("%", "%");
    CHECK("abc%", "abc%");
    CHECK("x%-5", "x%-5");
    CHECK("%ll", "%ll");
}
#pragma GCC diagnostic pop

static void test_snprintf_truncation(void **state)
{
    (void)state;
    char buf[8];

    memset(buf, 'Z', sizeof buf);
    assert_int_equal(fmt_snprintf(buf, sizeof buf, "hello world"), 11);
    assert_string_equal(buf, "hello w");

    memset(buf, 'Z', sizeof buf);
    assert_int_equal(fmt_snprintf(buf, 1, "abc"), 3);
    assert_int_equal(buf[0], '\0');
    assert_int_equal(buf[1], 'Z'); /* nothing beyond size written */

    memset(buf, 'Z', sizeof buf);
    assert_int_equal(fmt_snprintf(buf, 0, "abc"), 3);
    assert_int_equal(buf[0], 'Z');
    assert_int_equal(fmt_snprintf(NULL, 0, "%d", 12345), 5);

    memset(buf, 'Z', sizeof buf);
    assert_int_equal(fmt_snprintf(buf, 4, "%d", -12345), 6);
    assert_string_equal(buf, "-12");
    assert_int_equal(buf[4], 'Z');

    /* Exact fit: 7 chars + NUL. */
    assert_int_equal(fmt_snprintf(buf, sizeof buf, "%7s", "x"), 7);
    assert_string_equal(buf, "      x");
    assert_int_equal(fmt_snprintf(buf, sizeof buf, "%8s", "x"), 8);
    assert_string_equal(buf, "       ");

    /* Every buffer size against the full string. */
    const char *full = "v=-9223372036854775808|0xff|(null)";
    for (size_t sz = 0; sz <= strlen(full) + 2; sz++) {
        char b[64];
        memset(b, 'Z', sizeof b);
        int n = fmt_snprintf(b, sz, "v=%lld|%#x|%s", LLONG_MIN, 255u, null_str);
        assert_int_equal(n, (int)strlen(full));
        if (sz > 0) {
            size_t keep = sz - 1 < strlen(full) ? sz - 1 : strlen(full);
            assert_memory_equal(b, full, keep);
            assert_int_equal(b[keep], '\0');
            assert_int_equal(b[keep + 1], 'Z');
        } else {
            assert_int_equal(b[0], 'Z');
        }
    }
}

struct collect {
    char buf[128];
    size_t n;
};

static void collect_out(char c, void *arg)
{
    struct collect *col = arg;
    if (col->n < sizeof col->buf)
        col->buf[col->n] = c;
    col->n++;
}

static int vformat_helper(struct collect *col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vformat(collect_out, col, fmt, ap);
    va_end(ap);
    return n;
}

static void test_vformat_sink(void **state)
{
    (void)state;
    struct collect col = {.n = 0};
    int n = vformat_helper(&col, "[%5s|%-3d|%c]", "ab", 7, 'z');
    assert_int_equal(n, 13);
    assert_int_equal(col.n, 13);
    assert_memory_equal(col.buf, "[   ab|7  |z]", 13);

    col.n = 0;
    assert_int_equal(vformat_helper(&col, ""), 0);
    assert_int_equal(col.n, 0);

    /* Large widths are honoured (up to FMT_MAX_FIELD). */
    char big[1100];
    assert_int_equal(fmt_snprintf(big, sizeof big, "%1000d", 1), 1000);
    assert_int_equal(big[998], ' ');
    assert_int_equal(big[999], '1');
}

/* Compare one runtime format with one argument against libc. */
#define XCHECK(fmtstr, arg)                                                                                            \
    do {                                                                                                               \
        char ours_[256], libc_[256];                                                                                   \
        int a_ = fmt_snprintf(ours_, sizeof ours_, fmtstr, arg);                                                       \
        int b_ = snprintf(libc_, sizeof libc_, fmtstr, arg);                                                           \
        if (a_ != b_ || strcmp(ours_, libc_) != 0)                                                                     \
            fail_msg("fmt \"%s\": ours \"%s\" (%d) libc \"%s\" (%d)", fmtstr, ours_, a_, libc_, b_);                   \
    } while (0)

static void test_matrix_vs_libc(void **state)
{
    (void)state;
    static const char flagch[] = "-0+ #";
    static const char *widths[] = {"", "0", "1", "5", "25"};
    static const char *precs[] = {"", ".", ".0", ".1", ".5", ".30"};
    static const char convs[] = "diuxXo";
    static const int ivals[] = {0, 1, -1, 7, 42, -42, 255, 4096, INT_MAX, INT_MIN};
    static const long long llvals[] = {0, 1, -1, LLONG_MIN, LLONG_MAX, 0x123456789abcLL};
    static const char *lens[] = {"hh", "h", "l", "ll", "z", "t", "j"};
    unsigned checked = 0;

    for (unsigned fm = 0; fm < 32; fm++) {
        char flags[8];
        size_t nf = 0;
        for (unsigned b = 0; b < 5; b++)
            if (fm & (1u << b))
                flags[nf++] = flagch[b];
        flags[nf] = 0;
        for (size_t w = 0; w < sizeof widths / sizeof *widths; w++) {
            for (size_t p = 0; p < sizeof precs / sizeof *precs; p++) {
                char f[64];
                for (const char *c = convs; *c; c++) {
                    snprintf(f, sizeof f, "%%%s%s%s%c", flags, widths[w], precs[p], *c);
                    for (size_t v = 0; v < sizeof ivals / sizeof *ivals; v++) {
                        XCHECK(f, ivals[v]);
                        checked++;
                    }
                    for (size_t l = 0; l < sizeof lens / sizeof *lens; l++) {
                        snprintf(f, sizeof f, "%%%s%s%s%s%c", flags, widths[w], precs[p], lens[l], *c);
                        for (size_t v = 0; v < sizeof llvals / sizeof *llvals; v++) {
                            /* hh/h/none take int; others 64-bit. */
                            if (lens[l][0] == 'h')
                                XCHECK(f, (int)llvals[v]);
                            else
                                XCHECK(f, llvals[v]);
                            checked++;
                        }
                    }
                }
                /* %s and %c: only '-' and '0'-free flags are defined. */
                if ((fm & ~1u) == 0) {
                    snprintf(f, sizeof f, "%%%s%s%ss", flags, widths[w], precs[p]);
                    XCHECK(f, "airlock");
                    XCHECK(f, "");
                    snprintf(f, sizeof f, "%%%s%sc", flags, widths[w]);
                    XCHECK(f, 'q');
                    checked += 3;
                }
            }
        }
    }
    assert_true(checked > 50000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_percent),
        cmocka_unit_test(test_signed),
        cmocka_unit_test(test_int64_min),
        cmocka_unit_test(test_unsigned_hex_octal),
        cmocka_unit_test(test_width_precision),
        cmocka_unit_test(test_length_modifiers),
        cmocka_unit_test(test_char_string),
        cmocka_unit_test(test_pointer),
        cmocka_unit_test(test_unknown_and_truncated_spec),
        cmocka_unit_test(test_snprintf_truncation),
        cmocka_unit_test(test_vformat_sink),
        cmocka_unit_test(test_matrix_vs_libc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
