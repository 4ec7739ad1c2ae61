/* rd_sched.h -- stress schedules: plan.json "schedule" steps and what they
 * ask for at a given time (pure: no clock, no I/O).
 *
 *   "schedule": [{"after": "0s",  "copies": 1, "rate_limit_pps": 5000},
 *                {"after": "5m",  "copies": 3, "ramp": true},
 *                {"after": "30m", "stop": true}]
 *
 * A step holds from its `after` (time since the plan was applied, pauses
 * excluded) until the next step's. Values it does not name are the previous
 * step's (the plan's own top-level values before the first step). "ramp":
 * true reaches the step's values linearly from the previous step's, in
 * RD_RAMP_QUANTA equal moves, so a ramp costs a bounded number of
 * generations. "stop": true (last step only) ends the replay: every copy
 * agent goes idle. */
#ifndef RD_SCHED_H
#define RD_SCHED_H

#include <stdint.h>

#include "rd_plan.h"

#define RD_RAMP_QUANTA 20

/* What the schedule asks for at one moment. */
typedef struct {
    uint32_t copies, sample_percent;
    uint64_t rate_limit_pps;
    int      stopped;
    int      step;          /* index of the step in force; -1 before the first */
    int      next;          /* index of the next step; -1 after the last */
    uint64_t next_in_ms;    /* until the next step starts (0 when next < 0) */
    int      ramping;       /* moving towards the next step */
} rd_sched_now_t;

/* Values at `elapsed_ms` since the schedule started. A plan without
 * schedule gives its own values (step -1, next -1). */
void rd_sched_eval(const rd_plan_t *p, uint64_t elapsed_ms, rd_sched_now_t *out);

/* Time since the start, pauses excluded: paused_at (0 = running) freezes it. */
uint64_t rd_sched_elapsed(uint64_t now_ms, uint64_t start_ms, uint64_t paused_at_ms,
                          uint64_t paused_ms);

/* "90", "90s", "5m", "1h", "1h30m", "2m30s" -> ms; -1 if malformed or over
 * RD_SCHED_MAX_S. */
#define RD_SCHED_MAX_S (7 * 86400)
int64_t rd_sched_parse_duration(const char *s);

#endif
