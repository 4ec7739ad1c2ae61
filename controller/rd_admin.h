/* rd_admin.h -- every operation on the controller's state (rd_ctx.h):
 * apply (and dry run), the Assignment an agent gets, Status, routes, agent
 * Hello and liveness bookkeeping.
 *
 * No uv: the server owns sockets and calls in here; the only way out is
 * the `push` callback, which sends one agent its current Assignment. All
 * protobuf built here lives in caller storage or in a reply object freed
 * by its own function. */
#ifndef RD_ADMIN_H
#define RD_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "rd_ctx.h"
#include "rd_loss.h"
#include "replay.pb-c.h"

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
/* After rd_ctx_init restored a plan with a schedule: its values in force
 * are derived again from its clock (the state keeps the plan's own text),
 * before any agent reconnects and is handed the plan's base values. */
void rd_admin_sched_restore(rd_ctx_t *c);
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
    /* target groups: one Output each, with its own rules and sub-range */
    Rfpb__Output       out[RD_TGROUPS_MAX];
    Rfpb__Output       *outp[RD_TGROUPS_MAX];
    Rfpb__TransferRule orule[RD_TGROUPS_MAX][RF_RULES_MAX];
    Rfpb__TransferRule *orulep[RD_TGROUPS_MAX][RF_RULES_MAX];
    Rfpb__Prefix       orange[RD_TGROUPS_MAX];
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

/* replayd's own counters (the pseudo-agent "replayd"): rd_self_defs (rd_ctx.h) plus
 * the gauges agents_up and agents_known; names are static strings; at most
 * RD_SELF_COUNTERS. Returns how many. */
#define RD_SELF_COUNTERS 40
size_t rd_admin_self_counters(const rd_ctx_t *c, const char **names, uint64_t *vals);

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
