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
#include "links_stack.h"
#include "probe.h"
#include "probe_targets.h"
#include "prober.h"
#include "refs_digest.h"
#include "render.h"
#include "spec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG_MAX 4000

/* ---- claims (conflict detection) ---------------------------------------- */

/* Most tokens a claim holds: a uid and a name per signal, the default, the
 * dashboard uid. */
#define CLAIM_MAX_TOKS (2 * 4 + 2)

void ctl_claim_free(void *p)
{
    free(p); /* one block (ctl_claim_build) */
}

const char *ctl_claim_str(const struct ctl_claim *c, uint32_t off)
{
    return off ? (const char *)c + off : NULL;
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

/* "k=v,k=v" of kv (malloc'd; cut at 16 KiB), NULL when memory runs out. */
static char *kv_sig(const struct spec_kvs *kv)
{
    struct op_buf b;
    op_buf_init(&b, 16384);
    for (size_t i = 0; i < kv->n; i++)
        if (op_buf_appendf(&b, "%s%s=%s", i ? "," : "", kv->v[i].key, kv->v[i].value) < 0)
            break;
    return op_buf_take(&b);
}

/* op_hash32 of kind, sig and value, for ctl_claim.toks. */
static uint32_t claim_tok(char kind, int64_t org, const char *sig, const char *val)
{
    static const unsigned char sep = 0xff; /* no byte of a C string */
    uint32_t h = op_hash32(OP_HASH32_INIT, &kind, 1);
    h = op_hash32(h, &org, sizeof(org));
    h = op_hash32(h, sig, strlen(sig));
    h = op_hash32(h, &sep, 1);
    h = op_hash32(h, val ? val : "", val ? strlen(val) : 0);
    return op_hash32(h, &sep, 1);
}

static int tok_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* A claim's values before ctl_claim_build packs them into one block
 * (borrowed from the decoded spec, the key and the two sigs). */
struct claim_src {
    const char *key, *ds_sig, *db_sig, *uids[4], *names[4], *dash_uid;
    int64_t org_id;
    int default_sig;
};

/* Fills toks with the claim's tokens, one per way it can collide with
 * another claim in ctl_claim_conflict, sorted and without repeats (two of
 * its values may hash alike; the decoder already refuses one uid or name
 * for two signals): returns their count. */
static unsigned claim_tokens(const struct claim_src *s, uint32_t toks[CLAIM_MAX_TOKS])
{
    unsigned n = 0, d = 0;
    for (int i = 0; i < 4; i++) {
        if (s->uids[i])
            toks[n++] = claim_tok('u', s->org_id, s->ds_sig, s->uids[i]);
        if (s->names[i])
            toks[n++] = claim_tok('n', s->org_id, s->ds_sig, s->names[i]);
    }
    if (s->default_sig >= 0)
        toks[n++] = claim_tok('d', s->org_id, s->ds_sig, NULL);
    if (s->dash_uid)
        toks[n++] = claim_tok('b', s->org_id, s->db_sig, s->dash_uid);
    qsort(toks, n, sizeof(toks[0]), tok_cmp);
    for (unsigned i = 0; i < n; i++)
        if (i == 0 || toks[i] != toks[d - 1])
            toks[d++] = toks[i];
    return d;
}

/* Copies str (may be NULL) into c's block at *at and returns its offset,
 * 0 for NULL. */
static uint32_t pack_str(struct ctl_claim *c, size_t *at, const char *str)
{
    size_t off = *at, l;
    if (!str)
        return 0;
    l = strlen(str) + 1;
    memcpy((char *)c + off, str, l);
    *at += l;
    return (uint32_t)off;
}

static size_t str_size(const char *str)
{
    return str ? strlen(str) + 1 : 0;
}

/* 0 when a and b share no token, so cannot conflict. */
static int claims_may_conflict(const struct ctl_claim *a, const struct ctl_claim *b)
{
    unsigned i = 0, j = 0;
    while (i < a->ntoks && j < b->ntoks) {
        if (a->toks[i].hash == b->toks[j].hash)
            return 1;
        if (a->toks[i].hash < b->toks[j].hash)
            i++;
        else
            j++;
    }
    return 0;
}

struct ctl_claim *ctl_claim_build(const char *key, const json_t *obj)
{
    struct spec_stack *s = NULL;
    struct ctl_claim *c = NULL;
    struct claim_src src = {.key = key};
    char *ds_sig = NULL, *db_sig = NULL;
    uint32_t toks[CLAIM_MAX_TOKS];
    unsigned ntoks;
    size_t size, at;
    const char *ts = json_string_value(json_object_get(json_object_get(obj, "metadata"), "creationTimestamp"));

    if (decode_stack(&s, obj, NULL, NULL) < 0)
        return NULL;
    if (!(ds_sig = kv_sig(&s->grafana.datasource_labels)) || !(db_sig = kv_sig(&s->grafana.dashboard_labels)))
        goto out;
    src.ds_sig = ds_sig;
    src.db_sig = db_sig;
    src.org_id = s->grafana.org_id;
    src.default_sig = spec_stack_default_signal(s);
    for (int i = 0; i < SPEC_SIGNAL_COUNT && i < 4; i++) {
        const struct spec_backend *b = spec_stack_backend(s, (enum spec_signal)i);
        if (b) {
            src.uids[i] = b->uid;
            src.names[i] = b->name;
        }
    }
    if (s->dashboards.service_overview)
        src.dash_uid = s->dashboards.uid;
    ntoks = claim_tokens(&src, toks);

    /* one block: the struct, its token links, its strings */
    at = offsetof(struct ctl_claim, toks) + ntoks * sizeof(c->toks[0]);
    size = at + str_size(src.key) + str_size(src.ds_sig) + str_size(src.db_sig) + str_size(src.dash_uid);
    for (int i = 0; i < 4; i++)
        size += str_size(src.uids[i]) + str_size(src.names[i]);
    if (size > UINT32_MAX || !(c = calloc(1, size)))
        goto out;
    if (ts)
        (void)op_rfc3339_parse(ts, &c->created_s);
    c->org_id = src.org_id;
    c->default_sig = (int8_t)src.default_sig;
    c->ntoks = (uint16_t)ntoks;
    for (unsigned i = 0; i < ntoks; i++)
        c->toks[i].hash = toks[i];
    c->key = pack_str(c, &at, src.key);
    c->ds_sig = pack_str(c, &at, src.ds_sig);
    c->db_sig = pack_str(c, &at, src.db_sig);
    for (int i = 0; i < 4; i++) {
        c->uids[i] = pack_str(c, &at, src.uids[i]);
        c->names[i] = pack_str(c, &at, src.names[i]);
    }
    c->dash_uid = pack_str(c, &at, src.dash_uid);
out:
    free(ds_sig);
    free(db_sig);
    spec_stack_free(s);
    return c;
}

/* Does b (an earlier stack) block a? Fills why, naming b's stack. */
int ctl_claim_conflict(const struct ctl_claim *a, const struct ctl_claim *b, char *why, size_t n)
{
    const char *ds_sig = ctl_claim_str(a, a->ds_sig), *db_sig = ctl_claim_str(a, a->db_sig);
    const char *dash_a = ctl_claim_str(a, a->dash_uid), *dash_b = ctl_claim_str(b, b->dash_uid);
    const char *key_b = ctl_claim_str(b, b->key);

    if (!claims_may_conflict(a, b) || a->org_id != b->org_id)
        return 0;
    if (!strcmp(ds_sig, ctl_claim_str(b, b->ds_sig))) {
        for (int i = 0; i < 4; i++) {
            const char *uid = ctl_claim_str(a, a->uids[i]), *name = ctl_claim_str(a, a->names[i]);
            for (int j = 0; j < 4; j++) {
                const char *uid_b = ctl_claim_str(b, b->uids[j]), *name_b = ctl_claim_str(b, b->names[j]);
                if (uid && uid_b && !strcmp(uid, uid_b)) {
                    snprintf(why, n,
                             "spec.%s.uid: data source uid \"%s\" is already used by stack %s in the "
                             "same Grafana org (datasource labels %s, orgId %lld)",
                             spec_signal_name((enum spec_signal)i), uid, key_b, ds_sig, (long long)a->org_id);
                    return CTL_CLAIM_UID;
                }
                if (name && name_b && !strcmp(name, name_b)) {
                    snprintf(why, n,
                             "spec.%s.name: data source name \"%s\" is already used by stack %s in the "
                             "same Grafana org (datasource labels %s, orgId %lld)",
                             spec_signal_name((enum spec_signal)i), name, key_b, ds_sig, (long long)a->org_id);
                    return CTL_CLAIM_UID;
                }
            }
        }
        if (a->default_sig >= 0 && b->default_sig >= 0) {
            snprintf(why, n,
                     "spec.%s.default: stack %s already claims the default data source "
                     "(spec.%s.default) of the same Grafana org (datasource labels %s, orgId %lld); "
                     "two defaults in one org make Grafana refuse all data-source provisioning",
                     spec_signal_name((enum spec_signal)a->default_sig), key_b,
                     spec_signal_name((enum spec_signal)b->default_sig), ds_sig, (long long)a->org_id);
            return CTL_CLAIM_DEFAULT;
        }
    }
    if (dash_a && dash_b && !strcmp(db_sig, ctl_claim_str(b, b->db_sig)) && !strcmp(dash_a, dash_b)) {
        snprintf(why, n,
                 "spec.dashboards.uid: dashboard uid \"%s\" is already used by stack %s in the same "
                 "Grafana org (dashboard labels %s, orgId %lld)",
                 dash_a, key_b, db_sig, (long long)a->org_id);
        return CTL_CLAIM_UID;
    }
    return 0;
}

struct conflict_ctx {
    const struct ctl_claim *me;
    char *why;
    size_t n;
    int found;
    const struct ctl_claim *best; /* the earliest blocking stack so far */
};

static int earlier(const struct ctl_claim *a, const struct ctl_claim *b)
{
    if (a->created_s != b->created_s)
        return a->created_s < b->created_s;
    return strcmp(ctl_claim_str(a, a->key), ctl_claim_str(b, b->key)) < 0;
}

/* Keeps the earliest of the earlier stacks that block x->me (the order of
 * the walk is not the stacks' order, and the stack named must not depend
 * on it); why holds its reason. */
static int conflict_walk(const struct ctl_claim *o, void *payload)
{
    struct conflict_ctx *x = payload;
    int kind;
    if (!strcmp(ctl_claim_str(o, o->key), ctl_claim_str(x->me, x->me->key)) || !earlier(o, x->me) ||
        (x->best && !earlier(o, x->best)))
        return 0;
    if ((kind = ctl_claim_conflict(x->me, o, x->why, x->n))) {
        x->found = kind;
        x->best = o;
    }
    return 0;
}

/* CTL_CLAIM_* when an earlier stack blocks key (why filled, naming the
 * earliest such stack), else 0. Only the stacks sharing a claim token with
 * key are compared (claims_index.c). */
static int find_conflict(struct ctl_manager *m, const char *key, char *why, size_t n)
{
    struct conflict_ctx x = {NULL, why, n, 0, NULL};
    pthread_mutex_lock(&m->mu);
    x.me = ctl_claims_get(m, key);
    if (x.me)
        (void)ctl_claims_foreach_sharing(m, x.me, conflict_walk, &x);
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
    if (op_map_put(m->memo, mkey, mo) < 0) {
        json_decref(mo->status);
        free(mo);
    }
    pthread_mutex_unlock(&m->mu);
}

/* Announces a write to the object behind mkey: until memo_end, informer
 * events for it are noted in the memo instead of deciding on their own, so
 * the echo of the write that overtakes its response causes no reconcile. */
static void memo_begin(struct ctl_manager *m, const char *mkey)
{
    struct ctl_memo *mo = calloc(1, sizeof(*mo));
    if (!mo)
        return; /* then an early echo costs one no-write reconcile */
    mo->pending = 1;
    pthread_mutex_lock(&m->mu);
    if (op_map_put(m->memo, mkey, mo) < 0)
        free(mo);
    pthread_mutex_unlock(&m->mu);
}

/* Ends the write memo_begin announced: new_rv is the resourceVersion of the
 * response (NULL when the write failed; the memo is dropped), prev_rv what
 * the cache showed before it. If the informer delivered our write already,
 * nothing is left to wait for; if it delivered something else meanwhile,
 * returns 1: that change was not ours, reconcile again. Otherwise the memo
 * now waits for the echo, like memo_put. */
static int memo_end(struct ctl_manager *m, const char *mkey, const char *prev_rv, const char *new_rv,
                    json_t *status /* steals */)
{
    struct ctl_memo *mo;
    int again = 0;
    pthread_mutex_lock(&m->mu);
    mo = op_map_get(m->memo, mkey);
    if (!mo || !mo->pending) {
        pthread_mutex_unlock(&m->mu);
        if (new_rv)
            memo_put(m, mkey, prev_rv, new_rv, status); /* memo_begin ran out of memory */
        else
            json_decref(status);
        return 0;
    }
    if (mo->seen) {
        again = !new_rv || strcmp(mo->seen_rv, new_rv) != 0;
        op_map_del(m->memo, mkey);
    } else if (!new_rv || !strcmp(new_rv, prev_rv ? prev_rv : "")) {
        /* failed, or not applied (same resourceVersion): no echo to wait for */
        op_map_del(m->memo, mkey);
    } else {
        snprintf(mo->prev_rv, sizeof(mo->prev_rv), "%s", prev_rv ? prev_rv : "");
        snprintf(mo->new_rv, sizeof(mo->new_rv), "%s", new_rv);
        mo->status = status;
        mo->pending = 0;
        status = NULL;
    }
    pthread_mutex_unlock(&m->mu);
    json_decref(status);
    return again && new_rv;
}

/* Returns 1 when the cache still shows the state before our last write
 * (cur_rv == prev_rv); *status_out then gets the status we wrote (new ref). */
static int memo_lagging(struct ctl_manager *m, const char *mkey, const char *cur_rv, json_t **status_out)
{
    struct ctl_memo *mo;
    int lag = 0;
    pthread_mutex_lock(&m->mu);
    mo = op_map_get(m->memo, mkey);
    if (mo && !mo->pending) {
        if (!strcmp(mo->prev_rv, cur_rv ? cur_rv : "")) {
            lag = 1;
            if (status_out)
                *status_out = json_incref(mo->status);
        } else {
            op_map_del(m->memo, mkey); /* the cache has caught up (or moved on) */
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
    op_map_del(m->memo, mk);
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

/* Appends "; warning: <text>" to a signal's condition message. */
static void add_warning(struct sig_out *o, const char *text)
{
    size_t l = strlen(o->message);
    snprintf(o->message + l, sizeof(o->message) - l, "; warning: %s", text);
}

/* How long a reconcile waits for probes it had to start: a healthy backend
 * answers well within it (then the status is written in this reconcile);
 * a slower one is finished by the prober, which re-enqueues the stack. */
#define PROBE_WAIT_MS 300

/* Fills outs[] from the probe results of ps (built by step_provision's
 * ctl_probe_set_build, which returned build_rc with build_err). Returns how
 * many signals are still being probed (their outs[] say ProbePending); the
 * prober re-enqueues key when they finish. Borrows ps: the pass keeps it
 * for the link check and wipes it in pass_cleanup. */
static int probe_signals(struct ctl_manager *m, const char *key, int64_t interval_ms, struct sig_out *outs,
                         size_t n, const struct ctl_probe_set *ps, int build_rc, const char *build_err)
{
    struct probe_result r[SPEC_SIGNAL_COUNT];
    int waiting[SPEC_SIGNAL_COUNT] = {0};
    char run_err[256] = "";
    int rc = OP_OK, pending = 0;

    for (size_t i = 0; i < n; i++)
        outs[i].reachable = -1;
    if (!m->env.probe) {
        rc = OP_ERR;
        snprintf(run_err, sizeof(run_err), "backend checks are not available");
    } else if ((rc = build_rc) < 0) {
        snprintf(run_err, sizeof(run_err), "probe failed to run: %s", build_err);
    } else {
        struct probe_target run[SPEC_SIGNAL_COUNT] = {0}; /* GCC cannot see nrun bound the reads */
        struct probe_result got[SPEC_SIGNAL_COUNT];
        int done[SPEC_SIGNAL_COUNT];
        size_t idx[SPEC_SIGNAL_COUNT], nrun = 0;
        int64_t wait = PROBE_WAIT_MS;
        for (size_t k = 0; k < ps->n; k++) {
            if (ps->prefailed[k]) {
                r[k] = ps->pre[k];
                continue;
            }
            if (ps->targets[k].timeout_ms > 0 && ps->targets[k].timeout_ms < wait)
                wait = ps->targets[k].timeout_ms;
            idx[nrun] = k;
            run[nrun] = ps->targets[k];
            /* a result as old as the stack's own verify interval is as fresh
             * as periodic re-verification promises; sharing it for that long
             * makes probes per interval equal distinct backends, not stacks */
            run[nrun++].max_age_ms = interval_ms;
        }
        rc = m->env.probe(m->env.ctx, key, run, nrun, got, done, wait);
        if (rc < 0) {
            snprintf(run_err, sizeof(run_err), "probe failed to run: %s", op_err_last());
        } else {
            for (size_t j = 0; j < nrun; j++) {
                if (done[j]) {
                    r[idx[j]] = got[j];
                    if (!got[j].cached)
                        rt_metric_observe(m->m_probe_time,
                                           (const char *[]){spec_signal_name((enum spec_signal)ps->targets[idx[j]].signal)},
                                           (double)got[j].latency_ms / 1000.0);
                } else {
                    waiting[idx[j]] = 1;
                    pending++;
                }
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < ps->n && ps->targets[k].signal != (int)outs[i].sig)
            k++;
        if (k < ps->n && waiting[k]) {
            char red[192];
            probe_url_redact(ps->targets[k].url, red, sizeof(red));
            snprintf(outs[i].reason, sizeof(outs[i].reason), "%s", CTL_REASON_PROBE_PENDING);
            snprintf(outs[i].message, sizeof(outs[i].message), "%s: check in progress", red);
        } else if (k < ps->n && ps->prefailed[k]) {
            /* a credential or CA that cannot be read: SecretNotFound */
            outs[i].reachable = 0;
            snprintf(outs[i].reason, sizeof(outs[i].reason), "%s", r[k].reason);
            snprintf(outs[i].message, sizeof(outs[i].message), "%s", r[k].message);
        } else if (rc < 0 || k == ps->n) {
            snprintf(outs[i].reason, sizeof(outs[i].reason), "%s", CTL_REASON_PROBE_PENDING);
            snprintf(outs[i].message, sizeof(outs[i].message), "%s", run_err);
        } else {
            outs[i].reachable = r[k].ok ? 1 : 0;
            snprintf(outs[i].reason, sizeof(outs[i].reason), "%s", r[k].reason);
            snprintf(outs[i].message, sizeof(outs[i].message), "%s", r[k].message);
            strip_latency(outs[i].message);
            snprintf(outs[i].version, sizeof(outs[i].version), "%s", r[k].version);
        }
        /* a '$' in a credential is truncated by Grafana's $__file{} expansion */
        if (k < ps->n && ps->dollar_in_secret[k]) {
            outs[i].dollar = 1;
            add_warning(&outs[i], "the credential contains '$', which Grafana's $__file{} expansion truncates");
        }
        if (k < ps->n && ps->insecure[k]) {
            outs[i].insecure = 1;
            add_warning(&outs[i], "tls.insecureSkipVerify is set, so the backend's certificate is not verified");
        }
        truncate_msg(outs[i].message);
        outs[i].cond.type = probe_condition_type((int)outs[i].sig);
        outs[i].cond.status = outs[i].reachable < 0   ? CTL_COND_UNKNOWN
                              : outs[i].reachable > 0 ? CTL_COND_TRUE
                                                      : CTL_COND_FALSE;
        outs[i].cond.reason = outs[i].reason;
        outs[i].cond.message = outs[i].message;
    }
    return pending;
}

/* ---- ConfigMaps ----------------------------------------------------------- */

/* Does the cached (compact) ConfigMap match the desired one: same data,
 * our labels and annotations, owned by the stack? */
static int cm_matches(const json_t *cached, const json_t *desired, const char *digest, const char *owner_uid)
{
    return cached && ctl_cm_matches(cached, json_object_get(desired, "metadata"), digest, owner_uid);
}

/* One server-side apply of apply_cms; several run at once. */
struct cm_apply {
    struct ctl_manager *m;
    const char *key, *ns;
    const struct render_configmap *cm;
    json_t *body; /* owned until run */
    char ck[600], mk[620], cur_rv[64];
    int existed;
    int ran;   /* the apply was sent */
    int err;   /* result */
    int again; /* an event that was not our echo arrived meanwhile */
    char msg[768];
};

#define APPLY_STACK (256 * 1024)

static void cm_apply_run(struct cm_apply *a)
{
    json_t *res = NULL;

    a->ran = 1;
    memo_begin(a->m, a->mk);
    a->err = a->m->env.apply_cm(a->m->env.ctx, a->ns, a->body, &res);
    json_decref(a->body);
    a->body = NULL;
    if (a->err < 0) {
        (void)memo_end(a->m, a->mk, a->cur_rv, NULL, NULL); /* the error path requeues with backoff */
        snprintf(a->msg, sizeof(a->msg), "apply ConfigMap %s: %s", a->ck, op_err_last());
        op_log(OP_LOG_WARN, "apply failed", "stack", a->key, "configmap", a->cm->name, "error", op_err_last(),
               NULL);
        return;
    }
    op_log(OP_LOG_INFO, a->existed ? "configmap updated" : "configmap created", "stack", a->key, "configmap",
           a->cm->name, "digest", a->cm->digest, NULL);
    a->again = memo_end(a->m, a->mk, a->cur_rv, kube_obj_resource_version(res), NULL);
    json_decref(res);
}

static void *cm_apply_thread(void *p)
{
    cm_apply_run(p);
    return NULL;
}

/* Is cm (desired) missing from the cache and not merely lagging behind our
 * last write of it? Fills a's keys and resourceVersion either way. */
static int cm_needs_apply(struct ctl_manager *m, const char *ns, const char *uid,
                          const struct render_configmap *cm, struct cm_apply *a)
{
    json_t *cached, *fresh;
    const char *cur_rv, *frv;
    int need = 1;

    snprintf(a->ck, sizeof(a->ck), "%s/%s", ns, cm->name);
    snprintf(a->mk, sizeof(a->mk), "cm/%s/%s", ns, cm->name);
    cached = m->env.get_cm(m->env.ctx, a->ck);
    cur_rv = cached ? kube_obj_resource_version(cached) : NULL;
    snprintf(a->cur_rv, sizeof(a->cur_rv), "%s", cur_rv ? cur_rv : "");
    a->existed = cached != NULL;
    if (cm_matches(cached, cm->object, cm->digest, uid)) {
        pthread_mutex_lock(&m->mu);
        op_map_del(m->memo, a->mk); /* the cache shows our write */
        pthread_mutex_unlock(&m->mu);
        need = 0;
    } else if (memo_lagging(m, a->mk, a->cur_rv, NULL)) {
        need = 0; /* our apply is not in the cache yet; its watch event re-enqueues us */
    } else {
        /* the informer may have delivered our last write (and dropped its
         * memo) since we read the cache: look again */
        fresh = m->env.get_cm(m->env.ctx, a->ck);
        frv = fresh ? kube_obj_resource_version(fresh) : "";
        if (strcmp(frv ? frv : "", a->cur_rv) != 0 && cm_matches(fresh, cm->object, cm->digest, uid))
            need = 0;
        json_decref(fresh);
    }
    json_decref(cached);
    return need;
}

/* Applies the rendered ConfigMaps that differ, all at once (each apply is a
 * round trip; a new stack needs two). Returns 0 or op_err with msg (the
 * first failure in render order). */
static int apply_cms(struct ctl_manager *m, const char *key, const char *ns, const char *name,
                     const char *uid, const struct render_output *ro, int *writes, char *msg, size_t n)
{
    struct cm_apply a[RENDER_CM_COUNT];
    pthread_t th[RENDER_CM_COUNT];
    int started[RENDER_CM_COUNT] = {0};
    size_t k = 0;
    int err = OP_OK;

    memset(a, 0, sizeof(a));
    for (size_t i = 0; i < ro->n && i < RENDER_CM_COUNT; i++) {
        if (!cm_needs_apply(m, ns, uid, &ro->cms[i], &a[k]))
            continue;
        a[k].m = m;
        a[k].key = key;
        a[k].ns = ns;
        a[k].cm = &ro->cms[i];
        if (!(a[k].body = render_configmap_with_owner(&ro->cms[i], name, uid))) {
            err = OP_ENOMEM;
            snprintf(msg, n, "out of memory");
            break;
        }
        k++;
    }
    if (err == OP_OK && k > 1) {
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setstacksize(&at, APPLY_STACK);
        for (size_t i = 1; i < k; i++)
            started[i] = pthread_create(&th[i], &at, cm_apply_thread, &a[i]) == 0;
        pthread_attr_destroy(&at);
    }
    for (size_t i = 0; err == OP_OK && i < k; i++) {
        if (i == 0 || !started[i])
            cm_apply_run(&a[i]); /* the first here; the rest if no thread started */
    }
    for (size_t i = 1; i < k; i++)
        if (started[i])
            pthread_join(th[i], NULL);
    for (size_t i = 0; i < k; i++) {
        json_decref(a[i].body); /* left over only when an allocation failed */
        if (!a[i].ran)
            continue;
        if (a[i].err < 0) {
            if (err == OP_OK) {
                err = a[i].err;
                snprintf(msg, n, "%s", a[i].msg);
            }
            continue;
        }
        (*writes)++;
        if (a[i].again) /* the key is being processed: this queues it for after */
            (void)rt_wq_add(m->queue, key);
    }
    return err;
}

/* Deletes owned ConfigMaps of key not in keep (NULL = delete all). */
static int delete_stale(struct ctl_manager *m, const char *key, const char *ns, const struct render_output *keep,
                        int *writes, char *msg, size_t n)
{
    char **owned = m->env.owned_cms(m->env.ctx, key);
    int err = OP_OK;
    for (size_t i = 0; owned && owned[i]; i++) {
        int needed = 0;
        for (size_t j = 0; keep && j < keep->n; j++)
            if (!strcmp(keep->cms[j].name, owned[i]))
                needed = 1;
        if (needed)
            continue;
        int e = m->env.delete_cm(m->env.ctx, ns, owned[i]);
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

/* The status digest is the first 16 bytes of sha256 of the canonical
 * status, in base64url (22 characters): it is only compared with the digest
 * of the status we want to write (and of our last write), so 128 bits
 * leave a needed write skipped with a chance of 2^-128 per change. */
#define STATUS_DIGEST_BYTES 16

json_t *ctl_status_summary(const json_t *status)
{
    json_t *sum, *conds = json_array(), *c;
    char *canon = NULL, dg[(STATUS_DIGEST_BYTES + 2) / 3 * 4 + 1];
    size_t i;
    int err;

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
        err = ctl_hash_b64url(canon, strlen(canon), STATUS_DIGEST_BYTES, dg);
        free(canon);
        if (err < 0) {
            json_decref(conds);
            return NULL;
        }
    } else {
        dg[0] = '\0';
    }
    sum = json_pack("{s:s, s:o}", "digest", dg, "conditions", conds);
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
            m->env.emit_event(m->env.ctx, obj, "Warning", CTL_REASON_INSECURE_SKIP_VERIFY, note);
        }
        if (sigs[i].dollar && !(prev & ((uintptr_t)1 << (CTL_READY_WARN_DOLLAR_SHIFT + sigs[i].sig)))) {
            snprintf(note, sizeof(note),
                     "a credential referenced by spec.%s.auth contains '$'; Grafana re-expands what "
                     "$__file{} reads, so the %s data source would receive it truncated",
                     sn, sn);
            m->env.emit_event(m->env.ctx, obj, "Warning", CTL_REASON_CREDENTIAL_DOLLAR, note);
        }
    }
}

/* ---- the reconcile: one pass, as steps over struct pass ------------------- */

/* Everything one pass knows; the steps below fill it in order. */
struct pass {
    struct ctl_manager *m;
    const char *key;
    json_t *obj, *view;             /* cached stack and its decodable view */
    const char *ns, *name, *uid, *rv;
    int64_t gen;
    char genbuf[24], mk[600];
    struct spec_stack *s;           /* NULL when the spec is invalid */
    struct spec_errors errs;
    struct sig_out sigs[SPEC_SIGNAL_COUNT];
    size_t nsig;
    const char *stall_reason;       /* InvalidSpec / UIDConflict, or NULL */
    int default_conflict;           /* the UIDConflict is a second default data source */
    char *stall_msg;
    struct render_output *ro;
    struct ctl_probe_set ps;        /* resolved credentials (wiped by pass_cleanup) */
    int ps_rc;
    char ps_err[256];
    int apply_err, writes, probes_pending, wrote_status, new_gen;
    char apply_msg[MSG_MAX + 64];
    json_t *stored, *conds, *desired, *dsum;
    struct ctl_cond_transition tr[CTL_MAX_CONDITIONS];
    size_t ntr;
    struct ctl_links_out links;     /* LinksVerified (links_step.c) */
};

static void pass_cleanup(struct pass *p)
{
    json_decref(p->view);
    json_decref(p->dsum);
    json_decref(p->desired);
    json_decref(p->stored);
    json_decref(p->conds);
    free(p->stall_msg);
    render_output_free(p->ro);
    ctl_probe_set_cleanup(&p->ps); /* wipes the credentials */
    spec_stack_free(p->s);
    spec_errors_cleanup(&p->errs);
    json_decref(p->obj);
}

/* Step 1: decode. An invalid spec stalls the stack (InvalidSpec, every
 * field error); its signals are listed as unknown. */
static int step_decode(struct pass *p)
{
    const json_t *spec;
    int err;

    if (!(p->view = ctl_stack_view(p->obj)))
        return OP_ENOMEM;
    err = spec_stack_from_json(&p->s, p->view, p->ns, &p->errs);
    if (err == OP_ENOMEM)
        return err;
    if (err == OP_OK) {
        for (int i = 0; i < SPEC_SIGNAL_COUNT; i++)
            if (spec_stack_backend(p->s, (enum spec_signal)i))
                p->sigs[p->nsig++].sig = (enum spec_signal)i;
        return OP_OK;
    }
    p->stall_reason = CTL_REASON_INVALID_SPEC;
    if (!(p->stall_msg = spec_errors_format(&p->errs, "; ")))
        return OP_ENOMEM;
    truncate_msg(p->stall_msg);
    spec = json_object_get(p->view, "spec");
    for (int i = 0; i < SPEC_SIGNAL_COUNT; i++)
        if (json_object_get(spec, spec_signal_name((enum spec_signal)i))) {
            p->sigs[p->nsig].sig = (enum spec_signal)i;
            p->sigs[p->nsig].cond.type = probe_condition_type(i);
            p->sigs[p->nsig].cond.status = CTL_COND_UNKNOWN;
            p->sigs[p->nsig].reachable = -1;
            p->nsig++;
        }
    return OP_OK;
}

/* Step 2: claims. A stack that collides with an earlier one in the same
 * Grafana stalls (UIDConflict) and provisions nothing: its ConfigMaps go. */
static int step_claims(struct pass *p)
{
    char why[1024];
    int kind;
    if (p->stall_reason || !(kind = find_conflict(p->m, p->key, why, sizeof(why))))
        return OP_OK;
    p->stall_reason = CTL_REASON_UID_CONFLICT;
    p->default_conflict = kind == CTL_CLAIM_DEFAULT;
    if (!(p->stall_msg = op_strdup(why)))
        return OP_ENOMEM;
    for (size_t i = 0; i < p->nsig; i++) {
        p->sigs[i].cond.type = probe_condition_type((int)p->sigs[i].sig);
        p->sigs[i].reachable = -1;
    }
    p->apply_err = delete_stale(p->m, p->key, p->ns, NULL, &p->writes, p->apply_msg, sizeof(p->apply_msg));
    return p->apply_err;
}

/* Step 3a: resolve the referenced Secrets / ConfigMaps for the probe targets
 * (one GET each, every verify interval) and, from the same reads, the refs
 * digest that goes atop the data-source file: a rotated Secret changes its
 * resourceVersion, so the file changes within one interval; an unchanged
 * one leaves the digest (and the ConfigMap) alone. A read that failed for
 * a transient reason keeps the digest last rendered. Returns a malloc'd
 * digest or NULL (no references, no lookup port, OOM). */
static char *resolve_refs(struct pass *p)
{
    struct ctl_refs_rec rec;
    char *d, *kept = NULL;

    ctl_refs_rec_init(&rec, &p->m->env, p->s);
    op_err_clear();
    p->ps_rc = ctl_probe_set_build(&p->ps, p->s, p->m->env.lookup_ref ? ctl_refs_rec_lookup : NULL, &rec);
    if (p->ps_rc < 0) {
        snprintf(p->ps_err, sizeof(p->ps_err), "%s", op_err_last());
        return NULL;
    }
    if (!p->m->env.lookup_ref || !(d = ctl_refs_rec_digest(&rec)))
        return NULL;
    pthread_mutex_lock(&p->m->mu);
    if (rec.unsure)
        kept = op_strdup(ctl_rec_refs(p->m, p->key));
    else
        ctl_rec_set_refs(p->m, p->key, d);
    pthread_mutex_unlock(&p->m->mu);
    if (kept) {
        free(d);
        return kept;
    }
    return d;
}

/* Steps 3-5: resolve references, render, apply what differs from the
 * cache, delete owned ConfigMaps no longer rendered, then probe. Errors of
 * provisioning are reported in the status (ProvisioningApplied) before the
 * pass fails. */
static int step_provision_and_probe(struct pass *p)
{
    char *refs_digest;
    int err;
    if (p->stall_reason)
        return OP_OK;
    refs_digest = resolve_refs(p);
    err = render_stack_opts(&p->ro, p->s, &(struct render_options){.refs_digest = refs_digest});
    free(refs_digest);
    if (err < 0) {
        snprintf(p->apply_msg, sizeof(p->apply_msg), "render failed: %s", op_err_last());
        p->apply_err = err;
    } else {
        p->apply_err = apply_cms(p->m, p->key, p->ns, p->name, p->uid, p->ro, &p->writes, p->apply_msg,
                                 sizeof(p->apply_msg));
        if (p->apply_err == OP_OK)
            p->apply_err = delete_stale(p->m, p->key, p->ns, p->ro, &p->writes, p->apply_msg,
                                        sizeof(p->apply_msg));
        if (p->apply_err == OP_OK)
            snprintf(p->apply_msg, sizeof(p->apply_msg), "ConfigMaps %s, %s carry digest %s", p->ro->cms[0].name,
                     p->ro->cms[1].name, render_stack_digest(p->ro));
    }
    p->probes_pending = probe_signals(p->m, p->key, effective_interval_ms(p->m, p->s, p->view), p->sigs, p->nsig,
                                      &p->ps, p->ps_rc, p->ps_err);
    return OP_OK;
}

/* Step 5b: LinksVerified, only once every configured backend answered
 * (links_step.c; shared rounds, never waited for). */
static int step_links(struct pass *p)
{
    int ok = 1;
    if (p->stall_reason)
        return OP_OK;
    for (size_t i = 0; i < p->nsig; i++)
        if (p->sigs[i].reachable <= 0)
            ok = 0;
    return ctl_links_step(&p->m->env, p->key, p->s, p->ro ? p->ro->datasources : NULL,
                          effective_interval_ms(p->m, p->s, p->view), ok,
                          p->ps_rc >= 0 ? &p->ps : NULL, &p->links);
}

/* Step 6a: conditions and the desired status, starting from the status we
 * last wrote when the cache has not caught up with it yet. */
static int step_conditions(struct pass *p)
{
    struct ctl_signal_cond sc[SPEC_SIGNAL_COUNT];
    struct ctl_cond_input in;
    int err;

    if (!memo_lagging(p->m, p->mk, p->rv, &p->stored) || !p->stored) {
        json_decref(p->stored);
        p->stored = ctl_cached_status_summary(p->obj);
    }
    /* a first link-check round is running and the stored status already
     * has a LinksVerified we cannot restate: write when the round lands
     * (it re-enqueues the stack), not an interim status. A stack without
     * one (a new stack) waits as long as the round is young (links.wait_ms),
     * so its first status carries both Ready and LinksVerified. */
    if (p->links.pending &&
        (p->links.wait_ms > 0 || ctl_condition_find(json_object_get(p->stored, "conditions"), CTL_COND_LINKS)))
        return 1;
    for (size_t i = 0; i < p->nsig; i++)
        sc[i] = p->sigs[i].cond;
    memset(&in, 0, sizeof(in));
    in.generation = p->gen;
    in.stall_reason = p->stall_reason;
    in.stall_message = p->stall_msg;
    in.apply = p->apply_err == OP_OK ? CTL_APPLY_OK : CTL_APPLY_FAILED;
    in.apply_message = p->apply_msg;
    in.signals = sc;
    in.n_signals = p->nsig;
    in.links = p->links.present ? &p->links.cond : NULL;
    in.now_s = p->m->env.now_s(p->m->env.ctx);
    if ((err = ctl_conditions_compute(json_object_get(p->stored, "conditions"), &in, &p->conds, p->tr, &p->ntr)) < 0)
        return err;
    p->desired = build_status(p->gen, json_incref(p->conds), p->stall_reason ? NULL : p->ro, p->sigs, p->nsig,
                              (p->stall_reason && !strcmp(p->stall_reason, CTL_REASON_INVALID_SPEC)) ? NULL : p->s);
    if (!p->desired || !(p->dsum = ctl_status_summary(p->desired)))
        return OP_ENOMEM;
    return OP_OK;
}

/* Does the status we want differ from what is stored? The informer may
 * have delivered our last status write (and dropped its memo) since the
 * pass read the cache: look again before deciding to write. */
static int status_differs(struct pass *p)
{
    json_t *fresh, *fsum = NULL;
    const char *frv;
    int same;
    if (json_equal(json_object_get(p->dsum, "digest"), json_object_get(p->stored, "digest")))
        return 0;
    fresh = p->m->env.get_stack(p->m->env.ctx, p->key);
    frv = fresh ? kube_obj_resource_version(fresh) : NULL;
    if (frv && p->rv && strcmp(frv, p->rv) != 0)
        fsum = ctl_cached_status_summary(fresh);
    json_decref(fresh);
    same = fsum && json_equal(json_object_get(p->dsum, "digest"), json_object_get(fsum, "digest"));
    json_decref(fsum);
    return !same;
}

/* Step 6b: merge-patch /status (only when it differs) and send an Event per
 * condition transition. Returns 0, 1 when the stack is gone, or an op_err. */
static int step_write_status(struct pass *p)
{
    static const char *optional[] = {"configMaps", "renderedDigest", "signals"};
    json_t *pst, *patch, *res = NULL;
    const char *nrv;
    int err;

    if (!status_differs(p))
        return OP_OK;
    pst = json_deep_copy(p->desired);
    /* merge patch: fields we no longer report must be nulled */
    for (size_t i = 0; pst && i < sizeof(optional) / sizeof(optional[0]); i++)
        if (!json_object_get(p->desired, optional[i]))
            json_object_set_new(pst, optional[i], json_null());
    patch = json_pack("{s:o}", "status", pst);
    memo_begin(p->m, p->mk);
    err = p->m->env.patch_status(p->m->env.ctx, p->ns, p->name, patch, &res);
    json_decref(patch);
    if (err < 0) {
        (void)memo_end(p->m, p->mk, p->rv, NULL, NULL);
        if (err == OP_ENOTFOUND)
            return 1; /* deleted meanwhile: nothing more to do */
        op_log(OP_LOG_WARN, "status update failed", "stack", p->key, "error", op_err_last(), NULL);
        return err;
    }
    p->writes++;
    nrv = kube_obj_resource_version(res);
    /* other stack events need no help here: spec changes enqueue on their
     * own, status-only ones do not (GenerationChanged) */
    (void)memo_end(p->m, p->mk, p->rv, nrv, json_incref(p->dsum));
    op_log(OP_LOG_INFO, "status updated", "stack", p->key, "generation", p->genbuf, "rv", nrv ? nrv : "", NULL);
    for (size_t i = 0; i < p->ntr; i++) {
        char note[1100];
        snprintf(note, sizeof(note), "%s=%s: %s", p->tr[i].type, p->tr[i].status, p->tr[i].message);
        p->m->env.emit_event(p->m->env.ctx, p->obj, p->tr[i].event_type, p->tr[i].reason, note);
    }
    json_decref(res);
    p->new_gen = json_integer_value(json_object_get(p->stored, "observedGeneration")) != p->gen;
    p->wrote_status = 1;
    return OP_OK;
}

_Static_assert(sizeof(uintptr_t) >= 8, "Ready bits keep the generation in bits 32-63");

/* Step 7: remember readiness and per-signal state (metrics, once-per-
 * generation Warnings; bits in CTL_READY_*) and send the Warnings. */
static void step_record(struct pass *p)
{
    const json_t *rc = ctl_condition_find(p->conds, CTL_COND_READY);
    const char *rs = json_string_value(json_object_get(rc, "status"));
    uintptr_t bits = rs && !strcmp(rs, "True") ? 1 : rs && !strcmp(rs, "False") ? 2 : 3, prev;

    for (size_t i = 0; i < p->nsig; i++) {
        const struct sig_out *o = &p->sigs[i];
        bits |= (uintptr_t)1 << (CTL_READY_CONFIGURED_SHIFT + o->sig);
        if (o->reachable > 0)
            bits |= (uintptr_t)1 << (CTL_READY_UP_SHIFT + o->sig);
        if (o->insecure)
            bits |= (uintptr_t)1 << (CTL_READY_WARN_INSECURE_SHIFT + o->sig);
        if (o->dollar)
            bits |= (uintptr_t)1 << (CTL_READY_WARN_DOLLAR_SHIFT + o->sig);
    }
    if (p->default_conflict)
        bits |= (uintptr_t)1 << CTL_READY_WARN_DEFAULT_SHIFT;
    bits |= (uintptr_t)(uint32_t)p->gen << CTL_READY_GEN_SHIFT;
    pthread_mutex_lock(&p->m->mu);
    prev = ctl_rec_set_ready(p->m, p->key, bits);
    pthread_mutex_unlock(&p->m->mu);
    /* the stored observedGeneration can lag our own last write (two writes
     * in a row for a new stack: status, then LinksVerified): a generation
     * we already recorded bits for is not new */
    if (prev && (uint32_t)(prev >> CTL_READY_GEN_SHIFT) == (uint32_t)p->gen)
        p->new_gen = 0;
    if (p->wrote_status)
        emit_warnings(p->m, p->obj, p->s, p->sigs, p->nsig, p->new_gen ? 0 : prev);
    /* the default claimed twice: a Warning of its own (once per generation,
     * like the ones above) besides the Stalled transition, which is sent
     * only when Stalled flips */
    if (p->wrote_status && p->default_conflict &&
        (p->new_gen || !(prev & ((uintptr_t)1 << CTL_READY_WARN_DEFAULT_SHIFT))))
        p->m->env.emit_event(p->m->env.ctx, p->obj, "Warning", CTL_REASON_DEFAULT_CONFLICT, p->stall_msg);
}

/* A stack that is gone: the garbage collector removes its ConfigMaps
 * through their ownerReferences; forget what we remembered. Its record
 * keeps the names of those ConfigMaps until their DELETED events. */
static void forget_stack(struct ctl_manager *m, const char *key)
{
    memo_forget_stack(m, key);
    pthread_mutex_lock(&m->mu);
    (void)ctl_rec_set_ready(m, key, 0);
    ctl_rec_set_refs(m, key, NULL);
    pthread_mutex_unlock(&m->mu);
}

int ctl_reconcile(struct ctl_manager *m, const char *key, int64_t *requeue_after_ms)
{
    /* on the heap: ~27 KiB (a condition message buffer per signal) that a
     * worker's stack would keep resident for good once touched */
    struct pass *p = calloc(1, sizeof(*p));
    int err;

    *requeue_after_ms = 0;
    if (!p)
        return OP_ENOMEM;
    p->m = m;
    p->key = key;
    spec_errors_init(&p->errs);
    if (!(p->obj = m->env.get_stack(m->env.ctx, key))) {
        forget_stack(m, key);
        goto out_ok;
    }
    if (json_object_get(json_object_get(p->obj, "metadata"), "deletionTimestamp"))
        goto out_ok;
    p->ns = kube_obj_namespace(p->obj);
    p->name = kube_obj_name(p->obj);
    p->uid = kube_obj_uid(p->obj);
    p->rv = kube_obj_resource_version(p->obj);
    p->gen = json_integer_value(json_object_get(json_object_get(p->obj, "metadata"), "generation"));
    snprintf(p->genbuf, sizeof(p->genbuf), "%lld", (long long)p->gen);
    snprintf(p->mk, sizeof(p->mk), "st/%s", key);
    op_log(OP_LOG_DEBUG, "reconcile", "stack", key, "generation", p->genbuf, "rv", p->rv ? p->rv : "", NULL);

    if ((err = step_decode(p)) < 0)
        goto out;
    if ((err = step_claims(p)) < 0 && err == OP_ENOMEM)
        goto out;
    if ((err = step_provision_and_probe(p)) < 0)
        goto out;
    if (p->probes_pending > 0 && p->apply_err == OP_OK) {
        /* the status waits for the probes: one write when they end (the
         * prober re-enqueues this stack), not a ProbePending write first */
        op_log(OP_LOG_DEBUG, "probes pending", "stack", key, "generation", p->genbuf, NULL);
        goto requeue;
    }
    if ((err = step_links(p)) < 0)
        goto out;
    if ((err = step_conditions(p)) < 0)
        goto out;
    if (err > 0) {
        op_log(OP_LOG_DEBUG, "link check pending", "stack", key, "generation", p->genbuf, NULL);
        if ((err = p->apply_err) < 0)
            goto out;
        if (p->links.wait_ms > 0) {
            /* the round's end re-enqueues us; this is the bound */
            *requeue_after_ms = p->links.wait_ms;
            goto out_ok;
        }
        goto requeue;
    }
    if ((err = step_write_status(p)) < 0)
        goto out;
    if (err > 0)
        goto out_ok;
    step_record(p);
    if (p->writes) {
        char wb[16];
        snprintf(wb, sizeof(wb), "%d", p->writes);
        op_log(OP_LOG_DEBUG, "reconciled", "stack", key, "generation", p->genbuf, "writes", wb, NULL);
    }
    if ((err = p->apply_err) < 0)
        goto out;
requeue:
    if (!p->stall_reason) {
        int64_t iv = effective_interval_ms(m, p->s, p->view);
        if (iv > 0)
            *requeue_after_ms = iv;
    }
out_ok:
    err = OP_OK;
out:
    pass_cleanup(p);
    free(p);
    return err;
}
