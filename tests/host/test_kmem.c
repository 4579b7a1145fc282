/*
 * tests/host/test_kmem.c - unit tests for kernel/kmem.c: budget arithmetic.
 * Charges within a limit, refusal beyond it (nothing charged), budgets
 * handed down a chain that can only shrink, node rounding, and a dead
 * task's record that stays until its last object goes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kernel/kmem.h"

static struct kmem *child(struct kmem *parent, uint64_t limit)
{
    long err = 0;
    struct kmem *k = kmem_new(parent, limit, 1, &err);
    assert_non_null(k);
    return k;
}

static void test_charge_within_and_beyond(void **state)
{
    (void)state;
    kmem_kernel_init(1000);
    struct kmem *k = child(&kmem_kernel, 10);
    assert_int_equal(kmem_kernel.used, 10);
    assert_int_equal(kmem_charge(k, 7), 0);
    assert_int_equal(kmem_charge(k, 4), -KMEM_EDQUOT);
    assert_int_equal(k->used, 7); /* a refused charge charges nothing */
    assert_int_equal(kmem_charge(k, 3), 0);
    assert_int_equal(kmem_charge(k, 1), -KMEM_EDQUOT);
    assert_int_equal(kmem_charge(k, UINT64_MAX), -KMEM_EDQUOT);
    assert_int_equal(k->peak, 10);
    kmem_uncharge(k, 10);
    assert_int_equal(k->used, 0);
    assert_int_equal(k->peak, 10);
    assert_int_equal(kmem_charge(NULL, 5), 0); /* the kernel's own: not counted */
    kmem_task_gone(k);
    assert_int_equal(kmem_kernel.used, 0);
    assert_int_equal(kmem_records(), 0);
}

static void test_chain_cannot_grow(void **state)
{
    (void)state;
    kmem_kernel_init(1000);
    struct kmem *a = child(&kmem_kernel, 100);
    struct kmem *b = child(a, 60);
    long err = 0;
    assert_null(kmem_new(b, 61, 3, &err)); /* more than b has */
    assert_int_equal(err, -KMEM_EDQUOT);
    struct kmem *c = child(b, 60);
    assert_int_equal(b->used, 60);
    assert_int_equal(kmem_set_limit(c, 61), -KMEM_EDQUOT);
    assert_int_equal(kmem_set_limit(b, 101), -KMEM_EDQUOT);
    assert_int_equal(kmem_charge(c, 60), 0);
    assert_int_equal(kmem_set_limit(c, 59), -22); /* below its use */
    /* the sum down the chain never exceeds the top */
    assert_true(c->limit <= b->limit && b->limit <= a->limit);
    kmem_uncharge(c, 60);
    assert_int_equal(kmem_set_limit(c, 10), 0);
    assert_int_equal(b->used, 10);
    kmem_task_gone(c);
    kmem_task_gone(b);
    kmem_task_gone(a);
    assert_int_equal(kmem_kernel.used, 0);
    assert_int_equal(kmem_records(), 0);
}

static void test_dead_record_waits_for_objects(void **state)
{
    (void)state;
    kmem_kernel_init(1000);
    struct kmem *a = child(&kmem_kernel, 100);
    struct kmem *b = child(a, 50);
    assert_int_equal(kmem_charge(b, 1), 0); /* an endpoint that outlives b's task */
    kmem_task_gone(b);
    assert_int_equal(kmem_records(), 2);
    assert_int_equal(a->used, 50);
    kmem_task_gone(a); /* a dies too: both wait for the endpoint */
    assert_int_equal(kmem_records(), 2);
    kmem_uncharge(b, 1);
    assert_int_equal(kmem_records(), 0);
    assert_int_equal(kmem_kernel.used, 0);
}

static void test_nodes_round_up(void **state)
{
    (void)state;
    kmem_kernel_init(1000);
    struct kmem *k = child(&kmem_kernel, 2);
    for (int i = 0; i < 2 * KMEM_NODES_PER_FRAME; i++)
        assert_int_equal(kmem_charge_node(k), 0);
    assert_int_equal(k->used, 2);
    assert_int_equal(kmem_charge_node(k), -KMEM_EDQUOT);
    assert_int_equal(k->nodes, 2 * KMEM_NODES_PER_FRAME);
    /* a frame's worth free is kept (map and unmap in turn charge nothing) */
    for (int i = 0; i < KMEM_NODES_PER_FRAME; i++)
        kmem_uncharge_node(k);
    assert_int_equal(k->used, 2);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(kmem_charge_node(k), 0);
        kmem_uncharge_node(k);
        assert_int_equal(k->used, 2);
    }
    /* two frames' worth free: one goes back */
    while (k->nodes > 1)
        kmem_uncharge_node(k);
    assert_int_equal(k->used, 2);
    kmem_uncharge_node(k);
    assert_int_equal(k->used, 1);
    assert_int_equal((k->nodes + k->node_room) % KMEM_NODES_PER_FRAME, 0);
    kmem_nodes_gone(k);
    assert_int_equal(k->used, 0);
    kmem_task_gone(k);
    assert_int_equal(kmem_records(), 0);
}

static void test_pool_exhaustion(void **state)
{
    (void)state;
    kmem_kernel_init(UINT64_MAX / 2);
    static struct kmem *ks[KMEM_RECORDS];
    for (int i = 0; i < KMEM_RECORDS; i++)
        ks[i] = child(&kmem_kernel, 1);
    long err = 0;
    assert_null(kmem_new(&kmem_kernel, 1, 0, &err));
    assert_int_equal(err, -12);
    assert_int_equal(kmem_kernel.used, KMEM_RECORDS); /* the refused one charged nothing */
    /* more records (the kernel gives a frame): exactly as many as fit */
    static struct kmem more[3];
    unsigned long added = kmem_records_added();
    kmem_records_add(more, sizeof more);
    assert_int_equal(kmem_records_added(), added + sizeof more);
    struct kmem *extra[3];
    for (int i = 0; i < 3; i++) {
        extra[i] = child(&kmem_kernel, 1);
        assert_true(extra[i] >= more && extra[i] < more + 3);
    }
    assert_null(kmem_new(&kmem_kernel, 1, 0, &err));
    assert_int_equal(err, -12);
    for (int i = 0; i < 3; i++)
        kmem_task_gone(extra[i]);
    for (int i = 0; i < KMEM_RECORDS; i++)
        kmem_task_gone(ks[i]);
    assert_int_equal(kmem_records(), 0);
    assert_int_equal(kmem_kernel.used, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_charge_within_and_beyond),
        cmocka_unit_test(test_chain_cannot_grow),
        cmocka_unit_test(test_dead_record_waits_for_objects),
        cmocka_unit_test(test_nodes_round_up),
        cmocka_unit_test(test_pool_exhaustion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
