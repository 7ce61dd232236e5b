/* The listening socket and the WebSocket's admission and socket limits,
 * against the real server: --bind is honoured (IPv4, IPv6, names) or the
 * server does not start; running out of descriptors neither floods the log
 * nor stops the server; a client that never reads is cut off after a
 * bounded amount of data. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

static struct cq_harness h;

static void stop(void)
{
    cq_harness_stop(&h);
}

/* A harness with its Redis, no server yet (cq_harness_start, split). */
static void begin(void)
{
    memset(&h, 0, sizeof h);
    h.redis_pid = h.server_pid = -1;
    snprintf(h.dir, sizeof h.dir, "/tmp/cq-test-XXXXXX");
    cr_assert_not_null(mkdtemp(h.dir));
    snprintf(h.log_path, sizeof h.log_path, "%s/server.log", h.dir);
    cr_assert_eq(cq_harness_start_redis(&h), 0);
}

/* Connects to ip:port (IPv4 or IPv6 text); the socket, or -1 with errno. */
static int dial(const char *ip, int port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, ip, &a->sin6_addr);
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, ip, &a->sin_addr);
        len = sizeof *a;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&ss, len)) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* GET /healthz at ip:port: the HTTP status, or -1 (errno from connect). */
static int healthz_at(const char *ip, int port)
{
    char buf[512];
    int status = -1, fd = dial(ip, port);
    struct timeval tv = {5, 0};
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int n =
        snprintf(buf, sizeof buf, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    if (write(fd, buf, (size_t)n) == n) {
        ssize_t r = read(fd, buf, sizeof buf - 1);
        if (r > 0) {
            buf[r] = '\0';
            if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
                status = -1;
        }
    }
    close(fd);
    return status;
}

/* Starts the server bound to `bind_to` and waits until `probe` answers. */
static void start_bound(const char *bind_to, const char *probe)
{
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", h.redis_port);
    const char *args[] = {
        "--content", CQ_SOURCE_DIR "/tests/fixtures/content", "--redis", url, "--bind", bind_to,
        NULL};
    cr_assert_gt(cq_harness_spawn(&h, args), 0);
    for (int i = 0; i < 500; i++) {
        if (healthz_at(probe, h.http_port) == 200)
            return;
        int status;
        cr_assert_neq(waitpid(h.server_pid, &status, WNOHANG), h.server_pid,
                      "the server exited; see %s", h.log_path);
        usleep(20000);
    }
    cr_assert_fail("%s never answered on %s; see %s", bind_to, probe, h.log_path);
}

static size_t read_log(char *out, size_t cap)
{
    FILE *f = fopen(h.log_path, "r");
    size_t n = 0;
    if (f) {
        n = fread(out, 1, cap - 1, f);
        fclose(f);
    }
    out[n] = '\0';
    return n;
}

static unsigned count_lines(const char *s)
{
    unsigned n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* ---- --bind -------------------------------------------------------------- */

/* Bound to 127.0.0.2, the server is not on 127.0.0.1 (lws 4.1 listened on
 * [::], every interface, whatever --bind said). */
Test(listen, bind_to_one_ipv4_address_is_honoured, .fini = stop, .timeout = 60)
{
    begin();
    start_bound("127.0.0.2", "127.0.0.2");
    cr_assert_eq(healthz_at("127.0.0.2", h.http_port), 200);
    int fd = dial("127.0.0.1", h.http_port);
    int e = errno;
    if (fd >= 0)
        close(fd);
    cr_assert_lt(fd, 0, "127.0.0.1 answered although --bind is 127.0.0.2");
    cr_assert_eq(e, ECONNREFUSED, "%s", strerror(e));
    char log[65536];
    read_log(log, sizeof log);
    cr_assert(strstr(log, "listening on 127.0.0.2:"), "%s", log);
}

Test(listen, bind_to_ipv6_loopback, .fini = stop, .timeout = 60)
{
    /* Does this machine have ::1 at all? */
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};
    a.sin6_addr = in6addr_loopback;
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    bool have = probe >= 0 && !bind(probe, (struct sockaddr *)&a, sizeof a);
    if (probe >= 0)
        close(probe);
    if (!have)
        cr_skip_test("this machine has no IPv6 loopback (::1)");
    begin();
    start_bound("::1", "::1");
    cr_assert_eq(healthz_at("::1", h.http_port), 200);
    int fd = dial("127.0.0.1", h.http_port);
    if (fd >= 0)
        close(fd);
    cr_assert_lt(fd, 0, "127.0.0.1 answered although --bind is ::1");
}

/* A host name listens on its addresses ("localhost" is 127.0.0.1 in
 * /etc/hosts everywhere; ::1 too on some machines). */
Test(listen, bind_to_a_host_name, .fini = stop, .timeout = 60)
{
    begin();
    start_bound("localhost", "127.0.0.1");
    int fd = dial("127.0.0.2", h.http_port);
    if (fd >= 0)
        close(fd);
    cr_assert_lt(fd, 0, "127.0.0.2 answered although --bind is localhost");
}

/* An interface's name is its addresses (lws 4.1 took names too). */
Test(listen, bind_to_an_interface_name, .fini = stop, .timeout = 60)
{
    begin();
    start_bound("lo", "127.0.0.1");
    int fd = dial("127.0.0.2", h.http_port);
    if (fd >= 0)
        close(fd);
    cr_assert_lt(fd, 0, "127.0.0.2 answered although --bind is lo (127.0.0.1, ::1)");
}

/* An address this machine does not have: one line, exit status 1, never a
 * "listening" line with nothing listening. (Only literal addresses here: a
 * name that does not resolve would ask a DNS server.) */
Test(listen, an_address_the_machine_lacks_is_an_error, .fini = stop, .timeout = 60)
{
    char log[8192];
    char url[64];
    begin();
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", h.redis_port);
    const char *args[] = {"--content",   CQ_SOURCE_DIR "/tests/fixtures/content",
                          "--redis",     url,
                          "--log-level", "error",
                          "--bind",      "192.0.2.1", /* TEST-NET-1: nobody's */
                          NULL};
    pid_t pid = cq_harness_spawn(&h, args);
    int rc = cq_harness_wait(pid, 10000);
    h.server_pid = -1;
    cr_assert_eq(rc, 1, "exit status %d", rc);
    read_log(log, sizeof log);
    cr_assert_eq(count_lines(log), 1, "%s", log);
    cr_assert(strstr(log, "192.0.2.1"), "%s", log);
    cr_assert_null(strstr(log, "listening"), "%s", log);
}

/* ---- running out of descriptors ----------------------------------------- */

static long long metric(const char *name)
{
    char body[65536], key[96];
    cr_assert_eq(cq_http_get(h.http_port, "/metrics", body, sizeof body), 200);
    snprintf(key, sizeof key, "\n%s ", name);
    char *line = strstr(body, key);
    cr_assert_not_null(line, "no %s in /metrics", name);
    return atoll(line + strlen(key));
}

#define FLOOD 400

/* With 256 descriptors, 400 connections at once: the server keeps serving
 * the clients it has, logs the refusals in a line or two (lws 4.1 logged
 * "accept: errno 24" millions of times), and takes new clients again once
 * the flood is gone. */
Test(listen, out_of_descriptors_the_server_goes_on, .fini = stop, .timeout = 120)
{
    static int flood[FLOOD];
    struct cq_ws old, fresh;
    static char log[1 << 20];
    begin();
    h.nofile = 256;
    cr_assert_eq(cq_harness_start_server(&h, NULL), 0, "see %s", h.log_path);
    client_open(&old, &h);
    for (int i = 0; i < FLOOD; i++) {
        flood[i] = dial("127.0.0.1", h.http_port);
        cr_assert_geq(flood[i], 0, "connect %d: %s", i, strerror(errno));
    }
    /* The server's answer to the flood is a log line; wait for it (or for
     * the log to fill our buffer: the flood of lines we must not see). */
    bool refused = false;
    size_t n = 0;
    for (int i = 0; i < 500 && !refused && n < sizeof log - 1; i++) {
        n = read_log(log, sizeof log);
        refused = strstr(log, "refused") != NULL;
        if (!refused)
            usleep(20000);
    }
    cr_assert_lt(n, sizeof log - 1, "the log grew past %zu bytes; see %s", n, h.log_path);
    cr_assert(refused, "no refusal logged; see %s", h.log_path);
    /* The client it had is served throughout. */
    for (int i = 0; i < 5; i++)
        json_decref(client_req(&old, json_pack("{s:s, s:i}", "type", "ping", "id", i), "pong"));
    for (int i = 0; i < FLOOD; i++)
        close(flood[i]);
    /* Once the server has seen them go, a new client gets in. */
    bool in = false;
    for (int i = 0; i < 250 && !in; i++) {
        if (cq_ws_connect(&fresh, h.http_port, "/ws", "chainquiz.v1", NULL, NULL) == 0) {
            json_t *w = cq_ws_expect(&fresh, "welcome", WAIT_MS);
            in = w != NULL;
            json_decref(w);
        }
        if (!in) {
            cq_ws_free(&fresh);
            usleep(20000);
        }
    }
    cr_assert(in, "no new client after the flood; see %s", h.log_path);
    json_decref(client_req(&fresh, json_pack("{s:s, s:i}", "type", "ping", "id", 1), "pong"));
    cr_assert_gt(metric("chainquiz_refused_sockets_total"), 0);
    n = read_log(log, sizeof log);
    unsigned lines = 0;
    for (char *p = log; (p = strstr(p, "refused")) != NULL; p++)
        lines++;
    cr_assert_leq(lines, 3, "%u refusal lines", lines);
    cr_assert_lt(n, sizeof log - 1, "the log grew past %zu bytes", n);
    cq_ws_free(&old);
    cq_ws_free(&fresh);
}

#define HOARD 200
#define HALF  80 /* 256 descriptors: 160 WebSockets (listen.c), half of them */

/* With 256 descriptors (160 WebSockets) and the default --max-conns-per-ip
 * of 1,024, one address opening 200 idle connections filled the server and
 * every later one was refused (server_busy), from every address. An
 * address's idle connections now hold at most half the server: its oldest
 * makes room (told too_many_connections; the client closes, as a browser
 * does), and another address gets in. */
Test(listen, one_address_cannot_fill_a_small_server_with_idle_sockets, .fini = stop, .timeout = 120)
{
    static struct cq_ws hoard[HOARD];
    struct cq_ws other;
    begin();
    h.nofile = 256;
    cr_assert_eq(cq_harness_start_server(&h, NULL), 0, "see %s", h.log_path);
    for (int i = 0; i < HOARD; i++) {
        cr_assert_eq(cq_ws_connect_from(&hoard[i], h.http_port, "127.0.0.1"), 0, "hoarder %d", i);
        json_t *w = cq_ws_expect(&hoard[i], "welcome", WAIT_MS);
        cr_assert_not_null(w, "hoarder %d got no welcome; see %s", i, h.log_path);
        json_decref(w);
        if (i < HALF)
            continue;
        json_t *e = cq_ws_expect(&hoard[i - HALF], "error", WAIT_MS);
        cr_assert_not_null(e, "hoarder %d was not closed for %d; see %s", i - HALF, i, h.log_path);
        cr_assert_str_eq(jstr(e, "code"), "too_many_connections");
        json_decref(e);
        cq_ws_free(&hoard[i - HALF]);
    }
    cr_assert_eq(cq_ws_connect_from(&other, h.http_port, "127.0.0.2"), 0);
    json_t *w = cq_ws_expect(&other, "welcome", WAIT_MS);
    cr_assert_not_null(w, "another address was not let in; see %s", h.log_path);
    json_decref(w);
    json_decref(client_req(&other, json_pack("{s:s, s:i}", "type", "ping", "id", 1), "pong"));
    cr_assert_eq(metric("chainquiz_idle_evicted_total"), HOARD - HALF);
    cr_assert_eq(metric("chainquiz_refused_connections_total"), 0);
    for (int i = HOARD - HALF; i < HOARD; i++)
        cq_ws_free(&hoard[i]);
    cq_ws_free(&other);
}

/* ---- clients that never read ---------------------------------------------- */

static int is_pause(json_t *m)
{
    const char *t = jstr(m, "type");
    return !strcmp(t, "paused") || !strcmp(t, "resumed");
}

/* A game of the test bank (240 s questions) hosted on `host`: its PIN and
 * the watch token for screens. */
static void host_game(struct cq_ws *host, char *pin, char *watch)
{
    client_open(host, &h);
    json_t *j = client_req(
        host,
        json_pack("{s:s, s:s, s:i}", "type", "create_game", "bank", "mini", "time_limit", 240),
        "joined");
    snprintf(pin, 8, "%s", jstr(j, "pin"));
    snprintf(watch, 80, "%s", jstr(j, "watch_token"));
    json_decref(j);
}

/* Watchers that never read (a normal receive window, unlike the tiny one of
 * test_server's slow consumer) while the game broadcasts: each is cut off
 * after a bounded amount of data, now that the kernel's send buffer is fixed
 * and counted; lws' autotuned buffer took megabytes each before. A reader
 * of the same game is not cut off. */
Test(listen, clients_that_never_read_are_cut_off, .fini = stop, .timeout = 240)
{
    const char *args[] = {"--msgs-per-sec",
                          "10000",
                          "--msgs-burst",
                          "100000",
                          "--socket-send-buffer",
                          "16384",
                          "--send-queue",
                          "4096",
                          "--send-queue-bytes",
                          "65536",
                          NULL};
    enum { DEAF = 3 };
    struct cq_ws host, reader, deaf[DEAF];
    cr_assert_eq(cq_harness_start(&h, false, args), 0, "see %s", h.log_path);
    char pin[8], watch[80];
    host_game(&host, pin, watch);
    client_open(&reader, &h);
    json_decref(client_req(
        &reader, json_pack("{s:s, s:s, s:s}", "type", "join", "pin", pin, "nickname", "reader"),
        "joined"));
    for (int i = 0; i < DEAF; i++) {
        client_open(&deaf[i], &h);
        json_decref(client_req(
            &deaf[i], json_pack("{s:s, s:s, s:s}", "type", "watch", "pin", pin, "token", watch),
            "state"));
    }
    json_decref(client_req(&host, json_pack("{s:s}", "type", "start"), "ok"));
    /* Broadcasts (pause, resume) until the server has cut all of them off,
     * at most 12000 of about 60 bytes: 720 KB each, where an autotuned send
     * buffer alone holds 4 MiB. */
    long long dropped = 0;
    int sent = 0, got = 0;
    while (sent < 12000 && dropped < DEAF) {
        cq_ws_send_json(&host, json_pack("{s:s}", "type", sent % 2 ? "resume" : "pause"));
        json_t *ok = cq_ws_expect(&host, "ok", WAIT_MS);
        cr_assert_not_null(ok, "host command %d got no reply", sent);
        json_decref(ok);
        sent++;
        for (json_t *m; (m = cq_ws_recv(&reader, 0)); json_decref(m))
            got += is_pause(m);
        if (sent % 250 == 0)
            dropped = metric("chainquiz_slow_clients_dropped_total");
    }
    cr_assert_eq(dropped, DEAF, "%lld of %d cut off after %d broadcasts", dropped, DEAF, sent);
    cr_assert(!reader.closed, "the reader was cut off");
    for (json_t *m; got < sent && (m = cq_ws_recv(&reader, WAIT_MS)); json_decref(m))
        got += is_pause(m);
    cr_assert_eq(got, sent, "the reader got %d of %d", got, sent);
    printf("cut off after %d broadcasts\n", sent);
    for (int i = 0; i < DEAF; i++) {
        cr_assert(cq_ws_wait_closed(&deaf[i], WAIT_MS));
        cq_ws_free(&deaf[i]);
    }
    cq_ws_free(&host);
    cq_ws_free(&reader);
}

/* One message larger than --send-queue-bytes: the host's `state` of a big
 * game (20,000 players with 20-letter names make about 1.5 MiB, over the 1 MiB
 * default). It goes
 * out alone, and only what waits behind it counts against the limit, so a
 * projector that (re)connects to a full hall is not cut off (one that never
 * reads is still cut off once messages wait behind it: the test above).
 * Scaled down:
 * an 8 KiB limit (the kernel's share up to 4 KiB of it) and a state of more
 * than twice that. */
static void join_players(struct cq_ws *p, int from, int to, const char *pin, struct cq_ws *drain)
{
    for (int i = from; i < to; i++) {
        char nick[48];
        snprintf(nick, sizeof nick, "A rather long nickname number %03d", i);
        client_open(&p[i], &h);
        json_decref(client_req(
            &p[i], json_pack("{s:s, s:s, s:s}", "type", "join", "pin", pin, "nickname", nick),
            "joined"));
        /* Readers read their `lobby` news, or the small limit cuts them off. */
        for (int k = 0; drain && drain[k].fd >= 0; k++)
            for (json_t *m; (m = cq_ws_recv(&drain[k], 0)); json_decref(m))
                ;
    }
}

Test(listen, a_message_over_the_byte_limit_is_sent_alone, .fini = stop, .timeout = 120)
{
    const char *args[] = {
        "--socket-send-buffer", "2048", "--send-queue-bytes", "8192", "--max-nickname", "40", NULL};
    enum { FIRST = 200, MORE = 100 };
    static struct cq_ws p[FIRST + MORE];
    /* The connections join_players drains: the host, then the screen once
     * it is open; fd -1 ends the list. */
    struct cq_ws readers[3], slow;
    struct cq_ws *host = &readers[0], *screen = &readers[1];
    readers[1].fd = readers[2].fd = -1;
    cr_assert_eq(cq_harness_start(&h, false, args), 0, "see %s", h.log_path);
    char pin[8], watch[80];
    host_game(host, pin, watch);
    join_players(p, 0, FIRST, pin, readers);
    client_open(screen, &h);
    cq_ws_send_json(screen,
                    json_pack("{s:s, s:s, s:s}", "type", "watch", "pin", pin, "token", watch));
    json_t *st = cq_ws_expect(screen, "state", WAIT_MS);
    cr_assert_not_null(st, "the screen got no state (closed: %d)", screen->closed);
    char *text = json_dumps(st, JSON_COMPACT);
    size_t len = strlen(text);
    free(text);
    cr_assert_gt(len, 2 * 8192, "the state is only %zu bytes: the test proves nothing", len);
    cr_assert_eq(json_array_size(json_object_get(st, "list")), FIRST);
    json_decref(st);
    /* A second screen behind a small receive window (a phone on a poor
     * link): the state goes out a few KiB at a time, the news of more joins
     * waits behind it, and both arrive. */
    cr_assert_eq(cq_ws_connect_slow(&slow, h.http_port, 4096), 0);
    cq_ws_send_json(&slow,
                    json_pack("{s:s, s:s, s:s}", "type", "watch", "pin", pin, "token", watch));
    join_players(p, FIRST, FIRST + MORE, pin, readers);
    st = cq_ws_expect(&slow, "state", WAIT_MS);
    cr_assert_not_null(st, "the slow screen got no state (closed: %d)", slow.closed);
    cr_assert_geq(json_array_size(json_object_get(st, "list")), FIRST);
    json_decref(st);
    json_decref(client_req(&slow, json_pack("{s:s, s:i}", "type", "ping", "id", 6), "pong"));
    json_decref(client_req(screen, json_pack("{s:s, s:i}", "type", "ping", "id", 7), "pong"));
    json_decref(client_req(host, json_pack("{s:s, s:i}", "type", "ping", "id", 8), "pong"));
    cr_assert(!slow.closed && !screen->closed && !host->closed, "a reader was cut off");
    long long dropped = metric("chainquiz_slow_clients_dropped_total");
    cr_assert_eq(dropped, 0, "%lld cut off", dropped);
    cq_ws_free(&slow);
    cq_ws_free(screen);
    cq_ws_free(host);
    for (int i = 0; i < FIRST + MORE; i++)
        cq_ws_free(&p[i]);
}
