/* The Kahoot! spreadsheet layout as CSV (server/content/csv.c), on the
 * fixtures in tests/fixtures/import/csv-*.csv. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define STR(q, k) json_string_value(json_object_get(q, k))

static long correct_at(json_t *q, size_t i)
{
    return (long)json_integer_value(json_array_get(json_object_get(q, "correct"), i));
}

/* BOM, CRLF, the template's preamble rows, a header found by name after a
 * leading number column, quoting, a quoted line break, trailing empty rows. */
Test(csv, kahoot_template)
{
    struct t_import t;
    t_import(&t, CQ_IMPORT_CSV, "csv-kahoot.csv");
    cr_expect_eq(t.status, 0);
    cr_expect_eq(t.errs.n, 0, "%s", t.errs.n ? t.errs.lines[0] : "");
    cr_expect_eq(t.r.imported, 6);

    json_t *q = t_question(t.r.bank, "what-is-the-capital-of-norway");
    cr_expect_str_eq(STR(q, "type"), "single");
    t_strings(json_object_get(q, "options"),
              (const char *[]){"Bergen", "Oslo", "Trondheim", "Stavanger", NULL});
    cr_expect_eq(correct_at(q, 0), 1);
    cr_expect_eq(json_integer_value(json_object_get(q, "time_limit")), 20);
    cr_expect_str_eq(STR(q, "explanation"), "The correct answer is \"Oslo\".");
    cr_expect_str_eq(STR(json_object_get(q, "source"), "section"), "line 5");
    t_strings(json_object_get(q, "tags"), (const char *[]){"imported", NULL});

    q = t_question(t.r.bank, "which-of-these-are-primary-colours");
    cr_expect_str_eq(STR(q, "type"), "multi");
    cr_assert_eq(json_array_size(json_object_get(q, "correct")), 2);
    cr_expect_eq(correct_at(q, 0), 0);
    cr_expect_eq(correct_at(q, 1), 2);
    cr_expect_str_eq(STR(q, "explanation"), "The correct answers are \"Red\" and \"Blue\".");

    q = t_question(t.r.bank, "the-earth-orbits-the-sun");
    cr_expect_str_eq(STR(q, "type"), "truefalse");
    cr_expect(json_is_true(json_object_get(q, "correct")));

    q = t_question(t.r.bank, "which-quote-is-from-hamlet");
    cr_expect_str_eq(STR(q, "prompt"), "Which quote is from \"Hamlet\"?");
    t_strings(json_object_get(q, "options"),
              (const char *[]){"To be, or not to be", "All the world's a stage", NULL});
    cr_expect_eq(json_integer_value(json_object_get(q, "time_limit")), 60);

    /* A line break inside quotes; answers 1 and 3 filled, 1 correct. */
    q = t_question(t.r.bank, "a-prompt-written-over-two-lines");
    cr_expect_str_eq(STR(q, "prompt"), "A prompt written over two lines?");
    t_strings(json_object_get(q, "options"), (const char *[]){"Yes", "No", NULL});
    cr_expect_eq(correct_at(q, 0), 0);
    cr_expect_null(json_object_get(q, "time_limit"));
    cr_expect_str_eq(STR(json_object_get(q, "source"), "section"), "line 9");

    q = t_question(t.r.bank, "pick-the-odd-one-out");
    cr_expect_eq(correct_at(q, 0), 2);
    cr_expect_eq(json_integer_value(json_object_get(q, "time_limit")), 240);
    t_import_free(&t);
}

/* Emoji built with a zero-width joiner are visible text and are kept; an
 * invisible character is refused by its code point, in its question. */
Test(csv, joined_emoji_kept_invisible_characters_named)
{
    struct t_import t;
    t_import(&t, CQ_IMPORT_CSV, "csv-invisible.csv");
    cr_expect_eq(t.status, 1);
    t_expect_errors(&t.errs, FIXTURES "/import/csv-invisible.errors");
    cr_expect_eq(t.r.imported, 1);
    json_t *q = t_question(t.r.bank, "who-writes-the-code");
    cr_expect_str_eq(json_string_value(json_object_get(q, "prompt")),
                     "Who writes the code? \xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb");
    t_import_free(&t);
}

Test(csv, errors_name_the_line_and_why)
{
    struct t_import t;
    t_import(&t, CQ_IMPORT_CSV, "csv-errors.csv");
    cr_expect_eq(t.status, 1);
    t_expect_errors(&t.errs, FIXTURES "/import/csv-errors.errors");
    cr_expect_eq(t.r.imported, 2);
    cr_expect_eq(t.r.skipped, 13);
    /* Same prompt twice: the second id gets a suffix. */
    t_question(t.r.bank, "which-is-a-fruit");
    t_question(t.r.bank, "which-is-a-fruit-2");
    t_import_free(&t);
}

Test(csv, semicolons_and_a_plain_header)
{
    struct t_import t;
    t_import(&t, CQ_IMPORT_CSV, "csv-semicolon.csv");
    cr_expect_eq(t.status, 0);
    cr_expect_eq(t.r.imported, 2);
    json_t *q = t_question(t.r.bank, "which-are-vowels");
    cr_expect_str_eq(STR(q, "type"), "multi");
    t_strings(json_object_get(q, "options"), (const char *[]){"a", "b", "e", NULL});
    t_import_free(&t);
}

