/* Issue 17's server side, on the real server: the join link's address for a
 * host page opened as localhost (`joined.public_url`, `lan_urls`,
 * `local_only`), the results a teacher reads (CSV and JSON layouts), the
 * presenter's list of who has not answered (hosts only), and one close
 * frame per ending. Server messages are checked against their schemas in
 * protocol/schema/server/ (python3-jsonschema). */
#define _GNU_SOURCE /* memmem, strcasestr */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "play.h"

static void start(void)
{
    signal(SIGPIPE, SIG_IGN);
    cr_assert_eq(cq_harness_start(&h, false, NULL), 0, "server did not start; see %s", h.log_path);
}

static void stop(void)
{
    cq_harness_stop(&h);
}

TestSuite(classroom, .init = start, .fini = stop, .timeout = 120);

static void restart_with(const char *const *extra)
{
    kill(h.server_pid, SIGTERM);
    cr_assert_geq(cq_harness_wait(h.server_pid, 10000), 0);
    h.server_pid = -1;
    h.http_port = 0;
    cr_assert_eq(cq_harness_start_server(&h, extra), 0, "see %s", h.log_path);
}

/* The message validates against protocol/schema/server/NAME.schema.json. */
static void assert_schema(json_t *msg, const char *name)
{
    char path[] = "/tmp/cq-test-classroom-XXXXXX", cmd[1024];
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    cr_assert_not_null(f);
    json_dumpf(msg, f, JSON_COMPACT);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import json,sys,jsonschema; "
             "jsonschema.Draft202012Validator(json.load(open(sys.argv[1]))).validate("
             "json.load(open(sys.argv[2])))' "
             "'%s/protocol/schema/server/%s.schema.json' '%s' 2>&1",
             CQ_SOURCE_DIR, name, path);
    int rc = system(cmd);
    unlink(path);
    char *s = json_dumps(msg, JSON_COMPACT);
    cr_assert_eq(rc, 0, "%s does not match the %s schema", s, name);
    free(s);
}

/* create_game; the host's `joined` (the caller frees it), `state` consumed. */
static json_t *create_joined(struct cq_ws *host, json_t *settings)
{
    client_open(host, &h);
    json_object_set_new(settings, "type", json_string("create_game"));
    json_t *j = client_req(host, settings, "joined");
    json_decref(client_expect(host, "state"));
    return j;
}

static json_t *watch_joined(struct cq_ws *spec, const char *pin, const char *wt)
{
    client_open(spec, &h);
    json_t *j = client_req(
        spec, json_pack("{s:s, s:s, s:s}", "type", "watch", "pin", pin, "token", wt), "joined");
    json_decref(client_expect(spec, "state"));
    return j;
}

/* ---- the join link's address --------------------------------------------- */

/* What the server should offer on --bind 0.0.0.0: this machine's IPv4
 * interfaces that are up and not loopback, in getifaddrs' order, at most 4. */
static size_t expected_lan(char (*out)[80], size_t cap)
{
    struct ifaddrs *all, *ifa;
    size_t n = 0;
    cr_assert_eq(getifaddrs(&all), 0);
    for (ifa = all; ifa && n < cap; ifa = ifa->ifa_next) {
        char a[INET_ADDRSTRLEN];
        if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_INET || !(ifa->ifa_flags & IFF_UP) ||
            (ifa->ifa_flags & IFF_LOOPBACK))
            continue;
        inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)ifa->ifa_addr)->sin_addr, a, sizeof a);
        if (!strncmp(a, "127.", 4))
            continue;
        char url[80];
        snprintf(url, sizeof url, "http://%s:%d", a, h.http_port);
        bool dup = false;
        for (size_t i = 0; i < n; i++)
            dup = dup || !strcmp(out[i], url);
        if (!dup)
            snprintf(out[n++], 80, "%s", url);
    }
    freeifaddrs(all);
    return n;
}

