/* test_ctl_options.c — unit tests for controller/cli/options.c: defaults, env vars,
 * flag precedence, bool flags, address and duration validation, identity. */
#include "options.h"
#include "runtime.h"
#include "test.h"

#include <stdlib.h>

#define ARGV(...) ((char *[]){"controller", __VA_ARGS__, NULL})

TEST(options_defaults)
{
    struct ctl_options o;
    char *argv[] = {"controller", NULL};
    char *env[] = {"POD_NAME=crosslink-7d9f-abc", NULL};
    char *err = NULL;
    ASSERT_OK(ctl_options_parse(&o, 1, argv, env, &err));
    ASSERT_TRUE(o.kubeconfig == NULL);
    ASSERT_TRUE(o.context == NULL);
    ASSERT_EQ(o.n_namespaces, 0);
    ASSERT_EQ(o.workers, 0); /* auto */
    ASSERT_EQ(o.verify_interval_ms, 60000);
    ASSERT_STR_EQ(o.metrics_addr, ":8080");
    ASSERT_STR_EQ(o.health_addr, ":8081");
    ASSERT_EQ(o.leader_elect, 0);
    ASSERT_TRUE(o.lease_namespace == NULL);
    ASSERT_STR_EQ(o.lease_name, "crosslink-controller");
    ASSERT_EQ(o.log_level, OP_LOG_INFO);
    ASSERT_STR_EQ(o.identity, "crosslink-7d9f-abc");
    ASSERT_EQ(o.help, 0);
    ctl_options_cleanup(&o);
}

TEST(options_flags)
{
    struct ctl_options o;
    char **argv = ARGV("--kubeconfig", "/tmp/kc", "--context=dev", "--namespaces", "a, b,,c",
                       "--workers=8", "--verify-interval", "1m30s", "--metrics-addr", "127.0.0.1:0",
                       "--health-addr=0", "--leader-elect", "--lease-namespace", "ops",
                       "--lease-name", "lead", "--log-level=debug");
    char *err = NULL;
    ASSERT_OK(ctl_options_parse(&o, 18, argv, NULL, &err));
    ASSERT_STR_EQ(o.kubeconfig, "/tmp/kc");
    ASSERT_STR_EQ(o.context, "dev");
    ASSERT_EQ(o.n_namespaces, 3);
    ASSERT_STR_EQ(o.namespaces[0], "a");
    ASSERT_STR_EQ(o.namespaces[1], "b");
    ASSERT_STR_EQ(o.namespaces[2], "c");
    ASSERT_TRUE(o.namespaces[3] == NULL);
    ASSERT_EQ(o.workers, 8);
    ASSERT_EQ(o.verify_interval_ms, 90000);
    ASSERT_STR_EQ(o.metrics_addr, "127.0.0.1:0");
    ASSERT_TRUE(o.health_addr == NULL);
    ASSERT_EQ(o.leader_elect, 1);
    ASSERT_STR_EQ(o.lease_namespace, "ops");
    ASSERT_STR_EQ(o.lease_name, "lead");
    ASSERT_EQ(o.log_level, OP_LOG_DEBUG);
    /* no POD_NAME: hostname_hex */
    ASSERT_CONTAINS(o.identity, "_");
    ASSERT_TRUE(strlen(strrchr(o.identity, '_') + 1) == 12);
    ctl_options_cleanup(&o);
}

TEST(options_env_and_flag_precedence)
{
    struct ctl_options o;
    char *env[] = {"CROSSLINK_WORKERS=2",        "CROSSLINK_LEADER_ELECT=true",
                   "CROSSLINK_NAMESPACES=x,y",   "CROSSLINK_LOG_LEVEL=warn",
                   "CROSSLINK_VERIFY_INTERVAL=0", "POD_NAMESPACE=crosslink-system",
                   "CROSSLINK_METRICS_ADDR=0",    NULL};
    char **argv = ARGV("--workers", "3", "--leader-elect=false");
    char *err = NULL;
    ASSERT_OK(ctl_options_parse(&o, 4, argv, env, &err));
    ASSERT_EQ(o.workers, 3);          /* flag wins */
    ASSERT_EQ(o.leader_elect, 0);     /* flag wins */
    ASSERT_EQ(o.n_namespaces, 2);     /* env */
    ASSERT_EQ(o.log_level, OP_LOG_WARN);
    ASSERT_EQ(o.verify_interval_ms, 0);
    ASSERT_TRUE(o.metrics_addr == NULL);
    ASSERT_STR_EQ(o.lease_namespace, "crosslink-system"); /* $POD_NAMESPACE */
    ctl_options_cleanup(&o);

    /* an explicit lease namespace beats $POD_NAMESPACE */
    char **argv2 = ARGV("--lease-namespace=mine");
    ASSERT_OK(ctl_options_parse(&o, 2, argv2, env, &err));
    ASSERT_STR_EQ(o.lease_namespace, "mine");
    ctl_options_cleanup(&o);
}

