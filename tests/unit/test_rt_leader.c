/* test_rt_leader.c — unit tests for pkg/runtime/leader.c over an in-memory
 * lease store with optimistic concurrency and a hand-driven clock: acquire,
 * renew, standby, expiry takeover, release hand-over, lost leadership. */
#include "runtime.h"
#include "test.h"

#include <pthread.h>

#include <stdlib.h>

struct store {
    int exists;
    struct rt_lease_rec rec;
    int rv;
    int fail; /* make every call fail with OP_EUNAVAILABLE */
    int writes;
};

struct cand {
    struct store *s;
    int last_rv;
    struct rt_leader *e;
};

static int64_t now_ms;

static int64_t clk(void *p)
{
    (void)p;
    return now_ms;
}

static void wall(char out[40], void *p)
{
    (void)p;
    snprintf(out, 40, "t%lld", (long long)now_ms);
}

static int s_get(void *p, struct rt_lease_rec *out)
{
    struct cand *c = p;
    if (c->s->fail)
        return OP_EUNAVAILABLE;
    if (!c->s->exists)
        return OP_ENOTFOUND;
    *out = c->s->rec;
    c->last_rv = c->s->rv;
    return 0;
}

static int s_create(void *p, const struct rt_lease_rec *rec)
{
    struct cand *c = p;
    if (c->s->fail)
        return OP_EUNAVAILABLE;
    if (c->s->exists)
        return OP_ECONFLICT;
    c->s->exists = 1;
    c->s->rec = *rec;
    c->last_rv = ++c->s->rv;
    c->s->writes++;
    return 0;
}

static int s_update(void *p, const struct rt_lease_rec *rec)
{
    struct cand *c = p;
    if (c->s->fail)
        return OP_EUNAVAILABLE;
    if (c->last_rv != c->s->rv)
        return OP_ECONFLICT;
    c->s->rec = *rec;
    c->last_rv = ++c->s->rv;
    c->s->writes++;
    return 0;
}

static struct rt_leader *mk(struct cand *c, struct store *s, const char *id)
{
    struct rt_leader_cfg cfg = {.identity = id};
    c->s = s;
    c->last_rv = -1;
    cfg.ops = (struct rt_lease_ops){s_get, s_create, s_update, c};
    cfg.clock.now_ms = clk;
    cfg.wall_micro = wall;
    c->e = rt_leader_new(&cfg);
    return c->e;
}

TEST(leader_invalid_timings_rejected)
{
    struct store s = {0};
    struct cand c = {0};
    struct rt_leader_cfg cfg = {.identity = "a", .lease_ms = 10000, .renew_deadline_ms = 10000};
    cfg.ops = (struct rt_lease_ops){s_get, s_create, s_update, &c};
    c.s = &s;
    ASSERT_TRUE(rt_leader_new(&cfg) == NULL);
    cfg.lease_ms = 15000;
    cfg.renew_deadline_ms = 2000;
    cfg.retry_ms = 2000; /* renew deadline must exceed 1.2 x retry */
    ASSERT_TRUE(rt_leader_new(&cfg) == NULL);
    cfg.identity = "";
    ASSERT_TRUE(rt_leader_new(&cfg) == NULL);
}

TEST(leader_acquire_renew_standby)
{
    struct store s = {0};
    struct cand a = {0}, b = {0};
    now_ms = 100000;
    ASSERT_TRUE(mk(&a, &s, "pod-a") != NULL);
    ASSERT_TRUE(mk(&b, &s, "pod-b") != NULL);

    ASSERT_EQ(rt_leader_tick(a.e), RT_LEADER_STARTED);
    ASSERT_TRUE(rt_leader_is_leader(a.e));
    ASSERT_STR_EQ(s.rec.holder, "pod-a");
    ASSERT_EQ(s.rec.duration_s, 15);
    ASSERT_EQ(s.rec.transitions, 0);
    ASSERT_STR_EQ(s.rec.acquire_time, "t100000");

    ASSERT_EQ(rt_leader_tick(b.e), RT_LEADER_NONE);
    ASSERT_TRUE(!rt_leader_is_leader(b.e));
    ASSERT_STR_EQ(rt_leader_observed_holder(b.e), "pod-a");

    /* renewals keep acquireTime and transitions, move renewTime */
    for (int i = 0; i < 20; i++) {
        now_ms += 2000;
        ASSERT_EQ(rt_leader_tick(a.e), RT_LEADER_NONE);
        ASSERT_EQ(rt_leader_tick(b.e), RT_LEADER_NONE);
    }
    ASSERT_TRUE(rt_leader_is_leader(a.e));
    ASSERT_TRUE(!rt_leader_is_leader(b.e));
    ASSERT_STR_EQ(s.rec.acquire_time, "t100000");
    ASSERT_STR_EQ(s.rec.renew_time, "t140000");
    ASSERT_EQ(s.rec.transitions, 0);
    rt_leader_free(a.e);
    rt_leader_free(b.e);
}

