/* ic_opts.c -- getopt_long table and defaults; values through rf_parse. */
#include "ic_opts.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rf_parse.h"
#include "rf_ports.h"

enum {
    OPT_CONTROLLER = 256,
    OPT_ID,
    OPT_ADVERTISE,
    OPT_KEY_FILE,
    OPT_INSECURE,
    OPT_STATS_JSON,
    OPT_STATS_INTERVAL,
    OPT_LOG_LEVEL,
    OPT_LOG_FILE,
    OPT_DURATION,
    OPT_CONFIG,
    OPT_CHECK_CONFIG,
    OPT_USER,
    OPT_CAPLAT,
};

static const struct option long_opts[] = {
    { "interface", required_argument, NULL, 'i' },
    { "filter", required_argument, NULL, 'F' },
    { "port", required_argument, NULL, 'p' },
    { "bind", required_argument, NULL, 'b' },
    { "controller", required_argument, NULL, OPT_CONTROLLER },
    { "id", required_argument, NULL, OPT_ID },
    { "advertise", required_argument, NULL, OPT_ADVERTISE },
    { "key-file", required_argument, NULL, OPT_KEY_FILE },
    { "insecure", no_argument, NULL, OPT_INSECURE },
    { "stats-json", required_argument, NULL, OPT_STATS_JSON },
    { "stats-interval", required_argument, NULL, OPT_STATS_INTERVAL },
    { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
    { "log-file", required_argument, NULL, OPT_LOG_FILE },
    { "duration", required_argument, NULL, OPT_DURATION },
    { "config", required_argument, NULL, OPT_CONFIG },
    { "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
    { "user", required_argument, NULL, OPT_USER },
    { "capture-latency-ms", required_argument, NULL, OPT_CAPLAT },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
};

static const char *
flag_name(int c, char *buf, size_t len)
{
    for (const struct option *o = long_opts; o->name != NULL; o++) {
        if (o->val == c) {
            snprintf(buf, len, "--%s", o->name);
            return buf;
        }
    }
    snprintf(buf, len, "-%c", c);
    return buf;
}

static int
check_ipv4(const char *s, int c, rf_errbuf_t *err)
{
    char fb[32];
    uint32_t ip;
    if (rf_ipv4_parse(&ip, s) != 0)
        return rf_err_set(err, RF_EPARSE, "%s: \"%s\" is not an IPv4 address",
                          flag_name(c, fb, sizeof(fb)), s);
    return 0;
}

/* Every string option is required to be non-empty and to fit. */
#define STR_OPT(dst) rf_flag_str(dst, sizeof(dst), fl, a, RF_STR_NONEMPTY, err)

static void
set_defaults(ic_config_t *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->iface, sizeof(out->iface), "any");
    snprintf(out->filter, sizeof(out->filter), "tcp");
    out->port = RF_PORT_INTERCEPT;
    out->stats_interval_s = 1;
    out->capture_latency_ms = IC_CAPTURE_LATENCY_MS;
    snprintf(out->log_level, sizeof(out->log_level), "info");
}

/* One flag with its value `a` (named `fl` in messages): 0 taken, 1 not a
 * value flag (help, version, errors: the caller's), or the error. */
static int
value_flag(ic_config_t *out, int c, const char *a, const char *fl, rf_errbuf_t *err)
{
    int r = 0;
    unsigned long v = 0;
    switch (c) {
    case 'i': r = STR_OPT(out->iface); break;
    case 'F':
        r = STR_OPT(out->filter);
        out->filter_set = 1;
        break;
    case 'p':
        r = rf_flag_uint(&v, fl, a, 1, 65535, err);
        out->port = (uint16_t)v;
        break;
    case 'b':
        r = STR_OPT(out->bind);
        if (r == 0)
            r = check_ipv4(a, c, err);
        out->bind_set = 1;
        break;
    case OPT_CONTROLLER:
        r = rf_flag_hostport(fl, a, out->ctl_host, sizeof(out->ctl_host), &out->ctl_port,
                             RF_PORT_CONTROL, err);
        out->fleet = 1;
        break;
    case OPT_ID:
        r = STR_OPT(out->id);
        if (r == 0 && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                "0123456789._-") != strlen(a))
            r = rf_err_set(err, RF_EPARSE,
                           "--id: \"%s\" may only use letters, digits, '.', '_', '-'", a);
        break;
    case OPT_ADVERTISE:
        r = STR_OPT(out->advertise);
        if (r == 0)
            r = check_ipv4(a, c, err);
        break;
    case OPT_KEY_FILE: r = STR_OPT(out->key_file); break;
    case OPT_INSECURE: out->insecure = 1; break;
    case OPT_STATS_JSON:
        r = STR_OPT(out->stats_json);
        break;
    case OPT_STATS_INTERVAL:
        r = rf_flag_uint(&v, fl, a, 1, 3600, err);
        out->stats_interval_s = (unsigned)v;
        break;
    case OPT_LOG_LEVEL:
        r = STR_OPT(out->log_level);
        if (r == 0 && strcmp(a, "error") != 0 && strcmp(a, "warn") != 0 &&
            strcmp(a, "info") != 0 && strcmp(a, "debug") != 0)
            r = rf_err_set(err, RF_EPARSE,
                           "--log-level: \"%s\" is not one of error, warn, info, debug", a);
        break;
    case OPT_LOG_FILE: r = STR_OPT(out->log_file); break;
    case OPT_DURATION:
        r = rf_flag_uint(&v, fl, a, 1, 100u * 365 * 86400, err);
        out->duration_s = (unsigned)v;
        break;
    case OPT_CAPLAT:
        r = rf_flag_uint(&v, fl, a, 0, 100, err);
        out->capture_latency_ms = (unsigned)v;
        break;
    case OPT_CONFIG: break;   /* merged into argv by rf_conf before we run */
    case OPT_CHECK_CONFIG: out->check_config = 1; break;
    case OPT_USER:
        /* Resolved (getpwnam) only when dropping: the config may be
         * checked on a host where the user does not exist yet. */
        r = STR_OPT(out->user);
        break;
    default:
        return 1;
    }
    return r;
}

