/* claims_index.c — the claims of every stack (ctl_manager.claims) and their
 * inverted index (ctl_manager.claim_toks): each distinct 32-bit token of a
 * claim (ctl_claim.toks: one per way it can collide) names a chain of the
 * claims holding it, linked through ctl_claim.tok_next. The conflict checks
 * (find_conflict in reconcile.c, enqueue_overlapping in manager.c) walk the
 * chains of one claim's tokens — the stacks sharing a token with it, the
 * only ones ctl_claim_conflict can find colliding — instead of every stack.
 * One op_map entry per distinct token and the key copy are all it
 * allocates. Not thread-safe: the caller holds ctl_manager.mu. */
#include "manager.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOK_NAME 9 /* "%08x" */

static void tok_name(uint32_t t, char out[TOK_NAME])
{
    snprintf(out, TOK_NAME, "%08x", (unsigned)t);
}

/* 1 when toks[i] is the first of its value (toks is sorted; a claim may
 * hold one token twice, e.g. one uid for two signals): only those are
 * chained. */
static int first_of(const struct ctl_claim *c, unsigned i)
{
    return i == 0 || c->toks[i] != c->toks[i - 1];
}

/* Index of the first toks[] equal to t, c->ntoks when c does not hold t. */
static unsigned slot_of(const struct ctl_claim *c, uint32_t t)
{
    unsigned i = 0;
    while (i < c->ntoks && c->toks[i] != t)
        i++;
    return i;
}

/* Takes c out of the chain of its token toks[i]. */
static void unlink_tok(struct ctl_manager *m, struct ctl_claim *c, unsigned i)
{
    char name[TOK_NAME];
    struct ctl_claim *p;

    tok_name(c->toks[i], name);
    p = op_map_get(m->claim_toks, name);
    if (p == c) {
        if (c->tok_next[i])
            (void)op_map_put(m->claim_toks, name, c->tok_next[i]); /* a replacement: no allocation */
        else
            (void)op_map_del(m->claim_toks, name);
    }
    while (p && p != c) {
        unsigned j = slot_of(p, c->toks[i]);
        if (j == p->ntoks)
            break; /* not reached: every claim on the chain holds the token */
        if (p->tok_next[j] == c) {
            p->tok_next[j] = c->tok_next[i];
            break;
        }
        p = p->tok_next[j];
    }
    c->tok_next[i] = NULL;
}

int ctl_claims_init(struct ctl_manager *m)
{
    m->claims = op_map_new(ctl_claim_free);
    m->claim_toks = op_map_new(NULL);
    if (!m->claims || !m->claim_toks) {
        ctl_claims_fini(m);
        return op_err_set(OP_ENOMEM, "out of memory");
    }
    return OP_OK;
}

void ctl_claims_fini(struct ctl_manager *m)
{
    op_map_free(m->claim_toks); /* borrowed pointers only */
    op_map_free(m->claims);
    m->claim_toks = NULL;
    m->claims = NULL;
}

struct ctl_claim *ctl_claims_take(struct ctl_manager *m, const char *key)
{
    struct ctl_claim *c = op_map_take(m->claims, key);
    if (!c)
        return NULL;
    for (unsigned i = 0; i < c->ntoks; i++)
        if (first_of(c, i))
            unlink_tok(m, c, i);
    return c;
}

int ctl_claims_put(struct ctl_manager *m, const char *key, struct ctl_claim *c)
{
    char name[TOK_NAME];
    unsigned i;

    ctl_claim_free(ctl_claims_take(m, key));
    free(c->key);
    memset(c->tok_next, 0, sizeof(c->tok_next));
    if (!(c->key = op_strdup(key)) || op_map_put(m->claims, key, c) < 0)
        goto fail;
    for (i = 0; i < c->ntoks; i++) {
        if (!first_of(c, i))
            continue;
        tok_name(c->toks[i], name);
        c->tok_next[i] = op_map_get(m->claim_toks, name);
        if (op_map_put(m->claim_toks, name, c) < 0)
            goto unwind;
    }
    return OP_OK;
unwind:
    c->tok_next[i] = NULL;
    while (i-- > 0)
        if (first_of(c, i))
            unlink_tok(m, c, i);
    (void)op_map_take(m->claims, key);
fail:
    free(c->key);
    c->key = NULL;
    return op_err_set(OP_ENOMEM, "out of memory");
}

/* 1 when o holds one of the tokens of c before toks[i] (then the walk met
 * o on that token's chain already). */
static int met_before(const struct ctl_claim *c, unsigned i, const struct ctl_claim *o)
{
    for (unsigned k = 0; k < i; k++)
        if (first_of(c, k) && slot_of(o, c->toks[k]) < o->ntoks)
            return 1;
    return 0;
}

int ctl_claims_foreach_sharing(const struct ctl_manager *m, const struct ctl_claim *c,
                               int (*fn)(const char *key, void *claim, void *payload), void *payload)
{
    char name[TOK_NAME];

    for (unsigned i = 0; i < c->ntoks; i++) {
        struct ctl_claim *o;
        if (!first_of(c, i))
            continue;
        tok_name(c->toks[i], name);
        for (o = op_map_get(m->claim_toks, name); o; o = o->tok_next[slot_of(o, c->toks[i])]) {
            int r;
            if (o == c || met_before(c, i, o))
                continue;
            if ((r = fn(o->key, o, payload)))
                return r;
        }
    }
    return 0;
}
