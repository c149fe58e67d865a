/* test_stack_reconcile.c — the ObservabilityStack reconcile
 * (controller/stack/reconcile.c) driven through fake ports (struct
 * stack_env), without an apiserver: a small in-memory world holds the full
 * stack and ConfigMap objects, serves the compact cached forms the real
 * informers would (ctl_stack_transform / ctl_cm_transform), counts writes
 * and Events, and lets each case break one thing. One case per branch of
 * the status logic: new stack, unchanged (no write), changed spec, drifted
 * owned ConfigMap, conflict with an earlier stack, probe failure, missing
 * Secret, apply error, and the status race with our own write (the cache
 * has not caught up with it yet). Mutants tried: always writing the status
 * (unchanged, drift and race cases go red); ignoring the own-write memo (the
 * race case goes red). LinksVerified through the fake `links` port: True,
 * False naming the broken link, Unknown (NoData only), unchanged → no
 * write, a running round → no interim write, unreachable backends → not
 * checked, interval 0 → no condition. Mutants tried for those: not passing
 * the condition to ctl_conditions_compute (True/False/Unknown go red);
 * writing an interim status while the first round runs (pending case red).
 * The per-stack records (stack_recs.c) through the informer handlers
 * (ctl_on_stack_event, ctl_on_cm_event) and the reconcile, with owned_cms
 * bound to them as in the running manager: ConfigMaps seen before their
 * stack, a deleted stack keeping its record until its ConfigMaps are gone,
 * a stale ConfigMap deleted through the recorded names (mutants at each). */
#include "conditions.h"
#include "kube.h"
#include "links_stack.h"
#include "manager.h"
#include "probe.h"
#include "render.h"
#include "test.h"
#include "xy.h"

#include <pthread.h>

/* ---- the fake world ------------------------------------------------------- */

#define MAXOBJ 16

struct world {
    pthread_mutex_t mu;
    json_t *stacks[MAXOBJ]; /* full objects */
    json_t *cms[MAXOBJ];
    int rv;
    int applies, deletes, status_writes, events;
    char last_event[64];
    int apply_fails;   /* apply_cm fails with OP_EUNAVAILABLE */
    int probe_fails;   /* every backend answers 503 */
    int secret_missing;/* the referenced Secret does not exist */
    int status_lag;    /* the cache does not show status writes yet */
    int links_mode;    /* 0: report fresh; 1: round running, nothing earlier; 2: running, links_rep earlier */
    int links_calls;
    int64_t links_running_ms; /* how long ago the running round was asked for */
    int64_t last_requeue_ms;  /* requeue_after of the last reconcile() */
    struct links_report links_rep;
    char last_note[1200];
    int secret_unavailable; /* reading the Secret fails with a transient error */
    char secret_rv[16];     /* metadata.resourceVersion of the referenced Secret */
    char secret_value[32];
    int ref_gets;           /* lookup_ref calls (one GET each) */
    char notes[8][512];     /* the last Event notes */
    char types[8][16];
    char reasons[8][64];
};

static struct world W;

static json_t *find(json_t **v, const char *key)
{
    for (int i = 0; i < MAXOBJ; i++) {
        char k[300];
        if (!v[i])
            continue;
        snprintf(k, sizeof(k), "%s/%s", kube_obj_namespace(v[i]), kube_obj_name(v[i]));
        if (!strcmp(k, key))
            return v[i];
    }
    return NULL;
}

static void put(json_t **v, json_t *obj /* steals */)
{
    char key[300];
    snprintf(key, sizeof(key), "%s/%s", kube_obj_namespace(obj), kube_obj_name(obj));
    for (int i = 0; i < MAXOBJ; i++) {
        if (v[i] && v[i] == find(v, key)) {
            json_decref(v[i]);
            v[i] = obj;
            return;
        }
    }
    for (int i = 0; i < MAXOBJ; i++)
        if (!v[i]) {
            v[i] = obj;
            return;
        }
}

static void bump_rv(json_t *obj)
{
    char rv[16];
    snprintf(rv, sizeof(rv), "%d", ++W.rv);
    json_object_set_new(json_object_get(obj, "metadata"), "resourceVersion", json_string(rv));
}

static json_t *f_get_stack(void *ctx, const char *key)
{
    json_t *o;
    (void)ctx;
    pthread_mutex_lock(&W.mu);
    o = find(W.stacks, key);
    o = o ? ctl_stack_transform(json_deep_copy(o), NULL) : NULL;
    pthread_mutex_unlock(&W.mu);
    return o;
}

static json_t *f_get_cm(void *ctx, const char *key)
{
    json_t *o;
    (void)ctx;
    pthread_mutex_lock(&W.mu);
    o = find(W.cms, key);
    o = o ? ctl_cm_transform(json_deep_copy(o), NULL) : NULL;
    pthread_mutex_unlock(&W.mu);
    return o;
}

static char **f_owned_cms(void *ctx, const char *key)
{
    char **v = calloc(MAXOBJ + 1, sizeof(*v));
    size_t n = 0;
    (void)ctx;
    pthread_mutex_lock(&W.mu);
    for (int i = 0; v && i < MAXOBJ; i++) {
        char owner[300];
        if (W.cms[i] && ctl_cm_owner_key(W.cms[i], owner, sizeof(owner)) && !strcmp(owner, key))
            v[n++] = strdup(kube_obj_name(W.cms[i]));
    }
    pthread_mutex_unlock(&W.mu);
    if (v && !n) {
        free(v);
        return NULL;
    }
    return v;
}

static int f_apply_cm(void *ctx, const char *ns, const json_t *body, json_t **res)
{
    json_t *o;
    (void)ctx;
    (void)ns;
    pthread_mutex_lock(&W.mu);
    W.applies++;
    if (W.apply_fails) {
        pthread_mutex_unlock(&W.mu);
        return op_err_set(OP_EUNAVAILABLE, "apply: the apiserver is unavailable");
    }
    o = json_deep_copy(body);
    bump_rv(o);
    *res = json_incref(o);
    put(W.cms, o);
    pthread_mutex_unlock(&W.mu);
    return OP_OK;
}

