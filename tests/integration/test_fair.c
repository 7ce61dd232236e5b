/* A class and an attacker behind one NAT address, against the real server.
 *
 * Every client here connects from the loopback source address NAT: 30
 * honest pupils and one attacker share it, as a class behind a school's
 * router does. While the attacker guesses PINs as fast as it can, floods
 * idle sockets or joins bots, every pupil's join with the right PIN, rejoin
 * with its token and watch must succeed, and the guesser must be slowed. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

#define NAT       "127.0.0.9"
#define HOST_ADDR "127.0.0.2"
#define CLASS     30

static struct cq_harness h;
static struct cq_ws host;
static char pin[8], host_token[80], watch_token[80];

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long metric(const char *name)
{
    static char body[1 << 16];
    char key[96];
    cr_assert_eq(cq_http_get(h.http_port, "/metrics", body, sizeof body), 200);
    snprintf(key, sizeof key, "\n%s ", name);
    char *line = strstr(body, key);
    cr_assert_not_null(line, "no %s in /metrics", name);
    return atoll(line + strlen(key));
}

/* Waits (polling /metrics) until `name` reaches `at_least`. */
static void wait_metric(const char *name, long long at_least, int timeout_ms)
{
    int64_t until = now_ms() + timeout_ms;
    long long v;
    while ((v = metric(name)) < at_least) {
        cr_assert_lt(now_ms(), until, "%s is %lld, waited for %lld", name, v, at_least);
        usleep(20000);
    }
}

/* The server, and a game hosted from another address. */
static void start_with(const char *const *args)
{
    /* The harness picks a free port, then the server binds it: on a machine
     * busy with other tests' connections the port is sometimes taken in
     * between ("address in use"). Another port is tried then, twice. */
    int started = -1;
    for (int i = 0; i < 3 && started; i++) {
        if (i)
            cq_harness_stop(&h);
        started = cq_harness_start(&h, false, args);
    }
    cr_assert_eq(started, 0, "server did not start; see %s", h.log_path);
    cr_assert_eq(cq_ws_connect_from(&host, h.http_port, HOST_ADDR), 0);
    json_decref(client_expect(&host, "welcome"));
    json_t *j = client_req(
        &host, json_pack("{s:s, s:s, s:i}", "type", "create_game", "bank", "mini", "count", 1),
        "joined");
    snprintf(pin, sizeof pin, "%s", jstr(j, "pin"));
    snprintf(host_token, sizeof host_token, "%s", jstr(j, "token"));
    snprintf(watch_token, sizeof watch_token, "%s", jstr(j, "watch_token"));
    json_decref(j);
}

static void stop(void)
{
    cq_ws_free(&host);
    cq_harness_stop(&h);
}

static void nat_open(struct cq_ws *ws)
{
    cr_assert_eq(cq_ws_connect_from(ws, h.http_port, NAT), 0, "connect from " NAT);
    json_t *w = cq_ws_expect(ws, "welcome", WAIT_MS);
    cr_assert_not_null(w, "no welcome");
    json_decref(w);
}

/* The whole class from NAT: joins with the right PIN, rejoins with its
 * tokens on new connections, watches; the host rejoins from NAT too. Any
 * refusal fails the test (client_req). */
