/* ic_peer.h -- replay-intercept's copy-agent channel protocol, pure: what
 * one connection's messages do to the engine.
 *   WAIT_HELLO --good Hello--> READY (the loop then sends Welcome)
 *   WAIT_HELLO accepts only Hello; READY accepts TupleRegister and
 *   Heartbeat. Anything else, or a bad message: a refusal, which the loop
 *   sends as an Error before it closes the connection.
 * Owns only the ic_peer_t it is handed. The loop owns the connection and
 * embeds an ic_peer_t in its connection record; the engine's per-owner ctx
 * is that ic_peer_t (the loop gets its record back with container_of).
 * Counts proto_errors, auth_failures, copy_refused and the copy_conns
 * gauge; logs a connect and route overlaps. No uv.h. */
#ifndef IC_PEER_H
#define IC_PEER_H

#include <stdint.h>

#include "ic_engine.h"
#include "replay.pb-c.h"
#include "rf_err.h"

#define IC_MAX_OWNED 256u   /* prefixes per Hello */

typedef enum {
    IC_PEER_WAIT_HELLO = 0,
    IC_PEER_READY,
    IC_PEER_GONE,   /* ic_peer_gone was called: no more messages */
} ic_peer_state_t;

typedef struct {
    ic_peer_state_t state;
    uint32_t        owner;      /* engine id once added, else IC_OWNER_NONE */
    char            id[64];     /* from Hello, log-safe */
    char            addr[48];   /* "ip:port" of the connection, for logs */
} ic_peer_t;

/* What every connection shares. */
typedef struct {
    ic_engine_t *eng;
    ic_stats_t  *st;
    int          insecure;      /* --insecure: plain non-loopback peers allowed */
} ic_peer_env_t;

/* What the channel proved about this connection when a message arrives. */
typedef struct {
    const char *tls_identity;   /* "copy/ID", NULL when plain */
    int         loopback;
} ic_peer_link_t;

typedef enum {
    IC_PEER_OK = 0,   /* handled, nothing to send */
    IC_PEER_WELCOME,  /* Hello accepted: send Welcome */
    IC_PEER_REFUSE,   /* send an Error with `why`, close */
} ic_peer_verdict_t;

typedef struct {
    int         code;                 /* RF_E* or -errno, for the Error */
    const char *reason;               /* static string: the close reason */
    char        detail[RF_ERRBUF_LEN];/* the Error's text, and the log's */
} ic_peer_refusal_t;

/* A new connection from `addr` ("10.0.0.1:5555"). */
void ic_peer_init(ic_peer_t *p, const char *addr);

/* One decoded message on p's connection. On IC_PEER_REFUSE `why` is
 * filled and p's engine state stays until ic_peer_gone. */
ic_peer_verdict_t ic_peer_on_msg(const ic_peer_env_t *env, ic_peer_t *p,
                                 const ic_peer_link_t *link, const Rfpb__Envelope *m,
                                 uint64_t now_ms, ic_peer_refusal_t *why);

/* The connection is gone: drop p's routes and tuples, update the gauge;
 * p->state becomes IC_PEER_GONE (read it first to know whether it was
 * READY). Idempotent. */
void ic_peer_gone(const ic_peer_env_t *env, ic_peer_t *p);

/* A wire tuple into the engine's: RF_EPARSE on a NULL tuple or a port over
 * 65535. */
int ic_peer_tuple_from_pb(ic_tuple_t *t, const Rfpb__Tuple *x);

#endif
