/* bank_load.c: strict parsing of chainquiz-bank/1 files into cq_bank.
 *
 * Every rule here is stated in docs/bank-format.md, and every rule that JSON
 * Schema can express is also in content/schema/bank.schema.json; change the
 * three together (tests/fixtures/banks-invalid has one case per rule).
 * Depends on jansson and server/game/text.c only: scripts/fuzz builds it
 * without the rest of the tree.
 */
#include "content.h"

#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cq_utf8.h"
#include "text.h"

#define ERROR_LINE_MAX 640 /* bytes in one error line; longer ones are cut */

void cq_content_errors_init(struct cq_content_errors *e, size_t cap)
{
    memset(e, 0, sizeof *e);
    e->cap = cap;
}

void cq_content_errors_free(struct cq_content_errors *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->lines[i]);
    free(e->lines);
    memset(e, 0, sizeof *e);
}

void cq_content_errors_add(struct cq_content_errors *e, const char *fmt, ...)
{
    char buf[ERROR_LINE_MAX];
    va_list ap;
    if (!e)
        return;
    if (e->n >= e->cap) {
        e->dropped++;
        return;
    }
    if (!e->lines && !(e->lines = calloc(e->cap, sizeof *e->lines))) {
        e->dropped++;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    e->lines[e->n] = strdup(buf);
    if (e->lines[e->n])
        e->n++;
    else
        e->dropped++;
}

const char *cq_qtype_name(enum cq_qtype t)
{
    static const char *const names[CQ_Q__COUNT] = {"single",     "multi",    "truefalse",
                                                   "typeanswer", "ordering", "poll"};
    return (unsigned)t < CQ_Q__COUNT ? names[t] : "?";
}

int cq_qtype_from_name(const char *name)
{
    for (int i = 0; i < CQ_Q__COUNT; i++)
        if (!strcmp(cq_qtype_name((enum cq_qtype)i), name))
            return i;
    return -1;
}

void cq_content_sources_free(struct cq_content_sources *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].file);
        free(s->v[i].title);
    }
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* Parsing context: which file and question errors are about, and the bank's
 * source files for the source.file cross-check (none when `sources` itself
 * was invalid: one error there is enough). */
struct ctx {
    const char *name;
    const char *qid;
    struct cq_content_errors *errs;
    int bad;
    const char *const *files;
    size_t n_files;
    bool check_files;
    char label[32]; /* "#3" while a question has no valid id yet */
};

#define BAD(c, field, ...)                                                                         \
    do {                                                                                           \
        char why_[320];                                                                            \
        snprintf(why_, sizeof why_, __VA_ARGS__);                                                  \
        if ((c)->qid)                                                                              \
            cq_content_errors_add((c)->errs, "%s: question %s: %s: %s", (c)->name, (c)->qid,       \
                                  field, why_);                                                    \
        else                                                                                       \
            cq_content_errors_add((c)->errs, "%s: %s: %s", (c)->name, field, why_);                \
        (c)->bad++;                                                                                \
    } while (0)

/* Text shape flags for check_str. */
#define TXT_TRIMMED 1u /* no white space at either end (headings) */
#define TXT_NOSPACE 2u /* no white space at all (licence, URLs) */
#define TXT_NOSLASH 4u /* a file name: no '/' or '\', not "." or ".." */

/* Checks a JSON value as a string field: valid text, 1..max code points, not
 * blank, and the shape `flags` asks for. Returns the string or NULL. */
static const char *check_str(struct ctx *c, json_t *v, const char *field, size_t max,
                             unsigned flags)
{
    if (!json_is_string(v)) {
        BAD(c, field, "must be a string");
        return NULL;
    }
    const char *s = json_string_value(v);
    char why[160];
    if (strlen(s) != json_string_length(v)) {
        BAD(c, field, "contains a NUL character (\\u0000)");
        return NULL;
    }
    if (!cq_text_check(s, why, sizeof why)) {
        BAD(c, field, "%s", why);
        return NULL;
    }
    size_t n = cq_text_len(s);
    if (n < 1 || n > max) {
        BAD(c, field, "must have 1 to %zu characters (has %zu)", max, n);
        return NULL;
    }
    bool blank = true, ws_first = false, ws_last = false, ws_any = false;
    /* White space is Unicode's (cq_utf8.h); JSON Schema's \s differs only in
     * U+FEFF and U+0085, controls cq_text_valid has refused already. */
    for (const char *p = s, *end = s + strlen(s); p < end;) {
        uint32_t cp = 0;
        bool first = p == s;
        p += cq_utf8_decode(p, (size_t)(end - p), &cp);
        bool ws = cq_utf8_is_space(cp);
        ws_any |= ws;
        blank &= ws;
        if (first)
            ws_first = ws;
        ws_last = ws;
    }
    if (blank) {
        BAD(c, field, "must not be blank");
        return NULL;
    }
    if ((flags & TXT_TRIMMED) && (ws_first || ws_last)) {
        BAD(c, field, "must not start or end with white space");
        return NULL;
    }
    if ((flags & TXT_NOSPACE) && ws_any) {
        BAD(c, field, "must not contain white space");
        return NULL;
    }
    if ((flags & TXT_NOSLASH) &&
        (strchr(s, '/') || strchr(s, '\\') || !strcmp(s, ".") || !strcmp(s, ".."))) {
        BAD(c, field, "must be a file name without a directory part (no / or \\, not . or ..)");
        return NULL;
    }
    return s;
}

