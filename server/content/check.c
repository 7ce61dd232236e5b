/* check.c: the checks that need the source texts (`check --sources DIR`).
 *
 * The loader cannot make them: the server does not ship the source texts.
 * A heading "occurs" in a file when it equals one of the file's lines with
 * the white space at both ends removed (docs/bank-format.md).
 */
#include "content_tools.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One source text as a sorted set of trimmed, non-empty lines. */
struct lines {
    char **v;
    size_t n;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void lines_free(struct lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int lines_load(const char *path, struct lines *l, struct cq_content_errors *errs)
{
    char *text = NULL;
    size_t len = 0, cap = 0;
    int result = -1;
    memset(l, 0, sizeof *l);
    if (cq_content_read_file(path, CQ_SOURCE_FILE_MAX, &text, &len, errs))
        return -1;
    for (size_t i = 0; i <= len; i++)
        cap += i == len || text[i] == '\n';
    l->v = calloc(cap, sizeof *l->v);
    if (!l->v)
        goto out;
    const char *p = text, *end = text + len;
    while (p <= end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t tn;
        const char *t = cq_content_trim(p, (size_t)((nl ? nl : end) - p), &tn);
        if (tn) {
            if (!(l->v[l->n] = strndup(t, tn)))
                goto out;
            l->n++;
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    qsort(l->v, l->n, sizeof *l->v, cmp_str);
    result = 0;
out:
    if (result) {
        cq_content_errors_add(errs, "%s: out of memory", path);
        lines_free(l);
    }
    free(text);
    return result;
}

static bool lines_has(const struct lines *l, const char *s)
{
    return l->n && bsearch(&s, l->v, l->n, sizeof *l->v, cmp_str) != NULL;
}

size_t cq_content_check_sources(const struct cq_bank *b, const struct cq_content_sources *s,
                                const char *name, const char *dir, struct cq_content_errors *errs)
{
    size_t problems = 0;
    struct lines *texts = calloc(s->n ? s->n : 1, sizeof *texts);
    bool *loaded = calloc(s->n ? s->n : 1, sizeof *loaded);
    if (!texts || !loaded) {
        cq_content_errors_add(errs, "%s: out of memory", name);
        problems++;
        goto out;
    }
    for (size_t i = 0; i < s->n; i++) {
        char path[4096];
        struct cq_content_errors why;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, s->v[i].file) >= sizeof path) {
            cq_content_errors_add(errs, "%s: sources[%zu].file: path too long", name, i);
            problems++;
            continue;
        }
        cq_content_errors_init(&why, 1);
        if (lines_load(path, &texts[i], &why)) {
            cq_content_errors_add(errs, "%s: sources[%zu].file: cannot read %s", name, i,
                                  why.n ? why.lines[0] : path);
            problems++;
        } else {
            loaded[i] = true;
            if (!lines_has(&texts[i], s->v[i].title)) {
                cq_content_errors_add(errs, "%s: sources[%zu].title: \"%s\" is not a line of %s",
                                      name, i, s->v[i].title, s->v[i].file);
                problems++;
            }
        }
        cq_content_errors_free(&why);
    }
    for (size_t qi = 0; qi < b->n_questions; qi++) {
        const struct cq_question *q = &b->questions[qi];
        for (size_t i = 0; i < s->n; i++) {
            if (strcmp(s->v[i].file, q->source_file))
                continue;
            if (loaded[i] && !lines_has(&texts[i], q->source_section)) {
                cq_content_errors_add(errs,
                                      "%s: question %s: source.section: \"%s\" is not a line of %s",
                                      name, q->id, q->source_section, q->source_file);
                problems++;
            }
            break;
        }
    }
out:
    for (size_t i = 0; texts && i < s->n; i++)
        lines_free(&texts[i]);
    free(texts);
    free(loaded);
    return problems;
}
