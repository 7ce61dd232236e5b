/* Whole games over real WebSockets against the real server and Redis.
 * The clients follow protocol/PROTOCOL.md; the bank is
 * tests/fixtures/content/mini (one question of each type). */
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "play.h"

static void start(void)
{
    cr_assert_eq(cq_harness_start(&h, false, NULL), 0, "server did not start; see %s", h.log_path);
}

static void stop(void)
{
    cq_harness_stop(&h);
}

TestSuite(game, .init = start, .fini = stop, .timeout = 120);

/* Test-sized auto-advance: the reveal and the leaderboard 300 ms each. */
static void start_quick_advance(void)
{
    const char *const args[] = {"--reveal-time", "300", "--leaderboard-time", "300", NULL};
    cr_assert_eq(cq_harness_start(&h, false, args), 0, "server did not start; see %s", h.log_path);
}

static int position_of(json_t *options, const char *text)
{
    for (size_t i = 0; i < json_array_size(options); i++)
        if (!strcmp(json_string_value(json_array_get(options, i)), text))
            return (int)i;
    cr_assert_fail("option %s not shown", text);
    return -1;
}

Test(game, every_question_type_with_a_drop_and_rejoin)
{
    struct cq_ws host;
    struct player a, b, c;
    char pin[8], token[80];
    json_decref(
        create(&host, json_pack("{s:s, s:i}", "bank", "mini", "time_limit", 20), pin, token));
    join(&a, pin, "Ada");
    join(&b, pin, "Bob");
    join(&c, pin, "Cy");

    /* The projector's lobby shows who joined. */
    json_t *lobby = client_expect(&host, "lobby");
    cr_assert_geq(json_array_size(json_object_get(lobby, "joined")), 1);
    json_decref(lobby);

    host_cmd(&host, "start");
    /* q0 single: correct is option 0 */
    json_decref(see_question(&a, 0));
    json_decref(see_question(&b, 0));
    json_decref(see_question(&c, 0));
    answer(&a, 0, json_integer(0));
    answer(&b, 0, json_integer(1));
    answer(&c, 0, json_integer(0));
    json_t *rv = client_expect(&host, "reveal");
    cr_assert_eq(jint(rv, "answered"), 3);
    cr_assert_eq(json_integer_value(json_array_get(json_object_get(rv, "counts"), 0)), 2);
    cr_assert_gt(strlen(jstr(rv, "explanation")), 0);
    json_decref(rv);
    json_decref(result(&a, 0, true, 1));
    json_decref(result(&b, 0, false, 1));
    json_decref(result(&c, 0, true, 1));
    host_cmd(&host, "next");
    json_t *lb = client_expect(&a.ws, "leaderboard");
    cr_assert_eq(json_array_size(json_object_get(lb, "top")), 3);
    json_decref(lb);
    host_cmd(&host, "next");

    /* q1 multi (x2): correct {0,2}; C drops and rejoins mid-question. */
    json_decref(see_question(&a, 1));
    json_decref(see_question(&b, 1));
    json_decref(see_question(&c, 1));
    cq_ws_free(&c.ws);
    client_open(&c.ws, &h);
    json_t *j = client_req(
        &c.ws, json_pack("{s:s, s:s, s:s}", "type", "rejoin", "pin", pin, "token", c.token),
        "joined");
    cr_assert_eq(jint(json_object_get(j, "player"), "id"), c.id);
    json_decref(j);
    json_t *st = client_expect(&c.ws, "state");
    cr_assert_str_eq(jstr(st, "phase"), "question");
    json_t *you = json_object_get(st, "you");
    cr_assert_eq(jint(you, "score"), c.earned, "score kept across the drop");
    cr_assert(json_is_false(json_object_get(you, "answered")));
    cr_assert_eq(jint(json_object_get(st, "question"), "index"), 1);
    json_decref(st);
    answer(&a, 1, json_pack("[i, i]", 2, 0));
    answer(&b, 1, json_pack("[i]", 0));
    answer(&c, 1, json_pack("[i, i]", 0, 2));
    json_decref(result(&a, 1, true, 2));
    json_decref(result(&b, 1, false, 2));
    json_decref(result(&c, 1, true, 2));
    host_cmd(&host, "next");
    host_cmd(&host, "next");

    /* q2 true/false: true; a second answer is refused. */
    json_decref(see_question(&a, 2));
    json_decref(see_question(&b, 2));
    json_decref(see_question(&c, 2));
    answer(&a, 2, json_true());
    client_err(&a.ws, json_pack("{s:s, s:i, s:b}", "type", "answer", "question", 2, "answer", 0),
               "already_answered");
    answer(&b, 2, json_false());
    answer(&c, 2, json_true());
    json_decref(result(&a, 2, true, 1));
    json_decref(result(&b, 2, false, 1));
    json_decref(result(&c, 2, true, 1));
    host_cmd(&host, "next");
    host_cmd(&host, "next");

    /* q3 type-answer: "Paris", any case and spacing. */
    json_decref(see_question(&a, 3));
    json_decref(see_question(&b, 3));
    json_decref(see_question(&c, 3));
    answer(&a, 3, json_string("  paris "));
    answer(&b, 3, json_string("London"));
    answer(&c, 3, json_string("PARIS"));
    json_decref(result(&a, 3, true, 1));
    json_decref(result(&b, 3, false, 1));
    json_decref(result(&c, 3, true, 1));
    host_cmd(&host, "next");
    host_cmd(&host, "next");

    /* q4 ordering: one < two < three < four, shown shuffled. */
    json_t *qa = see_question(&a, 4);
    json_decref(see_question(&b, 4));
    json_decref(see_question(&c, 4));
    json_t *opts = json_object_get(qa, "options");
    const char *words[] = {"one", "two", "three", "four"};
    json_t *right = json_array(), *wrong = json_array();
    for (int i = 0; i < 4; i++)
        json_array_append_new(right, json_integer(position_of(opts, words[i])));
    for (int i = 3; i >= 0; i--)
        json_array_append_new(wrong, json_integer(position_of(opts, words[i])));
    json_decref(qa);
    answer(&a, 4, json_deep_copy(right));
    answer(&b, 4, wrong);
    answer(&c, 4, right);
    json_decref(result(&a, 4, true, 1));
    json_decref(result(&b, 4, false, 1));
    json_decref(result(&c, 4, true, 1));
    host_cmd(&host, "next");
    host_cmd(&host, "next");

    /* q5 poll: nothing scored. */
    json_decref(see_question(&a, 5));
    json_decref(see_question(&b, 5));
    json_decref(see_question(&c, 5));
    answer(&a, 5, json_integer(1));
    answer(&b, 5, json_integer(1));
    answer(&c, 5, json_integer(3));
    rv = client_expect(&host, "reveal");
    cr_assert(json_is_null(json_object_get(rv, "correct")));
    cr_assert_eq(json_integer_value(json_array_get(json_object_get(rv, "counts"), 1)), 2);
    json_decref(rv);
    json_decref(result(&a, 5, false, 0));
    json_decref(result(&b, 5, false, 0));
    json_decref(result(&c, 5, false, 0));
    host_cmd(&host, "next");
    cr_assert_eq(cq_ws_send_json(&host, json_pack("{s:s}", "type", "next")), 0);

    /* The end: podium and each player's own summary. (The `ok` of a command
     * follows the broadcasts the command caused.) */
    json_t *end = client_expect(&host, "ended");
    json_t *podium = json_object_get(end, "podium");
    cr_assert_eq(json_array_size(podium), 3);
    cr_assert_str_eq(jstr(json_array_get(podium, 2), "nickname"), "Bob");
    cr_assert_eq(jint(json_array_get(podium, 2), "score"), 0);
    char gid[40];
    snprintf(gid, sizeof gid, "%s", jstr(end, "game_id"));
    json_decref(end);
    struct player *all[] = {&a, &b, &c};
    for (int i = 0; i < 3; i++) {
        json_t *s = client_expect(&all[i]->ws, "summary");
        cr_assert_eq(jint(s, "score"), all[i]->earned);
        cr_assert_eq(json_array_size(json_object_get(s, "questions")), 6);
        json_decref(s);
    }
    cr_assert_gt(a.earned, 5 * 500);
    cr_assert_gt(c.earned, 5 * 500);

    /* The live board in Redis holds the same scores: `ended` (and so each
     * `summary`) is sent only once the game's last input is stored, and the
     * board was written before it. */
    char out[64];
    cr_assert_eq(cq_redis_cmd(&h, out, sizeof out, "ZSCORE cq:game:%s:board %lld", gid, a.id), 0);
    cr_assert_eq(atoll(out), a.earned);
    cq_ws_free(&host);
    cq_ws_free(&a.ws);
    cq_ws_free(&b.ws);
    cq_ws_free(&c.ws);
}

