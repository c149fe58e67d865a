/* test_kube_fake.c — pkg/kube's HTTP behaviour against a scripted fake
 * apiserver on a loopback socket (plain HTTP/1.1, one thread): Retry-After
 * retries, their bound and their wait (the stated seconds; cut short by
 * kube_client_cancel), no retry without Retry-After, token-file refresh on
 * 401, request headers (User-Agent, content types, SSA query), and the watch
 * state machine — events split across chunks, bookmarks, an ERROR 410 and an
 * HTTP 410 leading to a relist that reports vanished objects as DELETED and
 * changed ones as MODIFIED, a paged relist that transforms each page before
 * fetching the next (and starts over on an expired continue token), a
 * prompt stop of a silent watch, and watch-list (KEP-3157): the initial state
 * streamed and continued as the watch, the resourceVersion taken only from
 * the initial-events-end bookmark, 410 → the latest state without a
 * resourceVersion, a stream cut before the bookmark retried, and a refusal
 * (WatchList gate off) falling back to the paged LIST. */
#include "kube.h"
#include "kube_client.h"
#include "kube_int.h"
#include "test.h"

#include <curl/curl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the fake server ------------------------------------------------------ */

struct fake;
typedef void (*fake_handler)(struct fake *f, int fd, const char *method, const char *target,
                             const char *headers, const char *body);

struct fake {
    int lfd;
    int port;
    pthread_t th;
    atomic_int stop;
    fake_handler handler;
    void *payload;
    pthread_mutex_t mu;
    char log[128][256];
    char hdrs[128][1024];
    int n;
    int counter;  /* handler scratch */
};

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void respond(int fd, int code, const char *extra, const char *body)
{
    char head[1024];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n%s\r\n",
                     code, strlen(body), extra ? extra : "");
    send_all(fd, head, (size_t)n);
    send_all(fd, body, strlen(body));
}

static void chunk(int fd, const char *data, size_t n)
{
    char head[32];
    int h = snprintf(head, sizeof(head), "%zx\r\n", n);
    send_all(fd, head, (size_t)h);
    send_all(fd, data, n);
    send_all(fd, "\r\n", 2);
}

static void stream_start(int fd)
{
    const char *h = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                    "Connection: close\r\n\r\n";
    send_all(fd, h, strlen(h));
}

/* Blocks until the client goes away (or the server stops). */
static void hold_open(struct fake *f, int fd)
{
    char b[256];
    while (!atomic_load(&f->stop)) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 50) > 0 && recv(fd, b, sizeof(b), 0) <= 0)
            return;
    }
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    while (!atomic_load(&f->stop)) {
        struct pollfd p = {f->lfd, POLLIN, 0};
        char buf[65536], method[16], target[2048];
        size_t len = 0;
        char *end = NULL, *cl;
        size_t body_len = 0;
        int fd;
        if (poll(&p, 1, 50) <= 0)
            continue;
        fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        while (len < sizeof(buf) - 1) {
            ssize_t r = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
            if (r <= 0)
                break;
            len += (size_t)r;
            buf[len] = '\0';
            if (!end && (end = strstr(buf, "\r\n\r\n"))) {
                cl = strstr(buf, "Content-Length:");
                body_len = cl && cl < end ? (size_t)strtoul(cl + 15, NULL, 10) : 0;
            }
            if (end && len >= (size_t)(end + 4 - buf) + body_len)
                break;
        }
        if (!end || sscanf(buf, "%15s %2047s", method, target) != 2) {
            close(fd);
            continue;
        }
        *end = '\0';
        pthread_mutex_lock(&f->mu);
        if (f->n < 128) {
            snprintf(f->log[f->n], sizeof(f->log[0]), "%.15s %.230s", method, target);
            snprintf(f->hdrs[f->n], sizeof(f->hdrs[0]), "%.1000s", buf);
            f->n++;
        }
        pthread_mutex_unlock(&f->mu);
        f->handler(f, fd, method, target, buf, end + 4);
        close(fd);
    }
    return NULL;
}

static int fake_start(struct fake *f, fake_handler h)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->mu, NULL);
    f->handler = h;
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(f->lfd, 16) != 0 ||
        getsockname(f->lfd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    f->port = ntohs(a.sin_port);
    return pthread_create(&f->th, NULL, fake_main, f);
}

static void fake_stop(struct fake *f)
{
    atomic_store(&f->stop, 1);
    pthread_join(f->th, NULL);
    close(f->lfd);
    pthread_mutex_destroy(&f->mu);
}

static int fake_count(struct fake *f, const char *prefix)
{
    int n = 0;
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < f->n; i++)
        n += strncmp(f->log[i], prefix, strlen(prefix)) == 0;
    pthread_mutex_unlock(&f->mu);
    return n;
}

static struct kube_client *fake_client(struct fake *f, const char *user_yaml)
{
    return test_kube_client(f->port, user_yaml);
}

