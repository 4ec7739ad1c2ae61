/* ic_capture.c -- libpcap setup and dispatch; the link layer is rf_link's. */
#include "ic_capture.h"

#include <pcap.h>
#include <stdlib.h>
#include <string.h>

#include "rf_link.h"

struct ic_capture {
    pcap_t       *p;
    int           link;   /* DLT_*, one rf_link_strip knows */
    int           fd;
    ic_capture_fn fn;     /* set for the duration of one dispatch */
    void         *ctx;
};

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
ic_capture_open(ic_capture_t **out, const char *iface, const char *filter, unsigned latency_ms,
                rf_errbuf_t *err)
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
    /* Latency adds to the copy agent's round trip; batching saves a wake-up
     * per response on both sides (ic_opts.h: IC_CAPTURE_LATENCY_MS). */
    pcap_set_immediate_mode(c->p, latency_ms == 0);
    pcap_set_buffer_size(c->p, IC_PCAP_BUFFER);
    pcap_set_timeout(c->p, latency_ms == 0 ? 1 : (int)latency_ms);
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
    c->link = pcap_datalink(c->p);
    if (!rf_link_supported(c->link)) {
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

static void
on_pkt(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    ic_capture_t *c = (ic_capture_t *)(void *)user;
    size_t hl = 0;
    unsigned tags = 0;
    if (rf_link_strip(c->link, bytes, h->caplen, &hl, &tags) != RF_LINK_OK)
        c->fn(c->ctx, NULL, 0, h->len);   /* not IPv4: counted bad by the engine */
    else
        c->fn(c->ctx, bytes + hl, h->caplen - hl, h->len);
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
