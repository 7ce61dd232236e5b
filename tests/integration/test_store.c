/* Leaderboards and game records in a real Redis: boards that outlive games,
 * downloads, and a Redis that dies mid-game. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "cq_limits.h"
#include "play.h"
#include "secret.h"

/* A number on its line of /metrics ("NAME VALUE"); -1 when missing. */
static long long metric(const char *name)
{
    static char body[65536];
    char key[128];
    if (cq_http_get(h.http_port, "/metrics", body, sizeof body) != 200)
        return -1;
    snprintf(key, sizeof key, "\n%s ", name);
    const char *p = strstr(body, key);
    return p ? atoll(p + strlen(key)) : -1;
}

/* Waits until the server has taken `n` answers in all (their
 * acknowledgements may wait for the store). */
static void wait_answers_taken(long long n)
{
    for (int i = 0; i < 500 && metric("chainquiz_answers_total") < n; i++)
        usleep(10000);
    cr_assert_eq(metric("chainquiz_answers_total"), n, "the answers were not taken");
}

/* `p` answers question `index` with option `option` (request id "a1"); the
 * server has taken it, and `n` answers in all, on return. */
static void answer_taken(struct player *p, int index, int option, long long n)
{
    cr_assert_eq(
        cq_ws_send_json(&p->ws, json_pack("{s:s, s:i, s:i, s:s}", "type", "answer", "question",
                                          index, "answer", option, "id", "a1")),
        0);
    wait_answers_taken(n);
}

/* Reads the host's messages until a `lobby` update says `n` players are
 * connected. */
static void wait_connected(struct cq_ws *host, long long n)
{
    for (;;) {
        json_t *m = cq_ws_expect(host, "lobby", 15000);
        cr_assert_not_null(m, "no lobby update with %lld connected", n);
        long long c = jint(m, "connected");
        json_decref(m);
        if (c == n)
            return;
    }
}

/* The harness's server with `extra` arguments (a test's own .init). */
static void start_args(const char *const *extra)
{
    cr_assert_eq(cq_harness_start(&h, false, extra), 0, "server did not start; see %s", h.log_path);
}

static void start(void)
{
    start_args(NULL);
}

/* An external Redis whose absence the journal file covers (--journal-acks):
 * acknowledged once synced to the file, as with the embedded Redis. */
static void start_journal_acks(void)
{
    static const char *const extra[] = {"--journal-acks", NULL};
    start_args(extra);
}

static void stop(void)
{
    cq_harness_stop(&h);
}

TestSuite(store, .init = start, .fini = stop, .timeout = 120);

/* Group secrets the tests' games got, by label, as a host page keeps them. */
static struct {
    char group[48], secret[80];
} secrets[8];

static const char *group_secret(const char *group)
{
    if (!group[0])
        return NULL;
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        if (!strcmp(secrets[i].group, group))
            return secrets[i].secret;
    return NULL;
}

static void keep_group_secret(const char *group)
{
    if (!created_group_secret[0] || !group[0])
        return;
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        if (!secrets[i].group[0] || !strcmp(secrets[i].group, group)) {
            snprintf(secrets[i].group, sizeof secrets[i].group, "%s", group);
            snprintf(secrets[i].secret, sizeof secrets[i].secret, "%s", created_group_secret);
            return;
        }
}

/* A two-question game in accuracy mode (1000 per right answer), players'
 * right/wrong given per question, with the group's secret when a game of
 * this group got one. */
static void play_game(const char *group, const char *const *nicks, int n, const bool right[][2],
                      char *game_id, char *token)
{
    struct cq_ws host;
    struct player p[8];
    char pin[8];
    json_t *settings = json_pack("{s:s, s:s, s:i, s:[s], s:s}", "bank", "mini", "scoring",
                                 "accuracy", "count", 2, "tags", "single", "group", group);
    json_array_append_new(json_object_get(settings, "tags"), json_string("truefalse"));
    if (group_secret(group))
        json_object_set_new(settings, "group_secret", json_string(group_secret(group)));
    json_decref(create(&host, settings, pin, token));
    keep_group_secret(group);
    for (int i = 0; i < n; i++)
        join(&p[i], pin, nicks[i]);
    host_cmd(&host, "start");
    for (int q = 0; q < 2; q++) {
        for (int i = 0; i < n; i++) {
            json_t *qm = see_question(&p[i], q);
            bool tf = !strcmp(jstr(qm, "qtype"), "truefalse");
            json_decref(qm);
            /* single: option 0 is right; true/false: true is right */
            answer(&p[i], q, tf ? json_boolean(right[i][q]) : json_integer(right[i][q] ? 0 : 1));
        }
        for (int i = 0; i < n; i++)
            json_decref(result(&p[i], q, right[i][q], 1));
        host_cmd(&host, "next");
        if (q == 1)
            cr_assert_eq(cq_ws_send_json(&host, json_pack("{s:s}", "type", "next")), 0);
        else
            host_cmd(&host, "next");
    }
    json_t *end = client_expect(&host, "ended");
    snprintf(game_id, 40, "%s", jstr(end, "game_id"));
    json_decref(end);
    cq_ws_free(&host);
    for (int i = 0; i < n; i++)
        cq_ws_free(&p[i].ws);
}

/* Lines of a CSV download (CRLF-terminated). */
static int csv_lines(const char *body)
{
    int lines = 0;
    for (const char *p = body; (p = strstr(p, "\r\n")); p += 2)
        lines++;
    return lines;
}

/* Polls an HTTP JSON endpoint until `want` appears in the body (writes to
 * Redis are asynchronous). */
static void wait_body(const char *path, const char *want, char *body, size_t cap)
{
    for (int i = 0; i < 50; i++) {
        if (cq_http_get(h.http_port, path, body, cap) == 200 && strstr(body, want))
            return;
        usleep(100000);
    }
    cr_assert_fail("%s never contained %s; last: %s", path, want, body);
}

/* Polls until `path` answers `status` with `want` in its body. */
static bool wait_status(const char *path, int status, const char *want, char *body, size_t cap)
{
    for (int i = 0; i < 500; i++) {
        if (cq_http_get(h.http_port, path, body, cap) == status && (!want || strstr(body, want)))
            return true;
        usleep(20000);
    }
    return false;
}

Test(store, boards_accumulate_across_games_with_shared_ranks)
{
    char gid[40], token[80], body[8192];
    const char *nicks[] = {"Ada", "Bob", "Cy"};
    const bool g1[][2] = {{true, true}, {true, false}, {true, false}};
    play_game("class-a", nicks, 3, g1, gid, token);
    /* Ada 2000; Bob and Cy 1000 each: tied, both rank 2. */
    wait_body("/api/leaderboard?board=group:class-a&top=10", "\"total\":3", body, sizeof body);
    cr_assert(strstr(body, "{\"rank\":1,\"nickname\":\"Ada\",\"score\":2000}"), "%s", body);
    cr_assert(strstr(body, "{\"rank\":2,\"nickname\":\"Bob\",\"score\":1000}"), "%s", body);
    cr_assert(strstr(body, "{\"rank\":2,\"nickname\":\"Cy\",\"score\":1000}"), "%s", body);
    /* Equal scores: the folded names in reverse byte order (Redis ZREVRANGE). */
    cr_assert(strstr(body, "\"Cy\"") < strstr(body, "\"Bob\""), "cy before bob: %s", body);

    /* A second game: scores add up per player (names match case-insensitively). */
    const char *nicks2[] = {"bob", "Dee"};
    const bool g2[][2] = {{true, true}, {false, false}};
    play_game("class-a", nicks2, 2, g2, gid, token);
    wait_body("/api/leaderboard?board=group:class-a&top=10", "\"total\":4", body, sizeof body);
    cr_assert(strstr(body, "{\"rank\":1,\"nickname\":\"bob\",\"score\":3000}"), "%s", body);
    cr_assert(strstr(body, "{\"rank\":2,\"nickname\":\"Ada\",\"score\":2000}"), "%s", body);
    cr_assert(strstr(body, "{\"rank\":4,\"nickname\":\"Dee\",\"score\":0}"), "%s", body);

    /* The weekly board and the bank's board saw both games too. */
    wait_body("/api/leaderboard?board=group:class-a&period=week", "\"total\":4", body, sizeof body);
    cr_assert(strstr(body, "\"period\":\"20"), "%s", body);
    wait_body("/api/leaderboard?board=bank:mini&top=1", "\"total\":4", body, sizeof body);
    cr_assert(strstr(body, "\"nickname\":\"bob\""));

    /* Around a player: their row and neighbours, with ranks. */
    wait_body("/api/leaderboard?board=group:class-a&top=0&around=CY", "\"around\":[{", body,
              sizeof body);
    cr_assert(strstr(body, "\"top\":[]"), "%s", body);
    cr_assert(strstr(body, "{\"rank\":3,\"nickname\":\"Cy\",\"score\":1000}"), "%s", body);

    cr_assert_eq(cq_http_get(h.http_port, "/api/leaderboard?board=nope", body, sizeof body), 400);
    cr_assert_eq(
        cq_http_get(h.http_port, "/api/leaderboard?board=group:x&top=1000", body, sizeof body),
        400);
}

Test(store, results_download_needs_the_host_token)
{
    char gid[40], token[80], path[256], body[65536];
    const char *nicks[] = {"=cmd|' /C calc'!A0", "Bob"};
    const bool g[][2] = {{true, false}, {false, false}};
    play_game("", nicks, 2, g, gid, token);
    snprintf(path, sizeof path, "/api/results?game=%s&token=%s&format=csv", gid, token);
    wait_body(path, "game_id,player_id", body, sizeof body);
    /* Header, a row per player, 2 players x 2 questions (protocol/HTTP.md). */
    int lines = csv_lines(body);
    cr_assert_eq(lines, 7, "%s", body);
    /* A nickname that looks like a formula is defused. */
    cr_assert(strstr(body, "\"'=cmd|' /C calc'!A0\""), "%s", body);
    snprintf(path, sizeof path, "/api/results?game=%s&token=%s", gid, token);
    cr_assert_eq(cq_http_get(h.http_port, path, body, sizeof body), 200);
    cr_assert(strstr(body, "\"players\":["));
    cr_assert_null(strstr(body, "host_token"));
    /* A wrong token is answered as an unknown game (test_http checks). */
    snprintf(path, sizeof path, "/api/results?game=%s&token=%sx", gid, token);
    cr_assert_eq(cq_http_get(h.http_port, path, body, sizeof body), 404);
    snprintf(path, sizeof path, "/api/results?game=%s", gid);
    cr_assert_eq(cq_http_get(h.http_port, path, body, sizeof body), 403);
    cr_assert_eq(cq_http_get(h.http_port, "/api/results?game=1-2&token=abc", body, sizeof body),
                 404);
}

/* Ada's and Bob's points on a group's all-time board, once the end-of-game
 * write (asynchronous) has landed: Ada's score is polled until it is the
 * one expected (a board that already had points moves when the write lands). */
