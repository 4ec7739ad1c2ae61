/* test_ic_ctlclient.c -- rf_ctlclient against a fake controller on
 * 127.0.0.1 in this process: TLS 1.3 PSK handshake with a key derived from
 * the fake's fleet master (identity intercept/assist-1), Hello fields,
 * Assignment -> Ack ok / refused, Stats + Heartbeat, reconnect after the
 * controller drops us and is briefly unreachable, a key of another fleet
 * failing the TLS handshake with retries,
 * and the intercept's assignment handler (ic_ctl). Bounded by a guard timer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <uv.h>

#include <cmocka.h>

#include "ic_ctl.h"
#include "rf_conn.h"
#include "rf_ctlclient.h"
#include "rf_handshake.h"
#include "rf_keys.h"

typedef struct {
    uv_loop_t     *loop;
    uv_tcp_t       srv;
    uv_timer_t     guard, relisten;
    uint16_t       port;
    rf_conn_t     *conn;
    rf_hs_server_t hs;
    rf_auth_key_t  key;           /* the fake controller's fleet master */
    int            phase;
    int            hellos, refused, acks_ok, acks_fail, stats, heartbeats;
    uint64_t       hello_gen[8];
    char           last_error[128];
    rf_ctlclient_t *cli;
    int            timed_out;
    int            stop_at_refused;   /* finish at this many refusals (0: never) */
    uint64_t       t0_ns, refused_at_ns;
    /* client side */
    int            assignments, up, down;
    uint64_t       want_refuse_gen;
} fake_t;

static fake_t F;

static void srv_on_connection(uv_stream_t *s, int status);

static void
send_assignment(rf_conn_t *c, uint64_t gen, uint32_t block_len)
{
    Rfpb__Prefix rb = RFPB__PREFIX__INIT;
    rb.addr = 0x0afa0000;
    rb.len = block_len;
    Rfpb__Assignment a = RFPB__ASSIGNMENT__INIT;
    a.generation = gen;
    a.plan_name = (char *)"t";
    a.active = 1;
    a.route_block = &rb;
    Rfpb__Envelope env = RFPB__ENVELOPE__INIT;
    env.msg_case = RFPB__ENVELOPE__MSG_ASSIGNMENT;
    env.assignment = &a;
    assert_int_equal(rf_conn_send(c, &env), 0);
}

static void
finish(void)
{
    rf_ctlclient_stop(F.cli);
    F.cli = NULL;
    if (F.conn != NULL)
        rf_conn_close(F.conn, "done");
    uv_close((uv_handle_t *)&F.srv, NULL);
    uv_close((uv_handle_t *)&F.guard, NULL);
    uv_close((uv_handle_t *)&F.relisten, NULL);
}

static void
on_relisten(uv_timer_t *t)
{
    (void)t;
    assert_int_equal(rf_listen(&F.srv, F.loop, "127.0.0.1", F.port, srv_on_connection), 0);
}

static void
on_srv_closed(uv_handle_t *h)
{
    (void)h;
    /* The controller "restarts" 700 ms later on the same port. */
    uv_timer_start(&F.relisten, on_relisten, 700, 0);
}

static void
srv_on_msg(rf_conn_t *c, const Rfpb__Envelope *env)
{
    rf_errbuf_t err;
    switch (env->msg_case) {
    case RFPB__ENVELOPE__MSG_HELLO: {
        const Rfpb__Hello *h = env->hello;
        if (F.hellos < 8)
            F.hello_gen[F.hellos] = h->last_generation;
        F.hellos++;
        assert_non_null(rf_conn_tls_identity(c));
        if (rf_hs_check_hello(h, RF_ROLE_BIT(RFPB__ROLE__ROLE_INTERCEPT), rf_conn_tls_identity(c),
                              1, 0, &err) != 0) {
            F.refused++;
            rf_hs_send_error(c, 4, err.msg);
            rf_conn_close(c, "refused");
            return;
        }
        assert_string_equal(h->id, "assist-1");
        assert_string_equal(h->advertise, "10.0.0.9");
        assert_int_equal(h->listen_port, 36524);
        assert_int_equal(h->n_interfaces, 1);
        assert_string_equal(h->interfaces[0], "eth9");
        assert_non_null(strstr(h->software, "replay-intercept"));
        rf_hs_send_welcome(c, "fake");
        send_assignment(c, F.phase == 0 ? 7 : 8, 16);
        return;
    }
    case RFPB__ENVELOPE__MSG_ACK:
        if (env->ack->ok) {
            F.acks_ok++;
            assert_int_equal(env->ack->generation, 7);
        } else {
            F.acks_fail++;
            assert_int_equal(env->ack->generation, 8);
            snprintf(F.last_error, sizeof(F.last_error), "%s", env->ack->error);
            finish();
        }
        return;
    case RFPB__ENVELOPE__MSG_STATS:
        F.stats++;
        assert_int_equal(env->stats->n_counters, 2);
        assert_string_equal(env->stats->counters[1]->name, "two");
        assert_int_equal(env->stats->counters[1]->value, 2);
        if (F.phase == 0 && F.acks_ok == 1 && F.stats >= 2) {
            /* Drop the agent and go away for a while. */
            F.phase = 1;
            rf_conn_close(c, "controller restart");
            uv_close((uv_handle_t *)&F.srv, on_srv_closed);
        }
        return;
    case RFPB__ENVELOPE__MSG_HEARTBEAT:
        F.heartbeats++;
        return;
    default:
        fail_msg("unexpected %d", env->msg_case);
    }
}

