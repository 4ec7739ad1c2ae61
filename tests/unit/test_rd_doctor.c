/* test_rd_doctor.c -- the controller side of `replayctl doctor`: who is
 * probed, untrusted CanaryResults (caps, string cleaning, stale ids), when
 * a run is over, the wrong-route correlation; then the whole path through
 * a real replayd server on loopback with fake agents (rf_ctlclient) and a
 * fake replayctl (rf_conn), including an agent that never answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "rd_admin.h"
#include "rd_doctor.h"
#include "rd_server.h"
#include "rf_auth.h"
#include "rf_conn.h"
#include "rf_ctlclient.h"
#include "rf_handshake.h"

/* ---- pure part --------------------------------------------------------- */

static const char *PLAN =
    "{\"name\":\"d\",\"transfers\":[\"80-10.0.2.10:80\",\"81-10.0.2.10:81\"],"
    "\"client_pool\":\"10.250.0.0/16\",\"copy_agents\":[\"cap-1\",\"cap-2\"],"
    "\"intercepts\":[\"as-1\",\"as-2\"]}";

typedef struct {
    rd_ctx_t *c;
    char      dir[64];
} fx_t;

static rd_agent_t *
hello(rd_ctx_t *c, const char *id, int role, const char *adv, uint64_t now)
{
    Rfpb__Hello h = RFPB__HELLO__INIT;
    h.id = (char *)id;
    h.role = (Rfpb__Role)role;
    h.host = (char *)"h";
    h.advertise = (char *)adv;
    h.listen_port = 36524;
    rd_agent_t *a = NULL;
    rf_errbuf_t err;
    if (rd_admin_hello(&a, c, &h, "127.0.0.1", &err) != 0)
        fail_msg("%s", err.msg);
    rd_agent_up(a, (void *)1, now);   /* any non-NULL conn: never dereferenced here */
    return a;
}

static void
stats(rd_ctx_t *c, rd_agent_t *a, uint64_t now, uint64_t unroutable, uint64_t expired,
      uint64_t fwd)
{
    uint64_t dt;
    rd_stats_begin(&a->stats, now, &dt);
    rd_stats_put(&a->stats, &c->names, 0, "resp_unroutable", unroutable, dt);
    rd_stats_put(&a->stats, &c->names, 1, "resp_park_expired", expired, dt);
    rd_stats_put(&a->stats, &c->names, 2, "resp_forwarded", fwd, dt);
    rd_stats_end(&a->stats, now);
}

static int
setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    f->c = calloc(1, sizeof(*f->c));
    snprintf(f->dir, sizeof(f->dir), "/tmp/rd_doctor_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    rf_errbuf_t err;
    assert_int_equal(rd_ctx_init(f->c, f->dir, &err), 0);
    hello(f->c, "cap-1", RD_ROLE_COPY, NULL, 10);
    hello(f->c, "cap-2", RD_ROLE_COPY, NULL, 10);
    hello(f->c, "as-1", RD_ROLE_ICPT, "10.0.0.1", 10);
    hello(f->c, "as-2", RD_ROLE_ICPT, "10.0.0.2", 10);
    hello(f->c, "as-9", RD_ROLE_ICPT, "10.0.0.9", 10);   /* registered, not in the plan */
    rd_apply_result_t res;
    assert_int_equal(rd_admin_apply(f->c, &res, PLAN, strlen(PLAN), 0), 0);
    rd_apply_result_fini(&res);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx_t *f = *state;
    rd_ctx_fini(f->c);
    free(f->c);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    (void)system(cmd);
    free(f);
    return 0;
}

static Rfpb__CanaryResult *
result(uint64_t id, size_t n, int stage)
{
    Rfpb__CanaryResult *r = calloc(1, sizeof(*r));
    rfpb__canary_result__init(r);
    r->id = id;
    r->n_rules = n;
    r->rules = calloc(n ? n : 1, sizeof(*r->rules));
    for (size_t i = 0; i < n; i++) {
        r->rules[i] = calloc(1, sizeof(**r->rules));
        rfpb__canary_rule__init(r->rules[i]);
        r->rules[i]->rule = (char *)"80-10.0.2.10:80";
        r->rules[i]->stage = (Rfpb__CanaryStage)stage;
        r->rules[i]->src = (char *)"10.250.0.1:990";
        r->rules[i]->detail = (char *)"";
    }
    return r;
}

