/* test_wipe.c — the secret wipe is what the binary calls. Linked with
 * -Wl,--wrap=op_wipe (tests/CMakeLists.txt): every call of pkg/core's one
 * wipe helper from another object file lands in __wrap_op_wipe, which notes
 * which secrets the buffer held before passing it on. The cases then drive
 * the real request paths — pkg/kube's client with a bearer token and a
 * Secret read, pkg/probe with a bearer token — against a loopback server
 * and check that the buffers that held the token (the token copy, the
 * Authorization header, curl's header list, the Secret response body) went
 * through op_wipe, and that op_wipe really clears (read back through a
 * volatile pointer). Removing any op_wipe_free/op_buf_cleanup_wipe call on
 * those paths turns a case red (tried: client.c's header list and the
 * Secret body; probe.c's header string). */
#include "core.h"
#include "kube.h"
#include "probe.h"
#include "test.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#define TOKEN "tok-3f9a1c7e5b"
#define SECRET_B64 "czNjcjN0LXBhc3N3b3Jk" /* "s3cr3t-password" */

/* ---- the wrap ------------------------------------------------------------- */

void __real_op_wipe(void *p, size_t n);
void __wrap_op_wipe(void *p, size_t n);

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_token, g_auth_hdr, g_secret_body, g_calls;

/* Does p hold needle before its first NUL? (A buffer's tail past its
 * terminator may be uninitialised: op_buf_cleanup_wipe clears its whole
 * capacity.) */
static int holds(const void *p, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    n = p ? strnlen(p, n) : 0;
    for (size_t i = 0; p && i + k <= n; i++)
        if (!memcmp((const char *)p + i, needle, k))
            return 1;
    return 0;
}

void __wrap_op_wipe(void *p, size_t n)
{
    pthread_mutex_lock(&g_mu);
    g_calls++;
    if (holds(p, n, "Authorization: Bearer " TOKEN))
        g_auth_hdr++;
    else if (n == strlen(TOKEN) && holds(p, n, TOKEN))
        g_token++;
    if (holds(p, n, SECRET_B64))
        g_secret_body++;
    pthread_mutex_unlock(&g_mu);
    __real_op_wipe(p, n);
}

static void reset_counts(void)
{
    pthread_mutex_lock(&g_mu);
    g_token = g_auth_hdr = g_secret_body = g_calls = 0;
    pthread_mutex_unlock(&g_mu);
}

/* ---- a one-connection-at-a-time loopback server --------------------------- */

struct srv {
    int lfd, port;
    pthread_t th;
    atomic_int stop;
    atomic_int with_token; /* requests that carried the bearer token */
    const char *body;
};

static void *srv_main(void *p)
{
    struct srv *s = p;
    while (!atomic_load(&s->stop)) {
        struct pollfd pf = {.fd = s->lfd, .events = POLLIN};
        char buf[8192], head[256];
        size_t len = 0;
        int fd, n;
        if (poll(&pf, 1, 100) <= 0)
            continue;
        if ((fd = accept(s->lfd, NULL, NULL)) < 0)
            continue;
        while (len + 1 < sizeof(buf)) { /* read the head; bodies here are small and ignored */
            struct pollfd q = {.fd = fd, .events = POLLIN};
            ssize_t r;
            if (poll(&q, 1, 2000) <= 0 || (r = recv(fd, buf + len, sizeof(buf) - 1 - len, 0)) <= 0)
                break;
            len += (size_t)r;
            buf[len] = '\0';
            if (strstr(buf, "\r\n\r\n"))
                break;
        }
        if (strstr(buf, "Authorization: Bearer " TOKEN))
            atomic_fetch_add(&s->with_token, 1);
        n = snprintf(head, sizeof(head),
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     strlen(s->body));
        (void)send(fd, head, (size_t)n, MSG_NOSIGNAL);
        (void)send(fd, s->body, strlen(s->body), MSG_NOSIGNAL);
        close(fd);
    }
    return NULL;
}

