/* support.c: helpers shared by the content tests. */
#include "support.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *t_read(const char *path, size_t *len)
{
    struct cq_content_errors e;
    char *text = NULL;
    size_t n = 0;
    cq_content_errors_init(&e, 4);
    int r = cq_content_read_file(path, CQ_IMPORT_FILE_MAX, &text, &n, &e);
    cr_assert_eq(r, 0, "cannot read %s: %s", path, e.n ? e.lines[0] : "?");
    cq_content_errors_free(&e);
    if (len)
        *len = n;
    return text;
}

void t_import_text(struct t_import *t, enum cq_import_format fmt, const char *name,
                   const char *text)
{
    struct cq_import_opts o;
    memset(&o, 0, sizeof o);
    o.name = name;
    cq_content_errors_init(&t->errs, 1000);
    t->status = cq_content_import(fmt, text, strlen(text), &o, &t->r, &t->errs);
}

void t_import(struct t_import *t, enum cq_import_format fmt, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, FIXTURES "/import/%s", name);
    char *text = t_read(path, NULL);
    t_import_text(t, fmt, name, text);
    free(text);
}

void t_import_free(struct t_import *t)
{
    json_decref(t->r.bank);
    cq_content_errors_free(&t->errs);
}

void t_expect_errors(const struct cq_content_errors *errs, const char *path)
{
    char *want = t_read(path, NULL);
    size_t i = 0;
    char *save = NULL;
    for (char *line = strtok_r(want, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cr_expect(i < errs->n, "missing error line %zu: %s", i + 1, line);
        if (i < errs->n)
            cr_expect_str_eq(errs->lines[i], line, "error line %zu", i + 1);
        i++;
    }
    for (; i < errs->n; i++)
        cr_expect(false, "unexpected error line %zu: %s", i + 1, errs->lines[i]);
    cr_expect_eq(errs->dropped, 0);
    free(want);
}

json_t *t_question(json_t *bank, const char *id)
{
    size_t i;
    json_t *q;
    json_array_foreach(json_object_get(bank, "questions"), i, q)
    {
        const char *s = json_string_value(json_object_get(q, "id"));
        if (s && !strcmp(s, id))
            return q;
    }
    cr_assert_fail("no question %s", id);
    return NULL;
}

void t_strings(json_t *arr, const char *const *want)
{
    size_t n = 0;
    while (want[n])
        n++;
    cr_assert(json_is_array(arr), "not an array");
    cr_assert_eq(json_array_size(arr), n, "%zu entries, want %zu", json_array_size(arr), n);
    for (size_t i = 0; i < n; i++)
        cr_expect_str_eq(json_string_value(json_array_get(arr, i)), want[i], "entry %zu", i);
}
