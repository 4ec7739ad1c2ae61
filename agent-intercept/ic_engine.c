/* ic_engine.c -- per-packet routing into batches; parking; flush list. */
#include "ic_engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rf_err.h"
#include "rf_pkt.h"

int
ic_engine_init(ic_engine_t *e, const ic_engine_cfg_t *cfg, const ic_engine_ops_t *ops,
               ic_stats_t *st)
{
    memset(e, 0, sizeof(*e));
    e->st = st;
    e->ops = ops;
    e->batch_max = cfg->batch_max;
    e->expire_budget = cfg->expire_budget ? cfg->expire_budget : 4096;
    int r = ic_route_init(&e->route, &cfg->route, st);
    if (r < 0)
        return r;
    r = ic_park_init(&e->park, cfg->park_cap, cfg->park_ttl_ms);
    if (r < 0) {
        ic_route_fini(&e->route);
        return r;
    }
    unsigned n = e->route.cfg.max_owners;
    e->peers = calloc(n, sizeof(*e->peers));
    e->list = calloc(n, sizeof(*e->list));
    if (e->peers == NULL || e->list == NULL) {
        ic_engine_fini(e);
        return -ENOMEM;
    }
    return 0;
}

void
ic_engine_fini(ic_engine_t *e)
{
    if (e->peers != NULL)
        for (unsigned i = 0; i < e->route.cfg.max_owners; i++)
            free(e->peers[i].batch);
    free(e->peers);
    free(e->list);
    e->peers = NULL;
    e->list = NULL;
    ic_park_fini(&e->park);
    ic_route_fini(&e->route);
}

int
ic_engine_peer_add(ic_engine_t *e, void *ctx, uint32_t *out)
{
    uint32_t id;
    int r = ic_route_owner_add(&e->route, &id);
    if (r < 0)
        return r;
    ic_peer_slot_t *p = &e->peers[IC_OWNER_SLOT(id)];
    if (p->batch == NULL) {
        /* Kept for the slot's next tenant: no allocation on reconnects. */
        p->batch = malloc(sizeof(*p->batch));
        if (p->batch == NULL) {
            ic_route_owner_del(&e->route, id);
            return -ENOMEM;
        }
    }
    ic_batch_init(p->batch, e->batch_max);
    p->ctx = ctx;
    p->listed = 0;
    *out = id;
    return 0;
}

static void
unlist(ic_engine_t *e, uint16_t slot)
{
    for (unsigned i = 0; i < e->nlist; i++) {
        if (e->list[i] == slot) {
            e->list[i] = e->list[--e->nlist];
            break;
        }
    }
    e->peers[slot].listed = 0;
}

void
ic_engine_peer_del(ic_engine_t *e, uint32_t id)
{
    if (!ic_route_owner_alive(&e->route, id))
        return;
    uint16_t slot = (uint16_t)IC_OWNER_SLOT(id);
    ic_peer_slot_t *p = &e->peers[slot];
    if (p->listed)
        unlist(e, slot);
    e->st->resp_lost += p->batch->count;
    ic_batch_reset(p->batch);
    p->ctx = NULL;
    ic_route_owner_del(&e->route, id);
}

int
ic_engine_claim(ic_engine_t *e, uint32_t id, const rf_cidr_t *p, ic_overlap_t *ov)
{
    return ic_route_claim(&e->route, id, p, ov);
}

int
ic_engine_tuple_add(ic_engine_t *e, uint32_t id, const ic_tuple_t *t, uint64_t now_ms)
{
    return ic_route_tuple_add(&e->route, id, t, now_ms);
}

int
ic_engine_tuple_del(ic_engine_t *e, uint32_t id, const ic_tuple_t *t)
{
    return ic_route_tuple_del(&e->route, id, t);
}

static void
flush_slot(ic_engine_t *e, uint16_t slot)
{
    ic_peer_slot_t *p = &e->peers[slot];
    ic_batch_t *b = p->batch;
    if (b->count == 0)
        return;
    if (e->ops->send(p->ctx, b->buf, b->len, b->count) == 0) {
        e->st->resp_forwarded += b->count;
        e->st->batches_sent++;
    } else {
        e->st->resp_lost += b->count;
    }
    ic_batch_reset(b);
}

static void
deliver(ic_engine_t *e, uint32_t owner, const ic_hdr_t *h)
{
    uint16_t slot = (uint16_t)IC_OWNER_SLOT(owner);
    ic_peer_slot_t *p = &e->peers[slot];
    int r = ic_batch_add(p->batch, h);
    if (r < 0) {
        /* Only if the threshold changed under us: flush and retry once. */
        flush_slot(e, slot);
        r = ic_batch_add(p->batch, h);
        if (r < 0) {
            e->st->resp_lost++;
            return;
        }
    }
    if (r == 1) {
        flush_slot(e, slot);   /* full: send now, keep latency flat */
        return;
    }
    if (!p->listed) {
        p->listed = 1;
        e->list[e->nlist++] = slot;
    }
}

