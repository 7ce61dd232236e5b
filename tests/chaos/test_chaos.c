/* test_chaos.c: the chaos suite (issue #15, "zero loss, proven").
 *
 * Each test plays games of CQ_CHAOS_PLAYERS (20) players on the real server
 * with a real Redis, from one poll loop that drives every WebSocket client,
 * while it breaks something: Redis killed (external, embedded), the server
 * killed mid-question, twice, at the end, server and Redis together, a power
 * cut of Redis (tests/chaos/fsync_shim.c), players dropped in every phase and
 * after the rejoin grace. Players answer right or wrong at random (seeded),
 * some never answer, and every dropped socket comes back with its token.
 *
 * After each game the test downloads the result (GET /api/results) and
 * checks that every answer a player got an `answer_ack` for is there with
 * the same answer and time, that no answer is there that was not sent, and
 * recomputes every player's score from docs/scoring.md (not with the
 * server's code). It prints, per game, the seed, the answers acknowledged and
 * lost, and the recovery times (kill to /readyz 200, kill to the first
 * player served). CQ_CHAOS_ROUNDS (1) games per test; CQ_CHAOS_SEED (15)
 * the first seed; see tests/chaos/README.md.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

#ifndef CQ_FSYNC_SHIM
#error "CQ_FSYNC_SHIM must name the fsync shim library"
#endif

static struct cq_harness h;

#define NQ       8     /* the test's bank has eight questions; a game asks all of them */
#define MAXB     201   /* host + players */
#define MAXSEATS 6     /* seats one player may have had (released, joined again) */
#define LIMIT_S  8     /* the game's time_limit: every question's answer window */
#define GAME_MS  90000 /* a game that takes longer fails */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int env_int(const char *name, int def)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : def;
}

/* ---- seeded randomness ------------------------------------------------------ */

static uint64_t rng;
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return n ? (unsigned)(rng % n) : 0;
}

/* What a player does does not depend on timing: a hash of the seed, the
 * player, the question and what is drawn (splitmix64). The stream above is
 * for the chaos (whom to drop, reconnect jitter). */
static unsigned hrnd(unsigned seed, int player, int k, int what, unsigned n)
{
    uint64_t z = (uint64_t)seed * 0x9E3779B97F4A7C15ull + (uint64_t)player * 0xBF58476D1CE4E5B9ull +
                 (uint64_t)k * 0x94D049BB133111EBull + (uint64_t)what * 0x2545F4914F6CDD1Dull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return n ? (unsigned)(z % n) : 0;
}

/* ---- the bank ----------------------------------------------------------------
 * The test writes its own bank (`chaos`, bank order) from this table, and
 * checks with this table: right answers by prompt, as option texts, and the
 * multiplier each question must carry. Seven questions score, so a player
 * right every time reaches the streak cap (+500 from the sixth in a row). */
enum kind { K_SINGLE, K_MULTI, K_TF, K_TEXT, K_ORDER, K_POLL };
static const char *const kind_names[] = {"single",     "multi",    "truefalse",
                                         "typeanswer", "ordering", "poll"};
static const struct bankq {
    const char *prompt;
    enum kind kind;
    int mult;
    const char *opts[5];  /* as in the bank (ordering: in the right order) */
    const char *right[4]; /* single, multi: right options; ordering: in order; truefalse:
                             "true" or "false"; typeanswer: accepted, folded */
} bank[NQ] = {
    {"Which is a colour?", K_SINGLE, 1, {"Red", "Four", "Paris", "Cat"}, {"Red"}},
    {"Which are prime?", K_MULTI, 2, {"2", "4", "5", "9"}, {"2", "5"}},
    {"Water boils at 100 C at sea level.", K_TF, 1, {0}, {"true"}},
    {"Capital of France?", K_TEXT, 1, {0}, {"paris"}},
    {"Put these numbers in increasing order.",
     K_ORDER,
     1,
     {"one", "two", "three", "four"},
     {"one", "two", "three", "four"}},
    {"Which season do you like best?", K_POLL, 0, {"Spring", "Summer", "Autumn", "Winter"}, {0}},
    {"Which is an even number?", K_SINGLE, 1, {"Three", "Eight", "Five", "Nine"}, {"Eight"}},
    {"The Moon is larger than the Earth.", K_TF, 1, {0}, {"false"}},
};

/* Writes the bank into DIR/chaos/bank.json (format: tests/fixtures/content). */
static void write_bank(const char *dir)
{
    char path[512];
    json_t *qs = json_array();
    for (int k = 0; k < NQ; k++) {
        const struct bankq *b = &bank[k];
        json_t *q =
            json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:[s], s:s, s:i}", "id",
                      (const char *[]){"q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7"}[k], "type",
                      kind_names[b->kind], "prompt", b->prompt, "explanation",
                      "Written for the chaos suite.", "source", "file", "none", "section", "none",
                      "tags", kind_names[b->kind], "difficulty", "easy", "points", b->mult);
        json_t *opts = json_array(), *correct = json_array();
        for (int i = 0; i < 5 && b->opts[i]; i++) {
            json_array_append_new(opts, json_string(b->opts[i]));
            for (int r = 0; r < 4 && b->right[r]; r++)
                if (!strcmp(b->opts[i], b->right[r]))
                    json_array_append_new(correct, json_integer(i));
        }
        if (b->kind == K_SINGLE || b->kind == K_MULTI || b->kind == K_ORDER || b->kind == K_POLL)
            json_object_set(q, "options", opts);
        if (b->kind == K_SINGLE || b->kind == K_MULTI)
            json_object_set(q, "correct", correct);
        if (b->kind == K_TF)
            json_object_set_new(q, "correct", json_boolean(!strcmp(b->right[0], "true")));
        if (b->kind == K_TEXT)
            json_object_set_new(q, "accepted", json_pack("[s]", "Paris"));
        json_decref(opts);
        json_decref(correct);
        json_array_append_new(qs, q);
    }
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s}], s:o}", "format",
                            "chainquiz-bank/1", "id", "chaos", "title", "Chaos suite bank",
                            "description", "Used by tests/chaos.", "language", "en", "version",
                            "1.0.0", "licence", "CC0-1.0", "sources", "file", "none", "title",
                            "Questions written for the tests", "questions", qs);
    snprintf(path, sizeof path, "%s/chaos", dir);
    cr_assert(mkdir(dir, 0700) == 0 && mkdir(path, 0700) == 0);
    snprintf(path, sizeof path, "%s/chaos/bank.json", dir);
    cr_assert_eq(json_dump_file(doc, path, JSON_INDENT(1)), 0);
    json_decref(doc);
}

/* A question of the game as the players saw it. */
struct qseen {
    bool known;
    const struct bankq *b;
    int mult;
    int n_opts;
    char opts[6][32];
};

/* ---- the game -------------------------------------------------------------- */

enum phase { P_NONE, P_LOBBY, P_QUESTION, P_REVEAL, P_LEADERBOARD, P_ENDED };

struct seat {
    long long id;
    bool acked[NQ];
    int ack_ms[NQ];
    bool released;
    bool has_summary;
    long long summary_score;
};

struct bot {
    struct cq_ws ws;
    int num; /* 0: the host, players 1..n */
    bool open, in_game, host;
    int incarnation; /* of the server this connection was made to */
    char nick[32], token[80];
    int n_seats;
    struct seat seat[MAXSEATS];
    bool never, skip[NQ];
    json_t *plan[NQ]; /* the answer this player gives to question k */
    bool sent[NQ], done[NQ];
    int answer_q;
    int64_t answer_at, reconnect_at;
    bool join_anew; /* the seat was released: join again */
    bool hold;      /* dropped on purpose until its seat is released */
    enum phase phase;
    int index;
};

