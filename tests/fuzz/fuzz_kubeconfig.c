/* fuzz_kubeconfig.c — libFuzzer target: kubeconfig parsing
 * (kube_config_parse_yaml, one or two merged files split at a "\n---FILE\n"
 * marker) and an exec credential plugin's output
 * (kube__exec_credential_apply). The first byte chooses: even = kubeconfig,
 * odd = exec plugin output against a fixed exec kubeconfig. Paths in a
 * kubeconfig resolve against a directory that does not exist, so no file is
 * read; the exec plugin is never run. */
#include "fuzz.h"

#include "core.h"
#include "kube_int.h"

#include <string.h>

static const char EXEC_CFG[] =
    "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
    "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:1'}}]\n"
    "users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: /nonexistent/plugin}}}]\n"
    "contexts: [{name: c, context: {cluster: k, user: u}}]\n";

static void use(struct kube_config *cfg)
{
    size_t n;
    FUZZ_CHECK(kube_config_server(cfg) != NULL);
    FUZZ_CHECK(kube_config_namespace(cfg) != NULL);
    (void)kube_config_context(cfg);
    (void)kube_config_auth(cfg);
    (void)kube_config_ca_pem(cfg, &n);
    (void)kube_config_insecure(cfg);
    (void)kube_config_tls_server_name(cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kube_config *cfg = NULL;

    if (size < 1)
        return 0;
    if (data[0] & 1) {
        const char *docs[1] = {EXEC_CFG};
        const char *dirs[1] = {"/nonexistent-fuzz-dir"};
        char *cert = NULL, *key = NULL;
        size_t cl = 0, kl = 0;
        FUZZ_CHECK(kube_config_parse_yaml(&cfg, docs, dirs, 1, NULL) == 0);
        if (kube__exec_credential_apply(cfg, (const char *)data + 1, size - 1) == 0) {
            /* the cache is now valid: reading it must not run the plugin */
            if (kube__config_client_cert(cfg, 0, &cert, &cl, &key, &kl) == 0) {
                free(cert);
                free(key);
            }
        }
        kube_config_free(cfg);
        return 0;
    }
    /* up to two files, separated by "\n---FILE\n"; NUL-terminated copies */
    {
        char *text = malloc(size), *f2;
        const char *docs[2];
        const char *dirs[2] = {"/nonexistent-fuzz-dir", NULL};
        size_t n = 1;
        if (!text)
            return 0;
        memcpy(text, data + 1, size - 1);
        text[size - 1] = '\0';
        docs[0] = text;
        if ((f2 = strstr(text, "\n---FILE\n")) != NULL) {
            *f2 = '\0';
            docs[1] = f2 + 9;
            n = 2;
        }
        if (kube_config_parse_yaml(&cfg, docs, dirs, n, NULL) == 0) {
            use(cfg);
            kube_config_free(cfg);
        }
        free(text);
    }
    return 0;
}
