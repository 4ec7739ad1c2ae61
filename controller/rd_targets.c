/* rd_targets.c -- target_groups: schema, sub-slices, per-group values. */
#include "rd_targets.h"

#include <stdio.h>
#include <string.h>

#include "rf_parse.h"
#include "rf_target.h"

#define ERR(...) rd_plan_errs_add(e, __VA_ARGS__)

/* "IP" or "IP:PORT" (PORT only with one transfer: with several it would
 * fold their ports onto one). */
static void
parse_target(rd_tgroup_t *g, const json_t *v, const rd_plan_t *p, const char *path,
             rd_plan_errs_t *e)
{
    if (v == NULL)
        return;   /* the transfers' own targets */
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    char host[32];
    uint16_t port = 0;
    if (s == NULL || strlen(s) >= sizeof(host)) {
        ERR("%s.target: must be \"IP\" or \"IP:PORT\"", path);
        return;
    }
    const char *colon = strchr(s, ':');
    if (colon == NULL) {
        snprintf(host, sizeof(host), "%s", s);
    } else {
        snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
        if (rf_parse_port(&port, colon + 1) != 0 || port == 0) {
            ERR("%s.target: bad port in \"%s\"", path, s);
            return;
        }
    }
    uint32_t ip;
    if (rf_ipv4_parse(&ip, host) != 0 || ip == 0) {
        ERR("%s.target: bad address \"%s\"", path, s);
        return;
    }
    rf_errbuf_t e2;
    if (rf_target_allowed(ip, &e2) != 0) {
        ERR("%s.target: %s", path, e2.msg);
        return;
    }
    if (rf_cidr_contains(&p->pool, ip)) {
        ERR("%s.target: %s is inside client_pool", path, host);
        return;
    }
    if (port && p->nrules > 1) {
        ERR("%s.target: a port applies to one transfer (the plan has %u); give the address "
            "only, each transfer keeps its port", path, p->nrules);
        return;
    }
    g->target_ip = ip;
    g->target_port = port;
}

static void
group_uint(uint64_t *out, const json_t *o, const char *key, uint64_t lo, uint64_t hi,
           const char *path, rd_plan_errs_t *e)
{
    const json_t *v = json_object_get(o, key);
    if (v == NULL)
        return;
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        (uint64_t)json_integer_value(v) < lo || (uint64_t)json_integer_value(v) > hi) {
        ERR("%s.%s: must be an integer %llu..%llu", path, key, (unsigned long long)lo,
            (unsigned long long)hi);
        return;
    }
    *out = (uint64_t)json_integer_value(v);
}

static void
parse_one(rd_plan_t *p, rd_tgroup_t *g, const json_t *o, const char *path, rd_plan_errs_t *e)
{
    memset(g, 0, sizeof(*g));
    if (!json_is_object(o)) {
        ERR("%s: must be an object {\"name\", \"target\", \"copies\", ...}", path);
        return;
    }
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)o, key, val) {
        if (strcmp(key, "name") && strcmp(key, "target") && strcmp(key, "copies") &&
            strcmp(key, "sample_percent") && strcmp(key, "rate_limit_pps"))
            ERR("%s.%.64s: unknown key", path, key);
    }
    const json_t *nm = json_object_get(o, "name");
    if (!json_is_string(nm) || !rd_id_valid(json_string_value(nm)))
        ERR("%s.name: missing or bad (1..63 of A-Z a-z 0-9 . _ -)", path);
    else
        snprintf(g->name, sizeof(g->name), "%s", json_string_value(nm));
    parse_target(g, json_object_get(o, "target"), p, path, e);
    uint64_t copies = 0, sample = 0, rate = 0;
    group_uint(&copies, o, "copies", 1, RD_COPIES_MAX, path, e);
    group_uint(&sample, o, "sample_percent", 1, 100, path, e);
    group_uint(&rate, o, "rate_limit_pps", 0, RD_RATE_MAX, path, e);
    g->copies = (uint32_t)copies;
    g->sample_percent = (uint32_t)sample;
    g->rate_limit_pps = rate;
    g->has_rate = json_object_get(o, "rate_limit_pps") != NULL;
}

