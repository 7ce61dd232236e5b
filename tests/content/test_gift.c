/* Moodle GIFT import and export (server/content/gift.c), on the fixtures in
 * tests/fixtures/import/gift-*.gift. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define STR(q, k) json_string_value(json_object_get(q, k))

static struct t_import g;

static void load_constructs(void)
{
    t_import(&g, CQ_IMPORT_GIFT, "gift-constructs.gift");
}

static void done(void)
{
    t_import_free(&g);
}

TestSuite(gift_constructs, .init = load_constructs, .fini = done);

Test(gift_constructs, everything_is_imported)
{
    cr_expect_eq(g.status, 0);
    cr_expect_eq(g.errs.n, 0, "%s", g.errs.n ? g.errs.lines[0] : "");
    cr_expect_eq(g.r.imported, 16);
    cr_expect_eq(g.r.skipped, 0);
    cr_expect_eq(g.r.generated_explanations, 8);
    cr_expect_str_eq(STR(g.r.bank, "id"), "gift-constructs");
    cr_expect_str_eq(STR(g.r.bank, "licence"), "NOASSERTION");
}

Test(gift_constructs, multiple_choice_with_feedback)
{
    json_t *q = t_question(g.r.bank, "capital-of-france");
    cr_expect_str_eq(STR(q, "type"), "single");
    cr_expect_str_eq(STR(q, "prompt"), "What is the capital of France?");
    t_strings(json_object_get(q, "options"), (const char *[]){"Paris", "Lyon", "Marseille", NULL});
    cr_expect_eq(json_integer_value(json_array_get(json_object_get(q, "correct"), 0)), 0);
    /* General feedback, the right answer's feedback, then a wrong one's. */
    cr_expect_str_eq(STR(q, "explanation"),
                     "Paris is both the capital and the largest city. Right: Paris has been the "
                     "capital since 508. Lyon: Lyon is the third-largest city.");
    t_strings(json_object_get(q, "tags"), (const char *[]){"geography", "capital-cities", NULL});
    cr_expect_str_eq(STR(q, "difficulty"), "medium");
    json_t *src = json_object_get(q, "source");
    cr_expect_str_eq(STR(src, "file"), "gift-constructs.gift");
    cr_expect_str_eq(STR(src, "section"), "line 6");
}

Test(gift_constructs, weights_make_a_multi_question)
{
    json_t *q = t_question(g.r.bank, "primes");
    cr_expect_str_eq(STR(q, "type"), "multi");
    t_strings(json_object_get(q, "options"), (const char *[]){"2", "3", "4", "9", NULL});
    json_t *c = json_object_get(q, "correct");
    cr_assert_eq(json_array_size(c), 2);
    cr_expect_eq(json_integer_value(json_array_get(c, 0)), 0);
    cr_expect_eq(json_integer_value(json_array_get(c, 1)), 1);
    cr_expect_str_eq(STR(q, "explanation"), "4: 4 is 2 times 2.");
}

Test(gift_constructs, true_false_in_all_spellings)
{
    static const struct {
        const char *id;
        bool truth;
        const char *explanation;
    } want[] = {
        {"sun", true, "The statement is true."},
        {"moon", false, "Right, it is a satellite. True: No: it is a natural satellite."},
        {"water", true, "At standard pressure."},
        {"ice", false, "The statement is false."},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        json_t *q = t_question(g.r.bank, want[i].id);
        cr_expect_str_eq(STR(q, "type"), "truefalse", "%s", want[i].id);
        cr_expect_eq(json_is_true(json_object_get(q, "correct")), want[i].truth, "%s", want[i].id);
        cr_expect_str_eq(STR(q, "explanation"), want[i].explanation, "%s", want[i].id);
        cr_expect_null(json_object_get(q, "options"));
    }
    json_t *tags = json_object_get(t_question(g.r.bank, "sun"), "tags");
    t_strings(tags, (const char *[]){"science", NULL});
}

Test(gift_constructs, short_answer_becomes_typeanswer)
{
    json_t *q = t_question(g.r.bank, "symbol-for-gold");
    cr_expect_str_eq(STR(q, "type"), "typeanswer");
    /* "au" folds to "Au": one entry; the 0% answer is not accepted. */
    t_strings(json_object_get(q, "accepted"), (const char *[]){"Au", NULL});
    cr_expect_str_eq(STR(q, "explanation"), "Yes, from the Latin aurum. Ag: Ag is silver.");
}

Test(gift_constructs, exact_whole_numbers_become_typeanswer)
{
    json_t *q = t_question(g.r.bank, "legs");
    cr_expect_str_eq(STR(q, "type"), "typeanswer");
    t_strings(json_object_get(q, "accepted"), (const char *[]){"8", NULL});
    q = t_question(g.r.bank, "below-zero");
    t_strings(json_object_get(q, "accepted"), (const char *[]){"-7", NULL});
    cr_expect_str_eq(STR(q, "explanation"), "Correct.");
}

