/* bench.c: chainquiz-bench, plays real games against a running server and
 * measures what the players see.
 *
 * One process, one libuv loop, one lws context (on that loop, as the server
 * does), many client connections. A message is written at once when
 * nothing is queued ahead of it and lws holds nothing for the socket;
 * otherwise from a small per-connection queue in
 * LWS_CALLBACK_CLIENT_WRITEABLE, one message per callback. Per-player
 * timers are libuv timers.
 *
 * Measured: join time; question fan-out (host's start/next written ->
 * player's `question` read); answer acknowledgement (answer written ->
 * `answer_ack` read); reveal and leaderboard (question closed -> read);
 * lost and duplicated messages; disconnects; server CPU and peak RSS.
 * Exit status: 0 all correct, 1 a message lost or duplicated or an
 * unexpected disconnect (never because of timing), 2 could not run.
 */
#define _GNU_SOURCE /* sched_setaffinity, CPU_SET */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <libwebsockets.h>
#include <uv.h>

#include "bench.h"
#include "cq_proto.h"

#ifndef CQ_SOURCE_DIR
#define CQ_SOURCE_DIR "."
#endif
#ifndef CQ_SERVER_BIN
#define CQ_SERVER_BIN "build/chainquiz"
#endif

#define MAX_Q          100 /* questions tracked per game */
#define FD_SPARE       64  /* descriptors beyond one per connection */
#define CONNECT_BURST  512 /* handshakes in flight at once */
#define TICK_MS        5
#define SHOWN_QUIET_MS 5    /* no `question` read this long: the held `shown` go */
#define LB_WAIT_MS     3000 /* longest the host waits for every player's leaderboard */
#define END_WAIT_MS    60000
#define SETTLE_MS      500 /* after the last join, before `start` */

/* request ids: kind + 16 * question */
enum { ID_JOIN = 1, ID_REJOIN, ID_SHOWN, ID_ANSWER, ID_CREATE, ID_START, ID_NEXT };
enum pstate { P_NEW, P_CONNECTING, P_JOINING, P_IN, P_DROPPING, P_AWAY, P_REJOINING, P_FAILED };
enum { ACT_NONE, ACT_ANSWER, ACT_DROP, ACT_RECONNECT };
enum { B_RIGHT, B_WRONG, B_LATE, B_SILENT };
/* ANS_DROPPED: sent, and the player dropped its connection (--drop) before
 * the reply came: whether the server took it is not known to the player,
 * and no reply can come (not a loss: the player hung up). */
enum { ANS_NONE, ANS_QUEUED, ANS_SENT, ANS_ACKED, ANS_ERRORED, ANS_DROPPED };
enum { R_NEW, R_CREATING, R_LOBBY, R_STARTED, R_ENDED, R_DONE, R_FAILED };
enum { W_NONE, W_LB, W_GAP };
enum { VS_Q = 1, VS_REVEAL = 2, VS_RESULT = 4, VS_LB = 8 };

struct opts {
    const char *url;
    char host[128], path[128];
    int port;
    const char *bank, *json_path, *server_bin, *content, *trace_path, *md_row;
    unsigned players, rooms, questions, gap_ms, timeout_s, join_timeout_s;
    int drop_host_q; /* drop and rejoin every host when this question arrives; -1: never */
    int time_limit, lead_in, max_show_delay_ms;
    double join_rate, late, silent, wrong, drop, floor_ms;
    uint64_t seed;
    pid_t server_pid;
    bool spawn, smoke, quiet;
    bool shown_at_once; /* --shown-at-once: no holding back `shown` (shown_later) */
    bool no_pin;        /* --no-pin: the spawned server and we share every CPU (pin_apart) */
    unsigned send_queue, msgs_per_sec, max_players;
    const char *server_args[32];
    unsigned n_server_args;
};

struct room;
struct player;
struct pq;
struct rq;

struct out {
    struct out *next;
    int64_t *stamp;    /* gets the time of the write */
    struct pq *answer; /* an answer: marked sent when written */
    struct rq *rq;
    size_t len;
    unsigned char buf[]; /* LWS_PRE, then the message */
};

struct conn;
struct link {
    struct conn *c; /* NULL once the connection is over */
    struct link *next_all;
};

struct conn {
    struct lws *wsi;
    struct link *link;
    struct room *room;
    struct player *player; /* NULL: the room's host */
    struct out *qh, *qt;
    char *rx;
    size_t rx_len, rx_cap;
    bool established, closing, rx_partial, got_welcome;
    uint64_t bytes_in, bytes_out, msgs_in, msgs_out;
    int64_t connect_at, last_rx;
    unsigned connect_tries;
    int close_code; /* from the server's close frame, 0: none */
    char close_reason[64];
};

/* One player, one question. */
struct pq {
    int64_t q_at, reveal_at, result_at, lb_at, ans_at;
    uint8_t n_q, n_reveal, n_result, n_lb, n_ack, n_err;
    uint8_t via_state, ans, behaviour;
    bool away, res_answered, res_correct, have_res;
    int8_t expect; /* 1 right, 0 wrong, -1 unknown */
    char err[24];
};

struct player {
    struct conn c;
    struct room *room;
    unsigned idx, gidx;
    char nick[24];
    char token[CQ_TOKEN_MAX + 1];
    long long id;
    enum pstate st;
    bool joined_once, timer_on, ended_via_state;
    uv_timer_t timer;
    int act, act_q;
    int drop_q;    /* question to drop on, -1: none */
    int last_q;    /* last question index seen */
    int away_from; /* first question of the current absence */
    int shown_k;   /* a `shown` held back by shown_later, -1: none */
    bool shown_listed;
    int64_t joined_at, dropped_at;
    unsigned n_drops, n_rejoins, n_unexpected, n_ended, n_summary;
    struct pq pq[MAX_Q];
};

/* One room, one question. */
struct rq {
    int64_t t_cmd, t_host_q, t_host_reveal, t_cmd_lb, t_host_lb, close_ref, deadline, last_ans;
    bool early;
    unsigned n_lb, n_q;
    double fanout_max;
    struct cqb_plan plan;
};

struct room {
    unsigned idx;
    struct conn host;
    char pin[CQ_PIN_DIGITS + 1];
    char token[CQ_TOKEN_MAX + 1];
    int st;
    struct player *players;
    unsigned n_players, n_joined, n_summary;
    int cur_q, total, played, wait;
    int64_t wait_since, ended_at, t_end_cmd;
    bool host_away, host_resync; /* reconnecting after an unexpected drop */
    bool host_seen;              /* the host got `welcome` at least once */
    unsigned host_drops;
    uv_timer_t host_timer;
    struct rq rq[MAX_Q];
};

struct errcount {
    char code[48];
    unsigned n;
};

static struct bench {
    struct opts o;
    uv_loop_t loop;
    uv_timer_t tick;
    uv_check_t shown_check; /* sends the `shown` held back (shown_later) */
    struct player **shown_wait;
    unsigned n_shown_wait;
    int64_t question_at; /* the last `question` read */
    int pinned_cpu;      /* the spawned server's only CPU (pin_apart), -1: not pinned */
    struct lws_context *ctx;
    struct room *rooms;
    struct player **all;
    unsigned n_all, launched, connecting, n_joined, n_join_failed, rooms_ready;
    struct link *links;
    struct cqb_bank *bank;
    struct cqb_server srv;
    bool spawned, started, finishing, draining, done, timed_out, interrupted, unreachable;
    unsigned outstanding; /* answers written, not yet acknowledged or refused */
    unsigned queued;      /* answers queued on a connection, not yet written */
    int64_t drain_since;
    int64_t t0, join_start, join_end, start_at, deadline;
    struct cqb_proc_sample srv0, srv1, gen0;
    double redis_cpu0, redis_cpu1;
    pid_t redis_pid;
    struct rusage ru0;
    double busy0, load0;
    /* measurements */
    struct cqb_series fanout, fanout_last, ack, reveal, result, leaderboard, join_lat;
    /* counters */
    unsigned host_errors, join_errors, connect_failures, unexpected, bad_msgs, unexpected_acks,
        other_msgs, kicked_or_replaced, shown_errors;
    struct errcount errs[48];
    struct errcount types[32]; /* messages players received, by type */
    unsigned n_types;
    struct errcount gone[16]; /* unexpected disconnects and connect failures, by reason */
    unsigned n_gone;
    unsigned n_errs;
    char first_problem[256];
    char server_cmd[2048];
    FILE *trace;
    size_t question_bytes;
} B;

static volatile sig_atomic_t got_signal;

