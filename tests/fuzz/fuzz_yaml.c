/* fuzz_yaml.c — libFuzzer target: the YAML loader (pkg/yaml, xy_load) and
 * the emitter. Property: whatever loads, emits, and the emitted stream loads
 * back to an equal value (the emitter's quoting keeps every string a string). */
#include "fuzz.h"

#include "core.h"
#include "xy.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *docs = NULL, *again = NULL;
    char *out = NULL;

    if (xy_load(&docs, (const char *)data, size) < 0)
        return 0;
    FUZZ_CHECK(json_is_array(docs));
    if (xy_emit_stream(&out, docs) == 0) {
        int rc = xy_load(&again, out, strlen(out));
        if (rc != 0 || !json_equal(docs, again)) {
            fprintf(stderr, "emitted:\n%s\n", out);
            FUZZ_CHECK(rc == 0);
            FUZZ_CHECK(json_equal(docs, again));
        }
    }
    json_decref(again);
    free(out);
    json_decref(docs);
    return 0;
}
