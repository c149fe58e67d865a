/* watch.c — list+watch into an in-memory store (a small informer), one thread
 * per watch, with client-go's reflector semantics. The initial state comes
 * from a watch-list stream (KEP-3157: sendInitialEvents=true, ended by the
 * bookmark annotated k8s.io/initial-events-end) decoded one event at a time
 * into a fresh store and then continued as the watch; a server that refuses
 * it gets a paged LIST (one page in memory at a time) and a WATCH. The stream
 * is framed by a pure line splitter; the resourceVersion advances with every
 * event and bookmark after the initial state; 410 (HTTP or ERROR event) →
 * relist, replace the store and report what vanished or changed; other
 * failures → jittered exponential backoff. The store keeps each object as one
 * block of compact JSON, decoded on read. The store lock is never held while
 * calling user callbacks. */
#include "kube_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- line splitter -------------------------------------------------------- */

void kube_line_splitter_init(struct kube_line_splitter *s, size_t max_line)
{
    op_buf_init(&s->buf, max_line + 1);
    s->max_line = max_line;
    s->discarding = 0;
}

void kube_line_splitter_cleanup(struct kube_line_splitter *s)
{
    op_buf_cleanup(&s->buf);
}

size_t kube_line_splitter_pending(const struct kube_line_splitter *s)
{
    return s->buf.len;
}

int kube_line_splitter_feed(struct kube_line_splitter *s, const char *data, size_t n,
                            kube_line_fn fn, void *payload)
{
    int rc = OP_OK;

    while (n > 0) {
        const char *nl = memchr(data, '\n', n);
        size_t k = nl ? (size_t)(nl - data) : n;

        if (s->discarding) {
            if (!nl)
                return rc;
            s->discarding = 0;
        } else if (s->buf.len + k > s->max_line) {
            op_buf_reset(&s->buf);
            s->discarding = !nl;
            rc = op_err_set(OP_ETOOBIG, "watch line longer than %zu bytes", s->max_line);
        } else if (op_buf_append(&s->buf, data, k) < 0) {
            op_buf_reset(&s->buf);
            s->discarding = !nl;
            rc = op_err_set(OP_ENOMEM, "out of memory");
        } else if (nl) {
            size_t len = s->buf.len;
            while (len > 0 && s->buf.data[len - 1] == '\r')
                len--;
            if (len > 0) {
                int r;
                s->buf.data[len] = '\0';
                r = fn(s->buf.data, len, payload);
                if (r != 0) {
                    op_buf_reset(&s->buf);
                    return r;
                }
            }
            op_buf_reset(&s->buf);
        }
        if (!nl)
            break;
        n -= k + 1;
        data += k + 1;
    }
    return rc;
}

int kube_watch_event_parse(const char *line, size_t len, char type_buf[16], json_t **obj_out)
{
    json_error_t jerr;
    json_t *ev = json_loadb(line, len, 0, &jerr), *obj;
    const char *t;

    if (!ev)
        return op_err_set(OP_EINVALID, "watch event: invalid JSON: %s", jerr.text);
    t = json_string_value(json_object_get(ev, "type"));
    obj = json_object_get(ev, "object");
    if (!t || !json_is_object(obj) || strlen(t) >= 16) {
        json_decref(ev);
        return op_err_set(OP_EINVALID, "watch event: missing type or object");
    }
    kube__strlcpy(type_buf, t, 16);
    *obj_out = json_incref(obj);
    json_decref(ev);
    return OP_OK;
}

/* ---- the store ------------------------------------------------------------ */

/* One stored object is one allocation: its key, its resourceVersion and the
 * object as compact JSON text. A jansson tree costs a malloc per node plus
 * hash tables (~100 bytes a node); the text is several times smaller, and a
 * read decodes it (microseconds for the compact objects informers keep).
 * metadata.name, .namespace and .resourceVersion repeat the key and rv, so
 * the text leaves out each one that does (bits in strip) and a read puts it
 * back: ~80 bytes less per object, the same object decoded. */
struct store_ent {
    struct store_ent *next;
    uint32_t hash;
    uint32_t rv_off;        /* data + rv_off: resourceVersion ("" when none) */
    uint32_t json_off;      /* data + json_off: the object, json_len bytes + NUL */
    unsigned json_len : 28; /* store_ent_new refuses larger objects */
    unsigned strip : 4;     /* STRIP_* left out of the text (metadata too, if
                               nothing else was in it) */
    char data[];            /* key NUL rv NUL json NUL */
};

#define STRIP_NAME 1u     /* metadata.name == the key's name */
#define STRIP_NS 2u       /* metadata.namespace == the key's namespace (non-empty) */
#define STRIP_RV 4u       /* metadata.resourceVersion, the entry's rv (non-empty) */
#define STORE_JSON_MAX ((1u << 28) - 1)

/* Chained hash map key → store_ent; doubles at load factor 1. Written by the
 * watch thread only, under the watch's lock; read under the lock. */
