/* test_cp_sess.c -- the replay engine driven by hand-built packets and a
 * recording sink: handshake, held data, acks, close, retransmission with
 * backoff, copies, collisions, mid-stream, shedding, loss accounting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "cp_sess.h"
#include "engine_fixture.h"
#include "pkt_builder.h"
#include "rf_pkt.h"

#define CLIENT PB_CLIENT
#define ONLINE PB_ONLINE
#define TARGET PB_TARGET

typedef struct {
    uint8_t  pkt[64][1600];
    size_t   len[64];
    unsigned n;
    unsigned tuples_add, tuples_del;
} rec_t;

static rec_t rec;

static void
rec_emit(void *ctx, const uint8_t *ip, size_t len, uint32_t daddr)
{
    rec_t *r = ctx;
    assert_int_equal(daddr, TARGET);
    if (r->n < 64) {
        memcpy(r->pkt[r->n], ip, len);
        r->len[r->n] = len;
    }
    r->n++;
}

static void
rec_tuple(void *ctx, int add, uint32_t a, uint16_t b, uint32_t c, uint16_t d)
{
    rec_t *r = ctx;
    (void)a; (void)b; (void)c; (void)d;
    if (add)
        r->tuples_add++;
    else
        r->tuples_del++;
}

static const cp_sink_t sink = { rec_emit, rec_tuple };

static cp_engine_cfg_t
base_cfg(void)
{
    return ef_cfg(1, 8u << 20);
}

/* The engine's own structures agree (cp_engine_check): at every
 * check_accounting and after every 16th call through client() and target()
 * (the walk is O(table size); every call would make the long tests slow). */
static void
check_structures(cp_engine_t *e)
{
    char why[160] = "";
    if (cp_engine_check(e, why, sizeof(why)) != 0)
        fail_msg("cp_engine_check: %s", why);
}

static void
check_accounting(cp_engine_t *e)
{
    check_structures(e);
    const cp_stats_t *s = cp_engine_stats(e);
    assert_int_equal(s->cap_pkts, s->bad_pkts + s->no_rule + s->shard_out + s->sampled_out +
                                      s->midstream_pkts + s->shed_pkts + s->pure_acks +
                                      s->client_dups + s->accepted_pkts + s->server_pkts);
}

/* Feed one client packet. */
static void
client(cp_engine_t *e, uint16_t sport, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t plen,
       uint64_t now)
{
    uint8_t p[1600];
    size_t n = pb_build(p, CLIENT, sport, ONLINE, 80, seq, ack, flags, plen, 1, (uint32_t)now + 1000, 77);
    cp_engine_on_client(e, p, n, now);
    static unsigned calls;
    if (++calls % 16 == 0)
        check_structures(e);
}

/* Feed one target response addressed to the replayed tuple of `out`. */
static void
target(cp_engine_t *e, const uint8_t *out, uint32_t seq, uint32_t ack, uint8_t flags,
       uint16_t plen, uint64_t now)
{
    uint8_t p[1600];
    uint32_t rc = rd32(out + 12);
    uint16_t rp = rd16(out + 20);
    size_t n = pb_build(p, TARGET, 8080, rc, rp, seq, ack, flags, plen, 1, 5000 + (uint32_t)now, 1);
    /* The intercept forwards headers only: cut the payload off. */
    cp_engine_on_response(e, p, n - plen, now);
    static unsigned calls;
    if (++calls % 16 == 0)
        check_structures(e);
}

static void
full_session(void **state)
{
    memset(&rec, 0, sizeof(rec));
    cp_engine_cfg_t c = base_cfg();
    cp_engine_t *e = cp_engine_new(&c, &sink, &rec, 0);
    assert_non_null(e);
    const cp_stats_t *st = cp_engine_stats(e);

    client(e, 40000, 1000, 0, RF_TH_SYN, 0, 1);
    assert_int_equal(rec.n, 1);
    rf_tcp_view_t v;
    assert_int_equal(rf_tcp_parse(&v, rec.pkt[0], rec.len[0], 1), RF_PKT_OK);
    assert_int_equal(v.flags, RF_TH_SYN);
    assert_int_equal(v.seq, 1000);
    assert_int_equal(v.daddr, TARGET);
    assert_int_equal(v.dport, 8080);
    assert_true((v.saddr >> 16) == 0x0afa);                  /* inside -c */
    assert_int_equal(v.sport, 40000);                        /* offset 0, copy 0 */
    assert_int_equal(rf_csum_ip(rec.pkt[0], 20), 0);

    /* Handshake ACK and a request arrive before the target answers: held. */
    client(e, 40000, 1001, 5001, RF_TH_ACK, 0, 2);
    client(e, 40000, 1001, 5001, RF_TH_ACK | RF_TH_PSH, 100, 3);
    assert_int_equal(rec.n, 1);

    uint8_t syn_out[64];
    memcpy(syn_out, rec.pkt[0], 64);
    target(e, syn_out, 900000, 1001, RF_TH_SYN | RF_TH_ACK, 0, 4);
    /* Our own handshake ACK, then the held request with the target's ack. */
    assert_int_equal(rec.n, 3);
    assert_int_equal(rf_tcp_parse(&v, rec.pkt[1], rec.len[1], 1), RF_PKT_OK);
    assert_int_equal(v.flags, RF_TH_ACK);
    assert_int_equal(v.ack, 900001);
    assert_int_equal(rf_tcp_parse(&v, rec.pkt[2], rec.len[2], 1), RF_PKT_OK);
    assert_int_equal(v.payload_len, 100);
    assert_int_equal(v.seq, 1001);
    assert_int_equal(v.ack, 900001);
    rf_tcp_opts_t o;
    rf_tcp_opts(&o, v.tcp, v.tcp_hlen);
    assert_int_equal(o.ts_ecr, 5004);   /* TSecr = the target's TSval */
    uint32_t s_, d_;
    memcpy(&s_, rec.pkt[2] + 12, 4);
    memcpy(&d_, rec.pkt[2] + 16, 4);
    assert_int_equal(rf_csum_tcp(v.tcp, (uint32_t)(rec.len[2] - 20), s_, d_), 0);

    /* Response: 300 bytes + FIN (server closes). We owe one ACK. */
    target(e, syn_out, 900001, 1101, RF_TH_ACK | RF_TH_PSH | RF_TH_FIN, 300, 5);
    cp_engine_flush(e, 5);
    assert_int_equal(rec.n, 4);
    assert_int_equal(rf_tcp_parse(&v, rec.pkt[3], rec.len[3], 1), RF_PKT_OK);
    assert_int_equal(v.ack, 900302);

    /* Client closes; target acks our FIN: session complete. */
    client(e, 40000, 1101, 5302, RF_TH_ACK | RF_TH_FIN, 0, 6);
    assert_int_equal(rec.n, 5);
    assert_int_equal(rf_tcp_parse(&v, rec.pkt[4], rec.len[4], 1), RF_PKT_OK);
    assert_true(v.flags & RF_TH_FIN);
    target(e, syn_out, 900302, 1102, RF_TH_ACK, 0, 7);
    assert_int_equal(st->sess_completed, 1);
    assert_int_equal(st->accepted_pkts, 3);
    assert_int_equal(st->pure_acks, 1);
    /* TIME_WAIT ends and the slot is freed. */
    cp_engine_tick(e, 5000);
    assert_int_equal(st->sess_active, 0);
    check_accounting(e);
    cp_engine_free(e);
}

