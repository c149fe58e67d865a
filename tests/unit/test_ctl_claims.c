/* test_ctl_claims.c — unit tests for the Grafana conflict rules of
 * controller/stack/reconcile.c (ctl_claim_build / ctl_claim_conflict): shared
 * uid, shared name, two defaults, dashboard uid, different Grafanas never
 * clash, invalid stacks claim nothing; and for their inverted index
 * (claims_index.c, ctl_claims_*): the stack sharing a token is found (once)
 * among many, many distinct stacks find nothing, a removed or edited stack
 * leaves every chain, a token collision is met by the walk and settled by
 * ctl_claim_conflict. Mutants tried on claims_index.c: no unlink in
 * ctl_claims_take (removal case red, and ASan reports the freed claim read
 * through its chain); no met_before (the shared-uid-and-name stack is met
 * twice: found-once case red); put not chaining the token's earlier
 * holders (found-once and removal cases red). */
#include "kube.h"
#include "manager.h"
#include "test.h"

#include <stdlib.h>

static json_t *stack(const char *ns, const char *name, const char *spec_json)
{
    json_error_t e;
    json_t *spec = json_loads(spec_json, 0, &e);
    if (!spec) {
        fprintf(stderr, "bad test json: %s\n", e.text);
        return NULL;
    }
    return json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:o}", "apiVersion", "crosslink.dev/v1alpha1",
                     "kind", "ObservabilityStack", "metadata", "name", name, "namespace", ns,
                     "creationTimestamp", "2026-01-01T00:00:00Z", "resourceVersion", "1", "spec", spec);
}

static struct ctl_claim *claim(const char *ns, const char *name, const char *spec_json)
{
    json_t *o = stack(ns, name, spec_json);
    struct ctl_claim *c = o ? ctl_claim_build(o) : NULL;
    json_decref(o);
    return c;
}

TEST(claims_shared_uid_same_grafana)
{
    struct ctl_claim *a = claim("t1", "a", "{\"metrics\":{\"url\":\"http://m\",\"uid\":\"mimir\"}}");
    struct ctl_claim *b = claim("t2", "b", "{\"metrics\":{\"url\":\"http://n\",\"uid\":\"mimir\"}}");
    char why[512];
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(ctl_claim_conflict("t2/b", b, "t1/a", a, why, sizeof(why)));
    ASSERT_CONTAINS(why, "uid \"mimir\"");
    ASSERT_CONTAINS(why, "t1/a");
    ctl_claim_free(a);
    ctl_claim_free(b);
}

TEST(claims_default_uids_of_same_named_stacks_collide)
{
    /* default uid <stack>-metrics: "prod" in two namespaces, same Grafana */
    struct ctl_claim *a = claim("t1", "prod", "{\"metrics\":{\"url\":\"http://m\"}}");
    struct ctl_claim *b = claim("t2", "prod", "{\"metrics\":{\"url\":\"http://m\"}}");
    char why[512];
    ASSERT_TRUE(ctl_claim_conflict("t2/prod", b, "t1/prod", a, why, sizeof(why)));
    ASSERT_CONTAINS(why, "prod-metrics");
    ctl_claim_free(a);
    ctl_claim_free(b);
}

TEST(claims_different_grafana_no_conflict)
{
    struct ctl_claim *a = claim("t1", "a",
                                "{\"metrics\":{\"url\":\"http://m\",\"uid\":\"mimir\"},"
                                "\"grafana\":{\"datasourceLabels\":{\"grafana\":\"one\"},"
                                "\"dashboardLabels\":{\"dash\":\"one\"}}}");
    struct ctl_claim *b = claim("t2", "b",
                                "{\"metrics\":{\"url\":\"http://m\",\"uid\":\"mimir\"},"
                                "\"grafana\":{\"datasourceLabels\":{\"grafana\":\"two\"},"
                                "\"dashboardLabels\":{\"dash\":\"two\"}}}");
    char why[512];
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(!ctl_claim_conflict("t2/b", b, "t1/a", a, why, sizeof(why)));
    ASSERT_TRUE(!ctl_claim_conflict("t1/a", a, "t2/b", b, why, sizeof(why)));
    ctl_claim_free(a);
    ctl_claim_free(b);
}

