/* cmd_controller.c — placeholder for the `crosslink controller` subcommand (not built yet). */
#include "cli.h"

#include <stdio.h>

int cmd_controller(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "crosslink controller: not implemented yet\n");
    return 2;
}
