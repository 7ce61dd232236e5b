/* import.c: what every importer shares (defaults, ids, per-question
 * validation, assembling the bank) and the JSON importer. The defaults are
 * documented in docs/import.md; change them together. */
#include "content_tools.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TAG         "imported"
#define DEFAULT_DIFFICULTY  "medium"
#define DEFAULT_LANGUAGE    "en"
#define DEFAULT_VERSION     "1.0.0"
#define DEFAULT_LICENCE     "NOASSERTION" /* SPDX: the licence was not stated */
#define DEFAULT_BANK_ID     "imported"
#define DEFAULT_QUESTION_ID "q"

void cq_import_error(struct cq_import *im, unsigned line, const char *qid, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    const char *name = im->o->name;
    im->reported++;
    if (line && qid)
        cq_content_errors_add(im->errs, "%s:%u: question %s: %s", name, line, qid, why);
    else if (line)
        cq_content_errors_add(im->errs, "%s:%u: %s", name, line, why);
    else if (qid)
        cq_content_errors_add(im->errs, "%s: question %s: %s", name, qid, why);
    else
        cq_content_errors_add(im->errs, "%s: %s", name, why);
}

void cq_import_skip(struct cq_import *im)
{
    im->skipped++;
}

static bool id_used(const struct cq_import *im, const char *id)
{
    size_t i;
    json_t *q;
    json_array_foreach(im->questions, i, q)
    {
        const char *s = json_string_value(json_object_get(q, "id"));
        if (s && !strcmp(s, id))
            return true;
    }
    return false;
}

/* `base`, or base-2, base-3, ... cut to fit CQ_QID_MAX. */
static char *unique_id(const struct cq_import *im, const char *base)
{
    char id[CQ_QID_MAX + 1];
    snprintf(id, sizeof id, "%s", base);
    for (unsigned k = 2; id_used(im, id) && k < CQ_IMPORT_QUESTIONS_MAX + 2; k++) {
        char suffix[16];
        int sn = snprintf(suffix, sizeof suffix, "-%u", k);
        size_t keep = strlen(base);
        if (keep > CQ_QID_MAX - (size_t)sn)
            keep = CQ_QID_MAX - (size_t)sn;
        while (keep > 1 && base[keep - 1] == '-')
            keep--;
        snprintf(id, sizeof id, "%.*s%s", (int)keep, base, suffix);
    }
    return strdup(id);
}

static const char *str_or_empty(json_t *v)
{
    const char *s = json_string_value(v);
    return s ? s : "";
}

/* The documented default explanation: it names the right answer. */
static char *default_explanation(json_t *q)
{
    const char *type = json_string_value(json_object_get(q, "type"));
    json_t *opts = json_object_get(q, "options"), *correct = json_object_get(q, "correct");
    struct cq_content_buf b;
    cq_content_buf_init(&b, 4 * CQ_EXPLANATION_MAX);
    if (!type)
        return NULL;
    if (!strcmp(type, "truefalse")) {
        cq_content_buf_printf(&b, "The statement is %s.", json_is_true(correct) ? "true" : "false");
    } else if (!strcmp(type, "typeanswer")) {
        cq_content_buf_printf(&b, "The expected answer is \"%s\".",
                              str_or_empty(json_array_get(json_object_get(q, "accepted"), 0)));
    } else if (!strcmp(type, "single") || !strcmp(type, "multi")) {
        size_t n = json_array_size(correct);
        cq_content_buf_str(&b, n > 1 ? "The correct answers are " : "The correct answer is ");
        for (size_t i = 0; i < n; i++) {
            json_t *o =
                json_array_get(opts, (size_t)json_integer_value(json_array_get(correct, i)));
            if (i)
                cq_content_buf_str(&b, i + 1 == n ? " and " : ", ");
            cq_content_buf_printf(&b, "\"%s\"", str_or_empty(o));
        }
        cq_content_buf_str(&b, ".");
    } else {
        return NULL;
    }
    if (b.failed) {
        cq_content_buf_free(&b);
        return NULL;
    }
    return b.p;
}

