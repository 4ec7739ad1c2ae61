/* rf_conn.c -- framed channel on libuv: capped read buffer, capped write
 * queue, decode loop, idempotent close. The only place frames are split. */
#include "rf_conn.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rf_envelope.h"
#include "rf_err.h"
#include "rf_frame.h"
#include "rf_log.h"
#include "rf_tls.h"

rf_conn_counters_t rf_conn_counters;

struct rf_conn {
    uv_tcp_t             tcp;      /* first: uv handle -> conn by cast */
    uv_connect_t         creq;
    const rf_conn_ops_t *ops;
    void                *data;
    uint8_t             *rbuf;     /* capacity rcap = max_frame + 4 */
    size_t               rlen, rcap, max_frame;
    size_t               wq_bytes, max_wq;
    int                  closing;
    int                  in_read;  /* inside on_read: defer free */
    int                  connected;
    int                  paused;    /* rf_conn_pause: not reading */
    int                  authed;    /* accepted conns: Welcome sent */
    const char          *reason;
    char                 peer[48];
    uint32_t             peer_ip, local_ip;
    /* TLS (NULL: plain). Frames sent before the handshake is done wait in
     * pend (plaintext, counted in wq_bytes) and go out right after it. */
    rf_tls_t            *tls;
    uint8_t             *pend;
    size_t               pend_len;
    /* Server side before the handshake: no OpenSSL object until the first
     * bytes arrive, and every record header checked here first, so an
     * unauthenticated peer costs a few hundred bytes, not OpenSSL's 16 KiB
     * record buffers (rf_conn_tls_server). */
    rf_conn_lookup_fn    lookup;
    void                *lookup_arg;
    size_t               pre_bytes, rec_left;
    uint8_t              hdr[5], hdr_len;
};

/* Largest TLS record and total ciphertext accepted before the handshake is
 * done (our ClientHello is ~300 bytes, the client Finished ~80). */
#define TLS_PREAUTH_RECORD 2048u
#define TLS_PREAUTH_TOTAL  8192u

/* Ciphertext lands here and is fed to OpenSSL at once (one per thread). */
#define CIPHER_BUF (64u * 1024u)
static _Thread_local uint8_t cipher_buf[CIPHER_BUF];
/* Plaintext frames are packed here before encryption; grows, never shrinks. */
static _Thread_local uint8_t *scratch;
static _Thread_local size_t scratch_cap;

typedef struct {
    uv_write_t req;
    rf_conn_t *conn;
    size_t     len;
    uint8_t    buf[];
} wreq_t;

rf_conn_t *
rf_conn_new(uv_loop_t *loop, const rf_conn_ops_t *ops, void *data, size_t max_frame,
            size_t max_wq)
{
    rf_conn_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->max_frame = max_frame ? max_frame : RF_FRAME_MAX_DEFAULT;
    c->max_wq = max_wq ? max_wq : 16u * 1024 * 1024;
    /* Start small; grow up to the cap only when a big frame is announced
     * (and, on accepted connections, only after the handshake). */
    c->rcap = 4096;
    if (c->rcap > c->max_frame + RF_FRAME_HDR)
        c->rcap = c->max_frame + RF_FRAME_HDR;
    c->rbuf = malloc(c->rcap);
    if (c->rbuf == NULL) {
        free(c);
        return NULL;
    }
    c->ops = ops;
    c->data = data;
    snprintf(c->peer, sizeof(c->peer), "?");
    uv_tcp_init(loop, &c->tcp);
    c->tcp.data = c;
    return c;
}

static void
set_peer(rf_conn_t *c)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0 &&
        ss.ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
        snprintf(c->peer, sizeof(c->peer), "%s:%u", ip, ntohs(sin->sin_port));
        c->peer_ip = ntohl(sin->sin_addr.s_addr);
    }
    len = sizeof(ss);
    if (uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_INET)
        c->local_ip = ntohl(((const struct sockaddr_in *)&ss)->sin_addr.s_addr);
}

