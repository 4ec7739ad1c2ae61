/* cp_sess.c -- the replay engine. Owns the session pool, the held-packet
 * slot pool, the two session indexes (by original 4-tuple, by replayed
 * 4-tuple) and the timer wheel. Does not own capture, sockets or channels.
 *
 * Sequence numbers: the client's own sequence space is replayed unchanged
 * (retransmissions are then exact copies); only the target's sequence space
 * is learned, from the SYN-ACK the intercept forwards, and written into the
 * ack field of everything we send. All seq fields are host order. */
#include "cp_sess.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cp_fsm.h"
#include "cp_map.h"
#include "rf_assert.h"
#include "rf_hash.h"
#include "rf_pkt.h"

#define NIL 0u                 /* index+1 links: 0 is "none" */
#define WHEEL_SLOTS 1024u
#define WHEEL_MS 8u            /* resolution */
#define RTO_SYN_MS 300u
#define RTO_DATA_MS 200u
#define RTO_MAX_MS 6400u
#define MAX_RETRIES 7u
#define TIME_WAIT_MS 1000u
#define REV_RING 4u         /* online server turns remembered per session */
#define RST_QUIET_MS 100u      /* target silent this long: a held RST may go */
#define RST_HOLD_MAX_MS 30000u /* never hold a RST longer than this */
#define MIN_SLOTS_PER_SESS 2048u   /* a session may hold max(this, pool / 2) */
#define PENDING_MAX 8192u
#define SKIP_CACHE 4096u
#define RST_NO_ACK 0x80u   /* send_synth: a bare RST (no ACK bit) */

/* slot_t.held. A queued segment's wait point is resolved when it is next
 * to go, not when it is captured: the server turn it depends on is then
 * more likely read from the reverse handle (see "causal order"). */
enum {
    HELD_NEW_ACK = 0,   /* wait = the client's ack as captured: resolve */
    HELD_NEW,           /* no ack bit: inherits the previous wait point */
    HELD_NO,            /* wait point resolved, not held (yet) */
    HELD_WAITING,       /* held for the target's answer */
    HELD_DONE,          /* released */
};

typedef struct {
    uint32_t next;       /* queue link (index+1) */
    uint32_t seq;        /* first sequence number */
    uint32_t wait;       /* causal order: the client's ack, then the wait point */
    uint16_t len;        /* IP datagram length */
    uint16_t plen;       /* payload bytes */
    uint8_t  flags;      /* TCP flags of this segment */
    uint8_t  sent;
    uint8_t  held;       /* HELD_*: why it waited for the target */
    uint8_t  pad;
    int16_t  ts_off;     /* TSval offset from IP start, -1 if none */
    uint8_t  data[];     /* rewritten IP datagram */
} slot_t;

/* Held segments come in four size classes, smallest first, the last one
 * MTU-sized; a segment takes the smallest class it fits, the next larger
 * when that one is exhausted. A slot id is its class in the top two bits
 * and its index + 1 below. 128 bytes hold a pure ACK (52 bytes with
 * timestamps) and a one-line request (wrk's GET: 94): the bulk of what a
 * closed-loop keep-alive replay holds while it lags its client (the 256
 * smallest class held 21 MB at 28k req/s); 256 and 512 hold requests with
 * a few headers, a redis command, a short SQL statement. */
#define SLOT_CLASSES 4u
#define SLOT_MTU (SLOT_CLASSES - 1u)   /* the class of the largest segments */
#define SLOT_CLASS_SHIFT 30
#define SLOT_IDX(id) ((id) & ((1u << SLOT_CLASS_SHIFT) - 1u))
#define SLOT_CLASS(id) ((id) >> SLOT_CLASS_SHIFT)
static const uint16_t slot_small_stride[SLOT_MTU] = { 128, 256, 512 };

typedef struct {
    uint8_t *mem;              /* [n] of stride bytes, calloc: touched as used */
    size_t   stride;
    uint32_t n, bump, free;
    uint32_t used;             /* taken now (cp_engine_has_room) */
} slot_pool_t;

typedef struct {
    uint32_t o_next, r_next;       /* hash chains */
    uint32_t w_next, w_prev;       /* timer wheel list */
    uint32_t w_bucket;             /* bucket + 1, 0 = not on the wheel */
    uint32_t q_head, q_tail, q_unsent;
    uint32_t q_count;
    uint8_t  state, in_orig, ts_ok, ack_pending;
    uint8_t  rev_seen, t_wscale, c_wscale, retries;
    uint8_t  dupacks, have_oack, rev_n, unordered;
    uint16_t copy : 12, out : 4;   /* copy index (< 1024), output (< CP_OUTPUTS_MAX) */
    uint16_t ip_id;
    uint16_t o_cport, o_sport, r_cport, t_port;
    uint32_t o_cip, o_sip, r_cip, t_ip;
    uint32_t isn, cap_nxt, snd_nxt, snd_una, rcv_nxt, t_isn;
    uint32_t t_wnd, ts_recent, ts_last, o_ack0;
    uint16_t c_win, t_mss;
    uint32_t rto_ms;
    /* Causal order (see "causal order" below). Client sequence space. */
    uint32_t o_ack_data;           /* the client's ack on its last data segment */
    uint32_t wait_cur;             /* wait point of the last queued segment */
    uint32_t t_answered;           /* the target sent data acking up to here */
    uint32_t rev_end[REV_RING];    /* online server turns: end (server seq) ... */
    uint32_t rev_ack[REV_RING];    /* ... and how much client data it had then */
    uint64_t last_ms, rto_due, causal_due, tw_due, wake_ms;
    uint64_t resp_ms;              /* last response payload/FIN from the target */
    uint64_t rst_due;              /* a held client RST is re-checked then */
    uint64_t rst_deadline;         /* ... and sent at the latest then */
} sess_t;

struct cp_engine {
    cp_engine_cfg_t cfg;
    cp_sink_t       sink;
    void           *sink_ctx;
    cp_stats_t      st;

    sess_t   *sess;            /* [nsess] */
    uint32_t  nsess, sess_bump, sess_free;
    /* Held segments in size classes (SLOT_CLASSES): most requests are far
     * smaller than the MTU, and a causal replay may hold many of them. All
     * classes share the queue links. */
    slot_pool_t pool[SLOT_CLASSES];
    uint32_t  nslots, slots_used;
    /* One session's share of the slots. The causal order makes a replay
     * lag a client that is faster than the target's round trip (a serial
     * client next to its server, on a saturated host): the lag is held
     * here and drains after the load, so one busy keep-alive session may
     * take half the pool (pgbench at 12.5k tps, 8 connections, 10 s: one
     * session passed pool/8 = 15k segments and was aborted). */
    uint32_t  sess_slot_cap;
    /* Sessions with a captured segment not yet sent (q_unsent set): each
     * waits on the target (handshake, causal order, window); with
     * --lazy-responses the loop reads the intercepts' answers at once only
     * while this is non-zero (cp_engine_waiting). */
    uint32_t  n_unsent;
    uint32_t *o_heads, *r_heads;  /* [nbuckets] */
    uint32_t  bucket_mask;

    uint32_t  wheel[WHEEL_SLOTS];
    uint64_t  wheel_now;       /* last processed tick (ms / WHEEL_MS) */

    uint32_t  pending[PENDING_MAX];
    uint32_t  npending;

    uint64_t  skip_cache[SKIP_CACHE];   /* mid-stream flows already counted */

    /* Outputs in force (cfg.outputs, or one made of the top-level fields),
     * each with its rate limit bucket. */
    cp_output_t out[CP_OUTPUTS_MAX];
    unsigned  nout, max_sample;
    double    tokens[CP_OUTPUTS_MAX];
    uint64_t  tokens_ms[CP_OUTPUTS_MAX];

    uint8_t   scratch[128];    /* synthetic packets */
};

/* ---------- small helpers ---------- */

static inline slot_t *
slot_at(cp_engine_t *e, uint32_t id)
{
    const slot_pool_t *p = &e->pool[SLOT_CLASS(id)];
    RF_ASSERT(SLOT_IDX(id) != NIL && SLOT_IDX(id) <= p->bump);
    return (slot_t *)(void *)(p->mem + (size_t)(SLOT_IDX(id) - 1) * p->stride);
}

static inline sess_t *
sess_at(cp_engine_t *e, uint32_t id)
{
    RF_ASSERT(id != NIL && id <= e->sess_bump);
    return &e->sess[id - 1];
}

static inline uint32_t
sess_id(cp_engine_t *e, sess_t *s)
{
    return (uint32_t)(s - e->sess) + 1;
}

static inline uint32_t
seg_end(const slot_t *sl)
{
    return sl->seq + sl->plen + ((sl->flags & (RF_TH_FIN | RF_TH_SYN)) ? 1u : 0u);
}

static inline uint32_t
orig_bucket(cp_engine_t *e, uint32_t cip, uint16_t cport, uint32_t sip, uint16_t sport)
{
    return (uint32_t)rf_hash_tuple(cip, cport, sip, sport, 11) & e->bucket_mask;
}

static inline uint32_t
repl_bucket(cp_engine_t *e, uint32_t cip, uint16_t cport, uint32_t tip, uint16_t tport)
{
    return (uint32_t)rf_hash_tuple(cip, cport, tip, tport, 23) & e->bucket_mask;
}

size_t
cp_engine_session_bytes(void)
{
    return sizeof(sess_t) + 2 * sizeof(uint32_t);
}

size_t
cp_engine_session_capacity(const cp_engine_t *e)
{
    return e->nsess;
}

cp_stats_t *
cp_engine_stats(cp_engine_t *e)
{
    return &e->st;
}

/* The smallest class an IP datagram of `len` bytes fits (SLOT_MTU when
 * none of the small ones does). */
