/* fuzz_envelope.c -- fuzz target for the message handlers behind the frame
 * decoder: what replay-intercept does with a copy agent's messages, what a
 * copy agent does with an intercept's ResponseBatch, what an agent does with
 * an Assignment. fuzz_frame stops at "the Envelope decodes"; this target
 * takes every decoded message further, through the real pure code the
 * handlers are: the shipped pure modules, not copies of them.
 *   intercept, per copy-agent connection: ic_peer_on_msg (Hello ->
 *     rf_hs_check_hello, ic_engine_peer_add/claim; TupleRegister;
 *     Heartbeat), a refusal closes it (ic_peer_gone), as ic_loop.c does;
 *   copy agent: ResponseBatch split by rf_hdr_next / ic_batch_next;
 *   both agents: Assignment -> cp_ctl_assignment (copy) and
 *     ic_ctl_on_assignment (intercept, with ic_opts_filter).
 * Only the transport (rf_conn, TLS, the Challenge) is left out: a
 * connection here is an ic_peer_t and a "closed" flag.
 *
 * Input layout:
 *   byte 0   bit 0 a key is configured, bit 1 peer is loopback, bit 2 --insecure
 *   then records: [peer byte][4-byte BE length][Envelope body] ...
 *   peer byte: bits 0-1 which of 4 connections the frame arrives on; bits
 *   2-7 milliseconds to advance the clock first (ticks, park/tuple expiry).
 * The nonce of connection i is fixed (i, i+1, ...), so a seed can carry a
 * valid MAC and the fuzzer can mutate everything else in the Hello.
 *
 * Properties (a violation traps):
 *   - every batch the engine sends splits (ic_batch_next) into exactly its
 *     `count` headers and exactly its `len` bytes;
 *   - a ResponseBatch is never read past its end, by either splitter;
 *   - the intercept's loss identity holds after the final flush:
 *     cap_pkts = bad_pkts + resp_forwarded + resp_lost + resp_unroutable
 *              + resp_park_expired + parked_now;
 *   - an accepted Assignment leaves the route block a valid prefix, and
 *     the copy agent's next config inside the limits cp_opts_check_replay
 *     enforces; a refused one says why. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_ctl.h"
#include "ic_batch.h"
#include "ic_ctl.h"
#include "ic_engine.h"
#include "ic_opts.h"
#include "ic_peer.h"
#include "rf_auth.h"
#include "rf_cidr.h"
#include "rf_envelope.h"
#include "rf_pkt.h"
#include "rf_err.h"
#include "rf_frame.h"
#include "rf_handshake.h"
#include "rf_log.h"
#include "rf_ports.h"
#include "fuzz_target.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The same frame cap as ic_loop.c, the tables smaller so each input is fast. */
#define FZ_PEERS          4u
#define FZ_MAX_FRAME      (1u << 20)/* IC_PEER_MAX_FRAME */
#define FZ_MAX_RECORDS    512
/* Printed by gen_envelope_seeds (tests/fuzz/corpus/envelope/README). */

typedef struct {
    ic_peer_t      proto;        /* first: the engine's ctx is &proto */
    rf_hs_server_t hs;
    int            closed;
    int            sends_fail;   /* the peer "does not drain": send fails */
} fz_peer_t;

typedef struct {
    ic_engine_t   eng;
    ic_stats_t    st;
    fz_peer_t     peers[FZ_PEERS];
    rf_auth_key_t key;
    int           loopback, insecure;
    uint64_t      now;
    ic_config_t   cfg;          /* for ic_opts_filter in the route-block hook */
    ic_ctl_t      ctl;
    ic_peer_env_t penv;
    cp_config_t   copy_cfg, copy_next;   /* the copy agent's, for cp_ctl */
    unsigned      copy_applied;          /* assignments cp_ctl accepted */
} fz_t;

static fz_t F;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (rf_auth_init() != 0)
        abort();
    rf_log_init("fuzz_envelope", NULL);
    (void)rf_log_set_level_name("error");   /* handlers log refusals at warn/info */
    return 0;
}

/* ---- engine -> "connection" ---- */

