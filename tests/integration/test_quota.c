/* Nobody fills the server for everyone: games per address, empty lobbies
 * that close (and stay closed after a restart), host connections per game
 * and a game's log, each at a test-sized limit, over real WebSockets. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "play.h"

static void stop(void)
{
    cq_harness_stop(&h);
}

static void start_with(const char *const *args)
{
    cr_assert_eq(cq_harness_start(&h, false, args), 0, "server did not start; see %s", h.log_path);
}

#define XFF(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Connects through a trusted "proxy" as the client address in `xff`. */
static void open_as(struct cq_ws *ws, const char *const *xff)
{
    cr_assert_eq(cq_ws_connect_headers(ws, h.http_port, xff, NULL), 0);
    json_t *m = cq_ws_expect(ws, "welcome", WAIT_MS);
    cr_assert_not_null(m);
    json_decref(m);
}

static json_t *create_msg(void)
{
    return json_pack("{s:s, s:s}", "type", "create_game", "bank", "mini");
}

/* ---- games per address ------------------------------------------------ */

Test(quota, live_games_per_address, .fini = stop, .timeout = 120)
{
    start_with((const char *const[]){"--trusted-proxies", "127.0.0.1", "--games-per-ip", "3",
                                     "--games-per-min", "100", NULL});
    struct cq_ws a[4], b;
    struct player p;
    for (int i = 0; i < 3; i++) {
        open_as(&a[i], XFF("X-Forwarded-For: 203.0.113.1"));
        json_decref(client_req(&a[i], create_msg(), "joined"));
    }
    /* The fourth from the same address is refused, clearly... */
    open_as(&a[3], XFF("X-Forwarded-For: 203.0.113.1"));
    client_err(&a[3], create_msg(), "too_many_games");
    /* ...while another address still creates. */
    open_as(&b, XFF("X-Forwarded-For: 203.0.113.2"));
    json_t *j = client_req(&b, create_msg(), "joined");
    json_decref(j);
    /* An ended game no longer counts: the address may create again. */
    json_t *st = client_expect(&a[0], "state");
    char pin[8];
    snprintf(pin, sizeof pin, "%s", jstr(st, "pin"));
    json_decref(st);
    client_open(&p.ws, &h);
    json_decref(client_req(
        &p.ws, json_pack("{s:s, s:s, s:s}", "type", "join", "pin", pin, "nickname", "Ann"),
        "joined"));
    host_cmd(&a[0], "end");
    json_decref(client_req(&a[3], create_msg(), "joined"));
    char body[8192];
    cr_assert_eq(cq_http_get(h.http_port, "/metrics", body, sizeof body), 200);
    cr_assert(strstr(body, "chainquiz_refused_games_total 1\n"), "%s", body);
    for (int i = 0; i < 4; i++)
        cq_ws_free(&a[i]);
    cq_ws_free(&b);
    cq_ws_free(&p.ws);
}

Test(quota, games_created_per_minute_per_address, .fini = stop, .timeout = 120)
{
    start_with((const char *const[]){"--games-per-min", "2", "--games-per-ip", "0", NULL});
    struct cq_ws ws[3];
    for (int i = 0; i < 2; i++) {
        client_open(&ws[i], &h);
        json_decref(client_req(&ws[i], create_msg(), "joined"));
    }
    client_open(&ws[2], &h);
    client_err(&ws[2], create_msg(), "too_many_creates");
    for (int i = 0; i < 3; i++)
        cq_ws_free(&ws[i]);
}

/* ---- empty lobbies -------------------------------------------------- */

