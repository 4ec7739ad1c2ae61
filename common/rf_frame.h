/* rf_frame.h -- 4-byte big-endian length framing (pure, no I/O).
 * A frame is [u32 length BE][length bytes of protobuf Envelope]. */
#ifndef RF_FRAME_H
#define RF_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define RF_FRAME_HDR 4u
#define RF_FRAME_MAX_DEFAULT (4u * 1024u * 1024u)   /* body bytes */

/* Look at the front of buf. Returns:
 *   >0  a whole frame is there; *body_len is set, body starts at buf + 4,
 *       and the return value is the total bytes to consume (4 + body_len);
 *    0  need more bytes;
 *   RF_EFRAME_TOO_BIG  the announced length is over `max_body`. */
long rf_frame_next(const uint8_t *buf, size_t len, size_t max_body, size_t *body_len);

/* Write the 4-byte header for a body of `body_len` bytes. */
void rf_frame_put_header(uint8_t out[RF_FRAME_HDR], uint32_t body_len);

#endif
