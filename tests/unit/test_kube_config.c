/* test_kube_config.c — unit tests for pkg/kube configuration: every kubeconfig
 * variant (token, tokenFile, CA data/file, client cert data/file, insecure,
 * namespace, --context, merged files, exec plugins with expiry caching) and
 * the in-cluster service-account config (IPv6 host, namespace sources). No
 * network; fixtures are written to a private temp directory. */
#include "kube.h"
#include "test.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

static void rm_tmpdir(void)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
}

static const char *tdir(void)
{
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/xl-kube-cfg-XXXXXX");
        if (!mkdtemp(tmpdir))
            abort();
        atexit(rm_tmpdir);
    }
    return tmpdir;
}

static void write_file(const char *name, const char *content, int mode)
{
    char path[512];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", tdir(), name);
    f = fopen(path, "w");
    if (!f)
        abort();
    fputs(content, f);
    fclose(f);
    chmod(path, (mode_t)mode);
}

static int parse1(struct kube_config **cfg, const char *yaml, const char *ctx)
{
    const char *docs[1] = {yaml};
    const char *dirs[1] = {tdir()};
    return kube_config_parse_yaml(cfg, docs, dirs, 1, ctx);
}

/* "-----BEGIN CERTIFICATE-----\nFAKECA\n-----END CERTIFICATE-----\n" */
#define CA_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkZBS0VDQQotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg=="
#define CA_PEM "-----BEGIN CERTIFICATE-----\nFAKECA\n-----END CERTIFICATE-----\n"

static const char BASIC[] =
    "apiVersion: v1\n"
    "kind: Config\n"
    "current-context: dev\n"
    "clusters:\n"
    "- name: c1\n"
    "  cluster:\n"
    "    server: https://127.0.0.1:6443/\n"
    "    certificate-authority-data: " CA_B64 "\n"
    "- name: c2\n"
    "  cluster:\n"
    "    server: https://kube.example:443\n"
    "    insecure-skip-tls-verify: true\n"
    "    tls-server-name: kubernetes.default\n"
    "users:\n"
    "- name: u1\n"
    "  user:\n"
    "    token: abc.def\n"
    "- name: u2\n"
    "  user:\n"
    "    username: admin\n"
    "    password: secret\n"
    "contexts:\n"
    "- name: dev\n"
    "  context: {cluster: c1, user: u1, namespace: team-a}\n"
    "- name: other\n"
    "  context:\n"
    "    cluster: c2\n"
    "    user: u2\n";

TEST(token_and_ca_data)
{
    struct kube_config *cfg = NULL;
    size_t len;
    char *tok = NULL;
    ASSERT_OK(parse1(&cfg, BASIC, NULL));
    ASSERT_STR_EQ(kube_config_server(cfg), "https://127.0.0.1:6443");
    ASSERT_STR_EQ(kube_config_namespace(cfg), "team-a");
    ASSERT_STR_EQ(kube_config_context(cfg), "dev");
    ASSERT_EQ(kube_config_auth(cfg), KUBE_AUTH_TOKEN);
    ASSERT_STR_EQ(kube_config_ca_pem(cfg, &len), CA_PEM);
    ASSERT_EQ(len, strlen(CA_PEM));
    ASSERT_EQ(kube_config_insecure(cfg), 0);
    ASSERT_TRUE(kube_config_tls_server_name(cfg) == NULL);
    ASSERT_OK(kube_config_token(cfg, 0, &tok));
    ASSERT_STR_EQ(tok, "abc.def");
    free(tok);
    kube_config_free(cfg);
}

TEST(context_override_insecure_basic)
{
    struct kube_config *cfg = NULL;
    char *tok = (char *)1;
    ASSERT_OK(parse1(&cfg, BASIC, "other"));
    ASSERT_STR_EQ(kube_config_server(cfg), "https://kube.example:443");
    ASSERT_STR_EQ(kube_config_namespace(cfg), "default");
    ASSERT_EQ(kube_config_insecure(cfg), 1);
    ASSERT_STR_EQ(kube_config_tls_server_name(cfg), "kubernetes.default");
    ASSERT_EQ(kube_config_auth(cfg), KUBE_AUTH_BASIC);
    ASSERT_TRUE(kube_config_ca_pem(cfg, NULL) == NULL);
    ASSERT_OK(kube_config_token(cfg, 0, &tok));
    ASSERT_TRUE(tok == NULL);
    kube_config_free(cfg);
}

