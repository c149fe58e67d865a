/* test_ctl_cache_forms.c — the compact forms the informers keep
 * (controller/stack/manager.c). Stacks: metadata and spec survive, status
 * becomes its summary and comes back equal (also through the stored text,
 * with shared and differing lastTransitionTimes, null fields, a summary
 * that cannot be packed, no status). ConfigMaps: the cached facts match what
 * we want and nothing else — another owner, blockOwnerDeletion false, no
 * owner, a changed or missing label, a label asked as an annotation and
 * back, a moved key/value boundary, last-applied, other data; labels we did
 * not ask for are ignored; an untransformed object answers the same. Sizes
 * of realistic cached objects are printed and bounded. Mutants tried on
 * manager.c, each red here: a fact hash without the NUL between key and
 * value, or with annotations hashed as labels; blockOwnerDeletion, the data
 * or the owner not checked; labels or annotations not checked;
 * last-applied kept; the owner's name left out; a repeated
 * lastTransitionTime packed regardless of its value, or unpacked from the
 * wrong row; observedGeneration dropped; a 32-byte status digest. */
#include "kube.h"
#include "manager.h"
#include "render.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

/* The owned ConfigMaps as the apiserver returns them for examples/stack.yaml
 * (labels and annotations as `crosslink render` prints them, plus what the
 * apiserver and our server-side apply add). */
#define CM_DASHBOARDS_JSON                                                                                         \
    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"prod-grafana-dashboards\","        \
    "\"namespace\":\"observability\",\"uid\":\"8f0c2f4e-3b1a-4a6e-9d59-2f7f5c1b8e21\","                          \
    "\"resourceVersion\":\"1048576\",\"creationTimestamp\":\"2026-12-04T10:00:00Z\","                            \
    "\"labels\":{\"app.kubernetes.io/managed-by\":\"crosslink\",\"app.kubernetes.io/name\":\"crosslink\","       \
    "\"crosslink.dev/stack\":\"prod\",\"grafana_dashboard\":\"1\"},"                                            \
    "\"annotations\":{\"crosslink.dev/digest\":"                                                                 \
    "\"sha256:d99860a32061b2c058fb6f9f98fe90a4889a01bcfb5d197958b3d53d35b47efe\","                               \
    "\"grafana_folder\":\"Observability\",\"k8s-sidecar-target-directory\":\"Observability\"},"                  \
    "\"ownerReferences\":[{\"apiVersion\":\"crosslink.dev/v1alpha1\",\"kind\":\"ObservabilityStack\","            \
    "\"name\":\"prod\",\"uid\":\"5d1e7a2c-0f43-4b8e-a6d1-93c2e8f7b410\",\"controller\":true,"                    \
    "\"blockOwnerDeletion\":true}],"                                                                              \
    "\"managedFields\":[{\"manager\":\"crosslink\",\"operation\":\"Apply\",\"apiVersion\":\"v1\"}]},"            \
    "\"data\":{\"observability-prod-service-overview.json\":\"{\\\"title\\\":\\\"prod\\\"}\"}}"

