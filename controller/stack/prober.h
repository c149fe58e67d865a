/* prober.h — backend probes for the reconciler that never hold a worker for
 * longer than a short wait. A target with a fresh result in the probe
 * engine's cache is answered at once; otherwise it becomes a job run by a
 * small, lazily grown pool of threads (probe_run on one target). Identical
 * targets asked for by several stacks share one job. A reconcile waits at
 * most wait_ms for its jobs; a stack that stopped waiting is handed to the
 * notify callback (the controller re-enqueues it) when its job ends, and
 * its next reconcile finds the result in the engine's cache. So a dead
 * backend delays only the stacks that use it, each by its own probe
 * timeout. Job targets are deep copies; credentials in them are wiped when
 * the job ends. Thread-safe. */
#ifndef CROSSLINK_CTL_PROBER_H
#define CROSSLINK_CTL_PROBER_H

#include "probe.h"

#include <stddef.h>
#include <stdint.h>

struct ctl_prober;

/* Called from a pool thread, without the prober's lock, once per stack that
 * asked for a job and is no longer waiting for it. */
typedef void (*ctl_prober_notify_fn)(const char *stack_key, void *ud);

/* e is borrowed and must outlive the prober. max_threads <= 0 → 64.
 * Returns 0 or OP_ENOMEM. */
int ctl_prober_new(struct ctl_prober **out, struct probe_engine *e, int max_threads,
                   ctl_prober_notify_fn notify, void *ud);
/* Stops taking jobs, waits for the running ones (each ends within its
 * target's timeout), joins the threads and frees. NULL-safe. */
void ctl_prober_free(struct ctl_prober *p);

/* For each of the n targets: results[i] from the engine's cache (done[i] =
 * 1), or a job started or joined on behalf of stack_key. Waits up to
 * wait_ms for those jobs; the ones that finish in time fill results[i] and
 * done[i] = 1 (and will not notify). Returns how many are still pending —
 * notify(stack_key) follows when they end — or OP_EINVALID / OP_ENOMEM. */
int ctl_prober_check(struct ctl_prober *p, const char *stack_key, const struct probe_target *t,
                     size_t n, struct probe_result *results, int *done, int64_t wait_ms);

/* Counters: jobs started, threads in the pool. Either pointer may be NULL. */
void ctl_prober_stats(struct ctl_prober *p, uint64_t *jobs, int *threads);

#endif
