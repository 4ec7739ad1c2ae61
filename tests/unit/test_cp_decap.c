/* test_cp_decap.c -- unit tests of agent-copy/cp_decap.c: one hand-built
 * frame per decode path (link types, VLAN, VXLAN, GRE, gretap, ERSPAN I/II/
 * III), malformed headers, and every frame cut at every byte. Cuts are
 * copied into exact-size heap buffers so ASan (-DRF_SANITIZE=ON) traps any
 * read past the capture. Every call also checks the counter contract. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cp_decap.h"
#include "rf_pkt.h"

/* ---- frame builder ---------------------------------------------------- */

typedef struct {
    uint8_t b[1024];
    size_t  n;
    size_t  inner;     /* offset of the innermost IPv4 header */
    size_t  inner_hl;  /* its header length */
} frm_t;

static void
put8(frm_t *f, unsigned v)
{
    assert_true(f->n < sizeof(f->b));
    f->b[f->n++] = (uint8_t)v;
}

static void
put16(frm_t *f, unsigned v)
{
    put8(f, v >> 8);
    put8(f, v & 0xff);
}

static void
put32(frm_t *f, uint32_t v)
{
    put16(f, v >> 16);
    put16(f, v & 0xffff);
}

static void
macs(frm_t *f)
{
    static const uint8_t m[12] = { 0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02 };
    for (size_t i = 0; i < sizeof(m); i++)
        put8(f, m[i]);
}

static void
ether(frm_t *f, unsigned etype)
{
    macs(f);
    put16(f, etype);
}

/* Opens an IPv4 header with `opt_words` 32-bit words of NOP options; the
 * total length is written by ip_close(). */
static size_t
ip_open(frm_t *f, unsigned proto, unsigned opt_words, uint32_t src, uint32_t dst)
{
    size_t at = f->n;
    put8(f, 0x40 | (5 + opt_words));
    put8(f, 0);
    put16(f, 0);       /* total length, patched */
    put16(f, 0x1234);  /* id */
    put16(f, 0x4000);  /* DF */
    put8(f, 64);
    put8(f, proto);
    put16(f, 0);       /* checksum, patched */
    put32(f, src);
    put32(f, dst);
    for (unsigned i = 0; i < opt_words; i++)
        put32(f, 0x01010101u);
    return at;
}

static void
ip_close(frm_t *f, size_t at)
{
    wr16(f->b + at + 2, (uint16_t)(f->n - at));
    wr16(f->b + at + 10, 0);
    wr16(f->b + at + 10, rf_csum_ip(f->b + at, (uint16_t)((f->b[at] & 0x0f) * 4)));
}

/* The replayed thing: an HTTP request in one TCP segment. */
static void
inner_tcp(frm_t *f, unsigned opt_words)
{
    static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    size_t at = ip_open(f, 6, opt_words, 0x0ac70a0au, 0x0ac70014u);
    f->inner = at;
    f->inner_hl = 20u + 4u * opt_words;
    put16(f, 40000);
    put16(f, 80);
    put32(f, 1000);
    put32(f, 2000);
    put8(f, 0x50);
    put8(f, RF_TH_ACK | RF_TH_PSH);
    put16(f, 65535);
    put16(f, 0);
    put16(f, 0);
    for (size_t i = 0; i < sizeof(req) - 1; i++)
        put8(f, (uint8_t)req[i]);
    ip_close(f, at);
}

static size_t
udp_open(frm_t *f, unsigned dport)
{
    size_t at = f->n;
    put16(f, 51000);
    put16(f, dport);
    put16(f, 0);  /* length, patched */
    put16(f, 0);
    return at;
}

static void
udp_close(frm_t *f, size_t at)
{
    wr16(f->b + at + 4, (uint16_t)(f->n - at));
}

static void
vxlan_hdr(frm_t *f, unsigned flags, uint32_t vni)
{
    put8(f, flags);
    put8(f, 0);
    put16(f, 0);
    put32(f, vni << 8);
}

#define GRE_C 0x8000u
#define GRE_R 0x4000u
#define GRE_K 0x2000u
#define GRE_S 0x1000u

static void
gre_hdr(frm_t *f, unsigned flags, unsigned proto)
{
    put16(f, flags);
    put16(f, proto);
    if (flags & GRE_C)
        put32(f, 0);           /* checksum + reserved1 */
    if (flags & GRE_K)
        put32(f, 0xfeedbeefu); /* key */
    if (flags & GRE_S)
        put32(f, 7);           /* sequence */
}

static void
erspan2_hdr(frm_t *f, unsigned ver)
{
    put16(f, (ver << 12) | 100);  /* ver, VLAN 100 */
    put16(f, 0x0000 | 42);        /* COS, En, T, session 42 */
    put32(f, 0);                  /* reserved, index */
}

