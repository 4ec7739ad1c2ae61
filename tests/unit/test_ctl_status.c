/* test_ctl_status.c -- `replayctl status` for humans, over a real
 * StatusReply built by rd_admin_status: the header's fidelity and rates
 * are per role, gauges are never summed (not in totals, per agent only),
 * every non-zero loss counter is listed with its meaning and hop, down and
 * behind-the-plan agents are problems, -v adds the rest, and the --json
 * objects (status, agents) carry the same figures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl_render.h"
#include "rd_admin.h"

static const char *PLAN =
    "{\"name\":\"shadow\",\"transfers\":[\"80-10.0.2.10:80\"],\"client_pool\":\"10.250.0.0/16\","
    "\"copy_agents\":[\"cap-1\",\"cap-2\"],\"intercepts\":[\"as-1\"],\"copies\":2}";

static char dir[64];

static rd_agent_t *
hello(rd_ctx_t *c, const char *id, int role)
{
    Rfpb__Hello h = RFPB__HELLO__INIT;
    h.id = (char *)id;
    h.role = (Rfpb__Role)role;
    h.host = (char *)"h";
    h.advertise = (char *)"10.0.0.1";
    rd_agent_t *a = NULL;
    rf_errbuf_t err;
    if (rd_admin_hello(&a, c, &h, "127.0.0.1", &err) != 0)
        fail_msg("%s", err.msg);
    rd_agent_up(a, (void *)1, 1000);
    a->last_seen_ms = 1000;
    return a;
}

/* Two Stats one second apart: values v0 then v1 (rates = v1 - v0). */
static void
stats(rd_ctx_t *c, rd_agent_t *a, const char *const *names, const uint64_t *v0,
      const uint64_t *v1, size_t n)
{
    uint64_t dt;
    rd_stats_begin(&a->stats, 1000, &dt);
    for (size_t i = 0; i < n; i++)
        rd_stats_put(&a->stats, &c->names, (unsigned)i, names[i], v0[i], dt);
    rd_stats_end(&a->stats, 1000);
    rd_stats_begin(&a->stats, 2000, &dt);
    for (size_t i = 0; i < n; i++)
        rd_stats_put(&a->stats, &c->names, (unsigned)i, names[i], v1[i], dt);
    rd_stats_end(&a->stats, 2000);
}

/* An empty controller state in a fresh state directory. */
static rd_ctx_t *
empty_ctx(void)
{
    rd_ctx_t *c = calloc(1, sizeof(*c));
    snprintf(dir, sizeof(dir), "/tmp/ctl_status_XXXXXX");
    assert_non_null(mkdtemp(dir));
    rf_errbuf_t err;
    assert_int_equal(rd_ctx_init(c, dir, &err), 0);
    return c;
}

static rd_ctx_t *
make_ctx(void)
{
    rd_ctx_t *c = empty_ctx();
    rd_agent_t *c1 = hello(c, "cap-1", RD_ROLE_COPY);
    rd_agent_t *c2 = hello(c, "cap-2", RD_ROLE_COPY);
    rd_agent_t *i1 = hello(c, "as-1", RD_ROLE_ICPT);
    rd_apply_result_t res;
    assert_int_equal(rd_admin_apply(c, &res, PLAN, strlen(PLAN), 0), 0);
    rd_apply_result_fini(&res);
    c1->acked_gen = c2->acked_gen = i1->acked_gen = c->generation;
    static const char *const cn[] = { "cap_pkts", "accepted_pkts", "replayed_pkts", "replayed_bytes",
                                      "orig_sessions", "sess_opened", "sess_completed",
                                      "sess_timedout", "sess_active", "resp_received",
                                      "generation", "icpt_up" };
    uint64_t a0[] = { 1000, 500, 1000, 100000, 50, 100, 900, 10, 7, 900, 1, 1 };
    uint64_t a1[] = { 2000, 1000, 2000, 225000, 100, 200, 990, 10, 9, 1800, 1, 1 };
    stats(c, c1, cn, a0, a1, 12);
    uint64_t b0[] = { 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 1 };
    stats(c, c2, cn, b0, b0, 12);
    static const char *const in[] = { "cap_pkts", "resp_forwarded", "resp_unroutable", "copy_conns",
                                      "ctl_up" };
    uint64_t i0[] = { 100, 100, 0, 2, 1 }, i1v[] = { 1100, 1090, 10, 2, 1 };
    stats(c, i1, in, i0, i1v, 5);
    rd_agent_down(c2, "heartbeat timeout", 2500);
    return c;
}

static void
free_ctx(rd_ctx_t *c)
{
    rd_ctx_fini(c);
    free(c);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    (void)system(cmd);
}

static char *
render(const Rfpb__StatusReply *r, int verbose)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    ctl_render_status_table(fp, r, verbose);
    fclose(fp);
    return buf;
}

