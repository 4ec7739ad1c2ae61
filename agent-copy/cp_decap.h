/* cp_decap.h -- L2 and tunnel decoding of one captured frame down to the
 * innermost IPv4 datagram (pure: no pcap.h, no uv.h, no allocation).
 *
 * Owns: the outer IPv4 header of a tunnel packet, VXLAN, GRE (plain IPv4,
 * gretap 0x6558) and ERSPAN type I/II/III, and the decode counters. Does not own TCP validation (rf_tcp_parse),
 * rule matching (cp_classify), sharding, or the link-layer headers
 * (rf_link.h, shared with the intercept). Every byte is bounds-checked
 * against the captured length before it is read; tests/fuzz/fuzz_decap.c
 * holds it to that. */
#ifndef CP_DECAP_H
#define CP_DECAP_H

#include <stddef.h>
#include <stdint.h>

#include "rf_link.h"   /* RF_DLT_*: the link types cfg.linktype takes */

#define CP_DECAP_VXLAN_PORT 4789u
/* Tunnel headers decoded per frame at most: a mirror tunnel plus one overlay
 * (e.g. ERSPAN of a host running VXLAN). Bounds the work per frame. */
#define CP_DECAP_MAX_DEPTH 2

/* The outermost encapsulation a frame arrived in (the mirror transport the
 * operator configured, not an overlay found inside it). VLAN means tagged
 * Ethernet with no tunnel. ERSPAN type I (no ERSPAN header) is reported as
 * CP_ENCAP_ERSPAN2: it shares GRE protocol 0x88BE. */
typedef enum {
    CP_ENCAP_NONE,
    CP_ENCAP_VLAN,
    CP_ENCAP_VXLAN,
    CP_ENCAP_GRE,
    CP_ENCAP_ERSPAN2,
    CP_ENCAP_ERSPAN3,
    CP_ENCAP__COUNT
} cp_encap_t;

/* Counters, owned by the caller and only ever incremented here. Every call
 * increments `frames` and exactly one outcome counter, so
 *   frames == ok + not_ip + not_tcp + truncated + bad_encap + vni_filtered.
 * per_encap[e] counts frames that reached an innermost IPv4 datagram
 * (ok + not_tcp) by their outermost encapsulation e. */
typedef struct {
    uint64_t frames;
    uint64_t ok;           /* innermost IPv4 carries TCP */
    uint64_t not_ip;       /* ARP, IPv6, LLC, ... at any layer */
    uint64_t not_tcp;      /* innermost IPv4 is not TCP (UDP, ICMP, ...) */
    uint64_t truncated;    /* capture ends inside a header we need */
    uint64_t bad_encap;    /* undecodable: header contradicts itself or
                            * an encapsulation we do not speak */
    uint64_t vni_filtered; /* VXLAN with a VNI other than the filter */
    uint64_t per_encap[CP_ENCAP__COUNT];
} cp_decap_stats_t;

typedef struct {
    int      linktype;   /* RF_DLT_* / DLT_* numeric value */
    int32_t  vni_filter; /* VXLAN VNI to keep (0..2^24-1), -1 any */
    uint16_t vxlan_port; /* UDP destination port of VXLAN; 0 = 4789 */
} cp_decap_cfg_t;

/* Outcomes; each maps to one counter of cp_decap_stats_t. */
enum {
    CP_DECAP_OK = 0,
    CP_DECAP_ENOTIP = -1,
    CP_DECAP_ENOTTCP = -2,   /* outputs are still set (see cp_decap) */
    CP_DECAP_ETRUNC = -3,
    CP_DECAP_EBADENCAP = -4,
    CP_DECAP_EVNI = -5,
};

/* Defaults: Ethernet, any VNI, port 4789. */
void cp_decap_cfg_init(cp_decap_cfg_t *cfg);

/* Find the innermost IPv4 datagram in one captured frame of `caplen` bytes.
 *
 * Walks the link layer for cfg->linktype, then while the IPv4 datagram is a
 * tunnel (UDP to cfg->vxlan_port = VXLAN; IP protocol 47 = GRE/ERSPAN) and
 * fewer than CP_DECAP_MAX_DEPTH tunnels were opened, decodes the tunnel
 * header and its inner Ethernet (or IPv4) header.
 *
 * Returns CP_DECAP_OK when the innermost IPv4 carries TCP (protocol 6);
 * TCP header checks (data offset, fragments) are rf_tcp_parse's job.
 * Returns CP_DECAP_ENOTTCP for any other protocol, with the outputs set all
 * the same, so a caller that wants any IPv4 can still use them.
 * Other negative CP_DECAP_E* codes: *ip = NULL, *ip_len = 0.
 * *encap is always set to the outermost encapsulation recognised so far.
 *
 * On success *ip points INTO `frame` (borrowed, valid as long as frame is)
 * and *ip_len is the datagram length: the IPv4 total length when the capture
 * holds all of it (Ethernet padding and trailers are trimmed off), or the
 * captured bytes when the capture was cut short (snaplen). In the latter case
 * *ip_len < rd16(*ip + 2); rf_tcp_parse(..., need_payload = 1) rejects it,
 * need_payload = 0 accepts it. The header itself is always complete:
 * *ip_len >= IHL*4 >= 20 and the IPv4 version is 4.
 *
 * cfg, st, frame (when caplen > 0) and the out-params must not be NULL. */
int cp_decap(const cp_decap_cfg_t *cfg, cp_decap_stats_t *st, const uint8_t *frame, size_t caplen,
             const uint8_t **ip, size_t *ip_len, cp_encap_t *encap);

/* "none", "vlan", "vxlan", "gre", "erspan2", "erspan3"; "?" out of range.
 * Static strings, stable: they name counters (decap_vxlan, ...). */
const char *cp_encap_name(cp_encap_t e);

/* "ok", "not_ip", ...: the counter name of a cp_decap return code. */
const char *cp_decap_rc_name(int rc);

#endif
