/* ctl_plan.c -- `replayctl plan`: the plan in force, as JSON that
 * `replayctl apply` accepts back. */
#include <jansson.h>
#include <stdio.h>

#include "ctl.h"
#include "ctl_client.h"
#include "ctl_render.h"
#include "rf_envelope.h"

int
ctl_plan_run(const ctl_opts_t *o, int argc, char **argv)
{
    if (argc > 1 && ctl_is_help(argv[1])) {
        ctl_help(stdout, "plan",
                 "Print the plan in force as JSON that `replayctl apply` accepts back;\n"
                 "its generation goes to stderr. Exit 1 when no plan was applied yet.\n");
        return CTL_OK;
    }
    if (argc > 1) {
        fprintf(stderr, "replayctl plan: unexpected \"%s\"\n", argv[1]);
        return CTL_EUSAGE;
    }
    Rfpb__GetPlanRequest gr = RFPB__GET_PLAN_REQUEST__INIT;
    Rfpb__Envelope env = RFPB__ENVELOPE__INIT, *reply = NULL;
    env.msg_case = RFPB__ENVELOPE__MSG_GET_PLAN;
    env.get_plan = &gr;
    int r = ctl_once(o, &env, RFPB__ENVELOPE__MSG_PLAN_REPLY, &reply);
    if (r != CTL_OK)
        return r;
    const Rfpb__PlanReply *p = reply->plan_reply;
    if (p->plan_json == NULL || p->plan_json[0] == '\0') {
        fprintf(stderr, "replayctl plan: no plan applied yet\n");
        rf_env_free(reply);
        return CTL_EFAIL;
    }
    json_t *j = json_loads(p->plan_json, 0, NULL);
    if (j) {
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        json_decref(j);
    } else {
        fputs(p->plan_json, stdout);
    }
    printf("\n");
    fprintf(stderr, "# generation %llu\n", (unsigned long long)p->generation);
    rf_env_free(reply);
    return CTL_OK;
}
