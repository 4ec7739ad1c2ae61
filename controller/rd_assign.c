/* rd_assign.c -- sticky sharding of the client pool and port offsets, and
 * the assignment diff. Pure: every input is an argument, every output a
 * table the caller owns. */
#include "rd_assign.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rd_targets.h"

const char *
rd_role_name(int role)
{
    switch (role) {
    case RD_ROLE_COPY: return "copy";
    case RD_ROLE_ICPT: return "intercept";
    case 3: return "admin";
    default: return "unknown";
    }
}

void
rd_table_init(rd_table_t *t)
{
    memset(t, 0, sizeof(*t));
}

void
rd_table_fini(rd_table_t *t)
{
    free(t->e);
    rd_table_init(t);
}

int
rd_table_add(rd_table_t *t, const rd_entry_t *e)
{
    if (t->n == RD_TABLE_MAX)
        return RF_EFULL;
    if (t->n == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 16;
        rd_entry_t *ne = realloc(t->e, ncap * sizeof(*ne));
        if (ne == NULL)
            return -ENOMEM;
        t->e = ne;
        t->cap = ncap;
    }
    t->e[t->n++] = *e;
    return 0;
}

rd_entry_t *
rd_table_find(const rd_table_t *t, const char *id)
{
    if (t == NULL)
        return NULL;
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->e[i].id, id) == 0)
            return &t->e[i];
    return NULL;
}

static unsigned
clog2(size_t n)
{
    unsigned b = 0;
    while (((size_t)1 << b) < n)
        b++;
    return b;
}

static void
cidr_str(char *buf, size_t len, const rf_cidr_t *c)
{
    rf_cidr_format(c, buf, (unsigned)len);
}

int
rd_table_derive_ranges(rd_table_t *t, rf_errbuf_t *err)
{
    uint32_t nblocks = 1u << t->block_bits, nslots = 1u << t->slot_bits;
    for (size_t i = 0; i < t->n; i++) {
        rd_entry_t *e = &t->e[i];
        if (!e->active)
            continue;
        if (!t->has_layout || t->pool.len + t->block_bits + t->slot_bits > 32)
            return rf_err_set(err, RF_EPLAN, "agents[%zu]: active without a valid layout", i);
        int32_t block = e->block;
        if (e->role == RD_ROLE_COPY) {
            const rd_entry_t *p = rd_table_find(t, e->pair);
            if (p == NULL || p->role != RD_ROLE_ICPT || !p->active)
                return rf_err_set(err, RF_EPLAN, "agents[%zu]: paired intercept \"%s\" not active",
                                  i, e->pair);
            block = p->block;
            if (e->slot < 0 || (uint32_t)e->slot >= nslots || e->port_offset < 0 ||
                e->port_offset >= RD_OFFSETS)
                return rf_err_set(err, RF_EPLAN, "agents[%zu]: slot or port offset out of range", i);
        } else if (e->role != RD_ROLE_ICPT) {
            return rf_err_set(err, RF_EPLAN, "agents[%zu]: bad role", i);
        }
        if (block < 0 || (uint32_t)block >= nblocks)
            return rf_err_set(err, RF_EPLAN, "agents[%zu]: block out of range", i);
        rf_cidr_t b;
        if (rf_cidr_subnet(&b, &t->pool, t->block_bits, (uint32_t)block) != 0)
            return rf_err_set(err, RF_EPLAN, "agents[%zu]: bad block", i);
        if (e->role == RD_ROLE_COPY) {
            if (rf_cidr_subnet(&e->range, &b, t->slot_bits, (uint32_t)e->slot) != 0)
                return rf_err_set(err, RF_EPLAN, "agents[%zu]: bad slot", i);
        } else {
            e->range = b;
        }
    }
    return 0;
}

/* Shared-feed groups: members' sets disjoint, together every bucket. */
static int
check_shards(const rd_table_t *t, rf_errbuf_t *err)
{
    for (size_t i = 0; i < t->n; i++) {
        const rd_entry_t *a = &t->e[i];
        if (!a->active || !a->sharded)
            continue;
        int first = 1;
        rd_shard_t all = a->shard;
        for (size_t j = 0; j < t->n; j++) {
            const rd_entry_t *b = &t->e[j];
            if (j == i || !b->active || !b->sharded || strcmp(a->group, b->group) != 0)
                continue;
            if (j < i)
                first = 0;
            for (size_t k = 0; k < RD_SHARD_BYTES; k++) {
                if (j > i && (a->shard.bits[k] & b->shard.bits[k]))
                    return rf_err_set(err, RF_EPLAN, "%s and %s: shard sets overlap (group %s)",
                                      a->id, b->id, a->group);
                all.bits[k] |= b->shard.bits[k];
            }
        }
        if (first && rd_shard_count(&all) != RD_SHARD_BUCKETS)
            return rf_err_set(err, RF_EPLAN, "group %s: %u of %d buckets owned", a->group,
                              rd_shard_count(&all), RD_SHARD_BUCKETS);
    }
    return 0;
}

