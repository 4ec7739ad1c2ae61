/* ctl_routes.c -- `replayctl routes`: the route each target needs, one
 * block per intercept ("ip route add BLOCK via ASSISTANT"). */
#include <stdio.h>

#include "ctl.h"
#include "ctl_client.h"
#include "rf_envelope.h"

int
ctl_routes_run(const ctl_opts_t *o, int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "replayctl routes: unexpected \"%s\"\n", argv[1]);
        return CTL_EUSAGE;
    }
    Rfpb__RoutesRequest rr = RFPB__ROUTES_REQUEST__INIT;
    Rfpb__Envelope env = RFPB__ENVELOPE__INIT, *reply = NULL;
    env.msg_case = RFPB__ENVELOPE__MSG_ROUTES;
    env.routes = &rr;
    int r = ctl_once(o, &env, RFPB__ENVELOPE__MSG_ROUTES_REPLY, &reply);
    if (r != CTL_OK)
        return r;
    const Rfpb__RoutesReply *rep = reply->routes_reply;
    if (rep->n_lines == 0)
        fprintf(stderr, "replayctl routes: no plan in force\n");
    for (size_t i = 0; i < rep->n_lines; i++)
        printf("%s\n", rep->lines[i]);
    rf_env_free(reply);
    return CTL_OK;
}
