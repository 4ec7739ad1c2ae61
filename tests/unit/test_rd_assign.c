/* test_rd_assign.c -- sharding: disjointness over random fleets, sticky
 * placement across join/leave and save/restore, pool too small, unknown
 * agents, "*" expansion, rate split, diff text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rd_assign.h"
#include "rd_targets.h"
#include "rd_state.h"

/* ---- helpers ---------------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t
rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

typedef struct {
    rd_known_t k[2048];
    size_t     n;
} known_t;

static void
add_known(known_t *k, const char *id, int role, int up)
{
    rd_known_t *e = &k->k[k->n++];
    memset(e, 0, sizeof(*e));
    snprintf(e->id, sizeof(e->id), "%s", id);
    e->role = (uint8_t)role;
    e->up = (uint8_t)up;
    if (role == RD_ROLE_ICPT) {
        snprintf(e->advertise, sizeof(e->advertise), "10.0.3.%zu", k->n);
        e->listen_port = 36524;
    }
}

/* Build a plan with ids "cap-<c>" for c in copies[] and "as-<i>". */
static rd_plan_t *
make_plan(const char *pool, const int *cp, size_t ncp, const int *ic, size_t nic, const char *extra)
{
    size_t cap = 64 * 1024;
    char *j = malloc(cap);
    size_t o = (size_t)snprintf(j, cap,
                                "{\"transfers\":[\"80-192.168.2.10:8080\"],\"client_pool\":\"%s\","
                                "\"copy_agents\":[",
                                pool);
    for (size_t i = 0; i < ncp; i++)
        o += (size_t)snprintf(j + o, cap - o, "%s\"cap-%d\"", i ? "," : "", cp[i]);
    o += (size_t)snprintf(j + o, cap - o, "],\"intercepts\":[");
    for (size_t i = 0; i < nic; i++)
        o += (size_t)snprintf(j + o, cap - o, "%s\"as-%d\"", i ? "," : "", ic[i]);
    snprintf(j + o, cap - o, "]%s%s}", extra ? "," : "", extra ? extra : "");
    rd_plan_t *p = NULL;
    rf_errbuf_t err;
    int r = rd_plan_parse(&p, j, strlen(j), &err);
    if (r != 0)
        fail_msg("plan: %s\n%s", err.msg, j);
    free(j);
    return p;
}

static void
register_all(known_t *k, int ncp, int nic)
{
    char id[32];
    k->n = 0;
    for (int i = 0; i < ncp; i++) {
        snprintf(id, sizeof(id), "cap-%d", i);
        add_known(k, id, RD_ROLE_COPY, 1);
    }
    for (int i = 0; i < nic; i++) {
        snprintf(id, sizeof(id), "as-%d", i);
        add_known(k, id, RD_ROLE_ICPT, 1);
    }
}

static int
seq(int *out, int from, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = from + i;
    return n;
}

/* Every invariant the data plane relies on. */
static void
check_table(const rd_table_t *t, const rd_plan_t *p)
{
    rf_errbuf_t err;
    if (rd_table_check(t, &err) != 0)
        fail_msg("invariant: %s", err.msg);
    size_t nc = 0, ni = 0;
    for (size_t i = 0; i < t->n; i++) {
        const rd_entry_t *e = &t->e[i];
        if (!e->active)
            continue;
        assert_true(rf_cidr_contains(&p->pool, e->range.addr));
        if (e->role == RD_ROLE_COPY) {
            nc++;
            assert_true(rf_cidr_host_count(&e->range) >= 1);
            const rd_entry_t *ic = rd_table_find(t, e->pair);
            assert_non_null(ic);
            assert_true(rf_cidr_contains(&ic->range, e->range.addr));
            assert_true(e->range.len >= ic->range.len);
        } else {
            ni++;
        }
    }
    (void)nc;
    (void)ni;
}

