/* live.c: live games on the transport: message handlers, room events,
 * fan-out and timers. Every handler calls the game and lets the game's
 * events decide what is broadcast. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "net_priv.h"
#include "nickname.h"
#include "rand.h"
#include "replay.h"
#include "secret.h"
#include "text.h"

#define FLUSH_US 200000 /* lobby and progress updates, at most this often */
/* A heartbeat later than a game's last input by more than this is not taken
 * as the time its server last ran (another boot's clock, or another server). */
#define ALIVE_TRUSTED_US (86400LL * 1000000)
/* lobby and progress go to the screens that show the roster and the answer
 * count; players get the counts once per phase instead (in `state` and
 * `question`): 86 % of all messages at 10,000 players were these two. */
#define PROJECTORS (CQ_ROLE_HOST | CQ_ROLE_SPECTATOR)

static void room_after(struct cq_live_room *lr);
static void log_flush_room(struct cq_live_room *lr);

/* ---- membership ----------------------------------------------------------- */

static struct cq_live_room *room_by_pin(struct cq_net *net, const char *pin)
{
    for (struct cq_live_room *lr = net->rooms; lr; lr = lr->next)
        if (!lr->expired && !strcmp(cq_room_pin(lr->room), pin))
            return lr;
    return NULL;
}

static int room_attach(struct cq_live_room *lr, struct cq_conn *c, unsigned role,
                       struct cq_player *p)
{
    if (lr->n_conns == lr->cap_conns) {
        unsigned ncap = lr->cap_conns ? lr->cap_conns * 2 : 16;
        struct cq_conn **nc = realloc(lr->conns, ncap * sizeof *nc);
        if (!nc)
            return CQ_ENOMEM;
        lr->conns = nc;
        lr->cap_conns = ncap;
    }
    c->room_slot = lr->n_conns;
    lr->conns[lr->n_conns++] = c;
    if (role == CQ_ROLE_HOST)
        lr->n_hosts++;
    c->lr = lr;
    c->role = role;
    c->player = p;
    if (p)
        p->conn = c;
    cq_conn_set_idle(c, false);
    return 0;
}

static void room_detach(struct cq_conn *c)
{
    struct cq_live_room *lr = c->lr;
    if (!lr)
        return;
    struct cq_conn *last = lr->conns[--lr->n_conns];
    lr->conns[c->room_slot] = last;
    last->room_slot = c->room_slot;
    if (c->player && c->player->conn == c)
        c->player->conn = NULL;
    if (c->role == CQ_ROLE_HOST)
        lr->n_hosts--;
    c->lr = NULL;
    c->player = NULL;
    c->role = CQ_ROLE_NONE;
    cq_conn_set_idle(c, true); /* unless it is closing */
}

/* Encodes once, queues for every connection whose role is in `roles`. */
static void broadcast(struct cq_live_room *lr, json_t *msg, unsigned roles)
{
    struct cq_buf *b = cq_buf_from_json(msg);
    if (!b)
        return;
    b->refs++; /* ours while fanning out */
    for (unsigned i = 0; i < lr->n_conns; i++)
        if (lr->conns[i]->role & roles)
            cq_conn_push(lr->conns[i], b);
    cq_buf_unref(b);
}

/* ---- held until stored ------------------------------------------------------ */

/* What is sent to `c` from here on waits until every log entry made so far
 * is stored (cq_live_stored): in Redis, or in the journal file while Redis
 * is away. Nothing to wait for without a store. */
static void hold(struct cq_live_room *lr, struct cq_conn *c)
{
    if (!lr->net->deps.store || lr->log_stored >= lr->log_seq)
        return;
    if (c->gate_room && c->gate_room != lr) {
        lws_dll2_remove(&c->gate_link);
        c->gate_room = NULL;
        cq_conn_release(c);
    }
    cq_conn_hold_until(c, lr->log_seq);
    if (!c->gate_room) {
        c->gate_room = lr;
        lws_dll2_add_tail(&c->gate_link, &lr->gated);
    }
}

static void unhold(struct cq_conn *c)
{
    if (!c->gate_room)
        return;
    lws_dll2_remove(&c->gate_link);
    c->gate_room = NULL;
    cq_conn_release(c);
}

enum release { RELEASE_STORED, RELEASE_ALL, RELEASE_NONE };

/* Releases the connections whose entries are stored; or, when the room
 * goes, all of them (RELEASE_ALL) or none (RELEASE_NONE: let go of them,
 * their held messages never sent). */
static void release_stored(struct cq_live_room *lr, enum release how)
{
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&lr->gated))
    {
        struct cq_conn *c = lws_container_of(d, struct cq_conn, gate_link);
        if (how == RELEASE_NONE) {
            lws_dll2_remove(&c->gate_link);
            c->gate_room = NULL;
        } else if (how == RELEASE_ALL || c->gate_need <= lr->log_stored) {
            unhold(c);
        }
    }
    lws_end_foreach_dll_safe(d, d1);
}

void cq_live_stored(struct cq_net *net, const char *game_id, uint64_t seq, bool stored)
{
    for (struct cq_live_room *lr = net->rooms; lr; lr = lr->next)
        if (!strcmp(lr->game_id, game_id)) {
            if (!stored) {
                if (seq < lr->log_gap) {
                    lr->log_gap = seq;
                    cq_err_log("game %s: its log lost entries from %llu on (the Redis journal was "
                               "full); what depends on them is never acknowledged, and the game "
                               "cannot be resumed after a restart",
                               game_id, (unsigned long long)seq);
                }
                return;
            }
            uint64_t upto = seq + 1 < lr->log_gap ? seq + 1 : lr->log_gap;
            if (upto > lr->log_stored) {
                lr->log_stored = upto;
                release_stored(lr, RELEASE_STORED);
            }
            return;
        }
}

/* A live room without a game yet; NULL when out of memory. */
static struct cq_live_room *live_room_new(struct cq_net *net)
{
    struct cq_live_room *lr = calloc(1, sizeof *lr);
    if (!lr)
        return NULL;
    lr->net = net;
    lr->pending_joined = json_array();
    lr->pending_left = json_array();
    lr->pending_status = json_array();
    lr->created_at = cq_net_now_us();
    lr->tick_at = INT64_MAX;
    lr->log_seq = 1;
    lr->log_gap = UINT64_MAX;
    if (!lr->pending_joined || !lr->pending_left || !lr->pending_status) {
        json_decref(lr->pending_joined);
        json_decref(lr->pending_left);
        json_decref(lr->pending_status);
        free(lr);
        return NULL;
    }
    return lr;
}