static const char CM_X[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"x\",\"namespace\":\"ns\",\"resourceVersion\":\"5\"}}";

/* ---- retries -------------------------------------------------------------- */

static void h_retry(struct fake *f, int fd, const char *method, const char *target,
                    const char *headers, const char *body)
{
    (void)method;
    (void)headers;
    (void)body;
    if (strstr(target, "/configmaps/x")) {
        if (++f->counter <= 2)
            respond(fd, 429, "Retry-After: 0\r\n",
                    "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"slow down\",\"reason\":\"TooManyRequests\",\"code\":429}");
        else
            respond(fd, 200, NULL, CM_X);
    } else if (strstr(target, "/configmaps/ra1")) {
        if (++f->counter % 2 == 1)
            respond(fd, 429, "Retry-After: 1\r\n", "{\"kind\":\"Status\",\"reason\":\"TooManyRequests\",\"code\":429}");
        else
            respond(fd, 200, NULL, CM_X);
    } else if (strstr(target, "/configmaps/ra30")) {
        respond(fd, 429, "Retry-After: 30\r\n", "{\"kind\":\"Status\",\"reason\":\"TooManyRequests\",\"code\":429}");
    } else if (strstr(target, "/configmaps/always429")) {
        respond(fd, 429, "Retry-After: 0\r\n", "{\"kind\":\"Status\",\"reason\":\"TooManyRequests\",\"code\":429}");
    } else if (strstr(target, "/configmaps/plain503")) {
        respond(fd, 503, NULL, "{\"kind\":\"Status\",\"message\":\"etcd down\",\"reason\":\"ServiceUnavailable\",\"code\":503}");
    } else {
        respond(fd, 404, NULL, "{\"kind\":\"Status\",\"reason\":\"NotFound\",\"code\":404}");
    }
}

static int g_codes[16], g_ncodes;
static void on_req(const char *method, int code, const char *host, void *payload)
{
    (void)method;
    (void)host;
    (void)payload;
    if (g_ncodes < 16)
        g_codes[g_ncodes++] = code;
}

TEST(retry_after_is_honoured_and_bounded)
{
    struct fake f;
    struct kube_client *c;
    struct kube_status st;
    json_t *o = NULL;
    ASSERT_OK(fake_start(&f, h_retry));
    c = fake_client(&f, "{token: t}");
    ASSERT_TRUE(c != NULL);
    kube_client_set_on_request(c, on_req, NULL);
    g_ncodes = 0;
    ASSERT_OK(kube_get(c, &KUBE_RES_CONFIGMAP, "ns", "x", &o, &st));
    ASSERT_STR_EQ(kube_obj_name(o), "x");
    json_decref(o);
    ASSERT_EQ(fake_count(&f, "GET /api/v1/namespaces/ns/configmaps/x"), 3);
    ASSERT_EQ(g_ncodes, 3);
    ASSERT_EQ(g_codes[0], 429);
    ASSERT_EQ(g_codes[2], 200);
    /* closing idle pooled handles: the next request simply opens a new one */
    kube_client_release_idle(c, 60000, 0); /* none idle that long yet */
    kube_client_release_idle(c, 0, 0);

    /* bounded: max_retries 2 → three attempts, then the 429 is returned */
    kube_client_set_max_retries(c, 2);
    ASSERT_EQ(kube_get(c, &KUBE_RES_CONFIGMAP, "ns", "always429", &o, &st), OP_EUNAVAILABLE);
    ASSERT_EQ(st.code, 429);
    ASSERT_EQ(st.retry_after_s, 0);
    ASSERT_STR_EQ(st.reason, "TooManyRequests");
    ASSERT_EQ(fake_count(&f, "GET /api/v1/namespaces/ns/configmaps/always429"), 3);

    /* 5xx without Retry-After: no retry, distinguishable from 429 */
    ASSERT_EQ(kube_get(c, &KUBE_RES_CONFIGMAP, "ns", "plain503", &o, &st), OP_EUNAVAILABLE);
    ASSERT_EQ(st.code, 503);
    ASSERT_EQ(st.retry_after_s, -1);
    ASSERT_STR_EQ(st.message, "etcd down");
    ASSERT_EQ(fake_count(&f, "GET /api/v1/namespaces/ns/configmaps/plain503"), 1);
    kube_client_free(c);
    fake_stop(&f);
}

static void *cancel_later(void *arg)
{
    struct timespec ts = {0, 300 * 1000000L};
    nanosleep(&ts, NULL);
    kube_client_cancel(arg, 1);
    return NULL;
}

/* APF answers 429 with Retry-After: N; the next attempt must wait N s (not
 * 200 ms, not at once), and a cancelled client must not sit out a long
 * Retry-After nor send anything more. */
TEST(retry_after_waits_the_stated_time_and_cancel_ends_it)
{
    struct fake f;
    struct kube_client *c;
    struct kube_status st;
    json_t *o = NULL;
    pthread_t th;
    int64_t t0, dt;
    ASSERT_OK(fake_start(&f, h_retry));
    c = fake_client(&f, "{token: t}");
    ASSERT_TRUE(c != NULL);
    t0 = op_mono_ms();
    ASSERT_OK(kube_get(c, &KUBE_RES_CONFIGMAP, "ns", "ra1", &o, &st));
    dt = op_mono_ms() - t0;
    json_decref(o);
    o = NULL;
    ASSERT_EQ(fake_count(&f, "GET /api/v1/namespaces/ns/configmaps/ra1"), 2);
    ASSERT_TRUE(dt >= 1000);
    ASSERT_TRUE(dt < 5000);

    /* Retry-After: 30, cancelled after 300 ms: back within ~1 s with the 429 */
    ASSERT_EQ(pthread_create(&th, NULL, cancel_later, c), 0);
    t0 = op_mono_ms();
    ASSERT_EQ(kube_get(c, &KUBE_RES_CONFIGMAP, "ns", "ra30", &o, &st), OP_EUNAVAILABLE);
    dt = op_mono_ms() - t0;
    pthread_join(th, NULL);
    ASSERT_EQ(st.code, 429);
    ASSERT_TRUE(dt < 2000);
    ASSERT_EQ(fake_count(&f, "GET /api/v1/namespaces/ns/configmaps/ra30"), 1);
    /* cancelled: nothing is sent */
    ASSERT_EQ(kube_get(c, &KUBE_RES_CONFIGMAP, "ns", "ra1", &o, &st), OP_EUNAVAILABLE);
    ASSERT_EQ(st.code, 0);
    ASSERT_STR_EQ(st.message, "cancelled");
    ASSERT_EQ(fake_count(&f, "GET /api/v1/namespaces/ns/configmaps/ra1"), 2);
    /* and requests flow again once the cancellation is lifted */
    kube_client_cancel(c, 0);
    f.counter = 1; /* next ra1 answer: 200 */
    ASSERT_OK(kube_get(c, &KUBE_RES_CONFIGMAP, "ns", "ra1", &o, &st));
    json_decref(o);
    kube_client_free(c);
    fake_stop(&f);
}

/* ---- 401 → token re-read ------------------------------------------------- */

static char g_tokfile[256];

static void h_auth(struct fake *f, int fd, const char *method, const char *target,
                   const char *headers, const char *body)
{
    (void)method;
    (void)target;
    (void)body;
    if (strstr(headers, "Authorization: Bearer good")) {
        respond(fd, 200, NULL, CM_X);
        return;
    }
    /* the kubelet rotates the token just as the old one is refused */
    FILE *t = fopen(g_tokfile, "w");
    if (t) {
        fputs("good\n", t);
        fclose(t);
    }
    f->counter++;
    respond(fd, 401, NULL, "{\"kind\":\"Status\",\"message\":\"Unauthorized\",\"reason\":\"Unauthorized\",\"code\":401}");
}

TEST(unauthorized_rereads_token_file_once)
{
    struct fake f;
    struct kube_client *c;
    char user[400];
    json_t *o = NULL;
    struct kube_status st;
    snprintf(g_tokfile, sizeof(g_tokfile), "/tmp/xl-kube-fake-token-%d", (int)getpid());
    FILE *t = fopen(g_tokfile, "w");
    ASSERT_TRUE(t != NULL);
    fputs("stale\n", t);
    fclose(t);
    ASSERT_OK(fake_start(&f, h_auth));
    snprintf(user, sizeof(user), "{tokenFile: '%s'}", g_tokfile);
    c = fake_client(&f, user);
    ASSERT_TRUE(c != NULL);
    ASSERT_OK(kube_get(c, &KUBE_RES_CONFIGMAP, "ns", "x", &o, &st));
    json_decref(o);
    ASSERT_EQ(f.counter, 1);
    ASSERT_EQ(fake_count(&f, "GET "), 2);
    /* a token that stays bad: exactly one retry, then 401 to the caller */
    t = fopen(g_tokfile, "w");
    fputs("bad-forever\n", t);
    fclose(t);
    kube_client_free(c);
    c = fake_client(&f, user);
    {
        /* the "rotation" now goes elsewhere: the client's file stays bad */
        char saved[256];
        snprintf(saved, sizeof(saved), "%s", g_tokfile);
        snprintf(g_tokfile, sizeof(g_tokfile), "/tmp/xl-kube-fake-ignored-%d", (int)getpid());
        int before = fake_count(&f, "GET ");
        ASSERT_EQ(kube_get(c, &KUBE_RES_CONFIGMAP, "ns", "x", &o, &st), OP_EUNAUTHORIZED);
        ASSERT_EQ(st.code, 401);
        ASSERT_EQ(fake_count(&f, "GET ") - before, 2);
        unlink(g_tokfile);
        snprintf(g_tokfile, sizeof(g_tokfile), "%s", saved);
    }
    unlink(g_tokfile);
    kube_client_free(c);
    fake_stop(&f);
}

/* ---- request shape -------------------------------------------------------- */

static void h_echo(struct fake *f, int fd, const char *method, const char *target,
                   const char *headers, const char *body)
{
    (void)f;
    (void)target;
    (void)headers;
    if (strcmp(method, "DELETE") == 0)
        respond(fd, 200, NULL, "{\"kind\":\"Status\",\"status\":\"Success\"}");
    else
        respond(fd, strcmp(method, "POST") == 0 ? 201 : 200, NULL, body && *body ? body : CM_X);
}

/* ---- write fence ---------------------------------------------------------- */

static int64_t g_fence;
static int64_t fence_fn(void *p)
{
    (void)p;
    return g_fence;
}

/* After the leader's write deadline nothing but GETs and Lease requests
 * leaves the client; before it, writes go out. */
TEST(write_fence_stops_writes_after_the_deadline)
{
    struct fake f;
    struct kube_client *c;
    json_t *cm = json_pack("{s:s,s:s,s:{s:s,s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata", "name",
                           "x", "namespace", "ns");
    json_t *out = NULL;
    ASSERT_OK(fake_start(&f, h_echo));
    c = fake_client(&f, "{token: t}");
    kube_client_set_write_fence(c, fence_fn, NULL);
    g_fence = op_mono_ms() + 60000;
    ASSERT_OK(kube_apply(c, &KUBE_RES_CONFIGMAP, NULL, cm, &out, NULL));
    json_decref(out);
    out = NULL;
    ASSERT_EQ(fake_count(&f, "PATCH "), 1);
    g_fence = op_mono_ms() - 1; /* the lease is gone */
    ASSERT_EQ(kube_apply(c, &KUBE_RES_CONFIGMAP, NULL, cm, &out, NULL), OP_ECANCELED);
    ASSERT_EQ(kube_create(c, &KUBE_RES_CONFIGMAP, "ns", cm, NULL, NULL), OP_ECANCELED);
    ASSERT_EQ(kube_delete(c, &KUBE_RES_CONFIGMAP, "ns", "x", NULL), OP_ECANCELED);
    ASSERT_EQ(kube_merge_patch_status(c, &KUBE_RES_STACK, "ns", "s", cm, NULL, NULL), OP_ECANCELED);
    ASSERT_EQ(fake_count(&f, "PATCH "), 1);
    ASSERT_EQ(fake_count(&f, "POST "), 0);
    ASSERT_EQ(fake_count(&f, "DELETE "), 0);
    /* reads and the Lease itself still go out */
    ASSERT_OK(kube_get(c, &KUBE_RES_CONFIGMAP, "ns", "x", &out, NULL));
    json_decref(out);
    ASSERT_OK(kube_create(c, &KUBE_RES_LEASE, "ns", cm, NULL, NULL));
    ASSERT_EQ(fake_count(&f, "GET "), 1);
    ASSERT_EQ(fake_count(&f, "POST /apis/coordination.k8s.io/"), 1);
    json_decref(cm);
    kube_client_free(c);
    fake_stop(&f);
}

TEST(request_headers_and_verbs)
{
    struct fake f;
    struct kube_client *c;
    json_t *cm = json_pack("{s:s,s:s,s:{s:s,s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata", "name",
                           "x", "namespace", "ns");
    json_t *out = NULL;
    ASSERT_OK(fake_start(&f, h_echo));
    c = fake_client(&f, "{token: sekret}");
    ASSERT_OK(kube_apply(c, &KUBE_RES_CONFIGMAP, NULL, cm, &out, NULL));
    ASSERT_STR_EQ(kube_obj_name(out), "x");
    json_decref(out);
    ASSERT_OK(kube_merge_patch_status(c, &KUBE_RES_STACK, "ns", "s", cm, NULL, NULL));
    ASSERT_OK(kube_create(c, &KUBE_RES_CONFIGMAP, "ns", cm, NULL, NULL));
    ASSERT_OK(kube_update(c, &KUBE_RES_CONFIGMAP, "ns", cm, NULL, NULL));
    ASSERT_OK(kube_delete(c, &KUBE_RES_CONFIGMAP, "ns", "x", NULL));
    json_decref(cm);
    ASSERT_STR_EQ(f.log[0], "PATCH /api/v1/namespaces/ns/configmaps/x?fieldManager=crosslink&force=true");
    ASSERT_CONTAINS(f.hdrs[0], "Content-Type: application/apply-patch+yaml");
    ASSERT_CONTAINS(f.hdrs[0], "User-Agent: crosslink/" CROSSLINK_VERSION " (linux/");
    ASSERT_CONTAINS(f.hdrs[0], "Authorization: Bearer sekret");
    ASSERT_CONTAINS(f.hdrs[0], "Accept: application/json");
    ASSERT_STR_EQ(f.log[1], "PATCH /apis/crosslink.dev/v1alpha1/namespaces/ns/observabilitystacks/s/status");
    ASSERT_CONTAINS(f.hdrs[1], "Content-Type: application/merge-patch+json");
    ASSERT_STR_EQ(f.log[2], "POST /api/v1/namespaces/ns/configmaps");
    ASSERT_CONTAINS(f.hdrs[2], "Content-Type: application/json");
    ASSERT_STR_EQ(f.log[3], "PUT /api/v1/namespaces/ns/configmaps/x");
    ASSERT_STR_EQ(f.log[4], "DELETE /api/v1/namespaces/ns/configmaps/x?propagationPolicy=Background");
    kube_client_free(c);
    fake_stop(&f);
}

/* ---- watch state machine -------------------------------------------------- */

static const char LIST1[] =
    "{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"10\"},\"items\":["
    "{\"metadata\":{\"name\":\"a\",\"namespace\":\"ns\",\"resourceVersion\":\"1\"}},"
    "{\"metadata\":{\"name\":\"b\",\"namespace\":\"ns\",\"resourceVersion\":\"2\"}}]}";
static const char LIST2[] =
    "{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"20\"},\"items\":["
    "{\"metadata\":{\"name\":\"a\",\"namespace\":\"ns\",\"resourceVersion\":\"13\"}},"
    "{\"metadata\":{\"name\":\"c\",\"namespace\":\"ns\",\"resourceVersion\":\"11\"}}]}";
static const char EVENTS1[] =
    "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"c\",\"namespace\":\"ns\",\"resourceVersion\":\"11\"},"
    "\"data\":{\"k\":\"a value with a \\n newline\"}}}\n"
    "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":{\"resourceVersion\":\"12\"}}}\n"
    "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"status\":\"Failure\","
    "\"message\":\"too old resource version: 12 (15)\",\"reason\":\"Expired\",\"code\":410}}\n";

static int g_http410; /* variant: answer the first watch with HTTP 410 instead */

static void h_watch(struct fake *f, int fd, const char *method, const char *target,
                    const char *headers, const char *body)
{
    (void)method;
    (void)headers;
    (void)body;
    if (!strstr(target, "watch=1")) {
        respond(fd, 200, NULL, fake_count(f, "GET /api/v1/namespaces/ns/configmaps?") <= 1 ? LIST1 : LIST2);
        return;
    }
    f->counter++;
    if (f->counter == 1 && !g_http410) {
        /* events split at awkward places: inside a string, right before \n */
        size_t n = strlen(EVENTS1), cuts[] = {7, 60, 61, 140, n - 1};
        size_t prev = 0;
        stream_start(fd);
        for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
            chunk(fd, EVENTS1 + prev, cuts[i] - prev);
            prev = cuts[i];
        }
        chunk(fd, EVENTS1 + prev, n - prev);
        send_all(fd, "0\r\n\r\n", 5);
        return;
    }
    if (f->counter == 1 && g_http410) {
        respond(fd, 410, NULL, "{\"kind\":\"Status\",\"message\":\"too old\",\"reason\":\"Expired\",\"code\":410}");
        return;
    }
    stream_start(fd); /* a quiet, healthy watch */
    hold_open(f, fd);
}

struct evlog {
    pthread_mutex_t mu;
    char ev[32][64];
    int n;
};

static void log_event(enum kube_event_type t, const json_t *obj, void *payload)
{
    struct evlog *l = payload;
    pthread_mutex_lock(&l->mu);
    if (l->n < 32)
        snprintf(l->ev[l->n++], 64, "%s %s %s", kube_event_type_name(t), kube_obj_name(obj),
                 kube_obj_resource_version(obj));
    pthread_mutex_unlock(&l->mu);
}

static void run_watch_410(int *test_failed_, int http410)
{
    struct fake f;
    struct kube_client *c;
    struct kube_watch *w = NULL;
    struct kube_watch_opts o = {0};
    struct kube_watch_stats s;
    struct evlog l = {.mu = PTHREAD_MUTEX_INITIALIZER};
    char *rv = NULL;
    json_t *got;

    g_http410 = http410;
    ASSERT_OK(fake_start(&f, h_watch));
    c = fake_client(&f, "{token: t}");
    o.resource = &KUBE_RES_CONFIGMAP;
    o.ns = "ns";
    o.label_selector = "app=x";
    o.initial = KUBE_INITIAL_LIST; /* list+watch; watch-list is tested below */
    o.on_event = log_event;
    o.payload = &l;
    ASSERT_OK(kube_watch_start(&w, c, &o));
    /* wait (bounded: 30 s) for the second list and the quiet watch after it */
    for (int i = 0; i < 6000; i++) {
        kube_watch_get_stats(w, &s);
        if (s.lists >= 2 && s.watches >= 2 &&
            fake_count(&f, "GET /api/v1/namespaces/ns/configmaps?labelSelector=app%3Dx&resourceVersion=20&watch=1") >= 1)
            break;
        struct pollfd none;
        poll(&none, 0, 5);
    }
    kube_watch_get_stats(w, &s);
    ASSERT_EQ(s.lists, 2);
    ASSERT_EQ(s.gone, 1);
    ASSERT_EQ(s.errors, 0); /* 410 relists at once, without backoff */
    rv = kube_watch_resource_version(w);
    ASSERT_STR_EQ(rv, "20");
    free(rv);
    ASSERT_EQ(kube_watch_count(w), 2);
    got = kube_watch_get(w, "ns/b");
    ASSERT_TRUE(got == NULL);
    got = kube_watch_get(w, "ns/a");
    ASSERT_STR_EQ(kube_obj_resource_version(got), "13");
    ASSERT_STR_EQ(json_string_value(json_object_get(got, "kind")), "ConfigMap");
    json_decref(got);
    if (!http410) {
        ASSERT_EQ(s.bookmarks, 1);
        ASSERT_EQ(s.events, 1);
        ASSERT_EQ(l.n, 5);
        ASSERT_STR_EQ(l.ev[0], "ADDED a 1");
        ASSERT_STR_EQ(l.ev[1], "ADDED b 2");
        ASSERT_STR_EQ(l.ev[2], "ADDED c 11");
        ASSERT_STR_EQ(l.ev[3], "MODIFIED a 13");
        ASSERT_STR_EQ(l.ev[4], "DELETED b 2");
        /* the first watch starts at the list's RV, the second at the relist's */
        ASSERT_EQ(fake_count(&f, "GET /api/v1/namespaces/ns/configmaps?labelSelector=app%3Dx&resourceVersion=10&watch=1"), 1);
        ASSERT_EQ(fake_count(&f, "GET /api/v1/namespaces/ns/configmaps?labelSelector=app%3Dx&resourceVersion=20&watch=1"), 1);
    } else {
        /* relist adds c, modifies a, deletes b */
        ASSERT_EQ(l.n, 5);
        ASSERT_STR_EQ(l.ev[2], "MODIFIED a 13");
        ASSERT_STR_EQ(l.ev[3], "ADDED c 11");
        ASSERT_STR_EQ(l.ev[4], "DELETED b 2");
    }
    ASSERT_CONTAINS(f.log[1], "allowWatchBookmarks=true");
    ASSERT_CONTAINS(f.log[1], "timeoutSeconds=");
    /* stop aborts the silent, blocked watch promptly */
    int64_t t0 = op_mono_ms();
    kube_watch_free(w);
    ASSERT_TRUE(op_mono_ms() - t0 < 2500);
    kube_client_free(c);
    fake_stop(&f);
}

TEST(watch_error_410_relists_with_synthetic_deletes)
{
    run_watch_410(test_failed_, 0);
}

TEST(watch_http_410_relists_with_synthetic_deletes)
{
    run_watch_410(test_failed_, 1);
}

/* ---- paged relist: one page at a time ------------------------------------ */

#define PG_ITEM(n, rv)                                                                             \
    "{\"metadata\":{\"name\":\"" n "\",\"namespace\":\"ns\",\"resourceVersion\":\"" rv "\"},"     \
    "\"data\":{\"big\":\"" n n n n n n n n "\"}}"
static const char PAGE1[] =
    "{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"30\",\"continue\":\"t1\"},"
    "\"items\":[" PG_ITEM("a", "21") "," PG_ITEM("b", "22") "]}";
/* the same first page from a later snapshot: b is gone, x is new */
static const char PAGE1_LATER[] =
    "{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"31\",\"continue\":\"t1\"},"
    "\"items\":[" PG_ITEM("a", "21") "," PG_ITEM("x", "31") "]}";
static const char PAGE2[] =
    "{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"30\",\"continue\":\"t2\"},"
    "\"items\":[" PG_ITEM("c", "23") "," PG_ITEM("d", "24") "]}";
static const char PAGE3[] =
    "{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"30\"},"
    "\"items\":[" PG_ITEM("e", "25") "]}";

static int g_expire; /* variant: the first request for page 3 gets 410 (continue token expired) */

static void h_pages(struct fake *f, int fd, const char *method, const char *target,
                    const char *headers, const char *body)
{
    (void)method;
    (void)headers;
    (void)body;
    if (strstr(target, "watch=1")) {
        stream_start(fd); /* a quiet, healthy watch */
        hold_open(f, fd);
    } else if (strstr(target, "continue=t2")) {
        if (g_expire && f->counter++ == 0)
            respond(fd, 410, NULL,
                    "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"The provided continue "
                    "parameter is too old\",\"reason\":\"Expired\",\"code\":410}");
        else
            respond(fd, 200, NULL, PAGE3);
    } else if (strstr(target, "continue=t1")) {
        respond(fd, 200, NULL, PAGE2);
    } else {
        respond(fd, 200, NULL, g_expire && f->counter > 0 ? PAGE1_LATER : PAGE1);
    }
}

struct pagectx {
    struct evlog l; /* first: log_event's payload */
    struct fake *f;
    char tr[16][32]; /* "name@N": transformed while N list requests had been made */
    int ntr;
};

/* Strips data (like the controller's transform) and records how many list
 * requests the server had seen at that moment. */
static json_t *strip_transform(json_t *obj, void *payload)
{
    struct pagectx *x = payload;
    if (x->ntr < 16)
        snprintf(x->tr[x->ntr++], 32, "%s@%d", kube_obj_name(obj),
                 fake_count(x->f, "GET /api/v1/namespaces/ns/configmaps?limit="));
    json_object_del(obj, "data");
    return obj;
}

static void run_paged_relist(int *test_failed_, int expire)
{
    struct fake f;
    struct kube_client *c;
    struct kube_watch *w = NULL;
    struct kube_watch_opts o = {0};
    struct kube_watch_stats s;
    struct kube_list_opts lo = {0};
    struct pagectx x = {.l = {.mu = PTHREAD_MUTEX_INITIALIZER}};
    char *rv = NULL;
    json_t *got, *list = NULL;
    int i;

    g_expire = expire;
    ASSERT_OK(fake_start(&f, h_pages));
    x.f = &f;
    c = fake_client(&f, "{token: t}");
    o.resource = &KUBE_RES_CONFIGMAP;
    o.ns = "ns";
    o.page_size = 2;
    o.initial = KUBE_INITIAL_LIST;
    o.on_event = log_event;
    o.transform = strip_transform;
    o.payload = &x;
    ASSERT_OK(kube_watch_start(&w, c, &o));
    ASSERT_OK(kube_watch_wait_synced(w, 30000));
    kube_watch_get_stats(w, &s);
    ASSERT_EQ(s.lists, 1);
    ASSERT_EQ(s.errors, 0);
    /* each page was transformed before the next one was requested */
    i = 0;
    ASSERT_EQ(x.ntr, expire ? 9 : 5);
    ASSERT_STR_EQ(x.tr[i++], "a@1");
    ASSERT_STR_EQ(x.tr[i++], "b@1");
    ASSERT_STR_EQ(x.tr[i++], "c@2");
    ASSERT_STR_EQ(x.tr[i++], "d@2");
    if (expire) { /* page 3 → 410 → the list starts over without continue */
        ASSERT_STR_EQ(x.tr[i++], "a@4");
        ASSERT_STR_EQ(x.tr[i++], "x@4");
        ASSERT_STR_EQ(x.tr[i++], "c@5");
        ASSERT_STR_EQ(x.tr[i++], "d@5");
        ASSERT_STR_EQ(x.tr[i++], "e@6");
    } else {
        ASSERT_STR_EQ(x.tr[i++], "e@3");
    }
    ASSERT_STR_EQ(f.log[0], "GET /api/v1/namespaces/ns/configmaps?limit=2");
    ASSERT_STR_EQ(f.log[1], "GET /api/v1/namespaces/ns/configmaps?limit=2&continue=t1");
    ASSERT_STR_EQ(f.log[2], "GET /api/v1/namespaces/ns/configmaps?limit=2&continue=t2");
    if (expire)
        ASSERT_STR_EQ(f.log[3], "GET /api/v1/namespaces/ns/configmaps?limit=2");
    /* the store is the last snapshot, transformed; events name each key once */
    rv = kube_watch_resource_version(w);
    ASSERT_STR_EQ(rv, "30");
    free(rv);
    ASSERT_EQ(kube_watch_count(w), 5);
    ASSERT_EQ(x.l.n, 5);
    ASSERT_STR_EQ(x.l.ev[0], "ADDED a 21");
    ASSERT_STR_EQ(x.l.ev[1], expire ? "ADDED x 31" : "ADDED b 22");
    ASSERT_STR_EQ(x.l.ev[4], "ADDED e 25");
    got = kube_watch_get(w, expire ? "ns/b" : "ns/x");
    ASSERT_TRUE(got == NULL);
    got = kube_watch_get(w, "ns/e");
    ASSERT_TRUE(got != NULL);
    ASSERT_TRUE(json_object_get(got, "data") == NULL);
    ASSERT_STR_EQ(json_string_value(json_object_get(got, "kind")), "ConfigMap");
    json_decref(got);
    kube_watch_free(w);

    /* kube_list (built on kube_list_each) gives the same five items */
    f.counter = 0;
    lo.limit = 2;
    ASSERT_OK(kube_list(c, &KUBE_RES_CONFIGMAP, "ns", &lo, &list, NULL));
    ASSERT_EQ(json_array_size(json_object_get(list, "items")), 5);
    ASSERT_STR_EQ(kube_obj_name(json_array_get(json_object_get(list, "items"), 1)), expire ? "x" : "b");
    ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(list, "metadata"), "resourceVersion")),
                  "30");
    ASSERT_STR_EQ(json_string_value(json_object_get(list, "kind")), "ConfigMapList");
    json_decref(list);
    kube_client_free(c);
    fake_stop(&f);
}

