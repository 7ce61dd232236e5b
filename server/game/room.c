/* room.c: the game's state machine. See room.h for the contract. */
#include "room.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nickname.h"
#include "text.h"

/* A player index by a string key (folded nickname or token): open
 * addressing over player pointers, grown at half load. */
struct pmap {
    struct cq_player **slots;
    size_t cap, n;
    size_t key_off; /* offsetof the key in cq_player */
    bool key_is_ptr;
};

struct cq_room {
    char pin[CQ_PIN_DIGITS + 1];
    char host_token[CQ_TOKEN_MAX + 1];
    const struct cq_bank *bank;
    struct cq_room_settings set;
    const struct cq_room_hooks *hooks;
    void *ud;
    uint64_t rng;

    unsigned *qidx; /* game question -> bank index */
    unsigned n_q;
    unsigned char (*order)[CQ_OPTIONS_MAX]; /* per game question */
    bool *skipped;

    enum cq_phase phase;
    int q;
    bool locked, paused;
    int64_t sent_at;     /* question broadcast */
    int64_t open_at;     /* answering opens (after lead-in) */
    int64_t limit_us;    /* answer window, with added time */
    int64_t close_at;    /* answering closes for everyone */
    int64_t phase_until; /* auto-advance; INT64_MAX: wait for the host */
    int64_t paused_at;
    int64_t last_activity;
    int64_t expire_at;
    int64_t created_at;
    int64_t empty_since; /* the lobby has had no player since; INT64_MAX: it has one */

    unsigned answered, n_correct;
    unsigned counts[CQ_OPTIONS_MAX];

    struct cq_player **players; /* by id - 1 */
    unsigned n_players, cap_players;
    unsigned n_active, n_connected;
    unsigned n_held_away; /* held players (cq_player.held) not connected */
    struct cq_player **ranking;
    unsigned n_ranked;
    /* Disconnections in time order: the oldest decides when a seat may be
     * released next (no per-player timers, no scans). */
    struct drop {
        uint32_t id;
        int64_t at;
    } * drops;
    size_t drop_head, drop_len, drop_cap;
    struct pmap by_nick, by_shape, by_token; /* nickname keys (nickname.h), tokens */
    /* Tokens of players dropped from `players` (room.h): a hash whose two
     * low bits say why (enum gone), open addressing, grown at half load.
     * Eight bytes per dropped player instead of the whole player. */
    uint64_t *gone;
    size_t gone_cap, gone_n;
};

enum gone { GONE_LEFT = 1, GONE_EXPIRED = 2, GONE_KICKED = 3 };

/* ---- small helpers ---------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

static void shuffle_uint(unsigned *a, unsigned n, uint64_t *rng)
{
    for (unsigned i = n; i > 1; i--) {
        unsigned j = (unsigned)(rng_next(rng) % i);
        unsigned t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static void emit(struct cq_room *room, enum cq_event_type t, struct cq_player *p)
{
    struct cq_event ev = {t, p};
    if (room->hooks && room->hooks->emit)
        room->hooks->emit(room->ud, room, &ev);
}

/* Inputs are told after they took effect, at the public entry points only:
 * an input made from inside another (a tick ending a game) is replayed by
 * replaying the outer one. */
static void record(struct cq_room *room, struct cq_input in)
{
    if (room->hooks && room->hooks->input)
        room->hooks->input(room->ud, room, &in);
}

static void record_simple(struct cq_room *room, enum cq_input_type t, int64_t now)
{
    record(room, (struct cq_input){.type = t, .now = now});
}

static void record_player(struct cq_room *room, enum cq_input_type t, const struct cq_player *p,
                          int64_t now)
{
    record(room, (struct cq_input){.type = t, .now = now, .player = p});
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static const char *pmap_key(const struct pmap *m, const struct cq_player *p)
{
    const char *base = (const char *)p + m->key_off;
    return m->key_is_ptr ? *(char *const *)base : base;
}

static struct cq_player **pmap_slot(struct pmap *m, const char *key)
{
    size_t i = (size_t)hash_str(key) & (m->cap - 1);
    while (m->slots[i] && strcmp(pmap_key(m, m->slots[i]), key))
        i = (i + 1) & (m->cap - 1);
    return &m->slots[i];
}

static struct cq_player *pmap_get(struct pmap *m, const char *key)
{
    return m->cap ? *pmap_slot(m, key) : NULL;
}

static int pmap_put(struct pmap *m, struct cq_player *p)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 64;
        struct pmap grown = {calloc(ncap, sizeof *grown.slots), ncap, 0, m->key_off, m->key_is_ptr};
        if (!grown.slots)
            return CQ_ENOMEM;
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i]) {
                *pmap_slot(&grown, pmap_key(m, m->slots[i])) = m->slots[i];
                grown.n++;
            }
        free(m->slots);
        *m = grown;
    }
    *pmap_slot(m, pmap_key(m, p)) = p;
    m->n++;
    return 0;
}

/* Deletion with backward shift keeps probe chains intact. */
static void pmap_del(struct pmap *m, const char *key)
{
    if (!m->cap)
        return;
    struct cq_player **slot = pmap_slot(m, key);
    if (!*slot)
        return;
    size_t i = (size_t)(slot - m->slots);
    m->slots[i] = NULL;
    m->n--;
    for (size_t j = (i + 1) & (m->cap - 1); m->slots[j]; j = (j + 1) & (m->cap - 1)) {
        struct cq_player *p = m->slots[j];
        m->slots[j] = NULL;
        *pmap_slot(m, pmap_key(m, p)) = p;
    }
}

/* ---- departed players who never answered ------------------------------- */

static uint64_t gone_key(const char *token)
{
    return hash_str(token) & ~(uint64_t)3;
}

