/* test_ctl_conditions.c — unit tests for controller/stack/conditions.c: every
 * condition present, kstatus semantics, lastTransitionTime kept unless the
 * status flips, transitions for Events, stall and apply-failure cases. */
#include "conditions.h"
#include "test.h"

#include <stdlib.h>

static const char *cond_field(const json_t *conds, const char *type, const char *field)
{
    return json_string_value(json_object_get(ctl_condition_find(conds, type), field));
}

static const struct ctl_signal_cond sig_ok[] = {
    {"MetricsReachable", CTL_COND_TRUE, "HealthCheckPassed", "GET /ready -> 200"},
    {"TracesReachable", CTL_COND_TRUE, "HealthCheckPassed", "GET /ready -> 200"},
};

TEST(conditions_all_good)
{
    struct ctl_cond_input in = {.generation = 3, .apply = CTL_APPLY_OK, .apply_message = "ok",
                                .signals = sig_ok, .n_signals = 2, .now_s = 1700000000};
    struct ctl_cond_transition tr[CTL_MAX_CONDITIONS];
    size_t ntr = 99;
    json_t *c = NULL;
    ASSERT_OK(ctl_conditions_compute(NULL, &in, &c, tr, &ntr));
    ASSERT_EQ(json_array_size(c), 6);
    const char *order[] = {"Ready", "ProvisioningApplied", "MetricsReachable", "TracesReachable",
                           "Stalled", "Reconciling"};
    for (size_t i = 0; i < 6; i++) {
        json_t *x = json_array_get(c, i);
        ASSERT_STR_EQ(json_string_value(json_object_get(x, "type")), order[i]);
        ASSERT_EQ(json_integer_value(json_object_get(x, "observedGeneration")), 3);
        ASSERT_STR_EQ(json_string_value(json_object_get(x, "lastTransitionTime")),
                      "2023-11-14T22:13:20Z");
        ASSERT_TRUE(json_string_length(json_object_get(x, "reason")) > 0);
    }
    ASSERT_STR_EQ(cond_field(c, "Ready", "status"), "True");
    ASSERT_STR_EQ(cond_field(c, "Ready", "reason"), "AllSignalsReachable");
    ASSERT_STR_EQ(cond_field(c, "Stalled", "status"), "False");
    ASSERT_STR_EQ(cond_field(c, "Reconciling", "status"), "False");
    /* first status: only Ready is reported as a transition */
    ASSERT_EQ(ntr, 1);
    ASSERT_STR_EQ(tr[0].type, "Ready");
    ASSERT_STR_EQ(tr[0].event_type, "Normal");
    json_decref(c);
}

TEST(conditions_keep_transition_time_unless_flip)
{
    struct ctl_cond_input in = {.generation = 1, .apply = CTL_APPLY_OK, .apply_message = "ok",
                                .signals = sig_ok, .n_signals = 2, .now_s = 1000};
    struct ctl_cond_transition tr[CTL_MAX_CONDITIONS];
    size_t ntr;
    json_t *c1 = NULL, *c2 = NULL, *c3 = NULL;
    ASSERT_OK(ctl_conditions_compute(NULL, &in, &c1, tr, &ntr));
    /* same input later with a new generation and message: same times, no transitions */
    in.now_s = 5000;
    in.generation = 2;
    in.apply_message = "changed message";
    ASSERT_OK(ctl_conditions_compute(c1, &in, &c2, tr, &ntr));
    ASSERT_EQ(ntr, 0);
    ASSERT_STR_EQ(cond_field(c2, "Ready", "lastTransitionTime"), "1970-01-01T00:16:40Z");
    ASSERT_STR_EQ(cond_field(c2, "ProvisioningApplied", "message"), "changed message");
    ASSERT_EQ(json_integer_value(json_object_get(ctl_condition_find(c2, "Ready"), "observedGeneration")), 2);
    /* identical input → identical JSON (no heartbeat) */
    ASSERT_OK(ctl_conditions_compute(c2, &in, &c3, tr, &ntr));
    ASSERT_TRUE(json_equal(c2, c3));
    json_decref(c3);
    /* a signal goes down: Ready and that signal flip, times move */
    struct ctl_signal_cond down[] = {
        {"MetricsReachable", CTL_COND_FALSE, "ConnectionRefused", "connect refused"},
        {"TracesReachable", CTL_COND_TRUE, "HealthCheckPassed", "ok"},
    };
    in.signals = down;
    in.now_s = 9000;
    ASSERT_OK(ctl_conditions_compute(c2, &in, &c3, tr, &ntr));
    ASSERT_STR_EQ(cond_field(c3, "Ready", "status"), "False");
    ASSERT_STR_EQ(cond_field(c3, "Ready", "reason"), "SignalsUnreachable");
    ASSERT_CONTAINS(cond_field(c3, "Ready", "message"), "MetricsReachable: connect refused");
    ASSERT_STR_EQ(cond_field(c3, "Ready", "lastTransitionTime"), "1970-01-01T02:30:00Z");
    ASSERT_STR_EQ(cond_field(c3, "TracesReachable", "lastTransitionTime"), "1970-01-01T00:16:40Z");
    ASSERT_EQ(ntr, 2);
    ASSERT_STR_EQ(tr[0].type, "Ready");
    ASSERT_STR_EQ(tr[0].event_type, "Warning");
    ASSERT_STR_EQ(tr[1].type, "MetricsReachable");
    ASSERT_STR_EQ(tr[1].reason, "ConnectionRefused");
    json_decref(c1);
    json_decref(c2);
    json_decref(c3);
}