/* Objects of every metadata shape come back from the store as they were
 * listed, although the store leaves out the members that repeat the key
 * and resourceVersion. */
static const char LIST_SHAPES[] =
    "{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"30\"},\"items\":["
    "{\"metadata\":{\"name\":\"bare\",\"namespace\":\"ns\",\"resourceVersion\":\"21\"}},"
    "{\"metadata\":{\"name\":\"full\",\"namespace\":\"ns\",\"resourceVersion\":\"22\",\"uid\":\"u-1\","
    "\"labels\":{\"app\":\"x\",\"name\":\"bare\"}},\"data\":{\"namespace\":\"ns\",\"k\":\"v\"}},"
    "{\"metadata\":{\"name\":\"norv\",\"namespace\":\"other\"}},"
    "{\"metadata\":{\"name\":\"cluster\",\"namespace\":\"\",\"resourceVersion\":\"23\"}},"
    "{\"metadata\":{\"name\":\"cluster2\",\"resourceVersion\":\"24\"},\"binaryData\":{}}]}";

static void h_list_shapes(struct fake *f, int fd, const char *method, const char *target,
                          const char *headers, const char *body)
{
    (void)f;
    (void)method;
    (void)headers;
    (void)body;
    if (!strstr(target, "watch=1")) {
        respond(fd, 200, NULL, LIST_SHAPES);
        return;
    }
    stream_start(fd);
    hold_open(f, fd);
}

