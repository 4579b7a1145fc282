/*
 * tests/host/test_irqline.c - unit tests for kernel/irqline.c, the logic
 * of one interrupt line shared by IRQ objects: who may join (shared with
 * shared, same flags; never silently over a line held alone), when the
 * line may be unmasked (a member bound, no level member owing an
 * acknowledgement, not throttled), a detach or a departure counting as
 * the acknowledgement, and the storm throttle (IRQLINE_STORM_LIMIT
 * arrivals per tick, then masked until the next tick, counted).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/irqline.h"
#include "abi/airlock/errno.h"

#define LVL 1u /* flags as the kernel passes them (AL_IRQ_LEVEL) */
#define LOW 2u

static void test_join_rules(void **state)
{
    (void)state;
    struct irqline l = {0};
    /* held alone: nobody else, shared or not */
    assert_int_equal(irqline_join(&l, 3, 0, 1, LVL), 0);
    assert_int_equal(irqline_join(&l, 4, 0, 1, LVL), -AL_EBUSY);
    assert_int_equal(irqline_join(&l, 4, 1, 1, LVL), -AL_EBUSY);
    assert_int_equal(l.members, 1u << 3);
    assert_int_equal(irqline_leave(&l, 3), 0);
    /* shared: shared members with the same flags only */
    memset(&l, 0, sizeof l);
    assert_int_equal(irqline_join(&l, 0, 1, 1, LVL | LOW), 0);
    assert_int_equal(irqline_join(&l, 31, 1, 1, LVL | LOW), 0);
    assert_int_equal(irqline_join(&l, 5, 0, 1, LVL | LOW), -AL_EBUSY); /* not shared */
    assert_int_equal(irqline_join(&l, 5, 1, 1, LVL), -AL_EBUSY);       /* other polarity */
    assert_int_equal(irqline_join(&l, 5, 1, 0, LVL | LOW), -AL_EBUSY); /* other trigger */
    assert_int_equal(irqline_join(&l, 0, 1, 1, LVL | LOW), -AL_EINVAL); /* already a member */
    assert_int_equal(irqline_join(&l, 32, 1, 1, LVL | LOW), -AL_EINVAL);
    assert_int_equal(l.members, 1u | 1u << 31);
    assert_true(l.shared && l.level && l.flags == (LVL | LOW));
    assert_int_equal(irqline_join(&l, 7, 1, 1, LVL | LOW), 0);
    assert_int_equal(irqline_leave(&l, 31), 2);
    assert_int_equal(irqline_leave(&l, 0), 1);
    assert_int_equal(irqline_leave(&l, 7), 0);
    assert_int_equal(irqline_leave(&l, 40), 0); /* a bad id: nothing */
}

static void test_unmasked_only_when_all_acked(void **state)
{
    (void)state;
    struct irqline l = {0};
    assert_int_equal(irqline_join(&l, 1, 1, 1, LVL), 0);
    assert_int_equal(irqline_join(&l, 2, 1, 1, LVL), 0);
    assert_int_equal(irqline_join(&l, 3, 1, 1, LVL), 0);
    assert_false(irqline_want(&l)); /* nobody bound: masked */
    irqline_bind(&l, 1);
    irqline_bind(&l, 2);
    assert_true(irqline_want(&l));
    /* an arrival: the bound members get a message each; member 3,
     * unbound, gets none and owes nothing */
    assert_int_equal(irqline_arrival(&l, 1), 0);
    irqline_sent(&l, 1);
    irqline_sent(&l, 2);
    irqline_sent(&l, 3); /* (not bound: ignored) */
    assert_int_equal(l.owing, 1u << 1 | 1u << 2);
    assert_false(irqline_want(&l));
    irqline_acked(&l, 1);
    assert_false(irqline_want(&l)); /* member 2 still owes */
    irqline_acked(&l, 1);           /* twice: nothing */
    assert_false(irqline_want(&l));
    irqline_acked(&l, 2);
    assert_true(irqline_want(&l));
    assert_int_equal(l.arrivals, 1);
}