static unsigned
slot_class_for(const cp_engine_t *e, size_t len)
{
    unsigned c = 0;
    while (c < SLOT_MTU && len > e->pool[c].stride - sizeof(slot_t))
        c++;
    return c;
}

int
cp_engine_has_room(const cp_engine_t *e, size_t ip_len)
{
    /* A captured session opens one replay per copy of every output. */
    uint32_t copies = 0;
    for (unsigned k = 0; k < e->nout; k++)
        copies += e->out[k].copies;
    if (e->nsess - e->st.sess_active < copies)
        return 0;
    unsigned c = slot_class_for(e, ip_len);
    if (c < SLOT_MTU) {
        /* One slot per copy, of this class or a larger one. */
        size_t nfree = 0;
        for (; c < SLOT_CLASSES; c++)
            nfree += e->pool[c].n - e->pool[c].used;
        return nfree >= copies;
    }
    /* Split to the MTU: at most one slot per (MTU - 40) bytes, plus one. */
    size_t per_copy = ip_len / ((size_t)e->cfg.mtu - 40u) + 1u;
    return (size_t)(e->pool[SLOT_MTU].n - e->pool[SLOT_MTU].used) >= per_copy * copies;
}

/* ---------- pools ---------- */

static uint32_t
pool_take(cp_engine_t *e, unsigned c)
{
    slot_pool_t *p = &e->pool[c];
    uint32_t id;
    if (p->free != NIL) {
        id = p->free;
        p->free = slot_at(e, id)->next;
    } else if (p->bump < p->n) {
        id = ++p->bump | (uint32_t)c << SLOT_CLASS_SHIFT;
    } else {
        return NIL;
    }
    e->slots_used++;
    p->used++;
    e->st.held_bytes += p->stride;
    return id;
}

/* A slot for an IP datagram of `len` bytes: the smallest class it fits,
 * the next larger one when that one is exhausted. */
static uint32_t
slot_alloc(cp_engine_t *e, size_t len)
{
    uint32_t id = NIL;
    for (unsigned c = slot_class_for(e, len); id == NIL && c < SLOT_CLASSES; c++)
        id = pool_take(e, c);
    return id;
}

static void
slot_release(cp_engine_t *e, uint32_t id)
{
    slot_pool_t *p = &e->pool[SLOT_CLASS(id)];
    RF_ASSERT(e->slots_used > 0);
    slot_at(e, id)->next = p->free;
    p->free = id;
    e->slots_used--;
    p->used--;
    e->st.held_bytes -= p->stride;
}

static sess_t *
sess_alloc(cp_engine_t *e)
{
    uint32_t id;
    if (e->sess_free != NIL) {
        id = e->sess_free;
        e->sess_free = sess_at(e, id)->o_next;
    } else if (e->sess_bump < e->nsess) {
        id = ++e->sess_bump;
    } else {
        return NULL;
    }
    sess_t *s = sess_at(e, id);
    memset(s, 0, sizeof(*s));
    return s;
}

/* ---------- timer wheel ---------- */

static void
wheel_unlink(cp_engine_t *e, sess_t *s)
{
    if (s->w_bucket == 0)
        return;
    RF_ASSERT(s->w_bucket <= WHEEL_SLOTS);
    RF_ASSERT(s->w_prev != NIL ? sess_at(e, s->w_prev)->w_next == sess_id(e, s)
                               : e->wheel[s->w_bucket - 1] == sess_id(e, s));
    RF_ASSERT(s->w_next == NIL || sess_at(e, s->w_next)->w_prev == sess_id(e, s));
    if (s->w_prev != NIL)
        sess_at(e, s->w_prev)->w_next = s->w_next;
    else
        e->wheel[s->w_bucket - 1] = s->w_next;
    if (s->w_next != NIL)
        sess_at(e, s->w_next)->w_prev = s->w_prev;
    s->w_bucket = 0;
    s->w_next = s->w_prev = NIL;
}

static void
wheel_insert(cp_engine_t *e, sess_t *s, uint64_t due_ms)
{
    wheel_unlink(e, s);
    uint64_t tick = due_ms / WHEEL_MS;
    if (tick <= e->wheel_now)
        tick = e->wheel_now + 1;
    uint32_t b = (uint32_t)(tick % WHEEL_SLOTS);
    uint32_t id = sess_id(e, s);
    s->wake_ms = due_ms;
    s->w_bucket = b + 1;
    s->w_prev = NIL;
    s->w_next = e->wheel[b];
    if (s->w_next != NIL)
        sess_at(e, s->w_next)->w_prev = id;
    e->wheel[b] = id;
}

/* The session's next deadline: the earliest of retransmission, causal
 * hold, held RST, TIME_WAIT end and idle timeout. */
static void
rearm(cp_engine_t *e, sess_t *s)
{
    uint64_t due;
    if (s->state == CP_ST_TIME_WAIT) {
        due = s->tw_due;
    } else {
        due = s->last_ms + e->cfg.session_timeout_ms;
        if (s->rto_due && s->rto_due < due)
            due = s->rto_due;
        if (s->causal_due && s->causal_due < due)
            due = s->causal_due;
        if (s->rst_due && s->rst_due < due)
            due = s->rst_due;
    }
    wheel_insert(e, s, due);
}

/* ---------- indexes ---------- */

static void
orig_unlink(cp_engine_t *e, sess_t *s)
{
    if (!s->in_orig)
        return;
    uint32_t b = orig_bucket(e, s->o_cip, s->o_cport, s->o_sip, s->o_sport);
    uint32_t id = sess_id(e, s), *pp = &e->o_heads[b];
    while (*pp != NIL && *pp != id)
        pp = &sess_at(e, *pp)->o_next;
    RF_ASSERT(*pp == id);   /* in_orig: it is on its chain */
    if (*pp == id)
        *pp = s->o_next;
    s->in_orig = 0;
    s->o_next = NIL;
}

static void
repl_unlink(cp_engine_t *e, sess_t *s)
{
    uint32_t b = repl_bucket(e, s->r_cip, s->r_cport, s->t_ip, s->t_port);
    uint32_t id = sess_id(e, s), *pp = &e->r_heads[b];
    while (*pp != NIL && *pp != id)
        pp = &sess_at(e, *pp)->r_next;
    RF_ASSERT(*pp == id);   /* every live session is on its chain */
    if (*pp == id)
        *pp = s->r_next;
    s->r_next = NIL;
}

static sess_t *
repl_find(cp_engine_t *e, uint32_t cip, uint16_t cport, uint32_t tip, uint16_t tport)
{
    for (uint32_t id = e->r_heads[repl_bucket(e, cip, cport, tip, tport)]; id != NIL;) {
        sess_t *s = sess_at(e, id);
        if (s->r_cip == cip && s->r_cport == cport && s->t_ip == tip && s->t_port == tport)
            return s;
        id = s->r_next;
    }
    return NULL;
}

/* ---------- engine lifetime ---------- */

_Static_assert(CP_OUTPUTS_MAX <= sizeof(((cp_stats_t *)0)->out) / sizeof(cp_out_stats_t),
               "a counter block per output");
_Static_assert(CP_OUTPUTS_MAX <= 16, "sess_t.out is 4 bits");

/* cfg -> e->out: the controller's outputs, or one output made of the
 * top-level fields (standalone, or a plan without target groups). */
static void
outputs_load(cp_engine_t *e)
{
    const cp_engine_cfg_t *c = &e->cfg;
    if (c->noutputs == 0 || c->noutputs > CP_OUTPUTS_MAX) {
        cp_output_t *o = &e->out[0];
        memset(o, 0, sizeof(*o));
        for (unsigned i = 0; i < c->nrules; i++) {
            o->target_ip[i] = c->rules[i].target_ip;
            o->target_port[i] = c->rules[i].target_port;
        }
        o->range = c->range;
        o->copies = c->copies;
        o->offset = c->offset;
        o->sample_percent = c->sample_percent;
        o->rate_limit_pps = c->rate_limit_pps;
        e->nout = 1;
    } else {
        memcpy(e->out, c->outputs, c->noutputs * sizeof(c->outputs[0]));
        e->nout = c->noutputs;
    }
    /* Sessions of an output that is gone finish on their own tuple; they
     * must not spend a stale rate bucket. */
    memset(&e->out[e->nout], 0, (CP_OUTPUTS_MAX - e->nout) * sizeof(e->out[0]));
    e->max_sample = 0;
    for (unsigned k = 0; k < e->nout; k++) {
        if (e->out[k].copies == 0)
            e->out[k].copies = 1;
        if (e->out[k].sample_percent == 0 || e->out[k].sample_percent > 100)
            e->out[k].sample_percent = 100;
        if (e->out[k].sample_percent > e->max_sample)
            e->max_sample = e->out[k].sample_percent;
    }
    e->st.outputs = c->noutputs <= CP_OUTPUTS_MAX ? c->noutputs : 0;
}

