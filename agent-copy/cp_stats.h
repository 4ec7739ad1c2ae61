/* cp_stats.h -- replay-copy counters: one field per counter, one name table.
 * Loss accounting: every captured packet ends in exactly one of
 *   bad_pkts, no_rule, shard_out, sampled_out, midstream_pkts, shed_pkts,
 *   pure_acks, client_dups, accepted_pkts, server_pkts
 * so cap_pkts == their sum (checked by tests). */
#ifndef CP_STATS_H
#define CP_STATS_H

#include <stdint.h>

#include "rf_counters.h"

/* Per output (target group) of a replayd plan with target_groups, sent as
 * "tgN_<name>" (N = the group's index in the plan). Sessions, not packets:
 * a captured session is replayed to some outputs and not others. */
typedef struct {
    uint64_t sess_opened, replayed_pkts, resp_received;
    uint64_t sess_sampled_out, sess_rate_limited, sess_shed;   /* drops */
} cp_out_stats_t;

typedef struct {
    /* capture */
    uint64_t cap_pkts, cap_bytes, kernel_drops;
    /* where every captured packet went */
    uint64_t bad_pkts, no_rule, shard_out, sampled_out, midstream_pkts, shed_pkts, pure_acks,
        client_dups, accepted_pkts, server_pkts;
    /* replay */
    uint64_t replayed_pkts, replayed_bytes, send_errors, retransmits, syn_retransmits;
    /* which way they left (cp_tx.h): link layer or raw socket */
    uint64_t link_pkts, raw_pkts, link_targets;
    /* sessions (one per copy) */
    uint64_t orig_sessions;   /* captured sessions that started replays (any copies) */
    uint64_t sess_active, sess_opened, sess_completed, sess_timedout, sess_reset,
        sess_skipped_midstream, sess_shed, sess_rate_limited, sess_aborted;
    uint64_t port_collisions, stale_resets;
    /* slot memory the held client segments take now (gauge) */
    uint64_t held_bytes;
    /* causal order: segments held until the target answered the turn the
     * client had waited for; how their wait point was known */
    uint64_t causal_held, causal_released, causal_timeouts, causal_sess_unordered;
    uint64_t causal_by_reverse, causal_by_fallback;
    /* feedback */
    uint64_t resp_received, resp_unmatched, resp_bad, icpt_up;
    /* decapsulation of mirrored traffic */
    uint64_t decap_vlan, decap_vxlan, decap_gre, decap_erspan;
    uint64_t decap_not_ip, decap_not_tcp, decap_truncated, decap_bad_encap, decap_vni_filtered;
    uint64_t generation;
    /* capture group: buckets of the flow hash this agent replays (0: no
     * set), and packets of flows whose bucket moved away that it finished
     * (counted in addition to where they went above) */
    uint64_t shard_buckets, shard_finishing;
    /* offline (--offline): packets of the file never handed to the engine
     * (the agent stopped first), and times the reader waited for room */
    uint64_t undelivered_pkts, offline_waits;
    /* target groups: outputs in force (0: none, one implicit output) */
    uint64_t outputs;
    cp_out_stats_t out[8];   /* CP_OUTPUTS_MAX */
} cp_stats_t;

extern const rf_counter_def_t cp_stats_defs[];
extern const unsigned cp_stats_ndefs;
/* cp_out_stats_t's fields (offsets into one cp_out_stats_t). */
extern const rf_counter_def_t cp_out_stats_defs[];
extern const unsigned cp_out_stats_ndefs;

#endif
