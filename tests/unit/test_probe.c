/* test_probe.c — unit tests of pkg/probe's pure parts: names, URL redaction,
 * reason mapping, cache keys (no secret in plain text, every field counts),
 * probe_result_set, and argument handling of probe_run that never touches
 * the network (invalid targets). No sockets, no sleeps. */
#include "probe.h"
#include "test.h"

#include <curl/curl.h>

TEST(condition_types_and_names)
{
    ASSERT_STR_EQ(probe_condition_type(PROBE_METRICS), "MetricsReachable");
    ASSERT_STR_EQ(probe_condition_type(PROBE_TRACES), "TracesReachable");
    ASSERT_STR_EQ(probe_condition_type(PROBE_LOGS), "LogsReachable");
    ASSERT_STR_EQ(probe_condition_type(PROBE_PROFILES), "ProfilesReachable");
    ASSERT_TRUE(probe_condition_type(4) == NULL);
    ASSERT_TRUE(probe_condition_type(-1) == NULL);
    ASSERT_STR_EQ(probe_signal_name(PROBE_PROFILES), "profiles");
    ASSERT_STR_EQ(probe_signal_name(PROBE_METRICS), "metrics");
    ASSERT_TRUE(probe_signal_name(7) == NULL);
}

TEST(url_redact_strips_userinfo)
{
    char out[128];
    probe_url_redact("https://bob:hunter2@mimir.example:8443/prometheus", out, sizeof out);
    ASSERT_STR_EQ(out, "https://mimir.example:8443/prometheus");
    probe_url_redact("http://token@h/x@y", out, sizeof out);
    ASSERT_STR_EQ(out, "http://h/x@y");
    probe_url_redact("http://h:3100", out, sizeof out);
    ASSERT_STR_EQ(out, "http://h:3100");
    probe_url_redact("http://a:b@c@h:1/p", out, sizeof out);
    ASSERT_STR_EQ(out, "http://h:1/p");
    probe_url_redact(NULL, out, sizeof out);
    ASSERT_STR_EQ(out, "");
    probe_url_redact("http://u:p@longhostname/x", out, 12);
    ASSERT_STR_EQ(out, "http://long");
}

TEST(reason_mapping_from_curl)
{
    ASSERT_TRUE(probe_reason_from_curl(CURLE_OK) == NULL);
    ASSERT_STR_EQ(probe_reason_from_curl(CURLE_COULDNT_CONNECT), "ConnectionRefused");
    ASSERT_STR_EQ(probe_reason_from_curl(CURLE_COULDNT_RESOLVE_HOST), "DNSFailure");
    ASSERT_STR_EQ(probe_reason_from_curl(CURLE_OPERATION_TIMEDOUT), "Timeout");
    ASSERT_STR_EQ(probe_reason_from_curl(CURLE_PEER_FAILED_VERIFICATION), "TLSError");
    ASSERT_STR_EQ(probe_reason_from_curl(CURLE_SSL_CONNECT_ERROR), "TLSError");
    ASSERT_STR_EQ(probe_reason_from_curl(CURLE_SSL_CACERT_BADFILE), "TLSError");
    ASSERT_STR_EQ(probe_reason_from_curl(CURLE_GOT_NOTHING), "InvalidResponse");
    ASSERT_STR_EQ(probe_reason_from_curl(CURLE_RECV_ERROR), "InvalidResponse");
}

TEST(reason_mapping_from_http)
{
    ASSERT_TRUE(probe_reason_from_http(200) == NULL);
    ASSERT_TRUE(probe_reason_from_http(204) == NULL);
    ASSERT_STR_EQ(probe_reason_from_http(401), "Unauthorized");
    ASSERT_STR_EQ(probe_reason_from_http(403), "Unauthorized");
    ASSERT_STR_EQ(probe_reason_from_http(404), "UnexpectedStatus");
    ASSERT_STR_EQ(probe_reason_from_http(500), "UnexpectedStatus");
    ASSERT_STR_EQ(probe_reason_from_http(302), "UnexpectedStatus");
}

