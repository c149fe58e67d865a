/* reconcile.c — one pass over one ObservabilityStack (design.md §6): read the
 * cached stack → decode/validate → UID/name/default conflicts with stacks
 * sharing a Grafana → render → server-side apply only what differs from the
 * cached (data-stripped) ConfigMaps → delete owned ConfigMaps no longer
 * rendered → probe → conditions → patch /status only when it differs →
 * Events on transitions. Idempotent; an unchanged stack costs no writes.
 * Secret values are read for probes only and never logged or stored. */
#include "manager.h"

#include "conditions.h"
#include "kube.h"
#include "probe.h"
#include "probe_targets.h"
#include "render.h"
#include "spec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG_MAX 4000

/* ---- claims (conflict detection) ---------------------------------------- */


void ctl_claim_free(void *p)
{
    struct ctl_claim *c = p;
    if (!c)
        return;
    free(c->rv);
    free(c->ds_sig);
    free(c->db_sig);
    for (int i = 0; i < 4; i++) {
        free(c->uids[i]);
        free(c->names[i]);
    }
    free(c->dash_uid);
    free(c);
}

/* spec_stack_from_json on the full view of a cached (compacted) stack. */
static int decode_stack(struct spec_stack **out, const json_t *obj, const char *ns, struct spec_errors *errs)
{
    json_t *view = ctl_stack_view(obj);
    int err;
    if (!view)
        return OP_ENOMEM;
    err = spec_stack_from_json(out, view, ns, errs);
    json_decref(view);
    return err;
}

static char *kv_sig(const struct spec_kvs *kv)
{
    struct op_buf b;
    op_buf_init(&b, 16384);
    for (size_t i = 0; i < kv->n; i++)
        if (op_buf_appendf(&b, "%s%s=%s", i ? "," : "", kv->v[i].key, kv->v[i].value) < 0)
            break;
    return op_buf_take(&b);
}

/* NULL when the stack does not decode (an invalid stack claims nothing). */
struct ctl_claim *ctl_claim_build(const json_t *obj)
{
    struct spec_stack *s = NULL;
    struct ctl_claim *c = NULL;
    const char *ts = json_string_value(json_object_get(json_object_get(obj, "metadata"), "creationTimestamp"));

    if (decode_stack(&s, obj, NULL, NULL) < 0)
        return NULL;
    c = calloc(1, sizeof(*c));
    if (!c)
        goto out;
    c->rv = op_strdup(kube_obj_resource_version(obj));
    if (ts)
        (void)op_rfc3339_parse(ts, &c->created_s);
    c->ds_sig = kv_sig(&s->grafana.datasource_labels);
    c->db_sig = kv_sig(&s->grafana.dashboard_labels);
    for (int i = 0; i < SPEC_SIGNAL_COUNT && i < 4; i++) {
        const struct spec_backend *b = spec_stack_backend(s, (enum spec_signal)i);
        if (!b)
            continue;
        c->uids[i] = op_strdup(b->uid);
        c->names[i] = op_strdup(b->name);
        if (b->is_default)
            c->is_default = 1;
    }
    if (s->dashboards.service_overview)
        c->dash_uid = op_strdup(s->dashboards.uid);
out:
    spec_stack_free(s);
    return c;
}

/* Does b (an earlier stack) block a? Fills why. */
int ctl_claim_conflict(const char *key_a, const struct ctl_claim *a, const char *key_b,
                       const struct ctl_claim *b, char *why, size_t n)
{
    (void)key_a;
    if (a->ds_sig && b->ds_sig && !strcmp(a->ds_sig, b->ds_sig)) {
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 4; j++) {
                if (a->uids[i] && b->uids[j] && !strcmp(a->uids[i], b->uids[j])) {
                    snprintf(why, n,
                             "data source uid \"%s\" is already used by stack %s in the same "
                             "Grafana (datasource labels %s)",
                             a->uids[i], key_b, a->ds_sig);
                    return 1;
                }
                if (a->names[i] && b->names[j] && !strcmp(a->names[i], b->names[j])) {
                    snprintf(why, n,
                             "data source name \"%s\" is already used by stack %s in the same "
                             "Grafana (datasource labels %s)",
                             a->names[i], key_b, a->ds_sig);
                    return 1;
                }
            }
        }
        if (a->is_default && b->is_default) {
            snprintf(why, n,
                     "stack %s already provides the default data source of the same Grafana "
                     "(datasource labels %s); two defaults make Grafana abort provisioning",
                     key_b, a->ds_sig);
            return 1;
        }
    }
    if (a->db_sig && b->db_sig && a->dash_uid && b->dash_uid && !strcmp(a->db_sig, b->db_sig) &&
        !strcmp(a->dash_uid, b->dash_uid)) {
        snprintf(why, n,
                 "dashboard uid \"%s\" is already used by stack %s in the same Grafana "
                 "(dashboard labels %s)",
                 a->dash_uid, key_b, a->db_sig);
        return 1;
    }
    return 0;
}

