/* manager.c — wires the operator onto pkg/runtime's rt_manager: the stack
 * informer and the informer of crosslink-managed ConfigMaps (data replaced
 * by a digest), their transforms and event handlers (which keys an event
 * enqueues), ctl_reconcile as the reconciler, the reconcile's ports
 * (ctl_stack_env_kube), an Event sender and the HTTP listeners. The
 * manager starts the workers once the caches are synced and (with
 * --leader-elect) the Lease is ours. SIGTERM/SIGINT: stop taking work,
 * finish in-flight reconciles, release the Lease, exit 0. */
#include "manager.h"

#include "prober.h"
#include "conditions.h"
#include "links_stack.h"
#include "probe_targets.h"

#include "kube.h"
#include "probe.h"
#include "render.h"

#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MANAGED_SELECTOR RENDER_LABEL_MANAGED_BY "=" RENDER_MANAGER
/* LIST page size for owned ConfigMaps: each may hold up to 1 MiB of data and
 * a relist holds one untransformed page at a time, so 100 bounds that to
 * ~100 MiB in the worst case (~10 MiB for 100 KiB dashboards). */
#define CTL_CM_PAGE_SIZE 100


void ctl_strv_free(char **v)
{
    if (!v)
        return;
    for (size_t i = 0; v[i]; i++)
        free(v[i]);
    free(v);
}

/* An informer event for an object whose write is in flight (mutex held). */
static void memo_note(struct ctl_memo *mo, enum kube_event_type t, const char *rv)
{
    mo->seen++;
    snprintf(mo->seen_rv, sizeof(mo->seen_rv), "%s", t == KUBE_EVENT_DELETED || !rv ? "" : rv);
}

/* A probe the reconcile stopped waiting for has finished: look again. */
static void prober_notify(const char *stack_key, void *payload)
{
    struct ctl_manager *m = payload;
    (void)rt_wq_add(m->queue, stack_key);
}

static void memo_free(void *p)
{
    struct ctl_memo *mo = p;
    if (!mo)
        return;
    json_decref(mo->status);
    free(mo);
}

/* ---- cache access --------------------------------------------------------- */

json_t *ctl_mgr_get_stack(struct ctl_manager *m, const char *key)
{
    return rt_manager_get(m->rt, m->h_stack, key);
}

json_t *ctl_mgr_get_cm(struct ctl_manager *m, const char *key)
{
    return rt_manager_get(m->rt, m->h_cm, key);
}

char **ctl_mgr_owned_cms(struct ctl_manager *m, const char *key)
{
    char **v;
    pthread_mutex_lock(&m->mu);
    v = ctl_rec_owned(m, key);
    pthread_mutex_unlock(&m->mu);
    return v;
}

/* ---- transforms (run on watch threads) ------------------------------------ */

/* Builds the compact cache form shared by both transforms: the listed
 * metadata keys plus one or two fields (k1/v1, and k2/v2 unless k2 is NULL;
 * the values are stolen). The informer store keeps it as compact JSON text,
 * so nested values cost their text only. On OOM returns obj untouched (a
 * full object is better than a lost event); otherwise obj is released. */
static json_t *compact_object(json_t *obj, const char *const *keep, size_t nkeep, const char *k1, json_t *v1,
                              const char *k2, json_t *v2)
{
    json_t *md = json_object_get(obj, "metadata"), *nmd = json_object(), *out = json_object();
    if (!nmd || !out || !v1 || (k2 && !v2)) {
        json_decref(nmd);
        json_decref(out);
        json_decref(v1);
        json_decref(v2);
        return obj;
    }
    for (size_t i = 0; i < nkeep; i++) {
        json_t *v = json_object_get(md, keep[i]);
        if (v)
            json_object_set(nmd, keep[i], v);
    }
    json_object_set_new(out, "metadata", nmd);
    json_object_set_new(out, k1, v1);
    if (k2)
        json_object_set_new(out, k2, v2);
    json_decref(obj);
    return out;
}

/* Both forms keep digests as base64url (4 characters per 3 bytes, and no
 * escaping in JSON) rather than hex (2 characters per byte). */
int ctl_hash_b64url(const void *data, size_t len, size_t nbytes, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t n;

    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || nbytes > mdlen)
        return op_err_set(OP_ENOMEM, "sha256 failed");
    n = (size_t)EVP_EncodeBlock((unsigned char *)out, md, (int)nbytes);
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = '\0';
    for (size_t i = 0; i < n; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    return OP_OK;
}

/* ---- stack cache form ------------------------------------------------------ */

/* A cached stack keeps name, namespace, uid, resourceVersion, generation,
 * creationTimestamp and deletionTimestamp, its spec verbatim (decoded on
 * every reconcile), and under CTL_STATUS_KEY its status summary
 * (ctl_status_summary) packed into one string:
 *
 *     digest ";" [observedGeneration] { ";" type status time }
 *
 * type is one letter for each condition type the controller writes
 * (pack_type), status T, F or U, and time the lastTransitionTime, "=" when
 * it equals the previous condition's (the conditions of one status write
 * usually share it) or "-" when it is absent: ~80 bytes for nine
 * conditions instead of ~600 for the summary object. A summary the string
 * cannot say (another condition type or status, a time with a ';' or one
 * of the markers, which the controller does not write) is stored as the
 * object itself. */
static const char *const pack_fixed_types[] = {CTL_COND_READY, CTL_COND_APPLIED, CTL_COND_STALLED,
                                               CTL_COND_RECONCILING, CTL_COND_LINKS};