static int f_delete_cm(void *ctx, const char *ns, const char *name)
{
    char key[300];
    (void)ctx;
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    pthread_mutex_lock(&W.mu);
    W.deletes++;
    for (int i = 0; i < MAXOBJ; i++)
        if (W.cms[i] && W.cms[i] == find(W.cms, key)) {
            json_decref(W.cms[i]);
            W.cms[i] = NULL;
        }
    pthread_mutex_unlock(&W.mu);
    return OP_OK;
}

static int f_patch_status(void *ctx, const char *ns, const char *name, const json_t *patch, json_t **res)
{
    char key[300];
    json_t *st, *o, *copy;
    const char *k;
    json_t *v;
    (void)ctx;
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    pthread_mutex_lock(&W.mu);
    W.status_writes++;
    o = find(W.stacks, key);
    copy = json_deep_copy(o);
    st = json_object();
    json_object_foreach((json_t *)json_object_get(patch, "status"), k, v) if (!json_is_null(v))
        json_object_set(st, k, v);
    json_object_set_new(copy, "status", st);
    bump_rv(copy);
    *res = json_incref(copy);
    if (W.status_lag)
        json_decref(copy); /* the informer has not delivered it yet */
    else
        put(W.stacks, copy);
    pthread_mutex_unlock(&W.mu);
    return OP_OK;
}

static void f_emit_event(void *ctx, const json_t *regarding, const char *type, const char *reason,
                         const char *note)
{
    (void)ctx;
    (void)regarding;
    pthread_mutex_lock(&W.mu);
    snprintf(W.notes[W.events % 8], sizeof(W.notes[0]), "%s", note);
    snprintf(W.types[W.events % 8], sizeof(W.types[0]), "%s", type);
    snprintf(W.reasons[W.events % 8], sizeof(W.reasons[0]), "%s", reason);
    W.events++;
    snprintf(W.last_event, sizeof(W.last_event), "%s", reason);
    snprintf(W.last_note, sizeof(W.last_note), "%s", note);
    pthread_mutex_unlock(&W.mu);
}

static int f_lookup_ref(void *ud, int is_configmap, const char *ns, const char *name, const char *key,
                        char **out, char *rv, size_t rvn)
{
    (void)ud;
    (void)ns;
    (void)key;
    rv[0] = '\0';
    pthread_mutex_lock(&W.mu);
    W.ref_gets++;
    pthread_mutex_unlock(&W.mu);
    if (!is_configmap && W.secret_unavailable)
        return op_err_set(OP_EUNAVAILABLE, "secret %s: the apiserver is unavailable", name);
    if (!is_configmap && W.secret_missing)
        return op_err_set(OP_ENOTFOUND, "secret %s not found", name);
    snprintf(rv, rvn, "%s", is_configmap ? "c1" : W.secret_rv);
    *out = strdup(is_configmap ? "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" : W.secret_value);
    return *out ? OP_OK : OP_ENOMEM;
}

static int f_probe(void *ctx, const char *key, const struct probe_target *t, size_t n,
                   struct probe_result *results, int *done, int64_t wait_ms)
{
    (void)ctx;
    (void)key;
    (void)wait_ms;
    for (size_t i = 0; i < n; i++) {
        memset(&results[i], 0, sizeof(results[i]));
        if (W.probe_fails)
            probe_result_set(&results[i], 0, PROBE_REASON_STATUS, "%s: HTTP 503", t[i].url);
        else
            probe_result_set(&results[i], 1, PROBE_REASON_OK, "%s: ready", t[i].url);
        done[i] = 1;
    }
    return 0;
}

static int f_links(void *ctx, const char *key, const struct links_input *in, int64_t max_age_ms,
                   struct links_report *rep, int *have_prev, int64_t *running_ms)
{
    (void)ctx;
    (void)key;
    (void)max_age_ms;
    W.links_calls++;
    *have_prev = 0;
    *running_ms = W.links_mode ? W.links_running_ms : 0;
    if (!in->datasources || !in->targets[PROBE_METRICS])
        return op_err_set(OP_EINVALID, "input not built");
    if (W.links_mode == 0) {
        *rep = W.links_rep;
        return 0;
    }
    if (W.links_mode == 2) {
        *rep = W.links_rep;
        *have_prev = 1;
    }
    return 1;
}

/* links_rep = the given states for metrics→traces, traces→logs */
static void links_set(int a, int b, const char *msg_b)
{
    memset(&W.links_rep, 0, sizeof(W.links_rep));
    W.links_rep.n = 2;
    W.links_rep.checks[0].link = LINK_METRICS_TRACES;
    W.links_rep.checks[0].state = a;
    snprintf(W.links_rep.checks[0].message, sizeof(W.links_rep.checks[0].message), "metrics→traces: ok");
    W.links_rep.checks[1].link = LINK_TRACES_LOGS;
    W.links_rep.checks[1].state = b;
    snprintf(W.links_rep.checks[1].message, sizeof(W.links_rep.checks[1].message), "%s", msg_b);
}

static int64_t f_now_s(void *ctx)
{
    (void)ctx;
    return 1767225600; /* 2026-01-01T00:00:00Z */
}

/* ---- harness -------------------------------------------------------------- */

static struct ctl_manager M;

static void memo_free(void *p)
{
    struct ctl_memo *mo = p;
    if (mo)
        json_decref(mo->status);
    free(mo);
}

static void world_reset(void)
{
    for (int i = 0; i < MAXOBJ; i++) {
        json_decref(W.stacks[i]);
        json_decref(W.cms[i]);
    }
    pthread_mutex_destroy(&W.mu);
    memset(&W, 0, sizeof(W));
    pthread_mutex_init(&W.mu, NULL);
    snprintf(W.secret_rv, sizeof(W.secret_rv), "s1");
    snprintf(W.secret_value, sizeof(W.secret_value), "pw-0123456789");
    ctl_claims_fini(&M);
    ctl_recs_fini(&M);
    op_map_free(M.memo);
    rt_wq_free(M.queue);
    if (M.env.ctx)
        pthread_mutex_destroy(&M.mu);
    memset(&M, 0, sizeof(M));
    pthread_mutex_init(&M.mu, NULL);
    (void)ctl_claims_init(&M);
    (void)ctl_recs_init(&M);
    M.memo = op_map_new(memo_free);
    M.queue = rt_wq_new(NULL); /* what the informer handlers enqueue */
    M.default_verify_ms = 60000;
    M.env = (struct stack_env){f_get_stack, f_get_cm, f_owned_cms, f_apply_cm, f_delete_cm, f_patch_status,
                               f_emit_event, f_lookup_ref, f_probe, f_now_s, &M, f_links};
    links_set(LINKS_VERIFIED, LINKS_VERIFIED, "traces→logs: ok");
}