static void
result_free(Rfpb__CanaryResult *r)
{
    for (size_t i = 0; i < r->n_rules; i++)
        free(r->rules[i]);
    free(r->rules);
    free(r);
}

static size_t
agent_index(const rd_doctor_t *d, const char *id)
{
    for (size_t i = 0; i < d->nag; i++)
        if (strcmp(d->ag[i].id, id) == 0)
            return i;
    fail_msg("agent %s not in the run", id);
    return 0;
}

static void
probes_and_untrusted_results(void **state)
{
    fx_t *f = *state;
    rd_ctx_t *c = f->c;
    rd_doctor_t d;
    assert_int_equal(rd_doctor_begin(&d, c, 77, 5, 99999999, 1000), 0);
    assert_int_equal(d.timeout_ms, RD_DOCTOR_TIMEOUT_MAX);   /* capped */
    assert_int_equal(d.nag, 2);
    assert_int_equal(d.nic, 3);   /* as-9 too: a stray assistant is what we look for */
    for (size_t i = 0; i < d.nag; i++)
        rd_doctor_sent(&d, i, 1);
    /* wrong id, unknown agent: ignored */
    Rfpb__CanaryResult *r = result(78, 2, 0);
    assert_int_equal(rd_doctor_on_result(&d, "cap-1", r, 1100), -1);
    result_free(r);
    r = result(77, 2, 0);
    assert_int_equal(rd_doctor_on_result(&d, "cap-9", r, 1100), -1);
    assert_int_equal(rd_doctor_on_result(&d, "cap-1", r, 1100), 0);
    assert_int_equal(rd_doctor_on_result(&d, "cap-1", r, 1100), -1);   /* duplicate */
    result_free(r);
    /* 1000 rules with hostile strings: capped, cleaned */
    r = result(77, 1000, 42);
    char *big = malloc(10000);
    memset(big, 'A', 9999);
    big[9999] = '\0';
    big[3] = '\033';
    big[5] = '\n';
    big[7] = (char)0xc3;
    r->rules[0]->detail = big;
    r->rules[0]->rule = big;
    r->rules[1]->rule = NULL;   /* absent strings are fine too */
    assert_int_equal(rd_doctor_on_result(&d, "cap-2", r, 1200), 0);
    const rd_doctor_agent_t *g = &d.ag[agent_index(&d, "cap-2")];
    assert_int_equal(g->nrules, RF_RULES_MAX);
    assert_true(strlen(g->rules[0].detail) < RD_DOCTOR_STR_MAX);
    assert_true(strlen(g->rules[0].rule) < sizeof(g->rules[0].rule));
    assert_memory_equal(g->rules[0].detail, "AAA?A?A?AA", 10);
    assert_string_equal(g->rules[1].rule, "");
    assert_int_equal(g->rules[0].stage, 42);   /* unknown stage passed through */
    free(big);
    result_free(r);
    /* everyone answered, no NO_SYNACK: over at once */
    assert_int_equal(rd_doctor_done(&d, c, 1200), 1);
    Rfpb__DoctorReply *rep = rd_doctor_reply(&d);
    assert_non_null(rep);
    assert_int_equal(rep->id, 5);
    assert_int_equal(rep->n_agents, 2);
    /* it packs (the strings are clean and bounded) */
    size_t n = rfpb__doctor_reply__get_packed_size(rep);
    assert_true(n > 0 && n < 64 * 1024);
    rd_doctor_reply_free(rep);
    rd_doctor_fini(&d);
}

static void
down_and_silent_agents(void **state)
{
    fx_t *f = *state;
    rd_ctx_t *c = f->c;
    rd_agent_t *a2 = rd_registry_find(&c->reg, "cap-2");
    rd_agent_down(a2, "heartbeat timeout", 900);
    rd_doctor_t d;
    assert_int_equal(rd_doctor_begin(&d, c, 1, 1, 200, 1000), 0);
    size_t i1 = agent_index(&d, "cap-1"), i2 = agent_index(&d, "cap-2");
    assert_true(d.ag[i2].why[0] != '\0');   /* down: not probed */
    rd_doctor_sent(&d, i1, 1);
    assert_int_equal(rd_doctor_done(&d, c, 1100), 0);
    /* cap-1 never answers: over at the deadline (timeout + grace) */
    assert_int_equal(rd_doctor_done(&d, c, 1000 + 200 + RD_DOCTOR_GRACE_MS), 1);
    rd_doctor_correlate(&d, c);
    int saw_down = 0, saw_silent = 0;
    for (size_t i = 0; i < d.nnotes; i++) {
        saw_down |= strstr(d.notes[i], "cap-2 is down") != NULL;
        saw_silent |= strstr(d.notes[i], "cap-1 did not answer") != NULL;
    }
    assert_true(saw_down);
    assert_true(saw_silent);
    /* an agent disconnecting mid-run ends its wait */
    rd_doctor_fini(&d);
    assert_int_equal(rd_doctor_begin(&d, c, 2, 2, 200, 5000), 0);
    rd_doctor_sent(&d, agent_index(&d, "cap-1"), 1);
    rd_doctor_on_agent_down(&d, "cap-1", "connection reset");
    assert_int_equal(rd_doctor_done(&d, c, 5001), 1);
    rd_doctor_fini(&d);
}

