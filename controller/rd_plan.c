/* rd_plan.c -- plan.json schema validation with jansson. Every check names
 * the JSON path of the offending value; nothing here knows about agents
 * beyond the shape of their ids. */
#include "rd_plan.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rd_sched.h"
#include "rd_targets.h"
#include "rf_target.h"

static const char *const known_keys[] = {
    "name", "transfers", "client_pool", "copy_agents", "intercepts",
    "copies", "sample_percent", "rate_limit_pps", "session_timeout_s", "capture_groups", "schedule",
    "target_groups",
};

int
rd_id_valid(const char *id)
{
    size_t n = 0;
    for (const char *p = id; *p; p++, n++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        if (!ok || n >= RD_ID_MAX - 1)
            return 0;
    }
    return n > 0;
}

void
rd_plan_errs_add(rd_plan_errs_t *e, const char *fmt, ...)
{
    if (e->n >= RD_PLAN_ERRS_CAP) {
        e->dropped++;
        return;
    }
    char line[RF_ERRBUF_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    size_t used = strlen(e->msg), need = strlen(line) + (used > 0);
    /* keep room for the "... and N more" tail */
    if (used + need + 48 > sizeof(e->msg)) {
        e->dropped++;
        return;
    }
    snprintf(e->msg + used, sizeof(e->msg) - used, "%s%s", used > 0 ? "\n" : "", line);
    e->n++;
}

/* Close the list with "... and N more errors" when the cap was hit. */
static void
errs_finish(rd_plan_errs_t *e)
{
    size_t used = strlen(e->msg);
    if (e->dropped)
        snprintf(e->msg + used, sizeof(e->msg) - used, "\n... and %u more error%s", e->dropped,
                 e->dropped == 1 ? "" : "s");
}

#define ERR(...) rd_plan_errs_add(e, __VA_ARGS__)

/* Optional integer in [lo, hi]; absent keeps *out (the default). */
static void
get_uint(uint64_t *out, const json_t *root, const char *key, uint64_t lo, uint64_t hi,
         rd_plan_errs_t *e)
{
    const json_t *v = json_object_get(root, key);
    if (v == NULL)
        return;
    if (!json_is_integer(v)) {
        ERR("%s: must be an integer (%llu..%llu)", key, (unsigned long long)lo,
            (unsigned long long)hi);
        return;
    }
    json_int_t i = json_integer_value(v);
    if (i < 0 || (uint64_t)i < lo || (uint64_t)i > hi) {
        ERR("%s: %lld is out of range %llu..%llu", key, (long long)i, (unsigned long long)lo,
            (unsigned long long)hi);
        return;
    }
    *out = (uint64_t)i;
}

/* rf_rule_parse says `rule "TEXT": reason`; the path already names the
 * rule, so keep only the reason. */
static const char *
strip_rule_prefix(const char *msg, const char *text)
{
    size_t tl = strlen(text);
    if (strncmp(msg, "rule \"", 6) == 0 && strncmp(msg + 6, text, tl) == 0 &&
        strncmp(msg + 6 + tl, "\": ", 3) == 0)
        return msg + 6 + tl + 3;
    return msg;
}

/* Fills p->rules; ok[i] says whether rule i parsed (the pool check below
 * only looks at good rules, so one bad rule is not reported twice). */
static void
parse_transfers(rd_plan_t *p, unsigned char *ok, const json_t *root, rd_plan_errs_t *e)
{
    const json_t *v = json_object_get(root, "transfers");
    if (v == NULL) {
        ERR("transfers: missing (list of \"[ip:]port-ip:port\")");
        return;
    }
    if (!json_is_array(v)) {
        ERR("transfers: must be a list of rule strings");
        return;
    }
    size_t n = json_array_size(v);
    if (n == 0) {
        ERR("transfers: empty (at least one rule)");
        return;
    }
    if (n > RF_RULES_MAX) {
        ERR("transfers: %zu rules, at most %d", n, RF_RULES_MAX);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *s = json_array_get(v, i);
        if (!json_is_string(s)) {
            ERR("transfers[%zu]: must be a string", i);
            continue;
        }
        const char *text = json_string_value(s);
        rf_errbuf_t e2;
        if (rf_rule_parse(&p->rules[i], text, &e2) != 0) {
            ERR("transfers[%zu]: %s", i, strip_rule_prefix(e2.msg, text));
            continue;
        }
        if (rf_target_allowed(p->rules[i].target_ip, &e2) != 0) {   /* rf_target.h */
            ERR("transfers[%zu]: %s", i, e2.msg);
            continue;
        }
        ok[i] = 1;
        for (size_t j = 0; j < i; j++)
            if (ok[j] && p->rules[j].online_ip == p->rules[i].online_ip &&
                p->rules[j].online_port == p->rules[i].online_port) {
                ERR("transfers[%zu]: same online address and port as transfers[%zu] (one port to "
                    "several targets: target_groups)", i, j);
                break;
            }
    }
    p->nrules = (unsigned)n;
}

static void
parse_pool(rd_plan_t *p, const unsigned char *ok, const json_t *root, rd_plan_errs_t *e)
{
    const json_t *v = json_object_get(root, "client_pool");
    if (v == NULL) {
        ERR("client_pool: missing (an IPv4 CIDR, e.g. 10.250.0.0/16)");
        return;
    }
    if (!json_is_string(v)) {
        ERR("client_pool: must be a CIDR string");
        return;
    }
    rf_errbuf_t e2;
    if (rf_cidr_parse(&p->pool, json_string_value(v), &e2) != 0) {
        ERR("client_pool: %s", e2.msg);
        return;
    }
    if (p->pool.len < 8) {
        ERR("client_pool: /%u is wider than a /8", p->pool.len);
        return;
    }
    uint32_t top = p->pool.addr >> 24;
    if (top == 0 || top == 127 || top >= 224) {
        ERR("client_pool: %s is not a unicast range (0/8, 127/8, 224/3 refused)",
            json_string_value(v));
        return;
    }
    /* The targets route the pool to the assistants: a target or online
     * address inside it would be routed away too. */
    for (unsigned i = 0; i < p->nrules; i++) {
        if (!ok[i])
            continue;
        if (rf_cidr_contains(&p->pool, p->rules[i].target_ip))
            ERR("client_pool: contains the target address of transfers[%u]", i);
        if (p->rules[i].online_ip && rf_cidr_contains(&p->pool, p->rules[i].online_ip))
            ERR("client_pool: contains the online address of transfers[%u]", i);
    }
}

/* On return ok[i] marks the ids that were stored (for the overlap check). */
static void
parse_ids(char (*ids)[RD_ID_MAX], unsigned *n, int *all, unsigned max, const json_t *root,
          const char *key, rd_plan_errs_t *e)
{
    const json_t *v = json_object_get(root, key);
    *n = 0;
    if (v == NULL) {
        ERR("%s: missing (list of agent ids, or \"*\")", key);
        return;
    }
    if (json_is_string(v)) {
        if (strcmp(json_string_value(v), "*") != 0)
            ERR("%s: must be a list of agent ids or \"*\"", key);
        else
            *all = 1;
        return;
    }
    if (!json_is_array(v)) {
        ERR("%s: must be a list of agent ids or \"*\"", key);
        return;
    }
    size_t cnt = json_array_size(v);
    if (cnt == 0) {
        ERR("%s: empty", key);
        return;
    }
    if (cnt > max) {
        ERR("%s: %zu agents, at most %u", key, cnt, max);
        return;
    }
    for (size_t i = 0; i < cnt; i++) {
        const json_t *s = json_array_get(v, i);
        ids[i][0] = '\0';   /* "" never matches a valid id below */
        if (!json_is_string(s)) {
            ERR("%s[%zu]: must be a string", key, i);
            continue;
        }
        const char *id = json_string_value(s);
        if (strcmp(id, "*") == 0) {
            ERR("%s[%zu]: \"*\" stands alone, not in a list", key, i);
            continue;
        }
        if (!rd_id_valid(id)) {
            ERR("%s[%zu]: bad agent id \"%.64s\" (1..63 of A-Z a-z 0-9 . _ -)", key, i, id);
            continue;
        }
        int dup = 0;
        for (size_t j = 0; j < i && !dup; j++)
            if (strcmp(ids[j], id) == 0) {
                ERR("%s[%zu]: duplicate agent \"%s\"", key, i, id);
                dup = 1;
            }
        if (!dup)
            snprintf(ids[i], RD_ID_MAX, "%s", id);
    }
    *all = 0;
    *n = (unsigned)cnt;
}

int
rd_plan_group_of(const rd_plan_t *p, const char *id)
{
    for (unsigned g = 0; g < p->ngroups; g++)
        for (unsigned i = 0; i < p->groups[g].n; i++)
            if (strcmp(p->member_ids[p->groups[g].first + i], id) == 0)
                return (int)g;
    return -1;
}

/* One capture_groups[g] object: name, agents, shared_feed. Members are
 * appended to p->member_ids; `path` is "capture_groups[g]". */
static void
parse_group(rd_plan_t *p, const json_t *o, const char *path, rd_plan_errs_t *e)
{
    rd_group_t *gr = &p->groups[p->ngroups];
    memset(gr, 0, sizeof(*gr));
    gr->shared_feed = 1;
    gr->first = p->nmembers;
    if (!json_is_object(o)) {
        ERR("%s: must be an object {\"name\", \"agents\", \"shared_feed\"}", path);
        return;
    }
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)o, key, val) {
        if (strcmp(key, "name") != 0 && strcmp(key, "agents") != 0 &&
            strcmp(key, "shared_feed") != 0)
            ERR("%s.%.64s: unknown key", path, key);
    }
    const json_t *nm = json_object_get(o, "name");
    if (!json_is_string(nm) || !rd_id_valid(json_string_value(nm)))
        ERR("%s.name: missing or bad (1..63 of A-Z a-z 0-9 . _ -)", path);
    else
        snprintf(gr->name, sizeof(gr->name), "%s", json_string_value(nm));
    for (unsigned g = 0; gr->name[0] && g < p->ngroups; g++)
        if (strcmp(p->groups[g].name, gr->name) == 0)
            ERR("%s.name: \"%s\" is also capture_groups[%u]", path, gr->name, g);
    const json_t *sf = json_object_get(o, "shared_feed");
    if (sf != NULL && !json_is_boolean(sf))
        ERR("%s.shared_feed: must be true or false", path);
    else if (sf != NULL)
        gr->shared_feed = json_is_true(sf);
    const json_t *ag = json_object_get(o, "agents");
    if (!json_is_array(ag) || json_array_size(ag) == 0) {
        ERR("%s.agents: must be a non-empty list of copy agent ids", path);
        return;
    }
    if (json_array_size(ag) > RD_GROUP_AGENTS_MAX) {
        ERR("%s.agents: %zu agents, at most %d", path, json_array_size(ag), RD_GROUP_AGENTS_MAX);
        return;
    }
    for (size_t i = 0; i < json_array_size(ag); i++) {
        const json_t *s = json_array_get(ag, i);
        const char *id = json_is_string(s) ? json_string_value(s) : "";
        if (!rd_id_valid(id)) {
            ERR("%s.agents[%zu]: bad agent id \"%.64s\"", path, i, id);
            continue;
        }
        int other = rd_plan_group_of(p, id);
        int dup = 0;
        for (unsigned k = 0; k < gr->n; k++)
            dup |= strcmp(p->member_ids[gr->first + k], id) == 0;
        if (other >= 0 || dup) {
            ERR("%s.agents[%zu]: \"%s\" is already in capture_groups[%d]", path, i, id,
                dup ? (int)p->ngroups : other);
            continue;
        }
        int listed = p->copy_all;
        for (unsigned k = 0; k < p->ncopy && !listed; k++)
            listed = strcmp(p->copy_ids[k], id) == 0;
        if (!listed) {
            ERR("%s.agents[%zu]: \"%s\" is not in copy_agents", path, i, id);
            continue;
        }
        if (p->nmembers == RD_COPY_MAX) {
            ERR("%s.agents[%zu]: more than %d group members in the plan", path, i, RD_COPY_MAX);
            return;
        }
        snprintf(p->member_ids[p->nmembers++], RD_ID_MAX, "%s", id);
        gr->n++;
    }
}

