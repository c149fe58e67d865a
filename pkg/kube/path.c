/* path.c — pure helpers: resource descriptors, API path and query building
 * with percent-escaping, Status body decoding and HTTP → op_err mapping,
 * object metadata accessors. No I/O, no globals beyond constant tables. */
#include "kube_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const struct kube_resource KUBE_RES_CONFIGMAP = {"", "v1", "configmaps", "ConfigMap", 1};
const struct kube_resource KUBE_RES_SECRET = {"", "v1", "secrets", "Secret", 1};
const struct kube_resource KUBE_RES_NAMESPACE = {"", "v1", "namespaces", "Namespace", 0};
const struct kube_resource KUBE_RES_SERVICEACCOUNT = {"", "v1", "serviceaccounts", "ServiceAccount", 1};
const struct kube_resource KUBE_RES_LEASE = {"coordination.k8s.io", "v1", "leases", "Lease", 1};
const struct kube_resource KUBE_RES_EVENT = {"events.k8s.io", "v1", "events", "Event", 1};
const struct kube_resource KUBE_RES_CRD = {"apiextensions.k8s.io", "v1", "customresourcedefinitions",
                                           "CustomResourceDefinition", 0};
const struct kube_resource KUBE_RES_STACK = {"crosslink.dev", "v1alpha1", "observabilitystacks",
                                             "ObservabilityStack", 1};

void kube__strlcpy(char *out, const char *s, size_t n)
{
    size_t l;
    if (n == 0)
        return;
    if (!s)
        s = "";
    l = strlen(s);
    if (l >= n)
        l = n - 1;
    memcpy(out, s, l);
    out[l] = '\0';
}

int kube__err_wrap(int code, const char *fmt, ...)
{
    char prev[1024], prefix[512];
    va_list ap;

    kube__strlcpy(prev, op_err_last(), sizeof(prev));
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    return op_err_set(code, "%s: %s", prefix, prev);
}

const char *kube_resource_api_version(const struct kube_resource *r, char out[128])
{
    if (r->group && *r->group)
        snprintf(out, 128, "%s/%s", r->group, r->version);
    else
        snprintf(out, 128, "%s", r->version);
    return out;
}

int kube_escape(struct op_buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        int err;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            err = op_buf_append(out, p, 1);
        } else {
            char enc[3] = {'%', hex[c >> 4], hex[c & 15]};
            err = op_buf_append(out, enc, 3);
        }
        if (err < 0)
            return err;
    }
    return OP_OK;
}

/* Appends "&key=" or "?key=" plus the escaped value. */
static int qparam(struct op_buf *out, int *first, const char *key, const char *val)
{
    int err;
    if ((err = op_buf_appendf(out, "%c%s=", *first ? '?' : '&', key)) < 0)
        return err;
    *first = 0;
    return kube_escape(out, val);
}

int kube_path(struct op_buf *out, const struct kube_resource *r, const char *ns,
              const char *name, const char *subresource, const struct kube_query *q)
{
    int err, first = 1;
    int all_ns = !ns || !*ns;

    if (!r || !r->version || !r->plural)
        return op_err_set(OP_EINVALID, "kube_path: incomplete resource");
    if (name && !*name)
        name = NULL;
    if (subresource && !*subresource)
        subresource = NULL;
    if (r->namespaced && name && all_ns)
        return op_err_set(OP_EINVALID, "kube_path: %s \"%s\" needs a namespace", r->kind, name);
    if (subresource && !name)
        return op_err_set(OP_EINVALID, "kube_path: subresource %s needs a name", subresource);
    if (r->group && *r->group)
        err = op_buf_appendf(out, "/apis/%s/%s", r->group, r->version);
    else
        err = op_buf_appendf(out, "/api/%s", r->version);
    if (err < 0)
        return err;
    if (r->namespaced && !all_ns) {
        if ((err = op_buf_puts(out, "/namespaces/")) < 0 || (err = kube_escape(out, ns)) < 0)
            return err;
    }
    if ((err = op_buf_appendf(out, "/%s", r->plural)) < 0)
        return err;
    if (name && ((err = op_buf_puts(out, "/")) < 0 || (err = kube_escape(out, name)) < 0))
        return err;
    if (subresource && ((err = op_buf_puts(out, "/")) < 0 || (err = kube_escape(out, subresource)) < 0))
        return err;
    if (!q)
        return OP_OK;
    if (q->label_selector && *q->label_selector &&
        (err = qparam(out, &first, "labelSelector", q->label_selector)) < 0)
        return err;
    if (q->field_selector && *q->field_selector &&
        (err = qparam(out, &first, "fieldSelector", q->field_selector)) < 0)
        return err;
    if (q->limit > 0) {
        if ((err = op_buf_appendf(out, "%climit=%ld", first ? '?' : '&', q->limit)) < 0)
            return err;
        first = 0;
    }
    if (q->continue_token && *q->continue_token &&
        (err = qparam(out, &first, "continue", q->continue_token)) < 0)
        return err;
    if (q->resource_version && *q->resource_version &&
        (err = qparam(out, &first, "resourceVersion", q->resource_version)) < 0)
        return err;
    if (q->resource_version_match && *q->resource_version_match &&
        (err = qparam(out, &first, "resourceVersionMatch", q->resource_version_match)) < 0)
        return err;
    if (q->watch) {
        if ((err = op_buf_appendf(out, "%cwatch=1", first ? '?' : '&')) < 0)
            return err;
        first = 0;
    }
    if (q->allow_watch_bookmarks) {
        if ((err = op_buf_appendf(out, "%callowWatchBookmarks=true", first ? '?' : '&')) < 0)
            return err;
        first = 0;
    }
    if (q->send_initial_events) {
        if ((err = op_buf_appendf(out, "%csendInitialEvents=true", first ? '?' : '&')) < 0)
            return err;
        first = 0;
    }
    if (q->timeout_seconds > 0) {
        if ((err = op_buf_appendf(out, "%ctimeoutSeconds=%ld", first ? '?' : '&', q->timeout_seconds)) < 0)
            return err;
        first = 0;
    }
    if (q->field_manager && *q->field_manager &&
        (err = qparam(out, &first, "fieldManager", q->field_manager)) < 0)
        return err;
    if (q->force) {
        if ((err = op_buf_appendf(out, "%cforce=true", first ? '?' : '&')) < 0)
            return err;
        first = 0;
    }
    if (q->dry_run && *q->dry_run && (err = qparam(out, &first, "dryRun", q->dry_run)) < 0)
        return err;
    if (q->propagation_policy && *q->propagation_policy &&
        (err = qparam(out, &first, "propagationPolicy", q->propagation_policy)) < 0)
        return err;
    return OP_OK;
}