/* Frees what live_room_new made, and the game; `lr` is not linked. */
static void live_room_discard(struct cq_live_room *lr)
{
    if (!lr)
        return;
    json_decref(lr->pending_joined);
    json_decref(lr->pending_left);
    json_decref(lr->pending_status);
    json_decref(lr->ended_msg);
    /* At shutdown what still waits for the log is never sent: the store's
     * last flush comes after this (a SIGKILL in between must not find an
     * acknowledgement of what is not stored), and the connections close
     * with the server. A room that expired had its entries stored long ago
     * (else its log is going anyway): its `closed` must get out. */
    release_stored(lr, lr->net->stopping ? RELEASE_NONE : RELEASE_ALL);
    cq_cache_state_drop(lr);
    cq_room_free(lr->room);
    for (size_t i = 0; i < lr->log_n; i++)
        free(lr->log_e[i]);
    free(lr->log_e);
    free(lr->log_len);
    free(lr->conns);
    free(lr);
}

/* Makes a ready room findable by its PIN. */
static void live_room_link(struct cq_live_room *lr)
{
    lr->next = lr->net->rooms;
    lr->net->rooms = lr;
    lr->net->n_rooms++;
}

static void live_room_free(struct cq_live_room *lr)
{
    struct cq_net *net = lr->net;
    lws_sul_cancel(&lr->tick_sul);
    lws_sul_cancel(&lr->flush_sul);
    while (lr->n_conns) {
        struct cq_conn *c = lr->conns[lr->n_conns - 1];
        room_detach(c);
        cq_conn_send(c, json_pack("{s:s}", "type", "closed"));
    }
    for (struct cq_live_room **pp = &net->rooms; *pp; pp = &(*pp)->next)
        if (*pp == lr) {
            *pp = lr->next;
            break;
        }
    net->n_rooms--;
    cq_addr_game_end(net->addrs, lr->owner);
    log_flush_room(lr);
    live_room_discard(lr);
}

/* ---- coalesced updates ---------------------------------------------------- */

/* The roster changes collected since the last update; true when sent. */
static bool flush_lobby(struct cq_live_room *lr)
{
    if (json_array_size(lr->pending_joined) || json_array_size(lr->pending_left) ||
        json_array_size(lr->pending_status)) {
        json_t *host =
            json_pack("{s:s, s:O, s:O, s:O, s:I, s:I}", "type", "lobby", "joined",
                      lr->pending_joined, "left", lr->pending_left, "status", lr->pending_status,
                      "players", (json_int_t)cq_room_n_players(lr->room), "connected",
                      (json_int_t)cq_room_n_connected(lr->room));
        broadcast(lr, host, PROJECTORS);
        json_array_clear(lr->pending_joined);
        json_array_clear(lr->pending_left);
        json_array_clear(lr->pending_status);
        return true;
    }
    return false;
}

static void flush_updates(struct cq_live_room *lr)
{
    lr->flush_armed = false;
    bool presenter = lr->progress_dirty; /* the host's `unanswered` changed */
    if (flush_lobby(lr))
        presenter = true;
    if (lr->progress_dirty && cq_room_phase(lr->room) == CQ_PHASE_QUESTION) {
        broadcast(lr,
                  json_pack("{s:s, s:i, s:I, s:I, s:I}", "type", "progress", "index",
                            cq_room_current(lr->room), "answered",
                            (json_int_t)cq_room_answered(lr->room), "players",
                            (json_int_t)cq_room_n_players(lr->room), "connected",
                            (json_int_t)cq_room_n_connected(lr->room)),
                  PROJECTORS);
    }
    if (presenter && cq_room_phase(lr->room) == CQ_PHASE_QUESTION)
        broadcast(lr, cq_wire_unanswered(lr->room, CQ_UNANSWERED_MAX), CQ_ROLE_HOST);
    lr->progress_dirty = false;
}

static void flush_cb(lws_sorted_usec_list_t *sul)
{
    struct cq_live_room *lr = lws_container_of(sul, struct cq_live_room, flush_sul);
    flush_updates(lr);
}

static void arm_flush(struct cq_live_room *lr)
{
    if (lr->flush_armed)
        return;
    lr->flush_armed = true;
    lws_sul_schedule(lr->net->ctx, 0, &lr->flush_sul, flush_cb, FLUSH_US);
}

/* ---- Redis records ---------------------------------------------------------- */

/* The live board after each question: absolute scores. */
static void store_board(struct cq_live_room *lr)
{
    struct cq_store *st = lr->net->deps.store;
    unsigned n;
    struct cq_player *const *r = cq_room_ranking(lr->room, &n);
    if (!st || !n)
        return;
    const char **ids = calloc(n, sizeof *ids);
    long long *scores = calloc(n, sizeof *scores);
    char *idbuf = calloc(n, 12);
    if (ids && scores && idbuf) {
        for (unsigned i = 0; i < n; i++) {
            snprintf(idbuf + 12 * (size_t)i, 12, "%u", r[i]->id);
            ids[i] = idbuf + 12 * (size_t)i;
            scores[i] = r[i]->score;
        }
        cq_store_game_board(st, lr->game_id, ids, scores, n,
                            (unsigned)lr->net->deps.cfg->results_ttl_s);
    }
    free(ids);
    free(scores);
    free(idbuf);
}

/* At the end: the full record for download, and the boards that outlive
 * the game (all-time and weekly, per bank and per group). */
/* By nickname (folded), then best score first. */
static int board_entry_cmp(const void *a, const void *b)
{
    const struct cq_board_entry *x = a, *y = b;
    int c = strcmp(x->member, y->member);
    if (c)
        return c;
    return (x->score < y->score) - (x->score > y->score);
}

