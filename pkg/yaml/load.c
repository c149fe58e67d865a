/* load.c — YAML stream -> jansson values with libyaml's event parser.
 * Builds each document bottom-up on an explicit stack (bounded depth), resolves
 * plain scalars like Kubernetes' YAML reader (see xy.h), resolves aliases by
 * deep copy under a node budget. Pure apart from xy_load_file's read. */
#include "xy.h"

#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

struct xy_frame {
    json_t *node;     /* object or array being filled (owned) */
    char *key;        /* mappings: the pending key, NULL when a key is expected */
    char *anchor;     /* anchor of this container, registered when it ends */
};

struct xy_loader {
    struct xy_frame stack[XY_MAX_DEPTH];
    int depth;
    json_t *root;     /* the finished document root (owned) */
    int have_root;
    json_t *anchors;  /* anchor name -> value (object, owned) */
    size_t nodes;     /* nodes created so far (budget) */
};

static const char *const xy_true_words[] = {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE",
                                            "on", "On", "ON", NULL};
static const char *const xy_false_words[] = {"n", "N", "no", "No", "NO", "false", "False", "FALSE",
                                             "off", "Off", "OFF", NULL};
static const char *const xy_null_words[] = {"~", "null", "Null", "NULL", NULL};

static int word_in(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

static int is_digit_in_base(char c, int base)
{
    if (base == 2)
        return c == '0' || c == '1';
    if (base == 8)
        return c >= '0' && c <= '7';
    if (base == 10)
        return c >= '0' && c <= '9';
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Integer forms of go-yaml v2 (strconv.ParseInt base 0 after removing '_'):
 * [-+]? then 0x.., 0o.., 0b.., 0.. (octal) or decimal. Returns 1 and the value
 * when s is such an integer that fits in 64 bits. */
static int parse_int(const char *s, json_int_t *out)
{
    const char *p = s;
    int neg = 0, base = 10, digits = 0;
    unsigned long long v = 0;

    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    } else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O')) {
        base = 8;
        p += 2;
    } else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B')) {
        base = 2;
        p += 2;
    } else if (p[0] == '0' && p[1] != '\0') {
        base = 8;
        p += 1;
    }
    for (; *p; p++) {
        unsigned d;
        if (*p == '_')
            continue;
        if (!is_digit_in_base(*p, base))
            return 0;
        d = (unsigned)(*p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10);
        if (v > (0xFFFFFFFFFFFFFFFFull - d) / (unsigned)base)
            return 0;
        v = v * (unsigned)base + d;
        digits++;
    }
    if (!digits)
        return 0;
    if (!neg && v > 0x7FFFFFFFFFFFFFFFull)
        return 0;
    if (neg && v > 0x8000000000000000ull)
        return 0;
    *out = neg ? (json_int_t)(0 - v) : (json_int_t)v;
    return 1;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static int is_float(const char *s)
{
    const char *p = s;
    int mant = 0;

    if (*p == '-' || *p == '+')
        p++;
    while (*p >= '0' && *p <= '9') {
        p++;
        mant++;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            p++;
            mant++;
        }
    }
    if (!mant)
        return 0;
    if (*p == 'e' || *p == 'E') {
        int exp = 0;
        p++;
        if (*p == '-' || *p == '+')
            p++;
        while (*p >= '0' && *p <= '9') {
            p++;
            exp++;
        }
        if (!exp)
            return 0;
    }
    return *p == '\0';
}

/* Resolves a plain scalar's text; returns a new reference (NULL on OOM). */
static json_t *resolve_plain(const char *s, size_t len)
{
    json_int_t iv;

    if (len != strlen(s))
        return json_stringn(s, len);
    if (len == 0 || word_in(s, xy_null_words))
        return json_null();
    if (word_in(s, xy_true_words))
        return json_true();
    if (word_in(s, xy_false_words))
        return json_false();
    if (parse_int(s, &iv))
        return json_integer(iv);
    if (is_float(s)) {
        char *end = NULL;
        double d;
        errno = 0;
        d = strtod(s, &end);
        if (errno == 0 && end && *end == '\0')
            return json_real(d);
    }
    return json_stringn(s, len);
}

int xy_plain_is_ambiguous(const char *s)
{
    json_t *v;
    int amb;

    if (!s || !*s)
        return 1;
    /* Anything starting like a number, a timestamp, .inf/.nan or a null/merge
     * indicator is quoted; over-quoting is harmless, under-quoting is not. */
    if (strchr("0123456789+-.~<=", s[0]))
        return 1;
    v = resolve_plain(s, strlen(s));
    amb = !v || !json_is_string(v);
    json_decref(v);
    if (!amb) {
        /* Case variants of the YAML 1.1 words (e.g. "yEs") are strings to
         * go-yaml but may not be to other readers: quote them too. */
        static const char *const words[] = {"y", "yes", "n", "no", "true", "false", "on", "off",
                                            "null", NULL};
        for (size_t i = 0; words[i]; i++)
            if (strcasecmp(s, words[i]) == 0)
                return 1;
    }
    return amb;
}

