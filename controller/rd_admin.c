/* rd_admin.c -- apply, assignments, status and routes over rd_ctx_t. */
#include "rd_admin.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rd_state.h"
#include "rf_log.h"

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
    int r = rd_plan_parse_all(&plan, json, len, &res->err);
    rf_errbuf_t e1;
    if (r == 0) {
        known = known_list(c, &nk);
        r = known ? rd_assign_compute(&tab, plan, &c->table, known, nk, &e1)
                  : rf_err_set(&e1, -ENOMEM, "out of memory");
        free(known);
        if (r != 0)
            rd_plan_errs_add(&res->err, "%s", e1.msg);
    }
    if (r == 0 && (r = rd_assign_diff(&res->diff, c->plan, &c->table, plan, &tab)) != 0)
        rd_plan_errs_add(&res->err, "out of memory");
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
            rd_plan_errs_add(&res->err, "state write to %s failed: %s", c->state_dir,
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
        a->listen_port = h->listen_port ? (uint16_t)h->listen_port : RF_PORT_INTERCEPT;
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

size_t
rd_admin_self_counters(const rd_ctx_t *c, const char **names, uint64_t *vals)
{
    size_t n = 0;
    for (size_t i = 0; i < rd_self_ndefs && n < RD_SELF_COUNTERS - 2; i++, n++) {
        names[n] = rd_self_defs[i].name;
        vals[n] = rf_counter_get(&c->ctr, &rd_self_defs[i]);
    }
    names[n] = "agents_up";
    vals[n++] = rd_registry_count_up(&c->reg);
    names[n] = "agents_known";
    vals[n++] = c->reg.n;
    return n;
}

/* The per-agent counters `replayctl status` shows in its rows and problems
 * (its header comes from the totals): the row's columns, and the loss
 * counters that are not zero (an absent counter reads as 0, so a healthy
 * fleet sends no loss counter at all). Rates only for the columns that
 * show one. At 1,000 agents this keeps the summary a fraction of the full
 * reply (docs/BENCH.md, bench_controller). */
static int
summary_counter(int role, const char *name, uint64_t value, int *with_rate)
{
    static const char *const rated[] = { "cap_pkts", "replayed_pkts", "replayed_bytes",
                                         "resp_forwarded" };
    static const char *const plain[] = { "sess_completed", "sess_active", "copy_conns" };
    *with_rate = 0;
    for (size_t i = 0; i < sizeof(rated) / sizeof(rated[0]); i++)
        if (strcmp(name, rated[i]) == 0)
            return *with_rate = 1;
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        if (strcmp(name, plain[i]) == 0)
            return 1;
    return value != 0 && rd_loss_find(role, name) != NULL;
}

/* Levels are never added up across agents: a total of "sessions open now"
 * over a down agent's last report, or of every agent's generation, means
 * nothing. Declared kinds only (the counter tables). */
static int
total_is_gauge(const char *name)
{
    const rf_counter_def_t *d;
    if ((d = rd_stats_meta(RD_ROLE_COPY, name)) != NULL && d->kind == RF_KIND_GAUGE)
        return 1;
    if ((d = rd_stats_meta(RD_ROLE_ICPT, name)) != NULL && d->kind == RF_KIND_GAUGE)
        return 1;
    return strcmp(name, "agents_up") == 0 || strcmp(name, "agents_known") == 0;
}

/* Per-name sums over the agents: totals count what down agents did too
 * (so totals == the sum of the rows), but only live agents add rates. */
typedef struct {
    uint64_t *tot;
    double   *rate;
    uint8_t  *present;
} sums_t;

/* The controller itself as a pseudo-agent row; its counters join the
 * totals by name (interning may fail: skipped). */
static Rfpb__AgentStatus *
status_self(holder_t *h, rd_ctx_t *c, sums_t *sum)
{
    const char *sn[RD_SELF_COUNTERS];
    uint64_t sv[RD_SELF_COUNTERS];
    size_t ns = rd_admin_self_counters(c, sn, sv);
    Rfpb__AgentStatus *self = alloc(h, sizeof(*self));
    if (self == NULL)
        return NULL;
    rfpb__agent_status__init(self);
    self->id = (char *)"replayd";
    self->role = RFPB__ROLE__ROLE_UNKNOWN;
    self->up = 1;
    self->generation = self->acked_generation = c->generation;
    self->counters = counters(h, ns, sn, sv);
    self->n_counters = ns;
    uint64_t zero[RD_SELF_COUNTERS] = { 0 };
    self->rates = counters(h, ns, sn, zero);
    self->n_rates = ns;
    for (size_t i = 0; i < ns; i++) {
        int id = rd_names_intern(&c->names, sn[i]);
        if (id >= 0) {
            sum->tot[id] += sv[i];
            sum->present[id] = 1;
        }
    }
    return self;
}

/* Agent a's counters and rates into s; summary: only what the status rows
 * and problems show. At 1,000 agents the full rows are ~95% of the reply
 * and of the client's decode time; the totals still cover everything. */
static void
status_counters(holder_t *h, Rfpb__AgentStatus *s, const rd_ctx_t *c, const rd_agent_t *a,
                int summary)
{
    const char *names[RD_AGENT_COUNTERS_MAX], *rnames[RD_AGENT_COUNTERS_MAX];
    uint64_t vals[RD_AGENT_COUNTERS_MAX], rates[RD_AGENT_COUNTERS_MAX];
    unsigned nk = 0, nr = 0;
    for (unsigned k = 0; k < a->stats.n; k++) {
        const char *nm = c->names.name[a->stats.id[k]];
        int with_rate = 1;
        if (summary && !summary_counter(a->role, nm, a->stats.value[k], &with_rate))
            continue;
        names[nk] = nm;
        vals[nk++] = a->stats.value[k];
        if (!with_rate)
            continue;
        rnames[nr] = nm;
        /* A down agent's rate is 0: it is not replaying anything now. */
        rates[nr++] = a->up ? (uint64_t)(a->stats.rate[k] + 0.5f) : 0;
    }
    s->counters = counters(h, nk, names, vals);
    s->n_counters = nk;
    s->rates = counters(h, nr, rnames, rates);
    s->n_rates = nr;
}

/* One agent's row: identity, liveness, generations, its assignment in the
 * plan in force, its counters. */
static Rfpb__AgentStatus *
status_agent(holder_t *h, const rd_ctx_t *c, const rd_agent_t *a, uint64_t now_ms, int summary)
{
    Rfpb__AgentStatus *s = alloc(h, sizeof(*s));
    if (s == NULL)
        return NULL;
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
    status_counters(h, s, c, a, summary);
    return s;
}

static void
sums_add(sums_t *sum, const rd_agent_t *a)
{
    if (a->up) {
        rd_stats_accumulate(&a->stats, sum->tot, sum->rate, sum->present);
        return;
    }
    for (unsigned k = 0; k < a->stats.n; k++) {
        sum->tot[a->stats.id[k]] += a->stats.value[k];
        sum->present[a->stats.id[k]] = 1;
    }
}

/* r->totals and r->total_rates: every name present, gauges left out. */
static void
status_totals(holder_t *h, Rfpb__StatusReply *r, const rd_ctx_t *c, const sums_t *sum)
{
    size_t nt = 0;
    const char **tn = alloc(h, RD_NAMES_MAX * sizeof(*tn));
    uint64_t *tv = alloc(h, RD_NAMES_MAX * sizeof(*tv)), *tr = alloc(h, RD_NAMES_MAX * sizeof(*tr));
    if (!tn || !tv || !tr)
        return;   /* h->oom is set */
    for (size_t i = 0; i < c->names.n; i++)
        if (sum->present[i] && !total_is_gauge(c->names.name[i])) {
            tn[nt] = c->names.name[i];
            tv[nt] = sum->tot[i];
            tr[nt] = (uint64_t)(sum->rate[i] + 0.5);
            nt++;
        }
    r->totals = counters(h, nt, tn, tv);
    r->n_totals = nt;
    r->total_rates = counters(h, nt, tn, tr);
    r->n_total_rates = nt;
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

    sums_t sum = { calloc(RD_NAMES_MAX, sizeof(uint64_t)), calloc(RD_NAMES_MAX, sizeof(double)),
                   calloc(RD_NAMES_MAX, 1) };
    rd_agent_t **sorted = malloc((c->reg.n ? c->reg.n : 1) * sizeof(*sorted));
    r->agents = alloc(h, (c->reg.n + 1) * sizeof(*r->agents));
    if (!sum.tot || !sum.rate || !sum.present || !sorted || !r->agents)
        goto oom;
    rd_registry_sorted(&c->reg, sorted);
    /* The controller itself first, then the agents by role and id. */
    Rfpb__AgentStatus *self = status_self(h, c, &sum);
    if (self == NULL)
        goto oom;
    r->agents[r->n_agents++] = self;
    for (size_t i = 0; i < c->reg.n; i++) {
        Rfpb__AgentStatus *row = status_agent(h, c, sorted[i], now_ms, summary);
        if (row == NULL)
            goto oom;
        r->agents[r->n_agents++] = row;
        sums_add(&sum, sorted[i]);
        if (h->oom)
            goto oom;
    }
    status_totals(h, r, c, &sum);
    if (h->oom)
        goto oom;
    free(sum.tot);
    free(sum.rate);
    free(sum.present);
    free(sorted);
    return r;
oom:
    free(sum.tot);
    free(sum.rate);
    free(sum.present);
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