enum ev { EV_ACK, EV_PHASE, EV_HOST_SENT, EV_QUESTION, EV_ENDED, EV_LEFT };

struct game;
typedef void (*hook_fn)(struct game *g, enum ev e, int k, struct bot *b);

struct game {
    struct bot b[MAXB];
    int n; /* b[0] is the host */
    char pin[8], gid[40];
    unsigned seed;
    bool embedded;
    const char *const *extra; /* the server's arguments */
    hook_fn hook;
    int lead_in;
    struct qseen q[NQ];
    int acks, acks_q[NQ], acks_since_kill;
    /* host */
    bool host_pending;
    int host_pos_sent, host_acked_pos;
    bool over;
    /* chaos */
    int incarnation;
    bool ended_in[16], not_ended_state_in[16];
    int fired;
    int64_t t_kill, t_restart;
    long long served_ms, ready_ms, restart_ready_ms;
    bool await_ready;
    pid_t old_redis;
    int redis_port;
    /* recovery after each kill: to the first player served, to /readyz 200 */
    int n_kills;
    long long rec_served[8], rec_ready[8], rec_restart_ready[8];
    char came_back[32]; /* the host's phase after the last restart */
    /* what the drop scenario did: lobby, lead-in, question, reveal, leaderboard, grace */
    int dropped_in[6], released, rejoined;
    int capped; /* bonuses the streak cap held at +500 */
    char failures[4096];
    size_t flen;
    int n_failures;
};

