/* ic_park.c -- ring of parked headers with holes for delivered entries. */
#include "ic_park.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rf_err.h"

int
ic_park_init(ic_park_t *p, size_t cap, uint64_t ttl_ms)
{
    memset(p, 0, sizeof(*p));
    p->ttl_ms = ttl_ms;
    if (cap == 0)
        return 0;
    p->ring = calloc(cap, sizeof(*p->ring));
    if (p->ring == NULL)
        return -ENOMEM;
    p->cap = cap;
    return 0;
}

void
ic_park_fini(ic_park_t *p)
{
    free(p->ring);
    memset(p, 0, sizeof(*p));
}

/* Pop holes at the head so a delivered entry never blocks expiry. */
static void
pop_holes(ic_park_t *p)
{
    while (p->n > 0 && p->ring[p->head].len == 0) {
        p->head = (p->head + 1) % p->cap;
        p->n--;
    }
}

int
ic_park_put(ic_park_t *p, const ic_hdr_t *h, uint64_t now_ms)
{
    pop_holes(p);
    if (p->n >= p->cap || h->hlen == 0 || h->hlen > IC_HDR_MAX)
        return RF_EFULL;
    ic_park_ent_t *e = &p->ring[(p->head + p->n) % p->cap];
    e->t_ms = now_ms;
    e->len = h->hlen;
    memcpy(e->hdr, h->ip, h->hlen);
    p->n++;
    p->live++;
    return 0;
}

size_t
ic_park_expire(ic_park_t *p, uint64_t now_ms)
{
    size_t dropped = 0;
    while (p->n > 0) {
        ic_park_ent_t *e = &p->ring[p->head];
        if (e->len != 0) {
            if (now_ms < e->t_ms + p->ttl_ms)
                break;   /* FIFO: everything behind is younger */
            e->len = 0;
            p->live--;
            dropped++;
        }
        p->head = (p->head + 1) % p->cap;
        p->n--;
    }
    return dropped;
}

size_t
ic_park_retry(ic_park_t *p, ic_park_fn fn, void *ctx)
{
    size_t taken = 0;
    for (size_t k = 0; k < p->n && p->live > 0; k++) {
        ic_park_ent_t *e = &p->ring[(p->head + k) % p->cap];
        if (e->len == 0)
            continue;
        ic_hdr_t h;
        if (ic_hdr_parse(&h, e->hdr, e->len) != 0) {
            e->len = 0;   /* cannot happen: validated before parking */
            p->live--;
            continue;
        }
        if (fn(ctx, &h)) {
            e->len = 0;
            p->live--;
            taken++;
        }
    }
    pop_holes(p);
    return taken;
}

int
ic_park_check(const ic_park_t *p, char *why, size_t len)
{
    if (p->cap == 0) {
        if (p->n != 0 || p->live != 0 || p->ring != NULL) {
            snprintf(why, len, "park: disabled but n %zu live %zu", p->n, p->live);
            return -1;
        }
        return 0;
    }
    if (p->head >= p->cap || p->n > p->cap || p->live > p->n) {
        snprintf(why, len, "park: head %zu n %zu live %zu cap %zu", p->head, p->n, p->live,
                 p->cap);
        return -1;
    }
    size_t live = 0;
    for (size_t k = 0; k < p->n; k++) {
        const ic_park_ent_t *e = &p->ring[(p->head + k) % p->cap];
        if (e->len == 0)
            continue;
        if (e->len > IC_HDR_MAX) {
            snprintf(why, len, "park: entry %zu len %u", k, e->len);
            return -1;
        }
        live++;
    }
    if (live != p->live) {
        snprintf(why, len, "park: %zu entries hold a header, live %zu", live, p->live);
        return -1;
    }
    return 0;
}
