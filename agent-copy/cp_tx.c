/* cp_tx.c -- batched sends, at the link layer or through the raw socket
 * (cp_tx.h). The kernel fills nothing in on either path (IP_HDRINCL is
 * implied by IPPROTO_RAW; AF_PACKET sends what it is given): checksums
 * and the IP id are already set by the engine. With SOCK_DGRAM the kernel
 * writes the Ethernet header from the sockaddr_ll, so both lanes carry
 * the same IP packets. */
#include "cp_tx.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cp_hops.h"
#include "cp_nexthop.h"
#include "rf_cidr.h"
#include "rf_log.h"

typedef union {
    struct sockaddr_in in;
    struct sockaddr_ll ll;
} tx_addr_t;

typedef struct {
    int             fd;
    unsigned        n, gen;   /* gen: bumped at each flush (cp_tx_t.pending) */
    uint8_t        *bufs;
    struct mmsghdr *msgs;
    struct iovec   *iov;
    tx_addr_t      *addr;
} lane_t;

enum { LANE_RAW = 0, LANE_LINK = 1 };

struct cp_tx {
    lane_t           lane[2];
    unsigned         cap;
    size_t           max_pkt;
    cp_tx_counters_t ctr;
    int              last_errno;
    cp_nexthop_t    *nh;     /* NULL: raw only */
    cp_hops_t        hops;
    unsigned         hops_resolved;   /* hops.n at the last refresh */
    uint64_t         refresh_ms;      /* its time */
    /* Per target and lane, the lane's gen when a packet to that target was
     * last put in it: equal to the lane's current gen means "waiting in
     * it", and the other lane then flushes it first (per-target order). */
    unsigned         pending[CP_HOPS_MAX][2];
};

static void
bump(uint64_t *c)
{
    if (c)
        (*c)++;
}

static int
lane_alloc(lane_t *l, unsigned cap, size_t max_pkt)
{
    l->bufs = malloc((size_t)cap * max_pkt);
    l->msgs = calloc(cap, sizeof(*l->msgs));
    l->iov = calloc(cap, sizeof(*l->iov));
    l->addr = calloc(cap, sizeof(*l->addr));
    return l->bufs && l->msgs && l->iov && l->addr ? 0 : -ENOMEM;
}

static void
lane_free(lane_t *l)
{
    free(l->bufs);
    free(l->msgs);
    free(l->iov);
    free(l->addr);
}

static void
sndbuf(int fd)
{
    int sz = 8 << 20;
    /* SNDBUFFORCE passes net.core.wmem_max when we have CAP_NET_ADMIN. */
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) != 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
}

/* The link lane; 0, or -errno with *why set (the sink stays raw only). */
static int
open_link(cp_tx_t *s, char *why, size_t whylen)
{
    /* Protocol 0: this socket receives nothing. */
    int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        int e = errno;
        snprintf(why, whylen, "AF_PACKET socket: %s", strerror(e));
        return -e;
    }
    int one = 1;
    /* Straight to the driver: the replay is not the capture host's
     * traffic to shape, and a full device queue is an error we count. */
    if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) != 0)
        rf_log_debug("PACKET_QDISC_BYPASS: %s", strerror(errno));
    sndbuf(fd);
    int r = cp_nexthop_open(&s->nh);
    if (r < 0) {
        close(fd);
        snprintf(why, whylen, "rtnetlink socket: %s", strerror(-r));
        return r;
    }
    if (lane_alloc(&s->lane[LANE_LINK], s->cap, s->max_pkt) != 0) {
        close(fd);
        cp_nexthop_close(s->nh);
        s->nh = NULL;
        snprintf(why, whylen, "link lane buffers: %s", strerror(ENOMEM));
        return -ENOMEM;
    }
    s->lane[LANE_LINK].fd = fd;
    return 0;
}

int
cp_tx_open(cp_tx_t **out, unsigned batch, size_t max_pkt, int link, cp_tx_counters_t ctr,
           char *why, size_t whylen)
{
    why[0] = '\0';
    int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
    if (fd < 0)
        return -errno;
    sndbuf(fd);
    cp_tx_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        close(fd);
        return -ENOMEM;
    }
    s->lane[LANE_RAW].fd = fd;
    s->lane[LANE_LINK].fd = -1;
    s->lane[LANE_RAW].gen = s->lane[LANE_LINK].gen = 1;   /* pending[] starts at 0: nothing waits */
    s->cap = batch ? batch : 256;
    s->max_pkt = max_pkt;
    s->ctr = ctr;
    /* The buffers are virtual until a batch first reaches a slot; the
     * link lane's are allocated only when its socket opens. */
    if (lane_alloc(&s->lane[LANE_RAW], s->cap, max_pkt) != 0) {
        cp_tx_close(s);
        return -ENOMEM;
    }
    if (link)
        (void)open_link(s, why, whylen);
    *out = s;
    return 0;
}

static void
raw_addr(struct sockaddr_in *a, uint32_t daddr)
{
    memset(a, 0, sizeof(*a));
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(daddr);
}

