/* rf_counters.h -- a counters struct described by a name table, so one
 * definition feeds Stats messages, --stats-json lines, tests, and the
 * Prometheus page replayd renders (which links the agents' tables: the
 * type and help of every family come from here, never from the name). */
#ifndef RF_COUNTERS_H
#define RF_COUNTERS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "replay.pb-c.h"

enum { RF_KIND_COUNTER = 0, RF_KIND_GAUGE = 1 };

typedef struct {
    const char *name;   /* wire name: Stats messages, --stats-json, status */
    size_t      off;    /* offsetof a uint64_t field */
    int         kind;   /* RF_KIND_COUNTER (only grows) or RF_KIND_GAUGE (a level) */
    const char *prom;   /* Prometheus name after "replayfleet_<role>_", per the
                         * naming guide: base unit, counters end in _total */
    const char *help;   /* one sentence for # HELP: what it counts, and why it matters */
} rf_counter_def_t;

/* One row per counter, so adding a counter is a one-line change. */
#define RF_COUNTER(type, field, prom, help) \
    { #field, offsetof(type, field), RF_KIND_COUNTER, prom, help }
#define RF_GAUGE(type, field, prom, help) \
    { #field, offsetof(type, field), RF_KIND_GAUGE, prom, help }

/* The row named `name` (wire name), or NULL. */
const rf_counter_def_t *rf_counter_find(const rf_counter_def_t *defs, size_t n, const char *name);

static inline uint64_t
rf_counter_get(const void *base, const rf_counter_def_t *d)
{
    return *(const uint64_t *)(const void *)((const char *)base + d->off);
}

/* Fill caller storage (n entries each) with name/value pairs for a Stats
 * message; pointers borrow the static names. */
void rf_counters_to_pb(Rfpb__Counter *store, Rfpb__Counter **ptrs, const rf_counter_def_t *defs,
                       size_t n, const void *base);
/* {"name":value,...} without a trailing newline. */
void rf_counters_json(FILE *fp, const rf_counter_def_t *defs, size_t n, const void *base);

/* s as a JSON string, quotes included: '"' and '\' escaped, control
 * bytes as \u00XX (an id is the operator's text and may hold anything). */
void rf_json_str(FILE *fp, const char *s);

/* One --stats-json line, the format both agents write, then flushed:
 *   {"ts_ms":T,"program":"P","id":"ID","generation":G,"counters":{...}}
 * T is the wall clock in ms. */
void rf_counters_stats_line(FILE *fp, const char *program, const char *id, uint64_t generation,
                            const rf_counter_def_t *defs, size_t n, const void *base);

#endif
