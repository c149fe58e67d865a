/* test_rt_metrics.c — unit tests for pkg/runtime/metrics.c (exposition text:
 * labels, escaping, histogram buckets, collector hook) and pkg/runtime/http.c
 * (served on a loopback ephemeral port and fetched with libcurl). */
#include "runtime.h"
#include "test.h"

#include <curl/curl.h>
#include <stdlib.h>

static char *render(struct rt_metrics *m)
{
    struct op_buf b;
    op_buf_init(&b, 1 << 20);
    if (rt_metrics_render(m, &b) < 0) {
        op_buf_cleanup(&b);
        return NULL;
    }
    return op_buf_take(&b);
}

TEST(metrics_counter_gauge_text)
{
    struct rt_metrics *m = rt_metrics_new();
    struct rt_metric *c = rt_metrics_register(
        m, RT_METRIC_COUNTER, "controller_runtime_reconcile_total", "Total reconciliations",
        (const char *[]){"controller", "result", NULL}, NULL, 0);
    struct rt_metric *g =
        rt_metrics_register(m, RT_METRIC_GAUGE, "workqueue_depth", "Current depth", NULL, NULL, 0);
    ASSERT_TRUE(c && g);
    ASSERT_TRUE(rt_metrics_register(m, RT_METRIC_GAUGE, "workqueue_depth", "dup", NULL, NULL, 0) ==
                NULL);
    rt_metric_add(c, (const char *[]){"observabilitystack", "success"}, 1);
    rt_metric_add(c, (const char *[]){"observabilitystack", "success"}, 2);
    rt_metric_add(c, (const char *[]){"observabilitystack", "error"}, 1);
    rt_metric_set(g, NULL, 7);
    ASSERT_EQ(rt_metric_value(c, (const char *[]){"observabilitystack", "success"}), 3);
    ASSERT_EQ(rt_metric_value(c, (const char *[]){"observabilitystack", "requeue"}), 0);
    char *t = render(m);
    ASSERT_CONTAINS(t, "# HELP controller_runtime_reconcile_total Total reconciliations\n"
                       "# TYPE controller_runtime_reconcile_total counter\n"
                       "controller_runtime_reconcile_total{controller=\"observabilitystack\",result=\"success\"} 3\n"
                       "controller_runtime_reconcile_total{controller=\"observabilitystack\",result=\"error\"} 1\n");
    ASSERT_CONTAINS(t, "# TYPE workqueue_depth gauge\nworkqueue_depth 7\n");
    free(t);
    rt_metric_clear(c);
    t = render(m);
    ASSERT_NOT_CONTAINS(t, "result=\"success\"");
    free(t);
    rt_metrics_free(m);
}

TEST(metrics_unlabelled_family_is_exported_as_0_from_the_start)
{
    struct rt_metrics *m = rt_metrics_new();
    struct rt_metric *c = rt_metrics_register(m, RT_METRIC_COUNTER, "drops_total", "Drops", NULL, NULL, 0);
    struct rt_metric *l = rt_metrics_register(m, RT_METRIC_COUNTER, "by_kind_total", "By kind",
                                              (const char *[]){"kind", NULL}, NULL, 0);
    ASSERT_TRUE(c && l);
    char *t = render(m);
    ASSERT_CONTAINS(t, "# TYPE drops_total counter\ndrops_total 0\n");
    /* a labelled family has no series until one is added */
    ASSERT_NOT_CONTAINS(t, "by_kind_total{");
    free(t);
    rt_metric_add(c, NULL, 2);
    t = render(m);
    ASSERT_CONTAINS(t, "\ndrops_total 2\n");
    ASSERT_NOT_CONTAINS(t, "drops_total 0");
    free(t);
    rt_metrics_free(m);
}

TEST(metrics_set_new_appends_in_order)
{
    struct rt_metrics *m = rt_metrics_new();
    struct rt_metric *g = rt_metrics_register(m, RT_METRIC_GAUGE, "up", "Up",
                                                (const char *[]){"stack", NULL}, NULL, 0);
    ASSERT_TRUE(g);
    rt_metric_set_new(g, (const char *[]){"a"}, 1);
    rt_metric_set_new(g, (const char *[]){"b"}, 0);
    rt_metric_set(g, (const char *[]){"a"}, 0); /* an appended series is found again */
    ASSERT_EQ(rt_metric_value(g, (const char *[]){"a"}), 0);
    char *t = render(m);
    ASSERT_CONTAINS(t, "up{stack=\"a\"} 0\nup{stack=\"b\"} 0\n");
    free(t);
    rt_metric_clear(g);
    rt_metric_set_new(g, (const char *[]){"b"}, 1);
    t = render(m);
    ASSERT_NOT_CONTAINS(t, "stack=\"a\"");
    ASSERT_CONTAINS(t, "up{stack=\"b\"} 1\n");
    free(t);
    rt_metrics_free(m);
}

TEST(metrics_label_escaping)
{
    struct rt_metrics *m = rt_metrics_new();
    struct rt_metric *c = rt_metrics_register(m, RT_METRIC_COUNTER, "x_total", "a \\ help\nline",
                                                (const char *[]){"v", NULL}, NULL, 0);
    rt_metric_add(c, (const char *[]){"q\"b\\s\nn"}, 1.5);
    char *t = render(m);
    ASSERT_CONTAINS(t, "# HELP x_total a \\\\ help\\nline\n");
    ASSERT_CONTAINS(t, "x_total{v=\"q\\\"b\\\\s\\nn\"} 1.5\n");
    free(t);
    rt_metrics_free(m);
}

