/* test_cp_ctl.c -- an Assignment into replay-copy's next configuration:
 * what is taken from the message, what stays the agent's own, and each
 * refusal with its reason; the replay checks say the same thing whether
 * the value came from a flag or from the controller. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cp_ctl.h"

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

static cp_config_t cur, next;

/* One valid assignment, its parts writable by each test. */
static Rfpb__TransferRule rule;
static Rfpb__TransferRule *rules[1];
static Rfpb__Prefix range;
static Rfpb__Endpoint ep;
static Rfpb__Endpoint *eps[1];
static Rfpb__Assignment as;
static uint8_t psk[32];

static int
setup(void **state)
{
    (void)state;
    char *argv[] = { "replay-copy", "--controller", "127.0.0.1", "--id", "cap-1",
                     "--max-copies", "8", "--allow-target", "10.0.0.0/8", NULL };
    rf_errbuf_t err;
    assert_int_equal(cp_opts_parse(&cur, 9, argv, &err), 0);
    assert_int_equal(cp_opts_validate(&cur, &err), 0);
    rule = (Rfpb__TransferRule)RFPB__TRANSFER_RULE__INIT;
    rule.online_port = 80;
    rule.target_ip = IP(10, 0, 2, 10);
    rule.target_port = 8080;
    rules[0] = &rule;
    range = (Rfpb__Prefix)RFPB__PREFIX__INIT;
    range.addr = IP(10, 250, 0, 77);   /* host bits: masked */
    range.len = 18;
    memset(psk, 0xab, sizeof(psk));
    ep = (Rfpb__Endpoint)RFPB__ENDPOINT__INIT;
    ep.host = "10.199.0.40";
    ep.port = 36524;
    ep.psk.data = psk;
    ep.psk.len = sizeof(psk);
    eps[0] = &ep;
    as = (Rfpb__Assignment)RFPB__ASSIGNMENT__INIT;
    as.generation = 4;
    as.active = 1;
    as.n_rules = 1;
    as.rules = rules;
    as.client_range = &range;
    as.port_offset = 1;
    as.copies = 2;
    as.sample_percent = 50;
    as.session_timeout_s = 30;
    as.rate_limit_pps = 1000;
    as.n_intercepts = 1;
    as.intercepts = eps;
    return 0;
}

static void
accepted(void **state)
{
    rf_errbuf_t err;
    assert_int_equal(cp_ctl_assignment(&next, &cur, &as, &err), 0);
    assert_int_equal(next.eng.nrules, 1);
    assert_int_equal(next.eng.rules[0].target_ip, IP(10, 0, 2, 10));
    assert_int_equal(next.eng.rules[0].target_port, 8080);
    assert_true(next.eng.has_range);
    assert_int_equal(next.eng.range.addr, IP(10, 250, 0, 0));
    assert_int_equal(next.eng.range.len, 18);
    assert_int_equal(next.eng.offset, 1);
    assert_int_equal(next.eng.copies, 2);
    assert_int_equal(next.eng.sample_percent, 50);
    assert_int_equal(next.eng.rate_limit_pps, 1000);
    assert_int_equal(next.eng.session_timeout_ms, 30000);
    assert_int_equal(next.nicpt, 1);
    assert_string_equal(next.icpt[0].host, "10.199.0.40");
    assert_int_equal(next.icpt[0].port, 36524);
    assert_true(next.icpt[0].has_psk);
    assert_memory_equal(next.icpt[0].psk, psk, sizeof(psk));
    /* the agent's own settings are not the controller's to change */
    assert_string_equal(next.id, "cap-1");
    assert_int_equal(next.max_copies, 8);
    assert_int_equal(next.nallow, 1);
    /* timeout 0: the agent keeps its own */
    as.session_timeout_s = 0;
    assert_int_equal(cp_ctl_assignment(&next, &cur, &as, &err), 0);
    assert_int_equal(next.eng.session_timeout_ms, cur.eng.session_timeout_ms);
    (void)state;
}