static int
fz_send(void *ctx, const uint8_t *hdrs, size_t len, uint32_t count)
{
    fz_peer_t *p = ctx;   /* &proto, its first member */
    FUZZ_CHECK(p != NULL && p->proto.state == IC_PEER_READY && !p->closed);
    FUZZ_CHECK(count >= 1 && count <= IC_BATCH_MAX && len <= IC_BATCH_MAX * IC_HDR_MAX);
    /* What the copy agent will do with it: split it back. */
    size_t off = 0;
    uint32_t n = 0;
    ic_hdr_t h;
    int r;
    while ((r = ic_batch_next(hdrs, len, &off, &h)) > 0) {
        FUZZ_CHECK((size_t)r == h.hlen && off <= len);
        n++;
    }
    FUZZ_CHECK(r == 0 && off == len && n == count);
    return p->sends_fail ? RF_EFULL : 0;
}

static const ic_engine_ops_t fz_ops = { fz_send };

static void
fz_close(fz_peer_t *p)
{
    ic_peer_gone(&F.penv, &p->proto);
    p->closed = 1;
}

/* ---- intercept side: a copy agent's messages (ic_peer.c) ---- */

static void
fz_on_peer_msg(fz_peer_t *p, const Rfpb__Envelope *env)
{
    /* With a key the channel is TLS: the identity it proved is fixed, the
     * Hello is the fuzzer's. */
    ic_peer_link_t link = { F.key.len ? "copy/cap-1" : NULL, F.loopback };
    ic_peer_refusal_t why;
    why.detail[0] = '\0';
    ic_peer_state_t before = p->proto.state;
    switch (ic_peer_on_msg(&F.penv, &p->proto, &link, env, F.now, &why)) {
    case IC_PEER_OK:
        FUZZ_CHECK(p->proto.state == before);
        break;
    case IC_PEER_WELCOME:
        FUZZ_CHECK(before == IC_PEER_WAIT_HELLO && p->proto.state == IC_PEER_READY &&
                   p->proto.owner != IC_OWNER_NONE);
        /* The id is logged: it must be printable ASCII. */
        for (const char *c = p->proto.id; *c; c++)
            FUZZ_CHECK(*c > 0x20 && *c < 0x7f);
        break;
    case IC_PEER_REFUSE:
        /* A refusal says why, and is closed with a static reason. */
        FUZZ_CHECK(why.detail[0] != '\0' && why.reason != NULL && why.code != 0);
        fz_close(p);
        break;
    }
}

/* ---- copy side: an intercept's ResponseBatch ---- */

/* The copy agent's splitter (rf_hdr_next, as agent-copy/cp_loop.c
 * icpt_on_msg uses it): it must never read past the buffer whatever the
 * bytes say. Returns the headers it would hand to the engine. */
static unsigned
fz_copy_split(const uint8_t *p, size_t len)
{
    unsigned n = 0;
    size_t off = 0;
    int r;
    while ((r = rf_hdr_next(p, len, &off)) > 0) {
        FUZZ_CHECK(off <= len);
        n++;
    }
    FUZZ_CHECK(r == 0 || r == RF_PKT_EBADHDR);
    return n;
}

static void
fz_on_responses(const Rfpb__ResponseBatch *rb)
{
    const uint8_t *buf = rb->headers.data;
    size_t len = rb->headers.len;
    FUZZ_CHECK(len == 0 || buf != NULL);
    /* Exactly `len` bytes on the heap: ASan catches a read of byte len. */
    uint8_t *copy = malloc(len ? len : 1);
    if (copy == NULL)
        return;
    if (len)
        memcpy(copy, buf, len);
    unsigned loose = fz_copy_split(copy, len);
    size_t off = 0;
    unsigned strict = 0;
    ic_hdr_t h;
    int r;
    while ((r = ic_batch_next(copy, len, &off, &h)) > 0) {
        FUZZ_CHECK(off <= len && h.hlen == (uint16_t)r && h.ip >= copy &&
                   h.ip + h.hlen <= copy + len);
        strict++;
        /* The same header captured again on the intercept (a response of a
         * response): routed into the engine, as if from libpcap. */
        uint32_t wire = ((uint32_t)h.ip[2] << 8) | h.ip[3];
        ic_engine_on_packet(&F.eng, h.ip, h.hlen, wire, F.now);
    }
    FUZZ_CHECK(r == 0 || r == RF_EDECODE);
    /* Whatever ic_batch_next accepts as a prefix, the copy agent's splitter
     * accepts too (ic_batch_next adds ic_hdr_parse on top of it). */
    FUZZ_CHECK(loose >= strict);
    /* Raw bytes too: the engine must cope with any capture. */
    ic_engine_on_packet(&F.eng, copy, len, (uint32_t)len, F.now);
    free(copy);
}

