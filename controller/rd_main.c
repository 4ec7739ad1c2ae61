/* rd_main.c -- replayd: options (rd_opts), logging, state dir, loop,
 * signals, orderly shutdown. Wiring only; the work is in rd_server /
 * rd_admin. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "rd_opts.h"
#include "rd_server.h"
#include "rd_state.h"
#include "rf_auth.h"
#include "rf_conf.h"
#include "rf_log.h"
#include "rf_priv.h"
#include "rf_sd.h"
#include "rf_version.h"

static uv_signal_t sig_int, sig_term;
static rd_server_t *server;

static void
on_signal(uv_signal_t *h, int signum)
{
    rf_log_info("%s: shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
    rf_sd_stopping();
    rd_server_stop(server);
    uv_close((uv_handle_t *)&sig_int, NULL);
    uv_close((uv_handle_t *)&sig_term, NULL);
    (void)h;
}

/* One fd per agent: lift the soft limit to the hard one (best effort). */
static void
raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* --config FILE, options, log file, fleet key, bind policy, and
 * --check-config's report. -1 to go on; otherwise the exit code. */
static int
configure(rd_opts_t *o, int argc, char **argv)
{
    /* "long-option = value" lines merged before the command line (which
     * wins). The merged argv lives as long as the process: optarg
     * pointers into it are kept in *o. */
    static rf_conf_args_t merged;
    rf_errbuf_t err;
    const char *conf = rf_conf_find(argc, argv);
    if (conf != NULL) {
        if (rf_conf_load(&merged, conf, argc, argv, &err) != 0) {
            fprintf(stderr, "replayd: %s\n", err.msg);
            return 2;
        }
        argc = merged.argc;
        argv = merged.argv;
    }
    switch (rd_opts_parse(o, argc, argv, &err)) {
    case RD_OPTS_HELP: rd_opts_usage(stdout); return 0;
    case RD_OPTS_VERSION: printf("replayd %s\n", RF_VERSION_LONG); return 0;
    case RD_OPTS_BAD: fprintf(stderr, "replayd: %s\n", err.msg); return 2;
    case RD_OPTS_USAGE:
        if (err.msg[0])
            fprintf(stderr, "replayd: %s\n", err.msg);
        rd_opts_usage(stderr);
        return 2;
    default: break;
    }
    if (o->log_file && rf_log_set_file(o->log_file) != 0) {
        fprintf(stderr, "replayd: --log-file %s: %s\n", o->log_file, strerror(errno));
        return 2;
    }
    if (rf_auth_init() != 0) {
        fprintf(stderr, "replayd: libsodium initialisation failed\n");
        return 1;
    }
    char why[200];
    if (o->fleet_key_file &&
        rf_auth_key_load_err(&o->cfg.fleet_key, o->fleet_key_file, why, sizeof(why)) != 0) {
        fprintf(stderr, "replayd: --fleet-key-file %s: %s\n", o->fleet_key_file, why);
        return 2;
    }
    if (o->cfg.fleet_key.len > 0 && o->cfg.insecure) {
        fprintf(stderr, "replayd: --insecure and --fleet-key-file exclude each other (with a "
                        "fleet key every peer must use TLS)\n");
        return 2;
    }
    char lwas[64], mwas[64];
    int narrowed = rd_opts_narrow(o, lwas, mwas);
    if (narrowed & RD_NARROWED_LISTEN)
        rf_log_warn("no fleet key: binding 127.0.0.1 instead of %s (use --fleet-key-file or "
                    "--insecure)",
                    lwas);
    if (narrowed & RD_NARROWED_METRICS)
        rf_log_warn("the metrics page has no authentication: metrics bind 127.0.0.1 instead of "
                    "%s (add --metrics-insecure to serve it there)",
                    mwas);
    if (o->check_only) {
        rd_opts_print(stdout, o);
        return 0;
    }
    return -1;
}