cp_engine_t *
cp_engine_new(const cp_engine_cfg_t *cfg, const cp_sink_t *sink, void *sink_ctx, uint64_t now_ms)
{
    cp_engine_t *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    e->cfg = *cfg;
    if (e->cfg.copies == 0)
        e->cfg.copies = 1;
    if (e->cfg.mtu < 576)
        e->cfg.mtu = 1500;
    e->sink = *sink;
    e->sink_ctx = sink_ctx;
    /* A quarter of the budget for sessions and indexes, the rest for held
     * packets. calloc of large blocks maps zero pages lazily, so the
     * resident size follows use, not the budget. */
    size_t budget = cfg->memory_bytes ? cfg->memory_bytes : 256u << 20;
    size_t per_sess = sizeof(sess_t) + 4 * sizeof(uint32_t);
    size_t ns = (budget / 4) / per_sess;
    if (ns < 64)
        ns = 64;
    if (ns > (1u << 24))
        ns = 1u << 24;
    uint32_t nb = 1;
    while (nb < ns)
        nb <<= 1;
    /* The held-segment budget: half to the MTU class, the rest shared by
     * the small ones. */
    size_t nsl = 0;
    for (unsigned c = 0; c < SLOT_CLASSES; c++) {
        size_t share = (budget - budget / 4) / 2;
        if (c < SLOT_MTU) {
            e->pool[c].stride = slot_small_stride[c];
            share /= SLOT_MTU;
        } else {
            e->pool[c].stride = (sizeof(slot_t) + e->cfg.mtu + 63) & ~(size_t)63;
        }
        size_t n = share / e->pool[c].stride;
        if (n < 256)
            n = 256;
        if (n > (1u << 26))
            n = 1u << 26;
        e->pool[c].n = (uint32_t)n;
        e->pool[c].mem = calloc(n, e->pool[c].stride);
        nsl += n;
    }
    e->nsess = (uint32_t)ns;
    e->nslots = (uint32_t)nsl;
    e->sess_slot_cap = e->nslots / 2 > MIN_SLOTS_PER_SESS ? e->nslots / 2 : MIN_SLOTS_PER_SESS;
    e->bucket_mask = nb - 1;
    e->sess = calloc(ns, sizeof(sess_t));
    e->o_heads = calloc(nb, sizeof(uint32_t));
    e->r_heads = calloc(nb, sizeof(uint32_t));
    int ok = e->sess && e->o_heads && e->r_heads;
    for (unsigned c = 0; c < SLOT_CLASSES; c++)
        ok = ok && e->pool[c].mem;
    if (!ok) {
        cp_engine_free(e);
        return NULL;
    }
    e->wheel_now = now_ms / WHEEL_MS;
    outputs_load(e);
    for (unsigned k = 0; k < CP_OUTPUTS_MAX; k++) {
        e->tokens_ms[k] = now_ms;
        e->tokens[k] = (double)e->out[k].rate_limit_pps;
    }
    return e;
}

void
cp_engine_free(cp_engine_t *e)
{
    if (e == NULL)
        return;
    free(e->sess);
    for (unsigned c = 0; c < SLOT_CLASSES; c++)
        free(e->pool[c].mem);
    free(e->o_heads);
    free(e->r_heads);
    free(e);
}

void
cp_engine_reconfigure(cp_engine_t *e, const cp_engine_cfg_t *cfg)
{
    size_t budget = e->cfg.memory_bytes;
    uint16_t mtu = e->cfg.mtu;
    e->cfg = *cfg;
    /* Pools were sized at creation; they do not move under live sessions. */
    e->cfg.memory_bytes = budget;
    e->cfg.mtu = mtu;
    if (e->cfg.copies == 0)
        e->cfg.copies = 1;
    e->st.shard_buckets = cp_map_shard_count(&e->cfg.shard);
    outputs_load(e);
}

/* ---------- packet output ---------- */

static void
emit(cp_engine_t *e, const sess_t *s, const uint8_t *ip, size_t len, uint32_t daddr)
{
    e->st.replayed_pkts++;
    e->st.replayed_bytes += len;
    e->st.out[s->out].replayed_pkts++;
    if (e->out[s->out].rate_limit_pps)
        e->tokens[s->out] -= 1.0;
    e->sink.emit(e->sink_ctx, ip, len, daddr);
}

/* Patch ack, TSecr and window-independent fields of a held segment, then
 * send it. The slot keeps the patched copy; the next send patches again. */
static void
send_slot(cp_engine_t *e, sess_t *s, slot_t *sl)
{
    uint8_t *ip = sl->data;
    uint8_t *tcp = ip + (ip[0] & 0x0f) * 4;
    if (!(sl->flags & RF_TH_SYN)) {
        wr32(tcp + 8, s->rcv_nxt);
        tcp[13] |= RF_TH_ACK;
    }
    if (sl->ts_off >= 0) {
        if (seq_gt(rd32(ip + sl->ts_off), s->ts_last))
            s->ts_last = rd32(ip + sl->ts_off);
        if (s->ts_ok && !(sl->flags & RF_TH_SYN))
            wr32(ip + sl->ts_off + 4, s->ts_recent);
    }
    rf_pkt_fix_checksums(ip);
    sl->sent = 1;
    emit(e, s, ip, sl->len, s->t_ip);
}

/* A packet we make up: pure ACK, RST, or synthetic SYN. */
static void
send_synth(cp_engine_t *e, sess_t *s, uint8_t flags, uint32_t seq, int syn_mss)
{
    uint8_t *p = e->scratch;
    int ts = s->ts_ok && !(flags & RF_TH_RST);
    uint16_t tcp_len = (uint16_t)(20 + (ts ? 12 : 0) + (syn_mss ? 4 : 0));
    uint16_t tot = (uint16_t)(20 + tcp_len);
    memset(p, 0, tot);
    p[0] = 0x45;
    wr16(p + 2, tot);
    wr16(p + 4, s->ip_id++);
    wr16(p + 6, 0x4000);   /* DF */
    p[8] = 64;
    p[9] = 6;
    wr32(p + 12, s->r_cip);
    wr32(p + 16, s->t_ip);
    uint8_t *t = p + 20;
    wr16(t, s->r_cport);
    wr16(t + 2, s->t_port);
    wr32(t + 4, seq);
    if (!(flags & (RF_TH_SYN | RST_NO_ACK))) {
        wr32(t + 8, s->rcv_nxt);
        flags |= RF_TH_ACK;
    }
    flags &= (uint8_t)~RST_NO_ACK;
    t[12] = (uint8_t)((tcp_len / 4) << 4);
    t[13] = flags;
    wr16(t + 14, syn_mss ? 65535 : s->c_win);
    uint8_t *o = t + 20;
    if (syn_mss) {
        o[0] = 2;
        o[1] = 4;
        wr16(o + 2, (uint16_t)syn_mss);
        o += 4;
    }
    if (ts) {
        o[0] = 1;
        o[1] = 1;
        o[2] = 8;
        o[3] = 10;
        wr32(o + 4, s->ts_last);
        wr32(o + 8, s->ts_recent);
    }
    rf_pkt_fix_checksums(p);
    emit(e, s, p, tot, s->t_ip);
}

/* ---------- session teardown ---------- */

/* Every write of q_unsent goes through here: n_unsent follows it. */
static inline void
unsent_set(cp_engine_t *e, sess_t *s, uint32_t id)
{
    if (s->q_unsent == NIL && id != NIL)
        e->n_unsent++;
    else if (s->q_unsent != NIL && id == NIL) {
        RF_ASSERT(e->n_unsent > 0);
        e->n_unsent--;
    }
    s->q_unsent = id;
}

static void
queue_drop_all(cp_engine_t *e, sess_t *s)
{
    for (uint32_t id = s->q_head; id != NIL;) {
        uint32_t nx = slot_at(e, id)->next;
        slot_release(e, id);
        id = nx;
    }
    unsent_set(e, s, NIL);
    s->q_head = s->q_tail = NIL;
    s->q_count = 0;
}

static void
sess_free(cp_engine_t *e, sess_t *s)
{
    RF_ASSERT(s->state != CP_ST_FREE && e->st.sess_active > 0);
    wheel_unlink(e, s);
    orig_unlink(e, s);
    repl_unlink(e, s);
    queue_drop_all(e, s);
    if (!e->cfg.has_range && e->sink.tuple)
        e->sink.tuple(e->sink_ctx, 0, s->r_cip, s->r_cport, s->t_ip, s->t_port);
    s->state = CP_ST_FREE;
    s->ack_pending = 0;
    s->o_next = e->sess_free;
    e->sess_free = sess_id(e, s);
    e->st.sess_active--;
}

static void
enter_time_wait(cp_engine_t *e, sess_t *s, uint64_t now_ms)
{
    s->state = CP_ST_TIME_WAIT;
    s->rto_due = 0;
    s->tw_due = now_ms + TIME_WAIT_MS;
    queue_drop_all(e, s);
    e->st.sess_completed++;
    rearm(e, s);
}

/* Abnormal end: reset the target's side so it frees its resources. */
static void
abort_sess(cp_engine_t *e, sess_t *s, uint64_t *counter)
{
    if (s->state != CP_ST_SYN_SENT || s->q_head == NIL || slot_at(e, s->q_head)->sent)
        send_synth(e, s, RF_TH_RST, s->snd_nxt, 0);
    (*counter)++;
    sess_free(e, s);
}

static void
fsm(cp_engine_t *e, sess_t *s, cp_event_t ev, uint64_t now_ms)
{
    int next = cp_fsm_step((cp_state_t)s->state, ev);
    if (next < 0)
        return;
    if (next == CP_ST_TIME_WAIT && s->state != CP_ST_TIME_WAIT) {
        enter_time_wait(e, s, now_ms);
        return;
    }
    s->state = (uint8_t)next;
}

/* ---------- sending held data ---------- */

static void
arm_rto(sess_t *s, uint64_t now_ms)
{
    if (s->snd_una != s->snd_nxt) {
        if (s->rto_due == 0)
            s->rto_due = now_ms + s->rto_ms;
    } else {
        s->rto_due = 0;
    }
}

/* A client RST (wrk and many clients reset at exit) would make the target
 * discard requests it has received but not yet read: the replay runs a
 * little behind the original, so the online server had answered them and
 * the target has not. Hold the RST until the target has acknowledged all
 * our data and has been quiet for RST_QUIET_MS (bounded by
 * RST_HOLD_MAX_MS), so every request is served before the reset. */
static int
rst_must_wait(sess_t *s, uint64_t now_ms)
{
    if (s->rst_deadline == 0)
        s->rst_deadline = now_ms + RST_HOLD_MAX_MS;
    int busy = s->snd_una != s->snd_nxt;
    if (now_ms < s->rst_deadline && (busy || now_ms < s->resp_ms + RST_QUIET_MS)) {
        uint64_t again = busy ? now_ms + RST_QUIET_MS : s->resp_ms + RST_QUIET_MS;
        s->rst_due = again < s->rst_deadline ? again : s->rst_deadline;
        return 1;
    }
    s->rst_due = 0;
    return 0;
}