/* examples/stack.yaml with the status the controller writes for it. */
#define STACK_JSON                                                                                                 \
    "{\"apiVersion\":\"crosslink.dev/v1alpha1\",\"kind\":\"ObservabilityStack\",\"metadata\":{\"name\":\"prod\","  \
    "\"namespace\":\"observability\",\"uid\":\"5d1e7a2c-0f43-4b8e-a6d1-93c2e8f7b410\","                          \
    "\"resourceVersion\":\"1048577\",\"generation\":1,\"creationTimestamp\":\"2026-12-04T10:00:00Z\","            \
    "\"managedFields\":[{\"manager\":\"kubectl\",\"operation\":\"Apply\"}]},"                                   \
    "\"spec\":{\"metrics\":{\"url\":\"http://mimir-gateway.mimir.svc/prometheus\",\"flavor\":\"Mimir\","          \
    "\"uid\":\"mimir\",\"scrapeInterval\":\"30s\",\"tenant\":\"team-a\",\"auth\":{\"basic\":{\"username\":"       \
    "\"grafana\",\"passwordSecretRef\":{\"name\":\"mimir-auth\",\"key\":\"password\"}}}},\"traces\":{\"url\":"    \
    "\"http://tempo-query-frontend.tempo.svc:3200\",\"uid\":\"tempo\",\"tenant\":\"team-a\"},\"logs\":{\"url\":"  \
    "\"http://loki-gateway.loki.svc\",\"uid\":\"loki\",\"tenant\":\"team-a\",\"maxLines\":2000},\"profiles\":"     \
    "{\"url\":\"https://pyroscope.pyroscope.svc:4040\",\"uid\":\"pyroscope\",\"tls\":{\"caConfigMapRef\":"        \
    "{\"name\":\"internal-ca\",\"key\":\"ca.crt\"}}},\"correlation\":{\"serviceAttribute\":\"service.name\","      \
    "\"serviceLabel\":\"service_name\",\"extraTags\":[{\"attribute\":\"k8s.namespace.name\",\"label\":"           \
    "\"k8s_namespace_name\"}],\"timeShift\":{\"before\":\"5m\",\"after\":\"5m\"},\"requestMetric\":"              \
    "\"http_server_request_duration_seconds\"},\"grafana\":{\"folder\":\"Observability\"},\"dashboards\":"         \
    "{\"serviceOverview\":true},\"verify\":{\"interval\":\"60s\",\"timeout\":\"5s\"}},"                         \
    "\"status\":{\"observedGeneration\":1,\"conditions\":["                                                      \
    COND("Ready", "True", "AllSignalsReachable") "," COND("ProvisioningApplied", "True", "Applied") ","            \
    COND("Stalled", "False", "AsExpected") "," COND("Reconciling", "False", "ReconcileComplete") ","              \
    COND("MetricsReachable", "True", "Reachable") "," COND("TracesReachable", "True", "Reachable") ","            \
    COND("LogsReachable", "True", "Reachable") "," COND("ProfilesReachable", "True", "Reachable") ","             \
    COND("LinksVerified", "True", "AllLinksResolve") "],"                                                       \
    "\"configMaps\":[\"prod-grafana-datasources\",\"prod-grafana-dashboards\"],\"renderedDigest\":"              \
    "\"sha256:4f1d0b6c3e2a59870d1c6b5a4e3f2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e\",\"signals\":[]}}"
#define COND(t, s, r)                                                                                              \
    "{\"type\":\"" t "\",\"status\":\"" s "\",\"observedGeneration\":1,\"lastTransitionTime\":"                 \
    "\"2026-12-04T10:00:05Z\",\"reason\":\"" r "\",\"message\":\"a message of some length\"}"

static json_t *stack(const char *ns, const char *name, const char *spec_json)
{
    json_t *spec = json_loads(spec_json, 0, NULL);
    if (!spec)
        return NULL;
    return json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:o}", "apiVersion", "crosslink.dev/v1alpha1",
                     "kind", "ObservabilityStack", "metadata", "name", name, "namespace", ns,
                     "creationTimestamp", "2026-01-01T00:00:00Z", "resourceVersion", "1", "spec", spec);
}

/* What the informer store keeps is text: decode it the way a read does. */
static json_t *through_text(const json_t *o)
{
    char *text = json_dumps(o, JSON_COMPACT);
    json_t *again = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    return again;
}

TEST(stack_transform_round_trip)
{
    json_t *o = stack("t1", "a", "{\"metrics\":{\"url\":\"http://m\",\"uid\":\"mimir\"}}");
    json_t *st = json_pack("{s:i, s:[{s:s, s:s, s:s, s:s, s:s}]}", "observedGeneration", 1, "conditions",
                           "type", "Ready", "status", "True", "lastTransitionTime", "2026-01-01T00:00:00Z",
                           "reason", "AllSignalsReachable", "message", "a long message");
    json_t *want = ctl_status_summary(st), *t, *view, *sum;
    json_object_set_new(o, "status", st);
    json_object_set_new(json_object_get(o, "metadata"), "managedFields", json_pack("[{s:s}]", "manager", "kubectl"));
    t = ctl_stack_transform(o, NULL); /* steals o */
    ASSERT_TRUE(json_object_get(t, "status") == NULL);
    ASSERT_TRUE(json_object_get(json_object_get(t, "metadata"), "managedFields") == NULL);
    ASSERT_STR_EQ(kube_obj_resource_version(t), "1");
    sum = ctl_cached_status_summary(t);
    ASSERT_TRUE(json_equal(sum, want));
    ASSERT_EQ(json_string_length(json_object_get(sum, "digest")), 22);
    ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(json_object_get(sum, "conditions"), 0),
                                                    "lastTransitionTime")),
                  "2026-01-01T00:00:00Z");
    view = ctl_stack_view(t);
    ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(json_object_get(view, "spec"), "metrics"), "uid")),
                  "mimir");
    /* claims come from the compact form too */
    struct ctl_claim *c = ctl_claim_build("t1/a", t);
    ASSERT_TRUE(c != NULL);
    ASSERT_STR_EQ(ctl_claim_str(c, c->uids[0]), "mimir");
    ASSERT_STR_EQ(ctl_claim_str(c, c->key), "t1/a");
    ctl_claim_free(c);
    json_decref(view);
    json_decref(sum);
    json_decref(want);
    json_decref(t);
}

