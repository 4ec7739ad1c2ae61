/* ic_loop.c -- libuv wiring for replay-intercept: capture, timers, the
 * controller client, and the copy-agent channels' transport (accept,
 * Challenge, TLS, flood limits, Error + close). What their messages mean
 * (WAIT_HELLO -> READY, TupleRegister, Heartbeat) is ic_peer.c. */
#include "ic_loop.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "ic_ctl.h"
#include "ic_engine.h"
#include "ic_peer.h"
#include "rf_conn.h"
#include "rf_envelope.h"
#include "rf_esc.h"
#include "rf_handshake.h"
#include "rf_keys.h"
#include "rf_limit.h"
#include "rf_log.h"
#include "rf_priv.h"
#include "rf_sd.h"

#define IC_MAX_PEERS        1024u           /* authenticated copy connections */
/* Flood limits before TLS + Hello: a full pending table drops its OLDEST
 * entry (idle attackers age, a real copy agent finishes in milliseconds);
 * one source holds at most IC_PENDING_PER_IP of them. */
#define IC_MAX_PENDING      256u
#define IC_PENDING_PER_IP   16u
#define IC_HS_TIMEOUT_MS    3000u
#define IC_REFUSAL_LOG_MS   10000u
#define IC_PEER_MAX_FRAME   (1u << 20)      /* Hello / TupleRegister are small */
#define IC_PEER_MAX_WQ      (8u << 20)      /* ~1000 full batches behind: slow peer */
#define IC_MAX_PREFIXES     4096u
#define IC_MAX_TUPLES       (1u << 18)
#define IC_TUPLE_TTL_MS     120000u
#define IC_TICK_MS          10u
#define IC_PARK_CAP         4096u
#define IC_PARK_TTL_MS      40u             /* + one tick: parked at most 50 ms */
#define IC_DISPATCH_BUDGET  512             /* packets per wakeup: channels get their turn */
#define IC_CAP_RETRY_MS     1000u

typedef struct ic_loop ic_loop_t;

/* One copy-agent connection: its transport and flood bookkeeping here,
 * its protocol state in `proto` (ic_peer.c; the engine's ctx). */
typedef struct ic_conn {
    struct ic_conn *prev, *next;
    ic_loop_t      *L;
    rf_conn_t      *conn;
    uint64_t        accepted_ms;
    uint32_t        ip;
    int             counted;    /* in L->npending and L->src */
    rf_hs_server_t  hs;
    ic_peer_t       proto;
} ic_conn_t;

#define CONN_OF(peer) ((ic_conn_t *)(void *)((char *)(peer) - offsetof(ic_conn_t, proto)))

struct ic_loop {
    uv_loop_t            loop;
    uv_tcp_t             srv;
    uv_poll_t            cap_poll;
    uv_check_t           check;
    uv_timer_t           flush_timer, tick_timer, stats_timer, stop_timer, cap_timer;
    uv_signal_t          sigint, sigterm;
    int                  srv_inited;
    const ic_config_t   *cfg;
    const rf_auth_key_t *key;
    ic_capture_t        *cap;
    ic_engine_t          eng;
    ic_stats_t           st;
    ic_peer_env_t        penv;           /* eng, st, --insecure for ic_peer */
    ic_conn_t           *peers;
    unsigned             npending;
    rf_srcmap_t          src;            /* pending connections per source */
    rf_ratelog_t         refusals;       /* one line per 10 s in a flood */
    ic_ctl_t             ctl;
    int                  ctl_started;
    FILE                *stats_fp;
    int                  stopping;
    int                  exit_code;
    unsigned             ticks;
    uint64_t             now;            /* uv_now of the dispatch in progress */
    uint64_t             cap_err_logged;
    char                 filter[IC_FILTER_MAX + 128];
};

/* ---- stats ---- */

static void
snapshot(ic_loop_t *L)
{
    uint64_t drops;
    if (L->cap != NULL && ic_capture_drops(L->cap, &drops) == 0)
        L->st.kernel_drops = drops;
    L->st.slow_peers = rf_conn_counters.slow_peer;
    L->st.bad_frames = rf_conn_counters.bad_frames + rf_conn_counters.oversize;
}

