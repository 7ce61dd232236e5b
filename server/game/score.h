/* score.h: the scoring rules (documented in docs/scoring.md).
 *
 * speed preset:   a correct answer scores round(1000 * (1 - (t/T)/2)), and
 *                 the full 1000 when t <= 0.5 s; times the question's
 *                 multiplier (0, 1 or 2). With streaks on, the n-th correct
 *                 answer in a row adds min(100 * (n - 1), 500), also times
 *                 the multiplier. A wrong or missing answer resets the streak.
 * accuracy preset: a correct answer scores 1000 times the multiplier; no
 *                 speed, no streak.
 * Polls and questions with multiplier 0 score nothing and leave the streak.
 */
#ifndef CQ_SCORE_H
#define CQ_SCORE_H

#include <stdbool.h>
#include <stdint.h>

#include "bank.h"
#include "cq_proto.h"

#define CQ_SCORE_BASE           1000
#define CQ_SCORE_FULL_WINDOW_US 500000 /* answers this fast get full points */
#define CQ_SCORE_STREAK_STEP    100
#define CQ_SCORE_STREAK_CAP     500

struct cq_score_rules {
    enum cq_scoring preset;
    bool streak;
    bool partial_credit; /* multi: credit for a partly right selection */
};

struct cq_score {
    bool correct;   /* fully right: counts for the streak */
    double credit;  /* 0..1 share of the base points */
    int64_t points; /* base points earned, after multiplier */
    int64_t bonus;  /* streak bonus, after multiplier */
    int streak;     /* streak after this answer */
};

/* Base points for a correct answer at t of T microseconds (speed preset). */
int64_t cq_score_speed_points(int64_t t_us, int64_t limit_us);
/* Streak bonus for the n-th correct answer in a row (before multiplier). */
int64_t cq_score_streak_bonus(int n);

/* Whether and how much `a` is right for `q`; `order` maps displayed option
 * positions to the bank's order (ordering questions). CQ_EBAD_ANSWER when
 * the answer's shape does not fit the question. */
int cq_score_check(const struct cq_question *q, const unsigned char *order,
                   const struct cq_answer *a, bool partial_credit, bool *correct, double *credit);

/* Scores an answer (`answered` false: none given) at t_us of limit_us. */
void cq_score_apply(const struct cq_score_rules *r, const struct cq_question *q, bool answered,
                    bool correct, double credit, int64_t t_us, int64_t limit_us, int streak_before,
                    struct cq_score *out);

#endif
