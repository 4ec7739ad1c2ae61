/* rf_counters.c -- name-table driven counter export. */
#include "rf_counters.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

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

void
rf_json_str(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(fp, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(fp, "\\u%04x", ch);
        else
            fputc(ch, fp);
    }
    fputc('"', fp);
}

void
rf_counters_stats_line(FILE *fp, const char *program, const char *id, uint64_t generation,
                       const rf_counter_def_t *defs, size_t n, const void *base)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    fprintf(fp, "{\"ts_ms\":%" PRIu64 ",\"program\":", ms);
    rf_json_str(fp, program);
    fputs(",\"id\":", fp);
    rf_json_str(fp, id);
    fprintf(fp, ",\"generation\":%" PRIu64 ",\"counters\":", generation);
    rf_counters_json(fp, defs, n, base);
    fputs("}\n", fp);
    fflush(fp);
}
