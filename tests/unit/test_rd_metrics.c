/* test_rd_metrics.c -- the Prometheus page: every line well formed, one
 * HELP/TYPE per family and families contiguous, names per the naming guide
 * (counters end in _total, gauges do not), types and help from the counter
 * tables, label escaping, no fleet-total family, build_info and process_*;
 * then the
 * HTTP side for real (libmicrohttpd thread + uv loop): a stale page is
 * refreshed on scrape, a fresh one is not re-rendered, gzip when asked,
 * 404/405, a port in use is a clear error, and stop joins cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "rd_admin.h"
#include "rd_metrics.h"

static const char *PLAN =
    "{\"name\":\"m\",\"transfers\":[\"80-10.0.2.10:80\"],\"client_pool\":\"10.250.0.0/16\","
    "\"copy_agents\":[\"cap-1\",\"cap-2\"],\"intercepts\":[\"as-1\"],\"copies\":2,"
    "\"target_groups\":[{\"name\":\"v1\"},{\"name\":\"v2\",\"target\":\"10.0.2.20\"}]}";

static char dir[64];

static rd_agent_t *
hello(rd_ctx_t *c, const char *id, int role, const char *host)
{
    Rfpb__Hello h = RFPB__HELLO__INIT;
    h.id = (char *)id;
    h.role = (Rfpb__Role)role;
    h.host = (char *)host;
    h.advertise = (char *)"10.0.0.1";
    rd_agent_t *a = NULL;
    rf_errbuf_t err;
    if (rd_admin_hello(&a, c, &h, "127.0.0.1", &err) != 0)
        fail_msg("%s", err.msg);
    rd_agent_up(a, (void *)1, 1000);
    a->last_seen_ms = 1000;
    return a;
}

static void
put(rd_ctx_t *c, rd_agent_t *a, uint64_t now, const char *const *names, const uint64_t *vals,
    size_t n)
{
    uint64_t dt;
    rd_stats_begin(&a->stats, now, &dt);
    for (size_t i = 0; i < n; i++)
        rd_stats_put(&a->stats, &c->names, (unsigned)i, names[i], vals[i], dt);
    rd_stats_end(&a->stats, now);
}

static rd_ctx_t *
make_ctx(void)
{
    rd_ctx_t *c = calloc(1, sizeof(*c));
    snprintf(dir, sizeof(dir), "/tmp/rd_metrics_XXXXXX");
    assert_non_null(mkdtemp(dir));
    rf_errbuf_t err;
    assert_int_equal(rd_ctx_init(c, dir, &err), 0);
    rd_agent_t *c1 = hello(c, "cap-1", RD_ROLE_COPY, "cap\"host\\1\nx");
    rd_agent_t *c2 = hello(c, "cap-2", RD_ROLE_COPY, "h2");
    rd_agent_t *i1 = hello(c, "as-1", RD_ROLE_ICPT, "h3");
    rd_apply_result_t res;
    assert_int_equal(rd_admin_apply(c, &res, PLAN, strlen(PLAN), 0), 0);
    rd_apply_result_fini(&res);
    /* "generation" is what replay-copy really sends: it must not make a
     * second replayfleet_generation family */
    static const char *const cn[] = { "cap_pkts", "replayed_pkts", "sess_active", "icpt_up",
                                      "odd.name", "generation", "tg0_sess_opened",
                                      "tg1_sess_opened", "tg1_sess_shed" };
    uint64_t v1[] = { 100, 200, 3, 1, 7, 1, 40, 41, 1 }, v2[] = { 1000, 2000, 5, 1, 8, 1, 50, 51, 0 };
    put(c, c1, 1500, cn, v1, 9);
    put(c, c2, 1500, cn, v2, 9);
    static const char *const in[] = { "cap_pkts", "resp_forwarded", "parked_now", "copy_conns" };
    uint64_t v3[] = { 50, 40, 2, 2 };
    put(c, i1, 1500, in, v3, 4);
    rd_agent_down(c2, "heartbeat timeout", 1800);   /* down agents still count in totals */
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

