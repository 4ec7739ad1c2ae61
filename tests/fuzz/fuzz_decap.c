/* fuzz_decap.c -- fuzz target for agent-copy/cp_decap.c and the link layer
 * both agents share, common/rf_link.c. Owns the input
 * layout and the properties checked on every decode; not the decoder.
 *
 * Input: byte 0 selects the configuration (bits 0-2 link type, bit 3 a VNI
 * filter of 0, bit 4 VXLAN on the legacy port 8472); the rest is one
 * captured frame. Besides "no out-of-bounds read" (ASan), every call must
 * keep the counter contract and, on success, hand out a window inside the
 * frame that starts with a whole IPv4 header; that window is then parsed by
 * rf_tcp_parse as the copy agent would. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cp_decap.h"
#include "rf_link.h"
#include "rf_pkt.h"
#include "fuzz_target.h"

static const int fuzz_decap_linktypes[8] = {
    RF_DLT_EN10MB, RF_DLT_LINUX_SLL, RF_DLT_LINUX_SLL2, RF_DLT_RAW,
    RF_LINKTYPE_RAW, RF_DLT_NULL, RF_DLT_LOOP, RF_DLT_EN10MB,
};

static uint64_t
fuzz_decap_outcomes(const cp_decap_stats_t *s)
{
    return s->ok + s->not_ip + s->not_tcp + s->truncated + s->bad_encap + s->vni_filtered;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    cp_decap_cfg_t cfg;
    cp_decap_cfg_init(&cfg);
    cfg.linktype = fuzz_decap_linktypes[data[0] & 7];
    if (data[0] & 0x08)
        cfg.vni_filter = 0;
    if (data[0] & 0x10)
        cfg.vxlan_port = 8472;

    /* The frame ends where libFuzzer's buffer ends, so ASan sees overreads. */
    const uint8_t   *frame = data + 1;
    size_t           caplen = size - 1;
    cp_decap_stats_t st;
    memset(&st, 0, sizeof(st));
    const uint8_t *ip;
    size_t         ip_len;
    cp_encap_t     encap;
    int rc = cp_decap(&cfg, &st, frame, caplen, &ip, &ip_len, &encap);

    /* The link layer alone, as the intercept strips it (rf_link): inside
     * the frame, on a version-4 byte, and the same verdict as the copy
     * agent's first stage. */
    size_t   hl = caplen + 1;
    unsigned tags = 0;
    int lrc = rf_link_strip(cfg.linktype, frame, caplen, &hl, &tags);
    switch (lrc) {
    case RF_LINK_OK: FUZZ_CHECK(hl < caplen && (frame[hl] >> 4) == 4 && tags <= 2); break;
    case RF_LINK_ENOTIP: FUZZ_CHECK(rc == CP_DECAP_ENOTIP); break;
    case RF_LINK_ESHORT: FUZZ_CHECK(rc == CP_DECAP_ETRUNC); break;
    default: FUZZ_CHECK(lrc == RF_LINK_EBAD && rc == CP_DECAP_EBADENCAP); break;
    }
    if (lrc != RF_LINK_OK)
        FUZZ_CHECK(hl == caplen + 1);   /* untouched */
    /* tags at the link layer make the frame at least "vlan" */
    FUZZ_CHECK(tags == 0 ? encap != CP_ENCAP_VLAN : encap != CP_ENCAP_NONE);

    FUZZ_CHECK(st.frames == 1 && fuzz_decap_outcomes(&st) == 1);
    FUZZ_CHECK((unsigned)encap < CP_ENCAP__COUNT);
    FUZZ_CHECK(cp_decap_rc_name(rc)[0] != '?');
    if (rc != CP_DECAP_OK && rc != CP_DECAP_ENOTTCP) {
        FUZZ_CHECK(ip == NULL && ip_len == 0);
        return 0;
    }
    FUZZ_CHECK(st.per_encap[encap] == 1);
    FUZZ_CHECK(ip >= frame && ip_len >= 20 && ip_len <= caplen &&
               (size_t)(ip - frame) <= caplen - ip_len);
    FUZZ_CHECK((ip[0] >> 4) == 4 && (size_t)(ip[0] & 0x0f) * 4 <= ip_len);
    FUZZ_CHECK(ip_len <= rd16(ip + 2));
    FUZZ_CHECK((ip[9] == 6) == (rc == CP_DECAP_OK));
    if (rc != CP_DECAP_OK)
        return 0;

    /* rf_tcp_parse takes a writable buffer (the rewrite path); give it an
     * exact-size copy so its bounds are checked too. */
    uint8_t *copy = malloc(ip_len);
    if (copy == NULL)
        return 0;
    memcpy(copy, ip, ip_len);
    rf_tcp_view_t v;
    if (rf_tcp_parse(&v, copy, ip_len, 1) == RF_PKT_OK) {
        rf_tcp_opts_t o;
        rf_tcp_opts(&o, v.tcp, v.tcp_hlen);
    }
    free(copy);
    return 0;
}