static void problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void problem(const char *fmt, ...)
{
    va_list ap;
    if (B.first_problem[0])
        return;
    va_start(ap, fmt);
    vsnprintf(B.first_problem, sizeof B.first_problem, fmt, ap);
    va_end(ap);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
    va_list ap;
    if (B.o.quiet)
        return;
    va_start(ap, fmt);
    fprintf(stderr, "[%7.3f] ", cqb_ms(cqb_now_ns() - B.t0) / 1000.0);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* --trace: one line per measured event, for plots: time since the start (ms),
 * event, room, player, question, latency (ms). */
static void trace(const char *ev, const struct player *p, int k, int64_t t, double lat)
{
    if (B.trace)
        fprintf(B.trace, "%.3f,%s,%u,%u,%d,%.3f\n", cqb_ms(t - B.t0), ev, p ? p->room->idx : 0,
                p ? p->idx : 0, k, lat);
}

static void count_in(struct errcount *tab, unsigned *n, unsigned cap, const char *code)
{
    for (unsigned i = 0; i < *n; i++)
        if (!strcmp(tab[i].code, code)) {
            tab[i].n++;
            return;
        }
    if (*n < cap) {
        snprintf(tab[*n].code, sizeof tab[*n].code, "%s", code);
        tab[(*n)++].n = 1;
    }
}

static void count_error(const char *code)
{
    count_in(B.errs, &B.n_errs, sizeof B.errs / sizeof B.errs[0], code);
}

/* ---- connections --------------------------------------------------------- */

static int conn_write(struct conn *c, struct lws *wsi, struct out *o);

static void conn_send(struct conn *c, const char *msg, size_t len, int64_t *stamp, struct pq *ans,
                      struct rq *rq)
{
    struct out *o = malloc(sizeof *o + LWS_PRE + len);
    if (!o) {
        problem("out of memory");
        return;
    }
    o->next = NULL;
    o->stamp = stamp;
    o->answer = ans;
    o->rq = rq;
    o->len = len;
    memcpy(o->buf + LWS_PRE, msg, len);
    if (ans)
        B.queued++;
    /* Nothing queued and lws holds nothing for the socket: written at once,
     * as the server writes. A WRITEABLE round trip per message costs two
     * epoll_ctl (POLLOUT on, then off) and a loop iteration, and the
     * `shown` every player sends on each `question` would put those on
     * the generator's side of the fan-out it measures. A write to a full
     * socket is kept whole by lws, which asks for WRITEABLE itself. */
    if (c->established && c->wsi && !c->closing && !c->qh && !lws_partial_buffered(c->wsi)) {
        if (conn_write(c, c->wsi, o))
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
        return;
    }
    if (c->qt)
        c->qt->next = o;
    else
        c->qh = o;
    c->qt = o;
    if (c->established && c->wsi)
        lws_callback_on_writable(c->wsi);
}

static void conn_sendf(struct conn *c, int64_t *stamp, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void conn_sendf(struct conn *c, int64_t *stamp, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < sizeof buf)
        conn_send(c, buf, (size_t)n, stamp, NULL, NULL);
}

static void conn_drop_queue(struct conn *c)
{
    while (c->qh) {
        struct out *o = c->qh;
        c->qh = o->next;
        if (o->answer) {
            B.queued--;
            if (o->answer->ans == ANS_QUEUED)
                o->answer->ans = ANS_NONE; /* never left: not an answer sent */
        }
        free(o);
    }
    c->qt = NULL;
}

/* No lws validity timers on our side: lws 4.1 keeps every connection's
 * timer in one sorted list and re-inserts it on each frame received (O(N) per
 * message), which would make the generator, not the server, the bottleneck.
 * The server pings us; lws answers pings by itself. */
static const lws_retry_bo_t no_validity;

static int conn_open(struct conn *c)
{
    struct lws_client_connect_info i;
    struct link *l = calloc(1, sizeof *l);
    if (!l)
        return -1;
    l->c = c;
    l->next_all = B.links;
    B.links = l;
    memset(&i, 0, sizeof i);
    i.context = B.ctx;
    i.address = B.o.host;
    i.port = B.o.port;
    i.path = B.o.path;
    i.host = B.o.host;
    i.protocol = CQ_SUBPROTOCOL;
    i.local_protocol_name = CQ_SUBPROTOCOL;
    i.ietf_version_or_minus_one = -1;
    i.opaque_user_data = l;
    i.retry_and_idle_policy = &no_validity;
    c->link = l;
    c->wsi = NULL;
    c->established = c->closing = c->rx_partial = c->got_welcome = false;
    c->close_code = 0;
    c->close_reason[0] = '\0';
    c->rx_len = 0;
    c->connect_at = cqb_now_ns();
    c->connect_tries++;
    B.connecting++;
    if (!lws_client_connect_via_info(&i) && l->c) {
        /* refused at once, without a CONNECTION_ERROR (that path retries) */
        l->c = NULL;
        c->link = NULL;
        B.connecting--;
        return -1;
    }
    return 0;
}

static void player_closed(struct player *p, bool failed_to_connect, const char *why);
static void host_closed(struct room *r, const char *why);
static void handle(struct conn *c, const char *s, size_t n, int64_t t);

/* The connection is over (error or close): detach it from its link. */
static void conn_gone(struct conn *c, bool was_established, const char *why)
{
    if (c->link)
        c->link->c = NULL;
    c->link = NULL;
    c->wsi = NULL;
    c->established = false;
    if (!was_established)
        B.connecting--;
    conn_drop_queue(c);
    if (c->player)
        player_closed(c->player, !was_established, why);
    else
        host_closed(c->room, why);
}

/* Writes one message taken off the queue (or never queued) and frees it:
 * 0, or -1 when the write failed (the connection is to be closed). */
static int conn_write(struct conn *c, struct lws *wsi, struct out *o)
{
    int64_t t = cqb_now_ns();
    int n = lws_write(wsi, o->buf + LWS_PRE, o->len, LWS_WRITE_TEXT);
    if (o->answer)
        B.queued--;
    if (n < (int)o->len) {
        if (o->answer && o->answer->ans == ANS_QUEUED)
            o->answer->ans = ANS_NONE;
        free(o);
        return -1;
    }
    if (o->stamp)
        *o->stamp = t;
    if (o->answer) {
        B.outstanding++;
        o->answer->ans = ANS_SENT;
        o->answer->ans_at = t;
        if (o->rq && t > o->rq->last_ans)
            o->rq->last_ans = t;
    }
    c->bytes_out += o->len;
    c->msgs_out++;
    free(o);
    return 0;
}

static int conn_writable(struct conn *c, struct lws *wsi)
{
    struct out *o = c->qh;
    if (!o)
        return 0;
    c->qh = o->next;
    if (!c->qh)
        c->qt = NULL;
    if (conn_write(c, wsi, o))
        return -1;
    if (c->qh)
        lws_callback_on_writable(wsi);
    return 0;
}

static int conn_rx(struct conn *c, struct lws *wsi, const char *in, size_t len)
{
    int64_t t = cqb_now_ns();
    bool final = lws_is_final_fragment(wsi);
    c->last_rx = t;
    c->bytes_in += len;
    if (!c->rx_partial && final) {
        handle(c, in, len, t);
        return 0;
    }
    if (c->rx_len + len > c->rx_cap) {
        size_t ncap = c->rx_cap ? c->rx_cap : 8192;
        while (ncap < c->rx_len + len)
            ncap *= 2;
        char *nb = realloc(c->rx, ncap);
        if (!nb)
            return -1;
        c->rx = nb;
        c->rx_cap = ncap;
    }
    memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    c->rx_partial = !final;
    if (final) {
        handle(c, c->rx, c->rx_len, t);
        c->rx_len = 0;
    }
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct link *l = lws_get_opaque_user_data(wsi);
    struct conn *c = l ? l->c : NULL;
    (void)user;

    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (c)
            conn_gone(c, false, in ? (const char *)in : "connection error");
        return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (!c)
            return -1;
        c->wsi = wsi;
        c->established = true;
        B.connecting--;
        if (c->qh)
            lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return c ? conn_rx(c, wsi, in, len) : 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (c && len >= 2) {
            const unsigned char *b = in;
            size_t rl = len - 2 < sizeof c->close_reason - 1 ? len - 2 : sizeof c->close_reason - 1;
            c->close_code = b[0] << 8 | b[1];
            memcpy(c->close_reason, b + 2, rl);
            c->close_reason[rl] = '\0';
        }
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (!c || c->closing)
            return c ? -1 : 0;
        return conn_writable(c, wsi);
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY:
        if (c)
            conn_gone(c, c->established, "closed");
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {CQ_SUBPROTOCOL, callback, 0, 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- players ---------------------------------------------------------------- */

static int behaviour(const struct player *p, int k)
{
    double u = cqb_unit(B.o.seed, p->gidx, 1000u + (unsigned)k);
    if (u < B.o.silent)
        return B_SILENT;
    if (u < B.o.silent + B.o.late)
        return B_LATE;
    if (u < B.o.silent + B.o.late + B.o.wrong)
        return B_WRONG;
    return B_RIGHT;
}

static void timer_cb(uv_timer_t *h);
static void send_answer(struct player *p, int k);

static void player_at(struct player *p, int act, int k, double delay_ms)
{
    p->act = act;
    p->act_q = k;
    p->timer_on = true;
    uv_timer_start(&p->timer, timer_cb, delay_ms > 0 ? (uint64_t)delay_ms : 0, 0);
}

static void player_cancel(struct player *p)
{
    if (p->timer_on)
        uv_timer_stop(&p->timer);
    p->timer_on = false;
    p->act = ACT_NONE;
}

/* The plan of a room's question, built once from the first copy seen. */
static struct cqb_plan *plan_of(struct room *r, int k, json_t *question)
{
    struct rq *rq = &r->rq[k];
    if (!rq->plan.ready && question &&
        cqb_plan_build(&rq->plan, B.bank, question, cqb_mix(B.o.seed ^ (uint64_t)k)))
        problem("could not understand question %d of room %u", k, r->idx);
    return rq->plan.ready ? &rq->plan : NULL;
}

static struct cqb_plan *plan_from_text(struct room *r, int k, const char *s, size_t n)
{
    struct rq *rq = &r->rq[k];
    if (rq->plan.ready)
        return &rq->plan;
    json_t *q = json_loadb(s, n, 0, NULL);
    struct cqb_plan *pl = plan_of(r, k, q);
    json_decref(q);
    if (pl) {
        pl->frame_bytes = n;
        if (!B.question_bytes)
            B.question_bytes = n;
    }
    return pl;
}

static void send_shown(struct player *p, int k)
{
    conn_sendf(&p->c, NULL, "{\"type\":\"shown\",\"id\":%d,\"question\":%d}", ID_SHOWN + 16 * k, k);
}

/* A `question` was just read: its `shown` goes out once the burst is read.
 * One process reads every player's copy of a broadcast, one after the
 * other; writing each `shown` there and then (a loopback send costs as much
 * as the server's, the kernel delivering it to the server) made the
 * generator read the later copies late, and that was counted as the
 * server's fan-out (at 2,000 players the slowest copy came about twice as
 * late; docs/performance.md). A real player's `shown` costs the other
 * players nothing. So they wait until no `question` has been read for
 * SHOWN_QUIET_MS (shown_check_cb: the burst is over; a pause of one loop
 * iteration is not enough at 20,000 players, where the generator catches
 * up with the server now and then); a player's answer sends its own first
 * (the server measures the answer time from the `shown`).
 * --shown-at-once writes them at once. */
static void shown_later(struct player *p, int k)
{
    if (B.o.shown_at_once) {
        send_shown(p, k);
        return;
    }
    B.question_at = cqb_now_ns();
    if (p->shown_k >= 0 && p->shown_k != k)
        send_shown(p, p->shown_k);
    p->shown_k = k;
    if (!p->shown_listed) {
        p->shown_listed = true;
        B.shown_wait[B.n_shown_wait++] = p;
    }
}

static void shown_now(struct player *p)
{
    int k = p->shown_k;
    p->shown_k = -1;
    if (k >= 0 && p->st == P_IN && !B.finishing)
        send_shown(p, k);
}

static void shown_check_cb(uv_check_t *h)
{
    (void)h;
    if (B.n_shown_wait && cqb_now_ns() - B.question_at >= (int64_t)SHOWN_QUIET_MS * 1000000) {
        for (unsigned i = 0; i < B.n_shown_wait; i++) {
            B.shown_wait[i]->shown_listed = false;
            shown_now(B.shown_wait[i]);
        }
        B.n_shown_wait = 0;
    }
}

/* Plans this player's moves for question k, `lead_ms` and `remaining_ms`
 * from now (as the question or state message says). */
static void schedule(struct player *p, int k, const struct cqb_plan *pl, long long lead_ms,
                     long long remaining_ms, bool after_rejoin)
{
    struct pq *q = &p->pq[k];
    int b = behaviour(p, k);
    double u = cqb_unit(B.o.seed, p->gidx, 2000u + (unsigned)k);
    double window = (double)(remaining_ms - lead_ms);
    q->behaviour = (uint8_t)b;
    if (p->timer_on && p->act == ACT_ANSWER && p->act_q != k) {
        /* a late answer to the previous question still waiting: it goes now */
        int prev = p->act_q;
        player_cancel(p);
        send_answer(p, prev);
    }
    if (!after_rejoin && p->drop_q == k && !p->n_drops) {
        /* gone early in the window, back well before its end */
        player_at(p, ACT_DROP, k, (double)lead_ms + u * 0.25 * window);
        return;
    }
    if (b == B_SILENT || q->ans != ANS_NONE)
        return;
    if (b == B_LATE)
        player_at(p, ACT_ANSWER, k,
                  (double)remaining_ms + B.o.max_show_delay_ms + 100.0 + u * 400.0);
    else if (after_rejoin)
        player_at(p, ACT_ANSWER, k, (double)lead_ms + (0.05 + 0.6 * u) * window);
    else
        player_at(p, ACT_ANSWER, k, (double)lead_ms + (0.05 + 0.8 * u) * window);
    (void)pl;
}

static void send_answer(struct player *p, int k)
{
    struct room *r = p->room;
    struct pq *q = &p->pq[k];
    struct cqb_plan *pl = &r->rq[k].plan;
    char buf[1024];
    if (!pl->ready || q->ans != ANS_NONE)
        return;
    shown_now(p);
    bool wrong = q->behaviour == B_WRONG;
    int n =
        snprintf(buf, sizeof buf, "{\"type\":\"answer\",\"id\":%d,\"question\":%d,\"answer\":%s}",
                 ID_ANSWER + 16 * k, k, wrong ? pl->wrong : pl->right);
    if (n <= 0 || (size_t)n >= sizeof buf)
        return;
    q->expect = (int8_t)(pl->right_known == 1 ? (wrong ? 0 : 1) : pl->right_known == 0 ? 0 : -1);
    q->ans = ANS_QUEUED;
    conn_send(&p->c, buf, (size_t)n, NULL, q, &r->rq[k]);
}

static void mark_away(struct player *p, int upto)
{
    for (int k = p->away_from < 0 ? 0 : p->away_from; k <= upto && k < MAX_Q; k++)
        p->pq[k].away = true;
}

static void timer_cb(uv_timer_t *h)
{
    struct player *p = h->data;
    int act = p->act, k = p->act_q;
    p->timer_on = false;
    p->act = ACT_NONE;
    if (B.finishing)
        return;
    switch (act) {
    case ACT_ANSWER:
        if (p->st == P_IN)
            send_answer(p, k);
        break;
    case ACT_DROP:
        if (p->st != P_IN || !p->c.wsi)
            break;
        p->st = P_DROPPING;
        p->shown_k = -1;
        for (int q = 0; q < MAX_Q; q++)
            if (p->pq[q].ans == ANS_SENT) {
                p->pq[q].ans = ANS_DROPPED;
                B.outstanding--;
            }
        p->c.closing = true;
        p->dropped_at = cqb_now_ns();
        p->away_from = p->last_q;
        lws_set_timeout(p->c.wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        break;
    case ACT_RECONNECT:
        p->st = p->joined_once ? P_REJOINING : P_CONNECTING;
        if (conn_open(&p->c)) {
            B.connect_failures++;
            problem("player %s could not reconnect", p->nick);
            p->st = P_FAILED;
        }
        break;
    default:
        break;
    }
}

static void player_closed(struct player *p, bool failed_to_connect, const char *why)
{
    if (B.finishing)
        return;
    player_cancel(p);
    if (failed_to_connect) {
        char why_s[48];
        snprintf(why_s, sizeof why_s, "connect: %.36s", why);
        count_in(B.gone, &B.n_gone, sizeof B.gone / sizeof B.gone[0], why_s);
        B.connect_failures++;
        problem("player %s: connection failed (%s)", p->nick, why);
        if (p->c.connect_tries < 3) { /* as a phone would: try again */
            player_at(p, ACT_RECONNECT, -1, 200.0);
            p->st = p->joined_once ? P_AWAY : P_NEW;
        } else {
            p->st = P_FAILED;
            if (!p->joined_once)
                B.n_join_failed++;
        }
        return;
    }
    if (p->st == P_DROPPING) {
        p->st = P_AWAY;
        p->n_drops++;
        player_at(p, ACT_RECONNECT, -1,
                  100.0 + 300.0 * cqb_unit(B.o.seed, p->gidx, 3000u + p->n_drops));
        return;
    }
    /* Not ours: count it, and come back as a real client would. */
    char why_s[48];
    if (p->c.close_code)
        snprintf(why_s, sizeof why_s, "close %d %.32s", p->c.close_code, p->c.close_reason);
    else
        snprintf(why_s, sizeof why_s, "dropped, no close frame");
    count_in(B.gone, &B.n_gone, sizeof B.gone / sizeof B.gone[0], why_s);
    B.unexpected++;
    p->n_unexpected++;
    problem("player %s was disconnected (%s, close code %d %s, %.1f s after its last message) "
            "in state %d",
            p->nick, why, p->c.close_code, p->c.close_reason,
            cqb_ms(cqb_now_ns() - p->c.last_rx) / 1000.0, (int)p->st);
    if (B.unexpected <= 5)
        note("player %s disconnected: close code %d %s, last message %.1f s ago", p->nick,
             p->c.close_code, p->c.close_reason, cqb_ms(cqb_now_ns() - p->c.last_rx) / 1000.0);
    if (p->joined_once && p->n_unexpected < 3) {
        p->away_from = p->last_q;
        p->st = P_AWAY;
        player_at(p, ACT_RECONNECT, -1, 500.0);
    } else {
        if (!p->joined_once)
            B.n_join_failed++;
        p->st = P_FAILED;
    }
}

/* A `state` after join or rejoin: what the player missed, and what to do. */
static void player_state(struct player *p, const char *s, size_t n)
{
    json_t *st = json_loadb(s, n, 0, NULL);
    const char *phase = json_string_value(json_object_get(st, "phase"));
    int k = (int)json_integer_value(json_object_get(st, "index"));
    json_t *you = json_object_get(st, "you");
    if (!phase || k >= MAX_Q) {
        json_decref(st);
        return;
    }
    if (p->away_from >= 0)
        mark_away(p, k);
    p->away_from = -1;
    if (k >= 0 && strcmp(phase, "lobby") != 0) {
        struct pq *q = &p->pq[k];
        if (k > p->last_q)
            p->last_q = k;
        if (!strcmp(phase, "question")) {
            json_t *qo = json_object_get(st, "question");
            struct cqb_plan *pl = plan_of(p->room, k, qo);
            q->via_state |= VS_Q;
            p->shown_k = -1; /* one held back from before the drop is stale */
            send_shown(p, k);
            if (pl && !json_is_true(json_object_get(you, "answered")))
                schedule(p, k, pl, (long long)json_integer_value(json_object_get(qo, "lead_in_ms")),
                         (long long)json_integer_value(json_object_get(qo, "remaining_ms")), true);
        } else if (!strcmp(phase, "reveal") || !strcmp(phase, "leaderboard")) {
            json_t *res = json_object_get(you, "result");
            q->via_state |= VS_Q | VS_REVEAL | VS_RESULT;
            if (!strcmp(phase, "leaderboard"))
                q->via_state |= VS_LB;
            if (res && !q->have_res) {
                q->have_res = true;
                q->res_answered = json_is_true(json_object_get(res, "answered"));
                q->res_correct = json_is_true(json_object_get(res, "correct"));
            }
        } else if (!strcmp(phase, "ended")) {
            p->ended_via_state = true;
        }
    }
    json_decref(st);
}

static void player_joined(struct player *p, const char *s, size_t n, int64_t t)
{
    json_t *j = json_loadb(s, n, 0, NULL);
    const char *tok = json_string_value(json_object_get(j, "token"));
    json_t *pl = json_object_get(j, "player");
    if (tok)
        snprintf(p->token, sizeof p->token, "%s", tok);
    if (pl)
        p->id = (long long)json_integer_value(json_object_get(pl, "id"));
    json_decref(j);
    p->st = P_IN;
    if (!p->joined_once) {
        p->joined_once = true;
        p->joined_at = t;
        p->room->n_joined++;
        B.n_joined++;
        cqb_series_add(&B.join_lat, cqb_ms(t - p->c.connect_at));
        if (B.n_joined + B.n_join_failed == B.n_all)
            B.join_end = t;
    } else {
        p->n_rejoins++;
    }
}

static void player_msg(struct player *p, const char *type, const char *s, size_t n, int64_t t)
{
    struct room *r = p->room;
    long long k = -1, id = -1;

    if (!strcmp(type, "progress") || !strcmp(type, "lobby") || !strcmp(type, "pong") ||
        !strcmp(type, "warning"))
        return;
    if (!strcmp(type, "question") || !strcmp(type, "reveal") || !strcmp(type, "result") ||
        !strcmp(type, "leaderboard")) {
        if (!cqb_jtop_int(s, n, "index", &k) || k < 0 || k >= MAX_Q) {
            B.bad_msgs++;
            return;
        }
    }
    if (!strcmp(type, "question")) {
        struct pq *q = &p->pq[k];
        struct rq *rq = &r->rq[k];
        if (++q->n_q > 1)
            return; /* a duplicate: counted at the end */
        q->q_at = t;
        rq->n_q++;
        if (k > p->last_q)
            p->last_q = (int)k;
        if (rq->t_cmd) {
            double lat = cqb_ms(t - rq->t_cmd);
            cqb_series_add(&B.fanout, lat);
            trace("question", p, (int)k, t, lat);
            if (lat > rq->fanout_max)
                rq->fanout_max = lat;
        }
        struct cqb_plan *pl = plan_from_text(r, (int)k, s, n);
        shown_later(p, (int)k);
        if (pl)
            schedule(p, (int)k, pl, pl->lead_in_ms, pl->remaining_ms, false);
    } else if (!strcmp(type, "reveal")) {
        if (++p->pq[k].n_reveal == 1)
            p->pq[k].reveal_at = t;
        if (p->idx == 0)
            trace("reveal0", p, (int)k, t, 0);
    } else if (!strcmp(type, "result")) {
        struct pq *q = &p->pq[k];
        if (++q->n_result == 1) {
            q->result_at = t;
            q->have_res = true;
            cqb_jtop_bool(s, n, "answered", &q->res_answered);
            cqb_jtop_bool(s, n, "correct", &q->res_correct);
        }
    } else if (!strcmp(type, "leaderboard")) {
        if (++p->pq[k].n_lb == 1) {
            p->pq[k].lb_at = t;
            r->rq[k].n_lb++;
        }
    } else if (!strcmp(type, "answer_ack")) {
        if (!cqb_jtop_int(s, n, "id", &id) || id % 16 != ID_ANSWER || id / 16 >= MAX_Q) {
            B.unexpected_acks++;
            return;
        }
        struct pq *q = &p->pq[id / 16];
        q->n_ack++;
        if (q->ans == ANS_SENT) {
            B.outstanding--;
            q->ans = ANS_ACKED;
            cqb_series_add(&B.ack, cqb_ms(t - q->ans_at));
            trace("ack", p, (int)(id / 16), t, cqb_ms(t - q->ans_at));
        } else if (q->ans == ANS_DROPPED) {
            q->ans = ANS_ACKED; /* read before the drop took effect */
        } else if (q->ans != ANS_ACKED) {
            B.unexpected_acks++;
        }
    } else if (!strcmp(type, "error")) {
        char code[32] = "?";
        size_t len;
        const char *v = cqb_jtop(s, n, "code", &len);
        if (v && len >= 2 && len - 2 < sizeof code) {
            memcpy(code, v + 1, len - 2);
            code[len - 2] = '\0';
        }
        count_error(code);
        if (!cqb_jtop_int(s, n, "id", &id))
            id = 0;
        if (id % 16 == ID_ANSWER && id / 16 < MAX_Q) {
            struct pq *q = &p->pq[id / 16];
            q->n_err++;
            if (q->ans == ANS_SENT) {
                B.outstanding--;
                q->ans = ANS_ERRORED;
                trace("refused", p, (int)(id / 16), t, cqb_ms(t - q->ans_at));
            } else if (q->ans == ANS_DROPPED) {
                q->ans = ANS_ERRORED;
            }
            snprintf(q->err, sizeof q->err, "%.23s", code);
        } else if (id % 16 == ID_JOIN || id % 16 == ID_REJOIN) {
            B.join_errors++;
            problem("player %s: %s refused: %s", p->nick, id % 16 == ID_JOIN ? "join" : "rejoin",
                    code);
            if (!p->joined_once)
                B.n_join_failed++;
            p->st = P_FAILED;
        } else if (id % 16 == ID_SHOWN) {
            B.shown_errors++;
        } else {
            B.other_msgs++;
            problem("player %s: unexpected error %.*s", p->nick, (int)n, s);
        }
    } else if (!strcmp(type, "welcome")) {
        p->c.got_welcome = true;
        if (p->st == P_REJOINING || p->st == P_AWAY)
            conn_sendf(&p->c, NULL,
                       "{\"type\":\"rejoin\",\"id\":%d,\"pin\":\"%s\",\"token\":\"%s\"}", ID_REJOIN,
                       r->pin, p->token);
        else
            conn_sendf(&p->c, NULL,
                       "{\"type\":\"join\",\"id\":%d,\"pin\":\"%s\",\"nickname\":\"%s\"}", ID_JOIN,
                       r->pin, p->nick);
        if (p->st != P_REJOINING)
            p->st = P_JOINING;
    } else if (!strcmp(type, "joined")) {
        player_joined(p, s, n, t);
    } else if (!strcmp(type, "state")) {
        player_state(p, s, n);
    } else if (!strcmp(type, "ended")) {
        p->n_ended++;
    } else if (!strcmp(type, "summary")) {
        if (++p->n_summary == 1)
            r->n_summary++;
    } else if (!strcmp(type, "kicked") || !strcmp(type, "replaced")) {
        B.kicked_or_replaced++;
        problem("player %s got %s", p->nick, type);
    } else if (!strcmp(type, "closed")) {
        /* the game expired: only after ended_ttl */
    } else {
        B.other_msgs++;
    }
}

/* ---- hosts ---------------------------------------------------------------- */

static void host_create(struct room *r)
{
    char tl[32] = "";
    if (B.o.time_limit > 0)
        snprintf(tl, sizeof tl, ",\"time_limit\":%d", B.o.time_limit);
    conn_sendf(&r->host, NULL,
               "{\"type\":\"create_game\",\"id\":%d,\"bank\":\"%s\",\"count\":%u,\"shuffle\":true,"
               "\"lead_in\":%d%s}",
               ID_CREATE, B.o.bank, B.o.questions, B.o.lead_in, tl);
    r->st = R_CREATING;
}

static void host_next(struct room *r, int64_t *stamp)
{
    conn_sendf(&r->host, stamp, "{\"type\":\"next\",\"id\":%d}", ID_NEXT);
}

/* The host is back after a drop: pick the game up where the state says it is. */
static void host_resync(struct room *r, const char *s, size_t n, int64_t t)
{
    json_t *st = json_loadb(s, n, 0, NULL);
    const char *phase = json_string_value(json_object_get(st, "phase"));
    int k = (int)json_integer_value(json_object_get(st, "index"));
    r->host_resync = false;
    if (phase && k < MAX_Q) {
        if (!strcmp(phase, "lobby") && r->st == R_STARTED) {
            conn_sendf(&r->host, &r->rq[0].t_cmd, "{\"type\":\"start\",\"id\":%d}", ID_START);
        } else if (!strcmp(phase, "question") && k >= 0) {
            r->cur_q = k;
        } else if (!strcmp(phase, "reveal") && k >= 0) {
            struct rq *rq = &r->rq[k];
            r->cur_q = k;
            rq->close_ref = rq->close_ref ? rq->close_ref : rq->deadline;
            host_next(r, &rq->t_cmd_lb);
        } else if (!strcmp(phase, "leaderboard") && k >= 0) {
            r->cur_q = k;
            r->played = k + 1;
            r->wait = W_LB;
            r->wait_since = t;
        } else if (!strcmp(phase, "ended")) {
            r->st = R_ENDED;
            r->wait_since = t;
        }
    }
    json_decref(st);
}

static void host_msg(struct room *r, const char *type, const char *s, size_t n, int64_t t)
{
    long long k = -1;
    if (!strcmp(type, "question") || !strcmp(type, "reveal") || !strcmp(type, "leaderboard")) {
        if (!cqb_jtop_int(s, n, "index", &k) || k < 0 || k >= MAX_Q) {
            B.bad_msgs++;
            return;
        }
    }
    if (!strcmp(type, "welcome")) {
        json_t *w = json_loadb(s, n, 0, NULL);
        r->host_seen = true;
        json_t *lim = json_object_get(json_object_get(w, "limits"), "max_players");
        if (lim && json_integer_value(lim) < (json_int_t)B.o.players && r->idx == 0)
            fprintf(stderr,
                    "chainquiz-bench: warning: the server allows %lld players per game, "
                    "fewer than --players %u (server option --max-players)\n",
                    (long long)json_integer_value(lim), B.o.players);
        json_decref(w);
        if (r->host_away)
            conn_sendf(&r->host, NULL,
                       "{\"type\":\"rejoin\",\"id\":%d,\"pin\":\"%s\",\"token\":\"%s\"}", ID_REJOIN,
                       r->pin, r->token);
        else
            host_create(r);
    } else if (!strcmp(type, "joined") && r->host_away) {
        r->host_away = false;
        r->host_resync = true;
    } else if (!strcmp(type, "state") && r->host_resync) {
        host_resync(r, s, n, t);
    } else if (!strcmp(type, "joined")) {
        json_t *j = json_loadb(s, n, 0, NULL);
        const char *pin = json_string_value(json_object_get(j, "pin"));
        const char *tok = json_string_value(json_object_get(j, "token"));
        snprintf(r->pin, sizeof r->pin, "%s", pin ? pin : "");
        snprintf(r->token, sizeof r->token, "%s", tok ? tok : "");
        json_decref(j);
        r->st = R_LOBBY;
        B.rooms_ready++;
    } else if (!strcmp(type, "question")) {
        struct rq *rq = &r->rq[k];
        struct cqb_plan *pl = plan_from_text(r, (int)k, s, n);
        rq->t_host_q = t;
        trace("host_question", NULL, (int)k, t, cqb_ms(t - rq->t_cmd));
        r->cur_q = (int)k;
        if (k == B.o.drop_host_q && !r->host_drops && r->host.wsi) {
            r->host.closing = true;
            lws_set_timeout(r->host.wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        }
        if (pl) {
            r->total = (int)pl->total;
            rq->deadline =
                rq->t_cmd +
                (pl->lead_in_ms + pl->time_limit_ms + B.o.max_show_delay_ms) * (int64_t)1000000;
        }
    } else if (!strcmp(type, "reveal")) {
        struct rq *rq = &r->rq[k];
        rq->t_host_reveal = t;
        trace("host_reveal", NULL, (int)k, t, 0);
        /* Closed early (every connected player answered): the reference is the
         * last answer written; otherwise the deadline. */
        rq->early = rq->deadline && t < rq->deadline && rq->last_ans;
        rq->close_ref = rq->early ? rq->last_ans : rq->deadline;
        host_next(r, &rq->t_cmd_lb);
    } else if (!strcmp(type, "leaderboard")) {
        r->rq[k].t_host_lb = t;
        r->played = (int)k + 1;
        r->wait = W_LB;
        r->wait_since = t;
    } else if (!strcmp(type, "ended")) {
        r->ended_at = t;
        r->st = R_ENDED;
        r->wait_since = t;
        note("room %u: ended", r->idx);
    } else if (!strcmp(type, "error")) {
        B.host_errors++;
        problem("host of room %u: %.*s", r->idx, (int)(n > 200 ? 200 : n), s);
        if (r->st == R_CREATING) {
            r->st = R_FAILED;
            B.rooms_ready++;
        }
    } else if (!strcmp(type, "kicked") || !strcmp(type, "replaced")) {
        B.kicked_or_replaced++;
    }
    /* state, lobby, progress, ok, warning, pong: nothing to do */
}

static void host_reconnect(uv_timer_t *h)
{
    struct room *r = h->data;
    if (B.finishing)
        return;
    if (conn_open(&r->host)) {
        problem("host of room %u could not reconnect", r->idx);
        r->st = R_FAILED;
    }
}

static void host_closed(struct room *r, const char *why)
{
    char why_s[48];
    if (B.finishing)
        return;
    if (!r->host_seen) { /* never got in: the server is not there */
        B.unreachable = true;
        problem("cannot reach the server at ws://%s:%d%s (%s)", B.o.host, B.o.port, B.o.path, why);
        if (r->st == R_NEW || r->st == R_CREATING)
            B.rooms_ready++;
        r->st = R_FAILED;
        B.done = true;
        return;
    }
    if (r->host.closing) { /* --drop-host */
        r->host_drops++;
        r->host_away = true;
        uv_timer_start(&r->host_timer, host_reconnect, 200, 0);
        return;
    }
    B.unexpected++;
    if (r->host.close_code)
        snprintf(why_s, sizeof why_s, "host: close %d %.26s", r->host.close_code,
                 r->host.close_reason);
    else
        snprintf(why_s, sizeof why_s, "host: %.40s",
                 strcmp(why, "closed") ? why : "dropped, no close frame");
    count_in(B.gone, &B.n_gone, sizeof B.gone / sizeof B.gone[0], why_s);
    problem("host of room %u disconnected (%s, close code %d, %.1f s after its last message)",
            r->idx, why, r->host.close_code, cqb_ms(cqb_now_ns() - r->host.last_rx) / 1000.0);
    note("host of room %u disconnected: close code %d, last message %.1f s ago", r->idx,
         r->host.close_code, cqb_ms(cqb_now_ns() - r->host.last_rx) / 1000.0);
    if (r->st == R_NEW || r->st == R_CREATING || !r->token[0] || ++r->host_drops > 3) {
        if (r->st == R_NEW || r->st == R_CREATING)
            B.rooms_ready++;
        r->st = R_FAILED;
        return;
    }
    /* as a projector would: back with the host token */
    r->host_away = true;
    uv_timer_start(&r->host_timer, host_reconnect, 500, 0);
}

static void handle(struct conn *c, const char *s, size_t n, int64_t t)
{
    char type[24];
    c->msgs_in++;
    if (!cqb_jtop_type(s, n, type, sizeof type)) {
        B.bad_msgs++;
        return;
    }
    if (c->player) {
        count_in(B.types, &B.n_types, sizeof B.types / sizeof B.types[0], type);
        player_msg(c->player, type, s, n, t);
    } else
        host_msg(c->room, type, s, n, t);
}

/* ---- the run ------------------------------------------------------------- */

static unsigned connected_in(const struct room *r)
{
    unsigned n = 0;
    for (unsigned i = 0; i < r->n_players; i++)
        n += r->players[i].st == P_IN;
    return n;
}

static void room_tick(struct room *r, int64_t now)
{
    if (r->st == R_STARTED && r->wait == W_LB) {
        struct rq *rq = &r->rq[r->cur_q];
        if (rq->n_lb >= connected_in(r) || now - r->wait_since > (int64_t)LB_WAIT_MS * 1000000) {
            r->wait = W_GAP;
            r->wait_since = now;
        }
    } else if (r->st == R_STARTED && r->wait == W_GAP &&
               now - r->wait_since >= (int64_t)B.o.gap_ms * 1000000) {
        int k = r->cur_q + 1;
        r->wait = W_NONE;
        if (k < r->total && k < MAX_Q) {
            if (r->idx == 0)
                note("question %d", k);
            host_next(r, &r->rq[k].t_cmd);
        } else {
            host_next(r, &r->t_end_cmd);
        }
    } else if (r->st == R_ENDED) {
        if (r->n_summary >= connected_in(r) || now - r->wait_since > (int64_t)END_WAIT_MS * 1000000)
            r->st = R_DONE;
    }
}

static void start_games(void)
{
    B.started = true;
    B.start_at = cqb_now_ns();
    note("starting %u game(s)", B.o.rooms);
    for (unsigned i = 0; i < B.o.rooms; i++) {
        struct room *r = &B.rooms[i];
        if (r->st != R_LOBBY)
            continue;
        r->st = R_STARTED;
        conn_sendf(&r->host, &r->rq[0].t_cmd, "{\"type\":\"start\",\"id\":%d}", ID_START);
    }
}

static void tick_cb(uv_timer_t *h)
{
    int64_t now = cqb_now_ns();
    (void)h;
    if (B.interrupted || now > B.deadline) {
        if (!B.interrupted) {
            B.timed_out = true;
            problem("the run did not finish within %u s", B.o.timeout_s);
        }
        note("stopping: %s", B.interrupted ? "interrupted by a signal" : "out of time");
        B.done = true;
        uv_stop(&B.loop);
        return;
    }
    /* joins, paced */
    if (B.rooms_ready == B.o.rooms && B.launched < B.n_all) {
        if (!B.join_start) {
            B.join_start = now;
            note("joining %u players at %.0f/s", B.n_all, B.o.join_rate);
        }
        double due = cqb_ms(now - B.join_start) / 1000.0 * B.o.join_rate + 1.0;
        while (B.launched < B.n_all && (double)B.launched < due && B.connecting < CONNECT_BURST) {
            struct player *p = B.all[B.launched++];
            if (p->room->st != R_LOBBY) {
                p->st = P_FAILED;
                B.n_join_failed++;
                continue;
            }
            p->st = P_CONNECTING;
            if (conn_open(&p->c)) {
                B.connect_failures++;
                B.n_join_failed++;
                p->st = P_FAILED;
            }
        }
    }
    /* start once everyone is in (or the join phase ran out of time) */
    if (!B.started && B.join_start) {
        double limit_s = B.o.join_timeout_s ? (double)B.o.join_timeout_s
                                            : 30.0 + 3.0 * (double)B.n_all / B.o.join_rate;
        bool all = B.n_joined + B.n_join_failed >= B.n_all;
        if (all && !B.join_end)
            B.join_end = now;
        if ((all && now - B.join_end > (int64_t)SETTLE_MS * 1000000) ||
            cqb_ms(now - B.join_start) > limit_s * 1000.0) {
            if (!all) {
                problem("only %u of %u players joined within %.0f s", B.n_joined, B.n_all, limit_s);
                B.join_end = now;
            }
            note("joined %u/%u in %.2f s", B.n_joined, B.n_all,
                 cqb_ms(B.join_end - B.join_start) / 1000.0);
            start_games();
        }
    }
    unsigned done = 0;
    for (unsigned i = 0; i < B.o.rooms; i++) {
        room_tick(&B.rooms[i], now);
        done += B.rooms[i].st == R_DONE || B.rooms[i].st == R_FAILED;
    }
    if (B.started && done == B.o.rooms && !B.draining) {
        /* no new answers; wait for the replies to those on their way */
        B.draining = true;
        B.drain_since = now;
        for (unsigned i = 0; i < B.n_all; i++)
            player_cancel(B.all[i]);
    }
    /* An answer still queued is written after this: wait for its reply too. */
    if (B.draining &&
        ((!B.outstanding && !B.queued) || now - B.drain_since > (int64_t)3000 * 1000000))
        B.done = true;
    if (B.done)
        uv_stop(&B.loop);
}

/* ---- results ---------------------------------------------------------------- */

struct tally {
    unsigned long players, joined;
    unsigned long q_lost, q_dup, rv_lost, rv_dup, rs_lost, rs_dup, lb_lost, lb_dup;
    unsigned long end_lost, end_dup, sum_lost, sum_dup;
    unsigned long away_missed, via_state;
    unsigned long sent, acked, refused, ans_lost, ans_dropped, ack_dup, late_sent, late_acked;
    unsigned long checked, mismatched, answered_mismatch;
    unsigned long drops, rejoins;
    double bytes_in, bytes_out, msgs_in;
};

/* Question k's last copy read, in every room: ms after its command. */
static double slowest_of(int k)
{
    double ms = 0;
    for (unsigned i = 0; i < B.o.rooms; i++)
        if (k < B.rooms[i].played && B.rooms[i].rq[k].n_q && B.rooms[i].rq[k].fanout_max > ms)
            ms = B.rooms[i].rq[k].fanout_max;
    return ms;
}

static void tally_player(struct tally *T, struct player *p)
{
    struct room *r = p->room;
    T->players++;
    if (!p->joined_once)
        return;
    T->joined++;
    T->drops += p->n_drops;
    T->rejoins += p->n_rejoins;
    T->bytes_in += (double)p->c.bytes_in;
    T->bytes_out += (double)p->c.bytes_out;
    T->msgs_in += (double)p->c.msgs_in;
    for (int k = 0; k < r->played && k < MAX_Q; k++) {
        struct pq *q = &p->pq[k];
        struct rq *rq = &r->rq[k];
        bool away = q->away;
        /* Broadcasts: exactly one each, or the same content in a `state`. */
        T->q_dup += q->n_q > 1 ? q->n_q - 1u : 0;
        T->rv_dup += q->n_reveal > 1 ? q->n_reveal - 1u : 0;
        T->rs_dup += q->n_result > 1 ? q->n_result - 1u : 0;
        T->lb_dup += q->n_lb > 1 ? q->n_lb - 1u : 0;
        bool mq = !q->n_q && !(q->via_state & VS_Q),
             mrv = !q->n_reveal && !(q->via_state & VS_REVEAL),
             mrs = !q->n_result && !(q->via_state & VS_RESULT),
             mlb = !q->n_lb && !(q->via_state & VS_LB);
        if (q->via_state)
            T->via_state++;
        if (away) {
            T->away_missed += (unsigned long)mq + mrv + mrs + mlb;
        } else {
            T->q_lost += mq;
            T->rv_lost += mrv;
            T->rs_lost += mrs;
            T->lb_lost += mlb;
        }
        /* Answers: each one sent gets an ack or an error, once. */
        if (q->ans >= ANS_SENT) {
            T->sent++;
            if (q->behaviour == B_LATE)
                T->late_sent++;
        }
        if (q->ans == ANS_ACKED) {
            T->acked++;
            if (q->behaviour == B_LATE)
                T->late_acked++;
        }
        if (q->ans == ANS_ERRORED)
            T->refused++;
        if (q->ans == ANS_DROPPED)
            T->ans_dropped++;
        if (q->ans == ANS_SENT) {
            T->ans_lost++;
            problem("player %s: its answer to question %d (sent at %.0f ms, %s) got no reply; "
                    "drops %u (at question %d), rejoins %u",
                    p->nick, k, cqb_ms(q->ans_at - B.t0),
                    q->behaviour == B_LATE    ? "late"
                    : q->behaviour == B_WRONG ? "wrong"
                                              : "right",
                    p->n_drops, p->drop_q, p->n_rejoins);
        }
        if (q->n_ack + q->n_err > 1)
            T->ack_dup += q->n_ack + q->n_err - 1u;
        /* The server's verdict against what was meant. */
        if (q->have_res) {
            if (q->ans != ANS_DROPPED && q->res_answered != (q->ans == ANS_ACKED))
                T->answered_mismatch++;
            if (q->ans == ANS_ACKED && q->expect >= 0) {
                T->checked++;
                if (q->res_correct != (q->expect == 1))
                    T->mismatched++;
            }
        }
        /* Latencies of reveal and leaderboard from the close. */
        if (rq->close_ref) {
            if (q->reveal_at)
                cqb_series_add(&B.reveal, cqb_ms(q->reveal_at - rq->close_ref));
            if (q->result_at)
                cqb_series_add(&B.result, cqb_ms(q->result_at - rq->close_ref));
            if (q->lb_at)
                cqb_series_add(&B.leaderboard, cqb_ms(q->lb_at - rq->close_ref));
        }
    }
    if (r->st == R_DONE || r->st == R_ENDED) {
        bool end_away = p->n_unexpected || p->st != P_IN;
        T->end_dup += p->n_ended > 1 ? p->n_ended - 1u : 0;
        T->sum_dup += p->n_summary > 1 ? p->n_summary - 1u : 0;
        if (!end_away && !p->ended_via_state) {
            T->end_lost += !p->n_ended;
            T->sum_lost += !p->n_summary;
        }
    }
}

static void row(const char *name, struct cqb_series *s)
{
    printf("  %-24s %8zu %9.2f %9.2f %9.2f %9.2f\n", name, s->n, cqb_series_pct(s, 50),
           cqb_series_pct(s, 95), cqb_series_pct(s, 99), cqb_series_max(s));
}

static const char *verdict(bool ok)
{
    return ok ? "met" : "MISSED";
}

static int report(void)
{
    if (B.unreachable) {
        fprintf(stderr, "chainquiz-bench: %s\n", B.first_problem);
        return 2;
    }
    struct tally T;
    memset(&T, 0, sizeof T);
    for (unsigned i = 0; i < B.n_all; i++)
        tally_player(&T, B.all[i]);
    for (unsigned i = 0; i < B.o.rooms; i++)
        for (int k = 0; k < B.rooms[i].played && k < MAX_Q; k++)
            if (B.rooms[i].rq[k].n_q)
                cqb_series_add(&B.fanout_last, B.rooms[i].rq[k].fanout_max);

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double gen_cpu = (double)(ru.ru_utime.tv_sec - B.ru0.ru_utime.tv_sec) +
                     (double)(ru.ru_stime.tv_sec - B.ru0.ru_stime.tv_sec) +
                     (double)(ru.ru_utime.tv_usec - B.ru0.ru_utime.tv_usec) / 1e6 +
                     (double)(ru.ru_stime.tv_usec - B.ru0.ru_stime.tv_usec) / 1e6;
    double wall = cqb_ms(cqb_now_ns() - B.t0) / 1000.0;
    double busy = cqb_machine_busy_s() - B.busy0, load1 = cqb_loadavg();
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    struct cqb_proc_sample gen1 = cqb_proc_read(getpid());
    double gen_wait = gen1.wait_s - B.gen0.wait_s, srv_wait = B.srv1.wait_s - B.srv0.wait_s;
    double join_s = B.join_end && B.join_start ? cqb_ms(B.join_end - B.join_start) / 1000.0 : 0;
    unsigned long lost = T.q_lost + T.rv_lost + T.rs_lost + T.lb_lost + T.end_lost + T.sum_lost +
                         T.ans_lost,
                  dup = T.q_dup + T.rv_dup + T.rs_dup + T.lb_dup + T.end_dup + T.sum_dup +
                        T.ack_dup + B.unexpected_acks;
    int played = 0;
    for (unsigned i = 0; i < B.o.rooms; i++)
        if (B.rooms[i].played > played)
            played = B.rooms[i].played;
    bool fail = lost || dup || B.unexpected || B.connect_failures || B.join_errors ||
                B.host_errors || B.kicked_or_replaced || T.joined < T.players || B.timed_out ||
                T.mismatched || T.answered_mismatch || B.bad_msgs || B.interrupted;
    double cpu = B.srv1.ok && B.srv0.ok ? B.srv1.cpu_s - B.srv0.cpu_s : -1;
    double redis_cpu = B.redis_cpu1 - B.redis_cpu0;
    double other = busy - gen_cpu - (cpu > 0 ? cpu + redis_cpu : 0);
    if (other < 0)
        other = 0;
    double per = T.joined ? 1.0 / (double)T.joined : 0;
    double fan_p99 = cqb_series_pct(&B.fanout, 99);

    printf("\nchainquiz-bench: %u player(s) x %u room(s), %d question(s) played, bank %s, "
           "time limit %d s, lead-in %d s\n",
           B.o.players, B.o.rooms, played, B.o.bank, B.o.time_limit, B.o.lead_in);
    printf("  shares: wrong %.2f, late %.2f, silent %.2f, drop+rejoin %.2f; seed %llu; "
           "answers checked against the bank: %s\n",
           B.o.wrong, B.o.late, B.o.silent, B.o.drop, (unsigned long long)B.o.seed,
           B.bank ? "yes" : "no (bank file not found)");
    printf("  `shown`: %s\n", B.o.shown_at_once
                                  ? "sent as each `question` is read (--shown-at-once)"
                                  : "sent once the broadcast's burst is read");
    if (B.server_cmd[0])
        printf("  server: %s\n", B.server_cmd);
    if (B.pinned_cpu >= 0)
        printf("  CPUs: the server on CPU %d only, this generator on the others (--no-pin: "
               "shared)\n",
               B.pinned_cpu);
    printf("\n  joined %lu / %lu players in %.2f s (%.0f/s); connect-to-joined p50 %.1f ms, "
           "p99 %.1f ms\n",
           T.joined, T.players, join_s, join_s > 0 ? (double)T.joined / join_s : 0,
           cqb_series_pct(&B.join_lat, 50), cqb_series_pct(&B.join_lat, 99));
    printf("\n  %-24s %8s %9s %9s %9s %9s\n", "latency (ms)", "n", "p50", "p95", "p99", "max");
    row("question fan-out", &B.fanout);
    row("  slowest per question", &B.fanout_last);
    printf("  %-24s", "  slowest, by question");
    for (int k = 0; k < played; k++)
        printf(" %.1f", slowest_of(k));
    printf("\n");
    row("answer ack", &B.ack);
    row("reveal after close", &B.reveal);
    row("result after close", &B.result);
    row("leaderboard after close", &B.leaderboard);
    printf("\n  messages: questions lost %lu dup %lu; reveals lost %lu dup %lu; results lost %lu "
           "dup %lu;\n            leaderboards lost %lu dup %lu; ended lost %lu dup %lu; "
           "summaries lost %lu dup %lu\n",
           T.q_lost, T.q_dup, T.rv_lost, T.rv_dup, T.rs_lost, T.rs_dup, T.lb_lost, T.lb_dup,
           T.end_lost, T.end_dup, T.sum_lost, T.sum_dup);
    printf("  answers: sent %lu, acked %lu, refused %lu, lost %lu, duplicate replies %lu, "
           "unexpected acks %u; late %lu (acked %lu); the player dropped before the reply %lu\n",
           T.sent, T.acked, T.refused, T.ans_lost, T.ack_dup, B.unexpected_acks, T.late_sent,
           T.late_acked, T.ans_dropped);
    printf("  scoring: %lu answers checked, %lu verdicts differ, %lu answered flags differ\n",
           T.checked, T.mismatched, T.answered_mismatch);
    printf("  connections: %u unexpected disconnects, %u connect failures, %u join/rejoin errors, "
           "%u host errors; drops %lu, rejoins %lu, missed while away %lu, caught up by state "
           "%lu\n",
           B.unexpected, B.connect_failures, B.join_errors, B.host_errors, T.drops, T.rejoins,
           T.away_missed, T.via_state);
    if (B.n_gone) {
        printf("  lost connections by reason:");
        for (unsigned i = 0; i < B.n_gone; i++)
            printf(" [%s] %u", B.gone[i].code, B.gone[i].n);
        printf("\n");
    }
    if (B.n_errs) {
        printf("  errors received:");
        for (unsigned i = 0; i < B.n_errs; i++)
            printf(" %s %u", B.errs[i].code, B.errs[i].n);
        printf("\n");
    }
    if (cpu >= 0)
        printf("\n  server pid %d: CPU %.2f s over %.1f s (%.0f%% of a core), waited %.2f s for a "
               "CPU; peak RSS %.1f MB (now %.1f MB); redis CPU %.2f s\n",
               (int)B.o.server_pid, cpu, wall, 100.0 * cpu / wall, srv_wait, B.srv1.hwm_mb,
               B.srv1.rss_mb, redis_cpu);
    else
        printf("\n  server: not measured (give --server-pid, or run it on this machine)\n");
    printf("  generator: CPU %.2f s, waited %.2f s for a CPU; per player: sent %.0f B, received "
           "%.0f B in %.0f messages "
           "(WebSocket payload)\n",
           gen_cpu, gen_wait, T.bytes_out * per, T.bytes_in * per, T.msgs_in * per);
    if (B.question_bytes)
        printf("  question message: %zu bytes\n", B.question_bytes);
    printf("  messages received per player:");
    for (unsigned i = 0; i < B.n_types; i++)
        printf(" %s %.1f", B.types[i].code, (double)B.types[i].n * per);
    printf("\n");
    printf("  machine: %ld cores; other processes used %.2f CPU-s during the run (%.0f%% of one "
           "core); load average %.2f -> %.2f%s\n",
           cores, other, 100.0 * other / wall, B.load0, load1,
           other / wall > 0.1 ? "  (timings disturbed by other work on the machine)" : "");

    if (B.o.rooms == 1) {
        printf("\n  targets (one room):\n");
        printf("    all joined within 15 s: %.2f s, %s\n", join_s,
               verdict(T.joined == T.players && join_s <= 15.0));
        if (B.o.floor_ms > 0)
            printf("    fan-out p99 <= 2.5x floor: %.2f ms / %.2f ms = %.2fx, %s\n", fan_p99,
                   B.o.floor_ms, fan_p99 / B.o.floor_ms, verdict(fan_p99 <= 2.5 * B.o.floor_ms));
        printf("    answer ack p99 <= 100 ms: %.2f ms, %s\n", cqb_series_pct(&B.ack, 99),
               verdict(cqb_series_pct(&B.ack, 99) <= 100.0));
        /* The standings after a question reach each player in `result`
         * (score, rank) at the close; the projector's top-10 screen waits for
         * the host's `next`, so it also carries the host's round trip. */
        printf("    standings (each player's result: score, rank) within 500 ms of the close: "
               "p99 %.2f ms, max %.2f ms, %s\n",
               cqb_series_pct(&B.result, 99), cqb_series_max(&B.result),
               verdict(cqb_series_max(&B.result) <= 500.0));
        printf("    (leaderboard screen after the host's next: p99 %.2f ms, max %.2f ms)\n",
               cqb_series_pct(&B.leaderboard, 99), cqb_series_max(&B.leaderboard));
        printf("    0 lost, 0 disconnects: %s\n",
               verdict(!lost && !B.unexpected && !B.connect_failures));
        if (cpu >= 0)
            printf("    peak RSS <= 200 MB: %.1f MB, %s\n", B.srv1.hwm_mb,
                   verdict(B.srv1.hwm_mb <= 200.0));
    }
    if (B.o.md_row) {
        char ratio[32] = "-", floor_s[32] = "-";
        if (B.o.floor_ms > 0) {
            snprintf(floor_s, sizeof floor_s, "%.1f", B.o.floor_ms);
            snprintf(ratio, sizeof ratio, "%.2fx", fan_p99 / B.o.floor_ms);
        }
        printf("\n| %s | %lu/%lu in %.1f s | %.0f / %.0f / %.0f | %s | %s | %.0f / %.0f | %.0f | "
               "%.0f / %.0f | %.0f / %.0f | %lu / %lu / %u | %.1f | %.1f | %.0f |\n",
               B.o.md_row, T.joined, T.players, join_s, cqb_series_pct(&B.fanout, 50), fan_p99,
               cqb_series_max(&B.fanout), floor_s, ratio, cqb_series_pct(&B.ack, 50),
               cqb_series_pct(&B.ack, 99), cqb_series_pct(&B.reveal, 99),
               cqb_series_pct(&B.result, 99), cqb_series_max(&B.result),
               cqb_series_pct(&B.leaderboard, 99), cqb_series_max(&B.leaderboard), lost, dup,
               B.unexpected + B.connect_failures, cpu, srv_wait, B.srv1.hwm_mb);
    }
    if (B.interrupted)
        printf("\n  the run was interrupted by signal %d\n", (int)got_signal);
    if (B.timed_out)
        printf("\n  the run did not finish within --timeout %u s\n", B.o.timeout_s);
    printf("\nRESULT: %s%s%s\n", fail ? "FAIL" : "PASS",
           B.first_problem[0] ? " - first problem: " : "", B.first_problem);

    if (B.o.json_path) {
        json_t *errs = json_object();
        for (unsigned i = 0; i < B.n_errs; i++)
            json_object_set_new(errs, B.errs[i].code, json_integer(B.errs[i].n));
        json_t *j = json_pack(
            "{s:{s:I, s:I, s:i, s:s, s:i, s:i, s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:s?, s:b}, "
            "s:{s:I, s:I, s:f}, s:{s:o, s:o, s:o, s:o, s:o, s:o, s:o}, s:f}",
            "config", "players", (json_int_t)B.o.players, "rooms", (json_int_t)B.o.rooms,
            "questions_played", played, "bank", B.o.bank, "time_limit", B.o.time_limit, "lead_in",
            B.o.lead_in, "join_rate", B.o.join_rate, "wrong", B.o.wrong, "late", B.o.late, "silent",
            B.o.silent, "drop", B.o.drop, "seed", (json_int_t)B.o.seed, "gap_ms",
            (json_int_t)B.o.gap_ms, "server_cmd", B.server_cmd[0] ? B.server_cmd : NULL,
            "shown_at_once", (int)B.o.shown_at_once, "join", "players", (json_int_t)T.players,
            "joined", (json_int_t)T.joined, "seconds", join_s, "latency_ms", "question_fanout",
            cqb_series_json(&B.fanout), "fanout_slowest", cqb_series_json(&B.fanout_last),
            "answer_ack", cqb_series_json(&B.ack), "reveal", cqb_series_json(&B.reveal), "result",
            cqb_series_json(&B.result), "leaderboard", cqb_series_json(&B.leaderboard),
            "connect_to_joined", cqb_series_json(&B.join_lat), "wall_s", wall);
        json_object_set_new(
            j, "messages",
            json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                      "questions_lost", (json_int_t)T.q_lost, "questions_dup", (json_int_t)T.q_dup,
                      "reveals_lost", (json_int_t)T.rv_lost, "reveals_dup", (json_int_t)T.rv_dup,
                      "results_lost", (json_int_t)T.rs_lost, "results_dup", (json_int_t)T.rs_dup,
                      "leaderboards_lost", (json_int_t)T.lb_lost, "leaderboards_dup",
                      (json_int_t)T.lb_dup, "ended_lost", (json_int_t)T.end_lost, "ended_dup",
                      (json_int_t)T.end_dup, "summaries_lost", (json_int_t)T.sum_lost,
                      "summaries_dup", (json_int_t)T.sum_dup, "missed_while_away",
                      (json_int_t)T.away_missed, "caught_up_by_state", (json_int_t)T.via_state));
        json_object_set_new(
            j, "answers",
            json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "sent",
                      (json_int_t)T.sent, "acked", (json_int_t)T.acked, "refused",
                      (json_int_t)T.refused, "lost", (json_int_t)T.ans_lost, "dropped_in_flight",
                      (json_int_t)T.ans_dropped, "duplicate_replies", (json_int_t)T.ack_dup,
                      "unexpected_acks", (json_int_t)B.unexpected_acks, "late_sent",
                      (json_int_t)T.late_sent, "late_acked", (json_int_t)T.late_acked, "checked",
                      (json_int_t)T.checked, "verdict_mismatches", (json_int_t)T.mismatched,
                      "answered_mismatches", (json_int_t)T.answered_mismatch, "errors", errs));
        unsigned host_drops = 0;
        for (unsigned i = 0; i < B.o.rooms; i++)
            host_drops += B.rooms[i].host_drops;
        json_object_set_new(
            j, "connections",
            json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "unexpected_disconnects",
                      (json_int_t)B.unexpected, "connect_failures", (json_int_t)B.connect_failures,
                      "join_errors", (json_int_t)B.join_errors, "host_errors",
                      (json_int_t)B.host_errors, "drops", (json_int_t)T.drops, "rejoins",
                      (json_int_t)T.rejoins, "kicked_or_replaced", (json_int_t)B.kicked_or_replaced,
                      "host_drops", (json_int_t)host_drops));
        json_object_set_new(j, "server",
                            cpu >= 0 ? json_pack("{s:i, s:f, s:f, s:f, s:f, s:f}", "pid",
                                                 (int)B.o.server_pid, "cpu_s", cpu, "cpu_wait_s",
                                                 srv_wait, "peak_rss_mb", B.srv1.hwm_mb, "rss_mb",
                                                 B.srv1.rss_mb, "redis_cpu_s", redis_cpu)
                                     : json_null());
        json_object_set_new(j, "machine",
                            json_pack("{s:I, s:f, s:f, s:f, s:i}", "cores", (json_int_t)cores,
                                      "other_cpu_s", other, "load_start", B.load0, "load_end",
                                      load1, "server_pinned_cpu", B.pinned_cpu));
        json_t *per_q = json_array();
        for (int k = 0; k < played; k++)
            json_array_append_new(per_q, json_real(slowest_of(k)));
        json_object_set_new(json_object_get(j, "latency_ms"), "fanout_slowest_by_question", per_q);
        json_object_set_new(
            j, "generator",
            json_pack("{s:f, s:f, s:f, s:f, s:f, s:I}", "cpu_s", gen_cpu, "cpu_wait_s", gen_wait,
                      "bytes_sent_per_player", T.bytes_out * per, "bytes_received_per_player",
                      T.bytes_in * per, "messages_received_per_player", T.msgs_in * per,
                      "question_bytes", (json_int_t)B.question_bytes));
        if (B.o.floor_ms > 0)
            json_object_set_new(j, "floor",
                                json_pack("{s:f, s:f}", "median_ms", B.o.floor_ms,
                                          "fanout_p99_ratio", fan_p99 / B.o.floor_ms));
        json_t *types = json_object();
        for (unsigned i = 0; i < B.n_types; i++)
            json_object_set_new(types, B.types[i].code, json_real((double)B.types[i].n * per));
        json_object_set_new(j, "received_per_player", types);
        json_t *gone = json_object();
        for (unsigned i = 0; i < B.n_gone; i++)
            json_object_set_new(gone, B.gone[i].code, json_integer(B.gone[i].n));
        json_object_set_new(j, "lost_connections_by_reason", gone);
        json_object_set_new(j, "pass", json_boolean(!fail));
        json_object_set_new(j, "first_problem", json_string(B.first_problem));
        if (json_dump_file(j, B.o.json_path, JSON_INDENT(2)))
            fprintf(stderr, "chainquiz-bench: cannot write %s\n", B.o.json_path);
        json_decref(j);
    }
    return fail ? 1 : 0;
}

/* ---- setup ---------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(
        f,
        "Usage: chainquiz-bench [OPTION]...\n"
        "Plays real Chainquiz games over WebSocket and measures latency and correctness.\n\n"
        "Target:\n"
        "  --url URL            server to play against (default ws://127.0.0.1:8080/ws)\n"
        "  --spawn-server       start build/chainquiz for this run (private data dir, free port,\n"
        "                       raised open-file limit) and stop it at the end\n"
        "  --server-bin PATH    the server binary for --spawn-server (default %s)\n"
        "  --content DIR        question banks: for the spawned server, and for knowing the\n"
        "                       right answers (default %s/content)\n"
        "  --send-queue N, --msgs-per-sec N, --max-players N, --max-show-delay MS\n"
        "                       passed to the spawned server (defaults 64, 20, max(20000, "
        "players),\n"
        "                       1000); --max-show-delay must match the server's\n"
        "  --server-arg ARG     one more argument for the spawned server (repeatable)\n"
        "  --server-pid PID     measure this process's CPU and memory (default: found by port)\n"
        "  --no-pin             with --spawn-server, do not keep the server and this process\n"
        "                       on different CPUs (see docs/performance.md)\n\n"
        "Load:\n"
        "  --players N          players per room (default 100)\n"
        "  --rooms R            rooms, one host each (default 1)\n"
        "  --join-rate R        connections opened per second, all rooms (default 1000)\n"
        "  --questions Q        questions per game (default 5, at most %d)\n"
        "  --bank ID            question bank (default itil4-value-chain)\n"
        "  --time-limit S       answer window per question, s (default 10; 0: the bank's)\n"
        "  --lead-in S          lead-in before answering opens, s (default 0)\n"
        "  --wrong F            share of answers that are wrong (default 0.25)\n"
        "  --late F             share of answers sent after the deadline (default 0.05)\n"
        "  --silent F           share of questions a player never answers (default 0.05)\n"
        "  --drop F             share of players dropped and rejoined mid-game (default 0.02)\n"
        "  --gap-ms MS          host's pause on the leaderboard (default 500)\n"
        "  --drop-host Q        every host drops and rejoins when question Q arrives\n"
        "  --shown-at-once      send each player's `shown` as its `question` is read, not\n"
        "                       once the broadcast's burst is read (slower reading, counted\n"
        "                       in the fan-out)\n"
        "  --seed N             random seed (default 1)\n\n"
        "Output:\n"
        "  --json FILE          machine-readable results\n"
        "  --floor-ms MS        the fan-out floor's median at this N (fanout-floor), for the\n"
        "                       ratio target\n"
        "  --join-timeout S     start the games after S seconds even if not everyone has\n"
        "                       joined (default 30 + 3 x players / join rate)\n"
        "  --timeout S          give up after S seconds (default: from the load)\n"
        "  --trace FILE         one CSV line per measured event (time_ms,event,room,player,\n"
        "                       question,latency_ms), for plots\n"
        "  --md-row LABEL       end with one Markdown table row (docs/performance.md)\n"
        "  --quiet              no progress lines\n"
        "  --smoke              CI check: spawn the server with the test bank, 200 players,\n"
        "                       1 room, 3 questions; fails on any loss or disconnect\n\n"
        "Exit status: 0 all messages accounted for, 1 a loss, duplicate or unexpected\n"
        "disconnect (never because of timing), 2 the run could not be set up.\n",
        CQ_SERVER_BIN, CQ_SOURCE_DIR, MAX_Q);
}

static bool parse_url(struct opts *o)
{
    const char *u = o->url;
    if (strncmp(u, "ws://", 5))
        return false;
    u += 5;
    const char *colon = strchr(u, ':'), *slash = strchr(u, '/');
    if (!slash)
        slash = u + strlen(u);
    const char *hend = colon && colon < slash ? colon : slash;
    if (hend == u || (size_t)(hend - u) >= sizeof o->host)
        return false;
    memcpy(o->host, u, (size_t)(hend - u));
    o->host[hend - u] = '\0';
    o->port = colon && colon < slash ? atoi(colon + 1) : 80;
    snprintf(o->path, sizeof o->path, "%s", *slash ? slash : CQ_WS_PATH);
    if (!strcmp(o->host, "localhost"))
        snprintf(o->host, sizeof o->host, "127.0.0.1");
    return o->port > 0 && o->port < 65536;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    enum {
        O_URL = 256,
        O_SPAWN,
        O_BIN,
        O_CONTENT,
        O_SQ,
        O_MPS,
        O_MAXP,
        O_MSD,
        O_SARG,
        O_PID,
        O_PLAYERS,
        O_ROOMS,
        O_RATE,
        O_QUESTIONS,
        O_BANK,
        O_TL,
        O_LEAD,
        O_WRONG,
        O_LATE,
        O_SILENT,
        O_DROP,
        O_GAP,
        O_SEED,
        O_JSON,
        O_FLOOR,
        O_TIMEOUT,
        O_QUIET,
        O_SMOKE,
        O_HELP,
        O_TRACE,
        O_MDROW,
        O_JTIMEOUT,
        O_DROPHOST,
        O_SHOWN_NOW,
        O_NO_PIN
    };
    static const struct option lo[] = {
        {"url", 1, 0, O_URL},
        {"spawn-server", 0, 0, O_SPAWN},
        {"server-bin", 1, 0, O_BIN},
        {"content", 1, 0, O_CONTENT},
        {"send-queue", 1, 0, O_SQ},
        {"msgs-per-sec", 1, 0, O_MPS},
        {"max-players", 1, 0, O_MAXP},
        {"max-show-delay", 1, 0, O_MSD},
        {"server-arg", 1, 0, O_SARG},
        {"server-pid", 1, 0, O_PID},
        {"players", 1, 0, O_PLAYERS},
        {"rooms", 1, 0, O_ROOMS},
        {"join-rate", 1, 0, O_RATE},
        {"questions", 1, 0, O_QUESTIONS},
        {"bank", 1, 0, O_BANK},
        {"time-limit", 1, 0, O_TL},
        {"lead-in", 1, 0, O_LEAD},
        {"wrong", 1, 0, O_WRONG},
        {"late", 1, 0, O_LATE},
        {"silent", 1, 0, O_SILENT},
        {"drop", 1, 0, O_DROP},
        {"gap-ms", 1, 0, O_GAP},
        {"seed", 1, 0, O_SEED},
        {"json", 1, 0, O_JSON},
        {"floor-ms", 1, 0, O_FLOOR},
        {"timeout", 1, 0, O_TIMEOUT},
        {"quiet", 0, 0, O_QUIET},
        {"smoke", 0, 0, O_SMOKE},
        {"help", 0, 0, O_HELP},
        {"trace", 1, 0, O_TRACE},
        {"md-row", 1, 0, O_MDROW},
        {"join-timeout", 1, 0, O_JTIMEOUT},
        {"drop-host", 1, 0, O_DROPHOST},
        {"shown-at-once", 0, 0, O_SHOWN_NOW},
        {"no-pin", 0, 0, O_NO_PIN},
        {0, 0, 0, 0},
    };
    memset(o, 0, sizeof *o);
    o->url = NULL;
    o->bank = "itil4-value-chain";
    o->server_bin = CQ_SERVER_BIN;
    o->content = CQ_SOURCE_DIR "/content";
    o->players = 100;
    o->rooms = 1;
    o->join_rate = 1000;
    o->questions = 5;
    o->time_limit = 10;
    o->wrong = 0.25;
    o->late = 0.05;
    o->silent = 0.05;
    o->drop = 0.02;
    o->gap_ms = 500;
    o->seed = 1;
    o->send_queue = 64;
    o->msgs_per_sec = 20;
    o->max_show_delay_ms = 1000;
    o->drop_host_q = -1;
    bool content_set = false, bank_set = false;
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case O_URL:
            o->url = optarg;
            break;
        case O_SPAWN:
            o->spawn = true;
            break;
        case O_BIN:
            o->server_bin = optarg;
            break;
        case O_CONTENT:
            o->content = optarg;
            content_set = true;
            break;
        case O_SQ:
            o->send_queue = (unsigned)atoi(optarg);
            break;
        case O_MPS:
            o->msgs_per_sec = (unsigned)atoi(optarg);
            break;
        case O_MAXP:
            o->max_players = (unsigned)atoi(optarg);
            break;
        case O_MSD:
            o->max_show_delay_ms = atoi(optarg);
            break;
        case O_SARG:
            if (o->n_server_args < sizeof o->server_args / sizeof o->server_args[0])
                o->server_args[o->n_server_args++] = optarg;
            break;
        case O_PID:
            o->server_pid = (pid_t)atoi(optarg);
            break;
        case O_PLAYERS:
            o->players = (unsigned)atoi(optarg);
            break;
        case O_ROOMS:
            o->rooms = (unsigned)atoi(optarg);
            break;
        case O_RATE:
            o->join_rate = atof(optarg);
            break;
        case O_QUESTIONS:
            o->questions = (unsigned)atoi(optarg);
            break;
        case O_BANK:
            o->bank = optarg;
            bank_set = true;
            break;
        case O_TL:
            o->time_limit = atoi(optarg);
            break;
        case O_LEAD:
            o->lead_in = atoi(optarg);
            break;
        case O_WRONG:
            o->wrong = atof(optarg);
            break;
        case O_LATE:
            o->late = atof(optarg);
            break;
        case O_SILENT:
            o->silent = atof(optarg);
            break;
        case O_DROP:
            o->drop = atof(optarg);
            break;
        case O_GAP:
            o->gap_ms = (unsigned)atoi(optarg);
            break;
        case O_SEED:
            o->seed = strtoull(optarg, NULL, 10);
            break;
        case O_JSON:
            o->json_path = optarg;
            break;
        case O_FLOOR:
            o->floor_ms = atof(optarg);
            break;
        case O_TIMEOUT:
            o->timeout_s = (unsigned)atoi(optarg);
            break;
        case O_QUIET:
            o->quiet = true;
            break;
        case O_TRACE:
            o->trace_path = optarg;
            break;
        case O_MDROW:
            o->md_row = optarg;
            break;
        case O_JTIMEOUT:
            o->join_timeout_s = (unsigned)atoi(optarg);
            break;
        case O_DROPHOST:
            o->drop_host_q = atoi(optarg);
            break;
        case O_NO_PIN:
            o->no_pin = true;
            break;
        case O_SHOWN_NOW:
            o->shown_at_once = true;
            break;
        case O_SMOKE:
            o->smoke = true;
            break;
        case O_HELP:
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "chainquiz-bench: unexpected argument %s\n", argv[optind]);
        return -1;
    }
    if (o->smoke) {
        /* CI: correctness only, small and quick; explicit options still win */
        o->spawn = true;
        if (!content_set)
            o->content = CQ_SOURCE_DIR "/tests/fixtures/content";
        if (!bank_set)
            o->bank = "mini";
        o->players = 200;
        o->rooms = 1;
        o->questions = 3;
        o->time_limit = 3;
        o->drop = 0.05;
        o->gap_ms = 200;
    }
    if (!o->url)
        o->url = "ws://127.0.0.1:8080/ws";
    if (!o->spawn && !parse_url(o)) {
        fprintf(stderr, "chainquiz-bench: --url must look like ws://127.0.0.1:8080/ws\n");
        return -1;
    }
    if (!o->players || !o->rooms || o->join_rate <= 0 || !o->questions || o->questions > MAX_Q ||
        o->time_limit < 0 || o->time_limit > 240 || o->lead_in < 0 || o->lead_in > 30 ||
        o->wrong < 0 || o->late < 0 || o->silent < 0 || o->drop < 0 ||
        o->wrong + o->late + o->silent > 1.0 || o->drop > 1.0) {
        fprintf(stderr, "chainquiz-bench: an option is out of range (see --help)\n");
        return -1;
    }
    if (!o->max_players)
        o->max_players = o->players > 20000 ? o->players : 20000;
    return 0;
}

