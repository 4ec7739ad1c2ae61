/* cp_loop.c -- replay-copy's event loop: the only file here that includes
 * uv.h. Wires capture -> engine -> raw sink, intercept channels -> engine,
 * timers, stats output and the controller client. Per loop turn: capture
 * batches are dispatched, then a check handle flushes the owed ACKs, the
 * batched sends and the tuple registrations. */
#include "cp_loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "cp_canary.h"
#include "cp_capture.h"
#include "cp_ctl.h"
#include "cp_decap.h"
#include "cp_offline.h"
#include "cp_sess.h"
#include "cp_tx.h"
#include "rf_auth.h"
#include "rf_conn.h"
#include "rf_ctlclient.h"
#include "rf_envelope.h"
#include "rf_esc.h"
#include "rf_handshake.h"
#include "rf_keys.h"
#include "rf_log.h"
#include "rf_parse.h"
#include "rf_ports.h"
#include "rf_pkt.h"
#include "rf_priv.h"
#include "rf_sd.h"

#define DISPATCH_BUDGET 512
#define TICK_MS 4
#define TUPLE_BATCH 1024

typedef struct cp_agent cp_agent_t;

typedef struct {
    cp_agent_t   *agent;
    cp_endpoint_t ep;
    rf_conn_t    *conn;      /* NULL while disconnected */
    int           up;        /* Welcome received */
    uv_timer_t    retry;
    unsigned      backoff_ms;
    int           wanted;    /* still in the configuration */
} icpt_t;

struct cp_agent {
    uv_loop_t       *loop;
    cp_config_t      cfg;
    cp_engine_t     *eng;
    cp_stats_t      *st;
    cp_tx_t         *sink;
    cp_capture_t    *caps[CP_MAX_IFACES];
    uv_poll_t        polls[CP_MAX_IFACES];
    unsigned         ncaps;
    cp_capture_t    *offline;
    cp_offline_t     off;            /* the offline reader's pacing and end */
    uint64_t         off_activity;   /* engine sends + responses at the last look */
    int              offline_done;
    cp_decap_cfg_t   dcfg;
    cp_decap_stats_t dst;
    icpt_t          *icpts[CP_MAX_ICPT];
    unsigned         nicpts;
    icpt_t          *dead[4 * CP_MAX_ICPT];   /* removed; freed at exit */
    unsigned         ndead;
    uv_timer_t       tick, stats_timer, offline_timer, stop_timer;
    uv_check_t       flush;
    uv_signal_t      sigint, sigterm;
    FILE            *stats_fp;
    rf_auth_key_t    key;
    rf_ctlclient_t  *ctl;
    uint64_t         start_ms;
    Rfpb__Tuple      tadd[TUPLE_BATCH], tdel[TUPLE_BATCH];
    unsigned         ntadd, ntdel;
    int              stopping;
    int              exit_code;
    cp_canary_t      canary;
    uv_timer_t       canary_timer;
    uint64_t         doctor_wait_until;
    int              sink_udp, sink_gre;   /* tunnel sinks, see open_tunnel_sinks */
};

static uint64_t
now_ms(cp_agent_t *a)
{
    return uv_now(a->loop);
}

/* ---------- capture path ---------- */

static void
on_frame(void *ctx, const uint8_t *frame, size_t caplen, uint64_t ts_us)
{
    cp_agent_t *a = ctx;
    const uint8_t *ip;
    size_t ip_len;
    cp_encap_t encap;
    (void)ts_us;
    int r = cp_decap(&a->dcfg, &a->dst, frame, caplen, &ip, &ip_len, &encap);
    if (r != CP_DECAP_OK) {
        /* Still a captured packet: it must land in exactly one counter. */
        a->st->cap_pkts++;
        a->st->cap_bytes += caplen;
        a->st->bad_pkts++;
        return;
    }
    cp_engine_on_client(a->eng, ip, ip_len, now_ms(a));
}

static void on_tick(uv_timer_t *t);

/* The tick only serves live sessions (their timers); with none it stops
 * (on_tick), so an idle agent is not woken every TICK_MS. The next frame
 * starts it again, after a catch-up of the timer wheel. */
static void
tick_resume(cp_agent_t *a)
{
    if (a->stopping || uv_is_active((uv_handle_t *)&a->tick))
        return;
    cp_engine_tick(a->eng, now_ms(a));
    /* Before the burst's first frame is read: a next hop that changed while
     * the agent was idle (nothing refreshes then) is read now, not up to a
     * second into the burst. */
    cp_tx_refresh(a->sink, now_ms(a));
    uv_timer_start(&a->tick, on_tick, TICK_MS, TICK_MS);
}

static void
on_pcap_readable(uv_poll_t *h, int status, int events)
{
    cp_agent_t *a = h->data;
    (void)events;
    if (status < 0)
        return;
    tick_resume(a);
    for (unsigned i = 0; i < a->ncaps; i++) {
        if (&a->polls[i] != h)
            continue;
        a->dcfg.linktype = cp_capture_linktype(a->caps[i]);
        /* Spurious wake-ups are fine: dispatch returns 0. */
        (void)cp_capture_dispatch(a->caps[i], DISPATCH_BUDGET, on_frame, a);
    }
}

static int all_icpt_up(const cp_agent_t *a);

/* Every packet of the file not yet handed to the engine, counted when the
 * agent stops before the end (read to the end: the count is exact). */
static void
count_undelivered(cp_agent_t *a)
{
    if (a->offline == NULL || a->offline_done)
        return;
    const uint8_t *f;
    size_t len;
    uint64_t ts;
    rf_errbuf_t err;
    while (cp_capture_peek(a->offline, &f, &len, &ts, &err) == 1) {
        a->st->undelivered_pkts++;
        cp_capture_consume(a->offline);
    }
    a->offline_done = 1;
}

