/* A room rebuilt from its input log equals the room that wrote it. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

#define S(x)        ((int64_t)(x)*1000000LL)
#define MAX_ENTRIES 512

struct log {
    char *e[MAX_ENTRIES];
    size_t len[MAX_ENTRIES];
    size_t n;
    int64_t last_now; /* of the last input that carries a time */
};

static void on_input(void *ud, struct cq_room *room, const struct cq_input *in)
{
    struct log *l = ud;
    (void)room;
    cr_assert_lt(l->n, MAX_ENTRIES);
    l->e[l->n] = cq_replay_encode(l->n, in, &l->len[l->n]);
    if (in->type != CQ_IN_SHIFT)
        l->last_now = in->now;
    cr_assert_not_null(l->e[l->n]);
    l->n++;
}

static const struct cq_room_hooks rec_hooks = {NULL, NULL, on_input};

static char *opts[] = {"a", "b", "c", "d"};
static char *accepted[] = {"ITIL"};
static char *accepted_fold[] = {"itil"};
static char *ids[] = {"q-single", "q-multi", "q-tf", "q-type", "q-order"};
static struct cq_question questions[5];
static struct cq_bank bank = {.id = "b", .title = "b", .questions = questions, .n_questions = 5};

static void setup_bank(void)
{
    memset(questions, 0, sizeof questions);
    for (int i = 0; i < 5; i++) {
        questions[i].id = ids[i];
        questions[i].n_options = 4;
        for (int k = 0; k < 4; k++)
            questions[i].options[k] = opts[k];
        questions[i].points = 1;
        questions[i].time_limit_s = 10;
    }
    questions[0].type = CQ_Q_SINGLE;
    questions[0].correct_mask = 1u;
    questions[1].type = CQ_Q_MULTI;
    questions[1].correct_mask = 3u;
    questions[2].type = CQ_Q_TRUEFALSE;
    questions[2].n_options = 0;
    questions[2].truth = true;
    questions[3].type = CQ_Q_TYPEANSWER;
    questions[3].n_options = 0;
    questions[3].accepted[0] = accepted[0];
    questions[3].accepted_fold[0] = accepted_fold[0];
    questions[3].n_accepted = 1;
    questions[4].type = CQ_Q_ORDERING;
    questions[4].n_options = 3;
}

static const struct cq_bank *find_bank(void *ud, const char *id)
{
    (void)ud;
    return strcmp(id, bank.id) ? NULL : &bank;
}

static struct log lg;
static struct cq_room *room;

static void fini(void)
{
    for (size_t i = 0; i < lg.n; i++)
        free(lg.e[i]);
    memset(&lg, 0, sizeof lg);
    cq_room_free(room);
    room = NULL;
}

static void make_room(void)
{
    unsigned q[5] = {0, 1, 2, 3, 4};
    struct cq_room_settings set;
    struct cq_replay_game g = {
        .game_id = "123456-1700000000",
        .created_unix = 1700000000,
        .group_digest = "ad6f1e2d11f2b0d7a4a7b1bd96d3ad5c3f0c3fd1ec9c1bfb1e8f9b6ed2e2c0a1",
        .join_secret = "Jx8y_secret-0123456789"};
    setup_bank();
    memset(&lg, 0, sizeof lg);
    cq_room_settings_default(&set);
    set.max_show_delay_us = S(1);
    set.rules.partial_credit = true;
    set.change_answer = true;
    set.rejoin_grace_us = S(30);
    snprintf(set.group, sizeof set.group, "%s", "class 3b");
    lg.e[0] = cq_replay_encode_create(&g, &bank, q, 5, &set, "123456", "hosttoken", 42, S(100),
                                      &lg.len[0]);
    cr_assert_not_null(lg.e[0]);
    lg.n = 1;
    room = cq_room_create(&bank, q, 5, &set, "123456", "hosttoken", 42, S(100), &rec_hooks, &lg);
    cr_assert_not_null(room);
}

TestSuite(replay, .init = make_room, .fini = fini);

