/* kube_client.h — for unit tests of code that talks to a local fake
 * apiserver: a pkg/kube client for http://127.0.0.1:port, built from a
 * one-context kubeconfig whose user is user_yaml (e.g. "{token: t}") and
 * whose namespace is "ns". Header-only. */
#ifndef CROSSLINK_TEST_KUBE_CLIENT_H
#define CROSSLINK_TEST_KUBE_CLIENT_H

#include "kube.h"

#include <stdio.h>

/* NULL when the kubeconfig does not parse or the client cannot be made. */
static inline struct kube_client *test_kube_client(int port, const char *user_yaml)
{
    char y[1024];
    struct kube_config *cfg = NULL;
    struct kube_client *c = NULL;
    const char *docs[1] = {y};
    snprintf(y, sizeof(y),
             "current-context: x\n"
             "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:%d'}}]\n"
             "users: [{name: u, user: %s}]\n"
             "contexts: [{name: x, context: {cluster: c, user: u, namespace: ns}}]\n",
             port, user_yaml);
    if (kube_config_parse_yaml(&cfg, docs, NULL, 1, NULL) != 0)
        return NULL;
    if (kube_client_new(&c, cfg) != 0) {
        kube_config_free(cfg);
        return NULL;
    }
    return c;
}

#endif
