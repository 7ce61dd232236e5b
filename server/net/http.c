/* http.c: every plain HTTP request: health, readiness, metrics, the bank
 * list, the join QR code, leaderboards, results, and the static files of
 * the browser client.
 *
 * One request at a time per connection. Without mounts, lws keeps a
 * connection in LRS_DOING_TRANSACTION from LWS_CALLBACK_HTTP until we call
 * lws_http_transaction_completed, and parses no further (pipelined) request
 * meanwhile: those wait in lws's buffer and are answered in order. (With
 * callback mounts, lws 4.1 parses the next request at once and frees the
 * per-request state of the one still waiting for Redis.) While a request
 * waits for Redis we also stop reading the socket (lws_rx_flow_control):
 * unread pending input would otherwise wake the loop again and again. Not
 * while a response is written: lws 4.1 sends no WRITEABLE to an h1
 * connection whose reading is stopped.
 *
 * The per-request state (`struct http_pss`, lws's per_session_data) is
 * freed when lws drops it (HTTP_DROP_PROTOCOL, at the transaction's end) or
 * closes the connection (CLOSED_HTTP), whichever comes first; a Redis reply
 * that comes later finds its request detached and only frees it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <qrencode.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "net_priv.h"
#include "nickname.h"
#include "text.h"

#define BODY_MAX    (1u << 20)  /* a dynamic response's body, bytes */
#define RESULTS_MAX (64u << 20) /* a game's results download, bytes */
#define STATIC_MAX  (4u << 20)  /* a file of the web client, bytes */

/* A request waiting for Redis. The store's callback may outlive the
 * request (the connection closed, or lws dropped the request): then `wsi`
 * is NULL and the callback only frees this. */
struct http_req {
    struct lws *wsi;
    char format[8];
    char token[CQ_TOKEN_MAX + 1];
    char game[40];
    char board[200], period[16];
};

/* Per-request state (lws allocates it zeroed for each request and frees
 * it at the request's end): the response waiting for WRITEABLE. */
struct http_pss {
    struct lws *wsi;
    char *body; /* LWS_PRE headroom, then the body */
    size_t len;
    unsigned status;
    const char *ctype;
    char disposition[96];
    bool ready, headers_sent;
    bool head; /* a HEAD request: headers only */
    bool held; /* we stopped reading while Redis answers (see the top) */
    struct http_req *pending;
};

size_t cq_http_pss_size(void)
{
    return sizeof(struct http_pss);
}