static void
erspan3_hdr(frm_t *f, unsigned ft, int o)
{
    put16(f, (2u << 12) | 100);  /* ver 2, VLAN 100 */
    put16(f, 42);                /* COS, BSO, T, session 42 */
    put32(f, 0xdeadbeefu);       /* timestamp */
    put16(f, 0);                 /* SGT */
    put8(f, (ft & 0x1f) << 2);   /* P, FT, HwID high */
    put8(f, o ? 0x01 : 0x00);    /* HwID low, D, Gra, O */
    if (o) {
        put32(f, 0x11111111u);   /* platform-specific subheader */
        put32(f, 0x22222222u);
    }
}

/* Ethernet + outer IPv4 (+ options) + UDP/4789 + VXLAN(vni) + inner frame. */
static void
vxlan_frame(frm_t *f, uint32_t vni, unsigned outer_opts, unsigned dport)
{
    ether(f, 0x0800);
    size_t oip = ip_open(f, 17, outer_opts, 0x0ac7000au, 0x0ac70063u);
    size_t u = udp_open(f, dport);
    vxlan_hdr(f, 0x08, vni);
    ether(f, 0x0800);
    inner_tcp(f, 0);
    udp_close(f, u);
    ip_close(f, oip);
}

static void
gre_frame(frm_t *f, unsigned flags, unsigned proto)
{
    ether(f, 0x0800);
    size_t oip = ip_open(f, 47, 0, 0x0ac7000au, 0x0ac70063u);
    gre_hdr(f, flags, proto);
    if (proto != 0x0800)
        ether(f, 0x0800);
    inner_tcp(f, 0);
    ip_close(f, oip);
}

/* ---- decap with the counter contract checked on every call ------------ */

static uint64_t
outcomes(const cp_decap_stats_t *s)
{
    return s->ok + s->not_ip + s->not_tcp + s->truncated + s->bad_encap + s->vni_filtered;
}

static uint64_t
per_encap_sum(const cp_decap_stats_t *s)
{
    uint64_t n = 0;
    for (int i = 0; i < CP_ENCAP__COUNT; i++)
        n += s->per_encap[i];
    return n;
}

static cp_decap_stats_t g_st;

/* Decodes a heap copy of exactly `len` bytes so ASan sees any overread. */
static int
decap_cfg(const cp_decap_cfg_t *cfg, const uint8_t *frame, size_t len, size_t *ip_off,
          size_t *ip_len, cp_encap_t *encap)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, frame, len);
    cp_decap_stats_t before = g_st;
    const uint8_t *ip = (const uint8_t *)1;
    size_t         il = 12345;
    cp_encap_t     e = CP_ENCAP__COUNT;
    int rc = cp_decap(cfg, &g_st, copy, len, &ip, &il, &e);

    assert_int_equal(g_st.frames, before.frames + 1);
    assert_int_equal(outcomes(&g_st), outcomes(&before) + 1);
    assert_int_equal(g_st.frames, outcomes(&g_st));
    assert_int_equal(per_encap_sum(&g_st), g_st.ok + g_st.not_tcp);
    assert_true((unsigned)e < CP_ENCAP__COUNT);
    if (rc == CP_DECAP_OK || rc == CP_DECAP_ENOTTCP) {
        assert_non_null(ip);
        assert_true(ip >= copy && ip + il <= copy + len);
        assert_true(il >= 20);
        assert_int_equal(ip[0] >> 4, 4);
        assert_true(il >= (size_t)(ip[0] & 0x0f) * 4);
        assert_true(il <= rd16(ip + 2));
        assert_int_equal(ip[9] == 6, rc == CP_DECAP_OK);
        assert_int_equal(g_st.per_encap[e], before.per_encap[e] + 1);
        *ip_off = (size_t)(ip - copy);
    } else {
        assert_null(ip);
        assert_int_equal(il, 0);
        *ip_off = 0;
    }
    *ip_len = il;
    *encap = e;
    free(copy);
    return rc;
}

static int
decap_lt(int linktype, const frm_t *f, size_t len, size_t *ip_off, size_t *ip_len,
         cp_encap_t *encap)
{
    cp_decap_cfg_t cfg;
    cp_decap_cfg_init(&cfg);
    cfg.linktype = linktype;
    return decap_cfg(&cfg, f->b, len, ip_off, ip_len, encap);
}

/* Whole frame decodes to the inner TCP datagram with the expected encap. */
static void
expect_ok(int linktype, const frm_t *f, cp_encap_t want)
{
    size_t off, len;
    cp_encap_t e;
    assert_int_equal(decap_lt(linktype, f, f->n, &off, &len, &e), CP_DECAP_OK);
    assert_int_equal(e, want);
    assert_int_equal(off, f->inner);
    assert_int_equal(len, rd16(f->b + f->inner + 2));
    rf_tcp_view_t v;
    assert_int_equal(rf_tcp_parse(&v, (uint8_t *)f->b + off, len, 1), RF_PKT_OK);
    assert_int_equal(v.dport, 80);
    assert_int_equal(v.payload_len, 27);
}

