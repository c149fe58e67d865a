/* workqueue.h — the controller's work queue, modelled on client-go's
 * util/workqueue: a FIFO of string keys with dedup (a queued key is queued
 * once), a processing set (a key is never handed to two workers at once; a
 * key re-added while processed is re-queued by ctl_wq_done), delayed adds, and
 * per-key exponential backoff (base doubling to max, reset by ctl_wq_forget).
 * Every function is thread-safe. */
#ifndef CROSSLINK_CTL_WORKQUEUE_H
#define CROSSLINK_CTL_WORKQUEUE_H

#include "clock.h"

#include <stddef.h>
#include <stdint.h>

/* ctl_wq_get's return when the queue has been shut down. */
#define CTL_WQ_SHUTDOWN 1

struct ctl_wq_opts {
    int64_t base_delay_ms; /* first backoff; 0 means 5 ms */
    int64_t max_delay_ms;  /* backoff cap; 0 means 1000 s */
    struct ctl_clock clock; /* zeroed = real monotonic clock */
};

struct ctl_wq_stats {
    size_t depth;          /* keys ready in the FIFO */
    size_t delayed;        /* keys waiting for their delay */
    size_t processing;     /* keys handed out and not done */
    uint64_t adds_total;   /* adds that were not deduplicated */
    uint64_t retries_total;/* ctl_wq_add_rate_limited calls */
};

struct ctl_wq;

/* opts may be NULL (defaults). Returns NULL on OOM. */
struct ctl_wq *ctl_wq_new(const struct ctl_wq_opts *opts);
/* Frees the queue; no thread may be using it any more. NULL-safe. */
void ctl_wq_free(struct ctl_wq *q);

/* Queues key now (no-op when already queued, or after shutdown). 0/OP_ENOMEM. */
int ctl_wq_add(struct ctl_wq *q, const char *key);
/* Queues key after delay_ms (<=0: now). If key is already waiting, the
 * earlier deadline wins. */
int ctl_wq_add_after(struct ctl_wq *q, const char *key, int64_t delay_ms);
/* Queues key after its next backoff delay: base * 2^failures, capped. */
int ctl_wq_add_rate_limited(struct ctl_wq *q, const char *key);
/* The delay the next ctl_wq_add_rate_limited would use, without counting it. */
int64_t ctl_wq_next_backoff_ms(struct ctl_wq *q, const char *key);
/* Resets key's backoff (after a successful reconcile). */
void ctl_wq_forget(struct ctl_wq *q, const char *key);
/* How many times key has been rate-limited since its last forget. */
int ctl_wq_num_requeues(struct ctl_wq *q, const char *key);

/* Takes the next key, marking it processing. timeout_ms < 0 blocks until a
 * key or shutdown; 0 never blocks. On 0, *key_out is a malloc'd copy the
 * caller frees after ctl_wq_done. Returns 0, CTL_WQ_SHUTDOWN or OP_ETIMEOUT.
 * After shutdown no further key is handed out even if some are queued. */
int ctl_wq_get(struct ctl_wq *q, int64_t timeout_ms, char **key_out);
/* Marks key finished; if it was re-added meanwhile it is queued again. */
void ctl_wq_done(struct ctl_wq *q, const char *key);

/* Wakes blocked getters so they re-read the clock (tests with a fake clock). */
void ctl_wq_kick(struct ctl_wq *q);
/* Stops handing out keys and wakes all getters. */
void ctl_wq_shutdown(struct ctl_wq *q);
/* Waits (real time) until no key is processing or timeout_ms passes (<0:
 * forever). Returns 0 or OP_ETIMEOUT. */
int ctl_wq_wait_idle(struct ctl_wq *q, int64_t timeout_ms);
int ctl_wq_is_shutdown(struct ctl_wq *q);

void ctl_wq_get_stats(struct ctl_wq *q, struct ctl_wq_stats *out);

#endif
