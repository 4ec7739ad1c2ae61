/* rd_groups.c -- capture-group liveness: re-shard a shared-feed group when
 * one of its members comes up or goes down (see rd_admin.h, rd_shard.h).
 *
 * The shard sets are part of the assignment table, computed by
 * rd_assign_compute from who is up; each entry remembers whether its
 * member counted as live. A member whose up/down state no longer matches
 * makes the plan in force be applied again: a new generation, every agent
 * re-pushed, only that member's buckets moved. Sessions the departed
 * member had open are lost with it: they are counted from its last
 * reported sess_active. Flows a member no longer owns after a re-shard are
 * finished by it (the copy agent keeps replaying flows it already has a
 * session for and opens none), and the new owner counts their packets
 * mid-stream, so no flow is replayed twice. */
#include <stdlib.h>
#include <string.h>

#include "rd_admin.h"
#include "rf_log.h"

/* Members whose live flag is stale, per the registry. Adds the sessions of
 * members that went down to *lost. Returns how many are stale. */
static size_t
stale_members(const rd_ctx_t *c, uint64_t *lost)
{
    size_t n = 0;
    for (size_t i = 0; i < c->table.n; i++) {
        const rd_entry_t *e = &c->table.e[i];
        if (!e->active || !e->sharded)
            continue;
        const rd_agent_t *a = rd_registry_find(&c->reg, e->id);
        int up = a != NULL && a->up;
        if (up == (int)e->live)
            continue;
        /* A group with nobody up gains nothing from a re-shard (nobody
         * replays) and must keep its sets until somebody comes back. */
        int any_up = 0;
        for (size_t j = 0; j < c->table.n && !any_up; j++) {
            const rd_entry_t *m = &c->table.e[j];
            const rd_agent_t *ma;
            any_up = m->active && m->sharded && strcmp(m->group, e->group) == 0 &&
                     (ma = rd_registry_find(&c->reg, m->id)) != NULL && ma->up;
        }
        if (!any_up)
            continue;
        if (!up && a != NULL)
            *lost += rd_stats_get(&a->stats, &c->names, "sess_active");
        n++;
    }
    return n;
}

int
rd_groups_tick(rd_ctx_t *c, uint64_t now_ms, uint64_t started_ms)
{
    if (c->plan == NULL || c->plan->ngroups == 0 ||
        now_ms < started_ms + c->heartbeat_timeout_ms)
        return 0;
    uint64_t lost = 0;
    size_t n = stale_members(c, &lost);
    if (n == 0)
        return 0;
    rd_apply_result_t res;
    int r = rd_admin_reapply(c, &res);
    if (r == 0) {
        c->ctr.reshards++;
        c->ctr.shard_sessions_lost += lost;
        rf_log_info("capture groups: %zu member(s) came up or went down: re-sharded, generation "
                    "%llu (%llu open session(s) lost with departed members)",
                    n, (unsigned long long)c->generation, (unsigned long long)lost);
    } else {
        rf_log_warn("capture groups: re-shard of plan \"%s\" failed: %s", c->plan->name,
                    res.err.msg);
    }
    rd_apply_result_fini(&res);
    return r == 0 ? 1 : (r < 0 ? r : -1);
}