TEST(missing_context_and_refs)
{
    struct kube_config *cfg = NULL;
    ASSERT_EQ(parse1(&cfg, BASIC, "nope"), OP_ENOTFOUND);
    ASSERT_CONTAINS(op_err_last(), "nope");
    ASSERT_TRUE(cfg == NULL);
    ASSERT_EQ(parse1(&cfg,
                     "current-context: x\ncontexts:\n- name: x\n  context: {cluster: gone, user: u}\n",
                     NULL),
              OP_EINVALID);
    ASSERT_CONTAINS(op_err_last(), "gone");
    ASSERT_EQ(parse1(&cfg, "clusters: []\n", NULL), OP_ENOTFOUND); /* no current-context */
    ASSERT_EQ(parse1(&cfg, "clusters: [\n", NULL), OP_EINVALID);   /* YAML syntax */
    ASSERT_CONTAINS(op_err_last(), "line");
    ASSERT_EQ(parse1(&cfg, "- a\n- b\n", NULL), OP_EINVALID); /* not a mapping */
    ASSERT_EQ(parse1(&cfg,
                     "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\n"
                     "clusters:\n- name: c\n  cluster: {server: 'https://h', certificate-authority-data: '!!notbase64'}\n",
                     NULL),
              OP_EINVALID);
    ASSERT_CONTAINS(op_err_last(), "base64");
    ASSERT_EQ(parse1(&cfg,
                     "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\n"
                     "clusters:\n- name: c\n  cluster: {insecure-skip-tls-verify: true}\n",
                     NULL),
              OP_EINVALID);
    ASSERT_CONTAINS(op_err_last(), "no server");
}

TEST(client_cert_data)
{
    struct kube_config *cfg = NULL;
    size_t len;
    const char *y =
        "current-context: x\n"
        "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
        "clusters: [{name: c, cluster: {server: 'https://[::1]:6443'}}]\n"
        "users:\n"
        "- name: u\n"
        "  user:\n"
        "    client-certificate-data: Q0VSVA==\n" /* CERT */
        "    client-key-data: S0VZ\n";            /* KEY */
    ASSERT_OK(parse1(&cfg, y, NULL));
    ASSERT_EQ(kube_config_auth(cfg), KUBE_AUTH_CERT);
    ASSERT_STR_EQ(kube_config_client_cert_pem(cfg, &len), "CERT");
    ASSERT_EQ(len, 4);
    ASSERT_STR_EQ(kube_config_client_key_pem(cfg, &len), "KEY");
    ASSERT_STR_EQ(kube_config_server(cfg), "https://[::1]:6443");
    kube_config_free(cfg);

    /* a certificate without its key is refused */
    const char *half =
        "current-context: x\n"
        "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
        "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
        "users: [{name: u, user: {client-certificate-data: Q0VSVA==}}]\n";
    ASSERT_EQ(parse1(&cfg, half, NULL), OP_EINVALID);
    ASSERT_CONTAINS(op_err_last(), "both");
}

TEST(files_relative_to_kubeconfig)
{
    struct kube_config *cfg = NULL;
    size_t len;
    write_file("ca.crt", CA_PEM, 0644);
    write_file("client.crt", "FILECERT\n", 0644);
    write_file("client.key", "FILEKEY\n", 0600);
    const char *y =
        "current-context: x\n"
        "contexts: [{name: x, context: {cluster: c, user: u, namespace: ns2}}]\n"
        "clusters: [{name: c, cluster: {server: 'https://h:1', certificate-authority: ca.crt}}]\n"
        "users: [{name: u, user: {client-certificate: client.crt, client-key: client.key}}]\n";
    ASSERT_OK(parse1(&cfg, y, NULL));
    ASSERT_STR_EQ(kube_config_ca_pem(cfg, &len), CA_PEM);
    ASSERT_STR_EQ(kube_config_client_cert_pem(cfg, NULL), "FILECERT\n");
    ASSERT_STR_EQ(kube_config_client_key_pem(cfg, NULL), "FILEKEY\n");
    ASSERT_STR_EQ(kube_config_namespace(cfg), "ns2");
    kube_config_free(cfg);

    /* a missing file is an error naming the field */
    const char *bad =
        "current-context: x\n"
        "contexts: [{name: x, context: {cluster: c}}]\n"
        "clusters: [{name: c, cluster: {server: 'https://h:1', certificate-authority: nope.crt}}]\n";
    ASSERT_EQ(parse1(&cfg, bad, NULL), OP_EINVALID);
    ASSERT_CONTAINS(op_err_last(), "certificate-authority");
}

