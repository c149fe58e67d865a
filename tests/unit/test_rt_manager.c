/* test_rt_manager.c — unit tests for pkg/runtime/manager.c without a
 * cluster: a manager with no client runs no informers (its caches count as
 * synced) and takes events through rt_manager_deliver, the seam a watch
 * thread would use; a scripted reconciler checks controller-runtime's
 * Result semantics (error → per-key exponential backoff, requeue →
 * rate-limited, requeue_after → delay with the backoff forgotten), the
 * mapping handlers, and the controller_runtime_* metrics. */
#include "runtime.h"
#include "test.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAXK 8
#define MAXCALLS 16

struct script {
    pthread_mutex_t mu;
    struct {
        char key[64];
        int calls;
        int64_t at[MAXCALLS];
    } k[MAXK];
    int n;
};

static struct script S;

static int record(const char *key)
{
    int i, c;
    pthread_mutex_lock(&S.mu);
    for (i = 0; i < S.n; i++)
        if (!strcmp(S.k[i].key, key))
            break;
    if (i == S.n && S.n < MAXK)
        snprintf(S.k[S.n++].key, sizeof(S.k[0].key), "%s", key);
    c = i < MAXK ? S.k[i].calls++ : 0;
    if (i < MAXK && c < MAXCALLS)
        S.k[i].at[c] = op_mono_ms();
    pthread_mutex_unlock(&S.mu);
    return c; /* calls before this one */
}

static int calls(const char *key, int64_t *at_out)
{
    int c = 0;
    pthread_mutex_lock(&S.mu);
    for (int i = 0; i < S.n; i++)
        if (!strcmp(S.k[i].key, key)) {
            c = S.k[i].calls;
            if (at_out)
                memcpy(at_out, S.k[i].at, sizeof(S.k[i].at));
        }
    pthread_mutex_unlock(&S.mu);
    return c;
}

/* ns/err fails twice then succeeds; ns/again asks requeue once; ns/after
 * asks requeue_after 40 ms once; ns/always always fails; others succeed. */
static int scripted(void *ctx, const char *key, struct rt_result *res)
{
    int before = record(key);
    (void)ctx;
    if (!strcmp(key, "ns/err") && before < 2)
        return op_err_set(OP_ERR, "scripted failure");
    if (!strcmp(key, "ns/always"))
        return op_err_set(OP_ERR, "scripted failure");
    if (!strcmp(key, "ns/again") && before == 0)
        res->requeue = 1;
    if (!strcmp(key, "ns/after") && before == 0)
        res->requeue_after_ms = 40;
    return 0;
}

/* A mapping handler: the key named by the object's "owner" label
 * (EnqueueRequestForOwner in miniature). */
static void by_owner(struct rt_wq *q, enum kube_event_type t, const json_t *obj, void *payload)
{
    const char *owner = json_string_value(
        json_object_get(json_object_get(json_object_get(obj, "metadata"), "labels"), "owner"));
    char key[128];
    (void)t;
    (*(int *)payload)++;
    if (owner) {
        snprintf(key, sizeof(key), "ns/%s", owner);
        (void)rt_wq_add(q, key);
    }
}

static json_t *obj(const char *name, const char *owner)
{
    return json_pack("{s:{s:s, s:s, s:{s:s?}}}", "metadata", "namespace", "ns", "name", name, "labels", "owner",
                     owner);
}

static const struct kube_resource RES = {0};

