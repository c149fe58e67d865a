/* options.c — parses `crosslink controller` flags. Every flag has an env var
 * CROSSLINK_<UPPER_SNAKE>; the flag wins. No globals: the environment is
 * passed in, so tests can give their own. The identity is resolved here too
 * ($POD_NAME, else hostname + "_" + random hex). */
#include "options.h"
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
    OPT_COUNT
};

static const struct {
    const char *flag; /* without the leading "--" */
    const char *env;
    int is_bool;
} opt_defs[OPT_COUNT] = {
    [OPT_KUBECONFIG] = {"kubeconfig", "CROSSLINK_KUBECONFIG", 0},
    [OPT_CONTEXT] = {"context", "CROSSLINK_CONTEXT", 0},
    [OPT_NAMESPACES] = {"namespaces", "CROSSLINK_NAMESPACES", 0},
    [OPT_WORKERS] = {"workers", "CROSSLINK_WORKERS", 0},
    [OPT_VERIFY_INTERVAL] = {"verify-interval", "CROSSLINK_VERIFY_INTERVAL", 0},
    [OPT_METRICS_ADDR] = {"metrics-addr", "CROSSLINK_METRICS_ADDR", 0},
    [OPT_HEALTH_ADDR] = {"health-addr", "CROSSLINK_HEALTH_ADDR", 0},
    [OPT_LEADER_ELECT] = {"leader-elect", "CROSSLINK_LEADER_ELECT", 1},
    [OPT_LEASE_NAMESPACE] = {"lease-namespace", "CROSSLINK_LEASE_NAMESPACE", 0},
    [OPT_LEASE_NAME] = {"lease-name", "CROSSLINK_LEASE_NAME", 0},
    [OPT_LOG_LEVEL] = {"log-level", "CROSSLINK_LOG_LEVEL", 0},
};

void ctl_options_usage(FILE *f)
{
    fprintf(f,
            "Usage: crosslink controller [flags]\n"
            "\n"
            "Runs the operator: watches ObservabilityStacks, writes their Grafana\n"
            "provisioning ConfigMaps, probes the backends and reports status.\n"
            "Every flag can also be set by the env var shown (the flag wins).\n"
            "\n"
            "  --kubeconfig PATH          kubeconfig file (CROSSLINK_KUBECONFIG; default\n"
            "                             $KUBECONFIG, ~/.kube/config, else in-cluster)\n"
            "  --context NAME             kubeconfig context (CROSSLINK_CONTEXT)\n"
            "  --namespaces a,b           watch only these namespaces (CROSSLINK_NAMESPACES;\n"
            "                             default all)\n"
            "  --workers N                concurrent reconciles (CROSSLINK_WORKERS; 0 = 8 per\n"
            "                             usable CPU, 8..32)\n"
            "  --verify-interval DUR      re-verify period for stacks without\n"
            "                             spec.verify.interval (CROSSLINK_VERIFY_INTERVAL; 60s;\n"
            "                             0 disables)\n"
            "  --metrics-addr HOST:PORT   Prometheus /metrics (CROSSLINK_METRICS_ADDR; :8080;\n"
            "                             0 disables)\n"
            "  --health-addr HOST:PORT    /healthz and /readyz (CROSSLINK_HEALTH_ADDR; :8081;\n"
            "                             0 disables)\n"
            "  --leader-elect[=BOOL]      Lease-based leader election (CROSSLINK_LEADER_ELECT;\n"
            "                             false)\n"
            "  --lease-namespace NS       namespace of the Lease (CROSSLINK_LEASE_NAMESPACE;\n"
            "                             $POD_NAMESPACE, else the kubeconfig namespace,\n"
            "                             else default)\n"
            "  --lease-name NAME          name of the Lease (CROSSLINK_LEASE_NAME;\n"
            "                             crosslink-controller)\n"
            "  --log-level LEVEL          debug|info|warn|error (CROSSLINK_LOG_LEVEL; info)\n"
            "  -h, --help                 this text\n"
            "\n"
            "Identity for leader election: $POD_NAME, else hostname_<random hex>.\n");
}

static const char *env_get(char *const *env, const char *name)
{
    size_t n = strlen(name);
    if (!env)
        return NULL;
    for (; *env; env++)
        if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
            return *env + n + 1;
    return NULL;
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
static int apply_opt(struct ctl_options *o, enum opt_id id, const char *v, const char *src,
                     char **err_out)
{
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
    case OPT_COUNT:
        break;
    }
    if (err == OP_ENOMEM)
        *err_out = op_asprintf("out of memory");
    return err;
}

static int make_identity(struct ctl_options *o, char *const *env)
{
    const char *pod = env_get(env, "POD_NAME");
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
    return cpus >= 4 ? 32 : cpus * 8;
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
    for (int id = 0; id < OPT_COUNT; id++) {
        const char *v = env_get(env, opt_defs[id].env);
        if (v && (err = apply_opt(o, (enum opt_id)id, v, opt_defs[id].env, &msg)) < 0)
            goto out;
    }

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *name, *eq, *val = NULL;
        size_t nlen;
        int id;

        if (!strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "help")) {
            o->help = 1;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            msg = op_asprintf("unexpected argument \"%s\"", a);
            err = OP_EINVALID;
            goto out;
        }
        name = a + 2;
        eq = strchr(name, '=');
        nlen = eq ? (size_t)(eq - name) : strlen(name);
        for (id = 0; id < OPT_COUNT; id++)
            if (strlen(opt_defs[id].flag) == nlen && !strncmp(opt_defs[id].flag, name, nlen))
                break;
        if (id == OPT_COUNT) {
            msg = op_asprintf("unknown flag \"--%.*s\"", (int)nlen, name);
            err = OP_EINVALID;
            goto out;
        }
        if (eq) {
            val = eq + 1;
        } else if (opt_defs[id].is_bool) {
            val = "true"; /* like pflag: a bare bool flag never eats the next argument */
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            msg = op_asprintf("flag --%s needs a value", opt_defs[id].flag);
            err = OP_EINVALID;
            goto out;
        }
        char src[64];
        snprintf(src, sizeof(src), "--%s", opt_defs[id].flag);
        if ((err = apply_opt(o, (enum opt_id)id, val, src, &msg)) < 0)
            goto out;
    }

    if (!o->lease_namespace && (pns = env_get(env, "POD_NAMESPACE")) && *pns &&
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
