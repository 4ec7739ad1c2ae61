/* cp_capture.c -- libpcap sources. Live handles are non-blocking and
 * polled by the loop; each wake-up dispatches a bounded batch so a busy
 * interface cannot starve the control channels. */
#include "cp_capture.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rf_cidr.h"

struct cp_capture {
    pcap_t  *p;
    int      offline, linktype, have_next;
    cp_dir_t dir;
    uint64_t npkts;
    uint16_t vxlan_port;
    int      tunnels;
    char     extra[1024];
    struct pcap_pkthdr *next_hdr;
    const u_char       *next_data;
    uint64_t drops_base;
};

int
cp_capture_filter(char *out, size_t cap, const rf_rule_t *rules, unsigned n, cp_dir_t dir,
                  int tunnels, uint16_t vxlan_port, const char *extra)
{
    size_t len = 0;
    int w = snprintf(out, cap, "(tcp and (");
    len += (size_t)w;
    for (unsigned i = 0; i < n && len < cap; i++) {
        char ip[16] = "", dst[40] = "", src[40] = "";
        if (rules[i].online_ip) {
            rf_ipv4_format(rules[i].online_ip, ip, sizeof(ip));
            snprintf(dst, sizeof(dst), " and dst host %s", ip);
            snprintf(src, sizeof(src), " and src host %s", ip);
        }
        unsigned p = rules[i].online_port;
        if (dir == CP_DIR_CLIENT)
            w = snprintf(out + len, cap - len, "%s(dst port %u%s)", i ? " or " : "", p, dst);
        else if (dir == CP_DIR_SERVER)
            w = snprintf(out + len, cap - len, "%s(src port %u%s)", i ? " or " : "", p, src);
        else
            w = snprintf(out + len, cap - len, "%s(dst port %u%s) or (src port %u%s)",
                         i ? " or " : "", p, dst, p, src);
        len += (size_t)w;
    }
    if (len < cap) {
        w = snprintf(out + len, cap - len, "))");
        len += (size_t)w;
    }
    if (dir == CP_DIR_SERVER && len < cap) {
        /* Only what moves the server's sequence: data, SYN, FIN. Its pure
         * ACKs (most of an upload's packets) teach nothing. */
        w = snprintf(out + len, cap - len,
                     " and (tcp[tcpflags] & (tcp-syn|tcp-fin) != 0 or "
                     "ip[2:2] - ((ip[0] & 0x0f) << 2) - ((tcp[12] & 0xf0) >> 2) != 0)");
        len += (size_t)w;
    }
    for (unsigned i = 0; dir == CP_DIR_SERVER && i < n && len < cap; i++) {
        /* Our own output leaves through the same interfaces. */
        char t[16];
        rf_ipv4_format(rules[i].target_ip, t, sizeof(t));
        w = snprintf(out + len, cap - len, " and not dst host %s", t);
        len += (size_t)w;
    }
    if (tunnels && len < cap) {
        /* Mirror transports: VXLAN over UDP and GRE/ERSPAN. */
        w = snprintf(out + len, cap - len, " or (udp dst port %u) or (ip proto 47)", vxlan_port);
        len += (size_t)w;
    }
    if (tunnels && len < cap) {
        /* A tagged mirror port: the same expression behind one VLAN tag
         * (BPF's "vlan" shifts the offsets for what follows it). */
        char tmp[4096];
        snprintf(tmp, sizeof(tmp), "(%s) or (vlan and (%s))", out, out);
        w = snprintf(out, cap, "%s", tmp);
        len = (size_t)w;
    }
    if (extra && extra[0] && len < cap) {
        char tmp[4096];
        snprintf(tmp, sizeof(tmp), "(%s) and (%s)", out, extra);
        w = snprintf(out, cap, "%s", tmp);
        len = (size_t)w;
    }
    return len < cap ? 0 : RF_EPARSE;
}

