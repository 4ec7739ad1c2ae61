/* cp_nexthop.h -- where the kernel would send a packet to one target: the
 * route's output interface and gateway (RTM_GETROUTE), that next hop's MAC
 * (RTM_GETNEIGH) and the interface's type and MTU (ioctl). Asked over
 * rtnetlink with libmnl once per target per refresh (cp_tx.c: every
 * second), never per packet, and with no privilege (the agent has dropped
 * it by then). The route is asked by destination only, as the raw socket's
 * own lookup does (IP_HDRINCL: the packet's source plays no part). */
#ifndef CP_NEXTHOP_H
#define CP_NEXTHOP_H

#include <stddef.h>
#include <stdint.h>

#include "cp_hops.h"

enum {
    CP_NH_OK = 0,
    CP_NH_NOROUTE,      /* no route to the target (the kernel said so) */
    CP_NH_NOTUNICAST,   /* a local, blackhole or unreachable route: the IP stack's business */
    CP_NH_NOTETHER,     /* the output interface is not Ethernet (loopback, tunnel...) */
    CP_NH_NONEIGH,      /* no valid neighbour entry yet (the raw socket's packets make one) */
    CP_NH_ERROR,        /* the netlink exchange or an ioctl failed */
};

typedef struct {
    int      type;      /* RTN_* */
    int      ifindex;   /* RTA_OIF */
    uint32_t gw;        /* RTA_GATEWAY, host order; 0: on-link (the target itself) */
} cp_route_t;

typedef struct cp_nexthop cp_nexthop_t;

/* A NETLINK_ROUTE socket and an ioctl socket. 0 or -errno. */
int  cp_nexthop_open(cp_nexthop_t **out);
void cp_nexthop_close(cp_nexthop_t *r);

/* Resolve daddr (host order) into h: on CP_NH_OK, h->ifindex, mac and mtu
 * are set; otherwise h->ifindex is 0. h->why is set either way. */
int cp_nexthop_resolve(cp_nexthop_t *r, uint32_t daddr, cp_hop_t *h);

/* A few words for a log line: "no neighbour entry yet". */
const char *cp_nexthop_why(int code);

/* The reply parsers (pure, for tests): one kernel answer of len bytes to
 * request seq from portid (0: unchecked). CP_NH_* (an NLMSG_ERROR reply:
 * CP_NH_NOROUTE / CP_NH_NONEIGH for ENOENT, ENETUNREACH and the like,
 * CP_NH_ERROR for anything else or a malformed message), or -1 for an
 * answer to another request (read the next one). */
int cp_nexthop_parse_route(const void *buf, size_t len, unsigned seq, unsigned portid,
                           cp_route_t *out);
int cp_nexthop_parse_neigh(const void *buf, size_t len, unsigned seq, unsigned portid,
                           uint8_t mac[6]);

#endif