/* One descriptor per connection: the soft limit goes up to the hard one. */
static int raise_nofile(unsigned need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl))
        return -1;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl))
        return -1;
    if (rl.rlim_cur < need) {
        fprintf(stderr,
                "chainquiz-bench: %u players + %u hosts + %d spare need %u open files; the hard "
                "limit is %llu (ulimit -Hn), which a process cannot raise.\n"
                "Lower --players or --rooms (at most %llu connections in all).\n",
                B.o.players * B.o.rooms, B.o.rooms, FD_SPARE, need, (unsigned long long)rl.rlim_max,
                (unsigned long long)(rl.rlim_max > FD_SPARE ? rl.rlim_max - FD_SPARE : 0));
        return -1;
    }
    return 0;
}

/* Our own messages pass the server's decoder (the codec all clients share). */
static int self_check(void)
{
    const char *samples[] = {
        ("{\"type\":\"create_game\",\"id\":5,\"bank\":\"b\",\"count\":5,\"shuffle\":true,"
         "\"lead_in\":0,\"time_limit\":10}"),
        "{\"type\":\"join\",\"id\":1,\"pin\":\"123456\",\"nickname\":\"b0-12345\"}",
        "{\"type\":\"rejoin\",\"id\":2,\"pin\":\"123456\",\"token\":\"abcDEF123_-\"}",
        "{\"type\":\"shown\",\"id\":19,\"question\":1}",
        "{\"type\":\"answer\",\"id\":20,\"question\":1,\"answer\":2}",
        "{\"type\":\"answer\",\"id\":20,\"question\":1,\"answer\":[0,2]}",
        "{\"type\":\"answer\",\"id\":20,\"question\":1,\"answer\":true}",
        "{\"type\":\"answer\",\"id\":20,\"question\":1,\"answer\":\"not the answer 42\"}",
        "{\"type\":\"start\",\"id\":6}",
        "{\"type\":\"next\",\"id\":7}",
    };
    struct cq_limits lim;
    cq_limits_default(&lim);
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        struct cq_msg m;
        struct cq_proto_error e;
        int r = cq_proto_decode(samples[i], strlen(samples[i]), &lim, &m, &e);
        cq_msg_clear(&m);
        if (r) {
            fprintf(stderr, "chainquiz-bench: internal: %s refused by the codec: %s (%s)\n",
                    samples[i], cq_err_code(e.code), e.field);
            return -1;
        }
    }
    return 0;
}