/* A string member: present when required, then as check_str; a copy. */
static char *get_text(struct ctx *c, json_t *obj, const char *key, const char *field, bool required,
                      size_t max, unsigned flags)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required)
            BAD(c, field, "is required");
        return NULL;
    }
    const char *s = check_str(c, v, field, max, flags);
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        BAD(c, field, "out of memory");
    return d;
}

static bool id_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n < 1 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
        if (!alnum && !(i > 0 && ch == '-'))
            return false;
    }
    return true;
}

/* ^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$ */
static bool language_ok(const char *s)
{
    size_t n = 0;
    while (s[n] >= 'a' && s[n] <= 'z')
        n++;
    if (n < 2 || n > 3)
        return false;
    s += n;
    while (*s == '-') {
        s++;
        n = 0;
        while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
               (s[n] >= '0' && s[n] <= '9'))
            n++;
        if (n < 2 || n > 8)
            return false;
        s += n;
    }
    return *s == '\0';
}

/* ^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$ */
static bool version_ok(const char *s)
{
    for (int part = 0; part < 3; part++) {
        if (part && *s++ != '.')
            return false;
        size_t n = 0;
        while (s[n] >= '0' && s[n] <= '9')
            n++;
        if (n == 0 || (n > 1 && s[0] == '0'))
            return false;
        s += n;
    }
    return *s == '\0';
}

/* Every object is closed: a key not in `allowed` is an error. */
static void check_keys(struct ctx *c, json_t *obj, const char *prefix, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        bool found = false;
        for (const char *const *a = allowed; *a; a++)
            if (!strcmp(*a, key))
                found = true;
        if (!found) {
            char field[96];
            snprintf(field, sizeof field, "%s%s", prefix, key);
            BAD(c, field, "unknown field");
        }
    }
}

static int get_int(struct ctx *c, json_t *obj, const char *key, int lo, int hi, int dflt)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return dflt;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        BAD(c, key, "must be an integer from %d to %d", lo, hi);
        return dflt;
    }
    return (int)json_integer_value(v);
}

static void parse_options(struct ctx *c, json_t *jq, struct cq_question *q, unsigned lo)
{
    json_t *opts = json_object_get(jq, "options");
    if (!json_is_array(opts)) {
        BAD(c, "options", "must be an array of %u to %d strings", lo, CQ_OPTIONS_MAX);
        return;
    }
    size_t n = json_array_size(opts);
    if (n < lo || n > CQ_OPTIONS_MAX) {
        BAD(c, "options", "must have %u to %d entries (has %zu)", lo, CQ_OPTIONS_MAX, n);
        return;
    }
    char fold[CQ_OPTIONS_MAX][4 * CQ_OPTION_TEXT_MAX + 1];
    for (size_t i = 0; i < n; i++) {
        char field[48];
        snprintf(field, sizeof field, "options[%zu]", i);
        const char *s = check_str(c, json_array_get(opts, i), field, CQ_OPTION_TEXT_MAX, 0);
        fold[i][0] = '\0';
        if (!s)
            continue;
        q->options[i] = strdup(s);
        if (!cq_text_fold(s, fold[i], sizeof fold[i]))
            fold[i][0] = '\0';
        for (size_t j = 0; j < i; j++)
            if (fold[i][0] && !strcmp(fold[i], fold[j]))
                BAD(c, field, "repeats options[%zu] (case, accents and white space are ignored)",
                    j);
    }
    q->n_options = (unsigned)n;
}

