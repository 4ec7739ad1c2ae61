/* rd_metrics_http.c -- the libmicrohttpd server that serves the last page
 * rd_metrics.c rendered (its own thread), asking the loop for a fresh one
 * when it is stale, gzip when the scraper accepts it. */
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
#include <zlib.h>

#include "rf_log.h"

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
    char                 *gz;       /* gzip of the page of gz_seq, guarded by mu */
    size_t                gz_len;
    uint64_t              gz_seq;
    _Atomic uint64_t      scrapes, gz_scrapes;
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

/* gzip (RFC 1952) of len bytes; heap, or NULL. */
static char *
gzip_buf(const char *in, size_t len, size_t *outlen)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    uLong cap = deflateBound(&z, (uLong)len);
    char *out = malloc(cap ? cap : 1);
    if (out == NULL) {
        deflateEnd(&z);
        return NULL;
    }
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    int r = deflate(&z, Z_FINISH);
    *outlen = z.total_out;
    deflateEnd(&z);
    if (r != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

/* 1 if Accept-Encoding lists gzip with a non-zero q. */
static int
wants_gzip(const char *ae)
{
    if (ae == NULL)
        return 0;
    const char *g = strstr(ae, "gzip");
    if (g == NULL)
        return 0;
    const char *end = strchr(g, ',');
    const char *q = strstr(g, "q=");
    if (q != NULL && (end == NULL || q < end)) {
        double v = atof(q + 2);
        return v > 0.0;
    }
    return 1;
}

/* MHD thread. Reads only the published page (under mu); the loop state is
 * never touched here. */
/* Called with m->mu held. A page older than STALE_MS: wake the loop and
 * wait (bounded) for a fresh one; if the loop is busy the older page is
 * served rather than stall the scraper. */
static void
wait_fresh(rd_metrics_t *m)
{
    uint64_t now = mono_ms();
    if (m->stopping || (m->page != NULL && now - m->at_ms <= STALE_MS))
        return;
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

/* Called with m->mu held (released and taken again while compressing).
 * A heap copy of the page to send, gzipped if *gz (kept for the next
 * scraper of the same page); *gz is cleared when compression ran out of
 * memory. NULL: no page yet, or out of memory. */
static char *
take_page(rd_metrics_t *m, int *gz, size_t *len)
{
    char *copy = NULL;
    if (*gz && m->gz != NULL && m->gz_seq == m->seq) {
        /* already compressed for this page (several scrapers) */
        *len = m->gz_len;
        if ((copy = malloc(*len ? *len : 1)) != NULL)
            memcpy(copy, m->gz, *len);
        return copy;
    }
    if (m->page == NULL)
        return NULL;
    *len = m->len;
    if ((copy = malloc(*len ? *len : 1)) != NULL)
        memcpy(copy, m->page, *len);
    if (copy == NULL || !*gz)
        return copy;
    /* compress outside the lock, then keep it for the next scraper */
    uint64_t seq = m->seq;
    pthread_mutex_unlock(&m->mu);
    size_t zlen = 0;
    char *z = gzip_buf(copy, *len, &zlen);
    char *keep = z ? malloc(zlen ? zlen : 1) : NULL;
    if (keep)
        memcpy(keep, z, zlen);
    pthread_mutex_lock(&m->mu);
    if (keep != NULL && m->seq == seq) {
        free(m->gz);
        m->gz = keep;
        m->gz_len = zlen;
        m->gz_seq = seq;
        keep = NULL;
    }
    free(keep);
    if (z == NULL) {
        *gz = 0;   /* out of memory: serve it plain */
        return copy;
    }
    free(copy);
    *len = zlen;
    return z;
}

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
    pthread_mutex_lock(&m->mu);
    wait_fresh(m);
    int gz = wants_gzip(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept-Encoding"));
    size_t len = 0;
    char *copy = take_page(m, &gz, &len);
    pthread_mutex_unlock(&m->mu);
    if (copy == NULL)
        return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "metrics not rendered yet\n");
    struct MHD_Response *r = MHD_create_response_from_buffer(len, copy, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(copy);
        return MHD_NO;
    }
    (void)MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    (void)MHD_add_response_header(r, "Vary", "Accept-Encoding");
    if (gz) {
        atomic_fetch_add(&m->gz_scrapes, 1);
        (void)MHD_add_response_header(r, "Content-Encoding", "gzip");
    }
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
    free(m->gz);
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
