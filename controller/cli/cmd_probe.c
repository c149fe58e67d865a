/* cmd_probe.c — `crosslink probe -f stack.yaml [--secrets-from-cluster]`: the
 * controller's backend checks (pkg/probe) run from wherever this is invoked,
 * printed as a table (or JSON); exit 1 if any configured signal fails.
 * Secrets and CA ConfigMaps come from the cluster with --secrets-from-cluster,
 * otherwise from $CROSSLINK_SECRET_<NAME>_<KEY> / $CROSSLINK_CONFIGMAP_<NAME>_<KEY>;
 * a reference that cannot be resolved reports SecretNotFound for its signal. */
#include "cli.h"
#include "cli_opt.h"
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

enum { P_FILE, P_SECRETS, P_KUBECONFIG, P_CONTEXT, P_NAMESPACE, P_OUTPUT, P_LINKS, P_HELP };
static const struct cli_opt probe_opts[] = {
    [P_FILE] = {"filename", required_argument, 'f', "FILE", NULL, NULL,
                "ObservabilityStack(s), YAML or JSON; '-' reads standard input"},
    [P_SECRETS] = {"secrets-from-cluster", no_argument, 0, NULL, NULL, NULL,
                   "read referenced Secrets / CA ConfigMaps from the cluster "
                   "(namespace of the stack; kubeconfig as for kubectl)"},
    [P_KUBECONFIG] = {"kubeconfig", required_argument, 0, "PATH", NULL, NULL,
                      "kubeconfig file(s) for --secrets-from-cluster"},
    [P_CONTEXT] = {"context", required_argument, 0, "NAME", NULL, NULL,
                   "kubeconfig context (default: current-context)"},
    [P_NAMESPACE] = {"namespace", required_argument, 'n', "NAMESPACE", NULL, NULL,
                     "namespace for stacks without metadata.namespace "
                     "(default: the kubeconfig's namespace, else \"default\")"},
    [P_OUTPUT] = {"output", required_argument, 'o', "table|json", NULL, "table", "output format"},
    [P_LINKS] = {"links", no_argument, 0, NULL, NULL, NULL,
                 "instead: follow every rendered cross-signal link against the "
                 "backends' data (exemplar → trace → logs/metrics/profiles, log line "
                 "→ trace, service map); Verified / Broken / NoData per link; exit 1 "
                 "if any link is Broken (NoData alone exits 0; docs/links.md)"},
    [P_HELP] = {"help", no_argument, 'h', NULL, NULL, NULL, "this text"},
};

const struct cli_cmd cli_cmd_probe = {
    "probe",
    "probe -f FILE [--secrets-from-cluster] [--kubeconfig PATH] [--context NAME]\n"
    "                       [-n NAMESPACE] [-o table|json] [--links]",
    "Runs the operator's readiness / version / tenant-checked query checks against every\n"
    "backend of the ObservabilityStack(s) in FILE (YAML or JSON, \"-\" = stdin), from this\n"
    "machine's network position. Exit status 1 if any check fails, 2 on usage errors.\n",
    probe_opts,
    sizeof probe_opts / sizeof probe_opts[0],
    "Without --secrets-from-cluster a reference {name: N, key: K} is read from the\n"
    "environment variable CROSSLINK_SECRET_<N>_<K> (CROSSLINK_CONFIGMAP_<N>_<K> for a CA\n"
    "ConfigMap), upper-cased with non-alphanumerics as '_'; if unset the signal reports\n"
    "SecretNotFound and is not probed.\n",
};

struct probe_args {
    const char *file, *kubeconfig, *context, *ns, *fmt;
    int from_cluster, links;
};

static int probe_set(void *ctx, int idx, const char *val, const char *src, char **err)
{
    struct probe_args *a = ctx;
    (void)src;
    switch (idx) {
    case P_FILE: a->file = val; break;
    case P_SECRETS: a->from_cluster = 1; break;
    case P_KUBECONFIG: a->kubeconfig = val; break;
    case P_CONTEXT: a->context = val; break;
    case P_NAMESPACE: a->ns = val; break;
    case P_OUTPUT: a->fmt = val; break;
    case P_LINKS: a->links = 1; break;
    default:
        *err = op_asprintf("unexpected argument \"%s\"", val);
        return OP_EINVALID;
    }
    return OP_OK;
}

