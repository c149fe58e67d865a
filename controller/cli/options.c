/* options.c — `crosslink controller` flags: the option table (cli_opt.h) and
 * the validation of each value. Every flag has an env var
 * CROSSLINK_<UPPER_SNAKE>; the flag wins. No globals: the environment is
 * passed in, so tests can give their own. The identity is resolved here too
 * ($POD_NAME, else hostname + "_" + random hex). */
#include "options.h"
#include "cli.h"
#include "runtime.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum opt_id {
    OPT_KUBECONFIG,
    OPT_CONTEXT,
    OPT_NAMESPACES,
    OPT_WORKERS,
    OPT_VERIFY_INTERVAL,
    OPT_METRICS_ADDR,
    OPT_HEALTH_ADDR,
    OPT_LEADER_ELECT,
    OPT_LEASE_NAMESPACE,
    OPT_LEASE_NAME,
    OPT_LOG_LEVEL,
    OPT_HELP,
    OPT_COUNT
};

static const struct cli_opt ctl_opts[] = {
    [OPT_KUBECONFIG] = {"kubeconfig", required_argument, 0, "PATH", "CROSSLINK_KUBECONFIG",
                        "$KUBECONFIG, ~/.kube/config, else in-cluster", "kubeconfig file"},
    [OPT_CONTEXT] = {"context", required_argument, 0, "NAME", "CROSSLINK_CONTEXT", NULL, "kubeconfig context"},
    [OPT_NAMESPACES] = {"namespaces", required_argument, 0, "a,b", "CROSSLINK_NAMESPACES", "all",
                        "watch only these namespaces"},
    [OPT_WORKERS] = {"workers", required_argument, 0, "N", "CROSSLINK_WORKERS", "0 = 4 per usable CPU, 8..32",
                     "concurrent reconciles"},
    [OPT_VERIFY_INTERVAL] = {"verify-interval", required_argument, 0, "DUR", "CROSSLINK_VERIFY_INTERVAL", "60s",
                             "re-verify period for stacks without spec.verify.interval; 0 disables"},
    [OPT_METRICS_ADDR] = {"metrics-addr", required_argument, 0, "HOST:PORT", "CROSSLINK_METRICS_ADDR", ":8080",
                          "Prometheus /metrics; 0 disables"},
    [OPT_HEALTH_ADDR] = {"health-addr", required_argument, 0, "HOST:PORT", "CROSSLINK_HEALTH_ADDR", ":8081",
                         "/healthz and /readyz; 0 disables"},
    [OPT_LEADER_ELECT] = {"leader-elect", optional_argument, 0, "BOOL", "CROSSLINK_LEADER_ELECT", "false",
                          "Lease-based leader election"},
    [OPT_LEASE_NAMESPACE] = {"lease-namespace", required_argument, 0, "NS", "CROSSLINK_LEASE_NAMESPACE",
                             "$POD_NAMESPACE, else the kubeconfig namespace, else default",
                             "namespace of the Lease"},
    [OPT_LEASE_NAME] = {"lease-name", required_argument, 0, "NAME", "CROSSLINK_LEASE_NAME",
                        "crosslink-controller", "name of the Lease"},
    [OPT_LOG_LEVEL] = {"log-level", required_argument, 0, "LEVEL", "CROSSLINK_LOG_LEVEL", "info",
                       "debug|info|warn|error"},
    [OPT_HELP] = {"help", no_argument, 'h', NULL, NULL, NULL, "this text"},
};

const struct cli_cmd cli_cmd_controller = {
    "controller",
    "controller [flags]",
    "Runs the operator: watches ObservabilityStacks, writes their Grafana\n"
    "provisioning ConfigMaps, probes the backends and reports status.\n"
    "Every flag can also be set by the env var shown (the flag wins).\n",
    ctl_opts,
    OPT_COUNT,
    "Identity for leader election: $POD_NAME, else hostname_<random hex>.\n",
};

void ctl_options_usage(FILE *f)
{
    cli_usage(f, &cli_cmd_controller);
}

