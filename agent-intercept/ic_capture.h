/* ic_capture.h -- live libpcap capture of the target's responses, handed
 * on as IPv4 headers (the link layer is stripped by common/rf_link.c, the
 * same code as the copy agent's).
 * Owns the pcap handle. The only file of replay-intercept that includes
 * pcap.h; the loop sees a selectable fd and a per-packet callback.
 * Packet memory is borrowed from libpcap for the callback only. */
#ifndef IC_CAPTURE_H
#define IC_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "rf_err.h"

#define IC_SNAPLEN     192         /* 22 (Ethernet + 2 tags) + 60 + 60, rounded up */
#define IC_PCAP_BUFFER (16 << 20)  /* kernel ring; absorbs bursts between wakeups */

typedef struct ic_capture ic_capture_t;

/* `ip` is NULL when the frame is not IPv4 (counted bad by the engine). */
typedef void (*ic_capture_fn)(void *ctx, const uint8_t *ip, size_t caplen, uint32_t wire_len);

/* Open `iface` ("any" = all), snaplen IC_SNAPLEN, direction in,
 * non-blocking, `filter` compiled and set; packets handed over in kernel
 * blocks retired every `latency_ms` (0: immediate mode, one wake-up per
 * packet). RF_ECAP with err filled. */
int  ic_capture_open(ic_capture_t **out, const char *iface, const char *filter, unsigned latency_ms,
                     rf_errbuf_t *err);
void ic_capture_close(ic_capture_t *c);                /* NULL ok */
int  ic_capture_fd(const ic_capture_t *c);
/* Up to `budget` packets. Returns how many, or RF_ECAP (err filled). */
int  ic_capture_dispatch(ic_capture_t *c, int budget, ic_capture_fn fn, void *ctx,
                         rf_errbuf_t *err);
/* Replace the filter on the live handle. */
int  ic_capture_set_filter(ic_capture_t *c, const char *filter, rf_errbuf_t *err);
/* Kernel drops since open (pcap_stats ps_drop). */
int  ic_capture_drops(ic_capture_t *c, uint64_t *drops);
/* Compile `filter` without a device, for --check-config. */
int  ic_capture_check_filter(const char *filter, rf_errbuf_t *err);

#endif