/* value of the first sample line starting with `series` (exact up to the
 * space before the value); -1 if absent */
static double
sample(const char *page, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = page; p && *p;) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}

static int
name_ok(const char *s, size_t n)
{
    if (n == 0 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

/* Exposition-format checks: every sample's family was declared by TYPE
 * right before its block; no family declared twice. */
static void
check_format(const char *page)
{
    char *copy = strdup(page);
    char declared[512][96];
    size_t nd = 0;
    char current[96] = "";
    for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "# HELP ", 7) == 0) {
            /* help says something, and not the old "Counter ..." filler */
            const char *h = strchr(line + 7, ' ');
            assert_non_null(h);
            assert_true(strlen(h + 1) > 10);
            assert_true(strncmp(h + 1, "Counter ", 8) != 0);
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
            char fam[96], type[16];
            assert_int_equal(sscanf(line + 7, "%95s %15s", fam, type), 2);
            size_t fl = strlen(fam);
            int total = fl > 6 && strcmp(fam + fl - 6, "_total") == 0;
            if (strcmp(type, "counter") == 0)
                assert_true(total);
            else if (strcmp(type, "gauge") == 0 || strcmp(type, "untyped") == 0)
                assert_false(total);
            else
                fail_msg("type %s", type);
            assert_true(strncmp(fam, "replayfleet_total_", 18) != 0);
            for (size_t i = 0; i < nd; i++)
                if (strcmp(declared[i], fam) == 0)
                    fail_msg("family %s declared twice", fam);
            assert_true(nd < 512);
            snprintf(declared[nd++], sizeof(declared[0]), "%s", fam);
            snprintf(current, sizeof(current), "%s", fam);
            continue;
        }
        assert_true(line[0] != '#');
        size_t n = strcspn(line, "{ ");
        if (!name_ok(line, n))
            fail_msg("bad metric name in \"%s\"", line);
        if (strlen(current) != n || strncmp(line, current, n) != 0)
            fail_msg("sample \"%s\" outside its family block (%s)", line, current);
        const char *v = strrchr(line, ' ');
        assert_non_null(v);
        char *end;
        (void)strtod(v + 1, &end);
        assert_true(*end == '\0');
        if (line[n] == '{') {
            const char *close = strrchr(line, '}');
            assert_non_null(close);
            assert_true(close + 1 == v);
        }
    }
    free(copy);
}

