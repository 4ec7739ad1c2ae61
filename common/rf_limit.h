/* rf_limit.h -- flood bookkeeping for listeners (pure, no uv):
 *   rf_srcmap  -- pending (not yet authenticated) connections per source IP,
 *                 so one host cannot take every pre-auth slot;
 *   rf_ratelog -- one log line per interval for a refusal storm, with the
 *                 count of the ones not logged (a flood must not flood the
 *                 log too).
 * The listener owns the policy (caps, which pending connection to drop);
 * these only count. */
#ifndef RF_LIMIT_H
#define RF_LIMIT_H

#include <stddef.h>
#include <stdint.h>

/* A small array: its size is the global pre-auth cap (at most that many
 * distinct sources can be pending at once). */
typedef struct {
    struct { uint32_t ip, n; } *e;
    size_t n, cap;
} rf_srcmap_t;

int    rf_srcmap_init(rf_srcmap_t *m, size_t cap);   /* 0 or -ENOMEM */
void   rf_srcmap_fini(rf_srcmap_t *m);
/* Pending count of ip. */
uint32_t rf_srcmap_get(const rf_srcmap_t *m, uint32_t ip);
/* +1 for ip. RF_EFULL if ip already has per_ip pending or the map is full. */
int    rf_srcmap_inc(rf_srcmap_t *m, uint32_t ip, uint32_t per_ip);
void   rf_srcmap_dec(rf_srcmap_t *m, uint32_t ip);   /* unknown ip: no-op */
/* The source with the most entries (the one to shed first); 0 if empty. */
uint32_t rf_srcmap_busiest(const rf_srcmap_t *m);

typedef struct {
    uint64_t interval_ms;
    uint64_t next_ms;      /* the next refusal at or after this is logged */
    uint64_t suppressed;   /* refusals not logged since the last line */
    uint64_t total;
} rf_ratelog_t;

void rf_ratelog_init(rf_ratelog_t *r, uint64_t interval_ms);
/* One refusal at now. Returns 1 if the caller logs it now; then
 * *suppressed is how many were not logged before it (and is reset). */
int  rf_ratelog_hit(rf_ratelog_t *r, uint64_t now_ms, uint64_t *suppressed);
/* " (N more not logged)" or "" into buf, for the logged line. */
const char *rf_ratelog_note(char *buf, unsigned long n, uint64_t more);
/* From a periodic tick: refusals not logged yet whose interval is over
 * (then reset; the caller logs one summary line), else 0. */
uint64_t rf_ratelog_flush(rf_ratelog_t *r, uint64_t now_ms);

#endif