int
rd_table_check(const rd_table_t *t, rf_errbuf_t *err)
{
    uint8_t off_used[RD_OFFSETS] = { 0 };
    for (size_t i = 0; i < t->n; i++) {
        const rd_entry_t *a = &t->e[i];
        if (!a->active)
            continue;
        char ra[32];
        cidr_str(ra, sizeof(ra), &a->range);
        if (!rf_cidr_contains(&t->pool, a->range.addr) || a->range.len < t->pool.len)
            return rf_err_set(err, RF_EPLAN, "%s: %s outside the pool", a->id, ra);
        if (a->role == RD_ROLE_COPY) {
            const rd_entry_t *p = rd_table_find(t, a->pair);
            if (p == NULL || !p->active || p->role != RD_ROLE_ICPT)
                return rf_err_set(err, RF_EPLAN, "%s: paired intercept \"%s\" not active", a->id,
                                  a->pair);
            if (!rf_cidr_contains(&p->range, a->range.addr) || a->range.len < p->range.len)
                return rf_err_set(err, RF_EPLAN, "%s: %s outside block of %s", a->id, ra, p->id);
            if (a->port_offset < 0 || a->port_offset >= RD_OFFSETS)
                return rf_err_set(err, RF_EPLAN, "%s: port offset %d out of range", a->id,
                                  a->port_offset);
            if (off_used[a->port_offset]++)
                return rf_err_set(err, RF_EPLAN, "%s: port offset %d used twice", a->id,
                                  a->port_offset);
        }
        for (size_t j = i + 1; j < t->n; j++) {
            const rd_entry_t *b = &t->e[j];
            if (!b->active || b->role != a->role)
                continue;
            if (rf_cidr_overlap(&a->range, &b->range))
                return rf_err_set(err, RF_EPLAN, "%s and %s: ranges overlap", a->id, b->id);
        }
    }
    return check_shards(t, err);
}

/* ---- compute ---------------------------------------------------------- */

typedef char rd_id_t[RD_ID_MAX];

static const rd_known_t *
find_known(const rd_known_t *k, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(k[i].id, id) == 0)
            return &k[i];
    return NULL;
}

static int
cmp_id(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static int
in_list(rd_id_t *list, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], id) == 0)
            return (int)i;
    return -1;
}

/* Resolve one role's agent list into ids (caller storage of `max`). */
static int
resolve(rd_id_t *ids, size_t *n, size_t max, int role, int all, const char (*plan_ids)[RD_ID_MAX],
        unsigned nplan, const char *key, const rd_table_t *prev, const rd_known_t *known,
        size_t nknown, rf_errbuf_t *err)
{
    size_t cnt = 0;
    if (all) {
        for (size_t i = 0; i < nknown; i++) {
            if (known[i].role != role || !known[i].up || in_list(ids, cnt, known[i].id) >= 0)
                continue;
            if (cnt == max)
                return rf_err_set(err, RF_EPLAN, "%s: \"*\" matches more than %zu agents", key, max);
            memcpy(ids[cnt++], known[i].id, RD_ID_MAX);
        }
        for (size_t i = 0; prev && i < prev->n; i++) {
            const rd_entry_t *e = &prev->e[i];
            if (e->role != role || !e->active || in_list(ids, cnt, e->id) >= 0)
                continue;
            if (cnt == max)
                return rf_err_set(err, RF_EPLAN, "%s: \"*\" matches more than %zu agents", key, max);
            memcpy(ids[cnt++], e->id, RD_ID_MAX);
        }
        if (cnt == 0)
            return rf_err_set(err, RF_EPLAN, "%s: \"*\" matches no registered %s agent", key,
                              rd_role_name(role));
        qsort(ids, cnt, sizeof(ids[0]), cmp_id);
        *n = cnt;
        return 0;
    }
    for (unsigned i = 0; i < nplan; i++) {
        const char *id = plan_ids[i];
        const rd_known_t *k = find_known(known, nknown, id);
        const rd_entry_t *e = rd_table_find(prev, id);
        int have = k ? k->role : e ? e->role : -1;
        if (have < 0)
            return rf_err_set(err, RF_EPLAN, "%s[%u]: unknown agent \"%s\" (never registered)",
                              key, i, id);
        if (have != role)
            return rf_err_set(err, RF_EPLAN, "%s[%u]: \"%s\" is registered as a %s agent", key, i,
                              id, rd_role_name(have));
        memcpy(ids[cnt++], id, RD_ID_MAX);
    }
    *n = cnt;
    return 0;
}