Test(gift_constructs, titles_become_unique_ids)
{
    json_t *q = t_question(g.r.bank, "sun-2");
    cr_expect_str_eq(STR(q, "prompt"),
                     "Light from the Sun reaches Earth in about _____ on average.");
    t_strings(json_object_get(q, "options"),
              (const char *[]){"8 seconds", "8 minutes", "8 hours", NULL});
    /* No title: the id comes from the prompt; lines are joined. */
    q = t_question(g.r.bank, "which-planet-is-the-largest-in-the-solar-system");
    cr_expect_str_eq(STR(q, "prompt"), "Which planet is the largest in the solar system?");
    cr_expect_str_eq(STR(json_object_get(q, "source"), "section"), "line 43");
}

Test(gift_constructs, escapes)
{
    json_t *q = t_question(g.r.bank, "escapes-all-of-them");
    cr_expect_str_eq(STR(q, "prompt"),
                     "Which of these is written with GIFT escapes { } = ~ # \\ ?");
    t_strings(json_object_get(q, "options"),
              (const char *[]){"a = b", "c ~ d", "e # f", "{g}", NULL});
    cr_expect_str_eq(STR(q, "explanation"),
                     "Escaped characters are plain text in the imported question.");
}

Test(gift_constructs, text_formats)
{
    json_t *q = t_question(g.r.bank, "html");
    cr_expect_str_eq(STR(q, "prompt"), "Which word is bold & italic here?");
    t_strings(json_object_get(q, "options"), (const char *[]){"bold", "plain", NULL});
    q = t_question(g.r.bank, "markdown");
    cr_expect_str_eq(STR(q, "prompt"), "Which of these is strong?");
    t_strings(json_object_get(q, "options"), (const char *[]){"this one", "that one", NULL});
    q = t_question(g.r.bank, "plain");
    cr_expect_str_eq(STR(q, "prompt"), "Is <b> a tag here?");
    cr_expect_str_eq(STR(q, "explanation"), "In [plain] text it is just text.");
}

Test(gift_constructs, chainquiz_comment_sets_what_gift_cannot)
{
    json_t *q = t_question(g.r.bank, "with-metadata");
    cr_expect_str_eq(STR(q, "difficulty"), "hard");
    cr_expect_eq(json_integer_value(json_object_get(q, "time_limit")), 30);
    cr_expect_eq(json_integer_value(json_object_get(q, "points")), 2);
}

Test(gift, errors_name_the_line_and_why)
{
    struct t_import t;
    t_import(&t, CQ_IMPORT_GIFT, "gift-errors.gift");
    cr_expect_eq(t.status, 1);
    t_expect_errors(&t.errs, FIXTURES "/import/gift-errors.errors");
    /* The partial import keeps the good question. */
    cr_assert_not_null(t.r.bank);
    cr_expect_eq(t.r.imported, 1);
    cr_expect_eq(t.r.skipped, 28);
    cr_expect_str_eq(STR(t_question(t.r.bank, "good"), "type"), "truefalse");
    t_import_free(&t);
}

Test(gift, crlf_and_byte_order_mark)
{
    struct t_import t;
    t_import_text(&t, CQ_IMPORT_GIFT, "win.gift",
                  "\xef\xbb\xbf// exported on Windows\r\n"
                  "::Q1::Pick one.\r\n{\r\n=yes\r\n~no\r\n}\r\n\r\n"
                  "::Q2::Pick two.{=a ~b}\r\n");
    cr_expect_eq(t.status, 0);
    cr_expect_eq(t.r.imported, 2);
    json_t *q = t_question(t.r.bank, "q1");
    cr_expect_str_eq(STR(q, "prompt"), "Pick one.");
    t_strings(json_object_get(q, "options"), (const char *[]){"yes", "no", NULL});
    cr_expect_str_eq(STR(json_object_get(t_question(t.r.bank, "q2"), "source"), "section"),
                     "line 8");
    t_import_free(&t);
}

Test(gift, nothing_importable_writes_nothing)
{
    struct t_import t;
    t_import_text(&t, CQ_IMPORT_GIFT, "m.gift", "::M::Match.{=a -> 1 =b -> 2}\n");
    cr_expect_eq(t.status, 1);
    cr_expect_null(t.r.bank);
    cr_assert_eq(t.errs.n, 2);
    cr_expect_str_eq(t.errs.lines[1], "m.gift: no question could be imported");
    t_import_free(&t);
}