static void
retransmit_backoff_then_abort(void **state)
{
    memset(&rec, 0, sizeof(rec));
    cp_engine_cfg_t c = base_cfg();
    cp_engine_t *e = cp_engine_new(&c, &sink, &rec, 0);
    const cp_stats_t *st = cp_engine_stats(e);
    client(e, 40001, 7000, 0, RF_TH_SYN, 0, 0);
    assert_int_equal(rec.n, 1);
    /* No SYN-ACK ever: the SYN goes again with doubling gaps. */
    uint64_t last = 0, gap_prev = 0;
    unsigned sends = 1;
    for (uint64_t t = 1; t < 60000; t += 4) {
        cp_engine_tick(e, t);
        if (rec.n > sends) {
            uint64_t gap = t - last;
            if (gap_prev)
                assert_true(gap >= gap_prev);   /* backoff, not a fixed resend */
            gap_prev = gap;
            last = t;
            sends = rec.n;
        }
    }
    assert_true(st->syn_retransmits >= 5);
    assert_int_equal(st->sess_timedout, 1);
    assert_int_equal(st->sess_active, 0);
    /* The last packet is the RST that frees the target's half-open slot. */
    rf_tcp_view_t v;
    unsigned last_i = (rec.n < 64 ? rec.n : 64) - 1;
    assert_int_equal(rf_tcp_parse(&v, rec.pkt[last_i], rec.len[last_i], 1), RF_PKT_OK);
    assert_true(v.flags & RF_TH_RST);
    cp_engine_free(e);
}

static void
data_retransmit(void **state)
{
    memset(&rec, 0, sizeof(rec));
    cp_engine_cfg_t c = base_cfg();
    cp_engine_t *e = cp_engine_new(&c, &sink, &rec, 0);
    const cp_stats_t *st = cp_engine_stats(e);
    client(e, 40002, 100, 0, RF_TH_SYN, 0, 0);
    uint8_t syn_out[64];
    memcpy(syn_out, rec.pkt[0], 64);
    target(e, syn_out, 1, 101, RF_TH_SYN | RF_TH_ACK, 0, 1);
    client(e, 40002, 101, 9, RF_TH_ACK | RF_TH_PSH, 50, 2);
    unsigned before = rec.n;
    cp_engine_tick(e, 150);
    assert_int_equal(rec.n, before);          /* not yet */
    cp_engine_tick(e, 260);
    assert_int_equal(rec.n, before + 1);      /* RTO 200 ms */
    assert_int_equal(st->retransmits, 1);
    target(e, syn_out, 2, 151, RF_TH_ACK, 0, 300);   /* acked: no more */
    cp_engine_tick(e, 2000);
    assert_int_equal(rec.n, before + 1);
    cp_engine_free(e);
}

static void
copies_and_offset(void **state)
{
    memset(&rec, 0, sizeof(rec));
    cp_engine_cfg_t c = base_cfg();
    c.copies = 3;
    c.offset = 5;
    cp_engine_t *e = cp_engine_new(&c, &sink, &rec, 0);
    const cp_stats_t *st = cp_engine_stats(e);
    client(e, 40003, 100, 0, RF_TH_SYN, 0, 0);
    assert_int_equal(rec.n, 3);
    assert_int_equal(st->sess_opened, 3);
    assert_int_equal(st->accepted_pkts, 1);   /* one captured packet */
    for (unsigned i = 0; i < 3; i++) {
        for (unsigned j = i + 1; j < 3; j++) {
            int same = memcmp(rec.pkt[i] + 12, rec.pkt[j] + 12, 4) == 0 &&
                       memcmp(rec.pkt[i] + 20, rec.pkt[j] + 20, 2) == 0;
            assert_false(same);
        }
    }
    /* The SYN retransmitted by the client is a duplicate, not 3 more. */
    client(e, 40003, 100, 0, RF_TH_SYN, 0, 1);
    assert_int_equal(rec.n, 3);
    assert_int_equal(st->client_dups, 1);
    check_accounting(e);
    cp_engine_free(e);
}