static rd_table_t
must_compute(const rd_plan_t *p, const rd_table_t *prev, const known_t *k)
{
    rd_table_t t;
    rf_errbuf_t err;
    if (rd_assign_compute(&t, p, prev, k->k, k->n, &err) != 0)
        fail_msg("compute: %s", err.msg);
    check_table(&t, p);
    return t;
}

/* ---- tests ------------------------------------------------------------ */

static void
basic_layout(void **state)
{
    (void)state;
    known_t k;
    register_all(&k, 3, 2);
    int c[3], i[2];
    rd_plan_t *p = make_plan("10.250.0.0/16", c, (size_t)seq(c, 0, 3), i, (size_t)seq(i, 0, 2),
                             "\"rate_limit_pps\":1000");
    rd_table_t t = must_compute(p, NULL, &k);
    assert_int_equal(t.n, 5);
    /* 2 intercepts -> 4 blocks (/18); at most 2 copy agents per intercept
     * -> 4 slots (/20). */
    assert_int_equal(t.block_bits, 2);
    assert_int_equal(t.slot_bits, 2);
    const rd_entry_t *a0 = rd_table_find(&t, "as-0"), *a1 = rd_table_find(&t, "as-1");
    assert_int_equal(a0->range.len, 18);
    assert_int_equal(a0->range.addr, 0x0afa0000u);
    assert_int_equal(a1->range.addr, 0x0afa4000u);
    assert_string_equal(a0->advertise, "10.0.3.4");
    /* balanced pairing: cap-0 -> as-0, cap-1 -> as-1, cap-2 -> as-0 */
    assert_string_equal(rd_table_find(&t, "cap-0")->pair, "as-0");
    assert_string_equal(rd_table_find(&t, "cap-1")->pair, "as-1");
    assert_string_equal(rd_table_find(&t, "cap-2")->pair, "as-0");
    assert_int_equal(rd_table_find(&t, "cap-2")->range.addr, 0x0afa1000u);
    assert_int_equal(rd_table_find(&t, "cap-2")->range.len, 20);
    uint64_t sum = 0;
    for (int n = 0; n < 3; n++) {
        char id[16];
        snprintf(id, sizeof(id), "cap-%d", n);
        const rd_entry_t *e = rd_table_find(&t, id);
        assert_int_equal(e->port_offset, n);
        sum += e->rate_pps;
    }
    assert_int_equal(sum, 1000);
    assert_int_equal(rd_table_find(&t, "cap-0")->rate_pps, 334);
    rd_table_fini(&t);
    rd_plan_free(p);
}

static void
random_fleets_disjoint(void **state)
{
    (void)state;
    static known_t k;
    static int c[1024], ic[64];
    for (int iter = 0; iter < 300; iter++) {
        int ni = 1 + (int)rnd(8), nc = 1 + (int)rnd(iter % 10 == 0 ? 1024 : 64);
        int len = 8 + (int)rnd(18);
        char pool[32];
        snprintf(pool, sizeof(pool), "10.%u.0.0/%d", 0u, len);
        if (len > 16)
            snprintf(pool, sizeof(pool), "10.200.%u.0/%d", len >= 24 ? 0u : 0u, len);
        register_all(&k, nc, ni);
        rd_plan_t *p = make_plan(pool, c, (size_t)seq(c, 0, nc), ic, (size_t)seq(ic, 0, ni), NULL);
        rd_table_t t;
        rf_errbuf_t err;
        int r = rd_assign_compute(&t, p, NULL, k.k, k.n, &err);
        if (r != 0) {
            /* only legitimate failure: the pool is too small */
            assert_int_equal(r, RF_EPLAN);
            assert_true(strncmp(err.msg, "client_pool: ", 13) == 0);
            unsigned need = 0;
            while ((1 << need) < ni)
                need++;
            unsigned per = (unsigned)((nc + ni - 1) / ni), sneed = 0;
            while ((1u << sneed) < per)
                sneed++;
            assert_true((unsigned)len + need + sneed > 32);
        } else {
            check_table(&t, p);
            rd_table_fini(&t);
        }
        rd_plan_free(p);
    }
}