/* Records key's claims built from o, as the informer handler does (replacing
 * earlier ones; an invalid spec claims nothing). */
static void record_claims(const char *key, const json_t *o)
{
    struct ctl_claim *c = ctl_claim_build(key, o);
    if (c)
        ctl_claims_put(&M, c);
}

/* Adds examples/stack.yaml as ns/name with the given creation time and the
 * claims the informer handler would record. */
static void add_stack(const char *name, const char *created, const char *uid)
{
    json_t *docs = NULL, *o;
    if (xy_load_file(&docs, "examples/stack.yaml") < 0)
        return;
    o = json_incref(json_array_get(docs, 0));
    json_decref(docs);
    {
        json_t *md = json_pack("{s:s, s:s, s:i, s:s}", "name", name, "uid", uid, "generation", 1,
                               "creationTimestamp", created);
        json_object_update(json_object_get(o, "metadata"), md);
        json_decref(md);
    }
    bump_rv(o);
    {
        char key[300];
        snprintf(key, sizeof(key), "observability/%s", name);
        record_claims(key, o);
    }
    put(W.stacks, o);
}

static json_t *stack_full(const char *name)
{
    char key[300];
    snprintf(key, sizeof(key), "observability/%s", name);
    return find(W.stacks, key);
}

/* status.conditions[type].reason/status of the stored stack */
static const char *cond(const char *name, const char *type, const char *field)
{
    json_t *c = (json_t *)ctl_condition_find(json_object_get(json_object_get(stack_full(name), "status"), "conditions"), type);
    return json_string_value(json_object_get(c, field));
}

static int writes(void)
{
    return W.applies + W.deletes + W.status_writes;
}

static int reconcile(const char *name)
{
    char key[300];
    int64_t after = 0;
    int rc;
    snprintf(key, sizeof(key), "observability/%s", name);
    rc = ctl_reconcile(&M, key, &after);
    W.last_requeue_ms = after;
    return rc;
}

/* ---- cases ---------------------------------------------------------------- */

TEST(new_stack_applies_two_configmaps_and_writes_status_once)
{
    world_reset();
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(W.applies, 2);
    ASSERT_EQ(W.status_writes, 1);
    ASSERT_STR_EQ(cond("prod", "Ready", "status"), "True");
    ASSERT_STR_EQ(cond("prod", "ProvisioningApplied", "reason"), CTL_REASON_APPLIED);
    ASSERT_EQ(json_integer_value(json_object_get(json_object_get(stack_full("prod"), "status"), "observedGeneration")), 1);
    ASSERT_TRUE(W.events >= 1); /* condition transitions */
}

TEST(unchanged_stack_costs_no_write)
{
    int before, ev;
    world_reset();
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    ASSERT_OK(reconcile("prod"));
    before = writes();
    ev = W.events;
    ASSERT_OK(reconcile("prod"));
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(writes(), before);
    ASSERT_EQ(W.events, ev);
}

TEST(changed_spec_reapplies_and_reports_the_new_generation)
{
    json_t *o;
    world_reset();
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    ASSERT_OK(reconcile("prod"));
    W.applies = W.status_writes = 0;
    o = stack_full("prod");
    json_object_set_new(json_object_get(json_object_get(o, "spec"), "logs"), "maxLines", json_integer(500));
    json_object_set_new(json_object_get(o, "metadata"), "generation", json_integer(2));
    bump_rv(o);
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(W.applies, 1); /* the data-source ConfigMap only; the dashboard is unchanged */
    ASSERT_EQ(W.status_writes, 1);
    ASSERT_EQ(json_integer_value(json_object_get(json_object_get(stack_full("prod"), "status"), "observedGeneration")), 2);
}

TEST(drifted_owned_configmap_is_reapplied_without_a_status_write)
{
    world_reset();
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    ASSERT_OK(reconcile("prod"));
    W.applies = W.status_writes = 0;
    for (int i = 0; i < MAXOBJ; i++) /* someone edits the data of one ConfigMap */
        if (W.cms[i]) {
            json_t *data = json_object_get(W.cms[i], "data");
            const char *k = json_object_iter_key(json_object_iter(data));
            json_object_set_new(data, k, json_string("tampered"));
            bump_rv(W.cms[i]);
            break;
        }
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(W.applies, 1);
    ASSERT_EQ(W.status_writes, 0);
}

TEST(conflict_with_an_earlier_stack_stalls_the_later_one)
{
    world_reset();
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    add_stack("copy", "2026-01-02T00:00:00Z", "u2"); /* same uids, same Grafana */
    ASSERT_OK(reconcile("prod"));
    W.applies = W.status_writes = 0;
    ASSERT_OK(reconcile("copy"));
    ASSERT_EQ(W.applies, 0); /* the loser provisions nothing */
    ASSERT_EQ(W.status_writes, 1);
    ASSERT_STR_EQ(cond("copy", "Stalled", "reason"), CTL_REASON_UID_CONFLICT);
    ASSERT_STR_EQ(cond("copy", "Ready", "status"), "False");
    ASSERT_STR_EQ(cond("prod", "Ready", "status"), "True");
}

TEST(probe_failure_reports_the_signal_unreachable)
{
    world_reset();
    W.probe_fails = 1;
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(W.applies, 2); /* provisioning does not wait for backends */
    ASSERT_STR_EQ(cond("prod", "MetricsReachable", "status"), "False");
    ASSERT_STR_EQ(cond("prod", "MetricsReachable", "reason"), PROBE_REASON_STATUS);
    ASSERT_STR_EQ(cond("prod", "Ready", "status"), "False");
    ASSERT_STR_EQ(cond("prod", "Ready", "reason"), CTL_REASON_UNREACHABLE);
}

