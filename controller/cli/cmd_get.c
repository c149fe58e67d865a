/* cmd_get.c — `crosslink get stacks [-n NS | -A] [--kubeconfig PATH]
 * [--context NAME]`: lists ObservabilityStacks with their Ready condition in a
 * kubectl-like table, reading the kubeconfig the way kubectl does. A small
 * proof for humans that pkg/kube works against their cluster. */
#include "cli.h"
#include "cli_opt.h"
#include "core.h"
#include "kube.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* kubectl's duration.HumanDuration (k8s.io/apimachinery/pkg/util/duration). */
void ctl_human_duration(int64_t seconds, char *out, size_t n);
void ctl_human_duration(int64_t seconds, char *out, size_t n)
{
    int64_t minutes, hours;

    if (seconds < -1) {
        snprintf(out, n, "<invalid>");
        return;
    }
    if (seconds < 0)
        seconds = 0;
    if (seconds < 120) {
        snprintf(out, n, "%llds", (long long)seconds);
        return;
    }
    minutes = seconds / 60;
    if (minutes < 10) {
        int64_t s = seconds % 60;
        if (s == 0)
            snprintf(out, n, "%lldm", (long long)minutes);
        else
            snprintf(out, n, "%lldm%llds", (long long)minutes, (long long)s);
        return;
    }
    if (minutes < 180) {
        snprintf(out, n, "%lldm", (long long)minutes);
        return;
    }
    hours = minutes / 60;
    if (hours < 8) {
        int64_t m = minutes % 60;
        if (m == 0)
            snprintf(out, n, "%lldh", (long long)hours);
        else
            snprintf(out, n, "%lldh%lldm", (long long)hours, (long long)m);
    } else if (hours < 48) {
        snprintf(out, n, "%lldh", (long long)hours);
    } else if (hours < 24 * 8) {
        int64_t h = hours % 24;
        if (h == 0)
            snprintf(out, n, "%lldd", (long long)(hours / 24));
        else
            snprintf(out, n, "%lldd%lldh", (long long)(hours / 24), (long long)h);
    } else if (hours < 24 * 365 * 2) {
        snprintf(out, n, "%lldd", (long long)(hours / 24));
    } else if (hours < 24 * 365 * 8) {
        int64_t dy = (hours / 24) % 365;
        if (dy == 0)
            snprintf(out, n, "%lldy", (long long)(hours / 24 / 365));
        else
            snprintf(out, n, "%lldy%lldd", (long long)(hours / 24 / 365), (long long)dy);
    } else {
        snprintf(out, n, "%lldy", (long long)(hours / 24 / 365));
    }
}

enum { G_NAMESPACE, G_ALL, G_KUBECONFIG, G_CONTEXT, G_HELP };
static const struct cli_opt get_opts[] = {
    [G_NAMESPACE] = {"namespace", required_argument, 'n', "NS", NULL, NULL,
                     "namespace (default: the context's namespace)"},
    [G_ALL] = {"all-namespaces", no_argument, 'A', NULL, NULL, NULL, "list stacks in every namespace"},
    [G_KUBECONFIG] = {"kubeconfig", required_argument, 0, "PATH", NULL, NULL,
                      "kubeconfig file(s), colon-separated (default: $KUBECONFIG, ~/.kube/config)"},
    [G_CONTEXT] = {"context", required_argument, 0, "NAME", NULL, NULL,
                   "kubeconfig context (default: current-context)"},
    [G_HELP] = {"help", no_argument, 'h', NULL, NULL, NULL, "this text"},
};

const struct cli_cmd cli_cmd_get = {
    "get",
    "get stacks [-n NAMESPACE | -A] [--kubeconfig PATH] [--context NAME]",
    "Lists ObservabilityStacks and their Ready condition.\n",
    get_opts,
    sizeof get_opts / sizeof get_opts[0],
    NULL,
};

struct get_args {
    const char *ns, *kubeconfig, *context, *what;
    int all;
};

static int get_set(void *ctx, int idx, const char *val, const char *src, char **err)
{
    struct get_args *a = ctx;
    (void)src;
    switch (idx) {
    case G_NAMESPACE: a->ns = val; break;
    case G_ALL: a->all = 1; break;
    case G_KUBECONFIG: a->kubeconfig = val; break;
    case G_CONTEXT: a->context = val; break;
    default:
        if (a->what) {
            *err = op_asprintf("unexpected argument \"%s\"", val);
            return OP_EINVALID;
        }
        a->what = val;
    }
    return OP_OK;
}

static int is_stack_resource(const char *w)
{
    static const char *const names[] = {"stacks", "stack", "ostack", "ostacks", "observabilitystacks",
                                        "observabilitystack", "observabilitystacks.crosslink.dev"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(w, names[i]) == 0)
            return 1;
    return 0;
}