static int gone_add(struct cq_room *room, const char *token, enum gone why)
{
    if ((room->gone_n + 1) * 2 > room->gone_cap) {
        size_t ncap = room->gone_cap ? room->gone_cap * 2 : 64;
        uint64_t *ng = calloc(ncap, sizeof *ng);
        if (!ng)
            return CQ_ENOMEM;
        for (size_t i = 0; i < room->gone_cap; i++)
            if (room->gone[i]) {
                size_t k = (size_t)(room->gone[i] >> 2) & (ncap - 1);
                while (ng[k])
                    k = (k + 1) & (ncap - 1);
                ng[k] = room->gone[i];
            }
        free(room->gone);
        room->gone = ng;
        room->gone_cap = ncap;
    }
    uint64_t e = gone_key(token) | (uint64_t)why;
    size_t k = (size_t)(e >> 2) & (room->gone_cap - 1);
    while (room->gone[k])
        k = (k + 1) & (room->gone_cap - 1);
    room->gone[k] = e;
    room->gone_n++;
    return 0;
}

/* Why the holder of `token` was dropped; 0 when they were not. */
static enum gone gone_find(const struct cq_room *room, const char *token)
{
    if (!room->gone_cap)
        return 0;
    uint64_t key = gone_key(token);
    for (size_t k = (size_t)(key >> 2) & (room->gone_cap - 1); room->gone[k];
         k = (k + 1) & (room->gone_cap - 1))
        if ((room->gone[k] & ~(uint64_t)3) == key)
            return (enum gone)(room->gone[k] & 3);
    return 0;
}

static bool answered_any(const struct cq_room *room, const struct cq_player *p)
{
    for (unsigned k = 0; k < room->n_q; k++)
        if (p->answers[k].answered)
            return true;
    return false;
}

static void player_free(struct cq_player *p, unsigned n_q);

/* Frees a departed player; only once the ranking no longer points at them. */
static void player_drop(struct cq_room *room, struct cq_player *p)
{
    enum gone why = p->kicked ? GONE_KICKED : p->expired ? GONE_EXPIRED : GONE_LEFT;
    if (gone_add(room, p->token, why))
        return; /* no memory for the tombstone: keep the whole player */
    pmap_del(&room->by_token, p->token);
    room->players[p->id - 1] = NULL;
    player_free(p, room->n_q);
}

/* A player who departed (left, kicked, seat released) without ever
 * answering has nothing for the record: dropped now, or at the next
 * ranking when the current one holds them. */
static void maybe_drop(struct cq_room *room, struct cq_player *p)
{
    if (answered_any(room, p))
        return;
    if (p->ranked)
        p->drop_due = true;
    else
        player_drop(room, p);
}

/* ---- settings, selection, creation ------------------------------------ */

void cq_room_settings_default(struct cq_room_settings *s)
{
    memset(s, 0, sizeof *s);
    s->rules.preset = CQ_SCORING_SPEED;
    s->rules.streak = true;
    s->rules.partial_credit = false;
    s->late_join = true;
    s->max_players = CQ_DEFAULT_MAX_PLAYERS;
    s->nickname_max = CQ_DEFAULT_NICKNAME_MAX;
    s->reveal_us = CQ_DEFAULT_REVEAL_MS * 1000LL;
    s->leaderboard_us = CQ_DEFAULT_LEADERBOARD_MS * 1000LL;
    s->max_show_delay_us = CQ_DEFAULT_MAX_SHOW_DELAY_MS * 1000LL;
    s->rejoin_grace_us = CQ_DEFAULT_REJOIN_GRACE_S * 1000000LL;
    s->ended_ttl_us = CQ_DEFAULT_ENDED_TTL_S * 1000000LL;
    s->idle_ttl_us = 7200 * 1000000LL;
    s->empty_lobby_us = CQ_DEFAULT_EMPTY_LOBBY_S * 1000000LL;
}

static bool has_any_tag(const struct cq_question *q, const char *const *tags, unsigned n_tags)
{
    for (unsigned i = 0; i < n_tags; i++)
        for (unsigned j = 0; j < q->n_tags; j++)
            if (!strcmp(tags[i], q->tags[j]))
                return true;
    return false;
}

/* Whether `q` excludes (either way: the loader made the lists symmetric) a
 * question already kept in out[0..kept). With a `taken` map, one lookup
 * per partner; without one (no memory), a scan of what is kept. */
static bool excluded(const struct cq_question *q, const unsigned char *taken, const unsigned *out,
                     unsigned kept)
{
    for (unsigned k = 0; k < q->n_excludes; k++) {
        if (taken) {
            if (taken[q->excludes[k]])
                return true;
            continue;
        }
        for (unsigned j = 0; j < kept; j++)
            if (out[j] == q->excludes[k])
                return true;
    }
    return false;
}

unsigned cq_room_select(const struct cq_bank *bank, const char *const *tags, unsigned n_tags,
                        unsigned count, bool shuffle, uint64_t seed, unsigned *out)
{
    unsigned n = 0, kept = 0;
    bool any_excludes = false;
    for (size_t i = 0; i < bank->n_questions; i++)
        if (!n_tags || has_any_tag(&bank->questions[i], tags, n_tags)) {
            out[n++] = (unsigned)i;
            any_excludes |= bank->questions[i].n_excludes > 0;
        }
    if (shuffle)
        shuffle_uint(out, n, &seed);
    if (!any_excludes)
        return count && count < n ? count : n;
    /* Questions that give each other away never share a game: the first
     * one in (shuffled) order stays, its partners are dropped, and `count`
     * is filled from the rest. */
    unsigned char *taken = calloc(bank->n_questions, 1);
    for (unsigned k = 0; k < n && (!count || kept < count); k++) {
        const struct cq_question *q = &bank->questions[out[k]];
        if (excluded(q, taken, out, kept))
            continue;
        if (taken)
            taken[out[k]] = 1;
        out[kept++] = out[k];
    }
    free(taken);
    return kept;
}

