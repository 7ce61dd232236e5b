/* The game's state machine, driven with a fake clock. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "nickname.h"
#include "room.h"

#define S(x) ((int64_t)(x)*1000000LL)

struct rec {
    int n[CQ_EV_EXPIRED + 1];
    enum cq_event_type last;
};

static void on_emit(void *ud, struct cq_room *room, const struct cq_event *ev)
{
    struct rec *r = ud;
    (void)room;
    r->n[ev->type]++;
    r->last = ev->type;
}

static bool on_blocked(void *ud, const char *folded)
{
    (void)ud;
    return strstr(folded, "rude") != NULL;
}

static const struct cq_room_hooks hooks = {on_emit, on_blocked, NULL};

static char *opts4[] = {"a", "b", "c", "d"};
static struct cq_question questions[3];
static struct cq_bank bank = {.id = "t", .title = "t", .questions = questions, .n_questions = 3};

static void setup_bank(void)
{
    memset(questions, 0, sizeof questions);
    for (int i = 0; i < 3; i++) {
        questions[i].type = CQ_Q_SINGLE;
        questions[i].n_options = 4;
        for (int k = 0; k < 4; k++)
            questions[i].options[k] = opts4[k];
        questions[i].correct_mask = 1u;
        questions[i].points = 1;
        questions[i].time_limit_s = 10;
    }
}

static struct rec rec;
static struct cq_room *room;
static struct cq_room_settings set;

static void make_room(void)
{
    unsigned q[3] = {0, 1, 2};
    setup_bank();
    memset(&rec, 0, sizeof rec);
    cq_room_settings_default(&set);
    set.max_show_delay_us = S(1);
    room = cq_room_create(&bank, q, 3, &set, "123456", "hosttoken", 1, 0, &hooks, &rec);
    cr_assert_not_null(room);
}

static void fini(void)
{
    cq_room_free(room);
    room = NULL;
}

static struct cq_player *join(const char *nick, const char *token)
{
    struct cq_player *p = NULL;
    cr_assert_eq(cq_room_join(room, nick, token, 0, &p), 0, "join %s", nick);
    return p;
}

static const struct cq_answer pick0 = {.kind = CQ_ANSWER_CHOICE, .choice = 0};
static const struct cq_answer pick1 = {.kind = CQ_ANSWER_CHOICE, .choice = 1};

TestSuite(room, .init = make_room, .fini = fini);

/* Look-alike names are one name by either key (nickname.h), the refusal
 * says which player it looks like, and leaving frees both keys. */
Test(room, look_alike_nicknames)
{
    struct cq_player *p, *ian = join("Ian", "t1");
    char why[CQ_NICK_WHY_MAX];
    cr_assert_eq(cq_room_join_why(room,
                                  "\xd0\x86"
                                  "an",
                                  "t2", 0, &p, why, sizeof why),
                 CQ_ENICKNAME_TAKEN); /* Cyrillic capital I */
    cr_assert_str_eq(why, "nickname looks the same as Ian, already in this game");
    cr_assert_eq(cq_room_join(room, "ian", "t2", 0, &p), CQ_ENICKNAME_TAKEN); /* folded key */
    cr_assert_eq(cq_room_join(room, "lan", "t2", 0, &p), CQ_ENICKNAME_TAKEN); /* shape key */
    cr_assert_eq(cq_room_join_why(room,
                                  "I\xe2\x80\x8b"
                                  "an",
                                  "t2", 0, &p, why, sizeof why),
                 CQ_ENICKNAME_INVALID);
    cr_assert_str_eq(why, "nickname contains an invisible or direction-control character (U+200B)");
    cq_room_leave(room, ian, 0);
    join("lan", "t3");
    cr_assert_eq(cq_room_join(room, "Ian", "t4", 0, &p), CQ_ENICKNAME_TAKEN);
}

Test(room, nickname_rules)
{
    struct cq_player *p;
    join("  Ana  María ", "t1");
    cr_assert_eq(cq_room_join(room, "ana maria", "t2", 0, &p), CQ_ENICKNAME_TAKEN);
    cr_assert_eq(cq_room_join(room, "ANA MARÍA", "t2", 0, &p), CQ_ENICKNAME_TAKEN);
    cr_assert_eq(cq_room_join(room, "   ", "t2", 0, &p), CQ_ENICKNAME_INVALID);
    cr_assert_eq(cq_room_join(room, "abcdefghijklmnopqrstu", "t2", 0, &p), CQ_ENICKNAME_INVALID);
    cr_assert_eq(cq_room_join(room, "a\x01z", "t2", 0, &p), CQ_ENICKNAME_INVALID);
    cr_assert_eq(cq_room_join(room, "so rude", "t2", 0, &p), CQ_ENICKNAME_REJECTED);
    p = join("abcdefghijklmnopqrst", "t3"); /* exactly 20 */
    cr_assert_str_eq(p->nickname, "abcdefghijklmnopqrst");
    cr_assert_eq(rec.n[CQ_EV_PLAYER_JOINED], 2);
}