typedef struct {
    rd_id_t  *C, *I;
    size_t    nc, ni;
    int      *pair;     /* per copy: index into I */
    size_t   *count;    /* per intercept: paired copy agents */
    int32_t  *block;    /* per intercept */
    int32_t  *slot;     /* per copy */
    int32_t  *off;      /* per copy */
    uint8_t  *used;     /* scratch bitmap */
    uint8_t  *reserved; /* scratch bitmap */
    size_t    bm;       /* bytes of each bitmap */
    rd_id_t  *gids;     /* one capture group's members */
    rd_shard_t *gsets;  /* their shard sets */
} work_t;

static void
work_free(work_t *w)
{
    free(w->C);
    free(w->I);
    free(w->pair);
    free(w->count);
    free(w->block);
    free(w->slot);
    free(w->off);
    free(w->used);
    free(w->reserved);
    free(w->gids);
    free(w->gsets);
}

/* Lowest index < n that is not used, preferring ones no memory reserves. */
static int32_t
pick_free(const uint8_t *used, const uint8_t *reserved, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (!used[i] && !reserved[i])
            return (int32_t)i;
    for (uint32_t i = 0; i < n; i++)
        if (!used[i])
            return (int32_t)i;
    return -1;
}

/* Phase 1: resolve both agent lists, check the rate split. */
static int
phase_resolve(work_t *w, const rd_plan_t *plan, const rd_table_t *prev, const rd_known_t *known,
              size_t nknown, rf_errbuf_t *err)
{
    int r;
    w->C = calloc(RD_COPY_MAX, sizeof(rd_id_t));
    w->I = calloc(RD_ICPT_MAX, sizeof(rd_id_t));
    if (w->C == NULL || w->I == NULL)
        return rf_err_set(err, -ENOMEM, "(root): out of memory");
    if ((r = resolve(w->C, &w->nc, RD_COPY_MAX, RD_ROLE_COPY, plan->copy_all, plan->copy_ids,
                     plan->ncopy, "copy_agents", prev, known, nknown, err)) != 0 ||
        (r = resolve(w->I, &w->ni, RD_ICPT_MAX, RD_ROLE_ICPT, plan->icpt_all, plan->icpt_ids,
                     plan->nicpt, "intercepts", prev, known, nknown, err)) != 0)
        return r;
    if (plan->rate_limit_pps > 0 && plan->rate_limit_pps < w->nc)
        return rf_err_set(err, RF_EPLAN,
                          "rate_limit_pps: %llu is less than 1 pps for each of %zu copy agents",
                          (unsigned long long)plan->rate_limit_pps, w->nc);
    /* A "*" plan's groups name agents the plan could not check. */
    for (unsigned m = 0; m < plan->nmembers; m++)
        if (in_list(w->C, w->nc, plan->member_ids[m]) < 0)
            return rf_err_set(err, RF_EPLAN,
                              "capture_groups[%d].agents: \"%s\" is not a copy agent of this plan",
                              rd_plan_group_of(plan, plan->member_ids[m]), plan->member_ids[m]);
    w->pair = calloc(w->nc, sizeof(int));
    w->count = calloc(w->ni, sizeof(size_t));
    w->block = calloc(w->ni, sizeof(int32_t));
    w->slot = calloc(w->nc, sizeof(int32_t));
    w->off = calloc(w->nc, sizeof(int32_t));
    if (!w->pair || !w->count || !w->block || !w->slot || !w->off)
        return rf_err_set(err, -ENOMEM, "(root): out of memory");
    return 0;
}

/* Phase 2, pairing: keep the previous intercept when it is still in the
 * plan; newcomers go to the least loaded intercept (lowest index on ties).
 * Returns the most copy agents any intercept has (at least 1). */
