/* claims_index.c — the claims of every stack (ctl_manager.claims: stack key
 * → its struct ctl_claim) and their inverted index (ctl_manager.claim_toks:
 * each 32-bit token of a claim, one per way it can collide → the claims
 * holding it). The conflict checks (find_conflict in reconcile.c,
 * enqueue_overlapping in manager.c) walk the tokens of one claim — the
 * stacks sharing a token with it, the only ones ctl_claim_conflict can find
 * colliding — instead of every stack.
 *
 * Both are intrusive chained hash tables (struct ctl_claim_tab) of the
 * links inside the claims themselves (ctl_claim.self, ctl_claim.toks): the
 * key is the claim's own string, the token its link's hash, so recording a
 * claim allocates nothing beyond a bucket array that doubles now and then.
 * No generic table of the code base fits: op_map copies string keys into
 * an entry of its own. A token's bucket may hold other tokens too (equal
 * low bits): every walk compares the full hash. Not thread-safe: the
 * caller holds ctl_manager.mu. */
#include "manager.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define TAB_MIN_BUCKETS 16

/* ---- the table ------------------------------------------------------------ */

static int tab_init(struct ctl_claim_tab *t)
{
    t->b = calloc(TAB_MIN_BUCKETS, sizeof(*t->b));
    t->nb = t->b ? TAB_MIN_BUCKETS : 0;
    t->len = 0;
    return t->b ? OP_OK : OP_ENOMEM;
}

static struct ctl_claim_link *tab_bucket(const struct ctl_claim_tab *t, uint32_t hash)
{
    return t->b[hash & (t->nb - 1)];
}

/* Doubles the bucket array and moves every link to its new bucket; on
 * allocation failure the table stays as it is (longer chains). */
static void tab_grow(struct ctl_claim_tab *t)
{
    size_t nnb = t->nb * 2;
    struct ctl_claim_link **nb = calloc(nnb, sizeof(*nb));
    if (!nb)
        return;
    for (size_t i = 0; i < t->nb; i++) {
        struct ctl_claim_link *l = t->b[i], *next;
        for (; l; l = next) {
            next = l->next;
            l->next = nb[l->hash & (nnb - 1)];
            nb[l->hash & (nnb - 1)] = l;
        }
    }
    free(t->b);
    t->b = nb;
    t->nb = nnb;
}

static void tab_insert(struct ctl_claim_tab *t, struct ctl_claim_link *l)
{
    struct ctl_claim_link **head = &t->b[l->hash & (t->nb - 1)];
    l->next = *head;
    *head = l;
    if (++t->len > t->nb)
        tab_grow(t);
}

/* Unlinks l, which the table holds, from anywhere in its bucket. */
static void tab_remove(struct ctl_claim_tab *t, struct ctl_claim_link *l)
{
    struct ctl_claim_link **pp = &t->b[l->hash & (t->nb - 1)];
    while (*pp != l)
        pp = &(*pp)->next;
    *pp = l->next;
    l->next = NULL;
    t->len--;
}

/* ---- links → claims ------------------------------------------------------- */

static struct ctl_claim *self_owner(const struct ctl_claim_link *l)
{
    return (struct ctl_claim *)((const char *)l - offsetof(struct ctl_claim, self));
}

/* The claim whose toks[l->idx] is l. */
static struct ctl_claim *tok_owner(const struct ctl_claim_link *l)
{
    return (struct ctl_claim *)((const char *)(l - l->idx) - offsetof(struct ctl_claim, toks));
}

static uint32_t key_hash(const char *key)
{
    return op_hash32(OP_HASH32_INIT, key, strlen(key));
}

static struct ctl_claim *find(const struct ctl_manager *m, const char *key)
{
    uint32_t h = key_hash(key);
    for (const struct ctl_claim_link *l = tab_bucket(&m->claims, h); l; l = l->next) {
        struct ctl_claim *c = self_owner(l);
        if (l->hash == h && !strcmp(ctl_claim_str(c, c->key), key))
            return c;
    }
    return NULL;
}

/* 1 when c holds token t. */
static int holds(const struct ctl_claim *c, uint32_t t)
{
    for (unsigned i = 0; i < c->ntoks; i++)
        if (c->toks[i].hash == t)
            return 1;
    return 0;
}

/* ---- the API (manager.h) -------------------------------------------------- */

int ctl_claims_init(struct ctl_manager *m)
{
    if (tab_init(&m->claims) < 0 || tab_init(&m->claim_toks) < 0) {
        ctl_claims_fini(m);
        return op_err_set(OP_ENOMEM, "out of memory");
    }
    return OP_OK;
}

void ctl_claims_fini(struct ctl_manager *m)
{
    for (size_t i = 0; i < m->claims.nb; i++) {
        struct ctl_claim_link *l = m->claims.b[i], *next;
        for (; l; l = next) {
            next = l->next;
            ctl_claim_free(self_owner(l));
        }
    }
    free(m->claims.b);
    free(m->claim_toks.b);
    memset(&m->claims, 0, sizeof(m->claims));
    memset(&m->claim_toks, 0, sizeof(m->claim_toks));
}

const struct ctl_claim *ctl_claims_get(const struct ctl_manager *m, const char *key)
{
    return find(m, key);
}

struct ctl_claim *ctl_claims_take(struct ctl_manager *m, const char *key)
{
    struct ctl_claim *c = find(m, key);
    if (!c)
        return NULL;
    tab_remove(&m->claims, &c->self);
    for (unsigned i = 0; i < c->ntoks; i++)
        tab_remove(&m->claim_toks, &c->toks[i]);
    return c;
}

void ctl_claims_put(struct ctl_manager *m, struct ctl_claim *c)
{
    const char *key = ctl_claim_str(c, c->key);

    ctl_claim_free(ctl_claims_take(m, key));
    c->self.hash = key_hash(key);
    c->self.idx = 0;
    tab_insert(&m->claims, &c->self);
    for (unsigned i = 0; i < c->ntoks; i++) {
        c->toks[i].idx = i;
        tab_insert(&m->claim_toks, &c->toks[i]);
    }
}

/* 1 when o holds one of the tokens of c before toks[i] (then the walk met
 * o on that token already). */
static int met_before(const struct ctl_claim *c, unsigned i, const struct ctl_claim *o)
{
    for (unsigned k = 0; k < i; k++)
        if (holds(o, c->toks[k].hash))
            return 1;
    return 0;
}

int ctl_claims_foreach_sharing(const struct ctl_manager *m, const struct ctl_claim *c,
                               int (*fn)(const struct ctl_claim *claim, void *payload), void *payload)
{
    for (unsigned i = 0; i < c->ntoks; i++) {
        uint32_t t = c->toks[i].hash;
        for (const struct ctl_claim_link *l = tab_bucket(&m->claim_toks, t); l; l = l->next) {
            const struct ctl_claim *o;
            int r;
            if (l->hash != t)
                continue; /* another token of the same bucket */
            o = tok_owner(l);
            if (o == c || met_before(c, i, o))
                continue;
            if ((r = fn(o, payload)))
                return r;
        }
    }
    return 0;
}