struct conflict_ctx {
    const char *key;
    const struct ctl_claim *me;
    char *why;
    size_t n;
    int found;
};

static int earlier(const char *ka, const struct ctl_claim *a, const char *kb, const struct ctl_claim *b)
{
    if (a->created_s != b->created_s)
        return a->created_s < b->created_s;
    return strcmp(ka, kb) < 0;
}

static int conflict_walk(const char *key, void *val, void *payload)
{
    struct conflict_ctx *x = payload;
    const struct ctl_claim *o = val;
    if (!strcmp(key, x->key) || !earlier(key, o, x->key, x->me))
        return 0;
    if (ctl_claim_conflict(x->key, x->me, key, o, x->why, x->n)) {
        x->found = 1;
        return 1;
    }
    return 0;
}

/* 1 when an earlier stack blocks key (why filled). */
static int find_conflict(struct ctl_manager *m, const char *key, char *why, size_t n)
{
    struct conflict_ctx x = {key, NULL, why, n, 0};
    pthread_mutex_lock(&m->mu);
    x.me = ctl_map_get(m->claims, key);
    if (x.me)
        ctl_map_foreach(m->claims, conflict_walk, &x);
    pthread_mutex_unlock(&m->mu);
    return x.found;
}

/* ---- memo (our own writes vs informer lag) -------------------------------- */

static void memo_put(struct ctl_manager *m, const char *mkey, const char *prev_rv, const char *new_rv,
                     json_t *status /* steals */)
{
    struct ctl_memo *mo;
    /* a write the server did not apply (same resourceVersion) leaves
     * nothing to wait for */
    if (!new_rv || !strcmp(new_rv, prev_rv ? prev_rv : "")) {
        json_decref(status);
        return;
    }
    mo = calloc(1, sizeof(*mo));
    if (!mo) {
        json_decref(status);
        return;
    }
    snprintf(mo->prev_rv, sizeof(mo->prev_rv), "%s", prev_rv ? prev_rv : "");
    snprintf(mo->new_rv, sizeof(mo->new_rv), "%s", new_rv ? new_rv : "");
    mo->status = status;
    pthread_mutex_lock(&m->mu);
    if (ctl_map_put(m->memo, mkey, mo) < 0) {
        json_decref(mo->status);
        free(mo);
    }
    pthread_mutex_unlock(&m->mu);
}

/* Returns 1 when the cache still shows the state before our last write
 * (cur_rv == prev_rv); *status_out then gets the status we wrote (new ref). */
static int memo_lagging(struct ctl_manager *m, const char *mkey, const char *cur_rv, json_t **status_out)
{
    struct ctl_memo *mo;
    int lag = 0;
    pthread_mutex_lock(&m->mu);
    mo = ctl_map_get(m->memo, mkey);
    if (mo) {
        if (!strcmp(mo->prev_rv, cur_rv ? cur_rv : "")) {
            lag = 1;
            if (status_out)
                *status_out = json_incref(mo->status);
        } else {
            ctl_map_del(m->memo, mkey); /* the cache has caught up (or moved on) */
        }
    }
    pthread_mutex_unlock(&m->mu);
    return lag;
}

static void memo_forget_stack(struct ctl_manager *m, const char *key)
{
    char mk[600];
    snprintf(mk, sizeof(mk), "st/%s", key);
    pthread_mutex_lock(&m->mu);
    ctl_map_del(m->memo, mk);
    pthread_mutex_unlock(&m->mu);
}

/* ---- small helpers -------------------------------------------------------- */

static void truncate_msg(char *s)
{
    if (strlen(s) > MSG_MAX)
        memcpy(s + MSG_MAX - 4, "...", 4);
}

/* Drops the trailing ", N ms)" latency from a probe message so an
 * unchanged backend yields an unchanged condition (no status heartbeat). */
