/* test_ic_route.c -- ic_route: owners, prefix LPM, tuple precedence, expiry,
 * caps, overlap handling, stale routes after an owner leaves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ic_route.h"
#include "rf_err.h"

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

static ic_stats_t st;

static void
mk(ic_route_t *r, unsigned owners, unsigned pfx, size_t tuples, uint64_t ttl)
{
    memset(&st, 0, sizeof(st));
    ic_route_cfg_t cfg = { .max_owners = owners, .max_prefixes = pfx, .max_tuples = tuples,
                           .tuple_ttl_ms = ttl };
    assert_int_equal(ic_route_init(r, &cfg, &st), 0);
}

/* The table's own structures agree (ic_route_check): at the end of every
 * test and along the random model. */
static void
route_ok(const ic_route_t *r)
{
    char why[160];
    if (ic_route_check(r, why, sizeof(why)) != 0)
        fail_msg("ic_route_check: %s", why);
}

static uint32_t
claim(ic_route_t *r, uint32_t owner, uint32_t addr, uint8_t len, ic_overlap_t *ov)
{
    rf_cidr_t c = { addr, len };
    return (uint32_t)ic_route_claim(r, owner, &c, ov);
}

static void
test_lpm(void **state)
{
    (void)state;
    ic_route_t r;
    mk(&r, 8, 64, 16, 1000);
    uint32_t a, b, c;
    assert_int_equal(ic_route_owner_add(&r, &a), 0);
    assert_int_equal(ic_route_owner_add(&r, &b), 0);
    assert_int_equal(ic_route_owner_add(&r, &c), 0);
    assert_int_not_equal(a, IC_OWNER_NONE);
    assert_int_equal(claim(&r, a, IP(10, 250, 0, 0), 16, NULL), 0);
    assert_int_equal(claim(&r, b, IP(10, 250, 7, 0), 24, NULL), 0);
    assert_int_equal(claim(&r, c, IP(10, 250, 7, 9), 32, NULL), 0);
    assert_int_equal(st.route_overlaps, 2);   /* b inside a, c inside both */
    assert_int_equal(st.prefixes_active, 3);
    assert_int_equal(ic_route_lookup(&r, IP(10, 250, 1, 1), 1, IP(1, 1, 1, 1), 80, 0), a);
    assert_int_equal(ic_route_lookup(&r, IP(10, 250, 7, 1), 1, IP(1, 1, 1, 1), 80, 0), b);
    assert_int_equal(ic_route_lookup(&r, IP(10, 250, 7, 9), 1, IP(1, 1, 1, 1), 80, 0), c);
    assert_int_equal(ic_route_lookup(&r, IP(10, 251, 0, 1), 1, IP(1, 1, 1, 1), 80, 0),
                     IC_OWNER_NONE);
    /* Removing the most specific owner falls back to the next prefix. */
    ic_route_owner_del(&r, c);
    assert_int_equal(ic_route_lookup(&r, IP(10, 250, 7, 9), 1, IP(1, 1, 1, 1), 80, 0), b);
    ic_route_owner_del(&r, b);
    assert_int_equal(ic_route_lookup(&r, IP(10, 250, 7, 9), 1, IP(1, 1, 1, 1), 80, 0), a);
    assert_int_equal(st.prefixes_active, 1);
    route_ok(&r);
    ic_route_fini(&r);
}

static void
test_lpm_many(void **state)
{
    (void)state;
    ic_route_t r;
    mk(&r, 300, 1024, 16, 1000);
    uint32_t ids[256];
    /* 256 disjoint /24s in shuffled order plus a default route. */
    for (unsigned i = 0; i < 256; i++)
        assert_int_equal(ic_route_owner_add(&r, &ids[i]), 0);
    for (unsigned k = 0; k < 256; k++) {
        unsigned i = (k * 97) % 256;
        assert_int_equal(claim(&r, ids[i], IP(10, 9, i, 0), 24, NULL), 0);
    }
    uint32_t dflt;
    assert_int_equal(ic_route_owner_add(&r, &dflt), 0);
    assert_int_equal(claim(&r, dflt, 0, 0, NULL), 0);
    for (unsigned i = 0; i < 256; i++)
        assert_int_equal(ic_route_lookup(&r, IP(10, 9, i, 77), 5, IP(1, 2, 3, 4), 80, 0), ids[i]);
    assert_int_equal(ic_route_lookup(&r, IP(192, 168, 0, 1), 5, IP(1, 2, 3, 4), 80, 0), dflt);
    route_ok(&r);
    ic_route_fini(&r);
}