/* Offline replay: paced by the capture timestamps (divided by --speed),
 * after the intercepts are up, never faster than the engine has room
 * (cp_offline.h). */
static void
on_offline(uv_timer_t *t)
{
    cp_agent_t *a = t->data;
    if (a->offline_done || a->stopping)
        return;
    a->dcfg.linktype = cp_capture_linktype(a->offline);
    int ready = all_icpt_up(a);
    for (int n = 0; n < 4096; n++) {
        const uint8_t *f;
        size_t len;
        uint64_t ts;
        rf_errbuf_t err;
        int r = cp_capture_peek(a->offline, &f, &len, &ts, &err);
        if (r < 0) {
            rf_log_error("%s", err.msg);
            a->exit_code = 1;
            a->offline_done = 1;
            cp_offline_eof(&a->off, now_ms(a));
            break;
        }
        if (r == 0) {
            rf_log_info("offline file done: %llu packets captured from it; waited for room "
                        "%llu times",
                        (unsigned long long)a->st->cap_pkts,
                        (unsigned long long)a->off.waits);
            a->offline_done = 1;
            cp_offline_eof(&a->off, now_ms(a));
            break;
        }
        uint64_t act = a->st->replayed_pkts + a->st->resp_received;
        uint64_t stalls = a->off.stalls;
        /* Room for the IP datagram: the frame is at least that long. */
        int room = cp_engine_has_room(a->eng, len);
        int d = cp_offline_next(&a->off, ts, ready, room, act != a->off_activity, now_ms(a));
        a->off_activity = act;
        a->st->offline_waits = a->off.waits;
        if (a->off.stalls != stalls)
            rf_log_warn("offline: no room in the engine and no progress for %u ms: reading on "
                        "(what has no room is shed and counted) until room comes back",
                        CP_OFFLINE_STALL_MS);
        if (d != CP_OFF_DELIVER)
            break;
        on_frame(a, f, len, ts);
        cp_capture_consume(a->offline);
    }
}

/* ---------- intercept channels ---------- */

static void icpt_connect(icpt_t *ic);

static void
on_icpt_retry(uv_timer_t *t)
{
    icpt_t *ic = t->data;
    if (ic->wanted && ic->conn == NULL && !ic->agent->stopping)
        icpt_connect(ic);
}

static void
icpt_send_hello(icpt_t *ic, const Rfpb__Challenge *ch)
{
    cp_agent_t *a = ic->agent;
    Rfpb__Hello h = RFPB__HELLO__INIT;
    char host[64] = "";
    (void)ch;
    gethostname(host, sizeof(host) - 1);
    h.role = RFPB__ROLE__ROLE_COPY;
    h.id = a->cfg.id;
    h.host = host;
    h.software = "replay-copy 0.1.0";
    Rfpb__Prefix pfx = RFPB__PREFIX__INIT;
    Rfpb__Prefix *ppfx = &pfx;
    if (a->cfg.eng.has_range) {
        pfx.addr = a->cfg.eng.range.addr;
        pfx.len = a->cfg.eng.range.len;
        h.n_owned = 1;
        h.owned = &ppfx;
    }
    rf_hs_answer(&h);
    Rfpb__Envelope env = RFPB__ENVELOPE__INIT;
    env.msg_case = RFPB__ENVELOPE__MSG_HELLO;
    env.hello = &h;
    rf_conn_send(ic->conn, &env);
}

/* ---------- doctor canary ---------- */

/* A probe's answer: record it and reset the target's half-open socket. */
static int
canary_response(cp_agent_t *a, const uint8_t *hdr, size_t len, uint64_t now)
{
    int i = cp_canary_on_response(&a->canary, hdr, len, now);
    if (i < 0)
        return 0;
    const cp_probe_t *p = &a->canary.p[i];
    if (p->stage == CP_CANARY_OK || p->stage == CP_CANARY_LATE) {
        uint8_t b[64];
        size_t n = cp_canary_rst(&a->canary, (unsigned)i, b);
        (void)cp_tx_send_now(a->sink, b, n, p->rule.target_ip);
    }
    return 1;
}

static int
any_icpt_up(const cp_agent_t *a)
{
    for (unsigned i = 0; i < a->nicpts; i++)
        if (a->icpts[i]->up)
            return 1;
    return 0;
}

/* 1 when every configured intercept is connected (or there is none). */
static int
all_icpt_up(const cp_agent_t *a)
{
    for (unsigned i = 0; i < a->nicpts; i++)
        if (a->icpts[i]->wanted && !a->icpts[i]->up)
            return 0;
    return 1;
}

static void begin_stop(cp_agent_t *a, const char *why);

