/* cp_loop.h -- run replay-copy with a validated configuration. */
#ifndef CP_LOOP_H
#define CP_LOOP_H

#include "cp_opts.h"

/* Blocks until a signal, --duration, or the end of an offline replay.
 * Returns the process exit code. */
int cp_agent_run(const cp_config_t *cfg);

#endif
