/* session.c: the live games above the transport (session.h): message
 * handlers, room events, fan-out, the games' logs and records, restore,
 * and the replies encoded once and shared. Every handler calls the game and
 * lets the game's events decide what is broadcast. Time comes in with each
 * call (s->now); connections are reached through their ops table only, the
 * store through its own. */
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "nickname.h"
#include "rand.h"
#include "replay.h"
#include "secret.h"
#include "session.h"
#include "text.h"
#include "wire.h"

#define FLUSH_US 200000 /* lobby and progress updates, at most this often */
/* The end of a game builds every player's `summary` and record entry: at
 * 19,900 players and 10 questions, about 1.5 s of work. It is done in
 * slices of this many units a loop iteration, a player costing one unit
 * and one per question (measured: 5,000 players of 10 questions, 37 us a
 * summary and 24 us a record entry; 19,900 of one, 5.4 us a summary), so
 * about 30 ms a slice, and the end of a large game does not stall every
 * other game on the server (end_slice). */
#define END_SLICE_UNITS 10000
/* A heartbeat later than a game's last input by more than this is not taken
 * as the time its server last ran (another boot's clock, or another server). */
#define ALIVE_TRUSTED_US (86400LL * 1000000)
/* lobby and progress go to the screens that show the roster and the answer
 * count; players get the counts once per phase instead (in `state` and
 * `question`): 86 % of all messages at 10,000 players were these two. */
#define PROJECTORS (CQ_ROLE_HOST | CQ_ROLE_SPECTATOR)
/* While a question runs the screens' cached `state` ages (its countdown
 * moves): a copy older than this is encoded again. */
#define STATE_MAX_AGE_US 100000
/* Every input goes to the game's log (replay.h), so a server killed at any
 * point resumes from what it had done. Entries made in one loop iteration
 * leave together, in one write, when the iteration ends (deps.logs_pending):
 * a question's 10,000 answers are a few hundred Redis commands, not 10,000,
 * and a few hundred journal entries while Redis is away. */
#define LOG_BATCH_MAX   4096 /* entries; a fuller batch leaves at once */
#define CQ_CLOSE_NORMAL 1000 /* RFC 6455 */

/* The PINs of games that closed lately (--ended-ttl after their end, or an
 * abandoned lobby someone had joined): a join, rejoin or watch with one is
 * told `game_over`, and is no wrong guess. A phone that missed `ended`
 * comes back after its game closed, and a class behind one address must
 * neither spend its guess budget on that nor be told there is no such game.
 * A new game never takes one. Kept CQ_CLOSED_PIN_KEEP_S, the last
 * CQ_CLOSED_PINS_MAX of them (the oldest goes first); this server's memory
 * only, so a restart forgets them. */
#define CLOSED_PIN_KEEP_US ((int64_t)CQ_CLOSED_PIN_KEEP_S * 1000000)
#define PIN_SPACE          1000000u /* CQ_PIN_DIGITS decimal digits */

struct closed_pins {
    uint8_t *bits; /* PIN_SPACE bits: which PINs are in the ring */
    struct closed_pin {
        uint32_t pin;
        int64_t at; /* when it closed: the ring is in this order */
    } * ring;       /* CQ_CLOSED_PINS_MAX, allocated at the first close */
    unsigned head, n;
};

/* One live game: the room (the rules), who is connected to it, its log. */
struct cq_game {
    struct cq_game *next, *prev; /* s->games, once linked (game_link) */
    struct cq_game *pin_next;    /* s->by_pin's bucket */
    struct cq_game *id_next;     /* s->by_id's bucket */
    struct cq_session *s;
    struct cq_room *room;
    struct cq_session_conn **conns;
    unsigned n_conns, cap_conns;
    unsigned n_hosts;                   /* host connections, at most cfg->max_hosts_per_game */
    struct cq_addr *owner;              /* the address that created it (its games quota); NULL
                                           for a game resumed after a restart */
    char watch_token[CQ_TOKEN_MAX + 1]; /* `watch` needs it: the host's link */
    struct cq_buf *state_buf;           /* the host's and spectators' `state`, encoded once */
    int64_t state_at;                   /* when state_buf was encoded */
    int64_t tick_at;                    /* the room's next deadline; INT64_MAX: none */
    int64_t flush_at;                   /* coalesced lobby and progress updates; INT64_MAX: none */
    unsigned due_pos; /* 1 + its index in s->due while it has a deadline; 0: not there */
    bool progress_dirty, expired;
    json_t *pending_joined, *pending_left, *pending_status; /* host deltas */
    int64_t created_at;
    long long created_unix;
    char game_id[32]; /* "<pin>-<unix time>": unique over time, unlike the PIN */
    char group_digest[CQ_SECRET_DIGEST_LEN + 1]; /* of its group secret (secret.h), or "" */
    /* The game's join secret ("" when the host did not ask for one): `join`
     * and `watch` must carry it beside the PIN (the join link's `k`). */
    char join_secret[CQ_TOKEN_MAX + 1];
    uint64_t log_seq; /* number of the game's next log entry (replay.h) */
    /* Entries below this number are stored (cq_session_stored): an answer
     * is acknowledged, a host command confirmed, a join welcomed and the
     * end announced only once the entries they depend on are. */
    uint64_t log_stored;
    uint64_t log_gap;              /* the first entry the store dropped: log_stored stays below */
    struct cq_session_conn *gated; /* connections held for it (gate_next) */
    uint64_t reveal_need;          /* the last reveal waits for the entries below this */
    json_t *ended_msg;             /* `ended`, sent once its input is logged (game_after) */
    /* The end's work for every player, a slice a loop iteration (end_slice):
     * each player's `summary`, to the connections marked summary_due, from
     * player `summary_next` on; and the record's entries from player
     * `record_next` on, encoded into `record` (comma-separated), stored
     * with the boards once all are (record_finish). */
    bool summaries_due, record_due, record_failed;
    unsigned summary_next, record_next;
    long long record_ended; /* the record's `ended` (unix seconds) */
    struct cq_proto_buf record;
    /* Log entries made in this loop iteration, sent in one write after it. */
    char **log_e;
    size_t *log_len;
    size_t log_n, log_cap;
    bool log_ttl, log_queued;
    struct cq_game *log_next; /* in s->log_dirty */
    unsigned n_seated;        /* its connections as a player: its weight is this + 1 */
    /* Log writes made while the journal was past its half, in the session's
     * `half_n` (an older number counts as none): its part of the second
     * half (storage_full). */
    size_t half_writes;
    unsigned half_n;
};

struct cq_session {
    struct cq_session_deps deps;
    struct cq_game *games;
    unsigned n_games;
    unsigned n_seated; /* connections in a game as a player (storage_full) */
    unsigned n_ended;  /* games ended and not yet closed (they weigh nothing) */
    /* The journal past its half (journal_past_half): the times it went past
     * it so far, each game's writes counted anew each time. */
    unsigned half_n;
    bool past_half;
    /* The linked games by PIN and by id, chained through the games: a join,
     * a rejoin and every report of the store find their game without a walk
     * of all of them (--max-games: up to 100,000). As many buckets as games
     * made or more (index_reserve, game_new), so linking never allocates. */
    struct cq_game **by_pin, **by_id;
    unsigned n_buckets; /* a power of two */
    /* The games with a deadline (tick_at or flush_at), a binary min-heap by
     * the earlier of the two: a wake-up visits the games that are due, not
     * every live game (--max-games is 1,000 by default, and each game in a
     * question wakes the session every FLUSH_US). `due_batch` is the tick's
     * scratch list. Both hold room for every game made and not yet
     * discarded (`n_made`, game_new), linked or not, so that putting a game
     * in the heap never allocates and cannot fail. */
    struct cq_game **due, **due_batch;
    unsigned n_due, due_cap, n_made;
    bool stopping;
    bool in_tick;          /* cq_session_tick: the wake-up is computed once at its end */
    int64_t now;           /* the current call's time (monotonic µs) */
    long long unix_now;    /* the wall clock's seconds, for ids and records */
    int64_t wake_at;       /* the wake-up asked for; INT64_MAX: none */
    int64_t last_alive_us; /* the previous server's last heartbeat; -1: unknown */
    struct cq_game *log_dirty;
    struct closed_pins closed;
    struct cq_buf *banks_buf; /* the `banks` reply, encoded once */
    struct cq_session_metrics m;
};

static void game_after(struct cq_game *g);
static bool journal_past_half(struct cq_session *s, size_t room);
static void log_flush_game(struct cq_game *g);
static int due_reserve(struct cq_session *s);
static void due_update(struct cq_game *g);
static void due_remove(struct cq_game *g);

/* ---- built messages ---------------------------------------------------------- */

struct cq_buf *cq_buf_from_json(json_t *msg)
{
    size_t len;
    if (!msg)
        return NULL;
    char *raw = cq_proto_dump(msg, offsetof(struct cq_buf, data) + CQ_BUF_HEADROOM, &len);
    json_decref(msg);
    if (!raw)
        return NULL;
    /* The dump reserved room for the header and the headroom in front. */
    struct cq_buf *b = (struct cq_buf *)(void *)raw;
    b->refs = 0;
    b->len = len;
    b->answer_at = 0;
    return b;
}

struct cq_buf *cq_buf_from_bytes(const void *data, size_t len)
{
    struct cq_buf *b = malloc(offsetof(struct cq_buf, data) + CQ_BUF_HEADROOM + len + 1);
    if (!b)
        return NULL;
    b->refs = 0;
    b->len = len;
    b->answer_at = 0;
    memcpy(b->data + CQ_BUF_HEADROOM, data, len);
    b->data[CQ_BUF_HEADROOM + len] = '\0';
    return b;
}

void cq_buf_unref(struct cq_buf *b)
{
    if (b && --b->refs == 0)
        free(b);
}

/* Queues a buffer nobody else holds; frees it when it was not kept. */
static void push_own(struct cq_session_conn *sc, struct cq_buf *b)
{
    sc->ops->push(sc, b);
    if (!b->refs)
        free(b);
}

/* Sends one personal message (steals msg). */
static void send_msg(struct cq_session_conn *sc, json_t *msg)
{
    struct cq_buf *b = cq_buf_from_json(msg);
    if (b)
        push_own(sc, b);
}

static void send_error(struct cq_session_conn *sc, const json_t *req_id, int code,
                       const char *field, const char *detail)
{
    send_msg(sc, cq_proto_error_msg(req_id, code, field, detail));
}

/* ---- finding a game ------------------------------------------------------------ */

/* FNV-1a: PINs and ids are short, and no client chooses the keys stored. */
static unsigned key_hash(const char *k)
{
    uint32_t h = 2166136261u;
    for (; *k; k++)
        h = (h ^ (uint8_t)*k) * 16777619u;
    return h;
}

static struct cq_game *game_by_id(struct cq_session *s, const char *game_id)
{
    if (!s->n_buckets)
        return NULL;
    for (struct cq_game *g = s->by_id[key_hash(game_id) & (s->n_buckets - 1)]; g; g = g->id_next)
        if (!strcmp(g->game_id, game_id))
            return g;
    return NULL;
}

