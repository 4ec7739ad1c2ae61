/* rd_server.c -- listener, per-connection state machine, housekeeping,
 * the doctor run's timer and the metrics page refresh. */
#include "rd_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rd_admin.h"
#include "rd_doctor.h"
#include "rd_metrics.h"
#include "rf_conn.h"
#include "rf_envelope.h"
#include "rf_esc.h"
#include "rf_handshake.h"
#include "rf_keys.h"
#include "rf_limit.h"
#include "rf_log.h"
#include "rf_tls.h"

typedef enum { PEER_HELLO, PEER_AGENT, PEER_ADMIN } peer_state_t;

typedef struct peer {
    rd_server_t   *srv;
    rf_conn_t     *conn;
    peer_state_t   st;
    rf_hs_server_t hs;
    uint64_t       since_ms;
    uint32_t       ip;           /* peer address, host order */
    int            pending;      /* counted in srv->pending / srv->src */
    rd_agent_t    *agent;        /* PEER_AGENT: borrowed from the registry */
    struct peer   *prev, *next;
} peer_t;

struct rd_server {
    uv_loop_t  *loop;
    uv_tcp_t    listener;
    uv_timer_t  tick;
    rd_config_t cfg;
    rd_ctx_t   *ctx;             /* owned */
    peer_t     *peers;           /* every open connection */
    size_t      npeers;
    int         stopping;
    int         handles_open;
    size_t      pending;         /* peers before TLS + Hello */
    rf_srcmap_t src;             /* pending peers per source IP */
    rf_ratelog_t refusals;       /* connection refusals and drops */
    rf_ratelog_t authlog;        /* handshake and Hello refusals */
    rd_metrics_t *metrics;       /* NULL without --metrics */
    rd_doctor_t doctor;          /* doctor.active while a run is on */
    uv_timer_t  doctor_timer;
    int         doctor_timer_open;
    uint64_t    doctor_seq;
    uint64_t    started_ms;      /* capture groups wait a heartbeat timeout after it */
};

static uint64_t
now_ms(const rd_server_t *s)
{
    return uv_now(s->loop);
}

static void
send_error_close(peer_t *p, int code, const char *reason)
{
    /* The Error goes out before the close: rf_conn writes immediately when
     * the queue is empty, and uv_close does not discard written bytes. */
    (void)rf_hs_send_error(p->conn, (uint32_t)(code < 0 ? -code : code), reason);
    rf_conn_close(p->conn, reason);
}

static void
bad_state(peer_t *p, const Rfpb__Envelope *env)
{
    char reason[128];
    snprintf(reason, sizeof(reason), "message \"%s\" not valid %s", rf_env_case_name(env),
             p->st == PEER_HELLO   ? "before Hello"
             : p->st == PEER_AGENT ? "from an agent"
                                   : "from an admin client");
    p->srv->ctx->ctr.bad_state++;
    rf_log_warn("closing %s (%s): %s", rf_conn_peer(p->conn),
                p->agent ? p->agent->id : "no id", reason);
    send_error_close(p, RF_ESTATE, reason);
}

/* ---- doctor ----------------------------------------------------------- */

static void
doctor_finish(rd_server_t *s)
{
    rd_doctor_t *d = &s->doctor;
    rd_doctor_correlate(d, s->ctx);
    peer_t *admin = d->admin;
    size_t ok = 0, answered = 0;
    for (size_t i = 0; i < d->nag; i++) {
        answered += d->ag[i].answered != 0;
        for (unsigned k = 0; k < d->ag[i].nrules; k++)
            ok += d->ag[i].rules[k].stage == RFPB__CANARY_STAGE__CANARY_OK;
    }
    rf_log_info("doctor run %llu done in %llu ms: %zu/%zu copy agent(s) answered, %zu rule(s) "
                "OK, %zu note(s)",
                (unsigned long long)d->id, (unsigned long long)(now_ms(s) - d->start_ms),
                answered, d->nag, ok, d->nnotes);
    for (size_t i = 0; i < d->nnotes; i++)
        rf_log_info("doctor: %s", d->notes[i]);
    if (admin != NULL) {
        Rfpb__DoctorReply *rep = rd_doctor_reply(d);
        if (rep == NULL) {
            send_error_close(admin, RF_EFULL, "out of memory building the doctor reply");
        } else {
            Rfpb__Envelope out = RFPB__ENVELOPE__INIT;
            out.msg_case = RFPB__ENVELOPE__MSG_DOCTOR_REPLY;
            out.doctor_reply = rep;
            (void)rf_conn_send(admin->conn, &out);
            rd_doctor_reply_free(rep);
        }
    }
    rd_doctor_fini(d);
    uv_timer_stop(&s->doctor_timer);
}

