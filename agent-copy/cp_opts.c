/* cp_opts.c -- flag parsing. Every error names the flag and the value, so
 * a tcpcopy user switching over sees exactly what to fix. tcpcopy 1.0's
 * flags (its `tcpcopy -h`) are accepted where replay-copy can honour them,
 * and refused with the replayfleet spelling where it cannot (docs/CLI.md,
 * "tcpcopy -> replay-copy"): nothing is silently given another meaning. */
#include <stdio.h>

#include "cp_opts.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "rf_parse.h"
#include "rf_ports.h"
#include "rf_version.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    OPT_SPEED = 256, OPT_STATS_JSON, OPT_STATS_INTERVAL, OPT_CONTROLLER, OPT_ID, OPT_KEY_FILE,
    OPT_ALLOW, OPT_LOG_LEVEL, OPT_LOG_FILE, OPT_DURATION, OPT_CHECK, OPT_ADOPT, OPT_CONFIG,
    OPT_PROMISC, OPT_VXLAN_PORT, OPT_VNI, OPT_SHARD, OPT_PCAP_BUF, OPT_RATE, OPT_USER, OPT_DOCTOR, OPT_CAPLAT, OPT_MAXCOPIES, OPT_NICE, OPT_FANOUT,
    OPT_CAUSAL, OPT_NO_REVERSE, OPT_LAZY, OPT_EAGER, OPT_SEND_PATH, OPT_PIDFILE, OPT_DAEMON, OPT_ICPT_PORT, OPT_OFFLINE,
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
    { "offline", required_argument, NULL, OPT_OFFLINE },
    { "pid-file", required_argument, NULL, OPT_PIDFILE },
    { "daemon", no_argument, NULL, OPT_DAEMON },
    { "intercept-port", required_argument, NULL, OPT_ICPT_PORT },
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
    { "fanout-group", required_argument, NULL, OPT_FANOUT },
    { "causal-timeout-ms", required_argument, NULL, OPT_CAUSAL },
    { "no-reverse-capture", no_argument, NULL, OPT_NO_REVERSE },
    { "lazy-responses", no_argument, NULL, OPT_LAZY },
    { "eager-responses", no_argument, NULL, OPT_EAGER },
    { "send-path", required_argument, NULL, OPT_SEND_PATH },
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
          "  -s, --intercept HOST[:PORT][,...]        replay-intercept endpoints (port "
          RF_USAGE_NUM(RF_PORT_INTERCEPT) ")\n"
          "  -c, --client-range CIDR|LIST             replayed client addresses: a CIDR, or\n"
          "                                           tcpcopy's A.B.C.x / A.B.C.* / address\n"
          "                                           lists that make up one CIDR block\n"
          "  -n, --copies N                           copies of each session, 1..1023\n"
          "  -f, --port-offset F                      source port offset, 0..1023\n"
          "  -r, --sample-percent P                   replay P% of sessions, 1..100\n"
          "  -i, --interface IF[,IF]                  capture interfaces (default any)\n"
          "  -F, --filter EXPR                        extra pcap filter, ANDed\n"
          "      --offline FILE.pcap                  replay a capture file (tcpcopy's -o is\n"
          "                                           an output device: refused)\n"
          "  -a, --speed X                            offline pace factor (0 = max)\n"
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
          "      --key-file F                         this agent's key (replayctl keys derive\n"
          "                                           --role copy --id ID): TLS to replayd;\n"
          "                                           standalone: the intercept's key\n"
          "      --user NAME                          run as NAME once sockets are open\n"
          "      --doctor                             probe every rule once, print where it breaks, exit\n"
          "      --capture-latency-ms N               batch capture wake-ups (4; 0 = per packet)\n"
          "      --causal-timeout-ms N                longest wait for the target's answer where the\n"
          "                                           client waited (2000; 0 = causal order off)\n"
          "      --no-reverse-capture                 do not capture the online server's replies\n"
          "                                           (causal order then uses tcpcopy's rule)\n"
          "      --eager-responses                    read the intercepts' answers as they arrive (the\n"
          "                                           default reads them once per tick while no\n"
          "                                           segment waits on one; --lazy-responses)\n"
          "      --send-path link|raw                 link (default): AF_PACKET to the target's next-hop\n"
          "                                           MAC where it resolves, past this host's netfilter\n"
          "                                           and qdisc (the raw socket elsewhere); raw: the raw\n"
          "                                           IP socket only (as tcpcopy without --pcap-send)\n"
          "      --max-copies N                       refuse assignments with more copies (1023)\n"
          "      --nice N                             scheduling priority (-20..19, default -10; see docs/BENCH.md)\n"
          "      --fanout-group N                     share the capture with the other agents of group N\n"
          "                                           (PACKET_FANOUT by flow hash: one worker per core,\n"
          "                                           each with its own disjoint -c range; docs/BENCH.md)\n"
          "      --allow-target CIDR[,...]            refuse targets outside these\n"
          "      --config FILE, --check-config        config file; check (interface, file,\n"
          "                                           intercepts, key) without side effects\n"
          "  -d, --daemon                             run in the background (as tcpcopy -d)\n"
          "  -P, --pid-file F                         write the process id to F\n"
          "  -p, --intercept-port P                   port of -s entries without one ("
          RF_USAGE_NUM(RF_PORT_INTERCEPT) ")\n"
          "  -l, --log-file F                         log to F; --log-level L, --duration S\n"
          "  -B N (--pcap-buffer-mb), -k S (idle timeout, the larger of -t and -k),\n"
          "  -O (only sessions seen from their SYN: the default), -C N, -L, -S 65535 and -v\n"
          "  are accepted as tcpcopy means them; see docs/CLI.md for the others.\n"
          "  -h, --help, -V, --version\n"
          "exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error\n",
          fp);
}

