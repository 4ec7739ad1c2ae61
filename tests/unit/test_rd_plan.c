/* test_rd_plan.c -- plan.json validation: every class of error names its
 * JSON path first; defaults and canonical text for good plans. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rd_plan.h"
#include "rd_targets.h"

#define GOOD_BODY                                                             \
    "\"transfers\":[\"80-10.0.2.10:8080\",\"10.0.1.5:6379-10.0.2.11:6379\"]," \
    "\"client_pool\":\"10.250.0.0/16\",\"copy_agents\":[\"cap-1\",\"cap-2\"],"   \
    "\"intercepts\":[\"assist-1\"]"

static void
expect_error(const char *json, const char *want_prefix)
{
    rd_plan_t *p = NULL;
    rf_errbuf_t err = { "" };
    int r = rd_plan_parse(&p, json, strlen(json), &err);
    if (r != RF_EPLAN || strncmp(err.msg, want_prefix, strlen(want_prefix)) != 0)
        fail_msg("plan %s\n  got r=%d \"%s\"\n  want prefix \"%s\"", json, r, err.msg, want_prefix);
    assert_null(p);
}

static void
good_plan_defaults(void **state)
{
    (void)state;
    const char *j = "{" GOOD_BODY "}";
    rd_plan_t *p = NULL;
    rf_errbuf_t err;
    assert_int_equal(rd_plan_parse(&p, j, strlen(j), &err), 0);
    assert_string_equal(p->name, "unnamed");
    assert_int_equal(p->nrules, 2);
    assert_int_equal(p->rules[1].online_port, 6379);
    assert_int_equal(p->rules[1].target_ip, (10u << 24) | (2u << 8) | 11u);
    assert_int_equal(p->pool.len, 16);
    assert_int_equal(p->ncopy, 2);
    assert_int_equal(p->nicpt, 1);
    assert_false(p->copy_all);
    assert_int_equal(p->copies, 1);
    assert_int_equal(p->sample_percent, 100);
    assert_int_equal(p->rate_limit_pps, 0);
    assert_int_equal(p->session_timeout_s, 120);
    /* canonical text: sorted keys, compact */
    assert_non_null(strstr(p->json, "{\"client_pool\":\"10.250.0.0/16\",\"copy_agents\""));
    rd_plan_free(p);
}

static void
good_plan_full(void **state)
{
    (void)state;
    const char *j = "{\"name\":\"checkout-shadow\"," GOOD_BODY
                    ",\"copies\":3,\"sample_percent\":50,\"rate_limit_pps\":1000,"
                    "\"session_timeout_s\":86400}";
    rd_plan_t *p = NULL;
    rf_errbuf_t err;
    assert_int_equal(rd_plan_parse(&p, j, strlen(j), &err), 0);
    assert_string_equal(p->name, "checkout-shadow");
    assert_int_equal(p->copies, 3);
    assert_int_equal(p->sample_percent, 50);
    assert_int_equal(p->rate_limit_pps, 1000);
    assert_int_equal(p->session_timeout_s, 86400);
    rd_plan_free(p);
    const char *s = "{\"transfers\":[\"80-10.0.2.10:8080\"],\"client_pool\":\"10.250.0.x\","
                    "\"copy_agents\":\"*\",\"intercepts\":\"*\"}";
    assert_int_equal(rd_plan_parse(&p, s, strlen(s), &err), 0);
    assert_true(p->copy_all);
    assert_true(p->icpt_all);
    assert_int_equal(p->pool.len, 24);
    rd_plan_free(p);
}

static void
syntax_errors(void **state)
{
    (void)state;
    expect_error("", "(root): invalid JSON");
    expect_error("{\"transfers\":", "(root): invalid JSON at line 1");
    expect_error("[1,2]", "(root): must be a JSON object");
    expect_error("{" GOOD_BODY ",\"copies\":1,\"copies\":2}", "(root): invalid JSON");
    expect_error("{" GOOD_BODY ",\"colour\":\"red\"}", "colour: unknown key");
    char big[RD_PLAN_JSON_MAX + 16];
    memset(big, ' ', sizeof(big));
    rd_plan_t *p = NULL;
    rf_errbuf_t err;
    assert_int_equal(rd_plan_parse(&p, big, sizeof(big), &err), RF_EPLAN);
    assert_non_null(strstr(err.msg, "at most"));
}

