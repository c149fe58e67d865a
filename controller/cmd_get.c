/* cmd_get.c — placeholder for the `crosslink get` subcommand (not built yet). */
#include "cli.h"

#include <stdio.h>

int cmd_get(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "crosslink get: not implemented yet\n");
    return 2;
}
