/* rd_metrics.c -- Prometheus page rendering (loop thread) and the
 * libmicrohttpd server that serves the last rendered page (its thread). */
#include "rd_metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rf_log.h"

#define PREFIX "replayfleet_"

/* ---- rendering (pure) ------------------------------------------------- */

int
rd_metrics_is_gauge(const char *name)
{
    static const char *const exact[] = { "copy_conns", "generation", "agents_known" };
    static const char *const suffix[] = { "_active", "_now", "_up" };
    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
        if (strcmp(name, exact[i]) == 0)
            return 1;
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
        size_t k = strlen(suffix[i]);
        if (n >= k && strcmp(name + n - k, suffix[i]) == 0)
            return 1;
    }
    return 0;
}

int
rd_metrics_sanitize(const char *name, char *buf, size_t len)
{
    size_t i = 0;
    for (; name[i]; i++) {
        if (i + 1 >= len)
            return -1;
        char ch = name[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        buf[i] = ok ? ch : '_';
    }
    if (i == 0 || len == 0)
        return -1;
    buf[i] = '\0';
    return 0;
}

/* Label values: agent ids and hosts are checked on Hello, but escape the
 * three characters the format reserves anyway (a host name is free text). */
static void
put_label(FILE *fp, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fputc('\\', fp), fputc(*s, fp);
        else if (*s == '\n')
            fputs("\\n", fp);
        else if ((unsigned char)*s >= 0x20)
            fputc(*s, fp);
    }
}

static const char *
role_label(int role)
{
    return role == RD_ROLE_COPY ? "copy" : role == RD_ROLE_ICPT ? "intercept" : "unknown";
}

typedef struct {
    uint32_t who;   /* index into the sorted agent list; UINT32_MAX = replayd itself */
    uint64_t value;
} row_t;

static int
cmp_agent(const void *x, const void *y)
{
    const rd_agent_t *a = *(const rd_agent_t *const *)x, *b = *(const rd_agent_t *const *)y;
    if (a->role != b->role)
        return a->role - b->role;
    return strcmp(a->id, b->id);
}

/* Families replayd writes itself. An agent counter that would land on one
 * (the copy agent sends "generation") or on a total_ family is not
 * exported per agent: its value is in `replayctl status`, and the agent's
 * generation is replayfleet_agent_generation. */
static int
reserved(const char *m)
{
    static const char *const fixed[] = { "generation", "agents", "requested_copies",
                                         "requested_rate_pps" };
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (strcmp(m, fixed[i]) == 0)
            return 1;
    return strncmp(m, "agent_", 6) == 0 || strncmp(m, "total_", 6) == 0;
}

static const rd_names_t *sort_names;   /* qsort has no context argument */

static int
cmp_name(const void *x, const void *y)
{
    return strcmp(sort_names->name[*(const uint16_t *)x], sort_names->name[*(const uint16_t *)y]);
}

static void
put_agent_labels(FILE *fp, const rd_agent_t *a)
{
    fputs("{agent=\"", fp);
    put_label(fp, a->id);
    fprintf(fp, "\",role=\"%s\"}", role_label(a->role));
}

/* " 12345\n" without printf: ~30,000 of these per page at 1,000 agents. */
static void
put_u64(FILE *fp, uint64_t v)
{
    char b[24];
    char *p = b + sizeof(b);
    *--p = '\0';
    *--p = '\n';
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    *--p = ' ';
    fputs(p, fp);
}

