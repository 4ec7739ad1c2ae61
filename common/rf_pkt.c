/* rf_pkt.c -- header parsing with every length checked, and checksums. */
#include "rf_pkt.h"

#include <string.h>

int
rf_tcp_parse(rf_tcp_view_t *v, uint8_t *ip, size_t len, int need_payload)
{
    if (len < 20)
        return RF_PKT_ETRUNC;
    if ((ip[0] >> 4) != 4)
        return RF_PKT_ENOTV4;
    uint16_t ihl = (uint16_t)((ip[0] & 0x0f) * 4);
    if (ihl < 20 || ihl > len)
        return RF_PKT_EBADHDR;
    if (ip[9] != 6)
        return RF_PKT_ENOTTCP;
    uint16_t tot = rd16(ip + 2);
    if (tot < ihl)
        return RF_PKT_EBADHDR;
    uint16_t frag = rd16(ip + 6);
    if ((frag & 0x1fff) != 0 || (frag & 0x2000) != 0)
        return RF_PKT_EFRAG;
    if (len < (size_t)ihl + 20 || tot < ihl + 20)
        return RF_PKT_ETRUNC;
    uint8_t *tcp = ip + ihl;
    uint16_t doff = (uint16_t)((tcp[12] >> 4) * 4);
    if (doff < 20 || (size_t)ihl + doff > len || ihl + doff > tot)
        return RF_PKT_EBADHDR;
    if (need_payload && tot > len)
        return RF_PKT_ETRUNC;
    v->ip = ip;
    v->tcp = tcp;
    v->ip_hlen = ihl;
    v->tcp_hlen = doff;
    v->tot_len = tot;
    v->cap_len = (uint16_t)(len > 65535 ? 65535 : len);
    v->payload = tcp + doff;
    v->payload_len = (uint32_t)(tot - ihl - doff);
    v->saddr = rd32(ip + 12);
    v->daddr = rd32(ip + 16);
    v->sport = rd16(tcp);
    v->dport = rd16(tcp + 2);
    v->seq = rd32(tcp + 4);
    v->ack = rd32(tcp + 8);
    v->flags = tcp[13];
    v->win = rd16(tcp + 14);
    return RF_PKT_OK;
}

void
rf_tcp_opts(rf_tcp_opts_t *o, const uint8_t *tcp, uint16_t tcp_hlen)
{
    memset(o, 0, sizeof(*o));
    o->wscale = -1;
    o->ts_off = -1;
    uint16_t i = 20;
    /* Every step checks the remaining length: a bad option list ends the
     * walk, it never reads past the header. */
    while (i < tcp_hlen) {
        uint8_t kind = tcp[i];
        if (kind == 0)
            break;
        if (kind == 1) {
            i++;
            continue;
        }
        if (i + 1 >= tcp_hlen)
            break;
        uint8_t olen = tcp[i + 1];
        if (olen < 2 || i + olen > tcp_hlen)
            break;
        switch (kind) {
        case 2:
            if (olen == 4)
                o->mss = rd16(tcp + i + 2);
            break;
        case 3:
            if (olen == 3)
                o->wscale = (int8_t)(tcp[i + 2] > 14 ? 14 : tcp[i + 2]);
            break;
        case 4:
            o->sack_ok = 1;
            break;
        case 8:
            if (olen == 10) {
                o->has_ts = 1;
                o->ts_val = rd32(tcp + i + 2);
                o->ts_ecr = rd32(tcp + i + 6);
                o->ts_off = (int16_t)(i + 2);
            }
            break;
        default:
            break;
        }
        i = (uint16_t)(i + olen);
    }
}

int
rf_hdr_next(const uint8_t *buf, size_t len, size_t *off)
{
    if (*off >= len)
        return 0;
    const uint8_t *p = buf + *off;
    size_t left = len - *off;
    if (left < 20 || (p[0] >> 4) != 4)
        return RF_PKT_EBADHDR;
    size_t ihl = (size_t)(p[0] & 0x0f) * 4;
    if (ihl < 20 || left < ihl + 20)
        return RF_PKT_EBADHDR;
    size_t doff = (size_t)(p[ihl + 12] >> 4) * 4;
    if (doff < 20 || left < ihl + doff)
        return RF_PKT_EBADHDR;
    *off += ihl + doff;
    return (int)(ihl + doff);
}

static uint32_t
sum16(const uint8_t *p, uint32_t len, uint32_t acc)
{
    while (len > 1) {
        acc += (uint32_t)((p[0] << 8) | p[1]);
        p += 2;
        len -= 2;
    }
    if (len)
        acc += (uint32_t)(p[0] << 8);
    return acc;
}

static uint16_t
fold(uint32_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)~acc;
}

uint16_t
rf_csum_ip(const uint8_t *ip, uint16_t hlen)
{
    return fold(sum16(ip, hlen, 0));
}

uint16_t
rf_csum_tcp(const uint8_t *tcp, uint32_t tcp_len, uint32_t saddr_be, uint32_t daddr_be)
{
    uint8_t ph[12];
    memcpy(ph, &saddr_be, 4);
    memcpy(ph + 4, &daddr_be, 4);
    ph[8] = 0;
    ph[9] = 6;
    ph[10] = (uint8_t)(tcp_len >> 8);
    ph[11] = (uint8_t)tcp_len;
    return fold(sum16(tcp, tcp_len, sum16(ph, 12, 0)));
}

void
rf_pkt_fix_checksums(uint8_t *ip)
{
    uint16_t ihl = (uint16_t)((ip[0] & 0x0f) * 4);
    uint16_t tot = rd16(ip + 2);
    ip[10] = ip[11] = 0;
    wr16(ip + 10, rf_csum_ip(ip, ihl));
    uint8_t *tcp = ip + ihl;
    tcp[16] = tcp[17] = 0;
    uint32_t s, d;
    memcpy(&s, ip + 12, 4);
    memcpy(&d, ip + 16, 4);
    wr16(tcp + 16, rf_csum_tcp(tcp, (uint32_t)(tot - ihl), s, d));
}
