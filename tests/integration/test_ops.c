/* Operations: /metrics (answer latency, send queues) and per-address limits
 * behind trusted reverse proxies (X-Forwarded-For), over real WebSockets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "play.h"

static void stop(void)
{
    cq_harness_stop(&h);
}

/* ---- /metrics ---------------------------------------------------------- */

/* The value of the sample `name` (labels included); fails when absent. */
static double sample(const char *body, const char *name)
{
    size_t n = strlen(name);
    for (const char *line = body; line && *line; line = strchr(line, '\n'), line += !!line)
        if (!strncmp(line, name, n) && line[n] == ' ')
            return strtod(line + n + 1, NULL);
    cr_assert_fail("no sample %s in:\n%s", name, body);
    return -1;
}

static void get_metrics(char *body, size_t cap)
{
    cr_assert_eq(cq_http_get(h.http_port, "/metrics", body, cap), 200);
}

/* Checks the histogram's shape; returns its _count. */
static double check_histogram(const char *body)
{
    const char *name = "chainquiz_answer_latency_seconds";
    const char *prefix = "chainquiz_answer_latency_seconds_bucket{le=\"";
    double prev_le = 0, prev = 0, inf = -1;
    int buckets = 0;
    cr_assert(strstr(body, "# TYPE chainquiz_answer_latency_seconds histogram\n"), "%s", body);
    for (const char *line = strstr(body, prefix); line; line = strstr(line + 1, prefix)) {
        const char *le = line + strlen(prefix);
        const char *close = strstr(le, "\"} ");
        cr_assert_not_null(close);
        double v = strtod(close + 3, NULL);
        cr_assert_geq(v, prev, "buckets are cumulative: %.40s", line);
        prev = v;
        buckets++;
        if (!strncmp(le, "+Inf\"", 5)) {
            inf = v;
            break;
        }
        double bound = strtod(le, NULL);
        cr_assert_gt(bound, prev_le, "bounds ascend: %.40s", line);
        prev_le = bound;
    }
    cr_assert_eq(buckets, 14, "13 bounds and +Inf");
    cr_assert_float_eq(prev_le, 10.0, 1e-9, "the last bound is 10 s");
    char key[80];
    snprintf(key, sizeof key, "%s_count", name);
    double count = sample(body, key);
    cr_assert_float_eq(inf, count, 0.5, "+Inf equals _count");
    snprintf(key, sizeof key, "%s_sum", name);
    cr_assert_geq(sample(body, key), 0.0);
    return count;
}

static double queued(const char *body)
{
    return sample(body, "chainquiz_send_queue_messages") +
           sample(body, "chainquiz_send_queue_bytes") +
           sample(body, "chainquiz_send_queue_max_messages");
}

/* Polls until the send queues are empty: the server writes what clients
 * have not read yet into socket buffers, so this is only a matter of turns
 * of its loop. */
static bool queues_drain(char *body, size_t cap)
{
    for (int i = 0; i < 100; i++) {
        get_metrics(body, cap);
        if (queued(body) == 0)
            return true;
        usleep(50000);
    }
    return false;
}

Test(ops, answer_latency_histogram_and_send_queues, .fini = stop, .timeout = 120)
{
    static char body[65536];
    struct cq_ws host;
    struct player a, b, c;
    char pin[8], token[80];
    cr_assert_eq(cq_harness_start(&h, false, NULL), 0, "see %s", h.log_path);
    get_metrics(body, sizeof body);
    cr_assert_float_eq(check_histogram(body), 0, 0.5);
    cr_assert_eq(queued(body), 0);

    json_decref(
        create(&host, json_pack("{s:s, s:i}", "bank", "mini", "time_limit", 60), pin, token));
    join(&a, pin, "Ada");
    join(&b, pin, "Bob");
    join(&c, pin, "Cy");
    host_cmd(&host, "start");
    json_decref(see_question(&a, 0));
    json_decref(see_question(&b, 0));
    json_decref(see_question(&c, 0));
    answer(&a, 0, json_integer(0));
    answer(&b, 0, json_integer(1));
    /* Refused answers get an error, not an answer_ack: not observed. */
    client_err(&a.ws, json_pack("{s:s, s:i, s:i}", "type", "answer", "question", 0, "answer", 1),
               "already_answered");
    client_err(&c.ws, json_pack("{s:s, s:i, s:i}", "type", "answer", "question", 0, "answer", 7),
               "out_of_range");
    answer(&c, 0, json_integer(0));
    json_decref(client_expect(&a.ws, "result"));
    json_decref(client_expect(&b.ws, "result"));
    json_decref(client_expect(&c.ws, "result"));
    /* The question is closed: a late answer is refused too. */
    json_decref(client_req(
        &c.ws, json_pack("{s:s, s:i, s:i}", "type", "answer", "question", 0, "answer", 1),
        "error"));

    /* Every acknowledgement was read by its client, so it was written, so
     * it was observed before this request. */
    get_metrics(body, sizeof body);
    cr_assert_float_eq(check_histogram(body), 3, 0.5, "three accepted answers");
    cr_assert_float_eq(sample(body, "chainquiz_answers_total"), 3, 0.5);

    /* Idle: nothing queued, while everyone is still connected. */
    cr_assert(queues_drain(body, sizeof body), "queues never drained:\n%s", body);
    cr_assert_float_eq(sample(body, "chainquiz_connections"), 4, 0.5);

    /* Closing connections gives their queues back too. */
    cq_ws_free(&host);
    cq_ws_free(&a.ws);
    cq_ws_free(&b.ws);
    cq_ws_free(&c.ws);
    for (int i = 0; i < 100; i++) {
        get_metrics(body, sizeof body);
        if (sample(body, "chainquiz_connections") == 0)
            break;
        usleep(50000);
    }
    cr_assert_float_eq(sample(body, "chainquiz_connections"), 0, 0.5);
    cr_assert_eq(queued(body), 0, "%s", body);
    cr_assert_float_eq(check_histogram(body), 3, 0.5);
}