static void store_final(struct cq_live_room *lr, const char *host_token_key)
{
    struct cq_store *st = lr->net->deps.store;
    const struct cq_config *cfg = lr->net->deps.cfg;
    long long now = (long long)time(NULL);
    unsigned n;
    struct cq_player *const *r = cq_room_players(lr->room, &n);
    if (!st)
        return;
    json_t *rec = cq_wire_record(lr->room, lr->game_id, lr->created_unix, now, host_token_key);
    size_t len;
    char *text = rec ? cq_proto_dump(rec, 0, &len) : NULL;
    json_decref(rec);
    if (text)
        cq_store_put_result(st, lr->game_id, text, len, (unsigned)cfg->results_ttl_s);
    else
        cq_err_log("game %s: could not encode the result record", lr->game_id);
    free(text);
    struct cq_board_entry *e = calloc(n ? n : 1, sizeof *e);
    if (!e) {
        cq_err_log("game %s: out of memory, boards not updated", lr->game_id);
        return;
    }
    /* Everyone who played counts, also those who left early; not the kicked.
     * A board's entry is a nickname, and a game counts for it once: with the
     * best of the seats that had it (a seat released after the rejoin grace,
     * then a new seat under that name, is most often the same pupil back on
     * a new phone, and adding both would count them twice). docs/redis.md. */
    size_t k = 0;
    for (unsigned i = 0; i < n; i++)
        if (r[i] && !r[i]->kicked)
            e[k++] = (struct cq_board_entry){r[i]->fold, r[i]->nickname, r[i]->score};
    qsort(e, k, sizeof *e, board_entry_cmp); /* a name's seats side by side, best first */
    size_t kept = 0;
    for (size_t i = 0; i < k; i++)
        if (!kept || strcmp(e[kept - 1].member, e[i].member))
            e[kept++] = e[i];
    k = kept;
    const struct cq_room_settings *set = cq_room_settings(lr->room);
    cq_store_count_game(st, lr->game_id, cq_room_bank(lr->room)->id, set->group, lr->group_digest,
                        e, k, now);
    free(e);
}

json_t *cq_live_redis_warning(bool connected)
{
    return json_pack("{s:s, s:s, s:s}", "type", "warning", "code",
                     connected ? "redis_ok" : "redis_down", "message",
                     connected ? "Leaderboard storage is back; nothing was lost."
                               : "Leaderboard storage is unreachable. The game goes on; "
                                 "results are kept and saved when it returns.");
}

void cq_live_redis_state(struct cq_net *net, bool connected)
{
    for (struct cq_live_room *lr = net->rooms; lr; lr = lr->next)
        broadcast(lr, cq_live_redis_warning(connected), CQ_ROLE_HOST);
}

/* ---- game events ---------------------------------------------------------- */

static void send_results(struct cq_live_room *lr)
{
    for (unsigned i = 0; i < lr->n_conns; i++) {
        struct cq_conn *c = lr->conns[i];
        if (c->role == CQ_ROLE_PLAYER && c->player)
            cq_conn_send(c, cq_wire_result(lr->room, c->player));
    }
}

static void send_summaries(struct cq_live_room *lr)
{
    for (unsigned i = 0; i < lr->n_conns; i++) {
        struct cq_conn *c = lr->conns[i];
        if (c->role == CQ_ROLE_PLAYER && c->player)
            cq_conn_send(c, cq_wire_summary(lr->room, c->player));
    }
}

static json_t *timing_msg(struct cq_live_room *lr, const char *type)
{
    return cq_wire_timing(lr->room, type, cq_net_now_us());
}

/* The full screen for a (re)joining connection. */
static json_t *state_msg(struct cq_live_room *lr, unsigned role, const struct cq_player *p)
{
    return cq_wire_state(lr->room, lr->game_id, role, p, cq_net_now_us());
}

/* The host's and spectators' full screen, encoded once per change of the
 * game and shared by every screen that asks (cache.c). */
static void send_screen_state(struct cq_conn *c, struct cq_live_room *lr)
{
    struct cq_buf *b = cq_cache_state_get(lr);
    if (!b)
        b = cq_cache_state_put(lr, state_msg(lr, CQ_ROLE_SPECTATOR, NULL));
    if (b)
        cq_conn_push(c, b);
    else
        cq_conn_error(c, NULL, CQ_ENOMEM, NULL, NULL);
}

static void on_event(void *ud, struct cq_room *room, const struct cq_event *ev)
{
    struct cq_live_room *lr = ud;
    struct cq_player *p = ev->player;
    (void)room;
    cq_cache_state_drop(lr); /* the screens' state changed */

    switch (ev->type) {
    case CQ_EV_PLAYER_JOINED:
        json_array_append_new(lr->pending_joined, cq_wire_player(p));
        arm_flush(lr);
        break;
    case CQ_EV_PLAYER_LEFT:
        json_array_append_new(lr->pending_left, json_pack("{s:I, s:b}", "id", (json_int_t)p->id,
                                                          "kicked", p->kicked));
        if (p->kicked && p->conn) {
            struct cq_conn *c = p->conn;
            /* Closing first: a closing connection is not idle (addr.h). */
            cq_conn_close_after(c, LWS_CLOSE_STATUS_NORMAL, "kicked");
            room_detach(c);
            cq_conn_send(c, json_pack("{s:s, s:s, s:s}", "type", "kicked", "code", "kicked",
                                      "message", cq_err_message(CQ_EKICKED)));
        }
        arm_flush(lr);
        break;
    case CQ_EV_PLAYER_STATUS:
        json_array_append_new(lr->pending_status, json_pack("{s:I, s:b}", "id", (json_int_t)p->id,
                                                            "connected", p->connected));
        arm_flush(lr);
        break;
    case CQ_EV_LOCKED:
        broadcast(lr, json_pack("{s:s, s:b}", "type", "locked", "locked", cq_room_locked(lr->room)),
                  CQ_ROLE_ANY);
        break;
    case CQ_EV_QUESTION:
        /* The roster goes out first. Answers counted so far were for the
         * question before (a skip): no `progress` or `unanswered` for the
         * new one precedes it, and the armed timer keeps the 200 ms pace. */
        lr->progress_dirty = false;
        flush_lobby(lr);
        broadcast(lr, cq_wire_question(lr->room, cq_net_now_us()), CQ_ROLE_ANY);
        broadcast(lr, cq_wire_unanswered(lr->room, CQ_UNANSWERED_MAX), CQ_ROLE_HOST);
        break;
    case CQ_EV_PROGRESS:
        lr->net->m.answers++;
        lr->progress_dirty = true;
        arm_flush(lr);
        break;
    case CQ_EV_PAUSED:
        broadcast(lr, timing_msg(lr, "paused"), CQ_ROLE_ANY);
        break;
    case CQ_EV_RESUMED:
        broadcast(lr, timing_msg(lr, "resumed"), CQ_ROLE_ANY);
        break;
    case CQ_EV_TIME_ADDED:
        broadcast(lr, timing_msg(lr, "time_added"), CQ_ROLE_ANY);
        break;
    case CQ_EV_REVEAL:
        lr->progress_dirty = false;
        broadcast(lr, cq_wire_reveal(lr->room), CQ_ROLE_ANY);
        send_results(lr);
        store_board(lr);
        break;
    case CQ_EV_LEADERBOARD:
        broadcast(lr, cq_wire_leaderboard(lr->room, CQ_WIRE_TOP), CQ_ROLE_ANY);
        break;
    case CQ_EV_ENDED: {
        flush_updates(lr);
        /* Announced by room_after, once the input that ended the game is
         * logged (inputs are told after their events), and held until
         * stored: a podium seen is a podium kept. */
        json_decref(lr->ended_msg);
        lr->ended_msg = cq_wire_ended(lr->room, lr->game_id);
        store_final(lr, cq_room_host_token(lr->room));
        /* An ended game no longer counts against its address's live games:
         * it only waits (--ended-ttl) for late readers of the results. */
        cq_addr_game_end(lr->net->addrs, lr->owner);
        lr->owner = NULL;
        break;
    }
    case CQ_EV_EXPIRED:
        lr->expired = true;
        break;
    }
}