/* The live game with this PIN; one that expired and waits to close is not
 * found, and its PIN may be another game's already. */
static struct cq_game *game_by_pin(struct cq_session *s, const char *pin)
{
    if (!s->n_buckets)
        return NULL;
    for (struct cq_game *g = s->by_pin[key_hash(pin) & (s->n_buckets - 1)]; g; g = g->pin_next)
        if (!g->expired && !strcmp(cq_room_pin(g->room), pin))
            return g;
    return NULL;
}

static void index_add(struct cq_session *s, struct cq_game *g)
{
    unsigned mask = s->n_buckets - 1;
    struct cq_game **p = &s->by_pin[key_hash(cq_room_pin(g->room)) & mask];
    g->pin_next = *p;
    *p = g;
    struct cq_game **i = &s->by_id[key_hash(g->game_id) & mask];
    g->id_next = *i;
    *i = g;
}

static void index_remove(struct cq_session *s, struct cq_game *g)
{
    unsigned mask = s->n_buckets - 1;
    struct cq_game **p = &s->by_pin[key_hash(cq_room_pin(g->room)) & mask];
    while (*p != g)
        p = &(*p)->pin_next;
    *p = g->pin_next;
    struct cq_game **i = &s->by_id[key_hash(g->game_id) & mask];
    while (*i != g)
        i = &(*i)->id_next;
    *i = g->id_next;
}

/* Buckets for every game made (game_new), the linked ones moved over. */
static int index_reserve(struct cq_session *s)
{
    if (s->n_made < s->n_buckets)
        return 0;
    unsigned n = s->n_buckets ? s->n_buckets * 2 : 64;
    struct cq_game **by_pin = calloc(n, sizeof *by_pin);
    struct cq_game **by_id = calloc(n, sizeof *by_id);
    if (!by_pin || !by_id) {
        free(by_pin);
        free(by_id);
        return CQ_ENOMEM;
    }
    free(s->by_pin);
    free(s->by_id);
    s->by_pin = by_pin;
    s->by_id = by_id;
    s->n_buckets = n;
    for (struct cq_game *g = s->games; g; g = g->next)
        index_add(s, g);
    return 0;
}

/* ---- closed PINs ------------------------------------------------------------- */

/* The PIN's number; PIN_SPACE when it is not CQ_PIN_DIGITS digits. */
static uint32_t pin_number(const char *pin)
{
    uint32_t v = 0;
    unsigned i = 0;
    for (; i < CQ_PIN_DIGITS && pin[i] >= '0' && pin[i] <= '9'; i++)
        v = v * 10 + (uint32_t)(pin[i] - '0');
    return i == CQ_PIN_DIGITS && !pin[i] ? v : PIN_SPACE;
}

static void closed_bit(struct closed_pins *c, uint32_t v, bool on)
{
    uint8_t m = (uint8_t)(1u << (v % 8));
    c->bits[v / 8] = (uint8_t)(on ? c->bits[v / 8] | m : c->bits[v / 8] & ~m);
}

/* Forgets the oldest while there are more than `keep`, and those older than
 * CLOSED_PIN_KEEP_US. */
static void closed_trim(struct closed_pins *c, unsigned keep, int64_t now)
{
    while (c->n && (c->n > keep || c->ring[c->head].at + CLOSED_PIN_KEEP_US <= now)) {
        closed_bit(c, c->ring[c->head].pin, false);
        c->head = (c->head + 1) % CQ_CLOSED_PINS_MAX;
        c->n--;
    }
}

static bool pin_closed(struct cq_session *s, const char *pin)
{
    struct closed_pins *c = &s->closed;
    uint32_t v = pin_number(pin);
    if (!c->bits || v >= PIN_SPACE)
        return false;
    closed_trim(c, c->n, s->now);
    return c->bits[v / 8] & (1u << (v % 8));
}

/* A game closed: its PIN says `game_over` for a while. Out of memory, it
 * says `no_game` (a wrong guess), as before. */
static void pin_close(struct cq_session *s, const char *pin)
{
    struct closed_pins *c = &s->closed;
    uint32_t v = pin_number(pin);
    if (v >= PIN_SPACE)
        return;
    if (!c->bits) {
        c->bits = calloc(PIN_SPACE / 8, 1);
        c->ring = malloc(CQ_CLOSED_PINS_MAX * sizeof *c->ring);
        if (!c->bits || !c->ring) {
            free(c->bits);
            free(c->ring);
            c->bits = NULL;
            c->ring = NULL;
            return;
        }
    }
    if (c->bits[v / 8] & (1u << (v % 8)))
        return; /* closed before: cannot be, as no new game takes it */
    closed_trim(c, CQ_CLOSED_PINS_MAX - 1, s->now);
    c->ring[(c->head + c->n) % CQ_CLOSED_PINS_MAX] = (struct closed_pin){v, s->now};
    c->n++;
    closed_bit(c, v, true);
}

/* ---- membership ----------------------------------------------------------- */

static int game_attach(struct cq_game *g, struct cq_session_conn *sc, unsigned role,
                       struct cq_player *p)
{
    if (g->n_conns == g->cap_conns) {
        unsigned ncap = g->cap_conns ? g->cap_conns * 2 : 16;
        struct cq_session_conn **nc = realloc(g->conns, ncap * sizeof *nc);
        if (!nc)
            return CQ_ENOMEM;
        g->conns = nc;
        g->cap_conns = ncap;
    }
    sc->slot = g->n_conns;
    g->conns[g->n_conns++] = sc;
    if (role == CQ_ROLE_PLAYER)
        g->s->n_seated++, g->n_seated++;
    if (role == CQ_ROLE_HOST)
        g->n_hosts++;
    sc->game = g;
    sc->role = role;
    sc->player = p;
    if (p)
        p->conn = sc;
    sc->ops->set_idle(sc, false);
    return 0;
}

static void game_detach(struct cq_session_conn *sc)
{
    struct cq_game *g = sc->game;
    if (!g)
        return;
    struct cq_session_conn *last = g->conns[--g->n_conns];
    g->conns[sc->slot] = last;
    last->slot = sc->slot;
    if (sc->player && sc->player->conn == sc)
        sc->player->conn = NULL;
    if (sc->role == CQ_ROLE_HOST)
        g->n_hosts--;
    if (sc->role == CQ_ROLE_PLAYER)
        g->s->n_seated--, g->n_seated--;
    sc->game = NULL;
    sc->player = NULL;
    sc->role = CQ_ROLE_NONE;
    sc->ops->set_idle(sc, true); /* unless it is closing */
}

/* Queues `b` for every connection of `g` whose role is in `roles`; `ahead`:
 * ahead of what is held (push_ahead). */
static void fan_out(struct cq_game *g, struct cq_buf *b, unsigned roles, bool ahead)
{
    for (unsigned i = 0; i < g->n_conns; i++) {
        struct cq_session_conn *sc = g->conns[i];
        if (sc->role & roles)
            (ahead ? sc->ops->push_ahead : sc->ops->push)(sc, b);
    }
}

/* Encodes once, queues for every connection whose role is in `roles`. */
static void broadcast(struct cq_game *g, json_t *msg, unsigned roles)
{
    struct cq_buf *b = cq_buf_from_json(msg);
    if (!b)
        return;
    b->refs++; /* ours while fanning out */
    fan_out(g, b, roles, false);
    cq_buf_unref(b);
}

/* ---- held until stored ------------------------------------------------------ */

static void gate_link(struct cq_session_conn *sc, struct cq_game *g, uint64_t need)
{
    sc->gate_game = g;
    sc->gate_need = need;
    sc->gate_prev = NULL;
    sc->gate_next = g->gated;
    if (g->gated)
        g->gated->gate_prev = sc;
    g->gated = sc;
}

/* Forgets the gate (and what was to follow it) without releasing: what is
 * held is never sent. */
static void gate_unlink(struct cq_session_conn *sc)
{
    struct cq_game *g = sc->gate_game;
    if (!g)
        return;
    if (sc->gate_prev)
        sc->gate_prev->gate_next = sc->gate_next;
    else
        g->gated = sc->gate_next;
    if (sc->gate_next)
        sc->gate_next->gate_prev = sc->gate_prev;
    sc->gate_prev = sc->gate_next = NULL;
    sc->gate_game = NULL;
    sc->gate_need = 0;
}

/* The gate's entries are stored. What is held goes out, unless the
 * connection entered another game meanwhile whose entries are not stored
 * yet: then it stays held for those (a game that closed has had them
 * stored: a game waits for its log before it closes). */
static void unhold(struct cq_session_conn *sc)
{
    if (!sc->gate_game)
        return;
    struct cq_session *s = sc->gate_game->s;
    gate_unlink(sc);
    if (sc->then_game[0]) {
        struct cq_game *next = game_by_id(s, sc->then_game);
        uint64_t need = sc->then_need;
        sc->then_game[0] = '\0';
        sc->then_need = 0;
        if (next && next->log_stored < need) {
            gate_link(sc, next, need);
            return;
        }
    }
    sc->ops->release(sc);
}

/* What is sent to `sc` from here on waits until the log entries before
 * `need` are stored (cq_session_stored): in Redis, or in the journal file
 * while Redis is away. Nothing to wait for without a store. */
static void hold_until(struct cq_game *g, struct cq_session_conn *sc, uint64_t need)
{
    if (!g->s->deps.store_ops || g->log_stored >= need)
        return;
    /* A gate already set keeps its place: what came since waits for the
     * later entry too (coarser, never out of order). */
    sc->ops->hold(sc);
    if (!sc->gate_game) {
        gate_link(sc, g, need);
    } else if (sc->gate_game == g) {
        if (need > sc->gate_need)
            sc->gate_need = need;
    } else {
        /* Still held for another game (an answer, then leave, then join
         * here, while the store is slow): held for both, in turn. Releasing
         * the first game's acknowledgements now would send them unstored.
         * may_enter keeps it to two games. */
        if (!sc->then_game[0])
            snprintf(sc->then_game, sizeof sc->then_game, "%s", g->game_id);
        if (!strcmp(sc->then_game, g->game_id) && need > sc->then_need)
            sc->then_need = need;
    }
}

/* Every log entry made so far. */
static void hold(struct cq_game *g, struct cq_session_conn *sc)
{
    hold_until(g, sc, g->log_seq);
}

/* A connection that comes in while the game's last reveal waits for the
 * input that closed its question (a projector reloading, a host's second
 * screen) waits with the others: its `state` shows that reveal. A log with
 * a gap is never resumed: nothing to wait for. */
static void hold_for_reveal(struct cq_game *g, struct cq_session_conn *sc)
{
    if (g->log_gap == UINT64_MAX)
        hold_until(g, sc, g->reveal_need);
}

/* Whether the game's last reveal is still held for its close's entry. */
static bool reveal_waits(const struct cq_game *g)
{
    return g->s->deps.store_ops && g->log_gap == UINT64_MAX && g->log_stored < g->reveal_need &&
           cq_room_phase(g->room) == CQ_PHASE_REVEAL;
}