static size_t
phase_pair(work_t *w, const rd_table_t *prev)
{
    for (size_t c = 0; c < w->nc; c++) {
        const rd_entry_t *pe = rd_table_find(prev, w->C[c]);
        w->pair[c] = pe && pe->role == RD_ROLE_COPY ? in_list(w->I, w->ni, pe->pair) : -1;
        if (w->pair[c] >= 0)
            w->count[w->pair[c]]++;
    }
    for (size_t c = 0; c < w->nc; c++) {
        if (w->pair[c] >= 0)
            continue;
        size_t best = 0;
        for (size_t i = 1; i < w->ni; i++)
            if (w->count[i] < w->count[best])
                best = i;
        w->pair[c] = (int)best;
        w->count[best]++;
    }
    size_t maxcount = 1;
    for (size_t i = 0; i < w->ni; i++)
        if (w->count[i] > maxcount)
            maxcount = w->count[i];
    return maxcount;
}

/* Phase 3, layout: keep the previous one while it fits, so nobody moves;
 * else headroom (twice the agents, at least 2 blocks and 4 slots), reduced
 * while slots would be smaller than RD_SLOT_MIN_LEN. */
static int
phase_layout(work_t *w, unsigned *bb, unsigned *sb, const rf_cidr_t *pool, size_t maxcount,
             const rd_table_t *prev, rf_errbuf_t *err)
{
    unsigned bb_min = clog2(w->ni), sb_min = clog2(maxcount);
    if (prev && prev->has_layout && prev->pool.addr == pool->addr && prev->pool.len == pool->len &&
        prev->block_bits >= bb_min && prev->slot_bits >= sb_min) {
        *bb = prev->block_bits;
        *sb = prev->slot_bits;
    } else {
        if (pool->len + bb_min + sb_min > 32) {
            char ps[32];
            cidr_str(ps, sizeof(ps), pool);
            return rf_err_set(err, RF_EPLAN,
                              "client_pool: %s is too small for %zu intercept(s) with up to %zu "
                              "copy agent(s) each (needs %u prefix bits, has %u)",
                              ps, w->ni, maxcount, bb_min + sb_min, 32u - pool->len);
        }
        *bb = clog2(w->ni) + 1;
        *sb = clog2(maxcount) + 1;
        if (*sb < 2)
            *sb = 2;
        while (pool->len + *bb + *sb > RD_SLOT_MIN_LEN && *bb > bb_min)
            (*bb)--;
        while (pool->len + *bb + *sb > RD_SLOT_MIN_LEN && *sb > sb_min)
            (*sb)--;
    }
    uint32_t nblocks = 1u << *bb, nslots = 1u << *sb;
    w->bm = nblocks > nslots ? nblocks : nslots;
    if (w->bm < RD_OFFSETS)
        w->bm = RD_OFFSETS;
    w->used = calloc(w->bm, 1);
    w->reserved = calloc(w->bm, 1);
    if (!w->used || !w->reserved)
        return rf_err_set(err, -ENOMEM, "(root): out of memory");
    return 0;
}

/* Phase 4, blocks. Sticky claims in two rounds: agents that were active
 * keep their place before a returning agent may reclaim a remembered one
 * (which a newcomer may have taken meanwhile). */
static int
phase_blocks(work_t *w, uint32_t nblocks, const rd_table_t *prev, rf_errbuf_t *err)
{
    memset(w->used, 0, w->bm);
    memset(w->reserved, 0, w->bm);
    for (size_t i = 0; prev && i < prev->n; i++) {
        const rd_entry_t *e = &prev->e[i];
        if (e->role == RD_ROLE_ICPT && e->block >= 0 && (uint32_t)e->block < nblocks &&
            in_list(w->I, w->ni, e->id) < 0)
            w->reserved[e->block] = 1;
    }
    for (size_t i = 0; i < w->ni; i++)
        w->block[i] = -1;
    for (int round = 1; round >= 0; round--)
        for (size_t i = 0; i < w->ni; i++) {
            const rd_entry_t *pe = rd_table_find(prev, w->I[i]);
            if (pe && pe->active == round && pe->role == RD_ROLE_ICPT && pe->block >= 0 &&
                (uint32_t)pe->block < nblocks && !w->used[pe->block]) {
                w->block[i] = pe->block;
                w->used[pe->block] = 1;
            }
        }
    for (size_t i = 0; i < w->ni; i++) {
        if (w->block[i] >= 0)
            continue;
        w->block[i] = pick_free(w->used, w->reserved, nblocks);
        if (w->block[i] < 0)
            return rf_err_set(err, RF_EPLAN, "intercepts: no free block (internal)");
        w->used[w->block[i]] = 1;
    }
    return 0;
}

