/* bench_engine.c -- replay-copy's engine alone: packets/s and ns/packet of
 * the per-packet path (classify, sample, map, rewrite, checksum, FSM) with
 * a sink that only counts, plus the fixed memory cost per session. No root,
 * no network: this is the CPU the data plane spends per packet, the figure
 * that decides how much of a core replay-copy takes at a given load. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>

#include "cp_decap.h"
#include "cp_sess.h"
#include "rf_pkt.h"

#define TARGET 0x0ac7001eu

static size_t build(uint8_t *p, uint32_t s, uint16_t sp, uint32_t d, uint16_t dp, uint32_t seq,
                    uint32_t ack, uint8_t flags, uint16_t plen);

/* Per thread: --workers runs one engine per thread (the fanout design). */
static _Thread_local uint64_t sent;
static _Thread_local uint8_t syns[16][64];   /* the SYNs of the current connection's copies */
static _Thread_local unsigned nsyn;

static void
count_emit(void *ctx, const uint8_t *ip, size_t len, uint32_t daddr)
{
    (void)ctx; (void)daddr;
    sent++;
    if (len >= 40 && (ip[33] & RF_TH_SYN) && nsyn < 16)
        memcpy(syns[nsyn++], ip, 64);   /* the target answers it below */
}

/* The target's answer to copy k: SYN-ACK, or an ACK (+FIN) of `acked`. */
static void
respond(cp_engine_t *e, unsigned k, uint32_t ack, uint8_t flags, uint64_t now)
{
    uint8_t r[64];
    size_t m = build(r, TARGET, 80, rd32(syns[k] + 12), rd16(syns[k] + 20),
                     (flags & RF_TH_SYN) ? 5000 : 5001, ack, flags, 0);
    cp_engine_on_response(e, r, m, now);
}

static size_t
build(uint8_t *p, uint32_t s, uint16_t sp, uint32_t d, uint16_t dp, uint32_t seq, uint32_t ack,
      uint8_t flags, uint16_t plen)
{
    uint16_t tot = (uint16_t)(40 + plen);
    memset(p, 0, 40);
    p[0] = 0x45;
    wr16(p + 2, tot);
    p[8] = 64;
    p[9] = 6;
    wr32(p + 12, s);
    wr32(p + 16, d);
    wr16(p + 20, sp);
    wr16(p + 22, dp);
    wr32(p + 24, seq);
    wr32(p + 28, ack);
    p[32] = 0x50;
    p[33] = flags;
    wr16(p + 34, 502);
    memset(p + 40, 'x', plen);
    return tot;
}

/* Mirrored traffic: the same client packets arrive wrapped, as a SPAN port
 * (Ethernet), a VXLAN tunnel or GRE would deliver them; every frame then
 * goes through cp_decap before the engine, as in replay-copy. */
enum { WRAP_NONE, WRAP_ETH, WRAP_VXLAN, WRAP_GRE };
static int wrap_mode;
static cp_decap_cfg_t dcfg;
static _Thread_local cp_decap_stats_t dst;

static void
feed(cp_engine_t *e, const uint8_t *ip, size_t len, uint64_t now)
{
    if (wrap_mode == WRAP_NONE) {
        cp_engine_on_client(e, ip, len, now);
        return;
    }
    static _Thread_local uint8_t f[4096];
    size_t o = 0;
    memset(f, 0, 64);
    if (wrap_mode != WRAP_ETH) {
        /* outer Ethernet + IPv4 */
        f[12] = 0x08;
        o = 14;
        uint8_t *oip = f + o;
        size_t inner = (wrap_mode == WRAP_VXLAN ? 8 + 8 + 14 : 4 + 14) + len;
        oip[0] = 0x45;
        wr16(oip + 2, (uint16_t)(20 + inner));
        oip[8] = 64;
        oip[9] = wrap_mode == WRAP_VXLAN ? 17 : 47;
        wr32(oip + 12, 0x0ac70014u);
        wr32(oip + 16, 0x0ac70063u);
        o += 20;
        if (wrap_mode == WRAP_VXLAN) {
            wr16(f + o, 40000);
            wr16(f + o + 2, 4789);
            wr16(f + o + 4, (uint16_t)(8 + 8 + 14 + len));
            o += 8;
            f[o] = 0x08;   /* VNI present */
            wr32(f + o + 4, 42u << 8);
            o += 8;
        } else {
            wr16(f + o + 2, 0x6558);   /* gretap: Ethernet inside */
            o += 4;
        }
    }
    memset(f + o, 0, 14);
    f[o + 12] = 0x08;
    o += 14;
    memcpy(f + o, ip, len);
    const uint8_t *in;
    size_t in_len;
    cp_encap_t enc;
    if (cp_decap(&dcfg, &dst, f, o + len, &in, &in_len, &enc) == CP_DECAP_OK)
        cp_engine_on_client(e, in, in_len, now);
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    unsigned copies, reqs_per_conn, conns, worker, nworkers;
    uint64_t cap, sent, opened, completed;
} job_t;

/* One engine replaying connections i = worker, worker + nworkers, ...: the
 * share a flow-hash fanout gives one of `nworkers` capture workers. */
