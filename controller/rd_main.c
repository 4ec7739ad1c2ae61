/* rd_main.c -- replayd: options, logging, state dir, loop, signals,
 * orderly shutdown. Wiring only; the work is in rd_server / rd_admin. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <uv.h>

#include "rd_server.h"
#include "rd_state.h"
#include "rf_cidr.h"
#include "rf_auth.h"
#include "rf_conf.h"
#include "rf_conn.h"
#include "rf_parse.h"
#include "rf_log.h"
#include "rf_priv.h"
#include "rf_target.h"
#include <unistd.h>
#include "rf_sd.h"
#include "rf_version.h"

static void
usage(FILE *fp)
{
    fprintf(fp,
            "usage: replayd --state-dir DIR [options]\n"
            "  -l, --listen ADDR[:PORT]     listen address (default 127.0.0.1:%d)\n"
            "  -d, --state-dir DIR          where state.json lives (created if missing)\n"
            "      --fleet-key-file F       fleet master key (replayctl keys new-fleet): every\n"
            "                               peer then speaks TLS 1.3 with its own derived key\n"
            "      --insecure               no key: accept plain non-loopback peers (WARN)\n"
            "      --metrics-insecure       allow --metrics on a non-loopback address (the page\n"
            "                               has no authentication)\n"
            "      --user NAME              switch to NAME after binding; all capabilities dropped\n"
            "      --allowed-targets CIDRS  plans may only replay towards these prefixes\n"
            "                               (comma-separated; loopback, multicast, 0/8 and\n"
            "                               240/4 are refused whatever the list)\n"
            "      --heartbeat-timeout S    agent shown down after S silent seconds (default 5)\n"
            "      --metrics ADDR[:PORT]    serve GET /metrics (Prometheus text) on ADDR:PORT\n"
            "      --config FILE            options as \"name = value\" lines (command line wins)\n"
            "      --check-config           validate flags + file, print them, exit 0 or 2\n"
            "                               (default port %d)\n"
            "      --log-level L            error, warn, info (default), debug\n"
            "      --log-file F             log to F instead of stderr\n"
            "  -h, --help                   this text\n"
            "  -V, --version                print the version\n"
            "exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error\n"
            "Without --fleet-key-file and without --insecure, a non-loopback --listen is\n"
            "refused; --metrics off loopback needs --metrics-insecure.\n",
            RF_PORT_CONTROL, RD_METRICS_PORT_DEFAULT);
}

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

int
main(int argc, char **argv)
{
    enum { O_AGENT_KEY = 256, O_ADMIN_KEY, O_INSECURE, O_HB, O_LOGLEVEL, O_LOGFILE, O_METRICS,
           O_CONFIG, O_CHECK, O_FLEET_KEY, O_METRICS_INSECURE, O_USER, O_ALLOWED };
    static const struct option opts[] = {
        { "listen", required_argument, NULL, 'l' },
        { "state-dir", required_argument, NULL, 'd' },
        { "agent-key-file", required_argument, NULL, O_AGENT_KEY },
        { "admin-key-file", required_argument, NULL, O_ADMIN_KEY },
        { "insecure", no_argument, NULL, O_INSECURE },
        { "fleet-key-file", required_argument, NULL, O_FLEET_KEY },
        { "metrics-insecure", no_argument, NULL, O_METRICS_INSECURE },
        { "user", required_argument, NULL, O_USER },
        { "allowed-targets", required_argument, NULL, O_ALLOWED },
        { "heartbeat-timeout", required_argument, NULL, O_HB },
        { "log-level", required_argument, NULL, O_LOGLEVEL },
        { "log-file", required_argument, NULL, O_LOGFILE },
        { "metrics", required_argument, NULL, O_METRICS },
        { "config", required_argument, NULL, O_CONFIG },
        { "check-config", no_argument, NULL, O_CHECK },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    rd_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.listen_host, sizeof(cfg.listen_host), "127.0.0.1");
    cfg.listen_port = RF_PORT_CONTROL;
    cfg.heartbeat_timeout_ms = 5000;
    const char *listen = NULL, *fleet_key = NULL, *metrics = NULL, *user = NULL;
    int metrics_insecure = 0;
    const char *allowed = NULL;
    rf_log_init("replayd", "replayd");
    /* --config FILE: "long-option = value" lines merged before the command
     * line (which wins). The merged argv lives as long as the process:
     * optarg pointers into it are kept in cfg. */
    static rf_conf_args_t merged;
    const char *conf = rf_conf_find(argc, argv);
    if (conf != NULL) {
        rf_errbuf_t cerr;
        if (rf_conf_load(&merged, conf, argc, argv, &cerr) != 0) {
            fprintf(stderr, "replayd: %s\n", cerr.msg);
            return 2;
        }
        argc = merged.argc;
        argv = merged.argv;
    }
    int check_only = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "l:d:hV", opts, NULL)) != -1) {
        switch (ch) {
        case 'l': listen = optarg; break;
        case 'd': cfg.state_dir = optarg; break;
        case O_AGENT_KEY:
        case O_ADMIN_KEY:
            fprintf(stderr, "replayd: --%s-key-file is gone (v1 shared keys): give replayd "
                            "--fleet-key-file and each agent/replayctl its own derived key "
                            "(replayctl keys new-fleet / keys derive; docs/SECURITY.md)\n",
                    ch == O_AGENT_KEY ? "agent" : "admin");
            return 2;
        case O_FLEET_KEY: fleet_key = optarg; break;
        case O_METRICS_INSECURE: metrics_insecure = 1; break;
        case O_USER: user = optarg; break;
        case O_ALLOWED: {
            rf_errbuf_t terr;
            if (rf_target_set_allowed(optarg, &terr) != 0) {
                fprintf(stderr, "replayd: %s\n", terr.msg);
                return 2;
            }
            allowed = optarg;
            break;
        }
        case O_INSECURE: cfg.insecure = 1; break;
        case O_METRICS: metrics = optarg; break;
        case O_CONFIG: break;   /* merged above */
        case O_CHECK: check_only = 1; break;
        case O_HB: {
            char *end;
            double v = strtod(optarg, &end);
            if (*end != '\0' || v < 0.1 || v > 3600) {
                fprintf(stderr, "replayd: --heartbeat-timeout: \"%s\" is not 0.1..3600 s\n",
                        optarg);
                return 2;
            }
            cfg.heartbeat_timeout_ms = (uint64_t)(v * 1000);
            break;
        }
        case O_LOGLEVEL:
            if (rf_log_set_level_name(optarg) < 0) {
                fprintf(stderr, "replayd: --log-level: \"%s\" is not error|warn|info|debug\n",
                        optarg);
                return 2;
            }
            break;
        case O_LOGFILE:
            if (rf_log_set_file(optarg) != 0) {
                fprintf(stderr, "replayd: --log-file %s: %s\n", optarg, strerror(errno));
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("replayd %s\n", RF_VERSION_LONG); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc || cfg.state_dir == NULL) {
        fprintf(stderr, "replayd: %s\n",
                cfg.state_dir ? "unexpected argument" : "--state-dir is required");
        usage(stderr);
        return 2;
    }
    if (listen && rf_parse_hostport(listen, cfg.listen_host, sizeof(cfg.listen_host),
                                    &cfg.listen_port, RF_PORT_CONTROL) != 0) {
        fprintf(stderr, "replayd: --listen: \"%s\" is not IPv4ADDR[:PORT]\n", listen);
        return 2;
    }
    if (metrics && rf_parse_hostport(metrics, cfg.metrics_host, sizeof(cfg.metrics_host),
                                     &cfg.metrics_port, RD_METRICS_PORT_DEFAULT) != 0) {
        fprintf(stderr, "replayd: --metrics: \"%s\" is not IPv4ADDR[:PORT]\n", metrics);
        return 2;
    }
    if (rf_auth_init() != 0) {
        fprintf(stderr, "replayd: libsodium initialisation failed\n");
        return 1;
    }
    int r;
    char why[200];
    if (fleet_key && (r = rf_auth_key_load_err(&cfg.fleet_key, fleet_key, why, sizeof(why))) != 0) {
        fprintf(stderr, "replayd: --fleet-key-file %s: %s\n", fleet_key, why);
        return 2;
    }
    if (cfg.fleet_key.len > 0 && cfg.insecure) {
        fprintf(stderr, "replayd: --insecure and --fleet-key-file exclude each other (with a "
                        "fleet key every peer must use TLS)\n");
        return 2;
    }
    /* Never widen a bind implicitly: a plain listener, and the metrics page
     * (no authentication), stay on loopback unless asked otherwise. */
    uint32_t lip = 0, mip = 0;
    (void)rf_ipv4_parse(&lip, cfg.listen_host);
    if (cfg.fleet_key.len == 0 && !cfg.insecure && (lip >> 24) != 127) {
        rf_log_warn("no fleet key: binding 127.0.0.1 instead of %s (use --fleet-key-file or "
                    "--insecure)",
                    cfg.listen_host);
        snprintf(cfg.listen_host, sizeof(cfg.listen_host), "127.0.0.1");
    }
    (void)rf_ipv4_parse(&mip, cfg.metrics_host);
    if (cfg.metrics_host[0] && (mip >> 24) != 127 && !metrics_insecure) {
        rf_log_warn("the metrics page has no authentication: metrics bind 127.0.0.1 instead of "
                    "%s (add --metrics-insecure to serve it there)",
                    cfg.metrics_host);
        snprintf(cfg.metrics_host, sizeof(cfg.metrics_host), "127.0.0.1");
        mip = 0x7f000001;
    }
    if (check_only) {
        printf("listen          %s:%u\nstate-dir       %s\nheartbeat       %.1f s\n"
               "fleet key       %s\ninsecure        %s\nallowed targets %s\n"
               "metrics         %s%s%.0u\n"
               "configuration OK\n",
               cfg.listen_host, cfg.listen_port, cfg.state_dir,
               (double)cfg.heartbeat_timeout_ms / 1000.0,
               cfg.fleet_key.len ? "set (TLS 1.3 PSK)" : "none (plain)",
               cfg.insecure ? "yes" : "no", allowed ? allowed : "any unicast",
               cfg.metrics_host[0] ? cfg.metrics_host : "off",
               cfg.metrics_host[0] ? ":" : "", cfg.metrics_host[0] ? cfg.metrics_port : 0);
        return 0;
    }
    if (mkdir(cfg.state_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "replayd: --state-dir %s: %s\n", cfg.state_dir, strerror(errno));
        return 1;
    }
    if (user == NULL) {
        rf_errbuf_t serr;
        if (rd_state_dir_check(cfg.state_dir, &serr) != 0) {
            fprintf(stderr, "replayd: %s\n", serr.msg);
            return 1;
        }
    }
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
    r = rd_server_start(&server, loop, &cfg, &err);
    if (r != 0) {
        rf_log_error("%s", err.msg);
        if (server) {
            rd_server_stop(server);
            uv_run(loop, UV_RUN_DEFAULT);
            rd_server_free(server);
        }
        uv_loop_close(loop);
        return 1;
    }
    /* Bound: nothing else needs privilege. */
    if (user != NULL || geteuid() == 0) {
        rf_errbuf_t perr;
        if (rf_priv_drop(user, &perr) != 0) {
            rf_log_error("%s", perr.msg);
            rd_server_stop(server);
            uv_run(loop, UV_RUN_DEFAULT);
            rd_server_free(server);
            return 1;
        }
        if (user != NULL && rd_state_dir_check(cfg.state_dir, &perr) != 0) {
            rf_log_error("%s", perr.msg);
            rd_server_stop(server);
            uv_run(loop, UV_RUN_DEFAULT);
            rd_server_free(server);
            return 1;
        }
    }
    if (geteuid() == 0)
        rf_log_warn("running as root (capabilities dropped); use --user to run unprivileged");
    if (cfg.insecure)
        rf_log_warn("INSECURE: --insecure: plain, unauthenticated connections accepted from "
                    "any address on %s:%u", cfg.listen_host, cfg.listen_port);
    if (cfg.metrics_host[0] && metrics_insecure && (mip >> 24) != 127)
        rf_log_warn("INSECURE: --metrics-insecure: unauthenticated metrics on %s:%u",
                    cfg.metrics_host, cfg.metrics_port);
    uv_signal_init(loop, &sig_int);
    uv_signal_init(loop, &sig_term);
    uv_signal_start(&sig_int, on_signal, SIGINT);
    uv_signal_start(&sig_term, on_signal, SIGTERM);
    rf_log_info("listening on %s:%u, state in %s, %s", cfg.listen_host, cfg.listen_port,
                cfg.state_dir,
                cfg.fleet_key.len ? "TLS 1.3 with per-agent keys (fleet key set)"
                : cfg.insecure    ? "plain, INSECURE"
                                  : "plain, loopback peers only");
    rf_sd_ready();
    uv_run(loop, UV_RUN_DEFAULT);
    rd_server_free(server);
    uv_loop_close(loop);
    rf_log_info("stopped");
    return 0;
}
