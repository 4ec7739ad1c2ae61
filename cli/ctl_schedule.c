/* ctl_schedule.c -- `replayctl pause` / `replayctl resume`: hold or run on
 * the stress schedule of the plan in force (docs/CONTROLLER.md,
 * "Stress schedules"). */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ctl_client.h"
#include "ctl_render.h"
#include "rf_envelope.h"

static int
run(const ctl_opts_t *o, int argc, char **argv, int pause)
{
    const char *name = pause ? "pause" : "resume";
    for (int i = 1; i < argc; i++) {
        if (ctl_is_help(argv[i])) {
            ctl_help(stdout, pause ? "pause" : "resume",
                     pause ? "Hold the schedule of the plan in force at its current step: the\n"
                             "clock stops (no step is pushed) until `replayctl resume`.\n"
                           : "Run the schedule of the plan in force on from where `replayctl "
                             "pause` held it.\n");
            return CTL_OK;
        }
        fprintf(stderr, "replayctl %s: unexpected \"%s\"\nusage: replayctl %s\n", name, argv[i],
                name);
        return CTL_EUSAGE;
    }
    Rfpb__ScheduleRequest rq = RFPB__SCHEDULE_REQUEST__INIT;
    rq.pause = pause;
    Rfpb__Envelope env = RFPB__ENVELOPE__INIT, *reply = NULL;
    env.msg_case = RFPB__ENVELOPE__MSG_SCHEDULE;
    env.schedule = &rq;
    int r = ctl_once(o, &env, RFPB__ENVELOPE__MSG_APPLY_REPLY, &reply);
    if (r != CTL_OK)
        return r;
    const Rfpb__ApplyReply *rep = reply->apply_reply;
    if (rep->ok)
        printf("%s\n", rep->diff ? rep->diff : "");
    else
        fprintf(stderr, "replayctl %s: %s\n", name, rep->error ? rep->error : "refused");
    r = rep->ok ? CTL_OK : CTL_EFAIL;
    rf_env_free(reply);
    return r;
}

int
ctl_pause_run(const ctl_opts_t *o, int argc, char **argv)
{
    return run(o, argc, argv, 1);
}

int
ctl_resume_run(const ctl_opts_t *o, int argc, char **argv)
{
    return run(o, argc, argv, 0);
}
