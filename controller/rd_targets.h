/* rd_targets.h -- target groups: one capture replayed to several targets
 * (the A/B case: the old and the new version side by side), pure.
 *
 * plan.json "target_groups": [{"name", "target", "copies", "sample_percent",
 * "rate_limit_pps"}, ...]. Group g is output g of every copy agent: each
 * captured session is replayed once per group (times its copies) to the
 * group's target. Disjointness: a copy agent's slot is split into
 * 2^rd_tg_bits equal sub-slices and group g replays only from sub-slice g,
 * so a target never sees another group's sources and two groups never
 * meet on one 4-tuple, whatever their ports. The intercepts, their blocks
 * and the copy agents' owned slots do not change: each target routes the
 * same blocks (replayctl routes prints them per target). */
#ifndef RD_TARGETS_H
#define RD_TARGETS_H

#include <jansson.h>
#include <stdint.h>

#include "rd_plan.h"

/* Parse root's "target_groups" into p->tgroups (after transfers, pool and
 * the plan's numbers). ok[i]: transfers[i] parsed. Errors name the path:
 * target_groups[1].target: ... */
void rd_tg_parse(rd_plan_t *p, const unsigned char *ok, const json_t *root, rd_plan_errs_t *e);

/* Prefix bits each slot gives up to its groups: 0 without groups or with
 * one, else ceil(log2(groups)). */
unsigned rd_tg_bits(const rd_plan_t *p);
/* Outputs of a copy agent: the number of groups, or 1 (no groups). */
unsigned rd_tg_outputs(const rd_plan_t *p);
/* Group g's sub-slice of a copy agent's slot. 0, or RF_ERANGE when the
 * slot is too narrow (slot.len + bits > 32). */
int rd_tg_range(rf_cidr_t *out, const rf_cidr_t *slot, const rd_plan_t *p, unsigned g);
/* transfers[i] as group g replays it (its target in place of the rule's). */
void rd_tg_rule(rf_rule_t *out, const rd_plan_t *p, unsigned g, unsigned i);
/* Group g's values in force (its own, else the plan's in force). */
uint32_t rd_tg_copies(const rd_plan_t *p, unsigned g);
uint32_t rd_tg_sample(const rd_plan_t *p, unsigned g);
uint64_t rd_tg_rate(const rd_plan_t *p, unsigned g);
/* Copy agent idx's share (of n) of a fleet-wide rate: the remainder to the
 * first agents (as rd_assign splits the plan's); never 0 for a limited
 * rate, since 0 means unlimited. */
uint64_t rd_tg_share(uint64_t rate, unsigned idx, unsigned n);

#endif
