/* ic_route.c -- owners, prefix LPM over a sorted array, tuple hash table
 * (linear probing, backward-shift deletion: no tombstones to age). */
#include "ic_route.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rf_assert.h"
#include "rf_err.h"
#include "rf_hash.h"

#define GEN_OF(id) ((uint16_t)((id) >> 16))

static uint32_t
owner_id(uint16_t slot, uint16_t gen)
{
    return ((uint32_t)gen << 16) | slot;
}

int
ic_route_init(ic_route_t *r, const ic_route_cfg_t *cfg, ic_stats_t *st)
{
    memset(r, 0, sizeof(*r));
    r->cfg = *cfg;
    if (r->cfg.max_owners == 0 || r->cfg.max_owners > 0xffff)
        r->cfg.max_owners = 1024;
    if (r->cfg.max_prefixes == 0)
        r->cfg.max_prefixes = 4096;
    if (r->cfg.max_tuples == 0)
        r->cfg.max_tuples = 1;
    if (r->cfg.tuple_ttl_ms == 0)
        r->cfg.tuple_ttl_ms = 120000;
    r->st = st;
    size_t slots = 16;
    while (slots < r->cfg.max_tuples * 2)
        slots *= 2;
    r->owners = calloc(r->cfg.max_owners, sizeof(*r->owners));
    r->pfx = calloc(r->cfg.max_prefixes, sizeof(*r->pfx));
    r->tup = calloc(slots, sizeof(*r->tup));
    if (r->owners == NULL || r->pfx == NULL || r->tup == NULL) {
        ic_route_fini(r);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < r->cfg.max_owners; i++)
        r->owners[i].gen = 1;
    r->tup_mask = slots - 1;
    r->seed = 0x6963726f75746531ull;   /* fixed: peers are authenticated */
    return 0;
}

void
ic_route_fini(ic_route_t *r)
{
    free(r->owners);
    free(r->pfx);
    free(r->tup);
    r->owners = NULL;
    r->pfx = NULL;
    r->tup = NULL;
}

/* ---- owners ---- */

int
ic_route_owner_alive(const ic_route_t *r, uint32_t owner)
{
    uint32_t slot = IC_OWNER_SLOT(owner);
    return owner != IC_OWNER_NONE && slot < r->cfg.max_owners && r->owners[slot].used &&
           r->owners[slot].gen == GEN_OF(owner);
}

int
ic_route_owner_add(ic_route_t *r, uint32_t *out)
{
    for (unsigned i = 0; i < r->cfg.max_owners; i++) {
        if (!r->owners[i].used) {
            r->owners[i].used = 1;
            *out = owner_id((uint16_t)i, r->owners[i].gen);
            return 0;
        }
    }
    return RF_EFULL;
}

static void
reindex(ic_route_t *r)
{
    r->len_mask = 0;
    memset(r->len_start, 0, sizeof(r->len_start));
    /* Sorted longest first, so length L occupies [len_start[L+1],
     * len_start[L]): the next shorter length starts where L ends. */
    unsigned i = 0;
    for (int L = 32; L >= 0; L--) {
        r->len_start[L + 1] = i;   /* start of length L stored one above */
        while (i < r->npfx && r->pfx[i].len == L)
            i++;
        if (i > r->len_start[L + 1])
            r->len_mask |= 1ull << L;
    }
    r->len_start[0] = i;           /* end of length 0 */
    r->st->prefixes_active = r->npfx;
}

void
ic_route_owner_del(ic_route_t *r, uint32_t owner)
{
    if (!ic_route_owner_alive(r, owner))
        return;
    unsigned w = 0;
    for (unsigned i = 0; i < r->npfx; i++)
        if (r->pfx[i].owner != owner)
            r->pfx[w++] = r->pfx[i];
    r->npfx = w;
    reindex(r);
    ic_owner_slot_t *o = &r->owners[IC_OWNER_SLOT(owner)];
    o->used = 0;
    o->gen = (uint16_t)(o->gen + 1);
    if (o->gen == 0)
        o->gen = 1;
}

