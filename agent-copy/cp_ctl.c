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
    if (as->session_timeout_s > CP_TIMEOUT_MAX_S)
        return rf_err_set(err, RF_EPLAN, "session timeout %u s out of range 1..%u",
                          as->session_timeout_s, CP_TIMEOUT_MAX_S);
    if (as->session_timeout_s)   /* 0: keep the agent's own */
        e->session_timeout_ms = as->session_timeout_s * 1000u;
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
