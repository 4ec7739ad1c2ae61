/* rd_sched.c -- evaluation of stress schedules (see rd_sched.h). */
#include "rd_sched.h"

#include <string.h>

int64_t
rd_sched_parse_duration(const char *s)
{
    int64_t total = 0;
    int any = 0;
    while (*s) {
        int64_t v = 0;
        int digits = 0;
        while (*s >= '0' && *s <= '9' && digits < 9) {
            v = v * 10 + (*s++ - '0');
            digits++;
        }
        if (digits == 0 || (*s >= '0' && *s <= '9'))
            return -1;
        int64_t mul = 1;
        if (*s == 's')
            s++;
        else if (*s == 'm')
            mul = 60, s++;
        else if (*s == 'h')
            mul = 3600, s++;
        else if (*s != '\0' || any)
            return -1;   /* a bare number only alone: "90" */
        total += v * mul;
        any = 1;
        if (total > RD_SCHED_MAX_S)
            return -1;
    }
    return any ? total * 1000 : -1;
}

uint64_t
rd_sched_elapsed(uint64_t now_ms, uint64_t start_ms, uint64_t paused_at_ms, uint64_t paused_ms)
{
    uint64_t t = paused_at_ms ? paused_at_ms : now_ms;
    if (t < start_ms + paused_ms)
        return 0;   /* clock stepped back: hold the start */
    return t - start_ms - paused_ms;
}

/* a + (b - a) * q / RD_RAMP_QUANTA, in either direction. */
static uint64_t
lerp(uint64_t a, uint64_t b, uint64_t q)
{
    if (b >= a)
        return a + (b - a) * q / RD_RAMP_QUANTA;
    return a - (a - b) * q / RD_RAMP_QUANTA;
}

void
rd_sched_eval(const rd_plan_t *p, uint64_t elapsed_ms, rd_sched_now_t *out)
{
    memset(out, 0, sizeof(*out));
    out->copies = p->base_copies;
    out->sample_percent = p->base_sample_percent;
    out->rate_limit_pps = p->base_rate_limit_pps;
    out->step = out->next = -1;
    if (p->nsteps == 0)
        return;
    int cur = -1;
    for (unsigned i = 0; i < p->nsteps && p->steps[i].after_ms <= elapsed_ms; i++)
        cur = (int)i;
    const rd_step_t *c = cur >= 0 ? &p->steps[cur] : NULL;
    if (c != NULL) {
        out->copies = c->copies;
        out->sample_percent = c->sample_percent;
        out->rate_limit_pps = c->rate_limit_pps;
        out->stopped = c->stop;
    }
    out->step = cur;
    if ((unsigned)(cur + 1) >= p->nsteps)
        return;
    const rd_step_t *n = &p->steps[cur + 1];
    out->next = cur + 1;
    out->next_in_ms = n->after_ms - elapsed_ms;
    if (!n->ramp || n->stop)
        return;
    uint64_t from = c ? c->after_ms : 0, span = n->after_ms - from;
    uint64_t q = span ? (elapsed_ms - from) * RD_RAMP_QUANTA / span : 0;
    out->ramping = 1;
    out->copies = (uint32_t)lerp(out->copies, n->copies, q);
    out->sample_percent = (uint32_t)lerp(out->sample_percent, n->sample_percent, q);
    out->rate_limit_pps = lerp(out->rate_limit_pps, n->rate_limit_pps, q);
    if (out->copies < 1)
        out->copies = 1;
    if (out->sample_percent < 1)
        out->sample_percent = 1;
}
