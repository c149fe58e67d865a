/* test_probe_targets.c — controller/stack/probe_targets.c: a decoded stack becomes
 * one probe target per configured signal with tenant, timeout and resolved
 * credentials; unresolvable references pre-fail with SecretNotFound (naming
 * the reference, never a value); the offline environment lookup. No network:
 * every target that would be probed is either pre-failed or inspected only. */
#include "probe_targets.h"
#include "test.h"

#include <stdlib.h>

struct fake {
    int calls;
};

static int fake_lookup(void *ud, int is_configmap, const char *ns, const char *name, const char *key,
                       char **out)
{
    struct fake *f = ud;
    f->calls++;
    if (strcmp(ns, "team-a") != 0)
        return op_err_set(OP_ENOTFOUND, "wrong namespace");
    if (!is_configmap && strcmp(name, "mimir-auth") == 0 && strcmp(key, "password") == 0) {
        *out = op_strdup("Pa$$w0rd-Value");
        return 0;
    }
    if (!is_configmap && strcmp(name, "tempo-token") == 0 && strcmp(key, "token") == 0) {
        *out = op_strdup("Token-Value-123");
        return 0;
    }
    if (is_configmap && strcmp(name, "internal-ca") == 0 && strcmp(key, "ca.crt") == 0) {
        *out = op_strdup("-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n");
        return 0;
    }
    if (!is_configmap && strcmp(name, "forbidden") == 0)
        return op_err_set(OP_EFORBIDDEN, "(API: 403 Forbidden)");
    return op_err_set(OP_ENOTFOUND, "(no such Secret)");
}

static void base_stack(struct spec_stack *s)
{
    memset(s, 0, sizeof *s);
    s->meta.name = (char *)"prod";
    s->meta.namespace = (char *)"team-a";
    s->verify.interval_ms = 60000;
    s->verify.timeout_ms = 2500;
    s->backends[SPEC_SIGNAL_METRICS].configured = 1;
    s->backends[SPEC_SIGNAL_METRICS].url = (char *)"http://mimir/prometheus";
    s->backends[SPEC_SIGNAL_METRICS].tenant = (char *)"team-a";
    s->backends[SPEC_SIGNAL_METRICS].auth.basic_username = (char *)"grafana";
    s->backends[SPEC_SIGNAL_METRICS].auth.basic_password.name = (char *)"mimir-auth";
    s->backends[SPEC_SIGNAL_METRICS].auth.basic_password.key = (char *)"password";
    s->backends[SPEC_SIGNAL_TRACES].configured = 1;
    s->backends[SPEC_SIGNAL_TRACES].url = (char *)"http://tempo:3200";
    s->backends[SPEC_SIGNAL_TRACES].auth.bearer_token.name = (char *)"tempo-token";
    s->backends[SPEC_SIGNAL_TRACES].auth.bearer_token.key = (char *)"token";
    s->backends[SPEC_SIGNAL_PROFILES].configured = 1;
    s->backends[SPEC_SIGNAL_PROFILES].url = (char *)"https://u:urlpass@pyro:4040";
    s->backends[SPEC_SIGNAL_PROFILES].tls.ca_configmap.name = (char *)"internal-ca";
    s->backends[SPEC_SIGNAL_PROFILES].tls.ca_configmap.key = (char *)"ca.crt";
    s->backends[SPEC_SIGNAL_PROFILES].tls.server_name = (char *)"pyro.internal";
    s->backends[SPEC_SIGNAL_PROFILES].tls.insecure_skip_verify = 1;
}

TEST(builds_one_target_per_configured_signal)
{
    struct spec_stack s;
    struct ctl_probe_set ps;
    struct fake f = {0};

    base_stack(&s);
    ASSERT_OK(ctl_probe_set_build(&ps, &s, fake_lookup, &f));
    ASSERT_EQ(ps.n, 3);
    ASSERT_EQ(f.calls, 3);
    ASSERT_EQ(ps.targets[0].signal, PROBE_METRICS);
    ASSERT_EQ(ps.targets[1].signal, PROBE_TRACES);
    ASSERT_EQ(ps.targets[2].signal, PROBE_PROFILES);
    ASSERT_STR_EQ(ps.targets[0].url, "http://mimir/prometheus");
    ASSERT_STR_EQ(ps.targets[0].tenant, "team-a");
    ASSERT_STR_EQ(ps.targets[0].basic_user, "grafana");
    ASSERT_STR_EQ(ps.targets[0].basic_password, "Pa$$w0rd-Value");
    ASSERT_EQ(ps.targets[0].timeout_ms, 2500);
    ASSERT_EQ(ps.targets[0].max_age_ms, 60000);
    ASSERT_EQ(ps.dollar_in_secret[0], 1);
    ASSERT_STR_EQ(ps.targets[1].bearer_token, "Token-Value-123");
    ASSERT_EQ(ps.dollar_in_secret[1], 0);
    ASSERT_CONTAINS(ps.targets[2].ca_pem, "BEGIN CERTIFICATE");
    ASSERT_STR_EQ(ps.targets[2].server_name, "pyro.internal");
    ASSERT_EQ(ps.targets[2].insecure_skip_verify, 1);
    ASSERT_EQ(ps.insecure[2], 1);
    ASSERT_EQ(ps.prefailed[0] + ps.prefailed[1] + ps.prefailed[2], 0);
    ctl_probe_set_cleanup(&ps);
    ASSERT_EQ(ps.n, 0);
}

