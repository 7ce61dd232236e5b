/* libFuzzer target: the protocol decoder must turn any bytes into a
 * message or a precise error, never a crash or a leak. */
#include <stddef.h>
#include <stdint.h>

#include "cq_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cq_limits lim;
    struct cq_msg m;
    struct cq_proto_error err;
    cq_limits_default(&lim);
    int r = cq_proto_decode((const char *)data, size, &lim, &m, &err);
    /* Every failure names a code from the table. */
    if (r && !cq_err_code(err.code)[0])
        __builtin_trap();
    cq_msg_clear(&m);
    return 0;
}