struct cq_room *cq_room_create(const struct cq_bank *bank, const unsigned *qidx, unsigned n_q,
                               const struct cq_room_settings *set, const char *pin,
                               const char *host_token, uint64_t seed, int64_t now,
                               const struct cq_room_hooks *hooks, void *ud)
{
    struct cq_room *room = calloc(1, sizeof *room);
    if (!room)
        return NULL;
    room->bank = bank;
    room->set = *set;
    room->hooks = hooks;
    room->ud = ud;
    room->rng = seed;
    snprintf(room->pin, sizeof room->pin, "%s", pin);
    snprintf(room->host_token, sizeof room->host_token, "%s", host_token);
    room->qidx = malloc((n_q ? n_q : 1) * sizeof *room->qidx);
    room->order = calloc(n_q ? n_q : 1, sizeof *room->order);
    room->skipped = calloc(n_q ? n_q : 1, sizeof *room->skipped);
    if (!room->qidx || !room->order || !room->skipped) {
        cq_room_free(room);
        return NULL;
    }
    memcpy(room->qidx, qidx, n_q * sizeof *qidx);
    room->n_q = n_q;
    for (unsigned k = 0; k < n_q; k++) {
        const struct cq_question *q = &bank->questions[qidx[k]];
        unsigned perm[CQ_OPTIONS_MAX];
        for (unsigned i = 0; i < CQ_OPTIONS_MAX; i++)
            perm[i] = i;
        /* Ordering items are stored in the right order: show them mixed,
         * and never already solved. */
        if (q->type == CQ_Q_ORDERING && q->n_options > 1) {
            do
                shuffle_uint(perm, q->n_options, &room->rng);
            while (perm[0] == 0 && perm[1] == 1 && (q->n_options == 2 || perm[2] == 2));
        }
        for (unsigned i = 0; i < CQ_OPTIONS_MAX; i++)
            room->order[k][i] = (unsigned char)perm[i];
    }
    room->by_nick.key_off = offsetof(struct cq_player, key);
    room->by_nick.key_is_ptr = true;
    room->by_shape.key_off = offsetof(struct cq_player, shape);
    room->by_shape.key_is_ptr = true;
    room->by_token.key_off = offsetof(struct cq_player, token);
    room->by_token.key_is_ptr = false;
    room->phase = CQ_PHASE_LOBBY;
    room->q = -1;
    room->phase_until = INT64_MAX;
    room->last_activity = now;
    room->created_at = now;
    room->empty_since = now;
    room->expire_at = INT64_MAX;
    return room;
}

static void player_free(struct cq_player *p, unsigned n_q)
{
    if (!p)
        return;
    if (p->answers)
        for (unsigned i = 0; i < n_q; i++)
            free(p->answers[i].text);
    free(p->answers);
    free(p->nickname);
    free(p->fold);
    free(p->key);
    free(p->shape);
    free(p);
}

void cq_room_free(struct cq_room *room)
{
    if (!room)
        return;
    for (unsigned i = 0; i < room->n_players; i++)
        player_free(room->players[i], room->n_q); /* NULL for the dropped */
    free(room->players);
    free(room->ranking);
    free(room->drops);
    free(room->by_nick.slots);
    free(room->by_shape.slots);
    free(room->by_token.slots);
    free(room->gone);
    free(room->qidx);
    free(room->order);
    free(room->skipped);
    free(room);
}

/* ---- players ---------------------------------------------------------- */

static int player_add(struct cq_room *room, struct cq_player *p)
{
    if (room->n_players == room->cap_players) {
        unsigned ncap = room->cap_players ? room->cap_players * 2 : 16;
        struct cq_player **np = realloc(room->players, ncap * sizeof *np);
        if (!np)
            return CQ_ENOMEM;
        room->players = np;
        room->cap_players = ncap;
    }
    int r = pmap_put(&room->by_nick, p);
    if (r)
        return r;
    r = pmap_put(&room->by_shape, p);
    if (r) {
        pmap_del(&room->by_nick, p->key);
        return r;
    }
    r = pmap_put(&room->by_token, p);
    if (r) {
        pmap_del(&room->by_nick, p->key);
        pmap_del(&room->by_shape, p->shape);
        return r;
    }
    room->players[room->n_players++] = p;
    return 0;
}

int cq_room_join(struct cq_room *room, const char *nickname, const char *token, int64_t now,
                 struct cq_player **out)
{
    return cq_room_join_why(room, nickname, token, now, out, NULL, 0);
}

int cq_room_join_why(struct cq_room *room, const char *nickname, const char *token, int64_t now,
                     struct cq_player **out, char *why, size_t why_cap)
{
    struct cq_nickname nick;
    char fold[CQ_NICK_SHOWN_MAX];
    struct cq_player *p = NULL, *same;
    int result;

    if (why && why_cap)
        *why = '\0';
    if (room->phase == CQ_PHASE_ENDED)
        return CQ_EGAME_OVER;
    if (room->phase != CQ_PHASE_LOBBY && !room->set.late_join)
        return CQ_EGAME_STARTED;
    if (room->locked)
        return CQ_EGAME_LOCKED;
    if (room->n_active >= room->set.max_players)
        return CQ_EGAME_FULL;
    result = cq_nickname_check(nickname, room->set.nickname_max, &nick, why, why_cap);
    if (result)
        return result;
    if (!cq_text_fold(nick.shown, fold, sizeof fold))
        return CQ_ENICKNAME_INVALID;
    if (room->hooks && room->hooks->blocked && room->hooks->blocked(room->ud, nick.shown))
        return CQ_ENICKNAME_REJECTED;
    if ((same = pmap_get(&room->by_nick, nick.key)) ||
        (same = pmap_get(&room->by_shape, nick.shape))) {
        if (why && why_cap)
            snprintf(why, why_cap, "nickname looks the same as %s, already in this game",
                     same->nickname);
        return CQ_ENICKNAME_TAKEN;
    }
    if (pmap_get(&room->by_token, token))
        return CQ_EINTERNAL; /* the adapter's random source repeated itself */

