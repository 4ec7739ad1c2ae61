/* test_cp_map.c -- port/address mapping and sampling: the properties the
 * issue asks for, over large random sets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "cp_map.h"
#include "rf_hash.h"

static void
port_bijective(void **state)
{
    /* For every (offset, copy) the map is one-to-one on 1024..65535:
     * tcpcopy collapses all p + add >= 65536 onto one port. */
    static uint8_t seen[65536];
    unsigned offsets[] = { 0, 1, 16, 511, 1023 };
    for (size_t oi = 0; oi < 5; oi++) {
        for (unsigned copies = 1; copies <= 7; copies += 3) {
            for (unsigned k = 0; k < copies; k++) {
                memset(seen, 0, sizeof(seen));
                for (uint32_t p = 1024; p <= 65535; p++) {
                    uint16_t q = cp_map_port((uint16_t)p, offsets[oi], k, copies);
                    assert_true(q >= 1024);
                    assert_int_equal(seen[q], 0);
                    seen[q] = 1;
                }
            }
        }
    }
}

static void
copies_differ(void **state)
{
    /* Copies of one session never share a (address, port). */
    rf_cidr_t r;
    rf_cidr_parse(&r, "10.250.0.0/24", NULL);
    uint64_t x = 1;
    for (int i = 0; i < 20000; i++) {
        x = rf_mix64(x + (uint64_t)i);
        uint32_t ip = (uint32_t)x;
        uint16_t p = (uint16_t)(1024 + (x >> 32) % 64512);
        for (unsigned k = 0; k < 3; k++) {
            for (unsigned j = k + 1; j < 3; j++) {
                int same_ip = cp_map_addr(&r, ip, k, 3) == cp_map_addr(&r, ip, j, 3);
                int same_port = cp_map_port(p, 7, k, 3) == cp_map_port(p, 7, j, 3);
                assert_false(same_ip && same_port);
            }
        }
    }
}

static void
addr_in_range_and_even(void **state)
{
    rf_cidr_t r;
    rf_cidr_parse(&r, "10.250.4.0/24", NULL);
    unsigned hist[256] = { 0 };
    for (uint32_t ip = 0; ip < 254 * 200; ip++) {
        uint32_t a = cp_map_addr(&r, 0xc0a80000u + ip, 0, 1);
        assert_true(rf_cidr_contains(&r, a));
        assert_true((a & 255) != 0 && (a & 255) != 255);
        hist[a & 255]++;
    }
    for (int i = 1; i < 255; i++) {
        assert_true(hist[i] > 120);   /* mean 200: spread evenly */
        assert_true(hist[i] < 290);
    }
    rf_cidr_parse(&r, "10.9.9.9/32", NULL);
    assert_int_equal(cp_map_addr(&r, 1, 2, 3), 0x0a090909u);
}

static void
sampling_is_fair(void **state)
{
    /* Sessions from ONE client address (wrk on one host): tcpcopy's
     * one-byte fold gives 0.6 instead of 0.5 on such sets. */
    unsigned kept = 0, n = 100000;
    for (unsigned i = 0; i < n; i++)
        kept += (unsigned)cp_map_sampled(0x0ac70a0au, (uint16_t)(32768 + (i * 2) % 28000 + i / 14000),
                                         0x0ac70014u, 80, 50);
    assert_true(kept > n / 2 - n / 100 && kept < n / 2 + n / 100);
    assert_int_equal(cp_map_sampled(1, 2, 3, 4, 100), 1);
}

static void
shard_partitions(void **state)
{
    unsigned count[3] = { 0 };
    for (unsigned i = 0; i < 30000; i++) {
        uint32_t c = 0x0a000000u + i;
        int owners = 0;
        for (unsigned s = 0; s < 3; s++) {
            if (cp_map_shard_mine(c, (uint16_t)(40000 + i), 0x0a000099u, 80, s, 3)) {
                owners++;
                count[s]++;
            }
        }
        assert_int_equal(owners, 1);
    }
    for (unsigned s = 0; s < 3; s++)
        assert_true(count[s] > 9000 && count[s] < 11000);
}

/* Capture-group buckets: the --shard hash, so a set of 2^k buckets with
 * bits b % N == I replays exactly what --shard I/N replays; both
 * directions of a flow land in one bucket. */
static void
shard_set_agrees_with_shard(void **state)
{
    cp_shard_t s;
    uint8_t bits[1024 / 8];
    memset(bits, 0, sizeof(bits));
    for (unsigned b = 0; b < 1024; b++)
        if (b % 4 == 1)
            bits[b / 8] = (uint8_t)(bits[b / 8] | 1u << (b % 8));
    assert_int_equal(cp_map_shard_load(&s, 1, 1024, bits, sizeof(bits), NULL), 0);
    assert_int_equal(cp_map_shard_count(&s), 256);
    for (unsigned i = 0; i < 20000; i++) {
        uint32_t c = 0x0ac70000u + i * 7;
        uint16_t p = (uint16_t)(1024 + i * 13);
        assert_int_equal(cp_map_shard_owned(&s, c, p, 0x0a000099u, 80),
                         cp_map_shard_mine(c, p, 0x0a000099u, 80, 1, 4));
        assert_int_equal(cp_map_bucket(c, p, 0x0a000099u, 80, 1024),
                         cp_map_bucket(0x0a000099u, 80, c, p, 1024));
    }
    /* no set: every flow */
    assert_int_equal(cp_map_shard_load(&s, 0, 0, NULL, 0, NULL), 0);
    assert_int_equal(cp_map_shard_owned(&s, 1, 2, 3, 4), 1);
    assert_int_equal(cp_map_shard_count(&s), 0);
}

static void
shard_set_refuses_bad_input(void **state)
{
    cp_shard_t s;
    uint8_t bits[600];
    rf_errbuf_t err;
    memset(bits, 0xff, sizeof(bits));
    assert_int_equal(cp_map_shard_load(&s, 1, 0, bits, 0, &err), RF_EPLAN);
    assert_int_equal(cp_map_shard_load(&s, 1, 4097, bits, 513, &err), RF_EPLAN);
    assert_int_equal(cp_map_shard_load(&s, 1, 1024, bits, 127, &err), RF_EPLAN);
    assert_non_null(strstr(err.msg, "127 bytes"));
    assert_int_equal(cp_map_shard_load(&s, 1, 1024, NULL, 128, &err), RF_EPLAN);
    /* an empty set replays nothing; bits past the count are ignored */
    memset(bits, 0, sizeof(bits));
    bits[1] = 0xfe;   /* buckets 9..15 of 9: only... none exist past 8 */
    assert_int_equal(cp_map_shard_load(&s, 1, 9, bits, 2, &err), 0);
    assert_int_equal(cp_map_shard_count(&s), 0);
    for (unsigned i = 0; i < 1000; i++)
        assert_int_equal(cp_map_shard_owned(&s, 0x0a000001u + i, 5000, 0x0a000099u, 80), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(port_bijective), cmocka_unit_test(copies_differ),
        cmocka_unit_test(addr_in_range_and_even), cmocka_unit_test(sampling_is_fair),
        cmocka_unit_test(shard_partitions), cmocka_unit_test(shard_set_agrees_with_shard),
        cmocka_unit_test(shard_set_refuses_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
