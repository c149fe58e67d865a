/* decode.c — ObservabilityStack JSON -> struct spec_stack: type checks,
 * unknown-field detection, defaults and validation. Every problem is recorded
 * as "path: rule" and decoding continues, so the user sees all of them at
 * once. Pure; the rules mirror crds/crosslink.dev_observabilitystacks.yaml. */
#include "spec.h"

#include "core.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_PROFILE_TYPE "process_cpu:cpu:nanoseconds:cpu:nanoseconds"
#define PATH_MAX_LEN 256

struct dec {
    struct spec_errors errs;
    int oom;
};

static void fail(struct dec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct dec *d, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (spec_errors_add(&d->errs, "%s", msg) < 0)
        d->oom = 1;
}

static char *dup_or_oom(struct dec *d, const char *s)
{
    char *r;
    if (!s)
        return NULL;
    if (!(r = strdup(s)))
        d->oom = 1;
    return r;
}

static char *aprintf_or_oom(struct dec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *aprintf_or_oom(struct dec *d, const char *fmt, ...)
{
    struct op_buf b;
    va_list ap;
    char *s = NULL;

    op_buf_init(&b, 1u << 20);
    va_start(ap, fmt);
    if (op_buf_vappendf(&b, fmt, ap) == 0)
        s = op_buf_take(&b);
    va_end(ap);
    op_buf_cleanup(&b);
    if (!s)
        d->oom = 1;
    return s;
}

static void join(char *out, const char *base, const char *key)
{
    snprintf(out, PATH_MAX_LEN, "%s.%s", base, key);
}

/* ---- generic field access ---------------------------------------------- */

/* Reports every key of obj not listed in allowed (NULL-terminated). */
static void check_fields(struct dec *d, const json_t *obj, const char *path, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        int ok = 0;
        for (size_t i = 0; allowed[i]; i++)
            if (strcmp(k, allowed[i]) == 0)
                ok = 1;
        if (!ok)
            fail(d, "%s.%s: unknown field", path, k);
    }
}

/* Returns obj[key] if it is an object; reports a type error otherwise.
 * Absent (or null) -> NULL without error. */
static json_t *get_object(struct dec *d, const json_t *obj, const char *path, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_object(v)) {
        fail(d, "%s.%s: must be an object", path, key);
        return NULL;
    }
    return v;
}

/* Opens a nested object: get_object, then its path (path.key, written to p)
 * and the unknown-field check. Absent or not an object -> NULL. */
static json_t *open_object(struct dec *d, const json_t *obj, const char *path, const char *key,
                           const char *const *allowed, char p[PATH_MAX_LEN])
{
    json_t *o = get_object(d, obj, path, key);
    if (o) {
        join(p, path, key);
        check_fields(d, o, p, allowed);
    }
    return o;
}

/* Opens element i of the array path.key: its path (path.key[i], written to
 * p of psz bytes), the object check and the unknown-field check. Returns 0
 * (reported) when it is not an object. */
static int open_item(struct dec *d, const json_t *it, const char *path, const char *key, size_t i,
                     const char *const *allowed, char *p, size_t psz)
{
    snprintf(p, psz, "%s.%s[%zu]", path, key, i);
    if (!json_is_object(it)) {
        fail(d, "%s: must be an object", p);
        return 0;
    }
    check_fields(d, it, p, allowed);
    return 1;
}

static json_t *get_array(struct dec *d, const json_t *obj, const char *path, const char *key, size_t max)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_array(v)) {
        fail(d, "%s.%s: must be a list", path, key);
        return NULL;
    }
    if (json_array_size(v) > max) {
        fail(d, "%s.%s: must have at most %zu items", path, key, max);
        return NULL;
    }
    return v;
}

/* *out = malloc'd copy of the string, or NULL when absent/invalid. Returns 1
 * when present and a string. */
#define F_REQ 1      /* must be present */
#define F_NONEMPTY 2 /* must not be "" when present */

static int get_string(struct dec *d, const json_t *obj, const char *path, const char *key, int flags,
                      size_t max_len, char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (flags & F_REQ)
            fail(d, "%s.%s: required", path, key);
        return 0;
    }
    if (!json_is_string(v)) {
        fail(d, "%s.%s: must be a string", path, key);
        return 0;
    }
    if (json_string_length(v) != strlen(json_string_value(v))) {
        fail(d, "%s.%s: must not contain NUL characters", path, key);
        return 0;
    }
    if ((flags & (F_REQ | F_NONEMPTY)) && json_string_length(v) == 0) {
        fail(d, "%s.%s: must not be empty", path, key);
        return 0;
    }
    if (max_len && json_string_length(v) > max_len) {
        fail(d, "%s.%s: must be at most %zu characters", path, key, max_len);
        return 0;
    }
    *out = dup_or_oom(d, json_string_value(v));
    return *out != NULL;
}

/* Returns 1 and sets *out when present and boolean. */
static int get_bool(struct dec *d, const json_t *obj, const char *path, const char *key, int *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v)) {
        fail(d, "%s.%s: must be true or false", path, key);
        return 0;
    }
    *out = json_is_true(v);
    return 1;
}

static int get_int(struct dec *d, const json_t *obj, const char *path, const char *key, int64_t min,
                   int64_t max, int64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v)) {
        fail(d, "%s.%s: must be an integer", path, key);
        return 0;
    }
    if (json_integer_value(v) < min || json_integer_value(v) > max) {
        fail(d, "%s.%s: must be between %lld and %lld", path, key, (long long)min, (long long)max);
        return 0;
    }
    *out = json_integer_value(v);
    return 1;
}

/* A non-negative Go duration that is a whole number of milliseconds (Grafana
 * has no smaller unit); *s_out keeps the text as written. */
static int get_duration(struct dec *d, const json_t *obj, const char *path, const char *key, char **s_out,
                        int64_t *ms_out)
{
    char *s;
    int64_t ms;
    int rc;
    if (!get_string(d, obj, path, key, 0, 32, &s))
        return 0;
    if ((rc = spec_duration_parse_exact(s, 0, &ms)) < 0) {
        if (rc == OP_ERR)
            fail(d, "%s.%s: must be a whole number of milliseconds (Grafana has no smaller unit)", path, key);
        else
            fail(d, "%s.%s: must be a duration such as 15s, 5m or 1h30m", path, key);
        free(s);
        return 0;
    }
    free(*s_out);
    *s_out = s;
    *ms_out = ms;
    return 1;
}

/* ---- value rules -------------------------------------------------------- */