static void
doctor_check(rd_server_t *s)
{
    if (s->doctor.active && rd_doctor_done(&s->doctor, s->ctx, now_ms(s)))
        doctor_finish(s);
}

static void
on_doctor_timer(uv_timer_t *t)
{
    doctor_check(t->data);
}

static void
doctor_start(peer_t *p, const Rfpb__CanaryRequest *rq)
{
    rd_server_t *s = p->srv;
    rd_ctx_t *c = s->ctx;
    rd_doctor_t *d = &s->doctor;
    c->ctr.doctor_runs++;
    if (d->active) {
        /* One run at a time: two runs' canaries would blur each other's
         * intercept counters. The second caller gets a reply, not a wait. */
        rd_doctor_t busy;
        memset(&busy, 0, sizeof(busy));
        busy.req_id = rq->id;
        uint64_t end = d->deadline_ms + RD_DOCTOR_FRESH_MS, now = now_ms(s);
        rd_doctor_note(&busy, "another doctor run (%llu) is in progress; try again in %llu s",
                       (unsigned long long)d->id,
                       (unsigned long long)((end > now ? end - now : 0) / 1000 + 1));
        Rfpb__DoctorReply *rep = rd_doctor_reply(&busy);
        if (rep != NULL) {
            Rfpb__Envelope out = RFPB__ENVELOPE__INIT;
            out.msg_case = RFPB__ENVELOPE__MSG_DOCTOR_REPLY;
            out.doctor_reply = rep;
            (void)rf_conn_send(p->conn, &out);
            rd_doctor_reply_free(rep);
        }
        rd_doctor_fini(&busy);
        return;
    }
    uint64_t id = ((uint64_t)uv_hrtime() << 16) ^ ++s->doctor_seq;
    if (rd_doctor_begin(d, c, id, rq->id, rq->timeout_ms, now_ms(s)) != 0) {
        send_error_close(p, RF_EFULL, "out of memory starting doctor");
        return;
    }
    d->admin = p;
    Rfpb__CanaryRequest fwd = RFPB__CANARY_REQUEST__INIT;
    fwd.id = d->id;
    fwd.timeout_ms = d->timeout_ms;
    Rfpb__Envelope env = RFPB__ENVELOPE__INIT;
    env.msg_case = RFPB__ENVELOPE__MSG_CANARY;
    env.canary = &fwd;
    size_t sent = 0;
    for (size_t i = 0; i < d->nag; i++) {
        if (d->ag[i].why[0])
            continue;   /* down: noted by rd_doctor_begin */
        rd_agent_t *a = rd_registry_find(&c->reg, d->ag[i].id);
        int ok = a && a->conn && rf_conn_send(a->conn, &env) == 0;
        rd_doctor_sent(d, i, ok);
        sent += ok;
    }
    rf_log_info("doctor run %llu from %s: canary request (timeout %u ms) sent to %zu of %zu copy "
                "agent(s)",
                (unsigned long long)d->id, rf_conn_peer(p->conn), d->timeout_ms, sent, d->nag);
    uv_timer_start(&s->doctor_timer, on_doctor_timer, 100, 100);
    doctor_check(s);   /* nobody to wait for: reply now */
}

/* ---- metrics ---------------------------------------------------------- */

static void
sync_conn_counters(rd_server_t *s)
{
    rd_ctx_t *c = s->ctx;
    c->ctr.bad_frames = rf_conn_counters.bad_frames;
    c->ctr.oversize = rf_conn_counters.oversize;
    c->ctr.slow_peers = rf_conn_counters.slow_peer;
    c->ctr.tls_handshake_failures = rf_tls_counters.handshake_failures;
    c->ctr.tls_record_errors = rf_tls_counters.record_errors;
    c->ctr.agents_evicted = c->reg.evicted;
    if (s->metrics)
        c->ctr.metrics_scrapes = rd_metrics_scrapes(s->metrics);
}

/* Loop thread: render the page and hand it to the HTTP thread. */
static void
metrics_refresh(void *arg)
{
    rd_server_t *s = arg;
    if (s->metrics == NULL || s->stopping)
        return;
    sync_conn_counters(s);
    s->ctx->ctr.metrics_renders++;
    char *page;
    size_t len;
    if (rd_metrics_render(&page, &len, s->ctx, now_ms(s)) != 0) {
        rf_log_warn("metrics: out of memory rendering the page; serving the previous one");
        return;
    }
    rd_metrics_publish(s->metrics, page, len, now_ms(s));
}

