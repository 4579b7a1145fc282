/*
 * tests/host/test_pcid.c - unit tests for arch/x86_64/pcid.c, the pool of
 * PCIDs for user address spaces: tags 1..n handed out once each, the
 * kernel's tag 0 never, PCID_SHARED once the pool is empty (and for a
 * pool of none), a freed tag handed out again, reuse as late as possible
 * (round robin), and refusals of frees that would corrupt the pool.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86_64/pcid.h"

static void test_all_distinct_then_shared(void **state)
{
    (void)state;
    static struct pcid_pool p;
    static unsigned char seen[4096];
    memset(seen, 0, sizeof seen);
    pcid_pool_init(&p, PCID_POOL_MAX);
    for (unsigned i = 0; i < PCID_POOL_MAX; i++) {
        unsigned t = pcid_alloc(&p);
        assert_true(t >= 1 && t <= PCID_POOL_MAX);
        assert_int_equal(seen[t], 0);
        seen[t] = 1;
    }
    assert_int_equal(p.live, PCID_POOL_MAX);
    /* exhausted: every further space shares the overflow tag */
    for (int i = 0; i < 3; i++)
        assert_int_equal(pcid_alloc(&p), PCID_SHARED);
    assert_int_equal(p.shared, 3);
    /* one back: it is the one handed out next */
    assert_int_equal(pcid_free(&p, 77), 0);
    assert_int_equal(pcid_alloc(&p), 77);
    assert_int_equal(pcid_alloc(&p), PCID_SHARED);
}

static void test_round_robin(void **state)
{
    (void)state;
    struct pcid_pool p;
    pcid_pool_init(&p, 4);
    assert_int_equal(pcid_alloc(&p), 1);
    assert_int_equal(pcid_alloc(&p), 2);
    assert_int_equal(pcid_free(&p, 1), 0);
    /* 1 is free again, but 3 and 4 come first */
    assert_int_equal(pcid_alloc(&p), 3);
    assert_int_equal(pcid_alloc(&p), 4);
    assert_int_equal(pcid_alloc(&p), 1);
    assert_int_equal(pcid_alloc(&p), PCID_SHARED);
    assert_int_equal(pcid_free(&p, 3), 0);
    assert_int_equal(pcid_alloc(&p), 3);
}

static void test_small_and_empty_pools(void **state)
{
    (void)state;
    struct pcid_pool p;
    pcid_pool_init(&p, 0);
    assert_int_equal(pcid_alloc(&p), PCID_SHARED);
    assert_int_equal(pcid_alloc(&p), PCID_SHARED);
    assert_int_equal(p.live, 0);
    pcid_pool_init(&p, 1);
    assert_int_equal(pcid_alloc(&p), 1);
    assert_int_equal(pcid_alloc(&p), PCID_SHARED);
    assert_int_equal(pcid_free(&p, 1), 0);
    assert_int_equal(pcid_alloc(&p), 1);
    /* larger than the architecture allows: clamped */
    pcid_pool_init(&p, 100000);
    assert_int_equal(p.n, PCID_POOL_MAX);
}

static void test_bad_frees(void **state)
{
    (void)state;
    struct pcid_pool p;
    pcid_pool_init(&p, 8);
    unsigned a = pcid_alloc(&p);
    assert_int_equal(pcid_free(&p, PCID_KERNEL), -1); /* never the pool's */
    assert_int_equal(pcid_free(&p, 9), -1);           /* beyond n */
    assert_int_equal(pcid_free(&p, a + 1), -1);       /* not handed out */
    assert_int_equal(pcid_free(&p, PCID_SHARED), 0);  /* ignored */
    assert_int_equal(p.live, 1);
    assert_int_equal(pcid_free(&p, a), 0);
    assert_int_equal(pcid_free(&p, a), -1); /* twice */
    assert_int_equal(p.live, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_distinct_then_shared),
        cmocka_unit_test(test_round_robin),
        cmocka_unit_test(test_small_and_empty_pools),
        cmocka_unit_test(test_bad_frees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
