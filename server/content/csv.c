/* csv.c: the Kahoot! spreadsheet layout as CSV (RFC 4180), both ways.
 *
 * Columns: Question, Answer 1, Answer 2, Answer 3, Answer 4, Time limit
 * (sec), Correct answer(s). With a header row the columns are found by
 * name; without one they are taken in that order. Mapping: docs/import.md.
 */
#include "content_tools.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

#define CSV_FIELDS_MAX  64 /* cells in one record */
#define CSV_HEADER_SCAN 10 /* non-blank records searched for the header */
#define CSV_COLUMNS     7

enum col { COL_QUESTION, COL_A1, COL_A2, COL_A3, COL_A4, COL_TIME, COL_CORRECT };

static const char *const col_name[CSV_COLUMNS] = {
    "Question", "Answer 1",         "Answer 2",         "Answer 3",
    "Answer 4", "Time limit (sec)", "Correct answer(s)"};
/* Folded prefixes that recognise a header cell. */
static const char *const col_prefix[CSV_COLUMNS] = {
    "question", "answer 1", "answer 2", "answer 3", "answer 4", "time limit", "correct"};

struct record {
    char *f[CSV_FIELDS_MAX]; /* raw cell values (unquoted) */
    size_t n;
    unsigned line;
};

static void record_free(struct record *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->f[i]);
    r->n = 0;
}

/* The delimiter: ',' unless the first line has none outside quotes and has
 * ';' or tabs (spreadsheets in some locales write ';'). */
static char detect_delim(const char *p, const char *end)
{
    size_t comma = 0, semi = 0, tab = 0;
    bool q = false;
    for (; p < end && (q || (*p != '\n' && *p != '\r')); p++) {
        if (*p == '"')
            q = !q;
        else if (!q)
            comma += *p == ',', semi += *p == ';', tab += *p == '\t';
    }
    if (comma || (!semi && !tab))
        return ',';
    return semi >= tab ? ';' : '\t';
}

#define csv_error(quiet, im, ...)                                                                  \
    do {                                                                                           \
        if (!(quiet))                                                                              \
            cq_import_error(im, __VA_ARGS__);                                                      \
    } while (0)

/* Reads one record at *pp. Returns 1 with a record, 0 at the end, -1 on a
 * syntax error (reported; *pp moves past the bad line). */
static int read_record(struct cq_import *im, const char **pp, const char *end, unsigned *line,
                       char delim, struct record *r, bool quiet)
{
    const char *p = *pp;
    struct cq_content_buf cell;
    int result = -1;
    r->n = 0;
    r->line = *line;
    if (p >= end)
        return 0;
    cq_content_buf_init(&cell, CQ_IMPORT_FILE_MAX);
    for (;;) {
        cell.len = 0;
        if (cell.p)
            cell.p[0] = '\0';
        if (p < end && *p == '"') {
            unsigned qline = *line;
            p++;
            for (;;) {
                if (p >= end) {
                    csv_error(quiet, im, qline, NULL,
                              "column %zu: the quote opened here is never closed", r->n + 1);
                    *pp = end;
                    record_free(r);
                    goto out;
                }
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"') {
                        cq_content_buf_add(&cell, "\"", 1);
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                if (*p == '\n')
                    (*line)++;
                cq_content_buf_add(&cell, p, 1);
                p++;
            }
            if (p < end && *p != delim && *p != '\n' && *p != '\r') {
                csv_error(quiet, im, *line, NULL,
                          "column %zu: text after the closing quote (a quote inside a "
                          "field is written \"\")",
                          r->n + 1);
                goto skip_line;
            }
        } else {
            const char *s = p;
            while (p < end && *p != delim && *p != '\n' && *p != '\r')
                p++;
            if (memchr(s, '"', (size_t)(p - s))) {
                csv_error(quiet, im, *line, NULL,
                          "column %zu: a quote inside an unquoted field (quote the whole "
                          "field and write the quote as \"\")",
                          r->n + 1);
                goto skip_line;
            }
            cq_content_buf_add(&cell, s, (size_t)(p - s));
        }
        if (cell.failed || r->n == CSV_FIELDS_MAX) {
            csv_error(quiet, im, r->line, NULL, "more than %d columns, or a cell too long",
                      CSV_FIELDS_MAX);
            goto skip_line;
        }
        r->f[r->n] = strdup(cell.p ? cell.p : "");
        if (!r->f[r->n])
            goto skip_line;
        r->n++;
        if (p < end && *p == delim) {
            p++;
            continue;
        }
        break;
    }
    if (p < end && *p == '\r')
        p++;
    if (p < end && *p == '\n')
        p++;
    (*line)++;
    *pp = p;
    result = 1;
    goto out;
skip_line:
    while (p < end && *p != '\n')
        p++;
    if (p < end)
        p++;
    (*line)++;
    *pp = p;
    record_free(r);
out:
    cq_content_buf_free(&cell);
    return result;
}

