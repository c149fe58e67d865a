/* test_kube.c — unit tests for pkg/kube without network: watch line framing
 * (byte-by-byte and random chunks), watch event parsing, Status decoding and
 * HTTP → op_err mapping, path building and query escaping, object helpers. */
#include "kube.h"
#include "kube_int.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

/* ---- line splitter ------------------------------------------------------- */

struct lines {
    char *got[64];
    size_t n;
};

static int collect(const char *line, size_t len, void *payload)
{
    struct lines *l = payload;
    if (strlen(line) != len || l->n >= 64)
        return -100;
    l->got[l->n++] = strndup(line, len);
    return 0;
}

static void lines_free(struct lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->got[i]);
    l->n = 0;
}

static const char STREAM[] =
    "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"1\"}}}\n"
    "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"2\"},\"data\":{\"k\":\"line1\\nline2 \\u00e9\"}}}\r\n"
    "\n"
    "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"7\"}}}\n"
    "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"8\"}}}\n";

static void check_stream_lines(int *test_failed_, struct lines *l)
{
    ASSERT_EQ(l->n, 4);
    ASSERT_CONTAINS(l->got[0], "\"ADDED\"");
    ASSERT_CONTAINS(l->got[1], "line1\\nline2");
    ASSERT_TRUE(l->got[1][strlen(l->got[1]) - 1] == '}'); /* \r stripped */
    ASSERT_CONTAINS(l->got[2], "BOOKMARK");
    ASSERT_CONTAINS(l->got[3], "DELETED");
}

TEST(splitter_whole)
{
    struct kube_line_splitter s;
    struct lines l = {0};
    kube_line_splitter_init(&s, 4096);
    ASSERT_OK(kube_line_splitter_feed(&s, STREAM, strlen(STREAM), collect, &l));
    ASSERT_EQ(kube_line_splitter_pending(&s), 0);
    check_stream_lines(test_failed_, &l);
    lines_free(&l);
    kube_line_splitter_cleanup(&s);
}

TEST(splitter_byte_by_byte)
{
    struct kube_line_splitter s;
    struct lines l = {0};
    kube_line_splitter_init(&s, 4096);
    for (size_t i = 0; i < strlen(STREAM); i++)
        ASSERT_OK(kube_line_splitter_feed(&s, STREAM + i, 1, collect, &l));
    check_stream_lines(test_failed_, &l);
    lines_free(&l);
    kube_line_splitter_cleanup(&s);
}

TEST(splitter_random_chunks)
{
    srand(12345);
    for (int round = 0; round < 500; round++) {
        struct kube_line_splitter s;
        struct lines l = {0};
        size_t off = 0, total = strlen(STREAM);
        kube_line_splitter_init(&s, 4096);
        while (off < total) {
            size_t n = 1 + (size_t)rand() % 97;
            if (n > total - off)
                n = total - off;
            ASSERT_OK(kube_line_splitter_feed(&s, STREAM + off, n, collect, &l));
            off += n;
        }
        check_stream_lines(test_failed_, &l);
        /* every line parses as a watch event */
        for (size_t i = 0; i < l.n; i++) {
            char type[16];
            json_t *obj = NULL;
            ASSERT_OK(kube_watch_event_parse(l.got[i], strlen(l.got[i]), type, &obj));
            json_decref(obj);
        }
        lines_free(&l);
        kube_line_splitter_cleanup(&s);
    }
}

TEST(splitter_partial_line_kept)
{
    struct kube_line_splitter s;
    struct lines l = {0};
    kube_line_splitter_init(&s, 4096);
    ASSERT_OK(kube_line_splitter_feed(&s, "{\"a\":1}\n{\"b\"", 12, collect, &l));
    ASSERT_EQ(l.n, 1);
    ASSERT_EQ(kube_line_splitter_pending(&s), 4);
    ASSERT_OK(kube_line_splitter_feed(&s, ":2}\n", 4, collect, &l));
    ASSERT_EQ(l.n, 2);
    ASSERT_STR_EQ(l.got[1], "{\"b\":2}");
    lines_free(&l);
    kube_line_splitter_cleanup(&s);
}

