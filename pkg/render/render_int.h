/* render_int.h — helpers shared by the pkg/render sources (not public). A
 * struct render_ctx records allocation failure so builders can be written as
 * straight-line code and checked once at the end. */
#ifndef CROSSLINK_RENDER_INT_H
#define CROSSLINK_RENDER_INT_H

#include "render.h"

struct render_ctx {
    int oom;
};

/* obj[key] = v (steals v, also on failure). */
void render__put(struct render_ctx *r, json_t *obj, const char *key, json_t *v);
/* append v to arr (steals v, also on failure). */
void render__append(struct render_ctx *r, json_t *arr, json_t *v);
/* New string with every '$' doubled (for provisioning YAML). */
json_t *render__esc(struct render_ctx *r, const char *s);
/* New string, verbatim (for dashboard JSON, fixed keywords). */
json_t *render__str(struct render_ctx *r, const char *s);
/* datasources.yaml from a render_datasources_doc tree (borrowed). */
int render__datasources_yaml(char **out, const json_t *doc, const struct render_options *opt);

#endif
