/* rd_plan.c -- plan.json schema validation with jansson. Every check names
 * the JSON path of the offending value; nothing here knows about agents
 * beyond the shape of their ids. */
#include "rd_plan.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rf_target.h"

static const char *const known_keys[] = {
    "name", "transfers", "client_pool", "copy_agents", "intercepts",
    "copies", "sample_percent", "rate_limit_pps", "session_timeout_s",
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

/* Optional integer in [lo, hi]; absent keeps *out (the default). */
static int
get_uint(uint64_t *out, const json_t *root, const char *key, uint64_t lo, uint64_t hi,
         rf_errbuf_t *err)
{
    const json_t *v = json_object_get(root, key);
    if (v == NULL)
        return 0;
    if (!json_is_integer(v))
        return rf_err_set(err, RF_EPLAN, "%s: must be an integer (%llu..%llu)", key,
                          (unsigned long long)lo, (unsigned long long)hi);
    json_int_t i = json_integer_value(v);
    if (i < 0 || (uint64_t)i < lo || (uint64_t)i > hi)
        return rf_err_set(err, RF_EPLAN, "%s: %lld is out of range %llu..%llu", key, (long long)i,
                          (unsigned long long)lo, (unsigned long long)hi);
    *out = (uint64_t)i;
    return 0;
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

static int
parse_transfers(rd_plan_t *p, const json_t *root, rf_errbuf_t *err)
{
    const json_t *v = json_object_get(root, "transfers");
    if (v == NULL)
        return rf_err_set(err, RF_EPLAN, "transfers: missing (list of \"[ip:]port-ip:port\")");
    if (!json_is_array(v))
        return rf_err_set(err, RF_EPLAN, "transfers: must be a list of rule strings");
    size_t n = json_array_size(v);
    if (n == 0)
        return rf_err_set(err, RF_EPLAN, "transfers: empty (at least one rule)");
    if (n > RF_RULES_MAX)
        return rf_err_set(err, RF_EPLAN, "transfers: %zu rules, at most %d", n, RF_RULES_MAX);
    for (size_t i = 0; i < n; i++) {
        const json_t *s = json_array_get(v, i);
        if (!json_is_string(s))
            return rf_err_set(err, RF_EPLAN, "transfers[%zu]: must be a string", i);
        const char *text = json_string_value(s);
        rf_errbuf_t e2;
        if (rf_rule_parse(&p->rules[i], text, &e2) != 0)
            return rf_err_set(err, RF_EPLAN, "transfers[%zu]: %s", i,
                              strip_rule_prefix(e2.msg, text));
        if (rf_target_allowed(p->rules[i].target_ip, &e2) != 0)   /* rf_target.h */
            return rf_err_set(err, RF_EPLAN, "transfers[%zu]: %s", i, e2.msg);
        for (size_t j = 0; j < i; j++)
            if (p->rules[j].online_ip == p->rules[i].online_ip &&
                p->rules[j].online_port == p->rules[i].online_port)
                return rf_err_set(err, RF_EPLAN,
                                  "transfers[%zu]: same online address and port as transfers[%zu]",
                                  i, j);
    }
    p->nrules = (unsigned)n;
    return 0;
}

static int
parse_pool(rd_plan_t *p, const json_t *root, rf_errbuf_t *err)
{
    const json_t *v = json_object_get(root, "client_pool");
    if (v == NULL)
        return rf_err_set(err, RF_EPLAN, "client_pool: missing (an IPv4 CIDR, e.g. 10.250.0.0/16)");
    if (!json_is_string(v))
        return rf_err_set(err, RF_EPLAN, "client_pool: must be a CIDR string");
    rf_errbuf_t e2;
    if (rf_cidr_parse(&p->pool, json_string_value(v), &e2) != 0)
        return rf_err_set(err, RF_EPLAN, "client_pool: %s", e2.msg);
    if (p->pool.len < 8)
        return rf_err_set(err, RF_EPLAN, "client_pool: /%u is wider than a /8", p->pool.len);
    uint32_t top = p->pool.addr >> 24;
    if (top == 0 || top == 127 || top >= 224)
        return rf_err_set(err, RF_EPLAN,
                          "client_pool: %s is not a unicast range (0/8, 127/8, 224/3 refused)",
                          json_string_value(v));
    /* The targets route the pool to the assistants: a target or online
     * address inside it would be routed away too. */
    for (unsigned i = 0; i < p->nrules; i++) {
        if (rf_cidr_contains(&p->pool, p->rules[i].target_ip))
            return rf_err_set(err, RF_EPLAN,
                              "client_pool: contains the target address of transfers[%u]", i);
        if (p->rules[i].online_ip && rf_cidr_contains(&p->pool, p->rules[i].online_ip))
            return rf_err_set(err, RF_EPLAN,
                              "client_pool: contains the online address of transfers[%u]", i);
    }
    return 0;
}

static int
parse_ids(char (*ids)[RD_ID_MAX], unsigned *n, int *all, unsigned max, const json_t *root,
          const char *key, rf_errbuf_t *err)
{
    const json_t *v = json_object_get(root, key);
    if (v == NULL)
        return rf_err_set(err, RF_EPLAN, "%s: missing (list of agent ids, or \"*\")", key);
    if (json_is_string(v)) {
        if (strcmp(json_string_value(v), "*") != 0)
            return rf_err_set(err, RF_EPLAN, "%s: must be a list of agent ids or \"*\"", key);
        *all = 1;
        *n = 0;
        return 0;
    }
    if (!json_is_array(v))
        return rf_err_set(err, RF_EPLAN, "%s: must be a list of agent ids or \"*\"", key);
    size_t cnt = json_array_size(v);
    if (cnt == 0)
        return rf_err_set(err, RF_EPLAN, "%s: empty", key);
    if (cnt > max)
        return rf_err_set(err, RF_EPLAN, "%s: %zu agents, at most %u", key, cnt, max);
    for (size_t i = 0; i < cnt; i++) {
        const json_t *s = json_array_get(v, i);
        if (!json_is_string(s))
            return rf_err_set(err, RF_EPLAN, "%s[%zu]: must be a string", key, i);
        const char *id = json_string_value(s);
        if (strcmp(id, "*") == 0)
            return rf_err_set(err, RF_EPLAN, "%s[%zu]: \"*\" stands alone, not in a list", key, i);
        if (!rd_id_valid(id))
            return rf_err_set(err, RF_EPLAN,
                              "%s[%zu]: bad agent id \"%.64s\" (1..63 of A-Z a-z 0-9 . _ -)", key,
                              i, id);
        for (size_t j = 0; j < i; j++)
            if (strcmp(ids[j], id) == 0)
                return rf_err_set(err, RF_EPLAN, "%s[%zu]: duplicate agent \"%s\"", key, i, id);
        snprintf(ids[i], RD_ID_MAX, "%s", id);
    }
    *all = 0;
    *n = (unsigned)cnt;
    return 0;
}

static int
validate(rd_plan_t *p, const json_t *root, rf_errbuf_t *err)
{
    if (!json_is_object(root))
        return rf_err_set(err, RF_EPLAN, "(root): must be a JSON object");
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)root, key, val) {
        int known = 0;
        for (size_t i = 0; i < sizeof(known_keys) / sizeof(known_keys[0]); i++)
            known |= strcmp(key, known_keys[i]) == 0;
        if (!known)
            return rf_err_set(err, RF_EPLAN, "%.64s: unknown key", key);
    }
    const json_t *name = json_object_get(root, "name");
    if (name != NULL) {
        if (!json_is_string(name))
            return rf_err_set(err, RF_EPLAN, "name: must be a string");
        const char *s = json_string_value(name);
        if (strlen(s) >= RD_NAME_MAX)
            return rf_err_set(err, RF_EPLAN, "name: longer than %d bytes", RD_NAME_MAX - 1);
        for (const char *c = s; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                return rf_err_set(err, RF_EPLAN, "name: control characters are not allowed");
        snprintf(p->name, sizeof(p->name), "%s", s);
    } else {
        snprintf(p->name, sizeof(p->name), "unnamed");
    }
    int r;
    if ((r = parse_transfers(p, root, err)) != 0 || (r = parse_pool(p, root, err)) != 0 ||
        (r = parse_ids(p->copy_ids, &p->ncopy, &p->copy_all, RD_COPY_MAX, root, "copy_agents",
                       err)) != 0 ||
        (r = parse_ids(p->icpt_ids, &p->nicpt, &p->icpt_all, RD_ICPT_MAX, root, "intercepts",
                       err)) != 0)
        return r;
    for (unsigned i = 0; i < p->ncopy; i++)
        for (unsigned j = 0; j < p->nicpt; j++)
            if (strcmp(p->copy_ids[i], p->icpt_ids[j]) == 0)
                return rf_err_set(err, RF_EPLAN,
                                  "intercepts[%u]: \"%s\" is also listed in copy_agents[%u]", j,
                                  p->icpt_ids[j], i);
    uint64_t copies = 1, sample = 100, rate = 0, timeout = 120;
    if ((r = get_uint(&copies, root, "copies", 1, RD_COPIES_MAX, err)) != 0 ||
        (r = get_uint(&sample, root, "sample_percent", 1, 100, err)) != 0 ||
        (r = get_uint(&rate, root, "rate_limit_pps", 0, RD_RATE_MAX, err)) != 0 ||
        (r = get_uint(&timeout, root, "session_timeout_s", 1, RD_TIMEOUT_MAX, err)) != 0)
        return r;
    p->copies = (uint32_t)copies;
    p->sample_percent = (uint32_t)sample;
    p->rate_limit_pps = rate;
    p->session_timeout_s = (uint32_t)timeout;
    return 0;
}

int
rd_plan_parse(rd_plan_t **out, const char *text, size_t len, rf_errbuf_t *err)
{
    if (len > RD_PLAN_JSON_MAX)
        return rf_err_set(err, RF_EPLAN, "(root): plan is %zu bytes, at most %u", len,
                          RD_PLAN_JSON_MAX);
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return rf_err_set(err, RF_EPLAN, "(root): invalid JSON at line %d column %d: %s",
                          jerr.line, jerr.column, jerr.text);
    rd_plan_t *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        json_decref(root);
        return rf_err_set(err, -ENOMEM, "(root): out of memory");
    }
    int r = validate(p, root, err);
    if (r == 0) {
        p->json = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
        if (p->json == NULL)
            r = rf_err_set(err, -ENOMEM, "(root): out of memory");
    }
    json_decref(root);
    if (r != 0) {
        rd_plan_free(p);
        return r;
    }
    *out = p;
    return 0;
}

void
rd_plan_free(rd_plan_t *p)
{
    if (p == NULL)
        return;
    free(p->json);
    free(p);
}
