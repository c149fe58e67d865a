/* links_stack.h — glue between a decoded stack and pkg/links: the rendered
 * data-source document (pkg/render) plus the resolved backends
 * (probe_targets.h) become a links_input; and `crosslink probe --links`
 * (table / JSON, exit codes). The controller's LinksVerified job uses
 * ctl_links_input_build + links_key + links_run + links_condition. */
#ifndef CROSSLINK_LINKS_STACK_H
#define CROSSLINK_LINKS_STACK_H

#include "conditions.h"
#include "links.h"
#include "prober.h"
#include "probe_targets.h"
#include "spec.h"

struct stack_env;
struct rt_metric;

struct ctl_links_input {
    struct links_input in;   /* ready for links_key / links_run */
    json_t *doc;             /* owned: render_datasources_doc(stack) */
    int skipped[PROBE_NSIGNALS]; /* configured but pre-failed (SecretNotFound): links needing it are not checked */
};

/* Builds li for stack s with the resolved set ps (both borrowed; ps must
 * outlive li). ds_doc: the data-source document the caller already rendered
 * (render_output.datasources; li takes a reference), or NULL to render it.
 * Returns 0 or OP_ENOMEM. */
int ctl_links_input_build(struct ctl_links_input *li, const struct spec_stack *s, const struct ctl_probe_set *ps,
                          json_t *ds_doc);
void ctl_links_input_cleanup(struct ctl_links_input *li);

/* `crosslink probe --links`: verifies the links of every stack, prints a
 * table (STACK when several, LINK, RESULT, MESSAGE) or a JSON array
 * ([{stack, link, id, result, message}]), a note when some links had only
 * NoData, and returns the exit code: 1 if any link is Broken (or a stack
 * could not be checked), else 0. json: 0 = table, 1 = JSON. */
int ctl_probe_links(struct spec_stack **stacks, size_t nstacks, ctl_ref_lookup_fn lookup, void *ud, int json);

/* ---- LinksVerified in the controller (links_step.c) ------------------------ */

/* What the link-check step contributes to one reconcile. */
struct ctl_links_out {
    int present;                 /* 1: cond is part of the status */
    int64_t wait_ms;             /* pending and the round is young: a stack with no
                                    LinksVerified yet waits this much longer for it (its
                                    first status then carries it: one write, not two) */
    int pending;                 /* a first round is running and no earlier report is known:
                                    keep the stored condition (no interim status write) */
    struct ctl_signal_cond cond; /* type LinksVerified; strings point below */
    char reason[40];
    char message[2048];
};

/* How long a stack without a LinksVerified condition (a new one) holds its
 * first status back for a link-check round that is running: a round over
 * healthy backends ends well within it, so the stack's first status write
 * carries Ready and LinksVerified together (one write, not two); a slower
 * round does not delay Ready by more than this. */
#define CTL_LINKS_FIRST_WAIT_MS 2000

/* The step: nothing when env->links is NULL, s is NULL (stalled) or
 * interval_ms <= 0 (verify.interval 0 disables checks); Unknown /
 * BackendsUnreachable when backends_ok is 0 (not every configured backend
 * passed its probe: a link through it cannot be followed); otherwise asks
 * env->links for the report of the stack's links_key (shared, at most
 * interval_ms old) and maps it with links_condition. ps (borrowed) is the
 * probe set the pass already resolved (credentials read once per pass; NULL
 * when that failed, which counts as backends not ok); ds_doc as in
 * ctl_links_input_build. Returns 0 or OP_ENOMEM. */
int ctl_links_step(const struct stack_env *env, const char *key, const struct spec_stack *s, json_t *ds_doc,
                   int64_t interval_ms,
                   int backends_ok, const struct ctl_probe_set *ps, struct ctl_links_out *out);

/* The real `links` port: one links_run per links_key per max age on a pool
 * of nthreads (<= 0 → 4); stacks that asked while it ran are handed to
 * notify when it ends. checks (may be NULL): crosslink_link_checks_total
 * {link,result}, counted once per round. */
struct ctl_linker;
int ctl_linker_new(struct ctl_linker **out, int nthreads, struct rt_metric *checks, ctl_prober_notify_fn notify,
                   void *ud);
/* Stops, waits for running rounds (each within its timeouts), frees. NULL-safe. */
void ctl_linker_free(struct ctl_linker *lk);
/* 0: *rep is fresh (≤ max_age_ms). 1: a round is running (started now or
 * earlier: *running_ms ago); *have_prev = 1 when *rep holds the previous
 * round of the key. Or an op_err. Never blocks on a round. */
int ctl_linker_check(struct ctl_linker *lk, const char *stack_key, const struct links_input *in, int64_t max_age_ms,
                     struct links_report *rep, int *have_prev, int64_t *running_ms);
/* Rounds finished so far. */
void ctl_linker_stats(struct ctl_linker *lk, uint64_t *rounds);

#endif
