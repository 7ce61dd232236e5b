/* play.h: playing roles in a game on the harness's server, with the checks
 * every test wants (scores add up, replies match). Include in one test file
 * per executable: it defines the harness the helpers use. */
#ifndef CQ_TEST_PLAY_H
#define CQ_TEST_PLAY_H

#include <stdio.h>
#include <string.h>

#include "client.h"

static struct cq_harness h;
/* The watch token of the last game made with create(): for `watch`. */
static char watch_token[80];

struct player {
    struct cq_ws ws;
    char token[80];
    long long id;
    long long earned; /* sum of points + bonus from `result` messages */
};

/* The group secret the last create() got (when it made a new group), or "". */
static char created_group_secret[80];

static inline json_t *create(struct cq_ws *host, json_t *settings, char *pin, char *token)
{
    client_open(host, &h);
    json_object_set_new(settings, "type", json_string("create_game"));
    json_object_set_new(settings, "id", json_string("c1"));
    json_t *j = client_req(host, settings, "joined");
    cr_assert_str_eq(jstr(j, "id"), "c1");
    cr_assert_str_eq(jstr(j, "role"), "host");
    snprintf(pin, 8, "%s", jstr(j, "pin"));
    snprintf(token, 80, "%s", jstr(j, "token"));
    json_t *gs = json_object_get(j, "group_secret");
    snprintf(created_group_secret, sizeof created_group_secret, "%s",
             gs ? json_string_value(gs) : "");
    snprintf(watch_token, sizeof watch_token, "%s", jstr(j, "watch_token"));
    cr_assert_geq(strlen(watch_token), 32);
    cr_assert_eq(strlen(pin), 6);
    cr_assert_geq(strlen(token), 32);
    json_decref(j);
    return client_expect(host, "state");
}

static inline void join(struct player *p, const char *pin, const char *nick)
{
    client_open(&p->ws, &h);
    json_t *j = client_req(
        &p->ws, json_pack("{s:s, s:s, s:s}", "type", "join", "pin", pin, "nickname", nick),
        "joined");
    snprintf(p->token, sizeof p->token, "%s", jstr(j, "token"));
    p->id = jint(json_object_get(j, "player"), "id");
    json_decref(j);
    json_t *st = client_expect(&p->ws, "state");
    cr_assert_str_eq(jstr(st, "phase"), "lobby");
    json_decref(st);
    p->earned = 0;
}

/* Waits for the question, reports it shown, returns it. */
static inline json_t *see_question(struct player *p, int index)
{
    json_t *q = client_expect(&p->ws, "question");
    cr_assert_eq(jint(q, "index"), index);
    cr_assert_eq(
        cq_ws_send_json(&p->ws, json_pack("{s:s, s:i}", "type", "shown", "question", index)), 0);
    return q;
}

static inline void answer(struct player *p, int index, json_t *value)
{
    json_t *ack = client_req(
        &p->ws, json_pack("{s:s, s:i, s:o}", "type", "answer", "question", index, "answer", value),
        "answer_ack");
    cr_assert_eq(jint(ack, "index"), index);
    json_decref(ack);
}

/* Reads the result and checks its points against what the rules allow. */
static inline json_t *result(struct player *p, int index, bool correct, int multiplier)
{
    json_t *r = client_expect(&p->ws, "result");
    cr_assert_eq(jint(r, "index"), index);
    cr_assert_eq(json_is_true(json_object_get(r, "correct")), correct, "question %d", index);
    long long pts = jint(r, "points");
    if (correct && multiplier) {
        cr_assert(pts >= 500 * multiplier && pts <= 1000 * multiplier, "points %lld", pts);
    } else {
        cr_assert_eq(pts, 0);
    }
    p->earned += pts + jint(r, "bonus");
    cr_assert_eq(jint(r, "score"), p->earned);
    return r;
}

static inline void host_cmd(struct cq_ws *host, const char *type)
{
    json_t *ok = client_req(host, json_pack("{s:s}", "type", type), "ok");
    cr_assert_str_eq(jstr(ok, "of"), type);
    json_decref(ok);
}

#endif