static void fail_note(struct game *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail_note(struct game *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (g->flen < sizeof g->failures - 2) {
        int n = vsnprintf(g->failures + g->flen, sizeof g->failures - g->flen - 1, fmt, ap);
        if (n > 0)
            g->flen = g->flen + (size_t)n < sizeof g->failures - 2 ? g->flen + (size_t)n
                                                                   : sizeof g->failures - 2;
        g->failures[g->flen++] = '\n';
        g->failures[g->flen] = '\0';
    }
    va_end(ap);
    g->n_failures++;
}

static int pos_of(enum phase p, int index)
{
    switch (p) {
    case P_LOBBY:
        return 0;
    case P_QUESTION:
        return 1 + 3 * index;
    case P_REVEAL:
        return 2 + 3 * index;
    case P_LEADERBOARD:
        return 3 + 3 * index;
    case P_ENDED:
        return 1000;
    case P_NONE:
        break;
    }
    return -1;
}

static enum phase phase_named(const char *s)
{
    return !s                          ? P_NONE
           : !strcmp(s, "lobby")       ? P_LOBBY
           : !strcmp(s, "question")    ? P_QUESTION
           : !strcmp(s, "reveal")      ? P_REVEAL
           : !strcmp(s, "leaderboard") ? P_LEADERBOARD
           : !strcmp(s, "ended")       ? P_ENDED
                                       : P_NONE;
}

static int opt_index(const struct qseen *q, const char *text)
{
    for (int i = 0; i < q->n_opts; i++)
        if (!strcmp(q->opts[i], text))
            return i;
    return -1;
}

/* Learns a question from a `question` message (or state.question). */
static void learn(struct game *g, json_t *qm)
{
    int k = (int)json_integer_value(json_object_get(qm, "index"));
    if (k < 0 || k >= NQ || g->q[k].known)
        return;
    struct qseen *q = &g->q[k];
    const char *prompt = json_string_value(json_object_get(qm, "prompt"));
    for (size_t i = 0; i < sizeof bank / sizeof bank[0]; i++)
        if (prompt && !strcmp(bank[i].prompt, prompt))
            q->b = &bank[i];
    cr_assert_not_null(q->b, "a question not in the bank: %s", prompt);
    q->mult = (int)json_integer_value(json_object_get(qm, "points"));
    if (q->mult != q->b->mult)
        fail_note(g, "question %d (%s) has multiplier %d, the bank says %d", k, prompt, q->mult,
                  q->b->mult);
    json_t *opts = json_object_get(qm, "options");
    q->n_opts = (int)json_array_size(opts);
    for (int i = 0; i < q->n_opts && i < 6; i++)
        snprintf(q->opts[i], sizeof q->opts[i], "%s", json_string_value(json_array_get(opts, i)));
    q->known = true;
}

/* A player's answer to question k: right with 60 %, else wrong (seeded). */
static json_t *make_plan(const struct qseen *q, unsigned seed, int player, int k)
{
    int a, b2;
    bool right = player == 1 || hrnd(seed, player, k, 1, 10) < 6; /* player 1 knows it all */
    unsigned v = hrnd(seed, player, k, 2, 720720);
    switch (q->b->kind) {
    case K_SINGLE:
        a = opt_index(q, q->b->right[0]);
        return json_integer(right ? a : (a + 1 + (int)(v % (unsigned)(q->n_opts - 1))) % q->n_opts);
    case K_MULTI:
        a = opt_index(q, q->b->right[0]);
        b2 = opt_index(q, q->b->right[1]);
        if (right)
            return json_pack("[i,i]", b2, a); /* any order */
        return v % 2 ? json_pack("[i]", a) : json_pack("[i,i]", opt_index(q, "4"), a);
    case K_TF:
        return json_boolean(right == !strcmp(q->b->right[0], "true"));
    case K_TEXT: {
        static const char *const rights[] = {"Paris", "  pARIS ", "PARIS"};
        return json_string(right ? rights[v % 3] : "Lyon");
    }
    case K_ORDER: {
        json_t *arr = json_array();
        for (int i = 0; i < 4; i++)
            json_array_append_new(arr, json_integer(opt_index(q, q->b->right[right ? i : 3 - i])));
        return arr;
    }
    case K_POLL:
        return json_integer((int)(v % (unsigned)q->n_opts));
    }
    return json_null();
}

/* ---- a player's connection -------------------------------------------------- */

static void send_msg(struct bot *b, json_t *m)
{
    if (getenv("CQ_CHAOS_TRACE")) {
        char *d = json_dumps(m, JSON_COMPACT);
        fprintf(stderr, "%lld %s> %.300s\n", (long long)now_ms(), b->nick, d);
        free(d);
    }
    if (cq_ws_send_json(&b->ws, m))
        b->ws.closed = true; /* noticed by the loop */
}

/* With an id, so that a `wrong_phase` for it is told from any other error. */
static void send_shown(struct bot *b, int k)
{
    char id[16];
    snprintf(id, sizeof id, "s%d", k);
    send_msg(b, json_pack("{s:s, s:s, s:i}", "type", "shown", "id", id, "question", k));
}

static void drop(struct game *g, struct bot *b, int64_t after_ms)
{
    (void)g;
    if (getenv("CQ_CHAOS_TRACE"))
        fprintf(stderr, "%lld %s dropped, back in %lld ms\n", (long long)now_ms(), b->nick,
                (long long)after_ms);
    if (b->open)
        cq_ws_free(&b->ws);
    b->open = b->in_game = false;
    b->reconnect_at = now_ms() + after_ms;
    for (int k = 0; k < NQ; k++)
        b->sent[k] = false; /* no ack will come on that socket */
}

static void schedule_answer(struct game *g, struct bot *b, int k, int64_t lead_in_ms)
{
    if (b->host || b->never || b->skip[k] || b->done[k] || !g->q[k].known)
        return;
    if (!b->plan[k])
        b->plan[k] = make_plan(&g->q[k], g->seed, b->num, k);
    b->answer_q = k;
    b->answer_at = now_ms() + lead_in_ms + 20 + hrnd(g->seed, b->num, k, 3, 900);
}

static void note_served(struct game *g)
{
    if (g->t_kill && g->served_ms < 0)
        g->served_ms = now_ms() - g->t_kill;
}

static void on_message(struct game *g, struct bot *b, json_t *m)
{
    const char *t = json_string_value(json_object_get(m, "type"));
    const char *id = json_string_value(json_object_get(m, "id"));
    if (getenv("CQ_CHAOS_TRACE")) {
        char *d = json_dumps(m, JSON_COMPACT);
        fprintf(stderr, "%lld %s< %.300s\n", (long long)now_ms(), b->nick, d);
        free(d);
    }
    struct seat *s = b->n_seats ? &b->seat[b->n_seats - 1] : NULL;
    if (!t)
        return;
    if (!strcmp(t, "joined")) {
        b->in_game = true;
        if (!b->host && id && !strcmp(id, "jn")) { /* a new seat */
            cr_assert_lt(b->n_seats, MAXSEATS);
            s = &b->seat[b->n_seats++];
            memset(s, 0, sizeof *s);
            s->id = json_integer_value(json_object_get(json_object_get(m, "player"), "id"));
            snprintf(b->token, sizeof b->token, "%s", jstr(m, "token"));
            for (int k = 0; k < NQ; k++)
                b->sent[k] = b->done[k] = false;
            b->join_anew = false;
        }
        if (!b->host && id && !strcmp(id, "rj")) {
            g->rejoined++;
            if (b->incarnation > 0)
                note_served(g);
        }
    } else if (!strcmp(t, "state")) {
        enum phase p = phase_named(json_string_value(json_object_get(m, "phase")));
        int k = (int)json_integer_value(json_object_get(m, "index"));
        b->phase = p;
        b->index = k;
        if (p != P_ENDED)
            g->not_ended_state_in[b->incarnation] = true;
        if (b->host) {
            int pos = pos_of(p, k);
            if (b->incarnation > 0)
                snprintf(g->came_back, sizeof g->came_back, "%s %d",
                         json_string_value(json_object_get(m, "phase")), k);
            if (pos < g->host_acked_pos)
                fail_note(g,
                          "the game came back at position %d (%s %d), behind an acknowledged "
                          "host command (position %d)",
                          pos, json_string_value(json_object_get(m, "phase")), k,
                          g->host_acked_pos);
            g->host_pending = false;
        }
        if (p == P_QUESTION) {
            json_t *qm = json_object_get(m, "question");
            learn(g, qm);
            if (!b->host) {
                send_shown(b, k);
                json_t *you = json_object_get(m, "you");
                if (json_is_true(json_object_get(you, "answered")))
                    b->done[k] = true;
                else {
                    b->sent[k] = false;
                    schedule_answer(g, b, k, json_integer_value(json_object_get(qm, "lead_in_ms")));
                }
            }
        }
    } else if (!strcmp(t, "question")) {
        int k = (int)jint(m, "index");
        learn(g, m);
        b->phase = P_QUESTION;
        b->index = k;
        if (!b->host) {
            send_shown(b, k);
            schedule_answer(g, b, k, jint(m, "lead_in_ms"));
            if (g->hook)
                g->hook(g, EV_QUESTION, k, b);
        } else if (g->hook) {
            g->hook(g, EV_PHASE, k, b);
        }
    } else if (!strcmp(t, "answer_ack")) {
        int k = (int)jint(m, "index");
        cr_assert(s && k >= 0 && k < NQ);
        if (s->acked[k])
            fail_note(g, "%s: a second answer_ack for question %d", b->nick, k);
        s->acked[k] = true;
        s->ack_ms[k] = (int)jint(m, "time_ms");
        b->done[k] = true;
        b->sent[k] = false;
        g->acks++;
        g->acks_q[k]++;
        g->acks_since_kill++;
        note_served(g);
        if (g->hook)
            g->hook(g, EV_ACK, k, b);
    } else if (!strcmp(t, "error")) {
        const char *code = json_string_value(json_object_get(m, "code"));
        if (id && id[0] == 'a') { /* an answer refused: this question is over for them */
            int k = atoi(id + 1);
            if (k >= 0 && k < NQ) {
                b->done[k] = true;
                b->sent[k] = false;
            }
        } else if (id && !strcmp(id, "rj") && code && !strcmp(code, "resume_expired")) {
            if (s)
                s->released = true;
            g->released++;
            b->join_anew = true;
            b->hold = false;
            send_msg(b, json_pack("{s:s, s:s, s:s, s:s}", "type", "join", "id", "jn", "pin", g->pin,
                                  "nickname", b->nick));
        } else if (id && id[0] == 's' && code && !strcmp(code, "wrong_phase") &&
                   (b->phase != P_QUESTION || b->index != atoi(id + 1))) {
            /* A `shown` that crossed the question's close on the way:
             * PROTOCOL's answer to it, and the bot has seen the close first. */
        } else if (id && !strcmp(id, "h")) {
            g->host_pending = false;
        } else {
            fail_note(g, "%s: error %s (%s) for request %s", b->nick, code,
                      json_string_value(json_object_get(m, "message")), id ? id : "-");
        }
    } else if (!strcmp(t, "ok")) {
        if (b->host) {
            g->host_pending = false;
            if (g->host_pos_sent >= g->host_acked_pos)
                g->host_acked_pos = g->host_pos_sent;
        }
    } else if (!strcmp(t, "reveal") || !strcmp(t, "leaderboard")) {
        b->phase = t[0] == 'r' ? P_REVEAL : P_LEADERBOARD;
        b->index = (int)jint(m, "index");
        if (b->host && g->hook)
            g->hook(g, EV_PHASE, b->index, b);
    } else if (!strcmp(t, "ended")) {
        b->phase = P_ENDED;
        bool first = true;
        for (int i = 0; i < 16; i++)
            first = first && !g->ended_in[i];
        g->ended_in[b->incarnation] = true;
        if (first && g->hook)
            g->hook(g, EV_ENDED, 0, b);
    } else if (!strcmp(t, "summary")) {
        if (s) {
            s->has_summary = true;
            s->summary_score = jint(m, "score");
        }
    } else if (!strcmp(t, "lobby")) {
        json_t *left = json_object_get(m, "left");
        for (size_t i = 0; i < json_array_size(left); i++) {
            long long pid = json_integer_value(json_object_get(json_array_get(left, i), "id"));
            for (int j = 1; j < g->n; j++) {
                struct bot *o = &g->b[j];
                if (o->n_seats && o->seat[o->n_seats - 1].id == pid) {
                    if (o->hold) /* its seat is released: come back as a new player */
                        o->hold = false, o->reconnect_at = now_ms();
                    if (g->hook)
                        g->hook(g, EV_LEFT, 0, o);
                }
            }
        }
    } else if (!strcmp(t, "kicked") || !strcmp(t, "replaced") || !strcmp(t, "closed")) {
        fail_note(g, "%s got %s", b->nick, t);
    }
}

/* Connects again and sends rejoin (or join, for a released seat). */
static void reconnect(struct game *g, struct bot *b)
{
    if (cq_ws_connect(&b->ws, h.http_port, "/ws", "chainquiz.v1", NULL, NULL)) {
        b->reconnect_at = now_ms() + 20; /* the server is not back yet */
        return;
    }
    json_t *w = cq_ws_expect(&b->ws, "welcome", 5000);
    if (!w) {
        cq_ws_free(&b->ws);
        b->reconnect_at = now_ms() + 20;
        return;
    }
    json_decref(w);
    b->open = true;
    b->incarnation = g->incarnation;
    b->reconnect_at = 0;
    if (b->join_anew)
        send_msg(b, json_pack("{s:s, s:s, s:s, s:s}", "type", "join", "id", "jn", "pin", g->pin,
                              "nickname", b->nick));
    else
        send_msg(b, json_pack("{s:s, s:s, s:s, s:s}", "type", "rejoin", "id", "rj", "pin", g->pin,
                              "token", b->token));
}

static bool bot_done(const struct game *g, const struct bot *b, int k)
{
    (void)g;
    return b->never || b->skip[k] || b->done[k] || b->hold || b->join_anew;
}

static void host_send(struct game *g, const char *cmd)
{
    struct bot *host = &g->b[0];
    g->host_pending = true;
    g->host_pos_sent = pos_of(host->phase, host->index) + 1;
    if (!strcmp(cmd, "next") && host->phase == P_LEADERBOARD && host->index == NQ - 1)
        g->host_pos_sent = 1000;
    send_msg(host, json_pack("{s:s, s:s}", "type", cmd, "id", "h"));
    if (g->hook)
        g->hook(g, EV_HOST_SENT, pos_of(host->phase, host->index), host);
}

static void host_decide(struct game *g)
{
    struct bot *host = &g->b[0];
    if (!host->open || !host->in_game || g->host_pending || host->ws.closed)
        return;
    switch (host->phase) {
    case P_LOBBY:
        for (int i = 1; i < g->n; i++)
            if (!g->b[i].in_game)
                return;
        host_send(g, "start");
        break;
    case P_QUESTION:
        for (int i = 1; i < g->n; i++)
            if (!bot_done(g, &g->b[i], host->index))
                return;
        host_send(g, "next");
        break;
    case P_REVEAL:
    case P_LEADERBOARD:
        host_send(g, "next");
        break;
    case P_ENDED:
        g->over = true;
        break;
    case P_NONE:
        break;
    }
}

static int readyz(void)
{
    char body[512];
    return cq_http_get(h.http_port, "/readyz", body, sizeof body);
}

/* One turn of the loop: read what arrived, send what is due. */
static void pump(struct game *g, int timeout_ms)
{
    struct pollfd pfd[MAXB];
    int n = 0;
    for (int i = 0; i < g->n; i++)
        if (g->b[i].open)
            pfd[n++] = (struct pollfd){g->b[i].ws.fd, POLLIN, 0};
    poll(pfd, (nfds_t)n, timeout_ms);
    for (int i = 0; i < g->n; i++) {
        struct bot *b = &g->b[i];
        if (!b->open)
            continue;
        json_t *m;
        while (b->open && (m = cq_ws_recv(&b->ws, 0))) {
            on_message(g, b, m);
            json_decref(m);
        }
        if (b->open && b->ws.closed) {
            drop(g, b, 10 + rnd(40));
            if (b->host)
                g->host_pending = false;
        }
    }
    int64_t now = now_ms();
    for (int i = 0; i < g->n; i++) {
        struct bot *b = &g->b[i];
        if (!b->open && !b->hold && b->reconnect_at && now >= b->reconnect_at)
            reconnect(g, b);
        int k = b->answer_q;
        if (b->open && b->in_game && b->answer_at && now >= b->answer_at) {
            b->answer_at = 0;
            if (b->phase == P_QUESTION && b->index == k && !b->done[k] && !b->sent[k] &&
                b->plan[k]) {
                b->sent[k] = true;
                json_incref(b->plan[k]);
                send_msg(b, json_pack(
                                "{s:s, s:s, s:i, s:o}", "type", "answer", "id",
                                (const char *[]){"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7"}[k],
                                "question", k, "answer", b->plan[k]));
            }
        }
    }
    if (g->await_ready && readyz() == 200) {
        g->await_ready = false;
        g->ready_ms = now_ms() - g->t_kill;
        if (g->t_restart)
            g->restart_ready_ms = now_ms() - g->t_restart;
    }
    host_decide(g);
}

/* ---- chaos actions ------------------------------------------------------------ */

/* Keeps the figures of the last kill. */
static void finish_kill(struct game *g)
{
    if (!g->t_kill || g->n_kills >= 8)
        return;
    g->rec_served[g->n_kills] = g->served_ms;
    g->rec_ready[g->n_kills] = g->ready_ms;
    g->rec_restart_ready[g->n_kills] = g->restart_ready_ms;
    g->n_kills++;
}

static void begin_kill(struct game *g)
{
    finish_kill(g);
    g->t_kill = now_ms();
    g->t_restart = 0;
    g->served_ms = g->ready_ms = g->restart_ready_ms = -1;
    g->acks_since_kill = 0;
}

static void wait_gone(pid_t pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    for (int i = 0; i < 500; i++) {
        FILE *f = fopen(path, "r");
        if (!f)
            return;
        char st = 0;
        if (fgets(buf, sizeof buf, f)) {
            char *p = strrchr(buf, ')');
            st = p && p[1] ? p[2] : 0;
        }
        fclose(f);
        if (st == 'Z' || st == 'X')
            return;
        usleep(10000);
    }
    cr_assert_fail("process %d did not die", (int)pid);
}

static void kill_server(struct game *g)
{
    cr_assert_eq(kill(h.server_pid, SIGKILL), 0);
    cr_assert_neq(cq_harness_wait(h.server_pid, 5000), -1);
    h.server_pid = -1;
    g->incarnation++;
    cr_assert_lt(g->incarnation, 16);
}

static void restart_server(struct game *g)
{
    g->t_restart = now_ms();
    cr_assert_eq(cq_harness_start_server(&h, g->extra), 0, "no restart; see %s", h.log_path);
    g->await_ready = true;
}

static void kill_server_and_restart(struct game *g)
{
    begin_kill(g);
    kill_server(g);
    restart_server(g);
}

static pid_t embedded_redis(void)
{
    pid_t r = cq_child_named(h.server_pid, "redis-server");
    cr_assert_gt(r, 0, "no embedded redis-server");
    return r;
}

static void kill_external_redis(struct game *g)
{
    g->redis_port = h.redis_port;
    cr_assert_eq(kill(h.redis_pid, SIGKILL), 0);
    cr_assert_neq(cq_harness_wait(h.redis_pid, 5000), -1);
    h.redis_pid = -1;
}

static void restart_external_redis(struct game *g)
{
    cr_assert_eq(cq_harness_start_redis_on(&h, g->redis_port), 0, "Redis did not start again");
}

/* Power cut: every append-only file (and its manifest) back to its size at
 * its last fsync, as the shim recorded it; a file never synced is emptied. */
static void power_cut_truncate(const char *aof_dir, const char *sync_dir)
{
    DIR *d = opendir(aof_dir);
    struct dirent *e;
    cr_assert_not_null(d, "no %s", aof_dir);
    while ((e = readdir(d))) {
        char path[700], rec[700];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", aof_dir, e->d_name);
        if (stat(path, &st) || !S_ISREG(st.st_mode))
            continue;
        snprintf(rec, sizeof rec, "%s/%llu-%llu", sync_dir, (unsigned long long)st.st_dev,
                 (unsigned long long)st.st_ino);
        long long synced = 0;
        FILE *f = fopen(rec, "r");
        if (f) {
            if (fscanf(f, "%lld", &synced) != 1)
                synced = 0;
            fclose(f);
        }
        if (synced < st.st_size) {
            fprintf(stderr, "chaos: power cut: %s %lld -> %lld bytes\n", e->d_name,
                    (long long)st.st_size, synced);
            cr_assert_eq(truncate(path, synced), 0);
        }
    }
    closedir(d);
}

/* ---- the result record, checked ------------------------------------------------- */

static void fold(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    bool space = false;
    for (; *in == ' ' || *in == '\t'; in++)
        ;
    for (; *in && n + 2 < cap; in++) {
        if (*in == ' ' || *in == '\t') {
            space = true;
            continue;
        }
        if (space)
            out[n++] = ' ';
        space = false;
        out[n++] = (char)(*in >= 'A' && *in <= 'Z' ? *in - 'A' + 'a' : *in);
    }
    out[n] = '\0';
}

/* Whether the planned (sent) answer is right, from the bank's copy above. */
static bool is_right(const struct qseen *q, json_t *a)
{
    char f[80];
    switch (q->b->kind) {
    case K_SINGLE:
        return json_integer_value(a) == opt_index(q, q->b->right[0]);
    case K_MULTI: {
        if (json_array_size(a) != 2)
            return false;
        bool two = false, five = false;
        for (size_t i = 0; i < 2; i++) {
            json_int_t v = json_integer_value(json_array_get(a, i));
            two = two || v == opt_index(q, q->b->right[0]);
            five = five || v == opt_index(q, q->b->right[1]);
        }
        return two && five;
    }
    case K_TF:
        return json_is_boolean(a) && json_is_true(a) == !strcmp(q->b->right[0], "true");
    case K_TEXT:
        fold(json_string_value(a), f, sizeof f);
        return !strcmp(f, q->b->right[0]);
    case K_ORDER:
        for (size_t i = 0; i < 4; i++)
            if (json_integer_value(json_array_get(a, i)) != opt_index(q, q->b->right[i]))
                return false;
        return json_array_size(a) == 4;
    case K_POLL:
        return false;
    }
    return false;
}

/* The sent answer as the record writes it: ordering items as the bank's
 * positions (the right order is 0, 1, 2, 3); multi as a set. */
static bool same_answer(const struct qseen *q, json_t *sent, json_t *rec)
{
    switch (q->b->kind) {
    case K_MULTI: {
        if (json_array_size(sent) != json_array_size(rec))
            return false;
        for (size_t i = 0; i < json_array_size(sent); i++) {
            bool found = false;
            for (size_t j = 0; j < json_array_size(rec); j++)
                found = found || json_equal(json_array_get(sent, i), json_array_get(rec, j));
            if (!found)
                return false;
        }
        return true;
    }
    case K_ORDER:
        if (json_array_size(sent) != json_array_size(rec))
            return false;
        for (size_t i = 0; i < json_array_size(sent); i++) {
            int pos = (int)json_integer_value(json_array_get(sent, i));
            int orig = -1;
            for (int r = 0; r < 4 && pos >= 0 && pos < q->n_opts; r++)
                if (!strcmp(q->opts[pos], q->b->right[r]))
                    orig = r;
            if (json_integer_value(json_array_get(rec, i)) != orig)
                return false;
        }
        return true;
    default:
        return json_equal(sent, rec);
    }
}

/* docs/scoring.md, speed preset: base points for t (µs) in a window of L (µs). */
static long long speed_points(double t_us, double l_us)
{
    if (t_us <= 500000.0)
        return 1000;
    double t = t_us < l_us ? t_us : l_us;
    return (long long)round(1000.0 * (1.0 - t / (2.0 * l_us)));
}

static struct bot *owner_of(struct game *g, long long id, struct seat **seat)
{
    for (int i = 1; i < g->n; i++)
        for (int s = 0; s < g->b[i].n_seats; s++)
            if (g->b[i].seat[s].id == id) {
                *seat = &g->b[i].seat[s];
                return &g->b[i];
            }
    return NULL;
}

static json_t *record_player(json_t *players, long long id)
{
    for (size_t i = 0; i < json_array_size(players); i++)
        if (json_integer_value(json_object_get(json_array_get(players, i), "id")) == id)
            return json_array_get(players, i);
    return NULL;
}

/* Fetches the result and checks it; returns the number of acknowledged
 * answers missing or different. */
static int check_result(struct game *g, const char *host_token, int *n_acked)
{
    static char body[1 << 20];
    char path[300];
    int status = -1;
    snprintf(path, sizeof path, "/api/results?game=%s&token=%s", g->gid, host_token);
    for (int i = 0; i < 1500 && status != 200; i++) {
        status = cq_http_get(h.http_port, path, body, sizeof body);
        if (status != 200)
            usleep(10000);
    }
    cr_assert_eq(status, 200, "no result for %s: %s", g->gid, body);
    json_error_t err;
    json_t *rec = json_loads(body, 0, &err);
    cr_assert_not_null(rec, "result is not JSON: %s", err.text);
    json_t *players = json_object_get(rec, "players");
    json_t *questions = json_object_get(rec, "questions");
    cr_assert_eq(json_array_size(questions), NQ);
    for (int k = 0; k < NQ; k++) {
        json_t *q = json_array_get(questions, (size_t)k);
        if (!json_is_true(json_object_get(q, "asked")) ||
            json_is_true(json_object_get(q, "skipped")))
            fail_note(g, "question %d: asked %d, skipped %d", k,
                      json_is_true(json_object_get(q, "asked")),
                      json_is_true(json_object_get(q, "skipped")));
    }
    int lost = 0;
    *n_acked = 0;
    /* 1. Every acknowledged answer is in the record, the same, at the same time. */
    for (int i = 1; i < g->n; i++) {
        struct bot *b = &g->b[i];
        for (int si = 0; si < b->n_seats; si++) {
            struct seat *s = &b->seat[si];
            json_t *p = record_player(players, s->id);
            bool any = false;
            for (int k = 0; k < NQ; k++)
                any = any || s->acked[k];
            if (!p && (any || !s->released)) {
                fail_note(g, "%s (seat %lld, %s) is not in the result", b->nick, s->id,
                          s->released ? "released" : "in the game");
                for (int k = 0; k < NQ; k++)
                    lost += s->acked[k];
                continue;
            }
            for (int k = 0; k < NQ; k++) {
                if (!s->acked[k])
                    continue;
                (*n_acked)++;
                json_t *a = json_array_get(json_object_get(p, "answers"), (size_t)k);
                if (!json_is_true(json_object_get(a, "answered")) ||
                    !same_answer(&g->q[k], b->plan[k], json_object_get(a, "answer")) ||
                    json_integer_value(json_object_get(a, "time_ms")) != s->ack_ms[k]) {
                    char *got = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY),
                         *want = json_dumps(b->plan[k], JSON_ENCODE_ANY);
                    fail_note(g,
                              "LOST: %s seat %lld question %d: acknowledged %s at %d ms, "
                              "the result has %s",
                              b->nick, s->id, k, want, s->ack_ms[k], got);
                    free(got);
                    free(want);
                    lost++;
                }
            }
            if (p && s->has_summary &&
                json_integer_value(json_object_get(p, "score")) != s->summary_score)
                fail_note(g, "%s: summary said %lld, the result %lld", b->nick, s->summary_score,
                          (long long)json_integer_value(json_object_get(p, "score")));
        }
    }
    /* 2. Nothing in the record that was not sent; every score recomputed. */
    double l_us = LIMIT_S * 1e6;
    for (size_t i = 0; i < json_array_size(players); i++) {
        json_t *p = json_array_get(players, i);
        long long pid = json_integer_value(json_object_get(p, "id"));
        struct seat *s = NULL;
        struct bot *b = owner_of(g, pid, &s);
        if (!b) {
            fail_note(g, "the result has a player %lld nobody joined as", pid);
            continue;
        }
        long long total = 0, lo_total = 0, hi_total = 0;
        int streak = 0;
        for (int k = 0; k < NQ; k++) {
            json_t *a = json_array_get(json_object_get(p, "answers"), (size_t)k);
            const struct qseen *q = &g->q[k];
            bool answered = json_is_true(json_object_get(a, "answered"));
            long long pts = json_integer_value(json_object_get(a, "points"));
            long long bonus = json_integer_value(json_object_get(a, "bonus"));
            long long t_ms = json_integer_value(json_object_get(a, "time_ms"));
            bool right = false;
            if (answered && !same_answer(q, b->plan[k], json_object_get(a, "answer"))) {
                char *got = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY);
                fail_note(g, "%s seat %lld question %d: the result has an answer never sent: %s",
                          b->nick, pid, k, got);
                free(got);
            }
            if (answered && b->plan[k])
                right = is_right(q, b->plan[k]);
            if (answered && t_ms > LIMIT_S * 1000)
                fail_note(g, "%s question %d: time %lld ms over the window", b->nick, k, t_ms);
            long long lo = 0, hi = 0, want_bonus = 0;
            bool want_correct = right;
            if (q->b->kind == K_POLL || q->mult == 0) {
                want_correct = false; /* streak unchanged */
            } else if (right) {
                streak++;
                /* time_ms is t rounded down: t is in [t_ms, t_ms + 1) ms */
                hi = speed_points((double)t_ms * 1000.0, l_us) * q->mult;
                lo = speed_points((double)t_ms * 1000.0 + 999.0, l_us) * q->mult;
                want_bonus = (100 * (streak - 1) < 500 ? 100 * (streak - 1) : 500) * q->mult;
                g->capped += streak > 6; /* the cap made a difference */
            } else {
                streak = 0;
            }
            if (json_is_true(json_object_get(a, "correct")) != want_correct || pts < lo ||
                pts > hi || bonus != want_bonus)
                fail_note(g,
                          "WRONG SCORE: %s seat %lld question %d (%s, t=%lld ms, m=%d): "
                          "server correct=%d points=%lld bonus=%lld; recomputed correct=%d "
                          "points %lld..%lld bonus=%lld",
                          b->nick, pid, k, q->b->prompt, t_ms, q->mult,
                          json_is_true(json_object_get(a, "correct")), pts, bonus, want_correct, lo,
                          hi, want_bonus);
            total += pts + bonus;
            lo_total += lo + want_bonus;
            hi_total += hi + want_bonus;
        }
        long long score = json_integer_value(json_object_get(p, "score"));
        if (score != total || score < lo_total || score > hi_total)
            fail_note(g,
                      "WRONG SCORE: %s seat %lld: server %lld, its answers add up to %lld, "
                      "recomputed %lld..%lld",
                      b->nick, pid, score, total, lo_total, hi_total);
        /* PROTOCOL.md, seat release: kept in the record with its points, marked
         * left, out of the ranking */
        if (s->released && (!json_is_true(json_object_get(p, "left")) ||
                            json_integer_value(json_object_get(p, "rank")) != 0))
            fail_note(g, "%s seat %lld was released, yet the record has left %d, rank %lld",
                      b->nick, pid, json_is_true(json_object_get(p, "left")),
                      (long long)json_integer_value(json_object_get(p, "rank")));
        if (!s->released && json_integer_value(json_object_get(p, "rank")) < 1)
            fail_note(g, "%s seat %lld is in the game, yet unranked", b->nick, pid);
    }
    json_decref(rec);
    return lost;
}