TEST(claims_cross_signal_uid_and_many_distinct_stacks)
{
    char why[512];
    struct ctl_claim *c[40];
    /* a metrics uid equal to another stack's traces uid collides too */
    struct ctl_claim *a = claim("t1", "a", "{\"metrics\":{\"url\":\"http://m\",\"uid\":\"x\"}}");
    struct ctl_claim *b = claim("t1", "b", "{\"traces\":{\"url\":\"http://t\",\"uid\":\"x\"}}");
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(ctl_claim_conflict("t1/b", b, "t1/a", a, why, sizeof(why)));
    ASSERT_TRUE(ctl_claim_conflict("t1/a", a, "t1/b", b, why, sizeof(why)));
    ctl_claim_free(a);
    ctl_claim_free(b);
    /* stacks of one Grafana with their own (name-derived) uids never clash */
    for (int i = 0; i < 40; i++) {
        char name[16];
        snprintf(name, sizeof(name), "s%d", i);
        c[i] = claim("t1", name, "{\"metrics\":{\"url\":\"http://m\"},\"traces\":{\"url\":\"http://t\"}}");
        ASSERT_TRUE(c[i] != NULL);
    }
    for (int i = 0; i < 40; i++)
        for (int j = 0; j < 40; j++)
            if (i != j)
                ASSERT_TRUE(!ctl_claim_conflict("t1/x", c[i], "t1/y", c[j], why, sizeof(why)));
    for (int i = 0; i < 40; i++)
        ctl_claim_free(c[i]);
}

TEST(claims_name_and_default_and_dashboard)
{
    char why[512];
    struct ctl_claim *a = claim("t1", "a", "{\"metrics\":{\"url\":\"http://m\",\"name\":\"Shared\",\"uid\":\"u1\"},"
                                           "\"dashboards\":{\"serviceOverview\":false}}");
    struct ctl_claim *b = claim("t1", "b", "{\"metrics\":{\"url\":\"http://m\",\"name\":\"Shared\",\"uid\":\"u2\"},"
                                           "\"dashboards\":{\"serviceOverview\":false}}");
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(ctl_claim_conflict("t1/b", b, "t1/a", a, why, sizeof(why)));
    ASSERT_CONTAINS(why, "name \"Shared\"");
    ctl_claim_free(a);
    ctl_claim_free(b);

    a = claim("t1", "a", "{\"metrics\":{\"url\":\"http://m\",\"default\":true},\"dashboards\":{\"serviceOverview\":false}}");
    b = claim("t1", "b", "{\"metrics\":{\"url\":\"http://m\",\"default\":true},\"dashboards\":{\"serviceOverview\":false}}");
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(ctl_claim_conflict("t1/b", b, "t1/a", a, why, sizeof(why)));
    ASSERT_CONTAINS(why, "default data source");
    ctl_claim_free(a);
    ctl_claim_free(b);

    a = claim("t1", "a", "{\"metrics\":{\"url\":\"http://m\"},\"dashboards\":{\"uid\":\"dash\"}}");
    b = claim("t1", "b", "{\"traces\":{\"url\":\"http://t\"},\"dashboards\":{\"uid\":\"dash\"}}");
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(ctl_claim_conflict("t1/b", b, "t1/a", a, why, sizeof(why)));
    ASSERT_CONTAINS(why, "dashboard uid \"dash\"");
    ctl_claim_free(a);
    ctl_claim_free(b);

    /* distinct everything: no conflict */
    a = claim("t1", "a", "{\"metrics\":{\"url\":\"http://m\"}}");
    b = claim("t1", "b", "{\"metrics\":{\"url\":\"http://m\"}}");
    ASSERT_TRUE(!ctl_claim_conflict("t1/b", b, "t1/a", a, why, sizeof(why)));
    ctl_claim_free(a);
    ctl_claim_free(b);
}

/* Issue 12 point 2: the default claimed twice names the field and the other
 * stack and is told apart (CTL_CLAIM_DEFAULT); claims are keyed by
 * (datasource labels, spec.grafana.orgId). Mutant tried: dropping the
 * org_id comparison in ctl_claim_conflict (and from claim_tok) turns the
 * "other org" asserts red. */
