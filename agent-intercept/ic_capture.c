/* ic_capture.c -- libpcap setup, dispatch, link-layer strip. */
#include "ic_capture.h"

#include <pcap.h>
#include <stdlib.h>
#include <string.h>

#include "rf_pkt.h"

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif

struct ic_capture {
    pcap_t       *p;
    int           link;
    int           fd;
    ic_capture_fn fn;     /* set for the duration of one dispatch */
    void         *ctx;
};

static int
link_from_dlt(int dlt)
{
    switch (dlt) {
    case DLT_EN10MB: return IC_LINK_ETH;
    case DLT_LINUX_SLL: return IC_LINK_SLL;
    case DLT_LINUX_SLL2: return IC_LINK_SLL2;
    case DLT_RAW:
    case DLT_IPV4: return IC_LINK_RAW;
    case DLT_NULL: return IC_LINK_NULL;
    case DLT_LOOP: return IC_LINK_LOOP;
    default: return 0;
    }
}

const uint8_t *
ic_link_l3(int link, const uint8_t *p, size_t caplen, size_t *l3len)
{
    size_t off;
    uint16_t et;
    switch (link) {
    case IC_LINK_ETH:
        if (caplen < 14)
            return NULL;
        off = 14;
        et = rd16(p + 12);
        /* 802.1Q / 802.1ad / old QinQ: at most two tags. */
        for (int tags = 0; tags < 2 && (et == 0x8100 || et == 0x88a8 || et == 0x9100); tags++) {
            if (caplen < off + 4)
                return NULL;
            et = rd16(p + off + 2);
            off += 4;
        }
        if (et != 0x0800)
            return NULL;
        break;
    case IC_LINK_SLL:
        if (caplen < 16 || rd16(p + 14) != 0x0800)
            return NULL;
        off = 16;
        break;
    case IC_LINK_SLL2:
        if (caplen < 20 || rd16(p) != 0x0800)
            return NULL;
        off = 20;
        break;
    case IC_LINK_RAW:
        off = 0;
        break;
    case IC_LINK_NULL:
    case IC_LINK_LOOP: {
        if (caplen < 4)
            return NULL;
        uint32_t fam;
        if (link == IC_LINK_LOOP) {
            fam = rd32(p);
        } else {
            memcpy(&fam, p, 4);   /* host byte order of the capturing host */
        }
        if (fam != 2)             /* AF_INET is 2 everywhere */
            return NULL;
        off = 4;
        break;
    }
    default:
        return NULL;
    }
    if (caplen <= off || (p[off] >> 4) != 4)
        return NULL;
    *l3len = caplen - off;
    return p + off;
}

static int
set_filter(pcap_t *p, const char *filter, rf_errbuf_t *err)
{
    struct bpf_program prog;
    if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0)
        return rf_err_set(err, RF_ECAP, "--filter: \"%s\": %s", filter, pcap_geterr(p));
    int r = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (r != 0)
        return rf_err_set(err, RF_ECAP, "--filter: cannot set \"%s\": %s", filter, pcap_geterr(p));
    return 0;
}

int
ic_capture_check_filter(const char *filter, rf_errbuf_t *err)
{
    pcap_t *p = pcap_open_dead(DLT_EN10MB, IC_SNAPLEN);
    if (p == NULL)
        return rf_err_set(err, RF_ECAP, "pcap_open_dead failed");
    struct bpf_program prog;
    int r = 0;
    if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0)
        r = rf_err_set(err, RF_EPARSE, "--filter: \"%s\": %s", filter, pcap_geterr(p));
    else
        pcap_freecode(&prog);
    pcap_close(p);
    return r;
}

