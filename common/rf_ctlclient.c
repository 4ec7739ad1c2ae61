/* rf_ctlclient.c -- controller client: connect, handshake, Assignment/Ack,
 * Stats/Heartbeat, reconnect with backoff. States:
 *   BACKOFF --timer--> CONNECTING --tcp up--> WAIT_CHALLENGE --Challenge/Hello-->
 *   WAIT_WELCOME --Welcome--> READY;  any close --> BACKOFF;  stop --> STOPPED.
 * In CONNECTING/WAIT_* the one timer is the handshake deadline; in BACKOFF it
 * is the retry delay, so a silent controller cannot stall us. */
#include "rf_ctlclient.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "rf_conn.h"
#include "rf_envelope.h"
#include "rf_esc.h"
#include "rf_handshake.h"
#include "rf_log.h"

#ifndef RF_CTL_SOFTWARE_VERSION
#define RF_CTL_SOFTWARE_VERSION "0.1.0"
#endif

#define CTL_MAX_IFACES      32
#define CTL_MAX_COUNTERS    128
#define CTL_BACKOFF_MIN_MS  250u
#define CTL_BACKOFF_MAX_MS  10000u
#define CTL_HS_TIMEOUT_MS   10000u
#define CTL_LOGGED_FAILURES 3u     /* then quiet until the state changes */
#define CTL_MAX_FRAME       (4u * 1024 * 1024)
#define CTL_MAX_WQ          (4u * 1024 * 1024)

typedef enum {
    CTL_BACKOFF = 0,
    CTL_CONNECTING,
    CTL_WAIT_CHALLENGE,
    CTL_WAIT_WELCOME,
    CTL_READY,
    CTL_STOPPED,
} ctl_state_t;

struct rf_ctlclient {
    uv_loop_t         *loop;
    uv_timer_t         timer;        /* retry delay or handshake deadline */
    uv_timer_t         stats_timer;  /* Stats + Heartbeat while READY */
    rf_conn_t         *conn;         /* NULL while in BACKOFF */
    ctl_state_t        state;
    int                pending_closes;
    /* Owned copies of the config. */
    char               host[64];
    uint16_t           port;
    char              *id;
    Rfpb__Role         role;
    char               advertise[64];
    uint16_t           listen_port;
    rf_auth_key_t      key;
    char               ident[RF_IDENT_MAXLEN + 1];   /* TLS PSK identity */
    char             **ifaces;
    size_t             n_ifaces;
    unsigned           stats_ms;
    char               hostname[256];
    char               software[64];
    rf_ctlclient_ops_t ops;
    void              *data;
    /* Progress. */
    uint64_t           generation;   /* last assignment acked ok */
    uint64_t           start_ms;
    unsigned           backoff_ms;
    unsigned           failures;     /* consecutive failed attempts */
    uint64_t           rng;
    char               refusal[160];  /* Error.reason, reported with the close */
    Rfpb__Counter      cstore[CTL_MAX_COUNTERS];
    Rfpb__Counter     *cptrs[CTL_MAX_COUNTERS];
};

static void connect_now(rf_ctlclient_t *c);

static uint64_t
rng_next(rf_ctlclient_t *c)
{
    /* xorshift64*: jitter only, not security. */
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return c->rng * 2685821657736338717ull;
}

static void
maybe_free(rf_ctlclient_t *c)
{
    if (c->pending_closes > 0)
        return;
    for (size_t i = 0; i < c->n_ifaces; i++)
        free(c->ifaces[i]);
    free(c->ifaces);
    free(c->id);
    explicit_bzero(&c->key, sizeof(c->key));
    free(c);
}

static void
on_handle_closed(uv_handle_t *h)
{
    rf_ctlclient_t *c = h->data;
    c->pending_closes--;
    maybe_free(c);
}

/* ---- sending ---- */

static int
send_env(rf_ctlclient_t *c, Rfpb__Envelope *env)
{
    if (c->conn == NULL)
        return RF_ESTATE;
    return rf_conn_send(c->conn, env);
}

static void
send_hello(rf_ctlclient_t *c, const Rfpb__Challenge *ch)
{
    (void)ch;
    Rfpb__Hello h = RFPB__HELLO__INIT;
    h.role = c->role;
    h.id = c->id;
    h.host = c->hostname;
    h.software = c->software;
    h.n_interfaces = c->n_ifaces;
    h.interfaces = c->ifaces;
    h.advertise = c->advertise;
    h.listen_port = c->listen_port;
    h.last_generation = c->generation;
    rf_hs_answer(&h);
    Rfpb__Envelope env = RFPB__ENVELOPE__INIT;
    env.msg_case = RFPB__ENVELOPE__MSG_HELLO;
    env.hello = &h;
    (void)send_env(c, &env);   /* a failure closes the conn: retry follows */
}