/* A held connection may enter one more game while its first one's entries
 * are not stored (held for both, in turn), not a third. */
static bool may_enter(struct cq_session_conn *sc, const struct cq_msg *m)
{
    if (!sc->then_game[0])
        return true;
    send_error(sc, m->req_id, CQ_ESERVER_BUSY, NULL,
               "storage is slow: your earlier moves are not saved yet; try again shortly");
    return false;
}

enum release { RELEASE_STORED, RELEASE_ALL, RELEASE_NONE };

/* Releases the connections whose entries are stored; or, when the game
 * goes, all of them (RELEASE_ALL) or none (RELEASE_NONE: let go of them,
 * their held messages never sent). */
static void release_stored(struct cq_game *g, enum release how)
{
    struct cq_session_conn *next;
    for (struct cq_session_conn *sc = g->gated; sc; sc = next) {
        next = sc->gate_next;
        if (how == RELEASE_NONE) {
            gate_unlink(sc);
            sc->then_game[0] = '\0';
        } else if (how == RELEASE_ALL || sc->gate_need <= g->log_stored)
            unhold(sc);
    }
}

void cq_session_stored(struct cq_session *s, const char *game_id, uint64_t seq, bool stored)
{
    struct cq_game *g = game_by_id(s, game_id);
    if (!g)
        return;
    if (!stored) {
        if (seq < g->log_gap) {
            g->log_gap = seq;
            cq_err_log("game %s: its log lost entries from %llu on (the Redis journal was full); "
                       "what depends on them is never acknowledged, and the game cannot be "
                       "resumed after a restart",
                       game_id, (unsigned long long)seq);
        }
    } else {
        uint64_t upto = seq + 1 < g->log_gap ? seq + 1 : g->log_gap;
        if (upto > g->log_stored) {
            g->log_stored = upto;
            release_stored(g, RELEASE_STORED);
        }
    }
    /* An expired game waits for its log: closed once it is stored, or can
     * no longer be; a game held on its reveal goes on (game_after). */
    if (g->expired || (g->tick_at == INT64_MAX && !reveal_waits(g)))
        game_after(g);
}

/* ---- games ------------------------------------------------------------------ */

/* A game without a room yet; NULL when out of memory. */
static struct cq_game *game_new(struct cq_session *s)
{
    if (due_reserve(s) || index_reserve(s))
        return NULL;
    struct cq_game *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->s = s;
    g->pending_joined = json_array();
    g->pending_left = json_array();
    g->pending_status = json_array();
    g->created_at = s->now;
    g->tick_at = INT64_MAX;
    g->flush_at = INT64_MAX;
    g->log_seq = 1;
    g->log_gap = UINT64_MAX;
    if (!g->pending_joined || !g->pending_left || !g->pending_status) {
        json_decref(g->pending_joined);
        json_decref(g->pending_left);
        json_decref(g->pending_status);
        free(g);
        return NULL;
    }
    s->n_made++;
    return g;
}

static void state_drop(struct cq_game *g)
{
    if (g->state_buf) {
        cq_buf_unref(g->state_buf);
        g->state_buf = NULL;
    }
}

/* Frees what game_new made, and the room; `g` is not linked. */
static void game_discard(struct cq_game *g)
{
    if (!g)
        return;
    due_remove(g);
    g->s->n_made--;
    json_decref(g->pending_joined);
    json_decref(g->pending_left);
    json_decref(g->pending_status);
    json_decref(g->ended_msg);
    cq_proto_buf_free(&g->record);
    /* At shutdown what still waits for the log is never sent: the store's
     * last flush comes after this (a SIGKILL in between must not find an
     * acknowledgement of what is not stored), and the connections close
     * with the server. A game that expired waited for its entries to be
     * stored (game_after): its `closed` must get out; unless its log has a
     * gap, and then what waited for it never does. */
    release_stored(g, g->s->stopping || g->log_gap != UINT64_MAX ? RELEASE_NONE : RELEASE_ALL);
    state_drop(g);
    cq_room_free(g->room);
    for (size_t i = 0; i < g->log_n; i++)
        free(g->log_e[i]);
    free(g->log_e);
    free(g->log_len);
    free(g->conns);
    free(g);
}

/* Makes a ready game findable by its PIN and id. */
static void game_link(struct cq_game *g)
{
    struct cq_session *s = g->s;
    g->prev = NULL;
    g->next = s->games;
    if (s->games)
        s->games->prev = g;
    s->games = g;
    s->n_games++;
    index_add(s, g);
}

static void game_free(struct cq_game *g)
{
    struct cq_session *s = g->s;
    while (g->n_conns) {
        struct cq_session_conn *sc = g->conns[g->n_conns - 1];
        game_detach(sc);
        send_msg(sc, json_pack("{s:s}", "type", "closed"));
    }
    index_remove(s, g);
    if (g->prev)
        g->prev->next = g->next;
    else
        s->games = g->next;
    if (g->next)
        g->next->prev = g->prev;
    s->n_games--;
    if (cq_room_phase(g->room) == CQ_PHASE_ENDED)
        s->n_ended--;
    cq_addr_game_end(s->deps.addrs, g->owner);
    log_flush_game(g);
    game_discard(g);
}

/* ---- deadlines ---------------------------------------------------------------- */

static int64_t game_due(const struct cq_game *g)
{
    return g->tick_at < g->flush_at ? g->tick_at : g->flush_at;
}

static void due_set(struct cq_session *s, unsigned i, struct cq_game *g)
{
    s->due[i] = g;
    g->due_pos = i + 1;
}

static void due_up(struct cq_session *s, unsigned i)
{
    struct cq_game *g = s->due[i];
    int64_t at = game_due(g);
    while (i > 0) {
        unsigned up = (i - 1) / 2;
        if (game_due(s->due[up]) <= at)
            break;
        due_set(s, i, s->due[up]);
        i = up;
    }
    due_set(s, i, g);
}

static void due_down(struct cq_session *s, unsigned i)
{
    struct cq_game *g = s->due[i];
    int64_t at = game_due(g);
    for (;;) {
        unsigned c = 2 * i + 1;
        if (c >= s->n_due)
            break;
        if (c + 1 < s->n_due && game_due(s->due[c + 1]) < game_due(s->due[c]))
            c++;
        if (game_due(s->due[c]) >= at)
            break;
        due_set(s, i, s->due[c]);
        i = c;
    }
    due_set(s, i, g);
}

static void due_remove(struct cq_game *g)
{
    struct cq_session *s = g->s;
    if (!g->due_pos)
        return;
    unsigned i = g->due_pos - 1;
    g->due_pos = 0;
    struct cq_game *last = s->due[--s->n_due];
    if (i == s->n_due)
        return;
    due_set(s, i, last);
    due_up(s, i);
    due_down(s, last->due_pos - 1);
}

/* Puts `g` where its deadlines say, after either changed: in the heap while
 * it has one, out of it otherwise (there is room: due_reserve). */
static void due_update(struct cq_game *g)
{
    struct cq_session *s = g->s;
    if (game_due(g) == INT64_MAX) {
        due_remove(g);
        return;
    }
    if (!g->due_pos)
        due_set(s, s->n_due++, g);
    due_up(s, g->due_pos - 1);
    due_down(s, g->due_pos - 1);
}

/* Room in the heap and the tick's list for one more game (game_new). */
static int due_reserve(struct cq_session *s)
{
    if (s->n_made < s->due_cap)
        return 0;
    unsigned cap = s->due_cap ? s->due_cap * 2 : 16;
    struct cq_game **due = realloc(s->due, cap * sizeof *due);
    if (!due)
        return CQ_ENOMEM;
    s->due = due;
    struct cq_game **batch = realloc(s->due_batch, cap * sizeof *batch);
    if (!batch)
        return CQ_ENOMEM;
    s->due_batch = batch;
    s->due_cap = cap;
    return 0;
}

/* The owner wakes the session at `at` (or before, for an earlier one). */
static void wake_for(struct cq_session *s, int64_t at)
{
    if (at >= s->wake_at || s->in_tick)
        return;
    s->wake_at = at;
    if (s->deps.wake)
        s->deps.wake(s->deps.ud, at);
}

/* ---- coalesced updates ---------------------------------------------------- */

/* The roster changes collected since the last update; true when sent. */
static bool flush_lobby(struct cq_game *g)
{
    if (json_array_size(g->pending_joined) || json_array_size(g->pending_left) ||
        json_array_size(g->pending_status)) {
        json_t *host =
            json_pack("{s:s, s:O, s:O, s:O, s:I, s:I}", "type", "lobby", "joined",
                      g->pending_joined, "left", g->pending_left, "status", g->pending_status,
                      "players", (json_int_t)cq_room_n_players(g->room), "connected",
                      (json_int_t)cq_room_n_connected(g->room));
        broadcast(g, host, PROJECTORS);
        json_array_clear(g->pending_joined);
        json_array_clear(g->pending_left);
        json_array_clear(g->pending_status);
        return true;
    }
    return false;
}

static void flush_updates(struct cq_game *g)
{
    /* The end's slices ride on the same deadline, due at once (end_arm). */
    g->flush_at = g->summaries_due || g->record_due ? g->s->now : INT64_MAX;
    due_update(g);
    bool presenter = g->progress_dirty; /* the host's `unanswered` changed */
    if (flush_lobby(g))
        presenter = true;
    if (g->progress_dirty && cq_room_phase(g->room) == CQ_PHASE_QUESTION) {
        broadcast(g,
                  json_pack("{s:s, s:i, s:I, s:I, s:I}", "type", "progress", "index",
                            cq_room_current(g->room), "answered",
                            (json_int_t)cq_room_answered(g->room), "players",
                            (json_int_t)cq_room_n_players(g->room), "connected",
                            (json_int_t)cq_room_n_connected(g->room)),
                  PROJECTORS);
    }
    if (presenter && cq_room_phase(g->room) == CQ_PHASE_QUESTION)
        broadcast(g, cq_wire_unanswered(g->room, CQ_UNANSWERED_MAX), CQ_ROLE_HOST);
    g->progress_dirty = false;
}

static void arm_flush(struct cq_game *g)
{
    if (g->flush_at != INT64_MAX)
        return;
    g->flush_at = g->s->now + FLUSH_US;
    due_update(g);
    wake_for(g->s, g->flush_at);
}

/* ---- records ---------------------------------------------------------------- */

/* The live board after each question: absolute scores. */
static void store_board(struct cq_game *g)
{
    const struct cq_session_store *ops = g->s->deps.store_ops;
    unsigned n;
    struct cq_player *const *r = cq_room_ranking(g->room, &n);
    if (!ops || !n)
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
        ops->game_board(g->s->deps.store, g->game_id, ids, scores, n,
                        (unsigned)g->s->deps.cfg->results_ttl_s);
    }
    free(ids);
    free(scores);
    free(idbuf);
}

/* By nickname (folded), then best score first. */
static int board_entry_cmp(const void *a, const void *b)
{
    const struct cq_board_entry *x = a, *y = b;
    int c = strcmp(x->member, y->member);
    if (c)
        return c;
    return (x->score < y->score) - (x->score > y->score);
}