static void
transfer_errors(void **state)
{
    (void)state;
    const char *rest = ",\"client_pool\":\"10.250.0.0/16\",\"copy_agents\":[\"a\"],"
                       "\"intercepts\":[\"b\"]}";
    char j[2048];
#define T(tr, want)                                          \
    snprintf(j, sizeof(j), "{\"transfers\":%s%s", tr, rest); \
    expect_error(j, want)
    T("[\"80-10.0.2.10:8080\",\"10.0.1.5:6379-10.0.2:6379\"]",
      "transfers[1]: bad target address \"10.0.2\"");
    T("[\"80\"]", "transfers[0]: expected");
    T("[\"0-10.0.2.10:80\"]", "transfers[0]: bad online port");
    T("[\"80-10.0.2.10:70000\"]", "transfers[0]: bad target port");
    T("[\"1.2.3:80-10.0.2.10:80\"]", "transfers[0]: bad online address");
    T("[\"80-10.0.2.10:80\",\"80-10.0.2.11:81\"]", "transfers[1]: same online address and port");
    T("[80]", "transfers[0]: must be a string");
    T("[]", "transfers: empty");
    T("\"80-10.0.2.10:80\"", "transfers: must be a list");
    T("[\"1-1.1.1.1:1\",\"2-1.1.1.1:1\",\"3-1.1.1.1:1\",\"4-1.1.1.1:1\",\"5-1.1.1.1:1\","
      "\"6-1.1.1.1:1\",\"7-1.1.1.1:1\",\"8-1.1.1.1:1\",\"9-1.1.1.1:1\",\"10-1.1.1.1:1\","
      "\"11-1.1.1.1:1\",\"12-1.1.1.1:1\",\"13-1.1.1.1:1\",\"14-1.1.1.1:1\",\"15-1.1.1.1:1\","
      "\"16-1.1.1.1:1\",\"17-1.1.1.1:1\",\"18-1.1.1.1:1\",\"19-1.1.1.1:1\",\"20-1.1.1.1:1\","
      "\"21-1.1.1.1:1\",\"22-1.1.1.1:1\",\"23-1.1.1.1:1\",\"24-1.1.1.1:1\",\"25-1.1.1.1:1\","
      "\"26-1.1.1.1:1\",\"27-1.1.1.1:1\",\"28-1.1.1.1:1\",\"29-1.1.1.1:1\",\"30-1.1.1.1:1\","
      "\"31-1.1.1.1:1\",\"32-1.1.1.1:1\",\"33-1.1.1.1:1\"]",
      "transfers: 33 rules, at most 32");
#undef T
    expect_error("{\"client_pool\":\"10.250.0.0/16\",\"copy_agents\":[\"a\"],\"intercepts\":[\"b\"]}",
                 "transfers: missing");
}

static void
pool_errors(void **state)
{
    (void)state;
    const char *pre = "{\"transfers\":[\"80-10.0.2.10:8080\",\"10.0.1.5:81-10.0.2.11:82\"],";
    const char *post = ",\"copy_agents\":[\"a\"],\"intercepts\":[\"b\"]}";
    char j[512];
#define P(pool, want)                                         \
    snprintf(j, sizeof(j), "%s%s%s", pre, pool, post);        \
    expect_error(j, want)
    P("\"client_pool\":\"10.250.0.0/33\"", "client_pool: \"10.250.0.0/33\": prefix length");
    P("\"client_pool\":\"10.250.0.1/16\"", "client_pool: \"10.250.0.1/16\": host bits set");
    P("\"client_pool\":\"10.250.0\"", "client_pool: \"10.250.0\": \"10.250.0\" is not");
    P("\"client_pool\":\"10.0.0.0/7\"", "client_pool: /7 is wider than a /8");
    P("\"client_pool\":\"127.0.0.0/8\"", "client_pool: 127.0.0.0/8 is not a unicast range");
    P("\"client_pool\":\"224.1.0.0/16\"", "client_pool: 224.1.0.0/16 is not a unicast");
    P("\"client_pool\":\"10.0.2.0/24\"", "client_pool: contains the target address of transfers[0]");
    P("\"client_pool\":\"10.0.1.0/24\"", "client_pool: contains the online address of transfers[1]");
    P("\"client_pool\":16", "client_pool: must be a CIDR string");
    P("\"name\":\"x\"", "client_pool: missing");
#undef P
}

