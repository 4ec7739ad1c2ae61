/* ctl_render.h -- how replayctl shows replies: status as a table or as the
 * stable --json object, the agents table. Pure formatting over protobuf
 * replies into a FILE*; no I/O besides writing there. */
#ifndef CTL_RENDER_H
#define CTL_RENDER_H

#include <stdio.h>

#include "replay.pb-c.h"

const char *ctl_role_name(Rfpb__Role role);   /* copy, intercept, controller */

/* {"generation":..,"plan":..,"requested":{..},"achieved":{..},
 *  "totals":{name:value},"total_rates":{..},"agents":[{..}]} + "\n".
 * Returns 0 or -ENOMEM. */
int  ctl_render_status_json(FILE *fp, const Rfpb__StatusReply *r);
void ctl_render_status_table(FILE *fp, const Rfpb__StatusReply *r, int verbose);
void ctl_render_agents(FILE *fp, const Rfpb__StatusReply *r);

/* doctor (implemented in ctl_doctor.c): stage names, the hop-by-hop text
 * with a hint per stage, the stable --json object; healthy = at least one
 * agent, every agent answered, every rule OK. */
const char *ctl_canary_stage_name(int stage);
int         ctl_doctor_healthy(const Rfpb__DoctorReply *r);
void        ctl_render_doctor_text(FILE *fp, const Rfpb__DoctorReply *r);
int         ctl_render_doctor_json(FILE *fp, const Rfpb__DoctorReply *r);

/* Value of a named counter in a list; 0 if absent. */
uint64_t ctl_counter(Rfpb__Counter **cs, size_t n, const char *name);

#endif