static void
on_closed(uv_handle_t *h)
{
    rf_conn_t *c = h->data;
    rf_conn_counters.closed++;
    if (c->ops && c->ops->on_close)
        c->ops->on_close(c, c->reason ? c->reason : "closed");
    rf_tls_free(c->tls);
    free(c->pend);
    free(c->rbuf);
    free(c);
}

void
rf_conn_close(rf_conn_t *c, const char *reason)
{
    if (c == NULL || c->closing)
        return;
    c->closing = 1;
    c->reason = reason;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    rf_conn_t *c = h->data;
    (void)suggested;
    if (c->tls != NULL || c->lookup != NULL) {
        buf->base = (char *)cipher_buf;
        buf->len = CIPHER_BUF;
        return;
    }
    buf->base = (char *)c->rbuf + c->rlen;
    buf->len = c->rcap - c->rlen;
}

/* Make room for a frame of `need` total bytes, never beyond max_frame+4. */
static int
grow(rf_conn_t *c, size_t need)
{
    if (need <= c->rcap)
        return 0;
    size_t ncap = c->rcap;
    while (ncap < need)
        ncap *= 2;
    if (ncap > c->max_frame + RF_FRAME_HDR)
        ncap = c->max_frame + RF_FRAME_HDR;
    uint8_t *nb = realloc(c->rbuf, ncap);
    if (nb == NULL)
        return -1;
    c->rbuf = nb;
    c->rcap = ncap;
    return 0;
}

/* Split and deliver every complete frame in rbuf, compact, and make room
 * for the frame announced next. -1 when the connection is closing. */
static int
consume(rf_conn_t *c)
{
    size_t off = 0;
    while (!c->closing) {
        size_t body = 0;
        /* Before the handshake, an accepted peer gets a small frame cap:
         * an unauthenticated connection cannot make us buffer megabytes. */
        size_t cap = c->authed ? c->max_frame
                               : (c->max_frame < RF_CONN_PREAUTH_MAX ? c->max_frame
                                                                     : RF_CONN_PREAUTH_MAX);
        long r = rf_frame_next(c->rbuf + off, c->rlen - off, cap, &body);
        if (r == RF_EFRAME_TOO_BIG) {
            rf_conn_counters.oversize++;
            /* Unauthenticated: debug only (counted; a flood must not write
             * a line per connection). */
            if (c->authed)
                rf_log_warn("channel %s: frame over %zu bytes, closing", c->peer, cap);
            else
                rf_log_debug("channel %s: frame over %zu bytes before the handshake, closing",
                             c->peer, cap);
            rf_conn_close(c, "frame too big");
            return -1;
        }
        if (r == 0)
            break;
        Rfpb__Envelope *env = NULL;
        if (rf_env_decode(&env, c->rbuf + off + RF_FRAME_HDR, body) != 0) {
            rf_conn_counters.bad_frames++;
            if (c->authed)
                rf_log_warn("channel %s: frame of %zu bytes does not decode, closing", c->peer,
                            body);
            else
                rf_log_debug("channel %s: frame of %zu bytes does not decode, closing", c->peer,
                             body);
            rf_conn_close(c, "bad frame");
            return -1;
        }
        off += (size_t)r;
        rf_conn_counters.frames_in++;
        if (c->ops->on_msg)
            c->ops->on_msg(c, env);
        rf_env_free(env);
    }
    if (c->closing)
        return -1;
    /* Compact, then make sure the announced frame fits. */
    if (off > 0) {
        memmove(c->rbuf, c->rbuf + off, c->rlen - off);
        c->rlen -= off;
    }
    if (c->rlen >= RF_FRAME_HDR) {
        uint32_t n = ((uint32_t)c->rbuf[0] << 24) | ((uint32_t)c->rbuf[1] << 16) |
                     ((uint32_t)c->rbuf[2] << 8) | c->rbuf[3];
        size_t cap = c->authed ? c->max_frame : RF_CONN_PREAUTH_MAX;
        if ((size_t)n <= cap && grow(c, (size_t)n + RF_FRAME_HDR) != 0) {
            rf_conn_close(c, "out of memory");
            return -1;
        }
    }
    return 0;
}

static void on_written(uv_write_t *req, int status);