TEST(stack_transform_packs_the_status_summary)
{
    json_t *o = stack("t1", "a", "{\"metrics\":{\"url\":\"http://m\"}}");
    /* two conditions share a lastTransitionTime, one differs, one has none
     * and one follows that with the shared time again */
    json_t *st = json_pack("{s:i, s:[{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s},"
                           " {s:s, s:s, s:s}]}",
                           "observedGeneration", 3, "conditions", "type", "Ready", "status", "False",
                           "lastTransitionTime", "2026-01-01T00:00:00Z", "message", "m1", "type", "Stalled", "status",
                           "True", "lastTransitionTime", "2026-01-01T00:00:00Z", "reason", "InvalidSpec", "type",
                           "Reconciling", "status", "False", "lastTransitionTime", "2026-01-02T00:00:00Z", "type",
                           "LinksVerified", "status", "Unknown", "type", "ProvisioningApplied", "status", "True",
                           "lastTransitionTime", "2026-01-02T00:00:00Z");
    json_t *want = ctl_status_summary(st), *t, *stored, *sum, *again;
    json_object_set_new(o, "status", st);
    t = ctl_stack_transform(o, NULL); /* steals o */
    stored = json_object_get(t, CTL_STATUS_KEY);
    ASSERT_TRUE(json_is_string(stored));
    /* one letter per type and status; the repeated time is stored once ("="),
     * an absent one as "-" */
    ASSERT_STR_EQ(json_string_value(stored) + 22,
                  ";3;aF2026-01-01T00:00:00Z;cT=;dF2026-01-02T00:00:00Z;eU-;bT2026-01-02T00:00:00Z");
    again = through_text(t);
    sum = ctl_cached_status_summary(again);
    ASSERT_TRUE(json_equal(sum, want));
    ASSERT_EQ(json_integer_value(json_object_get(sum, "observedGeneration")), 3);
    ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(json_object_get(sum, "conditions"), 1),
                                                    "lastTransitionTime")),
                  "2026-01-01T00:00:00Z");
    ASSERT_TRUE(json_is_null(json_object_get(json_array_get(json_object_get(sum, "conditions"), 3),
                                             "lastTransitionTime")));
    json_decref(sum);
    json_decref(again);
    json_decref(want);
    /* a stack without status keeps the empty summary (no observedGeneration) */
    json_decref(t);
    t = ctl_stack_transform(stack("t1", "b", "{\"metrics\":{\"url\":\"http://m\"}}"), NULL);
    sum = ctl_cached_status_summary(t);
    ASSERT_EQ(json_array_size(json_object_get(sum, "conditions")), 0);
    ASSERT_STR_EQ(json_string_value(json_object_get(sum, "digest")), "");
    ASSERT_TRUE(json_object_get(sum, "observedGeneration") == NULL);
    json_decref(sum);
    json_decref(t);
    /* a condition field the CRD would not admit: kept as the summary object */
    o = stack("t1", "c", "{\"metrics\":{\"url\":\"http://m\"}}");
    st = json_pack("{s:[{s:s, s:i}]}", "conditions", "type", "Ready", "status", 1);
    want = ctl_status_summary(st);
    json_object_set_new(o, "status", st);
    t = ctl_stack_transform(o, NULL);
    ASSERT_TRUE(json_is_object(json_object_get(t, CTL_STATUS_KEY)));
    sum = ctl_cached_status_summary(t);
    ASSERT_TRUE(json_equal(sum, want));
    json_decref(sum);
    json_decref(want);
    json_decref(t);
    /* nor a condition type, status or time the string cannot say */
    static const char *odd[][3] = {{"Available", "True", "2026-01-01T00:00:00Z"},
                                   {"Ready", "Maybe", "2026-01-01T00:00:00Z"},
                                   {"Ready", "True", "="},
                                   {"Ready", "True", "-"},
                                   {"Ready", "True", "2026;01"}};
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        o = stack("t1", "d", "{\"metrics\":{\"url\":\"http://m\"}}");
        st = json_pack("{s:[{s:s, s:s, s:s}]}", "conditions", "type", odd[i][0], "status", odd[i][1],
                       "lastTransitionTime", odd[i][2]);
        want = ctl_status_summary(st);
        json_object_set_new(o, "status", st);
        t = ctl_stack_transform(o, NULL);
        ASSERT_TRUE(json_is_object(json_object_get(t, CTL_STATUS_KEY)));
        again = through_text(t);
        sum = ctl_cached_status_summary(again);
        ASSERT_TRUE(json_equal(sum, want));
        json_decref(sum);
        json_decref(again);
        json_decref(want);
        json_decref(t);
    }
}

