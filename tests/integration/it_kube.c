/* it_kube.c — pkg/kube against the real control plane from tests/cluster
 * (KUBECONFIG must point at it; the test fails, never skips, without it):
 * CRD install and stack CRUD + schema errors, paging, watch ordering, 410 →
 * relist, watch-list streaming (and the paged LIST it falls back to; with
 * XL_WATCHLIST_OFF=1 the cluster runs --feature-gates=WatchList=false and
 * the refusal is expected), bookmarks, server-side apply, /status patches, token / client-cert
 * / CA-file kubeconfigs, wrong CA, RBAC 403, events, leases, concurrency, and
 * a watch that survives an apiserver restart, and the idle watchdog
 * reconnecting a silent watch. Everything lives in one
 * namespace per run, deleted at exit. */
#include "kube.h"
#include "runtime.h"
#include "test.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const struct kube_resource RES_ROLE = {"rbac.authorization.k8s.io", "v1", "roles", "Role", 1};
static const struct kube_resource RES_ROLEBINDING = {"rbac.authorization.k8s.io", "v1", "rolebindings",
                                                     "RoleBinding", 1};

static struct kube_client *g_client;

static const char *S(const char *s)
{
    return s ? s : "";
}
static char g_ns[64];
static char g_tmp[256];
static int g_setup_failed;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void teardown(void)
{
    if (g_client && g_ns[0]) {
        kube_delete(g_client, &KUBE_RES_NAMESPACE, NULL, g_ns, NULL);
    }
    kube_client_free(g_client);
    g_client = NULL;
    if (g_tmp[0]) {
        char cmd[400];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_tmp);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", g_tmp);
    }
    curl_global_cleanup();
}

/* Lazily connects and creates the test namespace; NULL on failure. */
static struct kube_client *client(void)
{
    struct kube_config *cfg = NULL;
    json_t *ns = NULL;
    int err;

    if (g_client || g_setup_failed)
        return g_client;
    g_setup_failed = 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    atexit(teardown);
    if (!getenv("KUBECONFIG") || !*getenv("KUBECONFIG")) {
        fprintf(stderr, "KUBECONFIG is not set: bring the control plane up with tests/cluster/up\n");
        return NULL;
    }
    if (kube_config_load(&cfg, NULL) < 0 || kube_client_new(&g_client, cfg) < 0) {
        fprintf(stderr, "cannot load KUBECONFIG: %s\n", op_err_last());
        kube_config_free(cfg);
        return NULL;
    }
    snprintf(g_ns, sizeof(g_ns), "xl-kube-it-%d-%04x", (int)getpid(), (unsigned)(op_rand01() * 65535));
    ns = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name", g_ns);
    err = kube_create(g_client, &KUBE_RES_NAMESPACE, NULL, ns, NULL, NULL);
    json_decref(ns);
    if (err < 0) {
        fprintf(stderr, "cannot create namespace %s: %s\n", g_ns, op_err_last());
        g_ns[0] = '\0';
        kube_client_free(g_client);
        g_client = NULL;
        return NULL;
    }
    snprintf(g_tmp, sizeof(g_tmp), "/tmp/xl-kube-it-XXXXXX");
    if (!mkdtemp(g_tmp))
        g_tmp[0] = '\0';
    g_setup_failed = 0;
    return g_client;
}

#define SETUP(c)                                                                                   \
    struct kube_client *c = client();                                                              \
    ASSERT_TRUE(c != NULL)

static json_t *configmap(const char *name, const char *label, const char *k, const char *v)
{
    json_t *cm = json_pack("{s:s,s:s,s:{s:s,s:s,s:{}},s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                           "metadata", "name", name, "namespace", g_ns, "labels", "data", k, v);
    if (label)
        json_object_set_new(json_object_get(json_object_get(cm, "metadata"), "labels"), "xl-test",
                            json_string(label));
    return cm;
}

static int create_cm(struct kube_client *c, const char *name, const char *label)
{
    json_t *cm = configmap(name, label, "k", "v");
    int err = kube_create(c, &KUBE_RES_CONFIGMAP, g_ns, cm, NULL, NULL);
    json_decref(cm);
    return err;
}

/* ---- CRD and stacks ------------------------------------------------------ */

static int install_crd(struct kube_client *c)
{
    char *yaml = NULL;
    FILE *f = fopen("crds/crosslink.dev_observabilitystacks.yaml", "r");
    long len;
    struct op_buf path;
    json_t *crd = NULL;
    int err = OP_ERR;

    if (!f) {
        fprintf(stderr, "crds/crosslink.dev_observabilitystacks.yaml missing (run from the repo root)\n");
        return OP_ERR;
    }
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    yaml = malloc((size_t)len + 1);
    if (yaml && fread(yaml, 1, (size_t)len, f) == (size_t)len) {
        struct kube_query q = {0};
        q.field_manager = "crosslink-it";
        q.force = 1;
        yaml[len] = '\0';
        op_buf_init(&path, 4096);
        if (kube_path(&path, &KUBE_RES_CRD, NULL, "observabilitystacks.crosslink.dev", NULL, &q) == 0)
            err = kube_request_raw(c, "PATCH", path.data, "application/apply-patch+yaml", yaml,
                                   (size_t)len, NULL, NULL);
        op_buf_cleanup(&path);
    }
    fclose(f);
    free(yaml);
    if (err < 0) {
        fprintf(stderr, "apply CRD: %s\n", op_err_last());
        return err;
    }
    /* wait for Established */
    for (int i = 0; i < 100; i++) {
        size_t k;
        json_t *cond;
        if (kube_get(c, &KUBE_RES_CRD, NULL, "observabilitystacks.crosslink.dev", &crd, NULL) == 0) {
            json_array_foreach(json_object_get(json_object_get(crd, "status"), "conditions"), k, cond) {
                if (strcmp(S(json_string_value(json_object_get(cond, "type"))), "Established") == 0 &&
                    strcmp(S(json_string_value(json_object_get(cond, "status"))), "True") == 0) {
                    json_decref(crd);
                    /* discovery may lag a little behind Established */
                    for (int j = 0; j < 50; j++) {
                        json_t *l = NULL;
                        if (kube_list_page(c, &KUBE_RES_STACK, g_ns, NULL, &l, NULL) == 0) {
                            json_decref(l);
                            return OP_OK;
                        }
                        sleep_ms(100);
                    }
                    return OP_ERR;
                }
            }
            json_decref(crd);
            crd = NULL;
        }
        sleep_ms(100);
    }
    return op_err_set(OP_ETIMEOUT, "CRD not established");
}

static json_t *stack(const char *name, const char *url)
{
    return json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:{s:s}}}", "apiVersion", "crosslink.dev/v1alpha1", "kind",
                     "ObservabilityStack", "metadata", "name", name, "namespace", g_ns, "spec", "metrics",
                     "url", url);
}