/* Target groups: one captured session replayed once per output, each to
 * its own target from its own range; responses matched to the output
 * they answer; per-output counters. */
typedef struct {
    uint32_t daddr[16], saddr[16];
    uint8_t  pkt[16][128];
    unsigned n;
} rec2_t;

static void
rec2_emit(void *ctx, const uint8_t *ip, size_t len, uint32_t daddr)
{
    rec2_t *r = ctx;
    if (r->n < 16) {
        r->daddr[r->n] = daddr;
        r->saddr[r->n] = rd32(ip + 12);
        memcpy(r->pkt[r->n], ip, len < 128 ? len : 128);
    }
    r->n++;
}

static void
outputs_fan_out(void **state)
{
    (void)state;
    static rec2_t r2;
    memset(&r2, 0, sizeof(r2));
    const cp_sink_t s2 = { rec2_emit, NULL };
    cp_engine_cfg_t c = base_cfg();
    uint32_t tb = PB_TARGET + 1;   /* target B */
    c.noutputs = 2;
    c.outputs[0].target_ip[0] = PB_TARGET;
    c.outputs[0].target_port[0] = 8080;
    rf_cidr_parse(&c.outputs[0].range, "10.250.0.0/17", NULL);
    c.outputs[0].copies = 1;
    c.outputs[0].sample_percent = 100;
    c.outputs[1].target_ip[0] = tb;
    c.outputs[1].target_port[0] = 9090;
    rf_cidr_parse(&c.outputs[1].range, "10.250.128.0/17", NULL);
    c.outputs[1].copies = 2;
    c.outputs[1].offset = 7;
    c.outputs[1].sample_percent = 100;
    cp_engine_t *e = cp_engine_new(&c, &s2, &r2, 0);
    const cp_stats_t *st = cp_engine_stats(e);
    assert_int_equal(st->outputs, 2);
    uint8_t p[200];
    size_t n = pb_build(p, CLIENT, 40000, ONLINE, 80, 100, 0, RF_TH_SYN, 0, 0, 0, 0);
    cp_engine_on_client(e, p, n, 0);
    assert_int_equal(r2.n, 3);   /* 1 copy to A, 2 copies to B */
    assert_int_equal(st->accepted_pkts, 1);
    assert_int_equal(st->sess_opened, 3);
    assert_int_equal(st->out[0].sess_opened, 1);
    assert_int_equal(st->out[1].sess_opened, 2);
    rf_cidr_t ra, rb;
    rf_cidr_parse(&ra, "10.250.0.0/17", NULL);
    rf_cidr_parse(&rb, "10.250.128.0/17", NULL);
    assert_int_equal(r2.daddr[0], PB_TARGET);
    assert_true(rf_cidr_contains(&ra, r2.saddr[0]));
    assert_int_equal(rd16(r2.pkt[0] + 22), 8080);
    for (unsigned i = 1; i < 3; i++) {
        assert_int_equal(r2.daddr[i], tb);
        assert_true(rf_cidr_contains(&rb, r2.saddr[i]));
        assert_int_equal(rd16(r2.pkt[i] + 22), 9090);
    }
    assert_int_equal(st->out[0].replayed_pkts, 1);
    assert_int_equal(st->out[1].replayed_pkts, 2);
    /* B's SYN-ACK reaches B's session, not A's. */
    uint8_t q[200];
    n = pb_build(q, tb, 9090, r2.saddr[1], rd16(r2.pkt[1] + 20), 5000, 101,
                 RF_TH_SYN | RF_TH_ACK, 0, 0, 0, 0);
    cp_engine_on_response(e, q, n, 1);
    assert_int_equal(st->out[1].resp_received, 1);
    assert_int_equal(st->out[0].resp_received, 0);
    /* A's address with B's target matches nothing. */
    n = pb_build(q, tb, 9090, r2.saddr[0], rd16(r2.pkt[0] + 20), 5000, 101,
                 RF_TH_SYN | RF_TH_ACK, 0, 0, 0, 0);
    cp_engine_on_response(e, q, n, 1);
    assert_int_equal(st->resp_unmatched, 1);
    check_accounting(e);
    cp_engine_free(e);
}

/* Per-output sample and rate: drops are counted on the output. */
static void
outputs_sample_and_rate(void **state)
{
    (void)state;
    static rec2_t r2;
    memset(&r2, 0, sizeof(r2));
    const cp_sink_t s2 = { rec2_emit, NULL };
    cp_engine_cfg_t c = base_cfg();
    c.noutputs = 2;
    for (unsigned o = 0; o < 2; o++) {
        c.outputs[o].target_ip[0] = PB_TARGET + o;
        c.outputs[o].target_port[0] = 8080;
        rf_cidr_parse(&c.outputs[o].range, o ? "10.250.128.0/17" : "10.250.0.0/17", NULL);
        c.outputs[o].copies = 1;
    }
    c.outputs[0].sample_percent = 100;
    c.outputs[1].sample_percent = 1;
    c.outputs[0].rate_limit_pps = 1;   /* one session, then the bucket is spent */
    cp_engine_t *e = cp_engine_new(&c, &s2, &r2, 0);
    const cp_stats_t *st = cp_engine_stats(e);
    uint8_t p[200];
    for (unsigned i = 0; i < 200; i++) {
        size_t n = pb_build(p, CLIENT, (uint16_t)(20000 + i), ONLINE, 80, 100, 0, RF_TH_SYN, 0,
                            0, 0, 0);
        cp_engine_on_client(e, p, n, 0);
    }
    assert_int_equal(st->out[0].sess_opened + st->out[0].sess_rate_limited, 200);
    assert_true(st->out[0].sess_rate_limited >= 198);
    assert_int_equal(st->out[1].sess_opened + st->out[1].sess_sampled_out, 200);
    assert_true(st->out[1].sess_sampled_out >= 190);
    assert_int_equal(st->sampled_out, 0);   /* the widest output took every packet */
    check_accounting(e);
    cp_engine_free(e);
}

