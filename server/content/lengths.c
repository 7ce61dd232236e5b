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
            bool longest = c < q->n_options;
            for (unsigned k = 0; longest && k < q->n_options; k++)
                longest = k == c || len[k] < len[c];
            out->single++;
            out->single_longest += longest;
            out->single_chance += 1.0 / q->n_options;
        } else if (q->type == CQ_Q_MULTI && n_right && n_wrong && wrong) {
            out->multi++;
            ratio_sum += ((double)right / (double)n_right) / ((double)wrong / (double)n_wrong);
        }
    }
    out->multi_ratio = out->multi ? ratio_sum / (double)out->multi : 0;
}

size_t cq_content_check_lengths(const struct cq_bank *b, const char *name,
                                struct cq_content_errors *warnings)
{
    struct cq_content_lengths l;
    size_t n = 0;
    cq_content_lengths(b, &l);
    if (l.single >= CQ_LENGTH_SINGLE_MIN &&
        (double)l.single_longest > CQ_LENGTH_SINGLE_FACTOR * l.single_chance) {
        cq_content_errors_add(warnings,
                              "%s: warning: the right option is the strictly longest in %zu of "
                              "%zu single-choice questions (%.0f%%; by chance %.0f%%): picking "
                              "the longest option pays",
                              name, l.single_longest, l.single,
                              100.0 * (double)l.single_longest / (double)l.single,
                              100.0 * l.single_chance / (double)l.single);
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