static void
inactive_clears(void **state)
{
    rf_errbuf_t err;
    assert_int_equal(cp_ctl_assignment(&next, &cur, &as, &err), 0);
    cur = next;
    as.active = 0;
    assert_int_equal(cp_ctl_assignment(&next, &cur, &as, &err), 0);
    assert_int_equal(next.eng.nrules, 0);
    assert_int_equal(next.nicpt, 0);
    (void)state;
}

static void
expect_refused(const char *needle)
{
    rf_errbuf_t err;
    cp_config_t before = cur;
    err.msg[0] = '\0';
    assert_int_equal(cp_ctl_assignment(&next, &cur, &as, &err), RF_EPLAN);
    if (strstr(err.msg, needle) == NULL)
        fail_msg("expected \"%s\" in \"%s\"", needle, err.msg);
    assert_memory_equal(&before, &cur, sizeof(cur));
}

static void
refusals(void **state)
{
    as.n_rules = 0;
    expect_refused("assignment has 0 rules, expected 1..32");
    as.n_rules = 1;
    rule.target_port = 70000;
    expect_refused("rules[0]: port 0 or over 65535");
    rule.target_port = 8080;
    rule.target_ip = 0;
    expect_refused("rules[0]");
    rule.target_ip = IP(10, 0, 2, 10);
    as.client_range = NULL;
    expect_refused("without a valid client range");
    as.client_range = &range;
    range.len = 33;
    expect_refused("without a valid client range");
    range.len = 7;
    expect_refused("client range 10.0.0.0/7 is wider than /8");
    range.len = 18;
    rule.target_ip = IP(10, 250, 0, 9);
    expect_refused("client range 10.250.0.0/18 contains the target of rule 80-10.250.0.9:8080");
    rule.target_ip = IP(192, 168, 0, 1);
    expect_refused("target outside --allow-target");
    rule.target_ip = IP(10, 0, 2, 10);
    as.copies = 0;
    expect_refused("copies 0 out of range 1..1023");
    as.copies = 9;
    expect_refused("copies 9 over this agent's --max-copies 8");
    as.copies = 2;
    as.port_offset = 1024;
    expect_refused("port offset 1024 out of range 0..1023");
    as.port_offset = 1;
    as.sample_percent = 101;
    expect_refused("sample percent 101 out of range 1..100");
    as.sample_percent = 100;
    as.session_timeout_s = 86401;
    expect_refused("session timeout 86401 s out of range 1..86400");
    as.session_timeout_s = 30;
    ep.host = NULL;
    expect_refused("intercepts[0]");
    ep.host = "10.199.0.40";
    ep.port = 65536;
    expect_refused("intercepts[0]");
    (void)state;
}

/* A flag and an Assignment with the same problem get the same words. */
static void
same_messages_as_flags(void **state)
{
    static cp_config_t flags;
    rf_errbuf_t ferr, aerr;
    char *wide[] = { "replay-copy", "-x", "80-10.0.2.10:8080", "-s", "10.199.0.40", "-c",
                     "10.0.0.0/7", NULL };
    assert_int_equal(cp_opts_parse(&flags, 7, wide, &ferr), 0);
    assert_int_equal(cp_opts_validate(&flags, &ferr), RF_EPARSE);
    range.len = 7;
    assert_int_equal(cp_ctl_assignment(&next, &cur, &as, &aerr), RF_EPLAN);
    assert_string_equal(ferr.msg, aerr.msg);
    char *holds[] = { "replay-copy", "-x", "80-10.250.0.9:8080", "-s", "10.199.0.40", "-c",
                      "10.250.0.0/18", NULL };
    assert_int_equal(cp_opts_parse(&flags, 7, holds, &ferr), 0);
    assert_int_equal(cp_opts_validate(&flags, &ferr), RF_EPARSE);
    range.len = 18;
    rule.target_ip = IP(10, 250, 0, 9);
    assert_int_equal(cp_ctl_assignment(&next, &cur, &as, &aerr), RF_EPLAN);
    assert_string_equal(ferr.msg, aerr.msg);
    (void)state;
}