/* ---- agents: Assignment ---- */

static int
fz_route_block(void *ctx, const rf_cidr_t *block, rf_errbuf_t *err)
{
    (void)ctx;
    if (block != NULL)
        FUZZ_CHECK(block->len <= 32 && (block->addr & ~rf_cidr_mask(block->len)) == 0);
    char f[IC_FILTER_MAX + 128];
    if (ic_opts_filter(&F.cfg, block, f, sizeof(f)) != 0)
        return rf_err_set(err, RF_ERANGE, "capture filter too long");
    FUZZ_CHECK(strlen(f) < sizeof(f));
    return 0;
}

static const ic_ctl_hooks_t fz_hooks = { fz_route_block };

/* The copy agent's handler (cp_ctl.c): an accepted assignment is one the
 * engine can run with; a refused one says why and changes nothing. */
static void
fz_copy_assignment(const Rfpb__Assignment *as)
{
    rf_errbuf_t err;
    err.msg[0] = '\0';
    cp_config_t *n = &F.copy_next;
    if (cp_ctl_assignment(n, &F.copy_cfg, as, &err) != 0) {
        FUZZ_CHECK(err.msg[0] != '\0');
        return;
    }
    FUZZ_CHECK(n->max_copies == F.copy_cfg.max_copies && n->nallow == F.copy_cfg.nallow);
    if (!as->active) {
        FUZZ_CHECK(n->eng.nrules == 0 && n->nicpt == 0);
    } else {
        FUZZ_CHECK(n->eng.nrules >= 1 && n->eng.nrules <= RF_RULES_MAX);
        FUZZ_CHECK(n->eng.has_range && n->eng.range.len >= CP_RANGE_MIN_LEN &&
                   (n->eng.range.addr & ~rf_cidr_mask(n->eng.range.len)) == 0);
        for (unsigned i = 0; i < n->eng.nrules; i++)
            FUZZ_CHECK(n->eng.rules[i].target_ip != 0 && n->eng.rules[i].target_port != 0 &&
                       !rf_cidr_contains(&n->eng.range, n->eng.rules[i].target_ip));
        FUZZ_CHECK(n->eng.copies >= 1 && n->eng.copies <= n->max_copies &&
                   n->eng.offset <= CP_OFFSET_MAX && n->eng.sample_percent >= 1 &&
                   n->eng.sample_percent <= 100);
        FUZZ_CHECK(n->nicpt <= CP_MAX_ICPT);
        for (unsigned i = 0; i < n->nicpt; i++)
            FUZZ_CHECK(n->icpt[i].port != 0 && strlen(n->icpt[i].host) < sizeof(n->icpt[i].host));
    }
    /* What the agent would run with next. */
    F.copy_cfg = *n;
    F.copy_applied++;
}

static void
fz_on_assignment(const Rfpb__Assignment *as)
{
    fz_copy_assignment(as);
    rf_errbuf_t err;
    err.msg[0] = '\0';
    int before_have = F.ctl.have_block;
    rf_cidr_t before = F.ctl.block;
    uint64_t before_gen = F.ctl.generation;
    if (ic_ctl_on_assignment(&F.ctl, as, &err) == 0) {
        FUZZ_CHECK(F.ctl.generation == as->generation);
        if (F.ctl.have_block)
            FUZZ_CHECK(F.ctl.block.len <= 32 &&
                       (F.ctl.block.addr & ~rf_cidr_mask(F.ctl.block.len)) == 0);
    } else {
        /* A refused assignment changes nothing, and says why. */
        FUZZ_CHECK(F.ctl.have_block == before_have && F.ctl.block.addr == before.addr &&
                   F.ctl.block.len == before.len && F.ctl.generation == before_gen);
        FUZZ_CHECK(err.msg[0] != '\0');
    }
}

/* ---- everything else: walk it as a logger or a renderer would ---- */

