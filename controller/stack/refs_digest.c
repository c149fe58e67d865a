/* refs_digest.c — records the resourceVersions of a stack's referenced
 * Secrets / ConfigMaps as the probe targets read them (refs_digest.h) and
 * hashes them with render_refs_digest. No request of its own, no value kept:
 * the value read is handed to the caller (the probe set, which wipes it). */
#include "refs_digest.h"

#include "render.h"

#include <stdio.h>
#include <string.h>

void ctl_refs_rec_init(struct ctl_refs_rec *rec, const struct stack_env *env, const struct spec_stack *s)
{
    memset(rec, 0, sizeof(*rec));
    rec->env = env;
    rec->ns = s->meta.namespace ? s->meta.namespace : "default";
    rec->n = spec_stack_refs(s, rec->refs);
}

int ctl_refs_rec_lookup(void *ud, int is_configmap, const char *ns, const char *name, const char *key,
                        char **out)
{
    struct ctl_refs_rec *rec = ud;
    const char *kind = is_configmap ? "ConfigMap" : "Secret";
    char rv[64] = "";
    int rc;

    if (!rec->env->lookup_ref)
        return op_err_set(OP_ENOTFOUND, "(no way to read it)");
    rc = rec->env->lookup_ref(rec->env->ctx, is_configmap, ns, name, key, out, rv, sizeof(rv));
    if (rc != OP_OK && rc != OP_ENOTFOUND && rc != OP_ENOMEM)
        rec->unsure = 1;
    for (size_t i = 0; i < rec->n; i++)
        if (!strcmp(rec->refs[i].kind, kind) && !strcmp(rec->refs[i].name, name) && !strcmp(ns, rec->ns)) {
            if (rv[0])
                snprintf(rec->rv[i], sizeof(rec->rv[i]), "%s", rv);
            break;
        }
    return rc;
}

char *ctl_refs_rec_digest(const struct ctl_refs_rec *rec)
{
    struct render_ref r[SPEC_REFS_MAX];
    for (size_t i = 0; i < rec->n; i++) {
        r[i].kind = rec->refs[i].kind;
        r[i].name = rec->refs[i].name;
        r[i].resource_version = rec->rv[i][0] ? rec->rv[i] : NULL;
    }
    return render_refs_digest(r, rec->n);
}
