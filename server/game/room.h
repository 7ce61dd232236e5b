/* room.h: one live game: players, the question flow, the clock, scores.
 *
 * Pure logic: every call takes the time (`now`, microseconds on a monotonic
 * clock) as an argument and nothing here touches sockets, Redis or the real
 * clock. What happens is reported through hooks->emit, synchronously, from
 * inside the call that caused it. The transport adapter asks
 * cq_room_next_deadline() after each call and arranges for cq_room_tick()
 * to run then.
 *
 * Ownership: the room owns its players and copies of every string it is
 * given; it borrows the bank, which must outlive it.
 */
#ifndef CQ_ROOM_H
#define CQ_ROOM_H

#include <stdbool.h>
#include <stdint.h>

#include "bank.h"
#include "score.h"

#define CQ_DEFAULT_TIME_LIMIT_S 20
/* The game's timing defaults, written once: the server's options
 * (server/main/config.c) start from them and cq_room_settings_default uses
 * them. */
#define CQ_DEFAULT_REVEAL_MS         5000 /* auto-advance: the reveal's time on screen */
#define CQ_DEFAULT_LEADERBOARD_MS    5000 /* auto-advance: the leaderboard's */
#define CQ_DEFAULT_MAX_SHOW_DELAY_MS 1000 /* display delay a player's clock may be credited */
#define CQ_DEFAULT_REJOIN_GRACE_S    300  /* a dropped player's seat is kept */
#define CQ_DEFAULT_ENDED_TTL_S       1800 /* an ended game stays open for results */
#define CQ_DEFAULT_EMPTY_LOBBY_S     600  /* a lobby with no player closes */

enum cq_phase {
    CQ_PHASE_LOBBY = 0,
    CQ_PHASE_QUESTION, /* lead-in, then answering until the deadline */
    CQ_PHASE_REVEAL,
    CQ_PHASE_LEADERBOARD,
    CQ_PHASE_ENDED,
};

enum cq_event_type {
    CQ_EV_PLAYER_JOINED,
    CQ_EV_PLAYER_LEFT,   /* left or kicked (player->kicked tells) */
    CQ_EV_PLAYER_STATUS, /* connected flag changed */
    CQ_EV_LOCKED,        /* lock flag changed */
    CQ_EV_QUESTION,      /* a question is shown */
    CQ_EV_PROGRESS,      /* the answered count changed */
    CQ_EV_PAUSED,
    CQ_EV_RESUMED,
    CQ_EV_TIME_ADDED,
    CQ_EV_REVEAL,      /* answering closed and scored */
    CQ_EV_LEADERBOARD, /* standings after the question */
    CQ_EV_ENDED,       /* final results */
    CQ_EV_EXPIRED,     /* nothing more will happen: free the room */
};

struct cq_room;
struct cq_player;

/* Every call that changes a room is an input; replaying a room's inputs in
 * order, with their times, rebuilds it exactly (see replay.h). */
enum cq_input_type {
    CQ_IN_JOIN,
    CQ_IN_REJOIN,
    CQ_IN_DISCONNECT,
    CQ_IN_LEAVE,
    CQ_IN_SHOWN,
    CQ_IN_ANSWER,
    CQ_IN_START,
    CQ_IN_NEXT,
    CQ_IN_SKIP,
    CQ_IN_PAUSE,
    CQ_IN_RESUME,
    CQ_IN_ADD_TIME,
    CQ_IN_END,
    CQ_IN_KICK,
    CQ_IN_LOCK,
    CQ_IN_TICK,
    CQ_IN_SHIFT, /* the clock moved to another base (a restart) */
};

struct cq_input {
    enum cq_input_type type;
    int64_t now;
    const struct cq_player *player; /* join, rejoin, disconnect, leave, shown, answer */
    uint32_t player_id;             /* kick */
    int question;                   /* shown, answer */
    const struct cq_answer *answer; /* answer */
    int64_t shown_delay;            /* answer: the player's display delay in effect, or -1 */
    int seconds;                    /* add_time */
    bool locked;                    /* lock */
    int64_t delta;                  /* shift */
};

struct cq_event {
    enum cq_event_type type;
    struct cq_player *player; /* the player concerned, or NULL */
};

struct cq_room_hooks {
    void (*emit)(void *ud, struct cq_room *room, const struct cq_event *ev);
    /* True when a nickname (trimmed, as shown) holds a blocked word;
     * NULL: none blocked. */
    bool (*blocked)(void *ud, const char *nickname);
    /* Told of every input that changed the room, after it did; NULL: none. */
    void (*input)(void *ud, struct cq_room *room, const struct cq_input *in);
};