static void parse_correct(struct ctx *c, json_t *jq, struct cq_question *q)
{
    json_t *v = json_object_get(jq, "correct");
    if (q->type == CQ_Q_TRUEFALSE) {
        if (!json_is_boolean(v))
            BAD(c, "correct", "must be true or false for a truefalse question");
        else
            q->truth = json_is_true(v);
        return;
    }
    if (q->type != CQ_Q_SINGLE && q->type != CQ_Q_MULTI) {
        if (v)
            BAD(c, "correct", "is not allowed for %s questions", cq_qtype_name(q->type));
        return;
    }
    if (!json_is_array(v) || json_array_size(v) < 1) {
        BAD(c, "correct", "must be a non-empty array of option indexes");
        return;
    }
    if (q->type == CQ_Q_SINGLE && json_array_size(v) != 1) {
        BAD(c, "correct", "a single question has exactly one correct option");
        return;
    }
    if (!q->n_options)
        return; /* `options` was already reported */
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *x = json_array_get(v, i);
        if (!json_is_integer(x) || json_integer_value(x) < 0 ||
            json_integer_value(x) >= (json_int_t)q->n_options) {
            BAD(c, "correct", "entry %zu does not point at an option (0 to %u)", i,
                q->n_options - 1);
            return;
        }
        unsigned bit = 1u << json_integer_value(x);
        if (q->correct_mask & bit) {
            BAD(c, "correct", "lists option %d twice", (int)json_integer_value(x));
            return;
        }
        q->correct_mask |= bit;
    }
    if (q->type == CQ_Q_MULTI && q->correct_mask == (1u << q->n_options) - 1)
        BAD(c, "correct", "a multi question needs at least one wrong option");
}

static void parse_accepted(struct ctx *c, json_t *jq, struct cq_question *q)
{
    json_t *v = json_object_get(jq, "accepted");
    if (q->type != CQ_Q_TYPEANSWER) {
        if (v)
            BAD(c, "accepted", "is only for typeanswer questions");
        return;
    }
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > CQ_ACCEPTED_MAX) {
        BAD(c, "accepted", "must be an array of 1 to %d strings", CQ_ACCEPTED_MAX);
        return;
    }
    for (size_t i = 0; i < json_array_size(v); i++) {
        char field[48], fold[5 * 4 * CQ_ACCEPTED_TEXT_MAX + 1]; /* cq_text_answer_key */
        snprintf(field, sizeof field, "accepted[%zu]", i);
        const char *s = check_str(c, json_array_get(v, i), field, CQ_ACCEPTED_TEXT_MAX, 0);
        if (!s)
            continue;
        if (!cq_text_answer_key(s, fold, sizeof fold) || !*fold) {
            BAD(c, field, "is empty once folded");
            continue;
        }
        for (unsigned j = 0; j < CQ_ACCEPTED_MAX && j < i; j++)
            if (q->accepted_fold[j] && !strcmp(q->accepted_fold[j], fold))
                BAD(c, field,
                    "repeats accepted[%u] (case, accents, white space, punctuation and a leading "
                    "article are ignored)",
                    j);
        q->accepted[i] = strdup(s);
        q->accepted_fold[i] = strdup(fold);
    }
    q->n_accepted = (unsigned)json_array_size(v);
}

static void parse_tags(struct ctx *c, json_t *jq, struct cq_question *q)
{
    json_t *v = json_object_get(jq, "tags");
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > CQ_QTAGS_MAX) {
        BAD(c, "tags", "must be an array of 1 to %d tags", CQ_QTAGS_MAX);
        return;
    }
    for (size_t i = 0; i < json_array_size(v); i++) {
        const char *s = json_string_value(json_array_get(v, i));
        char field[48];
        snprintf(field, sizeof field, "tags[%zu]", i);
        if (!s || !id_ok(s, CQ_TAG_MAX)) {
            BAD(c, field, "must match [a-z0-9][a-z0-9-]{0,31}");
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (q->tags[j] && !strcmp(q->tags[j], s))
                BAD(c, field, "repeats tags[%zu]", j);
        q->tags[i] = strdup(s);
    }
    q->n_tags = (unsigned)json_array_size(v);
}

/* `excludes`: question ids only; whether they exist is checked once the
 * whole bank is read (resolve_excludes). */
static void parse_excludes(struct ctx *c, json_t *jq, struct cq_question *q)
{
    json_t *v = json_object_get(jq, "excludes");
    if (!v)
        return;
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > CQ_EXCLUDES_MAX) {
        BAD(c, "excludes", "must be an array of 1 to %d question ids", CQ_EXCLUDES_MAX);
        return;
    }
    for (size_t i = 0; i < json_array_size(v); i++) {
        const char *s = json_string_value(json_array_get(v, i));
        char field[48];
        snprintf(field, sizeof field, "excludes[%zu]", i);
        if (!s || !id_ok(s, CQ_QID_MAX)) {
            BAD(c, field, "must be a question id ([a-z0-9][a-z0-9-]{0,63})");
            continue;
        }
        if (q->id && !strcmp(q->id, s)) {
            BAD(c, field, "a question cannot exclude itself");
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (q->exclude_ids[j] && !strcmp(q->exclude_ids[j], s))
                BAD(c, field, "repeats excludes[%zu]", j);
        q->exclude_ids[i] = strdup(s);
    }
    q->n_exclude_ids = (unsigned)json_array_size(v);
}

