/* manager.h — the running operator: an rt_manager (pkg/runtime: informers,
 * work queue, workers, leader election) given the stack and owned-ConfigMap
 * informers (compact transforms, event handlers) and ctl_reconcile; the
 * stack-side state (claims, write memos, per-stack records), prober, Event
 * sender, HTTP endpoints. manager.c wires it, reconcile.c holds the per-stack logic.
 * The struct is shared between those two files only. */
#ifndef CROSSLINK_CTL_MANAGER_H
#define CROSSLINK_CTL_MANAGER_H

#include "runtime.h"
#include "options.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct kube_client;
struct kube_watch;
struct probe_engine;

#define CTL_CONTROLLER_NAME "observabilitystack"
/* The stack informer's transform replaces status by its summary
 * (ctl_status_summary: {"digest": 22 base64url characters of sha256 of the
 * canonical status, "conditions": [{type, status, lastTransitionTime}],
 * "observedGeneration"}) under this key — enough to decide whether a status
 * write is needed and to keep transition times, at a fraction of the
 * memory. */
#define CTL_STATUS_KEY "x-crosslink-status"

/* New reference to the summary of status (NULL/absent status → digest ""). */
json_t *ctl_status_summary(const json_t *status);

/* The informers keep compact objects (pkg/kube stores each as one block of
 * JSON text): a stack keeps some metadata, its spec and its status summary
 * (packed into one string); a ConfigMap keeps name, namespace,
 * resourceVersion and, under CTL_CM_META_KEY, one string: 8-byte hashes of
 * its labels, annotations, data and controller owner reference, then the
 * owner's name. Both forms and their reasons are described in manager.c. */
#define CTL_CM_META_KEY "x-crosslink-meta"

/* sha256 of data, its first nbytes (at most 32) in base64url without
 * padding into out (4 * ceil(nbytes / 3) + 1 bytes); 0 or OP_ENOMEM. */
int ctl_hash_b64url(const void *data, size_t len, size_t nbytes, char *out);

/* The informer transforms (STEAL obj, return a new reference). */
json_t *ctl_stack_transform(json_t *obj, void *payload);
/* {apiVersion, kind, metadata, spec} of a cached stack, for decoding: new
 * reference (NULL on OOM). Works on untransformed objects too. */
json_t *ctl_stack_view(const json_t *cached);
/* The status summary of a cached stack: new reference, never NULL unless
 * OOM (digest "" when the stack has no status). */
json_t *ctl_cached_status_summary(const json_t *cached);
/* 1 when the cached ConfigMap holds what we want: data whose
 * render_data_digest is data_digest, every label and annotation of want_md
 * (a desired metadata object) with the same value (others may be there
 * too), and a controller owner reference to the ObservabilityStack
 * owner_uid with blockOwnerDeletion. The cache keeps hashes of these, not
 * their text. Works on untransformed objects too. */
int ctl_cm_matches(const json_t *cached, const json_t *want_md, const char *data_digest, const char *owner_uid);

/* What the last write of ours left behind, to tell informer lag from drift:
 * if the cache still shows prev_rv, our write is not in it yet.
 *
 * While the write is in flight (pending), its watch event may arrive before
 * the response that names its resourceVersion: the event handlers then only
 * note the event here (seen, seen_rv) and leave it to the writer to decide,
 * once it knows new_rv, whether the event was its own echo (no reconcile) or
 * someone else's change (reconcile again). */
struct ctl_memo {
    char prev_rv[32]; /* "" = the object did not exist in the cache */
    char new_rv[32];
    json_t *status;   /* stacks: summary of the status we wrote (owned); NULL for ConfigMaps */
    int pending;      /* the write has been sent, its response not read yet */
    int seen;         /* watch events delivered while pending */
    char seen_rv[32]; /* resourceVersion of the last of them ("" = DELETED) */
};

/* A link of the claims' two intrusive hash tables (struct ctl_claim_tab,
 * claims_index.c): a claim's own entry in m->claims (hash: op_hash32 of its
 * key) and the entry of each of its tokens in m->claim_toks (hash: the
 * token itself). Lives inside the claim; set while the claim is recorded. */