static void
wrong_route_correlation(void **state)
{
    fx_t *f = *state;
    rd_ctx_t *c = f->c;
    rd_agent_t *as1 = rd_registry_find(&c->reg, "as-1"), *as2 = rd_registry_find(&c->reg, "as-2"),
               *as9 = rd_registry_find(&c->reg, "as-9");
    stats(c, as1, 900, 3, 1, 100);
    stats(c, as2, 900, 0, 0, 50);
    stats(c, as9, 900, 7, 7, 0);
    rd_doctor_t d;
    assert_int_equal(rd_doctor_begin(&d, c, 9, 9, 500, 1000), 0);
    for (size_t i = 0; i < d.nag; i++)
        rd_doctor_sent(&d, i, 1);
    Rfpb__CanaryResult *ok = result(9, 2, RFPB__CANARY_STAGE__CANARY_OK);
    Rfpb__CanaryResult *lost = result(9, 2, RFPB__CANARY_STAGE__CANARY_NO_SYNACK);
    assert_int_equal(rd_doctor_on_result(&d, "cap-1", ok, 1500), 0);
    assert_int_equal(rd_doctor_on_result(&d, "cap-2", lost, 1510), 0);
    /* a NO_SYNACK waits for intercept Stats newer than the last answer */
    assert_int_equal(rd_doctor_done(&d, c, 1600), 0);
    const rd_doctor_agent_t *g2 = &d.ag[agent_index(&d, "cap-2")];
    const rd_entry_t *e2 = rd_table_find(&c->table, "cap-2");
    assert_non_null(e2);
    /* the stray intercept as-9 parked and expired the SYN-ACKs; cap-2's own
     * intercept forwarded nothing new; the other one did (cap-1's OK) */
    rd_agent_t *own = rd_registry_find(&c->reg, e2->pair);
    rd_agent_t *other = own == as1 ? as2 : as1;
    stats(c, own, 1700, own == as1 ? 3 : 0, own == as1 ? 1 : 0, own == as1 ? 100 : 50);
    stats(c, other, 1700, other == as1 ? 3 : 0, other == as1 ? 1 : 0, 200);
    assert_int_equal(rd_doctor_done(&d, c, 1700), 0);   /* as-9 not fresh yet */
    stats(c, as9, 1800, 7, 9, 0);
    assert_int_equal(rd_doctor_done(&d, c, 1800), 1);
    rd_doctor_correlate(&d, c);
    for (unsigned k = 0; k < g2->nrules; k++) {
        assert_int_equal(g2->rules[k].stage, RFPB__CANARY_STAGE__CANARY_WRONG_ROUTE);
        assert_non_null(strstr(g2->rules[k].detail, "as-9"));
    }
    const rd_doctor_agent_t *g1 = &d.ag[agent_index(&d, "cap-1")];
    assert_int_equal(g1->rules[0].stage, RFPB__CANARY_STAGE__CANARY_OK);
    assert_int_equal(d.nnotes, 1);
    assert_non_null(strstr(d.notes[0], "SYN-ACKs reached intercept as-9, which does not own"));
    assert_non_null(strstr(d.notes[0], g2->range));
    assert_non_null(strstr(d.notes[0], "wrong assistant"));
    rd_doctor_fini(&d);

    /* Same, but cap-2's own intercept forwarded something during the run:
     * not proof, so the stage stays NO_SYNACK and a softer note is added. */
    assert_int_equal(rd_doctor_begin(&d, c, 10, 10, 500, 2000), 0);
    ok->id = lost->id = 10;
    for (size_t i = 0; i < d.nag; i++)
        rd_doctor_sent(&d, i, 1);
    assert_int_equal(rd_doctor_on_result(&d, "cap-1", ok, 2500), 0);
    assert_int_equal(rd_doctor_on_result(&d, "cap-2", lost, 2500), 0);
    stats(c, own, 2600, 3, 1, 1000);
    stats(c, other, 2600, 3, 1, 1000);
    stats(c, as9, 2600, 8, 9, 0);
    /* bounded: even if an intercept never reports again */
    assert_int_equal(rd_doctor_done(&d, c, 2500 + RD_DOCTOR_FRESH_MS), 1);
    rd_doctor_correlate(&d, c);
    g2 = &d.ag[agent_index(&d, "cap-2")];
    assert_int_equal(g2->rules[0].stage, RFPB__CANARY_STAGE__CANARY_NO_SYNACK);
    assert_int_equal(d.nnotes, 1);
    assert_non_null(strstr(d.notes[0], "may route part of"));
    rd_doctor_fini(&d);
    result_free(ok);
    result_free(lost);
}