static void
collision_avoided(void **state)
{
    memset(&rec, 0, sizeof(rec));
    cp_engine_cfg_t c = base_cfg();
    rf_cidr_parse(&c.range, "10.250.0.1/32", NULL);   /* one address */
    rf_rules_parse(c.rules, &c.nrules, "80-10.199.0.30:8080,81-10.199.0.30:8080", NULL);
    cp_engine_t *e = cp_engine_new(&c, &sink, &rec, 0);
    const cp_stats_t *st = cp_engine_stats(e);
    uint8_t p[200];
    /* Two different original sessions (ports 80 and 81 on the online
     * side) that map onto the same replayed tuple. */
    size_t n = pb_build(p, CLIENT, 45000, ONLINE, 80, 1, 0, RF_TH_SYN, 0, 0, 0, 0);
    cp_engine_on_client(e, p, n, 0);
    n = pb_build(p, CLIENT + 1, 45000, ONLINE, 81, 1, 0, RF_TH_SYN, 0, 0, 0, 0);
    cp_engine_on_client(e, p, n, 0);
    assert_int_equal(rec.n, 2);
    assert_int_equal(st->port_collisions, 1);
    assert_int_not_equal(rd16(rec.pkt[0] + 20), rd16(rec.pkt[1] + 20));
    cp_engine_free(e);
}

static void
midstream_skip_and_adopt(void **state)
{
    memset(&rec, 0, sizeof(rec));
    cp_engine_cfg_t c = base_cfg();
    cp_engine_t *e = cp_engine_new(&c, &sink, &rec, 0);
    const cp_stats_t *st = cp_engine_stats(e);
    client(e, 40010, 5000, 1, RF_TH_ACK | RF_TH_PSH, 10, 0);
    client(e, 40010, 5010, 1, RF_TH_ACK | RF_TH_PSH, 10, 1);
    assert_int_equal(rec.n, 0);
    assert_int_equal(st->midstream_pkts, 2);
    assert_int_equal(st->sess_skipped_midstream, 1);
    cp_engine_free(e);

    memset(&rec, 0, sizeof(rec));
    c.adopt_midstream = 1;
    e = cp_engine_new(&c, &sink, &rec, 0);
    client(e, 40010, 5000, 1, RF_TH_ACK | RF_TH_PSH, 10, 0);
    assert_int_equal(rec.n, 1);
    rf_tcp_view_t v;
    assert_int_equal(rf_tcp_parse(&v, rec.pkt[0], rec.len[0], 1), RF_PKT_OK);
    assert_int_equal(v.flags, RF_TH_SYN);
    assert_int_equal(v.seq, 4999);
    check_accounting(e);
    cp_engine_free(e);
}

static void
sampling_half(void **state)
{
    memset(&rec, 0, sizeof(rec));
    cp_engine_cfg_t c = base_cfg();
    c.sample_percent = 50;
    c.memory_bytes = 64u << 20;
    cp_engine_t *e = cp_engine_new(&c, &sink, &rec, 0);
    const cp_stats_t *st = cp_engine_stats(e);
    for (unsigned i = 0; i < 20000; i++)
        client(e, (uint16_t)(20000 + i), i * 7, 0, RF_TH_SYN, 0, 0);
    assert_true(st->sess_opened > 9700 && st->sess_opened < 10300);
    check_accounting(e);
    cp_engine_free(e);
}

static void
shed_never_crash(void **state)
{
    memset(&rec, 0, sizeof(rec));
    cp_engine_cfg_t c = base_cfg();
    c.memory_bytes = 1;   /* the minimum tables */
    cp_engine_t *e = cp_engine_new(&c, &sink, &rec, 0);
    const cp_stats_t *st = cp_engine_stats(e);
    size_t cap = cp_engine_session_capacity(e);
    for (unsigned i = 0; i < cap + 100; i++)
        client(e, (uint16_t)(2000 + i), i, 0, RF_TH_SYN, 0, 0);
    assert_int_equal(st->sess_opened, cap);
    assert_int_equal(st->sess_shed, 100);
    assert_int_equal(st->shed_pkts, 100);
    check_accounting(e);
    cp_engine_abort_all(e, 1);
    assert_int_equal(st->sess_active, 0);
    cp_engine_free(e);
}

static void
garbage_counted(void **state)
{
    memset(&rec, 0, sizeof(rec));
    cp_engine_cfg_t c = base_cfg();
    cp_engine_t *e = cp_engine_new(&c, &sink, &rec, 0);
    const cp_stats_t *st = cp_engine_stats(e);
    uint8_t junk[100];
    for (unsigned i = 0; i < 100; i++) {
        memset(junk, (int)i, sizeof(junk));
        cp_engine_on_client(e, junk, i, 0);
        cp_engine_on_response(e, junk, i, 0);
    }
    client(e, 40000, 1, 0, RF_TH_SYN, 0, 0);
    uint8_t p[100];
    size_t n = pb_build(p, CLIENT, 1, ONLINE, 443, 1, 0, RF_TH_SYN, 0, 0, 0, 0);
    cp_engine_on_client(e, p, n, 0);
    assert_int_equal(st->no_rule, 1);
    assert_true(st->bad_pkts >= 99);
    check_accounting(e);
    cp_engine_free(e);
}

