/* cp_stats.c -- the name table behind Stats messages and --stats-json. */
#include "cp_stats.h"

#define C(f) RF_COUNTER(cp_stats_t, f)
const rf_counter_def_t cp_stats_defs[] = {
    C(cap_pkts), C(cap_bytes), C(kernel_drops), C(reverse_kernel_drops),
    C(bad_pkts), C(no_rule), C(shard_out), C(sampled_out), C(midstream_pkts), C(shed_pkts),
    C(pure_acks), C(client_dups), C(accepted_pkts), C(server_pkts),
    C(replayed_pkts), C(replayed_bytes), C(send_errors), C(retransmits), C(syn_retransmits),
    C(orig_sessions), C(sess_active), C(sess_opened), C(sess_completed), C(sess_timedout), C(sess_reset),
    C(sess_skipped_midstream), C(sess_shed), C(sess_rate_limited), C(sess_aborted),
    C(port_collisions), C(stale_resets),
    C(causal_held), C(causal_released), C(causal_timeouts), C(causal_sess_unordered),
    C(causal_by_reverse), C(causal_by_fallback),
    C(resp_received), C(resp_unmatched), C(resp_bad), C(icpt_up),
    C(decap_vlan), C(decap_vxlan), C(decap_gre), C(decap_erspan),
    C(decap_not_ip), C(decap_not_tcp), C(decap_truncated), C(decap_bad_encap), C(decap_vni_filtered),
    C(generation),
};
#undef C
const unsigned cp_stats_ndefs = sizeof(cp_stats_defs) / sizeof(cp_stats_defs[0]);