/* Phase 5, slots inside intercept i's block (same two sticky rounds). */
static int
phase_slots_of(work_t *w, size_t i, uint32_t nslots, const rd_table_t *prev, rf_errbuf_t *err)
{
    memset(w->used, 0, w->bm);
    memset(w->reserved, 0, w->bm);
    for (size_t k = 0; prev && k < prev->n; k++) {
        const rd_entry_t *e = &prev->e[k];
        if (e->role == RD_ROLE_COPY && strcmp(e->pair, w->I[i]) == 0 && e->slot >= 0 &&
            (uint32_t)e->slot < nslots && in_list(w->C, w->nc, e->id) < 0)
            w->reserved[e->slot] = 1;
    }
    for (size_t c = 0; c < w->nc; c++)
        if (w->pair[c] == (int)i)
            w->slot[c] = -1;
    for (int round = 1; round >= 0; round--)
        for (size_t c = 0; c < w->nc; c++) {
            if (w->pair[c] != (int)i || w->slot[c] >= 0)
                continue;
            const rd_entry_t *pe = rd_table_find(prev, w->C[c]);
            if (pe && pe->active == round && pe->role == RD_ROLE_COPY &&
                strcmp(pe->pair, w->I[i]) == 0 && pe->slot >= 0 && (uint32_t)pe->slot < nslots &&
                !w->used[pe->slot]) {
                w->slot[c] = pe->slot;
                w->used[pe->slot] = 1;
            }
        }
    for (size_t c = 0; c < w->nc; c++) {
        if (w->pair[c] != (int)i || w->slot[c] >= 0)
            continue;
        w->slot[c] = pick_free(w->used, w->reserved, nslots);
        if (w->slot[c] < 0)
            return rf_err_set(err, RF_EPLAN, "copy_agents: no free slot (internal)");
        w->used[w->slot[c]] = 1;
    }
    return 0;
}

/* Phase 6, port offsets, unique fleet-wide (same two sticky rounds). */
static int
phase_offsets(work_t *w, const rd_table_t *prev, rf_errbuf_t *err)
{
    memset(w->used, 0, w->bm);
    memset(w->reserved, 0, w->bm);
    for (size_t k = 0; prev && k < prev->n; k++) {
        const rd_entry_t *e = &prev->e[k];
        if (e->role == RD_ROLE_COPY && e->port_offset >= 0 && e->port_offset < RD_OFFSETS &&
            in_list(w->C, w->nc, e->id) < 0)
            w->reserved[e->port_offset] = 1;
    }
    for (size_t c = 0; c < w->nc; c++)
        w->off[c] = -1;
    for (int round = 1; round >= 0; round--)
        for (size_t c = 0; c < w->nc; c++) {
            const rd_entry_t *pe = rd_table_find(prev, w->C[c]);
            if (w->off[c] < 0 && pe && pe->active == round && pe->role == RD_ROLE_COPY &&
                pe->port_offset >= 0 && pe->port_offset < RD_OFFSETS &&
                !w->used[pe->port_offset]) {
                w->off[c] = pe->port_offset;
                w->used[pe->port_offset] = 1;
            }
        }
    for (size_t c = 0; c < w->nc; c++) {
        if (w->off[c] >= 0)
            continue;
        w->off[c] = pick_free(w->used, w->reserved, RD_OFFSETS);
        if (w->off[c] < 0)
            return rf_err_set(err, RF_EPLAN, "copy_agents: more than %d agents", RD_OFFSETS);
        w->used[w->off[c]] = 1;
    }
    return 0;
}

