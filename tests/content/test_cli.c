/* `chainquiz-content` as a user runs it: exit status 0 clean, 1 problems,
 * 2 usage; every command has --help. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.h"

#define BIN CQ_CONTENT_BIN

static int run(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s >/dev/null 2>&1", BIN, args);
    int st = system(cmd);
    cr_assert(WIFEXITED(st), "%s did not exit", cmd);
    return WEXITSTATUS(st);
}

/* Output of a command (stdout and stderr), malloc'd. */
static char *output(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", BIN, args);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    struct cq_content_buf b;
    cq_content_buf_init(&b, 1u << 20);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
        cq_content_buf_add(&b, chunk, n);
    pclose(p);
    return b.p ? b.p : strdup("");
}

Test(cli, help_for_every_command)
{
    static const char *const cmds[] = {"--help", "check --help", "import --help", "export --help",
                                       "stats --help"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        cr_expect_eq(run(cmds[i]), 0, "%s", cmds[i]);
        char *out = output(cmds[i]);
        cr_expect_not_null(strstr(out, "usage: chainquiz-content"), "%s", cmds[i]);
        free(out);
    }
}

Test(cli, usage_errors_exit_2)
{
    cr_expect_eq(run(""), 2);
    cr_expect_eq(run("frobnicate"), 2);
    cr_expect_eq(run("check"), 2);
    cr_expect_eq(run("check --bogus x"), 2);
    cr_expect_eq(run("check --sources"), 2);
    cr_expect_eq(run("import x.gift"), 2);
    cr_expect_eq(run("import --from docx x.docx"), 2);
    cr_expect_eq(run("import --from gift --tag Bad x.gift"), 2);
    cr_expect_eq(run("import --from gift --difficulty extreme x.gift"), 2);
    cr_expect_eq(run("export --to pdf x.json"), 2);
    cr_expect_eq(run("stats"), 2);
}

Test(cli, check_exit_status)
{
    cr_expect_eq(run("check '" CQ_SOURCE_DIR "/content'"), 0);
    cr_expect_eq(run("check '" FIXTURES "/content/mini/bank.json'"), 0);
    cr_expect_eq(run("check '" FIXTURES "/banks-invalid/poll-points.json'"), 1);
    cr_expect_eq(run("check /nonexistent/bank.json"), 1);
    char *out = output("check '" FIXTURES "/banks-invalid/poll-points.json'");
    cr_expect_not_null(strstr(out, "poll-points.json: question p1: points: a poll is not "
                                   "scored: points must be 0\n"),
                       "%s", out);
    free(out);
}

Test(cli, check_sources_on_the_builtin_bank)
{
    FILE *f = fopen(SEEDS "/000_b4145623ee49a2d2.txt", "r");
    if (!f)
        cr_skip("no source texts at %s", SEEDS);
    fclose(f);
    cr_expect_eq(run("check '" CQ_SOURCE_DIR "/content' --sources '" SEEDS "'"), 0);
    /* Against the wrong folder, every source is missing. */
    cr_expect_eq(run("check '" CQ_SOURCE_DIR "/content' --sources '" FIXTURES "'"), 1);
}

Test(cli, import_export_and_stats)
{
    char dir[] = "/tmp/cq-cli-XXXXXX", args[1024];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(args, sizeof args, "import --from gift '%s' -o %s/g.json",
             FIXTURES "/import/gift-constructs.gift", dir);
    cr_expect_eq(run(args), 0);
    snprintf(args, sizeof args, "check %s/g.json", dir);
    cr_expect_eq(run(args), 0);
    snprintf(args, sizeof args, "import --from gift '%s' -o %s/e.json",
             FIXTURES "/import/gift-errors.gift", dir);
    cr_expect_eq(run(args), 1, "a partial import exits 1");
    snprintf(args, sizeof args, "export --to gift %s/g.json -o %s/g.gift", dir, dir);
    cr_expect_eq(run(args), 0, "every question of g.json fits GIFT");
    snprintf(args, sizeof args, "export --to csv %s/g.json -o %s/g.csv", dir, dir);
    cr_expect_eq(run(args), 1, "typeanswer questions do not fit the CSV layout");
    char *out = output("stats '" FIXTURES "/content/mini/bank.json'");
    cr_expect_not_null(strstr(out, "(mini): 6 questions\n"), "%s", out);
    cr_expect_not_null(strstr(out, "type:       single 1, multi 1, truefalse 1, typeanswer 1, "
                                   "ordering 1, poll 1\n"),
                       "%s", out);
    cr_expect_not_null(strstr(out, "difficulty: easy 5, medium 1, hard 0\n"), "%s", out);
    cr_expect_not_null(strstr(out, "lengths:    single: right option strictly longest in 0 of 1 "
                                   "(0%; by chance 25%); multi: right options "),
                       "%s", out);
    cr_expect_not_null(strstr(out,
                              "rank:       single: right option longest 0 (0%; by chance 25%), "
                              "second longest "),
                       "%s", out);
    free(out);
    static const char *const files[] = {"g.json", "e.json", "g.gift", "g.csv"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(args, sizeof args, "%s/%s", dir, files[i]);
        remove(args);
    }
    remove(dir);
}

/* `-o` naming the input itself (by any path: here a hard link) is refused
 * before anything is written, and the input is left as it was. */
Test(cli, output_onto_the_input_is_refused)
{
    char dir[] = "/tmp/cq-cli-XXXXXX", in[64], link_path[64], args[1024];
    size_t len, len2;
    cr_assert_not_null(mkdtemp(dir));
    snprintf(in, sizeof in, "%s/in.gift", dir);
    snprintf(link_path, sizeof link_path, "%s/same.gift", dir);
    char *want = t_read(FIXTURES "/import/gift-constructs.gift", &len);
    FILE *f = fopen(in, "wb");
    cr_assert_not_null(f);
    fwrite(want, 1, len, f);
    fclose(f);
    cr_assert_eq(link(in, link_path), 0);
    snprintf(args, sizeof args, "import --from gift %s -o %s", in, in);
    cr_expect_eq(run(args), 2);
    snprintf(args, sizeof args, "import --from gift %s -o %s", in, link_path);
    char *out = output(args);
    cr_expect_not_null(strstr(out, "is the input file"), "%s", out);
    free(out);
    cr_expect_eq(run(args), 2);
    char *got = t_read(in, &len2);
    cr_expect(len2 == len && !memcmp(got, want, len), "the input was changed");
    free(got);
    /* export reads a bank: the same rule. */
    snprintf(args, sizeof args, "export --to gift %s -o %s", link_path, in);
    cr_expect_eq(run(args), 2);
    free(want);
    remove(link_path);
    remove(in);
    remove(dir);
}
