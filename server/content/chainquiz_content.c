/* chainquiz_content.c: the `chainquiz-content` command (docs/import.md).
 *
 * check, import, export and stats over the same loader the server uses.
 * Exit status: 0 clean, 1 problems found (reported on stderr), 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "content.h"
#include "content_tools.h"

#ifndef CQ_VERSION
#define CQ_VERSION "dev"
#endif

#define PROG       "chainquiz-content"
#define ERRORS_MAX 10000 /* problem lines kept per run; the rest are counted */

enum { EXIT_CLEAN = 0, EXIT_PROBLEMS = 1, EXIT_USAGE = 2 };

static const char usage_main[] =
    "usage: " PROG " COMMAND [OPTIONS] ARGS...\n"
    "\n"
    "Question-bank tooling for Chainquiz (format chainquiz-bank/1).\n"
    "\n"
    "commands:\n"
    "  check FILE_OR_DIR... [--sources DIR]   validate banks as the server loads them\n"
    "  import --from gift|csv|json IN [-o OUT.json] [bank options]\n"
    "                                         convert to a bank\n"
    "  export --to gift|csv IN.json [-o OUT]  convert a bank to GIFT or Kahoot! CSV\n"
    "  stats FILE_OR_DIR...                   count questions by type, difficulty, tag\n"
    "\n"
    "`" PROG " COMMAND --help` describes a command. Exit status: 0 clean,\n"
    "1 problems found (listed on stderr), 2 usage error. Details: docs/import.md.\n";

static const char usage_check[] =
    "usage: " PROG " check FILE_OR_DIR... [--sources DIR]\n"
    "\n"
    "Loads every bank with the server's full validation and lists every problem as\n"
    "\"file: question <id>: field: why\". A directory is read as the server reads\n"
    "its content directory: every *.json in it and in its direct sub-folders\n"
    "(except schema/), bank ids distinct.\n"
    "\n"
    "Warns (without failing) when option lengths give answers away; the rule is\n"
    "in docs/import.md.\n"
    "\n"
    "  --sources DIR  also check the source references against the texts in DIR:\n"
    "                 each sources[].file exists there and its title is a line of\n"
    "                 it, and each question's source.section is a line of its\n"
    "                 source.file (lines compared with surrounding white space\n"
    "                 removed)\n"
    "  -h, --help     this text\n"
    "\n"
    "Exit status: 0 when every bank is valid, 1 otherwise, 2 on a usage error.\n";

static const char usage_import[] =
    "usage: " PROG " import --from gift|csv|json IN [-o OUT.json] [options]\n"
    "\n"
    "Converts IN to a chainquiz-bank/1 file (stdout without -o). Questions that\n"
    "cannot be imported are listed as \"IN:LINE: question <id>: what: why\"; the\n"
    "others are still written. Exit status 1 when anything was left out.\n"
    "\n"
    "  --from FORMAT         gift (Moodle GIFT), csv (Kahoot! spreadsheet layout)\n"
    "                        or json (a bank: validated and normalised)\n"
    "  -o, --output FILE     write the bank to FILE\n"
    "  --id ID               bank id (default: from the file name)\n"
    "  --title TEXT          bank title (default: the file name without extension)\n"
    "  --description TEXT    (default: \"Questions imported from IN.\")\n"
    "  --language TAG        (default: en)\n"
    "  --version X.Y.Z       (default: 1.0.0)\n"
    "  --licence ID          (default: NOASSERTION)\n"
    "  --source-file NAME    the bank's source file (default: IN's file name)\n"
    "  --source-title TEXT   its title (default: IN's file name)\n"
    "  --source-section TEXT every question's source.section (default: \"line N\",\n"
    "                        where the question starts in IN)\n"
    "  --tag TAG             tag for questions without a GIFT category; repeat for\n"
    "                        several (default: imported)\n"
    "  --difficulty LEVEL    easy, medium or hard (default: medium)\n"
    "  -h, --help            this text\n"
    "\n"
    "For json, the bank's own metadata and sources are kept unless an option\n"
    "overrides them; --source-*, --tag and --difficulty do not apply.\n";

