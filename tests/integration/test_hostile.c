/* Hostile clients against the real server. After each attack, a game in
 * progress on the same server must still finish with the right scores. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"

static struct cq_harness h;
static struct cq_ws host, player;
static char pin[8];

/* A game with one player, waiting on its first question. */
static void start(void)
{
    cr_assert_eq(cq_harness_start(&h, false, NULL), 0, "server did not start; see %s", h.log_path);
    client_open(&host, &h);
    json_t *j = client_req(
        &host,
        json_pack("{s:s, s:s, s:i}", "type", "create_game", "bank", "mini", "time_limit", 60),
        "joined");
    snprintf(pin, sizeof pin, "%s", jstr(j, "pin"));
    json_decref(j);
    client_open(&player, &h);
    json_decref(client_req(
        &player, json_pack("{s:s, s:s, s:s}", "type", "join", "pin", pin, "nickname", "honest"),
        "joined"));
    json_decref(client_req(&host, json_pack("{s:s}", "type", "start"), "ok"));
    json_decref(client_expect(&player, "question"));
}

/* The game goes on: the honest player's right answer scores. */
static void finish(void)
{
    json_t *ack = client_req(
        &player, json_pack("{s:s, s:i, s:i}", "type", "answer", "question", 0, "answer", 0),
        "answer_ack");
    json_decref(ack);
    json_t *r = client_expect(&player, "result");
    cr_assert(json_is_true(json_object_get(r, "correct")));
    cr_assert_geq(jint(r, "score"), 500);
    json_decref(r);
    cq_ws_free(&host);
    cq_ws_free(&player);
    cq_harness_stop(&h);
}

TestSuite(hostile, .init = start, .fini = finish, .timeout = 60);

static void expect_error(struct cq_ws *ws, const char *code)
{
    json_t *e = client_expect(ws, "error");
    cr_assert_str_eq(jstr(e, "code"), code);
    json_decref(e);
}

Test(hostile, garbage_binary_and_oversized_frames)
{
    struct cq_ws x;
    client_open(&x, &h);
    cq_ws_send_text(&x, "this is not json");
    expect_error(&x, "bad_json");
    cq_ws_send_text(&x, "[1,2,3]");
    expect_error(&x, "not_object");
    cq_ws_send_frame(&x, 0x2, true, "\x01\x02", 2);
    expect_error(&x, "binary_frame");
    char *big = malloc(5001);
    memset(big, ' ', 5000);
    big[0] = '{';
    big[4999] = '}';
    big[5000] = '\0';
    cq_ws_send_text(&x, big);
    expect_error(&x, "too_large");
    /* The same message in fragments is refused the same way. */
    cq_ws_send_frame(&x, 0x1, false, big, 3000);
    cq_ws_send_frame(&x, 0x0, true, big + 3000, 2000);
    expect_error(&x, "too_large");
    free(big);
    /* Still usable afterwards. */
    json_decref(client_req(&x, json_pack("{s:s, s:i}", "type", "ping", "id", 7), "pong"));
    cq_ws_free(&x);
}

Test(hostile, invalid_utf8_closes_with_1007)
{
    struct cq_ws x;
    client_open(&x, &h);
    cq_ws_send_text(&x, "{\"type\":\"join\",\"pin\":\"123456\",\"nickname\":\"\xff\xfe\"}");
    cr_assert(cq_ws_wait_closed(&x, WAIT_MS));
    cr_assert_eq(x.close_code, 1007, "close code %d", x.close_code);
    cq_ws_free(&x);
}

Test(hostile, message_flood_is_throttled_then_closed)
{
    struct cq_ws x;
    int limited = 0, pongs = 0;
    client_open(&x, &h);
    /* Read as we flood: once closed, what was unread may be lost to a reset. */
    for (int i = 0; i < 300 && !x.closed; i++) {
        cq_ws_send_text(&x, "{\"type\":\"ping\"}");
        for (json_t *m; (m = cq_ws_recv(&x, 0)); json_decref(m)) {
            const char *t = jstr(m, "type");
            pongs += !strcmp(t, "pong");
            limited += !strcmp(t, "error") && !strcmp(jstr(m, "code"), "rate_limited");
        }
    }
    for (json_t *m; (m = cq_ws_recv(&x, WAIT_MS)); json_decref(m)) {
        const char *t = jstr(m, "type");
        pongs += !strcmp(t, "pong");
        limited += !strcmp(t, "error") && !strcmp(jstr(m, "code"), "rate_limited");
    }
    cr_assert(x.closed);
    cr_assert_gt(pongs, 0, "the burst is served");
    cr_assert_gt(limited, 0);
    cr_assert_eq(x.close_code, 1008, "close code %d", x.close_code);
    cq_ws_free(&x);
}

Test(hostile, bad_messages_in_a_row_close_the_connection)
{
    struct cq_ws x;
    client_open(&x, &h);
    for (int i = 0; i < 10; i++)
        cq_ws_send_text(&x, "{\"type\":\"no_such_message\"}");
    cr_assert(cq_ws_wait_closed(&x, WAIT_MS));
    cr_assert_eq(x.close_code, 1008);
    cq_ws_free(&x);
}

Test(hostile, half_frames_and_abrupt_disconnects)
{
    for (int i = 0; i < 20; i++) {
        struct cq_ws x;
        client_open(&x, &h);
        /* A frame header announcing 1000 bytes, then 10 of them, then gone. */
        unsigned char partial[16] = {0x81, 0x80 | 126, 0x03, 0xe8, 1, 2, 3, 4, 'x', 'x'};
        cq_ws_send_raw(&x, partial, 10);
        cq_ws_free(&x);
    }
    /* Half an HTTP upgrade, then nothing: the handshake timeout deals with it. */
    struct cq_ws y;
    client_open(&y, &h);
    cq_ws_free(&y);
}

Test(hostile, player_cannot_use_host_commands_or_other_seats)
{
    const char *cmds[] = {"start", "next", "skip", "pause", "resume", "end"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        client_err(&player, json_pack("{s:s}", "type", cmds[i]), "forbidden");
    client_err(&player, json_pack("{s:s, s:i}", "type", "add_time", "seconds", 5), "forbidden");
    /* A guessed host token does not work. */
    struct cq_ws x;
    client_open(&x, &h);
    client_err(&x,
               json_pack("{s:s, s:s, s:s}", "type", "rejoin", "pin", pin, "token",
                         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
               "bad_token");
    cq_ws_free(&x);
}

Test(hostile, pin_guessing_is_cut_off_per_address)
{
    struct cq_ws x;
    int misses = 0, refused = 0;
    client_open(&x, &h);
    for (int i = 0; i < 40; i++) {
        char guess[8];
        /* Never the real PIN: walk away from it. */
        snprintf(guess, sizeof guess, "%06d", 100000 + (atoi(pin) - 100000 + 1 + i) % 900000);
        json_t *e = client_req(&x, json_pack("{s:s, s:s}", "type", "watch", "pin", guess), "error");
        const char *code = jstr(e, "code");
        if (!strcmp(code, "no_game"))
            misses++;
        else if (!strcmp(code, "too_many_attempts"))
            refused++;
        json_decref(e);
    }
    cr_assert_eq(misses, 30, "misses %d", misses);
    cr_assert_eq(misses + refused, 40, "misses %d, refused %d", misses, refused);
    /* Even the right PIN is refused from that address for now (after a
     * pause, so the per-connection message rate is not what refuses it). */
    usleep(200000);
    client_err(&x, json_pack("{s:s, s:s}", "type", "watch", "pin", pin), "too_many_attempts");
    cq_ws_free(&x);
}