static void class_gets_in(const char *tag)
{
    static struct cq_ws ws[CLASS];
    static char tokens[CLASS][80];
    for (int i = 0; i < CLASS; i++) {
        char nick[32];
        snprintf(nick, sizeof nick, "%s%d", tag, i);
        nat_open(&ws[i]);
        json_t *j = client_req(
            &ws[i], json_pack("{s:s, s:s, s:s}", "type", "join", "pin", pin, "nickname", nick),
            "joined");
        snprintf(tokens[i], sizeof tokens[i], "%s", jstr(j, "token"));
        json_decref(j);
    }
    for (int i = 0; i < CLASS; i++) {
        cq_ws_free(&ws[i]);
        nat_open(&ws[i]);
        json_t *j = client_req(
            &ws[i], json_pack("{s:s, s:s, s:s}", "type", "rejoin", "pin", pin, "token", tokens[i]),
            "joined");
        cr_assert_str_eq(jstr(j, "role"), "player");
        json_decref(j);
    }
    for (int i = 0; i < CLASS; i++) {
        struct cq_ws w;
        nat_open(&w);
        json_decref(client_req(
            &w, json_pack("{s:s, s:s, s:s}", "type", "watch", "pin", pin, "token", watch_token),
            "joined"));
        cq_ws_free(&w);
    }
    struct cq_ws hw;
    nat_open(&hw);
    json_t *j = client_req(
        &hw, json_pack("{s:s, s:s, s:s}", "type", "rejoin", "pin", pin, "token", host_token),
        "joined");
    cr_assert_str_eq(jstr(j, "role"), "host");
    json_decref(j);
    cq_ws_free(&hw);
    for (int i = 0; i < CLASS; i++)
        cq_ws_free(&ws[i]);
}

/* ---- the PIN guesser ------------------------------------------------------ */

#define GUESSERS    2
#define ANSWERS_MAX 4096

struct guesser {
    atomic_bool stop;
    atomic_int n;            /* wrong answers received, all guessers */
    int64_t at[ANSWERS_MAX]; /* when each came, ms */
    int64_t started;
    pthread_mutex_t mu;
};
static struct guesser g;

/* One connection guessing: a wrong PIN, wait for its answer, the next one;
 * a new connection when the server closes this one. */
static void *guess_loop(void *arg)
{
    int id = (int)(intptr_t)arg;
    struct cq_ws ws;
    bool open = false;
    unsigned k = 0;
    while (!atomic_load(&g.stop)) {
        if (!open) {
            if (cq_ws_connect_from(&ws, h.http_port, NAT)) {
                usleep(10000);
                continue;
            }
            open = true;
        }
        char guess[8];
        /* Never the real PIN (the only game): walk away from it. */
        int base = atoi(pin) - 100000;
        snprintf(guess, sizeof guess, "%06d",
                 100000 + (base + 1 + id * 400000 + (int)(k++ % 300000)) % 900000);
        cq_ws_send_json(
            &ws, json_pack("{s:s, s:s, s:s}", "type", "join", "pin", guess, "nickname", "mallory"));
        for (;;) {
            json_t *r = cq_ws_recv(&ws, 100);
            if (!r) {
                if (ws.closed || atomic_load(&g.stop)) {
                    cq_ws_free(&ws);
                    open = false;
                    break;
                }
                continue;
            }
            const char *t = json_string_value(json_object_get(r, "type"));
            const char *code = json_string_value(json_object_get(r, "code"));
            bool answer = t && !strcmp(t, "error") && code && !strcmp(code, "no_game");
            json_decref(r);
            if (answer) {
                pthread_mutex_lock(&g.mu);
                int n = atomic_fetch_add(&g.n, 1);
                if (n < ANSWERS_MAX)
                    g.at[n] = now_ms();
                pthread_mutex_unlock(&g.mu);
                break;
            }
        }
    }
    if (open)
        cq_ws_free(&ws);
    return NULL;
}

