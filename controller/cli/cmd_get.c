/* cmd_get.c — `crosslink get stacks [-n NS | -A] [--kubeconfig PATH]
 * [--context NAME]`: lists ObservabilityStacks with their Ready condition in a
 * kubectl-like table, reading the kubeconfig the way kubectl does. A small
 * proof for humans that pkg/kube works against their cluster. */
#include "cli.h"
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

static void usage(FILE *f)
{
    fprintf(f, "Usage: crosslink get stacks [-n NAMESPACE | -A] [--kubeconfig PATH] [--context NAME]\n"
               "\n"
               "Lists ObservabilityStacks and their Ready condition.\n"
               "  -n, --namespace NS      namespace (default: the context's namespace)\n"
               "  -A, --all-namespaces    list stacks in every namespace\n"
               "      --kubeconfig PATH   kubeconfig file(s), colon-separated (default: $KUBECONFIG, ~/.kube/config)\n"
               "      --context NAME      kubeconfig context (default: current-context)\n");
}

/* Returns the value of --flag VALUE / --flag=VALUE / -f VALUE, advancing *i. */
static int flag_value(int argc, char **argv, int *i, const char *shortf, const char *longf,
                      const char **out)
{
    const char *a = argv[*i];
    size_t ll = strlen(longf);
    if ((shortf && strcmp(a, shortf) == 0) || strcmp(a, longf) == 0) {
        if (*i + 1 >= argc)
            return -1;
        *out = argv[++*i];
        return 1;
    }
    if (strncmp(a, longf, ll) == 0 && a[ll] == '=') {
        *out = a + ll + 1;
        return 1;
    }
    if (shortf && strncmp(a, shortf, strlen(shortf)) == 0 && a[strlen(shortf)] != '\0' &&
        strlen(shortf) == 2) {
        *out = a + 2; /* -nfoo */
        return 1;
    }
    return 0;
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
    const char *ns = NULL, *kubeconfig = NULL, *context = NULL, *what = NULL;
    int all = 0, rc = 1, i, err;
    struct kube_config *cfg = NULL;
    struct kube_client *c = NULL;
    struct kube_config_opts co;
    struct kube_status st;
    struct kube_list_opts lo;
    json_t *list = NULL, *items, *it;
    struct row *rows = NULL;
    size_t n = 0, k;
    int w_ns = 9, w_name = 4, w_ready = 5, w_reason = 6;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "-A") == 0 || strcmp(a, "--all-namespaces") == 0) {
            all = 1;
            continue;
        }
        if ((r = flag_value(argc, argv, &i, "-n", "--namespace", &ns)) != 0 ||
            (r = flag_value(argc, argv, &i, NULL, "--kubeconfig", &kubeconfig)) != 0 ||
            (r = flag_value(argc, argv, &i, NULL, "--context", &context)) != 0) {
            if (r < 0) {
                fprintf(stderr, "crosslink get: %s needs a value\n", a);
                return 2;
            }
            continue;
        }
        if (a[0] == '-') {
            fprintf(stderr, "crosslink get: unknown flag %s\n\n", a);
            usage(stderr);
            return 2;
        }
        if (what) {
            fprintf(stderr, "crosslink get: unexpected argument \"%s\"\n", a);
            return 2;
        }
        what = a;
    }
    if (!what) {
        usage(stderr);
        return 2;
    }
    if (strcmp(what, "stacks") != 0 && strcmp(what, "stack") != 0 && strcmp(what, "ostack") != 0 &&
        strcmp(what, "ostacks") != 0 && strcmp(what, "observabilitystacks") != 0 &&
        strcmp(what, "observabilitystack") != 0 &&
        strcmp(what, "observabilitystacks.crosslink.dev") != 0) {
        fprintf(stderr, "crosslink get: unknown resource \"%s\" (only \"stacks\" is supported)\n", what);
        return 2;
    }
    if (all && ns) {
        fprintf(stderr, "crosslink get: -n and -A are mutually exclusive\n");
        return 2;
    }

    memset(&co, 0, sizeof(co));
    co.kubeconfig = kubeconfig;
    co.context = context;
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