static void
canary_finish(cp_agent_t *a)
{
    cp_canary_t *c = &a->canary;
    c->active = 0;
    uv_timer_stop(&a->canary_timer);
    Rfpb__CanaryRule store[RF_RULES_MAX], *ptrs[RF_RULES_MAX];
    char rules[RF_RULES_MAX][64], srcs[RF_RULES_MAX][32], details[RF_RULES_MAX][160];
    int all_ok = 1;
    for (unsigned i = 0; i < c->n; i++) {
        const cp_probe_t *p = &c->p[i];
        rfpb__canary_rule__init(&store[i]);
        rf_rule_format(&p->rule, rules[i], sizeof(rules[i]));
        char ip[16];
        rf_ipv4_format(p->src_ip, ip, sizeof(ip));
        snprintf(srcs[i], sizeof(srcs[i]), "%s:%u", ip, p->src_port);
        cp_canary_detail(p, details[i], sizeof(details[i]));
        store[i].rule = rules[i];
        store[i].stage = (Rfpb__CanaryStage)p->stage;
        store[i].send_errno = p->send_errno;
        store[i].rtt_us = p->rtt_us;
        store[i].src = srcs[i];
        store[i].detail = details[i];
        ptrs[i] = &store[i];
        all_ok &= p->stage == CP_CANARY_OK;
        rf_log_info("doctor: rule %s from %s: %s", rules[i], srcs[i], details[i]);
    }
    if (a->cfg.doctor) {
        for (unsigned i = 0; i < c->n; i++)
            printf("%-32s %-10s %s\n", rules[i],
                   c->p[i].stage == CP_CANARY_OK ? "OK" : "PROBLEM", details[i]);
        /* The probes went through the raw socket (they need its errno);
         * the replay itself leaves as this says. */
        for (unsigned i = 0; i < c->n; i++) {
            char how[128];
            cp_tx_describe(a->sink, c->p[i].rule.target_ip, how, sizeof(how));
            printf("%-32s %-10s replayed packets leave %s\n", rules[i], "send path", how);
        }
        fflush(stdout);
        a->exit_code = all_ok ? 0 : 1;
        begin_stop(a, "doctor finished");
        return;
    }
    Rfpb__CanaryResult r = RFPB__CANARY_RESULT__INIT;
    r.id = c->id;
    r.n_rules = c->n;
    r.rules = ptrs;
    Rfpb__Envelope env = RFPB__ENVELOPE__INIT;
    env.msg_case = RFPB__ENVELOPE__MSG_CANARY_RESULT;
    env.canary_result = &r;
    if (a->ctl)
        (void)rf_ctlclient_send(a->ctl, &env);
}

static void
on_canary_timer(uv_timer_t *t)
{
    cp_agent_t *a = t->data;
    if (cp_canary_done(&a->canary, now_ms(a)))
        canary_finish(a);
}

static void
canary_start(cp_agent_t *a, uint64_t id, uint32_t timeout_ms)
{
    if (a->canary.active)
        return;   /* one at a time; the controller times the other out */
    uint64_t now = now_ms(a);
    rf_cidr_t range = a->cfg.eng.range;
    if (!a->cfg.eng.has_range) {
        /* Without -c the probe has no address the intercepts route to us. */
        range.addr = 0;
        range.len = 32;
    }
    const cp_engine_cfg_t *ec = &a->cfg.eng;
    if (ec->noutputs == 0) {
        cp_canary_begin(&a->canary, id, ec->rules, ec->nrules, &range, timeout_ms, now,
                        (uint32_t)getpid());
    } else {
        /* Target groups: one probe per rule and output, to the output's
         * target from the output's own range (at most RF_RULES_MAX). */
        rf_rule_t flat[RF_RULES_MAX];
        uint32_t src[RF_RULES_MAX];
        unsigned n = 0;
        for (unsigned o = 0; o < ec->noutputs; o++)
            for (unsigned i = 0; i < ec->nrules && n < RF_RULES_MAX; i++, n++) {
                flat[n] = ec->rules[i];
                flat[n].target_ip = ec->outputs[o].target_ip[i];
                flat[n].target_port = ec->outputs[o].target_port[i];
                src[n] = rf_cidr_host_at(&ec->outputs[o].range, 0);
            }
        cp_canary_begin(&a->canary, id, flat, n, &range, timeout_ms, now, (uint32_t)getpid());
        for (unsigned k = 0; k < a->canary.n; k++)
            a->canary.p[k].src_ip = src[k];
    }
    int up = any_icpt_up(a);
    for (unsigned i = 0; i < a->canary.n; i++) {
        if (!up) {
            a->canary.p[i].stage = CP_CANARY_NO_INTERCEPT;
            continue;
        }
        uint8_t b[64];
        size_t n = cp_canary_syn(&a->canary, i, b);
        cp_canary_sent(&a->canary, i, cp_tx_send_now(a->sink, b, n, a->canary.p[i].rule.target_ip),
                       now);
    }
    uv_timer_start(&a->canary_timer, on_canary_timer, 5, 5);
}

static int
ctl_on_other(void *data, const Rfpb__Envelope *env)
{
    cp_agent_t *a = data;
    if (env->msg_case != RFPB__ENVELOPE__MSG_CANARY)
        return -1;
    canary_start(a, env->canary->id, env->canary->timeout_ms);
    return 0;
}

/* Standalone --doctor: wait (bounded) for an intercept, then probe. */
static void
on_doctor_wait(uv_timer_t *t)
{
    cp_agent_t *a = t->data;
    if (a->canary.active || a->stopping)
        return;
    if (any_icpt_up(a) || now_ms(a) >= a->doctor_wait_until)
        canary_start(a, 1, 1000);
}

static void
icpt_on_msg(rf_conn_t *c, const Rfpb__Envelope *env)
{
    icpt_t *ic = rf_conn_data(c);
    cp_agent_t *a = ic->agent;
    switch (env->msg_case) {
    case RFPB__ENVELOPE__MSG_CHALLENGE:
        icpt_send_hello(ic, env->challenge);
        break;
    case RFPB__ENVELOPE__MSG_WELCOME:
        ic->up = 1;
        ic->backoff_ms = 250;
        a->st->icpt_up++;
        rf_log_info("intercept %s:%u: connected", ic->ep.host, ic->ep.port);
        break;
    case RFPB__ENVELOPE__MSG_ERROR: {
        char esc[128];
        rf_log_error("intercept %s:%u refused us: %s", ic->ep.host, ic->ep.port,
                     rf_esc(esc, sizeof(esc), env->error->reason));
        break;
    }
    case RFPB__ENVELOPE__MSG_RESPONSES: {
        const uint8_t *p = env->responses->headers.data;
        size_t left = env->responses->headers.len;
        uint64_t now = now_ms(a);
        /* Anything inconsistent ends the batch (counted), never a read
         * past the buffer. */
        size_t off = 0;
        int n;
        while ((n = rf_hdr_next(p, left, &off)) > 0) {
            const uint8_t *h = p + off - (size_t)n;
            if (!a->canary.active || !canary_response(a, h, (size_t)n, now))
                cp_engine_on_response(a->eng, h, (size_t)n, now);
        }
        if (n < 0)
            a->st->resp_bad++;
        break;
    }
    default:
        rf_log_warn("intercept %s:%u: unexpected %s, closing", ic->ep.host, ic->ep.port,
                    rf_env_case_name(env));
        rf_conn_close(c, "unexpected message");
        break;
    }
}

