/* bench_controller.c -- control-plane bench: spawn replayd, simulate N
 * agents over loopback in one libuv process speaking the agent protocol
 * (Hello, Ack every Assignment, Stats + Heartbeat every second), then
 * measure: time to register all, apply -> all acknowledged, status round
 * trip with everyone reporting, replayd CPU% and RSS at steady state.
 * Every phase has a deadline; the whole run is bounded (--deadline). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "rf_conn.h"
#include "rf_envelope.h"
#include "rf_handshake.h"

#ifndef RD_BENCH_REPLAYD
#define RD_BENCH_REPLAYD "replayd"
#endif

#define NCOUNTERS 30

typedef struct {
    rf_conn_t *conn;
    int        idx, role, welcomed;
    uint64_t   gen;           /* last Assignment generation (acked) */
    uint64_t   ctr[NCOUNTERS];
} sim_t;

static struct {
    uv_loop_t *loop;
    sim_t     *sims;
    int        n, nicpt, port;
    int        registered, closed_early;
    uint64_t   target_gen;
    int        acked;
    rf_conn_t *admin;
    int        admin_ready;
    Rfpb__Envelope__MsgCase admin_want;
    int        admin_got;
    uint64_t   admin_gen;
    size_t     last_reply_bytes;
    uv_timer_t stats_timer;
    unsigned   stats_cursor;
    uint64_t   stats_sent;
} B;

static const char *cnames[NCOUNTERS] = {
    "cap_pkts", "cap_bytes", "kernel_drops", "bad_pkts", "no_rule", "sampled_out",
    "midstream_pkts", "shed_pkts", "pure_acks", "client_dups", "accepted_pkts",
    "replayed_pkts", "replayed_bytes", "send_errors", "sess_active", "sess_opened",
    "sess_completed", "sess_timedout", "sess_reset", "sess_skipped_midstream", "sess_shed",
    "port_collisions", "retransmits", "syn_retransmits", "resp_received", "resp_unmatched",
    "icpt_up", "resp_forwarded", "resp_unroutable", "batches_sent",
};

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run the loop until *flag or the deadline (seconds). 0 ok, -1 timeout. */
static int
run_until(const int *flag, double secs)
{
    double end = now_s() + secs;
    while (!*flag) {
        if (now_s() > end)
            return -1;
        uv_run(B.loop, UV_RUN_ONCE);
    }
    return 0;
}

static void
send_hello(rf_conn_t *c, Rfpb__Role role, const char *id, const Rfpb__Challenge *ch)
{
    Rfpb__Hello h = RFPB__HELLO__INIT;
    (void)ch;
    h.role = role;
    h.id = (char *)id;
    h.host = (char *)"bench";
    h.software = (char *)"bench_controller";
    if (role == RFPB__ROLE__ROLE_INTERCEPT) {
        h.advertise = (char *)"127.0.0.1";
        h.listen_port = 36524;
    }
    rf_hs_answer(&h);
    Rfpb__Envelope env = RFPB__ENVELOPE__INIT;
    env.msg_case = RFPB__ENVELOPE__MSG_HELLO;
    env.hello = &h;
    (void)rf_conn_send(c, &env);
}

static void
sim_msg(rf_conn_t *c, const Rfpb__Envelope *env)
{
    sim_t *s = rf_conn_data(c);
    switch (env->msg_case) {
    case RFPB__ENVELOPE__MSG_CHALLENGE: {
        char id[32];
        snprintf(id, sizeof(id), "%s-%04d", s->role == RFPB__ROLE__ROLE_COPY ? "cap" : "as",
                 s->idx);
        send_hello(c, (Rfpb__Role)s->role, id, env->challenge);
        break;
    }
    case RFPB__ENVELOPE__MSG_WELCOME: s->welcomed = 1; break;
    case RFPB__ENVELOPE__MSG_ASSIGNMENT: {
        int first = s->gen == 0 && !s->ctr[0];
        s->gen = env->assignment->generation;
        s->ctr[0] = 1;   /* marks "got a first assignment" */
        Rfpb__Ack a = RFPB__ACK__INIT;
        a.generation = s->gen;
        a.ok = 1;
        Rfpb__Envelope out = RFPB__ENVELOPE__INIT;
        out.msg_case = RFPB__ENVELOPE__MSG_ACK;
        out.ack = &a;
        (void)rf_conn_send(c, &out);
        if (first)
            B.registered++;
        if (B.target_gen && s->gen >= B.target_gen)
            B.acked++;
        break;
    }
    default: break;
    }
}

