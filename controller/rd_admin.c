/* rd_admin.c -- apply, assignments, status and routes over rd_ctx_t. */
#include "rd_admin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rd_state.h"
#include "rf_log.h"

int
rd_ctx_init(rd_ctx_t *c, const char *state_dir, rf_errbuf_t *err)
{
    memset(c, 0, sizeof(*c));
    rd_table_init(&c->table);
    rd_registry_init(&c->reg);
    c->heartbeat_timeout_ms = 5000;
    if (strlen(state_dir) >= sizeof(c->state_dir))
        return rf_err_set(err, -ENAMETOOLONG, "state dir path too long");
    snprintf(c->state_dir, sizeof(c->state_dir), "%s", state_dir);
    int r = rd_state_load(&c->generation, &c->plan, &c->table, state_dir, err);
    if (r == -ENOENT)
        return 0;
    if (r != 0)
        return r;
    for (size_t i = 0; i < c->table.n; i++) {
        const rd_entry_t *e = &c->table.e[i];
        rd_agent_t *a;
        if ((r = rd_registry_add(&a, &c->reg, e->id, e->role)) != 0)
            return rf_err_set(err, r, "registry: %s", rf_strerror(r));
        snprintf(a->advertise, sizeof(a->advertise), "%s", e->advertise);
        a->listen_port = e->listen_port;
        snprintf(a->down_reason, sizeof(a->down_reason), "not reconnected since restart");
    }
    return 0;
}

void
rd_ctx_fini(rd_ctx_t *c)
{
    rd_plan_free(c->plan);
    rd_table_fini(&c->table);
    rd_registry_fini(&c->reg);
}

void
rd_apply_result_fini(rd_apply_result_t *res)
{
    free(res->diff);
    res->diff = NULL;
}

static rd_known_t *
known_list(const rd_ctx_t *c, size_t *n)
{
    rd_known_t *k = calloc(c->reg.n ? c->reg.n : 1, sizeof(*k));
    if (k == NULL)
        return NULL;
    for (size_t i = 0; i < c->reg.n; i++) {
        const rd_agent_t *a = c->reg.a[i];
        memcpy(k[i].id, a->id, RD_ID_MAX);
        k[i].role = (uint8_t)a->role;
        k[i].up = (uint8_t)a->up;
        memcpy(k[i].advertise, a->advertise, RD_HOST_MAX);
        k[i].listen_port = a->listen_port;
    }
    *n = c->reg.n;
    return k;
}

int
rd_admin_apply(rd_ctx_t *c, rd_apply_result_t *res, const char *json, size_t len, int dry_run)
{
    memset(res, 0, sizeof(*res));
    res->generation = c->generation;
    rd_plan_t *plan = NULL;
    rd_table_t tab;
    rd_table_init(&tab);
    size_t nk = 0;
    rd_known_t *known = NULL;
    int r = rd_plan_parse(&plan, json, len, &res->err);
    if (r == 0) {
        known = known_list(c, &nk);
        r = known ? rd_assign_compute(&tab, plan, &c->table, known, nk, &res->err)
                  : rf_err_set(&res->err, -ENOMEM, "out of memory");
        free(known);
    }
    if (r == 0 && (r = rd_assign_diff(&res->diff, c->plan, &c->table, plan, &tab)) != 0)
        rf_err_set(&res->err, r, "out of memory");
    if (r == 0 && dry_run) {
        c->ctr.dry_runs++;
        rd_plan_free(plan);
        rd_table_fini(&tab);
        return res->code = 0;
    }
    if (r == 0) {
        /* Persist first: if the disk says no, nothing in memory changes. */
        r = rd_state_save(c->state_dir, c->generation + 1, plan, &tab);
        if (r != 0) {
            c->ctr.state_write_errors++;
            rf_err_set(&res->err, r, "state write to %s failed: %s", c->state_dir,
                       rf_strerror(r));
        }
    }
    if (r != 0) {
        c->ctr.applies_rejected++;
        free(res->diff);
        res->diff = NULL;
        rd_plan_free(plan);
        rd_table_fini(&tab);
        return res->code = r;
    }
    rd_plan_free(c->plan);
    c->plan = plan;
    rd_table_fini(&c->table);
    c->table = tab;
    c->generation++;
    c->ctr.applies++;
    res->generation = c->generation;
    for (size_t i = 0; i < c->reg.n; i++) {
        rd_agent_t *a = c->reg.a[i];
        if (a->up && a->conn && c->push)
            c->push(c, a);
    }
    return res->code = 0;
}

