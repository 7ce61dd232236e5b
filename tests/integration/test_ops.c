/* Operations: /metrics (answer latency, send queues), over real WebSockets. */
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
