/* store.h: the Redis adapter (the only includer of hiredis).
 *
 * One async connection on the server's libuv loop. It reconnects with
 * capped back-off when Redis goes away. Only store.c includes hiredis;
 * callers see typed results. Writes made while Redis is away are
 * kept in order in a bounded journal and replayed on reconnect; a write
 * that cannot be kept is logged loudly and counted. Every callback given to
 * cq_store_* runs exactly once: with the reply, or with NULL on failure
 * (including cq_store_free). A command unanswered within the timeout
 * (a Redis that accepts but stops answering) recycles the connection:
 * dropped, connected again, the journal replayed.
 */
#ifndef CQ_STORE_H
#define CQ_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "session.h"

struct uv_loop_s;
struct cq_store;
struct cq_jfile;

struct cq_store_stats {
    uint64_t errors, reconnects, journal_dropped;
    uint64_t server_restarts;     /* the embedded Redis started again under us */
    uint64_t recycles;            /* connections dropped for an unanswered command */
    uint64_t journal_file_errors; /* failed writes or syncs of the journal file */
    uint64_t wait_short;          /* WAITs answered with fewer replicas than asked */
    size_t journal_depth;
    size_t journal_file_bytes;
    bool connected;
};

/* Told when the connection to Redis comes or goes. */
typedef void (*cq_store_state_cb)(void *ud, bool connected);

struct cq_store *cq_store_new(struct uv_loop_s *loop, const struct cq_redis_target *target,
                              const char *prefix, int timeout_ms, unsigned journal_max);
void cq_store_on_state(struct cq_store *s, cq_store_state_cb cb, void *ud);
/* Told that a game's log entries up to and including `seq` are stored: in
 * Redis (answered; with the embedded Redis that is on disk, appendfsync
 * always), or, while Redis is not there, in the journal file (synced). In
 * order for each game; the same entry may be told twice (the file, then
 * Redis): keep the highest. With `stored` false: the entries from `seq` on
 * were dropped (the journal's bound, logged): none of them, nor any later
 * one of that game, is ever stored for good (its log has a gap). */
typedef void (*cq_store_stored_cb)(void *ud, const char *game_id, uint64_t seq, bool stored);
void cq_store_on_stored(struct cq_store *s, cq_store_stored_cb cb, void *ud);
/* The journal file (jfile.h, opened and closed by the caller, after the
 * store is freed): while Redis is away, journaled writes are appended and
 * synced to it at the end of each loop iteration. With `acks` (the embedded
 * Redis, which no other server can reach) they are told stored then; else
 * they wait for Redis all the same: another server may take the prefix
 * over while this one cannot reach Redis, and what only this server's disk
 * holds would be missing from the games it resumes (docs/redis.md). */
void cq_store_set_journal_file(struct cq_store *s, struct cq_jfile *jf, bool acks);
/* Told once, when a lease renewal finds another server holding the prefix:
 * this server must stop at once, writing and acknowledging nothing more
 * (the caller exits). Until a renewal has confirmed the lease, within the
 * last three quarters of --server-lease, no write is sent (cq_store_alive). */
typedef void (*cq_store_lease_lost_cb)(void *ud, const char *holder);
void cq_store_on_lease_lost(struct cq_store *s, cq_store_lease_lost_cb cb, void *ud);
/* With an external Redis that has replicas: a log entry counts as stored
 * only once `replicas` of them have it too (one WAIT after each batch,
 * bounded by half the command timeout; short of it, logged and counted, and
 * told stored all the same: the primary has it, and a game must not freeze
 * for a replica). 0 (the default): the primary's answer. */
void cq_store_set_replicas(struct cq_store *s, unsigned replicas);
/* Starts connecting; returns at once. */
void cq_store_start(struct cq_store *s);
/* Sends what is journaled and waits for Redis's replies (at most the
 * command timeout, on the loop: keep running it), then frees; every pending
 * callback runs, with NULL for what got no reply. Do not use `s` after. */
void cq_store_free(struct cq_store *s);

bool cq_store_connected(const struct cq_store *s);
/* Writes the journal can still take before its bound (--journal-max). */
size_t cq_store_journal_room(const struct cq_store *s);
/* The Redis server was started again under us (the embedded one, after a
 * crash): counted, and connecting starts over without waiting out the
 * back-off. The journal is replayed once connected, as after any loss. */
void cq_store_server_restarted(struct cq_store *s);
void cq_store_stats(const struct cq_store *s, struct cq_store_stats *out);

/* A write that must not be lost: sent now, or journaled until Redis is
 * back. Writes are replayed in order, so each must be idempotent. */
int cq_store_write(struct cq_store *s, int argc, const char **argv, const size_t *argvlen);

/* ---- game data (key schema: docs/redis.md) ------------------------------ */

/* The live game's board: absolute scores, so a replay is harmless. */
int cq_store_game_board(struct cq_store *s, const char *game_id, const char **ids,
                        const long long *scores, size_t n, unsigned ttl_s);
/* Adds a finished game to the all-time and weekly boards of its bank and of
 * its group (when it has one), exactly once per game id. `now` is Unix time.
 * `group_digest` is the SHA-256 (secret.h) of the group secret the game was
 * created with: the group's boards count the game only if the group has
 * that owner, or has none yet (then it becomes the owner; "" claims
 * nothing: a log from before groups had owners). */
int cq_store_count_game(struct cq_store *s, const char *game_id, const char *bank,
                        const char *group, const char *group_digest, const struct cq_board_entry *e,
                        size_t n, long long now);

/* Who owns a group's boards, asked when a game is created with its label
 * (enum cq_group_claim, session.h). */
typedef cq_session_claim_cb cq_store_claim_cb;
/* Checks `digest` (NULL: none given) against the owner of `group`, or makes
 * `new_digest` its owner when it has none, in one atomic step. The callback
 * may run before this returns (Redis away). */
