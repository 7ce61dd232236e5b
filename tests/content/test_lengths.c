/* Option lengths that give answers away: the statistic and check's warning
 * (docs/import.md, "Option lengths"). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

/* A bank of `n` single-choice questions whose right option is the strictly
 * longest in the first `longest` of them, and of `n_multi` multi-select
 * questions whose right options are `right` and wrong ones `wrong`. */
static struct cq_bank *make_bank(unsigned n, unsigned longest, unsigned n_multi, const char *right,
                                 const char *wrong)
{
    struct cq_content_buf b;
    cq_content_buf_init(&b, 1u << 20);
    cq_content_buf_str(&b, "{\"format\":\"chainquiz-bank/1\",\"id\":\"l\",\"title\":\"T\","
                           "\"description\":\"D.\",\"language\":\"en\",\"version\":\"1.0.0\","
                           "\"licence\":\"CC0-1.0\",\"sources\":[{\"file\":\"a.txt\",\"title\":"
                           "\"A\"}],\"questions\":[");
    for (unsigned i = 0; i < n + n_multi; i++) {
        bool single = i < n;
        /* The others: the right option second longest, third, shortest in
         * turn, so that no other rank warns. */
        static const char *const not_longest[] = {
            "[\"right answer\",\"a wrong answer, longest\",\"wrong too\",\"nope\"]",
            "[\"right\",\"a wrong answer, longest\",\"wrong too\",\"nope\"]",
            "[\"ok\",\"a wrong answer, longest\",\"wrong too\",\"nope\"]"};
        const char *opts = !single       ? NULL
                           : i < longest ? "[\"a right answer, longest\",\"wrong\",\"wrong too\","
                                           "\"nope\"]"
                                         : not_longest[i % 3];
        cq_content_buf_printf(&b,
                              "%s{\"id\":\"q%u\",\"type\":\"%s\",\"prompt\":\"P\","
                              "\"options\":",
                              i ? "," : "", i, single ? "single" : "multi");
        if (single)
            cq_content_buf_printf(&b, "%s,\"correct\":[0]", opts);
        else
            cq_content_buf_printf(&b, "[\"%s\",\"%s 2\",\"z%s\"],\"correct\":[0,2]", right, wrong,
                                  right + 1); /* the same length, not a repeat */
        cq_content_buf_str(&b, ",\"explanation\":\"E\",\"source\":{\"file\":\"a.txt\","
                               "\"section\":\"S\"},\"tags\":[\"t\"],\"difficulty\":\"easy\"}");
    }
    cq_content_buf_str(&b, "]}");
    cr_assert(!b.failed);
    struct cq_content_errors errs;
    cq_content_errors_init(&errs, 5);
    struct cq_bank *bank = cq_bank_parse(b.p, b.len, "l.json", &errs);
    cr_assert_not_null(bank, "%s", errs.n ? errs.lines[0] : "");
    cq_content_errors_free(&errs);
    cq_content_buf_free(&b);
    return bank;
}

static size_t warnings(const struct cq_bank *b, struct cq_content_errors *w)
{
    cq_content_errors_init(w, 10);
    return cq_content_check_lengths(b, "l.json", w);
}

Test(lengths, counts_strictly_longest_and_chance)
{
    struct cq_bank *b = make_bank(20, 7, 2, "abcdef", "abc");
    struct cq_content_lengths l;
    cq_content_lengths(b, &l);
    cr_expect_eq(l.single, 20);
    cr_expect_eq(l.single_longest, 7);
    cr_expect_float_eq(l.single_chance, 5.0, 1e-9); /* 20 questions of 4 options */
    cr_expect_eq(l.multi, 2);
    /* right 6, wrong "abc 2" 5 code points */
    cr_expect_float_eq(l.multi_ratio, 1.2, 1e-9);
    cq_bank_free(b);
}

Test(lengths, warns_above_one_and_a_half_times_chance)
{
    struct cq_content_errors w;
    /* Chance is 5 of 20; 1.5x is 7.5: 7 is silent, 8 warns. */
    struct cq_bank *b = make_bank(20, 7, 0, NULL, NULL);
    cr_expect_eq(warnings(b, &w), 0);
    cq_content_errors_free(&w);
    cq_bank_free(b);
    b = make_bank(20, 8, 0, NULL, NULL);
    cr_expect_eq(warnings(b, &w), 1);
    cr_assert_eq(w.n, 1);
    cr_expect_str_eq(w.lines[0], "l.json: warning: the right option is the strictly longest in 8 "
                                 "of 20 single-choice questions (40%; by chance 25%): picking "
                                 "the longest option pays");
    cq_content_errors_free(&w);
    cq_bank_free(b);
    /* Too few questions to judge: silent even when every one gives itself away. */
    b = make_bank(19, 19, 0, NULL, NULL);
    cr_expect_eq(warnings(b, &w), 0);
    cq_content_errors_free(&w);
    cq_bank_free(b);
}