static void
join_leave_is_sticky(void **state)
{
    (void)state;
    static known_t k;
    register_all(&k, 200, 6);
    int c[256], ic[8];
    rd_table_t prev;
    rd_table_init(&prev);
    int have[200] = { 0 }, hi[6] = { 0 };
    for (int step = 0; step < 200; step++) {
        /* random membership change: flip a few agents in or out */
        for (int f = 0; f < 1 + (int)rnd(4); f++)
            have[rnd(200)] ^= 1;
        if (rnd(10) == 0)
            hi[rnd(6)] ^= 1;
        size_t nc = 0, ni = 0;
        for (int n = 0; n < 200; n++)
            if (have[n])
                c[nc++] = n;
        for (int n = 0; n < 6; n++)
            if (hi[n])
                ic[ni++] = n;
        if (nc == 0)
            have[0] = 1, c[nc++] = 0;
        if (ni == 0)
            hi[0] = 1, ic[ni++] = 0;
        rd_plan_t *p = make_plan("10.250.0.0/16", c, nc, ic, ni, NULL);
        rd_table_t t = must_compute(p, &prev, &k);
        /* Same layout => every agent in both plans kept its range and
         * offset, and every intercept that stayed kept its block. */
        if (prev.has_layout && prev.block_bits == t.block_bits && prev.slot_bits == t.slot_bits) {
            for (size_t n = 0; n < t.n; n++) {
                const rd_entry_t *e = &t.e[n], *o = rd_table_find(&prev, e->id);
                if (!e->active || o == NULL || !o->active)
                    continue;
                if (e->role == RD_ROLE_ICPT) {
                    assert_int_equal(e->block, o->block);
                    continue;
                }
                const rd_entry_t *op = rd_table_find(&t, o->pair);
                if (op == NULL || !op->active)
                    continue;   /* its intercept left: moving is the only option */
                assert_string_equal(e->pair, o->pair);
                assert_int_equal(e->range.addr, o->range.addr);
                assert_int_equal(e->range.len, o->range.len);
                assert_int_equal(e->port_offset, o->port_offset);
            }
        }
        rd_table_fini(&prev);
        prev = t;
        rd_plan_free(p);
    }
    rd_table_fini(&prev);
}

static void
join_then_rejoin(void **state)
{
    (void)state;
    known_t k;
    register_all(&k, 5, 2);
    int c[5], i[2];
    rd_plan_t *p3 = make_plan("10.250.0.0/16", c, (size_t)seq(c, 0, 3), i, (size_t)seq(i, 0, 2), NULL);
    rd_table_t t3 = must_compute(p3, NULL, &k);
    /* cap-3 joins: nobody else moves */
    rd_plan_t *p4 = make_plan("10.250.0.0/16", c, (size_t)seq(c, 0, 4), i, 2, NULL);
    rd_table_t t4 = must_compute(p4, &t3, &k);
    for (int n = 0; n < 3; n++) {
        char id[16];
        snprintf(id, sizeof(id), "cap-%d", n);
        assert_int_equal(rd_table_find(&t3, id)->range.addr, rd_table_find(&t4, id)->range.addr);
        assert_int_equal(rd_table_find(&t3, id)->range.len, rd_table_find(&t4, id)->range.len);
        assert_int_equal(rd_table_find(&t3, id)->port_offset, rd_table_find(&t4, id)->port_offset);
    }
    const rd_entry_t *c1 = rd_table_find(&t4, "cap-1");
    rf_cidr_t c1_range = c1->range;
    int c1_off = c1->port_offset;
    /* cap-1 leaves, cap-4 joins: cap-4 must not take cap-1's remembered
     * place while another one is free */
    int cl[] = { 0, 2, 3, 4 };
    rd_plan_t *pl = make_plan("10.250.0.0/16", cl, 4, i, 2, NULL);
    rd_table_t tl = must_compute(pl, &t4, &k);
    assert_false(rd_table_find(&tl, "cap-1")->active);
    assert_true(rd_table_find(&tl, "cap-4")->port_offset != c1_off);
    assert_true(rd_table_find(&tl, "cap-4")->range.addr != c1_range.addr);
    /* cap-1 comes back: same place */
    rd_plan_t *p5 = make_plan("10.250.0.0/16", c, (size_t)seq(c, 0, 5), i, 2, NULL);
    rd_table_t t5 = must_compute(p5, &tl, &k);
    assert_int_equal(rd_table_find(&t5, "cap-1")->range.addr, c1_range.addr);
    assert_int_equal(rd_table_find(&t5, "cap-1")->port_offset, c1_off);
    rd_table_fini(&t3);
    rd_table_fini(&t4);
    rd_table_fini(&tl);
    rd_table_fini(&t5);
    rd_plan_free(p3);
    rd_plan_free(p4);
    rd_plan_free(pl);
    rd_plan_free(p5);
}