struct store {
    struct store_ent **b;
    size_t nb, len;
    size_t bytes; /* held by the entries (kube_watch_stats.store_bytes) */
};

/* The table is intrusive (one allocation per object holds key, rv and
 * JSON) rather than an op_map, which would add a node and a second key copy
 * per cached object; it shares pkg/core's hash function. */
static uint32_t store_hash(const char *s)
{
    return op_hash32(OP_HASH32_INIT, s, strlen(s));
}

static size_t store_ent_size(const struct store_ent *e)
{
    return sizeof(*e) + e->json_off + e->json_len + 1;
}

static void store_clear(struct store *s)
{
    for (size_t i = 0; i < s->nb; i++) {
        struct store_ent *e = s->b[i];
        while (e) {
            struct store_ent *n = e->next;
            free(e);
            e = n;
        }
        s->b[i] = NULL;
    }
    s->len = 0;
    s->bytes = 0;
}

static void store_cleanup(struct store *s)
{
    store_clear(s);
    free(s->b);
    s->b = NULL;
    s->nb = 0;
}

static struct store_ent **store_slot(const struct store *s, const char *key, uint32_t h)
{
    struct store_ent **pp;
    if (!s->nb)
        return NULL;
    pp = &s->b[h & (s->nb - 1)];
    while (*pp && ((*pp)->hash != h || strcmp((*pp)->data, key) != 0))
        pp = &(*pp)->next;
    return pp;
}

static struct store_ent *store_find(const struct store *s, const char *key)
{
    struct store_ent **pp = store_slot(s, key, store_hash(key));
    return pp ? *pp : NULL;
}

/* The object to serialise under key: obj itself (new reference), or a
 * shallow copy whose metadata lacks the members that repeat the key and the
 * entry's rv (which is obj's own resourceVersion), with *strip saying
 * which. NULL on OOM. */
static json_t *store_stripped(const char *key, const json_t *obj, unsigned *strip)
{
    const json_t *md = json_object_get(obj, "metadata");
    const char *slash = strchr(key, '/'), *name = slash ? slash + 1 : key;
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const char *orv = json_string_value(json_object_get(md, "resourceVersion"));
    const char *oname = json_string_value(json_object_get(md, "name"));
    json_t *copy, *mdc;

    *strip = 0;
    if (oname && !strcmp(oname, name))
        *strip |= STRIP_NAME;
    if (slash && ns && strlen(ns) == (size_t)(slash - key) && !memcmp(ns, key, (size_t)(slash - key)))
        *strip |= STRIP_NS;
    if (orv && *orv)
        *strip |= STRIP_RV;
    if (!*strip)
        return json_incref((json_t *)obj);
    copy = json_copy((json_t *)obj);
    mdc = json_copy((json_t *)md);
    if (!copy || !mdc || json_object_set_new(copy, "metadata", mdc) < 0) {
        json_decref(copy);
        return NULL;
    }
    if (*strip & STRIP_NAME)
        json_object_del(mdc, "name");
    if (*strip & STRIP_NS)
        json_object_del(mdc, "namespace");
    if (*strip & STRIP_RV)
        json_object_del(mdc, "resourceVersion");
    if (!json_object_size(mdc))
        json_object_del(copy, "metadata");
    return copy;
}

/* Serialises obj (borrowed) under key into a new entry; NULL on OOM or when
 * the object is too large to store. */
static struct store_ent *store_ent_new(const char *key, const json_t *obj)
{
    const char *rv = kube_obj_resource_version(obj);
    size_t kl = strlen(key) + 1, rl = (rv ? strlen(rv) : 0) + 1, jl;
    struct store_ent *e = NULL;
    unsigned strip;
    json_t *text = store_stripped(key, obj, &strip);

    if (!text)
        return NULL;
    jl = json_dumpb(text, NULL, 0, JSON_COMPACT);
    if (!jl || jl > STORE_JSON_MAX || kl + rl > UINT32_MAX - STORE_JSON_MAX - 1)
        goto out;
    e = malloc(sizeof(*e) + kl + rl + jl + 1);
    if (!e)
        goto out;
    memcpy(e->data, key, kl);
    memcpy(e->data + kl, rv ? rv : "", rl);
    if (json_dumpb(text, e->data + kl + rl, jl, JSON_COMPACT) != jl) {
        free(e);
        e = NULL;
        goto out;
    }
    e->data[kl + rl + jl] = '\0';
    e->next = NULL;
    e->hash = store_hash(key);
    e->rv_off = (uint32_t)kl;
    e->json_off = (uint32_t)(kl + rl);
    e->json_len = (uint32_t)jl;
    e->strip = strip;
out:
    json_decref(text);
    return e;
}

/* New reference to the object an entry holds, with the metadata members
 * the text left out put back (NULL on OOM). */