static void on_signal(int sig)
{
    got_signal = sig;
    B.interrupted = true;
}

/* The spawned server on one CPU, this process on the others; its Redis,
 * started before this, keeps them all. Unpinned, every copy the server wrote
 * woke this process on the server's own CPU: the scheduler chose the
 * waker's CPU while the other one idled, and this process, back from sleep,
 * preempted the server in the middle of its broadcast (a sched_switch trace
 * showed 4.5 of a 17 ms loop lost so; docs/performance.md). Real players
 * are on other machines and wake nothing here. Not on one CPU, or with
 * --no-pin; then B.pinned_cpu stays -1. */
static void pin_apart(pid_t server)
{
    cpu_set_t all, one, rest;
    if (sched_getaffinity(0, sizeof all, &all) || CPU_COUNT(&all) < 2)
        return;
    int first = -1;
    for (int c = 0; c < CPU_SETSIZE && first < 0; c++)
        if (CPU_ISSET(c, &all))
            first = c;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    rest = all;
    CPU_CLR(first, &rest);
    if (sched_setaffinity(server, sizeof one, &one) || sched_setaffinity(0, sizeof rest, &rest)) {
        fprintf(stderr, "chainquiz-bench: warning: cannot pin the server apart: %s\n",
                strerror(errno));
        sched_setaffinity(server, sizeof all, &all);
        return;
    }
    B.pinned_cpu = first;
}