static void assert_group_scores(const char *group, const char *ada, const char *bob)
{
    char out[64] = "";
    for (int i = 0; i < 50; i++) {
        if (!cq_redis_cmd(&h, out, sizeof out, "ZSCORE cq:board:group:%s:all ada", group) &&
            !strcmp(out, ada))
            break;
        usleep(100000);
    }
    cr_assert_str_eq(out, ada);
    if (!bob)
        return;
    cq_redis_cmd(&h, out, sizeof out, "ZSCORE cq:board:group:%s:all bob", group);
    cr_assert_str_eq(out, bob);
}

/* A create_game for `group` (with `secret`, or none) that must be refused. */
static void create_refused(const char *group, const char *secret, const char *code)
{
    struct cq_ws ws;
    client_open(&ws, &h);
    json_t *m = json_pack("{s:s, s:s, s:s}", "type", "create_game", "bank", "mini", "group", group);
    if (secret)
        json_object_set_new(m, "group_secret", json_string(secret));
    json_t *r = client_req(&ws, m, "error");
    cr_assert_str_eq(jstr(r, "code"), code);
    cr_assert_str_eq(jstr(r, "field"), "group_secret");
    json_decref(r);
    cq_ws_free(&ws);
}

/* A teacher's phone sends create_game for a new group label and loses its
 * network before the answer: the label was claimed with a secret nobody
 * received. The claim is given back, so the label can still be used. */
static void start_patient_redis(void)
{
    static const char *const extra[] = {"--redis-timeout", "20000", NULL};
    start_args(extra);
}

Test(store, a_group_claimed_for_a_host_gone_before_its_answer_is_given_back,
     .init = start_patient_redis)
{
    char body[65536], out[128];
    struct cq_ws ws;
    /* Redis holds the claim's answer until the phone is gone. */
    cr_assert_eq(kill(h.redis_pid, SIGSTOP), 0);
    client_open(&ws, &h);
    cr_assert_eq(cq_ws_send_json(&ws, json_pack("{s:s, s:s, s:s}", "type", "create_game", "bank",
                                                "mini", "group", "lost-phone")),
                 0);
    cq_ws_free(&ws); /* hung up before any answer */
    cr_assert(wait_status("/metrics", 200, "\nchainquiz_connections 0\n", body, sizeof body),
              "the server did not see the hang-up");
    cr_assert_eq(kill(h.redis_pid, SIGCONT), 0);
    /* The claim is answered, nobody is there, and it is given back. */
    for (int i = 0; i < 250; i++) {
        out[0] = '\0';
        cq_redis_cmd(&h, out, sizeof out, "EXISTS cq:board:group:lost-phone:owner");
        if (!strcmp(out, "0"))
            break;
        usleep(20000);
    }
    cr_assert_str_eq(out, "0", "the label stayed claimed");
    /* The teacher tries again: the group is new, and its secret comes back. */
    client_open(&ws, &h);
    json_t *j = client_req(
        &ws,
        json_pack("{s:s, s:s, s:s}", "type", "create_game", "bank", "mini", "group", "lost-phone"),
        "joined");
    cr_assert_not_null(json_object_get(j, "group_secret"), "no group secret for a new group");
    json_decref(j);
    cq_ws_free(&ws);
}

Test(store, a_group_board_takes_games_only_from_its_creator)
{
    char gid[40], token[80], out[128], digest[CQ_SECRET_DIGEST_LEN + 1];
    const char *nicks[] = {"Ada", "Bob"};
    const bool g[][2] = {{true, true}, {true, false}};
    play_game("class-o", nicks, 2, g, gid, token);
    /* The first game made the group, and its host got the secret. */
    cr_assert_not_null(group_secret("class-o"), "no group_secret in joined");
    assert_group_scores("class-o", "2000", "1000");
    /* Redis keeps the secret's SHA-256, not the secret. */
    cq_secret_digest(group_secret("class-o"), digest);
    cq_redis_cmd(&h, out, sizeof out, "GET cq:board:group:class-o:owner");
    cr_assert_str_eq(out, digest);

    /* Without the secret, or with another, no game is made for the group. */
    create_refused("class-o", NULL, "group_secret_required");
    create_refused("class-o", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "bad_group_secret");
    create_refused("class-o", digest, "bad_group_secret"); /* the digest is not the secret */
    /* With it, the game counts, and no new secret is handed out. */
    play_game("class-o", nicks, 2, g, gid, token);
    cr_assert_str_eq(created_group_secret, "");
    assert_group_scores("class-o", "4000", "2000");
    cq_redis_cmd(&h, out, sizeof out, "GET cq:board:group:class-o:owner");
    cr_assert_str_eq(out, digest);
}

/* Waits until the end-of-game counting (asynchronous) has run for a game. */
static void wait_counted(const char *gid)
{
    char out[16] = "";
    for (int i = 0; i < 50; i++) {
        cq_redis_cmd(&h, out, sizeof out, "EXISTS cq:game:%s:counted", gid);
        if (!strcmp(out, "1"))
            return;
        usleep(100000);
    }
    cr_assert_fail("game %s was never counted", gid);
}

Test(store, a_board_without_owner_goes_to_its_first_claimant_and_is_checked_at_the_end)
{
    char gid[40], token[80], pin[8], out[128];
    const char *nicks[] = {"Ada", "Bob"};
    const bool g[][2] = {{true, true}, {true, false}};
    /* A board made before groups had owners. */
    cq_redis_cmd(&h, out, sizeof out, "ZADD cq:board:group:legacy:all 500 ada");
    play_game("legacy", nicks, 2, g, gid, token);
    cr_assert_not_null(group_secret("legacy"), "the first claimant gets the secret");
    wait_counted(gid);
    assert_group_scores("legacy", "2500", "1000");
    create_refused("legacy", NULL, "group_secret_required");

    /* A game made with the secret, whose group gets another owner before it
     * ends (an operator gave the group a new secret): it counts on the
     * bank's boards, not on the group's. */
    struct cq_ws host;
    struct player cy;
    json_t *st = create(&host,
                        json_pack("{s:s, s:s, s:s}", "bank", "mini", "group", "legacy",
                                  "group_secret", group_secret("legacy")),
                        pin, token);
    snprintf(gid, sizeof gid, "%s", jstr(st, "game_id"));
    json_decref(st);
    join(&cy, pin, "Cy");
    host_cmd(&host, "start");
    cq_redis_cmd(&h, out, sizeof out,
                 "SET cq:board:group:legacy:owner "
                 "0000000000000000000000000000000000000000000000000000000000000000");
    host_cmd(&host, "end");
    wait_counted(gid);
    cq_redis_cmd(&h, out, sizeof out, "ZSCORE cq:board:bank:mini:all cy");
    cr_assert_str_eq(out, "0");
    out[0] = 'x';
    cq_redis_cmd(&h, out, sizeof out, "ZSCORE cq:board:group:legacy:all cy");
    cr_assert_str_eq(out, "", "the group's board took a game of another owner");
    cq_ws_free(&host);
    cq_ws_free(&cy.ws);
}

Test(store, redis_lost_mid_game_loses_no_score)
{
    struct cq_ws host;
    struct player a, b;
    char pin[8], token[80], body[4096];
    json_decref(create(
        &host,
        json_pack("{s:s, s:s, s:s}", "bank", "mini", "scoring", "accuracy", "group", "resilient"),
        pin, token));
    join(&a, pin, "Ada");
    join(&b, pin, "Bob");
    host_cmd(&host, "start");
    json_decref(see_question(&a, 0));
    json_decref(see_question(&b, 0));

    /* Redis dies: the host is warned, the game goes on. The answers are
     * taken, and (an external Redis, no --journal-acks) acknowledged only
     * once Redis has them. */
    cq_harness_stop_redis(&h);
    json_t *w = cq_ws_expect(&host, "warning", 15000);
    cr_assert_not_null(w, "no redis_down warning");
    cr_assert_str_eq(jstr(w, "code"), "redis_down");
    json_decref(w);
    struct player *both[] = {&a, &b};
    for (int i = 0; i < 2; i++)
        cr_assert_eq(cq_ws_send_json(&both[i]->ws, json_pack("{s:s, s:i, s:i}", "type", "answer",
                                                             "question", 0, "answer", 0)),
                     0);
    wait_answers_taken(2);
    for (int i = 0; i < 2; i++) {
        json_t *early = cq_ws_recv(&both[i]->ws, 0);
        cr_assert_null(early, "acknowledged while Redis was away: %s",
                       early ? json_dumps(early, 0) : "");
    }
    cr_assert_eq(cq_http_get(h.http_port, "/readyz", body, sizeof body), 503);

    /* Redis returns (same port, same append-only file): the journal replays. */
    int port = h.redis_port;
    cr_assert_eq(cq_harness_start_redis_on(&h, port), 0);
    /* Reconnect back-off is capped at 5 s: allow for a full step. */
    w = cq_ws_expect(&host, "warning", 15000);
    cr_assert_not_null(w, "no redis_ok warning");
    cr_assert_str_eq(jstr(w, "code"), "redis_ok");
    json_decref(w);
    for (int i = 0; i < 2; i++) {
        json_decref(client_expect(&both[i]->ws, "answer_ack"));
        json_decref(result(both[i], 0, true, 1));
    }
    /* End the game now: the final records go straight to Redis. */
    host_cmd(&host, "end");
    assert_group_scores("resilient", "1000", "1000");
    cq_ws_free(&host);
    cq_ws_free(&a.ws);
    cq_ws_free(&b.ws);
}

/* A Redis that keeps the connection but stops answering (SIGSTOP): the
 * first unanswered write recycles the connection within --redis-timeout,
 * the host is warned and /readyz says so; when it answers again, the journal
 * is replayed and nothing is lost. */
static void start_short_timeout(void)
{
    static const char *const extra[] = {"--redis-timeout", "500", "--journal-acks", NULL};
    start_args(extra);
}

Test(store, a_redis_that_stops_answering_is_given_up_on_and_replayed, .init = start_short_timeout)
{
    struct cq_ws host;
    struct player a;
    char pin[8], token[80], body[65536];
    json_decref(create(
        &host,
        json_pack("{s:s, s:s, s:s}", "bank", "mini", "scoring", "accuracy", "group", "frozen"), pin,
        token));
    join(&a, pin, "Ada");
    host_cmd(&host, "start");
    json_decref(see_question(&a, 0));

    cr_assert_eq(kill(h.redis_pid, SIGSTOP), 0);
    answer(&a, 0, json_integer(0)); /* its log entry gets no answer */
    json_t *w = cq_ws_expect(&host, "warning", 10000);
    cr_assert_not_null(w, "no redis_down warning");
    cr_assert_str_eq(jstr(w, "code"), "redis_down");
    json_decref(w);
    cr_assert_eq(cq_http_get(h.http_port, "/readyz", body, sizeof body), 503, "%s", body);
    cr_assert(wait_status("/metrics", 200, "\nchainquiz_redis_recycles_total ", body, sizeof body));

    cr_assert_eq(kill(h.redis_pid, SIGCONT), 0);
    w = cq_ws_expect(&host, "warning", 15000);
    cr_assert_not_null(w, "no redis_ok warning");
    cr_assert_str_eq(jstr(w, "code"), "redis_ok");
    json_decref(w);
    cr_assert(wait_status("/readyz", 200, "\"redis\":true", body, sizeof body), "%s", body);
    json_decref(result(&a, 0, true, 1));
    host_cmd(&host, "end");
    assert_group_scores("frozen", "1000", NULL);
    cq_ws_free(&host);
    cq_ws_free(&a.ws);
}

