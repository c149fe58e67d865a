/* config.c — where to connect and how to authenticate: kubeconfig files
 * (merged like $KUBECONFIG, first definition wins, paths relative to the file
 * that names them) and the in-cluster service account. Certificates and keys
 * are kept in memory only. Tokens from files are re-read every 60 s; exec
 * plugin credentials are cached until their expirationTimestamp. The
 * credential cache is guarded by cfg->lock; everything else is immutable. */
#include "kube_int.h"
#include "xy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define KUBE_FILE_MAX ((size_t)16 << 20)
#define KUBE_TOKEN_MAX ((size_t)1 << 20)
#define KUBE_EXEC_OUT_MAX ((size_t)1 << 20)
#define KUBE_TOKEN_REREAD_MS 60000
#define KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct kube_config {
    char *server;
    char *ns;
    char *context;
    char *ca;
    size_t ca_len;
    char *cert;
    size_t cert_len;
    char *key;
    size_t key_len;
    int insecure;
    char *tls_server_name;
    enum kube_auth auth;
    char *token;      /* static token */
    char *token_file; /* absolute or relative to cwd after resolution */
    char *username;
    char *password;
    /* exec plugin */
    char **exec_argv; /* NULL-terminated */
    char **exec_env;  /* NULL-terminated "K=V" extras */
    char *exec_api_version;
    char *exec_cluster_json; /* for provideClusterInfo, or NULL */

    pthread_mutex_t lock;
    char *cached_token;
    int64_t cached_at_ms;   /* token file read time */
    int64_t cached_exp_s;   /* exec expiry (wall seconds); 0 = none */
    int cached_valid;
    char *exec_cert;
    size_t exec_cert_len;
    char *exec_key;
    size_t exec_key_len;
};

/* ---- small helpers ------------------------------------------------------ */

int kube__read_file(const char *path, size_t max, char **out, size_t *out_len)
{
    struct op_buf b;
    char tmp[8192];
    int fd, err = OP_OK;
    ssize_t n;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return op_err_set(errno == ENOENT ? OP_ENOTFOUND : OP_ERR, "open %s: %s", path,
                          strerror(errno));
    op_buf_init(&b, max);
    for (;;) {
        n = read(fd, tmp, sizeof(tmp));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            err = op_err_set(OP_ERR, "read %s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        if (op_buf_append(&b, tmp, (size_t)n) < 0) {
            err = op_err_set(OP_ETOOBIG, "%s: larger than %zu bytes", path, max);
            goto out;
        }
    }
    if (out_len)
        *out_len = b.len;
    *out = op_buf_take(&b);
    if (!*out)
        err = op_err_set(OP_ENOMEM, "out of memory");
out:
    close(fd);
    op_buf_cleanup(&b);
    return err;
}

/* Joins dir and a relative path; absolute paths and dir==NULL are copied. */
static char *resolve_path(const char *dir, const char *p)
{
    if (!p)
        return NULL;
    if (p[0] == '/' || !dir || !*dir)
        return op_strdup(p);
    if (p[0] == '~' && p[1] == '/' && getenv("HOME"))
        return op_asprintf("%s/%s", getenv("HOME"), p + 2);
    return op_asprintf("%s/%s", dir, p);
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return (s && *s) ? s : NULL;
}

static int jbool(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (json_is_boolean(v))
        return json_is_true(v);
    if (json_is_string(v))
        return strcmp(json_string_value(v), "true") == 0;
    return 0;
}

/* Loads "<prefix>-data" (base64) or "<prefix>" (file relative to dir). */
static int load_pem(const json_t *o, const char *key_data, const char *key_file, const char *dir,
                    char **out, size_t *out_len)
{
    const char *d = jstr(o, key_data), *f = jstr(o, key_file);
    char *path;
    int err;

    if (d) {
        if ((err = op_base64_decode(d, strlen(d), out, out_len)) < 0)
            return op_err_set(err, "%s: invalid base64", key_data);
        return OP_OK;
    }
    if (!f)
        return OP_OK;
    path = resolve_path(dir, f);
    if (!path)
        return op_err_set(OP_ENOMEM, "out of memory");
    err = kube__read_file(path, KUBE_FILE_MAX, out, out_len);
    if (err < 0)
        err = kube__err_wrap(err == OP_ENOTFOUND ? OP_EINVALID : err, "%s", key_file);
    free(path);
    return err;
}