/* Created if missing; checked now, or after the switch to --user. */
static int
state_dir_ready(const rd_opts_t *o)
{
    if (mkdir(o->cfg.state_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "replayd: --state-dir %s: %s\n", o->cfg.state_dir, strerror(errno));
        return 1;
    }
    rf_errbuf_t err;
    if (o->user == NULL && rd_state_dir_check(o->cfg.state_dir, &err) != 0) {
        fprintf(stderr, "replayd: %s\n", err.msg);
        return 1;
    }
    return 0;
}

/* Bound: nothing else needs privilege. 0, or 1 (logged). */
static int
drop_privileges(const rd_opts_t *o)
{
    if (o->user == NULL && geteuid() != 0)
        return 0;
    rf_errbuf_t err;
    if (rf_priv_drop(o->user, &err) != 0 ||
        (o->user != NULL && rd_state_dir_check(o->cfg.state_dir, &err) != 0)) {
        rf_log_error("%s", err.msg);
        return 1;
    }
    return 0;
}

static void
warn_exposure(const rd_opts_t *o)
{
    const rd_config_t *c = &o->cfg;
    if (geteuid() == 0)
        rf_log_warn("running as root (capabilities dropped); use --user to run unprivileged");
    if (c->insecure)
        rf_log_warn("INSECURE: --insecure: plain, unauthenticated connections accepted from "
                    "any address on %s:%u", c->listen_host, c->listen_port);
    if (c->metrics_host[0] && o->metrics_insecure && !rd_opts_loopback(c->metrics_host))
        rf_log_warn("INSECURE: --metrics-insecure: unauthenticated metrics on %s:%u",
                    c->metrics_host, c->metrics_port);
}

/* Close what rd_server_start opened and let the loop drain. */
static void
server_abort(uv_loop_t *loop)
{
    rd_server_stop(server);
    uv_run(loop, UV_RUN_DEFAULT);
    rd_server_free(server);
}

int
main(int argc, char **argv)
{
    static rd_opts_t o;   /* points into argv (or the merged --config argv) */
    rf_log_init("replayd", "replayd");
    int r = configure(&o, argc, argv);
    if (r >= 0)
        return r;
    if (state_dir_ready(&o) != 0)
        return 1;
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    /* A status reply for a 1,000-agent fleet is ~1 MB built and sent every
     * second or so. Keep those pages mapped between requests instead of
     * mmap/munmap (and fault) per reply: on virtualised hosts page faults
     * dominated the status latency. Peak RSS is unchanged. */
    (void)mallopt(M_MMAP_THRESHOLD, 16 << 20);
    (void)mallopt(M_TRIM_THRESHOLD, 64 << 20);

    uv_loop_t *loop = uv_default_loop();
    rf_errbuf_t err;
    if (rd_server_start(&server, loop, &o.cfg, &err) != 0) {
        rf_log_error("%s", err.msg);
        if (server)
            server_abort(loop);
        uv_loop_close(loop);
        return 1;
    }
    if (drop_privileges(&o) != 0) {
        server_abort(loop);
        return 1;
    }
    warn_exposure(&o);
    uv_signal_init(loop, &sig_int);
    uv_signal_init(loop, &sig_term);
    uv_signal_start(&sig_int, on_signal, SIGINT);
    uv_signal_start(&sig_term, on_signal, SIGTERM);
    rf_log_info("listening on %s:%u, state in %s, %s", o.cfg.listen_host, o.cfg.listen_port,
                o.cfg.state_dir,
                o.cfg.fleet_key.len ? "TLS 1.3 with per-agent keys (fleet key set)"
                : o.cfg.insecure    ? "plain, INSECURE"
                                    : "plain, loopback peers only");
    rf_sd_ready();
    uv_run(loop, UV_RUN_DEFAULT);
    rd_server_free(server);
    uv_loop_close(loop);
    rf_log_info("stopped");
    return 0;
}
