/* content_util.c: bounded buffers, file reading, text helpers and the
 * canonical JSON writer for the content tools. */
#include "content_tools.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cq_utf8.h"
#include "text.h"

void cq_content_buf_init(struct cq_content_buf *b, size_t max)
{
    memset(b, 0, sizeof *b);
    b->max = max;
}

void cq_content_buf_free(struct cq_content_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

int cq_content_buf_add(struct cq_content_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return -1;
    if (n > b->max || b->len > b->max - n) {
        b->failed = true;
        return -1;
    }
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 256;
        while (ncap < b->len + n + 1)
            ncap *= 2;
        if (ncap > b->max + 1)
            ncap = b->max + 1;
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->failed = true;
            return -1;
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int cq_content_buf_str(struct cq_content_buf *b, const char *s)
{
    return cq_content_buf_add(b, s, strlen(s));
}

int cq_content_buf_printf(struct cq_content_buf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return -1;
    }
    if ((size_t)n < sizeof small)
        return cq_content_buf_add(b, small, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->failed = true;
        return -1;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int r = cq_content_buf_add(b, big, (size_t)n);
    free(big);
    return r;
}

const char *cq_content_trim(const char *s, size_t n, size_t *out_n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    const unsigned char *start = NULL, *last = p;
    while (p < end) {
        /* A byte that does not start well-formed UTF-8 counts as one
         * visible character: validity is checked elsewhere. */
        uint32_t cp = 0xfffd;
        size_t k = cq_utf8_decode((const char *)p, (size_t)(end - p), &cp);
        if (!k)
            k = 1;
        if (!cq_utf8_is_space(cp)) {
            if (!start)
                start = p;
            last = p + k;
        }
        p += k;
    }
    if (!start) {
        *out_n = 0;
        return s + n;
    }
    *out_n = (size_t)(last - start);
    return (const char *)start;
}

char *cq_content_slug(const char *text, size_t max)
{
    size_t cap = 4 * strlen(text) + 1;
    char *fold = malloc(cap), *out = malloc(max + 1);
    size_t o = 0;
    if (!fold || !out || !cq_text_fold(text, fold, cap)) {
        free(fold);
        free(out);
        return NULL;
    }
    bool dash = false;
    for (const char *p = fold; *p && o < max; p++) {
        char ch = *p;
        if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) {
            if (dash && o > 0) {
                if (o + 2 > max)
                    break;
                out[o++] = '-';
            }
            dash = false;
            out[o++] = ch;
        } else {
            dash = true;
        }
    }
    out[o] = '\0';
    free(fold);
    if (!o) {
        free(out);
        return NULL;
    }
    return out;
}

/* --- The canonical JSON writer. --- */

static json_t *str_array(char *const *v, unsigned n)
{
    json_t *a = json_array();
    for (unsigned i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *question_to_json(const struct cq_question *q)
{
    static const char *const difficulty[] = {"easy", "medium", "hard"};
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "id", json_string(q->id));
    json_object_set_new(o, "type", json_string(cq_qtype_name(q->type)));
    json_object_set_new(o, "prompt", json_string(q->prompt));
    if (q->n_options)
        json_object_set_new(o, "options", str_array(q->options, q->n_options));
    if (q->type == CQ_Q_SINGLE || q->type == CQ_Q_MULTI) {
        json_t *c = json_array();
        for (unsigned i = 0; c && i < q->n_options; i++)
            if (q->correct_mask & (1u << i))
                json_array_append_new(c, json_integer(i));
        json_object_set_new(o, "correct", c);
    } else if (q->type == CQ_Q_TRUEFALSE) {
        json_object_set_new(o, "correct", json_boolean(q->truth));
    }
    if (q->type == CQ_Q_TYPEANSWER)
        json_object_set_new(o, "accepted", str_array(q->accepted, q->n_accepted));
    json_object_set_new(o, "explanation", json_string(q->explanation));
    json_object_set_new(
        o, "source", json_pack("{s:s, s:s}", "file", q->source_file, "section", q->source_section));
    json_object_set_new(o, "tags", str_array(q->tags, q->n_tags));
    json_object_set_new(o, "difficulty", json_string(difficulty[q->difficulty % 3]));
    if (q->time_limit_s)
        json_object_set_new(o, "time_limit", json_integer(q->time_limit_s));
    if (q->type == CQ_Q_POLL || q->points != 1)
        json_object_set_new(o, "points", json_integer(q->points));
    if (q->image)
        json_object_set_new(o, "image", json_string(q->image));
    if (q->n_exclude_ids)
        json_object_set_new(o, "excludes", str_array(q->exclude_ids, q->n_exclude_ids));
    return o;
}

json_t *cq_content_bank_to_json(const struct cq_bank *b, const struct cq_content_sources *s)
{
    json_t *doc = json_object(), *src = json_array(), *qs = json_array();
    if (!doc || !src || !qs) {
        json_decref(doc);
        json_decref(src);
        json_decref(qs);
        return NULL;
    }
    json_object_set_new(doc, "format", json_string(CQ_BANK_FORMAT));
    json_object_set_new(doc, "id", json_string(b->id));
    json_object_set_new(doc, "title", json_string(b->title));
    json_object_set_new(doc, "description", json_string(b->description));
    json_object_set_new(doc, "language", json_string(b->language));
    json_object_set_new(doc, "version", json_string(b->version));
    json_object_set_new(doc, "licence", json_string(b->licence));
    for (size_t i = 0; s && i < s->n; i++)
        json_array_append_new(
            src, json_pack("{s:s, s:s}", "file", s->v[i].file, "title", s->v[i].title));
    json_object_set_new(doc, "sources", src);
    for (size_t i = 0; i < b->n_questions; i++)
        json_array_append_new(qs, question_to_json(&b->questions[i]));
    json_object_set_new(doc, "questions", qs);
    return doc;
}

char *cq_content_dump(json_t *doc)
{
    char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *t = realloc(s, n + 2);
    if (!t) {
        free(s);
        return NULL;
    }
    t[n] = '\n';
    t[n + 1] = '\0';
    return t;
}