/* The end's work is due in the next loop iteration. */
static void end_arm(struct cq_game *g)
{
    if (g->flush_at <= g->s->now)
        return;
    g->flush_at = g->s->now;
    due_update(g);
    wake_for(g->s, g->flush_at);
}

/* At the end: the full record for download, and the boards that outlive
 * the game (all-time and weekly, per bank and per group). Started here,
 * built by end_slice, stored by record_finish. */
static void record_start(struct cq_game *g)
{
    if (!g->s->deps.store_ops)
        return;
    g->record_due = true;
    g->record_failed = false;
    g->record_next = 0;
    g->record.len = 0;
    g->record_ended = g->s->unix_now;
    end_arm(g);
}

static void record_add(struct cq_game *g, const struct cq_player *p)
{
    json_t *e = cq_wire_record_player(g->room, p);
    if (!e || cq_proto_append(&g->record, e, ','))
        g->record_failed = true;
    json_decref(e);
}

static void record_finish(struct cq_game *g)
{
    struct cq_session *s = g->s;
    const struct cq_session_store *ops = s->deps.store_ops;
    long long now = g->record_ended;
    unsigned n;
    struct cq_player *const *r = cq_room_players(g->room, &n);
    g->record_due = false;
    size_t head_len, len;
    json_t *head =
        cq_wire_record_head(g->room, g->game_id, g->created_unix, now, cq_room_host_token(g->room));
    char *head_text = head ? cq_proto_dump(head, 0, &head_len) : NULL;
    json_decref(head);
    char *text = head_text && !g->record_failed
                     ? cq_wire_record_splice(head_text, head_len, g->record.b ? g->record.b : "",
                                             g->record.len, &len)
                     : NULL;
    free(head_text);
    cq_proto_buf_free(&g->record);
    if (text)
        ops->put_result(s->deps.store, g->game_id, text, len, (unsigned)s->deps.cfg->results_ttl_s);
    else
        cq_err_log("game %s: could not encode the result record", g->game_id);
    free(text);
    struct cq_board_entry *e = calloc(n ? n : 1, sizeof *e);
    if (!e) {
        cq_err_log("game %s: out of memory, boards not updated", g->game_id);
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
    const struct cq_room_settings *set = cq_room_settings(g->room);
    ops->count_game(s->deps.store, g->game_id, cq_room_bank(g->room)->id, set->group,
                    g->group_digest, e, k, now);
    free(e);
}

/* One slice of the end's work (`units`: END_SLICE_UNITS; UINT_MAX: all of
 * it), summaries first (players are looking at their screens), and due
 * again in the next loop iteration while some is left.
 * The players are read by index: the list is final once the game has
 * ended (nobody joins, a departed seat stays), while connections come and
 * go; a connection that came after the end had its summary in its `state`
 * and is not marked. */
static void end_slice(struct cq_game *g, unsigned units)
{
    unsigned n, n_q = cq_room_n_questions(g->room);
    struct cq_player *const *all = cq_room_players(g->room, &n);
    unsigned budget = units / (n_q + 1); /* players */
    if (!budget)
        budget = 1;
    while (g->summaries_due && budget) {
        if (g->summary_next >= n) {
            g->summaries_due = false;
            break;
        }
        struct cq_player *p = all[g->summary_next++];
        struct cq_session_conn *sc = p ? p->conn : NULL;
        if (sc && sc->summary_due) {
            sc->summary_due = false;
            send_msg(sc, cq_wire_summary(g->room, p));
            budget--;
        }
    }
    while (g->record_due && budget) {
        if (g->record_next >= n) {
            record_finish(g);
            break;
        }
        const struct cq_player *p = all[g->record_next++];
        if (p) { /* NULL: departed without an answer (room.h) */
            record_add(g, p);
            budget--;
        }
    }
    if (g->summaries_due || g->record_due)
        end_arm(g);
}

json_t *cq_session_redis_warning(bool connected)
{
    return json_pack("{s:s, s:s, s:s}", "type", "warning", "code",
                     connected ? "redis_ok" : "redis_down", "message",
                     connected ? "Leaderboard storage is back; nothing was lost."
                               : "Leaderboard storage is unreachable. The game goes on; "
                                 "results are kept and saved when it returns.");
}

/* The hosts are told, ahead of what they wait for: a host whose command
 * waits for the storage is the one who most needs to know it is away
 * (found by an attack: the warning waited behind the held `ok`). */
void cq_session_store_state(struct cq_session *s, bool connected)
{
    struct cq_buf *b = cq_buf_from_json(cq_session_redis_warning(connected));
    if (!b)
        return;
    b->refs++; /* ours while fanning out */
    for (struct cq_game *g = s->games; g; g = g->next)
        fan_out(g, b, CQ_ROLE_HOST, true);
    cq_buf_unref(b);
}

/* ---- replies encoded once ------------------------------------------------------ */

/* `banks` is the same for everyone for the server's life (the banks are
 * loaded at start): encoded at the first list_banks, then each reply is one
 * shared buffer (or a copy with the request's id spliced in front). Before
 * this, every list_banks re-encoded the whole bank list: 1,500 connections
 * asking saturated the loop (docs/performance.md). */
static void send_banks(struct cq_session *s, struct cq_session_conn *sc, const json_t *req_id)
{
    if (!s->banks_buf) {
        s->banks_buf = cq_buf_from_json(cq_wire_banks(s->deps.banks));
        if (!s->banks_buf) {
            send_error(sc, req_id, CQ_ENOMEM, NULL, NULL);
            return;
        }
        s->banks_buf->refs = 1; /* the session's own */
    }
    if (!req_id) {
        sc->ops->push(sc, s->banks_buf);
        return;
    }
    /* {"id":ID,  + the cached text without its opening brace. */
    char *id = json_dumps(req_id, JSON_ENCODE_ANY | JSON_COMPACT);
    const char *text = (const char *)s->banks_buf->data + CQ_BUF_HEADROOM;
    size_t idlen = id ? strlen(id) : 0, tlen = s->banks_buf->len;
    char *joined = id ? malloc(idlen + tlen + 8) : NULL;
    struct cq_buf *b = NULL;
    if (joined) {
        size_t n = 0;
        memcpy(joined + n, "{\"id\":", 6);
        n += 6;
        memcpy(joined + n, id, idlen);
        n += idlen;
        joined[n++] = ',';
        memcpy(joined + n, text + 1, tlen - 1);
        n += tlen - 1;
        b = cq_buf_from_bytes(joined, n);
    }
    free(id);
    free(joined);
    if (!b) {
        send_error(sc, req_id, CQ_ENOMEM, NULL, NULL);
        return;
    }
    push_own(sc, b);
}

/* The host's and spectators' `state` of a game (the whole player list: 359
 * KB at 5,000 players) is encoded once per change of the game and shared by
 * every screen that asks until the next change: any room event or input
 * drops it, and while a question runs, an old one (its `remaining_ms`). */
static void send_screen_state(struct cq_session_conn *sc, struct cq_game *g)
{
    if (g->state_buf && cq_room_phase(g->room) == CQ_PHASE_QUESTION &&
        g->s->now - g->state_at > STATE_MAX_AGE_US)
        state_drop(g);
    if (!g->state_buf) {
        g->state_buf = cq_buf_from_json(
            cq_wire_state(g->room, g->game_id, CQ_ROLE_SPECTATOR, NULL, g->s->now));
        if (!g->state_buf) {
            send_error(sc, NULL, CQ_ENOMEM, NULL, NULL);
            return;
        }
        g->state_buf->refs = 1; /* the game's own */
        g->state_at = g->s->now;
        g->s->m.state_encodes++;
    }
    sc->ops->push(sc, g->state_buf);
}

/* ---- game events ---------------------------------------------------------- */

static void send_results(struct cq_game *g)
{
    for (unsigned i = 0; i < g->n_conns; i++) {
        struct cq_session_conn *sc = g->conns[i];
        if (sc->role == CQ_ROLE_PLAYER && sc->player)
            send_msg(sc, cq_wire_result(g->room, sc->player));
    }
}

/* Each player's `summary`, sent by end_slice. */
static void send_summaries(struct cq_game *g)
{
    for (unsigned i = 0; i < g->n_conns; i++) {
        struct cq_session_conn *sc = g->conns[i];
        sc->summary_due = sc->role == CQ_ROLE_PLAYER && sc->player;
    }
    g->summaries_due = true;
    g->summary_next = 0;
    end_arm(g);
}

static json_t *timing_msg(struct cq_game *g, const char *type)
{
    return cq_wire_timing(g->room, type, g->s->now);
}

static void on_event(void *ud, struct cq_room *room, const struct cq_event *ev)
{
    struct cq_game *g = ud;
    struct cq_player *p = ev->player;
    (void)room;
    state_drop(g); /* the screens' state changed */

    switch (ev->type) {
    case CQ_EV_PLAYER_JOINED:
        json_array_append_new(g->pending_joined, cq_wire_player(p));
        arm_flush(g);
        break;
    case CQ_EV_PLAYER_LEFT:
        json_array_append_new(
            g->pending_left, json_pack("{s:I, s:b}", "id", (json_int_t)p->id, "kicked", p->kicked));
        if (p->kicked && p->conn) {
            struct cq_session_conn *sc = p->conn;
            /* Closing first: a closing connection is not idle (addr.h). */
            sc->ops->close_after(sc, CQ_CLOSE_NORMAL, "kicked");
            game_detach(sc);
            send_msg(sc, json_pack("{s:s, s:s, s:s}", "type", "kicked", "code", "kicked", "message",
                                   cq_err_message(CQ_EKICKED)));
        }
        arm_flush(g);
        break;
    case CQ_EV_PLAYER_STATUS:
        json_array_append_new(g->pending_status, json_pack("{s:I, s:b}", "id", (json_int_t)p->id,
                                                           "connected", p->connected));
        arm_flush(g);
        break;
    case CQ_EV_LOCKED:
        broadcast(g, json_pack("{s:s, s:b}", "type", "locked", "locked", cq_room_locked(g->room)),
                  CQ_ROLE_ANY);
        break;
    case CQ_EV_QUESTION:
        /* The roster goes out first. Answers counted so far were for the
         * question before (a skip): no `progress` or `unanswered` for the
         * new one precedes it, and the armed flush keeps the 200 ms pace. */
        g->progress_dirty = false;
        flush_lobby(g);
        broadcast(g, cq_wire_question(g->room, g->s->now), CQ_ROLE_ANY);
        broadcast(g, cq_wire_unanswered(g->room, CQ_UNANSWERED_MAX), CQ_ROLE_HOST);
        break;
    case CQ_EV_PROGRESS:
        g->s->m.answers++;
        g->progress_dirty = true;
        arm_flush(g);
        break;
    case CQ_EV_PAUSED:
        broadcast(g, timing_msg(g, "paused"), CQ_ROLE_ANY);
        break;
    case CQ_EV_RESUMED:
        broadcast(g, timing_msg(g, "resumed"), CQ_ROLE_ANY);
        break;
    case CQ_EV_TIME_ADDED:
        broadcast(g, timing_msg(g, "time_added"), CQ_ROLE_ANY);
        break;
    case CQ_EV_REVEAL:
        g->progress_dirty = false;
        /* The reveal shows the right answer: it waits, on every connection,
         * for the input that closed the question (a tick, the last answer,
         * a leave or kick, next or end; told right after this event, as
         * entry log_seq) to be stored. Sent before, a restart could take the close back (the
         * clock resumes from the last heartbeat) and reopen the question to
         * players who saw its answer. */
        g->reveal_need = g->log_seq + 1;
        for (unsigned i = 0; i < g->n_conns; i++)
            hold_for_reveal(g, g->conns[i]);
        broadcast(g, cq_wire_reveal(g->room), CQ_ROLE_ANY);
        send_results(g);
        store_board(g);
        break;
    case CQ_EV_LEADERBOARD:
        broadcast(g, cq_wire_leaderboard(g->room, CQ_WIRE_TOP), CQ_ROLE_ANY);
        break;
    case CQ_EV_ENDED: {
        flush_updates(g);
        /* Announced by game_after, once the input that ended the game is
         * logged (inputs are told after their events), and held until
         * stored: a podium seen is a podium kept. */
        json_decref(g->ended_msg);
        g->ended_msg = cq_wire_ended(g->room, g->game_id);
        record_start(g);
        g->s->n_ended++; /* once: a game ends once */
        /* An ended game no longer counts against its address's live games:
         * it only waits (--ended-ttl) for late readers of the results. */
        cq_addr_game_end(g->s->deps.addrs, g->owner);
        g->owner = NULL;
        break;
    }
    case CQ_EV_EXPIRED:
        g->expired = true;
        unsigned seats;
        cq_room_players(g->room, &seats); /* every seat ever, gone ones too */
        if (seats)                        /* not a lobby nobody joined */
            pin_close(g->s, cq_room_pin(g->room));
        break;
    }
}

static bool on_blocked(void *ud, const char *nickname)
{
    struct cq_game *g = ud;
    const struct cq_wordlist *wl = g->s->deps.blocked;
    return wl && cq_wordlist_blocks(wl, nickname);
}

/* ---- the log ------------------------------------------------------------------ */

static void log_send(struct cq_game *g)
{
    struct cq_session *s = g->s;
    const struct cq_session_store *ops = s->deps.store_ops;
    if (g->log_n && ops && journal_past_half(s, ops->journal_room(s->deps.store))) {
        if (g->half_n != s->half_n)
            g->half_writes = 0;
        g->half_n = s->half_n;
        g->half_writes++;
    }
    if (g->log_n && ops)
        ops->log_append(s->deps.store, g->game_id, (const char *const *)g->log_e, g->log_len,
                        g->log_n, g->log_ttl ? (unsigned)s->deps.cfg->results_ttl_s : 0,
                        g->log_seq - 1);
    for (size_t i = 0; i < g->log_n; i++)
        free(g->log_e[i]);
    g->log_n = 0;
    g->log_ttl = false;
}

void cq_session_flush_logs(struct cq_session *s)
{
    while (s->log_dirty) {
        struct cq_game *g = s->log_dirty;
        s->log_dirty = g->log_next;
        g->log_queued = false;
        log_send(g);
    }
}

/* Sends this game's entries now and takes it off the dirty list. */
static void log_flush_game(struct cq_game *g)
{
    for (struct cq_game **pp = &g->s->log_dirty; *pp; pp = &(*pp)->log_next)
        if (*pp == g) {
            *pp = g->log_next;
            break;
        }
    g->log_queued = false;
    log_send(g);
}

static void log_add(struct cq_game *g, char *e, size_t len, bool ttl)
{
    struct cq_session *s = g->s;
    if (g->log_n == g->log_cap) {
        size_t ncap = g->log_cap ? g->log_cap * 2 : 16;
        char **ne = realloc(g->log_e, ncap * sizeof *ne);
        if (ne)
            g->log_e = ne;
        size_t *nl = ne ? realloc(g->log_len, ncap * sizeof *nl) : NULL;
        if (nl)
            g->log_len = nl;
        if (!ne || !nl) {
            free(e);
            cq_err_log("game %s: out of memory, its log is broken and it cannot be resumed",
                       g->game_id);
            return;
        }
        g->log_cap = ncap;
    }
    g->log_e[g->log_n] = e;
    g->log_len[g->log_n++] = len;
    g->log_ttl |= ttl;
    if (!g->log_queued) {
        g->log_queued = true;
        g->log_next = s->log_dirty;
        s->log_dirty = g;
        if (s->deps.logs_pending)
            s->deps.logs_pending(s->deps.ud);
    }
    if (g->log_n >= LOG_BATCH_MAX)
        log_flush_game(g);
}

static void on_input(void *ud, struct cq_room *room, const struct cq_input *in)
{
    struct cq_game *g = ud;
    size_t len;
    (void)room;
    state_drop(g);
    if (!g->s->deps.store_ops)
        return;
    char *e = cq_replay_encode(g->log_seq++, in, &len);
    if (!e) {
        cq_err_log("game %s: out of memory, its log is broken and it cannot be resumed",
                   g->game_id);
        return;
    }
    /* Inputs that move the game on (not a player's own) renew the log's TTL. */
    bool player = in->type == CQ_IN_JOIN || in->type == CQ_IN_REJOIN ||
                  in->type == CQ_IN_DISCONNECT || in->type == CQ_IN_LEAVE ||
                  in->type == CQ_IN_SHOWN || in->type == CQ_IN_ANSWER;
    log_add(g, e, len, !player);
}

static const struct cq_room_hooks room_hooks = {on_event, on_blocked, on_input};

/* After any call into the game: announce its end, follow its next deadline,
 * or free it. */
/* The game ended: `ended` and each player's `summary`, held until the
 * input that ended it is stored. Before the reply to the request that ended
 * it, as every broadcast a request causes (PROTOCOL.md, Ordering). */
static void announce_end(struct cq_game *g)
{
    if (!g->ended_msg)
        return;
    json_t *ended = g->ended_msg;
    g->ended_msg = NULL;
    for (unsigned i = 0; i < g->n_conns; i++)
        hold(g, g->conns[i]);
    broadcast(g, ended, CQ_ROLE_ANY);
    send_summaries(g);
}

static void game_after(struct cq_game *g)
{
    struct cq_session *s = g->s;
    announce_end(g);
    if (g->expired) {
        end_slice(g, UINT_MAX); /* its summaries and record, before `closed` */
        /* A game closes only once its log is stored: what its connections
         * wait for (the podium, a last answer's acknowledgement) must not
         * go out unstored with its `closed`. The store's report frees it
         * (cq_session_stored); its PIN finds nothing meanwhile. */
        g->tick_at = g->flush_at = INT64_MAX;
        due_update(g);
        if (s->deps.store_ops && !s->stopping && g->log_stored < g->log_seq &&
            g->log_gap == UINT64_MAX) {
            log_flush_game(g);
            return;
        }
        cq_info("game %s closed", cq_room_pin(g->room));
        log_flush_game(g);
        if (s->deps.store_ops)
            s->deps.store_ops->live_remove(s->deps.store, g->game_id);
        game_free(g);
        return;
    }
    /* A reveal still waiting for its close to be stored holds its game on
     * the reveal: moved on, the game would run its next question for
     * screens that cannot show it yet (an external Redis away, with no
     * journal file to acknowledge from), and nobody could answer it. The
     * store's report moves it on (cq_session_stored). */
    g->tick_at = reveal_waits(g) ? INT64_MAX : cq_room_next_deadline(g->room);
    due_update(g);
    wake_for(s, g->tick_at);
}

void cq_session_tick(struct cq_session *s, int64_t now)
{
    int64_t at = INT64_MAX;
    s->now = now;
    s->in_tick = true;
    /* The games due now leave the heap first: each is handled once per
     * wake-up, as its handling puts it back (due_update) with its next
     * deadline, which may be due already. A game frees only itself. */
    unsigned n = 0;
    while (s->n_due && game_due(s->due[0]) <= now) {
        struct cq_game *g = s->due[0];
        due_remove(g);
        s->due_batch[n++] = g;
    }
    for (unsigned i = 0; i < n; i++) {
        struct cq_game *g = s->due_batch[i];
        if (g->flush_at <= now) {
            flush_updates(g);
            end_slice(g, END_SLICE_UNITS);
        }
        if (g->tick_at <= now) {
            cq_room_tick(g->room, now);
            game_after(g); /* may free g */
        } else {
            due_update(g);
        }
    }
    if (s->n_due)
        at = game_due(s->due[0]);
    s->in_tick = false;
    s->wake_at = INT64_MAX;
    if (at != INT64_MAX)
        wake_for(s, at);
}

/* ---- handlers ---------------------------------------------------------------- */

/* The game's log holds --max-log-entries entries: joins and the host's
 * repeatable commands (pause, add_time, lock) are refused from then on.
 * Answers never are, nor what takes the game to its end (start, next, skip,
 * end, resume), kicks (one per player), or players' drops and rejoins: a
 * log past the cap grows only by what the players already in can do. */
static bool log_full(const struct cq_game *g)
{
    return g->log_seq > g->s->deps.cfg->max_log_entries;
}

/* While Redis is away the store's journal fills. Kept back: a tenth of it
 * for what the games do by themselves (their timers), and one entry for
 * each player in a game, who may still drop or leave (a seat's only entry
 * once refused: rejoins and joins are). Past that, requests that would
 * change a game are refused and change nothing (`storage_full`): an input
 * the journal would have to drop could never be acknowledged, and would
 * leave a gap in its game's log, or in another game's. Before the seats
 * were counted, one client that had joined many seats filled the tenth by
 * closing them, and other games' timers were dropped.
 *
 * The first half of the rest is first come, first served. Past it, each
 * game may add only its part of the second half (`g`; NULL for a new game
 * and for the host's `end`): its players plus one, over all players in
 * games plus one per game not ended. A class keeps its part whoever fills
 * the journal, from whichever address (a per-address share let one pupil
 * lock out a class behind the school's address); a client's game of one
 * seat gets a seat's part. Found by
 * attacks: one client's join-and-leave loop (about 400 writes a second)
 * had every game refused after four minutes; with a share of what was
 * left per game, one address used game after game, each taking half of
 * the rest; with a share per outage, a Redis that came back refusing
 * writes (-OOM) started a new outage, and new shares, each time. Past the
 * half is a matter of the journal's depth, not of Redis's state, and a
 * game's count starts again only when the journal has gone back below it. */
size_t cq_session_journal_tenth(unsigned journal_max)
{
    return journal_max / 10 > 10 ? journal_max / 10 : 10;
}

/* `room`: the journal's room now (journal_room). */
static bool journal_past_half(struct cq_session *s, size_t room)
{
    size_t max = s->deps.cfg->journal_max,
           tenth = cq_session_journal_tenth(s->deps.cfg->journal_max);
    size_t depth = room < max ? max - room : 0;
    bool past = max > tenth && depth >= (max - tenth) / 2;
    if (past && !s->past_half)
        s->half_n++;
    s->past_half = past;
    return past;
}

static bool storage_full(struct cq_session *s, struct cq_game *g)
{
    const struct cq_session_store *ops = s->deps.store_ops;
    if (!ops)
        return false;
    size_t max = s->deps.cfg->journal_max,
           tenth = cq_session_journal_tenth(s->deps.cfg->journal_max);
    size_t room = ops->journal_room(s->deps.store);
    if (room <= tenth + s->n_seated) {
        s->m.storage_full++;
        return true;
    }
    if (!journal_past_half(s, room) || !g || g->half_n != s->half_n)
        return false;
    /* Its part of the second half, (max - tenth) / 2 writes. */
    uint64_t weight = (uint64_t)g->n_seated + 1;
    uint64_t all = (uint64_t)s->n_seated + (s->n_games - s->n_ended);
    uint64_t part = (uint64_t)((max - tenth) / 2) * weight / (all > weight ? all : weight);
    if (g->half_writes < part)
        return false;
    s->m.storage_share++;
    return true;
}

/* A token bucket of time: CQ_REJOINS_BURST rejoins in a row, then one per
 * CQ_REJOIN_EVERY_S. A seat starts (and a restart starts it) full. */
static bool rejoin_budget(struct cq_player *p, int64_t now)
{
    const int64_t every = (int64_t)CQ_REJOIN_EVERY_S * 1000000, full = CQ_REJOINS_BURST * every;
    int64_t credit = p->rejoin_at ? p->rejoin_credit + (now - p->rejoin_at) : full;
    if (credit > full)
        credit = full;
    if (credit < every)
        return false;
    p->rejoin_credit = credit - every;
    p->rejoin_at = now;
    return true;
}

static json_t *with_id(json_t *o, const struct cq_msg *m)
{
    if (o && m->req_id)
        json_object_set(o, "id", m->req_id);
    return o;
}

static void reply_ok(struct cq_session_conn *sc, const struct cq_msg *m)
{
    send_msg(sc, with_id(json_pack("{s:s, s:s}", "type", "ok", "of", cq_msg_name(m->type)), m));
}

/* The log's first entry, and the game's place in the set read at start-up. */
static void log_create(struct cq_game *g, const struct cq_bank *bank, const unsigned *qidx,
                       unsigned n, const struct cq_room_settings *set, const char *pin,
                       const char *token, uint64_t seed)
{
    struct cq_session *s = g->s;
    const struct cq_session_store *ops = s->deps.store_ops;
    struct cq_replay_game rg = {.created_unix = g->created_unix};
    size_t len;
    if (!ops)
        return;
    snprintf(rg.game_id, sizeof rg.game_id, "%s", g->game_id);
    snprintf(rg.group_digest, sizeof rg.group_digest, "%s", g->group_digest);
    snprintf(rg.watch_token, sizeof rg.watch_token, "%s", g->watch_token);
    snprintf(rg.join_secret, sizeof rg.join_secret, "%s", g->join_secret);
    char *e =
        cq_replay_encode_create(&rg, bank, qidx, n, set, pin, token, seed, g->created_at, &len);
    if (!e) {
        cq_err_log("game %s: out of memory, it cannot be resumed after a restart", g->game_id);
        return;
    }
    const char *entries[] = {e};
    ops->live_add(s->deps.store, g->game_id);
    ops->log_append(s->deps.store, g->game_id, entries, &len, 1,
                    (unsigned)s->deps.cfg->results_ttl_s, 0);
    free(e);
}

static const struct cq_bank *find_bank(void *ud, const char *id)
{
    struct cq_session *s = ud;
    return cq_bankset_find(s->deps.banks, id);
}

bool cq_session_restore(struct cq_session *s, const char *game_id, const char *const *entries,
                        const size_t *lens, size_t n, int64_t now)
{
    struct cq_replay_result r;
    char err[256];
    s->now = now;
    int rc = cq_replay_room(entries, lens, n, find_bank, s, &r, err, sizeof err);
    if (rc) {
        cq_err_log("game %s cannot be resumed: %s", game_id, err);
        return false;
    }
    if (cq_room_expired(r.room) || strcmp(r.game.game_id, game_id) ||
        game_by_pin(s, cq_room_pin(r.room))) {
        cq_info("game %s is over; not resumed", game_id);
        cq_room_free(r.room);
        return false;
    }
    /* A lobby nobody joined whose time ran out while the server was down
     * (by the wall clock: the downtime counts here) is not brought back. */
    int64_t empty_us = cq_room_settings(r.room)->empty_lobby_us;
    if (cq_room_never_joined(r.room) && empty_us &&
        (s->unix_now - r.game.created_unix) * 1000000LL >= empty_us) {
        cq_info("game %s: nobody joined within the empty-lobby timeout; not resumed", game_id);
        cq_room_free(r.room);
        return false;
    }
    struct cq_game *g = game_new(s);
    if (!g) {
        cq_err_log("game %s cannot be resumed: out of memory", game_id);
        cq_room_free(r.room);
        return false;
    }
    g->room = r.room;
    g->log_seq = r.next_seq;
    g->log_stored = r.next_seq; /* read back from the store */
    g->created_unix = r.game.created_unix;
    snprintf(g->game_id, sizeof g->game_id, "%s", r.game.game_id);
    snprintf(g->group_digest, sizeof g->group_digest, "%s", r.game.group_digest);
    /* A log from before watch tokens: a new one, given to the host on rejoin. */
    if (r.game.watch_token[0])
        snprintf(g->watch_token, sizeof g->watch_token, "%s", r.game.watch_token);
    else if (cq_rand_token(g->watch_token, sizeof g->watch_token)) {
        cq_err_log("game %s cannot be resumed: no random source", game_id);
        game_discard(g);
        return false;
    }
    snprintf(g->join_secret, sizeof g->join_secret, "%s", r.game.join_secret);
    cq_room_set_hooks(g->room, &room_hooks, g);
    /* The time the server was down does not count, and the time it ran
     * does: the game's clock goes on from the previous server's last
     * heartbeat (at most a second before it stopped), or, without one that
     * follows this log's last input, from that input. Everyone is away
     * until they rejoin. */
    int64_t from = r.last_now;
    if (s->last_alive_us > from && s->last_alive_us - from < ALIVE_TRUSTED_US)
        from = s->last_alive_us;
    cq_room_shift(g->room, now - from);
    unsigned np;
    struct cq_player *const *players = cq_room_players(g->room, &np);
    for (unsigned i = 0; i < np; i++)
        if (players[i])
            cq_room_disconnect(g->room, players[i], now);
    game_link(g);
    /* Writes the dead server may not have made are made again (idempotent). */
    enum cq_phase ph = cq_room_phase(g->room);
    if (ph == CQ_PHASE_REVEAL || ph == CQ_PHASE_LEADERBOARD)
        store_board(g);
    else if (ph == CQ_PHASE_ENDED) {
        record_start(g);
        s->n_ended++;
    }
    cq_info("game %s resumed: %s, question %d of %u, %u players", g->game_id, cq_phase_name(ph),
            cq_room_current(g->room) + 1, cq_room_n_questions(g->room), cq_room_n_players(g->room));
    game_after(g);
    return true;
}

static void add_join_urls(struct cq_session *s, json_t *joined)
{
    if (joined && s->deps.join_urls)
        s->deps.join_urls(s->deps.ud, joined);
}

/* `joined` for the host: the watch token for the projector link, the join
 * secret (for the link and QR code) when the game has one, and the group
 * secret when this game created its group. */
static json_t *host_joined(const struct cq_game *g, const struct cq_msg *m, const char *token,
                           const char *group_secret)
{
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s*}", "type", "joined", "role", "host", "pin",
                  cq_room_pin(g->room), "token", token, "game_id", g->game_id, "watch_token",
                  g->watch_token, "secret", g->join_secret[0] ? g->join_secret : NULL);
    if (j && group_secret)
        json_object_set_new(j, "group_secret", json_string(group_secret));
    add_join_urls(g->s, j);
    return with_id(j, m);
}