/* Returns -1 to go on, else the exit code (help printed, or a usage error). */
static int probe_args_parse(struct probe_args *a, int argc, char **argv)
{
    char *err = NULL;
    int rc = cli_parse(&cli_cmd_probe, argc, argv, probe_set, a, &err);
    if (rc == CLI_HELP) {
        cli_usage(stdout, &cli_cmd_probe);
        return 0;
    }
    if (rc < 0)
        return cli_usage_error(&cli_cmd_probe, err);
    if (!a->file)
        return cli_usage_error(&cli_cmd_probe, op_asprintf("-f FILE is required"));
    if (strcmp(a->fmt, "table") != 0 && strcmp(a->fmt, "json") != 0)
        return cli_usage_error(&cli_cmd_probe, op_asprintf("-o must be table or json, not \"%s\"", a->fmt));
    return -1;
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

/* Probes every configured signal of every stack and prints the table (or
 * JSON). rows has room for nstacks * SPEC_SIGNAL_COUNT. Returns the exit code. */
static int probe_and_print(struct spec_stack **stacks, size_t nstacks, struct row *rows,
                           ctl_ref_lookup_fn lookup, void *ud, int json)
{
    struct probe_engine *eng = NULL;
    size_t nrows = 0, k, j;
    int rc = 1, any_fail = 0;

    if (probe_engine_new(&eng, 32, 0) != 0) {
        fprintf(stderr, "crosslink probe: %s\n", op_err_last());
        return 1;
    }
    probe_engine_set_vantage(eng, "checked from this machine, not from the controller");
    for (k = 0; k < nstacks; k++) {
        struct ctl_probe_set ps;
        struct probe_result res[SPEC_SIGNAL_COUNT];
        if (ctl_probe_set_build(&ps, stacks[k], lookup, ud) != 0) {
            fprintf(stderr, "crosslink probe: out of memory\n");
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
    if (json) {
        if (print_json(rows, nrows) != 0)
            goto out;
    } else {
        print_table(rows, nrows, nstacks > 1);
    }
    fflush(stdout);
    rc = any_fail ? 1 : 0;
out:
    probe_engine_free(eng);
    return rc;
}

/* --secrets-from-cluster: a client from the kubeconfig; fills a->ns from it
 * when -n was not given. Returns 0 or 1 (message printed). */
static int open_cluster(struct probe_args *a, struct kube_client **kc)
{
    struct kube_config *cfg = NULL;
    struct kube_config_opts o = {.kubeconfig = a->kubeconfig, .context = a->context};
    if (kube_config_load(&cfg, &o) != 0) {
        fprintf(stderr, "crosslink probe: kubeconfig: %s\n", op_err_last());
        return 1;
    }
    if (!a->ns)
        a->ns = kube_config_namespace(cfg);
    if (kube_client_new(kc, cfg) != 0) {
        kube_config_free(cfg);
        fprintf(stderr, "crosslink probe: %s\n", op_err_last());
        return 1;
    }
    kube_client_set_timeout_ms(*kc, 10000);
    return 0;
}

int cmd_probe(int argc, char **argv)
{
    struct probe_args args = {NULL, NULL, NULL, NULL, "table", 0, 0};
    int rc;
    json_t *docs = NULL;
    struct kube_client *kc = NULL;
    struct spec_stack **stacks = NULL;
    struct row *rows = NULL;
    size_t nstacks = 0, k;
    ctl_ref_lookup_fn lookup;

    if ((rc = probe_args_parse(&args, argc, argv)) >= 0)
        return rc;
    rc = 1;
    if (args.from_cluster && open_cluster(&args, &kc) != 0)
        goto out;
    lookup = args.from_cluster ? ctl_ref_lookup_kube : ctl_ref_lookup_env;

    if (spec_load_file(&docs, args.file) != 0) {
        fprintf(stderr, "crosslink probe: %s: %s\n", args.file, op_err_last());
        goto out;
    }
    stacks = calloc(json_array_size(docs) + 1, sizeof *stacks);
    rows = calloc((json_array_size(docs) + 1) * SPEC_SIGNAL_COUNT, sizeof *rows);
    if (!stacks || !rows) {
        fprintf(stderr, "crosslink probe: out of memory\n");
        goto out;
    }
    for (k = 0; k < json_array_size(docs); k++) {
        struct spec_errors errs;
        spec_errors_init(&errs);
        if (spec_stack_from_json(&stacks[nstacks], json_array_get(docs, k), args.ns, &errs) != 0) {
            char *m = spec_errors_format(&errs, "\n  ");
            fprintf(stderr, "crosslink probe: %s: invalid ObservabilityStack:\n  %s\n", args.file,
                    m ? m : op_err_last());
            free(m);
            spec_errors_cleanup(&errs);
            goto out;
        }
        spec_errors_cleanup(&errs);
        nstacks++;
    }

    if (args.links)
        rc = ctl_probe_links(stacks, nstacks, lookup, kc, strcmp(args.fmt, "json") == 0);
    else
        rc = probe_and_print(stacks, nstacks, rows, lookup, kc, strcmp(args.fmt, "json") == 0);
out:
    for (k = 0; stacks && k < nstacks; k++)
        spec_stack_free(stacks[k]);
    free(stacks);
    free(rows);
    kube_client_free(kc);
    json_decref(docs);
    return rc;
}
