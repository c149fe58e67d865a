/* test_rt_workqueue.c — unit tests for pkg/runtime/workqueue.c (and map.c):
 * dedup, processing set, delayed adds and backoff on a hand-driven clock, and
 * real worker threads that must never see one key twice at once. */
#include "runtime.h"
#include "test.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

static _Atomic int64_t fake_now;

static int64_t fake_clock(void *p)
{
    (void)p;
    return atomic_load(&fake_now);
}

static struct rt_wq *new_fake_q(void)
{
    struct rt_wq_opts o = {0};
    atomic_store(&fake_now, 1000);
    o.clock.now_ms = fake_clock;
    return rt_wq_new(&o);
}

/* Gets without blocking; returns the key (caller frees) or NULL. */
static char *try_get(struct rt_wq *q)
{
    char *k = NULL;
    if (rt_wq_get(q, 0, &k) != 0)
        return NULL;
    return k;
}

TEST(map_basic)
{
    struct op_map *m = op_map_new(free);
    char name[32];
    ASSERT_TRUE(m != NULL);
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof(name), "ns/stack-%d", i);
        ASSERT_OK(op_map_put(m, name, op_strdup(name)));
    }
    ASSERT_EQ(op_map_len(m), 1000);
    ASSERT_STR_EQ(op_map_get(m, "ns/stack-517"), "ns/stack-517");
    ASSERT_OK(op_map_put(m, "ns/stack-517", op_strdup("replaced")));
    ASSERT_EQ(op_map_len(m), 1000);
    ASSERT_STR_EQ(op_map_get(m, "ns/stack-517"), "replaced");
    ASSERT_OK(op_map_del(m, "ns/stack-1"));
    ASSERT_EQ(op_map_del(m, "ns/stack-1"), OP_ENOTFOUND);
    ASSERT_TRUE(op_map_get(m, "ns/stack-1") == NULL);
    char *v = op_map_take(m, "ns/stack-2");
    ASSERT_STR_EQ(v, "ns/stack-2");
    free(v);
    ASSERT_EQ(op_map_len(m), 998);
    op_map_free(m);
}

TEST(wq_dedup_fifo)
{
    struct rt_wq *q = new_fake_q();
    struct rt_wq_stats st;
    char *k;
    ASSERT_OK(rt_wq_add(q, "a"));
    ASSERT_OK(rt_wq_add(q, "b"));
    ASSERT_OK(rt_wq_add(q, "a"));
    rt_wq_get_stats(q, &st);
    ASSERT_EQ(st.depth, 2);
    ASSERT_EQ(st.adds_total, 2);
    k = try_get(q);
    ASSERT_STR_EQ(k, "a");
    rt_wq_done(q, k);
    free(k);
    k = try_get(q);
    ASSERT_STR_EQ(k, "b");
    rt_wq_done(q, k);
    free(k);
    ASSERT_TRUE(try_get(q) == NULL);
    rt_wq_free(q);
}

TEST(wq_processing_key_requeued_on_done)
{
    struct rt_wq *q = new_fake_q();
    char *k, *k2;
    ASSERT_OK(rt_wq_add(q, "ns/a"));
    k = try_get(q);
    ASSERT_STR_EQ(k, "ns/a");
    /* re-added while processing: must not be handed to a second worker */
    ASSERT_OK(rt_wq_add(q, "ns/a"));
    ASSERT_OK(rt_wq_add(q, "ns/a"));
    ASSERT_TRUE(try_get(q) == NULL);
    ASSERT_EQ(rt_wq_wait_idle(q, 0), OP_ETIMEOUT);
    rt_wq_done(q, k);
    free(k);
    k2 = try_get(q);
    ASSERT_STR_EQ(k2, "ns/a");
    rt_wq_done(q, k2);
    free(k2);
    ASSERT_TRUE(try_get(q) == NULL); /* only once, not twice */
    ASSERT_OK(rt_wq_wait_idle(q, 0));
    rt_wq_free(q);
}

