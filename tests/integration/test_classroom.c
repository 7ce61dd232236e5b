/* Issue 17's server side, on the real server: the join link's address for a
 * host page opened as localhost (`joined.public_url`, `lan_urls`,
 * `local_only`), the results a teacher reads (CSV and JSON layouts), the
 * presenter's list of who has not answered (hosts only), and one close
 * frame per ending. Server messages are checked against their schemas in
 * protocol/schema/server/ (python3-jsonschema). */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
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