/* Flag values go through rf_parse (one parser and one message per kind). */
#define UINT_FLAG(flag, dst, lo, hi)                                                      \
    do {                                                                                  \
        unsigned long v_;                                                                 \
        if (rf_flag_uint(&v_, flag, optarg, lo, hi, err) != 0)                            \
            return RF_EPARSE;                                                             \
        dst = v_;                                                                         \
    } while (0)
#define STR_FLAG(flag, dst)                                                               \
    do {                                                                                  \
        if (rf_flag_str(dst, sizeof(dst), flag, optarg, RF_STR_ANY, err) != 0)            \
            return RF_EPARSE;                                                             \
    } while (0)

static int
parse_intercepts(cp_config_t *cfg, const char *list, rf_errbuf_t *err)
{
    char buf[2048];
    if (rf_flag_str(buf, sizeof(buf), "-s", list, RF_STR_ANY, err) != 0)
        return RF_EPARSE;
    char *save = NULL;
    cfg->nicpt = 0;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (cfg->nicpt == CP_MAX_ICPT)
            return rf_err_set(err, RF_EPARSE, "-s: more than %d intercepts", CP_MAX_ICPT);
        cp_endpoint_t *ep = &cfg->icpt[cfg->nicpt];
        if (rf_flag_hostport("-s", t, ep->host, sizeof(ep->host), &ep->port, cfg->icpt_port, err))
            return RF_EPARSE;
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
    if (rf_flag_str(buf, sizeof(buf), flag, list, RF_STR_ANY, err) != 0)
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

/* One -c entry: a CIDR, a dotted address, or tcpcopy's wildcard form with
 * trailing "x" or "*" octets (62.135.200.x = /24, 10.1.x.x = /16). */
static int
parse_client_entry(rf_cidr_t *out, const char *t, rf_errbuf_t *err)
{
    char buf[64];
    if (strlen(t) >= sizeof(buf))
        return rf_err_set(err, RF_EPARSE, "-c \"%.32s...\": too long", t);
    snprintf(buf, sizeof(buf), "%s", t);
    unsigned wild = 0;
    size_t n = strlen(buf);
    while (n >= 2 && buf[n - 2] == '.' && (buf[n - 1] == 'x' || buf[n - 1] == 'X' || buf[n - 1] == '*')) {
        buf[n - 2] = '\0';
        n -= 2;
        wild++;
    }
    if (wild > 0) {
        /* pad the kept octets back to four and make it a CIDR */
        char cidr[96];
        snprintf(cidr, sizeof(cidr), "%s%s/%u", buf, wild == 1 ? ".0" : wild == 2 ? ".0.0" : ".0.0.0",
                 32 - 8 * wild);
        rf_errbuf_t e2;
        if (wild > 3 || rf_cidr_parse(out, cidr, &e2) != 0)
            return rf_err_set(err, RF_EPARSE, "-c \"%s\": expected A.B.C.x, A.B.x.x, a CIDR or an "
                              "address", t);
        return 0;
    }
    rf_errbuf_t e2;
    if (strchr(buf, '/') == NULL && n + 3 < sizeof(buf))
        strcat(buf, "/32");
    if (rf_cidr_parse(out, buf, &e2) != 0)
        return rf_err_set(err, RF_EPARSE, "-c: %s", e2.msg);
    return 0;
}

int
cp_opts_parse_clients(rf_cidr_t *out, const char *list, rf_errbuf_t *err)
{
    char buf[1024];
    if (strlen(list) >= sizeof(buf))
        return rf_err_set(err, RF_EPARSE, "-c: value too long (max %zu)", sizeof(buf) - 1);
    snprintf(buf, sizeof(buf), "%s", list);
    rf_cidr_t e[64];
    unsigned ne = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        if (ne == 64)
            return rf_err_set(err, RF_EPARSE, "-c: more than 64 entries");
        if (parse_client_entry(&e[ne], t, err) != 0)
            return RF_EPARSE;
        ne++;
    }
    if (ne == 0)
        return rf_err_set(err, RF_EPARSE, "-c: empty");
    /* The engine draws client addresses from one CIDR block (and the
     * targets route one block to the intercepts), so a list is accepted
     * when its entries make up exactly one block; the addresses of the
     * block are then counted once each. */
    uint32_t lo = UINT32_MAX, hi = 0;
    uint64_t covered = 0;
    for (unsigned i = 0; i < ne; i++) {
        uint32_t a = e[i].addr, b = a + (uint32_t)((1ull << (32 - e[i].len)) - 1);
        lo = a < lo ? a : lo;
        hi = b > hi ? b : hi;
        covered += 1ull << (32 - e[i].len);
        for (unsigned j = 0; j < i; j++)
            if (rf_cidr_contains(&e[j], e[i].addr) || rf_cidr_contains(&e[i], e[j].addr))
                return rf_err_set(err, RF_EPARSE, "-c \"%s\": entries %u and %u overlap", list, j + 1,
                                  i + 1);
    }
    /* smallest block holding lo..hi */
    unsigned len = 32;
    while (len > 0 && ((lo >> (32 - len)) != (hi >> (32 - len))))
        len--;
    rf_cidr_t blk = { .addr = len ? lo & ~(uint32_t)((1ull << (32 - len)) - 1) : 0, .len = len };
    uint64_t size = 1ull << (32 - len);
    if (covered != size || blk.addr != lo) {
        char b[32];
        rf_cidr_format(&blk, b, sizeof(b));
        return rf_err_set(err, RF_EPARSE,
                          "-c \"%s\": replay-copy draws client addresses from one CIDR block, and "
                          "these are not one; write the block that holds them, -c %s, and route "
                          "that block to the intercept (replayctl routes)", list, b);
    }
    *out = blk;
    return 0;
}

