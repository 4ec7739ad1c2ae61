/* cp_map.h -- where a replayed session goes: sampling, sharding, client
 * address and source port of copy k (pure).
 *
 * Port formula (host order, p = original client port, f = port offset
 * 0..1023, k = copy index 0..copies-1):
 *
 *   port(p, f, k) = 1024 + ((p - 1024 + 61*f + k*floor(64512/copies)) mod 64512)
 *
 * For a fixed (f, k) this is a bijection of 1024..65535 onto itself, so
 * distinct original ports never collapse onto one replayed port (tcpcopy's
 * overflow rule sends every p + add >= 65536 to the single port 1024 + add).
 * Ports 0..1023 wrap into the top of the range and may meet ports
 * 64512..65535; such rare meetings are caught by the live-tuple check.
 *
 * Address: the client range's usable hosts are indexed; a client's index
 * is hash(original client IP) mod hosts, so clients spread evenly and one
 * client keeps one replayed address (applications that key on the client
 * address keep working). Copy k moves the index by k*floor(hosts/copies),
 * so copies land on different addresses whenever the range has room. */
#ifndef CP_MAP_H
#define CP_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "rf_cidr.h"
#include "rf_err.h"

#define CP_MAP_SEED 0x7265706c61796631ull   /* fixed: agents agree */

uint16_t cp_map_port(uint16_t orig_port, unsigned offset, unsigned copy, unsigned copies);
/* Next candidate after a collision: moves within 1024..65535. */
uint16_t cp_map_port_probe(uint16_t port, unsigned attempt);
uint32_t cp_map_addr(const rf_cidr_t *range, uint32_t orig_ip, unsigned copy, unsigned copies);

/* -r: keep a session iff this returns 1. Hash of the ORIGINAL 4-tuple, so
 * sampling is uniform whatever the client addresses look like. */
int cp_map_sampled(uint32_t cip, uint16_t cport, uint32_t sip, uint16_t sport, unsigned percent);

/* --shard i/n: direction-free flow hash, so every capture host fed the
 * same flow agrees on exactly one owner. */
int cp_map_shard_mine(uint32_t cip, uint16_t cport, uint32_t sip, uint16_t sport, unsigned idx,
                      unsigned n);

/* Capture groups (replayd, Assignment.shard): the flow-hash buckets this
 * agent replays out of `buckets`. bucket(flow) = the --shard hash % buckets,
 * so a plan with 2^k buckets agrees with --shard I/2^k. buckets == 0: no
 * set, every flow is this agent's. */
#define CP_SHARD_BUCKETS_MAX 4096
typedef struct {
    uint32_t buckets;                          /* 0: not sharded by a set */
    uint8_t  bits[CP_SHARD_BUCKETS_MAX / 8];   /* bit b: byte b/8, bit b%8 (LSB first) */
} cp_shard_t;

uint32_t cp_map_bucket(uint32_t cip, uint16_t cport, uint32_t sip, uint16_t sport,
                       uint32_t buckets);
/* 1 if the flow's bucket is in the set (or there is no set). */
int cp_map_shard_owned(const cp_shard_t *s, uint32_t cip, uint16_t cport, uint32_t sip,
                       uint16_t sport);
/* Load a set from an Assignment's ShardSet (bits: `len` bytes, LSB first).
 * present == 0: no set. A count outside 1..CP_SHARD_BUCKETS_MAX or a
 * bitmap of the wrong length is refused with a reason. */
int cp_map_shard_load(cp_shard_t *s, int present, uint32_t buckets, const uint8_t *bits,
                      size_t len, rf_errbuf_t *err);
/* Buckets set (for the log line and the shard_buckets gauge). */
uint32_t cp_map_shard_count(const cp_shard_t *s);

#endif