    result = CQ_ENOMEM;
    p = calloc(1, sizeof *p);
    if (!p)
        goto out;
    p->nickname = dupstr(nick.shown);
    p->fold = dupstr(fold);
    p->key = dupstr(nick.key);
    p->shape = dupstr(nick.shape);
    p->answers = calloc(room->n_q ? room->n_q : 1, sizeof *p->answers);
    if (!p->nickname || !p->fold || !p->key || !p->shape || !p->answers)
        goto out;
    snprintf(p->token, sizeof p->token, "%s", token);
    p->id = room->n_players + 1;
    p->connected = true;
    p->shown_q = -1;
    result = player_add(room, p);
    if (result)
        goto out;
    room->n_active++;
    room->n_connected++;
    room->last_activity = now;
    room->empty_since = INT64_MAX;
    *out = p;
    p = NULL;
    emit(room, CQ_EV_PLAYER_JOINED, *out);
    record_player(room, CQ_IN_JOIN, *out, now);
out:
    player_free(p, room->n_q);
    return result;
}

int cq_room_rejoin(struct cq_room *room, const char *token, int64_t now, struct cq_player **out)
{
    struct cq_player *p = pmap_get(&room->by_token, token);
    if (!p) {
        enum gone why = gone_find(room, token);
        return why == GONE_KICKED    ? CQ_EKICKED
               : why == GONE_EXPIRED ? CQ_ERESUME_EXPIRED
                                     : CQ_EBAD_TOKEN;
    }
    if (p->kicked)
        return CQ_EKICKED;
    if (p->expired)
        return CQ_ERESUME_EXPIRED;
    if (p->left)
        return CQ_EBAD_TOKEN;
    if (!p->connected && room->phase != CQ_PHASE_ENDED &&
        now - p->disconnected_at > room->set.rejoin_grace_us)
        return CQ_ERESUME_EXPIRED;
    *out = p;
    /* The same player on a new connection changes nothing in the game: not
     * an input, so a player cannot fill the game's log by rejoining. */
    if (p->connected)
        return 0;
    room->last_activity = now;
    if (p->held)
        room->n_held_away--;
    p->held = false;
    p->connected = true;
    room->n_connected++;
    emit(room, CQ_EV_PLAYER_STATUS, p);
    record_player(room, CQ_IN_REJOIN, p, now);
    return 0;
}

static void close_question(struct cq_room *room, int64_t now);

/* After an answer or a departure, everyone expected may have answered:
 * the connected players, and those held away by a restart (cq_room_shift). */
static void maybe_close_early(struct cq_room *room, int64_t now)
{
    if (room->phase != CQ_PHASE_QUESTION || room->paused || now < room->open_at)
        return;
    /* `answered` includes players who dropped after answering, so fewer
     * answers than expected players means someone expected still owes one:
     * the scan below runs only when closing is likely. */
    if (room->answered < room->n_connected + room->n_held_away)
        return;
    unsigned waiting = 0;
    for (unsigned i = 0; i < room->n_players && !waiting; i++) {
        const struct cq_player *p = room->players[i];
        if (p && (p->connected || p->held) && !p->kicked && !p->left &&
            !p->answers[room->q].answered)
            waiting++;
    }
    /* Closed at the next tick, not here: the answer that completed the set
     * is acknowledged before the reveal goes out. */
    if (!waiting && room->answered > 0 && room->close_at > now)
        room->close_at = now;
}

void cq_room_disconnect(struct cq_room *room, struct cq_player *p, int64_t now)
{
    if (!p->connected)
        return;
    p->connected = false;
    p->disconnected_at = now;
    room->n_connected--;
    if (p->held)
        room->n_held_away++;
    if (room->drop_len == room->drop_cap) {
        size_t ncap = room->drop_cap ? room->drop_cap * 2 : 16;
        struct drop *nd = malloc(ncap * sizeof *nd);
        if (nd) {
            for (size_t i = 0; i < room->drop_len; i++)
                nd[i] = room->drops[(room->drop_head + i) % room->drop_cap];
            free(room->drops);
            room->drops = nd;
            room->drop_head = 0;
            room->drop_cap = ncap;
        }
    }
    /* Without memory for the queue the seat is only released on a rejoin try. */
    if (room->drop_len < room->drop_cap) {
        room->drops[(room->drop_head + room->drop_len) % room->drop_cap] =
            (struct drop){p->id, now};
        room->drop_len++;
    }
    emit(room, CQ_EV_PLAYER_STATUS, p);
    record_player(room, CQ_IN_DISCONNECT, p, now);
    /* No early close here: a dropped player may come back inside the window. */
}

static void remove_player(struct cq_room *room, struct cq_player *p, int64_t now)
{
    if (p->held && !p->connected)
        room->n_held_away--;
    p->held = false;
    if (p->connected)
        room->n_connected--;
    p->connected = false;
    p->disconnected_at = now;
    room->n_active--;
    if (!room->n_active && room->phase == CQ_PHASE_LOBBY)
        room->empty_since = now;
    pmap_del(&room->by_nick, p->key); /* frees the name for others */
    pmap_del(&room->by_shape, p->shape);
    if (room->phase == CQ_PHASE_QUESTION && p->answers[room->q].answered && p->kicked) {
        p->answers[room->q].answered = false;
        room->answered--;
    }
    emit(room, CQ_EV_PLAYER_LEFT, p);
    maybe_close_early(room, now);
}

