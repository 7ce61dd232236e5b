/* session.h: the live games above the transport: who is in which game,
 * fan-out, the games' logs and records, restore after a restart.
 *
 * The layer between the transport (server/net) and the game (room.h). It
 * sees a connection only through `struct cq_session_conn_ops` (send a built
 * message, close with a code, hold and release what waits for the log, the
 * tarpit, idle accounting) and the store only through `struct
 * cq_session_store` (append a log, write a record, ask who owns a group):
 * the lws adapter and the Redis adapter implement them, and the tests
 * implement both with fakes (tests/unit/test_session.c). Time is an input:
 * every entry point takes the loop iteration's `now` (monotonic µs), and
 * the session asks its owner to wake it (`wake`) at its next deadline
 * rather than keeping timers of its own. No libwebsockets, no hiredis, no
 * libuv here (scripts/layering.cmake).
 *
 * Ownership: the session owns its games and the built messages it hands
 * out by reference (struct cq_buf, refcounted); the transport owns each
 * connection and embeds its `struct cq_session_conn`, which the session
 * links into games until cq_session_conn_gone.
 */
#ifndef CQ_SESSION_H
#define CQ_SESSION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "content.h"
#include "cq_proto.h"
#include "room.h"
#include "wordlist.h"

struct cq_config;
struct cq_session;
struct cq_game;
struct cq_group_check;

/* Bytes kept free in front of every built message for the transport's
 * frame header (lws needs LWS_PRE, 16 in 4.1; conn.c checks it fits). */
#define CQ_BUF_HEADROOM 16

/* One serialised message, shared by every queue it sits in. */
struct cq_buf {
    unsigned refs;
    size_t len;
    /* An answer_ack: when its answer was received, observed into the
     * latency histogram once written; 0 for every other message. */
    int64_t answer_at;
    unsigned char data[]; /* CQ_BUF_HEADROOM bytes, then len bytes and a NUL */
};

/* Encodes `msg` (stolen); refs = 0. NULL when msg is NULL or out of memory. */
struct cq_buf *cq_buf_from_json(json_t *msg);
struct cq_buf *cq_buf_from_bytes(const void *data, size_t len); /* refs = 0 */
void cq_buf_unref(struct cq_buf *b);

struct cq_session_conn;

/* What the session asks of a connection; the transport implements it. */
struct cq_session_conn_ops {
    /* Queues `b` (takes a ref when it keeps it). A connection too slow to
     * keep up is cut off by the transport, at a safe point. */
    void (*push)(struct cq_session_conn *sc, struct cq_buf *b);
    /* The same, ahead of what is held (`hold`): for a notice that confirms
     * nothing, such as the storage warning. */
    void (*push_ahead)(struct cq_session_conn *sc, struct cq_buf *b);
    /* Sends what is queued, then closes with `code` and `reason`. */
    void (*close_after)(struct cq_session_conn *sc, uint16_t code, const char *reason);
    /* What is pushed from now on waits until `release`. */
    void (*hold)(struct cq_session_conn *sc);
    void (*release)(struct cq_session_conn *sc);
    /* The answer to a wrong guess (steals msg): counted against the
     * address, sent at once within its budget, later past it. */
    void (*wrong_guess)(struct cq_session_conn *sc, const char *what, json_t *msg);
    /* The connection is in a game now (false), or in none again (true). */
    void (*set_idle)(struct cq_session_conn *sc, bool idle);
};

/* A connection as the session sees it: embedded in the transport's own
 * connection, set up with cq_session_conn_init, and handed back with
 * cq_session_conn_gone before the transport frees it. */
struct cq_session_conn {
    const struct cq_session_conn_ops *ops;
    const char *peer;     /* for the log; the transport's, outlives this */
    struct cq_addr *addr; /* per-address accounting (addr.h); may be NULL */
    /* The session's, read-only to the transport. */
    unsigned role; /* CQ_ROLE_* */
    struct cq_game *game;
    struct cq_player *player;
    unsigned slot;                   /* index in the game's connections */
    struct cq_group_check *creating; /* a create_game waiting for the store */
    /* Held until the game's log entries below `gate_need` are stored. */
    struct cq_game *gate_game;
    uint64_t gate_need;
    struct cq_session_conn *gate_prev, *gate_next;
    /* Entered another game while held: then held for that game's entries
     * below `then_need` too, once gate_game's are stored ("" : none). By id,
     * not pointer: that game may close first. */
    char then_game[32];
    uint64_t then_need;
    bool summary_due; /* its player's `summary` is still to come (the game's end) */
};

/* The store as the session uses it; NULL for a server without one. The
 * Redis adapter implements it (store.h, cq_store_session_ops); every call
 * is asynchronous and reports through the session's entry points below. */
