/* ic_ctl.h -- replay-intercept's side of the controller channel, on top of
 * rf_ctlclient: role INTERCEPT, Hello.advertise + listen_port, Assignment ->
 * route block (validated, logged, handed to the loop), Stats from ic_stats_t.
 * Owns the rf_ctlclient and the last accepted route block. No uv.h here. */
#ifndef IC_CTL_H
#define IC_CTL_H

#include <stdint.h>

#include "ic_opts.h"
#include "ic_stats.h"
#include "rf_auth.h"
#include "rf_cidr.h"
#include "rf_ctlclient.h"

typedef struct {
    /* The block targets route to us changed (NULL: none / inactive). 0, or
     * <0 with err filled to refuse the assignment. */
    int (*on_route_block)(void *ctx, const rf_cidr_t *block, rf_errbuf_t *err);
} ic_ctl_hooks_t;

typedef struct {
    rf_ctlclient_t       *cc;
    const ic_ctl_hooks_t *hooks;   /* borrowed */
    void                 *ctx;
    ic_stats_t           *st;      /* borrowed */
    uint64_t              generation;
    int                   have_block;
    rf_cidr_t             block;
} ic_ctl_t;

/* Start the client (fleet mode). 0 or <0 (logged). */
int      ic_ctl_start(ic_ctl_t *c, uv_loop_t *loop, const ic_config_t *cfg,
                      const rf_auth_key_t *key, ic_stats_t *st, const ic_ctl_hooks_t *hooks,
                      void *ctx);
void     ic_ctl_stop(ic_ctl_t *c);
uint64_t ic_ctl_generation(const ic_ctl_t *c);

/* The assignment handler, exposed for tests: validates and applies. */
int      ic_ctl_on_assignment(void *data, const Rfpb__Assignment *a, rf_errbuf_t *err);

#endif
