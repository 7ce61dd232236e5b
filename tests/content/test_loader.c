/* The loader (server/content/bank_load.c) against its spec: every case in
 * tests/fixtures/banks-invalid/NAME.json must fail with exactly the lines of
 * NAME.error; the banks the project ships must load. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "room.h"
#include "support.h"

#define INVALID FIXTURES "/banks-invalid"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

Test(loader, invalid_banks_fail_with_the_expected_error)
{
    DIR *d = opendir(INVALID);
    struct dirent *e;
    char *names[256];
    size_t n = 0;
    cr_assert(d, "cannot open %s", INVALID);
    while ((e = readdir(d)) && n < 256) {
        size_t len = strlen(e->d_name);
        if (len > 5 && !strcmp(e->d_name + len - 5, ".json"))
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    cr_assert_geq(n, 60, "only %zu cases", n);
    for (size_t i = 0; i < n; i++) {
        char path[512], expect[512];
        size_t len;
        snprintf(path, sizeof path, INVALID "/%s", names[i]);
        snprintf(expect, sizeof expect, INVALID "/%.*s.error", (int)strlen(names[i]) - 5, names[i]);
        char *text = t_read(path, &len);
        struct cq_content_errors errs;
        cq_content_errors_init(&errs, 20);
        /* Labelled with the bare file name, as the .error files are. */
        struct cq_bank *b = cq_bank_parse(text, len, names[i], &errs);
        cr_expect_null(b, "%s: accepted", names[i]);
        t_expect_errors(&errs, expect);
        cq_bank_free(b);
        cq_content_errors_free(&errs);
        free(text);
        free(names[i]);
    }
    printf("loader: %zu invalid-bank cases\n", n);
}

Test(loader, builtin_bank_loads_with_its_sources)
{
    struct cq_content_errors errs;
    struct cq_content_sources s = {NULL, 0};
    cq_content_errors_init(&errs, 20);
    struct cq_bank *b = cq_content_load_file(BUILTIN, &errs, &s);
    cr_assert_not_null(b, "%s", errs.n ? errs.lines[0] : "?");
    cr_expect_eq(b->n_questions, 175);
    cr_expect_str_eq(b->id, "itil4-value-chain");
    cr_expect_not_null(b->description);
    cr_assert_eq(s.n, 2);
    cr_expect_str_eq(s.v[0].file, "000_b4145623ee49a2d2.txt");
    cr_expect_str_eq(s.v[1].title, "The Service Value Chain: Activities, Concepts, and Metrics");
    cq_content_sources_free(&s);
    cq_bank_free(b);
    cq_content_errors_free(&errs);
}

/* `excludes` drop questions from a game (cq_room_select keeps the first of
 * each pair in shuffled order). The host picks topics by tag, so each tag
 * must still make a game: whatever the shuffle, a tag keeps at least 40% of
 * its questions and the whole bank at least 75%. A failure here means the
 * bank excludes too much: reword a question rather than exclude it. */
Test(loader, builtin_excludes_leave_every_topic_a_game)
{
    struct cq_content_errors errs;
    cq_content_errors_init(&errs, 20);
    struct cq_bank *b = cq_content_load_file(BUILTIN, &errs, NULL);
    cr_assert_not_null(b, "%s", errs.n ? errs.lines[0] : "?");
    unsigned *out = calloc(b->n_questions, sizeof *out);
    cr_assert_not_null(out);
    for (size_t i = 0; i <= b->n_questions; i++) {
        /* i < n_questions: each tag of question i (repeats are harmless); then the whole bank. */
        for (unsigned k = 0; k < (i < b->n_questions ? b->questions[i].n_tags : 1); k++) {
            const char *tag = i < b->n_questions ? b->questions[i].tags[k] : NULL;
            /* all: the questions with the tag, the game without excludes. */
            unsigned fewest = UINT_MAX, all = 0;
            for (size_t j = 0; j < b->n_questions; j++) {
                bool has = !tag;
                for (unsigned t = 0; t < b->questions[j].n_tags; t++)
                    has |= !strcmp(b->questions[j].tags[t], tag ? tag : "");
                all += has;
            }
            for (uint64_t seed = 1; seed <= 300; seed++) {
                unsigned n = cq_room_select(b, &tag, tag ? 1 : 0, 0, true, seed, out);
                fewest = n < fewest ? n : fewest;
            }
            cr_expect(tag ? fewest * 10 >= all * 4 : fewest * 4 >= all * 3,
                      "%s: %u of %u questions in the smallest game", tag ? tag : "(all)", fewest,
                      all);
        }
    }
    free(out);
    cq_bank_free(b);
    cq_content_errors_free(&errs);
}