/* ---- status ------------------------------------------------------------- */

int kube_err_from_http(int code)
{
    if (code >= 200 && code < 300)
        return OP_OK;
    switch (code) {
    case 0:
        return OP_EUNAVAILABLE;
    case 400:
    case 422:
        return OP_EINVALID;
    case 401:
        return OP_EUNAUTHORIZED;
    case 403:
        return OP_EFORBIDDEN;
    case 404:
        return OP_ENOTFOUND;
    case 409:
        return OP_ECONFLICT;
    case 410:
        return OP_EGONE;
    case 413:
        return OP_ETOOBIG;
    case 408:
    case 504:
        return OP_ETIMEOUT;
    case 429:
        return OP_EUNAVAILABLE;
    default:
        return code >= 500 ? OP_EUNAVAILABLE : OP_ERR;
    }
}

static const char *default_reason(int code)
{
    switch (code) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "RequestEntityTooLarge";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 500: return "InternalError";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
    default: return code >= 500 ? "InternalError" : "";
    }
}

int kube_status_decode(struct kube_status *st, int http_code, const char *body, size_t len)
{
    json_t *j = NULL;

    memset(st, 0, sizeof(*st));
    st->code = http_code;
    st->retry_after_s = -1;
    if (body && len)
        j = json_loadb(body, len, 0, NULL);
    if (json_is_object(j) && json_is_string(json_object_get(j, "kind")) &&
        strcmp(json_string_value(json_object_get(j, "kind")), "Status") == 0) {
        json_t *c = json_object_get(j, "code");
        kube__strlcpy(st->reason, json_string_value(json_object_get(j, "reason")), sizeof(st->reason));
        kube__strlcpy(st->message, json_string_value(json_object_get(j, "message")), sizeof(st->message));
        if (json_is_integer(c) && json_integer_value(c) > 0 && http_code == 0)
            st->code = (int)json_integer_value(c);
        /* retryAfterSeconds in details is a hint like the header */
        c = json_object_get(json_object_get(j, "details"), "retryAfterSeconds");
        if (json_is_integer(c) && json_integer_value(c) >= 0)
            st->retry_after_s = (int)json_integer_value(c);
    } else if (body && len && (http_code < 200 || http_code >= 300)) {
        /* non-Status body (proxy error page, plain text): keep the start */
        size_t n = len < sizeof(st->message) - 1 ? len : sizeof(st->message) - 1;
        memcpy(st->message, body, n);
        st->message[n] = '\0';
        while (n > 0 && (st->message[n - 1] == '\n' || st->message[n - 1] == '\r'))
            st->message[--n] = '\0';
    }
    if (!st->reason[0])
        kube__strlcpy(st->reason, default_reason(st->code), sizeof(st->reason));
    json_decref(j);
    return kube_err_from_http(st->code);
}

/* ---- object helpers ------------------------------------------------------ */

static const char *meta_str(const json_t *obj, const char *k)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), k));
}

const char *kube_obj_name(const json_t *obj)
{
    return meta_str(obj, "name");
}

const char *kube_obj_namespace(const json_t *obj)
{
    return meta_str(obj, "namespace");
}

const char *kube_obj_uid(const json_t *obj)
{
    return meta_str(obj, "uid");
}

const char *kube_obj_resource_version(const json_t *obj)
{
    return meta_str(obj, "resourceVersion");
}

int kube_obj_key(const json_t *obj, char *out, size_t n)
{
    const char *name = kube_obj_name(obj), *ns = kube_obj_namespace(obj);
    int w;

    if (!name || !*name)
        return op_err_set(OP_EINVALID, "object has no metadata.name");
    if (ns && *ns)
        w = snprintf(out, n, "%s/%s", ns, name);
    else
        w = snprintf(out, n, "%s", name);
    if (w < 0 || (size_t)w >= n)
        return op_err_set(OP_ETOOBIG, "object key too long");
    return OP_OK;
}

const char *kube_event_type_name(enum kube_event_type t)
{
    switch (t) {
    case KUBE_EVENT_ADDED: return "ADDED";
    case KUBE_EVENT_MODIFIED: return "MODIFIED";
    case KUBE_EVENT_DELETED: return "DELETED";
    }
    return "UNKNOWN";
}
