/* cmd_probe.c — `crosslink probe -f stack.yaml [--secrets-from-cluster]`: the
 * controller's backend checks (pkg/probe) run from wherever this is invoked,
 * printed as a table (or JSON); exit 1 if any configured signal fails.
 * Secrets and CA ConfigMaps come from the cluster with --secrets-from-cluster,
 * otherwise from $CROSSLINK_SECRET_<NAME>_<KEY> / $CROSSLINK_CONFIGMAP_<NAME>_<KEY>;
 * a reference that cannot be resolved reports SecretNotFound for its signal. */
#include "cli.h"
#include "core.h"
#include "kube.h"
#include "probe.h"
#include "links_stack.h"
#include "probe_targets.h"
#include "spec.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: crosslink probe -f FILE [--secrets-from-cluster] [--kubeconfig PATH] [--context NAME]\n"
            "                       [-n NAMESPACE] [-o table|json] [--links]\n"
            "\n"
            "Runs the operator's readiness / version / tenant-checked query checks against every\n"
            "backend of the ObservabilityStack(s) in FILE (YAML or JSON, \"-\" = stdin), from this\n"
            "machine's network position. Exit status 1 if any check fails, 2 on usage errors.\n"
            "\n"
            "  --secrets-from-cluster  read referenced Secrets / CA ConfigMaps from the cluster\n"
            "                          (namespace of the stack; kubeconfig as for kubectl)\n"
            "  -n NAMESPACE            namespace for stacks without metadata.namespace\n"
            "                          (default: the kubeconfig's namespace, else \"default\")\n"
            "  -o table|json           output format (default table)\n"
            "  --links                 instead: follow every rendered cross-signal link against the\n"
            "                          backends' data (exemplar → trace → logs/metrics/profiles, log line\n"
            "                          → trace, service map); Verified / Broken / NoData per link; exit 1\n"
            "                          if any link is Broken (NoData alone exits 0; docs/links.md)\n"
            "\n"
            "Without --secrets-from-cluster a reference {name: N, key: K} is read from the\n"
            "environment variable CROSSLINK_SECRET_<N>_<K> (CROSSLINK_CONFIGMAP_<N>_<K> for a CA\n"
            "ConfigMap), upper-cased with non-alphanumerics as '_'; if unset the signal reports\n"
            "SecretNotFound and is not probed.\n");
}

/* ---- output ---------------------------------------------------------------- */

struct row {
    const char *stack;
    const char *signal;
    char url[192];
    struct probe_result r;
};

static void print_table(const struct row *rows, size_t n, int multi)
{
    size_t i;
    int ws = 5, wu = 3, wr = 6;
    for (i = 0; i < n; i++) {
        int l;
        if ((l = (int)strlen(rows[i].stack)) > ws)
            ws = l;
        if ((l = (int)strlen(rows[i].url)) > wu)
            wu = l;
        if ((l = (int)strlen(rows[i].r.reason)) > wr)
            wr = l;
    }
    if (multi)
        printf("%-*s  ", ws, "STACK");
    printf("%-8s  %-*s  %-*s  %-7s  %s\n", "SIGNAL", wu, "URL", wr, "RESULT", "LATENCY", "MESSAGE");
    for (i = 0; i < n; i++) {
        char lat[24];
        if (rows[i].r.latency_ms > 0 || rows[i].r.http_status > 0)
            snprintf(lat, sizeof lat, "%lldms", (long long)rows[i].r.latency_ms);
        else
            snprintf(lat, sizeof lat, "-");
        if (multi)
            printf("%-*s  ", ws, rows[i].stack);
        printf("%-8s  %-*s  %-*s  %-7s  %s\n", rows[i].signal, wu, rows[i].url, wr, rows[i].r.reason, lat,
               rows[i].r.message);
    }
}

static int print_json(const struct row *rows, size_t n)
{
    json_t *arr = json_array();
    size_t i;
    char *s;
    if (!arr)
        return OP_ENOMEM;
    for (i = 0; i < n; i++) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:i, s:I, s:b}", "stack", rows[i].stack,
                              "signal", rows[i].signal, "url", rows[i].url, "ok", rows[i].r.ok, "reason",
                              rows[i].r.reason, "message", rows[i].r.message, "version", rows[i].r.version,
                              "httpStatus", rows[i].r.http_status, "latencyMs",
                              (json_int_t)rows[i].r.latency_ms, "cached", rows[i].r.cached);
        if (!o || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return OP_ENOMEM;
        }
    }
    s = json_dumps(arr, JSON_INDENT(2));
    json_decref(arr);
    if (!s)
        return OP_ENOMEM;
    printf("%s\n", s);
    free(s);
    return 0;
}

/* ---- command ---------------------------------------------------------------- */