static int is_dns_label(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return 0;
    }
    return s[0] != '-' && s[n - 1] != '-';
}

static int is_dns_subdomain(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return 0;
        if (c == '.' && (i == 0 || s[i - 1] == '.' || s[i - 1] == '-' || i == n - 1 || s[i + 1] == '-'))
            return 0;
    }
    return s[0] != '-' && s[n - 1] != '-';
}

static int is_uid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SPEC_UID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-'))
            return 0;
    return 1;
}

static int is_http_url(const char *s)
{
    const char *host;
    size_t hl;
    if (strncasecmp(s, "http://", 7) == 0)
        host = s + 7;
    else if (strncasecmp(s, "https://", 8) == 0)
        host = s + 8;
    else
        return 0;
    hl = strcspn(host, "/?#");
    if (hl == 0)
        return 0;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return 0;
    return 1;
}

static int is_label_name(const char *s) /* Prometheus label / metric-ish: [a-zA-Z_][a-zA-Z0-9_]* */
{
    if (!s[0] || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return 0;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_'))
            return 0;
    return 1;
}

static int is_metric_name(const char *s)
{
    if (!s[0] || !(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == ':'))
        return 0;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_' || *p == ':'))
            return 0;
    return 1;
}

static int is_tenant(const char *s)
{
    if (!s[0])
        return 0;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr("!._*'()|-", *p)))
            return 0;
    return 1;
}

static int is_config_key(const char *s)
{
    if (!s[0] || strlen(s) > 253)
        return 0;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.'))
            return 0;
    return 1;
}

static int is_profile_type(const char *s)
{
    int parts = 1;
    size_t run = 0;
    for (const char *p = s; *p; p++) {
        if (isspace((unsigned char)*p))
            return 0;
        if (*p == ':') {
            if (!run)
                return 0;
            parts++;
            run = 0;
        } else {
            run++;
        }
    }
    return parts == 5 && run > 0;
}

/* Kubernetes label value: empty or [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, <= 63. */
static int is_label_value(const char *s)
{
    size_t n = strlen(s);
    if (n == 0)
        return 1;
    if (n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.'))
            return 0;
    return 1;
}

/* Kubernetes label key: [prefix/]name. */
static int is_label_key(const char *s)
{
    const char *slash = strchr(s, '/');
    const char *name = slash ? slash + 1 : s;
    if (slash) {
        char prefix[254];
        size_t pl = (size_t)(slash - s);
        if (pl == 0 || pl > 253)
            return 0;
        memcpy(prefix, s, pl);
        prefix[pl] = '\0';
        if (!is_dns_subdomain(prefix))
            return 0;
    }
    return name[0] && is_label_value(name);
}

/* ---- building blocks ---------------------------------------------------- */

static void decode_key_ref(struct dec *d, const json_t *parent, const char *path, const char *key,
                           const char *what, struct spec_key_ref *out)
{
    static const char *const allowed[] = {"name", "key", NULL};
    char p[PATH_MAX_LEN];
    json_t *o = open_object(d, parent, path, key, allowed, p);
    if (!o)
        return;
    if (get_string(d, o, p, "name", F_REQ, 253, &out->name) && !is_dns_subdomain(out->name))
        fail(d, "%s.name: must be a valid %s name (lowercase DNS subdomain)", p, what);
    if (get_string(d, o, p, "key", F_REQ, 253, &out->key) && !is_config_key(out->key))
        fail(d, "%s.key: must consist of alphanumerics, '-', '_' or '.'", p);
    if (!out->name || !out->key) {
        free(out->name);
        free(out->key);
        out->name = out->key = NULL;
    }
}

static void free_key_ref(struct spec_key_ref *r)
{
    free(r->name);
    free(r->key);
}

static void free_tags(struct spec_tags *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].attribute);
        free(t->v[i].label);
    }
    free(t->v);
    t->v = NULL;
    t->n = 0;
}

static int tags_push(struct dec *d, struct spec_tags *t, const char *attribute, const char *label)
{
    struct spec_tag *v = realloc(t->v, (t->n + 1) * sizeof(*v));
    if (!v) {
        d->oom = 1;
        return -1;
    }
    t->v = v;
    t->v[t->n].attribute = dup_or_oom(d, attribute);
    t->v[t->n].label = dup_or_oom(d, label);
    t->n++;
    return 0;
}

/* Returns 1 when the list was present (even if some entries were invalid). */
static int decode_tags(struct dec *d, const json_t *parent, const char *path, const char *key,
                       struct spec_tags *out)
{
    static const char *const allowed[] = {"attribute", "label", NULL};
    json_t *a = get_array(d, parent, path, key, 16), *it;
    size_t i;
    if (!a)
        return 0;
    json_array_foreach(a, i, it) {
        char p[PATH_MAX_LEN];
        char *attr = NULL, *label = NULL;
        if (!open_item(d, it, path, key, i, allowed, p, sizeof(p)))
            continue;
        get_string(d, it, p, "attribute", F_REQ, 256, &attr);
        if (get_string(d, it, p, "label", F_REQ, 128, &label) && !is_label_name(label))
            fail(d, "%s.label: must be a label name ([a-zA-Z_][a-zA-Z0-9_]*)", p);
        if (attr && label)
            tags_push(d, out, attr, label);
        free(attr);
        free(label);
    }
    return 1;
}

static int copy_tags(struct dec *d, struct spec_tags *dst, const struct spec_tags *src)
{
    for (size_t i = 0; i < src->n; i++)
        if (tags_push(d, dst, src->v[i].attribute, src->v[i].label) < 0)
            return -1;
    return 0;
}

static void decode_time_shift(struct dec *d, const json_t *parent, const char *path, const char *key,
                              struct spec_time_shift *ts)
{
    static const char *const allowed[] = {"before", "after", NULL};
    char p[PATH_MAX_LEN];
    json_t *o = open_object(d, parent, path, key, allowed, p);
    if (!o)
        return;
    get_duration(d, o, p, "before", &ts->before, &ts->before_ms);
    get_duration(d, o, p, "after", &ts->after, &ts->after_ms);
}

static void copy_time_shift(struct dec *d, struct spec_time_shift *dst, const struct spec_time_shift *src)
{
    if (!dst->before) {
        dst->before = dup_or_oom(d, src->before);
        dst->before_ms = src->before_ms;
    }
    if (!dst->after) {
        dst->after = dup_or_oom(d, src->after);
        dst->after_ms = src->after_ms;
    }
}