#define NPACK_FIXED (sizeof(pack_fixed_types) / sizeof(pack_fixed_types[0]))
#define NPACK_TYPES (NPACK_FIXED + PROBE_NSIGNALS)
/* the letter of status s (enum ctl_cond_status) */
static const char pack_status_c[] = "UTF";

/* Type t's name: the fixed ones, then <Signal>Reachable per signal. */
static const char *pack_type(size_t t)
{
    return t < NPACK_FIXED ? pack_fixed_types[t] : probe_condition_type((int)(t - NPACK_FIXED));
}

/* The index of type v, -1 for a type the string cannot say. */
static int pack_type_index(const char *v)
{
    for (size_t t = 0; v && t < NPACK_TYPES; t++)
        if (!strcmp(pack_type(t), v))
            return (int)t;
    return -1;
}

/* The enum ctl_cond_status of v, -1 for another status. */
static int pack_status_index(const char *v)
{
    for (int s = CTL_COND_UNKNOWN; v && s <= CTL_COND_FALSE; s++)
        if (!strcmp(ctl_cond_status_str((enum ctl_cond_status)s), v))
            return s;
    return -1;
}

/* The packed summary (new reference), or NULL when sum cannot be packed
 * (or on OOM). */
static json_t *status_pack(const json_t *sum)
{
    const json_t *og = json_object_get(sum, "observedGeneration"), *c;
    const char *dg = json_string_value(json_object_get(sum, "digest")), *prev = NULL;
    struct op_buf b;
    json_t *out = NULL;
    int bad;
    size_t i;

    if (!dg || strchr(dg, ';') || (og && !json_is_integer(og)))
        return NULL;
    op_buf_init(&b, 65536); /* more falls back to the object */
    bad = op_buf_puts(&b, dg) < 0 || op_buf_puts(&b, ";") < 0 ||
          (og && op_buf_appendf(&b, "%" JSON_INTEGER_FORMAT, json_integer_value(og)) < 0);
    json_array_foreach(json_object_get(sum, "conditions"), i, c)
    {
        const json_t *lv = json_object_get(c, "lastTransitionTime");
        const char *ltt = json_string_value(lv);
        int t = pack_type_index(json_string_value(json_object_get(c, "type")));
        int st = pack_status_index(json_string_value(json_object_get(c, "status")));
        if (bad || t < 0 || st < 0 || (lv && !json_is_null(lv) && !ltt) ||
            (ltt && (!*ltt || strchr(ltt, ';') || !strcmp(ltt, "=") || !strcmp(ltt, "-"))))
            goto out;
        bad = op_buf_appendf(&b, ";%c%c%s", 'a' + t, pack_status_c[st],
                             !ltt ? "-" : prev && !strcmp(ltt, prev) ? "=" : ltt) < 0;
        prev = ltt;
    }
    if (!bad)
        out = json_stringn(b.data, b.len);
out:
    op_buf_cleanup(&b);
    return out;
}

/* status_pack's inverse: the summary (new reference), NULL on OOM or when
 * p is not a packed summary. */
static json_t *status_unpack(const char *p)
{
    const char *semi = strchr(p, ';'), *q, *prev = NULL;
    size_t prev_len = 0;
    json_t *conds = json_array(), *sum = NULL;
    char *end;
    long long og = 0;
    int has_og;

    if (!conds || !semi)
        goto fail;
    q = semi + 1;
    has_og = *q && *q != ';';
    if (has_og) {
        og = strtoll(q, &end, 10);
        q = end;
    }
    while (*q == ';') {
        const char *f = q + 1, *e = strchr(f, ';');
        size_t fl = e ? (size_t)(e - f) : strlen(f);
        const char *st = fl >= 3 ? strchr(pack_status_c, f[1]) : NULL;
        json_t *ltt, *c;
        if (!st || !f[1] || f[0] < 'a' || (size_t)(f[0] - 'a') >= NPACK_TYPES)
            goto fail;
        if (fl == 3 && f[2] == '-') {
            ltt = json_null();
            prev = NULL;
        } else if (fl == 3 && f[2] == '=' && prev) {
            ltt = json_stringn(prev, prev_len);
        } else {
            prev = f + 2;
            prev_len = fl - 2;
            ltt = json_stringn(prev, prev_len);
        }
        c = json_pack("{s:s, s:s, s:o}", "type", pack_type((size_t)(f[0] - 'a')), "status",
                      ctl_cond_status_str((enum ctl_cond_status)(st - pack_status_c)), "lastTransitionTime", ltt);
        if (!c || json_array_append_new(conds, c) < 0)
            goto fail;
        q = f + fl;
    }
    if (*q)
        goto fail;
    sum = json_pack("{s:s%, s:O}", "digest", p, (size_t)(semi - p), "conditions", conds);
    if (sum && has_og && json_object_set_new(sum, "observedGeneration", json_integer(og)) < 0) {
        json_decref(sum);
        sum = NULL;
    }
fail:
    json_decref(conds);
    return sum;
}

json_t *ctl_stack_transform(json_t *obj, void *payload)
{
    static const char *keep[] = {"name", "namespace", "uid", "resourceVersion", "generation",
                                 "creationTimestamp", "deletionTimestamp"};
    json_t *sum = ctl_status_summary(json_object_get(obj, "status"));
    json_t *spec = json_object_get(obj, "spec") ? json_incref(json_object_get(obj, "spec")) : json_null();
    json_t *packed = sum ? status_pack(sum) : NULL;
    (void)payload;

    if (packed) {
        json_decref(sum);
        sum = packed;
    }
    return compact_object(obj, keep, sizeof(keep) / sizeof(keep[0]), "spec", spec, CTL_STATUS_KEY, sum);
}