static const char usage_export[] =
    "usage: " PROG " export --to gift|csv IN.json [-o OUT]\n"
    "\n"
    "Writes the questions of a valid bank that the target format can express\n"
    "(stdout without -o) and lists the others as \"IN: question <id>: cannot be\n"
    "exported to FORMAT: why\". Exit status 1 when any question was left out.\n"
    "\n"
    "  --to FORMAT        gift (Moodle GIFT: single, multi, truefalse, typeanswer)\n"
    "                     or csv (Kahoot! spreadsheet layout: single and multi with\n"
    "                     up to 4 options, truefalse)\n"
    "  -o, --output FILE  write to FILE\n"
    "  -h, --help         this text\n";

static const char usage_stats[] =
    "usage: " PROG " stats FILE_OR_DIR...\n"
    "\n"
    "Loads the banks (as check does) and prints, for each and in total, the number\n"
    "of questions by type, by difficulty and by tag, and whether option lengths\n"
    "give answers away: how often the right option of a single-choice question is\n"
    "the strictly longest (and how often it would be by chance), how often it is\n"
    "the longest, second longest, third longest and shortest, and how long the\n"
    "right options of multi-select questions are against the wrong ones.\n"
    "\n"
    "  -h, --help  this text\n";

static int usage_error(const char *usage, const char *fmt, const char *arg)
{
    fprintf(stderr, PROG ": ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n%s", usage);
    return EXIT_USAGE;
}

static void print_errors(const struct cq_content_errors *e)
{
    for (size_t i = 0; i < e->n; i++)
        fprintf(stderr, "%s\n", e->lines[i]);
    if (e->dropped)
        fprintf(stderr, "... and %zu more problems\n", e->dropped);
}

/* Prints and forgets what was collected so far. */
static void flush_errors(struct cq_content_errors *e)
{
    print_errors(e);
    size_t cap = e->cap;
    cq_content_errors_free(e);
    cq_content_errors_init(e, cap);
}

static int write_out(const char *path, const char *data, size_t len)
{
    FILE *f = path ? fopen(path, "wb") : stdout;
    if (!f) {
        fprintf(stderr, PROG ": cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    bool ok = fwrite(data, 1, len, f) == len;
    ok &= (path ? fclose(f) : fflush(f)) == 0;
    if (!ok)
        fprintf(stderr, PROG ": cannot write %s: %s\n", path ? path : "stdout", strerror(errno));
    return ok ? 0 : -1;
}

/* Whether writing `out` would overwrite `in` (the same file, by any path:
 * same device and inode), which is then lost if the command fails half-way
 * and is read while it is being truncated. */
static bool same_file(const char *in, const char *out)
{
    struct stat a, b;
    return out && !stat(in, &a) && !stat(out, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Unknown options and missing values, reported our way. */
static int bad_option(const char *usage, char **argv)
{
    return usage_error(usage, "unknown option or missing value: %s", argv[optind - 1]);
}

/* --- Loading what check and stats are given. --- */

struct loaded {
    char *path;
    struct cq_bank *bank;
    struct cq_content_sources sources;
};

struct loadset {
    struct loaded *v;
    size_t n, cap;
    size_t problems; /* files that failed to load, ids that clash */
};

static void loadset_free(struct loadset *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].path);
        cq_bank_free(s->v[i].bank);
        cq_content_sources_free(&s->v[i].sources);
    }
    free(s->v);
    memset(s, 0, sizeof *s);
}

static void load_one(struct loadset *s, const char *path, struct cq_content_errors *errs,
                     size_t dir_first)
{
    struct cq_content_sources src = {NULL, 0};
    struct cq_bank *b = cq_content_load_file(path, errs, &src);
    if (!b) {
        s->problems++;
        return;
    }
    /* Within one content directory ids must differ, as the server needs. */
    for (size_t i = dir_first; i < s->n; i++)
        if (!strcmp(s->v[i].bank->id, b->id)) {
            cq_content_errors_add(errs, "%s: id: \"%s\" is the id of another bank (%s)", path,
                                  b->id, s->v[i].path);
            s->problems++;
            cq_bank_free(b);
            cq_content_sources_free(&src);
            return;
        }
    if (s->n == s->cap) {
        size_t ncap = s->cap ? 2 * s->cap : 8;
        struct loaded *nv = realloc(s->v, ncap * sizeof *nv);
        if (!nv) {
            cq_content_errors_add(errs, "%s: out of memory", path);
            s->problems++;
            cq_bank_free(b);
            cq_content_sources_free(&src);
            return;
        }
        s->v = nv;
        s->cap = ncap;
    }
    s->v[s->n].path = strdup(path);
    s->v[s->n].bank = b;
    s->v[s->n].sources = src;
    s->n++;
}

static void load_args(struct loadset *s, char **args, int n, struct cq_content_errors *errs)
{
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (stat(args[i], &st)) {
            cq_content_errors_add(errs, "%s: %s", args[i], strerror(errno));
            s->problems++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            load_one(s, args[i], errs, s->n);
            continue;
        }
        char **paths = NULL;
        size_t np = 0;
        if (cq_content_list_dir(args[i], &paths, &np, errs)) {
            s->problems++;
            continue;
        }
        if (!np) {
            cq_content_errors_add(errs, "%s: no question bank (*.json) found", args[i]);
            s->problems++;
        }
        size_t first = s->n;
        for (size_t k = 0; k < np; k++) {
            load_one(s, paths[k], errs, first);
            free(paths[k]);
        }
        free(paths);
    }
}

