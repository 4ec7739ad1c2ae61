/* ctl_apply.c -- `replayctl apply plan.json [--dry-run]`: send the plan,
 * print the per-agent diff, exit 3 if replayd rejects it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_client.h"
#include "rd_plan.h"
#include "rf_atomic_file.h"
#include "rf_envelope.h"

int
ctl_apply_run(const ctl_opts_t *o, int argc, char **argv)
{
    const char *path = NULL;
    int dry = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dry-run") == 0 || strcmp(argv[i], "-n") == 0)
            dry = 1;
        else if (path == NULL && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0))
            path = argv[i];
        else {
            fprintf(stderr, "replayctl apply: unexpected \"%s\"\nusage: replayctl apply "
                            "plan.json [--dry-run]\n", argv[i]);
            return CTL_EUSAGE;
        }
    }
    if (path == NULL) {
        fprintf(stderr, "usage: replayctl apply plan.json [--dry-run]\n");
        return CTL_EUSAGE;
    }
    char *text = NULL;
    size_t len = 0;
    int r = rf_read_file(&text, &len, strcmp(path, "-") == 0 ? "/dev/stdin" : path,
                         RD_PLAN_JSON_MAX);
    if (r != 0) {
        fprintf(stderr, "replayctl apply: %s: %s\n", path, rf_strerror(r));
        return CTL_EFAIL;
    }
    if (strlen(text) != len) {
        fprintf(stderr, "replayctl apply: %s: contains a NUL byte\n", path);
        free(text);
        return CTL_EREJECTED;
    }
    Rfpb__ApplyRequest rq = RFPB__APPLY_REQUEST__INIT;
    rq.plan_json = text;
    rq.dry_run = dry;
    Rfpb__Envelope env = RFPB__ENVELOPE__INIT, *reply = NULL;
    env.msg_case = RFPB__ENVELOPE__MSG_APPLY;
    env.apply = &rq;
    r = ctl_once(o, &env, RFPB__ENVELOPE__MSG_APPLY_REPLY, &reply);
    free(text);
    if (r != CTL_OK)
        return r;
    const Rfpb__ApplyReply *a = reply->apply_reply;
    if (!a->ok) {
        /* replayd sends every error, one "path: reason" per line */
        const char *msg = a->error ? a->error : "";
        unsigned lines = 1;
        for (const char *c = msg; *c; c++)
            lines += *c == '\n';
        if (lines == 1)
            fprintf(stderr, "replayctl apply: %s: %s\n",
                    a->code == RF_EPLAN ? "plan rejected" : "apply failed", msg);
        else
            fprintf(stderr, "replayctl apply: %s (%u errors):\n%s\n",
                    a->code == RF_EPLAN ? "plan rejected" : "apply failed",
                    lines - (strstr(msg, "\n... and ") != NULL), msg);
        fprintf(stderr, "the plan in force (generation %llu) is unchanged\n",
                (unsigned long long)a->generation);
        r = a->code == RF_EPLAN ? CTL_EREJECTED : CTL_EFAIL;
    } else {
        fputs(a->diff ? a->diff : "", stdout);
        if (dry)
            printf("dry run: nothing applied (generation stays %llu)\n",
                   (unsigned long long)a->generation);
        else
            printf("applied: generation %llu\n", (unsigned long long)a->generation);
    }
    rf_env_free(reply);
    return r;
}
