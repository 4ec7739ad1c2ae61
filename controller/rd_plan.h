/* rd_plan.h -- plan.json text -> validated rd_plan_t (pure: no uv, no I/O).
 *
 * Owns the schema of plan.json (docs/CONTROLLER.md): key names, types,
 * ranges, rule and CIDR syntax. Does NOT know which agents exist: whether
 * an id is registered is checked by rd_assign_compute(), which reports the
 * same "path: reason" form. Every error names the JSON path first:
 *   transfers[1]: bad target address "10.0.2"                            */
#ifndef RD_PLAN_H
#define RD_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "rf_cidr.h"
#include "rf_err.h"
#include "rf_rule.h"

#define RD_ID_MAX        64          /* agent id bytes incl. NUL */
#define RD_NAME_MAX      128         /* plan name bytes incl. NUL */
#define RD_COPY_MAX      1024        /* port offsets are 0..1023 */
#define RD_ICPT_MAX      256
#define RD_PLAN_JSON_MAX (1u << 20)  /* bytes of plan text accepted */
#define RD_COPIES_MAX    1023
#define RD_TIMEOUT_MAX   86400
#define RD_RATE_MAX      10000000000ull
#define RD_GROUPS_MAX       64       /* capture_groups entries */
#define RD_GROUP_AGENTS_MAX 256      /* members of one capture group */

#define RD_STEPS_MAX        64       /* schedule steps */
#define RD_TGROUPS_MAX      8        /* target_groups entries (3 bits of each slot) */

/* schedule[i], every value resolved (inherited ones filled in). */
typedef struct {
    uint64_t after_ms;
    uint32_t copies, sample_percent;
    uint64_t rate_limit_pps;
    uint8_t  ramp, stop;
} rd_step_t;

/* capture_groups[i]: copy agents that see the same mirrored feed. */
typedef struct {
    char     name[RD_ID_MAX];
    uint8_t  shared_feed;           /* 1: flows are sharded over the live members */
    unsigned first, n;              /* members: member_ids[first .. first+n) */
} rd_group_t;

/* target_groups[i]: one more target the captured transfers are replayed
 * to (rd_targets.h). 0 in a number: the plan's value in force. */
typedef struct {
    char     name[RD_ID_MAX];
    uint32_t target_ip;             /* 0: each transfer's own target */
    uint16_t target_port;           /* 0: each transfer's own port */
    uint32_t copies, sample_percent;
    uint64_t rate_limit_pps;
    uint8_t  has_rate;              /* rate_limit_pps given (0 then means unlimited) */
} rd_tgroup_t;

typedef struct rd_plan {
    char      name[RD_NAME_MAX];
    rf_rule_t rules[RF_RULES_MAX];
    unsigned  nrules;
    rf_cidr_t pool;
    int       copy_all, icpt_all;   /* "*": every registered agent of the role */
    unsigned  ncopy, nicpt;         /* explicit ids (0 when *_all) */
    char      copy_ids[RD_COPY_MAX][RD_ID_MAX];
    char      icpt_ids[RD_ICPT_MAX][RD_ID_MAX];
    uint32_t  copies, sample_percent, session_timeout_s;
    uint64_t  rate_limit_pps;       /* fleet-wide; 0 = unlimited */
    /* copies, sample_percent, rate_limit_pps above are the values IN FORCE:
     * the plan's own ones, or what its schedule asks for now (replayd
     * overrides them, rd_sched.h); the plan's own values stay here. */
    uint32_t  base_copies, base_sample_percent;
    uint64_t  base_rate_limit_pps;
    int       stopped;              /* a "stop" step is in force: agents idle */
    rd_step_t steps[RD_STEPS_MAX];
    unsigned  nsteps;
    rd_group_t groups[RD_GROUPS_MAX];
    unsigned   ngroups;
    char       member_ids[RD_COPY_MAX][RD_ID_MAX];   /* every group's members, in order */
    unsigned   nmembers;            /* an agent is in at most one group */
    rd_tgroup_t tgroups[RD_TGROUPS_MAX];
    unsigned    ntgroups;           /* 0: one output, the transfers' own targets */
    char     *json;                 /* owned: canonical compact text (sorted keys) */
} rd_plan_t;

/* Every error of a plan, one "path: reason" per line, in schema order
 * (unknown keys, name, transfers, client_pool, copy_agents, intercepts,
 * numbers). An operator fixing a plan should see all of its mistakes at
 * once, but a hostile plan must not make a megabyte of text: at most
 * RD_PLAN_ERRS_CAP lines, then "... and N more errors". */
#define RD_PLAN_ERRS_CAP 16
#define RD_PLAN_ERRS_LEN 4096
typedef struct {
    char     msg[RD_PLAN_ERRS_LEN];  /* lines joined by '\n', no trailing newline */
    unsigned n;                      /* lines in msg */
    unsigned dropped;                /* errors past the cap */
} rd_plan_errs_t;

void rd_plan_errs_add(rd_plan_errs_t *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Parse and validate `len` bytes of plan JSON. On success *out is owned by
 * the caller (rd_plan_free). On failure returns RF_EPLAN (or -ENOMEM) with
 * every error in e, and *out is untouched. */
int rd_plan_parse_all(rd_plan_t **out, const char *text, size_t len, rd_plan_errs_t *e);

/* The same with only the first error: "path: reason (and N more)". For
 * callers that need one line (state.json loading). */
int  rd_plan_parse(rd_plan_t **out, const char *text, size_t len, rf_errbuf_t *err);
void rd_plan_free(rd_plan_t *p);   /* NULL ok */

/* Index of the capture group that lists copy agent `id`, or -1. */
int rd_plan_group_of(const rd_plan_t *p, const char *id);

/* 1 if `id` is a usable agent id: 1..63 bytes of [A-Za-z0-9._-]. Ids end up
 * in logs, JSON and file names, so nothing else is accepted. */
int rd_id_valid(const char *id);

#endif