static bool on_blocked(void *ud, const char *nickname)
{
    struct cq_live_room *lr = ud;
    const struct cq_wordlist *wl = lr->net->deps.blocked;
    return wl && cq_wordlist_blocks(wl, nickname);
}

/* Every input goes to the game's log (replay.h), so a server killed at any
 * point resumes from what it had done. Entries made in one loop iteration
 * leave together, in one RPUSH, when the iteration ends (net.c's uv_check):
 * a question's 10,000 answers are a few hundred Redis commands, not 10,000,
 * and a few hundred journal entries while Redis is away. */
#define LOG_BATCH_MAX 4096 /* entries; a fuller batch leaves at once */

static void on_log_check(uv_check_t *h)
{
    cq_live_log_flush(h->data);
}

static void log_send(struct cq_live_room *lr)
{
    struct cq_store *st = lr->net->deps.store;
    if (lr->log_n && st)
        cq_store_log_append(st, lr->game_id, (const char *const *)lr->log_e, lr->log_len, lr->log_n,
                            lr->log_ttl ? (unsigned)lr->net->deps.cfg->results_ttl_s : 0,
                            lr->log_seq - 1);
    for (size_t i = 0; i < lr->log_n; i++)
        free(lr->log_e[i]);
    lr->log_n = 0;
    lr->log_ttl = false;
}

void cq_live_log_flush(struct cq_net *net)
{
    while (net->log_dirty) {
        struct cq_live_room *lr = net->log_dirty;
        net->log_dirty = lr->log_next;
        lr->log_queued = false;
        log_send(lr);
    }
    uv_check_stop(&net->log_check);
}

/* Sends this room's entries now and takes it off the dirty list. */
static void log_flush_room(struct cq_live_room *lr)
{
    for (struct cq_live_room **pp = &lr->net->log_dirty; *pp; pp = &(*pp)->log_next)
        if (*pp == lr) {
            *pp = lr->log_next;
            break;
        }
    lr->log_queued = false;
    log_send(lr);
}

static void log_add(struct cq_live_room *lr, char *e, size_t len, bool ttl)
{
    if (lr->log_n == lr->log_cap) {
        size_t ncap = lr->log_cap ? lr->log_cap * 2 : 16;
        char **ne = realloc(lr->log_e, ncap * sizeof *ne);
        if (ne)
            lr->log_e = ne;
        size_t *nl = ne ? realloc(lr->log_len, ncap * sizeof *nl) : NULL;
        if (nl)
            lr->log_len = nl;
        if (!ne || !nl) {
            free(e);
            cq_err_log("game %s: out of memory, its log is broken and it cannot be resumed",
                       lr->game_id);
            return;
        }
        lr->log_cap = ncap;
    }
    lr->log_e[lr->log_n] = e;
    lr->log_len[lr->log_n++] = len;
    lr->log_ttl |= ttl;
    if (!lr->log_queued) {
        lr->log_queued = true;
        lr->log_next = lr->net->log_dirty;
        lr->net->log_dirty = lr;
        uv_check_start(&lr->net->log_check, on_log_check);
    }
    if (lr->log_n >= LOG_BATCH_MAX)
        log_flush_room(lr);
}

static void on_input(void *ud, struct cq_room *room, const struct cq_input *in)
{
    struct cq_live_room *lr = ud;
    size_t len;
    (void)room;
    cq_cache_state_drop(lr);
    if (!lr->net->deps.store)
        return;
    char *e = cq_replay_encode(lr->log_seq++, in, &len);
    if (!e) {
        cq_err_log("game %s: out of memory, its log is broken and it cannot be resumed",
                   lr->game_id);
        return;
    }
    /* Inputs that move the game on (not a player's own) renew the log's TTL. */
    bool player = in->type == CQ_IN_JOIN || in->type == CQ_IN_REJOIN ||
                  in->type == CQ_IN_DISCONNECT || in->type == CQ_IN_LEAVE ||
                  in->type == CQ_IN_SHOWN || in->type == CQ_IN_ANSWER;
    log_add(lr, e, len, !player);
}

static const struct cq_room_hooks room_hooks = {on_event, on_blocked, on_input};

/* ---- timers -------------------------------------------------------------- */

static void tick_cb(lws_sorted_usec_list_t *sul)
{
    struct cq_live_room *lr = lws_container_of(sul, struct cq_live_room, tick_sul);
    lr->tick_at = INT64_MAX;
    cq_room_tick(lr->room, cq_net_now_us());
    room_after(lr);
}

/* After any call into the game: announce its end, follow its next deadline,
 * or free it. */
static void room_after(struct cq_live_room *lr)
{
    if (lr->ended_msg) {
        json_t *ended = lr->ended_msg;
        lr->ended_msg = NULL;
        for (unsigned i = 0; i < lr->n_conns; i++)
            hold(lr, lr->conns[i]);
        broadcast(lr, ended, CQ_ROLE_ANY);
        send_summaries(lr);
    }
    if (lr->expired) {
        cq_info("game %s closed", cq_room_pin(lr->room));
        log_flush_room(lr);
        if (lr->net->deps.store)
            cq_store_live_remove(lr->net->deps.store, lr->game_id);
        live_room_free(lr);
        return;
    }
    int64_t at = cq_room_next_deadline(lr->room);
    /* Most calls (an answer, a join) leave the deadline where it was: lws'
     * timer list is sorted by walking it, so re-arming costs O(timers). */
    if (at == lr->tick_at)
        return;
    lr->tick_at = at;
    if (at == INT64_MAX) {
        lws_sul_cancel(&lr->tick_sul);
        return;
    }
    int64_t in = at - cq_net_now_us();
    lws_sul_schedule(lr->net->ctx, 0, &lr->tick_sul, tick_cb, in > 0 ? in : 0);
}

/* ---- handlers ---------------------------------------------------------------- */

