/* libFuzzer target: the question-bank parser (server/content). */
#include <stddef.h>
#include <stdint.h>

#include "content.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cq_content_errors errs;
    cq_content_errors_init(&errs, 8);
    struct cq_bank *b = cq_bank_parse((const char *)data, size, "fuzz", &errs);
    /* A bank is either returned or explained. */
    if (!b && errs.n == 0 && errs.dropped == 0)
        __builtin_trap();
    cq_bank_free(b);
    cq_content_errors_free(&errs);
    return 0;
}