/* ---- a whole game --------------------------------------------------------------- */

struct scenario {
    const char *name;
    bool embedded;
    bool shim;   /* Redis (embedded or external) runs under the fsync shim */
    int lead_in; /* seconds */
    int grace;   /* --rejoin-grace, 0: default */
    hook_fn hook;
    bool drops; /* the drop scenario: check that it dropped in every phase */
    /* --journal-acks: with an external Redis away, acknowledged from the
     * journal file (without it, acknowledgements wait for Redis) */
    bool journal_acks;
};

static char shim_dir[400], wrapper[400];
static const char *server_args[16];

static void start_for(const struct scenario *sc)
{
    /* CQ_CHAOS_FSYNC=everysec: a control that must lose answers (see README.md) */
    static const char *shim_redis_args[] = {"--appendfsync", NULL, NULL};
    shim_redis_args[1] = getenv("CQ_CHAOS_FSYNC") ? getenv("CQ_CHAOS_FSYNC") : "always";
    static char grace[16];
    size_t n = 0;
    memset(&h, 0, sizeof h);
    h.redis_pid = h.server_pid = -1;
    snprintf(h.dir, sizeof h.dir, "/tmp/cq-test-XXXXXX");
    cr_assert_not_null(mkdtemp(h.dir));
    snprintf(h.log_path, sizeof h.log_path, "%s/server.log", h.dir);
    if (sc->shim) {
        snprintf(shim_dir, sizeof shim_dir, "%s/fsync", h.dir);
        cr_assert_eq(mkdir(shim_dir, 0700), 0);
        snprintf(wrapper, sizeof wrapper, "%s/redis-shim.sh", h.dir);
        FILE *f = fopen(wrapper, "w");
        cr_assert_not_null(f);
        fprintf(f, "#!/bin/sh\nLD_PRELOAD='%s' CQ_FSYNC_DIR='%s' exec redis-server \"$@\"\n",
                CQ_FSYNC_SHIM, shim_dir);
        fclose(f);
        cr_assert_eq(chmod(wrapper, 0700), 0);
        if (sc->embedded) {
            server_args[n++] = "--redis-server";
            server_args[n++] = wrapper;
        } else {
            h.redis_program = wrapper;
            h.redis_args = shim_redis_args;
        }
    }
    if (sc->journal_acks)
        server_args[n++] = "--journal-acks";
    if (sc->grace) {
        snprintf(grace, sizeof grace, "%d", sc->grace);
        server_args[n++] = "--rejoin-grace";
        server_args[n++] = grace;
    }
    static char content[300];
    snprintf(content, sizeof content, "%s/content", h.dir);
    write_bank(content);
    server_args[n++] = "--content"; /* after the harness's: the last one counts */
    server_args[n++] = content;
    server_args[n++] = "--games-per-min";
    server_args[n++] = "1000";
    server_args[n] = NULL;
    if (!sc->embedded)
        cr_assert_eq(cq_harness_start_redis(&h), 0, "redis did not start");
    cr_assert_eq(cq_harness_start_server(&h, server_args), 0, "server did not start; see %s",
                 h.log_path);
    if (sc->shim && sc->embedded) {
        /* the embedded Redis runs under the shim: its append-only file is synced and recorded */
        for (int i = 0; i < 500; i++) {
            DIR *d = opendir(shim_dir);
            struct dirent *e;
            bool any = false;
            while (d && (e = readdir(d)))
                any = any || e->d_name[0] != '.';
            if (d)
                closedir(d);
            if (any)
                break;
            usleep(10000);
        }
    }
}