static void
icpt_on_close(rf_conn_t *c, const char *reason)
{
    icpt_t *ic = rf_conn_data(c);
    if (ic == NULL)
        return;
    cp_agent_t *a = ic->agent;
    if (ic->up) {
        a->st->icpt_up--;
        rf_log_warn("intercept %s:%u: lost (%s); retrying", ic->ep.host, ic->ep.port, reason);
    } else if (ic->backoff_ms <= 500) {
        rf_log_warn("intercept %s:%u: cannot connect (%s); retrying", ic->ep.host, ic->ep.port,
                    reason);
    }
    ic->up = 0;
    ic->conn = NULL;
    if (!ic->wanted || a->stopping)
        return;
    unsigned jitter = (unsigned)(rand() % (int)(ic->backoff_ms / 5 + 1));
    uv_timer_start(&ic->retry, on_icpt_retry, ic->backoff_ms + jitter, 0);
    ic->backoff_ms = ic->backoff_ms * 2 > 5000 ? 5000 : ic->backoff_ms * 2;
}

static const rf_conn_ops_t icpt_ops = {
    .on_connect = NULL,
    .on_msg = icpt_on_msg,
    .on_close = icpt_on_close,
};

static void
icpt_connect(icpt_t *ic)
{
    cp_agent_t *a = ic->agent;
    ic->conn = rf_conn_new(a->loop, &icpt_ops, ic, 8u << 20, 4u << 20);
    if (ic->conn == NULL)
        return;
    /* TLS with identity copy/ID and the pair key for this intercept: from
     * the controller's Assignment, or standalone derived from --key-file
     * (the intercept's key, shared by both sides). Plain without either. */
    uint8_t pair[RF_KEY_LEN];
    const uint8_t *psk = NULL;
    if (ic->ep.has_psk)
        psk = ic->ep.psk;
    else if (!a->cfg.controller[0] && a->key.len > 0 &&
             rf_key_pair(pair, a->key.key, a->key.len, a->cfg.id) == 0)
        psk = pair;
    char ident[RF_IDENT_MAXLEN + 1];
    if (psk != NULL && (rf_ident_format(ident, sizeof(ident), RF_KROLE_COPY, a->cfg.id) != 0 ||
                        rf_conn_tls_client(ic->conn, ident, psk) != 0)) {
        explicit_bzero(pair, sizeof(pair));
        rf_conn_close(ic->conn, "bad id for TLS");
        return;
    }
    explicit_bzero(pair, sizeof(pair));
    if (rf_conn_connect(ic->conn, ic->ep.host, ic->ep.port) != 0)
        rf_conn_close(ic->conn, "connect failed");
}

static void
icpt_add(cp_agent_t *a, const cp_endpoint_t *ep)
{
    if (a->nicpts == CP_MAX_ICPT)
        return;
    icpt_t *ic = calloc(1, sizeof(*ic));
    if (ic == NULL)
        return;
    ic->agent = a;
    ic->ep = *ep;
    ic->wanted = 1;
    ic->backoff_ms = 250;
    uv_timer_init(a->loop, &ic->retry);
    ic->retry.data = ic;
    a->icpts[a->nicpts++] = ic;
    icpt_connect(ic);
}

static void
icpt_remove(cp_agent_t *a, unsigned i)
{
    icpt_t *ic = a->icpts[i];
    a->icpts[i] = a->icpts[--a->nicpts];
    ic->wanted = 0;
    uv_timer_stop(&ic->retry);
    if (ic->conn != NULL)
        rf_conn_close(ic->conn, "removed from assignment");
    /* The struct outlives its handles' callbacks; it is freed at exit.
     * Assignments change rarely, so the graveyard stays small. */
    if (a->ndead < sizeof(a->dead) / sizeof(a->dead[0]))
        a->dead[a->ndead++] = ic;
}

static int
ep_same(const cp_endpoint_t *x, const cp_endpoint_t *y)
{
    return strcmp(x->host, y->host) == 0 && x->port == y->port && x->has_psk == y->has_psk &&
           (!x->has_psk || memcmp(x->psk, y->psk, sizeof(x->psk)) == 0);
}

/* Make the intercept set equal to cfg->icpt, keeping unchanged ones (a new
 * pair key is a new endpoint: reconnect with it). */
static void
icpt_sync(cp_agent_t *a)
{
    for (unsigned i = 0; i < a->nicpts;) {
        int keep = 0;
        for (unsigned j = 0; j < a->cfg.nicpt && !keep; j++)
            keep = ep_same(&a->icpts[i]->ep, &a->cfg.icpt[j]);
        if (keep)
            i++;
        else
            icpt_remove(a, i);
    }
    for (unsigned j = 0; j < a->cfg.nicpt; j++) {
        int have = 0;
        for (unsigned i = 0; i < a->nicpts && !have; i++)
            have = ep_same(&a->icpts[i]->ep, &a->cfg.icpt[j]);
        if (!have)
            icpt_add(a, &a->cfg.icpt[j]);
    }
}

/* Single 4-tuples (no -c): every intercept hears about them, since we
 * cannot know which assistant the target routes them through. */
