/* ic_park.h -- a short FIFO for early SYN-ACKs/RSTs that have no owner yet
 * (pure). A SYN-ACK can beat its copy agent's Hello or TupleRegister to the
 * intercept (a reconnecting agent, notes 3.6); parking it for a few tens of
 * milliseconds saves the copy agent a SYN retransmit. Capped ring of header
 * copies; entries older than ttl_ms are dropped and counted by the caller.
 * Owns only header copies, never capture memory. */
#ifndef IC_PARK_H
#define IC_PARK_H

#include <stddef.h>
#include <stdint.h>

#include "ic_batch.h"

typedef struct {
    uint64_t t_ms;
    uint16_t len;                 /* 0 = delivered already (a hole) */
    uint8_t  hdr[IC_HDR_MAX];
} ic_park_ent_t;

typedef struct {
    ic_park_ent_t *ring;
    size_t         cap, head, n;  /* n counts slots in use, holes included */
    size_t         live;          /* slots holding an undelivered header */
    uint64_t       ttl_ms;
} ic_park_t;

/* 0 or -ENOMEM. cap 0 disables parking (every put fails). */
int  ic_park_init(ic_park_t *p, size_t cap, uint64_t ttl_ms);
void ic_park_fini(ic_park_t *p);

/* Copy a validated header in. 0, or RF_EFULL when the ring is full. */
int  ic_park_put(ic_park_t *p, const ic_hdr_t *h, uint64_t now_ms);

/* Drop entries parked ttl_ms ago or earlier; returns how many live ones. */
size_t ic_park_expire(ic_park_t *p, uint64_t now_ms);

/* Offer every live entry to `fn` (oldest first). fn returns 1 when it took
 * the header (it must copy it), 0 to leave it parked. Returns how many were
 * taken. fn must not call back into this ring. */
typedef int (*ic_park_fn)(void *ctx, const ic_hdr_t *h);
size_t ic_park_retry(ic_park_t *p, ic_park_fn fn, void *ctx);

/* The ring agrees with its counts: n within cap, live = entries holding a
 * header, each at most IC_HDR_MAX. For tests and fuzzers. 0, or -1 with what is wrong in why. */
int    ic_park_check(const ic_park_t *p, char *why, size_t len);

#endif