TEST(claims_default_twice_is_keyed_by_org_and_names_field_and_stack)
{
    char why[512];
    struct ctl_claim *a = claim("t1", "a", "{\"metrics\":{\"url\":\"http://m\",\"default\":true},"
                                           "\"dashboards\":{\"serviceOverview\":false}}");
    struct ctl_claim *b = claim("t1", "b", "{\"logs\":{\"url\":\"http://l\",\"default\":true},"
                                           "\"dashboards\":{\"serviceOverview\":false}}");
    struct ctl_claim *c = claim("t1", "c", "{\"logs\":{\"url\":\"http://l\",\"default\":true},"
                                           "\"grafana\":{\"orgId\":2},\"dashboards\":{\"serviceOverview\":false}}");
    struct ctl_claim *d = claim("t1", "d", "{\"metrics\":{\"url\":\"http://m\",\"uid\":\"same\"},"
                                           "\"grafana\":{\"orgId\":2}}");
    struct ctl_claim *e = claim("t1", "e", "{\"metrics\":{\"url\":\"http://m\",\"uid\":\"same\"}}");
    ASSERT_TRUE(a && b && c && d && e);
    ASSERT_EQ(ctl_claim_conflict("t1/b", b, "t1/a", a, why, sizeof(why)), CTL_CLAIM_DEFAULT);
    ASSERT_CONTAINS(why, "spec.logs.default");
    ASSERT_CONTAINS(why, "t1/a");
    ASSERT_CONTAINS(why, "(spec.metrics.default)");
    ASSERT_CONTAINS(why, "orgId 1");
    /* another org of the same Grafana: its own default, its own UIDs */
    ASSERT_EQ(ctl_claim_conflict("t1/c", c, "t1/a", a, why, sizeof(why)), 0);
    ASSERT_EQ(ctl_claim_conflict("t1/e", e, "t1/d", d, why, sizeof(why)), 0);
    /* same org: the uid collides, named by field */
    ctl_claim_free(e);
    e = claim("t1", "e", "{\"metrics\":{\"url\":\"http://m\",\"uid\":\"same\"},\"grafana\":{\"orgId\":2}}");
    ASSERT_TRUE(e != NULL);
    ASSERT_EQ(ctl_claim_conflict("t1/e", e, "t1/d", d, why, sizeof(why)), CTL_CLAIM_UID);
    ASSERT_CONTAINS(why, "spec.metrics.uid");
    ASSERT_CONTAINS(why, "orgId 2");
    ctl_claim_free(a);
    ctl_claim_free(b);
    ctl_claim_free(c);
    ctl_claim_free(d);
    ctl_claim_free(e);
}

TEST(claims_invalid_stack_claims_nothing)
{
    ASSERT_TRUE(claim("t1", "bad", "{\"metrics\":{\"url\":\"ftp://nope\"}}") == NULL);
}

/* ---- the inverted index (claims_index.c) ---------------------------------- */

struct visits {
    int n;
    char keys[8][64];
};

static int visit(const char *key, void *claim, void *payload)
{
    struct visits *v = payload;
    (void)claim;
    if (v->n < 8)
        snprintf(v->keys[v->n], sizeof(v->keys[0]), "%s", key);
    v->n++;
    return 0;
}

/* The keys the index walk from key's claims meets, sorted, ","-joined. */
static const char *met(struct ctl_manager *m, const char *key, char *out, size_t n)
{
    struct visits v = {0};
    const struct ctl_claim *c = op_map_get(m->claims, key);
    out[0] = '\0';
    if (!c)
        return "(no claims)";
    (void)ctl_claims_foreach_sharing(m, c, visit, &v);
    for (int i = 0; i < v.n && i < 8; i++)
        for (int j = i + 1; j < v.n && j < 8; j++)
            if (strcmp(v.keys[j], v.keys[i]) < 0) {
                char t[64];
                memcpy(t, v.keys[i], sizeof(t));
                memcpy(v.keys[i], v.keys[j], sizeof(t));
                memcpy(v.keys[j], t, sizeof(t));
            }
    for (int i = 0; i < v.n; i++) {
        size_t l = strlen(out);
        snprintf(out + l, n - l, "%s%s", i ? "," : "", i < 8 ? v.keys[i] : "...");
    }
    return out;
}

