/* test_yaml.c — unit tests for pkg/yaml: scalar resolution, multi-document
 * streams, anchors, error reporting, and the emitter's quoting and key order
 * (every emitted string must load back as the same string). */
#include "core.h"
#include "test.h"
#include "xy.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static json_t *load1(const char *text)
{
    json_t *docs = NULL;
    json_t *d;
    if (xy_load(&docs, text, strlen(text)) < 0)
        return NULL;
    d = json_incref(json_array_get(docs, 0));
    json_decref(docs);
    return d;
}

TEST(scalar_resolution)
{
    json_t *d = load1("a: true\nb: 'true'\nc: 12\nd: \"12\"\ne: 1.5\nf: ~\ng:\nh: yes\ni: off\n"
                      "j: 0x1F\nk: hello world\nl: -7\nm: 007\nn: !!str 12\no: 15s\n");
    ASSERT_TRUE(d != NULL);
    ASSERT_TRUE(json_is_true(json_object_get(d, "a")));
    ASSERT_STR_EQ(json_string_value(json_object_get(d, "b")), "true");
    ASSERT_EQ(json_integer_value(json_object_get(d, "c")), 12);
    ASSERT_STR_EQ(json_string_value(json_object_get(d, "d")), "12");
    ASSERT_TRUE(json_is_real(json_object_get(d, "e")));
    ASSERT_TRUE(json_is_null(json_object_get(d, "f")));
    ASSERT_TRUE(json_is_null(json_object_get(d, "g")));
    ASSERT_TRUE(json_is_true(json_object_get(d, "h")));
    ASSERT_TRUE(json_is_false(json_object_get(d, "i")));
    ASSERT_EQ(json_integer_value(json_object_get(d, "j")), 31);
    ASSERT_STR_EQ(json_string_value(json_object_get(d, "k")), "hello world");
    ASSERT_EQ(json_integer_value(json_object_get(d, "l")), -7);
    ASSERT_EQ(json_integer_value(json_object_get(d, "m")), 7);
    ASSERT_STR_EQ(json_string_value(json_object_get(d, "n")), "12");
    ASSERT_STR_EQ(json_string_value(json_object_get(d, "o")), "15s");
    json_decref(d);
}

TEST(multi_document_and_json)
{
    const char *text = "---\na: 1\n---\n---\n{\"b\": [1, \"x\", null]}\n...\n";
    json_t *docs = NULL;
    ASSERT_OK(xy_load(&docs, text, strlen(text)));
    ASSERT_EQ(json_array_size(docs), 3);
    ASSERT_EQ(json_integer_value(json_object_get(json_array_get(docs, 0), "a")), 1);
    ASSERT_TRUE(json_is_null(json_array_get(docs, 1)));
    ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(json_array_get(docs, 2), "b"), 1)), "x");
    json_decref(docs);

    ASSERT_OK(xy_load(&docs, "", 0));
    ASSERT_EQ(json_array_size(docs), 0);
    json_decref(docs);
}

TEST(anchors_and_aliases)
{
    json_t *d = load1("base: &b {x: 1, y: [a, b]}\ncopy: *b\nname: &n hello\nagain: *n\n");
    ASSERT_TRUE(d != NULL);
    ASSERT_TRUE(json_equal(json_object_get(d, "base"), json_object_get(d, "copy")));
    ASSERT_TRUE(json_object_get(d, "base") != json_object_get(d, "copy")); /* deep copy */
    ASSERT_STR_EQ(json_string_value(json_object_get(d, "again")), "hello");
    json_decref(d);
}

TEST(errors_have_positions)
{
    json_t *docs = NULL;
    const char *bad = "a: 1\nb: [1, 2\n";
    ASSERT_EQ(xy_load(&docs, bad, strlen(bad)), OP_EINVALID);
    ASSERT_CONTAINS(op_err_last(), "line ");
    const char *dup = "a: 1\nb: 2\na: 3\n";
    ASSERT_EQ(xy_load(&docs, dup, strlen(dup)), OP_EINVALID);
    ASSERT_CONTAINS(op_err_last(), "duplicate mapping key \"a\"");
    ASSERT_CONTAINS(op_err_last(), "line 3");
    const char *alias = "a: *nope\n";
    ASSERT_EQ(xy_load(&docs, alias, strlen(alias)), OP_EINVALID);
    const char *cplx = "? [a, b]\n: 1\n";
    ASSERT_EQ(xy_load(&docs, cplx, strlen(cplx)), OP_EINVALID);
    ASSERT_CONTAINS(op_err_last(), "mapping keys must be scalars");
}