static void free_strv(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

void kube_config_free(struct kube_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->server);
    free(cfg->ns);
    free(cfg->context);
    free(cfg->ca);
    free(cfg->cert);
    op_wipe_free_n(cfg->key, cfg->key_len);
    free(cfg->tls_server_name);
    op_wipe_free(cfg->token);
    free(cfg->token_file);
    free(cfg->username);
    op_wipe_free(cfg->password);
    free_strv(cfg->exec_argv);
    free_strv(cfg->exec_env);
    free(cfg->exec_api_version);
    free(cfg->exec_cluster_json);
    op_wipe_free(cfg->cached_token);
    free(cfg->exec_cert);
    op_wipe_free_n(cfg->exec_key, cfg->exec_key_len);
    pthread_mutex_destroy(&cfg->lock);
    free(cfg);
}

static struct kube_config *config_alloc(void)
{
    struct kube_config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return NULL;
    if (pthread_mutex_init(&cfg->lock, NULL) != 0) {
        free(cfg);
        return NULL;
    }
    return cfg;
}

/* ---- kubeconfig ----------------------------------------------------------- */

/* Merges the named list `section` (clusters/users/contexts) of doc into
 * merged: name → {"v": <inner object>, "dir": base_dir}. First wins. */
static int merge_named(json_t *merged, const json_t *doc, const char *section, const char *inner,
                       const char *dir)
{
    json_t *arr = json_object_get(doc, section), *item;
    size_t i;

    if (!arr || json_is_null(arr))
        return OP_OK;
    if (!json_is_array(arr))
        return op_err_set(OP_EINVALID, "kubeconfig: %s must be a list", section);
    json_array_foreach(arr, i, item) {
        const char *name = jstr(item, "name");
        json_t *v = json_object_get(item, inner), *e;
        if (!name)
            return op_err_set(OP_EINVALID, "kubeconfig: %s[%zu]: missing name", section, i);
        if (json_object_get(merged, name))
            continue;
        if (!v || json_is_null(v))
            v = json_object(); /* e.g. a user with no fields */
        else
            json_incref(v);
        if (!json_is_object(v)) {
            json_decref(v);
            return op_err_set(OP_EINVALID, "kubeconfig: %s[%zu].%s must be a mapping", section, i,
                              inner);
        }
        e = json_pack("{s:o,s:s}", "v", v, "dir", dir ? dir : "");
        if (!e || json_object_set_new(merged, name, e) < 0)
            return op_err_set(OP_ENOMEM, "out of memory");
    }
    return OP_OK;
}

static int parse_exec(struct kube_config *cfg, const json_t *ex, const char *dir)
{
    const char *cmd = jstr(ex, "command");
    json_t *args = json_object_get(ex, "args"), *env = json_object_get(ex, "env"), *v;
    size_t i, n;
    int err = OP_OK;

    if (!cmd)
        return op_err_set(OP_EINVALID, "kubeconfig: exec.command is required");
    n = json_is_array(args) ? json_array_size(args) : 0;
    cfg->exec_argv = calloc(n + 2, sizeof(char *));
    if (!cfg->exec_argv)
        return op_err_set(OP_ENOMEM, "out of memory");
    /* client-go: a command containing a path separator and not absolute is
     * relative to the kubeconfig file; a bare name is looked up in PATH. */
    if (strchr(cmd, '/') && cmd[0] != '/')
        cfg->exec_argv[0] = resolve_path(dir, cmd);
    else
        cfg->exec_argv[0] = op_strdup(cmd);
    if (!cfg->exec_argv[0])
        return op_err_set(OP_ENOMEM, "out of memory");
    for (i = 0; i < n; i++) {
        const char *a = json_string_value(json_array_get(args, i));
        if (!a)
            return op_err_set(OP_EINVALID, "kubeconfig: exec.args[%zu] must be a string", i);
        if (!(cfg->exec_argv[i + 1] = op_strdup(a)))
            return op_err_set(OP_ENOMEM, "out of memory");
    }
    n = json_is_array(env) ? json_array_size(env) : 0;
    cfg->exec_env = calloc(n + 1, sizeof(char *));
    if (!cfg->exec_env)
        return op_err_set(OP_ENOMEM, "out of memory");
    json_array_foreach(env, i, v) {
        const char *k = jstr(v, "name"), *val = json_string_value(json_object_get(v, "value"));
        if (!k || !val)
            return op_err_set(OP_EINVALID, "kubeconfig: exec.env[%zu] needs name and value", i);
        if (!(cfg->exec_env[i] = op_asprintf("%s=%s", k, val)))
            return op_err_set(OP_ENOMEM, "out of memory");
    }
    cfg->exec_api_version = op_strdup(jstr(ex, "apiVersion") ? jstr(ex, "apiVersion")
                                                              : "client.authentication.k8s.io/v1");
    if (!cfg->exec_api_version)
        err = op_err_set(OP_ENOMEM, "out of memory");
    return err;
}

