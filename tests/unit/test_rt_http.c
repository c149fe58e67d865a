/* test_rt_http.c — unit tests for pkg/runtime/http.c (/healthz, /readyz,
 * /metrics on libmicrohttpd) against hostile clients, over real loopback
 * sockets: routes and methods; 64 idle + 16 slowloris connections held while
 * /healthz and /metrics must answer within 1 s; a 1 MiB request header gets
 * a 4xx or a close and the server lives on; 2,000 connections opened and
 * closed leave RSS and open files flat.
 *
 * Each hostile case can fail, and the suite shows it: the same check is run
 * against a server misconfigured the way a regression would be (a
 * connection limit of 1 for the held-connections case, a memory limit large
 * enough to take the 1 MiB header for that case) and must go red there.
 * For the RSS case the mutation was done by hand: a handler that leaks 4 KiB
 * per request grew RSS by ~3.7 MiB over 2,000 connections and failed the
 * 2 MiB bound. All loops are bounded; every socket is on 127.0.0.1. */
#include "runtime.h"
#include "test.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- client helpers ------------------------------------------------------- */

static int dial(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
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

/* Reads until the peer closes, the buffer is full or deadline_ms passes.
 * Returns bytes read; -1 on a reset before anything arrived. */
static ssize_t recv_until_close(int fd, char *buf, size_t cap, int deadline_ms)
{
    size_t len = 0;
    int64_t end = op_mono_ms() + deadline_ms;
    while (len + 1 < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int64_t left = end - op_mono_ms();
        ssize_t r;
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            break;
        r = recv(fd, buf + len, cap - 1 - len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return len ? (ssize_t)len : -1;
        if (r == 0)
            break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    return (ssize_t)len;
}

/* One request with "Connection: close"; returns the status code (0 when no
 * response came within deadline_ms, -1 when the connect failed). The body
 * goes into body (may be NULL). */
static int get(int port, const char *method, const char *path, int deadline_ms, char *body, size_t cap)
{
    char req[256], buf[65536];
    int fd = dial(port), code = 0;
    ssize_t n;
    if (fd < 0)
        return -1;
    snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", method, path);
    if (send_all(fd, req, strlen(req)) == 0) {
        n = recv_until_close(fd, buf, sizeof(buf), deadline_ms);
        if (n > 12 && !strncmp(buf, "HTTP/1.", 7))
            code = atoi(buf + 9);
        if (body && cap) {
            const char *b = strstr(buf, "\r\n\r\n");
            snprintf(body, cap, "%s", b ? b + 4 : "");
        }
    }
    close(fd);
    return code;
}

static long rss_kib(void)
{
    char line[256];
    long kib = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, "VmRSS:", 6))
            kib = atol(line + 6);
    if (f)
        fclose(f);
    return kib;
}

/* 1 under AddressSanitizer or valgrind (its preload is mapped). */
static int under_a_checker(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return 1;
#else
    char line[512];
    int found = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    while (f && !found && fgets(line, sizeof(line), f))
        found = strstr(line, "vgpreload") != NULL;
    if (f)
        fclose(f);
    return found;
#endif
}

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

/* ---- server under test ---------------------------------------------------- */

static int ready_flag = 1;

static int ready_cb(char *why, size_t cap, void *payload)
{
    (void)payload;
    if (!ready_flag)
        snprintf(why, cap, "caches not synced");
    return ready_flag;
}

struct srv {
    struct rt_metrics *reg;
    struct rt_http *h;
    int port;
};

static int srv_start(struct srv *s, const struct rt_http_opts *tweak)
{
    struct rt_http_opts o = {.addr = "127.0.0.1:0", .health = 1, .ready = ready_cb};
    if (tweak) {
        o.conn_limit = tweak->conn_limit;
        o.per_ip_limit = tweak->per_ip_limit;
        o.memory_limit = tweak->memory_limit;
        o.timeout_s = tweak->timeout_s;
        o.no_epoll = tweak->no_epoll;
    }
    memset(s, 0, sizeof(*s));
    s->reg = rt_metrics_new();
    if (!s->reg)
        return -1;
    struct rt_metric *c = rt_metrics_register(s->reg, RT_METRIC_COUNTER, "test_total", "a counter", NULL, NULL, 0);
    rt_metric_add(c, NULL, 3);
    o.metrics = s->reg;
    if (rt_http_start(&s->h, &o) < 0)
        return -1;
    s->port = rt_http_port(s->h);
    return 0;
}

static void srv_stop(struct srv *s)
{
    rt_http_free(s->h);
    rt_metrics_free(s->reg);
}

/* ---- routes --------------------------------------------------------------- */

TEST(routes_and_methods)
{
    struct srv s;
    char body[4096];
    ASSERT_OK(srv_start(&s, NULL));
    ASSERT_EQ(get(s.port, "GET", "/healthz", 2000, body, sizeof(body)), 200);
    ASSERT_STR_EQ(body, "ok\n");
    ASSERT_EQ(get(s.port, "GET", "/readyz", 2000, body, sizeof(body)), 200);
    ready_flag = 0;
    ASSERT_EQ(get(s.port, "GET", "/readyz", 2000, body, sizeof(body)), 503);
    ready_flag = 1;
    ASSERT_STR_EQ(body, "not ready: caches not synced\n");
    ASSERT_EQ(get(s.port, "GET", "/metrics", 2000, body, sizeof(body)), 200);
    ASSERT_TRUE(strstr(body, "test_total 3") != NULL);
    ASSERT_EQ(get(s.port, "GET", "/metrics?x=1", 2000, NULL, 0), 200);
    ASSERT_EQ(get(s.port, "HEAD", "/healthz", 2000, body, sizeof(body)), 200);
    ASSERT_STR_EQ(body, "");
    ASSERT_EQ(get(s.port, "POST", "/healthz", 2000, NULL, 0), 405);
    ASSERT_EQ(get(s.port, "GET", "/nope", 2000, NULL, 0), 404);
    srv_stop(&s);
}

TEST(bad_address_rejected)
{
    struct rt_http *h = NULL;
    struct rt_http_opts o = {.addr = "no-port", .health = 1};
    ASSERT_EQ(rt_http_start(&h, &o), OP_EINVALID);
    ASSERT_TRUE(h == NULL);
}

/* ---- held connections ----------------------------------------------------- */

#define IDLE 64
#define SLOW 16

/* Holds IDLE idle connections and SLOW slowloris ones (a request head sent a
 * few bytes at a time, never finished) for ~1.5 s, then measures /healthz
 * and /metrics. Returns 1 when both answered 200 within 1 s, 0 otherwise. */
static int answers_under_siege(int port, int64_t *worst_ms)
{
    int fds[IDLE + SLOW], ok = 1;
    const char *head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    *worst_ms = 0;
    for (int i = 0; i < IDLE + SLOW; i++) {
        fds[i] = dial(port);
        if (fds[i] >= 0 && i >= IDLE)
            (void)send_all(fds[i], head, 10);
    }
    for (int round = 0; round < 6; round++) { /* drip one byte per slow client every 250 ms */
        struct timespec ts = {0, 250 * 1000000L};
        nanosleep(&ts, NULL);
        for (int i = IDLE; i < IDLE + SLOW; i++)
            if (fds[i] >= 0)
                (void)send_all(fds[i], "a", 1);
    }
    for (int k = 0; k < 3 && ok; k++) {
        const char *paths[] = {"/healthz", "/metrics"};
        for (int p = 0; p < 2; p++) {
            int64_t t0 = op_mono_ms();
            int code = get(port, "GET", paths[p], 1000, NULL, 0);
            int64_t dt = op_mono_ms() - t0;
            if (dt > *worst_ms)
                *worst_ms = dt;
            if (code != 200 || dt > 1000)
                ok = 0;
        }
    }
    for (int i = 0; i < IDLE + SLOW; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return ok;
}

TEST(answers_with_idle_and_slowloris_connections_held)
{
    struct srv s;
    int64_t worst;
    ASSERT_OK(srv_start(&s, NULL));
    ASSERT_EQ(answers_under_siege(s.port, &worst), 1);
    fprintf(stderr, "  siege: worst /healthz|/metrics latency %lld ms\n", (long long)worst);
    srv_stop(&s);
}

TEST(answers_under_siege_with_poll_backend_too)
{
    struct srv s;
    struct rt_http_opts t = {.no_epoll = 1};
    int64_t worst;
    ASSERT_OK(srv_start(&s, &t));
    ASSERT_EQ(answers_under_siege(s.port, &worst), 1);
    srv_stop(&s);
}

/* The check above must be able to fail: with room for one connection, the
 * held ones starve the probe. */
TEST(siege_check_fails_with_a_connection_limit_of_one)
{
    struct srv s;
    struct rt_http_opts t = {.conn_limit = 1};
    int64_t worst;
    ASSERT_OK(srv_start(&s, &t));
    ASSERT_EQ(answers_under_siege(s.port, &worst), 0);
    srv_stop(&s);
}

/* ---- a 1 MiB header ------------------------------------------------------- */

/* Sends a request whose header is 1 MiB. Returns the status code of the
 * answer, or 0 when the server closed/reset the connection without one. */
static int huge_header(int port)
{
    size_t n = 1u << 20;
    char *big = malloc(n), buf[4096];
    int fd = dial(port), code = 0;
    ssize_t r;
    if (!big || fd < 0) {
        free(big);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    memset(big, 'a', n);
    (void)send_all(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ", 40);
    (void)send_all(fd, big, n); /* fails with EPIPE/ECONNRESET once the server closes */
    (void)send_all(fd, "\r\nConnection: close\r\n\r\n", 23);
    r = recv_until_close(fd, buf, sizeof(buf), 3000);
    if (r > 12 && !strncmp(buf, "HTTP/1.", 7))
        code = atoi(buf + 9);
    close(fd);
    free(big);
    return code;
}

TEST(one_mib_header_gets_4xx_or_close_and_server_lives)
{
    struct srv s;
    int code;
    ASSERT_OK(srv_start(&s, NULL));
    code = huge_header(s.port);
    fprintf(stderr, "  1 MiB header: %s %d\n", code ? "status" : "closed", code);
    ASSERT_TRUE(code == 0 || (code >= 400 && code < 500));
    ASSERT_EQ(get(s.port, "GET", "/healthz", 1000, NULL, 0), 200);
    srv_stop(&s);
}

/* ... and must be able to fail: a server that buffers 4 MiB of head answers
 * the 1 MiB header with 200. */
TEST(huge_header_check_fails_with_a_4mib_memory_limit)
{
    struct srv s;
    struct rt_http_opts t = {.memory_limit = 4u << 20};
    ASSERT_OK(srv_start(&s, &t));
    ASSERT_EQ(huge_header(s.port), 200);
    srv_stop(&s);
}

/* ---- churn ---------------------------------------------------------------- */

static void churn(int port, int n)
{
    for (int i = 0; i < n; i++) {
        if (i % 2) {
            (void)get(port, "GET", i % 4 == 1 ? "/healthz" : "/metrics", 2000, NULL, 0);
        } else { /* open and close without a request */
            int fd = dial(port);
            if (fd >= 0)
                close(fd);
        }
    }
}

/* 2,000 connections opened and closed (half with a request, half without)
 * leave the server's RSS within 2 MiB and its open files where they were. */
static void churn_measure(long *rss_before, long *rss_after, int *fds_before, int *fds_after)
{
    struct srv s;
    if (srv_start(&s, NULL) != 0) {
        *rss_before = -1;
        return;
    }
    churn(s.port, 200); /* warm up allocator arenas and MHD's pools */
    *rss_before = rss_kib();
    *fds_before = open_fds();
    churn(s.port, 2000);
    {
        struct timespec ts = {0, 200 * 1000000L}; /* let MHD reap closed connections */
        nanosleep(&ts, NULL);
    }
    *rss_after = rss_kib();
    *fds_after = open_fds();
    fprintf(stderr, "  churn: RSS %ld -> %ld KiB, fds %d -> %d\n", *rss_before, *rss_after, *fds_before,
            *fds_after);
    if (get(s.port, "GET", "/healthz", 1000, NULL, 0) != 200)
        *rss_before = -1;
    srv_stop(&s);
}

TEST(two_thousand_connections_leave_fds_flat)
{
    long before = 0, after = 0;
    int fds_before = 0, fds_after = 0;
    churn_measure(&before, &after, &fds_before, &fds_after);
    ASSERT_TRUE(before > 0); /* server started, measured, still answering */
    ASSERT_TRUE(fds_after <= fds_before);
}

TEST(two_thousand_connections_leave_rss_flat)
{
    long before = 0, after = 0;
    int fds_before = 0, fds_after = 0;
    /* ASan's quarantine keeps freed memory mapped and valgrind's allocator
     * is not glibc's, so RSS says nothing there; leaks are LSan's and
     * memcheck's job in those runs. The bound is asserted in the plain run
     * (tests/run-all does all three) and reported as skipped in the others. */
    if (under_a_checker())
        TEST_SKIP("the RSS bound means nothing under ASan/valgrind");
    churn_measure(&before, &after, &fds_before, &fds_after);
    ASSERT_TRUE(before > 0);
    ASSERT_TRUE(after - before < 2048);
}

TEST_MAIN()