/* Creates the game of a create_game. `group_digest`: the SHA-256 of the
 * group secret it is created with ("" without a group); `group_secret`:
 * the secret of the group this game creates, for the host, or NULL. */
static void create_game(struct cq_session *s, struct cq_session_conn *sc, const struct cq_msg *m,
                        const char *group_digest, const char *group_secret)
{
    const struct cq_config *cfg = s->deps.cfg;
    const struct cq_bank *bank = cq_bankset_find(s->deps.banks, m->bank);
    struct cq_room_settings set;
    char pin[CQ_PIN_DIGITS + 1], token[CQ_TOKEN_MAX + 1], token_key[CQ_SECRET_DIGEST_LEN + 1];
    unsigned *qidx = NULL;
    struct cq_game *g = NULL;
    struct cq_addr *owner = NULL;
    int result;

    if (!bank) {
        send_error(sc, m->req_id, CQ_ENO_BANK, "bank", NULL);
        return;
    }
    if (storage_full(s, NULL)) {
        send_error(sc, m->req_id, CQ_ESTORAGE_FULL, NULL, NULL);
        return;
    }
    if (s->n_games >= cfg->max_games || s->stopping) {
        send_error(sc, m->req_id, s->stopping ? CQ_ESERVER_BUSY : CQ_ESERVER_FULL, NULL, NULL);
        return;
    }
    /* One address cannot fill the server: its live games and its games per
     * minute are bounded (--games-per-ip, --games-per-min). */
    result = cq_addr_game_start(s->deps.addrs, sc->addr, s->now);
    if (result) {
        s->m.refused_games++;
        cq_info("ws: %s refused a new game: %s", sc->peer, cq_err_code(result));
        send_error(sc, m->req_id, result, NULL, NULL);
        return;
    }
    owner = sc->addr;
    result = CQ_ENOMEM;
    qidx = malloc(bank->n_questions * sizeof *qidx);
    g = game_new(s);
    if (!qidx || !g)
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
    } while (game_by_pin(s, pin) || pin_closed(s, pin));
    if (cq_rand_token(token, sizeof token) ||
        cq_rand_token(g->watch_token, sizeof g->watch_token)) {
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
        snprintf(g->join_secret, sizeof g->join_secret, "%.*s", CQ_JOIN_SECRET_LEN, secret);
    }
    g->created_unix = s->unix_now;
    snprintf(g->game_id, sizeof g->game_id, "%s-%lld", pin, g->created_unix);
    snprintf(g->group_digest, sizeof g->group_digest, "%s", group_digest);
    uint64_t seed = cq_rand_u64();
    g->room =
        cq_room_create(bank, qidx, n, &set, pin, token_key, seed, g->created_at, &room_hooks, g);
    if (!g->room)
        goto out;
    result = game_attach(g, sc, CQ_ROLE_HOST, NULL);
    if (result)
        goto out;
    g->owner = owner;
    owner = NULL;
    game_link(g);
    s->m.games_created++;
    log_create(g, bank, qidx, n, &set, pin, token_key, seed);
    cq_info("game %s created from bank %s (%u questions)", pin, bank->id, n);
    hold(g, sc); /* a PIN given out is a game that survives a restart */
    send_msg(sc, host_joined(g, m, token, group_secret));
    send_msg(sc, cq_wire_state(g->room, g->game_id, CQ_ROLE_HOST, NULL, s->now));
    game_after(g);
    g = NULL;
    result = 0;
