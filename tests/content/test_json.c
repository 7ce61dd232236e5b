/* Our own format as an import source: validated, normalised, and partial
 * imports keep the good questions. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

/* The built-in bank is already in canonical form: normalising it changes
 * nothing, byte for byte. */
Test(json, normalising_the_builtin_bank_is_the_identity)
{
    struct cq_import_opts o;
    struct cq_import_result r;
    struct cq_content_errors errs;
    size_t len;
    char *text = t_read(BUILTIN, &len);
    memset(&o, 0, sizeof o);
    o.name = "bank.json";
    cq_content_errors_init(&errs, 20);
    cr_assert_eq(cq_content_import(CQ_IMPORT_JSON, text, len, &o, &r, &errs), 0, "%s",
                 errs.n ? errs.lines[0] : "");
    char *out = cq_content_dump(r.bank);
    cr_expect_str_eq(out, text);
    free(out);
    free(text);
    json_decref(r.bank);
    cq_content_errors_free(&errs);
}

Test(json, partial_import_keeps_the_good_questions)
{
    struct t_import t;
    t_import_text(
        &t, CQ_IMPORT_JSON, "in.json",
        "{\"format\":\"chainquiz-bank/1\",\"id\":\"b\",\"title\":\"T\",\"description\":\"D.\","
        "\"language\":\"en\",\"version\":\"1.0.0\",\"licence\":\"CC0-1.0\","
        "\"sources\":[{\"file\":\"f.txt\",\"title\":\"F\"}],\"questions\":["
        "{\"id\":\"q1\",\"type\":\"truefalse\",\"prompt\":\"P\",\"correct\":true,"
        "\"explanation\":\"E\",\"source\":{\"file\":\"f.txt\",\"section\":\"S\"},"
        "\"tags\":[\"t\"],\"difficulty\":\"easy\",\"points\":1},"
        "{\"id\":\"q2\",\"type\":\"truefalse\",\"prompt\":\"P\",\"correct\":\"yes\","
        "\"explanation\":\"E\",\"source\":{\"file\":\"f.txt\",\"section\":\"S\"},"
        "\"tags\":[\"t\"],\"difficulty\":\"easy\"},"
        "{\"id\":\"q1\",\"type\":\"truefalse\",\"prompt\":\"P\",\"correct\":true,"
        "\"explanation\":\"E\",\"source\":{\"file\":\"f.txt\",\"section\":\"S\"},"
        "\"tags\":[\"t\"],\"difficulty\":\"easy\"},"
        "\"q4\"]}");
    cr_expect_eq(t.status, 1);
    cr_assert_eq(t.errs.n, 3);
    cr_expect_str_eq(t.errs.lines[0], "in.json: question q2: correct: must be true or false for "
                                      "a truefalse question");
    cr_expect_str_eq(t.errs.lines[1], "in.json: question q1: id: is used by an earlier question");
    cr_expect_str_eq(t.errs.lines[2], "in.json: questions[3]: must be an object");
    cr_expect_eq(t.r.imported, 1);
    cr_expect_eq(t.r.skipped, 3);
    /* Normalised: "points": 1 is the default and is left out. */
    json_t *q = t_question(t.r.bank, "q1");
    cr_expect_null(json_object_get(q, "points"));
    t_import_free(&t);
}