void
rd_admin_assignment(rd_asg_buf_t *b, const rd_ctx_t *c, const rd_agent_t *a)
{
    memset(b, 0, sizeof(*b));
    rfpb__assignment__init(&b->asg);
    b->asg.generation = c->generation;
    b->asg.plan_name = c->plan ? (char *)c->plan->name : (char *)"";
    const rd_entry_t *e = rd_table_find(&c->table, a->id);
    if (c->plan == NULL || e == NULL || !e->active || e->role != a->role)
        return;   /* idle: active = false */
    b->asg.active = 1;
    if (e->role == RD_ROLE_ICPT) {
        rfpb__prefix__init(&b->block);
        b->block.addr = e->range.addr;
        b->block.len = e->range.len;
        b->asg.route_block = &b->block;
        return;
    }
    const rd_plan_t *p = c->plan;
    for (unsigned i = 0; i < p->nrules; i++) {
        rfpb__transfer_rule__init(&b->rule[i]);
        b->rule[i].online_ip = p->rules[i].online_ip;
        b->rule[i].online_port = p->rules[i].online_port;
        b->rule[i].target_ip = p->rules[i].target_ip;
        b->rule[i].target_port = p->rules[i].target_port;
        b->rulep[i] = &b->rule[i];
    }
    b->asg.n_rules = p->nrules;
    b->asg.rules = b->rulep;
    rfpb__prefix__init(&b->range);
    b->range.addr = e->range.addr;
    b->range.len = e->range.len;
    b->asg.client_range = &b->range;
    b->asg.port_offset = (uint32_t)e->port_offset;
    b->asg.copies = p->copies;
    b->asg.sample_percent = p->sample_percent;
    b->asg.rate_limit_pps = e->rate_pps;
    b->asg.session_timeout_s = p->session_timeout_s;
    const rd_entry_t *ic = rd_table_find(&c->table, e->pair);
    if (ic != NULL) {
        rfpb__endpoint__init(&b->ep);
        b->ep.host = (char *)ic->advertise;
        b->ep.port = ic->listen_port;
        b->ep.id = (char *)ic->id;
        b->epp[0] = &b->ep;
        b->asg.intercepts = b->epp;
        b->asg.n_intercepts = 1;
    }
}

int
rd_admin_hello(rd_agent_t **out, rd_ctx_t *c, const Rfpb__Hello *h, const char *peer_ip,
               rf_errbuf_t *err)
{
    const char *id = h->id ? h->id : "";
    int role = (int)h->role;
    if (!rd_id_valid(id))
        return rf_err_set(err, RF_ESTATE, "bad agent id \"%.64s\"", id);
    if (role != RD_ROLE_COPY && role != RD_ROLE_ICPT)
        return rf_err_set(err, RF_ESTATE, "role %d is not an agent role", role);
    const rd_entry_t *e = rd_table_find(&c->table, id);
    if (e != NULL && e->active && e->role != role)
        return rf_err_set(err, RF_ESTATE, "id \"%s\" is a %s agent in the plan in force", id,
                          rd_role_name(e->role));
    rd_agent_t *a = rd_registry_find(&c->reg, id);
    if (a == NULL) {
        int r = rd_registry_add(&a, &c->reg, id, role);
        if (r != 0)
            return rf_err_set(err, r, "registry full (%d agents)", RD_AGENTS_MAX);
    }
    a->role = role;
    snprintf(a->host, sizeof(a->host), "%s", h->host ? h->host : "");
    snprintf(a->software, sizeof(a->software), "%s", h->software ? h->software : "");
    if (role == RD_ROLE_ICPT) {
        const char *adv = h->advertise && h->advertise[0] ? h->advertise : peer_ip;
        uint32_t ip;
        if (rf_ipv4_parse(&ip, adv) != 0)
            return rf_err_set(err, RF_ESTATE, "advertise \"%.40s\" is not an IPv4 address", adv);
        snprintf(a->advertise, sizeof(a->advertise), "%s", adv);
        a->listen_port = h->listen_port ? (uint16_t)h->listen_port : RD_ICPT_PORT_DEFAULT;
        if (h->listen_port > 65535)
            return rf_err_set(err, RF_ESTATE, "listen_port %u out of range", h->listen_port);
        /* An intercept that moved: its copy agents must dial the new
         * address. Update the table in place (same generation), persist,
         * re-push its copy agents. */
        rd_entry_t *te = rd_table_find(&c->table, id);
        if (te && te->active &&
            (strcmp(te->advertise, a->advertise) != 0 || te->listen_port != a->listen_port)) {
            snprintf(te->advertise, sizeof(te->advertise), "%s", a->advertise);
            te->listen_port = a->listen_port;
            int r = rd_state_save(c->state_dir, c->generation, c->plan, &c->table);
            if (r != 0) {
                c->ctr.state_write_errors++;
                rf_log_warn("state write failed: %s", rf_strerror(r));
            }
            rf_log_warn("intercept %s now at %s:%u; updating its copy agents", id, a->advertise,
                        a->listen_port);
            for (size_t i = 0; i < c->table.n; i++) {
                const rd_entry_t *ce = &c->table.e[i];
                rd_agent_t *ca;
                if (ce->active && ce->role == RD_ROLE_COPY && strcmp(ce->pair, id) == 0 &&
                    (ca = rd_registry_find(&c->reg, ce->id)) != NULL && ca->up && ca->conn &&
                    c->push)
                    c->push(c, ca);
            }
        }
    }
    if (c->plan && (e == NULL || !e->active) &&
        ((role == RD_ROLE_COPY && c->plan->copy_all) || (role == RD_ROLE_ICPT && c->plan->icpt_all)))
        c->reapply_pending = 1;
    *out = a;
    return 0;
}