TEST(store_returns_each_object_as_listed_and_holds_less_than_its_text)
{
    static const char *keys[] = {"ns/bare", "ns/full", "other/norv", "cluster", "cluster2"};
    struct fake f;
    struct kube_client *c;
    struct kube_watch *w = NULL;
    struct kube_watch_opts o = {0};
    struct kube_watch_stats s;
    json_t *list = json_loads(LIST_SHAPES, 0, NULL), *items = json_object_get(list, "items");
    size_t text = 0;

    ASSERT_TRUE(json_array_size(items) == 5);
    ASSERT_OK(fake_start(&f, h_list_shapes));
    c = fake_client(&f, "{token: t}");
    o.resource = &KUBE_RES_CONFIGMAP;
    o.initial = KUBE_INITIAL_LIST;
    ASSERT_OK(kube_watch_start(&w, c, &o));
    ASSERT_OK(kube_watch_wait_synced(w, 10000));
    ASSERT_EQ(kube_watch_count(w), 5);
    for (size_t i = 0; i < 5; i++) {
        json_t *want = json_copy(json_array_get(items, i)), *got = kube_watch_get(w, keys[i]);
        json_object_set_new(want, "apiVersion", json_string("v1"));
        json_object_set_new(want, "kind", json_string("ConfigMap"));
        text += json_dumpb(want, NULL, 0, JSON_COMPACT) + strlen(keys[i]) + 1;
        if (!got || !json_equal(got, want)) {
            char *g = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
            fprintf(stderr, "  %s: got %s\n", keys[i], g ? g : "(none)");
            free(g);
            ASSERT_TRUE(0);
        }
        json_decref(want);
        json_decref(got);
    }
    /* the entries hold less than key + object text (headers included):
     * name, namespace and resourceVersion are not stored twice */
    kube_watch_get_stats(w, &s);
    ASSERT_TRUE(s.store_bytes > 0);
    ASSERT_TRUE(s.store_bytes < text);
    kube_watch_free(w);
    kube_client_free(c);
    fake_stop(&f);
    json_decref(list);
}