int
rd_metrics_render(char **out, size_t *outlen, rd_ctx_t *c, uint64_t now_ms)
{
    *out = NULL;
    *outlen = 0;
    const char *sn[RD_SELF_COUNTERS];
    uint64_t sv[RD_SELF_COUNTERS];
    int sid[RD_SELF_COUNTERS];
    size_t ns = rd_admin_self_counters(c, sn, sv);
    for (size_t i = 0; i < ns; i++)
        sid[i] = rd_names_intern(&c->names, sn[i]);

    size_t nn = c->names.n, na = c->reg.n;
    size_t *count = calloc(nn + 1, sizeof(*count));
    size_t *off = calloc(nn + 2, sizeof(*off));
    uint16_t *order = calloc(nn + 1, sizeof(*order));
    rd_agent_t **ag = malloc((na ? na : 1) * sizeof(*ag));
    size_t nrows = ns;
    for (size_t i = 0; i < na; i++)
        nrows += c->reg.a[i]->stats.n;
    row_t *rows = malloc((nrows ? nrows : 1) * sizeof(*rows));
    char *buf = NULL;
    size_t blen = 0;
    FILE *fp = NULL;
    char (*labels)[160] = NULL;
    if (!count || !off || !order || !ag || !rows || !(fp = open_memstream(&buf, &blen)))
        goto oom;
    if (na)
        memcpy(ag, c->reg.a, na * sizeof(*ag));
    qsort(ag, na, sizeof(*ag), cmp_agent);
    /* Each agent's label set, escaped once: it is written once per counter. */
    labels = calloc(na ? na : 1, sizeof(*labels));
    if (labels == NULL)
        goto oom;
    for (size_t i = 0; i < na; i++) {
        FILE *lf = fmemopen(labels[i], sizeof(labels[i]), "w");
        if (lf == NULL)
            goto oom;
        put_agent_labels(lf, ag[i]);
        fclose(lf);   /* truncated at the buffer (ids are <= 63 bytes: never) */
    }

    /* Bucket every (agent, counter) by name: one pass to count, one to
     * place, so a family is written in one go whatever the fleet size. */
    for (size_t i = 0; i < ns; i++)
        if (sid[i] >= 0)
            count[sid[i]]++;
    for (size_t i = 0; i < na; i++)
        for (unsigned k = 0; k < ag[i]->stats.n; k++)
            count[ag[i]->stats.id[k]]++;
    for (size_t i = 0; i < nn; i++)
        off[i + 1] = off[i] + count[i];
    memset(count, 0, (nn + 1) * sizeof(*count));
    for (size_t i = 0; i < ns; i++)
        if (sid[i] >= 0)
            rows[off[sid[i]] + count[sid[i]]++] = (row_t){ UINT32_MAX, sv[i] };
    for (size_t i = 0; i < na; i++)
        for (unsigned k = 0; k < ag[i]->stats.n; k++) {
            uint16_t id = ag[i]->stats.id[k];
            rows[off[id] + count[id]++] = (row_t){ (uint32_t)i, ag[i]->stats.value[k] };
        }
    for (size_t i = 0; i < nn; i++)
        order[i] = (uint16_t)i;
    sort_names = &c->names;
    qsort(order, nn, sizeof(*order), cmp_name);

    char prev[RD_CNAME_MAX + 8] = "";
    for (size_t oi = 0; oi < nn; oi++) {
        uint16_t id = order[oi];
        char m[RD_CNAME_MAX + 8];
        if (count[id] == 0 || rd_metrics_sanitize(c->names.name[id], m, sizeof(m)) != 0 ||
            reserved(m))
            continue;
        /* "a.b" and "a_b" sanitise alike; a family may appear once only,
         * so the second spelling is dropped (status still shows both). */
        if (strcmp(m, prev) == 0)
            continue;
        snprintf(prev, sizeof(prev), "%s", m);
        const char *type = rd_metrics_is_gauge(c->names.name[id]) ? "gauge" : "counter";
        fprintf(fp, "# HELP " PREFIX "%s Counter \"%s\" as last reported by each agent.\n", m,
                c->names.name[id]);
        fprintf(fp, "# TYPE " PREFIX "%s %s\n", m, type);
        uint64_t total = 0;
        for (size_t r = off[id]; r < off[id] + count[id]; r++) {
            fputs(PREFIX, fp);
            fputs(m, fp);
            fputs(rows[r].who == UINT32_MAX ? "{agent=\"replayd\",role=\"controller\"}"
                                            : labels[rows[r].who],
                  fp);
            put_u64(fp, rows[r].value);
            total += rows[r].value;   /* down agents too: same rule as status totals */
        }
        fprintf(fp, "# HELP " PREFIX "total_%s Fleet total of \"%s\" (every agent, up or down).\n",
                m, c->names.name[id]);
        fprintf(fp, "# TYPE " PREFIX "total_%s %s\n", m, type);
        fprintf(fp, PREFIX "total_%s %llu\n", m, (unsigned long long)total);
    }

    fputs("# HELP " PREFIX "agent_up 1 if the agent is connected and heard from within the "
          "heartbeat timeout.\n# TYPE " PREFIX "agent_up gauge\n", fp);
    for (size_t i = 0; i < na; i++) {
        fputs(PREFIX "agent_up", fp);
        fputs(labels[i], fp);
        fprintf(fp, " %d\n", ag[i]->up ? 1 : 0);
    }
    fputs("# HELP " PREFIX "agent_last_seen_seconds Seconds since the agent was last heard "
          "from (absent if never).\n# TYPE " PREFIX "agent_last_seen_seconds gauge\n", fp);
    for (size_t i = 0; i < na; i++) {
        if (ag[i]->last_seen_ms == 0)
            continue;
        uint64_t age = now_ms > ag[i]->last_seen_ms ? now_ms - ag[i]->last_seen_ms : 0;
        fputs(PREFIX "agent_last_seen_seconds", fp);
        fputs(labels[i], fp);
        fprintf(fp, " %.3f\n", (double)age / 1000.0);
    }
    fputs("# HELP " PREFIX "agent_generation Assignment generation the agent acknowledged.\n"
          "# TYPE " PREFIX "agent_generation gauge\n", fp);
    for (size_t i = 0; i < na; i++) {
        fputs(PREFIX "agent_generation", fp);
        fputs(labels[i], fp);
        fprintf(fp, " %llu\n", (unsigned long long)ag[i]->acked_gen);
    }
    fputs("# HELP " PREFIX "agent_info Assignment of the agent in the plan in force.\n"
          "# TYPE " PREFIX "agent_info gauge\n", fp);
    size_t up[3] = { 0 }, down[3] = { 0 };
    for (size_t i = 0; i < na; i++) {
        const rd_agent_t *a = ag[i];
        const rd_entry_t *e = rd_table_find(&c->table, a->id);
        char rs[32] = "";
        if (e && e->active)
            rf_cidr_format(&e->range, rs, sizeof(rs));
        fputs(PREFIX "agent_info{agent=\"", fp);
        put_label(fp, a->id);
        fprintf(fp, "\",role=\"%s\",host=\"", role_label(a->role));
        put_label(fp, a->host);
        fprintf(fp, "\",range=\"%s\",paired_with=\"", rs);
        put_label(fp, e && e->active && e->role == RD_ROLE_COPY ? e->pair : "");
        fprintf(fp, "\",active=\"%d\"} 1\n", e && e->active ? 1 : 0);
        int ri = a->role == RD_ROLE_COPY ? 1 : a->role == RD_ROLE_ICPT ? 2 : 0;
        if (a->up)
            up[ri]++;
        else
            down[ri]++;
    }
    fputs("# HELP " PREFIX "agents Registered agents by role and state.\n"
          "# TYPE " PREFIX "agents gauge\n", fp);
    for (int ri = 1; ri <= 2; ri++) {
        const char *rl = role_label(ri == 1 ? RD_ROLE_COPY : RD_ROLE_ICPT);
        fprintf(fp, PREFIX "agents{role=\"%s\",state=\"up\"} %zu\n", rl, up[ri]);
        fprintf(fp, PREFIX "agents{role=\"%s\",state=\"down\"} %zu\n", rl, down[ri]);
    }
    fprintf(fp,
            "# HELP " PREFIX "generation Generation of the plan in force (0: none).\n"
            "# TYPE " PREFIX "generation gauge\n" PREFIX "generation %llu\n",
            (unsigned long long)c->generation);
    fprintf(fp,
            "# HELP " PREFIX "requested_copies Copies per session the plan asks for.\n"
            "# TYPE " PREFIX "requested_copies gauge\n" PREFIX "requested_copies %llu\n",
            (unsigned long long)(c->plan ? c->plan->copies : 0));
    fprintf(fp,
            "# HELP " PREFIX "requested_rate_pps Fleet-wide packet rate cap of the plan (0: "
            "none).\n# TYPE " PREFIX "requested_rate_pps gauge\n" PREFIX
            "requested_rate_pps %llu\n",
            (unsigned long long)(c->plan ? c->plan->rate_limit_pps : 0));
    if (ferror(fp))
        goto oom;
    if (fclose(fp) != 0) {
        fp = NULL;
        goto oom;
    }
    free(count);
    free(off);
    free(order);
    free(ag);
    free(rows);
    free(labels);
    *out = buf;
    *outlen = blen;
    return 0;
oom:
    if (fp)
        fclose(fp);
    free(buf);
    free(count);
    free(off);
    free(order);
    free(ag);
    free(rows);
    free(labels);
    return -ENOMEM;
}

