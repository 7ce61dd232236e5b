/* content.h: loading question banks (format: docs/bank-format.md).
 *
 * Banks are parsed with jansson and checked strictly; every problem is
 * reported as "file: question <id>: field: why". The returned banks are
 * immutable and owned by the caller (cq_bank_free / cq_bankset_free).
 */
#ifndef CQ_CONTENT_H
#define CQ_CONTENT_H

#include <stddef.h>

#include "bank.h"

#define CQ_BANK_FORMAT       "chainquiz-bank/1"
#define CQ_PROMPT_MAX        300
#define CQ_OPTION_TEXT_MAX   120
#define CQ_EXPLANATION_MAX   600
#define CQ_ACCEPTED_TEXT_MAX 60

/* Errors found while loading: a bounded list of lines. */
struct cq_content_errors {
    char **lines;
    size_t n, cap, dropped; /* dropped: lines past `cap` */
};

void cq_content_errors_init(struct cq_content_errors *e, size_t cap);
void cq_content_errors_free(struct cq_content_errors *e);

/* Parses one bank from a JSON text; `name` labels errors. Returns NULL and
 * adds to `errs` when the bank is invalid. */
struct cq_bank *cq_bank_parse(const char *text, size_t len, const char *name,
                              struct cq_content_errors *errs);
struct cq_bank *cq_bank_load_file(const char *path, struct cq_content_errors *errs);
void cq_bank_free(struct cq_bank *b);

struct cq_bankset {
    struct cq_bank **banks;
    size_t n;
};

/* Loads every `*.json` under `dir` and its sub-folders (skipping `schema`),
 * sorted by path. Fails (-1) if any bank is invalid or two share an id. */
int cq_bankset_load_dir(const char *dir, struct cq_bankset *set, struct cq_content_errors *errs);
void cq_bankset_free(struct cq_bankset *set);
const struct cq_bank *cq_bankset_find(const struct cq_bankset *set, const char *id);

#endif