static void
no_range_registers_tuples(void **state)
{
    memset(&rec, 0, sizeof(rec));
    cp_engine_cfg_t c = base_cfg();
    c.has_range = 0;
    cp_engine_t *e = cp_engine_new(&c, &sink, &rec, 0);
    client(e, 40000, 1, 0, RF_TH_SYN, 0, 0);
    assert_int_equal(rec.tuples_add, 1);
    assert_int_equal(rd32(rec.pkt[0] + 12), CLIENT);
    cp_engine_abort_all(e, 1);
    assert_int_equal(rec.tuples_del, 1);
    cp_engine_free(e);
}

static void
client_rst_held_until_served(void **state)
{
    memset(&rec, 0, sizeof(rec));
    cp_engine_cfg_t c = base_cfg();
    cp_engine_t *e = cp_engine_new(&c, &sink, &rec, 0);
    const cp_stats_t *st = cp_engine_stats(e);
    client(e, 40020, 100, 0, RF_TH_SYN, 0, 0);
    uint8_t syn_out[64];
    memcpy(syn_out, rec.pkt[0], 64);
    target(e, syn_out, 1, 101, RF_TH_SYN | RF_TH_ACK, 0, 1);
    client(e, 40020, 101, 9, RF_TH_ACK | RF_TH_PSH, 50, 2);
    unsigned before = rec.n;
    /* The client resets at once (wrk at exit): the target has not even
     * acknowledged the request, so the RST must wait. */
    client(e, 40020, 151, 9, RF_TH_RST | RF_TH_ACK, 0, 3);
    assert_int_equal(rec.n, before);
    target(e, syn_out, 2, 151, RF_TH_ACK | RF_TH_PSH, 200, 10);   /* ack + response */
    cp_engine_flush(e, 10);
    cp_engine_tick(e, 60);
    rf_tcp_view_t v;
    for (unsigned i = before; i < rec.n && i < 64; i++) {
        assert_int_equal(rf_tcp_parse(&v, rec.pkt[i], rec.len[i], 1), RF_PKT_OK);
        assert_false(v.flags & RF_TH_RST);   /* still quiet-waiting */
    }
    cp_engine_tick(e, 200);   /* quiet for RST_QUIET_MS: the RST goes */
    unsigned last = rec.n - 1;
    assert_int_equal(rf_tcp_parse(&v, rec.pkt[last], rec.len[last], 1), RF_PKT_OK);
    assert_true(v.flags & RF_TH_RST);
    assert_int_equal(v.seq, 151);
    assert_int_equal(st->sess_completed, 1);
    cp_engine_free(e);
}

/* ---------- causal order ---------- */

/* Feed one online server->client segment as the reverse capture sees it:
 * headers only. */
static void
server(cp_engine_t *e, uint16_t cport, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t plen,
       uint64_t now)
{
    uint8_t p[1600];
    size_t n = pb_build(p, ONLINE, 80, CLIENT, cport, seq, ack, flags, plen, 1, 9000, 1);
    cp_engine_on_client(e, p, n - plen, now);
}

/* Count the payload segments sent so far, and the last one's seq. */
static unsigned
data_sent(uint32_t *last_seq)
{
    unsigned k = 0;
    for (unsigned i = 0; i < rec.n && i < 64; i++) {
        rf_tcp_view_t v;
        assert_int_equal(rf_tcp_parse(&v, rec.pkt[i], rec.len[i], 1), RF_PKT_OK);
        if (v.payload_len > 0) {
            k++;
            if (last_seq)
                *last_seq = v.seq;
        }
    }
    return k;
}

/* libpq: SSLRequest (8 bytes), wait for 'N', then StartupMessage. Without
 * the reverse direction the client's ack alone shows it waited. */
static void
causal_waits_where_client_waited(void **state)
{
    memset(&rec, 0, sizeof(rec));
    cp_engine_cfg_t c = base_cfg();
    cp_engine_t *e = cp_engine_new(&c, &sink, &rec, 0);
    const cp_stats_t *st = cp_engine_stats(e);
    client(e, 41000, 1000, 0, RF_TH_SYN, 0, 1);
    client(e, 41000, 1001, 5001, RF_TH_ACK, 0, 2);
    client(e, 41000, 1001, 5001, RF_TH_ACK | RF_TH_PSH, 8, 3);    /* SSLRequest */
    client(e, 41000, 1009, 5002, RF_TH_ACK | RF_TH_PSH, 40, 4);   /* after 'N' */
    uint8_t syn_out[64];
    memcpy(syn_out, rec.pkt[0], 64);
    target(e, syn_out, 700000, 1001, RF_TH_SYN | RF_TH_ACK, 0, 10);
    uint32_t seq = 0;
    assert_int_equal(data_sent(&seq), 1);   /* SSLRequest only */
    assert_int_equal(seq, 1001);
    assert_int_equal(st->causal_held, 1);
    /* The target acks the SSLRequest without answering: still held. */
    target(e, syn_out, 700001, 1009, RF_TH_ACK, 0, 11);
    assert_int_equal(data_sent(NULL), 1);
    /* Its 'N' (acking the 8 bytes) releases the StartupMessage. */
    target(e, syn_out, 700001, 1009, RF_TH_ACK | RF_TH_PSH, 1, 12);
    assert_int_equal(data_sent(&seq), 2);
    assert_int_equal(seq, 1009);
    assert_int_equal(st->causal_released, 1);
    assert_int_equal(st->causal_timeouts, 0);
    assert_int_equal(st->causal_by_fallback, 1);
    assert_int_equal(st->causal_by_reverse, 0);
    check_accounting(e);
    cp_engine_free(e);
}

/* A pipelining client did not wait: its segments carry no new ack and go
 * at once, however many, before any answer. */