/* ---- X-Forwarded-For -------------------------------------------------- */

/* Connects through a "proxy" that sends `xff` lines (NULL: no header). */
static void open_as(struct cq_ws *ws, const char *const *xff)
{
    cr_assert_eq(cq_ws_connect_headers(ws, h.http_port, xff, NULL), 0);
    json_t *m = cq_ws_recv(ws, WAIT_MS);
    cr_assert_not_null(m);
    cr_assert_str_eq(jstr(m, "type"), "welcome", "%s", xff && xff[0] ? xff[0] : "(no header)");
    json_decref(m);
}

/* A new connection as `xff` makes the server close `victim`, the oldest
 * idle connection of the same client address (--max-conns-per-ip is 2
 * here): proof that both count as that address. `victim` becomes the new. */
static void crowds_out(struct cq_ws *victim, const char *const *xff)
{
    struct cq_ws fresh;
    const char *label = xff && xff[0] ? xff[0] : "(no header)";
    open_as(&fresh, xff);
    json_t *e = cq_ws_expect(victim, "error", WAIT_MS);
    cr_assert_not_null(e, "%s: the oldest connection of its address was not closed", label);
    cr_assert_str_eq(jstr(e, "code"), "too_many_connections", "%s", label);
    json_decref(e);
    cr_assert(cq_ws_wait_closed(victim, WAIT_MS), "%s", label);
    cq_ws_free(victim);
    *victim = fresh;
}

#define XFF(...) ((const char *const[]){__VA_ARGS__, NULL})