struct ctl_claim_link {
    struct ctl_claim_link *next; /* the next link of its bucket */
    uint32_t hash;
    uint32_t idx; /* a token's link: its index in ctl_claim.toks (how the
                     index finds the claim holding it); 0 for ctl_claim.self */
};

/* A chained hash table of ctl_claim_links it does not own: a power-of-two
 * bucket array, doubled when it holds more links than buckets. */
struct ctl_claim_tab {
    struct ctl_claim_link **b;
    size_t nb;  /* buckets */
    size_t len; /* links held */
};

/* A stack's claims on its Grafana (uids, names, default, dashboard uid),
 * derived from its spec when the informer delivers it. One allocation
 * (ctl_claim_build, ctl_claim_free): the struct, then its tokens, then its
 * strings, which the uint32_t string fields locate as offsets from the
 * claim's start, 0 for none (read them with ctl_claim_str). */
struct ctl_claim {
    struct ctl_claim_link self; /* its entry in m->claims, keyed by key */
    int64_t created_s;
    int64_t org_id;    /* spec.grafana.orgId: UIDs, names, the default and
                          dashboard UIDs only collide within one org */
    uint32_t key;      /* the stack's "namespace/name" */
    uint32_t ds_sig;   /* "k=v,k=v" of spec.grafana.datasourceLabels */
    uint32_t db_sig;   /* the same of spec.grafana.dashboardLabels */
    uint32_t uids[4];  /* per enum spec_signal; 0: signal not configured */
    uint32_t names[4];
    uint32_t dash_uid; /* 0 when no dashboard */
    int8_t default_sig; /* enum spec_signal claiming the default, -1 none */
    uint16_t ntoks;
    /* 32-bit hashes (in .hash) of what can collide (sig + uid, sig + name,
     * sig + default, dashboard sig + uid), sorted and distinct: claims that
     * share none cannot conflict, which ctl_claim_conflict checks first;
     * their links are the claim's entries in m->claim_toks */
    struct ctl_claim_link toks[];
};

/* Builds the claims of stack key ("namespace/name", copied) from its
 * (cached) object; NULL when its spec does not decode (an invalid stack
 * claims nothing) or memory runs out. Free with ctl_claim_free. */
struct ctl_claim *ctl_claim_build(const char *key, const json_t *obj);
void ctl_claim_free(void *claim);
/* The string at offset off of c (a ctl_claim string field), NULL for 0. */
const char *ctl_claim_str(const struct ctl_claim *c, uint32_t off);
/* Non-zero when a collides with b in one Grafana org — same
 * spec.grafana.orgId and same data-source labels and a shared uid or name
 * (CTL_CLAIM_UID), or both claiming the default data source
 * (CTL_CLAIM_DEFAULT); or same orgId, dashboard labels and dashboard uid
 * (CTL_CLAIM_UID) — with a one-line reason naming a's field and b's stack
 * (ctl_claim_str(b, b->key)) in why. Order-blind: the caller decides who
 * came first. */
#define CTL_CLAIM_UID 1
#define CTL_CLAIM_DEFAULT 2
int ctl_claim_conflict(const struct ctl_claim *a, const struct ctl_claim *b, char *why, size_t n);

/* The claims of every stack (m->claims: key → claim) and their inverted
 * index (m->claim_toks: token → the claims holding it), so that a stack is
 * compared with the few stacks sharing one of its tokens, not all of them
 * (claims_index.c). Both tables link the claims' own ctl_claim_links: a
 * recorded claim costs its one allocation and a bucket share per link.
 * Change them only through these, m->mu held. */
struct ctl_manager;
/* Creates both (empty) tables: 0 or OP_ENOMEM (fini frees what was made). */
int ctl_claims_init(struct ctl_manager *m);
/* Frees every recorded claim and both tables. */
void ctl_claims_fini(struct ctl_manager *m);
/* Records c (STEALS it) as the claims of its stack (ctl_claim_str(c,
 * c->key)), replacing and freeing any earlier ones. Cannot fail: a table
 * that cannot grow keeps its buckets and longer chains. */