/* The link inside /api/qr.svg's <title>, asked for with Host: 127.0.0.1. */
static void qr_link(const char *pin, char *out, size_t cap)
{
    char path[64], body[1 << 16];
    snprintf(path, sizeof path, "/api/qr.svg?pin=%s", pin);
    cr_assert_eq(cq_http_get(h.http_port, path, body, sizeof body), 200, "%s", body);
    const char *t = strstr(body, "<title>"), *e = t ? strstr(t, "</title>") : NULL;
    cr_assert(t && e, "no title in %s", body);
    snprintf(out, cap, "%.*s", (int)(e - t - 7), t + 7);
}

Test(classroom, a_server_on_loopback_only_says_so_and_offers_no_address)
{
    struct cq_ws host, spec;
    struct player p;
    json_t *j = create_joined(&host, json_pack("{s:s}", "bank", "mini"));
    assert_schema(j, "joined");
    cr_assert(json_is_true(json_object_get(j, "local_only")), "--bind 127.0.0.1 is local only");
    cr_assert_eq(json_array_size(json_object_get(j, "lan_urls")), 0);
    cr_assert_null(json_object_get(j, "public_url"));
    char pin[8];
    snprintf(pin, sizeof pin, "%s", jstr(j, "pin"));
    json_t *s = watch_joined(&spec, pin, jstr(j, "watch_token"));
    assert_schema(s, "joined");
    cr_assert(json_is_true(json_object_get(s, "local_only")));
    cr_assert(json_is_array(json_object_get(s, "lan_urls")));
    /* Players are not told the machine's addresses. */
    client_open(&p.ws, &h);
    json_t *pj = client_req(
        &p.ws, json_pack("{s:s, s:s, s:s}", "type", "join", "pin", pin, "nickname", "Ann"),
        "joined");
    assert_schema(pj, "joined");
    cr_assert_null(json_object_get(pj, "lan_urls"));
    cr_assert_null(json_object_get(pj, "local_only"));
    /* No LAN address to give: the QR code keeps the page's own. */
    char link[300], want[100];
    qr_link(pin, link, sizeof link);
    snprintf(want, sizeof want, "http://127.0.0.1:%d/?pin=%s", h.http_port, pin);
    cr_assert_str_eq(link, want);
    json_decref(pj);
    json_decref(s);
    json_decref(j);
    cq_ws_free(&p.ws);
    cq_ws_free(&spec);
    cq_ws_free(&host);
}

Test(classroom, on_every_interface_the_lan_addresses_are_offered_ipv4_first)
{
    const char *extra[] = {"--bind", "0.0.0.0", NULL};
    restart_with(extra);
    struct cq_ws host;
    json_t *j = create_joined(&host, json_pack("{s:s, s:b}", "bank", "mini", "join_secret", 1));
    assert_schema(j, "joined");
    cr_assert(json_is_false(json_object_get(j, "local_only")));
    char want[4][80];
    size_t n = expected_lan(want, 4);
    json_t *lan = json_object_get(j, "lan_urls");
    cr_assert_eq(json_array_size(lan), n, "this machine has %zu LAN addresses", n);
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(json_string_value(json_array_get(lan, i)), want[i]);
    /* The QR code asked for as localhost carries the first one (and `k`). */
    char link[300], expect[300], path[64];
    snprintf(path, sizeof path, "%s&k=%s", jstr(j, "pin"), jstr(j, "secret"));
    qr_link(path, link, sizeof link);
    if (n) {
        snprintf(expect, sizeof expect, "%s/?pin=%s&amp;k=%s", want[0], jstr(j, "pin"),
                 jstr(j, "secret"));
        cr_assert_str_eq(link, expect);
    } else
        cr_log_warn("this machine has no LAN address: only the empty list was checked");
    json_decref(j);
    cq_ws_free(&host);
}

