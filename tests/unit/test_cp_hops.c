/* test_cp_hops.c -- the next-hop table: targets found and added, a full
 * table refuses (those targets go raw), and which packets may leave at the
 * link layer (resolved, within the MTU, not the one kept for the IP stack). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cp_hops.h"

static void
find_or_add(void **state)
{
    (void)state;
    static cp_hops_t t;
    cp_hop_t *a = cp_hops_get(&t, 0x0a000001);
    cp_hop_t *b = cp_hops_get(&t, 0x0a000002);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    assert_int_equal(t.n, 2);
    assert_ptr_equal(cp_hops_get(&t, 0x0a000001), a);   /* found, not added again */
    assert_ptr_equal(cp_hops_get(&t, 0x0a000002), b);
    assert_int_equal(t.n, 2);
    assert_int_equal(a->ifindex, 0);   /* new: unresolved */
    assert_int_equal(cp_hops_linked(&t), 0);
}

static void
full_table(void **state)
{
    (void)state;
    static cp_hops_t t;
    for (uint32_t i = 0; i < CP_HOPS_MAX; i++)
        assert_non_null(cp_hops_get(&t, 0x0a000000 + i));
    assert_null(cp_hops_get(&t, 0x0b000000));
    assert_int_equal(t.n, CP_HOPS_MAX);
    /* the ones in it are still found, first and last */
    assert_int_equal(cp_hops_get(&t, 0x0a000000)->daddr, 0x0a000000);
    assert_int_equal(cp_hops_get(&t, 0x0a000000 + CP_HOPS_MAX - 1)->daddr,
                     0x0a000000 + CP_HOPS_MAX - 1);
}

static void
which_way(void **state)
{
    (void)state;
    static cp_hops_t t;
    cp_hop_t *h = cp_hops_get(&t, 0x0a000001);
    assert_false(cp_hops_use_link(h, 60));   /* unresolved: raw */
    h->ifindex = 3;
    h->mtu = 1500;
    assert_int_equal(cp_hops_linked(&t), 1);
    assert_true(cp_hops_use_link(h, 60));
    assert_true(cp_hops_use_link(h, 1500));
    assert_false(cp_hops_use_link(h, 1501));   /* over the MTU: the IP stack's */
    h->via_ip = 1;                             /* after a refresh: one goes raw */
    assert_false(cp_hops_use_link(h, 60));
    assert_int_equal(h->via_ip, 0);
    assert_true(cp_hops_use_link(h, 60));
    /* an oversized packet does not consume the IP-stack turn */
    h->via_ip = 1;
    assert_false(cp_hops_use_link(h, 9000));
    assert_int_equal(h->via_ip, 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(find_or_add),
        cmocka_unit_test(full_table),
        cmocka_unit_test(which_way),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
