/* Every server message built without a socket: a whole game of the test bank
 * (one question of each type) played through the room with a fake clock, and
 * each message wire.h builds at each phase, for the host, a player and a
 * screen. Each message is logged for server_messages_agree, which validates
 * it against protocol/schema/server/ (tests/support/wirelog.h); the tests
 * here check what the schemas cannot: the values. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "content.h"
#include "cq_proto.h"
#include "room.h"
#include "wire.h"
#include "wirelog.h"

#define S(x)    ((int64_t)(x)*1000000LL)
#define GAME_ID "123456-1765100000000" /* PIN-creation time, as the server names games */

static struct cq_bankset banks;
static struct cq_room *room;
static struct cq_player *ann, *ben, *cy;
static int64_t now;
static unsigned built; /* messages built and logged by this test */

static void on_emit(void *ud, struct cq_room *r, const struct cq_event *ev)
{
    (void)ud, (void)r, (void)ev;
}

static const struct cq_room_hooks hooks = {on_emit, NULL, NULL};

/* Logs `m` for the schema check, checks its type, and hands it back. */
static json_t *seen(json_t *m, const char *type)
{
    cr_assert_not_null(m, "no %s built", type);
    const char *t = json_string_value(json_object_get(m, "type"));
    if (t) /* the record and the parts (settings, player) have no type */
        cr_assert_str_eq(t, type);
    char *text = json_dumps(m, JSON_COMPACT);
    cr_assert_not_null(text);
    if (t)
        cq_wire_log(text, strlen(text));
    free(text);
    built++;
    return m;
}

static void setup(void)
{
    struct cq_content_errors errs = {0};
    cr_assert_eq(cq_bankset_load_dir(CQ_SOURCE_DIR "/tests/fixtures/content", &banks, &errs), 0);
    const struct cq_bank *bank = cq_bankset_find(&banks, "mini");
    cr_assert_not_null(bank);
    unsigned q[CQ_OPTIONS_MAX * 2], n = (unsigned)bank->n_questions;
    for (unsigned i = 0; i < n; i++)
        q[i] = i;
    struct cq_room_settings set;
    cq_room_settings_default(&set);
    now = S(100);
    room = cq_room_create(bank, q, n, &set, "123456", "hosttoken", 7, now, &hooks, NULL);
    cr_assert_not_null(room);
    cr_assert_eq(cq_room_join(room, "Ann", "t-ann", now, &ann), 0);
    cr_assert_eq(cq_room_join(room, "Ben", "t-ben", now, &ben), 0);
    cr_assert_eq(cq_room_join(room, "Cy", "t-cy", now, &cy), 0);
}

static void teardown(void)
{
    cq_room_free(room);
    cq_bankset_free(&banks);
}

TestSuite(wire, .init = setup, .fini = teardown);

/* An answer Ann gives to question k: the first option, true, or a word. */
static struct cq_answer first_answer(const struct cq_question *q)
{
    struct cq_answer a = {0};
    switch (q->type) {
    case CQ_Q_MULTI:
        a.kind = CQ_ANSWER_CHOICES;
        a.n_items = 1;
        break;
    case CQ_Q_ORDERING:
        a.kind = CQ_ANSWER_CHOICES;
        a.n_items = q->n_options;
        for (unsigned i = 0; i < q->n_options; i++)
            a.items[i] = (int)i;
        break;
    case CQ_Q_TRUEFALSE:
        a.kind = CQ_ANSWER_BOOL;
        a.value = true;
        break;
    case CQ_Q_TYPEANSWER:
        a.kind = CQ_ANSWER_TEXT;
        a.text = q->accepted[0];
        break;
    default:
        a.kind = CQ_ANSWER_CHOICE;
        break;
    }
    return a;
}

/* Moves the clock to the room's next deadline and lets it act. */
static void tick(void)
{
    int64_t d = cq_room_next_deadline(room);
    cr_assert_gt(d, 0, "nothing to wait for");
    now = d > now ? d : now;
    cq_room_tick(room, now);
}

static void states(void)
{
    json_decref(seen(cq_wire_state(room, GAME_ID, CQ_ROLE_HOST, NULL, now), "state"));
    json_decref(seen(cq_wire_state(room, GAME_ID, CQ_ROLE_SPECTATOR, NULL, now), "state"));
    json_decref(seen(cq_wire_state(room, GAME_ID, CQ_ROLE_PLAYER, ann, now), "state"));
    json_decref(seen(cq_wire_state(room, GAME_ID, CQ_ROLE_PLAYER, cy, now), "state"));
}

