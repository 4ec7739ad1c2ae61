/* ctl_agents.c -- `replayctl agents [--json]`: one row per registered
 * agent (host, assignment, pairing, last error), or the same as JSON. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ctl_client.h"
#include "ctl_render.h"
#include "rf_envelope.h"

int
ctl_agents_run(const ctl_opts_t *o, int argc, char **argv)
{
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (ctl_is_help(argv[i])) {
            ctl_help(stdout, "agents [--json]",
                     "Every registered agent: role, state, host, last heard from, generation\n"
                     "sent/acknowledged, client range, port offset, paired intercept, last error.\n"
                     "  --json  a JSON array of the same, one object per agent\n");
            return CTL_OK;
        }
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
            continue;
        }
        fprintf(stderr, "replayctl agents: unexpected \"%s\"\nusage: replayctl agents [--json]\n",
                argv[i]);
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
    if (json)
        r = ctl_render_agents_json(stdout, reply->status_reply) == 0 ? CTL_OK : CTL_EFAIL;
    else
        ctl_render_agents(stdout, reply->status_reply);
    rf_env_free(reply);
    return r;
}