static void
sim_close(rf_conn_t *c, const char *reason)
{
    sim_t *s = rf_conn_data(c);
    if (s) {
        s->conn = NULL;
        B.closed_early++;
        if (B.closed_early <= 3)
            fprintf(stderr, "bench: agent %d closed: %s\n", s->idx, reason);
    }
}

static const rf_conn_ops_t sim_ops = { NULL, sim_msg, sim_close };

static void
admin_msg(rf_conn_t *c, const Rfpb__Envelope *env)
{
    (void)c;
    if (env->msg_case == RFPB__ENVELOPE__MSG_CHALLENGE) {
        send_hello(c, RFPB__ROLE__ROLE_ADMIN, "", env->challenge);
        return;
    }
    if (env->msg_case == RFPB__ENVELOPE__MSG_WELCOME) {
        B.admin_ready = 1;
        return;
    }
    if (env->msg_case == B.admin_want) {
        B.last_reply_bytes = rfpb__envelope__get_packed_size(env);
        if (env->msg_case == RFPB__ENVELOPE__MSG_APPLY_REPLY) {
            if (!env->apply_reply->ok)
                fprintf(stderr, "bench: apply rejected: %s\n", env->apply_reply->error);
            B.admin_gen = env->apply_reply->generation;
        }
        B.admin_got = 1;
    }
}

static void
admin_close(rf_conn_t *c, const char *reason)
{
    if (c == B.admin) {
        if (B.admin_ready)
            fprintf(stderr, "bench: admin connection closed: %s\n", reason);
        B.admin = NULL;
    }
}

static const rf_conn_ops_t admin_ops = { NULL, admin_msg, admin_close };

/* Stats every second per agent, spread over 10 ms slices. */
static void
on_stats(uv_timer_t *t)
{
    (void)t;
    unsigned per = (unsigned)(B.n / 100) + 1;
    Rfpb__Counter store[NCOUNTERS], *ptrs[NCOUNTERS];
    for (unsigned k = 0; k < per; k++) {
        sim_t *s = &B.sims[B.stats_cursor++ % (unsigned)B.n];
        if (s->conn == NULL || !s->welcomed)
            continue;
        for (int i = 0; i < NCOUNTERS; i++) {
            s->ctr[i] += (uint64_t)(i + 1) * 100;
            rfpb__counter__init(&store[i]);
            store[i].name = (char *)cnames[i];
            store[i].value = s->ctr[i];
            ptrs[i] = &store[i];
        }
        Rfpb__Stats st = RFPB__STATS__INIT;
        st.generation = s->gen;
        st.n_counters = NCOUNTERS;
        st.counters = ptrs;
        Rfpb__Envelope env = RFPB__ENVELOPE__INIT;
        env.msg_case = RFPB__ENVELOPE__MSG_STATS;
        env.stats = &st;
        (void)rf_conn_send(s->conn, &env);
        Rfpb__Heartbeat hb = RFPB__HEARTBEAT__INIT;
        hb.mono_ms = uv_now(B.loop);
        env.msg_case = RFPB__ENVELOPE__MSG_HEARTBEAT;
        env.heartbeat = &hb;
        (void)rf_conn_send(s->conn, &env);
        B.stats_sent++;
    }
}

static void
on_wake(uv_timer_t *t)
{
    (void)t;
}

static int
admin_call(Rfpb__Envelope *req, Rfpb__Envelope__MsgCase want, double *secs)
{
    B.admin_got = 0;
    B.admin_want = want;
    double t0 = now_s();
    if (B.admin == NULL || rf_conn_send(B.admin, req) != 0)
        return -1;
    int r = run_until(&B.admin_got, 10);
    *secs = now_s() - t0;
    return r;
}

static int
proc_sample(pid_t pid, double *cpu_s, long *rss_kb, long *hwm_kb)
{
    char path[64], buf[2048];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
                            &st) != 2)
        return -1;
    *cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    fp = fopen(path, "r");
    if (fp == NULL)
        return -1;
    while (fgets(buf, sizeof(buf), fp)) {
        sscanf(buf, "VmRSS: %ld", rss_kb);
        sscanf(buf, "VmHWM: %ld", hwm_kb);
    }
    fclose(fp);
    return 0;
}

