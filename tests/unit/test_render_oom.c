/* test_render_oom.c — failure injection in the style of jansson's
 * test_chaos.c: every jansson allocation made while decoding, rendering and
 * emitting a full stack is failed in turn (N = 0, 1, 2, …) until the run
 * succeeds. Each failing run must return an error (never crash, never report
 * success with partial output) and leak nothing (run under ASan/valgrind). */
#include "core.h"
#include "render.h"
#include "spec.h"
#include "test.h"
#include "xy.h"

#include <stdlib.h>
#include <string.h>

static long fail_after = -1; /* -1: never fail */

static void *chaos_malloc(size_t n)
{
    if (fail_after == 0)
        return NULL;
    if (fail_after > 0)
        fail_after--;
    return malloc(n);
}

static void chaos_free(void *p)
{
    free(p);
}

__attribute__((constructor)) static void install_allocator(void)
{
    json_set_alloc_funcs(chaos_malloc, chaos_free);
}

static int run_once(const json_t *obj)
{
    struct spec_stack *s = NULL;
    struct render_output *o = NULL;
    json_t *items = NULL;
    char *y = NULL;
    int rc;

    if ((rc = spec_stack_from_json(&s, obj, NULL, NULL)) < 0)
        goto out;
    if ((rc = render_stack(&o, s)) < 0)
        goto out;
    if (!(items = json_array())) {
        rc = OP_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < o->n; i++)
        if (json_array_append(items, o->cms[i].object) != 0) {
            rc = OP_ENOMEM;
            goto out;
        }
    if ((rc = xy_emit_stream(&y, items)) < 0)
        goto out;
    rc = strstr(y, "prod-grafana-dashboards") ? 0 : OP_ERR;
out:
    free(y);
    json_decref(items);
    render_output_free(o);
    spec_stack_free(s);
    return rc;
}

TEST(every_allocation_failure_is_an_error)
{
    json_t *docs = NULL;
    long n;
    int rc = -1;

    ASSERT_OK(spec_load_file(&docs, XL_SOURCE_DIR "/examples/stack.yaml"));
    for (n = 0; n < 100000; n++) {
        fail_after = n;
        rc = run_once(json_array_get(docs, 0));
        fail_after = -1;
        if (rc == 0)
            break;
        if (rc != OP_ENOMEM)
            TEST_FAIL_("allocation %ld: unexpected rc %d", n, rc);
    }
    json_decref(docs);
    ASSERT_EQ(rc, 0);
    ASSERT_TRUE(n > 100); /* the loop really injected failures */
    printf("     %ld allocation points exercised\n", n);
}

TEST_MAIN()
