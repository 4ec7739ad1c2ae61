/* cp_canary.c -- doctor probes. A probe is a SYN with MSS only; the
 * target's SYN-ACK (or RST) comes back through an intercept like any
 * replayed response. After a SYN-ACK we reset the half-open connection so
 * the target keeps no state for it. */
#include "cp_canary.h"

#include <stdio.h>
#include <string.h>

#include "rf_hash.h"
#include "rf_pkt.h"

unsigned
cp_canary_begin(cp_canary_t *c, uint64_t id, const rf_rule_t *rules, unsigned nrules,
                const rf_cidr_t *range, uint32_t timeout_ms, uint64_t now_ms, uint32_t seed)
{
    memset(c, 0, sizeof(*c));
    c->id = id;
    c->active = 1;
    if (timeout_ms < 100)
        timeout_ms = 1000;
    c->start_ms = now_ms;
    c->deadline_ms = now_ms + timeout_ms;
    /* Past half the budget a SYN-ACK is "late": the feedback path is too
     * slow for live replay even though it works. */
    c->late_ms = timeout_ms / 2;
    for (unsigned i = 0; i < nrules && i < RF_RULES_MAX; i++) {
        cp_probe_t *p = &c->p[c->n++];
        p->rule = rules[i];
        p->src_ip = rf_cidr_host_at(range, 0);
        p->src_port = (uint16_t)(CP_CANARY_PORT_BASE + i);
        p->isn = (uint32_t)rf_mix64(((uint64_t)seed << 32) ^ now_ms ^ i);
        p->stage = -1;
    }
    return c->n;
}

static size_t
build(const cp_probe_t *p, uint8_t *b, uint8_t flags, uint32_t seq)
{
    int syn = flags & RF_TH_SYN;
    uint16_t tl = (uint16_t)(syn ? 24 : 20), tot = (uint16_t)(20 + tl);
    memset(b, 0, tot);
    b[0] = 0x45;
    wr16(b + 2, tot);
    wr16(b + 4, (uint16_t)(p->isn >> 7));
    wr16(b + 6, 0x4000);
    b[8] = 64;
    b[9] = 6;
    wr32(b + 12, p->src_ip);
    wr32(b + 16, p->rule.target_ip);
    uint8_t *t = b + 20;
    wr16(t, p->src_port);
    wr16(t + 2, p->rule.target_port);
    wr32(t + 4, seq);
    t[12] = (uint8_t)((tl / 4) << 4);
    t[13] = flags;
    wr16(t + 14, syn ? 65535 : 0);
    if (syn) {
        t[20] = 2;
        t[21] = 4;
        wr16(t + 22, 1400);
    }
    rf_pkt_fix_checksums(b);
    return tot;
}

size_t
cp_canary_syn(const cp_canary_t *c, unsigned i, uint8_t *buf)
{
    return build(&c->p[i], buf, RF_TH_SYN, c->p[i].isn);
}

size_t
cp_canary_rst(const cp_canary_t *c, unsigned i, uint8_t *buf)
{
    return build(&c->p[i], buf, RF_TH_RST, c->p[i].isn + 1);
}

void
cp_canary_sent(cp_canary_t *c, unsigned i, int err, uint64_t now_ms)
{
    cp_probe_t *p = &c->p[i];
    p->sent_ms = now_ms;
    if (err != 0) {
        p->stage = CP_CANARY_NOT_SENT;
        p->send_errno = err;
    }
}

int
cp_canary_on_response(cp_canary_t *c, const uint8_t *hdr, size_t len, uint64_t now_ms)
{
    if (!c->active)
        return -1;
    rf_tcp_view_t v;
    if (rf_tcp_parse(&v, (uint8_t *)(uintptr_t)hdr, len, 0) != RF_PKT_OK)
        return -1;
    for (unsigned i = 0; i < c->n; i++) {
        cp_probe_t *p = &c->p[i];
        if (v.daddr != p->src_ip || v.dport != p->src_port || v.saddr != p->rule.target_ip ||
            v.sport != p->rule.target_port)
            continue;
        if (p->stage == -1 && v.ack == p->isn + 1) {
            uint64_t rtt = now_ms - p->sent_ms;
            p->rtt_us = (uint32_t)(rtt * 1000u);
            if (v.flags & RF_TH_RST)
                p->stage = CP_CANARY_RESET;
            else if ((v.flags & (RF_TH_SYN | RF_TH_ACK)) == (RF_TH_SYN | RF_TH_ACK))
                p->stage = rtt > c->late_ms ? CP_CANARY_LATE : CP_CANARY_OK;
            p->t_seq = v.seq;
        }
        return (int)i;   /* ours either way: never a replayed session's */
    }
    return -1;
}

int
cp_canary_done(cp_canary_t *c, uint64_t now_ms)
{
    int waiting = 0;
    for (unsigned i = 0; i < c->n; i++)
        waiting |= c->p[i].stage == -1;
    if (waiting && now_ms < c->deadline_ms)
        return 0;
    for (unsigned i = 0; i < c->n; i++)
        if (c->p[i].stage == -1)
            c->p[i].stage = CP_CANARY_NO_SYNACK;
    return 1;
}

void
cp_canary_detail(const cp_probe_t *p, char *buf, size_t len)
{
    switch (p->stage) {
    case CP_CANARY_OK:
        snprintf(buf, len, "SYN-ACK back through the intercept in %u.%03u ms", p->rtt_us / 1000,
                 p->rtt_us % 1000);
        break;
    case CP_CANARY_NOT_SENT:
        snprintf(buf, len, "the raw send failed: %s (firewall or route on the capture host?)",
                 strerror(p->send_errno));
        break;
    case CP_CANARY_NO_SYNACK:
        snprintf(buf, len, "SYN sent, no SYN-ACK came back through any of our intercepts "
                           "(target route for the client range, rp_filter, firewall?)");
        break;
    case CP_CANARY_LATE:
        snprintf(buf, len, "SYN-ACK came back late (%u ms): the feedback path is slow",
                 p->rtt_us / 1000);
        break;
    case CP_CANARY_RESET:
        snprintf(buf, len, "the target answered RST: nothing listens on port %u",
                 p->rule.target_port);
        break;
    case CP_CANARY_NO_INTERCEPT:
        snprintf(buf, len, "no intercept connected: responses cannot come back");
        break;
    default:
        snprintf(buf, len, "unknown");
        break;
    }
}