static void
parse_groups(rd_plan_t *p, const json_t *root, rd_plan_errs_t *e)
{
    const json_t *v = json_object_get(root, "capture_groups");
    if (v == NULL)
        return;
    if (!json_is_array(v)) {
        ERR("capture_groups: must be a list of {\"name\", \"agents\", \"shared_feed\"}");
        return;
    }
    if (json_array_size(v) > RD_GROUPS_MAX) {
        ERR("capture_groups: %zu groups, at most %d", json_array_size(v), RD_GROUPS_MAX);
        return;
    }
    for (size_t g = 0; g < json_array_size(v); g++) {
        char path[48];
        snprintf(path, sizeof(path), "capture_groups[%zu]", g);
        parse_group(p, json_array_get(v, g), path, e);
        p->ngroups++;
    }
}

/* One value of a step: absent keeps *v (inherited). */
static void
step_uint(uint64_t *v, const json_t *o, const char *key, uint64_t lo, uint64_t hi, size_t i,
          rd_plan_errs_t *e)
{
    const json_t *x = json_object_get(o, key);
    if (x == NULL)
        return;
    if (!json_is_integer(x) || json_integer_value(x) < 0 ||
        (uint64_t)json_integer_value(x) < lo || (uint64_t)json_integer_value(x) > hi) {
        ERR("schedule[%zu].%s: must be an integer %llu..%llu", i, key, (unsigned long long)lo,
            (unsigned long long)hi);
        return;
    }
    *v = (uint64_t)json_integer_value(x);
}