Test(classroom, the_public_url_is_the_join_base_and_is_checked)
{
    const char *extra[] = {"--public-url", "https://quiz.example.test/class/", NULL};
    restart_with(extra);
    struct cq_ws host;
    json_t *j = create_joined(&host, json_pack("{s:s}", "bank", "mini"));
    assert_schema(j, "joined");
    cr_assert_str_eq(jstr(j, "public_url"), "https://quiz.example.test/class");
    cr_assert_null(json_object_get(j, "lan_urls"));
    char link[300], want[120];
    qr_link(jstr(j, "pin"), link, sizeof link);
    snprintf(want, sizeof want, "https://quiz.example.test/class/?pin=%s", jstr(j, "pin"));
    cr_assert_str_eq(link, want);
    json_decref(j);
    cq_ws_free(&host);
    /* What is no plain http(s) URL stops the server. */
    static const char *const bad[] = {"javascript:alert(1)",  "https://",
                                      "http://a b",           "https://x/?y",
                                      "http://x/\"><script>", "ftp://x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *args[] = {"--public-url", bad[i], "--content",
                              CQ_SOURCE_DIR "/tests/fixtures/content", NULL};
        pid_t running = h.server_pid, pid = cq_harness_spawn(&h, args);
        h.server_pid = running;
        cr_assert_gt(pid, 0);
        cr_assert_eq(cq_harness_wait(pid, 10000), 2, "--public-url %s is refused", bad[i]);
    }
}

/* ---- the results a teacher reads ------------------------------------------ */

/* GET until the asynchronously written record is there. */
static void get_results(const char *gid, const char *token, const char *format, char *body,
                        size_t cap)
{
    char path[256];
    snprintf(path, sizeof path, "/api/results?game=%s&token=%s&format=%s", gid, token, format);
    int st = 0;
    for (int i = 0; i < 50 && (st = cq_http_get(h.http_port, path, body, cap)) != 200; i++)
        usleep(100000);
    cr_assert_eq(st, 200, "%s", body);
}

/* Fields of one CSV line (quotes respected). */
static int csv_fields(const char *line)
{
    int n = 1;
    bool quoted = false;
    for (const char *p = line; *p && *p != '\r'; p++) {
        if (*p == '"')
            quoted = !quoted;
        else if (*p == ',' && !quoted)
            n++;
    }
    return n;
}

/* The line starting with `start` and containing `mid`, or NULL. */
static const char *csv_line(const char *body, const char *start, const char *mid)
{
    for (const char *l = body; l && *l; l = strstr(l, "\r\n") ? strstr(l, "\r\n") + 2 : NULL) {
        const char *e = strstr(l, "\r\n");
        size_t len = e ? (size_t)(e - l) : strlen(l);
        char line[2048];
        snprintf(line, sizeof line, "%.*s", (int)len, l);
        if (!strncmp(line, start, strlen(start)) && strstr(line, mid))
            return l;
    }
    return NULL;
}

/* A line starting with `start`, containing `mid` and `mid2`, ending with `tail`. */
static void assert_line_has(const char *body, const char *start, const char *mid, const char *mid2,
                            const char *tail)
{
    for (const char *l = body; (l = csv_line(l, start, mid)); l = strstr(l, "\r\n") + 2) {
        const char *e = strstr(l, "\r\n");
        size_t len = strlen(tail), n = (size_t)(e - l);
        char line[2048];
        snprintf(line, sizeof line, "%.*s", (int)n, l);
        if (strstr(line, mid2) && n >= len && !strcmp(line + n - len, tail))
            return;
    }
    cr_assert_fail("no line %s...%s...%s...%s in\n%s", start, mid, mid2, tail, body);
}

/* Positions (in the shown `options`) of the ordering items in the right
 * order: "one two three four". */
static json_t *ordering_answer(json_t *q)
{
    static const char *const right[] = {"one", "two", "three", "four"};
    json_t *opts = json_object_get(q, "options"), *a = json_array();
    for (size_t r = 0; r < 4; r++)
        for (size_t i = 0; i < json_array_size(opts); i++)
            if (!strcmp(json_string_value(json_array_get(opts, i)), right[r]))
                json_array_append_new(a, json_integer((json_int_t)i));
    return a;
}