TEST(wq_delayed_add)
{
    struct rt_wq *q = new_fake_q();
    struct rt_wq_stats st;
    char *k;
    ASSERT_OK(rt_wq_add_after(q, "x", 100));
    ASSERT_OK(rt_wq_add_after(q, "y", 300));
    ASSERT_TRUE(try_get(q) == NULL);
    rt_wq_get_stats(q, &st);
    ASSERT_EQ(st.delayed, 2);
    ASSERT_EQ(st.depth, 0);
    atomic_store(&fake_now, 1099);
    ASSERT_TRUE(try_get(q) == NULL);
    atomic_store(&fake_now, 1100);
    k = try_get(q);
    ASSERT_STR_EQ(k, "x");
    rt_wq_done(q, k);
    free(k);
    ASSERT_TRUE(try_get(q) == NULL);
    atomic_store(&fake_now, 1300);
    k = try_get(q);
    ASSERT_STR_EQ(k, "y");
    rt_wq_done(q, k);
    free(k);
    /* zero delay is an immediate add */
    ASSERT_OK(rt_wq_add_after(q, "z", 0));
    k = try_get(q);
    ASSERT_STR_EQ(k, "z");
    rt_wq_done(q, k);
    free(k);
    rt_wq_free(q);
}

TEST(wq_delayed_earliest_deadline_wins)
{
    struct rt_wq *q = new_fake_q();
    struct rt_wq_stats st;
    char *k;
    ASSERT_OK(rt_wq_add_after(q, "x", 100));
    ASSERT_OK(rt_wq_add_after(q, "x", 50));
    ASSERT_OK(rt_wq_add_after(q, "x", 500)); /* does not postpone */
    rt_wq_get_stats(q, &st);
    ASSERT_EQ(st.delayed, 1);
    atomic_store(&fake_now, 1050);
    k = try_get(q);
    ASSERT_STR_EQ(k, "x");
    rt_wq_done(q, k);
    free(k);
    atomic_store(&fake_now, 1600);
    ASSERT_TRUE(try_get(q) == NULL); /* the later ones were merged */
    rt_wq_free(q);
}

TEST(wq_delayed_key_already_queued_is_deduped)
{
    struct rt_wq *q = new_fake_q();
    char *k;
    ASSERT_OK(rt_wq_add(q, "x"));
    ASSERT_OK(rt_wq_add_after(q, "x", 10));
    atomic_store(&fake_now, 1010);
    k = try_get(q);
    ASSERT_STR_EQ(k, "x");
    ASSERT_TRUE(try_get(q) == NULL);
    rt_wq_done(q, k);
    free(k);
    ASSERT_TRUE(try_get(q) == NULL);
    rt_wq_free(q);
}

TEST(wq_backoff_exponential_capped_and_forget)
{
    struct rt_wq *q = new_fake_q();
    struct rt_wq_stats st;
    char *k;
    int64_t expect = 5;
    ASSERT_EQ(rt_wq_next_backoff_ms(q, "k"), 5);
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(rt_wq_next_backoff_ms(q, "k"), expect);
        ASSERT_OK(rt_wq_add_rate_limited(q, "k"));
        ASSERT_TRUE(try_get(q) == NULL);
        atomic_fetch_add(&fake_now, expect - 1);
        ASSERT_TRUE(try_get(q) == NULL);
        atomic_fetch_add(&fake_now, 1);
        k = try_get(q);
        ASSERT_STR_EQ(k, "k");
        rt_wq_done(q, k);
        free(k);
        expect *= 2;
    }
    ASSERT_EQ(rt_wq_num_requeues(q, "k"), 5);
    ASSERT_EQ(rt_wq_next_backoff_ms(q, "k"), 160);
    ASSERT_EQ(rt_wq_num_requeues(q, "other"), 0);
    /* after many failures the delay is capped at 1000 s */
    for (int i = 0; i < 60; i++)
        ASSERT_OK(rt_wq_add_rate_limited(q, "k"));
    ASSERT_EQ(rt_wq_next_backoff_ms(q, "k"), 1000 * 1000);
    rt_wq_get_stats(q, &st);
    ASSERT_EQ(st.retries_total, 65);
    rt_wq_forget(q, "k");
    ASSERT_EQ(rt_wq_num_requeues(q, "k"), 0);
    ASSERT_EQ(rt_wq_next_backoff_ms(q, "k"), 5);
    rt_wq_free(q);
}

