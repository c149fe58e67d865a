/* links_int.h — helpers shared between pkg/links' files (lk_ prefix); not
 * part of the public API. */
#ifndef CROSSLINK_LINKS_INT_H
#define CROSSLINK_LINKS_INT_H

#include "core.h"
#include "links.h"

struct lk_sb {
    char *p;
    size_t len, cap;
    int oom;
};
void lk_sb_add(struct lk_sb *b, const char *s, size_t n);
void lk_sb_puts(struct lk_sb *b, const char *s);
void lk_sb_printf(struct lk_sb *b, const char *fmt, ...) OP_PRINTF(2, 3);
void lk_sb_urlenc(struct lk_sb *b, const char *s);
char *lk_sb_take(struct lk_sb *b);
void lk_sb_free(struct lk_sb *b);

/* Grafana duration ("-5m", "90s", "1h"; bare number = seconds; "" → def_ms).
 * Returns 0 or -1. */
int lk_duration_ms(const char *s, int64_t def_ms, int64_t *out);
/* Trace/span id (hex, or base64 as in Tempo's OTLP JSON) → lowercase hex. */
void lk_id_hex(const char *in, char *out, size_t outsz);

#endif
