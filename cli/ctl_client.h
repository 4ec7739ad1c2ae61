/* ctl_client.h -- replayctl's side of the admin channel: connect, answer
 * the Challenge with an ADMIN Hello, then request/reply calls, each with a
 * deadline. Runs its own private uv loop only while a call is in flight,
 * so subcommands are written as plain sequential code.
 *
 * Errors are returned as replayctl exit codes (ctl.h) with one line
 * printed to stderr: unreachable (4), auth refused (5), other (1). */
#ifndef CTL_CLIENT_H
#define CTL_CLIENT_H

#include "ctl.h"
#include "replay.pb-c.h"

typedef struct ctl_client ctl_client_t;

int  ctl_connect(ctl_client_t **out, const ctl_opts_t *o);
/* Send `req`, wait for a reply of case `want`. *reply is owned by the
 * caller (rf_env_free). */
int  ctl_call(ctl_client_t *c, const Rfpb__Envelope *req, Rfpb__Envelope__MsgCase want,
              Rfpb__Envelope **reply);
void ctl_close(ctl_client_t *c);   /* NULL ok */

/* Connect, one call, close. */
int ctl_once(const ctl_opts_t *o, const Rfpb__Envelope *req, Rfpb__Envelope__MsgCase want,
             Rfpb__Envelope **reply);

#endif
