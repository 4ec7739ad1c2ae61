/* cp_opts.c -- flag parsing. Every error names the flag and the value, so
 * a tcpcopy user switching over sees exactly what to fix. */
#include <stdio.h>

#include "cp_opts.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "rf_conn.h"
#include "rf_version.h"

enum {
    OPT_SPEED = 256, OPT_STATS_JSON, OPT_STATS_INTERVAL, OPT_CONTROLLER, OPT_ID, OPT_KEY_FILE,
    OPT_ALLOW, OPT_LOG_LEVEL, OPT_LOG_FILE, OPT_DURATION, OPT_CHECK, OPT_ADOPT, OPT_CONFIG,
    OPT_PROMISC, OPT_VXLAN_PORT, OPT_VNI, OPT_SHARD, OPT_PCAP_BUF, OPT_RATE, OPT_USER, OPT_DOCTOR, OPT_CAPLAT, OPT_MAXCOPIES, OPT_NICE,
};

static const struct option longopts[] = {
    { "transfer", required_argument, NULL, 'x' },
    { "intercept", required_argument, NULL, 's' },
    { "client-range", required_argument, NULL, 'c' },
    { "copies", required_argument, NULL, 'n' },
    { "port-offset", required_argument, NULL, 'f' },
    { "sample-percent", required_argument, NULL, 'r' },
    { "interface", required_argument, NULL, 'i' },
    { "filter", required_argument, NULL, 'F' },
    { "offline", required_argument, NULL, 'o' },
    { "session-timeout", required_argument, NULL, 't' },
    { "memory-mb", required_argument, NULL, 'm' },
    { "mtu", required_argument, NULL, 'M' },
    { "mss", required_argument, NULL, 'D' },
    { "speed", required_argument, NULL, OPT_SPEED },
    { "stats-json", required_argument, NULL, OPT_STATS_JSON },
    { "stats-interval", required_argument, NULL, OPT_STATS_INTERVAL },
    { "controller", required_argument, NULL, OPT_CONTROLLER },
    { "id", required_argument, NULL, OPT_ID },
    { "key-file", required_argument, NULL, OPT_KEY_FILE },
    { "allow-target", required_argument, NULL, OPT_ALLOW },
    { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
    { "log-file", required_argument, NULL, OPT_LOG_FILE },
    { "duration", required_argument, NULL, OPT_DURATION },
    { "check-config", no_argument, NULL, OPT_CHECK },
    { "adopt-midstream", no_argument, NULL, OPT_ADOPT },
    { "config", required_argument, NULL, OPT_CONFIG },
    { "promisc", no_argument, NULL, OPT_PROMISC },
    { "vxlan-port", required_argument, NULL, OPT_VXLAN_PORT },
    { "vni", required_argument, NULL, OPT_VNI },
    { "shard", required_argument, NULL, OPT_SHARD },
    { "pcap-buffer-mb", required_argument, NULL, OPT_PCAP_BUF },
    { "rate-limit-pps", required_argument, NULL, OPT_RATE },
    { "user", required_argument, NULL, OPT_USER },
    { "doctor", no_argument, NULL, OPT_DOCTOR },
    { "capture-latency-ms", required_argument, NULL, OPT_CAPLAT },
    { "max-copies", required_argument, NULL, OPT_MAXCOPIES },
    { "nice", required_argument, NULL, OPT_NICE },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
};

void
cp_opts_usage(FILE *fp)
{
    fputs("usage: replay-copy -x RULES -s INTERCEPTS [options]\n"
          "       replay-copy --controller HOST:PORT --id ID [options]\n"
          "  -x, --transfer [IP:]PORT-TIP:TPORT[,...]  what to replay where (tcpcopy syntax)\n"
          "  -s, --intercept HOST[:PORT][,...]        replay-intercept endpoints (port 36524)\n"
          "  -c, --client-range CIDR                  replayed client addresses (or A.B.C.x)\n"
          "  -n, --copies N                           copies of each session, 1..1023\n"
          "  -f, --port-offset F                      source port offset, 0..1023\n"
          "  -r, --sample-percent P                   replay P% of sessions, 1..100\n"
          "  -i, --interface IF[,IF]                  capture interfaces (default any)\n"
          "  -F, --filter EXPR                        extra pcap filter, ANDed\n"
          "  -o, --offline FILE.pcap                  replay a capture file\n"
          "      --speed X                            offline pace factor (0 = max)\n"
          "  -t, --session-timeout S                  idle session timeout (120)\n"
          "  -m, --memory-mb MB                       session memory budget (256)\n"
          "  -M, --mtu N / -D, --mss N                path MTU (1500) / synthetic SYN MSS (1460)\n"
          "      --adopt-midstream                    replay sessions captured mid-stream\n"
          "      --rate-limit-pps N                   cap on replayed packets per second\n"
          "      --promisc                            capture mirrored traffic (SPAN port)\n"
          "      --vxlan-port P, --vni N              VXLAN decapsulation (4789, any VNI)\n"
          "      --shard I/N                          replay only flows with hash % N == I\n"
          "      --stats-json FILE|-                  counters as JSON lines\n"
          "      --stats-interval S                   (1)\n"
          "      --controller HOST:PORT --id ID       fleet mode (replayd)\n"
          "      --key-file F                         agent pre-shared key\n"
          "      --user NAME                          run as NAME once sockets are open\n"
          "      --doctor                             probe every rule once, print where it breaks, exit\n"
          "      --capture-latency-ms N               batch capture wake-ups (4; 0 = per packet)\n"
          "      --max-copies N                       refuse assignments with more copies (1023)\n"
          "      --nice N                             scheduling priority (-20..19; see docs/BENCH.md)\n"
          "      --allow-target CIDR[,...]            refuse targets outside these\n"
          "      --config FILE, --check-config        config file; validate and exit\n"
          "      --log-level L, --log-file F, --duration S\n"
          "  -h, --help, -V, --version\n"
          "exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error\n",
          fp);
}

static int
parse_uint(unsigned long *out, const char *s, unsigned long lo, unsigned long hi)
{
    char *end;
    if (*s == '\0' || *s == '-' || *s == '+')
        return -1;
    unsigned long v = strtoul(s, &end, 10);
    if (*end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

#define UINT_FLAG(flag, dst, lo, hi)                                                          \
    do {                                                                                      \
        unsigned long v_;                                                                     \
        if (parse_uint(&v_, optarg, lo, hi) != 0)                                             \
            return rf_err_set(err, RF_EPARSE, "%s \"%s\": expected an integer %lu..%lu", flag, \
                              optarg, (unsigned long)(lo), (unsigned long)(hi));              \
        dst = v_;                                                                             \
    } while (0)

static int
copy_str(char *dst, size_t cap, const char *flag, const char *v, rf_errbuf_t *err)
{
    if (strlen(v) >= cap)
        return rf_err_set(err, RF_EPARSE, "%s: value too long (max %zu)", flag, cap - 1);
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

static int
parse_intercepts(cp_config_t *cfg, const char *list, rf_errbuf_t *err)
{
    char buf[2048];
    if (copy_str(buf, sizeof(buf), "-s", list, err) != 0)
        return RF_EPARSE;
    char *save = NULL;
    cfg->nicpt = 0;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (cfg->nicpt == CP_MAX_ICPT)
            return rf_err_set(err, RF_EPARSE, "-s: more than %d intercepts", CP_MAX_ICPT);
        cp_endpoint_t *ep = &cfg->icpt[cfg->nicpt];
        if (rf_parse_hostport(t, ep->host, sizeof(ep->host), &ep->port, 36524) != 0)
            return rf_err_set(err, RF_EPARSE,
                              "-s \"%s\": expected IPv4[:port] (numeric address, port 1..65535)", t);
        cfg->nicpt++;
    }
    if (cfg->nicpt == 0)
        return rf_err_set(err, RF_EPARSE, "-s: empty intercept list");
    return 0;
}

static int
parse_list(char dst[][32], unsigned *n, unsigned max, const char *flag, const char *list,
           rf_errbuf_t *err)
{
    char buf[512];
    if (copy_str(buf, sizeof(buf), flag, list, err) != 0)
        return RF_EPARSE;
    char *save = NULL;
    *n = 0;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (*n == max || strlen(t) >= 32)
            return rf_err_set(err, RF_EPARSE, "%s: too many or too long names", flag);
        strcpy(dst[(*n)++], t);
    }
    return 0;
}

int
cp_opts_parse(cp_config_t *cfg, int argc, char **argv, rf_errbuf_t *err)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->eng.copies = 1;
    cfg->eng.sample_percent = 100;
    cfg->eng.session_timeout_ms = 120000;
    cfg->eng.mtu = 1500;
    cfg->eng.mss = 1460;
    cfg->eng.memory_bytes = 256u << 20;
    cfg->speed = 1.0;
    cfg->stats_interval_s = 1;
    cfg->vxlan_port = 4789;
    cfg->vni = -1;
    cfg->pcap_buffer_mb = 64;
    cfg->capture_latency_ms = 4;
    cfg->max_copies = 1023;
    strcpy(cfg->log_level, "info");
    optind = 1;
    opterr = 0;
    int c;
    unsigned long ul;
    while ((c = getopt_long(argc, argv, ":x:s:c:n:f:r:i:F:o:t:m:M:D:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'x': {
            rf_errbuf_t e2;
            if (rf_rules_parse(cfg->eng.rules, &cfg->eng.nrules, optarg, &e2) != 0)
                return rf_err_set(err, RF_EPARSE, "-x: %s", e2.msg);
            cfg->have_rules = 1;
            break;
        }
        case 's':
            if (parse_intercepts(cfg, optarg, err) != 0)
                return RF_EPARSE;
            break;
        case 'c': {
            rf_errbuf_t e2;
            if (rf_cidr_parse(&cfg->eng.range, optarg, &e2) != 0)
                return rf_err_set(err, RF_EPARSE, "-c: %s", e2.msg);
            if (cfg->eng.range.len < 8)
                return rf_err_set(err, RF_EPARSE, "-c \"%s\": range wider than /8 refused", optarg);
            cfg->eng.has_range = 1;
            break;
        }
        case 'n': UINT_FLAG("-n", cfg->eng.copies, 1, 1023); break;
        case 'f': UINT_FLAG("-f", cfg->eng.offset, 0, 1023); break;
        case 'r': UINT_FLAG("-r", cfg->eng.sample_percent, 1, 100); break;
        case 'i':
            if (parse_list(cfg->ifaces, &cfg->nifaces, CP_MAX_IFACES, "-i", optarg, err) != 0)
                return RF_EPARSE;
            break;
        case 'F':
            if (copy_str(cfg->filter, sizeof(cfg->filter), "-F", optarg, err) != 0)
                return RF_EPARSE;
            break;
        case 'o':
            if (copy_str(cfg->offline, sizeof(cfg->offline), "-o", optarg, err) != 0)
                return RF_EPARSE;
            break;
        case 't':
            UINT_FLAG("-t", ul, 1, 86400);
            cfg->eng.session_timeout_ms = (uint32_t)ul * 1000u;
            break;
        case 'm':
            UINT_FLAG("-m", ul, 4, 65536);
            cfg->eng.memory_bytes = (size_t)ul << 20;
            break;
        case 'M': UINT_FLAG("-M", cfg->eng.mtu, 576, 9000); break;
        case 'D': UINT_FLAG("-D", cfg->eng.mss, 88, 8960); break;
        case OPT_SPEED: {
            char *end;
            double d = strtod(optarg, &end);
            if (*end != '\0' || end == optarg || d < 0 || d > 1000)
                return rf_err_set(err, RF_EPARSE, "--speed \"%s\": expected 0..1000", optarg);
            cfg->speed = d;
            break;
        }
        case OPT_STATS_JSON:
            if (copy_str(cfg->stats_json, sizeof(cfg->stats_json), "--stats-json", optarg, err))
                return RF_EPARSE;
            break;
        case OPT_STATS_INTERVAL: UINT_FLAG("--stats-interval", cfg->stats_interval_s, 1, 3600); break;
        case OPT_CONTROLLER: {
            char h[64];
            uint16_t p;
            if (rf_parse_hostport(optarg, h, sizeof(h), &p, 36523) != 0)
                return rf_err_set(err, RF_EPARSE, "--controller \"%s\": expected IPv4[:port]",
                                  optarg);
            if (copy_str(cfg->controller, sizeof(cfg->controller), "--controller", optarg, err))
                return RF_EPARSE;
            break;
        }
        case OPT_ID:
            if (copy_str(cfg->id, sizeof(cfg->id), "--id", optarg, err) != 0)
                return RF_EPARSE;
            break;
        case OPT_KEY_FILE:
            if (copy_str(cfg->key_file, sizeof(cfg->key_file), "--key-file", optarg, err) != 0)
                return RF_EPARSE;
            break;
        case OPT_ALLOW: {
            char buf[1024];
            if (copy_str(buf, sizeof(buf), "--allow-target", optarg, err) != 0)
                return RF_EPARSE;
            char *save = NULL;
            cfg->nallow = 0;
            for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                rf_errbuf_t e2;
                if (cfg->nallow == CP_MAX_ALLOW)
                    return rf_err_set(err, RF_EPARSE, "--allow-target: more than %d ranges",
                                      CP_MAX_ALLOW);
                if (rf_cidr_parse(&cfg->allow[cfg->nallow++], t, &e2) != 0)
                    return rf_err_set(err, RF_EPARSE, "--allow-target: %s", e2.msg);
            }
            break;
        }
        case OPT_LOG_LEVEL:
            if (strcmp(optarg, "error") && strcmp(optarg, "warn") && strcmp(optarg, "info") &&
                strcmp(optarg, "debug"))
                return rf_err_set(err, RF_EPARSE,
                                  "--log-level \"%s\": expected error, warn, info or debug", optarg);
            strcpy(cfg->log_level, optarg);
            break;
        case OPT_LOG_FILE:
            if (copy_str(cfg->log_file, sizeof(cfg->log_file), "--log-file", optarg, err) != 0)
                return RF_EPARSE;
            break;
        case OPT_DURATION: UINT_FLAG("--duration", cfg->duration_s, 1, 86400 * 365); break;
        case OPT_CHECK: cfg->check_config = 1; break;
        case OPT_ADOPT: cfg->eng.adopt_midstream = 1; break;
        case OPT_CONFIG: break;   /* merged by rf_conf before we get here */
        case OPT_PROMISC: cfg->promisc = 1; cfg->tunnels = 1; break;
        case OPT_VXLAN_PORT:
            UINT_FLAG("--vxlan-port", cfg->vxlan_port, 1, 65535);
            cfg->tunnels = 1;
            break;
        case OPT_VNI:
            UINT_FLAG("--vni", ul, 0, 16777215);
            cfg->vni = (int32_t)ul;
            cfg->tunnels = 1;
            break;
        case OPT_SHARD: {
            unsigned a, b;
            char tail;
            if (sscanf(optarg, "%u/%u%c", &a, &b, &tail) != 2 || b == 0 || b > 1024 || a >= b)
                return rf_err_set(err, RF_EPARSE, "--shard \"%s\": expected I/N with 0 <= I < N <= 1024",
                                  optarg);
            cfg->eng.shard_idx = a;
            cfg->eng.shard_n = b;
            break;
        }
        case OPT_PCAP_BUF: UINT_FLAG("--pcap-buffer-mb", cfg->pcap_buffer_mb, 1, 2048); break;
        case OPT_RATE: UINT_FLAG("--rate-limit-pps", cfg->eng.rate_limit_pps, 0, 100000000); break;
        case OPT_DOCTOR: cfg->doctor = 1; break;
        case OPT_NICE: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end != '\0' || end == optarg || v < -20 || v > 19)
                return rf_err_set(err, RF_EPARSE, "--nice \"%s\": expected -20..19", optarg);
            cfg->nice = (int)v;
            break;
        }
        case OPT_MAXCOPIES: UINT_FLAG("--max-copies", cfg->max_copies, 1, 1023); break;
        case OPT_CAPLAT: UINT_FLAG("--capture-latency-ms", cfg->capture_latency_ms, 0, 100); break;
        case OPT_USER:
            if (copy_str(cfg->user, sizeof(cfg->user), "--user", optarg, err) != 0)
                return RF_EPARSE;
            break;
        case 'h': cp_opts_usage(stdout); return 1;
        case 'V': puts("replay-copy " RF_VERSION_LONG); return 1;
        case ':':
            return rf_err_set(err, RF_EPARSE, "option %s needs a value", argv[optind - 1]);
        default:
            return rf_err_set(err, RF_EPARSE, "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return rf_err_set(err, RF_EPARSE, "unexpected argument \"%s\"", argv[optind]);
    return 0;
}

