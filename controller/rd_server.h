/* rd_server.h -- replayd's network side: the listener, one state machine
 * per connection (HELLO -> AGENT | ADMIN), the 1 s housekeeping tick.
 *
 * Owns every uv handle of replayd and the connections; routes each
 * Envelope case to rd_admin; runs `doctor` (rd_doctor: one run at a time,
 * a 100 ms timer while it lasts) and feeds the Prometheus page
 * (rd_metrics) from the loop. A message not valid in the connection's
 * state gets an Error, the connection is closed and counted; the process
 * keeps serving the others. Does not own the controller state (rd_ctx_t,
 * rd_ctx.h) beyond creating and freeing it. */
#ifndef RD_SERVER_H
#define RD_SERVER_H

#include <stdint.h>
#include <uv.h>

#include "rd_config.h"
#include "rd_ctx.h"
#include "rf_auth.h"
#include "rf_err.h"
#include "rf_ports.h"

#define RD_VERSION          "0.1.0"
#define RD_CONNS_MAX        8192               /* open connections */
/* Flood limits on connections that have not finished TLS + Hello: a low
 * global cap (the rest of RD_CONNS_MAX is reserved for authenticated
 * peers; when it is reached the OLDEST pending one is dropped, so a new
 * real agent always gets in), a per-source cap, and a short deadline. */
#define RD_PREAUTH_MAX      256
#define RD_PREAUTH_PER_IP   16
#define RD_MAX_FRAME        (2u << 20)         /* a plan is at most 1 MiB */
#define RD_HELLO_TIMEOUT_MS 3000
#define RD_REFUSAL_LOG_MS   10000              /* one refusal summary line per 10 s */

typedef struct rd_server rd_server_t;

/* Load state, bind, listen. If *out was set (even on error: a failed
 * listen still holds a handle) the caller ends with rd_server_stop(),
 * uv_run() until the loop is empty, rd_server_free(). err says why. */
int  rd_server_start(rd_server_t **out, uv_loop_t *loop, const rd_config_t *cfg,
                     rf_errbuf_t *err);
/* Close the listener, every connection and the tick; the loop then ends. */
void rd_server_stop(rd_server_t *s);
void rd_server_free(rd_server_t *s);

#endif