int
ic_capture_open(ic_capture_t **out, const char *iface, const char *filter, rf_errbuf_t *err)
{
    char eb[PCAP_ERRBUF_SIZE];
    eb[0] = '\0';
    ic_capture_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return rf_err_set(err, RF_ECAP, "out of memory");
    c->p = pcap_create(iface, eb);
    if (c->p == NULL) {
        free(c);
        return rf_err_set(err, RF_ECAP, "--interface %s: %s", iface, eb);
    }
    /* Headers only; promiscuous off: the assistant is the target's next hop,
     * so the responses are addressed to this host's MAC (notes 4.1). */
    pcap_set_snaplen(c->p, IC_SNAPLEN);
    pcap_set_promisc(c->p, 0);
    pcap_set_immediate_mode(c->p, 1);   /* latency is the copy agent's RTT */
    pcap_set_buffer_size(c->p, IC_PCAP_BUFFER);
    pcap_set_timeout(c->p, 1);
    int r = pcap_activate(c->p);
    if (r < 0) {
        /* pcap_geterr has the detail (e.g. "socket: Operation not permitted"). */
        const char *st = pcap_statustostr(r), *detail = pcap_geterr(c->p);
        if (detail[0] == '\0' || strcmp(detail, st) == 0)
            rf_err_set(err, RF_ECAP, "--interface %s: %s", iface, st);
        else
            rf_err_set(err, RF_ECAP, "--interface %s: %s: %s", iface, st, detail);
        goto fail;
    }
    c->link = link_from_dlt(pcap_datalink(c->p));
    if (c->link == 0) {
        rf_err_set(err, RF_ECAP, "--interface %s: unsupported link type %s", iface,
                   pcap_datalink_val_to_name(pcap_datalink(c->p)));
        goto fail;
    }
    /* Only what arrives: our own sends (copy channel) are never responses. */
    if (pcap_setdirection(c->p, PCAP_D_IN) != 0) {
        rf_err_set(err, RF_ECAP, "--interface %s: cannot capture inbound only: %s", iface,
                   pcap_geterr(c->p));
        goto fail;
    }
    if (set_filter(c->p, filter, err) != 0)
        goto fail;
    if (pcap_setnonblock(c->p, 1, eb) != 0) {
        rf_err_set(err, RF_ECAP, "--interface %s: non-blocking: %s", iface, eb);
        goto fail;
    }
    c->fd = pcap_get_selectable_fd(c->p);
    if (c->fd < 0) {
        rf_err_set(err, RF_ECAP, "--interface %s: no selectable fd", iface);
        goto fail;
    }
    *out = c;
    return 0;
fail:
    pcap_close(c->p);
    free(c);
    return RF_ECAP;
}

void
ic_capture_close(ic_capture_t *c)
{
    if (c == NULL)
        return;
    pcap_close(c->p);
    free(c);
}

int ic_capture_fd(const ic_capture_t *c) { return c->fd; }
int ic_capture_link(const ic_capture_t *c) { return c->link; }

static void
on_pkt(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    ic_capture_t *c = (ic_capture_t *)(void *)user;
    size_t l3len = 0;
    const uint8_t *ip = ic_link_l3(c->link, bytes, h->caplen, &l3len);
    c->fn(c->ctx, ip, ip ? l3len : 0, h->len);
}

int
ic_capture_dispatch(ic_capture_t *c, int budget, ic_capture_fn fn, void *ctx, rf_errbuf_t *err)
{
    c->fn = fn;
    c->ctx = ctx;
    int n = pcap_dispatch(c->p, budget, on_pkt, (u_char *)(void *)c);
    if (n < 0)
        return rf_err_set(err, RF_ECAP, "pcap_dispatch: %s", pcap_geterr(c->p));
    return n;
}

int
ic_capture_set_filter(ic_capture_t *c, const char *filter, rf_errbuf_t *err)
{
    return set_filter(c->p, filter, err);
}

int
ic_capture_drops(ic_capture_t *c, uint64_t *drops)
{
    struct pcap_stat ps;
    if (pcap_stats(c->p, &ps) != 0)
        return RF_ECAP;
    *drops = ps.ps_drop;
    return 0;
}
