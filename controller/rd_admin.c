/* rd_admin.c -- apply, assignments, status and routes over rd_ctx_t. */
#include "rd_admin.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rd_sched.h"
#include "rd_state.h"
#include "rd_targets.h"
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

/* 1 if the new entry replays flow buckets the old one did not. */
static int
shard_grows(const rd_entry_t *o, const rd_entry_t *n)
{
    if (n == NULL || !n->active || !n->sharded)
        return 0;
    if (o == NULL || !o->active)
        return 1;
    if (!o->sharded)
        return 0;   /* it replayed every flow before */
    for (size_t k = 0; k < RD_SHARD_BYTES; k++)
        if (n->shard.bits[k] & ~o->shard.bits[k])
            return 1;
    return 0;
}

uint64_t
rd_admin_wall_ms(const rd_ctx_t *c)
{
    if (c->wall_ms)
        return c->wall_ms();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A plan with a schedule: the values it asks for now replace the plan's
 * own in `plan` (copies, sample, rate, stopped). keep_clock: the plan in
 * force applied again, its clock runs on; else the schedule starts now. */
static void
schedule_values(rd_ctx_t *c, rd_plan_t *plan, rd_table_t *clock, int keep_clock)
{
    memset(clock, 0, sizeof(*clock));
    if (plan->nsteps == 0)
        return;
    if (keep_clock && c->table.sched_start_ms) {
        clock->sched_start_ms = c->table.sched_start_ms;
        clock->sched_paused_at_ms = c->table.sched_paused_at_ms;
        clock->sched_paused_ms = c->table.sched_paused_ms;
    } else {
        clock->sched_start_ms = rd_admin_wall_ms(c);
    }
    rd_sched_now_t now;
    rd_sched_eval(plan, rd_sched_elapsed(rd_admin_wall_ms(c), clock->sched_start_ms,
                                         clock->sched_paused_at_ms, clock->sched_paused_ms),
                  &now);
    plan->copies = now.copies;
    plan->sample_percent = now.sample_percent;
    plan->rate_limit_pps = now.rate_limit_pps;
    plan->stopped = now.stopped;
}

void
rd_admin_sched_restore(rd_ctx_t *c)
{
    if (c->plan && c->plan->nsteps && c->table.sched_start_ms) {
        rd_table_t clock;
        schedule_values(c, c->plan, &clock, 1);
    }
}

static int
apply_ex(rd_ctx_t *c, rd_apply_result_t *res, const char *json, size_t len, int dry_run,
         int keep_clock)
{
    memset(res, 0, sizeof(*res));
    res->generation = c->generation;
    rd_plan_t *plan = NULL;
    rd_table_t tab, clock;
    rd_table_init(&tab);
    size_t nk = 0;
    rd_known_t *known = NULL;
    int r = rd_plan_parse_all(&plan, json, len, &res->err);
    rf_errbuf_t e1;
    if (r == 0)
        schedule_values(c, plan, &clock, keep_clock);
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
        tab.sched_start_ms = clock.sched_start_ms;
        tab.sched_paused_at_ms = clock.sched_paused_at_ms;
        tab.sched_paused_ms = clock.sched_paused_ms;
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
    /* Capture groups: members that lose buckets are told first, those
     * that gain them last, so a moved flow's new SYN is never taken by
     * both (it may be missed for the moment between the two). */
    uint8_t *grows = calloc(c->reg.n ? c->reg.n : 1, 1);
    for (size_t i = 0; grows && i < c->reg.n; i++)
        grows[i] = (uint8_t)shard_grows(rd_table_find(&c->table, c->reg.a[i]->id),
                                        rd_table_find(&tab, c->reg.a[i]->id));
    rd_plan_free(c->plan);
    c->plan = plan;
    rd_table_fini(&c->table);
    c->table = tab;
    c->generation++;
    c->ctr.applies++;
    res->generation = c->generation;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < c->reg.n; i++) {
            rd_agent_t *a = c->reg.a[i];
            if (a->up && a->conn && c->push && (grows ? grows[i] : 0) == pass)
                c->push(c, a);
        }
    free(grows);
    return res->code = 0;
}

int
rd_admin_apply(rd_ctx_t *c, rd_apply_result_t *res, const char *json, size_t len, int dry_run)
{
    return apply_ex(c, res, json, len, dry_run, 0);
}

int
rd_admin_reapply(rd_ctx_t *c, rd_apply_result_t *res)
{
    memset(res, 0, sizeof(*res));
    res->generation = c->generation;
    if (c->plan == NULL) {
        rd_plan_errs_add(&res->err, "(root): no plan in force");
        return res->code = RF_EPLAN;
    }
    char *json = strdup(c->plan->json);
    if (json == NULL) {
        rd_plan_errs_add(&res->err, "(root): out of memory");
        return res->code = -ENOMEM;
    }
    apply_ex(c, res, json, strlen(json), 0, 1);
    free(json);
    return res->code;
}

