/* test_ic_batch.c -- ic_hdr_parse on good, truncated and garbage input;
 * ic_batch header copy (options kept, payload dropped, tot_len untouched),
 * thresholds, and the ic_batch_next splitter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ic_batch.h"
#include "rf_err.h"
#include "rf_pkt.h"

/* IPv4 (ihl bytes, zero-padded options) + TCP (doff bytes, NOP options)
 * + payload bytes of 'P'. Returns the length written. */
static size_t
mkpkt(uint8_t *p, unsigned ihl, unsigned doff, unsigned payload, uint8_t flags)
{
    memset(p, 0, ihl + doff + payload);
    p[0] = (uint8_t)(0x40 | (ihl / 4));
    wr16(p + 2, (uint16_t)(ihl + doff + payload));
    p[8] = 64;
    p[9] = 6;
    wr32(p + 12, 0x0a00020a);   /* target 10.0.2.10 */
    wr32(p + 16, 0x0afa0005);   /* client 10.250.0.5 */
    uint8_t *t = p + ihl;
    wr16(t, 8080);
    wr16(t + 2, 40000);
    wr32(t + 4, 1000);
    wr32(t + 8, 2000);
    t[12] = (uint8_t)((doff / 4) << 4);
    t[13] = flags;
    wr16(t + 14, 65535);
    for (unsigned i = 20; i < doff; i++)
        t[i] = 1;   /* NOP */
    memset(t + doff, 'P', payload);
    return ihl + doff + payload;
}

static void
test_parse_ok(void **state)
{
    (void)state;
    uint8_t p[2000];
    size_t n = mkpkt(p, 20, 32, 1000, RF_TH_ACK | RF_TH_SYN);
    ic_hdr_t h;
    assert_int_equal(ic_hdr_parse(&h, p, n), 0);
    assert_int_equal(h.hlen, 52);
    assert_int_equal(h.saddr, 0x0a00020a);
    assert_int_equal(h.daddr, 0x0afa0005);
    assert_int_equal(h.sport, 8080);
    assert_int_equal(h.dport, 40000);
    assert_int_equal(h.flags, RF_TH_ACK | RF_TH_SYN);
    /* Only headers captured (snaplen): still fine, tot_len says more. */
    assert_int_equal(ic_hdr_parse(&h, p, 52), 0);
    /* Max-size headers. */
    n = mkpkt(p, 60, 60, 0, RF_TH_ACK);
    assert_int_equal(ic_hdr_parse(&h, p, n), 0);
    assert_int_equal(h.hlen, 120);
}

static void
test_parse_bad(void **state)
{
    (void)state;
    uint8_t p[256];
    ic_hdr_t h;
    size_t n = mkpkt(p, 20, 40, 10, RF_TH_ACK);
    /* Every truncation short of the full headers is refused. */
    for (size_t cut = 0; cut < 60; cut++)
        assert_true(ic_hdr_parse(&h, p, cut) < 0);
    assert_int_equal(ic_hdr_parse(&h, p, 60), 0);
    assert_true(ic_hdr_parse(&h, NULL, 100) < 0);
    uint8_t q[256];
    memcpy(q, p, n);
    q[0] = 0x65;                       /* IPv6 version nibble */
    assert_int_equal(ic_hdr_parse(&h, q, n), RF_PKT_ENOTV4);
    memcpy(q, p, n);
    q[0] = 0x44;                       /* IHL 16 */
    assert_true(ic_hdr_parse(&h, q, n) < 0);
    memcpy(q, p, n);
    q[9] = 17;                         /* UDP */
    assert_int_equal(ic_hdr_parse(&h, q, n), RF_PKT_ENOTTCP);
    memcpy(q, p, n);
    q[20 + 12] = 0x30;                 /* doff 12 */
    assert_true(ic_hdr_parse(&h, q, n) < 0);
    memcpy(q, p, n);
    wr16(q + 2, 30);                   /* tot_len shorter than headers */
    assert_true(ic_hdr_parse(&h, q, n) < 0);
    memcpy(q, p, n);
    wr16(q + 6, 0x2000);               /* more fragments */
    assert_int_equal(ic_hdr_parse(&h, q, n), RF_PKT_EFRAG);
    /* Garbage: must return, never crash (ASan watches the reads). */
    uint32_t x = 7;
    for (int i = 0; i < 20000; i++) {
        size_t len = (size_t)(i % 130);
        uint8_t g[130];
        for (size_t k = 0; k < len; k++) {
            x = x * 1664525u + 1013904223u;
            g[k] = (uint8_t)(x >> 24);
        }
        if (len > 0 && (i & 1))
            g[0] = (uint8_t)(0x40 | (g[0] & 0x0f));
        if (len > 9 && (i & 2))
            g[9] = 6;
        if (ic_hdr_parse(&h, len ? g : NULL, len) == 0)
            assert_true(h.hlen <= len && h.hlen <= IC_HDR_MAX);
    }
}