/* One schedule step; `prev` holds the values it inherits. */
static void
parse_step(rd_step_t *st, const rd_step_t *prev, const json_t *o, size_t i, size_t n,
           rd_plan_errs_t *e)
{
    *st = *prev;
    st->ramp = st->stop = 0;
    if (!json_is_object(o)) {
        ERR("schedule[%zu]: must be an object {\"after\", \"copies\", \"rate_limit_pps\", ...}", i);
        return;
    }
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)o, key, val) {
        if (strcmp(key, "after") && strcmp(key, "copies") && strcmp(key, "rate_limit_pps") &&
            strcmp(key, "sample_percent") && strcmp(key, "ramp") && strcmp(key, "stop"))
            ERR("schedule[%zu].%.64s: unknown key", i, key);
    }
    const json_t *af = json_object_get(o, "after");
    int64_t ms = -1;
    if (json_is_string(af))
        ms = rd_sched_parse_duration(json_string_value(af));
    else if (json_is_integer(af) && json_integer_value(af) >= 0 &&
             json_integer_value(af) <= RD_SCHED_MAX_S)
        ms = (int64_t)json_integer_value(af) * 1000;
    if (ms < 0)
        ERR("schedule[%zu].after: missing or bad (seconds, or \"90s\", \"5m\", \"1h30m\"; at "
            "most 7 days)", i);
    else if (i > 0 && (uint64_t)ms <= prev->after_ms)
        ERR("schedule[%zu].after: not later than schedule[%zu]", i, i - 1);
    else
        st->after_ms = (uint64_t)ms;
    uint64_t copies = st->copies, sample = st->sample_percent, rate = st->rate_limit_pps;
    step_uint(&copies, o, "copies", 1, RD_COPIES_MAX, i, e);
    step_uint(&sample, o, "sample_percent", 1, 100, i, e);
    step_uint(&rate, o, "rate_limit_pps", 0, RD_RATE_MAX, i, e);
    st->copies = (uint32_t)copies;
    st->sample_percent = (uint32_t)sample;
    st->rate_limit_pps = rate;
    const json_t *rp = json_object_get(o, "ramp"), *sp = json_object_get(o, "stop");
    if ((rp && !json_is_boolean(rp)) || (sp && !json_is_boolean(sp)))
        ERR("schedule[%zu]: ramp and stop are true or false", i);
    st->ramp = json_is_true(rp);
    st->stop = json_is_true(sp);
    if (st->stop && i + 1 != n)
        ERR("schedule[%zu].stop: only the last step may stop the replay", i);
    if (st->stop && st->ramp)
        ERR("schedule[%zu]: a stop step cannot ramp", i);
    if (st->ramp && rate != prev->rate_limit_pps && (rate == 0 || prev->rate_limit_pps == 0))
        ERR("schedule[%zu].ramp: cannot ramp from or to an unlimited rate (0)", i);
}