/* ---------- causal order ----------
 *
 * A client that waited for the online server before sending must not be
 * replayed before the target has answered the same point: PostgreSQL kills
 * a session whose StartupMessage arrives before its answer to SSLRequest,
 * SMTP, MySQL, Expect: 100-continue and every non-pipelining
 * request/response client behave alike. What the client had seen is in
 * the ack field of each captured client segment (online server sequence
 * space); what the server had received when it sent that data is in the
 * ack field of the server's own segments, captured in the reverse
 * direction. Both sides replay the client's sequence space unchanged, so
 * that server ack is directly the point the target must have answered:
 * a segment is sent once the target has sent data (or FIN) acknowledging
 * up to its `wait` point. Lengths differ between versions; ack points do
 * not. A pipelining client's segments carry no new ack, so they inherit
 * the previous wait point and go at once.
 *
 * Without the reverse direction (a one-way capture, or a server segment
 * not seen yet) the wait point is everything sent before the segment:
 * tcpcopy's rule, applied only where the client's ack shows it waited.
 * Every hold is bounded by causal_timeout_ms, then released and counted. */

/* The online server's first sequence number the client acknowledged:
 * from the handshake's ACK, the server's SYN-ACK or, lacking both, the
 * first data segment. */
static void
learn_oack(sess_t *s, uint32_t ack)
{
    if (s->have_oack)
        return;
    s->have_oack = 1;
    s->o_ack0 = s->o_ack_data = ack;
}

/* One online server->client segment (headers suffice): remember how much
 * client data the server had received when it sent the bytes up to `end`.
 * Consecutive segments with the same ack are one turn. A full ring (the
 * client has not caught up: a file replayed at --speed 0, a slow reader)
 * merges its two oldest turns into the later one: the segments that saw
 * the older turn then wait a little longer (never past their own start, so
 * at worst tcpcopy's rule), and the newest turns, which the client's final
 * FIN or RST depends on, stay exact. */
static void
rev_note(sess_t *s, uint32_t end, uint32_t ack)
{
    s->rev_seen = 1;
    if (s->rev_n > 0) {
        unsigned last = s->rev_n - 1u;
        if (!seq_gt(end, s->rev_end[last]))
            return;   /* a retransmission or keep-alive */
        if (s->rev_ack[last] == ack) {
            s->rev_end[last] = end;
            return;
        }
    }
    if (s->rev_n == REV_RING) {
        memmove(s->rev_end, s->rev_end + 1, (REV_RING - 1) * sizeof(uint32_t));
        memmove(s->rev_ack, s->rev_ack + 1, (REV_RING - 1) * sizeof(uint32_t));
        s->rev_n--;
    }
    s->rev_end[s->rev_n] = end;
    s->rev_ack[s->rev_n] = ack;
    s->rev_n++;
}

/* The wait point of a client segment (its seq, and its ack as captured).
 * Called in queue order. */
static uint32_t
causal_wait(cp_engine_t *e, sess_t *s, uint32_t ack, uint32_t seq)
{
    if (e->cfg.causal_timeout_ms == 0 || !seq_gt(ack, s->o_ack_data))
        return s->wait_cur;   /* nothing new seen since the last segment */
    s->o_ack_data = ack;
    uint32_t w = seq;
    if (s->rev_seen) {
        /* The server turn holding the last byte the client had seen:
         * the first one ending at or after its ack. Older ones are done. */
        unsigned i = 0;
        while (i < s->rev_n && seq_lt(s->rev_end[i], ack))
            i++;
        if (i < s->rev_n) {
            w = seq_lt(s->rev_ack[i], seq) ? s->rev_ack[i] : seq;
            e->st.causal_by_reverse++;
        } else {
            e->st.causal_by_fallback++;   /* that turn not captured (yet) */
        }
        memmove(s->rev_end, s->rev_end + i, (s->rev_n - i) * sizeof(uint32_t));
        memmove(s->rev_ack, s->rev_ack + i, (s->rev_n - i) * sizeof(uint32_t));
        s->rev_n = (uint8_t)(s->rev_n - i);
    } else {
        e->st.causal_by_fallback++;
    }
    if (seq_gt(w, s->wait_cur))
        s->wait_cur = w;
    return s->wait_cur;
}

/* The next segment to send waits until the target has answered its wait
 * point, or the hold times out (on_timer). */
static int
causal_must_wait(cp_engine_t *e, sess_t *s, slot_t *sl, uint64_t now_ms)
{
    if (sl->held == HELD_NEW_ACK || sl->held == HELD_NEW) {
        sl->wait = sl->held == HELD_NEW_ACK ? causal_wait(e, s, sl->wait, sl->seq) : s->wait_cur;
        sl->held = HELD_NO;
    }
    if (!seq_gt(sl->wait, s->t_answered)) {
        if (sl->held == HELD_WAITING) {
            sl->held = HELD_DONE;
            e->st.causal_released++;
            s->causal_due = 0;
        }
        return 0;
    }
    if (sl->held == HELD_NO) {
        sl->held = HELD_WAITING;
        e->st.causal_held++;
        s->causal_due = now_ms + e->cfg.causal_timeout_ms;
    }
    return 1;
}

/* The hold ran out: the target did not answer where the online server did
 * (a different version, a lost response). Go on, and say so. */
static void
causal_expire(cp_engine_t *e, sess_t *s)
{
    s->causal_due = 0;
    if (s->q_unsent == NIL)
        return;
    slot_t *sl = slot_at(e, s->q_unsent);
    if (sl->held != HELD_WAITING)
        return;
    sl->held = HELD_DONE;
    s->t_answered = sl->wait;
    e->st.causal_timeouts++;
    if (!s->unordered) {
        s->unordered = 1;
        e->st.causal_sess_unordered++;
    }
}

/* Send what the state, the target's window and the causal order allow. */
static void
pump(cp_engine_t *e, sess_t *s, uint64_t now_ms)
{
    if (s->state == CP_ST_SYN_SENT) {
        if (s->q_head != NIL && !slot_at(e, s->q_head)->sent) {
            slot_t *sl = slot_at(e, s->q_head);
            send_slot(e, s, sl);
            s->snd_nxt = seg_end(sl);
            unsent_set(e, s, sl->next);
        }
        arm_rto(s, now_ms);
        return;
    }
    if (!cp_fsm_can_send((cp_state_t)s->state))
        return;
    while (s->q_unsent != NIL && s->state != CP_ST_TIME_WAIT) {
        slot_t *sl = slot_at(e, s->q_unsent);
        uint32_t end = seg_end(sl);
        if (causal_must_wait(e, s, sl, now_ms))
            break;
        /* Flow control: never more in flight than the target offered;
         * a zero window is probed by the retransmission timer. */
        if (s->snd_una != s->snd_nxt && seq_gt(end, s->snd_una + s->t_wnd))
            break;
        if ((sl->flags & RF_TH_RST) && rst_must_wait(s, now_ms))
            break;
        uint32_t id = s->q_unsent;
        unsent_set(e, s, sl->next);
        send_slot(e, s, sl);
        if (seq_gt(end, s->snd_nxt))
            s->snd_nxt = end;
        if (sl->flags & RF_TH_RST) {
            fsm(e, s, CP_EV_RST_SENT, now_ms);
            return;
        }
        if (sl->flags & RF_TH_FIN)
            fsm(e, s, CP_EV_FIN_SENT, now_ms);
        (void)id;
        if (!cp_fsm_can_send((cp_state_t)s->state))
            break;
    }
    arm_rto(s, now_ms);
}

/* ---------- building held segments ---------- */

/* Copy [payload_off, payload_off + plen) of a captured segment into a new
 * slot with the replayed addresses. Returns the slot id or NIL. */
static uint32_t
make_slot(cp_engine_t *e, sess_t *s, const rf_tcp_view_t *v, uint32_t payload_off, uint16_t plen,
          uint8_t flags)
{
    if (s->q_count >= e->sess_slot_cap)
        return NIL;
    uint32_t id = slot_alloc(e, (size_t)v->ip_hlen + v->tcp_hlen + plen);
    if (id == NIL)
        return NIL;
    slot_t *sl = slot_at(e, id);
    uint16_t hl = (uint16_t)(v->ip_hlen + v->tcp_hlen);
    memcpy(sl->data, v->ip, hl);
    memcpy(sl->data + hl, v->payload + payload_off, plen);
    uint8_t *ip = sl->data, *tcp = ip + v->ip_hlen;
    wr16(ip + 2, (uint16_t)(hl + plen));
    ip[6] = (uint8_t)(ip[6] & 0x40);   /* keep DF only */
    ip[7] = 0;
    wr32(ip + 12, s->r_cip);
    wr32(ip + 16, s->t_ip);
    wr16(tcp, s->r_cport);
    wr16(tcp + 2, s->t_port);
    wr32(tcp + 4, v->seq + payload_off);
    tcp[13] = flags;
    sl->next = NIL;
    sl->seq = v->seq + payload_off;
    sl->len = (uint16_t)(hl + plen);
    sl->plen = plen;
    sl->flags = flags;
    sl->sent = 0;
    sl->held = (v->flags & RF_TH_ACK) ? HELD_NEW_ACK : HELD_NEW;
    sl->wait = v->ack;
    rf_tcp_opts_t o;
    rf_tcp_opts(&o, tcp, v->tcp_hlen);
    sl->ts_off = o.ts_off >= 0 ? (int16_t)(v->ip_hlen + o.ts_off) : -1;
    if ((flags & RF_TH_SYN) && o.mss > e->cfg.mtu - 40) {
        /* Clamp the advertised MSS to the path to the target. */
        for (uint16_t i = 20; i + 4 <= v->tcp_hlen; i++) {
            if (tcp[i] == 2 && tcp[i + 1] == 4) {
                wr16(tcp + i + 2, (uint16_t)(e->cfg.mtu - 40));
                break;
            }
        }
    }
    s->q_count++;
    return id;
}

