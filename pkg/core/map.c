/* map.c — the code base's one hash function (op_hash32, FNV-1a) and one
 * hash map: chained, string keys, that doubles its bucket
 * array at load factor 1. Keys are owned copies; values are opaque and freed
 * through the callback given at creation. No locking: the owner serialises. */
#include "core.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct op_map_ent {
    struct op_map_ent *next;
    uint32_t hash;
    void *val;
    char key[]; /* flexible array member (not a VLA) */
};

struct op_map {
    struct op_map_ent **b;
    size_t nb;
    size_t len;
    void (*free_val)(void *);
};

uint32_t op_hash32(uint32_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

static uint32_t hash_str(const char *s)
{
    return op_hash32(OP_HASH32_INIT, s, strlen(s));
}

struct op_map *op_map_new(void (*free_val)(void *))
{
    struct op_map *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->nb = 16;
    m->b = calloc(m->nb, sizeof(*m->b));
    if (!m->b) {
        free(m);
        return NULL;
    }
    m->free_val = free_val;
    return m;
}

void op_map_free(struct op_map *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nb; i++) {
        struct op_map_ent *e = m->b[i];
        while (e) {
            struct op_map_ent *n = e->next;
            if (m->free_val)
                m->free_val(e->val);
            free(e);
            e = n;
        }
    }
    free(m->b);
    free(m);
}

static struct op_map_ent **find_slot(const struct op_map *m, const char *key, uint32_t h)
{
    struct op_map_ent **pp = &m->b[h & (m->nb - 1)];
    while (*pp && ((*pp)->hash != h || strcmp((*pp)->key, key) != 0))
        pp = &(*pp)->next;
    return pp;
}

void *op_map_get(const struct op_map *m, const char *key)
{
    struct op_map_ent **pp = find_slot(m, key, hash_str(key));
    return *pp ? (*pp)->val : NULL;
}

int op_map_has(const struct op_map *m, const char *key)
{
    return *find_slot(m, key, hash_str(key)) != NULL;
}

static void grow(struct op_map *m)
{
    size_t nnb = m->nb * 2;
    struct op_map_ent **nb = calloc(nnb, sizeof(*nb));
    if (!nb)
        return; /* stay at the current size; chains just get longer */
    for (size_t i = 0; i < m->nb; i++) {
        struct op_map_ent *e = m->b[i];
        while (e) {
            struct op_map_ent *n = e->next;
            e->next = nb[e->hash & (nnb - 1)];
            nb[e->hash & (nnb - 1)] = e;
            e = n;
        }
    }
    free(m->b);
    m->b = nb;
    m->nb = nnb;
}

int op_map_put(struct op_map *m, const char *key, void *val)
{
    uint32_t h = hash_str(key);
    struct op_map_ent **pp = find_slot(m, key, h);
    struct op_map_ent *e;
    size_t kl;

    if (*pp) {
        if (m->free_val && (*pp)->val != val)
            m->free_val((*pp)->val);
        (*pp)->val = val;
        return OP_OK;
    }
    kl = strlen(key) + 1;
    e = malloc(sizeof(*e) + kl);
    if (!e)
        return op_err_set(OP_ENOMEM, "out of memory");
    memcpy(e->key, key, kl);
    e->hash = h;
    e->val = val;
    e->next = NULL;
    *pp = e;
    m->len++;
    if (m->len > m->nb)
        grow(m);
    return OP_OK;
}

void *op_map_take(struct op_map *m, const char *key)
{
    struct op_map_ent **pp = find_slot(m, key, hash_str(key));
    struct op_map_ent *e = *pp;
    void *v;
    if (!e)
        return NULL;
    *pp = e->next;
    v = e->val;
    free(e);
    m->len--;
    return v;
}

int op_map_del(struct op_map *m, const char *key)
{
    struct op_map_ent **pp = find_slot(m, key, hash_str(key));
    struct op_map_ent *e = *pp;
    if (!e)
        return OP_ENOTFOUND;
    *pp = e->next;
    if (m->free_val)
        m->free_val(e->val);
    free(e);
    m->len--;
    return OP_OK;
}

size_t op_map_len(const struct op_map *m)
{
    return m->len;
}

int op_map_foreach(const struct op_map *m, int (*fn)(const char *key, void *val, void *payload),
                    void *payload)
{
    for (size_t i = 0; i < m->nb; i++) {
        for (struct op_map_ent *e = m->b[i]; e; e = e->next) {
            int r = fn(e->key, e->val, payload);
            if (r)
                return r;
        }
    }
    return 0;
}

void op_map_filter_out(struct op_map *m, int (*pred)(const char *key, void *val, void *payload),
                        void *payload)
{
    for (size_t i = 0; i < m->nb; i++) {
        struct op_map_ent **pp = &m->b[i];
        while (*pp) {
            struct op_map_ent *e = *pp;
            if (pred(e->key, e->val, payload)) {
                *pp = e->next;
                if (m->free_val)
                    m->free_val(e->val);
                free(e);
                m->len--;
            } else {
                pp = &e->next;
            }
        }
    }
}
