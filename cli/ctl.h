/* ctl.h -- replayctl's shared vocabulary: stable exit codes (docs/ERRORS.md,
 * never renumbered), global options, and one entry point per subcommand
 * (ctl_<name>.c). */
#ifndef CTL_H
#define CTL_H

#include <stdint.h>

#include "rf_auth.h"
#include "rf_ports.h"

enum {
    CTL_OK = 0,
    CTL_EFAIL = 1,         /* anything else went wrong */
    CTL_EUSAGE = 2,        /* bad command line */
    CTL_EREJECTED = 3,     /* plan rejected (the plan in force stays) */
    CTL_EUNREACHABLE = 4,  /* no answer from replayd */
    CTL_EAUTH = 5,         /* replayd refused our key */
};

#define CTL_TIMEOUT_MS   10000

typedef struct {
    char          host[64];
    uint16_t      port;
    rf_auth_key_t key;
    char          id[64];          /* TLS identity admin/ID (--id, default "admin") */
    unsigned      timeout_ms;
} ctl_opts_t;

/* argv[0] is the subcommand name. Return an exit code. */
int ctl_apply_run(const ctl_opts_t *o, int argc, char **argv);
int ctl_status_run(const ctl_opts_t *o, int argc, char **argv);
int ctl_agents_run(const ctl_opts_t *o, int argc, char **argv);
int ctl_plan_run(const ctl_opts_t *o, int argc, char **argv);
int ctl_routes_run(const ctl_opts_t *o, int argc, char **argv);
int ctl_doctor_run(const ctl_opts_t *o, int argc, char **argv);
int ctl_pause_run(const ctl_opts_t *o, int argc, char **argv);    /* ctl_schedule.c */
int ctl_resume_run(const ctl_opts_t *o, int argc, char **argv);
int ctl_keys_run(const ctl_opts_t *o, int argc, char **argv);   /* offline */

#endif