Test(quota, a_game_nobody_joins_closes, .fini = stop, .timeout = 120)
{
    start_with((const char *const[]){"--empty-lobby-timeout", "1", "--games-per-ip", "1", NULL});
    struct cq_ws host, again;
    char pin[8], token[80], out[64] = "";
    json_t *st = create(&host, json_pack("{s:s}", "bank", "mini"), pin, token);
    char game_id[40];
    snprintf(game_id, sizeof game_id, "%s", jstr(st, "game_id"));
    json_decref(st);
    /* The event, not a sleep: the host is told the game is gone. */
    json_decref(client_expect(&host, "closed"));
    char needle[64];
    snprintf(needle, sizeof needle, "game %s closed", pin);
    cr_assert_eq(cq_log_count(&h, needle), 1);
    client_err(&host, json_pack("{s:s, s:s, s:s}", "type", "rejoin", "pin", pin, "token", token),
               "no_game");
    /* Its place for the address is free again, and it is not listed for a
     * restart. */
    client_open(&again, &h);
    json_decref(client_req(&again, create_msg(), "joined"));
    cq_redis_cmd(&h, out, sizeof out, "SISMEMBER cq:live %s", game_id);
    cr_assert_str_eq(out, "0");
    cq_ws_free(&host);
    cq_ws_free(&again);
}

/* Killed while an empty game waits; started again once its time has run
 * out by the wall clock: the game is not brought back. */
Test(quota, an_empty_game_past_its_time_is_not_resumed, .fini = stop, .timeout = 120)
{
    const char *const args[] = {"--empty-lobby-timeout", "3", NULL};
    start_with(args);
    struct cq_ws host;
    char pin[8], token[80], out[64] = "";
    json_t *st = create(&host, json_pack("{s:s}", "bank", "mini"), pin, token);
    char game_id[40];
    snprintf(game_id, sizeof game_id, "%s", jstr(st, "game_id"));
    json_decref(st);
    for (int i = 0; i < 50 && strcmp(out, "1"); i++) {
        usleep(20000);
        cq_redis_cmd(&h, out, sizeof out, "SISMEMBER cq:live %s", game_id);
    }
    cr_assert_str_eq(out, "1", "the game is not listed as live");
    cr_assert_eq(kill(h.server_pid, SIGKILL), 0);
    cr_assert_neq(cq_harness_wait(h.server_pid, 5000), -1);
    h.server_pid = -1;
    cq_ws_free(&host);
    /* The game id ends with its creation time: wait until the timeout has
     * passed by the wall clock (the condition, not a fixed delay). */
    long long created = atoll(strchr(game_id, '-') + 1);
    while ((long long)time(NULL) < created + 4)
        usleep(50000);
    cr_assert_eq(cq_harness_start_server(&h, args), 0, "no restart; see %s", h.log_path);
    cr_assert_eq(cq_log_count(&h, "within the empty-lobby timeout; not resumed"), 1);
    client_open(&host, &h);
    client_err(&host, json_pack("{s:s, s:s, s:s}", "type", "rejoin", "pin", pin, "token", token),
               "no_game");
    cq_redis_cmd(&h, out, sizeof out, "SISMEMBER cq:live %s", game_id);
    cr_assert_str_eq(out, "0");
    cq_ws_free(&host);
}

/* ---- caps of one game ------------------------------------------------- */

Test(quota, host_connections_per_game, .fini = stop, .timeout = 120)
{
    start_with((const char *const[]){"--max-hosts-per-game", "2", NULL});
    struct cq_ws host, second, third;
    char pin[8], token[80];
    json_decref(create(&host, json_pack("{s:s}", "bank", "mini"), pin, token));
    json_t *rejoin = json_pack("{s:s, s:s, s:s}", "type", "rejoin", "pin", pin, "token", token);
    client_open(&second, &h);
    json_decref(client_req(&second, json_deep_copy(rejoin), "joined"));
    client_open(&third, &h);
    client_err(&third, json_deep_copy(rejoin), "too_many_hosts");
    /* Once a host connection is gone, another may take its place. */
    cq_ws_free(&second);
    json_t *r = NULL;
    for (int i = 0; i < 50; i++) {
        cr_assert_eq(cq_ws_send_json(&third, json_deep_copy(rejoin)), 0);
        r = cq_ws_recv(&third, WAIT_MS);
        cr_assert_not_null(r);
        if (!strcmp(jstr(r, "type"), "joined"))
            break;
        cr_assert_str_eq(jstr(r, "code"), "too_many_hosts");
        json_decref(r);
        r = NULL;
        usleep(20000);
    }
    cr_assert_not_null(r, "the closed host connection was never counted out");
    json_decref(r);
    json_decref(rejoin);
    cq_ws_free(&host);
    cq_ws_free(&third);
}

