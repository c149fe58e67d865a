/* leader.h — Lease-based leader election (client-go's algorithm,
 * kubernetes.md §2.9) as a state machine over an injected lease store and
 * clock, plus a runner thread and a binding to pkg/kube's Lease calls.
 * Validity of another holder's lease is judged on the local clock only:
 * the time we last saw the record change + leaseDurationSeconds. */
#ifndef CROSSLINK_CTL_LEADER_H
#define CROSSLINK_CTL_LEADER_H

#include "clock.h"

#include <stdint.h>

struct kube_client;

struct ctl_lease_rec {
    char holder[256];       /* "" = released / nobody */
    int duration_s;         /* leaseDurationSeconds */
    char acquire_time[40];  /* MicroTime strings, "" when absent */
    char renew_time[40];
    int transitions;        /* leaseTransitions */
};

/* The lease store. get: 0, OP_ENOTFOUND or another op_err. create/update:
 * 0, OP_ECONFLICT (someone else wrote first) or another op_err; update
 * writes over the record last returned by get/create/update (optimistic
 * concurrency is the store's business). */
struct ctl_lease_ops {
    int (*get)(void *payload, struct ctl_lease_rec *out);
    int (*create)(void *payload, const struct ctl_lease_rec *rec);
    int (*update)(void *payload, const struct ctl_lease_rec *rec);
    void *payload;
};

struct ctl_leader_cfg {
    const char *identity;      /* copied */
    int64_t lease_ms;          /* 15000 */
    int64_t renew_deadline_ms; /* 10000 */
    int64_t retry_ms;          /* 2000 */
    struct ctl_lease_ops ops;
    struct ctl_clock clock;    /* monotonic; zeroed = real */
    /* MicroTime for acquire/renew times; NULL = op_rfc3339_micro. */
    void (*wall_micro)(char out[40], void *payload);
    void *wall_payload;
};

enum ctl_leader_event { CTL_LEADER_NONE = 0, CTL_LEADER_STARTED = 1, CTL_LEADER_LOST = 2 };

struct ctl_leader;

/* Returns NULL on OOM or invalid timings (lease > renew deadline > 1.2 ×
 * retry is required, as in client-go). */
struct ctl_leader *ctl_leader_new(const struct ctl_leader_cfg *cfg);
void ctl_leader_free(struct ctl_leader *e);

/* One acquire-or-renew attempt. Returns what changed: STARTED when we just
 * became leader, LOST when we were leader and could not renew within the
 * renew deadline, else NONE. */
enum ctl_leader_event ctl_leader_tick(struct ctl_leader *e);
int ctl_leader_is_leader(const struct ctl_leader *e);
/* The holder we last saw ("" when none). Borrowed until the next tick. */
const char *ctl_leader_observed_holder(const struct ctl_leader *e);
/* Gives the lease up if we hold it: holderIdentity "" and
 * leaseDurationSeconds 1, so a successor takes over at once. 0 or op_err. */
int ctl_leader_release(struct ctl_leader *e);
/* The delay before the next tick: retry_ms, jittered ×[1,1.2] when not
 * leading. */
int64_t ctl_leader_next_delay_ms(const struct ctl_leader *e);

/* ---- runner thread -------------------------------------------------------- */

typedef void (*ctl_leader_cb)(enum ctl_leader_event ev, void *payload);

/* Starts a thread that ticks until ctl_leader_stop; cb runs on that thread
 * for STARTED/LOST. After LOST the thread keeps trying to re-acquire. */
int ctl_leader_run(struct ctl_leader *e, ctl_leader_cb cb, void *payload);
/* Stops the thread (wakes it at once) and, if release, releases the lease. */
void ctl_leader_stop(struct ctl_leader *e, int release);

/* ---- pkg/kube binding ------------------------------------------------------ */

struct ctl_kube_lease;
/* A lease store for coordination.k8s.io/v1 Lease ns/name via client
 * (borrowed). Fills *ops. */
struct ctl_kube_lease *ctl_kube_lease_new(struct kube_client *c, const char *ns, const char *name,
                                          struct ctl_lease_ops *ops);
void ctl_kube_lease_free(struct ctl_kube_lease *l);

/* How many warnings about failed Lease reads/writes were logged (the first
 * failure, a changed error, then at most one a minute while it repeats). */
unsigned long ctl_leader_failure_warnings(const struct ctl_leader *e);

#endif
