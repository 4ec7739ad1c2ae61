/* rf_assert.h -- invariant checks for debug and sanitizer builds.
 *
 * RF_ASSERT(cond) states something the code relies on and that no input
 * can make false (pool counts, list links, table sizes): a false one is a
 * bug here, not a bad packet. It is compiled in when RF_INVARIANTS is
 * defined (rf_build_flags: Debug or RF_SANITIZE builds: unit tests, fuzz
 * replay, build-asan) and prints the condition and place, then aborts so
 * the sanitizer or the fuzzer reports it. In release builds it costs
 * nothing: the condition is not evaluated (sizeof only type-checks it).
 * Input from peers and files is never checked with it: that is the job of
 * the error paths and their counters. */
#ifndef RF_ASSERT_H
#define RF_ASSERT_H

#ifdef RF_INVARIANTS
#include <stdio.h>
#include <stdlib.h>

static inline void __attribute__((noreturn, cold))
rf_assert_fail(const char *cond, const char *file, int line, const char *func)
{
    fprintf(stderr, "%s:%d: %s: invariant violated: %s\n", file, line, func, cond);
    abort();
}

#define RF_ASSERT(cond) \
    ((cond) ? (void)0 : rf_assert_fail(#cond, __FILE__, __LINE__, __func__))
#define RF_INVARIANTS_ON 1
#else
#define RF_ASSERT(cond) ((void)sizeof((cond) ? 1 : 0))
#define RF_INVARIANTS_ON 0
#endif

/* RF_CHECK(cond, fmt, ...): for the structure walkers tests and fuzzers call
 * in every build (cp_engine_check, ic_route_check, ...; signature
 * `int f(..., char *why, size_t len)`): a false cond writes what is wrong
 * into why and returns -1 from the walker. */
#include <stdio.h>
#define RF_CHECK(cond, ...)                    \
    do {                                       \
        if (!(cond)) {                         \
            snprintf(why, len, __VA_ARGS__);   \
            return -1;                         \
        }                                      \
    } while (0)

#endif