/* Blocking GET /metrics on 127.0.0.1:port; bytes received (0 on error).
 * Blocks the agents' loop for its duration: fine at one per second. */
static size_t
http_get_bytes(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = { 5, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    static const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
    size_t total = 0;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        write(fd, req, sizeof(req) - 1) == (ssize_t)(sizeof(req) - 1)) {
        char buf[65536];
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0)
            total += (size_t)n;
    }
    close(fd);
    return total;
}

static int
cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The command line (defaults: 1000 agents, 8 intercepts, 5 s windows). */
typedef struct {
    const char *replayd;
    int         n, nicpt, steady, port, keep;
} bench_args_t;

/* What one run measured: the rows of the table. */
typedef struct {
    double t_reg, t_reply, t_apply;
    size_t apply_diff_bytes, status_bytes, summary_bytes, page_bytes;
    double lat[64], slat[64], mlat[64];
    int    nlat, nslat, nm;
    double cpu_status, cpu_quiet, cpu_scrape;   /* replayd's CPU, percent */
    long   rss, hwm;
} bench_res_t;

/* 0, or the exit status (2: usage). */
static int
parse_args(bench_args_t *a, int argc, char **argv)
{
    a->replayd = getenv("RF_REPLAYD") ? getenv("RF_REPLAYD") : RD_BENCH_REPLAYD;
    a->n = 1000;
    a->nicpt = 8;
    a->steady = 5;
    a->port = 0;
    a->keep = 0;
    static const struct option opts[] = {
        { "replayd", required_argument, NULL, 'r' }, { "agents", required_argument, NULL, 'n' },
        { "intercepts", required_argument, NULL, 'i' }, { "steady", required_argument, NULL, 's' },
        { "port", required_argument, NULL, 'p' },      { "keep-running", no_argument, NULL, 'k' },
        { NULL, 0, NULL, 0 },
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "r:n:i:s:p:k", opts, NULL)) != -1) {
        switch (ch) {
        case 'r': a->replayd = optarg; break;
        case 'n': a->n = atoi(optarg); break;
        case 'i': a->nicpt = atoi(optarg); break;
        case 's': a->steady = atoi(optarg); break;
        case 'p': a->port = atoi(optarg); break;
        case 'k': a->keep = 1; break;
        default:
            fprintf(stderr, "usage: bench_controller [--replayd PATH] [--agents N] "
                            "[--intercepts K] [--steady S] [--port P]\n");
            return 2;
        }
    }
    if (a->n < 2 || a->n > 4000 || a->nicpt < 1 || a->nicpt >= a->n || a->steady < 1 ||
        a->steady > 60) {
        fprintf(stderr, "bench: agents 2..4000, intercepts 1..agents-1, steady 1..60\n");
        return 2;
    }
    if (a->port == 0)
        a->port = 40000 + (int)(getpid() % 20000);
    return 0;
}

/* One fd per simulated agent: 0, or 77 (skip) when the limit is too low. */
static int
raise_fd_limit(int n)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t)n + 64) {
            fprintf(stderr, "bench: need %d fds, limit is %llu: skipped\n", n + 64,
                    (unsigned long long)rl.rlim_cur);
            return 77;
        }
    }
    return 0;
}

/* replayd on 127.0.0.1:port (metrics on port + 1), state in dir. */
static pid_t
spawn_replayd(const char *replayd, const char *dir, const char *listen, const char *mlisten,
              const char *logf)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl(replayd, replayd, "--listen", listen, "--state-dir", dir, "--log-level", getenv("RF_BENCH_LOGLEVEL") ? getenv("RF_BENCH_LOGLEVEL") : "warn",
              "--log-file", logf, "--metrics", mlisten, (char *)NULL);
        perror(replayd);
        _exit(127);
    }
    return pid;
}

/* Wait for the listener (bounded): 1 when the admin channel is up. */
static int
wait_listener(int port)
{
    int up = 0;
    for (int tries = 0; tries < 100 && !up; tries++) {
        usleep(50000);
        rf_conn_t *c = rf_conn_new(B.loop, &admin_ops, NULL, 0, 0);
        B.admin = c;
        B.admin_ready = 0;
        if (rf_conn_connect(c, "127.0.0.1", (uint16_t)port) != 0) {
            rf_conn_close(c, "x");
            continue;
        }
        (void)run_until(&B.admin_ready, 0.5);
        up = B.admin_ready && B.admin != NULL;
        if (!up && B.admin)
            rf_conn_close(B.admin, "retry");
        uv_run(B.loop, UV_RUN_NOWAIT);
    }
    return up;
}