static int spawn_server(void)
{
    char *argv[64], sq[16], mps[16], maxp[16], msd[16], err[512];
    int n = 0;
    char web[1200];
    snprintf(sq, sizeof sq, "%u", B.o.send_queue);
    snprintf(mps, sizeof mps, "%u", B.o.msgs_per_sec);
    snprintf(maxp, sizeof maxp, "%u", B.o.max_players);
    snprintf(msd, sizeof msd, "%d", B.o.max_show_delay_ms);
    snprintf(web, sizeof web, "%s/web-client", CQ_SOURCE_DIR);
    argv[n++] = (char *)B.o.server_bin;
    argv[n++] = "--bind";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--content";
    argv[n++] = (char *)B.o.content;
    argv[n++] = "--web-root";
    argv[n++] = web;
    argv[n++] = "--send-queue";
    argv[n++] = sq;
    argv[n++] = "--msgs-per-sec";
    argv[n++] = mps;
    argv[n++] = "--max-players";
    argv[n++] = maxp;
    argv[n++] = "--max-show-delay";
    argv[n++] = msd;
    /* every player comes from 127.0.0.1: the per-address limits are for the internet */
    argv[n++] = "--max-conns-per-ip";
    argv[n++] = "0";
    argv[n++] = "--games-per-ip";
    argv[n++] = "0";
    argv[n++] = "--games-per-min";
    argv[n++] = "100000";
    argv[n++] = "--work-per-sec";
    argv[n++] = "1000000";
    argv[n++] = "--work-burst";
    argv[n++] = "10000000";
    argv[n++] = "--join-deadline";
    argv[n++] = "0";
    argv[n++] = "--log-level";
    argv[n++] = "warn";
    for (unsigned i = 0; i < B.o.n_server_args && n < 62; i++)
        argv[n++] = (char *)B.o.server_args[i];
    argv[n] = NULL;
    size_t off = 0;
    for (int i = 0; i < n && off < sizeof B.server_cmd; i++)
        off += (size_t)snprintf(B.server_cmd + off, sizeof B.server_cmd - off, "%s%s", i ? " " : "",
                                argv[i]);
    note("starting the server: %s", B.server_cmd);
    if (cqb_server_spawn(&B.srv, argv, 20000, err, sizeof err)) {
        fprintf(stderr, "chainquiz-bench: %s\n", err);
        cqb_server_stop(&B.srv, true);
        return -1;
    }
    B.spawned = true;
    B.o.server_pid = B.srv.pid;
    if (!B.o.no_pin)
        pin_apart(B.srv.pid);
    B.o.port = B.srv.port;
    snprintf(B.o.host, sizeof B.o.host, "127.0.0.1");
    snprintf(B.o.path, sizeof B.o.path, "%s", CQ_WS_PATH);
    return 0;
}