TEST(crd_and_stack_crud)
{
    SETUP(c);
    json_t *s = NULL, *got = NULL, *list = NULL;
    struct kube_status st;
    ASSERT_OK(install_crd(c));
    ASSERT_OK(install_crd(c)); /* idempotent */

    s = stack("crud", "http://mimir.example/prometheus");
    ASSERT_OK(kube_create(c, &KUBE_RES_STACK, g_ns, s, &got, &st));
    ASSERT_EQ(st.code, 201);
    ASSERT_STR_EQ(kube_obj_name(got), "crud");
    ASSERT_TRUE(kube_obj_uid(got) != NULL);
    json_decref(got);
    got = NULL;
    ASSERT_EQ(kube_create(c, &KUBE_RES_STACK, g_ns, s, NULL, &st), OP_ECONFLICT);
    ASSERT_STR_EQ(st.reason, "AlreadyExists");
    json_decref(s);

    ASSERT_OK(kube_get(c, &KUBE_RES_STACK, g_ns, "crud", &got, NULL));
    ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(json_object_get(got, "spec"), "metrics"), "url")),
                  "http://mimir.example/prometheus");
    /* defaults from the schema were applied */
    ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(json_object_get(got, "spec"), "metrics"), "flavor")),
                  "Mimir");
    json_decref(got);

    ASSERT_OK(kube_list(c, &KUBE_RES_STACK, g_ns, NULL, &list, NULL));
    ASSERT_EQ(json_array_size(json_object_get(list, "items")), 1);
    ASSERT_STR_EQ(json_string_value(json_object_get(list, "kind")), "ObservabilityStackList");
    json_decref(list);
    list = NULL;
    /* all-namespaces list also sees it */
    ASSERT_OK(kube_list(c, &KUBE_RES_STACK, NULL, NULL, &list, NULL));
    ASSERT_TRUE(json_array_size(json_object_get(list, "items")) >= 1);
    json_decref(list);

    ASSERT_OK(kube_delete(c, &KUBE_RES_STACK, g_ns, "crud", &st));
    ASSERT_EQ(kube_get(c, &KUBE_RES_STACK, g_ns, "crud", &got, &st), OP_ENOTFOUND);
    ASSERT_EQ(st.code, 404);
    ASSERT_STR_EQ(st.reason, "NotFound");
    ASSERT_EQ(kube_delete(c, &KUBE_RES_STACK, g_ns, "crud", NULL), OP_ENOTFOUND);
}

TEST(stack_schema_violation_refused)
{
    SETUP(c);
    struct kube_status st;
    ASSERT_OK(install_crd(c));
    json_t *s = stack("bad", "ftp://nope");
    ASSERT_EQ(kube_create(c, &KUBE_RES_STACK, g_ns, s, NULL, &st), OP_EINVALID);
    json_decref(s);
    ASSERT_EQ(st.code, 422);
    ASSERT_STR_EQ(st.reason, "Invalid");
    ASSERT_CONTAINS(st.message, "spec.metrics.url");
    ASSERT_CONTAINS(op_err_last(), "spec.metrics.url");
    /* CEL rule: at least one signal */
    s = json_pack("{s:s,s:s,s:{s:s},s:{}}", "apiVersion", "crosslink.dev/v1alpha1", "kind",
                  "ObservabilityStack", "metadata", "name", "empty", "spec");
    ASSERT_EQ(kube_create(c, &KUBE_RES_STACK, g_ns, s, NULL, &st), OP_EINVALID);
    json_decref(s);
    ASSERT_CONTAINS(st.message, "at least one");
}

/* ---- paging -------------------------------------------------------------- */

TEST(paging_250_by_50)
{
    SETUP(c);
    char name[64], *cont = NULL;
    int seen[250] = {0}, pages = 0, total = 0;
    for (int i = 0; i < 250; i++) {
        snprintf(name, sizeof(name), "page-%03d", i);
        ASSERT_OK(create_cm(c, name, "paging"));
    }
    do {
        struct kube_query q = {0};
        json_t *page = NULL, *it;
        size_t k;
        q.limit = 50;
        q.label_selector = "xl-test=paging";
        q.continue_token = cont;
        ASSERT_OK(kube_list_page(c, &KUBE_RES_CONFIGMAP, g_ns, &q, &page, NULL));
        pages++;
        ASSERT_TRUE(json_array_size(json_object_get(page, "items")) <= 50);
        json_array_foreach(json_object_get(page, "items"), k, it) {
            int idx = -1;
            ASSERT_EQ(sscanf(kube_obj_name(it), "page-%d", &idx), 1);
            ASSERT_TRUE(idx >= 0 && idx < 250);
            seen[idx]++;
            total++;
        }
        free(cont);
        cont = op_strdup(json_string_value(json_object_get(json_object_get(page, "metadata"), "continue")));
        if (cont && !*cont) {
            free(cont);
            cont = NULL;
        }
        json_decref(page);
    } while (cont && pages < 20);
    ASSERT_EQ(pages, 5);
    ASSERT_EQ(total, 250);
    for (int i = 0; i < 250; i++)
        ASSERT_EQ(seen[i], 1);

    /* kube_list follows continue itself */
    struct kube_list_opts lo = {"xl-test=paging", NULL, 50, NULL};
    json_t *all = NULL, *it;
    size_t k;
    ASSERT_OK(kube_list(c, &KUBE_RES_CONFIGMAP, g_ns, &lo, &all, NULL));
    ASSERT_EQ(json_array_size(json_object_get(all, "items")), 250);
    memset(seen, 0, sizeof(seen));
    json_array_foreach(json_object_get(all, "items"), k, it) {
        int idx = -1;
        sscanf(kube_obj_name(it), "page-%d", &idx);
        ASSERT_TRUE(idx >= 0 && idx < 250);
        seen[idx]++;
        /* items carry their type even though the apiserver omits it in lists */
        ASSERT_STR_EQ(json_string_value(json_object_get(it, "kind")), "ConfigMap");
    }
    for (int i = 0; i < 250; i++)
        ASSERT_EQ(seen[i], 1);
    ASSERT_TRUE(json_string_value(json_object_get(json_object_get(all, "metadata"), "resourceVersion")) != NULL);
    json_decref(all);
    /* field selector */
    struct kube_list_opts fo = {NULL, "metadata.name=page-007", 0, NULL};
    ASSERT_OK(kube_list(c, &KUBE_RES_CONFIGMAP, g_ns, &fo, &all, NULL));
    ASSERT_EQ(json_array_size(json_object_get(all, "items")), 1);
    json_decref(all);
}

/* ---- watch helpers ------------------------------------------------------- */

struct recorder {
    pthread_mutex_t mu;
    char ev[512][80];
    int n;
    int synced;
};

static void rec_event(enum kube_event_type t, const json_t *obj, void *payload)
{
    struct recorder *r = payload;
    pthread_mutex_lock(&r->mu);
    if (r->n < 512)
        snprintf(r->ev[r->n++], 80, "%s %s", kube_event_type_name(t), kube_obj_name(obj));
    pthread_mutex_unlock(&r->mu);
}

static void rec_synced(void *payload)
{
    struct recorder *r = payload;
    pthread_mutex_lock(&r->mu);
    r->synced++;
    pthread_mutex_unlock(&r->mu);
}

static int rec_count(struct recorder *r, const char *line)
{
    int n = 0;
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < r->n; i++)
        n += strcmp(r->ev[i], line) == 0;
    pthread_mutex_unlock(&r->mu);
    return n;
}

static int rec_index(struct recorder *r, const char *line)
{
    int idx = -1;
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < r->n && idx < 0; i++)
        if (strcmp(r->ev[i], line) == 0)
            idx = i;
    pthread_mutex_unlock(&r->mu);
    return idx;
}

/* Waits up to ms for line to have been recorded. */
static int rec_wait(struct recorder *r, const char *line, long ms)
{
    for (long t = 0; t < ms; t += 50) {
        if (rec_count(r, line) > 0)
            return 1;
        sleep_ms(50);
    }
    return 0;
}

static void rec_dump(struct recorder *r)
{
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < r->n; i++)
        fprintf(stderr, "    event %d: %s\n", i, r->ev[i]);
    pthread_mutex_unlock(&r->mu);
}

static void print_err(int err, const struct kube_status *st, const char *msg, void *payload)
{
    (void)payload;
    fprintf(stderr, "    watch error %s (HTTP %d): %s\n", op_err_name(err), st ? st->code : -1, msg);
}

static json_t *strip_data(json_t *obj, void *payload)
{
    (void)payload;
    json_object_del(obj, "data");
    return obj;
}