/* Phase 1: register everyone. 0, or -1 (said why). */
static int
phase_register(int n, int nicpt, int port, bench_res_t *r)
{
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        sim_t *s = &B.sims[i];
        s->idx = i;
        s->role = i < nicpt ? RFPB__ROLE__ROLE_INTERCEPT : RFPB__ROLE__ROLE_COPY;
        s->conn = rf_conn_new(B.loop, &sim_ops, s, 0, 0);
        if (s->conn == NULL || rf_conn_connect(s->conn, "127.0.0.1", (uint16_t)port) != 0) {
            fprintf(stderr, "bench: connect %d failed\n", i);
            return -1;
        }
    }
    int all = 0;
    double end = now_s() + 30;
    while (!all && now_s() < end) {
        uv_run(B.loop, UV_RUN_ONCE);
        all = B.registered >= n;
    }
    r->t_reg = now_s() - t0;
    if (!all) {
        fprintf(stderr, "bench: only %d/%d registered in 30 s\n", B.registered, n);
        return -1;
    }
    uv_timer_init(B.loop, &B.stats_timer);
    uv_timer_start(&B.stats_timer, on_stats, 10, 10);
    return 0;
}

/* Phase 2: apply a "*" plan, wait until every agent acked it. */
static int
phase_apply(int n, bench_res_t *r)
{
    char plan[512];
    snprintf(plan, sizeof(plan),
             "{\"name\":\"bench\",\"transfers\":[\"80-192.168.2.10:8080\"],"
             "\"client_pool\":\"10.0.0.0/8\",\"copy_agents\":\"*\",\"intercepts\":\"*\","
             "\"copies\":2,\"rate_limit_pps\":%d}",
             100 * n);
    Rfpb__ApplyRequest ar = RFPB__APPLY_REQUEST__INIT;
    ar.plan_json = plan;
    Rfpb__Envelope env = RFPB__ENVELOPE__INIT;
    env.msg_case = RFPB__ENVELOPE__MSG_APPLY;
    env.apply = &ar;
    B.target_gen = 1;
    B.acked = 0;
    double t0 = now_s();
    if (admin_call(&env, RFPB__ENVELOPE__MSG_APPLY_REPLY, &r->t_reply) != 0 || B.admin_gen != 1) {
        fprintf(stderr, "bench: apply failed\n");
        return -1;
    }
    int acked_all = 0;
    double end = now_s() + 30;
    while (!acked_all && now_s() < end) {
        uv_run(B.loop, UV_RUN_ONCE);
        acked_all = B.acked >= n;
    }
    r->t_apply = now_s() - t0;
    r->apply_diff_bytes = B.last_reply_bytes;
    if (!acked_all) {
        fprintf(stderr, "bench: only %d/%d acked in 30 s\n", B.acked, n);
        return -1;
    }
    return 0;
}

/* Phase 3: steady state with everyone reporting, after 2 s to settle; CPU
 * over the window, status latency sampled throughout: full status
 * (--json, -v) and the summary the plain table asks for, alternately. */
static void
phase_status(pid_t pid, int steady, bench_res_t *r)
{
    double tw = now_s() + 2.0;
    while (now_s() < tw)
        uv_run(B.loop, UV_RUN_ONCE);
    double cpu0, cpu1;
    proc_sample(pid, &cpu0, &r->rss, &r->hwm);
    double w0 = now_s();
    int turn = 0;
    Rfpb__StatusRequest sr = RFPB__STATUS_REQUEST__INIT, ssr = RFPB__STATUS_REQUEST__INIT;
    ssr.summary = 1;
    Rfpb__Envelope senv = RFPB__ENVELOPE__INIT, sumenv = RFPB__ENVELOPE__INIT;
    senv.msg_case = RFPB__ENVELOPE__MSG_STATUS;
    senv.status = &sr;
    sumenv.msg_case = RFPB__ENVELOPE__MSG_STATUS;
    sumenv.status = &ssr;
    while (now_s() < w0 + steady) {
        /* one status request per 500 ms: the operator's --watch, busier */
        double next = now_s() + 0.5;
        if (turn++ % 2 == 0) {
            if (r->nlat < 64 &&
                admin_call(&senv, RFPB__ENVELOPE__MSG_STATUS_REPLY, &r->lat[r->nlat]) == 0) {
                r->status_bytes = B.last_reply_bytes;
                r->nlat++;
            }
        } else if (r->nslat < 64 &&
                   admin_call(&sumenv, RFPB__ENVELOPE__MSG_STATUS_REPLY, &r->slat[r->nslat]) == 0) {
            r->summary_bytes = B.last_reply_bytes;
            r->nslat++;
        }
        while (now_s() < next)
            uv_run(B.loop, UV_RUN_ONCE);
    }
    double w = now_s() - w0;
    proc_sample(pid, &cpu1, &r->rss, &r->hwm);
    r->cpu_status = (cpu1 - cpu0) / w * 100;
}