TEST(missing_secret_is_secret_not_found)
{
    world_reset();
    W.secret_missing = 1;
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    ASSERT_OK(reconcile("prod"));
    ASSERT_STR_EQ(cond("prod", "MetricsReachable", "status"), "False");
    ASSERT_STR_EQ(cond("prod", "MetricsReachable", "reason"), PROBE_REASON_SECRET);
    ASSERT_STR_EQ(cond("prod", "TracesReachable", "status"), "True");
}

TEST(apply_error_reports_and_fails_the_reconcile)
{
    world_reset();
    W.apply_fails = 1;
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    ASSERT_TRUE(reconcile("prod") < 0); /* the worker backs off */
    ASSERT_EQ(W.status_writes, 1);
    ASSERT_STR_EQ(cond("prod", "ProvisioningApplied", "status"), "False");
    ASSERT_STR_EQ(cond("prod", "ProvisioningApplied", "reason"), CTL_REASON_APPLY_FAILED);
    ASSERT_STR_EQ(cond("prod", "Ready", "status"), "False");
}

TEST(status_race_with_our_own_write_writes_once)
{
    world_reset();
    W.status_lag = 1; /* the cache still shows the stack without our status */
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(W.status_writes, 1);
    ASSERT_OK(reconcile("prod")); /* e.g. the prober re-enqueued it meanwhile */
    ASSERT_EQ(W.status_writes, 1);
}

/* ---- LinksVerified --------------------------------------------------------- */

TEST(links_verified_true_and_ready_unaffected)
{
    world_reset();
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(W.links_calls, 1);
    ASSERT_EQ(W.status_writes, 1);
    ASSERT_STR_EQ(cond("prod", CTL_COND_LINKS, "status"), "True");
    ASSERT_STR_EQ(cond("prod", CTL_COND_LINKS, "reason"), "LinksVerified");
    ASSERT_STR_EQ(cond("prod", "Ready", "status"), "True");
}

TEST(links_broken_is_false_naming_the_link_with_an_event_and_ready_stays_true)
{
    const char *broken = "traces→logs: no Loki stream has service_name=\"checkout\"; streams of that window have app=\"checkout\"";
    world_reset();
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    ASSERT_OK(reconcile("prod"));
    links_set(LINKS_VERIFIED, LINKS_BROKEN, broken);
    W.status_writes = 0;
    W.events = 0;
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(W.status_writes, 1);
    ASSERT_STR_EQ(cond("prod", CTL_COND_LINKS, "status"), "False");
    ASSERT_STR_EQ(cond("prod", CTL_COND_LINKS, "reason"), "LinksBroken");
    ASSERT_TRUE(strstr(cond("prod", CTL_COND_LINKS, "message"), "traces→logs: no Loki stream has service_name") != NULL);
    ASSERT_TRUE(strstr(cond("prod", CTL_COND_LINKS, "message"), "metrics→traces") == NULL);
    ASSERT_STR_EQ(cond("prod", "Ready", "status"), "True"); /* informational only */
    ASSERT_EQ(W.events, 1);
    ASSERT_STR_EQ(W.last_event, "LinksBroken");
    ASSERT_TRUE(strstr(W.last_note, "LinksVerified=False: 1 of 2 links broken: traces→logs: no Loki stream") != NULL);
}

TEST(links_nodata_only_is_unknown)
{
    world_reset();
    links_set(LINKS_NODATA, LINKS_VERIFIED, "traces→logs: ok");
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    ASSERT_OK(reconcile("prod"));
    ASSERT_STR_EQ(cond("prod", CTL_COND_LINKS, "status"), "Unknown");
    ASSERT_STR_EQ(cond("prod", CTL_COND_LINKS, "reason"), "LinksNoData");
}

TEST(links_unchanged_report_costs_no_write)
{
    int ev;
    world_reset();
    links_set(LINKS_VERIFIED, LINKS_BROKEN, "traces→logs: trace abc not found");
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(W.status_writes, 1);
    ev = W.events;
    ASSERT_OK(reconcile("prod"));
    W.links_mode = 2; /* the next round runs; the previous report stands */
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(W.status_writes, 1);
    ASSERT_EQ(W.events, ev);
    ASSERT_EQ(W.links_calls, 3);
}

TEST(links_pending_first_round_writes_no_interim_status)
{
    world_reset();
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    ASSERT_OK(reconcile("prod"));
    ASSERT_STR_EQ(cond("prod", CTL_COND_LINKS, "status"), "True");
    /* a controller restart: no earlier report known, a round running */
    W.links_mode = 1;
    links_set(LINKS_VERIFIED, LINKS_BROKEN, "traces→logs: broken");
    W.status_writes = 0;
    { /* even though something else changed (a new generation) */
        json_t *o = stack_full("prod");
        json_object_set_new(json_object_get(json_object_get(o, "spec"), "logs"), "maxLines", json_integer(500));
        json_object_set_new(json_object_get(o, "metadata"), "generation", json_integer(2));
        bump_rv(o);
    }
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(W.status_writes, 0);
    ASSERT_EQ(W.applies, 3); /* provisioning did not wait */
    ASSERT_STR_EQ(cond("prod", CTL_COND_LINKS, "status"), "True");
    /* the round lands (the port re-enqueues the stack): one write */
    W.links_mode = 0;
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(W.status_writes, 1);
    ASSERT_STR_EQ(cond("prod", CTL_COND_LINKS, "status"), "False");
}

TEST(links_round_landing_soon_gives_a_new_stack_one_status_write)
{
    world_reset();
    W.links_mode = 1; /* the first round of the key has just been asked for */
    W.links_running_ms = 500;
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(W.applies, 2); /* provisioning did not wait */
    ASSERT_EQ(W.status_writes, 0);
    /* requeued for the rest of the budget (the round's end comes first) */
    ASSERT_EQ(W.last_requeue_ms, CTL_LINKS_FIRST_WAIT_MS - 500);
    W.links_mode = 0; /* the round lands and re-enqueues the stack */
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(W.status_writes, 1);
    ASSERT_STR_EQ(cond("prod", "Ready", "status"), "True");
    ASSERT_STR_EQ(cond("prod", CTL_COND_LINKS, "status"), "True");
}

