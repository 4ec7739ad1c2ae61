/* rd_state.h -- replayd's persistent state: generation, plan in force and
 * the sticky assignment table, as one JSON document (state.json) written
 * with rf_atomic_write (temp, fsync, rename, fsync dir).
 *
 * Owns the state file format. Does not own the table or plan semantics:
 * a loaded plan is re-validated by rd_plan_parse(), a loaded table has its
 * ranges re-derived and its invariants checked (a file is input, not truth). */
#ifndef RD_STATE_H
#define RD_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "rd_assign.h"
#include "rd_plan.h"

#define RD_STATE_FILE    "state.json"
#define RD_STATE_MAX     (16u << 20)   /* bytes accepted when loading */
#define RD_STATE_VERSION 1

/* Serialize (pure). plan may be NULL. *out is malloc'd. 0 or -ENOMEM. */
int rd_state_encode(char **out, size_t *len, uint64_t generation, const rd_plan_t *plan,
                    const rd_table_t *t);
/* Parse (pure). On success *plan (may be NULL: no plan yet) and *t are
 * owned by the caller. RF_EPARSE / RF_EPLAN with a reason in err. */
int rd_state_decode(uint64_t *generation, rd_plan_t **plan, rd_table_t *t, const char *text,
                    size_t len, rf_errbuf_t *err);

/* DIR/state.json. save: 0 or -errno (the old file is intact on error).
 * load: -ENOENT when there is no state yet; other errors fill err. */
int rd_state_save(const char *dir, uint64_t generation, const rd_plan_t *plan,
                  const rd_table_t *t);
/* The state dir must be a real directory (not a link) owned by us and not
 * writable by group/other, and state.json, if present, a regular file. */
int rd_state_dir_check(const char *dir, rf_errbuf_t *err);
int rd_state_load(uint64_t *generation, rd_plan_t **plan, rd_table_t *t, const char *dir,
                  rf_errbuf_t *err);

#endif