enum cq_group_claim {
    CQ_GROUP_UNKNOWN,  /* the store is away or slow: not checked */
    CQ_GROUP_NEW,      /* no owner yet: `new_digest` is now the owner */
    CQ_GROUP_OWNER,    /* `digest` is the owner's */
    CQ_GROUP_REQUIRED, /* the group has an owner and no digest was given */
    CQ_GROUP_WRONG,    /* the group has another owner */
};
typedef void (*cq_session_claim_cb)(void *ud, enum cq_group_claim outcome);
/* One player's points from one game, for the boards that outlive games. */
struct cq_board_entry {
    const char *member;  /* stable identity: the folded nickname */
    const char *display; /* the name as last shown */
    long long score;
};
struct cq_session_store {
    bool (*connected)(void *st);
    /* Journal entries left while the store is away (SIZE_MAX: no limit). */
    size_t (*journal_room)(void *st);
    /* Appends a game's log entries; `last_seq` is the number of the last
     * one: cq_session_stored reports when they are stored. ttl_s 0: keep. */
    void (*log_append)(void *st, const char *game_id, const char *const *entries,
                       const size_t *lens, size_t n, unsigned ttl_s, uint64_t last_seq);
    void (*live_add)(void *st, const char *game_id);
    void (*live_remove)(void *st, const char *game_id);
    void (*game_board)(void *st, const char *game_id, const char **ids, const long long *scores,
                       unsigned n, unsigned ttl_s);
    void (*put_result)(void *st, const char *game_id, const char *json, size_t len, unsigned ttl_s);
    void (*count_game)(void *st, const char *game_id, const char *bank, const char *group,
                       const char *group_digest, const struct cq_board_entry *e, size_t n,
                       long long unix_now);
    /* Who owns `group`: cb runs exactly once, maybe before this returns. */
    void (*group_claim)(void *st, const char *group, const char *digest, const char *new_digest,
                        cq_session_claim_cb cb, void *ud);
    void (*group_release)(void *st, const char *group, const char *digest);
};

/* What the session borrows; all must outlive it. */
struct cq_session_deps {
    const struct cq_config *cfg;
    const struct cq_bankset *banks;
    const struct cq_wordlist *blocked;        /* may be NULL */
    const struct cq_session_store *store_ops; /* NULL: no store */
    void *store;
    struct cq_addr_table *addrs;
    /* Wake the session (cq_session_tick) at `at` or soon after: its next
     * deadline. A later call replaces an earlier one. */
    void (*wake)(void *ud, int64_t at);
    /* Log entries were made: call cq_session_flush_logs once this loop
     * iteration's events are handled (they leave in one write per game). */
    void (*logs_pending)(void *ud);
    /* Adds where players can reach the server to a host's or spectator's
     * `joined` (`local_only`, and `public_url` or `lan_urls`: joinurl.c);
     * the protocol requires them. */
    void (*join_urls)(void *ud, json_t *joined);
    void *ud;
};

struct cq_session_metrics {
    uint64_t answers, games_created, refused_games, state_encodes;
    /* Requests refused with storage_full: the journal nearly full, or a
     * game's part of it spent (session.c storage_full). */
    uint64_t storage_full, storage_share;
};

/* Journal writes kept back for what the games do by themselves (their
 * timers) while Redis is away: a tenth of --journal-max, at least 10. One
 * more is kept back for each player in a game (storage_full). */
size_t cq_session_journal_tenth(unsigned journal_max);

/* NULL when out of memory. */
struct cq_session *cq_session_new(const struct cq_session_deps *deps);
/* Frees what cq_session_stop left (call that first). */
void cq_session_free(struct cq_session *s);
/* Closes every game; what still waits for the log is never sent (the
 * store's last flush comes after, and a kill in between must find no
 * acknowledgement of what is not stored). */
void cq_session_stop(struct cq_session *s);
bool cq_session_stopping(const struct cq_session *s);

/* The wall clock's seconds (game ids, records) beside the monotonic `now`
 * the entry points take; set by the owner once per loop iteration. */
void cq_session_set_unix(struct cq_session *s, long long unix_s);

/* A connection opened / is gone. */
void cq_session_conn_init(struct cq_session_conn *sc, const struct cq_session_conn_ops *ops,
                          const char *peer, struct cq_addr *addr);
void cq_session_conn_gone(struct cq_session *s, struct cq_session_conn *sc, int64_t now);

/* One decoded message whose type the connection's role may send (the
 * transport checked cq_msg_roles). `now`: when it was received. */
void cq_session_handle(struct cq_session *s, struct cq_session_conn *sc, const struct cq_msg *m,
                       int64_t now);
/* The deadlines due by `now` (game timers, coalesced updates). */
void cq_session_tick(struct cq_session *s, int64_t now);
/* Sends the log entries the games made since the last call. */
void cq_session_flush_logs(struct cq_session *s);

/* The store's reports. `stored` false: the entries from `seq` on were
 * dropped, and what depends on them never goes out. */
void cq_session_stored(struct cq_session *s, const char *game_id, uint64_t seq, bool stored);
void cq_session_store_state(struct cq_session *s, bool connected);
json_t *cq_session_redis_warning(bool connected);

/* The monotonic time the previous server was last known alive (-1:
 * unknown): a resumed game's clock goes on from there. */
void cq_session_set_last_alive(struct cq_session *s, int64_t mono_us);
/* Rebuilds a game from its log after a restart; false when it cannot be. */
bool cq_session_restore(struct cq_session *s, const char *game_id, const char *const *entries,
                        const size_t *lens, size_t n, int64_t now);

unsigned cq_session_games(const struct cq_session *s);
unsigned cq_session_players(const struct cq_session *s);
const struct cq_session_metrics *cq_session_metrics(const struct cq_session *s);

#endif
