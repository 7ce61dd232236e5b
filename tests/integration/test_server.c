/* The process: options, the embedded Redis, HTTP endpoints, admission. */
#include <stdbool.h>
#include <stdlib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "client.h"

static struct cq_harness h;

static void stop(void)
{
    cq_harness_stop(&h);
}

Test(server, embedded_redis_is_started_used_and_stopped, .fini = stop)
{
    char body[4096], sock[400], out[256];
    cr_assert_eq(cq_harness_start(&h, true, NULL), 0, "server did not start; see %s", h.log_path);
    /* Ready once the store has connected (asynchronously, on the loop). */
    int ready = 0;
    for (int i = 0; i < 250 && ready != 200; i++) {
        ready = cq_http_get(h.http_port, "/readyz", body, sizeof body);
        if (ready != 200)
            usleep(20000);
    }
    cr_assert_eq(ready, 200, "%s", body);
    cr_assert(strstr(body, "\"redis\":true"));
    pid_t redis = cq_child_named(h.server_pid, "redis-server");
    cr_assert(redis > 0, "no redis-server child of the server");

    /* A game's board lands in that Redis. */
    struct cq_ws host, p;
    client_open(&host, &h);
    json_t *j =
        client_req(&host, json_pack("{s:s, s:s}", "type", "create_game", "bank", "mini"), "joined");
    char pin[8], gid[40];
    snprintf(pin, sizeof pin, "%s", jstr(j, "pin"));
    snprintf(gid, sizeof gid, "%s", jstr(j, "game_id"));
    json_decref(j);
    client_open(&p, &h);
    json_decref(client_req(
        &p, json_pack("{s:s, s:s, s:s}", "type", "join", "pin", pin, "nickname", "ann"), "joined"));
    json_decref(client_req(&host, json_pack("{s:s}", "type", "start"), "ok"));
    json_decref(
        client_req(&p, json_pack("{s:s, s:i, s:i}", "type", "answer", "question", 0, "answer", 0),
                   "answer_ack"));
    json_decref(client_expect(&p, "result"));

    snprintf(sock, sizeof sock, "%s/data/redis-%d.sock", h.dir, (int)h.server_pid);
    struct stat st;
    cr_assert_eq(stat(sock, &st), 0, "no socket at %s", sock);
    redisContext *c = NULL;
    for (int i = 0; i < 50; i++) { /* the write is asynchronous */
        struct timeval tv = {1, 0};
        c = redisConnectUnixWithTimeout(sock, tv);
        redisReply *r = redisCommand(c, "ZSCORE cq:game:%s:board 1", gid);
        snprintf(out, sizeof out, "%s", r && r->str ? r->str : "");
        if (r)
            freeReplyObject(r);
        redisFree(c);
        if (out[0])
            break;
        usleep(100000);
    }
    cr_assert_str_eq(out, "1000");
    cq_ws_free(&host);
    cq_ws_free(&p);

    /* SIGTERM: the server stops its Redis and exits cleanly. */
    kill(h.server_pid, SIGTERM);
    cr_assert_eq(cq_harness_wait(h.server_pid, 10000), 0, "server did not exit cleanly");
    h.server_pid = -1;
    cr_assert(kill(redis, 0) != 0, "redis-server %d is still running", (int)redis);
    /* Append-only persistence was on. */
    char aof[400];
    snprintf(aof, sizeof aof, "%s/data/appendonlydir", h.dir);
    cr_assert_eq(stat(aof, &st), 0);
}