Test(room, lock_full_and_late_join)
{
    struct cq_player *p;
    cq_room_lock(room, true, 0);
    cr_assert_eq(cq_room_join(room, "x", "t1", 0, &p), CQ_EGAME_LOCKED);
    cq_room_lock(room, false, 0);
    join("x", "t1");
    cr_assert_eq(cq_room_start(room, 0), 0);
    join("late", "t2"); /* late join is on by default */
    cq_room_free(room);

    unsigned q[1] = {0};
    set.late_join = false;
    set.max_players = 1;
    room = cq_room_create(&bank, q, 1, &set, "123456", "h", 1, 0, &hooks, &rec);
    join("one", "t1");
    cr_assert_eq(cq_room_join(room, "two", "t2", 0, &p), CQ_EGAME_FULL);
    cq_room_start(room, 0);
    cr_assert_eq(cq_room_join(room, "three", "t3", 0, &p), CQ_EGAME_STARTED);
}

Test(room, start_needs_players)
{
    cr_assert_eq(cq_room_start(room, 0), CQ_ENO_PLAYERS);
    join("x", "t1");
    cr_assert_eq(cq_room_start(room, 0), 0);
    cr_assert_eq(cq_room_start(room, 0), CQ_EWRONG_PHASE);
    cr_assert_eq(cq_room_phase(room), CQ_PHASE_QUESTION);
    cr_assert_eq(rec.n[CQ_EV_QUESTION], 1);
}

Test(room, answer_at_exactly_the_deadline)
{
    struct cq_player *a = join("a", "t1"), *b = join("b", "t2");
    int64_t t;
    cq_room_start(room, 0);
    /* The limit is 10 s from the open; no `shown`: no delay credit. */
    cr_assert_eq(cq_room_answer(room, a, 0, &pick0, S(10), &t), 0);
    cr_assert_eq(t, S(10));
    cr_assert_eq(cq_room_answer(room, b, 0, &pick0, S(10) + 1, &t), CQ_ETOO_LATE);
    cr_assert_eq(cq_room_phase(room), CQ_PHASE_QUESTION);
    /* The question closes for everyone when the longest possible delay has run out. */
    cr_assert_eq(cq_room_next_deadline(room), S(11));
    cq_room_tick(room, S(11));
    cr_assert_eq(cq_room_phase(room), CQ_PHASE_REVEAL);
    cr_assert_eq(a->score, 500);
    cr_assert_eq(b->score, 0);
    cr_assert_eq(cq_room_answer(room, b, 0, &pick0, S(11), &t), CQ_ETOO_LATE);
}

Test(room, shown_delay_is_credited_but_bounded)
{
    struct cq_player *a = join("a", "t1"), *b = join("b", "t2");
    int64_t t;
    cq_room_start(room, 0);
    cr_assert_eq(cq_room_shown(room, a, 0, 300000), 0);
    cr_assert_eq(cq_room_shown(room, b, 0, S(5)), 0); /* capped at 1 s */
    cr_assert_eq(cq_room_answer(room, a, 0, &pick0, 800000, &t), 0);
    cr_assert_eq(t, 500000);
    cr_assert_eq(a->answers[0].time_us, 500000);
    cr_assert_eq(cq_room_answer(room, b, 0, &pick0, S(11), &t), 0); /* 10 s after its 1 s delay */
    cr_assert_eq(t, S(10));
    cq_room_tick(room, S(11));
    cr_assert_eq(cq_room_phase(room), CQ_PHASE_REVEAL);
    cr_assert_eq(a->score, 1000);
    cr_assert_eq(b->score, 500);
}

Test(room, one_answer_unless_changes_allowed)
{
    struct cq_player *a = join("a", "t1");
    join("b", "t2");
    int64_t t;
    cq_room_start(room, 0);
    cr_assert_eq(cq_room_answer(room, a, 0, &pick1, S(1), &t), 0);
    cr_assert_eq(cq_room_answer(room, a, 0, &pick0, S(2), &t), CQ_EALREADY_ANSWERED);
    cr_assert_eq(cq_room_answered(room), 1);
    cq_room_free(room);

    unsigned q[1] = {0};
    set.change_answer = true;
    room = cq_room_create(&bank, q, 1, &set, "123456", "h", 1, 0, &hooks, &rec);
    a = join("a", "t1");
    join("b", "t2");
    cq_room_start(room, 0);
    cr_assert_eq(cq_room_answer(room, a, 0, &pick1, S(1), &t), 0);
    cr_assert_eq(cq_room_answer(room, a, 0, &pick0, S(2), &t), 0);
    cr_assert_eq(cq_room_answered(room), 1);
    cq_room_tick(room, S(11));
    cr_assert(a->answers[0].correct);
    cr_assert_eq(a->score, 900); /* 1000*(1 - 2/20) */
}

/* With change_answer on, a seat's answer to one question changes at most
 * CQ_ANSWER_CHANGES_MAX times (each is a log entry); the last one taken
 * stands, and the next question starts the count anew. */