json_t *ctl_stack_view(const json_t *cached)
{
    json_t *sp = json_object_get(cached, "spec");
    json_t *v = json_pack("{s:s, s:s, s:O?}", "apiVersion", SPEC_API_VERSION, "kind", SPEC_KIND, "metadata",
                          json_object_get(cached, "metadata"));
    if (v && sp && !json_is_null(sp))
        json_object_set(v, "spec", sp);
    return v;
}

json_t *ctl_cached_status_summary(const json_t *cached)
{
    json_t *s = json_object_get(cached, CTL_STATUS_KEY);
    if (json_is_string(s))
        return status_unpack(json_string_value(s));
    if (json_is_object(s))
        return json_incref(s); /* a summary status_pack could not pack */
    return ctl_status_summary(json_object_get(cached, "status"));
}

/* ---- ConfigMap cache form -------------------------------------------------- */

/* A cached ConfigMap keeps name, namespace and resourceVersion, and under
 * CTL_CM_META_KEY one string: the facts reconcile checks, each as the
 * base64url of an 8-byte hash, then ':' and the name of its controller
 * owner when that is an ObservabilityStack:
 *
 *     "<fact hash><fact hash>...[:<owner name>]"
 *
 * The facts are each label ('l', key, value) and annotation ('a', key,
 * value; last-applied-configuration left out), the data ('d', "", its
 * render_data_digest) and the controller owner ('o', uid, "block" when it
 * sets blockOwnerDeletion, else ""). A fact's hash is sha256 over the kind
 * letter, the key, a NUL and the value: a label never passes for an
 * annotation with the same key and value, and "a=b"+"c" differs from
 * "a"+"b=c". Reconcile only asks whether a fact it wants is among them (the
 * ConfigMap may carry labels that are not ours), so the hash stands in for
 * the text: ~100 bytes for the 9 facts of a dashboards ConfigMap.
 *
 * 64 bits are plenty: a cached hash is only ever compared with the hash of
 * a fact we want, never with another cached one, so a drifted value goes
 * unnoticed only if its hash equals that one fact's by chance (2^-64 per
 * fact and edit; no birthday bound applies), and whoever can edit the
 * ConfigMap can write our value anyway. */
#define CM_FACT_BYTES 8
#define CM_FACT_LEN 11 /* base64url characters of CM_FACT_BYTES, no padding */
#define CM_OWNER_SEP ':'
#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

/* The hash of one fact into out: CM_FACT_LEN characters and a NUL (out has
 * room for the padded 12 that ctl_hash_b64url trims). */
static int cm_fact(char kind, const char *k, const char *v, char out[CM_FACT_LEN + 2])
{
    size_t kl = strlen(k), vl = strlen(v);
    char *t = malloc(kl + vl + 2);
    int rc;
    if (!t)
        return OP_ENOMEM;
    t[0] = kind;
    memcpy(t + 1, k, kl + 1); /* with its NUL */
    memcpy(t + kl + 2, v, vl);
    rc = ctl_hash_b64url(t, kl + vl + 2, CM_FACT_BYTES, out);
    free(t);
    return rc;
}

static int cm_fact_append(struct op_buf *b, char kind, const char *k, const char *v)
{
    char h[CM_FACT_LEN + 2];
    if (cm_fact(kind, k, v, h) < 0)
        return OP_ENOMEM;
    return op_buf_append(b, h, CM_FACT_LEN);
}

static int cm_facts_of(struct op_buf *b, char kind, const json_t *obj)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        if (kind == 'a' && !strcmp(k, LAST_APPLIED))
            continue;
        if (json_is_string(v) && cm_fact_append(b, kind, k, json_string_value(v)) < 0)
            return OP_ENOMEM;
    }
    return OP_OK;
}

/* The CTL_CM_META_KEY string of a full ConfigMap (malloc'd; NULL on OOM). */
static char *cm_facts_build(const json_t *obj)
{
    const json_t *md = json_object_get(obj, "metadata"), *data = json_object_get(obj, "data"), *r;
    json_t *empty = data ? NULL : json_object(); /* no data digests as {} */
    const char *owner = NULL;
    char *dg = NULL, *out = NULL;
    struct op_buf b;
    size_t i;

    op_buf_init(&b, 1 << 20);
    if (data || empty)
        dg = render_data_digest(data ? data : empty);
    if (!dg || cm_facts_of(&b, 'l', json_object_get(md, "labels")) < 0 ||
        cm_facts_of(&b, 'a', json_object_get(md, "annotations")) < 0 || cm_fact_append(&b, 'd', "", dg) < 0)
        goto out;
    json_array_foreach(json_object_get(md, "ownerReferences"), i, r)
    {
        const char *kind = json_string_value(json_object_get(r, "kind"));
        const char *api = json_string_value(json_object_get(r, "apiVersion"));
        const char *name = json_string_value(json_object_get(r, "name"));
        const char *uid = json_string_value(json_object_get(r, "uid"));
        if (json_is_true(json_object_get(r, "controller")) && kind && !strcmp(kind, SPEC_KIND) && api &&
            op_str_has_prefix(api, SPEC_GROUP "/") && name) {
            if (cm_fact_append(&b, 'o', uid ? uid : "",
                               json_is_true(json_object_get(r, "blockOwnerDeletion")) ? "block" : "") < 0)
                goto out;
            owner = name;
            break;
        }
    }
    if (owner && op_buf_appendf(&b, "%c%s", CM_OWNER_SEP, owner) < 0)
        goto out;
    out = op_buf_take(&b);
out:
    op_buf_cleanup(&b);
    json_decref(empty);
    free(dg);
    return out;
}

