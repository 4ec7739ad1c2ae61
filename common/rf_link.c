/* rf_link.c -- link-layer headers down to IPv4 (see rf_link.h). */
#include "rf_link.h"

#include "rf_pkt.h"

#define ETH_HLEN   14u
#define VLAN_HLEN  4u
#define SLL_HLEN   16u
#define SLL2_HLEN  20u
#define NULL_HLEN  4u

#define ETHERTYPE_IPV4     0x0800u
#define ETHERTYPE_VLAN     0x8100u
#define ETHERTYPE_QINQ     0x88A8u
#define ETHERTYPE_QINQ_OLD 0x9100u   /* pre-802.1ad vendor S-tag */

static int
is_vlan_tpid(uint16_t t)
{
    return t == ETHERTYPE_VLAN || t == ETHERTYPE_QINQ || t == ETHERTYPE_QINQ_OLD;
}

/* p + *off is just past an ethertype field whose value is *etype: step over
 * up to RF_LINK_MAX_TAGS tags. Any ethertype but IPv4 is "not IP" for us,
 * IPv6 included (the replay path is IPv4 only), as are 802.3 lengths. */
static int
tags_then_ipv4(const uint8_t *p, size_t len, size_t *off, uint16_t etype, unsigned *tags)
{
    for (unsigned n = 0; is_vlan_tpid(etype); n++) {
        if (n == RF_LINK_MAX_TAGS)
            return RF_LINK_EBAD;
        if (len - *off < VLAN_HLEN)
            return RF_LINK_ESHORT;
        etype = rd16(p + *off + 2);
        *off += VLAN_HLEN;
        (*tags)++;
    }
    return etype == ETHERTYPE_IPV4 ? RF_LINK_OK : RF_LINK_ENOTIP;
}

/* Fixed header of hl bytes with the ethertype at p + et_at. */
static int
cooked(const uint8_t *p, size_t len, size_t hl, size_t et_at, size_t *hlen, unsigned *tags)
{
    if (len < hl)
        return RF_LINK_ESHORT;
    size_t off = hl;
    int rc = tags_then_ipv4(p, len, &off, rd16(p + et_at), tags);
    if (rc != RF_LINK_OK)
        return rc;
    /* The ethertype said IPv4; the header must say so too (rf_link.h's
     * promise: callers read the version-4 byte at *hlen). A mismatch is
     * undecodable, not IPv6. */
    if (off == len)
        return RF_LINK_ESHORT;
    if ((p[off] >> 4) != 4)
        return RF_LINK_EBAD;
    *hlen = off;
    return rc;
}

int
rf_link_ether(const uint8_t *p, size_t len, size_t *hlen, unsigned *tags)
{
    return cooked(p, len, ETH_HLEN, 12, hlen, tags);
}

int
rf_link_raw_ip(const uint8_t *p, size_t len)
{
    if (len < 1)
        return RF_LINK_ESHORT;
    switch (p[0] >> 4) {
    case 4: return RF_LINK_OK;
    case 6: return RF_LINK_ENOTIP;
    default: return RF_LINK_EBAD;
    }
}

int
rf_link_supported(int dlt)
{
    switch (dlt) {
    case RF_DLT_NULL:
    case RF_DLT_EN10MB:
    case RF_DLT_RAW:
    case RF_DLT_RAW_BSD:
    case RF_LINKTYPE_RAW:
    case RF_DLT_LOOP:
    case RF_DLT_LINUX_SLL:
    case RF_DLT_IPV4:
    case RF_DLT_LINUX_SLL2: return 1;
    default: return 0;
    }
}

int
rf_link_strip(int dlt, const uint8_t *frame, size_t len, size_t *hlen, unsigned *tags)
{
    int rc;
    switch (dlt) {
    case RF_DLT_EN10MB: return rf_link_ether(frame, len, hlen, tags);
    case RF_DLT_LINUX_SLL: return cooked(frame, len, SLL_HLEN, 14, hlen, tags);
    case RF_DLT_LINUX_SLL2: return cooked(frame, len, SLL2_HLEN, 0, hlen, tags);
    case RF_DLT_RAW:
    case RF_DLT_RAW_BSD:
    case RF_LINKTYPE_RAW:
    case RF_DLT_IPV4:
        if ((rc = rf_link_raw_ip(frame, len)) == RF_LINK_OK)
            *hlen = 0;
        return rc;
    case RF_DLT_NULL:
    case RF_DLT_LOOP:
        if (len < NULL_HLEN)
            return RF_LINK_ESHORT;
        /* AF_INET is 2 on every OS; the field is in the capturing host's
         * byte order (NULL) or network order (LOOP): accept both. */
        if (rd32(frame) != 2 && rd32(frame) != 0x02000000u)
            return RF_LINK_ENOTIP;
        if ((rc = rf_link_raw_ip(frame + NULL_HLEN, len - NULL_HLEN)) == RF_LINK_OK)
            *hlen = NULL_HLEN;
        return rc;
    default: return RF_LINK_EBAD;
    }
}