Test(room, an_answer_changes_a_bounded_number_of_times)
{
    unsigned q[2] = {0, 0};
    set.change_answer = true;
    cq_room_free(room);
    room = cq_room_create(&bank, q, 2, &set, "123456", "h", 1, 0, &hooks, &rec);
    struct cq_player *a = join("a", "t1");
    join("b", "t2");
    int64_t t;
    cq_room_start(room, 0);
    cr_assert_eq(cq_room_answer(room, a, 0, &pick1, S(1), &t), 0);
    for (int i = 1; i <= CQ_ANSWER_CHANGES_MAX; i++)
        cr_assert_eq(cq_room_answer(room, a, 0, i % 2 ? &pick0 : &pick1, S(1) + i, &t), 0,
                     "change %d refused", i);
    const struct cq_answer *last = CQ_ANSWER_CHANGES_MAX % 2 ? &pick0 : &pick1;
    const struct cq_answer *other = last == &pick0 ? &pick1 : &pick0;
    cr_assert_eq(cq_room_answer(room, a, 0, other, S(2), &t), CQ_EALREADY_ANSWERED);
    cr_assert_eq(cq_room_answered(room), 1);
    cr_assert_eq(a->answers[0].choice, last->choice);
    cq_room_tick(room, S(11));
    cr_assert_eq(cq_room_phase(room), CQ_PHASE_REVEAL);
    cr_assert_eq(a->answers[0].correct, last == &pick0);
    cr_assert_eq(cq_room_next(room, S(12)), 0); /* to the leaderboard */
    cr_assert_eq(cq_room_next(room, S(12)), 0); /* to the second question */
    cr_assert_eq(cq_room_phase(room), CQ_PHASE_QUESTION);
    cr_assert_eq(cq_room_answer(room, a, 1, &pick1, S(13), &t), 0);
    cr_assert_eq(cq_room_answer(room, a, 1, &pick0, S(14), &t), 0, "the count is per question");
}

Test(room, closes_early_when_all_connected_answered)
{
    struct cq_player *a = join("a", "t1"), *b = join("b", "t2");
    int64_t t;
    cq_room_start(room, 0);
    cq_room_disconnect(room, b, S(1));
    cr_assert_eq(cq_room_answer(room, a, 0, &pick0, S(2), &t), 0);
    /* Closed at the next tick, right away. */
    cr_assert_eq(cq_room_phase(room), CQ_PHASE_QUESTION);
    cr_assert_eq(cq_room_next_deadline(room), S(2));
    cq_room_tick(room, S(2));
    cr_assert_eq(cq_room_phase(room), CQ_PHASE_REVEAL);
    cr_assert_eq(rec.n[CQ_EV_REVEAL], 1);
    cr_assert_eq(b->streak, 0);
}

/* After a restart (cq_room_shift, then everyone marked away), players who
 * were in the game are still expected: the first returning player's answer
 * does not close the question; the last one's does, and so does the end of
 * the others' rejoin grace. */
Test(room, a_restored_question_waits_for_the_players_who_were_there)
{
    struct cq_player *a = join("a", "t1"), *b = join("b", "t2"), *c = join("c", "t3"), *p;
    int64_t t;
    cq_room_start(room, 0);
    cr_assert_eq(cq_room_answer(room, c, 0, &pick0, S(1), &t), 0);
    /* The server dies at 2 s and is back 100 s later. */
    int64_t close_at = cq_room_next_deadline(room) + S(100);
    cq_room_shift(room, S(100));
    cq_room_disconnect(room, a, S(102));
    cq_room_disconnect(room, b, S(102));
    cq_room_disconnect(room, c, S(102));
    cr_assert_eq(cq_room_next_deadline(room), close_at, "the question keeps its remaining time");
    cr_assert_eq(cq_room_rejoin(room, "t1", S(103), &p), 0);
    cr_assert_eq(cq_room_answer(room, a, 0, &pick0, S(104), &t), 0);
    cr_assert_eq(cq_room_next_deadline(room), close_at, "b is still expected");
    cq_room_tick(room, S(104));
    cr_assert_eq(cq_room_phase(room), CQ_PHASE_QUESTION);
    cr_assert_eq(cq_room_rejoin(room, "t2", S(105), &p), 0);
    cr_assert_eq(cq_room_answer(room, b, 0, &pick1, S(106), &t), 0);
    /* c answered before the crash: everyone expected has answered. */
    cr_assert_eq(cq_room_next_deadline(room), S(106));
    cq_room_tick(room, S(106));
    cr_assert_eq(cq_room_phase(room), CQ_PHASE_REVEAL);
    cr_assert_gt(a->score, 0, "a's answer after the rejoin counts");
    cr_assert_eq(b->score, 0);
}

/* A held player who never comes back stops being expected when the rejoin
 * grace ends: the question then closes (if everyone else has answered). */
Test(room, a_held_player_is_expected_only_within_the_grace)
{
    struct cq_player *a, *p;
    unsigned q[3] = {0, 1, 2};
    int64_t t;
    cq_room_free(room); /* again, with a 5 s rejoin grace */
    set.rejoin_grace_us = S(5);
    room = cq_room_create(&bank, q, 3, &set, "123456", "hosttoken", 1, 0, &hooks, &rec);
    a = join("a", "t1");
    join("b", "t2");
    cq_room_start(room, 0);
    cq_room_shift(room, S(50));
    unsigned n;
    struct cq_player *const *ps = cq_room_players(room, &n);
    for (unsigned i = 0; i < n; i++)
        cq_room_disconnect(room, ps[i], S(51));
    cr_assert_eq(cq_room_rejoin(room, "t1", S(52), &p), 0);
    cr_assert_eq(cq_room_answer(room, a, 0, &pick0, S(52), &t), 0);
    cq_room_tick(room, S(52));
    cr_assert_eq(cq_room_phase(room), CQ_PHASE_QUESTION, "b is held");
    /* b's grace ends at 56 s, before the question's own end at 60 s. */
    cr_assert_eq(cq_room_next_deadline(room), S(56));
    cq_room_tick(room, S(56));
    cr_assert_eq(cq_room_phase(room), CQ_PHASE_REVEAL);
    cr_assert_gt(a->score, 0, "a's answer after the rejoin counts");
}