/* The cached ConfigMap's facts string: the transform's, or built from an
 * untransformed object into *built (free it). NULL on OOM. Split in two:
 * the hashes are its first *nhash bytes, *owner the owner's name after
 * CM_OWNER_SEP (NULL when none). */
static const char *cm_facts(const json_t *cm, char **built, size_t *nhash, const char **owner)
{
    const char *s = json_string_value(json_object_get(cm, CTL_CM_META_KEY)), *sep;
    *built = NULL;
    *nhash = 0;
    *owner = NULL;
    if (!s && !(s = *built = cm_facts_build(cm)))
        return NULL;
    sep = strchr(s, CM_OWNER_SEP);
    *nhash = sep ? (size_t)(sep - s) : strlen(s);
    *owner = sep ? sep + 1 : NULL;
    return s;
}

/* Is the fact among the hashes (the part of facts before the owner)? */
static int cm_has(const char *facts, size_t n, char kind, const char *k, const char *v)
{
    char h[CM_FACT_LEN + 2];
    if (!v || cm_fact(kind, k, v, h) < 0)
        return 0;
    for (size_t i = 0; i + CM_FACT_LEN <= n; i += CM_FACT_LEN)
        if (!memcmp(facts + i, h, CM_FACT_LEN))
            return 1;
    return 0;
}

int ctl_cm_matches(const json_t *cached, const json_t *want_md, const char *data_digest, const char *owner_uid)
{
    char *built;
    const char *owner, *k;
    size_t n;
    const char *facts = cm_facts(cached, &built, &n, &owner);
    json_t *v;
    int ok = facts && data_digest && owner_uid && cm_has(facts, n, 'd', "", data_digest) &&
             cm_has(facts, n, 'o', owner_uid, "block");

    json_object_foreach((json_t *)json_object_get(want_md, "labels"), k, v) {
        if (ok && !cm_has(facts, n, 'l', k, json_string_value(v)))
            ok = 0;
    }
    json_object_foreach((json_t *)json_object_get(want_md, "annotations"), k, v) {
        if (ok && !cm_has(facts, n, 'a', k, json_string_value(v)))
            ok = 0;
    }
    free(built);
    return ok;
}

/* Keeps only what reconcile compares; data becomes one fact hash, so memory
 * does not grow with dashboard size. */
json_t *ctl_cm_transform(json_t *obj, void *payload)
{
    static const char *keep[] = {"name", "namespace", "resourceVersion"};
    char *facts = cm_facts_build(obj);
    json_t *fj = facts ? json_string(facts) : NULL;
    (void)payload;

    free(facts);
    return compact_object(obj, keep, sizeof(keep) / sizeof(keep[0]), CTL_CM_META_KEY, fj, NULL, NULL);
}

/* ---- informer handlers ---------------------------------------------------- */

struct overlap_ctx {
    const struct ctl_claim *c;
    char **hits;
    size_t n, cap;
};

static int overlap_walk(const struct ctl_claim *o, void *payload)
{
    struct overlap_ctx *x = payload;
    const char *key = ctl_claim_str(o, o->key);
    char why[16];
    if (!strcmp(key, ctl_claim_str(x->c, x->c->key)))
        return 0;
    if (ctl_claim_conflict(x->c, o, why, sizeof(why)) || ctl_claim_conflict(o, x->c, why, sizeof(why))) {
        if (x->n == x->cap) {
            size_t nc = x->cap ? x->cap * 2 : 8;
            char **nh = realloc(x->hits, nc * sizeof(*nh));
            if (!nh)
                return 1;
            x->hits = nh;
            x->cap = nc;
        }
        if ((x->hits[x->n] = op_strdup(key)))
            x->n++;
    }
    return 0;
}

/* Enqueues every stack whose claims overlap c (both directions) but c's
 * own: only the stacks sharing a claim token with c can (claims_index.c).
 * Mutex held by the caller; keys are collected and enqueued (queue has its
 * own lock). */
static void enqueue_overlapping(struct ctl_manager *m, const struct ctl_claim *c)
{
    struct overlap_ctx x = {c, NULL, 0, 0};
    if (!c)
        return;
    (void)ctl_claims_foreach_sharing(m, c, overlap_walk, &x);
    for (size_t i = 0; i < x.n; i++) {
        (void)rt_wq_add(m->queue, x.hits[i]);
        free(x.hits[i]);
    }
    free(x.hits);
}

/* The stack informer's handler: the stack itself on a generation change or
 * deletion, and every stack whose claims overlap its old or new ones. */