static json_t *store_ent_decode(const struct store_ent *e)
{
    json_t *obj = json_loadb(e->data + e->json_off, e->json_len, JSON_ALLOW_NUL, NULL), *md;
    const char *key = e->data, *slash = strchr(key, '/');
    int bad = 0;

    if (!obj || !e->strip)
        return obj;
    md = json_object_get(obj, "metadata");
    if (!md) {
        md = json_object();
        bad |= json_object_set_new(obj, "metadata", md) < 0;
    }
    if (e->strip & STRIP_NAME)
        bad |= json_object_set_new(md, "name", json_string(slash ? slash + 1 : key)) < 0;
    if (e->strip & STRIP_NS)
        bad |= json_object_set_new(md, "namespace", json_stringn(key, (size_t)(slash - key))) < 0;
    if (e->strip & STRIP_RV)
        bad |= json_object_set_new(md, "resourceVersion", json_string(e->data + e->rv_off)) < 0;
    if (bad) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

static void store_grow(struct store *s)
{
    size_t nnb = s->nb ? s->nb * 2 : 16;
    struct store_ent **nb = calloc(nnb, sizeof(*nb));
    if (!nb)
        return; /* stay at the current size; chains just get longer */
    for (size_t i = 0; i < s->nb; i++) {
        struct store_ent *e = s->b[i];
        while (e) {
            struct store_ent *n = e->next;
            e->next = nb[e->hash & (nnb - 1)];
            nb[e->hash & (nnb - 1)] = e;
            e = n;
        }
    }
    free(s->b);
    s->b = nb;
    s->nb = nnb;
}

/* Inserts e (stolen), replacing an entry with the same key, which is
 * returned for the caller to free (NULL when the key was new). On OOM of
 * the first bucket array e is freed and *failed set. */
static struct store_ent *store_put(struct store *s, struct store_ent *e, int *failed)
{
    struct store_ent **pp, *old;
    if (s->len >= s->nb)
        store_grow(s);
    if (!s->nb) {
        free(e);
        *failed = 1;
        return NULL;
    }
    pp = store_slot(s, e->data, e->hash);
    old = *pp;
    s->bytes += store_ent_size(e);
    if (old) {
        e->next = old->next;
        *pp = e;
        s->bytes -= store_ent_size(old);
        return old;
    }
    *pp = e;
    s->len++;
    return NULL;
}

/* Unlinks key's entry and returns it (NULL when absent). */
static struct store_ent *store_take(struct store *s, const char *key)
{
    struct store_ent **pp = store_slot(s, key, store_hash(key)), *e;
    if (!pp || !*pp)
        return NULL;
    e = *pp;
    *pp = e->next;
    s->len--;
    s->bytes -= store_ent_size(e);
    return e;
}

/* ---- the informer --------------------------------------------------------- */

/* A store being filled by a (re)list or the initial events of a watch-list,
 * swapped in whole when complete. order remembers the arrival order for the
 * events (NULL where an object was deleted again before the end). */
struct fill {
    struct store fresh; /* key → transformed object */
    struct store_ent **order;
    size_t n, cap;
};

/* Why a watch-list stream ended before its initial state was complete. */
enum wl_end {
    WL_NONE = 0,
    WL_RETRY,    /* again now, as a watch-list (RV reset or stream cut short) */
    WL_BACKOFF,  /* again as a watch-list after the usual backoff (429, no answer) */
    WL_FALLBACK, /* the server refused it: paged LIST now */
};

struct kube_watch {
    struct kube_client *c;
    struct kube_watch_opts o;
    char *ns, *label, *field, *resume_rv;
    pthread_t thread;
    int started;
    int joined;
    atomic_int stop;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct store store; /* key → object */
    char *rv;
    int synced;
    /* client-go's isLastSyncResourceVersionUnavailable: the next watch-list
     * asks for the latest state (no resourceVersion) */
    int rv_unavailable;
    struct kube_watch_stats stats;
    /* per-connection state, watch thread only */
    struct kube_line_splitter split;
    int initial;          /* watch-list: still receiving the initial state */
    uint64_t initial_n;   /* events received in this initial state */
    struct fill fill;     /* ... and the store they go to */
    struct kube_status stream_st; /* the ERROR event that ended a stream */
};

static void emit(struct kube_watch *w, enum kube_event_type t, const json_t *obj)
{
    if (w->o.on_event)
        w->o.on_event(t, obj, w->o.payload);
}

static json_t *transform(struct kube_watch *w, json_t *obj)
{
    if (!w->o.transform)
        return obj;
    return w->o.transform(obj, w->o.payload);
}

static void set_rv(struct kube_watch *w, const char *rv)
{
    char *copy;
    if (!rv || !*rv)
        return;
    copy = op_strdup(rv);
    if (!copy)
        return;
    pthread_mutex_lock(&w->lock);
    free(w->rv);
    w->rv = copy;
    pthread_mutex_unlock(&w->lock);
}

static void fill_type(const struct kube_resource *r, json_t *obj)
{
    char apiv[128];
    if (!json_object_get(obj, "apiVersion"))
        json_object_set_new(obj, "apiVersion", json_string(kube_resource_api_version(r, apiv)));
    if (!json_object_get(obj, "kind"))
        json_object_set_new(obj, "kind", json_string(r->kind));
}

static void fill_cleanup(struct fill *f)
{
    store_cleanup(&f->fresh);
    free(f->order);
    memset(f, 0, sizeof(*f));
}

/* Transforms obj (stolen) and puts it into f, replacing an earlier object
 * with the same key. Objects the transform drops or that have no key are
 * skipped. Errors: OP_ENOMEM. */
static int fill_put(struct kube_watch *w, struct fill *f, json_t *obj)
{
    struct store_ent *e, *old;
    char kbuf[512];
    json_t *t = transform(w, obj); /* steals obj */
    int failed = 0;

    if (!t)
        return OP_OK;
    if (kube_obj_key(t, kbuf, sizeof(kbuf)) < 0) {
        json_decref(t);
        return OP_OK;
    }
    e = store_ent_new(kbuf, t);
    json_decref(t);
    if (!e)
        return op_err_set(OP_ENOMEM, "out of memory");
    if (f->n == f->cap) {
        size_t nc = f->cap ? f->cap * 2 : 64;
        struct store_ent **no = realloc(f->order, nc * sizeof(*no));
        if (!no) {
            free(e);
            return op_err_set(OP_ENOMEM, "out of memory");
        }
        f->order = no;
        f->cap = nc;
    }
    old = store_put(&f->fresh, e, &failed);
    if (failed)
        return op_err_set(OP_ENOMEM, "out of memory");
    if (old) { /* the same key twice: keep the last, in the first one's place */
        for (size_t k = 0; k < f->n; k++)
            if (f->order[k] == old)
                f->order[k] = e;
        free(old);
    } else {
        f->order[f->n++] = e;
    }
    return OP_OK;
}

/* Removes key from f (a DELETED among the initial events). */
static void fill_del(struct fill *f, const char *key)
{
    struct store_ent *e = store_take(&f->fresh, key);
    if (!e)
        return;
    for (size_t k = 0; k < f->n; k++)
        if (f->order[k] == e)
            f->order[k] = NULL;
    free(e);
}

/* relist's page callback: transforms each item of one page into the fill
 * (the next store) so the untransformed page can be freed before the next
 * is fetched. */
static int relist_page(json_t *items, int restart, void *payload)
{
    struct kube_watch *w = payload;
    struct fill *f = &w->fill;
    json_t *item;
    int err;

    if (restart) {
        fill_cleanup(f); /* continue token expired: a new snapshot */
    }
    for (size_t i = 0; i < json_array_size(items); i++) {
        if (atomic_load(&w->stop))
            return op_err_set(OP_ETIMEOUT, "stopped");
        /* take the item out of the page: transform gets the only reference
         * and can free what it strips right away */
        item = json_incref(json_array_get(items, i));
        json_array_set_new(items, i, json_null());
        if ((err = fill_put(w, f, item)) < 0)
            return err;
    }
    return OP_OK;
}

static void emit_ent(struct kube_watch *w, enum kube_event_type t, const struct store_ent *e)
{
    json_t *obj;
    if (!w->o.on_event)
        return;
    obj = store_ent_decode(e);
    if (obj)
        emit(w, t, obj);
    json_decref(obj);
}

/* Swaps w->fill in as the store at resourceVersion rv (stolen; NULL keeps
 * the current one), emits the differences to the old store and marks the
 * watch synced. Like client-go's Replace: the old store stays until the new
 * state is complete. */
static void install(struct kube_watch *w, char *rv, int streamed)
{
    struct store old;

    pthread_mutex_lock(&w->lock);
    old = w->store;
    w->store = w->fill.fresh;
    memset(&w->fill.fresh, 0, sizeof(w->fill.fresh));
    if (rv) {
        free(w->rv);
        w->rv = rv;
    }
    w->rv_unavailable = 0;
    w->stats.lists++;
    if (streamed)
        w->stats.streamed++;
    pthread_mutex_unlock(&w->lock);

    /* only this thread writes the store: reading it unlocked is safe, and
     * fill.order points into it */
    for (size_t i = 0; i < w->fill.n; i++) {
        const struct store_ent *e = w->fill.order[i], *prev;
        if (!e)
            continue;
        prev = store_find(&old, e->data);
        if (!prev)
            emit_ent(w, KUBE_EVENT_ADDED, e);
        else if (!prev->data[prev->rv_off] || !e->data[e->rv_off] ||
                 strcmp(prev->data + prev->rv_off, e->data + e->rv_off) != 0)
            emit_ent(w, KUBE_EVENT_MODIFIED, e);
    }
    for (size_t i = 0; i < old.nb; i++)
        for (const struct store_ent *e = old.b[i]; e; e = e->next)
            if (!store_find(&w->store, e->data))
                emit_ent(w, KUBE_EVENT_DELETED, e);
    store_cleanup(&old);
    fill_cleanup(&w->fill);
    pthread_mutex_lock(&w->lock);
    w->synced = 1;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    if (w->o.on_synced)
        w->o.on_synced(w->o.payload);
}

/* Lists everything page by page into a fresh store (each page transformed,
 * then dropped before the next is fetched), swaps it in and emits the
 * differences. On failure the old store stays. */
static int relist(struct kube_watch *w)
{
    struct kube_list_opts lo = {w->label, w->field, w->o.page_size > 0 ? w->o.page_size : 500, NULL};
    struct kube_status st;
    char *rv = NULL;
    int err;

    memset(&st, 0, sizeof(st));
    fill_cleanup(&w->fill);
    err = kube_list_each(w->c, w->o.resource, w->ns, &lo, relist_page, w, &rv, &st);
    if (err < 0) {
        if (w->o.on_error && !atomic_load(&w->stop))
            w->o.on_error(err, &st, op_err_last(), w->o.payload);
        fill_cleanup(&w->fill);
        free(rv);
        return err;
    }
    /* kube_list_each's copy, "" when the server sent none */
    install(w, rv, 0);
    return OP_OK;
}

/* The initial-events-end bookmark of a watch-list (metadata.annotations
 * "k8s.io/initial-events-end": "true"). */
static int is_initial_end(const json_t *obj)
{
    const json_t *a = json_object_get(json_object_get(obj, "metadata"), "annotations");
    const char *v = json_string_value(json_object_get(a, "k8s.io/initial-events-end"));
    return v && strcmp(v, "true") == 0;
}

/* One event of a watch-list's initial state: into the fill; the bookmark
 * that ends it installs the fill and switches the stream to watching. The
 * initial ADDED events are not in resourceVersion order, so the
 * resourceVersion is taken only from that bookmark (client-go likewise). */
static int on_initial(struct kube_watch *w, const char *type, json_t *obj)
{
    w->initial_n++;
    if (strcmp(type, "BOOKMARK") == 0) {
        const char *rv = kube_obj_resource_version(obj);
        char *copy;
        pthread_mutex_lock(&w->lock);
        w->stats.bookmarks++;
        pthread_mutex_unlock(&w->lock);
        if (!is_initial_end(obj))
            return OP_OK;
        if (!rv || !*rv)
            return op_err_set(OP_EINVALID, "watch-list %s: initial-events-end bookmark without resourceVersion",
                              w->o.resource->plural);
        if (!(copy = op_strdup(rv)))
            return op_err_set(OP_ENOMEM, "out of memory");
        w->initial = 0;
        install(w, copy, 1);
        return OP_OK;
    }
    fill_type(w->o.resource, obj);
    if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0)
        return fill_put(w, &w->fill, json_incref(obj));
    if (strcmp(type, "DELETED") == 0) {
        char kbuf[512];
        json_t *t = transform(w, json_incref(obj));
        if (t && kube_obj_key(t, kbuf, sizeof(kbuf)) == 0)
            fill_del(&w->fill, kbuf);
        json_decref(t);
    }
    return OP_OK; /* unknown type: ignore */
}