static void
test_equal_overlap_latest_wins(void **state)
{
    (void)state;
    ic_route_t r;
    mk(&r, 8, 64, 16, 1000);
    uint32_t a, b;
    ic_route_owner_add(&r, &a);
    ic_route_owner_add(&r, &b);
    ic_overlap_t ov;
    assert_int_equal(claim(&r, a, IP(10, 1, 0, 0), 16, &ov), 0);
    assert_int_equal(ov.kind, IC_OVERLAP_NONE);
    assert_int_equal(claim(&r, a, IP(10, 1, 0, 0), 16, &ov), 0);   /* idempotent */
    assert_int_equal(ov.kind, IC_OVERLAP_NONE);
    assert_int_equal(st.route_overlaps, 0);
    assert_int_equal(claim(&r, b, IP(10, 1, 0, 0), 16, &ov), 0);
    assert_int_equal(ov.kind, IC_OVERLAP_EQUAL);
    assert_int_equal(ov.other, a);
    assert_int_equal(st.route_overlaps, 1);
    assert_int_equal(st.prefixes_active, 1);
    assert_int_equal(ic_route_lookup(&r, IP(10, 1, 2, 3), 1, 0, 0, 0), b);
    /* The loser leaving must not take the winner's prefix with it. */
    ic_route_owner_del(&r, a);
    assert_int_equal(ic_route_lookup(&r, IP(10, 1, 2, 3), 1, 0, 0, 0), b);
    /* Nested overlap is reported but both are kept. */
    uint32_t c;
    ic_route_owner_add(&r, &c);
    assert_int_equal(claim(&r, c, IP(10, 0, 0, 0), 8, &ov), 0);
    assert_int_equal(ov.kind, IC_OVERLAP_NESTED);
    assert_int_equal(ov.other, b);
    assert_int_equal(ov.n, 1);
    assert_int_equal(st.route_overlaps, 2);
    route_ok(&r);
    ic_route_fini(&r);
}

static void
test_bad_claims(void **state)
{
    (void)state;
    ic_route_t r;
    mk(&r, 2, 2, 16, 1000);
    uint32_t a, b, c;
    ic_route_owner_add(&r, &a);
    assert_int_equal(claim(&r, a, IP(10, 1, 0, 1), 16, NULL), (uint32_t)RF_EPARSE);
    assert_int_equal(claim(&r, a, IP(10, 1, 0, 0), 33, NULL), (uint32_t)RF_EPARSE);
    assert_int_equal(claim(&r, 0x12345678, IP(10, 1, 0, 0), 16, NULL), (uint32_t)RF_ESTATE);
    assert_int_equal(claim(&r, a, IP(10, 1, 0, 0), 16, NULL), 0);
    assert_int_equal(claim(&r, a, IP(10, 2, 0, 0), 16, NULL), 0);
    assert_int_equal(claim(&r, a, IP(10, 3, 0, 0), 16, NULL), (uint32_t)RF_EFULL);
    /* Owner cap. */
    assert_int_equal(ic_route_owner_add(&r, &b), 0);
    assert_int_equal(ic_route_owner_add(&r, &c), RF_EFULL);
    ic_route_owner_del(&r, b);
    assert_int_equal(ic_route_owner_add(&r, &c), 0);
    assert_int_not_equal(b, c);   /* same slot, new generation */
    assert_false(ic_route_owner_alive(&r, b));
    ic_route_owner_del(&r, b);    /* stale id: no-op */
    assert_true(ic_route_owner_alive(&r, c));
    route_ok(&r);
    ic_route_fini(&r);
}

static void
test_tuple_precedence_and_stale(void **state)
{
    (void)state;
    ic_route_t r;
    mk(&r, 8, 16, 64, 1000);
    uint32_t a, b;
    ic_route_owner_add(&r, &a);
    ic_route_owner_add(&r, &b);
    claim(&r, a, IP(10, 1, 0, 0), 16, NULL);
    ic_tuple_t t = { .client_ip = IP(10, 1, 0, 5), .client_port = 40000,
                     .target_ip = IP(10, 0, 2, 10), .target_port = 8080 };
    assert_int_equal(ic_route_tuple_add(&r, b, &t, 0), 0);
    assert_int_equal(st.tuples_active, 1);
    /* Response: src = target, dst = client. */
    assert_int_equal(ic_route_lookup(&r, t.client_ip, 40000, t.target_ip, 8080, 1), b);
    assert_int_equal(ic_route_lookup(&r, t.client_ip, 40001, t.target_ip, 8080, 1), a);
    assert_int_equal(ic_route_lookup(&r, t.client_ip, 40000, t.target_ip, 8081, 1), a);
    /* Delete by a non-holder is ignored; by the holder works. */
    assert_int_equal(ic_route_tuple_del(&r, a, &t), 0);
    assert_int_equal(ic_route_tuple_del(&r, b, &t), 1);
    assert_int_equal(ic_route_lookup(&r, t.client_ip, 40000, t.target_ip, 8080, 1), a);
    /* Re-registration moves the tuple; the owner leaving makes it stale. */
    ic_route_tuple_add(&r, a, &t, 0);
    ic_route_tuple_add(&r, b, &t, 0);
    assert_int_equal(st.tuples_active, 1);
    ic_route_owner_del(&r, b);
    assert_int_equal(ic_route_lookup(&r, t.client_ip, 40000, t.target_ip, 8080, 2), a);
    assert_int_equal(st.tuples_active, 0);
    assert_int_equal(st.tuples_expired, 1);
    /* A new owner in b's slot does not inherit b's tuples. */
    uint32_t c;
    ic_route_owner_add(&r, &c);
    ic_route_tuple_add(&r, a, &t, 0);
    assert_int_equal(ic_route_lookup(&r, t.client_ip, 40000, t.target_ip, 8080, 2), a);
    assert_int_equal(ic_route_tuple_add(&r, b, &t, 0), RF_ESTATE);
    route_ok(&r);
    ic_route_fini(&r);
}

