/* cp_nexthop.c -- next-hop resolution over rtnetlink (libmnl) and ioctl.
 * One request at a time, each answered synchronously by the kernel; the
 * socket has a receive timeout so a lost answer costs 200 ms once, and
 * answers to an older request (after such a timeout) are skipped by their
 * sequence number. */
#include "cp_nexthop.h"

#include <errno.h>
#include <limits.h>
#include <libmnl/libmnl.h>
#include <net/if_arp.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* The kernel's NUD_VALID (not in the uapi headers): states whose lladdr
 * the kernel itself would send to. */
#define NH_NUD_VALID \
    (NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY)

struct cp_nexthop {
    struct mnl_socket *nl;
    unsigned           portid, seq;
    int                ioctl_fd;
    uint8_t            buf[8192];   /* one answer: a route or a neighbour */
};

const char *
cp_nexthop_why(int code)
{
    switch (code) {
    case CP_NH_OK: return "resolved";
    case CP_NH_NOROUTE: return "no route";
    case CP_NH_NOTUNICAST: return "not a unicast route (local, blackhole...)";
    case CP_NH_NOTETHER: return "the output interface is not Ethernet";
    case CP_NH_NONEIGH: return "no neighbour entry yet";
    default: return "netlink or ioctl error";
    }
}

/* ---- parsers (pure) ---- */

typedef struct {
    const struct nlattr *tb[RTA_MAX + 1 > NDA_MAX + 1 ? RTA_MAX + 1 : NDA_MAX + 1];
    unsigned max;
} attrs_t;

static int
attr_cb(const struct nlattr *a, void *data)
{
    attrs_t *t = data;
    if (mnl_attr_type_valid(a, (uint16_t)t->max) < 0)
        return MNL_CB_OK;   /* newer kernels' attributes: not ours */
    t->tb[mnl_attr_get_type(a)] = a;
    return MNL_CB_OK;
}

typedef struct {
    int         got, bad;
    cp_route_t *rt;
    uint8_t    *mac;
} parse_t;

static int
route_cb(const struct nlmsghdr *nlh, void *data)
{
    parse_t *p = data;
    if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(struct rtmsg)) {
        p->bad = 1;
        return MNL_CB_STOP;
    }
    const struct rtmsg *rm = mnl_nlmsg_get_payload(nlh);
    attrs_t t = { .max = RTA_MAX };
    if (rm->rtm_family != AF_INET || mnl_attr_parse(nlh, sizeof(*rm), attr_cb, &t) < 0) {
        p->bad = 1;
        return MNL_CB_STOP;
    }
    p->rt->type = rm->rtm_type;
    p->rt->ifindex = 0;
    p->rt->gw = 0;
    if (t.tb[RTA_OIF]) {
        if (mnl_attr_validate(t.tb[RTA_OIF], MNL_TYPE_U32) < 0) {
            p->bad = 1;
            return MNL_CB_STOP;
        }
        p->rt->ifindex = (int)mnl_attr_get_u32(t.tb[RTA_OIF]);
    }
    if (t.tb[RTA_GATEWAY]) {
        if (mnl_attr_validate(t.tb[RTA_GATEWAY], MNL_TYPE_U32) < 0) {
            p->bad = 1;
            return MNL_CB_STOP;
        }
        p->rt->gw = ntohl(mnl_attr_get_u32(t.tb[RTA_GATEWAY]));
    } else if (t.tb[RTA_VIA]) {
        p->rt->type = -1;   /* an IPv6 next hop for an IPv4 route: not ours to resolve */
    }
    p->got = 1;
    return MNL_CB_STOP;
}

