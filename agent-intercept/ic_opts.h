/* ic_opts.h -- replay-intercept's command line (docs/CLI.md) into an
 * ic_config_t, defaults applied, cross-checked; the effective capture filter.
 * Pure apart from getopt's globals and gethostname() for the default id.
 * Does not load files: --config is merged into argv by rf_conf beforehand,
 * the key file is read by ic_main. */
#ifndef IC_OPTS_H
#define IC_OPTS_H

#include <stdint.h>
#include <stdio.h>

#include "rf_cidr.h"
#include "rf_err.h"

#define IC_FILTER_MAX        1024
/* Kernel block timeout of the response capture. 0 (immediate mode): each
 * response goes out as it arrives, as a serial client's replay needs (its
 * next request waits on it). N ms batches them: one wake-up per batch on
 * the assistant, but every round trip of a replayed connection gets up to
 * N ms longer (docs/BENCH.md: keep-alive, 2 connections closed loop,
 * replayed 1.0000 at 0, 0.18 at 1 ms, 0.11 at 2 ms). replay-copy
 * --lazy-responses coalesces on the agent's side instead, only while no
 * segment waits on a response (cp_loop.c: icpt_read_pace). */
#define IC_CAPTURE_LATENCY_MS 0

typedef struct {
    char     iface[64];            /* -i; "any" by default */
    char     filter[IC_FILTER_MAX];/* -F; "tcp" by default */
    int      filter_set;
    uint16_t port;                 /* -p */
    char     bind[64];             /* -b; default depends on key/--insecure */
    int      bind_set;
    int      fleet;                /* --controller given */
    char     ctl_host[64];
    uint16_t ctl_port;
    char     id[128];              /* default: hostname */
    char     advertise[64];
    char     key_file[512];
    int      insecure;
    char     user[64];             /* --user: run as this user once sockets are open */
    char     stats_json[512];      /* "" none, "-" stdout */
    unsigned stats_interval_s;
    unsigned capture_latency_ms;   /* kernel block timeout; 0 = immediate mode */
    char     log_level[16];
    char     log_file[512];
    unsigned duration_s;           /* 0 = run until signalled */
    int      check_config, help, version;
} ic_config_t;

/* Parse argv (argv[0] is the program). RF_EPARSE with err naming the flag.
 * Then ic_opts_finalize: defaults that depend on other flags, and checks
 * across flags. */
int  ic_opts_parse(ic_config_t *out, int argc, char **argv, rf_errbuf_t *err);
int  ic_opts_finalize(ic_config_t *cfg, rf_errbuf_t *err);

/* The filter handed to libpcap: the user's (or "tcp"), narrowed to `block`
 * when given and no -F was set (fleet mode), and always excluding our own
 * channels (listen port, controller port) so the intercept never captures
 * its own traffic (on loopback that would feed back). RF_ERANGE if it does
 * not fit in len. */
int  ic_opts_filter(const ic_config_t *cfg, const rf_cidr_t *block, char *buf, size_t len);

/* Effective configuration in config-file syntax (for --check-config). */
void ic_opts_print(FILE *fp, const ic_config_t *cfg);
void ic_opts_usage(FILE *fp);

#endif
