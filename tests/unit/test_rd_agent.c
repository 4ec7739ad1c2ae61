/* test_rd_agent.c -- the agent registry's cap (controller/rd_agent.c).
 *
 * What must hold: at RD_AGENTS_MAX a new id evicts the least recently seen
 * record that is down and not planned; records that are up, or named by the
 * plan, are never evicted; with nothing evictable the add is refused
 * (RF_EFULL) and nothing is lost. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "rd_agent.h"
#include "rf_err.h"

static int
planned_even(void *arg, const char *id)
{
    (void)arg;
    int n = 0;
    sscanf(id, "a%d", &n);
    return n % 2 == 0;   /* a0, a2, ... are in the plan */
}

static void
fill(rd_registry_t *r)
{
    char id[32];
    for (int i = 0; i < RD_AGENTS_MAX; i++) {
        rd_agent_t *a;
        snprintf(id, sizeof(id), "a%d", i);
        assert_int_equal(rd_registry_add(&a, r, id, 1), 0);
        a->last_seen_ms = 1000 + (uint64_t)i;
    }
}

static void
evicts_lru_down_unplanned(void **state)
{
    (void)state;
    rd_registry_t r;
    rd_registry_init(&r);
    r.planned = planned_even;
    fill(&r);
    rd_agent_t *a;
    /* a1 (oldest unplanned) is up: a3 goes instead */
    rd_agent_up(rd_registry_find(&r, "a1"), (void *)&r, 5000);
    assert_int_equal(rd_registry_add(&a, &r, "new-1", 1), 0);
    assert_int_equal(r.n, RD_AGENTS_MAX);
    assert_int_equal(r.evicted, 1);
    assert_null(rd_registry_find(&r, "a3"));
    assert_non_null(rd_registry_find(&r, "a1"));
    assert_non_null(rd_registry_find(&r, "a0"));
    assert_non_null(rd_registry_find(&r, "new-1"));
    assert_int_equal(rd_registry_add(&a, &r, "new-2", 1), 0);
    assert_null(rd_registry_find(&r, "a5"));
    rd_registry_fini(&r);
}

static void
full_of_planned_or_up_refuses(void **state)
{
    (void)state;
    rd_registry_t r;
    rd_registry_init(&r);
    fill(&r);   /* no planned callback: nothing is evictable */
    rd_agent_t *a;
    assert_int_equal(rd_registry_add(&a, &r, "new", 1), RF_EFULL);
    assert_int_equal(r.n, RD_AGENTS_MAX);
    r.planned = planned_even;
    for (size_t i = 0; i < r.n; i++)
        if (!planned_even(NULL, r.a[i]->id))
            rd_agent_up(r.a[i], (void *)&r, 1);
    assert_int_equal(rd_registry_add(&a, &r, "new", 1), RF_EFULL);
    assert_int_equal(r.evicted, 0);
    rd_registry_fini(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(evicts_lru_down_unplanned),
        cmocka_unit_test(full_of_planned_or_up_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
