/* fuzz_nexthop.c -- fuzz target for the rtnetlink answer parsers of
 * agent-copy/cp_nexthop.c (cp_nexthop_parse_route / _neigh). The kernel
 * writes these answers, not a peer, but a parser that trusts lengths is
 * one bad kernel or one stray datagram away from an overread; this owns
 * the input layout and the contract checked on every answer.
 *
 * Input: byte 0 bit 0 selects the parser (0 route, 1 neighbour), bit 1
 * checks the sequence number and port id (seq 7, port 4242) instead of
 * leaving them unchecked; the rest is one recv() worth of answer, copied
 * into an exact-size, aligned buffer (netlink headers are read in place;
 * ASan then sees any overread). Besides memory safety: the result is one
 * of the CP_NH_* codes or -1 (another request's answer, only when checked),
 * a route is OK only with a unicast type and an interface, and the MAC is
 * written only on OK. */
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cp_nexthop.h"
#include "fuzz_target.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int      neigh = data[0] & 1;
    unsigned seq = (data[0] & 2) ? 7 : 0, portid = (data[0] & 2) ? 4242 : 0;
    size_t   len = size - 1;
    void    *buf = malloc(len ? len : 1);   /* malloc's alignment suits nlmsghdr */
    if (buf == NULL)
        return 0;
    memcpy(buf, data + 1, len);

    int r;
    if (neigh) {
        uint8_t mac[6];
        memset(mac, 0xa5, sizeof(mac));
        r = cp_nexthop_parse_neigh(buf, len, seq, portid, mac);
        if (r != CP_NH_OK)
            for (int i = 0; i < 6; i++)
                FUZZ_CHECK(mac[i] == 0xa5);
    } else {
        cp_route_t rt;
        memset(&rt, 0, sizeof(rt));
        r = cp_nexthop_parse_route(buf, len, seq, portid, &rt);
        if (r == CP_NH_OK)
            FUZZ_CHECK(rt.type == RTN_UNICAST && rt.ifindex > 0);
    }
    FUZZ_CHECK(r == -1 ? seq != 0 : (r >= CP_NH_OK && r <= CP_NH_ERROR));
    FUZZ_CHECK(cp_nexthop_why(r < 0 ? CP_NH_ERROR : r)[0] != '\0');
    free(buf);
    return 0;
}