void cq_room_leave(struct cq_room *room, struct cq_player *p, int64_t now)
{
    if (p->left || p->kicked)
        return;
    p->left = true;
    remove_player(room, p, now);
    record_player(room, CQ_IN_LEAVE, p, now);
    maybe_drop(room, p);
}

int cq_room_kick(struct cq_room *room, uint32_t player_id, int64_t now)
{
    struct cq_player *p = cq_room_player(room, player_id);
    if (!p || p->kicked || p->left)
        return CQ_ENO_PLAYER;
    if (room->phase == CQ_PHASE_ENDED)
        return CQ_EWRONG_PHASE;
    p->kicked = true;
    room->last_activity = now;
    remove_player(room, p, now);
    record(room, (struct cq_input){.type = CQ_IN_KICK, .now = now, .player_id = player_id});
    maybe_drop(room, p);
    return 0;
}

int cq_room_lock(struct cq_room *room, bool locked, int64_t now)
{
    if (room->phase == CQ_PHASE_ENDED)
        return CQ_EWRONG_PHASE;
    /* Locking a locked game changes nothing: not an input, not logged. */
    if (room->locked == locked)
        return 0;
    room->last_activity = now;
    room->locked = locked;
    emit(room, CQ_EV_LOCKED, NULL);
    record(room, (struct cq_input){.type = CQ_IN_LOCK, .now = now, .locked = locked});
    return 0;
}

/* ---- question flow ------------------------------------------------------ */

static const struct cq_question *current_q(const struct cq_room *room)
{
    return &room->bank->questions[room->qidx[room->q]];
}

static int64_t question_limit_us(const struct cq_room *room, const struct cq_question *q)
{
    int s = room->set.time_limit_s ? room->set.time_limit_s
                                   : (q->time_limit_s ? q->time_limit_s : CQ_DEFAULT_TIME_LIMIT_S);
    return (int64_t)s * 1000000LL;
}

static void show_question(struct cq_room *room, int index, int64_t now)
{
    room->phase = CQ_PHASE_QUESTION;
    room->q = index;
    room->sent_at = now;
    room->open_at = now + (int64_t)room->set.lead_in_s * 1000000LL;
    room->limit_us = question_limit_us(room, current_q(room));
    room->close_at = room->open_at + room->limit_us + room->set.max_show_delay_us;
    room->phase_until = INT64_MAX;
    room->answered = 0;
    room->n_correct = 0;
    memset(room->counts, 0, sizeof room->counts);
    emit(room, CQ_EV_QUESTION, NULL);
}

static void rank_players(struct cq_room *room, bool new_round);

static void end_game(struct cq_room *room, int64_t now)
{
    rank_players(room, false); /* who joined, left or was kicked since the last close */
    room->phase = CQ_PHASE_ENDED;
    room->paused = false;
    room->phase_until = INT64_MAX;
    room->expire_at = now + room->set.ended_ttl_us;
    emit(room, CQ_EV_ENDED, NULL);
}

/* Moves on from a closed question (or the lobby) to the next, or ends. */
static void advance_question(struct cq_room *room, int64_t now)
{
    if (room->q + 1 >= (int)room->n_q)
        end_game(room, now);
    else
        show_question(room, room->q + 1, now);
}

static int cmp_rank(const void *a, const void *b)
{
    const struct cq_player *x = *(struct cq_player *const *)a;
    const struct cq_player *y = *(struct cq_player *const *)b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->id < y->id ? -1 : (x->id > y->id);
}

/* Sorts once per question; every player's rank is read off the result. */
/* `new_round`: ranks after a question, remembered as prev_rank by the next
 * one; otherwise a refresh (a kick, a late join) that keeps prev_rank. */
static void rank_players(struct cq_room *room, bool new_round)
{
    unsigned n = 0;
    struct cq_player **r =
        realloc(room->ranking, (room->n_players ? room->n_players : 1) * sizeof *r);
    if (!r)
        return; /* keep the previous ranking; ranks just go stale */
    room->ranking = r;
    /* Players who left keep their points in the record, not a place. */
    for (unsigned i = 0; i < room->n_players; i++) {
        struct cq_player *p = room->players[i];
        if (!p)
            continue;
        p->ranked = !p->kicked && !p->left;
        if (p->ranked)
            r[n++] = p;
        else if (p->drop_due)
            player_drop(room, p); /* the ranking no longer points at them */
    }
    qsort(r, n, sizeof *r, cmp_rank);
    for (unsigned i = 0; i < n; i++) {
        if (new_round)
            r[i]->prev_rank = r[i]->rank;
        r[i]->rank = (i > 0 && r[i]->score == r[i - 1]->score) ? r[i - 1]->rank : (int)i + 1;
    }
    room->n_ranked = n;
}

