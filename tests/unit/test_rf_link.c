/* test_rf_link.c -- the link layers both agents strip: where the IPv4
 * header starts for each link type, VLAN tags (two at most), and the
 * verdicts for short, foreign and undecodable frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "rf_link.h"

static uint8_t f[64];

static int
strip(int dlt, size_t len, size_t *hl, unsigned *tags)
{
    *hl = 999;
    *tags = 0;
    return rf_link_strip(dlt, f, len, hl, tags);
}

static void
ethernet_and_tags(void **state)
{
    (void)state;
    size_t hl;
    unsigned tags;
    memset(f, 0, sizeof(f));
    f[12] = 0x08, f[14] = 0x45;
    assert_int_equal(strip(RF_DLT_EN10MB, sizeof(f), &hl, &tags), RF_LINK_OK);
    assert_int_equal(hl, 14);
    assert_int_equal(tags, 0);
    /* 802.1ad outer + 802.1Q inner */
    f[12] = 0x88, f[13] = 0xa8, f[16] = 0x81, f[17] = 0x00, f[20] = 0x08, f[21] = 0x00;
    f[22] = 0x45;
    assert_int_equal(strip(RF_DLT_EN10MB, sizeof(f), &hl, &tags), RF_LINK_OK);
    assert_int_equal(hl, 22);
    assert_int_equal(tags, 2);
    /* a third tag is undecodable, not skipped */
    f[20] = 0x91, f[21] = 0x00, f[24] = 0x08, f[25] = 0x00;
    assert_int_equal(strip(RF_DLT_EN10MB, sizeof(f), &hl, &tags), RF_LINK_EBAD);
    assert_int_equal(hl, 999);
    /* cut inside a tag */
    f[20] = 0x08, f[21] = 0x00;
    assert_int_equal(strip(RF_DLT_EN10MB, 18, &hl, &tags), RF_LINK_ESHORT);
    assert_int_equal(strip(RF_DLT_EN10MB, 13, &hl, &tags), RF_LINK_ESHORT);
    /* the ethertype says IPv4 but the header does not (fuzz_decap found
     * this one), or the frame ends at the ethertype */
    f[12] = 0x08, f[13] = 0x00, f[14] = 0x00;
    assert_int_equal(strip(RF_DLT_EN10MB, sizeof(f), &hl, &tags), RF_LINK_EBAD);
    assert_int_equal(hl, 999);
    f[14] = 0x60;
    assert_int_equal(strip(RF_DLT_EN10MB, sizeof(f), &hl, &tags), RF_LINK_EBAD);
    assert_int_equal(strip(RF_DLT_EN10MB, 14, &hl, &tags), RF_LINK_ESHORT);
    f[14] = 0x45;
    /* ARP, IPv6 */
    f[12] = 0x08, f[13] = 0x06;
    assert_int_equal(strip(RF_DLT_EN10MB, sizeof(f), &hl, &tags), RF_LINK_ENOTIP);
    f[12] = 0x86, f[13] = 0xdd;
    assert_int_equal(strip(RF_DLT_EN10MB, sizeof(f), &hl, &tags), RF_LINK_ENOTIP);
}

static void
cooked_raw_null(void **state)
{
    (void)state;
    size_t hl;
    unsigned tags;
    memset(f, 0, sizeof(f));
    f[14] = 0x08, f[16] = 0x45;   /* SLL: protocol at 14 */
    assert_int_equal(strip(RF_DLT_LINUX_SLL, sizeof(f), &hl, &tags), RF_LINK_OK);
    assert_int_equal(hl, 16);
    memset(f, 0, sizeof(f));
    f[0] = 0x08, f[20] = 0x45;    /* SLL2: protocol at 0 */
    assert_int_equal(strip(RF_DLT_LINUX_SLL2, sizeof(f), &hl, &tags), RF_LINK_OK);
    assert_int_equal(hl, 20);
    assert_int_equal(strip(RF_DLT_LINUX_SLL2, 19, &hl, &tags), RF_LINK_ESHORT);
    /* SLL keeps a tag the kernel did not strip */
    memset(f, 0, sizeof(f));
    f[14] = 0x81, f[18] = 0x08, f[20] = 0x45;
    assert_int_equal(strip(RF_DLT_LINUX_SLL, sizeof(f), &hl, &tags), RF_LINK_OK);
    assert_int_equal(hl, 20);
    assert_int_equal(tags, 1);
    /* raw IP under each of its numbers; the version nibble decides */
    int raw[] = { RF_DLT_RAW, RF_DLT_RAW_BSD, RF_LINKTYPE_RAW, RF_DLT_IPV4 };
    for (size_t i = 0; i < 4; i++) {
        f[0] = 0x45;
        assert_int_equal(strip(raw[i], 20, &hl, &tags), RF_LINK_OK);
        assert_int_equal(hl, 0);
        f[0] = 0x60;
        assert_int_equal(strip(raw[i], 40, &hl, &tags), RF_LINK_ENOTIP);
        f[0] = 0x20;
        assert_int_equal(strip(raw[i], 20, &hl, &tags), RF_LINK_EBAD);
        assert_int_equal(strip(raw[i], 0, &hl, &tags), RF_LINK_ESHORT);
    }
    /* null/loop: AF_INET (2) in either byte order */
    memset(f, 0, sizeof(f));
    f[0] = 2, f[4] = 0x45;
    assert_int_equal(strip(RF_DLT_NULL, sizeof(f), &hl, &tags), RF_LINK_OK);
    assert_int_equal(hl, 4);
    f[0] = 0, f[3] = 2;
    assert_int_equal(strip(RF_DLT_LOOP, sizeof(f), &hl, &tags), RF_LINK_OK);
    f[3] = 24;   /* AF_INET6 on BSD */
    assert_int_equal(strip(RF_DLT_NULL, sizeof(f), &hl, &tags), RF_LINK_ENOTIP);
    assert_int_equal(strip(RF_DLT_NULL, 4, &hl, &tags), RF_LINK_ENOTIP);
    f[3] = 2;
    assert_int_equal(strip(RF_DLT_NULL, 4, &hl, &tags), RF_LINK_ESHORT);
}

static void
unknown_link(void **state)
{
    (void)state;
    size_t hl;
    unsigned tags;
    assert_false(rf_link_supported(105));   /* 802.11 */
    assert_true(rf_link_supported(RF_DLT_LINUX_SLL2));
    assert_int_equal(strip(105, sizeof(f), &hl, &tags), RF_LINK_EBAD);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ethernet_and_tags),
        cmocka_unit_test(cooked_raw_null),
        cmocka_unit_test(unknown_link),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