/* Move the ciphertext OpenSSL produced (handshake or records) to the
 * socket, in one write. */
static int
tls_flush(rf_conn_t *c)
{
    size_t n = rf_tls_out_pending(c->tls);
    if (n == 0 || c->closing)
        return 0;
    if (c->wq_bytes + n > c->max_wq + RF_CONN_PREAUTH_MAX) {
        rf_conn_counters.slow_peer++;
        rf_conn_close(c, "slow peer: write queue over cap");
        return RF_EFULL;
    }
    wreq_t *w = malloc(sizeof(*w) + n);
    if (w == NULL) {
        rf_conn_close(c, "out of memory");
        return -12;
    }
    w->conn = c;
    w->len = rf_tls_out_take(c->tls, w->buf, n);
    uv_buf_t b = uv_buf_init((char *)w->buf, (unsigned)w->len);
    int r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
    if (r < 0) {
        free(w);
        rf_conn_close(c, uv_strerror(r));
        return r;
    }
    c->wq_bytes += w->len;
    rf_conn_counters.bytes_out += w->len;
    return 0;
}

static int
tls_send_plain(rf_conn_t *c, const uint8_t *p, size_t n)
{
    if (rf_tls_write(c->tls, p, n) != 0) {
        rf_conn_close(c, "TLS write failed");
        return RF_ESTATE;
    }
    return tls_flush(c);
}

/* Walk the record headers of pre-handshake ciphertext: only TLS 1.x
 * records of the four known types, each at most TLS_PREAUTH_RECORD, at most
 * TLS_PREAUTH_TOTAL in all. 0 ok, -1 refuse. */
static int
preauth_scan(rf_conn_t *c, const uint8_t *p, size_t n)
{
    c->pre_bytes += n;
    if (c->pre_bytes > TLS_PREAUTH_TOTAL)
        return -1;
    for (size_t i = 0; i < n;) {
        if (c->rec_left > 0) {
            size_t k = c->rec_left < n - i ? c->rec_left : n - i;
            c->rec_left -= k;
            i += k;
            continue;
        }
        c->hdr[c->hdr_len++] = p[i++];
        if (c->hdr_len < sizeof(c->hdr))
            continue;
        size_t len = (size_t)c->hdr[3] << 8 | c->hdr[4];
        if (c->hdr[0] < 0x14 || c->hdr[0] > 0x17 || c->hdr[1] != 0x03 || len == 0 ||
            len > TLS_PREAUTH_RECORD)
            return -1;
        c->rec_left = len;
        c->hdr_len = 0;
    }
    return 0;
}

static void
tls_on_read(rf_conn_t *c, const uint8_t *p, size_t n)
{
    if (c->lookup != NULL && (c->tls == NULL || !rf_tls_done(c->tls))) {
        if (preauth_scan(c, p, n) != 0) {
            rf_tls_counters.handshake_failures++;
            rf_conn_close(c, "TLS handshake failed (not TLS, or records over the pre-auth cap)");
            return;
        }
        if (c->tls == NULL && (c->tls = rf_tls_server_new(c->lookup, c->lookup_arg)) == NULL) {
            rf_conn_close(c, "out of memory");
            return;
        }
    }
    if (rf_tls_feed(c->tls, p, n) != 0) {
        rf_conn_close(c, "out of memory");
        return;
    }
    for (;;) {
        int was_done = rf_tls_done(c->tls);
        const char *why = NULL;
        long got = rf_tls_read(c->tls, c->rbuf + c->rlen, c->rcap - c->rlen, &why);
        if (tls_flush(c) != 0 || c->closing)
            return;
        if (got < 0) {
            /* Debug only: the owner logs it, rate-limited (a flood of bad
             * handshakes must not become a flood of log lines). */
            rf_log_debug("channel %s: %s, closing", c->peer, why);
            rf_conn_close(c, why);
            return;
        }
        if (!was_done && rf_tls_done(c->tls) && c->pend_len > 0) {
            size_t pl = c->pend_len;
            c->pend_len = 0;
            c->wq_bytes -= pl;
            int r = tls_send_plain(c, c->pend, pl);
            free(c->pend);
            c->pend = NULL;
            if (r != 0)
                return;
            continue;
        }
        if (!was_done && rf_tls_done(c->tls))
            continue;   /* records may already be buffered behind the handshake */
        if (got == 0 && c->rlen < c->rcap)
            return;     /* need more ciphertext */
        c->rlen += (size_t)got;
        if (consume(c) != 0)
            return;
    }
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    rf_conn_t *c = s->data;
    if (nread < 0) {
        rf_conn_close(c, nread == UV_EOF ? "peer closed" : uv_strerror((int)nread));
        return;
    }
    if (c->closing)
        return;
    rf_conn_counters.bytes_in += (uint64_t)nread;
    if (c->tls != NULL || c->lookup != NULL) {
        tls_on_read(c, (const uint8_t *)buf->base, (size_t)nread);
        return;
    }
    c->rlen += (size_t)nread;
    (void)consume(c);
}