/* ---- through a real server --------------------------------------------- */

#define PORT_BASE 42000

typedef struct {
    const char     *id;
    int             mode;        /* 0 answer OK, 1 answer NO_SYNACK, 2 never answer */
    rf_ctlclient_t *cl;
    int             requests;
} fake_copy_t;

typedef struct {
    uv_loop_t          *loop;
    rd_server_t        *srv;
    rf_conn_t          *admin;
    int                 admin_ready;
    int                 step;        /* 0 wait welcome, 1 applied, 2 doctor sent */
    Rfpb__DoctorReply  *reply;       /* packed copy, decoded */
    uv_timer_t          guard, kick;
    fake_copy_t         cp[3];
    rf_ctlclient_t     *ic;
    uint64_t            ic_expired;
    int                 timed_out;
    uint64_t            doctor_sent_ms;
    uint64_t            doctor_ms;
    uint16_t            port;
} live_t;

static live_t L;

static int
cp_on_assignment(void *data, const Rfpb__Assignment *a, rf_errbuf_t *err)
{
    (void)data;
    (void)a;
    (void)err;
    return 0;
}

static size_t
cp_fill(void *data, Rfpb__Counter *store, Rfpb__Counter **ptrs, size_t max)
{
    (void)data;
    (void)store;
    (void)ptrs;
    (void)max;
    return 0;
}

static int
cp_other(void *data, const Rfpb__Envelope *env)
{
    fake_copy_t *f = data;
    if (env->msg_case != RFPB__ENVELOPE__MSG_CANARY)
        return -1;
    f->requests++;
    if (f->mode == 2)
        return 0;   /* an old agent that ignores it */
    if (f->mode == 1)
        L.ic_expired += 2;   /* its SYN-ACKs end up at the stray intercept */
    Rfpb__CanaryRule r1 = RFPB__CANARY_RULE__INIT, r2 = RFPB__CANARY_RULE__INIT;
    Rfpb__CanaryRule *rp[2] = { &r1, &r2 };
    r1.rule = (char *)"80-10.0.2.10:80";
    r2.rule = (char *)"81-10.0.2.10:81";
    r1.stage = r2.stage = f->mode == 0 ? RFPB__CANARY_STAGE__CANARY_OK
                                       : RFPB__CANARY_STAGE__CANARY_NO_SYNACK;
    r1.rtt_us = 420;
    Rfpb__CanaryResult res = RFPB__CANARY_RESULT__INIT;
    res.id = env->canary->id;
    res.rules = rp;
    res.n_rules = 2;
    Rfpb__Envelope out = RFPB__ENVELOPE__INIT;
    out.msg_case = RFPB__ENVELOPE__MSG_CANARY_RESULT;
    out.canary_result = &res;
    return rf_ctlclient_send(f->cl, &out) == 0 ? 0 : -1;
}

static const rf_ctlclient_ops_t cp_ops = { cp_on_assignment, cp_fill, NULL, cp_other };

static size_t
ic_fill(void *data, Rfpb__Counter *store, Rfpb__Counter **ptrs, size_t max)
{
    (void)data;
    if (max < 1)
        return 0;
    rfpb__counter__init(&store[0]);
    store[0].name = (char *)"resp_park_expired";
    store[0].value = L.ic_expired;
    ptrs[0] = &store[0];
    return 1;
}

static const rf_ctlclient_ops_t ic_ops = { cp_on_assignment, ic_fill, NULL, NULL };

static void
send_env(Rfpb__Envelope *e)
{
    assert_int_equal(rf_conn_send(L.admin, e), 0);
}