static void strip_latency(char *msg)
{
    size_t n = strlen(msg);
    char *p;
    if (n < 6 || strcmp(msg + n - 4, " ms)") != 0)
        return;
    p = msg + n - 4;
    while (p > msg && p[-1] >= '0' && p[-1] <= '9')
        p--;
    if (p - msg >= 2 && p[-1] == ' ' && p[-2] == ',') {
        p[-2] = ')';
        p[-1] = '\0';
    }
}

/* ---- probes --------------------------------------------------------------- */

struct sig_out {
    enum spec_signal sig;
    struct ctl_signal_cond cond;
    char reason[40];
    char message[MSG_MAX + 64];
    int reachable; /* -1 unknown */
    char version[64];
    int insecure;  /* tls.insecureSkipVerify is used */
    int dollar;    /* a credential contains '$' */
};

/* --verify-interval is the default for stacks without spec.verify.interval. */
static int64_t effective_interval_ms(const struct ctl_manager *m, const struct spec_stack *s, const json_t *view)
{
    const json_t *vi = json_object_get(json_object_get(json_object_get(view, "spec"), "verify"), "interval");
    return (s && vi) ? s->verify.interval_ms : m->default_verify_ms;
}

static void probe_signals(struct ctl_manager *m, const struct spec_stack *s, int64_t interval_ms,
                          struct sig_out *outs, size_t n)
{
    struct ctl_probe_set ps;
    struct probe_result r[SPEC_SIGNAL_COUNT];
    char run_err[256] = "";
    double secs = 0;
    int rc = OP_OK;

    memset(&ps, 0, sizeof(ps));
    for (size_t i = 0; i < n; i++)
        outs[i].reachable = -1;
    if (!m->probes) {
        rc = OP_ERR;
        snprintf(run_err, sizeof(run_err), "backend checks are not available");
    } else if ((rc = ctl_probe_set_build(&ps, s, ctl_ref_lookup_kube, m->client)) < 0) {
        snprintf(run_err, sizeof(run_err), "probe failed to run: %s", op_err_last());
    } else {
        int64_t t0 = op_mono_ms();
        for (size_t k = 0; k < ps.n; k++) {
            /* a result as old as the stack's own verify interval is as fresh
             * as periodic re-verification promises; sharing it for that long
             * makes probes per interval equal distinct backends, not stacks */
            ps.targets[k].max_age_ms = interval_ms;
        }
        if ((rc = ctl_probe_set_run(&ps, m->probes, r)) < 0)
            snprintf(run_err, sizeof(run_err), "probe failed to run: %s", op_err_last());
        secs = (double)(op_mono_ms() - t0) / 1000.0;
    }
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < ps.n && ps.targets[k].signal != (int)outs[i].sig)
            k++;
        if (k < ps.n && ps.prefailed[k]) {
            /* a credential or CA that cannot be read: SecretNotFound */
            outs[i].reachable = 0;
            snprintf(outs[i].reason, sizeof(outs[i].reason), "%s", r[k].reason);
            snprintf(outs[i].message, sizeof(outs[i].message), "%s", r[k].message);
        } else if (rc < 0 || k == ps.n) {
            snprintf(outs[i].reason, sizeof(outs[i].reason), "%s", CTL_REASON_PROBE_PENDING);
            snprintf(outs[i].message, sizeof(outs[i].message), "%s", run_err);
        } else {
            outs[i].reachable = r[k].ok ? 1 : 0;
            snprintf(outs[i].reason, sizeof(outs[i].reason), "%s", r[k].reason);
            snprintf(outs[i].message, sizeof(outs[i].message), "%s", r[k].message);
            strip_latency(outs[i].message);
            snprintf(outs[i].version, sizeof(outs[i].version), "%s", r[k].version);
            if (!r[k].cached)
                ctl_metric_observe(m->m_probe_time, (const char *[]){spec_signal_name(outs[i].sig)}, secs);
        }
        /* a '$' in a credential is truncated by Grafana's $__file{} expansion */
        if (k < ps.n && ps.dollar_in_secret[k]) {
            size_t l = strlen(outs[i].message);
            outs[i].dollar = 1;
            snprintf(outs[i].message + l, sizeof(outs[i].message) - l,
                     "; warning: the credential contains '$', which Grafana's $__file{} "
                     "expansion truncates");
        }
        if (k < ps.n && ps.insecure[k]) {
            size_t l = strlen(outs[i].message);
            outs[i].insecure = 1;
            snprintf(outs[i].message + l, sizeof(outs[i].message) - l,
                     "; warning: tls.insecureSkipVerify is set, so the backend's certificate "
                     "is not verified");
        }
        truncate_msg(outs[i].message);
        outs[i].cond.type = probe_condition_type((int)outs[i].sig);
        outs[i].cond.status = outs[i].reachable < 0   ? CTL_COND_UNKNOWN
                              : outs[i].reachable > 0 ? CTL_COND_TRUE
                                                      : CTL_COND_FALSE;
        outs[i].cond.reason = outs[i].reason;
        outs[i].cond.message = outs[i].message;
    }
    ctl_probe_set_cleanup(&ps); /* wipes the credentials */
}