static int parse_fails(char **argv, int argc, char *const *env, const char *want)
{
    struct ctl_options o;
    char *err = NULL;
    int rc = ctl_options_parse(&o, argc, argv, env, &err);
    int ok = rc == OP_EINVALID && err && strstr(err, want);
    if (!ok)
        fprintf(stderr, "    rc=%d err=%s want=%s\n", rc, err ? err : "(null)", want);
    free(err);
    if (rc == 0)
        ctl_options_cleanup(&o);
    return ok;
}

TEST(options_errors)
{
    ASSERT_TRUE(parse_fails(ARGV("--workers", "-1"), 3, NULL, "invalid worker count"));
    ASSERT_TRUE(parse_fails(ARGV("--workers=abc"), 2, NULL, "invalid worker count"));
    ASSERT_TRUE(parse_fails(ARGV("--verify-interval=5x"), 2, NULL, "invalid duration"));
    ASSERT_TRUE(parse_fails(ARGV("--verify-interval=-5s"), 2, NULL, "invalid duration"));
    ASSERT_TRUE(parse_fails(ARGV("--metrics-addr=8080"), 2, NULL, "invalid address"));
    ASSERT_TRUE(parse_fails(ARGV("--health-addr=:99999"), 2, NULL, "invalid address"));
    ASSERT_TRUE(parse_fails(ARGV("--leader-elect=maybe"), 2, NULL, "invalid boolean"));
    ASSERT_TRUE(parse_fails(ARGV("--log-level=trace"), 2, NULL, "invalid log level"));
    ASSERT_TRUE(parse_fails(ARGV("--bogus"), 2, NULL, "unknown flag \"--bogus\""));
    ASSERT_TRUE(parse_fails(ARGV("stray"), 2, NULL, "unexpected argument"));
    ASSERT_TRUE(parse_fails(ARGV("--workers"), 2, NULL, "needs a value"));
    char *env[] = {"CROSSLINK_WORKERS=-1", NULL};
    char *argv[] = {"controller", NULL};
    ASSERT_TRUE(parse_fails(argv, 1, env, "CROSSLINK_WORKERS: invalid worker count"));
}

TEST(options_help_and_addr_parse)
{
    struct ctl_options o;
    char *err = NULL;
    char host[64];
    int port = -1;
    ASSERT_OK(ctl_options_parse(&o, 2, ARGV("--help"), NULL, &err));
    ASSERT_EQ(o.help, 1);
    ctl_options_cleanup(&o);

    ASSERT_OK(rt_addr_parse(":8080", host, sizeof(host), &port));
    ASSERT_STR_EQ(host, "");
    ASSERT_EQ(port, 8080);
    ASSERT_OK(rt_addr_parse("127.0.0.1:0", host, sizeof(host), &port));
    ASSERT_STR_EQ(host, "127.0.0.1");
    ASSERT_EQ(port, 0);
    ASSERT_OK(rt_addr_parse("[::1]:9", host, sizeof(host), &port));
    ASSERT_STR_EQ(host, "::1");
    ASSERT_EQ(port, 9);
    ASSERT_EQ(rt_addr_parse("::1:9", host, sizeof(host), &port), OP_EINVALID);
    ASSERT_EQ(rt_addr_parse("host:", host, sizeof(host), &port), OP_EINVALID);
    ASSERT_EQ(rt_addr_parse("", host, sizeof(host), &port), OP_EINVALID);
}

TEST(default_workers_follow_cpus)
{
    ASSERT_EQ(ctl_default_workers(0), 8);
    ASSERT_EQ(ctl_default_workers(1), 8);
    ASSERT_EQ(ctl_default_workers(2), 8);
    ASSERT_EQ(ctl_default_workers(3), 12);
    ASSERT_EQ(ctl_default_workers(4), 16);
    ASSERT_EQ(ctl_default_workers(7), 28);
    ASSERT_EQ(ctl_default_workers(8), 32);
    ASSERT_EQ(ctl_default_workers(64), 32);
}

TEST_MAIN()