void ctl_on_stack_event(struct rt_wq *q, enum kube_event_type t, const json_t *obj, void *payload)
{
    struct ctl_manager *m = payload;
    char key[512];
    const json_t *md = json_object_get(obj, "metadata");
    int64_t gen = json_integer_value(json_object_get(md, "generation"));
    int deleting = json_object_get(md, "deletionTimestamp") != NULL;
    uintptr_t want = (uintptr_t)(gen + 1) * 2 + (uintptr_t)deleting;
    int enqueue = 0;

    if (kube_obj_key(obj, key, sizeof(key)) < 0)
        return;
    pthread_mutex_lock(&m->mu);
    {
        /* the cache now shows our last status write (or the stack is gone) */
        char mk[600];
        struct ctl_memo *mo;
        const char *rv = kube_obj_resource_version(obj);
        snprintf(mk, sizeof(mk), "st/%s", key);
        mo = op_map_get(m->memo, mk);
        if (mo && mo->pending)
            memo_note(mo, t, rv); /* the status patch in flight decides */
        else if (mo && (t == KUBE_EVENT_DELETED || (rv && !strcmp(rv, mo->new_rv))))
            op_map_del(m->memo, mk);
    }
    if (t == KUBE_EVENT_DELETED) {
        struct ctl_claim *old = ctl_claims_take(m, key);
        (void)ctl_rec_set_seen(m, key, 0); /* the reconcile forgets the rest */
        enqueue_overlapping(m, old);
        ctl_claim_free(old);
        enqueue = 1;
    } else if (ctl_rec_set_seen(m, key, want) != want) {
        /* GenerationChanged predicate: status-only updates (our own
         * writes) do not enqueue, spec changes and deletion do. */
        struct ctl_claim *old = ctl_claims_take(m, key), *nc = ctl_claim_build(key, obj);
        enqueue = 1;
        enqueue_overlapping(m, old);
        ctl_claim_free(old);
        if (nc)
            ctl_claims_put(m, nc); /* m->claims owns nc now; still read under m->mu */
        enqueue_overlapping(m, nc);
    }
    pthread_mutex_unlock(&m->mu);
    if (enqueue) {
        op_log(OP_LOG_DEBUG, "stack event", "stack", key, "type", kube_event_type_name(t), NULL);
        (void)rt_wq_add(q, key);
    }
}

/* The stack key of a ConfigMap's controller owner (ObservabilityStack). */
int ctl_cm_owner_key(const json_t *cm, char *out, size_t n)
{
    char *built;
    const char *owner, *ns = kube_obj_namespace(cm);
    size_t nhash;
    (void)cm_facts(cm, &built, &nhash, &owner);
    if (owner)
        snprintf(out, n, "%s/%s", ns ? ns : "", owner);
    free(built);
    return owner != NULL;
}

/* The ConfigMap informer's handler (EnqueueRequestForOwner, minus the echo
 * of our own apply). */
void ctl_on_cm_event(struct rt_wq *q, enum kube_event_type t, const json_t *obj, void *payload)
{
    struct ctl_manager *m = payload;
    char okey[512];
    const char *name = kube_obj_name(obj);
    int ours = 0;
    if (!name || !ctl_cm_owner_key(obj, okey, sizeof(okey)))
        return;
    pthread_mutex_lock(&m->mu);
    ctl_rec_own(m, okey, name, t != KUBE_EVENT_DELETED);
    {
        /* the informer has caught up with our last write (or the object is
         * gone): what reconcile remembered about that write is obsolete */
        char mk[600];
        struct ctl_memo *mo;
        const char *rv = kube_obj_resource_version(obj);
        snprintf(mk, sizeof(mk), "cm/%s/%s", kube_obj_namespace(obj) ? kube_obj_namespace(obj) : "", name);
        mo = op_map_get(m->memo, mk);
        if (mo && mo->pending) {
            /* our apply of it is in flight and this may be its echo, ahead
             * of the response: the applying reconcile decides (memo_end) */
            memo_note(mo, t, rv);
            ours = 2;
        } else {
            ours = mo && t != KUBE_EVENT_DELETED && rv && !strcmp(rv, mo->new_rv);
            if (mo && (t == KUBE_EVENT_DELETED || ours))
                op_map_del(m->memo, mk);
        }
    }
    pthread_mutex_unlock(&m->mu);
    op_log(OP_LOG_DEBUG, "configmap event", "stack", okey, "configmap", name, "type",
           kube_event_type_name(t), "ours", ours == 2 ? "pending" : ours ? "true" : "false", NULL);
    /* the echo of our own apply needs no reconcile: that reconcile made it */
    if (!ours)
        (void)rt_wq_add(q, okey);
}

/* ---- events --------------------------------------------------------------- */

void ctl_mgr_emit_event(struct ctl_manager *m, const json_t *regarding, const char *type,
                        const char *reason, const char *note)
{
    const json_t *md = json_object_get(regarding, "metadata");
    if (!m->recorder)
        return;
    rt_recorder_emit(m->recorder,
                     json_pack("{s:s, s:s, s:{s:O?, s:O?, s:O?}}", "apiVersion", SPEC_API_VERSION, "kind",
                               SPEC_KIND, "metadata", "name", json_object_get(md, "name"), "namespace",
                               json_object_get(md, "namespace"), "uid", json_object_get(md, "uid")),
                     type, reason, note);
}

/* ---- the reconciler given to pkg/runtime ---------------------------------- */

/* ctl_reconcile as an rt_reconciler: ±10% jitter on the re-verification
 * delay spreads many stacks over the interval. */
static int reconcile_fn(void *ctx, const char *key, struct rt_result *res)
{
    int64_t after = 0;
    int err = ctl_reconcile(ctx, key, &after);
    if (err == 0 && after > 0)
        res->requeue_after_ms = after - after / 10 + (int64_t)(op_rand01() * (double)(after / 5));
    return err;
}

/* ---- the reconcile's ports, bound to the running manager ----------------- */

static json_t *env_get_stack(void *ctx, const char *key)
{
    return ctl_mgr_get_stack(ctx, key);
}

static json_t *env_get_cm(void *ctx, const char *key)
{
    return ctl_mgr_get_cm(ctx, key);
}

static char **env_owned_cms(void *ctx, const char *key)
{
    return ctl_mgr_owned_cms(ctx, key);
}

