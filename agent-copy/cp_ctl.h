/* cp_ctl.h -- replay-copy's side of the controller channel, pure: an
 * Assignment (protobuf) becomes the next cp_config_t, or is refused with a
 * reason that goes back in the Ack. Wire-shape checks (rule count, port
 * widths, the range and endpoints present) are here; the replay checks
 * shared with the command line (range /8 or narrower and holding no
 * target, --allow-target, copies/offset/sample/timeout) are
 * cp_opts_check_replay. No uv.h: cp_loop.c applies the result (capture
 * filters, engine, intercept channels). */
#ifndef CP_CTL_H
#define CP_CTL_H

#include "cp_opts.h"
#include "replay.pb-c.h"

/* next = cur with the assignment applied. The agent's own settings (allow
 * list, --max-copies, capture, memory...) come from cur and are never
 * changed by a controller. An inactive assignment (the agent is not in the
 * plan in force) clears the rules and intercepts. 0, or RF_EPLAN with the
 * reason in err (next is then unspecified; cur is never touched). */
int cp_ctl_assignment(cp_config_t *next, const cp_config_t *cur, const Rfpb__Assignment *as,
                      rf_errbuf_t *err);

/* Do a and b capture the same rules (in order)? Re-filtering is not free:
 * libpcap drains the socket while it swaps the kernel filter. */
int cp_ctl_same_rules(const cp_config_t *a, const cp_config_t *b);

#endif
