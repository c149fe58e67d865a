/* main.c — crosslink entry point: global library init, then dispatch to a
 * subcommand from one table. The overview (`crosslink help`) is printed from
 * that table; each subcommand's --help comes from its own option table
 * (controller/cli). */
#include "cli.h"
#include "core.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *synopsis; /* after "crosslink " */
    const char *summary;  /* one line */
} commands[] = {
    {"render", cmd_render, "render -f FILE [-o yaml|json] [-n NAMESPACE]",
     "render the Grafana provisioning ConfigMaps offline"},
    {"probe", cmd_probe, "probe -f FILE [--secrets-from-cluster] [--kubeconfig PATH]",
     "check every backend like Grafana's health check"},
    {"probe", cmd_probe, "probe --links -f FILE [-o table|json]",
     "follow every rendered link against the backends' data"},
    {"get", cmd_get, "get stacks [-n NS | -A] [--kubeconfig PATH] [--context NAME]",
     "list ObservabilityStacks and their Ready condition"},
    {"controller", cmd_controller, "controller [flags]", "run the operator"},
    {"version", cmd_version, "version", "print the version"},
    {"help", cmd_help, "help | --help", "this text"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "crosslink %s — wires Grafana data sources for Mimir, Tempo, Loki and Pyroscope\n\nUsage:\n",
            CROSSLINK_VERSION);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        int w = (int)strlen(commands[i].synopsis);
        if (w <= 34)
            fprintf(f, "  crosslink %-*s  %s\n", 34, commands[i].synopsis, commands[i].summary);
        else
            fprintf(f, "  crosslink %s\n  %*s  %s\n", commands[i].synopsis, 44, "", commands[i].summary);
    }
    fprintf(f, "\nRun `crosslink SUBCOMMAND --help` for the flags of a subcommand.\n");
}

static int cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    usage(stdout);
    return 0;
}

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("crosslink %s\n", CROSSLINK_VERSION);
    return 0;
}

int main(int argc, char **argv)
{
    const char *cmd;
    int rc;

    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
        cmd = "help";
    else if (strcmp(cmd, "--version") == 0)
        cmd = "version";
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(cmd, commands[i].name) != 0)
            continue;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            fprintf(stderr, "crosslink: curl_global_init failed\n");
            return 1;
        }
        rc = commands[i].fn(argc - 1, argv + 1);
        curl_global_cleanup();
        return rc;
    }
    fprintf(stderr, "crosslink: unknown command \"%s\"\n\n", cmd);
    usage(stderr);
    return 2;
}
