/* rd_shard.c -- rendezvous hashing of flow buckets over capture-group
 * members; bitmap formatting. See rd_shard.h. */
#include "rd_shard.h"

#include <stdio.h>
#include <string.h>

#include "rf_hash.h"

/* FNV-1a over the id, then mixed with the bucket: every bit of both moves
 * every bit of the weight. */
static uint64_t
id_hash(const char *id)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint64_t
weight(uint64_t idh, uint32_t bucket)
{
    return rf_mix64(idh ^ rf_mix64((uint64_t)bucket + 0x9e3779b97f4a7c15ull));
}

uint64_t
rd_shard_weight(const char *id, uint32_t bucket)
{
    return weight(id_hash(id), bucket);
}

void
rd_shard_assign(rd_shard_t *out, const char (*ids)[RD_ID_MAX], const uint8_t *live, size_t n)
{
    int any = 0;
    uint64_t idh[RD_GROUP_AGENTS_MAX];
    if (n > RD_GROUP_AGENTS_MAX)
        n = RD_GROUP_AGENTS_MAX;   /* the plan refuses bigger groups */
    for (size_t i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        any |= live[i] != 0;
        idh[i] = id_hash(ids[i]);
    }
    for (uint32_t b = 0; b < RD_SHARD_BUCKETS; b++) {
        size_t best = n;
        uint64_t bw = 0;
        for (size_t i = 0; i < n; i++) {
            if (any && !live[i])
                continue;
            uint64_t w = weight(idh[i], b);
            /* ties (never seen in practice) go to the smaller id: the
             * result must not depend on the order of the list */
            if (best == n || w > bw || (w == bw && strcmp(ids[i], ids[best]) < 0)) {
                best = i;
                bw = w;
            }
        }
        if (best < n)
            rd_shard_set(&out[best], b);
    }
}

unsigned
rd_shard_count(const rd_shard_t *s)
{
    unsigned n = 0;
    for (size_t i = 0; i < RD_SHARD_BYTES; i++)
        n += (unsigned)__builtin_popcount(s->bits[i]);
    return n;
}

size_t
rd_shard_format(const rd_shard_t *s, char *buf, size_t len)
{
    size_t used = 0;
    int first = 1;
#define PUT(...)                                                                 \
    do {                                                                         \
        int k_ = snprintf(buf ? buf + (used < len ? used : len) : NULL,           \
                          buf && used < len ? len - used : 0, __VA_ARGS__);      \
        used += k_ > 0 ? (size_t)k_ : 0;                                         \
    } while (0)
    for (uint32_t b = 0; b < RD_SHARD_BUCKETS;) {
        if (!rd_shard_has(s, b)) {
            b++;
            continue;
        }
        uint32_t e = b;
        while (e + 1 < RD_SHARD_BUCKETS && rd_shard_has(s, e + 1))
            e++;
        if (e == b)
            PUT("%s%u", first ? "" : ",", b);
        else
            PUT("%s%u-%u", first ? "" : ",", b, e);
        first = 0;
        b = e + 1;
    }
    if (first)
        PUT("-");
#undef PUT
    if (buf && len > 0 && used >= len)
        buf[len - 1] = '\0';
    return used;
}

void
rd_shard_to_hex(const rd_shard_t *s, char out[RD_SHARD_HEX_LEN])
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < RD_SHARD_BYTES; i++) {
        out[2 * i] = hx[s->bits[i] >> 4];
        out[2 * i + 1] = hx[s->bits[i] & 15];
    }
    out[RD_SHARD_HEX_LEN - 1] = '\0';
}

static int
nib(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int
rd_shard_from_hex(rd_shard_t *s, const char *hex)
{
    if (strlen(hex) != RD_SHARD_HEX_LEN - 1)
        return -1;
    for (size_t i = 0; i < RD_SHARD_BYTES; i++) {
        int hi = nib(hex[2 * i]), lo = nib(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        s->bits[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}
