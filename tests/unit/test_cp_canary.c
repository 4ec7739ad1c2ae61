/* test_cp_canary.c -- doctor probes: packets, matching, each diagnosis. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cp_canary.h"
#include "rf_pkt.h"

static size_t
answer(uint8_t *b, const cp_probe_t *p, uint8_t flags, uint32_t ack)
{
    memset(b, 0, 40);
    b[0] = 0x45;
    wr16(b + 2, 40);
    b[9] = 6;
    wr32(b + 12, p->rule.target_ip);
    wr32(b + 16, p->src_ip);
    wr16(b + 20, p->rule.target_port);
    wr16(b + 22, p->src_port);
    wr32(b + 24, 777);
    wr32(b + 28, ack);
    b[32] = 0x50;
    b[33] = flags;
    return 40;
}

static void
stages(void **state)
{
    rf_rule_t rules[4];
    unsigned n;
    rf_rules_parse(rules, &n, "80-10.0.0.2:80,81-10.0.0.2:81,82-10.0.0.2:82,83-10.0.0.2:83", NULL);
    rf_cidr_t r;
    rf_cidr_parse(&r, "10.250.8.0/24", NULL);
    cp_canary_t c;
    assert_int_equal(cp_canary_begin(&c, 9, rules, n, &r, 1000, 100, 1), 4);
    uint8_t b[64];
    size_t len = cp_canary_syn(&c, 0, b);
    rf_tcp_view_t v;
    assert_int_equal(rf_tcp_parse(&v, b, len, 1), RF_PKT_OK);
    assert_int_equal(v.flags, RF_TH_SYN);
    assert_int_equal(v.saddr, 0x0afa0801u);   /* first host of the range */
    assert_true(v.sport < 1024);               /* never a replayed port */
    for (unsigned i = 0; i < 4; i++)
        cp_canary_sent(&c, i, i == 3 ? 1 /* EPERM */ : 0, 100);
    assert_int_equal(cp_canary_done(&c, 150), 0);
    /* probe 0: SYN-ACK in 5 ms; probe 1: RST; probe 2: nothing; 3: send failed */
    len = answer(b, &c.p[0], RF_TH_SYN | RF_TH_ACK, c.p[0].isn + 1);
    assert_int_equal(cp_canary_on_response(&c, b, len, 105), 0);
    len = answer(b, &c.p[1], RF_TH_RST | RF_TH_ACK, c.p[1].isn + 1);
    assert_int_equal(cp_canary_on_response(&c, b, len, 106), 1);
    /* A response for someone else is not ours. */
    uint8_t other[64];
    memcpy(other, b, 40);
    wr16(other + 22, 40000);
    assert_int_equal(cp_canary_on_response(&c, other, 40, 106), -1);
    assert_int_equal(cp_canary_done(&c, 500), 0);
    assert_int_equal(cp_canary_done(&c, 1100), 1);
    assert_int_equal(c.p[0].stage, CP_CANARY_OK);
    assert_int_equal(c.p[0].rtt_us, 5000);
    assert_int_equal(c.p[1].stage, CP_CANARY_RESET);
    assert_int_equal(c.p[2].stage, CP_CANARY_NO_SYNACK);
    assert_int_equal(c.p[3].stage, CP_CANARY_NOT_SENT);
    char d[160];
    cp_canary_detail(&c.p[3], d, sizeof(d));
    assert_non_null(strstr(d, "send failed"));
}

static void
late(void **state)
{
    rf_rule_t rule;
    rf_rule_parse(&rule, "80-10.0.0.2:80", NULL);
    rf_cidr_t r;
    rf_cidr_parse(&r, "10.250.8.0/24", NULL);
    cp_canary_t c;
    cp_canary_begin(&c, 1, &rule, 1, &r, 1000, 0, 1);
    cp_canary_sent(&c, 0, 0, 0);
    uint8_t b[64];
    size_t len = answer(b, &c.p[0], RF_TH_SYN | RF_TH_ACK, c.p[0].isn + 1);
    cp_canary_on_response(&c, b, len, 700);
    assert_int_equal(c.p[0].stage, CP_CANARY_LATE);
    /* The reset that cleans the target's half-open socket. */
    len = cp_canary_rst(&c, 0, b);
    rf_tcp_view_t v;
    assert_int_equal(rf_tcp_parse(&v, b, len, 1), RF_PKT_OK);
    assert_int_equal(v.flags, RF_TH_RST);
    assert_int_equal(v.seq, c.p[0].isn + 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(stages), cmocka_unit_test(late) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