Test(game, join_errors_and_roles)
{
    struct cq_ws host;
    struct player a, b;
    struct cq_ws x;
    char pin[8], token[80], wrong[8];
    json_decref(create(&host, json_pack("{s:s}", "bank", "mini"), pin, token));
    join(&a, pin, "Ada");
    client_open(&x, &h);
    snprintf(wrong, sizeof wrong, "%06d", (atoi(pin) + 1) % 900000 + 100000);
    client_err(&x, json_pack("{s:s, s:s, s:s}", "type", "join", "pin", wrong, "nickname", "Zed"),
               "no_game");
    client_err(&x, json_pack("{s:s, s:s, s:s}", "type", "join", "pin", pin, "nickname", "ADA"),
               "nickname_taken");
    client_err(&x, json_pack("{s:s, s:s, s:s}", "type", "join", "pin", pin, "nickname", " "),
               "nickname_invalid");
    client_err(&x, json_pack("{s:s, s:s, s:s}", "type", "join", "pin", pin, "nickname", "b4dw0rd"),
               "nickname_rejected");
    client_err(&x, json_pack("{s:s}", "type", "start"), "not_in_game");
    /* A player cannot act as the host, nor join twice. */
    client_err(&a.ws, json_pack("{s:s}", "type", "start"), "forbidden");
    client_err(&a.ws, json_pack("{s:s, s:i}", "type", "kick", "player", 1), "forbidden");
    client_err(&a.ws, json_pack("{s:s, s:s, s:s}", "type", "join", "pin", pin, "nickname", "Q"),
               "already_in_game");
    /* A player's token does not open the host's seat, and a wrong token fails. */
    client_err(&x, json_pack("{s:s, s:s, s:s}", "type", "rejoin", "pin", pin, "token", "nope"),
               "bad_token");
    /* Lock keeps newcomers out. */
    json_decref(client_req(&host, json_pack("{s:s, s:b}", "type", "lock", "locked", 1), "ok"));
    client_err(&x, json_pack("{s:s, s:s, s:s}", "type", "join", "pin", pin, "nickname", "Zed"),
               "game_locked");
    json_decref(client_req(&host, json_pack("{s:s, s:b}", "type", "lock", "locked", 0), "ok"));
    join(&b, pin, "Bea");
    /* The host comes back on a new connection with the host token. */
    cq_ws_free(&host);
    client_open(&host, &h);
    json_t *j = client_req(
        &host, json_pack("{s:s, s:s, s:s}", "type", "rejoin", "pin", pin, "token", token),
        "joined");
    cr_assert_str_eq(jstr(j, "role"), "host");
    json_decref(j);
    json_t *st = client_expect(&host, "state");
    cr_assert_eq(json_array_size(json_object_get(st, "list")), 2);
    json_decref(st);
    /* Kick: the player is told, disconnected, and cannot come back with the token. */
    json_decref(client_req(&host, json_pack("{s:s, s:I}", "type", "kick", "player", b.id), "ok"));
    json_decref(client_expect(&b.ws, "kicked"));
    cr_assert(cq_ws_wait_closed(&b.ws, WAIT_MS));
    cq_ws_free(&b.ws);
    client_open(&b.ws, &h);
    client_err(&b.ws, json_pack("{s:s, s:s, s:s}", "type", "rejoin", "pin", pin, "token", b.token),
               "kicked");
    /* A spectator sees the game without playing. */
    struct cq_ws spec;
    client_open(&spec, &h);
    /* The PIN alone is not enough: the host's watch token is. */
    client_err(&spec, json_pack("{s:s, s:s}", "type", "watch", "pin", pin), "missing_field");
    client_err(&spec, json_pack("{s:s, s:s, s:s}", "type", "watch", "pin", pin, "token", token),
               "bad_token");
    j = client_req(&spec,
                   json_pack("{s:s, s:s, s:s}", "type", "watch", "pin", pin, "token", watch_token),
                   "joined");
    cr_assert_str_eq(jstr(j, "role"), "spectator");
    json_decref(j);
    client_err(&spec, json_pack("{s:s, s:i, s:i}", "type", "answer", "question", 0, "answer", 0),
               "forbidden");
    host_cmd(&host, "start");
    json_decref(client_expect(&spec, "question"));
    cq_ws_free(&spec);
    cq_ws_free(&host);
    cq_ws_free(&a.ws);
    cq_ws_free(&b.ws);
    cq_ws_free(&x);
}