/* ---- agents ----------------------------------------------------------- */

static const rf_auth_key_t *fleet_key;   /* the server's, for push_assignment */

static void
push_assignment(rd_ctx_t *c, rd_agent_t *a)
{
    rd_asg_buf_t b;
    uint8_t icpt_key[RF_KEY_LEN], pair[RF_KEY_LEN];
    rd_admin_assignment(&b, c, a);
    /* The copy agent's key for its intercept (rf_keys.h: pair key). Only
     * this copy agent gets it, inside its own TLS channel. */
    if (fleet_key != NULL && fleet_key->len > 0 && a->role == RD_ROLE_COPY)
        for (size_t i = 0; i < b.asg.n_intercepts; i++) {
            Rfpb__Endpoint *ep = b.asg.intercepts[i];
            if (ep->id && ep->id[0] &&
                rf_key_role(icpt_key, fleet_key->key, fleet_key->len, RF_KROLE_INTERCEPT,
                            ep->id) == 0 &&
                rf_key_pair(pair, icpt_key, RF_KEY_LEN, a->id) == 0) {
                ep->psk.data = pair;
                ep->psk.len = RF_KEY_LEN;
            }
        }
    Rfpb__Envelope env = RFPB__ENVELOPE__INIT;
    env.msg_case = RFPB__ENVELOPE__MSG_ASSIGNMENT;
    env.assignment = &b.asg;
    if (a->conn != NULL && rf_conn_send(a->conn, &env) == 0)
        a->sent_gen = c->generation;
    explicit_bzero(icpt_key, sizeof(icpt_key));
    explicit_bzero(pair, sizeof(pair));
}

static void
on_agent_hello(peer_t *p, const Rfpb__Hello *h)
{
    rd_server_t *s = p->srv;
    rf_errbuf_t err;
    rd_agent_t *a;
    char ip[20];
    rf_ipv4_format(rf_conn_peer_ip(p->conn), ip, sizeof(ip));
    if (rd_admin_hello(&a, s->ctx, h, ip, &err) != 0) {
        s->ctx->ctr.bad_state++;
        char esc[RF_ERRBUF_LEN];
        rf_log_warn("refusing agent from %s: %s", rf_conn_peer(p->conn),
                    rf_esc(esc, sizeof(esc), err.msg));
        send_error_close(p, RF_ESTATE, err.msg);
        return;
    }
    if (a->up && a->conn != NULL && a->conn != p->conn) {
        /* Same id again: the newest connection wins (the agent restarted
         * or its old TCP connection is half-dead). */
        rf_conn_t *old = a->conn;
        s->ctx->ctr.replaced++;
        rf_log_info("agent %s reconnected from %s: closing its old connection %s", a->id,
                    rf_conn_peer(p->conn), rf_conn_peer(old));
        peer_t *op = rf_conn_data(old);
        if (op)
            op->agent = NULL;
        rf_conn_close(old, "replaced by a new connection");
    }
    rd_agent_up(a, p->conn, now_ms(s));
    p->agent = a;
    p->st = PEER_AGENT;
    if (rf_hs_send_welcome(p->conn, "replayd " RD_VERSION) != 0)
        return;
    char hesc[80];
    rf_log_info("agent %s (%s) up from %s host \"%s\" running generation %llu", a->id,
                rd_role_name(a->role), rf_conn_peer(p->conn), rf_esc(hesc, sizeof(hesc), a->host),
                (unsigned long long)h->last_generation);
    push_assignment(s->ctx, a);
}

