/* ic_batch.h -- response-header batches for one copy agent (pure).
 * Owns: the validation of one captured IPv4/TCP datagram (ic_hdr_parse) and
 * a fixed buffer of concatenated headers, each IP header + TCP header with
 * options, no payload, tot_len exactly as captured (the copy agent derives
 * the payload length from it). Does not send: the caller flushes. */
#ifndef IC_BATCH_H
#define IC_BATCH_H

#include <stddef.h>
#include <stdint.h>

#define IC_HDR_MAX   120u   /* 60-byte IPv4 header + 60-byte TCP header */
#define IC_BATCH_MAX 64u    /* headers per ResponseBatch */

/* What routing needs from one response; `ip` is borrowed from the capture
 * buffer and valid only until the packet callback returns. */
typedef struct {
    const uint8_t *ip;
    uint16_t       hlen;          /* IP header + TCP header bytes */
    uint32_t       saddr, daddr;  /* host order */
    uint16_t       sport, dport;  /* host order */
    uint8_t        flags;         /* TCP flags */
} ic_hdr_t;

/* Validate `caplen` captured bytes starting at an IPv4 header: version 4,
 * protocol TCP, sane IHL and data offset, both headers fully captured, not a
 * fragment. 0, or a negative RF_PKT_* code. Never reads past caplen. */
int ic_hdr_parse(ic_hdr_t *out, const uint8_t *ip, size_t caplen);

typedef struct {
    uint8_t  buf[IC_BATCH_MAX * IC_HDR_MAX];
    size_t   len;      /* bytes used */
    uint32_t count;    /* headers in buf */
    uint32_t max;      /* flush threshold, 1..IC_BATCH_MAX */
} ic_batch_t;

/* max 0 or over IC_BATCH_MAX means IC_BATCH_MAX. */
void ic_batch_init(ic_batch_t *b, uint32_t max);
/* Append one header. Returns 1 when the batch reached its threshold (flush
 * now), 0 otherwise, RF_EFULL if the caller did not flush at the threshold. */
int  ic_batch_add(ic_batch_t *b, const ic_hdr_t *h);
void ic_batch_reset(ic_batch_t *b);

/* Split a received batch (copy side, tests): the header at *off, advancing
 * it. >0 its length, 0 at the end, RF_EDECODE if the bytes are not a header. */
int  ic_batch_next(const uint8_t *buf, size_t len, size_t *off, ic_hdr_t *out);

#endif