static void
expect_rc(int linktype, const frm_t *f, int want_rc, cp_encap_t want_encap)
{
    size_t off, len;
    cp_encap_t e;
    assert_int_equal(decap_lt(linktype, f, f->n, &off, &len, &e), want_rc);
    assert_int_equal(e, want_encap);
}

/* Every proper prefix of a good frame: a cut before the end of the inner
 * IPv4 header is ETRUNC (counted as truncated, never another outcome); a
 * cut after it decodes with ip_len = captured bytes, which rf_tcp_parse
 * then refuses for lack of payload. */
static void
expect_truncation(int linktype, const frm_t *f, cp_encap_t want)
{
    for (size_t cut = 0; cut < f->n; cut++) {
        size_t off, len;
        cp_encap_t e;
        int rc = decap_lt(linktype, f, cut, &off, &len, &e);
        if (cut < f->inner + f->inner_hl) {
            assert_int_equal(rc, CP_DECAP_ETRUNC);
        } else {
            assert_int_equal(rc, CP_DECAP_OK);
            assert_int_equal(e, want);
            assert_int_equal(off, f->inner);
            assert_int_equal(len, cut - f->inner);
            rf_tcp_view_t v;
            uint8_t buf[1024];
            memcpy(buf, f->b + off, len);
            assert_int_not_equal(rf_tcp_parse(&v, buf, len, 1), RF_PKT_OK);
        }
    }
}

static void
expect_all(int linktype, const frm_t *f, cp_encap_t want)
{
    expect_ok(linktype, f, want);
    expect_truncation(linktype, f, want);
}

/* ---- link layers ------------------------------------------------------ */

static void
test_ethernet(void **state)
{
    (void)state;
    frm_t f = { .n = 0 };
    ether(&f, 0x0800);
    inner_tcp(&f, 0);
    expect_all(RF_DLT_EN10MB, &f, CP_ENCAP_NONE);

    /* IHL options on the only IPv4 header. */
    frm_t g = { .n = 0 };
    ether(&g, 0x0800);
    inner_tcp(&g, 3);
    expect_all(RF_DLT_EN10MB, &g, CP_ENCAP_NONE);
}

static void
test_ethernet_padding_trimmed(void **state)
{
    (void)state;
    /* A bare 40-byte ACK is padded to the 60-byte Ethernet minimum (plus an
     * FCS-like trailer): ip_len is the IPv4 total length, not caplen. */
    frm_t f = { .n = 0 };
    ether(&f, 0x0800);
    size_t at = ip_open(&f, 6, 0, 1, 2);
    for (int i = 0; i < 20; i++)
        put8(&f, i == 12 ? 0x50 : 0);
    ip_close(&f, at);
    while (f.n < 64)
        put8(&f, 0xee);
    size_t off, len;
    cp_encap_t e;
    assert_int_equal(decap_lt(RF_DLT_EN10MB, &f, f.n, &off, &len, &e), CP_DECAP_OK);
    assert_int_equal(off, 14);
    assert_int_equal(len, 40);
}

static void
test_snaplen_short(void **state)
{
    (void)state;
    /* Total length beyond the capture: decoded, ip_len = captured bytes. */
    frm_t f = { .n = 0 };
    ether(&f, 0x0800);
    inner_tcp(&f, 0);
    size_t off, len;
    cp_encap_t e;
    assert_int_equal(decap_lt(RF_DLT_EN10MB, &f, 14 + 45, &off, &len, &e), CP_DECAP_OK);
    assert_int_equal(len, 45);
    assert_true(len < rd16(f.b + 14 + 2));
    rf_tcp_view_t v;
    assert_int_equal(rf_tcp_parse(&v, f.b + off, len, 0), RF_PKT_OK);
    assert_int_equal(rf_tcp_parse(&v, f.b + off, len, 1), RF_PKT_ETRUNC);
}

static void
test_vlan_qinq(void **state)
{
    (void)state;
    frm_t f = { .n = 0 };
    macs(&f);
    put16(&f, 0x8100);
    put16(&f, 0x0064);
    put16(&f, 0x0800);
    inner_tcp(&f, 0);
    expect_all(RF_DLT_EN10MB, &f, CP_ENCAP_VLAN);

    frm_t q = { .n = 0 };
    macs(&q);
    put16(&q, 0x88a8);
    put16(&q, 0x0010);
    put16(&q, 0x8100);
    put16(&q, 0x0064);
    put16(&q, 0x0800);
    inner_tcp(&q, 0);
    expect_all(RF_DLT_EN10MB, &q, CP_ENCAP_VLAN);

    /* A third tag is beyond what we decode. */
    frm_t t = { .n = 0 };
    macs(&t);
    put16(&t, 0x88a8);
    put16(&t, 1);
    put16(&t, 0x8100);
    put16(&t, 2);
    put16(&t, 0x8100);
    put16(&t, 3);
    put16(&t, 0x0800);
    inner_tcp(&t, 0);
    expect_rc(RF_DLT_EN10MB, &t, CP_DECAP_EBADENCAP, CP_ENCAP_VLAN);
}