static void free_time_shift(struct spec_time_shift *ts)
{
    free(ts->before);
    free(ts->after);
}

static void decode_labels(struct dec *d, const json_t *parent, const char *path, const char *key,
                          struct spec_kvs *out, const char *dflt_key)
{
    json_t *o = get_object(d, parent, path, key), *v;
    const char *k;
    char p[PATH_MAX_LEN];

    if (!o) {
        if (!(out->v = calloc(1, sizeof(*out->v)))) {
            d->oom = 1;
            return;
        }
        out->v[0].key = dup_or_oom(d, dflt_key);
        out->v[0].value = dup_or_oom(d, "1");
        out->n = 1;
        return;
    }
    join(p, path, key);
    if (json_object_size(o) > 16) {
        fail(d, "%s: must have at most 16 labels", p);
        return;
    }
    if (json_object_size(o) && !(out->v = calloc(json_object_size(o), sizeof(*out->v)))) {
        d->oom = 1;
        return;
    }
    json_object_foreach(o, k, v) {
        if (!is_label_key(k)) {
            fail(d, "%s.%s: invalid label key", p, k);
            continue;
        }
        if (!json_is_string(v)) {
            fail(d, "%s.%s: must be a string", p, k);
            continue;
        }
        if (!is_label_value(json_string_value(v))) {
            fail(d, "%s.%s: must be a valid label value (<= 63 alphanumerics, '-', '_', '.')", p, k);
            continue;
        }
        out->v[out->n].key = dup_or_oom(d, k);
        out->v[out->n].value = dup_or_oom(d, json_string_value(v));
        out->n++;
    }
}

static int kv_cmp(const void *a, const void *b)
{
    const struct spec_kv *x = a, *y = b;
    return strcmp(x->key ? x->key : "", y->key ? y->key : "");
}

static void free_kvs(struct spec_kvs *k)
{
    for (size_t i = 0; i < k->n; i++) {
        free(k->v[i].key);
        free(k->v[i].value);
    }
    free(k->v);
}

/* ---- backends ------------------------------------------------------------ */

static const char *const flavor_names[] = {"Mimir", "Prometheus", "Cortex", "Thanos", NULL};

static void decode_auth(struct dec *d, const json_t *parent, const char *path, struct spec_auth *a)
{
    static const char *const allowed[] = {"basic", "bearerTokenSecretRef", NULL};
    static const char *const basic_allowed[] = {"username", "passwordSecretRef", NULL};
    char p[PATH_MAX_LEN], bp[PATH_MAX_LEN];
    json_t *o = open_object(d, parent, path, "auth", allowed, p), *basic;
    if (!o)
        return;
    if ((basic = open_object(d, o, p, "basic", basic_allowed, bp))) {
        get_string(d, basic, bp, "username", F_REQ, 256, &a->basic_username);
        decode_key_ref(d, basic, bp, "passwordSecretRef", "Secret", &a->basic_password);
        if (!json_object_get(basic, "passwordSecretRef"))
            fail(d, "%s.passwordSecretRef: required", bp);
        if (!a->basic_username || !a->basic_password.name) {
            free(a->basic_username);
            a->basic_username = NULL;
        }
    }
    decode_key_ref(d, o, p, "bearerTokenSecretRef", "Secret", &a->bearer_token);
    if (basic && json_object_get(o, "bearerTokenSecretRef"))
        fail(d, "%s: set at most one of basic and bearerTokenSecretRef", p);
}

static void decode_tls(struct dec *d, const json_t *parent, const char *path, struct spec_tls *t)
{
    static const char *const allowed[] = {"caSecretRef", "caConfigMapRef", "serverName", "insecureSkipVerify",
                                          NULL};
    char p[PATH_MAX_LEN];
    json_t *o = open_object(d, parent, path, "tls", allowed, p);
    if (!o)
        return;
    decode_key_ref(d, o, p, "caSecretRef", "Secret", &t->ca_secret);
    decode_key_ref(d, o, p, "caConfigMapRef", "ConfigMap", &t->ca_configmap);
    if (json_object_get(o, "caSecretRef") && json_object_get(o, "caConfigMapRef"))
        fail(d, "%s: set at most one of caSecretRef and caConfigMapRef", p);
    get_string(d, o, p, "serverName", F_NONEMPTY, 253, &t->server_name);
    get_bool(d, o, p, "insecureSkipVerify", &t->insecure_skip_verify);
}

static int push_trace_field(struct dec *d, struct spec_backend *b, const char *name, enum spec_matcher mt,
                            const char *re, const char *label)
{
    struct spec_trace_id_field *v = realloc(b->trace_id_fields, (b->n_trace_id_fields + 1) * sizeof(*v));
    if (!v) {
        d->oom = 1;
        return -1;
    }
    b->trace_id_fields = v;
    v = &b->trace_id_fields[b->n_trace_id_fields++];
    v->name = dup_or_oom(d, name);
    v->matcher_type = mt;
    v->matcher_regex = dup_or_oom(d, re);
    v->url_display_label = dup_or_oom(d, label);
    return 0;
}