static void
queue_append(cp_engine_t *e, sess_t *s, uint32_t id)
{
    RF_ASSERT(s->q_tail == NIL || slot_at(e, s->q_tail)->next == NIL);
    if (s->q_tail != NIL)
        slot_at(e, s->q_tail)->next = id;
    else
        s->q_head = id;
    s->q_tail = id;
    if (s->q_unsent == NIL)
        unsent_set(e, s, id);
}

/* Queue a captured data/FIN/RST segment, split to the MTU. Returns 1 when
 * something new was queued, 0 for a duplicate, -1 when out of slots. */
static int
enqueue(cp_engine_t *e, sess_t *s, const rf_tcp_view_t *v)
{
    uint32_t seq = v->seq, off = 0, plen = v->payload_len;
    uint8_t fin = v->flags & RF_TH_FIN, rst = v->flags & RF_TH_RST;
    if (rst) {
        uint32_t id = make_slot(e, s, v, 0, 0, RF_TH_RST | RF_TH_ACK);
        if (id == NIL)
            return -1;
        learn_oack(s, v->ack);
        slot_at(e, id)->seq = s->cap_nxt;
        wr32(slot_at(e, id)->data + v->ip_hlen + 4, s->cap_nxt);
        queue_append(e, s, id);
        return 1;
    }
    /* Client retransmission of what we already hold or sent: skip, or trim
     * the part we have. */
    if (seq_lt(seq, s->cap_nxt)) {
        uint32_t have = s->cap_nxt - seq;
        if (have >= plen && !(fin && have == plen)) {
            return 0;
        }
        if (have > plen)
            have = plen;
        off = have;
        plen -= have;
    }
    if (plen == 0 && !fin)
        return 0;
    /* First data without the handshake's ACK or the server's SYN-ACK:
     * nothing tells what the client had seen before it, so it waits for
     * nothing. (A greeting shows as an ack past the SYN-ACK's.) */
    learn_oack(s, v->ack);
    s->c_win = v->win;
    uint32_t room = (uint32_t)e->cfg.mtu - v->ip_hlen - v->tcp_hlen;
    if (room < 64)
        room = 64;
    do {
        uint32_t chunk = plen > room ? room : plen;
        int last = chunk == plen;
        uint8_t fl = (uint8_t)(v->flags & (RF_TH_PSH | RF_TH_ACK | 0x20 | 0xc0));
        if (last && fin)
            fl |= RF_TH_FIN;
        if (!last)
            fl &= (uint8_t)~RF_TH_PSH;
        uint32_t id = make_slot(e, s, v, off, (uint16_t)chunk, fl);
        if (id == NIL)
            return -1;
        queue_append(e, s, id);
        off += chunk;
        plen -= chunk;
        s->cap_nxt = seg_end(slot_at(e, id));
    } while (plen > 0);
    return 1;
}

/* ---------- admission ---------- */

static int
rate_admit(cp_engine_t *e, unsigned o, uint64_t now_ms)
{
    if (e->out[o].rate_limit_pps == 0)
        return 1;
    double pps = (double)e->out[o].rate_limit_pps;
    e->tokens[o] += (double)(now_ms - e->tokens_ms[o]) * pps / 1000.0;
    e->tokens_ms[o] = now_ms;
    if (e->tokens[o] > pps)
        e->tokens[o] = pps;   /* one second of burst */
    return e->tokens[o] > 0;
}

/* Create copy k of output o of a session for a captured SYN (or,
 * adopting, for a mid-stream segment) of rule ri. */
static sess_t *
sess_create(cp_engine_t *e, const rf_tcp_view_t *v, unsigned ri, unsigned o, unsigned k,
            uint64_t now_ms)
{
    const cp_output_t *out = &e->out[o];
    if (!rate_admit(e, o, now_ms)) {
        e->st.sess_rate_limited++;
        e->st.out[o].sess_rate_limited++;
        return NULL;
    }
    uint32_t cip = e->cfg.has_range ? cp_map_addr(&out->range, v->saddr, k, out->copies)
                                    : v->saddr;
    uint16_t port = cp_map_port(v->sport, out->offset, k, out->copies);
    uint32_t tip = out->target_ip[ri];
    uint16_t tport = out->target_port[ri];
    /* A replayed 4-tuple may be live only once on the target. */
    for (unsigned attempt = 0;; attempt++) {
        sess_t *old = repl_find(e, cip, port, tip, tport);
        if (old == NULL)
            break;
        if (old->state == CP_ST_TIME_WAIT) {
            /* Finished: its grace period is ours to cut short. */
            sess_free(e, old);
            break;
        }
        e->st.port_collisions++;
        if (attempt == 32) {
            e->st.sess_shed++;
            e->st.out[o].sess_shed++;
            return NULL;
        }
        port = cp_map_port_probe(port, attempt);
    }
    sess_t *s = sess_alloc(e);
    if (s == NULL) {
        e->st.sess_shed++;
        e->st.out[o].sess_shed++;
        return NULL;
    }
    s->state = CP_ST_SYN_SENT;
    s->copy = (uint16_t)(k & 0xfffu);
    s->out = (uint16_t)(o & 0xfu);
    s->o_cip = v->saddr;
    s->o_cport = v->sport;
    s->o_sip = v->daddr;
    s->o_sport = v->dport;
    s->r_cip = cip;
    s->r_cport = port;
    s->t_ip = tip;
    s->t_port = tport;
    s->ip_id = (uint16_t)(rf_mix64(now_ms ^ port) & 0xffff);
    s->rto_ms = RTO_SYN_MS;
    s->last_ms = now_ms;
    s->c_win = 65535;
    s->t_wnd = 65535;
    uint32_t id = sess_id(e, s);
    uint32_t ob = orig_bucket(e, s->o_cip, s->o_cport, s->o_sip, s->o_sport);
    s->o_next = e->o_heads[ob];
    e->o_heads[ob] = id;
    s->in_orig = 1;
    uint32_t rb = repl_bucket(e, cip, port, tip, tport);
    s->r_next = e->r_heads[rb];
    e->r_heads[rb] = id;
    e->st.sess_active++;
    e->st.sess_opened++;
    e->st.out[o].sess_opened++;
    if (!e->cfg.has_range && e->sink.tuple)
        e->sink.tuple(e->sink_ctx, 1, cip, port, tip, tport);
    return s;
}

static int
start_with_syn(cp_engine_t *e, sess_t *s, const rf_tcp_view_t *v, uint64_t now_ms)
{
    rf_tcp_opts_t o;
    rf_tcp_opts(&o, v->tcp, v->tcp_hlen);
    s->isn = v->seq;
    s->snd_una = s->snd_nxt = s->cap_nxt = v->seq;
    s->wait_cur = s->t_answered = v->seq;   /* nothing to wait for yet */
    s->c_wscale = o.wscale >= 0 ? (uint8_t)(o.wscale + 1) : 0;   /* 0 = not offered */
    s->ts_ok = o.has_ts;   /* confirmed by the SYN-ACK */
    s->ts_last = o.ts_val;
    uint32_t id = make_slot(e, s, v, 0, 0, v->flags & (RF_TH_SYN | 0xc0));
    if (id == NIL)
        return -1;
    queue_append(e, s, id);
    s->cap_nxt = v->seq + 1;
    pump(e, s, now_ms);
    rearm(e, s);
    return 0;
}

/* Mid-stream adoption: a synthetic SYN one before the first byte. */
static int
start_synthetic(cp_engine_t *e, sess_t *s, const rf_tcp_view_t *v, uint64_t now_ms)
{
    s->isn = v->seq - 1;
    s->snd_una = s->snd_nxt = s->isn;
    s->cap_nxt = v->seq;
    s->wait_cur = s->t_answered = s->isn;
    s->c_wscale = 0;
    s->ts_ok = 0;
    learn_oack(s, v->ack);
    send_synth(e, s, RF_TH_SYN, s->isn, e->cfg.mss ? e->cfg.mss : 1460);
    s->snd_nxt = s->isn + 1;
    arm_rto(s, now_ms);
    return 0;
}

/* ---------- client packets ---------- */

/* Index of the rule a client segment matches, or -1. */
static int
match_rule(const cp_engine_t *e, const rf_tcp_view_t *v)
{
    for (unsigned i = 0; i < e->cfg.nrules; i++) {
        const rf_rule_t *r = &e->cfg.rules[i];
        if (r->online_port == v->dport && (r->online_ip == 0 || r->online_ip == v->daddr))
            return (int)i;
    }
    return -1;
}

/* Output o takes this captured session (its own sample_percent; the
 * packet already passed the widest one). The same hash for every output:
 * two groups at 50% replay the same sessions, which an A/B comparison
 * wants. */
static int
out_sampled(cp_engine_t *e, unsigned o, const rf_tcp_view_t *v)
{
    if (e->out[o].sample_percent >= e->max_sample ||
        cp_map_sampled(v->saddr, v->sport, v->daddr, v->dport, e->out[o].sample_percent))
        return 1;
    e->st.out[o].sess_sampled_out++;
    return 0;
}

/* A segment from an online server (source = a rule's online address). */
static int
is_server_side(const cp_engine_t *e, const rf_tcp_view_t *v)
{
    for (unsigned i = 0; i < e->cfg.nrules; i++) {
        const rf_rule_t *r = &e->cfg.rules[i];
        if (r->online_port == v->sport && (r->online_ip == 0 || r->online_ip == v->saddr))
            return 1;
    }
    return 0;
}

/* The reverse direction: teach every copy of the session what the online
 * server had received when it sent its data. Nothing is sent. */
