/* fuzz.h — shared declaration for the libFuzzer targets in tests/fuzz: each
 * fuzz_<target>.c defines LLVMFuzzerTestOneInput; under clang with
 * CROSSLINK_FUZZ libFuzzer drives it, otherwise replay.c runs it over the
 * stored corpus (tests/fuzz/<target>/) as a plain unit test. */
#ifndef CROSSLINK_FUZZ_H
#define CROSSLINK_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property that must hold for every input: abort (a crash libFuzzer keeps)
 * with the reason. */
#define FUZZ_CHECK(cond)                                                                    \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);     \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

#endif
