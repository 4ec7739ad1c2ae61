/* ic_engine.h -- the intercept's data plane, pure: one captured packet in,
 * header batches out to the copy agent that owns it.
 *   packet -> ic_hdr_parse -> ic_route_lookup -> that peer's ic_batch
 *          -> no owner: SYN/RST parked (ic_park), anything else counted.
 * Owns the route table, the park ring and one batch per copy-agent peer.
 * Does not own the connections: it hands finished batches to ops->send.
 * Time comes in as now_ms; nothing here allocates or logs per packet. */
#ifndef IC_ENGINE_H
#define IC_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "ic_batch.h"
#include "ic_park.h"
#include "ic_route.h"
#include "ic_stats.h"

typedef struct {
    /* Queue one ResponseBatch to the peer registered with `ctx`. `hdrs` is
     * borrowed for the call. 0, or <0: the headers are counted resp_lost.
     * May close the peer's connection, but must not call back into the
     * engine (peer removal comes later, from the close callback). */
    int (*send)(void *ctx, const uint8_t *hdrs, size_t len, uint32_t count);
} ic_engine_ops_t;

typedef struct {
    ic_route_cfg_t route;
    uint32_t       batch_max;      /* headers per batch, 1..IC_BATCH_MAX */
    size_t         park_cap;       /* 0 disables parking */
    uint64_t       park_ttl_ms;
    size_t         expire_budget;  /* tuple slots examined per tick */
} ic_engine_cfg_t;

typedef struct {
    void       *ctx;        /* borrowed from the caller; NULL = free slot */
    ic_batch_t *batch;      /* owned */
    uint8_t     listed;     /* in the engine's to-flush list */
} ic_peer_slot_t;

typedef struct {
    ic_route_t             route;
    ic_park_t              park;
    ic_stats_t            *st;      /* borrowed */
    const ic_engine_ops_t *ops;     /* borrowed */
    ic_peer_slot_t        *peers;   /* route.cfg.max_owners slots */
    uint16_t              *list;    /* slots with a non-empty batch */
    unsigned               nlist;
    uint32_t               batch_max;
    size_t                 expire_budget;
    uint64_t               now_ms;  /* of the call in progress (unpark) */
} ic_engine_t;

/* 0 or -ENOMEM. `ops` and `st` must outlive the engine. */
int  ic_engine_init(ic_engine_t *e, const ic_engine_cfg_t *cfg, const ic_engine_ops_t *ops,
                    ic_stats_t *st);
void ic_engine_fini(ic_engine_t *e);

/* A copy agent passed its handshake: new owner id in *out. RF_EFULL when
 * max_owners are connected, -ENOMEM. */
int  ic_engine_peer_add(ic_engine_t *e, void *ctx, uint32_t *out);
/* Its connection is gone: drop its routes; headers still batched for it are
 * counted resp_lost. Unknown id: no-op. */
void ic_engine_peer_del(ic_engine_t *e, uint32_t id);

int  ic_engine_claim(ic_engine_t *e, uint32_t id, const rf_cidr_t *p, ic_overlap_t *ov);
int  ic_engine_tuple_add(ic_engine_t *e, uint32_t id, const ic_tuple_t *t, uint64_t now_ms);
int  ic_engine_tuple_del(ic_engine_t *e, uint32_t id, const ic_tuple_t *t);

/* One captured packet: `ip` (may be NULL: not IPv4 at the link layer) with
 * `caplen` bytes present and `wire_len` on the wire. Borrowed for the call. */
void ic_engine_on_packet(ic_engine_t *e, const uint8_t *ip, size_t caplen, uint32_t wire_len,
                         uint64_t now_ms);

/* Send every non-empty batch (end of a loop turn, safety timer, exit). */
void ic_engine_flush(ic_engine_t *e);
int  ic_engine_has_pending(const ic_engine_t *e);

/* New owner or registration: deliver what was parked for it. Returns the
 * number delivered. */
size_t ic_engine_unpark(ic_engine_t *e, uint64_t now_ms);

/* Housekeeping: expire parked headers, sweep a slice of the tuple table. */
void ic_engine_tick(ic_engine_t *e, uint64_t now_ms);

/* Walk the route table (ic_route_check), the park ring (ic_park_check),
 * the peer slots and the flush list and check they agree: a peer slot is
 * free when its owner is, every non-empty batch on the flush list exactly
 * once and only live slots there, every batch under its threshold.
 * For tests and fuzz_ic_engine between calls, never the packet path. 0,
 * or -1 with what is wrong in why. */
int  ic_engine_check(const ic_engine_t *e, char *why, size_t len);

#endif
