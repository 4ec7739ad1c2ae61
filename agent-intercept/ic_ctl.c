/* ic_ctl.c -- Assignment handling and Stats export for the intercept. */
#include "ic_ctl.h"

#include <string.h>

#include "rf_log.h"

int
ic_ctl_on_assignment(void *data, const Rfpb__Assignment *a, rf_errbuf_t *err)
{
    ic_ctl_t *c = data;
    rf_cidr_t blk = { 0, 0 };
    int have = 0;
    if (a->active && a->route_block != NULL) {
        if (a->route_block->len > 32)
            return rf_err_set(err, RF_ERANGE, "route_block: prefix length %u over 32",
                              a->route_block->len);
        blk.addr = a->route_block->addr;
        blk.len = (uint8_t)a->route_block->len;
        if ((blk.addr & ~rf_cidr_mask(blk.len)) != 0)
            return rf_err_set(err, RF_EPARSE, "route_block: host bits set");
        have = 1;
    }
    int changed = have != c->have_block ||
                  (have && (blk.addr != c->block.addr || blk.len != c->block.len));
    if (changed && c->hooks != NULL && c->hooks->on_route_block != NULL) {
        int r = c->hooks->on_route_block(c->ctx, have ? &blk : NULL, err);
        if (r < 0)
            return r;
    }
    if (changed || a->generation != c->generation) {
        char b[32] = "none";
        if (have)
            rf_cidr_format(&blk, b, sizeof(b));
        rf_log_info("assignment generation %llu (plan \"%s\", %s): route block %s",
                    (unsigned long long)a->generation, a->plan_name ? a->plan_name : "",
                    a->active ? "active" : "idle", b);
    }
    c->have_block = have;
    c->block = blk;
    c->generation = a->generation;
    return 0;
}

static size_t
fill_stats(void *data, Rfpb__Counter *store, Rfpb__Counter **ptrs, size_t max)
{
    ic_ctl_t *c = data;
    size_t n = ic_stats_ndefs < max ? ic_stats_ndefs : max;
    rf_counters_to_pb(store, ptrs, ic_stats_defs, n, c->st);
    return n;
}

static void
on_state(void *data, int connected)
{
    ic_ctl_t *c = data;
    c->st->ctl_up = connected ? 1 : 0;
}

static const rf_ctlclient_ops_t ctl_ops = { ic_ctl_on_assignment, fill_stats, on_state, NULL };

int
ic_ctl_start(ic_ctl_t *c, uv_loop_t *loop, const ic_config_t *cfg, const rf_auth_key_t *key,
             ic_stats_t *st, const ic_ctl_hooks_t *hooks, void *ctx)
{
    memset(c, 0, sizeof(*c));
    c->hooks = hooks;
    c->ctx = ctx;
    c->st = st;
    const char *ifaces[1] = { cfg->iface };
    rf_ctlclient_cfg_t cc = {
        .host = cfg->ctl_host,
        .port = cfg->ctl_port,
        .id = cfg->id,
        .role = RFPB__ROLE__ROLE_INTERCEPT,
        .advertise = cfg->advertise,
        .listen_port = cfg->port,
        .key = key,
        .interfaces = ifaces,
        .n_interfaces = 1,
        /* 1 s whatever --stats-interval says: replayctl status --watch is live. */
        .stats_interval_ms = 1000,
    };
    return rf_ctlclient_start(&c->cc, loop, &cc, &ctl_ops, c);
}

void
ic_ctl_stop(ic_ctl_t *c)
{
    rf_ctlclient_stop(c->cc);
    c->cc = NULL;
}

uint64_t
ic_ctl_generation(const ic_ctl_t *c)
{
    return c->generation;
}
