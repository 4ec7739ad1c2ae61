/* test_rd_sched.c -- stress schedules: durations, step inheritance, hold
 * between steps, linear ramps in bounded quanta, stop, pauses, and the
 * errors of bad schedules (with their JSON path). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rd_sched.h"

#define BODY                                                                                   \
    "\"transfers\":[\"80-10.0.2.10:8080\"],\"client_pool\":\"10.250.0.0/16\","                 \
    "\"copy_agents\":[\"cap-1\"],\"intercepts\":[\"assist-1\"],\"copies\":1,\"rate_limit_pps\":100"

static rd_plan_t *
plan(const char *sched)
{
    char j[2048];
    snprintf(j, sizeof(j), "{" BODY ",\"schedule\":%s}", sched);
    rd_plan_t *p = NULL;
    rf_errbuf_t err;
    if (rd_plan_parse(&p, j, strlen(j), &err) != 0)
        fail_msg("plan: %s", err.msg);
    return p;
}

static void
expect_error(const char *sched, const char *want)
{
    char j[2048];
    snprintf(j, sizeof(j), "{" BODY ",\"schedule\":%s}", sched);
    rd_plan_t *p = NULL;
    rf_errbuf_t err = { "" };
    if (rd_plan_parse(&p, j, strlen(j), &err) != RF_EPLAN || strncmp(err.msg, want, strlen(want)))
        fail_msg("schedule %s\n got \"%s\"\n want \"%s\"", sched, err.msg, want);
}

static void
durations(void **state)
{
    (void)state;
    assert_int_equal(rd_sched_parse_duration("90"), 90000);
    assert_int_equal(rd_sched_parse_duration("90s"), 90000);
    assert_int_equal(rd_sched_parse_duration("5m"), 300000);
    assert_int_equal(rd_sched_parse_duration("1h30m"), 5400000);
    assert_int_equal(rd_sched_parse_duration("2m30s"), 150000);
    assert_int_equal(rd_sched_parse_duration(""), -1);
    assert_int_equal(rd_sched_parse_duration("5x"), -1);
    assert_int_equal(rd_sched_parse_duration("m"), -1);
    assert_int_equal(rd_sched_parse_duration("1m30"), -1);
    assert_int_equal(rd_sched_parse_duration("8d"), -1);
    assert_int_equal(rd_sched_parse_duration("169h"), -1);
    assert_int_equal(rd_sched_parse_duration("9999999999"), -1);
}

static void
steps_hold_and_inherit(void **state)
{
    (void)state;
    rd_plan_t *p = plan("[{\"after\":\"10s\",\"copies\":2},{\"after\":20,\"rate_limit_pps\":500},"
                        "{\"after\":\"30s\",\"stop\":true}]");
    rd_sched_now_t n;
    rd_sched_eval(p, 0, &n);   /* before the first step: the plan's own values */
    assert_int_equal(n.step, -1);
    assert_int_equal(n.next, 0);
    assert_int_equal(n.next_in_ms, 10000);
    assert_int_equal(n.copies, 1);
    assert_int_equal(n.rate_limit_pps, 100);
    rd_sched_eval(p, 10000, &n);
    assert_int_equal(n.step, 0);
    assert_int_equal(n.copies, 2);
    assert_int_equal(n.rate_limit_pps, 100);   /* inherited */
    rd_sched_eval(p, 19999, &n);
    assert_int_equal(n.step, 0);
    assert_int_equal(n.next_in_ms, 1);
    rd_sched_eval(p, 25000, &n);
    assert_int_equal(n.copies, 2);             /* inherited */
    assert_int_equal(n.rate_limit_pps, 500);
    assert_false(n.stopped);
    rd_sched_eval(p, 99000000, &n);
    assert_int_equal(n.step, 2);
    assert_int_equal(n.next, -1);
    assert_true(n.stopped);
    rd_plan_free(p);
}

static void
ramp_in_quanta(void **state)
{
    (void)state;
    rd_plan_t *p = plan("[{\"after\":0,\"copies\":1,\"rate_limit_pps\":1000},"
                        "{\"after\":100,\"copies\":21,\"rate_limit_pps\":3000,\"ramp\":true}]");
    rd_sched_now_t n;
    rd_sched_eval(p, 0, &n);
    assert_int_equal(n.copies, 1);
    assert_true(n.ramping);
    rd_sched_eval(p, 50000, &n);
    assert_int_equal(n.copies, 11);
    assert_int_equal(n.rate_limit_pps, 2000);
    rd_sched_eval(p, 52000, &n);               /* same quantum (5 s each) */
    assert_int_equal(n.rate_limit_pps, 2000);
    rd_sched_eval(p, 55000, &n);
    assert_int_equal(n.rate_limit_pps, 2100);
    unsigned changes = 0;
    uint64_t last = 0;
    for (uint64_t t = 0; t <= 100000; t += 100) {
        rd_sched_eval(p, t, &n);
        changes += n.rate_limit_pps != last;
        last = n.rate_limit_pps;
    }
    assert_int_equal(changes, RD_RAMP_QUANTA + 1);   /* bounded generations */
    rd_sched_eval(p, 100000, &n);
    assert_int_equal(n.copies, 21);
    assert_false(n.ramping);
    /* downwards too */
    rd_plan_free(p);
    p = plan("[{\"after\":0,\"rate_limit_pps\":3000},{\"after\":100,\"rate_limit_pps\":1000,"
             "\"ramp\":true}]");
    rd_sched_eval(p, 50000, &n);
    assert_int_equal(n.rate_limit_pps, 2000);
    rd_plan_free(p);
}

static void
pauses(void **state)
{
    (void)state;
    assert_int_equal(rd_sched_elapsed(10000, 1000, 0, 0), 9000);
    assert_int_equal(rd_sched_elapsed(10000, 1000, 4000, 0), 3000);     /* paused at 4 s */
    assert_int_equal(rd_sched_elapsed(10000, 1000, 0, 2000), 7000);     /* 2 s paused before */
    assert_int_equal(rd_sched_elapsed(500, 1000, 0, 0), 0);             /* clock stepped back */
}

static void
bad_schedules(void **state)
{
    (void)state;
    expect_error("{}", "schedule: must be a non-empty list");
    expect_error("[]", "schedule: must be a non-empty list");
    expect_error("[7]", "schedule[0]: must be an object");
    expect_error("[{\"copies\":2}]", "schedule[0].after: missing or bad");
    expect_error("[{\"after\":\"5q\"}]", "schedule[0].after: missing or bad");
    expect_error("[{\"after\":10},{\"after\":10}]", "schedule[1].after: not later than schedule[0]");
    expect_error("[{\"after\":1,\"copies\":0}]", "schedule[0].copies: must be an integer 1..1023");
    expect_error("[{\"after\":1,\"sample_percent\":101}]", "schedule[0].sample_percent");
    expect_error("[{\"after\":1,\"speed\":2}]", "schedule[0].speed: unknown key");
    expect_error("[{\"after\":1,\"stop\":true},{\"after\":2}]",
                 "schedule[0].stop: only the last step may stop the replay");
    expect_error("[{\"after\":1,\"rate_limit_pps\":0,\"ramp\":true}]",
                 "schedule[0].ramp: cannot ramp from or to an unlimited rate (0)");
    expect_error("[{\"after\":1,\"ramp\":1}]", "schedule[0]: ramp and stop are true or false");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(durations), cmocka_unit_test(steps_hold_and_inherit),
        cmocka_unit_test(ramp_in_quanta), cmocka_unit_test(pauses),
        cmocka_unit_test(bad_schedules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