static void *
run_job(void *arg)
{
    job_t *j = arg;
    cp_engine_cfg_t c;
    memset(&c, 0, sizeof(c));
    rf_rules_parse(c.rules, &c.nrules, "80-10.199.0.30:80", NULL);
    c.has_range = 1;
    rf_cidr_parse(&c.range, "10.250.0.0/16", NULL);
    c.copies = j->copies;
    c.sample_percent = 100;
    c.session_timeout_ms = 60000;
    c.causal_timeout_ms = 2000;   /* as shipped */
    c.mtu = 1500;
    c.mss = 1460;
    c.memory_bytes = 256u << 20;
    cp_sink_t sink = { count_emit, NULL };
    cp_engine_t *e = cp_engine_new(&c, &sink, NULL, 0);
    uint8_t p[2048];
    uint64_t cap = 0, now = 1;
    sent = 0;
    for (unsigned i = j->worker; i < j->conns; i += j->nworkers) {
        uint32_t cip = 0x0ac70000u + (i % 250) + 10;
        uint16_t sp = (uint16_t)(1024 + (i * 7) % 60000);
        uint32_t seq = i * 100000u;
        nsyn = 0;
        size_t n = build(p, cip, sp, 0x0ac70014u, 80, seq, 0, RF_TH_SYN, 0);
        feed(e, p, n, now);
        cap++;
        for (unsigned k = 0; k < nsyn; k++)
            respond(e, k, seq + 1, RF_TH_SYN | RF_TH_ACK, now);
        n = build(p, cip, sp, 0x0ac70014u, 80, seq + 1, 1, RF_TH_ACK, 0);
        feed(e, p, n, now);
        cap++;
        uint32_t s = seq + 1;
        for (unsigned q = 0; q < j->reqs_per_conn; q++) {
            n = build(p, cip, sp, 0x0ac70014u, 80, s, 1, RF_TH_ACK | RF_TH_PSH, 120);
            feed(e, p, n, now);
            cap++;
            s += 120;
            for (unsigned k = 0; k < nsyn; k++)
                respond(e, k, s, RF_TH_ACK, now);
        }
        n = build(p, cip, sp, 0x0ac70014u, 80, s, 1, RF_TH_ACK | RF_TH_FIN, 0);
        feed(e, p, n, now);
        cap++;
        for (unsigned k = 0; k < nsyn; k++)
            respond(e, k, s + 1, RF_TH_ACK | RF_TH_FIN, now);
        cp_engine_flush(e, now);
        now += 1;   /* one connection per simulated millisecond */
        cp_engine_tick(e, now);
    }
    const cp_stats_t *st = cp_engine_stats(e);
    j->cap = cap;
    j->sent = sent;
    j->opened = st->sess_opened;
    j->completed = st->sess_completed;
    cp_engine_free(e);
    return NULL;
}

static unsigned nworkers = 1;

/* pkts/s is the aggregate over the workers; ns/pkt is wall time per
 * packet (with N workers on N free cores: 1/N of one worker's). */
static void
run(const char *name, unsigned copies, unsigned reqs_per_conn, unsigned conns)
{
    job_t jobs[16];
    pthread_t th[16];
    double t0 = now_s();
    for (unsigned w = 0; w < nworkers; w++) {
        jobs[w] = (job_t){ copies, reqs_per_conn, conns, w, nworkers, 0, 0, 0, 0 };
        if (nworkers == 1)
            run_job(&jobs[0]);
        else if (pthread_create(&th[w], NULL, run_job, &jobs[w]) != 0)
            exit(1);
    }
    uint64_t cap = 0, snt = 0, op = 0, co = 0;
    for (unsigned w = 0; w < nworkers; w++) {
        if (nworkers > 1)
            pthread_join(th[w], NULL);
        cap += jobs[w].cap;
        snt += jobs[w].sent;
        op += jobs[w].opened;
        co += jobs[w].completed;
    }
    double dt = now_s() - t0;
    printf("%-32s %10llu %10llu %12.0f %10.1f %10llu %10llu\n", name, (unsigned long long)cap,
           (unsigned long long)snt, (double)cap / dt, dt * 1e9 / (double)cap,
           (unsigned long long)op, (unsigned long long)co);
}

int
main(int argc, char **argv)
{
    unsigned conns = argc > 1 ? (unsigned)atoi(argv[1]) : 200000;
    /* bench_engine [CONNS [WORKERS]]: WORKERS engines in as many threads,
     * each with its own sessions (the --fanout-group design). */
    if (argc > 2)
        nworkers = (unsigned)atoi(argv[2]);
    if (nworkers < 1 || nworkers > 16)
        nworkers = 1;
    printf("replay-copy engine, %u worker%s, null sink (%u connections per row)\n", nworkers,
           nworkers > 1 ? "s (threads)" : "", conns);
    printf("%-32s %10s %10s %12s %10s %10s %10s\n", "workload", "captured", "sent", "pkts/s", "ns/pkt",
           "sessions", "completed");
    cp_decap_cfg_init(&dcfg);
    run("short conn, 1 req", 1, 1, conns);
    run("keep-alive, 20 req/conn", 1, 20, conns / 10);
    run("short conn, -n 3", 3, 1, conns);
    wrap_mode = WRAP_ETH;
    run("short conn, Ethernet (SPAN)", 1, 1, conns);
    wrap_mode = WRAP_VXLAN;
    run("short conn, VXLAN mirror", 1, 1, conns);
    wrap_mode = WRAP_GRE;
    run("short conn, GRE (gretap) mirror", 1, 1, conns);
    if (nworkers == 1)
        printf("decapsulated frames: %llu ok, %llu not ok\n", (unsigned long long)dst.ok,
               (unsigned long long)(dst.frames - dst.ok));
    printf("fixed memory per session: %zu bytes (+ held packets: one slot of MTU+64 per "
           "unacknowledged segment)\n", cp_engine_session_bytes());
    return 0;
}
