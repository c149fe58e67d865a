/* load.c — reading ObservabilityStack objects from YAML/JSON files or
 * buffers: multi-document streams, kind List / *List flattened, other kinds
 * skipped. The only I/O in pkg/spec (the file read, via pkg/yaml). */
#include "spec.h"

#include "core.h"
#include "xy.h"

#include <stdio.h>
#include <string.h>

static int is_list_kind(const char *kind)
{
    size_t n = strlen(kind);
    return n >= 4 && strcmp(kind + n - 4, "List") == 0;
}

/* Appends the stacks found in v (a document or a List item) to out. */
static int collect(json_t *out, json_t *v, int depth)
{
    const char *kind;
    json_t *items, *it;
    size_t i;

    if (json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return op_err_set(OP_EINVALID, "a document is not an object");
    kind = json_string_value(json_object_get(v, "kind"));
    if (!kind)
        return op_err_set(OP_EINVALID, "a document has no kind");
    if (strcmp(kind, SPEC_KIND) == 0)
        return json_array_append(out, v) == 0 ? 0 : op_err_set(OP_ENOMEM, "out of memory");
    if (is_list_kind(kind) && depth == 0) {
        items = json_object_get(v, "items");
        if (items && !json_is_array(items))
            return op_err_set(OP_EINVALID, "%s: items is not a list", kind);
        json_array_foreach(items, i, it) {
            int rc = collect(out, it, depth + 1);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

static int collect_docs(json_t **docs_out, json_t *docs)
{
    json_t *out = json_array(), *d;
    size_t i;
    int rc = 0;

    if (!out)
        return op_err_set(OP_ENOMEM, "out of memory");
    json_array_foreach(docs, i, d) {
        if ((rc = collect(out, d, 0)) < 0) {
            char msg[256];
            snprintf(msg, sizeof(msg), "%s", op_err_last()); /* op_err_set reuses that buffer */
            op_err_set(rc, "document %zu: %s", i + 1, msg);
            break;
        }
    }
    if (rc == 0 && json_array_size(out) == 0)
        rc = op_err_set(OP_EINVALID, "no %s found", SPEC_KIND);
    if (rc < 0) {
        json_decref(out);
        return rc;
    }
    *docs_out = out;
    return 0;
}

int spec_load_string(json_t **docs_out, const char *data, size_t len)
{
    json_t *docs = NULL;
    int rc = xy_load(&docs, data, len);
    if (rc < 0)
        return rc;
    rc = collect_docs(docs_out, docs);
    json_decref(docs);
    return rc;
}

int spec_load_file(json_t **docs_out, const char *path_or_dash)
{
    json_t *docs = NULL;
    int rc = xy_load_file(&docs, path_or_dash);
    if (rc < 0)
        return rc;
    rc = collect_docs(docs_out, docs);
    json_decref(docs);
    return rc;
}
