/* test_rf_counters.c -- the --stats-json line both agents write: valid JSON
 * whatever the id holds (a quote, a backslash, a newline), counters by
 * their table names; and the name lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rf_counters.h"

typedef struct {
    uint64_t pkts, level;
} demo_t;

static const rf_counter_def_t defs[] = {
    RF_COUNTER(demo_t, pkts, "packets_total", "Packets."),
    RF_GAUGE(demo_t, level, "level", "A level."),
};

static json_t *
line_of(const char *id, uint64_t gen, const demo_t *d)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_non_null(fp);
    rf_counters_stats_line(fp, "replay-copy", id, gen, defs, 2, d);
    fclose(fp);
    assert_true(len > 0 && buf[len - 1] == '\n');
    assert_null(memchr(buf, '\n', len - 1));   /* one line, whatever the id */
    json_error_t e;
    json_t *j = json_loads(buf, 0, &e);
    if (j == NULL)
        fail_msg("not JSON (%s): %s", e.text, buf);
    free(buf);
    return j;
}

static void
quote_in_id(void **state)
{
    (void)state;
    demo_t d = { 42, 7 };
    const char *ids[] = { "cap-1", "a\"b", "back\\slash", "new\nline\x01", "" };
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        json_t *j = line_of(ids[i], 9, &d);
        assert_string_equal(json_string_value(json_object_get(j, "id")), ids[i]);
        assert_string_equal(json_string_value(json_object_get(j, "program")), "replay-copy");
        assert_int_equal(json_integer_value(json_object_get(j, "generation")), 9);
        assert_true(json_integer_value(json_object_get(j, "ts_ms")) > 1700000000000LL);
        json_t *c = json_object_get(j, "counters");
        assert_int_equal(json_integer_value(json_object_get(c, "pkts")), 42);
        assert_int_equal(json_integer_value(json_object_get(c, "level")), 7);
        json_decref(j);
    }
}

static void
find(void **state)
{
    (void)state;
    assert_ptr_equal(rf_counter_find(defs, 2, "level"), &defs[1]);
    assert_null(rf_counter_find(defs, 2, "nope"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quote_in_id),
        cmocka_unit_test(find),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
