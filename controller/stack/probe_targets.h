/* probe_targets.h — turns a decoded stack (pkg/spec) into pkg/probe targets:
 * one per configured signal, with tenant, credentials and CA resolved through
 * a caller-supplied lookup (the API server in the controller and with
 * `crosslink probe --secrets-from-cluster`, environment variables offline).
 * A reference that cannot be resolved pre-fails that signal with
 * SecretNotFound; the others are still probed. Secret values live only in
 * this set and are wiped by ctl_probe_set_cleanup. Shared by cmd_probe.c and
 * the reconciler. */
#ifndef CROSSLINK_PROBE_TARGETS_H
#define CROSSLINK_PROBE_TARGETS_H

#include "probe.h"
#include "spec.h"

/* Reads one key of a Secret (is_configmap == 0; value already base64-decoded)
 * or a ConfigMap (is_configmap == 1) in namespace ns. Returns 0 with *out a
 * malloc'd NUL-terminated value, OP_ENOTFOUND when the object or the key does
 * not exist (or is not available), OP_EFORBIDDEN/other codes otherwise; a
 * short explanation may be left in op_err_last(). Must not log the value. */
typedef int (*ctl_ref_lookup_fn)(void *ud, int is_configmap, const char *ns, const char *name,
                                 const char *key, char **out);

struct ctl_probe_set {
    size_t n;                                 /* configured signals */
    struct probe_target targets[SPEC_SIGNAL_COUNT];
    int prefailed[SPEC_SIGNAL_COUNT];         /* 1: results come from pre[] */
    struct probe_result pre[SPEC_SIGNAL_COUNT];
    int dollar_in_secret[SPEC_SIGNAL_COUNT];  /* a credential contains '$' ($__file{} re-expands it) */
    int insecure[SPEC_SIGNAL_COUNT];          /* insecureSkipVerify is used (emit a Warning) */
    char *owned[SPEC_SIGNAL_COUNT][4];        /* resolved values (password, token, CA, url copy) */
};

/* Builds the set for stack s (borrowed; must outlive the set). lookup may be
 * NULL: every reference then pre-fails with SecretNotFound. Returns 0 or
 * OP_ENOMEM. */
int ctl_probe_set_build(struct ctl_probe_set *ps, const struct spec_stack *s,
                        ctl_ref_lookup_fn lookup, void *ud);

/* Runs the targets that were not pre-failed through e and writes one result
 * per configured signal, in targets[] order. Returns probe_run's code. */
int ctl_probe_set_run(struct ctl_probe_set *ps, struct probe_engine *e,
                      struct probe_result results[SPEC_SIGNAL_COUNT]);

/* Wipes and frees the resolved values. Safe on a zeroed or built set. */
void ctl_probe_set_cleanup(struct ctl_probe_set *ps);

/* Offline lookup: reads $CROSSLINK_SECRET_<NAME>_<KEY> (or
 * $CROSSLINK_CONFIGMAP_<NAME>_<KEY>), name and key upper-cased with every
 * non-alphanumeric character turned into '_'. ud is unused. */
int ctl_ref_lookup_env(void *ud, int is_configmap, const char *ns, const char *name,
                       const char *key, char **out);
/* Cluster lookup: ud is a struct kube_client * (borrowed). GETs the Secret
 * (data[key], base64-decoded) or ConfigMap (data[key], else binaryData[key])
 * on every call — no caching, nothing logged. OP_ENOTFOUND for a missing
 * object or key; the API error code otherwise (message in op_err_last()). */
int ctl_ref_lookup_kube(void *ud, int is_configmap, const char *ns, const char *name,
                        const char *key, char **out);
/* The same, also writing the object's metadata.resourceVersion into rv (rvn
 * bytes; "" when the object could not be read). rv may be NULL. */
int ctl_ref_lookup_kube_rv(void *ud, int is_configmap, const char *ns, const char *name,
                           const char *key, char **out, char *rv, size_t rvn);
/* Writes the variable name ctl_ref_lookup_env reads into out. */
void ctl_ref_env_name(int is_configmap, const char *name, const char *key, char *out, size_t outsz);

#endif
