/* cp_stats.c -- the name table behind Stats messages, --stats-json and the
 * Prometheus families replayfleet_copy_* (type and help declared here).
 * One row per counter. */
#include "cp_stats.h"

#define C(f, prom, help) RF_COUNTER(cp_stats_t, f, prom, help)
#define G(f, prom, help) RF_GAUGE(cp_stats_t, f, prom, help)
const rf_counter_def_t cp_stats_defs[] = {
    C(cap_pkts, "captured_packets_total", "Packets the capture handed to the agent (live or offline)."),
    C(cap_bytes, "captured_bytes_total", "Wire bytes of the captured packets."),
    C(kernel_drops, "kernel_dropped_packets_total", "Packets the kernel dropped before the capture read them (ring full: raise --pcap-buffer-mb or CPU share)."),
    C(bad_pkts, "malformed_packets_total", "Captured packets that are not well-formed IPv4/TCP (truncated, fragments); not replayed."),
    C(no_rule, "unmatched_packets_total", "Captured packets that match no transfer rule."),
    C(shard_out, "other_shard_packets_total", "Captured packets of flows another copy agent replays (--shard)."),
    C(sampled_out, "sampled_out_packets_total", "Captured packets of sessions left out by sample_percent."),
    C(midstream_pkts, "midstream_packets_total", "Captured packets of sessions whose SYN was never seen (skipped unless --adopt-midstream)."),
    C(shed_pkts, "shed_packets_total", "Captured packets dropped because the session memory budget was full."),
    C(pure_acks, "pure_ack_packets_total", "Captured client pure ACKs (the replay acknowledges on its own)."),
    C(client_dups, "duplicate_packets_total", "Captured client retransmissions of data already queued."),
    C(accepted_pkts, "accepted_packets_total", "Captured packets taken into a replayed session."),
    C(server_pkts, "server_packets_total", "Online server replies read by the reverse capture (causal wait points)."),
    C(replayed_pkts, "replayed_packets_total", "Packets sent to the target (all copies, retransmissions included)."),
    C(replayed_bytes, "replayed_bytes_total", "Bytes sent to the target."),
    C(send_errors, "send_errors_total", "Packets the kernel refused to send (route, firewall, full buffer or device queue)."),
    C(link_pkts, "link_sent_packets_total", "Replayed packets sent at the link layer (AF_PACKET to the next hop's MAC; past this host's netfilter and qdisc)."),
    C(raw_pkts, "raw_sent_packets_total", "Replayed packets sent through the raw IP socket (--send-path raw, targets without a resolved Ethernet next hop, one per target per second to keep the neighbour entry verified)."),
    G(link_targets, "link_targets", "Targets whose next hop is resolved and sent to at the link layer."),
    C(retransmits, "retransmitted_packets_total", "Data packets retransmitted to the target after a timeout."),
    C(syn_retransmits, "syn_retransmits_total", "SYNs retransmitted to the target (no SYN-ACK came back through the intercept)."),
    C(orig_sessions, "captured_sessions_total", "Captured sessions that started replays (any number of copies)."),
    G(sess_active, "sessions_active", "Replay sessions open now (one per copy)."),
    C(sess_opened, "sessions_opened_total", "Replay sessions opened (one per copy)."),
    C(sess_completed, "sessions_completed_total", "Replay sessions that closed cleanly."),
    C(sess_timedout, "sessions_timed_out_total", "Replay sessions idle past the session timeout."),
    C(sess_reset, "sessions_reset_total", "Replay sessions the target reset with data still unacknowledged."),
    C(sess_skipped_midstream, "sessions_skipped_midstream_total", "Captured sessions skipped because their SYN was not seen."),
    C(sess_shed, "sessions_shed_total", "New sessions refused because the session memory budget was full."),
    C(sess_rate_limited, "sessions_rate_limited_total", "New sessions refused by the packet rate limit."),
    C(sess_aborted, "sessions_aborted_total", "Replay sessions aborted (queue full or no response for too long)."),
    C(port_collisions, "port_collisions_total", "Replayed source ports already in use; another port was probed."),
    C(stale_resets, "stale_resets_total", "RSTs sent to clear a stale connection the target still held."),
    G(held_bytes, "held_segment_bytes", "Slot memory the client segments held now take (waiting for the handshake, the target's answer or its window): the part of the footprint that follows the replay's lag."),
    C(causal_held, "causal_held_segments_total", "Client segments held until the target answered what the client had waited for."),
    C(causal_released, "causal_released_segments_total", "Held client segments released by the target's answer."),
    C(causal_timeouts, "causal_timeouts_total", "Held client segments sent after --causal-timeout-ms without the target's answer."),
    C(causal_sess_unordered, "causal_unordered_sessions_total", "Replay sessions in which at least one segment went out of causal order (timeout)."),
    C(causal_by_reverse, "causal_wait_points_reverse_total", "Wait points known from the online server's own replies (reverse capture)."),
    C(causal_by_fallback, "causal_wait_points_fallback_total", "Wait points inferred from the client's acks (tcpcopy's rule; no reverse capture)."),
    C(resp_received, "responses_received_total", "Target response headers received through the intercepts."),
    C(resp_unmatched, "responses_unmatched_total", "Response headers that matched no replay session (late or not ours)."),
    C(resp_bad, "responses_malformed_total", "Response headers from an intercept that do not parse."),
    G(icpt_up, "intercepts_connected", "Intercept connections up now."),
    C(decap_vlan, "decap_vlan_packets_total", "Mirrored packets stripped of a VLAN tag."),
    C(decap_vxlan, "decap_vxlan_packets_total", "Mirrored packets unwrapped from VXLAN."),
    C(decap_gre, "decap_gre_packets_total", "Mirrored packets unwrapped from GRE."),
    C(decap_erspan, "decap_erspan_packets_total", "Mirrored packets unwrapped from ERSPAN."),
    C(decap_not_ip, "decap_not_ip_packets_total", "Mirrored frames that are not IPv4."),
    C(decap_not_tcp, "decap_not_tcp_packets_total", "Mirrored packets that are not TCP."),
    C(decap_truncated, "decap_truncated_packets_total", "Mirrored packets cut short inside an encapsulation."),
    C(decap_bad_encap, "decap_malformed_packets_total", "Mirrored packets with a malformed encapsulation header."),
    C(decap_vni_filtered, "decap_vni_filtered_packets_total", "VXLAN packets of another VNI than --vni."),
    G(generation, "assignment_generation", "Generation of the assignment the agent runs (0: none)."),
    G(shard_buckets, "shard_buckets", "Flow-hash buckets this agent replays in its capture group (0: not sharded by replayd)."),
    C(shard_finishing, "shard_finishing_packets_total", "Packets of sessions whose flow moved to another capture-group member, finished here (also counted where they went)."),
    C(undelivered_pkts, "offline_undelivered_packets_total", "Packets of the --offline file never replayed: the agent stopped (--duration, signal) before it had read them."),
    C(offline_waits, "offline_waits_total", "Times the --offline reader waited for the engine to have room (backpressure instead of shedding)."),
    G(outputs, "target_group_outputs", "Target groups this agent replays to (0: none, the transfers' own targets)."),
};
#undef C
#undef G
const unsigned cp_stats_ndefs = sizeof(cp_stats_defs) / sizeof(cp_stats_defs[0]);

/* Per target group; replayd exports them as replayfleet_target_group_<prom>
 * with a group="NAME" label. */
#define O(f, prom, help) RF_COUNTER(cp_out_stats_t, f, prom, help)
const rf_counter_def_t cp_out_stats_defs[] = {
    O(sess_opened, "sessions_opened_total", "Replay sessions opened towards this target group."),
    O(replayed_pkts, "replayed_packets_total", "Packets sent to this target group's targets."),
    O(resp_received, "responses_received_total", "Response headers from this target group's targets."),
    O(sess_sampled_out, "sessions_sampled_out_total", "Captured sessions this group's sample_percent left out."),
    O(sess_rate_limited, "sessions_rate_limited_total", "Sessions not opened: this group's rate_limit_pps was spent."),
    O(sess_shed, "sessions_shed_total", "Sessions not opened for this group: memory full or no free replayed port."),
};
#undef O
const unsigned cp_out_stats_ndefs = sizeof(cp_out_stats_defs) / sizeof(cp_out_stats_defs[0]);
