/* rd_shard.h -- flow-hash buckets of a shared-feed capture group, spread
 * over its live members by rendezvous (highest-random-weight) hashing (pure).
 *
 * Several copy agents fed the same mirror (a packet broker, a VXLAN mirror
 * session with several targets) must each replay a disjoint part of it:
 * bucket(flow) = direction-free flow hash % RD_SHARD_BUCKETS, the hash
 * `replay-copy --shard` uses, and each bucket belongs to the live member
 * with the highest weight(id, bucket). A member that leaves gives up only
 * its own buckets (each goes to the member with the next highest weight),
 * and one that joins takes only the buckets where it weighs most: about
 * 1/n of the flows move, where `hash % n` would move almost all of them. */
#ifndef RD_SHARD_H
#define RD_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "rd_plan.h"

#define RD_SHARD_BUCKETS 1024
#define RD_SHARD_BYTES   (RD_SHARD_BUCKETS / 8)

typedef struct {
    uint8_t bits[RD_SHARD_BYTES];   /* bit b: byte b/8, bit b%8 (LSB first), as on the wire */
} rd_shard_t;

/* Deterministic weight of member `id` for bucket b (stable across builds:
 * replayd restarts must give the same owners). */
uint64_t rd_shard_weight(const char *id, uint32_t bucket);

/* Fill out[i] for each of the n members: the buckets where member i is the
 * live member of highest weight. Members with live[i] == 0 get none. When
 * no member is live every member counts as live (a group whose agents have
 * not connected yet still gets disjoint sets: nobody ever replays a flow
 * twice when they come up one by one). n <= RD_GROUP_AGENTS_MAX. */
void rd_shard_assign(rd_shard_t *out, const char (*ids)[RD_ID_MAX], const uint8_t *live,
                     size_t n);

static inline int
rd_shard_has(const rd_shard_t *s, uint32_t b)
{
    return (s->bits[b >> 3] >> (b & 7)) & 1;
}
static inline void
rd_shard_set(rd_shard_t *s, uint32_t b)
{
    s->bits[b >> 3] = (uint8_t)(s->bits[b >> 3] | (1u << (b & 7)));
}
unsigned rd_shard_count(const rd_shard_t *s);

/* "0-3,9,12-40" ("-" when empty) into buf; returns the length it needed
 * (like snprintf). At most ~5 KiB for the worst set (every other bucket). */
size_t rd_shard_format(const rd_shard_t *s, char *buf, size_t len);

/* Lower-case hex of the bitmap (state.json), and back. Parse: 0 or -1. */
#define RD_SHARD_HEX_LEN (RD_SHARD_BYTES * 2 + 1)
void rd_shard_to_hex(const rd_shard_t *s, char out[RD_SHARD_HEX_LEN]);
int  rd_shard_from_hex(rd_shard_t *s, const char *hex);

#endif