static struct cq_player *join(const char *nick, const char *token, int64_t now)
{
    struct cq_player *p = NULL;
    cr_assert_eq(cq_room_join(room, nick, token, now, &p), 0, "join %s", nick);
    return p;
}

static void answer(struct cq_player *p, struct cq_answer a, int64_t now)
{
    int64_t t;
    cr_assert_eq(cq_room_answer(room, p, cq_room_current(room), &a, now, &t), 0);
}

/* Ticks at every deadline up to `until`, as the adapter's timer would. */
static void run_until(int64_t until)
{
    int64_t at;
    while ((at = cq_room_next_deadline(room)) <= until)
        cq_room_tick(room, at);
}

/* A game through every kind of input. */
static void play(void)
{
    struct cq_player *ana = join("Ana", "tok-ana", S(101));
    struct cq_player *bo = join("Bo", "tok-bo", S(102));
    struct cq_player *cy = join("Cy", "tok-cy", S(103));
    struct cq_player *di = join("Di", "tok-di", S(104));
    cr_assert_eq(cq_room_lock(room, true, S(105)), 0);
    cr_assert_eq(cq_room_lock(room, false, S(106)), 0);
    cr_assert_eq(cq_room_start(room, S(110)), 0);
    cr_assert_eq(cq_room_shown(room, ana, 0, S(110) + 300000), 0);
    answer(ana, (struct cq_answer){.kind = CQ_ANSWER_CHOICE, .choice = 0}, S(112));
    answer(bo, (struct cq_answer){.kind = CQ_ANSWER_CHOICE, .choice = 1}, S(113));
    answer(bo, (struct cq_answer){.kind = CQ_ANSWER_CHOICE, .choice = 0}, S(114)); /* changed */
    cq_room_disconnect(room, cy, S(115));
    cr_assert_eq(cq_room_pause(room, S(116)), 0);
    cr_assert_eq(cq_room_resume(room, S(119)), 0);
    cr_assert_eq(cq_room_add_time(room, 5, S(120)), 0);
    run_until(S(140)); /* closes, reveal */
    cr_assert_eq(cq_room_phase(room), CQ_PHASE_REVEAL);
    cr_assert_eq(cq_room_next(room, S(141)), 0); /* leaderboard */
    cr_assert_eq(cq_room_next(room, S(142)), 0); /* q1: multi */
    struct cq_player *rj;
    cr_assert_eq(cq_room_rejoin(room, "tok-cy", S(143), &rj), 0);
    struct cq_answer multi = {.kind = CQ_ANSWER_CHOICES, .n_items = 1};
    const unsigned char *order = cq_room_order(room, 1);
    for (int pos = 0; pos < 4; pos++)
        if (order[pos] == 0)
            multi.items[0] = pos; /* one of two right options: partial credit */
    answer(cy, multi, S(144));
    answer(di, (struct cq_answer){.kind = CQ_ANSWER_CHOICES, .n_items = 2, .items = {0, 1}},
           S(145));
    cr_assert_eq(cq_room_kick(room, bo->id, S(146)), 0);
    cr_assert_eq(cq_room_next(room, S(150)), 0); /* closes q1 */
    cr_assert_eq(cq_room_next(room, S(151)), 0);
    cr_assert_eq(cq_room_next(room, S(152)), 0); /* q2: true/false */
    answer(ana, (struct cq_answer){.kind = CQ_ANSWER_BOOL, .value = true}, S(153));
    cr_assert_eq(cq_room_skip(room, S(154)), 0); /* q3: type-answer */
    /* Shown, never answered: the display delay must survive a restart, or
     * the `shown` a client sends again after it counts as the first. */
    cr_assert_eq(cq_room_shown(room, cy, 3, S(154) + 700000), 0);
    answer(ana, (struct cq_answer){.kind = CQ_ANSWER_TEXT, .text = " itil "}, S(156));
    answer(di, (struct cq_answer){.kind = CQ_ANSWER_TEXT, .text = "cobit"}, S(157));
    cq_room_leave(room, di, S(158));
    cq_room_disconnect(room, ana, S(159));
    run_until(S(160)); /* q3 is still open: it closes at 154 + 10 + 1 s */
}