static int build_from_merged(struct kube_config *cfg, json_t *clusters, json_t *users,
                             json_t *contexts, const char *ctx_name)
{
    json_t *ctx, *cl, *us;
    const char *cluster_name, *user_name, *dir, *s;
    int err;

    if (!ctx_name)
        return op_err_set(OP_ENOTFOUND, "kubeconfig: no current-context and no --context given");
    ctx = json_object_get(contexts, ctx_name);
    if (!ctx)
        return op_err_set(OP_ENOTFOUND, "kubeconfig: context \"%s\" not found", ctx_name);
    ctx = json_object_get(ctx, "v");
    cluster_name = jstr(ctx, "cluster");
    user_name = jstr(ctx, "user");
    if (!(cfg->context = op_strdup(ctx_name)))
        return op_err_set(OP_ENOMEM, "out of memory");
    cfg->ns = op_strdup(jstr(ctx, "namespace") ? jstr(ctx, "namespace") : "default");
    if (!cfg->ns)
        return op_err_set(OP_ENOMEM, "out of memory");

    if (!cluster_name || !(cl = json_object_get(clusters, cluster_name)))
        return op_err_set(OP_EINVALID, "kubeconfig: context \"%s\": cluster \"%s\" not found",
                          ctx_name, cluster_name ? cluster_name : "");
    dir = json_string_value(json_object_get(cl, "dir"));
    cl = json_object_get(cl, "v");
    s = jstr(cl, "server");
    if (!s)
        return op_err_set(OP_EINVALID, "kubeconfig: cluster \"%s\" has no server", cluster_name);
    if (!(cfg->server = op_strdup(s)))
        return op_err_set(OP_ENOMEM, "out of memory");
    /* strip trailing slashes so paths can be appended */
    for (size_t l = strlen(cfg->server); l > 0 && cfg->server[l - 1] == '/'; l--)
        cfg->server[l - 1] = '\0';
    cfg->insecure = jbool(cl, "insecure-skip-tls-verify");
    if (jstr(cl, "tls-server-name") && !(cfg->tls_server_name = op_strdup(jstr(cl, "tls-server-name"))))
        return op_err_set(OP_ENOMEM, "out of memory");
    if ((err = load_pem(cl, "certificate-authority-data", "certificate-authority", dir, &cfg->ca,
                        &cfg->ca_len)) < 0)
        return kube__err_wrap(err, "kubeconfig: cluster \"%s\"", cluster_name);

    cfg->auth = KUBE_AUTH_NONE;
    if (!user_name)
        return OP_OK;
    us = json_object_get(users, user_name);
    if (!us)
        return op_err_set(OP_EINVALID, "kubeconfig: context \"%s\": user \"%s\" not found", ctx_name,
                          user_name);
    dir = json_string_value(json_object_get(us, "dir"));
    us = json_object_get(us, "v");
    if ((err = load_pem(us, "client-certificate-data", "client-certificate", dir, &cfg->cert,
                        &cfg->cert_len)) < 0 ||
        (err = load_pem(us, "client-key-data", "client-key", dir, &cfg->key, &cfg->key_len)) < 0)
        return kube__err_wrap(err, "kubeconfig: user \"%s\"", user_name);
    if ((cfg->cert == NULL) != (cfg->key == NULL))
        return op_err_set(OP_EINVALID, "kubeconfig: user \"%s\": client certificate and key must both be set",
                          user_name);
    if (cfg->cert)
        cfg->auth = KUBE_AUTH_CERT;
    if (jstr(us, "token")) {
        if (!(cfg->token = op_strdup(jstr(us, "token"))))
            return op_err_set(OP_ENOMEM, "out of memory");
        cfg->auth = KUBE_AUTH_TOKEN;
    } else if (jstr(us, "tokenFile")) {
        if (!(cfg->token_file = resolve_path(dir, jstr(us, "tokenFile"))))
            return op_err_set(OP_ENOMEM, "out of memory");
        cfg->auth = KUBE_AUTH_TOKEN_FILE;
    } else if (json_is_object(json_object_get(us, "exec"))) {
        if ((err = parse_exec(cfg, json_object_get(us, "exec"), dir)) < 0)
            return kube__err_wrap(err, "kubeconfig: user \"%s\"", user_name);
        if (jbool(json_object_get(us, "exec"), "provideClusterInfo")) {
            json_t *ci = json_pack("{s:s,s:b}", "server", cfg->server, "insecure-skip-tls-verify",
                                   cfg->insecure);
            if (ci && cfg->ca) {
                /* ExecCredential wants the CA as base64 ([]byte) — re-encode */
                json_object_set_new(ci, "certificate-authority-data",
                                    json_string(jstr(cl, "certificate-authority-data")
                                                    ? jstr(cl, "certificate-authority-data")
                                                    : ""));
            }
            cfg->exec_cluster_json = ci ? json_dumps(ci, JSON_COMPACT) : NULL;
            json_decref(ci);
        }
        cfg->auth = KUBE_AUTH_EXEC;
    } else if (jstr(us, "username") && jstr(us, "password")) {
        cfg->username = op_strdup(jstr(us, "username"));
        cfg->password = op_strdup(jstr(us, "password"));
        if (!cfg->username || !cfg->password)
            return op_err_set(OP_ENOMEM, "out of memory");
        if (cfg->auth == KUBE_AUTH_NONE)
            cfg->auth = KUBE_AUTH_BASIC;
    } else if (json_object_get(us, "auth-provider")) {
        return op_err_set(OP_EINVALID, "kubeconfig: user \"%s\": auth-provider plugins are not supported; use exec",
                          user_name);
    }
    return OP_OK;
}