static int on_line(const char *line, size_t len, void *payload)
{
    struct kube_watch *w = payload;
    char type[16], kbuf[512];
    json_t *obj = NULL, *stored = NULL;
    struct store_ent *ent = NULL, *prev = NULL;
    int err = OP_OK;

    if ((err = kube_watch_event_parse(line, len, type, &obj)) < 0)
        return err; /* a garbled stream cannot be trusted: reconnect */
    if (w->initial && strcmp(type, "ERROR") != 0) {
        err = on_initial(w, type, obj);
        goto out;
    }
    if (strcmp(type, "BOOKMARK") == 0) {
        set_rv(w, kube_obj_resource_version(obj));
        pthread_mutex_lock(&w->lock);
        w->stats.bookmarks++;
        pthread_mutex_unlock(&w->lock);
        goto out;
    }
    if (strcmp(type, "ERROR") == 0) {
        struct kube_status st;
        char *s = json_dumps(obj, JSON_COMPACT);
        int code = (int)json_integer_value(json_object_get(obj, "code"));
        kube_status_decode(&st, code, s, s ? strlen(s) : 0);
        free(s);
        w->stream_st = st;
        err = kube_err_from_http(code ? code : 500);
        if (err == OP_OK)
            err = OP_ERR;
        op_err_set(err, "watch %s: ERROR event %d %s: %s", w->o.resource->plural, code, st.reason,
                   st.message);
        goto out;
    }
    fill_type(w->o.resource, obj);
    {
        const char *rv = kube_obj_resource_version(obj);
        char *rvc = op_strdup(rv);
        int deleted = strcmp(type, "DELETED") == 0;
        if (strcmp(type, "ADDED") != 0 && strcmp(type, "MODIFIED") != 0 && !deleted) {
            free(rvc);
            goto out; /* unknown type: ignore */
        }
        stored = transform(w, json_incref(obj));
        if (!stored || kube_obj_key(stored, kbuf, sizeof(kbuf)) < 0) {
            free(rvc);
            set_rv(w, rv);
            goto out;
        }
        if (!deleted && !(ent = store_ent_new(kbuf, stored))) {
            /* abort the stream without advancing the resourceVersion:
             * the next watch delivers this event again */
            free(rvc);
            err = op_err_set(OP_ENOMEM, "out of memory");
            goto out;
        }
        pthread_mutex_lock(&w->lock);
        if (deleted) {
            prev = store_take(&w->store, kbuf);
        } else {
            int failed = 0;
            prev = store_put(&w->store, ent, &failed);
            ent = NULL; /* stolen */
            if (failed)
                err = op_err_set(OP_ENOMEM, "out of memory");
        }
        if (rvc && err == OP_OK) {
            free(w->rv);
            w->rv = rvc;
            rvc = NULL;
        }
        w->stats.events++;
        pthread_mutex_unlock(&w->lock);
        free(rvc);
        if (err < 0)
            goto out;
        if (deleted)
            emit(w, KUBE_EVENT_DELETED, stored);
        else
            emit(w, prev ? KUBE_EVENT_MODIFIED : KUBE_EVENT_ADDED, stored);
    }
out:
    free(prev);
    free(ent);
    json_decref(stored);
    json_decref(obj);
    return err;
}