static void
render_page(void **state)
{
    (void)state;
    rd_ctx_t *c = make_ctx();
    char *page;
    size_t len;
    assert_int_equal(rd_metrics_render(&page, &len, c, 3000), 0);
    assert_int_equal(strlen(page), len);
    check_format(page);
    /* for `promtool check metrics` (tests/prometheus/check.sh) */
    const char *dump = getenv("RD_METRICS_DUMP");
    if (dump != NULL) {
        FILE *df = fopen(dump, "w");
        assert_non_null(df);
        assert_int_equal(fwrite(page, 1, len, df), len);
        assert_int_equal(fclose(df), 0);
    }
    /* role in the name, agent label, base units, _total */
    assert_true(sample(page, "replayfleet_copy_replayed_packets_total{agent=\"cap-1\"}") == 200);
    assert_true(sample(page, "replayfleet_copy_replayed_packets_total{agent=\"cap-2\"}") == 2000);
    assert_true(sample(page, "replayfleet_copy_captured_packets_total{agent=\"cap-2\"}") == 1000);
    assert_true(sample(page, "replayfleet_intercept_captured_packets_total{agent=\"as-1\"}") == 50);
    assert_true(sample(page, "replayfleet_intercept_responses_forwarded_total{agent=\"as-1\"}") ==
                40);
    /* a copy counter never lands in an intercept family and vice versa */
    assert_true(sample(page, "replayfleet_intercept_captured_packets_total{agent=\"cap-1\"}") == -1);
    assert_true(sample(page, "replayfleet_copy_responses_forwarded_total{agent=\"as-1\"}") == -1);
    /* a name this build does not declare: untyped, under its own name */
    assert_true(sample(page, "replayfleet_copy_odd_name{agent=\"cap-1\"}") == 7);
    assert_non_null(strstr(page, "# TYPE replayfleet_copy_odd_name untyped\n"));
    /* types from the tables */
    assert_non_null(strstr(page, "# TYPE replayfleet_copy_sessions_active gauge\n"));
    assert_non_null(strstr(page, "# TYPE replayfleet_copy_intercepts_connected gauge\n"));
    assert_non_null(strstr(page, "# TYPE replayfleet_copy_assignment_generation gauge\n"));
    assert_non_null(strstr(page, "# TYPE replayfleet_intercept_copy_connections gauge\n"));
    assert_non_null(strstr(page, "# TYPE replayfleet_intercept_responses_parked gauge\n"));
    assert_non_null(strstr(page, "# TYPE replayfleet_copy_replayed_packets_total counter\n"));
    assert_non_null(strstr(page, "# HELP replayfleet_copy_replayed_packets_total Packets sent to "
                                 "the target"));
    /* target groups: the copy agents' tgN_* counters under one family per
     * counter, labelled with the plan's group name; never untyped */
    assert_true(sample(page, "replayfleet_target_group_sessions_opened_total{agent=\"cap-1\","
                             "group=\"v1\"}") == 40);
    assert_true(sample(page, "replayfleet_target_group_sessions_opened_total{agent=\"cap-2\","
                             "group=\"v2\"}") == 51);
    assert_true(sample(page, "replayfleet_target_group_sessions_shed_total{agent=\"cap-1\","
                             "group=\"v2\"}") == 1);
    assert_non_null(strstr(page, "# TYPE replayfleet_target_group_sessions_opened_total counter\n"));
    assert_null(strstr(page, "replayfleet_copy_tg"));
    /* no duplicate fleet-total family: sum() does that */
    assert_null(strstr(page, "replayfleet_total_"));
    assert_true(sample(page, "replayfleet_agent_up{agent=\"cap-2\",role=\"copy\"}") == 0);
    assert_true(sample(page, "replayfleet_agent_up{agent=\"cap-1\",role=\"copy\"}") == 1);
    /* a time, not an age: last seen 2 s before "now" (3000 vs 1000 ms) */
    double ts = sample(page, "replayfleet_agent_last_seen_timestamp_seconds{agent=\"cap-1\","
                             "role=\"copy\"}");
    double wall = (double)time(NULL);
    assert_true(ts > wall - 60 && ts < wall);
    assert_null(strstr(page, "last_seen_seconds"));
    assert_true(sample(page, "replayfleet_plan_generation") == 1);
    assert_true(sample(page, "replayfleet_plan_copies") == 2);
    assert_true(sample(page, "replayfleet_agents{role=\"copy\",state=\"down\"}") == 1);
    assert_true(sample(page, "replayfleet_agent_acked_generation{agent=\"cap-1\",role=\"copy\"}") ==
                0);
    assert_true(sample(page, "replayfleet_controller_plan_applies_total") == 1);
    assert_non_null(strstr(page, "replayfleet_build_info{version=\""));
    /* process_* of replayd (this test process) */
    assert_true(sample(page, "process_open_fds") >= 3);
    assert_true(sample(page, "process_resident_memory_bytes") > 1e5);
    assert_true(sample(page, "process_start_time_seconds") > wall - 86400 * 365);
    assert_true(sample(page, "process_start_time_seconds") <= wall + 1);
    assert_true(sample(page, "process_cpu_seconds_total") >= 0);
    /* the free-text host is escaped */
    assert_non_null(strstr(page, "host=\"cap\\\"host\\\\1\\nx\""));
    free(page);
    free_ctx(c);
}

/* Every row of the counter tables follows the naming guide; wire names
 * and Prometheus names are unique within a role. */
