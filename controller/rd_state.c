/* rd_state.c -- state.json encode/decode with jansson; durable save. */
#include "rd_state.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rf_atomic_file.h"

int
rd_state_encode(char **out, size_t *len, uint64_t generation, const rd_plan_t *plan,
                const rd_table_t *t)
{
    json_t *root = json_object();
    json_t *agents = json_array();
    int bad = root == NULL || agents == NULL;
    bad |= json_object_set_new(root, "version", json_integer(RD_STATE_VERSION));
    bad |= json_object_set_new(root, "generation", json_integer((json_int_t)generation));
    json_t *pj = plan ? json_loads(plan->json, 0, NULL) : json_null();
    bad |= pj == NULL;
    bad |= json_object_set_new(root, "plan", pj);
    if (t->has_layout) {
        char ps[32];
        rf_cidr_format(&t->pool, ps, sizeof(ps));
        bad |= json_object_set_new(root, "layout",
                                   json_pack("{s:s,s:i,s:i}", "pool", ps, "block_bits",
                                             (int)t->block_bits, "slot_bits", (int)t->slot_bits));
    } else {
        bad |= json_object_set_new(root, "layout", json_null());
    }
    if (t->sched_start_ms)
        bad |= json_object_set_new(root, "schedule",
                                   json_pack("{s:I,s:I,s:I}", "start_ms",
                                             (json_int_t)t->sched_start_ms, "paused_at_ms",
                                             (json_int_t)t->sched_paused_at_ms, "paused_ms",
                                             (json_int_t)t->sched_paused_ms));
    for (size_t i = 0; !bad && i < t->n; i++) {
        const rd_entry_t *e = &t->e[i];
        json_t *o = json_pack("{s:s,s:s,s:b,s:i,s:i,s:i,s:s,s:s,s:i,s:I}", "id", e->id, "role",
                              rd_role_name(e->role), "active", e->active, "block", (int)e->block,
                              "slot", (int)e->slot, "port_offset", (int)e->port_offset, "pair",
                              e->pair, "advertise", e->advertise, "listen_port",
                              (int)e->listen_port, "rate_pps", (json_int_t)e->rate_pps);
        if (o != NULL && e->group[0])
            bad |= json_object_set_new(o, "group", json_string(e->group));
        if (o != NULL && e->sharded) {
            char hex[RD_SHARD_HEX_LEN];
            rd_shard_to_hex(&e->shard, hex);
            bad |= json_object_set_new(o, "shard", json_string(hex));
            bad |= json_object_set_new(o, "live", json_boolean(e->live));
        }
        bad |= o == NULL || json_array_append_new(agents, o) != 0;
    }
    bad |= json_object_set(root, "agents", agents);
    json_decref(agents);
    char *s = bad ? NULL : json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
    json_decref(root);
    if (s == NULL)
        return -ENOMEM;
    *out = s;
    *len = strlen(s);
    return 0;
}

static int
get_int(json_int_t *v, const json_t *o, const char *key, json_int_t lo, json_int_t hi)
{
    const json_t *x = json_object_get(o, key);
    if (!json_is_integer(x))
        return -1;
    *v = json_integer_value(x);
    return *v < lo || *v > hi ? -1 : 0;
}

static const char *
get_str(const json_t *o, const char *key, size_t max)
{
    const json_t *x = json_object_get(o, key);
    if (!json_is_string(x) || strlen(json_string_value(x)) >= max)
        return NULL;
    return json_string_value(x);
}