static void
json_str(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(fp, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(fp, "\\u%04x", ch);
        else
            fputc(ch, fp);
    }
    fputc('"', fp);
}

static void
write_stats(ic_loop_t *L)
{
    if (L->stats_fp == NULL)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long long ms = (unsigned long long)ts.tv_sec * 1000ull +
                            (unsigned long long)ts.tv_nsec / 1000000ull;
    fprintf(L->stats_fp, "{\"ts_ms\":%llu,\"program\":\"replay-intercept\",\"id\":", ms);
    json_str(L->stats_fp, L->cfg->id);
    fprintf(L->stats_fp, ",\"generation\":%llu,\"counters\":",
            (unsigned long long)(L->ctl_started ? ic_ctl_generation(&L->ctl) : 0));
    rf_counters_json(L->stats_fp, ic_stats_defs, ic_stats_ndefs, &L->st);
    fputs("}\n", L->stats_fp);
    fflush(L->stats_fp);
}

static void
on_stats_timer(uv_timer_t *t)
{
    ic_loop_t *L = t->data;
    snapshot(L);
    write_stats(L);
}

/* ---- copy-agent channels ---- */

static int
peer_send_batch(void *ctx, const uint8_t *hdrs, size_t len, uint32_t count)
{
    ic_conn_t *p = CONN_OF(ctx);
    Rfpb__ResponseBatch rb = RFPB__RESPONSE_BATCH__INIT;
    rb.count = count;
    rb.headers.data = (uint8_t *)(uintptr_t)hdrs;   /* packed before return */
    rb.headers.len = len;
    Rfpb__Envelope env = RFPB__ENVELOPE__INIT;
    env.msg_case = RFPB__ENVELOPE__MSG_RESPONSES;
    env.responses = &rb;
    return rf_conn_send(p->conn, &env);
}

static const ic_engine_ops_t engine_ops = { peer_send_batch };

/* `reason` must be a static string: rf_conn keeps the pointer. Logged at
 * most once per IC_REFUSAL_LOG_MS with the count of the others. */
static void
peer_refuse(ic_conn_t *p, int code, const char *detail, const char *reason)
{
    uint64_t more;
    char note[48];
    if (rf_ratelog_hit(&p->L->refusals, uv_now(&p->L->loop), &more))
        rf_log_warn("copy agent %s%s%s%s: %s; closing%s",
                    rf_conn_peer(p->conn), p->proto.id[0] ? " (" : "", p->proto.id,
                    p->proto.id[0] ? ")" : "",
                    detail, rf_ratelog_note(note, sizeof(note), more));
    (void)rf_hs_send_error(p->conn, (uint32_t)(code < 0 ? -code : code), detail);
    rf_conn_close(p->conn, reason);
}

static void
pending_done(ic_loop_t *L, ic_conn_t *p)
{
    if (!p->counted)
        return;
    p->counted = 0;
    L->npending--;
    rf_srcmap_dec(&L->src, p->ip);
}

static void
peer_on_msg(rf_conn_t *conn, const Rfpb__Envelope *env)
{
    ic_conn_t *p = rf_conn_data(conn);
    ic_loop_t *L = p->L;
    ic_peer_link_t link = { rf_conn_tls_identity(conn), rf_conn_is_loopback(conn) };
    ic_peer_refusal_t why;
    switch (ic_peer_on_msg(&L->penv, &p->proto, &link, env, uv_now(&L->loop), &why)) {
    case IC_PEER_OK: return;
    case IC_PEER_REFUSE: peer_refuse(p, why.code, why.detail, why.reason); return;
    case IC_PEER_WELCOME: {
        pending_done(L, p);
        char srv[160];
        snprintf(srv, sizeof(srv), "replay-intercept %s", L->cfg->id);
        (void)rf_hs_send_welcome(conn, srv);   /* a failure closes the conn */
        return;
    }
    }
}