TEST(splitter_oversized_line_dropped)
{
    struct kube_line_splitter s;
    struct lines l = {0};
    char big[100];
    memset(big, 'x', sizeof(big));
    kube_line_splitter_init(&s, 16);
    ASSERT_OK(kube_line_splitter_feed(&s, "short\n", 6, collect, &l));
    /* oversized line arriving in two chunks, then a good line */
    ASSERT_EQ(kube_line_splitter_feed(&s, big, 60, collect, &l), OP_ETOOBIG);
    ASSERT_EQ(kube_line_splitter_pending(&s), 0);
    ASSERT_OK(kube_line_splitter_feed(&s, big, 40, collect, &l));
    ASSERT_OK(kube_line_splitter_feed(&s, "\nok\n", 4, collect, &l));
    ASSERT_EQ(l.n, 2);
    ASSERT_STR_EQ(l.got[0], "short");
    ASSERT_STR_EQ(l.got[1], "ok");
    /* exactly max_line bytes is fine; max_line+1 is not */
    ASSERT_OK(kube_line_splitter_feed(&s, "0123456789abcdef\n", 17, collect, &l));
    ASSERT_EQ(l.n, 3);
    ASSERT_EQ(kube_line_splitter_feed(&s, "0123456789abcdefg\nz\n", 20, collect, &l), OP_ETOOBIG);
    ASSERT_EQ(l.n, 4);
    ASSERT_STR_EQ(l.got[3], "z");
    lines_free(&l);
    kube_line_splitter_cleanup(&s);
}

static int stop_at_second(const char *line, size_t len, void *payload)
{
    int *n = payload;
    (void)line;
    (void)len;
    return ++*n == 2 ? 42 : 0;
}

TEST(splitter_callback_stops)
{
    struct kube_line_splitter s;
    int n = 0;
    kube_line_splitter_init(&s, 64);
    ASSERT_EQ(kube_line_splitter_feed(&s, "a\nb\nc\n", 6, stop_at_second, &n), 42);
    ASSERT_EQ(n, 2);
    kube_line_splitter_cleanup(&s);
}

TEST(watch_event_parse)
{
    char type[16];
    json_t *obj = NULL;
    const char *l = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\"}}";
    ASSERT_OK(kube_watch_event_parse(l, strlen(l), type, &obj));
    ASSERT_STR_EQ(type, "ERROR");
    ASSERT_EQ(json_integer_value(json_object_get(obj, "code")), 410);
    json_decref(obj);
    ASSERT_EQ(kube_watch_event_parse("{\"type\":\"ADDED\"}", 16, type, &obj), OP_EINVALID);
    ASSERT_EQ(kube_watch_event_parse("{\"type\":", 8, type, &obj), OP_EINVALID);
    ASSERT_EQ(kube_watch_event_parse("[]", 2, type, &obj), OP_EINVALID);
}

/* ---- Status -------------------------------------------------------------- */

TEST(status_decode_conflict)
{
    struct kube_status st;
    const char *b = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                    "\"message\":\"Operation cannot be fulfilled on configmaps \\\"x\\\": the object has been modified\","
                    "\"reason\":\"Conflict\",\"details\":{\"name\":\"x\",\"kind\":\"configmaps\"},\"code\":409}";
    ASSERT_EQ(kube_status_decode(&st, 409, b, strlen(b)), OP_ECONFLICT);
    ASSERT_EQ(st.code, 409);
    ASSERT_STR_EQ(st.reason, "Conflict");
    ASSERT_CONTAINS(st.message, "the object has been modified");
    ASSERT_EQ(st.retry_after_s, -1);
}

