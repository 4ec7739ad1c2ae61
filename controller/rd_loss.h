/* rd_loss.h -- loss counters of each role (RD_ROLE_NONE: replayd's own):
 * what a non-zero value means and the hop it points at. Pure data, shared
 * by replayd (summary status rows) and replayctl (the "problems" list). */
#ifndef RD_LOSS_H
#define RD_LOSS_H

#include <stddef.h>

#include "rd_assign.h"   /* RD_ROLE_* */

typedef struct {
    int         role;
    const char *counter;   /* wire name */
    const char *meaning;
    const char *hop;
} rd_loss_def_t;
extern const rd_loss_def_t rd_loss_defs[];
extern const size_t        rd_loss_ndefs;
const rd_loss_def_t *rd_loss_find(int role, const char *name);

#endif