/* Phase 7, the table: intercepts, copy agents, then memories. */
static int
phase_build(rd_table_t *out, const work_t *w, const rd_plan_t *plan, unsigned bb, unsigned sb,
            const rd_table_t *prev, const rd_known_t *known, size_t nknown, rf_errbuf_t *err)
{
    int r;
    out->pool = plan->pool;
    out->has_layout = 1;
    out->block_bits = (uint8_t)bb;
    out->slot_bits = (uint8_t)sb;
    for (size_t i = 0; i < w->ni; i++) {
        rd_entry_t e;
        memset(&e, 0, sizeof(e));
        memcpy(e.id, w->I[i], RD_ID_MAX);
        e.role = RD_ROLE_ICPT;
        e.active = 1;
        e.block = w->block[i];
        e.slot = e.port_offset = -1;
        (void)rf_cidr_subnet(&e.range, &plan->pool, bb, (uint32_t)w->block[i]);
        const rd_known_t *k = find_known(known, nknown, e.id);
        const rd_entry_t *pe = rd_table_find(prev, e.id);
        if (k && k->advertise[0]) {
            memcpy(e.advertise, k->advertise, RD_HOST_MAX);
            e.listen_port = k->listen_port;
        } else if (pe) {
            memcpy(e.advertise, pe->advertise, RD_HOST_MAX);
            e.listen_port = pe->listen_port;
        }
        if (e.listen_port == 0)
            e.listen_port = RF_PORT_INTERCEPT;
        if ((r = rd_table_add(out, &e)) != 0)
            return rf_err_set(err, r, "(root): assignment table full");
    }
    uint64_t share = w->nc ? plan->rate_limit_pps / w->nc : 0;
    uint64_t extra = w->nc ? plan->rate_limit_pps % w->nc : 0;
    for (size_t c = 0; c < w->nc; c++) {
        rd_entry_t e;
        memset(&e, 0, sizeof(e));
        memcpy(e.id, w->C[c], RD_ID_MAX);
        e.role = RD_ROLE_COPY;
        e.active = 1;
        e.block = -1;
        e.slot = w->slot[c];
        e.port_offset = w->off[c];
        memcpy(e.pair, w->I[w->pair[c]], RD_ID_MAX);
        rf_cidr_t blk;
        (void)rf_cidr_subnet(&blk, &plan->pool, bb, (uint32_t)w->block[w->pair[c]]);
        (void)rf_cidr_subnet(&e.range, &blk, sb, (uint32_t)w->slot[c]);
        e.rate_pps = share + (c < extra ? 1 : 0);
        if ((r = rd_table_add(out, &e)) != 0)
            return rf_err_set(err, r, "(root): assignment table full");
    }
    for (size_t k = 0; prev && k < prev->n; k++) {
        rd_entry_t e = prev->e[k];
        if (rd_table_find(out, e.id) != NULL)
            continue;
        e.active = 0;
        memset(&e.range, 0, sizeof(e.range));
        e.rate_pps = 0;
        e.sharded = e.live = 0;
        e.group[0] = '\0';
        memset(&e.shard, 0, sizeof(e.shard));
        if (rd_table_add(out, &e) != 0)
            break;   /* memories are best effort: forget the oldest */
    }
    return 0;
}

/* Phase 8, capture groups: each member of a shared-feed group gets the
 * buckets rendezvous hashing gives it over the members that are up. */
static int
phase_shards(rd_table_t *out, work_t *w, const rd_plan_t *plan, const rd_known_t *known,
             size_t nknown, rf_errbuf_t *err)
{
    uint8_t live[RD_GROUP_AGENTS_MAX];
    if (plan->ngroups == 0)
        return 0;
    w->gids = calloc(RD_GROUP_AGENTS_MAX, sizeof(rd_id_t));
    w->gsets = calloc(RD_GROUP_AGENTS_MAX, sizeof(rd_shard_t));
    if (w->gids == NULL || w->gsets == NULL)
        return rf_err_set(err, -ENOMEM, "(root): out of memory");
    rd_id_t *ids = w->gids;
    rd_shard_t *sets = w->gsets;
    for (unsigned g = 0; g < plan->ngroups; g++) {
        const rd_group_t *gr = &plan->groups[g];
        rd_entry_t *m[RD_GROUP_AGENTS_MAX];
        size_t n = 0;
        for (unsigned i = 0; i < gr->n && n < RD_GROUP_AGENTS_MAX; i++) {
            rd_entry_t *e = rd_table_find(out, plan->member_ids[gr->first + i]);
            if (e == NULL || !e->active || e->role != RD_ROLE_COPY)
                continue;   /* phase_resolve refused this */
            const rd_known_t *k = find_known(known, nknown, e->id);
            snprintf(e->group, sizeof(e->group), "%s", gr->name);
            memcpy(ids[n], e->id, RD_ID_MAX);
            live[n] = k != NULL && k->up;
            m[n++] = e;
        }
        if (!gr->shared_feed)
            continue;
        rd_shard_assign(sets, (const char (*)[RD_ID_MAX])ids, live, n);
        for (size_t i = 0; i < n; i++) {
            m[i]->sharded = 1;
            m[i]->live = live[i];
            m[i]->shard = sets[i];
        }
    }
    return 0;
}