Test(classroom, results_give_letters_text_summaries_and_a_report_per_question)
{
    struct cq_ws host;
    struct player ann, bob;
    char pin[8], token[80], gid[40];
    json_decref(
        create(&host,
               json_pack("{s:s, s:s, s:b, s:[s, s, s, s]}", "bank", "mini", "scoring", "accuracy",
                         "shuffle", 0, "tags", "single", "multi", "truefalse", "ordering"),
               pin, token));
    join(&ann, pin, "Ann");
    join(&bob, pin, "=Bob");
    host_cmd(&host, "start");
    /* 1 s1 "Which is a colour?" Red Four Paris Cat: Ann A (right), Bob C. */
    json_decref(see_question(&ann, 0));
    json_decref(see_question(&bob, 0));
    answer(&ann, 0, json_integer(0));
    answer(&bob, 0, json_integer(2));
    json_decref(result(&ann, 0, true, 1));
    json_decref(result(&bob, 0, false, 1));
    host_cmd(&host, "next");
    host_cmd(&host, "next");
    /* 2 m1 "Which are prime?" 2 4 5 9: Ann A and C (right), Bob B. */
    json_decref(see_question(&ann, 1));
    json_decref(see_question(&bob, 1));
    answer(&ann, 1, json_pack("[i, i]", 0, 2));
    answer(&bob, 1, json_pack("[i]", 1));
    json_decref(result(&ann, 1, true, 2));
    json_decref(result(&bob, 1, false, 1));
    host_cmd(&host, "next");
    host_cmd(&host, "next");
    /* 3 t1, skipped: Ann's answer is dropped with it. */
    json_decref(see_question(&ann, 2));
    json_decref(see_question(&bob, 2));
    answer(&ann, 2, json_true());
    host_cmd(&host, "skip");
    /* 4 o1: Ann right, Bob as shown (never already solved: wrong). */
    json_t *q = see_question(&ann, 3);
    json_decref(see_question(&bob, 3));
    json_t *ann_order = ordering_answer(q);
    char ann_letters[32] = "";
    for (size_t i = 0; i < json_array_size(ann_order); i++)
        snprintf(ann_letters + strlen(ann_letters), sizeof ann_letters - strlen(ann_letters),
                 "%s%c", i ? " > " : "",
                 (char)('A' + json_integer_value(json_array_get(ann_order, i))));
    char bob_text[200] = "";
    for (size_t i = 0; i < 4; i++)
        snprintf(bob_text + strlen(bob_text), sizeof bob_text - strlen(bob_text), "%s%s",
                 i ? " > " : "",
                 json_string_value(json_array_get(json_object_get(q, "options"), i)));
    answer(&ann, 3, ann_order);
    answer(&bob, 3, json_pack("[i, i, i, i]", 0, 1, 2, 3));
    json_decref(q);
    json_decref(result(&ann, 3, true, 1));
    json_decref(result(&bob, 3, false, 1));
    host_cmd(&host, "next");
    cr_assert_eq(cq_ws_send_json(&host, json_pack("{s:s}", "type", "next")), 0);
    json_t *end = client_expect(&host, "ended");
    snprintf(gid, sizeof gid, "%s", jstr(end, "game_id"));
    json_decref(end);

    static char body[1 << 16];
    get_results(gid, token, "csv", body, sizeof body);
    cr_assert(!strncmp(body,
                       "row,game_id,player_id,nickname,rank,score,correct_count,question,"
                       "question_id,question_text,skipped,answered,correct,points,bonus,time_ms,"
                       "answer,answer_text\r\n",
                       strstr(body, "\r\n") - body + 2),
              "%s", body);
    int lines = 0;
    for (const char *l = body; (l = strstr(l, "\r\n")); l += 2) {
        lines++;
        const char *s = l + 2;
        if (*s)
            cr_assert_eq(csv_fields(s), 18, "every row has 18 fields: %.*s",
                         (int)(strstr(s, "\r\n") - s), s);
    }
    cr_assert_eq(lines, 1 + 2 + 2 * 4, "%s", body);
    /* The summaries first, by rank: Ann 3 right (the skipped one not counted),
     * Bob 0; Bob's formula-looking name defused. */
    char want[128];
    snprintf(want, sizeof want, "player,\"%s\",%lld,\"Ann\",1,", gid, ann.id);
    cr_assert(!strncmp(strstr(body, "\r\n") + 2, want, strlen(want)), "%s", body);
    assert_line_has(body, want, "", "", ",3,,,,,,,,,,,");
    assert_line_has(body, "player,", "\"'=Bob\",2,0,0,", "", ",,,,,,,,,,,");
    assert_line_has(body, "answer,", "\"Ann\",1,",
                    ",1,\"s1\",\"Which is a colour?\",false,true,true,", ",\"A\",\"Red\"");
    assert_line_has(body, "answer,", "\"'=Bob\"", ",1,\"s1\",", ",\"C\",\"Paris\"");
    assert_line_has(body, "answer,", "\"Ann\",1,",
                    ",2,\"m1\",\"Which are prime?\",false,true,true,", ",\"A, C\",\"2 | 5\"");
    assert_line_has(body, "answer,", "\"'=Bob\"", ",2,\"m1\",", ",\"B\",\"4\"");
    assert_line_has(body, "answer,", "\"Ann\",1,",
                    ",3,\"t1\",\"Water boils at 100 C at sea level.\",true,false,false,0,0,0,",
                    ",\"\",\"\"");
    char tail[320];
    snprintf(tail, sizeof tail, ",\"%s\",\"one > two > three > four\"", ann_letters);
    assert_line_has(body, "answer,", "\"Ann\",1,", ",4,\"o1\",", tail);
    snprintf(tail, sizeof tail, ",\"A > B > C > D\",\"%s\"", bob_text);
    assert_line_has(body, "answer,", "\"'=Bob\"", ",4,\"o1\",", tail);

    get_results(gid, token, "json", body, sizeof body);
    json_t *rec = json_loads(body, 0, NULL), *qs = json_object_get(rec, "questions");
    cr_assert_not_null(rec, "%s", body);
    json_t *r0 = json_object_get(json_array_get(qs, 0), "report");
    json_t *want0 = json_pack("{s:i, s:i, s:i, s:i, s:[i, i, i, i]}", "players", 2, "answered", 2,
                              "correct", 1, "percent_correct", 50, "counts", 1, 0, 1, 0);
    const char *key;
    json_t *v;
    json_object_foreach(want0, key, v)
        cr_assert(json_equal(json_object_get(r0, key), v), "report.%s of question 1", key);
    cr_assert(json_is_integer(json_object_get(r0, "mean_time_ms")));
    json_t *q0 = json_array_get(qs, 0);
    json_t *opts0 = json_pack("[s, s, s, s]", "Red", "Four", "Paris", "Cat");
    cr_assert(json_equal(json_object_get(q0, "options"), opts0));
    json_t *c0 = json_pack("[i]", 0);
    cr_assert(json_equal(json_object_get(q0, "correct"), c0));
    json_t *r1 = json_object_get(json_array_get(qs, 1), "report");
    cr_assert_eq(jint(r1, "answered"), 2);
    json_t *c1 = json_pack("[i, i, i, i]", 1, 1, 1, 0);
    cr_assert(json_equal(json_object_get(r1, "counts"), c1), "multi: each option counted");
    json_t *r2 = json_object_get(json_array_get(qs, 2), "report");
    json_t *c2 = json_pack("[i, i]", 0, 0);
    cr_assert(json_equal(json_object_get(r2, "counts"), c2), "true/false: two counts, none kept");
    cr_assert(json_is_true(json_object_get(json_array_get(qs, 2), "skipped")));
    cr_assert(json_is_null(json_object_get(r2, "mean_time_ms")), "nobody answered");
    json_t *q3 = json_array_get(qs, 3);
    cr_assert_eq(json_array_size(json_object_get(q3, "order")), 4);
    cr_assert_eq(jint(json_object_get(q3, "report"), "percent_correct"), 50);
    cr_assert_eq(json_array_size(json_object_get(json_object_get(q3, "report"), "counts")), 0);
    json_decref(c0);
    json_decref(c1);
    json_decref(c2);
    json_decref(opts0);
    json_decref(want0);
    json_decref(rec);
    cq_ws_free(&host);
    cq_ws_free(&ann.ws);
    cq_ws_free(&bob.ws);
}

