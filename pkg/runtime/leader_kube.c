/* leader_kube.c — binds the leader-election state machine to
 * coordination.k8s.io/v1 Leases through pkg/kube. Keeps the last Lease
 * object seen so updates are PUTs carrying its resourceVersion (a race with
 * another candidate then fails with 409 instead of overwriting). */
#include "runtime.h"

#include "kube.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rt_kube_lease {
    struct kube_client *c;
    char *ns, *name;
    json_t *last; /* owned: the Lease as last read or written */
};

static void copy_str(char *dst, size_t cap, const char *s)
{
    snprintf(dst, cap, "%s", s ? s : "");
}

static void rec_from_json(const json_t *lease, struct rt_lease_rec *out)
{
    const json_t *spec = json_object_get(lease, "spec");
    memset(out, 0, sizeof(*out));
    copy_str(out->holder, sizeof(out->holder), json_string_value(json_object_get(spec, "holderIdentity")));
    out->duration_s = (int)json_integer_value(json_object_get(spec, "leaseDurationSeconds"));
    copy_str(out->acquire_time, sizeof(out->acquire_time),
             json_string_value(json_object_get(spec, "acquireTime")));
    copy_str(out->renew_time, sizeof(out->renew_time), json_string_value(json_object_get(spec, "renewTime")));
    out->transitions = (int)json_integer_value(json_object_get(spec, "leaseTransitions"));
}

static int fill_spec(json_t *lease, const struct rt_lease_rec *rec)
{
    json_t *spec = json_object();
    if (!spec)
        return OP_ENOMEM;
    json_object_set_new(spec, "holderIdentity", json_string(rec->holder));
    json_object_set_new(spec, "leaseDurationSeconds", json_integer(rec->duration_s));
    if (rec->acquire_time[0])
        json_object_set_new(spec, "acquireTime", json_string(rec->acquire_time));
    if (rec->renew_time[0])
        json_object_set_new(spec, "renewTime", json_string(rec->renew_time));
    json_object_set_new(spec, "leaseTransitions", json_integer(rec->transitions));
    return json_object_set_new(lease, "spec", spec) < 0 ? OP_ENOMEM : OP_OK;
}

static int kl_get(void *p, struct rt_lease_rec *out)
{
    struct rt_kube_lease *l = p;
    json_t *obj = NULL;
    int err = kube_lease_get(l->c, l->ns, l->name, &obj, NULL);
    if (err < 0)
        return err;
    rec_from_json(obj, out);
    json_decref(l->last);
    l->last = obj;
    return OP_OK;
}

typedef int (*lease_write_fn)(struct kube_client *c, const char *ns, const json_t *lease, json_t **out,
                              struct kube_status *st);

/* Fills obj (stolen) with rec and writes it with fn; on success the
 * server's answer becomes the last-seen Lease. */
static int kl_write(struct rt_kube_lease *l, json_t *obj, const struct rt_lease_rec *rec, lease_write_fn fn)
{
    json_t *res = NULL;
    int err;
    if (!obj || fill_spec(obj, rec) < 0) {
        json_decref(obj);
        return OP_ENOMEM;
    }
    err = fn(l->c, l->ns, obj, &res, NULL);
    json_decref(obj);
    if (err < 0)
        return err;
    json_decref(l->last);
    l->last = res;
    return OP_OK;
}

static int kl_create(void *p, const struct rt_lease_rec *rec)
{
    struct rt_kube_lease *l = p;
    json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "coordination.k8s.io/v1",
                            "kind", "Lease", "metadata", "name", l->name, "namespace", l->ns);
    return kl_write(l, obj, rec, kube_lease_create);
}

static int kl_update(void *p, const struct rt_lease_rec *rec)
{
    struct rt_kube_lease *l = p;
    if (!l->last)
        return op_err_set(OP_ERR, "lease update without a prior read");
    /* the PUT carries the last-seen resourceVersion: a concurrent writer → 409 */
    return kl_write(l, json_deep_copy(l->last), rec, kube_lease_update);
}

struct rt_kube_lease *rt_kube_lease_new(struct kube_client *c, const char *ns, const char *name,
                                          struct rt_lease_ops *ops)
{
    struct rt_kube_lease *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->c = c;
    l->ns = op_strdup(ns);
    l->name = op_strdup(name);
    if (!l->ns || !l->name) {
        rt_kube_lease_free(l);
        return NULL;
    }
    ops->get = kl_get;
    ops->create = kl_create;
    ops->update = kl_update;
    ops->payload = l;
    return l;
}

void rt_kube_lease_free(struct rt_kube_lease *l)
{
    if (!l)
        return;
    json_decref(l->last);
    free(l->ns);
    free(l->name);
    free(l);
}
