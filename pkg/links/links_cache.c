/* links_cache.c — the result cache that lets stacks with the same backends
 * and correlation settings (same links_key) share one verification round per
 * interval; claim/finish, never blocking (links.h). A linear list: the number
 * of distinct keys is the number of distinct (backends, correlation) sets,
 * small next to the number of stacks. */
#include "links_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct lk_entry {
    char key[65];
    int running;
    int64_t started_ms;
    int has_result;
    int64_t done_ms;
    int64_t max_age_ms;
    struct links_report rep;
    struct lk_entry *next;
};

struct links_cache {
    pthread_mutex_t mu;
    int64_t stale_ms;
    struct lk_entry *head;
};

int links_cache_new(struct links_cache **out, int64_t stale_ms)
{
    struct links_cache *c = calloc(1, sizeof *c);
    if (!c)
        return op_err_set(OP_ENOMEM, "out of memory");
    pthread_mutex_init(&c->mu, NULL);
    c->stale_ms = stale_ms > 0 ? stale_ms : 120000;
    *out = c;
    return 0;
}

void links_cache_free(struct links_cache *c)
{
    struct lk_entry *e, *n;
    if (!c)
        return;
    for (e = c->head; e; e = n) {
        n = e->next;
        free(e);
    }
    pthread_mutex_destroy(&c->mu);
    free(c);
}

int links_cache_claim(struct links_cache *c, const char key[65], int64_t max_age_ms, int64_t now_ms,
                      struct links_report *rep)
{
    struct lk_entry *e, **pp;
    int rc;

    pthread_mutex_lock(&c->mu);
    /* drop long-unused entries (not running) */
    for (pp = &c->head; (e = *pp) != NULL;) {
        if (!e->running && e->has_result && e->max_age_ms > 0 && now_ms - e->done_ms > 10 * e->max_age_ms &&
            strcmp(e->key, key) != 0) {
            *pp = e->next;
            free(e);
            continue;
        }
        pp = &e->next;
    }
    for (e = c->head; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            break;
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e) {
            pthread_mutex_unlock(&c->mu);
            return op_err_set(OP_ENOMEM, "out of memory");
        }
        memcpy(e->key, key, 64);
        e->next = c->head;
        c->head = e;
    }
    if (e->has_result && now_ms - e->done_ms < max_age_ms) {
        *rep = e->rep;
        rc = LINKS_CACHE_HIT;
    } else if (e->running && now_ms - e->started_ms < c->stale_ms) {
        if (e->has_result)
            *rep = e->rep;
        else
            memset(rep, 0, sizeof *rep);
        rc = LINKS_CACHE_PENDING;
    } else {
        e->running = 1;
        e->started_ms = now_ms;
        e->max_age_ms = max_age_ms;
        rc = LINKS_CACHE_RUN;
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void links_cache_finish(struct links_cache *c, const char key[65], const struct links_report *rep, int64_t now_ms)
{
    struct lk_entry *e;
    pthread_mutex_lock(&c->mu);
    for (e = c->head; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            break;
    if (e) {
        e->running = 0;
        if (rep) {
            e->rep = *rep;
            e->has_result = 1;
            e->done_ms = now_ms;
        }
    }
    pthread_mutex_unlock(&c->mu);
}