Test(ops, forwarded_for_from_trusted_proxy, .fini = stop, .timeout = 120)
{
    const char *args[] = {"--trusted-proxies", "10.0.0.0/8, 127.0.0.1", "--max-conns-per-ip", "2",
                          NULL};
    struct cq_ws a1, a2, b1, b2, c1, c2, d1, d2, p1, p2, e1, a3;
    cr_assert_eq(cq_harness_start(&h, false, args), 0, "see %s", h.log_path);

    /* Two clients behind the proxy, each with its own idle connections. */
    open_as(&a1, XFF("X-Forwarded-For: 203.0.113.1"));
    open_as(&a2, XFF("X-Forwarded-For: 203.0.113.1"));
    crowds_out(&a1, XFF("X-Forwarded-For: 203.0.113.1")); /* oldest now a2 */
    open_as(&b1, XFF("X-Forwarded-For: 203.0.113.2"));
    open_as(&b2, XFF("X-Forwarded-For:203.0.113.2 "));
    crowds_out(&b1, XFF("X-Forwarded-For: 203.0.113.2"));
    /* A client's own header is only prepended to: the proxy's entry counts. */
    crowds_out(&a2, XFF("X-Forwarded-For: 198.51.100.77, 203.0.113.1")); /* oldest now a1 */
    /* Trusted hops are skipped, and a header sent twice is one list. */
    open_as(&c1, XFF("X-Forwarded-For: 203.0.113.3, 10.1.1.1, 127.0.0.1"));
    open_as(&c2, XFF("X-Forwarded-For: 198.51.100.1", "X-Forwarded-For: 203.0.113.3"));
    crowds_out(&c1, XFF("X-Forwarded-For: 203.0.113.3"));
    /* IPv6 in its spellings is one address, and one /64 is one client. */
    open_as(&d1, XFF("X-Forwarded-For: 2001:db8::1"));
    open_as(&d2, XFF("X-Forwarded-For: [2001:DB8:0::1]:4711"));
    crowds_out(&d1, XFF("X-Forwarded-For: 2001:db8:0:0::1"));
    crowds_out(&d2, XFF("X-Forwarded-For: 2001:db8::ffff:7"));
    /* An unusable header counts the client as the proxy, like no header. */
    open_as(&p1, XFF("X-Forwarded-For: unknown"));
    open_as(&p2, NULL);
    crowds_out(&p1, XFF("X-Forwarded-For: 203.0.113.9 nonsense")); /* oldest now p2 */
    crowds_out(&p2, NULL);
    /* Past CQ_PROXY_XFF_MAX bytes the header is not read at all. */
    static char long_xff[2200];
    size_t len = (size_t)snprintf(long_xff, sizeof long_xff, "X-Forwarded-For: ");
    while (len < 2100)
        len +=
            (size_t)snprintf(long_xff + len, sizeof long_xff - len, "198.51.100.%zu, ", len % 200);
    snprintf(long_xff + len, sizeof long_xff - len, "203.0.113.4");
    crowds_out(&p1, XFF(long_xff));
    open_as(&e1, XFF("X-Forwarded-For: 203.0.113.4"));
    cr_assert_eq(cq_log_count(&h, "(further ones are logged at debug)"), 1, "logged at warn once");
    cr_assert_geq(cq_log_count(&h, "idle connections from 203.0.113."), 1, "logs name the client");

    /* A slot frees when a connection ends, under the client's address: once
     * the server has seen it end (the open connections gauge drops). */
    static char body[65536];
    get_metrics(body, sizeof body);
    double before = sample(body, "chainquiz_connections");
    cq_ws_free(&a1);
    for (int i = 0; i < 500; i++) {
        get_metrics(body, sizeof body);
        if (sample(body, "chainquiz_connections") < before)
            break;
        usleep(10000);
    }
    cr_assert_lt(sample(body, "chainquiz_connections"), before, "the server did not see it end");
    open_as(&a3, XFF("X-Forwarded-For: 203.0.113.1"));
    json_decref(client_req(&a2, json_pack("{s:s}", "type", "ping"), "pong"));
    struct cq_ws *all[] = {&a2, &a3, &b1, &b2, &c1, &c2, &d1, &d2, &p1, &p2, &e1};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        cq_ws_free(all[i]);
}

/* Without the option, or from a peer not in it, the header is ignored:
 * every connection counts as the loopback peer. */
static void header_ignored(const char *const *args)
{
    struct cq_ws ws[2];
    cr_assert_eq(cq_harness_start(&h, false, args), 0, "see %s", h.log_path);
    open_as(&ws[0], XFF("X-Forwarded-For: 203.0.113.1"));
    open_as(&ws[1], XFF("X-Forwarded-For: 203.0.113.2"));
    crowds_out(&ws[0], XFF("X-Forwarded-For: 203.0.113.3"));
    crowds_out(&ws[1], NULL);
    cq_ws_free(&ws[0]);
    cq_ws_free(&ws[1]);
}

Test(ops, forwarded_for_ignored_by_default, .fini = stop, .timeout = 60)
{
    header_ignored((const char *const[]){"--max-conns-per-ip", "2", NULL});
}

Test(ops, forwarded_for_ignored_from_untrusted_peer, .fini = stop, .timeout = 60)
{
    header_ignored(
        (const char *const[]){"--max-conns-per-ip", "2", "--trusted-proxies", "10.0.0.0/8", NULL});
}

Test(ops, bad_trusted_proxies_are_refused_at_start, .fini = stop)
{
    memset(&h, 0, sizeof h);
    snprintf(h.dir, sizeof h.dir, "/tmp/cq-test-XXXXXX");
    cr_assert_not_null(mkdtemp(h.dir));
    snprintf(h.log_path, sizeof h.log_path, "%s/server.log", h.dir);
    static const char *const bad[] = {"10.0.0.1/8", "localhost", "127.0.0.1,", "::1/129"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *args[] = {"--trusted-proxies", bad[i], NULL};
        cr_assert_eq(cq_harness_wait(cq_harness_spawn(&h, args), 5000), 2, "%s", bad[i]);
    }
    h.server_pid = -1;
    cr_assert_eq(cq_log_count(&h, "chainquiz: --trusted-proxies: "), 4);
}