static void
test_tuple_expiry_and_cap(void **state)
{
    (void)state;
    ic_route_t r;
    mk(&r, 4, 4, 100, 1000);
    uint32_t a;
    ic_route_owner_add(&r, &a);
    for (unsigned i = 0; i < 100; i++) {
        ic_tuple_t t = { IP(10, 2, 0, 1), IP(10, 0, 0, 1), (uint16_t)(1024 + i), 80 };
        assert_int_equal(ic_route_tuple_add(&r, a, &t, 0), 0);
    }
    ic_tuple_t over = { IP(10, 2, 0, 2), IP(10, 0, 0, 1), 9, 80 };
    assert_int_equal(ic_route_tuple_add(&r, a, &over, 0), RF_EFULL);
    assert_int_equal(st.tuples_full, 1);
    /* Re-adding an existing one is fine at the cap. */
    ic_tuple_t t0 = { IP(10, 2, 0, 1), IP(10, 0, 0, 1), 1024, 80 };
    assert_int_equal(ic_route_tuple_add(&r, a, &t0, 0), 0);
    /* Keep every 10th alive with lookups at t=900. */
    for (unsigned i = 0; i < 100; i += 10)
        assert_int_equal(ic_route_lookup(&r, IP(10, 2, 0, 1), (uint16_t)(1024 + i),
                                         IP(10, 0, 0, 1), 80, 900), a);
    /* Full sweep at t=1500: the others are idle for >= 1000 ms. */
    size_t dropped = 0;
    for (int k = 0; k < 4; k++)
        dropped += ic_route_expire(&r, 1500, 256);
    assert_int_equal(dropped, 90);
    assert_int_equal(st.tuples_active, 10);
    assert_int_equal(st.tuples_expired, 90);
    for (unsigned i = 0; i < 100; i++) {
        uint32_t o = ic_route_lookup(&r, IP(10, 2, 0, 1), (uint16_t)(1024 + i), IP(10, 0, 0, 1),
                                     80, 1500);
        assert_int_equal(o, (i % 10 == 0) ? a : IC_OWNER_NONE);
    }
    /* Room again. */
    assert_int_equal(ic_route_tuple_add(&r, a, &over, 1500), 0);
    route_ok(&r);
    ic_route_fini(&r);
}

/* Random adds/deletes against a brute-force model: backward-shift deletion
 * must never lose an entry. */
static void
test_tuple_table_model(void **state)
{
    (void)state;
    ic_route_t r;
    mk(&r, 4, 4, 512, 1u << 30);
    uint32_t a;
    ic_route_owner_add(&r, &a);
    enum { N = 700 };
    static uint8_t in[N];
    memset(in, 0, sizeof(in));
    uint32_t x = 12345;
    unsigned live = 0;
    for (int step = 0; step < 20000; step++) {
        x = x * 1103515245u + 12345u;
        unsigned k = (x >> 8) % N;
        ic_tuple_t t = { IP(10, 3, k >> 8, k & 0xff), IP(10, 0, 0, 1), (uint16_t)(k * 7), 80 };
        if (in[k]) {
            assert_int_equal(ic_route_tuple_del(&r, a, &t), 1);
            in[k] = 0;
            live--;
        } else {
            int rc = ic_route_tuple_add(&r, a, &t, 0);
            if (live >= 512) {
                assert_int_equal(rc, RF_EFULL);
            } else {
                assert_int_equal(rc, 0);
                in[k] = 1;
                live++;
            }
        }
        if (step % 97 == 0)
            route_ok(&r);
        if (step % 1000 == 0) {
            for (unsigned j = 0; j < N; j++) {
                uint32_t o = ic_route_lookup(&r, IP(10, 3, j >> 8, j & 0xff), (uint16_t)(j * 7),
                                             IP(10, 0, 0, 1), 80, 0);
                assert_int_equal(o, in[j] ? a : IC_OWNER_NONE);
            }
        }
    }
    assert_int_equal(st.tuples_active, live);
    route_ok(&r);
    ic_route_fini(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lpm),
        cmocka_unit_test(test_lpm_many),
        cmocka_unit_test(test_equal_overlap_latest_wins),
        cmocka_unit_test(test_bad_claims),
        cmocka_unit_test(test_tuple_precedence_and_stale),
        cmocka_unit_test(test_tuple_expiry_and_cap),
        cmocka_unit_test(test_tuple_table_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
