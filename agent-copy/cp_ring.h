/* cp_ring.h -- our own AF_PACKET TPACKET_V3 receive ring for live capture
 * on one Ethernet interface. libpcap sizes TPACKET_V3 blocks at 256 KiB
 * whatever the traffic, and a block is handed over when full or when the
 * retire timeout expires: at moderate rates each block leaves the kernel
 * mostly empty, so the ring holds (blocks x timeout) of traffic, not its
 * size in bytes. Blocks just large enough for one maximal frame (a GRO
 * segment of 64 KiB: 128 KiB) give twice the blocks for the same memory,
 * and the ring can be sized in memory the agent actually needs. */
#ifndef CP_RING_H
#define CP_RING_H

#include <stddef.h>
#include <stdint.h>

#include "rf_err.h"

typedef struct cp_ring cp_ring_t;

/* Ring geometry for `bytes` of memory: the smallest power-of-two pages that
 * holds a block header and one frame of `max_frame` bytes (with its
 * TPACKET_V3 headers), and how many of those fit (at least 2). Pure. */
typedef struct {
    uint32_t block_size, nblocks;
} cp_ring_geom_t;
cp_ring_geom_t cp_ring_geometry(size_t bytes, size_t max_frame, size_t page);

typedef void (*cp_ring_cb)(void *ctx, const uint8_t *frame, size_t caplen, uint64_t ts_us);

/* Open a ring on `ifname` (an ARPHRD_ETHER device; RF_ECAP otherwise, so
 * the caller can fall back to libpcap). The socket receives nothing until
 * cp_ring_start: attach the filter first, so the ring never holds a packet
 * the filter would refuse. */
int  cp_ring_open(cp_ring_t **out, const char *ifname, size_t bytes, unsigned tov_ms,
                  int promisc, rf_errbuf_t *err);
int  cp_ring_start(cp_ring_t *r, rf_errbuf_t *err);
/* Join PACKET_FANOUT group `group` (1..65535) of `fd` by symmetric flow
 * hash: every packet of a TCP connection, both directions, reaches the
 * same member, so each worker owns whole sessions (causal order intact).
 * Works on any AF_PACKET socket (libpcap's too); after bind. */
int  cp_ring_fanout(int fd, unsigned group, rf_errbuf_t *err);
int  cp_ring_fd(const cp_ring_t *r);
/* Hand over retired blocks' frames until `budget` frames were seen (a
 * block is always finished). Returns frames handled. */
int  cp_ring_dispatch(cp_ring_t *r, int budget, cp_ring_cb cb, void *ctx);
/* Kernel drops (and queue freezes) since open. */
uint64_t cp_ring_drops(cp_ring_t *r);
size_t cp_ring_bytes(const cp_ring_t *r);
void cp_ring_close(cp_ring_t *r);

#endif
