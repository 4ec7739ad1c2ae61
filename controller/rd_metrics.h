/* rd_metrics.h -- the fleet's counters as Prometheus text (exposition
 * format 0.0.4): rendering (pure, runs on the uv loop) and the HTTP side
 * (libmicrohttpd, its own thread).
 *
 * Threads: replayd's state is single-threaded. The loop renders the whole
 * page into a heap buffer (rd_metrics_render) and hands it over with
 * rd_metrics_publish(); the MHD thread only ever copies the latest
 * published buffer under a mutex. A scrape that finds the page older than
 * 1 s wakes the loop (uv_async) and waits up to 1 s for a fresh one (else
 * it serves the older page): at most one render per second however many
 * scrapers, none while nobody scrapes (1,000 agents: a 2 MB page, ~10 ms
 * to render), and agents report only every second anyway.
 *
 * Compressed with gzip when the scraper's Accept-Encoding allows it
 * (Prometheus always asks; the page of a 1,000-agent fleet is ~2 MB plain,
 * a few percent of that gzipped), once per rendered page.
 *
 * Families follow the Prometheus naming guide (docs/CLI.md lists them):
 *   replayfleet_build_info{version,protocol}           1
 *   replayfleet_copy_<name>{agent}                     the copy agents' counter
 *   replayfleet_intercept_<name>{agent}                table (cp_stats.c, ic_stats.c):
 *                                                      name, type and help declared there
 *   replayfleet_controller_<name>                      replayd's own (rd_self_defs)
 *   replayfleet_agent_up / _last_seen_timestamp_seconds / _acked_generation /
 *     _info {agent,role}
 *   replayfleet_agents{role,state}, replayfleet_plan_generation,
 *   replayfleet_plan_copies, replayfleet_plan_rate_limit_packets_per_second
 *   process_* (cpu, memory, fds, start time) of replayd
 * No fleet totals: sum() in PromQL does that without double counting. */
#ifndef RD_METRICS_H
#define RD_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "rd_ctx.h"
#include "rf_err.h"

/* "cap.pkts" -> "cap_pkts" into buf; 0, or -1 if it does not fit. */
int rd_metrics_sanitize(const char *name, char *buf, size_t len);

/* Render the page. *out is heap (free()), *len its length. May intern
 * replayd's own counter names into c->names (as status does). 0 or
 * -ENOMEM. */
int rd_metrics_render(char **out, size_t *len, rd_ctx_t *c, uint64_t now_ms);

typedef struct rd_metrics rd_metrics_t;

/* Called on the loop when a scrape wants a fresh page; it renders and
 * calls rd_metrics_publish. */
typedef void (*rd_metrics_refresh_fn)(void *arg);

/* Start the HTTP server on host:port (numeric IPv4) serving GET /metrics.
 * `loop` gets an async handle (closed by rd_metrics_stop). */
int  rd_metrics_start(rd_metrics_t **out, uv_loop_t *loop, const char *host, uint16_t port,
                      rd_metrics_refresh_fn fn, void *arg, rf_errbuf_t *err);
/* Hand over a rendered page (takes ownership of buf). Loop thread. */
void rd_metrics_publish(rd_metrics_t *m, char *buf, size_t len, uint64_t now_ms);
/* Stop the HTTP thread (joins it: at most ~1 s), close the async handle;
 * memory is freed in its close callback, so run the loop afterwards. */
void rd_metrics_stop(rd_metrics_t *m);
uint64_t rd_metrics_scrapes(const rd_metrics_t *m);

#endif
