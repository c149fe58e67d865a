/* test_cli.c — unit tests for controller/cli's option tables (cli_opt.c):
 * getopt_long built from the table, values in order, -o=json, abbreviations
 * and unknown flags refused with the flag named, --help generated from the
 * table listing every option of every subcommand, repeatable parsing. */
#include "cli.h"
#include "options.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

#define ARGV(...) ((char *[]){__VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){__VA_ARGS__}) / sizeof(char *)))

static const struct cli_cmd *const all_cmds[] = {&cli_cmd_render, &cli_cmd_probe, &cli_cmd_get,
                                                 &cli_cmd_controller};

/* records every callback as "idx=val;" */
struct rec {
    char log[512];
};

static int rec_set(void *ctx, int idx, const char *val, const char *src, char **err)
{
    struct rec *r = ctx;
    size_t n = strlen(r->log);
    (void)err;
    snprintf(r->log + n, sizeof r->log - n, "%d%s%s=%s;", idx, src ? ":" : "", src ? src : "",
             val ? val : "(null)");
    return 0;
}

static const struct cli_opt t_opts[] = {
    {"filename", required_argument, 'f', "FILE", NULL, NULL, "a file"},
    {"all", no_argument, 'A', NULL, NULL, NULL, "all"},
    {"elect", optional_argument, 0, "BOOL", "T_ELECT", "false", "a bool"},
    {"help", no_argument, 'h', NULL, NULL, NULL, "this text"},
};
static const struct cli_cmd t_cmd = {"t", "t [flags]", "About.\n", t_opts, 4, "Epilog.\n"};

static int parse(const struct cli_cmd *c, int argc, char **argv, struct rec *r, char **err)
{
    memset(r, 0, sizeof *r);
    return cli_parse(c, argc, argv, rec_set, r, err);
}

TEST(cli_parse_values_in_order)
{
    struct rec r;
    char *err = NULL;
    ASSERT_OK(parse(&t_cmd, ARGC("t", "-f", "-", "pos", "--filename=b", "-fc", "-f=d", "-A", "--all", "--elect",
                                 "--elect=no", "--", "-x"),
                    ARGV("t", "-f", "-", "pos", "--filename=b", "-fc", "-f=d", "-A", "--all", "--elect",
                         "--elect=no", "--", "-x"),
                    &r, &err));
    ASSERT_STR_EQ(r.log, "0:-f=-;-1=pos;0:--filename=b;0:-f=c;0:-f=d;1:-A=(null);1:--all=(null);"
                         "2:--elect=(null);2:--elect=no;-1=-x;");
    ASSERT_TRUE(err == NULL);
}

TEST(cli_parse_is_repeatable)
{
    struct rec r;
    char *err = NULL;
    for (int i = 0; i < 3; i++) {
        ASSERT_OK(parse(&t_cmd, 3, ARGV("t", "-f", "x"), &r, &err));
        ASSERT_STR_EQ(r.log, "0:-f=x;");
    }
}

static int fails_with(const struct cli_cmd *c, int argc, char **argv, const char *want)
{
    struct rec r;
    char *err = NULL;
    int rc = parse(c, argc, argv, &r, &err);
    int ok = rc == OP_EINVALID && err && strcmp(err, want) == 0;
    if (!ok)
        fprintf(stderr, "    rc=%d err=%s want=%s\n", rc, err ? err : "(null)", want);
    free(err);
    return ok;
}

TEST(cli_parse_errors_name_the_flag)
{
    ASSERT_TRUE(fails_with(&t_cmd, 2, ARGV("t", "--bogus"), "unknown flag \"--bogus\""));
    ASSERT_TRUE(fails_with(&t_cmd, 2, ARGV("t", "--bogus=1"), "unknown flag \"--bogus\""));
    ASSERT_TRUE(fails_with(&t_cmd, 2, ARGV("t", "-Z"), "unknown flag \"-Z\""));
    ASSERT_TRUE(fails_with(&t_cmd, 2, ARGV("t", "-AZ"), "unknown flag \"-Z\""));
    /* getopt_long would take an abbreviation; a later flag would change its meaning */
    ASSERT_TRUE(fails_with(&t_cmd, 3, ARGV("t", "--file", "x"), "unknown flag \"--file\""));
    ASSERT_TRUE(fails_with(&t_cmd, 2, ARGV("t", "--file=x"), "unknown flag \"--file\""));
    ASSERT_TRUE(fails_with(&t_cmd, 2, ARGV("t", "-f"), "flag -f needs a value"));
    ASSERT_TRUE(fails_with(&t_cmd, 2, ARGV("t", "--filename"), "flag --filename needs a value"));
    ASSERT_TRUE(fails_with(&t_cmd, 2, ARGV("t", "--all=1"), "unknown flag \"--all\"") ||
                fails_with(&t_cmd, 2, ARGV("t", "--all=1"), "flag --all takes no value"));
}

TEST(cli_parse_help)
{
    struct rec r;
    char *err = NULL;
    ASSERT_EQ(parse(&t_cmd, 2, ARGV("t", "-h"), &r, &err), CLI_HELP);
    ASSERT_EQ(parse(&t_cmd, 3, ARGV("t", "-f", "--help"), &r, &err), 0); /* "--help" is -f's value */
    ASSERT_EQ(parse(&t_cmd, 4, ARGV("t", "-A", "--help", "--bogus"), &r, &err), CLI_HELP);
    for (size_t i = 0; i < sizeof all_cmds / sizeof all_cmds[0]; i++) {
        ASSERT_EQ(parse(all_cmds[i], 2, ARGV("x", "--help"), &r, &err), CLI_HELP);
        ASSERT_EQ(parse(all_cmds[i], 2, ARGV("x", "-h"), &r, &err), CLI_HELP);
    }
}

