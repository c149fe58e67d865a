/* leader.c — leader election state machine (tryAcquireOrRenew of client-go's
 * tools/leaderelection) and its runner thread. The state machine touches
 * the lease only through struct rt_lease_ops and time only through the
 * injected clocks, so unit tests drive it deterministically. Only the runner
 * thread calls tick; is_leader is read from other threads (atomic). */
#include "runtime.h"

#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct rt_leader {
    struct rt_leader_cfg cfg;
    char *identity;
    atomic_int leader;
    struct rt_lease_rec observed;
    int have_observed;
    int64_t observed_at; /* local monotonic time the record last changed */
    /* local time (taken before the request) of our last successful write;
     * read by other threads through rt_leader_write_deadline */
    _Atomic int64_t last_renew;

    /* failed Lease reads/writes: logged on the first failure, when the
     * error changes and at most once a minute while it repeats */
    unsigned long failures;  /* consecutive */
    unsigned long warnings;  /* log lines written about them */
    int64_t warned_at;
    char last_err[256];

    pthread_t th;
    int running;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int stop;
    rt_leader_cb cb;
    void *cb_payload;
};

static void now_micro(struct rt_leader *e, char out[40])
{
    if (e->cfg.wall_micro)
        e->cfg.wall_micro(out, e->cfg.wall_payload);
    else
        op_rfc3339_micro(out);
}

struct rt_leader *rt_leader_new(const struct rt_leader_cfg *cfg)
{
    struct rt_leader *e;
    pthread_condattr_t ca;

    if (!cfg->identity || !*cfg->identity || !cfg->ops.get || !cfg->ops.create || !cfg->ops.update)
        return NULL;
    e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->cfg = *cfg;
    if (e->cfg.lease_ms <= 0)
        e->cfg.lease_ms = 15000;
    if (e->cfg.renew_deadline_ms <= 0)
        e->cfg.renew_deadline_ms = 10000;
    if (e->cfg.retry_ms <= 0)
        e->cfg.retry_ms = 2000;
    if (e->cfg.lease_ms <= e->cfg.renew_deadline_ms ||
        e->cfg.renew_deadline_ms * 10 <= e->cfg.retry_ms * 12) {
        free(e);
        return NULL;
    }
    e->identity = op_strdup(cfg->identity);
    if (!e->identity) {
        free(e);
        return NULL;
    }
    e->cfg.identity = e->identity;
    pthread_mutex_init(&e->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&e->cond, &ca);
    pthread_condattr_destroy(&ca);
    return e;
}

void rt_leader_free(struct rt_leader *e)
{
    if (!e)
        return;
    if (e->running)
        rt_leader_stop(e, 0);
    pthread_cond_destroy(&e->cond);
    pthread_mutex_destroy(&e->mu);
    free(e->identity);
    free(e);
}

int64_t rt_leader_write_deadline(struct rt_leader *e)
{
    if (!atomic_load(&e->leader))
        return 0; /* long past: a non-leader writes nothing */
    return atomic_load(&e->last_renew) + e->cfg.renew_deadline_ms;
}

int rt_leader_is_leader(const struct rt_leader *e)
{
    return atomic_load(&((struct rt_leader *)e)->leader);
}

const char *rt_leader_observed_holder(const struct rt_leader *e)
{
    return e->have_observed ? e->observed.holder : "";
}

static int rec_equal(const struct rt_lease_rec *a, const struct rt_lease_rec *b)
{
    return !strcmp(a->holder, b->holder) && a->duration_s == b->duration_s &&
           !strcmp(a->acquire_time, b->acquire_time) && !strcmp(a->renew_time, b->renew_time) &&
           a->transitions == b->transitions;
}

static void set_str(char *dst, size_t cap, const char *s)
{
    snprintf(dst, cap, "%s", s);
}

#define LEASE_WARN_EVERY_MS 60000

static void lease_failed(struct rt_leader *e, const char *what, int code, int64_t now)
{
    char err[256];
    const char *msg = op_err_last();
    snprintf(err, sizeof(err), "%s: %s%s%s", what, op_err_name(code), msg && *msg ? ": " : "", msg ? msg : "");
    e->failures++;
    if (e->failures == 1 || strcmp(err, e->last_err) != 0 || now - e->warned_at >= LEASE_WARN_EVERY_MS) {
        char n[24];
        snprintf(n, sizeof(n), "%lu", e->failures);
        op_log(OP_LOG_WARN, "leader election: lease access failed", "identity", e->identity, "error", err,
               "consecutive_failures", n, NULL);
        e->warnings++;
        e->warned_at = now;
        snprintf(e->last_err, sizeof(e->last_err), "%s", err);
    }
}

static void lease_ok(struct rt_leader *e)
{
    if (e->failures) {
        char n[24];
        snprintf(n, sizeof(n), "%lu", e->failures);
        op_log(OP_LOG_INFO, "leader election: lease access recovered", "identity", e->identity,
               "failed_attempts", n, NULL);
    }
    e->failures = 0;
    e->last_err[0] = '\0';
}

unsigned long rt_leader_failure_warnings(const struct rt_leader *e)
{
    return e->warnings;
}

