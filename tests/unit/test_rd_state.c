/* test_rd_state.c -- state.json: round trip, durable save/load, and every
 * corrupt document refused (a state file is input, not truth). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "rd_state.h"

static const char *PLAN =
    "{\"name\":\"s\",\"transfers\":[\"80-192.168.2.10:8080\"],\"client_pool\":\"10.250.0.0/16\","
    "\"copy_agents\":[\"cap-1\",\"cap-2\"],\"intercepts\":[\"as-1\"],\"copies\":2}";

static void
build(rd_plan_t **p, rd_table_t *t)
{
    rf_errbuf_t err;
    assert_int_equal(rd_plan_parse(p, PLAN, strlen(PLAN), &err), 0);
    rd_known_t k[3];
    memset(k, 0, sizeof(k));
    strcpy(k[0].id, "cap-1");
    k[0].role = RD_ROLE_COPY;
    strcpy(k[1].id, "cap-2");
    k[1].role = RD_ROLE_COPY;
    strcpy(k[2].id, "as-1");
    k[2].role = RD_ROLE_ICPT;
    strcpy(k[2].advertise, "10.9.9.9");
    k[2].listen_port = 4000;
    if (rd_assign_compute(t, *p, NULL, k, 3, &err) != 0)
        fail_msg("%s", err.msg);
}

static void
round_trip_and_files(void **state)
{
    (void)state;
    rd_plan_t *p;
    rd_table_t t;
    build(&p, &t);
    char dir[] = "/tmp/rd_state_XXXXXX";
    assert_non_null(mkdtemp(dir));
    rf_errbuf_t err;
    uint64_t gen;
    rd_plan_t *p2 = NULL;
    rd_table_t t2;
    assert_int_equal(rd_state_load(&gen, &p2, &t2, dir, &err), -ENOENT);
    assert_int_equal(rd_state_save(dir, 7, p, &t), 0);
    if (rd_state_load(&gen, &p2, &t2, dir, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(gen, 7);
    assert_string_equal(p2->json, p->json);
    assert_int_equal(t2.n, 3);
    assert_int_equal(t2.block_bits, t.block_bits);
    const rd_entry_t *a = rd_table_find(&t2, "as-1");
    assert_string_equal(a->advertise, "10.9.9.9");
    assert_int_equal(a->listen_port, 4000);
    for (size_t i = 0; i < t.n; i++) {
        assert_int_equal(t.e[i].range.addr, rd_table_find(&t2, t.e[i].id)->range.addr);
        assert_int_equal(t.e[i].range.len, rd_table_find(&t2, t.e[i].id)->range.len);
    }
    /* no plan at all is a valid state too */
    rd_table_t empty;
    rd_table_init(&empty);
    assert_int_equal(rd_state_save(dir, 0, NULL, &empty), 0);
    rd_plan_t *p3 = (rd_plan_t *)1;
    rd_table_t t3;
    assert_int_equal(rd_state_load(&gen, &p3, &t3, dir, &err), 0);
    assert_null(p3);
    assert_int_equal(t3.n, 0);
    /* the largest generation a state can hold is written and read back;
     * one more is refused (the apply fails) instead of wrapping */
    assert_int_equal(rd_state_save(dir, (uint64_t)INT64_MAX, NULL, &empty), 0);
    assert_int_equal(rd_state_load(&gen, &p3, &t3, dir, &err), 0);
    assert_int_equal(gen, (uint64_t)INT64_MAX);
    rd_table_fini(&t3);
    assert_int_equal(rd_state_save(dir, (uint64_t)INT64_MAX + 1, NULL, &empty), -EOVERFLOW);
    assert_int_equal(rd_state_load(&gen, &p3, &t3, dir, &err), 0);
    assert_int_equal(gen, (uint64_t)INT64_MAX);   /* the file is intact */
    /* the state dir checks: ours and 0700 passes; a link, or group-writable,
     * does not; a link planted as state.json is refused, never followed */
    assert_int_equal(rd_state_dir_check(dir, &err), 0);
    char lnk[300], open_dir[300], victim[300];
    snprintf(lnk, sizeof(lnk), "%s.lnk", dir);
    assert_int_equal(symlink(dir, lnk), 0);
    assert_int_equal(rd_state_dir_check(lnk, &err), -ELOOP);
    unlink(lnk);
    snprintf(open_dir, sizeof(open_dir), "%s/open", dir);
    assert_int_equal(mkdir(open_dir, 0700), 0);
    assert_int_equal(chmod(open_dir, 0770), 0);
    assert_int_equal(rd_state_dir_check(open_dir, &err), -EPERM);
    snprintf(victim, sizeof(victim), "%s/victim", dir);
    FILE *vf = fopen(victim, "w");
    assert_non_null(vf);
    fclose(vf);
    assert_int_equal(chmod(open_dir, 0700), 0);
    char planted[320];
    snprintf(planted, sizeof(planted), "%s/state.json", open_dir);
    assert_int_equal(symlink(victim, planted), 0);
    assert_int_equal(rd_state_dir_check(open_dir, &err), -ELOOP);
    assert_int_equal(rd_state_load(&gen, &p3, &t3, open_dir, &err), -ELOOP);
    unlink(planted);
    rmdir(open_dir);
    unlink(victim);
    /* saving into a directory that does not exist fails with errno */
    char bad[300];
    snprintf(bad, sizeof(bad), "%s/missing", dir);
    assert_int_equal(rd_state_save(bad, 1, p, &t), -ENOENT);
    char path[300];
    snprintf(path, sizeof(path), "%s/state.json", dir);
    unlink(path);
    rmdir(dir);
    rd_table_fini(&t);
    rd_table_fini(&t2);
    rd_table_fini(&t3);
    rd_plan_free(p);
    rd_plan_free(p2);
}

