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

#endif
