/* rf_limit.c -- per-source pending counts and rate-limited refusal logs. */
#include "rf_limit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "rf_err.h"

int
rf_srcmap_init(rf_srcmap_t *m, size_t cap)
{
    m->e = calloc(cap ? cap : 1, sizeof(*m->e));
    m->n = 0;
    m->cap = cap;
    return m->e ? 0 : -ENOMEM;
}

void
rf_srcmap_fini(rf_srcmap_t *m)
{
    free(m->e);
    m->e = NULL;
    m->n = m->cap = 0;
}

static size_t
find(const rf_srcmap_t *m, uint32_t ip)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->e[i].ip == ip)
            return i;
    return m->n;
}

uint32_t
rf_srcmap_get(const rf_srcmap_t *m, uint32_t ip)
{
    size_t i = find(m, ip);
    return i < m->n ? m->e[i].n : 0;
}

int
rf_srcmap_inc(rf_srcmap_t *m, uint32_t ip, uint32_t per_ip)
{
    size_t i = find(m, ip);
    if (i < m->n) {
        if (m->e[i].n >= per_ip)
            return RF_EFULL;
        m->e[i].n++;
        return 0;
    }
    if (m->n == m->cap || per_ip == 0)
        return RF_EFULL;
    m->e[m->n].ip = ip;
    m->e[m->n].n = 1;
    m->n++;
    return 0;
}

void
rf_srcmap_dec(rf_srcmap_t *m, uint32_t ip)
{
    size_t i = find(m, ip);
    if (i == m->n)
        return;
    if (--m->e[i].n == 0)
        m->e[i] = m->e[--m->n];
}

void
rf_ratelog_init(rf_ratelog_t *r, uint64_t interval_ms)
{
    r->interval_ms = interval_ms;
    r->next_ms = 0;
    r->suppressed = 0;
    r->total = 0;
}

int
rf_ratelog_hit(rf_ratelog_t *r, uint64_t now_ms, uint64_t *suppressed)
{
    r->total++;
    if (now_ms >= r->next_ms) {
        *suppressed = r->suppressed;
        r->suppressed = 0;
        r->next_ms = now_ms + r->interval_ms;
        return 1;
    }
    r->suppressed++;
    return 0;
}

uint64_t
rf_ratelog_flush(rf_ratelog_t *r, uint64_t now_ms)
{
    if (r->suppressed == 0 || now_ms < r->next_ms)
        return 0;
    uint64_t n = r->suppressed;
    r->suppressed = 0;
    r->next_ms = now_ms + r->interval_ms;
    return n;
}

const char *
rf_ratelog_note(char *buf, unsigned long n, uint64_t more)
{
    if (more == 0)
        return "";
    snprintf(buf, n, " (%llu more not logged)", (unsigned long long)more);
    return buf;
}

uint32_t
rf_srcmap_busiest(const rf_srcmap_t *m)
{
    uint32_t most = 0, ip = 0;
    for (size_t i = 0; i < m->n; i++)
        if (m->e[i].n > most) {
            most = m->e[i].n;
            ip = m->e[i].ip;
        }
    return ip;
}
