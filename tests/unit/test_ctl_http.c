/* test_ctl_http.c — unit tests for controller/health.c, the in-tree HTTP/1.1
 * server: each case starts it on a loopback ephemeral port and talks to it
 * over real sockets (status codes, headers, HEAD, 405/404/431/400, slow and
 * idle clients, fd leaks, IPv6, shutdown with clients connected). */
#include "health.h"
#include "metrics.h"
#include "test.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- client helpers ------------------------------------------------------- */

static int dial(int family, int port)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int fd = socket(family, SOCK_STREAM, 0);
    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        a->sin6_addr = in6addr_loopback;
        sl = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sl = sizeof(*a);
    }
    if (fd >= 0 && connect(fd, (struct sockaddr *)&ss, sl) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads until EOF (or timeout_ms without progress); returns a malloc'd,
 * NUL-terminated buffer and its length, NULL on timeout. chunk limits each
 * recv (small = a slow reader). */
static char *recv_all(int fd, int timeout_ms, size_t chunk, size_t *len_out)
{
    struct op_buf b;
    char tmp[65536];
    op_buf_init(&b, 64 << 20);
    if (chunk > sizeof(tmp))
        chunk = sizeof(tmp);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n;
        if (poll(&p, 1, timeout_ms) <= 0) {
            op_buf_cleanup(&b);
            return NULL;
        }
        n = recv(fd, tmp, chunk, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (op_buf_append(&b, tmp, (size_t)n) < 0) {
            op_buf_cleanup(&b);
            return NULL;
        }
    }
    if (len_out)
        *len_out = b.len;
    return op_buf_take(&b);
}

struct resp {
    int status;
    char *raw;        /* whole response */
    const char *body; /* into raw */
    size_t blen;
};

static void resp_free(struct resp *r)
{
    free(r->raw);
    memset(r, 0, sizeof(*r));
}

/* Sends req verbatim on a new connection and reads the response until the
 * server closes. Returns the status (-1 on failure). */
static int exchange_fam(int family, int port, const char *req, size_t reqlen, struct resp *r)
{
    int fd = dial(family, port);
    size_t len = 0;
    char *e;
    memset(r, 0, sizeof(*r));
    r->status = -1;
    if (fd < 0)
        return -1;
    if (send_all(fd, req, reqlen) == 0)
        r->raw = recv_all(fd, 5000, 65536, &len);
    close(fd);
    if (!r->raw || sscanf(r->raw, "HTTP/1.1 %d ", &r->status) != 1)
        return r->status = -1;
    e = strstr(r->raw, "\r\n\r\n");
    r->body = e ? e + 4 : r->raw + len;
    r->blen = (size_t)(r->raw + len - r->body);
    return r->status;
}

static int exchange(int port, const char *req, struct resp *r)
{
    return exchange_fam(AF_INET, port, req, strlen(req), r);
}

static int get(int port, const char *method, const char *path, struct resp *r)
{
    char req[512];
    snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: t\r\n\r\n", method,
             path);
    return exchange(port, req, r);
}

/* Value of header name in the response head (copied into out), or NULL. */
static const char *header(const struct resp *r, const char *name, char *out, size_t cap)
{
    const char *p = r->raw;
    size_t n = strlen(name);
    while (p && p < r->body) {
        const char *eol = strstr(p, "\r\n");
        if (!eol)
            break;
        if ((size_t)(eol - p) > n && !strncasecmp(p, name, n) && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            snprintf(out, cap, "%.*s", (int)(eol - v), v);
            return out;
        }
        p = eol + 2;
    }
    return NULL;
}

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the DIR's own fd */
}

static _Atomic int ready_flag; /* written by the test, read on the server thread */

static int ready(char *why, size_t cap, void *payload)
{
    (void)payload;
    if (!ready_flag)
        snprintf(why, cap, "caches not synced");
    return ready_flag;
}

static struct ctl_metrics *sample_metrics(void)
{
    struct ctl_metrics *m = ctl_metrics_new();
    struct ctl_metric *g =
        ctl_metrics_register(m, CTL_METRIC_GAUGE, "leader_election_master_status", "Leader",
                             (const char *[]){"name", NULL}, NULL, 0);
    ctl_metric_set(g, (const char *[]){"crosslink-controller"}, 1);
    return m;
}

/* ---- cases ---------------------------------------------------------------- */