static void
peer_on_close(rf_conn_t *conn, const char *reason)
{
    ic_conn_t *p = rf_conn_data(conn);
    ic_loop_t *L = p->L;
    int was_ready = p->proto.state == IC_PEER_READY;
    ic_peer_gone(&L->penv, &p->proto);
    if (was_ready) {
        if (!L->stopping)
            rf_log_info("copy agent %s (%s) disconnected: %s", p->proto.id, p->proto.addr,
                        reason);
    } else {
        pending_done(L, p);
        if (strncmp(reason, "TLS", 3) == 0) {
            L->st.auth_failures++;
            uint64_t more;
            char note[48];
            if (!L->stopping && rf_ratelog_hit(&L->refusals, uv_now(&L->loop), &more))
                rf_log_warn("copy agent %s: %s%s",
                            rf_conn_peer(conn), reason, rf_ratelog_note(note, sizeof(note), more));
        }
        rf_log_debug("connection %s closed before its handshake: %s", rf_conn_peer(conn),
                     reason);
    }
    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        L->peers = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    free(p);
}

static const rf_conn_ops_t peer_ops = { NULL, peer_on_msg, peer_on_close };

/* TLS PSK lookup: only "copy/ID", keyed with the pair key this intercept
 * derives from its own key for that copy agent (rf_keys.h). */
static int
psk_lookup(void *arg, const char *ident, size_t len, uint8_t key[RF_KEY_LEN])
{
    ic_loop_t *L = arg;
    rf_krole_t role;
    char id[RF_ID_MAXLEN + 1];
    if (rf_ident_parse(ident, len, &role, id) != 0 || role != RF_KROLE_COPY)
        return -1;
    return rf_key_pair(key, L->key->key, L->key->len, id);
}

/* Full pending table: the oldest pending connection of the source with the
 * most pending ones goes (a copy agent has one; a flood has many). */
static void
drop_oldest_pending(ic_loop_t *L)
{
    uint32_t ip = rf_srcmap_busiest(&L->src);
    ic_conn_t *old = NULL;
    for (ic_conn_t *q = L->peers; q != NULL; q = q->next)
        if (q->proto.state == IC_PEER_WAIT_HELLO && q->ip == ip && !rf_conn_is_closing(q->conn) &&
            (old == NULL || q->accepted_ms <= old->accepted_ms))
            old = q;
    if (old != NULL) {
        L->st.copy_refused++;
        pending_done(L, old);
        peer_refuse(old, RF_EFULL, "pending table full: oldest dropped", "pending table full");
    }
}

static void
on_connection(uv_stream_t *srv, int status)
{
    ic_loop_t *L = srv->data;
    if (status < 0) {
        rf_log_warn("accept: %s", uv_strerror(status));
        return;
    }
    ic_conn_t *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        rf_log_error("accept: out of memory");
        return;
    }
    p->conn = rf_conn_new(&L->loop, &peer_ops, p, IC_PEER_MAX_FRAME, IC_PEER_MAX_WQ);
    if (p->conn == NULL) {
        free(p);
        rf_log_error("accept: out of memory");
        return;
    }
    p->L = L;
    ic_peer_init(&p->proto, NULL);
    p->accepted_ms = uv_now(&L->loop);
    p->next = L->peers;
    if (L->peers != NULL)
        L->peers->prev = p;
    L->peers = p;
    int r = rf_conn_accept(p->conn, srv);
    if (r < 0) {
        rf_conn_close(p->conn, "accept failed");
        return;
    }
    L->st.copy_accepted++;
    p->ip = rf_conn_peer_ip(p->conn);
    ic_peer_init(&p->proto, rf_conn_peer(p->conn));   /* now that the address is known */
    if (L->stopping || L->st.copy_conns >= IC_MAX_PEERS) {
        L->st.copy_refused++;
        peer_refuse(p, RF_EFULL, "too many connections", "too many connections");
        return;
    }
    if (rf_srcmap_inc(&L->src, p->ip, IC_PENDING_PER_IP) != 0) {
        if (L->npending >= IC_MAX_PENDING)
            drop_oldest_pending(L);
        if (rf_srcmap_inc(&L->src, p->ip, IC_PENDING_PER_IP) != 0) {
            L->st.copy_refused++;
            peer_refuse(p, RF_EFULL, "too many pending connections from this source",
                        "too many pending connections");
            return;
        }
    }
    p->counted = 1;
    if (++L->npending > IC_MAX_PENDING)
        drop_oldest_pending(L);
    if (L->key->len > 0 && rf_conn_tls_server(p->conn, psk_lookup, L) != 0) {
        rf_conn_close(p->conn, "out of memory");
        return;
    }
    (void)rf_hs_send_challenge(p->conn, &p->hs);
}

