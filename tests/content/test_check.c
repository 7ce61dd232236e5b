/* `check --sources`: source titles and sections are lines of the texts. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "support.h"

/* The built-in bank cites /work/shared/seeds (beside the repository). */
Test(check, builtin_bank_sources_are_lines_of_the_seeds)
{
    struct stat st;
    if (stat(SEEDS, &st) || !S_ISDIR(st.st_mode))
        cr_skip("no source texts at %s", SEEDS);
    struct cq_content_errors errs;
    struct cq_content_sources s = {NULL, 0};
    cq_content_errors_init(&errs, 200);
    struct cq_bank *b = cq_content_load_file(BUILTIN, &errs, &s);
    cr_assert_not_null(b);
    size_t problems = cq_content_check_sources(b, &s, "bank.json", SEEDS, &errs);
    cr_expect_eq(problems, 0, "%s", errs.n ? errs.lines[0] : "");
    cr_expect_eq(errs.n, 0);
    cq_content_sources_free(&s);
    cq_bank_free(b);
    cq_content_errors_free(&errs);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

Test(check, wrong_headings_and_missing_files_are_reported)
{
    char dir[] = "/tmp/cq-sources-XXXXXX", path[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/a.txt", dir);
    /* Headings match once trimmed (spaces, tab, CR, no-break space). */
    write_file(path, "The A text\r\n\n  Colours\t\n\xc2\xa0Numbers\n");
    const char *bank =
        "{\"format\":\"chainquiz-bank/1\",\"id\":\"b\",\"title\":\"T\",\"description\":\"D.\","
        "\"language\":\"en\",\"version\":\"1.0.0\",\"licence\":\"CC0-1.0\",\"sources\":["
        "{\"file\":\"a.txt\",\"title\":\"The A text\"},{\"file\":\"gone.txt\",\"title\":\"G\"}],"
        "\"questions\":["
        "{\"id\":\"q1\",\"type\":\"truefalse\",\"prompt\":\"P\",\"correct\":true,"
        "\"explanation\":\"E\",\"source\":{\"file\":\"a.txt\",\"section\":\"Colours\"},"
        "\"tags\":[\"t\"],\"difficulty\":\"easy\"},"
        "{\"id\":\"q2\",\"type\":\"truefalse\",\"prompt\":\"P\",\"correct\":true,"
        "\"explanation\":\"E\",\"source\":{\"file\":\"a.txt\",\"section\":\"Numbers\"},"
        "\"tags\":[\"t\"],\"difficulty\":\"easy\"},"
        "{\"id\":\"q3\",\"type\":\"truefalse\",\"prompt\":\"P\",\"correct\":true,"
        "\"explanation\":\"E\",\"source\":{\"file\":\"a.txt\",\"section\":\"Colour\"},"
        "\"tags\":[\"t\"],\"difficulty\":\"easy\"}]}";
    struct cq_content_errors errs;
    struct cq_content_sources s = {NULL, 0};
    cq_content_errors_init(&errs, 20);
    struct cq_bank *b = cq_content_parse(bank, strlen(bank), "b.json", &errs, &s);
    cr_assert_not_null(b, "%s", errs.n ? errs.lines[0] : "");
    cr_expect_eq(cq_content_check_sources(b, &s, "b.json", dir, &errs), 2);
    cr_assert_eq(errs.n, 2);
    char want[256];
    snprintf(want, sizeof want,
             "b.json: sources[1].file: cannot read %s/gone.txt: No such file or directory", dir);
    cr_expect_str_eq(errs.lines[0], want);
    cr_expect_str_eq(errs.lines[1],
                     "b.json: question q3: source.section: \"Colour\" is not a line of a.txt");
    cq_content_sources_free(&s);
    cq_bank_free(b);
    cq_content_errors_free(&errs);
    remove(path);
    remove(dir);
}