static void assert_same(const struct cq_room *a, const struct cq_room *b, int64_t now)
{
    unsigned na, nb;
    struct cq_player *const *pa = cq_room_players(a, &na);
    struct cq_player *const *pb = cq_room_players(b, &nb);
    cr_assert_eq(cq_room_phase(a), cq_room_phase(b));
    cr_assert_eq(cq_room_current(a), cq_room_current(b));
    cr_assert_eq(cq_room_paused(a), cq_room_paused(b));
    cr_assert_eq(cq_room_locked(a), cq_room_locked(b));
    cr_assert_eq(cq_room_next_deadline(a), cq_room_next_deadline(b));
    cr_assert_eq(cq_room_remaining_us(a, now), cq_room_remaining_us(b, now));
    cr_assert_eq(cq_room_answered(a), cq_room_answered(b));
    cr_assert_eq(cq_room_n_connected(a), cq_room_n_connected(b));
    cr_assert_str_eq(cq_room_pin(a), cq_room_pin(b));
    cr_assert(cq_room_is_host_token(b, cq_room_host_token(a)));
    cr_assert_str_eq(cq_room_settings(a)->group, cq_room_settings(b)->group);
    for (int q = 0; q < (int)cq_room_n_questions(a); q++) {
        cr_assert_eq(cq_room_skipped(a, q), cq_room_skipped(b, q));
        cr_assert_arr_eq(cq_room_order(a, q), cq_room_order(b, q), CQ_OPTIONS_MAX);
    }
    cr_assert_eq(na, nb);
    for (unsigned i = 0; i < na; i++) {
        /* Both dropped (departed without an answer), or both there. */
        cr_assert_eq(!pa[i], !pb[i], "player %u", i + 1);
        if (!pa[i])
            continue;
        cr_assert_str_eq(pa[i]->nickname, pb[i]->nickname);
        cr_assert_str_eq(pa[i]->token, pb[i]->token);
        cr_assert_eq(pa[i]->score, pb[i]->score, "%s", pa[i]->nickname);
        cr_assert_eq(pa[i]->streak, pb[i]->streak);
        cr_assert_eq(pa[i]->rank, pb[i]->rank);
        cr_assert_eq(pa[i]->prev_rank, pb[i]->prev_rank);
        cr_assert_eq(pa[i]->connected, pb[i]->connected);
        cr_assert_eq(pa[i]->kicked, pb[i]->kicked);
        cr_assert_eq(pa[i]->left, pb[i]->left);
        cr_assert_eq(pa[i]->shown_q, pb[i]->shown_q, "%s", pa[i]->nickname);
        cr_assert_eq(pa[i]->shown_delay, pb[i]->shown_delay, "%s", pa[i]->nickname);
        for (unsigned q = 0; q < cq_room_n_questions(a); q++) {
            const struct cq_answer_rec *x = &pa[i]->answers[q], *y = &pb[i]->answers[q];
            cr_assert_eq(x->answered, y->answered);
            cr_assert_eq(x->points, y->points);
            cr_assert_eq(x->bonus, y->bonus);
            cr_assert_eq(x->time_us, y->time_us);
            cr_assert_eq(x->correct, y->correct);
        }
    }
}