struct cq_room_settings {
    struct cq_score_rules rules;
    bool auto_advance, late_join, change_answer;
    int time_limit_s; /* 0: each question's own, else CQ_DEFAULT_TIME_LIMIT_S */
    int lead_in_s;
    unsigned max_players;
    unsigned nickname_max;     /* characters */
    int64_t reveal_us;         /* auto-advance: time on the reveal */
    int64_t leaderboard_us;    /* auto-advance: time on the leaderboard */
    int64_t max_show_delay_us; /* most a `shown` may push a player's clock back */
    int64_t rejoin_grace_us;   /* a dropped player's seat is kept this long */
    int64_t ended_ttl_us;      /* an ended game stays this long for results */
    int64_t idle_ttl_us;       /* a game with no activity this long ends */
    /* A game whose lobby has no player (none ever joined, or all left, were
     * kicked or lost their seat) closes this long after it became empty,
     * without results (junk games do not hold the server); 0: never. */
    int64_t empty_lobby_us;
    char group[4 * CQ_GROUP_MAX + 1];
};

void cq_room_settings_default(struct cq_room_settings *s);

/* One player's answer to one question, as recorded for results. */
struct cq_answer_rec {
    bool answered, correct, scored;
    unsigned char changes; /* answers after the first, at most CQ_ANSWER_CHANGES_MAX */
    unsigned char kind;    /* enum cq_answer_kind */
    unsigned char n_items;
    signed char items[CQ_OPTIONS_MAX]; /* bank order for ordering; else as sent */
    int choice;
    bool value;
    char *text;
    int64_t time_us;
    int64_t points, bonus;
};

struct cq_player {
    uint32_t id; /* 1-based, stable for the game */
    char *nickname;
    char *fold;  /* folded nickname (cq_text_fold): the leaderboards' identity */
    char *key;   /* folded nickname key (nickname.h): equal keys, the same name */
    char *shape; /* shape nickname key (nickname.h): equal keys, the same name */
    /* The key of the player's resume token: the adapter passes its SHA-256
     * (secret.h), so neither the room nor its log holds the token itself. */
    char token[CQ_TOKEN_MAX + 1];
    int64_t score;
    int streak;
    int rank, prev_rank; /* 0 until ranked */
    bool connected, kicked, left;
    bool expired;  /* seat released after the rejoin grace period (also `left`) */
    bool ranked;   /* in the room's current ranking (it points at us) */
    bool drop_due; /* departed without an answer: freed at the next ranking */
    /* Connected when the server stopped (set by cq_room_shift): while away
     * within the rejoin grace, still expected to answer, so a restored
     * question does not close on the first returning player's answer.
     * Cleared by a rejoin, a leave, a kick or the seat's release. */
    bool held;
    int64_t disconnected_at;
    int shown_q;                   /* question index `shown_delay` is for, -1 none */
    int64_t shown_delay;           /* bounded delay between send and display */
    struct cq_answer_rec *answers; /* one per game question */
    void *conn;                    /* the adapter's: its connection, or NULL */
    /* The adapter's too: its budget of rejoins (not in the log; a restart
     * gives every seat a full one). */
    int64_t rejoin_credit, rejoin_at;
};

/* Picks the game's questions from a bank: those carrying any of `tags`
 * (none: all), in bank order or shuffled with `seed`, at most `count`
 * (0: all), never two that exclude each other (a question's `excludes`:
 * the earlier one in that order is kept). Writes bank indexes to `out`
 * (room for bank->n_questions). Returns how many, 0 when nothing matched. */
unsigned cq_room_select(const struct cq_bank *bank, const char *const *tags, unsigned n_tags,
                        unsigned count, bool shuffle, uint64_t seed, unsigned *out);

/* Creates a room in the lobby. `pin` and `host_token` come from the
 * adapter's random source, `seed` too (option order shuffles). Tokens, the
 * host's and the players', are opaque keys to the room: the server passes
 * their SHA-256 (secret.h), never the token a client holds. NULL on
 * allocation failure. */
struct cq_room *cq_room_create(const struct cq_bank *bank, const unsigned *qidx, unsigned n_q,
                               const struct cq_room_settings *set, const char *pin,
                               const char *host_token, uint64_t seed, int64_t now,
                               const struct cq_room_hooks *hooks, void *ud);
void cq_room_free(struct cq_room *room);
/* Replaces the hooks (a replayed room goes live with the adapter's). */
void cq_room_set_hooks(struct cq_room *room, const struct cq_room_hooks *hooks, void *ud);
/* Moves every instant the room holds by `delta` (a new clock base after a
 * restart: the time the server was down does not count). Players connected
 * at that point are held: expected to answer until they rejoin or their
 * rejoin grace ends, even while away. */
void cq_room_shift(struct cq_room *room, int64_t delta);

/* --- players ---------------------------------------------------------- */
int cq_room_join(struct cq_room *room, const char *nickname, const char *token, int64_t now,
                 struct cq_player **out);