static void
tuples_flush(cp_agent_t *a)
{
    if (a->ntadd == 0 && a->ntdel == 0)
        return;
    Rfpb__Tuple *padd[TUPLE_BATCH], *pdel[TUPLE_BATCH];
    for (unsigned i = 0; i < a->ntadd; i++)
        padd[i] = &a->tadd[i];
    for (unsigned i = 0; i < a->ntdel; i++)
        pdel[i] = &a->tdel[i];
    Rfpb__TupleRegister tr = RFPB__TUPLE_REGISTER__INIT;
    tr.n_add = a->ntadd;
    tr.add = padd;
    tr.n_del = a->ntdel;
    tr.del = pdel;
    Rfpb__Envelope env = RFPB__ENVELOPE__INIT;
    env.msg_case = RFPB__ENVELOPE__MSG_TUPLES;
    env.tuples = &tr;
    for (unsigned i = 0; i < a->nicpts; i++)
        if (a->icpts[i]->up)
            rf_conn_send(a->icpts[i]->conn, &env);
    a->ntadd = a->ntdel = 0;
}

static void
emit_tramp(void *ctx, const uint8_t *ip, size_t len, uint32_t daddr)
{
    cp_tx_emit(((cp_agent_t *)ctx)->sink, ip, len, daddr);
}

static void
on_tuple(void *ctx, int add, uint32_t cip, uint16_t cport, uint32_t tip, uint16_t tport)
{
    cp_agent_t *a = ctx;
    if ((add ? a->ntadd : a->ntdel) == TUPLE_BATCH)
        tuples_flush(a);
    Rfpb__Tuple *t = add ? &a->tadd[a->ntadd++] : &a->tdel[a->ntdel++];
    rfpb__tuple__init(t);
    t->client_ip = cip;
    t->client_port = cport;
    t->target_ip = tip;
    t->target_port = tport;
    if (add)
        tuples_flush(a);   /* registration must beat the SYN-ACK */
}

/* ---------- per-turn flush, timers, stats ---------- */

/* Reading the intercepts' responses (lazily by default; --eager-responses). A
 * response is urgent only while a captured segment waits on the target
 * (its SYN-ACK, the answer the causal order needs, its window): then every
 * batch is read as it arrives. While nothing waits, the channels are read
 * once per tick (TICK_MS, which runs while any session lives) and what came
 * meanwhile is handled in one go: a keep-alive load with many connections
 * then costs a wake-up per tick instead of one per response (docs/BENCH.md:
 * 0.41x tcpcopy's CPU per request instead of 0.55x at keep-alive c50/10 ms).
 * Paced serial clients cost no more (keep-alive c4/2 ms: 32-40 us per
 * request against 38-43 eager); serial clients in a closed loop on a
 * saturated host sometimes do (docs/BENCH.md: --eager-responses for them).
 * t_copy_redis runs both modes. An early CI run with it on stalled
 * t_rollout's first load round (6.5 % of its requests); the agent's unit
 * had silently run at nice 0 then (fixed: Nice=-10), which overflowed the
 * capture ring in the eager run that failed the same way; not seen since.
 * Offline, stopping, the doctor's canary and without live sessions (no
 * tick) the channels are always read. */
static void
icpt_read_pace(cp_agent_t *a, int now)
{
    if (!a->cfg.lazy_responses)
        return;   /* never paused: nothing to do on any turn */
    int lazy = !now && !a->offline && !a->stopping && !a->canary.active &&
               uv_is_active((uv_handle_t *)&a->tick) && cp_engine_waiting(a->eng) == 0;
    for (unsigned i = 0; i < a->nicpts; i++) {
        icpt_t *ic = a->icpts[i];
        if (ic->conn != NULL && ic->up && rf_conn_pause(ic->conn, lazy) < 0)
            rf_conn_close(ic->conn, "cannot resume reading");
    }
}

static void
on_flush(uv_check_t *h)
{
    cp_agent_t *a = h->data;
    cp_engine_flush(a->eng, now_ms(a));
    tuples_flush(a);
    cp_tx_flush(a->sink);
    icpt_read_pace(a, 0);
}

static void
update_gauges(cp_agent_t *a)
{
    uint64_t drops = 0;
    for (unsigned i = 0; i < a->ncaps; i++)
        drops += cp_capture_drops(a->caps[i]);
    a->st->kernel_drops = drops;
    a->st->decap_vlan = a->dst.per_encap[CP_ENCAP_VLAN];
    a->st->decap_vxlan = a->dst.per_encap[CP_ENCAP_VXLAN];
    a->st->decap_gre = a->dst.per_encap[CP_ENCAP_GRE];
    a->st->decap_erspan = a->dst.per_encap[CP_ENCAP_ERSPAN2] + a->dst.per_encap[CP_ENCAP_ERSPAN3];
    a->st->decap_not_ip = a->dst.not_ip;
    a->st->decap_not_tcp = a->dst.not_tcp;
    a->st->decap_truncated = a->dst.truncated;
    a->st->decap_bad_encap = a->dst.bad_encap;
    a->st->decap_vni_filtered = a->dst.vni_filtered;
    a->st->generation = a->ctl ? rf_ctlclient_generation(a->ctl) : 0;
}

static void
write_stats(cp_agent_t *a)
{
    if (a->stats_fp == NULL)
        return;
    update_gauges(a);
    rf_counters_stats_line(a->stats_fp, "replay-copy", a->cfg.id, a->st->generation,
                           cp_stats_defs, cp_stats_ndefs, a->st);
}

static void
on_stats(uv_timer_t *t)
{
    cp_agent_t *a = t->data;
    /* The tick stops with the last session: idle for a while now, so the
     * memory the last burst touched goes back (cp_engine_trim). */
    if (!uv_is_active((uv_handle_t *)&a->tick)) {
        size_t n = cp_engine_trim(a->eng);
        if (n)
            rf_log_debug("idle: %zu KiB of session memory released", n >> 10);
    }
    write_stats(a);
}