/* ---- the presenter's list of who has not answered ------------------------- */

/* Reads until a message of `type`; fails if one of `never` came first. */
static json_t *expect_without(struct cq_ws *ws, const char *type, const char *never)
{
    for (;;) {
        json_t *m = cq_ws_recv(ws, WAIT_MS);
        cr_assert_not_null(m, "no %s", type);
        const char *t = json_string_value(json_object_get(m, "type"));
        cr_assert(!t || strcmp(t, never), "a %s reached this connection", never);
        if (t && !strcmp(t, type))
            return m;
        json_decref(m);
    }
}

/* The host's next `unanswered` whose count is `count`. */
static json_t *unanswered_count(struct cq_ws *host, long long count)
{
    for (;;) {
        json_t *u = client_expect(host, "unanswered");
        assert_schema(u, "unanswered");
        if (jint(u, "count") == count)
            return u;
        json_decref(u);
    }
}

Test(classroom, only_the_host_is_told_who_has_not_answered_capped_at_50)
{
    enum { N = 53 };
    struct cq_ws host, spec;
    static struct player p[N];
    char pin[8], token[80], name[16];
    json_decref(create(
        &host, json_pack("{s:s, s:[s], s:i}", "bank", "mini", "tags", "single", "lead_in", 0), pin,
        token));
    json_decref(watch_joined(&spec, pin, watch_token));
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "P%02d", i);
        join(&p[i], pin, name);
    }
    /* Not host_cmd(): the list may come before the `ok`. */
    cr_assert_eq(cq_ws_send_json(&host, json_pack("{s:s}", "type", "start")), 0);
    /* The question opens: everyone, the first 50 by name in join order. */
    json_t *u = unanswered_count(&host, N);
    json_t *list = json_object_get(u, "players");
    cr_assert_eq(json_array_size(list), 50);
    cr_assert_eq(jint(u, "more"), N - 50);
    cr_assert_eq(jint(u, "index"), 0);
    cr_assert_str_eq(jstr(json_array_get(list, 0), "nickname"), "P00");
    cr_assert_str_eq(jstr(json_array_get(list, 49), "nickname"), "P49");
    json_decref(u);
    /* Answers arrive: the list shrinks (coalesced, so wait for the count). */
    for (int i = 0; i < N - 1; i++) {
        json_decref(see_question(&p[i], 0));
        answer(&p[i], 0, json_integer(0));
    }
    u = unanswered_count(&host, 1);
    list = json_object_get(u, "players");
    cr_assert_eq(json_array_size(list), 1);
    cr_assert_str_eq(jstr(json_array_get(list, 0), "nickname"), "P52");
    cr_assert(json_is_true(json_object_get(json_array_get(list, 0), "connected")));
    cr_assert_eq(jint(u, "more"), 0);
    json_decref(u);
    /* A host that comes back during the question is told at once. */
    struct cq_ws host2;
    client_open(&host2, &h);
    json_decref(client_req(
        &host2, json_pack("{s:s, s:s, s:s}", "type", "rejoin", "pin", pin, "token", token),
        "joined"));
    json_decref(client_expect(&host2, "state"));
    u = client_expect(&host2, "unanswered");
    cr_assert_eq(jint(u, "count"), 1);
    json_decref(u);
    /* The last one drops: still listed, as not connected. */
    cq_ws_free(&p[N - 1].ws);
    for (;;) {
        u = unanswered_count(&host, 1);
        bool dropped = json_is_false(
            json_object_get(json_array_get(json_object_get(u, "players"), 0), "connected"));
        json_decref(u);
        if (dropped)
            break;
    }
    cr_assert_eq(cq_ws_send_json(&host, json_pack("{s:s}", "type", "next")), 0); /* reveal */
    /* The projector and the players got the question and the reveal, never
     * the list. */
    json_decref(expect_without(&spec, "reveal", "unanswered"));
    for (int i = 0; i < N - 1; i++)
        json_decref(expect_without(&p[i].ws, "reveal", "unanswered"));
    cq_ws_free(&host2);
    cq_ws_free(&host);
    cq_ws_free(&spec);
    for (int i = 0; i < N - 1; i++)
        cq_ws_free(&p[i].ws);
}

