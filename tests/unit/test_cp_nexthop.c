/* test_cp_nexthop.c -- the rtnetlink answers the next-hop resolver reads,
 * built here with libmnl as the kernel sends them: a route with and
 * without a gateway, routes that are not ours to resolve, neighbour
 * entries in valid and invalid states, error answers, answers to another
 * request, and malformed messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "cp_nexthop.h"

static uint8_t buf[4096];

static struct nlmsghdr *
route_msg(unsigned seq, int type, int oif, uint32_t gw)
{
    memset(buf, 0, sizeof(buf));
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWROUTE;
    nlh->nlmsg_seq = seq;
    struct rtmsg *rm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rm));
    rm->rtm_family = AF_INET;
    rm->rtm_dst_len = 32;
    rm->rtm_type = (unsigned char)type;
    mnl_attr_put_u32(nlh, RTA_DST, htonl(0x0a00001e));
    if (oif)
        mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)oif);
    if (gw)
        mnl_attr_put_u32(nlh, RTA_GATEWAY, htonl(gw));
    return nlh;
}

static struct nlmsghdr *
neigh_msg(unsigned seq, uint16_t state, const uint8_t *mac, size_t maclen)
{
    memset(buf, 0, sizeof(buf));
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWNEIGH;
    nlh->nlmsg_seq = seq;
    struct ndmsg *nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
    nd->ndm_family = AF_INET;
    nd->ndm_ifindex = 3;
    nd->ndm_state = state;
    mnl_attr_put_u32(nlh, NDA_DST, htonl(0x0a00001e));
    if (mac)
        mnl_attr_put(nlh, NDA_LLADDR, maclen, mac);
    return nlh;
}

static struct nlmsghdr *
error_msg(unsigned seq, int err)
{
    memset(buf, 0, sizeof(buf));
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = NLMSG_ERROR;
    nlh->nlmsg_seq = seq;
    struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
    e->error = -err;
    return nlh;
}

static void
routes(void **state)
{
    (void)state;
    cp_route_t rt;
    struct nlmsghdr *nlh = route_msg(7, RTN_UNICAST, 3, 0x0a000001);
    assert_int_equal(cp_nexthop_parse_route(buf, nlh->nlmsg_len, 7, 0, &rt), CP_NH_OK);
    assert_int_equal(rt.ifindex, 3);
    assert_int_equal(rt.gw, 0x0a000001);
    nlh = route_msg(8, RTN_UNICAST, 4, 0);   /* on-link: the target is the next hop */
    assert_int_equal(cp_nexthop_parse_route(buf, nlh->nlmsg_len, 8, 0, &rt), CP_NH_OK);
    assert_int_equal(rt.ifindex, 4);
    assert_int_equal(rt.gw, 0);
    nlh = route_msg(9, RTN_LOCAL, 1, 0);
    assert_int_equal(cp_nexthop_parse_route(buf, nlh->nlmsg_len, 9, 0, &rt), CP_NH_NOTUNICAST);
    nlh = route_msg(9, RTN_BLACKHOLE, 0, 0);
    assert_int_equal(cp_nexthop_parse_route(buf, nlh->nlmsg_len, 9, 0, &rt), CP_NH_NOTUNICAST);
    nlh = route_msg(9, RTN_UNICAST, 0, 0);   /* no output interface */
    assert_int_equal(cp_nexthop_parse_route(buf, nlh->nlmsg_len, 9, 0, &rt), CP_NH_NOROUTE);
    nlh = error_msg(10, ENETUNREACH);
    assert_int_equal(cp_nexthop_parse_route(buf, nlh->nlmsg_len, 10, 0, &rt), CP_NH_NOROUTE);
    nlh = error_msg(10, EPERM);
    assert_int_equal(cp_nexthop_parse_route(buf, nlh->nlmsg_len, 10, 0, &rt), CP_NH_ERROR);
}

static void
neighbours(void **state)
{
    (void)state;
    const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0x1e };
    uint8_t got[6] = { 0 };
    struct nlmsghdr *nlh = neigh_msg(3, NUD_REACHABLE, mac, 6);
    assert_int_equal(cp_nexthop_parse_neigh(buf, nlh->nlmsg_len, 3, 0, got), CP_NH_OK);
    assert_memory_equal(got, mac, 6);
    /* stale is still where the kernel would send */
    nlh = neigh_msg(3, NUD_STALE, mac, 6);
    assert_int_equal(cp_nexthop_parse_neigh(buf, nlh->nlmsg_len, 3, 0, got), CP_NH_OK);
    nlh = neigh_msg(3, NUD_INCOMPLETE, NULL, 0);
    assert_int_equal(cp_nexthop_parse_neigh(buf, nlh->nlmsg_len, 3, 0, got), CP_NH_NONEIGH);
    nlh = neigh_msg(3, NUD_FAILED, mac, 6);
    assert_int_equal(cp_nexthop_parse_neigh(buf, nlh->nlmsg_len, 3, 0, got), CP_NH_NONEIGH);
    nlh = neigh_msg(3, NUD_REACHABLE, mac, 4);   /* not an Ethernet address */
    assert_int_equal(cp_nexthop_parse_neigh(buf, nlh->nlmsg_len, 3, 0, got), CP_NH_NONEIGH);
    nlh = error_msg(4, ENOENT);
    assert_int_equal(cp_nexthop_parse_neigh(buf, nlh->nlmsg_len, 4, 0, got), CP_NH_NONEIGH);
}