static void decode_trace_id_fields(struct dec *d, const json_t *o, const char *path, struct spec_backend *b)
{
    static const char *const allowed[] = {"name", "matcherType", "matcherRegex", "urlDisplayLabel", NULL};
    json_t *a = get_array(d, o, path, "traceIdFields", 16), *it;
    size_t i;

    if (a) {
        json_array_foreach(a, i, it) {
            char p[PATH_MAX_LEN];
            char *name = NULL, *mt = NULL, *re = NULL, *label = NULL;
            enum spec_matcher m = SPEC_MATCHER_REGEX;
            if (!open_item(d, it, path, "traceIdFields", i, allowed, p, sizeof(p)))
                continue;
            get_string(d, it, p, "name", F_REQ, 64, &name);
            if (get_string(d, it, p, "matcherType", 0, 16, &mt)) {
                if (strcmp(mt, "label") == 0)
                    m = SPEC_MATCHER_LABEL;
                else if (strcmp(mt, "regex") != 0)
                    fail(d, "%s.matcherType: must be regex or label", p);
            }
            /* A label matcher is looked up as an exact key before Grafana
             * 11.5 and tested as a RegExp from 11.5 (getDerivedFields.ts):
             * only a plain label name means the same in both. */
            if (get_string(d, it, p, "matcherRegex", F_REQ, 512, &re) && m == SPEC_MATCHER_LABEL &&
                !is_label_name(re))
                fail(d, "%s.matcherRegex: with matcherType label must be a plain label name such as trace_id "
                        "(regex forms work only from Grafana 11.5)", p);
            get_string(d, it, p, "urlDisplayLabel", 0, 128, &label);
            for (size_t j = 0; name && j < b->n_trace_id_fields; j++)
                if (strcmp(b->trace_id_fields[j].name, name) == 0) {
                    fail(d, "%s.name: duplicate name \"%s\"", p, name);
                    free(name);
                    name = NULL;
                }
            if (name && re)
                push_trace_field(d, b, name, m, re, label);
            free(name);
            free(mt);
            free(re);
            free(label);
        }
    }
    if (b->n_trace_id_fields == 0) {
        /* OTLP logs keep trace_id in structured metadata (label matcher, the
         * plain name: Grafana before 11.5 looks the label up by that exact
         * key, later ones test it as a regex; "^trace_id$" works only from
         * 11.5 — public/app/plugins/datasource/loki/getDerivedFields.ts); JSON
         * and logfmt lines carry it in the body. Distinct names: Grafana
         * extracts a shared name with the first entry's matcher only. */
        push_trace_field(d, b, "TraceID", SPEC_MATCHER_LABEL, "trace_id", "Open trace");
        push_trace_field(d, b, "TraceIDJSON", SPEC_MATCHER_REGEX, "\"trace_id\"\\s*:\\s*\"(\\w+)\"",
                         "Open trace");
        push_trace_field(d, b, "TraceIDLogfmt", SPEC_MATCHER_REGEX, "\\b(?:trace_id|traceID)=(\\w+)",
                         "Open trace");
    }
}

static const char *signal_flavor(enum spec_signal sig)
{
    switch (sig) {
    case SPEC_SIGNAL_TRACES: return "Tempo";
    case SPEC_SIGNAL_LOGS: return "Loki";
    case SPEC_SIGNAL_PROFILES: return "Pyroscope";
    default: return "Mimir";
    }
}

/* The default data-source UID: "<stack>-<signal>" whenever that fits Grafana's
 * 40 characters (so no existing stack's UID ever changes: a UID change on a
 * live data source breaks saved dashboards); for longer stack names the name
 * is cut to leave room for "-<8 hex digits of sha256(name)>-<signal>", which
 * is stable and still tells apart names that share their first characters. */
static char *default_uid(struct dec *d, const char *name, const char *signal)
{
    size_t n = strlen(name), sl = strlen(signal);
    char hex[65];
    if (n + 1 + sl <= SPEC_UID_MAX)
        return aprintf_or_oom(d, "%s-%s", name, signal);
    op_sha256_hex(name, n, hex);
    hex[8] = '\0';
    return aprintf_or_oom(d, "%.*s-%s-%s", (int)(SPEC_UID_MAX - sl - 10), name, hex, signal);
}

static void decode_backend(struct dec *d, const json_t *o, enum spec_signal sig, const struct spec_meta *m,
                           struct spec_backend *b)
{
    static const char *const common[] = {"enabled", "url", "uid", "name", "tenant", "default", "auth", "tls"};
    const char *extra[4] = {NULL, NULL, NULL, NULL};
    const char *allowed[16];
    size_t na = 0;
    char path[PATH_MAX_LEN];

    snprintf(path, sizeof(path), "spec.%s", spec_signal_name(sig));
    switch (sig) {
    case SPEC_SIGNAL_METRICS: extra[0] = "flavor"; extra[1] = "scrapeInterval"; break;
    case SPEC_SIGNAL_LOGS: extra[0] = "traceIdFields"; extra[1] = "maxLines"; break;
    case SPEC_SIGNAL_PROFILES: extra[0] = "profileType"; extra[1] = "scrapeInterval"; break;
    case SPEC_SIGNAL_TRACES: extra[0] = "traceQueryTimeShift"; break;
    default: break;
    }
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
        allowed[na++] = common[i];
    for (size_t i = 0; extra[i]; i++)
        allowed[na++] = extra[i];
    allowed[na] = NULL;
    check_fields(d, o, path, allowed);

    b->enabled = 1;
    get_bool(d, o, path, "enabled", &b->enabled);
    b->configured = b->enabled;
    /* A disabled signal keeps its configuration but needs no URL. */
    if (get_string(d, o, path, "url", b->enabled ? F_REQ : F_NONEMPTY, SPEC_URL_MAX, &b->url) &&
        !is_http_url(b->url))
        fail(d, "%s.url: must be an http or https URL", path);

    if (get_string(d, o, path, "flavor", 0, 32, &b->flavor)) {
        int ok = 0;
        for (size_t i = 0; flavor_names[i]; i++)
            ok |= strcmp(b->flavor, flavor_names[i]) == 0;
        if (!ok)
            fail(d, "%s.flavor: must be one of Mimir, Prometheus, Cortex, Thanos", path);
    }
    if (!b->flavor)
        b->flavor = dup_or_oom(d, signal_flavor(sig));

    if (get_string(d, o, path, "uid", 0, 0, &b->uid)) {
        if (!is_uid(b->uid))
            fail(d, "%s.uid: must be 1-40 characters of [A-Za-z0-9_-]", path);
    } else if (!json_object_get(o, "uid") && m->name) {
        b->uid = default_uid(d, m->name, spec_signal_name(sig));
    }
    if (!get_string(d, o, path, "name", F_NONEMPTY, 190, &b->name) && !json_object_get(o, "name") && m->name)
        b->name = aprintf_or_oom(d, "%s (%s/%s)", b->flavor ? b->flavor : signal_flavor(sig),
                                 m->namespace ? m->namespace : "default", m->name);
    if (get_string(d, o, path, "tenant", F_NONEMPTY, 256, &b->tenant) && !is_tenant(b->tenant))
        fail(d, "%s.tenant: must consist of alphanumerics and !._*'()|-", path);
    get_bool(d, o, path, "default", &b->is_default);
    decode_auth(d, o, path, &b->auth);
    decode_tls(d, o, path, &b->tls);