static void play(const struct scenario *sc, unsigned seed)
{
    static struct game game;
    struct game *g = &game;
    char host_token[80];
    for (int i = 0; i < g->n; i++)
        for (int k = 0; k < NQ; k++)
            json_decref(g->b[i].plan[k]);
    memset(g, 0, sizeof *g);
    g->seed = seed;
    rng = 0x9E3779B97F4A7C15ull ^ ((uint64_t)seed * 0x100000001B3ull);
    rnd(1);
    g->embedded = sc->embedded;
    g->extra = server_args;
    g->hook = sc->hook;
    g->served_ms = g->ready_ms = g->restart_ready_ms = -1;
    g->n = 1 + env_int("CQ_CHAOS_PLAYERS", 20);
    cr_assert(g->n >= 2 && g->n <= MAXB);

    struct bot *host = &g->b[0];
    host->host = true;
    snprintf(host->nick, sizeof host->nick, "host");
    client_open(&host->ws, &h);
    host->open = true;
    json_t *j = client_req(&host->ws,
                           json_pack("{s:s, s:s, s:s, s:i, s:i, s:i}", "type", "create_game",
                                     "bank", "chaos", "scoring", "speed", "count", NQ, "time_limit",
                                     LIMIT_S, "lead_in", sc->lead_in),
                           "joined");
    snprintf(g->pin, sizeof g->pin, "%s", jstr(j, "pin"));
    snprintf(g->gid, sizeof g->gid, "%s", jstr(j, "game_id"));
    snprintf(host_token, sizeof host_token, "%s", jstr(j, "token"));
    snprintf(host->token, sizeof host->token, "%s", host_token);
    json_decref(j);
    host->in_game = true;
    json_t *st = client_expect(&host->ws, "state");
    host->phase = P_LOBBY;
    json_decref(st);

    for (int i = 1; i < g->n; i++) {
        struct bot *b = &g->b[i];
        snprintf(b->nick, sizeof b->nick, "Bot%02d", i);
        b->num = i;
        b->never = i % 7 == 3; /* some never answer */
        for (int k = 0; k < NQ; k++)
            b->skip[k] = i != 1 && hrnd(seed, i, k, 4, 10) == 0;
        client_open(&b->ws, &h);
        b->open = true;
        send_msg(b, json_pack("{s:s, s:s, s:s, s:s}", "type", "join", "id", "jn", "pin", g->pin,
                              "nickname", b->nick));
        json_t *jm = client_expect(&b->ws, "joined");
        on_message(g, b, jm);
        json_decref(jm);
    }
    if (g->hook)
        g->hook(g, EV_PHASE, -1, host); /* the lobby, everyone in */

    int64_t until = now_ms() + GAME_MS;
    while (!g->over) {
        cr_assert_lt(now_ms(), until, "%s seed %u: the game did not end in time (host %d/%d)",
                     sc->name, seed, host->phase, host->index);
        pump(g, 10);
    }
    /* ended seen on a server that was then killed: it must come back ended */
    for (int i = 0; i < 16; i++)
        for (int k = i + 1; k < 16; k++)
            if (g->ended_in[i] && g->not_ended_state_in[k])
                fail_note(g,
                          "a client saw `ended` (server run %d), yet the game came back "
                          "not ended (run %d)",
                          i, k);
    for (int64_t t = now_ms(); g->await_ready && now_ms() < t + 30000;)
        pump(g, 10); /* the figure for the report */
    finish_kill(g);
    int acked = 0, lost = check_result(g, host_token, &acked);
    char recov[512] = "";
    size_t rl = 0;
    for (int i = 0; i < g->n_kills && rl < sizeof recov; i++)
        rl += (size_t)snprintf(recov + rl, sizeof recov - rl,
                               "; kill %d: first player served %lld ms, /readyz 200 %lld ms "
                               "(%lld ms after the restart)",
                               i + 1, g->rec_served[i], g->rec_ready[i], g->rec_restart_ready[i]);
    fprintf(stderr,
            "chaos: %s, seed %u, %d players: %d answers acknowledged, %d lost; %d rejoins, %d "
            "seats released, %d bonuses held by the streak cap%s%s%s%s%s\n",
            sc->name, seed, g->n - 1, acked, lost, g->rejoined, g->released, g->capped, recov,
            g->came_back[0] ? "; came back at " : "", g->came_back, g->n_failures ? "\n" : "",
            g->failures);
    const char *report = getenv("CQ_CHAOS_REPORT");
    if (report) {
        FILE *f = fopen(report, "a");
        for (int i = 0; f && i < (g->n_kills ? g->n_kills : 1); i++)
            fprintf(f, "%s\t%u\t%d\t%d\t%d\t%d\t%lld\t%lld\t%lld\t%d\n", sc->name, seed, g->n - 1,
                    acked, lost, i + 1, g->n_kills ? g->rec_served[i] : -1,
                    g->n_kills ? g->rec_ready[i] : -1, g->n_kills ? g->rec_restart_ready[i] : -1,
                    g->n_failures);
        if (f)
            fclose(f);
    }
    if (sc->drops) {
        static const char *const what[] = {"lobby",  "lead-in",     "question",
                                           "reveal", "leaderboard", "past the grace"};
        for (int i = 0; i < 6; i++)
            cr_expect_gt(g->dropped_in[i], 0, "seed %u: no player dropped in the %s", seed,
                         what[i]);
        cr_expect_gt(g->released, 0, "seed %u: no seat was released", seed);
    } else if (sc->hook) {
        cr_expect_gt(g->n_kills, 0, "seed %u: nothing was killed", seed);
    }
    cr_assert_gt(acked, 0, "no answer was acknowledged");
    cr_assert_eq(lost, 0, "%s seed %u: %d acknowledged answers lost:\n%s", sc->name, seed, lost,
                 g->failures);
    cr_assert_eq(g->n_failures, 0, "%s seed %u:\n%s", sc->name, seed, g->failures);
    for (int i = 0; i < g->n; i++)
        if (g->b[i].open)
            cq_ws_free(&g->b[i].ws);
}