Test(csv, header_needs_the_required_columns)
{
    struct t_import t;
    t_import_text(&t, CQ_IMPORT_CSV, "h.csv", "Question,Answer 1,Answer 2,Image\nQ?,a,b,x.png\n");
    cr_expect_eq(t.status, 1);
    cr_expect_null(t.r.bank);
    cr_assert_eq(t.errs.n, 3);
    cr_expect_str_eq(t.errs.lines[0], "h.csv:1: header: column 4 (\"Image\") is not part of the "
                                      "Kahoot! layout; its cells are not imported");
    cr_expect_str_eq(t.errs.lines[1], "h.csv:1: header: no \"Correct answer(s)\" column");
    cr_expect_str_eq(t.errs.lines[2], "h.csv: no question could be imported");
    t_import_free(&t);
}

Test(csv, export_quotes_and_reports_what_it_cannot_express)
{
    struct cq_content_errors errs;
    struct cq_content_buf out;
    size_t skipped;
    cq_content_errors_init(&errs, 20);
    struct cq_bank *b = cq_bank_load_file(FIXTURES "/content/mini/bank.json", &errs);
    cr_assert_not_null(b);
    cq_content_buf_init(&out, 1u << 20);
    cr_assert_eq(cq_csv_export(b, "mini.json", &out, &errs, &skipped), 0);
    cr_expect_eq(skipped, 3);
    cr_assert_eq(errs.n, 3);
    cr_expect_str_eq(errs.lines[0], "mini.json: question a1: cannot be exported to CSV: the "
                                    "Kahoot! spreadsheet has no typed-answer question");
    cr_expect_str_eq(errs.lines[1], "mini.json: question o1: cannot be exported to CSV: the "
                                    "Kahoot! spreadsheet has no ordering question");
    cr_expect_str_eq(errs.lines[2], "mini.json: question p1: cannot be exported to CSV: the "
                                    "Kahoot! spreadsheet has no poll (every question needs a "
                                    "correct answer)");
    cr_expect_str_eq(out.p, "Question,Answer 1,Answer 2,Answer 3,Answer 4,Time limit (sec),"
                            "Correct answer(s)\r\n"
                            "Which is a colour?,Red,Four,Paris,Cat,,1\r\n"
                            "Which are prime?,2,4,5,9,,\"1,3\"\r\n"
                            "Water boils at 100 C at sea level.,True,False,,,,1\r\n");
    cq_content_buf_free(&out);
    cq_bank_free(b);
    cq_content_errors_free(&errs);
}

/* A prompt or option that starts like a formula (=, +, -, @) is exported
 * defused, as the results CSV does it: quoted, with a leading '. Importing
 * the file gives the text back as it was. */
Test(csv, export_defuses_formulas_and_import_restores_them)
{
    struct cq_content_errors errs;
    struct cq_content_buf out;
    size_t skipped, len;
    cq_content_errors_init(&errs, 10);
    cq_content_buf_init(&out, CQ_EXPORT_MAX);
    struct cq_bank *b =
        cq_content_load_file(FIXTURES "/import/csv-export-formulas.json", &errs, NULL);
    cr_assert_not_null(b, "%s", errs.n ? errs.lines[0] : "");
    cr_assert_eq(cq_csv_export(b, "f.json", &out, &errs, &skipped), 0);
    cr_expect_eq(skipped, 0);
    char *want = t_read(FIXTURES "/import/csv-export-formulas.csv", &len);
    cr_assert_eq(out.len, len);
    cr_expect_eq(memcmp(out.p, want, len), 0, "%.*s", (int)out.len, out.p);
    free(want);

    struct t_import t;
    t_import(&t, CQ_IMPORT_CSV, "csv-export-formulas.csv");
    cr_expect_eq(t.status, 0, "%s", t.errs.n ? t.errs.lines[0] : "");
    json_t *qs = json_object_get(t.r.bank, "questions");
    cr_assert_eq(json_array_size(qs), 2);
    json_t *q = json_array_get(qs, 0);
    cr_expect_str_eq(STR(q, "prompt"), b->questions[0].prompt);
    t_strings(json_object_get(q, "options"),
              (const char *[]){"+1", "-1", "@SUM(A1)", "a - b = c", NULL});
    cr_expect_str_eq(STR(json_array_get(qs, 1), "prompt"), "-2 is negative.");
    t_import_free(&t);
    cq_bank_free(b);
    cq_content_buf_free(&out);
    cq_content_errors_free(&errs);
}

/* An input of more questions than a bank may hold: the first
 * CQ_BANK_QUESTIONS_MAX are imported (a bank check accepts), the rest are
 * reported in one line and counted. */
Test(csv, import_stops_at_the_bank_limit_with_one_line)
{
    struct cq_content_buf in;
    cq_content_buf_init(&in, 1u << 20);
    for (unsigned i = 1; i <= CQ_BANK_QUESTIONS_MAX + 2; i++)
        cq_content_buf_printf(&in, "Q%u,yes,no,,,,1\r\n", i);
    cr_assert(!in.failed);
    struct t_import t;
    t_import_text(&t, CQ_IMPORT_CSV, "many.csv", in.p);
    cr_expect_eq(t.status, 1);
    cr_expect_eq(t.r.imported, CQ_BANK_QUESTIONS_MAX);
    cr_expect_eq(t.r.skipped, 2);
    cr_assert_eq(t.errs.n, 1);
    cr_expect_str_eq(t.errs.lines[0], "many.csv:10001: a bank holds at most 10000 questions: this "
                                      "one and the rest are not imported");
    t_import_free(&t);
    cq_content_buf_free(&in);
}