static void
agent_list_errors(void **state)
{
    (void)state;
    const char *pre = "{\"transfers\":[\"80-10.0.2.10:8080\"],\"client_pool\":\"10.250.0.0/16\",";
    char j[1024];
#define A(lists, want)                                     \
    snprintf(j, sizeof(j), "%s%s}", pre, lists);           \
    expect_error(j, want)
    A("\"intercepts\":[\"b\"]", "copy_agents: missing");
    A("\"copy_agents\":[\"a\"]", "intercepts: missing");
    A("\"copy_agents\":[],\"intercepts\":[\"b\"]", "copy_agents: empty");
    A("\"copy_agents\":\"all\",\"intercepts\":[\"b\"]", "copy_agents: must be a list");
    A("\"copy_agents\":{},\"intercepts\":[\"b\"]", "copy_agents: must be a list");
    A("\"copy_agents\":[\"a\",7],\"intercepts\":[\"b\"]", "copy_agents[1]: must be a string");
    A("\"copy_agents\":[\"a\",\"b c\"],\"intercepts\":[\"b\"]", "copy_agents[1]: bad agent id");
    A("\"copy_agents\":[\"\"],\"intercepts\":[\"b\"]", "copy_agents[0]: bad agent id");
    A("\"copy_agents\":[\"a\",\"a\"],\"intercepts\":[\"b\"]", "copy_agents[1]: duplicate agent \"a\"");
    A("\"copy_agents\":[\"a\",\"*\"],\"intercepts\":[\"b\"]", "copy_agents[1]: \"*\" stands alone");
    A("\"copy_agents\":[\"a\"],\"intercepts\":[\"x\",\"a\"]",
      "intercepts[1]: \"a\" is also listed in copy_agents[0]");
    A("\"copy_agents\":[\"a\"],\"intercepts\":[\"x\",null]", "intercepts[1]: must be a string");
    A("\"copy_agents\":[\"a\"],\"intercepts\":[\"0123456789012345678901234567890123456789012345678901234567890123\"]",
      "intercepts[0]: bad agent id");
#undef A
}

static void
capture_group_errors(void **state)
{
    (void)state;
    char j[2048];
#define G(groups, want)                                                \
    snprintf(j, sizeof(j), "{" GOOD_BODY ",\"capture_groups\":%s}", groups); \
    expect_error(j, want)
    G("{}", "capture_groups: must be a list");
    G("[7]", "capture_groups[0]: must be an object");
    G("[{\"agents\":[\"cap-1\"]}]", "capture_groups[0].name: missing or bad");
    G("[{\"name\":\"a b\",\"agents\":[\"cap-1\"]}]", "capture_groups[0].name: missing or bad");
    G("[{\"name\":\"g\",\"agents\":[]}]", "capture_groups[0].agents: must be a non-empty list");
    G("[{\"name\":\"g\",\"agents\":[\"cap-1\"],\"colour\":1}]",
      "capture_groups[0].colour: unknown key");
    G("[{\"name\":\"g\",\"agents\":[\"cap-1\"],\"shared_feed\":1}]",
      "capture_groups[0].shared_feed: must be true or false");
    G("[{\"name\":\"g\",\"agents\":[\"cap-9\"]}]",
      "capture_groups[0].agents[0]: \"cap-9\" is not in copy_agents");
    G("[{\"name\":\"g\",\"agents\":[\"cap-1\",\"cap-1\"]}]",
      "capture_groups[0].agents[1]: \"cap-1\" is already in capture_groups[0]");
    G("[{\"name\":\"g\",\"agents\":[\"cap-1\"]},{\"name\":\"h\",\"agents\":[\"cap-2\",\"cap-1\"]}]",
      "capture_groups[1].agents[1]: \"cap-1\" is already in capture_groups[0]");
    G("[{\"name\":\"g\",\"agents\":[\"cap-1\"]},{\"name\":\"g\",\"agents\":[\"cap-2\"]}]",
      "capture_groups[1].name: \"g\" is also capture_groups[0]");
#undef G
    /* a good one: defaults, membership lookup */
    snprintf(j, sizeof(j), "{" GOOD_BODY ",\"capture_groups\":[{\"name\":\"span-a\","
                           "\"agents\":[\"cap-2\",\"cap-1\"]},{\"name\":\"own\",\"agents\":[],"
                           "\"shared_feed\":false}]}");
    expect_error(j, "capture_groups[1].agents: must be a non-empty list");
    snprintf(j, sizeof(j), "{" GOOD_BODY ",\"capture_groups\":[{\"name\":\"span-a\","
                           "\"agents\":[\"cap-2\",\"cap-1\"]}]}");
    rd_plan_t *p = NULL;
    rf_errbuf_t err;
    assert_int_equal(rd_plan_parse(&p, j, strlen(j), &err), 0);
    assert_int_equal(p->ngroups, 1);
    assert_int_equal(p->groups[0].shared_feed, 1);
    assert_int_equal(p->groups[0].n, 2);
    assert_int_equal(rd_plan_group_of(p, "cap-1"), 0);
    assert_int_equal(rd_plan_group_of(p, "assist-1"), -1);
    rd_plan_free(p);
}

