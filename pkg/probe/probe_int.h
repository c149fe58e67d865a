/* probe_int.h — helpers shared between pkg/probe's files (probe__ prefix); not
 * part of the public API and not installed. */
#ifndef CROSSLINK_PROBE_INT_H
#define CROSSLINK_PROBE_INT_H

#include "probe.h"

/* probe_util.c: finds the userinfo of url ("scheme://USERINFO@host/…": the
 * authority up to its last '@' before any '/', '?' or '#'). Returns the start
 * of the authority and stores the '@' in *at, or returns NULL (url NULL or
 * without userinfo; *at untouched). */
const char *probe__url_userinfo(const char *url, const char **at);

/* probe.c, pure checks of a backend's answer (exposed for tests/fuzz):
 * a short printable one-line excerpt of a body (out always terminated);
 * buildinfo: version and application into the buffers (printable ASCII),
 * *has_application = 1 when named; returns 0, or -1 when not a JSON object;
 * the tenant-checked query answer of a signal: NULL when acceptable, else a
 * complaint (static, or why). */
void probe__excerpt(const char *body, size_t len, char *out, size_t outsz);
int probe__parse_buildinfo(const char *body, size_t len, char *version, size_t versz, char *product,
                           size_t prodsz, int *has_application);
const char *probe__check_query(int signal, const char *body, size_t len, char *why, size_t whysz);

#endif
