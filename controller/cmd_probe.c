/* cmd_probe.c — placeholder for the `crosslink probe` subcommand (not built yet). */
#include "cli.h"

#include <stdio.h>

int cmd_probe(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "crosslink probe: not implemented yet\n");
    return 2;
}