static void
lane_flush(cp_tx_t *s, lane_t *l)
{
    unsigned off = 0;
    while (off < l->n) {
        int r = sendmmsg(l->fd, l->msgs + off, l->n - off, 0);
        if (r > 0) {
            off += (unsigned)r;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        /* The first message of the rest failed (EPERM from a firewall,
         * EMSGSIZE, ENOBUFS from a full device queue...): count it, skip
         * it, send the others. */
        s->last_errno = errno;
        bump(s->ctr.errors);
        off++;
    }
    l->n = 0;
    l->gen++;
}

void
cp_tx_flush(cp_tx_t *s)
{
    if (s->lane[LANE_RAW].n)
        lane_flush(s, &s->lane[LANE_RAW]);
    if (s->lane[LANE_LINK].n)
        lane_flush(s, &s->lane[LANE_LINK]);
}

void
cp_tx_emit(void *ctx, const uint8_t *ip, size_t len, uint32_t daddr)
{
    cp_tx_t *s = ctx;
    if (len > s->max_pkt) {
        s->last_errno = EMSGSIZE;
        bump(s->ctr.errors);
        return;
    }
    int which = LANE_RAW;
    cp_hop_t *h = NULL;
    if (s->nh != NULL && (h = cp_hops_get(&s->hops, daddr)) != NULL) {
        unsigned hi = (unsigned)(h - s->hops.e);
        which = cp_hops_use_link(h, len) ? LANE_LINK : LANE_RAW;
        lane_t *other = &s->lane[!which];
        if (other->n && s->pending[hi][!which] == other->gen)
            lane_flush(s, other);   /* this target's earlier packets go first */
        s->pending[hi][which] = s->lane[which].gen;
    }
    lane_t *l = &s->lane[which];
    if (l->n == s->cap) {
        lane_flush(s, l);
        if (h != NULL)
            s->pending[h - s->hops.e][which] = l->gen;
    }
    unsigned i = l->n++;
    uint8_t *b = l->bufs + (size_t)i * s->max_pkt;
    memcpy(b, ip, len);
    l->iov[i].iov_base = b;
    l->iov[i].iov_len = len;
    tx_addr_t *a = &l->addr[i];
    memset(&l->msgs[i], 0, sizeof(l->msgs[i]));
    l->msgs[i].msg_hdr.msg_name = a;
    if (which == LANE_LINK) {
        memset(a, 0, sizeof(*a));
        a->ll.sll_family = AF_PACKET;
        a->ll.sll_protocol = htons(ETH_P_IP);
        a->ll.sll_ifindex = h->ifindex;
        a->ll.sll_halen = 6;
        memcpy(a->ll.sll_addr, h->mac, 6);
        l->msgs[i].msg_hdr.msg_namelen = sizeof(a->ll);
        bump(s->ctr.link_pkts);
    } else {
        raw_addr(&a->in, daddr);
        l->msgs[i].msg_hdr.msg_namelen = sizeof(a->in);
        bump(s->ctr.raw_pkts);
    }
    l->msgs[i].msg_hdr.msg_iov = &l->iov[i];
    l->msgs[i].msg_hdr.msg_iovlen = 1;
}

/* "at the link layer on eth0 to 02:...", or "through the raw socket (why)". */
static void
hop_text(const cp_hop_t *h, char *buf, size_t len)
{
    char ifn[IF_NAMESIZE] = "?";
    if (h->ifindex == 0) {
        snprintf(buf, len, "through the raw socket (%s)", cp_nexthop_why(h->why));
        return;
    }
    (void)if_indextoname((unsigned)h->ifindex, ifn);
    snprintf(buf, len, "at the link layer on %s to %02x:%02x:%02x:%02x:%02x:%02x", ifn, h->mac[0],
             h->mac[1], h->mac[2], h->mac[3], h->mac[4], h->mac[5]);
}

static void
log_hop(const cp_hop_t *h)
{
    char ip[16], how[96];
    rf_ipv4_format(h->daddr, ip, sizeof(ip));
    hop_text(h, how, sizeof(how));
    rf_log_info("target %s: sent %s", ip, how);
}

void
cp_tx_describe(cp_tx_t *s, uint32_t daddr, char *buf, size_t len)
{
    if (s->nh == NULL) {
        snprintf(buf, len, "through the raw socket (--send-path raw, or no AF_PACKET socket)");
        return;
    }
    cp_hop_t h = { .daddr = daddr };
    cp_nexthop_resolve(s->nh, daddr, &h);
    hop_text(&h, buf, len);
}

void
cp_tx_refresh(cp_tx_t *s, uint64_t now_ms)
{
    if (s->nh == NULL || (s->hops.n == s->hops_resolved && now_ms - s->refresh_ms < 1000))
        return;
    s->hops_resolved = s->hops.n;
    s->refresh_ms = now_ms;
    for (unsigned i = 0; i < s->hops.n; i++) {
        cp_hop_t *h = &s->hops.e[i];
        cp_hop_t old = *h;
        cp_nexthop_resolve(s->nh, h->daddr, h);
        h->via_ip = h->ifindex != 0;
        if (old.ifindex != h->ifindex || memcmp(old.mac, h->mac, 6) != 0 ||
            (h->ifindex == 0 && old.why != h->why))
            log_hop(h);
    }
    if (s->ctr.link_targets)
        *s->ctr.link_targets = cp_hops_linked(&s->hops);
}

void
cp_tx_close(cp_tx_t *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < 2; i++) {
        lane_t *l = &s->lane[i];
        if (l->fd >= 0) {
            if (l->msgs)
                lane_flush(s, l);
            close(l->fd);
        }
        lane_free(l);
    }
    cp_nexthop_close(s->nh);
    free(s);
}

int
cp_tx_last_errno(const cp_tx_t *s)
{
    return s->last_errno;
}

int
cp_tx_send_now(cp_tx_t *s, const uint8_t *ip, size_t len, uint32_t daddr)
{
    struct sockaddr_in dst;
    raw_addr(&dst, daddr);
    if (sendto(s->lane[LANE_RAW].fd, ip, len, 0, (const struct sockaddr *)&dst, sizeof(dst)) < 0)
        return errno;
    return 0;
}
