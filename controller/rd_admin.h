/* rd_admin.h -- the controller's state (generation, plan in force, sticky
 * table, registry, counters) and every operation on it: apply (and dry
 * run), the Assignment an agent gets, Status, routes, agent Hello and
 * liveness bookkeeping.
 *
 * No uv: the server owns sockets and calls in here; the only way out is
 * the `push` callback, which sends one agent its current Assignment. All
 * protobuf built here lives in caller storage or in a reply object freed
 * by its own function. */
#ifndef RD_ADMIN_H
#define RD_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "rd_agent.h"
#include "rd_assign.h"
#include "rd_plan.h"
#include "rd_stats.h"
#include "rf_counters.h"
#include "replay.pb-c.h"

/* replayd's own counters, shown as the pseudo-agent "replayd". */
typedef struct {
    uint64_t auth_failures;      /* bad Hello: MAC, role, version, id */
    uint64_t bad_state;          /* message not valid in the connection state */
    uint64_t hello_timeouts;     /* no Hello within the handshake deadline */
    uint64_t heartbeat_timeouts; /* agent silent past --heartbeat-timeout */
    uint64_t replaced;           /* same id reconnected: old connection closed */
    uint64_t conns_accepted, conns_refused;
    uint64_t applies, applies_rejected, dry_runs, reapplies;
    uint64_t state_write_errors;
    uint64_t acks_failed;        /* Ack{ok=false} from an agent */
    uint64_t stats_msgs;
    uint64_t doctor_runs;        /* replayctl doctor requests served */
    uint64_t canary_results;     /* CanaryResults taken */
    uint64_t canary_ignored;     /* late, duplicate or for another run */
    uint64_t metrics_renders;    /* Prometheus pages rendered */
    uint64_t metrics_scrapes;    /* GET /metrics served (copied from rd_metrics) */
    uint64_t bad_frames, oversize, slow_peers;   /* copied from rf_conn_counters */
    uint64_t tls_handshake_failures, tls_record_errors;   /* copied from rf_tls_counters */
    uint64_t preauth_dropped;    /* pending connection closed for a newer one (flood) */
    uint64_t preauth_refused;    /* over the per-source pending cap */
    uint64_t agents_evicted;     /* never-planned, down records dropped for new ones */
    uint64_t reshards;           /* capture-group member up/down: buckets moved (rd_groups) */
    uint64_t shard_sessions_lost; /* sessions a departed group member had open (its last sess_active) */
} rd_counters_t;

typedef struct rd_ctx {
    char          state_dir[1024];
    uint64_t      generation;
    rd_plan_t    *plan;            /* owned; NULL: no plan applied yet */
    rd_table_t    table;           /* sticky assignments of the plan in force */
    rd_registry_t reg;
    rd_names_t    names;
    rd_counters_t ctr;
    uint64_t      heartbeat_timeout_ms;
    int           reapply_pending; /* a "*" plan should take in new agents */
    uint64_t    (*wall_ms)(void);  /* schedule clock (wall time: survives restarts); tests set it */
    uint64_t      sched_tried;     /* schedule values whose re-apply failed (no retry storm) */
    /* Send agent `a` (up, with a live connection) its current Assignment. */
    void        (*push)(struct rd_ctx *c, rd_agent_t *a);
    void         *push_arg;
} rd_ctx_t;

/* Load DIR/state.json if any (fresh state otherwise) and create registry
 * records (down) for every agent it names. rd_ctx_t is large: heap it. */
int  rd_ctx_init(rd_ctx_t *c, const char *state_dir, rf_errbuf_t *err);
void rd_ctx_fini(rd_ctx_t *c);

typedef struct {
    int         code;       /* 0, RF_EPLAN (rejected), or -errno (state write) */
    uint64_t    generation; /* in force after the call */
    char       *diff;       /* owned; NULL on rejection */
    rd_plan_errs_t err;     /* every reason, one "path: reason" per line */
} rd_apply_result_t;

/* Validate + compute + diff; unless dry_run, persist then commit (bump
 * generation, push every connected agent). Nothing changes unless the
 * state file was written. Returns res->code. */
int  rd_admin_apply(rd_ctx_t *c, rd_apply_result_t *res, const char *json, size_t len,
                    int dry_run);
void rd_apply_result_fini(rd_apply_result_t *res);

