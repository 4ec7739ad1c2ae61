/* rf_cidr.c -- IPv4 prefix arithmetic. */
#include "rf_cidr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
rf_ipv4_parse(uint32_t *out, const char *s)
{
    uint32_t v = 0;
    const char *p = s;
    for (int i = 0; i < 4; i++) {
        if (*p < '0' || *p > '9')
            return RF_EPARSE;
        unsigned n = 0, digits = 0;
        while (*p >= '0' && *p <= '9') {
            n = n * 10 + (unsigned)(*p - '0');
            if (++digits > 3 || n > 255)
                return RF_EPARSE;
            p++;
        }
        v = (v << 8) | n;
        if (i < 3) {
            if (*p != '.')
                return RF_EPARSE;
            p++;
        }
    }
    if (*p != '\0')
        return RF_EPARSE;
    *out = v;
    return 0;
}

int
rf_cidr_parse(rf_cidr_t *out, const char *s, rf_errbuf_t *err)
{
    char buf[40];
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof(buf))
        return rf_err_set(err, RF_EPARSE, "\"%s\": not an IPv4 CIDR", s);
    memcpy(buf, s, n + 1);
    long len = 32;
    char *slash = strchr(buf, '/');
    if (slash != NULL) {
        char *end;
        *slash = '\0';
        len = strtol(slash + 1, &end, 10);
        if (*end != '\0' || end == slash + 1 || len < 0 || len > 32)
            return rf_err_set(err, RF_EPARSE, "\"%s\": prefix length must be 0..32", s);
    } else if (n >= 2 && strcmp(buf + n - 2, ".x") == 0) {
        /* tcpcopy's "62.135.200.x" means the whole /24. */
        memcpy(buf + n - 1, "0", 2);
        len = 24;
    }
    uint32_t a;
    if (rf_ipv4_parse(&a, buf) != 0)
        return rf_err_set(err, RF_EPARSE, "\"%s\": \"%s\" is not a dotted-quad IPv4 address", s,
                          buf);
    if ((a & ~rf_cidr_mask((uint8_t)len)) != 0)
        return rf_err_set(err, RF_EPARSE, "\"%s\": host bits set (did you mean %u.%u.%u.%u/%ld?)",
                          s, (a & rf_cidr_mask((uint8_t)len)) >> 24,
                          ((a & rf_cidr_mask((uint8_t)len)) >> 16) & 255,
                          ((a & rf_cidr_mask((uint8_t)len)) >> 8) & 255,
                          a & rf_cidr_mask((uint8_t)len) & 255, len);
    out->addr = a;
    out->len = (uint8_t)len;
    return 0;
}

void
rf_ipv4_format(uint32_t ip, char *buf, unsigned len)
{
    snprintf(buf, len, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

void
rf_cidr_format(const rf_cidr_t *c, char *buf, unsigned len)
{
    char ip[16];
    rf_ipv4_format(c->addr, ip, sizeof(ip));
    snprintf(buf, len, "%s/%u", ip, c->len);
}

int
rf_cidr_subnet(rf_cidr_t *out, const rf_cidr_t *c, unsigned bits, uint32_t i)
{
    if (c->len + bits > 32 || (bits < 32 && i >= (1u << bits)))
        return RF_ERANGE;
    out->len = (uint8_t)(c->len + bits);
    out->addr = c->addr | (bits == 0 ? 0 : (i << (32 - out->len)));
    return 0;
}

uint32_t
rf_cidr_host_count(const rf_cidr_t *c)
{
    if (c->len >= 31)
        return (uint32_t)rf_cidr_size(c);
    return (uint32_t)(rf_cidr_size(c) - 2);
}

uint32_t
rf_cidr_host_at(const rf_cidr_t *c, uint32_t idx)
{
    return c->len >= 31 ? c->addr + idx : c->addr + 1 + idx;
}
