/* links_step.c — condition LinksVerified (docs/links.md): the reconcile's
 * link-check step (ctl_links_step, through the stack_env `links` port, so
 * unit tests drive it with a fake) and the real port behind it
 * (ctl_linker): shared asynchronous link-check rounds on a small pool of
 * threads, one round per links_key per verify interval (links_cache). When
 * a round ends, the stacks that waited for it are re-enqueued, and — when
 * the report differs from the previous round's — every stack that used the
 * key since then, so a change reaches all of them within about one
 * interval, not when each one's own report expires. A reconcile never waits
 * for a round. Job inputs are deep copies; credentials in them are wiped
 * when the round ends. */
#include "links_stack.h"

#include "manager.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the step -------------------------------------------------------------- */

int ctl_links_step(const struct stack_env *env, const char *key, const struct spec_stack *s, json_t *ds_doc,
                   int64_t interval_ms,
                   int backends_ok, const struct ctl_probe_set *ps, struct ctl_links_out *out)
{
    struct ctl_links_input li;
    struct links_report rep;
    const char *st = NULL, *reason = NULL;
    int have_prev = 0, rc;
    int64_t running_ms = 0;

    memset(out, 0, sizeof *out);
    if (!env->links || !s || interval_ms <= 0)
        return OP_OK; /* not checked: no condition */
    out->present = 1;
    out->cond.type = CTL_COND_LINKS;
    out->cond.reason = out->reason;
    out->cond.message = out->message;
    if (!backends_ok || !ps) {
        /* a link through a backend that does not answer cannot be followed;
         * <Signal>Reachable already says why */
        out->cond.status = CTL_COND_UNKNOWN;
        snprintf(out->reason, sizeof out->reason, "%s", CTL_REASON_LINKS_BACKENDS);
        snprintf(out->message, sizeof out->message,
                 "links not checked: not every backend is reachable (see the <Signal>Reachable conditions)");
        return OP_OK;
    }
    if ((rc = ctl_links_input_build(&li, s, ps, ds_doc)) < 0)
        return rc;
    memset(&rep, 0, sizeof rep);
    /* 90%: requeues come every interval -10%/+10%, so a stack's next
     * periodic pass always finds its key's report expired and starts (or
     * joins) a fresh round: a change shows within about one interval */
    rc = env->links(env->ctx, key, &li.in, interval_ms * 9 / 10, &rep, &have_prev, &running_ms);
    ctl_links_input_cleanup(&li);
    if (rc < 0) {
        out->cond.status = CTL_COND_UNKNOWN;
        snprintf(out->reason, sizeof out->reason, "%s", CTL_REASON_LINKS_PENDING);
        snprintf(out->message, sizeof out->message, "link check failed to run: %s", op_err_last());
        return OP_OK;
    }
    if (rc > 0 && !have_prev) {
        /* first round still running: keep whatever the status says */
        out->present = 0;
        out->pending = 1;
        if (running_ms >= 0 && running_ms < CTL_LINKS_FIRST_WAIT_MS)
            out->wait_ms = CTL_LINKS_FIRST_WAIT_MS - running_ms;
        return OP_OK;
    }
    links_condition(&rep, &st, &reason, out->message, sizeof out->message);
    out->cond.status = !strcmp(st, "True") ? CTL_COND_TRUE : !strcmp(st, "False") ? CTL_COND_FALSE : CTL_COND_UNKNOWN;
    snprintf(out->reason, sizeof out->reason, "%s", reason);
    return OP_OK;
}

/* ---- the real port: shared rounds on a pool ------------------------------- */

#define LK_NSTR 8

struct lk_waiter {
    char *key;
    struct lk_waiter *next;
};

struct lk_job {
    char lkey[65];
    struct links_input in;            /* points into the copies below */
    json_t *doc;
    struct probe_target t[PROBE_NSIGNALS];
    char *own[PROBE_NSIGNALS][LK_NSTR]; /* wiped on free */
    char *metric;
    struct lk_waiter *waiters;
    int64_t asked_ms; /* op_mono_ms() when the round was asked for */
    struct lk_job *next;
};

