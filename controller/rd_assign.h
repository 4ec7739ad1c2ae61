/* rd_assign.h -- plan + known agents + previous table -> sticky assignment
 * table, and the human diff between two tables (pure: no uv, no I/O).
 *
 * Layout: client_pool is split into 2^block_bits equal blocks, one per
 * intercept (each block is one target route "ip route add BLOCK via
 * ASSISTANT"); each block into 2^slot_bits equal slots, one per copy agent
 * paired with that intercept. Both splits keep headroom, so agents that
 * join take free blocks/slots and nobody else moves. The layout changes
 * only when the pool changes or a split runs out of room; indices are then
 * kept where they still exist.
 *
 * Stickiness is by agent id: intercept -> block index; copy -> (paired
 * intercept, slot index, port offset). Entries of agents that leave the
 * plan stay in the table as inactive "memories", so an agent that comes
 * back gets its old place if nobody took it; new agents prefer places no
 * memory claims. */
#ifndef RD_ASSIGN_H
#define RD_ASSIGN_H

#include <stddef.h>
#include <stdint.h>

#include "rd_plan.h"
#include "rd_shard.h"
#include "rf_ports.h"

/* Same values as rfpb Role, without pulling protobuf into a pure module. */
enum { RD_ROLE_NONE = 0, RD_ROLE_COPY = 1, RD_ROLE_ICPT = 2 };

#define RD_TABLE_MAX   4096   /* entries, active + remembered */
#define RD_HOST_MAX    64
#define RD_OFFSETS     1024   /* port offsets 0..1023 */
#define RD_SLOT_MIN_LEN 28    /* headroom stops before slots smaller than /28 */

/* What the registry knows about one agent (input of compute). */
typedef struct {
    char     id[RD_ID_MAX];
    uint8_t  role;
    uint8_t  up;
    char     advertise[RD_HOST_MAX];   /* intercept: address copy agents dial */
    uint16_t listen_port;
} rd_known_t;

typedef struct {
    char      id[RD_ID_MAX];
    uint8_t   role;
    uint8_t   active;                  /* part of the plan in force */
    int32_t   block;                   /* intercept: block index; -1 none */
    int32_t   slot;                    /* copy: slot in its intercept's block; -1 */
    int32_t   port_offset;             /* copy: 0..1023; -1 */
    char      pair[RD_ID_MAX];         /* copy: paired intercept id */
    char      advertise[RD_HOST_MAX];  /* intercept endpoint host ("" unknown) */
    uint16_t  listen_port;
    rf_cidr_t range;                   /* active only: copy slice / intercept block */
    uint64_t  rate_pps;                /* copy: share of rate_limit_pps (0 = none) */
    char      group[RD_ID_MAX];        /* copy: capture group name ("" none) */
    uint8_t   sharded;                 /* copy: in a shared-feed group: `shard` applies */
    uint8_t   live;                    /* copy, sharded: counted as live when sharded */
    rd_shard_t shard;                  /* copy, sharded: flow buckets it replays */
} rd_entry_t;

typedef struct {
    rf_cidr_t   pool;
    /* Schedule clock of the plan in force (wall-clock ms; 0 = none), kept
     * with the table so it survives a replayd restart: elapsed = now -
     * start - paused (paused_at freezes now while paused). Set by rd_admin,
     * never by compute. */
    uint64_t    sched_start_ms, sched_paused_at_ms, sched_paused_ms;
    uint8_t     has_layout;
    uint8_t     block_bits, slot_bits;
    size_t      n, cap;
    rd_entry_t *e;                     /* owned */
} rd_table_t;

void rd_table_init(rd_table_t *t);
void rd_table_fini(rd_table_t *t);                 /* frees entries; re-inits */
/* Append a copy of *e. RF_EFULL past RD_TABLE_MAX, -ENOMEM. */
int  rd_table_add(rd_table_t *t, const rd_entry_t *e);
rd_entry_t *rd_table_find(const rd_table_t *t, const char *id);   /* borrowed */
/* Recompute every active entry's range from the layout and indices (used
 * after loading a state file: ranges are derived, never trusted). */
int  rd_table_derive_ranges(rd_table_t *t, rf_errbuf_t *err);
/* Check the invariants: active copy slices pairwise disjoint and inside
 * their intercept's block, blocks disjoint and inside the pool, port
 * offsets unique and < 1024; in each shared-feed group, the members' shard
 * sets disjoint and together every bucket. 0 or RF_EPLAN with the first
 * violation. */
int  rd_table_check(const rd_table_t *t, rf_errbuf_t *err);

/* Compute the table for `plan`. `prev` may be NULL (no plan yet). `known`
 * lists registered agents; "*" expands to those of the role that are up,
 * plus those of the role active in prev (a brief outage keeps its place).
 * Members of a shared-feed capture group get the flow buckets rd_shard
 * gives them over the members that are up in `known` (live = 1).
 * On success *out (initialised by this call) is owned by the caller. On
 * failure returns RF_EPLAN (or -ENOMEM) with "path: reason" in err and
 * *out is left empty. */
int rd_assign_compute(rd_table_t *out, const rd_plan_t *plan, const rd_table_t *prev,
                      const rd_known_t *known, size_t nknown, rf_errbuf_t *err);

/* Human diff, one line per agent plus plan-level lines and a summary.
 * old_plan/old may be NULL. *out is malloc'd. 0 or -ENOMEM. */
int rd_assign_diff(char **out, const rd_plan_t *old_plan, const rd_table_t *old,
                   const rd_plan_t *new_plan, const rd_table_t *new_tab);

const char *rd_role_name(int role);   /* "copy", "intercept", "admin", "unknown" */

#endif