TEST(leader_takeover_after_expiry_only)
{
    struct store s = {0};
    struct cand a = {0}, b = {0};
    now_ms = 0;
    mk(&a, &s, "pod-a");
    mk(&b, &s, "pod-b");
    ASSERT_EQ(rt_leader_tick(a.e), RT_LEADER_STARTED);
    now_ms = 1000;
    ASSERT_EQ(rt_leader_tick(b.e), RT_LEADER_NONE); /* observes the record at t=1000 */
    /* a dies (kill -9): no more renewals. b must wait leaseDuration from
     * when IT last saw the record change, on its own clock. */
    now_ms = 15999;
    ASSERT_EQ(rt_leader_tick(b.e), RT_LEADER_NONE);
    now_ms = 16000;
    ASSERT_EQ(rt_leader_tick(b.e), RT_LEADER_STARTED);
    ASSERT_STR_EQ(s.rec.holder, "pod-b");
    ASSERT_EQ(s.rec.transitions, 1);
    ASSERT_STR_EQ(s.rec.acquire_time, "t16000");
    /* a comes back: it sees b holding, loses at once */
    now_ms = 17000;
    ASSERT_EQ(rt_leader_tick(a.e), RT_LEADER_LOST);
    ASSERT_TRUE(!rt_leader_is_leader(a.e));
    rt_leader_free(a.e);
    rt_leader_free(b.e);
}

TEST(leader_release_hands_over_immediately)
{
    struct store s = {0};
    struct cand a = {0}, b = {0};
    now_ms = 0;
    mk(&a, &s, "pod-a");
    mk(&b, &s, "pod-b");
    ASSERT_EQ(rt_leader_tick(a.e), RT_LEADER_STARTED);
    ASSERT_EQ(rt_leader_tick(b.e), RT_LEADER_NONE);
    now_ms = 3000;
    ASSERT_OK(rt_leader_release(a.e));
    ASSERT_TRUE(!rt_leader_is_leader(a.e));
    ASSERT_STR_EQ(s.rec.holder, "");
    ASSERT_EQ(s.rec.duration_s, 1);
    /* b takes over on its next retry, long before 15 s */
    now_ms = 5000;
    ASSERT_EQ(rt_leader_tick(b.e), RT_LEADER_STARTED);
    ASSERT_STR_EQ(s.rec.holder, "pod-b");
    ASSERT_EQ(s.rec.transitions, 1);
    /* releasing when not leader writes nothing */
    int w = s.writes;
    ASSERT_OK(rt_leader_release(a.e));
    ASSERT_EQ(s.writes, w);
    rt_leader_free(a.e);
    rt_leader_free(b.e);
}

TEST(leader_lost_after_renew_deadline)
{
    struct store s = {0};
    struct cand a = {0};
    now_ms = 0;
    mk(&a, &s, "pod-a");
    ASSERT_EQ(rt_leader_tick(a.e), RT_LEADER_STARTED);
    s.fail = 1; /* apiserver unreachable */
    now_ms = 2000;
    ASSERT_EQ(rt_leader_tick(a.e), RT_LEADER_NONE);
    now_ms = 9999;
    ASSERT_EQ(rt_leader_tick(a.e), RT_LEADER_NONE);
    ASSERT_TRUE(rt_leader_is_leader(a.e));
    now_ms = 10000;
    ASSERT_EQ(rt_leader_tick(a.e), RT_LEADER_LOST);
    ASSERT_TRUE(!rt_leader_is_leader(a.e));
    /* it comes back and re-acquires its own (still valid) lease */
    s.fail = 0;
    now_ms = 12000;
    ASSERT_EQ(rt_leader_tick(a.e), RT_LEADER_STARTED);
    ASSERT_EQ(s.rec.transitions, 0); /* same holder: no transition */
    rt_leader_free(a.e);
}

/* The write fence: while renewals fail, the deadline stays at the start of
 * the last good renew + the renew deadline (10 s), before the 15 s lease a
 * successor waits out; a successor can only write after it. */