TEST(cache_key_depends_on_every_field_and_hides_secrets)
{
    struct probe_target a = {.signal = PROBE_LOGS, .url = "http://loki:3100", .tenant = "team-a",
                             .basic_user = "grafana", .basic_password = "pa55-w0rd-secret"};
    struct probe_target b;
    char ka[65], kb[65];

    probe_target_key(&a, ka);
    ASSERT_EQ(strlen(ka), 64);
    ASSERT_NOT_CONTAINS(ka, "pa55");
    b = a;
    probe_target_key(&b, kb);
    ASSERT_STR_EQ(ka, kb);
    b.basic_password = "other-password";
    probe_target_key(&b, kb);
    ASSERT_TRUE(strcmp(ka, kb) != 0);
    b = a;
    b.tenant = "team-b";
    probe_target_key(&b, kb);
    ASSERT_TRUE(strcmp(ka, kb) != 0);
    b = a;
    b.signal = PROBE_TRACES;
    probe_target_key(&b, kb);
    ASSERT_TRUE(strcmp(ka, kb) != 0);
    b = a;
    b.insecure_skip_verify = 1;
    probe_target_key(&b, kb);
    ASSERT_TRUE(strcmp(ka, kb) != 0);
    b = a;
    b.ca_pem = "-----BEGIN CERTIFICATE-----\n";
    probe_target_key(&b, kb);
    ASSERT_TRUE(strcmp(ka, kb) != 0);
    b = a;
    b.server_name = "loki.internal";
    probe_target_key(&b, kb);
    ASSERT_TRUE(strcmp(ka, kb) != 0);
    b = a;
    b.bearer_token = "tok";
    probe_target_key(&b, kb);
    ASSERT_TRUE(strcmp(ka, kb) != 0);
    b = a;
    b.flavor = "Mimir";
    probe_target_key(&b, kb);
    ASSERT_TRUE(strcmp(ka, kb) != 0);
    /* no separator ambiguity: user "ab"+pass "c" != user "a"+pass "bc" */
    b = a;
    b.basic_user = "ab";
    b.basic_password = "c";
    probe_target_key(&b, ka);
    b.basic_user = "a";
    b.basic_password = "bc";
    probe_target_key(&b, kb);
    ASSERT_TRUE(strcmp(ka, kb) != 0);
    /* timeout and max_age are not part of the identity */
    b = a;
    b.timeout_ms = 1234;
    b.max_age_ms = 99;
    probe_target_key(&a, ka);
    probe_target_key(&b, kb);
    ASSERT_STR_EQ(ka, kb);
}

TEST(result_set_formats_and_clears)
{
    struct probe_result r;
    memset(&r, 0x5a, sizeof r);
    probe_result_set(&r, 0, PROBE_REASON_SECRET, "secret %s/%s not found", "ns", "mimir-auth");
    ASSERT_EQ(r.ok, 0);
    ASSERT_STR_EQ(r.reason, "SecretNotFound");
    ASSERT_STR_EQ(r.message, "secret ns/mimir-auth not found");
    ASSERT_STR_EQ(r.version, "");
    ASSERT_EQ(r.http_status, 0);
    ASSERT_EQ(r.latency_ms, 0);
    ASSERT_EQ(r.cached, 0);
}

TEST(run_rejects_bad_targets_without_network)
{
    struct probe_engine *e = NULL;
    struct probe_target t[3] = {
        {.signal = PROBE_METRICS, .url = NULL},
        {.signal = 9, .url = "http://x"},
        {.signal = PROBE_LOGS, .url = "http://x", .tenant = "a\r\nX-Evil: 1"},
    };
    struct probe_result r[3];

    ASSERT_OK(probe_engine_new(&e, 4, 1000));
    ASSERT_EQ(probe_run(e, t, 3, r), 0);
    ASSERT_EQ(r[0].ok, 0);
    ASSERT_STR_EQ(r[0].reason, "InvalidResponse");
    ASSERT_CONTAINS(r[0].message, "no URL");
    ASSERT_CONTAINS(r[1].message, "unknown signal");
    ASSERT_CONTAINS(r[2].message, "control character");
    ASSERT_EQ(probe_run(e, t, 0, r), 0);
    ASSERT_EQ(probe_run(NULL, t, 1, r), OP_EINVALID);
    {
        uint64_t started = 99, hits = 99;
        probe_engine_stats(e, &started, &hits);
        ASSERT_EQ(started, 0);
        ASSERT_EQ(hits, 0);
    }
    probe_engine_free(e);
    probe_engine_free(NULL);
}

TEST(run_rejects_non_http_scheme)
{
    struct probe_engine *e = NULL;
    struct probe_target t = {.signal = PROBE_TRACES, .url = "ftp://user:topsecretpw@tempo/x"};
    struct probe_result r;

    ASSERT_OK(probe_engine_new(&e, 4, 0));
    ASSERT_EQ(probe_run(e, &t, 1, &r), 0);
    ASSERT_EQ(r.ok, 0);
    ASSERT_STR_EQ(r.reason, "InvalidResponse");
    ASSERT_CONTAINS(r.message, "not a valid http(s) URL");
    ASSERT_CONTAINS(r.message, "ftp://tempo/x");
    ASSERT_NOT_CONTAINS(r.message, "topsecretpw");
    ASSERT_CONTAINS(r.message, PROBE_VANTAGE);
    probe_engine_free(e);
}

TEST_MAIN()
