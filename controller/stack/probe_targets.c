/* probe_targets.c — builds pkg/probe targets from a decoded stack: URL,
 * tenant, timeout from spec.verify, and basic/bearer/CA values resolved
 * through a lookup callback; unresolvable references become SecretNotFound
 * results without any request. Also the two lookups: the API server (Secret
 * data is base64-decoded) and the environment (offline `crosslink probe`). */
#include "probe_targets.h"

#include "kube.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert((int)PROBE_METRICS == (int)SPEC_SIGNAL_METRICS && (int)PROBE_TRACES == (int)SPEC_SIGNAL_TRACES &&
                   (int)PROBE_LOGS == (int)SPEC_SIGNAL_LOGS &&
                   (int)PROBE_PROFILES == (int)SPEC_SIGNAL_PROFILES && PROBE_NSIGNALS == (int)SPEC_SIGNAL_COUNT,
               "enum probe_signal must match enum spec_signal");

void ctl_ref_env_name(int is_configmap, const char *name, const char *key, char *out, size_t outsz)
{
    size_t o;
    const char *parts[2] = {name ? name : "", key ? key : ""};
    int k;

    snprintf(out, outsz, "%s", is_configmap ? "CROSSLINK_CONFIGMAP_" : "CROSSLINK_SECRET_");
    o = strlen(out);
    for (k = 0; k < 2; k++) {
        const char *p;
        if (k == 1 && o + 1 < outsz)
            out[o++] = '_';
        for (p = parts[k]; *p && o + 1 < outsz; p++)
            out[o++] = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
    }
    if (outsz > 0)
        out[o < outsz ? o : outsz - 1] = '\0';
}

int ctl_ref_lookup_env(void *ud, int is_configmap, const char *ns, const char *name,
                       const char *key, char **out)
{
    char var[256];
    const char *v;
    (void)ud;
    (void)ns;
    ctl_ref_env_name(is_configmap, name, key, var, sizeof var);
    v = getenv(var);
    if (!v)
        return op_err_set(OP_ENOTFOUND, "not available offline (use --secrets-from-cluster or set %s)", var);
    *out = op_strdup(v);
    return *out ? 0 : OP_ENOMEM;
}

/* A Secret/ConfigMap value: base64 (op_base64_decode) to a malloc'd
 * NUL-terminated string, or NULL (invalid input / OOM). */
static char *b64_decode(const char *in)
{
    char *out = NULL;
    if (op_base64_decode(in, strlen(in), &out, NULL) < 0)
        return NULL;
    return out;
}

int ctl_ref_lookup_kube(void *ud, int is_configmap, const char *ns, const char *name,
                          const char *key, char **out)
{
    return ctl_ref_lookup_kube_rv(ud, is_configmap, ns, name, key, out, NULL, 0);
}

int ctl_ref_lookup_kube_rv(void *ud, int is_configmap, const char *ns, const char *name,
                           const char *key, char **out, char *rv, size_t rvn)
{
    struct kube_client *kc = ud;
    struct kube_status st;
    json_t *obj = NULL, *v;
    int rc;

    if (rv && rvn)
        rv[0] = '\0';
    memset(&st, 0, sizeof st);
    rc = kube_get(kc, is_configmap ? &KUBE_RES_CONFIGMAP : &KUBE_RES_SECRET, ns, name, &obj, &st);
    if (rc == OP_ENOTFOUND)
        return op_err_set(OP_ENOTFOUND, "(no such %s)", is_configmap ? "ConfigMap" : "Secret");
    if (rc != 0)
        return op_err_set(rc, "(API: %d %s)", st.code, st.reason);
    if (rv && rvn) {
        const char *orv = kube_obj_resource_version(obj);
        snprintf(rv, rvn, "%s", orv ? orv : "");
    }
    v = json_object_get(json_object_get(obj, "data"), key);
    if (json_is_string(v)) {
        *out = is_configmap ? op_strdup(json_string_value(v)) : b64_decode(json_string_value(v));
    } else if (is_configmap &&
               json_is_string(v = json_object_get(json_object_get(obj, "binaryData"), key))) {
        *out = b64_decode(json_string_value(v));
    } else {
        json_decref(obj);
        return op_err_set(OP_ENOTFOUND, "(no key %s in it)", key);
    }
    json_decref(obj);
    if (!*out)
        return op_err_set(OP_EINVALID, "(value is not valid base64)");
    return 0;
}

/* Resolves ref into *slot. Returns 0, or fills pre with SecretNotFound and
 * returns 1; OP_ENOMEM on OOM. */
static int resolve(const struct spec_stack *s, const struct spec_key_ref *ref, int is_configmap,
                   const char *what, ctl_ref_lookup_fn lookup, void *ud, char **slot,
                   struct probe_result *pre)
{
    const char *ns = s->meta.namespace ? s->meta.namespace : "default";
    const char *kind = is_configmap ? "ConfigMap" : "Secret";
    char *v = NULL;
    int rc;