static void
causal_pipelined_not_held(void **state)
{
    memset(&rec, 0, sizeof(rec));
    cp_engine_cfg_t c = base_cfg();
    cp_engine_t *e = cp_engine_new(&c, &sink, &rec, 0);
    const cp_stats_t *st = cp_engine_stats(e);
    client(e, 41001, 1000, 0, RF_TH_SYN, 0, 1);
    client(e, 41001, 1001, 5001, RF_TH_ACK, 0, 2);
    for (uint32_t k = 0; k < 16; k++)
        client(e, 41001, 1001 + 30 * k, 5001, RF_TH_ACK | RF_TH_PSH, 30, 3);
    uint8_t syn_out[64];
    memcpy(syn_out, rec.pkt[0], 64);
    target(e, syn_out, 700000, 1001, RF_TH_SYN | RF_TH_ACK, 0, 10);
    assert_int_equal(data_sent(NULL), 16);
    assert_int_equal(st->causal_held, 0);
    check_accounting(e);
    cp_engine_free(e);
}

/* With the reverse direction the wait point is what the online server had
 * received when it sent what the client saw: here the answer to request 1
 * only, although request 2 had been sent before the client's next
 * segment. tcpcopy's rule would wait for an answer to request 2 too. */
static void
causal_reverse_direction_is_precise(void **state)
{
    memset(&rec, 0, sizeof(rec));
    cp_engine_cfg_t c = base_cfg();
    cp_engine_t *e = cp_engine_new(&c, &sink, &rec, 0);
    const cp_stats_t *st = cp_engine_stats(e);
    client(e, 41002, 1000, 0, RF_TH_SYN, 0, 1);
    server(e, 41002, 5000, 1001, RF_TH_SYN | RF_TH_ACK, 0, 1);
    client(e, 41002, 1001, 5001, RF_TH_ACK, 0, 2);
    client(e, 41002, 1001, 5001, RF_TH_ACK | RF_TH_PSH, 10, 3);   /* request 1 */
    client(e, 41002, 1011, 5001, RF_TH_ACK | RF_TH_PSH, 10, 3);   /* request 2, pipelined */
    server(e, 41002, 5001, 1011, RF_TH_ACK | RF_TH_PSH, 100, 4);  /* answer to 1 */
    client(e, 41002, 1021, 5101, RF_TH_ACK | RF_TH_PSH, 10, 5);   /* saw it: depends on 1 */
    /* The client's next segment was captured before the server turn it
     * saw (two capture handles race): resolved when it is next to go, it
     * still finds it. */
    client(e, 41002, 1031, 5151, RF_TH_ACK | RF_TH_PSH, 10, 6);
    server(e, 41002, 5101, 1031, RF_TH_ACK | RF_TH_PSH, 50, 6);   /* answer to 2 and 3 */
    assert_int_equal(st->server_pkts, 3);
    /* Requests queued behind the handshake: the session waits on the
     * target, so the loop must read its answers at once. */
    assert_int_equal(cp_engine_waiting(e), 1);
    uint8_t syn_out[64];
    memcpy(syn_out, rec.pkt[0], 64);
    target(e, syn_out, 700000, 1001, RF_TH_SYN | RF_TH_ACK, 0, 10);
    assert_int_equal(data_sent(NULL), 2);
    assert_int_equal(st->causal_by_reverse, 1);
    assert_int_equal(cp_engine_waiting(e), 1);   /* request 3 held */
    /* The target answers request 1 (its ack says it had only request 1). */
    target(e, syn_out, 700001, 1011, RF_TH_ACK | RF_TH_PSH, 80, 11);
    uint32_t seq = 0;
    assert_int_equal(data_sent(&seq), 3);
    assert_int_equal(seq, 1021);
    assert_int_equal(st->causal_released, 1);
    /* The last one waits for an answer to request 3 (the server's ack
     * 1031), not to what the target had when it answered request 1. */
    target(e, syn_out, 700081, 1021, RF_TH_ACK | RF_TH_PSH, 30, 12);
    assert_int_equal(data_sent(NULL), 3);
    assert_int_equal(cp_engine_waiting(e), 1);
    target(e, syn_out, 700111, 1031, RF_TH_ACK | RF_TH_PSH, 30, 13);
    assert_int_equal(data_sent(&seq), 4);
    assert_int_equal(seq, 1031);
    assert_int_equal(cp_engine_waiting(e), 0);   /* everything sent: nothing urgent */
    assert_int_equal(st->causal_by_reverse, 2);
    assert_int_equal(st->causal_by_fallback, 0);
    check_accounting(e);
    cp_engine_free(e);
}

/* The target never answers where the online server did: the hold ends at
 * causal_timeout_ms, counted, and the session is marked unordered once. */
static void
causal_timeout_releases_and_counts(void **state)
{
    memset(&rec, 0, sizeof(rec));
    cp_engine_cfg_t c = base_cfg();
    c.causal_timeout_ms = 500;
    cp_engine_t *e = cp_engine_new(&c, &sink, &rec, 0);
    const cp_stats_t *st = cp_engine_stats(e);
    client(e, 41003, 1000, 0, RF_TH_SYN, 0, 1);
    client(e, 41003, 1001, 5001, RF_TH_ACK, 0, 2);
    client(e, 41003, 1001, 5001, RF_TH_ACK | RF_TH_PSH, 10, 3);
    client(e, 41003, 1011, 5020, RF_TH_ACK | RF_TH_PSH, 10, 4);
    client(e, 41003, 1021, 5040, RF_TH_ACK | RF_TH_PSH, 10, 5);
    uint8_t syn_out[64];
    memcpy(syn_out, rec.pkt[0], 64);
    target(e, syn_out, 700000, 1001, RF_TH_SYN | RF_TH_ACK, 0, 10);
    target(e, syn_out, 700001, 1011, RF_TH_ACK, 0, 11);   /* ack, no answer */
    cp_engine_tick(e, 400);
    assert_int_equal(data_sent(NULL), 1);
    cp_engine_tick(e, 530);   /* first hold expires; the next one starts */
    assert_int_equal(data_sent(NULL), 2);
    assert_int_equal(st->causal_timeouts, 1);
    target(e, syn_out, 700001, 1021, RF_TH_ACK | RF_TH_PSH, 5, 600);   /* answers the 2nd */
    assert_int_equal(data_sent(NULL), 3);
    assert_int_equal(st->causal_held, 2);
    assert_int_equal(st->causal_released, 1);
    assert_int_equal(st->causal_sess_unordered, 1);
    check_accounting(e);
    cp_engine_free(e);
}