Test(fair, wrong_pins_from_the_class_address_lock_nobody_out, .fini = stop, .timeout = 180)
{
    /* A short cap keeps the test short; the doubling is the same. */
    const char *args[] = {"--tarpit-max", "4", NULL};
    pthread_t th[GUESSERS];
    start_with(args);
    memset(&g, 0, sizeof g);
    pthread_mutex_init(&g.mu, NULL);
    g.started = now_ms();
    for (int i = 0; i < GUESSERS; i++)
        pthread_create(&th[i], NULL, guess_loop, (void *)(intptr_t)i);
    /* The address's budget is spent and the guesser is being held. */
    wait_metric("chainquiz_tarpitted_guesses_total", 1, 30000);
    class_gets_in("p");
    /* Count the guesser a while longer: until it has been held six times. */
    wait_metric("chainquiz_tarpitted_guesses_total", 6, 60000);
    atomic_store(&g.stop, true);
    for (int i = 0; i < GUESSERS; i++)
        pthread_join(th[i], NULL);
    int64_t ended = now_ms();

    int n = atomic_load(&g.n);
    cr_assert_gt(n, 30, "%d wrong answers", n);
    /* Within the budget (the first 30) against past it (the rest). */
    double fast_s = (double)(g.at[29] - g.started) / 1000.0;
    double slow_s = (double)(ended - g.at[29]) / 1000.0;
    double fast = 30.0 / (fast_s > 0.001 ? fast_s : 0.001), slow = (n - 30) / slow_s;
    cr_log_info("PIN guesser from the class's address: 30 wrong answers in %.2f s (%.1f/s), "
                "then %d in %.2f s (%.2f/s)",
                fast_s, fast, n - 30, slow_s, slow);
    fprintf(stderr,
            "test_fair: guesser %.1f wrong answers/s within the budget, %.2f/s past it "
            "(%d in %.2f s)\n",
            fast, slow, n - 30, slow_s);
    cr_assert_lt(slow * 5, fast, "past the budget the guesser must be slowed");
    cr_assert_lt(slow, 2.0, "%.2f wrong answers a second past the budget", slow);
    cr_assert_geq(metric("chainquiz_wrong_guesses_total"), n);
    pthread_mutex_destroy(&g.mu);
}

/* A wrong guess is not what decides: the same pupil's right PIN right after
 * its own wrong one is served at once (no wait, no refusal), even when the
 * address is past its budget. */
Test(fair, right_pin_after_wrong_ones_is_served_at_once, .fini = stop, .timeout = 120)
{
    const char *args[] = {"--pin-misses-per-min", "3", "--tarpit-max", "2", NULL};
    struct cq_ws ws;
    start_with(args);
    nat_open(&ws);
    /* Three wrong PINs: the budget. */
    for (int i = 0; i < 3; i++) {
        char guess[8];
        snprintf(guess, sizeof guess, "%06d", 100000 + (atoi(pin) - 100000 + 1 + i) % 900000);
        client_err(
            &ws, json_pack("{s:s, s:s, s:s}", "type", "watch", "pin", guess, "token", watch_token),
            "no_game");
    }
    /* The fourth is past the budget: answered, but late. */
    int64_t t0 = now_ms();
    client_err(&ws,
               json_pack("{s:s, s:s, s:s}", "type", "watch", "pin", "000000", "token", watch_token),
               "no_game");
    int64_t late = now_ms() - t0;
    cr_assert_geq(late, 900, "a wrong answer past the budget waits (%lld ms)", (long long)late);
    /* The right one is at once. */
    t0 = now_ms();
    json_decref(client_req(
        &ws, json_pack("{s:s, s:s, s:s}", "type", "watch", "pin", pin, "token", watch_token),
        "joined"));
    cr_log_info("wrong answer past the budget: %lld ms; right PIN: %lld ms", (long long)late,
                (long long)(now_ms() - t0));
    cq_ws_free(&ws);
}

/* ---- the idle-socket flood ------------------------------------------------ */

#define FLOOD_RING 2100

struct flood {
    atomic_bool stop;
    atomic_int opened;
};
static struct flood fl;

/* Opens WebSockets from NAT as fast as it can and never joins; keeps the
 * newest FLOOD_RING open on its side. */
static void *flood_loop(void *arg)
{
    static struct cq_ws ring[FLOOD_RING];
    static bool used[FLOOD_RING];
    (void)arg;
    for (unsigned i = 0; !atomic_load(&fl.stop); i = (i + 1) % FLOOD_RING) {
        if (used[i])
            cq_ws_free(&ring[i]);
        used[i] = !cq_ws_connect_from(&ring[i], h.http_port, NAT);
        if (used[i])
            atomic_fetch_add(&fl.opened, 1);
    }
    for (unsigned i = 0; i < FLOOD_RING; i++)
        if (used[i])
            cq_ws_free(&ring[i]);
    return NULL;
}

