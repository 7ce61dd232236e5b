/* cq_proto.h: the one codec of the Chainquiz protocol (see PROTOCOL.md).
 *
 * Used by the server and by every C client we write (tests, load generator).
 * Client->server messages are decoded strictly against one table of message
 * and field specs; server->client messages are built as jansson objects and
 * serialised compactly. No libwebsockets here.
 */
#ifndef CQ_PROTO_H
#define CQ_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cq_error.h"
#include "cq_limits.h"
#include "cq_utf8.h"

typedef struct json_t json_t;

/* Roles that may send a message (bit mask). */
enum {
    CQ_ROLE_NONE = 1u << 0, /* connected, not yet in a game */
    CQ_ROLE_HOST = 1u << 1,
    CQ_ROLE_PLAYER = 1u << 2,
    CQ_ROLE_SPECTATOR = 1u << 3,
    CQ_ROLE_ANY = 0xfu,
};

/* XX(ENUM, "wire type", roles) */
#define CQ_MSG_MAP(XX)                                                                             \
    XX(PING, "ping", CQ_ROLE_ANY)                                                                  \
    XX(LIST_BANKS, "list_banks", CQ_ROLE_ANY)                                                      \
    XX(CREATE_GAME, "create_game", CQ_ROLE_NONE)                                                   \
    XX(JOIN, "join", CQ_ROLE_NONE)                                                                 \
    XX(WATCH, "watch", CQ_ROLE_NONE)                                                               \
    XX(REJOIN, "rejoin", CQ_ROLE_NONE)                                                             \
    XX(LEAVE, "leave", CQ_ROLE_PLAYER | CQ_ROLE_SPECTATOR)                                         \
    XX(SHOWN, "shown", CQ_ROLE_PLAYER)                                                             \
    XX(ANSWER, "answer", CQ_ROLE_PLAYER)                                                           \
    XX(START, "start", CQ_ROLE_HOST)                                                               \
    XX(NEXT, "next", CQ_ROLE_HOST)                                                                 \
    XX(SKIP, "skip", CQ_ROLE_HOST)                                                                 \
    XX(PAUSE, "pause", CQ_ROLE_HOST)                                                               \
    XX(RESUME, "resume", CQ_ROLE_HOST)                                                             \
    XX(ADD_TIME, "add_time", CQ_ROLE_HOST)                                                         \
    XX(END, "end", CQ_ROLE_HOST)                                                                   \
    XX(KICK, "kick", CQ_ROLE_HOST)                                                                 \
    XX(LOCK, "lock", CQ_ROLE_HOST)

enum cq_msg_type {
#define CQ_MSG_ENUM_(e, name, roles) CQ_MSG_##e,
    CQ_MSG_MAP(CQ_MSG_ENUM_)
#undef CQ_MSG_ENUM_
        CQ_MSG__COUNT
};

/* Every server->client message type (PROTOCOL.md documents each). */
// clang-format off
#define CQ_SERVER_MSG_MAP(XX) \
    XX(welcome) \
    XX(error) \
    XX(banks) \
    XX(joined) \
    XX(state) \
    XX(lobby) \
    XX(question) \
    XX(progress) \
    XX(unanswered) \
    XX(answer_ack) \
    XX(paused) \
    XX(resumed) \
    XX(time_added) \
    XX(locked) \
    XX(reveal) \
    XX(result) \
    XX(leaderboard) \
    XX(ended) \
    XX(summary) \
    XX(kicked) \
    XX(replaced) \
    XX(closed) \
    XX(ok) \
    XX(pong) \
    XX(warning)
// clang-format on

enum cq_scoring { CQ_SCORING_SPEED = 0, CQ_SCORING_ACCURACY = 1 };

/* An answer as it arrives; the game checks it against the question. */
enum cq_answer_kind {
    CQ_ANSWER_NONE = 0,
    CQ_ANSWER_CHOICE,  /* integer: single, poll */
    CQ_ANSWER_CHOICES, /* array of integers: multi, ordering */
    CQ_ANSWER_BOOL,    /* true/false */
    CQ_ANSWER_TEXT,    /* string: type-answer */
};

struct cq_answer {
    enum cq_answer_kind kind;
    int choice;
    bool value;
    const char *text; /* borrowed */
    unsigned n_items;
    int items[CQ_OPTIONS_MAX];
};

/* A decoded client message. Strings are borrowed from `root`, which the
 * message owns: release with cq_msg_clear(). Optional fields carry their
 * default unless the bit CQ_F_<NAME> is set in `present`. */