static void
send_stats(rf_ctlclient_t *c)
{
    size_t n = 0;
    if (c->ops.fill_stats != NULL) {
        n = c->ops.fill_stats(c->data, c->cstore, c->cptrs, CTL_MAX_COUNTERS);
        if (n > CTL_MAX_COUNTERS)
            n = CTL_MAX_COUNTERS;
    }
    Rfpb__Stats s = RFPB__STATS__INIT;
    s.generation = c->generation;
    s.uptime_ms = uv_now(c->loop) - c->start_ms;
    s.n_counters = n;
    s.counters = n ? c->cptrs : NULL;
    Rfpb__Envelope env = RFPB__ENVELOPE__INIT;
    env.msg_case = RFPB__ENVELOPE__MSG_STATS;
    env.stats = &s;
    if (send_env(c, &env) != 0)
        return;
    Rfpb__Heartbeat hb = RFPB__HEARTBEAT__INIT;
    hb.mono_ms = uv_now(c->loop);
    Rfpb__Envelope env2 = RFPB__ENVELOPE__INIT;
    env2.msg_case = RFPB__ENVELOPE__MSG_HEARTBEAT;
    env2.heartbeat = &hb;
    (void)send_env(c, &env2);
}

static void
on_stats_timer(uv_timer_t *t)
{
    rf_ctlclient_t *c = t->data;
    if (c->state == CTL_READY)
        send_stats(c);
}

/* ---- reconnect ---- */

static void
on_timer(uv_timer_t *t)
{
    rf_ctlclient_t *c = t->data;
    switch (c->state) {
    case CTL_BACKOFF:
        connect_now(c);
        break;
    case CTL_CONNECTING:
    case CTL_WAIT_CHALLENGE:
    case CTL_WAIT_WELCOME:
        if (c->conn != NULL)
            rf_conn_close(c->conn, "handshake timeout");
        break;
    case CTL_READY:
    case CTL_STOPPED:
        break;
    }
}

static void
schedule_retry(rf_ctlclient_t *c)
{
    unsigned base = c->backoff_ms;
    /* +-20% jitter so a fleet that lost the controller does not come back in
     * one synchronized wave. */
    uint64_t span = (uint64_t)base * 2 / 5;
    uint64_t delay = (uint64_t)base * 4 / 5 + (span ? rng_next(c) % (span + 1) : 0);
    c->backoff_ms = base * 2 > CTL_BACKOFF_MAX_MS ? CTL_BACKOFF_MAX_MS : base * 2;
    c->state = CTL_BACKOFF;
    uv_timer_start(&c->timer, on_timer, delay, 0);
}

static void
ctl_on_connect(rf_conn_t *conn, int status)
{
    rf_ctlclient_t *c = rf_conn_data(conn);
    if (status == 0 && c->state == CTL_CONNECTING)
        c->state = CTL_WAIT_CHALLENGE;
    /* status < 0: on_close follows and schedules the retry. */
}

static void
ctl_on_close(rf_conn_t *conn, const char *reason)
{
    rf_ctlclient_t *c = rf_conn_data(conn);
    if (c->conn == conn)
        c->conn = NULL;
    if (c->state == CTL_STOPPED) {
        c->pending_closes--;
        maybe_free(c);
        return;
    }
    uv_timer_stop(&c->stats_timer);
    uv_timer_stop(&c->timer);
    char why[200];
    snprintf(why, sizeof(why), "%s", c->refusal[0] ? c->refusal : reason);
    c->refusal[0] = '\0';
    reason = why;
    if (c->state == CTL_READY) {
        rf_log_warn("controller %s:%u: connection lost (%s); running on generation %llu, "
                    "reconnecting", c->host, c->port, reason,
                    (unsigned long long)c->generation);
        c->backoff_ms = CTL_BACKOFF_MIN_MS;
        c->failures = 0;
        if (c->ops.on_state != NULL)
            c->ops.on_state(c->data, 0);
        if (c->state == CTL_STOPPED)   /* stopped from on_state */
            return;
    } else {
        c->failures++;
        if (c->failures <= CTL_LOGGED_FAILURES)
            rf_log_warn("controller %s:%u: %s (attempt %u)%s", c->host, c->port, reason,
                        c->failures,
                        c->failures == CTL_LOGGED_FAILURES
                            ? "; retrying quietly with backoff up to 10 s"
                            : "");
        else
            rf_log_debug("controller %s:%u: %s (attempt %u)", c->host, c->port, reason,
                         c->failures);
    }
    schedule_retry(c);
}

/* ---- receiving ---- */