static void
test_sll_sll2(void **state)
{
    (void)state;
    frm_t f = { .n = 0 };
    put16(&f, 0);       /* packet type: to us */
    put16(&f, 1);       /* ARPHRD_ETHER */
    put16(&f, 6);       /* address length */
    for (int i = 0; i < 8; i++)
        put8(&f, i);
    put16(&f, 0x0800);
    inner_tcp(&f, 0);
    expect_all(RF_DLT_LINUX_SLL, &f, CP_ENCAP_NONE);

    /* SLL with the 802.1Q tag left in the payload. */
    frm_t v = { .n = 0 };
    put16(&v, 0);
    put16(&v, 1);
    put16(&v, 6);
    for (int i = 0; i < 8; i++)
        put8(&v, i);
    put16(&v, 0x8100);
    put16(&v, 0x0064);
    put16(&v, 0x0800);
    inner_tcp(&v, 0);
    expect_all(RF_DLT_LINUX_SLL, &v, CP_ENCAP_VLAN);

    frm_t g = { .n = 0 };
    put16(&g, 0x0800);  /* protocol */
    put16(&g, 0);       /* reserved */
    put32(&g, 3);       /* ifindex */
    put16(&g, 1);       /* ARPHRD_ETHER */
    put8(&g, 0);        /* packet type */
    put8(&g, 6);        /* address length */
    for (int i = 0; i < 8; i++)
        put8(&g, i);
    inner_tcp(&g, 0);
    expect_all(RF_DLT_LINUX_SLL2, &g, CP_ENCAP_NONE);

    frm_t a = { .n = 0 };
    put16(&a, 0x0806);  /* ARP on SLL2 */
    for (int i = 0; i < 18; i++)
        put8(&a, 0);
    for (int i = 0; i < 28; i++)
        put8(&a, 0);
    expect_rc(RF_DLT_LINUX_SLL2, &a, CP_DECAP_ENOTIP, CP_ENCAP_NONE);
}

static void
test_raw_and_null(void **state)
{
    (void)state;
    frm_t f = { .n = 0 };
    inner_tcp(&f, 0);
    expect_all(RF_DLT_RAW, &f, CP_ENCAP_NONE);
    expect_all(RF_DLT_RAW_BSD, &f, CP_ENCAP_NONE);
    expect_all(RF_LINKTYPE_RAW, &f, CP_ENCAP_NONE);

    frm_t six = { .n = 0 };
    put32(&six, 0x60000000u);
    for (int i = 0; i < 36; i++)
        put8(&six, 0);
    expect_rc(RF_DLT_RAW, &six, CP_DECAP_ENOTIP, CP_ENCAP_NONE);
    six.b[0] = 0x50;
    expect_rc(RF_DLT_RAW, &six, CP_DECAP_EBADENCAP, CP_ENCAP_NONE);

    /* AF_INET in little-endian (host order on x86) and network order. */
    frm_t le = { .n = 0 };
    put32(&le, 0x02000000u);
    inner_tcp(&le, 0);
    expect_all(RF_DLT_NULL, &le, CP_ENCAP_NONE);
    frm_t be = { .n = 0 };
    put32(&be, 2);
    inner_tcp(&be, 0);
    expect_all(RF_DLT_LOOP, &be, CP_ENCAP_NONE);
    frm_t v6 = { .n = 0 };
    put32(&v6, 0x1e000000u);  /* AF_INET6 (BSD) */
    inner_tcp(&v6, 0);
    expect_rc(RF_DLT_NULL, &v6, CP_DECAP_ENOTIP, CP_ENCAP_NONE);
}

static void
test_unknown_linktype_and_empty(void **state)
{
    (void)state;
    frm_t f = { .n = 0 };
    ether(&f, 0x0800);
    inner_tcp(&f, 0);
    expect_rc(105 /* 802.11 */, &f, CP_DECAP_EBADENCAP, CP_ENCAP_NONE);

    cp_decap_cfg_t cfg;
    cp_decap_cfg_init(&cfg);
    const uint8_t *ip;
    size_t il;
    cp_encap_t e;
    cp_decap_stats_t st = { 0 };
    assert_int_equal(cp_decap(&cfg, &st, NULL, 0, &ip, &il, &e), CP_DECAP_ETRUNC);
    assert_int_equal(st.truncated, 1);
}