TEST(watch_added_modified_deleted_in_order)
{
    SETUP(c);
    struct recorder r = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct kube_watch *w = NULL;
    struct kube_watch_opts o = {0};
    json_t *cm = NULL, *got = NULL;

    ASSERT_OK(create_cm(c, "w-pre", "order"));
    o.resource = &KUBE_RES_CONFIGMAP;
    o.ns = g_ns;
    o.label_selector = "xl-test=order";
    o.on_event = rec_event;
    o.on_synced = rec_synced;
    o.transform = strip_data;
    o.payload = &r;
    ASSERT_OK(kube_watch_start(&w, c, &o));
    ASSERT_OK(kube_watch_wait_synced(w, 20000));
    ASSERT_EQ(rec_count(&r, "ADDED w-pre"), 1);
    ASSERT_EQ(kube_watch_count(w), 1);

    ASSERT_OK(create_cm(c, "w-one", "order"));
    ASSERT_OK(create_cm(c, "w-other-label", "different"));
    ASSERT_OK(kube_get(c, &KUBE_RES_CONFIGMAP, g_ns, "w-one", &cm, NULL));
    json_object_set_new(json_object_get(cm, "data"), "k", json_string("v2"));
    ASSERT_OK(kube_update(c, &KUBE_RES_CONFIGMAP, g_ns, cm, NULL, NULL));
    json_decref(cm);
    ASSERT_OK(kube_delete(c, &KUBE_RES_CONFIGMAP, g_ns, "w-one", NULL));
    ASSERT_TRUE(rec_wait(&r, "DELETED w-one", 20000));
    int a = rec_index(&r, "ADDED w-one"), m = rec_index(&r, "MODIFIED w-one"),
        d = rec_index(&r, "DELETED w-one");
    if (!(a >= 0 && a < m && m < d))
        rec_dump(&r);
    ASSERT_TRUE(a >= 0 && a < m && m < d);
    ASSERT_EQ(rec_count(&r, "ADDED w-other-label"), 0);
    ASSERT_EQ(kube_watch_count(w), 1);
    /* the store holds transformed objects */
    got = kube_watch_get(w, "");
    ASSERT_TRUE(got == NULL);
    {
        char key[128];
        snprintf(key, sizeof(key), "%s/w-pre", g_ns);
        got = kube_watch_get(w, key);
    }
    ASSERT_TRUE(got != NULL);
    ASSERT_TRUE(json_object_get(got, "data") == NULL);
    ASSERT_STR_EQ(json_string_value(json_object_get(got, "kind")), "ConfigMap");
    json_decref(got);
    struct kube_watch_stats s;
    kube_watch_get_stats(w, &s);
    ASSERT_EQ(s.lists, 1);
    ASSERT_EQ(s.gone, 0);
    ASSERT_TRUE(s.events >= 3);
    /* stop from this (another) thread returns promptly even mid-watch */
    int64_t t0 = op_mono_ms();
    kube_watch_stop(w);
    ASSERT_TRUE(op_mono_ms() - t0 < 3000);
    kube_watch_free(w);
}

static char *state_dir(void);

/* Compacts etcd at its current revision through etcd's JSON gateway, so that
 * resourceVersion "1" is really gone: on a freshly started cluster nothing has
 * been compacted yet and the apiserver may serve a watch from RV 1 straight
 * from etcd instead of answering 410. */
static int compact_etcd(void)
{
    char *dir = state_dir(), cmd[2048];
    int rc;
    if (!dir)
        return -1;
    snprintf(cmd, sizeof(cmd),
             "set -e; . '%s/env'; "
             "rev=$(curl -sf -X POST http://127.0.0.1:$ETCD_PORT/v3/kv/range -d '{\"key\":\"AA==\"}' "
             "| python3 -c 'import json,sys; print(json.load(sys.stdin)[\"header\"][\"revision\"])'); "
             "curl -sf -X POST http://127.0.0.1:$ETCD_PORT/v3/kv/compaction "
             "-d \"{\\\"revision\\\":\\\"$rev\\\",\\\"physical\\\":true}\" >/dev/null",
             dir);
    free(dir);
    rc = system(cmd);
    return rc == 0 ? 0 : -1;
}

/* PodTemplates: the test control plane (tests/cluster/up) serves them without
 * a watch cache, so after an etcd compaction a watch from an old
 * resourceVersion is answered with a real 410 "too old resource version". */
static const struct kube_resource RES_PODTEMPLATE = {"", "v1", "podtemplates", "PodTemplate", 1};

static int create_pt(struct kube_client *c, const char *name, const char *label)
{
    json_t *pt = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:{s:[{s:s, s:s}]}}}",
                           "apiVersion", "v1", "kind", "PodTemplate",
                           "metadata", "name", name, "labels", "xl-test", label,
                           "template", "spec", "containers", "name", "c", "image", "busybox");
    int err = kube_create(c, &RES_PODTEMPLATE, g_ns, pt, NULL, NULL);
    json_decref(pt);
    return err;
}

/* Watch-list against the real apiserver: the initial state arrives as a
 * stream and the same connection goes on as the watch; the paged LIST
 * (forced, or the fallback when the server refuses) gives the same store. */
struct keyset {
    char keys[160][64];
    int n;
};

static int collect_key(const char *key, const json_t *obj, void *payload)
{
    struct keyset *k = payload;
    (void)obj;
    if (k->n < 160)
        snprintf(k->keys[k->n++], 64, "%s", key);
    return 0;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(a, b);
}

TEST(watch_list_streams_initial_state_and_paged_list_agrees)
{
    SETUP(c);
    const char *off = getenv("XL_WATCHLIST_OFF");
    int refused = off && strcmp(off, "1") == 0;
    struct recorder r = {.mu = PTHREAD_MUTEX_INITIALIZER}, r2 = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct kube_watch *w = NULL, *w2 = NULL;
    struct kube_watch_opts o = {0};
    struct kube_watch_stats s;
    static struct keyset k1, k2;
    char name[32], *rv;

    for (int i = 0; i < 120; i++) {
        snprintf(name, sizeof(name), "wl-%03d", i);
        ASSERT_OK(create_cm(c, name, "wl"));
    }
    o.resource = &KUBE_RES_CONFIGMAP;
    o.ns = g_ns;
    o.label_selector = "xl-test=wl";
    o.on_event = rec_event;
    o.on_synced = rec_synced;
    o.on_error = print_err;
    o.transform = strip_data;
    o.payload = &r;
    ASSERT_OK(kube_watch_start(&w, c, &o));
    ASSERT_OK(kube_watch_wait_synced(w, 30000));
    kube_watch_get_stats(w, &s);
    ASSERT_EQ(s.lists, 1);
    ASSERT_EQ(s.streamed, refused ? 0 : 1);
    ASSERT_EQ(s.fallbacks, refused ? 1 : 0);
    ASSERT_EQ(s.errors, 0);
    ASSERT_EQ(kube_watch_count(w), 120);
    ASSERT_EQ(r.n, 120);
    ASSERT_EQ(rec_count(&r, "ADDED wl-000"), 1);
    ASSERT_EQ(rec_count(&r, "ADDED wl-119"), 1);
    rv = kube_watch_resource_version(w);
    ASSERT_TRUE(rv && *rv);
    free(rv);
    /* live events continue: on the watch-list's own connection (one watch
     * request in all) or, after a LIST, on one WATCH */
    ASSERT_OK(create_cm(c, "wl-live", "wl"));
    ASSERT_TRUE(rec_wait(&r, "ADDED wl-live", 20000));
    kube_watch_get_stats(w, &s);
    ASSERT_EQ(s.watches, refused ? 2 : 1);
    ASSERT_EQ(s.lists, 1);

    /* the paged LIST (forced) ends in the same store */
    o.initial = KUBE_INITIAL_LIST;
    o.page_size = 50;
    o.payload = &r2;
    ASSERT_OK(kube_watch_start(&w2, c, &o));
    ASSERT_OK(kube_watch_wait_synced(w2, 30000));
    kube_watch_get_stats(w2, &s);
    ASSERT_EQ(s.streamed, 0);
    ASSERT_EQ(s.fallbacks, 0);
    ASSERT_EQ(r2.n, 121);
    k1.n = k2.n = 0;
    kube_watch_foreach(w, collect_key, &k1);
    kube_watch_foreach(w2, collect_key, &k2);
    ASSERT_EQ(k1.n, 121);
    ASSERT_EQ(k2.n, 121);
    qsort(k1.keys, (size_t)k1.n, sizeof(k1.keys[0]), cmp_key);
    qsort(k2.keys, (size_t)k2.n, sizeof(k2.keys[0]), cmp_key);
    for (int i = 0; i < k1.n; i++)
        ASSERT_STR_EQ(k1.keys[i], k2.keys[i]);
    kube_watch_free(w2);
    kube_watch_free(w);
}

