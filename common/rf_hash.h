/* rf_hash.h -- fast keyed mixing for sampling, sharding and hash tables.
 * splitmix64/murmur3 finalizers: every input bit affects every output bit,
 * unlike tcpcopy's one-byte fold (notes: 2.10). */
#ifndef RF_HASH_H
#define RF_HASH_H

#include <stdint.h>

static inline uint64_t
rf_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

/* Hash of an IPv4 4-tuple (host order), with a seed. Direction-sensitive. */
static inline uint64_t
rf_hash_tuple(uint32_t sip, uint16_t sport, uint32_t dip, uint16_t dport, uint64_t seed)
{
    uint64_t a = ((uint64_t)sip << 32) | dip;
    uint64_t b = ((uint64_t)sport << 16) | dport;
    return rf_mix64(rf_mix64(a ^ seed) ^ (b + 0x9e3779b97f4a7c15ull));
}

/* Direction-free flow hash: both directions of a flow give the same value
 * (used to shard mirrored flows over capture hosts). */
static inline uint64_t
rf_hash_flow(uint32_t ip1, uint16_t p1, uint32_t ip2, uint16_t p2, uint64_t seed)
{
    if (ip1 > ip2 || (ip1 == ip2 && p1 > p2))
        return rf_hash_tuple(ip2, p2, ip1, p1, seed);
    return rf_hash_tuple(ip1, p1, ip2, p2, seed);
}

#endif