/* --- check --- */

static int cmd_check(int argc, char **argv)
{
    static const struct option opts[] = {{"sources", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *sources_dir = NULL;
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            sources_dir = optarg;
            break;
        case 'h':
            fputs(usage_check, stdout);
            return EXIT_CLEAN;
        default:
            return bad_option(usage_check, argv);
        }
    }
    if (optind >= argc)
        return usage_error(usage_check, "check: no FILE_OR_DIR given%s", "");
    if (sources_dir) {
        struct stat st;
        if (stat(sources_dir, &st) || !S_ISDIR(st.st_mode))
            return usage_error(usage_check, "--sources %s: not a directory", sources_dir);
    }
    struct cq_content_errors errs;
    struct loadset set = {NULL, 0, 0, 0};
    size_t problems, questions = 0;
    cq_content_errors_init(&errs, ERRORS_MAX);
    load_args(&set, argv + optind, argc - optind, &errs);
    struct cq_content_errors warnings;
    size_t n_warnings = 0;
    cq_content_errors_init(&warnings, ERRORS_MAX);
    problems = set.problems;
    for (size_t i = 0; i < set.n; i++) {
        questions += set.v[i].bank->n_questions;
        if (sources_dir)
            problems += cq_content_check_sources(set.v[i].bank, &set.v[i].sources, set.v[i].path,
                                                 sources_dir, &errs);
        n_warnings += cq_content_check_lengths(set.v[i].bank, set.v[i].path, &warnings);
    }
    print_errors(&errs);
    /* Warnings do not fail the check: they are about quality, not validity. */
    print_errors(&warnings);
    cq_content_errors_free(&warnings);
    if (problems)
        fprintf(stderr, PROG ": check: problems found (%zu valid banks, %zu questions)\n", set.n,
                questions);
    else
        printf("%zu bank%s, %zu questions: no problems%s%s\n", set.n, set.n == 1 ? "" : "s",
               questions, sources_dir ? " (source references checked)" : "",
               n_warnings ? " (warnings above)" : "");
    cq_content_errors_free(&errs);
    loadset_free(&set);
    return problems ? EXIT_PROBLEMS : EXIT_CLEAN;
}

/* --- import --- */

static bool tag_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > CQ_TAG_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              (i > 0 && s[i] == '-')))
            return false;
    return true;
}