/* A growable text with a hard ceiling (curl's dynbuf idea). */
struct text {
    char *p;
    size_t len, cap;
    size_t max; /* 0: BODY_MAX */
    bool over;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_add(struct text *t, const char *fmt, ...)
{
    va_list ap;
    if (t->over)
        return;
    for (;;) {
        size_t room = t->cap - t->len;
        va_start(ap, fmt);
        int n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->over = true;
            return;
        }
        if (t->p && (size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        size_t ncap = t->cap ? t->cap * 2 : 4096;
        while (ncap < t->len + (size_t)n + 1 + LWS_PRE)
            ncap *= 2;
        if (ncap > (t->max ? t->max : BODY_MAX)) {
            t->over = true;
            return;
        }
        char *np = realloc(t->p ? t->p - LWS_PRE : NULL, ncap);
        if (!np) {
            t->over = true;
            return;
        }
        t->p = np + LWS_PRE;
        t->cap = ncap - LWS_PRE;
    }
}

/* Stores the response; headers and body go out in WRITEABLE. */
static int respond(struct lws *wsi, struct http_pss *pss, unsigned status, const char *ctype,
                   struct text *t)
{
    if (t->over) {
        free(t->p ? t->p - LWS_PRE : NULL);
        *t = (struct text){0};
        status = HTTP_STATUS_INTERNAL_SERVER_ERROR;
        ctype = "application/json";
        text_add(t, "{\"error\":\"response too large\"}");
    }
    pss->body = t->p ? t->p - LWS_PRE : NULL;
    pss->len = t->len;
    pss->status = status;
    pss->ctype = ctype;
    pss->ready = true;
    if (pss->held) {
        pss->held = false;
        lws_rx_flow_control(wsi, 1); /* else no WRITEABLE comes */
    }
    lws_callback_on_writable(wsi);
    return 0;
}

static int respond_json_error(struct lws *wsi, struct http_pss *pss, unsigned status,
                              const char *msg)
{
    struct text t = {0};
    text_add(&t, "{\"error\":\"%s\"}", msg);
    return respond(wsi, pss, status, "application/json", &t);
}

static int write_response(struct lws *wsi, struct http_pss *pss)
{
    unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start,
                                       *end = hdr + sizeof hdr - 1;
    if (!pss->ready)
        return 0; /* lws asks on its own, e.g. when it stops reading */
    if (!pss->headers_sent) {
        if (lws_add_http_common_headers(wsi, pss->status, pss->ctype, (lws_filepos_t)pss->len, &p,
                                        end) ||
            lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                        (const unsigned char *)"no-store", 8, &p, end) ||
            (pss->disposition[0] &&
             lws_add_http_header_by_name(wsi, (const unsigned char *)"content-disposition:",
                                         (const unsigned char *)pss->disposition,
                                         (int)strlen(pss->disposition), &p, end)) ||
            lws_finalize_write_http_header(wsi, start, &p, end))
            return -1;
        pss->headers_sent = true;
        if (!pss->head) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    } else if (lws_write(wsi,
                         pss->body ? (unsigned char *)pss->body + LWS_PRE : (unsigned char *)"",
                         pss->len, LWS_WRITE_HTTP_FINAL) < 0) {
        return -1;
    }
    cq_http_conn_busy(wsi, false);
    /* Frees `pss` (HTTP_DROP_PROTOCOL) and reads the next request. */
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* The request is over (answered, dropped by lws, or its connection gone):
 * its body is freed, a Redis call still out is detached from it, and the
 * connection reads again. Runs more than once harmlessly. */
static void request_end(struct http_pss *pss, bool closing)
{
    if (pss->pending)
        pss->pending->wsi = NULL; /* its callback frees it */
    free(pss->body);
    if (pss->held && !closing)
        lws_rx_flow_control(pss->wsi, 1);
    memset(pss, 0, sizeof *pss);
}

#define URLARG_MAX 256
#define URI_MAX    1024 /* a request's path, bytes; longer is answered 414 */

/* lws copies each "name=value" in turn into `buf` and gives up at the first
 * that does not fit, so every buffer must hold any argument: one size. */
static const char *urlarg(struct lws *wsi, const char *name, char buf[URLARG_MAX])
{
    return lws_get_urlarg_by_name(wsi, name, buf, URLARG_MAX);
}

/* ---- async endpoints: leaderboards and results from Redis ---------------- */

/* Stops reading the connection while its request waits for Redis. */
static void hold(struct lws *wsi, struct http_pss *pss)
{
    pss->held = true;
    lws_rx_flow_control(wsi, 0);
}

static struct http_pss *req_pss(struct http_req *req)
{
    struct http_pss *pss = req->wsi ? lws_wsi_user(req->wsi) : NULL;
    if (!pss || pss->pending != req) {
        free(req); /* the request ended while Redis answered */
        return NULL;
    }
    pss->pending = NULL;
    return pss;
}

static void on_board(void *ud, const struct cq_board_page *page)
{
    struct http_req *req = ud;
    struct http_pss *pss = req_pss(req);
    struct text t = {0};
    if (!pss)
        return;
    if (!page) {
        respond_json_error(req->wsi, pss, HTTP_STATUS_SERVICE_UNAVAILABLE,
                           "leaderboard storage is unavailable; try again");
        free(req);
        return;
    }
    json_t *o = json_pack("{s:s, s:s, s:I, s:[], s:[]}", "board", req->board, "period", req->period,
                          "total", (json_int_t)page->total, "top", "around");
    for (int part = 0; o && part < 2; part++) {
        const struct cq_board_row *rows = part ? page->around : page->top;
        size_t n = part ? page->n_around : page->n_top;
        json_t *arr = json_object_get(o, part ? "around" : "top");
        for (size_t i = 0; i < n; i++)
            json_array_append_new(
                arr, json_pack("{s:I, s:s, s:I}", "rank", (json_int_t)rows[i].rank, "nickname",
                               rows[i].nickname, "score", (json_int_t)rows[i].score));
    }
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (s)
        text_add(&t, "%s", s);
    else
        t.over = true;
    free(s);
    respond(req->wsi, pss, HTTP_STATUS_OK, "application/json", &t);
    free(req);
}

/* A cell starting with one of these is run as a formula by spreadsheets. */
static bool csv_risky(char c)
{
    return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

/* Where a spreadsheet may start a new cell: it may split on any of these,
 * whatever separator the file means, and ignore our quotes. */
#define CSV_SPLITS ",;\t\r\n"

/* Whether the cell starting at `p` would run as a formula: its first
 * character, past quotes and spaces a lenient importer drops. */
static bool csv_cell_risky(const char *p)
{
    p += strspn(p, "\" ");
    return csv_risky(*p);
}

/* CSV field: quoted, and defused against spreadsheet formulas wherever a
 * cell could start in it (its start and after every separator), so that
 * splitting on ',' ';' or tab never yields a cell starting with = + - @,
 * tab or CR: such a cell gets a leading '. */
static void csv_field(struct text *t, const char *s, bool last)
{
    text_add(t, "\"%s", csv_cell_risky(s) ? "'" : "");
    for (const char *p = s; *p;) {
        size_t run = strcspn(p, "\"" CSV_SPLITS);
        text_add(t, "%.*s", (int)run, p);
        p += run;
        if (*p == '"')
            text_add(t, "\"\"");
        else if (*p)
            text_add(t, "%c%s", *p, csv_cell_risky(p + 1) ? "'" : "");
        if (*p)
            p++;
    }
    text_add(t, "\"%s", last ? "\r\n" : ",");
}

/* An option's letter as the class saw it: A for the first shown. */
static char csv_letter(size_t pos)
{
    return (char)('A' + pos);
}

/* A recorded answer (PROTOCOL: the shape the player sent; ordering: bank
 * indexes) as letters and as option text, into `letters` and `words`. */
static void csv_answer(json_t *q, json_t *ans, struct text *letters, struct text *words)
{
    json_t *opts = json_object_get(q, "options"), *order = json_object_get(q, "order");
    const char *qtype = json_string_value(json_object_get(q, "qtype"));
    bool ordering = qtype && !strcmp(qtype, "ordering");
    if (json_is_string(ans)) {
        text_add(letters, "%s", json_string_value(ans));
        text_add(words, "%s", json_string_value(ans));
        return;
    }
    if (json_is_boolean(ans)) {
        text_add(letters, "%s", json_is_true(ans) ? "True" : "False");
        text_add(words, "%s", json_is_true(ans) ? "True" : "False");
        return;
    }
    json_t *items = json_is_integer(ans) ? json_pack("[O]", ans) : json_incref(ans);
    size_t i;
    json_t *v;
    json_array_foreach(items, i, v)
    {
        long long b = json_integer_value(v);
        size_t pos = (size_t)b, k;
        json_t *o;
        if (ordering) /* bank index -> the position it was shown at */
            json_array_foreach(order, k, o) if (json_integer_value(o) == b) pos = k;
        const char *txt = json_string_value(json_array_get(opts, pos));
        const char *sep = i ? (ordering ? " > " : ", ") : "";
        if (b >= 0 && pos < 26)
            text_add(letters, "%s%c", sep, csv_letter(pos));
        text_add(words, "%s%s", i ? (ordering ? " > " : " | ") : "", txt ? txt : "?");
    }
    json_decref(items);
}

static int csv_by_rank(const void *a, const void *b)
{
    long long ra = json_integer_value(json_object_get(*(json_t *const *)a, "rank"));
    long long rb = json_integer_value(json_object_get(*(json_t *const *)b, "rank"));
    /* rank 0 (left or kicked) after the ranked */
    ra = ra ? ra : LLONG_MAX;
    rb = rb ? rb : LLONG_MAX;
    if (ra != rb)
        return (ra > rb) - (ra < rb);
    /* equal ranks by player id (join order): qsort alone is not stable */
    long long ia = json_integer_value(json_object_get(*(json_t *const *)a, "id"));
    long long ib = json_integer_value(json_object_get(*(json_t *const *)b, "id"));
    return (ia > ib) - (ia < ib);
}

/* The CSV layout is in protocol/HTTP.md: a `player` row per player
 * (ranked first), then an `answer` row per player and asked question. */
static void results_csv(json_t *rec, struct text *t)
{
    json_t *players = json_object_get(rec, "players"), *qs = json_object_get(rec, "questions");
    const char *gid = json_string_value(json_object_get(rec, "game_id"));
    size_t np = json_array_size(players), i, k;
    json_t **sorted = calloc(np ? np : 1, sizeof *sorted), *p, *a;
    if (!sorted) {
        t->over = true;
        return;
    }
    text_add(t,
             "row,game_id,player_id,nickname,rank,score,correct_count,question,question_id,"
             "question_text,skipped,answered,correct,points,bonus,time_ms,answer,answer_text\r\n");
    json_array_foreach(players, i, p) sorted[i] = p;
    qsort(sorted, np, sizeof *sorted, csv_by_rank);
    for (i = 0; i < np; i++) {
        p = sorted[i];
        long long right = 0;
        json_array_foreach(json_object_get(p, "answers"), k, a)
        {
            json_t *q = json_array_get(qs, k);
            right += !json_is_false(json_object_get(q, "asked")) &&
                     !json_is_true(json_object_get(q, "skipped")) &&
                     json_is_true(json_object_get(a, "correct"));
        }
        text_add(t, "player,");
        csv_field(t, gid ? gid : "", false);
        text_add(t, "%lld,", (long long)json_integer_value(json_object_get(p, "id")));
        csv_field(t, json_string_value(json_object_get(p, "nickname")), false);
        text_add(t, "%lld,%lld,%lld,,,,,,,,,,,\r\n",
                 (long long)json_integer_value(json_object_get(p, "rank")),
                 (long long)json_integer_value(json_object_get(p, "score")), right);
    }
    free(sorted);
    json_array_foreach(players, i, p)
    {
        json_array_foreach(json_object_get(p, "answers"), k, a)
        {
            json_t *q = json_array_get(qs, k);
            if (json_is_false(json_object_get(q, "asked")))
                continue; /* the game ended before this question */
            const char *qid = q ? json_string_value(json_object_get(q, "id")) : NULL;
            const char *prompt = q ? json_string_value(json_object_get(q, "prompt")) : NULL;
            text_add(t, "answer,");
            csv_field(t, gid ? gid : "", false);
            text_add(t, "%lld,", (long long)json_integer_value(json_object_get(p, "id")));
            csv_field(t, json_string_value(json_object_get(p, "nickname")), false);
            text_add(t, "%lld,%lld,,%zu,",
                     (long long)json_integer_value(json_object_get(p, "rank")),
                     (long long)json_integer_value(json_object_get(p, "score")), k + 1);
            csv_field(t, qid ? qid : "", false);
            csv_field(t, prompt ? prompt : "", false);
            text_add(t, "%s,%s,%s,%lld,%lld,%lld,",
                     json_is_true(json_object_get(q, "skipped")) ? "true" : "false",
                     json_is_true(json_object_get(a, "answered")) ? "true" : "false",
                     json_is_true(json_object_get(a, "correct")) ? "true" : "false",
                     (long long)json_integer_value(json_object_get(a, "points")),
                     (long long)json_integer_value(json_object_get(a, "bonus")),
                     (long long)json_integer_value(json_object_get(a, "time_ms")));
            struct text letters = {.max = 1 << 16}, words = {.max = 1 << 16};
            json_t *ans = json_object_get(a, "answer");
            if (ans && !json_is_null(ans))
                csv_answer(q, ans, &letters, &words);
            csv_field(t, letters.p && !letters.over ? letters.p : "", false);
            csv_field(t, words.p && !words.over ? words.p : "", true);
            free(letters.p ? letters.p - LWS_PRE : NULL);
            free(words.p ? words.p - LWS_PRE : NULL);
        }
    }
}

#define RESULT_MISS                                                                                \
    "no stored result for this game and token (expired, never finished, or the wrong token)"

static void on_result(void *ud, const char *text, size_t len)
{
    struct http_req *req = ud;
    struct http_pss *pss = req_pss(req);
    struct text t = {.max = RESULTS_MAX};
    json_t *rec = NULL;
    if (!pss)
        return;
    if (!text) {
        /* "Redis away" and "no such game" both arrive as no text. */
        struct cq_net *net = lws_context_user(lws_get_context(req->wsi));
        if (!net->deps.store || !cq_store_connected(net->deps.store)) {
            respond_json_error(req->wsi, pss, HTTP_STATUS_SERVICE_UNAVAILABLE,
                               "result storage is unavailable; try again");
            goto out;
        }
    }
    rec = text ? json_loadb(text, len, 0, NULL) : NULL;
    /* The record keeps the host token's SHA-256 (secret.h); one written
     * before that keeps the token itself until it expires. */
    char key[CQ_SECRET_DIGEST_LEN + 1];
    const char *want = rec ? json_string_value(json_object_get(rec, "host_token_sha256")) : NULL;
    const char *legacy = rec ? json_string_value(json_object_get(rec, "host_token")) : NULL;
    cq_secret_digest(req->token, key);
    if (want ? !cq_text_secret_equal(want, key)
             : !legacy || !cq_text_secret_equal(legacy, req->token)) {
        /* No game and a wrong token answer alike: no oracle for game ids. */
        respond_json_error(req->wsi, pss, HTTP_STATUS_NOT_FOUND, RESULT_MISS);
        goto out;
    }
    json_object_del(rec, "host_token_sha256");
    json_object_del(rec, "host_token");
    if (!strcmp(req->format, "csv")) {
        results_csv(rec, &t);
        snprintf(pss->disposition, sizeof pss->disposition,
                 "attachment; filename=\"chainquiz-%s.csv\"", req->game);
        respond(req->wsi, pss, HTTP_STATUS_OK, "text/csv; charset=utf-8", &t);
    } else {
        char *s = json_dumps(rec, JSON_COMPACT);
        if (s)
            text_add(&t, "%s", s);
        else
            t.over = true;
        free(s);
        snprintf(pss->disposition, sizeof pss->disposition,
                 "attachment; filename=\"chainquiz-%s.json\"", req->game);
        respond(req->wsi, pss, HTTP_STATUS_OK, "application/json", &t);
    }
out:
    json_decref(rec);
    free(req);
}

static int serve_leaderboard(struct lws *wsi, struct http_pss *pss, struct cq_net *net)
{
    char b1[URLARG_MAX], b2[URLARG_MAX], b3[URLARG_MAX], b4[URLARG_MAX], fold[CQ_NICK_SHOWN_MAX];
    const char *board = urlarg(wsi, "board=", b1);
    const char *period = urlarg(wsi, "period=", b2);
    const char *top = urlarg(wsi, "top=", b3);
    const char *around = urlarg(wsi, "around=", b4);
    if (!board || (strncmp(board, "bank:", 5) && strncmp(board, "group:", 6)) ||
        !strchr(board, ':')[1] || !cq_text_valid(board))
        return respond_json_error(wsi, pss, HTTP_STATUS_BAD_REQUEST,
                                  "board=bank:ID or board=group:LABEL is required");
    if (period && strcmp(period, "all") && strcmp(period, "week"))
        return respond_json_error(wsi, pss, HTTP_STATUS_BAD_REQUEST, "period is all or week");
    char *end = NULL;
    long n = top ? strtol(top, &end, 10) : 10;
    if (n < 0 || n > 100 || (top && *end))
        return respond_json_error(wsi, pss, HTTP_STATUS_BAD_REQUEST, "top is 0 to 100");
    if (around && !cq_text_fold(around, fold, sizeof fold))
        return respond_json_error(wsi, pss, HTTP_STATUS_BAD_REQUEST, "around is a nickname");
    if (!net->deps.store)
        return respond_json_error(wsi, pss, HTTP_STATUS_SERVICE_UNAVAILABLE, "no storage");
    struct http_req *req = calloc(1, sizeof *req);
    if (!req)
        return respond_json_error(wsi, pss, HTTP_STATUS_INTERNAL_SERVER_ERROR, "out of memory");
    long long now = (long long)time(NULL);
    req->wsi = wsi;
    snprintf(req->board, sizeof req->board, "%s", board);
    snprintf(req->period, sizeof req->period, "%s", period ? period : "all");
    if (!strcmp(req->period, "week"))
        cq_store_week_label(now, req->period);
    pss->pending = req; /* before the call: its callback may run at once */
    hold(wsi, pss);
    cq_store_leaderboard(net->deps.store, board, period ? period : "all", (unsigned)n,
                         around ? fold : NULL, 3, now, on_board, req);
    return 0;
}

static int serve_results(struct lws *wsi, struct http_pss *pss, struct cq_net *net)
{
    char b1[URLARG_MAX], b2[URLARG_MAX], b3[URLARG_MAX], auth[128];
    const char *game = urlarg(wsi, "game=", b1);
    const char *token = urlarg(wsi, "token=", b2);
    const char *format = urlarg(wsi, "format=", b3);
    if (!token && lws_hdr_copy(wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION) > 7 &&
        !strncmp(auth, "Bearer ", 7))
        token = auth + 7;
    if (!game || !*game || strspn(game, "0123456789-") != strlen(game) || strlen(game) > 30)
        return respond_json_error(wsi, pss, HTTP_STATUS_BAD_REQUEST, "game=GAME_ID is required");
    if (!token || !*token || strlen(token) > CQ_TOKEN_MAX)
        return respond_json_error(wsi, pss, HTTP_STATUS_FORBIDDEN, "the host token is required");
    if (format && strcmp(format, "csv") && strcmp(format, "json"))
        return respond_json_error(wsi, pss, HTTP_STATUS_BAD_REQUEST, "format is csv or json");
    if (!net->deps.store)
        return respond_json_error(wsi, pss, HTTP_STATUS_SERVICE_UNAVAILABLE, "no storage");
    struct http_req *req = calloc(1, sizeof *req);
    if (!req)
        return respond_json_error(wsi, pss, HTTP_STATUS_INTERNAL_SERVER_ERROR, "out of memory");
    req->wsi = wsi;
    snprintf(req->game, sizeof req->game, "%s", game);
    snprintf(req->token, sizeof req->token, "%s", token);
    snprintf(req->format, sizeof req->format, "%s", format ? format : "json");
    pss->pending = req;
    hold(wsi, pss);
    cq_store_get_result(net->deps.store, game, on_result, req);
    return 0;
}

static void metrics(struct cq_net *net, struct text *t)
{
    const struct cq_net_metrics *m = &net->m;
    const struct cq_session_metrics *sm = cq_session_metrics(net->session);
    struct cq_store_stats st = {0};
    if (net->deps.store)
        cq_store_stats(net->deps.store, &st);
#define GAUGE(name, help, val)                                                                     \
    text_add(t, "# HELP " name " " help "\n# TYPE " name " gauge\n" name " %llu\n",                \
             (unsigned long long)(val))
#define COUNTER(name, help, val)                                                                   \
    text_add(t, "# HELP " name " " help "\n# TYPE " name " counter\n" name " %llu\n",              \
             (unsigned long long)(val))
    GAUGE("chainquiz_connections", "Open WebSocket connections.", m->conns);
    COUNTER("chainquiz_connections_total", "WebSocket connections accepted.", m->conns_total);
    GAUGE("chainquiz_games", "Live games.", cq_session_games(net->session));
    COUNTER("chainquiz_games_created_total", "Games created.", sm->games_created);
    GAUGE("chainquiz_players", "Players in live games.", cq_session_players(net->session));
    COUNTER("chainquiz_messages_in_total", "Messages received.", m->msgs_in);
    COUNTER("chainquiz_messages_out_total", "Messages sent.", m->msgs_out);
    COUNTER("chainquiz_bad_messages_total", "Messages refused (malformed, throttled).",
            m->bad_msgs);
    COUNTER("chainquiz_answers_total", "Answers accepted.", sm->answers);
    COUNTER("chainquiz_refused_connections_total",
            "Connections refused because the server is full.", m->refused_conns);
    COUNTER("chainquiz_wrong_guesses_total",
            "Wrong PINs, join secrets and tokens (join, watch, rejoin).", m->wrong_guesses);
    COUNTER("chainquiz_tarpitted_guesses_total",
            "Wrong guesses answered late: past the per-address or server-wide budget.",
            m->tarpitted);
    COUNTER("chainquiz_idle_evicted_total",
            "Connections in no game closed to make room for a newer one from their address.",
            m->idle_evicted);
    COUNTER("chainquiz_idle_expired_total",
            "Connections closed for joining no game within --join-deadline.", m->idle_expired);
    COUNTER("chainquiz_refused_work_total",
            "Costly messages refused for their address's budget (--work-per-sec).",
            m->refused_work);
    COUNTER("chainquiz_state_encodes_total",
            "Host and spectator states encoded (the others came from the cache).",
            sm->state_encodes);
    COUNTER("chainquiz_refused_games_total",
            "Games refused for too many live or created from one address.", sm->refused_games);
    COUNTER("chainquiz_storage_full_total",
            "Requests refused (storage_full): the Redis journal nearly full.", sm->storage_full);
    COUNTER("chainquiz_storage_share_refused_total",
            "Requests refused (storage_full): their game's part of the journal spent.",
            sm->storage_share);
    COUNTER("chainquiz_refused_http_connections_total",
            "Plain HTTP connections refused at an address's cap, none of its own idle or stalled.",
            m->refused_http);
    COUNTER("chainquiz_http_idle_closed_total",
            "Idle or stalled HTTP connections closed to make room under an address's cap.",
            m->http_idle_closed);
    COUNTER("chainquiz_slow_clients_dropped_total", "Connections cut off for a full send queue.",
            m->culled);
    COUNTER("chainquiz_refused_sockets_total",
            "Connections closed on accept: the open-file limit less its reserve is reached.",
            m->accept_refused);
    COUNTER("chainquiz_accept_errors_total", "Failed accepts (out of descriptors or memory).",
            m->accept_failed);
    COUNTER("chainquiz_idle_dropped_total",
            "Connections closed for not answering a keep-alive ping.", m->idle_dropped);
    GAUGE("chainquiz_redis_connected", "1 when Redis is connected.", st.connected);
    GAUGE("chainquiz_redis_journal_depth", "Redis writes waiting for Redis.", st.journal_depth);
    GAUGE("chainquiz_journal_file_bytes",
          "Bytes in the journal file (writes kept on disk while Redis is away).",
          st.journal_file_bytes);
    COUNTER("chainquiz_journal_file_errors_total",
            "Failed writes or syncs of the journal file (acknowledgements then wait for Redis).",
            st.journal_file_errors);
    COUNTER("chainquiz_redis_wait_short_total",
            "WAITs for --redis-replicas answered with fewer replicas.", st.wait_short);
    COUNTER("chainquiz_redis_errors_total", "Redis errors and timeouts.", st.errors);
    COUNTER("chainquiz_redis_journal_dropped_total", "Redis writes lost to the journal bound.",
            st.journal_dropped);
    COUNTER("chainquiz_redis_recycles_total",
            "Redis connections dropped for a command unanswered within --redis-timeout.",
            st.recycles);
    COUNTER("chainquiz_redis_restarts_total",
            "Times the embedded Redis died and was started again.", st.server_restarts);
    GAUGE("chainquiz_send_queue_messages",
          "Messages waiting in the send queues of all connections.", m->queued_msgs);
    GAUGE("chainquiz_send_queue_bytes", "Bytes waiting in the send queues of all connections.",
          m->queued_bytes);
    unsigned deepest = 0;
    lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&net->live_conns))
    {
        const struct cq_conn *c = lws_container_of(d, struct cq_conn, live);
        if (c->qlen > deepest)
            deepest = c->qlen;
    }
    lws_end_foreach_dll(d);
    GAUGE("chainquiz_send_queue_max_messages",
          "Messages waiting in the deepest single connection's send queue.", deepest);
#undef GAUGE
#undef COUNTER
    /* Cumulative buckets, as Prometheus wants them. */
    const char *h = "chainquiz_answer_latency_seconds";
    uint64_t cum = 0;
    text_add(t,
             "# HELP %s Accepted answers, from receipt to the answer_ack being written.\n"
             "# TYPE %s histogram\n",
             h, h);
    for (unsigned i = 0; i < CQ_ANSWER_BUCKETS; i++) {
        cum += m->answer_hist[i];
        text_add(t, "%s_bucket{le=\"%g\"} %llu\n", h, (double)cq_answer_bucket_us[i] / 1e6,
                 (unsigned long long)cum);
    }
    cum += m->answer_hist[CQ_ANSWER_BUCKETS];
    text_add(t, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", h,
             (unsigned long long)cum, h, (double)m->answer_time_sum_us / 1e6, h,
             (unsigned long long)cum);
}

/* The join QR code as SVG; text is the join URL. */
static void qr_svg(const char *url, struct text *t)
{
    QRcode *qr = QRcode_encodeString(url, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!qr) {
        t->over = true;
        return;
    }
    int w = qr->width, q = 4;
    text_add(t,
             "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
             "shape-rendering=\"crispEdges\"><rect width=\"100%%\" height=\"100%%\" "
             "fill=\"#fff\"/>",
             w + 2 * q, w + 2 * q);
    /* The link as text too, for screen readers (and tests): the URL holds no
     * '<', '>', '"' or '\'' (checked by the caller), only '&' to escape. */
    text_add(t, "<title>");
    for (const char *c = url; *c; c++)
        text_add(t, *c == '&' ? "&amp;" : "%c", *c);
    text_add(t, "</title><path fill=\"#000\" d=\"");
    for (int y = 0; y < w; y++)
        for (int x = 0; x < w; x++)
            if (qr->data[y * w + x] & 1)
                text_add(t, "M%d %dh1v1h-1z", x + q, y + q);
    text_add(t, "\"/></svg>");
    QRcode_free(qr);
}

/* The client's address, as conn.c takes it: the TCP peer, or what a
 * trusted proxy (--trusted-proxies) names in X-Forwarded-For. False when a
 * trusted proxy sent an unusable header: the client is unknown. */
static bool client_addr(struct cq_net *net, struct lws *wsi, char *out, size_t outlen)
{
    char peer[64], xff[CQ_PROXY_XFF_MAX];
    int n = lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR);
    lws_get_peer_simple(wsi, peer, sizeof peer);
    snprintf(out, outlen, "%s", peer);
    if (n <= 0 || !cq_proxy_trusted(&net->proxies, peer))
        return true;
    return (size_t)n < sizeof xff &&
           lws_hdr_copy(wsi, xff, (int)sizeof xff, WSI_TOKEN_X_FORWARDED_FOR) >= 0 &&
           cq_proxy_client(&net->proxies, peer, xff, out, outlen) != CQ_PROXY_GARBAGE;
}

