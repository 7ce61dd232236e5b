/* cq_limits.h: every protocol limit, named once.
 *
 * The defaults below are what PROTOCOL.md documents; the server may lower or
 * raise the configurable ones (see `chainquiz --help`) and announces the
 * values in force in its `welcome` message.
 */
#ifndef CQ_LIMITS_H
#define CQ_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#define CQ_PROTOCOL_VERSION 1
#define CQ_SUBPROTOCOL      "chainquiz.v1"
#define CQ_WS_PATH          "/ws"

/* Fixed by the protocol (not configurable). */
#define CQ_PIN_DIGITS       6
#define CQ_TOKEN_MAX        64 /* host and resume tokens, characters */
#define CQ_JOIN_SECRET_LEN  22 /* a game's join secret: 16 random bytes, base64url */
#define CQ_REQ_ID_MAX       64 /* client correlation id, characters */
#define CQ_OPTIONS_MAX      6  /* options per question */
#define CQ_TAGS_MAX         8  /* tags in one create_game filter */
#define CQ_TAG_MAX          32 /* characters in one tag */
#define CQ_BANK_ID_MAX      64
#define CQ_GROUP_MAX        40 /* group label, characters */
#define CQ_QUESTIONS_MAX    500
#define CQ_TIME_LIMIT_MAX_S 240
#define CQ_LEAD_IN_MAX_S    30
#define CQ_ADD_TIME_MAX_S   120
/* A closed game's PIN answers `game_over` (PROTOCOL.md, Closed PINs): the
 * last this many, for this long. */
#define CQ_CLOSED_PINS_MAX   10000
#define CQ_CLOSED_PIN_KEEP_S 86400
/* A seat's rejoins after a drop (each a log entry, as the drop before it):
 * this many in a row, then one every CQ_REJOIN_EVERY_S. */
#define CQ_REJOINS_BURST  10
#define CQ_REJOIN_EVERY_S 6
/* With change_answer on, a seat may change its answer to one question this
 * many times (each a log entry): one student cannot grow the game's log,
 * nor fill the journal while Redis is away, for the whole class. */
#define CQ_ANSWER_CHANGES_MAX 20

/* Configurable; defaults here. */
#define CQ_DEFAULT_FRAME_BYTES     4096  /* largest inbound message */
#define CQ_DEFAULT_NICKNAME_MAX    20    /* characters, after trimming */
#define CQ_DEFAULT_ANSWER_TEXT_MAX 60    /* characters of a typed answer */
#define CQ_ANSWER_TEXT_HARD_MAX    200   /* the most --max-answer-text allows */
#define CQ_DEFAULT_MSGS_PER_SEC    20    /* sustained, per connection */
#define CQ_DEFAULT_MSGS_BURST      40    /* bucket size */
#define CQ_DEFAULT_MAX_PLAYERS     20000 /* per game */

struct cq_limits {
    size_t frame_bytes;
    unsigned nickname_max;
    unsigned answer_text_max;
    unsigned msgs_per_sec;
    unsigned msgs_burst;
    unsigned max_players;
};

void cq_limits_default(struct cq_limits *l);

#endif