static void
admin_msg(rf_conn_t *conn, const Rfpb__Envelope *env)
{
    (void)conn;
    switch (env->msg_case) {
    case RFPB__ENVELOPE__MSG_CHALLENGE: {
        Rfpb__Hello h = RFPB__HELLO__INIT;
        h.role = RFPB__ROLE__ROLE_ADMIN;
        h.id = (char *)"";
        rf_hs_answer(&h);
        Rfpb__Envelope out = RFPB__ENVELOPE__INIT;
        out.msg_case = RFPB__ENVELOPE__MSG_HELLO;
        out.hello = &h;
        send_env(&out);
        return;
    }
    case RFPB__ENVELOPE__MSG_WELCOME:
        L.admin_ready = 1;
        return;
    case RFPB__ENVELOPE__MSG_APPLY_REPLY:
        if (!env->apply_reply->ok)
            fail_msg("apply: %s", env->apply_reply->error);
        L.step = 1;
        return;
    case RFPB__ENVELOPE__MSG_DOCTOR_REPLY: {
        size_t n = rfpb__doctor_reply__get_packed_size(env->doctor_reply);
        uint8_t *b = malloc(n + 1);
        rfpb__doctor_reply__pack(env->doctor_reply, b);
        L.reply = rfpb__doctor_reply__unpack(NULL, n, b);
        free(b);
        L.doctor_ms = uv_now(L.loop) - L.doctor_sent_ms;
        uv_stop(L.loop);
        return;
    }
    default:
        fail_msg("admin got %d", (int)env->msg_case);
    }
}

static void
admin_close(rf_conn_t *c, const char *why)
{
    (void)c;
    (void)why;
    L.admin = NULL;
}

static const rf_conn_ops_t admin_ops = { NULL, admin_msg, admin_close };

static void
on_kick(uv_timer_t *t)
{
    (void)t;
    if (!L.admin_ready)
        return;
    if (L.step == 0 && L.admin_ready == 1) {
        /* every agent registered? (the plan names them) */
        L.admin_ready = 2;
        char plan[512];
        snprintf(plan, sizeof(plan),
                 "{\"name\":\"live\",\"transfers\":[\"80-10.0.2.10:80\",\"81-10.0.2.10:81\"],"
                 "\"client_pool\":\"10.250.0.0/16\",\"copy_agents\":[\"cap-1\",\"cap-2\","
                 "\"cap-3\"],\"intercepts\":[\"as-1\"]}");
        Rfpb__ApplyRequest ar = RFPB__APPLY_REQUEST__INIT;
        ar.plan_json = plan;
        Rfpb__Envelope e = RFPB__ENVELOPE__INIT;
        e.msg_case = RFPB__ENVELOPE__MSG_APPLY;
        e.apply = &ar;
        send_env(&e);
        return;
    }
    if (L.step == 1) {
        L.step = 2;
        Rfpb__CanaryRequest cr = RFPB__CANARY_REQUEST__INIT;
        cr.id = 4242;
        cr.timeout_ms = 300;
        Rfpb__Envelope e = RFPB__ENVELOPE__INIT;
        e.msg_case = RFPB__ENVELOPE__MSG_CANARY;
        e.canary = &cr;
        L.doctor_sent_ms = uv_now(L.loop);
        send_env(&e);
    }
}

static void
on_guard(uv_timer_t *t)
{
    (void)t;
    L.timed_out = 1;
    uv_stop(L.loop);
}

static void
start_copy(fake_copy_t *f, const char *id, int mode)
{
    f->id = id;
    f->mode = mode;
    rf_ctlclient_cfg_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.host = "127.0.0.1";
    cfg.port = L.port;
    cfg.id = id;
    cfg.role = RFPB__ROLE__ROLE_COPY;
    cfg.stats_interval_ms = 100;
    assert_int_equal(rf_ctlclient_start(&f->cl, L.loop, &cfg, &cp_ops, f), 0);
}

