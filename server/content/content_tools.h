/* content_tools.h: import, export and checks behind `chainquiz-content`.
 *
 * Formats and mappings: docs/import.md. Everything here produces or reads
 * banks through the loader (content.h), so an imported bank is valid by the
 * same rules the server applies. Not linked into the server.
 *
 * Prefixes: cq_content_* (shared), cq_gift_* (Moodle GIFT), cq_csv_* (the
 * Kahoot! spreadsheet layout as CSV).
 */
#ifndef CQ_CONTENT_TOOLS_H
#define CQ_CONTENT_TOOLS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "content.h"

#define CQ_IMPORT_FILE_MAX      CQ_BANK_FILE_MAX      /* bytes of one input file */
#define CQ_IMPORT_QUESTIONS_MAX CQ_BANK_QUESTIONS_MAX /* an import makes one bank */
#define CQ_EXPORT_MAX           (64u << 20)           /* bytes of one exported file */
#define CQ_SOURCE_FILE_MAX      CQ_BANK_FILE_MAX      /* bytes of one source text */

/* --- A byte buffer with a ceiling (grows up to `max`, then fails). --- */
struct cq_content_buf {
    char *p;
    size_t len, cap, max;
    bool failed; /* an append went over `max` or out of memory */
};

void cq_content_buf_init(struct cq_content_buf *b, size_t max);
void cq_content_buf_free(struct cq_content_buf *b);
int cq_content_buf_add(struct cq_content_buf *b, const char *s, size_t n);
int cq_content_buf_str(struct cq_content_buf *b, const char *s);
int cq_content_buf_printf(struct cq_content_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* --- Text helpers shared by the importers. --- */

/* [s, s+n) without white space (cq_utf8_is_space) at either end: returns
 * the new start and stores the new length. */
const char *cq_content_trim(const char *s, size_t n, size_t *out_n);
/* A slug: folded, [a-z0-9] kept, anything else one '-', no '-' at either
 * end, at most `max` bytes. Returns a malloc'd string, NULL when empty. */
char *cq_content_slug(const char *text, size_t max);

/* --- Writing banks. --- */

/* The canonical JSON document of a loaded bank: keys in the order of
 * docs/bank-format.md, defaults left out (polls keep "points": 0). */
json_t *cq_content_bank_to_json(const struct cq_bank *b, const struct cq_content_sources *s);
/* Two-space indented, UTF-8, ending in a newline; malloc'd. */
char *cq_content_dump(json_t *doc);

/* --- Import. --- */

enum cq_import_format { CQ_IMPORT_GIFT, CQ_IMPORT_CSV, CQ_IMPORT_JSON };

struct cq_import_opts {
    const char *name; /* the input's path as given: labels errors, default names */
    /* Bank metadata; NULL means the default (docs/import.md). */
    const char *id, *title, *description, *language, *version, *licence;
    const char *source_file, *source_title, *source_section;
    const char *tags[CQ_QTAGS_MAX]; /* for questions without a category */
    size_t n_tags;
    const char *difficulty;
};

struct cq_import_result {
    json_t *bank; /* the normalised bank, NULL when nothing could be imported */
    size_t imported, skipped;
    size_t generated_explanations; /* questions given the default explanation */
};

/* Converts `text` to a bank. Every question that cannot be imported is
 * reported in errs as "name:line: question <id>: what: why" and skipped.
 * Returns 0 when everything was imported, 1 otherwise (r->bank may still
 * hold the good questions). The caller json_decref()s r->bank. */
int cq_content_import(enum cq_import_format fmt, const char *text, size_t len,
                      const struct cq_import_opts *o, struct cq_import_result *r,
                      struct cq_content_errors *errs);

/* The importers' shared builder (import.c); gift.c and csv.c fill it. */
struct cq_import {
    const struct cq_import_opts *o;
    struct cq_content_errors *errs;
    json_t *questions; /* the kept questions */
    size_t skipped, generated;
    size_t over_limit;        /* questions past CQ_IMPORT_QUESTIONS_MAX */
    size_t reported;          /* errors reported (some are not about one question) */
    bool rename_duplicates;   /* generated ids get -2, -3; JSON ids are kept or refused */
    bool default_explanation; /* GIFT/CSV: generate one when the input has none */
    const char *const *files; /* the bank's sources[].file, for the loader's check */
    size_t n_files;
    const char *source_file; /* GIFT/CSV: what source.file defaults to */
    json_t *bank;            /* bank metadata: the JSON document, or GIFT's
                                "// chainquiz-bank:" comment; NULL if none */
    const char **own_files;  /* storage behind `files` */
};

void cq_import_error(struct cq_import *im, unsigned line, const char *qid, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Completes `q` (stolen) with defaults, gives it a unique id from `base_id`
 * and keeps it if the loader accepts it; otherwise reports and counts it. */
void cq_import_add(struct cq_import *im, json_t *q, unsigned line, const char *base_id);
/* GIFT: takes the exported bank's metadata (stolen), checks its keys and
 * makes its sources citable. Returns -1 (reported) when it is not usable. */
int cq_import_set_bank(struct cq_import *im, json_t *meta, unsigned line);
/* Counts a question reported as not importable. */
void cq_import_skip(struct cq_import *im);

void cq_gift_import(struct cq_import *im, const char *text, size_t len);
void cq_csv_import(struct cq_import *im, const char *text, size_t len);

/* --- Export. --- */

/* Writes the questions the target format can express to `out`; every other
 * question is reported as "name: question <id>: cannot be exported to X:
 * why" and counted in *skipped. Returns -1 if `out` overflowed. */
int cq_gift_export(const struct cq_bank *b, const struct cq_content_sources *s, const char *name,
                   struct cq_content_buf *out, struct cq_content_errors *errs, size_t *skipped);
int cq_csv_export(const struct cq_bank *b, const char *name, struct cq_content_buf *out,
                  struct cq_content_errors *errs, size_t *skipped);
/* Whether a spreadsheet would read a cell starting like `s` as a formula
 * (=, +, -, @): export writes it as '..., import reads '... back as ... */
bool cq_csv_formula_start(const char *s);

/* --- Checks beyond the loader. --- */

/* Option lengths against correctness (lengths.c). A single-choice question
 * "gives itself away" when its right option is strictly longer than every
 * other; by chance that happens in 1 of n_options questions at most.
 *
 * More generally, the right option's length rank: it is the longest, the
 * second or third longest, or the shortest, when no other option is as long
 * as it is and 0, 1, 2 or n_options - 1 others are longer (a tie, or a
 * middle place of 5 or 6 options, counts in no rank). Players who learn
 * that "the second longest is right" win as surely as with the longest. */
enum cq_length_rank {
    CQ_LENGTH_LONGEST,
    CQ_LENGTH_SECOND,
    CQ_LENGTH_THIRD,
    CQ_LENGTH_SHORTEST,
    CQ_LENGTH__RANKS
};
struct cq_content_lengths {
    size_t single;         /* single-choice questions */
    size_t single_longest; /* ... whose right option is the strictly longest */
    double single_chance;  /* sum of 1/n_options: the count if length said nothing */
    /* single_rank[r]: questions whose right option has rank r;
     * single_rank_chance[r]: the sum of 1/n_options over the questions that
     * have a rank r (every one has a longest and a shortest; the second
     * needs 3 options, the third 4), the count if length said nothing.
     * [CQ_LENGTH_LONGEST] equals single_longest and single_chance. */
    size_t single_rank[CQ_LENGTH__RANKS];
    double single_rank_chance[CQ_LENGTH__RANKS];
    size_t multi;       /* multi-select questions */
    double multi_ratio; /* mean over them of mean right / mean wrong length */
};
/* `check` warns (docs/import.md) when there are at least
 * CQ_LENGTH_SINGLE_MIN single-choice questions and the right option is the
 * strictly longest (or has any other one length rank) more than
 * CQ_LENGTH_SINGLE_FACTOR times as often as chance; or at least CQ_LENGTH_MULTI_MIN multi-select
 * questions whose right options average more than CQ_LENGTH_MULTI_RATIO times the wrong ones'
 * length. Below the minimum counts a few questions would decide it. */
#define CQ_LENGTH_SINGLE_MIN    20
#define CQ_LENGTH_SINGLE_FACTOR 1.5
#define CQ_LENGTH_MULTI_MIN     10
#define CQ_LENGTH_MULTI_RATIO   1.25

void cq_content_lengths(const struct cq_bank *b, struct cq_content_lengths *out);
/* "longest", "second longest", "third longest", "shortest". */
const char *cq_content_length_rank_name(enum cq_length_rank r);
/* Adds "name: warning: ..." lines; returns how many. */
size_t cq_content_check_lengths(const struct cq_bank *b, const char *name,
                                struct cq_content_errors *warnings);

/* Every sources[].file exists in `dir` and its title is a trimmed line of it;
 * every question's source.section is a trimmed line of its source.file.
 * Returns the number of problems found. */
size_t cq_content_check_sources(const struct cq_bank *b, const struct cq_content_sources *s,
                                const char *name, const char *dir, struct cq_content_errors *errs);

#endif