int cq_store_group_claim(struct cq_store *s, const char *group, const char *digest,
                         const char *new_digest, cq_store_claim_cb cb, void *ud);
/* Gives up a claim made with `new_digest` (CQ_GROUP_NEW) whose game was
 * never created (its host went away first): the label is free again, unless
 * someone else owns it by now. A journaled write. */
int cq_store_group_release(struct cq_store *s, const char *group, const char *digest);
/* Keeps a finished game's full result (JSON) for `ttl_s` seconds. */
int cq_store_put_result(struct cq_store *s, const char *game_id, const char *json, size_t len,
                        unsigned ttl_s);

struct cq_board_row {
    const char *member, *nickname;
    long long score, rank;
};

struct cq_board_page {
    long long total;
    const struct cq_board_row *top;
    size_t n_top;
    const struct cq_board_row *around;
    size_t n_around;
};

/* Results arrive once: with data, or NULL when Redis is away or slow. */
typedef void (*cq_store_board_cb)(void *ud, const struct cq_board_page *page);
typedef void (*cq_store_text_cb)(void *ud, const char *text, size_t len);

/* `board` is "bank:ID" or "group:LABEL", `period` "all" or "week". Ranks:
 * equal scores share a rank (1 + the number of higher scores). `around`
 * (folded nickname, may be NULL) adds that member and `span` on each side. */
int cq_store_leaderboard(struct cq_store *s, const char *board, const char *period, unsigned top,
                         const char *around, unsigned span, long long now, cq_store_board_cb cb,
                         void *ud);
/* The stored result of a game (JSON), NULL text when there is none. */
int cq_store_get_result(struct cq_store *s, const char *game_id, cq_store_text_cb cb, void *ud);

/* ---- live games' logs (replay.h), so a restarted server resumes them ---- */

/* The server is alive at monotonic time `now_us` (its clock, the one its
 * games' logs use): `P alive`, written about once a second, so that a
 * restart knows when this server last ran, not only when its games last
 * had an input. Not journaled: the next one replaces it. */
void cq_store_alive(struct cq_store *s, int64_t now_us);
/* One server per Redis and key prefix: two would take the same games over
 * and write the same log entry numbers (docs/redis.md). `P server` holds the
 * running server's identity (`id`, e.g. "HOST BOOT-ID PID") for `lease_ms`
 * (--server-lease), renewed with each cq_store_alive. */
/* Tells whether the server named by `holder` is gone for sure (a process of
 * this machine that no longer runs). */
typedef bool (*cq_store_gone_cb)(const char *holder);
/* At start-up, before anything is read or written: takes the lease. Held by
 * a server that is gone, it is taken at once; held by another, this waits
 * for it to lapse (at most `lease_ms` and a second), then -1 with the holder
 * named in `err`. */
int cq_store_claim(const struct cq_redis_target *t, const char *prefix, const char *id,
                   int lease_ms, cq_store_gone_cb gone, int timeout_ms, char *err, size_t errlen);
/* The identity whose lease cq_store_alive renews, for `lease_ms` each time. */
void cq_store_set_identity(struct cq_store *s, const char *id, int lease_ms);

/* At start-up: the monotonic time the previous server last wrote with
 * cq_store_alive, or -1 when there is none (or Redis cannot be read). */
int64_t cq_store_read_alive(const struct cq_redis_target *t, const char *prefix, int timeout_ms);

/* The store as the session layer uses it (session.h); its `st` is a
 * struct cq_store. */
extern const struct cq_session_store cq_store_session_ops;

/* Marks a game live: its log is read back at start-up. */
int cq_store_live_add(struct cq_store *s, const char *game_id);
/* The game is over for good (expired): forgets it and its log. */
int cq_store_live_remove(struct cq_store *s, const char *game_id);
/* Appends `n` entries to the game's log, in order; with `ttl_s` > 0 also
 * sets the log's time to live. `last_seq`: the number of the last entry,
 * told to cq_store_on_stored's callback once it is stored. */
int cq_store_log_append(struct cq_store *s, const char *game_id, const char *const *entries,
                        const size_t *lens, size_t n, unsigned ttl_s, uint64_t last_seq);

/* Gets one live game's log (entries valid during the call); returns false
 * to forget the game (its log cannot be used). */
typedef bool (*cq_store_log_cb)(void *ud, const char *game_id, const char *const *entries,
                                const size_t *lens, size_t n);
/* At start-up, before the loop runs: reads every live game's log over a
 * blocking connection (each command bounded by `timeout_ms`). 0, or -1
 * with the reason in `err` (then nothing was restored). */
int cq_store_load_logs(const struct cq_redis_target *t, const char *prefix, int timeout_ms,
                       cq_store_log_cb cb, void *ud, char *err, size_t errlen);

/* At start-up, before the logs are read: sends what a previous run left in
 * the journal file (writes Redis never answered) to Redis over a blocking
 * connection, then empties the file. A torn last write (a crash or power
 * cut in the middle of it: never synced, so never acknowledged) is left
 * out. 0 (`*sent` commands), or -1 with the reason in `err` (the file is
 * kept). */
int cq_store_replay_journal_file(const struct cq_redis_target *t, struct cq_jfile *jf,
                                 int timeout_ms, size_t *sent, char *err, size_t errlen);

/* A blocking PING (after AUTH and SELECT) within `timeout_ms`, for
 * start-up checks only: 0, or -1 with the reason in `err`. */
int cq_store_ping(const struct cq_redis_target *t, int timeout_ms, char *err, size_t errlen);

/* ISO week label of a Unix time, e.g. "2026-W48". */
void cq_store_week_label(long long unix_time, char out[16]);

#endif
