/* err.c — error codes and the per-thread "last error" message (libgit2 style).
 * The message buffer is thread-local, so concurrent workers never see each
 * other's errors. */
#include "core.h"

#include <stdio.h>

static _Thread_local char err_msg[1024];

int op_err_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof(err_msg), fmt, ap);
    va_end(ap);
    return code;
}

const char *op_err_last(void)
{
    return err_msg;
}

void op_err_clear(void)
{
    err_msg[0] = '\0';
}

const char *op_err_name(int code)
{
    switch (code) {
    case OP_OK: return "OP_OK";
    case OP_ERR: return "OP_ERR";
    case OP_ENOMEM: return "OP_ENOMEM";
    case OP_ENOTFOUND: return "OP_ENOTFOUND";
    case OP_ECONFLICT: return "OP_ECONFLICT";
    case OP_EGONE: return "OP_EGONE";
    case OP_EINVALID: return "OP_EINVALID";
    case OP_ETIMEOUT: return "OP_ETIMEOUT";
    case OP_EUNAVAILABLE: return "OP_EUNAVAILABLE";
    case OP_EUNAUTHORIZED: return "OP_EUNAUTHORIZED";
    case OP_EFORBIDDEN: return "OP_EFORBIDDEN";
    case OP_ETLS: return "OP_ETLS";
    case OP_ETOOBIG: return "OP_ETOOBIG";
    case OP_ECANCELED: return "OP_ECANCELED";
    default: return "OP_UNKNOWN";
    }
}