/* A host whose command waits for a Redis that stopped answering is told at
 * once (redis_down), ahead of the `ok` that waits: it used to come with the
 * `ok`, once Redis was back (found by an attack from the documents). */
static void start_short_timeout_no_journal_acks(void)
{
    static const char *const extra[] = {"--redis-timeout", "500", NULL};
    start_args(extra);
}

Test(store, a_host_waiting_for_its_ok_is_warned_that_redis_is_away,
     .init = start_short_timeout_no_journal_acks)
{
    struct cq_ws host;
    struct player a;
    char pin[8], token[80];
    json_decref(create(&host, json_pack("{s:s}", "bank", "mini"), pin, token));
    join(&a, pin, "Ada");
    host_cmd(&host, "start");
    json_decref(see_question(&a, 0));

    cr_assert_eq(kill(h.redis_pid, SIGSTOP), 0);
    cr_assert_eq(cq_ws_send_json(&host, json_pack("{s:s, s:s, s:i}", "type", "add_time", "id", "t",
                                                  "seconds", 10)),
                 0);
    json_t *w = cq_ws_expect(&host, "warning", 10000);
    cr_assert_not_null(w, "no redis_down warning while the ok waits");
    cr_assert_str_eq(jstr(w, "code"), "redis_down");
    json_decref(w);
    cr_assert_eq(kill(h.redis_pid, SIGCONT), 0);
    json_t *ok = cq_ws_expect(&host, "ok", 15000);
    cr_assert_not_null(ok, "the held ok never came");
    cr_assert_str_eq(jstr(ok, "id"), "t");
    json_decref(ok);
    cq_ws_free(&host);
    cq_ws_free(&a.ws);
}

/* A Redis that refuses writes for now (out of memory) loses nothing: the
 * refused writes stay journaled and go in once it takes them again. */
Test(store, writes_refused_for_now_are_kept_and_retried, .init = start_journal_acks)
{
    struct cq_ws host;
    struct player a;
    char pin[8], token[80], body[65536], out[64];
    json_decref(create(
        &host, json_pack("{s:s, s:s, s:s}", "bank", "mini", "scoring", "accuracy", "group", "full"),
        pin, token));
    join(&a, pin, "Ada");
    host_cmd(&host, "start");
    json_decref(see_question(&a, 0));
    cr_assert_eq(cq_redis_cmd(&h, out, sizeof out, "CONFIG SET maxmemory 1"), 0);
    answer(&a, 0, json_integer(0));
    json_decref(result(&a, 0, true, 1));
    host_cmd(&host, "end");
    /* Refused, and the connection recycled at least once. */
    bool refused = false;
    for (int i = 0; i < 500 && !refused; i++) {
        refused = cq_http_get(h.http_port, "/metrics", body, sizeof body) == 200 &&
                  strstr(body, "\nchainquiz_redis_recycles_total ") &&
                  !strstr(body, "\nchainquiz_redis_recycles_total 0\n");
        if (!refused)
            usleep(20000);
    }
    cr_assert(refused, "%s", body);
    cr_assert_eq(cq_redis_cmd(&h, out, sizeof out, "CONFIG SET maxmemory 0"), 0);
    assert_group_scores("full", "1000", NULL);
    cq_ws_free(&host);
    cq_ws_free(&a.ws);
}

Test(store, boards_answer_503_without_redis)
{
    char body[1024];
    cq_harness_stop_redis(&h);
    /* Once the server knows (readyz says so), boards answer 503 at once. */
    cr_assert(wait_status("/readyz", 503, "\"redis\":false", body, sizeof body), "%s", body);
    cr_assert_eq(cq_http_get(h.http_port, "/api/leaderboard?board=bank:mini", body, sizeof body),
                 503);
}

Test(store, a_game_ended_early_records_only_what_was_asked)
{
    struct cq_ws host;
    struct player a, b;
    char pin[8], token[80], gid[40], path[256], body[65536];
    json_decref(
        create(&host, json_pack("{s:s, s:s}", "bank", "mini", "group", "g-early"), pin, token));
    join(&a, pin, "Ann");
    join(&b, pin, "Bob");
    host_cmd(&host, "start");
    json_decref(see_question(&a, 0));
    json_decref(see_question(&b, 0));
    answer(&a, 0, json_integer(0));
    answer(&b, 0, json_integer(1));
    json_decref(client_expect(&b.ws, "result"));
    /* Kicked after answering: kept in the record, without a rank (a player
     * who departs without any answer is dropped from it). */
    json_decref(client_req(&host, json_pack("{s:s, s:I}", "type", "kick", "player", b.id), "ok"));
    cr_assert_eq(cq_ws_send_json(&host, json_pack("{s:s}", "type", "end")), 0);
    json_t *end = client_expect(&host, "ended");
    snprintf(gid, sizeof gid, "%s", jstr(end, "game_id"));
    json_decref(end);
    snprintf(path, sizeof path, "/api/results?game=%s&token=%s&format=csv", gid, token);
    wait_body(path, "game_id,player_id", body, sizeof body);
    /* Header, a row per player, 2 players x 1 asked question (of 6 selected). */
    int lines = csv_lines(body);
    cr_assert_eq(lines, 5, "%s", body);
    /* The kicked player has no rank. */
    cr_assert(strstr(body, ",\"Bob\",0,"), "%s", body);
    cq_ws_free(&host);
    cq_ws_free(&a.ws);
    cq_ws_free(&b.ws);
}

/* Rejoins with a token after the restart; returns the `state`. */
static json_t *rejoin(struct cq_ws *ws, const char *pin, const char *token, const char *role)
{
    client_open(ws, &h);
    json_t *j = client_req(
        ws, json_pack("{s:s, s:s, s:s}", "type", "rejoin", "pin", pin, "token", token), "joined");
    cr_assert_str_eq(jstr(j, "role"), role);
    json_decref(j);
    return client_expect(ws, "state");
}

/* The game's log as text, from the harness's Redis or the server's own. */
static void read_log(bool own_redis, const char *game_id, char *out, size_t cap)
{
    if (!own_redis) {
        cq_redis_cmd(&h, out, cap, "LRANGE cq:game:%s:log 0 -1", game_id);
        return;
    }
    char sock[400];
    /* The embedded Redis's socket is named after its server's pid. */
    snprintf(sock, sizeof sock, "%s/data/redis-%d.sock", h.dir, (int)h.server_pid);
    out[0] = '\0';
    redisContext *c = redisConnectUnix(sock);
    redisReply *r = c && !c->err ? redisCommand(c, "LRANGE cq:game:%s:log 0 -1", game_id) : NULL;
    size_t len = 0;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s ", r->element[i]->str);
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
}

/* kill -9 of the server, then a restart at once; the clients' sockets
 * (NULL-terminated) are closed, to come back with their tokens. */
static void sigkill_and_restart(struct cq_ws *const *clients)
{
    cr_assert_eq(kill(h.server_pid, SIGKILL), 0);
    cr_assert_neq(cq_harness_wait(h.server_pid, 5000), -1);
    h.server_pid = -1;
    for (size_t i = 0; clients[i]; i++)
        cq_ws_free(clients[i]);
    cr_assert_eq(cq_harness_start_server(&h, NULL), 0, "no restart; see %s", h.log_path);
}

/* Plays into question 1, kills the server (SIGKILL) right after an answer,
 * starts it again and finishes the game. `boards`: check the boards in the
 * harness's Redis (not with the embedded one). */
static void kill_mid_question_and_resume(bool boards)
{
    struct cq_ws host;
    struct player a, b;
    char pin[8], token[80];
    json_t *settings = json_pack("{s:s, s:s, s:[s, s], s:s}", "bank", "mini", "scoring", "accuracy",
                                 "tags", "single", "truefalse", "group", "killed");
    json_t *st = create(&host, settings, pin, token);
    char game_id[40], log[8192] = "";
    snprintf(game_id, sizeof game_id, "%s", jstr(st, "game_id"));
    json_decref(st);
    join(&a, pin, "Ada");
    join(&b, pin, "Bob");
    host_cmd(&host, "start");
    /* Question 0 (single, option 0 right): Ada right, Bob wrong. */
    json_decref(see_question(&a, 0));
    json_decref(see_question(&b, 0));
    answer(&a, 0, json_integer(0));
    answer(&b, 0, json_integer(1));
    json_decref(result(&a, 0, true, 1));
    json_decref(result(&b, 0, false, 1));
    host_cmd(&host, "next");
    host_cmd(&host, "next");
    /* Question 1 (true/false, true right): Ada answers, then the server dies. */
    json_decref(see_question(&a, 1));
    json_decref(see_question(&b, 1));
    answer(&a, 1, json_true());
    /* The game's log holds that answer, and Bob's `shown` (no answer yet): after the restart, the
     * `shown` his phone sends again must not count as the first. */
    char want[64], bob_shown[64];
    snprintf(want, sizeof want, ",%lld,1,true,", a.id); /* player, question, answer */
    snprintf(bob_shown, sizeof bob_shown, "\"shown\",");
    bool found = false;
    /* Acknowledged means stored: the answer is in the log at the first look. */
    read_log(!boards, game_id, log, sizeof log);
    cr_assert(strstr(log, want), "acknowledged, yet not in the log: %s", log);
    for (int i = 0; i < 100 && !found; i++) {
        if (i) {
            usleep(20000);
            read_log(!boards, game_id, log, sizeof log);
        }
        char tail[32];
        snprintf(tail, sizeof tail, ",%lld,1]", b.id);
        for (const char *p = log; !found && (p = strstr(p, bob_shown)); p++) {
            const char *end = strchr(p, ']');
            found = end && end - p < 60 && !strncmp(end + 1 - strlen(tail), tail, strlen(tail));
        }
    }
    cr_assert(strstr(log, want), "the log: %s", log);
    cr_assert(found, "no shown entry for Bob: %s", log);
    sigkill_and_restart((struct cq_ws *[]){&host, &a.ws, &b.ws, NULL});
    /* Ada finds her score, the current question and her answer to it. */
    st = rejoin(&a.ws, pin, a.token, "player");
    cr_assert_str_eq(jstr(st, "phase"), "question");
    cr_assert_eq(jint(st, "index"), 1);
    json_t *you = json_object_get(st, "you");
    cr_assert_eq(jint(you, "score"), 1000);
    cr_assert(json_is_true(json_object_get(you, "answered")));
    cr_assert_gt(jint(json_object_get(st, "question"), "remaining_ms"), 0);
    json_decref(st);
    st = rejoin(&b.ws, pin, b.token, "player");
    cr_assert_eq(jint(json_object_get(st, "you"), "score"), 0);
    cr_assert(json_is_false(json_object_get(json_object_get(st, "you"), "answered")));
    json_decref(st);
    json_decref(rejoin(&host, pin, token, "host"));
    /* The game goes on: Bob answers now, which closes the question. */
    answer(&b, 1, json_true());
    json_decref(result(&a, 1, true, 1));
    cr_assert_eq(a.earned, 2000); /* result() checked `score` against 1000 + this */
    json_decref(result(&b, 1, true, 1));
    host_cmd(&host, "next");
    cr_assert_eq(cq_ws_send_json(&host, json_pack("{s:s}", "type", "next")), 0);
    json_t *end = client_expect(&host, "ended");
    json_t *top = json_array_get(json_object_get(end, "podium"), 0);
    cr_assert_str_eq(jstr(top, "nickname"), "Ada");
    cr_assert_eq(jint(top, "score"), 2000);
    json_decref(end);
    if (boards)
        assert_group_scores("killed", "2000", "1000");
    cq_ws_free(&host);
    cq_ws_free(&a.ws);
    cq_ws_free(&b.ws);
}

