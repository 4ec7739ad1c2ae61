/* cp_decap.c -- link layer and tunnel decoding down to the innermost IPv4
 * datagram (pure). Owns the byte layouts of VXLAN (RFC 7348), GRE (RFC
 * 2784/2890) and ERSPAN I/II/III (draft-foschiano-erspan); the link layers
 * (Ethernet/802.1Q, SLL, SLL2, null/loopback, raw) are common/rf_link.c,
 * shared with the intercept; nothing above IPv4.
 *
 * Every read goes through a cursor (pointer, remaining length) and is
 * preceded by need(): a header that does not fit is an error, never a read
 * past the end. The cursor's end is either the end of the capture or a
 * length field (IPv4 total length, UDP length); need() tells the two apart so
 * a short capture counts as `truncated` and a lying length as `bad_encap`. */
#include "cp_decap.h"

#include "rf_link.h"
#include "rf_pkt.h"

#define IPV4_MIN_HLEN   20u
#define UDP_HLEN        8u
#define VXLAN_HLEN      8u
#define GRE_BASE_HLEN   4u
#define ERSPAN2_HLEN    8u
#define ERSPAN3_HLEN    12u
#define ERSPAN3_SUBHLEN 8u

#define ETHERTYPE_IPV4   0x0800u
#define ETHERTYPE_IPV6   0x86DDu
#define ETHERTYPE_TEB    0x6558u /* transparent Ethernet bridging: gretap */
#define ETHERTYPE_ERSPAN2 0x88BEu
#define ETHERTYPE_ERSPAN3 0x22EBu

#define IPPROTO_TCP_ 6u
#define IPPROTO_UDP_ 17u
#define IPPROTO_GRE_ 47u

#define GRE_F_CSUM    0x8000u
#define GRE_F_ROUTING 0x4000u
#define GRE_F_KEY     0x2000u
#define GRE_F_SEQ     0x1000u
#define GRE_VER_MASK  0x0007u

#define VXLAN_F_VNI 0x08u /* the I flag: VNI field is valid */

/* A window on the frame: [p, p + len). cap_end is the end of the capture,
 * so need() can tell a short capture from a short length field. */
typedef struct {
    const uint8_t *p;
    size_t         len;
    const uint8_t *cap_end;
} cp_decap_cur_t;

static int
need(const cp_decap_cur_t *c, size_t n)
{
    if (c->len >= n)
        return 0;
    return c->p + c->len == c->cap_end ? CP_DECAP_ETRUNC : CP_DECAP_EBADENCAP;
}

/* Only ever called after need(c, n) succeeded. */
static void
skip(cp_decap_cur_t *c, size_t n)
{
    c->p += n;
    c->len -= n;
}

/* The link-layer headers themselves are rf_link's (shared with the
 * intercept); this maps its verdict to ours and moves c past the header.
 * "Too short" is truncated or bad_encap, as need() tells them apart. */
static int
from_link(cp_decap_cur_t *c, int rc, size_t hl)
{
    switch (rc) {
    case RF_LINK_OK: skip(c, hl); return 0;
    case RF_LINK_ENOTIP: return CP_DECAP_ENOTIP;
    case RF_LINK_ESHORT: return need(c, c->len + 1);
    default: return CP_DECAP_EBADENCAP;
    }
}

static int
ether(cp_decap_cur_t *c, unsigned *tags)
{
    size_t hl = 0;
    int rc = rf_link_ether(c->p, c->len, &hl, tags);
    return from_link(c, rc, hl);
}

/* Raw IP and ERSPAN III "IP frame": only the version nibble says what it is. */
static int
raw_ip(cp_decap_cur_t *c)
{
    return from_link(c, rf_link_raw_ip(c->p, c->len), 0);
}

/* Leaves c at the first IPv4 byte. */
static int
link_layer(int linktype, cp_decap_cur_t *c, unsigned *tags)
{
    size_t hl = 0;
    int rc = rf_link_strip(linktype, c->p, c->len, &hl, tags);
    return from_link(c, rc, hl);
}

/* Validate the IPv4 header at c and trim c to the datagram: Ethernet padding
 * and trailers go, a short capture stays short (the caller sees
 * len < total length). Sets *ihl. */
static int
ipv4(cp_decap_cur_t *c, size_t *ihl)
{
    int rc = need(c, IPV4_MIN_HLEN);
    if (rc)
        return rc;
    if ((c->p[0] >> 4) != 4)
        return CP_DECAP_EBADENCAP;
    size_t   hl = (size_t)(c->p[0] & 0x0f) * 4u;
    uint16_t tot = rd16(c->p + 2);
    if (hl < IPV4_MIN_HLEN || tot < hl)
        return CP_DECAP_EBADENCAP;
    if ((rc = need(c, hl)) != 0)
        return rc;
    if (tot < c->len)
        c->len = tot;
    *ihl = hl;
    return 0;
}

