/* test_ctl_stack_recs.c — unit tests for the per-stack records of
 * controller/stack/stack_recs.c (ctl_rec_*, issue 16): a record exists
 * while any of its parts (seen generation, Ready bits, refs digest, owned
 * ConfigMap names) is set and is gone with the last; clearing a part of a
 * stack without a record makes none; owned names come and go in order,
 * once each, without disturbing the other parts; the metrics walk sees
 * only stacks with Ready bits; and what a record costs per stack (printed,
 * bounded). The lifecycle through the informer handlers and the reconcile
 * (a ConfigMap before its stack, a deleted stack keeping its record until
 * its ConfigMaps are gone) is in test_stack_reconcile.c. Mutants tried on
 * stack_recs.c: rec_tidy ignoring the owned names (parts, order and walk
 * cases red); rec_tidy never removing (parts and order cases red);
 * ctl_rec_set_refs(NULL) not clearing (parts case red); the walk not
 * skipping records without Ready bits (walk case red); a removal
 * shortening the block without moving the names after it (order and
 * other-parts cases red); ctl_rec_own leaving the digest with the block it
 * replaces (freed twice: glibc aborts the run); ctl_rec_own not making a
 * record (parts, order and walk cases red). */
#include "manager.h"
#include "test.h"

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

/* key's owned names ","-joined into out ("" when none). */
static const char *owned(const struct ctl_manager *m, const char *key, char *out, size_t n)
{
    char **v = ctl_rec_owned(m, key);
    out[0] = '\0';
    for (size_t i = 0; v && v[i]; i++) {
        size_t l = strlen(out);
        snprintf(out + l, n - l, "%s%s", i ? "," : "", v[i]);
    }
    ctl_strv_free(v);
    return out;
}

TEST(records_exist_while_any_part_is_set)
{
    struct ctl_manager m;
    memset(&m, 0, sizeof(m));
    ASSERT_OK(ctl_recs_init(&m));
    /* each part alone makes the record and takes it away again */
    ASSERT_EQ(ctl_rec_set_seen(&m, "t1/a", 4), 0);
    ASSERT_EQ(op_map_len(m.stacks), 1);
    ASSERT_EQ(ctl_rec_set_seen(&m, "t1/a", 6), 4);
    ASSERT_EQ(ctl_rec_set_seen(&m, "t1/a", 0), 6);
    ASSERT_EQ(op_map_len(m.stacks), 0);
    ASSERT_EQ(ctl_rec_set_ready(&m, "t1/a", 0x100000111u), 0);
    ASSERT_EQ(op_map_len(m.stacks), 1);
    ASSERT_EQ(ctl_rec_set_ready(&m, "t1/a", 0), 0x100000111u);
    ASSERT_EQ(op_map_len(m.stacks), 0);
    ctl_rec_set_refs(&m, "t1/a", "sha256:1");
    ASSERT_STR_EQ(ctl_rec_refs(&m, "t1/a"), "sha256:1");
    ctl_rec_set_refs(&m, "t1/a", NULL);
    ASSERT_TRUE(ctl_rec_refs(&m, "t1/a") == NULL);
    ASSERT_EQ(op_map_len(m.stacks), 0);
    ctl_rec_own(&m, "t1/a", "a-cm", 1);
    ASSERT_EQ(op_map_len(m.stacks), 1);
    ctl_rec_own(&m, "t1/a", "a-cm", 0);
    ASSERT_EQ(op_map_len(m.stacks), 0);
    /* clearing what a stack without a record does not have makes none */
    ASSERT_EQ(ctl_rec_set_seen(&m, "t1/b", 0), 0);
    ASSERT_EQ(ctl_rec_set_ready(&m, "t1/b", 0), 0);
    ctl_rec_set_refs(&m, "t1/b", NULL);
    ctl_rec_own(&m, "t1/b", "b-cm", 0);
    ASSERT_EQ(op_map_len(m.stacks), 0);
    ASSERT_TRUE(ctl_rec_owned(&m, "t1/b") == NULL);
    /* all four in one record; it goes with the last, whichever that is */
    (void)ctl_rec_set_seen(&m, "t1/c", 4);
    (void)ctl_rec_set_ready(&m, "t1/c", 1);
    ctl_rec_set_refs(&m, "t1/c", "sha256:2");
    ctl_rec_own(&m, "t1/c", "c-cm", 1);
    ASSERT_EQ(op_map_len(m.stacks), 1);
    (void)ctl_rec_set_seen(&m, "t1/c", 0);
    (void)ctl_rec_set_ready(&m, "t1/c", 0);
    ctl_rec_set_refs(&m, "t1/c", NULL);
    ASSERT_EQ(op_map_len(m.stacks), 1); /* the ConfigMap is still there */
    ctl_rec_own(&m, "t1/c", "c-cm", 0);
    ASSERT_EQ(op_map_len(m.stacks), 0);
    ctl_rec_own(&m, "t1/c", "c-cm", 1);
    ctl_rec_set_refs(&m, "t1/c", "sha256:3");
    ctl_rec_own(&m, "t1/c", "c-cm", 0);
    ASSERT_EQ(op_map_len(m.stacks), 1); /* the digest is */
    ctl_rec_set_refs(&m, "t1/c", NULL);
    ASSERT_EQ(op_map_len(m.stacks), 0);
    ctl_recs_fini(&m);
}