Test(store, server_killed_mid_question_resumes_the_game)
{
    kill_mid_question_and_resume(true);
}

/* Everything the harness's Redis holds, key names and values, as text. */
static size_t redis_dump(char *out, size_t cap)
{
    struct timeval tv = {2, 0};
    size_t len = 0;
    redisContext *c = redisConnectWithTimeout("127.0.0.1", h.redis_port, tv);
    cr_assert(c && !c->err, "no Redis");
    redisReply *keys = redisCommand(c, "KEYS *");
    cr_assert(keys && keys->type == REDIS_REPLY_ARRAY);
    for (size_t i = 0; i < keys->elements; i++) {
        const char *k = keys->element[i]->str;
        redisReply *t = redisCommand(c, "TYPE %s", k);
        const char *type = t->str;
        redisReply *v = !strcmp(type, "string") ? redisCommand(c, "GET %s", k)
                        : !strcmp(type, "list") ? redisCommand(c, "LRANGE %s 0 -1", k)
                        : !strcmp(type, "hash") ? redisCommand(c, "HGETALL %s", k)
                        : !strcmp(type, "set")  ? redisCommand(c, "SMEMBERS %s", k)
                        : !strcmp(type, "zset") ? redisCommand(c, "ZRANGE %s 0 -1 WITHSCORES", k)
                                                : NULL;
        cr_assert_not_null(v, "key %s of type %s not read", k, type);
        len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s=", k);
        if (v->type == REDIS_REPLY_STRING)
            len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s\n", v->str);
        for (size_t e = 0; v->type == REDIS_REPLY_ARRAY && e < v->elements; e++)
            len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s ",
                                    v->element[e]->str ? v->element[e]->str : "");
        freeReplyObject(v);
        freeReplyObject(t);
    }
    freeReplyObject(keys);
    redisFree(c);
    cr_assert_lt(len, cap, "Redis holds more than the test reads");
    return len;
}

static void assert_not_in_redis(const char *what, const char *secret)
{
    static char dump[1 << 20];
    size_t len = redis_dump(dump, sizeof dump);
    cr_assert_gt(len, 100, "Redis is nearly empty: %s", dump);
    cr_assert_null(strstr(dump, secret), "the %s is in Redis in clear: %s", what, dump);
}

/* No secret in clear in Redis (a backup, a replica, a shared Redis): not in
 * the logs, the records or the group keys, after a game and after the
 * server restored it from its log; and the restored game still takes the
 * same tokens. */
Test(store, tokens_and_group_secrets_are_not_kept_in_clear)
{
    struct cq_ws host;
    struct player a, b;
    char pin[8], token[80], secret[80], path[300], body[65536];
    json_t *st =
        create(&host, json_pack("{s:s, s:s}", "bank", "mini", "group", "hashed"), pin, token);
    char game_id[40];
    snprintf(game_id, sizeof game_id, "%s", jstr(st, "game_id"));
    json_decref(st);
    snprintf(secret, sizeof secret, "%s", created_group_secret);
    cr_assert_gt(strlen(secret), 20);
    join(&a, pin, "Ada");
    join(&b, pin, "Bob");
    host_cmd(&host, "start");
    json_decref(see_question(&a, 0));
    json_decref(see_question(&b, 0));
    answer(&a, 0, json_integer(0));
    /* Both joins and the answer are in the log. */
    char want[64], log[16384] = "";
    snprintf(want, sizeof want, ",%lld,0,0,", a.id);
    for (int i = 0; i < 50 && !strstr(log, want); i++) {
        usleep(20000);
        read_log(false, game_id, log, sizeof log);
    }
    cr_assert(strstr(log, want), "the log: %s", log);
    assert_not_in_redis("host token", token);
    assert_not_in_redis("player token", a.token);
    assert_not_in_redis("player token", b.token);
    assert_not_in_redis("group secret", secret);

    /* Killed and restarted: the game is rebuilt from the log, the same
     * tokens get the same seats back. */
    sigkill_and_restart((struct cq_ws *[]){&host, &a.ws, &b.ws, NULL});
    st = rejoin(&a.ws, pin, a.token, "player");
    cr_assert_eq(jint(json_object_get(st, "you"), "id"), a.id);
    json_decref(st);
    json_decref(rejoin(&b.ws, pin, b.token, "player"));
    json_decref(rejoin(&host, pin, token, "host"));
    host_cmd(&host, "end");
    wait_counted(game_id);
    assert_not_in_redis("host token", token);
    assert_not_in_redis("player token", a.token);
    assert_not_in_redis("player token", b.token);
    assert_not_in_redis("group secret", secret);
    /* The stored result still opens with the host token, and only with it. */
    snprintf(path, sizeof path, "/api/results?game=%s&token=%s", game_id, token);
    wait_body(path, "\"players\":[", body, sizeof body);
    cr_assert_null(strstr(body, "host_token"), "%s", body);
    snprintf(path, sizeof path, "/api/results?game=%s&token=%s", game_id, a.token);
    cr_assert_eq(cq_http_get(h.http_port, path, body, sizeof body), 404); /* as for no game */
    /* The group's next game needs the secret. */
    create_refused("hashed", NULL, "group_secret_required");
    cq_ws_free(&host);
    cq_ws_free(&a.ws);
    cq_ws_free(&b.ws);
}

/* The default set-up: the server's own Redis (stopped with it, started again
 * from its append-only file). */
static void start_embedded(void)
{
    cr_assert_eq(cq_harness_start(&h, true, NULL), 0, "server did not start; see %s", h.log_path);
}

Test(store, killed_with_its_own_redis_resumes_the_game, .init = start_embedded)
{
    kill_mid_question_and_resume(false);
}

/* The server's own Redis is killed mid-game: the server reaps it, starts it
 * again, reconnects and replays what it wrote meanwhile; the answers given
 * while Redis was dead are in the game's log, and survive a restart of the
 * server too. */
Test(store, its_own_redis_killed_is_restarted_and_loses_nothing, .init = start_embedded)
{
    struct cq_ws host;
    struct player a, b;
    char pin[8], token[80], body[65536], log[8192] = "", want[64];
    json_t *st = create(
        &host,
        json_pack("{s:s, s:s, s:[s]}", "bank", "mini", "scoring", "accuracy", "tags", "single"),
        pin, token);
    char game_id[40];
    snprintf(game_id, sizeof game_id, "%s", jstr(st, "game_id"));
    json_decref(st);
    join(&a, pin, "Ada");
    join(&b, pin, "Bob");
    host_cmd(&host, "start");
    json_decref(see_question(&a, 0));
    json_decref(see_question(&b, 0));
    answer(&a, 0, json_integer(0));

    pid_t redis = cq_child_named(h.server_pid, "redis-server");
    cr_assert_gt(redis, 0, "no embedded redis-server");
    cr_assert_eq(kill(redis, SIGKILL), 0);
    /* Answered while Redis is dead (or being started again). */
    answer(&b, 0, json_integer(0));
    json_decref(result(&a, 0, true, 1));
    json_decref(result(&b, 0, true, 1));

    pid_t again = 0;
    for (int i = 0; i < 500 && (again <= 0 || again == redis); i++) {
        usleep(20000);
        again = cq_child_named(h.server_pid, "redis-server");
    }
    cr_assert(again > 0 && again != redis, "no new redis-server; see %s", h.log_path);
    cr_assert(
        wait_status("/metrics", 200, "\nchainquiz_redis_restarts_total 1\n", body, sizeof body),
        "%s", body);
    cr_assert(wait_status("/readyz", 200, "\"redis\":true", body, sizeof body),
              "not ready again: %s; see %s", body, h.log_path);
    /* Reaped: no zombie left behind. */
    char stat_path[64];
    snprintf(stat_path, sizeof stat_path, "/proc/%d", (int)redis);
    cr_assert(access(stat_path, F_OK) != 0, "redis-server %d was not reaped", (int)redis);

    /* Bob's answer reached the new Redis (the journal was replayed). */
    snprintf(want, sizeof want, ",%lld,0,0,", b.id); /* player, question, answer */
    for (int i = 0; i < 250 && !strstr(log, want); i++) {
        usleep(20000);
        read_log(true, game_id, log, sizeof log);
    }
    cr_assert(strstr(log, want), "the log: %s", log);

    /* And the game, with both scores, survives the server too. */
    sigkill_and_restart((struct cq_ws *[]){&a.ws, &b.ws, NULL});
    st = rejoin(&b.ws, pin, b.token, "player");
    cr_assert_eq(jint(json_object_get(st, "you"), "score"), 1000, "Bob's answer was lost");
    json_decref(st);
    cq_ws_free(&b.ws);
    cq_ws_free(&host);
}

/* A Redis whose port takes no connection (full accept queue): every connect
 * times out, and each time-out must lead to another try. */
/* Connect time-outs of 500 ms instead of the default 2 s. */
static void start_short_redis_timeout(void)
{
    static const char *const extra[] = {"--redis-timeout", "500", NULL};
    start_args(extra);
}