TEST(watch_too_old_rv_gets_410_and_relists)
{
    SETUP(c);
    struct recorder r = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct kube_watch *w = NULL;
    struct kube_watch_opts o = {0};
    struct kube_watch_stats s;
    char name[32];

    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "gone-%d", i);
        ASSERT_OK(create_pt(c, name, "gone"));
    }
    ASSERT_OK(compact_etcd());
    o.resource = &RES_PODTEMPLATE;
    o.ns = g_ns;
    o.label_selector = "xl-test=gone";
    o.resume_resource_version = "1"; /* far older than anything the apiserver keeps */
    o.on_event = rec_event;
    o.on_synced = rec_synced;
    o.on_error = print_err;
    o.payload = &r;
    ASSERT_OK(kube_watch_start(&w, c, &o));
    int synced = kube_watch_wait_synced(w, 40000);
    kube_watch_get_stats(w, &s);
    if (synced != 0)
        fprintf(stderr, "  not synced: lists=%llu watches=%llu gone=%llu errors=%llu\n",
                (unsigned long long)s.lists, (unsigned long long)s.watches, (unsigned long long)s.gone,
                (unsigned long long)s.errors);
    ASSERT_OK(synced);
    ASSERT_TRUE(s.gone >= 1);
    ASSERT_EQ(s.lists, 1);
    ASSERT_EQ(kube_watch_count(w), 5);
    for (int i = 0; i < 5; i++) {
        char line[64];
        snprintf(line, sizeof(line), "ADDED gone-%d", i);
        ASSERT_EQ(rec_count(&r, line), 1);
    }
    ASSERT_EQ(r.n, 5); /* nothing lost, nothing duplicated */
    /* and the watch continues normally from the relist's RV */
    ASSERT_OK(create_pt(c, "gone-5", "gone"));
    ASSERT_TRUE(rec_wait(&r, "ADDED gone-5", 20000));
    ASSERT_EQ(r.n, 6);
    kube_watch_free(w);
}

TEST(watch_bookmarks_advance_rv)
{
    SETUP(c);
    struct kube_watch *w = NULL;
    struct kube_watch_opts o = {0};
    struct kube_watch_stats s;
    char *rv0, *rv1 = NULL;
    int ok = 0;

    o.resource = &KUBE_RES_CONFIGMAP;
    o.ns = g_ns;
    o.label_selector = "xl-test=bookmark-nothing-matches";
    o.timeout_seconds = 5; /* the apiserver sends a bookmark shortly before the deadline */
    ASSERT_OK(kube_watch_start(&w, c, &o));
    ASSERT_OK(kube_watch_wait_synced(w, 20000));
    rv0 = kube_watch_resource_version(w);
    ASSERT_TRUE(rv0 != NULL);
    /* a write the watch does not match: only a bookmark can carry its RV */
    ASSERT_OK(create_cm(c, "bm-unrelated", "other"));
    for (int i = 0; i < 300 && !ok; i++) {
        sleep_ms(100);
        kube_watch_get_stats(w, &s);
        free(rv1);
        rv1 = kube_watch_resource_version(w);
        ok = s.bookmarks >= 1 && rv1 && strcmp(rv0, rv1) != 0;
    }
    kube_watch_get_stats(w, &s);
    if (!ok)
        fprintf(stderr, "  bookmarks=%llu rv0=%s rv1=%s\n", (unsigned long long)s.bookmarks, rv0,
                rv1 ? rv1 : "(null)");
    ASSERT_TRUE(ok);
    ASSERT_EQ(s.events, 0);
    ASSERT_EQ(s.lists, 1);
    free(rv0);
    free(rv1);
    kube_watch_free(w);
}

/* ---- server-side apply and status ---------------------------------------- */

/* Bodies larger than libcurl's upload buffer (16 KiB, KUBE_UPLOAD_BUFFER)
 * and than what it sends along with the request head (64 KiB) arrive
 * whole over TLS, byte for byte. */
TEST(apply_large_body_over_tls)
{
    SETUP(c);
    size_t sizes[] = {16383, 16385, 40000, 65535, 65537, 300000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char *v = malloc(sizes[i] + 1), name[32];
        json_t *body, *out = NULL, *got = NULL;
        struct kube_status st;
        ASSERT_TRUE(v != NULL);
        for (size_t j = 0; j < sizes[i]; j++)
            v[j] = (char)('a' + (j * 7 + i) % 26);
        v[sizes[i]] = '\0';
        snprintf(name, sizeof(name), "big-%zu", sizes[i]);
        body = configmap(name, NULL, "k", v);
        ASSERT_OK(kube_apply(c, &KUBE_RES_CONFIGMAP, g_ns, body, &out, &st));
        ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(out, "data"), "k")), v);
        ASSERT_OK(kube_get(c, &KUBE_RES_CONFIGMAP, g_ns, name, &got, NULL));
        ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(got, "data"), "k")), v);
        json_decref(got);
        json_decref(out);
        json_decref(body);
        free(v);
    }
}

TEST(server_side_apply_configmap)
{
    SETUP(c);
    json_t *body = configmap("ssa", NULL, "k", "v1"), *out1 = NULL, *out2 = NULL, *out = NULL;
    struct kube_status st;
    char *rv1;

    ASSERT_OK(kube_apply(c, &KUBE_RES_CONFIGMAP, g_ns, body, &out1, &st));
    ASSERT_EQ(st.code, 201);
    rv1 = op_strdup(kube_obj_resource_version(out1));
    ASSERT_OK(kube_apply(c, &KUBE_RES_CONFIGMAP, g_ns, body, &out2, &st));
    ASSERT_EQ(st.code, 200);
    ASSERT_STR_EQ(kube_obj_resource_version(out2), rv1); /* no-op apply does not write */
    /* field manager recorded */
    {
        char *mf = json_dumps(json_object_get(json_object_get(out2, "metadata"), "managedFields"), JSON_COMPACT);
        int has = mf && strstr(mf, "\"manager\":\"crosslink\"") != NULL;
        free(mf);
        ASSERT_TRUE(has);
    }
    free(rv1);
    json_decref(out1);
    json_decref(out2);

    /* another manager claiming data.k conflicts without force ... */
    json_t *other = configmap("ssa", NULL, "k", "theirs");
    struct kube_apply_opts oo = {"someone-else", 1, NULL};
    ASSERT_EQ(kube_apply_ex(c, &KUBE_RES_CONFIGMAP, g_ns, other, &oo, NULL, &st), OP_ECONFLICT);
    ASSERT_EQ(st.code, 409);
    ASSERT_CONTAINS(st.message, "conflict");
    /* ... takes it with force ... */
    oo.no_force = 0;
    ASSERT_OK(kube_apply_ex(c, &KUBE_RES_CONFIGMAP, g_ns, other, &oo, &out, &st));
    ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(out, "data"), "k")), "theirs");
    json_decref(out);
    json_decref(other);
    /* ... and crosslink's forced apply overrides it again */
    ASSERT_OK(kube_apply(c, &KUBE_RES_CONFIGMAP, g_ns, body, &out, &st));
    ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(out, "data"), "k")), "v1");
    json_decref(out);
    /* keys crosslink stops applying are removed */
    json_object_set_new(json_object_get(body, "data"), "k2", json_string("x"));
    ASSERT_OK(kube_apply(c, &KUBE_RES_CONFIGMAP, g_ns, body, NULL, NULL));
    json_object_del(json_object_get(body, "data"), "k2");
    ASSERT_OK(kube_apply(c, &KUBE_RES_CONFIGMAP, g_ns, body, &out, NULL));
    ASSERT_TRUE(json_object_get(json_object_get(out, "data"), "k2") == NULL);
    json_decref(out);
    json_decref(body);
}

