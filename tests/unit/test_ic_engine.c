/* test_ic_engine.c -- the per-packet pipeline: routing into per-peer
 * batches, flush by size and by call, parking of early SYN-ACKs, expiry,
 * send failures and peer loss, and the loss-accounting identity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ic_engine.h"
#include "rf_err.h"
#include "rf_pkt.h"

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

typedef struct {
    unsigned batches, headers;
    size_t   bytes;
    int      fail;
    uint16_t last_dport;
} fake_peer_t;

static int
fake_send(void *ctx, const uint8_t *hdrs, size_t len, uint32_t count)
{
    fake_peer_t *p = ctx;
    if (p->fail)
        return RF_EFULL;
    size_t off = 0;
    ic_hdr_t h;
    unsigned n = 0;
    int r;
    while ((r = ic_batch_next(hdrs, len, &off, &h)) > 0) {
        n++;
        p->last_dport = h.dport;
    }
    assert_int_equal(r, 0);
    assert_int_equal(n, count);
    p->batches++;
    p->headers += count;
    p->bytes += len;
    return 0;
}

static const ic_engine_ops_t ops = { fake_send };
static ic_stats_t st;

static void
mk(ic_engine_t *e, uint32_t batch_max)
{
    memset(&st, 0, sizeof(st));
    ic_engine_cfg_t cfg = {
        .route = { .max_owners = 16, .max_prefixes = 64, .max_tuples = 64, .tuple_ttl_ms = 1000 },
        .batch_max = batch_max, .park_cap = 4, .park_ttl_ms = 50, .expire_budget = 64,
    };
    assert_int_equal(ic_engine_init(e, &cfg, &ops, &st), 0);
}

static size_t
mkresp(uint8_t *p, uint32_t client, uint16_t cport, uint8_t flags)
{
    memset(p, 0, 40);
    p[0] = 0x45;
    wr16(p + 2, 40 + 100);   /* says 100 bytes of payload, not captured */
    p[9] = 6;
    wr32(p + 12, IP(10, 0, 2, 10));
    wr32(p + 16, client);
    wr16(p + 20, 8080);
    wr16(p + 22, cport);
    p[20 + 12] = 0x50;
    p[20 + 13] = flags;
    return 40;
}

/* The engine's own structures agree (ic_engine_check: routes, park ring,
 * peer slots, flush list): after every packet and at the end of each test. */
static void
engine_ok(const ic_engine_t *e)
{
    char why[160];
    if (ic_engine_check(e, why, sizeof(why)) != 0)
        fail_msg("ic_engine_check: %s", why);
}

static void
pkt(ic_engine_t *e, uint32_t client, uint16_t cport, uint8_t flags, uint64_t now)
{
    uint8_t p[64];
    size_t n = mkresp(p, client, cport, flags);
    ic_engine_on_packet(e, p, n, 140, now);
    engine_ok(e);
}

static void
check_identity(const ic_engine_t *e)
{
    assert_false(ic_engine_has_pending(e));
    assert_int_equal(st.cap_pkts, st.bad_pkts + st.resp_forwarded + st.resp_lost +
                                      st.resp_unroutable + st.resp_park_expired + st.parked_now);
}