static void
test_not_ip_not_tcp(void **state)
{
    (void)state;
    frm_t arp = { .n = 0 };
    ether(&arp, 0x0806);
    for (int i = 0; i < 28; i++)
        put8(&arp, 0);
    expect_rc(RF_DLT_EN10MB, &arp, CP_DECAP_ENOTIP, CP_ENCAP_NONE);

    frm_t six = { .n = 0 };
    ether(&six, 0x86dd);
    put32(&six, 0x60000000u);
    expect_rc(RF_DLT_EN10MB, &six, CP_DECAP_ENOTIP, CP_ENCAP_NONE);

    frm_t llc = { .n = 0 };
    ether(&llc, 0x0026);  /* 802.3 length */
    for (int i = 0; i < 38; i++)
        put8(&llc, 0x42);
    expect_rc(RF_DLT_EN10MB, &llc, CP_DECAP_ENOTIP, CP_ENCAP_NONE);

    /* UDP DNS: not TCP, but the datagram is still handed out. */
    frm_t dns = { .n = 0 };
    ether(&dns, 0x0800);
    size_t at = ip_open(&dns, 17, 0, 1, 2);
    size_t u = udp_open(&dns, 53);
    put32(&dns, 0xabcd0100u);
    udp_close(&dns, u);
    ip_close(&dns, at);
    size_t off, len;
    cp_encap_t e;
    assert_int_equal(decap_lt(RF_DLT_EN10MB, &dns, dns.n, &off, &len, &e), CP_DECAP_ENOTTCP);
    assert_int_equal(off, 14);
    assert_int_equal(len, 32);
    assert_int_equal(e, CP_ENCAP_NONE);
}

static void
test_bad_ipv4(void **state)
{
    (void)state;
    frm_t f = { .n = 0 };
    ether(&f, 0x0800);
    inner_tcp(&f, 0);

    frm_t g = f;
    g.b[14] = 0x44;  /* IHL 4 */
    expect_rc(RF_DLT_EN10MB, &g, CP_DECAP_EBADENCAP, CP_ENCAP_NONE);
    g = f;
    g.b[14] = 0x65;  /* version 6 behind ethertype IPv4 */
    expect_rc(RF_DLT_EN10MB, &g, CP_DECAP_EBADENCAP, CP_ENCAP_NONE);
    g = f;
    wr16(g.b + 14 + 2, 19);  /* total length under the header */
    expect_rc(RF_DLT_EN10MB, &g, CP_DECAP_EBADENCAP, CP_ENCAP_NONE);
    g = f;
    g.b[14] = 0x4f;  /* IHL 60 > total length 50 */
    wr16(g.b + 14 + 2, 50);
    expect_rc(RF_DLT_EN10MB, &g, CP_DECAP_EBADENCAP, CP_ENCAP_NONE);
}

/* ---- VXLAN ------------------------------------------------------------ */

static void
test_vxlan(void **state)
{
    (void)state;
    frm_t f = { .n = 0 };
    vxlan_frame(&f, 4242, 0, 4789);
    expect_all(RF_DLT_EN10MB, &f, CP_ENCAP_VXLAN);

    /* Outer IPv4 with options. */
    frm_t o = { .n = 0 };
    vxlan_frame(&o, 4242, 2, 4789);
    expect_all(RF_DLT_EN10MB, &o, CP_ENCAP_VXLAN);

    /* Outer VLAN tag: VXLAN wins as the reported encapsulation. */
    frm_t t = { .n = 0 };
    macs(&t);
    put16(&t, 0x8100);
    put16(&t, 7);
    put16(&t, 0x0800);
    size_t oip = ip_open(&t, 17, 0, 1, 2);
    size_t u = udp_open(&t, 4789);
    vxlan_hdr(&t, 0x08, 1);
    macs(&t);            /* inner frame tagged too */
    put16(&t, 0x8100);
    put16(&t, 9);
    put16(&t, 0x0800);
    inner_tcp(&t, 0);
    udp_close(&t, u);
    ip_close(&t, oip);
    expect_all(RF_DLT_EN10MB, &t, CP_ENCAP_VXLAN);
}

static void
test_vxlan_vni_filter(void **state)
{
    (void)state;
    frm_t f = { .n = 0 };
    vxlan_frame(&f, 4242, 0, 4789);
    cp_decap_cfg_t cfg;
    cp_decap_cfg_init(&cfg);
    size_t off, len;
    cp_encap_t e;

    cfg.vni_filter = 4242;
    assert_int_equal(decap_cfg(&cfg, f.b, f.n, &off, &len, &e), CP_DECAP_OK);
    cfg.vni_filter = 4243;
    uint64_t before = g_st.vni_filtered;
    assert_int_equal(decap_cfg(&cfg, f.b, f.n, &off, &len, &e), CP_DECAP_EVNI);
    assert_int_equal(e, CP_ENCAP_VXLAN);
    assert_int_equal(g_st.vni_filtered, before + 1);
    cfg.vni_filter = 0;
    assert_int_equal(decap_cfg(&cfg, f.b, f.n, &off, &len, &e), CP_DECAP_EVNI);

    /* VNI 0xffffff is a legal VNI, not "any". */
    frm_t m = { .n = 0 };
    vxlan_frame(&m, 0xffffff, 0, 4789);
    cfg.vni_filter = 0xffffff;
    assert_int_equal(decap_cfg(&cfg, m.b, m.n, &off, &len, &e), CP_DECAP_OK);
}