static void
on_server(cp_engine_t *e, const rf_tcp_view_t *v)
{
    e->st.server_pkts++;
    if (!(v->flags & RF_TH_ACK) || (v->flags & RF_TH_RST))
        return;
    uint32_t ob = orig_bucket(e, v->daddr, v->dport, v->saddr, v->sport);
    for (uint32_t id = e->o_heads[ob]; id != NIL; id = sess_at(e, id)->o_next) {
        sess_t *s = sess_at(e, id);
        if (s->o_cip != v->daddr || s->o_cport != v->dport || s->o_sip != v->saddr ||
            s->o_sport != v->sport || s->state == CP_ST_TIME_WAIT)
            continue;
        if (v->flags & RF_TH_SYN) {
            /* Before any client data, the SYN-ACK says where the server's
             * data starts: a first request acking past it saw a greeting. */
            if (v->ack == s->isn + 1 && s->cap_nxt == s->isn + 1)
                learn_oack(s, v->seq + 1);
            s->rev_seen = 1;
            continue;
        }
        uint32_t end = v->seq + v->payload_len + ((v->flags & RF_TH_FIN) ? 1u : 0u);
        if (end != v->seq)
            rev_note(s, end, v->ack);
    }
}

static void
count_midstream(cp_engine_t *e, const rf_tcp_view_t *v)
{
    e->st.midstream_pkts++;
    uint64_t h = rf_hash_tuple(v->saddr, v->sport, v->daddr, v->dport, 5) | 1;
    uint64_t *c = &e->skip_cache[h % SKIP_CACHE];
    if (*c != h) {
        *c = h;
        e->st.sess_skipped_midstream++;
    }
}

/* 1 if a session of this original client->server flow is open (not in
 * TIME_WAIT). */
static int
has_live_orig(cp_engine_t *e, const rf_tcp_view_t *v)
{
    uint32_t ob = orig_bucket(e, v->saddr, v->sport, v->daddr, v->dport);
    for (uint32_t id = e->o_heads[ob]; id != NIL; id = sess_at(e, id)->o_next) {
        const sess_t *s = sess_at(e, id);
        if (s->o_cip == v->saddr && s->o_cport == v->sport && s->o_sip == v->daddr &&
            s->o_sport == v->dport && s->state != CP_ST_TIME_WAIT)
            return 1;
    }
    return 0;
}

/* The filters a captured client packet passes before any session sees it
 * (well-formed, a rule, this agent's shard and capture-group buckets, the
 * widest output's sample), each refusal counted. Returns the rule index, or
 * -1 when the packet stops here (a server reply went to on_server). */
static int
client_admit(cp_engine_t *e, const uint8_t *ip, size_t len, rf_tcp_view_t *v)
{
    /* The view is read only here; slots get their own rewritten copies.
     * The reverse direction may be captured headers only; a client
     * segment needs its payload. */
    if (rf_tcp_parse(v, (uint8_t *)(uintptr_t)ip, len, 0) != RF_PKT_OK) {
        e->st.bad_pkts++;
        return -1;
    }
    int ri = match_rule(e, v);
    if (ri < 0) {
        if (is_server_side(e, v))
            on_server(e, v);
        else
            e->st.no_rule++;
        return -1;
    }
    if (v->tot_len > len) {
        e->st.bad_pkts++;
        return -1;
    }
    if (!cp_map_shard_mine(v->saddr, v->sport, v->daddr, v->dport, e->cfg.shard_idx,
                           e->cfg.shard_n)) {
        e->st.shard_out++;
        return -1;
    }
    if (!cp_map_shard_owned(&e->cfg.shard, v->saddr, v->sport, v->daddr, v->dport)) {
        /* Another capture-group member's flow: new ones are its to take,
         * but a flow this engine already replays (its bucket moved in a
         * re-shard) is finished here; the new owner skips it mid-stream. */
        int syn_only = (v->flags & (RF_TH_SYN | RF_TH_ACK)) == RF_TH_SYN;
        if (syn_only || !has_live_orig(e, v)) {
            e->st.shard_out++;
            return -1;
        }
        e->st.shard_finishing++;
    }
    if (!cp_map_sampled(v->saddr, v->sport, v->daddr, v->dport, e->max_sample)) {
        e->st.sampled_out++;
        return -1;
    }
    return ri;
}

/* What a client packet did to the live copies of its original session. */
typedef struct {
    int found, queued, dup, failed;
} walk_t;

/* Hand the packet to every copy of its original session: a SYN retransmit
 * or a port reuse, a pure ACK (learned, not queued), or data to queue and
 * pump. */
static walk_t
client_to_copies(cp_engine_t *e, const rf_tcp_view_t *v, int syn, int pure_ack, uint64_t now_ms)
{
    walk_t w = { 0, 0, 0, 0 };
    uint32_t ob = orig_bucket(e, v->saddr, v->sport, v->daddr, v->dport);
    for (uint32_t id = e->o_heads[ob], nx; id != NIL; id = nx) {
        sess_t *s = sess_at(e, id);
        nx = s->o_next;
        if (s->o_cip != v->saddr || s->o_cport != v->sport || s->o_sip != v->daddr ||
            s->o_sport != v->dport)
            continue;
        w.found = 1;
        if (syn) {
            if (v->seq == s->isn) {
                w.dup = 1;       /* the client retransmitted its SYN */
                continue;
            }
            /* A new connection on a reused client port: the old replay
             * finishes on its own tuple; the new one gets a fresh one. */
            orig_unlink(e, s);
            w.found = 0;
            continue;
        }
        if (pure_ack) {
            if (s->state != CP_ST_TIME_WAIT)
                learn_oack(s, v->ack);
            continue;
        }
        if (s->state == CP_ST_TIME_WAIT) {
            w.dup = 1;
            continue;
        }
        int r = enqueue(e, s, v);
        if (r < 0) {
            w.failed = 1;
            abort_sess(e, s, &e->st.sess_aborted);
            continue;
        }
        if (r == 0) {
            w.dup = 1;
            continue;
        }
        w.queued = 1;
        s->last_ms = now_ms;
        pump(e, s, now_ms);
        if (s->state != CP_ST_FREE)
            rearm(e, s);
    }
    return w;
}

/* A packet no live session takes opens `copies` replays per output: from
 * its SYN, or (--adopt-midstream) from a synthetic handshake before a data
 * segment. The packet counts as accepted if any replay opened. */
static void
open_replays(cp_engine_t *e, const rf_tcp_view_t *v, unsigned ri, int from_syn, uint64_t now_ms)
{
    int made = 0;
    for (unsigned o = 0; o < e->nout; o++) {
        if (!out_sampled(e, o, v))
            continue;
        for (unsigned k = 0; k < e->out[o].copies; k++) {
            sess_t *s = sess_create(e, v, ri, o, k, now_ms);
            if (s == NULL)
                continue;
            if (from_syn) {
                if (start_with_syn(e, s, v, now_ms) != 0) {
                    e->st.sess_shed++;
                    e->st.out[o].sess_shed++;
                    sess_free(e, s);
                    continue;
                }
            } else {
                start_synthetic(e, s, v, now_ms);
                if (enqueue(e, s, v) < 0) {
                    abort_sess(e, s, &e->st.sess_aborted);
                    continue;
                }
                rearm(e, s);
            }
            made = 1;
        }
    }
    if (made) {
        e->st.accepted_pkts++;
        e->st.orig_sessions++;
    } else {
        e->st.shed_pkts++;
    }
}

void
cp_engine_on_client(cp_engine_t *e, const uint8_t *ip, size_t len, uint64_t now_ms)
{
    e->st.cap_pkts++;
    e->st.cap_bytes += len;
    rf_tcp_view_t v;
    int ri = client_admit(e, ip, len, &v);
    if (ri < 0)
        return;
    int syn = (v.flags & (RF_TH_SYN | RF_TH_ACK)) == RF_TH_SYN;
    int pure_ack = v.payload_len == 0 && !(v.flags & (RF_TH_SYN | RF_TH_FIN | RF_TH_RST));
    walk_t w = client_to_copies(e, &v, syn, pure_ack, now_ms);
    if (w.found && pure_ack) {
        e->st.pure_acks++;
        return;
    }
    if (w.queued) {
        e->st.accepted_pkts++;
        return;
    }
    if (w.found && !syn) {
        if (w.failed)
            e->st.shed_pkts++;
        else
            e->st.client_dups++;
        return;
    }
    if (syn && w.dup) {
        e->st.client_dups++;
        return;
    }
    /* No live session for this packet. */
    if (syn) {
        open_replays(e, &v, (unsigned)ri, 1, now_ms);
        return;
    }
    if (pure_ack) {
        e->st.pure_acks++;
        return;
    }
    if (!e->cfg.adopt_midstream || (v.flags & RF_TH_RST) || v.payload_len == 0) {
        count_midstream(e, &v);
        return;
    }
    open_replays(e, &v, (unsigned)ri, 0, now_ms);
}

/* ---------- responses ---------- */

static void
want_ack(cp_engine_t *e, sess_t *s, uint64_t now_ms)
{
    if (s->ack_pending)
        return;
    if (e->npending == PENDING_MAX) {
        send_synth(e, s, 0, s->snd_nxt, 0);
        return;
    }
    s->ack_pending = 1;
    e->pending[e->npending++] = sess_id(e, s);
    (void)now_ms;
}

/* Drop held segments the target has acknowledged. */
static void
ack_advance(cp_engine_t *e, sess_t *s, uint32_t ack, uint64_t now_ms)
{
    s->snd_una = ack;
    s->retries = 0;
    s->rto_ms = RTO_DATA_MS;
    s->dupacks = 0;
    int fin_acked = 0;
    while (s->q_head != NIL && s->q_head != s->q_unsent) {
        slot_t *sl = slot_at(e, s->q_head);
        if (!seq_le(seg_end(sl), ack))
            break;
        if (sl->flags & RF_TH_FIN)
            fin_acked = 1;
        uint32_t id = s->q_head;
        s->q_head = sl->next;
        if (s->q_head == NIL)
            s->q_tail = NIL;
        slot_release(e, id);
        s->q_count--;
    }
    s->rto_due = 0;
    arm_rto(s, now_ms);
    if (fin_acked)
        fsm(e, s, CP_EV_FIN_ACKED, now_ms);
}