static int sink(const char *data, size_t n, void *payload)
{
    struct kube_watch *w = payload;
    /* OP_ETOOBIG means an event was lost: abort, the loop relists */
    return kube_line_splitter_feed(&w->split, data, n, on_line, w);
}

/* One watch connection. 0 = normal end (server timeout), else an op_err;
 * *stc (may be NULL) receives the HTTP status or the ERROR event that ended
 * it. initial: a watch-list — sendInitialEvents=true,
 * resourceVersionMatch=NotOlderThan from the last resourceVersion (none when
 * it is unavailable: the latest state, a consistent read), the initial
 * events go to w->fill and the stream continues as a plain watch once they
 * are complete (w->initial is cleared then). */
static int watch_once(struct kube_watch *w, int initial, struct kube_status *stc)
{
    struct kube_query q;
    struct kube__stream s;
    struct kube_status st;
    struct op_buf path;
    char *rv;
    int err;

    pthread_mutex_lock(&w->lock);
    rv = initial && w->rv_unavailable ? NULL : op_strdup(w->rv);
    w->stats.watches++;
    pthread_mutex_unlock(&w->lock);
    memset(&q, 0, sizeof(q));
    memset(&st, 0, sizeof(st));
    memset(&w->stream_st, 0, sizeof(w->stream_st));
    q.watch = 1;
    q.allow_watch_bookmarks = 1;
    q.resource_version = rv;
    if (initial) {
        q.send_initial_events = 1;
        q.resource_version_match = "NotOlderThan";
    }
    q.label_selector = w->label;
    q.field_selector = w->field;
    q.timeout_seconds = w->o.timeout_seconds > 0 ? w->o.timeout_seconds
                                                 : 300 + (long)(op_rand01() * 300.0);
    op_buf_init(&path, 16384);
    err = kube_path(&path, w->o.resource, w->o.resource->namespaced ? w->ns : NULL, NULL, NULL, &q);
    free(rv);
    if (err < 0)
        goto out;
    memset(&s, 0, sizeof(s));
    s.sink = sink;
    s.payload = w;
    s.stop_flag = &w->stop;
    s.idle_ms = w->o.idle_timeout_ms > 0 ? w->o.idle_timeout_ms : 180000;
    fill_cleanup(&w->fill);
    w->initial = initial;
    w->initial_n = 0;
    kube_line_splitter_init(&w->split, KUBE_MAX_WATCH_LINE);
    err = kube__request_stream(w->c, path.data, &s, &st);
    kube_line_splitter_cleanup(&w->split);
    if (w->stream_st.code) /* an ERROR event said why */
        st = w->stream_st;
    if (err < 0 && err != OP_EGONE && w->o.on_error && !atomic_load(&w->stop) &&
        !(initial && w->initial && st.code >= 400 && st.code != 429 && st.code != 410))
        w->o.on_error(err, &st, op_err_last(), w->o.payload); /* a refusal is not reported */
out:
    if (stc)
        *stc = st;
    op_buf_cleanup(&path);
    return err;
}

