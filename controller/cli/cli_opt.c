/* cli_opt.c — getopt_long, environment fallbacks and --help text, all from
 * one struct cli_opt table per subcommand. getopt runs in "-:" mode: no
 * permutation (positional arguments arrive in order), no messages of its own
 * (we name the offending flag). */
#include "cli_opt.h"
#include "core.h"

#include <stdlib.h>
#include <string.h>

#define CLI_VAL_BASE 256 /* getopt value of a long flag: CLI_VAL_BASE + index */

const char *cli_env_get(char *const *env, const char *name)
{
    size_t n = strlen(name);
    if (!env)
        return NULL;
    for (; *env; env++)
        if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
            return *env + n + 1;
    return NULL;
}

int cli_apply_env(const struct cli_cmd *cmd, char *const *env, cli_set_fn set, void *ctx, char **err)
{
    for (size_t i = 0; i < cmd->n_opts; i++) {
        const char *v = cmd->opts[i].env ? cli_env_get(env, cmd->opts[i].env) : NULL;
        int rc;
        if (v && (rc = set(ctx, (int)i, v, cmd->opts[i].env, err)) < 0)
            return rc;
    }
    return OP_OK;
}

static void build_tables(const struct cli_cmd *cmd, struct option *lo, char *so)
{
    size_t i, s = 0;
    so[s++] = '-';
    so[s++] = ':';
    for (i = 0; i < cmd->n_opts && i < CLI_MAX_OPTS; i++) {
        const struct cli_opt *o = &cmd->opts[i];
        lo[i] = (struct option){o->name, o->has_arg, NULL, CLI_VAL_BASE + (int)i};
        if (o->short_name) {
            so[s++] = (char)o->short_name;
            if (o->has_arg != no_argument)
                so[s++] = ':';
            if (o->has_arg == optional_argument)
                so[s++] = ':';
        }
    }
    lo[i] = (struct option){NULL, 0, NULL, 0};
    so[s] = '\0';
}

static int short_index(const struct cli_cmd *cmd, int c)
{
    for (size_t i = 0; i < cmd->n_opts; i++)
        if (cmd->opts[i].short_name == c)
            return (int)i;
    return -1;
}

/* The argv element that named the flag getopt just returned. */
static const char *flag_element(char **argv, const char *val)
{
    if (val && val == argv[optind - 1] && optind >= 2)
        return argv[optind - 2];
    return argv[optind - 1];
}

static char *unknown_flag(char **argv)
{
    const char *el = argv[optind - 1];
    if (optopt && optopt < CLI_VAL_BASE)
        return op_asprintf("unknown flag \"-%c\"", optopt);
    return op_asprintf("unknown flag \"%.*s\"", (int)strcspn(el, "="), el);
}

static char *needs_value(const struct cli_cmd *cmd)
{
    if (optopt >= CLI_VAL_BASE)
        return op_asprintf("flag --%s needs a value", cmd->opts[optopt - CLI_VAL_BASE].name);
    return op_asprintf("flag -%c needs a value", optopt);
}