Test(wire, a_whole_game_builds_every_message)
{
    struct cq_limits lim = {0};
    cq_limits_default(&lim);
    json_decref(seen(cq_wire_welcome(&lim), "welcome"));
    json_decref(seen(cq_wire_banks(&banks), "banks"));
    states();
    cr_assert_eq(cq_room_start(room, now), 0);
    unsigned n = cq_room_n_questions(room), asked = 0;
    while (cq_room_phase(room) != CQ_PHASE_ENDED) {
        enum cq_phase ph = cq_room_phase(room);
        states();
        if (ph == CQ_PHASE_QUESTION) {
            while (cq_room_lead_remaining_us(room, now) > 0)
                tick();
            int k = cq_room_current(room);
            json_decref(seen(cq_wire_question(room, now), "question"));
            json_decref(seen(cq_wire_unanswered(room, CQ_UNANSWERED_MAX), "unanswered"));
            cr_assert_eq(cq_room_pause(room, now), 0);
            json_decref(seen(cq_wire_timing(room, "paused", now), "paused"));
            now += S(3);
            cr_assert_eq(cq_room_resume(room, now), 0);
            json_decref(seen(cq_wire_timing(room, "resumed", now), "resumed"));
            cr_assert_eq(cq_room_add_time(room, 10, now), 0);
            json_decref(seen(cq_wire_timing(room, "time_added", now), "time_added"));
            struct cq_answer a = first_answer(cq_room_question(room, k));
            int64_t t;
            now += S(1);
            cr_assert_eq(cq_room_answer(room, ann, k, &a, now, &t), 0, "question %d", k);
            states();
            /* Ben and Cy never answer: the time runs out. */
            while (cq_room_phase(room) == CQ_PHASE_QUESTION)
                tick();
            asked++;
        } else if (ph == CQ_PHASE_REVEAL) {
            json_decref(seen(cq_wire_reveal(room), "reveal"));
            json_decref(seen(cq_wire_result(room, ann), "result"));
            json_decref(seen(cq_wire_result(room, ben), "result"));
            cr_assert_eq(cq_room_next(room, now), 0);
        } else if (ph == CQ_PHASE_LEADERBOARD) {
            json_decref(seen(cq_wire_leaderboard(room, 10), "leaderboard"));
            cr_assert_eq(cq_room_next(room, now), 0);
        } else {
            cr_assert_fail("phase %d", ph);
        }
    }
    cr_assert_eq(asked, n);
    states();
    json_decref(seen(cq_wire_ended(room, GAME_ID), "ended"));
    json_decref(seen(cq_wire_summary(room, ann), "summary"));
    json_decref(seen(cq_wire_summary(room, cy), "summary"));
    /* The record is built in parts (a large game's over several loop
     * iterations, session.c end_slice): its head, each player's entry
     * appended to one buffer, spliced. The same bytes as the whole record,
     * which is valid against its schema. */
    json_t *rec = cq_wire_record_head(room, GAME_ID, 1, 2, "digest");
    json_t *head = json_deep_copy(rec);
    struct cq_proto_buf players = {0};
    unsigned np;
    struct cq_player *const *all = cq_room_players(room, &np);
    for (unsigned i = 0; i < np; i++) {
        json_t *e = cq_wire_record_player(room, all[i]);
        cr_assert_eq(cq_proto_append(&players, e, ','), 0);
        json_array_append_new(json_object_get(rec, "players"), e);
    }
    rec = seen(rec, "record");
    cr_assert_eq(json_array_size(json_object_get(rec, "questions")), n);
    cr_assert_eq(json_array_size(json_object_get(rec, "players")), 3);
    size_t whole_len, head_len, len;
    char *whole = cq_proto_dump(rec, 0, &whole_len);
    char *head_text = cq_proto_dump(head, 0, &head_len);
    char *spliced = cq_wire_record_splice(head_text, head_len, players.b, players.len, &len);
    cr_assert_not_null(spliced);
    cr_assert_eq(len, whole_len);
    cr_assert_str_eq(spliced, whole);
    char *none = cq_wire_record_splice(head_text, head_len, "", 0, &len);
    cr_assert_str_eq(none + len - 13, "\"players\":[]}", "no players: %s", none + len - 13);
    cr_assert_null(cq_wire_record_splice("{}", 2, "", 0, &len), "a head without its players");
    free(none);
    free(spliced);
    free(head_text);
    free(whole);
    cq_proto_buf_free(&players);
    json_decref(head);
    json_decref(rec);
    cr_log_info("%u messages built", built);
}

