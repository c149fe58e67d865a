/* conditions.c — builds the metav1.Condition list of a stack from the
 * outcome of one reconcile. Pure: no clock (now is an input), no I/O. The
 * rules mirror apimachinery's SetStatusCondition: lastTransitionTime moves
 * only when status changes; reason, message and observedGeneration are
 * updated in place. */
#include "conditions.h"

#include "core.h"

#include <stdlib.h>
#include <string.h>

const char *ctl_cond_status_str(enum ctl_cond_status s)
{
    switch (s) {
    case CTL_COND_TRUE:
        return "True";
    case CTL_COND_FALSE:
        return "False";
    default:
        return "Unknown";
    }
}

const json_t *ctl_condition_find(const json_t *conditions, const char *type)
{
    size_t i;
    json_t *c;
    if (!json_is_array(conditions))
        return NULL;
    json_array_foreach(conditions, i, c)
    {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t && !strcmp(t, type))
            return c;
    }
    return NULL;
}

/* Stalled and Reconciling are "abnormal-true": absent means False. */
static int abnormal_true(const char *type)
{
    return !strcmp(type, CTL_COND_STALLED) || !strcmp(type, CTL_COND_RECONCILING);
}

static int add_cond(json_t *arr, const json_t *prev, const struct ctl_cond_input *in,
                    const char *type, enum ctl_cond_status st, const char *reason,
                    const char *message, struct ctl_cond_transition *tr, size_t *ntr)
{
    const json_t *old = ctl_condition_find(prev, type);
    const char *old_status = json_string_value(json_object_get(old, "status"));
    const char *old_ltt = json_string_value(json_object_get(old, "lastTransitionTime"));
    const char *status = ctl_cond_status_str(st);
    char now[32];
    json_t *c;
    int flipped;

    if (!old_status)
        old_status = abnormal_true(type) ? "False" : "Unknown";
    flipped = strcmp(old_status, status) != 0;
    if (!old || flipped || !old_ltt) {
        op_rfc3339(in->now_s, now);
        old_ltt = now;
    }
    c = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "type", type, "status", status,
                  "observedGeneration", (json_int_t)in->generation, "lastTransitionTime", old_ltt,
                  "reason", reason && *reason ? reason : "Unknown", "message",
                  message ? message : "");
    if (!c || json_array_append_new(arr, c) < 0)
        return OP_ENOMEM;
    /* A stack's first status would otherwise produce an Event per
     * condition; on first sight only Ready (and an abnormal-true one such
     * as Stalled=True) is worth telling. */
    if (!old && strcmp(type, CTL_COND_READY) != 0 && !(abnormal_true(type) && st == CTL_COND_TRUE) &&
        !(!strcmp(type, CTL_COND_LINKS) && st == CTL_COND_FALSE))
        flipped = 0;
    if (flipped && tr && *ntr < CTL_MAX_CONDITIONS) {
        int healthy = abnormal_true(type) ? st == CTL_COND_FALSE : st == CTL_COND_TRUE;
        struct ctl_cond_transition *t = &tr[(*ntr)++];
        t->type = json_string_value(json_object_get(c, "type"));
        t->status = json_string_value(json_object_get(c, "status"));
        t->reason = json_string_value(json_object_get(c, "reason"));
        t->message = json_string_value(json_object_get(c, "message"));
        t->event_type = (healthy || st == CTL_COND_UNKNOWN) ? "Normal" : "Warning";
    }
    return OP_OK;
}

int ctl_conditions_compute(const json_t *prev, const struct ctl_cond_input *in, json_t **out,
                           struct ctl_cond_transition *transitions, size_t *n_transitions)
{
    json_t *arr = json_array();
    size_t ntr = 0, n_false = 0, n_unknown = 0;
    struct op_buf msg;
    int err = OP_ENOMEM;
    const int stalled = in->stall_reason != NULL;
    const int apply_ok = !stalled && in->apply == CTL_APPLY_OK;
    enum ctl_cond_status ready;
    const char *ready_reason;
    char *ready_msg = NULL;

    op_buf_init(&msg, 8192);
    if (!arr)
        goto out;