    if (sig == SPEC_SIGNAL_METRICS || sig == SPEC_SIGNAL_PROFILES) {
        if (get_duration(d, o, path, "scrapeInterval", &b->scrape_interval, &b->scrape_interval_ms) &&
            b->scrape_interval_ms <= 0)
            fail(d, "%s.scrapeInterval: must be positive", path);
        if (!b->scrape_interval) {
            b->scrape_interval = dup_or_oom(d, "15s");
            b->scrape_interval_ms = 15000;
        }
    }
    if (sig == SPEC_SIGNAL_TRACES && json_object_get(o, "traceQueryTimeShift")) {
        decode_time_shift(d, o, path, "traceQueryTimeShift", &b->trace_query);
        b->trace_query_set = 1;
        /* Tempo's own default for a missing shift is 30m (datasource.ts
         * makeTraceIdRequest); keep it explicit. */
        if (!b->trace_query.before) {
            b->trace_query.before = dup_or_oom(d, "30m");
            b->trace_query.before_ms = 1800000;
        }
        if (!b->trace_query.after) {
            b->trace_query.after = dup_or_oom(d, "30m");
            b->trace_query.after_ms = 1800000;
        }
    }
    if (sig == SPEC_SIGNAL_LOGS) {
        b->max_lines = 1000;
        get_int(d, o, path, "maxLines", 1, 100000, &b->max_lines);
        decode_trace_id_fields(d, o, path, b);
    }
    if (sig == SPEC_SIGNAL_PROFILES) {
        if (get_string(d, o, path, "profileType", F_NONEMPTY, 256, &b->profile_type) && !is_profile_type(b->profile_type))
            fail(d, "%s.profileType: must be name:sample_type:sample_unit:period_type:period_unit", path);
        if (!b->profile_type)
            b->profile_type = dup_or_oom(d, DEFAULT_PROFILE_TYPE);
    }
}

static void free_backend(struct spec_backend *b)
{
    free(b->url);
    free(b->uid);
    free(b->name);
    free(b->tenant);
    free(b->flavor);
    free(b->scrape_interval);
    free(b->auth.basic_username);
    free_key_ref(&b->auth.basic_password);
    free_key_ref(&b->auth.bearer_token);
    free_key_ref(&b->tls.ca_secret);
    free_key_ref(&b->tls.ca_configmap);
    free(b->tls.server_name);
    for (size_t i = 0; i < b->n_trace_id_fields; i++) {
        free(b->trace_id_fields[i].name);
        free(b->trace_id_fields[i].matcher_regex);
        free(b->trace_id_fields[i].url_display_label);
    }
    free(b->trace_id_fields);
    free(b->profile_type);
    free(b->trace_query.before);
    free(b->trace_query.after);
}

/* ---- correlation ------------------------------------------------------- */

