/* rd_stats.h -- agent counters aggregated BY NAME (pure).
 *
 * Agents send Stats as a generic list of (name, value); replayd never
 * hard-codes counter names. Names are interned once per process
 * (rd_names_t) so each agent keeps only small index/value arrays. Values
 * are cumulative as sent by the agent; rates are per second between two
 * consecutive Stats. A value that goes down (agent restarted) restarts the
 * rate from zero rather than reporting a negative rate. */
#ifndef RD_STATS_H
#define RD_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "rf_counters.h"

#define RD_NAMES_MAX          512   /* distinct counter names per process */
#define RD_CNAME_MAX          48    /* bytes incl. NUL */
#define RD_AGENT_COUNTERS_MAX 112   /* counters kept per agent (copy: 55 + 6 per target group) */

typedef struct {
    size_t n;
    char   name[RD_NAMES_MAX][RD_CNAME_MAX];
} rd_names_t;

typedef struct {
    uint16_t n;
    uint16_t id[RD_AGENT_COUNTERS_MAX];     /* index into rd_names_t */
    uint64_t value[RD_AGENT_COUNTERS_MAX];
    float    rate[RD_AGENT_COUNTERS_MAX];   /* per second */
    uint64_t at_ms;                         /* when the last Stats arrived; 0 never */
    uint64_t ignored;                       /* bad names or over the caps */
} rd_stats_t;

/* Index of `name`, interning it. <0: not [a-z0-9_.], too long, or full. */
int rd_names_intern(rd_names_t *t, const char *name);

/* One Stats message: begin with the arrival time, put each counter (k is
 * its position in the message: agents send a stable order, so it is a
 * cheap hint), then end. */
void rd_stats_begin(rd_stats_t *s, uint64_t now_ms, uint64_t *dt_ms);
void rd_stats_put(rd_stats_t *s, rd_names_t *names, unsigned k, const char *name, uint64_t value,
                  uint64_t dt_ms);
void rd_stats_end(rd_stats_t *s, uint64_t now_ms);

/* Add s into per-name totals (arrays of RD_NAMES_MAX, caller zeroed). */
void rd_stats_accumulate(const rd_stats_t *s, uint64_t *total, double *rate, uint8_t *present);

/* The declared type/Prometheus name/help of counter `name` as an agent of
 * `role` (RD_ROLE_COPY, RD_ROLE_ICPT) sends it: the agents' own tables are
 * linked into replayd. NULL if this build does not know the name (a newer
 * agent): the caller exports it untyped rather than guess from the name. */
const rf_counter_def_t *rd_stats_meta(int role, const char *name);
/* The whole table of a role (n rows), NULL for another role. */
const rf_counter_def_t *rd_stats_table(int role, size_t *n);

/* The copy agents' per-target-group counters (cp_out_stats_t), sent as
 * "tg<N>_<name>"; rd_stats_tg_name splits such a name (1) or says it is
 * not one (0). */
const rf_counter_def_t *rd_stats_out_table(size_t *n);
int rd_stats_tg_name(const char *name, unsigned *g, const char **rest);

/* Value of a counter by name, 0 if absent. */
uint64_t rd_stats_get(const rd_stats_t *s, const rd_names_t *names, const char *name);

#endif