static void close_question(struct cq_room *room, int64_t now)
{
    const struct cq_question *q = current_q(room);
    const unsigned char *order = room->order[room->q];
    unsigned correct = 0, answered = 0;

    memset(room->counts, 0, sizeof room->counts);
    for (unsigned i = 0; i < room->n_players; i++) {
        struct cq_player *p = room->players[i];
        if (!p || p->kicked)
            continue;
        struct cq_answer_rec *rec = &p->answers[room->q];
        struct cq_score s;
        bool ok = false;
        double credit = 0.0;
        if (rec->answered) {
            struct cq_answer a = {.kind = (enum cq_answer_kind)rec->kind,
                                  .choice = rec->choice,
                                  .value = rec->value,
                                  .text = rec->text,
                                  .n_items = rec->n_items};
            for (unsigned k = 0; k < rec->n_items; k++)
                a.items[k] = rec->items[k];
            if (cq_score_check(q, order, &a, room->set.rules.partial_credit, &ok, &credit))
                ok = false;
            answered++;
            if (rec->kind == CQ_ANSWER_CHOICE && rec->choice >= 0 && rec->choice < CQ_OPTIONS_MAX)
                room->counts[rec->choice]++;
            else if (rec->kind == CQ_ANSWER_CHOICES && q->type == CQ_Q_MULTI)
                for (unsigned k = 0; k < rec->n_items; k++)
                    room->counts[rec->items[k]]++;
            else if (rec->kind == CQ_ANSWER_BOOL)
                room->counts[rec->value ? 0 : 1]++;
        }
        /* Players who left keep what they earned but no longer play. */
        if (p->left && !rec->answered)
            continue;
        cq_score_apply(&room->set.rules, q, rec->answered, ok, credit, rec->time_us, room->limit_us,
                       p->streak, &s);
        rec->correct = s.correct;
        rec->scored = true;
        rec->points = s.points;
        rec->bonus = s.bonus;
        p->streak = s.streak;
        p->score += s.points + s.bonus;
        if (s.correct)
            correct++;
    }
    room->answered = answered;
    room->n_correct = correct;
    rank_players(room, true);
    room->phase = CQ_PHASE_REVEAL;
    room->phase_until = room->set.auto_advance ? now + room->set.reveal_us : INT64_MAX;
    emit(room, CQ_EV_REVEAL, NULL);
}

int cq_room_shown(struct cq_room *room, struct cq_player *p, int question, int64_t now)
{
    if (room->phase != CQ_PHASE_QUESTION || question != room->q)
        return CQ_EWRONG_PHASE;
    if (p->shown_q == question)
        return 0; /* the first report counts */
    int64_t d = now - room->sent_at;
    if (room->paused)
        d = room->paused_at - room->sent_at;
    if (d < 0)
        d = 0;
    if (d > room->set.max_show_delay_us)
        d = room->set.max_show_delay_us;
    p->shown_q = question;
    p->shown_delay = d;
    record(room,
           (struct cq_input){.type = CQ_IN_SHOWN, .now = now, .player = p, .question = question});
    return 0;
}

void cq_room_set_shown(struct cq_room *room, struct cq_player *p, int question, int64_t delay)
{
    (void)room;
    p->shown_q = question;
    p->shown_delay = delay;
}

int cq_room_answer(struct cq_room *room, struct cq_player *p, int question,
                   const struct cq_answer *a, int64_t now, int64_t *t_us)
{
    if (room->phase != CQ_PHASE_QUESTION || question != room->q) {
        /* The question this answer is for has closed, or is not yet out. */
        if (question >= 0 && question <= room->q && !room->skipped[question])
            return CQ_ETOO_LATE;
        return CQ_ENOT_OPEN;
    }
    if (room->paused)
        return CQ_EPAUSED;
    int64_t delay = p->shown_q == question ? p->shown_delay : 0;
    int64_t t = now - (room->open_at + delay);
    if (now < room->open_at)
        return CQ_ENOT_OPEN; /* still in the lead-in */
    if (t < 0)
        t = 0; /* open for everyone, but inside this player's display delay */
    if (t > room->limit_us)
        return CQ_ETOO_LATE;

    const struct cq_question *q = current_q(room);
    bool ok;
    double credit;
    int r =
        cq_score_check(q, room->order[room->q], a, room->set.rules.partial_credit, &ok, &credit);
    if (r)
        return r;
    struct cq_answer_rec *rec = &p->answers[room->q];
    if (rec->answered && (!room->set.change_answer || rec->changes >= CQ_ANSWER_CHANGES_MAX))
        return CQ_EALREADY_ANSWERED;

    char *text = NULL;
    if (a->kind == CQ_ANSWER_TEXT && !(text = dupstr(a->text)))
        return CQ_ENOMEM;
    bool first = !rec->answered;
    if (!first)
        rec->changes++;
    free(rec->text);
    rec->text = text;
    rec->answered = true;
    rec->kind = (unsigned char)a->kind;
    rec->choice = a->choice;
    rec->value = a->value;
    rec->n_items = (unsigned char)a->n_items;
    for (unsigned k = 0; k < a->n_items; k++)
        rec->items[k] = (signed char)a->items[k];
    rec->time_us = t;
    *t_us = t;
    room->last_activity = now;
    if (first) {
        room->answered++;
        emit(room, CQ_EV_PROGRESS, p);
    }
    maybe_close_early(room, now);
    record(room, (struct cq_input){.type = CQ_IN_ANSWER,
                                   .now = now,
                                   .player = p,
                                   .question = question,
                                   .answer = a,
                                   .shown_delay = p->shown_q == question ? p->shown_delay : -1});
    return 0;
}

/* ---- host --------------------------------------------------------------- */

bool cq_room_is_host_token(const struct cq_room *room, const char *token)
{
    return cq_text_secret_equal(room->host_token, token);
}

struct cq_player *cq_room_seat(const struct cq_room *room, const char *token)
{
    return pmap_get((struct pmap *)&room->by_token, token);
}

const char *cq_room_host_token(const struct cq_room *room)
{
    return room->host_token;
}

int cq_room_start(struct cq_room *room, int64_t now)
{
    if (room->phase != CQ_PHASE_LOBBY)
        return CQ_EWRONG_PHASE;
    if (!room->n_active)
        return CQ_ENO_PLAYERS;
    if (!room->n_q)
        return CQ_ENO_QUESTIONS;
    room->last_activity = now;
    show_question(room, 0, now);
    record_simple(room, CQ_IN_START, now);
    return 0;
}

