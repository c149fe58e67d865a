/* wipe.c — the code base's one secret wipe. op_wipe is a separate,
 * exported, non-inline function that clears through explicit_bzero (glibc):
 * a store the optimiser may not drop as dead even when the buffer is freed
 * right after, which a memset before free is at -O2. Every other wipe helper
 * (op_wipe_free, op_wipe_free_n, op_buf_cleanup_wipe) calls it from another
 * file, so tests/unit/test_wipe.c can wrap it at link time (--wrap=op_wipe)
 * and see that the request paths that held a token, a password or a client
 * key call it with that buffer. */
#include "core.h"

#include <string.h>

__attribute__((noinline)) void op_wipe(void *p, size_t n)
{
    if (p && n)
        explicit_bzero(p, n);
}