/* ---- ConfigMaps ----------------------------------------------------------- */

/* Does the cached (stripped) ConfigMap match the desired one? */
static int cm_matches(const json_t *cached, const json_t *desired, const char *digest, const char *owner_uid)
{
    const json_t *dmd = json_object_get(desired, "metadata");
    json_t *cmd;
    const char *k;
    json_t *v;
    const json_t *refs;
    size_t i;
    int owner_ok = 0;

    if (!cached)
        return 0;
    {
        const char *have = json_string_value(json_object_get(cached, CTL_DATA_DIGEST_KEY));
        if (!have || strcmp(have, digest) != 0)
            return 0; /* data drifted (or never written by us) */
    }
    if (!(cmd = ctl_cm_meta(cached)))
        return 0;
    json_object_foreach((json_t *)json_object_get(dmd, "labels"), k, v)
    {
        if (!json_equal(json_object_get(json_object_get(cmd, "labels"), k), v))
            goto out;
    }
    json_object_foreach((json_t *)json_object_get(dmd, "annotations"), k, v)
    {
        if (!json_equal(json_object_get(json_object_get(cmd, "annotations"), k), v))
            goto out;
    }
    refs = json_object_get(cmd, "ownerReferences");
    json_array_foreach(refs, i, v)
    {
        const char *uid = json_string_value(json_object_get(v, "uid"));
        if (json_is_true(json_object_get(v, "controller")) && uid && !strcmp(uid, owner_uid) &&
            json_is_true(json_object_get(v, "blockOwnerDeletion")))
            owner_ok = 1;
    }
out:
    json_decref(cmd);
    return owner_ok;
}

/* Applies the rendered ConfigMaps that differ. Returns 0 or op_err with msg. */
static int apply_cms(struct ctl_manager *m, const char *key, const char *ns, const char *name,
                     const char *uid, const struct render_output *ro, int *writes, char *msg, size_t n)
{
    for (size_t i = 0; i < ro->n; i++) {
        const struct render_configmap *cm = &ro->cms[i];
        char ck[600], mk[620];
        json_t *cached, *body = NULL, *res = NULL;
        const char *cur_rv;
        struct kube_status st;
        int err;

        snprintf(ck, sizeof(ck), "%s/%s", ns, cm->name);
        snprintf(mk, sizeof(mk), "cm/%s", ck);
        cached = ctl_mgr_get_cm(m, ck);
        cur_rv = cached ? kube_obj_resource_version(cached) : "";
        if (cm_matches(cached, cm->object, cm->digest, uid)) {
            pthread_mutex_lock(&m->mu);
            ctl_map_del(m->memo, mk); /* the cache shows our write */
            pthread_mutex_unlock(&m->mu);
            json_decref(cached);
            continue;
        }
        if (memo_lagging(m, mk, cur_rv, NULL)) {
            /* our apply is not in the cache yet; its watch event re-enqueues us */
            json_decref(cached);
            continue;
        }
        {
            /* the informer may have delivered our last write (and dropped
             * its memo) since we read the cache: look again */
            json_t *fresh = ctl_mgr_get_cm(m, ck);
            const char *frv = fresh ? kube_obj_resource_version(fresh) : "";
            int same = !strcmp(frv ? frv : "", cur_rv ? cur_rv : "");
            if (!same && cm_matches(fresh, cm->object, cm->digest, uid)) {
                json_decref(fresh);
                json_decref(cached);
                continue;
            }
            json_decref(fresh);
        }
        body = render_configmap_with_owner(cm, name, uid);
        if (!body) {
            json_decref(cached);
            snprintf(msg, n, "out of memory");
            return OP_ENOMEM;
        }
        err = kube_apply(m->client, &KUBE_RES_CONFIGMAP, ns, body, &res, &st);
        json_decref(body);
        if (err < 0) {
            snprintf(msg, n, "apply ConfigMap %s: %s", ck, op_err_last());
            op_log(OP_LOG_WARN, "apply failed", "stack", key, "configmap", cm->name, "error",
                   op_err_last(), NULL);
            json_decref(cached);
            return err;
        }
        (*writes)++;
        op_log(OP_LOG_INFO, cached ? "configmap updated" : "configmap created", "stack", key,
               "configmap", cm->name, "digest", cm->digest, NULL);
        memo_put(m, mk, cur_rv, kube_obj_resource_version(res), NULL);
        json_decref(res);
        json_decref(cached);
    }
    return OP_OK;
}

