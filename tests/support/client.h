/* client.h: test helpers on top of wsclient: connect to the harness's
 * server, play roles, and assert on replies. */
#ifndef CQ_TEST_CLIENT_H
#define CQ_TEST_CLIENT_H

#include <criterion/criterion.h>

#include "harness.h"
#include "wsclient.h"

#define WAIT_MS 5000

/* Connects with the game's subprotocol and reads `welcome`. */
static inline void client_open(struct cq_ws *ws, struct cq_harness *h)
{
    cr_assert_eq(cq_ws_connect(ws, h->http_port, "/ws", "chainquiz.v1", NULL, NULL), 0,
                 "WebSocket connect failed");
    json_t *w = cq_ws_expect(ws, "welcome", WAIT_MS);
    cr_assert_not_null(w, "no welcome");
    json_decref(w);
}

/* Sends and waits for a message of `type`; an `error` first fails the test
 * unless `type` is "error". */
static inline json_t *client_req(struct cq_ws *ws, json_t *msg, const char *type)
{
    cr_assert_eq(cq_ws_send_json(ws, msg), 0);
    for (;;) {
        json_t *r = cq_ws_recv(ws, WAIT_MS);
        cr_assert_not_null(r, "no reply while waiting for %s", type);
        const char *t = json_string_value(json_object_get(r, "type"));
        if (t && !strcmp(t, type))
            return r;
        if (t && !strcmp(t, "error"))
            cr_assert_fail("expected %s, got error %s: %s", type,
                           json_string_value(json_object_get(r, "code")),
                           json_string_value(json_object_get(r, "message")));
        json_decref(r);
    }
}

/* Sends and expects an error with `code`. */
static inline void client_err(struct cq_ws *ws, json_t *msg, const char *code)
{
    json_t *r = client_req(ws, msg, "error");
    cr_assert_str_eq(json_string_value(json_object_get(r, "code")), code);
    json_decref(r);
}

static inline json_t *client_expect(struct cq_ws *ws, const char *type)
{
    json_t *r = cq_ws_expect(ws, type, WAIT_MS);
    cr_assert_not_null(r, "expected a %s message", type);
    return r;
}

/* `n` add_time commands (1 s each, ids 0 to n-1) in one write. */
static inline void client_add_time_burst(struct cq_ws *ws, int n)
{
    char texts[64][64];
    const char *ptrs[64];
    cr_assert(n > 0 && n <= 64);
    for (int i = 0; i < n; i++) {
        snprintf(texts[i], sizeof texts[i], "{\"type\":\"add_time\",\"seconds\":1,\"id\":%d}", i);
        ptrs[i] = texts[i];
    }
    cr_assert_eq(cq_ws_send_texts(ws, ptrs, (size_t)n), 0);
}

static inline long long jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    cr_assert(json_is_integer(v), "%s is not an integer", key);
    return json_integer_value(v);
}

static inline const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    cr_assert(json_is_string(v), "%s is not a string", key);
    return json_string_value(v);
}

#endif