/* client-go's isTooLargeResourceVersionError: the server has not caught up
 * with the resourceVersion we asked for. */
static int too_large_rv(const struct kube_status *st)
{
    return strstr(st->message, "Too large resource version") != NULL ||
           strcmp(st->reason, "ResourceVersionTooLarge") == 0;
}

/* Fetches the initial state (and every relist) as a watch-list stream that
 * then goes on as the watch; returns the stream's end like watch_once (0 =
 * the server ended the watch after the initial state) and in *end what to
 * do when the initial state did not complete. The fill is dropped then. */
static int watch_list(struct kube_watch *w, enum wl_end *end)
{
    struct kube_status st;
    int err = watch_once(w, 1, &st);
    int incomplete = w->initial;

    w->initial = 0;
    *end = WL_NONE;
    if (!incomplete)
        return err; /* the state was installed; this was the watch's end */
    fill_cleanup(&w->fill);
    if (atomic_load(&w->stop))
        return err;
    if (err == OP_OK) {
        /* ended before the initial-events-end bookmark: again, unless the
         * server sent nothing at all (it does not stream initial events) */
        *end = w->initial_n ? WL_RETRY : WL_FALLBACK;
        return OP_ERR;
    }
    if (err == OP_EGONE || too_large_rv(&st)) {
        pthread_mutex_lock(&w->lock);
        w->rv_unavailable = 1; /* ask for the latest state */
        if (err == OP_EGONE)
            w->stats.gone++;
        pthread_mutex_unlock(&w->lock);
        *end = WL_RETRY;
    } else if (st.code == 0 || st.code == 429 || (st.code >= 200 && st.code < 300)) {
        *end = WL_BACKOFF; /* no answer, throttled, or cut off mid-stream */
    } else {
        *end = WL_FALLBACK; /* refused (WatchList gate off, an old server) */
    }
    return err;
}