Test(game, host_controls_and_late_answers)
{
    struct cq_ws host;
    struct player a, b;
    char pin[8], token[80];
    json_decref(
        create(&host, json_pack("{s:s, s:i}", "bank", "mini", "time_limit", 1), pin, token));
    join(&a, pin, "Ada");
    join(&b, pin, "Bob");
    client_err(&host, json_pack("{s:s}", "type", "next"), "wrong_phase");
    host_cmd(&host, "start");
    json_decref(see_question(&a, 0));
    /* Pause: answers wait, the clock stops; resume gives the time back. */
    host_cmd(&host, "pause");
    json_t *p = client_expect(&a.ws, "paused");
    long long left = jint(p, "remaining_ms");
    cr_assert(left > 0 && left <= 1000, "remaining %lld", left);
    json_decref(p);
    client_err(&a.ws, json_pack("{s:s, s:i, s:i}", "type", "answer", "question", 0, "answer", 0),
               "paused");
    /* The clock stands still while paused: after more than the whole time
     * limit (a round trip to the server every 60 ms until 1.2 s have passed),
     * `resumed` gives back what `paused` said was left (to the millisecond:
     * the two messages read the clock a few microseconds after the input). */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        json_decref(client_req(&host, json_pack("{s:s}", "type", "ping"), "pong"));
        usleep(60000); /* within the message rate (20/s) */
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 1200);
    host_cmd(&host, "resume");
    json_t *rs = client_expect(&a.ws, "resumed");
    long long after = jint(rs, "remaining_ms");
    cr_assert(after <= left && after >= left - 1, "paused with %lld ms left, resumed with %lld",
              left, after);
    json_decref(rs);
    answer(&a, 0, json_integer(0));
    /* Bob misses the deadline: the question closes without him, and his
     * answer after that is refused. */
    json_t *r = client_expect(&b.ws, "result");
    cr_assert(json_is_false(json_object_get(r, "answered")));
    json_decref(r);
    client_err(&b.ws, json_pack("{s:s, s:i, s:i}", "type", "answer", "question", 0, "answer", 0),
               "too_late");
    json_decref(result(&a, 0, true, 1));
    host_cmd(&host, "next");
    host_cmd(&host, "next");
    /* add_time pushes the deadline, skip drops the question unscored. */
    json_decref(see_question(&a, 1));
    json_t *ta =
        client_req(&host, json_pack("{s:s, s:i}", "type", "add_time", "seconds", 30), "time_added");
    cr_assert_gt(jint(ta, "time_limit_ms"), 30000);
    json_decref(ta);
    json_decref(client_expect(&host, "ok"));
    answer(&a, 1, json_pack("[i, i]", 0, 2));
    host_cmd(&host, "skip");
    json_t *q = client_expect(&a.ws, "question");
    cr_assert_eq(jint(q, "index"), 2);
    json_decref(q);
    /* End early: what was answered still counts, and the game is over. */
    answer(&a, 2, json_true());
    host_cmd(&host, "end");
    json_t *s = client_expect(&a.ws, "summary");
    json_t *qs = json_object_get(s, "questions");
    cr_assert(json_is_true(json_object_get(json_array_get(qs, 1), "skipped")));
    cr_assert_eq(jint(json_array_get(qs, 1), "points"), 0);
    cr_assert(json_is_true(json_object_get(json_array_get(qs, 2), "correct")));
    cr_assert_eq(jint(s, "rank"), 1);
    json_decref(s);
    client_err(&host, json_pack("{s:s}", "type", "start"), "wrong_phase");
    cq_ws_free(&host);
    cq_ws_free(&a.ws);
    cq_ws_free(&b.ws);
}

