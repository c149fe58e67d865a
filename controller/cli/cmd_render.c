/* cmd_render.c — `crosslink render -f FILE [-o yaml|json] [-n NAMESPACE]`:
 * the controller's decode + render path, offline. Prints the ConfigMaps of
 * every ObservabilityStack in FILE as a multi-document YAML stream (or a JSON
 * List) for `kubectl apply -f -`, CI and GitOps. Validation errors go to
 * stderr, one per line, and nothing is printed on stdout (exit 1). */
#include "cli.h"
#include "cli_opt.h"

#include "core.h"
#include "render.h"
#include "spec.h"
#include "xy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { R_FILE, R_OUTPUT, R_NAMESPACE, R_HELP };
static const struct cli_opt render_opts[] = {
    [R_FILE] = {"filename", required_argument, 'f', "FILE", NULL, NULL,
                "YAML or JSON file; multi-document streams and kind List "
                "are accepted; '-' reads standard input"},
    [R_OUTPUT] = {"output", required_argument, 'o', "FORMAT", NULL, NULL,
                  "yaml (default): a multi-document YAML stream\n"
                  "json: a v1 List"},
    [R_NAMESPACE] = {"namespace", required_argument, 'n', "NS", NULL, "\"default\"",
                     "namespace for stacks without metadata.namespace"},
    [R_HELP] = {"help", no_argument, 'h', NULL, NULL, NULL, "this text"},
};

const struct cli_cmd cli_cmd_render = {
    "render",
    "render -f FILE [-o yaml|json] [-n NAMESPACE]",
    "Renders the Grafana provisioning ConfigMaps of every ObservabilityStack in FILE\n"
    "exactly as the controller would (without ownerReferences) and prints them.\n",
    render_opts,
    sizeof render_opts / sizeof render_opts[0],
    "Exit status: 0 rendered; 1 invalid input (every problem is printed to stderr as\n"
    "FILE: NAMESPACE/NAME: FIELD: RULE); 2 usage error.\n",
};

struct render_args {
    const char *file, *format, *ns;
};

static int render_set(void *ctx, int idx, const char *val, const char *src, char **err)
{
    struct render_args *a = ctx;
    (void)src;
    switch (idx) {
    case R_FILE:
        a->file = val;
        return OP_OK;
    case R_OUTPUT:
        a->format = val;
        return OP_OK;
    case R_NAMESPACE:
        a->ns = val;
        return OP_OK;
    default:
        *err = op_asprintf("unexpected argument \"%s\"", val);
        return OP_EINVALID;
    }
}

/* Returns -1 to go on, else the exit code (help printed, or a usage error). */
static int render_args_parse(struct render_args *a, int argc, char **argv)
{
    char *err = NULL;
    int rc = cli_parse(&cli_cmd_render, argc, argv, render_set, a, &err);
    if (rc == CLI_HELP) {
        cli_usage(stdout, &cli_cmd_render);
        return 0;
    }
    if (rc < 0)
        return cli_usage_error(&cli_cmd_render, err);
    if (!a->file)
        return cli_usage_error(&cli_cmd_render, op_asprintf("-f FILE is required"));
    if (strcmp(a->format, "yaml") != 0 && strcmp(a->format, "json") != 0) {
        fprintf(stderr, "crosslink render: -o must be yaml or json, not \"%s\"\n", a->format);
        return 2;
    }
    if (a->ns && !*a->ns) {
        fprintf(stderr, "crosslink render: -n needs a non-empty namespace\n");
        return 2;
    }
    return -1;
}

static const char *meta_str(const json_t *obj, const char *key, const char *dflt)
{
    const char *v = json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
    return v ? v : dflt;
}

/* Two stacks rendered together land in the same Grafana: within one org
 * (spec.grafana.orgId; UIDs, names and the default are per org) their
 * data-source UIDs and names must not collide, and at most one may claim
 * the default data source (two make Grafana refuse all data-source
 * provisioning). The controller keys its claims the same way. */
