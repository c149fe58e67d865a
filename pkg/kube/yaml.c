/* yaml.c — a minimal libyaml → jansson loader private to pkg/kube, enough for
 * kubeconfig files: first document only, aliases resolved, plain scalars
 * typed (bool/null/int), everything else strings. Bounded depth and node
 * count so alias bombs cannot blow up memory. */
#include "kube_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define KUBE_YAML_MAX_DEPTH 64
#define KUBE_YAML_MAX_NODES 200000

struct ycx {
    yaml_document_t *doc;
    size_t visits;
};

static json_t *scalar_to_json(const yaml_node_t *n)
{
    const char *v = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    const char *tag = (const char *)n->tag;

    if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
        (!tag || strcmp(tag, YAML_DEFAULT_SCALAR_TAG) == 0)) {
        if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0 || strcmp(v, "TRUE") == 0)
            return json_true();
        if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0 || strcmp(v, "FALSE") == 0)
            return json_false();
        if (len == 0 || strcmp(v, "null") == 0 || strcmp(v, "~") == 0 || strcmp(v, "Null") == 0)
            return json_null();
        if (len < 19) {
            char *end = NULL;
            long long x;
            errno = 0;
            x = strtoll(v, &end, 10);
            if (errno == 0 && end && *end == '\0' && end != v)
                return json_integer(x);
        }
    }
    return json_stringn(v, len);
}

static json_t *node_to_json(struct ycx *cx, yaml_node_t *n, int depth)
{
    json_t *out = NULL;

    if (!n || depth > KUBE_YAML_MAX_DEPTH || ++cx->visits > KUBE_YAML_MAX_NODES)
        return NULL;
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return scalar_to_json(n);
    case YAML_SEQUENCE_NODE: {
        yaml_node_item_t *it;
        out = json_array();
        if (!out)
            return NULL;
        for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
            json_t *v = node_to_json(cx, yaml_document_get_node(cx->doc, *it), depth + 1);
            if (!v || json_array_append_new(out, v) < 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
    case YAML_MAPPING_NODE: {
        yaml_node_pair_t *p;
        out = json_object();
        if (!out)
            return NULL;
        for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(cx->doc, p->key);
            json_t *v;
            char *key;
            if (!k || k->type != YAML_SCALAR_NODE) {
                json_decref(out);
                return NULL;
            }
            key = strndup((const char *)k->data.scalar.value, k->data.scalar.length);
            v = node_to_json(cx, yaml_document_get_node(cx->doc, p->value), depth + 1);
            if (!key || !v || json_object_set_new(out, key, v) < 0) {
                free(key);
                json_decref(v);
                json_decref(out);
                return NULL;
            }
            free(key);
        }
        return out;
    }
    default:
        return NULL;
    }
}

int kube__yaml_load(const char *text, size_t len, json_t **out)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_node_t *root;
    struct ycx cx = {0};
    json_t *j = NULL;
    int err = OP_OK;

    if (!yaml_parser_initialize(&parser))
        return op_err_set(OP_ENOMEM, "yaml: parser init failed");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        err = op_err_set(OP_EINVALID, "yaml: %s at line %lu column %lu",
                         parser.problem ? parser.problem : "syntax error",
                         (unsigned long)parser.problem_mark.line + 1,
                         (unsigned long)parser.problem_mark.column + 1);
        yaml_parser_delete(&parser);
        return err;
    }
    root = yaml_document_get_root_node(&doc);
    if (!root) {
        j = json_object(); /* empty file: empty config */
    } else {
        cx.doc = &doc;
        j = node_to_json(&cx, root, 0);
        if (!j)
            err = op_err_set(OP_EINVALID, "yaml: unsupported structure (non-scalar key, too deep or too large)");
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (err == OP_OK) {
        if (!j)
            return op_err_set(OP_ENOMEM, "yaml: out of memory");
        *out = j;
    }
    return err;
}