static void
on_agent_msg(peer_t *p, const Rfpb__Envelope *env)
{
    rd_ctx_t *c = p->srv->ctx;
    rd_agent_t *a = p->agent;
    if (a == NULL) {
        /* replaced: its successor owns the record now */
        rf_conn_close(p->conn, "replaced");
        return;
    }
    uint64_t now = now_ms(p->srv);
    a->last_seen_ms = now;
    switch (env->msg_case) {
    case RFPB__ENVELOPE__MSG_ACK: {
        const Rfpb__Ack *k = env->ack;
        if (k->generation > c->generation) {
            bad_state(p, env);
            return;
        }
        if (k->ok) {
            if (k->generation > a->acked_gen)
                a->acked_gen = k->generation;
            a->last_error[0] = '\0';
        } else {
            c->ctr.acks_failed++;
            snprintf(a->last_error, sizeof(a->last_error), "gen %llu refused: %s",
                     (unsigned long long)k->generation, k->error ? k->error : "");
            char eesc[200];
            rf_log_warn("agent %s refused generation %llu: %s", a->id,
                        (unsigned long long)k->generation, rf_esc(eesc, sizeof(eesc), k->error));
        }
        return;
    }
    case RFPB__ENVELOPE__MSG_STATS: {
        const Rfpb__Stats *st = env->stats;
        uint64_t dt;
        c->ctr.stats_msgs++;
        rd_stats_begin(&a->stats, now, &dt);
        size_t n = st->n_counters < 1024 ? st->n_counters : 1024;   /* bound the work */
        for (size_t i = 0; i < n; i++) {
            const Rfpb__Counter *ct = st->counters[i];
            if (ct && ct->name)
                rd_stats_put(&a->stats, &c->names, (unsigned)i, ct->name, ct->value, dt);
        }
        rd_stats_end(&a->stats, now);
        return;
    }
    case RFPB__ENVELOPE__MSG_HEARTBEAT:
        return;
    case RFPB__ENVELOPE__MSG_CANARY_RESULT: {
        if (a->role != RD_ROLE_COPY) {
            bad_state(p, env);
            return;
        }
        /* A late answer (run over, or a previous run) is normal on a slow
         * agent: counted and dropped, never a protocol error. */
        if (rd_doctor_on_result(&p->srv->doctor, a->id, env->canary_result, now) == 0) {
            c->ctr.canary_results++;
            doctor_check(p->srv);
        } else {
            c->ctr.canary_ignored++;
        }
        return;
    }
    default:
        bad_state(p, env);
        return;
    }
}

/* ---- admin ------------------------------------------------------------ */

/* ApplyRequest: validate, diff and (unless a dry run) put the plan in force. */
static void
admin_apply(peer_t *p, const Rfpb__ApplyRequest *rq)
{
    rd_ctx_t *c = p->srv->ctx;
    Rfpb__Envelope out = RFPB__ENVELOPE__INIT;
    const char *json = rq->plan_json ? rq->plan_json : "";
    rd_apply_result_t res;
    rd_admin_apply(c, &res, json, strlen(json), rq->dry_run);
    Rfpb__ApplyReply rep = RFPB__APPLY_REPLY__INIT;
    rep.ok = res.code == 0;
    rep.code = res.code;
    rep.error = res.code ? res.err.msg : (char *)"";
    rep.generation = res.generation;
    rep.diff = res.diff ? res.diff : (char *)"";
    if (res.code != 0)
        rf_log_warn("apply from %s rejected: %s", rf_conn_peer(p->conn), res.err.msg);
    else if (rq->dry_run)
        rf_log_info("dry run from %s: ok (nothing changed)", rf_conn_peer(p->conn));
    else
        rf_log_info("apply from %s accepted: plan \"%s\" generation %llu", rf_conn_peer(p->conn),
                    c->plan->name, (unsigned long long)c->generation);
    out.msg_case = RFPB__ENVELOPE__MSG_APPLY_REPLY;
    out.apply_reply = &rep;
    (void)rf_conn_send(p->conn, &out);   /* failure closes the conn */
    rd_apply_result_fini(&res);
}

/* StatusRequest: the fleet as replayctl status shows it. */
static void
admin_status(peer_t *p, int summary)
{
    rd_server_t *s = p->srv;
    rd_ctx_t *c = s->ctx;
    Rfpb__Envelope out = RFPB__ENVELOPE__INIT;
    sync_conn_counters(s);
    uint64_t t0 = uv_hrtime();
    Rfpb__StatusReply *rep = rd_admin_status(c, now_ms(s), summary);
    if (rep == NULL) {
        send_error_close(p, RF_EFULL, "out of memory building status");
        return;
    }
    out.msg_case = RFPB__ENVELOPE__MSG_STATUS_REPLY;
    out.status_reply = rep;
    (void)rf_conn_send(p->conn, &out);
    rd_admin_status_free(rep);
    rf_log_debug("status for %s: %zu agents in %.2f ms", rf_conn_peer(p->conn),
                 c->reg.n, (double)(uv_hrtime() - t0) / 1e6);
}

/* RoutesRequest: the targets' client-pool routes (replayctl routes). */
static void
admin_routes(peer_t *p)
{
    rd_ctx_t *c = p->srv->ctx;
    Rfpb__Envelope out = RFPB__ENVELOPE__INIT;
    size_t n = 0;
    char **lines = rd_admin_routes(c, &n);
    if (lines == NULL) {
        send_error_close(p, RF_EFULL, "out of memory building routes");
        return;
    }
    Rfpb__RoutesReply rep = RFPB__ROUTES_REPLY__INIT;
    rep.lines = lines;
    rep.n_lines = n;
    out.msg_case = RFPB__ENVELOPE__MSG_ROUTES_REPLY;
    out.routes_reply = &rep;
    (void)rf_conn_send(p->conn, &out);
    rd_admin_routes_free(lines);
}

