/* fuzz_pkt.c -- fuzz target for common/rf_pkt.c: rf_tcp_parse, rf_tcp_opts
 * and the checksum helpers on the parsed view. Owns the input layout and the
 * properties; not the parser.
 *
 * Input: byte 0 bit 0 is need_payload; the rest is one IPv4 datagram. On a
 * parse the view must lie inside the buffer; the options walk must stay in
 * the header; and on a complete datagram, fixing both checksums must make
 * them verify (sum to zero). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rf_pkt.h"
#include "fuzz_target.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int    need_payload = data[0] & 1;
    size_t len = size - 1;
    /* Writable exact-size copy: the checksum fix writes in place. */
    uint8_t *ip = malloc(len ? len : 1);
    if (ip == NULL)
        return 0;
    if (len)
        memcpy(ip, data + 1, len);

    rf_tcp_view_t v;
    if (rf_tcp_parse(&v, ip, len, need_payload) != RF_PKT_OK)
        goto out;
    FUZZ_CHECK(v.ip == ip && v.tcp == ip + v.ip_hlen);
    FUZZ_CHECK(v.ip_hlen >= 20 && v.tcp_hlen >= 20 && (size_t)v.ip_hlen + v.tcp_hlen <= len);
    FUZZ_CHECK((uint32_t)v.ip_hlen + v.tcp_hlen + v.payload_len == v.tot_len);
    if (need_payload)
        FUZZ_CHECK(v.tot_len <= len);

    rf_tcp_opts_t o;
    rf_tcp_opts(&o, v.tcp, v.tcp_hlen);
    FUZZ_CHECK(o.wscale >= -1 && o.wscale <= 14);
    if (o.has_ts)
        FUZZ_CHECK(o.ts_off >= 22 && o.ts_off + 8 <= v.tcp_hlen);

    /* Checksums over what was captured, whatever tot_len claims. */
    (void)rf_csum_ip(ip, v.ip_hlen);
    size_t   avail = len - v.ip_hlen;
    uint32_t tcp_len = (uint32_t)(avail < (size_t)v.tot_len - v.ip_hlen ? avail
                                                                          : (size_t)v.tot_len - v.ip_hlen);
    uint32_t s, d;
    memcpy(&s, ip + 12, 4);
    memcpy(&d, ip + 16, 4);
    (void)rf_csum_tcp(v.tcp, tcp_len, s, d);

    /* rf_pkt_fix_checksums needs the whole datagram. */
    if (v.tot_len <= len) {
        rf_pkt_fix_checksums(ip);
        FUZZ_CHECK(rf_csum_ip(ip, v.ip_hlen) == 0);
        FUZZ_CHECK(rf_csum_tcp(v.tcp, (uint32_t)(v.tot_len - v.ip_hlen), s, d) == 0);
    }
out:
    free(ip);
    return 0;
}
