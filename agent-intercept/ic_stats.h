/* ic_stats.h -- replay-intercept counters: one struct, one name table.
 * The same table feeds --stats-json, the controller's Stats message and the
 * tests. Loss accounting: once batches are flushed, every captured packet is
 * in exactly one of bad_pkts, resp_forwarded, resp_lost, resp_unroutable,
 * resp_park_expired or parked_now (docs/INTERCEPT.md). Gauges are marked. */
#ifndef IC_STATS_H
#define IC_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "rf_counters.h"

typedef struct {
    /* capture */
    uint64_t cap_pkts;          /* packets handed to us by libpcap */
    uint64_t cap_bytes;         /* their wire length */
    uint64_t kernel_drops;      /* pcap_stats ps_drop (cumulative, from the kernel) */
    uint64_t bad_pkts;          /* not IPv4/TCP, truncated headers, fragments */
    uint64_t cap_errors;        /* pcap_dispatch errors */
    /* where responses went */
    uint64_t resp_forwarded;    /* headers in batches queued to a copy agent */
    uint64_t resp_lost;         /* headers in batches that could not be queued */
    uint64_t resp_unroutable;   /* no owner, not parked */
    uint64_t resp_parked;       /* SYN/RST parked for a late owner (event) */
    uint64_t resp_unparked;     /* parked, then delivered */
    uint64_t resp_park_expired; /* parked, never claimed */
    uint64_t park_full;         /* park ring full: counted unroutable */
    uint64_t parked_now;        /* gauge */
    uint64_t batches_sent;
    /* copy agents */
    uint64_t copy_conns;        /* gauge: authenticated copy connections */
    uint64_t copy_accepted;     /* TCP connections accepted */
    uint64_t copy_refused;      /* over the connection cap */
    uint64_t auth_failures;     /* Hello refused (MAC, role, version, loopback rule) */
    uint64_t hs_timeouts;       /* no Hello within the handshake deadline */
    uint64_t proto_errors;      /* message out of place or invalid: closed */
    uint64_t slow_peers;        /* write queue over its cap: closed (all channels) */
    uint64_t bad_frames;        /* oversize or undecodable frames: closed (all channels) */
    /* routing table */
    uint64_t prefixes_active;   /* gauge */
    uint64_t route_overlaps;    /* a claimed prefix overlaps another agent's */
    uint64_t tuples_registered; /* TupleRegister adds accepted */
    uint64_t tuples_active;     /* gauge */
    uint64_t tuples_expired;    /* idle past the TTL, or owner gone */
    uint64_t tuples_full;       /* adds refused: table at its cap */
    /* controller */
    uint64_t ctl_up;            /* gauge: 1 when the controller channel is up */
} ic_stats_t;

extern const rf_counter_def_t ic_stats_defs[];
extern const size_t           ic_stats_ndefs;

#endif