/* ---- capture ---- */

static void
on_packet(void *ctx, const uint8_t *ip, size_t caplen, uint32_t wire_len)
{
    ic_loop_t *L = ctx;
    ic_engine_on_packet(&L->eng, ip, caplen, wire_len, L->now);
}

static void on_pcap_readable(uv_poll_t *h, int status, int events);

static void
on_cap_timer(uv_timer_t *t)
{
    ic_loop_t *L = t->data;
    if (!L->stopping)
        uv_poll_start(&L->cap_poll, UV_READABLE, on_pcap_readable);
}

static void
cap_error(ic_loop_t *L, const char *what)
{
    L->st.cap_errors++;
    uint64_t now = uv_now(&L->loop);
    if (L->cap_err_logged == 0 || now - L->cap_err_logged >= 10000) {
        rf_log_error("capture: %s (pausing capture %u ms; logged at most every 10 s)", what,
                     IC_CAP_RETRY_MS);
        L->cap_err_logged = now;
    }
    /* A persistent error (interface down) must not spin the loop. */
    uv_poll_stop(&L->cap_poll);
    uv_timer_start(&L->cap_timer, on_cap_timer, IC_CAP_RETRY_MS, 0);
}

static void
on_flush_timer(uv_timer_t *t)
{
    ic_loop_t *L = t->data;
    ic_engine_flush(&L->eng);
}

static void
on_pcap_readable(uv_poll_t *h, int status, int events)
{
    ic_loop_t *L = h->data;
    (void)events;
    if (status < 0) {
        cap_error(L, uv_strerror(status));
        return;
    }
    L->now = uv_now(&L->loop);
    rf_errbuf_t err;
    if (ic_capture_dispatch(L->cap, IC_DISPATCH_BUDGET, on_packet, L, &err) < 0) {
        cap_error(L, err.msg);
        return;
    }
    /* The check handle flushes at the end of this turn; the timer is the
     * safety net should the turn not end promptly. */
    if (ic_engine_has_pending(&L->eng) && !uv_is_active((uv_handle_t *)&L->flush_timer))
        uv_timer_start(&L->flush_timer, on_flush_timer, 1, 0);
}

static void
on_check(uv_check_t *h)
{
    ic_loop_t *L = h->data;
    if (ic_engine_has_pending(&L->eng)) {
        ic_engine_flush(&L->eng);
        uv_timer_stop(&L->flush_timer);
    }
}

/* ---- housekeeping ---- */

static void
on_tick(uv_timer_t *t)
{
    ic_loop_t *L = t->data;
    uint64_t now = uv_now(&L->loop);
    ic_engine_tick(&L->eng, now);
    if (++L->ticks % (1000 / IC_TICK_MS) != 0)
        return;
    uint64_t more = rf_ratelog_flush(&L->refusals, now);
    if (more > 0)
        rf_log_warn("%llu more copy-channel refusals in the last %u s", (unsigned long long)more,
                    IC_REFUSAL_LOG_MS / 1000);
    /* Once a second: connections that never said Hello. */
    for (ic_conn_t *p = L->peers; p != NULL; p = p->next) {
        if (p->proto.state == IC_PEER_WAIT_HELLO && !rf_conn_is_closing(p->conn) &&
            now - p->accepted_ms >= IC_HS_TIMEOUT_MS) {
            L->st.hs_timeouts++;
            uint64_t skipped;
            char note[48];
            if (rf_ratelog_hit(&L->refusals, now, &skipped))
                rf_log_warn("connection %s: no TLS handshake + Hello within %u ms, closing%s",
                            rf_conn_peer(p->conn), IC_HS_TIMEOUT_MS,
                            rf_ratelog_note(note, sizeof(note), skipped));
            rf_conn_close(p->conn, "handshake timeout");
        }
    }
}