Test(room, wrong_questions_and_bad_answers)
{
    struct cq_player *a = join("a", "t1");
    int64_t t;
    struct cq_answer bad = {.kind = CQ_ANSWER_TEXT, .text = "x"};
    cr_assert_eq(cq_room_answer(room, a, 0, &pick0, 0, &t), CQ_ENOT_OPEN);
    cq_room_start(room, 0);
    cr_assert_eq(cq_room_answer(room, a, 1, &pick0, 0, &t), CQ_ENOT_OPEN);
    cr_assert_eq(cq_room_answer(room, a, 0, &bad, 0, &t), CQ_EBAD_ANSWER);
}

Test(room, lead_in_blocks_early_answers)
{
    unsigned q[1] = {0};
    cq_room_free(room);
    set.lead_in_s = 3;
    room = cq_room_create(&bank, q, 1, &set, "123456", "h", 1, 0, &hooks, &rec);
    struct cq_player *a = join("a", "t1");
    int64_t t;
    cq_room_start(room, 0);
    cr_assert_eq(cq_room_answer(room, a, 0, &pick0, S(2), &t), CQ_ENOT_OPEN);
    cr_assert_eq(cq_room_answer(room, a, 0, &pick0, S(3), &t), 0);
    cr_assert_eq(t, 0);
    cq_room_tick(room, S(3));
    cr_assert_eq(a->score, 1000);
}

Test(room, answer_inside_the_display_delay_counts_as_instant)
{
    struct cq_player *a = join("a", "t1");
    join("b", "t2");
    int64_t t;
    cq_room_start(room, 0);
    cr_assert_eq(cq_room_shown(room, a, 0, 300000), 0);
    /* Open for everyone since 0; for `a` only from 0.3 s: t is 0, not an error. */
    cr_assert_eq(cq_room_answer(room, a, 0, &pick0, 100000, &t), 0);
    cr_assert_eq(t, 0);
}

Test(room, pause_stops_the_clock)
{
    struct cq_player *a = join("a", "t1");
    join("b", "t2");
    int64_t t;
    cq_room_start(room, 0);
    cr_assert_eq(cq_room_pause(room, S(4)), 0);
    cr_assert_eq(cq_room_pause(room, S(4)), CQ_EPAUSED);
    cr_assert_eq(cq_room_next_deadline(room), set.idle_ttl_us + S(4));
    cr_assert_eq(cq_room_answer(room, a, 0, &pick0, S(5), &t), CQ_EPAUSED);
    cq_room_tick(room, S(50)); /* nothing happens while paused */
    cr_assert_eq(cq_room_phase(room), CQ_PHASE_QUESTION);
    cr_assert_eq(cq_room_remaining_us(room, S(50)), S(6));
    cr_assert_eq(cq_room_resume(room, S(100)), 0);
    cr_assert_eq(cq_room_remaining_us(room, S(100)), S(6));
    cr_assert_eq(cq_room_answer(room, a, 0, &pick0, S(101), &t), 0);
    cr_assert_eq(t, S(5)); /* 4 s before the pause + 1 s after */
    cr_assert_eq(cq_room_next_deadline(room), S(107));
}

Test(room, add_time_extends_the_deadline)
{
    join("a", "t1");
    cq_room_start(room, 0);
    cr_assert_eq(cq_room_add_time(room, 15, S(1)), 0);
    cr_assert_eq(cq_room_limit_us(room), S(25));
    cr_assert_eq(cq_room_next_deadline(room), S(26));
    cr_assert_eq(rec.n[CQ_EV_TIME_ADDED], 1);
    cr_assert_eq(cq_room_add_time(room, 5, S(1)), 0);
    cq_room_tick(room, S(30));
    cr_assert_eq(cq_room_phase(room), CQ_PHASE_QUESTION);
    cq_room_tick(room, S(31));
    cr_assert_eq(cq_room_phase(room), CQ_PHASE_REVEAL);
    cr_assert_eq(cq_room_add_time(room, 5, S(31)), CQ_EWRONG_PHASE);
}

Test(room, full_flow_with_streaks_and_ranks)
{
    struct cq_player *a = join("a", "t1"), *b = join("b", "t2"), *c = join("c", "t3");
    int64_t t, now = 0;
    cq_room_start(room, now);
    for (int q = 0; q < 3; q++) {
        cq_room_answer(room, a, q, &pick0, now, &t);                   /* always right, fast */
        cq_room_answer(room, b, q, q == 1 ? &pick1 : &pick0, now, &t); /* wrong on q1 */
        cq_room_answer(room, c, q, &pick1, now, &t);                   /* always wrong */
        cq_room_tick(room, now);
        cr_assert_eq(cq_room_phase(room), CQ_PHASE_REVEAL);
        cr_assert_eq(cq_room_next(room, now), 0);
        cr_assert_eq(cq_room_phase(room), CQ_PHASE_LEADERBOARD);
        cr_assert_eq(cq_room_next(room, now), 0);
    }
    cr_assert_eq(cq_room_phase(room), CQ_PHASE_ENDED);
    cr_assert_eq(a->score, 3000 + 100 + 200);
    cr_assert_eq(a->streak, 3);
    cr_assert_eq(b->score, 2000);
    cr_assert_eq(b->streak, 1);
    cr_assert_eq(c->score, 0);
    cr_assert_eq(a->rank, 1);
    cr_assert_eq(b->rank, 2);
    cr_assert_eq(c->rank, 3);
    cr_assert_eq(rec.n[CQ_EV_ENDED], 1);
    cr_assert_eq(cq_room_next(room, now), CQ_EWRONG_PHASE);
}