/* A --json view of r, parsed back (the test owns the reference). */
static json_t *
render_json(int (*view)(FILE *, const Rfpb__StatusReply *), const Rfpb__StatusReply *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_int_equal(view(fp, r), 0);
    fclose(fp);
    json_error_t e;
    json_t *j = json_loads(buf, 0, &e);
    if (j == NULL)
        fail_msg("not JSON (%s): %s", e.text, buf);
    free(buf);
    return j;
}

static void
human_view(void **state)
{
    (void)state;
    rd_ctx_t *c = make_ctx();
    Rfpb__StatusReply *r = rd_admin_status(c, 2600, 1);
    assert_non_null(r);
    char *t = render(r, 0);
    print_message("%s", t);
    assert_non_null(strstr(t, "plan \"shadow\"  generation 1  agents 2/3 up (copy 1/2, intercept 1/1)\n"));
    /* 990 completed, 10 timed out (cap-2 reported nothing finished) */
    assert_non_null(strstr(t, "fidelity   99.00% of 1,000 finished replay sessions completed cleanly (10 lost)\n"));
    assert_non_null(strstr(t, "sessions   100 sess/s opened, 50 sess/s captured x 2 copies\n"));
    assert_non_null(strstr(t, "packets    1,000 pkt/s replayed (1.0 Mbit/s, with the replay's own ACKs), 500 pkt/s "
                                 "captured into sessions x 2\n"));
    assert_non_null(strstr(t, "responses  900 pkt/s back from the target (intercepts forwarded 990 pkt/s)\n"));
    assert_non_null(strstr(t, "requested  copies 2, rate unlimited   achieved: copies 2.00x, rate 1,000 pkt/s\n"));
    /* rows: per agent, the gauge (SESS) per agent only */
    assert_non_null(strstr(t, "\ncap-1            copy      up"));
    assert_non_null(strstr(t, "\ncap-2            copy      DOWN"));
    assert_non_null(strstr(t, "\nas-1             intercept up"));
    assert_non_null(strstr(t, "99.00%\n"));   /* cap-1 and as-1 (990/1000) */
    /* problems: the down agent, cap-1's timeouts and as-1's unroutable
     * responses, each with meaning and hop */
    assert_non_null(strstr(t, "\nproblems (3)\n"));
    assert_non_null(strstr(t, "cap-2            DOWN: heartbeat timeout\n"));
    assert_non_null(strstr(t, "heartbeat timeout"));
    assert_non_null(strstr(t, "sess_timedout"));
    assert_non_null(strstr(t, "sessions idle past the timeout\n"));
    assert_non_null(strstr(t, "-> target -> intercept -> copy"));
    assert_non_null(strstr(t, "resp_unroutable"));
    assert_non_null(strstr(t, "-> target -> intercept: responses for a range no copy agent claims"));
    /* nothing else: no raw totals block, no summed gauges */
    assert_null(strstr(t, "TOTALS"));
    assert_null(strstr(t, "icpt_up"));
    assert_null(strstr(t, "ctl_up"));
    free(t);
    /* -v adds the counters (gauges marked, no rate) and the totals */
    rd_admin_status_free(r);
    r = rd_admin_status(c, 2600, 0);
    t = render(r, 1);
    assert_non_null(strstr(t, "TOTALS"));
    assert_non_null(strstr(t, "sess_active                                     9  (now)\n"));
    free(t);
    /* totals never sum a gauge */
    for (size_t i = 0; i < r->n_totals; i++) {
        const char *n = r->totals[i]->name;
        if (strcmp(n, "sess_active") == 0 || strcmp(n, "generation") == 0 ||
            strcmp(n, "icpt_up") == 0 || strcmp(n, "copy_conns") == 0 ||
            strcmp(n, "ctl_up") == 0 || strcmp(n, "agents_up") == 0)
            fail_msg("gauge %s summed into totals", n);
    }
    assert_int_equal(ctl_counter(r->totals, r->n_totals, "sess_completed"), 990);
    rd_admin_status_free(r);
    free_ctx(c);
}

static void
healthy_says_so(void **state)
{
    (void)state;
    rd_ctx_t *c = make_ctx();
    /* bring cap-2 back, clear as-1's and cap-1's losses */
    rd_agent_t *c2 = rd_registry_find(&c->reg, "cap-2");
    rd_agent_up(c2, (void *)1, 2700);
    c2->acked_gen = c->generation;
    rd_stats_t *s1 = &rd_registry_find(&c->reg, "cap-1")->stats;
    rd_stats_t *si = &rd_registry_find(&c->reg, "as-1")->stats;
    for (unsigned k = 0; k < s1->n; k++)
        if (strcmp(c->names.name[s1->id[k]], "sess_timedout") == 0)
            s1->value[k] = 0;
    for (unsigned k = 0; k < si->n; k++)
        if (strcmp(c->names.name[si->id[k]], "resp_unroutable") == 0)
            si->value[k] = 0;
    Rfpb__StatusReply *r = rd_admin_status(c, 2800, 1);
    char *t = render(r, 0);
    assert_non_null(strstr(t, "problems   none: every agent up on generation 1, no loss counter above 0\n"));
    assert_non_null(strstr(t, "fidelity   100.00%"));
    free(t);
    /* an agent on an older generation is a problem */
    c2->acked_gen = 0;
    rd_admin_status_free(r);
    r = rd_admin_status(c, 2800, 1);
    t = render(r, 0);
    assert_non_null(strstr(t, "cap-2            runs generation 0, plan is 1"));
    free(t);
    rd_admin_status_free(r);
    free_ctx(c);
}

