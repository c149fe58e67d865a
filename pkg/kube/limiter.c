/* limiter.c — how many requests a kube_client keeps in flight, adapted to
 * the apiserver's API Priority and Fairness answers the way TCP adapts to
 * congestion (additive increase, multiplicative decrease): a 429 halves the
 * limit, once per window (only a request started after the last cut cuts
 * again, so one overload answered by many 429s at once halves it once);
 * every other answer adds 1/limit, up to the ceiling. With no 429 the limit
 * stays at the ceiling and costs nothing. Pure arithmetic: the waiting for a
 * slot, and which requests are exempt (watches, Leases), is client.c's. */
#include "kube_int.h"

void kube__limiter_init(struct kube__limiter *l, int ceiling)
{
    l->ceiling = ceiling > 0 ? ceiling : 1;
    l->limit = l->ceiling;
    l->in_flight = 0;
    l->last_cut_ms = INT64_MIN;
}

int kube__limiter_start(struct kube__limiter *l)
{
    if (l->in_flight >= (int)l->limit)
        return 0;
    l->in_flight++;
    return 1;
}

void kube__limiter_done(struct kube__limiter *l, int code, int64_t started_ms, int64_t now_ms)
{
    if (l->in_flight > 0)
        l->in_flight--;
    if (code == 429) {
        if (started_ms >= l->last_cut_ms) {
            l->limit = l->limit / 2 < 1 ? 1 : l->limit / 2;
            l->last_cut_ms = now_ms;
        }
    } else if (code != 0 && l->limit < l->ceiling) {
        /* an answer: the apiserver took the request (code 0 = no answer,
         * which says nothing about its load) */
        l->limit += 1.0 / l->limit;
        if (l->limit > l->ceiling)
            l->limit = l->ceiling;
    }
}