Test(room, ties_share_a_rank)
{
    struct cq_player *a = join("a", "t1"), *b = join("b", "t2"), *c = join("c", "t3");
    int64_t t;
    cq_room_start(room, 0);
    cq_room_answer(room, a, 0, &pick0, 0, &t);
    cq_room_answer(room, b, 0, &pick0, 0, &t);
    cq_room_answer(room, c, 0, &pick1, 0, &t);
    cq_room_tick(room, 0);
    cr_assert_eq(a->rank, 1);
    cr_assert_eq(b->rank, 1);
    cr_assert_eq(c->rank, 3);
}

Test(room, skip_scores_nothing)
{
    struct cq_player *a = join("a", "t1");
    join("b", "t2");
    int64_t t;
    cq_room_start(room, 0);
    cq_room_answer(room, a, 0, &pick0, 0, &t);
    cr_assert_eq(cq_room_skip(room, S(1)), 0);
    cr_assert_eq(cq_room_current(room), 1);
    cr_assert(cq_room_skipped(room, 0));
    cr_assert_eq(a->score, 0);
    cr_assert(!a->answers[0].answered);
    cr_assert_eq(cq_room_answer(room, a, 0, &pick0, S(1), &t), CQ_ENOT_OPEN);
}

Test(room, auto_advance_runs_without_the_host)
{
    unsigned q[2] = {0, 1};
    cq_room_free(room);
    set.auto_advance = true;
    set.reveal_us = S(3);
    set.leaderboard_us = S(2);
    room = cq_room_create(&bank, q, 2, &set, "123456", "h", 1, 0, &hooks, &rec);
    join("a", "t1");
    cq_room_start(room, 0);
    int64_t now = 0;
    for (int guard = 0; guard < 20 && cq_room_phase(room) != CQ_PHASE_ENDED; guard++) {
        now = cq_room_next_deadline(room);
        cq_room_tick(room, now);
    }
    cr_assert_eq(cq_room_phase(room), CQ_PHASE_ENDED);
    /* q0 closes at 11, reveal to 14, board to 16; q1 closes at 27, then 30, 32. */
    cr_assert_eq(now, S(32));
    cr_assert_eq(rec.n[CQ_EV_REVEAL], 2);
    cr_assert_eq(rec.n[CQ_EV_LEADERBOARD], 2);
}

Test(room, kick_during_a_question)
{
    struct cq_player *a = join("a", "t1"), *b = join("b", "t2");
    struct cq_player *p;
    int64_t t;
    cq_room_start(room, 0);
    cq_room_answer(room, b, 0, &pick0, 0, &t);
    cr_assert_eq(cq_room_answered(room), 1);
    uint32_t bid = b->id;
    cr_assert_eq(cq_room_kick(room, bid, S(1)), 0);
    cr_assert_eq(cq_room_answered(room), 0);
    /* Kicked with no answer left: dropped from the game (room.h). */
    cr_assert_null(cq_room_player(room, bid));
    cr_assert_eq(cq_room_kick(room, bid, S(1)), CQ_ENO_PLAYER);
    cr_assert_eq(cq_room_kick(room, 99, S(1)), CQ_ENO_PLAYER);
    cr_assert_eq(cq_room_rejoin(room, "t2", S(2), &p), CQ_EKICKED);
    /* The name is free again. */
    join("b", "t3");
    cq_room_answer(room, a, 0, &pick0, S(2), &t);
    cq_room_tick(room, S(11));
    unsigned n;
    cq_room_ranking(room, &n);
    cr_assert_eq(n, 2);
}

Test(room, rejoin_keeps_score_and_respects_grace)
{
    struct cq_player *a = join("a", "t1"), *p;
    join("b", "t2");
    int64_t t;
    cq_room_start(room, 0);
    cq_room_answer(room, a, 0, &pick0, 0, &t);
    cq_room_disconnect(room, a, S(1));
    cr_assert(!a->connected);
    cr_assert_eq(cq_room_rejoin(room, "nope", S(2), &p), CQ_EBAD_TOKEN);
    cr_assert_eq(cq_room_rejoin(room, "t1", S(2), &p), 0);
    cr_assert_eq(p, a);
    cr_assert(a->connected);
    cq_room_tick(room, S(11));
    cr_assert_eq(a->score, 1000);
    cq_room_disconnect(room, a, S(12));
    cr_assert_eq(cq_room_rejoin(room, "t1", S(12) + set.rejoin_grace_us + 1, &p),
                 CQ_ERESUME_EXPIRED);
}

Test(room, rejoin_after_the_end)
{
    struct cq_player *a = join("a", "t1"), *p;
    int64_t t;
    cq_room_start(room, 0);
    cq_room_answer(room, a, 0, &pick0, 0, &t);
    cq_room_disconnect(room, a, S(1));
    cr_assert_eq(cq_room_end(room, S(2)), 0);
    cr_assert_eq(cq_room_phase(room), CQ_PHASE_ENDED);
    /* Results stay reachable after the grace period, until the game expires. */
    cr_assert_eq(cq_room_rejoin(room, "t1", S(2) + set.rejoin_grace_us + 1, &p), 0);
    cr_assert_eq(p->score, 1000);
    cr_assert_eq(cq_room_next_deadline(room), S(2) + set.ended_ttl_us);
    cq_room_tick(room, S(2) + set.ended_ttl_us);
    cr_assert_eq(rec.n[CQ_EV_EXPIRED], 1);
}