TEST(links_pending_on_a_new_stack_delays_ready_at_most_the_budget)
{
    world_reset();
    W.links_mode = 1;
    W.links_running_ms = CTL_LINKS_FIRST_WAIT_MS; /* a slow round */
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(W.status_writes, 1);
    ASSERT_STR_EQ(cond("prod", "Ready", "status"), "True");
    ASSERT_TRUE(cond("prod", CTL_COND_LINKS, "status") == NULL);
    ASSERT_TRUE(W.last_requeue_ms > CTL_LINKS_FIRST_WAIT_MS); /* the verify interval */
}

TEST(links_not_checked_while_a_backend_is_unreachable)
{
    world_reset();
    W.probe_fails = 1;
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(W.links_calls, 0);
    ASSERT_STR_EQ(cond("prod", CTL_COND_LINKS, "status"), "Unknown");
    ASSERT_STR_EQ(cond("prod", CTL_COND_LINKS, "reason"), CTL_REASON_LINKS_BACKENDS);
}

TEST(links_interval_zero_disables_the_check)
{
    world_reset();
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    ASSERT_OK(reconcile("prod"));
    ASSERT_STR_EQ(cond("prod", CTL_COND_LINKS, "status"), "True");
    {
        json_t *o = stack_full("prod"), *spec = json_object_get(o, "spec");
        json_t *v = json_object_get(spec, "verify");
        if (!v) {
            json_object_set_new(spec, "verify", json_object());
            v = json_object_get(spec, "verify");
        }
        json_object_set_new(v, "interval", json_string("0s"));
        json_object_set_new(json_object_get(o, "metadata"), "generation", json_integer(2));
        bump_rv(o);
    }
    W.links_calls = 0;
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(W.links_calls, 0);
    ASSERT_TRUE(cond("prod", CTL_COND_LINKS, "status") == NULL);
}

/* Issue 12 point 2. Mutants tried: not emitting the DefaultDataSourceConflict
 * Event in step_record turns the first event asserts red; ignoring the
 * once-per-generation bit (emitting on every status write) turns the
 * "unchanged generation" assert red. */
TEST(default_claimed_twice_stalls_the_later_stack_with_a_warning_event)
{
    json_t *o;
    int ev, found = 0;
    world_reset();
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    add_stack("copy", "2026-01-02T00:00:00Z", "u2");
    /* copy: its own UIDs and names, but both claim the default */
    for (int k = 0; k < 2; k++) {
        o = stack_full(k ? "copy" : "prod");
        json_object_set_new(json_object_get(json_object_get(o, "spec"), "metrics"), "default", json_true());
        if (k) {
            const char *sig[] = {"metrics", "traces", "logs", "profiles"};
            for (int i = 0; i < 4; i++) {
                json_t *b = json_object_get(json_object_get(o, "spec"), sig[i]);
                char v[32];
                snprintf(v, sizeof(v), "copy-%s", sig[i]);
                json_object_set_new(b, "uid", json_string(v));
                json_object_set_new(b, "name", json_string(v));
            }
            json_object_set_new(json_object_get(o, "spec"), "dashboards", json_pack("{s:b}", "serviceOverview", 0));
        }
        bump_rv(o);
        record_claims(k ? "observability/copy" : "observability/prod", o);
    }
    ASSERT_OK(reconcile("prod"));
    ASSERT_STR_EQ(cond("prod", "Ready", "status"), "True");
    ev = W.events;
    ASSERT_OK(reconcile("copy"));
    ASSERT_STR_EQ(cond("copy", "Stalled", "status"), "True");
    ASSERT_STR_EQ(cond("copy", "Stalled", "reason"), CTL_REASON_UID_CONFLICT);
    ASSERT_CONTAINS(cond("copy", "Stalled", "message"), "spec.metrics.default");
    ASSERT_CONTAINS(cond("copy", "Stalled", "message"), "observability/prod");
    for (int i = ev; i < W.events; i++)
        if (!strcmp(W.reasons[i % 8], CTL_REASON_DEFAULT_CONFLICT)) {
            found++;
            ASSERT_STR_EQ(W.types[i % 8], "Warning");
            ASSERT_CONTAINS(W.notes[i % 8], "spec.metrics.default");
            ASSERT_CONTAINS(W.notes[i % 8], "observability/prod");
        }
    ASSERT_EQ(found, 1);
    /* same generation, status rewritten (e.g. the message of the other
     * stack changes): no second Warning */
    ev = W.events;
    ASSERT_OK(reconcile("copy"));
    ASSERT_EQ(W.events, ev);
    {
        json_t *st = json_object_get(stack_full("copy"), "status");
        json_object_set_new(st, "observedGeneration", json_integer(1));
        json_t *c = (json_t *)ctl_condition_find(json_object_get(st, "conditions"), "Stalled");
        json_object_set_new(c, "message", json_string("edited by someone"));
        bump_rv(stack_full("copy"));
    }
    ASSERT_OK(reconcile("copy"));
    for (int i = ev; i < W.events; i++)
        ASSERT_TRUE(strcmp(W.reasons[i % 8], CTL_REASON_DEFAULT_CONFLICT) != 0);
    /* a new generation still claiming it: the Warning once more */
    o = stack_full("copy");
    json_object_set_new(json_object_get(o, "metadata"), "generation", json_integer(2));
    bump_rv(o);
    ev = W.events;
    found = 0;
    ASSERT_OK(reconcile("copy"));
    for (int i = ev; i < W.events; i++)
        found += !strcmp(W.reasons[i % 8], CTL_REASON_DEFAULT_CONFLICT);
    ASSERT_EQ(found, 1);
}

/* Gives the stored stack name its own data-source uids ("<name>-<signal>";
 * metrics_uid for metrics when not NULL), as an edit would, and records its
 * new claims as the informer handler does (ctl_claims_put replaces them). */