/* Distinct tokens of c: the index entries it owns alone when nothing else
 * shares them. */
static size_t distinct_toks(const struct ctl_claim *c)
{
    size_t n = 0;
    for (unsigned i = 0; i < c->ntoks; i++)
        n += i == 0 || c->toks[i] != c->toks[i - 1];
    return n;
}

static int put(struct ctl_manager *m, const char *ns, const char *name, const char *spec_json)
{
    char key[128];
    struct ctl_claim *c = claim(ns, name, spec_json);
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    if (!c)
        return -1;
    if (ctl_claims_put(m, key, c) < 0) {
        ctl_claim_free(c);
        return -1;
    }
    return 0;
}

#define TWO_SIGNALS "{\"metrics\":{\"url\":\"http://m\"},\"traces\":{\"url\":\"http://t\"}}"

TEST(claims_index_finds_the_stack_sharing_a_uid_and_name_once)
{
    struct ctl_manager m;
    char buf[512], spec[512], why[512];
    const struct ctl_claim *s137;
    memset(&m, 0, sizeof(m));
    ASSERT_OK(ctl_claims_init(&m));
    for (int i = 0; i < 300; i++) {
        char name[16];
        snprintf(name, sizeof(name), "s%d", i);
        ASSERT_OK(put(&m, "t1", name, TWO_SIGNALS));
    }
    ASSERT_TRUE((s137 = op_map_get(m.claims, "t1/s137")) != NULL);
    /* dup: the metrics uid AND name of s137 (two shared tokens) */
    snprintf(spec, sizeof(spec), "{\"metrics\":{\"url\":\"http://x\",\"uid\":\"%s\",\"name\":\"%s\"}}",
             s137->uids[0], s137->names[0]);
    ASSERT_OK(put(&m, "t2", "dup", spec));
    ASSERT_STR_EQ(met(&m, "t2/dup", buf, sizeof(buf)), "t1/s137");
    ASSERT_STR_EQ(met(&m, "t1/s137", buf, sizeof(buf)), "t2/dup");
    ASSERT_STR_EQ(met(&m, "t1/s5", buf, sizeof(buf)), "");
    ASSERT_EQ(ctl_claim_conflict("t2/dup", op_map_get(m.claims, "t2/dup"), "t1/s137", s137, why, sizeof(why)),
              CTL_CLAIM_UID);
    ASSERT_CONTAINS(why, "t1/s137");
    ctl_claims_fini(&m);
}

TEST(claims_index_many_distinct_stacks_meet_nothing)
{
    struct ctl_manager m;
    size_t toks = 0;
    int met_any = 0;
    memset(&m, 0, sizeof(m));
    ASSERT_OK(ctl_claims_init(&m));
    for (int i = 0; i < 2000; i++) {
        char name[16];
        snprintf(name, sizeof(name), "s%d", i);
        ASSERT_OK(put(&m, i % 2 ? "t1" : "t2", name, TWO_SIGNALS));
    }
    for (int i = 0; i < 2000; i++) {
        char key[32];
        struct visits v = {0};
        const struct ctl_claim *c;
        snprintf(key, sizeof(key), "%s/s%d", i % 2 ? "t1" : "t2", i);
        ASSERT_TRUE((c = op_map_get(m.claims, key)) != NULL);
        toks += distinct_toks(c);
        (void)ctl_claims_foreach_sharing(&m, c, visit, &v);
        met_any += v.n;
    }
    ASSERT_EQ(met_any, 0);
    ASSERT_EQ(op_map_len(m.claim_toks), toks); /* one entry per token, none shared */
    ctl_claims_fini(&m);
}

/* a, b, c share the default's token (one chain of three), each with its
 * own uids; taking the middle, then the head, and editing b away from the
 * default leave no trace of them in any chain. */
