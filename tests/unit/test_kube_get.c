/* test_kube_get.c — unit tests for `crosslink get stacks` helpers: the
 * kubectl-compatible AGE column (duration.HumanDuration). */
#include "test.h"

#include <stdint.h>
#include <stddef.h>

void ctl_human_duration(int64_t seconds, char *out, size_t n);

static const char *hd(int64_t s)
{
    static char buf[32];
    ctl_human_duration(s, buf, sizeof(buf));
    return buf;
}

TEST(human_duration_like_kubectl)
{
    ASSERT_STR_EQ(hd(-5), "<invalid>");
    ASSERT_STR_EQ(hd(-1), "0s");
    ASSERT_STR_EQ(hd(0), "0s");
    ASSERT_STR_EQ(hd(119), "119s");
    ASSERT_STR_EQ(hd(120), "2m");
    ASSERT_STR_EQ(hd(125), "2m5s");
    ASSERT_STR_EQ(hd(600), "10m");
    ASSERT_STR_EQ(hd(3 * 3600 - 1), "179m");
    ASSERT_STR_EQ(hd(3 * 3600), "3h");
    ASSERT_STR_EQ(hd(3 * 3600 + 20 * 60), "3h20m");
    ASSERT_STR_EQ(hd(8 * 3600), "8h");
    ASSERT_STR_EQ(hd(47 * 3600), "47h");
    ASSERT_STR_EQ(hd(48 * 3600), "2d");
    ASSERT_STR_EQ(hd(50 * 3600), "2d2h");
    ASSERT_STR_EQ(hd(8 * 86400), "8d");
    ASSERT_STR_EQ(hd(2 * 365 * 86400), "2y");
    ASSERT_STR_EQ(hd(2 * 365 * 86400 + 3 * 86400), "2y3d");
    ASSERT_STR_EQ(hd(9 * 365 * 86400LL), "9y");
}

TEST_MAIN()