TEST(status_digest_is_22_base64url_characters_and_follows_the_status)
{
    json_t *a = json_pack("{s:i}", "observedGeneration", 1), *b = json_pack("{s:i}", "observedGeneration", 2);
    json_t *sa = ctl_status_summary(a), *sb = ctl_status_summary(b), *sa2 = ctl_status_summary(a);
    const char *d = json_string_value(json_object_get(sa, "digest"));
    ASSERT_EQ(strlen(d), 22);
    ASSERT_EQ(strspn(d, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 22);
    ASSERT_TRUE(json_equal(json_object_get(sa, "digest"), json_object_get(sa2, "digest")));
    ASSERT_TRUE(!json_equal(json_object_get(sa, "digest"), json_object_get(sb, "digest")));
    json_decref(a);
    json_decref(b);
    json_decref(sa);
    json_decref(sa2);
    json_decref(sb);
}

/* A ConfigMap as our apply leaves it: labels, annotations, controller owner
 * reference to stack "prod" (uid s-1, blockOwnerDeletion as block), data. */
static json_t *owned_cm(int block, const char *data_value)
{
    return json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s}, s:[{s:s}],"
                     " s:[{s:s, s:s, s:s, s:s, s:b, s:b}]}, s:{s:s}}",
                     "apiVersion", "v1", "kind", "ConfigMap", "metadata", "name", "prod-grafana-datasources",
                     "namespace", "team-a", "uid", "u-1", "resourceVersion", "42", "labels",
                     "app.kubernetes.io/managed-by", "crosslink", "added-by-someone", "x", "annotations",
                     "crosslink.dev/digest", "sha256:abc", "kubectl.kubernetes.io/last-applied-configuration",
                     "{huge}", "managedFields", "manager", "kubectl", "ownerReferences", "apiVersion",
                     "crosslink.dev/v1alpha1", "kind", "ObservabilityStack", "name", "prod", "uid", "s-1",
                     "controller", 1, "blockOwnerDeletion", block, "data", "team-a-prod-datasources.yaml",
                     data_value);
}

static char *digest_of(const json_t *cm)
{
    return render_data_digest(json_object_get(cm, "data"));
}

/* want_md with one label and one annotation (NULL: left out). */
static json_t *want(const char *lk, const char *lv, const char *ak, const char *av)
{
    json_t *md = json_object();
    if (lk)
        json_object_set_new(md, "labels", json_pack("{s:s}", lk, lv));
    if (ak)
        json_object_set_new(md, "annotations", json_pack("{s:s}", ak, av));
    return md;
}

/* ctl_cm_matches of cm against want(lk, lv, ak, av), digest dg, owner s-1. */
static int matches(const json_t *cm, const char *dg, const char *lk, const char *lv, const char *ak, const char *av)
{
    json_t *md = want(lk, lv, ak, av);
    int r = ctl_cm_matches(cm, md, dg, "s-1");
    json_decref(md);
    return r;
}