/* With change_answer on, changed answers could grow a full log without
 * bound: at the cap a first answer is still taken, a change is not. */
Test(quota, a_full_log_takes_first_answers_but_no_changes, .fini = stop, .timeout = 120)
{
    start_with((const char *const[]){"--max-log-entries", "100", "--msgs-per-sec", "10000",
                                     "--msgs-burst", "100000", NULL});
    struct cq_ws host;
    struct player a, b;
    char pin[8], token[80];
    json_decref(create(&host,
                       json_pack("{s:s, s:s, s:i, s:b, s:[s]}", "bank", "mini", "scoring",
                                 "accuracy", "count", 1, "change_answer", 1, "tags", "single"),
                       pin, token));
    join(&a, pin, "Ann");
    join(&b, pin, "Bob");
    /* Fill the log to its cap with real changes (lock, unlock, ...). */
    for (int n = 0;; n++) {
        cr_assert_lt(n, 200, "the log never filled");
        cr_assert_eq(
            cq_ws_send_json(&host, json_pack("{s:s, s:b}", "type", "lock", "locked", !(n % 2))), 0);
        bool full = false, replied = false;
        while (!replied) { /* the lock's reply, past the screens' updates */
            json_t *r = cq_ws_recv(&host, WAIT_MS);
            cr_assert_not_null(r, "no reply to lock");
            replied = !strcmp(jstr(r, "type"), "ok") || !strcmp(jstr(r, "type"), "error");
            full = !strcmp(jstr(r, "type"), "error");
            if (full)
                cr_assert_str_eq(jstr(r, "code"), "log_full");
            json_decref(r);
        }
        if (full)
            break;
    }
    host_cmd(&host, "start");
    json_decref(see_question(&a, 0));
    json_decref(see_question(&b, 0));
    answer(&a, 0, json_integer(1)); /* a first answer: taken */
    client_err(&a.ws, json_pack("{s:s, s:i, s:i}", "type", "answer", "question", 0, "answer", 0),
               "log_full");
    answer(&b, 0, json_integer(0));
    json_t *r = client_expect(&a.ws, "result");
    cr_assert(json_is_false(json_object_get(r, "correct")), "the first answer stands");
    json_decref(r);
    cq_ws_free(&host);
    cq_ws_free(&a.ws);
    cq_ws_free(&b.ws);
}

/* At the log's cap: joins and repeatable host commands are refused, the
 * game is still played to its end and no answer is lost. */
