/* rd_doctor.c -- controller side of `replayctl doctor` (pure). */
#include "rd_doctor.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
rd_doctor_clean(char *dst, size_t len, const char *src)
{
    if (len == 0)
        return;
    size_t i = 0;
    for (; src && src[i] && i + 1 < len; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    dst[i] = '\0';
}

void
rd_doctor_note(rd_doctor_t *d, const char *fmt, ...)
{
    if (d->nnotes >= RD_DOCTOR_NOTES_MAX)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    for (size_t i = 0; i < d->nnotes; i++)
        if (strcmp(d->notes[i], buf) == 0)
            return;   /* one note per finding, however many agents share it */
    char *s = strdup(buf);
    if (s)
        d->notes[d->nnotes++] = s;
}

/* unroutable + park_expired: what an intercept captured but could hand to
 * nobody. */
static uint64_t
icpt_lost(const rd_agent_t *a, const rd_names_t *names)
{
    return rd_stats_get(&a->stats, names, "resp_unroutable") +
           rd_stats_get(&a->stats, names, "resp_park_expired");
}

int
rd_doctor_begin(rd_doctor_t *d, const rd_ctx_t *c, uint64_t id, uint64_t req_id,
                uint32_t timeout_ms, uint64_t now_ms)
{
    memset(d, 0, sizeof(*d));
    if (timeout_ms == 0)
        timeout_ms = RD_DOCTOR_TIMEOUT_DEFAULT;
    if (timeout_ms > RD_DOCTOR_TIMEOUT_MAX)
        timeout_ms = RD_DOCTOR_TIMEOUT_MAX;
    d->active = 1;
    d->id = id;
    d->req_id = req_id;
    d->timeout_ms = timeout_ms;
    d->start_ms = now_ms;
    d->deadline_ms = now_ms + timeout_ms + RD_DOCTOR_GRACE_MS;
    size_t ncopy = 0, nicpt = 0;
    for (size_t i = 0; i < c->table.n; i++)
        ncopy += c->table.e[i].active && c->table.e[i].role == RD_ROLE_COPY;
    for (size_t i = 0; i < c->reg.n; i++)
        nicpt += c->reg.a[i]->role == RD_ROLE_ICPT;
    d->ag = calloc(ncopy ? ncopy : 1, sizeof(*d->ag));
    d->ic = calloc(nicpt ? nicpt : 1, sizeof(*d->ic));
    if (d->ag == NULL || d->ic == NULL) {
        rd_doctor_fini(d);
        return -ENOMEM;
    }
    if (c->plan == NULL)
        rd_doctor_note(d, "no plan in force: nothing to probe (replayctl apply plan.json first)");
    for (size_t i = 0; c->plan && i < c->table.n; i++) {
        const rd_entry_t *e = &c->table.e[i];
        if (!e->active || e->role != RD_ROLE_COPY)
            continue;
        rd_doctor_agent_t *g = &d->ag[d->nag++];
        snprintf(g->id, sizeof(g->id), "%s", e->id);
        snprintf(g->pair, sizeof(g->pair), "%s", e->pair);
        rf_cidr_format(&e->range, g->range, sizeof(g->range));
        const rd_agent_t *a = rd_registry_find(&c->reg, e->id);
        if (a == NULL || !a->up || a->conn == NULL) {
            snprintf(g->why, sizeof(g->why), "down (%s): not probed",
                     a && a->down_reason[0] ? a->down_reason : "never connected");
            rd_doctor_note(d, "copy agent %s is %s", g->id, g->why);
        }
    }
    if (c->plan && d->nag == 0)
        rd_doctor_note(d, "the plan in force has no copy agent");
    /* Every registered intercept, in the plan or not: a stray assistant
     * that the target routes to is exactly what we are looking for. */
    for (size_t i = 0; i < c->reg.n; i++) {
        const rd_agent_t *a = c->reg.a[i];
        if (a->role != RD_ROLE_ICPT)
            continue;
        rd_doctor_icpt_t *x = &d->ic[d->nic++];
        snprintf(x->id, sizeof(x->id), "%s", a->id);
        x->had_stats = a->stats.at_ms != 0;
        x->lost0 = icpt_lost(a, &c->names);
        x->fwd0 = rd_stats_get(&a->stats, &c->names, "resp_forwarded");
    }
    return 0;
}

void
rd_doctor_sent(rd_doctor_t *d, size_t i, int ok)
{
    if (i >= d->nag)
        return;
    if (ok)
        d->ag[i].probed = 1;
    else {
        snprintf(d->ag[i].why, sizeof(d->ag[i].why), "could not be sent the request");
        rd_doctor_note(d, "copy agent %s %s (its connection is closing)", d->ag[i].id,
                       d->ag[i].why);
    }
}

static rd_doctor_agent_t *
find_agent(rd_doctor_t *d, const char *id)
{
    for (size_t i = 0; i < d->nag; i++)
        if (strcmp(d->ag[i].id, id) == 0)
            return &d->ag[i];
    return NULL;
}

int
rd_doctor_on_result(rd_doctor_t *d, const char *agent_id, const Rfpb__CanaryResult *r,
                    uint64_t now_ms)
{
    if (!d->active || r == NULL || r->id != d->id)
        return -1;
    rd_doctor_agent_t *g = find_agent(d, agent_id);
    if (g == NULL || !g->probed || g->answered || g->why[0])
        return -1;
    g->answered = 1;
    d->last_answer_ms = now_ms;
    /* Untrusted: at most one entry per rule the plan can hold. */
    size_t n = r->n_rules < RF_RULES_MAX ? r->n_rules : RF_RULES_MAX;
    g->nrules = 0;
    for (size_t i = 0; i < n; i++) {
        const Rfpb__CanaryRule *s = r->rules[i];
        if (s == NULL)
            continue;
        rd_canary_rule_t *t = &g->rules[g->nrules++];
        rd_doctor_clean(t->rule, sizeof(t->rule), s->rule);
        rd_doctor_clean(t->src, sizeof(t->src), s->src);
        rd_doctor_clean(t->detail, sizeof(t->detail), s->detail);
        t->stage = (int)s->stage;
        t->send_errno = s->send_errno;
        t->rtt_us = s->rtt_us;
    }
    return 0;
}

void
rd_doctor_on_agent_down(rd_doctor_t *d, const char *agent_id, const char *reason)
{
    if (!d->active)
        return;
    rd_doctor_agent_t *g = find_agent(d, agent_id);
    if (g == NULL || g->answered || g->why[0])
        return;
    snprintf(g->why, sizeof(g->why), "disconnected before answering (%.60s)",
             reason ? reason : "");
}

static int
settled(const rd_doctor_t *d)
{
    for (size_t i = 0; i < d->nag; i++)
        if (d->ag[i].probed && !d->ag[i].answered && !d->ag[i].why[0])
            return 0;
    return 1;
}

static int
any_no_synack(const rd_doctor_t *d)
{
    for (size_t i = 0; i < d->nag; i++)
        for (unsigned k = 0; k < d->ag[i].nrules; k++)
            if (d->ag[i].rules[k].stage == RFPB__CANARY_STAGE__CANARY_NO_SYNACK)
                return 1;
    return 0;
}

int
rd_doctor_done(const rd_doctor_t *d, const rd_ctx_t *c, uint64_t now_ms)
{
    int all = settled(d);
    if (!all && now_ms < d->deadline_ms)
        return 0;
    if (!any_no_synack(d))
        return 1;   /* nothing to correlate */
    /* Correlating needs intercept counters that include the canaries: one
     * Stats from every live intercept after the last answer, bounded. */
    uint64_t since = all && d->last_answer_ms ? d->last_answer_ms : d->deadline_ms;
    if (now_ms >= since + RD_DOCTOR_FRESH_MS)
        return 1;
    for (size_t i = 0; i < c->reg.n; i++) {
        const rd_agent_t *a = c->reg.a[i];
        if (a->role == RD_ROLE_ICPT && a->up && a->stats.at_ms <= since)
            return 0;
    }
    return 1;
}

static const rd_doctor_icpt_t *
find_icpt(const rd_doctor_t *d, const char *id)
{
    for (size_t i = 0; i < d->nic; i++)
        if (strcmp(d->ic[i].id, id) == 0)
            return &d->ic[i];
    return NULL;
}

/* Growth since the start; a counter that went down means the agent
 * restarted, and then everything it has counted is new. */
static uint64_t
grown(uint64_t now, uint64_t then)
{
    return now >= then ? now - then : now;
}

void
rd_doctor_correlate(rd_doctor_t *d, const rd_ctx_t *c)
{
    for (size_t i = 0; i < d->nag; i++) {
        const rd_doctor_agent_t *g = &d->ag[i];
        if (g->answered)
            continue;
        if (g->probed && !g->why[0])
            rd_doctor_note(d,
                           "copy agent %s did not answer within %u ms (a replay-copy older than "
                           "`doctor` never answers; is it overloaded?)",
                           g->id, d->timeout_ms + RD_DOCTOR_GRACE_MS);
        else if (g->probed)
            rd_doctor_note(d, "copy agent %s %s", g->id, g->why);
    }
    for (size_t i = 0; i < d->nag; i++) {
        rd_doctor_agent_t *g = &d->ag[i];
        int nos = 0;
        for (unsigned k = 0; k < g->nrules; k++)
            nos += g->rules[k].stage == RFPB__CANARY_STAGE__CANARY_NO_SYNACK;
        if (nos == 0)
            continue;
        const rd_agent_t *own = rd_registry_find(&c->reg, g->pair);
        const rd_doctor_icpt_t *own0 = find_icpt(d, g->pair);
        uint64_t own_fwd = own && own0 ? grown(rd_stats_get(&own->stats, &c->names,
                                                            "resp_forwarded"),
                                               own0->fwd0)
                                       : 0;
        int owner_quiet = own == NULL || !own->up || own_fwd == 0;
        /* The intercept that got the most unroutable/expired headers. */
        const rd_agent_t *best = NULL;
        uint64_t best_n = 0;
        for (size_t j = 0; j < d->nic; j++) {
            if (strcmp(d->ic[j].id, g->pair) == 0)
                continue;
            const rd_agent_t *x = rd_registry_find(&c->reg, d->ic[j].id);
            if (x == NULL || x->stats.at_ms == 0)
                continue;
            uint64_t n = grown(icpt_lost(x, &c->names), d->ic[j].lost0);
            if (n > best_n) {
                best_n = n;
                best = x;
            }
        }
        if (best == NULL)
            continue;
        if (!owner_quiet) {
            rd_doctor_note(d,
                           "intercept %s (assistant %s) could route %llu response header(s) to "
                           "no copy agent during the run, while %s's canaries got no SYN-ACK: "
                           "the target may route part of %s to the wrong assistant",
                           best->id, best->advertise, (unsigned long long)best_n, g->id,
                           g->range);
            continue;
        }
        for (unsigned k = 0; k < g->nrules; k++) {
            rd_canary_rule_t *t = &g->rules[k];
            if (t->stage != RFPB__CANARY_STAGE__CANARY_NO_SYNACK)
                continue;
            t->stage = RFPB__CANARY_STAGE__CANARY_WRONG_ROUTE;
            snprintf(t->detail, sizeof(t->detail),
                     "SYN-ACK reached intercept %.32s (assistant %.24s), which does not own %.19s",
                     best->id,
                     best->advertise, g->range);
        }
        const rd_entry_t *oe = rd_table_find(&c->table, g->pair);
        rd_doctor_note(d,
                       "SYN-ACKs reached intercept %s, which does not own %s: the target routes "
                       "the client range to the wrong assistant (%s instead of %s; see "
                       "`replayctl routes`)",
                       best->id, g->range, best->advertise,
                       oe && oe->advertise[0] ? oe->advertise : g->pair);
    }
}

/* The reply: one arena-free layout (arrays of structs + pointer arrays),
 * strings borrowed from d. */
typedef struct {
    Rfpb__DoctorReply               r;   /* first: the reply pointer frees all */
    Rfpb__DoctorReply__AgentCanary  *ac;
    Rfpb__DoctorReply__AgentCanary **acp;
    Rfpb__CanaryRule                *cr;
    Rfpb__CanaryRule               **crp;
} reply_holder_t;

Rfpb__DoctorReply *
rd_doctor_reply(const rd_doctor_t *d)
{
    reply_holder_t *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    rfpb__doctor_reply__init(&h->r);
    size_t nr = 0;
    for (size_t i = 0; i < d->nag; i++)
        nr += d->ag[i].nrules;
    h->ac = calloc(d->nag ? d->nag : 1, sizeof(*h->ac));
    h->acp = calloc(d->nag ? d->nag : 1, sizeof(*h->acp));
    h->cr = calloc(nr ? nr : 1, sizeof(*h->cr));
    h->crp = calloc(nr ? nr : 1, sizeof(*h->crp));
    if (!h->ac || !h->acp || !h->cr || !h->crp) {
        rd_doctor_reply_free(&h->r);
        return NULL;
    }
    h->r.id = d->req_id;
    size_t k = 0;
    for (size_t i = 0; i < d->nag; i++) {
        const rd_doctor_agent_t *g = &d->ag[i];
        Rfpb__DoctorReply__AgentCanary *a = &h->ac[i];
        rfpb__doctor_reply__agent_canary__init(a);
        a->id = (char *)g->id;
        a->answered = g->answered != 0;
        a->rules = &h->crp[k];
        for (unsigned j = 0; j < g->nrules; j++, k++) {
            const rd_canary_rule_t *t = &g->rules[j];
            Rfpb__CanaryRule *c = &h->cr[k];
            rfpb__canary_rule__init(c);
            c->rule = (char *)t->rule;
            c->stage = (Rfpb__CanaryStage)t->stage;
            c->send_errno = t->send_errno;
            c->rtt_us = t->rtt_us;
            c->src = (char *)t->src;
            c->detail = (char *)t->detail;
            h->crp[k] = c;
        }
        a->n_rules = g->nrules;
        h->acp[i] = a;
    }
    h->r.agents = h->acp;
    h->r.n_agents = d->nag;
    h->r.notes = (char **)d->notes;
    h->r.n_notes = d->nnotes;
    return &h->r;
}

void
rd_doctor_reply_free(Rfpb__DoctorReply *r)
{
    if (r == NULL)
        return;
    reply_holder_t *h = (reply_holder_t *)(void *)r;
    free(h->ac);
    free(h->acp);
    free(h->cr);
    free(h->crp);
    free(h);
}

void
rd_doctor_fini(rd_doctor_t *d)
{
    free(d->ag);
    free(d->ic);
    for (size_t i = 0; i < d->nnotes; i++)
        free(d->notes[i]);
    memset(d, 0, sizeof(*d));
}