/* ---- prefixes ---- */

static int
pfx_before(const ic_prefix_ent_t *a, uint32_t addr, uint8_t len)
{
    if (a->len != len)
        return a->len > len;
    return a->addr < addr;
}

int
ic_route_claim(ic_route_t *r, uint32_t owner, const rf_cidr_t *p, ic_overlap_t *ov)
{
    ic_overlap_t dummy;
    if (ov == NULL)
        ov = &dummy;
    memset(ov, 0, sizeof(*ov));
    if (p->len > 32 || (p->addr & ~rf_cidr_mask(p->len)) != 0)
        return RF_EPARSE;
    if (!ic_route_owner_alive(r, owner))
        return RF_ESTATE;
    for (unsigned i = 0; i < r->npfx; i++) {
        ic_prefix_ent_t *e = &r->pfx[i];
        rf_cidr_t c = { e->addr, e->len };
        if (!rf_cidr_overlap(&c, p))
            continue;
        if (e->addr == p->addr && e->len == p->len) {
            if (e->owner == owner)
                return 0;   /* already ours */
            ov->kind = IC_OVERLAP_EQUAL;
            ov->other = e->owner;
            ov->other_pfx = c;
            ov->n++;
            e->owner = owner;
            r->st->route_overlaps++;
            return 0;
        }
        if (e->owner != owner) {
            if (ov->n++ == 0) {
                ov->kind = IC_OVERLAP_NESTED;
                ov->other = e->owner;
                ov->other_pfx = c;
            }
        }
    }
    if (r->npfx >= r->cfg.max_prefixes)
        return RF_EFULL;
    if (ov->n > 0)
        r->st->route_overlaps++;
    unsigned pos = 0;
    while (pos < r->npfx && pfx_before(&r->pfx[pos], p->addr, p->len))
        pos++;
    memmove(&r->pfx[pos + 1], &r->pfx[pos], (r->npfx - pos) * sizeof(r->pfx[0]));
    r->pfx[pos] = (ic_prefix_ent_t){ .addr = p->addr, .len = p->len, .owner = owner };
    r->npfx++;
    reindex(r);
    return 0;
}

static uint32_t
pfx_lookup(const ic_route_t *r, uint32_t ip)
{
    uint64_t m = r->len_mask;
    while (m != 0) {
        int L = 63 - __builtin_clzll(m);   /* longest length present first */
        m &= ~(1ull << L);
        uint32_t key = ip & rf_cidr_mask((uint8_t)L);
        unsigned lo = r->len_start[L + 1], hi = r->len_start[L];
        while (lo < hi) {
            unsigned mid = lo + (hi - lo) / 2;
            if (r->pfx[mid].addr < key)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < r->len_start[L] && r->pfx[lo].addr == key)
            return r->pfx[lo].owner;
    }
    return IC_OWNER_NONE;
}

/* ---- tuples ---- */

static size_t
tup_home(const ic_route_t *r, uint32_t cip, uint16_t cport, uint32_t tip, uint16_t tport)
{
    return (size_t)rf_hash_tuple(cip, cport, tip, tport, r->seed) & r->tup_mask;
}

static int
tup_eq(const ic_tuple_ent_t *e, uint32_t cip, uint16_t cport, uint32_t tip, uint16_t tport)
{
    return e->client_ip == cip && e->client_port == cport && e->target_ip == tip &&
           e->target_port == tport;
}

/* Index of the entry, or of the empty slot where it would go (*found 0). */
static size_t
tup_find(const ic_route_t *r, uint32_t cip, uint16_t cport, uint32_t tip, uint16_t tport,
         int *found)
{
    size_t i = tup_home(r, cip, cport, tip, tport);
    /* The table is at most half full, so an empty slot ends every probe. */
    while (r->tup[i].owner != IC_OWNER_NONE) {
        if (tup_eq(&r->tup[i], cip, cport, tip, tport)) {
            *found = 1;
            return i;
        }
        i = (i + 1) & r->tup_mask;
    }
    *found = 0;
    return i;
}