out:
    cq_addr_game_end(s->deps.addrs, owner); /* not created after all */
    game_discard(g);
    free(qidx);
    if (result)
        send_error(sc, m->req_id, result, result == CQ_ENO_QUESTIONS ? "tags" : NULL, NULL);
}

/* ---- groups -------------------------------------------------------------------- */

/* A group's boards belong to whoever created the group (PROTOCOL.md,
 * create_game; docs/redis.md). A create_game with a group label first asks
 * the store who owns the label: the game is made when the label is new (its
 * host gets the group's secret), or when the secret sent is the owner's; it
 * is refused otherwise. Only digests of secrets go to the store (secret.h).
 *
 * A create_game waiting for the store. Its callback may outlive the
 * connection: then `sc` is NULL and the callback only frees this. */
struct cq_group_check {
    struct cq_session *s;
    struct cq_session_conn *sc;
    struct cq_msg m;                           /* a copy; its `root` is a reference of ours */
    char given[CQ_SECRET_DIGEST_LEN + 1];      /* digest of the secret sent, or "" */
    char secret[CQ_TOKEN_MAX + 1];             /* the secret if the group is new */
    char new_digest[CQ_SECRET_DIGEST_LEN + 1]; /* and its digest */
    bool asked; /* the store was asked (it can give the claim back) */
};