Test(fair, idle_socket_flood_from_the_class_address_locks_nobody_out, .fini = stop, .timeout = 180)
{
    pthread_t th;
    start_with(NULL); /* the default cap of idle connections per address */
    memset(&fl, 0, sizeof fl);
    pthread_create(&th, NULL, flood_loop, NULL);
    /* 3,000 idle sockets opened (the default cap is 1,024): the address is
     * at its cap and the oldest ones are being closed for the newer. */
    int64_t t0 = now_ms();
    while (atomic_load(&fl.opened) < 3000) {
        cr_assert_lt(now_ms() - t0, 120000, "the flood opened only %d", atomic_load(&fl.opened));
        usleep(20000);
    }
    wait_metric("chainquiz_idle_evicted_total", 1, 10000);
    class_gets_in("q");
    atomic_store(&fl.stop, true);
    pthread_join(th, NULL);
    long long evicted = metric("chainquiz_idle_evicted_total");
    fprintf(stderr, "test_fair: idle flood opened %d sockets in %.1f s; %lld closed for newer\n",
            atomic_load(&fl.opened), (double)(now_ms() - t0) / 1000.0, evicted);
    cr_assert_gt(evicted, 1500);
}

/* 600 bots join from the class's address, then the class joins. */
Test(fair, bot_joins_from_the_class_address_lock_nobody_out, .fini = stop, .timeout = 180)
{
    static struct cq_ws bots[600];
    start_with(NULL);
    for (int i = 0; i < 600; i++) {
        char nick[32];
        snprintf(nick, sizeof nick, "bot%d", i);
        nat_open(&bots[i]);
        json_decref(client_req(
            &bots[i], json_pack("{s:s, s:s, s:s}", "type", "join", "pin", pin, "nickname", nick),
            "joined"));
    }
    class_gets_in("r");
    for (int i = 0; i < 600; i++)
        cq_ws_free(&bots[i]);
}

/* A connection that joins no game is closed after --join-deadline; one in a
 * game is not. */
Test(fair, idle_connections_must_join_in_time, .fini = stop, .timeout = 60)
{
    const char *args[] = {"--join-deadline", "2", NULL};
    struct cq_ws idle, in_game;
    start_with(args);
    nat_open(&idle);
    nat_open(&in_game);
    json_decref(client_req(
        &in_game, json_pack("{s:s, s:s, s:s}", "type", "join", "pin", pin, "nickname", "ann"),
        "joined"));
    cr_assert(cq_ws_wait_closed(&idle, 15000), "an idle connection outlived the deadline");
    cr_assert_eq(idle.close_code, 1000);
    cr_assert_eq(metric("chainquiz_idle_expired_total"), 1);
    json_decref(client_req(&in_game, json_pack("{s:s}", "type", "ping"), "pong"));
    cq_ws_free(&idle);
    cq_ws_free(&in_game);
}

/* ---- the join secret -------------------------------------------------------- */

/* A game created with join_secret: the PIN alone is a wrong guess, answered
 * exactly like a PIN with no game; the link's secret joins and watches; a
 * token rejoins without it; the host gets it back on rejoin. */