static void
parse_schedule(rd_plan_t *p, const json_t *root, rd_plan_errs_t *e)
{
    const json_t *v = json_object_get(root, "schedule");
    if (v == NULL)
        return;
    if (!json_is_array(v) || json_array_size(v) == 0) {
        ERR("schedule: must be a non-empty list of steps {\"after\": \"5m\", \"copies\": 2, ...}");
        return;
    }
    size_t n = json_array_size(v);
    if (n > RD_STEPS_MAX) {
        ERR("schedule: %zu steps, at most %d", n, RD_STEPS_MAX);
        return;
    }
    rd_step_t base = { 0, p->base_copies, p->base_sample_percent, p->base_rate_limit_pps, 0, 0 };
    for (size_t i = 0; i < n; i++)
        parse_step(&p->steps[i], i ? &p->steps[i - 1] : &base, json_array_get(v, i), i, n, e);
    p->nsteps = (unsigned)n;
}

static void
validate(rd_plan_t *p, const json_t *root, rd_plan_errs_t *e)
{
    if (!json_is_object(root)) {
        ERR("(root): must be a JSON object");
        return;
    }
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)root, key, val) {
        int known = 0;
        for (size_t i = 0; i < sizeof(known_keys) / sizeof(known_keys[0]); i++)
            known |= strcmp(key, known_keys[i]) == 0;
        if (!known)
            ERR("%.64s: unknown key", key);
    }
    snprintf(p->name, sizeof(p->name), "unnamed");
    const json_t *name = json_object_get(root, "name");
    if (name != NULL) {
        const char *s = json_is_string(name) ? json_string_value(name) : NULL;
        int bad = 0;
        for (const char *c = s; c && *c; c++)
            bad |= (unsigned char)*c < 0x20 || *c == 0x7f;
        if (s == NULL)
            ERR("name: must be a string");
        else if (strlen(s) >= RD_NAME_MAX)
            ERR("name: longer than %d bytes", RD_NAME_MAX - 1);
        else if (bad)
            ERR("name: control characters are not allowed");
        else
            snprintf(p->name, sizeof(p->name), "%s", s);
    }
    unsigned char ok[RF_RULES_MAX] = { 0 };
    parse_transfers(p, ok, root, e);
    parse_pool(p, ok, root, e);
    parse_ids(p->copy_ids, &p->ncopy, &p->copy_all, RD_COPY_MAX, root, "copy_agents", e);
    parse_ids(p->icpt_ids, &p->nicpt, &p->icpt_all, RD_ICPT_MAX, root, "intercepts", e);
    for (unsigned i = 0; i < p->ncopy; i++)
        for (unsigned j = 0; j < p->nicpt; j++)
            if (p->copy_ids[i][0] && strcmp(p->copy_ids[i], p->icpt_ids[j]) == 0)
                ERR("intercepts[%u]: \"%s\" is also listed in copy_agents[%u]", j,
                    p->icpt_ids[j], i);
    parse_groups(p, root, e);
    uint64_t copies = 1, sample = 100, rate = 0, timeout = 120;
    get_uint(&copies, root, "copies", 1, RD_COPIES_MAX, e);
    get_uint(&sample, root, "sample_percent", 1, 100, e);
    get_uint(&rate, root, "rate_limit_pps", 0, RD_RATE_MAX, e);
    get_uint(&timeout, root, "session_timeout_s", 1, RD_TIMEOUT_MAX, e);
    p->copies = (uint32_t)copies;
    p->sample_percent = (uint32_t)sample;
    p->rate_limit_pps = rate;
    p->session_timeout_s = (uint32_t)timeout;
    p->base_copies = p->copies;
    p->base_sample_percent = p->sample_percent;
    p->base_rate_limit_pps = p->rate_limit_pps;
    parse_schedule(p, root, e);
    rd_tg_parse(p, ok, root, e);
}