static void
handle_assignment(rf_ctlclient_t *c, const Rfpb__Assignment *a)
{
    rf_errbuf_t err;
    err.msg[0] = '\0';
    int r = 0;
    if (c->ops.on_assignment != NULL)
        r = c->ops.on_assignment(c->data, a, &err);
    if (c->state == CTL_STOPPED || c->conn == NULL)
        return;   /* stopped from inside the callback */
    if (r == 0)
        c->generation = a->generation;
    else if (err.msg[0] == '\0')
        rf_err_set(&err, r, "%s", rf_strerror(r));
    Rfpb__Ack ack = RFPB__ACK__INIT;
    ack.generation = a->generation;
    ack.ok = r == 0;
    ack.error = r == 0 ? (char *)"" : err.msg;
    Rfpb__Envelope env = RFPB__ENVELOPE__INIT;
    env.msg_case = RFPB__ENVELOPE__MSG_ACK;
    env.ack = &ack;
    (void)send_env(c, &env);
    rf_log_debug("controller: assignment generation %llu %s", (unsigned long long)a->generation,
                 r == 0 ? "accepted" : err.msg);
}

static void
ctl_on_msg(rf_conn_t *conn, const Rfpb__Envelope *env)
{
    rf_ctlclient_t *c = rf_conn_data(conn);
    if (c->state == CTL_STOPPED)
        return;
    switch (env->msg_case) {
    case RFPB__ENVELOPE__MSG_CHALLENGE:
        if (c->state != CTL_WAIT_CHALLENGE)
            break;
        send_hello(c, env->challenge);
        c->state = CTL_WAIT_WELCOME;
        return;
    case RFPB__ENVELOPE__MSG_WELCOME:
        if (c->state != CTL_WAIT_WELCOME)
            break;
        c->state = CTL_READY;
        uv_timer_stop(&c->timer);
        if (c->failures > 0)
            rf_log_info("controller %s:%u: connected after %u failed attempt%s", c->host,
                        c->port, c->failures, c->failures == 1 ? "" : "s");
        else
            rf_log_info("controller %s:%u: connected", c->host, c->port);
        c->failures = 0;
        c->backoff_ms = CTL_BACKOFF_MIN_MS;
        uv_timer_start(&c->stats_timer, on_stats_timer, c->stats_ms, c->stats_ms);
        if (c->ops.on_state != NULL)
            c->ops.on_state(c->data, 1);
        if (c->state == CTL_READY)
            send_stats(c);   /* the controller sees us at once */
        return;
    case RFPB__ENVELOPE__MSG_ASSIGNMENT:
        if (c->state != CTL_READY)
            break;
        handle_assignment(c, env->assignment);
        return;
    case RFPB__ENVELOPE__MSG_ERROR: {
        /* The controller closes right after: the close logs this reason (one
         * line per attempt, quiet after the first few) and retries. */
        char esc[128];
        snprintf(c->refusal, sizeof(c->refusal), "refused: %s (code %u)",
                 rf_esc(esc, sizeof(esc), env->error->reason), env->error->code);
        return;
    }
    case RFPB__ENVELOPE__MSG_HEARTBEAT:
        return;
    default:
        if (c->state == CTL_READY && c->ops.on_other != NULL && c->ops.on_other(c->data, env) == 0)
            return;
        break;
    }
    rf_log_warn("controller %s:%u: unexpected %s message, closing", c->host, c->port,
                rf_env_case_name(env));
    rf_conn_close(conn, "unexpected message");
}

static const rf_conn_ops_t ctl_conn_ops = { ctl_on_connect, ctl_on_msg, ctl_on_close };

static void
connect_now(rf_ctlclient_t *c)
{
    c->state = CTL_CONNECTING;
    c->conn = rf_conn_new(c->loop, &ctl_conn_ops, c, CTL_MAX_FRAME, CTL_MAX_WQ);
    if (c->conn == NULL) {
        c->failures++;
        schedule_retry(c);
        return;
    }
    uv_timer_start(&c->timer, on_timer, CTL_HS_TIMEOUT_MS, 0);
    /* With a key: TLS 1.3, PSK identity "ROLE/ID" (rf_keys.h). The
     * controller derives our key from the fleet master; a relay without it
     * fails the handshake and never sees a frame. */
    if (c->key.len > 0 && rf_conn_tls_client(c->conn, c->ident, c->key.key) != 0) {
        rf_conn_close(c->conn, "out of memory");
        return;
    }
    int r = rf_conn_connect(c->conn, c->host, c->port);
    if (r < 0)
        rf_conn_close(c->conn, uv_strerror(r));   /* on_close schedules the retry */
}

/* ---- public ---- */