void cq_import_add(struct cq_import *im, json_t *q, unsigned line, const char *base_id)
{
    char label[CQ_SOURCE_TEXT_MAX * 4 + 32], section[32];
    const struct cq_import_opts *o = im->o;
    char *id = NULL;
    bool generated = false;

    if (json_array_size(im->questions) >= CQ_IMPORT_QUESTIONS_MAX) {
        /* One line for all of them; the summary counts them. */
        if (!im->over_limit++)
            cq_import_error(im, line, NULL,
                            "a bank holds at most %d questions: this one and the rest are "
                            "not imported",
                            CQ_IMPORT_QUESTIONS_MAX);
        im->skipped++;
        goto out;
    }
    if (im->rename_duplicates) {
        id = unique_id(im, base_id && *base_id ? base_id : DEFAULT_QUESTION_ID);
        if (!id) {
            cq_import_error(im, line, NULL, "out of memory");
            im->skipped++;
            goto out;
        }
        json_object_set_new(q, "id", json_string(id));
    } else {
        const char *qid = json_string_value(json_object_get(q, "id"));
        if (qid && id_used(im, qid)) {
            cq_import_error(im, line, qid, "id: is used by an earlier question");
            im->skipped++;
            goto out;
        }
    }
    if (!json_object_get(q, "tags")) {
        json_t *tags = json_array();
        for (size_t i = 0; i < o->n_tags; i++)
            json_array_append_new(tags, json_string(o->tags[i]));
        if (!o->n_tags)
            json_array_append_new(tags, json_string(DEFAULT_TAG));
        json_object_set_new(q, "tags", tags);
    }
    if (!json_object_get(q, "difficulty"))
        json_object_set_new(q, "difficulty",
                            json_string(o->difficulty ? o->difficulty : DEFAULT_DIFFICULTY));
    if (!json_object_get(q, "source") && im->source_file) {
        snprintf(section, sizeof section, "line %u", line);
        json_object_set_new(q, "source",
                            json_pack("{s:s, s:s}", "file", im->source_file, "section",
                                      o->source_section ? o->source_section : section));
    }
    if (im->default_explanation && !json_object_get(q, "explanation")) {
        char *e = default_explanation(q);
        if (e) {
            json_object_set_new(q, "explanation", json_string(e));
            generated = true;
        }
        free(e);
    }
    if (line)
        snprintf(label, sizeof label, "%s:%u", o->name, line);
    else
        snprintf(label, sizeof label, "%s", o->name);
    if (!cq_content_question_ok(q, json_array_size(im->questions) + im->skipped + 1, im->files,
                                im->n_files, label, im->errs)) {
        im->skipped++;
        goto out;
    }
    json_array_append(im->questions, q);
    im->generated += generated;
out:
    free(id);
    json_decref(q);
}

/* Our own format: every question is checked on its own so that the good ones
 * survive; the bank's metadata comes from the document. */
static void json_import(struct cq_import *im, json_t *root)
{
    json_t *qs = json_object_get(root, "questions");
    if (!json_is_array(qs)) {
        cq_import_error(im, 0, NULL, "questions: must be a non-empty array");
        return;
    }
    for (size_t i = 0; i < json_array_size(qs); i++) {
        json_t *q = json_array_get(qs, i);
        if (!json_is_object(q)) {
            cq_import_error(im, 0, NULL, "questions[%zu]: must be an object", i);
            im->skipped++;
            continue;
        }
        cq_import_add(im, json_deep_copy(q), 0, NULL);
    }
}

/* A kept question may exclude one that was left out: that entry goes too
 * (reported), so that the bank stays valid. */
static void prune_excludes(struct cq_import *im)
{
    for (size_t i = 0; i < json_array_size(im->questions); i++) {
        json_t *q = json_array_get(im->questions, i), *ex = json_object_get(q, "excludes");
        const char *qid = json_string_value(json_object_get(q, "id"));
        for (size_t k = json_array_size(ex); k-- > 0;) {
            const char *x = json_string_value(json_array_get(ex, k));
            if (x && id_used(im, x))
                continue;
            cq_import_error(im, 0, qid, "excludes: \"%s\" is not imported, so it is dropped here",
                            x ? x : "?");
            json_array_remove(ex, k);
        }
        if (ex && !json_array_size(ex))
            json_object_del(q, "excludes");
    }
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* A metadata field: the option, else the metadata's own value as it is (the
 * loader judges it), else `dflt` (none when NULL). */
static void set_meta(json_t *doc, const char *key, const char *opt, json_t *m, const char *dflt)
{
    json_t *v = m ? json_object_get(m, key) : NULL;
    if (opt)
        json_object_set_new(doc, key, json_string(opt));
    else if (v)
        json_object_set(doc, key, v);
    else if (dflt)
        json_object_set_new(doc, key, json_string(dflt));
}

/* im->files: the metadata's sources[].file, then the default source. */
static int set_files(struct cq_import *im, json_t *sources, const char *dflt)
{
    size_t n = json_array_size(sources);
    free(im->own_files);
    im->own_files = calloc(n + 1, sizeof *im->own_files);
    if (!im->own_files)
        return -1;
    im->n_files = 0;
    for (size_t i = 0; i < n; i++) {
        const char *f = json_string_value(json_object_get(json_array_get(sources, i), "file"));
        if (f)
            im->own_files[im->n_files++] = f;
    }
    if (dflt)
        im->own_files[im->n_files++] = dflt;
    im->files = im->own_files;
    return 0;
}

int cq_import_set_bank(struct cq_import *im, json_t *meta, unsigned line)
{
    static const char *const allowed[] = {"id",      "title",   "description", "language",
                                          "version", "licence", "sources",     NULL};
    const char *key;
    json_t *v;
    json_object_foreach(meta, key, v)
    {
        bool found = false;
        for (const char *const *a = allowed; *a; a++)
            found |= !strcmp(*a, key);
        if (!found) {
            cq_import_error(im, line, NULL,
                            "chainquiz-bank comment: \"%s\" is not one of id, title, "
                            "description, language, version, licence, sources",
                            key);
            json_decref(meta);
            return -1;
        }
    }
    json_decref(im->bank);
    im->bank = meta;
    return set_files(im, json_object_get(meta, "sources"), im->source_file);
}

