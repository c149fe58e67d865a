/* test_rt_recorder.c — pkg/runtime's Event recorder when its queue
 * overflows: an apiserver that never answers (a loopback socket that
 * listens but never accepts) holds the sending thread on its first Event,
 * the queue fills to RT_RECORDER_QUEUE_MAX, and every Event beyond is
 * dropped and counted in the counter the recorder was given — the emitter
 * is never blocked — with one warning per overflow: another comes only
 * after the queue drained. Mutants seen red: the counter not added to
 * (drops 0), the queue bound raised past the burst (drops 0), the warning
 * re-armed by nothing (1 after the second burst) or on every drop. */
#include "kube.h"
#include "kube_client.h"
#include "runtime.h"
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A listening loopback socket nobody accepts on: connections complete in
 * the backlog, requests are never answered. Returns the fd, *port set. */
static int silent_listener(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static int warnings;

static void count_warnings(const char *line, size_t len, void *payload)
{
    (void)len;
    (void)payload;
    if (strstr(line, "event queue full"))
        warnings++;
}

static json_t *regarding(int i)
{
    char name[32];
    snprintf(name, sizeof(name), "s%d", i);
    return json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "apiVersion", "crosslink.dev/v1alpha1", "kind",
                     "ObservabilityStack", "metadata", "name", name, "namespace", "ns", "uid",
                     "5d1e7a2c-0f43-4b8e-a6d1-93c2e8f7b410");
}

TEST(a_full_queue_drops_and_counts_without_blocking_the_emitter)
{
    enum { BURST = RT_RECORDER_QUEUE_MAX + 100 };
    struct rt_metrics *reg = rt_metrics_new();
    struct rt_metric *dropped;
    struct rt_recorder *r = NULL;
    struct kube_client *c;
    struct timespec t0, t1, nap = {0, 200 * 1000 * 1000};
    int port = 0, fd = silent_listener(&port);
    double n;

    ASSERT_TRUE(reg != NULL);
    ASSERT_TRUE(fd >= 0);
    dropped = rt_metrics_register(reg, RT_METRIC_COUNTER, "crosslink_events_dropped_total", "test", NULL, NULL, 0);
    ASSERT_TRUE(dropped != NULL);
    c = test_kube_client(port, "{token: t}");
    ASSERT_TRUE(c != NULL);
    ASSERT_OK(rt_recorder_new(&r, c, "crosslink.dev/controller", "test", dropped));
    op_log_set_sink(count_warnings, NULL);
    /* the first Event: the sender takes it and waits on the silent server */
    rt_recorder_emit(r, regarding(0), "Normal", "Ready", "first");
    nanosleep(&nap, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 1; i < BURST; i++)
        rt_recorder_emit(r, regarding(i), "Normal", "Ready", "burst");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    n = rt_metric_value(dropped, NULL);
    /* BURST - 1 emitted while the sender is stuck: the queue takes
     * RT_RECORDER_QUEUE_MAX, the rest are dropped and counted */
    ASSERT_EQ((long)n, (long)(BURST - 1 - RT_RECORDER_QUEUE_MAX));
    /* and the emitter never waited on the apiserver (generous bound) */
    ASSERT_TRUE((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 2000);
    /* one warning for the whole overflow, however many it dropped */
    for (int i = 0; i < 10; i++)
        rt_recorder_emit(r, regarding(i), "Normal", "Ready", "more");
    ASSERT_EQ((long)rt_metric_value(dropped, NULL), (long)(BURST + 9 - RT_RECORDER_QUEUE_MAX));
    ASSERT_EQ(warnings, 1);
    /* cancelled requests fail at once: the queue drains */
    kube_client_cancel(c, 1);
    for (int i = 0; i < 100 && rt_recorder_queued(r) > 0; i++)
        nanosleep(&nap, NULL);
    ASSERT_EQ((long)rt_recorder_queued(r), 0L);
    /* a second overflow warns again */
    kube_client_cancel(c, 0);
    rt_recorder_emit(r, regarding(0), "Normal", "Ready", "stuck again");
    nanosleep(&nap, NULL);
    for (int i = 1; i < BURST; i++)
        rt_recorder_emit(r, regarding(i), "Normal", "Ready", "burst");
    ASSERT_EQ(warnings, 2);
    op_log_set_sink(NULL, NULL);
    kube_client_cancel(c, 1); /* ends the stuck request within ~1 s */
    rt_recorder_free(r);
    kube_client_free(c);
    close(fd);
    rt_metrics_free(reg);
}

TEST_MAIN()
