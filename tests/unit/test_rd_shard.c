/* test_rd_shard.c -- rendezvous hashing of flow buckets over capture-group
 * members: disjoint and complete, balanced, minimal movement on leave and
 * join, order-independent; bitmap text and hex forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rd_shard.h"

static char ids[RD_GROUP_AGENTS_MAX][RD_ID_MAX];
static rd_shard_t a[RD_GROUP_AGENTS_MAX], b[RD_GROUP_AGENTS_MAX];

static void
name_members(size_t n)
{
    for (size_t i = 0; i < n; i++)
        snprintf(ids[i], RD_ID_MAX, "cap-%zu", i + 1);
}

/* Every bucket has exactly one owner among the live members. */
static void
check_partition(const rd_shard_t *s, const uint8_t *live, size_t n)
{
    for (uint32_t k = 0; k < RD_SHARD_BUCKETS; k++) {
        unsigned owners = 0;
        for (size_t i = 0; i < n; i++)
            if (rd_shard_has(&s[i], k)) {
                owners++;
                assert_true(live[i]);
            }
        assert_int_equal(owners, 1);
    }
}

static void
partition_and_balance(void **state)
{
    (void)state;
    for (size_t n = 1; n <= 40; n++) {
        uint8_t live[40];
        memset(live, 1, sizeof(live));
        name_members(n);
        rd_shard_assign(a, (const char (*)[RD_ID_MAX])ids, live, n);
        check_partition(a, live, n);
        for (size_t i = 0; i < n && n <= 8; i++) {
            /* 1024 buckets over <= 8 members: within 25% of the mean */
            unsigned c = rd_shard_count(&a[i]), mean = RD_SHARD_BUCKETS / (unsigned)n;
            assert_true(c > mean * 3 / 4 && c < mean * 5 / 4);
        }
    }
}

/* Leave: only the departed member's buckets move; join: only buckets that
 * go to the newcomer move. */
static void
minimal_movement(void **state)
{
    (void)state;
    uint8_t live[3] = { 1, 1, 1 };
    name_members(3);
    rd_shard_assign(a, (const char (*)[RD_ID_MAX])ids, live, 3);
    live[1] = 0;
    rd_shard_assign(b, (const char (*)[RD_ID_MAX])ids, live, 3);
    check_partition(b, live, 3);
    assert_int_equal(rd_shard_count(&b[1]), 0);
    for (uint32_t k = 0; k < RD_SHARD_BUCKETS; k++) {
        if (rd_shard_has(&a[0], k))
            assert_true(rd_shard_has(&b[0], k));
        if (rd_shard_has(&a[2], k))
            assert_true(rd_shard_has(&b[2], k));
    }
    /* it comes back: exactly its old buckets return to it */
    live[1] = 1;
    rd_shard_assign(b, (const char (*)[RD_ID_MAX])ids, live, 3);
    assert_memory_equal(a, b, 3 * sizeof(rd_shard_t));
}

/* The list order (a plan reordered, a "*" expansion) changes nothing. */
static void
order_independent(void **state)
{
    (void)state;
    uint8_t live[5] = { 1, 1, 0, 1, 1 };
    name_members(5);
    rd_shard_assign(a, (const char (*)[RD_ID_MAX])ids, live, 5);
    char rev[5][RD_ID_MAX];
    uint8_t rlive[5];
    for (size_t i = 0; i < 5; i++) {
        memcpy(rev[i], ids[4 - i], RD_ID_MAX);
        rlive[i] = live[4 - i];
    }
    rd_shard_assign(b, (const char (*)[RD_ID_MAX])rev, rlive, 5);
    for (size_t i = 0; i < 5; i++)
        assert_memory_equal(&a[i], &b[4 - i], sizeof(rd_shard_t));
    /* weights are fixed numbers: a replayd upgrade must not move flows */
    assert_true(rd_shard_weight("cap-1", 0) != rd_shard_weight("cap-2", 0));
    assert_true(rd_shard_weight("cap-1", 0) == rd_shard_weight("cap-1", 0));
}

/* Nobody up: everyone counts, so members that come back one by one never
 * overlap. */
static void
nobody_live(void **state)
{
    (void)state;
    uint8_t live[4] = { 0 }, all[4] = { 1, 1, 1, 1 };
    name_members(4);
    rd_shard_assign(a, (const char (*)[RD_ID_MAX])ids, live, 4);
    check_partition(a, all, 4);
}

static void
text_and_hex(void **state)
{
    (void)state;
    rd_shard_t s, t;
    char buf[8192], hex[RD_SHARD_HEX_LEN];
    memset(&s, 0, sizeof(s));
    assert_int_equal(rd_shard_format(&s, buf, sizeof(buf)), 1);
    assert_string_equal(buf, "-");
    rd_shard_set(&s, 0);
    rd_shard_set(&s, 1);
    rd_shard_set(&s, 2);
    rd_shard_set(&s, 9);
    rd_shard_set(&s, 1023);
    assert_int_equal(rd_shard_count(&s), 5);
    size_t need = rd_shard_format(&s, NULL, 0);
    assert_int_equal(rd_shard_format(&s, buf, sizeof(buf)), need);
    assert_string_equal(buf, "0-2,9,1023");
    assert_int_equal(rd_shard_format(&s, buf, 4), need);   /* cut, terminated */
    assert_string_equal(buf, "0-2");
    for (uint32_t k = 0; k < RD_SHARD_BUCKETS; k += 2)   /* the worst case fits */
        rd_shard_set(&s, k);
    assert_true(rd_shard_format(&s, NULL, 0) < sizeof(buf));
    rd_shard_to_hex(&s, hex);
    assert_int_equal(strlen(hex), RD_SHARD_HEX_LEN - 1);
    assert_int_equal(rd_shard_from_hex(&t, hex), 0);
    assert_memory_equal(&s, &t, sizeof(s));
    hex[5] = 'X';
    assert_int_equal(rd_shard_from_hex(&t, hex), -1);
    assert_int_equal(rd_shard_from_hex(&t, "00"), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(partition_and_balance), cmocka_unit_test(minimal_movement),
        cmocka_unit_test(order_independent),     cmocka_unit_test(nobody_live),
        cmocka_unit_test(text_and_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
