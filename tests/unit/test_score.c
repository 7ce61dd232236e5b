/* Scoring rules at their boundaries (docs/scoring.md, server/game/score.h). */
#include <criterion/criterion.h>

#include "score.h"
#include "text.h"

static struct cq_question single_q(int points)
{
    static char *opts[] = {"a", "b", "c", "d"};
    struct cq_question q = {0};
    q.type = CQ_Q_SINGLE;
    q.n_options = 4;
    for (int i = 0; i < 4; i++)
        q.options[i] = opts[i];
    q.correct_mask = 1u << 2;
    q.points = points;
    return q;
}

Test(score, full_points_within_half_a_second)
{
    cr_assert_eq(cq_score_speed_points(0, 20000000), 1000);
    cr_assert_eq(cq_score_speed_points(500000, 20000000), 1000);
    /* One microsecond later the formula applies: 1000*(1 - 0.500001/40) = 987.49998. */
    cr_assert_eq(cq_score_speed_points(500001, 20000000), 987);
}

Test(score, formula_and_deadline)
{
    cr_assert_eq(cq_score_speed_points(10000000, 20000000), 750);
    cr_assert_eq(cq_score_speed_points(20000000, 20000000), 500);
    /* Past the limit is clamped (the room refuses such answers anyway). */
    cr_assert_eq(cq_score_speed_points(30000000, 20000000), 500);
    cr_assert_eq(cq_score_speed_points(1000000, 10000000), 950);
}

Test(score, streak_bonus_steps_and_cap)
{
    cr_assert_eq(cq_score_streak_bonus(0), 0);
    cr_assert_eq(cq_score_streak_bonus(1), 0);
    cr_assert_eq(cq_score_streak_bonus(2), 100);
    cr_assert_eq(cq_score_streak_bonus(5), 400);
    cr_assert_eq(cq_score_streak_bonus(6), 500);
    cr_assert_eq(cq_score_streak_bonus(7), 500);
    cr_assert_eq(cq_score_streak_bonus(100), 500);
}

Test(score, speed_with_streak_and_multiplier)
{
    struct cq_question q = single_q(2);
    struct cq_score_rules r = {CQ_SCORING_SPEED, true, false};
    struct cq_score s;
    cq_score_apply(&r, &q, true, true, 1.0, 10000000, 20000000, 3, &s);
    cr_assert(s.correct);
    cr_assert_eq(s.points, 1500);
    cr_assert_eq(s.streak, 4);
    cr_assert_eq(s.bonus, 600); /* 300 for the 4th in a row, doubled */
}

Test(score, wrong_or_missing_resets_streak)
{
    struct cq_question q = single_q(1);
    struct cq_score_rules r = {CQ_SCORING_SPEED, true, false};
    struct cq_score s;
    cq_score_apply(&r, &q, true, false, 0.0, 1000000, 20000000, 4, &s);
    cr_assert_eq(s.points + s.bonus, 0);
    cr_assert_eq(s.streak, 0);
    cq_score_apply(&r, &q, false, false, 0.0, 0, 20000000, 4, &s);
    cr_assert_eq(s.streak, 0);
}

Test(score, accuracy_is_flat_without_bonus)
{
    struct cq_question q = single_q(1);
    struct cq_score_rules r = {CQ_SCORING_ACCURACY, true, false};
    struct cq_score s;
    cq_score_apply(&r, &q, true, true, 1.0, 19000000, 20000000, 5, &s);
    cr_assert_eq(s.points, 1000);
    cr_assert_eq(s.bonus, 0);
}

Test(score, streak_off_gives_no_bonus)
{
    struct cq_question q = single_q(1);
    struct cq_score_rules r = {CQ_SCORING_SPEED, false, false};
    struct cq_score s;
    cq_score_apply(&r, &q, true, true, 1.0, 0, 20000000, 5, &s);
    cr_assert_eq(s.points, 1000);
    cr_assert_eq(s.bonus, 0);
}

Test(score, zero_multiplier_and_poll_leave_streak)
{
    struct cq_question q = single_q(0);
    struct cq_score_rules r = {CQ_SCORING_SPEED, true, false};
    struct cq_score s;
    cq_score_apply(&r, &q, false, false, 0.0, 0, 20000000, 3, &s);
    cr_assert_eq(s.points, 0);
    cr_assert_eq(s.streak, 3);
    q = single_q(1);
    q.type = CQ_Q_POLL;
    cq_score_apply(&r, &q, true, false, 0.0, 0, 20000000, 3, &s);
    cr_assert_eq(s.points, 0);
    cr_assert_eq(s.streak, 3);
}

Test(score, multi_partial_credit)
{
    static char *opts[] = {"a", "b", "c", "d"};
    struct cq_question q = {0};
    q.type = CQ_Q_MULTI;
    q.n_options = 4;
    for (int i = 0; i < 4; i++)
        q.options[i] = opts[i];
    q.correct_mask = 0x3; /* a and b */
    q.points = 1;
    struct cq_answer a = {.kind = CQ_ANSWER_CHOICES, .n_items = 1, .items = {0}};
    bool ok;
    double credit;
    cr_assert_eq(cq_score_check(&q, NULL, &a, true, &ok, &credit), 0);
    cr_assert(!ok);
    cr_assert_float_eq(credit, 0.5, 1e-9);
    cr_assert_eq(cq_score_check(&q, NULL, &a, false, &ok, &credit), 0);
    cr_assert_float_eq(credit, 0.0, 1e-9);
    /* One right and one wrong cancel out. */
    struct cq_answer b = {.kind = CQ_ANSWER_CHOICES, .n_items = 2, .items = {0, 2}};
    cq_score_check(&q, NULL, &b, true, &ok, &credit);
    cr_assert_float_eq(credit, 0.0, 1e-9);
    struct cq_answer c = {.kind = CQ_ANSWER_CHOICES, .n_items = 2, .items = {1, 0}};
    cq_score_check(&q, NULL, &c, true, &ok, &credit);
    cr_assert(ok);
    /* Partly right scores half the base, and breaks the streak. */
    struct cq_score_rules r = {CQ_SCORING_ACCURACY, true, true};
    struct cq_score s;
    cq_score_apply(&r, &q, true, false, 0.5, 0, 20000000, 2, &s);
    cr_assert_eq(s.points, 500);
    cr_assert_eq(s.streak, 0);
}