static int parse_bool(const char *s, int *out)
{
    if (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes") || !strcmp(s, "True") ||
        !strcmp(s, "TRUE")) {
        *out = 1;
        return OP_OK;
    }
    if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no") || !strcmp(s, "False") ||
        !strcmp(s, "FALSE")) {
        *out = 0;
        return OP_OK;
    }
    return OP_EINVALID;
}

static int split_namespaces(struct ctl_options *o, const char *s)
{
    size_t n = 0, cap = 4;
    const char *p = s;
    char **v = calloc(cap + 1, sizeof(*v));
    if (!v)
        return OP_ENOMEM;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        /* trim spaces */
        while (len && *p == ' ') {
            p++;
            len--;
        }
        while (len && p[len - 1] == ' ')
            len--;
        if (len) {
            if (n == cap) {
                char **nv = realloc(v, (cap * 2 + 1) * sizeof(*v));
                if (!nv)
                    goto oom;
                v = nv;
                cap *= 2;
            }
            v[n] = malloc(len + 1);
            if (!v[n])
                goto oom;
            memcpy(v[n], p, len);
            v[n][len] = '\0';
            v[++n] = NULL;
        }
        if (!e)
            break;
        p = e + 1;
    }
    v[n] = NULL;
    for (size_t i = 0; i < o->n_namespaces; i++)
        free(o->namespaces[i]);
    free(o->namespaces);
    o->namespaces = v;
    o->n_namespaces = n;
    return OP_OK;
oom:
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    return OP_ENOMEM;
}

static int set_str(char **dst, const char *v)
{
    char *c = op_strdup(v);
    if (!c)
        return OP_ENOMEM;
    free(*dst);
    *dst = c;
    return OP_OK;
}

/* Applies one value; src names where it came from for messages. */
static int apply_opt(void *ctx, int idx, const char *v, const char *src, char **err_out)
{
    struct ctl_options *o = ctx;
    enum opt_id id = (enum opt_id)idx;
    int err = OP_OK;
    char host[256];
    int port;

    switch (id) {
    case OPT_KUBECONFIG:
        err = set_str(&o->kubeconfig, v);
        break;
    case OPT_CONTEXT:
        err = set_str(&o->context, v);
        break;
    case OPT_NAMESPACES:
        err = split_namespaces(o, v);
        break;
    case OPT_WORKERS: {
        char *end;
        long n;
        errno = 0;
        n = strtol(v, &end, 10);
        if (!*v || *end || errno || n < 0 || n > 256) {
            *err_out = op_asprintf("%s: invalid worker count \"%s\" (0 = auto, 1..256)", src, v);
            return OP_EINVALID;
        }
        o->workers = (int)n;
        break;
    }
    case OPT_VERIFY_INTERVAL:
        if (op_duration_parse(v, 0, &o->verify_interval_ms) < 0) {
            *err_out = op_asprintf("%s: invalid duration \"%s\" (e.g. 60s, 5m)", src, v);
            return OP_EINVALID;
        }
        break;
    case OPT_METRICS_ADDR:
    case OPT_HEALTH_ADDR: {
        char **dst = id == OPT_METRICS_ADDR ? &o->metrics_addr : &o->health_addr;
        if (!strcmp(v, "0")) {
            free(*dst);
            *dst = NULL;
            break;
        }
        if (rt_addr_parse(v, host, sizeof(host), &port) < 0) {
            *err_out = op_asprintf("%s: invalid address \"%s\" (HOST:PORT, :PORT or 0)", src, v);
            return OP_EINVALID;
        }
        err = set_str(dst, v);
        break;
    }
    case OPT_LEADER_ELECT:
        if (!v)
            v = "true"; /* like pflag: a bare bool flag never eats the next argument */
        if (parse_bool(v, &o->leader_elect) < 0) {
            *err_out = op_asprintf("%s: invalid boolean \"%s\"", src, v);
            return OP_EINVALID;
        }
        break;
    case OPT_LEASE_NAMESPACE:
        err = set_str(&o->lease_namespace, v);
        break;
    case OPT_LEASE_NAME:
        if (!*v) {
            *err_out = op_asprintf("%s: lease name must not be empty", src);
            return OP_EINVALID;
        }
        err = set_str(&o->lease_name, v);
        break;
    case OPT_LOG_LEVEL:
        if (op_log_level_parse(v, &o->log_level) < 0) {
            *err_out = op_asprintf("%s: invalid log level \"%s\" (debug|info|warn|error)", src, v);
            return OP_EINVALID;
        }
        break;
    case OPT_HELP: /* cli_parse returns CLI_HELP itself */
    case OPT_COUNT:
        break;
    default: /* a positional argument: only "help" */
        if (strcmp(v, "help") == 0) {
            o->help = 1;
            break;
        }
        *err_out = op_asprintf("unexpected argument \"%s\"", v);
        return OP_EINVALID;
    }
    if (err == OP_ENOMEM)
        *err_out = op_asprintf("out of memory");
    return err;
}