static void
test_vxlan_port_and_flags(void **state)
{
    (void)state;
    cp_decap_cfg_t cfg;
    cp_decap_cfg_init(&cfg);
    size_t off, len;
    cp_encap_t e;

    /* Linux's legacy port 8472: plain UDP unless configured. */
    frm_t f = { .n = 0 };
    vxlan_frame(&f, 1, 0, 8472);
    assert_int_equal(decap_cfg(&cfg, f.b, f.n, &off, &len, &e), CP_DECAP_ENOTTCP);
    assert_int_equal(off, 14);
    assert_int_equal(e, CP_ENCAP_NONE);
    cfg.vxlan_port = 8472;
    assert_int_equal(decap_cfg(&cfg, f.b, f.n, &off, &len, &e), CP_DECAP_OK);
    assert_int_equal(e, CP_ENCAP_VXLAN);
    cfg.vxlan_port = 0;  /* 0 means the default */
    frm_t d = { .n = 0 };
    vxlan_frame(&d, 1, 0, 4789);
    assert_int_equal(decap_cfg(&cfg, d.b, d.n, &off, &len, &e), CP_DECAP_OK);

    /* I flag clear. */
    frm_t g = d;
    g.b[14 + 20 + 8] = 0x00;
    expect_rc(RF_DLT_EN10MB, &g, CP_DECAP_EBADENCAP, CP_ENCAP_VXLAN);
    /* UDP length smaller than its header, and larger than the IP payload. */
    g = d;
    wr16(g.b + 14 + 20 + 4, 7);
    expect_rc(RF_DLT_EN10MB, &g, CP_DECAP_EBADENCAP, CP_ENCAP_VXLAN);
    g = d;
    wr16(g.b + 14 + 20 + 4, (uint16_t)(rd16(g.b + 14 + 2) - 20 + 1));
    expect_rc(RF_DLT_EN10MB, &g, CP_DECAP_EBADENCAP, CP_ENCAP_VXLAN);
    /* UDP length cutting into the inner Ethernet header: the length field
     * lies, the capture is fine -> bad_encap, not truncated. */
    g = d;
    wr16(g.b + 14 + 20 + 4, 8 + 8 + 10);
    expect_rc(RF_DLT_EN10MB, &g, CP_DECAP_EBADENCAP, CP_ENCAP_VXLAN);
    /* Inner ARP. */
    g = d;
    wr16(g.b + 14 + 20 + 8 + 8 + 12, 0x0806);
    expect_rc(RF_DLT_EN10MB, &g, CP_DECAP_ENOTIP, CP_ENCAP_VXLAN);
}

static void
test_fragmented_tunnels(void **state)
{
    (void)state;
    frm_t f = { .n = 0 };
    vxlan_frame(&f, 1, 0, 4789);
    frm_t g = f;
    wr16(g.b + 14 + 6, 0x2000);  /* MF: first fragment of a VXLAN packet */
    expect_rc(RF_DLT_EN10MB, &g, CP_DECAP_EBADENCAP, CP_ENCAP_VXLAN);
    g = f;
    wr16(g.b + 14 + 6, 0x0010);  /* a later UDP fragment: just UDP */
    expect_rc(RF_DLT_EN10MB, &g, CP_DECAP_ENOTTCP, CP_ENCAP_NONE);

    frm_t h = { .n = 0 };
    gre_frame(&h, 0, 0x0800);
    wr16(h.b + 14 + 6, 0x0010);
    expect_rc(RF_DLT_EN10MB, &h, CP_DECAP_EBADENCAP, CP_ENCAP_GRE);
}

/* ---- GRE, gretap, ERSPAN ---------------------------------------------- */

