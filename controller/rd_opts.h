/* rd_opts.h -- replayd's command line -> rd_opts_t (what replayd runs
 * with, rd_config.h, and what main does with it), the bind policy, and
 * the --check-config text.
 *
 * No I/O: key and log files are named here and opened by rd_main. Two
 * process-wide settings are applied as they are read, so a bad value is
 * reported at its place on the line: --allowed-targets (rf_target) and
 * --log-level (rf_log). getopt_long prints its own message for an unknown
 * option or a missing value. --config is merged into argv before
 * (rf_conf), by the caller. */
#ifndef RD_OPTS_H
#define RD_OPTS_H

#include <stdio.h>

#include "rd_config.h"
#include "rf_err.h"

typedef struct {
    rd_config_t cfg;              /* fleet_key still empty: see fleet_key_file */
    const char *fleet_key_file;   /* NULL: none */
    const char *user;             /* --user: drop to it after binding */
    const char *allowed;          /* --allowed-targets as written; NULL: any unicast */
    const char *log_file;         /* NULL: stderr */
    int         metrics_insecure;
    int         check_only;       /* --check-config */
} rd_opts_t;

enum {
    RD_OPTS_RUN = 0,       /* *o is complete */
    RD_OPTS_HELP = 1,      /* -h: usage on stdout, exit 0 */
    RD_OPTS_VERSION = 2,   /* -V */
    RD_OPTS_BAD = -1,      /* err says why; exit 2 */
    RD_OPTS_USAGE = -2,    /* err says why (may be ""); show the usage too; exit 2 */
};

/* argv after --config merging. optind is reset: callable more than once. */
int rd_opts_parse(rd_opts_t *o, int argc, char **argv, rf_errbuf_t *err);

void rd_opts_usage(FILE *fp);

/* Never widen a bind implicitly: without a fleet key and without
 * --insecure the listener, and without --metrics-insecure the metrics page
 * (no authentication), stay on loopback. Hosts moved to 127.0.0.1 are
 * reported in the returned bits, their old value in *_was (for the log). */
enum { RD_NARROWED_LISTEN = 1, RD_NARROWED_METRICS = 2 };
int rd_opts_narrow(rd_opts_t *o, char listen_was[64], char metrics_was[64]);

/* 1 if host is a numeric 127/8 address. */
int rd_opts_loopback(const char *host);

/* The --check-config report (after the key is loaded). */
void rd_opts_print(FILE *fp, const rd_opts_t *o);

#endif