Test(lengths, warns_when_right_multi_options_are_longer)
{
    struct cq_content_errors w;
    /* "abcdefgh" 8 against "abcd 2" 6: 1.33x > 1.25. */
    struct cq_bank *b = make_bank(0 + 1, 0, 10, "abcdefgh", "abcd");
    cr_expect_eq(warnings(b, &w), 1);
    cr_expect(strstr(w.lines[0], "on average 1.33x as long as the wrong ones") != NULL, "%s",
              w.lines[0]);
    cq_content_errors_free(&w);
    cq_bank_free(b);
    /* 9 questions are too few; 1.2x is not enough. */
    b = make_bank(1, 0, 9, "abcdefgh", "abcd");
    cr_expect_eq(warnings(b, &w), 0);
    cq_content_errors_free(&w);
    cq_bank_free(b);
    b = make_bank(1, 0, 10, "abcdef", "abc");
    cr_expect_eq(warnings(b, &w), 0);
    cq_content_errors_free(&w);
    cq_bank_free(b);
}

/* A bank of 20 single-choice questions: in the first `m` the right option
 * has length rank `rank`, the others go round the three other ranks. With
 * `three`, question 0 has only three options and question 1 a tie. */
static struct cq_bank *make_ranked(unsigned m, unsigned rank, bool three)
{
    struct cq_content_buf b;
    cq_content_buf_init(&b, 1u << 20);
    cq_content_buf_str(&b, "{\"format\":\"chainquiz-bank/1\",\"id\":\"l\",\"title\":\"T\","
                           "\"description\":\"D.\",\"language\":\"en\",\"version\":\"1.0.0\","
                           "\"licence\":\"CC0-1.0\",\"sources\":[{\"file\":\"a.txt\",\"title\":"
                           "\"A\"}],\"questions\":[");
    for (unsigned i = 0, other = 0; i < 20; i++) {
        unsigned r = rank;
        if (i >= m) {
            r = other++ % 3;
            r += r >= rank;
        }
        /* Options longest first: the one at place r is right. */
        static const char *const wrong[] = {"wwww", "www", "ww", "w"};
        static const char *const right[] = {"rrrr", "rrr", "rr", "r"};
        cq_content_buf_printf(&b, "%s{\"id\":\"q%u\",\"type\":\"single\",\"prompt\":\"P\",",
                              i ? "," : "", i);
        if (three && i == 0)
            cq_content_buf_str(&b, "\"options\":[\"wwww\",\"rrr\",\"w\"],\"correct\":[1]");
        else if (three && i == 1)
            cq_content_buf_str(&b, "\"options\":[\"wwww\",\"rr\",\"ww\",\"w\"],"
                                   "\"correct\":[1]");
        else
            cq_content_buf_printf(&b, "\"options\":[\"%s\",\"%s\",\"%s\",\"%s\"],\"correct\":[%u]",
                                  r == 0 ? right[0] : wrong[0], r == 1 ? right[1] : wrong[1],
                                  r == 2 ? right[2] : wrong[2], r == 3 ? right[3] : wrong[3], r);
        cq_content_buf_str(&b, ",\"explanation\":\"E\",\"source\":{\"file\":\"a.txt\","
                               "\"section\":\"S\"},\"tags\":[\"t\"],\"difficulty\":\"easy\"}");
    }
    cq_content_buf_str(&b, "]}");
    cr_assert(!b.failed);
    struct cq_content_errors errs;
    cq_content_errors_init(&errs, 5);
    struct cq_bank *bank = cq_bank_parse(b.p, b.len, "l.json", &errs);
    cr_assert_not_null(bank, "%s", errs.n ? errs.lines[0] : "");
    cq_content_errors_free(&errs);
    cq_content_buf_free(&b);
    return bank;
}