TEST(http_endpoints_and_headers)
{
    struct ctl_metrics *m = sample_metrics();
    struct ctl_http *h = NULL;
    struct ctl_http_opts o = {.addr = "127.0.0.1:0", .metrics = m, .health = 1, .ready = ready};
    struct resp r;
    char v[128];
    int port;

    ASSERT_OK(ctl_http_start(&h, &o));
    port = ctl_http_port(h);
    ASSERT_TRUE(port > 0);

    ASSERT_EQ(get(port, "GET", "/healthz", &r), 200);
    ASSERT_STR_EQ(r.body, "ok\n");
    ASSERT_STR_EQ(header(&r, "Content-Type", v, sizeof(v)), "text/plain; charset=utf-8");
    ASSERT_STR_EQ(header(&r, "Content-Length", v, sizeof(v)), "3");
    ASSERT_STR_EQ(header(&r, "Cache-Control", v, sizeof(v)), "no-store");
    ASSERT_STR_EQ(header(&r, "Connection", v, sizeof(v)), "close");
    resp_free(&r);

    ready_flag = 0;
    ASSERT_EQ(get(port, "GET", "/readyz", &r), 503);
    ASSERT_STR_EQ(r.body, "not ready: caches not synced\n");
    ASSERT_STR_EQ(header(&r, "Content-Length", v, sizeof(v)), "29");
    resp_free(&r);
    ready_flag = 1;
    ASSERT_EQ(get(port, "GET", "/readyz", &r), 200);
    ASSERT_STR_EQ(r.body, "ok\n");
    resp_free(&r);

    ASSERT_EQ(get(port, "GET", "/metrics", &r), 200);
    ASSERT_STR_EQ(header(&r, "Content-Type", v, sizeof(v)),
                  "text/plain; version=0.0.4; charset=utf-8");
    ASSERT_CONTAINS(r.body, "leader_election_master_status{name=\"crosslink-controller\"} 1\n");
    snprintf(v, sizeof(v), "%zu", r.blen);
    char cl[32];
    ASSERT_STR_EQ(header(&r, "Content-Length", cl, sizeof(cl)), v);
    resp_free(&r);

    /* the query string and fragment do not take part in routing */
    ASSERT_EQ(get(port, "GET", "/metrics?x=1", &r), 200);
    ASSERT_CONTAINS(r.body, "leader_election_master_status");
    resp_free(&r);
    ASSERT_EQ(get(port, "GET", "/healthz?verbose", &r), 200);
    resp_free(&r);
    /* absolute-form target, HTTP/1.0, bare LF line ends */
    ASSERT_EQ(get(port, "GET", "http://localhost:1/healthz", &r), 200);
    resp_free(&r);
    ASSERT_EQ(exchange(port, "GET /healthz HTTP/1.0\n\n", &r), 200);
    ASSERT_STR_EQ(r.body, "ok\n");
    resp_free(&r);

    ASSERT_EQ(get(port, "GET", "/nope", &r), 404);
    ASSERT_STR_EQ(r.body, "not found\n");
    resp_free(&r);
    ASSERT_EQ(get(port, "GET", "/metrics/", &r), 404);
    resp_free(&r);
    ctl_http_free(h);

    /* a metrics-only listener does not answer health paths, and vice versa */
    struct ctl_http_opts o2 = {.addr = "127.0.0.1:0", .metrics = m};
    ASSERT_OK(ctl_http_start(&h, &o2));
    ASSERT_EQ(get(ctl_http_port(h), "GET", "/healthz", &r), 404);
    resp_free(&r);
    ctl_http_free(h);
    struct ctl_http_opts o3 = {.addr = "127.0.0.1:0", .health = 1};
    ASSERT_OK(ctl_http_start(&h, &o3));
    ASSERT_EQ(get(ctl_http_port(h), "GET", "/metrics", &r), 404);
    resp_free(&r);
    ASSERT_EQ(get(ctl_http_port(h), "GET", "/readyz", &r), 200); /* no callback: ready */
    resp_free(&r);
    ctl_http_free(h);
    ctl_metrics_free(m);
}