TEST(conditions_stalled_invalid_spec)
{
    struct ctl_signal_cond pending[] = {{"LogsReachable", CTL_COND_UNKNOWN, "ProbePending", ""}};
    struct ctl_cond_input in = {.generation = 7, .stall_reason = "InvalidSpec",
                                .stall_message = "spec.logs.url: must be an http or https URL",
                                .signals = pending, .n_signals = 1, .now_s = 1};
    struct ctl_cond_transition tr[CTL_MAX_CONDITIONS];
    size_t ntr;
    json_t *c = NULL;
    ASSERT_OK(ctl_conditions_compute(NULL, &in, &c, tr, &ntr));
    ASSERT_STR_EQ(cond_field(c, "Stalled", "status"), "True");
    ASSERT_STR_EQ(cond_field(c, "Stalled", "reason"), "InvalidSpec");
    ASSERT_CONTAINS(cond_field(c, "Stalled", "message"), "spec.logs.url");
    ASSERT_STR_EQ(cond_field(c, "Ready", "status"), "False");
    ASSERT_STR_EQ(cond_field(c, "Ready", "reason"), "InvalidSpec");
    ASSERT_STR_EQ(cond_field(c, "ProvisioningApplied", "status"), "False");
    ASSERT_STR_EQ(cond_field(c, "LogsReachable", "status"), "Unknown");
    ASSERT_STR_EQ(cond_field(c, "Reconciling", "status"), "False");
    /* Stalled=True is a Warning transition */
    int found = 0;
    for (size_t i = 0; i < ntr; i++)
        if (!strcmp(tr[i].type, "Stalled")) {
            found = 1;
            ASSERT_STR_EQ(tr[i].event_type, "Warning");
        }
    ASSERT_TRUE(found);
    json_decref(c);
}

TEST(conditions_apply_failed_and_probe_pending)
{
    struct ctl_signal_cond pending[] = {{"MetricsReachable", CTL_COND_UNKNOWN, "ProbePending", "not yet verified"}};
    struct ctl_cond_input in = {.generation = 1, .apply = CTL_APPLY_FAILED,
                                .apply_message = "PATCH configmaps: 503", .signals = pending,
                                .n_signals = 1, .now_s = 1};
    json_t *c = NULL;
    ASSERT_OK(ctl_conditions_compute(NULL, &in, &c, NULL, NULL));
    ASSERT_STR_EQ(cond_field(c, "Ready", "reason"), "ApplyFailed");
    ASSERT_STR_EQ(cond_field(c, "ProvisioningApplied", "status"), "False");
    ASSERT_STR_EQ(cond_field(c, "Reconciling", "status"), "True");
    ASSERT_STR_EQ(cond_field(c, "Stalled", "status"), "False");
    json_decref(c);
    in.apply = CTL_APPLY_OK;
    ASSERT_OK(ctl_conditions_compute(NULL, &in, &c, NULL, NULL));
    ASSERT_STR_EQ(cond_field(c, "Ready", "status"), "Unknown");
    ASSERT_STR_EQ(cond_field(c, "Ready", "reason"), "ProbePending");
    ASSERT_STR_EQ(cond_field(c, "MetricsReachable", "reason"), "ProbePending");
    ASSERT_STR_EQ(cond_field(c, "Reconciling", "status"), "False");
    json_decref(c);
}

TEST(conditions_removed_signal_dropped)
{
    struct ctl_cond_input in = {.generation = 1, .apply = CTL_APPLY_OK, .signals = sig_ok,
                                .n_signals = 2, .now_s = 1};
    json_t *c1 = NULL, *c2 = NULL;
    ASSERT_OK(ctl_conditions_compute(NULL, &in, &c1, NULL, NULL));
    in.n_signals = 1;
    ASSERT_OK(ctl_conditions_compute(c1, &in, &c2, NULL, NULL));
    ASSERT_TRUE(ctl_condition_find(c2, "TracesReachable") == NULL);
    ASSERT_TRUE(ctl_condition_find(c2, "MetricsReachable") != NULL);
    json_decref(c1);
    json_decref(c2);
}

TEST_MAIN()