Test(room, host_token_check)
{
    cr_assert(cq_room_is_host_token(room, "hosttoken"));
    cr_assert(!cq_room_is_host_token(room, "hosttokem"));
    cr_assert(!cq_room_is_host_token(room, "hosttoken2"));
    cr_assert(!cq_room_is_host_token(room, ""));
}

Test(room, leave_keeps_earned_points)
{
    struct cq_player *a = join("a", "t1"), *p;
    join("b", "t2");
    int64_t t;
    cq_room_start(room, 0);
    cq_room_answer(room, a, 0, &pick0, 0, &t);
    cq_room_leave(room, a, S(1));
    cr_assert_eq(cq_room_n_players(room), 1);
    cq_room_tick(room, S(11));
    cr_assert_eq(a->score, 1000);
    cr_assert_eq(cq_room_rejoin(room, "t1", S(12), &p), CQ_EBAD_TOKEN);
    /* Kept in the record, not on the board. */
    unsigned n;
    struct cq_player *const *r = cq_room_ranking(room, &n);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(r[0]->nickname, "b");
}

Test(room, select_by_tag_count_shuffle)
{
    static char *ta[] = {"x"}, *tb[] = {"y"};
    unsigned out[3];
    setup_bank();
    questions[0].tags[0] = ta[0];
    questions[0].n_tags = 1;
    questions[2].tags[0] = tb[0];
    questions[2].n_tags = 1;
    const char *want[] = {"y"};
    cr_assert_eq(cq_room_select(&bank, want, 1, 0, false, 1, out), 1);
    cr_assert_eq(out[0], 2);
    cr_assert_eq(cq_room_select(&bank, NULL, 0, 2, false, 1, out), 2);
    cr_assert_eq(out[1], 1);
    const char *none[] = {"z"};
    cr_assert_eq(cq_room_select(&bank, none, 1, 0, false, 1, out), 0);
    unsigned seen = 0;
    cr_assert_eq(cq_room_select(&bank, NULL, 0, 0, true, 42, out), 3);
    for (int i = 0; i < 3; i++)
        seen |= 1u << out[i];
    cr_assert_eq(seen, 7u);
}

Test(room, select_never_pairs_questions_that_exclude_each_other)
{
    /* 0 and 1 give each other away; the loader lists the pair both ways. */
    static unsigned ex0[] = {1}, ex1[] = {0};
    static char *tb[] = {"b"};
    unsigned out[3];
    setup_bank();
    questions[0].excludes = ex0;
    questions[0].n_excludes = 1;
    questions[1].excludes = ex1;
    questions[1].n_excludes = 1;
    /* In bank order the first of the pair stays; a count is filled from the rest. */
    cr_assert_eq(cq_room_select(&bank, NULL, 0, 0, false, 1, out), 2);
    cr_expect_eq(out[0], 0);
    cr_expect_eq(out[1], 2);
    cr_assert_eq(cq_room_select(&bank, NULL, 0, 2, false, 1, out), 2);
    cr_expect_eq(out[1], 2);
    cr_assert_eq(cq_room_select(&bank, NULL, 0, 1, false, 1, out), 1);
    cr_expect_eq(out[0], 0);
    /* Shuffled: never both, always two, and either one can be the one kept. */
    unsigned kept0 = 0, kept1 = 0;
    for (uint64_t seed = 1; seed <= 64; seed++) {
        cr_assert_eq(cq_room_select(&bank, NULL, 0, 0, true, seed, out), 2);
        bool has0 = out[0] == 0 || out[1] == 0, has1 = out[0] == 1 || out[1] == 1;
        cr_expect(has0 != has1, "seed %llu: %u %u", (unsigned long long)seed, out[0], out[1]);
        cr_expect(out[0] == 2 || out[1] == 2);
        kept0 += has0;
        kept1 += has1;
    }
    cr_expect(kept0 > 0 && kept1 > 0);
    /* Only what the tags select counts: without 0, 1 is free to play. */
    questions[1].tags[0] = tb[0];
    questions[1].n_tags = 1;
    questions[2].tags[0] = tb[0];
    questions[2].n_tags = 1;
    const char *want[] = {"b"};
    cr_assert_eq(cq_room_select(&bank, want, 1, 0, false, 1, out), 2);
    cr_expect_eq(out[0], 1);
    cr_expect_eq(out[1], 2);
}

Test(room, idle_game_ends)
{
    join("a", "t1");
    cr_assert_eq(cq_room_next_deadline(room), set.idle_ttl_us);
    cq_room_tick(room, set.idle_ttl_us);
    cr_assert_eq(cq_room_phase(room), CQ_PHASE_ENDED);
}

Test(room, seats_are_released_after_the_grace_period)
{
    struct cq_player *a = join("a", "t1"), *p;
    join("b", "t2");
    cq_room_disconnect(room, a, S(1));
    cr_assert_eq(cq_room_next_deadline(room), S(1) + set.rejoin_grace_us);
    cq_room_tick(room, S(1) + set.rejoin_grace_us);
    /* Never answered: dropped from the game, not only from the board. */
    (void)a;
    cr_assert_null(cq_room_player(room, 1));
    cr_assert_eq(cq_room_n_players(room), 1);
    cr_assert_eq(rec.n[CQ_EV_PLAYER_LEFT], 1);
    cr_assert_eq(cq_room_rejoin(room, "t1", S(2) + set.rejoin_grace_us, &p), CQ_ERESUME_EXPIRED);
    /* The name is free for someone else. */
    join("A", "t3");
    /* A player who came back in time keeps the seat. */
    struct cq_player *b = cq_room_player(room, 2);
    cq_room_disconnect(room, b, S(500));
    cr_assert_eq(cq_room_rejoin(room, "t2", S(501), &p), 0);
    cq_room_tick(room, S(500) + set.rejoin_grace_us);
    cr_assert(!b->left);
    cr_assert(b->connected);
}