static int cmd_import(int argc, char **argv)
{
    enum {
        O_FROM = 256,
        O_ID,
        O_TITLE,
        O_DESCRIPTION,
        O_LANGUAGE,
        O_VERSION,
        O_LICENCE,
        O_SFILE,
        O_STITLE,
        O_SSECTION,
        O_TAG,
        O_DIFFICULTY
    };
    static const struct option opts[] = {{"from", required_argument, NULL, O_FROM},
                                         {"output", required_argument, NULL, 'o'},
                                         {"id", required_argument, NULL, O_ID},
                                         {"title", required_argument, NULL, O_TITLE},
                                         {"description", required_argument, NULL, O_DESCRIPTION},
                                         {"language", required_argument, NULL, O_LANGUAGE},
                                         {"version", required_argument, NULL, O_VERSION},
                                         {"licence", required_argument, NULL, O_LICENCE},
                                         {"source-file", required_argument, NULL, O_SFILE},
                                         {"source-title", required_argument, NULL, O_STITLE},
                                         {"source-section", required_argument, NULL, O_SSECTION},
                                         {"tag", required_argument, NULL, O_TAG},
                                         {"difficulty", required_argument, NULL, O_DIFFICULTY},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct cq_import_opts o;
    const char *from = NULL, *out = NULL;
    int c;
    memset(&o, 0, sizeof o);
    while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
        switch (c) {
        case O_FROM:
            from = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case O_ID:
            o.id = optarg;
            break;
        case O_TITLE:
            o.title = optarg;
            break;
        case O_DESCRIPTION:
            o.description = optarg;
            break;
        case O_LANGUAGE:
            o.language = optarg;
            break;
        case O_VERSION:
            o.version = optarg;
            break;
        case O_LICENCE:
            o.licence = optarg;
            break;
        case O_SFILE:
            o.source_file = optarg;
            break;
        case O_STITLE:
            o.source_title = optarg;
            break;
        case O_SSECTION:
            o.source_section = optarg;
            break;
        case O_TAG:
            if (!tag_ok(optarg))
                return usage_error(usage_import, "--tag %s: must match [a-z0-9][a-z0-9-]{0,31}",
                                   optarg);
            if (o.n_tags == CQ_QTAGS_MAX)
                return usage_error(usage_import, "--tag: at most 6 tags%s", "");
            o.tags[o.n_tags++] = optarg;
            break;
        case O_DIFFICULTY:
            if (strcmp(optarg, "easy") && strcmp(optarg, "medium") && strcmp(optarg, "hard"))
                return usage_error(usage_import, "--difficulty %s: must be easy, medium or hard",
                                   optarg);
            o.difficulty = optarg;
            break;
        case 'h':
            fputs(usage_import, stdout);
            return EXIT_CLEAN;
        default:
            return bad_option(usage_import, argv);
        }
    }
    enum cq_import_format fmt;
    if (!from)
        return usage_error(usage_import, "import: --from is required%s", "");
    if (!strcmp(from, "gift"))
        fmt = CQ_IMPORT_GIFT;
    else if (!strcmp(from, "csv"))
        fmt = CQ_IMPORT_CSV;
    else if (!strcmp(from, "json"))
        fmt = CQ_IMPORT_JSON;
    else
        return usage_error(usage_import, "--from %s: must be gift, csv or json", from);
    if (argc - optind != 1)
        return usage_error(usage_import, "import: give exactly one input file%s", "");
    o.name = argv[optind];
    if (same_file(o.name, out))
        return usage_error(usage_import,
                           "import: -o %s is the input file: write to another file, check it, "
                           "then move it",
                           out);

    struct cq_content_errors errs;
    struct cq_import_result r;
    char *text = NULL, *doc = NULL;
    size_t len;
    int result = EXIT_PROBLEMS;
    memset(&r, 0, sizeof r);
    cq_content_errors_init(&errs, ERRORS_MAX);
    if (cq_content_read_file(o.name, CQ_IMPORT_FILE_MAX, &text, &len, &errs))
        goto out;
    int status = cq_content_import(fmt, text, len, &o, &r, &errs);
    flush_errors(&errs);
    if (r.bank) {
        doc = cq_content_dump(r.bank);
        if (!doc || write_out(out, doc, strlen(doc)))
            goto out;
    }
    if (r.generated_explanations)
        fprintf(stderr,
                PROG ": note: %zu questions got the default explanation (the input has no "
                     "feedback for them)\n",
                r.generated_explanations);
    if (r.bank)
        fprintf(stderr, PROG ": imported %zu question%s%s%s", r.imported,
                r.imported == 1 ? "" : "s", out ? " to " : "", out ? out : "");
    else
        fprintf(stderr, PROG ": nothing written");
    if (r.skipped)
        fprintf(stderr, ", skipped %zu (listed above)", r.skipped);
    fprintf(stderr, "\n");
    result = status == 0 && r.bank ? EXIT_CLEAN : EXIT_PROBLEMS;
out:
    print_errors(&errs);
    cq_content_errors_free(&errs);
    json_decref(r.bank);
    free(doc);
    free(text);
    return result;
}

/* --- export --- */

