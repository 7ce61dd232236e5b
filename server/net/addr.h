/* addr.h: per-client-address accounting against abuse, built so that one
 * abuser cannot lock out the others who share its address (a class of 30
 * behind one NAT address is the normal case, not the exception).
 *
 * Two things are counted per address (an IPv4 address, or an IPv6 /64:
 * cq_addr_key):
 *
 * - connections that are not in a game yet ("idle": no join, create, watch
 *   or rejoin has succeeded on them). Only those have a cap, and at the cap
 *   the address's OLDEST idle connection is the one to go (the caller closes
 *   it), never the new one: a flood of idle sockets costs an honest client
 *   at most a reconnect, not a refusal. Connections in a game are bounded by
 *   the server-wide cap, the game's max_players, lock and kick.
 * - wrong guesses (a PIN with no game, a missing or wrong join secret, a
 *   token that is no seat). A correct PIN or a valid token never looks at or
 *   uses this budget, so other people's failures cannot refuse it. Within
 *   the budget a wrong guess is answered at once; past it, the answer is
 *   delayed (cq_addr_miss returns how long), and the connection reads
 *   nothing more until then: the tarpit. The delay doubles with every miss
 *   past the budget, up to a cap, and falls back as the budget refills.
 *
 * A server-wide budget of wrong guesses (guessing spread over many
 * addresses) only lengthens the delay of wrong guesses, to the cap: it
 * never refuses or slows a correct one.
 *
 * Entries are freed when nothing refers to them and their budget is full
 * again (checked as the table is used: no timers, no per-entry work). Time
 * is an argument everywhere, in microseconds, so the unit tests drive it.
 */
#ifndef CQ_ADDR_H
#define CQ_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The key is the text of an IPv4 address or of an IPv6 /64 prefix. */
#define CQ_ADDR_KEY_MAX 48

struct cq_addr_limits {
    unsigned max_idle;          /* idle connections per address; 0: no limit */
    unsigned misses_min;        /* wrong guesses per address per minute, answered at once */
    unsigned server_misses_min; /* wrong guesses per minute, whole server; 0: no budget */
    int64_t tarpit_first_us;    /* the first delayed wrong answer's delay */
    int64_t tarpit_max_us;      /* the longest delay */
    /* Games: live at once, and created per minute. A school's teachers may
     * share one address, so several classes at once must fit. */
    unsigned games_live;
    unsigned games_min;
    /* Messages that cost the server work (a whole state, the bank list, a
     * new game), per second and at once, per address: so one address's
     * many connections cannot take the loop from everyone else. */
    unsigned work_per_sec;
    unsigned work_burst;
};

/* An idle connection, as the table links it (the caller embeds one per
 * connection and gets back from it with container_of). */
struct cq_addr_link {
    struct cq_addr_link *prev, *next;
    bool linked;
};

struct cq_addr;
struct cq_addr_table;

/* The accounting key of an address's text (IPv4, IPv6, IPv4-mapped IPv6):
 * IPv4 as dotted quad; IPv4-mapped ::ffff:a.b.c.d as that IPv4; any other
 * IPv6 as its /64 ("2001:db8:1:2::/64"), since one household, phone or
 * office gets a whole /64 and picks addresses in it at will. Text that is no
 * address is its own key. Writes a NUL-terminated key (truncated to outlen). */
void cq_addr_key(const char *ip, char *out, size_t outlen);

struct cq_addr_table *cq_addr_table_new(const struct cq_addr_limits *lim);
void cq_addr_table_free(struct cq_addr_table *t);
size_t cq_addr_table_size(const struct cq_addr_table *t);

/* The entry of `ip`'s key, held for one connection (created when new);
 * NULL only when out of memory. Release with cq_addr_release. */
struct cq_addr *cq_addr_acquire(struct cq_addr_table *t, const char *ip, int64_t now_us);
void cq_addr_release(struct cq_addr_table *t, struct cq_addr *a, int64_t now_us);
const char *cq_addr_name(const struct cq_addr *a);

/* Idle connections of an address, oldest first. cq_addr_idle_add links a
 * connection and returns the oldest idle one the caller must now close to
 * keep within max_idle (already unlinked), or NULL when there is room. */
struct cq_addr_link *cq_addr_idle_add(struct cq_addr_table *t, struct cq_addr *a,
                                      struct cq_addr_link *l);
/* Unlinks (no-op when not linked): the connection joined a game, or closed. */
void cq_addr_idle_remove(struct cq_addr *a, struct cq_addr_link *l);
unsigned cq_addr_idle_count(const struct cq_addr *a);

/* A wrong guess from `a` (may be NULL: counted server-wide only). Returns
 * how long its answer must wait, in microseconds: 0 within the budget. */
int64_t cq_addr_miss(struct cq_addr_table *t, struct cq_addr *a, int64_t now_us);
/* Whether the server-wide budget is used up now (for the operator's log). */
bool cq_addr_server_over(struct cq_addr_table *t, int64_t now_us);

/* Takes one costly message; false when the address has spent its budget. */
bool cq_addr_work(struct cq_addr_table *t, struct cq_addr *a, int64_t now_us);
/* Takes one game for the address: 0, CQ_ETOO_MANY_GAMES (as many live as
 * allowed) or CQ_ETOO_MANY_CREATES (created too often). The entry stays
 * while it has live games: the game holds `a` until cq_addr_game_end. */
int cq_addr_game_start(struct cq_addr_table *t, struct cq_addr *a, int64_t now_us);
void cq_addr_game_end(struct cq_addr_table *t, struct cq_addr *a);

#endif