static void
sticky_across_save_restore(void **state)
{
    (void)state;
    known_t k;
    register_all(&k, 40, 3);
    int c[40], i[3];
    rd_plan_t *p = make_plan("10.250.0.0/16", c, (size_t)seq(c, 0, 40), i, (size_t)seq(i, 0, 3),
                             "\"copies\":3,\"rate_limit_pps\":777");
    rd_table_t t = must_compute(p, NULL, &k);
    char *text;
    size_t len;
    assert_int_equal(rd_state_encode(&text, &len, 42, p, &t), 0);
    uint64_t gen = 0;
    rd_plan_t *p2 = NULL;
    rd_table_t t2;
    rf_errbuf_t err;
    if (rd_state_decode(&gen, &p2, &t2, text, len, &err) != 0)
        fail_msg("decode: %s", err.msg);
    assert_int_equal(gen, 42);
    assert_string_equal(p2->json, p->json);
    assert_int_equal(t2.n, t.n);
    /* a restarted controller that knows no agent yet recomputes the same
     * plan from the restored table: nothing moves */
    known_t none = { .n = 0 };
    rd_table_t t3 = must_compute(p2, &t2, &none);
    for (size_t n = 0; n < t.n; n++) {
        const rd_entry_t *a = &t.e[n], *b = rd_table_find(&t2, a->id), *c3 = rd_table_find(&t3, a->id);
        assert_non_null(b);
        assert_non_null(c3);
        assert_int_equal(a->range.addr, b->range.addr);
        assert_int_equal(a->range.addr, c3->range.addr);
        assert_int_equal(a->range.len, c3->range.len);
        assert_int_equal(a->port_offset, c3->port_offset);
        assert_int_equal(a->rate_pps, c3->rate_pps);
        assert_string_equal(a->pair, c3->pair);
        assert_string_equal(a->advertise, c3->advertise);
    }
    free(text);
    rd_table_fini(&t);
    rd_table_fini(&t2);
    rd_table_fini(&t3);
    rd_plan_free(p);
    rd_plan_free(p2);
}

static void
pool_too_small(void **state)
{
    (void)state;
    known_t k;
    register_all(&k, 5, 1);
    int c[5], i[1];
    rd_plan_t *p = make_plan("10.250.0.0/30", c, (size_t)seq(c, 0, 5), i, (size_t)seq(i, 0, 1), NULL);
    rd_table_t t;
    rf_errbuf_t err;
    assert_int_equal(rd_assign_compute(&t, p, NULL, k.k, k.n, &err), RF_EPLAN);
    assert_string_equal(err.msg, "client_pool: 10.250.0.0/30 is too small for 1 intercept(s) with up "
                                 "to 5 copy agent(s) each (needs 3 prefix bits, has 2)");
    assert_int_equal(t.n, 0);
    rd_plan_free(p);
    /* exactly fitting: /30 = 4 single-address slots */
    p = make_plan("10.250.0.0/30", c, 4, i, 1, NULL);
    t = must_compute(p, NULL, &k);
    assert_int_equal(rd_table_find(&t, "cap-3")->range.len, 32);
    rd_table_fini(&t);
    rd_plan_free(p);
}

