/* cli_opt.h — the one option table of every subcommand. A subcommand
 * describes its flags once (struct cli_opt); the getopt_long tables, the
 * environment fallbacks and the --help text are all derived from it. */
#ifndef CROSSLINK_CLI_OPT_H
#define CROSSLINK_CLI_OPT_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

#define CLI_MAX_OPTS 32
#define CLI_HELP 1 /* cli_parse: -h/--help was given */

struct cli_opt {
    const char *name; /* long name without "--"; "help" is recognised by cli_parse */
    int has_arg;      /* no_argument | required_argument | optional_argument */
    int short_name;   /* 'f', or 0 for a long-only flag */
    const char *arg;  /* value name shown in --help ("FILE"), NULL without a value */
    const char *env;  /* environment fallback (the flag wins), or NULL */
    const char *dflt; /* default shown in --help, or NULL */
    const char *help; /* help text; '\n' starts an indented continuation line */
};

struct cli_cmd {
    const char *name;     /* "render" */
    const char *synopsis; /* after "Usage: crosslink " */
    const char *about;    /* paragraph(s) printed before the flags, ending in '\n' */
    const struct cli_opt *opts;
    size_t n_opts;
    const char *epilog; /* printed after the flags, or NULL */
};

/* Called once per value: idx is the option's index in cmd->opts, or -1 for a
 * positional argument (src NULL). src is how the value was given ("--workers",
 * "-f", or the env var name) for messages. Returns 0, or OP_EINVALID /
 * OP_ENOMEM with a malloc'd message in *err. */
typedef int (*cli_set_fn)(void *ctx, int idx, const char *val, const char *src, char **err);

/* Parses argv (argv[0] is the subcommand name) with getopt_long built from
 * cmd->opts, calling set for every flag and positional argument in order.
 * Returns 0, CLI_HELP (stops at -h/--help), or OP_EINVALID / OP_ENOMEM with a
 * malloc'd message in *err (unknown flag "--x", flag --x needs a value, ...).
 * Abbreviated long flags are unknown flags. A value given as -o=json is
 * "json", as with kubectl. */
int cli_parse(const struct cli_cmd *cmd, int argc, char **argv, cli_set_fn set, void *ctx, char **err);

/* For every option with an env var set in env (NULL-terminated KEY=VALUE
 * strings; may be NULL), calls set with src = the env var name. Call before
 * cli_parse so that flags win. Same returns as set. */
int cli_apply_env(const struct cli_cmd *cmd, char *const *env, cli_set_fn set, void *ctx, char **err);

/* The value of name in env, or NULL. */
const char *cli_env_get(char *const *env, const char *name);

/* Prints the --help text of cmd: synopsis, about, one entry per option
 * (aligned, with "(ENV; default D)"), epilog. */
void cli_usage(FILE *f, const struct cli_cmd *cmd);

/* Prints "crosslink CMD: MSG\n\n" and the usage to stderr, frees msg and
 * returns 2 (the usage-error exit code). */
int cli_usage_error(const struct cli_cmd *cmd, char *msg);

#endif