/* Answers a request we will not serve, headers and body in one write from
 * LWS_CALLBACK_HTTP itself, and returns -1: lws closes the connection
 * (after sending what the socket did not take) before it reads any body
 * or a pipelined request. lws 4.1 would otherwise read the body and, with
 * more bytes behind it, spin on them (found by fuzz_http). */
static int refuse(struct lws *wsi, unsigned status, const char *msg)
{
    unsigned char buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start,
                                       *end = buf + sizeof buf - 128;
    char body[128], clen[16];
    int blen = snprintf(body, sizeof body, "{\"error\":\"%s\"}", msg);
    int llen = snprintf(clen, sizeof clen, "%d", blen);
    if (blen < 0 || (size_t)blen >= sizeof body ||
        lws_add_http_header_status(wsi, status, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
                                     (const unsigned char *)"application/json", 16, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH,
                                     (const unsigned char *)clen, llen, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (const unsigned char *)"close", 5,
                                     &p, end) ||
        lws_finalize_http_header(wsi, &p, end))
        return -1;
    memcpy(p, body, (size_t)blen);
    p += blen;
    lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP);
    return -1;
}

static int not_found(struct lws *wsi, struct http_pss *pss)
{
    struct text t = {0};
    text_add(&t, "<!doctype html><meta charset=utf-8><title>Not found</title><h1>Not found</h1>");
    return respond(wsi, pss, HTTP_STATUS_NOT_FOUND, "text/html; charset=utf-8", &t);
}