TEST(metrics_histogram_buckets)
{
    struct rt_metrics *m = rt_metrics_new();
    struct rt_metric *h = rt_metrics_register(
        m, RT_METRIC_HISTOGRAM, "controller_runtime_reconcile_time_seconds", "Reconcile time",
        (const char *[]){"controller", NULL}, RT_RECONCILE_BUCKETS, RT_RECONCILE_NBUCKETS);
    ASSERT_EQ(RT_RECONCILE_NBUCKETS, 40);
    rt_metric_observe(h, (const char *[]){"s"}, 0.003);
    rt_metric_observe(h, (const char *[]){"s"}, 0.005); /* le is inclusive */
    rt_metric_observe(h, (const char *[]){"s"}, 0.2);
    rt_metric_observe(h, (const char *[]){"s"}, 100);
    ASSERT_EQ(rt_metric_value(h, (const char *[]){"s"}), 4);
    char *t = render(m);
    ASSERT_CONTAINS(t, "# TYPE controller_runtime_reconcile_time_seconds histogram\n");
    ASSERT_CONTAINS(t, "controller_runtime_reconcile_time_seconds_bucket{controller=\"s\",le=\"0.005\"} 2\n");
    ASSERT_CONTAINS(t, "controller_runtime_reconcile_time_seconds_bucket{controller=\"s\",le=\"0.15\"} 2\n");
    ASSERT_CONTAINS(t, "controller_runtime_reconcile_time_seconds_bucket{controller=\"s\",le=\"0.2\"} 3\n");
    ASSERT_CONTAINS(t, "controller_runtime_reconcile_time_seconds_bucket{controller=\"s\",le=\"60\"} 3\n");
    ASSERT_CONTAINS(t, "controller_runtime_reconcile_time_seconds_bucket{controller=\"s\",le=\"+Inf\"} 4\n");
    ASSERT_CONTAINS(t, "controller_runtime_reconcile_time_seconds_sum{controller=\"s\"} 100.208\n");
    ASSERT_CONTAINS(t, "controller_runtime_reconcile_time_seconds_count{controller=\"s\"} 4\n");
    free(t);
    rt_metrics_free(m);
}

static void collect(struct rt_metrics *m, void *payload)
{
    (void)m;
    int *calls = payload;
    (*calls)++;
}

TEST(metrics_collector_called_per_render)
{
    struct rt_metrics *m = rt_metrics_new();
    int calls = 0;
    rt_metrics_set_collector(m, collect, &calls);
    free(render(m));
    free(render(m));
    ASSERT_EQ(calls, 2);
    rt_metrics_free(m);
}

/* ---- HTTP ----------------------------------------------------------------- */

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
    struct op_buf *b = ud;
    if (op_buf_append(b, p, sz * n) < 0)
        return 0;
    return sz * n;
}

static long fetch(int port, const char *path, char **body)
{
    CURL *c = curl_easy_init();
    struct op_buf b;
    char url[128];
    long code = -1;
    op_buf_init(&b, 1 << 20);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    *body = op_buf_take(&b);
    return code;
}

static int ready_flag;

static int ready(char *why, size_t cap, void *payload)
{
    (void)payload;
    if (!ready_flag)
        snprintf(why, cap, "caches not synced");
    return ready_flag;
}

TEST(http_metrics_healthz_readyz)
{
    struct rt_metrics *m = rt_metrics_new();
    struct rt_metric *g =
        rt_metrics_register(m, RT_METRIC_GAUGE, "leader_election_master_status", "Leader",
                             (const char *[]){"name", NULL}, NULL, 0);
    struct rt_http *h = NULL;
    struct rt_http_opts o = {.addr = "127.0.0.1:0", .metrics = m, .health = 1, .ready = ready};
    char *body = NULL;
    int port;

    rt_metric_set(g, (const char *[]){"crosslink-controller"}, 1);
    ASSERT_OK(rt_http_start(&h, &o));
    port = rt_http_port(h);
    ASSERT_TRUE(port > 0);

    ASSERT_EQ(fetch(port, "/metrics", &body), 200);
    ASSERT_CONTAINS(body, "leader_election_master_status{name=\"crosslink-controller\"} 1\n");
    free(body);
    ASSERT_EQ(fetch(port, "/healthz", &body), 200);
    ASSERT_STR_EQ(body, "ok\n");
    free(body);
    ready_flag = 0;
    ASSERT_EQ(fetch(port, "/readyz", &body), 503);
    ASSERT_CONTAINS(body, "caches not synced");
    free(body);
    ready_flag = 1;
    ASSERT_EQ(fetch(port, "/readyz", &body), 200);
    free(body);
    ASSERT_EQ(fetch(port, "/nope", &body), 404);
    free(body);
    rt_http_free(h);

    /* a metrics-only listener does not answer health paths */
    struct rt_http_opts o2 = {.addr = "127.0.0.1:0", .metrics = m};
    ASSERT_OK(rt_http_start(&h, &o2));
    ASSERT_EQ(fetch(rt_http_port(h), "/healthz", &body), 404);
    free(body);
    rt_http_free(h);

    struct rt_http_opts bad = {.addr = "nonsense"};
    ASSERT_EQ(rt_http_start(&h, &bad), OP_EINVALID);
    rt_metrics_free(m);
}

TEST_MAIN()
