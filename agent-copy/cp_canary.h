/* cp_canary.h -- doctor probes: one canary connection attempt per transfer
 * rule, from this agent's own client range, to find where replay breaks:
 * the send, the target's route back through the assistant, the intercept,
 * or the target port (pure: builds packets, matches responses, decides). */
#ifndef CP_CANARY_H
#define CP_CANARY_H

#include <stddef.h>
#include <stdint.h>

#include "rf_cidr.h"
#include "rf_rule.h"

/* Same numbers as rfpb CanaryStage. */
enum {
    CP_CANARY_OK = 0,
    CP_CANARY_NOT_SENT = 1,
    CP_CANARY_NO_SYNACK = 2,
    CP_CANARY_WRONG_ROUTE = 3,
    CP_CANARY_LATE = 4,
    CP_CANARY_NO_INTERCEPT = 5,
    CP_CANARY_RESET = 6,
};

/* Canary source ports: below 1024, which cp_map never produces (original
 * ports >= 1024 map into 1024..65535), so a probe cannot collide with a
 * replayed session. */
#define CP_CANARY_PORT_BASE 990u

typedef struct {
    rf_rule_t rule;
    uint32_t  src_ip;
    uint16_t  src_port;
    uint32_t  isn;
    uint64_t  sent_ms;
    int       stage;        /* -1 while waiting */
    int       send_errno;
    uint32_t  rtt_us;
    uint32_t  t_seq;        /* SYN-ACK seq, to reset the half-open socket */
} cp_probe_t;

typedef struct {
    uint64_t   id;
    int        active;
    unsigned   n;
    cp_probe_t p[RF_RULES_MAX];
    uint64_t   start_ms, deadline_ms, late_ms;
} cp_canary_t;

/* Prepare one probe per rule. Returns the number of probes. */
unsigned cp_canary_begin(cp_canary_t *c, uint64_t id, const rf_rule_t *rules, unsigned nrules,
                         const rf_cidr_t *range, uint32_t timeout_ms, uint64_t now_ms,
                         uint32_t seed);
/* SYN (or RST after a SYN-ACK) of probe i into buf (>= 64 bytes). */
size_t cp_canary_syn(const cp_canary_t *c, unsigned i, uint8_t *buf);
size_t cp_canary_rst(const cp_canary_t *c, unsigned i, uint8_t *buf);
/* Record the send result of probe i (0 or an errno). */
void cp_canary_sent(cp_canary_t *c, unsigned i, int err, uint64_t now_ms);
/* A response header from an intercept. Returns the probe index it answered
 * (>= 0; consumed), or -1 if it is not for a canary. */
int cp_canary_on_response(cp_canary_t *c, const uint8_t *hdr, size_t len, uint64_t now_ms);
/* 1 when every probe has a stage or the deadline passed (stragglers become
 * NO_SYNACK). */
int cp_canary_done(cp_canary_t *c, uint64_t now_ms);
/* One-line diagnosis for a probe. */
void cp_canary_detail(const cp_probe_t *p, char *buf, size_t len);

#endif
