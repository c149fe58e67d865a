/* test_core.c — unit tests for pkg/core: buffers, durations, sha256, time, base64. */
#include "core.h"
#include "test.h"

#include <stdlib.h>

TEST(buf_bounded)
{
    struct op_buf b;
    op_buf_init(&b, 8);
    ASSERT_OK(op_buf_puts(&b, "abcd"));
    ASSERT_OK(op_buf_appendf(&b, "%d", 123));
    ASSERT_STR_EQ(b.data, "abcd123");
    ASSERT_EQ(op_buf_puts(&b, "xy"), OP_ETOOBIG);
    ASSERT_STR_EQ(b.data, "abcd123");
    op_buf_consume(&b, 2);
    ASSERT_STR_EQ(b.data, "cd123");
    char *s = op_buf_take(&b);
    ASSERT_STR_EQ(s, "cd123");
    free(s);
    op_buf_cleanup(&b);
}

TEST(json_string_escape)
{
    struct op_buf b;
    op_buf_init(&b, 1024);
    ASSERT_OK(op_buf_json_string(&b, "a\"b\\c\n\x01"));
    ASSERT_STR_EQ(b.data, "\"a\\\"b\\\\c\\n\\u0001\"");
    op_buf_cleanup(&b);
}

TEST(durations)
{
    int64_t ms;
    ASSERT_OK(op_duration_parse("15s", 0, &ms));
    ASSERT_EQ(ms, 15000);
    ASSERT_OK(op_duration_parse("1h30m", 0, &ms));
    ASSERT_EQ(ms, 5400000);
    ASSERT_OK(op_duration_parse("1.5s", 0, &ms));
    ASSERT_EQ(ms, 1500);
    ASSERT_OK(op_duration_parse("250ms", 0, &ms));
    ASSERT_EQ(ms, 250);
    ASSERT_OK(op_duration_parse("0", 0, &ms));
    ASSERT_EQ(ms, 0);
    ASSERT_OK(op_duration_parse("-5m", 1, &ms));
    ASSERT_EQ(ms, -300000);
    ASSERT_EQ(op_duration_parse("-5m", 0, &ms), OP_EINVALID);
    ASSERT_EQ(op_duration_parse("15", 0, &ms), OP_EINVALID);
    ASSERT_EQ(op_duration_parse("15x", 0, &ms), OP_EINVALID);
    ASSERT_EQ(op_duration_parse("", 0, &ms), OP_EINVALID);
    ASSERT_EQ(op_duration_parse("s", 0, &ms), OP_EINVALID);
}

TEST(sha256)
{
    char hex[65];
    op_sha256_hex("abc", 3, hex);
    ASSERT_STR_EQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(rfc3339_roundtrip)
{
    char out[32];
    int64_t t;
    ASSERT_OK(op_rfc3339_parse("2026-11-25T07:00:16Z", &t));
    op_rfc3339(t, out);
    ASSERT_STR_EQ(out, "2026-11-25T07:00:16Z");
    ASSERT_OK(op_rfc3339_parse("2026-11-25T08:00:16.123456+01:00", &t));
    op_rfc3339(t, out);
    ASSERT_STR_EQ(out, "2026-11-25T07:00:16Z");
    ASSERT_EQ(op_rfc3339_parse("yesterday", &t), OP_EINVALID);
}

TEST(base64_decode)
{
    char *out = NULL;
    size_t n = 99;
    ASSERT_OK(op_base64_decode("aGVsbG8=", 8, &out, &n));
    ASSERT_STR_EQ(out, "hello");
    ASSERT_EQ(n, 5);
    free(out);
    /* padding optional, whitespace ignored, URL-safe alphabet */
    ASSERT_OK(op_base64_decode("aGVs\nbG8", 8, &out, NULL));
    ASSERT_STR_EQ(out, "hello");
    free(out);
    ASSERT_OK(op_base64_decode("-_8=", 4, &out, &n));
    ASSERT_EQ(n, 2);
    ASSERT_EQ((unsigned char)out[0], 0xfb);
    ASSERT_EQ((unsigned char)out[1], 0xff);
    free(out);
    ASSERT_OK(op_base64_decode("", 0, &out, &n));
    ASSERT_STR_EQ(out, "");
    ASSERT_EQ(n, 0);
    free(out);
    /* only len bytes are read */
    ASSERT_OK(op_base64_decode("aGk=garbage!", 4, &out, NULL));
    ASSERT_STR_EQ(out, "hi");
    free(out);
    out = NULL;
    ASSERT_EQ(op_base64_decode("aGk!", 4, &out, NULL), OP_EINVALID);
    ASSERT_CONTAINS(op_err_last(), "base64");
    ASSERT_EQ(op_base64_decode("aG=k", 4, &out, NULL), OP_EINVALID);
    ASSERT_EQ(op_base64_decode("aGVsb", 5, &out, NULL), OP_EINVALID);
    ASSERT_EQ(op_base64_decode("aG===", 5, &out, NULL), OP_EINVALID);
    ASSERT_TRUE(out == NULL);
}

TEST(cpu_quota_parse)
{
    ASSERT_EQ(op_cpu_quota_parse("max 100000\n"), 0);
    ASSERT_EQ(op_cpu_quota_parse("200000 100000\n"), 2);
    ASSERT_EQ(op_cpu_quota_parse("50000 100000"), 1);  /* 500m → 1, rounded up */
    ASSERT_EQ(op_cpu_quota_parse("150000 100000"), 2);
    ASSERT_EQ(op_cpu_quota_parse("150000"), 2);        /* default period */
    ASSERT_EQ(op_cpu_quota_parse(""), 0);
    ASSERT_EQ(op_cpu_quota_parse("-1 100000"), 0);
    ASSERT_EQ(op_cpu_quota_parse("x 100000"), 0);
    ASSERT_TRUE(op_cpu_count() >= 1);
}

TEST_MAIN()