static size_t count_nodes(const json_t *v)
{
    size_t n = 1;
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        json_object_foreach((json_t *)v, k, c)
            n += count_nodes(c);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c)
            n += count_nodes(c);
    }
    return n;
}

static int loader_error(const yaml_mark_t *m, const char *what)
{
    return op_err_set(OP_EINVALID, "line %zu, column %zu: %s", m->line + 1, m->column + 1, what);
}

static int register_anchor(struct xy_loader *L, const char *anchor, json_t *v)
{
    if (!anchor)
        return 0;
    if (json_object_set(L->anchors, anchor, v) != 0)
        return op_err_set(OP_ENOMEM, "out of memory");
    return 0;
}

/* Attaches v (steals) to the current container, or makes it the root. For a
 * mapping expecting a key, a scalar's raw text becomes the key instead. */
static int attach(struct xy_loader *L, json_t *v, const yaml_mark_t *m)
{
    struct xy_frame *f;

    if (!v)
        return op_err_set(OP_ENOMEM, "out of memory");
    if (++L->nodes > XY_MAX_NODES) {
        json_decref(v);
        return op_err_set(OP_ETOOBIG, "document has more than %u nodes", XY_MAX_NODES);
    }
    if (L->depth == 0) {
        L->root = v;
        L->have_root = 1;
        return 0;
    }
    f = &L->stack[L->depth - 1];
    if (json_is_array(f->node)) {
        if (json_array_append_new(f->node, v) != 0)
            return op_err_set(OP_ENOMEM, "out of memory");
        return 0;
    }
    if (!f->key) {
        json_decref(v);
        return loader_error(m, "mapping keys must be scalars");
    }
    if (json_object_get(f->node, f->key)) {
        json_decref(v);
        return op_err_set(OP_EINVALID, "line %zu, column %zu: duplicate mapping key \"%s\"", m->line + 1,
                          m->column + 1, f->key);
    }
    if (json_object_set_new(f->node, f->key, v) != 0)
        return op_err_set(OP_ENOMEM, "out of memory");
    free(f->key);
    f->key = NULL;
    return 0;
}

static int on_scalar(struct xy_loader *L, const yaml_event_t *ev)
{
    const char *text = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    const char *anchor = (const char *)ev->data.scalar.anchor;
    json_t *v;
    int rc;

    if (L->depth > 0) {
        struct xy_frame *f = &L->stack[L->depth - 1];
        if (json_is_object(f->node) && !f->key) {
            if (strlen(text) != len)
                return loader_error(&ev->start_mark, "mapping key contains a NUL character");
            if (!(f->key = strdup(text)))
                return op_err_set(OP_ENOMEM, "out of memory");
            return 0;
        }
    }
    if (tag && strcmp(tag, YAML_STR_TAG) == 0)
        v = json_stringn(text, len);
    else if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !(tag && strcmp(tag, "!") == 0))
        v = resolve_plain(text, len);
    else
        v = json_stringn(text, len);
    if (!v)
        return loader_error(&ev->start_mark, "invalid scalar (bad UTF-8 or out of memory)");
    if (anchor && (rc = register_anchor(L, anchor, v)) < 0) {
        json_decref(v);
        return rc;
    }
    return attach(L, v, &ev->start_mark);
}

static int on_alias(struct xy_loader *L, const yaml_event_t *ev)
{
    const char *anchor = (const char *)ev->data.alias.anchor;
    json_t *target = json_object_get(L->anchors, anchor);
    json_t *copy;
    size_t n;

    if (!target)
        return loader_error(&ev->start_mark, "unknown or unfinished anchor");
    if (L->depth > 0) {
        struct xy_frame *f = &L->stack[L->depth - 1];
        if (json_is_object(f->node) && !f->key) {
            if (!json_is_string(target))
                return loader_error(&ev->start_mark, "alias used as a mapping key must be a string");
            if (!(f->key = strdup(json_string_value(target))))
                return op_err_set(OP_ENOMEM, "out of memory");
            return 0;
        }
    }
    n = count_nodes(target);
    if (L->nodes + n > XY_MAX_NODES)
        return op_err_set(OP_ETOOBIG, "aliases expand to more than %u nodes", XY_MAX_NODES);
    L->nodes += n - 1; /* attach() counts one */
    copy = json_deep_copy(target);
    return attach(L, copy, &ev->start_mark);
}