/* A server that speaks first (SMTP, MySQL): the first request waits for
 * the target's greeting; causal_timeout_ms 0 turns the order off. */
static void
causal_greeting_and_off_switch(void **state)
{
    for (int off = 0; off <= 1; off++) {
        memset(&rec, 0, sizeof(rec));
        cp_engine_cfg_t c = base_cfg();
        if (off)
            c.causal_timeout_ms = 0;
        cp_engine_t *e = cp_engine_new(&c, &sink, &rec, 0);
        const cp_stats_t *st = cp_engine_stats(e);
        client(e, 41004, 1000, 0, RF_TH_SYN, 0, 1);
        client(e, 41004, 1001, 5001, RF_TH_ACK, 0, 2);
        client(e, 41004, 1001, 5030, RF_TH_ACK | RF_TH_PSH, 12, 3);   /* EHLO after 220 */
        uint8_t syn_out[64];
        memcpy(syn_out, rec.pkt[0], 64);
        target(e, syn_out, 700000, 1001, RF_TH_SYN | RF_TH_ACK, 0, 10);
        assert_int_equal(data_sent(NULL), off ? 1 : 0);
        target(e, syn_out, 700001, 1001, RF_TH_ACK | RF_TH_PSH, 25, 11);   /* 220 */
        assert_int_equal(data_sent(NULL), 1);
        assert_int_equal(st->causal_held, off ? 0 : 1);
        check_accounting(e);
        cp_engine_free(e);
    }
}

/* A whole recorded session arrives before the target has answered anything
 * (a file at --speed 0): more server turns than the ring holds. The client's
 * final RST still waits for the target's answer to the last request, and
 * every request waits for at least the answer before the one it saw. */
static void
causal_ring_overflow_keeps_the_end_exact(void **state)
{
    memset(&rec, 0, sizeof(rec));
    cp_engine_cfg_t c = base_cfg();
    cp_engine_t *e = cp_engine_new(&c, &sink, &rec, 0);
    const cp_stats_t *st = cp_engine_stats(e);
    client(e, 41005, 1000, 0, RF_TH_SYN, 0, 1);
    server(e, 41005, 5000, 1001, RF_TH_SYN | RF_TH_ACK, 0, 1);
    client(e, 41005, 1001, 5001, RF_TH_ACK, 0, 1);
    for (uint32_t k = 0; k < 10; k++) {   /* request k, then its answer */
        client(e, 41005, 1001 + 20 * k, 5001 + 100 * k, RF_TH_ACK | RF_TH_PSH, 20, 2);
        server(e, 41005, 5001 + 100 * k, 1021 + 20 * k, RF_TH_ACK | RF_TH_PSH, 100, 2);
    }
    client(e, 41005, 1201, 6001, RF_TH_ACK | RF_TH_RST, 0, 3);
    uint8_t syn_out[64];
    memcpy(syn_out, rec.pkt[0], 64);
    target(e, syn_out, 800000, 1001, RF_TH_SYN | RF_TH_ACK, 0, 10);
    unsigned sent = data_sent(NULL);
    assert_true(sent >= 1 && sent < 10);   /* lock-step at first */
    /* A slow target: its kernel acknowledges whatever arrived at once, the
     * application answers one request every 150 ms (longer than a held
     * RST's quiet period). */
    uint64_t now = 10;
    for (uint32_t k = 0; k < 10; k++) {
        uint32_t hi = 0;
        for (unsigned i = 0; i < rec.n && i < 64; i++) {
            rf_tcp_view_t v;
            assert_int_equal(rf_tcp_parse(&v, rec.pkt[i], rec.len[i], 1), RF_PKT_OK);
            assert_false(v.flags & RF_TH_RST);   /* not before the last answer */
            if (v.payload_len && seq_gt(v.seq + v.payload_len, hi))
                hi = v.seq + v.payload_len;
        }
        target(e, syn_out, 800001 + 50 * k, hi, RF_TH_ACK, 0, now);
        now += 150;
        cp_engine_tick(e, now);
        target(e, syn_out, 800001 + 50 * k, 1021 + 20 * k, RF_TH_ACK | RF_TH_PSH, 50, now);
        cp_engine_flush(e, now);
    }
    assert_int_equal(data_sent(NULL), 10);
    cp_engine_tick(e, now + 300);   /* the RST's quiet period */
    rf_tcp_view_t v;
    assert_int_equal(rf_tcp_parse(&v, rec.pkt[rec.n - 1], rec.len[rec.n - 1], 1), RF_PKT_OK);
    assert_true(v.flags & RF_TH_RST);
    assert_int_equal(st->causal_timeouts, 0);
    check_accounting(e);
    cp_engine_free(e);
}

/* A capture-group re-shard moves a flow's bucket away: the live session is
 * finished here (its packets still replayed), a new SYN of that bucket is
 * left to the new owner, and a flow of a bucket that moved here while it
 * was open is skipped mid-stream (so nobody replays it twice). */