static void
retransmit_head(cp_engine_t *e, sess_t *s)
{
    if (s->q_head == NIL || s->q_head == s->q_unsent)
        return;
    slot_t *sl = slot_at(e, s->q_head);
    if (sl->flags & RF_TH_SYN)
        e->st.syn_retransmits++;
    else
        e->st.retransmits++;
    send_slot(e, s, sl);
}

static void
stale_reset(cp_engine_t *e, sess_t *s, uint32_t seq, uint64_t now_ms)
{
    e->st.stale_resets++;
    send_synth(e, s, RF_TH_RST | RST_NO_ACK, seq, 0);
    if (s->q_head != NIL && (slot_at(e, s->q_head)->flags & RF_TH_SYN)) {
        e->st.syn_retransmits++;
        send_slot(e, s, slot_at(e, s->q_head));
    }
    rearm(e, s);
    (void)now_ms;
}

/* The target reset us. A reset after everything was delivered is how some
 * servers close; one with data still held is a loss. */
static void
resp_rst(cp_engine_t *e, sess_t *s, uint64_t now_ms)
{
    if (s->state == CP_ST_TIME_WAIT)
        return;
    int clean = s->q_unsent == NIL && s->snd_una == s->snd_nxt && s->state != CP_ST_SYN_SENT;
    if (clean) {
        enter_time_wait(e, s, now_ms);
    } else {
        e->st.sess_reset++;
        sess_free(e, s);
    }
}

/* The target's SYN-ACK: learn its ISN, window scale, timestamps and MSS,
 * then complete the handshake ourselves and start sending. */
static void
resp_synack(cp_engine_t *e, sess_t *s, const rf_tcp_view_t *v, const rf_tcp_opts_t *o,
            uint64_t now_ms)
{
    if (s->state == CP_ST_SYN_SENT) {
        if (v->ack != s->isn + 1) {
            /* Not an answer to our SYN: reset it (RFC 793) and ask again. */
            stale_reset(e, s, v->ack, now_ms);
            return;
        }
        s->t_isn = v->seq;
        s->rcv_nxt = v->seq + 1;
        s->t_wscale = (s->c_wscale && o->wscale >= 0) ? (uint8_t)o->wscale : 0;
        s->ts_ok = s->ts_ok && o->has_ts;
        if (o->has_ts)
            s->ts_recent = o->ts_val;
        s->t_mss = o->mss;
        s->t_wnd = v->win;   /* never scaled in a SYN-ACK */
        if (s->t_wnd == 0)
            s->t_wnd = 1;
        /* We acknowledge every response byte at once, so a wide
         * window costs nothing and never throttles the target. */
        s->c_win = 65535;
        ack_advance(e, s, v->ack, now_ms);
        fsm(e, s, CP_EV_SYNACK, now_ms);
        /* Complete the handshake ourselves: the client's own third
         * packet was usually captured long before this SYN-ACK. */
        send_synth(e, s, 0, s->snd_nxt, 0);
        pump(e, s, now_ms);
    } else if (s->state != CP_ST_TIME_WAIT) {
        want_ack(e, s, now_ms);   /* our ACK was lost */
    }
    rearm(e, s);
}

void
cp_engine_on_response(cp_engine_t *e, const uint8_t *hdr, size_t len, uint64_t now_ms)
{
    rf_tcp_view_t v;
    if (rf_tcp_parse(&v, (uint8_t *)(uintptr_t)hdr, len, 0) != RF_PKT_OK) {
        e->st.resp_bad++;
        return;
    }
    sess_t *s = repl_find(e, v.daddr, v.dport, v.saddr, v.sport);
    if (s == NULL) {
        e->st.resp_unmatched++;
        return;
    }
    e->st.resp_received++;
    e->st.out[s->out].resp_received++;
    s->last_ms = now_ms;
    rf_tcp_opts_t o;
    rf_tcp_opts(&o, v.tcp, v.tcp_hlen);

    if (v.flags & RF_TH_RST) {
        resp_rst(e, s, now_ms);
        return;
    }
    if ((v.flags & (RF_TH_SYN | RF_TH_ACK)) == (RF_TH_SYN | RF_TH_ACK)) {
        resp_synack(e, s, &v, &o, now_ms);
        return;
    }
    if (s->state == CP_ST_SYN_SENT) {
        /* The target still holds an older connection on this 4-tuple and
         * answers our SYN with a challenge ACK: reset that connection with
         * the sequence it expects, then send the SYN again at once. */
        if (v.flags & RF_TH_ACK)
            stale_reset(e, s, v.ack, now_ms);
        return;
    }

    if (o.has_ts && s->ts_ok && seq_ge(o.ts_val, s->ts_recent))
        s->ts_recent = o.ts_val;
    if (v.flags & RF_TH_ACK) {
        uint32_t wnd = (uint32_t)v.win << s->t_wscale;
        if (seq_gt(v.ack, s->snd_una) && seq_le(v.ack, s->snd_nxt)) {
            s->t_wnd = wnd;
            ack_advance(e, s, v.ack, now_ms);
        } else if (v.ack == s->snd_una) {
            s->t_wnd = wnd;
            if (s->snd_una != s->snd_nxt && v.payload_len == 0 && !(v.flags & RF_TH_FIN) &&
                ++s->dupacks == 3)
                retransmit_head(e, s);
        }
    }
    if (s->state == CP_ST_TIME_WAIT && !(v.flags & RF_TH_FIN)) {
        rearm(e, s);
        return;
    }
    uint32_t end = v.seq + v.payload_len + ((v.flags & RF_TH_FIN) ? 1u : 0u);
    if (v.payload_len > 0 || (v.flags & RF_TH_FIN)) {
        /* Acknowledge the highest byte seen: a response segment the
         * intercept missed is acked anyway, so it never stalls the target. */
        if (seq_gt(end, s->rcv_nxt))
            s->rcv_nxt = end;
        s->resp_ms = now_ms;
        want_ack(e, s, now_ms);
        /* The target's answer to everything it had received: it opens the
         * causal holds up to that point. */
        if ((v.flags & RF_TH_ACK) && seq_gt(v.ack, s->t_answered) && seq_le(v.ack, s->snd_nxt))
            s->t_answered = v.ack;
    }
    if (v.flags & RF_TH_FIN)
        fsm(e, s, CP_EV_TARGET_FIN, now_ms);
    if (s->state != CP_ST_TIME_WAIT)
        pump(e, s, now_ms);
    rearm(e, s);
}

void
cp_engine_flush(cp_engine_t *e, uint64_t now_ms)
{
    for (uint32_t i = 0; i < e->npending; i++) {
        sess_t *s = sess_at(e, e->pending[i]);
        if (!s->ack_pending)
            continue;
        s->ack_pending = 0;
        if (s->state == CP_ST_FREE)
            continue;
        send_synth(e, s, 0, s->snd_nxt, 0);
    }
    e->npending = 0;
    (void)now_ms;
}

/* ---------- timers ---------- */

static void
on_timer(cp_engine_t *e, sess_t *s, uint64_t now_ms)
{
    if (s->state == CP_ST_TIME_WAIT) {
        if (now_ms >= s->tw_due) {
            sess_free(e, s);
        } else {
            rearm(e, s);
        }
        return;
    }
    if (now_ms >= s->last_ms + e->cfg.session_timeout_ms) {
        abort_sess(e, s, &e->st.sess_timedout);
        return;
    }
    if (s->causal_due && now_ms >= s->causal_due) {
        causal_expire(e, s);
        pump(e, s, now_ms);
        if (s->state == CP_ST_TIME_WAIT) {
            rearm(e, s);
            return;
        }
    }
    if (s->rst_due && now_ms >= s->rst_due && s->state != CP_ST_TIME_WAIT) {
        pump(e, s, now_ms);   /* a held RST may go now */
        if (s->state == CP_ST_TIME_WAIT) {
            rearm(e, s);
            return;
        }
    }
    if (s->rto_due && now_ms >= s->rto_due) {
        if (s->retries >= MAX_RETRIES) {
            abort_sess(e, s, &e->st.sess_timedout);
            return;
        }
        s->retries++;
        retransmit_head(e, s);
        s->rto_ms = s->rto_ms * 2 > RTO_MAX_MS ? RTO_MAX_MS : s->rto_ms * 2;
        s->rto_due = now_ms + s->rto_ms;
    }
    rearm(e, s);
}

void
cp_engine_tick(cp_engine_t *e, uint64_t now_ms)
{
    uint64_t target = now_ms / WHEEL_MS;
    /* Bounded catch-up: after a long stall, one lap covers every bucket. */
    if (target > e->wheel_now + WHEEL_SLOTS)
        e->wheel_now = target - WHEEL_SLOTS;
    while (e->wheel_now < target) {
        e->wheel_now++;
        uint32_t b = (uint32_t)(e->wheel_now % WHEEL_SLOTS);
        uint32_t id = e->wheel[b];
        /* Detach the bucket first: handlers re-insert into other buckets
         * (or this one, a lap later). */
        e->wheel[b] = NIL;
        while (id != NIL) {
            sess_t *s = sess_at(e, id);
            uint32_t nx = s->w_next;
            s->w_bucket = 0;
            s->w_next = s->w_prev = NIL;
            if (nx != NIL)
                sess_at(e, nx)->w_prev = NIL;
            if (s->wake_ms > now_ms)
                wheel_insert(e, s, s->wake_ms);
            else
                on_timer(e, s, now_ms);
            id = nx;
        }
    }
}

