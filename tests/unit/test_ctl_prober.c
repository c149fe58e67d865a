/* test_ctl_prober.c — controller/stack/prober.c over real loopback sockets: a
 * refused port (answers at once) and a listening socket that never accepts
 * (a dead backend: the probe times out). Checks that results arrive within
 * the wait without a notify, that identical targets share one job, that a
 * dead backend delays only the stacks that use it, that every stack that
 * stopped waiting is notified exactly once, that later checks come from the
 * cache, and that freeing with a job in flight returns promptly. */
#include "prober.h"
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static char g_notified[64][64];
static int g_nnotified;

static void on_notify(const char *key, void *ud)
{
    (void)ud;
    pthread_mutex_lock(&g_mu);
    if (g_nnotified < 64)
        snprintf(g_notified[g_nnotified++], sizeof(g_notified[0]), "%s", key);
    pthread_mutex_unlock(&g_mu);
}

static int notified(const char *key)
{
    int n = 0;
    pthread_mutex_lock(&g_mu);
    for (int i = 0; i < g_nnotified; i++)
        n += !strcmp(g_notified[i], key);
    pthread_mutex_unlock(&g_mu);
    return n;
}

/* A listening socket that never accepts: connects succeed, nothing answers. */
static int dead_listener(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 64) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &l) < 0)
        return -1;
    *port = ntohs(a.sin_port);
    return fd;
}

/* A port nothing listens on. */
static int refused_port(void)
{
    int port = 0, fd = dead_listener(&port);
    close(fd);
    return port;
}

static void url(char *out, size_t n, int port)
{
    snprintf(out, n, "http://127.0.0.1:%d", port);
}