/* ---- HTTP (libmicrohttpd) --------------------------------------------- */

#define STALE_MS   1000u   /* a page older than this is refreshed on scrape */
#define REFRESH_MS 1000u   /* how long a scrape waits for the loop */

struct rd_metrics {
    struct MHD_Daemon    *d;
    uv_async_t            async;
    rd_metrics_refresh_fn fn;
    void                 *arg;
    pthread_mutex_t       mu;
    pthread_cond_t        cv;       /* signalled on publish */
    char                 *page;     /* latest page, guarded by mu */
    size_t                len;
    uint64_t              seq;      /* publishes so far */
    uint64_t              at_ms;    /* monotonic time of the latest publish */
    _Atomic uint64_t      scrapes;
    int                   stopping; /* guarded by mu */
};

static uint64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static enum MHD_Result
reply_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    (void)MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    enum MHD_Result q = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return q;
}

/* MHD thread. Reads only the published page (under mu); the loop state is
 * never touched here. */
static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size,
           void **con_cls)
{
    rd_metrics_t *m = cls;
    (void)version;
    (void)upload_data;
    (void)con_cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics\n");
    if (*upload_data_size != 0)
        return reply_text(conn, MHD_HTTP_BAD_REQUEST, "no body expected\n");
    if (strcmp(url, "/metrics") != 0)
        return reply_text(conn, MHD_HTTP_NOT_FOUND, "replayd serves GET /metrics\n");
    atomic_fetch_add(&m->scrapes, 1);
    uint64_t now = mono_ms();
    pthread_mutex_lock(&m->mu);
    if (!m->stopping && (m->page == NULL || now - m->at_ms > STALE_MS)) {
        /* Wake the loop and wait (bounded) for a fresh page; if the loop is
         * busy we serve the older page rather than stall the scraper. */
        uint64_t seq0 = m->seq;
        uv_async_send(&m->async);
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_nsec += (long)(REFRESH_MS % 1000) * 1000000L;
        dl.tv_sec += REFRESH_MS / 1000 + dl.tv_nsec / 1000000000L;
        dl.tv_nsec %= 1000000000L;
        while (m->seq == seq0 && !m->stopping)
            if (pthread_cond_timedwait(&m->cv, &m->mu, &dl) != 0)
                break;
    }
    char *copy = NULL;
    size_t len = m->len;
    if (m->page != NULL && (copy = malloc(len ? len : 1)) != NULL)
        memcpy(copy, m->page, len);
    pthread_mutex_unlock(&m->mu);
    if (copy == NULL)
        return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "metrics not rendered yet\n");
    struct MHD_Response *r = MHD_create_response_from_buffer(len, copy, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(copy);
        return MHD_NO;
    }
    (void)MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    enum MHD_Result q = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return q;
}