static void run(const struct scenario *sc)
{
    int rounds = env_int("CQ_CHAOS_ROUNDS", 1);
    unsigned seed = (unsigned)env_int("CQ_CHAOS_SEED", 15);
    const char *only = getenv("CQ_CHAOS_ONLY_SEED");
    start_for(sc);
    for (int r = 0; r < rounds; r++)
        play(sc, only ? (unsigned)atoi(only) : seed + (unsigned)r);
    cq_harness_stop(&h);
}

/* ---- the scenarios -------------------------------------------------------------- */

static void stop(void)
{
    cq_harness_stop(&h);
}

TestSuite(chaos, .fini = stop);

/* 1. An external Redis (appendonly yes, as the harness starts it) killed
 * mid-question, restarted on its port a question later; the server runs
 * with --journal-acks, so that the game goes on (acknowledged from the
 * journal file) while Redis is away. */
static void hook_external_redis(struct game *g, enum ev e, int k, struct bot *b)
{
    (void)b;
    if (e == EV_ACK && k == 1 && g->acks_q[1] == 3 && g->fired == 0) {
        g->fired = 1;
        begin_kill(g);
        kill_external_redis(g);
        for (int i = 0; i < 500 && readyz() != 503; i++)
            usleep(10000);
    } else if (e == EV_ACK && k == 2 && g->acks_q[2] == 3 && g->fired == 1) {
        g->fired = 2;
        g->t_restart = now_ms();
        restart_external_redis(g);
        g->await_ready = true;
    }
}