/* Deletes owned ConfigMaps of key not in keep (NULL = delete all). */
static int delete_stale(struct ctl_manager *m, const char *key, const char *ns, const struct render_output *keep,
                        int *writes, char *msg, size_t n)
{
    char **owned = ctl_mgr_owned_cms(m, key);
    int err = OP_OK;
    for (size_t i = 0; owned && owned[i]; i++) {
        int needed = 0;
        for (size_t j = 0; keep && j < keep->n; j++)
            if (!strcmp(keep->cms[j].name, owned[i]))
                needed = 1;
        if (needed)
            continue;
        struct kube_status st;
        int e = kube_delete(m->client, &KUBE_RES_CONFIGMAP, ns, owned[i], &st);
        if (e < 0 && e != OP_ENOTFOUND) {
            snprintf(msg, n, "delete ConfigMap %s/%s: %s", ns, owned[i], op_err_last());
            err = e;
            break;
        }
        (*writes)++;
        op_log(OP_LOG_INFO, "configmap deleted", "stack", key, "configmap", owned[i], NULL);
    }
    ctl_strv_free(owned);
    return err;
}

/* ---- status --------------------------------------------------------------- */

static json_t *build_status(int64_t gen, json_t *conds /* steals */, const struct render_output *ro,
                            const struct sig_out *sigs, size_t nsig, const struct spec_stack *s)
{
    json_t *st = json_object();
    json_object_set_new(st, "observedGeneration", json_integer(gen));
    json_object_set_new(st, "conditions", conds);
    if (ro) {
        json_t *names = json_array();
        for (size_t i = 0; i < ro->n; i++)
            json_array_append_new(names, json_string(ro->cms[i].name));
        json_object_set_new(st, "configMaps", names);
        json_object_set_new(st, "renderedDigest", json_string(render_stack_digest(ro)));
    }
    if (s && nsig) {
        json_t *arr = json_array();
        for (size_t i = 0; i < nsig; i++) {
            const struct spec_backend *b = spec_stack_backend(s, sigs[i].sig);
            json_t *o = json_pack("{s:s, s:s, s:b}", "signal", spec_signal_name(sigs[i].sig), "uid",
                                  b && b->uid ? b->uid : "", "reachable", sigs[i].reachable > 0);
            if (o && sigs[i].version[0])
                json_object_set_new(o, "version", json_string(sigs[i].version));
            json_array_append_new(arr, o);
        }
        json_object_set_new(st, "signals", arr);
    }
    return st;
}