TEST(relist_transforms_each_page_before_fetching_the_next)
{
    run_paged_relist(test_failed_, 0);
}

TEST(relist_restarts_without_continue_on_410)
{
    run_paged_relist(test_failed_, 1);
}

/* ---- watch-list (KEP-3157) ------------------------------------------------- */

#define WL_CM(n, rv) \
    "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"" n "\",\"namespace\":\"ns\",\"resourceVersion\":\"" rv "\"}," \
    "\"data\":{\"k\":\"" n n n n "\"}}}\n"
#define WL_END(rv) \
    "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"" rv "\"," \
    "\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}}}}\n"

/* initial ADDED events out of resourceVersion order, a plain bookmark among
 * them (its RV must not be used), the end bookmark, then a live event */
static const char WL_STREAM1[] =
    WL_CM("a", "7") WL_CM("b", "3")
    "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":{\"resourceVersion\":\"8\"}}}\n"
    WL_CM("c", "5") WL_END("10")
    "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"a\",\"namespace\":\"ns\",\"resourceVersion\":\"11\"}}}\n"
    "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"status\":\"Failure\","
    "\"message\":\"too old resource version: 11 (15)\",\"reason\":\"Expired\",\"code\":410}}\n";
/* after the 410: the latest state (no resourceVersion): b gone, a changed, d new */
static const char WL_STREAM2[] = WL_CM("a", "13") WL_CM("c", "5") WL_CM("d", "16") WL_END("20");
/* cut off before the end bookmark (the client must ask again) */
static const char WL_CUT[] = WL_CM("a", "13");

static const char WL_REFUSED[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
    "\"message\":\"ListOptions.meta.k8s.io \\\"\\\" is invalid: sendInitialEvents: Forbidden: sendInitialEvents "
    "is forbidden for watch unless the WatchList feature gate is enabled\",\"reason\":\"Invalid\",\"code\":422}";

static int g_wl_mode; /* 0: stream/410/relist; 1: refuse (gate off); 2: cut once */

static void send_stream(int fd, const char *ev)
{
    size_t n = strlen(ev), half = n / 2;
    stream_start(fd);
    chunk(fd, ev, half); /* split mid-event */
    chunk(fd, ev + half, n - half);
    send_all(fd, "0\r\n\r\n", 5);
}

static void h_watch_list(struct fake *f, int fd, const char *method, const char *target,
                         const char *headers, const char *body)
{
    (void)method;
    (void)headers;
    (void)body;
    if (!strstr(target, "watch=1")) {
        respond(fd, 200, NULL, LIST1);
        return;
    }
    if (strstr(target, "sendInitialEvents=true")) {
        f->counter++;
        if (g_wl_mode == 1) {
            respond(fd, 422, NULL, WL_REFUSED);
        } else if (g_wl_mode == 2 && f->counter == 1) {
            send_stream(fd, WL_CUT);
        } else if (f->counter == 1 || (g_wl_mode == 2 && f->counter == 2)) {
            send_stream(fd, g_wl_mode == 2 ? WL_STREAM2 : WL_STREAM1);
        } else if (f->counter == 2) {
            /* the relist from the last RV (NotOlderThan): pretend it is too old */
            respond(fd, 410, NULL,
                    "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"too old\",\"reason\":\"Expired\",\"code\":410}");
        } else if (f->counter == 3) {
            stream_start(fd); /* the latest state, then a quiet watch */
            chunk(fd, WL_STREAM2, strlen(WL_STREAM2));
            hold_open(f, fd);
        } else {
            respond(fd, 500, NULL, "{\"kind\":\"Status\",\"code\":500}");
        }
        return;
    }
    stream_start(fd); /* a plain watch: quiet and healthy */
    hold_open(f, fd);
}

struct wlctx {
    struct evlog l; /* first: log_event's payload */
    int transformed;
};

static json_t *wl_transform(json_t *obj, void *payload)
{
    struct wlctx *x = payload;
    x->transformed++;
    json_object_del(obj, "data");
    return obj;
}

static int wait_for(struct fake *f, const char *prefix, int n)
{
    for (int i = 0; i < 6000; i++) { /* bounded: 30 s */
        if (fake_count(f, prefix) >= n)
            return 1;
        struct pollfd none;
        poll(&none, 0, 5);
    }
    return 0;
}

#define WL_PATH "GET /api/v1/namespaces/ns/configmaps?"

TEST(watch_list_streams_initial_state_then_watches_and_relists_after_410)
{
    struct fake f;
    struct kube_client *c;
    struct kube_watch *w = NULL;
    struct kube_watch_opts o = {0};
    struct kube_watch_stats s;
    struct wlctx x = {.l = {.mu = PTHREAD_MUTEX_INITIALIZER}};
    char *rv;
    json_t *got;

    g_wl_mode = 0;
    ASSERT_OK(fake_start(&f, h_watch_list));
    c = fake_client(&f, "{token: t}");
    o.resource = &KUBE_RES_CONFIGMAP;
    o.ns = "ns";
    o.on_event = log_event;
    o.transform = wl_transform;
    o.payload = &x;
    ASSERT_OK(kube_watch_start(&w, c, &o));
    ASSERT_TRUE(wait_for(&f, WL_PATH "resourceVersionMatch=NotOlderThan&watch=1", 2));
    ASSERT_TRUE(wait_for(&f, WL_PATH, 3));
    for (int i = 0; i < 6000; i++) { /* bounded: 30 s for the second state */
        struct pollfd none;
        kube_watch_get_stats(w, &s);
        if (s.streamed >= 2)
            break;
        poll(&none, 0, 5);
    }
    kube_watch_get_stats(w, &s);
    /* first: a watch-list without a resourceVersion (consistent read) */
    ASSERT_CONTAINS(f.log[0], WL_PATH "resourceVersionMatch=NotOlderThan&watch=1&allowWatchBookmarks=true"
                              "&sendInitialEvents=true&timeoutSeconds=");
    /* after the ERROR 410 in the watch phase: the last RV, NotOlderThan
     * (client-go does not reset it for an expired watch) */
    ASSERT_CONTAINS(f.log[1], WL_PATH "resourceVersion=11&resourceVersionMatch=NotOlderThan&watch=1&allowWatchBookmarks=true&sendInitialEvents=true");
    /* that answered 410: now the latest state, without a resourceVersion */
    ASSERT_CONTAINS(f.log[2], WL_PATH "resourceVersionMatch=NotOlderThan&watch=1&allowWatchBookmarks=true&sendInitialEvents=true");
    ASSERT_EQ(fake_count(&f, WL_PATH "limit="), 0); /* never a LIST */
    ASSERT_EQ(s.lists, 2);
    ASSERT_EQ(s.streamed, 2);
    ASSERT_EQ(s.fallbacks, 0);
    ASSERT_EQ(s.gone, 2);
    ASSERT_EQ(s.errors, 0);
    /* events: the initial state once complete (in arrival order), the live
     * MODIFIED, then the differences of the second state */
    ASSERT_EQ(x.l.n, 7);
    ASSERT_STR_EQ(x.l.ev[0], "ADDED a 7");
    ASSERT_STR_EQ(x.l.ev[1], "ADDED b 3");
    ASSERT_STR_EQ(x.l.ev[2], "ADDED c 5");
    ASSERT_STR_EQ(x.l.ev[3], "MODIFIED a 11");
    ASSERT_STR_EQ(x.l.ev[4], "MODIFIED a 13");
    ASSERT_STR_EQ(x.l.ev[5], "ADDED d 16");
    ASSERT_STR_EQ(x.l.ev[6], "DELETED b 3");
    /* the RV is the end bookmark's, never an initial event's or a plain bookmark's */
    rv = kube_watch_resource_version(w);
    ASSERT_STR_EQ(rv, "20");
    free(rv);
    got = kube_watch_get(w, "ns/d");
    ASSERT_TRUE(got != NULL);
    ASSERT_TRUE(json_object_get(got, "data") == NULL); /* transformed on arrival */
    ASSERT_STR_EQ(json_string_value(json_object_get(got, "kind")), "ConfigMap");
    json_decref(got);
    ASSERT_EQ(x.transformed, 7);
    kube_watch_free(w);
    kube_client_free(c);
    fake_stop(&f);
}

static int g_errors;
static void count_error(int err, const struct kube_status *st, const char *msg, void *payload)
{
    (void)err;
    (void)st;
    (void)msg;
    (void)payload;
    g_errors++;
}

TEST(watch_list_refused_falls_back_to_paged_list)
{
    struct fake f;
    struct kube_client *c;
    struct kube_watch *w = NULL;
    struct kube_watch_opts o = {0};
    struct kube_watch_stats s;
    struct evlog l = {.mu = PTHREAD_MUTEX_INITIALIZER};
    char *rv;

    g_wl_mode = 1;
    g_errors = 0;
    ASSERT_OK(fake_start(&f, h_watch_list));
    c = fake_client(&f, "{token: t}");
    o.resource = &KUBE_RES_CONFIGMAP;
    o.ns = "ns";
    o.on_event = log_event;
    o.on_error = count_error;
    o.payload = &l;
    ASSERT_OK(kube_watch_start(&w, c, &o));
    ASSERT_OK(kube_watch_wait_synced(w, 30000));
    ASSERT_TRUE(wait_for(&f, WL_PATH "resourceVersion=10&watch=1", 1));
    kube_watch_get_stats(w, &s);
    ASSERT_CONTAINS(f.log[0], "sendInitialEvents=true");
    ASSERT_STR_EQ(f.log[1], WL_PATH "limit=500");
    ASSERT_CONTAINS(f.log[2], WL_PATH "resourceVersion=10&watch=1&allowWatchBookmarks=true&timeoutSeconds=");
    ASSERT_NOT_CONTAINS(f.log[2], "sendInitialEvents");
    ASSERT_EQ(s.fallbacks, 1);
    ASSERT_EQ(s.streamed, 0);
    ASSERT_EQ(s.lists, 1);
    ASSERT_EQ(s.errors, 0);
    ASSERT_EQ(g_errors, 0); /* a refusal is expected, not an error */
    rv = kube_watch_resource_version(w);
    ASSERT_STR_EQ(rv, "10");
    free(rv);
    ASSERT_EQ(l.n, 2);
    ASSERT_STR_EQ(l.ev[0], "ADDED a 1");
    kube_watch_free(w);
    kube_client_free(c);
    fake_stop(&f);
}

TEST(watch_list_cut_before_the_bookmark_is_asked_again)
{
    struct fake f;
    struct kube_client *c;
    struct kube_watch *w = NULL;
    struct kube_watch_opts o = {0};
    struct kube_watch_stats s;
    struct evlog l = {.mu = PTHREAD_MUTEX_INITIALIZER};

    g_wl_mode = 2;
    ASSERT_OK(fake_start(&f, h_watch_list));
    c = fake_client(&f, "{token: t}");
    o.resource = &KUBE_RES_CONFIGMAP;
    o.ns = "ns";
    o.on_event = log_event;
    o.payload = &l;
    ASSERT_OK(kube_watch_start(&w, c, &o));
    ASSERT_OK(kube_watch_wait_synced(w, 30000));
    ASSERT_TRUE(wait_for(&f, WL_PATH "resourceVersion=20&watch=1", 1));
    kube_watch_get_stats(w, &s);
    ASSERT_EQ(fake_count(&f, WL_PATH "resourceVersionMatch=NotOlderThan&watch=1"), 2);
    ASSERT_EQ(s.streamed, 1);
    ASSERT_EQ(s.fallbacks, 0);
    ASSERT_EQ(s.errors, 0);
    /* nothing of the cut stream reached the store or the handlers */
    ASSERT_EQ(l.n, 3);
    ASSERT_STR_EQ(l.ev[0], "ADDED a 13");
    ASSERT_STR_EQ(l.ev[2], "ADDED d 16");
    ASSERT_EQ(kube_watch_count(w), 3);
    kube_watch_free(w);
    kube_client_free(c);
    fake_stop(&f);
}

/* A curl_global_init for the whole binary. */
__attribute__((constructor)) static void init_curl(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

__attribute__((destructor)) static void cleanup_curl(void)
{
    curl_global_cleanup();
}

/* API Priority and Fairness: 429s shrink how many requests the client lets
 * through at once (halved per round trip, never below 1); other answers
 * (404 too: the apiserver took the request) raise it back to the ceiling. */
TEST(apf_429_halves_the_in_flight_limit_and_answers_raise_it_again)
{
    struct fake f;
    struct kube_client *c;
    struct kube_status st;
    json_t *o = NULL;
    ASSERT_OK(fake_start(&f, h_retry));
    c = fake_client(&f, "{token: t}");
    ASSERT_TRUE(c != NULL);
    kube_client_set_max_retries(c, 0);
    kube_client_set_max_in_flight(c, 8);
    ASSERT_EQ(kube_client_in_flight_limit(c), 8);
    ASSERT_EQ(kube_get(c, &KUBE_RES_CONFIGMAP, "ns", "always429", &o, &st), OP_EUNAVAILABLE);
    ASSERT_EQ(kube_client_in_flight_limit(c), 4);
    ASSERT_EQ(kube_get(c, &KUBE_RES_CONFIGMAP, "ns", "always429", &o, &st), OP_EUNAVAILABLE);
    ASSERT_EQ(kube_get(c, &KUBE_RES_CONFIGMAP, "ns", "always429", &o, &st), OP_EUNAVAILABLE);
    ASSERT_EQ(kube_get(c, &KUBE_RES_CONFIGMAP, "ns", "always429", &o, &st), OP_EUNAVAILABLE);
    ASSERT_EQ(kube_client_in_flight_limit(c), 1);
    /* one request at a time still goes through */
    ASSERT_EQ(kube_get(c, &KUBE_RES_CONFIGMAP, "ns", "none", &o, &st), OP_ENOTFOUND);
    ASSERT_EQ(kube_client_in_flight_limit(c), 2);
    for (int i = 0; i < 40; i++)
        (void)kube_get(c, &KUBE_RES_CONFIGMAP, "ns", "none", &o, &st);
    ASSERT_EQ(kube_client_in_flight_limit(c), 8); /* the ceiling, not above */
    kube_client_free(c);
    fake_stop(&f);
}

/* Many 429s of one overload (requests sent before the first cut) halve the
 * limit once; a request sent after the cut may cut again. */
TEST(apf_limiter_cuts_once_per_round_trip)
{
    struct kube__limiter l;
    kube__limiter_init(&l, 16);
    for (int i = 0; i < 16; i++)
        ASSERT_TRUE(kube__limiter_start(&l));
    ASSERT_TRUE(!kube__limiter_start(&l));
    ASSERT_EQ(l.in_flight, 16);
    for (int i = 0; i < 16; i++) /* all sent at t=100, answered 429 at t=200.. */
        kube__limiter_done(&l, 429, 100, 200 + i);
    ASSERT_EQ((int)l.limit, 8);
    ASSERT_EQ(l.in_flight, 0);
    l.in_flight = 1;
    kube__limiter_done(&l, 429, 300, 400); /* sent after the cut */
    ASSERT_EQ((int)l.limit, 4);
    l.in_flight = 1;
    kube__limiter_done(&l, 0, 500, 600); /* no answer: no change */
    ASSERT_EQ((int)l.limit, 4);
}

TEST_MAIN()
