/* map.h — a small string-keyed hash map for the controller (work-queue sets,
 * backoff counters, caches, indexes). Not thread-safe: callers lock. */
#ifndef CROSSLINK_CTL_MAP_H
#define CROSSLINK_CTL_MAP_H

#include <stddef.h>

struct ctl_map;

/* free_val (may be NULL) is called for values that are replaced, deleted or
 * still present at ctl_map_free. Returns NULL on OOM. */
struct ctl_map *ctl_map_new(void (*free_val)(void *));
void ctl_map_free(struct ctl_map *m);
/* Borrowed value, or NULL when absent (store non-NULL values to tell apart). */
void *ctl_map_get(const struct ctl_map *m, const char *key);
int ctl_map_has(const struct ctl_map *m, const char *key);
/* Inserts or replaces (the old value is freed). The key is copied. Returns 0
 * or OP_ENOMEM (then val is NOT taken). */
int ctl_map_put(struct ctl_map *m, const char *key, void *val);
/* Removes and frees. Returns 0 or OP_ENOTFOUND. */
int ctl_map_del(struct ctl_map *m, const char *key);
/* Removes without freeing and returns the value (NULL when absent). */
void *ctl_map_take(struct ctl_map *m, const char *key);
size_t ctl_map_len(const struct ctl_map *m);
/* Calls fn for every entry in unspecified order; a non-zero return stops the
 * walk and is returned. fn must not modify the map. */
int ctl_map_foreach(const struct ctl_map *m, int (*fn)(const char *key, void *val, void *payload),
                    void *payload);
/* Removes every entry for which pred returns non-zero (values freed). */
void ctl_map_filter_out(struct ctl_map *m, int (*pred)(const char *key, void *val, void *payload),
                        void *payload);

#endif
