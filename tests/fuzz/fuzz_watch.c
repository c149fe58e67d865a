/* fuzz_watch.c — libFuzzer target: the watch stream's framing
 * (kube_line_splitter_feed) and event decoding (kube_watch_event_parse), as
 * the watch thread uses them. The first byte picks a chunk size (1..64) and
 * the second a maximum line length (16..4111), so lines split across reads
 * and oversized lines are both exercised. Property: a delivered line is
 * never longer than the maximum and never contains '\n'. */
#include "fuzz.h"

#include "core.h"
#include "kube.h"

#include <string.h>

struct ctx {
    size_t max_line;
    unsigned lines;
};

static int on_line(const char *line, size_t len, void *payload)
{
    struct ctx *c = payload;
    char type[16];
    json_t *obj = NULL;

    FUZZ_CHECK(len > 0 && len <= c->max_line);
    FUZZ_CHECK(memchr(line, '\n', len) == NULL);
    FUZZ_CHECK(line[len] == '\0');
    c->lines++;
    if (kube_watch_event_parse(line, len, type, &obj) == 0) {
        char key[512];
        FUZZ_CHECK(json_is_object(obj));
        FUZZ_CHECK(strlen(type) < sizeof type);
        (void)kube_obj_key(obj, key, sizeof key);
        (void)kube_obj_resource_version(obj);
        if (strcmp(type, "ERROR") == 0) {
            struct kube_status st;
            char *s = json_dumps(obj, JSON_COMPACT);
            (void)kube_status_decode(&st, 0, s, s ? strlen(s) : 0);
            free(s);
        }
        json_decref(obj);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kube_line_splitter sp;
    struct ctx c = {0};
    size_t chunk, off;

    if (size < 2)
        return 0;
    chunk = (size_t)(data[0] % 64) + 1;
    c.max_line = (size_t)data[1] * 16 + 16;
    data += 2;
    size -= 2;
    kube_line_splitter_init(&sp, c.max_line);
    for (off = 0; off < size; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        (void)kube_line_splitter_feed(&sp, (const char *)data + off, n, on_line, &c);
        FUZZ_CHECK(kube_line_splitter_pending(&sp) <= c.max_line);
    }
    kube_line_splitter_cleanup(&sp);
    return 0;
}