static void
on_admin_msg(peer_t *p, const Rfpb__Envelope *env)
{
    rd_ctx_t *c = p->srv->ctx;
    Rfpb__Envelope out = RFPB__ENVELOPE__INIT;
    switch (env->msg_case) {
    case RFPB__ENVELOPE__MSG_APPLY:
        admin_apply(p, env->apply);
        return;
    case RFPB__ENVELOPE__MSG_STATUS:
        admin_status(p, env->status->summary);
        return;
    case RFPB__ENVELOPE__MSG_GET_PLAN: {
        Rfpb__PlanReply rep = RFPB__PLAN_REPLY__INIT;
        rep.generation = c->generation;
        rep.plan_json = c->plan ? c->plan->json : (char *)"";
        out.msg_case = RFPB__ENVELOPE__MSG_PLAN_REPLY;
        out.plan_reply = &rep;
        (void)rf_conn_send(p->conn, &out);
        return;
    }
    case RFPB__ENVELOPE__MSG_ROUTES:
        admin_routes(p);
        return;
    case RFPB__ENVELOPE__MSG_SCHEDULE: {
        char msg[256];
        int r = rd_admin_schedule(c, env->schedule->pause, msg, sizeof(msg));
        Rfpb__ApplyReply rep = RFPB__APPLY_REPLY__INIT;
        rep.ok = r == 0;
        rep.code = r;
        rep.generation = c->generation;
        rep.error = r == 0 ? (char *)"" : msg;
        rep.diff = r == 0 ? msg : (char *)"";
        out.msg_case = RFPB__ENVELOPE__MSG_APPLY_REPLY;
        out.apply_reply = &rep;
        (void)rf_conn_send(p->conn, &out);
        return;
    }
    case RFPB__ENVELOPE__MSG_CANARY:
        doctor_start(p, env->canary);
        return;
    default:
        bad_state(p, env);
        return;
    }
}

/* ---- connection ------------------------------------------------------- */

static void
pending_done(rd_server_t *s, peer_t *p)
{
    if (!p->pending)
        return;
    p->pending = 0;
    s->pending--;
    rf_srcmap_dec(&s->src, p->ip);
}

static void
refusal(rd_server_t *s, const char *peer, const char *why)
{
    uint64_t more;
    char note[48];
    if (rf_ratelog_hit(&s->refusals, now_ms(s), &more))
        rf_log_warn("refusing %s: %s%s", peer, why,
                    rf_ratelog_note(note, sizeof(note), more));
}

/* TLS PSK lookup: the key of the identity the client names, derived from
 * the fleet master on the fly. Nothing else is ever accepted. */
static int
psk_lookup(void *arg, const char *ident, size_t len, uint8_t key[RF_KEY_LEN])
{
    rd_server_t *s = arg;
    rf_krole_t role;
    char id[RF_ID_MAXLEN + 1];
    if (rf_ident_parse(ident, len, &role, id) != 0)
        return -1;
    return rf_key_role(key, s->cfg.fleet_key.key, s->cfg.fleet_key.len, role, id);
}

static void
on_hello(peer_t *p, const Rfpb__Envelope *env)
{
    rd_server_t *s = p->srv;
    if (env->msg_case != RFPB__ENVELOPE__MSG_HELLO) {
        bad_state(p, env);
        return;
    }
    const Rfpb__Hello *h = env->hello;
    rf_errbuf_t err;
    uint32_t mask = RF_ROLE_BIT(RFPB__ROLE__ROLE_COPY) | RF_ROLE_BIT(RFPB__ROLE__ROLE_INTERCEPT) |
                    RF_ROLE_BIT(RFPB__ROLE__ROLE_ADMIN);
    /* With a fleet key every connection is TLS and the Hello must claim
     * the identity its key proved (an agent cannot speak for another). */
    int r = rf_hs_check_hello(h, mask, rf_conn_tls_identity(p->conn),
                              rf_conn_is_loopback(p->conn), s->cfg.insecure, &err);
    /* The admin role never goes keyless off this host, --insecure or not. */
    if (r == 0 && h->role == RFPB__ROLE__ROLE_ADMIN && rf_conn_tls_identity(p->conn) == NULL &&
        !rf_conn_is_local(p->conn))
        r = rf_err_set(&err, RF_EAUTH, "replayctl from another host needs a key (replayd "
                                       "--fleet-key-file, replayctl --key-file)");
    if (r != 0) {
        s->ctx->ctr.auth_failures++;
        uint64_t more;
        char note[48];
        char esc[80];
        if (rf_ratelog_hit(&s->authlog, now_ms(s), &more))
            rf_log_warn("auth refused for %s id \"%s\": %s%s",
                        rf_conn_peer(p->conn), rf_esc(esc, sizeof(esc), h->id), err.msg,
                        rf_ratelog_note(note, sizeof(note), more));
        send_error_close(p, r, err.msg);
        return;
    }
    pending_done(s, p);
    if (h->role == RFPB__ROLE__ROLE_ADMIN) {
        p->st = PEER_ADMIN;
        (void)rf_hs_send_welcome(p->conn, "replayd " RD_VERSION);
        rf_log_debug("admin client %s authenticated", rf_conn_peer(p->conn));
        return;
    }
    on_agent_hello(p, h);
}

