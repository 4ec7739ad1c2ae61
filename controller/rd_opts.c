/* rd_opts.c -- replayd's options: parsing, bind policy, --check-config. */
#include "rd_opts.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "rf_log.h"
#include "rf_parse.h"
#include "rf_ports.h"
#include "rf_target.h"

void
rd_opts_usage(FILE *fp)
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

enum { O_AGENT_KEY = 256, O_ADMIN_KEY, O_INSECURE, O_HB, O_LOGLEVEL, O_LOGFILE, O_METRICS,
       O_CONFIG, O_CHECK, O_FLEET_KEY, O_METRICS_INSECURE, O_USER, O_ALLOWED };

static const struct option longopts[] = {
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

/* One option with a value. 0, or RD_OPTS_BAD with err set. */
static int
take(rd_opts_t *o, int ch, const char *arg, rf_errbuf_t *err)
{
    switch (ch) {
    case O_AGENT_KEY:
    case O_ADMIN_KEY:
        return rf_err_set(err, RD_OPTS_BAD,
                          "--%s-key-file is gone (v1 shared keys): give replayd "
                          "--fleet-key-file and each agent/replayctl its own derived key "
                          "(replayctl keys new-fleet / keys derive; docs/SECURITY.md)",
                          ch == O_AGENT_KEY ? "agent" : "admin");
    case O_ALLOWED: {
        rf_errbuf_t terr;
        if (rf_target_set_allowed(arg, &terr) != 0)
            return rf_err_set(err, RD_OPTS_BAD, "%s", terr.msg);
        o->allowed = arg;
        return 0;
    }
    case O_HB: {
        double v;
        if (rf_parse_double(&v, arg, 0.1, 3600) != 0)
            return rf_err_set(err, RD_OPTS_BAD, "--heartbeat-timeout: \"%s\" is not 0.1..3600 s",
                              arg);
        o->cfg.heartbeat_timeout_ms = (uint64_t)(v * 1000);
        return 0;
    }
    case O_LOGLEVEL:
        if (rf_log_set_level_name(arg) < 0)
            return rf_err_set(err, RD_OPTS_BAD, "--log-level: \"%s\" is not error|warn|info|debug",
                              arg);
        return 0;
    default: return 0;
    }
}

/* The two addresses, once every option is read. */
static int
addresses(rd_opts_t *o, const char *listen, const char *metrics, rf_errbuf_t *err)
{
    rd_config_t *c = &o->cfg;
    if (listen && rf_parse_hostport(listen, c->listen_host, sizeof(c->listen_host),
                                    &c->listen_port, RF_PORT_CONTROL) != 0)
        return rf_err_set(err, RD_OPTS_BAD, "--listen: \"%s\" is not IPv4ADDR[:PORT]", listen);
    if (metrics && rf_parse_hostport(metrics, c->metrics_host, sizeof(c->metrics_host),
                                     &c->metrics_port, RD_METRICS_PORT_DEFAULT) != 0)
        return rf_err_set(err, RD_OPTS_BAD, "--metrics: \"%s\" is not IPv4ADDR[:PORT]", metrics);
    return RD_OPTS_RUN;
}

int
rd_opts_parse(rd_opts_t *o, int argc, char **argv, rf_errbuf_t *err)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->cfg.listen_host, sizeof(o->cfg.listen_host), "127.0.0.1");
    o->cfg.listen_port = RF_PORT_CONTROL;
    o->cfg.heartbeat_timeout_ms = 5000;
    err->msg[0] = '\0';
    const char *listen = NULL, *metrics = NULL;
    int ch;
    optind = 0;   /* glibc: start over (tests parse many command lines) */
    while ((ch = getopt_long(argc, argv, "l:d:hV", longopts, NULL)) != -1) {
        switch (ch) {
        case 'l': listen = optarg; break;
        case 'd': o->cfg.state_dir = optarg; break;
        case O_FLEET_KEY: o->fleet_key_file = optarg; break;
        case O_METRICS_INSECURE: o->metrics_insecure = 1; break;
        case O_USER: o->user = optarg; break;
        case O_INSECURE: o->cfg.insecure = 1; break;
        case O_METRICS: metrics = optarg; break;
        case O_LOGFILE: o->log_file = optarg; break;
        case O_CONFIG: break;   /* merged by the caller */
        case O_CHECK: o->check_only = 1; break;
        case 'h': return RD_OPTS_HELP;
        case 'V': return RD_OPTS_VERSION;
        case O_AGENT_KEY:
        case O_ADMIN_KEY:
        case O_ALLOWED:
        case O_HB:
        case O_LOGLEVEL:
            if (take(o, ch, optarg, err) != 0)
                return RD_OPTS_BAD;
            break;
        default: return RD_OPTS_USAGE;   /* getopt_long said why */
        }
    }
    if (optind != argc || o->cfg.state_dir == NULL)
        return rf_err_set(err, RD_OPTS_USAGE, "%s",
                          o->cfg.state_dir ? "unexpected argument" : "--state-dir is required");
    return addresses(o, listen, metrics, err);
}

int
rd_opts_loopback(const char *host)
{
    uint32_t ip = 0;
    (void)rf_ipv4_parse(&ip, host);
    return (ip >> 24) == 127;
}

int
rd_opts_narrow(rd_opts_t *o, char listen_was[64], char metrics_was[64])
{
    rd_config_t *c = &o->cfg;
    int r = 0;
    if (c->fleet_key.len == 0 && !c->insecure && !rd_opts_loopback(c->listen_host)) {
        snprintf(listen_was, 64, "%s", c->listen_host);
        snprintf(c->listen_host, sizeof(c->listen_host), "127.0.0.1");
        r |= RD_NARROWED_LISTEN;
    }
    if (c->metrics_host[0] && !rd_opts_loopback(c->metrics_host) && !o->metrics_insecure) {
        snprintf(metrics_was, 64, "%s", c->metrics_host);
        snprintf(c->metrics_host, sizeof(c->metrics_host), "127.0.0.1");
        r |= RD_NARROWED_METRICS;
    }
    return r;
}

void
rd_opts_print(FILE *fp, const rd_opts_t *o)
{
    const rd_config_t *c = &o->cfg;
    fprintf(fp,
            "listen          %s:%u\nstate-dir       %s\nheartbeat       %.1f s\n"
            "fleet key       %s\ninsecure        %s\nallowed targets %s\n"
            "metrics         %s%s%.0u\n"
            "configuration OK\n",
            c->listen_host, c->listen_port, c->state_dir,
            (double)c->heartbeat_timeout_ms / 1000.0,
            c->fleet_key.len ? "set (TLS 1.3 PSK)" : "none (plain)", c->insecure ? "yes" : "no",
            o->allowed ? o->allowed : "any unicast", c->metrics_host[0] ? c->metrics_host : "off",
            c->metrics_host[0] ? ":" : "", c->metrics_host[0] ? c->metrics_port : 0);
}