static void
tables_by_the_book(void **state)
{
    (void)state;
    const int roles[] = { RD_ROLE_COPY, RD_ROLE_ICPT, -1 };
    for (int ri = 0; ri < 3; ri++) {
        size_t n;
        const rf_counter_def_t *t =
            roles[ri] < 0 ? (n = rd_self_ndefs, rd_self_defs) : rd_stats_table(roles[ri], &n);
        assert_non_null(t);
        assert_true(n > 10);
        for (size_t i = 0; i < n; i++) {
            size_t pl = strlen(t[i].prom);
            assert_true(name_ok(t[i].prom, pl));
            int total = pl > 6 && strcmp(t[i].prom + pl - 6, "_total") == 0;
            if ((t[i].kind == RF_KIND_COUNTER) != total)
                fail_msg("%s -> %s: counters and only counters end in _total", t[i].name,
                         t[i].prom);
            assert_null(strstr(t[i].prom, "pkts"));
            assert_true(strlen(t[i].help) > 10);
            assert_true(t[i].help[strlen(t[i].help) - 1] == '.');
            for (size_t j = 0; j < i; j++) {
                assert_true(strcmp(t[i].name, t[j].name) != 0);
                assert_true(strcmp(t[i].prom, t[j].prom) != 0);
            }
            if (roles[ri] > 0)
                assert_ptr_equal(rd_stats_meta(roles[ri], t[i].name), &t[i]);
        }
    }
    assert_null(rd_stats_meta(RD_ROLE_COPY, "no_such_counter"));
    assert_null(rd_stats_meta(RD_ROLE_COPY, "resp_forwarded"));   /* an intercept name */
    assert_int_equal(rd_stats_meta(RD_ROLE_COPY, "sess_active")->kind, RF_KIND_GAUGE);
    assert_int_equal(rd_stats_meta(RD_ROLE_ICPT, "resp_forwarded")->kind, RF_KIND_COUNTER);
}

static void
names_and_kinds(void **state)
{
    (void)state;
    char b[16];
    assert_int_equal(rd_metrics_sanitize("a.b-c", b, sizeof(b)), 0);
    assert_string_equal(b, "a_b_c");
    assert_int_equal(rd_metrics_sanitize("", b, sizeof(b)), -1);
    assert_int_equal(rd_metrics_sanitize("0123456789abcdefg", b, sizeof(b)), -1);
}

/* ---- HTTP -------------------------------------------------------------- */

typedef struct {
    uint16_t    port;
    const char *req;
    char        resp[1 << 16];
    size_t      len;
    atomic_int  done;
} http_t;

static void *
http_get(void *arg)
{
    http_t *h = arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(h->port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        write(fd, h->req, strlen(h->req)) == (ssize_t)strlen(h->req)) {
        ssize_t n;
        while (h->len < sizeof(h->resp) - 1 &&
               (n = read(fd, h->resp + h->len, sizeof(h->resp) - 1 - h->len)) > 0)
            h->len += (size_t)n;
    }
    h->resp[h->len] = '\0';
    close(fd);
    atomic_store(&h->done, 1);
    return NULL;
}

typedef struct {
    rd_metrics_t *m;
    rd_ctx_t     *c;
    int           renders;
} srv_t;

static void
refresh(void *arg)
{
    srv_t *s = arg;
    char *page;
    size_t len;
    s->renders++;
    assert_int_equal(rd_metrics_render(&page, &len, s->c, 3000), 0);
    rd_metrics_publish(s->m, page, len, 3000);
}

static http_t *poll_h;
static void
on_poll(uv_timer_t *t)
{
    if (atomic_load(&poll_h->done))
        uv_stop(t->loop);
}