static void
on_msg(rf_conn_t *conn, const Rfpb__Envelope *env)
{
    peer_t *p = rf_conn_data(conn);
    if (p == NULL || p->srv->stopping)
        return;
    switch (p->st) {
    case PEER_HELLO: on_hello(p, env); break;
    case PEER_AGENT: on_agent_msg(p, env); break;
    case PEER_ADMIN: on_admin_msg(p, env); break;
    }
}

static void
on_conn_close(rf_conn_t *conn, const char *reason)
{
    peer_t *p = rf_conn_data(conn);
    if (p == NULL)
        return;
    rd_server_t *s = p->srv;
    if (p->pending && !s->stopping && strncmp(reason, "TLS", 3) == 0) {
        s->ctx->ctr.auth_failures++;
        uint64_t more;
        char note[48];
        if (rf_ratelog_hit(&s->authlog, now_ms(s), &more))
            rf_log_warn("auth refused for %s: %s%s",
                        rf_conn_peer(conn), reason, rf_ratelog_note(note, sizeof(note), more));
    } else if (p->st != PEER_HELLO && strncmp(reason, "TLS record", 10) == 0) {
        rf_log_warn("%s %s: %s; connection closed", p->agent ? p->agent->id : "peer",
                    rf_conn_peer(conn), reason);
    }
    pending_done(s, p);
    if (s->doctor.active && s->doctor.admin == p)
        s->doctor.admin = NULL;   /* the run goes on; its reply has nowhere to go */
    if (p->agent && p->agent->conn == conn) {
        if (s->doctor.active && p->agent->role == RD_ROLE_COPY && !s->stopping) {
            rd_doctor_on_agent_down(&s->doctor, p->agent->id, reason);
            doctor_check(s);
        }
        rd_agent_down(p->agent, reason, now_ms(s));
        if (!s->stopping)
            rf_log_info("agent %s (%s) down: %s", p->agent->id, rd_role_name(p->agent->role),
                        reason);
    }
    if (p->prev)
        p->prev->next = p->next;
    else
        s->peers = p->next;
    if (p->next)
        p->next->prev = p->prev;
    s->npeers--;
    free(p);
}

static const rf_conn_ops_t conn_ops = {
    .on_connect = NULL,
    .on_msg = on_msg,
    .on_close = on_conn_close,
};

/* The pre-auth table is full: the oldest pending connection of the source
 * with the most pending ones goes. Idle attackers age, a real agent
 * finishes in milliseconds, and a source with one connection (an operator,
 * an agent) is the last to lose it however many addresses a flood uses. */
static void
drop_oldest_pending(rd_server_t *s)
{
    uint32_t ip = rf_srcmap_busiest(&s->src);
    peer_t *old = NULL;
    for (peer_t *q = s->peers; q; q = q->next)
        if (q->pending && q->ip == ip && !rf_conn_is_closing(q->conn) &&
            (old == NULL || q->since_ms <= old->since_ms))
            old = q;
    if (old == NULL)
        return;
    s->ctx->ctr.preauth_dropped++;
    refusal(s, rf_conn_peer(old->conn), "pre-auth table full: dropping the oldest pending");
    pending_done(s, old);
    rf_conn_close(old->conn, "pre-auth table full");
}

