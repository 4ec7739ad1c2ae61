/* ic_route.h -- who owns a response: copy-agent owners, their claimed client
 * prefixes (longest-prefix match) and registered single 4-tuples (exact match,
 * idle expiry, capped). Pure: no I/O, no clock (now_ms is passed in), no uv.
 *
 * Owners are small handles (slot | generation << 16). Deleting an owner bumps
 * its slot's generation, so tuples it registered become stale at once and are
 * reaped lazily: a new connection can never inherit a closed one's routes
 * (tcpcopy keys routes by fd and does; notes 3.5).
 *
 * Not owned here: the connections themselves, batches, parked packets. */
#ifndef IC_ROUTE_H
#define IC_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "ic_stats.h"
#include "rf_cidr.h"

#define IC_OWNER_NONE 0u
#define IC_OWNER_SLOT(id) ((id) & 0xffffu)

/* A replayed 4-tuple as the target sees it; host order. */
typedef struct {
    uint32_t client_ip, target_ip;
    uint16_t client_port, target_port;
} ic_tuple_t;

typedef struct {
    uint32_t   addr;
    uint8_t    len;
    uint32_t   owner;
} ic_prefix_ent_t;

typedef struct {
    uint32_t client_ip, target_ip;
    uint16_t client_port, target_port;
    uint32_t owner;         /* IC_OWNER_NONE = empty slot */
    uint64_t used_ms;       /* last add or lookup */
} ic_tuple_ent_t;

typedef struct {
    uint16_t gen;           /* never 0 */
    uint8_t  used;
} ic_owner_slot_t;

typedef struct {
    unsigned max_owners;    /* 1..65535 */
    unsigned max_prefixes;  /* total over all owners */
    size_t   max_tuples;    /* table holds 2x this many slots */
    uint64_t tuple_ttl_ms;  /* idle expiry */
} ic_route_cfg_t;

typedef struct {
    ic_route_cfg_t   cfg;
    ic_stats_t      *st;          /* borrowed; prefixes/tuples counters */
    ic_owner_slot_t *owners;
    /* Prefixes sorted by length (longest first), then address: one binary
     * search per length present answers a lookup. */
    ic_prefix_ent_t *pfx;
    unsigned         npfx;
    unsigned         len_start[34];   /* length L: [len_start[L+1], len_start[L]) */
    uint64_t         len_mask;        /* bit L set: some prefix of length L */
    ic_tuple_ent_t  *tup;
    size_t           tup_mask;        /* slots - 1 (power of two) */
    size_t           ntup;
    size_t           sweep;           /* expiry cursor */
    uint64_t         seed;
} ic_route_t;

/* How a claim related to what was there. */
typedef enum {
    IC_OVERLAP_NONE = 0,
    IC_OVERLAP_EQUAL,       /* same prefix held by another owner: taken over */
    IC_OVERLAP_NESTED,      /* overlaps another owner's prefix: both kept, LPM decides */
} ic_overlap_kind_t;

typedef struct {
    ic_overlap_kind_t kind;
    uint32_t          other;      /* the other owner (first one found) */
    rf_cidr_t         other_pfx;
    unsigned          n;          /* how many other-owner prefixes overlap */
} ic_overlap_t;

/* 0, or -ENOMEM. `st` is borrowed for the table's lifetime. */
int  ic_route_init(ic_route_t *r, const ic_route_cfg_t *cfg, ic_stats_t *st);
void ic_route_fini(ic_route_t *r);

/* New owner handle in *out. RF_EFULL at max_owners. */
int  ic_route_owner_add(ic_route_t *r, uint32_t *out);
/* Drops the owner's prefixes now and its tuples lazily. Unknown id: no-op. */
void ic_route_owner_del(ic_route_t *r, uint32_t owner);
int  ic_route_owner_alive(const ic_route_t *r, uint32_t owner);

/* Claim a prefix (host bits must be zero: RF_EPARSE). Overlaps with other
 * owners are reported in *ov (may be NULL) and counted in route_overlaps;
 * an exactly equal prefix moves to the newest claimant, anything else is
 * kept alongside. RF_EFULL at max_prefixes, RF_ESTATE for a dead owner. */
int  ic_route_claim(ic_route_t *r, uint32_t owner, const rf_cidr_t *p, ic_overlap_t *ov);

/* Register a tuple for owner (re-registering moves it: latest wins).
 * RF_EFULL when the table is at max_tuples (counted tuples_full). */
int  ic_route_tuple_add(ic_route_t *r, uint32_t owner, const ic_tuple_t *t, uint64_t now_ms);
/* Remove a tuple if `owner` holds it. 1 removed, 0 not found / not held. */
int  ic_route_tuple_del(ic_route_t *r, uint32_t owner, const ic_tuple_t *t);

/* Owner of a response travelling target -> client (so client = response
 * destination). The tuple table wins over prefixes. IC_OWNER_NONE if none. */
uint32_t ic_route_lookup(ic_route_t *r, uint32_t dst_ip, uint16_t dst_port, uint32_t src_ip,
                         uint16_t src_port, uint64_t now_ms);

/* Look at up to `budget` tuple slots from where the last call stopped and
 * drop idle or orphaned entries. Returns how many were dropped. */
size_t ic_route_expire(ic_route_t *r, uint64_t now_ms, size_t budget);

/* Walk the owners, the prefix array and the tuple table and check they
 * agree: prefixes sorted, unique and indexed by length, held by live
 * owners; every tuple reachable from its home slot (no empty slot on its
 * probe path), counts equal to the stats gauges. O(owners + prefixes +
 * slots): for tests and fuzzers between calls, never the packet path. 0, or
 * -1 with what is wrong in why. */
int    ic_route_check(const ic_route_t *r, char *why, size_t len);

#endif