static void
test_batch_copy(void **state)
{
    (void)state;
    ic_batch_t b;
    ic_batch_init(&b, 0);
    assert_int_equal(b.max, IC_BATCH_MAX);
    uint8_t p1[1600], p2[200];
    size_t n1 = mkpkt(p1, 20, 40, 1400, RF_TH_ACK | RF_TH_PSH);
    size_t n2 = mkpkt(p2, 24, 20, 0, RF_TH_ACK | RF_TH_SYN);
    ic_hdr_t h1, h2;
    assert_int_equal(ic_hdr_parse(&h1, p1, 60 + 30), 0);   /* snaplen cut */
    assert_int_equal(ic_hdr_parse(&h2, p2, n2), 0);
    assert_int_equal(ic_batch_add(&b, &h1), 0);
    assert_int_equal(ic_batch_add(&b, &h2), 0);
    assert_int_equal(b.count, 2);
    assert_int_equal(b.len, 60 + 44);
    /* Header bytes verbatim, options included, no payload, tot_len as captured. */
    assert_memory_equal(b.buf, p1, 60);
    assert_memory_equal(b.buf + 60, p2, 44);
    assert_int_equal(rd16(b.buf + 2), n1);
    size_t off = 0;
    ic_hdr_t o;
    assert_int_equal(ic_batch_next(b.buf, b.len, &off, &o), 60);
    assert_int_equal(o.dport, 40000);
    assert_int_equal(ic_batch_next(b.buf, b.len, &off, &o), 44);
    assert_int_equal(o.flags, RF_TH_ACK | RF_TH_SYN);
    assert_int_equal(ic_batch_next(b.buf, b.len, &off, &o), 0);
    /* Splitter on broken input. */
    off = 0;
    assert_int_equal(ic_batch_next(b.buf, 50, &off, &o), RF_EDECODE);
    uint8_t junk[8] = { 0x45, 0, 0, 0, 0, 0, 0, 0 };
    off = 0;
    assert_int_equal(ic_batch_next(junk, sizeof(junk), &off, &o), RF_EDECODE);
}

static void
test_batch_threshold(void **state)
{
    (void)state;
    uint8_t p[200];
    size_t n = mkpkt(p, 60, 60, 0, RF_TH_ACK);
    ic_hdr_t h;
    assert_int_equal(ic_hdr_parse(&h, p, n), 0);
    ic_batch_t b;
    ic_batch_init(&b, 4);
    assert_int_equal(ic_batch_add(&b, &h), 0);
    assert_int_equal(ic_batch_add(&b, &h), 0);
    assert_int_equal(ic_batch_add(&b, &h), 0);
    assert_int_equal(ic_batch_add(&b, &h), 1);   /* flush now */
    ic_batch_reset(&b);
    assert_int_equal(b.count, 0);
    /* Full-size batch of max-size headers fits exactly. */
    ic_batch_init(&b, 1000);
    assert_int_equal(b.max, IC_BATCH_MAX);
    for (unsigned i = 0; i + 1 < IC_BATCH_MAX; i++)
        assert_int_equal(ic_batch_add(&b, &h), 0);
    assert_int_equal(ic_batch_add(&b, &h), 1);
    assert_int_equal(b.len, sizeof(b.buf));
    assert_int_equal(ic_batch_add(&b, &h), RF_EFULL);   /* caller forgot to flush */
    assert_int_equal(b.count, IC_BATCH_MAX);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_batch_copy),
        cmocka_unit_test(test_batch_threshold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