static void
tup_remove_at(ic_route_t *r, size_t i)
{
    size_t j = i;
    for (;;) {
        j = (j + 1) & r->tup_mask;
        ic_tuple_ent_t *e = &r->tup[j];
        if (e->owner == IC_OWNER_NONE)
            break;
        size_t k = tup_home(r, e->client_ip, e->client_port, e->target_ip, e->target_port);
        /* e may move back to i only if its home is not cyclically in (i, j]. */
        int stays = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
        if (stays)
            continue;
        r->tup[i] = *e;
        i = j;
    }
    r->tup[i].owner = IC_OWNER_NONE;
    r->ntup--;
    r->st->tuples_active = r->ntup;
}

int
ic_route_tuple_add(ic_route_t *r, uint32_t owner, const ic_tuple_t *t, uint64_t now_ms)
{
    if (!ic_route_owner_alive(r, owner))
        return RF_ESTATE;
    int found;
    size_t i = tup_find(r, t->client_ip, t->client_port, t->target_ip, t->target_port, &found);
    if (!found) {
        if (r->ntup >= r->cfg.max_tuples) {
            r->st->tuples_full++;
            return RF_EFULL;
        }
        ic_tuple_ent_t *e = &r->tup[i];
        e->client_ip = t->client_ip;
        e->client_port = t->client_port;
        e->target_ip = t->target_ip;
        e->target_port = t->target_port;
        r->ntup++;
        r->st->tuples_active = r->ntup;
    }
    r->tup[i].owner = owner;   /* re-registration moves it: latest wins */
    r->tup[i].used_ms = now_ms;
    r->st->tuples_registered++;
    return 0;
}

int
ic_route_tuple_del(ic_route_t *r, uint32_t owner, const ic_tuple_t *t)
{
    int found;
    size_t i = tup_find(r, t->client_ip, t->client_port, t->target_ip, t->target_port, &found);
    if (!found || r->tup[i].owner != owner)
        return 0;
    tup_remove_at(r, i);
    return 1;
}

uint32_t
ic_route_lookup(ic_route_t *r, uint32_t dst_ip, uint16_t dst_port, uint32_t src_ip,
                uint16_t src_port, uint64_t now_ms)
{
    if (r->ntup > 0) {
        int found;
        size_t i = tup_find(r, dst_ip, dst_port, src_ip, src_port, &found);
        if (found) {
            uint32_t o = r->tup[i].owner;
            if (ic_route_owner_alive(r, o)) {
                r->tup[i].used_ms = now_ms;
                return o;
            }
            /* Its connection went away: reap now, fall back to prefixes. */
            tup_remove_at(r, i);
            r->st->tuples_expired++;
        }
    }
    return pfx_lookup(r, dst_ip);
}

size_t
ic_route_expire(ic_route_t *r, uint64_t now_ms, size_t budget)
{
    size_t dropped = 0;
    size_t i = r->sweep & r->tup_mask;
    while (budget-- > 0 && r->ntup > 0) {
        ic_tuple_ent_t *e = &r->tup[i];
        if (e->owner != IC_OWNER_NONE &&
            (!ic_route_owner_alive(r, e->owner) ||
             (now_ms >= e->used_ms && now_ms - e->used_ms >= r->cfg.tuple_ttl_ms))) {
            tup_remove_at(r, i);
            r->st->tuples_expired++;
            dropped++;
            continue;   /* a later entry may have shifted into slot i */
        }
        i = (i + 1) & r->tup_mask;
    }
    r->sweep = i;
    return dropped;
}

/* ---- invariants ---- */