/* Apply the plan in force again (new generation) keeping its schedule
 * clock: capture-group re-shards, "*" plans taking in new agents, schedule
 * steps. Returns res->code. */
int rd_admin_reapply(rd_ctx_t *c, rd_apply_result_t *res);

/* Schedules (rd_sched.h): when the values the schedule asks for now differ
 * from those in force, re-apply (a new generation). Returns 1 when it did,
 * 0 when nothing was due, <0 on failure (logged once per value set). */
int rd_sched_tick(rd_ctx_t *c);
/* Pause (1) or resume (0) the schedule of the plan in force; persisted.
 * 0, or RF_ESTATE with the reason (no schedule, already paused, ...). A
 * line saying where the schedule stands goes into msg. */
int rd_admin_schedule(rd_ctx_t *c, int pause, char *msg, size_t len);
/* The schedule clock: c->wall_ms() if set, else CLOCK_REALTIME in ms. */
uint64_t rd_admin_wall_ms(const rd_ctx_t *c);

/* The Assignment for `a` in caller storage (borrows c's strings). */
typedef struct {
    Rfpb__Assignment   asg;
    Rfpb__TransferRule rule[RF_RULES_MAX];
    Rfpb__TransferRule *rulep[RF_RULES_MAX];
    Rfpb__Prefix       range, block;
    Rfpb__Endpoint     ep;
    Rfpb__Endpoint     *epp[1];
    Rfpb__ShardSet     shard;
} rd_asg_buf_t;
void rd_admin_assignment(rd_asg_buf_t *b, const rd_ctx_t *c, const rd_agent_t *a);

/* A Hello passed authentication: find or create the record, check the id
 * is not registered with another role, note the intercept endpoint.
 * `peer_ip` is the fallback advertise address. RF_ESTATE + err on refusal
 * (a copy id reused by an intercept, say). */
int rd_admin_hello(rd_agent_t **out, rd_ctx_t *c, const Rfpb__Hello *h, const char *peer_ip,
                   rf_errbuf_t *err);

/* Capture groups (rd_groups.c): when a member of a shared-feed group came
 * up or went down since its buckets were computed, re-apply the plan in
 * force (new generation; only that member's buckets move). Nothing happens
 * during the first heartbeat timeout after `started_ms` (agents are still
 * reconnecting after a replayd restart) nor for a group with no member up.
 * Returns 1 when it re-sharded, 0 when nothing was due, <0 when the
 * re-apply failed (logged; tried again next tick). */
int rd_groups_tick(rd_ctx_t *c, uint64_t now_ms, uint64_t started_ms);

/* replayd's own counters, described like the agents' (rf_counters.h). */
extern const rf_counter_def_t rd_self_defs[];
extern const size_t           rd_self_ndefs;

/* replayd's own counters (the pseudo-agent "replayd"): the table above plus
 * the gauges agents_up and agents_known; names are static strings; at most
 * RD_SELF_COUNTERS. Returns how many. */
#define RD_SELF_COUNTERS 40
size_t rd_admin_self_counters(const rd_ctx_t *c, const char **names, uint64_t *vals);

/* Loss counters of each role (RD_ROLE_NONE: replayd's own): what a
 * non-zero value means and the hop it points at. */
typedef struct {
    int         role;
    const char *counter;   /* wire name */
    const char *meaning;
    const char *hop;
} rd_loss_def_t;
extern const rd_loss_def_t rd_loss_defs[];
extern const size_t        rd_loss_ndefs;
const rd_loss_def_t *rd_loss_find(int role, const char *name);

/* Status reply (heap); free with rd_admin_status_free. NULL on ENOMEM.
 * summary: agent rows carry only the counters `replayctl status` shows
 * (its header and rows, and every loss counter); totals are complete but
 * never include gauges (declared kinds: sess_active, generation, ...). */
Rfpb__StatusReply *rd_admin_status(rd_ctx_t *c, uint64_t now_ms, int summary);
void               rd_admin_status_free(Rfpb__StatusReply *r);

/* "ip route add BLOCK via ADVERTISE" per active intercept; NULL-terminated
 * heap array (free with rd_admin_routes_free). */
char **rd_admin_routes(const rd_ctx_t *c, size_t *n);
void   rd_admin_routes_free(char **lines);

#endif