/* Returns 1 when we hold the lease after this attempt. */
static int try_acquire_or_renew(struct rt_leader *e)
{
    struct rt_lease_rec cur, next;
    int64_t now = op_clock_now(&e->cfg.clock);
    char ts[40];
    int err;

    memset(&cur, 0, sizeof(cur));
    now_micro(e, ts);
    op_err_clear(); /* failures below log op_err_last(): no stale text */
    err = e->cfg.ops.get(e->cfg.ops.payload, &cur);
    if (err == OP_ENOTFOUND) {
        memset(&next, 0, sizeof(next));
        set_str(next.holder, sizeof(next.holder), e->identity);
        next.duration_s = (int)(e->cfg.lease_ms / 1000);
        set_str(next.acquire_time, sizeof(next.acquire_time), ts);
        set_str(next.renew_time, sizeof(next.renew_time), ts);
        next.transitions = 0;
        if ((err = e->cfg.ops.create(e->cfg.ops.payload, &next)) < 0) {
            if (err != OP_ECONFLICT) /* lost a race to create (409 AlreadyExists): normal */
                lease_failed(e, "create", err, now);
            return 0;
        }
        lease_ok(e);
        e->observed = next;
        e->have_observed = 1;
        e->observed_at = now;
        atomic_store(&e->last_renew, now);
        return 1;
    }
    if (err < 0) {
        lease_failed(e, "get", err, now);
        return 0;
    }
    lease_ok(e);

    if (!e->have_observed || !rec_equal(&cur, &e->observed)) {
        e->observed = cur;
        e->have_observed = 1;
        e->observed_at = now;
    }
    if (cur.holder[0] && strcmp(cur.holder, e->identity) != 0 &&
        e->observed_at + (int64_t)cur.duration_s * 1000 > now)
        return 0; /* someone else holds a valid lease */

    next = cur;
    set_str(next.holder, sizeof(next.holder), e->identity);
    next.duration_s = (int)(e->cfg.lease_ms / 1000);
    set_str(next.renew_time, sizeof(next.renew_time), ts);
    if (strcmp(cur.holder, e->identity) != 0) {
        set_str(next.acquire_time, sizeof(next.acquire_time), ts);
        next.transitions = cur.transitions + 1;
    }
    if ((err = e->cfg.ops.update(e->cfg.ops.payload, &next)) < 0) {
        if (err != OP_ECONFLICT) /* another candidate wrote first: normal */
            lease_failed(e, "update", err, now);
        return 0;
    }
    e->observed = next;
    e->observed_at = now;
    atomic_store(&e->last_renew, now);
    return 1;
}

enum rt_leader_event rt_leader_tick(struct rt_leader *e)
{
    int was = atomic_load(&e->leader);
    int ok = try_acquire_or_renew(e);

    if (ok) {
        atomic_store(&e->leader, 1);
        return was ? RT_LEADER_NONE : RT_LEADER_STARTED;
    }
    if (!was)
        return RT_LEADER_NONE;
    /* A failed renew: we stay leader until the renew deadline passes —
     * unless someone else visibly holds the lease now. */
    if (op_clock_now(&e->cfg.clock) - atomic_load(&e->last_renew) >= e->cfg.renew_deadline_ms ||
        (e->have_observed && e->observed.holder[0] && strcmp(e->observed.holder, e->identity))) {
        atomic_store(&e->leader, 0);
        return RT_LEADER_LOST;
    }
    return RT_LEADER_NONE;
}

int rt_leader_release(struct rt_leader *e)
{
    struct rt_lease_rec next;
    int err = OP_OK;

    if (!atomic_load(&e->leader))
        return OP_OK;
    /* Re-read so the update carries the latest resourceVersion; give up if
     * the lease is no longer ours. */
    for (int attempt = 0; attempt < 3; attempt++) {
        struct rt_lease_rec cur;
        memset(&cur, 0, sizeof(cur));
        if ((err = e->cfg.ops.get(e->cfg.ops.payload, &cur)) < 0)
            break;
        if (strcmp(cur.holder, e->identity) != 0) {
            err = OP_OK;
            break;
        }
        next = cur;
        next.holder[0] = '\0';
        next.duration_s = 1;
        now_micro(e, next.renew_time);
        err = e->cfg.ops.update(e->cfg.ops.payload, &next);
        if (err != OP_ECONFLICT)
            break;
    }
    atomic_store(&e->leader, 0);
    return err;
}

int64_t rt_leader_next_delay_ms(const struct rt_leader *e)
{
    if (rt_leader_is_leader(e))
        return e->cfg.retry_ms;
    return e->cfg.retry_ms + (int64_t)(op_rand01() * 0.2 * (double)e->cfg.retry_ms);
}

/* ---- runner ------------------------------------------------------------- */

static void *run_thread(void *p)
{
    struct rt_leader *e = p;
    pthread_mutex_lock(&e->mu);
    while (!e->stop) {
        enum rt_leader_event ev;
        int64_t d;
        struct timespec ts;

        pthread_mutex_unlock(&e->mu);
        ev = rt_leader_tick(e);
        if (ev != RT_LEADER_NONE && e->cb)
            e->cb(ev, e->cb_payload);
        d = rt_leader_next_delay_ms(e);
        pthread_mutex_lock(&e->mu);
        if (e->stop)
            break;
        op_mono_deadline(&ts, d);
        (void)pthread_cond_timedwait(&e->cond, &e->mu, &ts);
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

int rt_leader_run(struct rt_leader *e, rt_leader_cb cb, void *payload)
{
    pthread_attr_t a;
    int rc;
    e->cb = cb;
    e->cb_payload = payload;
    e->stop = 0;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 256 * 1024);
    rc = pthread_create(&e->th, &a, run_thread, e);
    pthread_attr_destroy(&a);
    if (rc != 0)
        return op_err_set(OP_ERR, "cannot start leader-election thread");
    e->running = 1;
    return OP_OK;
}

void rt_leader_stop(struct rt_leader *e, int release)
{
    if (e->running) {
        pthread_mutex_lock(&e->mu);
        e->stop = 1;
        pthread_cond_broadcast(&e->cond);
        pthread_mutex_unlock(&e->mu);
        pthread_join(e->th, NULL);
        e->running = 0;
    }
    if (release)
        (void)rt_leader_release(e);
}