#undef ERR

int
rd_plan_parse_all(rd_plan_t **out, const char *text, size_t len, rd_plan_errs_t *e)
{
    memset(e, 0, sizeof(*e));
    if (len > RD_PLAN_JSON_MAX) {
        rd_plan_errs_add(e, "(root): plan is %zu bytes, at most %u", len, RD_PLAN_JSON_MAX);
        errs_finish(e);
        return RF_EPLAN;
    }
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        rd_plan_errs_add(e, "(root): invalid JSON at line %d column %d: %s", jerr.line,
                         jerr.column, jerr.text);
        errs_finish(e);
        return RF_EPLAN;
    }
    rd_plan_t *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        json_decref(root);
        rd_plan_errs_add(e, "(root): out of memory");
        errs_finish(e);
        return -ENOMEM;
    }
    validate(p, root, e);
    int r = 0;
    if (e->n > 0 || e->dropped > 0) {
        r = RF_EPLAN;
    } else {
        p->json = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
        if (p->json == NULL) {
            rd_plan_errs_add(e, "(root): out of memory");
            r = -ENOMEM;
        }
    }
    json_decref(root);
    errs_finish(e);
    if (r != 0) {
        rd_plan_free(p);
        return r;
    }
    *out = p;
    return 0;
}

int
rd_plan_parse(rd_plan_t **out, const char *text, size_t len, rf_errbuf_t *err)
{
    rd_plan_errs_t *e = malloc(sizeof(*e));
    if (e == NULL)
        return rf_err_set(err, -ENOMEM, "(root): out of memory");
    int r = rd_plan_parse_all(out, text, len, e);
    if (r != 0) {
        /* first error only; say how many more there were */
        char *nl = strchr(e->msg, '\n');
        unsigned more = e->n - 1 + e->dropped;
        if (nl != NULL)
            *nl = '\0';
        if (more)
            rf_err_set(err, r, "%.200s (and %u more)", e->msg, more);
        else
            rf_err_set(err, r, "%s", e->msg);
    }
    free(e);
    return r;
}

void
rd_plan_free(rd_plan_t *p)
{
    if (p == NULL)
        return;
    free(p->json);
    free(p);
}
