/* cp_capture.c -- libpcap sources. Live handles are non-blocking and
 * polled by the loop; each wake-up dispatches a bounded batch so a busy
 * interface cannot starve the control channels. */
#include "cp_capture.h"

#include <errno.h>
#include <linux/filter.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cp_ring.h"
#include "rf_cidr.h"

struct cp_capture {
    pcap_t  *p;                /* live libpcap handle, or a dead one that only compiles */
    cp_ring_t *ring;           /* our own ring (one Ethernet device), else NULL */
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
compile(cp_capture_t *c, struct bpf_program *prog, const char *f, rf_errbuf_t *err)
{
    if (pcap_compile(c->p, prog, f, 1, PCAP_NETMASK_UNKNOWN) != 0)
        return rf_err_set(err, RF_ECAP, "-F/-x filter \"%s\": %s", f, pcap_geterr(c->p));
    return 0;
}

#define SERVER_SNAPLEN 256u   /* link + VLAN + IPv4 and TCP headers with options */

/* The online server's own host: one program for both directions, so the
 * kernel keeps their order (the causal order needs a reply noted before
 * the client segment that acknowledges it) and each is cut to what it
 * needs. pcap expressions return one snap length, so two are compiled and
 * stitched: the client program's "reject" returns jump to the server
 * program, whose "accept" returns keep SERVER_SNAPLEN bytes (AF_PACKET
 * truncates to a filter's return value). Classic BPF jumps are relative and
 * forward only, so the server program moves unchanged. */
static int
stitch(struct bpf_program *out, const struct bpf_program *cli, const struct bpf_program *srv)
{
    u_int n = cli->bf_len + srv->bf_len;
    if (n > 4096)   /* BPF_MAXINSNS */
        return -1;
    struct bpf_insn *ins = calloc(n, sizeof(*ins));
    if (ins == NULL)
        return -1;
    memcpy(ins, cli->bf_insns, cli->bf_len * sizeof(*ins));
    memcpy(ins + cli->bf_len, srv->bf_insns, srv->bf_len * sizeof(*ins));
    for (u_int i = 0; i < cli->bf_len; i++) {
        if (ins[i].code == (BPF_RET | BPF_K) && ins[i].k == 0) {
            ins[i].code = BPF_JMP | BPF_JA;
            ins[i].k = cli->bf_len - i - 1;
            ins[i].jt = ins[i].jf = 0;
        }
    }
    for (u_int i = cli->bf_len; i < n; i++)
        if (ins[i].code == (BPF_RET | BPF_K) && ins[i].k != 0)
            ins[i].k = SERVER_SNAPLEN;
    out->bf_len = n;
    out->bf_insns = ins;
    return 0;
}

/* A program straight into the kernel (same layout as struct sock_filter):
 * our own ring's socket, or a libpcap socket whose filter libpcap must not
 * see (CP_DIR_HOST). */
static int
attach_kernel(int fd, const struct bpf_program *prog, rf_errbuf_t *err)
{
    struct sock_fprog fp = { (unsigned short)prog->bf_len, (struct sock_filter *)prog->bf_insns };
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)) != 0)
        return rf_err_set(err, RF_ECAP, "attaching the capture filter: %s", strerror(errno));
    return 0;
}

static int
set_filter(cp_capture_t *c, const char *f, rf_errbuf_t *err)
{
    struct bpf_program prog;
    if (c->ring) {
        /* Only what arrives: never our own replayed output. */
        char g[4096 + 32];
        if (snprintf(g, sizeof(g), "inbound and (%s)", f) >= (int)sizeof(g))
            return rf_err_set(err, RF_ECAP, "capture filter too long");
        if (compile(c, &prog, g, err) != 0)
            return RF_ECAP;
        int r = attach_kernel(cp_ring_fd(c->ring), &prog, err);
        pcap_freecode(&prog);
        return r;
    }
    if (compile(c, &prog, f, err) != 0)
        return RF_ECAP;
    int r = pcap_setfilter(c->p, &prog);
    pcap_freecode(&prog);
    if (r != 0)
        return rf_err_set(err, RF_ECAP, "setting filter: %s", pcap_geterr(c->p));
    return 0;
}

/* The online server's host (CP_DIR_HOST): clients' segments arriving,
 * whole, and the server's leaving, cut to their headers, in one program.
 * "inbound"/"outbound" read the kernel's packet type, which libpcap cannot
 * read when it filters in userland -- and after every pcap_setfilter it
 * filters the first block it reads in userland (packets that may predate
 * the new filter): that block would be lost. So libpcap gets a userland-safe
 * superset (both directions by ports, never to a target: not our output)
 * and the kernel gets the exact program. On the "any" device the packet
 * type is in the SLL header, where userland can read it too. */
