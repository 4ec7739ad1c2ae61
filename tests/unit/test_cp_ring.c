/* test_cp_ring.c -- the capture ring's geometry: blocks hold one maximal
 * frame, are a power of two pages (what the kernel really allocates), and
 * the count follows the memory asked for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cp_ring.h"

static void
block_fits_a_gro_frame(void **state)
{
    (void)state;
    /* 64 KiB GRO segment + Ethernet/VLAN header: 128 KiB blocks, not
     * libpcap's 256 KiB and not a 68 KiB page multiple (backed by 128). */
    cp_ring_geom_t g = cp_ring_geometry(8u << 20, 65535 + 18, 4096);
    assert_int_equal(g.block_size, 131072);
    assert_int_equal(g.nblocks, 64);
    g = cp_ring_geometry(16u << 20, 65535 + 18, 4096);
    assert_int_equal(g.nblocks, 128);
}

static void
power_of_two_pages(void **state)
{
    (void)state;
    size_t frames[] = { 60, 1514, 4000, 9000, 65553 };
    for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
        cp_ring_geom_t g = cp_ring_geometry(4u << 20, frames[i], 4096);
        assert_true(g.block_size >= frames[i] + 64);
        assert_true(g.block_size % 4096 == 0);
        assert_true((g.block_size & (g.block_size - 1)) == 0);
        /* the smallest such: half of it would not hold the frame */
        assert_true(g.block_size == 4096 || g.block_size / 2 < frames[i] + 128 + 64);
        assert_int_equal(g.nblocks, (4u << 20) / g.block_size);
    }
}

static void
at_least_two_blocks(void **state)
{
    (void)state;
    /* The kernel retires one block while we read the other. */
    cp_ring_geom_t g = cp_ring_geometry(1, 65553, 4096);
    assert_int_equal(g.nblocks, 2);
    g = cp_ring_geometry(0, 1514, 4096);
    assert_int_equal(g.nblocks, 2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(block_fits_a_gro_frame),
        cmocka_unit_test(power_of_two_pages),
        cmocka_unit_test(at_least_two_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