Test(score, shapes_that_do_not_fit)
{
    struct cq_question q = single_q(1);
    bool ok;
    double credit;
    struct cq_answer text = {.kind = CQ_ANSWER_TEXT, .text = "x"};
    cr_assert_eq(cq_score_check(&q, NULL, &text, false, &ok, &credit), CQ_EBAD_ANSWER);
    struct cq_answer big = {.kind = CQ_ANSWER_CHOICE, .choice = 4};
    cr_assert_eq(cq_score_check(&q, NULL, &big, false, &ok, &credit), CQ_EBAD_ANSWER);
}

Test(score, typeanswer_folds_case_accents_space)
{
    struct cq_question q = {0};
    q.type = CQ_Q_TYPEANSWER;
    q.accepted_fold[0] = "deliver and support";
    q.n_accepted = 1;
    q.points = 1;
    bool ok;
    double credit;
    struct cq_answer a = {.kind = CQ_ANSWER_TEXT, .text = "  DÉLIVER   and\tSupport "};
    cr_assert_eq(cq_score_check(&q, NULL, &a, false, &ok, &credit), 0);
    cr_assert(ok);
    a.text = "deliver support";
    cq_score_check(&q, NULL, &a, false, &ok, &credit);
    cr_assert(!ok);
}

/* Punctuation and a leading article are forgiven, on both sides (the loader
 * stores accepted answers by the same key). */
Test(score, typeanswer_forgives_punctuation_and_articles)
{
    static const struct {
        const char *accepted, *typed;
        bool right;
    } cases[] = {
        {"MTTR", "MTTR.", true},
        {"deliver", "Deliver!", true},
        {"deliver", "\"deliver\"", true},
        {"deliver",
         "\xe2\x80\x9c"
         "Deliver"
         "\xe2\x80\x9d\xe2\x80\xa6",
         true}, /* curly, ellipsis */
        {"event", "an event", true},
        {"event", "The event.", true},
        {"an error", "error", true},
        {"error", "a n error", false},
        {"obtain/build", "obtain build", true},
        {"obtain/build", "Obtain - Build", true},
        {"obtain/build", "obtain-build", true},
        {"design and transition", "design & transition", true},
        {"design and transition", "design&transition", true},
        {"idea-to-live cycle time", "idea to live cycle time", true},
        {"idea-to-live cycle time", "cycle time", false},
        {"value streams", "value-streams", true},
        {"dont", "don't", true},
        {"theory", "ory", false}, /* "the" is an article only as a word */
        {"a", "an", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char key[256];
        cr_assert(cq_text_answer_key(cases[i].accepted, key, sizeof key));
        struct cq_question q = {0};
        q.type = CQ_Q_TYPEANSWER;
        q.accepted_fold[0] = key;
        q.n_accepted = 1;
        q.points = 1;
        bool ok = false;
        double credit;
        struct cq_answer a = {.kind = CQ_ANSWER_TEXT, .text = cases[i].typed};
        cr_assert_eq(cq_score_check(&q, NULL, &a, false, &ok, &credit), 0);
        cr_assert_eq(ok, cases[i].right, "accepted \"%s\", typed \"%s\"", cases[i].accepted,
                     cases[i].typed);
    }
    char key[64];
    cr_assert(cq_text_answer_key("...", key, sizeof key));
    cr_assert_str_eq(key, "");
    cr_assert(cq_text_answer_key("The", key, sizeof key));
    cr_assert_str_eq(key, "the", "a lone article is the answer, not an article");
}

Test(score, ordering_uses_display_order)
{
    static char *opts[] = {"first", "second", "third"};
    struct cq_question q = {0};
    q.type = CQ_Q_ORDERING;
    q.n_options = 3;
    for (int i = 0; i < 3; i++)
        q.options[i] = opts[i];
    q.points = 1;
    /* Displayed: third, first, second. */
    unsigned char order[CQ_OPTIONS_MAX] = {2, 0, 1};
    bool ok;
    double credit;
    struct cq_answer right = {.kind = CQ_ANSWER_CHOICES, .n_items = 3, .items = {1, 2, 0}};
    cr_assert_eq(cq_score_check(&q, order, &right, false, &ok, &credit), 0);
    cr_assert(ok);
    struct cq_answer wrong = {.kind = CQ_ANSWER_CHOICES, .n_items = 3, .items = {0, 1, 2}};
    cq_score_check(&q, order, &wrong, false, &ok, &credit);
    cr_assert(!ok);
    struct cq_answer short_ = {.kind = CQ_ANSWER_CHOICES, .n_items = 2, .items = {1, 2}};
    cr_assert_eq(cq_score_check(&q, order, &short_, false, &ok, &credit), CQ_EBAD_ANSWER);
}
