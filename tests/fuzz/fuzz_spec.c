/* fuzz_spec.c — libFuzzer target: ObservabilityStack documents (YAML/JSON)
 * through spec_load_string, spec_stack_from_json (decode, defaults,
 * validation) and, for a valid stack, render_stack. Properties: an invalid
 * stack always names at least one problem; a valid one always renders. */
#include "fuzz.h"

#include "core.h"
#include "render.h"
#include "spec.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *docs = NULL, *doc;
    size_t i;

    if (spec_load_string(&docs, (const char *)data, size) < 0)
        return 0;
    json_array_foreach(docs, i, doc) {
        struct spec_stack *s = NULL;
        struct spec_errors errs;
        int rc;

        spec_errors_init(&errs);
        rc = spec_stack_from_json(&s, doc, "fuzz", &errs);
        if (rc == OP_EINVALID) {
            char *msg = spec_errors_format(&errs, "\n");
            FUZZ_CHECK(errs.n > 0);
            FUZZ_CHECK(s == NULL);
            free(msg);
        } else if (rc == 0) {
            struct render_output *o = NULL;
            FUZZ_CHECK(s != NULL);
            FUZZ_CHECK(render_stack(&o, s) == 0);
            render_output_free(o);
            spec_stack_free(s);
        }
        spec_errors_cleanup(&errs);
    }
    json_decref(docs);
    return 0;
}