Test(loader, content_directories_load)
{
    struct cq_content_errors errs;
    struct cq_bankset set;
    cq_content_errors_init(&errs, 20);
    cr_expect_eq(cq_bankset_load_dir(CQ_SOURCE_DIR "/content", &set, &errs), 0, "%s",
                 errs.n ? errs.lines[0] : "?");
    cq_bankset_free(&set);
    cr_expect_eq(cq_bankset_load_dir(FIXTURES "/content", &set, &errs), 0, "%s",
                 errs.n ? errs.lines[0] : "?");
    cq_bankset_free(&set);
    cq_content_errors_free(&errs);
}

Test(loader, two_banks_with_one_id_in_a_directory_fail)
{
    struct cq_content_errors errs;
    struct cq_bankset set;
    char dir[] = "/tmp/cq-content-XXXXXX", path[256];
    cr_assert_not_null(mkdtemp(dir));
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/b%d.json", dir, i);
        FILE *f = fopen(path, "w");
        size_t len;
        char *text = t_read(FIXTURES "/content/mini/bank.json", &len);
        fwrite(text, 1, len, f);
        fclose(f);
        free(text);
    }
    cq_content_errors_init(&errs, 20);
    cr_expect_eq(cq_bankset_load_dir(dir, &set, &errs), -1);
    cr_assert_eq(errs.n, 1);
    snprintf(path, sizeof path, "%s/b1.json: id: \"mini\" is the id of another bank", dir);
    cr_expect_str_eq(errs.lines[0], path);
    cq_content_errors_free(&errs);
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/b%d.json", dir, i);
        remove(path);
    }
    remove(dir);
}

/* The complete example in docs/bank-format.md is a valid bank. */
Test(loader, the_format_documents_example_is_valid)
{
    char *doc = t_read(CQ_SOURCE_DIR "/docs/bank-format.md", NULL);
    char *start = strstr(doc, "```json\n");
    cr_assert_not_null(start);
    start += 8;
    char *end = strstr(start, "```");
    cr_assert_not_null(end);
    struct cq_content_errors errs;
    cq_content_errors_init(&errs, 20);
    struct cq_bank *b = cq_bank_parse(start, (size_t)(end - start), "bank-format.md", &errs);
    cr_expect_not_null(b, "%s", errs.n ? errs.lines[0] : "?");
    if (b)
        cr_expect_eq(b->n_questions, 6);
    cq_bank_free(b);
    cq_content_errors_free(&errs);
    free(doc);
}

/* Unicode white space counts as blank, as JSON Schema's \s does. */
Test(loader, blank_means_unicode_white_space)
{
    static const char *const blanks[] = {" ", "\xc2\xa0", "\xe2\x80\x83", "\xe3\x80\x80",
                                         "\xe2\x80\xaf \xe2\x81\x9f"};
    for (size_t i = 0; i < sizeof blanks / sizeof blanks[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text,
                 "{\"format\":\"chainquiz-bank/1\",\"id\":\"b\",\"title\":\"%s\","
                 "\"description\":\"d\",\"language\":\"en\",\"version\":\"1.0.0\","
                 "\"licence\":\"x\",\"sources\":[{\"file\":\"f\",\"title\":\"t\"}],"
                 "\"questions\":[{\"id\":\"q\",\"type\":\"truefalse\",\"prompt\":\"p\","
                 "\"correct\":true,\"explanation\":\"e\",\"source\":{\"file\":\"f\","
                 "\"section\":\"s\"},\"tags\":[\"t\"],\"difficulty\":\"easy\"}]}",
                 blanks[i]);
        struct cq_content_errors errs;
        cq_content_errors_init(&errs, 4);
        struct cq_bank *b = cq_bank_parse(text, strlen(text), "b.json", &errs);
        cr_expect_null(b, "blank %zu accepted", i);
        cr_assert_eq(errs.n, 1);
        cr_expect_str_eq(errs.lines[0], "b.json: title: must not be blank");
        cq_bank_free(b);
        cq_content_errors_free(&errs);
    }
}

