/* clock.h — an injectable monotonic clock for the controller's timing logic
 * (work-queue delays, backoff, leader election), so unit tests can drive time
 * by hand. A NULL clock or NULL function means the real op_mono_ms(). */
#ifndef CROSSLINK_CTL_CLOCK_H
#define CROSSLINK_CTL_CLOCK_H

#include "core.h"

#include <stdint.h>

typedef int64_t (*ctl_now_fn)(void *payload);

struct ctl_clock {
    ctl_now_fn now_ms; /* monotonic milliseconds */
    void *payload;
};

static inline int64_t ctl_clock_now(const struct ctl_clock *c)
{
    return (c && c->now_ms) ? c->now_ms(c->payload) : op_mono_ms();
}

#endif