    /* Ready first: it summarises the rest. */
    for (size_t i = 0; i < in->n_signals; i++) {
        if (in->signals[i].status == CTL_COND_FALSE)
            n_false++;
        else if (in->signals[i].status == CTL_COND_UNKNOWN)
            n_unknown++;
    }
    if (stalled) {
        ready = CTL_COND_FALSE;
        ready_reason = in->stall_reason;
        if (op_buf_puts(&msg, in->stall_message ? in->stall_message : "") < 0)
            goto out;
    } else if (!apply_ok) {
        ready = CTL_COND_FALSE;
        ready_reason = CTL_REASON_APPLY_FAILED;
        if (op_buf_appendf(&msg, "provisioning not applied: %s",
                           in->apply_message ? in->apply_message : "") < 0)
            goto out;
    } else if (n_false) {
        ready = CTL_COND_FALSE;
        ready_reason = CTL_REASON_UNREACHABLE;
        for (size_t i = 0; i < in->n_signals; i++) {
            if (in->signals[i].status != CTL_COND_FALSE)
                continue;
            if (op_buf_appendf(&msg, "%s%s: %s", msg.len ? "; " : "", in->signals[i].type,
                               in->signals[i].message ? in->signals[i].message : "") < 0 &&
                msg.len == 0)
                goto out;
        }
    } else if (n_unknown) {
        ready = CTL_COND_UNKNOWN;
        ready_reason = CTL_REASON_PROBE_PENDING;
        if (op_buf_puts(&msg, "provisioning applied; waiting for backend checks") < 0)
            goto out;
    } else {
        ready = CTL_COND_TRUE;
        ready_reason = CTL_REASON_ALL_REACHABLE;
        if (op_buf_appendf(&msg, "provisioning applied and %zu signal%s reachable", in->n_signals,
                           in->n_signals == 1 ? "" : "s") < 0)
            goto out;
    }
    /* a message that overflowed the cap is still useful truncated */
    ready_msg = op_buf_take(&msg);
    if (!ready_msg)
        goto out;
    if (add_cond(arr, prev, in, CTL_COND_READY, ready, ready_reason, ready_msg, transitions, &ntr) < 0)
        goto out;

    if (stalled) {
        if (add_cond(arr, prev, in, CTL_COND_APPLIED, CTL_COND_FALSE, in->stall_reason,
                     "nothing applied until the spec is fixed", transitions, &ntr) < 0)
            goto out;
    } else if (add_cond(arr, prev, in, CTL_COND_APPLIED, apply_ok ? CTL_COND_TRUE : CTL_COND_FALSE,
                        apply_ok ? CTL_REASON_APPLIED : CTL_REASON_APPLY_FAILED, in->apply_message,
                        transitions, &ntr) < 0) {
        goto out;
    }

    for (size_t i = 0; i < in->n_signals; i++) {
        const struct ctl_signal_cond *s = &in->signals[i];
        if (stalled) {
            if (add_cond(arr, prev, in, s->type, CTL_COND_UNKNOWN, in->stall_reason,
                         "not checked until the spec is fixed", transitions, &ntr) < 0)
                goto out;
        } else if (add_cond(arr, prev, in, s->type, s->status, s->reason, s->message, transitions,
                            &ntr) < 0) {
            goto out;
        }
    }

    if (!stalled && in->links &&
        add_cond(arr, prev, in, CTL_COND_LINKS, in->links->status, in->links->reason, in->links->message,
                 transitions, &ntr) < 0)
        goto out;

    if (add_cond(arr, prev, in, CTL_COND_STALLED, stalled ? CTL_COND_TRUE : CTL_COND_FALSE,
                 stalled ? in->stall_reason : CTL_REASON_AS_EXPECTED,
                 stalled ? in->stall_message : "", transitions, &ntr) < 0)
        goto out;
    if (add_cond(arr, prev, in, CTL_COND_RECONCILING,
                 (!stalled && !apply_ok) ? CTL_COND_TRUE : CTL_COND_FALSE,
                 (!stalled && !apply_ok) ? CTL_REASON_APPLY_FAILED : CTL_REASON_COMPLETE,
                 (!stalled && !apply_ok) ? "retrying with backoff" : "", transitions, &ntr) < 0)
        goto out;

    *out = arr;
    arr = NULL;
    if (n_transitions)
        *n_transitions = ntr;
    err = OP_OK;
out:
    free(ready_msg);
    op_buf_cleanup(&msg);
    json_decref(arr);
    return err;
}
