/* refs_digest.h — the refs digest of a stack's data-source file (issue 12,
 * point 8): the resourceVersions of the Secrets / ConfigMaps its data sources
 * read through $__file{}, recorded while the probe targets resolve them (the
 * same one-object GETs, once per verify interval), so a rotated Secret
 * changes the rendered file and the sidecar reloads Grafana. Only names and
 * resourceVersions are kept, never values. */
#ifndef CROSSLINK_CTL_REFS_DIGEST_H
#define CROSSLINK_CTL_REFS_DIGEST_H

#include "manager.h"
#include "spec.h"

struct ctl_refs_rec {
    const struct stack_env *env; /* borrowed: env->lookup_ref does the GETs */
    const char *ns;
    size_t n;
    struct spec_ref refs[SPEC_REFS_MAX]; /* spec_stack_refs(s) */
    char rv[SPEC_REFS_MAX][64];          /* "" = not read (yet) or missing */
    int unsure;                          /* a read failed for another reason than NotFound */
};

/* Lists the references of s (borrowed; must outlive rec). */
void ctl_refs_rec_init(struct ctl_refs_rec *rec, const struct stack_env *env, const struct spec_stack *s);
/* A ctl_ref_lookup_fn (ud = struct ctl_refs_rec *): env->lookup_ref, noting
 * the object's resourceVersion when it is one of rec's references. */
int ctl_refs_rec_lookup(void *ud, int is_configmap, const char *ns, const char *name, const char *key,
                        char **out);
/* render_refs_digest of what was recorded: malloc'd "sha256:<hex>", or NULL
 * when s references nothing (or OOM). A reference never read counts as
 * missing. */
char *ctl_refs_rec_digest(const struct ctl_refs_rec *rec);

#endif