static int setup_players(void)
{
    B.rooms = calloc(B.o.rooms, sizeof *B.rooms);
    B.n_all = B.o.players * B.o.rooms;
    B.all = calloc(B.n_all, sizeof *B.all);
    B.shown_wait = calloc(B.n_all ? B.n_all : 1, sizeof *B.shown_wait);
    if (!B.rooms || !B.all || !B.shown_wait)
        return -1;
    for (unsigned i = 0; i < B.o.rooms; i++) {
        struct room *r = &B.rooms[i];
        r->idx = i;
        r->cur_q = -1;
        r->host.room = r;
        uv_timer_init(&B.loop, &r->host_timer);
        r->host_timer.data = r;
        r->n_players = B.o.players;
        r->players = calloc(B.o.players, sizeof *r->players);
        if (!r->players)
            return -1;
        for (unsigned j = 0; j < B.o.players; j++) {
            struct player *p = &r->players[j];
            p->room = r;
            p->idx = j;
            p->c.room = r;
            p->c.player = p;
            p->last_q = -1;
            p->away_from = -1;
            p->shown_k = -1;
            snprintf(p->nick, sizeof p->nick, "b%u-%u", i, j);
            uv_timer_init(&B.loop, &p->timer);
            p->timer.data = p;
        }
    }
    /* interleave the rooms in the join order */
    unsigned g = 0;
    for (unsigned j = 0; j < B.o.players; j++)
        for (unsigned i = 0; i < B.o.rooms; i++) {
            struct player *p = &B.rooms[i].players[j];
            p->gidx = g;
            B.all[g++] = p;
            p->drop_q = cqb_unit(B.o.seed, p->gidx, 777) < B.o.drop
                            ? (int)(cqb_unit(B.o.seed, p->gidx, 778) * B.o.questions)
                            : -1;
        }
    return 0;
}