TEST(token_file_reread)
{
    struct kube_config *cfg = NULL;
    char *tok = NULL;
    write_file("token", "tok-one\n", 0600);
    const char *y =
        "current-context: x\n"
        "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
        "clusters: [{name: c, cluster: {server: 'https://h:1', insecure-skip-tls-verify: 'true'}}]\n"
        "users: [{name: u, user: {tokenFile: token}}]\n";
    ASSERT_OK(parse1(&cfg, y, NULL));
    ASSERT_EQ(kube_config_auth(cfg), KUBE_AUTH_TOKEN_FILE);
    ASSERT_EQ(kube_config_insecure(cfg), 1);
    ASSERT_OK(kube_config_token(cfg, 0, &tok));
    ASSERT_STR_EQ(tok, "tok-one");
    free(tok);
    write_file("token", "tok-two", 0600);
    /* within 60 s the cached token is used ... */
    ASSERT_OK(kube_config_token(cfg, 0, &tok));
    ASSERT_STR_EQ(tok, "tok-one");
    free(tok);
    /* ... until a 401 forces a re-read */
    ASSERT_OK(kube_config_token(cfg, 1, &tok));
    ASSERT_STR_EQ(tok, "tok-two");
    free(tok);
    kube_config_free(cfg);
}

TEST(merge_first_wins)
{
    struct kube_config *cfg = NULL;
    char *tok = NULL;
    const char *a =
        "current-context: from-a\n"
        "clusters: [{name: shared, cluster: {server: 'https://a:1'}}]\n"
        "users: [{name: ua, user: {token: ta}}]\n"
        "contexts: [{name: from-a, context: {cluster: shared, user: ub}}]\n";
    const char *b =
        "current-context: from-b\n"
        "clusters: [{name: shared, cluster: {server: 'https://b:1'}}, {name: onlyb, cluster: {server: 'https://ob:1'}}]\n"
        "users: [{name: ub, user: {token: tb}}, {name: ua, user: {token: IGNORED}}]\n"
        "contexts: [{name: from-b, context: {cluster: onlyb, user: ua, namespace: nb}}]\n";
    const char *docs[2] = {a, b};
    const char *dirs[2] = {tdir(), tdir()};
    ASSERT_OK(kube_config_parse_yaml(&cfg, docs, dirs, 2, NULL));
    ASSERT_STR_EQ(kube_config_context(cfg), "from-a");
    ASSERT_STR_EQ(kube_config_server(cfg), "https://a:1");
    ASSERT_OK(kube_config_token(cfg, 0, &tok));
    ASSERT_STR_EQ(tok, "tb"); /* user only defined in b */
    free(tok);
    kube_config_free(cfg);
    ASSERT_OK(kube_config_parse_yaml(&cfg, docs, dirs, 2, "from-b"));
    ASSERT_STR_EQ(kube_config_server(cfg), "https://ob:1");
    ASSERT_STR_EQ(kube_config_namespace(cfg), "nb");
    ASSERT_OK(kube_config_token(cfg, 0, &tok));
    ASSERT_STR_EQ(tok, "ta"); /* a's definition of ua wins */
    free(tok);
    kube_config_free(cfg);
}

TEST(load_kubeconfig_env_list)
{
    struct kube_config *cfg = NULL;
    char list[1024];
    write_file("kc-a", "current-context: ca\ncontexts: [{name: ca, context: {cluster: c}}]\n", 0600);
    write_file("kc-b", "clusters: [{name: c, cluster: {server: 'https://envb:9'}}]\n", 0600);
    snprintf(list, sizeof(list), "%s/missing:%s/kc-a::%s/kc-b", tdir(), tdir(), tdir());
    setenv("KUBECONFIG", list, 1);
    ASSERT_OK(kube_config_load(&cfg, NULL));
    ASSERT_STR_EQ(kube_config_server(cfg), "https://envb:9");
    kube_config_free(cfg);
    unsetenv("KUBECONFIG");
    /* an explicit path that does not exist is an error */
    snprintf(list, sizeof(list), "%s/missing", tdir());
    struct kube_config_opts o = {list, NULL, 0};
    ASSERT_EQ(kube_config_load(&cfg, &o), OP_ENOTFOUND);
    /* explicit path + context */
    snprintf(list, sizeof(list), "%s/kc-a:%s/kc-b", tdir(), tdir());
    o.kubeconfig = list;
    o.context = "ca";
    ASSERT_OK(kube_config_load(&cfg, &o));
    ASSERT_STR_EQ(kube_config_context(cfg), "ca");
    kube_config_free(cfg);
}

