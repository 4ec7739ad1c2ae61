/* cp_ctl.c -- Assignment -> next configuration, one phase per part of the
 * message (rules, client range, replay knobs, intercepts), then the checks
 * the command line shares. A new Assignment field is one more phase. */
#include "cp_ctl.h"

#include <string.h>

#include "rf_parse.h"

static int
rules_from_pb(cp_engine_cfg_t *e, const Rfpb__Assignment *as, rf_errbuf_t *err)
{
    if (as->n_rules == 0 || as->n_rules > RF_RULES_MAX)
        return rf_err_set(err, RF_EPLAN, "assignment has %zu rules, expected 1..%d", as->n_rules,
                          RF_RULES_MAX);
    for (size_t i = 0; i < as->n_rules; i++) {
        const Rfpb__TransferRule *r = as->rules[i];
        if (r->online_port == 0 || r->online_port > 65535 || r->target_port == 0 ||
            r->target_port > 65535 || r->target_ip == 0)
            return rf_err_set(err, RF_EPLAN, "rules[%zu]: port 0 or over 65535, or target 0.0.0.0",
                              i);
        e->rules[i].online_ip = r->online_ip;
        e->rules[i].online_port = (uint16_t)r->online_port;
        e->rules[i].target_ip = r->target_ip;
        e->rules[i].target_port = (uint16_t)r->target_port;
    }
    e->nrules = (unsigned)as->n_rules;
    return 0;
}

static int
range_from_pb(cp_engine_cfg_t *e, const Rfpb__Assignment *as, rf_errbuf_t *err)
{
    const Rfpb__Prefix *p = as->client_range;
    if (p == NULL || p->len > 32)
        return rf_err_set(err, RF_EPLAN, "assignment without a valid client range");
    /* its width is checked with the command line's (cp_opts_check_replay) */
    e->has_range = 1;
    e->range.len = (uint8_t)p->len;
    e->range.addr = p->addr & rf_cidr_mask(e->range.len);
    return 0;
}

/* Copies, offset, sample, rate, timeout. Their ranges are checked
 * afterwards with the command line's (cp_opts_check_replay); only the
 * timeout is checked here, before seconds become milliseconds. */
static int
knobs_from_pb(cp_engine_cfg_t *e, const Rfpb__Assignment *as, rf_errbuf_t *err)
{
    e->offset = as->port_offset;
    e->copies = as->copies;
    e->sample_percent = as->sample_percent;
    e->rate_limit_pps = as->rate_limit_pps;
    /* capture group (protocol 2): the flow buckets this agent replays */
    const Rfpb__ShardSet *sh = as->shard;
    if (cp_map_shard_load(&e->shard, sh != NULL, sh ? sh->buckets : 0, sh ? sh->owned.data : NULL,
                          sh ? sh->owned.len : 0, err) != 0)
        return RF_EPLAN;
    if (as->session_timeout_s > CP_TIMEOUT_MAX_S)
        return rf_err_set(err, RF_EPLAN, "session timeout %u s out of range 1..%u",
                          as->session_timeout_s, CP_TIMEOUT_MAX_S);
    if (as->session_timeout_s)   /* 0: keep the agent's own */
        e->session_timeout_ms = as->session_timeout_s * 1000u;
    return 0;
}

/* Target groups (protocol 3): each output's rules must have the captured
 * rules' online sides, in order (the engine matches a packet once and
 * then picks each output's target by rule index); its range must lie in
 * the agent's own slice (the intercept routes only that back to us). */