static int
apply_host_filter(cp_capture_t *c, const rf_rule_t *rules, unsigned nrules, rf_errbuf_t *err)
{
    char cf[4096], sf[4096], g[4096 + 4096 + 1024 + 32];
    if (cp_capture_filter(cf, sizeof(cf), rules, nrules, CP_DIR_CLIENT, 0, 0, c->extra) != 0 ||
        cp_capture_filter(sf, sizeof(sf), rules, nrules, CP_DIR_SERVER, 0, 0, NULL) != 0)
        return rf_err_set(err, RF_ECAP, "capture filter too long");
    int cooked = c->linktype == DLT_LINUX_SLL || c->linktype == DLT_LINUX_SLL2;
    if (!cooked && c->ring == NULL) {
        char nt[1024] = "";
        size_t l = 0;
        for (unsigned i = 0; i < nrules && l < sizeof(nt); i++) {
            char t[16];
            rf_ipv4_format(rules[i].target_ip, t, sizeof(t));
            l += (size_t)snprintf(nt + l, sizeof(nt) - l, " and not dst host %s", t);
        }
        if (l >= sizeof(nt))
            return rf_err_set(err, RF_ECAP, "capture filter too long (%u rules)", nrules);
        if (snprintf(g, sizeof(g), "((%s)%s) or (%s)", cf, nt, sf) >= (int)sizeof(g))
            return rf_err_set(err, RF_ECAP, "capture filter too long (%u rules)", nrules);
        if (set_filter(c, g, err) != 0)
            return RF_ECAP;
    }
    struct bpf_program cli, srv, prog;
    snprintf(g, sizeof(g), "inbound and (%s)", cf);
    if (compile(c, &cli, g, err) != 0)
        return RF_ECAP;
    snprintf(g, sizeof(g), "outbound and (%s)", sf);
    if (compile(c, &srv, g, err) != 0) {
        pcap_freecode(&cli);
        return RF_ECAP;
    }
    int r = stitch(&prog, &cli, &srv);
    pcap_freecode(&cli);
    pcap_freecode(&srv);
    if (r != 0)
        return rf_err_set(err, RF_ECAP, "capture filter too long (%u rules)", nrules);
    if (c->ring) {
        r = attach_kernel(cp_ring_fd(c->ring), &prog, err);
    } else if (cooked) {
        r = pcap_setfilter(c->p, &prog);
        if (r != 0)
            rf_err_set(err, RF_ECAP, "setting filter: %s", pcap_geterr(c->p));
    } else {
        r = attach_kernel(pcap_fileno(c->p), &prog, err);
    }
    free(prog.bf_insns);
    return r != 0 ? RF_ECAP : 0;
}

static int
apply_filter(cp_capture_t *c, const rf_rule_t *rules, unsigned nrules, rf_errbuf_t *err)
{
    if (c->dir == CP_DIR_HOST)
        return apply_host_filter(c, rules, nrules, err);
    char f[4096];
    if (cp_capture_filter(f, sizeof(f), rules, nrules, c->dir, c->tunnels, c->vxlan_port,
                          c->extra) != 0)
        return rf_err_set(err, RF_ECAP, "capture filter too long");
    return set_filter(c, f, err);
}

/* One Ethernet device, batched wake-ups, no tunnels (a VLAN-tagged mirror
 * needs libpcap's tag reinsertion and filter code): our own ring, sized
 * in blocks that hold one frame each at most (cp_ring.h). The filter is
 * compiled on a dead Ethernet handle -- it generates the same kernel
 * program, "inbound"/"outbound" included -- and attached before the
 * socket is bound, so no unfiltered packet reaches the ring. Returns 1
 * when the device cannot take it (not Ethernet): use libpcap. */
static int
open_ring(cp_capture_t *c, const cp_live_opts_t *o, const rf_rule_t *rules, unsigned nrules,
          rf_errbuf_t *err)
{
    rf_errbuf_t e2 = { 0 };
    size_t bytes = (size_t)(o->buffer_mb ? o->buffer_mb : 16) << 20;
    if (cp_ring_open(&c->ring, o->iface, bytes, o->latency_ms, o->promisc, &e2) != 0)
        return 1;
    c->p = pcap_open_dead(DLT_EN10MB, 65535);
    c->linktype = DLT_EN10MB;
    if (c->p == NULL || apply_filter(c, rules, nrules, err) != 0 ||
        cp_ring_start(c->ring, err) != 0)
        return -1;
    if (o->fanout_group && cp_ring_fanout(cp_ring_fd(c->ring), o->fanout_group, err) != 0)
        return -1;
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
    c->tunnels = o->tunnels;
    c->dir = o->dir;
    c->vxlan_port = o->vxlan_port ? o->vxlan_port : 4789;
    snprintf(c->extra, sizeof(c->extra), "%s", o->extra_filter ? o->extra_filter : "");
    if (strcmp(dev, "any") != 0 && !o->tunnels && o->latency_ms > 0 && !o->use_libpcap) {
        int r = open_ring(c, o, rules, nrules, err);
        if (r == 0) {
            *out = c;
            return 0;
        }
        if (c->p)
            pcap_close(c->p);
        cp_ring_close(c->ring);
        c->p = NULL;
        c->ring = NULL;
        if (r < 0) {
            free(c);
            return RF_ECAP;
        }
    }
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
    /* Only what arrives (never our own replayed output), except on the
     * online server's host, where its replies leave: the filter then tells
     * the directions apart and leaves our output out. A mirror port
     * delivers both directions inbound. */
    (void)pcap_setdirection(c->p, o->dir == CP_DIR_HOST ? PCAP_D_INOUT : PCAP_D_IN);
    c->linktype = pcap_datalink(c->p);
    if (apply_filter(c, rules, nrules, err) != 0 || pcap_setnonblock(c->p, 1, eb) != 0 ||
        (o->fanout_group && cp_ring_fanout(pcap_fileno(c->p), o->fanout_group, err) != 0)) {
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

int cp_capture_fd(const cp_capture_t *c)
{
    return c->ring ? cp_ring_fd(c->ring) : pcap_get_selectable_fd(c->p);
}
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
    if (c->ring)
        return cp_ring_dispatch(c->ring, budget, cb, ctx);
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
    if (c->ring)
        return cp_ring_drops(c->ring);
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
    cp_ring_close(c->ring);
    pcap_close(c->p);
    free(c);
}
