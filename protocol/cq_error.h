/* cq_error.h: the one error table of Chainquiz.
 *
 * CQ_ERR_MAP(XX) yields the C enum (negative values, libuv style), the
 * protocol's wire code and the human message. PROTOCOL.md's error table is
 * checked against this list by tests/protocol/test_protocol.c.
 */
#ifndef CQ_ERROR_H
#define CQ_ERROR_H

/* XX(NAME, "wire_code", "message") */
#define CQ_ERR_MAP(XX)                                                                             \
    XX(NOMEM, "internal", "the server ran out of memory")                                          \
    XX(INTERNAL, "internal", "internal server error")                                              \
    XX(BAD_JSON, "bad_json", "the message is not valid JSON")                                      \
    XX(NOT_OBJECT, "not_object", "the message must be a JSON object")                              \
    XX(TOO_LARGE, "too_large", "the message is larger than the frame limit")                       \
    XX(BAD_UTF8, "bad_utf8", "the message is not valid UTF-8")                                     \
    XX(BINARY_FRAME, "binary_frame", "binary frames are not accepted; send JSON text")             \
    XX(UNKNOWN_TYPE, "unknown_type", "unknown message type")                                       \
    XX(MISSING_FIELD, "missing_field", "a required field is missing")                              \
    XX(UNKNOWN_FIELD, "unknown_field", "this field is not allowed in this message")                \
    XX(BAD_TYPE, "bad_type", "the field has the wrong JSON type")                                  \
    XX(OUT_OF_RANGE, "out_of_range", "the number is outside its allowed range")                    \
    XX(BAD_LENGTH, "bad_length", "the string or array length is outside its allowed range")        \
    XX(BAD_VALUE, "bad_value", "the value is not one of the allowed values")                       \
    XX(RATE_LIMITED, "rate_limited", "too many messages; slow down")                               \
    XX(FORBIDDEN, "forbidden", "your role may not send this message")                              \
    XX(NOT_IN_GAME, "not_in_game", "create, join or watch a game first")                           \
    XX(ALREADY_IN_GAME, "already_in_game", "this connection already belongs to a game")            \
    XX(WRONG_PHASE, "wrong_phase", "this message is not valid at this point of the game")          \
    XX(NO_GAME, "no_game", "no live game has this PIN")                                            \
    XX(GAME_LOCKED, "game_locked", "the host has locked this game")                                \
    XX(GAME_FULL, "game_full", "the game has reached its player limit")                            \
    XX(GAME_STARTED, "game_started", "the game has started and late join is off")                  \
    XX(GAME_OVER, "game_over", "this game has ended")                                              \
    XX(NO_PLAYERS, "no_players", "no player has joined yet")                                       \
    XX(PAUSED, "paused", "the game is paused")                                                     \
    XX(NICKNAME_INVALID, "nickname_invalid",                                                       \
       "the nickname's length or characters are not allowed")                                      \
    XX(NICKNAME_TAKEN, "nickname_taken", "another player already uses this nickname")              \
    XX(NICKNAME_REJECTED, "nickname_rejected", "the nickname contains a blocked word")             \
    XX(BAD_TOKEN, "bad_token", "the token is not valid for this game")                             \
    XX(RESUME_EXPIRED, "resume_expired", "the seat was released after the rejoin grace period")    \
    XX(KICKED, "kicked", "the host removed you from this game")                                    \
    XX(NO_PLAYER, "no_player", "no player has this id in the game")                                \
    XX(NOT_OPEN, "not_open", "answering for this question is not open")                            \
    XX(TOO_LATE, "too_late", "the answer arrived after the deadline")                              \
    XX(ALREADY_ANSWERED, "already_answered", "you have already answered this question")            \
    XX(BAD_ANSWER, "bad_answer", "the answer does not fit the question")                           \
    XX(NO_BANK, "no_bank", "no question bank has this id")                                         \
    XX(NO_QUESTIONS, "no_questions", "the selection matched no questions")                         \
    XX(GROUP_SECRET_REQUIRED, "group_secret_required",                                             \
       "this group's boards belong to the host who created it: send its group secret")             \
    XX(BAD_GROUP_SECRET, "bad_group_secret", "the group secret does not match this group")         \
    XX(SERVER_FULL, "server_full", "the server has reached its live-game limit")                   \
    XX(SERVER_BUSY, "server_busy", "the server is shutting down or overloaded")                    \
    XX(TOO_MANY_CONNECTIONS, "too_many_connections", "too many connections from your address")     \
    XX(TOO_MANY_GAMES, "too_many_games",                                                           \
       "too many live games from your address; end one, or wait for an empty one to close")        \
    XX(TOO_MANY_CREATES, "too_many_creates",                                                       \
       "too many games created from your address; wait a minute")                                  \
    XX(TOO_MANY_HOSTS, "too_many_hosts",                                                           \
       "this game has as many host connections as it may; close one first")                        \
    XX(LOG_FULL, "log_full",                                                                       \
       "this game has recorded as much as it may: no more joins, pauses, added time or locks; "    \
       "answers, next, skip, kick and end still work")                                             \
    XX(STORAGE_FULL, "storage_full",                                                               \
       "the server cannot keep more until its database is back; send it again in a moment")

typedef enum {
    CQ_OK = 0,
#define CQ_ERR_ENUM_(name, code, msg) CQ_E##name,
    CQ__ERR_FIRST = -1000,
    CQ_ERR_MAP(CQ_ERR_ENUM_)
#undef CQ_ERR_ENUM_
        CQ__ERR_END
} cq_err;

/* Wire code ("bad_json") and message for an error; "internal" for unknown. */
const char *cq_err_code(int err);
const char *cq_err_message(int err);
/* Looks a wire code up; 0 when unknown. */
int cq_err_from_code(const char *code);

#endif