static void
on_connect(uv_connect_t *req, int status)
{
    rf_conn_t *c = req->data;
    if (c->closing)
        return;
    if (status < 0) {
        if (c->ops->on_connect)
            c->ops->on_connect(c, status);
        rf_conn_close(c, uv_strerror(status));
        return;
    }
    c->connected = 1;
    /* We dialled the server we chose; with TLS it also proved the PSK
     * before any frame of it is read. */
    c->authed = 1;
    set_peer(c);
    uv_tcp_nodelay(&c->tcp, 1);
    int r = uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read);
    if (r < 0) {
        rf_conn_close(c, uv_strerror(r));
        return;
    }
    if (c->tls != NULL && (rf_tls_start(c->tls) != 0 || tls_flush(c) != 0)) {
        rf_conn_close(c, "TLS start failed");
        return;
    }
    if (c->ops->on_connect)
        c->ops->on_connect(c, 0);
}

int
rf_conn_pause(rf_conn_t *c, int pause)
{
    pause = pause != 0;
    if (c->closing || !c->connected || c->paused == pause)
        return 0;
    c->paused = pause;
    return pause ? uv_read_stop((uv_stream_t *)&c->tcp)
                 : uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read);
}

int
rf_conn_connect(rf_conn_t *c, const char *host, uint16_t port)
{
    struct sockaddr_in sin;
    int r = uv_ip4_addr(host, port, &sin);
    if (r < 0)
        return r;
    snprintf(c->peer, sizeof(c->peer), "%s:%u", host, port);
    c->creq.data = c;
    return uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&sin, on_connect);
}

int
rf_conn_accept(rf_conn_t *c, uv_stream_t *server)
{
    int r = uv_accept(server, (uv_stream_t *)&c->tcp);
    if (r < 0)
        return r;
    c->connected = 1;
    set_peer(c);
    uv_tcp_nodelay(&c->tcp, 1);
    return uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read);
}

static void
on_written(uv_write_t *req, int status)
{
    wreq_t *w = (wreq_t *)req;
    rf_conn_t *c = w->conn;
    c->wq_bytes -= w->len;
    free(w);
    if (status < 0 && status != UV_ECANCELED)
        rf_conn_close(c, uv_strerror(status));
}

/* TLS: pack into the scratch buffer, then encrypt (or park until the
 * handshake is done). */
static int
tls_send(rf_conn_t *c, const Rfpb__Envelope *env, size_t body, size_t total)
{
    if (c->tls == NULL || !rf_tls_done(c->tls)) {
        uint8_t *np = realloc(c->pend, c->pend_len + total);
        if (np == NULL)
            return -12;
        c->pend = np;
        rf_frame_put_header(np + c->pend_len, (uint32_t)body);
        rfpb__envelope__pack(env, np + c->pend_len + RF_FRAME_HDR);
        c->pend_len += total;
        c->wq_bytes += total;
        rf_conn_counters.frames_out++;
        return 0;
    }
    if (total > scratch_cap) {
        size_t ncap = total < 64 * 1024 ? 64 * 1024 : total;
        uint8_t *nb = realloc(scratch, ncap);
        if (nb == NULL)
            return -12;
        scratch = nb;
        scratch_cap = ncap;
    }
    rf_frame_put_header(scratch, (uint32_t)body);
    rfpb__envelope__pack(env, scratch + RF_FRAME_HDR);
    rf_conn_counters.frames_out++;
    return tls_send_plain(c, scratch, total);
}