static int room_next(struct cq_room *room, int64_t now)
{
    if (room->paused)
        return CQ_EPAUSED;
    room->last_activity = now;
    switch (room->phase) {
    case CQ_PHASE_QUESTION:
        close_question(room, now);
        return 0;
    case CQ_PHASE_REVEAL:
        room->phase = CQ_PHASE_LEADERBOARD;
        room->phase_until = room->set.auto_advance ? now + room->set.leaderboard_us : INT64_MAX;
        rank_players(room, false);
        emit(room, CQ_EV_LEADERBOARD, NULL);
        return 0;
    case CQ_PHASE_LEADERBOARD:
        advance_question(room, now);
        return 0;
    case CQ_PHASE_LOBBY:
    case CQ_PHASE_ENDED:
        break;
    }
    return CQ_EWRONG_PHASE;
}

int cq_room_next(struct cq_room *room, int64_t now)
{
    int r = room_next(room, now);
    if (!r)
        record_simple(room, CQ_IN_NEXT, now);
    return r;
}

int cq_room_skip(struct cq_room *room, int64_t now)
{
    if (room->phase != CQ_PHASE_QUESTION)
        return CQ_EWRONG_PHASE;
    room->last_activity = now;
    room->skipped[room->q] = true;
    room->paused = false;
    /* Nothing is scored; answers given are dropped from the record. */
    for (unsigned i = 0; i < room->n_players; i++) {
        if (!room->players[i])
            continue;
        struct cq_answer_rec *rec = &room->players[i]->answers[room->q];
        free(rec->text);
        memset(rec, 0, sizeof *rec);
    }
    advance_question(room, now);
    record_simple(room, CQ_IN_SKIP, now);
    return 0;
}

int cq_room_pause(struct cq_room *room, int64_t now)
{
    if (room->phase == CQ_PHASE_LOBBY || room->phase == CQ_PHASE_ENDED)
        return CQ_EWRONG_PHASE;
    if (room->paused)
        return CQ_EPAUSED;
    room->paused = true;
    room->paused_at = now;
    room->last_activity = now;
    emit(room, CQ_EV_PAUSED, NULL);
    record_simple(room, CQ_IN_PAUSE, now);
    return 0;
}

int cq_room_resume(struct cq_room *room, int64_t now)
{
    if (!room->paused)
        return CQ_EWRONG_PHASE;
    int64_t d = now - room->paused_at;
    room->paused = false;
    room->sent_at += d;
    room->open_at += d;
    room->close_at += d;
    if (room->phase_until != INT64_MAX)
        room->phase_until += d;
    room->last_activity = now;
    emit(room, CQ_EV_RESUMED, NULL);
    record_simple(room, CQ_IN_RESUME, now);
    return 0;
}

int cq_room_add_time(struct cq_room *room, int seconds, int64_t now)
{
    if (room->phase != CQ_PHASE_QUESTION)
        return CQ_EWRONG_PHASE;
    int64_t d = (int64_t)seconds * 1000000LL;
    room->limit_us += d;
    room->close_at += d;
    room->last_activity = now;
    emit(room, CQ_EV_TIME_ADDED, NULL);
    record(room, (struct cq_input){.type = CQ_IN_ADD_TIME, .now = now, .seconds = seconds});
    return 0;
}

static int room_end(struct cq_room *room, int64_t now)
{
    if (room->phase == CQ_PHASE_ENDED)
        return CQ_EWRONG_PHASE;
    if (room->phase == CQ_PHASE_QUESTION) {
        room->paused = false;
        close_question(room, now); /* what was answered still counts */
    }
    end_game(room, now);
    return 0;
}

int cq_room_end(struct cq_room *room, int64_t now)
{
    int r = room_end(room, now);
    if (!r)
        record_simple(room, CQ_IN_END, now);
    return r;
}

/* ---- time ----------------------------------------------------------------- */

/* Releases the seats of players gone longer than the grace period. */
static void release_seats(struct cq_room *room, int64_t now)
{
    while (room->drop_len) {
        struct drop d = room->drops[room->drop_head];
        if (d.at + room->set.rejoin_grace_us > now)
            break;
        room->drop_head = (room->drop_head + 1) % room->drop_cap;
        room->drop_len--;
        struct cq_player *p = cq_room_player(room, d.id);
        /* Skip those who came back (or went) since. */
        if (p && !p->connected && !p->left && !p->kicked && p->disconnected_at == d.at) {
            p->left = p->expired = true;
            remove_player(room, p, now);
            maybe_drop(room, p);
        }
    }
}

/* A lobby with no player in it (none came, or all went) closes after
 * empty_lobby_us: bulk-created junk games do not hold the server, and
 * joining once and leaving does not keep one alive. */
static bool lobby_empty(const struct cq_room *room)
{
    return room->phase == CQ_PHASE_LOBBY && room->n_active == 0 && room->set.empty_lobby_us;
}

int64_t cq_room_next_deadline(const struct cq_room *room)
{
    int64_t idle = room->last_activity + room->set.idle_ttl_us;
    int64_t t = INT64_MAX;
    if (room->phase == CQ_PHASE_ENDED)
        return room->expire_at;
    if (lobby_empty(room)) {
        int64_t empty = room->empty_since + room->set.empty_lobby_us;
        idle = empty < idle ? empty : idle;
    }
    if (room->drop_len) {
        int64_t seat = room->drops[room->drop_head].at + room->set.rejoin_grace_us;
        idle = seat < idle ? seat : idle;
    }
    if (!room->paused) {
        if (room->phase == CQ_PHASE_QUESTION)
            t = room->close_at;
        else
            t = room->phase_until;
    }
    return t < idle ? t : idle;
}

