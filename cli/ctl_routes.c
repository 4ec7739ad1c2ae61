/* ctl_routes.c -- `replayctl routes [--json]`: the route each target
 * needs, one block per intercept ("ip route add BLOCK via ASSISTANT"). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ctl_client.h"
#include "ctl_render.h"
#include "rf_envelope.h"

int
ctl_routes_run(const ctl_opts_t *o, int argc, char **argv)
{
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (ctl_is_help(argv[i])) {
            ctl_help(stdout, "routes [--json]",
                     "The routes every target host needs so that responses to replayed clients\n"
                     "reach the intercepts: one \"ip route add BLOCK via ASSISTANT\" per intercept.\n"
                     "  --json  {\"routes\":[{\"block\":..,\"via\":..,\"line\":..}]}\n");
            return CTL_OK;
        }
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
            continue;
        }
        fprintf(stderr, "replayctl routes: unexpected \"%s\"\nusage: replayctl routes [--json]\n",
                argv[i]);
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
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < rep->n_lines; i++) {
            /* "ip route add BLOCK via ADDR" */
            char block[64] = "", via[128] = "";
            if (sscanf(rep->lines[i], "ip route add %63s via %127s", block, via) != 2)
                block[0] = via[0] = '\0';
            json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "block", block, "via", via,
                                                 "line", rep->lines[i]));
        }
        json_t *root = json_pack("{s:o}", "routes", arr ? arr : json_array());
        if (root) {
            json_dumpf(root, stdout, JSON_INDENT(1) | JSON_SORT_KEYS);
            fputc('\n', stdout);
            json_decref(root);
        }
    } else {
        if (rep->n_lines == 0)
            fprintf(stderr, "replayctl routes: no plan in force\n");
        for (size_t i = 0; i < rep->n_lines; i++)
            printf("%s\n", rep->lines[i]);
    }
    rf_env_free(reply);
    return CTL_OK;
}