TEST(owned_names_come_and_go_in_order_once_each)
{
    struct ctl_manager m;
    char buf[256];
    memset(&m, 0, sizeof(m));
    ASSERT_OK(ctl_recs_init(&m));
    ctl_rec_own(&m, "t1/a", "a-x", 1);
    ctl_rec_own(&m, "t1/a", "a-y", 1);
    ctl_rec_own(&m, "t1/a", "a-z", 1);
    ctl_rec_own(&m, "t1/a", "a-x", 1); /* MODIFIED: held already */
    ASSERT_STR_EQ(owned(&m, "t1/a", buf, sizeof(buf)), "a-x,a-y,a-z");
    ctl_rec_own(&m, "t1/a", "a", 0); /* a prefix of the names: not held */
    ctl_rec_own(&m, "t1/a", "a-x2", 0);
    ASSERT_STR_EQ(owned(&m, "t1/a", buf, sizeof(buf)), "a-x,a-y,a-z");
    ctl_rec_own(&m, "t1/a", "a-y", 0); /* the middle */
    ASSERT_STR_EQ(owned(&m, "t1/a", buf, sizeof(buf)), "a-x,a-z");
    ctl_rec_own(&m, "t1/a", "a-y", 1);
    ctl_rec_own(&m, "t1/a", "a-x2", 1);
    ASSERT_STR_EQ(owned(&m, "t1/a", buf, sizeof(buf)), "a-x,a-z,a-y,a-x2");
    ctl_rec_own(&m, "t1/a", "a-x", 0); /* the first, a prefix of the last */
    ASSERT_STR_EQ(owned(&m, "t1/a", buf, sizeof(buf)), "a-z,a-y,a-x2");
    ctl_rec_own(&m, "t1/a", "a-x2", 0); /* the last */
    ASSERT_STR_EQ(owned(&m, "t1/a", buf, sizeof(buf)), "a-z,a-y");
    /* another stack's names are its own */
    ctl_rec_own(&m, "t2/a", "a-z", 1);
    ctl_rec_own(&m, "t2/a", "a-z", 0);
    ASSERT_STR_EQ(owned(&m, "t1/a", buf, sizeof(buf)), "a-z,a-y");
    ASSERT_STR_EQ(owned(&m, "t2/a", buf, sizeof(buf)), "");
    ASSERT_EQ(op_map_len(m.stacks), 1);
    ctl_recs_fini(&m);
}

/* Adding a name replaces the record's block: the other parts move with it. */
TEST(owned_names_keep_the_other_parts)
{
    struct ctl_manager m;
    char buf[256];
    memset(&m, 0, sizeof(m));
    ASSERT_OK(ctl_recs_init(&m));
    (void)ctl_rec_set_seen(&m, "t1/a", 8);
    (void)ctl_rec_set_ready(&m, "t1/a", 0x200000012u);
    ctl_rec_set_refs(&m, "t1/a", "sha256:kept");
    ctl_rec_own(&m, "t1/a", "a-datasources", 1);
    ctl_rec_own(&m, "t1/a", "a-dashboards", 1);
    ctl_rec_set_refs(&m, "t1/a", "sha256:kept"); /* the same digest again */
    ASSERT_STR_EQ(ctl_rec_refs(&m, "t1/a"), "sha256:kept");
    ctl_rec_own(&m, "t1/a", "a-datasources", 0);
    ASSERT_STR_EQ(ctl_rec_refs(&m, "t1/a"), "sha256:kept");
    ASSERT_STR_EQ(owned(&m, "t1/a", buf, sizeof(buf)), "a-dashboards");
    ASSERT_EQ(ctl_rec_set_seen(&m, "t1/a", 10), 8);
    ASSERT_EQ(ctl_rec_set_ready(&m, "t1/a", 1), 0x200000012u);
    ctl_recs_fini(&m);
}