static int check_cross_stack(const char *file, struct spec_stack **stacks, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        int di = spec_stack_default_signal(stacks[i]);
        for (size_t j = 0; di >= 0 && j < i; j++) {
            int dj = spec_stack_default_signal(stacks[j]);
            if (dj < 0 || stacks[i]->grafana.org_id != stacks[j]->grafana.org_id)
                continue;
            fprintf(stderr,
                    "%s: %s/%s: spec.%s.default: %s/%s already claims the default data source "
                    "(spec.%s.default) of Grafana org %lld; two defaults in one org make Grafana refuse "
                    "all data-source provisioning\n",
                    file, stacks[i]->meta.namespace, stacks[i]->meta.name, spec_signal_name((enum spec_signal)di),
                    stacks[j]->meta.namespace, stacks[j]->meta.name, spec_signal_name((enum spec_signal)dj),
                    (long long)stacks[i]->grafana.org_id);
            bad = 1;
            break;
        }
        for (int a = 0; a < SPEC_SIGNAL_COUNT; a++) {
            const struct spec_backend *x = spec_stack_backend(stacks[i], (enum spec_signal)a);
            if (!x)
                continue;
            for (size_t j = 0; j < i; j++) {
                if (stacks[i]->grafana.org_id != stacks[j]->grafana.org_id)
                    continue;
                for (int b = 0; b < SPEC_SIGNAL_COUNT; b++) {
                    const struct spec_backend *y = spec_stack_backend(stacks[j], (enum spec_signal)b);
                    if (!y)
                        continue;
                    if (strcmp(x->uid, y->uid) == 0) {
                        fprintf(stderr, "%s: %s/%s: spec.%s.uid: data source UID \"%s\" is also used by %s/%s\n",
                                file, stacks[i]->meta.namespace, stacks[i]->meta.name,
                                spec_signal_name((enum spec_signal)a), x->uid, stacks[j]->meta.namespace,
                                stacks[j]->meta.name);
                        bad = 1;
                    }
                    if (strcmp(x->name, y->name) == 0) {
                        fprintf(stderr, "%s: %s/%s: spec.%s.name: data source name \"%s\" is also used by %s/%s\n",
                                file, stacks[i]->meta.namespace, stacks[i]->meta.name,
                                spec_signal_name((enum spec_signal)a), x->name, stacks[j]->meta.namespace,
                                stacks[j]->meta.name);
                        bad = 1;
                    }
                }
            }
        }
    }
    return bad;
}

int cmd_render(int argc, char **argv)
{
    struct render_args args = {NULL, "yaml", NULL};
    const char *file, *format, *ns;
    json_t *docs = NULL, *items = NULL, *doc;
    struct spec_stack **stacks = NULL;
    size_t n = 0, i;
    char *text = NULL;
    int rc = 1, bad = 0;

    if ((rc = render_args_parse(&args, argc, argv)) >= 0)
        return rc;
    file = args.file;
    format = args.format;
    ns = args.ns;
    rc = 1;

    if (spec_load_file(&docs, file) < 0) {
        fprintf(stderr, "%s: %s\n", file, op_err_last());
        goto out;
    }
    n = json_array_size(docs);
    if (!(stacks = calloc(n, sizeof(*stacks)))) {
        fprintf(stderr, "crosslink render: out of memory\n");
        goto out;
    }
    json_array_foreach(docs, i, doc) {
        struct spec_errors errs;
        int err;
        spec_errors_init(&errs);
        err = spec_stack_from_json(&stacks[i], doc, ns, &errs);
        if (err == OP_EINVALID) {
            const char *name = meta_str(doc, "name", "?");
            const char *dns = meta_str(doc, "namespace", ns ? ns : "default");
            for (size_t e = 0; e < errs.n; e++)
                fprintf(stderr, "%s: %s/%s: %s\n", file, dns, name, errs.v[e]);
            bad = 1;
        } else if (err < 0) {
            fprintf(stderr, "%s: %s\n", file, op_err_last());
            bad = 1;
        }
        spec_errors_cleanup(&errs);
    }
    if (bad)
        goto out;
    if (check_cross_stack(file, stacks, n))
        goto out;

    if (!(items = json_array()))
        goto oom;
    for (i = 0; i < n; i++) {
        struct render_output *o = NULL;
        if (render_stack(&o, stacks[i]) < 0) {
            fprintf(stderr, "%s: %s/%s: render failed: %s\n", file, stacks[i]->meta.namespace,
                    stacks[i]->meta.name, op_err_last());
            goto out;
        }
        for (size_t c = 0; c < o->n; c++)
            if (json_array_append(items, o->cms[c].object) != 0) {
                render_output_free(o);
                goto oom;
            }
        render_output_free(o);
    }

    if (strcmp(format, "json") == 0) {
        json_t *list = json_pack("{s:s, s:s, s:O}", "apiVersion", "v1", "kind", "List", "items", items);
        if (!list)
            goto oom;
        text = json_dumps(list, JSON_INDENT(2) | JSON_SORT_KEYS);
        json_decref(list);
        if (!text)
            goto oom;
        printf("%s\n", text);
    } else {
        if (xy_emit_stream(&text, items) < 0) {
            fprintf(stderr, "crosslink render: %s\n", op_err_last());
            goto out;
        }
        fputs(text, stdout);
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "crosslink render: write error\n");
        goto out;
    }
    rc = 0;
    goto out;
oom:
    fprintf(stderr, "crosslink render: out of memory\n");
out:
    free(text);
    for (i = 0; stacks && i < n; i++)
        spec_stack_free(stacks[i]);
    free(stacks);
    json_decref(items);
    json_decref(docs);
    return rc;
}