Test(game, auto_advance_plays_without_host_clicks, .init = start_quick_advance)
{
    struct cq_ws host;
    struct player a;
    char pin[8], token[80];
    /* A short game on timers: 1 s answers; reveal and board shown 300 ms each. */
    json_decref(create(&host,
                       json_pack("{s:s, s:i, s:b, s:i}", "bank", "mini", "time_limit", 1,
                                 "auto_advance", 1, "count", 2),
                       pin, token));
    join(&a, pin, "Ada");
    host_cmd(&host, "start");
    json_decref(see_question(&a, 0));
    answer(&a, 0, json_integer(0));
    json_decref(result(&a, 0, true, 1));
    /* No host message from here on: the leaderboard, the next question and
     * the end come by themselves. */
    json_t *lb = cq_ws_expect(&a.ws, "leaderboard", 8000);
    cr_assert_not_null(lb, "no leaderboard without the host");
    json_decref(lb);
    json_t *q = cq_ws_expect(&a.ws, "question", 8000);
    cr_assert_not_null(q, "no next question without the host");
    json_decref(q);
    /* Nobody answers the last one: it closes at its deadline. */
    json_t *r = cq_ws_expect(&a.ws, "result", 5000);
    cr_assert_not_null(r);
    cr_assert(json_is_false(json_object_get(r, "answered")));
    json_decref(r);
    json_t *s = cq_ws_expect(&a.ws, "summary", 15000);
    cr_assert_not_null(s, "the game did not end by itself");
    cr_assert_eq(jint(s, "score"), a.earned);
    json_decref(s);
    cq_ws_free(&host);
    cq_ws_free(&a.ws);
}