/* exec plugin: a shell script that counts its runs, echoes env from the
 * kubeconfig and checks KUBERNETES_EXEC_INFO. */
TEST(exec_plugin_cached_until_expiry)
{
    struct kube_config *cfg = NULL;
    char *tok = NULL, y[2048], path[512];
    FILE *f;
    int runs = 0;
    char script[1024];

    snprintf(script, sizeof(script),
             "#!/bin/sh\n"
             "n=$(cat %s/runs 2>/dev/null || echo 0); n=$((n+1)); echo $n > %s/runs\n"
             "case \"$KUBERNETES_EXEC_INFO\" in *ExecCredential*) ;; *) exit 3;; esac\n"
             "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
             "\"status\":{\"token\":\"%%s-%%s-%%s\",\"expirationTimestamp\":\"%%s\"}}' \"$PREFIX\" \"$1\" \"$n\" \"$EXP\"\n",
             tdir(), tdir());
    write_file("plugin.sh", script, 0755);
    snprintf(y, sizeof(y),
             "current-context: x\n"
             "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
             "clusters: [{name: c, cluster: {server: 'https://h:1'}}]\n"
             "users:\n"
             "- name: u\n"
             "  user:\n"
             "    exec:\n"
             "      apiVersion: client.authentication.k8s.io/v1\n"
             "      command: ./plugin.sh\n"
             "      args: [arg1]\n"
             "      env: [{name: PREFIX, value: pfx}, {name: EXP, value: '2999-01-01T00:00:00Z'}]\n"
             "      interactiveMode: Never\n");
    ASSERT_OK(parse1(&cfg, y, NULL));
    ASSERT_EQ(kube_config_auth(cfg), KUBE_AUTH_EXEC);
    ASSERT_OK(kube_config_token(cfg, 0, &tok));
    ASSERT_STR_EQ(tok, "pfx-arg1-1");
    free(tok);
    ASSERT_OK(kube_config_token(cfg, 0, &tok)); /* cached: not expired */
    ASSERT_STR_EQ(tok, "pfx-arg1-1");
    free(tok);
    ASSERT_OK(kube_config_token(cfg, 1, &tok)); /* 401 → re-run */
    ASSERT_STR_EQ(tok, "pfx-arg1-2");
    free(tok);
    kube_config_free(cfg);

    /* an already-expired credential is fetched again on every use */
    snprintf(path, sizeof(path), "%s/runs", tdir());
    unlink(path);
    char *p = strstr(y, "2999");
    memcpy(p, "2000", 4);
    ASSERT_OK(parse1(&cfg, y, NULL));
    ASSERT_OK(kube_config_token(cfg, 0, &tok));
    free(tok);
    ASSERT_OK(kube_config_token(cfg, 0, &tok));
    ASSERT_STR_EQ(tok, "pfx-arg1-2");
    free(tok);
    kube_config_free(cfg);
    f = fopen(path, "r");
    ASSERT_TRUE(f != NULL);
    ASSERT_EQ(fscanf(f, "%d", &runs), 1);
    fclose(f);
    ASSERT_EQ(runs, 2);
}

TEST(exec_plugin_failure)
{
    struct kube_config *cfg = NULL;
    char *tok = NULL;
    write_file("fail.sh", "#!/bin/sh\necho nope >&2\nexit 7\n", 0755);
    const char *y =
        "current-context: x\n"
        "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
        "clusters: [{name: c, cluster: {server: 'https://h:1'}}]\n"
        "users: [{name: u, user: {exec: {command: ./fail.sh, apiVersion: client.authentication.k8s.io/v1}}}]\n";
    ASSERT_OK(parse1(&cfg, y, NULL));
    ASSERT_EQ(kube_config_token(cfg, 0, &tok), OP_ERR);
    ASSERT_CONTAINS(op_err_last(), "status 7");
    kube_config_free(cfg);
}