Test(replay, rebuilds_every_input)
{
    struct cq_replay_result r;
    char err[200];
    play();
    cr_assert_gt(lg.n, 30);
    cr_assert_eq(cq_room_phase(room), CQ_PHASE_QUESTION); /* q3 closes by its deadline later */
    cr_assert_eq(cq_replay_room((const char *const *)lg.e, lg.len, lg.n, find_bank, NULL, &r, err,
                                sizeof err),
                 0, "%s", err);
    cr_assert_str_eq(r.game.game_id, "123456-1700000000");
    cr_assert_eq(r.game.created_unix, 1700000000);
    /* The group's owner digest comes back, so the counting checks it. */
    cr_assert_str_eq(r.game.group_digest,
                     "ad6f1e2d11f2b0d7a4a7b1bd96d3ad5c3f0c3fd1ec9c1bfb1e8f9b6ed2e2c0a1");
    cr_assert_str_eq(r.game.join_secret, "Jx8y_secret-0123456789", "the join secret survives");
    cr_assert_eq(r.next_seq, lg.n);
    cr_assert_eq(r.last_now, lg.last_now);
    assert_same(room, r.room, S(171));
    /* Some points were scored, so the comparison compared something. */
    unsigned n;
    struct cq_player *const *p = cq_room_players(r.room, &n);
    cr_assert_gt(p[0]->score, 0);
    cr_assert_gt(p[2]->score, 0);
    cr_assert_lt(p[2]->score, p[0]->score);
    cq_room_free(r.room);
}

/* A log written before join secrets (or of a game without one) has none. */
Test(replay, a_game_without_join_secret)
{
    struct cq_replay_game g = {.game_id = "654321-1700000000", .created_unix = 1700000000};
    struct cq_room_settings set;
    struct cq_replay_result r;
    unsigned q[1] = {0};
    char err[200];
    size_t len;
    cq_room_settings_default(&set);
    char *e = cq_replay_encode_create(&g, &bank, q, 1, &set, "654321", "tok", 1, S(1), &len);
    cr_assert_null(strstr(e, "join_secret"));
    const char *const entries[] = {e};
    cr_assert_eq(cq_replay_room(entries, &len, 1, find_bank, NULL, &r, err, sizeof err), 0, "%s",
                 err);
    cr_assert_str_eq(r.game.join_secret, "");
    cq_room_free(r.room);
    free(e);
}

Test(replay, shift_moves_the_clock_and_is_replayed)
{
    struct cq_replay_result r, r2;
    char err[200];
    play();
    cr_assert_eq(cq_replay_room((const char *const *)lg.e, lg.len, lg.n, find_bank, NULL, &r, err,
                                sizeof err),
                 0, "%s", err);
    /* The rebuilt room goes live on a new clock base and keeps logging. */
    int64_t delta = S(5000) - r.last_now;
    int64_t before = cq_room_remaining_us(r.room, r.last_now);
    cq_room_set_hooks(r.room, &rec_hooks, &lg);
    cq_room_shift(r.room, delta);
    cr_assert_eq(cq_room_remaining_us(r.room, S(5000)), before);
    cr_assert_eq(cq_room_next_deadline(r.room), cq_room_next_deadline(room) + delta);
    unsigned n;
    struct cq_player *const *p = cq_room_players(r.room, &n);
    for (unsigned i = 0; i < n; i++)
        if (p[i])
            cq_room_disconnect(r.room, p[i], S(5000));
    struct cq_player *back;
    cr_assert_eq(cq_room_rejoin(r.room, "tok-cy", S(5001), &back), 0);
    cr_assert_eq(back->score, p[2]->score);
    /* A second restart replays the shift too. */
    cr_assert_eq(cq_replay_room((const char *const *)lg.e, lg.len, lg.n, find_bank, NULL, &r2, err,
                                sizeof err),
                 0, "%s", err);
    cr_assert_eq(r2.last_now, S(5001));
    assert_same(r.room, r2.room, S(5002));
    cq_room_free(r.room);
    cq_room_free(r2.room);
}

Test(replay, refuses_a_log_with_a_gap)
{
    struct cq_replay_result r;
    char err[200];
    play();
    free(lg.e[5]);
    memmove(&lg.e[5], &lg.e[6], (lg.n - 6) * sizeof lg.e[0]);
    memmove(&lg.len[5], &lg.len[6], (lg.n - 6) * sizeof lg.len[0]);
    lg.n--;
    cr_assert_eq(cq_replay_room((const char *const *)lg.e, lg.len, lg.n, find_bank, NULL, &r, err,
                                sizeof err),
                 CQ_EBAD_VALUE);
    cr_assert(strstr(err, "entries lost"), "%s", err);
    cr_assert_null(r.room);
}