TEST(claims_index_removed_or_edited_stack_is_met_no_more)
{
    struct ctl_manager m;
    char buf[512];
    struct ctl_claim *t;
    const char *def = "{\"metrics\":{\"url\":\"http://m\",\"default\":true}}";
    memset(&m, 0, sizeof(m));
    ASSERT_OK(ctl_claims_init(&m));
    ASSERT_OK(put(&m, "t1", "a", def));
    ASSERT_OK(put(&m, "t1", "b", def));
    ASSERT_OK(put(&m, "t1", "c", def));
    ASSERT_STR_EQ(met(&m, "t1/b", buf, sizeof(buf)), "t1/a,t1/c");
    ASSERT_STR_EQ(met(&m, "t1/a", buf, sizeof(buf)), "t1/b,t1/c");
    /* b is in the middle of the chain (c was put last) */
    ASSERT_TRUE((t = ctl_claims_take(&m, "t1/b")) != NULL);
    ctl_claim_free(t);
    ASSERT_TRUE(ctl_claims_take(&m, "t1/b") == NULL);
    ASSERT_STR_EQ(met(&m, "t1/a", buf, sizeof(buf)), "t1/c");
    ASSERT_STR_EQ(met(&m, "t1/c", buf, sizeof(buf)), "t1/a");
    /* c heads the chain */
    ctl_claim_free(ctl_claims_take(&m, "t1/c"));
    ASSERT_STR_EQ(met(&m, "t1/a", buf, sizeof(buf)), "");
    ASSERT_OK(put(&m, "t1", "b", def));
    ASSERT_STR_EQ(met(&m, "t1/a", buf, sizeof(buf)), "t1/b");
    /* edited: b no longer claims the default (put replaces its claims) */
    ASSERT_OK(put(&m, "t1", "b", "{\"metrics\":{\"url\":\"http://m\"}}"));
    ASSERT_STR_EQ(met(&m, "t1/a", buf, sizeof(buf)), "");
    ASSERT_STR_EQ(met(&m, "t1/b", buf, sizeof(buf)), "");
    ASSERT_EQ(op_map_len(m.claims), 2);
    ASSERT_EQ(op_map_len(m.claim_toks), distinct_toks(op_map_get(m.claims, "t1/a")) +
                                             distinct_toks(op_map_get(m.claims, "t1/b")));
    ctl_claim_free(ctl_claims_take(&m, "t1/a"));
    ctl_claim_free(ctl_claims_take(&m, "t1/b"));
    ASSERT_EQ(op_map_len(m.claim_toks), 0);
    ctl_claims_fini(&m);
}

/* Two different uids whose tokens collide (32-bit FNV-1a of kind 'u', orgId
 * 1, "grafana_datasource=1", uid; found by a birthday search): the index
 * walk meets the other stack, ctl_claim_conflict sees no conflict. */
#define COLLIDING_UID_A "uid-3w10tmdbb5"
#define COLLIDING_UID_B "uid-ciqdteregy"

TEST(claims_index_token_collision_is_settled_by_the_exact_check)
{
    struct ctl_manager m;
    char buf[512], why[512] = "";
    memset(&m, 0, sizeof(m));
    ASSERT_OK(ctl_claims_init(&m));
    ASSERT_OK(put(&m, "t1", "a", "{\"metrics\":{\"url\":\"http://m\",\"uid\":\"" COLLIDING_UID_A "\"}}"));
    ASSERT_OK(put(&m, "t1", "b", "{\"metrics\":{\"url\":\"http://m\",\"uid\":\"" COLLIDING_UID_B "\"}}"));
    /* the precondition: if this fails, claim_tok changed — find a new pair */
    ASSERT_STR_EQ(met(&m, "t1/b", buf, sizeof(buf)), "t1/a");
    ASSERT_EQ(ctl_claim_conflict("t1/b", op_map_get(m.claims, "t1/b"), "t1/a", op_map_get(m.claims, "t1/a"),
                                 why, sizeof(why)),
              0);
    ASSERT_EQ(ctl_claim_conflict("t1/a", op_map_get(m.claims, "t1/a"), "t1/b", op_map_get(m.claims, "t1/b"),
                                 why, sizeof(why)),
              0);
    ASSERT_STR_EQ(why, "");
    ctl_claims_fini(&m);
}

TEST_MAIN()
