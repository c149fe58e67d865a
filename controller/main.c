/* main.c — crosslink entry point: global library init, then dispatch to a
 * subcommand (controller | render | probe | get | version). */
#include "cli.h"
#include "core.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "crosslink %s — wires Grafana data sources for Mimir, Tempo, Loki and Pyroscope\n"
            "\n"
            "Usage:\n"
            "  crosslink render -f FILE [-o yaml|json] [-n NAMESPACE]\n"
            "                                                render the Grafana provisioning ConfigMaps offline\n"
            "  crosslink probe -f FILE [--secrets-from-cluster] [--kubeconfig PATH]\n"
            "                                                check every backend like Grafana's health check\n"
            "  crosslink probe --links -f FILE [-o table|json]\n"
            "                                                follow every rendered link against the backends' data\n"
            "  crosslink get stacks [-n NS | -A] [--kubeconfig PATH] [--context NAME]\n"
            "                                                list ObservabilityStacks and their Ready condition\n"
            "  crosslink controller [flags]                 run the operator (see `crosslink controller --help`)\n"
            "  crosslink version                            print the version\n"
            "  crosslink help | --help                      this text\n"
            "\n"
            "Run `crosslink SUBCOMMAND --help` for the flags of a subcommand.\n",
            CROSSLINK_VERSION);
}

int main(int argc, char **argv)
{
    int rc;
    const char *cmd;

    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    cmd = argv[1];
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("crosslink %s\n", CROSSLINK_VERSION);
        return 0;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "crosslink: curl_global_init failed\n");
        return 1;
    }
    if (strcmp(cmd, "render") == 0)
        rc = cmd_render(argc - 1, argv + 1);
    else if (strcmp(cmd, "probe") == 0)
        rc = cmd_probe(argc - 1, argv + 1);
    else if (strcmp(cmd, "get") == 0)
        rc = cmd_get(argc - 1, argv + 1);
    else if (strcmp(cmd, "controller") == 0)
        rc = cmd_controller(argc - 1, argv + 1);
    else {
        fprintf(stderr, "crosslink: unknown command \"%s\"\n\n", cmd);
        usage(stderr);
        rc = 2;
    }
    curl_global_cleanup();
    return rc;
}