/* ---- one close frame per ending ------------------------------------------- */

static void host_cmd_with(struct cq_ws *host, json_t *msg)
{
    json_decref(client_req(host, msg, "ok"));
}

/* After the server's close frame (ws->closed): answers it as a browser does,
 * then reads to the end of the connection; how many more close frames came
 * (RFC 6455 5.5.1: one each way, then the server hangs up). */
static int close_frames_after_answering(struct cq_ws *ws)
{
    unsigned char code[2] = {0x03, 0xe8}; /* 1000 */
    cr_assert(ws->closed, "the server closed first");
    cr_assert_eq(cq_ws_send_frame(ws, 0x8, true, code, 2), 0);
    unsigned char buf[1 << 14];
    size_t len = ws->len < sizeof buf ? ws->len : sizeof buf;
    memcpy(buf, ws->buf, len);
    struct pollfd pfd = {.fd = ws->fd, .events = POLLIN};
    for (;;) {
        cr_assert_eq(poll(&pfd, 1, 5000), 1, "the server did not hang up within 5 s");
        ssize_t n = read(ws->fd, buf + len, sizeof buf - len);
        if (n <= 0)
            break; /* EOF (or a reset after it): the end */
        len += (size_t)n;
        cr_assert_lt(len, sizeof buf);
    }
    int closes = 0;
    for (size_t at = 0; at + 2 <= len;) {
        size_t n = buf[at + 1] & 0x7f, hl = 2;
        if (n == 126) {
            n = (size_t)buf[at + 2] << 8 | buf[at + 3];
            hl = 4;
        }
        closes += (buf[at] & 0x0f) == 0x8;
        at += hl + n;
    }
    return closes;
}