/* ---- fleet mode ---- */

static int
on_route_block(void *ctx, const rf_cidr_t *block, rf_errbuf_t *err)
{
    ic_loop_t *L = ctx;
    char f[sizeof(L->filter)];
    if (ic_opts_filter(L->cfg, block, f, sizeof(f)) != 0)
        return rf_err_set(err, RF_ERANGE, "capture filter too long");
    if (strcmp(f, L->filter) == 0)
        return 0;
    int r = ic_capture_set_filter(L->cap, f, err);
    if (r != 0)
        return r;
    snprintf(L->filter, sizeof(L->filter), "%s", f);
    rf_log_info("capture filter now \"%s\"", f);
    return 0;
}

static const ic_ctl_hooks_t ctl_hooks = { on_route_block };

/* ---- lifecycle ---- */

static void
loop_stop(ic_loop_t *L, const char *why)
{
    if (L->stopping)
        return;
    L->stopping = 1;
    rf_log_info("stopping: %s", why);
    rf_sd_stopping();
    /* Last flush, then the closing counters: the loss identity holds here. */
    ic_engine_flush(&L->eng);
    snapshot(L);
    write_stats(L);
    uv_close((uv_handle_t *)&L->cap_poll, NULL);
    uv_close((uv_handle_t *)&L->check, NULL);
    uv_close((uv_handle_t *)&L->flush_timer, NULL);
    uv_close((uv_handle_t *)&L->tick_timer, NULL);
    uv_close((uv_handle_t *)&L->stats_timer, NULL);
    uv_close((uv_handle_t *)&L->stop_timer, NULL);
    uv_close((uv_handle_t *)&L->cap_timer, NULL);
    uv_close((uv_handle_t *)&L->sigint, NULL);
    uv_close((uv_handle_t *)&L->sigterm, NULL);
    if (L->srv_inited)
        uv_close((uv_handle_t *)&L->srv, NULL);
    for (ic_conn_t *p = L->peers; p != NULL; p = p->next)
        rf_conn_close(p->conn, "shutting down");
    if (L->ctl_started)
        ic_ctl_stop(&L->ctl);
}

