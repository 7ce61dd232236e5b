/* content.h: loading question banks (format: docs/bank-format.md).
 *
 * Banks are parsed with jansson and checked strictly; every problem is
 * reported as "file: question <id>: field: why". The returned banks are
 * immutable and owned by the caller (cq_bank_free / cq_bankset_free).
 *
 * This loader is the one definition of a valid bank: the server, the
 * fuzzer and `chainquiz-content` all call it, and docs/bank-format.md and
 * content/schema/bank.schema.json describe exactly what it accepts. It needs
 * only jansson and server/game/text.c (scripts/fuzz builds it alone).
 */
#ifndef CQ_CONTENT_H
#define CQ_CONTENT_H

#include <stdbool.h>
#include <stddef.h>

#include "bank.h"

#define CQ_BANK_FORMAT        "chainquiz-bank/1"
#define CQ_BANK_FILE_MAX      (16u << 20) /* bytes in one bank file */
#define CQ_BANK_DIR_MAX       1000        /* bank files in one content directory */
#define CQ_BANK_QUESTIONS_MAX 10000       /* questions in one bank: loader, schema, import */
#define CQ_TITLE_MAX          120
#define CQ_DESCRIPTION_MAX    500
#define CQ_LANGUAGE_MAX       16
#define CQ_VERSION_MAX        32
#define CQ_LICENCE_MAX        64
#define CQ_QID_MAX            64
#define CQ_SOURCE_TEXT_MAX    200 /* sources[].file/title, source.file/section */
#define CQ_PROMPT_MAX         300
#define CQ_OPTION_TEXT_MAX    120
#define CQ_EXPLANATION_MAX    600
#define CQ_ACCEPTED_TEXT_MAX  60
#define CQ_IMAGE_MAX          500
#define CQ_MEDIA_MAX          (1u << 20) /* bytes in one media file (image: media/NAME) */
#define CQ_MEDIA_NAME_MAX     100

/* Errors found while loading: a bounded list of lines. */
struct cq_content_errors {
    char **lines;
    size_t n, cap, dropped; /* dropped: lines past `cap` */
};

void cq_content_errors_init(struct cq_content_errors *e, size_t cap);
void cq_content_errors_free(struct cq_content_errors *e);
void cq_content_errors_add(struct cq_content_errors *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Adds "name: line L column C: why" for a JSON syntax error, in words
 * (jansson's text can name its internal flags). */
void cq_content_json_error(struct cq_content_errors *errs, const char *name, int line, int column,
                           const char *why);
/* The same wording for a jansson error text alone: `why` itself, or `buf`. */
const char *cq_content_json_why(const char *why, char *buf, size_t cap);

/* Parses one bank from a JSON text; `name` labels errors. Returns NULL and
 * adds to `errs` when the bank is invalid. */
struct cq_bank *cq_bank_parse(const char *text, size_t len, const char *name,
                              struct cq_content_errors *errs);
/* Reads a whole file of at most `max` bytes (NUL-terminated copy in *out).
 * Adds "path: why" to errs on failure. */
int cq_content_read_file(const char *path, size_t max, char **out, size_t *len,
                         struct cq_content_errors *errs);
struct cq_bank *cq_bank_load_file(const char *path, struct cq_content_errors *errs);
void cq_bank_free(struct cq_bank *b);
/* A media file name as `image: "media/NAME"` gives it: 1-100 characters of
 * A-Z a-z 0-9 . _ -, starting with a letter or digit, ending in .png, .jpg,
 * .jpeg, .gif or .webp. Its Content-Type in *mime when given. */
bool cq_media_name_ok(const char *name, const char **mime);

/* The bank's `sources` list. The game does not need it, so struct cq_bank
 * (server/game) does not carry it; the content tools ask for it here. */
struct cq_content_source {
    char *file, *title;
};
struct cq_content_sources {
    struct cq_content_source *v;
    size_t n;
};
void cq_content_sources_free(struct cq_content_sources *s);

/* As cq_bank_parse / cq_bank_load_file, and also fills `sources` (may be
 * NULL) when the bank is valid; the caller frees it. */
struct cq_bank *cq_content_parse(const char *text, size_t len, const char *name,
                                 struct cq_content_errors *errs,
                                 struct cq_content_sources *sources);
struct cq_bank *cq_content_load_file(const char *path, struct cq_content_errors *errs,
                                     struct cq_content_sources *sources);

/* The same checks on an already parsed document (jansson's json_t). */
struct json_t;
struct cq_bank *cq_content_from_json(struct json_t *root, const char *name,
                                     struct cq_content_errors *errs,
                                     struct cq_content_sources *sources);

/* Checks one question object exactly as the loader does inside a bank whose
 * sources[].file are `files`. Errors read "name: question <id>: field: why".
 * `index` (1-based, 0 for none) labels a question without a valid id.
 * Used by the importers to keep the good questions of a partial import. */
bool cq_content_question_ok(struct json_t *q, size_t index, const char *const *files,
                            size_t n_files, const char *name, struct cq_content_errors *errs);

struct cq_bankset {
    struct cq_bank **banks;
    size_t n;
};

/* Loads every `*.json` under `dir` and its direct sub-folders (skipping
 * `schema` and names starting with '.'), sorted by path. Fails (-1) if any
 * bank is invalid or two share an id; every problem is reported. */
int cq_bankset_load_dir(const char *dir, struct cq_bankset *set, struct cq_content_errors *errs);
void cq_bankset_free(struct cq_bankset *set);
const struct cq_bank *cq_bankset_find(const struct cq_bankset *set, const char *id);

/* The paths cq_bankset_load_dir would load, sorted; the caller frees each
 * and the array. Returns -1 (with an error added) if `dir` cannot be read. */
int cq_content_list_dir(const char *dir, char ***paths, size_t *n, struct cq_content_errors *errs);

#endif