static int
output_from_pb(cp_output_t *o, const cp_config_t *n, const Rfpb__Output *po, size_t k,
               rf_errbuf_t *err)
{
    const cp_engine_cfg_t *e = &n->eng;
    memset(o, 0, sizeof(*o));
    if (po->n_rules != e->nrules)
        return rf_err_set(err, RF_EPLAN, "outputs[%zu]: %zu rules, the assignment has %u", k,
                          po->n_rules, e->nrules);
    rf_rule_t t[RF_RULES_MAX];
    for (size_t i = 0; i < po->n_rules; i++) {
        const Rfpb__TransferRule *r = po->rules[i];
        if (r->online_ip != e->rules[i].online_ip || r->online_port != e->rules[i].online_port ||
            r->target_ip == 0 || r->target_port == 0 || r->target_port > 65535)
            return rf_err_set(err, RF_EPLAN, "outputs[%zu].rules[%zu]: another online side than "
                              "rules[%zu], or no target", k, i, i);
        t[i] = e->rules[i];
        t[i].target_ip = o->target_ip[i] = r->target_ip;
        t[i].target_port = o->target_port[i] = (uint16_t)r->target_port;
    }
    if (!cp_opts_target_allowed(n, t, e->nrules, err))
        return RF_EPLAN;
    const Rfpb__Prefix *p = po->client_range;
    if (p == NULL || p->len > 32 || p->len < e->range.len ||
        !rf_cidr_contains(&e->range, p->addr))
        return rf_err_set(err, RF_EPLAN, "outputs[%zu]: client range missing or outside the "
                          "agent's own", k);
    o->range.len = (uint8_t)p->len;
    o->range.addr = p->addr & rf_cidr_mask(o->range.len);
    for (unsigned i = 0; i < e->nrules; i++)
        if (rf_cidr_contains(&o->range, o->target_ip[i]))
            return rf_err_set(err, RF_EPLAN, "outputs[%zu]: client range holds a target", k);
    if (po->copies < 1 || po->copies > n->max_copies || po->port_offset > CP_OFFSET_MAX ||
        po->sample_percent < 1 || po->sample_percent > 100)
        return rf_err_set(err, RF_EPLAN, "outputs[%zu]: copies %u (1..%u), offset %u (0..%u) "
                          "or sample %u%% (1..100) out of range", k, po->copies, n->max_copies,
                          po->port_offset, CP_OFFSET_MAX, po->sample_percent);
    o->copies = po->copies;
    o->offset = po->port_offset;
    o->sample_percent = po->sample_percent;
    o->rate_limit_pps = po->rate_limit_pps;
    return 0;
}

static int
outputs_from_pb(cp_config_t *n, const Rfpb__Assignment *as, rf_errbuf_t *err)
{
    n->eng.noutputs = 0;
    if (as->n_outputs > CP_OUTPUTS_MAX)
        return rf_err_set(err, RF_EPLAN, "assignment has %zu outputs, at most %d",
                          as->n_outputs, CP_OUTPUTS_MAX);
    for (size_t k = 0; k < as->n_outputs; k++) {
        int r = output_from_pb(&n->eng.outputs[k], n, as->outputs[k], k, err);
        if (r != 0)
            return r;
    }
    n->eng.noutputs = (unsigned)as->n_outputs;
    return 0;
}

static int
intercepts_from_pb(cp_config_t *n, const Rfpb__Assignment *as, rf_errbuf_t *err)
{
    n->nicpt = 0;
    for (size_t i = 0; i < as->n_intercepts && n->nicpt < CP_MAX_ICPT; i++) {
        const Rfpb__Endpoint *ep = as->intercepts[i];
        cp_endpoint_t *d = &n->icpt[n->nicpt];
        if (ep->host == NULL || ep->port == 0 || ep->port > 65535 ||
            rf_parse_str(d->host, sizeof(d->host), ep->host) != 0)
            return rf_err_set(err, RF_EPLAN, "intercepts[%zu]: no host, host too long or port "
                              "0 or over 65535", i);
        d->port = (uint16_t)ep->port;
        d->has_psk = ep->psk.len == sizeof(d->psk);
        if (d->has_psk)
            memcpy(d->psk, ep->psk.data, ep->psk.len);
        else
            memset(d->psk, 0, sizeof(d->psk));
        n->nicpt++;
    }
    return 0;
}

int
cp_ctl_assignment(cp_config_t *next, const cp_config_t *cur, const Rfpb__Assignment *as,
                  rf_errbuf_t *err)
{
    *next = *cur;
    if (!as->active) {
        /* Not in the plan in force: capture nothing new. */
        next->eng.nrules = 0;
        next->nicpt = 0;
        next->eng.shard.buckets = 0;
        next->eng.noutputs = 0;
        return 0;
    }
    int r;
    if ((r = rules_from_pb(&next->eng, as, err)) != 0 ||
        (r = range_from_pb(&next->eng, as, err)) != 0 ||
        (r = knobs_from_pb(&next->eng, as, err)) != 0)
        return r;
    if (cp_opts_check_replay(next, err) != 0)
        return RF_EPLAN;
    if (next->eng.copies > cur->max_copies)
        return rf_err_set(err, RF_EPLAN, "copies %u over this agent's --max-copies %u",
                          next->eng.copies, cur->max_copies);
    if ((r = outputs_from_pb(next, as, err)) != 0)
        return r;
    return intercepts_from_pb(next, as, err);
}

int
cp_ctl_same_rules(const cp_config_t *a, const cp_config_t *b)
{
    if (a->eng.nrules != b->eng.nrules)
        return 0;
    for (unsigned i = 0; i < a->eng.nrules; i++) {
        const rf_rule_t *x = &a->eng.rules[i], *y = &b->eng.rules[i];
        if (x->online_ip != y->online_ip || x->online_port != y->online_port ||
            x->target_ip != y->target_ip || x->target_port != y->target_port)
            return 0;
    }
    return 1;
}
