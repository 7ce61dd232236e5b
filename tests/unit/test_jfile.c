/* The journal file (server/store/jfile.h): what it keeps, what a crash
 * leaves of it, and one server per data folder. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jfile.h"

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/cq-jfile-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, CQ_JFILE_NAME);
    unlink(path);
    rmdir(dir);
}

TestSuite(jfile, .init = make_dir, .fini = remove_dir);

struct seen {
    int n;
    char cmds[8][128];
};

static int collect(void *ud, const char *cmd, size_t len)
{
    struct seen *s = ud;
    if (s->n < 8)
        snprintf(s->cmds[s->n], sizeof s->cmds[s->n], "%.*s", (int)len, cmd);
    s->n++;
    return 0;
}

#define RPUSH  "*3\r\n$5\r\nRPUSH\r\n$3\r\nk:1\r\n$5\r\n[1,2]\r\n"
#define EXPIRE "*3\r\n$6\r\nEXPIRE\r\n$3\r\nk:1\r\n$2\r\n60\r\n"

Test(jfile, whole_commands_are_read_back_in_order)
{
    const char buf[] = RPUSH EXPIRE;
    struct seen s = {0};
    bool bad;
    cr_assert_eq(cq_jfile_parse(buf, sizeof buf - 1, collect, &s, &bad), sizeof buf - 1);
    cr_assert_not(bad);
    cr_assert_eq(s.n, 2);
    cr_assert_str_eq(s.cmds[0], RPUSH);
    cr_assert_str_eq(s.cmds[1], EXPIRE);
}

/* Every cut of the last command (a write a crash stopped short) leaves the
 * commands before it, and is not called bad. */
Test(jfile, a_torn_last_write_is_left_out_at_every_cut)
{
    const char buf[] = RPUSH EXPIRE;
    size_t first = sizeof RPUSH - 1;
    for (size_t cut = first; cut < sizeof buf - 1; cut++) {
        struct seen s = {0};
        bool bad;
        cr_assert_eq(cq_jfile_parse(buf, cut, collect, &s, &bad), first, "cut at %zu", cut);
        cr_assert_not(bad, "cut at %zu", cut);
        cr_assert_eq(s.n, 1);
    }
    struct seen s = {0};
    bool bad;
    cr_assert_eq(cq_jfile_parse(buf, first - 1, collect, &s, &bad), 0);
    cr_assert_eq(s.n, 0);
}

/* Bytes that are not RESP (a disk error, a foreign file) stop the walk and
 * say so. */
Test(jfile, garbage_is_called_bad)
{
    static const char *const cases[] = {
        RPUSH "hello world\r\n",
        RPUSH "*0\r\n",
        RPUSH "*1\r\n:5\r\n",
        RPUSH "*1\r\n$3\r\nabcd\r\n",
        RPUSH "*99999999999999999999\r\n",
        RPUSH "*1\r\n$-1\r\n",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct seen s = {0};
        bool bad;
        size_t used = cq_jfile_parse(cases[i], strlen(cases[i]), collect, &s, &bad);
        cr_assert_eq(used, sizeof RPUSH - 1, "case %zu", i);
        cr_assert(bad, "case %zu", i);
    }
}

Test(jfile, appends_rewrites_and_clears)
{
    struct cq_jfile f;
    char err[256], *buf;
    size_t len;
    cr_assert_eq(cq_jfile_open(&f, dir, err, sizeof err), 0, "%s", err);
    struct iovec two[] = {{RPUSH, sizeof RPUSH - 1}, {EXPIRE, sizeof EXPIRE - 1}};
    cr_assert_eq(cq_jfile_append(&f, two, 2), 0);
    cr_assert_eq(cq_jfile_append(&f, two, 1), 0);
    cr_assert_eq(f.bytes, 2 * (sizeof RPUSH - 1) + sizeof EXPIRE - 1);
    cr_assert_eq(cq_jfile_read(&f, &buf, &len), 0);
    cr_assert_eq(len, f.bytes);
    cr_assert_eq(memcmp(buf, RPUSH EXPIRE RPUSH, len), 0);
    free(buf);

    cr_assert_eq(cq_jfile_rewrite(&f, two + 1, 1), 0);
    cr_assert_eq(cq_jfile_append(&f, two, 1), 0); /* appends to the new file */
    cr_assert_eq(cq_jfile_read(&f, &buf, &len), 0);
    cr_assert_eq(len, sizeof EXPIRE RPUSH - 1);
    cr_assert_eq(memcmp(buf, EXPIRE RPUSH, len), 0);
    free(buf);
    cq_jfile_close(&f);

    /* Reopened (the next start), it holds the same. */
    cr_assert_eq(cq_jfile_open(&f, dir, err, sizeof err), 0, "%s", err);
    cr_assert_eq(f.bytes, sizeof EXPIRE RPUSH - 1);
    cr_assert_eq(cq_jfile_clear(&f), 0);
    cr_assert_eq(cq_jfile_read(&f, &buf, &len), 0);
    cr_assert_eq(len, 0);
    cr_assert_null(buf);
    cq_jfile_close(&f);
}

/* One server per data folder, whichever Redis it uses. */
Test(jfile, a_second_server_on_the_folder_is_refused)
{
    struct cq_jfile a, b;
    char err[512];
    cr_assert_eq(cq_jfile_open(&a, dir, err, sizeof err), 0, "%s", err);
    cr_assert_eq(cq_jfile_open(&b, dir, err, sizeof err), -1);
    cr_assert(strstr(err, "in use by another chainquiz server"), "%s", err);
    cq_jfile_close(&a);
    cr_assert_eq(cq_jfile_open(&b, dir, err, sizeof err), 0, "%s", err);
    cq_jfile_close(&b);
}

/* A missing folder is made. */
Test(jfile, the_folder_is_created)
{
    struct cq_jfile f;
    char err[256], sub[128], path[192];
    snprintf(sub, sizeof sub, "%s/new", dir);
    cr_assert_eq(cq_jfile_open(&f, sub, err, sizeof err), 0, "%s", err);
    cq_jfile_close(&f);
    snprintf(path, sizeof path, "%s/%s", sub, CQ_JFILE_NAME);
    unlink(path);
    cr_assert_eq(rmdir(sub), 0);
}