static void
target_group_errors(void **state)
{
    (void)state;
    char j[2048];
#define T(groups, want)                                                       \
    snprintf(j, sizeof(j), "{" GOOD_BODY ",\"target_groups\":%s}", groups); \
    expect_error(j, want)
    T("{}", "target_groups: must be a non-empty list");
    T("[]", "target_groups: must be a non-empty list");
    T("[7]", "target_groups[0]: must be an object");
    T("[{\"target\":\"10.0.3.1\"}]", "target_groups[0].name: missing or bad");
    T("[{\"name\":\"v1\",\"colour\":1}]", "target_groups[0].colour: unknown key");
    T("[{\"name\":\"v1\",\"target\":\"10.0.3\"}]", "target_groups[0].target: bad address");
    T("[{\"name\":\"v1\",\"target\":\"10.0.3.1:0\"}]", "target_groups[0].target: bad port");
    T("[{\"name\":\"v1\",\"target\":7}]", "target_groups[0].target: must be");
    T("[{\"name\":\"v1\",\"target\":\"10.250.3.1\"}]",
      "target_groups[0].target: 10.250.3.1 is inside client_pool");
    /* GOOD_BODY has two transfers: one port cannot serve both */
    T("[{\"name\":\"v1\",\"target\":\"10.0.3.1:80\"}]",
      "target_groups[0].target: a port applies to one transfer");
    T("[{\"name\":\"v1\",\"copies\":0}]", "target_groups[0].copies: must be an integer 1..1023");
    T("[{\"name\":\"v1\",\"sample_percent\":101}]",
      "target_groups[0].sample_percent: must be an integer 1..100");
    T("[{\"name\":\"v1\",\"rate_limit_pps\":-1}]", "target_groups[0].rate_limit_pps: must be");
    T("[{\"name\":\"v1\"},{\"name\":\"v1\",\"target\":\"10.0.3.1\"}]",
      "target_groups[1].name: \"v1\" is also target_groups[0]");
    T("[{\"name\":\"v1\"},{\"name\":\"v2\"}]",
      "target_groups[1].target: same targets as target_groups[0]");
    T("[{\"name\":\"a\",\"target\":\"10.0.3.1\"},{\"name\":\"b\",\"target\":\"10.0.3.1\"}]",
      "target_groups[1].target: same targets as target_groups[0]");
    T("[{\"name\":\"a\"},{\"name\":\"b\",\"target\":\"10.0.3.2\"},{\"name\":\"c\",\"target\":\"10.0.3.3\"},"
      "{\"name\":\"d\",\"target\":\"10.0.3.4\"},{\"name\":\"e\",\"target\":\"10.0.3.5\"},{\"name\":\"f\",\"target\":\"10.0.3.6\"},"
      "{\"name\":\"g\",\"target\":\"10.0.3.7\"},{\"name\":\"h\",\"target\":\"10.0.3.8\"},{\"name\":\"i\",\"target\":\"10.0.3.9\"}]",
      "target_groups: 9 groups, at most 8");
#undef T
    /* the same online port twice is refused, pointing at target_groups */
    expect_error("{\"transfers\":[\"80-10.0.2.10:80\",\"80-10.0.2.20:80\"],\"client_pool\":"
                 "\"10.250.0.0/16\",\"copy_agents\":\"*\",\"intercepts\":\"*\"}",
                 "transfers[1]: same online address and port as transfers[0] (one port to "
                 "several targets: target_groups)");
    /* a good one: the A/B case, inherited and own values */
    snprintf(j, sizeof(j), "{\"transfers\":[\"80-10.0.2.10:80\"],\"client_pool\":"
             "\"10.250.0.0/16\",\"copy_agents\":\"*\",\"intercepts\":\"*\",\"copies\":2,"
             "\"sample_percent\":50,\"rate_limit_pps\":100,\"target_groups\":["
             "{\"name\":\"v1\"},{\"name\":\"v2\",\"target\":\"10.0.2.20:8080\","
             "\"copies\":1,\"sample_percent\":100,\"rate_limit_pps\":0},"
             "{\"name\":\"v3\",\"target\":\"10.0.2.30\"}]}");
    rd_plan_t *p = NULL;
    rf_errbuf_t err;
    assert_int_equal(rd_plan_parse(&p, j, strlen(j), &err), 0);
    assert_int_equal(p->ntgroups, 3);
    assert_int_equal(rd_tg_bits(p), 2);
    assert_int_equal(rd_tg_outputs(p), 3);
    rf_rule_t r;
    rd_tg_rule(&r, p, 0, 0);
    assert_int_equal(r.target_ip, (10u << 24) | (2u << 8) | 10u);
    assert_int_equal(r.target_port, 80);
    rd_tg_rule(&r, p, 1, 0);
    assert_int_equal(r.target_ip, (10u << 24) | (2u << 8) | 20u);
    assert_int_equal(r.target_port, 8080);
    assert_int_equal(r.online_port, 80);
    rd_tg_rule(&r, p, 2, 0);
    assert_int_equal(r.target_ip, (10u << 24) | (2u << 8) | 30u);
    assert_int_equal(r.target_port, 80);   /* the address only: the port is kept */
    assert_int_equal(rd_tg_copies(p, 0), 2);
    assert_int_equal(rd_tg_copies(p, 1), 1);
    assert_int_equal(rd_tg_sample(p, 0), 50);
    assert_int_equal(rd_tg_sample(p, 1), 100);
    assert_int_equal(rd_tg_rate(p, 0), 100);
    assert_int_equal(rd_tg_rate(p, 1), 0);   /* explicitly unlimited */
    /* sub-slices: disjoint, inside the slot, in group order */
    rf_cidr_t slot, a, b;
    rf_cidr_parse(&slot, "10.250.4.0/24", NULL);
    assert_int_equal(rd_tg_range(&a, &slot, p, 0), 0);
    assert_int_equal(rd_tg_range(&b, &slot, p, 2), 0);
    assert_int_equal(a.len, 26);
    assert_int_equal(a.addr, slot.addr);
    assert_int_equal(b.addr, slot.addr + 128);
    /* rate shares: remainder to the first, never 0 for a limited rate */
    assert_int_equal(rd_tg_share(10, 0, 3), 4);
    assert_int_equal(rd_tg_share(10, 2, 3), 3);
    assert_int_equal(rd_tg_share(2, 2, 3), 1);
    assert_int_equal(rd_tg_share(0, 0, 3), 0);
    rd_plan_free(p);
}

