/* ctl_routes.c -- `replayctl routes [--json]`: the route each target
 * needs, one block per intercept ("ip route add BLOCK via ASSISTANT"). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ctl_client.h"
#include "ctl_render.h"
#include "rf_envelope.h"

static const char help_text[] =
    "The routes every target host needs so that responses to replayed clients\n"
    "reach the intercepts: one \"ip route add BLOCK via ASSISTANT\" per intercept\n"
    "(with target groups: per group, \"# on target group NAME (TARGETS)\" at the end).\n"
    "  --json  {\"routes\":[{\"block\":..,\"via\":..,\"line\":..}]}\n";

int
ctl_routes_run(const ctl_opts_t *o, int argc, char **argv)
{
    int json;
    int r = ctl_json_only_args(&json, argc, argv, "routes", help_text);
    if (r >= 0)
        return r;
    Rfpb__RoutesRequest rr = RFPB__ROUTES_REQUEST__INIT;
    Rfpb__Envelope env = RFPB__ENVELOPE__INIT, *reply = NULL;
    env.msg_case = RFPB__ENVELOPE__MSG_ROUTES;
    env.routes = &rr;
    r = ctl_once(o, &env, RFPB__ENVELOPE__MSG_ROUTES_REPLY, &reply);
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
            /* with target groups: "... # on target group NAME (IPs)" */
            char group[64] = "";
            const char *tg = strstr(rep->lines[i], "# on target group ");
            if (tg == NULL || sscanf(tg, "# on target group %63s", group) != 1)
                group[0] = '\0';
            json_t *row = json_pack("{s:s,s:s,s:s}", "block", block, "via", via, "line",
                                    rep->lines[i]);
            if (row && group[0])
                json_object_set_new(row, "target_group", json_string(group));
            json_array_append_new(arr, row);
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
