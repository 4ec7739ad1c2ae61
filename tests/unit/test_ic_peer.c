/* test_ic_peer.c -- the copy-agent channel protocol of replay-intercept:
 * Hello -> READY with its prefixes claimed, each refusal with its counter
 * and reason, TupleRegister, messages out of place, and the end of a
 * connection giving back what it held. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ic_peer.h"
#include "rf_envelope.h"

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

static int
no_send(void *ctx, const uint8_t *hdrs, size_t len, uint32_t count)
{
    (void)ctx, (void)hdrs, (void)len, (void)count;
    return 0;
}

static const ic_engine_ops_t ops = { no_send };
static ic_engine_t eng;
static ic_stats_t st;
static ic_peer_env_t env;
static const ic_peer_link_t loopback = { NULL, 1 }, remote = { NULL, 0 };

static int
setup(void **state)
{
    (void)state;
    memset(&st, 0, sizeof(st));
    ic_engine_cfg_t cfg = {
        .route = { .max_owners = 2, .max_prefixes = 8, .max_tuples = 16, .tuple_ttl_ms = 1000 },
        .batch_max = 16, .park_cap = 4, .park_ttl_ms = 50, .expire_budget = 16,
    };
    assert_int_equal(ic_engine_init(&eng, &cfg, &ops, &st), 0);
    env = (ic_peer_env_t){ &eng, &st, 0 };
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    ic_engine_fini(&eng);
    return 0;
}

/* Envelope wrappers over stack messages. */
static Rfpb__Prefix pfx[300];
static Rfpb__Prefix *ppfx[300];

static ic_peer_verdict_t
hello(ic_peer_t *p, const ic_peer_link_t *link, const char *id, size_t nowned,
      ic_peer_refusal_t *why)
{
    Rfpb__Hello h = RFPB__HELLO__INIT;
    h.version = RF_PROTO_VERSION;
    h.role = RFPB__ROLE__ROLE_COPY;
    h.id = (char *)id;
    h.n_owned = nowned;
    h.owned = ppfx;
    Rfpb__Envelope m = RFPB__ENVELOPE__INIT;
    m.msg_case = RFPB__ENVELOPE__MSG_HELLO;
    m.hello = &h;
    return ic_peer_on_msg(&env, p, link, &m, 1000, why);
}

static ic_peer_verdict_t
tuples(ic_peer_t *p, Rfpb__Tuple **add, size_t nadd, ic_peer_refusal_t *why)
{
    Rfpb__TupleRegister tr = RFPB__TUPLE_REGISTER__INIT;
    tr.n_add = nadd;
    tr.add = add;
    Rfpb__Envelope m = RFPB__ENVELOPE__INIT;
    m.msg_case = RFPB__ENVELOPE__MSG_TUPLES;
    m.tuples = &tr;
    return ic_peer_on_msg(&env, p, &loopback, &m, 1000, why);
}

static void
set_prefix(size_t i, uint32_t addr, uint32_t len)
{
    pfx[i] = (Rfpb__Prefix)RFPB__PREFIX__INIT;
    pfx[i].addr = addr;
    pfx[i].len = len;
    ppfx[i] = &pfx[i];
}

static void
hello_ready_and_gone(void **state)
{
    (void)state;
    ic_peer_t p;
    ic_peer_refusal_t why;
    ic_peer_init(&p, "127.0.0.1:4000");
    set_prefix(0, IP(10, 250, 0, 0), 18);
    assert_int_equal(hello(&p, &loopback, "cap\n1", 1, &why), IC_PEER_WELCOME);
    assert_int_equal(p.state, IC_PEER_READY);
    assert_int_not_equal(p.owner, IC_OWNER_NONE);
    assert_string_equal(p.id, "cap?1");   /* log-safe */
    assert_int_equal(st.copy_conns, 1);
    /* its prefix routes to it */
    assert_int_equal(ic_route_lookup(&eng.route, IP(10, 250, 0, 5), 1234, IP(10, 0, 2, 10), 80,
                                     1000),
                     p.owner);
    /* a Heartbeat is fine, a second Hello is not */
    Rfpb__Heartbeat hb = RFPB__HEARTBEAT__INIT;
    Rfpb__Envelope m = RFPB__ENVELOPE__INIT;
    m.msg_case = RFPB__ENVELOPE__MSG_HEARTBEAT;
    m.heartbeat = &hb;
    assert_int_equal(ic_peer_on_msg(&env, &p, &loopback, &m, 1000, &why), IC_PEER_OK);
    assert_int_equal(hello(&p, &loopback, "cap-1", 0, &why), IC_PEER_REFUSE);
    assert_string_equal(why.detail, "unexpected hello on the copy channel");
    assert_string_equal(why.reason, "protocol error");
    assert_int_equal(st.proto_errors, 1);
    /* gone: routes dropped, gauge back, and only once */
    uint32_t owner = p.owner;
    ic_peer_gone(&env, &p);
    ic_peer_gone(&env, &p);
    assert_int_equal(st.copy_conns, 0);
    assert_int_equal(p.state, IC_PEER_GONE);
    assert_int_not_equal(ic_route_lookup(&eng.route, IP(10, 250, 0, 5), 1234, IP(10, 0, 2, 10),
                                         80, 1000),
                         owner);
    /* frames still in flight after the close are not acted on */
    assert_int_equal(hello(&p, &loopback, "cap-1", 0, &why), IC_PEER_OK);
    assert_int_equal(st.copy_conns, 0);
}