static void
shard_set_finishes_moved_flows(void **state)
{
    memset(&rec, 0, sizeof(rec));
    cp_engine_cfg_t c = base_cfg();
    uint8_t all[128];
    memset(all, 0xff, sizeof(all));
    assert_int_equal(cp_map_shard_load(&c.shard, 1, 1024, all, sizeof(all), NULL), 0);
    cp_engine_t *e = cp_engine_new(&c, &sink, &rec, 0);
    const cp_stats_t *st = cp_engine_stats(e);
    client(e, 41000, 100, 0, RF_TH_SYN, 0, 0);
    assert_int_equal(rec.n, 1);
    uint8_t syn_out[64];
    memcpy(syn_out, rec.pkt[0], 64);
    target(e, syn_out, 1, 101, RF_TH_SYN | RF_TH_ACK, 0, 1);
    unsigned before = rec.n;

    /* Re-shard: this agent now owns no bucket at all. */
    uint8_t none[128] = { 0 };
    assert_int_equal(cp_map_shard_load(&c.shard, 1, 1024, none, sizeof(none), NULL), 0);
    cp_engine_reconfigure(e, &c);
    assert_int_equal(st->shard_buckets, 0);
    client(e, 41000, 101, 2, RF_TH_ACK | RF_TH_PSH, 50, 2);
    assert_int_equal(rec.n, before + 1);          /* the open session goes on */
    assert_int_equal(st->shard_finishing, 1);
    /* A new flow (and its later packets) is the new owner's. */
    client(e, 41001, 500, 0, RF_TH_SYN, 0, 3);
    client(e, 41001, 501, 9, RF_TH_ACK | RF_TH_PSH, 50, 4);
    assert_int_equal(rec.n, before + 1);
    assert_int_equal(st->shard_out, 2);
    assert_int_equal(st->sess_opened, 1);

    /* And back: every bucket is ours again; a flow that started while it
     * was another member's is mid-stream here, never replayed. */
    assert_int_equal(cp_map_shard_load(&c.shard, 1, 1024, all, sizeof(all), NULL), 0);
    cp_engine_reconfigure(e, &c);
    assert_int_equal(st->shard_buckets, 1024);
    client(e, 41001, 551, 9, RF_TH_ACK | RF_TH_PSH, 50, 5);
    assert_int_equal(rec.n, before + 1);
    assert_int_equal(st->sess_skipped_midstream, 1);
    check_accounting(e);
    cp_engine_free(e);
}

/* Held segments take the smallest slot class they fit (128, 256, 512 bytes,
 * MTU), the next larger one when it is exhausted, and held_bytes says what
 * they take. Client packets carry timestamps: 52 bytes of headers, so the
 * 128-byte class (24 of slot header) holds up to 52 bytes of payload. */
static void
slot_classes_by_size(void **state)
{
    (void)state;
    memset(&rec, 0, sizeof(rec));
    cp_engine_cfg_t c = base_cfg();
    c.memory_bytes = 1;   /* the minimum: 256 slots per class */
    cp_engine_t *e = cp_engine_new(&c, &sink, &rec, 0);
    const cp_stats_t *st = cp_engine_stats(e);
    client(e, 41000, 1000, 0, RF_TH_SYN, 0, 1);   /* held until the SYN-ACK */
    uint64_t base = st->held_bytes;
    assert_int_equal(base, 128);
    /* No SYN-ACK comes: the data is held, one slot each. */
    static const struct { uint16_t plen; uint64_t stride; } seg[] = {
        { 1, 128 }, { 52, 128 }, { 53, 256 }, { 180, 256 }, { 181, 512 }, { 436, 512 },
        { 437, 1536 }, { 1400, 1536 },
    };
    uint32_t seq = 1001;
    for (size_t i = 0; i < sizeof(seg) / sizeof(seg[0]); i++) {
        client(e, 41000, seq, 1, RF_TH_ACK | RF_TH_PSH, seg[i].plen, 2);
        seq += seg[i].plen;
        assert_int_equal(st->held_bytes, base + seg[i].stride);
        base = st->held_bytes;
    }
    check_structures(e);
    /* 256 small segments more: the 128-byte class (253 left) runs out and
     * the rest go to the 256-byte class. */
    for (unsigned i = 0; i < 256; i++) {
        client(e, 41000, seq, 1, RF_TH_ACK | RF_TH_PSH, 10, 3);
        seq += 10;
    }
    assert_int_equal(st->sess_aborted, 0);
    assert_int_equal(st->shed_pkts, 0);
    assert_int_equal(st->held_bytes, base + 253 * 128 + 3 * 256);
    check_accounting(e);
    cp_engine_abort_all(e, 4);
    assert_int_equal(st->held_bytes, 0);
    check_structures(e);
    cp_engine_free(e);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_session),
        cmocka_unit_test(retransmit_backoff_then_abort),
        cmocka_unit_test(data_retransmit),
        cmocka_unit_test(copies_and_offset),
        cmocka_unit_test(outputs_fan_out),
        cmocka_unit_test(outputs_sample_and_rate),
        cmocka_unit_test(collision_avoided),
        cmocka_unit_test(midstream_skip_and_adopt),
        cmocka_unit_test(sampling_half),
        cmocka_unit_test(shed_never_crash),
        cmocka_unit_test(garbage_counted),
        cmocka_unit_test(no_range_registers_tuples),
        cmocka_unit_test(client_rst_held_until_served),
        cmocka_unit_test(causal_waits_where_client_waited),
        cmocka_unit_test(causal_pipelined_not_held),
        cmocka_unit_test(causal_reverse_direction_is_precise),
        cmocka_unit_test(causal_timeout_releases_and_counts),
        cmocka_unit_test(causal_greeting_and_off_switch),
        cmocka_unit_test(causal_ring_overflow_keeps_the_end_exact),
        cmocka_unit_test(shard_set_finishes_moved_flows),
        cmocka_unit_test(slot_classes_by_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