static int srv_start(struct srv *s, const char *body)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    memset(s, 0, sizeof(*s));
    s->body = body;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s->lfd, 8) != 0 ||
        getsockname(s->lfd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    s->port = ntohs(a.sin_port);
    return pthread_create(&s->th, NULL, srv_main, s);
}

static void srv_stop(struct srv *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->th, NULL);
    close(s->lfd);
}

/* ---- cases ---------------------------------------------------------------- */

TEST(op_wipe_clears_through_a_volatile_read)
{
    char *buf = malloc(32);
    volatile const char *v;
    int nonzero = 0;
    ASSERT_TRUE(buf != NULL);
    snprintf(buf, 32, "%s", TOKEN);
    op_wipe(buf, 32);
    v = buf;
    for (int i = 0; i < 32; i++)
        nonzero += v[i] != 0;
    free(buf);
    ASSERT_EQ(nonzero, 0);
}

TEST(kube_client_wipes_token_header_and_secret_body)
{
    static const char secret[] = "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\","
                                 "\"namespace\":\"ns\"},\"data\":{\"password\":\"" SECRET_B64 "\"}}";
    struct srv s;
    char y[1024];
    const char *docs[1] = {y};
    struct kube_config *cfg = NULL;
    struct kube_client *c = NULL;
    json_t *obj = NULL;
    struct kube_status st;

    ASSERT_OK(srv_start(&s, secret));
    snprintf(y, sizeof(y),
             "current-context: x\n"
             "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:%d'}}]\n"
             "users: [{name: u, user: {token: %s}}]\n"
             "contexts: [{name: x, context: {cluster: c, user: u, namespace: ns}}]\n",
             s.port, TOKEN);
    ASSERT_OK(kube_config_parse_yaml(&cfg, docs, NULL, 1, NULL));
    ASSERT_OK(kube_client_new(&c, cfg));
    reset_counts();
    ASSERT_OK(kube_get(c, &KUBE_RES_SECRET, "ns", "s", &obj, &st));
    json_decref(obj);
    {
        int calls, token, hdr, body;
        pthread_mutex_lock(&g_mu);
        calls = g_calls, token = g_token, hdr = g_auth_hdr, body = g_secret_body;
        pthread_mutex_unlock(&g_mu);
        fprintf(stderr, "  kube: %d wipes (token %d, header %d, secret body %d)\n", calls, token, hdr, body);
        /* the token copy, and per request the header string and curl's copy of it */
        ASSERT_TRUE(token >= 1);
        ASSERT_EQ(atomic_load(&s.with_token), 1);
        ASSERT_EQ(hdr, 2 * atomic_load(&s.with_token));
        ASSERT_TRUE(body >= 1);
    }
    kube_client_free(c);
    srv_stop(&s);
}

TEST(probe_wipes_bearer_header)
{
    struct srv s;
    struct probe_engine *e = NULL;
    struct probe_target t;
    struct probe_result r;
    char url[64];

    ASSERT_OK(srv_start(&s, "{\"status\":\"success\",\"data\":{}}"));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", s.port);
    memset(&t, 0, sizeof(t));
    t.signal = PROBE_METRICS;
    t.url = url;
    t.bearer_token = TOKEN;
    t.timeout_ms = 3000;
    t.max_age_ms = -1;
    ASSERT_OK(probe_engine_new(&e, 2, 1000));
    reset_counts();
    ASSERT_OK(probe_run(e, &t, 1, &r));
    {
        int calls, hdr;
        pthread_mutex_lock(&g_mu);
        calls = g_calls, hdr = g_auth_hdr;
        pthread_mutex_unlock(&g_mu);
        fprintf(stderr, "  probe: %d wipes (header %d)\n", calls, hdr);
        /* per request the header string and curl's copy of it */
        ASSERT_TRUE(atomic_load(&s.with_token) >= 1);
        ASSERT_EQ(hdr, 2 * atomic_load(&s.with_token));
    }
    probe_engine_free(e);
    srv_stop(&s);
}

static void global_init(void) __attribute__((constructor));
static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

TEST_MAIN()