struct ctl_linker {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct links_cache *cache;
    struct op_map *inflight; /* lkey -> struct lk_job * (not owned) */
    struct op_map *last;     /* lkey -> struct links_report * (owned): the previous round */
    struct op_map *subs;     /* lkey -> struct op_map * of stack keys that used it since its last round */
    struct lk_job *qhead, *qtail;
    pthread_t *threads;
    int nthreads, stop;
    uint64_t rounds;
    struct rt_metric *m_checks;
    ctl_prober_notify_fn notify;
    void *ud;
};

static void lk_job_free(struct lk_job *j)
{
    if (!j)
        return;
    for (int s = 0; s < PROBE_NSIGNALS; s++)
        for (int i = 0; i < LK_NSTR; i++)
            op_wipe_free(j->own[s][i]);
    json_decref(j->doc);
    free(j->metric);
    while (j->waiters) {
        struct lk_waiter *w = j->waiters;
        j->waiters = w->next;
        free(w->key);
        free(w);
    }
    op_wipe_free_n(j, sizeof *j);
}

static int lk_add_waiter(struct lk_job *j, const char *key)
{
    struct lk_waiter *w;
    for (w = j->waiters; w; w = w->next)
        if (!strcmp(w->key, key))
            return OP_OK;
    if (!(w = calloc(1, sizeof *w)) || !(w->key = strdup(key))) {
        free(w);
        return op_err_set(OP_ENOMEM, "out of memory");
    }
    w->next = j->waiters;
    j->waiters = w;
    return OP_OK;
}

/* Deep copy of in; NULL on OOM. */
static struct lk_job *lk_job_new(const struct links_input *in, const char lkey[65])
{
    struct lk_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    memcpy(j->lkey, lkey, 65);
    j->in = *in;
    if (!(j->doc = json_deep_copy(in->datasources)))
        goto fail;
    j->in.datasources = j->doc;
    if (in->request_metric && !(j->metric = strdup(in->request_metric)))
        goto fail;
    j->in.request_metric = j->metric;
    for (int s = 0; s < PROBE_NSIGNALS; s++) {
        const struct probe_target *t = in->targets[s];
        const char *src[LK_NSTR];
        const char **dst[LK_NSTR];
        if (!t)
            continue;
        j->t[s] = *t;
        src[0] = t->url, src[1] = t->tenant, src[2] = t->basic_user, src[3] = t->basic_password;
        src[4] = t->bearer_token, src[5] = t->ca_pem, src[6] = t->server_name, src[7] = t->flavor;
        dst[0] = &j->t[s].url, dst[1] = &j->t[s].tenant, dst[2] = &j->t[s].basic_user;
        dst[3] = &j->t[s].basic_password, dst[4] = &j->t[s].bearer_token, dst[5] = &j->t[s].ca_pem;
        dst[6] = &j->t[s].server_name, dst[7] = &j->t[s].flavor;
        for (int i = 0; i < LK_NSTR; i++) {
            if (src[i] && !(j->own[s][i] = strdup(src[i])))
                goto fail;
            *dst[i] = j->own[s][i];
        }
        j->in.targets[s] = &j->t[s];
    }
    return j;
fail:
    lk_job_free(j);
    return NULL;
}

static void lk_count(struct ctl_linker *lk, const struct links_report *rep)
{
    unsigned counts[LINKS_NLINKS][3];
    if (!lk->m_checks)
        return;
    memset(counts, 0, sizeof counts);
    links_report_counts(rep, counts);
    for (int l = 0; l < LINKS_NLINKS; l++)
        for (int s = 0; s < 3; s++)
            if (counts[l][s])
                rt_metric_add(lk->m_checks, (const char *[]){links_link_id(l), links_state_name(s)}, counts[l][s]);
}

static void lk_subs_free(void *p)
{
    op_map_free(p);
}