json_t *ctl_status_summary(const json_t *status)
{
    json_t *sum, *conds = json_array(), *c;
    char *canon = NULL, hex[65];
    size_t i;

    if (!conds)
        return NULL;
    json_array_foreach(json_object_get(status, "conditions"), i, c)
    {
        json_t *x = json_pack("{s:O?, s:O?, s:O?}", "type", json_object_get(c, "type"), "status",
                              json_object_get(c, "status"), "lastTransitionTime",
                              json_object_get(c, "lastTransitionTime"));
        if (x)
            json_array_append_new(conds, x);
    }
    if (status && !json_is_null(status)) {
        canon = json_dumps(status, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        if (!canon) {
            json_decref(conds);
            return NULL;
        }
        op_sha256_hex(canon, strlen(canon), hex);
        free(canon);
    } else {
        hex[0] = '\0';
    }
    sum = json_pack("{s:s, s:o}", "digest", hex, "conditions", conds);
    /* the generation the last status write described: Warning Events are
     * sent once per generation, and a restart must not send them again */
    if (sum && json_is_integer(json_object_get(status, "observedGeneration")))
        json_object_set(sum, "observedGeneration", json_object_get(status, "observedGeneration"));
    return sum;
}

/* ---- Warning Events -------------------------------------------------------- */

/* Sends the Warning Events of the checks just reported in a status write:
 * insecureSkipVerify in use and a credential containing '$' (design.md §3).
 * A warning already sent for this generation (its bit set in prev) is not
 * sent again, so a stack that keeps the setting costs no Event writes; a new
 * generation (prev == 0) sends them once more. Notes name fields, never
 * values. */
static void emit_warnings(struct ctl_manager *m, const json_t *obj, const struct spec_stack *s,
                          const struct sig_out *sigs, size_t nsig, uintptr_t prev)
{
    for (size_t i = 0; s && i < nsig; i++) {
        const char *sn = spec_signal_name(sigs[i].sig);
        char note[512];
        if (sigs[i].insecure && !(prev & ((uintptr_t)1 << (CTL_READY_WARN_INSECURE_SHIFT + sigs[i].sig)))) {
            snprintf(note, sizeof(note),
                     "spec.%s.tls.insecureSkipVerify is true: neither the controller's probes nor "
                     "Grafana verify the %s backend's TLS certificate",
                     sn, sn);
            ctl_mgr_emit_event(m, obj, "Warning", CTL_REASON_INSECURE_SKIP_VERIFY, note);
        }
        if (sigs[i].dollar && !(prev & ((uintptr_t)1 << (CTL_READY_WARN_DOLLAR_SHIFT + sigs[i].sig)))) {
            snprintf(note, sizeof(note),
                     "a credential referenced by spec.%s.auth contains '$'; Grafana re-expands what "
                     "$__file{} reads, so the %s data source would receive it truncated",
                     sn, sn);
            ctl_mgr_emit_event(m, obj, "Warning", CTL_REASON_CREDENTIAL_DOLLAR, note);
        }
    }
}

/* ---- the reconcile -------------------------------------------------------- */

int ctl_reconcile(struct ctl_manager *m, const char *key, int64_t *requeue_after_ms)
{
    json_t *obj = NULL, *conds = NULL, *desired = NULL, *stored = NULL, *patch = NULL, *res = NULL;
    json_t *dsum = NULL, *view = NULL;
    struct spec_stack *s = NULL;
    struct render_output *ro = NULL;
    struct spec_errors errs;
    struct sig_out sigs[SPEC_SIGNAL_COUNT];
    size_t nsig = 0, ntr = 0;
    struct ctl_cond_transition tr[CTL_MAX_CONDITIONS];
    struct ctl_cond_input in;
    char *stall_msg = NULL;
    const char *stall_reason = NULL;
    char apply_msg[MSG_MAX + 64] = "";
    char genbuf[24];
    int err = OP_OK, apply_err = OP_OK, writes = 0, wrote_status = 0, new_gen = 0;
    const char *ns, *name, *uid, *rv;
    int64_t gen;
    char mk[600];

    *requeue_after_ms = 0;
    spec_errors_init(&errs);
    memset(sigs, 0, sizeof(sigs));
    obj = ctl_mgr_get_stack(m, key);
    if (!obj) {
        /* deleted: ownerReferences let the garbage collector remove the
         * ConfigMaps; forget what we remembered */
        memo_forget_stack(m, key);
        pthread_mutex_lock(&m->mu);
        ctl_map_del(m->ready, key);
        pthread_mutex_unlock(&m->mu);
        goto out;
    }
    if (json_object_get(json_object_get(obj, "metadata"), "deletionTimestamp"))
        goto out;
    ns = kube_obj_namespace(obj);
    name = kube_obj_name(obj);
    uid = kube_obj_uid(obj);
    rv = kube_obj_resource_version(obj);
    gen = json_integer_value(json_object_get(json_object_get(obj, "metadata"), "generation"));
    snprintf(genbuf, sizeof(genbuf), "%lld", (long long)gen);
    snprintf(mk, sizeof(mk), "st/%s", key);
    op_log(OP_LOG_DEBUG, "reconcile", "stack", key, "generation", genbuf, "rv", rv ? rv : "", NULL);

    if (!(view = ctl_stack_view(obj))) {
        err = OP_ENOMEM;
        goto out;
    }
    err = spec_stack_from_json(&s, view, ns, &errs);
    if (err == OP_ENOMEM)
        goto out;
    if (err < 0) {
        const json_t *spec = json_object_get(view, "spec");
        err = OP_OK;
        stall_reason = CTL_REASON_INVALID_SPEC;
        stall_msg = spec_errors_format(&errs, "; ");
        if (!stall_msg) {
            err = OP_ENOMEM;
            goto out;
        }
        truncate_msg(stall_msg);
        for (int i = 0; i < SPEC_SIGNAL_COUNT; i++)
            if (json_object_get(spec, spec_signal_name((enum spec_signal)i))) {
                sigs[nsig].sig = (enum spec_signal)i;
                sigs[nsig].cond.type = probe_condition_type(i);
                sigs[nsig].cond.status = CTL_COND_UNKNOWN;
                sigs[nsig].reachable = -1;
                nsig++;
            }
    } else {
        char why[1024];
        for (int i = 0; i < SPEC_SIGNAL_COUNT; i++)
            if (spec_stack_backend(s, (enum spec_signal)i))
                sigs[nsig++].sig = (enum spec_signal)i;
        if (find_conflict(m, key, why, sizeof(why))) {
            stall_reason = CTL_REASON_UID_CONFLICT;
            stall_msg = op_strdup(why);
            for (size_t i = 0; i < nsig; i++) {
                sigs[i].cond.type = probe_condition_type((int)sigs[i].sig);
                sigs[i].reachable = -1;
            }
            /* the loser must not provision anything */
            if ((apply_err = delete_stale(m, key, ns, NULL, &writes, apply_msg, sizeof(apply_msg))) < 0)
                err = apply_err;
        }
    }

    if (!stall_reason) {
        if ((err = render_stack(&ro, s)) < 0) {
            snprintf(apply_msg, sizeof(apply_msg), "render failed: %s", op_err_last());
            apply_err = err;
        } else {
            apply_err = apply_cms(m, key, ns, name, uid, ro, &writes, apply_msg, sizeof(apply_msg));
            if (apply_err == OP_OK)
                apply_err = delete_stale(m, key, ns, ro, &writes, apply_msg, sizeof(apply_msg));
            if (apply_err == OP_OK)
                snprintf(apply_msg, sizeof(apply_msg), "ConfigMaps %s, %s carry digest %s",
                         ro->cms[0].name, ro->cms[1].name, render_stack_digest(ro));
        }
        probe_signals(m, s, effective_interval_ms(m, s, view), sigs, nsig);
    }

    /* conditions, starting from the status we last wrote if the cache lags */
    if (!memo_lagging(m, mk, rv, &stored) || !stored) {
        json_decref(stored);
        stored = ctl_cached_status_summary(obj);
    }
    {
        struct ctl_signal_cond sc[SPEC_SIGNAL_COUNT];
        for (size_t i = 0; i < nsig; i++)
            sc[i] = sigs[i].cond;
        memset(&in, 0, sizeof(in));
        in.generation = gen;
        in.stall_reason = stall_reason;
        in.stall_message = stall_msg;
        in.apply = apply_err == OP_OK ? CTL_APPLY_OK : CTL_APPLY_FAILED;
        in.apply_message = apply_msg;
        in.signals = sc;
        in.n_signals = nsig;
        in.now_s = op_wall_s();
        if ((err = ctl_conditions_compute(json_object_get(stored, "conditions"), &in, &conds, tr, &ntr)) < 0)
            goto out;
    }
    desired = build_status(gen, json_incref(conds), stall_reason ? NULL : ro, sigs, nsig,
                           (stall_reason && !strcmp(stall_reason, CTL_REASON_INVALID_SPEC)) ? NULL : s);
    if (!desired) {
        err = OP_ENOMEM;
        goto out;
    }
    dsum = ctl_status_summary(desired);
    if (!dsum) {
        err = OP_ENOMEM;
        goto out;
    }
    if (!json_equal(json_object_get(dsum, "digest"), json_object_get(stored, "digest"))) {
        /* the informer may have delivered our last status write (and
         * dropped its memo) since we read the cache: look again */
        json_t *fresh = ctl_mgr_get_stack(m, key), *fsum = NULL;
        const char *frv = fresh ? kube_obj_resource_version(fresh) : NULL;
        if (frv && rv && strcmp(frv, rv) != 0)
            fsum = ctl_cached_status_summary(fresh);
        json_decref(fresh);
        if (fsum && json_equal(json_object_get(dsum, "digest"), json_object_get(fsum, "digest"))) {
            json_decref(fsum);
            goto done_status;
        }
        json_decref(fsum);
    }
    if (!json_equal(json_object_get(dsum, "digest"), json_object_get(stored, "digest"))) {
        static const char *optional[] = {"configMaps", "renderedDigest", "signals"};
        json_t *pst = json_deep_copy(desired);
        /* merge patch: fields we no longer report must be nulled */
        for (size_t i = 0; pst && i < sizeof(optional) / sizeof(optional[0]); i++)
            if (!json_object_get(desired, optional[i]))
                json_object_set_new(pst, optional[i], json_null());
        patch = json_pack("{s:o}", "status", pst);
        err = kube_merge_patch_status(m->client, &KUBE_RES_STACK, ns, name, patch, &res, NULL);
        if (err == OP_ENOTFOUND) {
            err = OP_OK;
            goto out;
        }
        if (err < 0) {
            op_log(OP_LOG_WARN, "status update failed", "stack", key, "error", op_err_last(), NULL);
            goto out;
        }
        writes++;
        memo_put(m, mk, rv, kube_obj_resource_version(res), json_incref(dsum));
        op_log(OP_LOG_INFO, "status updated", "stack", key, "generation", genbuf, "rv",
               kube_obj_resource_version(res) ? kube_obj_resource_version(res) : "", NULL);
        for (size_t i = 0; i < ntr; i++) {
            char note[1100];
            snprintf(note, sizeof(note), "%s=%s: %s", tr[i].type, tr[i].status, tr[i].message);
            ctl_mgr_emit_event(m, obj, tr[i].event_type, tr[i].reason, note);
        }
        new_gen = json_integer_value(json_object_get(stored, "observedGeneration")) != gen;
        wrote_status = 1;
    }
done_status:
    {
        const json_t *rc = ctl_condition_find(conds, CTL_COND_READY);
        const char *rs = json_string_value(json_object_get(rc, "status"));
        uintptr_t rv3 = rs && !strcmp(rs, "True") ? 1 : rs && !strcmp(rs, "False") ? 2 : 3, prev;
        /* bits 4..7: configured signals, bits 8..11: reachable ones (for
         * crosslink_backend_up); see CTL_READY_* in manager.h */
        for (size_t i = 0; i < nsig; i++) {
            rv3 |= (uintptr_t)1 << (CTL_READY_CONFIGURED_SHIFT + sigs[i].sig);
            if (sigs[i].reachable > 0)
                rv3 |= (uintptr_t)1 << (CTL_READY_UP_SHIFT + sigs[i].sig);
            if (sigs[i].insecure)
                rv3 |= (uintptr_t)1 << (CTL_READY_WARN_INSECURE_SHIFT + sigs[i].sig);
            if (sigs[i].dollar)
                rv3 |= (uintptr_t)1 << (CTL_READY_WARN_DOLLAR_SHIFT + sigs[i].sig);
        }
        pthread_mutex_lock(&m->mu);
        prev = (uintptr_t)ctl_map_get(m->ready, key);
        (void)ctl_map_put(m->ready, key, (void *)rv3);
        pthread_mutex_unlock(&m->mu);
        if (wrote_status)
            emit_warnings(m, obj, s, sigs, nsig, new_gen ? 0 : prev);
    }
    if (writes) {
        char wb[16];
        snprintf(wb, sizeof(wb), "%d", writes);
        op_log(OP_LOG_DEBUG, "reconciled", "stack", key, "generation", genbuf, "writes", wb, NULL);
    }
    if (apply_err < 0) {
        err = apply_err;
        goto out;
    }
    if (!stall_reason) {
        int64_t iv = effective_interval_ms(m, s, view);
        if (iv > 0)
            *requeue_after_ms = iv;
    }
out:
    json_decref(view);
    json_decref(dsum);
    json_decref(res);
    json_decref(patch);
    json_decref(desired);
    json_decref(stored);
    json_decref(conds);
    free(stall_msg);
    render_output_free(ro);
    spec_stack_free(s);
    spec_errors_cleanup(&errs);
    json_decref(obj);
    return err;
}