TEST(prober_results_cache_sharing_and_notify)
{
    struct probe_engine *e = NULL;
    struct ctl_prober *p = NULL;
    char u_ref[64], u_ref2[64], u_dead[64], u_dead2[64];
    int dport = 0, dport2 = 0, dfd, dfd2, done[2];
    struct probe_result r[2];
    struct probe_target tr = {.signal = PROBE_TRACES, .timeout_ms = 2000};
    struct probe_target tr2 = tr, td = {.signal = PROBE_TRACES, .timeout_ms = 700};
    struct probe_target td2 = {.signal = PROBE_LOGS, .timeout_ms = 300, .basic_password = "s3cret"};
    uint64_t jobs = 0;
    int64_t t0;

    url(u_ref, sizeof(u_ref), refused_port());
    url(u_ref2, sizeof(u_ref2), refused_port());
    dfd = dead_listener(&dport);
    dfd2 = dead_listener(&dport2);
    ASSERT_TRUE(dfd >= 0 && dfd2 >= 0);
    url(u_dead, sizeof(u_dead), dport);
    url(u_dead2, sizeof(u_dead2), dport2);
    tr.url = u_ref;
    tr2.url = u_ref2;
    td.url = u_dead;
    td2.url = u_dead2;
    ASSERT_EQ(probe_engine_new(&e, 64, 60000), 0);
    ASSERT_EQ(ctl_prober_new(&p, e, 0, on_notify, NULL), 0);

    /* a fast backend: answered within the wait, nobody is notified */
    ASSERT_EQ(ctl_prober_check(p, "ns/a", &tr, 1, r, done, 2000), 0);
    ASSERT_EQ(done[0], 1);
    ASSERT_STR_EQ(r[0].reason, "ConnectionRefused");
    /* again: from the engine's cache, no new job */
    ASSERT_EQ(ctl_prober_check(p, "ns/a", &tr, 1, r, done, 2000), 0);
    ASSERT_EQ(done[0], 1);
    ASSERT_EQ(r[0].cached, 1);
    ctl_prober_stats(p, &jobs, NULL);
    ASSERT_EQ(jobs, 1u);

    /* a dead backend used by two stacks: one job, both stop waiting */
    t0 = op_mono_ms();
    ASSERT_EQ(ctl_prober_check(p, "ns/d1", &td, 1, r, done, 50), 1);
    ASSERT_EQ(done[0], 0);
    ASSERT_EQ(ctl_prober_check(p, "ns/d2", &td, 1, r, done, 50), 1);
    ASSERT_TRUE(op_mono_ms() - t0 < 400);
    ctl_prober_stats(p, &jobs, NULL);
    ASSERT_EQ(jobs, 2u);
    /* meanwhile another stack's healthy-or-refused backend is not delayed */
    t0 = op_mono_ms();
    ASSERT_EQ(ctl_prober_check(p, "ns/b", &tr2, 1, r, done, 2000), 0);
    ASSERT_TRUE(op_mono_ms() - t0 < 300);
    ASSERT_STR_EQ(r[0].reason, "ConnectionRefused");
    /* the dead probe ends with its own timeout; each waiter told once */
    for (int i = 0; i < 40 && (notified("ns/d1") == 0 || notified("ns/d2") == 0); i++)
        usleep(50 * 1000);
    usleep(100 * 1000);
    ASSERT_EQ(notified("ns/d1"), 1);
    ASSERT_EQ(notified("ns/d2"), 1);
    ASSERT_EQ(notified("ns/a"), 0);
    ASSERT_EQ(notified("ns/b"), 0);
    /* the notified stack's next check is answered from the cache */
    ASSERT_EQ(ctl_prober_check(p, "ns/d1", &td, 1, r, done, 0), 0);
    ASSERT_EQ(done[0], 1);
    ASSERT_STR_EQ(r[0].reason, "Timeout");
    ASSERT_EQ(r[0].cached, 1);

    /* two targets of one stack, one dead and one refused, waited for long
     * enough: both answered, no notify; the secret is not in the message */
    {
        struct probe_target two[2] = {tr, td2};
        two[0].max_age_ms = -1; /* force a fresh probe */
        ASSERT_EQ(ctl_prober_check(p, "ns/c", two, 2, r, done, 3000), 0);
        ASSERT_EQ(done[0] + done[1], 2);
        ASSERT_STR_EQ(r[0].reason, "ConnectionRefused");
        ASSERT_STR_EQ(r[1].reason, "Timeout");
        ASSERT_TRUE(strstr(r[1].message, "s3cret") == NULL);
        usleep(100 * 1000);
        ASSERT_EQ(notified("ns/c"), 0);
    }

    /* free with a job in flight returns within that probe's timeout */
    {
        struct probe_target t3 = td;
        t3.timeout_ms = 800;
        t3.tenant = "other"; /* another key: a new job */
        ASSERT_EQ(ctl_prober_check(p, "ns/e", &t3, 1, r, done, 0), 1);
        t0 = op_mono_ms();
        ctl_prober_free(p);
        ASSERT_TRUE(op_mono_ms() - t0 < 1500);
    }
    probe_engine_free(e);
    close(dfd);
    close(dfd2);
}

TEST(prober_bad_arguments)
{
    struct probe_engine *e = NULL;
    struct ctl_prober *p = NULL;
    struct probe_target t[9];
    struct probe_result r[9];
    int done[9];
    memset(t, 0, sizeof(t));
    ASSERT_EQ(probe_engine_new(&e, 4, 1000), 0);
    ASSERT_EQ(ctl_prober_new(&p, e, 2, NULL, NULL), 0);
    ASSERT_EQ(ctl_prober_check(p, NULL, t, 1, r, done, 0), OP_EINVALID);
    ASSERT_EQ(ctl_prober_check(p, "k", t, 9, r, done, 0), OP_EINVALID);
    ASSERT_EQ(ctl_prober_check(p, "k", t, 0, r, done, 0), 0);
    /* a target the engine refuses (no URL) is answered, not left pending */
    ASSERT_EQ(ctl_prober_check(p, "k", t, 1, r, done, 2000), 0);
    ASSERT_EQ(done[0], 1);
    ASSERT_STR_EQ(r[0].reason, "InvalidResponse");
    ctl_prober_free(p);
    ctl_prober_free(NULL);
    probe_engine_free(e);
}

TEST_MAIN()