/* Everything we allocated, so that leak checkers see only real leaks. */
static void free_all(void)
{
    for (unsigned i = 0; B.rooms && i < B.o.rooms; i++) {
        struct room *r = &B.rooms[i];
        for (int k = 0; k < MAX_Q; k++)
            cqb_plan_free(&r->rq[k].plan);
        conn_drop_queue(&r->host);
        free(r->host.rx);
        for (unsigned j = 0; r->players && j < r->n_players; j++) {
            conn_drop_queue(&r->players[j].c);
            free(r->players[j].c.rx);
        }
        free(r->players);
    }
    free(B.rooms);
    free(B.all);
    free(B.shown_wait);
    while (B.links) {
        struct link *l = B.links;
        B.links = l->next_all;
        free(l);
    }
    struct cqb_series *all[] = {&B.fanout, &B.fanout_last, &B.ack,     &B.reveal,
                                &B.result, &B.leaderboard, &B.join_lat};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        cqb_series_free(all[i]);
}

static void close_cb(uv_handle_t *h)
{
    (void)h;
}

int main(int argc, char **argv)
{
    struct lws_context_creation_info info;
    void *loops[1];
    int rc = 2;

    B.t0 = cqb_now_ns();
    B.pinned_cpu = -1;
    if (parse_args(argc, argv, &B.o))
        return 2;
    if (self_check())
        return 2;
    unsigned total = B.o.players * B.o.rooms;
    if (raise_nofile(total + B.o.rooms + FD_SPARE))
        return 2;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    if (B.o.spawn && spawn_server())
        return 2;
    if (!B.o.server_pid && !strncmp(B.o.host, "127.", 4))
        B.o.server_pid = cqb_pid_by_port(B.o.port);
    B.bank = cqb_bank_load(B.o.content, B.o.bank);
    if (!B.bank)
        note("bank file for %s not found under %s: answers are not checked", B.o.bank, B.o.content);
    if (!B.o.timeout_s) {
        double per_q = B.o.lead_in + (B.o.time_limit ? B.o.time_limit : 60) +
                       B.o.max_show_delay_ms / 1000.0 + B.o.gap_ms / 1000.0 + 10.0;
        B.o.timeout_s = (unsigned)(60.0 + 3.0 * total / B.o.join_rate + B.o.questions * per_q);
    }

    if (B.o.trace_path && !(B.trace = fopen(B.o.trace_path, "w"))) {
        fprintf(stderr, "chainquiz-bench: cannot write %s\n", B.o.trace_path);
        goto out;
    }
    uv_loop_init(&B.loop);
    if (setup_players()) {
        fprintf(stderr, "chainquiz-bench: out of memory\n");
        goto out;
    }
    lws_set_log_level(LLL_ERR, NULL);
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_LIBUV;
    loops[0] = &B.loop;
    info.foreign_loops = loops;
    info.pcontext = &B.ctx;
    info.timeout_secs = 30;
    info.fd_limit_per_thread = 0;
    B.ctx = lws_create_context(&info);
    if (!B.ctx) {
        fprintf(stderr, "chainquiz-bench: cannot create the lws context\n");
        goto out;
    }

    if (B.o.server_pid > 0) {
        B.srv0 = cqb_proc_read(B.o.server_pid);
        B.redis_cpu0 = cqb_proc_children_cpu(B.o.server_pid, "redis-server", &B.redis_pid);
    }
    getrusage(RUSAGE_SELF, &B.ru0);
    B.gen0 = cqb_proc_read(getpid());
    B.busy0 = cqb_machine_busy_s();
    B.load0 = cqb_loadavg();
    B.deadline = cqb_now_ns() + (int64_t)B.o.timeout_s * 1000000000;
    note("%u room(s) x %u players against %s:%d%s (server pid %d)", B.o.rooms, B.o.players,
         B.o.host, B.o.port, B.o.path, (int)B.o.server_pid);
    for (unsigned i = 0; i < B.o.rooms; i++)
        if (conn_open(&B.rooms[i].host)) {
            problem("cannot connect the host of room %u", i);
            B.rooms[i].st = R_FAILED;
            B.rooms_ready++;
        }
    /* The server's count is since it started: only this run's share counts. */
    double culled0 = 0;
    static char body[65536];
    bool local = !strncmp(B.o.host, "127.", 4);
    if (local && cqb_http_get(B.o.host, B.o.port, "/metrics", body, sizeof body, 2000) == 200 &&
        (culled0 = cqb_metric(body, "chainquiz_slow_clients_dropped_total")) < 0)
        culled0 = 0;
    uv_timer_init(&B.loop, &B.tick);
    uv_timer_start(&B.tick, tick_cb, TICK_MS, TICK_MS);
    uv_check_init(&B.loop, &B.shown_check);
    uv_check_start(&B.shown_check, shown_check_cb);
    uv_run(&B.loop, UV_RUN_DEFAULT);

    if (B.o.server_pid > 0) {
        B.srv1 = cqb_proc_read(B.o.server_pid);
        B.redis_cpu1 = cqb_proc_children_cpu(B.o.server_pid, "redis-server", NULL);
    }
    if (local) {
        if (cqb_http_get(B.o.host, B.o.port, "/metrics", body, sizeof body, 2000) == 200) {
            double culled = cqb_metric(body, "chainquiz_slow_clients_dropped_total") - culled0;
            if (culled > 0) {
                problem("the server cut off %.0f slow clients (send queue full)", culled);
                fprintf(stderr, "chainquiz-bench: server metric slow_clients_dropped_total %.0f\n",
                        culled);
            }
        }
    }
    rc = report();

    /* teardown: close every connection, then let lws and libuv finish */
    B.finishing = true;
    uv_timer_stop(&B.tick);
    uv_close((uv_handle_t *)&B.tick, close_cb);
    uv_check_stop(&B.shown_check);
    uv_close((uv_handle_t *)&B.shown_check, close_cb);
    for (unsigned i = 0; i < B.o.rooms; i++) {
        uv_timer_stop(&B.rooms[i].host_timer);
        uv_close((uv_handle_t *)&B.rooms[i].host_timer, close_cb);
    }
    for (unsigned i = 0; i < B.n_all; i++) {
        uv_timer_stop(&B.all[i]->timer);
        uv_close((uv_handle_t *)&B.all[i]->timer, close_cb);
    }
    lws_context_destroy(B.ctx);
    uv_run(&B.loop, UV_RUN_DEFAULT);
    if (B.ctx)
        lws_context_destroy(B.ctx);
    uv_run(&B.loop, UV_RUN_DEFAULT);
    uv_loop_close(&B.loop);
out:
    if (B.spawned) {
        cqb_server_stop(&B.srv, rc != 0);
        if (rc)
            fprintf(stderr, "chainquiz-bench: server log kept in %s\n", B.srv.log);
    }
    cqb_bank_free(B.bank);
    if (B.trace)
        fclose(B.trace);
    free_all();
    return rc;
}
