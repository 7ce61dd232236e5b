/* wire.h: every server->client message of protocol/PROTOCOL.md, built from
 * the game's state. Pure: jansson and the game, no transport, no clock (the
 * time is an argument), so unit tests build any message without a socket
 * (tests/unit/test_wire.c) and the session layer can run on any node.
 * Each function returns a new reference the caller owns (NULL only when
 * jansson cannot allocate). */
#ifndef CQ_WIRE_H
#define CQ_WIRE_H

#include <jansson.h>
#include <stdint.h>

#include "cq_limits.h"
#include "room.h"

struct cq_bankset;

/* `welcome`: the protocol version and the limits a client must respect. */
json_t *cq_wire_welcome(const struct cq_limits *limits);
/* `unanswered` (hosts only): the players still in the game who have not
 * answered the open question, the first `cap` by name, and how many in all. */
#define CQ_UNANSWERED_MAX 50
json_t *cq_wire_unanswered(const struct cq_room *room, unsigned cap);
json_t *cq_wire_banks(const struct cq_bankset *banks);
json_t *cq_wire_player(const struct cq_player *p);
json_t *cq_wire_question(const struct cq_room *room, int64_t now);
json_t *cq_wire_reveal(const struct cq_room *room);
json_t *cq_wire_result(const struct cq_room *room, const struct cq_player *p);
/* Lines of a `leaderboard`'s and an `ended`'s `top`, and at most as many on
 * the podium (PROTOCOL.md). */
#define CQ_WIRE_TOP 10
json_t *cq_wire_leaderboard(const struct cq_room *room, unsigned top);
json_t *cq_wire_ended(const struct cq_room *room, const char *game_id);
json_t *cq_wire_summary(const struct cq_room *room, const struct cq_player *p);
/* The whole screen of a (re)joining connection: `role` one of CQ_ROLE_*, `p`
 * the player (NULL for hosts and screens). */
json_t *cq_wire_state(const struct cq_room *room, const char *game_id, unsigned role,
                      const struct cq_player *p, int64_t now);
json_t *cq_wire_settings(const struct cq_room *room);
/* paused / resumed / time_added: the clock as it stands. */
json_t *cq_wire_timing(const struct cq_room *room, const char *type, int64_t now);
/* The full result of a game, as stored for download (`host_token_sha256`,
 * the host token's digest the download checks, is stripped before it is
 * served), in parts, as a large game's is built over several loop
 * iterations: the record with an empty "players" array (its last member),
 * one player's entry, and the head's encoding with the players' encoded
 * entries (comma-separated, cq_proto_append) spliced in (malloc'd,
 * NUL-terminated; NULL on failure). */
json_t *cq_wire_record_head(const struct cq_room *room, const char *game_id, long long created,
                            long long ended, const char *host_token_key);
json_t *cq_wire_record_player(const struct cq_room *room, const struct cq_player *p);
char *cq_wire_record_splice(const char *head, size_t head_len, const char *players,
                            size_t players_len, size_t *len);

#endif