static int env_apply_cm(void *ctx, const char *ns, const json_t *body, json_t **res)
{
    struct ctl_manager *m = ctx;
    return kube_apply(m->client, &KUBE_RES_CONFIGMAP, ns, body, res, NULL);
}

static int env_delete_cm(void *ctx, const char *ns, const char *name)
{
    struct ctl_manager *m = ctx;
    return kube_delete(m->client, &KUBE_RES_CONFIGMAP, ns, name, NULL);
}

static int env_patch_status(void *ctx, const char *ns, const char *name, const json_t *patch, json_t **res)
{
    struct ctl_manager *m = ctx;
    return kube_merge_patch_status(m->client, &KUBE_RES_STACK, ns, name, patch, res, NULL);
}

static void env_emit_event(void *ctx, const json_t *regarding, const char *type, const char *reason,
                           const char *note)
{
    ctl_mgr_emit_event(ctx, regarding, type, reason, note);
}

static int env_lookup_ref(void *ctx, int is_configmap, const char *ns, const char *name, const char *key,
                          char **out, char *rv, size_t rvn)
{
    struct ctl_manager *m = ctx;
    return ctl_ref_lookup_kube_rv(m->client, is_configmap, ns, name, key, out, rv, rvn);
}

static int env_probe(void *ctx, const char *key, const struct probe_target *t, size_t n,
                     struct probe_result *results, int *done, int64_t wait_ms)
{
    struct ctl_manager *m = ctx;
    return ctl_prober_check(m->prober, key, t, n, results, done, wait_ms);
}

static int env_links(void *ctx, const char *key, const struct links_input *in, int64_t max_age_ms,
                     struct links_report *rep, int *have_prev, int64_t *running_ms)
{
    struct ctl_manager *m = ctx;
    return ctl_linker_check(m->linker, key, in, max_age_ms, rep, have_prev, running_ms);
}

static int64_t env_now_s(void *ctx)
{
    (void)ctx;
    return op_wall_s();
}

void ctl_stack_env_kube(struct ctl_manager *m)
{
    m->env = (struct stack_env){
        .get_stack = env_get_stack,
        .get_cm = env_get_cm,
        .owned_cms = env_owned_cms,
        .apply_cm = env_apply_cm,
        .delete_cm = env_delete_cm,
        .patch_status = env_patch_status,
        .emit_event = env_emit_event,
        .lookup_ref = env_lookup_ref,
        .probe = (m->probes && m->prober) ? env_probe : NULL,
        .now_s = env_now_s,
        .ctx = m,
        .links = m->linker ? env_links : NULL,
    };
}

/* ---- metrics and health --------------------------------------------------- */

struct ready_count {
    double t, f, u;
};

static int count_ready(const char *key, uintptr_t ready, void *payload)
{
    struct ready_count *c = payload;
    uintptr_t v = ready & CTL_READY_MASK;
    (void)key;
    if (v == 1)
        c->t++;
    else if (v == 2)
        c->f++;
    else
        c->u++;
    return 0;
}

/* crosslink_backend_up{namespace,stack,signal}: 1 when the signal's last
 * check passed, 0 otherwise; one series per configured signal. */
static int set_backend_up(const char *key, uintptr_t v, void *payload)
{
    struct ctl_manager *m = payload;
    const char *slash = strchr(key, '/');
    char ns[254];
    size_t nl;
    if (!slash)
        return 0;
    nl = (size_t)(slash - key);
    if (nl >= sizeof(ns))
        return 0;
    memcpy(ns, key, nl);
    ns[nl] = '\0';
    for (int i = 0; i < SPEC_SIGNAL_COUNT; i++) {
        if (!(v & ((uintptr_t)1 << (CTL_READY_CONFIGURED_SHIFT + i))))
            continue;
        /* the family was cleared and keys are unique: no lookup needed */
        rt_metric_set_new(m->m_backend_up,
                           (const char *[]){ns, slash + 1, spec_signal_name((enum spec_signal)i)},
                           (v & ((uintptr_t)1 << (CTL_READY_UP_SHIFT + i))) ? 1 : 0);
    }
    return 0;
}

/* The stack series of /metrics, run by the manager's collector after the
 * work-queue gauges. */
static void collect(struct rt_metrics *reg, void *payload)
{
    struct ctl_manager *m = payload;
    struct ready_count rc = {0, 0, 0};
    (void)reg;
    pthread_mutex_lock(&m->mu);
    (void)ctl_recs_foreach_ready(m, count_ready, &rc);
    rt_metric_clear(m->m_backend_up);
    (void)ctl_recs_foreach_ready(m, set_backend_up, m);
    pthread_mutex_unlock(&m->mu);
    rt_metric_set(m->m_stacks, (const char *[]){"true"}, rc.t);
    rt_metric_set(m->m_stacks, (const char *[]){"false"}, rc.f);
    rt_metric_set(m->m_stacks, (const char *[]){"unknown"}, rc.u);
    if (m->client)
        rt_metric_set(m->m_api_limit, NULL, kube_client_in_flight_limit(m->client));
}

