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
 * Families (names sanitised: [a-zA-Z0-9_] only, prefixed "replayfleet_"):
 *   replayfleet_<counter>{agent,role}   one family per counter name the
 *                                       agents send (and replayd's own,
 *                                       agent="replayd" role="controller")
 *                                       (except names that would collide
 *                                       with the families below: generation,
 *                                       agents, requested_*, agent_*, total_*)
 *   replayfleet_total_<counter>         fleet total, same rule as
 *                                       `replayctl status --json` totals
 *   replayfleet_agent_up / _last_seen_seconds / _generation / _info
 *   replayfleet_generation, replayfleet_requested_copies,
 *   replayfleet_requested_rate_pps, replayfleet_agents{role,state} */
#ifndef RD_METRICS_H
#define RD_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "rd_admin.h"
#include "rf_err.h"

/* 1 if a counter name is a level (gauge), 0 if it only grows (counter). */
int rd_metrics_is_gauge(const char *name);

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