static void decode_correlation(struct dec *d, const json_t *spec, struct spec_stack *s)
{
    static const char *const allowed[] = {"serviceAttribute", "serviceLabel", "extraTags", "timeShift",
                                          "requestMetric", "exemplarLabels", "tracesToLogs",
                                          "tracesToMetrics", "tracesToProfiles", "histograms",
                                          "grafanaCorrelations", NULL};
    static const char *const logs_allowed[] = {"tags", "timeShift", "filterByTraceID", "filterBySpanID",
                                               "query", NULL};
    static const char *const metrics_allowed[] = {"tags", "timeShift", "queries", NULL};
    static const char *const profiles_allowed[] = {"tags", "profileType", "query", NULL};
    static const char *const query_allowed[] = {"name", "query", NULL};
    const char *path = "spec.correlation";
    struct spec_correlation *c = &s->correlation;
    json_t *o = get_object(d, spec, "spec", "correlation");
    json_t *l = NULL, *mt = NULL, *pr = NULL, *a;
    struct spec_tags svc = {NULL, 0};
    const char *m;
    size_t i;

    c->traces_to_logs.filter_by_trace_id = 1;
    if (o) {
        check_fields(d, o, path, allowed);
        get_string(d, o, path, "serviceAttribute", F_NONEMPTY, 256, &c->service_attribute);
        if (get_string(d, o, path, "serviceLabel", F_NONEMPTY, 128, &c->service_label) && !is_label_name(c->service_label))
            fail(d, "%s.serviceLabel: must be a label name ([a-zA-Z_][a-zA-Z0-9_]*)", path);
        decode_tags(d, o, path, "extraTags", &c->extra_tags);
        decode_time_shift(d, o, path, "timeShift", &c->time_shift);
        if (get_string(d, o, path, "requestMetric", F_NONEMPTY, 256, &c->request_metric) &&
            !is_metric_name(c->request_metric))
            fail(d, "%s.requestMetric: must be a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)", path);
        if ((a = get_array(d, o, path, "exemplarLabels", 8))) {
            json_t *it;
            if (json_array_size(a) && !(c->exemplar_labels = calloc(json_array_size(a), sizeof(char *))))
                d->oom = 1;
            json_array_foreach(a, i, it) {
                if (!json_is_string(it) || !is_label_name(json_string_value(it))) {
                    fail(d, "%s.exemplarLabels[%zu]: must be a label name", path, i);
                    continue;
                }
                if (c->exemplar_labels)
                    c->exemplar_labels[c->n_exemplar_labels++] = dup_or_oom(d, json_string_value(it));
            }
        }
        {
            char *h = NULL;
            if (get_string(d, o, path, "histograms", 0, 16, &h)) {
                if (strcmp(h, "native") == 0)
                    c->histograms = SPEC_HISTOGRAMS_NATIVE;
                else if (strcmp(h, "classic") != 0)
                    fail(d, "%s.histograms: must be classic or native", path);
            }
            free(h);
        }
        get_bool(d, o, path, "grafanaCorrelations", &c->grafana_correlations);
        l = get_object(d, o, path, "tracesToLogs");
        mt = get_object(d, o, path, "tracesToMetrics");
        pr = get_object(d, o, path, "tracesToProfiles");
    }
    if (!c->service_attribute)
        c->service_attribute = dup_or_oom(d, "service.name");
    if (!c->service_label)
        c->service_label = dup_or_oom(d, "service_name");
    if (!c->request_metric)
        c->request_metric = dup_or_oom(d, "http_server_request_duration_seconds");
    if (!c->time_shift.before) {
        c->time_shift.before = dup_or_oom(d, "5m");
        c->time_shift.before_ms = 300000;
    }
    if (!c->time_shift.after) {
        c->time_shift.after = dup_or_oom(d, "5m");
        c->time_shift.after_ms = 300000;
    }
    if (!c->n_exemplar_labels && !(o && json_object_get(o, "exemplarLabels"))) {
        if (!(c->exemplar_labels = calloc(2, sizeof(char *)))) {
            d->oom = 1;
        } else {
            c->exemplar_labels[0] = dup_or_oom(d, "trace_id");
            c->exemplar_labels[1] = dup_or_oom(d, "traceID");
            c->n_exemplar_labels = 2;
        }
    }
    tags_push(d, &svc, c->service_attribute, c->service_label);

    /* traces -> logs */
    if (l) {
        char p[PATH_MAX_LEN];
        join(p, path, "tracesToLogs");
        check_fields(d, l, p, logs_allowed);
        decode_tags(d, l, p, "tags", &c->traces_to_logs.tags);
        decode_time_shift(d, l, p, "timeShift", &c->traces_to_logs.time_shift);
        get_bool(d, l, p, "filterByTraceID", &c->traces_to_logs.filter_by_trace_id);
        get_bool(d, l, p, "filterBySpanID", &c->traces_to_logs.filter_by_span_id);
        get_string(d, l, p, "query", F_NONEMPTY, 4096, &c->traces_to_logs.query);
    }
    if (!(l && json_object_get(l, "tags"))) {
        copy_tags(d, &c->traces_to_logs.tags, &svc);
        copy_tags(d, &c->traces_to_logs.tags, &c->extra_tags);
    }
    copy_time_shift(d, &c->traces_to_logs.time_shift, &c->time_shift);
    if (!c->traces_to_logs.query && !(l && json_object_get(l, "query")) &&
        (c->traces_to_logs.filter_by_trace_id || c->traces_to_logs.filter_by_span_id)) {
        if (!(c->traces_to_logs.query = spec_default_traces_to_logs_query(c->traces_to_logs.filter_by_trace_id,
                                                                         c->traces_to_logs.filter_by_span_id)))
            d->oom = 1;
        c->traces_to_logs.query_is_default = 1;
    }

    /* traces -> metrics */
    if (mt) {
        char p[PATH_MAX_LEN];
        join(p, path, "tracesToMetrics");
        check_fields(d, mt, p, metrics_allowed);
        decode_tags(d, mt, p, "tags", &c->traces_to_metrics.tags);
        decode_time_shift(d, mt, p, "timeShift", &c->traces_to_metrics.time_shift);
        if ((a = get_array(d, mt, p, "queries", 16))) {
            json_t *it;
            if (json_array_size(a) &&
                !(c->traces_to_metrics.queries = calloc(json_array_size(a), sizeof(struct spec_query))))
                d->oom = 1;
            json_array_foreach(a, i, it) {
                char qp[PATH_MAX_LEN * 2];
                char *name = NULL, *q = NULL;
                if (!open_item(d, it, p, "queries", i, query_allowed, qp, sizeof(qp)))
                    continue;
                get_string(d, it, qp, "name", F_REQ, 128, &name);
                get_string(d, it, qp, "query", F_REQ, 4096, &q);
                if (name && q && c->traces_to_metrics.queries) {
                    struct spec_query *sq = &c->traces_to_metrics.queries[c->traces_to_metrics.n_queries++];
                    sq->name = name;
                    sq->query = q;
                } else {
                    free(name);
                    free(q);
                }
            }
        }
    }
    if (!(mt && json_object_get(mt, "tags"))) {
        copy_tags(d, &c->traces_to_metrics.tags, &svc);
        copy_tags(d, &c->traces_to_metrics.tags, &c->extra_tags);
    }
    copy_time_shift(d, &c->traces_to_metrics.time_shift, &c->time_shift);
    m = c->request_metric ? c->request_metric : "";
    if (!(mt && json_object_get(mt, "queries"))) {
        if (!(c->traces_to_metrics.queries = calloc(3, sizeof(struct spec_query)))) {
            d->oom = 1;
        } else {
            struct spec_query *q = c->traces_to_metrics.queries;
            q[0].name = dup_or_oom(d, "Request rate");
            q[1].name = dup_or_oom(d, "Error rate");
            q[2].name = dup_or_oom(d, "p99 latency");
            if (c->histograms == SPEC_HISTOGRAMS_NATIVE) {
                /* One native-histogram series: histogram_count() instead of
                 * _count, histogram_quantile() straight on the rate. */
                q[0].query = aprintf_or_oom(d, "sum(histogram_count(rate(%s{$__tags}[$__rate_interval])))", m);
                q[1].query = aprintf_or_oom(
                    d, "sum(histogram_count(rate(%s{$__tags, http_response_status_code=~\"5..\"}[$__rate_interval])))",
                    m);
                q[2].query =
                    aprintf_or_oom(d, "histogram_quantile(0.99, sum(rate(%s{$__tags}[$__rate_interval])))", m);
            } else {
                q[0].query = aprintf_or_oom(d, "sum(rate(%s_count{$__tags}[$__rate_interval]))", m);
                q[1].query = aprintf_or_oom(
                    d, "sum(rate(%s_count{$__tags, http_response_status_code=~\"5..\"}[$__rate_interval]))", m);
                q[2].query = aprintf_or_oom(
                    d, "histogram_quantile(0.99, sum by (le) (rate(%s_bucket{$__tags}[$__rate_interval])))", m);
            }
            c->traces_to_metrics.n_queries = 3;
        }
    }

    /* traces -> profiles */
    if (pr) {
        char p[PATH_MAX_LEN];
        join(p, path, "tracesToProfiles");
        check_fields(d, pr, p, profiles_allowed);
        decode_tags(d, pr, p, "tags", &c->traces_to_profiles.tags);
        if (get_string(d, pr, p, "profileType", F_NONEMPTY, 256, &c->traces_to_profiles.profile_type) &&
            !is_profile_type(c->traces_to_profiles.profile_type))
            fail(d, "%s.profileType: must be name:sample_type:sample_unit:period_type:period_unit", p);
        get_string(d, pr, p, "query", F_NONEMPTY, 4096, &c->traces_to_profiles.query);
    }
    if (!(pr && json_object_get(pr, "tags")))
        copy_tags(d, &c->traces_to_profiles.tags, &svc);
    if (!c->traces_to_profiles.profile_type)
        c->traces_to_profiles.profile_type = dup_or_oom(
            d, s->backends[SPEC_SIGNAL_PROFILES].profile_type ? s->backends[SPEC_SIGNAL_PROFILES].profile_type
                                                              : DEFAULT_PROFILE_TYPE);
    free_tags(&svc);
}