/* The first YAML document of text as JSON (null when there is none),
 * through pkg/yaml's loader (bounded input, depth and node count). */
static int load_first_doc(const char *text, json_t **out)
{
    json_t *docs = NULL;
    int err = xy_load(&docs, text, strlen(text));
    if (err == OP_EINVALID) {
        char why[256];
        snprintf(why, sizeof(why), "%s", op_err_last()); /* op_err_set reuses that buffer */
        return op_err_set(OP_EINVALID, "kubeconfig: %s", why);
    }
    if (err < 0)
        return err;
    *out = json_array_size(docs) ? json_incref(json_array_get(docs, 0)) : json_null();
    json_decref(docs);
    return OP_OK;
}

int kube_config_parse_yaml(struct kube_config **out, const char *const *docs,
                           const char *const *base_dirs, size_t n_docs, const char *context)
{
    struct kube_config *cfg = NULL;
    json_t *clusters = json_object(), *users = json_object(), *contexts = json_object();
    json_t *doc = NULL;
    const char *current = NULL;
    char *current_copy = NULL;
    int err = OP_OK;
    size_t i;

    if (!clusters || !users || !contexts) {
        err = op_err_set(OP_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < n_docs; i++) {
        const char *dir = base_dirs ? base_dirs[i] : NULL;
        if ((err = load_first_doc(docs[i], &doc)) < 0)
            goto out;
        if (!json_is_object(doc)) {
            if (json_is_null(doc)) {
                json_decref(doc);
                doc = NULL;
                continue;
            }
            err = op_err_set(OP_EINVALID, "kubeconfig: top level must be a mapping");
            goto out;
        }
        if ((err = merge_named(clusters, doc, "clusters", "cluster", dir)) < 0 ||
            (err = merge_named(users, doc, "users", "user", dir)) < 0 ||
            (err = merge_named(contexts, doc, "contexts", "context", dir)) < 0)
            goto out;
        if (!current_copy && jstr(doc, "current-context")) {
            if (!(current_copy = op_strdup(jstr(doc, "current-context")))) {
                err = op_err_set(OP_ENOMEM, "out of memory");
                goto out;
            }
        }
        json_decref(doc);
        doc = NULL;
    }
    current = context && *context ? context : current_copy;
    if (!(cfg = config_alloc())) {
        err = op_err_set(OP_ENOMEM, "out of memory");
        goto out;
    }
    if ((err = build_from_merged(cfg, clusters, users, contexts, current)) < 0)
        goto out;
    *out = cfg;
    cfg = NULL;
out:
    kube_config_free(cfg);
    json_decref(doc);
    json_decref(clusters);
    json_decref(users);
    json_decref(contexts);
    free(current_copy);
    return err;
}

/* ---- in-cluster ----------------------------------------------------------- */

int kube_config_in_cluster(struct kube_config **out, const char *sa_dir, const char *host,
                           const char *port)
{
    struct kube_config *cfg = NULL;
    char *path = NULL, *nsbuf = NULL;
    const char *pod_ns = getenv("POD_NAMESPACE");
    size_t len;
    int err = OP_OK;

    if (!sa_dir)
        sa_dir = KUBE_SA_DIR;
    if (!host)
        host = getenv("KUBERNETES_SERVICE_HOST");
    if (!port)
        port = getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !*host || !port || !*port)
        return op_err_set(OP_ENOTFOUND, "in-cluster: KUBERNETES_SERVICE_HOST/PORT not set");
    if (!(cfg = config_alloc()))
        return op_err_set(OP_ENOMEM, "out of memory");
    if (strchr(host, ':') && host[0] != '[')
        cfg->server = op_asprintf("https://[%s]:%s", host, port);
    else
        cfg->server = op_asprintf("https://%s:%s", host, port);
    cfg->context = op_strdup("");
    cfg->token_file = op_asprintf("%s/token", sa_dir);
    path = op_asprintf("%s/ca.crt", sa_dir);
    if (!cfg->server || !cfg->context || !cfg->token_file || !path) {
        err = op_err_set(OP_ENOMEM, "out of memory");
        goto out;
    }
    cfg->auth = KUBE_AUTH_TOKEN_FILE;
    if ((err = kube__read_file(path, KUBE_FILE_MAX, &cfg->ca, &cfg->ca_len)) < 0) {
        err = kube__err_wrap(err, "in-cluster");
        goto out;
    }
    if (access(cfg->token_file, R_OK) != 0) {
        err = op_err_set(OP_ENOTFOUND, "in-cluster: %s: %s", cfg->token_file, strerror(errno));
        goto out;
    }
    free(path);
    path = op_asprintf("%s/namespace", sa_dir);
    if (!path) {
        err = op_err_set(OP_ENOMEM, "out of memory");
        goto out;
    }
    if (pod_ns && *pod_ns) {
        cfg->ns = op_strdup(pod_ns);
    } else if (kube__read_file(path, 4096, &nsbuf, &len) == 0) {
        while (len > 0 && (nsbuf[len - 1] == '\n' || nsbuf[len - 1] == ' ' || nsbuf[len - 1] == '\r'))
            nsbuf[--len] = '\0';
        cfg->ns = len ? nsbuf : op_strdup("default");
        if (len)
            nsbuf = NULL;
    } else {
        cfg->ns = op_strdup("default");
    }
    if (!cfg->ns) {
        err = op_err_set(OP_ENOMEM, "out of memory");
        goto out;
    }
    op_err_clear();
    *out = cfg;
    cfg = NULL;
out:
    free(path);
    free(nsbuf);
    kube_config_free(cfg);
    return err;
}