Test(room, rankings_follow_kicks_and_late_joins_to_the_end)
{
    struct cq_player *a = join("a", "t1"), *b = join("b", "t2");
    int64_t t;
    cq_room_start(room, 0);
    cq_room_answer(room, a, 0, &pick0, 0, &t);
    cq_room_answer(room, b, 0, &pick0, 0, &t);
    cq_room_tick(room, 0);
    cr_assert_eq(cq_room_kick(room, b->id, S(1)), 0);
    struct cq_player *c = join("c", "t3");     /* late join, after the close */
    cr_assert_eq(cq_room_next(room, S(1)), 0); /* to the leaderboard */
    unsigned n;
    struct cq_player *const *r = cq_room_ranking(room, &n);
    cr_assert_eq(n, 2);
    cr_assert_eq(r[0], a);
    cr_assert_eq(r[1], c);
    cr_assert_eq(c->rank, 2);
    cr_assert_eq(cq_room_end(room, S(2)), 0);
    cq_room_ranking(room, &n);
    cr_assert_eq(n, 2);
}

Test(room, skipping_every_question_still_ranks_at_the_end)
{
    unsigned q[1] = {0};
    cq_room_free(room);
    room = cq_room_create(&bank, q, 1, &set, "123456", "h", 1, 0, &hooks, &rec);
    struct cq_player *a = join("a", "t1");
    cq_room_start(room, 0);
    cr_assert_eq(cq_room_skip(room, S(1)), 0);
    cr_assert_eq(cq_room_phase(room), CQ_PHASE_ENDED);
    cr_assert_eq(a->rank, 1);
}

Test(room, an_ended_game_takes_no_new_players)
{
    struct cq_player *p;
    join("a", "t1");
    cq_room_end(room, 0);
    cr_assert_eq(cq_room_join(room, "b", "t2", 0, &p), CQ_EGAME_OVER);
}

/* ---- bounds: empty lobbies, departed players -------------------------- */

Test(room, a_lobby_nobody_joins_expires_without_results)
{
    cr_assert(cq_room_never_joined(room));
    cr_assert_eq(cq_room_next_deadline(room), set.empty_lobby_us);
    cq_room_tick(room, set.empty_lobby_us - 1);
    cr_assert_eq(rec.n[CQ_EV_EXPIRED], 0);
    cq_room_tick(room, set.empty_lobby_us);
    cr_assert_eq(rec.n[CQ_EV_EXPIRED], 1);
    cr_assert_eq(rec.n[CQ_EV_ENDED], 0, "an empty game has no results");
    cr_assert(cq_room_expired(room));
}

/* Joining once and leaving does not keep a junk game alive: the lobby
 * closes that long after its last player went. */
Test(room, a_lobby_everyone_left_expires_too)
{
    struct cq_player *a = join("a", "t1");
    cr_assert_eq(cq_room_next_deadline(room), set.idle_ttl_us, "a player is in: no empty deadline");
    cq_room_leave(room, a, S(1));
    cr_assert(!cq_room_never_joined(room));
    cr_assert_eq(cq_room_next_deadline(room), S(1) + set.empty_lobby_us);
    cq_room_tick(room, S(1) + set.empty_lobby_us);
    cr_assert_eq(rec.n[CQ_EV_EXPIRED], 1);
    cr_assert_eq(rec.n[CQ_EV_ENDED], 0);
}

/* A player who only lost the connection still holds the lobby until their
 * seat is released. */
Test(room, a_dropped_player_holds_the_lobby_until_the_seat_is_released)
{
    struct cq_player *a = join("a", "t1"), *p;
    cq_room_disconnect(room, a, S(1));
    cr_assert_eq(cq_room_next_deadline(room), S(1) + set.rejoin_grace_us);
    cq_room_tick(room, S(1) + set.rejoin_grace_us);
    cr_assert_eq(rec.n[CQ_EV_EXPIRED], 0);
    cr_assert_eq(cq_room_next_deadline(room), S(1) + set.rejoin_grace_us + set.empty_lobby_us);
    /* Someone joining in time keeps it open. */
    join("b", "t2");
    cq_room_tick(room, S(1) + set.rejoin_grace_us + set.empty_lobby_us);
    cr_assert_eq(rec.n[CQ_EV_EXPIRED], 0);
    cr_assert_eq(cq_room_rejoin(room, "t1", S(2) + set.rejoin_grace_us, &p), CQ_ERESUME_EXPIRED);
}

static unsigned players_held(void)
{
    unsigned n, held = 0;
    struct cq_player *const *all = cq_room_players(room, &n);
    for (unsigned i = 0; i < n; i++)
        held += all[i] != NULL;
    return held;
}

/* Joining and leaving over and over (the attack that made one `end` take a
 * second and a 22 MB record) leaves nothing behind; a player who answered
 * stays in the record after leaving. */