TEST(status_patch_changes_only_status)
{
    SETUP(c);
    json_t *s = NULL, *created = NULL, *after = NULL, *patch = NULL;
    int64_t gen;
    ASSERT_OK(install_crd(c));
    s = stack("st", "http://mimir.example/prometheus");
    ASSERT_OK(kube_create(c, &KUBE_RES_STACK, g_ns, s, &created, NULL));
    json_decref(s);
    gen = json_integer_value(json_object_get(json_object_get(created, "metadata"), "generation"));
    ASSERT_TRUE(gen >= 1);

    /* merge patch on /status, with a sneaky spec change that must be ignored */
    patch = json_pack("{s:{s:I,s:[{s:s,s:s,s:s,s:s,s:s}]},s:{s:{s:s}}}", "status", "observedGeneration",
                      (json_int_t)gen, "conditions", "type", "Ready", "status", "True", "reason",
                      "Reconciled", "message", "ok", "lastTransitionTime", "2026-01-01T00:00:00Z",
                      "spec", "metrics", "url", "http://changed.example");
    ASSERT_OK(kube_merge_patch_status(c, &KUBE_RES_STACK, g_ns, "st", patch, &after, NULL));
    json_decref(patch);
    ASSERT_EQ(json_integer_value(json_object_get(json_object_get(after, "metadata"), "generation")), gen);
    ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(json_object_get(after, "spec"), "metrics"), "url")),
                  "http://mimir.example/prometheus");
    ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(after, "status"), "conditions"), 0), "reason")),
                  "Reconciled");
    json_decref(after);
    after = NULL;

    /* server-side apply on /status */
    json_t *ap = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:I,s:[{s:s,s:s,s:s,s:s,s:s}]}}", "apiVersion",
                           "crosslink.dev/v1alpha1", "kind", "ObservabilityStack", "metadata", "name", "st",
                           "namespace", g_ns, "status", "observedGeneration", (json_int_t)gen, "conditions",
                           "type", "Ready", "status", "False", "reason", "BackendUnreachable", "message",
                           "connect refused", "lastTransitionTime", "2026-01-02T00:00:00Z");
    ASSERT_OK(kube_apply_status(c, &KUBE_RES_STACK, g_ns, ap, &after, NULL));
    json_decref(ap);
    ASSERT_EQ(json_integer_value(json_object_get(json_object_get(after, "metadata"), "generation")), gen);
    ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(after, "status"), "conditions"), 0), "status")),
                  "False");
    json_decref(after);
    after = NULL;

    /* a spec change bumps generation, which status writes never do */
    patch = json_pack("{s:{s:{s:s}}}", "spec", "metrics", "url", "http://new.example");
    ASSERT_OK(kube_merge_patch(c, &KUBE_RES_STACK, g_ns, "st", patch, &after, NULL));
    json_decref(patch);
    ASSERT_EQ(json_integer_value(json_object_get(json_object_get(after, "metadata"), "generation")), gen + 1);
    json_decref(after);
    json_decref(created);
}

/* ---- credentials ---------------------------------------------------------- */

static char *write_tmp(const char *name, const char *data, size_t len)
{
    char *path = op_asprintf("%s/%s", g_tmp, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        free(path);
        return NULL;
    }
    fwrite(data, 1, len, f);
    fclose(f);
    chmod(path, 0600);
    return path;
}

static int client_from_yaml(const char *yaml, struct kube_client **out)
{
    struct kube_config *cfg = NULL;
    const char *docs[1] = {yaml};
    const char *dirs[1] = {g_tmp};
    int err = kube_config_parse_yaml(&cfg, docs, dirs, 1, NULL);
    if (err < 0)
        return err;
    err = kube_client_new(out, cfg);
    if (err < 0)
        kube_config_free(cfg);
    return err;
}

TEST(client_cert_and_ca_files)
{
    SETUP(c);
    struct kube_config *adm = kube_client_config(c);
    size_t ca_len = 0, crt_len = 0, key_len = 0;
    const char *ca = kube_config_ca_pem(adm, &ca_len), *crt = kube_config_client_cert_pem(adm, &crt_len),
               *key = kube_config_client_key_pem(adm, &key_len);
    char yaml[2048];
    struct kube_client *c2 = NULL;
    json_t *ns = NULL;

    ASSERT_TRUE(ca && crt && key); /* tests/cluster/up's admin kubeconfig uses a client certificate */
    ASSERT_EQ(kube_config_auth(adm), KUBE_AUTH_CERT);
    free(write_tmp("ca.crt", ca, ca_len));
    free(write_tmp("admin.crt", crt, crt_len));
    free(write_tmp("admin.key", key, key_len));
    snprintf(yaml, sizeof(yaml),
             "apiVersion: v1\nkind: Config\ncurrent-context: files\n"
             "clusters: [{name: c, cluster: {server: '%s', certificate-authority: ca.crt}}]\n"
             "users: [{name: u, user: {client-certificate: admin.crt, client-key: admin.key}}]\n"
             "contexts: [{name: files, context: {cluster: c, user: u}}]\n",
             kube_config_server(adm));
    ASSERT_OK(client_from_yaml(yaml, &c2));
    ASSERT_OK(kube_get(c2, &KUBE_RES_NAMESPACE, NULL, g_ns, &ns, NULL));
    ASSERT_STR_EQ(kube_obj_name(ns), g_ns);
    json_decref(ns);
    kube_client_free(c2);
}

TEST(wrong_ca_is_a_clear_tls_error)
{
    SETUP(c);
    char cmd[1024], yaml[2048];
    struct kube_client *c2 = NULL;
    struct kube_status st;
    json_t *ns = NULL;
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout '%s/other.key' -out '%s/other-ca.crt' "
             "-days 1 -subj /CN=not-the-cluster-ca >/dev/null 2>&1",
             g_tmp, g_tmp);
    ASSERT_EQ(system(cmd), 0);
    snprintf(yaml, sizeof(yaml),
             "current-context: x\n"
             "clusters: [{name: c, cluster: {server: '%s', certificate-authority: other-ca.crt}}]\n"
             "users: [{name: u, user: {token: whatever}}]\n"
             "contexts: [{name: x, context: {cluster: c, user: u}}]\n",
             kube_config_server(kube_client_config(c)));
    ASSERT_OK(client_from_yaml(yaml, &c2));
    ASSERT_EQ(kube_get(c2, &KUBE_RES_NAMESPACE, NULL, g_ns, &ns, &st), OP_ETLS);
    ASSERT_EQ(st.code, 0);
    ASSERT_CONTAINS(op_err_last(), "TLS error");
    ASSERT_CONTAINS(op_err_last(), "certificate");
    kube_client_free(c2);
}