/* The cases that must match and those that must not, on cm (cached or raw). */
static int cm_cases(const json_t *cm, const char *dg)
{
    json_t *md = want("app.kubernetes.io/managed-by", "crosslink", "crosslink.dev/digest", "sha256:abc");
    int ok = 1;
#define EXPECT(c)                                                                                                  \
    do {                                                                                                           \
        if (!(c)) {                                                                                                \
            fprintf(stderr, "  %s:%d: expected %s\n", __FILE__, __LINE__, #c);                                     \
            ok = 0;                                                                                                \
        }                                                                                                          \
    } while (0)
    EXPECT(ctl_cm_matches(cm, md, dg, "s-1"));
    EXPECT(!ctl_cm_matches(cm, md, dg, "s-2"));                  /* another owner */
    EXPECT(!ctl_cm_matches(cm, md, "sha256:0123", "s-1"));       /* other data */
    EXPECT(matches(cm, dg, NULL, NULL, NULL, NULL));             /* nothing asked: data and owner decide */
    EXPECT(matches(cm, dg, "added-by-someone", "x", NULL, NULL)); /* any label we ask about */
    EXPECT(!matches(cm, dg, "app.kubernetes.io/managed-by", "someone", NULL, NULL)); /* changed value */
    EXPECT(!matches(cm, dg, "crosslink.dev/stack", "prod", NULL, NULL));             /* missing label */
    EXPECT(!matches(cm, dg, NULL, NULL, "app.kubernetes.io/managed-by", "crosslink")); /* label as annotation */
    EXPECT(!matches(cm, dg, "crosslink.dev/digest", "sha256:abc", NULL, NULL));        /* annotation as label */
    EXPECT(!matches(cm, dg, NULL, NULL, "crosslink.dev/digest", "sha256:abd"));        /* changed annotation */
    EXPECT(!matches(cm, dg, "added-by-someonex", "", NULL, NULL));                     /* key/value boundary */
    EXPECT(!matches(cm, dg, "added-by-someon", "ex", NULL, NULL));
    EXPECT(!matches(cm, dg, NULL, NULL, "kubectl.kubernetes.io/last-applied-configuration", "{huge}"));
#undef EXPECT
    json_decref(md);
    return ok;
}

TEST(cm_transform_keeps_hashes_of_what_reconcile_compares)
{
    json_t *cm = owned_cm(1, "apiVersion: 1\ndatasources: []\n"), *t, *again;
    char *dg = digest_of(cm), key[256];
    const char *facts;
    ASSERT_TRUE(cm && dg);
    /* untransformed objects answer the same */
    ASSERT_TRUE(ctl_cm_owner_key(cm, key, sizeof(key)));
    ASSERT_STR_EQ(key, "team-a/prod");
    ASSERT_TRUE(cm_cases(cm, dg));
    t = ctl_cm_transform(cm, NULL); /* steals cm */
    ASSERT_TRUE(json_object_get(t, "data") == NULL);
    ASSERT_TRUE(json_object_get(json_object_get(t, "metadata"), "managedFields") == NULL);
    ASSERT_TRUE(json_object_get(json_object_get(t, "metadata"), "labels") == NULL);
    ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(t, "metadata"), "resourceVersion")), "42");
    ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(t, "metadata"), "name")),
                  "prod-grafana-datasources");
    /* 2 labels, 1 annotation (last-applied left out), data, owner: 5 hashes */
    facts = json_string_value(json_object_get(t, CTL_CM_META_KEY));
    ASSERT_TRUE(facts != NULL);
    ASSERT_EQ(strlen(facts), 5 * 11 + strlen(":prod"));
    ASSERT_STR_EQ(facts + 5 * 11, ":prod");
    ASSERT_EQ(strspn(facts, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 5 * 11);
    again = through_text(t);
    ASSERT_TRUE(cm_cases(again, dg));
    ASSERT_TRUE(ctl_cm_owner_key(again, key, sizeof(key)));
    ASSERT_STR_EQ(key, "team-a/prod");
    json_decref(again);
    json_decref(t);
    free(dg);
}