static int
decode_entry(rd_entry_t *e, const json_t *o, size_t i, rf_errbuf_t *err)
{
    memset(e, 0, sizeof(*e));
    const char *id = get_str(o, "id", RD_ID_MAX), *role = get_str(o, "role", 16);
    const char *pair = get_str(o, "pair", RD_ID_MAX), *adv = get_str(o, "advertise", RD_HOST_MAX);
    json_int_t block, slot, off, port, rate;
    const json_t *act = json_object_get(o, "active");
    if (!json_is_object(o) || id == NULL || !rd_id_valid(id) || role == NULL || pair == NULL ||
        adv == NULL || !json_is_boolean(act) || get_int(&block, o, "block", -1, 1 << 24) ||
        get_int(&slot, o, "slot", -1, 1 << 24) || get_int(&off, o, "port_offset", -1, 1023) ||
        get_int(&port, o, "listen_port", 0, 65535) ||
        get_int(&rate, o, "rate_pps", 0, (json_int_t)RD_RATE_MAX))
        return rf_err_set(err, RF_EPARSE, "agents[%zu]: malformed entry", i);
    if (strcmp(role, "copy") == 0)
        e->role = RD_ROLE_COPY;
    else if (strcmp(role, "intercept") == 0)
        e->role = RD_ROLE_ICPT;
    else
        return rf_err_set(err, RF_EPARSE, "agents[%zu]: bad role \"%s\"", i, role);
    snprintf(e->id, sizeof(e->id), "%s", id);
    snprintf(e->pair, sizeof(e->pair), "%s", pair);
    snprintf(e->advertise, sizeof(e->advertise), "%s", adv);
    e->active = json_is_true(act);
    e->block = (int32_t)block;
    e->slot = (int32_t)slot;
    e->port_offset = (int32_t)off;
    e->listen_port = (uint16_t)port;
    e->rate_pps = (uint64_t)rate;
    /* Capture groups (optional: older states have none). */
    const json_t *g = json_object_get(o, "group"), *sh = json_object_get(o, "shard");
    const json_t *lv = json_object_get(o, "live");
    if (g != NULL) {
        if (!json_is_string(g) || !rd_id_valid(json_string_value(g)))
            return rf_err_set(err, RF_EPARSE, "agents[%zu].group: malformed", i);
        snprintf(e->group, sizeof(e->group), "%s", json_string_value(g));
    }
    if (sh != NULL) {
        if (!json_is_string(sh) || rd_shard_from_hex(&e->shard, json_string_value(sh)) != 0 ||
            !e->group[0] || e->role != RD_ROLE_COPY || (lv != NULL && !json_is_boolean(lv)))
            return rf_err_set(err, RF_EPARSE, "agents[%zu].shard: malformed", i);
        e->sharded = 1;
        e->live = json_is_true(lv);
    }
    return 0;
}

static int
decode(uint64_t *generation, rd_plan_t **plan, rd_table_t *t, const json_t *root,
       rf_errbuf_t *err)
{
    json_int_t v, gen;
    if (!json_is_object(root) || get_int(&v, root, "version", 1, 1000) != 0)
        return rf_err_set(err, RF_EPARSE, "not a replayd state document");
    if (v != RD_STATE_VERSION)
        return rf_err_set(err, RF_EPARSE, "state version %lld, this build reads %d", (long long)v,
                          RD_STATE_VERSION);
    if (get_int(&gen, root, "generation", 0, INT64_MAX) != 0)
        return rf_err_set(err, RF_EPARSE, "generation: missing or negative");
    const json_t *pj = json_object_get(root, "plan");
    rd_plan_t *p = NULL;
    if (pj != NULL && !json_is_null(pj)) {
        char *txt = json_dumps(pj, JSON_COMPACT);
        if (txt == NULL)
            return rf_err_set(err, -ENOMEM, "out of memory");
        rf_errbuf_t e2;
        int r = rd_plan_parse(&p, txt, strlen(txt), &e2);
        free(txt);
        if (r != 0)
            return rf_err_set(err, RF_EPARSE, "plan.%s", e2.msg);
    }
    const json_t *lay = json_object_get(root, "layout");
    if (lay != NULL && !json_is_null(lay)) {
        json_int_t bb, sb;
        const char *ps = get_str(lay, "pool", 32);
        rf_errbuf_t e2;
        if (ps == NULL || rf_cidr_parse(&t->pool, ps, &e2) != 0 ||
            get_int(&bb, lay, "block_bits", 0, 32) || get_int(&sb, lay, "slot_bits", 0, 32) ||
            t->pool.len + bb + sb > 32) {
            rd_plan_free(p);
            return rf_err_set(err, RF_EPARSE, "layout: malformed");
        }
        t->has_layout = 1;
        t->block_bits = (uint8_t)bb;
        t->slot_bits = (uint8_t)sb;
    }
    const json_t *sc = json_object_get(root, "schedule");
    if (sc != NULL) {
        json_int_t st, pa, pm;
        if (get_int(&st, sc, "start_ms", 1, INT64_MAX) || get_int(&pa, sc, "paused_at_ms", 0, INT64_MAX) ||
            get_int(&pm, sc, "paused_ms", 0, INT64_MAX)) {
            rd_plan_free(p);
            return rf_err_set(err, RF_EPARSE, "schedule: malformed");
        }
        t->sched_start_ms = (uint64_t)st;
        t->sched_paused_at_ms = (uint64_t)pa;
        t->sched_paused_ms = (uint64_t)pm;
    }
    const json_t *agents = json_object_get(root, "agents");
    if (!json_is_array(agents) || json_array_size(agents) > RD_TABLE_MAX) {
        rd_plan_free(p);
        return rf_err_set(err, RF_EPARSE, "agents: missing or more than %d", RD_TABLE_MAX);
    }
    for (size_t i = 0; i < json_array_size(agents); i++) {
        rd_entry_t e;
        int r = decode_entry(&e, json_array_get(agents, i), i, err);
        if (r == 0 && rd_table_find(t, e.id) != NULL)
            r = rf_err_set(err, RF_EPARSE, "agents[%zu]: duplicate id \"%s\"", i, e.id);
        if (r == 0)
            r = rd_table_add(t, &e);
        if (r != 0) {
            rd_plan_free(p);
            return r;
        }
    }
    int r = rd_table_derive_ranges(t, err);
    if (r == 0)
        r = rd_table_check(t, err);
    if (r == 0 && p != NULL && p->pool.addr != t->pool.addr && t->has_layout)
        r = rf_err_set(err, RF_EPARSE, "layout: pool differs from the plan's client_pool");
    if (r != 0) {
        rd_plan_free(p);
        return r;
    }
    *generation = (uint64_t)gen;
    *plan = p;
    return 0;
}