static void
on_tick(uv_timer_t *t)
{
    cp_agent_t *a = t->data;
    cp_engine_tick(a->eng, now_ms(a));
    cp_tx_refresh(a->sink, now_ms(a));   /* next hops: once a second while sessions live */
    icpt_read_pace(a, 1);   /* this turn reads what came since the last tick */
    /* Offline: once the file is done and every session has ended (or the
     * session timeout has passed since the end of the file), there is
     * nothing left to do. */
    if (a->offline && a->offline_done && !a->stopping &&
        cp_offline_finished(&a->off, a->st->sess_active, now_ms(a)))
        begin_stop(a, "offline replay finished");
    else if (!a->offline && a->st->sess_active == 0)
        uv_timer_stop(&a->tick);
}

/* ---------- controller ---------- */

static int
on_assignment(void *data, const Rfpb__Assignment *as, rf_errbuf_t *err)
{
    cp_agent_t *a = data;
    cp_config_t n;
    int r = cp_ctl_assignment(&n, &a->cfg, as, err);
    if (r != 0)
        return r;
    /* A reconnect re-sends the same assignment: only touch the capture
     * filters when the rules changed (cp_ctl_same_rules). */
    rf_errbuf_t ferr;
    for (unsigned i = 0; i < a->ncaps && n.eng.nrules > 0 && !cp_ctl_same_rules(&n, &a->cfg); i++)
        if (cp_capture_set_rules(a->caps[i], n.eng.rules, n.eng.nrules, &ferr) != 0)
            return rf_err_set(err, RF_ECAP, "%s", ferr.msg);
    a->cfg = n;
    cp_engine_reconfigure(a->eng, &a->cfg.eng);
    icpt_sync(a);
    char rs[40] = "-";
    if (n.eng.has_range)
        rf_cidr_format(&n.eng.range, rs, sizeof(rs));
    rf_log_info("assignment generation %llu applied: %s, range %s, offset %u, copies %u, "
                "%u rules, %u intercepts, shard %u/%u",
                (unsigned long long)as->generation, as->active ? "active" : "idle", rs,
                n.eng.offset, n.eng.copies, n.eng.nrules, n.nicpt,
                cp_map_shard_count(&n.eng.shard), n.eng.shard.buckets);
    for (size_t k = 0; k < as->n_outputs && k < n.eng.noutputs; k++) {
        const cp_output_t *o = &n.eng.outputs[k];
        char tip[16];
        rf_cidr_format(&o->range, rs, sizeof(rs));
        rf_ipv4_format(o->target_ip[0], tip, sizeof(tip));
        rf_log_info("  target group %u \"%s\": range %s, first target %s:%u, copies %u, sample "
                    "%u%%, rate %llu pps", (unsigned)k, as->outputs[k]->name, rs, tip,
                    o->target_port[0], o->copies, o->sample_percent,
                    (unsigned long long)o->rate_limit_pps);
    }
    return 0;
}

/* "tgN_<counter>" for output N (target group N of the plan), built once:
 * Stats borrow the names. */
static char out_names[CP_OUTPUTS_MAX][8][32];

static size_t
fill_stats(void *data, Rfpb__Counter *store, Rfpb__Counter **ptrs, size_t max)
{
    cp_agent_t *a = data;
    update_gauges(a);
    size_t n = cp_stats_ndefs < max ? cp_stats_ndefs : max;
    rf_counters_to_pb(store, ptrs, cp_stats_defs, n, a->st);
    for (unsigned o = 0; o < a->st->outputs && o < CP_OUTPUTS_MAX; o++)
        for (unsigned d = 0; d < cp_out_stats_ndefs && d < 8 && n < max; d++, n++) {
            char *nm = out_names[o][d];
            if (nm[0] == '\0')
                snprintf(nm, sizeof(out_names[o][d]), "tg%u_%s", o, cp_out_stats_defs[d].name);
            rfpb__counter__init(&store[n]);
            store[n].name = nm;
            store[n].value = rf_counter_get(&a->st->out[o], &cp_out_stats_defs[d]);
            ptrs[n] = &store[n];
        }
    return n;
}

static const rf_ctlclient_ops_t ctl_ops = {
    .on_assignment = on_assignment,
    .fill_stats = fill_stats,
    .on_state = NULL,
    .on_other = ctl_on_other,
};

/* ---------- shutdown ---------- */

static void
on_stop(uv_timer_t *t)
{
    uv_stop(t->loop);
}

static void
begin_stop(cp_agent_t *a, const char *why)
{
    if (a->stopping)
        return;
    a->stopping = 1;
    rf_log_info("stopping: %s", why);
    rf_sd_stopping();
    count_undelivered(a);
    /* Reset live sessions so the target frees them, then give the loop a
     * moment to push the resets and the last stats out. */
    cp_engine_abort_all(a->eng, now_ms(a));
    cp_tx_flush(a->sink);
    write_stats(a);
    uv_timer_start(&a->stop_timer, on_stop, 100, 0);
}

static void
on_signal(uv_signal_t *h, int sig)
{
    begin_stop(h->data, sig == SIGINT ? "SIGINT" : "SIGTERM");
}

static void
on_duration(uv_timer_t *t)
{
    begin_stop(t->data, "--duration reached");
}

/* A capture host fed VXLAN or GRE must not answer the tunnel packets: with
 * nothing bound to the VXLAN port or protocol 47 the kernel would send ICMP
 * unreachable back to the mirror source for every packet. Bound but never
 * read, these sockets make the kernel drop them silently instead. */
