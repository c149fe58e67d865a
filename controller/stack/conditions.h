/* conditions.h — PURE computation of an ObservabilityStack's status
 * conditions (design.md §4, kstatus rules of kubernetes.md §4.2): Ready,
 * ProvisioningApplied, <Signal>Reachable per configured signal, Stalled,
 * Reconciling. lastTransitionTime is kept unless the status flips; the
 * clock is an input. Also reports the transitions (for Events). */
#ifndef CROSSLINK_CTL_CONDITIONS_H
#define CROSSLINK_CTL_CONDITIONS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum ctl_cond_status { CTL_COND_UNKNOWN = 0, CTL_COND_TRUE = 1, CTL_COND_FALSE = 2 };

/* "True" / "False" / "Unknown". */
const char *ctl_cond_status_str(enum ctl_cond_status s);

#define CTL_COND_READY "Ready"
#define CTL_COND_APPLIED "ProvisioningApplied"
#define CTL_COND_STALLED "Stalled"
#define CTL_COND_RECONCILING "Reconciling"
/* Informational (docs/links.md): does not take part in Ready. */
#define CTL_COND_LINKS "LinksVerified"

#define CTL_REASON_INVALID_SPEC "InvalidSpec"
#define CTL_REASON_UID_CONFLICT "UIDConflict"
#define CTL_REASON_PROBE_PENDING "ProbePending"
#define CTL_REASON_APPLY_FAILED "ApplyFailed"
#define CTL_REASON_APPLIED "Applied"
#define CTL_REASON_ALL_REACHABLE "AllSignalsReachable"
#define CTL_REASON_UNREACHABLE "SignalsUnreachable"
#define CTL_REASON_AS_EXPECTED "AsExpected"
#define CTL_REASON_COMPLETE "ReconcileComplete"
/* LinksVerified reasons besides links_condition()'s */
#define CTL_REASON_LINKS_BACKENDS "BackendsUnreachable"
#define CTL_REASON_LINKS_PENDING "LinksCheckFailed"
/* Warning Event reasons (not condition reasons) */
#define CTL_REASON_INSECURE_SKIP_VERIFY "InsecureSkipVerify"
#define CTL_REASON_CREDENTIAL_DOLLAR "CredentialContainsDollar"
/* Warning Event: two stacks feeding one Grafana org both claim the default
 * data source (the later one is Stalled=True UIDConflict) */
#define CTL_REASON_DEFAULT_CONFLICT "DefaultDataSourceConflict"

/* One configured signal's probe outcome. Strings borrowed. */
struct ctl_signal_cond {
    const char *type;    /* "MetricsReachable", … */
    enum ctl_cond_status status;
    const char *reason;  /* CamelCase, e.g. HealthCheckPassed, ProbePending */
    const char *message;
};

enum ctl_apply_state {
    CTL_APPLY_OK = 0,      /* the owned ConfigMaps carry the rendered digest */
    CTL_APPLY_FAILED = 1,  /* an apply/delete failed; will retry */
};

struct ctl_cond_input {
    int64_t generation;
    /* Stalled: stall_reason non-NULL (InvalidSpec / UIDConflict) means the
     * spec must be edited; nothing else is evaluated then. */
    const char *stall_reason;
    const char *stall_message;
    enum ctl_apply_state apply;
    const char *apply_message; /* applied: what matches; failed: the error */
    const struct ctl_signal_cond *signals;
    size_t n_signals;
    /* LinksVerified (NULL = not checked: no condition); never part of Ready */
    const struct ctl_signal_cond *links;
    int64_t now_s; /* wall clock for new lastTransitionTime values */
};

/* A condition whose status changed. On a stack's first status (no previous
 * condition of that type) only Ready, an abnormal-true Stalled /
 * Reconciling and a False LinksVerified count, so a new stack yields one or two Events, not eight.
 * event_type is "Normal" when the new status is the healthy one, else
 * "Warning". Strings point into the returned conditions array. */
struct ctl_cond_transition {
    const char *type;
    const char *status;
    const char *reason;
    const char *message;
    const char *event_type;
};

#define CTL_MAX_CONDITIONS 10

/* Computes the new status.conditions from prev (borrowed array, may be NULL)
 * and in. *out: new reference to the array. transitions (may be NULL) gets
 * up to CTL_MAX_CONDITIONS entries, borrowed from *out; *n_transitions
 * their count. Returns 0 or OP_ENOMEM. */
int ctl_conditions_compute(const json_t *prev, const struct ctl_cond_input *in, json_t **out,
                           struct ctl_cond_transition *transitions, size_t *n_transitions);

/* Borrowed condition object of the given type in an array, or NULL. */
const json_t *ctl_condition_find(const json_t *conditions, const char *type);

#endif
