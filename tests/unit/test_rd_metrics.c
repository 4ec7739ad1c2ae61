/* test_rd_metrics.c -- the Prometheus page: every line well formed, one
 * HELP/TYPE per family and families contiguous, gauges vs counters, name
 * sanitising, label escaping, totals equal to the status totals; then the
 * HTTP side for real (libmicrohttpd thread + uv loop): a stale page is
 * refreshed on scrape, a fresh one is not re-rendered, 404/405, a port in
 * use is a clear error, and stop joins cleanly. */
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
#include <unistd.h>

#include <cmocka.h>

#include "rd_metrics.h"

static const char *PLAN =
    "{\"name\":\"m\",\"transfers\":[\"80-10.0.2.10:80\"],\"client_pool\":\"10.250.0.0/16\","
    "\"copy_agents\":[\"cap-1\",\"cap-2\"],\"intercepts\":[\"as-1\"],\"copies\":2}";

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
                                      "odd.name", "generation" };
    uint64_t v1[] = { 100, 200, 3, 1, 7, 1 }, v2[] = { 1000, 2000, 5, 1, 8, 1 };
    put(c, c1, 1500, cn, v1, 6);
    put(c, c2, 1500, cn, v2, 6);
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
        if (strncmp(line, "# HELP ", 7) == 0)
            continue;
        if (strncmp(line, "# TYPE ", 7) == 0) {
            char fam[96], type[16];
            assert_int_equal(sscanf(line + 7, "%95s %15s", fam, type), 2);
            assert_true(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0);
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
    assert_true(sample(page, "replayfleet_replayed_pkts{agent=\"cap-1\",role=\"copy\"}") == 200);
    assert_true(sample(page, "replayfleet_replayed_pkts{agent=\"cap-2\",role=\"copy\"}") == 2000);
    assert_true(sample(page, "replayfleet_total_replayed_pkts") == 2200);
    assert_true(sample(page, "replayfleet_cap_pkts{agent=\"as-1\",role=\"intercept\"}") == 50);
    assert_true(sample(page, "replayfleet_total_cap_pkts") == 1150);
    assert_true(sample(page, "replayfleet_odd_name{agent=\"cap-1\",role=\"copy\"}") == 7);
    assert_true(sample(page, "replayfleet_agent_up{agent=\"cap-2\",role=\"copy\"}") == 0);
    assert_true(sample(page, "replayfleet_agent_up{agent=\"cap-1\",role=\"copy\"}") == 1);
    assert_true(sample(page, "replayfleet_agent_last_seen_seconds{agent=\"cap-1\",role=\"copy\"}") ==
                2.0);
    assert_true(sample(page, "replayfleet_generation") == 1);
    assert_true(sample(page, "replayfleet_requested_copies") == 2);
    assert_true(sample(page, "replayfleet_agents{role=\"copy\",state=\"down\"}") == 1);
    assert_true(sample(page, "replayfleet_applies{agent=\"replayd\",role=\"controller\"}") == 1);
    assert_non_null(strstr(page, "# TYPE replayfleet_sess_active gauge\n"));
    assert_non_null(strstr(page, "# TYPE replayfleet_icpt_up gauge\n"));
    assert_non_null(strstr(page, "# TYPE replayfleet_copy_conns gauge\n"));
    assert_non_null(strstr(page, "# TYPE replayfleet_replayed_pkts counter\n"));
    /* the free-text host is escaped */
    assert_non_null(strstr(page, "host=\"cap\\\"host\\\\1\\nx\""));

    /* totals agree with what `replayctl status --json` shows */
    Rfpb__StatusReply *st = rd_admin_status(c, 3000, 0);
    assert_non_null(st);
    for (size_t i = 0; i < st->n_totals; i++) {
        char m[128], series[160];
        assert_int_equal(rd_metrics_sanitize(st->totals[i]->name, m, sizeof(m)), 0);
        snprintf(series, sizeof(series), "replayfleet_total_%s", m);
        if (strcmp(m, "generation") == 0)
            continue;   /* an agent counter replayd does not export (reserved) */
        if (sample(page, series) != (double)st->totals[i]->value)
            fail_msg("%s: metrics %.0f status %llu", series, sample(page, series),
                     (unsigned long long)st->totals[i]->value);
    }
    rd_admin_status_free(st);
    /* the summary status keeps the table's counters only, totals complete */
    st = rd_admin_status(c, 3000, 1);
    for (size_t i = 0; i < st->n_agents; i++)
        for (size_t k = 0; k < st->agents[i]->n_counters && st->agents[i]->role != 0; k++)
            assert_true(strcmp(st->agents[i]->counters[k]->name, "odd.name") != 0);
    int has_odd = 0;
    for (size_t i = 0; i < st->n_totals; i++)
        has_odd |= strcmp(st->totals[i]->name, "odd.name") == 0;
    assert_true(has_odd);
    rd_admin_status_free(st);
    free(page);
    free_ctx(c);
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
    assert_true(rd_metrics_is_gauge("sess_active"));
    assert_true(rd_metrics_is_gauge("parked_now"));
    assert_true(rd_metrics_is_gauge("ctl_up"));
    assert_true(rd_metrics_is_gauge("generation"));
    assert_false(rd_metrics_is_gauge("replayed_pkts"));
    assert_false(rd_metrics_is_gauge("up_count"));
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
    uint16_t port = (uint16_t)(43000 + getpid() % 20000);
    if (rd_metrics_start(&s.m, &loop, "127.0.0.1", port, refresh, &s, &err) != 0)
        fail_msg("%s", err.msg);
    http_t *h = calloc(1, sizeof(*h));
    h->port = port;
    h->req = "GET /metrics HTTP/1.0\r\n\r\n";
    run_get(&loop, h);   /* no page yet: the scrape wakes the loop, which renders */
    print_message("first scrape: %.200s\n", h->resp);
    assert_int_equal(s.renders, 1);
    assert_non_null(strstr(h->resp, " 200 OK"));
    assert_non_null(strstr(h->resp, "text/plain; version=0.0.4"));
    assert_non_null(strstr(h->resp, "replayfleet_total_replayed_pkts 2200\n"));
    assert_int_equal(rd_metrics_scrapes(s.m), 1);
    memset(h, 0, sizeof(*h));
    h->port = port;
    h->req = "GET /metrics HTTP/1.0\r\n\r\n";
    run_get(&loop, h);   /* fresh page: served as is */
    assert_int_equal(s.renders, 1);
    assert_non_null(strstr(h->resp, " 200 OK"));
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
        cmocka_unit_test(render_page),
        cmocka_unit_test(http_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