Test(classroom, a_kicked_or_replaced_connection_gets_one_close_frame)
{
    struct cq_ws host, again;
    struct player ann, bob;
    char pin[8], token[80];
    json_decref(create(&host, json_pack("{s:s}", "bank", "mini"), pin, token));
    join(&ann, pin, "Ann");
    join(&bob, pin, "Bob");
    /* Kicked. */
    host_cmd_with(&host, json_pack("{s:s, s:I}", "type", "kick", "player", (json_int_t)ann.id));
    json_decref(client_expect(&ann.ws, "kicked"));
    cr_assert(cq_ws_wait_closed(&ann.ws, WAIT_MS));
    cr_assert_eq(ann.ws.close_code, 1000);
    cr_assert_eq(close_frames_after_answering(&ann.ws), 0,
                 "no second close frame to a kicked player");
    /* The same seat in a second tab: the first is replaced. */
    client_open(&again, &h);
    json_decref(client_req(
        &again, json_pack("{s:s, s:s, s:s}", "type", "rejoin", "pin", pin, "token", bob.token),
        "joined"));
    json_decref(client_expect(&bob.ws, "replaced"));
    cr_assert(cq_ws_wait_closed(&bob.ws, WAIT_MS));
    cr_assert_eq(close_frames_after_answering(&bob.ws), 0,
                 "no second close frame to a replaced connection");
    cq_ws_free(&again);
    cq_ws_free(&host);
    cq_ws_free(&ann.ws);
    cq_ws_free(&bob.ws);
}