static struct rt_manager *new_manager(struct rt_metrics *reg, int *handler_calls, int *h_obj, int *h_owner)
{
    struct rt_manager *m = NULL;
    struct rt_wq_opts qo = {0};
    struct rt_manager_opts mo = {0};
    struct rt_reconciler r = {scripted, NULL};
    struct rt_watch_opts a = {0}, b = {0};
    qo.base_delay_ms = 10;
    mo.name = "test";
    mo.metrics = reg;
    mo.workers = 2;
    mo.queue = &qo;
    if (rt_manager_new(&m, &mo, &r) < 0)
        return NULL;
    a.resource = &RES;
    a.handler = rt_enqueue_object;
    b.resource = &RES;
    b.handler = by_owner;
    b.payload = handler_calls;
    *h_obj = rt_manager_watch(m, &a);
    *h_owner = rt_manager_watch(m, &b);
    return m;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Polls until every listed key has at least its count of calls (5 s). */
static int wait_calls(const char *const *keys, const int *want, int n)
{
    for (int t = 0; t < 500; t++) {
        int ok = 1;
        for (int i = 0; i < n; i++)
            if (calls(keys[i], NULL) < want[i])
                ok = 0;
        if (ok)
            return 1;
        sleep_ms(10);
    }
    return 0;
}

static char *render(struct rt_metrics *reg)
{
    struct op_buf b;
    op_buf_init(&b, 1 << 20);
    if (rt_metrics_render(reg, &b) < 0) {
        op_buf_cleanup(&b);
        return NULL;
    }
    return op_buf_take(&b);
}

static void reset(void)
{
    memset(&S, 0, sizeof(S));
    pthread_mutex_init(&S.mu, NULL);
}

TEST(manager_result_semantics_and_metrics)
{
    struct rt_metrics *reg = rt_metrics_new();
    int hc = 0, h_obj = -1, h_owner = -1;
    struct rt_manager *m;
    const char *keys[] = {"ns/err", "ns/again", "ns/after", "ns/ok", "ns/parent"};
    const int want[] = {3, 2, 2, 1, 1};
    int64_t at[MAXCALLS];
    char *text;

    reset();
    ASSERT_TRUE(reg != NULL);
    m = new_manager(reg, &hc, &h_obj, &h_owner);
    ASSERT_TRUE(m != NULL);
    ASSERT_EQ(h_obj, 0);
    ASSERT_EQ(h_owner, 1);
    ASSERT_EQ(rt_manager_synced(m), 1); /* no client: nothing to sync */
    ASSERT_OK(rt_manager_start(m));
    for (int i = 0; i < 4; i++) {
        json_t *o = obj(keys[i] + 3, NULL);
        rt_manager_deliver(m, h_obj, KUBE_EVENT_ADDED, o);
        json_decref(o);
    }
    {
        json_t *child = obj("child", "parent"), *orphan = obj("orphan", NULL);
        rt_manager_deliver(m, h_owner, KUBE_EVENT_MODIFIED, child);
        rt_manager_deliver(m, h_owner, KUBE_EVENT_ADDED, orphan);
        json_decref(child);
        json_decref(orphan);
    }
    ASSERT_TRUE(wait_calls(keys, want, 5));
    ASSERT_EQ(rt_wq_wait_idle(rt_manager_queue(m), 5000), 0);
    rt_manager_stop(m);

    /* exact counts: nothing ran more often than its script asks */
    ASSERT_EQ(calls("ns/err", NULL), 3);
    ASSERT_EQ(calls("ns/again", NULL), 2);
    ASSERT_EQ(calls("ns/ok", NULL), 1);
    ASSERT_EQ(calls("ns/parent", NULL), 1);
    ASSERT_EQ(calls("ns/child", NULL), 0); /* the owner handler maps to the owner only */
    ASSERT_EQ(calls("ns/orphan", NULL), 0);
    ASSERT_EQ(hc, 2);
    ASSERT_EQ(calls("ns/after", at), 2);
    ASSERT_TRUE(at[1] - at[0] >= 40); /* requeue_after is a delay */
    /* success forgot the backoff of the failed key */
    ASSERT_EQ(rt_wq_num_requeues(rt_manager_queue(m), "ns/err"), 0);

    text = render(reg);
    ASSERT_TRUE(text != NULL);
    ASSERT_CONTAINS(text, "controller_runtime_reconcile_total{controller=\"test\",result=\"error\"} 2\n");
    ASSERT_CONTAINS(text, "controller_runtime_reconcile_total{controller=\"test\",result=\"requeue\"} 1\n");
    ASSERT_CONTAINS(text, "controller_runtime_reconcile_total{controller=\"test\",result=\"requeue_after\"} 1\n");
    /* err, again, after (each on its last call), ok, parent */
    ASSERT_CONTAINS(text, "controller_runtime_reconcile_total{controller=\"test\",result=\"success\"} 5\n");
    ASSERT_CONTAINS(text, "controller_runtime_reconcile_errors_total{controller=\"test\"} 2\n");
    ASSERT_CONTAINS(text, "controller_runtime_active_workers{controller=\"test\"} 0\n");
    ASSERT_CONTAINS(text, "workqueue_retries_total{name=\"test\"} 3\n"); /* 2 errors + 1 requeue */
    ASSERT_CONTAINS(text, "workqueue_depth{name=\"test\"} 0\n");
    ASSERT_CONTAINS(text, "crosslink_informer_store_bytes{resource=\"\"} 0\n"); /* no client: no watches */
    free(text);
    rt_manager_free(m);
    rt_metrics_free(reg);
}

TEST(manager_error_backs_off_exponentially_per_key)
{
    int hc = 0, h_obj, h_owner;
    struct rt_manager *m = new_manager(NULL, &hc, &h_obj, &h_owner);
    const char *keys[] = {"ns/always", "ns/ok"};
    const int want[] = {5, 1};
    int64_t at[MAXCALLS];
    json_t *o = obj("always", NULL), *ok = obj("ok", NULL);

    reset();
    ASSERT_TRUE(m != NULL);
    ASSERT_OK(rt_manager_start(m));
    rt_manager_deliver(m, h_obj, KUBE_EVENT_ADDED, o);
    rt_manager_deliver(m, h_obj, KUBE_EVENT_ADDED, ok);
    json_decref(o);
    json_decref(ok);
    ASSERT_TRUE(wait_calls(keys, want, 2));
    rt_manager_stop(m);
    ASSERT_TRUE(calls("ns/always", at) >= 5);
    /* delays 10, 20, 40, 80 ms at least: each doubles the last */
    for (int i = 1; i < 5; i++)
        ASSERT_TRUE(at[i] - at[i - 1] >= (int64_t)10 << (i - 1));
    /* the failure in flight at shutdown may find the queue shut */
    ASSERT_TRUE(rt_wq_num_requeues(rt_manager_queue(m), "ns/always") >= 4);
    ASSERT_EQ(rt_wq_num_requeues(rt_manager_queue(m), "ns/ok"), 0); /* per key */
    ASSERT_EQ(calls("ns/ok", NULL), 1);
    rt_manager_free(m);
}

TEST(manager_rejects_bad_options_and_watch)
{
    struct rt_manager *m = NULL;
    struct rt_manager_opts mo = {0};
    struct rt_reconciler none = {NULL, NULL}, r = {scripted, NULL};
    struct rt_watch_opts w = {0};
    char why[64];
    mo.name = "x";
    mo.workers = 1;
    ASSERT_EQ(rt_manager_new(&m, &mo, &none), OP_EINVALID);
    ASSERT_TRUE(m == NULL);
    mo.workers = 0;
    ASSERT_EQ(rt_manager_new(&m, &mo, &r), OP_EINVALID);
    mo.workers = 1;
    ASSERT_OK(rt_manager_new(&m, &mo, &r));
    ASSERT_EQ(rt_manager_watch(m, &w), OP_EINVALID); /* no resource, no handler */
    ASSERT_EQ(rt_manager_readyz(why, sizeof(why), m), 1);
    ASSERT_TRUE(rt_manager_leader(m) == NULL);
    rt_manager_free(m); /* never started: free alone is enough */
}

TEST_MAIN()