TEST(http_head_and_methods)
{
    struct ctl_metrics *m = sample_metrics();
    struct ctl_http *h = NULL;
    struct ctl_http_opts o = {.addr = "127.0.0.1:0", .metrics = m, .health = 1};
    struct resp r;
    char v[64], want[32];
    size_t glen;
    int port;

    ASSERT_OK(ctl_http_start(&h, &o));
    port = ctl_http_port(h);

    ASSERT_EQ(get(port, "GET", "/metrics", &r), 200);
    glen = r.blen;
    resp_free(&r);
    ASSERT_EQ(get(port, "HEAD", "/metrics", &r), 200);
    ASSERT_EQ(r.blen, 0);
    snprintf(want, sizeof(want), "%zu", glen);
    ASSERT_STR_EQ(header(&r, "Content-Length", v, sizeof(v)), want);
    resp_free(&r);
    ASSERT_EQ(get(port, "HEAD", "/healthz", &r), 200);
    ASSERT_EQ(r.blen, 0);
    ASSERT_STR_EQ(header(&r, "Content-Length", v, sizeof(v)), "3");
    resp_free(&r);
    ASSERT_EQ(get(port, "HEAD", "/nope", &r), 404);
    ASSERT_EQ(r.blen, 0);
    resp_free(&r);

    ASSERT_EQ(exchange(port, "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", &r),
              405);
    ASSERT_STR_EQ(header(&r, "Allow", v, sizeof(v)), "GET, HEAD");
    ASSERT_STR_EQ(r.body, "method not allowed\n");
    resp_free(&r);
    ASSERT_EQ(get(port, "DELETE", "/metrics", &r), 405);
    resp_free(&r);
    ASSERT_EQ(get(port, "get", "/healthz", &r), 405); /* methods are case-sensitive */
    resp_free(&r);
    ctl_http_free(h);
    ctl_metrics_free(m);
}

TEST(http_bad_requests)
{
    struct ctl_http *h = NULL;
    struct ctl_http_opts o = {.addr = "127.0.0.1:0", .health = 1};
    struct resp r;
    int port;
    char *big;
    size_t n = 0;

    ASSERT_OK(ctl_http_start(&h, &o));
    port = ctl_http_port(h);

    big = malloc(20000);
    ASSERT_TRUE(big != NULL);
    n += (size_t)sprintf(big, "GET /healthz HTTP/1.1\r\nX-Big: ");
    memset(big + n, 'a', 12000);
    n += 12000;
    memcpy(big + n, "\r\n\r\n", 4);
    n += 4;
    int st = exchange_fam(AF_INET, port, big, n, &r);
    free(big);
    ASSERT_EQ(st, 431);
    resp_free(&r);

    ASSERT_EQ(exchange(port, "garbage\r\n\r\n", &r), 400);
    resp_free(&r);
    ASSERT_EQ(exchange(port, "GET /healthz\r\n\r\n", &r), 400);
    resp_free(&r);
    ASSERT_EQ(exchange(port, "GET  /healthz HTTP/1.1\r\n\r\n", &r), 400);
    resp_free(&r);
    ASSERT_EQ(exchange(port, "GET /healthz HTTP/2.0\r\n\r\n", &r), 505);
    resp_free(&r);
    ASSERT_EQ(exchange_fam(AF_INET, port, "GET /\0 HTTP/1.1\r\n\r\n", 20, &r), 400);
    resp_free(&r);

    /* still serving */
    ASSERT_EQ(get(port, "GET", "/healthz", &r), 200);
    resp_free(&r);
    ctl_http_free(h);
}

TEST(http_idle_client_does_not_block_others)
{
    struct ctl_http *h = NULL;
    struct ctl_http_opts o = {.addr = "127.0.0.1:0", .health = 1};
    struct resp r;
    int port, idle, partial;
    int64_t t0;

    ASSERT_OK(ctl_http_start(&h, &o));
    port = ctl_http_port(h);
    idle = dial(AF_INET, port);
    partial = dial(AF_INET, port);
    ASSERT_TRUE(idle >= 0 && partial >= 0);
    ASSERT_OK(send_all(partial, "GET /healthz HTTP/1.1\r\nHost:", 28));
    usleep(50 * 1000);

    t0 = op_mono_ms();
    ASSERT_EQ(get(port, "GET", "/healthz", &r), 200);
    ASSERT_TRUE(op_mono_ms() - t0 < 1000);
    resp_free(&r);

    /* the partial request completes later and is answered */
    ASSERT_OK(send_all(partial, " x\r\n\r\n", 6));
    char *raw = recv_all(partial, 5000, 65536, NULL);
    ASSERT_TRUE(raw != NULL);
    ASSERT_TRUE(!strncmp(raw, "HTTP/1.1 200 OK\r\n", 17));
    free(raw);
    close(partial);
    close(idle);
    ctl_http_free(h);
}