static void test_departures_count_as_acks(void **state)
{
    (void)state;
    struct irqline l = {0};
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(irqline_join(&l, i, 1, 1, LVL), 0);
        irqline_bind(&l, i);
    }
    for (unsigned i = 0; i < 3; i++)
        irqline_sent(&l, i);
    /* member 0 detached while owing: its debt is forgiven */
    irqline_unbind(&l, 0);
    assert_false(irqline_want(&l));
    /* member 1 deleted (or its task ended) while owing */
    assert_int_equal(irqline_leave(&l, 1), 2);
    assert_false(irqline_want(&l));
    /* member 2 acknowledges: nobody owes, member 2 still bound */
    irqline_acked(&l, 2);
    assert_true(irqline_want(&l));
    /* the last bound member detached: masked, nobody listens */
    irqline_unbind(&l, 2);
    assert_false(irqline_want(&l));
    /* bound again: unmasked */
    irqline_bind(&l, 0);
    assert_true(irqline_want(&l));
    /* a departure of a member that owed, with another still owing */
    irqline_bind(&l, 2);
    irqline_sent(&l, 0);
    irqline_sent(&l, 2);
    assert_int_equal(irqline_leave(&l, 2), 1);
    assert_false(irqline_want(&l)); /* member 0 owes */
    irqline_acked(&l, 0);
    assert_true(irqline_want(&l));
    irqline_bind(&l, 9); /* not a member: ignored */
    assert_int_equal(l.bound, 1u);
}

static void test_edge_line_stays_unmasked(void **state)
{
    (void)state;
    struct irqline l = {0};
    assert_int_equal(irqline_join(&l, 4, 0, 0, 0), 0);
    irqline_bind(&l, 4);
    for (unsigned i = 0; i < 3 * IRQLINE_STORM_LIMIT; i++)
        assert_int_equal(irqline_arrival(&l, 7), 0); /* never throttled */
    irqline_sent(&l, 4);
    assert_true(irqline_want(&l)); /* owing, but edge: counted, not masked */
    assert_int_equal(l.throttles, 0);
    assert_int_equal(l.arrivals, 3 * IRQLINE_STORM_LIMIT);
}

static void test_storm_throttle(void **state)
{
    (void)state;
    struct irqline l = {0};
    assert_int_equal(irqline_join(&l, 0, 1, 1, LVL), 0);
    assert_int_equal(irqline_join(&l, 1, 1, 1, LVL), 0);
    irqline_bind(&l, 0);
    irqline_bind(&l, 1);
    /* LIMIT - 1 rounds in tick 5: never throttled */
    for (unsigned i = 0; i < IRQLINE_STORM_LIMIT - 1; i++) {
        assert_int_equal(irqline_arrival(&l, 5), 0);
        irqline_sent(&l, 0);
        irqline_sent(&l, 1);
        irqline_acked(&l, 0);
        irqline_acked(&l, 1);
        assert_true(irqline_want(&l));
    }
    /* the LIMIT-th: throttled, counted once; the acks do not unmask */
    assert_int_equal(irqline_arrival(&l, 5), 1);
    irqline_sent(&l, 0);
    irqline_sent(&l, 1);
    irqline_acked(&l, 0);
    irqline_acked(&l, 1);
    assert_false(irqline_want(&l));
    assert_int_equal(irqline_arrival(&l, 5), 0); /* (one already under way) */
    assert_int_equal(l.throttles, 1);
    /* nor a detach and a bind */
    irqline_unbind(&l, 1);
    irqline_bind(&l, 1);
    assert_false(irqline_want(&l));
    /* the next tick lifts it */
    assert_int_equal(irqline_tick(&l), 1);
    assert_true(irqline_want(&l));
    assert_int_equal(irqline_tick(&l), 0);
    /* a new tick counts from zero: LIMIT - 1 in tick 6, LIMIT - 1 in tick 7 */
    for (unsigned i = 0; i < IRQLINE_STORM_LIMIT - 1; i++)
        assert_int_equal(irqline_arrival(&l, 6), 0);
    for (unsigned i = 0; i < IRQLINE_STORM_LIMIT - 1; i++)
        assert_int_equal(irqline_arrival(&l, 7), 0);
    assert_int_equal(irqline_arrival(&l, 7), 1);
    assert_int_equal(l.throttles, 2);
    /* throttled with a member owing: the tick alone does not unmask */
    irqline_sent(&l, 0);
    assert_int_equal(irqline_tick(&l), 1);
    assert_false(irqline_want(&l));
    irqline_acked(&l, 0);
    assert_true(irqline_want(&l));
    assert_int_equal(l.arrivals, 3 * IRQLINE_STORM_LIMIT); /* LIMIT + 1, LIMIT - 1, LIMIT */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_rules),
        cmocka_unit_test(test_unmasked_only_when_all_acked),
        cmocka_unit_test(test_departures_count_as_acks),
        cmocka_unit_test(test_edge_line_stays_unmasked),
        cmocka_unit_test(test_storm_throttle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