TEST(missing_references_prefail_with_secret_not_found)
{
    struct spec_stack s;
    struct ctl_probe_set ps;
    struct probe_result r[SPEC_SIGNAL_COUNT];
    struct fake f = {0};

    base_stack(&s);
    s.backends[SPEC_SIGNAL_METRICS].auth.basic_password.name = (char *)"gone";
    s.backends[SPEC_SIGNAL_TRACES].auth.bearer_token.name = (char *)"forbidden";
    s.backends[SPEC_SIGNAL_PROFILES].tls.ca_configmap.key = (char *)"other.crt";
    ASSERT_OK(ctl_probe_set_build(&ps, &s, fake_lookup, &f));
    ASSERT_EQ(ps.n, 3);
    ASSERT_EQ(ps.prefailed[0] + ps.prefailed[1] + ps.prefailed[2], 3);
    /* all pre-failed: no engine needed, no request made */
    ASSERT_EQ(ctl_probe_set_run(&ps, NULL, r), 0);
    ASSERT_STR_EQ(r[0].reason, "SecretNotFound");
    ASSERT_CONTAINS(r[0].message, "http://mimir/prometheus: Secret team-a/gone key password");
    ASSERT_CONTAINS(r[0].message, "not found");
    ASSERT_STR_EQ(r[1].reason, "SecretNotFound");
    ASSERT_CONTAINS(r[1].message, "could not be read");
    ASSERT_CONTAINS(r[1].message, "403");
    ASSERT_STR_EQ(r[2].reason, "SecretNotFound");
    ASSERT_CONTAINS(r[2].message, "ConfigMap team-a/internal-ca key other.crt");
    ASSERT_NOT_CONTAINS(r[2].message, "urlpass");
    ASSERT_EQ(r[0].ok + r[1].ok + r[2].ok, 0);
    ctl_probe_set_cleanup(&ps);

    /* no lookup at all */
    base_stack(&s);
    ASSERT_OK(ctl_probe_set_build(&ps, &s, NULL, NULL));
    ASSERT_EQ(ps.prefailed[0], 1);
    ASSERT_STR_EQ(ps.pre[0].reason, "SecretNotFound");
    ctl_probe_set_cleanup(&ps);
}

TEST(unconfigured_stack_has_no_targets_and_interval_zero_uses_engine_ttl)
{
    struct spec_stack s;
    struct ctl_probe_set ps;
    memset(&s, 0, sizeof s);
    s.meta.name = (char *)"empty";
    ASSERT_OK(ctl_probe_set_build(&ps, &s, fake_lookup, NULL));
    ASSERT_EQ(ps.n, 0);
    ctl_probe_set_cleanup(&ps);

    s.backends[SPEC_SIGNAL_LOGS].configured = 1;
    s.backends[SPEC_SIGNAL_LOGS].url = (char *)"http://loki:3100";
    s.verify.interval_ms = 0;
    ASSERT_OK(ctl_probe_set_build(&ps, &s, fake_lookup, NULL));
    ASSERT_EQ(ps.n, 1);
    ASSERT_EQ(ps.targets[0].max_age_ms, 0);
    ASSERT_EQ(ps.targets[0].timeout_ms, PROBE_DEFAULT_TIMEOUT_MS);
    ASSERT_TRUE(ps.targets[0].tenant == NULL);
    ctl_probe_set_cleanup(&ps);
}

TEST(env_lookup)
{
    char name[128], *v = NULL;
    ctl_ref_env_name(0, "mimir-auth", "pass.word", name, sizeof name);
    ASSERT_STR_EQ(name, "CROSSLINK_SECRET_MIMIR_AUTH_PASS_WORD");
    ctl_ref_env_name(1, "internal-ca", "ca.crt", name, sizeof name);
    ASSERT_STR_EQ(name, "CROSSLINK_CONFIGMAP_INTERNAL_CA_CA_CRT");
    setenv("CROSSLINK_SECRET_XL_UNIT_K", "v4lue", 1);
    ASSERT_OK(ctl_ref_lookup_env(NULL, 0, "ns", "xl-unit", "k", &v));
    ASSERT_STR_EQ(v, "v4lue");
    free(v);
    unsetenv("CROSSLINK_SECRET_XL_UNIT_K");
    ASSERT_EQ(ctl_ref_lookup_env(NULL, 0, "ns", "xl-unit", "k", &v), OP_ENOTFOUND);
    ASSERT_CONTAINS(op_err_last(), "CROSSLINK_SECRET_XL_UNIT_K");
    ASSERT_CONTAINS(op_err_last(), "--secrets-from-cluster");
}

TEST_MAIN()
