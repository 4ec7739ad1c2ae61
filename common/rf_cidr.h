/* rf_cidr.h -- IPv4 prefixes: parse, format, contains, split (pure).
 * Addresses are host byte order. */
#ifndef RF_CIDR_H
#define RF_CIDR_H

#include <stdint.h>

#include "rf_err.h"

typedef struct {
    uint32_t addr;   /* network address, host order, host bits zero */
    uint8_t  len;    /* 0..32 */
} rf_cidr_t;

/* Accepts "10.250.0.0/16", "10.250.0.7" (/32) and tcpcopy's "62.135.200.x"
 * (= 62.135.200.0/24). Host bits set is an error ("10.0.0.1/24"). */
int rf_cidr_parse(rf_cidr_t *out, const char *s, rf_errbuf_t *err);
int rf_ipv4_parse(uint32_t *out, const char *s);   /* dotted quad, strict */
void rf_cidr_format(const rf_cidr_t *c, char *buf, unsigned len);
void rf_ipv4_format(uint32_t ip, char *buf, unsigned len);

static inline uint32_t
rf_cidr_mask(uint8_t len)
{
    return len == 0 ? 0 : 0xffffffffu << (32 - len);
}
static inline uint64_t
rf_cidr_size(const rf_cidr_t *c)
{
    return 1ull << (32 - c->len);
}
static inline int
rf_cidr_contains(const rf_cidr_t *c, uint32_t ip)
{
    return (ip & rf_cidr_mask(c->len)) == c->addr;
}
static inline int
rf_cidr_overlap(const rf_cidr_t *a, const rf_cidr_t *b)
{
    uint8_t l = a->len < b->len ? a->len : b->len;
    return (a->addr & rf_cidr_mask(l)) == (b->addr & rf_cidr_mask(l));
}

/* The i-th of 2^bits equal sub-prefixes of c (len + bits <= 32). */
int rf_cidr_subnet(rf_cidr_t *out, const rf_cidr_t *c, unsigned bits, uint32_t i);

/* Usable replay addresses of a range: a /31 or /32 uses every address,
 * wider ranges skip the network and broadcast addresses. */
uint32_t rf_cidr_host_count(const rf_cidr_t *c);
uint32_t rf_cidr_host_at(const rf_cidr_t *c, uint32_t idx);   /* idx < count */

#endif