int cli_parse(const struct cli_cmd *cmd, int argc, char **argv, cli_set_fn set, void *ctx, char **err)
{
    struct option lo[CLI_MAX_OPTS + 1];
    char so[3 * CLI_MAX_OPTS + 3], src[80];
    int c, rc = OP_OK;

    *err = NULL;
    build_tables(cmd, lo, so);
    optind = 0; /* glibc: full re-initialisation, so parsing is repeatable */
    opterr = 0;
    while (rc >= 0 && (c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
        int idx;
        const char *val = optarg, *el;
        if (c == 1) { /* a positional argument */
            rc = set(ctx, -1, val, NULL, err);
            continue;
        }
        if (c == '?') {
            *err = unknown_flag(argv);
            return OP_EINVALID;
        }
        if (c == ':') {
            *err = needs_value(cmd);
            return OP_EINVALID;
        }
        el = flag_element(argv, val);
        if (c >= CLI_VAL_BASE) {
            idx = c - CLI_VAL_BASE;
            if (strcspn(el + 2, "=") != strlen(cmd->opts[idx].name)) { /* an abbreviation */
                *err = op_asprintf("unknown flag \"%.*s\"", (int)strcspn(el, "="), el);
                return OP_EINVALID;
            }
            snprintf(src, sizeof src, "--%s", cmd->opts[idx].name);
        } else {
            idx = short_index(cmd, c);
            if (val && val != el && val[0] == '=')
                val++; /* -o=json, as kubectl accepts it */
            snprintf(src, sizeof src, "-%c", c);
        }
        if (strcmp(cmd->opts[idx].name, "help") == 0)
            return CLI_HELP;
        rc = set(ctx, idx, val, src, err);
    }
    for (; rc >= 0 && optind < argc; optind++) /* after "--" */
        rc = set(ctx, -1, argv[optind], NULL, err);
    return rc;
}

/* "  -f, --filename FILE" */
static int opt_left(char *buf, size_t n, const struct cli_opt *o)
{
    char sh[8] = "    ";
    if (o->short_name)
        snprintf(sh, sizeof sh, "-%c, ", o->short_name);
    if (!o->arg)
        return snprintf(buf, n, "  %s--%s", sh, o->name);
    if (o->has_arg == optional_argument)
        return snprintf(buf, n, "  %s--%s[=%s]", sh, o->name, o->arg);
    return snprintf(buf, n, "  %s--%s %s", sh, o->name, o->arg);
}

/* Prints text from column col, word-wrapped before column 80 ('\n' forces a
 * break); *cur is the current column. */
static void print_wrapped(FILE *f, const char *text, int col, int *cur)
{
    const char *p = text;
    while (*p) {
        size_t w = strcspn(p, " \n");
        if (*cur > col && *cur + 1 + (int)w > 80) {
            fprintf(f, "\n%*s", col, "");
            *cur = col;
        } else if (*cur > col) {
            fputc(' ', f);
            (*cur)++;
        }
        fprintf(f, "%.*s", (int)w, p);
        *cur += (int)w;
        p += w;
        if (*p == '\n') {
            fprintf(f, "\n%*s", col, "");
            *cur = col;
        }
        while (*p == ' ' || *p == '\n')
            p++;
    }
}

/* The help text of one option, then "(ENV; default D)". */
static void print_help_text(FILE *f, const struct cli_opt *o, int col)
{
    char suffix[256] = "";
    int cur = col;

    if (o->env && o->dflt)
        snprintf(suffix, sizeof suffix, "(%s; default %s)", o->env, o->dflt);
    else if (o->env)
        snprintf(suffix, sizeof suffix, "(%s)", o->env);
    else if (o->dflt)
        snprintf(suffix, sizeof suffix, "(default %s)", o->dflt);
    print_wrapped(f, o->help, col, &cur);
    print_wrapped(f, suffix, col, &cur);
    fputc('\n', f);
}

void cli_usage(FILE *f, const struct cli_cmd *cmd)
{
    char left[128];
    int col = 0;

    fprintf(f, "Usage: crosslink %s\n\n%s\n", cmd->synopsis, cmd->about);
    for (size_t i = 0; i < cmd->n_opts; i++) {
        int w = opt_left(left, sizeof left, &cmd->opts[i]);
        if (w > col)
            col = w;
    }
    col += 2;
    for (size_t i = 0; i < cmd->n_opts; i++) {
        int w = opt_left(left, sizeof left, &cmd->opts[i]);
        fprintf(f, "%s%*s", left, col - w, "");
        print_help_text(f, &cmd->opts[i], col);
    }
    if (cmd->epilog)
        fprintf(f, "\n%s", cmd->epilog);
}

int cli_usage_error(const struct cli_cmd *cmd, char *msg)
{
    fprintf(stderr, "crosslink %s: %s\n\n", cmd->name, msg ? msg : "invalid arguments");
    free(msg);
    cli_usage(stderr, cmd);
    return 2;
}
