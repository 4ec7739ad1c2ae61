/* cp_send.h -- the raw IPv4 sink: packets are copied into a batch and sent
 * with one sendmmsg() per flush (per loop turn, or when the batch is full).
 * Send errors are counted and never end the process (tcpcopy exits on
 * EPERM/EMSGSIZE: #262, #388). */
#ifndef CP_SEND_H
#define CP_SEND_H

#include <stddef.h>
#include <stdint.h>

typedef struct cp_rawsink cp_rawsink_t;

typedef struct {
    uint64_t *sent, *errors;   /* counters to bump (may be NULL) */
} cp_rawsink_counters_t;

/* Opens a SOCK_RAW/IPPROTO_RAW socket (needs CAP_NET_RAW). */
int  cp_rawsink_open(cp_rawsink_t **out, unsigned batch, size_t max_pkt,
                     cp_rawsink_counters_t counters);
void cp_rawsink_emit(void *ctx, const uint8_t *ip, size_t len, uint32_t daddr);
void cp_rawsink_flush(cp_rawsink_t *s);
void cp_rawsink_close(cp_rawsink_t *s);
int  cp_rawsink_last_errno(const cp_rawsink_t *s);
/* One packet now, bypassing the batch (doctor probes need the errno).
 * Returns 0 or an errno. */
int  cp_rawsink_send_now(cp_rawsink_t *s, const uint8_t *ip, size_t len, uint32_t daddr);

#endif
