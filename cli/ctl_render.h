/* ctl_render.h -- how replayctl shows replies: status as a table or as the
 * stable --json object, the agents table. Pure formatting over protobuf
 * replies into a FILE*; no I/O besides writing there. */
#ifndef CTL_RENDER_H
#define CTL_RENDER_H

#include <stdio.h>

#include "rd_loss.h"
#include "replay.pb-c.h"

const char *ctl_role_name(Rfpb__Role role);   /* copy, intercept, controller */

/* Fleet figures for the status header: agents per role from the rows;
 * counts and rates from the totals, using only names one role sends
 * (sess_*, replayed_*, accepted_pkts, resp_received: copy; resp_forwarded:
 * intercept), so no sum mixes roles or adds up a level. Cumulative counts
 * for the fidelity, per-second rates for throughput. */
typedef struct {
    size_t   copy_up, copy_n, icpt_up, icpt_n, not_acked;
    uint64_t copies;                         /* requested */
    uint64_t sess_completed, sess_lost;      /* lost: reset, timed out, aborted, shed */
    uint64_t orig_sessions, sess_opened;
    uint64_t r_captured_sessions, r_opened;  /* per second */
    uint64_t r_captured, r_accepted, r_replayed, r_replayed_bytes;
    uint64_t r_resp_received, r_resp_forwarded;
} ctl_fleet_t;
void ctl_fleet_compute(ctl_fleet_t *f, const Rfpb__StatusReply *r);

/* {"generation":..,"plan":..,"requested":{..},"achieved":{..},"fleet":{..},
 *  "problems":[{agent,counter,value,meaning,hop}],
 *  "totals":{name:value},"total_rates":{..},"agents":[{..}]} + "\n".
 * Returns 0 or -ENOMEM. */
int  ctl_render_status_json(FILE *fp, const Rfpb__StatusReply *r);
void ctl_render_status_table(FILE *fp, const Rfpb__StatusReply *r, int verbose);
void ctl_render_agents(FILE *fp, const Rfpb__StatusReply *r);
/* {"generation":N,"agents":[{id,role,host,up,...}]} + "\n"; 0 or -errno. */
int  ctl_render_agents_json(FILE *fp, const Rfpb__StatusReply *r);

/* doctor (implemented in ctl_doctor.c): stage names, the hop-by-hop text
 * with a hint per stage, the stable --json object; healthy = at least one
 * agent, every agent answered, every rule OK. */
const char *ctl_canary_stage_name(int stage);
int         ctl_doctor_healthy(const Rfpb__DoctorReply *r);
void        ctl_render_doctor_text(FILE *fp, const Rfpb__DoctorReply *r);
int         ctl_render_doctor_json(FILE *fp, const Rfpb__DoctorReply *r);

/* One line of the "problems" section: an agent down (loss NULL, value 0),
 * an agent up on another generation (loss NULL, value 1), or a non-zero
 * loss counter with its meaning and hop. Fills at most max; returns how
 * many there are. */
typedef struct {
    const Rfpb__AgentStatus *agent;
    const rd_loss_def_t     *loss;
    uint64_t                 value;
} ctl_problem_t;
size_t ctl_problems(ctl_problem_t *out, size_t max, const Rfpb__StatusReply *r);

/* `replayctl CMD --help`: usage line, what it does, the exit codes. */
void ctl_help(FILE *fp, const char *usage, const char *text);
int  ctl_is_help(const char *arg);   /* -h or --help */

/* Value of a named counter in a list; 0 if absent. */
uint64_t ctl_counter(Rfpb__Counter **cs, size_t n, const char *name);

#endif