static void own_uids(const char *name, const char *metrics_uid)
{
    static const char *const sig[] = {"metrics", "traces", "logs", "profiles"};
    json_t *o = stack_full(name);
    char key[300];
    for (int i = 0; i < 4; i++) {
        char v[64];
        snprintf(v, sizeof(v), "%s-%s", name, sig[i]);
        json_object_set_new(json_object_get(json_object_get(o, "spec"), sig[i]), "uid",
                            json_string(i == 0 && metrics_uid ? metrics_uid : v));
    }
    json_object_set_new(json_object_get(o, "metadata"), "generation", json_integer(2));
    bump_rv(o);
    snprintf(key, sizeof(key), "observability/%s", name);
    record_claims(key, o);
}

/* Issue 16: the claims go through an inverted index (claims_index.c). Of
 * several earlier stacks that block one, the earliest is named — whatever
 * order the index walk meets them in (mutant: stopping at the first one
 * met names copy, red); a deleted stack (its claims taken, as the informer
 * handler does) and an edited one (claims replaced) block no more
 * (mutant: ctl_claims_take not unlinking, red). */
TEST(conflict_names_the_earliest_blocker_and_lifts_when_it_is_deleted_or_edited)
{
    world_reset();
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    add_stack("copy", "2026-01-02T00:00:00Z", "u2");
    add_stack("third", "2026-01-03T00:00:00Z", "u3"); /* all three: the same uids */
    ASSERT_OK(reconcile("third"));
    ASSERT_STR_EQ(cond("third", "Stalled", "reason"), CTL_REASON_UID_CONFLICT);
    ASSERT_CONTAINS(cond("third", "Stalled", "message"), "observability/prod");
    ASSERT_OK(reconcile("copy"));
    ASSERT_CONTAINS(cond("copy", "Stalled", "message"), "observability/prod");
    /* prod deleted: copy is the earliest now, and is no longer blocked */
    ctl_claim_free(ctl_claims_take(&M, "observability/prod"));
    ASSERT_OK(reconcile("copy"));
    ASSERT_STR_EQ(cond("copy", "Ready", "status"), "True");
    ASSERT_OK(reconcile("third"));
    ASSERT_STR_EQ(cond("third", "Stalled", "reason"), CTL_REASON_UID_CONFLICT);
    ASSERT_CONTAINS(cond("third", "Stalled", "message"), "observability/copy");
    /* copy edited to uids of its own: third is free */
    own_uids("copy", NULL);
    ASSERT_OK(reconcile("third"));
    ASSERT_STR_EQ(cond("third", "Ready", "status"), "True");
    ASSERT_STR_EQ(cond("third", "Stalled", "status"), "False");
}

static int count_met(const struct ctl_claim *claim, void *payload)
{
    (void)claim;
    ++*(int *)payload;
    return 0;
}

/* Two stacks whose metrics uids differ but hash to one claim token (see
 * test_ctl_claims.c): the index walk meets the other stack, the exact check
 * finds nothing, neither stalls (mutant: ctl_claim_conflict trusting a
 * shared token alone, red). */
TEST(token_collision_between_different_uids_stalls_nothing)
{
    int n = 0;
    world_reset();
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    add_stack("copy", "2026-01-02T00:00:00Z", "u2");
    own_uids("prod", "uid-3w10tmdbb5");
    own_uids("copy", "uid-ciqdteregy");
    (void)ctl_claims_foreach_sharing(&M, ctl_claims_get(&M, "observability/copy"), count_met, &n);
    ASSERT_EQ(n, 1); /* the precondition: the two tokens collide */
    ASSERT_OK(reconcile("prod"));
    ASSERT_OK(reconcile("copy"));
    ASSERT_STR_EQ(cond("prod", "Ready", "status"), "True");
    ASSERT_STR_EQ(cond("copy", "Ready", "status"), "True");
    ASSERT_STR_EQ(cond("copy", "Stalled", "status"), "False");
}

/* The refs-digest line atop the data-source file of the stored ConfigMaps
 * ("" when none), and whether needle appears in any ConfigMap's data. */
static const char *ds_digest_line(char *buf, size_t n)
{
    buf[0] = '\0';
    for (int i = 0; i < MAXOBJ; i++) {
        const char *k;
        json_t *v;
        if (!W.cms[i])
            continue;
        json_object_foreach(json_object_get(W.cms[i], "data"), k, v)
        {
            const char *t = json_string_value(v);
            if (t && !strncmp(t, "# " RENDER_REFS_COMMENT ": ", strlen("# " RENDER_REFS_COMMENT ": "))) {
                size_t l = strcspn(t, "\n");
                snprintf(buf, n, "%.*s", (int)l, t);
            }
        }
    }
    return buf;
}

static int cms_contain(const char *needle)
{
    for (int i = 0; i < MAXOBJ; i++) {
        char *text;
        int hit;
        if (!W.cms[i])
            continue;
        text = json_dumps(W.cms[i], JSON_COMPACT);
        hit = text && strstr(text, needle) != NULL;
        free(text);
        if (hit)
            return 1;
    }
    return 0;
}

/* Issue 12 point 8. Mutants tried: rendering without the refs digest
 * (.refs_digest = NULL in step_provision_and_probe) turns the rotation and
 * missing-Secret cases red; ignoring rec.unsure in resolve_refs turns the
 * transient-error case red (the file is rewritten). */