/* The player list goes to the host and screens only; a phone's lobby shows
 * the last names that joined, never its own. */
Test(wire, only_hosts_and_screens_get_the_player_list)
{
    json_t *host = seen(cq_wire_state(room, GAME_ID, CQ_ROLE_HOST, NULL, now), "state");
    json_t *phone = seen(cq_wire_state(room, GAME_ID, CQ_ROLE_PLAYER, ann, now), "state");
    cr_assert_eq(json_array_size(json_object_get(host, "list")), 3);
    cr_assert_null(json_object_get(phone, "list"));
    json_t *recent = json_object_get(phone, "recent");
    cr_assert_eq(json_array_size(recent), 2);
    cr_assert_str_eq(json_string_value(json_array_get(recent, 0)), "Ben");
    cr_assert_str_eq(json_string_value(json_array_get(recent, 1)), "Cy");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(phone, "you"), "nickname")),
                     "Ann");
    json_decref(host);
    json_decref(phone);
}

/* `remaining_ms` rounds up: a client never shows 0 while answers are taken. */
Test(wire, remaining_time_rounds_up)
{
    cr_assert_eq(cq_room_start(room, now), 0);
    while (cq_room_lead_remaining_us(room, now) > 0)
        tick();
    int64_t left = cq_room_remaining_us(room, now);
    now += left - 1; /* one microsecond left */
    json_t *q = seen(cq_wire_question(room, now), "question");
    cr_assert_eq(json_integer_value(json_object_get(q, "remaining_ms")), 1);
    json_decref(q);
}

/* `unanswered` names the first `cap` by name and counts them all. */
Test(wire, unanswered_is_capped_and_counted)
{
    cr_assert_eq(cq_room_start(room, now), 0);
    while (cq_room_lead_remaining_us(room, now) > 0)
        tick();
    json_t *u = seen(cq_wire_unanswered(room, 2), "unanswered");
    cr_assert_eq(json_integer_value(json_object_get(u, "count")), 3);
    cr_assert_eq(json_array_size(json_object_get(u, "players")), 2);
    cr_assert_eq(json_integer_value(json_object_get(u, "more")), 1);
    json_decref(u);
}

/* The host's `state` of a full hall: 20,000 players (the default
 * max_players) with 20-letter names is over the 1 MiB --send-queue-bytes,
 * which is why a message with nothing queued ahead of it is never refused
 * (server/net/conn.c; test_listen sends one over the limit end to end). */
Test(wire, host_state_of_a_full_hall)
{
    enum { HALL = 20000 };
    struct cq_room_settings set;
    cq_room_settings_default(&set);
    set.max_players = HALL;
    const struct cq_bank *bank = cq_bankset_find(&banks, "mini");
    unsigned q[1] = {0};
    struct cq_room *big = cq_room_create(bank, q, 1, &set, "654321", "t", 1, now, &hooks, NULL);
    cr_assert_not_null(big);
    for (unsigned i = 0; i < HALL; i++) {
        char nick[32], token[32];
        struct cq_player *p;
        snprintf(nick, sizeof nick, "Player number %06u", i); /* 20 letters */
        snprintf(token, sizeof token, "t%u", i);
        cr_assert_eq(cq_room_join(big, nick, token, now, &p), 0, "player %u", i);
    }
    json_t *st = seen(cq_wire_state(big, GAME_ID, CQ_ROLE_HOST, NULL, now), "state");
    char *text = json_dumps(st, JSON_COMPACT);
    size_t len = strlen(text);
    cr_log_info("host state of %d players: %zu bytes", HALL, len);
    cr_assert_eq(json_array_size(json_object_get(st, "list")), HALL);
    cr_assert_gt(len, 1u << 20);
    cr_assert_lt(len, 2u << 20);
    free(text);
    json_decref(st);
    cq_room_free(big);
}