static void
through_the_server(void **state)
{
    (void)state;
    memset(&L, 0, sizeof(L));
    L.loop = uv_default_loop();
    L.port = (uint16_t)(PORT_BASE + getpid() % 20000);
    char dir[] = "/tmp/rd_doctor_live_XXXXXX";
    assert_non_null(mkdtemp(dir));
    rd_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.listen_host, sizeof(cfg.listen_host), "127.0.0.1");
    cfg.listen_port = L.port;
    cfg.state_dir = dir;
    cfg.heartbeat_timeout_ms = 5000;
    rf_errbuf_t err;
    if (rd_server_start(&L.srv, L.loop, &cfg, &err) != 0)
        fail_msg("%s", err.msg);
    /* a stray intercept (the only one here; as-1 below is the plan's) */
    rf_ctlclient_cfg_t icfg;
    memset(&icfg, 0, sizeof(icfg));
    icfg.host = "127.0.0.1";
    icfg.port = L.port;
    icfg.id = "as-1";
    icfg.role = RFPB__ROLE__ROLE_INTERCEPT;
    icfg.advertise = "10.0.0.1";
    icfg.listen_port = 36524;
    icfg.stats_interval_ms = 100;
    rf_ctlclient_t *own;
    assert_int_equal(rf_ctlclient_start(&own, L.loop, &icfg, &ic_ops, NULL), 0);
    icfg.id = "as-9";
    icfg.advertise = "10.0.0.9";
    assert_int_equal(rf_ctlclient_start(&L.ic, L.loop, &icfg, &ic_ops, NULL), 0);
    start_copy(&L.cp[0], "cap-1", 0);
    start_copy(&L.cp[1], "cap-2", 1);
    start_copy(&L.cp[2], "cap-3", 2);
    L.admin = rf_conn_new(L.loop, &admin_ops, NULL, 0, 0);
    assert_non_null(L.admin);
    assert_int_equal(rf_conn_connect(L.admin, "127.0.0.1", L.port), 0);
    uv_timer_init(L.loop, &L.kick);
    uv_timer_start(&L.kick, on_kick, 500, 200);
    uv_timer_init(L.loop, &L.guard);
    uv_timer_start(&L.guard, on_guard, 15000, 0);
    uv_run(L.loop, UV_RUN_DEFAULT);
    assert_false(L.timed_out);
    assert_non_null(L.reply);
    const Rfpb__DoctorReply *r = L.reply;
    assert_int_equal(r->id, 4242);
    assert_int_equal(r->n_agents, 3);
    int seen = 0;
    for (size_t i = 0; i < r->n_agents; i++) {
        const Rfpb__DoctorReply__AgentCanary *a = r->agents[i];
        if (strcmp(a->id, "cap-1") == 0) {
            assert_true(a->answered);
            assert_int_equal(a->n_rules, 2);
            assert_int_equal(a->rules[0]->stage, RFPB__CANARY_STAGE__CANARY_OK);
            seen |= 1;
        } else if (strcmp(a->id, "cap-2") == 0) {
            assert_true(a->answered);
            assert_int_equal(a->rules[0]->stage, RFPB__CANARY_STAGE__CANARY_WRONG_ROUTE);
            seen |= 2;
        } else if (strcmp(a->id, "cap-3") == 0) {
            assert_false(a->answered);
            seen |= 4;
        }
    }
    assert_int_equal(seen, 7);
    int wrong = 0, silent = 0;
    for (size_t i = 0; i < r->n_notes; i++) {
        wrong |= strstr(r->notes[i], "reached intercept as-9") != NULL;
        silent |= strstr(r->notes[i], "cap-3 did not answer") != NULL;
    }
    assert_true(wrong);
    assert_true(silent);
    /* bounded by timeout + grace (+ freshness), not more */
    assert_true(L.doctor_ms <= 300 + RD_DOCTOR_GRACE_MS + RD_DOCTOR_FRESH_MS + 500);
    print_message("doctor round trip with one silent agent: %llu ms\n",
                  (unsigned long long)L.doctor_ms);
    rfpb__doctor_reply__free_unpacked(L.reply, NULL);
    /* shut everything down */
    for (int i = 0; i < 3; i++)
        rf_ctlclient_stop(L.cp[i].cl);
    rf_ctlclient_stop(own);
    rf_ctlclient_stop(L.ic);
    if (L.admin)
        rf_conn_close(L.admin, "done");
    uv_close((uv_handle_t *)&L.kick, NULL);
    uv_close((uv_handle_t *)&L.guard, NULL);
    rd_server_stop(L.srv);
    uv_run(L.loop, UV_RUN_DEFAULT);
    rd_server_free(L.srv);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    (void)system(cmd);
}

int
main(void)
{
    rf_auth_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(probes_and_untrusted_results, setup, teardown),
        cmocka_unit_test_setup_teardown(down_and_silent_agents, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_route_correlation, setup, teardown),
        cmocka_unit_test(through_the_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