static void
other_request_and_malformed(void **state)
{
    (void)state;
    cp_route_t rt;
    uint8_t mac[6];
    /* an answer to an earlier request (after a timeout): read on */
    struct nlmsghdr *nlh = route_msg(5, RTN_UNICAST, 3, 0);
    assert_int_equal(cp_nexthop_parse_route(buf, nlh->nlmsg_len, 6, 0, &rt), -1);
    nlh->nlmsg_seq = 6;
    nlh->nlmsg_pid = 99;   /* another socket's */
    assert_int_equal(cp_nexthop_parse_route(buf, nlh->nlmsg_len, 6, 42, &rt), -1);
    nlh = error_msg(5, ENOENT);
    assert_int_equal(cp_nexthop_parse_neigh(buf, nlh->nlmsg_len, 6, 0, mac), -1);
    /* the kernel's own EPROTO or ESRCH for this request is an error, not
     * another request's answer (libmnl reports both through errno) */
    nlh = error_msg(6, EPROTO);
    assert_int_equal(cp_nexthop_parse_route(buf, nlh->nlmsg_len, 6, 0, &rt), CP_NH_ERROR);
    nlh = error_msg(6, ESRCH);
    assert_int_equal(cp_nexthop_parse_neigh(buf, nlh->nlmsg_len, 6, 0, mac), CP_NH_ERROR);
    /* a neighbour where a route was asked, and the other way round */
    nlh = neigh_msg(5, NUD_REACHABLE, (const uint8_t *)"\1\2\3\4\5\6", 6);
    assert_int_equal(cp_nexthop_parse_route(buf, nlh->nlmsg_len, 5, 0, &rt), CP_NH_ERROR);
    nlh = route_msg(5, RTN_UNICAST, 3, 0);
    assert_int_equal(cp_nexthop_parse_neigh(buf, nlh->nlmsg_len, 5, 0, mac), CP_NH_ERROR);
    /* cut short: no whole message */
    assert_int_equal(cp_nexthop_parse_route(buf, nlh->nlmsg_len - 4, 5, 0, &rt), CP_NH_ERROR);
    assert_int_equal(cp_nexthop_parse_route(buf, 0, 5, 0, &rt), CP_NH_ERROR);
    /* an RTA_OIF of two bytes */
    memset(buf, 0, sizeof(buf));
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWROUTE;
    nlh->nlmsg_seq = 5;
    struct rtmsg *rm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rm));
    rm->rtm_family = AF_INET;
    rm->rtm_type = RTN_UNICAST;
    mnl_attr_put_u16(nlh, RTA_OIF, 3);
    assert_int_equal(cp_nexthop_parse_route(buf, nlh->nlmsg_len, 5, 0, &rt), CP_NH_ERROR);
    /* an IPv6 route answer */
    nlh = route_msg(5, RTN_UNICAST, 3, 0);
    ((struct rtmsg *)mnl_nlmsg_get_payload(nlh))->rtm_family = AF_INET6;
    assert_int_equal(cp_nexthop_parse_route(buf, nlh->nlmsg_len, 5, 0, &rt), CP_NH_ERROR);
    /* a length over INT_MAX (libmnl compares it as an int and would walk
     * out of the buffer: fuzz_nexthop's regress-14-len-over-int-max) */
    nlh = neigh_msg(5, NUD_REACHABLE, (const uint8_t *)"\1\2\3\4\5\6", 6);
    size_t len = nlh->nlmsg_len;
    nlh->nlmsg_len = 0x8f070024u;
    assert_int_equal(cp_nexthop_parse_neigh(buf, len, 5, 0, mac), CP_NH_ERROR);
    /* a second header longer than what is left */
    nlh = neigh_msg(5, NUD_REACHABLE, (const uint8_t *)"\1\2\3\4\5\6", 6);
    len = NLMSG_ALIGN(nlh->nlmsg_len);
    memcpy(buf + len, buf, 16);
    assert_int_equal(cp_nexthop_parse_neigh(buf, len + 16, 5, 0, mac), CP_NH_ERROR);
    assert_string_equal(cp_nexthop_why(CP_NH_NONEIGH), "no neighbour entry yet");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(routes),
        cmocka_unit_test(neighbours),
        cmocka_unit_test(other_request_and_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
