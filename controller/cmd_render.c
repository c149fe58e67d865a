/* cmd_render.c — placeholder for the `crosslink render` subcommand (not built yet). */
#include "cli.h"

#include <stdio.h>

int cmd_render(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "crosslink render: not implemented yet\n");
    return 2;
}