Test(gift, options_set_the_bank_and_the_defaults)
{
    struct cq_import_opts o;
    struct cq_import_result r;
    struct cq_content_errors errs;
    const char *text = "::Q::Pick.{=a ~b}\n";
    memset(&o, 0, sizeof o);
    o.name = "dir/quiz.gift";
    o.id = "my-quiz";
    o.title = "My quiz";
    o.licence = "CC-BY-4.0";
    o.tags[0] = "general";
    o.n_tags = 1;
    o.difficulty = "easy";
    o.source_file = "book.txt";
    o.source_title = "The book";
    o.source_section = "Chapter 1";
    cq_content_errors_init(&errs, 10);
    cr_assert_eq(cq_content_import(CQ_IMPORT_GIFT, text, strlen(text), &o, &r, &errs), 0);
    cr_expect_str_eq(STR(r.bank, "id"), "my-quiz");
    cr_expect_str_eq(STR(r.bank, "title"), "My quiz");
    cr_expect_str_eq(STR(r.bank, "description"), "Questions imported from quiz.gift.");
    json_t *src = json_array_get(json_object_get(r.bank, "sources"), 0);
    cr_expect_str_eq(STR(src, "file"), "book.txt");
    cr_expect_str_eq(STR(src, "title"), "The book");
    json_t *q = t_question(r.bank, "q");
    cr_expect_str_eq(STR(json_object_get(q, "source"), "section"), "Chapter 1");
    t_strings(json_object_get(q, "tags"), (const char *[]){"general", NULL});
    cr_expect_str_eq(STR(q, "difficulty"), "easy");
    json_decref(r.bank);
    cq_content_errors_free(&errs);
}

/* Export: escapes, weights and the comments that carry what GIFT cannot. */
Test(gift, export_writes_moodle_syntax)
{
    struct cq_content_errors errs;
    struct cq_content_sources s = {NULL, 0};
    struct cq_content_buf out;
    size_t skipped;
    cq_content_errors_init(&errs, 20);
    struct cq_bank *b = cq_content_load_file(FIXTURES "/content/mini/bank.json", &errs, &s);
    cr_assert_not_null(b);
    cq_content_buf_init(&out, 1u << 20);
    cr_assert_eq(cq_gift_export(b, &s, "mini.json", &out, &errs, &skipped), 0);
    cr_expect_eq(skipped, 2);
    cr_assert_eq(errs.n, 2);
    cr_expect_str_eq(errs.lines[0], "mini.json: question o1: cannot be exported to GIFT: GIFT "
                                    "has no ordering question");
    cr_expect_str_eq(errs.lines[1], "mini.json: question p1: cannot be exported to GIFT: GIFT "
                                    "has no poll (every GIFT choice question has a right answer)");
    cr_expect_not_null(strstr(out.p, "$CATEGORY: multi/maths\n\n"
                                     "// chainquiz: {\"difficulty\":\"medium\",\"source\":{"
                                     "\"file\":\"none\",\"section\":\"none\"},\"points\":2}\n"
                                     "::m1::[plain]Which are prime? {\n"
                                     "\t~%50%2\n\t~%-100%4\n\t~%50%5\n\t~%-100%9\n"
                                     "\t####2 and 5 are prime; 4 and 9 are squares.\n}\n"),
                       "%s", out.p);
    cr_expect_not_null(strstr(out.p, "::t1::[plain]Water boils at 100 C at sea level. {\n"
                                     "\tTRUE\n\t####At standard pressure it does.\n}\n"));
    cr_expect_not_null(strstr(out.p, "::a1::[plain]Capital of France? {\n\t=Paris\n"));
    cr_expect_not_null(strstr(out.p, "// chainquiz-bank: {\"id\":\"mini\","));
    cq_content_buf_free(&out);
    cq_content_sources_free(&s);
    cq_bank_free(b);
    cq_content_errors_free(&errs);
}

/* Emoji built with a zero-width joiner (👩‍💻, 🏳️‍🌈) are visible text: kept. */
Test(gift, joined_emoji_are_kept)
{
    struct t_import t;
    t_import(&t, CQ_IMPORT_GIFT, "gift-emoji-zwj.gift");
    cr_expect_eq(t.status, 0, "%s", t.errs.n ? t.errs.lines[0] : "");
    json_t *q = t_question(t.r.bank, "zwj1");
    cr_expect_str_eq(json_string_value(json_object_get(q, "prompt")),
                     "Who writes the code? \xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb");
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(q, "options"), 2)),
                     "\xf0\x9f\x8f\xb3\xef\xb8\x8f\xe2\x80\x8d\xf0\x9f\x8c\x88 Cy");
    t_import_free(&t);
}

/* A $CATEGORY path of any length (this one is 1,458 bytes) gives its deepest
 * six segments as tags, as docs/import.md says; it used to be cut at 1,024
 * bytes into tags made of whatever segments came before the cut. */
Test(gift, long_category_keeps_the_deepest_six_segments)
{
    struct t_import t;
    t_import(&t, CQ_IMPORT_GIFT, "gift-category-long.gift");
    cr_expect_eq(t.status, 0, "%s", t.errs.n ? t.errs.lines[0] : "");
    t_strings(json_object_get(t_question(t.r.bank, "deep"), "tags"),
              (const char *[]){"alpha", "beta", "gamma", "delta", "epsilon", "zeta", NULL});
    t_import_free(&t);
}