static void
fz_walk_other(const Rfpb__Envelope *env)
{
    switch (env->msg_case) {
    case RFPB__ENVELOPE__MSG_CHALLENGE: {
        /* Client side: answer whatever nonce length the server sent. */
        Rfpb__Hello h = RFPB__HELLO__INIT;
        h.role = RFPB__ROLE__ROLE_COPY;
        FUZZ_CHECK(env->challenge->nonce.len == 0 || env->challenge->nonce.data != NULL);
        rf_hs_answer(&h);
        FUZZ_CHECK(h.auth_mac.len == 0 && h.version == RF_PROTO_VERSION);
        break;
    }
    case RFPB__ENVELOPE__MSG_ERROR:
        FUZZ_CHECK(env->error->reason == NULL || strlen(env->error->reason) < FZ_MAX_FRAME);
        break;
    case RFPB__ENVELOPE__MSG_STATS:
        for (size_t i = 0; i < env->stats->n_counters; i++) {
            const Rfpb__Counter *c = env->stats->counters[i];
            FUZZ_CHECK(c != NULL && (c->name == NULL || strlen(c->name) < FZ_MAX_FRAME));
        }
        break;
    default:
        FUZZ_CHECK(rf_env_case_name(env) != NULL);
        break;
    }
}

/* One frame on connection p: the intercept's dispatch (ic_loop.c
 * peer_on_msg), then, for the messages a copy agent or an agent receives,
 * their handlers. */