/* tcpcopy 1.0 flags replay-copy cannot honour: what to write instead. */
static const struct {
    char        flag;
    const char *msg;
} tcpcopy_refused[] = {
    { 'o', "-o is tcpcopy's output device (--pcap-send builds); replay-copy sends through the "
           "kernel's routing to the target: drop -o (to replay a pcap file write --offline FILE)" },
    { 'H', "-H (rewrite the localhost address) has no replay-copy equivalent: pick client "
           "addresses with -c" },
    { 'I', "-I (offline acceleration threshold) has no replay-copy equivalent: --speed X paces "
           "the whole file" },
    { 'T', "-T (replay the offline file N times) has no replay-copy equivalent: run replay-copy "
           "--offline again" },
    { 'R', "-R (default RTT) has no replay-copy equivalent: retransmission timing follows the "
           "target's answers" },
    { 'U', "-U (session pool size) has no replay-copy equivalent: the session budget is -m MB" },
    { 'g', "-g (gradual replay) has no replay-copy equivalent: cap the rate with --rate-limit-pps" },
    { 'W', "-W (send without waiting for responses) has no replay-copy equivalent: a replayed "
           "session follows the target's answers" },
};

/* What cp_opts_parse carries between the flags and the checks after them. */
typedef struct {
    char          icpt_list[2048];   /* -s: parsed once -p is known */
    unsigned long keepalive_s;       /* -k */
    int           timeout_given;     /* -t */
    int           full_only;         /* -O */
} parse_state_t;