static void
srv_on_close(rf_conn_t *c, const char *reason)
{
    if (strncmp(reason, "TLS handshake", 13) == 0)
        F.refused++;
    if (F.conn == c)
        F.conn = NULL;
    if (F.stop_at_refused && F.refused == F.stop_at_refused) {
        F.refused_at_ns = uv_hrtime();
        finish();
    }
}

static int
srv_lookup(void *arg, const char *ident, size_t len, uint8_t key[RF_KEY_LEN])
{
    (void)arg;
    rf_krole_t role;
    char id[RF_ID_MAXLEN + 1];
    if (rf_ident_parse(ident, len, &role, id) != 0)
        return -1;
    return rf_key_role(key, F.key.key, F.key.len, role, id);
}

static const rf_conn_ops_t srv_ops = { NULL, srv_on_msg, srv_on_close };

static void
srv_on_connection(uv_stream_t *s, int status)
{
    assert_int_equal(status, 0);
    rf_conn_t *c = rf_conn_new(F.loop, &srv_ops, NULL, 0, 0);
    assert_non_null(c);
    assert_int_equal(rf_conn_accept(c, s), 0);
    assert_int_equal(rf_conn_tls_server(c, srv_lookup, NULL), 0);
    F.conn = c;
    rf_hs_send_challenge(c, &F.hs);
}

/* ---- client callbacks ---- */

static int
cli_on_assignment(void *data, const Rfpb__Assignment *a, rf_errbuf_t *err)
{
    (void)data;
    F.assignments++;
    if (a->generation == F.want_refuse_gen)
        return rf_err_set(err, RF_EPLAN, "refusing generation %llu",
                          (unsigned long long)a->generation);
    return 0;
}

static size_t
cli_fill(void *data, Rfpb__Counter *store, Rfpb__Counter **ptrs, size_t max)
{
    (void)data;
    assert_true(max >= 2);
    static const char *names[2] = { "one", "two" };
    for (size_t i = 0; i < 2; i++) {
        rfpb__counter__init(&store[i]);
        store[i].name = (char *)names[i];
        store[i].value = i + 1;
        ptrs[i] = &store[i];
    }
    return 2;
}

static void
cli_on_state(void *data, int up)
{
    (void)data;
    if (up)
        F.up++;
    else
        F.down++;
}

static const rf_ctlclient_ops_t cli_ops = { cli_on_assignment, cli_fill, cli_on_state, NULL };

static void
on_guard(uv_timer_t *t)
{
    (void)t;
    F.timed_out = 1;
    finish();
}

static void
setup_fake(uv_loop_t *loop, const char *key, unsigned guard_ms)
{
    memset(&F, 0, sizeof(F));
    F.loop = loop;
    F.key.len = RF_KEY_LEN;
    assert_int_equal(rf_key_derive(F.key.key, (const uint8_t *)key, strlen(key), "test master"), 0);
    assert_int_equal(rf_listen(&F.srv, loop, "127.0.0.1", 0, srv_on_connection), 0);
    struct sockaddr_in sin;
    int len = sizeof(sin);
    assert_int_equal(uv_tcp_getsockname(&F.srv, (struct sockaddr *)&sin, &len), 0);
    F.port = ntohs(sin.sin_port);
    uv_timer_init(loop, &F.guard);
    uv_timer_init(loop, &F.relisten);
    uv_timer_start(&F.guard, on_guard, guard_ms, 0);
}

static rf_ctlclient_cfg_t
client_cfg(const rf_auth_key_t *k)
{
    static const char *const ifs[] = { "eth9" };
    rf_ctlclient_cfg_t cfg = {
        .host = "127.0.0.1", .port = F.port, .id = "assist-1",
        .role = RFPB__ROLE__ROLE_INTERCEPT, .advertise = "10.0.0.9", .listen_port = 36524,
        .key = k, .interfaces = ifs, .n_interfaces = 1, .stats_interval_ms = 100,
    };
    return cfg;
}