/* Four "Ann"s that look the same on the projector: Latin, with a Cyrillic
 * "А", with a zero width joiner, in fullwidth letters. Only the first gets
 * in; each other is told what was refused and why. */
Test(game, look_alike_nicknames_cannot_share_a_game)
{
    static const struct {
        const char *nick, *code, *in_message;
    } late[] = {
        {"\xd0\x90nn", "nickname_taken", "looks the same as Ann"}, /* U+0410 */
        {"An\xe2\x80\x8dn", "nickname_invalid", "direction-control character (U+200D)"},
        {"\xef\xbc\xa1\xef\xbd\x8e\xef\xbd\x8e", "nickname_taken", "looks the same as Ann"},
    };
    struct cq_ws host, x;
    struct player a;
    char pin[8], token[80];
    json_decref(create(&host, json_pack("{s:s}", "bank", "mini"), pin, token));
    join(&a, pin, "Ann");
    client_open(&x, &h);
    for (size_t i = 0; i < sizeof late / sizeof late[0]; i++) {
        json_t *r = client_req(
            &x, json_pack("{s:s, s:s, s:s}", "type", "join", "pin", pin, "nickname", late[i].nick),
            "error");
        cr_assert_str_eq(jstr(r, "code"), late[i].code, "%s", late[i].nick);
        cr_assert_str_eq(jstr(r, "field"), "nickname");
        cr_assert(strstr(jstr(r, "message"), late[i].in_message), "%s: %s", late[i].nick,
                  jstr(r, "message"));
        json_decref(r);
    }
    /* The connection is still free to join under a name of its own. */
    json_t *j = client_req(
        &x, json_pack("{s:s, s:s, s:s}", "type", "join", "pin", pin, "nickname", "Anna"), "joined");
    json_decref(j);
    json_t *st = client_expect(&x, "state");
    cr_assert_eq(jint(st, "players"), 2);
    json_decref(st);
    cq_ws_free(&x);
    cq_ws_free(&a.ws);
    cq_ws_free(&host);
}