void
rd_tg_parse(rd_plan_t *p, const unsigned char *ok, const json_t *root, rd_plan_errs_t *e)
{
    const json_t *v = json_object_get(root, "target_groups");
    if (v == NULL)
        return;
    if (!json_is_array(v) || json_array_size(v) == 0) {
        ERR("target_groups: must be a non-empty list of {\"name\", \"target\", ...}");
        return;
    }
    if (json_array_size(v) > RD_TGROUPS_MAX) {
        ERR("target_groups: %zu groups, at most %d", json_array_size(v), RD_TGROUPS_MAX);
        return;
    }
    size_t n = json_array_size(v);
    for (size_t g = 0; g < n; g++) {
        char path[40];
        snprintf(path, sizeof(path), "target_groups[%zu]", g);
        rd_tgroup_t *tg = &p->tgroups[g];
        parse_one(p, tg, json_array_get(v, g), path, e);
        p->ntgroups = (unsigned)g + 1;   /* rd_tg_rule below reads groups 0..g */
        for (size_t h = 0; h < g; h++) {
            const rd_tgroup_t *o = &p->tgroups[h];
            if (tg->name[0] && strcmp(o->name, tg->name) == 0)
                ERR("%s.name: \"%s\" is also target_groups[%zu]", path, tg->name, h);
            /* Two groups to the same targets would be `copies` in disguise,
             * and one target would see both groups' sources. */
            int same = 1;
            for (unsigned i = 0; i < p->nrules; i++) {
                if (!ok[i])
                    continue;
                rf_rule_t a, b;
                rd_tg_rule(&a, p, (unsigned)h, i);
                rd_tg_rule(&b, p, (unsigned)g, i);
                same &= a.target_ip == b.target_ip && a.target_port == b.target_port;
            }
            if (same && p->nrules > 0)
                ERR("%s.target: same targets as target_groups[%zu] (several replays to one "
                    "target: copies)", path, h);
        }
    }
}

unsigned
rd_tg_bits(const rd_plan_t *p)
{
    unsigned b = 0;
    while ((1u << b) < p->ntgroups)
        b++;
    return b;
}

unsigned
rd_tg_outputs(const rd_plan_t *p)
{
    return p->ntgroups ? p->ntgroups : 1;
}

int
rd_tg_range(rf_cidr_t *out, const rf_cidr_t *slot, const rd_plan_t *p, unsigned g)
{
    return rf_cidr_subnet(out, slot, rd_tg_bits(p), g);
}

void
rd_tg_rule(rf_rule_t *out, const rd_plan_t *p, unsigned g, unsigned i)
{
    *out = p->rules[i];
    if (g >= p->ntgroups)
        return;
    if (p->tgroups[g].target_ip)
        out->target_ip = p->tgroups[g].target_ip;
    if (p->tgroups[g].target_port)
        out->target_port = p->tgroups[g].target_port;
}

uint32_t
rd_tg_copies(const rd_plan_t *p, unsigned g)
{
    return g < p->ntgroups && p->tgroups[g].copies ? p->tgroups[g].copies : p->copies;
}

uint32_t
rd_tg_sample(const rd_plan_t *p, unsigned g)
{
    return g < p->ntgroups && p->tgroups[g].sample_percent ? p->tgroups[g].sample_percent
                                                           : p->sample_percent;
}

uint64_t
rd_tg_rate(const rd_plan_t *p, unsigned g)
{
    return g < p->ntgroups && p->tgroups[g].has_rate ? p->tgroups[g].rate_limit_pps
                                                     : p->rate_limit_pps;
}

uint64_t
rd_tg_share(uint64_t rate, unsigned idx, unsigned n)
{
    if (rate == 0 || n == 0)
        return 0;
    uint64_t s = rate / n + (idx < rate % n ? 1 : 0);
    return s ? s : 1;
}