void ctl_claims_put(struct ctl_manager *m, struct ctl_claim *c);
/* key's recorded claims (borrowed until they are replaced or taken), NULL
 * when none. */
const struct ctl_claim *ctl_claims_get(const struct ctl_manager *m, const char *key);
/* Removes key's claims from both tables and returns them (the caller frees
 * them with ctl_claim_free), NULL when none. */
struct ctl_claim *ctl_claims_take(struct ctl_manager *m, const char *key);
/* Calls fn(claim, payload) once for every recorded claim other than c
 * itself that shares a token with c (c need not be recorded): every claim
 * ctl_claim_conflict can find colliding with c, in no particular order; its
 * stack is ctl_claim_str(claim, claim->key), and may be c's own when c is
 * not the recorded claim of its stack. A non-zero return stops the walk
 * and is returned. fn must not change the claims. */
int ctl_claims_foreach_sharing(const struct ctl_manager *m, const struct ctl_claim *c,
                               int (*fn)(const struct ctl_claim *claim, void *payload), void *payload);

/* The ConfigMap informer's transform: STEALS obj, returns a new reference
 * holding only name, namespace and resourceVersion and CTL_CM_META_KEY
 * (hashes of the labels and annotations minus last-applied, of the data
 * and of the controller owner reference, and the owner's name; see
 * ctl_cm_matches). Never keeps data. */
json_t *ctl_cm_transform(json_t *obj, void *payload);
/* Writes "ns/name" of a ConfigMap's controller owner of kind
 * ObservabilityStack (group crosslink.dev) and returns 1; 0 when none. */
int ctl_cm_owner_key(const json_t *cm, char *out, size_t n);

/* The informers' event handlers (rt_handler_fn; payload: the manager;
 * obj: the cached form). Stacks: record the generation, re-record the
 * claims and enqueue the stack and every stack whose claims overlap its
 * old or new ones (on m->queue) when the generation changed or the stack
 * is deleted. ConfigMaps: record the name under its controller owner's
 * record and enqueue the owner, unless the event is the echo of our own
 * apply. Both take m->mu; public for the unit tests of the records
 * (test_stack_reconcile.c). */
void ctl_on_stack_event(struct rt_wq *q, enum kube_event_type t, const json_t *obj, void *payload);
void ctl_on_cm_event(struct rt_wq *q, enum kube_event_type t, const json_t *obj, void *payload);

/* The ports of the reconcile (struct stack_env): everything it reads from
 * or does to the world goes through these, so unit tests drive it with
 * fakes and no apiserver (tests/unit/test_stack_reconcile.c). manager.c
 * binds them to the informer caches, pkg/kube, the event recorder and the
 * prober. Results are new references; keys are "ns/name". */
struct probe_target;
struct probe_result;
struct links_input;
struct links_report;
struct stack_env {
    /* read cache (compact cached forms; see the transforms above) */
    json_t *(*get_stack)(void *ctx, const char *key);
    json_t *(*get_cm)(void *ctx, const char *key);
    /* NULL-terminated malloc'd names of the ConfigMaps the stack owns, or NULL */
    char **(*owned_cms)(void *ctx, const char *key);
    /* writes: 0 or an op_err (message in op_err_last()) */
    int (*apply_cm)(void *ctx, const char *ns, const json_t *body, json_t **res);
    int (*delete_cm)(void *ctx, const char *ns, const char *name);
    int (*patch_status)(void *ctx, const char *ns, const char *name, const json_t *patch, json_t **res);
    /* emit event (asynchronous; never fails the reconcile) */
    void (*emit_event)(void *ctx, const json_t *regarding, const char *type, const char *reason,
                       const char *note);
    /* probe: resolve a referenced Secret/ConfigMap key (ctl_ref_lookup_fn;
     * one GET of that one object) and check targets as ctl_prober_check
     * does; probe NULL = checks are not available. rv (rvn bytes) receives
     * the object's metadata.resourceVersion whenever the object was read
     * (also when the key is missing), "" otherwise: the refs digest of the
     * data-source file is built from these, so a verify interval's probe
     * reads are also its rotation check (no extra request, no value kept). */
    int (*lookup_ref)(void *ud, int is_configmap, const char *ns, const char *name, const char *key,
                      char **out, char *rv, size_t rvn);
    int (*probe)(void *ctx, const char *key, const struct probe_target *t, size_t n,
                 struct probe_result *results, int *done, int64_t wait_ms);
    /* clock: wall seconds for lastTransitionTime */
    int64_t (*now_s)(void *ctx);
    void *ctx;
    /* link check (LinksVerified, links_step.c); NULL = not available.
     * As ctl_linker_check: 0 = *rep fresh (at most max_age_ms old); 1 = a
     * round is running — key is re-enqueued when it ends — with *have_prev
     * = 1 when *rep holds the previous round's report and *running_ms how
     * long ago the round was asked for; or an op_err. */
    int (*links)(void *ctx, const char *key, const struct links_input *in, int64_t max_age_ms,
                 struct links_report *rep, int *have_prev, int64_t *running_ms);
};