static void
unknown_and_wrong_role(void **state)
{
    (void)state;
    known_t k;
    register_all(&k, 2, 1);
    int c[] = { 0, 1, 9 }, i[] = { 0 };
    rd_plan_t *p = make_plan("10.250.0.0/16", c, 3, i, 1, NULL);
    rd_table_t t;
    rf_errbuf_t err;
    assert_int_equal(rd_assign_compute(&t, p, NULL, k.k, k.n, &err), RF_EPLAN);
    assert_string_equal(err.msg, "copy_agents[2]: unknown agent \"cap-9\" (never registered)");
    rd_plan_free(p);
    /* an intercept listed as a copy agent */
    add_known(&k, "cap-9", RD_ROLE_ICPT, 1);
    p = make_plan("10.250.0.0/16", c, 3, i, 1, NULL);
    assert_int_equal(rd_assign_compute(&t, p, NULL, k.k, k.n, &err), RF_EPLAN);
    assert_string_equal(err.msg, "copy_agents[2]: \"cap-9\" is registered as a intercept agent");
    rd_plan_free(p);
    /* rate below one pps per agent */
    p = make_plan("10.250.0.0/16", c, 2, i, 1, "\"rate_limit_pps\":1");
    assert_int_equal(rd_assign_compute(&t, p, NULL, k.k, k.n, &err), RF_EPLAN);
    assert_true(strncmp(err.msg, "rate_limit_pps: 1 is less than", 30) == 0);
    rd_plan_free(p);
}

static void
star_expansion(void **state)
{
    (void)state;
    known_t k = { .n = 0 };
    add_known(&k, "b-cap", RD_ROLE_COPY, 1);
    add_known(&k, "a-cap", RD_ROLE_COPY, 1);
    add_known(&k, "down-cap", RD_ROLE_COPY, 0);
    add_known(&k, "as", RD_ROLE_ICPT, 1);
    const char *j = "{\"transfers\":[\"80-10.0.2.10:8080\"],\"client_pool\":\"10.250.0.0/16\","
                    "\"copy_agents\":\"*\",\"intercepts\":\"*\"}";
    rd_plan_t *p = NULL;
    rf_errbuf_t err;
    assert_int_equal(rd_plan_parse(&p, j, strlen(j), &err), 0);
    rd_table_t t = must_compute(p, NULL, &k);
    assert_int_equal(t.n, 3);
    assert_non_null(rd_table_find(&t, "a-cap"));
    assert_null(rd_table_find(&t, "down-cap"));
    /* sorted by id: a-cap gets offset 0 */
    assert_int_equal(rd_table_find(&t, "a-cap")->port_offset, 0);
    /* b-cap goes down: it keeps its place under "*" */
    k.k[0].up = 0;
    rd_table_t t2 = must_compute(p, &t, &k);
    assert_true(rd_table_find(&t2, "b-cap")->active);
    /* nothing up of a role: error with the path */
    known_t k2 = { .n = 0 };
    add_known(&k2, "as", RD_ROLE_ICPT, 1);
    rd_table_t t3;
    assert_int_equal(rd_assign_compute(&t3, p, NULL, k2.k, k2.n, &err), RF_EPLAN);
    assert_string_equal(err.msg, "copy_agents: \"*\" matches no registered copy agent");
    rd_table_fini(&t);
    rd_table_fini(&t2);
    rd_plan_free(p);
}

static void
max_fleet_offsets(void **state)
{
    (void)state;
    static known_t k;
    static int c[1024];
    int i[] = { 0, 1, 2, 3 };
    register_all(&k, 1024, 4);
    rd_plan_t *p = make_plan("10.0.0.0/8", c, (size_t)seq(c, 0, 1024), i, 4, NULL);
    rd_table_t t = must_compute(p, NULL, &k);
    uint8_t seen[1024] = { 0 };
    for (size_t n = 0; n < t.n; n++)
        if (t.e[n].role == RD_ROLE_COPY)
            seen[t.e[n].port_offset]++;
    for (int n = 0; n < 1024; n++)
        assert_int_equal(seen[n], 1);
    rd_table_fini(&t);
    rd_plan_free(p);
}