Test(store, a_connect_that_hangs_is_tried_again, .init = start_short_redis_timeout)
{
    char body[256], log[65536];
    int port = h.redis_port;
    cq_harness_stop_redis(&h);
    int lfd = socket(AF_INET, SOCK_STREAM, 0), fill[4];
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(listen(lfd, 0), 0);
    for (int i = 0; i < 4; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fill[i], (struct sockaddr *)&sa, sizeof sa);
    }
    /* Two time-outs in the log: the first one was followed by a new try. */
    int timeouts = 0;
    for (int i = 0; i < 300 && timeouts < 2; i++) {
        usleep(100000);
        FILE *f = fopen(h.log_path, "r");
        size_t n = f ? fread(log, 1, sizeof log - 1, f) : 0;
        if (f)
            fclose(f);
        log[n] = '\0';
        timeouts = 0;
        for (const char *p = log; (p = strstr(p, "connect timed out")); p++)
            timeouts++;
    }
    cr_assert_geq(timeouts, 2, "connect time-outs in the log: %d", timeouts);
    for (int i = 0; i < 4; i++)
        close(fill[i]);
    close(lfd);
    cr_assert_eq(cq_harness_start_redis_on(&h, port), 0);
    int status = 0;
    for (int i = 0; i < 150 && status != 200; i++) {
        usleep(100000);
        status = cq_http_get(h.http_port, "/readyz", body, sizeof body);
    }
    cr_assert_eq(status, 200, "Redis never reconnected: %s", body);
}

static void start_short_ttl(void)
{
    static const char *const extra[] = {"--ended-ttl", "1", NULL};
    start_args(extra);
}

/* A live game is listed for restarts with its log; once it has ended and
 * expired, both are gone from Redis. */
Test(store, an_expired_game_leaves_no_log, .init = start_short_ttl)
{
    struct cq_ws host;
    struct player a;
    char pin[8], token[80], out[64] = "";
    json_t *st = create(&host, json_pack("{s:s}", "bank", "mini"), pin, token);
    char game_id[40];
    snprintf(game_id, sizeof game_id, "%s", jstr(st, "game_id"));
    json_decref(st);
    join(&a, pin, "Ada");
    host_cmd(&host, "start");
    json_decref(see_question(&a, 0));
    host_cmd(&host, "end");
    for (int i = 0; i < 50 && strcmp(out, "1"); i++) {
        usleep(100000);
        cq_redis_cmd(&h, out, sizeof out, "SISMEMBER cq:live %s", game_id);
    }
    cr_assert_str_eq(out, "1", "the game is not listed as live");
    cq_redis_cmd(&h, out, sizeof out, "EXISTS cq:game:%s:log", game_id);
    cr_assert_str_eq(out, "1", "the game has no log");
    /* Ended games stay --ended-ttl (1 s here) for results, then expire. */
    for (int i = 0; i < 300 && strcmp(out, "0"); i++) {
        usleep(100000);
        cq_redis_cmd(&h, out, sizeof out, "EXISTS cq:game:%s:log", game_id);
    }
    cr_assert_str_eq(out, "0", "the expired game's log is still there");
    cq_redis_cmd(&h, out, sizeof out, "SISMEMBER cq:live %s", game_id);
    cr_assert_str_eq(out, "0", "the expired game is still listed as live");
    cq_ws_free(&host);
    cq_ws_free(&a.ws);
}

/* ---- acknowledged only once stored (docs/redis.md) ------------------------ */

static void start_patient(void)
{
    static const char *const extra[] = {"--redis-timeout", "60000", NULL};
    start_args(extra);
}

/* Redis holds the answer's log entry (stopped: SIGSTOP) and the server is
 * patient (--redis-timeout 60 s): the answer is counted at once, and its
 * acknowledgement waits for Redis. The moment Redis answers, the ack comes,
 * and the entry is in the game's log. Before this, the ack left in the same
 * loop iteration as the answer was taken, before its entry was sent. */
Test(store, an_answer_is_acknowledged_only_once_its_log_entry_is_stored, .init = start_patient)
{
    struct cq_ws host;
    struct player a;
    char pin[8], token[80], log[8192], want[64];
    json_t *st =
        create(&host, json_pack("{s:s, s:[s]}", "bank", "mini", "tags", "single"), pin, token);
    char game_id[40];
    snprintf(game_id, sizeof game_id, "%s", jstr(st, "game_id"));
    json_decref(st);
    join(&a, pin, "Ada");
    host_cmd(&host, "start");
    json_decref(see_question(&a, 0));

    cr_assert_eq(kill(h.redis_pid, SIGSTOP), 0);
    answer_taken(&a, 0, 0, 1);
    /* Taken, and not acknowledged: an ack written with the answer would be
     * in the socket by now (loopback delivers at write). */
    json_t *early = cq_ws_recv(&a.ws, 0);
    cr_assert_null(early, "acknowledged before Redis stored it: %s",
                   early ? json_dumps(early, 0) : "");

    cr_assert_eq(kill(h.redis_pid, SIGCONT), 0);
    json_t *ack = client_expect(&a.ws, "answer_ack");
    cr_assert_str_eq(jstr(ack, "id"), "a1");
    json_decref(ack);
    read_log(false, game_id, log, sizeof log);
    snprintf(want, sizeof want, ",%lld,0,0,", a.id); /* player, question, answer */
    cr_assert(strstr(log, want), "acknowledged, yet not in the log: %s", log);
    cq_ws_free(&host);
    cq_ws_free(&a.ws);
}

/* The last answer closes the question while Redis holds its log entry
 * (stopped): no one is shown the reveal, not even the players whose answers
 * were acknowledged before. Then Redis and the server die (kill -9), the
 * entry with them; the restarted server resumes the question open, as the
 * log has it, and none of its players has seen its answer. Before, the
 * others were sent the reveal at once, and the restart reopened the
 * question to them. */
Test(store, a_question_is_revealed_only_once_its_close_is_stored, .init = start_patient)
{
    struct cq_ws host;
    struct player a, b, c;
    char pin[8], token[80];
    json_decref(
        create(&host, json_pack("{s:s, s:[s]}", "bank", "mini", "tags", "single"), pin, token));
    join(&a, pin, "Ada");
    join(&b, pin, "Bob");
    join(&c, pin, "Cy");
    host_cmd(&host, "start");
    json_decref(see_question(&a, 0));
    json_decref(see_question(&b, 0));
    json_decref(see_question(&c, 0));
    answer(&a, 0, json_integer(0));
    answer(&c, 0, json_integer(1));

    cr_assert_eq(kill(h.redis_pid, SIGSTOP), 0);
    answer_taken(&b, 0, 0, 3);
    /* A projector reloading now, and a host's second screen: their `state`
     * would show the reveal. */
    struct cq_ws screen, host2;
    client_open(&screen, &h);
    client_open(&host2, &h);
    cr_assert_eq(cq_ws_send_json(&screen, json_pack("{s:s, s:s, s:s}", "type", "watch", "pin", pin,
                                                    "token", watch_token)),
                 0);
    cr_assert_eq(cq_ws_send_json(&host2, json_pack("{s:s, s:s, s:s}", "type", "rejoin", "pin", pin,
                                                   "token", token)),
                 0);
    /* Two more requests: the loop has read those and gone round since, so
     * a reveal, or a state showing it, would be in the sockets by now. */
    wait_answers_taken(3);
    wait_answers_taken(3);
    struct cq_ws *seen[] = {&a.ws, &c.ws, &host, &screen, &host2};
    for (size_t i = 0; i < sizeof seen / sizeof seen[0]; i++) {
        json_t *early = cq_ws_recv(seen[i], 0);
        cr_assert_null(early, "sent before Redis stored the close: %s",
                       early ? json_dumps(early, 0) : "");
    }

    /* The server first: told that Redis went, it would keep the entry in
     * its journal file, and send it at its restart. */
    int port = h.redis_port;
    cr_assert_eq(kill(h.server_pid, SIGKILL), 0);
    cr_assert_neq(cq_harness_wait(h.server_pid, 5000), -1);
    h.server_pid = -1;
    cr_assert_eq(kill(h.redis_pid, SIGKILL), 0);
    cr_assert_neq(cq_harness_wait(h.redis_pid, 5000), -1);
    h.redis_pid = -1;
    cq_ws_free(&host);
    cq_ws_free(&screen);
    cq_ws_free(&host2);
    cq_ws_free(&a.ws);
    cq_ws_free(&b.ws);
    cq_ws_free(&c.ws);
    cr_assert_eq(cq_harness_start_redis_on(&h, port), 0);
    cr_assert_eq(cq_harness_start_server(&h, NULL), 0, "no restart; see %s", h.log_path);

    /* The question is open, as the log has it: Bob has not answered. */
    json_t *st = rejoin(&a.ws, pin, a.token, "player");
    cr_assert_str_eq(jstr(st, "phase"), "question");
    cr_assert(json_is_true(json_object_get(json_object_get(st, "you"), "answered")));
    json_decref(st);
    json_decref(rejoin(&c.ws, pin, c.token, "player"));
    st = rejoin(&b.ws, pin, b.token, "player");
    cr_assert_str_eq(jstr(st, "phase"), "question");
    cr_assert(json_is_false(json_object_get(json_object_get(st, "you"), "answered")));
    json_decref(st);
    answer(&b, 0, json_integer(0)); /* the close, again, stored this time */
    json_decref(result(&a, 0, true, 1));
    json_decref(result(&b, 0, true, 1));
    json_decref(result(&c, 0, false, 1));
    cq_ws_free(&a.ws);
    cq_ws_free(&b.ws);
    cq_ws_free(&c.ws);
}

static void start_patient_short_phases(void)
{
    static const char *const extra[] = {"--redis-timeout",
                                        "60000",
                                        "--reveal-time",
                                        "100",
                                        "--leaderboard-time",
                                        "100",
                                        "--max-show-delay",
                                        "0",
                                        NULL};
    start_args(extra);
}

/* With auto_advance, the game waits on a reveal that Redis has not stored
 * (stopped; an external Redis, no journal file to acknowledge from): its
 * next question is not run behind the held screens, where nobody could
 * answer it. Redis back, the players see the reveal, then the next question
 * with its time, and answer it. Before, the game ran on: the next question
 * and its reveal arrived together, and every answer was too late. The
 * pause gives the game the time to run its next question (reveal and
 * leaderboard 100 ms, a question of 1 s); it is no wait for an event, and
 * the checks after it hold however long it is. */
Test(store, an_auto_advancing_game_waits_for_its_reveal_while_redis_is_stopped,
     .init = start_patient_short_phases)
{
    struct cq_ws host;
    struct player a, b;
    char pin[8], token[80];
    json_decref(create(&host,
                       json_pack("{s:s, s:[s, s], s:b, s:i}", "bank", "mini", "tags", "single",
                                 "truefalse", "auto_advance", 1, "time_limit", 1),
                       pin, token));
    join(&a, pin, "Ada");
    join(&b, pin, "Bob");
    host_cmd(&host, "start");
    json_decref(see_question(&a, 0));
    json_decref(see_question(&b, 0));
    answer(&a, 0, json_integer(0));
    cr_assert_eq(kill(h.redis_pid, SIGSTOP), 0);
    answer_taken(&b, 0, 0, 2); /* the last answer: the question closes */
    usleep(2500 * 1000);
    cr_assert_eq(kill(h.redis_pid, SIGCONT), 0);
    json_decref(result(&a, 0, true, 1));
    json_t *q = see_question(&a, 1);
    cr_assert_gt(jint(q, "remaining_ms"), 500, "question 1 ran while its screens were held");
    json_decref(q);
    answer(&a, 1, json_true());
    json_decref(result(&a, 1, true, 1));
    cq_ws_free(&host);
    cq_ws_free(&a.ws);
    cq_ws_free(&b.ws);
}