bool cq_csv_formula_start(const char *s)
{
    return s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@';
}

/* The cell as it will be shown: trimmed, inner white space collapsed.
 * NULL (reported) when it is not valid text. */
static char *cell_text(struct cq_import *im, const struct record *r, int col_idx, const char *label,
                       const char *qid, bool *bad)
{
    const char *s = col_idx >= 0 && (size_t)col_idx < r->n ? r->f[col_idx] : "";
    size_t cap = strlen(s) + 1;
    char *out = malloc(cap);
    if (!out) {
        *bad = true;
        return NULL;
    }
    /* Line breaks inside a quoted cell are white space here; other
     * control characters are not accepted. */
    char *tmp = strdup(s);
    if (!tmp) {
        free(out);
        *bad = true;
        return NULL;
    }
    for (char *t = tmp; *t; t++)
        if (*t == '\n' || *t == '\r' || *t == '\t')
            *t = ' ';
    char why[160] = "";
    if (!cq_text_check(tmp, why, sizeof why) || !cq_text_trim(tmp, out, cap)) {
        cq_import_error(im, r->line, qid, "%s: %s", label,
                        why[0] ? why : "is too long once trimmed");
        free(out);
        out = NULL;
        *bad = true;
    }
    free(tmp);
    /* Undo export's defusing: '=... was written for =... (a spreadsheet
     * saves such a cell without the ' too). */
    if (out && out[0] == '\'' && cq_csv_formula_start(out + 1))
        memmove(out, out + 1, strlen(out));
    return out;
}

static bool cell_blank(const char *s)
{
    size_t tn;
    cq_content_trim(s, strlen(s), &tn);
    return tn == 0;
}

static bool record_blank(const struct record *r)
{
    for (size_t i = 0; i < r->n; i++)
        if (!cell_blank(r->f[i]))
            return false;
    return true;
}

/* A header row has a cell starting "question" and one starting "answer". */
static bool is_header(const struct record *r)
{
    bool q = false, a = false;
    for (size_t i = 0; i < r->n; i++) {
        char fold[256];
        if (!cq_text_fold(r->f[i], fold, sizeof fold))
            continue;
        q |= !strncmp(fold, "question", 8);
        a |= !strncmp(fold, "answer", 6);
    }
    return q && a;
}

/* Parses "1", "1,3", "2; 4", "1 3": answer numbers 1..4, each once. */
static bool parse_correct(struct cq_import *im, const struct record *r, const char *s,
                          const char *qid, unsigned *mask)
{
    *mask = 0;
    const char *p = s;
    while (*p) {
        while (*p == ',' || *p == ';' || *p == ' ')
            p++;
        if (!*p)
            break;
        const char *t = p;
        while (*p && *p != ',' && *p != ';' && *p != ' ')
            p++;
        if (p - t != 1 || *t < '1' || *t > '4') {
            cq_import_error(im, r->line, qid, "%s: \"%.*s\" is not an answer number from 1 to 4",
                            col_name[COL_CORRECT], (int)(p - t), t);
            return false;
        }
        unsigned bit = 1u << (*t - '1');
        if (*mask & bit) {
            cq_import_error(im, r->line, qid, "%s: lists answer %c twice", col_name[COL_CORRECT],
                            *t);
            return false;
        }
        *mask |= bit;
    }
    if (!*mask) {
        cq_import_error(im, r->line, qid,
                        "%s: is empty (a Kahoot! question has at least one correct answer)",
                        col_name[COL_CORRECT]);
        return false;
    }
    return true;
}