struct walk {
    int n;
    char keys[4][32];
    uintptr_t bits[4];
};

static int walk_one(const char *key, uintptr_t ready, void *payload)
{
    struct walk *w = payload;
    if (w->n < 4) {
        snprintf(w->keys[w->n], sizeof(w->keys[0]), "%s", key);
        w->bits[w->n] = ready;
    }
    return ++w->n == 3; /* stops a walk of more */
}

/* The collector's walk (crosslink_stacks, crosslink_backend_up): a record
 * made by a ConfigMap or by the stack informer alone is no stack with a
 * Ready state. */
TEST(ready_walk_visits_only_stacks_with_ready_bits)
{
    struct ctl_manager m;
    struct walk w = {0};
    memset(&m, 0, sizeof(m));
    ASSERT_OK(ctl_recs_init(&m));
    (void)ctl_rec_set_seen(&m, "t1/seen", 4);
    ctl_rec_own(&m, "t1/owns", "owns-cm", 1);
    ctl_rec_set_refs(&m, "t1/refs", "sha256:r");
    (void)ctl_rec_set_ready(&m, "t1/ready", 0x100000112u);
    ASSERT_EQ(op_map_len(m.stacks), 4);
    ASSERT_OK(ctl_recs_foreach_ready(&m, walk_one, &w));
    ASSERT_EQ(w.n, 1);
    ASSERT_STR_EQ(w.keys[0], "t1/ready");
    ASSERT_EQ(w.bits[0], 0x100000112u);
    /* a non-zero return stops the walk and is returned */
    for (int i = 0; i < 4; i++) {
        char key[16];
        snprintf(key, sizeof(key), "t2/s%d", i);
        (void)ctl_rec_set_ready(&m, key, 3);
    }
    w.n = 0;
    ASSERT_EQ(ctl_recs_foreach_ready(&m, walk_one, &w), 1);
    ASSERT_EQ(w.n, 3);
    ctl_recs_fini(&m);
}

/* Issue 16: what a stack's record costs, map entry and bucket share
 * included, for a stack seen by the informer, owning its two ConfigMaps and
 * with Ready bits; then what a refs digest adds. Printed; bounded where
 * glibc's malloc counts it (under ASan or valgrind mallinfo2 sees none of
 * it: skipped). The four maps it replaced cost 379 bytes per such stack and
 * 153 more for a digest (measured the same way on the store branch). */
#define MEM_N 2000

TEST(stack_records_memory_per_stack)
{
    struct ctl_manager m;
    size_t u0, u1, u2;
    double per_stack, per_refs;
    memset(&m, 0, sizeof(m));
    ASSERT_OK(ctl_recs_init(&m));
    u0 = mallinfo2().uordblks;
    for (int i = 0; i < MEM_N; i++) {
        char key[64], name[32], cm[96];
        snprintf(name, sizeof(name), "stack-%04d", i);
        snprintf(key, sizeof(key), "team-%03d/%s", i % 100, name);
        /* in the order they come: the stack, its ConfigMaps, the reconcile */
        (void)ctl_rec_set_seen(&m, key, 4);
        snprintf(cm, sizeof(cm), "%s-grafana-datasources", name);
        ctl_rec_own(&m, key, cm, 1);
        snprintf(cm, sizeof(cm), "%s-grafana-dashboards", name);
        ctl_rec_own(&m, key, cm, 1);
        (void)ctl_rec_set_ready(&m, key, 0x100000111u);
    }
    u1 = mallinfo2().uordblks;
    for (int i = 0; i < MEM_N; i++) {
        char key[64];
        snprintf(key, sizeof(key), "team-%03d/stack-%04d", i % 100, i);
        ctl_rec_set_refs(&m, key, "sha256:" /* 64 hex digits, as render_refs_digest */
                                  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    }
    u2 = mallinfo2().uordblks;
    ASSERT_EQ(op_map_len(m.stacks), MEM_N);
    per_stack = (double)(u1 - u0) / MEM_N;
    per_refs = (double)(u2 - u1) / MEM_N;
    printf("     per stack (seen, Ready bits, two ConfigMaps): %.0f B; a refs digest adds %.0f B\n",
           per_stack, per_refs);
    ctl_recs_fini(&m);
    if (u1 <= u0)
        TEST_SKIP("malloc is not glibc's here (ASan, valgrind): mallinfo2 counts nothing");
    ASSERT_TRUE(per_stack < 200);
    ASSERT_TRUE(per_refs < 100);
}

TEST_MAIN()