static int
check_prefixes(const ic_route_t *r, char *why, size_t len)
{
    RF_CHECK(r->npfx <= r->cfg.max_prefixes, "prefixes: %u over max %u", r->npfx,
             r->cfg.max_prefixes);
    RF_CHECK(r->st->prefixes_active == r->npfx, "prefixes: %u, gauge %llu", r->npfx,
             (unsigned long long)r->st->prefixes_active);
    for (unsigned i = 0; i < r->npfx; i++) {
        const ic_prefix_ent_t *e = &r->pfx[i];
        RF_CHECK(e->len <= 32 && (e->addr & ~rf_cidr_mask(e->len)) == 0,
                 "prefix %u: %08x/%u has host bits", i, e->addr, e->len);
        RF_CHECK(ic_route_owner_alive(r, e->owner), "prefix %u: owner %08x is dead", i, e->owner);
        RF_CHECK(i == 0 || pfx_before(&r->pfx[i - 1], e->addr, e->len),
                 "prefix %u: not sorted (or a duplicate) after %u", i, i - 1);
    }
    /* The length index: [len_start[L+1], len_start[L]) holds length L. */
    RF_CHECK(r->len_start[33] == 0 && r->len_start[0] == r->npfx, "length index: ends %u..%u",
             r->len_start[33], r->len_start[0]);
    for (int L = 32; L >= 0; L--) {
        unsigned lo = r->len_start[L + 1], hi = r->len_start[L];
        RF_CHECK(lo <= hi && hi <= r->npfx, "length %d: range %u..%u", L, lo, hi);
        RF_CHECK(((r->len_mask >> L) & 1) == (hi > lo), "length %d: mask bit disagrees", L);
        for (unsigned i = lo; i < hi; i++)
            RF_CHECK(r->pfx[i].len == L, "length %d: prefix %u has length %u", L, i, r->pfx[i].len);
    }
    return 0;
}

int
ic_route_check(const ic_route_t *r, char *why, size_t len)
{
    RF_CHECK(r->cfg.max_owners >= 1 && r->cfg.max_owners <= 0xffff, "owners: max %u",
             r->cfg.max_owners);
    for (unsigned i = 0; i < r->cfg.max_owners; i++)
        RF_CHECK(r->owners[i].gen != 0 && r->owners[i].used <= 1, "owner slot %u: gen %u used %u",
                 i, r->owners[i].gen, r->owners[i].used);
    if (check_prefixes(r, why, len) != 0)
        return -1;
    size_t slots = r->tup_mask + 1, n = 0;
    RF_CHECK((slots & r->tup_mask) == 0 && slots >= 2 * r->cfg.max_tuples,
             "tuples: %zu slots for max %zu", slots, r->cfg.max_tuples);
    for (size_t i = 0; i < slots; i++) {
        const ic_tuple_ent_t *e = &r->tup[i];
        if (e->owner == IC_OWNER_NONE)
            continue;
        n++;
        /* Linear probing: no empty slot between its home and here, and no
         * second copy of the same tuple on the way (lookups stop at the
         * first). Owners may be dead: those are reaped lazily. */
        size_t k = tup_home(r, e->client_ip, e->client_port, e->target_ip, e->target_port);
        for (size_t j = k; j != i; j = (j + 1) & r->tup_mask) {
            RF_CHECK(r->tup[j].owner != IC_OWNER_NONE, "tuple at %zu: empty slot %zu on its probe "
                     "path from %zu", i, j, k);
            RF_CHECK(!tup_eq(&r->tup[j], e->client_ip, e->client_port, e->target_ip,
                             e->target_port), "tuple at %zu: duplicate at %zu", i, j);
        }
    }
    RF_CHECK(n == r->ntup, "tuples: %zu in the table, ntup %zu", n, r->ntup);
    RF_CHECK(r->ntup <= r->cfg.max_tuples, "tuples: %zu over max %zu", r->ntup, r->cfg.max_tuples);
    RF_CHECK(r->st->tuples_active == r->ntup, "tuples: %zu, gauge %llu", r->ntup,
             (unsigned long long)r->st->tuples_active);
    return 0;
}
