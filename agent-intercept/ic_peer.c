/* ic_peer.c -- the copy-agent channel's message handlers (see ic_peer.h).
 * Every count from the peer (owned prefixes, tuples) is bounded before use:
 * prefixes by IC_MAX_OWNED, tuples by the connection's frame cap. */
#include "ic_peer.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rf_cidr.h"
#include "rf_envelope.h"
#include "rf_handshake.h"
#include "rf_log.h"

void
ic_peer_init(ic_peer_t *p, const char *addr)
{
    memset(p, 0, sizeof(*p));
    p->state = IC_PEER_WAIT_HELLO;
    p->owner = IC_OWNER_NONE;
    snprintf(p->addr, sizeof(p->addr), "%s", addr ? addr : "?");
}

static ic_peer_verdict_t
refuse(ic_peer_refusal_t *why, int code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static ic_peer_verdict_t
refuse(ic_peer_refusal_t *why, int code, const char *reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why->detail, sizeof(why->detail), fmt, ap);
    va_end(ap);
    why->code = code;
    why->reason = reason;
    return IC_PEER_REFUSE;
}

static ic_peer_verdict_t
proto_error(const ic_peer_env_t *env, ic_peer_refusal_t *why, const char *detail)
{
    env->st->proto_errors++;
    return refuse(why, RF_ESTATE, "protocol error", "%s", detail);
}

static void
set_id(ic_peer_t *p, const char *id)
{
    size_t i = 0;
    for (; id != NULL && id[i] != '\0' && i + 1 < sizeof(p->id); i++)
        p->id[i] = (id[i] > 0x20 && id[i] < 0x7f) ? id[i] : '?';   /* log-safe */
    p->id[i] = '\0';
}

/* "id (addr:port)" of an owner, for overlap logs. */
static const char *
owner_name(const ic_engine_t *eng, uint32_t owner, char *buf, size_t len)
{
    const ic_peer_t *o = eng->peers[IC_OWNER_SLOT(owner)].ctx;
    if (o == NULL)
        snprintf(buf, len, "?");
    else
        snprintf(buf, len, "%s (%s)", o->id[0] ? o->id : "?", o->addr);
    return buf;
}

static void
log_overlap(const ic_peer_env_t *env, const ic_peer_t *p, const char *cs, const ic_overlap_t *ov)
{
    char os[32], on[128];
    rf_cidr_format(&ov->other_pfx, os, sizeof(os));
    rf_log_warn("copy agent %s (%s) claims %s, which %s %s of copy agent %s%s", p->id, p->addr,
                cs, ov->kind == IC_OVERLAP_EQUAL ? "takes over" : "overlaps", os,
                owner_name(env->eng, ov->other, on, sizeof(on)),
                ov->kind == IC_OVERLAP_EQUAL ? " (latest claim wins)"
                                             : " (longest prefix decides)");
}

/* Hello phase 1: who it is, and how much it claims. */
static ic_peer_verdict_t
hello_check(const ic_peer_env_t *env, const ic_peer_link_t *link, const Rfpb__Hello *h,
            ic_peer_refusal_t *why)
{
    rf_errbuf_t err;
    /* With a key the channel is TLS and the Hello must name the copy agent
     * whose pair key opened it. */
    int r = rf_hs_check_hello(h, RF_ROLE_BIT(RFPB__ROLE__ROLE_COPY), link->tls_identity,
                              link->loopback, env->insecure, &err);
    if (r != 0) {
        env->st->auth_failures++;
        return refuse(why, r, "hello refused", "%s", err.msg);
    }
    if (h->n_owned > IC_MAX_OWNED) {
        snprintf(err.msg, sizeof(err.msg), "Hello owns %zu prefixes, at most %u", h->n_owned,
                 IC_MAX_OWNED);
        return proto_error(env, why, err.msg);
    }
    for (size_t i = 0; i < h->n_owned; i++) {
        const Rfpb__Prefix *x = h->owned[i];
        if (x == NULL || x->len > 32 || (x->addr & ~rf_cidr_mask((uint8_t)x->len)) != 0) {
            snprintf(err.msg, sizeof(err.msg), "owned[%zu]: not a prefix (length over 32 or "
                     "host bits set)", i);
            return proto_error(env, why, err.msg);
        }
    }
    return IC_PEER_OK;
}