static void create_checked(struct cq_group_check *pc, enum cq_group_claim r)
{
    struct cq_session_conn *sc = pc->sc;
    const struct cq_msg *m = &pc->m;
    switch (r) {
    case CQ_GROUP_NEW:
        create_game(pc->s, sc, m, pc->new_digest, pc->secret);
        break;
    case CQ_GROUP_OWNER:
        create_game(pc->s, sc, m, pc->given, NULL);
        break;
    case CQ_GROUP_REQUIRED:
    case CQ_GROUP_WRONG:
        cq_info("ws: %s: create_game refused: %s group secret", sc->peer,
                r == CQ_GROUP_WRONG ? "wrong" : "no");
        send_error(sc, m->req_id,
                   r == CQ_GROUP_WRONG ? CQ_EBAD_GROUP_SECRET : CQ_EGROUP_SECRET_REQUIRED,
                   "group_secret", NULL);
        break;
    case CQ_GROUP_UNKNOWN:
        /* The store is away: the game is not held up; the counting script
         * checks the owner when the result is counted (store.h). */
        if (pc->given[0])
            create_game(pc->s, sc, m, pc->given, NULL);
        else
            create_game(pc->s, sc, m, pc->new_digest, pc->secret);
        break;
    }
}

static void on_group_claim(void *ud, enum cq_group_claim r)
{
    struct cq_group_check *pc = ud;
    struct cq_session *s = pc->s;
    struct cq_session_conn *sc = pc->sc;
    /* The label was claimed for a host that went away before its game was
     * made (a phone that lost its network): nobody got the secret, so the
     * claim is given back, or the class's label would be lost. */
    if (r == CQ_GROUP_NEW && (!sc || s->stopping) && pc->asked)
        s->deps.store_ops->group_release(s->deps.store, pc->m.group, pc->new_digest);
    /* At shutdown the store fails its reads while the transport tears the
     * connections down: nothing more is sent on them. */
    if (sc) {
        sc->creating = NULL;
        if (sc->game && !s->stopping) /* it joined or watched a game meanwhile */
            send_error(sc, pc->m.req_id, CQ_EALREADY_IN_GAME, "type", NULL);
        else if (!s->stopping)
            create_checked(pc, r);
    }
    cq_msg_clear(&pc->m);
    free(pc);
}

static void group_create(struct cq_session *s, struct cq_session_conn *sc, const struct cq_msg *m)
{
    const struct cq_session_store *ops = s->deps.store_ops;
    if (sc->creating) {
        send_error(sc, m->req_id, CQ_EALREADY_IN_GAME, "type", NULL);
        return;
    }
    if (!may_enter(sc, m))
        return;
    /* Refusals that need no store come first (create_game repeats them). */
    if (!m->group[0] || !cq_bankset_find(s->deps.banks, m->bank) ||
        s->n_games >= s->deps.cfg->max_games || s->stopping) {
        create_game(s, sc, m, "", NULL);
        return;
    }
    struct cq_group_check *pc = calloc(1, sizeof *pc);
    if (!pc || cq_rand_token(pc->secret, sizeof pc->secret)) {
        free(pc);
        send_error(sc, m->req_id, CQ_EINTERNAL, NULL, NULL);
        return;
    }
    pc->s = s;
    pc->sc = sc;
    pc->m = *m;
    json_incref(pc->m.root);
    if (m->present & CQ_F(GROUP_SECRET))
        cq_secret_digest(m->group_secret, pc->given);
    cq_secret_digest(pc->secret, pc->new_digest);
    if (!ops || !ops->connected(s->deps.store)) {
        on_group_claim(pc, CQ_GROUP_UNKNOWN);
        return;
    }
    pc->asked = true;
    sc->creating = pc; /* before the call: its callback may run at once */
    ops->group_claim(s->deps.store, m->group, pc->given[0] ? pc->given : NULL, pc->new_digest,
                     on_group_claim, pc);
}

/* ---- players and screens --------------------------------------------------------- */

/* `token`: the player's token, which only the client and this message hold
 * (the room has its digest). */
static void welcome_player(struct cq_session_conn *sc, const struct cq_msg *m, struct cq_player *p,
                           const char *token)
{
    struct cq_game *g = sc->game;
    send_msg(sc, with_id(json_pack("{s:s, s:s, s:s, s:s, s:{s:I, s:s}}", "type", "joined", "role",
                                   "player", "pin", cq_room_pin(g->room), "token", token, "player",
                                   "id", (json_int_t)p->id, "nickname", p->nickname),
                         m));
    send_msg(sc, cq_wire_state(g->room, g->game_id, CQ_ROLE_PLAYER, p, g->s->now));
}

/* Whether `m` carries the game's join secret (any message does when the
 * game has none). Compared in constant time: the secret is what keeps a
 * guessed PIN from being enough. */
static bool secret_ok(const struct cq_game *g, const struct cq_msg *m)
{
    if (!g->join_secret[0])
        return true;
    const char *sec = m->secret ? m->secret : "";
    size_t n = strlen(g->join_secret), sl = strlen(sec);
    unsigned char diff = (unsigned char)(sl != n);
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(g->join_secret[i] ^ (i < sl ? sec[i] : 0));
    return !diff;
}

/* Finds the live game for a PIN (and its join secret when `need_secret`);
 * NULL after the answer has been sent. Every attempt is checked: a correct
 * one is served at once, whatever others from the same address did, and
 * takes nothing from any budget. A wrong one (no game, or the secret missing
 * or wrong, answered alike so that it says nothing about the PIN) is the
 * transport's wrong_guess: counted, and delayed past the budgets. */
static struct cq_game *game_for(struct cq_session *s, struct cq_session_conn *sc,
                                const struct cq_msg *m, bool need_secret)
{
    struct cq_game *g = game_by_pin(s, m->pin);
    if (g && (!need_secret || secret_ok(g, m)))
        return g;
    if (!g && pin_closed(s, m->pin)) {
        send_error(sc, m->req_id, CQ_EGAME_OVER, "pin", NULL);
        return NULL;
    }
    sc->ops->wrong_guess(sc, g ? "a wrong join secret" : "a PIN with no game",
                         cq_proto_error_msg(m->req_id, CQ_ENO_GAME, "pin", NULL));
    return NULL;
}

static void handle_join(struct cq_session *s, struct cq_session_conn *sc, const struct cq_msg *m)
{
    char token[CQ_TOKEN_MAX + 1], token_key[CQ_SECRET_DIGEST_LEN + 1];
    struct cq_player *p;
    /* No per-address join limit: it would refuse a class behind one NAT
     * address. Bots that have the PIN are bounded by the game's max_players,
     * the host's lock and kick, and the per-connection message rate. */
    if (!may_enter(sc, m))
        return;
    struct cq_game *g = game_for(s, sc, m, true);
    if (!g)
        return;
    if (log_full(g) || storage_full(s, g)) {
        send_error(sc, m->req_id, log_full(g) ? CQ_ELOG_FULL : CQ_ESTORAGE_FULL, NULL, NULL);
        return;
    }
    if (cq_rand_token(token, sizeof token)) {
        send_error(sc, m->req_id, CQ_EINTERNAL, NULL, NULL);
        return;
    }
    char why[CQ_NICK_WHY_MAX];
    cq_secret_digest(token, token_key);
    int r = cq_room_join_why(g->room, m->nickname, token_key, s->now, &p, why, sizeof why);
    if (!r && (r = game_attach(g, sc, CQ_ROLE_PLAYER, p)))
        cq_room_leave(g->room, p, s->now);
    if (r) {
        send_error(sc, m->req_id, r,
                   r == CQ_ENICKNAME_INVALID || r == CQ_ENICKNAME_TAKEN ||
                           r == CQ_ENICKNAME_REJECTED
                       ? "nickname"
                       : NULL,
                   why);
        game_after(g);
        return;
    }
    hold(g, sc);
    welcome_player(sc, m, p, token);
    game_after(g);
}

static void handle_watch(struct cq_session *s, struct cq_session_conn *sc, const struct cq_msg *m)
{
    /* The watch token (192 random bits, the host's link only) is the proof:
     * no join secret needed, as for rejoin. */
    struct cq_game *g = game_for(s, sc, m, false);
    if (!g)
        return;
    /* The whole game (every name, the live counts) is for the host's
     * screens only: the PIN every player knows is not enough. */
    if (!cq_text_secret_equal(g->watch_token, m->token)) {
        sc->ops->wrong_guess(sc, "a wrong watch token",
                             cq_proto_error_msg(m->req_id, CQ_EBAD_TOKEN, "token", NULL));
        return;
    }
    if (game_attach(g, sc, CQ_ROLE_SPECTATOR, NULL)) {
        send_error(sc, m->req_id, CQ_ENOMEM, NULL, NULL);
        return;
    }
    hold_for_reveal(g, sc);
    /* The projector shows the join link and QR code: with the secret. */
    json_t *j = json_pack("{s:s, s:s, s:s, s:s*}", "type", "joined", "role", "spectator", "pin",
                          m->pin, "secret", g->join_secret[0] ? g->join_secret : NULL);
    add_join_urls(s, j);
    send_msg(sc, with_id(j, m));
    send_screen_state(sc, g);
}

