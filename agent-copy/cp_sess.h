/* cp_sess.h -- the replay engine: session table, held client data,
 * retransmission, timeouts; drives cp_fsm (pure: no uv.h, no pcap.h, no
 * protobuf; time comes in as now_ms; packets leave through a sink).
 *
 * Memory: every table and pool is sized once from the memory budget at
 * creation. Nothing is allocated per packet. When the pools are full, new
 * sessions are shed (counted) -- the process never exits for memory. */
#ifndef CP_SESS_H
#define CP_SESS_H

#include <stddef.h>
#include <stdint.h>

#include "cp_map.h"
#include "cp_stats.h"
#include "rf_cidr.h"
#include "rf_rule.h"

/* One target group (replayd's plan target_groups[i], Assignment.outputs):
 * every captured session is replayed once per output (times its copies),
 * to the output's target for the matching rule, from the output's own
 * client range. Ranges of two outputs are disjoint (the controller splits
 * the agent's slot), so their replayed 4-tuples never meet. */
#define CP_OUTPUTS_MAX 8
typedef struct {
    uint32_t  target_ip[RF_RULES_MAX];     /* rules[i]'s target for this output */
    uint16_t  target_port[RF_RULES_MAX];
    rf_cidr_t range;                       /* used when has_range */
    unsigned  copies, offset, sample_percent;
    uint64_t  rate_limit_pps;              /* 0: unlimited */
} cp_output_t;

typedef struct {
    rf_rule_t rules[RF_RULES_MAX];
    unsigned  nrules;
    int       has_range;          /* 0: keep the original client address */
    rf_cidr_t range;
    unsigned  copies;             /* 1..1023 */
    unsigned  offset;             /* 0..1023 */
    unsigned  sample_percent;     /* 1..100 */
    unsigned  shard_idx, shard_n; /* n <= 1: no sharding */
    /* capture group (replayd): flows whose bucket is not in the set are
     * another member's, except those this engine already replays, which it
     * finishes (a re-shard moves new flows only) */
    cp_shard_t shard;
    uint32_t  session_timeout_ms;
    uint32_t  causal_timeout_ms;  /* longest causal hold; 0: causal order off */
    uint64_t  rate_limit_pps;     /* 0: unlimited */
    uint16_t  mtu, mss;
    int       adopt_midstream;
    /* 0: one output made of rules' targets, range, copies, offset,
     * sample_percent and rate_limit_pps above; else these (replayd). */
    cp_output_t outputs[CP_OUTPUTS_MAX];
    unsigned  noutputs;
    size_t    memory_bytes;       /* only read at creation */
} cp_engine_cfg_t;

/* Where packets go. `emit` gets a complete IPv4 datagram (checksums set)
 * that it must copy before returning. `tuple` (may be NULL) is told about
 * replayed 4-tuples outside any owned range, so an intercept can route
 * their responses (standalone mode without -c). Host byte order. */
typedef struct {
    void (*emit)(void *ctx, const uint8_t *ip, size_t len, uint32_t daddr);
    void (*tuple)(void *ctx, int add, uint32_t cip, uint16_t cport, uint32_t tip,
                  uint16_t tport);
} cp_sink_t;

typedef struct cp_engine cp_engine_t;

/* Returns NULL when the budget cannot hold even a minimal table. */
cp_engine_t *cp_engine_new(const cp_engine_cfg_t *cfg, const cp_sink_t *sink, void *sink_ctx,
                           uint64_t now_ms);
void         cp_engine_free(cp_engine_t *e);
/* New assignment: applies to sessions created from now on; live sessions
 * keep their replayed tuple and target, so nothing is dropped. */
void         cp_engine_reconfigure(cp_engine_t *e, const cp_engine_cfg_t *cfg);

/* One captured IPv4 datagram (borrowed, read only): client->server, or
 * server->client (the reverse direction, headers suffice), which only
 * teaches the causal order. */
void cp_engine_on_client(cp_engine_t *e, const uint8_t *ip, size_t len, uint64_t now_ms);
/* One response header (IP+TCP with options, payload absent) from an
 * intercept. */
void cp_engine_on_response(cp_engine_t *e, const uint8_t *hdr, size_t len, uint64_t now_ms);
/* Send the ACKs owed to the target; call after a batch of responses. */
void cp_engine_flush(cp_engine_t *e, uint64_t now_ms);
/* Timers: retransmission, idle timeout, TIME_WAIT. Call every few ms. */
void cp_engine_tick(cp_engine_t *e, uint64_t now_ms);
/* Reset every live session towards the target (orderly shutdown). */
void cp_engine_abort_all(cp_engine_t *e, uint64_t now_ms);
/* With no session live: give the pages the session table, the held-segment
 * pools and the indexes touched back to the kernel (a burst's memory
 * shrinks back to the idle footprint). Not for the packet path: a few
 * madvise calls; the loop calls it once idle. Bytes released (0 when
 * sessions live or too little was touched to be worth it). */
size_t cp_engine_trim(cp_engine_t *e);

cp_stats_t *cp_engine_stats(cp_engine_t *e);
/* 1 if a captured datagram of ip_len bytes would find a session (for each
 * copy) and held-segment slots; an offline reader waits while it is 0
 * instead of making the engine shed. Conservative; ignores the per-session
 * slot cap. */
int         cp_engine_has_room(const cp_engine_t *e, size_t ip_len);
size_t      cp_engine_session_capacity(const cp_engine_t *e);
/* Sessions holding a captured segment they could not send yet: each waits
 * on the target (SYN-ACK, the answer the causal order needs, the window).
 * While 0 no response is urgent: the loop may read them at its own pace. */
uint32_t    cp_engine_waiting(const cp_engine_t *e);
size_t      cp_engine_session_bytes(void);   /* fixed cost per session */

/* Walk every pool, queue, index chain and wheel bucket and check they agree
 * (counts, links, buckets). O(sessions + slots + buckets): for tests and
 * fuzz_engine between calls, never the packet path. 0, or -1 with what is
 * wrong in why. */
int         cp_engine_check(cp_engine_t *e, char *why, size_t len);

#endif