/* Records that stack_key uses lkey (mutex held). Best effort. */
static void lk_subscribe(struct ctl_linker *lk, const char *lkey, const char *stack_key)
{
    struct op_map *set = op_map_get(lk->subs, lkey);
    if (!set) {
        if (!(set = op_map_new(NULL)))
            return;
        if (op_map_put(lk->subs, lkey, set) < 0) {
            op_map_free(set);
            return;
        }
    }
    (void)op_map_put(set, stack_key, (void *)1);
}

struct lk_collect {
    struct lk_waiter *head;
};

static int lk_collect_one(const char *key, void *val, void *payload)
{
    struct lk_collect *c = payload;
    struct lk_waiter *w = calloc(1, sizeof *w);
    (void)val;
    if (!w || !(w->key = strdup(key))) {
        free(w);
        return 0;
    }
    w->next = c->head;
    c->head = w;
    return 0;
}

/* The condition-relevant part of two reports is equal. */
static int lk_same(const struct links_report *a, const struct links_report *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->checks[i].link != b->checks[i].link || a->checks[i].state != b->checks[i].state ||
            strcmp(a->checks[i].message, b->checks[i].message) != 0)
            return 0;
    return 1;
}

static void *lk_main(void *arg)
{
    struct ctl_linker *lk = arg;
    pthread_mutex_lock(&lk->mu);
    for (;;) {
        struct lk_job *j;
        struct lk_waiter *w;
        struct links_report rep, *keep;
        int ok;

        while (!lk->qhead && !lk->stop)
            pthread_cond_wait(&lk->cv, &lk->mu);
        if (lk->stop)
            break;
        j = lk->qhead;
        lk->qhead = j->next;
        if (!lk->qhead)
            lk->qtail = NULL;
        pthread_mutex_unlock(&lk->mu);

        memset(&rep, 0, sizeof rep);
        ok = links_run(&j->in, &rep) == 0;
        if (!ok)
            op_log(OP_LOG_WARN, "link check failed to run", "error", op_err_last(), NULL);
        else
            lk_count(lk, &rep);

        pthread_mutex_lock(&lk->mu);
        links_cache_finish(lk->cache, j->lkey, ok ? &rep : NULL, op_mono_ms());
        {
            /* the users of the key since its last round: told when the
             * result changed (the waiters below are told anyway) */
            struct op_map *set = op_map_take(lk->subs, j->lkey);
            const struct links_report *prev = op_map_get(lk->last, j->lkey);
            if (set && ok && prev && !lk_same(prev, &rep)) {
                struct lk_collect c = {j->waiters};
                op_map_foreach(set, lk_collect_one, &c);
                j->waiters = c.head;
            }
            op_map_free(set);
        }
        if (ok && (keep = malloc(sizeof *keep))) {
            *keep = rep;
            if (op_map_put(lk->last, j->lkey, keep) < 0)
                free(keep);
        }
        lk->rounds++;
        op_map_del(lk->inflight, j->lkey);
        w = j->waiters;
        j->waiters = NULL;
        pthread_mutex_unlock(&lk->mu);
        lk_job_free(j); /* wipes the credentials */
        while (w) {
            struct lk_waiter *n = w->next;
            if (lk->notify)
                lk->notify(w->key, lk->ud);
            free(w->key);
            free(w);
            w = n;
        }
        pthread_mutex_lock(&lk->mu);
    }
    pthread_mutex_unlock(&lk->mu);
    return NULL;
}