struct cq_msg {
    enum cq_msg_type type;
    json_t *root;
    json_t *req_id; /* borrowed from root; NULL when the client sent none */
    uint32_t present;

    const char *pin, *nickname, *token, *bank, *group, *group_secret;
    const char *secret; /* join/watch: the game's join secret; NULL when absent */
    const char *tags[CQ_TAGS_MAX];
    unsigned n_tags;
    enum cq_scoring scoring;
    int count, time_limit, lead_in, seconds, question, player, max_players;
    bool shuffle, streak, partial_credit, auto_advance, late_join, change_answer, locked;
    bool join_secret; /* create_game: joining needs the secret beside the PIN */
    struct cq_answer answer;
};

/* Field ids; CQ_F_<NAME> is the `present` bit of a field. */
#define CQ_FIELD_MAP(XX)                                                                           \
    XX(ID, "id")                                                                                   \
    XX(PIN, "pin")                                                                                 \
    XX(NICKNAME, "nickname")                                                                       \
    XX(TOKEN, "token")                                                                             \
    XX(BANK, "bank")                                                                               \
    XX(GROUP, "group")                                                                             \
    XX(TAGS, "tags")                                                                               \
    XX(SCORING, "scoring")                                                                         \
    XX(COUNT, "count")                                                                             \
    XX(TIME_LIMIT, "time_limit")                                                                   \
    XX(LEAD_IN, "lead_in")                                                                         \
    XX(SECONDS, "seconds")                                                                         \
    XX(QUESTION, "question")                                                                       \
    XX(PLAYER, "player")                                                                           \
    XX(MAX_PLAYERS, "max_players")                                                                 \
    XX(SHUFFLE, "shuffle")                                                                         \
    XX(STREAK, "streak")                                                                           \
    XX(PARTIAL_CREDIT, "partial_credit")                                                           \
    XX(AUTO_ADVANCE, "auto_advance")                                                               \
    XX(LATE_JOIN, "late_join")                                                                     \
    XX(CHANGE_ANSWER, "change_answer")                                                             \
    XX(LOCKED, "locked")                                                                           \
    XX(ANSWER, "answer")                                                                           \
    XX(GROUP_SECRET, "group_secret")                                                               \
    XX(SECRET, "secret")                                                                           \
    XX(JOIN_SECRET, "join_secret")

enum cq_field {
#define CQ_FIELD_ENUM_(e, name) CQ_FIELD_##e,
    CQ_FIELD_MAP(CQ_FIELD_ENUM_)
#undef CQ_FIELD_ENUM_
        CQ_FIELD__COUNT
};
#define CQ_F(e) (1u << CQ_FIELD_##e)

/* What went wrong with an inbound message: code, and the field at fault
 * ("" when the message as a whole is wrong). */
struct cq_proto_error {
    int code;
    char field[32];
    char detail[160];
};

/* Decodes one text frame. Returns 0 and fills `out`, or a negative cq_err
 * with `err` filled (out->req_id is still set when the id could be read,
 * so the error can be correlated; call cq_msg_clear either way). */
int cq_proto_decode(const char *buf, size_t len, const struct cq_limits *lim, struct cq_msg *out,
                    struct cq_proto_error *err);
void cq_msg_clear(struct cq_msg *m);

const char *cq_msg_name(enum cq_msg_type t);
unsigned cq_msg_roles(enum cq_msg_type t);
/* Fields a message allows: bit mask of CQ_F_*; `required` gets the subset. */
uint32_t cq_msg_fields(enum cq_msg_type t, uint32_t *required);

/* Serialises compactly into a fresh buffer with `headroom` spare bytes in
 * front (for transport headers). Caller frees the returned pointer (the
 * start of the headroom). NULL on allocation failure. */
char *cq_proto_dump(const json_t *obj, size_t headroom, size_t *len);

/* Encodings one after another in one growing buffer (a large game's record,
 * built entry by entry over several loop iterations). */
struct cq_proto_buf {
    char *b; /* NUL-terminated once anything is in it; owned, cq_proto_buf_free */
    size_t len, cap;
};
/* Appends obj's compact encoding, after `sep` when the buffer is not empty
 * (0: no separator). 0, or -1 out of memory: then nothing is appended. */
int cq_proto_append(struct cq_proto_buf *pb, const json_t *obj, char sep);
void cq_proto_buf_free(struct cq_proto_buf *pb);

/* Builds an `error` message; `req_id` (may be NULL) is echoed. */
json_t *cq_proto_error_msg(const json_t *req_id, int code, const char *field, const char *detail);

#endif