static void
set_defaults(cp_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->eng.copies = 1;
    cfg->eng.sample_percent = 100;
    cfg->eng.session_timeout_ms = 120000;
    cfg->eng.causal_timeout_ms = 2000;
    cfg->eng.mtu = 1500;
    cfg->eng.mss = 1460;
    cfg->eng.memory_bytes = 256u << 20;
    cfg->speed = 1.0;
    cfg->stats_interval_s = 1;
    cfg->vxlan_port = 4789;
    cfg->vni = -1;
    /* An 8 MB ring of 128 KiB blocks (cp_ring.h) holds ~250 ms of blocks
     * retired at the 4 ms timeout, ~1 s at 8k conn/s: enough once the
     * agent is scheduled promptly (--nice), at a quarter of the old
     * 64 MB. See docs/BENCH.md, "Footprint". */
    cfg->pcap_buffer_mb = 8;
    cfg->nice = -10;
    cfg->capture_latency_ms = 4;
    cfg->lazy_responses = 1;
    cfg->max_copies = 1023;
    cfg->icpt_port = RF_PORT_INTERCEPT;
    strcpy(cfg->log_level, "info");
}

/* One flag group each: 0 taken, 1 not in this group, RF_EPARSE.
 * What is replayed and where to: rules, intercepts, client range, copies,
 * allowed targets, shard. */