TEST(status_decode_variants)
{
    struct kube_status st;
    const char *tmr = "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"too many requests\","
                      "\"reason\":\"TooManyRequests\",\"details\":{\"retryAfterSeconds\":3},\"code\":429}";
    ASSERT_EQ(kube_status_decode(&st, 429, tmr, strlen(tmr)), OP_EUNAVAILABLE);
    ASSERT_EQ(st.retry_after_s, 3);
    ASSERT_STR_EQ(st.reason, "TooManyRequests");

    const char *inv = "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"ObservabilityStack.crosslink.dev \\\"x\\\" is invalid: spec.metrics.url: Invalid value\","
                      "\"reason\":\"Invalid\",\"code\":422}";
    ASSERT_EQ(kube_status_decode(&st, 422, inv, strlen(inv)), OP_EINVALID);
    ASSERT_CONTAINS(st.message, "spec.metrics.url");

    /* non-JSON body from a proxy */
    ASSERT_EQ(kube_status_decode(&st, 502, "Bad Gateway\n", 12), OP_EUNAVAILABLE);
    ASSERT_STR_EQ(st.message, "Bad Gateway");
    ASSERT_STR_EQ(st.reason, "InternalError");
    /* empty body */
    ASSERT_EQ(kube_status_decode(&st, 404, NULL, 0), OP_ENOTFOUND);
    ASSERT_STR_EQ(st.reason, "NotFound");
    ASSERT_STR_EQ(st.message, "");
    /* 2xx */
    ASSERT_EQ(kube_status_decode(&st, 201, "{}", 2), OP_OK);
    /* a status embedded in a watch ERROR event: code from the body */
    const char *gone = "{\"kind\":\"Status\",\"message\":\"too old resource version: 1 (5)\",\"reason\":\"Expired\",\"code\":410}";
    ASSERT_EQ(kube_status_decode(&st, 0, gone, strlen(gone)), OP_EGONE);
    ASSERT_EQ(st.code, 410);
    ASSERT_STR_EQ(st.reason, "Expired");
    /* long messages are truncated, not overflowed */
    {
        char *big = malloc(4000);
        int n = snprintf(big, 4000, "{\"kind\":\"Status\",\"message\":\"");
        memset(big + n, 'm', 3000);
        const char *tail = "\",\"reason\":\"InternalError\",\"code\":500}";
        memcpy(big + n + 3000, tail, strlen(tail) + 1);
        ASSERT_EQ(kube_status_decode(&st, 500, big, strlen(big)), OP_EUNAVAILABLE);
        ASSERT_EQ(strlen(st.message), sizeof(st.message) - 1);
        free(big);
    }
}

TEST(err_from_http)
{
    ASSERT_EQ(kube_err_from_http(200), OP_OK);
    ASSERT_EQ(kube_err_from_http(401), OP_EUNAUTHORIZED);
    ASSERT_EQ(kube_err_from_http(403), OP_EFORBIDDEN);
    ASSERT_EQ(kube_err_from_http(404), OP_ENOTFOUND);
    ASSERT_EQ(kube_err_from_http(409), OP_ECONFLICT);
    ASSERT_EQ(kube_err_from_http(410), OP_EGONE);
    ASSERT_EQ(kube_err_from_http(422), OP_EINVALID);
    ASSERT_EQ(kube_err_from_http(429), OP_EUNAVAILABLE);
    ASSERT_EQ(kube_err_from_http(503), OP_EUNAVAILABLE);
    ASSERT_EQ(kube_err_from_http(504), OP_ETIMEOUT);
    ASSERT_EQ(kube_err_from_http(0), OP_EUNAVAILABLE);
    ASSERT_EQ(kube_err_from_http(418), OP_ERR);
}

/* ---- paths --------------------------------------------------------------- */

static char *path_of(const struct kube_resource *r, const char *ns, const char *name,
                     const char *sub, const struct kube_query *q, int *err)
{
    struct op_buf b;
    op_buf_init(&b, 4096);
    *err = kube_path(&b, r, ns, name, sub, q);
    char *s = op_buf_take(&b);
    op_buf_cleanup(&b);
    return s;
}