static void
on_signal(uv_signal_t *s, int signum)
{
    loop_stop(s->data, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

static void
on_stop_timer(uv_timer_t *t)
{
    loop_stop(t->data, "--duration reached");
}

int
ic_loop_run(const ic_config_t *cfg, const rf_auth_key_t *key, ic_capture_t *cap)
{
    ic_loop_t *L = calloc(1, sizeof(*L));
    if (L == NULL) {
        ic_capture_close(cap);
        return 1;
    }
    L->cfg = cfg;
    L->key = key;
    L->penv = (ic_peer_env_t){ &L->eng, &L->st, cfg->insecure };
    L->cap = cap;
    rf_ratelog_init(&L->refusals, IC_REFUSAL_LOG_MS);
    if (rf_srcmap_init(&L->src, 4 * IC_MAX_PENDING) != 0) {
        ic_capture_close(cap);
        free(L);
        return 1;
    }
    ic_engine_cfg_t ecfg = {
        .route = { .max_owners = IC_MAX_PEERS, .max_prefixes = IC_MAX_PREFIXES,
                   .max_tuples = IC_MAX_TUPLES, .tuple_ttl_ms = IC_TUPLE_TTL_MS },
        .batch_max = IC_BATCH_MAX,
        .park_cap = IC_PARK_CAP,
        .park_ttl_ms = IC_PARK_TTL_MS,
        .expire_budget = 4096,
    };
    if (ic_engine_init(&L->eng, &ecfg, &engine_ops, &L->st) != 0 || uv_loop_init(&L->loop) != 0) {
        rf_log_error("out of memory");
        ic_capture_close(cap);
        free(L);
        return 1;
    }
    if (ic_opts_filter(cfg, NULL, L->filter, sizeof(L->filter)) != 0)
        L->filter[0] = '\0';
    if (cfg->stats_json[0] != '\0') {
        L->stats_fp = strcmp(cfg->stats_json, "-") == 0 ? stdout : fopen(cfg->stats_json, "a");
        if (L->stats_fp == NULL)
            rf_log_error("--stats-json %s: cannot open; no stats lines", cfg->stats_json);
    }

    uv_loop_t *loop = &L->loop;
    uv_timer_t *timers[] = { &L->flush_timer, &L->tick_timer, &L->stats_timer, &L->stop_timer,
                             &L->cap_timer };
    for (size_t i = 0; i < sizeof(timers) / sizeof(timers[0]); i++) {
        uv_timer_init(loop, timers[i]);
        timers[i]->data = L;
    }
    uv_check_init(loop, &L->check);
    L->check.data = L;
    uv_signal_init(loop, &L->sigint);
    uv_signal_init(loop, &L->sigterm);
    L->sigint.data = L->sigterm.data = L;
    uv_poll_init(loop, &L->cap_poll, ic_capture_fd(cap));
    L->cap_poll.data = L;

    struct sockaddr_in sin;
    rf_errbuf_t err;
    int r = uv_ip4_addr(cfg->bind, cfg->port, &sin);
    if (r == 0) {
        L->srv_inited = 1;   /* rf_listen inits the handle before binding */
        r = rf_listen(&L->srv, loop, cfg->bind, cfg->port, on_connection);
        L->srv.data = L;
    }
    if (r != 0) {
        rf_log_error("--bind %s --port %u: cannot listen: %s", cfg->bind, cfg->port,
                     uv_strerror(r));
        L->exit_code = 1;
        loop_stop(L, "startup failed");
    } else if (rf_priv_drop(cfg->user, &err) != 0) {
        /* The capture handle, the listening socket (a port under 1024 needs
         * privilege too) and the stats file are open: nothing from here on
         * needs privilege, and a peer that finds a bug in the handlers must
         * not find root behind it. Refuse to run rather than run as root
         * when --user was asked for and cannot be honoured. */
        rf_log_error("%s", err.msg);
        L->exit_code = 1;
        loop_stop(L, "could not drop privileges");
    } else {
        uv_check_start(&L->check, on_check);
        uv_poll_start(&L->cap_poll, UV_READABLE, on_pcap_readable);
        uv_timer_start(&L->tick_timer, on_tick, IC_TICK_MS, IC_TICK_MS);
        uv_timer_start(&L->stats_timer, on_stats_timer, cfg->stats_interval_s * 1000u,
                       cfg->stats_interval_s * 1000u);
        if (cfg->duration_s)
            uv_timer_start(&L->stop_timer, on_stop_timer, (uint64_t)cfg->duration_s * 1000u, 0);
        uv_signal_start(&L->sigint, on_signal, SIGINT);
        uv_signal_start(&L->sigterm, on_signal, SIGTERM);
        rf_log_info("listening on %s:%u for copy agents (%s); capturing on %s, filter \"%s\"",
                    cfg->bind, cfg->port,
                    key->len ? "TLS 1.3, pair keys of this intercept's key"
                    : cfg->insecure ? "INSECURE: plain, no key"
                                    : "no key: plain, loopback peers only",
                    cfg->iface, L->filter);
        if (cfg->user[0] != '\0')
            rf_log_info("running as user %s with no capabilities", cfg->user);
        if (!key->len && cfg->insecure)
            rf_log_warn("INSECURE: --insecure: plain, unauthenticated copy agents accepted from "
                        "any address on %s:%u", cfg->bind, cfg->port);
        rf_sd_ready();   /* listening and capturing */
        if (cfg->fleet) {
            if (ic_ctl_start(&L->ctl, loop, cfg, key, &L->st, &ctl_hooks, L) == 0) {
                L->ctl_started = 1;
            } else {
                L->exit_code = 1;
                loop_stop(L, "controller client did not start");
            }
        }
    }
    uv_run(loop, UV_RUN_DEFAULT);
    if (uv_loop_close(loop) != 0)
        rf_log_warn("event loop closed with handles still open");
    ic_engine_fini(&L->eng);
    rf_srcmap_fini(&L->src);
    ic_capture_close(cap);
    if (L->stats_fp != NULL && L->stats_fp != stdout)
        fclose(L->stats_fp);
    int rc = L->exit_code;
    free(L);
    return rc;
}