/* The metrics of ObservabilityStacks (after the manager's own). */
static int register_metrics(struct ctl_manager *m)
{
    struct rt_metrics *r = m->metrics;
    m->m_stacks = rt_metrics_register(r, RT_METRIC_GAUGE, "crosslink_stacks",
                                       "ObservabilityStacks by the status of their Ready condition",
                                       (const char *[]){"ready", NULL}, NULL, 0);
    m->m_probe_time = rt_metrics_register(r, RT_METRIC_HISTOGRAM, "crosslink_backend_probe_duration_seconds",
                                           "Wall time of backend checks run by reconciles (cache hits excluded)",
                                           (const char *[]){"signal", NULL}, RT_RECONCILE_BUCKETS,
                                           RT_RECONCILE_NBUCKETS);
    m->m_backend_up = rt_metrics_register(r, RT_METRIC_GAUGE, "crosslink_backend_up",
                                           "1 when the backend of a stack's signal passed its last check",
                                           (const char *[]){"namespace", "stack", "signal", NULL}, NULL, 0);
    m->m_api_limit = rt_metrics_register(r, RT_METRIC_GAUGE, "crosslink_api_in_flight_limit",
                                          "Requests the API client lets through at once: halved by each "
                                          "round of 429s (API Priority and Fairness), raised again by answers",
                                          NULL, NULL, 0);
    m->m_link_checks = rt_metrics_register(r, RT_METRIC_COUNTER, LINKS_METRIC_CHECKS,
                                            "Links followed by LinksVerified rounds, by link and result "
                                            "(one round per distinct backends + correlation settings)",
                                            (const char *[]){"link", "result", NULL}, NULL, 0);
    m->m_events_dropped = rt_metrics_register(r, RT_METRIC_COUNTER, "crosslink_events_dropped_total",
                                               "Events not sent because the recorder's queue was full "
                                               "(a burst of reconciles; Events are best effort)",
                                               NULL, NULL, 0);
    return m->m_stacks && m->m_probe_time && m->m_backend_up && m->m_link_checks && m->m_events_dropped
               ? OP_OK
               : OP_ENOMEM;
}

static int start_http(struct ctl_manager *m)
{
    const struct ctl_options *o = m->opts;
    int err;
    if (o->metrics_addr && o->health_addr && !strcmp(o->metrics_addr, o->health_addr)) {
        struct rt_http_opts ho = {.addr = o->metrics_addr, .metrics = m->metrics, .health = 1, .ready = rt_manager_readyz, .payload = m->rt};
        return rt_http_start(&m->http_metrics, &ho);
    }
    if (o->metrics_addr) {
        struct rt_http_opts ho = {.addr = o->metrics_addr, .metrics = m->metrics};
        if ((err = rt_http_start(&m->http_metrics, &ho)) < 0)
            return err;
    }
    if (o->health_addr) {
        struct rt_http_opts ho = {.addr = o->health_addr, .health = 1, .ready = rt_manager_readyz, .payload = m->rt};
        if ((err = rt_http_start(&m->http_health, &ho)) < 0)
            return err;
    }
    return OP_OK;
}

/* ---- main ----------------------------------------------------------------- */

/* The manager around ctl_reconcile: the stack informer (handle h_stack)
 * and the informer of the ConfigMaps we manage (h_cm), both compacted by
 * their transforms; leader election as the options say. */
static int new_runtime(struct ctl_manager *m, const char *lease_ns)
{
    const struct ctl_options *opts = m->opts;
    struct rt_manager_opts mo = {0};
    struct rt_reconciler r = {reconcile_fn, m};
    struct rt_watch_opts so = {0}, co = {0};
    int err;

    mo.name = CTL_CONTROLLER_NAME;
    mo.key_field = "stack";
    mo.client = m->client;
    mo.metrics = m->metrics;
    mo.namespaces = (const char *const *)opts->namespaces;
    mo.n_namespaces = opts->n_namespaces;
    mo.workers = opts->workers;
    mo.stop = m->stop;
    mo.leader_elect = opts->leader_elect;
    mo.identity = opts->identity;
    mo.lease_ns = lease_ns;
    mo.lease_name = opts->lease_name;
    mo.collect = collect;
    mo.collect_payload = m;
    if ((err = rt_manager_new(&m->rt, &mo, &r)) < 0)
        return err;
    m->queue = rt_manager_queue(m->rt);
    so.resource = &KUBE_RES_STACK;
    so.transform = ctl_stack_transform;
    so.handler = ctl_on_stack_event;
    so.payload = m;
    co.resource = &KUBE_RES_CONFIGMAP;
    co.label_selector = MANAGED_SELECTOR;
    co.page_size = CTL_CM_PAGE_SIZE;
    co.transform = ctl_cm_transform;
    co.handler = ctl_on_cm_event;
    co.payload = m;
    if ((m->h_stack = rt_manager_watch(m->rt, &so)) < 0)
        return m->h_stack;
    if ((m->h_cm = rt_manager_watch(m->rt, &co)) < 0)
        return m->h_cm;
    return register_metrics(m);
}

/* Probes (shared results for most of a verify interval, so probes per
 * interval track distinct backends rather than stacks) and the Events
 * sender; each is optional: without it the operator runs degraded. */
static void start_probes_events(struct ctl_manager *m, const struct ctl_options *opts)
{
    int64_t ttl = opts->verify_interval_ms > 0 ? opts->verify_interval_ms * 8 / 10 : 30000;
    if (probe_engine_new(&m->probes, 64, ttl) < 0) {
        op_log(OP_LOG_WARN, "backend checks disabled", "error", op_err_last(), NULL);
        m->probes = NULL;
    } else if (ctl_prober_new(&m->prober, m->probes, 64, prober_notify, m) < 0) {
        op_log(OP_LOG_WARN, "backend checks disabled", "error", op_err_last(), NULL);
        m->prober = NULL;
    } else if (ctl_linker_new(&m->linker, 4, m->m_link_checks, prober_notify, m) < 0) {
        op_log(OP_LOG_WARN, "link checks disabled", "error", op_err_last(), NULL);
        m->linker = NULL;
    }
    if (rt_recorder_new(&m->recorder, m->client, "crosslink.dev/controller", opts->identity, m->m_events_dropped) <
        0) {
        op_log(OP_LOG_WARN, "events disabled", "error", op_err_last(), NULL);
        m->recorder = NULL;
    }
}

