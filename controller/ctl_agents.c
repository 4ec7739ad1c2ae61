/* ctl_agents.c -- `replayctl agents`: one row per registered agent. */
#include <stdio.h>

#include "ctl.h"
#include "ctl_client.h"
#include "ctl_render.h"
#include "rf_envelope.h"

int
ctl_agents_run(const ctl_opts_t *o, int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "replayctl agents: unexpected \"%s\"\n", argv[1]);
        return CTL_EUSAGE;
    }
    Rfpb__StatusRequest sr = RFPB__STATUS_REQUEST__INIT;
    sr.summary = 1;   /* the agents table shows no counters */
    Rfpb__Envelope env = RFPB__ENVELOPE__INIT, *reply = NULL;
    env.msg_case = RFPB__ENVELOPE__MSG_STATUS;
    env.status = &sr;
    int r = ctl_once(o, &env, RFPB__ENVELOPE__MSG_STATUS_REPLY, &reply);
    if (r != CTL_OK)
        return r;
    ctl_render_agents(stdout, reply->status_reply);
    rf_env_free(reply);
    return CTL_OK;
}
