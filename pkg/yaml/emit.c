/* emit.c — jansson values -> deterministic block-style YAML via libyaml's
 * emitter. Key order is fixed by a rule (priority keys, then strcmp), never by
 * insertion order; scalar styles are chosen so every string loads back as the
 * same string (see xy.h). Pure; output goes to a bounded buffer. */
#include "xy.h"

#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define XY_MAX_OUTPUT (64u * 1024u * 1024u)

static const char *const xy_priority_keys[] = {"apiVersion", "kind", "metadata", "name", "namespace", NULL};

static int key_rank(const char *k)
{
    for (int i = 0; xy_priority_keys[i]; i++)
        if (strcmp(k, xy_priority_keys[i]) == 0)
            return i;
    return 1000;
}

static int key_cmp(const void *a, const void *b)
{
    const char *ka = *(const char *const *)a, *kb = *(const char *const *)b;
    int ra = key_rank(ka), rb = key_rank(kb);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    return strcmp(ka, kb);
}

static int write_handler(void *data, unsigned char *buffer, size_t size)
{
    struct op_buf *b = data;
    return op_buf_append(b, buffer, size) == 0;
}

static int emit_event(yaml_emitter_t *e, yaml_event_t *ev)
{
    if (!yaml_emitter_emit(e, ev))
        return op_err_set(e->error == YAML_MEMORY_ERROR ? OP_ENOMEM : OP_ERR, "yaml emitter: %s",
                          e->problem ? e->problem : "write failed (output too large?)");
    return 0;
}

static int emit_scalar(yaml_emitter_t *e, const char *s, size_t len, yaml_scalar_style_t style)
{
    yaml_event_t ev;
    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)len, 1, 1, style))
        return op_err_set(OP_ENOMEM, "out of memory");
    return emit_event(e, &ev);
}

static int emit_string(yaml_emitter_t *e, const char *s, size_t len)
{
    yaml_scalar_style_t style = YAML_PLAIN_SCALAR_STYLE;

    if (len != strlen(s))
        style = YAML_DOUBLE_QUOTED_SCALAR_STYLE; /* embedded NUL: only "\0" survives */
    else if (memchr(s, '\n', len))
        style = YAML_LITERAL_SCALAR_STYLE; /* libyaml falls back to double quotes if needed */
    else if (xy_plain_is_ambiguous(s))
        style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    return emit_scalar(e, s, len, style);
}

static int emit_node(yaml_emitter_t *e, const json_t *v, int depth)
{
    yaml_event_t ev;
    char num[64];
    int rc;

    if (depth > XY_MAX_DEPTH)
        return op_err_set(OP_EINVALID, "value nested too deep to emit");
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v), i = 0;
        const char **keys = NULL;
        const char *k;
        json_t *c;

        if (n && !(keys = malloc(n * sizeof(*keys))))
            return op_err_set(OP_ENOMEM, "out of memory");
        json_object_foreach((json_t *)v, k, c)
            keys[i++] = k;
        if (n > 1)
            qsort(keys, n, sizeof(*keys), key_cmp);
        if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE)) {
            free(keys);
            return op_err_set(OP_ENOMEM, "out of memory");
        }
        rc = emit_event(e, &ev);
        for (i = 0; rc == 0 && i < n; i++) {
            rc = emit_string(e, keys[i], strlen(keys[i]));
            if (rc == 0)
                rc = emit_node(e, json_object_get(v, keys[i]), depth + 1);
        }
        free(keys);
        if (rc < 0)
            return rc;
        yaml_mapping_end_event_initialize(&ev);
        return emit_event(e, &ev);
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *c;
        if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE))
            return op_err_set(OP_ENOMEM, "out of memory");
        if ((rc = emit_event(e, &ev)) < 0)
            return rc;
        json_array_foreach(v, i, c)
            if ((rc = emit_node(e, c, depth + 1)) < 0)
                return rc;
        yaml_sequence_end_event_initialize(&ev);
        return emit_event(e, &ev);
    }
    case JSON_STRING:
        return emit_string(e, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return emit_scalar(e, num, strlen(num), YAML_PLAIN_SCALAR_STYLE);
    case JSON_REAL:
        snprintf(num, sizeof(num), "%.17g", json_real_value(v));
        if (!strpbrk(num, ".eE"))
            strncat(num, ".0", sizeof(num) - strlen(num) - 1);
        return emit_scalar(e, num, strlen(num), YAML_PLAIN_SCALAR_STYLE);
    case JSON_TRUE:
        return emit_scalar(e, "true", 4, YAML_PLAIN_SCALAR_STYLE);
    case JSON_FALSE:
        return emit_scalar(e, "false", 5, YAML_PLAIN_SCALAR_STYLE);
    case JSON_NULL:
    default:
        return emit_scalar(e, "null", 4, YAML_PLAIN_SCALAR_STYLE);
    }
}

/* docs: array of documents; explicit: start each with "---". */
static int emit_docs(char **out, const json_t *docs, int explicit_start)
{
    yaml_emitter_t e;
    yaml_event_t ev;
    struct op_buf b;
    size_t i;
    json_t *d;
    int rc = OP_ERR;

    op_buf_init(&b, XY_MAX_OUTPUT);
    if (!yaml_emitter_initialize(&e))
        return op_err_set(OP_ENOMEM, "yaml_emitter_initialize failed");
    yaml_emitter_set_output(&e, write_handler, &b);
    yaml_emitter_set_unicode(&e, 1);
    yaml_emitter_set_width(&e, -1);
    yaml_emitter_set_indent(&e, 2);
    yaml_emitter_set_break(&e, YAML_LN_BREAK);

    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    if ((rc = emit_event(&e, &ev)) < 0)
        goto out;
    json_array_foreach(docs, i, d) {
        if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, !explicit_start)) {
            rc = op_err_set(OP_ENOMEM, "out of memory");
            goto out;
        }
        if ((rc = emit_event(&e, &ev)) < 0)
            goto out;
        if ((rc = emit_node(&e, d, 0)) < 0)
            goto out;
        yaml_document_end_event_initialize(&ev, 1);
        if ((rc = emit_event(&e, &ev)) < 0)
            goto out;
    }
    yaml_stream_end_event_initialize(&ev);
    if ((rc = emit_event(&e, &ev)) < 0)
        goto out;
    if (!yaml_emitter_flush(&e)) {
        rc = op_err_set(OP_ERR, "yaml emitter: flush failed");
        goto out;
    }
    if (!(*out = op_buf_take(&b))) {
        rc = op_err_set(OP_ENOMEM, "out of memory");
        goto out;
    }
    rc = 0;
out:
    yaml_emitter_delete(&e);
    op_buf_cleanup(&b);
    return rc;
}

int xy_emit(char **out, const json_t *doc)
{
    json_t *docs = json_array();
    int rc;
    if (!docs || json_array_append(docs, (json_t *)doc) != 0) {
        json_decref(docs);
        return op_err_set(OP_ENOMEM, "out of memory");
    }
    rc = emit_docs(out, docs, 0);
    json_decref(docs);
    return rc;
}

int xy_emit_stream(char **out, const json_t *docs)
{
    if (!json_is_array(docs))
        return op_err_set(OP_EINVALID, "xy_emit_stream: not an array");
    return emit_docs(out, docs, 1);
}