Test(quota, a_full_log_refuses_joins_but_keeps_every_answer, .fini = stop, .timeout = 120)
{
    start_with((const char *const[]){"--max-log-entries", "100", "--msgs-per-sec", "10000",
                                     "--msgs-burst", "100000", NULL});
    struct cq_ws host;
    struct player a, late;
    char pin[8], token[80], log[16384];
    json_t *st = create(
        &host, json_pack("{s:s, s:s, s:i}", "bank", "mini", "scoring", "accuracy", "count", 1), pin,
        token);
    char game_id[40];
    snprintf(game_id, sizeof game_id, "%s", jstr(st, "game_id"));
    json_decref(st);
    join(&a, pin, "Ann");
    /* Locking a locked game is not logged: it cannot fill the log. */
    for (int i = 0; i < 150; i++)
        json_decref(client_req(&host, json_pack("{s:s, s:b}", "type", "lock", "locked", 0), "ok"));
    /* Each real change is one entry: 1 join + 100 locks and unlocks. */
    int n = 0;
    for (; n < 100; n++) {
        json_t *r = client_req(&host, json_pack("{s:s, s:b}", "type", "lock", "locked", !(n % 2)),
                               n < 99 ? "ok" : "error");
        if (n == 99)
            cr_assert_str_eq(jstr(r, "code"), "log_full");
        json_decref(r);
    }
    client_err(&host, json_pack("{s:s, s:b}", "type", "lock", "locked", 0), "log_full");
    client_open(&late.ws, &h);
    client_err(&late.ws, json_pack("{s:s, s:s, s:s}", "type", "join", "pin", pin, "nickname", "Z"),
               "log_full");
    /* What takes the game to its end still works, and the answer counts. */
    host_cmd(&host, "start");
    json_t *q = see_question(&a, 0);
    bool tf = !strcmp(jstr(q, "qtype"), "truefalse");
    json_decref(q);
    client_err(&host, json_pack("{s:s, s:i}", "type", "add_time", "seconds", 5), "log_full");
    client_err(&host, json_pack("{s:s}", "type", "pause"), "log_full");
    answer(&a, 0, tf ? json_true() : json_integer(0));
    json_decref(client_expect(&a.ws, "result"));
    host_cmd(&host, "next");
    cr_assert_eq(cq_ws_send_json(&host, json_pack("{s:s}", "type", "next")), 0);
    json_t *end = client_expect(&host, "ended");
    json_t *top = json_array_get(json_object_get(end, "podium"), 0);
    cr_assert_str_eq(jstr(top, "nickname"), "Ann");
    json_decref(end);
    /* The answer is in the game's log too. */
    log[0] = '\0';
    char want[32];
    snprintf(want, sizeof want, "\"answer\"");
    for (int i = 0; i < 50 && !strstr(log, want); i++) {
        usleep(20000);
        cq_redis_cmd(&h, log, sizeof log, "LRANGE cq:game:%s:log -20 -1", game_id);
    }
    cr_assert(strstr(log, want), "%s", log);
    cq_ws_free(&host);
    cq_ws_free(&a.ws);
    cq_ws_free(&late.ws);
}

/* ---- work per address, and replies encoded once --------------------- */

static double metric(const char *name)
{
    static char body[1 << 16];
    cr_assert_eq(cq_http_get(h.http_port, "/metrics", body, sizeof body), 200);
    size_t n = strlen(name);
    for (const char *line = body; line && *line; line = strchr(line, '\n'), line += !!line)
        if (!strncmp(line, name, n) && line[n] == ' ')
            return strtod(line + n + 1, NULL);
    cr_assert_fail("no sample %s", name);
    return -1;
}

Test(quota, costly_messages_are_budgeted_per_address, .fini = stop, .timeout = 120)
{
    start_with((const char *const[]){"--trusted-proxies", "127.0.0.1", "--work-per-sec", "1",
                                     "--work-burst", "3", NULL});
    struct cq_ws a1, a2, b;
    open_as(&a1, XFF("X-Forwarded-For: 203.0.113.1"));
    open_as(&a2, XFF("X-Forwarded-For: 203.0.113.1"));
    open_as(&b, XFF("X-Forwarded-For: 203.0.113.2"));
    /* The budget is the address's, whichever of its connections asks. */
    json_t *first =
        client_req(&a1, json_pack("{s:s, s:i}", "type", "list_banks", "id", 7), "banks");
    cr_assert_eq(jint(first, "id"), 7);
    json_t *plain = client_req(&a1, json_pack("{s:s}", "type", "list_banks"), "banks");
    cr_assert_null(json_object_get(plain, "id"));
    /* The same list, from the cache, with and without the request's id. */
    cr_assert(json_equal(json_object_get(first, "banks"), json_object_get(plain, "banks")));
    json_decref(first);
    json_decref(plain);
    json_decref(client_req(&a2, json_pack("{s:s}", "type", "list_banks"), "banks"));
    json_t *e = client_req(&a2, json_pack("{s:s, s:s}", "type", "list_banks", "id", "x"), "error");
    cr_assert_str_eq(jstr(e, "code"), "rate_limited");
    cr_assert_str_eq(jstr(e, "id"), "x");
    json_decref(e);
    /* Another address is not slowed down... */
    json_decref(client_req(&b, json_pack("{s:s}", "type", "list_banks"), "banks"));
    /* ...and cheap messages of the first still go through. */
    json_decref(client_req(&a1, json_pack("{s:s}", "type", "ping"), "pong"));
    cr_assert_eq(metric("chainquiz_refused_work_total"), 1);
    cq_ws_free(&a1);
    cq_ws_free(&a2);
    cq_ws_free(&b);
}

