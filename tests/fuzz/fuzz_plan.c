/* fuzz_plan.c -- plan.json (and state.json) parsers under fuzzing. Any
 * input either is rejected with a "path: reason" message or yields a plan
 * whose assignment table (every listed id registered with its role) keeps
 * the invariants: disjoint slices inside their intercept's block, unique
 * port offsets. A violated invariant aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rd_assign.h"
#include "rd_state.h"
#include "fuzz_target.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rd_plan_t *p = NULL;
    rf_errbuf_t err;
    err.msg[0] = '\0';
    if (rd_plan_parse(&p, (const char *)data, size, &err) != 0) {
        if (err.msg[0] == '\0')
            abort();   /* every rejection must say why */
    } else {
        static rd_known_t known[RD_COPY_MAX + RD_ICPT_MAX];
        size_t nk = 0;
        for (unsigned i = 0; i < p->ncopy; i++, nk++) {
            memset(&known[nk], 0, sizeof(known[nk]));
            memcpy(known[nk].id, p->copy_ids[i], RD_ID_MAX);
            known[nk].role = RD_ROLE_COPY;
            /* with capture groups, some members down: shards over the rest */
            known[nk].up = p->ngroups == 0 || i % 3 != 1;
        }
        for (unsigned i = 0; i < p->nicpt; i++, nk++) {
            memset(&known[nk], 0, sizeof(known[nk]));
            memcpy(known[nk].id, p->icpt_ids[i], RD_ID_MAX);
            known[nk].role = RD_ROLE_ICPT;
            known[nk].up = 1;
        }
        if (nk == 0 || p->copy_all || p->icpt_all) {
            memset(&known[nk], 0, sizeof(known[nk]));
            snprintf(known[nk].id, RD_ID_MAX, "star-copy");
            known[nk].role = RD_ROLE_COPY;
            known[nk++].up = 1;
            memset(&known[nk], 0, sizeof(known[nk]));
            snprintf(known[nk].id, RD_ID_MAX, "star-icpt");
            known[nk].role = RD_ROLE_ICPT;
            known[nk++].up = 1;
        }
        rd_table_t t;
        if (rd_assign_compute(&t, p, NULL, known, nk, &err) == 0) {
            if (rd_table_check(&t, &err) != 0) {
                fprintf(stderr, "invariant broken: %s\n", err.msg);
                abort();
            }
            /* and the state round trip keeps it */
            char *doc;
            size_t len;
            if (rd_state_encode(&doc, &len, 1, p, &t) == 0) {
                uint64_t gen;
                rd_plan_t *p2 = NULL;
                rd_table_t t2;
                if (rd_state_decode(&gen, &p2, &t2, doc, len, &err) != 0) {
                    fprintf(stderr, "own state does not load: %s\n", err.msg);
                    abort();
                }
                rd_plan_free(p2);
                rd_table_fini(&t2);
                free(doc);
            }
            rd_table_fini(&t);
        }
        rd_plan_free(p);
    }
    /* The same bytes as a state document: must never crash either. */
    uint64_t gen;
    rd_plan_t *sp = NULL;
    rd_table_t st;
    if (rd_state_decode(&gen, &sp, &st, (const char *)data, size, &err) == 0) {
        rd_plan_free(sp);
        rd_table_fini(&st);
    }
    return 0;
}
