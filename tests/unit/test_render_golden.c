/* test_render_golden.c — golden-file tests for the offline render path.
 * Each directory tests/golden/<case>/ holds input.yaml (or input.path, a
 * repo-relative path such as examples/stack.yaml) and expected.yaml, the
 * exact bytes `crosslink render -f <input>` prints. XL_UPDATE_GOLDEN=1
 * rewrites expected.yaml instead of comparing. */
#include "core.h"
#include "render.h"
#include "spec.h"
#include "test.h"
#include "xy.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#define GOLDEN_DIR XL_SOURCE_DIR "/tests/golden"

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct op_buf b;
    char chunk[4096];
    size_t n;
    char *s;
    if (!f)
        return NULL;
    op_buf_init(&b, 1 << 24);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (op_buf_append(&b, chunk, n) < 0)
            break;
    fclose(f);
    s = op_buf_take(&b);
    op_buf_cleanup(&b);
    return s;
}

static int write_all(const char *path, const char *s)
{
    FILE *f = fopen(path, "wb");
    int ok;
    if (!f)
        return -1;
    ok = fputs(s, f) >= 0;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Same steps as cmd_render: load, decode, render, emit the stream. */
static int render_file(const char *path, char **out)
{
    json_t *docs = NULL, *items = json_array(), *d;
    size_t i;
    int rc = 0;

    if ((rc = spec_load_file(&docs, path)) < 0)
        goto done;
    json_array_foreach(docs, i, d) {
        struct spec_stack *s = NULL;
        struct render_output *o = NULL;
        if ((rc = spec_stack_from_json(&s, d, NULL, NULL)) < 0)
            goto done;
        rc = render_stack(&o, s);
        spec_stack_free(s);
        if (rc < 0)
            goto done;
        for (size_t c = 0; c < o->n; c++)
            json_array_append(items, o->cms[c].object);
        render_output_free(o);
    }
    rc = xy_emit_stream(out, items);
done:
    json_decref(docs);
    json_decref(items);
    return rc;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void first_difference(const char *got, const char *want)
{
    int line = 1;
    const char *g = got, *w = want;
    while (*g && *g == *w) {
        if (*g == '\n')
            line++;
        g++;
        w++;
    }
    fprintf(stderr, "  first difference at line %d:\n    got:  %.80s\n    want: %.80s\n", line, g, w);
}

TEST(golden_cases)
{
    DIR *dir = opendir(GOLDEN_DIR);
    struct dirent *e;
    char *names[128];
    size_t n = 0;
    int update = getenv("XL_UPDATE_GOLDEN") && strcmp(getenv("XL_UPDATE_GOLDEN"), "1") == 0;
    int failed = 0;

    ASSERT_TRUE(dir != NULL);
    while ((e = readdir(dir)) && n < 128)
        if (e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    closedir(dir);
    qsort(names, n, sizeof(names[0]), name_cmp);
    for (size_t i = 0; i < n; i++) {
        char input[1024], expected[1024], ptr[1024];
        char *got = NULL, *want = NULL, *rel;
        json_t *back = NULL;

        snprintf(input, sizeof(input), "%s/%s/input.yaml", GOLDEN_DIR, names[i]);
        snprintf(ptr, sizeof(ptr), "%s/%s/input.path", GOLDEN_DIR, names[i]);
        snprintf(expected, sizeof(expected), "%s/%s/expected.yaml", GOLDEN_DIR, names[i]);
        if ((rel = read_all(ptr)) != NULL) {
            rel[strcspn(rel, "\r\n")] = '\0';
            snprintf(input, sizeof(input), "%s/%s", XL_SOURCE_DIR, rel);
            free(rel);
        }
        if (render_file(input, &got) < 0) {
            fprintf(stderr, "  %s: render failed: %s\n", names[i], op_err_last());
            failed = 1;
        } else if (xy_load(&back, got, strlen(got)) < 0 || json_array_size(back) < 2) {
            fprintf(stderr, "  %s: output does not load back\n", names[i]);
            failed = 1;
        } else if (update) {
            if (write_all(expected, got) < 0) {
                fprintf(stderr, "  %s: cannot write %s\n", names[i], expected);
                failed = 1;
            } else {
                fprintf(stderr, "  %s: updated\n", names[i]);
            }
        } else if (!(want = read_all(expected))) {
            fprintf(stderr, "  %s: missing %s (run with XL_UPDATE_GOLDEN=1)\n", names[i], expected);
            failed = 1;
        } else if (strcmp(got, want) != 0) {
            fprintf(stderr, "  %s: output differs from expected.yaml\n", names[i]);
            first_difference(got, want);
            failed = 1;
        } else {
            printf("     golden %s\n", names[i]);
        }
        json_decref(back);
        free(got);
        free(want);
        free(names[i]);
    }
    ASSERT_TRUE(n >= 2);
    ASSERT_TRUE(!failed);
}

TEST_MAIN()
