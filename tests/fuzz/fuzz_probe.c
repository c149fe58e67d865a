/* fuzz_probe.c — libFuzzer target: the checks pkg/probe applies to a
 * backend's answers: buildinfo (version, application), the tenant-checked
 * query answer for each signal, and the excerpt quoted in a failure message.
 * The first byte picks the signal. Properties: version, product and excerpt
 * are printable ASCII, terminated, within their buffers. */
#include "fuzz.h"

#include "core.h"
#include "probe_int.h"

#include <string.h>

static void printable(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    FUZZ_CHECK(n < cap);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char version[64] = "", product[48] = "Prometheus", why[64], ex[96];
    const char *body;
    size_t len;
    int signal, has_app = 0;

    if (size < 1)
        return 0;
    signal = data[0] % PROBE_NSIGNALS;
    body = (const char *)data + 1;
    len = size - 1;
    if (probe__parse_buildinfo(body, len, version, sizeof version, product, sizeof product, &has_app) == 0) {
        printable(version, sizeof version);
        printable(product, sizeof product);
    }
    (void)probe__check_query(signal, body, len, why, sizeof why);
    probe__excerpt(body, len, ex, sizeof ex);
    printable(ex, sizeof ex);
    return 0;
}