static int
flag_replay(cp_config_t *cfg, parse_state_t *st, int c, rf_errbuf_t *err)
{
    switch (c) {
    case 'x': {
        rf_errbuf_t e2;
        if (strchr(optarg, '@') != NULL)
            return rf_err_set(err, RF_EPARSE,
                              "-x \"%s\": MAC addresses (tcpcopy --pcap-send builds) are not "
                              "used: replay-copy sends through the kernel's routing; write the "
                              "rule without @MAC, e.g. -x 80-10.0.0.2:8080", optarg);
        if (rf_rules_parse(cfg->eng.rules, &cfg->eng.nrules, optarg, &e2) != 0)
            return rf_err_set(err, RF_EPARSE, "-x: %s", e2.msg);
        cfg->have_rules = 1;
        break;
    }
    case 's':
        /* parsed after the loop: -p may come later and sets the
         * port of entries without one */
        STR_FLAG("-s", st->icpt_list);
        break;
    case 'p':
    case OPT_ICPT_PORT: UINT_FLAG(c == 'p' ? "-p" : "--intercept-port", cfg->icpt_port, 1, 65535); break;
    case 'c': {
        if (cp_opts_parse_clients(&cfg->eng.range, optarg, err) != 0)
            return RF_EPARSE;
        cfg->eng.has_range = 1;   /* its width: cp_opts_check_replay */
        break;
    }
    case 'n': UINT_FLAG("-n", cfg->eng.copies, 1, CP_COPIES_MAX); break;
    case 'f': UINT_FLAG("-f", cfg->eng.offset, 0, CP_OFFSET_MAX); break;
    case 'r': UINT_FLAG("-r", cfg->eng.sample_percent, 1, 100); break;
    case OPT_ALLOW: {
        char buf[1024];
        STR_FLAG("--allow-target", buf);
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
    case OPT_MAXCOPIES: UINT_FLAG("--max-copies", cfg->max_copies, 1, CP_COPIES_MAX); break;
    default:
        return 1;
    }
    return 0;
}

/* How sessions are replayed: timeouts, pace, memory, sizes, limits. */
static int
flag_session(cp_config_t *cfg, parse_state_t *st, int c, rf_errbuf_t *err)
{
    unsigned long ul;
    switch (c) {
    case 't':
        UINT_FLAG("-t", ul, 1, CP_TIMEOUT_MAX_S);
        cfg->eng.session_timeout_ms = (uint32_t)ul * 1000u;
        st->timeout_given = 1;
        break;
    case 'k': UINT_FLAG("-k", st->keepalive_s, 1, CP_TIMEOUT_MAX_S); break;
    case 'a': {
        double d;
        if (rf_parse_double(&d, optarg, 0, 1000) != 0 || d == 0)
            return rf_err_set(err, RF_EPARSE, "-a \"%s\": expected an acceleration 1..1000 "
                              "(same as --speed)", optarg);
        cfg->speed = d;
        break;
    }
    case 'O': st->full_only = 1; break;   /* the default: midstream sessions are skipped */
    case 'L': break;   /* the default: replay-copy keeps running without its intercept */
    case 'm':
        UINT_FLAG("-m", ul, 4, 65536);
        cfg->eng.memory_bytes = (size_t)ul << 20;
        break;
    case 'M': UINT_FLAG("-M", cfg->eng.mtu, 576, 9000); break;
    case 'D': UINT_FLAG("-D", cfg->eng.mss, 88, 8960); break;
    case OPT_SPEED:
        if (rf_flag_double(&cfg->speed, "--speed", optarg, 0, 1000, err) != 0)
            return RF_EPARSE;
        break;
    case OPT_ADOPT: cfg->eng.adopt_midstream = 1; break;
    case OPT_RATE: UINT_FLAG("--rate-limit-pps", cfg->eng.rate_limit_pps, 0, 100000000); break;
    case OPT_CAUSAL: UINT_FLAG("--causal-timeout-ms", cfg->eng.causal_timeout_ms, 0, 600000); break;
    default:
        return 1;
    }
    return 0;
}

/* Where and how packets are captured: interfaces, filter, file, buffers,
 * tunnels, fan-out. */
static int
flag_capture(cp_config_t *cfg, parse_state_t *st, int c, rf_errbuf_t *err)
{
    unsigned long ul;
    (void)st;
    switch (c) {
    case 'i':
        if (parse_list(cfg->ifaces, &cfg->nifaces, CP_MAX_IFACES, "-i", optarg, err) != 0)
            return RF_EPARSE;
        break;
    case 'F': STR_FLAG("-F", cfg->filter); break;
    case OPT_OFFLINE: STR_FLAG("--offline", cfg->offline); break;
    case 'B': UINT_FLAG("-B", cfg->pcap_buffer_mb, 1, 2048); break;
    case 'S':
        /* tcpcopy's snaplen: replay-copy captures whole packets (it
         * replays payloads; GRO/GSO segments exceed the MTU), so a
         * shorter snaplen would cut them and a longer one changes
         * nothing: checked below, never applied. */
        UINT_FLAG("-S", ul, 1, 262144);
        cfg->snaplen = (unsigned)ul;
        break;
    case 'C':
        /* parallel connections to each intercept: one connection per
         * intercept carries batched responses here */
        UINT_FLAG("-C", ul, 1, 16);
        break;
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
    case OPT_PCAP_BUF: UINT_FLAG("--pcap-buffer-mb", cfg->pcap_buffer_mb, 1, 2048); break;
    case OPT_FANOUT: UINT_FLAG("--fanout-group", cfg->fanout_group, 1, 65535); break;
    case OPT_CAPLAT: UINT_FLAG("--capture-latency-ms", cfg->capture_latency_ms, 0, 100); break;
    case OPT_NO_REVERSE: cfg->no_reverse = 1; break;
    case OPT_LAZY: cfg->lazy_responses = 1; break;
    case OPT_EAGER: cfg->lazy_responses = 0; break;
    case OPT_SEND_PATH:
        if (strcmp(optarg, "link") != 0 && strcmp(optarg, "raw") != 0)
            return rf_err_set(err, RF_EPARSE, "--send-path \"%s\": expected link or raw", optarg);
        cfg->raw_send = optarg[0] == 'r';
        break;
    default:
        return 1;
    }
    return 0;
}

/* The process: fleet mode, files, logging, privileges, modes. */
static int
flag_process(cp_config_t *cfg, parse_state_t *st, int c, rf_errbuf_t *err)
{
    (void)st;
    switch (c) {
    case 'd':
    case OPT_DAEMON: cfg->daemonize = 1; break;
    case 'P':
    case OPT_PIDFILE: STR_FLAG("-P", cfg->pid_file); break;
    case 'l': STR_FLAG("-l", cfg->log_file); break;
    case OPT_STATS_JSON: STR_FLAG("--stats-json", cfg->stats_json); break;
    case OPT_STATS_INTERVAL: UINT_FLAG("--stats-interval", cfg->stats_interval_s, 1, 3600); break;
    case OPT_CONTROLLER: {
        char h[64];
        uint16_t p;
        if (rf_flag_hostport("--controller", optarg, h, sizeof(h), &p, RF_PORT_CONTROL, err))
            return RF_EPARSE;
        STR_FLAG("--controller", cfg->controller);
        break;
    }
    case OPT_ID: STR_FLAG("--id", cfg->id); break;
    case OPT_KEY_FILE: STR_FLAG("--key-file", cfg->key_file); break;
    case OPT_LOG_LEVEL:
        if (strcmp(optarg, "error") && strcmp(optarg, "warn") && strcmp(optarg, "info") &&
            strcmp(optarg, "debug"))
            return rf_err_set(err, RF_EPARSE,
                              "--log-level \"%s\": expected error, warn, info or debug", optarg);
        strcpy(cfg->log_level, optarg);
        break;
    case OPT_LOG_FILE: STR_FLAG("--log-file", cfg->log_file); break;
    case OPT_DURATION: UINT_FLAG("--duration", cfg->duration_s, 1, 86400 * 365); break;
    case OPT_CHECK: cfg->check_config = 1; break;
    case OPT_CONFIG: break;   /* merged by rf_conf before we get here */
    case OPT_DOCTOR: cfg->doctor = 1; break;
    case OPT_NICE: {
        long v;
        if (rf_flag_int(&v, "--nice", optarg, -20, 19, err) != 0)
            return RF_EPARSE;
        cfg->nice = (int)v;
        break;
    }
    case OPT_USER: STR_FLAG("--user", cfg->user); break;
    default:
        return 1;
    }
    return 0;
}

/* Checks that need every flag (and -s once -p is known). */
static int
check_combined(cp_config_t *cfg, const parse_state_t *st, rf_errbuf_t *err)
{
    if (st->icpt_list[0] && parse_intercepts(cfg, st->icpt_list, err) != 0)
        return RF_EPARSE;
    if (st->full_only && cfg->eng.adopt_midstream)
        return rf_err_set(err, RF_EPARSE, "-O (only full sessions) contradicts --adopt-midstream");
    /* tcpcopy's -t (no response) and -k (keepalive idle) are one idle
     * timeout here: the larger wins, so neither cuts sessions short. */
    if (st->keepalive_s && (!st->timeout_given || st->keepalive_s * 1000u > cfg->eng.session_timeout_ms))
        cfg->eng.session_timeout_ms = (uint32_t)st->keepalive_s * 1000u;
    /* the capture's own snaplen (cp_loop.c): 64 KiB, or MTU + 256 in
     * immediate mode (--capture-latency-ms 0) */
    unsigned need = cfg->capture_latency_ms ? 65535u : cfg->eng.mtu + 256u;
    if (cfg->snaplen && cfg->snaplen < need)
        return rf_err_set(err, RF_EPARSE,
                          "-S %u: replay-copy captures whole packets (%u bytes: it replays their "
                          "payloads, and GRO/GSO segments exceed the MTU); drop -S",
                          cfg->snaplen, need);
    return 0;
}

int
cp_opts_parse(cp_config_t *cfg, int argc, char **argv, rf_errbuf_t *err)
{
    set_defaults(cfg);
    parse_state_t st = { 0 };
    optind = 0;   /* 0: glibc re-initialises fully (a previous parse may have stopped mid-cluster) */
    opterr = 0;
    int c;
    /* tcpcopy 1.0's short flags are all known here, so that each gets
     * either its meaning or its own message (tcpcopy_refused). */
    while ((c = getopt_long(argc, argv, ":x:s:c:n:f:r:i:F:o:t:m:M:D:hVvdP:l:p:k:B:S:C:a:OLH:I:T:R:U:gW",
                            longopts, NULL)) != -1) {
        for (size_t k = 0; k < sizeof(tcpcopy_refused) / sizeof(tcpcopy_refused[0]); k++)
            if (c == tcpcopy_refused[k].flag)
                return rf_err_set(err, RF_EPARSE, "%s", tcpcopy_refused[k].msg);
        int r = flag_replay(cfg, &st, c, err);
        if (r == 1)
            r = flag_session(cfg, &st, c, err);
        if (r == 1)
            r = flag_capture(cfg, &st, c, err);
        if (r == 1)
            r = flag_process(cfg, &st, c, err);
        if (r == 0)
            continue;
        if (r < 0)
            return r;
        switch (c) {
        case 'h': cp_opts_usage(stdout); return 1;
        case 'v':
        case 'V': puts("replay-copy " RF_VERSION_LONG); return 1;
        case ':':
            return rf_err_set(err, RF_EPARSE, "option %s needs a value", argv[optind - 1]);
        default:
            return rf_err_set(err, RF_EPARSE, "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return rf_err_set(err, RF_EPARSE, "unexpected argument \"%s\"", argv[optind]);
    return check_combined(cfg, &st, err);
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
    return cp_opts_check_replay(cfg, err);
}

int
cp_opts_check_replay(const cp_config_t *cfg, rf_errbuf_t *err)
{
    const cp_engine_cfg_t *e = &cfg->eng;
    char rs[32], rule[64];
    if (e->has_range) {
        rf_cidr_format(&e->range, rs, sizeof(rs));
        if (e->range.len < CP_RANGE_MIN_LEN)
            return rf_err_set(err, RF_EPARSE, "client range %s is wider than /%u", rs,
                              CP_RANGE_MIN_LEN);
        /* a replayed client address that is also a target would make the
         * target answer itself */
        for (unsigned i = 0; i < e->nrules; i++) {
            if (!rf_cidr_contains(&e->range, e->rules[i].target_ip))
                continue;
            rf_rule_format(&e->rules[i], rule, sizeof(rule));
            return rf_err_set(err, RF_EPARSE, "client range %s contains the target of rule %s",
                              rs, rule);
        }
    }
    if (!cp_opts_target_allowed(cfg, e->rules, e->nrules, err))
        return RF_EPARSE;
    if (e->copies < 1 || e->copies > CP_COPIES_MAX)
        return rf_err_set(err, RF_EPARSE, "copies %u out of range 1..%u", e->copies,
                          CP_COPIES_MAX);
    if (e->offset > CP_OFFSET_MAX)
        return rf_err_set(err, RF_EPARSE, "port offset %u out of range 0..%u", e->offset,
                          CP_OFFSET_MAX);
    if (e->sample_percent < 1 || e->sample_percent > 100)
        return rf_err_set(err, RF_EPARSE, "sample percent %u out of range 1..100",
                          e->sample_percent);
    if (e->session_timeout_ms < 1000 || e->session_timeout_ms > CP_TIMEOUT_MAX_S * 1000u)
        return rf_err_set(err, RF_EPARSE, "session timeout %u s out of range 1..%u",
                          e->session_timeout_ms / 1000, CP_TIMEOUT_MAX_S);
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
    if (cfg->offline[0])
        fprintf(fp, "speed           %g\n", cfg->speed);
    fprintf(fp, "pcap buffer     %u MB\n", cfg->pcap_buffer_mb);
    fprintf(fp, "responses       %s\n",
            cfg->lazy_responses ? "lazy (once per tick unless awaited)" : "read as they arrive");
    fprintf(fp, "send path       %s\n",
            cfg->raw_send ? "raw socket" : "link layer where the next hop resolves, else raw socket");
    if (cfg->fanout_group)
        fprintf(fp, "fanout group    %u\n", cfg->fanout_group);
    if (cfg->daemonize || cfg->pid_file[0])
        fprintf(fp, "daemon          %s, pid file %s\n", cfg->daemonize ? "yes" : "no",
                cfg->pid_file[0] ? cfg->pid_file : "-");
    if (cfg->log_file[0])
        fprintf(fp, "log file        %s\n", cfg->log_file);
    for (unsigned i = 0; i < cfg->nifaces; i++)
        fprintf(fp, "interface       %s\n", cfg->ifaces[i]);
}

/* ---- --check-config: read-only checks of the environment ------------- */

static void
add_line(char *err, size_t len, unsigned *n, const char *fmt, ...)
{
    size_t used = strlen(err);
    if (used + 2 >= len)
        return;
    if (used > 0)
        err[used++] = '\n', err[used] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + used, len - used, fmt, ap);
    va_end(ap);
    (*n)++;
}

/* Is there a route to host (numeric IPv4)? A connected UDP socket asks the
 * kernel without sending anything. */
static int
routable(const char *host, uint16_t port, int *eno)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        *eno = EINVAL;
        return 0;
    }
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *eno = errno;
        return 0;
    }
    int ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    *eno = ok ? 0 : errno;
    close(fd);
    return ok;
}