static int make_identity(struct ctl_options *o, char *const *env)
{
    const char *pod = cli_env_get(env, "POD_NAME");
    char host[256];
    unsigned char rnd[6];
    char hex[13];
    FILE *f;

    if (pod && *pod)
        return set_str(&o->identity, pod);
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "crosslink");
    host[sizeof(host) - 1] = '\0';
    f = fopen("/dev/urandom", "rb");
    if (!f || fread(rnd, 1, sizeof(rnd), f) != sizeof(rnd)) {
        for (size_t i = 0; i < sizeof(rnd); i++)
            rnd[i] = (unsigned char)(op_rand01() * 256);
    }
    if (f)
        fclose(f);
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
    free(o->identity);
    o->identity = op_asprintf("%s_%s", host, hex);
    return o->identity ? OP_OK : OP_ENOMEM;
}

void ctl_options_cleanup(struct ctl_options *o)
{
    if (!o)
        return;
    free(o->kubeconfig);
    free(o->context);
    for (size_t i = 0; i < o->n_namespaces; i++)
        free(o->namespaces[i]);
    free(o->namespaces);
    free(o->metrics_addr);
    free(o->health_addr);
    free(o->lease_namespace);
    free(o->lease_name);
    free(o->identity);
    memset(o, 0, sizeof(*o));
}

int ctl_default_workers(int cpus)
{
    if (cpus < 1)
        cpus = 1;
    return cpus <= 2 ? 8 : cpus >= 8 ? 32 : cpus * 4;
}

int ctl_options_parse(struct ctl_options *o, int argc, char **argv, char *const *env, char **err_out)
{
    int err = OP_OK;
    char *msg = NULL;
    const char *pns;

    memset(o, 0, sizeof(*o));
    o->workers = 0; /* auto: ctl_default_workers */
    o->verify_interval_ms = 60000;
    o->log_level = OP_LOG_INFO;
    if (set_str(&o->metrics_addr, ":8080") < 0 || set_str(&o->health_addr, ":8081") < 0 ||
        set_str(&o->lease_name, "crosslink-controller") < 0) {
        err = OP_ENOMEM;
        msg = op_asprintf("out of memory");
        goto out;
    }

    /* environment first, so flags override it */
    if ((err = cli_apply_env(&cli_cmd_controller, env, apply_opt, o, &msg)) < 0)
        goto out;
    if ((err = cli_parse(&cli_cmd_controller, argc, argv, apply_opt, o, &msg)) < 0)
        goto out;
    if (err == CLI_HELP)
        o->help = 1;
    err = OP_OK;

    if (!o->lease_namespace && (pns = cli_env_get(env, "POD_NAMESPACE")) && *pns &&
        set_str(&o->lease_namespace, pns) < 0) {
        err = OP_ENOMEM;
        msg = op_asprintf("out of memory");
        goto out;
    }
    if ((err = make_identity(o, env)) < 0) {
        msg = op_asprintf("out of memory");
        goto out;
    }
out:
    if (err < 0) {
        ctl_options_cleanup(o);
        if (err_out)
            *err_out = msg;
        else
            free(msg);
        return err == OP_ENOMEM ? OP_ENOMEM : OP_EINVALID;
    }
    return OP_OK;
}
