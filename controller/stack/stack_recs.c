/* stack_recs.c — what the manager remembers of each stack besides its
 * claims and write memos (issue 16): one record per stack key in
 * ctl_manager.stacks (an op_map: its entry holds the key), with the
 * generation the informer last delivered, the Ready bits of the last
 * recorded reconcile, the refs digest last rendered and the names of the
 * ConfigMaps the stack controls. A record is made when its first part is
 * set and removed when its last is cleared: a ConfigMap's event can make it
 * before the stack's own, and a deleted stack's record stays until the
 * garbage collector has removed its ConfigMaps. One entry and one block per
 * stack (two with a refs digest), however many parts are set.
 * Not thread-safe: the caller holds ctl_manager.mu. */
#include "manager.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct ctl_stack_rec {
    uintptr_t seen;     /* ctl_rec_set_seen's value; 0 = unset */
    uintptr_t ready;    /* CTL_READY_* bits; 0 = unset */
    char *refs;         /* refs digest (owned); NULL = unset */
    uint32_t owned_len; /* bytes in owned; 0 = no ConfigMap */
    char owned[];       /* the owned ConfigMap names, each NUL-terminated, back to back */
};

static void rec_free(void *p)
{
    struct ctl_stack_rec *r = p;
    if (!r)
        return;
    free(r->refs);
    free(r);
}

int ctl_recs_init(struct ctl_manager *m)
{
    m->stacks = op_map_new(rec_free);
    return m->stacks ? OP_OK : OP_ENOMEM;
}

void ctl_recs_fini(struct ctl_manager *m)
{
    op_map_free(m->stacks);
    m->stacks = NULL;
}

/* key's record (borrowed), NULL when there is none. With make, an absent
 * record is made empty (NULL when memory runs out): the caller sets a part
 * of it or removes it again with rec_tidy. */
static struct ctl_stack_rec *rec_get(struct ctl_manager *m, const char *key, int make)
{
    struct ctl_stack_rec *r = op_map_get(m->stacks, key);
    if (r || !make)
        return r;
    if (!(r = calloc(1, sizeof(*r))))
        return NULL;
    if (op_map_put(m->stacks, key, r) < 0) {
        free(r);
        return NULL;
    }
    return r;
}

/* Removes key's record r once every part of it is unset. */
static void rec_tidy(struct ctl_manager *m, const char *key, const struct ctl_stack_rec *r)
{
    if (!r->seen && !r->ready && !r->refs && !r->owned_len)
        (void)op_map_del(m->stacks, key);
}

/* Sets the uintptr_t at offset off of key's record to v (0 unsets it) and
 * returns what it held (0 when unset). */
static uintptr_t rec_swap(struct ctl_manager *m, const char *key, size_t off, uintptr_t v)
{
    struct ctl_stack_rec *r = rec_get(m, key, v != 0);
    uintptr_t *w, prev;
    if (!r)
        return 0;
    w = (uintptr_t *)((char *)r + off);
    prev = *w;
    *w = v;
    rec_tidy(m, key, r);
    return prev;
}

uintptr_t ctl_rec_set_seen(struct ctl_manager *m, const char *key, uintptr_t seen)
{
    return rec_swap(m, key, offsetof(struct ctl_stack_rec, seen), seen);
}

uintptr_t ctl_rec_set_ready(struct ctl_manager *m, const char *key, uintptr_t bits)
{
    return rec_swap(m, key, offsetof(struct ctl_stack_rec, ready), bits);
}

const char *ctl_rec_refs(const struct ctl_manager *m, const char *key)
{
    const struct ctl_stack_rec *r = op_map_get(m->stacks, key);
    return r ? r->refs : NULL;
}

void ctl_rec_set_refs(struct ctl_manager *m, const char *key, const char *digest)
{
    struct ctl_stack_rec *r = rec_get(m, key, digest != NULL);
    char *c = NULL;
    if (!r || (digest && r->refs && !strcmp(r->refs, digest)))
        return;
    if (digest && !(c = op_strdup(digest)))
        goto out; /* the earlier digest stays */
    free(r->refs);
    r->refs = c;
out:
    rec_tidy(m, key, r);
}

/* The name among r's owned ConfigMaps (a pointer into r->owned), NULL when
 * r does not hold it. */
static char *owned_find(struct ctl_stack_rec *r, const char *name)
{
    for (char *s = r->owned; s < r->owned + r->owned_len; s += strlen(s) + 1)
        if (!strcmp(s, name))
            return s;
    return NULL;
}

void ctl_rec_own(struct ctl_manager *m, const char *key, const char *cm_name, int present)
{
    struct ctl_stack_rec *r = rec_get(m, key, present), *nr;
    char *at;
    size_t nl = strlen(cm_name) + 1;
    if (!r)
        return;
    at = owned_find(r, cm_name);
    if ((present != 0) == (at != NULL))
        goto out; /* already as asked */
    if (!present) {
        /* cut out in place (the block keeps its size until a name comes) */
        memmove(at, at + nl, (size_t)(r->owned + r->owned_len - (at + nl)));
        r->owned_len -= (uint32_t)nl;
        goto out;
    }
    /* a longer block replacing r (realloc would leave the map holding a
     * freed pointer); ConfigMaps come rarely, so this copy is rare too */
    if (r->owned_len + nl > UINT32_MAX ||
        !(nr = malloc(offsetof(struct ctl_stack_rec, owned) + r->owned_len + nl)))
        goto out;
    nr->seen = r->seen;
    nr->ready = r->ready;
    nr->refs = r->refs;
    r->refs = NULL; /* nr's now */
    nr->owned_len = r->owned_len + (uint32_t)nl;
    memcpy(nr->owned, r->owned, r->owned_len);
    memcpy(nr->owned + r->owned_len, cm_name, nl);
    (void)op_map_put(m->stacks, key, nr); /* replaces and frees r: cannot fail */
    r = nr;
out:
    rec_tidy(m, key, r);
}

char **ctl_rec_owned(const struct ctl_manager *m, const char *key)
{
    const struct ctl_stack_rec *r = op_map_get(m->stacks, key);
    char **v = NULL;
    size_t n = 0, i = 0;
    if (!r || !r->owned_len)
        return NULL;
    for (const char *s = r->owned; s < r->owned + r->owned_len; s += strlen(s) + 1)
        n++;
    if (!(v = calloc(n + 1, sizeof(*v))))
        return NULL;
    for (const char *s = r->owned; i < n; s += strlen(s) + 1)
        if (!(v[i++] = op_strdup(s))) {
            ctl_strv_free(v);
            return NULL;
        }
    return v;
}

struct ready_walk {
    int (*fn)(const char *key, uintptr_t ready, void *payload);
    void *payload;
};

static int ready_one(const char *key, void *val, void *payload)
{
    const struct ctl_stack_rec *r = val;
    const struct ready_walk *w = payload;
    return r->ready ? w->fn(key, r->ready, w->payload) : 0;
}

int ctl_recs_foreach_ready(const struct ctl_manager *m,
                           int (*fn)(const char *key, uintptr_t ready, void *payload), void *payload)
{
    struct ready_walk w = {fn, payload};
    return op_map_foreach(m->stacks, ready_one, &w);
}
