/* rd_stats.c -- interning and per-agent counter tables. */
#include "rd_stats.h"

#include <string.h>

#include "cp_stats.h"
#include "ic_stats.h"
#include "rd_assign.h"

int
rd_names_intern(rd_names_t *t, const char *name)
{
    size_t len = 0;
    for (const char *p = name; *p; p++, len++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              (c >= 'A' && c <= 'Z')) ||
            len + 1 >= RD_CNAME_MAX)
            return -1;
    }
    if (len == 0)
        return -1;
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->name[i], name) == 0)
            return (int)i;
    if (t->n == RD_NAMES_MAX)
        return -1;
    memcpy(t->name[t->n], name, len + 1);
    return (int)t->n++;
}

void
rd_stats_begin(rd_stats_t *s, uint64_t now_ms, uint64_t *dt_ms)
{
    *dt_ms = s->at_ms && now_ms > s->at_ms ? now_ms - s->at_ms : 0;
}

static void
set_at(rd_stats_t *s, unsigned i, uint64_t value, uint64_t dt_ms)
{
    if (dt_ms > 0)
        s->rate[i] = value >= s->value[i] ? (float)((double)(value - s->value[i]) * 1000.0 /
                                                    (double)dt_ms)
                                          : 0.0f;
    s->value[i] = value;
}

void
rd_stats_put(rd_stats_t *s, rd_names_t *names, unsigned k, const char *name, uint64_t value,
             uint64_t dt_ms)
{
    if (k < s->n && strcmp(names->name[s->id[k]], name) == 0) {
        set_at(s, k, value, dt_ms);
        return;
    }
    for (unsigned i = 0; i < s->n; i++)
        if (strcmp(names->name[s->id[i]], name) == 0) {
            set_at(s, i, value, dt_ms);
            return;
        }
    int id = rd_names_intern(names, name);
    if (id < 0 || s->n == RD_AGENT_COUNTERS_MAX) {
        s->ignored++;
        return;
    }
    s->id[s->n] = (uint16_t)id;
    s->value[s->n] = value;
    s->rate[s->n] = 0.0f;
    s->n++;
}

void
rd_stats_end(rd_stats_t *s, uint64_t now_ms)
{
    s->at_ms = now_ms ? now_ms : 1;
}

void
rd_stats_accumulate(const rd_stats_t *s, uint64_t *total, double *rate, uint8_t *present)
{
    for (unsigned i = 0; i < s->n; i++) {
        total[s->id[i]] += s->value[i];
        rate[s->id[i]] += s->rate[i];
        present[s->id[i]] = 1;
    }
}

uint64_t
rd_stats_get(const rd_stats_t *s, const rd_names_t *names, const char *name)
{
    for (unsigned i = 0; i < s->n; i++)
        if (strcmp(names->name[s->id[i]], name) == 0)
            return s->value[i];
    return 0;
}

const rf_counter_def_t *
rd_stats_table(int role, size_t *n)
{
    if (role == RD_ROLE_COPY) {
        *n = cp_stats_ndefs;
        return cp_stats_defs;
    }
    if (role == RD_ROLE_ICPT) {
        *n = ic_stats_ndefs;
        return ic_stats_defs;
    }
    *n = 0;
    return NULL;
}

const rf_counter_def_t *
rd_stats_out_table(size_t *n)
{
    *n = cp_out_stats_ndefs;
    return cp_out_stats_defs;
}

int
rd_stats_tg_name(const char *name, unsigned *g, const char **rest)
{
    if (strncmp(name, "tg", 2) != 0 || name[2] < '0' || name[2] > '9' || name[3] != '_')
        return 0;
    *g = (unsigned)(name[2] - '0');
    *rest = name + 4;
    return 1;
}

const rf_counter_def_t *
rd_stats_meta(int role, const char *name)
{
    size_t n;
    const rf_counter_def_t *t = rd_stats_table(role, &n);
    return t ? rf_counter_find(t, n, name) : NULL;
}
