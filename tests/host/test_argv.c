/* Host tests for lib/argv.c: the SysV initial-stack layout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "lib/argv.h"

#define VA 0x7fffffffe000ULL

static unsigned char page[4096];

static const char *str_at(uint64_t va)
{
    return (const char *)page + (va - VA);
}
static uint64_t word_at(uint64_t va)
{
    uint64_t w;
    memcpy(&w, page + (va - VA), 8);
    return w;
}

static void test_layout(void **state)
{
    (void)state;
    memset(page, 0xaa, sizeof page);
    uint64_t sp = argv_build("prog  one two", page, VA);
    assert_int_not_equal(sp, 0);
    assert_int_equal(sp % 16, 0);
    assert_true(sp >= VA && sp < VA + 4096);
    assert_int_equal(word_at(sp), 3);
    assert_string_equal(str_at(word_at(sp + 8)), "prog");
    assert_string_equal(str_at(word_at(sp + 16)), "one");
    assert_string_equal(str_at(word_at(sp + 24)), "two");
    assert_int_equal(word_at(sp + 32), 0);
    /* strings lie above the pointer block, inside the page */
    assert_true(word_at(sp + 8) > sp + 32 && word_at(sp + 8) < VA + 4096);
}

static void test_empty_and_spaces(void **state)
{
    (void)state;
    uint64_t sp = argv_build("   ", page, VA);
    assert_int_not_equal(sp, 0);
    assert_int_equal(word_at(sp), 0);
    assert_int_equal(word_at(sp + 8), 0);
}

static void test_too_many_words(void **state)
{
    (void)state;
    uint64_t sp = argv_build("a b c d e f g h i j k l m n o p q r s t", page, VA);
    assert_int_equal(word_at(sp), ARGV_MAX);
    assert_int_equal(word_at(sp + 8 * (ARGV_MAX + 1)), 0);
}

static void test_does_not_fit(void **state)
{
    (void)state;
    static char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(argv_build(big, page, VA), 0);
    /* just fitting: one long word */
    static char fits[3500];
    memset(fits, 'y', sizeof fits - 1);
    fits[sizeof fits - 1] = 0;
    uint64_t sp = argv_build(fits, page, VA);
    assert_int_not_equal(sp, 0);
    assert_int_equal(strlen(str_at(word_at(sp + 8))), sizeof fits - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_empty_and_spaces),
        cmocka_unit_test(test_too_many_words),
        cmocka_unit_test(test_does_not_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