Test(loader, one_question_is_checked_like_in_a_bank)
{
    static const char *const files[] = {"notes.txt"};
    json_error_t jerr;
    json_t *q = json_loads("{\"id\":\"x1\",\"type\":\"single\",\"prompt\":\"P?\","
                           "\"options\":[\"a\",\"A\"],\"correct\":[0],\"explanation\":\"E.\","
                           "\"source\":{\"file\":\"notes.txt\",\"section\":\"S\"},"
                           "\"tags\":[\"t\"],\"difficulty\":\"easy\"}",
                           0, &jerr);
    struct cq_content_errors errs;
    cq_content_errors_init(&errs, 4);
    cr_expect_not(cq_content_question_ok(q, 3, files, 1, "in.gift:7", &errs));
    cr_assert_eq(errs.n, 1);
    cr_expect_str_eq(errs.lines[0], "in.gift:7: question x1: options[1]: repeats options[0] "
                                    "(case, accents and white space are ignored)");
    json_array_set_new(json_object_get(q, "options"), 1, json_string("b"));
    cr_expect(cq_content_question_ok(q, 3, files, 1, "in.gift:7", &errs));
    cr_expect(!cq_content_question_ok(q, 3, files, 0, "in.gift:7", &errs));
    cr_expect_str_eq(errs.lines[1], "in.gift:7: question x1: source.file: \"notes.txt\" is not "
                                    "listed in the bank's sources");
    json_decref(q);
    cq_content_errors_free(&errs);
}

/* One limit on the number of questions, CQ_BANK_QUESTIONS_MAX, for the
 * loader (so check and the server) and import alike. */
static char *bank_of(size_t n)
{
    struct cq_content_buf b;
    cq_content_buf_init(&b, 8u << 20);
    cq_content_buf_str(&b, "{\"format\":\"chainquiz-bank/1\",\"id\":\"b\",\"title\":\"T\","
                           "\"description\":\"d\",\"language\":\"en\",\"version\":\"1.0.0\","
                           "\"licence\":\"x\",\"sources\":[{\"file\":\"f\",\"title\":\"t\"}],"
                           "\"questions\":[");
    for (size_t i = 0; i < n; i++)
        cq_content_buf_printf(&b,
                              "%s{\"id\":\"q%zu\",\"type\":\"truefalse\",\"prompt\":\"p\","
                              "\"correct\":true,\"explanation\":\"e\",\"source\":{\"file\":"
                              "\"f\",\"section\":\"s\"},\"tags\":[\"t\"],\"difficulty\":\"easy\"}",
                              i ? "," : "", i);
    cq_content_buf_str(&b, "]}");
    cr_assert(!b.failed);
    return b.p;
}

Test(loader, at_most_ten_thousand_questions)
{
    struct cq_content_errors errs;
    cq_content_errors_init(&errs, 4);
    char *text = bank_of(CQ_BANK_QUESTIONS_MAX);
    struct cq_bank *b = cq_bank_parse(text, strlen(text), "b.json", &errs);
    cr_expect_not_null(b, "%s", errs.n ? errs.lines[0] : "");
    cq_bank_free(b);
    free(text);
    text = bank_of(CQ_BANK_QUESTIONS_MAX + 1);
    b = cq_bank_parse(text, strlen(text), "b.json", &errs);
    cr_expect_null(b);
    cr_assert_eq(errs.n, 1);
    cr_expect_str_eq(errs.lines[0],
                     "b.json: questions: at most 10000 questions in one bank (has 10001)");
    free(text);
    cq_content_errors_free(&errs);
}