/* ServiceAccount + Role (configmaps get/list) + token from the TokenRequest API. */
static char *sa_token(struct kube_client *c, const char *sa)
{
    json_t *obj, *tr = NULL;
    struct op_buf path;
    char *tok = NULL;

    obj = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "ServiceAccount", "metadata", "name", sa);
    kube_create(c, &KUBE_RES_SERVICEACCOUNT, g_ns, obj, NULL, NULL);
    json_decref(obj);
    obj = json_pack("{s:s,s:s,s:{s:s},s:[{s:[s],s:[s],s:[s,s,s]}]}", "apiVersion", "rbac.authorization.k8s.io/v1",
                    "kind", "Role", "metadata", "name", "cm-reader", "rules", "apiGroups", "", "resources",
                    "configmaps", "verbs", "get", "list", "watch");
    kube_create(c, &RES_ROLE, g_ns, obj, NULL, NULL);
    json_decref(obj);
    obj = json_pack("{s:s,s:s,s:{s:s},s:{s:s,s:s,s:s},s:[{s:s,s:s,s:s}]}", "apiVersion",
                    "rbac.authorization.k8s.io/v1", "kind", "RoleBinding", "metadata", "name", sa, "roleRef",
                    "apiGroup", "rbac.authorization.k8s.io", "kind", "Role", "name", "cm-reader", "subjects",
                    "kind", "ServiceAccount", "name", sa, "namespace", g_ns);
    kube_create(c, &RES_ROLEBINDING, g_ns, obj, NULL, NULL);
    json_decref(obj);
    obj = json_pack("{s:s,s:s,s:{s:I}}", "apiVersion", "authentication.k8s.io/v1", "kind", "TokenRequest",
                    "spec", "expirationSeconds", (json_int_t)3600);
    op_buf_init(&path, 1024);
    if (kube_path(&path, &KUBE_RES_SERVICEACCOUNT, g_ns, sa, "token", NULL) == 0 &&
        kube_request(c, "POST", path.data, NULL, obj, &tr, NULL) == 0)
        tok = op_strdup(json_string_value(json_object_get(json_object_get(tr, "status"), "token")));
    else
        fprintf(stderr, "  TokenRequest: %s\n", op_err_last());
    op_buf_cleanup(&path);
    json_decref(obj);
    json_decref(tr);
    return tok;
}

TEST(token_kubeconfig_and_rbac_403)
{
    SETUP(c);
    char *tok = sa_token(c, "reader"), yaml[4096], *tokfile;
    struct kube_client *c2 = NULL, *c3 = NULL;
    struct kube_status st;
    json_t *l = NULL;

    ASSERT_TRUE(tok != NULL);
    ASSERT_OK(create_cm(c, "rbac-cm", "rbac"));
    snprintf(yaml, sizeof(yaml),
             "current-context: x\n"
             "clusters: [{name: c, cluster: {server: '%s', certificate-authority: ca.crt}}]\n"
             "users: [{name: u, user: {token: '%s'}}]\n"
             "contexts: [{name: x, context: {cluster: c, user: u, namespace: '%s'}}]\n",
             kube_config_server(kube_client_config(c)), tok, g_ns);
    {
        size_t ca_len;
        const char *ca = kube_config_ca_pem(kube_client_config(c), &ca_len);
        free(write_tmp("ca.crt", ca, ca_len));
    }
    /* RBAC needs a moment to see the new binding */
    ASSERT_OK(client_from_yaml(yaml, &c2));
    int err = -1;
    for (int i = 0; i < 50 && err != 0; i++) {
        struct kube_list_opts lo = {"xl-test=rbac", NULL, 0, NULL};
        json_decref(l);
        l = NULL;
        err = kube_list(c2, &KUBE_RES_CONFIGMAP, g_ns, &lo, &l, NULL);
        if (err)
            sleep_ms(100);
    }
    ASSERT_OK(err);
    ASSERT_EQ(json_array_size(json_object_get(l, "items")), 1);
    json_decref(l);
    l = NULL;
    /* no RBAC for secrets: 403 naming verb and resource */
    ASSERT_EQ(kube_list(c2, &KUBE_RES_SECRET, g_ns, NULL, &l, &st), OP_EFORBIDDEN);
    ASSERT_EQ(st.code, 403);
    ASSERT_STR_EQ(st.reason, "Forbidden");
    ASSERT_CONTAINS(st.message, "cannot list resource \"secrets\"");
    ASSERT_CONTAINS(st.message, "system:serviceaccount:");
    ASSERT_EQ(kube_get(c2, &KUBE_RES_SECRET, g_ns, "x", &l, &st), OP_EFORBIDDEN);
    ASSERT_CONTAINS(st.message, "cannot get resource \"secrets\"");
    kube_client_free(c2);

    /* tokenFile: a bad token gives 401; after the file is rotated, the
     * client re-reads it on the 401 and succeeds */
    tokfile = write_tmp("token", "not-a-valid-token", 17);
    snprintf(yaml, sizeof(yaml),
             "current-context: x\n"
             "clusters: [{name: c, cluster: {server: '%s', certificate-authority: ca.crt}}]\n"
             "users: [{name: u, user: {tokenFile: token}}]\n"
             "contexts: [{name: x, context: {cluster: c, user: u}}]\n",
             kube_config_server(kube_client_config(c)));
    ASSERT_OK(client_from_yaml(yaml, &c3));
    ASSERT_EQ(kube_get(c3, &KUBE_RES_CONFIGMAP, g_ns, "rbac-cm", &l, &st), OP_EUNAUTHORIZED);
    ASSERT_EQ(st.code, 401);
    free(write_tmp("token", tok, strlen(tok)));
    ASSERT_OK(kube_get(c3, &KUBE_RES_CONFIGMAP, g_ns, "rbac-cm", &l, &st));
    json_decref(l);
    l = NULL;
    kube_client_free(c3);

    /* exec credential plugin handing out the same token */
    {
        char script[1024], *sp;
        snprintf(script, sizeof(script),
                 "#!/bin/sh\n"
                 "case \"$KUBERNETES_EXEC_INFO\" in *ExecCredential*) ;; *) exit 3;; esac\n"
                 "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
                 "\"status\":{\"token\":\"%%s\",\"expirationTimestamp\":\"2999-01-01T00:00:00Z\"}}' \"$(cat '%s')\"\n",
                 tokfile);
        sp = write_tmp("plugin.sh", script, strlen(script));
        chmod(sp, 0700);
        free(sp);
        snprintf(yaml, sizeof(yaml),
                 "current-context: x\n"
                 "clusters: [{name: c, cluster: {server: '%s', certificate-authority: ca.crt}}]\n"
                 "users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: ./plugin.sh}}}]\n"
                 "contexts: [{name: x, context: {cluster: c, user: u}}]\n",
                 kube_config_server(kube_client_config(c)));
        ASSERT_OK(client_from_yaml(yaml, &c3));
        ASSERT_EQ(kube_config_auth(kube_client_config(c3)), KUBE_AUTH_EXEC);
        ASSERT_OK(kube_get(c3, &KUBE_RES_CONFIGMAP, g_ns, "rbac-cm", &l, &st));
        json_decref(l);
        l = NULL;
        kube_client_free(c3);
    }

    /* in-cluster config: service-account directory + host/port */
    {
        struct kube_config *ic = NULL;
        char sa[300], port[16] = "";
        size_t ca_len;
        const char *ca = kube_config_ca_pem(kube_client_config(c), &ca_len);
        const char *server = kube_config_server(kube_client_config(c));
        const char *colon = strrchr(server, ':');
        char *p;
        snprintf(sa, sizeof(sa), "%s/sa", g_tmp);
        mkdir(sa, 0700);
        free(write_tmp("sa/token", tok, strlen(tok)));
        free(write_tmp("sa/ca.crt", ca, ca_len));
        free(write_tmp("sa/namespace", g_ns, strlen(g_ns)));
        ASSERT_TRUE(colon != NULL);
        snprintf(port, sizeof(port), "%s", colon + 1);
        if ((p = strchr(port, '/')))
            *p = '\0';
        unsetenv("POD_NAMESPACE");
        ASSERT_OK(kube_config_in_cluster(&ic, sa, "127.0.0.1", port));
        ASSERT_STR_EQ(kube_config_namespace(ic), g_ns);
        ASSERT_OK(kube_client_new(&c3, ic));
        struct kube_list_opts lo = {"xl-test=rbac", NULL, 0, NULL};
        ASSERT_OK(kube_list(c3, &KUBE_RES_CONFIGMAP, kube_config_namespace(ic), &lo, &l, &st));
        ASSERT_EQ(json_array_size(json_object_get(l, "items")), 1);
        json_decref(l);
        kube_client_free(c3);
    }
    free(tokfile);
    free(tok);
}

