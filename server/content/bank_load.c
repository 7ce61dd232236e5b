/* bank_load.c: strict parsing of chainquiz-bank/1 files into cq_bank. */
#include "content.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "text.h"

#define BANK_FILE_MAX (16u << 20) /* one bank file, bytes */

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

static void add_error(struct cq_content_errors *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_error(struct cq_content_errors *e, const char *fmt, ...)
{
    char buf[512];
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

/* Parsing context: which file and question errors are about. */
struct ctx {
    const char *name;
    const char *qid;
    struct cq_content_errors *errs;
    int bad;
};

#define BAD(c, field, ...)                                                                         \
    do {                                                                                           \
        char why_[320];                                                                            \
        snprintf(why_, sizeof why_, __VA_ARGS__);                                                  \
        if ((c)->qid)                                                                              \
            add_error((c)->errs, "%s: question %s: %s: %s", (c)->name, (c)->qid, field, why_);     \
        else                                                                                       \
            add_error((c)->errs, "%s: %s: %s", (c)->name, field, why_);                            \
        (c)->bad++;                                                                                \
    } while (0)

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

/* A string field: present when required, of bounded length, valid text. */
static char *get_text(struct ctx *c, json_t *obj, const char *key, bool required, size_t max)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required)
            BAD(c, key, "is required");
        return NULL;
    }
    if (!json_is_string(v)) {
        BAD(c, key, "must be a string");
        return NULL;
    }
    const char *s = json_string_value(v);
    size_t n = cq_text_len(s);
    if (strlen(s) != json_string_length(v) || !cq_text_valid(s)) {
        BAD(c, key, "contains control characters");
        return NULL;
    }
    if (n < 1 || n > max) {
        BAD(c, key, "must have 1 to %zu characters (has %zu)", max, n);
        return NULL;
    }
    char *d = strdup(s);
    if (!d)
        BAD(c, key, "out of memory");
    return d;
}

static bool check_keys(struct ctx *c, json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *v;
    bool ok = true;
    json_object_foreach(obj, key, v)
    {
        bool found = false;
        for (const char *const *a = allowed; *a; a++)
            if (!strcmp(*a, key))
                found = true;
        if (!found) {
            BAD(c, key, "unknown field");
            ok = false;
        }
    }
    return ok;
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
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(opts, i);
        char field[24];
        snprintf(field, sizeof field, "options[%zu]", i);
        if (!json_is_string(o) || !cq_text_valid(json_string_value(o)) ||
            cq_text_len(json_string_value(o)) < 1 ||
            cq_text_len(json_string_value(o)) > CQ_OPTION_TEXT_MAX) {
            BAD(c, field, "must be a string of 1 to %d characters", CQ_OPTION_TEXT_MAX);
            continue;
        }
        q->options[i] = strdup(json_string_value(o));
        q->n_options = (unsigned)i + 1;
        char fi[4 * CQ_OPTION_TEXT_MAX + 1], fj[4 * CQ_OPTION_TEXT_MAX + 1];
        for (size_t j = 0; j < i; j++)
            if (q->options[j] && cq_text_fold(q->options[i], fi, sizeof fi) &&
                cq_text_fold(q->options[j], fj, sizeof fj) && !strcmp(fi, fj))
                BAD(c, field, "repeats options[%zu]", j);
    }
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
            BAD(c, "correct", "is not allowed for a %s question", cq_qtype_name(q->type));
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
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *x = json_array_get(v, i);
        if (!json_is_integer(x) || json_integer_value(x) < 0 ||
            json_integer_value(x) >= (json_int_t)q->n_options) {
            BAD(c, "correct", "index %zu does not point at an option", i);
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
        const char *s = json_string_value(json_array_get(v, i));
        char fold[4 * CQ_ACCEPTED_TEXT_MAX + 1];
        if (!s || !cq_text_valid(s) || cq_text_len(s) < 1 ||
            cq_text_len(s) > CQ_ACCEPTED_TEXT_MAX || !cq_text_fold(s, fold, sizeof fold) ||
            !*fold) {
            BAD(c, "accepted", "entry %zu must be a string of 1 to %d characters", i,
                CQ_ACCEPTED_TEXT_MAX);
            return;
        }
        q->accepted[i] = strdup(s);
        q->accepted_fold[i] = strdup(fold);
        q->n_accepted = (unsigned)i + 1;
    }
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
        if (!s || !id_ok(s, CQ_TAG_MAX)) {
            BAD(c, "tags", "entry %zu must match [a-z0-9][a-z0-9-]{0,31}", i);
            return;
        }
        q->tags[i] = strdup(s);
        q->n_tags = (unsigned)i + 1;
    }
}

static void parse_question(struct ctx *c, json_t *jq, struct cq_question *q)
{
    static const char *const keys[] = {
        "id",     "type", "prompt",     "options",    "correct", "accepted", "explanation",
        "source", "tags", "difficulty", "time_limit", "points",  "image",    NULL};
    if (!json_is_object(jq)) {
        BAD(c, "question", "must be an object");
        return;
    }
    q->id = get_text(c, jq, "id", true, 64);
    if (q->id && !id_ok(q->id, 64))
        BAD(c, "id", "must match [a-z0-9][a-z0-9-]{0,63}");
    c->qid = q->id ? q->id : "?";
    check_keys(c, jq, keys);

    const char *type = json_string_value(json_object_get(jq, "type"));
    int t = type ? cq_qtype_from_name(type) : -1;
    if (t < 0) {
        BAD(c, "type", "must be one of single, multi, truefalse, typeanswer, ordering, poll");
        return;
    }
    q->type = (enum cq_qtype)t;
    q->prompt = get_text(c, jq, "prompt", true, CQ_PROMPT_MAX);
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
            BAD(c, "options", "is not allowed for a %s question", type);
        break;
    case CQ_Q__COUNT:
        break;
    }
    parse_correct(c, jq, q);
    parse_accepted(c, jq, q);
    q->explanation = get_text(c, jq, "explanation", true, CQ_EXPLANATION_MAX);

    json_t *src = json_object_get(jq, "source");
    static const char *const src_keys[] = {"file", "section", NULL};
    if (!json_is_object(src)) {
        BAD(c, "source", "must be an object with file and section");
    } else {
        check_keys(c, src, src_keys);
        q->source_file = get_text(c, src, "file", true, 200);
        q->source_section = get_text(c, src, "section", true, 200);
    }
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
    q->image = get_text(c, jq, "image", false, 500);
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
    free(b);
}