int
rf_conn_send(rf_conn_t *c, const Rfpb__Envelope *env)
{
    if (c->closing || !c->connected)
        return RF_ESTATE;
    size_t body = rfpb__envelope__get_packed_size(env);
    size_t total = body + RF_FRAME_HDR;
    if (c->wq_bytes + total > c->max_wq) {
        rf_conn_counters.slow_peer++;
        rf_log_warn("channel %s: peer does not drain (%zu bytes queued), closing", c->peer,
                    c->wq_bytes);
        rf_conn_close(c, "slow peer: write queue over cap");
        return RF_EFULL;
    }
    if (c->tls != NULL || c->lookup != NULL)
        return tls_send(c, env, body, total);
    wreq_t *w = malloc(sizeof(*w) + total);
    if (w == NULL)
        return -12;
    rf_frame_put_header(w->buf, (uint32_t)body);
    rfpb__envelope__pack(env, w->buf + RF_FRAME_HDR);
    w->conn = c;
    w->len = total;
    uv_buf_t b = uv_buf_init((char *)w->buf, (unsigned)total);
    int r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
    if (r < 0) {
        free(w);
        rf_conn_close(c, uv_strerror(r));
        return r;
    }
    c->wq_bytes += total;
    rf_conn_counters.frames_out++;
    rf_conn_counters.bytes_out += total;
    return 0;
}

int
rf_conn_tls_client(rf_conn_t *c, const char *ident, const uint8_t key[32])
{
    if (c->tls != NULL || c->connected)
        return RF_ESTATE;
    c->tls = rf_tls_client_new(ident, key);
    return c->tls ? 0 : -12;
}

int
rf_conn_tls_server(rf_conn_t *c, rf_conn_lookup_fn fn, void *arg)
{
    if (c->tls != NULL || fn == NULL)
        return RF_ESTATE;
    c->lookup = fn;   /* the OpenSSL object comes with the first bytes */
    c->lookup_arg = arg;
    return 0;
}

const char *
rf_conn_tls_identity(const rf_conn_t *c)
{
    return c->tls != NULL && rf_tls_done(c->tls) ? rf_tls_identity(c->tls) : NULL;
}

int rf_conn_is_tls(const rf_conn_t *c) { return c->tls != NULL || c->lookup != NULL; }

void        rf_conn_mark_authed(rf_conn_t *c) { c->authed = 1; }
int         rf_conn_is_closing(const rf_conn_t *c) { return c->closing; }
void       *rf_conn_data(const rf_conn_t *c) { return c->data; }
void        rf_conn_set_data(rf_conn_t *c, void *data) { c->data = data; }
const char *rf_conn_peer(const rf_conn_t *c) { return c->peer; }
uint32_t    rf_conn_peer_ip(const rf_conn_t *c) { return c->peer_ip; }
int         rf_conn_is_loopback(const rf_conn_t *c) { return (c->peer_ip >> 24) == 127; }
int
rf_conn_is_local(const rf_conn_t *c)
{
    return rf_conn_is_loopback(c) || (c->peer_ip != 0 && c->peer_ip == c->local_ip);
}
size_t      rf_conn_wq_bytes(const rf_conn_t *c) { return c->wq_bytes; }

int
rf_listen(uv_tcp_t *srv, uv_loop_t *loop, const char *addr, uint16_t port, uv_connection_cb cb)
{
    struct sockaddr_in sin;
    int r = uv_ip4_addr(addr, port, &sin);
    if (r < 0)
        return r;
    uv_tcp_init(loop, srv);
    r = uv_tcp_bind(srv, (const struct sockaddr *)&sin, 0);
    if (r < 0)
        return r;
    return uv_listen((uv_stream_t *)srv, 511, cb);
}
