/* ic_stats.c -- the name table of ic_stats_t (order = output order). */
#include "ic_stats.h"

#define C(f) RF_COUNTER(ic_stats_t, f)

const rf_counter_def_t ic_stats_defs[] = {
    C(cap_pkts),          C(cap_bytes),       C(kernel_drops),      C(bad_pkts),
    C(cap_errors),        C(resp_forwarded),  C(resp_lost),         C(resp_unroutable),
    C(resp_parked),       C(resp_unparked),   C(resp_park_expired), C(park_full),
    C(parked_now),        C(batches_sent),    C(copy_conns),        C(copy_accepted),
    C(copy_refused),      C(auth_failures),   C(hs_timeouts),       C(proto_errors),
    C(slow_peers),        C(bad_frames),      C(prefixes_active),   C(route_overlaps),
    C(tuples_registered), C(tuples_active),   C(tuples_expired),    C(tuples_full),
    C(ctl_up),
};
const size_t ic_stats_ndefs = sizeof(ic_stats_defs) / sizeof(ic_stats_defs[0]);