/* Sleeps up to ms, waking early on stop. */
static void wait_ms(struct kube_watch *w, long ms)
{
    struct timespec ts;
    op_mono_deadline(&ts, ms);
    pthread_mutex_lock(&w->lock);
    while (!atomic_load(&w->stop)) {
        if (pthread_cond_timedwait(&w->cond, &w->lock, &ts) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&w->lock);
}

long kube__watch_backoff_step(long *backoff, double r)
{
    long sleep_for = *backoff + (long)(r * (double)*backoff);
    if (sleep_for > KUBE_BACKOFF_MAX_MS)
        sleep_for = KUBE_BACKOFF_MAX_MS;
    *backoff = *backoff * 2 > KUBE_BACKOFF_MAX_MS ? KUBE_BACKOFF_MAX_MS : *backoff * 2;
    return sleep_for;
}

static void *watch_main(void *arg)
{
    struct kube_watch *w = arg;
    long backoff = KUBE_BACKOFF_INIT_MS;
    int64_t last_fail = 0;
    int need_list = 1, retries = 0;

    if (w->resume_rv) {
        pthread_mutex_lock(&w->lock);
        w->rv = op_strdup(w->resume_rv);
        pthread_mutex_unlock(&w->lock);
        need_list = w->rv == NULL;
    }
    while (!atomic_load(&w->stop)) {
        int err;
        if (need_list && w->o.initial != KUBE_INITIAL_LIST) {
            enum wl_end end;
            err = watch_list(w, &end);
            if (end == WL_RETRY && ++retries <= 3)
                continue; /* at once, like client-go; bounded */
            if (end == WL_FALLBACK || end == WL_RETRY) {
                pthread_mutex_lock(&w->lock);
                w->stats.fallbacks++;
                pthread_mutex_unlock(&w->lock);
                err = relist(w);
            }
            retries = 0;
            if (end == WL_NONE && !atomic_load(&w->stop)) {
                /* the state is installed; the stream ended as a watch does */
                need_list = 0;
                if (err == OP_EGONE) {
                    pthread_mutex_lock(&w->lock);
                    w->stats.gone++;
                    pthread_mutex_unlock(&w->lock);
                    need_list = 1;
                    continue;
                }
                if (err == OP_ETOOBIG || err == OP_EINVALID)
                    need_list = 1;
            }
        } else if (need_list) {
            err = relist(w);
        } else {
            err = watch_once(w, 0, NULL);
            if (err == OP_EGONE) {
                pthread_mutex_lock(&w->lock);
                w->stats.gone++;
                pthread_mutex_unlock(&w->lock);
                need_list = 1;
                continue; /* relist right away, like client-go */
            }
            if (err == OP_ETOOBIG || err == OP_EINVALID)
                need_list = 1; /* lost an event: resynchronise */
        }
        if (atomic_load(&w->stop))
            break;
        if (err == OP_OK) {
            need_list = 0;
            continue;
        }
        /* failure: jittered exponential backoff */
        {
            int64_t now = op_mono_ms();
            long sleep_for;
            if (last_fail && now - last_fail > KUBE_BACKOFF_RESET_MS)
                backoff = KUBE_BACKOFF_INIT_MS;
            last_fail = now;
            sleep_for = kube__watch_backoff_step(&backoff, op_rand01());
            pthread_mutex_lock(&w->lock);
            w->stats.errors++;
            pthread_mutex_unlock(&w->lock);
            wait_ms(w, sleep_for);
        }
    }
    return NULL;
}

static void watch_destroy(struct kube_watch *w)
{
    if (!w)
        return;
    store_cleanup(&w->store);
    fill_cleanup(&w->fill);
    free(w->rv);
    free(w->ns);
    free(w->label);
    free(w->field);
    free(w->resume_rv);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w);
}

