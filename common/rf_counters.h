/* rf_counters.h -- a counters struct described by a name table, so one
 * definition feeds Stats messages, --stats-json lines and tests. */
#ifndef RF_COUNTERS_H
#define RF_COUNTERS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "replay.pb-c.h"

typedef struct {
    const char *name;
    size_t      off;    /* offsetof a uint64_t field */
} rf_counter_def_t;

#define RF_COUNTER(type, field) { #field, offsetof(type, field) }

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

#endif
