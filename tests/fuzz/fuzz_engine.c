/* fuzz_engine.c -- fuzz target for the replay engine (agent-copy/cp_sess.c):
 * sequences of captured client segments, captured server segments (the
 * reverse direction that drives the causal order), target responses from
 * the intercept, and timer ticks. Owns the input layout and the
 * properties; not the engine.
 *
 * Input: 10-byte records. Byte 0 low 2 bits: 0 client segment, 1 online
 * server segment, 2 target response, 3 tick; byte 1 TCP flags; byte 2
 * session selector (4 client ports; for responses, one of the replayed
 * tuples seen so far); byte 3 time advance in 4 ms steps; bytes 4-5 seq
 * offset, 6-7 ack offset, 8-9 payload length (mod 1500), big endian.
 * Packets are built well formed (tests/support/pkt_builder.h, the unit
 * tests' builder), so the fuzzer spends its time in the state machine, not
 * in the parser (fuzz_pkt covers that).
 *
 * Properties, after every record: every captured packet is in exactly one
 * counter; live sessions never exceed the table; held segments released by
 * the target or by the timeout never outnumber those held. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cp_sess.h"
#include "engine_fixture.h"
#include "pkt_builder.h"
#include "rf_pkt.h"
#include "fuzz_target.h"

#define CLIENT PB_CLIENT
#define ONLINE PB_ONLINE
#define TARGET PB_TARGET
#define MAX_TUPLES 16

typedef struct {
    uint32_t ip[MAX_TUPLES];
    uint16_t port[MAX_TUPLES];
    unsigned n;
} seen_t;

static void
on_emit(void *ctx, const uint8_t *ip, size_t len, uint32_t daddr)
{
    seen_t *s = ctx;
    FUZZ_CHECK(len >= 40 && daddr == TARGET);
    uint32_t src = rd32(ip + 12);
    uint16_t sport = rd16(ip + 20);
    /* two outputs (target groups): port 8081 is output 1, which replays
     * only from the upper half of the range, output 0 from the lower */
    uint16_t dport = rd16(ip + 22);
    FUZZ_CHECK(dport == 8080 || dport == 8081);
    FUZZ_CHECK(((src >> 15) & 1u) == (dport == 8081 ? 1u : 0u));
    for (unsigned i = 0; i < s->n; i++)
        if (s->ip[i] == src && s->port[i] == sport)
            return;
    if (s->n < MAX_TUPLES) {
        s->ip[s->n] = src;
        s->port[s->n] = sport;
        s->n++;
    }
}

static void
check(cp_engine_t *e)
{
    const cp_stats_t *s = cp_engine_stats(e);
    FUZZ_CHECK(s->cap_pkts == s->bad_pkts + s->no_rule + s->shard_out + s->sampled_out +
                                  s->midstream_pkts + s->shed_pkts + s->pure_acks +
                                  s->client_dups + s->accepted_pkts + s->server_pkts);
    FUZZ_CHECK(s->sess_active <= cp_engine_session_capacity(e));
    FUZZ_CHECK(s->causal_released + s->causal_timeouts <= s->causal_held);
    uint64_t opened = 0;
    for (unsigned o = 0; o < CP_OUTPUTS_MAX; o++)
        opened += s->out[o].sess_opened;
    FUZZ_CHECK(opened == s->sess_opened);
    /* Pools, queues, both indexes and the wheel agree after every call. */
    char why[160];
    if (cp_engine_check(e, why, sizeof(why)) != 0) {
        fprintf(stderr, "cp_engine_check: %s\n", why);
        __builtin_trap();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t pkt[1600];
    seen_t seen;
    memset(&seen, 0, sizeof(seen));
    cp_engine_cfg_t c = ef_cfg(size > 0 && (data[0] & 0x80) ? 2 : 1, 0);
    c.session_timeout_ms = 5000;
    c.causal_timeout_ms = 300;
    c.mtu = 576;   /* small: long segments get split */
    c.mss = 536;
    c.memory_bytes = 256u << 10;   /* the smallest tables: fast runs, full pools */
    if (size > 0 && (data[0] & 0x40)) {
        /* target groups: two outputs, disjoint halves, the second sampled */
        c.noutputs = 2;
        for (unsigned o = 0; o < 2; o++) {
            c.outputs[o].target_ip[0] = c.rules[0].target_ip;
            c.outputs[o].target_port[0] = (uint16_t)(8080 + o);
            rf_cidr_parse(&c.outputs[o].range, o ? "10.250.128.0/17" : "10.250.0.0/17", NULL);
            c.outputs[o].copies = c.copies;
            c.outputs[o].offset = o * 7;
            c.outputs[o].sample_percent = o ? 50 : 100;
        }
    } else {
        rf_cidr_parse(&c.range, "10.250.0.0/17", NULL);   /* one output: the lower half */
    }
    cp_sink_t sink = { on_emit, NULL };
    uint64_t now = 1000;
    cp_engine_t *e = cp_engine_new(&c, &sink, &seen, now);
    if (e == NULL)
        return 0;
    for (size_t off = 0; off + 10 <= size; off += 10) {
        const uint8_t *r = data + off;
        uint8_t flags = r[1];
        uint32_t seq = 100000u + rd16(r + 4), ack = 500000u + rd16(r + 6);
        uint16_t plen = (uint16_t)(rd16(r + 8) % 1500u);
        uint16_t cport = (uint16_t)(40000u + (r[2] & 3u));
        now += (uint64_t)r[3] * 4u;
        size_t n;
        switch (r[0] & 3u) {
        case 0:
            n = pb_build(pkt, CLIENT, cport, ONLINE, 80, seq, ack, flags, plen, 1, seq ^ 0x5a5au, 7);
            cp_engine_on_client(e, pkt, n, now);
            break;
        case 1:   /* the reverse capture: headers only */
            n = pb_build(pkt, ONLINE, 80, CLIENT, cport, ack, seq, flags, plen, 1, ack ^ 0x5a5au, 7);
            cp_engine_on_client(e, pkt, n - plen, now);
            break;
        case 2:
            if (seen.n == 0)
                break;
            {
                unsigned k = r[2] % seen.n;
                uint32_t tseq = 700000u + rd16(r + 6);
                n = pb_build(pkt, TARGET, 8080, seen.ip[k], seen.port[k], tseq, seq, flags, plen, 1,
                             tseq ^ 0x5a5au, 7);
                cp_engine_on_response(e, pkt, n - plen, now);
                cp_engine_flush(e, now);
            }
            break;
        default:
            cp_engine_tick(e, now);
            break;
        }
        check(e);
    }
    cp_engine_abort_all(e, now);
    check(e);
    FUZZ_CHECK(cp_engine_stats(e)->sess_active == 0);
    cp_engine_free(e);
    return 0;
}