/* Reads a whole file into `t` (LWS_PRE headroom, as respond() wants);
 * false when it cannot be read or is over STATIC_MAX. */
static bool read_file(const char *path, struct text *t)
{
    struct stat st;
    bool ok = false;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    char *buf = NULL;
    if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < 0 ||
        (unsigned long long)st.st_size > STATIC_MAX)
        goto out;
    size_t size = (size_t)st.st_size, got = 0;
    buf = malloc(LWS_PRE + size + 1);
    if (!buf)
        goto out;
    while (got < size) {
        ssize_t n = read(fd, buf + LWS_PRE + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto out;
        got += (size_t)n;
    }
    *t = (struct text){.p = buf + LWS_PRE, .len = size, .cap = size + 1};
    buf = NULL;
    ok = true;
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return ok;
}

/* A file of the browser client. Only regular files whose real path (every
 * symlink resolved) lies inside the real web root are served: a symlink that
 * leads out of it is a missing file. The file is opened by that real path
 * and sent like any other response (the client's files are small), so that
 * HEAD, pipelining and errors behave as for every endpoint. */
static int serve_static(struct lws *wsi, struct http_pss *pss, struct cq_net *net, const char *uri)
{
    char path[PATH_MAX + URI_MAX + 16], real[PATH_MAX];
    size_t rootlen = strlen(net->web_root), urilen = strlen(uri);
    struct stat st;
    struct text t = {0};
    /* lws has decoded %xx and folded "." and ".." already; refuse what is
     * left of them rather than trust it. */
    if (!rootlen || uri[0] != '/' || strstr(uri, "/../") || strchr(uri, '\\') ||
        (urilen >= 3 && !strcmp(uri + urilen - 3, "/..")))
        return not_found(wsi, pss);
    int n = snprintf(path, sizeof path, "%s%s%s", net->web_root, uri,
                     uri[urilen - 1] == '/' ? "index.html" : "");
    if (n < 0 || (size_t)n >= sizeof path || !realpath(path, real) || stat(real, &st))
        return not_found(wsi, pss);
    if (S_ISDIR(st.st_mode)) {
        n = snprintf(path, sizeof path, "%s/index.html", real);
        if (n < 0 || (size_t)n >= sizeof path || !realpath(path, real) || stat(real, &st))
            return not_found(wsi, pss);
    }
    if (strncmp(real, net->web_root, rootlen) || real[rootlen] != '/') {
        cq_debug("http: %s leads out of the web root (to %s): not served", uri, real);
        return not_found(wsi, pss);
    }
    const char *mime = lws_get_mimetype(real, NULL);
    if (!mime || !read_file(real, &t))
        return not_found(wsi, pss);
    return respond(wsi, pss, HTTP_STATUS_OK, mime, &t);
}