static void free_correlation(struct spec_correlation *c)
{
    free(c->service_attribute);
    free(c->service_label);
    free_tags(&c->extra_tags);
    free_time_shift(&c->time_shift);
    free(c->request_metric);
    for (size_t i = 0; i < c->n_exemplar_labels; i++)
        free(c->exemplar_labels[i]);
    free(c->exemplar_labels);
    free_tags(&c->traces_to_logs.tags);
    free_time_shift(&c->traces_to_logs.time_shift);
    free(c->traces_to_logs.query);
    free_tags(&c->traces_to_metrics.tags);
    free_time_shift(&c->traces_to_metrics.time_shift);
    for (size_t i = 0; i < c->traces_to_metrics.n_queries; i++) {
        free(c->traces_to_metrics.queries[i].name);
        free(c->traces_to_metrics.queries[i].query);
    }
    free(c->traces_to_metrics.queries);
    free_tags(&c->traces_to_profiles.tags);
    free(c->traces_to_profiles.profile_type);
    free(c->traces_to_profiles.query);
}

/* ---- grafana / dashboards / verify ------------------------------------- */

static void decode_grafana(struct dec *d, const json_t *spec, struct spec_stack *s)
{
    static const char *const allowed[] = {"datasourceLabels", "dashboardLabels", "folder", "dashboardsPath",
                                          "prune", "orgId", NULL};
    const char *path = "spec.grafana";
    json_t *o = get_object(d, spec, "spec", "grafana");
    json_t *empty = NULL;
    struct spec_grafana *g = &s->grafana;

    if (o)
        check_fields(d, o, path, allowed);
    else
        o = empty = json_object();
    if (!o) {
        d->oom = 1;
        return;
    }
    decode_labels(d, o, path, "datasourceLabels", &g->datasource_labels, "grafana_datasource");
    decode_labels(d, o, path, "dashboardLabels", &g->dashboard_labels, "grafana_dashboard");
    if (g->datasource_labels.n)
        qsort(g->datasource_labels.v, g->datasource_labels.n, sizeof(struct spec_kv), kv_cmp);
    if (g->dashboard_labels.n)
        qsort(g->dashboard_labels.v, g->dashboard_labels.n, sizeof(struct spec_kv), kv_cmp);
    get_string(d, o, path, "folder", F_NONEMPTY, 128, &g->folder);
    if (!g->folder && !json_object_get(o, "folder"))
        g->folder = dup_or_oom(d, "Observability");
    if (get_string(d, o, path, "dashboardsPath", F_NONEMPTY, 1024, &g->dashboards_path) && g->dashboards_path[0] != '/')
        fail(d, "%s.dashboardsPath: must be an absolute path", path);
    if (!g->dashboards_path && !json_object_get(o, "dashboardsPath") && s->meta.name)
        g->dashboards_path = aprintf_or_oom(d, "/var/lib/grafana/dashboards/crosslink/%s-%s", s->meta.namespace,
                                            s->meta.name);
    /* prune defaults to false: the Grafana chart's sidecar rewrites a changed
     * file by deleting it and writing it anew, and a provisioning run
     * between the two (its own reload, or Grafana's) prunes every data source
     * of that file (grafana/grafana#97051). See docs/grafana.md. */
    g->prune = 0;
    get_bool(d, o, path, "prune", &g->prune);
    g->org_id = 1;
    get_int(d, o, path, "orgId", 1, INT32_MAX, &g->org_id);
    json_decref(empty);
}

static void decode_dashboards(struct dec *d, const json_t *spec, struct spec_stack *s)
{
    static const char *const allowed[] = {"serviceOverview", "uid", "title", NULL};
    const char *path = "spec.dashboards";
    json_t *o = get_object(d, spec, "spec", "dashboards");

    s->dashboards.service_overview = 1;
    if (o) {
        check_fields(d, o, path, allowed);
        get_bool(d, o, path, "serviceOverview", &s->dashboards.service_overview);
        if (get_string(d, o, path, "uid", F_NONEMPTY, 0, &s->dashboards.uid) && !is_uid(s->dashboards.uid))
            fail(d, "%s.uid: must be 1-40 characters of [A-Za-z0-9_-]", path);
        get_string(d, o, path, "title", F_NONEMPTY, 256, &s->dashboards.title);
    }
    if (!s->dashboards.uid && !(o && json_object_get(o, "uid")) && s->meta.name) {
        /* Dashboard UIDs are global per Grafana org and stacks of the same
         * name live in different namespaces: derive a short, stable UID
         * from <namespace>/<name> ("xl-" + 20 hex digits, always valid). */
        char hex[65];
        char *id = aprintf_or_oom(d, "%s/%s", s->meta.namespace, s->meta.name);
        if (id) {
            op_sha256_hex(id, strlen(id), hex);
            hex[20] = '\0';
            s->dashboards.uid = aprintf_or_oom(d, "xl-%s", hex);
        }
        free(id);
    }
    if (!s->dashboards.title && s->meta.name)
        s->dashboards.title = aprintf_or_oom(d, "Service overview (%s/%s)", s->meta.namespace, s->meta.name);
}

static void decode_verify(struct dec *d, const json_t *spec, struct spec_stack *s)
{
    static const char *const allowed[] = {"interval", "timeout", NULL};
    const char *path = "spec.verify";
    json_t *o = get_object(d, spec, "spec", "verify");
    char *tmp = NULL;

    s->verify.interval_ms = 60000;
    s->verify.timeout_ms = 5000;
    if (!o)
        return;
    check_fields(d, o, path, allowed);
    /* interval 0 turns periodic re-verification off (probes then run only
     * when the stack or its ConfigMaps change); otherwise at least 1s */
    if (get_duration(d, o, path, "interval", &tmp, &s->verify.interval_ms) && s->verify.interval_ms != 0 &&
        s->verify.interval_ms < 1000)
        fail(d, "%s.interval: must be 0 (no periodic checks) or at least 1s", path);
    free(tmp);
    tmp = NULL;
    if (get_duration(d, o, path, "timeout", &tmp, &s->verify.timeout_ms)) {
        if (s->verify.timeout_ms <= 0)
            fail(d, "%s.timeout: must be positive", path);
        else if (s->verify.interval_ms != 0 && s->verify.timeout_ms > s->verify.interval_ms)
            fail(d, "%s.timeout: must not exceed interval", path);
    }
    free(tmp);
}

/* ---- the stack ---------------------------------------------------------- */