TEST(rotated_secret_changes_the_refs_digest_and_nothing_else_does)
{
    char d1[256], d2[256], d3[256];
    world_reset();
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(W.applies, 2);
    /* mimir-auth (Secret) and internal-ca (ConfigMap): one GET each, the
     * probe's own reads, no extra request for the digest */
    ASSERT_EQ(W.ref_gets, 2);
    ds_digest_line(d1, sizeof(d1));
    ASSERT_TRUE(!strncmp(d1, "# crosslink.dev/refs-digest: sha256:", 36));
    /* unchanged Secret: same digest, no write */
    W.applies = W.status_writes = 0;
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(writes(), 0);
    ASSERT_STR_EQ(ds_digest_line(d2, sizeof(d2)), d1);
    /* rotation: a new resourceVersion (the value also changes) rewrites the
     * data-source file only, within this one pass (= one verify interval) */
    snprintf(W.secret_rv, sizeof(W.secret_rv), "s2");
    snprintf(W.secret_value, sizeof(W.secret_value), "pw-rotated-9876");
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(W.applies, 1);
    ds_digest_line(d3, sizeof(d3));
    ASSERT_TRUE(strcmp(d3, d1) != 0);
    ASSERT_TRUE(!strncmp(d3, "# crosslink.dev/refs-digest: sha256:", 36));
    /* never a value: not in any ConfigMap, nor in any Event note */
    ASSERT_TRUE(!cms_contain("pw-0123456789"));
    ASSERT_TRUE(!cms_contain("pw-rotated-9876"));
    for (int i = 0; i < 8; i++) {
        ASSERT_TRUE(strstr(W.notes[i], "pw-0123456789") == NULL);
        ASSERT_TRUE(strstr(W.notes[i], "pw-rotated") == NULL);
    }
}

TEST(transient_secret_read_error_keeps_the_refs_digest)
{
    char d1[256], d2[256];
    world_reset();
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    ASSERT_OK(reconcile("prod"));
    ds_digest_line(d1, sizeof(d1));
    W.applies = 0;
    W.secret_unavailable = 1; /* e.g. an apiserver hiccup */
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(W.applies, 0);
    ASSERT_STR_EQ(ds_digest_line(d2, sizeof(d2)), d1);
}

TEST(missing_secret_gives_a_digest_that_changes_when_it_appears)
{
    char d1[256], d2[256];
    world_reset();
    W.secret_missing = 1;
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    ASSERT_OK(reconcile("prod"));
    ds_digest_line(d1, sizeof(d1));
    ASSERT_TRUE(d1[0] != '\0');
    W.secret_missing = 0; /* created: the sidecar must rewrite the file */
    W.applies = 0;
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(W.applies, 1);
    ASSERT_TRUE(strcmp(ds_digest_line(d2, sizeof(d2)), d1) != 0);
}

/* An owned ConfigMap the render no longer produces (e.g. the dashboard
 * provider that once shipped in the sidecar ConfigMap) is deleted; one
 * owned by another stack, or by nobody, is left alone. */
static void put_cm_owned_by(const char *name, const char *owner, const char *owner_uid)
{
    json_t *cm = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata",
                           "name", name, "namespace", "observability", "data", "k", "v");
    if (owner)
        json_object_set_new(json_object_get(cm, "metadata"), "ownerReferences",
                            json_pack("[{s:s, s:s, s:s, s:s, s:b, s:b}]", "apiVersion", "crosslink.dev/v1alpha1",
                                      "kind", "ObservabilityStack", "name", owner, "uid", owner_uid, "controller", 1,
                                      "blockOwnerDeletion", 1));
    bump_rv(cm);
    put(W.cms, cm);
}

static int cm_exists(const char *name)
{
    char key[300];
    snprintf(key, sizeof(key), "observability/%s", name);
    return find(W.cms, key) != NULL;
}

TEST(stale_owned_configmap_is_deleted_and_others_are_kept)
{
    world_reset();
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    add_stack("dev", "2026-01-02T00:00:00Z", "u2");
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(W.deletes, 0);
    put_cm_owned_by("prod-dashboard-provider", "prod", "u1");
    put_cm_owned_by("dev-dashboard-provider", "dev", "u2");
    put_cm_owned_by("unowned", NULL, NULL);
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(W.deletes, 1);
    ASSERT_TRUE(!cm_exists("prod-dashboard-provider"));
    ASSERT_TRUE(cm_exists("dev-dashboard-provider"));
    ASSERT_TRUE(cm_exists("unowned"));
    /* the rendered ones stay: prod still owns exactly its two */
    {
        char **owned = f_owned_cms(NULL, "observability/prod");
        int n = 0;
        for (char **o = owned; o && *o; o++, n++)
            free(*o);
        free(owned);
        ASSERT_EQ(n, RENDER_CM_COUNT);
    }
    ASSERT_OK(reconcile("prod")); /* nothing left to delete */
    ASSERT_EQ(W.deletes, 1);
}

/* A new stack's status written twice for one generation (Ready first, the
 * LinksVerified of a slow first round later) while the cache still shows
 * neither write: the once-per-generation Warning goes out once. */
static int events_with_reason(const char *reason)
{
    int n = 0;
    for (int i = 0; i < W.events && i < 8; i++)
        if (!strcmp(W.reasons[i], reason))
            n++;
    return n;
}

TEST(once_per_generation_warning_is_not_repeated_by_a_second_status_write)
{
    world_reset();
    snprintf(W.secret_value, sizeof(W.secret_value), "pa$word");
    W.status_lag = 1;
    W.links_mode = 1;
    W.links_running_ms = CTL_LINKS_FIRST_WAIT_MS; /* a slow first round */
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(W.status_writes, 1);
    ASSERT_EQ(events_with_reason(CTL_REASON_CREDENTIAL_DOLLAR), 1);
    /* the cache moves on (a label edit) without showing our first write, so
     * the memo of that write no longer applies */
    bump_rv(stack_full("prod"));
    W.links_mode = 0; /* the round lands */
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(W.status_writes, 2);
    ASSERT_EQ(events_with_reason(CTL_REASON_CREDENTIAL_DOLLAR), 1);
}

/* ---- the per-stack records through the informer handlers ------------------- */

/* The records' owned names as the reconcile's owned_cms port, as in the
 * running manager (instead of the world's own view, f_owned_cms). */
static char **r_owned_cms(void *ctx, const char *key)
{
    return ctl_mgr_owned_cms(ctx, key);
}

/* Delivers the cached form of the world's stack or ConfigMap name to its
 * informer handler; DELETED also takes it out of the world. */
static void deliver(int is_cm, const char *name, enum kube_event_type t)
{
    char key[300];
    json_t *o;
    snprintf(key, sizeof(key), "observability/%s", name);
    o = is_cm ? f_get_cm(NULL, key) : f_get_stack(NULL, key);
    if (!o)
        return;
    if (is_cm)
        ctl_on_cm_event(M.queue, t, o, &M);
    else
        ctl_on_stack_event(M.queue, t, o, &M);
    json_decref(o);
    if (t == KUBE_EVENT_DELETED) {
        json_t **v = is_cm ? W.cms : W.stacks;
        for (int i = 0; i < MAXOBJ; i++)
            if (v[i] && v[i] == find(v, key)) {
                json_decref(v[i]);
                v[i] = NULL;
            }
    }
}