void
ic_engine_on_packet(ic_engine_t *e, const uint8_t *ip, size_t caplen, uint32_t wire_len,
                    uint64_t now_ms)
{
    e->st->cap_pkts++;
    e->st->cap_bytes += wire_len;
    ic_hdr_t h;
    if (ic_hdr_parse(&h, ip, caplen) != 0) {
        e->st->bad_pkts++;
        return;
    }
    uint32_t owner = ic_route_lookup(&e->route, h.daddr, h.dport, h.saddr, h.sport, now_ms);
    if (owner != IC_OWNER_NONE) {
        deliver(e, owner, &h);
        return;
    }
    if (h.flags & (RF_TH_SYN | RF_TH_RST)) {
        if (ic_park_put(&e->park, &h, now_ms) == 0) {
            e->st->resp_parked++;
            e->st->parked_now = e->park.live;
            return;
        }
        if (e->park.cap > 0)
            e->st->park_full++;
    }
    e->st->resp_unroutable++;
}

void
ic_engine_flush(ic_engine_t *e)
{
    for (unsigned i = 0; i < e->nlist; i++) {
        uint16_t slot = e->list[i];
        e->peers[slot].listed = 0;
        flush_slot(e, slot);
    }
    e->nlist = 0;
}

int
ic_engine_has_pending(const ic_engine_t *e)
{
    return e->nlist > 0;
}

static int
unpark_one(void *ctx, const ic_hdr_t *h)
{
    ic_engine_t *e = ctx;
    uint32_t owner = ic_route_lookup(&e->route, h->daddr, h->dport, h->saddr, h->sport, e->now_ms);
    if (owner == IC_OWNER_NONE)
        return 0;
    deliver(e, owner, h);
    e->st->resp_unparked++;
    return 1;
}

size_t
ic_engine_unpark(ic_engine_t *e, uint64_t now_ms)
{
    if (e->park.live == 0)
        return 0;
    e->now_ms = now_ms;
    /* Expire first: a header parked past its TTL is counted, not sent. */
    e->st->resp_park_expired += ic_park_expire(&e->park, now_ms);
    size_t n = ic_park_retry(&e->park, unpark_one, e);
    e->st->parked_now = e->park.live;
    return n;
}

void
ic_engine_tick(ic_engine_t *e, uint64_t now_ms)
{
    if (e->park.live > 0) {
        e->st->resp_park_expired += ic_park_expire(&e->park, now_ms);
        e->st->parked_now = e->park.live;
    }
    if (e->route.ntup > 0)
        ic_route_expire(&e->route, now_ms, e->expire_budget);
}

int
ic_engine_check(const ic_engine_t *e, char *why, size_t len)
{
    if (ic_route_check(&e->route, why, len) != 0 || ic_park_check(&e->park, why, len) != 0)
        return -1;
    unsigned max = e->route.cfg.max_owners, listed = 0;
    if (e->nlist > max) {
        snprintf(why, len, "flush list: %u entries, %u slots", e->nlist, max);
        return -1;
    }
    for (unsigned i = 0; i < max; i++) {
        const ic_peer_slot_t *p = &e->peers[i];
        int used = e->route.owners[i].used;
        const ic_batch_t *b = p->batch;
        /* ctx is the caller's and may be NULL; a free slot has none. */
        if ((!used && p->ctx != NULL) || (used && b == NULL)) {
            snprintf(why, len, "peer slot %u: ctx %s, batch %s, owner %s", i,
                     p->ctx ? "set" : "NULL", b ? "set" : "NULL", used ? "in use" : "free");
            return -1;
        }
        if (b != NULL && (b->count >= b->max || b->len > sizeof(b->buf) ||
                          (b->count == 0) != (b->len == 0) || (!used && b->count != 0))) {
            snprintf(why, len, "peer slot %u: batch count %u len %zu max %u", i, b->count,
                     b->len, b->max);
            return -1;
        }
        /* A non-empty batch is on the list (once); a listed one may have
         * been emptied since (flushed at its threshold). */
        unsigned seen = 0;
        for (unsigned k = 0; k < e->nlist; k++)
            seen += e->list[k] == i;
        if (seen != p->listed || (p->listed && !used) || (used && b->count > 0 && !p->listed)) {
            snprintf(why, len, "peer slot %u: listed %u, on the flush list %u times, batch %u",
                     i, p->listed, seen, b ? b->count : 0);
            return -1;
        }
        listed += p->listed;
    }
    if (listed != e->nlist) {
        snprintf(why, len, "flush list: %u entries, %u slots marked listed", e->nlist, listed);
        return -1;
    }
    return 0;
}