static void
test_gre(void **state)
{
    (void)state;
    frm_t f = { .n = 0 };
    gre_frame(&f, 0, 0x0800);
    expect_all(RF_DLT_EN10MB, &f, CP_ENCAP_GRE);

    frm_t t = { .n = 0 };
    gre_frame(&t, 0, 0x6558);
    expect_all(RF_DLT_EN10MB, &t, CP_ENCAP_GRE);

    frm_t ks = { .n = 0 };
    gre_frame(&ks, GRE_K | GRE_S, 0x6558);
    assert_int_equal(ks.inner, 14 + 20 + 12 + 14);
    expect_all(RF_DLT_EN10MB, &ks, CP_ENCAP_GRE);

    frm_t cks = { .n = 0 };
    gre_frame(&cks, GRE_C | GRE_K | GRE_S, 0x0800);
    assert_int_equal(cks.inner, 14 + 20 + 16);
    expect_all(RF_DLT_EN10MB, &cks, CP_ENCAP_GRE);

    frm_t g = f;
    wr16(g.b + 14 + 20, 0x0001);  /* version 1: PPTP */
    expect_rc(RF_DLT_EN10MB, &g, CP_DECAP_EBADENCAP, CP_ENCAP_GRE);
    g = f;
    wr16(g.b + 14 + 20, GRE_R);
    expect_rc(RF_DLT_EN10MB, &g, CP_DECAP_EBADENCAP, CP_ENCAP_GRE);
    g = f;
    wr16(g.b + 14 + 20 + 2, 0x86dd);
    expect_rc(RF_DLT_EN10MB, &g, CP_DECAP_ENOTIP, CP_ENCAP_GRE);
    g = f;
    wr16(g.b + 14 + 20 + 2, 0x8847);  /* MPLS: not spoken */
    expect_rc(RF_DLT_EN10MB, &g, CP_DECAP_EBADENCAP, CP_ENCAP_GRE);
    /* Inner IPv4 total length larger than what the outer one carries. */
    g = f;
    wr16(g.b + 14 + 2, (uint16_t)(rd16(g.b + 14 + 2) - 30));
    size_t off, len;
    cp_encap_t e;
    assert_int_equal(decap_lt(RF_DLT_EN10MB, &g, g.n, &off, &len, &e), CP_DECAP_OK);
    assert_int_equal(len, rd16(g.b + 14 + 2) - 20 - 4);
}

static void
test_erspan2(void **state)
{
    (void)state;
    frm_t f = { .n = 0 };
    ether(&f, 0x0800);
    size_t oip = ip_open(&f, 47, 0, 1, 2);
    gre_hdr(&f, GRE_S, 0x88be);
    erspan2_hdr(&f, 1);
    ether(&f, 0x0800);
    inner_tcp(&f, 0);
    ip_close(&f, oip);
    assert_int_equal(f.inner, 14 + 20 + 8 + 8 + 14);
    expect_all(RF_DLT_EN10MB, &f, CP_ENCAP_ERSPAN2);

    frm_t g = f;
    g.b[14 + 20 + 8] = 0x20;  /* version 2 under 0x88BE */
    expect_rc(RF_DLT_EN10MB, &g, CP_DECAP_EBADENCAP, CP_ENCAP_ERSPAN2);

    /* Type I: no sequence number, no ERSPAN header. */
    frm_t one = { .n = 0 };
    ether(&one, 0x0800);
    oip = ip_open(&one, 47, 0, 1, 2);
    gre_hdr(&one, 0, 0x88be);
    ether(&one, 0x0800);
    inner_tcp(&one, 0);
    ip_close(&one, oip);
    expect_all(RF_DLT_EN10MB, &one, CP_ENCAP_ERSPAN2);
}

static void
erspan3_frame(frm_t *f, unsigned ft, int o)
{
    ether(f, 0x0800);
    size_t oip = ip_open(f, 47, 0, 1, 2);
    gre_hdr(f, GRE_S, 0x22eb);
    erspan3_hdr(f, ft, o);
    if (ft == 0)
        ether(f, 0x0800);
    inner_tcp(f, 0);
    ip_close(f, oip);
}

static void
test_erspan3(void **state)
{
    (void)state;
    frm_t f = { .n = 0 };
    erspan3_frame(&f, 0, 0);
    assert_int_equal(f.inner, 14 + 20 + 8 + 12 + 14);
    expect_all(RF_DLT_EN10MB, &f, CP_ENCAP_ERSPAN3);

    frm_t o = { .n = 0 };
    erspan3_frame(&o, 0, 1);
    assert_int_equal(o.inner, 14 + 20 + 8 + 12 + 8 + 14);
    expect_all(RF_DLT_EN10MB, &o, CP_ENCAP_ERSPAN3);

    /* Frame type 2: the mirrored frame is an IP packet, no Ethernet. */
    frm_t ip = { .n = 0 };
    erspan3_frame(&ip, 2, 1);
    expect_all(RF_DLT_EN10MB, &ip, CP_ENCAP_ERSPAN3);

    frm_t g = f;
    g.b[14 + 20 + 8 + 10] = 5u << 2;  /* unknown frame type */
    expect_rc(RF_DLT_EN10MB, &g, CP_DECAP_EBADENCAP, CP_ENCAP_ERSPAN3);
    g = f;
    g.b[14 + 20 + 8] = 0x10;  /* version 1 under 0x22EB */
    expect_rc(RF_DLT_EN10MB, &g, CP_DECAP_EBADENCAP, CP_ENCAP_ERSPAN3);
    /* O bit set on a frame without the subheader: the inner Ethernet
     * header is then read 8 bytes late and is garbage or short; it must
     * not be a success pointing at the wrong bytes. */
    g = f;
    g.b[14 + 20 + 8 + 11] |= 1;
    size_t off, len;
    cp_encap_t e;
    int rc = decap_lt(RF_DLT_EN10MB, &g, g.n, &off, &len, &e);
    assert_int_not_equal(rc, CP_DECAP_OK);
}