/* ---- status ----------------------------------------------------------- */

/* Everything a StatusReply points to lives in one bump arena, so freeing
 * it is one walk; counter names are borrowed from c->names (the reply
 * never outlives the handler that packs it). */
typedef struct blk {
    struct blk *next;
    size_t      used, cap;
    char        mem[];
} blk_t;

typedef struct {
    Rfpb__StatusReply reply;   /* first: the caller's pointer frees the holder */
    blk_t            *blocks;
    int               oom;
} holder_t;

static void *
alloc(holder_t *h, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (h->blocks == NULL || h->blocks->used + n > h->blocks->cap) {
        size_t cap = n > 65536 ? n : 65536;
        blk_t *b = malloc(sizeof(*b) + cap);
        if (b == NULL) {
            h->oom = 1;
            return NULL;
        }
        b->next = h->blocks;
        b->used = 0;
        b->cap = cap;
        h->blocks = b;
    }
    void *p = h->blocks->mem + h->blocks->used;
    h->blocks->used += n;
    memset(p, 0, n);
    return p;
}

static char *
hstr(holder_t *h, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = alloc(h, n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static Rfpb__Counter **
counters(holder_t *h, size_t n, const char *const *names, const uint64_t *vals)
{
    Rfpb__Counter **pp = alloc(h, (n ? n : 1) * sizeof(*pp));
    Rfpb__Counter *cs = alloc(h, (n ? n : 1) * sizeof(*cs));
    if (pp == NULL || cs == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        rfpb__counter__init(&cs[i]);
        cs[i].name = (char *)names[i];
        cs[i].value = vals[i];
        pp[i] = &cs[i];
    }
    return pp;
}

static int
cmp_agent(const void *x, const void *y)
{
    const rd_agent_t *a = *(const rd_agent_t *const *)x, *b = *(const rd_agent_t *const *)y;
    if (a->role != b->role)
        return a->role - b->role;
    return strcmp(a->id, b->id);
}

#define SELF_COUNTERS RD_SELF_COUNTERS

size_t
rd_admin_self_counters(const rd_ctx_t *c, const char **names, uint64_t *vals)
{
    size_t n = 0;
#define C(nm, v) (names[n] = (nm), vals[n++] = (v))
    C("auth_failures", c->ctr.auth_failures);
    C("bad_state", c->ctr.bad_state);
    C("bad_frames", c->ctr.bad_frames);
    C("oversize_frames", c->ctr.oversize);
    C("slow_peers", c->ctr.slow_peers);
    C("hello_timeouts", c->ctr.hello_timeouts);
    C("heartbeat_timeouts", c->ctr.heartbeat_timeouts);
    C("replaced_conns", c->ctr.replaced);
    C("conns_accepted", c->ctr.conns_accepted);
    C("conns_refused", c->ctr.conns_refused);
    C("applies", c->ctr.applies);
    C("applies_rejected", c->ctr.applies_rejected);
    C("dry_runs", c->ctr.dry_runs);
    C("reapplies", c->ctr.reapplies);
    C("state_write_errors", c->ctr.state_write_errors);
    C("acks_failed", c->ctr.acks_failed);
    C("doctor_runs", c->ctr.doctor_runs);
    C("canary_results", c->ctr.canary_results);
    C("canary_ignored", c->ctr.canary_ignored);
    C("metrics_renders", c->ctr.metrics_renders);
    C("metrics_scrapes", c->ctr.metrics_scrapes);
    C("tls_handshake_failures", c->ctr.tls_handshake_failures);
    C("tls_record_errors", c->ctr.tls_record_errors);
    C("preauth_dropped", c->ctr.preauth_dropped);
    C("preauth_refused", c->ctr.preauth_refused);
    C("agents_evicted", c->ctr.agents_evicted);
    C("agents_up", rd_registry_count_up(&c->reg));
    C("agents_known", c->reg.n);
#undef C
    return n;
}

/* The per-agent counters `replayctl status` shows in its table. */
static int
summary_counter(const char *name)
{
    static const char *const keep[] = { "cap_pkts",    "replayed_pkts", "resp_forwarded",
                                        "sess_active", "send_errors",   "kernel_drops",
                                        "auth_failures" };
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        if (strcmp(name, keep[i]) == 0)
            return 1;
    return 0;
}

Rfpb__StatusReply *
rd_admin_status(rd_ctx_t *c, uint64_t now_ms, int summary)
{
    holder_t *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    Rfpb__StatusReply *r = &h->reply;
    rfpb__status_reply__init(r);
    r->generation = c->generation;
    r->plan_name = c->plan ? c->plan->name : (char *)"";
    r->requested_copies = c->plan ? c->plan->copies : 0;
    r->requested_rate_pps = c->plan ? c->plan->rate_limit_pps : 0;

    uint64_t *tot = calloc(RD_NAMES_MAX, sizeof(uint64_t));
    double *trate = calloc(RD_NAMES_MAX, sizeof(double));
    uint8_t *present = calloc(RD_NAMES_MAX, 1);
    rd_agent_t **sorted = malloc((c->reg.n ? c->reg.n : 1) * sizeof(*sorted));
    size_t na = c->reg.n + 1;
    r->agents = alloc(h, na * sizeof(*r->agents));
    if (!tot || !trate || !present || !sorted || !r->agents)
        goto oom;
    if (c->reg.n > 0) {   /* reg.a is NULL while nobody registered */
        memcpy(sorted, c->reg.a, c->reg.n * sizeof(*sorted));
        qsort(sorted, c->reg.n, sizeof(*sorted), cmp_agent);
    }

    /* The controller itself, first, as a pseudo-agent. */
    const char *sn[SELF_COUNTERS];
    uint64_t sv[SELF_COUNTERS];
    size_t ns = rd_admin_self_counters(c, sn, sv);
    Rfpb__AgentStatus *self = alloc(h, sizeof(*self));
    if (self == NULL)
        goto oom;
    rfpb__agent_status__init(self);
    self->id = (char *)"replayd";
    self->role = RFPB__ROLE__ROLE_UNKNOWN;
    self->up = 1;
    self->generation = self->acked_generation = c->generation;
    self->counters = counters(h, ns, sn, sv);
    self->n_counters = ns;
    uint64_t zero[SELF_COUNTERS] = { 0 };
    self->rates = counters(h, ns, sn, zero);
    self->n_rates = ns;
    r->agents[r->n_agents++] = self;
    /* self counters join the totals by name (interning may fail: skip) */
    for (size_t i = 0; i < ns; i++) {
        int id = rd_names_intern(&c->names, sn[i]);
        if (id >= 0) {
            tot[id] += sv[i];
            present[id] = 1;
        }
    }

    for (size_t i = 0; i < c->reg.n; i++) {
        const rd_agent_t *a = sorted[i];
        Rfpb__AgentStatus *s = alloc(h, sizeof(*s));
        if (s == NULL)
            goto oom;
        rfpb__agent_status__init(s);
        s->id = (char *)a->id;
        s->role = (Rfpb__Role)a->role;
        s->host = (char *)a->host;
        s->up = a->up != 0;
        s->last_seen_ms_ago = a->last_seen_ms && now_ms > a->last_seen_ms
                                  ? now_ms - a->last_seen_ms
                                  : 0;
        s->generation = a->sent_gen;
        s->acked_generation = a->acked_gen;
        s->last_error = (char *)(a->last_error[0] ? a->last_error : a->down_reason);
        const rd_entry_t *e = rd_table_find(&c->table, a->id);
        if (e && e->active) {
            char rs[32];
            rf_cidr_format(&e->range, rs, sizeof(rs));
            s->client_range = hstr(h, rs);
            if (e->role == RD_ROLE_COPY) {
                s->port_offset = (uint32_t)e->port_offset;
                s->paired_with = (char *)e->pair;
            }
        }
        const char *names[RD_AGENT_COUNTERS_MAX];
        uint64_t vals[RD_AGENT_COUNTERS_MAX], rates[RD_AGENT_COUNTERS_MAX];
        unsigned nk = 0;
        for (unsigned k = 0; k < a->stats.n; k++) {
            const char *nm = c->names.name[a->stats.id[k]];
            /* Summary: only the counters of the status table's columns. At
             * 1,000 agents the full rows are ~95% of the reply and of the
             * client's decode time; totals below still cover everything. */
            if (summary && !summary_counter(nm))
                continue;
            names[nk] = nm;
            vals[nk] = a->stats.value[k];
            /* A down agent's rate is 0: it is not replaying anything now. */
            rates[nk] = a->up ? (uint64_t)(a->stats.rate[k] + 0.5f) : 0;
            nk++;
        }
        s->counters = counters(h, nk, names, vals);
        s->n_counters = nk;
        s->rates = counters(h, nk, names, rates);
        s->n_rates = nk;
        /* Totals count what down agents did too (so totals == the sum of
         * the rows), but only live agents contribute rates. */
        if (a->up) {
            rd_stats_accumulate(&a->stats, tot, trate, present);
        } else {
            for (unsigned k = 0; k < a->stats.n; k++) {
                tot[a->stats.id[k]] += a->stats.value[k];
                present[a->stats.id[k]] = 1;
            }
        }
        r->agents[r->n_agents++] = s;
        if (h->oom)
            goto oom;
    }
    size_t nt = 0;
    const char **tn = alloc(h, RD_NAMES_MAX * sizeof(*tn));
    uint64_t *tv = alloc(h, RD_NAMES_MAX * sizeof(*tv)), *tr = alloc(h, RD_NAMES_MAX * sizeof(*tr));
    if (!tn || !tv || !tr)
        goto oom;
    for (size_t i = 0; i < c->names.n; i++)
        if (present[i]) {
            tn[nt] = c->names.name[i];
            tv[nt] = tot[i];
            tr[nt] = (uint64_t)(trate[i] + 0.5);
            nt++;
        }
    r->totals = counters(h, nt, tn, tv);
    r->n_totals = nt;
    r->total_rates = counters(h, nt, tn, tr);
    r->n_total_rates = nt;
    if (h->oom)
        goto oom;
    free(tot);
    free(trate);
    free(present);
    free(sorted);
    return r;
oom:
    free(tot);
    free(trate);
    free(present);
    free(sorted);
    rd_admin_status_free(r);
    return NULL;
}

void
rd_admin_status_free(Rfpb__StatusReply *r)
{
    if (r == NULL)
        return;
    holder_t *h = (holder_t *)(void *)r;
    while (h->blocks) {
        blk_t *n = h->blocks->next;
        free(h->blocks);
        h->blocks = n;
    }
    free(h);
}

char **
rd_admin_routes(const rd_ctx_t *c, size_t *n)
{
    char **lines = calloc(c->table.n + 1, sizeof(*lines));
    if (lines == NULL)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; c->plan && i < c->table.n; i++) {
        const rd_entry_t *e = &c->table.e[i];
        if (!e->active || e->role != RD_ROLE_ICPT)
            continue;
        char rs[32], line[160];
        rf_cidr_format(&e->range, rs, sizeof(rs));
        snprintf(line, sizeof(line), "ip route add %s via %s", rs,
                 e->advertise[0] ? e->advertise : "UNKNOWN-ADDRESS-OF-" );
        if (!e->advertise[0])
            snprintf(line + strlen(line), sizeof(line) - strlen(line), "%s", e->id);
        if ((lines[k] = strdup(line)) == NULL) {
            rd_admin_routes_free(lines);
            return NULL;
        }
        k++;
    }
    *n = k;
    return lines;
}

void
rd_admin_routes_free(char **lines)
{
    if (lines == NULL)
        return;
    for (char **p = lines; *p; p++)
        free(*p);
    free(lines);
}
