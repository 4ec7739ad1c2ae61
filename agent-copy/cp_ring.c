/* cp_ring.c -- AF_PACKET TPACKET_V3 receive ring with right-sized blocks
 * (see cp_ring.h for why not libpcap's). Thin I/O shell around one socket
 * and one mapping; the filter is attached by the caller on cp_ring_fd. */
#include "cp_ring.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

struct cp_ring {
    int       fd, ifindex;
    uint8_t  *map;
    size_t    map_len;
    uint32_t  block_size, nblocks, cur;
    uint64_t  drops;
};

/* Per-frame overhead in a block: the aligned tpacket3_hdr, the
 * sockaddr_ll after it and the alignment the kernel puts before the MAC
 * header; the block descriptor heads every block. Rounded up generously:
 * a frame that does not fit is truncated by the kernel, not dropped. */
#define FRAME_OVERHEAD 128u
#define BLOCK_HDR 64u

cp_ring_geom_t
cp_ring_geometry(size_t bytes, size_t max_frame, size_t page)
{
    cp_ring_geom_t g;
    /* A power of two pages: the kernel backs each block with one buddy
     * allocation of that order, so any other size only hides memory. */
    size_t need = max_frame + FRAME_OVERHEAD + BLOCK_HDR;
    size_t bs = page;
    while (bs < need)
        bs <<= 1;
    size_t n = bytes / bs;
    if (n < 2)
        n = 2;
    if (n > (1u << 20))
        n = 1u << 20;
    g.block_size = (uint32_t)bs;
    g.nblocks = (uint32_t)n;
    return g;
}

int
cp_ring_open(cp_ring_t **out, const char *ifname, size_t bytes, unsigned tov_ms, int promisc,
             rf_errbuf_t *err)
{
    /* Protocol 0: nothing is received until cp_ring_start binds ETH_P_ALL. */
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return rf_err_set(err, RF_ECAP, "-i %s: AF_PACKET socket: %s", ifname, strerror(errno));
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    if (ioctl(fd, SIOCGIFINDEX, &ifr) != 0) {
        close(fd);
        return rf_err_set(err, RF_ECAP, "-i %s: %s", ifname, strerror(errno));
    }
    int ifindex = ifr.ifr_ifindex;
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) != 0 || ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
        close(fd);
        return rf_err_set(err, RF_ECAP, "-i %s: not an Ethernet device", ifname);
    }
    int v = TPACKET_V3;
    cp_ring_geom_t g = cp_ring_geometry(bytes, 65535 + 18, (size_t)sysconf(_SC_PAGESIZE));
    struct tpacket_req3 req;
    memset(&req, 0, sizeof(req));
    req.tp_block_size = g.block_size;
    req.tp_block_nr = g.nblocks;
    /* One "frame" per block for the kernel's bookkeeping (V3 frames are
     * variable; tp_frame_size only has to divide the block). */
    req.tp_frame_size = g.block_size;
    req.tp_frame_nr = g.nblocks;
    req.tp_retire_blk_tov = tov_ms ? tov_ms : 1;
    if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) != 0 ||
        setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) != 0) {
        int e = errno;
        close(fd);
        return rf_err_set(err, RF_ECAP, "-i %s: TPACKET_V3 ring of %u x %u bytes: %s", ifname,
                          g.nblocks, g.block_size, strerror(e));
    }
    size_t len = (size_t)g.block_size * g.nblocks;
    void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        int e = errno;
        close(fd);
        return rf_err_set(err, RF_ECAP, "-i %s: mapping the capture ring: %s", ifname, strerror(e));
    }
    if (promisc) {
        struct packet_mreq mr;
        memset(&mr, 0, sizeof(mr));
        mr.mr_ifindex = ifindex;
        mr.mr_type = PACKET_MR_PROMISC;
        (void)setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr));
    }
    cp_ring_t *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        munmap(map, len);
        close(fd);
        return rf_err_set(err, RF_ECAP, "out of memory");
    }
    r->fd = fd;
    r->ifindex = ifindex;
    r->map = map;
    r->map_len = len;
    r->block_size = g.block_size;
    r->nblocks = g.nblocks;
    *out = r;
    return 0;
}

int
cp_ring_start(cp_ring_t *r, rf_errbuf_t *err)
{
    struct sockaddr_ll sll;
    memset(&sll, 0, sizeof(sll));
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = r->ifindex;
    if (bind(r->fd, (struct sockaddr *)&sll, sizeof(sll)) != 0)
        return rf_err_set(err, RF_ECAP, "binding the capture socket: %s", strerror(errno));
    return 0;
}

int
cp_ring_fanout(int fd, unsigned group, rf_errbuf_t *err)
{
    /* PACKET_FANOUT_HASH hashes the flow symmetrically (kernel >= 4.x:
     * __skb_get_hash_symmetric); DEFRAG reassembles first, so fragments
     * of one datagram cannot split across members. */
    int v = (int)((group & 0xffffu) | ((unsigned)(PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16));
    if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &v, sizeof(v)) != 0)
        return rf_err_set(err, RF_ECAP, "--fanout-group %u: %s (every member needs the same "
                          "device and mode)", group, strerror(errno));
    return 0;
}

int cp_ring_fd(const cp_ring_t *r) { return r->fd; }
size_t cp_ring_bytes(const cp_ring_t *r) { return r->map_len; }

int
cp_ring_dispatch(cp_ring_t *r, int budget, cp_ring_cb cb, void *ctx)
{
    int n = 0;
    while (n < budget) {
        struct tpacket_block_desc *bd =
            (void *)(r->map + (size_t)r->cur * r->block_size);
        if (!(__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
            break;
        uint32_t np = bd->hdr.bh1.num_pkts;
        const uint8_t *p = (const uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt;
        for (uint32_t i = 0; i < np; i++) {
            const struct tpacket3_hdr *h = (const void *)p;
            cb(ctx, p + h->tp_mac, h->tp_snaplen,
               (uint64_t)h->tp_sec * 1000000u + h->tp_nsec / 1000u);
            p += h->tp_next_offset;
        }
        n += (int)np;
        __atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
        r->cur = (r->cur + 1) % r->nblocks;
    }
    return n;
}

uint64_t
cp_ring_drops(cp_ring_t *r)
{
    /* The kernel resets its counters on every read: keep the sum. */
    struct tpacket_stats_v3 st;
    socklen_t l = sizeof(st);
    if (getsockopt(r->fd, SOL_PACKET, PACKET_STATISTICS, &st, &l) == 0)
        r->drops += st.tp_drops;
    return r->drops;
}

void
cp_ring_close(cp_ring_t *r)
{
    if (r == NULL)
        return;
    munmap(r->map, r->map_len);
    close(r->fd);
    free(r);
}
