/* cp_send.c -- batched raw sends. The kernel fills nothing in for us
 * (IP_HDRINCL is implied by IPPROTO_RAW); checksums are already set. */
#include "cp_send.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct cp_rawsink {
    int                   fd;
    unsigned              cap, n;
    size_t                max_pkt;
    uint8_t              *bufs;
    struct mmsghdr       *msgs;
    struct iovec         *iov;
    struct sockaddr_in   *dst;
    cp_rawsink_counters_t ctr;
    int                   last_errno;
};

int
cp_rawsink_open(cp_rawsink_t **out, unsigned batch, size_t max_pkt, cp_rawsink_counters_t ctr)
{
    int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
    if (fd < 0)
        return -errno;
    int sz = 8 << 20;
    /* SNDBUFFORCE passes net.core.wmem_max when we have CAP_NET_ADMIN. */
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) != 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    cp_rawsink_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        close(fd);
        return -ENOMEM;
    }
    s->fd = fd;
    s->cap = batch ? batch : 256;
    s->max_pkt = max_pkt;
    s->ctr = ctr;
    s->bufs = malloc((size_t)s->cap * max_pkt);
    s->msgs = calloc(s->cap, sizeof(*s->msgs));
    s->iov = calloc(s->cap, sizeof(*s->iov));
    s->dst = calloc(s->cap, sizeof(*s->dst));
    if (!s->bufs || !s->msgs || !s->iov || !s->dst) {
        cp_rawsink_close(s);
        return -ENOMEM;
    }
    *out = s;
    return 0;
}

void
cp_rawsink_flush(cp_rawsink_t *s)
{
    unsigned off = 0;
    while (off < s->n) {
        int r = sendmmsg(s->fd, s->msgs + off, s->n - off, 0);
        if (r > 0) {
            off += (unsigned)r;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        /* The first message of the rest failed (EPERM from a firewall,
         * EMSGSIZE, ENOBUFS...): count it, skip it, send the others. */
        s->last_errno = errno;
        if (s->ctr.errors)
            (*s->ctr.errors)++;
        off++;
    }
    s->n = 0;
}

void
cp_rawsink_emit(void *ctx, const uint8_t *ip, size_t len, uint32_t daddr)
{
    cp_rawsink_t *s = ctx;
    if (len > s->max_pkt) {
        s->last_errno = EMSGSIZE;
        if (s->ctr.errors)
            (*s->ctr.errors)++;
        return;
    }
    if (s->n == s->cap)
        cp_rawsink_flush(s);
    unsigned i = s->n++;
    uint8_t *b = s->bufs + (size_t)i * s->max_pkt;
    memcpy(b, ip, len);
    s->iov[i].iov_base = b;
    s->iov[i].iov_len = len;
    memset(&s->dst[i], 0, sizeof(s->dst[i]));
    s->dst[i].sin_family = AF_INET;
    s->dst[i].sin_addr.s_addr = htonl(daddr);
    memset(&s->msgs[i], 0, sizeof(s->msgs[i]));
    s->msgs[i].msg_hdr.msg_name = &s->dst[i];
    s->msgs[i].msg_hdr.msg_namelen = sizeof(s->dst[i]);
    s->msgs[i].msg_hdr.msg_iov = &s->iov[i];
    s->msgs[i].msg_hdr.msg_iovlen = 1;
}

void
cp_rawsink_close(cp_rawsink_t *s)
{
    if (s == NULL)
        return;
    if (s->fd >= 0) {
        cp_rawsink_flush(s);
        close(s->fd);
    }
    free(s->bufs);
    free(s->msgs);
    free(s->iov);
    free(s->dst);
    free(s);
}

int
cp_rawsink_last_errno(const cp_rawsink_t *s)
{
    return s->last_errno;
}

int
cp_rawsink_send_now(cp_rawsink_t *s, const uint8_t *ip, size_t len, uint32_t daddr)
{
    struct sockaddr_in dst;
    memset(&dst, 0, sizeof(dst));
    dst.sin_family = AF_INET;
    dst.sin_addr.s_addr = htonl(daddr);
    if (sendto(s->fd, ip, len, 0, (const struct sockaddr *)&dst, sizeof(dst)) < 0)
        return errno;
    return 0;
}
