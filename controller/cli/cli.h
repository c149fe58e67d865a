/* cli.h — the crosslink subcommands. Each returns the process exit code
 * (0 ok, 1 failure the user caused or a failed check, 2 usage error). argv[0]
 * is the subcommand name. Each also exports its option table (cli_opt.h), so
 * tests can check its --help and parsing. */
#ifndef CROSSLINK_CLI_H
#define CROSSLINK_CLI_H

#include "cli_opt.h"

int cmd_render(int argc, char **argv);     /* cmd_render.c: offline rendering */
int cmd_get(int argc, char **argv);        /* cmd_get.c: `get stacks` */
int cmd_probe(int argc, char **argv);      /* cmd_probe.c: backend checks from a laptop */
int cmd_controller(int argc, char **argv); /* cmd_controller.c: the operator */

extern const struct cli_cmd cli_cmd_render;
extern const struct cli_cmd cli_cmd_get;
extern const struct cli_cmd cli_cmd_probe;
extern const struct cli_cmd cli_cmd_controller; /* options.c */

#endif