static void parse_source(struct ctx *c, json_t *jq, struct cq_question *q)
{
    static const char *const keys[] = {"file", "section", NULL};
    json_t *src = json_object_get(jq, "source");
    if (!json_is_object(src)) {
        BAD(c, "source", "must be an object with file and section");
        return;
    }
    check_keys(c, src, "source.", keys);
    q->source_file = get_text(c, src, "file", "source.file", true, CQ_SOURCE_TEXT_MAX, TXT_NOSLASH);
    q->source_section =
        get_text(c, src, "section", "source.section", true, CQ_SOURCE_TEXT_MAX, TXT_TRIMMED);
    if (q->source_file && c->check_files) {
        bool listed = false;
        for (size_t i = 0; i < c->n_files; i++)
            listed |= !strcmp(c->files[i], q->source_file);
        if (!listed)
            BAD(c, "source.file", "\"%s\" is not listed in the bank's sources", q->source_file);
    }
}

static void parse_image(struct ctx *c, json_t *jq, struct cq_question *q)
{
    q->image = get_text(c, jq, "image", "image", false, CQ_IMAGE_MAX, TXT_NOSPACE);
    if (!q->image)
        return;
    /* A file of the bank's own: checked against the folder on loading. */
    if (!strncmp(q->image, "media/", 6) && cq_media_name_ok(q->image + 6, NULL))
        return;
    size_t skip = !strncmp(q->image, "http://", 7) ? 7 : !strncmp(q->image, "https://", 8) ? 8 : 0;
    if (!skip || !q->image[skip]) {
        BAD(c, "image",
            "must be an http:// or https:// URL, or media/NAME (a .png, .jpg, .jpeg, .gif or "
            ".webp file in the bank's media folder; NAME: up to %d of A-Z a-z 0-9 . _ -)",
            CQ_MEDIA_NAME_MAX);
        free(q->image);
        q->image = NULL;
    }
}

/* Labels errors with the question's id when it is a valid one, else with its
 * position ("#3") or "?". */
static void parse_question(struct ctx *c, json_t *jq, struct cq_question *q, size_t index)
{
    static const char *const keys[] = {"id",      "type",       "prompt",      "options",
                                       "correct", "accepted",   "explanation", "source",
                                       "tags",    "difficulty", "time_limit",  "points",
                                       "image",   "excludes",   NULL};
    if (index)
        snprintf(c->label, sizeof c->label, "#%zu", index);
    else
        snprintf(c->label, sizeof c->label, "?");
    c->qid = c->label;
    if (!json_is_object(jq)) {
        BAD(c, "(question)", "must be an object");
        return;
    }
    q->id = get_text(c, jq, "id", "id", true, CQ_QID_MAX, 0);
    if (q->id && !id_ok(q->id, CQ_QID_MAX)) {
        BAD(c, "id", "must match [a-z0-9][a-z0-9-]{0,63}");
        free(q->id);
        q->id = NULL;
    }
    if (q->id)
        c->qid = q->id;
    check_keys(c, jq, "", keys);

    const char *type = json_string_value(json_object_get(jq, "type"));
    int t = type ? cq_qtype_from_name(type) : -1;
    if (t < 0) {
        BAD(c, "type", "must be one of single, multi, truefalse, typeanswer, ordering, poll");
        return;
    }
    q->type = (enum cq_qtype)t;
    q->prompt = get_text(c, jq, "prompt", "prompt", true, CQ_PROMPT_MAX, 0);
    switch (q->type) {
    case CQ_Q_SINGLE:
    case CQ_Q_MULTI:
    case CQ_Q_POLL:
        parse_options(c, jq, q, 2);
        break;
    case CQ_Q_ORDERING:
        parse_options(c, jq, q, 3);
        break;
    case CQ_Q_TRUEFALSE:
    case CQ_Q_TYPEANSWER:
        if (json_object_get(jq, "options"))
            BAD(c, "options", "is not allowed for %s questions", type);
        break;
    case CQ_Q__COUNT:
        break;
    }
    parse_correct(c, jq, q);
    parse_accepted(c, jq, q);
    q->explanation = get_text(c, jq, "explanation", "explanation", true, CQ_EXPLANATION_MAX, 0);
    parse_source(c, jq, q);
    parse_tags(c, jq, q);

    const char *d = json_string_value(json_object_get(jq, "difficulty"));
    if (!d || (strcmp(d, "easy") && strcmp(d, "medium") && strcmp(d, "hard")))
        BAD(c, "difficulty", "must be easy, medium or hard");
    else
        q->difficulty = !strcmp(d, "easy") ? 0 : !strcmp(d, "medium") ? 1 : 2;
    q->time_limit_s = get_int(c, jq, "time_limit", 5, CQ_TIME_LIMIT_MAX_S, 0);
    q->points = get_int(c, jq, "points", 0, 2, q->type == CQ_Q_POLL ? 0 : 1);
    if (q->type == CQ_Q_POLL && q->points != 0)
        BAD(c, "points", "a poll is not scored: points must be 0");
    parse_image(c, jq, q);
    parse_excludes(c, jq, q);
}