static int
compute(rd_table_t *out, work_t *w, const rd_plan_t *plan, const rd_table_t *prev,
        const rd_known_t *known, size_t nknown, rf_errbuf_t *err)
{
    int r;
    unsigned bb = 0, sb = 0;   /* set by phase_layout */
    if ((r = phase_resolve(w, plan, prev, known, nknown, err)) != 0)
        return r;
    size_t maxcount = phase_pair(w, prev);
    if ((r = phase_layout(w, &bb, &sb, &plan->pool, maxcount, prev, err)) != 0 ||
        (r = phase_blocks(w, 1u << bb, prev, err)) != 0)
        return r;
    for (size_t i = 0; i < w->ni; i++)
        if ((r = phase_slots_of(w, i, 1u << sb, prev, err)) != 0)
            return r;
    /* target groups split each slot further (rd_targets.h) */
    unsigned len = plan->pool.len + bb + sb + rd_tg_bits(plan);
    if (plan->ntgroups > 1 && len > 30) {
        char ps[32];
        cidr_str(ps, sizeof(ps), &plan->pool);
        return rf_err_set(err, RF_EPLAN,
                          "client_pool: %s leaves /%u per target group and copy agent (%u "
                          "groups), at least a /30 each", ps, len, plan->ntgroups);
    }
    if ((r = phase_offsets(w, prev, err)) != 0 ||
        (r = phase_build(out, w, plan, bb, sb, prev, known, nknown, err)) != 0)
        return r;
    return phase_shards(out, w, plan, known, nknown, err);
}

int
rd_assign_compute(rd_table_t *out, const rd_plan_t *plan, const rd_table_t *prev,
                  const rd_known_t *known, size_t nknown, rf_errbuf_t *err)
{
    work_t w;
    memset(&w, 0, sizeof(w));
    rd_table_init(out);
    int r = compute(out, &w, plan, prev, known, nknown, err);
    work_free(&w);
    if (r != 0)
        rd_table_fini(out);
    return r;
}

/* ---- diff ------------------------------------------------------------- */

static void
entry_desc(FILE *fp, const rd_entry_t *e)
{
    char rs[32];
    cidr_str(rs, sizeof(rs), &e->range);
    if (e->role == RD_ROLE_ICPT)
        fprintf(fp, "block %s via %s:%u", rs, e->advertise[0] ? e->advertise : "?",
                e->listen_port);
    else
        fprintf(fp, "range %s offset %d intercept %s rate %llu", rs, e->port_offset, e->pair,
                (unsigned long long)e->rate_pps);
    if (e->role == RD_ROLE_COPY && e->sharded)
        fprintf(fp, " group %s shard %u/%d", e->group, rd_shard_count(&e->shard),
                RD_SHARD_BUCKETS);
    else if (e->role == RD_ROLE_COPY && e->group[0])
        fprintf(fp, " group %s", e->group);
}

static int
entry_changes(FILE *fp, const rd_entry_t *o, const rd_entry_t *n)
{
    int k = 0;
    char a[32], b[32];
    cidr_str(a, sizeof(a), &o->range);
    cidr_str(b, sizeof(b), &n->range);
    if (o->range.addr != n->range.addr || o->range.len != n->range.len)
        fprintf(fp, "%s%s %s -> %s", k++ ? "; " : "", n->role == RD_ROLE_ICPT ? "block" : "range",
                a, b);
    if (n->role == RD_ROLE_COPY) {
        if (o->port_offset != n->port_offset)
            fprintf(fp, "%soffset %d -> %d", k++ ? "; " : "", o->port_offset, n->port_offset);
        if (strcmp(o->pair, n->pair) != 0)
            fprintf(fp, "%sintercept %s -> %s", k++ ? "; " : "", o->pair, n->pair);
        if (o->rate_pps != n->rate_pps)
            fprintf(fp, "%srate %llu -> %llu", k++ ? "; " : "", (unsigned long long)o->rate_pps,
                    (unsigned long long)n->rate_pps);
        if (strcmp(o->group, n->group) != 0)
            fprintf(fp, "%sgroup %s -> %s", k++ ? "; " : "", o->group[0] ? o->group : "-",
                    n->group[0] ? n->group : "-");
        if (o->sharded != n->sharded || memcmp(&o->shard, &n->shard, sizeof(o->shard)) != 0) {
            unsigned sa = o->sharded ? rd_shard_count(&o->shard) : RD_SHARD_BUCKETS;
            unsigned sb = n->sharded ? rd_shard_count(&n->shard) : RD_SHARD_BUCKETS;
            fprintf(fp, "%sshard %u -> %u of %d buckets", k++ ? "; " : "", sa, sb,
                    RD_SHARD_BUCKETS);
        }
    } else if (strcmp(o->advertise, n->advertise) != 0 || o->listen_port != n->listen_port) {
        fprintf(fp, "%sendpoint %s:%u -> %s:%u", k++ ? "; " : "", o->advertise, o->listen_port,
                n->advertise, n->listen_port);
    }
    return k;
}