static void
relayout_when_full(void **state)
{
    (void)state;
    known_t k;
    register_all(&k, 9, 1);
    int c[9], i[] = { 0 };
    rd_plan_t *p2 = make_plan("10.250.0.0/24", c, (size_t)seq(c, 0, 2), i, 1, NULL);
    rd_table_t t2 = must_compute(p2, NULL, &k);
    assert_int_equal(t2.slot_bits, 2);
    rd_plan_t *p9 = make_plan("10.250.0.0/24", c, (size_t)seq(c, 0, 9), i, 1, NULL);
    rd_table_t t9 = must_compute(p9, &t2, &k);
    assert_true(t9.slot_bits >= 4);
    /* offsets survive a relayout even though ranges cannot */
    assert_int_equal(rd_table_find(&t9, "cap-0")->port_offset, 0);
    assert_int_equal(rd_table_find(&t9, "cap-1")->port_offset, 1);
    rd_table_fini(&t2);
    rd_table_fini(&t9);
    rd_plan_free(p2);
    rd_plan_free(p9);
}

static void
diff_text(void **state)
{
    (void)state;
    known_t k;
    register_all(&k, 4, 1);
    int c[4], i[] = { 0 };
    rd_plan_t *pa = make_plan("10.250.0.0/16", c, (size_t)seq(c, 0, 3), i, 1, NULL);
    rd_table_t ta = must_compute(pa, NULL, &k);
    char *d = NULL;
    assert_int_equal(rd_assign_diff(&d, NULL, NULL, pa, &ta), 0);
    assert_non_null(strstr(d, "plan: \"unnamed\" (no plan in force before)\n"));
    assert_non_null(strstr(d, "+ cap-0            copy      range 10.250.0.0/20 offset 0 intercept as-0 rate 0\n"));
    assert_non_null(strstr(d, "+ as-0             intercept block 10.250.0.0/17 via 10.0.3.5:36524\n"));
    assert_non_null(strstr(d, "summary: 4 added, 0 changed, 0 unchanged, 0 removed\n"));
    free(d);
    int cb[] = { 0, 2, 3 };
    rd_plan_t *pb = make_plan("10.250.0.0/16", cb, 3, i, 1, "\"copies\":3,\"rate_limit_pps\":30");
    rd_table_t tb = must_compute(pb, &ta, &k);
    assert_int_equal(rd_assign_diff(&d, pa, &ta, pb, &tb), 0);
    assert_non_null(strstr(d, "plan: copies 1 -> 3\n"));
    assert_non_null(strstr(d, "plan: rate_limit_pps 0 -> 30\n"));
    assert_non_null(strstr(d, "~ cap-0            copy      rate 0 -> 10\n"));
    assert_non_null(strstr(d, "+ cap-3 "));
    assert_non_null(strstr(d, "- cap-1            copy      removed from the plan (was 10.250.16.0/20)\n"));
    assert_non_null(strstr(d, "= as-0 "));
    assert_non_null(strstr(d, "summary: 1 added, 2 changed, 1 unchanged, 1 removed\n"));
    free(d);
    rd_table_fini(&ta);
    rd_table_fini(&tb);
    rd_plan_free(pa);
    rd_plan_free(pb);
}

#define GROUP3 "\"capture_groups\":[{\"name\":\"span-a\",\"agents\":[\"cap-0\",\"cap-1\",\"cap-2\"]}]"

/* Capture groups: the live members share every bucket; one going down
 * gives only its buckets to the others; the diff says so; a saved table
 * restores the sets; the invariant check catches an overlap. */
/* Target groups: every (copy agent, group) sub-slice is disjoint from every
 * other one, inside its agent's slot, so no target ever sees a source of
 * another group and no two replayed tuples meet. */
#define TGROUPS3 "\"target_groups\":[{\"name\":\"v1\"},{\"name\":\"v2\",\"target\":" \
                 "\"192.168.2.20\"},{\"name\":\"v3\",\"target\":\"192.168.2.30:81\"}]"