/* ---- loading -------------------------------------------------------------- */

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return op_strdup(".");
    if (slash == path)
        return op_strdup("/");
    return strndup(path, (size_t)(slash - path));
}

int kube_config_load(struct kube_config **out, const struct kube_config_opts *opts)
{
    const char *list = opts ? opts->kubeconfig : NULL;
    const char *ctx = opts ? opts->context : NULL;
    int explicit_path = list && *list;
    char *home_cfg = NULL, *copy = NULL;
    char **texts = NULL, **dirs = NULL;
    size_t n = 0, cap = 0;
    int err = OP_OK;

    if (opts && opts->in_cluster)
        return kube_config_in_cluster(out, NULL, NULL, NULL);
    if (!explicit_path) {
        list = getenv("KUBECONFIG");
        if (!list || !*list) {
            const char *home = getenv("HOME");
            list = NULL;
            if (home && (home_cfg = op_asprintf("%s/.kube/config", home)) &&
                access(home_cfg, F_OK) == 0)
                list = home_cfg;
        }
    }
    if (!list) {
        free(home_cfg);
        if (getenv("KUBERNETES_SERVICE_HOST"))
            return kube_config_in_cluster(out, NULL, NULL, NULL);
        return op_err_set(OP_ENOTFOUND,
                          "no kubeconfig: set KUBECONFIG, create ~/.kube/config or run in a cluster");
    }
    if (!(copy = op_strdup(list))) {
        err = op_err_set(OP_ENOMEM, "out of memory");
        goto out;
    }
    for (char *p = copy, *next; p; p = next) {
        char *text = NULL;
        next = strchr(p, ':');
        if (next)
            *next++ = '\0';
        if (!*p)
            continue;
        /* duplicates are ignored, like client-go's deduplicate() */
        int dup = 0;
        for (size_t k = 0; k < n && !dup; k++)
            dup = dirs[k] && strcmp(dirs[k] + strlen(dirs[k]) + 1, p) == 0;
        if (dup)
            continue;
        err = kube__read_file(p, KUBE_FILE_MAX, &text, NULL);
        if (err == OP_ENOTFOUND && !explicit_path) {
            err = OP_OK; /* missing files in $KUBECONFIG are skipped */
            continue;
        }
        if (err < 0) {
            err = kube__err_wrap(err, "kubeconfig");
            goto out;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 4;
            char **t2 = realloc(texts, nc * sizeof(char *)), **d2;
            if (t2)
                texts = t2;
            d2 = t2 ? realloc(dirs, nc * sizeof(char *)) : NULL;
            if (!t2 || !d2) {
                free(text);
                err = op_err_set(OP_ENOMEM, "out of memory");
                goto out;
            }
            dirs = d2;
            cap = nc;
        }
        texts[n] = text;
        {
            /* store "dir\0path" so duplicates can be detected by path */
            char *d = dir_of(p);
            char *both = d ? malloc(strlen(d) + strlen(p) + 2) : NULL;
            if (both) {
                memcpy(both, d, strlen(d) + 1);
                memcpy(both + strlen(d) + 1, p, strlen(p) + 1);
            }
            free(d);
            dirs[n] = both;
            n++;
            if (!both) {
                err = op_err_set(OP_ENOMEM, "out of memory");
                goto out;
            }
        }
    }
    if (n == 0) {
        if (getenv("KUBERNETES_SERVICE_HOST")) {
            err = kube_config_in_cluster(out, NULL, NULL, NULL);
            goto out;
        }
        err = op_err_set(OP_ENOTFOUND, "kubeconfig: none of \"%s\" exists", list);
        goto out;
    }
    err = kube_config_parse_yaml(out, (const char *const *)texts, (const char *const *)dirs, n, ctx);
out:
    for (size_t k = 0; k < n; k++) {
        free(texts[k]);
        free(dirs[k]);
    }
    free(texts);
    free(dirs);
    free(copy);
    free(home_cfg);
    return err;
}