Test(chaos, external_redis_killed_mid_game)
{
    run(&(struct scenario){.name = "external Redis kill -9, restarted",
                           .hook = hook_external_redis,
                           .journal_acks = true});
}

/* 2. The embedded Redis killed: the server restarts it. */
static void hook_embedded_redis(struct game *g, enum ev e, int k, struct bot *b)
{
    (void)b;
    if (e == EV_ACK && k == 1 && g->acks_q[1] == 3 && !g->fired) {
        g->fired = 1;
        g->old_redis = embedded_redis();
        begin_kill(g);
        cr_assert_eq(kill(g->old_redis, SIGKILL), 0);
        /* ready again = a new redis-server and /readyz 200 */
        for (int i = 0; i < 1000; i++) {
            pid_t r = cq_child_named(h.server_pid, "redis-server");
            if (r > 0 && r != g->old_redis)
                break;
            usleep(5000);
        }
        g->await_ready = true;
    }
}

Test(chaos, embedded_redis_killed_mid_game)
{
    run(&(struct scenario){
        .name = "embedded Redis kill -9", .embedded = true, .hook = hook_embedded_redis});
}

/* 3. The server SIGKILLed right after an answer_ack, restarted at once. */
static void hook_server_mid_question(struct game *g, enum ev e, int k, struct bot *b)
{
    (void)b;
    if (e == EV_ACK && k == 2 && g->acks_q[2] == 5 && !g->fired) {
        g->fired = 1;
        kill_server_and_restart(g);
    }
}