static void
same_rules(void **state)
{
    rf_errbuf_t err;
    assert_int_equal(cp_ctl_assignment(&next, &cur, &as, &err), 0);
    assert_false(cp_ctl_same_rules(&next, &cur));   /* cur has none */
    cur = next;
    as.copies = 3;   /* not a rule */
    assert_int_equal(cp_ctl_assignment(&next, &cur, &as, &err), 0);
    assert_true(cp_ctl_same_rules(&next, &cur));
    rule.target_port = 8081;
    assert_int_equal(cp_ctl_assignment(&next, &cur, &as, &err), 0);
    assert_false(cp_ctl_same_rules(&next, &cur));
    (void)state;
}

/* Target groups (protocol 3): outputs become the engine's outputs; each
 * refusal names the output. */
static void
outputs_taken_and_refused(void **state)
{
    (void)state;
    static Rfpb__TransferRule orule[2];
    static Rfpb__TransferRule *orules[2][1];
    static Rfpb__Prefix orange[2];
    static Rfpb__Output out[2];
    static Rfpb__Output *outs[2];
    for (unsigned k = 0; k < 2; k++) {
        orule[k] = rule;
        orule[k].target_ip = IP(10, 0, 2, 10 + 10 * k);
        orules[k][0] = &orule[k];
        orange[k] = (Rfpb__Prefix)RFPB__PREFIX__INIT;
        orange[k].addr = IP(10, 250, 0, 0) + (k << 13);
        orange[k].len = 19;
        out[k] = (Rfpb__Output)RFPB__OUTPUT__INIT;
        out[k].name = k ? "v2" : "v1";
        out[k].n_rules = 1;
        out[k].rules = orules[k];
        out[k].client_range = &orange[k];
        out[k].port_offset = 1;
        out[k].copies = 1 + k;
        out[k].sample_percent = 100;
        out[k].rate_limit_pps = 500;
        outs[k] = &out[k];
    }
    as.n_outputs = 2;
    as.outputs = outs;
    rf_errbuf_t err;
    assert_int_equal(cp_ctl_assignment(&next, &cur, &as, &err), 0);
    assert_int_equal(next.eng.noutputs, 2);
    assert_int_equal(next.eng.outputs[1].target_ip[0], IP(10, 0, 2, 20));
    assert_int_equal(next.eng.outputs[1].target_port[0], 8080);
    assert_int_equal(next.eng.outputs[1].range.addr, IP(10, 250, 32, 0));
    assert_int_equal(next.eng.outputs[1].copies, 2);
    assert_int_equal(next.eng.outputs[0].rate_limit_pps, 500);
#define REFUSED(want)                                                          \
    do {                                                                       \
        assert_int_equal(cp_ctl_assignment(&next, &cur, &as, &err), RF_EPLAN); \
        if (strstr(err.msg, want) == NULL)                                     \
            fail_msg("got \"%s\", want \"%s\"", err.msg, want);                 \
    } while (0)
    orule[1].online_port = 81;
    REFUSED("outputs[1].rules[0]: another online side");
    orule[1].online_port = 80;
    orule[1].target_ip = IP(192, 168, 0, 1);   /* not in --allow-target */
    REFUSED("192.168.0.1");
    orule[1].target_ip = IP(10, 0, 2, 20);
    orange[1].addr = IP(10, 251, 0, 0);
    REFUSED("outputs[1]: client range missing or outside");
    orange[1].addr = IP(10, 250, 32, 0);
    out[1].copies = 9;   /* --max-copies 8 */
    REFUSED("outputs[1]: copies 9");
    out[1].copies = 2;
    out[0].n_rules = 0;
    REFUSED("outputs[0]: 0 rules, the assignment has 1");
    out[0].n_rules = 1;
    /* inactive: no outputs left behind */
    as.active = 0;
    assert_int_equal(cp_ctl_assignment(&next, &cur, &as, &err), 0);
    assert_int_equal(next.eng.noutputs, 0);
    as.n_outputs = 0;
    as.outputs = NULL;
#undef REFUSED
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(accepted, setup),
        cmocka_unit_test_setup(inactive_clears, setup),
        cmocka_unit_test_setup(refusals, setup),
        cmocka_unit_test_setup(outputs_taken_and_refused, setup),
        cmocka_unit_test_setup(same_messages_as_flags, setup),
        cmocka_unit_test_setup(same_rules, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