/* Everything between the signal mask and waiting: client, maps, the
 * runtime manager (queue, informers, metrics), probes, Events thread, the
 * reconcile's ports, HTTP endpoints, then the manager's informers and
 * leader election or workers. Returns 0 or an op_err (logged);
 * manager_stop undoes any prefix of it. */
static int manager_start(struct ctl_manager *m, struct ctl_options *opts, char **lease_ns_out)
{
    struct kube_config *cfg = NULL;
    struct kube_config_opts co = {0};
    char *lease_ns = NULL;
    char buf[32];
    int err = OP_ERR, concurrent;

    co.kubeconfig = opts->kubeconfig;
    co.context = opts->context;
    if ((err = kube_config_load(&cfg, &co)) < 0) {
        op_log(OP_LOG_ERROR, "cannot load Kubernetes configuration", "error", op_err_last(), NULL);
        goto fail;
    }
    lease_ns = op_strdup(opts->lease_namespace ? opts->lease_namespace : kube_config_namespace(cfg));
    if (!lease_ns || (err = kube_client_new(&m->client, cfg)) < 0) {
        op_log(OP_LOG_ERROR, "cannot create Kubernetes client", "error", op_err_last(), NULL);
        kube_config_free(cfg);
        goto fail;
    }
    cfg = NULL;
    if (opts->workers <= 0)
        opts->workers = ctl_default_workers(op_cpu_count());
    /* one idle connection per concurrent request: one per worker, plus
     * watches, Events and the Lease. As many in flight at most; fewer while
     * APF answers 429. A worker applies a stack's two ConfigMaps at once,
     * but a second slot per worker bought no speed (bench/RESULTS.md: the
     * apiserver is saturated long before) and cost ~1 MiB of TLS state. */
    concurrent = opts->workers + 4;
    kube_client_set_pool_max(m->client, (size_t)concurrent);
    kube_client_set_max_in_flight(m->client, concurrent);

    m->metrics = rt_metrics_new();
    m->memo = op_map_new(memo_free);
    if (!m->metrics || ctl_recs_init(m) < 0 || ctl_claims_init(m) < 0 || !m->memo ||
        new_runtime(m, lease_ns) < 0) {
        op_log(OP_LOG_ERROR, "out of memory", NULL);
        err = OP_ENOMEM;
        goto fail;
    }
    start_probes_events(m, opts);
    ctl_stack_env_kube(m);
    if ((err = start_http(m)) < 0) {
        op_log(OP_LOG_ERROR, "cannot start HTTP server", "error", op_err_last(), NULL);
        goto fail;
    }
    snprintf(buf, sizeof(buf), "%d", opts->workers);
    op_log(OP_LOG_INFO, "starting", "version", CROSSLINK_VERSION, "identity", opts->identity, "workers", buf,
           "leader_elect", opts->leader_elect ? "true" : "false", "lease", opts->leader_elect ? lease_ns : "",
           NULL);
    if ((err = rt_manager_start(m->rt)) < 0)
        goto fail; /* logged by the manager */

    *lease_ns_out = lease_ns;
    return OP_OK;
fail:
    *lease_ns_out = lease_ns;
    return err < 0 ? err : OP_ERR;
}

/* The orderly shutdown: the runtime manager stops taking work, lets
 * in-flight reconciles end (their writes are fenced once leadership is
 * gone), gives the Lease up and stops the informers; then Events, HTTP and
 * probes stop, and everything is freed. */
static void manager_stop(struct ctl_manager *m, char *lease_ns)
{
    rt_manager_stop(m->rt);
    rt_recorder_free(m->recorder);
    rt_http_free(m->http_metrics);
    rt_http_free(m->http_health);
    ctl_linker_free(m->linker); /* waits for rounds in flight (each within its timeouts) */
    ctl_prober_free(m->prober); /* waits for probes in flight (each within its timeout) */
    probe_engine_free(m->probes);
    rt_manager_free(m->rt); /* after the prober: its notify adds to the queue */
    m->queue = NULL;
    ctl_recs_fini(m);
    ctl_claims_fini(m);
    op_map_free(m->memo);
    kube_client_free(m->client);
    rt_metrics_free(m->metrics);
    free(lease_ns);
    pthread_mutex_destroy(&m->mu);
    rt_stop_free(m->stop);
}

int ctl_manager_main(struct ctl_options *opts)
{
    struct ctl_manager mm, *m = &mm;
    char *lease_ns = NULL;
    sigset_t set;
    int rc = 1;
    char why[128];

    memset(m, 0, sizeof(*m));
    m->opts = opts;
    m->default_verify_ms = opts->verify_interval_ms;
    pthread_mutex_init(&m->mu, NULL);

    /* every thread created from here on inherits the blocked signals; the
     * stop latch's signal thread takes them with sigwait */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (!(m->stop = rt_stop_new()) || rt_stop_on_signals(m->stop) < 0) {
        op_log(OP_LOG_ERROR, "cannot start the signal thread", NULL);
        goto out;
    }
    if (manager_start(m, opts, &lease_ns) < 0)
        goto out;
    rc = rt_stop_wait(m->stop, why, sizeof(why));
    op_log(OP_LOG_INFO, "shutting down", "reason", why, NULL);
out:
    manager_stop(m, lease_ns);
    op_log(OP_LOG_INFO, "stopped", NULL);
    return rc;
}