TEST(in_cluster_ipv6_and_namespace)
{
    struct kube_config *cfg = NULL;
    char sa[512], *tok = NULL;
    size_t len;
    snprintf(sa, sizeof(sa), "%s/sa", tdir());
    mkdir(sa, 0755);
    write_file("sa/token", "sa-token\n", 0600);
    write_file("sa/ca.crt", CA_PEM, 0644);
    write_file("sa/namespace", "crosslink-system", 0644);
    unsetenv("POD_NAMESPACE");
    ASSERT_OK(kube_config_in_cluster(&cfg, sa, "fd00:10:96::1", "443"));
    ASSERT_STR_EQ(kube_config_server(cfg), "https://[fd00:10:96::1]:443");
    ASSERT_STR_EQ(kube_config_namespace(cfg), "crosslink-system");
    ASSERT_EQ(kube_config_auth(cfg), KUBE_AUTH_TOKEN_FILE);
    ASSERT_STR_EQ(kube_config_ca_pem(cfg, &len), CA_PEM);
    ASSERT_OK(kube_config_token(cfg, 0, &tok));
    ASSERT_STR_EQ(tok, "sa-token");
    free(tok);
    kube_config_free(cfg);

    setenv("POD_NAMESPACE", "from-env", 1);
    ASSERT_OK(kube_config_in_cluster(&cfg, sa, "10.96.0.1", "6443"));
    ASSERT_STR_EQ(kube_config_server(cfg), "https://10.96.0.1:6443");
    ASSERT_STR_EQ(kube_config_namespace(cfg), "from-env");
    kube_config_free(cfg);
    unsetenv("POD_NAMESPACE");

    /* env-driven, as kube_config_load(in_cluster) uses it */
    setenv("KUBERNETES_SERVICE_HOST", "::1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "8443", 1);
    ASSERT_OK(kube_config_in_cluster(&cfg, sa, NULL, NULL));
    ASSERT_STR_EQ(kube_config_server(cfg), "https://[::1]:8443");
    kube_config_free(cfg);
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    ASSERT_EQ(kube_config_in_cluster(&cfg, sa, NULL, NULL), OP_ENOTFOUND);
    /* no token file → error */
    write_file("sa2-ca.crt", CA_PEM, 0644);
    ASSERT_EQ(kube_config_in_cluster(&cfg, "/nonexistent/sa", "h", "1") < 0, 1);
}

TEST(client_new_steals_config)
{
    struct kube_config *cfg = NULL;
    struct kube_client *c = NULL;
    ASSERT_OK(curl_global_init(CURL_GLOBAL_DEFAULT));
    ASSERT_OK(parse1(&cfg, BASIC, NULL));
    ASSERT_OK(kube_client_new(&c, cfg));
    ASSERT_TRUE(kube_client_config(c) == cfg);
    kube_client_free(c); /* frees cfg too; valgrind/ASan would flag a double free or leak */
    ASSERT_OK(parse1(&cfg, BASIC, "other"));
    ASSERT_OK(kube_client_new(&c, cfg));
    kube_client_free(c);
    curl_global_cleanup();
}

/* Mutated kubeconfigs never crash or leak: they parse or fail cleanly. */
TEST(mutated_kubeconfig_chaos)
{
    size_t len = strlen(BASIC);
    char *buf = malloc(len + 1);
    srand(4242);
    for (int round = 0; round < 3000; round++) {
        struct kube_config *cfg = NULL;
        memcpy(buf, BASIC, len + 1);
        for (int m = 0; m < 1 + rand() % 4; m++) {
            size_t at = (size_t)rand() % len;
            static const char junk[] = ":-[]{}&*!|>'\" \n\t#%@`";
            buf[at] = junk[rand() % (int)(sizeof(junk) - 1)];
        }
        if (parse1(&cfg, buf, NULL) == 0) {
            ASSERT_TRUE(kube_config_server(cfg) != NULL);
            kube_config_free(cfg);
        } else {
            ASSERT_TRUE(cfg == NULL);
            ASSERT_TRUE(op_err_last()[0] != '\0');
        }
    }
    free(buf);
}

TEST_MAIN()
