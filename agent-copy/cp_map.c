/* cp_map.c -- replayed 4-tuple arithmetic; see cp_map.h for the formulas. */
#include "cp_map.h"

#include <string.h>

#include "rf_hash.h"

/* The --shard hash; capture-group buckets use the same one. */
#define SHARD_SEED (CP_MAP_SEED ^ 0x5a5a)

#define PORT_SPAN 64512u   /* 1024..65535 */

uint16_t
cp_map_port(uint16_t orig_port, unsigned offset, unsigned copy, unsigned copies)
{
    if (copies == 0)
        copies = 1;
    uint32_t lane = PORT_SPAN / copies;
    uint32_t x = (uint32_t)orig_port + PORT_SPAN - 1024u;  /* p - 1024, kept positive */
    x += 61u * (offset % 1024u) + (copy % copies) * lane;
    return (uint16_t)(1024u + x % PORT_SPAN);
}

uint16_t
cp_map_port_probe(uint16_t port, unsigned attempt)
{
    /* A stride coprime with the span visits every port before repeating. */
    uint32_t x = (uint32_t)port - 1024u + 7919u * (attempt + 1u);
    return (uint16_t)(1024u + x % PORT_SPAN);
}

uint32_t
cp_map_addr(const rf_cidr_t *range, uint32_t orig_ip, unsigned copy, unsigned copies)
{
    uint32_t hosts = rf_cidr_host_count(range);
    if (hosts == 0)
        return range->addr;
    if (copies == 0)
        copies = 1;
    uint32_t stride = hosts / copies;
    uint64_t idx = rf_mix64((uint64_t)orig_ip ^ CP_MAP_SEED) % hosts;
    idx = (idx + (uint64_t)(copy % copies) * stride) % hosts;
    return rf_cidr_host_at(range, (uint32_t)idx);
}

int
cp_map_sampled(uint32_t cip, uint16_t cport, uint32_t sip, uint16_t sport, unsigned percent)
{
    if (percent >= 100)
        return 1;
    uint64_t h = rf_hash_tuple(cip, cport, sip, sport, CP_MAP_SEED);
    return (h % 10000u) < (uint64_t)percent * 100u;
}

int
cp_map_shard_mine(uint32_t cip, uint16_t cport, uint32_t sip, uint16_t sport, unsigned idx,
                  unsigned n)
{
    if (n <= 1)
        return 1;
    return rf_hash_flow(cip, cport, sip, sport, CP_MAP_SEED ^ 0x5a5a) % n == idx;   /* SHARD_SEED */
}

uint32_t
cp_map_bucket(uint32_t cip, uint16_t cport, uint32_t sip, uint16_t sport, uint32_t buckets)
{
    if (buckets == 0)
        return 0;
    return (uint32_t)(rf_hash_flow(cip, cport, sip, sport, SHARD_SEED) % buckets);
}

int
cp_map_shard_owned(const cp_shard_t *s, uint32_t cip, uint16_t cport, uint32_t sip,
                   uint16_t sport)
{
    if (s->buckets == 0)
        return 1;
    uint32_t b = cp_map_bucket(cip, cport, sip, sport, s->buckets);
    return (s->bits[b >> 3] >> (b & 7)) & 1;
}

int
cp_map_shard_load(cp_shard_t *s, int present, uint32_t buckets, const uint8_t *bits, size_t len,
                  rf_errbuf_t *err)
{
    memset(s, 0, sizeof(*s));
    if (!present)
        return 0;
    if (buckets < 1 || buckets > CP_SHARD_BUCKETS_MAX)
        return rf_err_set(err, RF_EPLAN, "shard: %u buckets, expected 1..%d", buckets,
                          CP_SHARD_BUCKETS_MAX);
    if (len != (buckets + 7) / 8 || (len > 0 && bits == NULL))
        return rf_err_set(err, RF_EPLAN, "shard: bitmap of %zu bytes for %u buckets (want %u)",
                          len, buckets, (buckets + 7) / 8);
    s->buckets = buckets;
    memcpy(s->bits, bits, len);
    if (buckets % 8)   /* bits past the last bucket mean nothing: clear them */
        s->bits[len - 1] &= (uint8_t)((1u << (buckets % 8)) - 1);
    return 0;
}

uint32_t
cp_map_shard_count(const cp_shard_t *s)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < (s->buckets + 7) / 8; i++)
        n += (uint32_t)__builtin_popcount(s->bits[i]);
    return s->buckets ? n : 0;
}