/* ---- depth ------------------------------------------------------------ */

static void
test_depth_cap(void **state)
{
    (void)state;
    /* GRE carrying a VXLAN packet: two tunnels, both opened. */
    frm_t two = { .n = 0 };
    ether(&two, 0x0800);
    size_t o1 = ip_open(&two, 47, 0, 1, 2);
    gre_hdr(&two, 0, 0x0800);
    size_t o2 = ip_open(&two, 17, 0, 3, 4);
    size_t u = udp_open(&two, 4789);
    vxlan_hdr(&two, 0x08, 5);
    ether(&two, 0x0800);
    inner_tcp(&two, 0);
    udp_close(&two, u);
    ip_close(&two, o2);
    ip_close(&two, o1);
    expect_all(RF_DLT_EN10MB, &two, CP_ENCAP_GRE);

    /* GRE in GRE in GRE: the third tunnel is not opened; its IPv4 (GRE) is
     * the innermost we return, which is not TCP. */
    frm_t three = { .n = 0 };
    ether(&three, 0x0800);
    size_t a = ip_open(&three, 47, 0, 1, 2);
    gre_hdr(&three, 0, 0x0800);
    size_t b = ip_open(&three, 47, 0, 3, 4);
    gre_hdr(&three, 0, 0x0800);
    size_t c = ip_open(&three, 47, 0, 5, 6);
    gre_hdr(&three, 0, 0x0800);
    inner_tcp(&three, 0);
    ip_close(&three, c);
    ip_close(&three, b);
    ip_close(&three, a);
    size_t off, len;
    cp_encap_t e;
    assert_int_equal(decap_lt(RF_DLT_EN10MB, &three, three.n, &off, &len, &e), CP_DECAP_ENOTTCP);
    assert_int_equal(off, c);
    assert_int_equal(e, CP_ENCAP_GRE);
}

/* ---- names and the grand total ---------------------------------------- */

static void
test_names(void **state)
{
    (void)state;
    assert_string_equal(cp_encap_name(CP_ENCAP_NONE), "none");
    assert_string_equal(cp_encap_name(CP_ENCAP_VLAN), "vlan");
    assert_string_equal(cp_encap_name(CP_ENCAP_VXLAN), "vxlan");
    assert_string_equal(cp_encap_name(CP_ENCAP_GRE), "gre");
    assert_string_equal(cp_encap_name(CP_ENCAP_ERSPAN2), "erspan2");
    assert_string_equal(cp_encap_name(CP_ENCAP_ERSPAN3), "erspan3");
    assert_string_equal(cp_encap_name(CP_ENCAP__COUNT), "?");
    assert_string_equal(cp_decap_rc_name(CP_DECAP_OK), "ok");
    assert_string_equal(cp_decap_rc_name(CP_DECAP_EVNI), "vni_filtered");
    assert_string_equal(cp_decap_rc_name(-99), "?");
}

/* Runs last: everything above went through decap_cfg(). */
static void
test_counters_add_up(void **state)
{
    (void)state;
    assert_true(g_st.frames > 1000);
    assert_int_equal(g_st.frames, outcomes(&g_st));
    assert_true(g_st.ok > 0 && g_st.not_ip > 0 && g_st.not_tcp > 0 && g_st.truncated > 0 &&
                g_st.bad_encap > 0 && g_st.vni_filtered > 0);
    for (int i = 0; i < CP_ENCAP__COUNT; i++)
        assert_true(g_st.per_encap[i] > 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ethernet),
        cmocka_unit_test(test_ethernet_padding_trimmed),
        cmocka_unit_test(test_snaplen_short),
        cmocka_unit_test(test_vlan_qinq),
        cmocka_unit_test(test_sll_sll2),
        cmocka_unit_test(test_raw_and_null),
        cmocka_unit_test(test_unknown_linktype_and_empty),
        cmocka_unit_test(test_not_ip_not_tcp),
        cmocka_unit_test(test_bad_ipv4),
        cmocka_unit_test(test_vxlan),
        cmocka_unit_test(test_vxlan_vni_filter),
        cmocka_unit_test(test_vxlan_port_and_flags),
        cmocka_unit_test(test_fragmented_tunnels),
        cmocka_unit_test(test_gre),
        cmocka_unit_test(test_erspan2),
        cmocka_unit_test(test_erspan3),
        cmocka_unit_test(test_depth_cap),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_counters_add_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