int
cp_opts_target_allowed(const cp_config_t *cfg, const rf_rule_t *rules, unsigned n,
                       rf_errbuf_t *err)
{
    if (cfg->nallow == 0)
        return 1;
    for (unsigned i = 0; i < n; i++) {
        int ok = 0;
        for (unsigned j = 0; j < cfg->nallow && !ok; j++)
            ok = rf_cidr_contains(&cfg->allow[j], rules[i].target_ip);
        if (!ok) {
            char r[64];
            rf_rule_format(&rules[i], r, sizeof(r));
            rf_err_set(err, RF_EPARSE, "rule %s: target outside --allow-target", r);
            return 0;
        }
    }
    return 1;
}

int
cp_opts_validate(const cp_config_t *cfg, rf_errbuf_t *err)
{
    if (cfg->controller[0] == '\0') {
        if (!cfg->have_rules)
            return rf_err_set(err, RF_EPARSE, "-x is required (or --controller)");
        if (cfg->nicpt == 0)
            return rf_err_set(err, RF_EPARSE, "-s is required (or --controller)");
    }
    if (cfg->have_rules && !cp_opts_target_allowed(cfg, cfg->eng.rules, cfg->eng.nrules, err))
        return RF_EPARSE;
    for (unsigned i = 0; i < cfg->eng.nrules; i++) {
        const rf_rule_t *r = &cfg->eng.rules[i];
        if (cfg->eng.has_range && rf_cidr_contains(&cfg->eng.range, r->target_ip))
            return rf_err_set(err, RF_EPARSE, "-c: the client range contains target %u.%u.%u.%u",
                              r->target_ip >> 24, (r->target_ip >> 16) & 255,
                              (r->target_ip >> 8) & 255, r->target_ip & 255);
    }
    return 0;
}