/* ---- a bank's own images --------------------------------------------------- */

/* A whole GET answer (headers and body, binary) into `out`; its length. */
static size_t http_raw(const char *path, char *out, size_t cap)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)h.http_port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    cr_assert_eq(write(fd, req, (size_t)n), n);
    size_t len = 0;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    while (len < cap && poll(&pfd, 1, 5000) == 1) {
        ssize_t r = read(fd, out + len, cap - len);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    return len;
}

Test(classroom, a_banks_own_image_is_served_from_its_media_folder)
{
    const char *extra[] = {"--content", CQ_SOURCE_DIR "/tests/fixtures/content-media", NULL};
    restart_with(extra);
    struct cq_ws host;
    struct player ann;
    char pin[8], token[80];
    json_decref(create(&host, json_pack("{s:s, s:i}", "bank", "pics", "lead_in", 0), pin, token));
    join(&ann, pin, "Ann");
    host_cmd(&host, "start");
    json_t *q = see_question(&ann, 0);
    assert_schema(q, "question");
    cr_assert_str_eq(jstr(q, "image"), "/media/pics/red-square.png");
    json_decref(q);
    /* The file, byte for byte, as a PNG. */
    static char resp[1 << 16], file[1 << 16];
    FILE *f = fopen(CQ_SOURCE_DIR "/tests/fixtures/content-media/pics/media/red-square.png", "rb");
    cr_assert_not_null(f);
    size_t flen = fread(file, 1, sizeof file, f);
    fclose(f);
    size_t len = http_raw("/media/pics/red-square.png", resp, sizeof resp);
    cr_assert(len > 12 && !strncmp(resp, "HTTP/1.1 200", 12), "%.*s", (int)len, resp);
    char *body = memmem(resp, len, "\r\n\r\n", 4);
    cr_assert_not_null(body);
    *body = '\0';
    body += 4;
    cr_assert(strcasestr(resp, "content-type: image/png"), "%s", resp);
    cr_assert(strcasestr(resp, "content-security-policy"), "the page's headers too: %s", resp);
    cr_assert_eq((size_t)(resp + len - body), flen);
    cr_assert_eq(memcmp(body, file, flen), 0);
    /* Nothing else is reached through /media/. */
    static const char *const miss[] = {"/media/pics/missing.png",
                                       "/media/mini/red-square.png",
                                       "/media/pics/../pics/bank.json",
                                       "/media/pics/bank.json",
                                       "/media/pics/%2e%2e/bank.json",
                                       "/media/pics/",
                                       "/media/pics"};
    for (size_t i = 0; i < sizeof miss / sizeof *miss; i++) {
        len = http_raw(miss[i], resp, sizeof resp);
        cr_assert(len > 12 && !strncmp(resp, "HTTP/1.1 404", 12), "%s: %.*s", miss[i], (int)len,
                  resp);
    }
    cq_ws_free(&ann.ws);
    cq_ws_free(&host);
    /* A bank naming a file it does not have is refused at start. */
    const char *args[] = {"--content", CQ_SOURCE_DIR "/tests/fixtures/content-media-missing", NULL};
    pid_t running = h.server_pid, pid = cq_harness_spawn(&h, args);
    h.server_pid = running;
    cr_assert_gt(pid, 0);
    cr_assert_neq(cq_harness_wait(pid, 10000), 0, "a bank with a missing image is not valid");
    cr_assert_geq(cq_log_count(&h, "media/missing.png: no such file"), 1);
}