struct ctl_prober;
struct ctl_linker;

/* Layout of a stack's Ready bits (ctl_rec_set_ready): bits 0-1 the state of
 * its Ready condition (CTL_READY_MASK: 1 True, 2 False, 3 Unknown), bit
 * (CONFIGURED_SHIFT + signal) set for each configured signal, bit
 * (UP_SHIFT + signal) for each one whose last check passed. */
#define CTL_READY_MASK 3u
#define CTL_READY_CONFIGURED_SHIFT 4
#define CTL_READY_UP_SHIFT 8
/* bit (WARN_INSECURE_SHIFT + signal): its tls.insecureSkipVerify Warning was
 * emitted for the current generation; WARN_DOLLAR_SHIFT: the same for a
 * credential containing '$' */
#define CTL_READY_WARN_INSECURE_SHIFT 12
#define CTL_READY_WARN_DOLLAR_SHIFT 16
/* bit WARN_DEFAULT_SHIFT: the "default data source claimed twice" Warning
 * was emitted for the current generation */
#define CTL_READY_WARN_DEFAULT_SHIFT 20
/* bits GEN_SHIFT..63: the low 32 bits of the generation these bits were
 * recorded for, so a second status write for one generation (the cache
 * not showing the first one's observedGeneration yet) does not count as a
 * new generation and re-send its Warnings. */
#define CTL_READY_GEN_SHIFT 32

struct ctl_manager {
    struct ctl_options *opts; /* borrowed */
    struct kube_client *client;
    struct rt_metrics *metrics;
    struct rt_manager *rt;   /* informers, queue, workers, leader election */
    int h_stack, h_cm;       /* its informer handles */
    struct rt_wq *queue;     /* rt_manager_queue(rt), borrowed */
    struct probe_engine *probes;
    struct ctl_prober *prober; /* runs the probes reconciles do not wait for */
    struct rt_recorder *recorder; /* Events, sent by their own thread */
    struct ctl_linker *linker; /* runs the link checks (LinksVerified) */

    pthread_mutex_t mu;        /* guards the maps below */
    struct op_map *stacks;     /* stack key -> its record (ctl_rec_*, stack_recs.c) */
    struct ctl_claim_tab claims;     /* stack key -> its struct ctl_claim (owned; ctl_claims_*) */
    struct ctl_claim_tab claim_toks; /* token -> the ctl_claim.toks links holding it */
    struct op_map *memo;      /* "cm/ns/name" or "st/ns/name" -> struct ctl_memo * */

    struct rt_stop *stop; /* tripped by signals and by leadership loss */

    struct rt_http *http_metrics, *http_health;

    /* metric handles */
    struct rt_metric *m_stacks, *m_probe_time, *m_backend_up; /* the manager has the others */
    struct rt_metric *m_link_checks;
    struct rt_metric *m_api_limit; /* crosslink_api_in_flight_limit */
    struct rt_metric *m_events_dropped; /* crosslink_events_dropped_total */

    int64_t default_verify_ms;

    struct stack_env env; /* the reconcile's ports (bound by ctl_stack_env_kube) */
};