/* ---- accessors ------------------------------------------------------------ */

const char *kube_config_server(const struct kube_config *cfg)
{
    return cfg->server;
}

const char *kube_config_namespace(const struct kube_config *cfg)
{
    return cfg->ns ? cfg->ns : "default";
}

const char *kube_config_context(const struct kube_config *cfg)
{
    return cfg->context ? cfg->context : "";
}

enum kube_auth kube_config_auth(const struct kube_config *cfg)
{
    return cfg->auth;
}

const char *kube_config_ca_pem(const struct kube_config *cfg, size_t *len)
{
    if (len)
        *len = cfg->ca_len;
    return cfg->ca;
}

const char *kube_config_client_cert_pem(const struct kube_config *cfg, size_t *len)
{
    if (len)
        *len = cfg->cert_len;
    return cfg->cert;
}

const char *kube_config_client_key_pem(const struct kube_config *cfg, size_t *len)
{
    if (len)
        *len = cfg->key_len;
    return cfg->key;
}

int kube_config_insecure(const struct kube_config *cfg)
{
    return cfg->insecure;
}

const char *kube_config_tls_server_name(const struct kube_config *cfg)
{
    return cfg->tls_server_name;
}

const char *kube__config_username(const struct kube_config *cfg)
{
    return cfg->auth == KUBE_AUTH_BASIC ? cfg->username : NULL;
}

const char *kube__config_password(const struct kube_config *cfg)
{
    return cfg->auth == KUBE_AUTH_BASIC ? cfg->password : NULL;
}

/* ---- credentials ---------------------------------------------------------- */

/* Parses an exec plugin's output (an ExecCredential) into the cache.
 * Called with cfg->lock held (or before cfg is shared). */