Test(server, unreachable_redis_fails_fast_and_clearly, .fini = stop)
{
    char url[64], out[1024] = "";
    memset(&h, 0, sizeof h);
    snprintf(h.dir, sizeof h.dir, "/tmp/cq-test-XXXXXX");
    cr_assert_not_null(mkdtemp(h.dir));
    snprintf(h.log_path, sizeof h.log_path, "%s/server.log", h.dir);
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", cq_free_port());
    const char *args[] = {"--redis", url, "--content", CQ_SOURCE_DIR "/tests/fixtures/content",
                          NULL};
    pid_t pid = cq_harness_spawn(&h, args);
    int rc = cq_harness_wait(pid, 5000);
    h.server_pid = -1;
    cr_assert_eq(rc, 1, "exit code %d", rc);
    FILE *f = fopen(h.log_path, "r");
    cr_assert_not_null(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    fclose(f);
    cr_assert(strstr(out, "cannot reach Redis at redis://127.0.0.1:"), "log: %s", out);
    cr_assert(strstr(out, "Connection refused"), "log: %s", out);
}

Test(server, malformed_options_are_refused, .fini = stop)
{
    memset(&h, 0, sizeof h);
    snprintf(h.dir, sizeof h.dir, "/tmp/cq-test-XXXXXX");
    cr_assert_not_null(mkdtemp(h.dir));
    snprintf(h.log_path, sizeof h.log_path, "%s/server.log", h.dir);
    const char *bad_url[] = {"--redis", "http://x", NULL};
    cr_assert_eq(cq_harness_wait(cq_harness_spawn(&h, bad_url), 5000), 2);
    const char *bad_level[] = {"--log-level", "loud", NULL};
    cr_assert_eq(cq_harness_wait(cq_harness_spawn(&h, bad_level), 5000), 2);
    const char *help[] = {"--help", NULL};
    cr_assert_eq(cq_harness_wait(cq_harness_spawn(&h, help), 5000), 0);
    const char *version[] = {"--version", NULL};
    cr_assert_eq(cq_harness_wait(cq_harness_spawn(&h, version), 5000), 0);
    const char *bad_content[] = {"--content", "/nonexistent", NULL};
    cr_assert_eq(cq_harness_wait(cq_harness_spawn(&h, bad_content), 5000), 1);
    h.server_pid = -1;
}

Test(server, http_endpoints, .fini = stop)
{
    char body[65536];
    cr_assert_eq(cq_harness_start(&h, false, NULL), 0, "see %s", h.log_path);
    cr_assert_eq(cq_http_get(h.http_port, "/healthz", body, sizeof body), 200);
    cr_assert_str_eq(body, "{\"status\":\"ok\"}");
    cr_assert_eq(cq_http_get(h.http_port, "/metrics", body, sizeof body), 200);
    cr_assert(strstr(body, "chainquiz_redis_connected 1"), "%s", body);
    cr_assert_eq(cq_http_get(h.http_port, "/api/banks", body, sizeof body), 200);
    cr_assert(strstr(body, "\"id\":\"mini\""));
    cr_assert_eq(cq_http_get(h.http_port, "/api/qr.svg?pin=123456", body, sizeof body), 200);
    cr_assert(strstr(body, "<svg"));
    cr_assert_eq(cq_http_get(h.http_port, "/api/qr.svg?pin=12x", body, sizeof body), 400);
    cr_assert_eq(cq_http_get(h.http_port, "/api/nothing", body, sizeof body), 404);
}

Test(server, websocket_admission, .fini = stop)
{
    struct cq_ws ws;
    int status;
    cr_assert_eq(cq_harness_start(&h, false, NULL), 0, "see %s", h.log_path);
    /* Wrong path, no subprotocol, foreign origin: no upgrade. */
    cr_assert_neq(cq_ws_connect(&ws, h.http_port, "/other", "chainquiz.v1", NULL, &status), 0);
    cr_assert_neq(cq_ws_connect(&ws, h.http_port, "/ws", NULL, NULL, &status), 0);
    cr_assert_neq(
        cq_ws_connect(&ws, h.http_port, "/ws", "chainquiz.v1", "http://evil.example", &status), 0);
    char origin[64];
    snprintf(origin, sizeof origin, "http://127.0.0.1:%d", h.http_port);
    cr_assert_eq(cq_ws_connect(&ws, h.http_port, "/ws", "chainquiz.v1", origin, &status), 0);
    json_t *w = cq_ws_expect(&ws, "welcome", WAIT_MS);
    cr_assert_not_null(w);
    cr_assert_eq(jint(w, "protocol"), 1);
    json_decref(w);
    cq_ws_free(&ws);
}

/* Every Origin header present is checked: one too long for our buffer,
 * or an empty one, used to count as no Origin at all (not a browser). */
Test(server, every_origin_header_present_is_checked, .fini = stop)
{
    struct cq_ws ws;
    int status = 0;
    char longo[400];
    cr_assert_eq(cq_harness_start(&h, false, NULL), 0, "see %s", h.log_path);
    /* A foreign origin of 256 bytes or more is not "no Origin". */
    snprintf(longo, sizeof longo, "Origin: http://evil.example/%0300d", 0);
    const char *too_long[] = {longo, NULL};
    cr_assert_neq(cq_ws_connect_headers(&ws, h.http_port, too_long, &status), 0,
                  "a 300-byte foreign Origin was let in");
    cq_ws_free(&ws);
    /* Nor is an empty one. */
    const char *empty[] = {"Origin:", NULL};
    cr_assert_neq(cq_ws_connect_headers(&ws, h.http_port, empty, &status), 0,
                  "an empty Origin was let in");
    cq_ws_free(&ws);
    const char *blank[] = {"Origin: ", NULL};
    cr_assert_neq(cq_ws_connect_headers(&ws, h.http_port, blank, &status), 0,
                  "a blank Origin was let in");
    cq_ws_free(&ws);
    /* No Origin at all (not a browser) and the same origin still are. */
    cr_assert_eq(cq_ws_connect_headers(&ws, h.http_port, NULL, &status), 0);
    json_decref(client_expect(&ws, "welcome"));
    cq_ws_free(&ws);
    char same[80];
    snprintf(same, sizeof same, "Origin: http://127.0.0.1:%d", h.http_port);
    const char *good[] = {same, NULL};
    cr_assert_eq(cq_ws_connect_headers(&ws, h.http_port, good, &status), 0);
    json_decref(client_expect(&ws, "welcome"));
    cq_ws_free(&ws);
}

/* At the cap of idle connections (in no game) from one address, the oldest
 * idle one is closed to make room: the new one is never refused, and one in
 * a game is never closed for room. */
Test(server, per_address_idle_cap_closes_the_oldest, .fini = stop)
{
    const char *args[] = {"--max-conns-per-ip", "3", NULL};
    struct cq_ws ws[6];
    cr_assert_eq(cq_harness_start(&h, false, args), 0, "see %s", h.log_path);
    for (int i = 0; i < 3; i++)
        client_open(&ws[i], &h);
    /* ws[0] hosts a game: no longer idle. */
    json_decref(client_req(&ws[0], json_pack("{s:s, s:s}", "type", "create_game", "bank", "mini"),
                           "joined"));
    client_open(&ws[3], &h);
    client_open(&ws[4], &h); /* 4 idle now: ws[1], the oldest idle, goes */
    json_t *e = cq_ws_expect(&ws[1], "error", WAIT_MS);
    cr_assert_not_null(e);
    cr_assert_str_eq(jstr(e, "code"), "too_many_connections");
    json_decref(e);
    cr_assert(cq_ws_wait_closed(&ws[1], WAIT_MS));
    cr_assert_eq(ws[1].close_code, 1008);
    client_open(&ws[5], &h); /* then ws[2] */
    cr_assert(cq_ws_wait_closed(&ws[2], WAIT_MS));
    /* The host and the newest are still served. */
    json_decref(client_req(&ws[0], json_pack("{s:s}", "type", "ping"), "pong"));
    for (int i = 3; i < 6; i++)
        json_decref(client_req(&ws[i], json_pack("{s:s}", "type", "ping"), "pong"));
    for (int i = 0; i < 6; i++)
        cq_ws_free(&ws[i]);
}

/* A phone that stops reading is cut off; the room does not wait for it. */
Test(server, slow_consumer_is_cut_off_not_waited_for, .fini = stop, .timeout = 60)
{
    const char *args[] = {"--msgs-per-sec", "10000", "--msgs-burst", "100000", NULL};
    struct cq_ws host, player, slow;
    char body[8192];
    cr_assert_eq(cq_harness_start(&h, false, args), 0, "see %s", h.log_path);
    client_open(&host, &h);
    json_t *j = client_req(
        &host,
        json_pack("{s:s, s:s, s:i}", "type", "create_game", "bank", "mini", "time_limit", 240),
        "joined");
    char pin[8], watch[80];
    snprintf(pin, sizeof pin, "%s", jstr(j, "pin"));
    snprintf(watch, sizeof watch, "%s", jstr(j, "watch_token"));
    json_decref(j);
    client_open(&player, &h);
    json_decref(client_req(
        &player, json_pack("{s:s, s:s, s:s}", "type", "join", "pin", pin, "nickname", "reader"),
        "joined"));
    /* The slow one watches with a tiny receive window and never reads. */
    cr_assert_eq(cq_ws_connect_slow(&slow, h.http_port, 2048), 0);
    cr_assert_eq(cq_ws_send_json(&slow, json_pack("{s:s, s:s, s:s}", "type", "watch", "pin", pin,
                                                  "token", watch)),
                 0);
    json_decref(client_req(&host, json_pack("{s:s}", "type", "start"), "ok"));
    /* Many broadcasts, more than the kernel's socket buffers hold (4 MiB
     * here): pause and resume, thousands of times. The reader keeps reading,
     * the slow one never does. */
    int paused = 0, resumed = 0;
    for (int i = 0; i < 40000; i++) {
        cq_ws_send_json(&host, json_pack("{s:s}", "type", i % 2 ? "resume" : "pause"));
        json_t *ok = cq_ws_expect(&host, "ok", WAIT_MS);
        cr_assert_not_null(ok, "host command %d got no reply (closed %d, code %d)", i, host.closed,
                           host.close_code);
        json_decref(ok);
        for (json_t *m; (m = cq_ws_recv(&player, 0)); json_decref(m)) {
            paused += !strcmp(jstr(m, "type"), "paused");
            resumed += !strcmp(jstr(m, "type"), "resumed");
        }
    }
    /* The reader got every one of them, and the game goes on. */
    for (;;) {
        json_t *m = cq_ws_recv(&player, 500);
        if (!m)
            break;
        const char *t = jstr(m, "type");
        paused += !strcmp(t, "paused");
        resumed += !strcmp(t, "resumed");
        json_decref(m);
    }
    cr_assert_eq(paused, 20000, "paused %d resumed %d, player closed %d", paused, resumed,
                 player.closed);
    cr_assert_eq(resumed, 20000);
    cr_assert_eq(cq_http_get(h.http_port, "/metrics", body, sizeof body), 200);
    char *line = strstr(body, "\nchainquiz_slow_clients_dropped_total ");
    cr_assert_not_null(line);
    cr_assert_geq(atoi(line + strlen("\nchainquiz_slow_clients_dropped_total ")), 1, "%s", line);
    /* And the slow one, when it finally reads, finds itself disconnected. */
    cr_assert(cq_ws_wait_closed(&slow, WAIT_MS));
    json_decref(client_req(
        &player, json_pack("{s:s, s:i, s:i}", "type", "answer", "question", 0, "answer", 0),
        "answer_ack"));
    cq_ws_free(&host);
    cq_ws_free(&player);
    cq_ws_free(&slow);
}

Test(server, a_busy_port_is_a_clear_error, .fini = stop)
{
    char out[2048] = "";
    cr_assert_eq(cq_harness_start(&h, false, NULL), 0, "see %s", h.log_path);
    struct cq_harness second = h; /* same port, its own log */
    snprintf(second.log_path, sizeof second.log_path, "%s/second.log", h.dir);
    const char *args[] = {"--content", CQ_SOURCE_DIR "/tests/fixtures/content", "--redis",
                          "redis://127.0.0.1:1/0", NULL};
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", h.redis_port);
    args[3] = url;
    pid_t pid = cq_harness_spawn(&second, args);
    int rc = cq_harness_wait(pid, 10000);
    cr_assert_eq(rc, 1, "exit status %d (a crash is 128+signal)", rc);
    FILE *f = fopen(second.log_path, "r");
    cr_assert_not_null(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    fclose(f);
    cr_assert(strstr(out, "cannot listen on 127.0.0.1:"), "%s", out);
}

/* A server killed with SIGKILL leaves its Redis finishing its shutdown
 * (SIGTERM from the kernel); a restart at once must wait for it, not race
 * it for the data folder or the socket file. */
Test(server, restarts_at_once_after_sigkill_with_its_own_redis, .fini = stop)
{
    char body[256];
    cr_assert_eq(cq_harness_start(&h, true, NULL), 0, "server did not start; see %s", h.log_path);
    for (int round = 0; round < 5; round++) {
        cr_assert_eq(kill(h.server_pid, SIGKILL), 0);
        cr_assert_neq(cq_harness_wait(h.server_pid, 5000), -1);
        h.server_pid = -1;
        cr_assert_eq(cq_harness_start_server(&h, NULL), 0, "round %d: no restart; see %s", round,
                     h.log_path);
        int status = 0;
        for (int i = 0; i < 250 && status != 200; i++) { /* Redis answers once loaded */
            status = cq_http_get(h.http_port, "/readyz", body, sizeof body);
            if (status != 200)
                usleep(20000);
        }
        cr_assert_eq(status, 200, "round %d: /readyz %s", round, body);
    }
}

/* Whether `pid` is a zombie (dead, not reaped). */
static bool zombie(pid_t pid)
{
    char path[64], buf[512] = "";
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *close = strrchr(buf, ')');
    return close && close[1] == ' ' && close[2] == 'Z';
}

/* kill -9 from a shell that has not reaped the server yet: the dead server
 * is a zombie, its pid still in the lock file and /proc; a restart at once
 * must not take it for a live server on the same folder. */
Test(server, a_restart_beside_an_unreaped_killed_server_starts, .fini = stop)
{
    char body[256];
    cr_assert_eq(cq_harness_start(&h, true, NULL), 0, "server did not start; see %s", h.log_path);
    pid_t old = h.server_pid;
    cr_assert_eq(kill(old, SIGKILL), 0);
    for (int i = 0; i < 250 && !zombie(old); i++)
        usleep(20000);
    cr_assert(zombie(old), "the killed server did not become a zombie");
    h.server_pid = -1;
    cr_assert_eq(cq_harness_start_server(&h, NULL), 0, "no restart beside the zombie; see %s",
                 h.log_path);
    cr_assert_neq(cq_harness_wait(old, 5000), -1); /* reaped only now */
    int status = 0;
    for (int i = 0; i < 250 && status != 200; i++) {
        status = cq_http_get(h.http_port, "/readyz", body, sizeof body);
        if (status != 200)
            usleep(20000);
    }
    cr_assert_eq(status, 200, "/readyz %s", body);
}

/* One server per data folder: a second is refused with a clear error, and
 * the first goes on. */
Test(server, a_second_server_on_the_same_data_folder_is_refused, .fini = stop)
{
    struct cq_harness h2 = {.redis_pid = -1, .server_pid = -1};
    char data[300], log[4096] = "", body[256];
    cr_assert_eq(cq_harness_start(&h, true, NULL), 0, "server did not start; see %s", h.log_path);
    snprintf(data, sizeof data, "%s/data", h.dir);
    snprintf(h2.log_path, sizeof h2.log_path, "%s/second.log", h.dir);
    const char *args[] = {"--content", CQ_SOURCE_DIR "/tests/fixtures/content", "--data-dir", data,
                          NULL};
    pid_t second = cq_harness_spawn(&h2, args);
    cr_assert_gt(second, 0);
    cr_assert_eq(cq_harness_wait(second, 10000), 1, "the second server did not exit with 1");
    FILE *f = fopen(h2.log_path, "r");
    cr_assert(f);
    size_t n = fread(log, 1, sizeof log - 1, f);
    log[n] = '\0';
    fclose(f);
    cr_assert(strstr(log, "in use by another chainquiz server"), "%s", log);
    cr_assert_eq(cq_http_get(h.http_port, "/readyz", body, sizeof body), 200, "%s", body);
}