int
ic_opts_parse(ic_config_t *out, int argc, char **argv, rf_errbuf_t *err)
{
    set_defaults(out);
    optind = 0;   /* GNU: full re-initialisation, so tests can parse twice */
    opterr = 0;
    char fb[32];
    int c;
    while ((c = getopt_long(argc, argv, ":i:F:p:b:hV", long_opts, NULL)) != -1) {
        int r = value_flag(out, c, optarg, flag_name(c, fb, sizeof(fb)), err);
        if (r == 0)
            continue;
        if (r != 1)
            return r;
        switch (c) {
        case 'h': out->help = 1; break;
        case 'V': out->version = 1; break;
        case ':':
            return rf_err_set(err, RF_EPARSE, "%s: missing value",
                              optopt ? flag_name(optopt, fb, sizeof(fb)) : argv[optind - 1]);
        default:
            if (optopt)
                return rf_err_set(err, RF_EPARSE, "unknown option -%c", optopt);
            return rf_err_set(err, RF_EPARSE, "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return rf_err_set(err, RF_EPARSE, "unexpected argument \"%s\"", argv[optind]);
    return 0;
}

int
ic_opts_finalize(ic_config_t *cfg, rf_errbuf_t *err)
{
    if (!cfg->bind_set)
        snprintf(cfg->bind, sizeof(cfg->bind), "%s",
                 (cfg->key_file[0] || cfg->insecure) ? "0.0.0.0" : "127.0.0.1");
    if (cfg->id[0] == '\0') {
        char h[128];
        if (gethostname(h, sizeof(h) - 1) != 0 || h[0] == '\0')
            snprintf(h, sizeof(h), "intercept");
        h[sizeof(h) - 1] = '\0';
        snprintf(cfg->id, sizeof(cfg->id), "%s", h);
    }
    if (!cfg->fleet && cfg->advertise[0] != '\0')
        return rf_err_set(err, RF_EPARSE, "--advertise: only meaningful with --controller");
    if (cfg->fleet && cfg->advertise[0] == '\0') {
        if (strcmp(cfg->bind, "0.0.0.0") == 0)
            return rf_err_set(err, RF_EPARSE,
                              "--advertise: required with --controller when listening on "
                              "0.0.0.0 (the address copy agents should dial)");
        snprintf(cfg->advertise, sizeof(cfg->advertise), "%s", cfg->bind);
    }
    if (cfg->fleet && cfg->ctl_port == cfg->port &&
        (strcmp(cfg->ctl_host, cfg->bind) == 0 || strcmp(cfg->bind, "0.0.0.0") == 0))
        return rf_err_set(err, RF_EPARSE, "--port: %u is the controller's port", cfg->port);
    char tmp[IC_FILTER_MAX + 128];
    if (ic_opts_filter(cfg, NULL, tmp, sizeof(tmp)) != 0)
        return rf_err_set(err, RF_EPARSE, "--filter: too long");
    return 0;
}

int
ic_opts_filter(const ic_config_t *cfg, const rf_cidr_t *block, char *buf, size_t len)
{
    char base[IC_FILTER_MAX + 64];
    if (block != NULL && !cfg->filter_set) {
        char b[32];
        rf_cidr_format(block, b, sizeof(b));
        snprintf(base, sizeof(base), "tcp and dst net %s", b);
    } else {
        snprintf(base, sizeof(base), "%s", cfg->filter);
    }
    /* Our own channels (copy agents on --port, the controller) must not be
     * captured, but a replayed client may well use that port number too
     * (a response to 10.250.1.2:36524 is a real response). Channel packets
     * are addressed to this host; replayed responses never are (the
     * assistant is a black hole for them). So exclude the channel ports
     * only towards local addresses. */
    char ports[64], locals[IC_FILTER_MAX];
    if (cfg->fleet)
        snprintf(ports, sizeof(ports), "tcp port %u or tcp port %u", cfg->port, cfg->ctl_port);
    else
        snprintf(ports, sizeof(ports), "tcp port %u", cfg->port);
    size_t used = 0;
    locals[0] = '\0';
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) == 0) {
        for (struct ifaddrs *i = ifs; i != NULL; i = i->ifa_next) {
            if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
                continue;
            char ip[16];
            rf_ipv4_format(ntohl(((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr.s_addr), ip,
                           sizeof(ip));
            int w = snprintf(locals + used, sizeof(locals) - used, "%sdst host %s",
                             used ? " or " : "", ip);
            if (w < 0 || (size_t)w >= sizeof(locals) - used)
                break;
            used += (size_t)w;
        }
        freeifaddrs(ifs);
    }
    int n;
    if (used > 0)
        n = snprintf(buf, len, "(%s) and not ((%s) and (%s))", base, ports, locals);
    else
        n = snprintf(buf, len, "(%s) and not (%s)", base, ports);
    return (n < 0 || (size_t)n >= len) ? RF_ERANGE : 0;
}

void
ic_opts_print(FILE *fp, const ic_config_t *cfg)
{
    char f[IC_FILTER_MAX + 128];
    fprintf(fp, "interface = %s\n", cfg->iface);
    fprintf(fp, "filter = %s\n", cfg->filter);
    if (ic_opts_filter(cfg, NULL, f, sizeof(f)) == 0)
        fprintf(fp, "# effective pcap filter: %s\n", f);
    fprintf(fp, "port = %u\n", cfg->port);
    fprintf(fp, "bind = %s\n", cfg->bind);
    if (cfg->fleet) {
        fprintf(fp, "controller = %s:%u\n", cfg->ctl_host, cfg->ctl_port);
        fprintf(fp, "advertise = %s\n", cfg->advertise);
    }
    fprintf(fp, "id = %s\n", cfg->id);
    if (cfg->key_file[0])
        fprintf(fp, "key-file = %s\n", cfg->key_file);
    else
        fprintf(fp, "# no key: %s\n", cfg->insecure ? "unauthenticated peers accepted (--insecure)"
                                                    : "loopback peers only");
    if (cfg->insecure)
        fprintf(fp, "insecure\n");
    if (cfg->user[0])
        fprintf(fp, "user = %s\n", cfg->user);
    if (cfg->stats_json[0])
        fprintf(fp, "stats-json = %s\n", cfg->stats_json);
    fprintf(fp, "stats-interval = %u\n", cfg->stats_interval_s);
    fprintf(fp, "capture-latency-ms = %u\n", cfg->capture_latency_ms);
    fprintf(fp, "log-level = %s\n", cfg->log_level);
    if (cfg->log_file[0])
        fprintf(fp, "log-file = %s\n", cfg->log_file);
    if (cfg->duration_s)
        fprintf(fp, "duration = %u\n", cfg->duration_s);
}

void
ic_opts_usage(FILE *fp)
{
    fputs("usage: replay-intercept [options]\n"
          "Capture the target's responses and stream their IP+TCP headers to the copy\n"
          "agent that owns each client address. Never forwards anything.\n"
          "\n"
          "  -i, --interface IFACE     capture interface (default any)\n"
          "  -F, --filter EXPR         pcap filter for the responses (default tcp),\n"
          "                            e.g. 'tcp and src port 8080'\n"
          "  -p, --port N              listen port for copy agents (default "
          RF_USAGE_NUM(RF_PORT_INTERCEPT) ")\n"
          "  -b, --bind ADDR           listen address (default 0.0.0.0 with a key or\n"
          "                            --insecure, else 127.0.0.1)\n"
          "      --controller HOST:PORT  fleet mode: register with replayd (port "
          RF_USAGE_NUM(RF_PORT_CONTROL) ")\n"
          "      --id ID               agent id (default: hostname)\n"
          "      --advertise IP        address copy agents should dial (fleet mode)\n"
          "      --key-file FILE       this intercept's key (replayctl keys derive --role\n"
          "                            intercept --id ID): TLS to replayd and from copy agents\n"
          "      --insecure            no key: accept plain non-loopback copy agents (WARN)\n"
          "      --user NAME           run as NAME (no capabilities) once the capture,\n"
          "                            listening socket and stats file are open\n"
          "      --stats-json FILE|-   one JSON line of counters per interval and at exit\n"
          "      --stats-interval S    seconds (default 1)\n"
          "      --capture-latency-ms N  hand responses over in batches of up to N ms\n"
          "                            (default " RF_USAGE_NUM(IC_CAPTURE_LATENCY_MS) "; 0 = one wake-up per packet)\n"
          "      --log-level L         error, warn, info (default), debug\n"
          "      --log-file FILE       log here instead of stderr\n"
          "      --duration S          stop after S seconds\n"
          "      --config FILE         read options from FILE (command line wins)\n"
          "      --check-config        validate, print the effective config, exit\n"
          "  -h, --help, -V, --version\n"
          "exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error\n",
          fp);
}