/* GET /media/BANK/NAME: a bank's own image (bank-format.md `image`), from
 * the media/ folder beside its file, as the loader checked it. */
static int serve_media(struct lws *wsi, struct http_pss *pss, struct cq_net *net, const char *uri)
{
    char id[CQ_BANK_ID_MAX + 1], path[PATH_MAX + 256], real[PATH_MAX];
    const char *rest = uri + 7, *slash = strchr(rest, '/'), *mime = NULL;
    const struct cq_bank *bank = NULL;
    struct stat st;
    struct text t = {0};
    if (!slash || (size_t)(slash - rest) > CQ_BANK_ID_MAX || !cq_media_name_ok(slash + 1, &mime))
        return not_found(wsi, pss);
    snprintf(id, sizeof id, "%.*s", (int)(slash - rest), rest);
    for (size_t i = 0; i < net->deps.banks->n && !bank; i++)
        if (!strcmp(net->deps.banks->banks[i]->id, id))
            bank = net->deps.banks->banks[i];
    if (!bank || !bank->dir)
        return not_found(wsi, pss);
    int n = snprintf(path, sizeof path, "%s/media/%s", bank->dir, slash + 1);
    size_t dl = strlen(bank->dir);
    if (n < 0 || (size_t)n >= sizeof path || !realpath(path, real) || stat(real, &st) ||
        !S_ISREG(st.st_mode) || (size_t)st.st_size > CQ_MEDIA_MAX || strncmp(real, bank->dir, dl) ||
        strncmp(real + dl, "/media/", 7) || strchr(real + dl + 7, '/') || !read_file(real, &t))
        return not_found(wsi, pss);
    return respond(wsi, pss, HTTP_STATUS_OK, mime, &t);
}