TEST(alias_bomb_is_bounded)
{
    /* 10 levels of 10x fan-out = 10^10 nodes if expanded naively. */
    struct op_buf b;
    json_t *docs = NULL;
    op_buf_init(&b, 1 << 20);
    ASSERT_OK(op_buf_puts(&b, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"));
    for (int i = 1; i < 10; i++)
        ASSERT_OK(op_buf_appendf(&b, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i,
                                 i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1));
    ASSERT_EQ(xy_load(&docs, b.data, b.len), OP_ETOOBIG);
    op_buf_cleanup(&b);
}

/* Emits {"k": s}, reloads, and checks the string came back unchanged. */
static int roundtrip_ok(const char *s, char **yaml_out)
{
    json_t *o = json_pack("{s:s}", "k", s), *back = NULL;
    char *y = NULL;
    int ok = 0;
    if (xy_emit(&y, o) == 0 && (back = load1(y)) != NULL)
        ok = json_is_string(json_object_get(back, "k")) &&
             strcmp(json_string_value(json_object_get(back, "k")), s) == 0;
    json_decref(o);
    json_decref(back);
    if (yaml_out)
        *yaml_out = y;
    else
        free(y);
    return ok;
}

TEST(emitter_quotes_what_must_be_quoted)
{
    static const char *const cases[] = {
        "true", "false", "yes", "No", "ON", "off", "y", "n", "null", "~", "", "1", "-1", "0x10", "007",
        "1.5", "1e3", ".inf", "15s", "-5m", "2024-01-02", "a: b", "a #b", "#x", "\"quoted\"", "'single'",
        "*star", "&amp", "!bang", "%pct", "@at", "`tick`", "- dash", "? q", "[x]", "{x}", "x,y", "|", ">",
        "trailing ", " leading", "multi\nline\n", "multi\nline no nl", "\nleading nl", "tab\there",
        "$__file{/etc/x/y}", "$${__value.raw}", "back\\slash", "unicode \xc3\xa9\xe2\x82\xac", "<<", "=",
        "sum(rate(x{$$__tags}[$$__rate_interval]))", "^trace_id$$", "\"trace_id\"\\s*:\\s*\"(\\w+)\"",
        "line1\n  indented\n\ttabbed\n", "ends with colon:", "k8s-sidecar-target-directory",
        "ctl\x01char", "del\x7f", "nel\xc2\x85x", "ls\xe2\x80\xa8x", "bom\xef\xbb\xbfx", "\xef\xbb\xbflead",
        "trailing newlines\n\n\n", "\n", "  \n  ", "crlf\r\nline", "a\n\nb", "text ending in space \nx", NULL};
    for (size_t i = 0; cases[i]; i++) {
        char *y = NULL;
        if (!roundtrip_ok(cases[i], &y))
            TEST_FAIL_("string \"%s\" did not round-trip; emitted:\n%s", cases[i], y ? y : "(null)");
        free(y);
    }
}

TEST(emitter_styles)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:b, s:n, s:f}", "plain", "hello", "bool", "true", "block",
                          "a\nb\n", "int", 3, "t", 1, "nil", "r", 2.0);
    char *y = NULL;
    ASSERT_OK(xy_emit(&y, o));
    ASSERT_CONTAINS(y, "plain: hello\n");
    ASSERT_CONTAINS(y, "bool: \"true\"\n");
    ASSERT_CONTAINS(y, "block: |\n  a\n  b\n");
    ASSERT_CONTAINS(y, "int: 3\n");
    ASSERT_CONTAINS(y, "t: true\n");
    ASSERT_CONTAINS(y, "nil: null\n");
    ASSERT_CONTAINS(y, "r: 2.0\n");
    /* never folded, however long */
    free(y);
    json_decref(o);
    {
        char long_s[400];
        memset(long_s, 'w', sizeof(long_s));
        for (size_t i = 5; i < sizeof(long_s) - 1; i += 6)
            long_s[i] = ' ';
        long_s[sizeof(long_s) - 1] = '\0';
        o = json_pack("{s:s}", "k", long_s);
        ASSERT_OK(xy_emit(&y, o));
        ASSERT_EQ(strchr(y, '\n') - y, (long)strlen(y) - 1);
        free(y);
        json_decref(o);
    }
}

TEST(key_order_is_a_rule_not_insertion)
{
    json_t *a = json_pack("{s:i, s:s, s:s, s:{s:s, s:s}, s:i}", "zeta", 1, "kind", "K", "apiVersion", "v1",
                          "metadata", "namespace", "ns", "name", "nm", "alpha", 2);
    json_t *b = json_pack("{s:i, s:{s:s, s:s}, s:s, s:i, s:s}", "alpha", 2, "metadata", "name", "nm", "namespace",
                          "ns", "apiVersion", "v1", "zeta", 1, "kind", "K");
    char *ya = NULL, *yb = NULL;
    ASSERT_OK(xy_emit(&ya, a));
    ASSERT_OK(xy_emit(&yb, b));
    ASSERT_STR_EQ(ya, yb);
    ASSERT_STR_EQ(ya, "apiVersion: v1\nkind: K\nmetadata:\n  name: nm\n  namespace: ns\nalpha: 2\nzeta: 1\n");
    free(ya);
    free(yb);
    json_decref(a);
    json_decref(b);
}

TEST(stream_roundtrip)
{
    json_t *docs = json_pack("[{s:s}, {s:[i, s, {}], s:[]}]", "a", "x", "b", 1, "two", "e", "c");
    json_t *back = NULL;
    char *y = NULL;
    ASSERT_OK(xy_emit_stream(&y, docs));
    ASSERT_TRUE(strncmp(y, "---\n", 4) == 0);
    ASSERT_OK(xy_load(&back, y, strlen(y)));
    ASSERT_TRUE(json_equal(docs, back));
    free(y);
    json_decref(back);
    json_decref(docs);
}

TEST(load_file_missing)
{
    json_t *docs = NULL;
    ASSERT_EQ(xy_load_file(&docs, "/nonexistent/crosslink/x.yaml"), OP_ENOTFOUND);
}

TEST_MAIN()