Test(replay, skips_an_entry_written_twice)
{
    struct cq_replay_result r;
    char err[200];
    play();
    /* A write in flight when Redis went away is replayed from the journal. */
    cr_assert_lt(lg.n, MAX_ENTRIES);
    memmove(&lg.e[8], &lg.e[7], (lg.n - 7) * sizeof lg.e[0]);
    memmove(&lg.len[8], &lg.len[7], (lg.n - 7) * sizeof lg.len[0]);
    lg.e[7] = strdup(lg.e[8]);
    lg.n++;
    cr_assert_eq(cq_replay_room((const char *const *)lg.e, lg.len, lg.n, find_bank, NULL, &r, err,
                                sizeof err),
                 0, "%s", err);
    cr_assert_eq(r.next_seq, lg.n - 1);
    assert_same(room, r.room, S(171));
    cq_room_free(r.room);
}

/* The first entry written twice (in flight when Redis went away, replayed
 * from the journal) is skipped like any entry written twice. */
Test(replay, skips_the_first_entry_written_twice)
{
    struct cq_replay_result r;
    char err[200];
    play();
    char *e[MAX_ENTRIES + 1];
    size_t len[MAX_ENTRIES + 1], n = 0;
    for (size_t i = 0; i < lg.n; i++) {
        e[n] = lg.e[i];
        len[n++] = lg.len[i];
        if (i == 0 || i == 5) { /* again right after it, and later too */
            e[n] = lg.e[0];
            len[n++] = lg.len[0];
        }
    }
    cr_assert_eq(
        cq_replay_room((const char *const *)e, len, n, find_bank, NULL, &r, err, sizeof err), 0,
        "%s", err);
    assert_same(room, r.room, S(171));
    cq_room_free(r.room);
}

Test(replay, refuses_a_changed_bank)
{
    struct cq_replay_result r;
    char err[200];
    play();
    questions[3].id = "q-renamed";
    int res = cq_replay_room((const char *const *)lg.e, lg.len, lg.n, find_bank, NULL, &r, err,
                             sizeof err);
    questions[3].id = ids[3];
    cr_assert_eq(res, CQ_ENO_QUESTIONS);
    cr_assert(strstr(err, "q-type"), "%s", err);
    bank.id = "other";
    res = cq_replay_room((const char *const *)lg.e, lg.len, lg.n, find_bank, NULL, &r, err,
                         sizeof err);
    bank.id = "b";
    cr_assert_eq(res, CQ_ENO_BANK);
}

Test(replay, refuses_garbage)
{
    struct cq_replay_result r;
    char err[200];
    const char *bad[] = {"{\"v\":1}", "[1,\"tick\",5]"};
    size_t lens[] = {strlen(bad[0]), strlen(bad[1])};
    cr_assert_eq(cq_replay_room(bad, lens, 2, find_bank, NULL, &r, err, sizeof err), CQ_EBAD_VALUE);
    play();
    free(lg.e[3]);
    lg.e[3] = strdup("[3,\"answer\",1,99,0,0]"); /* no player 99 */
    lg.len[3] = strlen(lg.e[3]);
    cr_assert_neq(cq_replay_room((const char *const *)lg.e, lg.len, lg.n, find_bank, NULL, &r, err,
                                 sizeof err),
                  0);
    cr_assert(strstr(err, "entry 3"), "%s", err);
}

/* A log written before tokens were hashed (version 1: the host's and the
 * players' tokens in clear) still resumes: its tokens are hashed as they
 * are read, and the clients' tokens keep working. */
