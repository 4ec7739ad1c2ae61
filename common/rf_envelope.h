/* rf_envelope.h -- the only caller of rfpb__envelope__pack/unpack.
 * Enforces "a known oneof case" so handlers can switch without a default. */
#ifndef RF_ENVELOPE_H
#define RF_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "replay.pb-c.h"

/* 2: Assignment.shard (capture groups); a v1 agent would ignore it.
 * 3: Assignment.outputs (target groups); a v2 agent would replay to one target only. */
#define RF_PROTO_VERSION 3u

/* Decode one frame body. On success *out is owned by the caller and must be
 * released with rf_env_free(). Returns 0, or RF_EDECODE (bad bytes, or a
 * message case this build does not know). */
int  rf_env_decode(Rfpb__Envelope **out, const uint8_t *body, size_t len);
void rf_env_free(Rfpb__Envelope *env);

/* Name of the oneof case, for logs ("hello", "stats", ...). */
const char *rf_env_case_name(const Rfpb__Envelope *env);

#endif