/* What the manager remembers of each stack besides its claims and write
 * memos: one record per stack key in m->stacks (stack_recs.c), holding
 *  - seen: (generation + 1) * 2 + (1 when deleting) as the stack informer
 *    last delivered it (ctl_on_stack_event's GenerationChanged predicate);
 *  - ready: the CTL_READY_* bits of the last reconcile that recorded them
 *    (step_record; the metrics collector reads them);
 *  - refs: the refs digest last rendered (resolve_refs), kept when a
 *    referenced object could not be read for a transient reason, so an
 *    apiserver hiccup does not rewrite the data-source file twice;
 *  - owned: the names of the ConfigMaps whose controller owner the stack is
 *    (the ConfigMap informer's events; env.owned_cms, stale deletion).
 * A record exists while any part is set: a ConfigMap's event can make it
 * before its stack's, and a deleted stack keeps it (seen, ready and refs
 * cleared by its DELETED event and forget_stack) until the garbage
 * collector's deletions of its ConfigMaps have emptied owned. One op_map
 * entry and one block per stack, plus the digest when there is one.
 * Change them only through these, m->mu held. A part that cannot be set
 * for lack of memory stays as it was. */
/* Creates the (empty) map: 0 or OP_ENOMEM. */
int ctl_recs_init(struct ctl_manager *m);
/* Frees every record and the map. */
void ctl_recs_fini(struct ctl_manager *m);
/* Sets key's seen generation (0 clears it) and returns the previous one
 * (0 when none). */
uintptr_t ctl_rec_set_seen(struct ctl_manager *m, const char *key, uintptr_t seen);
/* Sets key's Ready bits (0 clears them) and returns the previous ones (0
 * when none). */
uintptr_t ctl_rec_set_ready(struct ctl_manager *m, const char *key, uintptr_t bits);
/* key's refs digest (borrowed until it changes), NULL when none. */
const char *ctl_rec_refs(const struct ctl_manager *m, const char *key);
/* Sets key's refs digest to a copy of digest; NULL clears it. */
void ctl_rec_set_refs(struct ctl_manager *m, const char *key, const char *digest);
/* Adds (present) or removes (!present) cm_name among the ConfigMaps key
 * owns; adding a name held already, or removing one not held, does
 * nothing. */
void ctl_rec_own(struct ctl_manager *m, const char *key, const char *cm_name, int present);
/* Copies of the names of the ConfigMaps key owns, in the order they came
 * (malloc'd NULL-terminated array of malloc'd strings; free with
 * ctl_strv_free), NULL when none or out of memory. */
char **ctl_rec_owned(const struct ctl_manager *m, const char *key);
/* Calls fn(key, ready bits, payload) for every stack with Ready bits; a
 * non-zero return stops the walk and is returned. fn must not change the
 * records. */
int ctl_recs_foreach_ready(const struct ctl_manager *m,
                           int (*fn)(const char *key, uintptr_t ready, void *payload), void *payload);

/* Binds m->env to the running manager: caches, pkg/kube, events, prober. */
void ctl_stack_env_kube(struct ctl_manager *m);

/* Reconciles one stack key ("ns/name"). Returns 0 with *requeue_after_ms
 * (0 = none) or a negative op_err (the caller backs off). */
int ctl_reconcile(struct ctl_manager *m, const char *key, int64_t *requeue_after_ms);

/* Helpers shared with reconcile.c (manager.c). */
json_t *ctl_mgr_get_stack(struct ctl_manager *m, const char *key); /* new ref or NULL */
json_t *ctl_mgr_get_cm(struct ctl_manager *m, const char *key);    /* new ref or NULL */
void ctl_mgr_emit_event(struct ctl_manager *m, const json_t *regarding, const char *type,
                        const char *reason, const char *note);
/* Names of ConfigMaps whose controller owner is the stack key (malloc'd
 * NULL-terminated array of malloc'd strings; NULL when none). */
char **ctl_mgr_owned_cms(struct ctl_manager *m, const char *key);
void ctl_strv_free(char **v);

/* The whole program: returns the process exit code. */
int ctl_manager_main(struct ctl_options *opts);

#endif