TEST(cli_env_fallback)
{
    struct rec r;
    char *err = NULL;
    char *env[] = {"T_ELECTX=1", "T_ELECT=yes", NULL};
    memset(&r, 0, sizeof r);
    ASSERT_OK(cli_apply_env(&t_cmd, env, rec_set, &r, &err));
    ASSERT_STR_EQ(r.log, "2:T_ELECT=yes;");
    ASSERT_STR_EQ(cli_env_get(env, "T_ELECT"), "yes");
    ASSERT_TRUE(cli_env_get(env, "T_ELEC") == NULL);
    ASSERT_TRUE(cli_env_get(NULL, "T_ELECT") == NULL);
}

static char *usage_of(const struct cli_cmd *c)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        return NULL;
    cli_usage(f, c);
    fclose(f);
    return buf;
}

/* columns of a UTF-8 line */
static size_t cols(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            c++;
    return c;
}

TEST(cli_help_lists_every_option)
{
    for (size_t i = 0; i < sizeof all_cmds / sizeof all_cmds[0]; i++) {
        const struct cli_cmd *c = all_cmds[i];
        char *u = usage_of(c), want[96];
        ASSERT_TRUE(u != NULL);
        ASSERT_TRUE(strncmp(u, "Usage: crosslink ", 17) == 0);
        ASSERT_TRUE(c->n_opts <= CLI_MAX_OPTS);
        for (size_t k = 0; k < c->n_opts; k++) {
            const struct cli_opt *o = &c->opts[k];
            snprintf(want, sizeof want, "--%s%s%s", o->name,
                     o->arg ? (o->has_arg == optional_argument ? "[=" : " ") : "", o->arg ? o->arg : "");
            ASSERT_CONTAINS(u, want);
            if (o->short_name) {
                snprintf(want, sizeof want, "  -%c, --%s", o->short_name, o->name);
                ASSERT_CONTAINS(u, want);
            }
            if (o->env)
                ASSERT_CONTAINS(u, o->env);
            ASSERT_TRUE(o->help && *o->help);
        }
        ASSERT_CONTAINS(u, "-h, --help");
        /* flag lines are wrapped within 80 columns */
        for (const char *p = u; *p;) {
            size_t n = strcspn(p, "\n");
            if (n >= 2 && p[0] == ' ' && p[1] == ' ' && cols(p, n) > 80) {
                fprintf(stderr, "    too wide: %.*s\n", (int)n, p);
                ASSERT_TRUE(0);
            }
            p += n + (p[n] == '\n');
        }
        free(u);
    }
}

TEST(cli_help_generated_layout)
{
    char *u = usage_of(&t_cmd);
    ASSERT_STR_EQ(u, "Usage: crosslink t [flags]\n"
                     "\n"
                     "About.\n"
                     "\n"
                     "  -f, --filename FILE  a file\n"
                     "  -A, --all            all\n"
                     "      --elect[=BOOL]   a bool (T_ELECT; default false)\n"
                     "  -h, --help           this text\n"
                     "\n"
                     "Epilog.\n");
    free(u);
}

TEST(cli_unknown_flag_fails_in_every_subcommand)
{
    for (size_t i = 0; i < sizeof all_cmds / sizeof all_cmds[0]; i++) {
        ASSERT_TRUE(fails_with(all_cmds[i], 2, ARGV("x", "--bogus"), "unknown flag \"--bogus\""));
        ASSERT_TRUE(fails_with(all_cmds[i], 2, ARGV("x", "-Z"), "unknown flag \"-Z\""));
    }
    /* the entry points turn it into exit 2 */
    ASSERT_EQ(cmd_render(2, ARGV("render", "--bogus")), 2);
    ASSERT_EQ(cmd_probe(2, ARGV("probe", "--bogus")), 2);
    ASSERT_EQ(cmd_get(3, ARGV("get", "stacks", "--bogus")), 2);
    ASSERT_EQ(cmd_controller(2, ARGV("controller", "--bogus")), 2);
    ASSERT_EQ(cmd_render(1, ARGV("render")), 2);   /* -f is required */
    ASSERT_EQ(cmd_probe(1, ARGV("probe")), 2);     /* -f is required */
    ASSERT_EQ(cmd_get(1, ARGV("get")), 2);         /* which resource? */
    ASSERT_EQ(cmd_get(3, ARGV("get", "stacks", "pods")), 2);
    ASSERT_EQ(cmd_get(4, ARGV("get", "stacks", "-n=x", "-A")), 2); /* mutually exclusive */
}

TEST(controller_bool_flag_never_eats_next_argument)
{
    struct ctl_options o;
    char *err = NULL;
    ASSERT_OK(ctl_options_parse(&o, 2, ARGV("controller", "--leader-elect"), NULL, &err));
    ASSERT_EQ(o.leader_elect, 1);
    ctl_options_cleanup(&o);
    ASSERT_EQ(ctl_options_parse(&o, 3, ARGV("controller", "--leader-elect", "false"), NULL, &err), OP_EINVALID);
    ASSERT_STR_EQ(err, "unexpected argument \"false\"");
    free(err);
    err = NULL;
    ASSERT_OK(ctl_options_parse(&o, 3, ARGV("controller", "help", "--workers=2"), NULL, &err));
    ASSERT_EQ(o.help, 1);
    ctl_options_cleanup(&o);
    ASSERT_EQ(ctl_options_parse(&o, 2, ARGV("controller", "--work=2"), NULL, &err), OP_EINVALID);
    ASSERT_STR_EQ(err, "unknown flag \"--work\"");
    free(err);
}

TEST_MAIN()
