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

/* The Assignment for `a` in caller storage (borrows c's strings). */
typedef struct {
    Rfpb__Assignment   asg;
    Rfpb__TransferRule rule[RF_RULES_MAX];
    Rfpb__TransferRule *rulep[RF_RULES_MAX];
    Rfpb__Prefix       range, block;
    Rfpb__Endpoint     ep;
    Rfpb__Endpoint     *epp[1];
} rd_asg_buf_t;
void rd_admin_assignment(rd_asg_buf_t *b, const rd_ctx_t *c, const rd_agent_t *a);

/* A Hello passed authentication: find or create the record, check the id
 * is not registered with another role, note the intercept endpoint.
 * `peer_ip` is the fallback advertise address. RF_ESTATE + err on refusal
 * (a copy id reused by an intercept, say). */
int rd_admin_hello(rd_agent_t **out, rd_ctx_t *c, const Rfpb__Hello *h, const char *peer_ip,
                   rf_errbuf_t *err);

/* replayd's own counters (the pseudo-agent "replayd"): rd_self_defs (rd_ctx.h) plus
 * the gauges agents_up and agents_known; names are static strings; at most
 * RD_SELF_COUNTERS. Returns how many. */
#define RD_SELF_COUNTERS 32
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
