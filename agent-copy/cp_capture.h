/* cp_capture.h -- packet sources: live capture (our own TPACKET_V3 ring on
 * one Ethernet device, cp_ring.h, else libpcap's; kernel BPF filter built
 * from the rules) or an offline pcap file.
 * The only file of replay-copy that includes pcap.h. */
#ifndef CP_CAPTURE_H
#define CP_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "rf_err.h"
#include "rf_rule.h"

typedef struct cp_capture cp_capture_t;

/* Which direction of the rules' traffic a filter selects. */
typedef enum {
    CP_DIR_CLIENT = 0,   /* client->server: what is replayed */
    CP_DIR_BOTH,         /* a mirror or a file: both, told apart by the engine */
    CP_DIR_SERVER,       /* server->client only (a filter part, see CP_DIR_HOST) */
    CP_DIR_HOST,         /* the online server itself: client->server arriving,
                          * whole; server->client leaving, headers only */
} cp_dir_t;

/* Called per frame; `frame` is borrowed (kernel ring) for the call only. */
typedef void (*cp_frame_cb)(void *ctx, const uint8_t *frame, size_t caplen, uint64_t ts_us);

typedef struct {
    const char *iface;        /* NULL or "any" = every interface */
    const char *extra_filter; /* ANDed; may be NULL */
    int         promisc;      /* mirror port: not addressed to us */
    int         tunnels;      /* also accept VXLAN/GRE/ERSPAN transports */
    uint16_t    vxlan_port;
    unsigned    buffer_mb;
    unsigned    snaplen;      /* 0 = 65535 */
    unsigned    latency_ms;   /* 0 = immediate mode (a wake-up per packet) */
    cp_dir_t    dir;          /* CLIENT, BOTH (mirror) or HOST (causal order) */
    int         use_libpcap;  /* never our own ring (cp_ring.h) */
    unsigned    fanout_group; /* join PACKET_FANOUT group (flow hash), 0 = none */
} cp_live_opts_t;

/* Build "tcp and ((dst port P and dst host H) or ...)" from the rules
 * (src for the server side; a server-side filter leaves out anything sent
 * to a target, i.e. our own replayed packets). */
int cp_capture_filter(char *out, size_t cap, const rf_rule_t *rules, unsigned n, cp_dir_t dir,
                      int tunnels, uint16_t vxlan_port, const char *extra);

int  cp_capture_open_live(cp_capture_t **out, const cp_live_opts_t *o, const rf_rule_t *rules,
                          unsigned nrules, rf_errbuf_t *err);
int  cp_capture_open_offline(cp_capture_t **out, const char *path, const rf_rule_t *rules,
                             unsigned nrules, const char *extra, rf_errbuf_t *err);
/* Replace the BPF filter (new assignment). */
int  cp_capture_set_rules(cp_capture_t *c, const rf_rule_t *rules, unsigned nrules,
                          rf_errbuf_t *err);
int  cp_capture_fd(const cp_capture_t *c);
int  cp_capture_linktype(const cp_capture_t *c);
/* Live: up to `budget` frames. Returns frames handled, or <0 on error. */
int  cp_capture_dispatch(cp_capture_t *c, int budget, cp_frame_cb cb, void *ctx);
/* Offline: peek the next frame without consuming it. 1 = frame, 0 = end
 * of file, <0 = corrupt/truncated file (message in err, with the packet
 * number and file offset). */
int  cp_capture_peek(cp_capture_t *c, const uint8_t **frame, size_t *caplen, uint64_t *ts_us,
                     rf_errbuf_t *err);
void cp_capture_consume(cp_capture_t *c);
/* Kernel drops since open (live), 0 offline. */
uint64_t cp_capture_drops(cp_capture_t *c);
void cp_capture_close(cp_capture_t *c);

#endif
