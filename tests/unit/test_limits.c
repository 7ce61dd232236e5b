/* The limits as PROTOCOL.md's "Limits" table documents them, held to the
 * code: for every row that names a flag, the flag exists, its environment
 * variable and allowed range are the option table's, and the default the
 * row gives is the default the server uses; and every option whose help
 * text states a default states the one it has. A default is written in the
 * code once (config.c's defaults(), cq_limits.h); this keeps the two texts
 * that repeat it honest. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cq_limits.h"

static char *spec;

static void load_spec(void)
{
    FILE *f = fopen(CQ_SOURCE_DIR "/protocol/PROTOCOL.md", "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    spec = malloc((size_t)n + 1);
    cr_assert_eq(fread(spec, 1, (size_t)n, f), (size_t)n);
    spec[n] = '\0';
    fclose(f);
}

static void free_spec(void)
{
    free(spec);
}

TestSuite(limits, .init = load_spec, .fini = free_spec);

static bool find_option(const char *flag, size_t len, struct cq_config_option *out)
{
    for (size_t i = 0; cq_config_option(i, out); i++)
        if (strlen(out->flag) == len && !strncmp(out->flag, flag, len))
            return true;
    return false;
}

/* The numbers of a table cell in order ("1,000" is 1000; a range "1-20"
 * gives its upper end, the default of a length). */
static size_t cell_numbers(const char *p, const char *end, long long *out, size_t cap)
{
    size_t n = 0;
    while (p < end && n < cap) {
        if (!isdigit((unsigned char)*p) ||
            (p > spec && (isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '.'))) {
            p++;
            continue;
        }
        long long v = 0;
        while (p < end && (isdigit((unsigned char)*p) ||
                           (*p == ',' && p + 1 < end && isdigit((unsigned char)p[1]) &&
                            p + 3 < end && isdigit((unsigned char)p[3])))) {
            if (*p != ',')
                v = v * 10 + (*p - '0');
            p++;
        }
        if (p + 1 < end && *p == '-' && isdigit((unsigned char)p[1])) {
            p++;
            continue; /* the range's upper end is the next number */
        }
        out[n++] = v;
    }
    return n;
}

Test(limits, every_flag_in_the_limits_table_has_the_code_s_default_and_range)
{
    const char *table = strstr(spec, "\n## Limits\n");
    cr_assert_not_null(table);
    const char *stop = strstr(table + 1, "\n## ");
    unsigned rows = 0, flags = 0;
    for (const char *line = strstr(table, "\n|"); line && (!stop || line < stop);
         line = strstr(line + 1, "\n|")) {
        const char *eol = strchr(line + 1, '\n');
        /* Cells: | what | default | flag / environment (range) | when exceeded | */
        const char *c1 = strstr(line + 2, " | ");
        const char *c2 = c1 && c1 < eol ? strstr(c1 + 3, " | ") : NULL;
        const char *c3 = c2 && c2 < eol ? strstr(c2 + 3, " | ") : NULL;
        if (!c3 || c3 > eol)
            continue;
        rows++;
        long long dflt[8];
        size_t nd = cell_numbers(c1 + 3, c2, dflt, 8);
        size_t k = 0;
        for (const char *f = strstr(c2, "`--"); f && f < c3; f = strstr(f + 1, "`--"), k++) {
            const char *name = f + 3, *name_end = strchr(name, '`');
            struct cq_config_option o;
            char row[160];
            snprintf(row, sizeof row, "%.*s", (int)(c1 - line - 2), line + 2);
            cr_assert(find_option(name, (size_t)(name_end - name), &o), "%s: no option --%.*s", row,
                      (int)(name_end - name), name);
            flags++;
            const char *env = strstr(name_end, "`CHAINQUIZ_");
            cr_assert(env && env < c3, "%s: --%s has no environment variable", row, o.flag);
            cr_expect(!strncmp(env + 1, o.env, strlen(o.env)) && env[1 + strlen(o.env)] == '`',
                      "%s: --%s is %s in the code", row, o.flag, o.env);
            if (!o.number)
                continue;
            long long lo, hi;
            const char *range = strchr(env + 1, '`');
            cr_assert(range && sscanf(range, "` (%lld-%lld", &lo, &hi) == 2,
                      "%s: --%s: no (lo-hi) range", row, o.flag);
            cr_expect(lo == o.lo && hi == o.hi, "%s: --%s allows %lld-%lld, the document %lld-%lld",
                      row, o.flag, o.lo, o.hi, lo, hi);
            cr_assert(k < nd, "%s: no default for --%s in \"%.*s\"", row, o.flag,
                      (int)(c2 - c1 - 3), c1 + 3);
            cr_expect(dflt[k] == o.dflt, "%s: --%s defaults to %lld, the document says %lld", row,
                      o.flag, o.dflt, dflt[k]);
        }
    }
    /* The table is there and names most limits: a parser gone blind fails. */
    cr_expect_geq(rows, 40, "%u rows", rows);
    cr_expect_geq(flags, 30, "%u flags", flags);
}