/* The game's log holds --max-log-entries entries: joins and the host's
 * repeatable commands (pause, add_time, lock) are refused from then on.
 * Answers never are, nor what takes the game to its end (start, next, skip,
 * end, resume), kicks (one per player), or players' drops and rejoins: a
 * log past the cap grows only by what the players already in can do. */
static bool log_full(const struct cq_live_room *lr)
{
    return lr->log_seq > lr->net->deps.cfg->max_log_entries;
}

/* While Redis is away the store's journal fills. A tenth of it is kept for
 * what the games do by themselves (timers, drops, rejoins); past that,
 * requests that would change a game are refused and change nothing
 * (`storage_full`): an input the journal would have to drop could never be
 * acknowledged, and would leave its game's log with a gap. */
static bool storage_full(const struct cq_net *net)
{
    const struct cq_store *st = net->deps.store;
    unsigned max = net->deps.cfg->journal_max;
    return st && cq_store_journal_room(st) <= (max / 10 > 10 ? max / 10 : 10);
}

static void reply_ok(struct cq_conn *c, const struct cq_msg *m)
{
    json_t *o = json_pack("{s:s, s:s}", "type", "ok", "of", cq_msg_name(m->type));
    if (m->req_id)
        json_object_set(o, "id", m->req_id);
    cq_conn_send(c, o);
}

static json_t *with_id(json_t *o, const struct cq_msg *m)
{
    if (o && m->req_id)
        json_object_set(o, "id", m->req_id);
    return o;
}

/* The log's first entry, and the game's place in the set read at start-up. */
static void log_create(struct cq_live_room *lr, const struct cq_bank *bank, const unsigned *qidx,
                       unsigned n, const struct cq_room_settings *set, const char *pin,
                       const char *token, uint64_t seed)
{
    struct cq_store *st = lr->net->deps.store;
    struct cq_replay_game g = {.created_unix = lr->created_unix};
    size_t len;
    if (!st)
        return;
    snprintf(g.game_id, sizeof g.game_id, "%s", lr->game_id);
    snprintf(g.group_digest, sizeof g.group_digest, "%s", lr->group_digest);
    snprintf(g.watch_token, sizeof g.watch_token, "%s", lr->watch_token);
    snprintf(g.join_secret, sizeof g.join_secret, "%s", lr->join_secret);
    char *e =
        cq_replay_encode_create(&g, bank, qidx, n, set, pin, token, seed, lr->created_at, &len);
    if (!e) {
        cq_err_log("game %s: out of memory, it cannot be resumed after a restart", lr->game_id);
        return;
    }
    const char *entries[] = {e};
    cq_store_live_add(st, lr->game_id);
    cq_store_log_append(st, lr->game_id, entries, &len, 1,
                        (unsigned)lr->net->deps.cfg->results_ttl_s, 0);
    free(e);
}

static const struct cq_bank *find_bank(void *ud, const char *id)
{
    struct cq_net *net = ud;
    return cq_bankset_find(net->deps.banks, id);
}

bool cq_live_restore(struct cq_net *net, const char *game_id, const char *const *entries,
                     const size_t *lens, size_t n)
{
    struct cq_replay_result r;
    char err[256];
    int rc = cq_replay_room(entries, lens, n, find_bank, net, &r, err, sizeof err);
    if (rc) {
        cq_err_log("game %s cannot be resumed: %s", game_id, err);
        return false;
    }
    if (cq_room_expired(r.room) || strcmp(r.game.game_id, game_id) ||
        room_by_pin(net, cq_room_pin(r.room))) {
        cq_info("game %s is over; not resumed", game_id);
        cq_room_free(r.room);
        return false;
    }
    /* A lobby nobody joined whose time ran out while the server was down
     * (by the wall clock: the downtime counts here) is not brought back. */
    int64_t empty_us = cq_room_settings(r.room)->empty_lobby_us;
    if (cq_room_never_joined(r.room) && empty_us &&
        ((long long)time(NULL) - r.game.created_unix) * 1000000LL >= empty_us) {
        cq_info("game %s: nobody joined within the empty-lobby timeout; not resumed", game_id);
        cq_room_free(r.room);
        return false;
    }
    struct cq_live_room *lr = live_room_new(net);
    if (!lr) {
        cq_err_log("game %s cannot be resumed: out of memory", game_id);
        cq_room_free(r.room);
        return false;
    }
    lr->room = r.room;
    lr->log_seq = r.next_seq;
    lr->log_stored = r.next_seq; /* read back from Redis */
    lr->created_unix = r.game.created_unix;
    snprintf(lr->game_id, sizeof lr->game_id, "%s", r.game.game_id);
    snprintf(lr->group_digest, sizeof lr->group_digest, "%s", r.game.group_digest);
    /* A log from before watch tokens: a new one, given to the host on rejoin. */
    if (r.game.watch_token[0])
        snprintf(lr->watch_token, sizeof lr->watch_token, "%s", r.game.watch_token);
    else if (cq_rand_token(lr->watch_token, sizeof lr->watch_token)) {
        cq_err_log("game %s cannot be resumed: no random source", game_id);
        live_room_discard(lr);
        return false;
    }
    snprintf(lr->join_secret, sizeof lr->join_secret, "%s", r.game.join_secret);
    cq_room_set_hooks(lr->room, &room_hooks, lr);
    /* The time the server was down does not count, and the time it ran
     * does: the game's clock goes on from the previous server's last
     * heartbeat (at most a second before it stopped), or, without one that
     * follows this log's last input, from that input. Everyone is away
     * until they rejoin. */
    int64_t now = cq_net_now_us(), from = r.last_now;
    if (net->last_alive_us > from && net->last_alive_us - from < ALIVE_TRUSTED_US)
        from = net->last_alive_us;
    cq_room_shift(lr->room, now - from);
    unsigned np;
    struct cq_player *const *players = cq_room_players(lr->room, &np);
    for (unsigned i = 0; i < np; i++)
        if (players[i])
            cq_room_disconnect(lr->room, players[i], now);
    live_room_link(lr);
    /* Writes the dead server may not have made are made again (idempotent). */
    enum cq_phase ph = cq_room_phase(lr->room);
    if (ph == CQ_PHASE_REVEAL || ph == CQ_PHASE_LEADERBOARD)
        store_board(lr);
    else if (ph == CQ_PHASE_ENDED)
        store_final(lr, cq_room_host_token(lr->room));
    cq_info("game %s resumed: %s, question %d of %u, %u players", lr->game_id, cq_phase_name(ph),
            cq_room_current(lr->room) + 1, cq_room_n_questions(lr->room),
            cq_room_n_players(lr->room));
    room_after(lr);
    return true;
}