static void import_row(struct cq_import *im, const struct record *r, const int *col)
{
    char *cells[CSV_COLUMNS] = {NULL};
    char *base = NULL;
    json_t *q = NULL;
    bool bad = false;
    const char *qid = NULL;

    cells[COL_QUESTION] = cell_text(im, r, col[COL_QUESTION], col_name[COL_QUESTION], NULL, &bad);
    if (bad)
        goto skip;
    base = cq_content_slug(cells[COL_QUESTION], 48);
    qid = base ? base : "q";
    for (int c = COL_A1; c < CSV_COLUMNS; c++) {
        cells[c] = cell_text(im, r, col[c], col_name[c], qid, &bad);
        if (bad)
            goto skip;
    }
    if (!*cells[COL_QUESTION]) {
        cq_import_error(im, r->line, NULL, "%s: is empty", col_name[COL_QUESTION]);
        goto skip;
    }
    unsigned mask;
    if (!parse_correct(im, r, cells[COL_CORRECT], qid, &mask))
        goto skip;

    /* Answers: the filled columns, in order; correct numbers follow them. */
    const char *opts[4];
    unsigned n = 0, correct = 0, n_correct = 0;
    for (unsigned a = 0; a < 4; a++) {
        bool filled = *cells[COL_A1 + a] != '\0';
        if ((mask >> a) & 1u) {
            if (!filled) {
                cq_import_error(im, r->line, qid, "%s: answer %u is marked correct but empty",
                                col_name[COL_CORRECT], a + 1);
                goto skip;
            }
            correct |= 1u << n;
            n_correct++;
        }
        if (filled)
            opts[n++] = cells[COL_A1 + a];
    }
    if (n < 2) {
        cq_import_error(im, r->line, qid, "needs at least two answers (Answer 1 to Answer 4)");
        goto skip;
    }
    q = json_object();
    json_object_set_new(q, "prompt", json_string(cells[COL_QUESTION]));
    char f0[16], f1[16];
    bool tf = n == 2 && n_correct == 1 && cq_text_fold(opts[0], f0, sizeof f0) &&
              cq_text_fold(opts[1], f1, sizeof f1) &&
              ((!strcmp(f0, "true") && !strcmp(f1, "false")) ||
               (!strcmp(f0, "false") && !strcmp(f1, "true")));
    if (tf) {
        /* Kahoot!'s true-or-false questions are two answers, True and False. */
        const char *right = correct == 1u ? f0 : f1;
        json_object_set_new(q, "type", json_string("truefalse"));
        json_object_set_new(q, "correct", json_boolean(!strcmp(right, "true")));
    } else {
        if (n_correct == n) {
            cq_import_error(im, r->line, qid,
                            "%s: every answer is marked correct; a Chainquiz multi question "
                            "needs at least one wrong answer",
                            col_name[COL_CORRECT]);
            goto skip;
        }
        json_t *o = json_array(), *c = json_array();
        for (unsigned i = 0; i < n; i++) {
            json_array_append_new(o, json_string(opts[i]));
            if ((correct >> i) & 1u)
                json_array_append_new(c, json_integer(i));
        }
        json_object_set_new(q, "type", json_string(n_correct > 1 ? "multi" : "single"));
        json_object_set_new(q, "options", o);
        json_object_set_new(q, "correct", c);
    }
    const char *t = cells[COL_TIME];
    if (*t) {
        char *e;
        long secs = strtol(t, &e, 10);
        if (*e || secs < 5 || secs > CQ_TIME_LIMIT_MAX_S) {
            cq_import_error(im, r->line, qid,
                            "%s: \"%s\" is not a whole number of seconds from 5 to %d (Kahoot! "
                            "uses 5, 10, 20, 30, 60, 90, 120 or 240)",
                            col_name[COL_TIME], t, CQ_TIME_LIMIT_MAX_S);
            goto skip;
        }
        json_object_set_new(q, "time_limit", json_integer(secs));
    }
    cq_import_add(im, q, r->line, qid);
    q = NULL;
    goto out;
skip:
    cq_import_skip(im);
out:
    json_decref(q);
    for (int c = 0; c < CSV_COLUMNS; c++)
        free(cells[c]);
    free(base);
}

void cq_csv_import(struct cq_import *im, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    unsigned line = 1, seen = 0;
    char delim = detect_delim(p, end);
    int col[CSV_COLUMNS] = {0, 1, 2, 3, 4, 5, 6};
    bool header_found = false, header_ok = true;
    struct record r = {{NULL}, 0, 0};

    /* The header, if any: within the first CSV_HEADER_SCAN non-blank
     * records; those before it are the template's preamble. */
    const char *scan = p;
    unsigned scan_line = line;
    while (seen < CSV_HEADER_SCAN) {
        int k = read_record(im, &scan, end, &scan_line, delim, &r, true);
        if (k <= 0)
            break; /* a bad record is reported when it is read as data */
        if (record_blank(&r)) {
            record_free(&r);
            continue;
        }
        seen++;
        if (is_header(&r)) {
            header_found = true;
            for (int c = 0; c < CSV_COLUMNS; c++)
                col[c] = -1;
            for (size_t i = 0; i < r.n; i++) {
                char fold[256];
                if (cell_blank(r.f[i]))
                    continue;
                int found = -1;
                if (cq_text_fold(r.f[i], fold, sizeof fold))
                    for (int c = 0; c < CSV_COLUMNS && found < 0; c++)
                        if (!strncmp(fold, col_prefix[c], strlen(col_prefix[c])))
                            found = c;
                if (found >= 0 && col[found] < 0) {
                    col[found] = (int)i;
                } else {
                    cq_import_error(im, r.line, NULL,
                                    "header: column %zu (\"%s\") is not part of the Kahoot! "
                                    "layout; its cells are not imported",
                                    i + 1, r.f[i]);
                }
            }
            for (int c = 0; c < CSV_COLUMNS; c++)
                if (col[c] < 0 && c != COL_A3 && c != COL_A4 && c != COL_TIME) {
                    cq_import_error(im, r.line, NULL, "header: no \"%s\" column", col_name[c]);
                    header_ok = false;
                }
            p = scan;
            line = scan_line;
            record_free(&r);
            break;
        }
        record_free(&r);
    }
    record_free(&r);
    if (!header_ok)
        return;

    for (;;) {
        int k = read_record(im, &p, end, &line, delim, &r, false);
        if (k == 0)
            break;
        if (k < 0) {
            cq_import_skip(im);
            continue;
        }
        if (record_blank(&r)) {
            record_free(&r);
            continue;
        }
        if (!header_found) {
            size_t last = r.n;
            while (last > 0 && cell_blank(r.f[last - 1]))
                last--;
            if (last > CSV_COLUMNS) {
                cq_import_error(im, r.line, NULL,
                                "column %zu: the layout has %d columns (Question, Answer 1-4, "
                                "Time limit (sec), Correct answer(s)); add a header row to "
                                "name them",
                                last, CSV_COLUMNS);
                cq_import_skip(im);
                record_free(&r);
                continue;
            }
        }
        import_row(im, &r, col);
        record_free(&r);
    }
}

