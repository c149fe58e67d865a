/* options.h — `crosslink controller` flags: defaults < CROSSLINK_* env vars <
 * command-line flags, validated once and then read-only. */
#ifndef CROSSLINK_CTL_OPTIONS_H
#define CROSSLINK_CTL_OPTIONS_H

#include "core.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct ctl_options {
    char *kubeconfig;      /* NULL: pkg/kube's default loading */
    char *context;         /* NULL: current-context */
    char **namespaces;     /* NULL-terminated; NULL or empty = all namespaces */
    size_t n_namespaces;
    int workers;           /* 0: ctl_default_workers(op_cpu_count()) at start */
    int64_t verify_interval_ms; /* 60000; 0 disables periodic re-verification */
    char *metrics_addr;    /* ":8080"; NULL when disabled ("0") */
    char *health_addr;     /* ":8081"; NULL when disabled ("0") */
    int leader_elect;      /* 0 */
    char *lease_namespace; /* NULL: kubeconfig namespace, else "default" */
    char *lease_name;      /* "crosslink-controller" */
    enum op_log_level log_level; /* info */
    char *identity;        /* $POD_NAME or hostname_<random hex> */
    int help;              /* --help was given: print usage, exit 0 */
};

/* Parses argv (argv[0] is the subcommand name) over env (NULL-terminated
 * "KEY=VALUE" strings, e.g. environ; may be NULL). Returns 0, or OP_EINVALID
 * with a message in *err_out (malloc'd; caller frees). On failure *o is left
 * cleaned up. */
int ctl_options_parse(struct ctl_options *o, int argc, char **argv, char *const *env, char **err_out);
void ctl_options_cleanup(struct ctl_options *o);
void ctl_options_usage(FILE *f);

/* Pure: the default number of reconcile workers for a process that may use
 * cpus CPUs — 4 per CPU, at least 8 and at most 32. A reconcile spends a
 * few ms of CPU and most of its time waiting for the apiserver, so several
 * per CPU keep both busy; each busy worker also holds an API connection
 * (~100 KiB of TLS and libcurl state at a cold start's peak): on 2 cores
 * 8 per CPU started 2,000 stacks 6-12 % faster for 2 MiB more peak
 * (bench/RESULTS.md, "Issue 16, 2026-12-04 night"). */
int ctl_default_workers(int cpus);

#endif