void
cp_opts_print(FILE *fp, const cp_config_t *cfg)
{
    char buf[64];
    fprintf(fp, "mode            %s\n", cfg->controller[0] ? "fleet" : "standalone");
    if (cfg->controller[0])
        fprintf(fp, "controller      %s (id %s)\n", cfg->controller, cfg->id);
    for (unsigned i = 0; i < cfg->eng.nrules; i++) {
        rf_rule_format(&cfg->eng.rules[i], buf, sizeof(buf));
        fprintf(fp, "transfer        %s\n", buf);
    }
    for (unsigned i = 0; i < cfg->nicpt; i++)
        fprintf(fp, "intercept       %s:%u\n", cfg->icpt[i].host, cfg->icpt[i].port);
    if (cfg->eng.has_range) {
        rf_cidr_format(&cfg->eng.range, buf, sizeof(buf));
        fprintf(fp, "client-range    %s\n", buf);
    }
    fprintf(fp, "copies          %u\nport-offset     %u\nsample-percent  %u\n", cfg->eng.copies,
            cfg->eng.offset, cfg->eng.sample_percent);
    fprintf(fp, "session-timeout %u s\nmemory          %zu MB\nmtu/mss         %u/%u\n",
            cfg->eng.session_timeout_ms / 1000, cfg->eng.memory_bytes >> 20, cfg->eng.mtu,
            cfg->eng.mss);
    fprintf(fp, "capture         %s\n", cfg->offline[0] ? cfg->offline : "live");
    for (unsigned i = 0; i < cfg->nifaces; i++)
        fprintf(fp, "interface       %s\n", cfg->ifaces[i]);
}