static void
target_group_ranges(void **state)
{
    (void)state;
    static known_t k;
    register_all(&k, 40, 3);
    int c[40], i[3];
    rd_plan_t *p = make_plan("10.250.0.0/16", c, (size_t)seq(c, 0, 40), i, (size_t)seq(i, 0, 3),
                             TGROUPS3);
    rd_table_t t = must_compute(p, NULL, &k);
    static rf_cidr_t sub[40 * 3];
    size_t n = 0;
    for (size_t x = 0; x < t.n; x++) {
        const rd_entry_t *e = &t.e[x];
        if (!e->active || e->role != RD_ROLE_COPY)
            continue;
        for (unsigned g = 0; g < 3; g++) {
            assert_int_equal(rd_tg_range(&sub[n], &e->range, p, g), 0);
            assert_true(rf_cidr_contains(&e->range, sub[n].addr));
            assert_int_equal(sub[n].len, e->range.len + 2);
            n++;
        }
    }
    assert_int_equal(n, 120);
    for (size_t a = 0; a < n; a++)
        for (size_t b = a + 1; b < n; b++)
            if (rf_cidr_contains(&sub[a], sub[b].addr) || rf_cidr_contains(&sub[b], sub[a].addr))
                fail_msg("sub-slices %zu and %zu overlap", a, b);
    rd_table_fini(&t);
    rd_plan_free(p);

    /* a pool too narrow for the groups' sub-slices is refused, by name */
    register_all(&k, 4, 1);
    p = make_plan("10.250.0.0/28", c, (size_t)seq(c, 0, 4), i, 1, TGROUPS3);
    rf_errbuf_t err;
    assert_int_equal(rd_assign_compute(&t, p, NULL, k.k, k.n, &err), RF_EPLAN);
    if (strncmp(err.msg, "client_pool: 10.250.0.0/28 leaves /", 35) != 0)
        fail_msg("got \"%s\"", err.msg);
    rd_plan_free(p);
}