/* Mutate the encoded document and expect a refusal naming the problem. */
static void
expect_bad(const char *doc, const char *want)
{
    uint64_t gen;
    rd_plan_t *p = NULL;
    rd_table_t t;
    rf_errbuf_t err = { "" };
    int r = rd_state_decode(&gen, &p, &t, doc, strlen(doc), &err);
    if (r == 0 || strstr(err.msg, want) == NULL)
        fail_msg("doc %s\n got %d \"%s\", want \"%s\"", doc, r, err.msg, want);
    assert_null(p);
}

static char *
replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    if (at == NULL)
        fail_msg("no \"%s\" in %s", from, s);
    size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
    char *o = malloc(n);
    snprintf(o, n, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
    return o;
}

static void
corrupt_documents(void **state)
{
    (void)state;
    rd_plan_t *p;
    rd_table_t t;
    build(&p, &t);
    char *doc;
    size_t len;
    assert_int_equal(rd_state_encode(&doc, &len, 3, p, &t), 0);
    expect_bad("", "invalid JSON");
    expect_bad("[]", "not a replayd state");
    expect_bad("{\"version\":9,\"generation\":1,\"agents\":[]}", "state version 9");
    expect_bad("{\"version\":1,\"generation\":-1,\"agents\":[]}", "generation");
    expect_bad("{\"version\":1,\"generation\":1}", "agents: missing");
    struct { const char *from, *to, *want; } cases[] = {
        { "\"copies\": 2", "\"copies\": 0", "plan.copies: 0 is out of range" },
        { "\"role\": \"copy\"", "\"role\": \"admin\"", "bad role" },
        { "\"port_offset\": 1", "\"port_offset\": 0", "port offset 0 used twice" },
        { "\"port_offset\": 1", "\"port_offset\": 5000", "malformed entry" },
        { "\"slot\": 1", "\"slot\": 0", "ranges overlap" },
        { "\"slot\": 1", "\"slot\": 99", "slot or port offset out of range" },
        { "\"id\": \"cap-2\"", "\"id\": \"cap-1\"", "duplicate id" },
        { "\"id\": \"cap-2\"", "\"id\": \"bad id\"", "malformed entry" },
        { "\"pair\": \"as-1\"", "\"pair\": \"nobody\"", "paired intercept \"nobody\" not active" },
        { "\"block_bits\": 1", "\"block_bits\": 40", "layout: malformed" },
        { "\"pool\": \"10.250.0.0/16\"", "\"pool\": \"10.251.0.0/16\"", "pool differs" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *bad = replace(doc, cases[i].from, cases[i].to);
        expect_bad(bad, cases[i].want);
        free(bad);
    }
    free(doc);
    rd_table_fini(&t);
    rd_plan_free(p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_and_files),
        cmocka_unit_test(corrupt_documents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