/* ---- events and leases ---------------------------------------------------- */

TEST(events_dedup_into_series)
{
    SETUP(c);
    struct kube_events *rec = NULL;
    json_t *cm = NULL, *list = NULL, *ev;
    struct kube_list_opts lo = {0};
    char fs[256];

    ASSERT_OK(create_cm(c, "ev-target", NULL));
    ASSERT_OK(kube_get(c, &KUBE_RES_CONFIGMAP, g_ns, "ev-target", &cm, NULL));
    ASSERT_OK(kube_events_new(&rec, c, NULL, "it-instance"));
    ASSERT_OK(kube_event_emit(rec, cm, "Warning", "BackendUnreachable", "Probe", "connect refused"));
    ASSERT_OK(kube_event_emit(rec, cm, "Warning", "BackendUnreachable", "Probe", "connect refused"));
    ASSERT_OK(kube_event_emit(rec, cm, "Warning", "BackendUnreachable", "Probe", "connect refused"));
    ASSERT_OK(kube_event_emit(rec, cm, "Normal", "Applied", "Apply", "configmaps applied"));
    snprintf(fs, sizeof(fs), "regarding.name=ev-target");
    lo.field_selector = fs;
    ASSERT_OK(kube_list(c, &KUBE_RES_EVENT, g_ns, &lo, &list, NULL));
    ASSERT_EQ(json_array_size(json_object_get(list, "items")), 2);
    size_t k;
    int found = 0;
    json_array_foreach(json_object_get(list, "items"), k, ev) {
        const char *reason = json_string_value(json_object_get(ev, "reason"));
        ASSERT_STR_EQ(json_string_value(json_object_get(ev, "reportingController")), "crosslink.dev/controller");
        ASSERT_STR_EQ(json_string_value(json_object_get(ev, "reportingInstance")), "it-instance");
        ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(ev, "regarding"), "uid")), kube_obj_uid(cm));
        if (strcmp(reason, "BackendUnreachable") == 0) {
            found++;
            ASSERT_EQ(json_integer_value(json_object_get(json_object_get(ev, "series"), "count")), 3);
            ASSERT_STR_EQ(json_string_value(json_object_get(ev, "type")), "Warning");
        } else {
            ASSERT_TRUE(json_object_get(ev, "series") == NULL);
        }
    }
    ASSERT_EQ(found, 1);
    json_decref(list);
    json_decref(cm);
    kube_events_free(rec);
}

/* pkg/runtime's asynchronous recorder: queued Events (regarding object
 * kept as text, strings in one block) reach the apiserver intact, in
 * order, with the regarding object's name and uid. */
TEST(recorder_sends_queued_events)
{
    SETUP(c);
    struct rt_recorder *rr = NULL;
    json_t *cm = NULL, *list = NULL, *ev;
    struct kube_list_opts lo = {.field_selector = "regarding.name=rec-target"};
    const char *notes[] = {"first \"quoted\" note", "second note ünïcode", "third"};
    size_t k, n = 0;

    ASSERT_OK(create_cm(c, "rec-target", NULL));
    ASSERT_OK(kube_get(c, &KUBE_RES_CONFIGMAP, g_ns, "rec-target", &cm, NULL));
    ASSERT_OK(rt_recorder_new(&rr, c, "crosslink.dev/controller", "it-recorder", NULL));
    for (size_t i = 0; i < 3; i++)
        rt_recorder_emit(rr, json_pack("{s:s, s:s, s:O}", "apiVersion", "v1", "kind", "ConfigMap", "metadata",
                                       json_object_get(cm, "metadata")),
                         i == 1 ? "Warning" : "Normal", i == 1 ? "Second" : "Other", notes[i]);
    for (int t = 0; t < 100 && n < 3; t++) {
        json_decref(list);
        list = NULL;
        ASSERT_OK(kube_list(c, &KUBE_RES_EVENT, g_ns, &lo, &list, NULL));
        n = json_array_size(json_object_get(list, "items"));
        if (n < 3)
            sleep_ms(100);
    }
    ASSERT_EQ(n, 3);
    int seen[3] = {0};
    json_array_foreach(json_object_get(list, "items"), k, ev) {
        const char *note = json_string_value(json_object_get(ev, "note"));
        const json_t *reg = json_object_get(ev, "regarding");
        ASSERT_STR_EQ(json_string_value(json_object_get(reg, "uid")), kube_obj_uid(cm));
        ASSERT_STR_EQ(json_string_value(json_object_get(reg, "kind")), "ConfigMap");
        ASSERT_STR_EQ(json_string_value(json_object_get(ev, "reportingInstance")), "it-recorder");
        for (size_t i = 0; i < 3; i++)
            if (note && !strcmp(note, notes[i])) {
                seen[i]++;
                ASSERT_STR_EQ(json_string_value(json_object_get(ev, "type")), i == 1 ? "Warning" : "Normal");
                ASSERT_STR_EQ(json_string_value(json_object_get(ev, "reason")), i == 1 ? "Second" : "Other");
            }
    }
    ASSERT_TRUE(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
    rt_recorder_emit(rr, NULL, "Normal", "Dropped", "no regarding object"); /* dropped, no crash */
    rt_recorder_free(rr);
    json_decref(list);
    json_decref(cm);
}

TEST(lease_create_get_update_conflict)
{
    SETUP(c);
    char now[40];
    json_t *lease, *created = NULL, *got = NULL, *updated = NULL;
    struct kube_status st;
    op_rfc3339_micro(now);
    lease = json_pack("{s:s,s:s,s:{s:s},s:{s:s,s:i,s:s,s:s,s:i}}", "apiVersion", "coordination.k8s.io/v1", "kind",
                      "Lease", "metadata", "name", "leader", "spec", "holderIdentity", "me", "leaseDurationSeconds",
                      15, "acquireTime", now, "renewTime", now, "leaseTransitions", 0);
    ASSERT_OK(kube_lease_create(c, g_ns, lease, &created, NULL));
    ASSERT_EQ(kube_lease_create(c, g_ns, lease, NULL, &st), OP_ECONFLICT);
    ASSERT_STR_EQ(st.reason, "AlreadyExists");
    json_decref(lease);
    ASSERT_OK(kube_lease_get(c, g_ns, "leader", &got, NULL));
    ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(got, "spec"), "holderIdentity")), "me");
    /* renew with the current resourceVersion */
    sleep_ms(2);
    op_rfc3339_micro(now);
    json_object_set_new(json_object_get(got, "spec"), "renewTime", json_string(now));
    ASSERT_OK(kube_lease_update(c, g_ns, got, &updated, NULL));
    ASSERT_NE(strcmp(kube_obj_resource_version(updated), kube_obj_resource_version(got)), 0);
    /* a stale resourceVersion loses */
    json_object_set_new(json_object_get(got, "spec"), "holderIdentity", json_string("thief"));
    ASSERT_EQ(kube_lease_update(c, g_ns, got, NULL, &st), OP_ECONFLICT);
    ASSERT_EQ(st.code, 409);
    ASSERT_STR_EQ(st.reason, "Conflict");
    ASSERT_EQ(kube_lease_get(c, g_ns, "absent", &got, NULL) == OP_ENOTFOUND, 1);
    json_decref(got);
    json_decref(created);
    json_decref(updated);
}