static int serve(struct lws *wsi, struct http_pss *pss)
{
    struct cq_net *net = lws_context_user(lws_get_context(wsi));
    char uri[URI_MAX];
    struct text t = {0};
    int n = lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
    if (n <= 0 && lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0) {
        n = lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_HEAD_URI);
        pss->head = true;
    }
    /* Another method, a path too long, or a body (no endpoint reads one):
     * answered at once, then the connection is closed before lws reads on. */
    char clen[24];
    if (n <= 0 && (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0 || pss->head))
        return refuse(wsi, HTTP_STATUS_REQ_URI_TOO_LONG, "the path is too long");
    if (n <= 0)
        return refuse(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED, "only GET and HEAD are served");
    /* lws decodes %00 into the path: "/%00x" would be "/" (the index). A
     * %00 further in never gets here (lws hangs up), and "/%00" alone is
     * "/" by lws' own count (test_http a_nul_byte_in_the_path_is_refused). */
    if (strlen(uri) != (size_t)n)
        return refuse(wsi, HTTP_STATUS_BAD_REQUEST, "the path holds a NUL byte (%00)");
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0 ||
        lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) >= (int)sizeof clen ||
        (lws_hdr_copy(wsi, clen, sizeof clen, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
         strspn(clen, "0") != strlen(clen)))
        return refuse(wsi, HTTP_STATUS_REQ_ENTITY_TOO_LARGE, "request bodies are not accepted");

    if (!strcmp(uri, "/healthz")) {
        text_add(&t, "{\"status\":\"ok\"}");
        return respond(wsi, pss, HTTP_STATUS_OK, "application/json", &t);
    }
    if (!strcmp(uri, "/readyz")) {
        bool redis = net->deps.store && cq_store_connected(net->deps.store);
        text_add(&t, "{\"status\":\"%s\",\"redis\":%s,\"banks\":%zu}",
                 redis ? "ready" : "not ready", redis ? "true" : "false", net->deps.banks->n);
        return respond(wsi, pss, redis ? HTTP_STATUS_OK : HTTP_STATUS_SERVICE_UNAVAILABLE,
                       "application/json", &t);
    }
    if (!strcmp(uri, "/metrics")) {
        char client[64];
        if (!client_addr(net, wsi, client, sizeof client) ||
            !cq_proxy_trusted(&net->metrics_allow, client))
            return respond_json_error(wsi, pss, HTTP_STATUS_FORBIDDEN,
                                      "metrics are not served to this address (--metrics-allow)");
        metrics(net, &t);
        return respond(wsi, pss, HTTP_STATUS_OK, "text/plain; version=0.0.4", &t);
    }
    if (!strcmp(uri, "/api/banks")) {
        json_t *b = cq_wire_banks(net->deps.banks);
        char *s = json_dumps(json_object_get(b, "banks"), JSON_COMPACT);
        json_decref(b);
        if (s)
            text_add(&t, "%s", s);
        else
            t.over = true;
        free(s);
        return respond(wsi, pss, HTTP_STATUS_OK, "application/json", &t);
    }
    if (!strcmp(uri, "/api/qr.svg")) {
        char arg[URLARG_MAX] = "", karg[URLARG_MAX] = "", host[200] = "", url[400], q[120];
        const char *pin = urlarg(wsi, "pin=", arg);
        /* The game's join secret, when it has one: in the link beside the
         * PIN, so that a scanned code joins and a guessed PIN does not. */
        const char *k = urlarg(wsi, "k=", karg);
        if (!pin || strspn(pin, "0123456789") != CQ_PIN_DIGITS || pin[CQ_PIN_DIGITS] ||
            lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST) <= 0 || strpbrk(host, "\"<>'& "))
            return respond_json_error(wsi, pss, HTTP_STATUS_BAD_REQUEST, "pin=NNNNNN is required");
        if (k && (!*k || strlen(k) > CQ_TOKEN_MAX ||
                  strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
                      strlen(k)))
            return respond_json_error(wsi, pss, HTTP_STATUS_BAD_REQUEST,
                                      "k must be 1-64 characters of A-Z a-z 0-9 - _");
        snprintf(q, sizeof q, "?pin=%s%s%s", pin, k ? "&k=" : "", k ? k : "");
        /* The operator's public URL, else what the browser asked for (https
         * when a proxy in front says so). */
        const char *base = net->deps.cfg->public_url;
        char proto[16] = "", lan[80];
        if (base[0])
            snprintf(url, sizeof url, "%.*s/%s", (int)strcspn(base, "?#"), base, q);
        else if (cq_host_is_loopback(host) && cq_join_first_lan(net, lan, sizeof lan))
            snprintf(url, sizeof url, "%s/%s", lan, q); /* phones cannot open localhost */
        else if (lws_hdr_custom_copy(wsi, proto, sizeof proto, "x-forwarded-proto:", 18) > 0 &&
                 !strcmp(proto, "https"))
            snprintf(url, sizeof url, "https://%s/%s", host, q);
        else
            snprintf(url, sizeof url, "http://%s/%s", host, q);
        /* No double slash when the public URL ends with one. */
        char *dbl = strstr(url + 8, "//?pin=");
        if (dbl)
            memmove(dbl, dbl + 1, strlen(dbl));
        qr_svg(url, &t);
        return respond(wsi, pss, HTTP_STATUS_OK, "image/svg+xml", &t);
    }
    if (!strcmp(uri, "/api/leaderboard"))
        return serve_leaderboard(wsi, pss, net);
    if (!strcmp(uri, "/api/results"))
        return serve_results(wsi, pss, net);
    if (!strncmp(uri, "/media/", 7))
        return serve_media(wsi, pss, net, uri);
    if (!strcmp(uri, "/api") || !strncmp(uri, "/api/", 5))
        return respond_json_error(wsi, pss, HTTP_STATUS_NOT_FOUND, "no such API endpoint");
    return serve_static(wsi, pss, net, uri);
}