static int push(struct xy_loader *L, json_t *node, const char *anchor, const yaml_event_t *ev)
{
    struct xy_frame *f;
    if (!node)
        return op_err_set(OP_ENOMEM, "out of memory");
    if (L->depth > 0) {
        struct xy_frame *p = &L->stack[L->depth - 1];
        if (json_is_object(p->node) && !p->key) {
            json_decref(node);
            return loader_error(&ev->start_mark, "mapping keys must be scalars");
        }
    }
    if (L->depth >= XY_MAX_DEPTH) {
        json_decref(node);
        return loader_error(&ev->start_mark, "nesting too deep");
    }
    f = &L->stack[L->depth++];
    f->node = node;
    f->key = NULL;
    f->anchor = NULL;
    if (anchor && !(f->anchor = strdup(anchor)))
        return op_err_set(OP_ENOMEM, "out of memory");
    return 0;
}

static int pop(struct xy_loader *L, const yaml_event_t *ev)
{
    struct xy_frame f = L->stack[--L->depth];
    int rc = 0;

    free(f.key);
    if (f.anchor)
        rc = register_anchor(L, f.anchor, f.node);
    free(f.anchor);
    if (rc < 0) {
        json_decref(f.node);
        return rc;
    }
    return attach(L, f.node, &ev->start_mark);
}

static void loader_reset(struct xy_loader *L)
{
    while (L->depth > 0) {
        struct xy_frame *f = &L->stack[--L->depth];
        json_decref(f->node);
        free(f->key);
        free(f->anchor);
    }
    json_decref(L->root);
    L->root = NULL;
    L->have_root = 0;
    json_object_clear(L->anchors);
}

int xy_load(json_t **docs_out, const char *data, size_t len)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    struct xy_loader L;
    json_t *docs = NULL;
    int rc = OP_ERR, done = 0;

    if (len > XY_MAX_INPUT)
        return op_err_set(OP_ETOOBIG, "input larger than %u bytes", XY_MAX_INPUT);
    memset(&L, 0, sizeof(L));
    if (!yaml_parser_initialize(&parser))
        return op_err_set(OP_ENOMEM, "yaml_parser_initialize failed");
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    L.anchors = json_object();
    docs = json_array();
    if (!L.anchors || !docs) {
        rc = op_err_set(OP_ENOMEM, "out of memory");
        goto out;
    }
    while (!done) {
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = op_err_set(OP_EINVALID, "line %zu, column %zu: %s%s%s", parser.problem_mark.line + 1,
                            parser.problem_mark.column + 1, parser.problem ? parser.problem : "syntax error",
                            parser.context ? " " : "", parser.context ? parser.context : "");
            goto out;
        }
        rc = 0;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            loader_reset(&L);
            break;
        case YAML_DOCUMENT_END_EVENT:
            if (json_array_append_new(docs, L.have_root ? L.root : json_null()) != 0)
                rc = op_err_set(OP_ENOMEM, "out of memory");
            L.root = NULL;
            L.have_root = 0;
            break;
        case YAML_SCALAR_EVENT:
            rc = on_scalar(&L, &ev);
            break;
        case YAML_ALIAS_EVENT:
            rc = on_alias(&L, &ev);
            break;
        case YAML_SEQUENCE_START_EVENT:
            rc = push(&L, json_array(), (const char *)ev.data.sequence_start.anchor, &ev);
            break;
        case YAML_MAPPING_START_EVENT:
            rc = push(&L, json_object(), (const char *)ev.data.mapping_start.anchor, &ev);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            rc = pop(&L, &ev);
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (rc < 0)
            goto out;
    }
    *docs_out = docs;
    docs = NULL;
    rc = 0;
out:
    loader_reset(&L);
    json_decref(L.anchors);
    json_decref(docs);
    yaml_parser_delete(&parser);
    return rc;
}

int xy_load_file(json_t **docs_out, const char *path)
{
    FILE *f;
    struct op_buf b;
    char chunk[65536];
    size_t n;
    int rc = 0, is_stdin = strcmp(path, "-") == 0;

    f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return op_err_set(OP_ENOTFOUND, "%s: no such file", path);
        return op_err_set(OP_ERR, "%s: %s", path, strerror(errno));
    }
    op_buf_init(&b, XY_MAX_INPUT);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if ((rc = op_buf_append(&b, chunk, n)) < 0) {
            rc = op_err_set(rc, "%s: larger than %u bytes", path, XY_MAX_INPUT);
            break;
        }
    }
    if (rc == 0 && ferror(f))
        rc = op_err_set(OP_ERR, "%s: read error", path);
    if (!is_stdin)
        fclose(f);
    if (rc == 0)
        rc = xy_load(docs_out, b.data ? b.data : "", b.len);
    op_buf_cleanup(&b);
    return rc;
}