/* `joined` for the host: the watch token for the projector link, the join
 * secret (for the link and QR code) when the game has one, and the group
 * secret when this game created its group. */
static json_t *host_joined(const struct cq_live_room *lr, const struct cq_msg *m, const char *token,
                           const char *group_secret)
{
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s*}", "type", "joined", "role", "host", "pin",
                  cq_room_pin(lr->room), "token", token, "game_id", lr->game_id, "watch_token",
                  lr->watch_token, "secret", lr->join_secret[0] ? lr->join_secret : NULL);
    if (j && group_secret)
        json_object_set_new(j, "group_secret", json_string(group_secret));
    cq_join_urls_add(j, lr->net);
    return with_id(j, m);
}

void cq_live_create_game(struct cq_conn *c, const struct cq_msg *m, const char *group_digest,
                         const char *group_secret)
{
    struct cq_net *net = c->net;
    const struct cq_config *cfg = net->deps.cfg;
    const struct cq_bank *bank = cq_bankset_find(net->deps.banks, m->bank);
    struct cq_room_settings set;
    char pin[CQ_PIN_DIGITS + 1], token[CQ_TOKEN_MAX + 1], token_key[CQ_SECRET_DIGEST_LEN + 1];
    unsigned *qidx = NULL;
    struct cq_live_room *lr = NULL;
    struct cq_addr *owner = NULL;
    int result;

    if (!bank) {
        cq_conn_error(c, m->req_id, CQ_ENO_BANK, "bank", NULL);
        return;
    }
    if (storage_full(net)) {
        cq_conn_error(c, m->req_id, CQ_ESTORAGE_FULL, NULL, NULL);
        return;
    }
    if (net->n_rooms >= cfg->max_games || net->stopping) {
        cq_conn_error(c, m->req_id, net->stopping ? CQ_ESERVER_BUSY : CQ_ESERVER_FULL, NULL, NULL);
        return;
    }
    /* One address cannot fill the server: its live games and its games per
     * minute are bounded (--games-per-ip, --games-per-min). */
    result = cq_addr_game_start(net->addrs, c->addr, cq_net_now_us());
    if (result) {
        net->m.refused_games++;
        cq_info("ws: %s refused a new game: %s", c->peer, cq_err_code(result));
        cq_conn_error(c, m->req_id, result, NULL, NULL);
        return;
    }
    owner = c->addr;
    result = CQ_ENOMEM;
    qidx = malloc(bank->n_questions * sizeof *qidx);
    lr = live_room_new(net);
    if (!qidx || !lr)
        goto out;
    unsigned n = cq_room_select(bank, m->tags, m->n_tags, (unsigned)m->count, m->shuffle,
                                cq_rand_u64(), qidx);
    if (!n) {
        result = CQ_ENO_QUESTIONS;
        goto out;
    }
    cq_room_settings_default(&set);
    set.rules.preset = m->scoring;
    set.rules.streak = m->streak;
    set.rules.partial_credit = m->partial_credit;
    set.auto_advance = m->auto_advance;
    set.late_join = (m->present & CQ_F(LATE_JOIN)) ? m->late_join : true;
    set.change_answer = m->change_answer;
    set.time_limit_s = m->time_limit;
    set.lead_in_s = m->lead_in;
    set.max_players =
        (m->present & CQ_F(MAX_PLAYERS)) ? (unsigned)m->max_players : cfg->limits.max_players;
    set.nickname_max = cfg->limits.nickname_max;
    set.max_show_delay_us = (int64_t)cfg->max_show_delay_ms * 1000;
    set.reveal_us = (int64_t)cfg->reveal_ms * 1000;
    set.leaderboard_us = (int64_t)cfg->leaderboard_ms * 1000;
    set.rejoin_grace_us = (int64_t)cfg->rejoin_grace_s * 1000000;
    set.ended_ttl_us = (int64_t)cfg->ended_ttl_s * 1000000;
    set.empty_lobby_us = (int64_t)cfg->empty_lobby_timeout_s * 1000000;
    snprintf(set.group, sizeof set.group, "%s", m->group);
    do {
        if (cq_rand_pin(pin)) {
            result = CQ_EINTERNAL;
            goto out;
        }
    } while (room_by_pin(net, pin));
    if (cq_rand_token(token, sizeof token) ||
        cq_rand_token(lr->watch_token, sizeof lr->watch_token)) {
        result = CQ_EINTERNAL;
        goto out;
    }
    /* The room, its log and its record keep the token's digest only. */
    cq_secret_digest(token, token_key);
    if (m->join_secret || cfg->require_join_secret) {
        /* 132 random bits, for the join link and QR code beside the PIN. */
        char secret[CQ_TOKEN_MAX + 1];
        if (cq_rand_token(secret, sizeof secret)) {
            result = CQ_EINTERNAL;
            goto out;
        }
        snprintf(lr->join_secret, sizeof lr->join_secret, "%.*s", CQ_JOIN_SECRET_LEN, secret);
    }
    lr->created_unix = (long long)time(NULL);
    snprintf(lr->game_id, sizeof lr->game_id, "%s-%lld", pin, lr->created_unix);
    snprintf(lr->group_digest, sizeof lr->group_digest, "%s", group_digest);
    uint64_t seed = cq_rand_u64();
    lr->room =
        cq_room_create(bank, qidx, n, &set, pin, token_key, seed, lr->created_at, &room_hooks, lr);
    if (!lr->room)
        goto out;
    result = room_attach(lr, c, CQ_ROLE_HOST, NULL);
    if (result)
        goto out;
    lr->owner = owner;
    owner = NULL;
    live_room_link(lr);
    net->m.games_created++;
    log_create(lr, bank, qidx, n, &set, pin, token_key, seed);
    cq_info("game %s created from bank %s (%u questions)", pin, bank->id, n);
    hold(lr, c); /* a PIN given out is a game that survives a restart */
    cq_conn_send(c, host_joined(lr, m, token, group_secret));
    cq_conn_send(c, state_msg(lr, CQ_ROLE_HOST, NULL));
    room_after(lr);
    lr = NULL;
    result = 0;
out:
    cq_addr_game_end(net->addrs, owner); /* not created after all */
    live_room_discard(lr);
    free(qidx);
    if (result)
        cq_conn_error(c, m->req_id, result, result == CQ_ENO_QUESTIONS ? "tags" : NULL, NULL);
}

/* `token`: the player's token, which only the client and this message hold
 * (the room has its digest). */
