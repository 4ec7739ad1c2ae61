/* cp_hops.h -- the link-layer next hop of each target the agent sends to
 * (pure: a small table; cp_nexthop.c asks the kernel, cp_tx.c sends).
 * A target whose next hop is known (interface, MAC, MTU) is sent with
 * AF_PACKET, past the capture host's IP output, netfilter and qdisc; one
 * that is not (no neighbour entry yet, a local or non-Ethernet route, the
 * table full) goes through the raw IP socket as before, which also makes
 * the kernel resolve its neighbour. */
#ifndef CP_HOPS_H
#define CP_HOPS_H

#include <stddef.h>
#include <stdint.h>

/* Targets tracked; more (32 rules x 8 target groups is possible, a few is
 * usual) are sent through the raw socket. */
#define CP_HOPS_MAX 64u

typedef struct {
    uint32_t daddr;      /* target, host order */
    int      ifindex;    /* 0: no usable next hop -> raw socket */
    uint32_t mtu;        /* the interface's: longer packets go raw */
    uint8_t  mac[6];     /* next hop's link-layer address */
    uint8_t  via_ip;     /* the next packet goes through the IP stack (once per
                          * refresh), so the kernel keeps its neighbour entry
                          * verified: a stale entry is probed and a changed
                          * MAC learnt, then read at the next refresh */
    int      why;        /* last resolution result (cp_nexthop.h CP_NH_*) */
} cp_hop_t;

typedef struct {
    cp_hop_t e[CP_HOPS_MAX];
    unsigned n;
    unsigned last;       /* the last entry found: most packets go to one target */
} cp_hops_t;

/* daddr's entry, added (unresolved) when new; NULL when the table is full. */
cp_hop_t *cp_hops_get(cp_hops_t *t, uint32_t daddr);

/* Whether a packet of len bytes to h goes out at the link layer now;
 * consumes h->via_ip (that packet goes through the IP stack instead). */
int cp_hops_use_link(cp_hop_t *h, size_t len);

/* Entries with a usable next hop. */
unsigned cp_hops_linked(const cp_hops_t *t);

#endif