    if (!ref->name)
        return 0;
    if (!lookup) {
        probe_result_set(pre, 0, PROBE_REASON_SECRET, "%s %s/%s key %s (%s): no way to read it", kind, ns,
                         ref->name, ref->key ? ref->key : "", what);
        return 1;
    }
    op_err_clear();
    rc = lookup(ud, is_configmap, ns, ref->name, ref->key ? ref->key : "", &v);
    if (rc == OP_ENOMEM)
        return OP_ENOMEM;
    if (rc != 0) {
        const char *why = op_err_last();
        probe_result_set(pre, 0, PROBE_REASON_SECRET, "%s %s/%s key %s (%s) %s%s%s", kind, ns,
                         ref->name, ref->key ? ref->key : "", what,
                         rc == OP_ENOTFOUND ? "not found" : "could not be read",
                         *why ? ": " : "", why);
        return 1;
    }
    *slot = v;
    return 0;
}

int ctl_probe_set_build(struct ctl_probe_set *ps, const struct spec_stack *s,
                        ctl_ref_lookup_fn lookup, void *ud)
{
    int sig;

    memset(ps, 0, sizeof *ps);
    for (sig = 0; sig < SPEC_SIGNAL_COUNT; sig++) {
        const struct spec_backend *b = &s->backends[sig];
        size_t i = ps->n;
        struct probe_target *t = &ps->targets[i];
        int rc = 0;

        if (!b->configured)
            continue;
        ps->n++;
        t->signal = sig;
        t->url = b->url;
        t->tenant = b->tenant;
        t->flavor = sig == SPEC_SIGNAL_METRICS ? b->flavor : NULL;
        t->timeout_ms = s->verify.timeout_ms > 0 ? s->verify.timeout_ms : PROBE_DEFAULT_TIMEOUT_MS;
        /* a result this old is still good: one request per interval even
         * for hundreds of stacks on one backend */
        t->max_age_ms = s->verify.interval_ms > 0 ? s->verify.interval_ms : 0;
        t->server_name = b->tls.server_name;
        t->insecure_skip_verify = b->tls.insecure_skip_verify;
        ps->insecure[i] = b->tls.insecure_skip_verify ? 1 : 0;

        if (b->auth.basic_username) {
            t->basic_user = b->auth.basic_username;
            rc = resolve(s, &b->auth.basic_password, 0, "basic auth password", lookup, ud,
                         &ps->owned[i][0], &ps->pre[i]);
            t->basic_password = ps->owned[i][0];
        }
        if (rc == 0 && b->auth.bearer_token.name) {
            rc = resolve(s, &b->auth.bearer_token, 0, "bearer token", lookup, ud, &ps->owned[i][1],
                         &ps->pre[i]);
            t->bearer_token = ps->owned[i][1];
        }
        if (rc == 0 && b->tls.ca_secret.name) {
            rc = resolve(s, &b->tls.ca_secret, 0, "CA", lookup, ud, &ps->owned[i][2], &ps->pre[i]);
            t->ca_pem = ps->owned[i][2];
        } else if (rc == 0 && b->tls.ca_configmap.name) {
            rc = resolve(s, &b->tls.ca_configmap, 1, "CA", lookup, ud, &ps->owned[i][2], &ps->pre[i]);
            t->ca_pem = ps->owned[i][2];
        }
        if (rc == OP_ENOMEM) {
            ctl_probe_set_cleanup(ps);
            return OP_ENOMEM;
        }
        if (rc == 1) {
            char red[192];
            ps->prefailed[i] = 1;
            probe_url_redact(b->url, red, sizeof red);
            /* prefix the URL like the probe's own messages */
            {
                char msg[sizeof ps->pre[i].message];
                snprintf(msg, sizeof msg, "%s", ps->pre[i].message);
                snprintf(ps->pre[i].message, sizeof ps->pre[i].message, "%s: %.300s; not probed", red, msg);
            }
        }
        if ((t->basic_password && strchr(t->basic_password, '$')) ||
            (t->bearer_token && strchr(t->bearer_token, '$')))
            ps->dollar_in_secret[i] = 1;
    }
    return 0;
}

int ctl_probe_set_run(struct ctl_probe_set *ps, struct probe_engine *e,
                      struct probe_result results[SPEC_SIGNAL_COUNT])
{
    struct probe_target run[SPEC_SIGNAL_COUNT];
    struct probe_result out[SPEC_SIGNAL_COUNT];
    size_t i, m = 0;
    int rc = 0;

    for (i = 0; i < ps->n; i++)
        if (!ps->prefailed[i])
            run[m++] = ps->targets[i];
    if (m > 0)
        rc = probe_run(e, run, m, out);
    for (i = 0, m = 0; i < ps->n; i++) {
        if (ps->prefailed[i])
            results[i] = ps->pre[i];
        else if (rc == 0)
            results[i] = out[m++];
        else
            probe_result_set(&results[i], 0, PROBE_REASON_INVALID, "probe failed: %s", op_err_last());
    }
    return rc;
}

void ctl_probe_set_cleanup(struct ctl_probe_set *ps)
{
    size_t i, k;
    for (i = 0; i < SPEC_SIGNAL_COUNT; i++) {
        for (k = 0; k < 4; k++) {
            op_wipe_free(ps->owned[i][k]);
            ps->owned[i][k] = NULL;
        }
    }
    memset(ps, 0, sizeof *ps);
}