static void
number_errors(void **state)
{
    (void)state;
    char j[1024];
#define N(kv, want)                                  \
    snprintf(j, sizeof(j), "{" GOOD_BODY ",%s}", kv); \
    expect_error(j, want)
    N("\"copies\":0", "copies: 0 is out of range 1..1023");
    N("\"copies\":1024", "copies: 1024 is out of range");
    N("\"copies\":-1", "copies: -1 is out of range");
    N("\"copies\":\"3\"", "copies: must be an integer");
    N("\"copies\":2.5", "copies: must be an integer");
    N("\"copies\":true", "copies: must be an integer");
    N("\"sample_percent\":0", "sample_percent: 0 is out of range 1..100");
    N("\"sample_percent\":101", "sample_percent: 101 is out of range");
    N("\"session_timeout_s\":0", "session_timeout_s: 0 is out of range 1..86400");
    N("\"session_timeout_s\":86401", "session_timeout_s: 86401");
    N("\"rate_limit_pps\":-5", "rate_limit_pps: -5 is out of range");
    N("\"rate_limit_pps\":99999999999999", "rate_limit_pps: 99999999999999 is out of range");
    N("\"name\":5", "name: must be a string");
    N("\"name\":\"a\\nb\"", "name: control characters");
#undef N
    char longname[300];
    memset(longname, 'n', 200);
    longname[200] = 0;
    snprintf(j, sizeof(j), "{" GOOD_BODY ",\"name\":\"%s\"}", longname);
    expect_error(j, "name: longer than 127 bytes");
}

static void
id_valid(void **state)
{
    (void)state;
    assert_true(rd_id_valid("cap-1"));
    assert_true(rd_id_valid("host.example_1"));
    assert_false(rd_id_valid(""));
    assert_false(rd_id_valid("a/b"));
    assert_false(rd_id_valid("a\"b"));
    char s[80];
    memset(s, 'a', 63);
    s[63] = 0;
    assert_true(rd_id_valid(s));
    s[63] = 'a';
    s[64] = 0;
    assert_false(rd_id_valid(s));
}