static void room_tick(struct cq_room *room, int64_t now)
{
    if (room->phase == CQ_PHASE_ENDED) {
        if (now >= room->expire_at) {
            room->expire_at = INT64_MAX;
            emit(room, CQ_EV_EXPIRED, NULL);
        }
        return;
    }
    if (lobby_empty(room) && now >= room->empty_since + room->set.empty_lobby_us) {
        /* Nobody came: gone without an end and without results. */
        room->phase = CQ_PHASE_ENDED;
        room->expire_at = INT64_MAX;
        emit(room, CQ_EV_EXPIRED, NULL);
        return;
    }
    if (now >= room->last_activity + room->set.idle_ttl_us) {
        room_end(room, now);
        return;
    }
    release_seats(room, now);
    if (room->paused)
        return;
    if (room->phase == CQ_PHASE_QUESTION && now >= room->close_at)
        close_question(room, now);
    else if (room->phase != CQ_PHASE_QUESTION && now >= room->phase_until)
        room_next(room, now);
}

void cq_room_tick(struct cq_room *room, int64_t now)
{
    room_tick(room, now);
    record_simple(room, CQ_IN_TICK, now);
}

static void shift_at(int64_t *t, int64_t delta)
{
    if (*t != INT64_MAX)
        *t += delta;
}

void cq_room_shift(struct cq_room *room, int64_t delta)
{
    room->sent_at += delta;
    room->open_at += delta;
    shift_at(&room->close_at, delta);
    shift_at(&room->phase_until, delta);
    room->paused_at += delta;
    room->last_activity += delta;
    room->created_at += delta;
    shift_at(&room->empty_since, delta);
    shift_at(&room->expire_at, delta);
    for (size_t i = 0; i < room->drop_len; i++)
        room->drops[(room->drop_head + i) % room->drop_cap].at += delta;
    for (unsigned i = 0; i < room->n_players; i++) {
        struct cq_player *p = room->players[i];
        if (!p)
            continue;
        p->disconnected_at += delta;
        /* Connected when the server stopped: the adapter marks them away
         * next, but they still count as expected (see cq_player.held). */
        if (p->connected && !p->left && !p->kicked && !p->held)
            p->held = true;
    }
    record(room, (struct cq_input){.type = CQ_IN_SHIFT, .delta = delta});
}

void cq_room_set_hooks(struct cq_room *room, const struct cq_room_hooks *hooks, void *ud)
{
    room->hooks = hooks;
    room->ud = ud;
}

bool cq_room_expired(const struct cq_room *room)
{
    return room->phase == CQ_PHASE_ENDED && room->expire_at == INT64_MAX;
}

bool cq_room_never_joined(const struct cq_room *room)
{
    return room->phase == CQ_PHASE_LOBBY && room->n_players == 0;
}

/* ---- reading ------------------------------------------------------------- */

const char *cq_room_pin(const struct cq_room *room)
{
    return room->pin;
}
const struct cq_bank *cq_room_bank(const struct cq_room *room)
{
    return room->bank;
}
const struct cq_room_settings *cq_room_settings(const struct cq_room *room)
{
    return &room->set;
}
enum cq_phase cq_room_phase(const struct cq_room *room)
{
    return room->phase;
}
bool cq_room_paused(const struct cq_room *room)
{
    return room->paused;
}
bool cq_room_locked(const struct cq_room *room)
{
    return room->locked;
}
unsigned cq_room_n_questions(const struct cq_room *room)
{
    return room->n_q;
}
int cq_room_current(const struct cq_room *room)
{
    return room->q;
}
const struct cq_question *cq_room_question(const struct cq_room *room, int index)
{
    if (index < 0 || index >= (int)room->n_q)
        return NULL;
    return &room->bank->questions[room->qidx[index]];
}
const unsigned char *cq_room_order(const struct cq_room *room, int index)
{
    return room->order[index];
}
int64_t cq_room_limit_us(const struct cq_room *room)
{
    return room->limit_us;
}
int64_t cq_room_remaining_us(const struct cq_room *room, int64_t now)
{
    if (room->phase != CQ_PHASE_QUESTION)
        return 0;
    int64_t at = room->paused ? room->paused_at : now;
    int64_t end = room->open_at + room->limit_us;
    return end > at ? end - at : 0;
}
int64_t cq_room_lead_remaining_us(const struct cq_room *room, int64_t now)
{
    if (room->phase != CQ_PHASE_QUESTION)
        return 0;
    int64_t at = room->paused ? room->paused_at : now;
    return room->open_at > at ? room->open_at - at : 0;
}
bool cq_room_skipped(const struct cq_room *room, int index)
{
    return index >= 0 && index < (int)room->n_q && room->skipped[index];
}
unsigned cq_room_answered(const struct cq_room *room)
{
    return room->answered;
}
const unsigned *cq_room_counts(const struct cq_room *room)
{
    return room->counts;
}
unsigned cq_room_n_correct(const struct cq_room *room)
{
    return room->n_correct;
}
unsigned cq_room_n_players(const struct cq_room *room)
{
    return room->n_active;
}
unsigned cq_room_n_connected(const struct cq_room *room)
{
    return room->n_connected;
}
struct cq_player *const *cq_room_players(const struct cq_room *room, unsigned *n)
{
    *n = room->n_players;
    return room->players;
}
struct cq_player *const *cq_room_ranking(const struct cq_room *room, unsigned *n)
{
    *n = room->n_ranked;
    return room->ranking;
}
struct cq_player *cq_room_player(const struct cq_room *room, uint32_t id)
{
    return id >= 1 && id <= room->n_players ? room->players[id - 1] : NULL;
}

const char *cq_phase_name(enum cq_phase p)
{
    static const char *const names[] = {"lobby", "question", "reveal", "leaderboard", "ended"};
    return (unsigned)p < sizeof names / sizeof names[0] ? names[p] : "?";
}
