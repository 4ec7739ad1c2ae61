/* ic_batch.c -- header validation and fixed-buffer batching. */
#include "ic_batch.h"

#include <string.h>

#include "rf_err.h"
#include "rf_pkt.h"

int
ic_hdr_parse(ic_hdr_t *out, const uint8_t *ip, size_t caplen)
{
    if (ip == NULL)
        return RF_PKT_ETRUNC;
    rf_tcp_view_t v;
    /* rf_tcp_parse takes a writable pointer for the rewriters; it only reads.
     * need_payload = 0: tot_len may (and usually does) exceed caplen. */
    int r = rf_tcp_parse(&v, (uint8_t *)(uintptr_t)ip, caplen, 0);
    if (r != RF_PKT_OK)
        return r;
    out->ip = ip;
    out->hlen = (uint16_t)(v.ip_hlen + v.tcp_hlen);
    out->saddr = v.saddr;
    out->daddr = v.daddr;
    out->sport = v.sport;
    out->dport = v.dport;
    out->flags = v.flags;
    return 0;
}

void
ic_batch_init(ic_batch_t *b, uint32_t max)
{
    b->len = 0;
    b->count = 0;
    b->max = (max == 0 || max > IC_BATCH_MAX) ? IC_BATCH_MAX : max;
}

void
ic_batch_reset(ic_batch_t *b)
{
    b->len = 0;
    b->count = 0;
}

int
ic_batch_add(ic_batch_t *b, const ic_hdr_t *h)
{
    if (h->hlen > IC_HDR_MAX || b->count >= IC_BATCH_MAX ||
        b->len + h->hlen > sizeof(b->buf))
        return RF_EFULL;
    memcpy(b->buf + b->len, h->ip, h->hlen);
    b->len += h->hlen;
    b->count++;
    return b->count >= b->max ? 1 : 0;
}

int
ic_batch_next(const uint8_t *buf, size_t len, size_t *off, ic_hdr_t *out)
{
    size_t at = *off;
    int n = rf_hdr_next(buf, len, off);
    if (n <= 0)
        return n == 0 ? 0 : RF_EDECODE;
    /* Each header is self-delimiting; parse exactly its bytes. */
    if (ic_hdr_parse(out, buf + at, (size_t)n) != 0) {
        *off = at;
        return RF_EDECODE;
    }
    return n;
}