TEST(http_more_clients_than_slots)
{
    struct ctl_http *h = NULL;
    struct ctl_http_opts o = {.addr = "127.0.0.1:0", .health = 1};
    struct resp r;
    int port, fds[40], nfd = 0;

    ASSERT_OK(ctl_http_start(&h, &o));
    port = ctl_http_port(h);
    for (int i = 0; i < 40; i++)
        if ((fds[nfd] = dial(AF_INET, port)) >= 0)
            nfd++;
    ASSERT_EQ(nfd, 40);
    usleep(100 * 1000);
    for (int i = 0; i < nfd; i++)
        close(fds[i]);
    /* the server notices the closes and takes new clients again */
    ASSERT_EQ(get(port, "GET", "/healthz", &r), 200);
    resp_free(&r);
    ctl_http_free(h);
}

TEST(http_idle_client_times_out)
{
    struct ctl_http *h = NULL;
    struct ctl_http_opts o = {.addr = "127.0.0.1:0", .health = 1};
    int fd;
    int64_t t0;
    char c;

    ASSERT_OK(ctl_http_start(&h, &o));
    fd = dial(AF_INET, ctl_http_port(h));
    ASSERT_TRUE(fd >= 0);
    t0 = op_mono_ms();
    struct pollfd p = {.fd = fd, .events = POLLIN};
    ASSERT_EQ(poll(&p, 1, 10000), 1);
    ASSERT_TRUE(recv(fd, &c, 1, 0) <= 0); /* closed without a response */
    int64_t dt = op_mono_ms() - t0;
    ASSERT_TRUE(dt >= 4000 && dt < 8000);
    close(fd);
    ctl_http_free(h);
}

TEST(http_many_sequential_requests_no_fd_leak)
{
    struct ctl_metrics *m = sample_metrics();
    struct ctl_http *h = NULL;
    struct ctl_http_opts o = {.addr = "127.0.0.1:0", .metrics = m, .health = 1};
    struct resp r;
    int port, before, after = -1;

    before = count_fds();
    ASSERT_OK(ctl_http_start(&h, &o));
    port = ctl_http_port(h);
    for (int i = 0; i < 200; i++) {
        const char *path = i % 3 == 0 ? "/metrics" : i % 3 == 1 ? "/healthz" : "/readyz";
        ASSERT_EQ(get(port, i % 5 == 0 ? "HEAD" : "GET", path, &r), 200);
        resp_free(&r);
    }
    /* clients that vanish without reading must not hurt (no SIGPIPE) */
    for (int i = 0; i < 20; i++) {
        int fd = dial(AF_INET, port);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(send_all(fd, "GET /metrics HTTP/1.1\r\n\r\n", 25));
        close(fd);
    }
    ASSERT_EQ(get(port, "GET", "/healthz", &r), 200);
    resp_free(&r);
    /* listener + self-pipe while running; the server closes its side of each
     * connection once the client has gone */
    for (int i = 0; i < 100 && (after = count_fds()) != before + 3; i++)
        usleep(20 * 1000);
    ASSERT_EQ(after, before + 3);
    ctl_http_free(h);
    ASSERT_EQ(count_fds(), before);
    ctl_metrics_free(m);
}