static int
neigh_cb(const struct nlmsghdr *nlh, void *data)
{
    parse_t *p = data;
    if (nlh->nlmsg_type != RTM_NEWNEIGH || mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ndmsg)) {
        p->bad = 1;
        return MNL_CB_STOP;
    }
    const struct ndmsg *nd = mnl_nlmsg_get_payload(nlh);
    attrs_t t = { .max = NDA_MAX };
    if (mnl_attr_parse(nlh, sizeof(*nd), attr_cb, &t) < 0) {
        p->bad = 1;
        return MNL_CB_STOP;
    }
    if ((nd->ndm_state & NH_NUD_VALID) && t.tb[NDA_LLADDR] &&
        mnl_attr_get_payload_len(t.tb[NDA_LLADDR]) == 6) {
        memcpy(p->mac, mnl_attr_get_payload(t.tb[NDA_LLADDR]), 6);
        p->got = 1;
    }
    return MNL_CB_STOP;
}

/* One answer through cb: CP_NH_OK when cb took it, enoent_code for the
 * kernel's "no such thing" answers (and a bare ACK), CP_NH_ERROR for
 * anything else; -1 for an answer to another request (its first header's
 * sequence number or port id differs), for the caller to read on. */
static int
run(const void *buf, size_t len, unsigned seq, unsigned portid, mnl_cb_t cb, parse_t *p,
    int enoent_code)
{
    /* Every header's length checked first, unsigned: libmnl compares it
     * as an int, so a length over INT_MAX passes mnl_nlmsg_ok and its walk
     * then steps out of the buffer (found by fuzz_nexthop). */
    if (len > INT_MAX)
        return CP_NH_ERROR;
    for (size_t off = 0; off + sizeof(struct nlmsghdr) <= len;) {
        const struct nlmsghdr *n = (const struct nlmsghdr *)((const uint8_t *)buf + off);
        if (n->nlmsg_len < sizeof(*n) || n->nlmsg_len > len - off)
            return CP_NH_ERROR;
        off += NLMSG_ALIGN(n->nlmsg_len);
    }
    /* Another request's answer is told by its header, not by errno: the
     * kernel's own NLMSG_ERROR could carry EPROTO or ESRCH too. */
    const struct nlmsghdr *first = buf;
    if (len >= sizeof(*first) &&
        (!mnl_nlmsg_seq_ok(first, seq) || !mnl_nlmsg_portid_ok(first, portid)))
        return -1;
    errno = 0;
    int r = mnl_cb_run(buf, len, seq, portid, cb, p);
    if (p->bad)
        return CP_NH_ERROR;
    if (r < 0) {
        switch (errno) {
        case ENOENT:
        case ENETUNREACH:
        case EHOSTUNREACH:
        case ENODEV: return enoent_code;
        default: return CP_NH_ERROR;
        }
    }
    if (r != MNL_CB_STOP)
        return CP_NH_ERROR;   /* no whole message in the buffer */
    return p->got ? CP_NH_OK : enoent_code;
}

int
cp_nexthop_parse_route(const void *buf, size_t len, unsigned seq, unsigned portid, cp_route_t *out)
{
    parse_t p = { .rt = out };
    int r = run(buf, len, seq, portid, route_cb, &p, CP_NH_NOROUTE);
    if (r != CP_NH_OK)
        return r;
    if (out->type != RTN_UNICAST)
        return CP_NH_NOTUNICAST;
    return out->ifindex > 0 ? CP_NH_OK : CP_NH_NOROUTE;
}

int
cp_nexthop_parse_neigh(const void *buf, size_t len, unsigned seq, unsigned portid, uint8_t mac[6])
{
    parse_t p = { .mac = mac };
    return run(buf, len, seq, portid, neigh_cb, &p, CP_NH_NONEIGH);
}

/* ---- the I/O shell ---- */