static void
json_views(void **state)
{
    (void)state;
    rd_ctx_t *c = make_ctx();
    Rfpb__StatusReply *r = rd_admin_status(c, 2600, 0);
    json_t *j = render_json(ctl_render_status_json, r);
    json_t *f = json_object_get(j, "fleet");
    assert_true(json_real_value(json_object_get(f, "fidelity")) > 0.9899 &&
                json_real_value(json_object_get(f, "fidelity")) < 0.9901);
    assert_int_equal(json_integer_value(json_object_get(f, "copy_agents_up")), 1);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(f, "per_second"), "packets_replayed")), 1000);
    json_t *p = json_object_get(j, "problems");
    assert_int_equal(json_array_size(p), 3);
    int found = 0;
    for (size_t i = 0; i < json_array_size(p); i++) {
        json_t *x = json_array_get(p, i);
        if (strcmp(json_string_value(json_object_get(x, "counter")), "sess_timedout") == 0) {
            found = 1;
            assert_int_equal(json_integer_value(json_object_get(x, "value")), 10);
            assert_non_null(strstr(json_string_value(json_object_get(x, "hop")), "intercept"));
        }
    }
    assert_true(found);
    assert_null(json_object_get(json_object_get(j, "totals"), "sess_active"));
    json_decref(j);
    j = render_json(ctl_render_agents_json, r);
    assert_int_equal(json_integer_value(json_object_get(j, "generation")), 1);
    json_t *ag = json_object_get(j, "agents");
    assert_int_equal(json_array_size(ag), 3);   /* replayd itself is not an agent */
    json_decref(j);
    rd_admin_status_free(r);
    free_ctx(c);
}

/* Target groups: a line per group in the table, a target_groups list in
 * --json, both from the tgN_* totals and the plan's groups. */
static void
target_groups_view(void **state)
{
    (void)state;
    static const char *const tplan =
        "{\"name\":\"ab\",\"transfers\":[\"80-10.0.2.10:80\"],\"client_pool\":\"10.250.0.0/16\","
        "\"copy_agents\":[\"cap-1\"],\"intercepts\":[\"as-1\"],\"target_groups\":[{\"name\":\"v1\"},"
        "{\"name\":\"v2\",\"target\":\"10.0.2.20:8080\",\"sample_percent\":50}]}";
    rd_ctx_t *c = empty_ctx();
    rd_agent_t *c1 = hello(c, "cap-1", RD_ROLE_COPY);
    (void)hello(c, "as-1", RD_ROLE_ICPT);
    rd_apply_result_t res;
    assert_int_equal(rd_admin_apply(c, &res, tplan, strlen(tplan), 0), 0);
    rd_apply_result_fini(&res);
    static const char *const cn[] = { "orig_sessions", "tg0_sess_opened", "tg1_sess_opened",
                                      "tg1_sess_sampled_out", "tg0_replayed_pkts" };
    uint64_t a0[] = { 100, 100, 50, 50, 1000 }, a1[] = { 200, 200, 100, 100, 3000 };
    stats(c, c1, cn, a0, a1, 5);
    Rfpb__StatusReply *r = rd_admin_status(c, 2600, 1);
    assert_int_equal(r->n_target_groups, 2);
    char *txt = render(r, 0);
    if (strstr(txt, "  v1           10.0.2.10:80           copies 1, sample 100%, ratio 1.000, "
                    "sessions 200, out 2000 pkt/s") == NULL ||
        strstr(txt, "  v2           10.0.2.20:8080         copies 1, sample 50%, ratio 0.500, "
                    "sessions 100, out 0 pkt/s, resp 0 pkt/s; dropped: sampled 100, rate 0, "
                    "shed 0") == NULL)
        fail_msg("target group lines:\n%s", txt);
    free(txt);
    json_t *j = render_json(ctl_render_status_json, r);
    json_t *g = json_object_get(j, "target_groups");
    assert_int_equal(json_array_size(g), 2);
    json_t *v2 = json_array_get(g, 1);
    assert_string_equal(json_string_value(json_object_get(v2, "name")), "v2");
    assert_string_equal(json_string_value(json_object_get(v2, "targets")), "10.0.2.20:8080");
    assert_int_equal(json_integer_value(json_object_get(v2, "sample_percent")), 50);
    assert_int_equal(json_integer_value(json_object_get(v2, "sess_sampled_out")), 100);
    assert_true(json_real_value(json_object_get(v2, "ratio")) == 0.5);
    json_decref(j);
    rd_admin_status_free(r);
    free_ctx(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(human_view),
        cmocka_unit_test(healthy_says_so),
        cmocka_unit_test(json_views),
        cmocka_unit_test(target_groups_view),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
