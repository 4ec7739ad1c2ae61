/* rf_pkt.h -- IPv4/TCP header views, checksums, sequence arithmetic (pure).
 * Views borrow the packet bytes; fields ending in _be are network order. */
#ifndef RF_PKT_H
#define RF_PKT_H

#include <stddef.h>
#include <stdint.h>

#define RF_TH_FIN 0x01
#define RF_TH_SYN 0x02
#define RF_TH_RST 0x04
#define RF_TH_PSH 0x08
#define RF_TH_ACK 0x10

/* Parsed view of one IPv4+TCP packet starting at `ip`. */
typedef struct {
    uint8_t       *ip;        /* start of IPv4 header (borrowed) */
    uint8_t       *tcp;       /* start of TCP header */
    const uint8_t *payload;
    uint16_t       ip_hlen, tcp_hlen;
    uint16_t       tot_len;   /* IP total length as announced */
    uint16_t       cap_len;   /* bytes actually present from ip */
    uint32_t       payload_len; /* from tot_len (may exceed captured bytes) */
    uint32_t       saddr, daddr;    /* host order */
    uint16_t       sport, dport;    /* host order */
    uint32_t       seq, ack;        /* host order */
    uint16_t       win;
    uint8_t        flags;
} rf_tcp_view_t;

enum {
    RF_PKT_OK = 0,
    RF_PKT_ETRUNC = -1,   /* shorter than its headers */
    RF_PKT_ENOTV4 = -2,
    RF_PKT_ENOTTCP = -3,
    RF_PKT_EBADHDR = -4,  /* IHL/doff/tot_len inconsistent */
    RF_PKT_EFRAG = -5,    /* non-first fragment or more-fragments set */
};

/* Parse an IPv4 datagram of `len` captured bytes. When `need_payload` is 0
 * (intercept headers), tot_len may exceed len. */
int rf_tcp_parse(rf_tcp_view_t *v, uint8_t *ip, size_t len, int need_payload);

/* TCP options of interest. */
typedef struct {
    uint16_t mss;
    int8_t   wscale;        /* -1 absent */
    uint8_t  sack_ok;
    uint8_t  has_ts;
    uint32_t ts_val, ts_ecr;
    int16_t  ts_off;        /* offset of the TS option's TSval from tcp start; -1 */
} rf_tcp_opts_t;
void rf_tcp_opts(rf_tcp_opts_t *o, const uint8_t *tcp, uint16_t tcp_hlen);

/* Split a ResponseBatch: the IPv4+TCP header at *off (each is self-
 * delimiting by IHL and data offset), advancing *off. Returns its length,
 * 0 at the end, RF_PKT_EBADHDR when the bytes are not a header (the rest
 * of the batch is then unusable). Never reads past len. */
int rf_hdr_next(const uint8_t *buf, size_t len, size_t *off);

uint16_t rf_csum_ip(const uint8_t *ip, uint16_t hlen);
/* Full TCP checksum over pseudo-header + header + payload of `tcp_len`. */
uint16_t rf_csum_tcp(const uint8_t *tcp, uint32_t tcp_len, uint32_t saddr_be, uint32_t daddr_be);
/* Recompute both checksums of a complete IPv4/TCP datagram in place. */
void rf_pkt_fix_checksums(uint8_t *ip);

static inline int seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline int seq_le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline int seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static inline int seq_ge(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t rd32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

#endif