/* The same, and when the nickname is refused, why (for the error message,
 * at most `why_cap` bytes; CQ_NICK_WHY_MAX is enough). */
int cq_room_join_why(struct cq_room *room, const char *nickname, const char *token, int64_t now,
                     struct cq_player **out, char *why, size_t why_cap);
/* Finds the player holding `token`, marks them connected. */
int cq_room_rejoin(struct cq_room *room, const char *token, int64_t now, struct cq_player **out);
void cq_room_disconnect(struct cq_room *room, struct cq_player *p, int64_t now);
void cq_room_leave(struct cq_room *room, struct cq_player *p, int64_t now);
int cq_room_shown(struct cq_room *room, struct cq_player *p, int question, int64_t now);
/* For a replay: sets the display delay an answer was measured with. */
void cq_room_set_shown(struct cq_room *room, struct cq_player *p, int question, int64_t delay);
/* Records an answer; `t_us` gets the measured answer time. */
int cq_room_answer(struct cq_room *room, struct cq_player *p, int question,
                   const struct cq_answer *a, int64_t now, int64_t *t_us);

/* --- host ------------------------------------------------------------- */
bool cq_room_is_host_token(const struct cq_room *room, const char *token);
/* The seat whose token key is `token`, whatever its state; NULL if none. */
struct cq_player *cq_room_seat(const struct cq_room *room, const char *token);
const char *cq_room_host_token(const struct cq_room *room);
int cq_room_start(struct cq_room *room, int64_t now);
int cq_room_next(struct cq_room *room, int64_t now);
int cq_room_skip(struct cq_room *room, int64_t now);
int cq_room_pause(struct cq_room *room, int64_t now);
int cq_room_resume(struct cq_room *room, int64_t now);
int cq_room_add_time(struct cq_room *room, int seconds, int64_t now);
int cq_room_end(struct cq_room *room, int64_t now);
int cq_room_kick(struct cq_room *room, uint32_t player_id, int64_t now);
int cq_room_lock(struct cq_room *room, bool locked, int64_t now);

/* --- time ------------------------------------------------------------- */
/* The next instant at which cq_room_tick has work; INT64_MAX when none. */
int64_t cq_room_next_deadline(const struct cq_room *room);
void cq_room_tick(struct cq_room *room, int64_t now);

/* --- reading the state (for encoding) --------------------------------- */
const char *cq_room_pin(const struct cq_room *room);
/* Ended and past its time to stay (or an empty lobby past
 * empty_lobby_us): nothing more will happen. */
bool cq_room_expired(const struct cq_room *room);
/* True when the game is still in the lobby and no player ever joined it. */
bool cq_room_never_joined(const struct cq_room *room);
const struct cq_bank *cq_room_bank(const struct cq_room *room);
const struct cq_room_settings *cq_room_settings(const struct cq_room *room);
enum cq_phase cq_room_phase(const struct cq_room *room);
bool cq_room_paused(const struct cq_room *room);
bool cq_room_locked(const struct cq_room *room);
unsigned cq_room_n_questions(const struct cq_room *room);
int cq_room_current(const struct cq_room *room); /* -1 in the lobby */
const struct cq_question *cq_room_question(const struct cq_room *room, int index);
/* Displayed option order of a game question: order[pos] = bank option index. */
const unsigned char *cq_room_order(const struct cq_room *room, int index);
int64_t cq_room_limit_us(const struct cq_room *room); /* current question */
int64_t cq_room_remaining_us(const struct cq_room *room, int64_t now);
int64_t cq_room_lead_remaining_us(const struct cq_room *room, int64_t now);
bool cq_room_skipped(const struct cq_room *room, int index);
unsigned cq_room_answered(const struct cq_room *room); /* current question */
/* Per displayed option: how many chose it (after reveal). */
const unsigned *cq_room_counts(const struct cq_room *room);
unsigned cq_room_n_correct(const struct cq_room *room);
unsigned cq_room_n_players(const struct cq_room *room); /* not kicked or left */
unsigned cq_room_n_connected(const struct cq_room *room);
/* All players ever joined, by id - 1 (including kicked and left), except
 * those who departed (left, kicked, seat released) without ever answering:
 * their slot is NULL. They are dropped so that joining and leaving cannot
 * grow a game's memory and record without bound; their token still gets
 * the refusal it had (kicked, resume_expired, bad_token). */
struct cq_player *const *cq_room_players(const struct cq_room *room, unsigned *n);
/* Players ranked best first (not kicked, not left); valid after a reveal. */
struct cq_player *const *cq_room_ranking(const struct cq_room *room, unsigned *n);
struct cq_player *cq_room_player(const struct cq_room *room, uint32_t id);
const char *cq_phase_name(enum cq_phase p);

#endif