/* A pupil flooding costly messages from the class's address spends the
 * address's budget, but a classmate's join on a new connection is still
 * served: every connection keeps one costly message a second of its own
 * (an attack from the documents locked a class out this way). */
Test(quota, a_flood_from_the_address_does_not_refuse_a_classmates_join, .fini = stop,
     .timeout = 120)
{
    start_with((const char *const[]){"--work-per-sec", "1", "--work-burst", "3", "--msgs-per-sec",
                                     "10000", "--msgs-burst", "100000", NULL});
    struct cq_ws host, flood, mate[3];
    char pin[8], token[80];
    json_decref(create(&host, json_pack("{s:s}", "bank", "mini"), pin, token));
    client_open(&flood, &h);
    for (int i = 0; i < 20; i++)
        cr_assert_eq(cq_ws_send_json(&flood, json_pack("{s:s}", "type", "list_banks")), 0);
    int refused = 0;
    for (int i = 0; i < 20; i++) {
        json_t *r = cq_ws_recv(&flood, WAIT_MS);
        cr_assert_not_null(r, "reply %d", i);
        if (!strcmp(jstr(r, "type"), "error")) {
            cr_assert_str_eq(jstr(r, "code"), "rate_limited");
            refused++;
        }
        json_decref(r);
    }
    cr_assert_geq(refused, 15, "the flood was not refused (%d)", refused);
    for (int i = 0; i < 3; i++) {
        char nick[16];
        snprintf(nick, sizeof nick, "mate%d", i);
        client_open(&mate[i], &h);
        json_decref(client_req(
            &mate[i], json_pack("{s:s, s:s, s:s}", "type", "join", "pin", pin, "nickname", nick),
            "joined"));
    }
    cq_ws_free(&host);
    cq_ws_free(&flood);
    for (int i = 0; i < 3; i++)
        cq_ws_free(&mate[i]);
}

Test(quota, screens_share_one_state_per_change, .fini = stop, .timeout = 120)
{
    start_with(NULL);
    struct cq_ws host, spec[3];
    struct player a;
    char pin[8], token[80];
    json_decref(create(&host, json_pack("{s:s}", "bank", "mini"), pin, token));
    json_t *watch = json_pack("{s:s, s:s, s:s}", "type", "watch", "pin", pin, "token", watch_token);
    double before = metric("chainquiz_state_encodes_total");
    for (int i = 0; i < 2; i++) {
        client_open(&spec[i], &h);
        json_decref(client_req(&spec[i], json_deep_copy(watch), "joined"));
        json_decref(client_expect(&spec[i], "state"));
    }
    cr_assert_eq(metric("chainquiz_state_encodes_total"), before + 1, "one encoding for both");
    /* A change of the game: the next screen gets the new state. */
    join(&a, pin, "Ann");
    client_open(&spec[2], &h);
    json_decref(client_req(&spec[2], json_deep_copy(watch), "joined"));
    json_t *st = client_expect(&spec[2], "state");
    cr_assert_eq(json_array_size(json_object_get(st, "list")), 1);
    json_decref(st);
    cr_assert_eq(metric("chainquiz_state_encodes_total"), before + 2);
    /* The host's state after a rejoin is the same shared one. */
    struct cq_ws host2;
    client_open(&host2, &h);
    json_decref(client_req(
        &host2, json_pack("{s:s, s:s, s:s}", "type", "rejoin", "pin", pin, "token", token),
        "joined"));
    st = client_expect(&host2, "state");
    cr_assert_eq(json_array_size(json_object_get(st, "list")), 1);
    json_decref(st);
    cr_assert_eq(metric("chainquiz_state_encodes_total"), before + 2);
    json_decref(watch);
    for (int i = 0; i < 3; i++)
        cq_ws_free(&spec[i]);
    cq_ws_free(&host);
    cq_ws_free(&host2);
    cq_ws_free(&a.ws);
}