Test(fair, join_secret_makes_a_guessed_pin_not_enough, .fini = stop, .timeout = 60)
{
    struct cq_ws ws, sh;
    char secret[80], token[80], body[65536], body_k[65536], path[200];
    start_with(NULL);
    /* A second game, with a secret. */
    cr_assert_eq(cq_ws_connect_from(&sh, h.http_port, HOST_ADDR), 0);
    json_decref(client_expect(&sh, "welcome"));
    json_t *j = client_req(
        &sh, json_pack("{s:s, s:s, s:b}", "type", "create_game", "bank", "mini", "join_secret", 1),
        "joined");
    char spin[8], stoken[80], swatch[80];
    snprintf(spin, sizeof spin, "%s", jstr(j, "pin"));
    snprintf(stoken, sizeof stoken, "%s", jstr(j, "token"));
    snprintf(swatch, sizeof swatch, "%s", jstr(j, "watch_token"));
    snprintf(secret, sizeof secret, "%s", jstr(j, "secret"));
    json_decref(j);
    cr_assert_eq(strlen(secret), 22, "secret %s", secret);

    nat_open(&ws);
    long long wrong0 = metric("chainquiz_wrong_guesses_total");
    client_err(&ws, json_pack("{s:s, s:s, s:s}", "type", "join", "pin", spin, "nickname", "eve"),
               "no_game");
    client_err(&ws,
               json_pack("{s:s, s:s, s:s, s:s}", "type", "join", "pin", spin, "nickname", "eve",
                         "secret", "AAAAAAAAAAAAAAAAAAAAAA"),
               "no_game");
    /* The main game's watch token is not this game's: a wrong guess too. */
    client_err(&ws,
               json_pack("{s:s, s:s, s:s}", "type", "watch", "pin", spin, "token", watch_token),
               "bad_token");
    cr_assert_eq(metric("chainquiz_wrong_guesses_total"), wrong0 + 3, "each counts as wrong");
    /* The link's secret. */
    j = client_req(&ws,
                   json_pack("{s:s, s:s, s:s, s:s}", "type", "join", "pin", spin, "nickname", "ann",
                             "secret", secret),
                   "joined");
    snprintf(token, sizeof token, "%s", jstr(j, "token"));
    json_decref(j);
    cq_ws_free(&ws);
    nat_open(&ws);
    json_decref(
        client_req(&ws, json_pack("{s:s, s:s, s:s}", "type", "rejoin", "pin", spin, "token", token),
                   "joined"));
    cq_ws_free(&ws);
    nat_open(&ws);
    json_decref(
        client_req(&ws, json_pack("{s:s, s:s, s:s}", "type", "watch", "pin", spin, "token", swatch),
                   "joined"));
    cq_ws_free(&ws);
    /* The host, rejoining, is given the secret again (for the link). */
    nat_open(&ws);
    j = client_req(&ws,
                   json_pack("{s:s, s:s, s:s}", "type", "rejoin", "pin", spin, "token", stoken),
                   "joined");
    cr_assert_str_eq(jstr(j, "secret"), secret);
    json_decref(j);
    cq_ws_free(&ws);
    /* A game without one takes the PIN alone, and says nothing of secrets. */
    nat_open(&ws);
    j = client_req(&ws, json_pack("{s:s, s:s, s:s}", "type", "join", "pin", pin, "nickname", "ben"),
                   "joined");
    cr_assert_null(json_object_get(j, "secret"));
    json_decref(j);
    cq_ws_free(&ws);
    cq_ws_free(&sh);

    /* The QR code carries it: a different code, and a malformed one is refused. */
    snprintf(path, sizeof path, "/api/qr.svg?pin=%s", spin);
    cr_assert_eq(cq_http_get(h.http_port, path, body, sizeof body), 200);
    snprintf(path, sizeof path, "/api/qr.svg?pin=%s&k=%s", spin, secret);
    cr_assert_eq(cq_http_get(h.http_port, path, body_k, sizeof body_k), 200);
    cr_assert(strcmp(body, body_k), "the secret is not in the QR code");
    snprintf(path, sizeof path, "/api/qr.svg?pin=%s&k=a%%20b", spin);
    cr_assert_eq(cq_http_get(h.http_port, path, body_k, sizeof body_k), 400);
}

/* --require-join-secret: every game has a secret, asked for or not. */
Test(fair, require_join_secret_gives_every_game_one, .fini = stop, .timeout = 60)
{
    const char *args[] = {"--require-join-secret", NULL};
    struct cq_ws ws;
    start_with(args); /* its game did not ask for a secret */
    nat_open(&ws);
    client_err(&ws, json_pack("{s:s, s:s, s:s}", "type", "join", "pin", pin, "nickname", "eve"),
               "no_game");
    json_t *j = client_req(
        &ws, json_pack("{s:s, s:s, s:s}", "type", "rejoin", "pin", pin, "token", host_token),
        "joined");
    cr_assert_eq(strlen(jstr(j, "secret")), 22);
    json_decref(j);
    cq_ws_free(&ws);
}