TEST(path_core_and_groups)
{
    int err;
    char *p;
    p = path_of(&KUBE_RES_CONFIGMAP, "ns1", "cm", NULL, NULL, &err);
    ASSERT_OK(err);
    ASSERT_STR_EQ(p, "/api/v1/namespaces/ns1/configmaps/cm");
    free(p);
    p = path_of(&KUBE_RES_CONFIGMAP, NULL, NULL, NULL, NULL, &err);
    ASSERT_STR_EQ(p, "/api/v1/configmaps");
    free(p);
    p = path_of(&KUBE_RES_STACK, "team-a", "prod", "status", NULL, &err);
    ASSERT_STR_EQ(p, "/apis/crosslink.dev/v1alpha1/namespaces/team-a/observabilitystacks/prod/status");
    free(p);
    p = path_of(&KUBE_RES_STACK, "", NULL, NULL, NULL, &err);
    ASSERT_STR_EQ(p, "/apis/crosslink.dev/v1alpha1/observabilitystacks");
    free(p);
    p = path_of(&KUBE_RES_NAMESPACE, "ignored", "kube-system", NULL, NULL, &err);
    ASSERT_STR_EQ(p, "/api/v1/namespaces/kube-system");
    free(p);
    p = path_of(&KUBE_RES_LEASE, "crosslink-system", "crosslink-leader", NULL, NULL, &err);
    ASSERT_STR_EQ(p, "/apis/coordination.k8s.io/v1/namespaces/crosslink-system/leases/crosslink-leader");
    free(p);
    p = path_of(&KUBE_RES_EVENT, "ns", NULL, NULL, NULL, &err);
    ASSERT_STR_EQ(p, "/apis/events.k8s.io/v1/namespaces/ns/events");
    free(p);
    p = path_of(&KUBE_RES_CRD, NULL, "observabilitystacks.crosslink.dev", NULL, NULL, &err);
    ASSERT_STR_EQ(p, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/observabilitystacks.crosslink.dev");
    free(p);
}

TEST(path_errors)
{
    int err;
    char *p;
    p = path_of(&KUBE_RES_CONFIGMAP, NULL, "cm", NULL, NULL, &err);
    ASSERT_EQ(err, OP_EINVALID);
    free(p);
    p = path_of(&KUBE_RES_CONFIGMAP, "ns", NULL, "status", NULL, &err);
    ASSERT_EQ(err, OP_EINVALID);
    free(p);
    struct op_buf b;
    op_buf_init(&b, 10);
    ASSERT_EQ(kube_path(&b, &KUBE_RES_CONFIGMAP, "ns", NULL, NULL, NULL), OP_ETOOBIG);
    op_buf_cleanup(&b);
}

TEST(path_query_escaping)
{
    int err;
    struct kube_query q = {0};
    q.label_selector = "app.kubernetes.io/managed-by=crosslink,tier in (a,b)";
    q.field_selector = "metadata.name!=x y";
    q.limit = 50;
    q.continue_token = "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTIzfQ==+/";
    char *p = path_of(&KUBE_RES_CONFIGMAP, "ns", NULL, NULL, &q, &err);
    ASSERT_OK(err);
    ASSERT_STR_EQ(p, "/api/v1/namespaces/ns/configmaps"
                     "?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dcrosslink%2Ctier%20in%20%28a%2Cb%29"
                     "&fieldSelector=metadata.name%21%3Dx%20y"
                     "&limit=50"
                     "&continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTIzfQ%3D%3D%2B%2F");
    free(p);

    struct kube_query w = {0};
    w.watch = 1;
    w.allow_watch_bookmarks = 1;
    w.resource_version = "12345";
    w.timeout_seconds = 300;
    p = path_of(&KUBE_RES_STACK, NULL, NULL, NULL, &w, &err);
    ASSERT_STR_EQ(p, "/apis/crosslink.dev/v1alpha1/observabilitystacks"
                     "?resourceVersion=12345&watch=1&allowWatchBookmarks=true&timeoutSeconds=300");
    free(p);
    w.send_initial_events = 1; /* watch-list */
    w.resource_version_match = "NotOlderThan";
    p = path_of(&KUBE_RES_STACK, NULL, NULL, NULL, &w, &err);
    ASSERT_STR_EQ(p, "/apis/crosslink.dev/v1alpha1/observabilitystacks?resourceVersion=12345"
                     "&resourceVersionMatch=NotOlderThan&watch=1&allowWatchBookmarks=true"
                     "&sendInitialEvents=true&timeoutSeconds=300");
    free(p);

    struct kube_query a = {0};
    a.field_manager = "crosslink";
    a.force = 1;
    p = path_of(&KUBE_RES_CONFIGMAP, "ns", "a b/c", NULL, &a, &err);
    ASSERT_STR_EQ(p, "/api/v1/namespaces/ns/configmaps/a%20b%2Fc?fieldManager=crosslink&force=true");
    free(p);

    struct kube_query e = {0}; /* empty strings are not sent */
    e.label_selector = "";
    e.resource_version = "";
    p = path_of(&KUBE_RES_SECRET, "ns", NULL, NULL, &e, &err);
    ASSERT_STR_EQ(p, "/api/v1/namespaces/ns/secrets");
    free(p);
}

TEST(escape_utf8)
{
    struct op_buf b;
    op_buf_init(&b, 256);
    ASSERT_OK(kube_escape(&b, "é~-._&?#%"));
    ASSERT_STR_EQ(b.data, "%C3%A9~-._%26%3F%23%25");
    op_buf_cleanup(&b);
}

TEST(api_version_and_obj_helpers)
{
    char buf[128], key[64];
    ASSERT_STR_EQ(kube_resource_api_version(&KUBE_RES_CONFIGMAP, buf), "v1");
    ASSERT_STR_EQ(kube_resource_api_version(&KUBE_RES_STACK, buf), "crosslink.dev/v1alpha1");
    json_t *o = json_pack("{s:{s:s,s:s,s:s,s:s}}", "metadata", "name", "n", "namespace", "ns", "uid",
                          "u-1", "resourceVersion", "42");
    ASSERT_STR_EQ(kube_obj_name(o), "n");
    ASSERT_STR_EQ(kube_obj_uid(o), "u-1");
    ASSERT_STR_EQ(kube_obj_resource_version(o), "42");
    ASSERT_OK(kube_obj_key(o, key, sizeof(key)));
    ASSERT_STR_EQ(key, "ns/n");
    ASSERT_EQ(kube_obj_key(o, key, 3), OP_ETOOBIG);
    json_decref(o);
    o = json_pack("{s:{s:s}}", "metadata", "name", "cluster-thing");
    ASSERT_OK(kube_obj_key(o, key, sizeof(key)));
    ASSERT_STR_EQ(key, "cluster-thing");
    json_decref(o);
    o = json_object();
    ASSERT_EQ(kube_obj_key(o, key, sizeof(key)), OP_EINVALID);
    json_decref(o);
    ASSERT_STR_EQ(kube_event_type_name(KUBE_EVENT_DELETED), "DELETED");
}

/* ---- the watch's reconnect backoff ------------------------------------------ */

TEST(watch_backoff_doubles_jitters_and_caps)
{
    static const long lo[] = {800, 1600, 3200, 6400, 12800, 25600, 30000, 30000};
    long b = KUBE_BACKOFF_INIT_MS, b2 = KUBE_BACKOFF_INIT_MS;
    for (size_t i = 0; i < sizeof lo / sizeof lo[0]; i++) {
        long hi = 2 * lo[i] > KUBE_BACKOFF_MAX_MS ? KUBE_BACKOFF_MAX_MS : 2 * lo[i] - 1;
        ASSERT_EQ(kube__watch_backoff_step(&b, 0.0), lo[i]);   /* no jitter: the base */
        ASSERT_EQ(kube__watch_backoff_step(&b2, 0.99999), hi);  /* full jitter: < 2x, capped */
    }
    ASSERT_EQ(b, KUBE_BACKOFF_MAX_MS);
}

/* ---- robustness: random input is decoded exactly as specified ------------- */

/* The status kube_status_decode must produce for a body that is not a
 * metav1.Status: the body's first bytes (at most 511) as the message, trailing
 * CR/LF removed, the default reason of the code. */
static void expected_plain_status(struct kube_status *want, int code, const char *body, size_t n)
{
    size_t k = n < sizeof(want->message) - 1 ? n : sizeof(want->message) - 1;
    memset(want, 0, sizeof(*want));
    want->code = code;
    want->retry_after_s = -1;
    memcpy(want->message, body, k);
    while (k > 0 && (want->message[k - 1] == '\n' || want->message[k - 1] == '\r'))
        want->message[--k] = '\0';
}

/* Lines the splitter must deliver (max_line 64, callback stopping at the
 * second): '\n'-terminated segments of at most 64 bytes, trailing CRs
 * removed, empty ones skipped. Returns the count (capped at 2). */
static int expected_lines(const char *buf, size_t n, int *oversized)
{
    size_t start = 0;
    int count = 0;
    *oversized = 0;
    for (size_t i = 0; i <= n && count < 2; i++) {
        if (i == n) {
            *oversized |= n - start > 64;
            break;
        }
        if (buf[i] != '\n')
            continue;
        size_t len = i - start;
        if (len > 64) {
            *oversized = 1;
        } else {
            while (len > 0 && buf[start + len - 1] == '\r')
                len--;
            count += len > 0;
        }
        start = i + 1;
    }
    return count;
}

TEST(random_input_chaos)
{
    char buf[512];
    srand(777);
    for (int round = 0; round < 2000; round++) {
        size_t n = (size_t)rand() % sizeof(buf);
        struct kube_status st, want;
        char type[16];
        json_t *obj = NULL, *j;
        struct kube_line_splitter s;
        int lines = 0, code = 400 + rand() % 200, rc, want_lines, oversized;
        for (size_t i = 0; i < n; i++) {
            /* bias towards JSON/YAML punctuation */
            static const char alpha[] = "{}[]\":,\n -abc01tyepOBJECTkind";
            buf[i] = (rand() % 4) ? alpha[rand() % (int)(sizeof(alpha) - 1)] : (char)rand();
        }
        rc = kube_status_decode(&st, code, buf, n);
        ASSERT_EQ(rc, kube_err_from_http(code));
        j = json_loadb(buf, n, 0, NULL);
        if (!json_is_object(j)) { /* random bytes are (almost) never a Status */
            struct kube_status dflt;
            expected_plain_status(&want, code, buf, n);
            kube_status_decode(&dflt, code, NULL, 0); /* the default reason alone */
            memcpy(want.reason, dflt.reason, sizeof want.reason);
            ASSERT_EQ(st.code, code);
            ASSERT_EQ(st.retry_after_s, -1);
            ASSERT_STR_EQ(st.reason, want.reason);
            ASSERT_TRUE(memcmp(st.message, want.message, sizeof st.message) == 0);
        }
        if (kube_watch_event_parse(buf, n, type, &obj) == 0) {
            ASSERT_TRUE(json_is_object(j));
            ASSERT_STR_EQ(type, json_string_value(json_object_get(j, "type")));
            ASSERT_TRUE(json_equal(obj, json_object_get(j, "object")));
            json_decref(obj);
        } else {
            ASSERT_TRUE(!json_is_object(j) || !json_is_object(json_object_get(j, "object")) ||
                        !json_is_string(json_object_get(j, "type")) ||
                        strlen(json_string_value(json_object_get(j, "type"))) >= 16);
        }
        json_decref(j);
        want_lines = expected_lines(buf, n, &oversized);
        kube_line_splitter_init(&s, 64);
        rc = kube_line_splitter_feed(&s, buf, n, stop_at_second, &lines);
        kube_line_splitter_cleanup(&s);
        ASSERT_EQ(lines, want_lines);
        ASSERT_EQ(rc, want_lines == 2 ? 42 : oversized ? OP_ETOOBIG : 0);
    }
}

TEST_MAIN()