static void
on_async(uv_async_t *h)
{
    rd_metrics_t *m = h->data;
    m->fn(m->arg);
}

static void
free_metrics(uv_handle_t *h)
{
    rd_metrics_t *m = h->data;
    free(m->page);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
    free(m);
}

int
rd_metrics_start(rd_metrics_t **out, uv_loop_t *loop, const char *host, uint16_t port,
                 rd_metrics_refresh_fn fn, void *arg, rf_errbuf_t *err)
{
    *out = NULL;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return rf_err_set(err, RF_EPARSE, "--metrics: \"%s\" is not an IPv4 address", host);
    /* Our own listening socket: bind errors come back with errno (MHD would
     * only say "failed"). */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return rf_err_set(err, -errno, "metrics socket: %s", strerror(errno));
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 64) != 0) {
        int e = errno;
        close(fd);
        return rf_err_set(err, -e, "metrics listen on %s:%u: %s", host, port, strerror(e));
    }
    rd_metrics_t *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        close(fd);
        return rf_err_set(err, -ENOMEM, "out of memory");
    }
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    m->fn = fn;
    m->arg = arg;
    if (uv_async_init(loop, &m->async, on_async) != 0) {
        close(fd);
        pthread_mutex_destroy(&m->mu);
        pthread_cond_destroy(&m->cv);
        free(m);
        return rf_err_set(err, -ENOMEM, "metrics: uv_async_init failed");
    }
    m->async.data = m;
    /* The HTTP thread must not take replayd's signals (libuv's handler
     * writes a pipe from any thread, but keep delivery on the loop thread);
     * it inherits the mask in force when it is created. AUTO picks epoll or
     * poll: with 1,000 agents the accepted fds are above select()'s 1024. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    m->d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL, on_request, m,
                            MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)32,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)8,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
                            MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (m->d == NULL) {
        close(fd);
        uv_close((uv_handle_t *)&m->async, free_metrics);
        return rf_err_set(err, -EIO, "metrics: libmicrohttpd failed to start on %s:%u", host,
                          port);
    }
    *out = m;
    return 0;
}

void
rd_metrics_publish(rd_metrics_t *m, char *buf, size_t len, uint64_t now_ms)
{
    (void)now_ms;
    pthread_mutex_lock(&m->mu);
    char *old = m->page;
    m->page = buf;
    m->len = len;
    m->seq++;
    m->at_ms = mono_ms();
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    free(old);   /* outside the lock: a 3 MB free is not the scraper's problem */
}

uint64_t
rd_metrics_scrapes(const rd_metrics_t *m)
{
    return atomic_load(&((rd_metrics_t *)m)->scrapes);
}

void
rd_metrics_stop(rd_metrics_t *m)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->mu);
    m->stopping = 1;
    pthread_cond_broadcast(&m->cv);   /* a scrape waiting for the loop gives up now */
    pthread_mutex_unlock(&m->mu);
    /* Joins the HTTP thread: after this no uv_async_send can happen, so the
     * async handle may be closed. MHD closes the listening socket too. */
    MHD_stop_daemon(m->d);
    m->d = NULL;
    uv_close((uv_handle_t *)&m->async, free_metrics);
}