/* Redis is gone: an answer is acknowledged once it is in the journal file
 * (synced), and a server killed then (kill -9) and started again, with Redis
 * back, sends the file to Redis before it reads the logs: the answer is
 * there. Before the journal file, the game came back without it. */
Test(store, acknowledged_while_redis_is_away_survives_a_server_kill, .init = start_journal_acks)
{
    struct cq_ws host;
    struct player a, b;
    char pin[8], token[80];
    json_decref(create(
        &host,
        json_pack("{s:s, s:s, s:[s]}", "bank", "mini", "scoring", "accuracy", "tags", "single"),
        pin, token));
    join(&a, pin, "Ada");
    join(&b, pin, "Bob");
    host_cmd(&host, "start");
    json_decref(see_question(&a, 0));
    json_decref(see_question(&b, 0));

    int port = h.redis_port;
    cq_harness_stop_redis(&h); /* SIGTERM: what it had is in its file */
    json_t *w = cq_ws_expect(&host, "warning", 15000);
    cr_assert_not_null(w, "no redis_down warning");
    cr_assert_str_eq(jstr(w, "code"), "redis_down");
    json_decref(w);
    answer(&a, 0, json_integer(0)); /* acknowledged: in the journal file */

    cr_assert_eq(kill(h.server_pid, SIGKILL), 0);
    cr_assert_neq(cq_harness_wait(h.server_pid, 5000), -1);
    h.server_pid = -1;
    cq_ws_free(&host);
    cq_ws_free(&a.ws);
    cq_ws_free(&b.ws);
    cr_assert_eq(cq_harness_start_redis_on(&h, port), 0);
    cr_assert_eq(cq_harness_start_server(&h, NULL), 0, "no restart; see %s", h.log_path);
    cr_assert_eq(cq_log_count(&h, "a previous run kept in"), 1, "the journal file was not sent");

    json_t *st = rejoin(&a.ws, pin, a.token, "player");
    json_t *you = json_object_get(st, "you");
    cr_assert(json_is_true(json_object_get(you, "answered")), "Ada's answer was lost");
    json_decref(st);
    st = rejoin(&b.ws, pin, b.token, "player");
    cr_assert(json_is_false(json_object_get(json_object_get(st, "you"), "answered")));
    json_decref(st);
    json_decref(rejoin(&host, pin, token, "host"));
    answer(&b, 0, json_integer(1)); /* the last one expected: the question closes */
    json_decref(result(&a, 0, true, 1));
    json_decref(result(&b, 0, false, 1));
    cq_ws_free(&host);
    cq_ws_free(&a.ws);
    cq_ws_free(&b.ws);
}

/* A player whose phone drops and rejoins in a loop (each a log entry, and
 * so is each drop) is slowed: CQ_REJOINS_BURST rejoins in a row, then
 * `rate_limited`, which is no wrong guess. Found by an attack: one client
 * made about 1,200 log writes a second this way, and with Redis away filled
 * the journal until everyone's requests were refused. */
Test(store, a_seat_that_drops_and_rejoins_in_a_loop_is_slowed)
{
    struct cq_ws host;
    struct player a;
    char pin[8], token[80];
    json_decref(create(&host, json_pack("{s:s}", "bank", "mini"), pin, token));
    join(&a, pin, "Ada");
    wait_connected(&host, 1);
    for (int i = 0; i < CQ_REJOINS_BURST; i++) {
        cq_ws_free(&a.ws);
        wait_connected(&host, 0);
        json_decref(rejoin(&a.ws, pin, a.token, "player"));
        wait_connected(&host, 1);
    }
    cq_ws_free(&a.ws);
    wait_connected(&host, 0);
    client_open(&a.ws, &h);
    json_t *e = client_req(
        &a.ws, json_pack("{s:s, s:s, s:s}", "type", "rejoin", "pin", pin, "token", a.token),
        "error");
    cr_assert_str_eq(jstr(e, "code"), "rate_limited");
    json_decref(e);
    cr_assert_eq(metric("chainquiz_wrong_guesses_total"), 0);
    cq_ws_free(&a.ws);
    cq_ws_free(&host);
}

/* ---- what a board counts ---------------------------------------------------- */

static void start_short_grace(void)
{
    static const char *const extra[] = {"--rejoin-grace", "1", NULL};
    start_args(extra);
}

/* Ada's phone dies mid-game and her seat is released after the rejoin grace;
 * she joins again as "Ada" (a new seat, 0 points) and scores once more. The
 * game counts for "ada" on the boards once, with the better seat: 1000, not
 * the 2000 of both seats added up (docs/redis.md, "What a board counts"). */
Test(store, a_nickname_counts_once_per_game_on_the_boards, .init = start_short_grace)
{
    struct cq_ws host;
    struct player a, a2, b;
    char pin[8], token[80];
    json_decref(create(&host,
                       json_pack("{s:s, s:s, s:[s, s], s:s}", "bank", "mini", "scoring", "accuracy",
                                 "tags", "single", "truefalse", "group", "reseated"),
                       pin, token));
    join(&a, pin, "Ada");
    join(&b, pin, "Bob");
    host_cmd(&host, "start");
    json_decref(see_question(&a, 0));
    json_decref(see_question(&b, 0));
    answer(&a, 0, json_integer(0)); /* right */
    answer(&b, 0, json_integer(1)); /* wrong */
    json_decref(result(&a, 0, true, 1));
    json_decref(result(&b, 0, false, 1));

    /* Her phone dies; after the grace her seat is released (the host's
     * lobby update lists her as left). */
    cq_ws_free(&a.ws);
    bool released = false;
    while (!released) {
        json_t *l = client_expect(&host, "lobby");
        json_t *left = json_object_get(l, "left"), *x;
        size_t i;
        json_array_foreach(left, i, x) released |= jint(x, "id") == a.id;
        json_decref(l);
    }
    /* Back on a new phone, as "Ada" again: a new seat. */
    client_open(&a2.ws, &h);
    json_t *j = client_req(
        &a2.ws, json_pack("{s:s, s:s, s:s}", "type", "join", "pin", pin, "nickname", "Ada"),
        "joined");
    a2.id = jint(json_object_get(j, "player"), "id");
    cr_assert_neq(a2.id, a.id);
    json_decref(j);
    a2.earned = 0;
    host_cmd(&host, "next");
    host_cmd(&host, "next");
    json_decref(see_question(&a2, 1));
    json_decref(see_question(&b, 1));
    answer(&a2, 1, json_true());
    answer(&b, 1, json_true());
    json_decref(result(&a2, 1, true, 1));
    json_decref(result(&b, 1, true, 1));
    host_cmd(&host, "end");
    assert_group_scores("reseated", "1000", "1000");
    cq_ws_free(&host);
    cq_ws_free(&a2.ws);
    cq_ws_free(&b.ws);
}

/* ---- --redis-replicas --------------------------------------------------------- */

static void start_with_replica_wait(void)
{
    static const char *const extra[] = {"--redis-timeout", "60000", "--redis-replicas", "1", NULL};
    start_args(extra);
}

/* The game's log as text, from a Redis on `port`. */
static void read_log_at(int port, const char *game_id, char *out, size_t cap)
{
    redisContext *c = redisConnect("127.0.0.1", port);
    redisReply *r = c && !c->err ? redisCommand(c, "LRANGE cq:game:%s:log 0 -1", game_id) : NULL;
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s ", r->element[i]->str);
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
}

/* With --redis-replicas 1, an answer is acknowledged once a replica has its
 * log entry too: with the replica stopped (SIGSTOP) the answer is taken and
 * not acknowledged; the replica back, the ack comes and the replica holds the
 * entry. */
Test(store, with_replicas_to_wait_for_an_ack_waits_for_a_replica, .init = start_with_replica_wait)
{
    struct cq_ws host;
    struct player a;
    char pin[8], token[80], log[8192], want[64];
    int rport;
    pid_t replica = cq_harness_start_replica(&h, &rport);
    cr_assert_gt(replica, 0, "no replica");
    json_t *st =
        create(&host, json_pack("{s:s, s:[s]}", "bank", "mini", "tags", "single"), pin, token);
    char game_id[40];
    snprintf(game_id, sizeof game_id, "%s", jstr(st, "game_id"));
    json_decref(st);
    join(&a, pin, "Ada");
    host_cmd(&host, "start");
    json_decref(see_question(&a, 0));

    cr_assert_eq(kill(replica, SIGSTOP), 0);
    answer_taken(&a, 0, 0, 1);
    json_t *early = cq_ws_recv(&a.ws, 0);
    cr_assert_null(early, "acknowledged before the replica had it: %s",
                   early ? json_dumps(early, 0) : "");

    cr_assert_eq(kill(replica, SIGCONT), 0);
    json_t *ack = client_expect(&a.ws, "answer_ack");
    json_decref(ack);
    read_log_at(rport, game_id, log, sizeof log);
    snprintf(want, sizeof want, ",%lld,0,0,", a.id);
    cr_assert(strstr(log, want), "acknowledged, yet not on the replica: %s", log);
    cr_assert_eq(metric("chainquiz_redis_wait_short_total"), 0);
    kill(replica, SIGKILL);
    cq_harness_wait(replica, 5000);
    cq_ws_free(&host);
    cq_ws_free(&a.ws);
}

/* SIGTERM while an acknowledgement waits for Redis (stopped): the server
 * shuts down without sending it (then a SIGKILL, as an impatient supervisor
 * sends, cannot leave a client with an acknowledgement of what is not
 * stored). Before, the waiting replies were let go as the games closed. */
Test(store, a_shutdown_sends_no_acknowledgement_of_what_is_not_stored, .init = start_patient)
{
    struct cq_ws host;
    struct player a;
    char pin[8], token[80];
    json_decref(
        create(&host, json_pack("{s:s, s:[s]}", "bank", "mini", "tags", "single"), pin, token));
    join(&a, pin, "Ada");
    host_cmd(&host, "start");
    json_decref(see_question(&a, 0));

    cr_assert_eq(kill(h.redis_pid, SIGSTOP), 0);
    answer_taken(&a, 0, 0, 1);
    cr_assert_eq(kill(h.server_pid, SIGTERM), 0);
    /* Everything the server sends until it closes the connection. */
    bool acked = false;
    while (!a.ws.closed) {
        json_t *m = cq_ws_recv(&a.ws, 10000);
        if (!m)
            break;
        acked |= !strcmp(jstr(m, "type"), "answer_ack");
        json_decref(m);
    }
    cr_assert(a.ws.closed, "the server did not close the connection at shutdown");
    cr_assert_not(acked, "acknowledged at shutdown, though Redis never stored it");
    cr_assert_eq(kill(h.server_pid, SIGKILL), 0);
    cq_harness_wait(h.server_pid, 5000);
    h.server_pid = -1;
    cr_assert_eq(kill(h.redis_pid, SIGCONT), 0);
    cq_ws_free(&host);
    cq_ws_free(&a.ws);
}

