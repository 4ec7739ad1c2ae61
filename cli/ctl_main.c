/* ctl_main.c -- replayctl: global options, the subcommand table, stable
 * exit codes (ctl.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "rf_auth.h"
#include "rf_parse.h"
#include "rf_err.h"
#include "rf_version.h"

typedef struct {
    const char *name, *usage;
    int (*run)(const ctl_opts_t *o, int argc, char **argv);
} ctl_cmd_t;

static const ctl_cmd_t cmds[] = {
    { "apply", "apply plan.json [--dry-run] [--json]   validate, list every error or the diff, apply",
      ctl_apply_run },
    { "status", "status [--watch [S]] [-v] [--json]     fidelity, rates, agents, problems",
      ctl_status_run },
    { "agents", "agents [--json]                        registered agents", ctl_agents_run },
    { "plan", "plan                                   the plan in force (JSON)", ctl_plan_run },
    { "routes", "routes [--json]                        ip route lines the targets need",
      ctl_routes_run },
    { "doctor", "doctor [--timeout MS] [--json]         canary per rule: where does replay break?",
      ctl_doctor_run },
    { "pause", "pause                                  hold the plan's stress schedule at its step",
      ctl_pause_run },
    { "resume", "resume                                 run the stress schedule on", ctl_resume_run },
    { "keys", "keys new-fleet --out F | keys derive --fleet-key-file F --role R --id ID --out F",
      ctl_keys_run },
};

static void
usage(FILE *fp)
{
    fprintf(fp, "usage: replayctl [-c HOST:PORT] [--key-file F] [--timeout S] CMD ...\n"
                "  -c, --controller HOST:PORT  replayd address (default 127.0.0.1:%d,\n"
                "                              or $REPLAYCTL_CONTROLLER)\n"
                "  --key-file F                admin key (or $REPLAYCTL_KEY_FILE): TLS 1.3\n"
                "  --id ID                     admin identity of that key (default \"admin\")\n"
                "  --timeout S                 per-request deadline (default %d)\n"
                "  -V, --version               print the version\n"
                "commands:\n",
            RF_PORT_CONTROL, CTL_TIMEOUT_MS / 1000);
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        fprintf(fp, "  %s\n", cmds[i].usage);
    fprintf(fp, "replayctl CMD --help explains each command.\n"
                "exit codes: 0 ok, 1 failure, 2 usage, 3 plan rejected, 4 controller "
                "unreachable, 5 auth refused\n");
}

int
main(int argc, char **argv)
{
    ctl_opts_t o;
    memset(&o, 0, sizeof(o));
    o.timeout_ms = CTL_TIMEOUT_MS;
    snprintf(o.id, sizeof(o.id), "admin");
    const char *ctrl = getenv("REPLAYCTL_CONTROLLER"), *keyf = getenv("REPLAYCTL_KEY_FILE");
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "-c") == 0 || strcmp(a, "--controller") == 0) && i + 1 < argc)
            ctrl = argv[++i];
        else if (strcmp(a, "--key-file") == 0 && i + 1 < argc)
            keyf = argv[++i];
        else if (strcmp(a, "--id") == 0 && i + 1 < argc)
            snprintf(o.id, sizeof(o.id), "%s", argv[++i]);
        else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) {
            double s;
            if (rf_parse_double(&s, argv[++i], 0.1, 3600) != 0) {
                fprintf(stderr, "replayctl: --timeout takes 0.1..3600 seconds\n");
                return CTL_EUSAGE;
            }
            o.timeout_ms = (unsigned)(s * 1000);
        } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            printf("replayctl %s\n", RF_VERSION_LONG);
            return CTL_OK;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return CTL_OK;
        } else {
            fprintf(stderr, "replayctl: unknown option \"%s\"\n", a);
            usage(stderr);
            return CTL_EUSAGE;
        }
    }
    if (i == argc) {
        usage(stderr);
        return CTL_EUSAGE;
    }
    snprintf(o.host, sizeof(o.host), "127.0.0.1");
    o.port = RF_PORT_CONTROL;
    if (ctrl && rf_parse_hostport(ctrl, o.host, sizeof(o.host), &o.port, RF_PORT_CONTROL) != 0) {
        fprintf(stderr, "replayctl: controller \"%s\" is not IPv4ADDR[:PORT]\n", ctrl);
        return CTL_EUSAGE;
    }
    if (rf_auth_init() != 0) {
        fprintf(stderr, "replayctl: libsodium initialisation failed\n");
        return CTL_EFAIL;
    }
    if (strcmp(argv[i], "keys") == 0)   /* offline: no controller, no key */
        return ctl_keys_run(&o, argc - i, argv + i);
    if (keyf && keyf[0]) {
        char why[200];
        if (rf_auth_key_load_err(&o.key, keyf, why, sizeof(why)) != 0) {
            fprintf(stderr, "replayctl: key file %s: %s\n", keyf, why);
            return CTL_EUSAGE;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++)
        if (strcmp(argv[i], cmds[k].name) == 0)
            return cmds[k].run(&o, argc - i, argv + i);
    fprintf(stderr, "replayctl: unknown command \"%s\"\n", argv[i]);
    usage(stderr);
    return CTL_EUSAGE;
}