static void
open_tunnel_sinks(cp_agent_t *a)
{
    a->sink_udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (a->sink_udp >= 0) {
        int one = 1;
        (void)setsockopt(a->sink_udp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        struct sockaddr_in sin;
        memset(&sin, 0, sizeof(sin));
        sin.sin_family = AF_INET;
        sin.sin_port = htons(a->cfg.vxlan_port);
        if (bind(a->sink_udp, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
            rf_log_warn("VXLAN sink on udp/%u: %s (a kernel vxlan device may own it)",
                        a->cfg.vxlan_port, strerror(errno));
            close(a->sink_udp);
            a->sink_udp = -1;
        }
    }
    a->sink_gre = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, 47);
    if (a->sink_gre < 0)
        rf_log_warn("GRE sink: %s", strerror(errno));
}

static void
close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* Capture phase: the offline file, or one live capture per interface. 0,
 * or the exit code (logged). */
static int
open_capture(cp_agent_t *a)
{
    rf_errbuf_t err;
    if (a->cfg.offline[0]) {
        if (cp_capture_open_offline(&a->offline, a->cfg.offline, a->cfg.eng.rules,
                                    a->cfg.eng.nrules, a->cfg.filter, &err) != 0) {
            rf_log_error("%s", err.msg);
            return 2;
        }
        cp_offline_init(&a->off, a->cfg.speed, a->cfg.eng.session_timeout_ms, now_ms(a));
        uv_timer_init(a->loop, &a->offline_timer);
        a->offline_timer.data = a;
        uv_timer_start(&a->offline_timer, on_offline, 200, 1);
    } else {
        unsigned n = a->cfg.nifaces ? a->cfg.nifaces : 1;
        for (unsigned i = 0; i < n; i++) {
            cp_live_opts_t lo = {
                .iface = a->cfg.nifaces ? a->cfg.ifaces[i] : "any",
                .extra_filter = a->cfg.filter,
                .promisc = a->cfg.promisc,
                .tunnels = a->cfg.tunnels,
                .vxlan_port = a->cfg.vxlan_port,
                .buffer_mb = a->cfg.pcap_buffer_mb,
                /* Whole packets: GRO/GSO hand the capture segments far
                 * larger than the MTU (the engine splits them), and a
                 * truncated one is lost. TPACKET_V3 blocks store each frame
                 * at its own length, so this costs no ring space. Immediate
                 * mode uses fixed TPACKET_V2 frames sized from the snaplen:
                 * there the MTU plus link and tunnel headers (GRO off). */
                .snaplen = a->cfg.capture_latency_ms ? 65535u : (unsigned)a->cfg.eng.mtu + 256u,
                .latency_ms = a->cfg.capture_latency_ms,
                .fanout_group = a->cfg.fanout_group,
                /* The online server's replies too (headers only), for the
                 * causal order; a mirror port carries them anyway. */
                .dir = (a->cfg.promisc || a->cfg.tunnels) ? CP_DIR_BOTH
                       : (a->cfg.no_reverse || !a->cfg.eng.causal_timeout_ms) ? CP_DIR_CLIENT
                                                                               : CP_DIR_HOST,
            };
            /* In fleet mode the rules may still be empty: capture nothing
             * useful until the assignment arrives (port 0 matches nothing). */
            rf_rule_t none = { 0, 0, 0, 0 };
            const rf_rule_t *rules = a->cfg.eng.nrules ? a->cfg.eng.rules : &none;
            unsigned nr = a->cfg.eng.nrules ? a->cfg.eng.nrules : 1;
            if (cp_capture_open_live(&a->caps[i], &lo, rules, nr, &err) != 0) {
                rf_log_error("%s", err.msg);
                return 1;
            }
            uv_poll_init(a->loop, &a->polls[i], cp_capture_fd(a->caps[i]));
            a->polls[i].data = a;
            uv_poll_start(&a->polls[i], UV_READABLE, on_pcap_readable);
            a->ncaps++;
        }
    }
    return 0;
}

/* Timers, the per-turn flush and the signals. */
static void
start_timers(cp_agent_t *a)
{
    uv_timer_init(a->loop, &a->tick);
    a->tick.data = a;
    uv_timer_start(&a->tick, on_tick, TICK_MS, TICK_MS);
    uv_timer_init(a->loop, &a->stats_timer);
    a->stats_timer.data = a;
    uv_timer_start(&a->stats_timer, on_stats, a->cfg.stats_interval_s * 1000u,
                   a->cfg.stats_interval_s * 1000u);
    uv_timer_init(a->loop, &a->stop_timer);
    a->stop_timer.data = a;
    if (a->cfg.duration_s)
        uv_timer_start(&a->stop_timer, on_duration, a->cfg.duration_s * 1000ull, 0);
    uv_timer_init(a->loop, &a->canary_timer);
    a->canary_timer.data = a;
    if (a->cfg.doctor) {
        a->doctor_wait_until = now_ms(a) + 3000;
        /* Reuses the canary timer: it polls until an intercept is up, then
         * canary_start() re-arms it for the probe deadline. */
        uv_timer_start(&a->canary_timer, on_doctor_wait, 20, 20);
    }
    uv_check_init(a->loop, &a->flush);
    a->flush.data = a;
    uv_check_start(&a->flush, on_flush);
    uv_signal_init(a->loop, &a->sigint);
    uv_signal_init(a->loop, &a->sigterm);
    a->sigint.data = a->sigterm.data = a;
    uv_signal_start(&a->sigint, on_signal, SIGINT);
    uv_signal_start(&a->sigterm, on_signal, SIGTERM);
}

/* Fleet mode: the controller client (Hello, Assignment, Stats). */
static int
start_controller(cp_agent_t *a)
{
    if (a->cfg.controller[0]) {
        char host[64];
        uint16_t port;
        rf_parse_hostport(a->cfg.controller, host, sizeof(host), &port, RF_PORT_CONTROL);
        const char *ifs[CP_MAX_IFACES];
        for (unsigned i = 0; i < a->cfg.nifaces; i++)
            ifs[i] = a->cfg.ifaces[i];
        rf_ctlclient_cfg_t cc = {
            .host = host, .port = port, .id = a->cfg.id, .role = RFPB__ROLE__ROLE_COPY,
            .advertise = NULL, .listen_port = 0, .key = &a->key,
            .interfaces = ifs, .n_interfaces = a->cfg.nifaces, .stats_interval_ms = 1000,
        };
        if (rf_ctlclient_start(&a->ctl, a->loop, &cc, &ctl_ops, a) != 0) {
            rf_log_error("--controller %s: cannot start the controller client", a->cfg.controller);
            return 1;
        }
    }
    return 0;
}

/* Orderly teardown: close every handle, run the loop until they are
 * gone, then free. Returns the exit code. */
static int
teardown(cp_agent_t *a)
{
    /* Orderly teardown: close every handle, run the loop until they are
     * gone, then free. */
    if (a->ctl)
        rf_ctlclient_stop(a->ctl);
    a->stopping = 1;
    for (unsigned i = 0; i < a->nicpts; i++) {
        a->icpts[i]->wanted = 0;
        if (a->icpts[i]->conn)
            rf_conn_close(a->icpts[i]->conn, "shutdown");
    }
    uv_walk(a->loop, close_walk, NULL);
    uv_run(a->loop, UV_RUN_DEFAULT);
    for (unsigned i = 0; i < a->nicpts; i++)
        free(a->icpts[i]);
    for (unsigned i = 0; i < a->ndead; i++)
        free(a->dead[i]);
    for (unsigned i = 0; i < a->ncaps; i++)
        cp_capture_close(a->caps[i]);
    cp_capture_close(a->offline);
    cp_tx_close(a->sink);
    cp_engine_free(a->eng);
    if (a->sink_udp >= 0)
        close(a->sink_udp);
    if (a->sink_gre >= 0)
        close(a->sink_gre);
    if (a->stats_fp && a->stats_fp != stdout)
        fclose(a->stats_fp);
    int code = a->exit_code;
    free(a);
    uv_loop_close(uv_default_loop());
    return code;
}

int
cp_agent_run(const cp_config_t *cfg)
{
    cp_agent_t *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return 1;
    a->cfg = *cfg;
    a->sink_udp = a->sink_gre = -1;
    a->loop = uv_default_loop();
    uv_update_time(a->loop);
    a->start_ms = now_ms(a);
    char kwhy[200];
    if (a->cfg.key_file[0] && rf_auth_key_load_err(&a->key, a->cfg.key_file, kwhy,
                                                   sizeof(kwhy)) != 0) {
        rf_log_error("--key-file %s: %s", a->cfg.key_file, kwhy);
        free(a);
        return 2;
    }
    cp_decap_cfg_init(&a->dcfg);
    a->dcfg.vni_filter = a->cfg.vni;
    a->dcfg.vxlan_port = a->cfg.vxlan_port;

    cp_sink_t sink = { emit_tramp, a->cfg.eng.has_range ? NULL : on_tuple };
    a->eng = cp_engine_new(&a->cfg.eng, &sink, a, now_ms(a));
    if (a->eng == NULL) {
        rf_log_error("-m %zu MB: cannot allocate the session tables", a->cfg.eng.memory_bytes >> 20);
        free(a);
        return 1;
    }
    a->st = cp_engine_stats(a->eng);
    cp_tx_counters_t ctr = { &a->st->send_errors, &a->st->link_pkts, &a->st->raw_pkts,
                             &a->st->link_targets };
    char why[160];
    int r = cp_tx_open(&a->sink, 256, (size_t)a->cfg.eng.mtu + 64, !a->cfg.raw_send, ctr, why,
                       sizeof(why));
    if (r < 0) {
        rf_log_error("raw socket: %s (replay-copy needs CAP_NET_RAW)", strerror(-r));
        cp_engine_free(a->eng);
        free(a);
        return 1;
    }
    if (why[0])
        rf_log_warn("link-layer sending off, every packet goes through the raw socket: %s", why);
    /* From here on every failure runs the normal teardown, so nothing
     * allocated so far leaks (LeakSanitizer checks the error paths). */
#define FAIL(code)           \
    do {                     \
        a->exit_code = code; \
        goto out;            \
    } while (0)
    rf_errbuf_t err;
    if ((r = open_capture(a)) != 0)
        FAIL(r);
    if (a->cfg.stats_json[0]) {
        a->stats_fp = strcmp(a->cfg.stats_json, "-") == 0 ? stdout : fopen(a->cfg.stats_json, "a");
        if (a->stats_fp == NULL) {
            rf_log_error("--stats-json %s: %s", a->cfg.stats_json, strerror(errno));
            FAIL(2);
        }
    }
    if (a->cfg.tunnels)
        open_tunnel_sinks(a);
    /* On a saturated host the agent's share of the CPU is the fidelity
     * knee (docs/BENCH.md): --nice lets an operator buy it back. Needs
     * privilege for negative values, so it is set before the drop. */
    if (a->cfg.nice != 0 && setpriority(PRIO_PROCESS, 0, a->cfg.nice) != 0)
        rf_log_warn("--nice %d: %s", a->cfg.nice, strerror(errno));
    /* Capture handles and the raw socket are open (and the stats file): nothing from here on
     * needs privilege. */
    if (rf_priv_drop(a->cfg.user, &err) != 0) {
        rf_log_error("%s", err.msg);
        FAIL(1);
    }
    start_timers(a);
    icpt_sync(a);
    if (start_controller(a) != 0)
        FAIL(1);
    rf_log_info("replay-copy %s running: %u rules, %u intercepts, %s capture",
                a->cfg.id, a->cfg.eng.nrules, a->cfg.nicpt, a->cfg.offline[0] ? "offline" : "live");
    rf_sd_ready();   /* capturing: systemd's Type=notify start is done */
    uv_run(a->loop, UV_RUN_DEFAULT);
#undef FAIL

out:
    return teardown(a);
}