static int
vxlan(const cp_decap_cfg_t *cfg, cp_decap_cur_t *c)
{
    int rc = need(c, VXLAN_HLEN);
    if (rc)
        return rc;
    /* RFC 7348: I must be set; other flag bits are reserved and ignored,
     * which also accepts VXLAN-GBP's G bit. */
    if ((c->p[0] & VXLAN_F_VNI) == 0)
        return CP_DECAP_EBADENCAP;
    uint32_t vni = rd32(c->p + 4) >> 8;
    if (cfg->vni_filter >= 0 && vni != (uint32_t)cfg->vni_filter)
        return CP_DECAP_EVNI;
    skip(c, VXLAN_HLEN);
    unsigned tags = 0;
    return ether(c, &tags);
}

static int
gre(cp_decap_cur_t *c, cp_encap_t *layer)
{
    int rc = need(c, GRE_BASE_HLEN);
    if (rc)
        return rc;
    uint16_t flags = rd16(c->p);
    uint16_t proto = rd16(c->p + 2);
    /* Version 1 is PPTP's enhanced GRE; the routing field (RFC 1701) has a
     * variable, self-described length nobody mirrors with: refuse both. */
    if ((flags & GRE_VER_MASK) != 0 || (flags & GRE_F_ROUTING) != 0)
        return CP_DECAP_EBADENCAP;
    size_t hlen = GRE_BASE_HLEN + ((flags & GRE_F_CSUM) ? 4u : 0u) +
                  ((flags & GRE_F_KEY) ? 4u : 0u) + ((flags & GRE_F_SEQ) ? 4u : 0u);
    if ((rc = need(c, hlen)) != 0)
        return rc;
    skip(c, hlen);

    unsigned tags = 0;
    switch (proto) {
    case ETHERTYPE_IPV4:
        return 0;
    case ETHERTYPE_TEB:
        return ether(c, &tags);
    case ETHERTYPE_ERSPAN2:
        *layer = CP_ENCAP_ERSPAN2;
        /* Type I has no sequence number and no ERSPAN header (the Linux
         * and Wireshark convention); type II has both. */
        if (flags & GRE_F_SEQ) {
            if ((rc = need(c, ERSPAN2_HLEN)) != 0)
                return rc;
            if ((c->p[0] >> 4) != 1)
                return CP_DECAP_EBADENCAP;
            skip(c, ERSPAN2_HLEN);
        }
        return ether(c, &tags);
    case ETHERTYPE_ERSPAN3: {
        *layer = CP_ENCAP_ERSPAN3;
        if ((rc = need(c, ERSPAN3_HLEN)) != 0)
            return rc;
        if ((c->p[0] >> 4) != 2)
            return CP_DECAP_EBADENCAP;
        /* Byte 10: P(1) FT(5) HwID-high(2); byte 11: HwID-low(4) D(1)
         * Gra(2) O(1). O announces the 8-byte platform subheader. */
        unsigned ft = (c->p[10] >> 2) & 0x1fu;
        unsigned o = c->p[11] & 0x01u;
        skip(c, ERSPAN3_HLEN);
        if (o) {
            if ((rc = need(c, ERSPAN3_SUBHLEN)) != 0)
                return rc;
            skip(c, ERSPAN3_SUBHLEN);
        }
        if (ft == 0)
            return ether(c, &tags);
        if (ft == 2)
            return raw_ip(c);
        return CP_DECAP_EBADENCAP;
    }
    case ETHERTYPE_IPV6:
        return CP_DECAP_ENOTIP;
    default:
        return CP_DECAP_EBADENCAP;
    }
}

/* c is a validated IPv4 datagram with header length ihl. Returns 1 and moves
 * c to the inner IPv4 datagram when it is a tunnel we decode, 0 when it is
 * not a tunnel (c untouched: it is the innermost datagram), or an error.
 * *layer is set as soon as the tunnel type is known, so a failure inside it
 * is still attributed to it. */
