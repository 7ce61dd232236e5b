/* replay.h: a room as the list of its inputs, and the room rebuilt from it.
 *
 * The room is deterministic: the same inputs at the same times give the same
 * scores, ranks and clock. So a live game is saved as a log, one entry per
 * input (room.h's cq_input), appended as the game goes; a server that died
 * rebuilds the room by replaying the log, then shifts its clock by the time
 * it was down. Entries are compact JSON text: the first describes the game
 * (bank, questions by id, settings, PIN, the host token's key, seed), each later one
 * is `[seq, "type", now, args...]` with seq counting from 1, so a gap (a
 * write lost to a full Redis journal) is found instead of replayed wrong,
 * and an entry written twice is skipped. A player's `shown` need not be
 * logged (one per player per question): the answer entry carries the
 * display delay it was measured with, which is all a replay needs.
 *
 * Pure: no I/O; the adapter stores the text where it likes.
 */
#ifndef CQ_REPLAY_H
#define CQ_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "room.h"
#include "secret.h"

/* 2: tokens are logged as their SHA-256 (secret.h). A version 1 log (clear
 * tokens) is still read: its tokens are hashed as they are replayed. */
#define CQ_REPLAY_VERSION 2
#define CQ_GAME_ID_MAX    31

/* What a game's first entry holds besides the room's own settings. */
struct cq_replay_game {
    char game_id[CQ_GAME_ID_MAX + 1];
    long long created_unix;
    /* SHA-256 of the group secret the game was created with (secret.h);
     * "" without a group, or in a log from before groups had owners. */
    char group_digest[CQ_SECRET_DIGEST_LEN + 1];
    /* What a projector or spectator shows to `watch` the game (given to the
     * host only); empty in logs written before it existed. */
    char watch_token[CQ_TOKEN_MAX + 1];
    char join_secret[CQ_TOKEN_MAX + 1]; /* "" when the game has none */
};

/* The first entry; `qidx` indexes `bank`. Returns malloc'd text or NULL. */
char *cq_replay_encode_create(const struct cq_replay_game *g, const struct cq_bank *bank,
                              const unsigned *qidx, unsigned n_q,
                              const struct cq_room_settings *set, const char *pin,
                              const char *host_token, uint64_t seed, int64_t now, size_t *len);
/* One input as entry number `seq`. Returns malloc'd text or NULL. */
char *cq_replay_encode(uint64_t seq, const struct cq_input *in, size_t *len);

/* Finds a bank by id for a game being rebuilt; NULL when it is gone. */
typedef const struct cq_bank *(*cq_replay_find_bank_fn)(void *ud, const char *id);

struct cq_replay_result {
    struct cq_room *room; /* rebuilt, with no hooks: the caller sets its own */
    struct cq_replay_game game;
    int64_t last_now;  /* the last input's time, in the log's latest clock */
    uint64_t next_seq; /* the number the next entry gets */
};

/* Rebuilds a room from its `n` entries. 0 on success; else an error code
 * (cq_error.h) with the reason in `err`, and no room. */
int cq_replay_room(const char *const *entries, const size_t *lens, size_t n,
                   cq_replay_find_bank_fn find, void *ud, struct cq_replay_result *out, char *err,
                   size_t errlen);

#endif
