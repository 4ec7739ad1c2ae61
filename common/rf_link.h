/* rf_link.h -- the capture link layers both agents read, down to the IPv4
 * header (pure: no pcap.h, no allocation). Ethernet with up to two
 * 802.1Q/802.1ad tags, Linux SLL and SLL2 (tags kept in the payload too),
 * raw IP, BSD null/loopback. Tunnels are the copy agent's (cp_decap.c),
 * which also uses rf_link_ether for the Ethernet frames inside them.
 * Every byte is bounds-checked before it is read (tests/fuzz/fuzz_decap.c
 * drives it through cp_decap; test_rf_link per link type). */
#ifndef RF_LINK_H
#define RF_LINK_H

#include <stddef.h>
#include <stdint.h>

/* Link types by their numeric DLT_ value, so callers need no pcap.h. */
#define RF_DLT_NULL        0    /* BSD loopback: 4-byte AF, host order */
#define RF_DLT_EN10MB      1
#define RF_DLT_RAW         12   /* Linux DLT_RAW */
#define RF_DLT_RAW_BSD     14   /* OpenBSD's number for DLT_RAW */
#define RF_LINKTYPE_RAW    101  /* pcap file LINKTYPE_RAW */
#define RF_DLT_LOOP        108  /* OpenBSD loopback: 4-byte AF, network order */
#define RF_DLT_LINUX_SLL   113
#define RF_DLT_IPV4        228
#define RF_DLT_LINUX_SLL2  276

/* VLAN tags stepped over per Ethernet header: more is more than any mirror
 * adds, and an unbounded walk would let one frame cost its length. */
#define RF_LINK_MAX_TAGS 2u

enum {
    RF_LINK_OK = 0,
    RF_LINK_ENOTIP = -1,   /* ARP, IPv6, LLC...: not IPv4 */
    RF_LINK_ESHORT = -2,   /* the bytes end inside the header */
    RF_LINK_EBAD = -3,     /* undecodable: unknown link type, a third tag,
                            * an IP version that is neither 4 nor 6 */
};

/* Is dlt a link type rf_link_strip decodes? */
int rf_link_supported(int dlt);

/* The link-layer header of one frame of `len` bytes: on RF_LINK_OK, *hlen
 * bytes precede an IPv4 header whose first byte is present and says
 * version 4 (the rest of the IPv4 header is the caller's to check).
 * *tags is incremented per VLAN tag stepped over. */
int rf_link_strip(int dlt, const uint8_t *frame, size_t len, size_t *hlen, unsigned *tags);

/* One Ethernet header (with its tags) at p[0..len), as rf_link_strip does
 * for RF_DLT_EN10MB; for Ethernet inside a tunnel. */
int rf_link_ether(const uint8_t *p, size_t len, size_t *hlen, unsigned *tags);

/* An IP packet with no link header (raw, ERSPAN III "IP frame"): only
 * the version nibble says what it is. */
int rf_link_raw_ip(const uint8_t *p, size_t len);

#endif