TEST(http_large_body_slow_reader)
{
    struct ctl_metrics *m = ctl_metrics_new();
    struct ctl_metric *g = ctl_metrics_register(m, CTL_METRIC_GAUGE, "many_series", "Many",
                                                (const char *[]){"id", NULL}, NULL, 0);
    struct ctl_http *h = NULL;
    struct ctl_http_opts o = {.addr = "127.0.0.1:0", .metrics = m};
    char id[200], cl[32], *raw, *body;
    size_t len = 0;
    int fd;

    for (int i = 0; i < 4000; i++) { /* ~0.7 MB: more than the socket buffers hold */
        snprintf(id, sizeof(id), "series-%06d-%0150d", i, 0);
        ctl_metric_set(g, (const char *[]){id}, i);
    }
    ASSERT_OK(ctl_http_start(&h, &o));
    fd = dial(AF_INET, ctl_http_port(h));
    ASSERT_TRUE(fd >= 0);
    ASSERT_OK(send_all(fd, "GET /metrics HTTP/1.1\r\n\r\n", 25));
    usleep(100 * 1000); /* let the server fill the socket buffers and wait */
    raw = recv_all(fd, 5000, 4096, &len);
    close(fd);
    ASSERT_TRUE(raw != NULL);
    body = strstr(raw, "\r\n\r\n");
    ASSERT_TRUE(body != NULL);
    body += 4;
    struct resp r = {.status = 200, .raw = raw, .body = body, .blen = (size_t)(raw + len - body)};
    ASSERT_TRUE(r.blen > 500000);
    snprintf(id, sizeof(id), "%zu", r.blen);
    ASSERT_STR_EQ(header(&r, "Content-Length", cl, sizeof(cl)), id);
    ASSERT_CONTAINS(body, "\"} 3999\n");
    free(raw);
    ctl_http_free(h);
    ctl_metrics_free(m);
}

static int have_ipv6_loopback(void)
{
    struct sockaddr_in6 a;
    int fd = socket(AF_INET6, SOCK_STREAM, 0), ok;
    if (fd < 0)
        return 0;
    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

TEST(http_ipv6_loopback)
{
    struct ctl_http *h = NULL;
    struct ctl_http_opts o = {.addr = "[::1]:0", .health = 1};
    struct resp r;
    const char *req = "GET /healthz HTTP/1.1\r\nHost: [::1]\r\n\r\n";

    if (!have_ipv6_loopback()) {
        printf("  (skipped: no IPv6 loopback on this host)\n");
        return;
    }
    ASSERT_OK(ctl_http_start(&h, &o));
    ASSERT_TRUE(ctl_http_port(h) > 0);
    ASSERT_EQ(exchange_fam(AF_INET6, ctl_http_port(h), req, strlen(req), &r), 200);
    ASSERT_STR_EQ(r.body, "ok\n");
    resp_free(&r);
    ctl_http_free(h);
}

TEST(http_free_with_clients_connected)
{
    struct ctl_http *h = NULL;
    struct ctl_http_opts o = {.addr = "127.0.0.1:0", .health = 1};
    int idle, partial;
    int64_t t0;
    char c;

    ASSERT_OK(ctl_http_start(&h, &o));
    idle = dial(AF_INET, ctl_http_port(h));
    partial = dial(AF_INET, ctl_http_port(h));
    ASSERT_TRUE(idle >= 0 && partial >= 0);
    ASSERT_OK(send_all(partial, "GET /hea", 8));
    usleep(50 * 1000);
    t0 = op_mono_ms();
    ctl_http_free(h);
    ASSERT_TRUE(op_mono_ms() - t0 < 1000);
    /* the server side is closed */
    struct pollfd p = {.fd = idle, .events = POLLIN};
    ASSERT_EQ(poll(&p, 1, 2000), 1);
    ASSERT_TRUE(recv(idle, &c, 1, 0) <= 0);
    close(idle);
    close(partial);
}

TEST(http_address_errors)
{
    struct ctl_http *h = NULL, *h2 = NULL;
    struct ctl_http_opts bad = {.addr = "nonsense"};
    ASSERT_EQ(ctl_http_start(&h, &bad), OP_EINVALID);
    struct ctl_http_opts bad2 = {.addr = "127.0.0.1:99999"};
    ASSERT_EQ(ctl_http_start(&h, &bad2), OP_EINVALID);

    /* ":PORT" listens on every address; the same port again fails to bind */
    struct ctl_http_opts any = {.addr = ":0", .health = 1};
    ASSERT_OK(ctl_http_start(&h, &any));
    char addr[32];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", ctl_http_port(h));
    struct resp r;
    ASSERT_EQ(get(ctl_http_port(h), "GET", "/healthz", &r), 200);
    resp_free(&r);
    struct ctl_http_opts dup = {.addr = addr, .health = 1};
    ASSERT_EQ(ctl_http_start(&h2, &dup), OP_ERR);
    ASSERT_CONTAINS(op_err_last(), "cannot listen on 127.0.0.1:");
    ASSERT_CONTAINS(op_err_last(), "in use");
    ctl_http_free(h);
}

TEST_MAIN()