void
cp_engine_abort_all(cp_engine_t *e, uint64_t now_ms)
{
    for (uint32_t i = 0; i < e->sess_bump; i++) {
        sess_t *s = &e->sess[i];
        if (s->state == CP_ST_FREE)
            continue;
        if (s->state == CP_ST_TIME_WAIT) {
            sess_free(e, s);
            continue;
        }
        abort_sess(e, s, &e->st.sess_aborted);
    }
    (void)now_ms;
}

/* ---------- trimming (idle) ---------- */

#define TRIM_MIN_BYTES (256u << 10)   /* below this a trim is not worth its page faults */

/* Hand the whole pages inside [p, p + len) back to the kernel; they read
 * as zeros again, as calloc gave them. Returns the bytes released. */
static size_t
release_pages(void *p, size_t len)
{
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)p + pg - 1) & ~(pg - 1);
    uintptr_t b = ((uintptr_t)p + len) & ~(pg - 1);
    if (len == 0 || b <= a || madvise((void *)a, b - a, MADV_DONTNEED) != 0)
        return 0;
    return b - a;
}

size_t
cp_engine_trim(cp_engine_t *e)
{
    if (e->st.sess_active != 0 || e->npending != 0)
        return 0;
    RF_ASSERT(e->slots_used == 0);
    size_t touched = (size_t)e->sess_bump * sizeof(sess_t);
    for (unsigned c = 0; c < SLOT_CLASSES; c++)
        touched += (size_t)e->pool[c].bump * e->pool[c].stride;
    if (touched < TRIM_MIN_BYTES)
        return 0;
    /* No session: the free lists hold every id handed out, the indexes
     * are all NIL (zero pages) and the wheel is empty. Start over. */
    size_t n = release_pages(e->sess, (size_t)e->sess_bump * sizeof(sess_t));
    e->sess_bump = 0;
    e->sess_free = NIL;
    for (unsigned c = 0; c < SLOT_CLASSES; c++) {
        slot_pool_t *p = &e->pool[c];
        n += release_pages(p->mem, (size_t)p->bump * p->stride);
        p->bump = 0;
        p->free = NIL;
    }
    size_t nb = (size_t)e->bucket_mask + 1;
    n += release_pages(e->o_heads, nb * sizeof(uint32_t));
    n += release_pages(e->r_heads, nb * sizeof(uint32_t));
    return n;
}

/* ---------- invariants (tests, fuzz_engine) ---------- */

/* RF_CHECK (rf_assert.h): a false condition writes why and returns -1. */

/* Free list of one slot class: ids in range and of the class, no cycle. */
static int
check_pool(const cp_engine_t *e, unsigned c, uint32_t *used, char *why, size_t len)
{
    const slot_pool_t *p = &e->pool[c];
    RF_CHECK(p->bump <= p->n, "pool %u: bump %u over %u", c, p->bump, p->n);
    uint32_t nfree = 0;
    for (uint32_t id = p->free; id != NIL; nfree++) {
        RF_CHECK(nfree < p->bump, "pool %u: free list longer than its slots (cycle)", c);
        RF_CHECK(SLOT_CLASS(id) == c && SLOT_IDX(id) <= p->bump, "pool %u: free id %#x", c, id);
        id = ((const slot_t *)(const void *)(p->mem + (size_t)(SLOT_IDX(id) - 1) *
                                                          p->stride))->next;
    }
    *used = p->bump - nfree;
    RF_CHECK(*used == p->used, "pool %u: %u slots taken, used says %u", c, *used, p->used);
    return 0;
}

/* One live session's queue: its length, tail and unsent mark. */
static int
check_queue(cp_engine_t *e, const sess_t *s, uint32_t sid, char *why, size_t len)
{
    uint32_t n = 0, last = NIL;
    int unsent_seen = s->q_unsent == NIL;
    for (uint32_t id = s->q_head; id != NIL; id = slot_at(e, id)->next) {
        RF_CHECK(n++ < e->nslots, "session %u: queue cycle", sid);
        unsent_seen |= id == s->q_unsent;
        last = id;
    }
    RF_CHECK(n == s->q_count, "session %u: queue holds %u, q_count %u", sid, n, s->q_count);
    RF_CHECK(last == s->q_tail, "session %u: q_tail is not the last slot", sid);
    RF_CHECK(unsent_seen, "session %u: q_unsent not in its queue", sid);
    return 0;
}

/* One index: every chain entry live, on the bucket it hashes to, and the
 * entries counted. */
static int
check_index(cp_engine_t *e, int orig, uint32_t *count, char *why, size_t len)
{
    const uint32_t *heads = orig ? e->o_heads : e->r_heads;
    *count = 0;
    for (uint32_t b = 0; b <= e->bucket_mask; b++) {
        for (uint32_t id = heads[b]; id != NIL;) {
            RF_CHECK(id <= e->sess_bump && ++*count <= e->sess_bump, "%s index: bad id or cycle",
                  orig ? "orig" : "repl");
            const sess_t *s = sess_at(e, id);
            RF_CHECK(s->state != CP_ST_FREE, "%s index: free session %u", orig ? "orig" : "repl", id);
            uint32_t want = orig ? orig_bucket(e, s->o_cip, s->o_cport, s->o_sip, s->o_sport)
                                 : repl_bucket(e, s->r_cip, s->r_cport, s->t_ip, s->t_port);
            RF_CHECK(want == b && (!orig || s->in_orig), "%s index: session %u in bucket %u",
                  orig ? "orig" : "repl", id, b);
            id = orig ? s->o_next : s->r_next;
        }
    }
    return 0;
}

static int
check_wheel(cp_engine_t *e, uint32_t *count, char *why, size_t len)
{
    *count = 0;
    for (uint32_t b = 0; b < WHEEL_SLOTS; b++) {
        uint32_t prev = NIL;
        for (uint32_t id = e->wheel[b]; id != NIL;) {
            RF_CHECK(id <= e->sess_bump && ++*count <= e->sess_bump, "wheel: bad id or cycle");
            const sess_t *s = sess_at(e, id);
            RF_CHECK(s->w_bucket == b + 1 && s->w_prev == prev && s->state != CP_ST_FREE,
                  "wheel: session %u in bucket %u has bucket %u, prev %u", id, b,
                  s->w_bucket, s->w_prev);
            prev = id;
            id = s->w_next;
        }
    }
    return 0;
}

uint32_t
cp_engine_waiting(const cp_engine_t *e)
{
    return e->n_unsent;
}

int
cp_engine_check(cp_engine_t *e, char *why, size_t len)
{
    RF_CHECK(e->sess_bump <= e->nsess, "sessions: bump %u over %u", e->sess_bump, e->nsess);
    uint32_t nfree = 0;
    for (uint32_t id = e->sess_free; id != NIL; nfree++) {
        RF_CHECK(nfree < e->sess_bump && id <= e->sess_bump, "sessions: free list cycle or id");
        RF_CHECK(sess_at(e, id)->state == CP_ST_FREE, "sessions: live session %u on free list", id);
        id = sess_at(e, id)->o_next;
    }
    uint32_t live = 0, in_orig = 0, on_wheel = 0, queued = 0, unsent = 0;
    for (uint32_t id = 1; id <= e->sess_bump; id++) {
        const sess_t *s = sess_at(e, id);
        if (s->state == CP_ST_FREE) {
            RF_CHECK(s->w_bucket == 0 && s->q_count == 0, "free session %u still linked", id);
            continue;
        }
        live++;
        in_orig += s->in_orig;
        on_wheel += s->w_bucket != 0;
        queued += s->q_count;
        unsent += s->q_unsent != NIL;
        if (check_queue(e, s, id, why, len) != 0)
            return -1;
    }
    RF_CHECK(live + nfree == e->sess_bump, "sessions: %u live + %u free != %u", live, nfree,
          e->sess_bump);
    RF_CHECK(live == e->st.sess_active, "sessions: %u live, sess_active %llu", live,
          (unsigned long long)e->st.sess_active);
    uint32_t used = 0, n;
    for (unsigned c = 0; c < SLOT_CLASSES; c++) {
        if (check_pool(e, c, &n, why, len) != 0)
            return -1;
        used += n;
    }
    RF_CHECK(used == e->slots_used, "slots: %u in use in the classes, slots_used %u", used,
             e->slots_used);
    uint64_t held = 0;
    for (unsigned c = 0; c < SLOT_CLASSES; c++)
        held += (uint64_t)e->pool[c].used * e->pool[c].stride;
    RF_CHECK(held == e->st.held_bytes, "slots: %llu bytes in use, held_bytes %llu",
             (unsigned long long)held, (unsigned long long)e->st.held_bytes);
    RF_CHECK(queued == e->slots_used, "slots: %u queued, slots_used %u", queued, e->slots_used);
    RF_CHECK(unsent == e->n_unsent, "sessions: %u with unsent segments, n_unsent %u", unsent,
             e->n_unsent);
    if (check_index(e, 1, &n, why, len) != 0)
        return -1;
    RF_CHECK(n == in_orig, "orig index: %u entries, %u sessions in it", n, in_orig);
    if (check_index(e, 0, &n, why, len) != 0)
        return -1;
    RF_CHECK(n == live, "repl index: %u entries, %u live sessions", n, live);
    if (check_wheel(e, &n, why, len) != 0)
        return -1;
    RF_CHECK(n == on_wheel, "wheel: %u entries, %u sessions on it", n, on_wheel);
    RF_CHECK(e->npending <= PENDING_MAX, "pending: %u", e->npending);
    for (uint32_t i = 0; i < e->npending; i++)
        RF_CHECK(e->pending[i] != NIL && e->pending[i] <= e->sess_bump, "pending[%u] %u", i,
              e->pending[i]);
    return 0;
}