struct cq_bank *cq_bank_parse(const char *text, size_t len, const char *name,
                              struct cq_content_errors *errs)
{
    static const char *const keys[] = {"format",  "id",      "title",   "description", "language",
                                       "version", "licence", "sources", "questions",   NULL};
    struct ctx c = {name, NULL, errs, 0};
    json_error_t jerr;
    struct cq_bank *b = NULL;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);

    if (!root) {
        add_error(errs, "%s: line %d column %d: %s", name, jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        BAD(&c, "(top level)", "must be an object");
        goto out;
    }
    b = calloc(1, sizeof *b);
    if (!b)
        goto out;
    check_keys(&c, root, keys);
    const char *fmt = json_string_value(json_object_get(root, "format"));
    if (!fmt || strcmp(fmt, CQ_BANK_FORMAT))
        BAD(&c, "format", "must be \"%s\"", CQ_BANK_FORMAT);
    b->id = get_text(&c, root, "id", true, CQ_BANK_ID_MAX);
    if (b->id && !id_ok(b->id, CQ_BANK_ID_MAX))
        BAD(&c, "id", "must match [a-z0-9][a-z0-9-]{0,63}");
    b->title = get_text(&c, root, "title", true, 120);
    b->description = get_text(&c, root, "description", false, 500);
    b->language = get_text(&c, root, "language", true, 16);
    b->version = get_text(&c, root, "version", true, 32);
    b->licence = get_text(&c, root, "licence", true, 64);
    json_t *sources = json_object_get(root, "sources");
    if (sources && !json_is_array(sources))
        BAD(&c, "sources", "must be an array");

    json_t *qs = json_object_get(root, "questions");
    if (!json_is_array(qs) || json_array_size(qs) < 1) {
        BAD(&c, "questions", "must be a non-empty array");
        goto out;
    }
    b->n_questions = json_array_size(qs);
    b->questions = calloc(b->n_questions, sizeof *b->questions);
    if (!b->questions) {
        b->n_questions = 0;
        BAD(&c, "questions", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < b->n_questions; i++) {
        char label[32];
        snprintf(label, sizeof label, "#%zu", i + 1);
        c.qid = label;
        parse_question(&c, json_array_get(qs, i), &b->questions[i]);
        for (size_t j = 0; j < i && b->questions[i].id; j++)
            if (b->questions[j].id && !strcmp(b->questions[j].id, b->questions[i].id))
                BAD(&c, "id", "is used by question #%zu too", j + 1);
    }
    c.qid = NULL;
out:
    json_decref(root);
    if (c.bad || !b) {
        cq_bank_free(b);
        return NULL;
    }
    return b;
}

struct cq_bank *cq_bank_load_file(const char *path, struct cq_content_errors *errs)
{
    struct cq_bank *b = NULL;
    char *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        add_error(errs, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) || st.st_size < 0 || (size_t)st.st_size > BANK_FILE_MAX) {
        add_error(errs, "%s: larger than the %u-byte bank limit", path, BANK_FILE_MAX);
        goto out;
    }
    size_t n = (size_t)st.st_size;
    buf = malloc(n + 1);
    if (!buf || fread(buf, 1, n, f) != n) {
        add_error(errs, "%s: could not be read", path);
        goto out;
    }
    b = cq_bank_parse(buf, n, path, errs);
out:
    free(buf);
    fclose(f);
    return b;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collects bank paths below `dir` (one level of sub-folders). */
static int collect(const char *dir, int depth, char ***paths, size_t *n, size_t *cap)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d)
        return -1;
    while ((e = readdir(d))) {
        char path[4096];
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st))
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth == 0 && strcmp(e->d_name, "schema"))
                collect(path, 1, paths, n, cap);
            continue;
        }
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json"))
            continue;
        if (*n == *cap) {
            size_t ncap = *cap ? *cap * 2 : 8;
            char **np = realloc(*paths, ncap * sizeof *np);
            if (!np)
                break;
            *paths = np;
            *cap = ncap;
        }
        (*paths)[(*n)++] = strdup(path);
    }
    closedir(d);
    return 0;
}

int cq_bankset_load_dir(const char *dir, struct cq_bankset *set, struct cq_content_errors *errs)
{
    char **paths = NULL;
    size_t n = 0, cap = 0;
    int result = -1;

    memset(set, 0, sizeof *set);
    if (collect(dir, 0, &paths, &n, &cap)) {
        add_error(errs, "%s: cannot read the content directory: %s", dir, strerror(errno));
        return -1;
    }
    if (!n) {
        add_error(errs, "%s: no question bank (*.json) found", dir);
        goto out;
    }
    qsort(paths, n, sizeof *paths, cmp_str);
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
            add_error(errs, "%s: id: \"%s\" is the id of another bank", paths[i], b->id);
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
