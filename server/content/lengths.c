/* lengths.c: does the length of an option give the answer away?
 *
 * Writers tend to make the right option the most careful, hence the longest
 * one; players learn to pick the longest. `stats` prints how often that would
 * work and `check` warns when a bank makes it pay (docs/import.md has the
 * rule and its thresholds). Lengths are counted in code points, as the
 * format counts them.
 */
#include "content_tools.h"

#include <string.h>

static size_t cp_len(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (*p & 0xC0) != 0x80; /* count lead bytes, not continuations */
    return n;
}

void cq_content_lengths(const struct cq_bank *b, struct cq_content_lengths *out)
{
    double ratio_sum = 0;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < b->n_questions; i++) {
        const struct cq_question *q = &b->questions[i];
        if (q->type != CQ_Q_SINGLE && q->type != CQ_Q_MULTI)
            continue;
        size_t len[CQ_OPTIONS_MAX], right = 0, wrong = 0, n_right = 0, n_wrong = 0;
        for (unsigned k = 0; k < q->n_options; k++) {
            len[k] = cp_len(q->options[k]);
            if (q->correct_mask & (1u << k)) {
                right += len[k];
                n_right++;
            } else {
                wrong += len[k];
                n_wrong++;
            }
        }
        if (q->type == CQ_Q_SINGLE && q->n_options > 0) {
            unsigned c = 0;
            while (c < q->n_options && !(q->correct_mask & (1u << c)))
                c++;
            unsigned longer = 0, as_long = 0;
            for (unsigned k = 0; c < q->n_options && k < q->n_options; k++) {
                longer += k != c && len[k] > len[c];
                as_long += k != c && len[k] == len[c];
            }
            double p = 1.0 / q->n_options;
            out->single++;
            out->single_chance += p;
            for (unsigned r = 0; r < CQ_LENGTH__RANKS; r++) {
                /* Where `r` sits among the n_options places, from the longest. */
                unsigned place = r == CQ_LENGTH_SHORTEST ? q->n_options - 1 : r;
                if (r != CQ_LENGTH_SHORTEST && place >= q->n_options - 1)
                    continue; /* that place is the shortest: counted once, there */
                out->single_rank_chance[r] += p;
                if (c < q->n_options && !as_long && longer == place)
                    out->single_rank[r]++;
            }
            out->single_longest = out->single_rank[CQ_LENGTH_LONGEST];
        } else if (q->type == CQ_Q_MULTI && n_right && n_wrong && wrong) {
            out->multi++;
            ratio_sum += ((double)right / (double)n_right) / ((double)wrong / (double)n_wrong);
        }
    }
    out->multi_ratio = out->multi ? ratio_sum / (double)out->multi : 0;
}

const char *cq_content_length_rank_name(enum cq_length_rank r)
{
    static const char *const names[CQ_LENGTH__RANKS] = {"longest", "second longest",
                                                        "third longest", "shortest"};
    return (unsigned)r < CQ_LENGTH__RANKS ? names[r] : "?";
}

size_t cq_content_check_lengths(const struct cq_bank *b, const char *name,
                                struct cq_content_errors *warnings)
{
    struct cq_content_lengths l;
    size_t n = 0;
    cq_content_lengths(b, &l);
    /* One rule for every rank: the longest first, in the words it always had. */
    for (unsigned r = 0; l.single >= CQ_LENGTH_SINGLE_MIN && r < CQ_LENGTH__RANKS; r++) {
        if (!((double)l.single_rank[r] > CQ_LENGTH_SINGLE_FACTOR * l.single_rank_chance[r]))
            continue;
        static const char *const placed[CQ_LENGTH__RANKS] = {
            "strictly longest", "second longest (no tie)", "third longest (no tie)",
            "strictly shortest"};
        const char *rank = cq_content_length_rank_name((enum cq_length_rank)r);
        cq_content_errors_add(warnings,
                              "%s: warning: the right option is the %s in %zu of "
                              "%zu single-choice questions (%.0f%%; by chance %.0f%%): picking "
                              "the %s option pays",
                              name, placed[r], l.single_rank[r], l.single,
                              100.0 * (double)l.single_rank[r] / (double)l.single,
                              100.0 * l.single_rank_chance[r] / (double)l.single, rank);
        n++;
    }
    if (l.multi >= CQ_LENGTH_MULTI_MIN && l.multi_ratio > CQ_LENGTH_MULTI_RATIO) {
        cq_content_errors_add(warnings,
                              "%s: warning: in multi-select questions the right options are on "
                              "average %.2fx as long as the wrong ones: picking the longest "
                              "options pays",
                              name, l.multi_ratio);
        n++;
    }
    return n;
}