static void question_free(struct cq_question *q)
{
    free(q->id);
    free(q->prompt);
    for (unsigned i = 0; i < CQ_OPTIONS_MAX; i++)
        free(q->options[i]);
    for (unsigned i = 0; i < CQ_ACCEPTED_MAX; i++) {
        free(q->accepted[i]);
        free(q->accepted_fold[i]);
    }
    free(q->explanation);
    for (unsigned i = 0; i < CQ_QTAGS_MAX; i++)
        free(q->tags[i]);
    free(q->image);
    free(q->source_file);
    free(q->source_section);
    for (unsigned i = 0; i < CQ_EXCLUDES_MAX; i++)
        free(q->exclude_ids[i]);
    free(q->excludes);
}

void cq_bank_free(struct cq_bank *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n_questions; i++)
        question_free(&b->questions[i]);
    free(b->questions);
    free(b->id);
    free(b->title);
    free(b->description);
    free(b->language);
    free(b->version);
    free(b->licence);
    free(b->dir);
    free(b);
}

bool cq_media_name_ok(const char *name, const char **mime)
{
    static const char *const types[][2] = {{".png", "image/png"},
                                           {".jpg", "image/jpeg"},
                                           {".jpeg", "image/jpeg"},
                                           {".gif", "image/gif"},
                                           {".webp", "image/webp"}};
    size_t n = strlen(name);
    if (!n || n > CQ_MEDIA_NAME_MAX ||
        strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != n ||
        !strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", name[0]))
        return false;
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        size_t e = strlen(types[i][0]);
        if (n > e && !strcmp(name + n - e, types[i][0])) {
            if (mime)
                *mime = types[i][1];
            return true;
        }
    }
    return false;
}

/* A bank loaded from a file: its folder, and each `media/NAME` image there
 * (a regular file of at most CQ_MEDIA_MAX bytes, not reached through a
 * symlink out of the folder's media/). False, with errors, when one is not. */
static bool media_check(struct cq_bank *b, const char *path, struct cq_content_errors *errs)
{
    char real[PATH_MAX], file[PATH_MAX + 128], media[PATH_MAX + 16];
    if (!realpath(path, real))
        return true; /* it was just read: cannot happen but for a race */
    char *slash = strrchr(real, '/');
    *slash = '\0';
    b->dir = strdup(real[0] ? real : "/");
    if (!b->dir) {
        cq_content_errors_add(errs, "%s: out of memory", path);
        return false;
    }
    snprintf(media, sizeof media, "%s/media/", b->dir);
    bool ok = true;
    for (size_t i = 0; i < b->n_questions; i++) {
        const struct cq_question *q = &b->questions[i];
        struct stat st;
        if (!q->image || strncmp(q->image, "media/", 6))
            continue;
        snprintf(file, sizeof file, "%s/%s", b->dir, q->image);
        const char *why = NULL;
        if (!realpath(file, real) || stat(real, &st))
            why = "no such file in the bank's folder";
        else if (strncmp(real, media, strlen(media)) || strchr(real + strlen(media), '/'))
            why = "leads out of the bank's media folder (a symlink)";
        else if (!S_ISREG(st.st_mode))
            why = "not a regular file";
        else if (st.st_size <= 0 || (size_t)st.st_size > CQ_MEDIA_MAX)
            why = "empty, or larger than the 1 MiB limit";
        if (why) {
            cq_content_errors_add(errs, "%s: question %s: image: %s: %s", path, q->id, q->image,
                                  why);
            ok = false;
        }
    }
    return ok;
}

struct id_index {
    const char *id;
    unsigned i;
};

static int cmp_id_index(const void *a, const void *b)
{
    return strcmp(((const struct id_index *)a)->id, ((const struct id_index *)b)->id);
}

static int cmp_unsigned(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return x < y ? -1 : x > y;
}

/* Turns every question's `exclude_ids` into bank indexes, in both
 * directions (A excluding B keeps B from A too), each list sorted and
 * without repeats. An id that names no question of the bank is an error.
 * Runs after every question parsed, with ids unique. */
