/* rf_frame.c -- length-prefix framing; nginx-style OK/AGAIN/ERROR answer. */
#include "rf_frame.h"

#include "rf_err.h"

long
rf_frame_next(const uint8_t *buf, size_t len, size_t max_body, size_t *body_len)
{
    if (len < RF_FRAME_HDR)
        return 0;
    uint32_t n = ((uint32_t)buf[0] << 24) | ((uint32_t)buf[1] << 16) |
                 ((uint32_t)buf[2] << 8) | (uint32_t)buf[3];
    /* Checked before we wait for the body, so a peer announcing 4 GiB
     * cannot make us buffer anything. */
    if (n > max_body)
        return RF_EFRAME_TOO_BIG;
    if (len - RF_FRAME_HDR < n)
        return 0;
    *body_len = n;
    return (long)(RF_FRAME_HDR + n);
}

void
rf_frame_put_header(uint8_t out[RF_FRAME_HDR], uint32_t body_len)
{
    out[0] = (uint8_t)(body_len >> 24);
    out[1] = (uint8_t)(body_len >> 16);
    out[2] = (uint8_t)(body_len >> 8);
    out[3] = (uint8_t)body_len;
}