int
cp_nexthop_open(cp_nexthop_t **out)
{
    cp_nexthop_t *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return -ENOMEM;
    r->ioctl_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    r->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    int e = errno;
    if (r->ioctl_fd < 0 || r->nl == NULL || mnl_socket_bind(r->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        e = errno ? errno : EIO;
        cp_nexthop_close(r);
        return -e;
    }
    struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
    (void)setsockopt(mnl_socket_get_fd(r->nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    r->portid = mnl_socket_get_portid(r->nl);
    *out = r;
    return 0;
}

void
cp_nexthop_close(cp_nexthop_t *r)
{
    if (r == NULL)
        return;
    if (r->nl)
        mnl_socket_close(r->nl);
    if (r->ioctl_fd >= 0)
        close(r->ioctl_fd);
    free(r);
}

/* Send the request in r->buf and parse the answer with parse(); answers
 * to older requests are skipped (at most a few). */
typedef int (*parse_fn)(cp_nexthop_t *r, size_t len, void *out);

static int
ask(cp_nexthop_t *r, const struct nlmsghdr *req, parse_fn parse, void *out)
{
    if (mnl_socket_sendto(r->nl, req, req->nlmsg_len) < 0)
        return CP_NH_ERROR;
    for (int tries = 0; tries < 4; tries++) {
        ssize_t n = mnl_socket_recvfrom(r->nl, r->buf, sizeof(r->buf));
        if (n <= 0)
            return CP_NH_ERROR;
        int c = parse(r, (size_t)n, out);
        if (c >= 0)
            return c;
    }
    return CP_NH_ERROR;
}

static int
parse_route_r(cp_nexthop_t *r, size_t len, void *out)
{
    return cp_nexthop_parse_route(r->buf, len, r->seq, r->portid, out);
}

static int
parse_neigh_r(cp_nexthop_t *r, size_t len, void *out)
{
    return cp_nexthop_parse_neigh(r->buf, len, r->seq, r->portid, out);
}

static int
link_info(cp_nexthop_t *r, int ifindex, uint32_t *mtu)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_ifindex = ifindex;
    if (ioctl(r->ioctl_fd, SIOCGIFNAME, &ifr) != 0 || ioctl(r->ioctl_fd, SIOCGIFHWADDR, &ifr) != 0)
        return CP_NH_ERROR;
    if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER)
        return CP_NH_NOTETHER;
    if (ioctl(r->ioctl_fd, SIOCGIFMTU, &ifr) != 0 || ifr.ifr_mtu <= 0)
        return CP_NH_ERROR;
    *mtu = (uint32_t)ifr.ifr_mtu;
    return CP_NH_OK;
}

static int
resolve(cp_nexthop_t *r, uint32_t daddr, cp_hop_t *h)
{
    uint8_t req_buf[256];   /* a header, a struct and one attribute */
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(req_buf);
    nlh->nlmsg_type = RTM_GETROUTE;
    nlh->nlmsg_flags = NLM_F_REQUEST;
    nlh->nlmsg_seq = ++r->seq;
    struct rtmsg *rm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rm));
    rm->rtm_family = AF_INET;
    rm->rtm_dst_len = 32;
    mnl_attr_put_u32(nlh, RTA_DST, htonl(daddr));
    cp_route_t rt;
    int c = ask(r, nlh, parse_route_r, &rt);
    if (c != CP_NH_OK)
        return c;
    uint32_t mtu = 0;
    if ((c = link_info(r, rt.ifindex, &mtu)) != CP_NH_OK)
        return c;

    nlh = mnl_nlmsg_put_header(req_buf);
    nlh->nlmsg_type = RTM_GETNEIGH;
    nlh->nlmsg_flags = NLM_F_REQUEST;
    nlh->nlmsg_seq = ++r->seq;
    struct ndmsg *nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
    nd->ndm_family = AF_INET;
    nd->ndm_ifindex = rt.ifindex;
    mnl_attr_put_u32(nlh, NDA_DST, htonl(rt.gw ? rt.gw : daddr));
    uint8_t mac[6];
    if ((c = ask(r, nlh, parse_neigh_r, mac)) != CP_NH_OK)
        return c;
    h->ifindex = rt.ifindex;
    h->mtu = mtu;
    memcpy(h->mac, mac, 6);
    return CP_NH_OK;
}

int
cp_nexthop_resolve(cp_nexthop_t *r, uint32_t daddr, cp_hop_t *h)
{
    int c = resolve(r, daddr, h);
    if (c != CP_NH_OK)
        h->ifindex = 0;
    h->why = c;
    return c;
}
