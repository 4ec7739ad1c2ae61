/* fuzz_frame.c -- fuzz target for common/rf_frame.c and common/rf_envelope.c:
 * a byte stream cut into length-prefixed frames, each body decoded as an
 * Envelope, the way rf_conn's read path does. Owns the input layout and the
 * properties; not the decoders.
 *
 * Input: byte 0 picks the frame maximum (small ones reach the "too big"
 * path); the rest is the stream. A whole frame must never be reported from
 * fewer bytes than it spans, and a decoded Envelope must have a known case. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rf_envelope.h"
#include "rf_err.h"
#include "rf_frame.h"
#include "fuzz_target.h"

static const size_t fuzz_frame_max[4] = { 0, 16, 1024, 64u * 1024u };

/* Bounds the frames per input: each costs at least 4 bytes anyway. */
#define FUZZ_FRAME_MAX_FRAMES 4096

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t         max_body = fuzz_frame_max[data[0] & 3];
    const uint8_t *p = data + 1;
    size_t         left = size - 1;

    for (int i = 0; i < FUZZ_FRAME_MAX_FRAMES; i++) {
        size_t body_len = (size_t)-1;
        long   n = rf_frame_next(p, left, max_body, &body_len);
        if (n == 0)
            break;  /* need more: the stream ends mid-frame */
        if (n < 0) {
            FUZZ_CHECK(n == RF_EFRAME_TOO_BIG && left >= RF_FRAME_HDR);
            break;  /* the connection would be closed here */
        }
        FUZZ_CHECK(body_len <= max_body && (size_t)n == RF_FRAME_HDR + body_len &&
                   (size_t)n <= left);
        /* One byte short of the frame is "need more", never a frame. */
        size_t dummy;
        FUZZ_CHECK(rf_frame_next(p, (size_t)n - 1, max_body, &dummy) == 0);

        /* The body as its own allocation, as rf_conn hands it over. */
        uint8_t *body = malloc(body_len ? body_len : 1);
        if (body == NULL)
            break;
        if (body_len)
            memcpy(body, p + RF_FRAME_HDR, body_len);
        Rfpb__Envelope *env = NULL;
        if (rf_env_decode(&env, body, body_len) == 0) {
            FUZZ_CHECK(env != NULL && env->msg_case != RFPB__ENVELOPE__MSG__NOT_SET);
            FUZZ_CHECK(rf_env_case_name(env) != NULL);
            rf_env_free(env);
        }
        free(body);
        p += n;
        left -= (size_t)n;
    }
    return 0;
}