TEST(cm_transform_data_and_owner_changes_do_not_match)
{
    json_t *md = want("app.kubernetes.io/managed-by", "crosslink", NULL, NULL);
    json_t *a = owned_cm(1, "v1"), *b = owned_cm(1, "v2"), *nb = owned_cm(0, "v1"), *ta, *tb, *tnb, *none, *other;
    char *da = digest_of(a), *db = digest_of(b), key[256];
    ASSERT_TRUE(strcmp(da, db) != 0);
    ta = ctl_cm_transform(a, NULL);
    tb = ctl_cm_transform(b, NULL);
    tnb = ctl_cm_transform(nb, NULL);
    ASSERT_TRUE(ctl_cm_matches(ta, md, da, "s-1"));
    ASSERT_TRUE(!ctl_cm_matches(tb, md, da, "s-1")); /* data edited */
    ASSERT_TRUE(ctl_cm_matches(tb, md, db, "s-1"));
    ASSERT_TRUE(!ctl_cm_matches(tnb, md, da, "s-1")); /* blockOwnerDeletion false */
    ASSERT_TRUE(ctl_cm_owner_key(tnb, key, sizeof(key))); /* still owned */
    /* no data at all is the digest of {} */
    none = json_pack("{s:{s:s, s:s, s:[{s:s, s:s, s:s, s:s, s:b, s:b}]}}", "metadata", "name", "x", "namespace",
                     "n", "ownerReferences", "apiVersion", "crosslink.dev/v1alpha1", "kind", "ObservabilityStack",
                     "name", "prod", "uid", "s-1", "controller", 1, "blockOwnerDeletion", 1);
    {
        json_t *empty = json_object();
        char *de = render_data_digest(empty);
        json_t *tn = ctl_cm_transform(json_incref(none), NULL);
        ASSERT_TRUE(ctl_cm_matches(tn, NULL, de, "s-1"));
        ASSERT_TRUE(!ctl_cm_matches(tn, NULL, da, "s-1"));
        json_decref(tn);
        json_decref(empty);
        free(de);
    }
    /* the owner is not a stack (or not the controller): no owner, no match */
    other = json_pack("{s:{s:s, s:s, s:[{s:s, s:s, s:s, s:s, s:b}]}}", "metadata", "name", "x", "namespace", "n",
                      "ownerReferences", "apiVersion", "apps/v1", "kind", "Deployment", "name", "d", "uid", "s-1",
                      "controller", 1);
    ASSERT_TRUE(!ctl_cm_owner_key(other, key, sizeof(key)));
    other = ctl_cm_transform(other, NULL);
    ASSERT_TRUE(!ctl_cm_owner_key(other, key, sizeof(key)));
    json_decref(other);
    json_object_set_new(json_array_get(json_object_get(json_object_get(none, "metadata"), "ownerReferences"), 0),
                        "controller", json_false());
    other = ctl_cm_transform(none, NULL); /* steals none */
    ASSERT_TRUE(!ctl_cm_owner_key(other, key, sizeof(key)));
    ASSERT_TRUE(!ctl_cm_matches(other, NULL, da, "s-1"));
    json_decref(other);
    json_decref(ta);
    json_decref(tb);
    json_decref(tnb);
    json_decref(md);
    free(da);
    free(db);
}

/* Bytes of the compact JSON text of v, which is what pkg/kube stores. */
static size_t text_size(const char *what, const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t n = s ? strlen(s) : 0;
    printf("  %s: %zu bytes: %s\n", what, n, s ? s : "(null)");
    free(s);
    return n;
}

/* The cached forms of the objects examples/stack.yaml leads to, printed
 * with their sizes (so a change to the forms shows its cost) and bounded:
 * a dashboards ConfigMap has 9 facts (4 labels, 3 annotations, data,
 * owner), a data-sources one 7. */
TEST(cache_form_sizes)
{
    json_t *dash = json_loads(CM_DASHBOARDS_JSON, 0, NULL), *ds, *st = json_loads(STACK_JSON, 0, NULL), *md;
    ASSERT_TRUE(dash && st);
    ds = json_deep_copy(dash);
    md = json_object_get(ds, "metadata");
    json_object_set_new(md, "name", json_string("prod-grafana-datasources"));
    json_object_del(json_object_get(md, "labels"), "grafana_dashboard");
    json_object_set_new(json_object_get(md, "labels"), "grafana_datasource", json_string("1"));
    json_object_del(json_object_get(md, "annotations"), "grafana_folder");
    json_object_del(json_object_get(md, "annotations"), "k8s-sidecar-target-directory");
    dash = ctl_cm_transform(dash, NULL);
    ds = ctl_cm_transform(ds, NULL);
    st = ctl_stack_transform(st, NULL);
    ASSERT_TRUE(text_size("dashboards ConfigMap", dash) <= 230);
    ASSERT_TRUE(text_size("data-sources ConfigMap", ds) <= 210);
    ASSERT_TRUE(text_size("stack status summary (9 conditions)", json_object_get(st, CTL_STATUS_KEY)) <= 110);
    ASSERT_TRUE(text_size("stack", st) <= 1450);
    json_decref(dash);
    json_decref(ds);
    json_decref(st);
}

TEST_MAIN()
