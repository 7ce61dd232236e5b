/* libFuzzer target: the GIFT and CSV importers (server/content). The first
 * byte picks the format; every bank an importer produces must load again. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "content.h"
#include "content_tools.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum cq_import_format fmt = (data[0] & 1) ? CQ_IMPORT_CSV : CQ_IMPORT_GIFT;
    struct cq_import_opts o = {.name = "fuzz"};
    struct cq_import_result r = {0};
    struct cq_content_errors errs;
    cq_content_errors_init(&errs, 16);
    cq_content_import(fmt, (const char *)data + 1, size - 1, &o, &r, &errs);
    if (r.bank) {
        char *text = cq_content_dump(r.bank);
        struct cq_content_errors again;
        cq_content_errors_init(&again, 4);
        struct cq_bank *b = text ? cq_bank_parse(text, strlen(text), "reimport", &again) : NULL;
        if (text && !b)
            __builtin_trap(); /* an importer wrote a bank our loader refuses */
        cq_bank_free(b);
        cq_content_errors_free(&again);
        free(text);
        json_decref(r.bank);
    }
    cq_content_errors_free(&errs);
    return 0;
}