/* ---- concurrency and metrics hook ---------------------------------------- */

static int g_req_count;
static int g_req_bad;
static pthread_mutex_t g_req_mu = PTHREAD_MUTEX_INITIALIZER;

static void count_req(const char *method, int code, const char *host, void *payload)
{
    (void)payload;
    pthread_mutex_lock(&g_req_mu);
    g_req_count++;
    if (!method || !host || !strchr(host, ':') || code == 0)
        g_req_bad++;
    pthread_mutex_unlock(&g_req_mu);
}

static void *hammer(void *arg)
{
    struct kube_client *c = arg;
    long fails = 0;
    for (int i = 0; i < 25; i++) {
        json_t *o = NULL;
        if (kube_get(c, &KUBE_RES_NAMESPACE, NULL, g_ns, &o, NULL) != 0)
            fails++;
        json_decref(o);
    }
    return (void *)fails;
}

TEST(concurrent_requests_and_hook)
{
    SETUP(c);
    pthread_t th[4];
    long fails = 0;
    kube_client_set_on_request(c, count_req, NULL);
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(pthread_create(&th[i], NULL, hammer, c), 0);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(th[i], &r);
        fails += (long)r;
    }
    kube_client_set_on_request(c, NULL, NULL);
    ASSERT_EQ(fails, 0);
    ASSERT_EQ(g_req_count, 100);
    ASSERT_EQ(g_req_bad, 0);
}

/* ---- restart ---------------------------------------------------------------- */

static char *state_dir(void)
{
    const char *env = getenv("CROSSLINK_CLUSTER_DIR");
    const char *kc = getenv("KUBECONFIG");
    const char *slash;
    if (env && *env)
        return op_strdup(env);
    slash = kc ? strrchr(kc, '/') : NULL;
    return slash ? strndup(kc, (size_t)(slash - kc)) : NULL;
}

TEST(watch_survives_apiserver_restart)
{
    SETUP(c);
    struct recorder r = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct kube_watch *w = NULL;
    struct kube_watch_opts o = {0};
    char *dir = state_dir(), cmd[1024], key[128];
    json_t *cm = NULL, *got;
    int ok = 0;

    ASSERT_TRUE(dir != NULL);
    ASSERT_OK(create_cm(c, "rs-keep", "restart"));
    ASSERT_OK(create_cm(c, "rs-gone", "restart"));
    ASSERT_OK(create_cm(c, "rs-change", "restart"));
    o.resource = &KUBE_RES_CONFIGMAP;
    o.ns = g_ns;
    o.label_selector = "xl-test=restart";
    o.on_event = rec_event;
    o.on_error = print_err;
    o.payload = &r;
    ASSERT_OK(kube_watch_start(&w, c, &o));
    ASSERT_OK(kube_watch_wait_synced(w, 20000));
    ASSERT_EQ(kube_watch_count(w), 3);

    snprintf(cmd, sizeof(cmd), "tests/cluster/restart-apiserver --state-dir '%s' >&2", dir);
    free(dir);
    ASSERT_EQ(system(cmd), 0);
    /* changes right after the restart, while the watch is still backing off */
    ASSERT_OK(create_cm(c, "rs-new", "restart"));
    ASSERT_OK(kube_delete(c, &KUBE_RES_CONFIGMAP, g_ns, "rs-gone", NULL));
    ASSERT_OK(kube_get(c, &KUBE_RES_CONFIGMAP, g_ns, "rs-change", &cm, NULL));
    json_object_set_new(json_object_get(cm, "data"), "k", json_string("changed"));
    ASSERT_OK(kube_update(c, &KUBE_RES_CONFIGMAP, g_ns, cm, NULL, NULL));
    json_decref(cm);

    for (int i = 0; i < 600 && !ok; i++) { /* up to 60 s: backoff caps at 30 s */
        sleep_ms(100);
        snprintf(key, sizeof(key), "%s/rs-change", g_ns);
        got = kube_watch_get(w, key);
        ok = got && strcmp(S(json_string_value(json_object_get(json_object_get(got, "data"), "k"))),
                           "changed") == 0;
        json_decref(got);
        snprintf(key, sizeof(key), "%s/rs-new", g_ns);
        got = kube_watch_get(w, key);
        ok = ok && got;
        json_decref(got);
        snprintf(key, sizeof(key), "%s/rs-gone", g_ns);
        got = kube_watch_get(w, key);
        ok = ok && !got;
        json_decref(got);
    }
    if (!ok)
        rec_dump(&r);
    ASSERT_TRUE(ok);
    ASSERT_EQ(kube_watch_count(w), 3);
    ASSERT_EQ(rec_count(&r, "ADDED rs-new"), 1);
    ASSERT_EQ(rec_count(&r, "DELETED rs-gone"), 1);
    ASSERT_EQ(rec_count(&r, "MODIFIED rs-change"), 1);
    ASSERT_EQ(rec_count(&r, "ADDED rs-keep"), 1); /* not re-announced after the relist */
    {
        struct kube_watch_stats s;
        kube_watch_get_stats(w, &s);
        fprintf(stderr, "  after restart: lists=%llu watches=%llu gone=%llu errors=%llu events=%llu\n",
                (unsigned long long)s.lists, (unsigned long long)s.watches, (unsigned long long)s.gone,
                (unsigned long long)s.errors, (unsigned long long)s.events);
    }
    kube_watch_free(w);
}

static int g_idle_errors;
static void count_idle(int err, const struct kube_status *st, const char *msg, void *payload)
{
    (void)payload;
    print_err(err, st, msg, NULL);
    if (err == OP_ETIMEOUT && msg && strstr(msg, "no data for"))
        __atomic_add_fetch(&g_idle_errors, 1, __ATOMIC_SEQ_CST);
}

/* A watch that receives nothing for idle_timeout_ms is torn down and
 * re-established (the guard against a half-open connection or a hung
 * apiserver); nothing is lost or re-announced across the reconnects. */
TEST(watch_idle_timeout_reconnects)
{
    SETUP(c);
    struct recorder r = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct kube_watch *w = NULL;
    struct kube_watch_opts o = {0};
    struct kube_watch_stats st;
    char key[128];
    json_t *got = NULL;

    ASSERT_OK(create_cm(c, "idle-a", "idle"));
    o.resource = &KUBE_RES_CONFIGMAP;
    o.ns = g_ns;
    o.label_selector = "xl-test=idle";
    o.idle_timeout_ms = 1500;
    o.on_event = rec_event;
    o.on_error = count_idle;
    o.payload = &r;
    ASSERT_OK(kube_watch_start(&w, c, &o));
    ASSERT_OK(kube_watch_wait_synced(w, 20000));
    /* the selector matches nothing that changes: the stream stays silent */
    for (int i = 0; i < 150 && __atomic_load_n(&g_idle_errors, __ATOMIC_SEQ_CST) < 2; i++)
        sleep_ms(100);
    ASSERT_TRUE(__atomic_load_n(&g_idle_errors, __ATOMIC_SEQ_CST) >= 2);
    kube_watch_get_stats(w, &st);
    ASSERT_TRUE(st.watches >= 2); /* reconnected, not given up */
    ASSERT_OK(create_cm(c, "idle-b", "idle"));
    snprintf(key, sizeof(key), "%s/idle-b", g_ns);
    for (int i = 0; i < 300 && !got; i++) {
        got = kube_watch_get(w, key);
        if (!got)
            sleep_ms(100);
    }
    ASSERT_TRUE(got != NULL);
    json_decref(got);
    ASSERT_EQ(rec_count(&r, "ADDED idle-a"), 1); /* not re-announced by the reconnects */
    ASSERT_EQ(rec_count(&r, "ADDED idle-b"), 1);
    ASSERT_EQ(kube_watch_count(w), 2);
    kube_watch_free(w);
}

TEST_MAIN()