static int
tunnel(const cp_decap_cfg_t *cfg, cp_decap_cur_t *c, size_t ihl, cp_encap_t *layer)
{
    uint16_t       frag = rd16(c->p + 6);
    int            first = (frag & 0x1fffu) == 0;
    int            more = (frag & 0x2000u) != 0;
    uint16_t       tot = rd16(c->p + 2);
    cp_decap_cur_t in = { c->p + ihl, c->len - ihl, c->cap_end };
    int            rc;

    switch (c->p[9]) {
    case IPPROTO_UDP_: {
        /* A non-first fragment or a UDP header the IP length does not hold
         * is just some UDP datagram we cannot look into: not TCP. */
        if (!first || tot < ihl + UDP_HLEN)
            return 0;
        if ((rc = need(&in, UDP_HLEN)) != 0)
            return rc;
        uint16_t vport = cfg->vxlan_port ? cfg->vxlan_port : CP_DECAP_VXLAN_PORT;
        if (rd16(in.p + 2) != vport)
            return 0;
        *layer = CP_ENCAP_VXLAN;
        /* VTEPs set DF; a fragmented one would need reassembly. */
        if (more)
            return CP_DECAP_EBADENCAP;
        uint16_t ulen = rd16(in.p + 4);
        if (ulen < UDP_HLEN || ulen > tot - ihl)
            return CP_DECAP_EBADENCAP;
        if (ulen < in.len)
            in.len = ulen;
        skip(&in, UDP_HLEN);
        rc = vxlan(cfg, &in);
        break;
    }
    case IPPROTO_GRE_:
        *layer = CP_ENCAP_GRE;
        if (!first || more)
            return CP_DECAP_EBADENCAP;
        rc = gre(&in, layer);
        break;
    default:
        return 0;
    }
    if (rc)
        return rc;
    *c = in;
    return 1;
}

static int
count(cp_decap_stats_t *st, int rc)
{
    switch (rc) {
    case CP_DECAP_OK:        st->ok++; break;
    case CP_DECAP_ENOTIP:    st->not_ip++; break;
    case CP_DECAP_ENOTTCP:   st->not_tcp++; break;
    case CP_DECAP_ETRUNC:    st->truncated++; break;
    case CP_DECAP_EVNI:      st->vni_filtered++; break;
    case CP_DECAP_EBADENCAP:
    default:                 st->bad_encap++; break;
    }
    return rc;
}

void
cp_decap_cfg_init(cp_decap_cfg_t *cfg)
{
    cfg->linktype = RF_DLT_EN10MB;
    cfg->vni_filter = -1;
    cfg->vxlan_port = CP_DECAP_VXLAN_PORT;
}

int
cp_decap(const cp_decap_cfg_t *cfg, cp_decap_stats_t *st, const uint8_t *frame, size_t caplen,
         const uint8_t **ip, size_t *ip_len, cp_encap_t *encap)
{
    cp_decap_cur_t c = { frame, caplen, NULL };
    unsigned       tags = 0;
    int            rc;

    st->frames++;
    *ip = NULL;
    *ip_len = 0;
    *encap = CP_ENCAP_NONE;
    /* Nothing captured. Also keeps NULL out of the cursor: even NULL + 0
     * is undefined (UBSan's pointer-overflow check). */
    if (frame == NULL || caplen == 0)
        return count(st, CP_DECAP_ETRUNC);
    c.cap_end = frame + caplen;

    rc = link_layer(cfg->linktype, &c, &tags);
    if (tags)
        *encap = CP_ENCAP_VLAN;
    if (rc)
        return count(st, rc);

    for (int depth = 0;; depth++) {
        size_t ihl;
        if ((rc = ipv4(&c, &ihl)) != 0)
            return count(st, rc);
        if (depth == CP_DECAP_MAX_DEPTH)
            break;
        cp_encap_t layer = CP_ENCAP_NONE;
        rc = tunnel(cfg, &c, ihl, &layer);
        if (depth == 0 && layer != CP_ENCAP_NONE)
            *encap = layer;
        if (rc < 0)
            return count(st, rc);
        if (rc == 0)
            break;
    }

    *ip = c.p;
    *ip_len = c.len;
    st->per_encap[*encap]++;
    return count(st, c.p[9] == IPPROTO_TCP_ ? CP_DECAP_OK : CP_DECAP_ENOTTCP);
}

const char *
cp_encap_name(cp_encap_t e)
{
    static const char *const names[CP_ENCAP__COUNT] = {
        [CP_ENCAP_NONE] = "none",       [CP_ENCAP_VLAN] = "vlan",
        [CP_ENCAP_VXLAN] = "vxlan",     [CP_ENCAP_GRE] = "gre",
        [CP_ENCAP_ERSPAN2] = "erspan2", [CP_ENCAP_ERSPAN3] = "erspan3",
    };
    if ((unsigned)e >= CP_ENCAP__COUNT)
        return "?";
    return names[e];
}

const char *
cp_decap_rc_name(int rc)
{
    switch (rc) {
    case CP_DECAP_OK:        return "ok";
    case CP_DECAP_ENOTIP:    return "not_ip";
    case CP_DECAP_ENOTTCP:   return "not_tcp";
    case CP_DECAP_ETRUNC:    return "truncated";
    case CP_DECAP_EBADENCAP: return "bad_encap";
    case CP_DECAP_EVNI:      return "vni_filtered";
    default:                 return "?";
    }
}