static void
on_connection(uv_stream_t *server, int status)
{
    rd_server_t *s = server->data;
    if (status < 0 || s->stopping) {
        rf_log_warn("accept: %s", uv_strerror(status));
        return;
    }
    peer_t *p = calloc(1, sizeof(*p));
    rf_conn_t *c = p ? rf_conn_new(s->loop, &conn_ops, p, RD_MAX_FRAME, 0) : NULL;
    if (c == NULL) {
        free(p);
        /* Still accept, to drain the backlog entry, then drop it. */
        uv_tcp_t *t = malloc(sizeof(*t));
        if (t && uv_tcp_init(s->loop, t) == 0 && uv_accept(server, (uv_stream_t *)t) == 0)
            uv_close((uv_handle_t *)t, (uv_close_cb)free);
        else
            free(t);
        s->ctx->ctr.conns_refused++;
        return;
    }
    p->srv = s;
    p->conn = c;
    p->since_ms = now_ms(s);
    p->next = s->peers;
    if (s->peers)
        s->peers->prev = p;
    s->peers = p;
    s->npeers++;
    int r = rf_conn_accept(c, server);
    if (r != 0) {
        rf_conn_close(c, uv_strerror(r));
        return;
    }
    p->ip = rf_conn_peer_ip(c);
    if (s->npeers > RD_CONNS_MAX) {
        s->ctx->ctr.conns_refused++;
        refusal(s, rf_conn_peer(c), "too many connections open");
        rf_conn_close(c, "too many connections");
        return;
    }
    if (rf_srcmap_inc(&s->src, p->ip, RD_PREAUTH_PER_IP) != 0) {
        if (s->pending >= RD_PREAUTH_MAX)
            drop_oldest_pending(s);
        if (rf_srcmap_inc(&s->src, p->ip, RD_PREAUTH_PER_IP) != 0) {
            s->ctx->ctr.conns_refused++;
            s->ctx->ctr.preauth_refused++;
            refusal(s, rf_conn_peer(c), "too many unauthenticated connections from this source");
            rf_conn_close(c, "too many pending connections from this source");
            return;
        }
    }
    p->pending = 1;
    s->pending++;
    if (s->pending > RD_PREAUTH_MAX)
        drop_oldest_pending(s);
    if (s->cfg.fleet_key.len > 0 && rf_conn_tls_server(c, psk_lookup, s) != 0) {
        rf_conn_close(c, "out of memory");
        return;
    }
    s->ctx->ctr.conns_accepted++;
    (void)rf_hs_send_challenge(c, &p->hs);
}

/* ---- housekeeping ----------------------------------------------------- */

static void
on_tick(uv_timer_t *t)
{
    rd_server_t *s = t->data;
    rd_ctx_t *c = s->ctx;
    uint64_t now = now_ms(s);
    /* Handshake deadline: a peer that never says Hello holds a slot. */
    for (peer_t *p = s->peers; p; p = p->next)
        if (p->st == PEER_HELLO && now > p->since_ms + s->cfg.hello_timeout_ms &&
            !rf_conn_is_closing(p->conn)) {
            c->ctr.hello_timeouts++;
            refusal(s, rf_conn_peer(p->conn), "no TLS handshake + Hello in time");
            pending_done(s, p);
            rf_conn_close(p->conn, "no Hello in time");
        }
    uint64_t more;
    if ((more = rf_ratelog_flush(&s->refusals, now)) > 0)
        rf_log_warn("%llu more connection refusals (caps, deadline) in the last %u s",
                    (unsigned long long)more, RD_REFUSAL_LOG_MS / 1000);
    if ((more = rf_ratelog_flush(&s->authlog, now)) > 0)
        rf_log_warn("%llu more authentication refusals in the last %u s",
                    (unsigned long long)more, RD_REFUSAL_LOG_MS / 1000);
    rd_agent_t *silent[64];
    size_t n;
    while ((n = rd_registry_silent(&c->reg, now, s->cfg.heartbeat_timeout_ms, silent, 64)) > 0) {
        for (size_t i = 0; i < n; i++) {
            rd_agent_t *a = silent[i];
            rf_conn_t *conn = a->conn;
            c->ctr.heartbeat_timeouts++;
            rf_log_info("agent %s (%s) down: silent for %llu ms", a->id, rd_role_name(a->role),
                        (unsigned long long)(now - a->last_seen_ms));
            rd_agent_down(a, "heartbeat timeout", now);
            if (conn)
                rf_conn_close(conn, "heartbeat timeout");
        }
    }
    /* Members of a shared-feed capture group up/down: move their buckets
     * (after the timeouts above, so a silent member is down by now). */
    (void)rd_groups_tick(c, now, s->started_ms);
    (void)rd_sched_tick(c);   /* stress schedule: the step due now */
    if (c->reapply_pending && c->plan) {
        c->reapply_pending = 0;
        c->ctr.reapplies++;
        rd_apply_result_t res;
        rd_admin_reapply(c, &res);
        if (res.code == 0)
            rf_log_info("new agents joined the \"*\" plan \"%s\": generation %llu", c->plan->name,
                        (unsigned long long)c->generation);
        else
            rf_log_warn("could not take new agents into plan \"%s\": %s", c->plan->name,
                        res.err.msg);
        rd_apply_result_fini(&res);
        
    }
}