static int cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {{"to", required_argument, NULL, 't'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *to = NULL, *out = NULL;
    int c;
    while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            to = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'h':
            fputs(usage_export, stdout);
            return EXIT_CLEAN;
        default:
            return bad_option(usage_export, argv);
        }
    }
    if (!to)
        return usage_error(usage_export, "export: --to is required%s", "");
    if (strcmp(to, "gift") && strcmp(to, "csv"))
        return usage_error(usage_export, "--to %s: must be gift or csv", to);
    if (argc - optind != 1)
        return usage_error(usage_export, "export: give exactly one bank file%s", "");
    const char *in = argv[optind];
    if (same_file(in, out))
        return usage_error(usage_export, "export: -o %s is the input file", out);

    struct cq_content_errors errs;
    struct cq_content_buf buf;
    size_t skipped = 0;
    int result = EXIT_PROBLEMS;
    cq_content_errors_init(&errs, ERRORS_MAX);
    cq_content_buf_init(&buf, CQ_EXPORT_MAX);
    struct cq_content_sources sources = {NULL, 0};
    struct cq_bank *b = cq_content_load_file(in, &errs, &sources);
    if (!b)
        goto out;
    int r = !strcmp(to, "gift") ? cq_gift_export(b, &sources, in, &buf, &errs, &skipped)
                                : cq_csv_export(b, in, &buf, &errs, &skipped);
    if (r) {
        cq_content_errors_add(&errs, "%s: the export is larger than %u bytes", in, CQ_EXPORT_MAX);
        goto out;
    }
    if (write_out(out, buf.p ? buf.p : "", buf.len))
        goto out;
    flush_errors(&errs);
    fprintf(stderr, PROG ": exported %zu of %zu questions to %s%s%s\n", b->n_questions - skipped,
            b->n_questions, to, out ? " in " : "", out ? out : "");
    result = skipped ? EXIT_PROBLEMS : EXIT_CLEAN;
out:
    print_errors(&errs);
    cq_content_errors_free(&errs);
    cq_content_buf_free(&buf);
    cq_bank_free(b);
    cq_content_sources_free(&sources);
    return result;
}

/* --- stats --- */

struct tally {
    size_t questions;
    size_t type[CQ_Q__COUNT], difficulty[3];
    struct {
        char *tag;
        size_t n;
    } * tags;
    size_t n_tags, cap_tags;
    struct cq_content_lengths len; /* multi_ratio: a sum until printed */
};

static void tally_add(struct tally *t, const struct cq_bank *b)
{
    struct cq_content_lengths l;
    cq_content_lengths(b, &l);
    t->len.single += l.single;
    t->len.single_longest += l.single_longest;
    t->len.single_chance += l.single_chance;
    for (int r = 0; r < CQ_LENGTH__RANKS; r++) {
        t->len.single_rank[r] += l.single_rank[r];
        t->len.single_rank_chance[r] += l.single_rank_chance[r];
    }
    t->len.multi += l.multi;
    t->len.multi_ratio += l.multi_ratio * (double)l.multi;
    for (size_t i = 0; i < b->n_questions; i++) {
        const struct cq_question *q = &b->questions[i];
        t->questions++;
        t->type[q->type]++;
        t->difficulty[q->difficulty % 3]++;
        for (unsigned k = 0; k < q->n_tags; k++) {
            size_t j = 0;
            while (j < t->n_tags && strcmp(t->tags[j].tag, q->tags[k]))
                j++;
            if (j == t->n_tags) {
                if (t->n_tags == t->cap_tags) {
                    size_t ncap = t->cap_tags ? 2 * t->cap_tags : 16;
                    void *nv = realloc(t->tags, ncap * sizeof *t->tags);
                    if (!nv)
                        continue;
                    t->tags = nv;
                    t->cap_tags = ncap;
                }
                t->tags[j].tag = strdup(q->tags[k]);
                t->tags[j].n = 0;
                if (!t->tags[j].tag)
                    continue;
                t->n_tags++;
            }
            t->tags[j].n++;
        }
    }
}

static int cmp_tag(const void *a, const void *b)
{
    const struct {
        char *tag;
        size_t n;
    } *x = a, *y = b;
    if (x->n != y->n)
        return x->n > y->n ? -1 : 1;
    return strcmp(x->tag, y->tag);
}