static void welcome_player(struct cq_conn *c, const struct cq_msg *m, struct cq_player *p,
                           const char *token)
{
    struct cq_live_room *lr = c->lr;
    cq_conn_send(c,
                 with_id(json_pack("{s:s, s:s, s:s, s:s, s:{s:I, s:s}}", "type", "joined", "role",
                                   "player", "pin", cq_room_pin(lr->room), "token", token, "player",
                                   "id", (json_int_t)p->id, "nickname", p->nickname),
                         m));
    cq_conn_send(c, state_msg(lr, CQ_ROLE_PLAYER, p));
}

/* Whether `m` carries the game's join secret (any message does when the
 * game has none). Compared in constant time: the secret is what keeps a
 * guessed PIN from being enough. */
static bool secret_ok(const struct cq_live_room *lr, const struct cq_msg *m)
{
    if (!lr->join_secret[0])
        return true;
    const char *s = m->secret ? m->secret : "";
    size_t n = strlen(lr->join_secret), sl = strlen(s);
    unsigned char diff = (unsigned char)(sl != n);
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(lr->join_secret[i] ^ (i < sl ? s[i] : 0));
    return !diff;
}

/* Finds the live game for a PIN (and its join secret when `need_secret`);
 * NULL after the answer has been sent. Every attempt is checked: a correct
 * one is served at once, whatever others from the same address did, and
 * takes nothing from any budget. A wrong one (no game, or the secret missing
 * or wrong, answered alike so that it says nothing about the PIN) goes
 * through cq_conn_wrong_guess: counted, and delayed past the budgets. */
static struct cq_live_room *room_for(struct cq_conn *c, const struct cq_msg *m, bool need_secret)
{
    struct cq_live_room *lr = room_by_pin(c->net, m->pin);
    if (lr && (!need_secret || secret_ok(lr, m)))
        return lr;
    cq_conn_wrong_guess(c, lr ? "a wrong join secret" : "a PIN with no game",
                        cq_proto_error_msg(m->req_id, CQ_ENO_GAME, "pin", NULL));
    return NULL;
}

static void handle_join(struct cq_conn *c, const struct cq_msg *m)
{
    char token[CQ_TOKEN_MAX + 1], token_key[CQ_SECRET_DIGEST_LEN + 1];
    struct cq_player *p;
    /* No per-address join limit: it would refuse a class behind one NAT
     * address. Bots that have the PIN are bounded by the game's max_players,
     * the host's lock and kick, and the per-connection message rate. */
    struct cq_live_room *lr = room_for(c, m, true);
    if (!lr)
        return;
    if (log_full(lr) || storage_full(c->net)) {
        cq_conn_error(c, m->req_id, log_full(lr) ? CQ_ELOG_FULL : CQ_ESTORAGE_FULL, NULL, NULL);
        return;
    }
    if (cq_rand_token(token, sizeof token)) {
        cq_conn_error(c, m->req_id, CQ_EINTERNAL, NULL, NULL);
        return;
    }
    char why[CQ_NICK_WHY_MAX];
    cq_secret_digest(token, token_key);
    int r =
        cq_room_join_why(lr->room, m->nickname, token_key, cq_net_now_us(), &p, why, sizeof why);
    if (!r && (r = room_attach(lr, c, CQ_ROLE_PLAYER, p)))
        cq_room_leave(lr->room, p, cq_net_now_us());
    if (r) {
        cq_conn_error(c, m->req_id, r,
                      r == CQ_ENICKNAME_INVALID || r == CQ_ENICKNAME_TAKEN ||
                              r == CQ_ENICKNAME_REJECTED
                          ? "nickname"
                          : NULL,
                      why);
        room_after(lr);
        return;
    }
    hold(lr, c);
    welcome_player(c, m, p, token);
    room_after(lr);
}

static void handle_watch(struct cq_conn *c, const struct cq_msg *m)
{
    /* The watch token (192 random bits, the host's link only) is the proof:
     * no join secret needed, as for rejoin. */
    struct cq_live_room *lr = room_for(c, m, false);
    if (!lr)
        return;
    /* The whole game (every name, the live counts) is for the host's
     * screens only: the PIN every player knows is not enough. */
    if (!cq_text_secret_equal(lr->watch_token, m->token)) {
        cq_conn_wrong_guess(c, "a wrong watch token",
                            cq_proto_error_msg(m->req_id, CQ_EBAD_TOKEN, "token", NULL));
        return;
    }
    if (room_attach(lr, c, CQ_ROLE_SPECTATOR, NULL)) {
        cq_conn_error(c, m->req_id, CQ_ENOMEM, NULL, NULL);
        return;
    }
    /* The projector shows the join link and QR code: with the secret. */
    json_t *j = json_pack("{s:s, s:s, s:s, s:s*}", "type", "joined", "role", "spectator", "pin",
                          m->pin, "secret", lr->join_secret[0] ? lr->join_secret : NULL);
    cq_join_urls_add(j, lr->net);
    cq_conn_send(c, with_id(j, m));
    send_screen_state(c, lr);
}

static void handle_rejoin(struct cq_conn *c, const struct cq_msg *m)
{
    /* The token (128 random bits) is the proof: no join secret needed. */
    struct cq_live_room *lr = room_for(c, m, false);
    struct cq_player *p;
    char key[CQ_SECRET_DIGEST_LEN + 1];
    if (!lr)
        return;
    cq_secret_digest(m->token, key);
    if (cq_room_is_host_token(lr->room, key)) {
        if (lr->n_hosts >= c->net->deps.cfg->max_hosts_per_game) {
            cq_conn_error(c, m->req_id, CQ_ETOO_MANY_HOSTS, NULL, NULL);
            return;
        }
        if (room_attach(lr, c, CQ_ROLE_HOST, NULL)) {
            cq_conn_error(c, m->req_id, CQ_ENOMEM, NULL, NULL);
            return;
        }
        cq_conn_send(c, host_joined(lr, m, m->token, NULL));
        send_screen_state(c, lr);
        if (cq_room_phase(lr->room) == CQ_PHASE_QUESTION) /* the presenter's list */
            cq_conn_send(c, cq_wire_unanswered(lr->room, CQ_UNANSWERED_MAX));
        if (c->net->deps.store && !cq_store_connected(c->net->deps.store))
            cq_conn_send(c, cq_live_redis_warning(false));
        return;
    }
    int r = cq_room_rejoin(lr->room, key, cq_net_now_us(), &p);
    if (r == CQ_EBAD_TOKEN) {
        /* Token guessing: a wrong guess like a wrong PIN. */
        cq_conn_wrong_guess(c, "a token that is no seat",
                            cq_proto_error_msg(m->req_id, r, "token", NULL));
        return;
    }
    if (r) {
        cq_conn_error(c, m->req_id, r, "token", NULL);
        return;
    }
    if (p->conn) {
        /* The same player from a new tab or network: the old link goes. */
        struct cq_conn *old = p->conn;
        cq_conn_close_after(old, LWS_CLOSE_STATUS_NORMAL, "replaced by a newer connection");
        room_detach(old);
        cq_conn_send(old, json_pack("{s:s}", "type", "replaced"));
    }
    if (room_attach(lr, c, CQ_ROLE_PLAYER, p)) {
        cq_conn_error(c, m->req_id, CQ_ENOMEM, NULL, NULL);
        return;
    }
    hold(lr, c);
    welcome_player(c, m, p, m->token);
    room_after(lr);
}