static void
test_session_and_reconnect(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    setup_fake(&loop, "0123456789abcdef-key", 10000);
    F.want_refuse_gen = 8;
    rf_auth_key_t k = { .len = RF_KEY_LEN };
    assert_int_equal(rf_key_role(k.key, F.key.key, F.key.len, RF_KROLE_INTERCEPT, "assist-1"), 0);
    rf_ctlclient_cfg_t cfg = client_cfg(&k);
    assert_int_equal(rf_ctlclient_start(&F.cli, &loop, &cfg, &cli_ops, NULL), 0);
    memset(&k, 0, sizeof(k));   /* the client keeps its own copy */
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_false(F.timed_out);
    assert_int_equal(F.hellos, 2);
    assert_int_equal(F.refused, 0);
    assert_int_equal(F.hello_gen[0], 0);
    assert_int_equal(F.hello_gen[1], 7);   /* kept across the reconnect */
    assert_int_equal(F.acks_ok, 1);
    assert_int_equal(F.acks_fail, 1);
    assert_non_null(strstr(F.last_error, "refusing generation 8"));
    assert_true(F.stats >= 2);
    assert_true(F.heartbeats >= 1);
    assert_int_equal(F.up, 2);
    assert_int_equal(F.down, 1);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void
test_wrong_key_retries(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    /* Counted, not timed: the run ends at the third refusal (the guard is
     * only a hang stop), so a loaded machine cannot make it fail. */
    setup_fake(&loop, "server-key-0123456789", 20000);
    F.stop_at_refused = 3;
    /* The right identity, but derived from another fleet's master. */
    uint8_t other[RF_KEY_LEN];
    assert_int_equal(rf_key_derive(other, (const uint8_t *)"client-fleet", 12, "test master"), 0);
    rf_auth_key_t k = { .len = RF_KEY_LEN };
    assert_int_equal(rf_key_role(k.key, other, sizeof(other), RF_KROLE_INTERCEPT, "assist-1"), 0);
    rf_ctlclient_cfg_t cfg = client_cfg(&k);
    F.t0_ns = uv_hrtime();
    assert_int_equal(rf_ctlclient_start(&F.cli, &loop, &cfg, &cli_ops, NULL), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_false(F.timed_out);           /* it kept retrying */
    assert_int_equal(F.refused, 3);
    /* Backoff keeps it from hammering: attempts at ~0, ~250 and ~750 ms
     * (each wait +-20%), so the third refusal cannot come before
     * 0.8 x (250 + 500) = 600 ms. Load only makes it later. */
    assert_true(F.refused_at_ns - F.t0_ns >= 600u * 1000000u);
    assert_int_equal(F.up, 0);
    assert_int_equal(F.assignments, 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void
test_bad_cfg(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    rf_ctlclient_t *c = NULL;
    rf_ctlclient_cfg_t cfg = { .host = "not-an-ip", .port = 1, .id = "x" };
    assert_int_equal(rf_ctlclient_start(&c, &loop, &cfg, &cli_ops, NULL), RF_EPARSE);
    cfg.host = "127.0.0.1";
    cfg.id = "";
    assert_int_equal(rf_ctlclient_start(&c, &loop, &cfg, &cli_ops, NULL), RF_EPARSE);
    assert_null(c);
    rf_ctlclient_stop(NULL);
    assert_int_equal(rf_ctlclient_generation(NULL), 0);
    assert_false(rf_ctlclient_connected(NULL));
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* ic_ctl's handler: validation, hook call on change only. */
static int hook_calls;
static int
hook(void *ctx, const rf_cidr_t *b, rf_errbuf_t *err)
{
    (void)ctx;
    (void)b;
    (void)err;
    hook_calls++;
    return 0;
}

static void
test_ic_ctl_assignment(void **state)
{
    (void)state;
    ic_stats_t st;
    memset(&st, 0, sizeof(st));
    static const ic_ctl_hooks_t hooks = { hook };
    ic_ctl_t c;
    memset(&c, 0, sizeof(c));
    c.hooks = &hooks;
    c.st = &st;
    Rfpb__Prefix rb = RFPB__PREFIX__INIT;
    rb.addr = 0x0afa0000;
    rb.len = 16;
    Rfpb__Assignment a = RFPB__ASSIGNMENT__INIT;
    a.generation = 3;
    a.active = 1;
    a.route_block = &rb;
    rf_errbuf_t err;
    assert_int_equal(ic_ctl_on_assignment(&c, &a, &err), 0);
    assert_int_equal(hook_calls, 1);
    assert_int_equal(ic_ctl_generation(&c), 3);
    a.generation = 4;   /* same block: no new filter */
    assert_int_equal(ic_ctl_on_assignment(&c, &a, &err), 0);
    assert_int_equal(hook_calls, 1);
    rb.len = 40;
    assert_true(ic_ctl_on_assignment(&c, &a, &err) < 0);
    rb.len = 8;         /* 10.250.0.0/8: host bits set */
    assert_true(ic_ctl_on_assignment(&c, &a, &err) < 0);
    assert_non_null(strstr(err.msg, "host bits"));
    assert_int_equal(ic_ctl_generation(&c), 4);   /* refusals do not move it */
    a.active = 0;       /* idle: block dropped */
    a.generation = 5;
    assert_int_equal(ic_ctl_on_assignment(&c, &a, &err), 0);
    assert_int_equal(hook_calls, 2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_and_reconnect),
        cmocka_unit_test(test_wrong_key_retries),
        cmocka_unit_test(test_bad_cfg),
        cmocka_unit_test(test_ic_ctl_assignment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