TEST(wq_shutdown_stops_handing_out)
{
    struct rt_wq *q = new_fake_q();
    char *k = NULL;
    ASSERT_OK(rt_wq_add(q, "a"));
    ASSERT_OK(rt_wq_add(q, "b"));
    k = try_get(q);
    ASSERT_STR_EQ(k, "a");
    rt_wq_shutdown(q);
    ASSERT_TRUE(rt_wq_is_shutdown(q));
    char *k2 = NULL;
    ASSERT_EQ(rt_wq_get(q, -1, &k2), RT_WQ_SHUTDOWN);
    ASSERT_OK(rt_wq_add(q, "c")); /* ignored, not an error */
    ASSERT_EQ(rt_wq_get(q, 0, &k2), RT_WQ_SHUTDOWN);
    ASSERT_EQ(rt_wq_wait_idle(q, 0), OP_ETIMEOUT); /* "a" in flight */
    rt_wq_done(q, k);
    free(k);
    ASSERT_OK(rt_wq_wait_idle(q, 0));
    rt_wq_free(q);
}

/* ---- threads -------------------------------------------------------------- */

#define NKEYS 16
#define ROUNDS 200

struct thr_ctx {
    struct rt_wq *q;
    _Atomic int inflight[NKEYS];
    _Atomic int processed[NKEYS];
    _Atomic int overlap;
    _Atomic int total;
};

static void *worker(void *p)
{
    struct thr_ctx *c = p;
    char *k;
    while (rt_wq_get(c->q, -1, &k) == 0) {
        int i = (int)strtol(k, NULL, 10);
        if (atomic_fetch_add(&c->inflight[i], 1) != 0)
            atomic_store(&c->overlap, 1);
        for (int y = 0; y < 3; y++)
            sched_yield();
        atomic_fetch_add(&c->processed[i], 1);
        atomic_fetch_sub(&c->inflight[i], 1);
        atomic_fetch_add(&c->total, 1);
        rt_wq_done(c->q, k);
        free(k);
    }
    return NULL;
}

TEST(wq_threads_never_process_key_concurrently)
{
    struct thr_ctx *c = calloc(1, sizeof(*c));
    pthread_t th[4];
    char key[16];
    c->q = rt_wq_new(NULL);
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, worker, c);
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < NKEYS; i++) {
            snprintf(key, sizeof(key), "%d", i);
            ASSERT_OK(rt_wq_add(c->q, key));
        }
        if (r % 16 == 0)
            sched_yield();
    }
    /* wait until everything queued has been processed */
    for (;;) {
        struct rt_wq_stats st;
        rt_wq_get_stats(c->q, &st);
        if (st.depth == 0 && st.processing == 0)
            break;
        sched_yield();
    }
    rt_wq_shutdown(c->q);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    ASSERT_EQ(atomic_load(&c->overlap), 0);
    for (int i = 0; i < NKEYS; i++) {
        ASSERT_TRUE(atomic_load(&c->processed[i]) >= 1);
        ASSERT_TRUE(atomic_load(&c->processed[i]) <= ROUNDS);
    }
    rt_wq_free(c->q);
    free(c);
}

struct block_ctx {
    struct rt_wq *q;
    char *got;
    int rc;
};

static void *blocking_get(void *p)
{
    struct block_ctx *b = p;
    b->rc = rt_wq_get(b->q, -1, &b->got);
    return NULL;
}

TEST(wq_blocked_getter_wakes_on_add_and_on_due_delay)
{
    struct block_ctx b = {0};
    pthread_t th;
    b.q = new_fake_q();
    pthread_create(&th, NULL, blocking_get, &b);
    ASSERT_OK(rt_wq_add(b.q, "now"));
    pthread_join(th, NULL);
    ASSERT_EQ(b.rc, 0);
    ASSERT_STR_EQ(b.got, "now");
    rt_wq_done(b.q, b.got);
    free(b.got);
    b.got = NULL;

    /* a delayed key on the fake clock: the getter must pick it up once the
     * clock has advanced and it is kicked */
    ASSERT_OK(rt_wq_add_after(b.q, "later", 60000));
    pthread_create(&th, NULL, blocking_get, &b);
    atomic_store(&fake_now, 1000 + 60000);
    rt_wq_kick(b.q);
    pthread_join(th, NULL);
    ASSERT_EQ(b.rc, 0);
    ASSERT_STR_EQ(b.got, "later");
    rt_wq_done(b.q, b.got);
    free(b.got);
    b.got = NULL;

    /* shutdown wakes a blocked getter */
    pthread_create(&th, NULL, blocking_get, &b);
    rt_wq_shutdown(b.q);
    pthread_join(th, NULL);
    ASSERT_EQ(b.rc, RT_WQ_SHUTDOWN);
    rt_wq_free(b.q);
}

TEST_MAIN()
