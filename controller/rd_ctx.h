/* rd_ctx.h -- the controller's whole state: generation, plan in force,
 * sticky table, registry, counter names, replayd's own counters, and the
 * one way out (the push callback). Created from DIR/state.json; changed
 * only by rd_admin (operations) and rd_server (connections, liveness).
 * No uv. */
#ifndef RD_CTX_H
#define RD_CTX_H

#include <stddef.h>
#include <stdint.h>

#include "rd_agent.h"
#include "rd_assign.h"
#include "rd_plan.h"
#include "rd_stats.h"
#include "rf_counters.h"
#include "rf_err.h"

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
    /* Send agent `a` (up, with a live connection) its current Assignment. */
    void        (*push)(struct rd_ctx *c, rd_agent_t *a);
    void         *push_arg;
} rd_ctx_t;

/* Load DIR/state.json if any (fresh state otherwise) and create registry
 * records (down) for every agent it names. rd_ctx_t is large: heap it. */
int  rd_ctx_init(rd_ctx_t *c, const char *state_dir, rf_errbuf_t *err);
void rd_ctx_fini(rd_ctx_t *c);

/* replayd's own counters, described like the agents' (rf_counters.h). */
extern const rf_counter_def_t rd_self_defs[];
extern const size_t           rd_self_ndefs;

#endif