int
rd_state_decode(uint64_t *generation, rd_plan_t **plan, rd_table_t *t, const char *text,
                size_t len, rf_errbuf_t *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return rf_err_set(err, RF_EPARSE, "invalid JSON at line %d: %s", jerr.line, jerr.text);
    rd_table_init(t);
    int r = decode(generation, plan, t, root, err);
    json_decref(root);
    if (r != 0)
        rd_table_fini(t);
    return r;
}

static int
state_path(char *buf, size_t len, const char *dir)
{
    if ((size_t)snprintf(buf, len, "%s/%s", dir, RD_STATE_FILE) >= len)
        return -ENAMETOOLONG;
    return 0;
}

int
rd_state_dir_check(const char *dir, rf_errbuf_t *err)
{
    struct stat sb;
    if (lstat(dir, &sb) != 0)
        return rf_err_set(err, -errno, "--state-dir %s: %s", dir, strerror(errno));
    if (S_ISLNK(sb.st_mode))
        return rf_err_set(err, -ELOOP, "--state-dir %s is a symbolic link: give the real path",
                          dir);
    if (!S_ISDIR(sb.st_mode))
        return rf_err_set(err, -ENOTDIR, "--state-dir %s is not a directory", dir);
    if (sb.st_uid != geteuid())
        return rf_err_set(err, -EPERM, "--state-dir %s is owned by uid %u, not by the running "
                                       "user (uid %u)",
                          dir, (unsigned)sb.st_uid, (unsigned)geteuid());
    if (sb.st_mode & 022)
        return rf_err_set(err, -EPERM, "--state-dir %s is writable by group/other (mode %03o): "
                                       "chmod 700",
                          dir, (unsigned)(sb.st_mode & 0777));
    char path[4096];
    if (state_path(path, sizeof(path), dir) == 0 && lstat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        return rf_err_set(err, -ELOOP, "%s is not a regular file (a symbolic link?)", path);
    return 0;
}

int
rd_state_save(const char *dir, uint64_t generation, const rd_plan_t *plan, const rd_table_t *t)
{
    char path[4096], *text;
    size_t len;
    /* The file stores a JSON integer: refuse rather than wrap, so the next
     * start can still read what is there. */
    if (generation > (uint64_t)INT64_MAX)
        return -EOVERFLOW;
    int r = state_path(path, sizeof(path), dir);
    if (r != 0)
        return r;
    if ((r = rd_state_encode(&text, &len, generation, plan, t)) != 0)
        return r;
    r = rf_atomic_write(path, text, len);
    free(text);
    return r;
}

int
rd_state_load(uint64_t *generation, rd_plan_t **plan, rd_table_t *t, const char *dir,
              rf_errbuf_t *err)
{
    char path[4096], *text;
    size_t len;
    struct stat sb;
    int r = state_path(path, sizeof(path), dir);
    /* Never follow a link planted in the state dir. */
    if (r == 0 && lstat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        return rf_err_set(err, -ELOOP, "%s is not a regular file (a symbolic link?)", path);
    if (r == 0)
        r = rf_read_file(&text, &len, path, RD_STATE_MAX);
    if (r == -ENOENT)
        return r;
    if (r != 0)
        return rf_err_set(err, r, "%s: %s", path, rf_strerror(r));
    rf_errbuf_t e2;
    r = rd_state_decode(generation, plan, t, text, len, &e2);
    free(text);
    if (r != 0)
        return rf_err_set(err, r, "%s: %s", path, e2.msg);
    return 0;
}