int ctl_linker_new(struct ctl_linker **out, int nthreads, struct rt_metric *checks, ctl_prober_notify_fn notify,
                   void *ud)
{
    struct ctl_linker *lk = calloc(1, sizeof *lk);
    pthread_attr_t at;
    *out = NULL;
    if (!lk)
        return op_err_set(OP_ENOMEM, "out of memory");
    pthread_mutex_init(&lk->mu, NULL);
    pthread_cond_init(&lk->cv, NULL);
    lk->m_checks = checks;
    lk->notify = notify;
    lk->ud = ud;
    if (nthreads <= 0)
        nthreads = 4;
    /* a round makes ~20 requests each within its timeout: take a round whose
     * owner vanished over after 5 minutes */
    if (links_cache_new(&lk->cache, 5 * 60 * 1000) < 0 || !(lk->inflight = op_map_new(NULL)) ||
        !(lk->last = op_map_new(free)) || !(lk->subs = op_map_new(lk_subs_free)) || !(lk->threads = calloc((size_t)nthreads, sizeof *lk->threads))) {
        ctl_linker_free(lk);
        return op_err_set(OP_ENOMEM, "out of memory");
    }
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 512 * 1024);
    for (int i = 0; i < nthreads; i++)
        if (pthread_create(&lk->threads[lk->nthreads], &at, lk_main, lk) == 0)
            lk->nthreads++;
    pthread_attr_destroy(&at);
    if (!lk->nthreads) {
        ctl_linker_free(lk);
        return op_err_set(OP_ERR, "cannot start link-check threads");
    }
    *out = lk;
    return OP_OK;
}

void ctl_linker_free(struct ctl_linker *lk)
{
    if (!lk)
        return;
    pthread_mutex_lock(&lk->mu);
    lk->stop = 1;
    pthread_cond_broadcast(&lk->cv);
    pthread_mutex_unlock(&lk->mu);
    for (int i = 0; i < lk->nthreads; i++)
        pthread_join(lk->threads[i], NULL); /* a running round ends within its timeouts */
    while (lk->qhead) {
        struct lk_job *j = lk->qhead;
        lk->qhead = j->next;
        lk_job_free(j);
    }
    free(lk->threads);
    op_map_free(lk->inflight);
    op_map_free(lk->last);
    op_map_free(lk->subs);
    links_cache_free(lk->cache);
    pthread_cond_destroy(&lk->cv);
    pthread_mutex_destroy(&lk->mu);
    free(lk);
}

int ctl_linker_check(struct ctl_linker *lk, const char *stack_key, const struct links_input *in, int64_t max_age_ms,
                     struct links_report *rep, int *have_prev, int64_t *running_ms)
{
    char k[65];
    const struct links_report *prev;
    struct lk_job *j;
    int rc;

    *have_prev = 0;
    *running_ms = 0;
    links_key(in, k);
    pthread_mutex_lock(&lk->mu);
    lk_subscribe(lk, k, stack_key);
    rc = links_cache_claim(lk->cache, k, max_age_ms, op_mono_ms(), rep);
    if (rc == LINKS_CACHE_HIT || rc < 0) {
        pthread_mutex_unlock(&lk->mu);
        return rc < 0 ? rc : 0;
    }
    if (rc == LINKS_CACHE_RUN) {
        if (!(j = lk_job_new(in, k)) || lk_add_waiter(j, stack_key) < 0 || op_map_put(lk->inflight, k, j) < 0) {
            lk_job_free(j);
            links_cache_finish(lk->cache, k, NULL, op_mono_ms());
            pthread_mutex_unlock(&lk->mu);
            return op_err_set(OP_ENOMEM, "out of memory");
        }
        j->asked_ms = op_mono_ms();
        if (lk->qtail)
            lk->qtail->next = j;
        else
            lk->qhead = j;
        lk->qtail = j;
        pthread_cond_signal(&lk->cv);
    } else if ((j = op_map_get(lk->inflight, k)) != NULL) {
        (void)lk_add_waiter(j, stack_key); /* on OOM its periodic requeue looks again */
        *running_ms = op_mono_ms() - j->asked_ms;
    }
    if ((prev = op_map_get(lk->last, k)) != NULL) {
        *rep = *prev;
        *have_prev = 1;
    }
    pthread_mutex_unlock(&lk->mu);
    return 1;
}

void ctl_linker_stats(struct ctl_linker *lk, uint64_t *rounds)
{
    pthread_mutex_lock(&lk->mu);
    *rounds = lk->rounds;
    pthread_mutex_unlock(&lk->mu);
}