/* Three mistakes in one plan: all three reported, in schema order, one per
 * line, path first. */
static void
all_errors_at_once(void **state)
{
    (void)state;
    const char *j = "{\"bogus\":1,\"transfers\":[\"80-10.0.2.10:8080\",\"81-10.0.2.10:99999\"],"
                    "\"client_pool\":\"10.250.0.0/33\",\"copy_agents\":[\"a\",\"a\"],"
                    "\"intercepts\":[\"b\"],\"copies\":0}";
    rd_plan_t *p = NULL;
    rd_plan_errs_t e;
    assert_int_equal(rd_plan_parse_all(&p, j, strlen(j), &e), RF_EPLAN);
    assert_null(p);
    assert_int_equal(e.n, 5);
    assert_int_equal(e.dropped, 0);
    const char *want[] = {
        "bogus: unknown key",
        "transfers[1]: bad target port",
        "client_pool: \"10.250.0.0/33\": prefix length",
        "copy_agents[1]: duplicate agent \"a\"",
        "copies: 0 is out of range 1..1023",
    };
    const char *line = e.msg;
    for (size_t i = 0; i < 5; i++) {
        if (strncmp(line, want[i], strlen(want[i])) != 0)
            fail_msg("line %zu: got \"%.80s\" want \"%s\"\nall:\n%s", i, line, want[i], e.msg);
        const char *nl = strchr(line, '\n');
        if (i < 4)
            assert_non_null(nl);
        else
            assert_null(nl);
        line = nl ? nl + 1 : line;
    }
    /* the one-line form names the first and counts the rest */
    rf_errbuf_t err;
    assert_int_equal(rd_plan_parse(&p, j, strlen(j), &err), RF_EPLAN);
    assert_string_equal(err.msg, "bogus: unknown key (and 4 more)");
}

/* A plan made of nothing but errors is capped: RD_PLAN_ERRS_CAP lines,
 * then "... and N more errors". */
static void
errors_capped(void **state)
{
    (void)state;
    char j[8192];
    size_t o = (size_t)snprintf(j, sizeof(j), "{\"transfers\":[");
    for (int i = 0; i < 32; i++)
        o += (size_t)snprintf(j + o, sizeof(j) - o, "%s\"bad%d\"", i ? "," : "", i);
    o += (size_t)snprintf(j + o, sizeof(j) - o,
                          "],\"client_pool\":\"10.250.0.0/16\",\"copy_agents\":\"*\","
                          "\"intercepts\":\"*\"}");
    rd_plan_t *p = NULL;
    rd_plan_errs_t e;
    assert_int_equal(rd_plan_parse_all(&p, j, o, &e), RF_EPLAN);
    assert_int_equal(e.n, RD_PLAN_ERRS_CAP);
    assert_int_equal(e.dropped, 32 - RD_PLAN_ERRS_CAP);
    assert_true(strncmp(e.msg, "transfers[0]: ", 14) == 0);
    char tail[64];
    snprintf(tail, sizeof(tail), "\n... and %d more errors", 32 - RD_PLAN_ERRS_CAP);
    assert_non_null(strstr(e.msg, tail));
    assert_true(strlen(e.msg) < sizeof(e.msg));
}

/* A good plan reports nothing. */
static void
good_plan_no_errors(void **state)
{
    (void)state;
    const char *j = "{" GOOD_BODY "}";
    rd_plan_t *p = NULL;
    rd_plan_errs_t e;
    assert_int_equal(rd_plan_parse_all(&p, j, strlen(j), &e), 0);
    assert_int_equal(e.n, 0);
    assert_string_equal(e.msg, "");
    rd_plan_free(p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_plan_defaults), cmocka_unit_test(good_plan_full),
        cmocka_unit_test(syntax_errors),      cmocka_unit_test(transfer_errors),
        cmocka_unit_test(pool_errors),        cmocka_unit_test(agent_list_errors),
        cmocka_unit_test(number_errors), cmocka_unit_test(capture_group_errors),
        cmocka_unit_test(target_group_errors),      cmocka_unit_test(id_valid),
        cmocka_unit_test(all_errors_at_once), cmocka_unit_test(errors_capped),
        cmocka_unit_test(good_plan_no_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
