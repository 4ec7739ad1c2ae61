/* fuzz_target.h -- what every fuzz target in tests/fuzz/ shares: the
 * libFuzzer entry point's prototype (the same file links with libFuzzer or
 * with standalone.c, which replays a corpus under ctest) and the check that
 * turns a broken property into a crash libFuzzer keeps the input for. */
#ifndef FUZZ_TARGET_H
#define FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

#endif
