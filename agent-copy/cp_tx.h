/* cp_tx.h -- the agent's packet sink: packets are copied into a batch and
 * sent with one sendmmsg() per flush (per loop turn, or when a batch is
 * full). Two ways out:
 *  - the link layer (default): an AF_PACKET socket with PACKET_QDISC_BYPASS,
 *    to the target's next-hop MAC (cp_hops.h, refreshed every second by
 *    cp_nexthop.c). It skips the capture host's route lookup, netfilter
 *    and conntrack (docs/DEPLOY.md's NOTRACK rule is not needed), its qdisc
 *    and its packet taps (tcpdump on the capture host does not see the
 *    replay, and neither does the agent's own capture filter);
 *  - the raw IPv4 socket (IPPROTO_RAW), for targets with no usable next
 *    hop (local or non-Ethernet route, neighbour not resolved yet: its
 *    packets make the kernel resolve it), packets over the interface MTU,
 *    one packet per target per refresh (keeps the kernel's neighbour entry
 *    verified) and everything with --send-path raw.
 * Per target the packets leave in the order they were emitted, whichever
 * way each goes. Send errors are counted and never end the process
 * (tcpcopy exits on EPERM/EMSGSIZE: #262, #388). */
#ifndef CP_TX_H
#define CP_TX_H

#include <stddef.h>
#include <stdint.h>

typedef struct cp_tx cp_tx_t;

typedef struct {
    uint64_t *errors;         /* packets refused, either way (may be NULL) */
    uint64_t *link_pkts;      /* sent at the link layer */
    uint64_t *raw_pkts;       /* sent through the raw socket */
    uint64_t *link_targets;   /* gauge: targets with a resolved next hop */
} cp_tx_counters_t;

/* Opens the raw socket (needs CAP_NET_RAW) and, with link, the AF_PACKET
 * socket and the netlink resolver; when those fail the sink still opens,
 * raw only, and *why says why (empty otherwise). 0 or -errno. */
int  cp_tx_open(cp_tx_t **out, unsigned batch, size_t max_pkt, int link, cp_tx_counters_t counters,
                char *why, size_t whylen);
void cp_tx_emit(void *ctx, const uint8_t *ip, size_t len, uint32_t daddr);
void cp_tx_flush(cp_tx_t *s);
/* Re-resolve every target's next hop (a few netlink round trips each)
 * when a second has passed since the last time or a new target appeared;
 * call it from a timer (the agent's tick), never per packet. Logs what
 * changed. */
void cp_tx_refresh(cp_tx_t *s, uint64_t now_ms);
/* How a packet to daddr leaves now, resolving its next hop first: "at the
 * link layer on eth0 to 02:..." or "through the raw socket (why)". For the
 * doctor: a netlink round trip, never per packet. */
void cp_tx_describe(cp_tx_t *s, uint32_t daddr, char *buf, size_t len);
void cp_tx_close(cp_tx_t *s);
int  cp_tx_last_errno(const cp_tx_t *s);
/* One packet now through the raw socket, bypassing the batch (doctor
 * probes need the errno). Returns 0 or an errno. */
int  cp_tx_send_now(cp_tx_t *s, const uint8_t *ip, size_t len, uint32_t daddr);

#endif