/* --- Export. --- */

/* RFC 4180 quoting, also for ';' so that the file reads the same in
 * spreadsheets that split on it. A text cell that a spreadsheet would run
 * as a formula (=, +, -, @ first) is defused as the results CSV does it
 * (server/net/http.c): quoted, with a leading '. Import removes it again. */
static void put_cell(struct cq_content_buf *o, const char *s, bool last)
{
    size_t n = strlen(s);
    bool formula = cq_csv_formula_start(s);
    bool quote = formula || strpbrk(s, ",\"\r\n;\t") || (n && (s[0] == ' ' || s[n - 1] == ' '));
    if (quote) {
        cq_content_buf_str(o, formula ? "\"'" : "\"");
        for (; *s; s++) {
            if (*s == '"')
                cq_content_buf_add(o, "\"", 1);
            cq_content_buf_add(o, s, 1);
        }
        cq_content_buf_str(o, "\"");
    } else {
        cq_content_buf_str(o, s);
    }
    cq_content_buf_str(o, last ? "\r\n" : ",");
}

int cq_csv_export(const struct cq_bank *b, const char *name, struct cq_content_buf *out,
                  struct cq_content_errors *errs, size_t *skipped)
{
    *skipped = 0;
    for (int c = 0; c < CSV_COLUMNS; c++)
        put_cell(out, col_name[c], c == CSV_COLUMNS - 1);
    for (size_t i = 0; i < b->n_questions; i++) {
        const struct cq_question *q = &b->questions[i];
        const char *no = NULL;
        char why[120];
        switch (q->type) {
        case CQ_Q_TYPEANSWER:
            no = "the Kahoot! spreadsheet has no typed-answer question";
            break;
        case CQ_Q_ORDERING:
            no = "the Kahoot! spreadsheet has no ordering question";
            break;
        case CQ_Q_POLL:
            no = "the Kahoot! spreadsheet has no poll (every question needs a correct answer)";
            break;
        case CQ_Q_SINGLE:
        case CQ_Q_MULTI:
            if (q->n_options > 4) {
                snprintf(why, sizeof why,
                         "%u options, and the Kahoot! spreadsheet has 4 answer columns",
                         q->n_options);
                no = why;
            }
            break;
        default:
            break;
        }
        if (no) {
            cq_content_errors_add(errs, "%s: question %s: cannot be exported to CSV: %s", name,
                                  q->id, no);
            (*skipped)++;
            continue;
        }
        const char *opts[4] = {"", "", "", ""};
        unsigned mask;
        if (q->type == CQ_Q_TRUEFALSE) {
            opts[0] = "True";
            opts[1] = "False";
            mask = q->truth ? 1u : 2u;
        } else {
            for (unsigned o = 0; o < q->n_options; o++)
                opts[o] = q->options[o];
            mask = q->correct_mask;
        }
        char time[16] = "", correct[16] = "";
        if (q->time_limit_s)
            snprintf(time, sizeof time, "%d", q->time_limit_s);
        for (unsigned o = 0, k = 0; o < 4; o++)
            if ((mask >> o) & 1u)
                k += (unsigned)snprintf(correct + k, sizeof correct - k, "%s%u", k ? "," : "",
                                        o + 1);
        put_cell(out, q->prompt, false);
        for (unsigned o = 0; o < 4; o++)
            put_cell(out, opts[o], false);
        put_cell(out, time, false);
        put_cell(out, correct, true);
    }
    return out->failed ? -1 : 0;
}