static void
check_dir_writable(char *err, size_t len, unsigned *n, const char *flag, const char *path)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    if (access(dir, W_OK) != 0)
        add_line(err, len, n, "%s %s: directory %s is not writable (%s)", flag, path, dir,
                 strerror(errno));
}

int
cp_opts_check_env(const cp_config_t *cfg, char *err, size_t len)
{
    unsigned n = 0;
    err[0] = '\0';
    if (cfg->offline[0]) {
        /* readable, and a pcap (classic or nanosecond, either byte order) or pcapng */
        FILE *fp = fopen(cfg->offline, "rb");
        unsigned char m[4];
        if (fp == NULL) {
            add_line(err, len, &n, "--offline %s: %s", cfg->offline, strerror(errno));
        } else {
            size_t got = fread(m, 1, 4, fp);
            fclose(fp);
            uint32_t v = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
            if (got != 4 || (v != 0xa1b2c3d4u && v != 0xd4c3b2a1u && v != 0xa1b23c4du &&
                             v != 0x4d3cb2a1u && v != 0x0a0d0d0au))
                add_line(err, len, &n, "--offline %s: not a pcap file (magic %02x%02x%02x%02x)",
                         cfg->offline, got > 0 ? m[0] : 0, got > 1 ? m[1] : 0, got > 2 ? m[2] : 0,
                         got > 3 ? m[3] : 0);
        }
    } else {
        for (unsigned i = 0; i < cfg->nifaces; i++) {
            if (strcmp(cfg->ifaces[i], "any") == 0)
                continue;
            if (if_nametoindex(cfg->ifaces[i]) == 0) {
                struct stat st;
                /* tcpcopy's offline builds take the pcap file with -i */
                if (stat(cfg->ifaces[i], &st) == 0 && S_ISREG(st.st_mode))
                    add_line(err, len, &n,
                             "-i %s: no such interface, but a file of that name exists: "
                             "replay a pcap file with --offline %s",
                             cfg->ifaces[i], cfg->ifaces[i]);
                else
                    add_line(err, len, &n, "-i %s: no such network interface", cfg->ifaces[i]);
            }
        }
    }
    for (unsigned i = 0; i < cfg->nicpt; i++) {
        int e;
        if (!routable(cfg->icpt[i].host, cfg->icpt[i].port, &e))
            add_line(err, len, &n, "-s %s:%u: no route to the intercept (%s)", cfg->icpt[i].host,
                     cfg->icpt[i].port, strerror(e));
    }
    if (cfg->controller[0]) {
        char h[64];
        uint16_t p;
        int e;
        if (rf_parse_hostport(cfg->controller, h, sizeof(h), &p, RF_PORT_CONTROL) == 0 &&
            !routable(h, p, &e))
            add_line(err, len, &n, "--controller %s: no route (%s)", cfg->controller, strerror(e));
    }
    for (unsigned i = 0; i < cfg->eng.nrules; i++) {
        const rf_rule_t *r = &cfg->eng.rules[i];
        char ip[INET_ADDRSTRLEN];
        struct in_addr a = { .s_addr = htonl(r->target_ip) };
        inet_ntop(AF_INET, &a, ip, sizeof(ip));
        int e;
        if (!routable(ip, r->target_port, &e))
            add_line(err, len, &n, "-x: no route to target %s (%s)", ip, strerror(e));
    }
    if (cfg->log_file[0])
        check_dir_writable(err, len, &n, "--log-file", cfg->log_file);
    if (cfg->pid_file[0])
        check_dir_writable(err, len, &n, "--pid-file", cfg->pid_file);
    if (cfg->stats_json[0] && strcmp(cfg->stats_json, "-") != 0)
        check_dir_writable(err, len, &n, "--stats-json", cfg->stats_json);
    return n ? RF_EPARSE : 0;
}
