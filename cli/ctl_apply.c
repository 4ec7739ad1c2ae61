/* ctl_apply.c -- `replayctl apply plan.json [--dry-run] [--json]`: send
 * the plan, print the per-agent diff (or every error, one per line), exit 3
 * if replayd rejects it. --json gives automation (Ansible) one object that
 * says whether the generation moved. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_client.h"
#include "ctl_render.h"
#include "rd_plan.h"
#include "rf_atomic_file.h"
#include "rf_envelope.h"

#define USAGE "apply plan.json|- [--dry-run] [--json]"

/* One JSON array of the lines of s (errors or diff). */
static json_t *
lines_array(const char *s)
{
    json_t *a = json_array();
    while (a && s && *s) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        if (n > 0)
            json_array_append_new(a, json_stringn(s, n));
        s += n + (nl != NULL);
    }
    return a;
}

static void
print_json(const Rfpb__ApplyReply *a, int dry)
{
    json_t *o = json_pack("{s:b,s:b,s:I,s:b,s:i,s:o,s:o,s:s}", "ok", a->ok, "dry_run", dry,
                          "generation", (json_int_t)a->generation, "generation_moved",
                          a->ok && !dry, "code", (int)a->code, "errors",
                          lines_array(a->ok ? "" : a->error), "diff",
                          lines_array(a->ok ? a->diff : ""), "plan_in_force",
                          a->ok && !dry ? "new" : "unchanged");
    if (o != NULL) {
        json_dumpf(o, stdout, JSON_INDENT(1) | JSON_SORT_KEYS);
        fputc('\n', stdout);
        json_decref(o);
    }
}

/* replayd sends every error, one "path: reason" per line. */
static void
print_rejection(const Rfpb__ApplyReply *a)
{
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
}

/* -1: go on with *path; otherwise the exit code (help, usage error). */
static int
parse_args(const char **path, int *dry, int *json, int argc, char **argv)
{
    *path = NULL;
    *dry = *json = 0;
    for (int i = 1; i < argc; i++) {
        if (ctl_is_help(argv[i])) {
            ctl_help(stdout, USAGE,
                     "Send a plan to replayd: it validates it (every error is listed, one per\n"
                     "line, JSON path first), computes the assignments, prints what changes per\n"
                     "agent, persists it and pushes it to the agents under a new generation.\n"
                     "A rejected plan changes nothing: the plan in force stays.\n"
                     "  -n, --dry-run  validate and show the diff, apply nothing\n"
                     "  --json         {ok, dry_run, generation, generation_moved, code, errors[],\n"
                     "                 diff[], plan_in_force} on stdout (same exit codes)\n");
            return CTL_OK;
        }
        if (strcmp(argv[i], "--json") == 0)
            *json = 1;
        else if (strcmp(argv[i], "--dry-run") == 0 || strcmp(argv[i], "-n") == 0)
            *dry = 1;
        else if (*path == NULL && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0))
            *path = argv[i];
        else {
            fprintf(stderr, "replayctl apply: unexpected \"%s\"\nusage: replayctl " USAGE "\n",
                    argv[i]);
            return CTL_EUSAGE;
        }
    }
    if (*path == NULL) {
        fprintf(stderr, "usage: replayctl " USAGE "\n");
        return CTL_EUSAGE;
    }
    return -1;
}

int
ctl_apply_run(const ctl_opts_t *o, int argc, char **argv)
{
    const char *path;
    int dry, json;
    int r = parse_args(&path, &dry, &json, argc, argv);
    if (r >= 0)
        return r;
    char *text = NULL;
    size_t len = 0;
    r = rf_read_file(&text, &len, strcmp(path, "-") == 0 ? "/dev/stdin" : path, RD_PLAN_JSON_MAX);
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
    if (json) {
        print_json(a, dry);
        r = a->ok ? CTL_OK : a->code == RF_EPLAN ? CTL_EREJECTED : CTL_EFAIL;
    } else if (!a->ok) {
        print_rejection(a);
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
