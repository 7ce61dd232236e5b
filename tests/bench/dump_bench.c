/* cq-dump-bench: the one codec's encoder (cq_proto_dump) against encoding
 * twice (json_dumpb to size the buffer, then to fill it: what it did before
 * 2026-12-08), on the per-player messages the server builds one by one at
 * each reveal and at the end (a `result`, a `summary` of 10 questions).
 * Both in one run, alternating, so that a busy machine slows both alike
 * (docs/performance.md). Prints ns per message; judges nothing. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cq_proto.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static char *dump_twice(const json_t *o, size_t head, size_t *len)
{
    size_t n = json_dumpb(o, NULL, 0, JSON_COMPACT);
    char *b = n ? malloc(head + n + 1) : NULL;
    if (!b || json_dumpb(o, b + head, n, JSON_COMPACT) != n) {
        free(b);
        return NULL;
    }
    b[head + n] = '\0';
    *len = n;
    return b;
}

static double run(const json_t *o, int n, char *(*dump)(const json_t *, size_t, size_t *))
{
    size_t len;
    double t = now_s();
    for (int i = 0; i < n; i++) {
        char *b = dump(o, 40, &len);
        if (!b)
            return -1;
        free(b);
    }
    return (now_s() - t) / n * 1e9;
}

int main(void)
{
    json_t *result =
        json_pack("{s:s, s:i, s:b, s:I, s:I, s:I, s:i, s:i, s:i}", "type", "result", "index", 3,
                  "correct", 1, "points", (json_int_t)873, "bonus", (json_int_t)100, "score",
                  (json_int_t)4521, "streak", 3, "rank", 17, "prev_rank", 21);
    json_t *qs = json_array();
    for (int k = 0; k < 10; k++)
        json_array_append_new(
            qs,
            json_pack("{s:i, s:s, s:s, s:b, s:b, s:b, s:I, s:I}", "index", k, "qtype", "single",
                      "prompt", "Which value chain activity ensures that services are delivered?",
                      "skipped", 0, "answered", 1, "correct", k % 3 != 0, "points", (json_int_t)812,
                      "time_ms", (json_int_t)4021));
    json_t *summary = json_pack("{s:s, s:i, s:I, s:I, s:o}", "type", "summary", "rank", 17, "score",
                                (json_int_t)6542, "players", (json_int_t)19900, "questions", qs);
    const struct {
        const char *name;
        const json_t *msg;
        int n;
    } cases[] = {{"result", result, 400000}, {"summary of 10 questions", summary, 100000}};
    for (size_t c = 0; c < 2; c++)
        for (int round = 0; round < 3; round++)
            printf("%-24s round %d: cq_proto_dump %6.0f ns, dumped twice %6.0f ns\n", cases[c].name,
                   round, run(cases[c].msg, cases[c].n, cq_proto_dump),
                   run(cases[c].msg, cases[c].n, dump_twice));
    json_decref(result);
    json_decref(summary);
    return 0;
}