int kube__exec_credential_apply(struct kube_config *cfg, const char *data, size_t len)
{
    json_t *cred, *st;
    const char *tok, *exp_s, *cd, *kd;
    int err = OP_OK;

    cred = json_loadb(data ? data : "", len, 0, NULL);
    st = json_object_get(cred, "status");
    if (!json_is_object(st)) {
        err = op_err_set(OP_ERR, "exec plugin %s: output is not an ExecCredential with status",
                         cfg->exec_argv[0]);
        goto out;
    }
    tok = jstr(st, "token");
    cd = jstr(st, "clientCertificateData");
    kd = jstr(st, "clientKeyData");
    exp_s = jstr(st, "expirationTimestamp");
    if (!tok && !(cd && kd)) {
        err = op_err_set(OP_ERR, "exec plugin %s: no token or client certificate in status",
                         cfg->exec_argv[0]);
        goto out;
    }
    op_wipe_free(cfg->cached_token);
    cfg->cached_token = tok ? op_strdup(tok) : NULL;
    free(cfg->exec_cert);
    op_wipe_free_n(cfg->exec_key, cfg->exec_key_len);
    cfg->exec_cert = cd ? op_strdup(cd) : NULL;
    cfg->exec_cert_len = cd ? strlen(cd) : 0;
    cfg->exec_key = kd ? op_strdup(kd) : NULL;
    cfg->exec_key_len = kd ? strlen(kd) : 0;
    cfg->cached_exp_s = 0;
    if (exp_s) {
        int64_t t;
        if (op_rfc3339_parse(exp_s, &t) == 0)
            cfg->cached_exp_s = t;
    }
    cfg->cached_at_ms = op_mono_ms();
    cfg->cached_valid = 1;
out:
    json_decref(cred);
    return err;
}

/* Runs the exec plugin and fills the cache. Called with cfg->lock held. */
static int run_exec(struct kube_config *cfg)
{
    posix_spawn_file_actions_t fa;
    char **envp = NULL;
    char *info = NULL;
    struct op_buf outb;
    int pipefd[2] = {-1, -1}, err = OP_OK, status = 0, fa_init = 0;
    size_t nenv = 0, nextra = 0;
    pid_t pid = -1;

    op_buf_init(&outb, KUBE_EXEC_OUT_MAX);
    for (char **e = environ; e && *e; e++)
        nenv++;
    for (char **e = cfg->exec_env; e && *e; e++)
        nextra++;
    envp = calloc(nenv + nextra + 2, sizeof(char *));
    if (cfg->exec_cluster_json)
        info = op_asprintf("KUBERNETES_EXEC_INFO={\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\","
                           "\"spec\":{\"interactive\":false,\"cluster\":%s}}",
                           cfg->exec_api_version, cfg->exec_cluster_json);
    else
        info = op_asprintf("KUBERNETES_EXEC_INFO={\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\","
                           "\"spec\":{\"interactive\":false}}",
                           cfg->exec_api_version);
    if (!envp || !info) {
        err = op_err_set(OP_ENOMEM, "out of memory");
        goto out;
    }
    /* extra env overrides the inherited one: put extras first is not enough
     * for getenv semantics (first match wins in glibc), so filter. */
    {
        size_t k = 0;
        for (char **e = cfg->exec_env; e && *e; e++)
            envp[k++] = *e;
        for (char **e = environ; e && *e; e++) {
            int shadowed = strncmp(*e, "KUBERNETES_EXEC_INFO=", 21) == 0;
            for (char **x = cfg->exec_env; x && *x && !shadowed; x++) {
                size_t kl = (size_t)(strchr(*x, '=') - *x);
                shadowed = strncmp(*e, *x, kl + 1) == 0;
            }
            if (!shadowed)
                envp[k++] = *e;
        }
        envp[k++] = info;
        envp[k] = NULL;
    }
    if (pipe(pipefd) != 0 || fcntl(pipefd[0], F_SETFD, FD_CLOEXEC) != 0 ||
        fcntl(pipefd[1], F_SETFD, FD_CLOEXEC) != 0) {
        err = op_err_set(OP_ERR, "exec plugin: pipe: %s", strerror(errno));
        goto out;
    }
    posix_spawn_file_actions_init(&fa);
    fa_init = 1;
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if ((errno = posix_spawnp(&pid, cfg->exec_argv[0], &fa, NULL, cfg->exec_argv, envp)) != 0) {
        err = op_err_set(OP_ERR, "exec plugin %s: %s", cfg->exec_argv[0], strerror(errno));
        pid = -1;
        goto out;
    }
    close(pipefd[1]);
    pipefd[1] = -1;
    for (;;) {
        char tmp[4096];
        ssize_t r = read(pipefd[0], tmp, sizeof(tmp));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (op_buf_append(&outb, tmp, (size_t)r) < 0) {
            err = op_err_set(OP_ETOOBIG, "exec plugin: output larger than %zu bytes", KUBE_EXEC_OUT_MAX);
            break;
        }
    }
    close(pipefd[0]);
    pipefd[0] = -1;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    pid = -1;
    if (err < 0)
        goto out;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        err = op_err_set(OP_ERR, "exec plugin %s failed (status %d)", cfg->exec_argv[0],
                         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        goto out;
    }
    err = kube__exec_credential_apply(cfg, outb.data, outb.len);
out:
    if (pid > 0)
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    if (fa_init)
        posix_spawn_file_actions_destroy(&fa);
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    free(envp);
    free(info);
    op_buf_cleanup_wipe(&outb);
    return err;
}

