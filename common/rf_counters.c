/* rf_counters.c -- name-table driven counter export. */
#include "rf_counters.h"

#include <inttypes.h>
#include <string.h>

const rf_counter_def_t *
rf_counter_find(const rf_counter_def_t *defs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(defs[i].name, name) == 0)
            return &defs[i];
    return NULL;
}

void
rf_counters_to_pb(Rfpb__Counter *store, Rfpb__Counter **ptrs, const rf_counter_def_t *defs,
                  size_t n, const void *base)
{
    for (size_t i = 0; i < n; i++) {
        rfpb__counter__init(&store[i]);
        store[i].name = (char *)defs[i].name;
        store[i].value = rf_counter_get(base, &defs[i]);
        ptrs[i] = &store[i];
    }
}

void
rf_counters_json(FILE *fp, const rf_counter_def_t *defs, size_t n, const void *base)
{
    fputc('{', fp);
    for (size_t i = 0; i < n; i++)
        fprintf(fp, "%s\"%s\":%" PRIu64, i ? "," : "", defs[i].name, rf_counter_get(base, &defs[i]));
    fputc('}', fp);
}