TEST(leader_write_deadline_ends_before_the_lease)
{
    struct store s = {0};
    struct cand a = {0}, b = {0};
    now_ms = 1000;
    mk(&a, &s, "pod-a");
    mk(&b, &s, "pod-b");
    ASSERT_EQ(rt_leader_write_deadline(a.e), 0); /* not leading yet */
    ASSERT_EQ(rt_leader_tick(a.e), RT_LEADER_STARTED);
    ASSERT_EQ(rt_leader_tick(b.e), RT_LEADER_NONE);
    ASSERT_EQ(rt_leader_write_deadline(a.e), 11000);
    now_ms = 3000;
    ASSERT_EQ(rt_leader_tick(a.e), RT_LEADER_NONE); /* renewed */
    ASSERT_EQ(rt_leader_write_deadline(a.e), 13000);
    ASSERT_EQ(rt_leader_tick(b.e), RT_LEADER_NONE); /* b sees the renewal */
    s.fail = 1; /* a partitioned leader: renewals fail, the deadline holds */
    now_ms = 9000;
    ASSERT_EQ(rt_leader_tick(a.e), RT_LEADER_NONE);
    ASSERT_EQ(rt_leader_write_deadline(a.e), 13000);
    now_ms = 13000;
    ASSERT_EQ(rt_leader_tick(a.e), RT_LEADER_LOST);
    ASSERT_EQ(rt_leader_write_deadline(a.e), 0);
    /* b saw the record change at 3000: it may take over at 18000, after a's
     * last possible write at 13000 */
    s.fail = 0;
    now_ms = 17999;
    ASSERT_EQ(rt_leader_tick(b.e), RT_LEADER_NONE);
    now_ms = 18000;
    ASSERT_EQ(rt_leader_tick(b.e), RT_LEADER_STARTED);
    rt_leader_free(a.e);
    rt_leader_free(b.e);
}

static void *trip(void *p)
{
    rt_stop_request(p, 1, "leadership lost");
    rt_stop_request(p, 0, "SIGTERM"); /* the first reason wins */
    return NULL;
}

TEST(stop_latch_first_reason_wins)
{
    struct rt_stop *st = rt_stop_new();
    pthread_t t;
    char why[64];
    ASSERT_TRUE(st != NULL);
    ASSERT_EQ(rt_stop_requested(st), 0);
    ASSERT_OK(pthread_create(&t, NULL, trip, st));
    ASSERT_EQ(rt_stop_wait(st, why, sizeof(why)), 1);
    pthread_join(t, NULL);
    ASSERT_STR_EQ(why, "leadership lost");
    ASSERT_EQ(rt_stop_requested(st), 1);
    rt_stop_free(st);
}

TEST(leader_create_race_one_winner)
{
    struct store s = {0};
    struct cand a = {0}, b = {0};
    now_ms = 0;
    mk(&a, &s, "pod-a");
    mk(&b, &s, "pod-b");
    /* both see "not found"; only the first create wins */
    struct rt_lease_rec tmp;
    ASSERT_EQ(s_get(&a, &tmp), OP_ENOTFOUND);
    ASSERT_EQ(rt_leader_tick(a.e), RT_LEADER_STARTED);
    ASSERT_EQ(rt_leader_tick(b.e), RT_LEADER_NONE);
    ASSERT_EQ(rt_leader_next_delay_ms(a.e), 2000);
    int64_t d = rt_leader_next_delay_ms(b.e);
    ASSERT_TRUE(d >= 2000 && d <= 2400);
    rt_leader_free(a.e);
    rt_leader_free(b.e);
}

TEST(leader_failures_logged_rate_limited)
{
    struct store s = {0};
    struct cand a = {0}, b = {0};
    now_ms = 0;
    mk(&a, &s, "pod-a");
    mk(&b, &s, "pod-b");
    s.fail = 1; /* e.g. the lease namespace does not exist */
    ASSERT_EQ(rt_leader_tick(a.e), RT_LEADER_NONE);
    ASSERT_EQ(rt_leader_failure_warnings(a.e), 1u); /* the first failure is logged */
    for (int i = 1; i < 29; i++) {
        now_ms = i * 2000;
        ASSERT_EQ(rt_leader_tick(a.e), RT_LEADER_NONE);
    }
    ASSERT_EQ(rt_leader_failure_warnings(a.e), 1u); /* 56 s of the same error: quiet */
    now_ms = 60000;
    ASSERT_EQ(rt_leader_tick(a.e), RT_LEADER_NONE);
    ASSERT_EQ(rt_leader_failure_warnings(a.e), 2u); /* a reminder a minute later */
    s.fail = 0;
    now_ms = 62000;
    ASSERT_EQ(rt_leader_tick(a.e), RT_LEADER_STARTED);
    s.fail = 1;
    now_ms = 64000;
    ASSERT_EQ(rt_leader_tick(a.e), RT_LEADER_NONE);
    ASSERT_EQ(rt_leader_failure_warnings(a.e), 3u); /* a new episode is logged at once */
    /* losing a create or update race to another candidate is not a failure */
    s.fail = 0;
    ASSERT_EQ(rt_leader_tick(b.e), RT_LEADER_NONE);
    ASSERT_EQ(rt_leader_failure_warnings(b.e), 0u);
    rt_leader_free(a.e);
    rt_leader_free(b.e);
}

TEST_MAIN()