static int count_ready_one(const char *key, uintptr_t ready, void *payload)
{
    (void)key;
    (void)ready;
    (*(int *)payload)++;
    return 0;
}

/* Stacks with Ready bits (what crosslink_stacks counts). */
static int n_ready(void)
{
    int n = 0;
    (void)ctl_recs_foreach_ready(&M, count_ready_one, &n);
    return n;
}

/* How many ConfigMaps prod's record holds. */
static int n_owned(void)
{
    char **v = ctl_mgr_owned_cms(&M, "observability/prod");
    int n = 0;
    while (v && v[n])
        n++;
    ctl_strv_free(v);
    return n;
}

/* A restart: the ConfigMap informer delivers prod's ConfigMaps before the
 * stack informer delivers prod. They make its record; the stack's event
 * and the reconcile fill the same record, and the reconcile writes
 * nothing. Mutants tried: ctl_rec_own not making a record (the names are
 * lost: red); a record made by ConfigMaps counted as a stack with a Ready
 * state (red). */
TEST(records_configmaps_seen_before_their_stack_share_its_record)
{
    int before;
    world_reset();
    M.env.owned_cms = r_owned_cms;
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(W.applies, 2);
    ctl_recs_fini(&M); /* the new process remembers nothing */
    ASSERT_OK(ctl_recs_init(&M));
    deliver(1, "prod-grafana-datasources", KUBE_EVENT_ADDED);
    deliver(1, "prod-grafana-dashboards", KUBE_EVENT_ADDED);
    ASSERT_EQ(op_map_len(M.stacks), 1);
    ASSERT_EQ(n_owned(), 2);
    ASSERT_EQ(n_ready(), 0);
    deliver(0, "prod", KUBE_EVENT_ADDED);
    ASSERT_EQ(op_map_len(M.stacks), 1);
    before = writes();
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(writes(), before);
    ASSERT_EQ(op_map_len(M.stacks), 1);
    ASSERT_EQ(n_ready(), 1);
    ASSERT_EQ(n_owned(), 2);
    ASSERT_TRUE(ctl_rec_refs(&M, "observability/prod") != NULL);
}

/* prod is deleted: its DELETED event and the reconcile that finds it gone
 * clear the generation, Ready bits and refs digest, and the record stays
 * for its ConfigMaps until the garbage collector's deletions have taken
 * both; then nothing is left of prod. Mutants tried: rec_tidy ignoring the
 * owned names (the record goes with the stack: red); forget_stack leaving
 * the Ready bits (still counted, record never goes: red); the DELETED
 * event leaving the generation (record never goes: red). */
TEST(records_deleted_stack_keeps_its_record_until_its_configmaps_are_gone)
{
    world_reset();
    M.env.owned_cms = r_owned_cms;
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    deliver(0, "prod", KUBE_EVENT_ADDED);
    ASSERT_OK(reconcile("prod"));
    deliver(1, "prod-grafana-datasources", KUBE_EVENT_ADDED);
    deliver(1, "prod-grafana-dashboards", KUBE_EVENT_ADDED);
    ASSERT_EQ(op_map_len(M.stacks), 1);
    ASSERT_EQ(n_ready(), 1);
    ASSERT_TRUE(ctl_rec_refs(&M, "observability/prod") != NULL);
    deliver(0, "prod", KUBE_EVENT_DELETED);
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(op_map_len(M.stacks), 1);
    ASSERT_EQ(n_owned(), 2);
    ASSERT_EQ(n_ready(), 0);
    ASSERT_TRUE(ctl_rec_refs(&M, "observability/prod") == NULL);
    deliver(1, "prod-grafana-dashboards", KUBE_EVENT_DELETED);
    ASSERT_EQ(op_map_len(M.stacks), 1);
    ASSERT_EQ(n_owned(), 1);
    deliver(1, "prod-grafana-datasources", KUBE_EVENT_DELETED);
    ASSERT_EQ(op_map_len(M.stacks), 0);
    ASSERT_EQ(W.deletes, 0); /* the garbage collector's, not ours */
}

/* A stale ConfigMap of prod's, known from its event, is deleted through
 * the records' owned_cms; its DELETED event takes its name out, and the
 * next pass deletes nothing. Mutant tried: the ConfigMap handler never
 * taking a name out (red, and the deleted-stack case too). */
TEST(records_stale_configmap_is_deleted_through_the_recorded_names)
{
    json_t *last;
    world_reset();
    M.env.owned_cms = r_owned_cms;
    add_stack("prod", "2026-01-01T00:00:00Z", "u1");
    deliver(0, "prod", KUBE_EVENT_ADDED);
    ASSERT_OK(reconcile("prod"));
    deliver(1, "prod-grafana-datasources", KUBE_EVENT_ADDED);
    deliver(1, "prod-grafana-dashboards", KUBE_EVENT_ADDED);
    put_cm_owned_by("prod-dashboard-provider", "prod", "u1");
    deliver(1, "prod-dashboard-provider", KUBE_EVENT_ADDED);
    ASSERT_EQ(n_owned(), 3);
    last = f_get_cm(NULL, "observability/prod-dashboard-provider");
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(W.deletes, 1);
    ASSERT_TRUE(!cm_exists("prod-dashboard-provider"));
    ASSERT_TRUE(cm_exists("prod-grafana-datasources"));
    ASSERT_TRUE(cm_exists("prod-grafana-dashboards"));
    ctl_on_cm_event(M.queue, KUBE_EVENT_DELETED, last, &M);
    json_decref(last);
    ASSERT_EQ(n_owned(), 2);
    ASSERT_OK(reconcile("prod"));
    ASSERT_EQ(W.deletes, 1);
    ASSERT_EQ(op_map_len(M.stacks), 1);
}

TEST_MAIN()