Test(replay, a_version_1_log_with_clear_tokens_is_read_hashed)
{
    struct cq_replay_result r;
    char err[200], key[CQ_SECRET_DIGEST_LEN + 1];
    join("Ana", "tok-ana", S(101));
    char *v1 = strstr(lg.e[0], "\"v\":2");
    cr_assert_not_null(v1, "%s", lg.e[0]);
    v1[4] = '1';
    cr_assert_eq(cq_replay_room((const char *const *)lg.e, lg.len, lg.n, find_bank, NULL, &r, err,
                                sizeof err),
                 0, "%s", err);
    cr_assert(!cq_room_is_host_token(r.room, "hosttoken"));
    cq_secret_digest("hosttoken", key);
    cr_assert(cq_room_is_host_token(r.room, key));
    struct cq_player *p;
    cr_assert_eq(cq_room_rejoin(r.room, "tok-ana", S(102), &p), CQ_EBAD_TOKEN);
    cq_secret_digest("tok-ana", key);
    cr_assert_eq(cq_room_rejoin(r.room, key, S(102), &p), 0);
    cr_assert_str_eq(p->nickname, "Ana");
    cq_room_free(r.room);
}

/* ---- a log that cannot be grown for nothing ---------------------------- */

Test(replay, inputs_that_change_nothing_are_not_logged)
{
    struct cq_player *a = join("Ana", "tok-ana", S(101)), *p;
    size_t n = lg.n;
    cr_assert_eq(cq_room_lock(room, false, S(102)), 0); /* unlocked already */
    cr_assert_eq(cq_room_lock(room, true, S(103)), 0);
    cr_assert_eq(lg.n, n + 1);
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(cq_room_lock(room, true, S(104)), 0);
        cr_assert_eq(cq_room_rejoin(room, "tok-ana", S(104), &p), 0); /* a new tab */
        cr_assert_eq(p, a);
    }
    cr_assert_eq(cq_room_start(room, S(105)), 0);
    for (int i = 0; i < 10; i++) {
        cq_room_pause(room, S(106)); /* refused after the first: not logged */
        cq_room_resume(room, S(107));
        cq_room_resume(room, S(107));
    }
    cr_assert_eq(lg.n, n + 1 + 1 + 20, "%zu entries", lg.n);
}

Test(replay, an_empty_lobby_that_expired_is_not_resumed)
{
    struct cq_replay_result r;
    char err[200];
    run_until(S(100) + S(600)); /* the default empty-lobby timeout */
    cr_assert(cq_room_expired(room));
    cr_assert_eq(cq_replay_room((const char *const *)lg.e, lg.len, lg.n, find_bank, NULL, &r, err,
                                sizeof err),
                 0, "%s", err);
    cr_assert(cq_room_expired(r.room), "the replayed game is over too");
    cq_room_free(r.room);
}

Test(replay, players_dropped_for_leaving_replay_the_same)
{
    struct cq_replay_result r;
    char err[200], nick[16], tok[16];
    struct cq_player *ana = join("Ana", "tok-ana", S(101));
    for (int i = 0; i < 20; i++) {
        snprintf(nick, sizeof nick, "n%d", i);
        snprintf(tok, sizeof tok, "t%d", i);
        struct cq_player *p = join(nick, tok, S(102));
        if (i % 2)
            cq_room_leave(room, p, S(103));
        else
            cq_room_disconnect(room, p, S(103));
    }
    cr_assert_eq(cq_room_start(room, S(110)), 0);
    answer(ana, (struct cq_answer){.kind = CQ_ANSWER_CHOICE, .choice = 0}, S(112));
    run_until(S(200)); /* seats released after 30 s, after the first ranking */
    cr_assert_null(cq_room_player(room, 3), "left in the lobby");
    cr_assert_eq(cq_room_next(room, S(201)), 0); /* ranked again */
    cr_assert_null(cq_room_player(room, 2), "released while ranked");
    cr_assert_eq(cq_replay_room((const char *const *)lg.e, lg.len, lg.n, find_bank, NULL, &r, err,
                                sizeof err),
                 0, "%s", err);
    assert_same(room, r.room, S(202));
    cq_room_free(r.room);
}