/* Registry eviction spares every id the plan in force names. */
static int
is_planned(void *arg, const char *id)
{
    const rd_ctx_t *c = arg;
    return rd_table_find(&c->table, id) != NULL;
}

int
rd_server_start(rd_server_t **out, uv_loop_t *loop, const rd_config_t *cfg, rf_errbuf_t *err)
{
    rd_server_t *s = calloc(1, sizeof(*s));
    rd_ctx_t *c = calloc(1, sizeof(*c));
    if (s == NULL || c == NULL) {
        free(s);
        free(c);
        return rf_err_set(err, -ENOMEM, "out of memory");
    }
    int r = rd_ctx_init(c, cfg->state_dir, err);
    if (r != 0) {
        rd_ctx_fini(c);
        free(c);
        free(s);
        return r;
    }
    c->heartbeat_timeout_ms = cfg->heartbeat_timeout_ms;
    rd_admin_sched_restore(c);
    c->push = push_assignment;
    c->reg.planned = is_planned;
    c->reg.planned_arg = c;
    s->ctx = c;
    if (rf_srcmap_init(&s->src, RD_PREAUTH_MAX) != 0) {
        rd_ctx_fini(c);
        free(c);
        free(s);
        return rf_err_set(err, -ENOMEM, "out of memory");
    }
    rf_ratelog_init(&s->refusals, RD_REFUSAL_LOG_MS);
    rf_ratelog_init(&s->authlog, RD_REFUSAL_LOG_MS);
    s->loop = loop;
    s->cfg = *cfg;
    fleet_key = &s->cfg.fleet_key;
    if (s->cfg.hello_timeout_ms == 0)
        s->cfg.hello_timeout_ms = RD_HELLO_TIMEOUT_MS;
    r = rf_listen(&s->listener, loop, cfg->listen_host, cfg->listen_port, on_connection);
    s->listener.data = s;
    s->handles_open = 1;
    *out = s;
    if (r != 0) {
        /* The handle exists: the caller stops, runs the loop, frees. */
        return rf_err_set(err, r, "listen on %s:%u: %s", cfg->listen_host, cfg->listen_port,
                          uv_strerror(r));
    }
    uv_timer_init(loop, &s->tick);
    s->tick.data = s;
    s->handles_open = 2;
    s->started_ms = now_ms(s);
    uv_timer_start(&s->tick, on_tick, 1000, 1000);
    uv_timer_init(loop, &s->doctor_timer);
    s->doctor_timer.data = s;
    s->doctor_timer_open = 1;
    if (cfg->metrics_host[0]) {
        r = rd_metrics_start(&s->metrics, loop, cfg->metrics_host, cfg->metrics_port,
                             metrics_refresh, s, err);
        if (r != 0)
            return r;
        rf_log_info("metrics: GET http://%s:%u/metrics", cfg->metrics_host, cfg->metrics_port);
    }
    if (c->plan)
        rf_log_info("restored plan \"%s\" generation %llu with %zu agents from %s/state.json",
                    c->plan->name, (unsigned long long)c->generation, c->reg.n, cfg->state_dir);
    return 0;
}

void
rd_server_stop(rd_server_t *s)
{
    if (s == NULL || s->stopping)
        return;
    s->stopping = 1;
    if (s->handles_open >= 1)
        uv_close((uv_handle_t *)&s->listener, NULL);
    if (s->handles_open >= 2)
        uv_close((uv_handle_t *)&s->tick, NULL);
    if (s->doctor_timer_open)
        uv_close((uv_handle_t *)&s->doctor_timer, NULL);
    rd_metrics_stop(s->metrics);   /* joins the HTTP thread */
    s->metrics = NULL;
    for (peer_t *p = s->peers; p; p = p->next)
        rf_conn_close(p->conn, "controller shutting down");
}

void
rd_server_free(rd_server_t *s)
{
    if (s == NULL)
        return;
    rd_doctor_fini(&s->doctor);
    rf_srcmap_fini(&s->src);
    explicit_bzero(&s->cfg.fleet_key, sizeof(s->cfg.fleet_key));
    fleet_key = NULL;
    rd_ctx_fini(s->ctx);
    free(s->ctx);
    free(s);
}