Test(json, bank_level_problems_write_nothing)
{
    struct t_import t;
    t_import_text(&t, CQ_IMPORT_JSON, "in.json",
                  "{\"format\":\"chainquiz-bank/1\",\"id\":\"b\",\"title\":\"T\","
                  "\"language\":\"en\",\"version\":\"1.0.0\",\"licence\":\"CC0-1.0\","
                  "\"sources\":[{\"file\":\"f.txt\",\"title\":\"F\"}],\"questions\":["
                  "{\"id\":\"q1\",\"type\":\"truefalse\",\"prompt\":\"P\",\"correct\":true,"
                  "\"explanation\":\"E\",\"source\":{\"file\":\"f.txt\",\"section\":\"S\"},"
                  "\"tags\":[\"t\"],\"difficulty\":\"easy\"}]}");
    /* A JSON bank keeps its metadata: nothing is made up for it. */
    cr_expect_eq(t.status, 1);
    cr_expect_null(t.r.bank);
    cr_assert_eq(t.errs.n, 1);
    cr_expect_str_eq(t.errs.lines[0], "in.json: description: is required");
    t_import_free(&t);
    t_import_text(&t, CQ_IMPORT_JSON, "in.json", "{\"questions\": [1, 2,]}");
    cr_expect_eq(t.status, 1);
    cr_expect_null(t.r.bank);
    cr_assert_eq(t.errs.n, 1);
    cr_expect_str_eq(t.errs.lines[0], "in.json: line 1 column 21: unexpected token near ']'");
    t_import_free(&t);
}

/* A kept question that excludes a question left out keeps the rest of its
 * list; the entry is reported and dropped, so the bank stays valid. */
Test(json, excludes_of_a_question_left_out_are_dropped)
{
    struct t_import t;
    t_import_text(
        &t, CQ_IMPORT_JSON, "in.json",
        "{\"format\":\"chainquiz-bank/1\",\"id\":\"b\",\"title\":\"T\",\"description\":\"D.\","
        "\"language\":\"en\",\"version\":\"1.0.0\",\"licence\":\"CC0-1.0\","
        "\"sources\":[{\"file\":\"f.txt\",\"title\":\"F\"}],\"questions\":["
        "{\"id\":\"q1\",\"type\":\"truefalse\",\"prompt\":\"P\",\"correct\":true,"
        "\"explanation\":\"E\",\"source\":{\"file\":\"f.txt\",\"section\":\"S\"},"
        "\"tags\":[\"t\"],\"difficulty\":\"easy\",\"excludes\":[\"q2\",\"q3\"]},"
        "{\"id\":\"q2\",\"type\":\"truefalse\",\"prompt\":\"P\",\"correct\":\"yes\","
        "\"explanation\":\"E\",\"source\":{\"file\":\"f.txt\",\"section\":\"S\"},"
        "\"tags\":[\"t\"],\"difficulty\":\"easy\"},"
        "{\"id\":\"q3\",\"type\":\"truefalse\",\"prompt\":\"Q\",\"correct\":false,"
        "\"explanation\":\"E\",\"source\":{\"file\":\"f.txt\",\"section\":\"S\"},"
        "\"tags\":[\"t\"],\"difficulty\":\"easy\",\"excludes\":[\"q2\"]}]}");
    cr_expect_eq(t.status, 1);
    cr_assert_eq(t.errs.n, 3, "%s", t.errs.n ? t.errs.lines[t.errs.n - 1] : "");
    cr_expect_str_eq(
        t.errs.lines[1],
        "in.json: question q1: excludes: \"q2\" is not imported, so it is dropped here");
    cr_expect_str_eq(
        t.errs.lines[2],
        "in.json: question q3: excludes: \"q2\" is not imported, so it is dropped here");
    cr_assert_not_null(t.r.bank);
    static const char *const want[] = {"q3", NULL};
    t_strings(json_object_get(t_question(t.r.bank, "q1"), "excludes"), want);
    cr_expect_null(json_object_get(t_question(t.r.bank, "q3"), "excludes"));
    t_import_free(&t);
}

/* jansson's message names its flag JSON_ALLOW_NUL; ours says it in words. */
Test(json, a_nul_escape_is_reported_in_words)
{
    struct t_import t;
    t_import(&t, CQ_IMPORT_JSON, "json-nul.json");
    cr_expect_eq(t.status, 1);
    cr_expect_null(t.r.bank);
    t_expect_errors(&t.errs, FIXTURES "/import/json-nul.errors");
    t_import_free(&t);
}
