/* ic_loop.h -- replay-intercept's event loop: the only file here (with
 * ic_main.c) that includes uv.h. Wires the pcap fd, the copy-agent listener
 * and connections (handshake, TupleRegister), the engine's flush points
 * (end of every loop turn, a 1 ms safety timer), housekeeping ticks, stats
 * lines, the controller client, signals and --duration. */
#ifndef IC_LOOP_H
#define IC_LOOP_H

#include "ic_capture.h"
#include "ic_opts.h"
#include "rf_auth.h"

/* Run until SIGINT/SIGTERM or --duration. Takes ownership of `cap` (closed
 * before returning). `key` may have len 0. Returns the exit code (0, 1). */
int ic_loop_run(const ic_config_t *cfg, const rf_auth_key_t *key, ic_capture_t *cap);

#endif