static void
refusals_before_hello(void **state)
{
    (void)state;
    ic_peer_t p;
    ic_peer_refusal_t why;
    ic_peer_init(&p, "10.0.0.7:4000");
    Rfpb__Heartbeat hb = RFPB__HEARTBEAT__INIT;
    Rfpb__Envelope m = RFPB__ENVELOPE__INIT;
    m.msg_case = RFPB__ENVELOPE__MSG_HEARTBEAT;
    m.heartbeat = &hb;
    assert_int_equal(ic_peer_on_msg(&env, &p, &loopback, &m, 1000, &why), IC_PEER_REFUSE);
    assert_string_equal(why.detail, "expected hello, got heartbeat");
    assert_int_equal(st.proto_errors, 1);
    /* no key, not loopback, not --insecure */
    assert_int_equal(hello(&p, &remote, "cap-1", 0, &why), IC_PEER_REFUSE);
    assert_int_equal(st.auth_failures, 1);
    assert_non_null(strstr(why.detail, "only loopback peers"));
    env.insecure = 1;
    ic_peer_init(&p, "10.0.0.7:4000");
    assert_int_equal(hello(&p, &remote, "cap-1", 0, &why), IC_PEER_WELCOME);
    ic_peer_gone(&env, &p);
    /* too many prefixes; a prefix with host bits */
    ic_peer_init(&p, "10.0.0.7:4000");
    for (size_t i = 0; i < IC_MAX_OWNED + 1; i++)
        set_prefix(i, IP(10, (i >> 8) & 255, i & 255, 0), 24);
    assert_int_equal(hello(&p, &loopback, "cap-1", IC_MAX_OWNED + 1, &why), IC_PEER_REFUSE);
    assert_string_equal(why.detail, "Hello owns 257 prefixes, at most 256");
    set_prefix(0, IP(10, 250, 0, 1), 24);
    assert_int_equal(hello(&p, &loopback, "cap-1", 1, &why), IC_PEER_REFUSE);
    assert_non_null(strstr(why.detail, "owned[0]: not a prefix"));
    assert_int_equal(st.proto_errors, 3);
    assert_int_equal(p.owner, IC_OWNER_NONE);
    assert_int_equal(st.copy_conns, 0);
}

static void
owner_table_full(void **state)
{
    (void)state;
    ic_peer_t p[3];
    ic_peer_refusal_t why;
    for (int i = 0; i < 2; i++) {
        ic_peer_init(&p[i], "127.0.0.1:1");
        assert_int_equal(hello(&p[i], &loopback, "cap", 0, &why), IC_PEER_WELCOME);
    }
    ic_peer_init(&p[2], "127.0.0.1:1");
    assert_int_equal(hello(&p[2], &loopback, "cap", 0, &why), IC_PEER_REFUSE);
    assert_string_equal(why.reason, "too many copy agents");
    assert_int_equal(st.copy_refused, 1);
    assert_int_equal(st.copy_conns, 2);
    ic_peer_gone(&env, &p[2]);
    assert_int_equal(st.copy_conns, 2);   /* it never counted */
    ic_peer_gone(&env, &p[0]);
    ic_peer_gone(&env, &p[1]);
    assert_int_equal(st.copy_conns, 0);
}

static void
tuple_register(void **state)
{
    (void)state;
    ic_peer_t p;
    ic_peer_refusal_t why;
    ic_peer_init(&p, "127.0.0.1:1");
    assert_int_equal(hello(&p, &loopback, "cap", 0, &why), IC_PEER_WELCOME);
    Rfpb__Tuple t = RFPB__TUPLE__INIT;
    t.client_ip = IP(192, 168, 1, 2);
    t.client_port = 40000;
    t.target_ip = IP(10, 0, 2, 10);
    t.target_port = 8080;
    Rfpb__Tuple *add[1] = { &t };
    assert_int_equal(tuples(&p, add, 1, &why), IC_PEER_OK);
    assert_int_equal(st.tuples_registered, 1);
    assert_int_equal(ic_route_lookup(&eng.route, IP(192, 168, 1, 2), 40000, IP(10, 0, 2, 10), 8080,
                                     1000),
                     p.owner);
    t.client_port = 65536;
    assert_int_equal(tuples(&p, add, 1, &why), IC_PEER_REFUSE);
    assert_string_equal(why.detail, "TupleRegister.add: port over 65535");
    ic_tuple_t x;
    assert_int_equal(ic_peer_tuple_from_pb(&x, NULL), RF_EPARSE);
    ic_peer_gone(&env, &p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(hello_ready_and_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(refusals_before_hello, setup, teardown),
        cmocka_unit_test_setup_teardown(owner_table_full, setup, teardown),
        cmocka_unit_test_setup_teardown(tuple_register, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