static void
test_route_and_flush(void **state)
{
    (void)state;
    ic_engine_t e;
    mk(&e, 4);
    fake_peer_t pa = { 0 }, pb = { 0 };
    uint32_t a, b;
    assert_int_equal(ic_engine_peer_add(&e, &pa, &a), 0);
    assert_int_equal(ic_engine_peer_add(&e, &pb, &b), 0);
    rf_cidr_t ra = { IP(10, 250, 0, 0), 24 }, rb = { IP(10, 250, 1, 0), 24 };
    assert_int_equal(ic_engine_claim(&e, a, &ra, NULL), 0);
    assert_int_equal(ic_engine_claim(&e, b, &rb, NULL), 0);
    for (int i = 0; i < 5; i++)
        pkt(&e, IP(10, 250, 0, 9), 1000, RF_TH_ACK, 0);
    pkt(&e, IP(10, 250, 1, 9), 1001, RF_TH_ACK, 0);
    /* Threshold 4: one batch already went out for a. */
    assert_int_equal(pa.batches, 1);
    assert_int_equal(pa.headers, 4);
    assert_int_equal(pb.batches, 0);
    assert_true(ic_engine_has_pending(&e));
    ic_engine_flush(&e);
    assert_int_equal(pa.headers, 5);
    assert_int_equal(pb.headers, 1);
    assert_int_equal(pb.last_dport, 1001);
    assert_int_equal(st.batches_sent, 3);
    /* Flush with nothing pending sends nothing. */
    ic_engine_flush(&e);
    assert_int_equal(st.batches_sent, 3);
    /* Unroutable ACK and garbage. */
    pkt(&e, IP(10, 99, 0, 1), 1, RF_TH_ACK, 0);
    ic_engine_on_packet(&e, NULL, 0, 60, 0);
    uint8_t junk[10] = { 0x45 };
    ic_engine_on_packet(&e, junk, sizeof(junk), 10, 0);
    assert_int_equal(st.resp_unroutable, 1);
    assert_int_equal(st.bad_pkts, 2);
    assert_int_equal(st.resp_forwarded, 6);
    assert_int_equal(st.cap_bytes, 6 * 140 + 140 + 70);
    check_identity(&e);
    engine_ok(&e);
    ic_engine_fini(&e);
}

static void
test_park_unpark_expire(void **state)
{
    (void)state;
    ic_engine_t e;
    mk(&e, 64);
    /* SYN-ACKs before anyone owns the range: parked (cap 4), 5th unroutable. */
    for (int i = 0; i < 5; i++)
        pkt(&e, IP(10, 250, 0, 9), (uint16_t)(2000 + i), RF_TH_SYN | RF_TH_ACK, 10);
    pkt(&e, IP(10, 250, 0, 9), 3000, RF_TH_ACK, 10);   /* plain ACK: never parked */
    assert_int_equal(st.resp_parked, 4);
    assert_int_equal(st.parked_now, 4);
    assert_int_equal(st.park_full, 1);
    assert_int_equal(st.resp_unroutable, 2);
    check_identity(&e);
    /* An owner for half of them arrives 20 ms later. */
    fake_peer_t pa = { 0 };
    uint32_t a;
    ic_engine_peer_add(&e, &pa, &a);
    ic_tuple_t t1 = { IP(10, 250, 0, 9), IP(10, 0, 2, 10), 2001, 8080 };
    ic_tuple_t t3 = { IP(10, 250, 0, 9), IP(10, 0, 2, 10), 2003, 8080 };
    assert_int_equal(ic_engine_tuple_add(&e, a, &t1, 30), 0);
    assert_int_equal(ic_engine_tuple_add(&e, a, &t3, 30), 0);
    assert_int_equal(ic_engine_unpark(&e, 30), 2);
    assert_int_equal(st.resp_unparked, 2);
    assert_int_equal(st.parked_now, 2);
    ic_engine_flush(&e);
    assert_int_equal(pa.headers, 2);
    check_identity(&e);
    /* The rest expire at 60 ms (parked at 10, ttl 50). */
    ic_engine_tick(&e, 59);
    assert_int_equal(st.resp_park_expired, 0);
    ic_engine_tick(&e, 60);
    assert_int_equal(st.resp_park_expired, 2);
    assert_int_equal(st.parked_now, 0);
    check_identity(&e);
    /* Room again after expiry; holes from delivered entries do not block. */
    for (int i = 0; i < 4; i++)
        pkt(&e, IP(10, 251, 0, 1), (uint16_t)(5000 + i), RF_TH_RST, 100);
    assert_int_equal(st.parked_now, 4);
    /* Expired entries are not delivered late. */
    rf_cidr_t all = { IP(10, 251, 0, 0), 16 };
    ic_engine_claim(&e, a, &all, NULL);
    assert_int_equal(ic_engine_unpark(&e, 200), 0);
    assert_int_equal(st.resp_park_expired, 6);
    check_identity(&e);
    engine_ok(&e);
    ic_engine_fini(&e);
}

