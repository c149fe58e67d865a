/* cmd_controller.c — `crosslink controller`: parses flags and env vars,
 * sets up logging and a small-memory malloc, and runs the manager until
 * SIGTERM/SIGINT. Exit codes: 0 clean shutdown, 1 runtime failure (or lost
 * leadership), 2 usage error. */
#include "cli.h"
#include "manager.h"
#include "options.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

extern char **environ;

int cmd_controller(int argc, char **argv)
{
    struct ctl_options o;
    char *err = NULL;
    int rc;

    /* one malloc arena keeps an idle controller within a few MiB of RSS; a
     * fixed mmap threshold sends big transient buffers (list responses,
     * watch lines) to mmap so freeing them really returns the memory */
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, 64 * 1024);
    mallopt(M_TRIM_THRESHOLD, 256 * 1024);
    if (ctl_options_parse(&o, argc, argv, environ, &err) < 0)
        return cli_usage_error(&cli_cmd_controller, err);
    if (o.help) {
        ctl_options_usage(stdout);
        ctl_options_cleanup(&o);
        return 0;
    }
    op_log_set_level(o.log_level);
    rc = ctl_manager_main(&o);
    ctl_options_cleanup(&o);
    return rc;
}