Test(room, departed_players_who_never_answered_are_dropped)
{
    char nick[16], tok[16];
    struct cq_player *a = join("a", "ta"), *p;
    int64_t t;
    for (int i = 0; i < 1000; i++) {
        snprintf(nick, sizeof nick, "n%d", i);
        snprintf(tok, sizeof tok, "tok%d", i);
        cq_room_leave(room, join(nick, tok), S(1));
    }
    cr_assert_eq(players_held(), 1);
    cr_assert_eq(cq_room_rejoin(room, "tok5", S(2), &p), CQ_EBAD_TOKEN);
    /* During the game: who answered is kept, who did not is dropped once
     * the ranking that held them is replaced. */
    struct cq_player *b = join("b", "tb"), *c = join("c", "tc");
    uint32_t cid = c->id;
    cr_assert_eq(cq_room_start(room, S(3)), 0);
    cq_room_answer(room, a, 0, &pick0, S(3), &t);
    cq_room_answer(room, b, 0, &pick0, S(3), &t);
    cq_room_tick(room, S(14)); /* closed: a, b and c ranked */
    cq_room_leave(room, b, S(15));
    cq_room_leave(room, c, S(15));
    cr_assert_not_null(cq_room_player(room, cid), "the ranking still points at c");
    cr_assert_eq(cq_room_next(room, S(16)), 0); /* leaderboard: ranked again */
    cr_assert_null(cq_room_player(room, cid));
    cr_assert_not_null(cq_room_player(room, b->id));
    cr_assert_eq(b->score, 1000);
    unsigned n;
    struct cq_player *const *r = cq_room_ranking(room, &n);
    cr_assert_eq(n, 1);
    cr_assert_eq(r[0], a);
    cr_assert_eq(players_held(), 2);
    cr_assert_eq(cq_room_end(room, S(17)), 0);
}

Test(room, dropped_players_tokens_keep_their_refusal)
{
    struct cq_player *p;
    join("a", "ta");
    struct cq_player *k = join("k", "tk"), *e = join("e", "te");
    cq_room_kick(room, k->id, S(1));
    cq_room_disconnect(room, e, S(1));
    cq_room_tick(room, S(1) + set.rejoin_grace_us);
    cr_assert_eq(players_held(), 1);
    cr_assert_eq(cq_room_rejoin(room, "tk", S(400), &p), CQ_EKICKED);
    cr_assert_eq(cq_room_rejoin(room, "te", S(400), &p), CQ_ERESUME_EXPIRED);
    cr_assert_eq(cq_room_rejoin(room, "tx", S(400), &p), CQ_EBAD_TOKEN);
    /* Their names are free. */
    join("k", "tk2");
    join("e", "te2");
}

/* A x0 question (points 0, not a poll) has a right answer: it counts in
 * correct_count and `correct`, earns nothing, and leaves every streak as
 * it was, answered right, wrong or not at all (PROTOCOL.md "Scoring"). */
Test(room, a_zero_multiplier_question_counts_right_answers_and_keeps_streaks)
{
    questions[1].points = 0;
    struct cq_player *a = join("a", "t1"), *b = join("b", "t2"), *c = join("c", "t3");
    int64_t t;
    cq_room_start(room, 0);
    cq_room_answer(room, a, 0, &pick0, 0, &t);
    cq_room_answer(room, b, 0, &pick0, 0, &t);
    cq_room_answer(room, c, 0, &pick0, 0, &t);
    cq_room_tick(room, 0);
    cq_room_next(room, 0);
    cq_room_next(room, 0);
    cr_assert_eq(cq_room_current(room), 1);
    cq_room_answer(room, a, 1, &pick0, 0, &t); /* right */
    cq_room_answer(room, b, 1, &pick1, 0, &t); /* wrong; c does not answer */
    cq_room_tick(room, cq_room_next_deadline(room));
    cr_assert_eq(cq_room_phase(room), CQ_PHASE_REVEAL);
    cr_assert_eq(cq_room_answered(room), 2);
    cr_assert_eq(cq_room_n_correct(room), 1);
    cr_assert(a->answers[1].correct);
    cr_assert_eq(a->answers[1].points + a->answers[1].bonus, 0);
    cr_assert_eq(a->streak, 1);
    cr_assert_eq(b->streak, 1);
    cr_assert_eq(c->streak, 1);
}

/* A released seat counts as left: out of the ranking from the next one
 * on, with its points kept in the record (PROTOCOL.md "Players"). */
Test(room, a_released_seat_drops_out_of_the_ranking)
{
    struct cq_player *a = join("a", "t1"), *b = join("b", "t2");
    int64_t t;
    unsigned n;
    cq_room_start(room, 0);
    cq_room_answer(room, a, 0, &pick1, 0, &t);
    cq_room_answer(room, b, 0, &pick0, 0, &t);
    cq_room_tick(room, 0);
    cq_room_ranking(room, &n);
    cr_assert_eq(n, 2);
    cr_assert_eq(b->rank, 1);
    cq_room_disconnect(room, b, S(1));
    cq_room_tick(room, S(1) + set.rejoin_grace_us);
    cr_assert(b->left && b->expired);
    cr_assert_eq(cq_room_player(room, 2), b, "kept for the record: it answered");
    cr_assert_eq(b->score, 1000);
    cq_room_next(room, S(2) + set.rejoin_grace_us); /* the leaderboard refreshes the ranking */
    struct cq_player *const *r = cq_room_ranking(room, &n);
    cr_assert_eq(n, 1);
    cr_assert_eq(r[0], a);
    cr_assert_eq(a->rank, 1);
}
