/* test.h — a tiny dependency-free unit-test harness: TEST(name) registers a
 * case via a constructor, ASSERT_* macros print both sides and fail the case,
 * TEST_SKIP(reason) ends a case as skipped (reported as "skip", never counted
 * as passed), and TEST_MAIN() runs every case and prints "N passed, N failed"
 * (plus ", N skipped" when any case was skipped). */
#ifndef CROSSLINK_TEST_H
#define CROSSLINK_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*test_fn)(int *failed);
struct test_case {
    const char *name;
    test_fn fn;
};
#define TEST_MAX 512
extern struct test_case test_cases[TEST_MAX];
extern int test_ncases;

#define TEST(name)                                                            \
    static void test_##name(int *test_failed_);                               \
    __attribute__((constructor)) static void test_register_##name(void)       \
    {                                                                         \
        if (test_ncases < TEST_MAX)                                           \
            test_cases[test_ncases++] = (struct test_case){#name, test_##name};\
    }                                                                         \
    static void test_##name(int *test_failed_)

#define TEST_FAIL_(...)                                                       \
    do {                                                                      \
        fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);                     \
        fprintf(stderr, __VA_ARGS__);                                         \
        fprintf(stderr, "\n");                                                \
        *test_failed_ = 1;                                                    \
        return;                                                               \
    } while (0)

/* Ends the case as skipped: the environment cannot run it (e.g. no IPv6
 * loopback). Counted apart from passed cases, with the reason printed. */
#define TEST_SKIP(...)                                                        \
    do {                                                                      \
        printf("  skipped: ");                                                \
        printf(__VA_ARGS__);                                                  \
        printf("\n");                                                         \
        *test_failed_ = TEST_SKIPPED_;                                        \
        return;                                                               \
    } while (0)
#define TEST_SKIPPED_ 77

#define ASSERT_TRUE(c)                                                        \
    do { if (!(c)) TEST_FAIL_("assertion failed: %s", #c); } while (0)
#define ASSERT_EQ(a, b)                                                       \
    do {                                                                      \
        long long a_ = (long long)(a), b_ = (long long)(b);                   \
        if (a_ != b_) TEST_FAIL_("%s == %s: %lld != %lld", #a, #b, a_, b_);   \
    } while (0)
#define ASSERT_NE(a, b)                                                       \
    do {                                                                      \
        long long a_ = (long long)(a), b_ = (long long)(b);                   \
        if (a_ == b_) TEST_FAIL_("%s != %s: both %lld", #a, #b, a_);          \
    } while (0)
#define ASSERT_OK(e)                                                          \
    do {                                                                      \
        long long r_ = (long long)(e);                                        \
        if (r_ != 0) TEST_FAIL_("%s returned %lld", #e, r_);                  \
    } while (0)
#define ASSERT_STR_EQ(a, b)                                                   \
    do {                                                                      \
        const char *a_ = (a), *b_ = (b);                                      \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                \
            TEST_FAIL_("%s == %s:\n    got:  \"%s\"\n    want: \"%s\"", #a,    \
                       #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");           \
    } while (0)
#define ASSERT_CONTAINS(hay, needle)                                          \
    do {                                                                      \
        const char *h_ = (hay), *n_ = (needle);                               \
        if (!h_ || !strstr(h_, n_))                                           \
            TEST_FAIL_("%s does not contain \"%s\":\n    %s", #hay, n_,        \
                       h_ ? h_ : "(null)");                                   \
    } while (0)
#define ASSERT_NOT_CONTAINS(hay, needle)                                      \
    do {                                                                      \
        const char *h_ = (hay), *n_ = (needle);                               \
        if (h_ && strstr(h_, n_))                                             \
            TEST_FAIL_("%s unexpectedly contains \"%s\"", #hay, n_);          \
    } while (0)

/* Defines test_cases and main(). Use once per test binary. A single argument
 * runs only the case of that name. */
#define TEST_MAIN()                                                           \
    struct test_case test_cases[TEST_MAX];                                    \
    int test_ncases;                                                          \
    int main(int argc, char **argv)                                           \
    {                                                                         \
        int passed = 0, failed = 0, skipped = 0;                              \
        for (int i = 0; i < test_ncases; i++) {                               \
            int f = 0;                                                        \
            if (argc > 1 && strcmp(argv[1], test_cases[i].name) != 0)         \
                continue;                                                     \
            test_cases[i].fn(&f);                                             \
            printf("%s %s\n",                                                 \
                   f == TEST_SKIPPED_ ? "skip" : f ? "FAIL" : "ok  ",          \
                   test_cases[i].name);                                       \
            fflush(stdout);                                                   \
            if (f == TEST_SKIPPED_) skipped++;                                \
            else if (f) failed++;                                             \
            else passed++;                                                    \
        }                                                                     \
        if (skipped)                                                          \
            printf("%d passed, %d failed, %d skipped\n", passed, failed,      \
                   skipped);                                                  \
        else                                                                  \
            printf("%d passed, %d failed\n", passed, failed);                 \
        return failed ? 1 : (passed ? 0 : 1);                                 \
    }

#endif