static int
apply_filter(cp_capture_t *c, const rf_rule_t *rules, unsigned nrules, rf_errbuf_t *err)
{
    char f[4096];
    if (cp_capture_filter(f, sizeof(f), rules, nrules, c->dir, c->tunnels, c->vxlan_port,
                          c->extra) != 0)
        return rf_err_set(err, RF_ECAP, "capture filter too long");
    struct bpf_program prog;
    if (pcap_compile(c->p, &prog, f, 1, PCAP_NETMASK_UNKNOWN) != 0)
        return rf_err_set(err, RF_ECAP, "-F/-x filter \"%s\": %s", f, pcap_geterr(c->p));
    int r = pcap_setfilter(c->p, &prog);
    pcap_freecode(&prog);
    if (r != 0)
        return rf_err_set(err, RF_ECAP, "setting filter: %s", pcap_geterr(c->p));
    return 0;
}

int
cp_capture_open_live(cp_capture_t **out, const cp_live_opts_t *o, const rf_rule_t *rules,
                     unsigned nrules, rf_errbuf_t *err)
{
    char eb[PCAP_ERRBUF_SIZE] = "";
    const char *dev = o->iface && o->iface[0] ? o->iface : "any";
    cp_capture_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return rf_err_set(err, RF_ECAP, "out of memory");
    c->tunnels = o->dir == CP_DIR_SERVER ? 0 : o->tunnels;
    c->dir = o->dir;
    c->vxlan_port = o->vxlan_port ? o->vxlan_port : 4789;
    snprintf(c->extra, sizeof(c->extra), "%s", o->extra_filter ? o->extra_filter : "");
    c->p = pcap_create(dev, eb);
    if (c->p == NULL) {
        free(c);
        return rf_err_set(err, RF_ECAP, "-i %s: %s", dev, eb);
    }
    /* libpcap uses TPACKET_V2 in immediate mode: fixed frames sized from
     * the snaplen. 65535 would leave a 32 MB ring only ~250 frames, which a
     * short descheduling overflows; MTU-sized frames give it tens of
     * thousands. */
    pcap_set_snaplen(c->p, (int)(o->snaplen ? o->snaplen : 65535));
    pcap_set_promisc(c->p, o->promisc && strcmp(dev, "any") != 0);
    /* Immediate mode wakes us for every packet: lowest latency, but at
     * moderate rates each loop turn then carries one packet and pays its
     * own poll, read and sendmmsg. A block timeout of a few milliseconds
     * lets the kernel hand over whole blocks (TPACKET_V3), so the syscalls
     * are shared by every packet of the block. It also decides how long a
     * starved agent can go unscheduled before the ring overflows: blocks
     * retire on the timeout, so ring time ~ blocks x timeout. Measured on
     * the 2-core bed at 8-9k conn/s with the CPUs saturated: 16 MB/1 ms
     * dropped 21k packets in 10 s, 32 MB/4 ms between 0 and 49k, 64 MB/4 ms
     * none (the default, at ~70 MB RSS). */
    if (o->latency_ms == 0) {
        pcap_set_timeout(c->p, 1);
        pcap_set_immediate_mode(c->p, 1);
    } else {
        pcap_set_timeout(c->p, (int)o->latency_ms);
    }
    pcap_set_buffer_size(c->p, (int)((o->buffer_mb ? o->buffer_mb : 64) << 20));
    int r = pcap_activate(c->p);
    if (r < 0) {
        rf_err_set(err, RF_ECAP, "-i %s: %s", dev, pcap_geterr(c->p));
        pcap_close(c->p);
        free(c);
        return RF_ECAP;
    }
    /* The client side: only what arrives, never our own replayed output.
     * The reverse handle: what the online server sends (its filter leaves
     * our output out). A mirror port delivers both directions inbound. */
    (void)pcap_setdirection(c->p, o->dir == CP_DIR_SERVER ? PCAP_D_OUT : PCAP_D_IN);
    c->linktype = pcap_datalink(c->p);
    if (apply_filter(c, rules, nrules, err) != 0 || pcap_setnonblock(c->p, 1, eb) != 0) {
        if (eb[0])
            rf_err_set(err, RF_ECAP, "-i %s: %s", dev, eb);
        pcap_close(c->p);
        free(c);
        return RF_ECAP;
    }
    *out = c;
    return 0;
}