static void handle_leave(struct cq_conn *c, const struct cq_msg *m)
{
    struct cq_live_room *lr = c->lr;
    struct cq_player *p = c->player;
    room_detach(c);
    if (p)
        cq_room_leave(lr->room, p, cq_net_now_us());
    hold(lr, c);
    reply_ok(c, m);
    room_after(lr);
}

static void handle_answer(struct cq_conn *c, const struct cq_msg *m)
{
    struct cq_live_room *lr = c->lr;
    int64_t t = 0;
    /* At the log's cap a first answer is still taken (no answer is ever
     * lost), a changed one is not: with change_answer on, changes could
     * otherwise grow the log without bound. */
    if (log_full(lr) && m->question >= 0 && (unsigned)m->question < cq_room_n_questions(lr->room) &&
        c->player->answers[m->question].answered) {
        cq_conn_error(c, m->req_id, CQ_ELOG_FULL, NULL, NULL);
        return;
    }
    if (storage_full(c->net)) {
        cq_conn_error(c, m->req_id, CQ_ESTORAGE_FULL, NULL, NULL);
        return;
    }
    int r = cq_room_answer(lr->room, c->player, m->question, &m->answer, cq_net_now_us(), &t);
    if (r) {
        cq_conn_error(c, m->req_id, r, r == CQ_EBAD_ANSWER ? "answer" : "question", NULL);
    } else {
        hold(lr, c); /* acknowledged once stored: no answer is ever lost */
        cq_conn_send_answer_ack(c,
                                with_id(json_pack("{s:s, s:i, s:I}", "type", "answer_ack", "index",
                                                  m->question, "time_ms", (json_int_t)(t / 1000)),
                                        m));
    }
    room_after(lr);
}

static void handle_host(struct cq_conn *c, const struct cq_msg *m)
{
    struct cq_live_room *lr = c->lr;
    int64_t now = cq_net_now_us();
    int r;
    if (storage_full(c->net)) {
        cq_conn_error(c, m->req_id, CQ_ESTORAGE_FULL, NULL, NULL);
        return;
    }
    /* At the log's cap, only what the game needs to go on to its end. */
    if ((m->type == CQ_MSG_PAUSE || m->type == CQ_MSG_ADD_TIME || m->type == CQ_MSG_LOCK) &&
        log_full(lr)) {
        cq_conn_error(c, m->req_id, CQ_ELOG_FULL, NULL, NULL);
        return;
    }
    switch (m->type) {
    case CQ_MSG_START:
        r = cq_room_start(lr->room, now);
        break;
    case CQ_MSG_NEXT:
        r = cq_room_next(lr->room, now);
        break;
    case CQ_MSG_SKIP:
        r = cq_room_skip(lr->room, now);
        break;
    case CQ_MSG_PAUSE:
        r = cq_room_pause(lr->room, now);
        break;
    case CQ_MSG_RESUME:
        r = cq_room_resume(lr->room, now);
        break;
    case CQ_MSG_ADD_TIME:
        r = cq_room_add_time(lr->room, m->seconds, now);
        break;
    case CQ_MSG_END:
        r = cq_room_end(lr->room, now);
        break;
    case CQ_MSG_KICK:
        r = cq_room_kick(lr->room, (uint32_t)m->player, now);
        break;
    case CQ_MSG_LOCK:
        r = cq_room_lock(lr->room, m->locked, now);
        break;
    default:
        r = CQ_EINTERNAL;
        break;
    }
    if (r) {
        cq_conn_error(c, m->req_id, r, m->type == CQ_MSG_KICK ? "player" : NULL, NULL);
    } else {
        hold(lr, c); /* confirmed once stored */
        reply_ok(c, m);
    }
    room_after(lr);
}

void cq_live_handle(struct cq_conn *c, struct cq_msg *m)
{
    switch (m->type) {
    case CQ_MSG_PING:
        cq_conn_send(c, with_id(json_pack("{s:s}", "type", "pong"), m));
        break;
    case CQ_MSG_LIST_BANKS:
        cq_cache_send_banks(c, m->req_id);
        break;
    case CQ_MSG_CREATE_GAME:
        cq_group_create(c, m);
        break;
    case CQ_MSG_JOIN:
        handle_join(c, m);
        break;
    case CQ_MSG_WATCH:
        handle_watch(c, m);
        break;
    case CQ_MSG_REJOIN:
        handle_rejoin(c, m);
        break;
    case CQ_MSG_LEAVE:
        handle_leave(c, m);
        break;
    case CQ_MSG_SHOWN: {
        if (storage_full(c->net))
            break; /* as if it never came: the answer carries no display delay */
        int r = cq_room_shown(c->lr->room, c->player, m->question, cq_net_now_us());
        if (r)
            cq_conn_error(c, m->req_id, r, "question", NULL);
        break;
    }
    case CQ_MSG_ANSWER:
        handle_answer(c, m);
        break;
    default:
        handle_host(c, m);
        break;
    }
}

void cq_live_conn_gone(struct cq_conn *c)
{
    struct cq_live_room *lr = c->lr;
    struct cq_player *p = c->player;
    if (c->gate_room) {
        lws_dll2_remove(&c->gate_link);
        c->gate_room = NULL;
    }
    cq_group_conn_gone(c);
    if (!lr)
        return;
    room_detach(c);
    if (p)
        cq_room_disconnect(lr->room, p, cq_net_now_us());
    room_after(lr);
}

void cq_live_stop(struct cq_net *net)
{
    while (net->rooms)
        live_room_free(net->rooms);
}

unsigned cq_live_players(const struct cq_net *net)
{
    unsigned n = 0;
    for (const struct cq_live_room *lr = net->rooms; lr; lr = lr->next)
        n += cq_room_n_players(lr->room);
    return n;
}