static void
plan_diff(FILE *fp, const rd_plan_t *o, const rd_plan_t *n)
{
    if (o == NULL) {
        fprintf(fp, "plan: \"%s\" (no plan in force before)\n", n->name);
        return;
    }
    if (strcmp(o->name, n->name) != 0)
        fprintf(fp, "plan: name \"%s\" -> \"%s\"\n", o->name, n->name);
    int rules_same = o->nrules == n->nrules;
    for (unsigned i = 0; rules_same && i < n->nrules; i++)
        rules_same = memcmp(&o->rules[i], &n->rules[i], sizeof(rf_rule_t)) == 0;
    if (!rules_same) {
        fprintf(fp, "plan: transfers");
        for (unsigned i = 0; i < o->nrules; i++) {
            char rb[64];
            rf_rule_format(&o->rules[i], rb, sizeof(rb));
            fprintf(fp, "%s%s", i ? "," : " ", rb);
        }
        fprintf(fp, " ->");
        for (unsigned i = 0; i < n->nrules; i++) {
            char rb[64];
            rf_rule_format(&n->rules[i], rb, sizeof(rb));
            fprintf(fp, "%s%s", i ? "," : " ", rb);
        }
        fprintf(fp, "\n");
    }
    if (o->pool.addr != n->pool.addr || o->pool.len != n->pool.len) {
        char a[32], b[32];
        cidr_str(a, sizeof(a), &o->pool);
        cidr_str(b, sizeof(b), &n->pool);
        fprintf(fp, "plan: client_pool %s -> %s (relayout)\n", a, b);
    }
#define NUMDIFF(f)                                                                       \
    if (o->f != n->f)                                                                    \
        fprintf(fp, "plan: " #f " %llu -> %llu\n", (unsigned long long)o->f,               \
                (unsigned long long)n->f);
    NUMDIFF(copies)
    NUMDIFF(sample_percent)
    NUMDIFF(rate_limit_pps)
    NUMDIFF(session_timeout_s)
#undef NUMDIFF
}

int
rd_assign_diff(char **out, const rd_plan_t *old_plan, const rd_table_t *old,
               const rd_plan_t *new_plan, const rd_table_t *new_tab)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    if (fp == NULL)
        return -ENOMEM;
    unsigned added = 0, changed = 0, same = 0, removed = 0;
    if (new_plan)
        plan_diff(fp, old_plan, new_plan);
    for (size_t i = 0; new_tab && i < new_tab->n; i++) {
        const rd_entry_t *n = &new_tab->e[i];
        if (!n->active)
            continue;
        const rd_entry_t *o = rd_table_find(old, n->id);
        if (o == NULL || !o->active) {
            fprintf(fp, "+ %-16s %-9s ", n->id, rd_role_name(n->role));
            entry_desc(fp, n);
            fprintf(fp, "\n");
            added++;
            continue;
        }
        /* Measure first, then print: an unchanged agent gets "=". */
        char *tmp = NULL;
        size_t tl = 0;
        FILE *tf = open_memstream(&tmp, &tl);
        int k = tf ? entry_changes(tf, o, n) : 0;
        if (tf)
            fclose(tf);
        if (k == 0) {
            fprintf(fp, "= %-16s %-9s ", n->id, rd_role_name(n->role));
            entry_desc(fp, n);
            fprintf(fp, "\n");
            same++;
        } else {
            fprintf(fp, "~ %-16s %-9s %s\n", n->id, rd_role_name(n->role), tmp ? tmp : "");
            changed++;
        }
        free(tmp);
    }
    for (size_t i = 0; old && i < old->n; i++) {
        const rd_entry_t *o = &old->e[i];
        if (!o->active)
            continue;
        const rd_entry_t *n = rd_table_find(new_tab, o->id);
        if (n != NULL && n->active)
            continue;
        char rs[32];
        cidr_str(rs, sizeof(rs), &o->range);
        fprintf(fp, "- %-16s %-9s removed from the plan (was %s)\n", o->id, rd_role_name(o->role),
                rs);
        removed++;
    }
    fprintf(fp, "summary: %u added, %u changed, %u unchanged, %u removed\n", added, changed, same,
            removed);
    if (fclose(fp) != 0 || buf == NULL) {
        free(buf);
        return -ENOMEM;
    }
    *out = buf;
    return 0;
}
