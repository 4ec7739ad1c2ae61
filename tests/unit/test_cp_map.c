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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(port_bijective), cmocka_unit_test(copies_differ),
        cmocka_unit_test(addr_in_range_and_even), cmocka_unit_test(sampling_is_fair),
        cmocka_unit_test(shard_partitions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
