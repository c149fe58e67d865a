/* cpu.c — how many CPUs this process may use: the scheduler affinity mask,
 * lowered by a cgroup CPU quota (v2 cpu.max, v1 cpu.cfs_quota_us /
 * cpu.cfs_period_us), rounded up — what a container's CPU limit allows.
 * The parsing is pure; op_cpu_count reads /proc-less sysfs files only. */
#define _GNU_SOURCE
#include "core.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int op_cpu_quota_parse(const char *cpu_max)
{
    char q[32];
    long long quota, period = 100000;
    int n;

    if (!cpu_max || sscanf(cpu_max, "%31s %lld", q, &period) < 1)
        return 0;
    if (strcmp(q, "max") == 0 || period <= 0)
        return 0;
    n = sscanf(q, "%lld", &quota);
    if (n != 1 || quota <= 0)
        return 0;
    quota = (quota + period - 1) / period;
    return quota > 4096 ? 4096 : (int)quota;
}

static int read_small(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "re");
    size_t r;
    if (!f)
        return -1;
    r = fread(buf, 1, n - 1, f);
    fclose(f);
    buf[r] = '\0';
    return 0;
}

int op_cpu_count(void)
{
    cpu_set_t set;
    char a[64], b[64];
    int n = 0, quota = 0;

    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        n = CPU_COUNT(&set);
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    if (read_small("/sys/fs/cgroup/cpu.max", a, sizeof(a)) == 0) {
        quota = op_cpu_quota_parse(a);
    } else if (read_small("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", a, sizeof(a)) == 0 &&
               read_small("/sys/fs/cgroup/cpu/cpu.cfs_period_us", b, sizeof(b)) == 0) {
        char v[140];
        a[strcspn(a, "\n")] = '\0';
        snprintf(v, sizeof(v), "%s %s", strtoll(a, NULL, 10) < 0 ? "max" : a, b);
        quota = op_cpu_quota_parse(v);
    }
    return quota > 0 && quota < n ? quota : n;
}