Test(chaos, server_killed_mid_question_external_redis)
{
    run(&(struct scenario){.name = "server SIGKILL mid-question, external",
                           .hook = hook_server_mid_question});
}

Test(chaos, server_killed_mid_question_embedded_redis)
{
    run(&(struct scenario){.name = "server SIGKILL mid-question, embedded",
                           .embedded = true,
                           .hook = hook_server_mid_question});
}

/* 4. Twice in one game. */
static void hook_server_twice(struct game *g, enum ev e, int k, struct bot *b)
{
    (void)b;
    if (e == EV_ACK && ((k == 1 && g->acks_q[1] == 4 && g->fired == 0) ||
                        (k == 3 && g->acks_q[3] == 9 && g->fired == 1))) {
        g->fired++;
        kill_server_and_restart(g);
    }
}

Test(chaos, server_killed_twice_in_one_game)
{
    run(&(struct scenario){
        .name = "server SIGKILL twice, embedded", .embedded = true, .hook = hook_server_twice});
}

/* 5. At the instant the game ends: right after the host's last `next` is
 * sent, or right after the first `ended` arrives. */
static void hook_end_sent(struct game *g, enum ev e, int k, struct bot *b)
{
    (void)b;
    if (e == EV_HOST_SENT && k == pos_of(P_LEADERBOARD, NQ - 1) && !g->fired) {
        g->fired = 1;
        kill_server_and_restart(g);
    }
}

static void hook_ended_seen(struct game *g, enum ev e, int k, struct bot *b)
{
    (void)b;
    (void)k;
    if (e == EV_ENDED && !g->fired) {
        g->fired = 1;
        kill_server_and_restart(g);
    }
}

Test(chaos, server_killed_as_the_last_next_is_sent)
{
    run(&(struct scenario){.name = "server SIGKILL after the last next, embedded",
                           .embedded = true,
                           .hook = hook_end_sent});
}

Test(chaos, server_killed_as_ended_arrives)
{
    run(&(struct scenario){.name = "server SIGKILL when ended arrives, embedded",
                           .embedded = true,
                           .hook = hook_ended_seen});
}

Test(chaos, server_killed_as_ended_arrives_external_redis)
{
    run(&(struct scenario){.name = "server SIGKILL when ended arrives, external",
                           .hook = hook_ended_seen});
}

/* 6. Server and Redis in the same instant. */
static void hook_both_external(struct game *g, enum ev e, int k, struct bot *b)
{
    (void)b;
    if (e == EV_ACK && k == 2 && g->acks_q[2] == 6 && !g->fired) {
        g->fired = 1;
        begin_kill(g);
        g->redis_port = h.redis_port;
        cr_assert_eq(kill(h.redis_pid, SIGKILL), 0);
        kill_server(g);
        cr_assert_neq(cq_harness_wait(h.redis_pid, 5000), -1);
        h.redis_pid = -1;
        restart_external_redis(g);
        restart_server(g);
    }
}

static void hook_both_embedded(struct game *g, enum ev e, int k, struct bot *b)
{
    (void)b;
    if (e == EV_ACK && k == 2 && g->acks_q[2] == 6 && !g->fired) {
        g->fired = 1;
        pid_t redis = embedded_redis();
        begin_kill(g);
        cr_assert_eq(kill(redis, SIGKILL), 0);
        kill_server(g);
        wait_gone(redis);
        restart_server(g);
    }
}

Test(chaos, server_and_external_redis_killed_together)
{
    run(&(struct scenario){.name = "server + external Redis kill -9", .hook = hook_both_external});
}

Test(chaos, server_and_embedded_redis_killed_together)
{
    run(&(struct scenario){
        .name = "server + embedded Redis kill -9", .embedded = true, .hook = hook_both_embedded});
}

/* 7. A power cut: Redis and the server killed, the append-only files cut
 * back to what was synced. */
static void hook_power_cut(struct game *g, enum ev e, int k, struct bot *b)
{
    (void)b;
    if (e == EV_ACK && k == 2 && g->acks_q[2] == 7 && !g->fired) {
        char aof[400];
        g->fired = 1;
        begin_kill(g);
        if (g->embedded) {
            pid_t redis = embedded_redis();
            cr_assert_eq(kill(redis, SIGKILL), 0);
            kill_server(g);
            wait_gone(redis);
            snprintf(aof, sizeof aof, "%s/data/appendonlydir", h.dir);
            power_cut_truncate(aof, shim_dir);
            restart_server(g);
        } else {
            g->redis_port = h.redis_port;
            cr_assert_eq(kill(h.redis_pid, SIGKILL), 0);
            kill_server(g);
            cr_assert_neq(cq_harness_wait(h.redis_pid, 5000), -1);
            h.redis_pid = -1;
            snprintf(aof, sizeof aof, "%s/appendonlydir", h.dir);
            power_cut_truncate(aof, shim_dir);
            restart_external_redis(g);
            restart_server(g);
        }
    }
}

Test(chaos, power_cut_embedded_redis)
{
    run(&(struct scenario){.name = "power cut, embedded Redis",
                           .embedded = true,
                           .shim = true,
                           .hook = hook_power_cut});
}

Test(chaos, power_cut_external_redis_appendfsync_always)
{
    run(&(struct scenario){
        .name = "power cut, external Redis (fsync always)", .shim = true, .hook = hook_power_cut});
}

/* 8. Players dropped in every phase (lobby, lead-in, question, reveal,
 * leaderboard) come back with their tokens; one stays away past the rejoin
 * grace (1 s): its seat is released (it keeps its points in the record, marked
 * left, unranked), and it joins again as a new player. */
static struct bot *pick(struct game *g, int salt)
{
    for (int tries = 0; tries < 50; tries++) {
        struct bot *b = &g->b[1 + (int)rnd((unsigned)(g->n - 1))];
        if (b->open && !b->hold && !b->join_anew && (salt < 0 || !b->never))
            return b;
    }
    return NULL;
}

static void hook_drops(struct game *g, enum ev e, int k, struct bot *b)
{
    struct bot *v;
    if (e == EV_PHASE && k == -1) { /* lobby */
        for (int i = 0; i < 3; i++)
            if ((v = pick(g, 0)))
                drop(g, v, 5), g->dropped_in[0]++;
    } else if (e == EV_QUESTION && b->phase == P_QUESTION && rnd(8) == 0 && !b->hold) {
        drop(g, b, 5); /* during the lead-in: the question just arrived */
        g->dropped_in[1]++;
    } else if (e == EV_ACK && g->acks_q[k] == 3) {
        for (int i = 0; i < 2; i++) /* mid-question, among those still to answer */
            if ((v = pick(g, -1)) && !v->done[k])
                drop(g, v, 5), g->dropped_in[2]++;
        if (k == 1 || k == 3) { /* away past the grace */
            if ((v = pick(g, -1))) {
                drop(g, v, 0);
                v->hold = true;
                g->dropped_in[5]++;
            }
        }
    } else if (e == EV_PHASE && (b->phase == P_REVEAL || b->phase == P_LEADERBOARD)) {
        for (int i = 0; i < 2; i++)
            if ((v = pick(g, 0)))
                drop(g, v, 5), g->dropped_in[b->phase == P_REVEAL ? 3 : 4]++;
    }
}

Test(chaos, players_dropped_in_every_phase_and_after_the_grace)
{
    run(&(struct scenario){.name = "drops in every phase, rejoin grace 1 s",
                           .embedded = true,
                           .lead_in = 1,
                           .grace = 1,
                           .hook = hook_drops,
                           .drops = true});
}