/* After `skip`, the host's screens hear of the next question first: no
 * `progress` or `unanswered` for it arrives before its `question`, even
 * when an answer to the skipped one was still waiting to be counted out
 * (issue #16: they used to come first, for the new index). */
Test(game, after_a_skip_the_question_comes_before_its_progress)
{
    struct cq_ws host;
    struct player a, b;
    char pin[8], token[80];
    json_decref(
        create(&host, json_pack("{s:s, s:i}", "bank", "mini", "time_limit", 30), pin, token));
    join(&a, pin, "Ada");
    join(&b, pin, "Bob");
    host_cmd(&host, "start");
    json_decref(see_question(&a, 0));
    json_decref(see_question(&b, 0));
    answer(&a, 0, json_integer(0)); /* its progress is due within 200 ms */
    cr_assert_eq(cq_ws_send_json(&host, json_pack("{s:s}", "type", "skip")), 0);
    for (;;) {
        json_t *m = cq_ws_recv(&host, WAIT_MS);
        cr_assert_not_null(m, "no question 1 for the host");
        const char *t = json_string_value(json_object_get(m, "type"));
        long long idx = json_integer_value(json_object_get(m, "index"));
        if (!strcmp(t, "question")) {
            cr_assert_eq(idx, 1);
            json_decref(m);
            break;
        }
        cr_assert(strcmp(t, "error"), "skip refused");
        cr_assert(!((!strcmp(t, "progress") || !strcmp(t, "unanswered")) && idx == 1),
                  "%s for question 1 before the question itself", t);
        json_decref(m);
    }
    /* Then the new question's own count: nobody has answered it. */
    json_t *un = client_expect(&host, "unanswered");
    cr_assert_eq(jint(un, "index"), 1);
    cr_assert_eq(jint(un, "count"), 2);
    json_decref(un);
    json_decref(see_question(&a, 1));
    answer(&a, 1, json_pack("[i, i]", 0, 2));
    json_t *pr = client_expect(&host, "progress");
    cr_assert_eq(jint(pr, "index"), 1);
    cr_assert_eq(jint(pr, "answered"), 1);
    json_decref(pr);
    cq_ws_free(&host);
    cq_ws_free(&a.ws);
    cq_ws_free(&b.ws);
}

/* A player who joins during the reveal gets no `result` in `state.you`
 * (they were not in the game when the question closed); one who played
 * it and comes back does. */
Test(game, a_late_joiner_in_the_reveal_has_no_result)
{
    struct cq_ws host;
    struct player a, late;
    char pin[8], token[80];
    json_decref(create(&host,
                       json_pack("{s:s, s:[s, s]}", "bank", "mini", "tags", "single", "truefalse"),
                       pin, token));
    join(&a, pin, "Ada");
    host_cmd(&host, "start");
    json_decref(see_question(&a, 0));
    answer(&a, 0, json_integer(0)); /* everyone answered: the question closes */
    json_decref(result(&a, 0, true, 1));

    client_open(&late.ws, &h);
    json_decref(client_req(
        &late.ws, json_pack("{s:s, s:s, s:s}", "type", "join", "pin", pin, "nickname", "Lou"),
        "joined"));
    json_t *st = client_expect(&late.ws, "state");
    cr_assert_str_eq(jstr(st, "phase"), "reveal");
    json_t *you = json_object_get(st, "you");
    cr_assert(json_is_false(json_object_get(you, "answered")));
    cr_assert_null(json_object_get(you, "result"), "a result for a question never seen");
    cr_assert_eq(jint(you, "score"), 0);
    json_decref(st);

    cq_ws_free(&a.ws);
    client_open(&a.ws, &h);
    json_decref(client_req(
        &a.ws, json_pack("{s:s, s:s, s:s}", "type", "rejoin", "pin", pin, "token", a.token),
        "joined"));
    st = client_expect(&a.ws, "state");
    json_t *r = json_object_get(json_object_get(st, "you"), "result");
    cr_assert_not_null(r, "the player who answered has a result");
    cr_assert(json_is_true(json_object_get(r, "correct")));
    json_decref(st);
    cq_ws_free(&host);
    cq_ws_free(&a.ws);
    cq_ws_free(&late.ws);
}