/* Rows of the table that no flag changes: the numbers of their "default"
 * cell, in order, are the code's (cq_limits.h), 0 ending the list. */
static const struct {
    const char *row;
    long long want[4];
} fixed[] = {
    {"closed PINs kept", {CQ_CLOSED_PINS_MAX, CQ_CLOSED_PIN_KEEP_S, CQ_CLOSED_PIN_KEEP_S / 3600}},
    {"rejoins of a seat after a drop", {CQ_REJOINS_BURST, CQ_REJOIN_EVERY_S}},
    {"changes of one answer (`change_answer` on)", {CQ_ANSWER_CHANGES_MAX}},
    {"create_game.tags", {CQ_TAGS_MAX, CQ_TAG_MAX}},
    {"create_game.count", {CQ_QUESTIONS_MAX}},
    {"create_game.time_limit", {CQ_TIME_LIMIT_MAX_S}},
    {"create_game.lead_in", {CQ_LEAD_IN_MAX_S}},
    {"create_game.group", {CQ_GROUP_MAX}},
    {"create_game.bank", {CQ_BANK_ID_MAX}},
    {"add_time.seconds", {CQ_ADD_TIME_MAX_S}},
    {"question index", {CQ_QUESTIONS_MAX - 1}},
    {"options per question", {CQ_OPTIONS_MAX, CQ_OPTIONS_MAX - 1, CQ_OPTIONS_MAX}},
    {"PIN", {CQ_PIN_DIGITS, 100000, 999999}},
    {"request `id`", {CQ_REQ_ID_MAX, 64}},
};

Test(limits, fixed_rows_of_the_limits_table_have_the_code_s_values)
{
    const char *table = strstr(spec, "\n## Limits\n");
    cr_assert_not_null(table);
    const char *stop = strstr(table + 1, "\n## ");
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        char head[96];
        snprintf(head, sizeof head, "\n| %s | ", fixed[i].row);
        const char *line = strstr(table, head);
        cr_assert(line && (!stop || line < stop), "no row \"%s\" in the Limits table",
                  fixed[i].row);
        const char *c1 = line + strlen(head), *c2 = strstr(c1, " | ");
        cr_assert(c2 && !strncmp(c2, " | fixed | ", 11), "%s: not a fixed row", fixed[i].row);
        long long got[8];
        size_t n = cell_numbers(c1, c2, got, 8), want_n = 0;
        while (want_n < 4 && fixed[i].want[want_n])
            want_n++;
        cr_expect_eq(n, want_n, "%s: %zu numbers in \"%.*s\", the code has %zu", fixed[i].row, n,
                     (int)(c2 - c1), c1, want_n);
        for (size_t k = 0; k < n && k < want_n; k++)
            cr_expect_eq(got[k], fixed[i].want[k], "%s: the document says %lld, the code %lld",
                         fixed[i].row, got[k], fixed[i].want[k]);
    }
}

Test(limits, help_texts_state_the_defaults_the_code_has)
{
    struct cq_config_option o;
    unsigned stated = 0;
    for (size_t i = 0; cq_config_option(i, &o); i++) {
        const char *d = strstr(o.help, "default ");
        if (!o.number || !d || !isdigit((unsigned char)d[8]))
            continue;
        stated++;
        cr_expect_eq(atoll(d + 8), o.dflt, "--%s: the help says %lld, the code %lld", o.flag,
                     atoll(d + 8), o.dflt);
    }
    cr_expect_geq(stated, 30, "%u options state a default", stated);
}