/* Guessing spread over many addresses, each within its own budget: past the
 * server-wide budget every wrong answer waits the longest, the operator is
 * told, and a right PIN is still served at once. */
Test(fair, server_wide_budget_slows_spread_guessing, .fini = stop, .timeout = 60)
{
    const char *args[] = {"--server-pin-misses-per-min", "5", "--tarpit-max", "2", NULL};
    start_with(args);
    for (int i = 0; i < 6; i++) {
        char from[32], guess[8];
        struct cq_ws ws;
        snprintf(from, sizeof from, "127.0.0.%d", 20 + i);
        snprintf(guess, sizeof guess, "%06d", 100000 + (atoi(pin) - 100000 + 1 + i) % 900000);
        cr_assert_eq(cq_ws_connect_from(&ws, h.http_port, from), 0);
        json_decref(client_expect(&ws, "welcome"));
        int64_t t0 = now_ms();
        client_err(
            &ws, json_pack("{s:s, s:s, s:s}", "type", "watch", "pin", guess, "token", watch_token),
            "no_game");
        int64_t took = now_ms() - t0;
        /* Within the budgets nothing is held; past the server's, it is. */
        cr_assert_eq(metric("chainquiz_tarpitted_guesses_total"), i < 5 ? 0 : 1, "guess %d", i);
        if (i == 5)
            cr_assert_geq(took, 1900, "past the server's budget: %lld ms", (long long)took);
        cq_ws_free(&ws);
    }
    cr_assert_eq(cq_log_count(&h, "someone may be guessing PINs"), 1);
    struct cq_ws ws;
    cr_assert_eq(cq_ws_connect_from(&ws, h.http_port, "127.0.0.40"), 0);
    json_decref(client_expect(&ws, "welcome"));
    json_decref(client_req(
        &ws, json_pack("{s:s, s:s, s:s}", "type", "watch", "pin", pin, "token", watch_token),
        "joined"));
    cr_assert_eq(metric("chainquiz_tarpitted_guesses_total"), 1, "the right PIN is not held");
    cr_assert_eq(metric("chainquiz_wrong_guesses_total"), 6, "nor counted");
    cq_ws_free(&ws);
}

/* While a wrong answer is held, the connection reads nothing: what it sent
 * meanwhile (pipelined) is handled after the delay, in order, not lost. */
Test(fair, messages_behind_a_held_answer_wait_and_are_handled, .fini = stop, .timeout = 60)
{
    const char *args[] = {"--pin-misses-per-min", "1", "--tarpit-max", "1", NULL};
    struct cq_ws ws;
    char wrong1[8], wrong2[8];
    start_with(args);
    snprintf(wrong1, sizeof wrong1, "%06d", 100000 + (atoi(pin) - 100000 + 1) % 900000);
    snprintf(wrong2, sizeof wrong2, "%06d", 100000 + (atoi(pin) - 100000 + 2) % 900000);
    nat_open(&ws);
    int64_t t0 = now_ms();
    cq_ws_send_json(&ws, json_pack("{s:s, s:s, s:s, s:i}", "type", "watch", "pin", wrong1, "token",
                                   watch_token, "id", 1));
    cq_ws_send_json(&ws, json_pack("{s:s, s:s, s:s, s:i}", "type", "watch", "pin", wrong2, "token",
                                   watch_token, "id", 2));
    cq_ws_send_json(&ws, json_pack("{s:s, s:s, s:s, s:i}", "type", "watch", "pin", pin, "token",
                                   watch_token, "id", 3));
    static const char *const want[] = {"error", "error", "joined"};
    for (int i = 0; i < 3; i++) {
        json_t *r = client_expect(&ws, want[i]);
        cr_assert_eq(jint(r, "id"), i + 1, "answers in order");
        json_decref(r);
    }
    int64_t took = now_ms() - t0;
    cr_assert_geq(took, 900, "the right PIN behind a held answer waited for it (%lld ms)",
                  (long long)took);
    cr_assert_eq(metric("chainquiz_bad_messages_total"), 0, "nothing was dropped");
    cq_ws_free(&ws);
}