int cq_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len)
{
    struct http_pss *pss = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return -1; /* a WebSocket without our subprotocol */
    case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
        return cq_http_conn_open(lws_context_user(lws_get_context(wsi)), wsi);
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        /* lws 4.1.6 answers an Upgrade other than websocket or h2c with 403,
         * ends the transaction (which frees or resets the request's headers)
         * and then still asks us, and reads the freed value again after we
         * answer: a use-after-free found by fuzz_http. Such a request has no
         * Upgrade header left: hang up, and lws stops there. */
        if (lws_hdr_total_length(wsi, WSI_TOKEN_UPGRADE) <= 0)
            return -1;
        /* Only WebSocket: lws would take `Upgrade: h2c` to an HTTP/2
         * connection that no time-out of ours covers, so one address could
         * hold every descriptor with upgrades that never send the preface
         * (found by an attack from the documents). */
        if (!in || strcasecmp((const char *)in, "websocket"))
            return -1;
        /* From here a WebSocket, counted by conn.c. */
        cq_http_conn_gone(lws_context_user(lws_get_context(wsi)), wsi);
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        cq_http_conn_gone(lws_context_user(lws_get_context(wsi)), wsi);
        return 0;
    case LWS_CALLBACK_HTTP:
        pss->wsi = wsi;
        cq_http_conn_busy(wsi, true);
        return serve(wsi, pss);
    case LWS_CALLBACK_HTTP_BODY:
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return -1; /* requests with a body are refused (refuse()); not reached */
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return pss ? write_response(wsi, pss) : 0;
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (pss)
            request_end(pss, false);
        return 0;
    case LWS_CALLBACK_CLOSED_HTTP:
        if (pss)
            request_end(pss, true);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}
