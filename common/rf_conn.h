/* rf_conn.h -- one framed protobuf channel over a libuv TCP stream.
 *
 * Owns: the uv_tcp_t, a capped read buffer, a capped write queue.
 * Lifetime: rf_conn_new() -> connect/accept -> ... -> rf_conn_close();
 * ops->on_close is the last callback and the memory is freed right after
 * it returns. rf_conn_close() is idempotent and safe inside any callback. */
#ifndef RF_CONN_H
#define RF_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "replay.pb-c.h"

typedef struct rf_conn rf_conn_t;

typedef struct {
    /* Outgoing connections only. status < 0: the connect failed and the
     * connection is being closed (on_close follows). */
    void (*on_connect)(rf_conn_t *c, int status);
    /* One decoded message. `env` is borrowed: freed when this returns. */
    void (*on_msg)(rf_conn_t *c, const Rfpb__Envelope *env);
    /* Last callback; `reason` is a static or short-lived string. */
    void (*on_close)(rf_conn_t *c, const char *reason);
} rf_conn_ops_t;

/* Process-wide channel counters (one thread per process). */
typedef struct {
    uint64_t frames_in, frames_out, bytes_in, bytes_out;
    uint64_t bad_frames;   /* did not decode: connection closed */
    uint64_t oversize;     /* over max_frame: connection closed */
    uint64_t slow_peer;    /* write queue over its cap: connection closed */
    uint64_t closed;
} rf_conn_counters_t;
extern rf_conn_counters_t rf_conn_counters;

/* max_frame: largest accepted body; max_wq: write-queue byte cap.
 * 0 picks the defaults (4 MiB, 16 MiB). Returns NULL on ENOMEM. */
rf_conn_t *rf_conn_new(uv_loop_t *loop, const rf_conn_ops_t *ops, void *data,
                       size_t max_frame, size_t max_wq);

/* Numeric IPv4 host. On error returns <0 and on_close is NOT called:
 * the caller still owns c and must rf_conn_close() it. */
int  rf_conn_connect(rf_conn_t *c, const char *host, uint16_t port);
int  rf_conn_accept(rf_conn_t *c, uv_stream_t *server);

/* Pack and queue. <0 if closing or the write queue is over its cap (in
 * which case the connection is closed as a slow peer). */
int  rf_conn_send(rf_conn_t *c, const Rfpb__Envelope *env);
void rf_conn_close(rf_conn_t *c, const char *reason);
/* Stop (1) or resume (0) reading: what the peer sends waits in the socket
 * (and the peer's write queue, capped) meanwhile. Idempotent; no-op while
 * connecting or closing. <0 is libuv's error. */
int  rf_conn_pause(rf_conn_t *c, int pause);

/* Frame cap and read buffer of accepted connections until the handshake
 * succeeded (a Hello is a few hundred bytes). */
#define RF_CONN_PREAUTH_MAX (16u * 1024u)

/* TLS 1.3 PSK (rf_tls.h) on this connection; plain without a call.
 * Client: before rf_conn_connect. Server: right after rf_conn_accept,
 * before any send (frames sent before the handshake is done are held and
 * go out after it). <0 on ENOMEM. */
typedef int (*rf_conn_lookup_fn)(void *arg, const char *ident, size_t len, uint8_t key[32]);
int  rf_conn_tls_client(rf_conn_t *c, const char *ident, const uint8_t key[32]);
int  rf_conn_tls_server(rf_conn_t *c, rf_conn_lookup_fn fn, void *arg);
/* The identity proved by the TLS handshake ("copy/cap-1"); NULL when the
 * connection is plain or the handshake is not done. */
const char *rf_conn_tls_identity(const rf_conn_t *c);
int  rf_conn_is_tls(const rf_conn_t *c);
/* Lift the pre-authentication frame cap (rf_hs_send_welcome does this). */
void        rf_conn_mark_authed(rf_conn_t *c);
int         rf_conn_is_closing(const rf_conn_t *c);
void       *rf_conn_data(const rf_conn_t *c);
void        rf_conn_set_data(rf_conn_t *c, void *data);
const char *rf_conn_peer(const rf_conn_t *c);   /* "10.0.0.1:5555" */
uint32_t    rf_conn_peer_ip(const rf_conn_t *c); /* host order, 0 unknown */
int         rf_conn_is_loopback(const rf_conn_t *c);
/* Loopback, or the peer's address is the local end's (same host/netns). */
int         rf_conn_is_local(const rf_conn_t *c);
size_t      rf_conn_wq_bytes(const rf_conn_t *c);

/* Bind + listen on "ADDR" (numeric IPv4) and port. */
int rf_listen(uv_tcp_t *srv, uv_loop_t *loop, const char *addr, uint16_t port,
              uv_connection_cb cb);

#endif
