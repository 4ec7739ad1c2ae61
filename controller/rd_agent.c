/* rd_agent.c -- the registry of agents by id. */
#include "rd_agent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
rd_registry_init(rd_registry_t *r)
{
    memset(r, 0, sizeof(*r));
}

void
rd_registry_fini(rd_registry_t *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->a[i]);
    free(r->a);
    rd_registry_init(r);
}

rd_agent_t *
rd_registry_find(const rd_registry_t *r, const char *id)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->a[i]->id, id) == 0)
            return r->a[i];
    return NULL;
}

/* LRU eviction of a down, never-planned record. 0 if one was freed. */
static int
evict_one(rd_registry_t *r)
{
    size_t victim = r->n;
    for (size_t i = 0; i < r->n; i++) {
        const rd_agent_t *a = r->a[i];
        if (a->up || a->conn != NULL || r->planned == NULL || r->planned(r->planned_arg, a->id))
            continue;
        if (victim == r->n || a->last_seen_ms < r->a[victim]->last_seen_ms)
            victim = i;
    }
    if (victim == r->n)
        return -1;
    free(r->a[victim]);
    memmove(&r->a[victim], &r->a[victim + 1], (r->n - victim - 1) * sizeof(r->a[0]));
    r->n--;
    r->evicted++;
    return 0;
}

int
rd_registry_add(rd_agent_t **out, rd_registry_t *r, const char *id, int role)
{
    if (r->n >= RD_AGENTS_MAX && evict_one(r) != 0)
        return RF_EFULL;
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 64;
        rd_agent_t **na = realloc(r->a, ncap * sizeof(*na));
        if (na == NULL)
            return -ENOMEM;
        r->a = na;
        r->cap = ncap;
    }
    rd_agent_t *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return -ENOMEM;
    snprintf(a->id, sizeof(a->id), "%s", id);
    a->role = role;
    snprintf(a->down_reason, sizeof(a->down_reason), "never connected");
    r->a[r->n++] = a;
    *out = a;
    return 0;
}

size_t
rd_registry_count_up(const rd_registry_t *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += r->a[i]->up != 0;
    return n;
}

static int
cmp_agent(const void *x, const void *y)
{
    const rd_agent_t *a = *(const rd_agent_t *const *)x, *b = *(const rd_agent_t *const *)y;
    if (a->role != b->role)
        return a->role - b->role;
    return strcmp(a->id, b->id);
}

void
rd_registry_sorted(const rd_registry_t *r, rd_agent_t **out)
{
    if (r->n == 0)   /* r->a is NULL while nobody registered */
        return;
    memcpy(out, r->a, r->n * sizeof(*out));
    qsort(out, r->n, sizeof(*out), cmp_agent);
}

void
rd_agent_up(rd_agent_t *a, void *conn, uint64_t now_ms)
{
    a->conn = conn;
    a->up = 1;
    a->last_seen_ms = now_ms;
    a->since_ms = now_ms;
    a->down_reason[0] = '\0';
}

void
rd_agent_down(rd_agent_t *a, const char *reason, uint64_t now_ms)
{
    a->conn = NULL;
    a->up = 0;
    a->since_ms = now_ms;
    snprintf(a->down_reason, sizeof(a->down_reason), "%s", reason);
}

size_t
rd_registry_silent(const rd_registry_t *r, uint64_t now_ms, uint64_t timeout_ms, rd_agent_t **out,
                   size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < r->n && k < max; i++) {
        rd_agent_t *a = r->a[i];
        if (a->up && now_ms > a->last_seen_ms + timeout_ms)
            out[k++] = a;
    }
    return k;
}