static void
run_get(uv_loop_t *loop, http_t *h)
{
    pthread_t th;
    uv_timer_t t;
    poll_h = h;
    uv_timer_init(loop, &t);
    uv_timer_start(&t, on_poll, 10, 10);
    assert_int_equal(pthread_create(&th, NULL, http_get, h), 0);
    uv_run(loop, UV_RUN_DEFAULT);
    pthread_join(th, NULL);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

static void
http_server(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    srv_t s = { 0 };
    s.c = make_ctx();
    rf_errbuf_t err;
    /* A port another process (or an ephemeral connection) holds is not a
     * failure of ours: try the next few. */
    uint16_t port = 0;
    int rc = -1;
    for (int tries = 0; tries < 20 && rc != 0; tries++) {
        port = (uint16_t)(43000 + (getpid() + tries * 997) % 20000);
        rc = rd_metrics_start(&s.m, &loop, "127.0.0.1", port, refresh, &s, &err);
    }
    if (rc != 0)
        fail_msg("%s", err.msg);
    http_t *h = calloc(1, sizeof(*h));
    h->port = port;
    h->req = "GET /metrics HTTP/1.0\r\n\r\n";
    run_get(&loop, h);   /* no page yet: the scrape wakes the loop, which renders */
    print_message("first scrape: %.200s\n", h->resp);
    assert_int_equal(s.renders, 1);
    assert_non_null(strstr(h->resp, " 200 OK"));
    assert_non_null(strstr(h->resp, "text/plain; version=0.0.4"));
    assert_non_null(strstr(h->resp, "replayfleet_copy_replayed_packets_total{agent=\"cap-2\"} 2000\n"));
    assert_null(strstr(h->resp, "Content-Encoding"));
    assert_int_equal(rd_metrics_scrapes(s.m), 1);
    memset(h, 0, sizeof(*h));
    h->port = port;
    h->req = "GET /metrics HTTP/1.0\r\n\r\n";
    run_get(&loop, h);   /* fresh page: served as is */
    assert_int_equal(s.renders, 1);
    assert_non_null(strstr(h->resp, " 200 OK"));
    /* gzip when asked: the body inflates to the same page */
    memset(h, 0, sizeof(*h));
    h->port = port;
    h->req = "GET /metrics HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n";
    run_get(&loop, h);
    assert_non_null(strstr(h->resp, " 200 OK"));
    assert_non_null(strstr(h->resp, "Content-Encoding: gzip"));
    const char *body = strstr(h->resp, "\r\n\r\n");
    assert_non_null(body);
    body += 4;
    static char plain[1 << 18];
    z_stream z;
    memset(&z, 0, sizeof(z));
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)(uintptr_t)body;
    z.avail_in = (uInt)(h->len - (size_t)(body - h->resp));
    z.next_out = (Bytef *)plain;
    z.avail_out = sizeof(plain) - 1;
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    plain[z.total_out] = '\0';
    inflateEnd(&z);
    assert_non_null(strstr(plain, "replayfleet_copy_replayed_packets_total{agent=\"cap-2\"} 2000\n"));
    assert_true(z.avail_in == 0);
    /* q=0 means no */
    memset(h, 0, sizeof(*h));
    h->port = port;
    h->req = "GET /metrics HTTP/1.0\r\nAccept-Encoding: gzip;q=0, identity\r\n\r\n";
    run_get(&loop, h);
    assert_null(strstr(h->resp, "Content-Encoding"));
    memset(h, 0, sizeof(*h));
    h->port = port;
    h->req = "GET /nope HTTP/1.0\r\n\r\n";
    run_get(&loop, h);
    assert_non_null(strstr(h->resp, " 404 "));
    memset(h, 0, sizeof(*h));
    h->port = port;
    h->req = "DELETE /metrics HTTP/1.0\r\n\r\n";
    run_get(&loop, h);
    assert_non_null(strstr(h->resp, " 405 "));
    /* the port is taken: a clear error */
    rd_metrics_t *m2 = NULL;
    assert_true(rd_metrics_start(&m2, &loop, "127.0.0.1", port, refresh, &s, &err) < 0);
    assert_non_null(strstr(err.msg, "in use"));
    rd_metrics_stop(s.m);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    free(h);
    free_ctx(s.c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_and_kinds),
        cmocka_unit_test(tables_by_the_book),
        cmocka_unit_test(render_page),
        cmocka_unit_test(http_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