/* A question left without input for a while, then the server killed and
 * started again at once: the time it ran without inputs counts (the server
 * writes a heartbeat each second), only the downtime does not. Before, the
 * clock went on from the last input: 20 s of silence were given back. */
Test(store, a_restart_gives_back_only_the_downtime)
{
    struct cq_ws host;
    struct player a;
    char pin[8], token[80];
    json_decref(create(
        &host, json_pack("{s:s, s:[s], s:i}", "bank", "mini", "tags", "single", "time_limit", 60),
        pin, token));
    join(&a, pin, "Ada");
    host_cmd(&host, "start");
    json_t *q = see_question(&a, 0);
    long long before = jint(q, "remaining_ms");
    json_decref(q);
    /* 2.5 s with no input (pings are none), then kill -9 and a restart. */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        json_decref(client_req(&host, json_pack("{s:s}", "type", "ping"), "pong"));
        usleep(60000);
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 2500);
    sigkill_and_restart((struct cq_ws *[]){&host, &a.ws, NULL});
    json_t *st = rejoin(&a.ws, pin, a.token, "player");
    long long after = jint(json_object_get(st, "question"), "remaining_ms");
    json_decref(st);
    /* The heartbeat is at most a second old when the server dies. */
    cr_assert_geq(before - after, 1500,
                  "%lld ms left before, %lld after: the silence was given back", before, after);
    cr_assert_leq(before - after, 2500 + 2000, "%lld ms left before, %lld after", before, after);
    cq_ws_free(&a.ws);
}

/* ---- the journal's bound --------------------------------------------------- */

static void start_small_journal(void)
{
    static const char *const extra[] = {"--journal-max", "100", "--journal-acks", NULL};
    start_args(extra);
}

/* Redis away and the journal (--journal-max 100) filling: joins past its
 * bound (each join is a write and keeps one back for the seat's drop, so
 * about 45 of the 90 writes above the tenth) are refused with
 * storage_full, changing nothing; every join that was welcomed survives
 * kill -9 of the server once Redis is back (the journal file). Before, the
 * journal dropped writes and still acknowledged them: welcomed players,
 * acknowledged answers and whole games were lost. */
Test(store, a_full_journal_refuses_instead_of_acknowledging_what_it_drops,
     .init = start_small_journal)
{
    enum { TRIES = 120 };
    static struct player p[TRIES];
    struct cq_ws host;
    char pin[8], token[80];
    bool welcomed[TRIES] = {false};
    json_decref(create(&host, json_pack("{s:s}", "bank", "mini"), pin, token));
    int port = h.redis_port;
    cq_harness_stop_redis(&h);
    json_t *w = cq_ws_expect(&host, "warning", 15000);
    cr_assert_not_null(w, "no redis_down warning");
    json_decref(w);

    int ok = 0, full = 0;
    for (int i = 0; i < TRIES; i++) {
        char nick[16];
        snprintf(nick, sizeof nick, "P%d", i);
        client_open(&p[i].ws, &h);
        cr_assert_eq(cq_ws_send_json(&p[i].ws, json_pack("{s:s, s:s, s:s}", "type", "join", "pin",
                                                         pin, "nickname", nick)),
                     0);
        json_t *m = cq_ws_recv(&p[i].ws, 10000);
        cr_assert_not_null(m, "no answer to join %d", i);
        if (!strcmp(jstr(m, "type"), "joined")) {
            welcomed[i] = true;
            snprintf(p[i].token, sizeof p[i].token, "%s", jstr(m, "token"));
            ok++;
        } else {
            cr_assert_str_eq(jstr(m, "code"), "storage_full", "join %d: %s", i, jstr(m, "code"));
            full++;
        }
        json_decref(m);
    }
    cr_assert_geq(ok, 25, "%d welcomed", ok);
    cr_assert_gt(full, 0, "none refused: the journal bound was not reached");
    /* A welcomed player drops (an entry of the tenth kept back) and comes
     * back: a rejoin writes too, and is refused; the seat stays. */
    wait_connected(&host, ok);
    int first = 0;
    while (!welcomed[first])
        first++;
    cq_ws_free(&p[first].ws);
    wait_connected(&host, ok - 1);
    client_open(&p[first].ws, &h);
    json_t *e = client_req(
        &p[first].ws,
        json_pack("{s:s, s:s, s:s}", "type", "rejoin", "pin", pin, "token", p[first].token),
        "error");
    cr_assert_str_eq(jstr(e, "code"), "storage_full");
    json_decref(e);
    /* Every seat drops now, one at a time, each in a loop iteration of its
     * own and so a journal write of its own: the journal kept one back for
     * each (found by an attack: one client's many seats, closed so at the
     * threshold, ate the tenth kept for the timers, and writes of other
     * games were dropped). */
    long long conns = metric("chainquiz_connections");
    for (int i = 0; i < TRIES; i++) {
        if (!welcomed[i] || i == first)
            continue;
        cq_ws_free(&p[i].ws);
        conns--;
        for (int k = 0; k < 500 && metric("chainquiz_connections") > conns; k++)
            usleep(1000);
        cr_assert_eq(metric("chainquiz_connections"), conns, "seat %d's close not seen", i);
    }
    wait_connected(&host, 0);
    cr_assert_eq(metric("chainquiz_redis_journal_dropped_total"), 0);

    /* The server dies; Redis and the server come back; everyone welcomed
     * still has a seat. */
    cr_assert_eq(kill(h.server_pid, SIGKILL), 0);
    cr_assert_neq(cq_harness_wait(h.server_pid, 5000), -1);
    h.server_pid = -1;
    cq_ws_free(&host);
    for (int i = 0; i < TRIES; i++)
        cq_ws_free(&p[i].ws);
    cr_assert_eq(cq_harness_start_redis_on(&h, port), 0);
    cr_assert_eq(cq_harness_start_server(&h, NULL), 0, "no restart; see %s", h.log_path);
    for (int i = 0; i < TRIES; i++) {
        if (!welcomed[i])
            continue;
        json_decref(rejoin(&p[i].ws, pin, p[i].token, "player"));
        cq_ws_free(&p[i].ws);
    }
}

/* Redis away (--journal-max 100: a tenth, 10; past 45 writes, the second
 * half shared by the games' players). One client, behind the class's own
 * address, joins and leaves game A in a loop, each a journal write: first
 * come, first served up to the half, then game A adds only its part and is
 * refused (storage_full); the same in game C, its part as small. The class
 * in game B (three players, the same address) still answers, a newcomer
 * still joins B, A's host's `start` is refused but its `end` is not, and
 * nothing is dropped. Found by attacks: such a loop (about 400 writes a
 * second) had every game on the server refused after four minutes; a share
 * of what was left per game let one address use game after game; a share
 * per address let one pupil lock out a class behind the school's address;
 * a host's `next` loop, not counted, filled it for a class. */
static int join_leave_until_refused(const char *pin, const char *prefix)
{
    struct cq_ws loop;
    for (int joins = 0;; joins++) {
        char nick[16];
        snprintf(nick, sizeof nick, "%s%d", prefix, joins);
        cr_assert_lt(joins, 100, "game %s was never refused", pin);
        client_open(&loop, &h); /* a connection each time: within any rate */
        cr_assert_eq(cq_ws_send_json(&loop, json_pack("{s:s, s:s, s:s}", "type", "join", "pin", pin,
                                                      "nickname", nick)),
                     0);
        json_t *m = cq_ws_recv(&loop, 10000);
        cr_assert_not_null(m, "no answer to join %d", joins);
        bool refused = !strcmp(jstr(m, "type"), "error");
        if (refused)
            cr_assert_str_eq(jstr(m, "code"), "storage_full", "join %d: %s", joins,
                             jstr(m, "code"));
        else
            cr_assert_str_eq(jstr(m, "type"), "joined");
        json_decref(m);
        if (!refused)
            json_decref(client_req(&loop, json_pack("{s:s}", "type", "leave"), "ok"));
        cq_ws_free(&loop);
        if (refused)
            return joins;
    }
}

Test(store, one_client_s_loop_of_writes_leaves_each_game_its_part_of_the_journal,
     .init = start_small_journal)
{
    struct cq_ws host_a, host_b, host_c, late;
    struct player cls[3];
    char pin_a[8], pin_b[8], pin_c[8], token[80];
    json_decref(create(&host_a, json_pack("{s:s}", "bank", "mini"), pin_a, token));
    json_decref(create(&host_c, json_pack("{s:s}", "bank", "mini"), pin_c, token));
    json_decref(create(
        &host_b, json_pack("{s:s, s:b, s:i}", "bank", "mini", "shuffle", 0, "time_limit", 120),
        pin_b, token));
    for (int i = 0; i < 3; i++) {
        char nick[8];
        snprintf(nick, sizeof nick, "C%d", i);
        join(&cls[i], pin_b, nick);
    }
    host_cmd(&host_b, "start");
    for (int i = 0; i < 3; i++)
        json_decref(see_question(&cls[i], 0));
    cq_harness_stop_redis(&h);
    json_t *w = cq_ws_expect(&host_a, "warning", 15000);
    cr_assert_not_null(w, "no redis_down warning");
    json_decref(w);

    int in_a = join_leave_until_refused(pin_a, "A");
    cr_assert_gt(in_a, 20, "game A refused after %d joins: before the half?", in_a);
    int in_c = join_leave_until_refused(pin_c, "C");
    cr_assert_gt(in_c, 0);
    cr_assert_lt(in_c, in_a, "game C had more than its part");
    /* The class goes on. */
    for (int i = 0; i < 3; i++)
        answer(&cls[i], 0, json_integer(0));
    client_open(&late, &h);
    json_decref(client_req(
        &late, json_pack("{s:s, s:s, s:s}", "type", "join", "pin", pin_b, "nickname", "Late"),
        "joined"));
    /* A's host's commands count too (a host's `next` loop in game after
     * game filled the journal for a class), all but `end`. */
    client_err(&host_a, json_pack("{s:s}", "type", "start"), "storage_full");
    host_cmd(&host_a, "end");
    cr_assert_eq(metric("chainquiz_redis_journal_dropped_total"), 0);
    /* The operator sees games' parts spent, not a full journal. */
    cr_assert_eq(metric("chainquiz_storage_share_refused_total"), 3);
    cr_assert_eq(metric("chainquiz_storage_full_total"), 0);
    cq_ws_free(&late);
    for (int i = 0; i < 3; i++)
        cq_ws_free(&cls[i].ws);
    cq_ws_free(&host_a);
    cq_ws_free(&host_b);
    cq_ws_free(&host_c);
}