Test(lengths, counts_each_rank_of_the_right_option)
{
    /* 8 second longest, then 12 going round longest, third, shortest. */
    struct cq_bank *b = make_ranked(8, CQ_LENGTH_SECOND, false);
    struct cq_content_lengths l;
    cq_content_lengths(b, &l);
    cr_expect_eq(l.single_rank[CQ_LENGTH_LONGEST], 4);
    cr_expect_eq(l.single_rank[CQ_LENGTH_SECOND], 8);
    cr_expect_eq(l.single_rank[CQ_LENGTH_THIRD], 4);
    cr_expect_eq(l.single_rank[CQ_LENGTH_SHORTEST], 4);
    cr_expect_eq(l.single_longest, 4);
    for (int r = 0; r < CQ_LENGTH__RANKS; r++)
        cr_expect_float_eq(l.single_rank_chance[r], 5.0, 1e-9);
    cq_bank_free(b);
    /* Three options have no third place; a tie has no rank at all. */
    b = make_ranked(0, CQ_LENGTH_LONGEST, true);
    cq_content_lengths(b, &l);
    cr_expect_float_eq(l.single_rank_chance[CQ_LENGTH_THIRD], 19 / 4.0, 1e-9);
    cr_expect_float_eq(l.single_rank_chance[CQ_LENGTH_SECOND], 19 / 4.0 + 1 / 3.0, 1e-9);
    cr_expect_float_eq(l.single_rank_chance[CQ_LENGTH_SHORTEST], 19 / 4.0 + 1 / 3.0, 1e-9);
    size_t ranked = 0;
    for (int r = 0; r < CQ_LENGTH__RANKS; r++)
        ranked += l.single_rank[r];
    cr_expect_eq(ranked, 19, "the tie is in no rank");
    cq_bank_free(b);
}

Test(lengths, warns_when_any_rank_is_above_one_and_a_half_times_chance)
{
    struct cq_content_errors w;
    for (unsigned r = CQ_LENGTH_SECOND; r < CQ_LENGTH__RANKS; r++) {
        /* 7 of 20 plus 13 spread over the other three: silent; 8 warns. */
        struct cq_bank *b = make_ranked(7, r, false);
        cr_expect_eq(warnings(b, &w), 0, "rank %u: %s", r, w.n ? w.lines[0] : "");
        cq_content_errors_free(&w);
        cq_bank_free(b);
        b = make_ranked(8, r, false);
        cr_expect_eq(warnings(b, &w), 1, "rank %u", r);
        cq_content_errors_free(&w);
        cq_bank_free(b);
    }
    struct cq_bank *b = make_ranked(8, CQ_LENGTH_SECOND, false);
    cr_expect_eq(warnings(b, &w), 1);
    cr_assert_eq(w.n, 1);
    cr_expect_str_eq(w.lines[0], "l.json: warning: the right option is the second longest (no tie) "
                                 "in 8 of 20 single-choice questions (40%; by chance 25%): picking "
                                 "the second longest option pays");
    cq_content_errors_free(&w);
    cq_bank_free(b);
    b = make_ranked(8, CQ_LENGTH_SHORTEST, false);
    cr_expect_eq(warnings(b, &w), 1);
    cr_expect(strstr(w.lines[0], "the strictly shortest in 8 of 20") &&
                  strstr(w.lines[0], "picking the shortest option pays"),
              "%s", w.lines[0]);
    cq_content_errors_free(&w);
    cq_bank_free(b);
}

/* The built-in bank: the right option is the strictly longest in at most
 * 30% of single-choice questions, no length rank is far above chance,
 * multi-select right and wrong options are within 10% of each other's
 * length, and check is silent. */
Test(lengths, builtin_bank_does_not_reward_the_longest_option)
{
    struct cq_content_errors errs, w;
    cq_content_errors_init(&errs, 5);
    struct cq_bank *b = cq_content_load_file(BUILTIN, &errs, NULL);
    cr_assert_not_null(b);
    struct cq_content_lengths l;
    cq_content_lengths(b, &l);
    cr_expect_leq(l.single_longest * 10, l.single * 3, "%zu of %zu", l.single_longest, l.single);
    for (int r = 0; r < CQ_LENGTH__RANKS; r++)
        cr_expect_leq((double)l.single_rank[r], CQ_LENGTH_SINGLE_FACTOR * l.single_rank_chance[r],
                      "%s: %zu of %zu", cq_content_length_rank_name((enum cq_length_rank)r),
                      l.single_rank[r], l.single);
    cr_expect(l.multi_ratio >= 0.9 && l.multi_ratio <= 1.1, "%.3f", l.multi_ratio);
    cr_expect_eq(warnings(b, &w), 0, "%s", w.n ? w.lines[0] : "");
    cq_content_errors_free(&w);
    cq_content_errors_free(&errs);
    cq_bank_free(b);
}
