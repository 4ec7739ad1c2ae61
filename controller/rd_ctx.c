/* rd_ctx.c -- the controller state: loaded from state.json, freed; and the
 * table that describes replayd's own counters. */
#include "rd_ctx.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "rd_state.h"

int
rd_ctx_init(rd_ctx_t *c, const char *state_dir, rf_errbuf_t *err)
{
    memset(c, 0, sizeof(*c));
    rd_table_init(&c->table);
    rd_registry_init(&c->reg);
    c->heartbeat_timeout_ms = 5000;
    if (strlen(state_dir) >= sizeof(c->state_dir))
        return rf_err_set(err, -ENAMETOOLONG, "state dir path too long");
    snprintf(c->state_dir, sizeof(c->state_dir), "%s", state_dir);
    int r = rd_state_load(&c->generation, &c->plan, &c->table, state_dir, err);
    if (r == -ENOENT)
        return 0;
    if (r != 0)
        return r;
    for (size_t i = 0; i < c->table.n; i++) {
        const rd_entry_t *e = &c->table.e[i];
        rd_agent_t *a;
        if ((r = rd_registry_add(&a, &c->reg, e->id, e->role)) != 0)
            return rf_err_set(err, r, "registry: %s", rf_strerror(r));
        snprintf(a->advertise, sizeof(a->advertise), "%s", e->advertise);
        a->listen_port = e->listen_port;
        snprintf(a->down_reason, sizeof(a->down_reason), "not reconnected since restart");
    }
    return 0;
}

void
rd_ctx_fini(rd_ctx_t *c)
{
    rd_plan_free(c->plan);
    rd_table_fini(&c->table);
    rd_registry_fini(&c->reg);
}

/* replayd's own counters: wire name (status), field, Prometheus name after
 * "replayfleet_controller_", help. One row per counter. */
#define C(nm, f, prom, help) { nm, offsetof(rd_counters_t, f), RF_KIND_COUNTER, prom, help }
const rf_counter_def_t rd_self_defs[] = {
    C("auth_failures", auth_failures, "auth_failures_total", "Hellos refused: MAC, role, version or id."),
    C("bad_state", bad_state, "bad_state_messages_total", "Messages not valid in the connection state (connection closed)."),
    C("bad_frames", bad_frames, "bad_frames_total", "Undecodable frames (connection closed)."),
    C("oversize_frames", oversize, "oversize_frames_total", "Frames over the channel maximum (connection closed)."),
    C("slow_peers", slow_peers, "slow_peers_total", "Peers closed because their write queue passed its cap."),
    C("hello_timeouts", hello_timeouts, "hello_timeouts_total", "Connections closed without a Hello within the deadline."),
    C("heartbeat_timeouts", heartbeat_timeouts, "heartbeat_timeouts_total", "Agents marked down after staying silent past --heartbeat-timeout."),
    C("replaced_conns", replaced, "replaced_connections_total", "Agent connections closed because the same id connected again."),
    C("conns_accepted", conns_accepted, "connections_accepted_total", "TCP connections accepted."),
    C("conns_refused", conns_refused, "connections_refused_total", "TCP connections refused over the connection cap."),
    C("applies", applies, "plan_applies_total", "Plans applied (generation bumped)."),
    C("applies_rejected", applies_rejected, "plan_rejections_total", "Plans rejected (invalid, or the state write failed)."),
    C("dry_runs", dry_runs, "plan_dry_runs_total", "Dry-run applies served."),
    C("reapplies", reapplies, "plan_reapplies_total", "Automatic re-applies of a \"*\" plan to take in new agents."),
    C("state_write_errors", state_write_errors, "state_write_errors_total", "Failed writes of state.json."),
    C("acks_failed", acks_failed, "assignment_nacks_total", "Assignments an agent acknowledged with ok=false."),
    C("stats_msgs", stats_msgs, "stats_messages_total", "Stats messages received from agents."),
    C("doctor_runs", doctor_runs, "doctor_runs_total", "replayctl doctor requests served."),
    C("canary_results", canary_results, "canary_results_total", "Canary results taken from agents."),
    C("canary_ignored", canary_ignored, "canary_results_ignored_total", "Canary results late, duplicate or for another run."),
    C("metrics_renders", metrics_renders, "metrics_renders_total", "Prometheus pages rendered."),
    C("metrics_scrapes", metrics_scrapes, "metrics_scrapes_total", "GET /metrics requests served."),
    C("tls_handshake_failures", tls_handshake_failures, "tls_handshake_failures_total", "TLS handshakes that failed (wrong key, unknown identity, garbage)."),
    C("tls_record_errors", tls_record_errors, "tls_record_errors_total", "TLS records that failed to decrypt or verify after the handshake (connection closed)."),
    C("preauth_dropped", preauth_dropped, "preauth_dropped_total", "Unauthenticated connections dropped to make room (oldest of the busiest source first)."),
    C("preauth_refused", preauth_refused, "preauth_refused_total", "Unauthenticated connections refused over the per-source or global pre-auth cap."),
    C("agents_evicted", agents_evicted, "agents_evicted_total", "Registry records of never-planned, down agents evicted to make room."),
};
#undef C
const size_t rd_self_ndefs = sizeof(rd_self_defs) / sizeof(rd_self_defs[0]);
