/* rd_steps.c -- a plan's stress schedule over the controller state: push
 * each step as a new generation at its time, pause and resume (see
 * rd_sched.h for the steps, rd_admin.h for the calls).
 *
 * The clock is wall time kept in state.json (table.sched_*), so a replayd
 * that restarts in the middle of a schedule picks it up where it stands;
 * a step whose time passed while replayd was down is pushed on the first
 * tick. */
#include <stdio.h>
#include <string.h>

#include "rd_admin.h"
#include "rd_sched.h"
#include "rd_state.h"
#include "rf_hash.h"
#include "rf_log.h"

static void
where(const rd_ctx_t *c, char *msg, size_t len)
{
    rd_sched_now_t n;
    const rd_table_t *t = &c->table;
    rd_sched_eval(c->plan, rd_sched_elapsed(rd_admin_wall_ms(c), t->sched_start_ms, t->sched_paused_at_ms,
                                            t->sched_paused_ms),
                  &n);
    int k = snprintf(msg, len, "schedule %s: step %d of %u (copies %u, rate %llu pps)",
                     t->sched_paused_at_ms ? "paused" : "running", n.step + 1, c->plan->nsteps,
                     n.copies, (unsigned long long)n.rate_limit_pps);
    if (n.next >= 0 && k > 0 && (size_t)k < len)
        snprintf(msg + k, len - (size_t)k, ", step %d in %llu s", n.next + 1,
                 (unsigned long long)(n.next_in_ms + 999) / 1000);
}

int
rd_sched_tick(rd_ctx_t *c)
{
    const rd_plan_t *p = c->plan;
    if (p == NULL || p->nsteps == 0 || c->table.sched_start_ms == 0 ||
        c->table.sched_paused_at_ms)
        return 0;
    rd_sched_now_t n;
    rd_sched_eval(p, rd_sched_elapsed(rd_admin_wall_ms(c), c->table.sched_start_ms, 0,
                                      c->table.sched_paused_ms),
                  &n);
    if (n.copies == p->copies && n.rate_limit_pps == p->rate_limit_pps &&
        n.sample_percent == p->sample_percent && n.stopped == p->stopped)
        return 0;
    uint64_t key = rf_mix64(((uint64_t)n.copies << 40) ^ ((uint64_t)n.sample_percent << 32) ^
                            n.rate_limit_pps ^ ((uint64_t)n.stopped << 63));
    if (key == c->sched_tried)
        return 0;   /* failed before with these values: logged once */
    rd_apply_result_t res;
    int r = rd_admin_reapply(c, &res);
    if (r == 0) {
        c->sched_tried = 0;
        rf_log_info("schedule of plan \"%s\": step %d of %u%s: copies %u, sample %u%%, rate %llu "
                    "pps%s, generation %llu",
                    p->name, n.step + 1, p->nsteps, n.ramping ? " (ramping)" : "", n.copies,
                    n.sample_percent, (unsigned long long)n.rate_limit_pps,
                    n.stopped ? ", replay stopped" : "", (unsigned long long)c->generation);
    } else {
        c->sched_tried = key;
        rf_log_warn("schedule of plan \"%s\": step %d of %u could not be applied: %s", p->name,
                    n.step + 1, p->nsteps, res.err.msg);
    }
    rd_apply_result_fini(&res);
    return r == 0 ? 1 : (r < 0 ? r : -1);
}

int
rd_admin_schedule(rd_ctx_t *c, int pause, char *msg, size_t len)
{
    rd_table_t *t = &c->table;
    if (c->plan == NULL || c->plan->nsteps == 0 || t->sched_start_ms == 0) {
        snprintf(msg, len, "the plan in force has no schedule");
        return RF_ESTATE;
    }
    if (pause == (t->sched_paused_at_ms != 0)) {
        where(c, msg, len);
        return RF_ESTATE;
    }
    uint64_t now = rd_admin_wall_ms(c), at = t->sched_paused_at_ms, paused = t->sched_paused_ms;
    if (pause) {
        t->sched_paused_at_ms = now;
    } else {
        t->sched_paused_ms += now > at ? now - at : 0;
        t->sched_paused_at_ms = 0;
    }
    int r = rd_state_save(c->state_dir, c->generation, c->plan, t);
    if (r != 0) {
        c->ctr.state_write_errors++;
        t->sched_paused_at_ms = at;
        t->sched_paused_ms = paused;
        snprintf(msg, len, "state write to %s failed: %s", c->state_dir, rf_strerror(r));
        return r;
    }
    where(c, msg, len);
    rf_log_info("%s", msg);
    return 0;
}