static void decode_meta(struct dec *d, const json_t *obj, const char *default_ns, struct spec_meta *m)
{
    json_t *md = json_object_get(obj, "metadata"), *v;

    if (!md || json_is_null(md)) {
        fail(d, "metadata.name: required");
        return;
    }
    if (!json_is_object(md)) {
        fail(d, "metadata: must be an object");
        return;
    }
    if (get_string(d, md, "metadata", "name", F_REQ, 0, &m->name) && !is_dns_label(m->name, SPEC_NAME_MAX)) {
        fail(d, "metadata.name: must be a lowercase DNS label of at most %d characters ([a-z0-9-])",
             SPEC_NAME_MAX);
        free(m->name);
        m->name = NULL;
    }
    if (get_string(d, md, "metadata", "namespace", 0, 0, &m->namespace) && !is_dns_label(m->namespace, 63))
        fail(d, "metadata.namespace: must be a lowercase DNS label");
    if (!m->namespace)
        m->namespace = dup_or_oom(d, default_ns ? default_ns : "default");
    get_string(d, md, "metadata", "uid", 0, 128, &m->uid);
    get_string(d, md, "metadata", "resourceVersion", 0, 128, &m->resource_version);
    if ((v = json_object_get(md, "generation")) && json_is_integer(v))
        m->generation = json_integer_value(v);
}

static void check_unique(struct dec *d, struct spec_stack *s, const json_t *spec)
{
    int defaults = 0;
    for (int i = 0; i < SPEC_SIGNAL_COUNT; i++) {
        const struct spec_backend *a = &s->backends[i];
        if (!json_object_get(spec, spec_signal_name((enum spec_signal)i)))
            continue;
        defaults += a->is_default;
        for (int j = 0; j < i; j++) {
            const struct spec_backend *b = &s->backends[j];
            if (!json_object_get(spec, spec_signal_name((enum spec_signal)j)))
                continue;
            if (a->uid && b->uid && strcmp(a->uid, b->uid) == 0)
                fail(d, "spec.%s.uid: duplicate data source UID \"%s\" (also used by spec.%s)",
                     spec_signal_name((enum spec_signal)i), a->uid, spec_signal_name((enum spec_signal)j));
            if (a->name && b->name && strcmp(a->name, b->name) == 0)
                fail(d, "spec.%s.name: duplicate data source name \"%s\" (also used by spec.%s)",
                     spec_signal_name((enum spec_signal)i), a->name, spec_signal_name((enum spec_signal)j));
        }
    }
    if (defaults > 1)
        fail(d, "spec: at most one data source may be the default");
}

int spec_stack_from_json(struct spec_stack **out, const json_t *obj, const char *default_namespace,
                         struct spec_errors *errs)
{
    static const char *const top_allowed[] = {"apiVersion", "kind", "metadata", "spec", "status", NULL};
    static const char *const spec_allowed[] = {"metrics", "traces", "logs", "profiles", "correlation",
                                               "grafana", "dashboards", "verify", NULL};
    struct dec d;
    struct spec_stack *s;
    json_t *spec, *v;
    int present = 0, rc;

    memset(&d, 0, sizeof(d));
    spec_errors_init(&d.errs);
    if (!(s = calloc(1, sizeof(*s))))
        return op_err_set(OP_ENOMEM, "out of memory");
    if (!json_is_object(obj)) {
        fail(&d, "object: must be a YAML/JSON object");
        goto done;
    }
    {
        const char *k;
        json_t *tv;
        json_object_foreach((json_t *)obj, k, tv) {
            int ok = 0;
            for (size_t i = 0; top_allowed[i]; i++)
                ok |= strcmp(k, top_allowed[i]) == 0;
            if (!ok)
                fail(&d, "%s: unknown field", k);
        }
    }
    v = json_object_get(obj, "apiVersion");
    if (!json_is_string(v) || strcmp(json_string_value(v), SPEC_API_VERSION) != 0)
        fail(&d, "apiVersion: must be %s", SPEC_API_VERSION);
    v = json_object_get(obj, "kind");
    if (!json_is_string(v) || strcmp(json_string_value(v), SPEC_KIND) != 0)
        fail(&d, "kind: must be %s", SPEC_KIND);
    decode_meta(&d, obj, default_namespace, &s->meta);

    spec = json_object_get(obj, "spec");
    if (!spec || json_is_null(spec)) {
        fail(&d, "spec: required");
        goto done;
    }
    if (!json_is_object(spec)) {
        fail(&d, "spec: must be an object");
        goto done;
    }
    check_fields(&d, spec, "spec", spec_allowed);
    for (int i = 0; i < SPEC_SIGNAL_COUNT; i++) {
        json_t *b = get_object(&d, spec, "spec", spec_signal_name((enum spec_signal)i));
        if (b) {
            decode_backend(&d, b, (enum spec_signal)i, &s->meta, &s->backends[i]);
            present++;
        } else if (json_object_get(spec, spec_signal_name((enum spec_signal)i)) &&
                   !json_is_null(json_object_get(spec, spec_signal_name((enum spec_signal)i)))) {
            present++; /* wrong type, already reported */
        }
    }
    if (!present)
        fail(&d, "spec: at least one of metrics, traces, logs, profiles must be set");
    check_unique(&d, s, spec);
    decode_correlation(&d, spec, s);
    decode_grafana(&d, spec, s);
    decode_dashboards(&d, spec, s);
    decode_verify(&d, spec, s);

done:
    if (d.oom) {
        rc = op_err_set(OP_ENOMEM, "out of memory");
    } else if (d.errs.n) {
        char *msg = spec_errors_format(&d.errs, "; ");
        rc = op_err_set(OP_EINVALID, "%s", msg ? msg : "invalid ObservabilityStack");
        free(msg);
        for (size_t i = 0; errs && i < d.errs.n; i++)
            if (spec_errors_add(errs, "%s", d.errs.v[i]) < 0)
                rc = OP_ENOMEM;
    } else {
        *out = s;
        s = NULL;
        rc = 0;
    }
    spec_errors_cleanup(&d.errs);
    spec_stack_free(s);
    return rc;
}

void spec_stack_free(struct spec_stack *s)
{
    if (!s)
        return;
    free(s->meta.name);
    free(s->meta.namespace);
    free(s->meta.uid);
    free(s->meta.resource_version);
    for (int i = 0; i < SPEC_SIGNAL_COUNT; i++)
        free_backend(&s->backends[i]);
    free_correlation(&s->correlation);
    free_kvs(&s->grafana.datasource_labels);
    free_kvs(&s->grafana.dashboard_labels);
    free(s->grafana.folder);
    free(s->grafana.dashboards_path);
    free(s->dashboards.uid);
    free(s->dashboards.title);
    free(s);
}

const struct spec_backend *spec_stack_backend(const struct spec_stack *s, enum spec_signal sig)
{
    if (!s || (unsigned)sig >= SPEC_SIGNAL_COUNT || !s->backends[sig].configured)
        return NULL;
    return &s->backends[sig];
}
