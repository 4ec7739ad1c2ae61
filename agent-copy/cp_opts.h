/* cp_opts.h -- replay-copy's flags (tcpcopy-compatible) and config file
 * into cp_config_t (pure: no I/O besides reading --config). */
#ifndef CP_OPTS_H
#define CP_OPTS_H

#include <stdint.h>

#include "cp_sess.h"
#include "rf_err.h"

#define CP_MAX_ICPT 32
#define CP_MAX_IFACES 8
#define CP_MAX_ALLOW 16

/* Limits of the replay parameters, whether from flags or an Assignment. */
#define CP_COPIES_MAX     1023
#define CP_OFFSET_MAX     1023
#define CP_RANGE_MIN_LEN  8        /* client range /8 or narrower */
#define CP_TIMEOUT_MAX_S  86400

typedef struct {
    char     host[64];
    uint16_t port;
    int      has_psk;       /* TLS pair key from the controller's Assignment */
    uint8_t  psk[32];
} cp_endpoint_t;

typedef struct {
    cp_engine_cfg_t eng;
    int             have_rules;
    cp_endpoint_t   icpt[CP_MAX_ICPT];
    unsigned        nicpt;
    char            ifaces[CP_MAX_IFACES][32];
    unsigned        nifaces;
    char            filter[1024];
    char            offline[1024];
    double          speed;             /* offline: 1 = real time, 0 = max */
    char            stats_json[1024];
    unsigned        stats_interval_s;
    char            controller[80];
    char            id[64];
    char            key_file[1024];
    rf_cidr_t       allow[CP_MAX_ALLOW];
    unsigned        nallow;
    char            log_level[16];
    char            log_file[1024];
    unsigned        duration_s;        /* 0 = run until signalled */
    int             check_config;
    int             promisc;
    int             tunnels;           /* accept VXLAN/GRE/ERSPAN mirror transports */
    uint16_t        vxlan_port;
    int32_t         vni;               /* -1 = any */
    unsigned        pcap_buffer_mb;
    char            user[64];
    unsigned        capture_latency_ms;
    int             no_reverse;     /* --no-reverse-capture */
    int             lazy_responses; /* 1 unless --eager-responses: cp_loop.c icpt_read_pace */
    int             raw_send;          /* --send-path raw: never at the link layer (cp_tx.h) */
    unsigned        max_copies;        /* local cap on assigned copies */
    int             nice;              /* scheduling priority, -20..19 */
    unsigned        fanout_group;      /* PACKET_FANOUT group id, 0 = none */
    int             doctor;            /* probe each rule once, print, exit */
    /* tcpcopy-compatible process flags */
    int             daemonize;         /* -d */
    char            pid_file[1024];    /* -P */
    uint16_t        icpt_port;         /* -p: port of -s entries without one */
    unsigned        snaplen;           /* -S as given (checked, not applied: see cp_opts.c) */
} cp_config_t;

/* Parse argv (after --config merging). Returns 0, 1 when --help/--version
 * was printed, or RF_EPARSE with the flag and reason in err. */
int  cp_opts_parse(cp_config_t *cfg, int argc, char **argv, rf_errbuf_t *err);
/* Cross-flag checks (rules present unless --controller, targets inside
 * the allow-list, ...). */
int  cp_opts_validate(const cp_config_t *cfg, rf_errbuf_t *err);
/* The replay parameters in cfg->eng, wherever they came from (the command
 * line or a controller Assignment, cp_ctl.c): client range /8 or narrower
 * and holding no target, every target inside --allow-target, copies,
 * offset, sample and session timeout in range. One set of checks and
 * messages for both; 0 or RF_EPARSE with the reason in err. */
int  cp_opts_check_replay(const cp_config_t *cfg, rf_errbuf_t *err);
/* Is every rule's target inside the allow-list (empty list: all allowed)? */
int  cp_opts_target_allowed(const cp_config_t *cfg, const rf_rule_t *rules, unsigned n,
                            rf_errbuf_t *err);
/* -c: a CIDR, an address, tcpcopy's A.B.C.x / A.B.C.* form, or a comma
 * list of these that makes up exactly one CIDR block. */
int  cp_opts_parse_clients(rf_cidr_t *out, const char *list, rf_errbuf_t *err);
/* --check-config, without side effects: every capture interface exists,
 * the offline file is a readable pcap, the intercepts and controller are
 * numeric addresses with a route, the key file loads, the log/pid files'
 * directories are writable. Every problem, one per line, in err; 0 if none. */
int  cp_opts_check_env(const cp_config_t *cfg, char *err, size_t errlen);
void cp_opts_usage(FILE *fp);
void cp_opts_print(FILE *fp, const cp_config_t *cfg);

#endif