/* GIFT/CSV: the metadata's sources, and the input file itself when a kept
 * question cites it (the default). */
static json_t *imported_sources(struct cq_import *im, const char *title)
{
    json_t *out = json_array(), *given = im->bank ? json_object_get(im->bank, "sources") : NULL;
    bool listed = false, used = false;
    size_t i;
    json_t *v;
    json_array_foreach(given, i, v)
    {
        json_array_append(out, v);
        const char *f = json_string_value(json_object_get(v, "file"));
        listed |= f && !strcmp(f, im->source_file);
    }
    json_array_foreach(im->questions, i, v)
    {
        const char *f = json_string_value(json_object_get(json_object_get(v, "source"), "file"));
        used |= f && !strcmp(f, im->source_file);
    }
    if (used && !listed)
        json_array_append_new(out,
                              json_pack("{s:s, s:s}", "file", im->source_file, "title", title));
    return out;
}

int cq_content_import(enum cq_import_format fmt, const char *text, size_t len,
                      const struct cq_import_opts *o, struct cq_import_result *r,
                      struct cq_content_errors *errs)
{
    struct cq_import im;
    struct cq_content_sources sources = {NULL, 0};
    struct cq_bank *bank = NULL;
    json_t *doc = NULL;
    char *stem = NULL, *slug = NULL, *description = NULL;
    int result = 1;

    memset(r, 0, sizeof *r);
    memset(&im, 0, sizeof im);
    im.o = o;
    im.errs = errs;
    im.questions = json_array();
    if (!im.questions)
        goto out;
    if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3)) {
        text += 3;
        len -= 3;
    }
    const char *base = base_name(o->name);
    stem = strdup(base);
    if (!stem)
        goto out;
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem)
        *dot = '\0';

    if (fmt == CQ_IMPORT_JSON) {
        json_error_t jerr;
        im.bank = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!im.bank) {
            cq_content_json_error(errs, o->name, jerr.line, jerr.column, jerr.text);
            goto out;
        }
        if (!json_is_object(im.bank)) {
            cq_content_errors_add(errs, "%s: (top level): must be an object", o->name);
            goto out;
        }
        if (set_files(&im, json_object_get(im.bank, "sources"), NULL))
            goto out;
        json_import(&im, im.bank);
    } else {
        im.rename_duplicates = true;
        im.default_explanation = true;
        im.source_file = o->source_file ? o->source_file : base;
        if (set_files(&im, NULL, im.source_file))
            goto out;
        if (fmt == CQ_IMPORT_GIFT)
            cq_gift_import(&im, text, len);
        else
            cq_csv_import(&im, text, len);
    }
    r->skipped = im.skipped;
    r->generated_explanations = im.generated;
    if (!json_array_size(im.questions)) {
        cq_content_errors_add(errs, "%s: no question could be imported", o->name);
        goto out;
    }

    prune_excludes(&im);
    slug = cq_content_slug(stem, CQ_BANK_ID_MAX);
    size_t dn = strlen("Questions imported from .") + strlen(base) + 1;
    description = malloc(dn);
    if (!description)
        goto out;
    snprintf(description, dn, "Questions imported from %s.", base);
    /* A JSON bank keeps its own metadata: a missing field is reported,
     * not defaulted, unless an option gives it. */
    json_t *m = im.bank;
    bool dflt = fmt != CQ_IMPORT_JSON;
    doc = json_object();
    json_object_set_new(doc, "format", json_string(CQ_BANK_FORMAT));
    set_meta(doc, "id", o->id, m, dflt ? (slug ? slug : DEFAULT_BANK_ID) : NULL);
    set_meta(doc, "title", o->title, m, dflt ? stem : NULL);
    set_meta(doc, "description", o->description, m, dflt ? description : NULL);
    set_meta(doc, "language", o->language, m, dflt ? DEFAULT_LANGUAGE : NULL);
    set_meta(doc, "version", o->version, m, dflt ? DEFAULT_VERSION : NULL);
    set_meta(doc, "licence", o->licence, m, dflt ? DEFAULT_LICENCE : NULL);
    if (fmt == CQ_IMPORT_JSON) {
        if (json_object_get(m, "sources"))
            json_object_set(doc, "sources", json_object_get(m, "sources"));
    } else {
        json_object_set_new(doc, "sources",
                            imported_sources(&im, o->source_title ? o->source_title : base));
    }
    json_object_set(doc, "questions", im.questions);

    bank = cq_content_from_json(doc, o->name, errs, &sources);
    if (!bank)
        goto out;
    r->bank = cq_content_bank_to_json(bank, &sources);
    if (!r->bank)
        goto out;
    r->imported = bank->n_questions;
    result = im.skipped || im.reported ? 1 : 0;
out:
    cq_bank_free(bank);
    cq_content_sources_free(&sources);
    json_decref(doc);
    json_decref(im.bank);
    json_decref(im.questions);
    free(im.own_files);
    free(stem);
    free(slug);
    free(description);
    return result;
}
