/* support.h: helpers shared by the content tests (tests/content/). */
#ifndef CQ_CONTENT_TEST_SUPPORT_H
#define CQ_CONTENT_TEST_SUPPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "content_tools.h"

#define FIXTURES CQ_SOURCE_DIR "/tests/fixtures"
#define BUILTIN  CQ_SOURCE_DIR "/content/itil4-value-chain/bank.json"
#define SEEDS    CQ_SOURCE_DIR "/../shared/seeds"

/* The whole file, NUL-terminated; fails the test when it cannot be read. */
char *t_read(const char *path, size_t *len);

/* Imports FIXTURES/import/<name> with <name> as the label in errors. */
struct t_import {
    int status;
    struct cq_import_result r;
    struct cq_content_errors errs;
};
void t_import(struct t_import *t, enum cq_import_format fmt, const char *name);
void t_import_text(struct t_import *t, enum cq_import_format fmt, const char *name,
                   const char *text);
void t_import_free(struct t_import *t);

/* Asserts that `errs` equals the lines of `path` (in order, all of them). */
void t_expect_errors(const struct cq_content_errors *errs, const char *path);

/* The question with this id in a bank document; fails when absent. */
json_t *t_question(json_t *bank, const char *id);
/* Asserts a JSON array of strings equals `want` (NULL-terminated). */
void t_strings(json_t *arr, const char *const *want);

#endif
