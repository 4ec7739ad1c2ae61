/* rd_agent.h -- agent registry: one record per agent id ever seen by this
 * process (or restored from state), with its live connection, liveness,
 * acknowledged generation and last counters.
 *
 * Owns the records (rd_agent_t is heap-allocated and never moves, so a
 * connection may keep a pointer to its agent). Does not own connections:
 * `conn` is borrowed and cleared by the server when it closes. No uv. */
#ifndef RD_AGENT_H
#define RD_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "rd_assign.h"
#include "rd_stats.h"

#define RD_AGENTS_MAX RD_TABLE_MAX

typedef struct rd_agent {
    char       id[RD_ID_MAX];
    int        role;                   /* RD_ROLE_COPY / RD_ROLE_ICPT */
    char       host[64];
    char       software[64];
    char       advertise[RD_HOST_MAX]; /* intercept: Hello.advertise (or peer IP) */
    uint16_t   listen_port;
    void      *conn;                   /* borrowed rf_conn_t; NULL when down */
    int        up;
    uint64_t   last_seen_ms;           /* monotonic; 0 never */
    uint64_t   since_ms;               /* when it came up / went down */
    uint64_t   sent_gen, acked_gen;
    char       last_error[128];        /* from a failed Ack */
    char       down_reason[64];
    rd_stats_t stats;
} rd_agent_t;

typedef struct {
    rd_agent_t **a;                    /* owned */
    size_t       n, cap;
    /* Full registry: a record that is down and that this callback says
     * was never planned is evicted (least recently seen first) to make
     * room. NULL: never evict. */
    int        (*planned)(void *arg, const char *id);
    void        *planned_arg;
    uint64_t     evicted;
} rd_registry_t;

void        rd_registry_init(rd_registry_t *r);
void        rd_registry_fini(rd_registry_t *r);
rd_agent_t *rd_registry_find(const rd_registry_t *r, const char *id);
/* New record (down). At RD_AGENTS_MAX the least recently seen down,
 * never-planned record is evicted first; RF_EFULL if there is none. */
int         rd_registry_add(rd_agent_t **out, rd_registry_t *r, const char *id, int role);
size_t      rd_registry_count_up(const rd_registry_t *r);
/* Every record into out (room for r->n), in display order: by role, then
 * id. Status and the metrics page list agents this way. */
void        rd_registry_sorted(const rd_registry_t *r, rd_agent_t **out);

/* Mark up/down; `reason` is copied. */
void rd_agent_up(rd_agent_t *a, void *conn, uint64_t now_ms);
void rd_agent_down(rd_agent_t *a, const char *reason, uint64_t now_ms);

/* Agents that are up but silent for more than timeout_ms, at most `max`
 * of them, into out. They are NOT marked down here: the caller closes
 * their connection, whose close marks them down. */
size_t rd_registry_silent(const rd_registry_t *r, uint64_t now_ms, uint64_t timeout_ms,
                          rd_agent_t **out, size_t max);

#endif