/* ---- one server per Redis and key prefix ------------------------------------- */

/* A second server on the same Redis and prefix (its own data folder, as in a
 * start-the-new-then-stop-the-old upgrade) would take over the first one's
 * games and write the same log entry numbers (attack: acknowledged answers
 * lost for good). It waits out the first one's lease (its own
 * --server-lease, 2 s here) and exits, naming it; with its own prefix it
 * starts. */
/* A second server on the harness's Redis, with its own data folder and port
 * in `h2`, and `prefix` (NULL: the same as the first); `lease`: its
 * --server-lease. Not waited for. */
static pid_t spawn_second(struct cq_harness *h2, const char *folder, const char *prefix,
                          const char *lease)
{
    static char url[64], data[300];
    *h2 = h;
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", h.redis_port);
    snprintf(data, sizeof data, "%s/%s", h.dir, folder);
    snprintf(h2->log_path, sizeof h2->log_path, "%s/%s.log", h.dir, folder);
    h2->http_port = cq_free_port();
    const char *args[] = {"--redis",
                          url,
                          "--data-dir",
                          data,
                          "--content",
                          CQ_SOURCE_DIR "/tests/fixtures/content",
                          "--key-prefix",
                          prefix ? prefix : "cq:",
                          "--server-lease",
                          lease,
                          NULL};
    pid_t pid = cq_harness_spawn(h2, args);
    cr_assert_gt(pid, 0);
    return pid;
}

/* Waits until the server of `hh` says it is ready; its /readyz status. */
static int wait_ready(const struct cq_harness *hh)
{
    int ready = 0;
    for (int i = 0; i < 1000 && ready != 200; i++) {
        ready = cq_http_get(hh->http_port, "/readyz", NULL, 0);
        if (ready != 200)
            usleep(20000);
    }
    return ready;
}

Test(store, a_second_server_on_the_same_redis_prefix_is_refused)
{
    struct cq_harness h2;
    pid_t second = spawn_second(&h2, "data2", NULL, "2");
    int status = cq_harness_wait(second, 20000);
    cr_assert_eq(status, 1, "the second server did not exit with 1 (%d); see %s", status,
                 h2.log_path);
    cr_assert_eq(cq_log_count(&h2, "another chainquiz server ("), 2, "see %s", h2.log_path);
    cr_assert_eq(cq_log_count(&h2, "give each server its own --key-prefix"), 1);

    /* Its own prefix: it starts. */
    second = spawn_second(&h2, "data3", "other:", "10");
    cr_assert_eq(wait_ready(&h2), 200, "the server with its own prefix did not start; see %s",
                 h2.log_path);
    kill(second, SIGTERM);
    cr_assert_eq(cq_harness_wait(second, 10000), 0);
}

/* A server paused (SIGSTOP: a VM freeze, `docker pause`) for longer than its
 * lease, while a second server on the same Redis and prefix takes the prefix
 * over and resumes its games. When the first wakes up it must write and
 * acknowledge nothing more: an answer it took then would get an
 * `answer_ack` and a log entry under a number the second server also uses,
 * and be dropped when the log is replayed (attack: an acknowledged answer
 * lost). It finds the lease gone before any write and exits. */
static void start_short_lease(void)
{
    static const char *const extra[] = {"--server-lease", "2", NULL};
    start_args(extra);
}

/* A game of the mini bank, started, with Ada (and Bob, unless NULL) at
 * its first question. */
static void ada_at_question_0(struct cq_ws *host, struct player *a, struct player *bob,
                              char game_id[40])
{
    char pin[8], token[80];
    json_t *st = create(host, json_pack("{s:s}", "bank", "mini"), pin, token);
    snprintf(game_id, 40, "%s", jstr(st, "game_id"));
    json_decref(st);
    join(a, pin, "Ada");
    if (bob)
        join(bob, pin, "Bob");
    host_cmd(host, "start");
    json_decref(see_question(a, 0));
    if (bob)
        json_decref(see_question(bob, 0));
}

static void start_small_send_queue(void)
{
    static const char *const extra[] = {"--send-queue", "4", NULL};
    start_args(extra);
}

/* What waits for the game's log does not count towards --send-queue, but
 * it has a ceiling too: 16 times it (64 here). With Redis stopped (external,
 * no --journal-acks: nothing is acknowledged until it is back), the host's
 * add_time queue a broadcast and an `ok` each behind its first held `ok`:
 * cut off at the 33rd (what it sent after is not read). Ada, whose answer
 * waits with those broadcasts behind it, is kept, and gets them once Redis
 * is back: at least the 30 that fit before the host's ceiling. */
Test(store, what_waits_for_the_log_has_a_ceiling_too, .init = start_small_send_queue)
{
    struct cq_ws host;
    struct player a, bob; /* Bob does not answer: Ada's answer leaves the question open */
    char game_id[40];
    ada_at_question_0(&host, &a, &bob, game_id);
    cr_assert_eq(kill(h.redis_pid, SIGSTOP), 0);
    cr_assert_eq(cq_ws_send_json(&a.ws, json_pack("{s:s, s:s, s:i, s:i}", "type", "answer", "id",
                                                  "a", "question", 0, "answer", 0)),
                 0);
    client_add_time_burst(&host, 36);
    char seen[2048] = "";
    for (json_t *m; (m = cq_ws_recv(&host, WAIT_MS)); json_decref(m)) {
        const char *code = json_string_value(json_object_get(m, "code"));
        size_t n = strlen(seen);
        snprintf(seen + n, sizeof seen - n, " %s%s%s", jstr(m, "type"), code ? ":" : "",
                 code ? code : "");
    }
    cr_assert(host.closed, "the host's queue passed its ceiling and was kept; it got:%s", seen);
    cr_assert_eq(cq_log_count(&h, "waiting for the game's log"), 1);
    cr_assert_eq(kill(h.redis_pid, SIGCONT), 0);
    int acks = 0, added = 0;
    while (!acks || added < 30) {
        json_t *m = cq_ws_recv(&a.ws, WAIT_MS);
        cr_assert_not_null(m, "Ada: %d answer_ack, %d time_added (%s)", acks, added,
                           a.ws.closed ? "closed" : "open");
        acks += !strcmp(jstr(m, "type"), "answer_ack");
        added += !strcmp(jstr(m, "type"), "time_added");
        json_decref(m);
    }
    cq_ws_free(&host);
    cq_ws_free(&a.ws);
    cq_ws_free(&bob.ws);
}

/* Ada answers a server that has lost its lease: no acknowledgement, the
 * connection closed, the server gone with 1, saying why once. */
static void ada_answers_unacknowledged_and_the_server_exits(struct player *a)
{
    cr_assert_eq(cq_ws_send_json(&a->ws, json_pack("{s:s, s:i, s:i}", "type", "answer", "question",
                                                   0, "answer", 0)),
                 0);
    for (json_t *m; (m = cq_ws_recv(&a->ws, WAIT_MS)); json_decref(m))
        cr_assert_str_neq(jstr(m, "type"), "answer_ack", "a server without its lease acknowledged");
    cr_assert(a->ws.closed, "the server kept the connection");
    cr_assert_eq(cq_harness_wait(h.server_pid, 10000), 1, "the server did not exit with 1");
    h.server_pid = -1;
    cr_assert_eq(cq_log_count(&h, "another chainquiz server has taken prefix"), 1);
}

/* The lease is checked in Redis with every log write, not only by the
 * renewal once a second: a write that finds the prefix another server's is
 * refused there, and nothing it carried is acknowledged (before, the answer
 * below was written and acknowledged, and the server left only at its next
 * renewal). */
Test(store, a_log_write_after_the_lease_was_taken_is_refused_by_redis, .init = start_short_lease)
{
    struct cq_ws host;
    struct player a;
    char game_id[40], out[65536];
    ada_at_question_0(&host, &a, NULL, game_id);

    /* Another server takes the prefix over, as the first sees it: its
     * lease is still fresh for a second and more. */
    cr_assert_eq(cq_redis_cmd(&h, out, sizeof out, "SET cq:server %s PX 60000",
                              "elsewhere 00000000-0000-0000-0000-000000000000 1"),
                 0);
    ada_answers_unacknowledged_and_the_server_exits(&a);
    cr_assert_eq(cq_redis_cmd(&h, out, sizeof out, "LRANGE cq:game:%s:log 0 -1", game_id), 0);
    cr_assert_null(strstr(out, "\"answer\""), "the answer was written to the log: %s", out);
    cq_ws_free(&host);
    cq_ws_free(&a.ws);
}

Test(store, a_server_that_lost_its_lease_acknowledges_nothing, .init = start_short_lease)
{
    struct cq_ws host;
    struct player a;
    char game_id[40], out[65536];
    ada_at_question_0(&host, &a, NULL, game_id);
    /* Paused once its `shown` is in Redis: this test is about what it
     * acknowledges after waking. (A write handed to hiredis before the
     * pause is refused in Redis on waking: the test above.) */
    bool logged = false;
    for (int i = 0; i < 500 && !logged; i++) {
        cr_assert_eq(cq_redis_cmd(&h, out, sizeof out, "LRANGE cq:game:%s:log -1 -1", game_id), 0);
        logged = strstr(out, "\"shown\"") != NULL;
        if (!logged)
            usleep(10000);
    }
    cr_assert(logged, "the shown never reached the log");

    cr_assert_eq(kill(h.server_pid, SIGSTOP), 0);
    struct cq_harness h2;
    pid_t second = spawn_second(&h2, "data2", NULL, "2");
    cr_assert_eq(wait_ready(&h2), 200, "the second server never took over; see %s", h2.log_path);

    /* The first wakes up, and Ada, still connected to it, answers. */
    cr_assert_eq(kill(h.server_pid, SIGCONT), 0);
    ada_answers_unacknowledged_and_the_server_exits(&a);

    /* Its log has no entry number twice. */
    cq_redis_cmd(&h, out, sizeof out, "LLEN cq:game:%s:log", game_id);
    int n = atoi(out);
    long long seen[512];
    cr_assert_lt(n, 512);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(cq_redis_cmd(&h, out, sizeof out, "LINDEX cq:game:%s:log %d", game_id, i), 0);
        seen[i] = atoll(out + 1); /* [SEQ,"type",...] */
        for (int k = 0; k < i; k++)
            cr_assert_neq(seen[k], seen[i], "entry %lld written twice", seen[i]);
    }
    cr_assert_gt(n, 2, "no log read");
    kill(second, SIGTERM);
    cr_assert_eq(cq_harness_wait(second, 10000), 0);
    cq_ws_free(&host);
    cq_ws_free(&a.ws);
}
