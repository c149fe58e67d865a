/* configmap.c — wraps the rendered documents into the two ConfigMap objects
 * (labels, digest and folder annotations; no ownerReferences — the
 * controller adds them with render_configmap_with_owner) and computes the
 * stack digest for status.renderedDigest. Pure. */
#include "render.h"
#include "render_int.h"

#include "core.h"

#include <stdlib.h>
#include <string.h>

static json_t *labels_json(struct render_ctx *r, const struct spec_stack *s, const struct spec_kvs *extra)
{
    json_t *o = json_object();
    /* Configured labels first, so the fixed ones win on a clash. */
    for (size_t i = 0; i < extra->n; i++)
        render__put(r, o, extra->v[i].key, render__str(r, extra->v[i].value));
    render__put(r, o, RENDER_LABEL_MANAGED_BY, render__str(r, RENDER_MANAGER));
    render__put(r, o, RENDER_LABEL_NAME, render__str(r, "crosslink"));
    render__put(r, o, RENDER_LABEL_STACK, render__str(r, s->meta.name));
    return o;
}

/* Builds one ConfigMap around data (steals data). */
static int build_cm(struct render_configmap *cm, enum render_cm_kind kind, const struct spec_stack *s,
                    const char *suffix, const struct spec_kvs *labels, json_t *data)
{
    struct render_ctx r = {0};
    json_t *obj = json_object(), *md = json_object(), *ann = json_object();
    char *name = op_asprintf("%s-%s", s->meta.name, suffix);
    char *digest = data ? render_data_digest(data) : NULL;

    render__put(&r, obj, "apiVersion", render__str(&r, "v1"));
    render__put(&r, obj, "kind", render__str(&r, "ConfigMap"));
    render__put(&r, md, "name", render__str(&r, name));
    render__put(&r, md, "namespace", render__str(&r, s->meta.namespace));
    render__put(&r, md, "labels", labels_json(&r, s, labels));
    render__put(&r, ann, RENDER_ANNOTATION_DIGEST, render__str(&r, digest));
    if (kind == RENDER_CM_DASHBOARDS) {
        /* grafana chart sidecar (folderAnnotation: grafana_folder) and the
         * k8s-sidecar default annotation both name the target folder. */
        render__put(&r, ann, "grafana_folder", render__str(&r, s->grafana.folder));
        render__put(&r, ann, "k8s-sidecar-target-directory", render__str(&r, s->grafana.folder));
    }
    render__put(&r, md, "annotations", ann);
    render__put(&r, obj, "metadata", md);
    render__put(&r, obj, "data", data);
    if (r.oom || !name || !digest) {
        json_decref(obj);
        free(name);
        free(digest);
        return op_err_set(OP_ENOMEM, "out of memory");
    }
    cm->kind = kind;
    cm->name = name;
    cm->digest = digest;
    cm->object = obj;
    return 0;
}

/* Stores one rendered document (text, taken) in data under the key
 * "<namespace>-<name>-<suffix>". */
static int add_doc(json_t *data, const struct spec_stack *s, char *text, const char *suffix)
{
    char *key = NULL;
    int rc;

    if (!(key = op_asprintf("%s-%s-%s", s->meta.namespace, s->meta.name, suffix))) {
        rc = op_err_set(OP_ENOMEM, "out of memory");
        goto out;
    }
    rc = json_object_set_new(data, key, json_string(text)) == 0 ? 0 : op_err_set(OP_ENOMEM, "out of memory");
out:
    free(text);
    free(key);
    return rc;
}

int render_stack(struct render_output **out, const struct spec_stack *s)
{
    return render_stack_opts(out, s, NULL);
}

int render_stack_opts(struct render_output **out, const struct spec_stack *s, const struct render_options *opt)
{
    struct render_output *o = calloc(1, sizeof(*o));
    json_t *ds_data = json_object(), *db_data = json_object();
    char *all = NULL, *text;
    char hex[65];
    int rc = OP_ENOMEM;

    if (!o || !ds_data || !db_data)
        goto out;
    if (!s || !s->meta.name || !s->meta.namespace) {
        rc = op_err_set(OP_EINVALID, "render_stack: stack is not decoded");
        goto out;
    }

    if (!(o->datasources = render_datasources_doc(s)))
        goto oom;
    if ((rc = render__datasources_yaml(&text, o->datasources, opt)) < 0 ||
        (rc = add_doc(ds_data, s, text, "datasources.yaml")) < 0)
        goto out;
    /* Only what the dashboard sidecar loads: it writes every key into the
     * dashboards folder, where a provider file is never read. */
    if (s->dashboards.service_overview &&
        ((rc = render_dashboard_json(&text, s)) < 0 || (rc = add_doc(db_data, s, text, "service-overview.json")) < 0))
        goto out;

    rc = build_cm(&o->cms[RENDER_CM_DATASOURCES], RENDER_CM_DATASOURCES, s, "grafana-datasources",
                  &s->grafana.datasource_labels, ds_data);
    ds_data = NULL;
    if (rc < 0)
        goto out;
    rc = build_cm(&o->cms[RENDER_CM_DASHBOARDS], RENDER_CM_DASHBOARDS, s, "grafana-dashboards",
                  &s->grafana.dashboard_labels, db_data);
    db_data = NULL;
    if (rc < 0)
        goto out;
    o->n = RENDER_CM_COUNT;

    if (!(all = op_asprintf("%s %s\n%s %s\n", o->cms[0].name, o->cms[0].digest, o->cms[1].name, o->cms[1].digest)))
        goto oom;
    op_sha256_hex(all, strlen(all), hex);
    if (!(o->digest = op_asprintf("sha256:%s", hex)))
        goto oom;
    *out = o;
    o = NULL;
    rc = 0;
    goto out;
oom:
    rc = op_err_set(OP_ENOMEM, "out of memory");
out:
    free(all);
    json_decref(ds_data);
    json_decref(db_data);
    render_output_free(o);
    return rc;
}

void render_output_free(struct render_output *o)
{
    if (!o)
        return;
    for (int i = 0; i < RENDER_CM_COUNT; i++) {
        free(o->cms[i].name);
        free(o->cms[i].digest);
        json_decref(o->cms[i].object);
    }
    free(o->digest);
    json_decref(o->datasources);
    free(o);
}

const char *render_stack_digest(const struct render_output *o)
{
    return o ? o->digest : NULL;
}

json_t *render_configmap_with_owner(const struct render_configmap *cm, const char *owner_name,
                                    const char *owner_uid)
{
    struct render_ctx r = {0};
    json_t *obj, *refs, *ref;

    if (!cm || !cm->object || !owner_name || !owner_uid)
        return NULL;
    obj = json_deep_copy(cm->object);
    refs = json_array();
    ref = json_object();
    render__put(&r, ref, "apiVersion", render__str(&r, SPEC_API_VERSION));
    render__put(&r, ref, "kind", render__str(&r, SPEC_KIND));
    render__put(&r, ref, "name", render__str(&r, owner_name));
    render__put(&r, ref, "uid", render__str(&r, owner_uid));
    render__put(&r, ref, "controller", json_true());
    render__put(&r, ref, "blockOwnerDeletion", json_true());
    render__append(&r, refs, ref);
    render__put(&r, json_object_get(obj, "metadata"), "ownerReferences", refs);
    if (r.oom) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}
