/* score.c: answer checking and points. Pure functions. */
#include "score.h"

#include <math.h>
#include <string.h>

#include "text.h"

int64_t cq_score_speed_points(int64_t t_us, int64_t limit_us)
{
    if (t_us <= CQ_SCORE_FULL_WINDOW_US || limit_us <= 0)
        return CQ_SCORE_BASE;
    if (t_us > limit_us)
        t_us = limit_us;
    double frac = (double)t_us / (double)limit_us;
    return (int64_t)lround(CQ_SCORE_BASE * (1.0 - frac / 2.0));
}

int64_t cq_score_streak_bonus(int n)
{
    if (n < 2)
        return 0;
    int64_t b = (int64_t)CQ_SCORE_STREAK_STEP * (n - 1);
    return b > CQ_SCORE_STREAK_CAP ? CQ_SCORE_STREAK_CAP : b;
}

static int check_choices(const struct cq_question *q, const struct cq_answer *a, bool partial,
                         bool *correct, double *credit)
{
    unsigned picked = 0;
    for (unsigned i = 0; i < a->n_items; i++) {
        if ((unsigned)a->items[i] >= q->n_options)
            return CQ_EBAD_ANSWER;
        picked |= 1u << a->items[i];
    }
    *correct = picked == q->correct_mask;
    if (*correct) {
        *credit = 1.0;
    } else if (partial) {
        int hits = __builtin_popcount(picked & q->correct_mask);
        int misses = __builtin_popcount(picked & ~q->correct_mask);
        int total = __builtin_popcount(q->correct_mask);
        int net = hits - misses;
        *credit = net > 0 && total > 0 ? (double)net / total : 0.0;
    } else {
        *credit = 0.0;
    }
    return 0;
}

int cq_score_check(const struct cq_question *q, const unsigned char *order,
                   const struct cq_answer *a, bool partial_credit, bool *correct, double *credit)
{
    *correct = false;
    *credit = 0.0;
    switch (q->type) {
    case CQ_Q_SINGLE:
    case CQ_Q_POLL:
        if (a->kind != CQ_ANSWER_CHOICE || (unsigned)a->choice >= q->n_options)
            return CQ_EBAD_ANSWER;
        if (q->type == CQ_Q_SINGLE)
            *correct = (q->correct_mask >> a->choice) & 1u;
        break;
    case CQ_Q_MULTI:
        if (a->kind == CQ_ANSWER_CHOICE) {
            struct cq_answer one = *a;
            one.kind = CQ_ANSWER_CHOICES;
            one.items[0] = a->choice;
            one.n_items = 1;
            return check_choices(q, &one, partial_credit, correct, credit);
        }
        if (a->kind != CQ_ANSWER_CHOICES)
            return CQ_EBAD_ANSWER;
        return check_choices(q, a, partial_credit, correct, credit);
    case CQ_Q_TRUEFALSE:
        if (a->kind != CQ_ANSWER_BOOL)
            return CQ_EBAD_ANSWER;
        *correct = a->value == q->truth;
        break;
    case CQ_Q_TYPEANSWER: {
        /* UTF-8: 4 bytes a character; the key: up to 5 bytes a byte */
        char folded[5 * 4 * CQ_ANSWER_TEXT_HARD_MAX + 1];
        if (a->kind != CQ_ANSWER_TEXT || !cq_text_answer_key(a->text, folded, sizeof folded))
            return CQ_EBAD_ANSWER;
        for (unsigned i = 0; i < q->n_accepted; i++)
            if (!strcmp(folded, q->accepted_fold[i]))
                *correct = true;
        break;
    }
    case CQ_Q_ORDERING:
        /* items[k] is the displayed position the player put k-th. */
        if (a->kind != CQ_ANSWER_CHOICES || a->n_items != q->n_options)
            return CQ_EBAD_ANSWER;
        *correct = true;
        for (unsigned k = 0; k < a->n_items; k++) {
            if ((unsigned)a->items[k] >= q->n_options)
                return CQ_EBAD_ANSWER;
            if (order[a->items[k]] != k)
                *correct = false;
        }
        break;
    case CQ_Q__COUNT:
        return CQ_EINTERNAL;
    }
    if (*correct)
        *credit = 1.0;
    return 0;
}

void cq_score_apply(const struct cq_score_rules *r, const struct cq_question *q, bool answered,
                    bool correct, double credit, int64_t t_us, int64_t limit_us, int streak_before,
                    struct cq_score *out)
{
    memset(out, 0, sizeof *out);
    out->streak = streak_before;
    if (q->type == CQ_Q_POLL || q->points == 0) {
        out->correct = answered && correct;
        return; /* not scored; the streak is left as it was */
    }
    out->correct = answered && correct;
    out->credit = answered ? credit : 0.0;
    if (!answered || credit <= 0.0) {
        out->streak = 0;
        return;
    }
    int64_t base =
        r->preset == CQ_SCORING_SPEED ? cq_score_speed_points(t_us, limit_us) : CQ_SCORE_BASE;
    out->points = (int64_t)llround((double)base * credit) * q->points;
    if (r->preset == CQ_SCORING_SPEED && r->streak) {
        if (out->correct) {
            out->streak = streak_before + 1;
            out->bonus = cq_score_streak_bonus(out->streak) * q->points;
        } else {
            out->streak = 0; /* partly right is not right */
        }
    } else {
        out->streak = out->correct ? streak_before + 1 : 0;
    }
}