/* An accuracy game asked for with "streak": true says so in its settings
 * (it echoes what was asked) and still gives no bonus; options keep the
 * bank's order (single, multi, poll), `reveal.correct` lists the shown
 * positions in increasing order, and a poll (x0) keeps the streak. At
 * broadcast, remaining_ms is lead_in_ms + time_limit_ms. */
Test(game, accuracy_echoes_the_streak_asked_for_and_options_keep_bank_order)
{
    struct cq_ws host;
    struct player a;
    char pin[8], token[80];
    json_t *st = create(&host,
                        json_pack("{s:s, s:s, s:b, s:i, s:i, s:[s, s, s]}", "bank", "mini",
                                  "scoring", "accuracy", "streak", 1, "lead_in", 1, "time_limit",
                                  20, "tags", "single", "multi", "poll"),
                        pin, token);
    json_t *set = json_object_get(st, "settings");
    cr_assert_str_eq(jstr(set, "scoring"), "accuracy");
    cr_assert(json_is_true(json_object_get(set, "streak")), "streak echoed as asked");
    json_decref(st);
    join(&a, pin, "Ada");
    host_cmd(&host, "start");

    static const char *const shown[3][4] = {{"Red", "Four", "Paris", "Cat"},
                                            {"2", "4", "5", "9"},
                                            {"Spring", "Summer", "Autumn", "Winter"}};
    json_t *answers[3] = {json_integer(0), json_pack("[i, i]", 2, 0), json_integer(3)};
    for (int k = 0; k < 3; k++) {
        json_t *q = client_expect(&a.ws, "question");
        cr_assert_eq(jint(q, "index"), k);
        long long lead = jint(q, "lead_in_ms"), limit = jint(q, "time_limit_ms");
        cr_assert_eq(limit, 20000);
        cr_assert(lead > 0 && lead <= 1000, "lead_in_ms %lld", lead);
        cr_assert_eq(jint(q, "remaining_ms"), lead + limit);
        json_t *opts = json_object_get(q, "options");
        for (size_t i = 0; i < 4; i++)
            cr_assert_str_eq(json_string_value(json_array_get(opts, i)), shown[k][i]);
        json_decref(q);
        cr_assert_eq(
            cq_ws_send_json(&a.ws, json_pack("{s:s, s:i}", "type", "shown", "question", k)), 0);
        /* Answering opens after the lead-in: ask until it has (not_open
         * before), at most 20 requests a second. */
        for (;;) {
            cr_assert_eq(cq_ws_send_json(&a.ws, json_pack("{s:s, s:i, s:O}", "type", "answer",
                                                          "question", k, "answer", answers[k])),
                         0);
            json_t *r = cq_ws_recv(&a.ws, WAIT_MS);
            cr_assert_not_null(r);
            const char *t = jstr(r, "type");
            bool acked = !strcmp(t, "answer_ack");
            if (!acked) {
                cr_assert_str_eq(t, "error");
                cr_assert_str_eq(jstr(r, "code"), "not_open");
            }
            json_decref(r);
            if (acked)
                break;
            usleep(100000);
        }
        json_t *rv = client_expect(&a.ws, "reveal");
        json_t *correct = json_object_get(rv, "correct");
        json_t *want = k == 0   ? json_pack("[i]", 0)
                       : k == 1 ? json_pack("[i, i]", 0, 2)
                                : json_null();
        cr_assert(json_equal(correct, want), "reveal.correct of question %d", k);
        json_decref(want);
        cr_assert_eq(jint(rv, "correct_count"), k < 2 ? 1 : 0);
        json_decref(rv);
        json_t *res = client_expect(&a.ws, "result");
        cr_assert_eq(jint(res, "bonus"), 0, "no bonus in accuracy");
        cr_assert_eq(jint(res, "points"), k == 0 ? 1000 : k == 1 ? 2000 : 0);
        cr_assert_eq(jint(res, "streak"), k == 0 ? 1 : 2, "a poll keeps the streak");
        json_decref(res);
        if (k < 2) {
            host_cmd(&host, "next");
            host_cmd(&host, "next");
        }
        json_decref(answers[k]);
    }
    cq_ws_free(&host);
    cq_ws_free(&a.ws);
}