int
rf_ctlclient_start(rf_ctlclient_t **out, uv_loop_t *loop, const rf_ctlclient_cfg_t *cfg,
                   const rf_ctlclient_ops_t *ops, void *data)
{
    struct sockaddr_in sin;
    if (cfg->host == NULL || strlen(cfg->host) >= sizeof(((rf_ctlclient_t *)0)->host) ||
        uv_ip4_addr(cfg->host, cfg->port, &sin) != 0 || cfg->port == 0) {
        rf_log_error("controller: bad address \"%s\" port %u", cfg->host ? cfg->host : "",
                     cfg->port);
        return RF_EPARSE;
    }
    if (cfg->id == NULL || cfg->id[0] == '\0') {
        rf_log_error("controller: an agent id is required");
        return RF_EPARSE;
    }
    char ident[RF_IDENT_MAXLEN + 1];
    if (rf_ident_format(ident, sizeof(ident), (rf_krole_t)cfg->role, cfg->id) != 0) {
        rf_log_error("controller: agent id \"%.64s\" is not 1..63 of [A-Za-z0-9._-]",
                     cfg->id);
        return RF_EPARSE;
    }
    if (cfg->n_interfaces > CTL_MAX_IFACES ||
        (cfg->advertise != NULL && strlen(cfg->advertise) >= sizeof(((rf_ctlclient_t *)0)->advertise))) {
        rf_log_error("controller: too many interfaces or advertise address too long");
        return RF_EPARSE;
    }
    rf_ctlclient_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    c->id = strdup(cfg->id);
    c->ifaces = calloc(cfg->n_interfaces ? cfg->n_interfaces : 1, sizeof(char *));
    if (c->id == NULL || c->ifaces == NULL) {
        free(c->id);
        free(c->ifaces);
        free(c);
        return -ENOMEM;
    }
    for (size_t i = 0; i < cfg->n_interfaces; i++) {
        c->ifaces[i] = strdup(cfg->interfaces[i] ? cfg->interfaces[i] : "");
        if (c->ifaces[i] == NULL) {
            c->n_ifaces = i;
            maybe_free(c);
            return -ENOMEM;
        }
    }
    c->n_ifaces = cfg->n_interfaces;
    c->loop = loop;
    snprintf(c->host, sizeof(c->host), "%s", cfg->host);
    c->port = cfg->port;
    c->role = cfg->role;
    snprintf(c->advertise, sizeof(c->advertise), "%s", cfg->advertise ? cfg->advertise : "");
    c->listen_port = cfg->listen_port;
    if (cfg->key != NULL)
        c->key = *cfg->key;
    snprintf(c->ident, sizeof(c->ident), "%s", ident);
    c->stats_ms = cfg->stats_interval_ms ? cfg->stats_interval_ms : 1000;
    if (gethostname(c->hostname, sizeof(c->hostname) - 1) != 0)
        snprintf(c->hostname, sizeof(c->hostname), "unknown");
    snprintf(c->software, sizeof(c->software), "%s %s",
             cfg->role == RFPB__ROLE__ROLE_COPY        ? "replay-copy"
             : cfg->role == RFPB__ROLE__ROLE_INTERCEPT ? "replay-intercept"
                                                       : "replayfleet",
             RF_CTL_SOFTWARE_VERSION);
    c->ops = *ops;
    c->data = data;
    c->start_ms = uv_now(loop);
    c->backoff_ms = CTL_BACKOFF_MIN_MS;
    c->rng = (uv_hrtime() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)c) | 1;
    uv_timer_init(loop, &c->timer);
    uv_timer_init(loop, &c->stats_timer);
    c->timer.data = c;
    c->stats_timer.data = c;
    rf_log_info("controller %s:%u: connecting as %s (%s)", c->host, c->port, c->id,
                c->key.len ? "TLS 1.3, PSK identity" : "plain, no key");
    connect_now(c);
    *out = c;
    return 0;
}

void
rf_ctlclient_stop(rf_ctlclient_t *c)
{
    if (c == NULL || c->state == CTL_STOPPED)
        return;
    c->state = CTL_STOPPED;
    c->pending_closes = 2;
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->stats_timer, on_handle_closed);
    if (c->conn != NULL) {
        c->pending_closes++;
        rf_conn_close(c->conn, "stopping");
        /* ctl_on_close clears c->conn and drops the count. */
    }
}

uint64_t
rf_ctlclient_generation(const rf_ctlclient_t *c)
{
    return c ? c->generation : 0;
}

int
rf_ctlclient_connected(const rf_ctlclient_t *c)
{
    return c != NULL && c->state == CTL_READY;
}

int
rf_ctlclient_send(rf_ctlclient_t *c, const Rfpb__Envelope *env)
{
    if (c == NULL || c->state != CTL_READY || c->conn == NULL)
        return RF_ESTATE;
    return send_env(c, (Rfpb__Envelope *)(uintptr_t)env);
}
