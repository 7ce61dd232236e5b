/* addr.h: per-client-address accounting against abuse: open connections,
 * wrong PINs/tokens and joins, each a named, configurable limit.
 *
 * A classroom behind one NAT address is many honest players, so the
 * defaults are generous; they stop floods and PIN guessing, not a class.
 * Entries are freed when nothing refers to them and their buckets are full
 * again (checked as the table is used: no timers, no per-entry work).
 */
#ifndef CQ_ADDR_H
#define CQ_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cq_addr_limits {
    unsigned max_conns;      /* open WebSockets per address; 0: no limit */
    unsigned pin_misses_min; /* wrong PINs or tokens per minute */
    unsigned joins_min;      /* joins per minute */
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

struct cq_addr;
struct cq_addr_table;

struct cq_addr_table *cq_addr_table_new(const struct cq_addr_limits *lim);
void cq_addr_table_free(struct cq_addr_table *t);
size_t cq_addr_table_size(const struct cq_addr_table *t);

/* Takes a connection slot for `ip`; NULL when the address is at its limit
 * (or out of memory). Release with cq_addr_release. */
struct cq_addr *cq_addr_acquire(struct cq_addr_table *t, const char *ip, int64_t now_us);
void cq_addr_release(struct cq_addr_table *t, struct cq_addr *a, int64_t now_us);

/* Whether the address may try a PIN/token now; cq_addr_pin_miss takes one
 * attempt off when it was wrong. */
bool cq_addr_pin_ok(struct cq_addr_table *t, struct cq_addr *a, int64_t now_us);
void cq_addr_pin_miss(struct cq_addr_table *t, struct cq_addr *a, int64_t now_us);
/* Takes one join; false when the address joined too often. */
bool cq_addr_join(struct cq_addr_table *t, struct cq_addr *a, int64_t now_us);

/* Takes one game for the address: 0, CQ_ETOO_MANY_GAMES (as many live as
 * allowed) or CQ_ETOO_MANY_CREATES (created too often). The entry stays
 * while it has live games: the game holds `a` until cq_addr_game_end. */
/* Takes one costly message; false when the address has spent its budget. */
bool cq_addr_work(struct cq_addr_table *t, struct cq_addr *a, int64_t now_us);

int cq_addr_game_start(struct cq_addr_table *t, struct cq_addr *a, int64_t now_us);
void cq_addr_game_end(struct cq_addr_table *t, struct cq_addr *a);

#endif