/* Steady state without status polling: the fleet alone. */
static void
phase_quiet(pid_t pid, int steady, bench_res_t *r)
{
    double cpu2, cpu3;
    proc_sample(pid, &cpu2, &r->rss, &r->hwm);
    double q0 = now_s();
    while (now_s() < q0 + steady)
        uv_run(B.loop, UV_RUN_ONCE);
    double q = now_s() - q0;
    proc_sample(pid, &cpu3, &r->rss, &r->hwm);
    r->cpu_quiet = (cpu3 - cpu2) / q * 100;
}

/* Prometheus scrape every second (pessimistic: 15 s is the default
 * interval): scrape latency, page size, replayd CPU. */
static void
phase_scrape(pid_t pid, int port, int steady, bench_res_t *r)
{
    double cpu4, cpu5;
    proc_sample(pid, &cpu4, &r->rss, &r->hwm);
    double m0 = now_s();
    while (now_s() < m0 + steady) {
        double next = now_s() + 1.0;
        double t1 = now_s();
        size_t got = http_get_bytes(port + 1);
        if (got > 0 && r->nm < 64) {
            r->mlat[r->nm++] = now_s() - t1;
            r->page_bytes = got;
        }
        while (now_s() < next)
            uv_run(B.loop, UV_RUN_ONCE);
    }
    double mw = now_s() - m0;
    proc_sample(pid, &cpu5, &r->rss, &r->hwm);
    r->cpu_scrape = (cpu5 - cpu4) / mw * 100;
}

static void
print_table(bench_res_t *r, int n, int nicpt)
{
    qsort(r->mlat, (size_t)r->nm, sizeof(double), cmp_d);
    qsort(r->slat, (size_t)r->nslat, sizeof(double), cmp_d);
    qsort(r->lat, (size_t)r->nlat, sizeof(double), cmp_d);
    int nlat = r->nlat, nslat = r->nslat, nm = r->nm;
    printf("\nreplayd control-plane bench: %d agents (%d intercepts, %d copy), loopback\n", n,
           nicpt, n - nicpt);
    printf("+--------------------------------------------+-------------+\n");
    printf("| %-42s | %11s |\n", "metric", "value");
    printf("+--------------------------------------------+-------------+\n");
    printf("| %-42s | %9.1f ms |\n", "register all agents (connect..assignment)", r->t_reg * 1e3);
    printf("| %-42s | %9.1f ms |\n", "apply: reply to replayctl (incl. fsync)", r->t_reply * 1e3);
    printf("| %-42s | %9.1f ms |\n", "apply: sent .. all agents acked", r->t_apply * 1e3);
    printf("| %-42s | %9zu B  |\n", "apply reply size (diff)", r->apply_diff_bytes);
    printf("| %-42s | %9.2f ms |\n", "status (full: --json/-v) latency p50", nlat ? r->lat[nlat / 2] * 1e3 : 0);
    printf("| %-42s | %9.2f ms |\n", "status (full) latency max", nlat ? r->lat[nlat - 1] * 1e3 : 0);
    printf("| %-42s | %9zu B  |\n", "status (full) reply size", r->status_bytes);
    printf("| %-42s | %9.2f ms |\n", "status (summary: table) latency p50", nslat ? r->slat[nslat / 2] * 1e3 : 0);
    printf("| %-42s | %9.2f ms |\n", "status (summary) latency max", nslat ? r->slat[nslat - 1] * 1e3 : 0);
    printf("| %-42s | %9zu B  |\n", "status (summary) reply size", r->summary_bytes);
    printf("| %-42s | %9.2f ms |\n", "GET /metrics latency p50", nm ? r->mlat[nm / 2] * 1e3 : 0);
    printf("| %-42s | %9.2f ms |\n", "GET /metrics latency max", nm ? r->mlat[nm - 1] * 1e3 : 0);
    printf("| %-42s | %9zu B  |\n", "metrics page size", r->page_bytes);
    printf("| %-42s | %9.2f %%  |\n", "replayd CPU, stats + a scrape every 1 s", r->cpu_scrape);
    printf("| %-42s | %9.2f %%  |\n", "replayd CPU, stats + status every 0.5 s", r->cpu_status);
    printf("| %-42s | %9.2f %%  |\n", "replayd CPU, stats only (steady state)", r->cpu_quiet);
    printf("| %-42s | %8.1f MB |\n", "replayd RSS", (double)r->rss / 1024);
    printf("| %-42s | %8.1f MB |\n", "replayd peak RSS", (double)r->hwm / 1024);
    printf("| %-42s | %11llu |\n", "stats messages sent", (unsigned long long)B.stats_sent);
    printf("| %-42s | %11d |\n", "agent connections lost", B.closed_early);
    printf("+--------------------------------------------+-------------+\n");
    printf("goals: apply acked < 1000 ms: %s; status (summary p50) < 50 ms: %s; CPU < 5%%: %s\n",
           r->t_apply < 1.0 ? "met" : "MISSED", nslat && r->slat[nslat / 2] < 0.05 ? "met" : "MISSED",
           r->cpu_quiet < 5 ? "met" : "MISSED");
}