/* Hello phase 2: become an owner and claim the prefixes. */
static ic_peer_verdict_t
hello_claim(const ic_peer_env_t *env, ic_peer_t *p, const Rfpb__Hello *h,
            ic_peer_refusal_t *why)
{
    int r = ic_engine_peer_add(env->eng, p, &p->owner);
    if (r != 0) {
        p->owner = IC_OWNER_NONE;
        env->st->copy_refused++;
        return refuse(why, r, "too many copy agents", "too many copy agents on this intercept");
    }
    char owned[160] = "";
    size_t used = 0;
    for (size_t i = 0; i < h->n_owned; i++) {
        rf_cidr_t c = { h->owned[i]->addr, (uint8_t)h->owned[i]->len };
        char cs[32];
        rf_cidr_format(&c, cs, sizeof(cs));
        ic_overlap_t ov;
        r = ic_engine_claim(env->eng, p->owner, &c, &ov);
        if (r != 0)   /* what was claimed goes in ic_peer_gone */
            return refuse(why, r, "route table full", "owned[%zu] %s: %s", i, cs, rf_strerror(r));
        if (ov.kind != IC_OVERLAP_NONE)
            log_overlap(env, p, cs, &ov);
        if (used < sizeof(owned) - 1) {
            int n = snprintf(owned + used, sizeof(owned) - used, "%s%s", i ? "," : "", cs);
            if (n > 0)
                used += (size_t)n;
        }
    }
    rf_log_info("copy agent %s (%s) connected, owns %s", p->id, p->addr,
                h->n_owned ? owned : "no prefixes (tuples only)");
    return IC_PEER_OK;
}

static ic_peer_verdict_t
on_hello(const ic_peer_env_t *env, ic_peer_t *p, const ic_peer_link_t *link,
         const Rfpb__Hello *h, uint64_t now_ms, ic_peer_refusal_t *why)
{
    set_id(p, h->id);
    if (hello_check(env, link, h, why) != IC_PEER_OK ||
        hello_claim(env, p, h, why) != IC_PEER_OK)
        return IC_PEER_REFUSE;
    p->state = IC_PEER_READY;
    env->st->copy_conns++;
    ic_engine_unpark(env->eng, now_ms);
    return IC_PEER_WELCOME;
}

int
ic_peer_tuple_from_pb(ic_tuple_t *t, const Rfpb__Tuple *x)
{
    if (x == NULL || x->client_port > 65535 || x->target_port > 65535)
        return RF_EPARSE;
    t->client_ip = x->client_ip;
    t->client_port = (uint16_t)x->client_port;
    t->target_ip = x->target_ip;
    t->target_port = (uint16_t)x->target_port;
    return 0;
}

static ic_peer_verdict_t
on_tuples(const ic_peer_env_t *env, ic_peer_t *p, const Rfpb__TupleRegister *tr,
          uint64_t now_ms, ic_peer_refusal_t *why)
{
    ic_tuple_t t;
    /* Counts are bounded by the frame cap (1 MiB). A full table is counted
     * (tuples_full), not fatal: the prefix route may still cover it. */
    for (size_t i = 0; i < tr->n_del; i++) {
        if (ic_peer_tuple_from_pb(&t, tr->del[i]) != 0)
            return proto_error(env, why, "TupleRegister.del: port over 65535");
        ic_engine_tuple_del(env->eng, p->owner, &t);
    }
    for (size_t i = 0; i < tr->n_add; i++) {
        if (ic_peer_tuple_from_pb(&t, tr->add[i]) != 0)
            return proto_error(env, why, "TupleRegister.add: port over 65535");
        (void)ic_engine_tuple_add(env->eng, p->owner, &t, now_ms);
    }
    if (tr->n_add > 0)
        ic_engine_unpark(env->eng, now_ms);
    return IC_PEER_OK;
}

ic_peer_verdict_t
ic_peer_on_msg(const ic_peer_env_t *env, ic_peer_t *p, const ic_peer_link_t *link,
               const Rfpb__Envelope *m, uint64_t now_ms, ic_peer_refusal_t *why)
{
    char msg[96];
    if (p->state == IC_PEER_GONE)
        return IC_PEER_OK;   /* closing: later frames are not acted on */
    if (p->state == IC_PEER_WAIT_HELLO) {
        if (m->msg_case == RFPB__ENVELOPE__MSG_HELLO)
            return on_hello(env, p, link, m->hello, now_ms, why);
        snprintf(msg, sizeof(msg), "expected hello, got %s", rf_env_case_name(m));
        return proto_error(env, why, msg);
    }
    switch (m->msg_case) {
    case RFPB__ENVELOPE__MSG_TUPLES: return on_tuples(env, p, m->tuples, now_ms, why);
    case RFPB__ENVELOPE__MSG_HEARTBEAT: return IC_PEER_OK;
    default:
        snprintf(msg, sizeof(msg), "unexpected %s on the copy channel", rf_env_case_name(m));
        return proto_error(env, why, msg);
    }
}

void
ic_peer_gone(const ic_peer_env_t *env, ic_peer_t *p)
{
    if (p->owner != IC_OWNER_NONE)
        ic_engine_peer_del(env->eng, p->owner);
    p->owner = IC_OWNER_NONE;
    if (p->state == IC_PEER_READY)
        env->st->copy_conns--;
    p->state = IC_PEER_GONE;
}