static void
fz_on_msg(fz_peer_t *p, const Rfpb__Envelope *env)
{
    FUZZ_CHECK(env->msg_case != RFPB__ENVELOPE__MSG__NOT_SET);
    switch (env->msg_case) {
    case RFPB__ENVELOPE__MSG_RESPONSES:
        fz_on_responses(env->responses);
        break;
    case RFPB__ENVELOPE__MSG_ASSIGNMENT:
        fz_on_assignment(env->assignment);
        break;
    default:
        fz_walk_other(env);
        break;
    }
    switch (env->msg_case) {
    case RFPB__ENVELOPE__MSG_RESPONSES:
    case RFPB__ENVELOPE__MSG_ASSIGNMENT:
    case RFPB__ENVELOPE__MSG_CHALLENGE:
    case RFPB__ENVELOPE__MSG_ERROR:
        /* Server -> client messages: handled above on the client side; on
         * the intercept they would only close the connection, which would
         * make the fuzzer's READY peers rare. Stats, Ack, Apply... still
         * reach the intercept's dispatch below and close it. */
        return;
    default:
        break;
    }
    if (p->closed)
        return;   /* the real connection is gone: later frames are never read */
    fz_on_peer_msg(p, env);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    memset(&F, 0, sizeof(F));
    uint8_t flags = data[0];
    if (flags & 1) {
        F.key.len = RF_KEY_LEN;
        memset(F.key.key, 0x5a, RF_KEY_LEN);
    }
    F.loopback = (flags >> 1) & 1;
    F.insecure = (flags >> 2) & 1;
    F.now = 1000;
    snprintf(F.cfg.filter, sizeof(F.cfg.filter), "tcp");
    F.cfg.port = RF_PORT_INTERCEPT;
    F.cfg.fleet = (flags >> 3) & 1;
    F.cfg.ctl_port = RF_PORT_CONTROL;
    F.ctl.hooks = &fz_hooks;
    F.ctl.st = &F.st;
    F.penv = (ic_peer_env_t){ &F.eng, &F.st, F.insecure };
    /* The copy agent as cp_opts leaves it in fleet mode, with a local cap
     * (bit 3 also picks an allow-list) the fuzzer's copies can cross. */
    F.copy_cfg.eng.copies = 1;
    F.copy_cfg.eng.sample_percent = 100;
    F.copy_cfg.eng.session_timeout_ms = 120000;
    F.copy_cfg.max_copies = 64;
    if (F.cfg.fleet) {
        F.copy_cfg.allow[0] = (rf_cidr_t){ 0x0a000000u, 8 };
        F.copy_cfg.nallow = 1;
    }
    ic_engine_cfg_t ecfg = {
        .route = { .max_owners = 8, .max_prefixes = 64, .max_tuples = 256,
                   .tuple_ttl_ms = 200 },
        .batch_max = (uint32_t)((flags >> 4) & 7) * 16,   /* 0 = IC_BATCH_MAX */
        .park_cap = 32,
        .park_ttl_ms = 40,
        .expire_budget = 64,
    };
    if (ecfg.batch_max == 0)
        ecfg.batch_max = IC_BATCH_MAX;
    if (ic_engine_init(&F.eng, &ecfg, &fz_ops, &F.st) != 0)
        return 0;
    for (unsigned i = 0; i < FZ_PEERS; i++) {
        for (unsigned j = 0; j < RF_AUTH_NONCE; j++)
            F.peers[i].hs.nonce[j] = (uint8_t)(i + j);
        ic_peer_init(&F.peers[i].proto, "10.0.0.1:5555");
        F.peers[i].sends_fail = (flags >> 7) & (i == 3);
    }

    const uint8_t *p = data + 1;
    size_t left = size - 1;
    for (int rec = 0; rec < FZ_MAX_RECORDS && left >= 1; rec++) {
        fz_peer_t *peer = &F.peers[p[0] & 3];
        uint64_t adv = p[0] >> 2;
        p++;
        left--;
        if (adv) {
            F.now += adv;
            ic_engine_tick(&F.eng, F.now);
        }
        size_t body_len;
        long n = rf_frame_next(p, left, FZ_MAX_FRAME, &body_len);
        if (n <= 0)
            break;   /* incomplete, or over the cap: the connection would close */
        uint8_t *body = malloc(body_len ? body_len : 1);
        if (body == NULL)
            break;
        if (body_len)
            memcpy(body, p + RF_FRAME_HDR, body_len);
        Rfpb__Envelope *env = NULL;
        if (rf_env_decode(&env, body, body_len) == 0) {
            fz_on_msg(peer, env);
            rf_env_free(env);
        } else if (!peer->closed) {
            fz_close(peer);   /* bad_frames: closed */
        }
        free(body);
        /* End of a loop turn; the tables must agree after every one. */
        ic_engine_flush(&F.eng);
        char why[160];
        if (ic_engine_check(&F.eng, why, sizeof(why)) != 0) {
            fprintf(stderr, "ic_engine_check: %s\n", why);
            FUZZ_CHECK(0);
        }
        p += n;
        left -= (size_t)n;
    }

    /* Shutdown: last flush, then the loss identity (ic_stats.h). */
    ic_engine_flush(&F.eng);
    const ic_stats_t *s = &F.st;
    FUZZ_CHECK(s->cap_pkts == s->bad_pkts + s->resp_forwarded + s->resp_lost +
                              s->resp_unroutable + s->resp_park_expired + s->parked_now);
    /* Seed maintenance: FZ_ENVELOPE_DEBUG=1 shows how far an input got. */
    static int debug = -1;
    if (debug < 0)
        debug = getenv("FZ_ENVELOPE_DEBUG") != NULL;
    if (debug)
        fprintf(stderr, "states %d%d%d%d auth_failures %llu cap %llu fwd %llu lost %llu "
                "unroutable %llu parked %llu expired %llu overlaps %llu tuples %llu gen %llu "
                "copy-applied %u\n",
                F.peers[0].proto.state, F.peers[1].proto.state, F.peers[2].proto.state,
                F.peers[3].proto.state,
                (unsigned long long)s->auth_failures, (unsigned long long)s->cap_pkts,
                (unsigned long long)s->resp_forwarded, (unsigned long long)s->resp_lost,
                (unsigned long long)s->resp_unroutable, (unsigned long long)s->resp_parked,
                (unsigned long long)s->resp_park_expired, (unsigned long long)s->route_overlaps,
                (unsigned long long)s->tuples_registered, (unsigned long long)F.ctl.generation,
                F.copy_applied);
    for (unsigned i = 0; i < FZ_PEERS; i++)
        if (!F.peers[i].closed)
            fz_close(&F.peers[i]);
    FUZZ_CHECK(s->cap_pkts == s->bad_pkts + s->resp_forwarded + s->resp_lost +
                              s->resp_unroutable + s->resp_park_expired + s->parked_now);
    ic_engine_fini(&F.eng);
    return 0;
}