/* SIGTERM, 5 s to exit, then SIGKILL; remove the state dir. */
static void
stop_replayd(pid_t pid, const char *dir)
{
    kill(pid, SIGTERM);
    for (int i = 0; i < 50; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            pid = 0;
            break;
        }
        usleep(100000);
    }
    if (pid) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench: could not remove %s\n", dir);
}

int
main(int argc, char **argv)
{
    bench_args_t a;
    int rc = parse_args(&a, argc, argv);
    if (rc == 0)
        rc = raise_fd_limit(a.n);
    if (rc != 0)
        return rc;
    signal(SIGPIPE, SIG_IGN);
    /* Same heap policy as replayd: the client decodes ~1 MB status
     * replies and should not measure page faults of fresh mmaps. */
    (void)mallopt(M_MMAP_THRESHOLD, 16 << 20);
    (void)mallopt(M_TRIM_THRESHOLD, 64 << 20);
    char dir[] = "/tmp/rd_bench_XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    char listen[64], mlisten[64], logf[300];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", a.port);
    snprintf(mlisten, sizeof(mlisten), "127.0.0.1:%d", a.port + 1);
    /* RF_BENCH_LOG=FILE keeps replayd's log (with RF_BENCH_LOGLEVEL=debug it
     * has the server-side time of every status reply). */
    if (getenv("RF_BENCH_LOG"))
        snprintf(logf, sizeof(logf), "%s", getenv("RF_BENCH_LOG"));
    else
        snprintf(logf, sizeof(logf), "%s/replayd.log", dir);
    pid_t pid = spawn_replayd(a.replayd, dir, listen, mlisten, logf);
    rc = 1;
    B.loop = uv_default_loop();
    B.n = a.n;
    B.nicpt = a.nicpt;
    B.port = a.port;
    B.sims = calloc((size_t)a.n, sizeof(sim_t));
    /* Wakes UV_RUN_ONCE at least every 5 ms so deadlines are checked
     * without sleeping between reads. */
    uv_timer_t wake;
    uv_timer_init(B.loop, &wake);
    uv_timer_start(&wake, on_wake, 5, 5);
    bench_res_t r;
    memset(&r, 0, sizeof(r));
    if (!wait_listener(a.port)) {
        fprintf(stderr, "bench: replayd did not come up on %s (see %s)\n", listen, logf);
    } else if (phase_register(a.n, a.nicpt, a.port, &r) == 0 && phase_apply(a.n, &r) == 0) {
        phase_status(pid, a.steady, &r);
        phase_quiet(pid, a.steady, &r);
        phase_scrape(pid, a.port, a.steady, &r);
        print_table(&r, a.n, a.nicpt);
        rc = B.closed_early == 0 ? 0 : 1;
        if (a.keep) {
            printf("keep-running: replayd pid %d on %s; Ctrl-C to stop\n", (int)pid, listen);
            for (;;)
                uv_run(B.loop, UV_RUN_ONCE);
        }
    }
    stop_replayd(pid, dir);
    return rc;
}