static void tally_print(struct tally *t, const char *title)
{
    static const char *const difficulty[] = {"easy", "medium", "hard"};
    printf("%s: %zu questions\n  type:      ", title, t->questions);
    for (int i = 0; i < CQ_Q__COUNT; i++)
        printf("%s%s %zu", i ? ", " : " ", cq_qtype_name((enum cq_qtype)i), t->type[i]);
    printf("\n  difficulty:");
    for (int i = 0; i < 3; i++)
        printf("%s%s %zu", i ? ", " : " ", difficulty[i], t->difficulty[i]);
    printf("\n  tags:      ");
    qsort(t->tags, t->n_tags, sizeof *t->tags, cmp_tag);
    for (size_t i = 0; i < t->n_tags; i++)
        printf("%s%s %zu", i ? ", " : " ", t->tags[i].tag, t->tags[i].n);
    printf("\n  lengths:    single: right option strictly longest in %zu of %zu",
           t->len.single_longest, t->len.single);
    if (t->len.single)
        printf(" (%.0f%%; by chance %.0f%%)",
               100.0 * (double)t->len.single_longest / (double)t->len.single,
               100.0 * t->len.single_chance / (double)t->len.single);
    printf("; multi: right options %.2fx the length of wrong ones (%zu questions)\n",
           t->len.multi ? t->len.multi_ratio / (double)t->len.multi : 0.0, t->len.multi);
    /* The right option's length rank: each figure against its chance. */
    printf("  rank:       single: right option");
    for (int r = 0; r < CQ_LENGTH__RANKS; r++) {
        printf("%s %s %zu", r ? "," : "", cq_content_length_rank_name((enum cq_length_rank)r),
               t->len.single_rank[r]);
        if (t->len.single)
            printf(" (%.0f%%; by chance %.0f%%)",
                   100.0 * (double)t->len.single_rank[r] / (double)t->len.single,
                   100.0 * t->len.single_rank_chance[r] / (double)t->len.single);
    }
    size_t ranked = 0;
    for (int r = 0; r < CQ_LENGTH__RANKS; r++)
        ranked += t->len.single_rank[r];
    printf(" of %zu; tied or in the middle %zu\n", t->len.single, t->len.single - ranked);
}

static void tally_free(struct tally *t)
{
    for (size_t i = 0; i < t->n_tags; i++)
        free(t->tags[i].tag);
    free(t->tags);
    memset(t, 0, sizeof *t);
}

static int cmd_stats(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage_stats, stdout);
            return EXIT_CLEAN;
        }
        return bad_option(usage_stats, argv);
    }
    if (optind >= argc)
        return usage_error(usage_stats, "stats: no FILE_OR_DIR given%s", "");
    struct cq_content_errors errs;
    struct loadset set = {NULL, 0, 0, 0};
    struct tally all;
    memset(&all, 0, sizeof all);
    cq_content_errors_init(&errs, ERRORS_MAX);
    load_args(&set, argv + optind, argc - optind, &errs);
    for (size_t i = 0; i < set.n; i++) {
        struct tally one;
        char title[4200];
        memset(&one, 0, sizeof one);
        tally_add(&one, set.v[i].bank);
        tally_add(&all, set.v[i].bank);
        snprintf(title, sizeof title, "%s (%s)", set.v[i].path, set.v[i].bank->id);
        tally_print(&one, title);
        tally_free(&one);
    }
    if (set.n > 1)
        tally_print(&all, "total");
    print_errors(&errs);
    int result = set.problems ? EXIT_PROBLEMS : EXIT_CLEAN;
    tally_free(&all);
    cq_content_errors_free(&errs);
    loadset_free(&set);
    return result;
}

int main(int argc, char **argv)
{
    opterr = 0;
    if (argc < 2)
        return usage_error(usage_main, "no command given%s", "");
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(usage_main, stdout);
        return EXIT_CLEAN;
    }
    if (!strcmp(cmd, "--version")) {
        printf(PROG " %s (%s)\n", CQ_VERSION, CQ_BANK_FORMAT);
        return EXIT_CLEAN;
    }
    if (!strcmp(cmd, "check"))
        return cmd_check(argc - 1, argv + 1);
    if (!strcmp(cmd, "import"))
        return cmd_import(argc - 1, argv + 1);
    if (!strcmp(cmd, "export"))
        return cmd_export(argc - 1, argv + 1);
    if (!strcmp(cmd, "stats"))
        return cmd_stats(argc - 1, argv + 1);
    return usage_error(usage_main, "unknown command: %s", cmd);
}
