/* ic_stats.c -- the name table of ic_stats_t (order = output order), with
 * the Prometheus name, type and help of replayfleet_intercept_*. One row
 * per counter. */
#include "ic_stats.h"

#define C(f, prom, help) RF_COUNTER(ic_stats_t, f, prom, help)
#define G(f, prom, help) RF_GAUGE(ic_stats_t, f, prom, help)

const rf_counter_def_t ic_stats_defs[] = {
    C(cap_pkts, "captured_packets_total", "Target response packets the capture handed to the intercept."),
    C(cap_bytes, "captured_bytes_total", "Wire bytes of the captured response packets."),
    C(kernel_drops, "kernel_dropped_packets_total", "Packets the kernel dropped before the capture read them."),
    C(bad_pkts, "malformed_packets_total", "Captured packets that are not IPv4/TCP, truncated, or fragments."),
    C(cap_errors, "capture_errors_total", "pcap_dispatch errors."),
    C(resp_forwarded, "responses_forwarded_total", "Response headers queued to a copy agent."),
    C(resp_lost, "responses_lost_total", "Response headers in batches that could not be queued to their copy agent."),
    C(resp_unroutable, "responses_unroutable_total", "Response headers with no owning copy agent (not parked)."),
    C(resp_parked, "responses_parked_total", "SYN-ACK/RST headers parked for an owner not registered yet."),
    C(resp_unparked, "responses_unparked_total", "Parked headers later delivered to their owner."),
    C(resp_park_expired, "responses_park_expired_total", "Parked headers never claimed."),
    C(park_full, "park_full_total", "Headers not parked because the park ring was full (counted unroutable)."),
    G(parked_now, "responses_parked", "Response headers parked now."),
    C(batches_sent, "batches_sent_total", "Response batches sent to copy agents."),
    G(copy_conns, "copy_connections", "Authenticated copy agent connections now."),
    C(copy_accepted, "copy_connections_accepted_total", "TCP connections accepted from copy agents."),
    C(copy_refused, "copy_connections_refused_total", "Copy agent connections refused over the connection cap."),
    C(auth_failures, "auth_failures_total", "Hellos refused (MAC, role, version, loopback rule)."),
    C(hs_timeouts, "handshake_timeouts_total", "Connections closed without a Hello within the deadline."),
    C(proto_errors, "protocol_errors_total", "Connections closed for a message out of place or invalid."),
    C(slow_peers, "slow_peers_total", "Connections closed because their write queue passed its cap."),
    C(bad_frames, "bad_frames_total", "Connections closed for an oversize or undecodable frame."),
    G(prefixes_active, "prefixes_active", "Client prefixes claimed by copy agents now."),
    C(route_overlaps, "route_overlaps_total", "Claimed prefixes that overlap another agent's."),
    C(tuples_registered, "tuples_registered_total", "Replayed 4-tuples registered by copy agents."),
    G(tuples_active, "tuples_active", "Registered 4-tuples now."),
    C(tuples_expired, "tuples_expired_total", "Registered 4-tuples expired (idle or owner gone)."),
    C(tuples_full, "tuples_full_total", "Tuple registrations refused: table full."),
    G(ctl_up, "controller_connected", "1 when the controller channel is up."),
};
#undef C
#undef G
const size_t ic_stats_ndefs = sizeof(ic_stats_defs) / sizeof(ic_stats_defs[0]);
