/* render.h — PURE functions: a validated struct spec_stack -> the Grafana
 * provisioning it implies (data-source YAML, dashboard JSON, dashboard
 * provider YAML) wrapped in two ConfigMap objects. No I/O, clock, environment
 * or global state: the same stack always renders to byte-identical output.
 *
 * ConfigMaps (in the stack's namespace):
 *   <stack>-grafana-datasources  key <ns>-<stack>-datasources.yaml
 *   <stack>-grafana-dashboards   key <ns>-<stack>-service-overview.json (when
 *                                dashboards.serviceOverview); nothing else:
 *                                the sidecar copies every key into a
 *                                dashboards folder, where Grafana never
 *                                reads providers (render_dashboard_provider_yaml
 *                                is for installs without the sidecar)
 * Labels: app.kubernetes.io/managed-by=crosslink, app.kubernetes.io/name=
 * crosslink, crosslink.dev/stack=<name> + the configured Grafana labels.
 * Annotations: crosslink.dev/digest=sha256:<hex> of the canonical data
 * (json_dumps(data, JSON_COMPACT|JSON_SORT_KEYS)); the dashboards ConfigMap
 * also grafana_folder and k8s-sidecar-target-directory = the folder.
 * ownerReferences are NOT included (see render_configmap_with_owner). */
#ifndef CROSSLINK_RENDER_H
#define CROSSLINK_RENDER_H

#include "spec.h"

#include <jansson.h>
#include <stddef.h>

#define RENDER_LABEL_MANAGED_BY "app.kubernetes.io/managed-by"
#define RENDER_LABEL_NAME "app.kubernetes.io/name"
#define RENDER_LABEL_STACK "crosslink.dev/stack"
#define RENDER_ANNOTATION_DIGEST "crosslink.dev/digest"
#define RENDER_MANAGER "crosslink"
/* Where the Helm chart / docs mount referenced Secrets and ConfigMaps into
 * Grafana: <dir>/<object name>/<key>. */
#define RENDER_SECRETS_DIR "/etc/grafana/crosslink-secrets"
#define RENDER_CONFIGMAPS_DIR "/etc/grafana/crosslink-configmaps"
/* Name of the comment line "# crosslink.dev/refs-digest: sha256:<hex>" atop
 * the data-source file when render_options.refs_digest is set. */
#define RENDER_REFS_COMMENT "crosslink.dev/refs-digest"

enum render_cm_kind {
    RENDER_CM_DATASOURCES = 0,
    RENDER_CM_DASHBOARDS = 1,
    RENDER_CM_COUNT
};

struct render_configmap {
    enum render_cm_kind kind;
    char *name;     /* metadata.name */
    char *digest;   /* "sha256:<hex>" of the canonical data (same as the annotation) */
    json_t *object; /* owned: {apiVersion: v1, kind: ConfigMap, metadata, data} */
};

struct render_output {
    struct render_configmap cms[RENDER_CM_COUNT]; /* indexed by enum render_cm_kind */
    size_t n;                                     /* always RENDER_CM_COUNT */
    char *digest; /* "sha256:<hex>" over both ConfigMaps' names and digests (status.renderedDigest) */
    json_t *datasources; /* the tree datasources.yaml was emitted from (render_datasources_doc), for
                            readers of the provisioning such as pkg/links; owned */
};

/* Optional inputs; a zero struct (or NULL) renders exactly like render_stack. */
struct render_options {
    /* render_refs_digest() of the Secrets / ConfigMaps the data sources
     * reference through $__file{} (never their values), or NULL. Written as
     * the first line of the data-source file, "# crosslink.dev/refs-digest:
     * sha256:<hex>", so a rotated Secret changes the file: the sidecar then
     * rewrites it and Grafana reloads. Must be "sha256:" + 64 lowercase hex
     * digits (else OP_EINVALID). */
    const char *refs_digest;
};

/* Renders s (borrowed; must come from spec_stack_from_json). Returns 0 and a
 * new output in *out, OP_ENOMEM, or OP_ERR (message in op_err_last()). */
int render_stack(struct render_output **out, const struct spec_stack *s);
/* Same with options (opt may be NULL). */
int render_stack_opts(struct render_output **out, const struct spec_stack *s, const struct render_options *opt);

/* One referenced object: kind "Secret" or "ConfigMap", its name and
 * metadata.resourceVersion (NULL = missing). Borrowed strings. */
struct render_ref {
    const char *kind;
    const char *name;
    const char *resource_version;
};
/* "sha256:<hex>" over the refs sorted by kind and name (order-independent),
 * NULL when n == 0 or on OOM. Only names and resourceVersions are hashed. */
char *render_refs_digest(const struct render_ref *refs, size_t n);
/* NULL-safe. */
void render_output_free(struct render_output *o);
/* Borrowed; valid while o lives. */
const char *render_stack_digest(const struct render_output *o);

/* A new reference: a deep copy of cm->object with metadata.ownerReferences =
 * [{apiVersion: crosslink.dev/v1alpha1, kind: ObservabilityStack, name, uid,
 * controller: true, blockOwnerDeletion: true}]. NULL on OOM. */
json_t *render_configmap_with_owner(const struct render_configmap *cm,
                                    const char *owner_name, const char *owner_uid);

/* The individual documents, for tests and tooling. Each returns 0 and a
 * malloc'd NUL-terminated string in *out, or a negative op_err. */
int render_datasources_yaml(char **out, const struct spec_stack *s);
int render_datasources_yaml_opts(char **out, const struct spec_stack *s, const struct render_options *opt);
int render_dashboard_json(char **out, const struct spec_stack *s);
int render_dashboard_provider_yaml(char **out, const struct spec_stack *s);

/* The data-source provisioning document as JSON (new reference; strings
 * already $$-escaped), NULL on OOM. */
json_t *render_datasources_doc(const struct spec_stack *s);

/* Escapes every '$' as "$$" (Grafana provisioning env interpolation).
 * Returns a malloc'd string or NULL on OOM. */
char *render_escape_dollars(const char *s);

/* sha256:<hex> of json_dumps(data, JSON_COMPACT|JSON_SORT_KEYS); data is
 * borrowed. NULL on OOM. */
char *render_data_digest(const json_t *data);

#endif