static void handle_rejoin(struct cq_session *s, struct cq_session_conn *sc, const struct cq_msg *m)
{
    /* The token (128 random bits) is the proof: no join secret needed. */
    if (!may_enter(sc, m))
        return;
    struct cq_game *g = game_for(s, sc, m, false);
    struct cq_player *p;
    char key[CQ_SECRET_DIGEST_LEN + 1];
    if (!g)
        return;
    cq_secret_digest(m->token, key);
    if (cq_room_is_host_token(g->room, key)) {
        if (g->n_hosts >= s->deps.cfg->max_hosts_per_game) {
            send_error(sc, m->req_id, CQ_ETOO_MANY_HOSTS, NULL, NULL);
            return;
        }
        if (game_attach(g, sc, CQ_ROLE_HOST, NULL)) {
            send_error(sc, m->req_id, CQ_ENOMEM, NULL, NULL);
            return;
        }
        hold_for_reveal(g, sc);
        send_msg(sc, host_joined(g, m, m->token, NULL));
        send_screen_state(sc, g);
        if (cq_room_phase(g->room) == CQ_PHASE_QUESTION) /* the presenter's list */
            send_msg(sc, cq_wire_unanswered(g->room, CQ_UNANSWERED_MAX));
        if (s->deps.store_ops && !s->deps.store_ops->connected(s->deps.store))
            send_msg(sc, cq_session_redis_warning(false));
        return;
    }
    /* A player's rejoin after a drop writes to the log, and so did the
     * drop: refused, as any change, when the store cannot keep more, and
     * past the seat's budget, so that one player dropping and rejoining in
     * a loop can neither fill the journal while Redis is away (and have
     * everyone refused) nor grow the game's log without bound. A phone's
     * reconnects back off far below it; neither refusal is a wrong guess,
     * and the phone keeps its seat and tries again. */
    p = cq_room_seat(g->room, key);
    if (p && !p->connected && !p->left && !p->kicked) {
        if (storage_full(s, g)) {
            send_error(sc, m->req_id, CQ_ESTORAGE_FULL, NULL, NULL);
            return;
        }
        if (!rejoin_budget(p, s->now)) {
            send_error(sc, m->req_id, CQ_ERATE_LIMITED, NULL,
                       "too many rejoins in a short time: try again in a few seconds");
            return;
        }
    }
    int r = cq_room_rejoin(g->room, key, s->now, &p);
    if (r == CQ_EBAD_TOKEN) {
        /* Token guessing: a wrong guess like a wrong PIN. */
        sc->ops->wrong_guess(sc, "a token that is no seat",
                             cq_proto_error_msg(m->req_id, r, "token", NULL));
        return;
    }
    if (r) {
        send_error(sc, m->req_id, r, "token", NULL);
        return;
    }
    if (p->conn) {
        /* The same player from a new tab or network: the old link goes. */
        struct cq_session_conn *old = p->conn;
        old->ops->close_after(old, CQ_CLOSE_NORMAL, "replaced by a newer connection");
        game_detach(old);
        send_msg(old, json_pack("{s:s}", "type", "replaced"));
    }
    if (game_attach(g, sc, CQ_ROLE_PLAYER, p)) {
        send_error(sc, m->req_id, CQ_ENOMEM, NULL, NULL);
        return;
    }
    hold(g, sc);
    welcome_player(sc, m, p, m->token);
    game_after(g);
}

static void handle_leave(struct cq_session *s, struct cq_session_conn *sc, const struct cq_msg *m)
{
    struct cq_game *g = sc->game;
    struct cq_player *p = sc->player;
    game_detach(sc);
    if (p)
        cq_room_leave(g->room, p, s->now);
    hold(g, sc);
    reply_ok(sc, m);
    game_after(g);
}

static void handle_answer(struct cq_session *s, struct cq_session_conn *sc, const struct cq_msg *m)
{
    struct cq_game *g = sc->game;
    int64_t t = 0;
    /* At the log's cap a first answer is still taken (no answer is ever
     * lost), a changed one is not: with change_answer on, changes could
     * otherwise grow the log without bound. */
    if (log_full(g) && m->question >= 0 && (unsigned)m->question < cq_room_n_questions(g->room) &&
        sc->player->answers[m->question].answered) {
        send_error(sc, m->req_id, CQ_ELOG_FULL, NULL, NULL);
        return;
    }
    if (storage_full(s, g)) {
        send_error(sc, m->req_id, CQ_ESTORAGE_FULL, NULL, NULL);
        return;
    }
    int r = cq_room_answer(g->room, sc->player, m->question, &m->answer, s->now, &t);
    if (r) {
        send_error(sc, m->req_id, r, r == CQ_EBAD_ANSWER ? "answer" : "question", NULL);
    } else {
        hold(g, sc); /* acknowledged once stored: no answer is ever lost */
        struct cq_buf *b =
            cq_buf_from_json(with_id(json_pack("{s:s, s:i, s:I}", "type", "answer_ack", "index",
                                               m->question, "time_ms", (json_int_t)(t / 1000)),
                                     m));
        if (b) {
            b->answer_at = s->now; /* the latency histogram: received to written */
            push_own(sc, b);
        }
    }
    game_after(g);
}

static void handle_host(struct cq_session *s, struct cq_session_conn *sc, const struct cq_msg *m)
{
    struct cq_game *g = sc->game;
    int64_t now = s->now;
    int r;
    /* The host's commands count against the game's part of the journal, as
     * its players' requests do, all but `end`: past its part a game can
     * still be ended. Found by an attack: with `next` not counted, one
     * client's hosts drove game after game of many questions (eight host
     * connections, 20 a second each) and filled the journal for a class. */
    bool repeatable =
        m->type == CQ_MSG_PAUSE || m->type == CQ_MSG_ADD_TIME || m->type == CQ_MSG_LOCK;
    if (storage_full(s, m->type == CQ_MSG_END ? NULL : g)) {
        send_error(sc, m->req_id, CQ_ESTORAGE_FULL, NULL, NULL);
        return;
    }
    /* At the log's cap, only what the game needs to go on to its end. */
    if (repeatable && log_full(g)) {
        send_error(sc, m->req_id, CQ_ELOG_FULL, NULL, NULL);
        return;
    }
    switch (m->type) {
    case CQ_MSG_START:
        r = cq_room_start(g->room, now);
        break;
    case CQ_MSG_NEXT:
        r = cq_room_next(g->room, now);
        break;
    case CQ_MSG_SKIP:
        r = cq_room_skip(g->room, now);
        break;
    case CQ_MSG_PAUSE:
        r = cq_room_pause(g->room, now);
        break;
    case CQ_MSG_RESUME:
        r = cq_room_resume(g->room, now);
        break;
    case CQ_MSG_ADD_TIME:
        r = cq_room_add_time(g->room, m->seconds, now);
        break;
    case CQ_MSG_END:
        r = cq_room_end(g->room, now);
        break;
    case CQ_MSG_KICK:
        r = cq_room_kick(g->room, (uint32_t)m->player, now);
        break;
    case CQ_MSG_LOCK:
        r = cq_room_lock(g->room, m->locked, now);
        break;
    default:
        r = CQ_EINTERNAL;
        break;
    }
    if (r) {
        send_error(sc, m->req_id, r, m->type == CQ_MSG_KICK ? "player" : NULL, NULL);
    } else {
        announce_end(g); /* `ended` (end, or next/skip past the last) before the `ok` */
        hold(g, sc);     /* confirmed once stored */
        reply_ok(sc, m);
    }
    game_after(g);
}

void cq_session_handle(struct cq_session *s, struct cq_session_conn *sc, const struct cq_msg *m,
                       int64_t now)
{
    s->now = now;
    switch (m->type) {
    case CQ_MSG_PING:
        send_msg(sc, with_id(json_pack("{s:s}", "type", "pong"), m));
        break;
    case CQ_MSG_LIST_BANKS:
        send_banks(s, sc, m->req_id);
        break;
    case CQ_MSG_CREATE_GAME:
        group_create(s, sc, m);
        break;
    case CQ_MSG_JOIN:
        handle_join(s, sc, m);
        break;
    case CQ_MSG_WATCH:
        handle_watch(s, sc, m);
        break;
    case CQ_MSG_REJOIN:
        handle_rejoin(s, sc, m);
        break;
    case CQ_MSG_LEAVE:
        handle_leave(s, sc, m);
        break;
    case CQ_MSG_SHOWN: {
        if (storage_full(s, sc->game))
            break; /* as if it never came: the answer carries no display delay */
        int r = cq_room_shown(sc->game->room, sc->player, m->question, now);
        if (r)
            send_error(sc, m->req_id, r, "question", NULL);
        break;
    }
    case CQ_MSG_ANSWER:
        handle_answer(s, sc, m);
        break;
    default:
        handle_host(s, sc, m);
        break;
    }
}

/* ---- connections ------------------------------------------------------------------ */

void cq_session_conn_init(struct cq_session_conn *sc, const struct cq_session_conn_ops *ops,
                          const char *peer, struct cq_addr *addr)
{
    memset(sc, 0, sizeof *sc);
    sc->ops = ops;
    sc->peer = peer;
    sc->addr = addr;
    sc->role = CQ_ROLE_NONE;
}

void cq_session_conn_gone(struct cq_session *s, struct cq_session_conn *sc, int64_t now)
{
    struct cq_game *g = sc->game;
    struct cq_player *p = sc->player;
    s->now = now;
    gate_unlink(sc);
    sc->then_game[0] = '\0';
    if (sc->creating) {
        sc->creating->sc = NULL; /* the store's answer only frees it */
        sc->creating = NULL;
    }
    if (!g)
        return;
    game_detach(sc);
    if (p)
        cq_room_disconnect(g->room, p, now);
    game_after(g);
}

/* ---- the session ------------------------------------------------------------------- */

struct cq_session *cq_session_new(const struct cq_session_deps *deps)
{
    struct cq_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->deps = *deps;
    s->wake_at = INT64_MAX;
    s->last_alive_us = -1;
    return s;
}

void cq_session_stop(struct cq_session *s)
{
    s->stopping = true;
    /* A record not yet written is written before the store's last flush
     * (a restart would write it too, from the log). */
    for (struct cq_game *g = s->games; g; g = g->next) {
        g->summaries_due = false;
        if (g->record_due)
            end_slice(g, UINT_MAX);
    }
    while (s->games)
        game_free(s->games);
}

void cq_session_free(struct cq_session *s)
{
    if (!s)
        return;
    cq_session_stop(s);
    cq_buf_unref(s->banks_buf);
    free(s->closed.bits);
    free(s->closed.ring);
    free(s->by_pin);
    free(s->by_id);
    free(s->due);
    free(s->due_batch);
    free(s);
}

bool cq_session_stopping(const struct cq_session *s)
{
    return s->stopping;
}

void cq_session_set_unix(struct cq_session *s, long long unix_s)
{
    s->unix_now = unix_s;
}

void cq_session_set_last_alive(struct cq_session *s, int64_t mono_us)
{
    s->last_alive_us = mono_us;
}

unsigned cq_session_games(const struct cq_session *s)
{
    return s->n_games;
}

unsigned cq_session_players(const struct cq_session *s)
{
    unsigned n = 0;
    for (const struct cq_game *g = s->games; g; g = g->next)
        n += cq_room_n_players(g->room);
    return n;
}

const struct cq_session_metrics *cq_session_metrics(const struct cq_session *s)
{
    return &s->m;
}
