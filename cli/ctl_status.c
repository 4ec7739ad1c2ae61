/* ctl_status.c -- `replayctl status [--watch [S]] [--count N] [--json]
 * [-v] [--summary]`: one snapshot, or a redraw every S seconds (in place
 * on a terminal: cursor home, each line cleared to its end, the rest of
 * the screen cleared; no scrolling, no flicker) until Ctrl-C or N
 * snapshots. Reconnects if replayd restarts. The plain view asks for a
 * summary (agent rows carry only the counters it shows): at 1,000 agents
 * that is a fraction of the full reply; --json and -v get everything
 * unless --summary is given. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_client.h"
#include "ctl_render.h"
#include "rf_envelope.h"

static volatile sig_atomic_t stop_flag;

static const char *const usage_line = "status [--watch [S]] [--count N] [--json] [-v] [--summary]";
static const char *const help_text =
    "The fleet at a glance: plan, generation, agents up; fidelity (replay sessions\n"
    "completed cleanly of those finished); sessions/s opened vs captured; packets/s\n"
    "replayed vs captured; responses back from the target; copies and rate requested\n"
    "vs achieved; one row per agent; then every problem: an agent down or behind\n"
    "the plan, or a non-zero loss counter with what it means and the hop it points at.\n"
    "  -w, --watch [S]  redraw every S seconds (default 1) in place until Ctrl-C\n"
    "  --count N        stop after N snapshots\n"
    "  -v, --verbose    also every counter of every agent, and the fleet totals\n"
    "  --json           the whole reply as one JSON object (fleet, problems, agents)\n"
    "  --summary        ask replayd for the light reply (only the counters shown)\n";

/* Redraw in place: home, each line cleared to its end, rest cleared. */
static void
draw_in_place(FILE *out, const char *buf, size_t len)
{
    fputs("\033[H", out);
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\n')
            fputs("\033[K", out);
        fputc(buf[i], out);
    }
    fputs("\033[J", out);
}

static void
on_sigint(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void
sleep_ms(unsigned ms)
{
    /* Sleep in slices so Ctrl-C ends the watch promptly. */
    while (ms > 0 && !stop_flag) {
        unsigned step = ms < 100 ? ms : 100;
        struct timespec ts = { 0, (long)step * 1000000L };
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

typedef struct {
    int    json, watch, verbose, summary;
    double interval;   /* seconds between snapshots */
    long   count;      /* snapshots; -1: until Ctrl-C */
} status_args_t;

/* -1: go on; otherwise the exit code (help shown, or a usage error). */
static int
parse_args(status_args_t *a, int argc, char **argv)
{
    *a = (status_args_t){ .interval = 1.0, .count = -1 };
    for (int i = 1; i < argc; i++) {
        if (ctl_is_help(argv[i])) {
            ctl_help(stdout, usage_line, help_text);
            return CTL_OK;
        } else if (strcmp(argv[i], "--json") == 0)
            a->json = 1;
        else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0)
            a->verbose = 1;
        else if (strcmp(argv[i], "--summary") == 0)
            a->summary = 1;
        else if (strcmp(argv[i], "--watch") == 0 || strcmp(argv[i], "-w") == 0) {
            a->watch = 1;
            if (i + 1 < argc && argv[i + 1][0] >= '0' && argv[i + 1][0] <= '9') {
                char *end;
                a->interval = strtod(argv[++i], &end);
                if (*end != '\0' || a->interval < 0.1 || a->interval > 3600) {
                    fprintf(stderr, "replayctl status: --watch takes 0.1..3600 seconds\n");
                    return CTL_EUSAGE;
                }
            }
        } else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            char *end;
            a->count = strtol(argv[++i], &end, 10);
            if (*end != '\0' || a->count < 1) {
                fprintf(stderr, "replayctl status: --count takes a positive number\n");
                return CTL_EUSAGE;
            }
        } else {
            fprintf(stderr, "replayctl status: unexpected \"%s\"\nusage: replayctl %s\n",
                    argv[i], usage_line);
            return CTL_EUSAGE;
        }
    }
    if (!a->watch && a->count < 0)
        a->count = 1;
    return -1;
}

/* One snapshot: JSON, redrawn in place (watching a terminal), or the table. */
static void
show(const status_args_t *a, const Rfpb__StatusReply *r, int tty)
{
    if (a->json) {
        ctl_render_status_json(stdout, r);
    } else if (a->watch && tty) {
        char *buf = NULL;
        size_t len = 0;
        FILE *mf = open_memstream(&buf, &len);
        if (mf != NULL) {
            ctl_render_status_table(mf, r, a->verbose);
            fclose(mf);
            draw_in_place(stdout, buf, len);
        }
        free(buf);
    } else {
        ctl_render_status_table(stdout, r, a->verbose);
    }
    if (a->watch && !tty && !a->json)
        fputs("\n", stdout);
    fflush(stdout);
}

int
ctl_status_run(const ctl_opts_t *o, int argc, char **argv)
{
    status_args_t a;
    int r = parse_args(&a, argc, argv);
    if (r >= 0)
        return r;
    int tty = isatty(STDOUT_FILENO);
    if (a.watch)
        signal(SIGINT, on_sigint);
    Rfpb__StatusRequest sr = RFPB__STATUS_REQUEST__INIT;
    sr.summary = a.summary || (!a.json && !a.verbose);
    Rfpb__Envelope env = RFPB__ENVELOPE__INIT;
    env.msg_case = RFPB__ENVELOPE__MSG_STATUS;
    env.status = &sr;
    ctl_client_t *c = NULL;
    int last = CTL_OK;
    for (long n = 0; !stop_flag && (a.count < 0 || n < a.count); n++) {
        if (n > 0)
            sleep_ms((unsigned)(a.interval * 1000));
        if (stop_flag)
            break;
        Rfpb__Envelope *reply = NULL;
        r = c ? CTL_OK : ctl_connect(&c, o);
        if (r == CTL_OK)
            r = ctl_call(c, &env, RFPB__ENVELOPE__MSG_STATUS_REPLY, &reply);
        if (r != CTL_OK) {
            ctl_close(c);
            c = NULL;
            last = r;
            if (!a.watch || r == CTL_EAUTH)
                return r;
            continue;   /* replayd restarting: try again next round */
        }
        last = CTL_OK;
        show(&a, reply->status_reply, tty);
        rf_env_free(reply);
    }
    ctl_close(c);
    return last;
}