/* Position of copy entry e among the table's active copy agents, and
 * their number (*n): the order rd_assign split the plan's rate in. */
static unsigned
copy_index(const rd_table_t *t, const rd_entry_t *e, unsigned *n)
{
    unsigned idx = 0, k = 0;
    for (size_t i = 0; i < t->n; i++) {
        const rd_entry_t *x = &t->e[i];
        if (!x->active || x->role != RD_ROLE_COPY)
            continue;
        if (x == e)
            idx = k;
        k++;
    }
    *n = k;
    return idx;
}

/* Target groups: output g = group g's rules, sub-range, values and rate
 * share (rd_targets.h). */
static void
assignment_outputs(rd_asg_buf_t *b, const rd_ctx_t *c, const rd_entry_t *e)
{
    const rd_plan_t *p = c->plan;
    unsigned n, idx = copy_index(&c->table, e, &n);
    for (unsigned g = 0; g < p->ntgroups; g++) {
        Rfpb__Output *o = &b->out[g];
        rfpb__output__init(o);
        o->name = (char *)p->tgroups[g].name;
        for (unsigned i = 0; i < p->nrules; i++) {
            rf_rule_t r;
            rd_tg_rule(&r, p, g, i);
            Rfpb__TransferRule *tr = &b->orule[g][i];
            rfpb__transfer_rule__init(tr);
            tr->online_ip = r.online_ip;
            tr->online_port = r.online_port;
            tr->target_ip = r.target_ip;
            tr->target_port = r.target_port;
            b->orulep[g][i] = tr;
        }
        o->n_rules = p->nrules;
        o->rules = b->orulep[g];
        rf_cidr_t sub;
        (void)rd_tg_range(&sub, &e->range, p, g);   /* width checked by rd_assign */
        rfpb__prefix__init(&b->orange[g]);
        b->orange[g].addr = sub.addr;
        b->orange[g].len = sub.len;
        o->client_range = &b->orange[g];
        o->port_offset = (uint32_t)e->port_offset;
        o->copies = rd_tg_copies(p, g);
        o->sample_percent = rd_tg_sample(p, g);
        o->rate_limit_pps = rd_tg_share(rd_tg_rate(p, g), idx, n);
        b->outp[g] = o;
    }
    b->asg.n_outputs = p->ntgroups;
    b->asg.outputs = b->outp;
}