int
cp_capture_open_offline(cp_capture_t **out, const char *path, const rf_rule_t *rules,
                        unsigned nrules, const char *extra, rf_errbuf_t *err)
{
    char eb[PCAP_ERRBUF_SIZE] = "";
    cp_capture_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return rf_err_set(err, RF_ECAP, "out of memory");
    c->offline = 1;
    c->dir = CP_DIR_BOTH;   /* a recording holds both directions */
    c->vxlan_port = 4789;
    snprintf(c->extra, sizeof(c->extra), "%s", extra ? extra : "");
    c->p = pcap_open_offline(path, eb);
    if (c->p == NULL) {
        free(c);
        return rf_err_set(err, RF_ECAP, "-o %s: not a readable pcap file: %s", path, eb);
    }
    c->linktype = pcap_datalink(c->p);
    if (apply_filter(c, rules, nrules, err) != 0) {
        pcap_close(c->p);
        free(c);
        return RF_ECAP;
    }
    *out = c;
    return 0;
}

int
cp_capture_set_rules(cp_capture_t *c, const rf_rule_t *rules, unsigned nrules, rf_errbuf_t *err)
{
    return apply_filter(c, rules, nrules, err);
}

int cp_capture_fd(const cp_capture_t *c) { return pcap_get_selectable_fd(c->p); }
int cp_capture_linktype(const cp_capture_t *c) { return c->linktype; }

typedef struct {
    cp_frame_cb cb;
    void       *ctx;
} disp_t;

static void
on_pkt(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    disp_t *d = (disp_t *)(void *)user;
    d->cb(d->ctx, data, h->caplen, (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec);
}

int
cp_capture_dispatch(cp_capture_t *c, int budget, cp_frame_cb cb, void *ctx)
{
    disp_t d = { cb, ctx };
    return pcap_dispatch(c->p, budget, on_pkt, (u_char *)&d);
}

int
cp_capture_peek(cp_capture_t *c, const uint8_t **frame, size_t *caplen, uint64_t *ts_us,
                rf_errbuf_t *err)
{
    if (!c->have_next) {
        int r = pcap_next_ex(c->p, &c->next_hdr, &c->next_data);
        if (r == PCAP_ERROR_BREAK)
            return 0;
        if (r == PCAP_ERROR) {
            FILE *fp = pcap_file(c->p);
            long off = fp ? ftell(fp) : -1;
            return rf_err_set(err, RF_ECAP, "offline file: packet #%llu near byte offset %ld: %s",
                              (unsigned long long)c->npkts + 1, off, pcap_geterr(c->p));
        }
        if (r != 1)
            return 0;
        c->have_next = 1;
        c->npkts++;
    }
    *frame = c->next_data;
    *caplen = c->next_hdr->caplen;
    *ts_us = (uint64_t)c->next_hdr->ts.tv_sec * 1000000u + (uint64_t)c->next_hdr->ts.tv_usec;
    return 1;
}

void
cp_capture_consume(cp_capture_t *c)
{
    c->have_next = 0;
}

uint64_t
cp_capture_drops(cp_capture_t *c)
{
    struct pcap_stat ps;
    if (c->offline || pcap_stats(c->p, &ps) != 0)
        return 0;
    return (uint64_t)ps.ps_drop + (uint64_t)ps.ps_ifdrop;
}

void
cp_capture_close(cp_capture_t *c)
{
    if (c == NULL)
        return;
    pcap_close(c->p);
    free(c);
}