/* Returns -1 to go on, else the exit code (help printed, or a usage error). */
static int get_args_parse(struct get_args *a, int argc, char **argv)
{
    char *err = NULL;
    int rc = cli_parse(&cli_cmd_get, argc, argv, get_set, a, &err);
    if (rc == CLI_HELP) {
        cli_usage(stdout, &cli_cmd_get);
        return 0;
    }
    if (rc < 0)
        return cli_usage_error(&cli_cmd_get, err);
    if (!a->what)
        return cli_usage_error(&cli_cmd_get, op_asprintf("which resource? (only \"stacks\" is supported)"));
    if (!is_stack_resource(a->what)) {
        fprintf(stderr, "crosslink get: unknown resource \"%s\" (only \"stacks\" is supported)\n", a->what);
        return 2;
    }
    if (a->all && a->ns) {
        fprintf(stderr, "crosslink get: -n and -A are mutually exclusive\n");
        return 2;
    }
    return -1;
}

static const json_t *ready_condition(const json_t *obj)
{
    const json_t *conds = json_object_get(json_object_get(obj, "status"), "conditions");
    size_t i;
    json_t *c;
    json_array_foreach(conds, i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t && strcmp(t, "Ready") == 0)
            return c;
    }
    return NULL;
}

struct row {
    const char *ns, *name, *ready, *reason;
    char age[32];
};

int cmd_get(int argc, char **argv)
{
    struct get_args args = {NULL, NULL, NULL, NULL, 0};
    const char *ns;
    int all, rc, err;
    struct kube_config *cfg = NULL;
    struct kube_client *c = NULL;
    struct kube_config_opts co;
    struct kube_status st;
    struct kube_list_opts lo;
    json_t *list = NULL, *items, *it;
    struct row *rows = NULL;
    size_t n = 0, k;
    int w_ns = 9, w_name = 4, w_ready = 5, w_reason = 6;

    if ((rc = get_args_parse(&args, argc, argv)) >= 0)
        return rc;
    ns = args.ns;
    all = args.all;
    rc = 1;

    memset(&co, 0, sizeof(co));
    co.kubeconfig = args.kubeconfig;
    co.context = args.context;
    if ((err = kube_config_load(&cfg, &co)) < 0) {
        fprintf(stderr, "crosslink get: %s\n", op_err_last());
        goto out;
    }
    if (!all && !ns)
        ns = kube_config_namespace(cfg);
    if ((err = kube_client_new(&c, cfg)) < 0) {
        fprintf(stderr, "crosslink get: %s\n", op_err_last());
        goto out;
    }
    cfg = NULL; /* owned by the client; ns may point into it and stays valid */
    memset(&lo, 0, sizeof(lo));
    lo.limit = 500;
    err = kube_list(c, &KUBE_RES_STACK, all ? NULL : ns, &lo, &list, &st);
    if (err < 0) {
        if (err == OP_ENOTFOUND)
            fprintf(stderr, "crosslink get: the server doesn't have a resource type \"observabilitystacks\" "
                            "(is the CRD installed?)\n");
        else
            fprintf(stderr, "crosslink get: %s\n", op_err_last());
        goto out;
    }
    items = json_object_get(list, "items");
    n = json_array_size(items);
    if (n == 0) {
        if (all)
            fprintf(stderr, "No resources found\n");
        else
            fprintf(stderr, "No resources found in %s namespace.\n", ns);
        rc = 0;
        goto out;
    }
    rows = calloc(n, sizeof(*rows));
    if (!rows) {
        fprintf(stderr, "crosslink get: out of memory\n");
        goto out;
    }
    json_array_foreach(items, k, it) {
        const json_t *cond = ready_condition(it);
        const char *created =
            json_string_value(json_object_get(json_object_get(it, "metadata"), "creationTimestamp"));
        int64_t t;
        struct row *r = &rows[k];
        r->ns = kube_obj_namespace(it) ? kube_obj_namespace(it) : "";
        r->name = kube_obj_name(it) ? kube_obj_name(it) : "";
        r->ready = cond ? json_string_value(json_object_get(cond, "status")) : NULL;
        r->reason = cond ? json_string_value(json_object_get(cond, "reason")) : NULL;
        if (!r->ready || !*r->ready)
            r->ready = "Unknown";
        if (!r->reason || !*r->reason)
            r->reason = "<none>";
        if (created && op_rfc3339_parse(created, &t) == 0)
            ctl_human_duration(op_wall_s() - t, r->age, sizeof(r->age));
        else
            snprintf(r->age, sizeof(r->age), "<unknown>");
        if ((int)strlen(r->ns) > w_ns)
            w_ns = (int)strlen(r->ns);
        if ((int)strlen(r->name) > w_name)
            w_name = (int)strlen(r->name);
        if ((int)strlen(r->ready) > w_ready)
            w_ready = (int)strlen(r->ready);
        if ((int)strlen(r->reason) > w_reason)
            w_reason = (int)strlen(r->reason);
    }
    if (all)
        printf("%-*s   ", w_ns, "NAMESPACE");
    printf("%-*s   %-*s   %-*s   %s\n", w_name, "NAME", w_ready, "READY", w_reason, "REASON", "AGE");
    for (k = 0; k < n; k++) {
        if (all)
            printf("%-*s   ", w_ns, rows[k].ns);
        printf("%-*s   %-*s   %-*s   %s\n", w_name, rows[k].name, w_ready, rows[k].ready, w_reason,
               rows[k].reason, rows[k].age);
    }
    rc = 0;
out:
    free(rows);
    json_decref(list);
    kube_client_free(c);
    kube_config_free(cfg);
    return rc;
}