static int exec_fresh(struct kube_config *cfg, int force)
{
    if (force || !cfg->cached_valid)
        return run_exec(cfg);
    /* refresh a little before expiry */
    if (cfg->cached_exp_s && op_wall_s() + 10 >= cfg->cached_exp_s)
        return run_exec(cfg);
    return OP_OK;
}

int kube_config_token(struct kube_config *cfg, int force_refresh, char **out)
{
    int err = OP_OK;
    char *tok = NULL;

    switch (cfg->auth) {
    case KUBE_AUTH_TOKEN:
        tok = op_strdup(cfg->token);
        if (!tok)
            return op_err_set(OP_ENOMEM, "out of memory");
        *out = tok;
        return OP_OK;
    case KUBE_AUTH_TOKEN_FILE:
        pthread_mutex_lock(&cfg->lock);
        if (force_refresh || !cfg->cached_valid ||
            op_mono_ms() - cfg->cached_at_ms >= KUBE_TOKEN_REREAD_MS) {
            char *buf = NULL;
            size_t len = 0;
            err = kube__read_file(cfg->token_file, KUBE_TOKEN_MAX, &buf, &len);
            if (err == 0) {
                while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
                                   buf[len - 1] == ' ' || buf[len - 1] == '\t'))
                    buf[--len] = '\0';
                op_wipe_free(cfg->cached_token);
                cfg->cached_token = buf;
                cfg->cached_at_ms = op_mono_ms();
                cfg->cached_valid = 1;
            } else if (cfg->cached_valid) {
                err = OP_OK; /* keep using the old token if the file vanished briefly */
            } else {
                err = kube__err_wrap(err, "token file");
            }
        }
        if (err == 0 && !(tok = op_strdup(cfg->cached_token)))
            err = op_err_set(OP_ENOMEM, "out of memory");
        pthread_mutex_unlock(&cfg->lock);
        break;
    case KUBE_AUTH_EXEC:
        pthread_mutex_lock(&cfg->lock);
        err = exec_fresh(cfg, force_refresh);
        if (err == 0 && cfg->cached_token && !(tok = op_strdup(cfg->cached_token)))
            err = op_err_set(OP_ENOMEM, "out of memory");
        pthread_mutex_unlock(&cfg->lock);
        break;
    default:
        break;
    }
    if (err == 0)
        *out = tok;
    return err;
}

int kube__config_client_cert(struct kube_config *cfg, int force_refresh, char **cert,
                             size_t *cert_len, char **key, size_t *key_len)
{
    int err = OP_OK;
    const char *c = NULL, *k = NULL;
    size_t cl = 0, kl = 0;
    char *cc = NULL, *kc = NULL;

    if (cfg->auth == KUBE_AUTH_EXEC) {
        pthread_mutex_lock(&cfg->lock);
        err = exec_fresh(cfg, force_refresh);
        if (err == 0 && cfg->exec_cert && cfg->exec_key) {
            cc = malloc(cfg->exec_cert_len + 1);
            kc = malloc(cfg->exec_key_len + 1);
            if (cc && kc) {
                memcpy(cc, cfg->exec_cert, cfg->exec_cert_len + 1);
                memcpy(kc, cfg->exec_key, cfg->exec_key_len + 1);
                cl = cfg->exec_cert_len;
                kl = cfg->exec_key_len;
            } else {
                err = op_err_set(OP_ENOMEM, "out of memory");
            }
        }
        pthread_mutex_unlock(&cfg->lock);
        if (err == 0 && !cc) {
            c = cfg->cert;
            k = cfg->key;
            cl = cfg->cert_len;
            kl = cfg->key_len;
        }
    } else {
        c = cfg->cert;
        k = cfg->key;
        cl = cfg->cert_len;
        kl = cfg->key_len;
    }
    if (err == 0 && c && k) {
        cc = malloc(cl + 1);
        kc = malloc(kl + 1);
        if (cc && kc) {
            memcpy(cc, c, cl + 1);
            memcpy(kc, k, kl + 1);
        } else {
            err = op_err_set(OP_ENOMEM, "out of memory");
        }
    }
    if (err < 0) {
        free(cc);
        free(kc);
        return err;
    }
    *cert = cc;
    *key = kc;
    *cert_len = cc ? cl : 0;
    *key_len = kc ? kl : 0;
    return OP_OK;
}