int cmd_probe(int argc, char **argv)
{
    const char *file = NULL, *kubeconfig = NULL, *context = NULL, *ns = NULL, *fmt = "table";
    int from_cluster = 0, links = 0, i, rc = 2, any_fail = 0;
    json_t *docs = NULL;
    struct kube_client *kc = NULL;
    struct probe_engine *eng = NULL;
    struct spec_stack **stacks = NULL;
    struct row *rows = NULL;
    size_t nstacks = 0, nrows = 0, k;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "-f") == 0 || strcmp(a, "--filename") == 0) && i + 1 < argc)
            file = argv[++i];
        else if (strncmp(a, "--filename=", 11) == 0)
            file = a + 11;
        else if (strcmp(a, "--secrets-from-cluster") == 0)
            from_cluster = 1;
        else if (strcmp(a, "--links") == 0)
            links = 1;
        else if (strcmp(a, "--kubeconfig") == 0 && i + 1 < argc)
            kubeconfig = argv[++i];
        else if (strncmp(a, "--kubeconfig=", 13) == 0)
            kubeconfig = a + 13;
        else if (strcmp(a, "--context") == 0 && i + 1 < argc)
            context = argv[++i];
        else if ((strcmp(a, "-n") == 0 || strcmp(a, "--namespace") == 0) && i + 1 < argc)
            ns = argv[++i];
        else if (strcmp(a, "-o") == 0 && i + 1 < argc)
            fmt = argv[++i];
        else if (strncmp(a, "-o", 2) == 0 && a[2])
            fmt = a[2] == '=' ? a + 3 : a + 2;
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "crosslink probe: unknown or incomplete argument \"%s\"\n\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!file || (strcmp(fmt, "table") != 0 && strcmp(fmt, "json") != 0)) {
        usage(stderr);
        return 2;
    }

    if (from_cluster) {
        struct kube_config *cfg = NULL;
        struct kube_config_opts o = {.kubeconfig = kubeconfig, .context = context};
        if (kube_config_load(&cfg, &o) != 0) {
            fprintf(stderr, "crosslink probe: kubeconfig: %s\n", op_err_last());
            rc = 1;
            goto out;
        }
        if (!ns)
            ns = kube_config_namespace(cfg);
        if (kube_client_new(&kc, cfg) != 0) {
            kube_config_free(cfg);
            fprintf(stderr, "crosslink probe: %s\n", op_err_last());
            rc = 1;
            goto out;
        }
        kube_client_set_timeout_ms(kc, 10000);
    }

    if (spec_load_file(&docs, file) != 0) {
        fprintf(stderr, "crosslink probe: %s: %s\n", file, op_err_last());
        rc = 1;
        goto out;
    }
    stacks = calloc(json_array_size(docs) + 1, sizeof *stacks);
    rows = calloc((json_array_size(docs) + 1) * SPEC_SIGNAL_COUNT, sizeof *rows);
    if (!stacks || !rows) {
        fprintf(stderr, "crosslink probe: out of memory\n");
        rc = 1;
        goto out;
    }
    for (k = 0; k < json_array_size(docs); k++) {
        struct spec_errors errs;
        spec_errors_init(&errs);
        if (spec_stack_from_json(&stacks[nstacks], json_array_get(docs, k), ns, &errs) != 0) {
            char *m = spec_errors_format(&errs, "\n  ");
            fprintf(stderr, "crosslink probe: %s: invalid ObservabilityStack:\n  %s\n", file,
                    m ? m : op_err_last());
            free(m);
            spec_errors_cleanup(&errs);
            rc = 1;
            goto out;
        }
        spec_errors_cleanup(&errs);
        nstacks++;
    }

    if (links) {
        rc = ctl_probe_links(stacks, nstacks, from_cluster ? ctl_ref_lookup_kube : ctl_ref_lookup_env,
                             from_cluster ? (void *)kc : NULL, strcmp(fmt, "json") == 0);
        goto out;
    }
    if (probe_engine_new(&eng, 32, 0) != 0) {
        fprintf(stderr, "crosslink probe: %s\n", op_err_last());
        rc = 1;
        goto out;
    }
    probe_engine_set_vantage(eng, "checked from this machine, not from the controller");
    for (k = 0; k < nstacks; k++) {
        struct ctl_probe_set ps;
        struct probe_result res[SPEC_SIGNAL_COUNT];
        size_t j;
        if (ctl_probe_set_build(&ps, stacks[k], from_cluster ? ctl_ref_lookup_kube : ctl_ref_lookup_env,
                                from_cluster ? (void *)kc : NULL) != 0) {
            fprintf(stderr, "crosslink probe: out of memory\n");
            rc = 1;
            goto out;
        }
        ctl_probe_set_run(&ps, eng, res);
        for (j = 0; j < ps.n; j++) {
            struct row *rw = &rows[nrows++];
            rw->stack = stacks[k]->meta.name ? stacks[k]->meta.name : "";
            rw->signal = probe_signal_name(ps.targets[j].signal);
            probe_url_redact(ps.targets[j].url, rw->url, sizeof rw->url);
            rw->r = res[j];
            if (!res[j].ok)
                any_fail = 1;
            if (ps.insecure[j])
                fprintf(stderr, "warning: %s/%s %s: tls.insecureSkipVerify is set; the certificate is not verified\n",
                        stacks[k]->meta.namespace, rw->stack, rw->signal);
            if (ps.dollar_in_secret[j])
                fprintf(stderr,
                        "warning: %s/%s %s: a credential contains '$'; Grafana re-expands $__file{} values, so it would arrive truncated\n",
                        stacks[k]->meta.namespace, rw->stack, rw->signal);
        }
        ctl_probe_set_cleanup(&ps);
    }
    if (strcmp(fmt, "json") == 0) {
        if (print_json(rows, nrows) != 0) {
            rc = 1;
            goto out;
        }
    } else {
        print_table(rows, nrows, nstacks > 1);
    }
    fflush(stdout);
    rc = any_fail ? 1 : 0;
out:
    for (k = 0; stacks && k < nstacks; k++)
        spec_stack_free(stacks[k]);
    free(stacks);
    free(rows);
    probe_engine_free(eng);
    kube_client_free(kc);
    json_decref(docs);
    return rc;
}
