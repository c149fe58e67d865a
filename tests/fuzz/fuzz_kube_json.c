/* fuzz_kube_json.c — libFuzzer target: Kubernetes API response bodies as the
 * client decodes them: kube_status_decode (Status errors, 429 details,
 * non-JSON error pages) for an HTTP code taken from the first two bytes, and
 * list pages (items[], metadata.continue/resourceVersion) walked with the
 * object helpers. Properties: the status strings are terminated and within
 * their buffers; the returned error matches kube_err_from_http. */
#include "fuzz.h"

#include "core.h"
#include "kube.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kube_status st;
    const char *body;
    size_t len, i;
    int code, rc;
    json_t *page, *items, *it;

    if (size < 2)
        return 0;
    code = (int)(((unsigned)data[0] << 8 | data[1]) % 600);
    body = (const char *)data + 2;
    len = size - 2;
    rc = kube_status_decode(&st, code, body, len);
    FUZZ_CHECK(memchr(st.reason, '\0', sizeof st.reason) != NULL);
    FUZZ_CHECK(memchr(st.message, '\0', sizeof st.message) != NULL);
    FUZZ_CHECK(rc == kube_err_from_http(st.code));
    FUZZ_CHECK(st.retry_after_s >= -1);

    page = json_loadb(body, len, 0, NULL);
    items = json_object_get(page, "items");
    json_array_foreach(items, i, it) {
        char key[512];
        (void)kube_obj_name(it);
        (void)kube_obj_namespace(it);
        (void)kube_obj_uid(it);
        (void)kube_obj_resource_version(it);
        if (kube_obj_key(it, key, sizeof key) == 0)
            FUZZ_CHECK(memchr(key, '\0', sizeof key) != NULL);
    }
    (void)json_string_value(json_object_get(json_object_get(page, "metadata"), "continue"));
    (void)json_string_value(json_object_get(json_object_get(page, "metadata"), "resourceVersion"));
    json_decref(page);
    return 0;
}