int kube_watch_start(struct kube_watch **out, struct kube_client *c,
                     const struct kube_watch_opts *o)
{
    struct kube_watch *w;
    pthread_condattr_t ca;

    if (!c || !o || !o->resource)
        return op_err_set(OP_EINVALID, "kube_watch_start: client and resource are required");
    w = calloc(1, sizeof(*w));
    if (!w)
        return op_err_set(OP_ENOMEM, "out of memory");
    w->c = c;
    w->o = *o;
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&w->stop, 0);
    w->ns = o->ns && *o->ns ? op_strdup(o->ns) : NULL;
    w->label = o->label_selector && *o->label_selector ? op_strdup(o->label_selector) : NULL;
    w->field = o->field_selector && *o->field_selector ? op_strdup(o->field_selector) : NULL;
    w->resume_rv = o->resume_resource_version && *o->resume_resource_version
                       ? op_strdup(o->resume_resource_version)
                       : NULL;
    w->o.ns = w->ns;
    w->o.label_selector = w->label;
    w->o.field_selector = w->field;
    w->o.resume_resource_version = w->resume_rv;
    if ((o->ns && *o->ns && !w->ns) || (o->label_selector && *o->label_selector && !w->label) ||
        (o->field_selector && *o->field_selector && !w->field) ||
        (o->resume_resource_version && *o->resume_resource_version && !w->resume_rv)) {
        watch_destroy(w);
        return op_err_set(OP_ENOMEM, "out of memory");
    }
    if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
        watch_destroy(w);
        return op_err_set(OP_ERR, "pthread_create failed");
    }
    w->started = 1;
    *out = w;
    return OP_OK;
}

void kube_watch_stop(struct kube_watch *w)
{
    if (!w || !w->started)
        return;
    pthread_mutex_lock(&w->lock);
    atomic_store(&w->stop, 1);
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    if (!w->joined) {
        pthread_join(w->thread, NULL);
        w->joined = 1;
    }
}

void kube_watch_free(struct kube_watch *w)
{
    if (!w)
        return;
    kube_watch_stop(w);
    watch_destroy(w);
}

int kube_watch_synced(struct kube_watch *w)
{
    int s;
    pthread_mutex_lock(&w->lock);
    s = w->synced;
    pthread_mutex_unlock(&w->lock);
    return s;
}

int kube_watch_wait_synced(struct kube_watch *w, long timeout_ms)
{
    struct timespec ts;
    int s;

    op_mono_deadline(&ts, timeout_ms);
    pthread_mutex_lock(&w->lock);
    while (!w->synced && !atomic_load(&w->stop)) {
        if (pthread_cond_timedwait(&w->cond, &w->lock, &ts) == ETIMEDOUT)
            break;
    }
    s = w->synced;
    pthread_mutex_unlock(&w->lock);
    return s ? OP_OK : op_err_set(OP_ETIMEOUT, "watch not synced after %ld ms", timeout_ms);
}

json_t *kube_watch_get(struct kube_watch *w, const char *key)
{
    const struct store_ent *e;
    json_t *v = NULL;
    pthread_mutex_lock(&w->lock);
    e = store_find(&w->store, key);
    if (e)
        v = store_ent_decode(e);
    pthread_mutex_unlock(&w->lock);
    return v;
}

void kube_watch_foreach(struct kube_watch *w, kube_watch_foreach_fn fn, void *payload)
{
    json_t *snap;
    const char *key;
    json_t *v;

    pthread_mutex_lock(&w->lock);
    snap = json_object(); /* decoded copies */
    for (size_t i = 0; snap && i < w->store.nb; i++) {
        for (const struct store_ent *e = w->store.b[i]; e; e = e->next) {
            if (json_object_set_new(snap, e->data, store_ent_decode(e)) < 0) {
                json_decref(snap);
                snap = NULL;
                break;
            }
        }
    }
    pthread_mutex_unlock(&w->lock);
    if (!snap)
        return;
    json_object_foreach(snap, key, v) {
        if (fn(key, v, payload) != 0)
            break;
    }
    json_decref(snap);
}

size_t kube_watch_count(struct kube_watch *w)
{
    size_t n;
    pthread_mutex_lock(&w->lock);
    n = w->store.len;
    pthread_mutex_unlock(&w->lock);
    return n;
}

char *kube_watch_resource_version(struct kube_watch *w)
{
    char *rv;
    pthread_mutex_lock(&w->lock);
    rv = op_strdup(w->rv);
    pthread_mutex_unlock(&w->lock);
    return rv;
}

void kube_watch_get_stats(struct kube_watch *w, struct kube_watch_stats *out)
{
    pthread_mutex_lock(&w->lock);
    *out = w->stats;
    out->store_bytes = w->store.bytes;
    pthread_mutex_unlock(&w->lock);
}
