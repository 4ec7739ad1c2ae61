/* rf_ctlclient.h -- the agent side of the agent -> controller channel, shared
 * by replay-copy and replay-intercept.
 *
 * Owns: one rf_conn to replayd at a time, the handshake (Challenge -> Hello
 * with the HMAC answer -> Welcome), Assignment -> callback -> Ack, periodic
 * Stats + Heartbeat, and reconnection with capped exponential backoff and
 * jitter (250 ms doubling to 10 s, +-20%). It never exits the process and
 * never drops the agent's assignment: while disconnected the agent keeps
 * running on the last one it accepted (that state lives with the caller).
 * Does not own: what an assignment means (ops->on_assignment), the counters
 * (ops->fill_stats). Every string from the config is copied at start. */
#ifndef RF_CTLCLIENT_H
#define RF_CTLCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "replay.pb-c.h"
#include "rf_auth.h"
#include "rf_err.h"

/* Forward declaration so callers need not include uv.h (same typedef). */
struct uv_loop_s;
typedef struct uv_loop_s uv_loop_t;

typedef struct rf_ctlclient rf_ctlclient_t;

typedef struct {
    /* New assignment (borrowed: copy what you keep). Return 0 to Ack ok;
     * <0 with err filled to Ack a refusal. */
    int    (*on_assignment)(void *data, const Rfpb__Assignment *a, rf_errbuf_t *err);
    /* Fill up to `max` counters for a Stats message; return how many.
     * Names may point at static strings; they are read before this returns
     * to the loop. */
    size_t (*fill_stats)(void *data, Rfpb__Counter *store, Rfpb__Counter **ptrs, size_t max);
    void   (*on_state)(void *data, int connected);   /* may be NULL */
    /* Any other message after Welcome (e.g. CanaryRequest). Return 0 if
     * handled; <0 closes the connection as a protocol error. May be NULL. */
    int    (*on_other)(void *data, const Rfpb__Envelope *env);
} rf_ctlclient_ops_t;

typedef struct {
    const char *host; uint16_t port;               /* controller (numeric IPv4) */
    const char *id; Rfpb__Role role;
    const char *advertise; uint16_t listen_port;   /* intercept only */
    const rf_auth_key_t *key;                      /* may be NULL/len 0 */
    const char *const *interfaces; size_t n_interfaces;
    unsigned stats_interval_ms;                    /* default 1000 */
} rf_ctlclient_cfg_t;

/* Copy cfg, start connecting. 0, RF_EPARSE (bad host/port/id, err logged),
 * or -ENOMEM. ops and data must outlive the client. */
int  rf_ctlclient_start(rf_ctlclient_t **out, uv_loop_t *loop, const rf_ctlclient_cfg_t *cfg,
                        const rf_ctlclient_ops_t *ops, void *data);
/* Close the connection and timers; memory is freed in the close callbacks,
 * so run the loop afterwards. No callbacks are made after this. NULL ok. */
void rf_ctlclient_stop(rf_ctlclient_t *c);
uint64_t rf_ctlclient_generation(const rf_ctlclient_t *c);  /* last acked (ok) generation */
int  rf_ctlclient_connected(const rf_ctlclient_t *c);       /* 1 after Welcome */
/* Send a message to the controller (after Welcome). <0 when not connected. */
int  rf_ctlclient_send(rf_ctlclient_t *c, const Rfpb__Envelope *env);

#endif