static void
test_send_fail_and_peer_loss(void **state)
{
    (void)state;
    ic_engine_t e;
    mk(&e, 3);
    fake_peer_t pa = { 0 };
    uint32_t a;
    ic_engine_peer_add(&e, &pa, &a);
    rf_cidr_t r = { IP(10, 250, 0, 0), 16 };
    ic_engine_claim(&e, a, &r, NULL);
    pa.fail = 1;
    for (int i = 0; i < 4; i++)
        pkt(&e, IP(10, 250, 0, 1), 1, RF_TH_ACK, 0);
    assert_int_equal(st.resp_lost, 3);       /* the full batch failed */
    pa.fail = 0;
    pkt(&e, IP(10, 250, 0, 1), 1, RF_TH_ACK, 0);
    /* Connection drops with 2 headers batched: lost, not leaked. */
    ic_engine_peer_del(&e, a);
    assert_false(ic_engine_has_pending(&e));
    assert_int_equal(st.resp_lost, 5);
    assert_int_equal(st.prefixes_active, 0);
    pkt(&e, IP(10, 250, 0, 1), 1, RF_TH_ACK, 0);
    assert_int_equal(st.resp_unroutable, 1);
    ic_engine_peer_del(&e, a);   /* twice: no-op */
    check_identity(&e);
    /* A reconnect reuses the slot, starts clean and gets its own id. */
    uint32_t b;
    ic_engine_peer_add(&e, &pa, &b);
    assert_int_not_equal(a, b);
    ic_engine_claim(&e, b, &r, NULL);
    pkt(&e, IP(10, 250, 0, 1), 1, RF_TH_ACK, 0);
    ic_engine_flush(&e);
    assert_int_equal(pa.headers, 1);
    check_identity(&e);
    engine_ok(&e);
    ic_engine_fini(&e);
}

static void
test_peer_cap(void **state)
{
    (void)state;
    ic_engine_t e;
    mk(&e, 64);
    fake_peer_t p[17];
    uint32_t id[17];
    for (int i = 0; i < 16; i++)
        assert_int_equal(ic_engine_peer_add(&e, &p[i], &id[i]), 0);
    assert_int_equal(ic_engine_peer_add(&e, &p[16], &id[16]), RF_EFULL);
    engine_ok(&e);
    ic_engine_fini(&e);
}

/* Every field of ic_stats_t is exported, and docs/CLI.md's names exist. */
static void
test_stats_table(void **state)
{
    (void)state;
    assert_int_equal(ic_stats_ndefs * sizeof(uint64_t), sizeof(ic_stats_t));
    static const char *contract[] = { "cap_pkts", "cap_bytes", "kernel_drops", "bad_pkts",
                                      "resp_forwarded", "resp_unroutable", "resp_parked",
                                      "resp_park_expired", "batches_sent", "copy_conns",
                                      "tuples_registered", "auth_failures" };
    for (size_t i = 0; i < sizeof(contract) / sizeof(contract[0]); i++) {
        int found = 0;
        for (size_t k = 0; k < ic_stats_ndefs; k++)
            found |= strcmp(ic_stats_defs[k].name, contract[i]) == 0;
        assert_true(found);
    }
    for (size_t k = 0; k < ic_stats_ndefs; k++)
        for (size_t j = k + 1; j < ic_stats_ndefs; j++)
            assert_true(ic_stats_defs[k].off != ic_stats_defs[j].off);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_and_flush),
        cmocka_unit_test(test_park_unpark_expire),
        cmocka_unit_test(test_send_fail_and_peer_loss),
        cmocka_unit_test(test_peer_cap),
        cmocka_unit_test(test_stats_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