void
rd_admin_assignment(rd_asg_buf_t *b, const rd_ctx_t *c, const rd_agent_t *a)
{
    memset(b, 0, sizeof(*b));
    rfpb__assignment__init(&b->asg);
    b->asg.generation = c->generation;
    b->asg.plan_name = c->plan ? (char *)c->plan->name : (char *)"";
    const rd_entry_t *e = rd_table_find(&c->table, a->id);
    if (c->plan == NULL || e == NULL || !e->active || e->role != a->role ||
        (c->plan->stopped && e->role == RD_ROLE_COPY))
        return;   /* idle: active = false (a schedule's stop step idles copy agents) */
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
    if (e->sharded) {
        rfpb__shard_set__init(&b->shard);
        b->shard.buckets = RD_SHARD_BUCKETS;
        b->shard.owned.data = (uint8_t *)e->shard.bits;
        b->shard.owned.len = RD_SHARD_BYTES;
        b->shard.group = (char *)e->group;
        b->asg.shard = &b->shard;
    }
    if (p->ntgroups)
        assignment_outputs(b, c, e);
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
    Rfpb__ScheduleStatus sched;
    Rfpb__TargetGroupStatus tg[RD_TGROUPS_MAX];
    Rfpb__TargetGroupStatus *tgp[RD_TGROUPS_MAX];
    char tg_targets[RD_TGROUPS_MAX][RF_RULES_MAX * 24];
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
            s->capture_group = (char *)e->group;
        }
        if (e->role == RD_ROLE_COPY && e->sharded) {
            s->shard_buckets = rd_shard_count(&e->shard);
            s->shard_total = RD_SHARD_BUCKETS;
            if (!summary) {
                size_t need = rd_shard_format(&e->shard, NULL, 0) + 1;
                char *txt = alloc(h, need);
                if (txt != NULL)
                    rd_shard_format(&e->shard, txt, need);
                s->shard_set = txt;
            }
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

/* The plan's target groups with their values in force; their counters
 * are the "tgN_*" totals. */
static void
status_tgroups(holder_t *h, Rfpb__StatusReply *r, const rd_ctx_t *c)
{
    const rd_plan_t *p = c->plan;
    for (unsigned g = 0; p && g < p->ntgroups; g++) {
        Rfpb__TargetGroupStatus *t = &h->tg[g];
        rfpb__target_group_status__init(t);
        t->index = g;
        t->name = (char *)p->tgroups[g].name;
        char *buf = h->tg_targets[g];
        size_t used = 0, cap = sizeof(h->tg_targets[g]);
        buf[0] = '\0';
        for (unsigned i = 0; i < p->nrules && used < cap; i++) {
            rf_rule_t ru;
            char ip[16];
            rd_tg_rule(&ru, p, g, i);
            rf_ipv4_format(ru.target_ip, ip, sizeof(ip));
            used += (size_t)snprintf(buf + used, cap - used, "%s%s:%u", i ? "," : "", ip,
                                     ru.target_port);
        }
        t->targets = buf;
        t->copies = rd_tg_copies(p, g);
        t->sample_percent = rd_tg_sample(p, g);
        t->rate_limit_pps = rd_tg_rate(p, g);
        h->tgp[g] = t;
    }
    r->n_target_groups = p ? p->ntgroups : 0;
    r->target_groups = h->tgp;
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
    if (c->plan && c->plan->nsteps && c->table.sched_start_ms) {
        rd_sched_now_t sn;
        uint64_t el = rd_sched_elapsed(rd_admin_wall_ms(c), c->table.sched_start_ms,
                                       c->table.sched_paused_at_ms, c->table.sched_paused_ms);
        rd_sched_eval(c->plan, el, &sn);
        Rfpb__ScheduleStatus *ss = &h->sched;
        rfpb__schedule_status__init(ss);
        ss->steps = c->plan->nsteps;
        ss->step = sn.step;
        ss->next = sn.next;
        ss->next_in_ms = sn.next_in_ms;
        ss->elapsed_ms = el;
        ss->paused = c->table.sched_paused_at_ms != 0;
        ss->stopped = c->plan->stopped;
        ss->ramping = sn.ramping;
        ss->sample_percent = c->plan->sample_percent;
        r->schedule = ss;
    }

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
    status_tgroups(h, r, c);
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

/* " # on target group NAME (10.0.2.10,10.0.2.11)": the hosts that need a
 * route line, when the plan has target groups. */
static void
route_suffix(char *buf, size_t len, const rd_plan_t *p, unsigned g)
{
    buf[0] = '\0';
    if (p->ntgroups == 0)
        return;
    size_t used = (size_t)snprintf(buf, len, "  # on target group %s (", p->tgroups[g].name);
    for (unsigned i = 0; i < p->nrules && used < len; i++) {
        rf_rule_t r, o;
        rd_tg_rule(&r, p, g, i);
        int seen = 0;
        for (unsigned j = 0; j < i && !seen; j++) {
            rd_tg_rule(&o, p, g, j);
            seen = o.target_ip == r.target_ip;
        }
        if (seen)
            continue;
        char ip[16];
        rf_ipv4_format(r.target_ip, ip, sizeof(ip));
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "," : "", ip);
    }
    if (used < len)
        snprintf(buf + used, len - used, ")");
}

char **
rd_admin_routes(const rd_ctx_t *c, size_t *n)
{
    unsigned ng = c->plan ? rd_tg_outputs(c->plan) : 1;
    char **lines = calloc(c->table.n * ng + 1, sizeof(*lines));
    if (lines == NULL)
        return NULL;
    size_t k = 0;
    /* Each target routes every intercept block: a target group's
     * sub-ranges lie in every block, and nothing of another group's ever
     * reaches it. Grouped by target group, so each host's lines are
     * together. */
    for (unsigned g = 0; c->plan && g < ng; g++) {
        char sfx[512];
        route_suffix(sfx, sizeof(sfx), c->plan, g);
        for (size_t i = 0; i < c->table.n; i++) {
            const rd_entry_t *e = &c->table.e[i];
            if (!e->active || e->role != RD_ROLE_ICPT)
                continue;
            char rs[32], line[800];
            rf_cidr_format(&e->range, rs, sizeof(rs));
            snprintf(line, sizeof(line), "ip route add %s via %s%s%s", rs,
                     e->advertise[0] ? e->advertise : "UNKNOWN-ADDRESS-OF-",
                     e->advertise[0] ? "" : e->id, sfx);
            if ((lines[k] = strdup(line)) == NULL) {
                rd_admin_routes_free(lines);
                return NULL;
            }
            k++;
        }
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