static void
capture_group_shards(void **state)
{
    (void)state;
    known_t k;
    register_all(&k, 4, 1);
    int c[4], i[] = { 0 };
    rd_plan_t *p = make_plan("10.250.0.0/16", c, (size_t)seq(c, 0, 4), i, 1, GROUP3);
    rd_table_t ta = must_compute(p, NULL, &k);
    unsigned sum = 0;
    for (int m = 0; m < 3; m++) {
        char id[16];
        snprintf(id, sizeof(id), "cap-%d", m);
        const rd_entry_t *e = rd_table_find(&ta, id);
        assert_true(e->sharded && e->live);
        assert_string_equal(e->group, "span-a");
        sum += rd_shard_count(&e->shard);
        assert_true(rd_shard_count(&e->shard) > 200);
    }
    assert_int_equal(sum, RD_SHARD_BUCKETS);
    assert_false(rd_table_find(&ta, "cap-3")->sharded);   /* not in a group */
    assert_string_equal(rd_table_find(&ta, "cap-3")->group, "");

    k.k[1].up = 0;   /* cap-1 down */
    rd_table_t tb = must_compute(p, &ta, &k);
    const rd_entry_t *b1 = rd_table_find(&tb, "cap-1");
    assert_true(b1->sharded && !b1->live && b1->active);
    assert_int_equal(rd_shard_count(&b1->shard), 0);
    for (uint32_t bk = 0; bk < RD_SHARD_BUCKETS; bk++) {
        const char *who[] = { "cap-0", "cap-2" };
        for (int m = 0; m < 2; m++)
            if (rd_shard_has(&rd_table_find(&ta, who[m])->shard, bk))
                assert_true(rd_shard_has(&rd_table_find(&tb, who[m])->shard, bk));
    }
    char *d = NULL;
    assert_int_equal(rd_assign_diff(&d, p, &ta, p, &tb), 0);
    char want[96];
    snprintf(want, sizeof(want), "~ cap-1            copy      shard %u -> 0 of 1024 buckets\n",
             rd_shard_count(&rd_table_find(&ta, "cap-1")->shard));
    if (strstr(d, want) == NULL)
        fail_msg("diff lacks \"%s\":\n%s", want, d);
    assert_non_null(strstr(d, "= cap-3 "));
    free(d);

    /* state.json keeps the sets and the live flags */
    char *text;
    size_t len;
    uint64_t gen;
    rd_plan_t *p2 = NULL;
    rd_table_t t2;
    rf_errbuf_t err;
    assert_int_equal(rd_state_encode(&text, &len, 7, p, &tb), 0);
    if (rd_state_decode(&gen, &p2, &t2, text, len, &err) != 0)
        fail_msg("decode: %s", err.msg);
    for (size_t n = 0; n < tb.n; n++) {
        const rd_entry_t *x = &tb.e[n], *y = rd_table_find(&t2, x->id);
        assert_int_equal(x->sharded, y->sharded);
        assert_int_equal(x->live, y->live);
        assert_string_equal(x->group, y->group);
        assert_memory_equal(&x->shard, &y->shard, sizeof(x->shard));
    }
    free(text);

    /* overlap and gap are caught */
    rd_entry_t *e0 = rd_table_find(&t2, "cap-0"), *e2 = rd_table_find(&t2, "cap-2");
    uint32_t bk = 0;
    while (!rd_shard_has(&e2->shard, bk))
        bk++;
    rd_shard_set(&e0->shard, bk);
    assert_int_equal(rd_table_check(&t2, &err), RF_EPLAN);
    assert_non_null(strstr(err.msg, "shard sets overlap"));
    e2->shard.bits[bk / 8] = (uint8_t)(e2->shard.bits[bk / 8] & ~(1u << (bk % 8)));
    assert_int_equal(rd_table_check(&t2, &err), 0);
    e0->shard.bits[bk / 8] = (uint8_t)(e0->shard.bits[bk / 8] & ~(1u << (bk % 8)));
    assert_int_equal(rd_table_check(&t2, &err), RF_EPLAN);
    assert_non_null(strstr(err.msg, "1023 of 1024 buckets"));

    rd_table_fini(&ta);
    rd_table_fini(&tb);
    rd_table_fini(&t2);
    rd_plan_free(p);
    rd_plan_free(p2);
}

/* A "*" plan cannot check group members when parsed: compute does. */
static void
capture_group_star(void **state)
{
    (void)state;
    known_t k;
    register_all(&k, 2, 1);
    const char *j = "{\"transfers\":[\"80-192.168.2.10:8080\"],\"client_pool\":\"10.250.0.0/16\","
                    "\"copy_agents\":\"*\",\"intercepts\":\"*\",\"capture_groups\":[{\"name\":\"g\","
                    "\"agents\":[\"cap-0\",\"cap-7\"]}]}";
    rd_plan_t *p = NULL;
    rf_errbuf_t err;
    assert_int_equal(rd_plan_parse(&p, j, strlen(j), &err), 0);
    rd_table_t t;
    assert_int_equal(rd_assign_compute(&t, p, NULL, k.k, k.n, &err), RF_EPLAN);
    assert_string_equal(err.msg,
                        "capture_groups[0].agents: \"cap-7\" is not a copy agent of this plan");
    rd_plan_free(p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(basic_layout),           cmocka_unit_test(random_fleets_disjoint),
        cmocka_unit_test(join_leave_is_sticky),   cmocka_unit_test(join_then_rejoin),
        cmocka_unit_test(sticky_across_save_restore), cmocka_unit_test(pool_too_small),
        cmocka_unit_test(unknown_and_wrong_role), cmocka_unit_test(star_expansion),
        cmocka_unit_test(max_fleet_offsets),      cmocka_unit_test(relayout_when_full),
        cmocka_unit_test(diff_text),              cmocka_unit_test(capture_group_shards),
        cmocka_unit_test(target_group_ranges),
        cmocka_unit_test(capture_group_star),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