static void resolve_excludes(struct ctx *c, struct cq_bank *b)
{
    size_t n = b->n_questions, pairs = 0;
    for (size_t i = 0; i < n; i++)
        pairs += b->questions[i].n_exclude_ids;
    if (!pairs)
        return;
    struct id_index *ix = calloc(n, sizeof *ix);
    unsigned *deg = calloc(n, sizeof *deg);
    if (!ix || !deg) {
        BAD(c, "questions", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        ix[i] = (struct id_index){b->questions[i].id, (unsigned)i};
    qsort(ix, n, sizeof *ix, cmp_id_index);
    /* Two passes: count each question's partners, then fill. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            struct cq_question *q = &b->questions[i];
            c->qid = q->id;
            for (unsigned k = 0; k < q->n_exclude_ids; k++) {
                struct id_index key = {q->exclude_ids[k], 0};
                const struct id_index *hit = bsearch(&key, ix, n, sizeof *ix, cmp_id_index);
                if (!hit) {
                    if (pass == 0) {
                        char field[48];
                        snprintf(field, sizeof field, "excludes[%u]", k);
                        BAD(c, field, "\"%s\" is not a question of this bank", q->exclude_ids[k]);
                    }
                    continue;
                }
                struct cq_question *o = &b->questions[hit->i];
                if (pass == 0) {
                    deg[i]++;
                    deg[hit->i]++;
                } else {
                    q->excludes[q->n_excludes++] = hit->i;
                    o->excludes[o->n_excludes++] = (unsigned)i;
                }
            }
        }
        c->qid = NULL;
        if (c->bad)
            goto out;
        for (size_t i = 0; pass == 0 && i < n; i++)
            if (deg[i] && !(b->questions[i].excludes = calloc(deg[i], sizeof(unsigned)))) {
                BAD(c, "questions", "out of memory");
                goto out;
            }
    }
    for (size_t i = 0; i < n; i++) {
        struct cq_question *q = &b->questions[i];
        unsigned m = 0;
        if (!q->n_excludes)
            continue;
        qsort(q->excludes, q->n_excludes, sizeof *q->excludes, cmp_unsigned);
        for (unsigned k = 0; k < q->n_excludes; k++)
            if (!m || q->excludes[m - 1] != q->excludes[k])
                q->excludes[m++] = q->excludes[k];
        q->n_excludes = m;
    }
out:
    free(ix);
    free(deg);
}

/* `sources`: an array of 1 or more {file, title}, files distinct. Returns
 * true when it is valid (then `out` holds it). */
static bool parse_sources(struct ctx *c, json_t *root, struct cq_content_sources *out)
{
    static const char *const keys[] = {"file", "title", NULL};
    json_t *v = json_object_get(root, "sources");
    int bad = c->bad;
    if (!v) {
        BAD(c, "sources", "is required");
        return false;
    }
    if (!json_is_array(v) || json_array_size(v) < 1) {
        BAD(c, "sources", "must be a non-empty array of {file, title} objects");
        return false;
    }
    out->v = calloc(json_array_size(v), sizeof *out->v);
    if (!out->v) {
        BAD(c, "sources", "out of memory");
        return false;
    }
    out->n = json_array_size(v);
    for (size_t i = 0; i < out->n; i++) {
        json_t *s = json_array_get(v, i);
        char prefix[48], field[64];
        snprintf(prefix, sizeof prefix, "sources[%zu].", i);
        if (!json_is_object(s)) {
            snprintf(field, sizeof field, "sources[%zu]", i);
            BAD(c, field, "must be an object with file and title");
            continue;
        }
        check_keys(c, s, prefix, keys);
        snprintf(field, sizeof field, "%sfile", prefix);
        out->v[i].file = get_text(c, s, "file", field, true, CQ_SOURCE_TEXT_MAX, TXT_NOSLASH);
        for (size_t j = 0; j < i && out->v[i].file; j++)
            if (out->v[j].file && !strcmp(out->v[j].file, out->v[i].file))
                BAD(c, field, "repeats sources[%zu].file", j);
        snprintf(field, sizeof field, "%stitle", prefix);
        out->v[i].title = get_text(c, s, "title", field, true, CQ_SOURCE_TEXT_MAX, TXT_TRIMMED);
    }
    return c->bad == bad;
}

bool cq_content_question_ok(json_t *jq, size_t index, const char *const *files, size_t n_files,
                            const char *name, struct cq_content_errors *errs)
{
    struct ctx c = {name, NULL, errs, 0, files, n_files, true, ""};
    struct cq_question q;
    memset(&q, 0, sizeof q);
    parse_question(&c, jq, &q, index);
    question_free(&q);
    return c.bad == 0;
}

struct cq_bank *cq_content_from_json(json_t *root, const char *name, struct cq_content_errors *errs,
                                     struct cq_content_sources *sources_out)
{
    static const char *const keys[] = {"format",  "id",      "title",   "description", "language",
                                       "version", "licence", "sources", "questions",   NULL};
    struct ctx c = {name, NULL, errs, 0, NULL, 0, false, ""};
    struct cq_content_sources sources = {NULL, 0};
    const char **files = NULL;
    struct cq_bank *b = NULL;

    if (!json_is_object(root)) {
        BAD(&c, "(top level)", "must be an object");
        goto out;
    }
    b = calloc(1, sizeof *b);
    if (!b) {
        BAD(&c, "(top level)", "out of memory");
        goto out;
    }
    check_keys(&c, root, "", keys);
    const char *fmt = json_string_value(json_object_get(root, "format"));
    if (!fmt || strcmp(fmt, CQ_BANK_FORMAT))
        BAD(&c, "format", "must be \"%s\"", CQ_BANK_FORMAT);
    b->id = get_text(&c, root, "id", "id", true, CQ_BANK_ID_MAX, 0);
    if (b->id && !id_ok(b->id, CQ_BANK_ID_MAX))
        BAD(&c, "id", "must match [a-z0-9][a-z0-9-]{0,63}");
    b->title = get_text(&c, root, "title", "title", true, CQ_TITLE_MAX, 0);
    b->description = get_text(&c, root, "description", "description", true, CQ_DESCRIPTION_MAX, 0);
    b->language = get_text(&c, root, "language", "language", true, CQ_LANGUAGE_MAX, 0);
    if (b->language && !language_ok(b->language))
        BAD(&c, "language",
            "must be a language tag such as en or en-GB "
            "(^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$)");
    b->version = get_text(&c, root, "version", "version", true, CQ_VERSION_MAX, 0);
    if (b->version && !version_ok(b->version))
        BAD(&c, "version", "must be MAJOR.MINOR.PATCH, digits without leading zeros");
    b->licence = get_text(&c, root, "licence", "licence", true, CQ_LICENCE_MAX, TXT_NOSPACE);
    if (parse_sources(&c, root, &sources)) {
        files = calloc(sources.n, sizeof *files);
        if (!files) {
            BAD(&c, "sources", "out of memory");
            goto out;
        }
        for (size_t i = 0; i < sources.n; i++)
            files[i] = sources.v[i].file;
        c.files = files;
        c.n_files = sources.n;
        c.check_files = true;
    }

    json_t *qs = json_object_get(root, "questions");
    if (!json_is_array(qs) || json_array_size(qs) < 1) {
        BAD(&c, "questions", "must be a non-empty array");
        goto out;
    }
    if (json_array_size(qs) > CQ_BANK_QUESTIONS_MAX) {
        BAD(&c, "questions", "at most %d questions in one bank (has %zu)", CQ_BANK_QUESTIONS_MAX,
            json_array_size(qs));
        goto out;
    }
    b->questions = calloc(json_array_size(qs), sizeof *b->questions);
    if (!b->questions) {
        BAD(&c, "questions", "out of memory");
        goto out;
    }
    b->n_questions = json_array_size(qs);
    for (size_t i = 0; i < b->n_questions; i++) {
        parse_question(&c, json_array_get(qs, i), &b->questions[i], i + 1);
        for (size_t j = 0; j < i && b->questions[i].id; j++)
            if (b->questions[j].id && !strcmp(b->questions[j].id, b->questions[i].id))
                BAD(&c, "id", "is used by question #%zu too", j + 1);
        c.qid = NULL;
    }
    if (!c.bad)
        resolve_excludes(&c, b);
out:
    free(files);
    if (c.bad || !b) {
        cq_bank_free(b);
        cq_content_sources_free(&sources);
        return NULL;
    }
    if (sources_out)
        *sources_out = sources;
    else
        cq_content_sources_free(&sources);
    return b;
}

const char *cq_content_json_why(const char *why, char *buf, size_t cap)
{
    /* jansson names its own flag ("... without JSON_ALLOW_NUL near '...'"):
     * say what is wrong instead, and keep where. */
    static const char flag[] = "JSON_ALLOW_NUL";
    const char *f = strstr(why, flag);
    if (!f)
        return why;
    snprintf(buf, cap, "\\u0000 (the NUL character) is not allowed in a string%s",
             f + sizeof flag - 1);
    return buf;
}

void cq_content_json_error(struct cq_content_errors *errs, const char *name, int line, int column,
                           const char *why)
{
    char buf[JSON_ERROR_TEXT_LENGTH + 64];
    cq_content_errors_add(errs, "%s: line %d column %d: %s", name, line, column,
                          cq_content_json_why(why, buf, sizeof buf));
}

struct cq_bank *cq_content_parse(const char *text, size_t len, const char *name,
                                 struct cq_content_errors *errs, struct cq_content_sources *sources)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        cq_content_json_error(errs, name, jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    struct cq_bank *b = cq_content_from_json(root, name, errs, sources);
    json_decref(root);
    return b;
}

struct cq_bank *cq_bank_parse(const char *text, size_t len, const char *name,
                              struct cq_content_errors *errs)
{
    return cq_content_parse(text, len, name, errs, NULL);
}

int cq_content_read_file(const char *path, size_t max, char **out, size_t *len,
                         struct cq_content_errors *errs)
{
    int result = -1;
    char *buf = NULL;
    struct stat st;
    FILE *f = fopen(path, "rb");
    if (!f) {
        cq_content_errors_add(errs, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
        cq_content_errors_add(errs, "%s: not a regular file", path);
        goto out;
    }
    if (st.st_size < 0 || (size_t)st.st_size > max) {
        cq_content_errors_add(errs, "%s: larger than the %zu-byte limit", path, max);
        goto out;
    }
    size_t n = (size_t)st.st_size;
    buf = malloc(n + 1);
    if (!buf || fread(buf, 1, n, f) != n) {
        cq_content_errors_add(errs, "%s: could not be read", path);
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
    result = 0;
out:
    free(buf);
    fclose(f);
    return result;
}

struct cq_bank *cq_content_load_file(const char *path, struct cq_content_errors *errs,
                                     struct cq_content_sources *sources)
{
    char *buf;
    size_t n;
    if (cq_content_read_file(path, CQ_BANK_FILE_MAX, &buf, &n, errs))
        return NULL;
    struct cq_bank *b = cq_content_parse(buf, n, path, errs, sources);
    free(buf);
    if (b && !media_check(b, path, errs)) {
        cq_bank_free(b);
        if (sources)
            cq_content_sources_free(sources);
        return NULL;
    }
    return b;
}

struct cq_bank *cq_bank_load_file(const char *path, struct cq_content_errors *errs)
{
    return cq_content_load_file(path, errs, NULL);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A growing list of paths, capped at CQ_BANK_DIR_MAX. */
struct pathlist {
    char **v;
    size_t n, cap;
    bool full;
};

static int pathlist_add(struct pathlist *l, const char *path)
{
    if (l->n >= CQ_BANK_DIR_MAX) {
        l->full = true;
        return -1;
    }
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 8;
        char **nv = realloc(l->v, ncap * sizeof *nv);
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = ncap;
    }
    if (!(l->v[l->n] = strdup(path)))
        return -1;
    l->n++;
    return 0;
}

/* Collects bank paths below `dir` (one level of sub-folders). */
static int collect(const char *dir, int depth, struct pathlist *l, struct cq_content_errors *errs)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int result = -1;
    if (!d) {
        cq_content_errors_add(errs, "%s: cannot read the content directory: %s", dir,
                              strerror(errno));
        return -1;
    }
    while ((e = readdir(d))) {
        char path[4096];
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path) {
            cq_content_errors_add(errs, "%s/%s: path too long", dir, e->d_name);
            goto out;
        }
        if (stat(path, &st))
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth == 0 && strcmp(e->d_name, "schema") && collect(path, 1, l, errs))
                goto out;
            continue;
        }
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json"))
            continue;
        if (pathlist_add(l, path)) {
            if (l->full)
                cq_content_errors_add(errs, "%s: more than %d bank files", dir, CQ_BANK_DIR_MAX);
            else
                cq_content_errors_add(errs, "%s: out of memory", dir);
            goto out;
        }
    }
    result = 0;
out:
    closedir(d);
    return result;
}

int cq_content_list_dir(const char *dir, char ***paths, size_t *n, struct cq_content_errors *errs)
{
    struct pathlist l = {NULL, 0, 0, false};
    int result = collect(dir, 0, &l, errs);
    if (result) {
        for (size_t i = 0; i < l.n; i++)
            free(l.v[i]);
        free(l.v);
        return -1;
    }
    if (l.n)
        qsort(l.v, l.n, sizeof *l.v, cmp_str);
    *paths = l.v;
    *n = l.n;
    return 0;
}

int cq_bankset_load_dir(const char *dir, struct cq_bankset *set, struct cq_content_errors *errs)
{
    char **paths = NULL;
    size_t n = 0;
    int result = -1;

    memset(set, 0, sizeof *set);
    if (cq_content_list_dir(dir, &paths, &n, errs))
        return -1;
    if (!n) {
        cq_content_errors_add(errs, "%s: no question bank (*.json) found", dir);
        goto out;
    }
    set->banks = calloc(n, sizeof *set->banks);
    if (!set->banks)
        goto out;
    bool bad = false;
    for (size_t i = 0; i < n; i++) {
        struct cq_bank *b = cq_bank_load_file(paths[i], errs);
        if (!b) {
            bad = true;
            continue;
        }
        if (cq_bankset_find(set, b->id)) {
            cq_content_errors_add(errs, "%s: id: \"%s\" is the id of another bank", paths[i],
                                  b->id);
            cq_bank_free(b);
            bad = true;
            continue;
        }
        set->banks[set->n++] = b;
    }
    result = bad ? -1 : 0;
out:
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    if (result)
        cq_bankset_free(set);
    return result;
}

void cq_bankset_free(struct cq_bankset *set)
{
    for (size_t i = 0; i < set->n; i++)
        cq_bank_free(set->banks[i]);
    free(set->banks);
    memset(set, 0, sizeof *set);
}

const struct cq_bank *cq_bankset_find(const struct cq_bankset *set, const char *id)
{
    for (size_t i = 0; i < set->n; i++)
        if (!strcmp(set->banks[i]->id, id))
            return set->banks[i];
    return NULL;
}
