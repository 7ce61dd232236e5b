/* addr.c: per-address accounting (addr.h) in a chained hash table. */
#include "addr.h"

#include "cq_error.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS_MIN 256

struct cq_addr {
    struct cq_addr *next;
    unsigned conns;                /* connections holding this entry */
    unsigned idle;                 /* of which on the idle list */
    struct cq_addr_link idle_head; /* circular: head.next is the oldest */
    double tokens;                 /* wrong-guess budget; below 1: past it (may go negative) */
    int64_t tokens_at;
    unsigned games;                  /* live games created from here (they hold the entry) */
    double game_tokens, work_tokens; /* games a minute; costly messages a second */
    int64_t game_at, work_at;
    char key[CQ_ADDR_KEY_MAX];
};

struct cq_addr_table {
    struct cq_addr_limits lim;
    struct cq_addr **slots;
    size_t cap, n;
    double server_tokens; /* the server-wide budget */
    int64_t server_at;
};

void cq_addr_key(const char *ip, char *out, size_t outlen)
{
    unsigned char a[16];
    char ip6[64];
    if (!outlen)
        return;
    if (inet_pton(AF_INET, ip, a) == 1) {
        inet_ntop(AF_INET, a, out, (socklen_t)outlen);
        return;
    }
    /* lws writes a scoped address with "%iface"; the scope is no part of it. */
    size_t n = strcspn(ip, "%");
    if (n < sizeof ip6) {
        memcpy(ip6, ip, n);
        ip6[n] = '\0';
        if (inet_pton(AF_INET6, ip6, a) == 1) {
            static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
            if (!memcmp(a, mapped, sizeof mapped)) {
                inet_ntop(AF_INET, a + 12, out, (socklen_t)outlen);
                return;
            }
            memset(a + 8, 0, 8);
            char net[INET6_ADDRSTRLEN];
            inet_ntop(AF_INET6, a, net, sizeof net);
            snprintf(out, outlen, "%s/64", net);
            return;
        }
    }
    snprintf(out, outlen, "%s", ip);
}

static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

struct cq_addr_table *cq_addr_table_new(const struct cq_addr_limits *lim)
{
    struct cq_addr_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->lim = *lim;
    t->cap = BUCKETS_MIN;
    t->slots = calloc(t->cap, sizeof *t->slots);
    t->server_tokens = lim->server_misses_min;
    if (!t->slots) {
        free(t);
        return NULL;
    }
    return t;
}

void cq_addr_table_free(struct cq_addr_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->cap; i++)
        while (t->slots[i]) {
            struct cq_addr *a = t->slots[i];
            t->slots[i] = a->next;
            free(a);
        }
    free(t->slots);
    free(t);
}

size_t cq_addr_table_size(const struct cq_addr_table *t)
{
    return t->n;
}

const char *cq_addr_name(const struct cq_addr *a)
{
    return a->key;
}

/* Refills a budget of `per_min` a minute, capped at `per_min`. */
static void refill(double *tokens, int64_t *at, unsigned per_min, int64_t now)
{
    if (now > *at)
        *tokens += (double)(now - *at) * per_min / 60e6;
    if (*tokens > per_min)
        *tokens = per_min;
    *at = now;
}

/* The work budget: `work_per_sec` a second, capped at `work_burst`. */
static void refill_work(const struct cq_addr_table *t, struct cq_addr *a, int64_t now)
{
    if (now > a->work_at)
        a->work_tokens += (double)(now - a->work_at) * t->lim.work_per_sec / 1e6;
    if (a->work_tokens > t->lim.work_burst)
        a->work_tokens = t->lim.work_burst;
    a->work_at = now;
}

/* Nothing refers to it and it remembers nothing: it may go. */
static bool forgotten(const struct cq_addr_table *t, struct cq_addr *a, int64_t now)
{
    refill(&a->tokens, &a->tokens_at, t->lim.misses_min, now);
    refill(&a->game_tokens, &a->game_at, t->lim.games_min, now);
    refill_work(t, a, now);
    return !a->conns && !a->games && a->tokens >= t->lim.misses_min &&
           a->game_tokens >= t->lim.games_min && a->work_tokens >= t->lim.work_burst;
}

/* Doubles the table when chains get long (average over 2). */
static void grow(struct cq_addr_table *t)
{
    size_t ncap = t->cap * 2;
    struct cq_addr **ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < t->cap; i++)
        while (t->slots[i]) {
            struct cq_addr *a = t->slots[i];
            t->slots[i] = a->next;
            size_t k = (size_t)hash_key(a->key) & (ncap - 1);
            a->next = ns[k];
            ns[k] = a;
        }
    free(t->slots);
    t->slots = ns;
    t->cap = ncap;
}

struct cq_addr *cq_addr_acquire(struct cq_addr_table *t, const char *ip, int64_t now)
{
    char key[CQ_ADDR_KEY_MAX];
    cq_addr_key(ip, key, sizeof key);
    if (t->n > 2 * t->cap)
        grow(t);
    size_t i = (size_t)hash_key(key) & (t->cap - 1);
    struct cq_addr **pp = &t->slots[i], *a;
    /* Walk the chain, dropping forgotten entries on the way. */
    while ((a = *pp)) {
        if (!strcmp(a->key, key))
            break;
        if (forgotten(t, a, now)) {
            *pp = a->next;
            free(a);
            t->n--;
            continue;
        }
        pp = &a->next;
    }
    if (!a) {
        a = calloc(1, sizeof *a);
        if (!a)
            return NULL;
        snprintf(a->key, sizeof a->key, "%s", key);
        a->tokens = t->lim.misses_min;
        a->game_tokens = t->lim.games_min;
        a->work_tokens = t->lim.work_burst;
        a->tokens_at = a->game_at = a->work_at = now;
        a->idle_head.next = a->idle_head.prev = &a->idle_head;
        a->next = t->slots[i];
        t->slots[i] = a;
        t->n++;
    }
    a->conns++;
    return a;
}

void cq_addr_release(struct cq_addr_table *t, struct cq_addr *a, int64_t now)
{
    (void)t;
    (void)now;
    if (a && a->conns)
        a->conns--;
}

/* ---- idle connections ------------------------------------------------------ */

static void unlink_idle(struct cq_addr *a, struct cq_addr_link *l)
{
    l->prev->next = l->next;
    l->next->prev = l->prev;
    l->prev = l->next = NULL;
    l->linked = false;
    a->idle--;
}

struct cq_addr_link *cq_addr_idle_add(struct cq_addr_table *t, struct cq_addr *a,
                                      struct cq_addr_link *l)
{
    struct cq_addr_link *h = &a->idle_head, *oldest = NULL;
    if (l->linked)
        return NULL;
    if (t->lim.max_idle && a->idle >= t->lim.max_idle) {
        oldest = h->next;
        unlink_idle(a, oldest);
    }
    l->prev = h->prev;
    l->next = h;
    h->prev->next = l;
    h->prev = l;
    l->linked = true;
    a->idle++;
    return oldest;
}

void cq_addr_idle_remove(struct cq_addr *a, struct cq_addr_link *l)
{
    if (a && l->linked)
        unlink_idle(a, l);
}

unsigned cq_addr_idle_count(const struct cq_addr *a)
{
    return a->idle;
}

/* ---- wrong guesses ------------------------------------------------------------ */

/* The budgets may run into debt this far (in misses): the delay has reached
 * its cap long before, and the debt still pays itself off within minutes. */
#define DEBT_MAX 64.0

static bool server_take(struct cq_addr_table *t, int64_t now)
{
    if (!t->lim.server_misses_min)
        return true;
    refill(&t->server_tokens, &t->server_at, t->lim.server_misses_min, now);
    if (t->server_tokens < 1.0)
        return false;
    t->server_tokens -= 1.0;
    return true;
}

bool cq_addr_server_over(struct cq_addr_table *t, int64_t now)
{
    if (!t->lim.server_misses_min)
        return false;
    refill(&t->server_tokens, &t->server_at, t->lim.server_misses_min, now);
    return t->server_tokens < 1.0;
}

int64_t cq_addr_miss(struct cq_addr_table *t, struct cq_addr *a, int64_t now)
{
    const struct cq_addr_limits *l = &t->lim;
    /* Guessing spread over many addresses, each within its own budget: the
     * server-wide budget counts the wrong guesses that would be answered at
     * once, and past it they all wait the longest. (Those already delayed
     * by their address's budget do not count: one address alone cannot use
     * the server's budget up and slow everyone's typos.) */
    if (!a)
        return server_take(t, now) ? 0 : l->tarpit_max_us;
    refill(&a->tokens, &a->tokens_at, l->misses_min, now);
    if (a->tokens >= 1.0) {
        a->tokens -= 1.0;
        return server_take(t, now) ? 0 : l->tarpit_max_us;
    }
    /* Past the budget: into debt, which the refill pays off at the budget's
     * rate. The deeper the debt, the longer the wait: first, then doubling. */
    if (a->tokens > -DEBT_MAX)
        a->tokens -= 1.0;
    double depth = -a->tokens; /* up to 1 for the first miss past the budget */
    int64_t d = l->tarpit_first_us;
    for (double k = 1.0; k < depth && d < l->tarpit_max_us; k += 1.0)
        d *= 2;
    if (d > l->tarpit_max_us || cq_addr_server_over(t, now))
        d = l->tarpit_max_us;
    return d;
}

/* ---- games and work ------------------------------------------------------------ */

bool cq_addr_work(struct cq_addr_table *t, struct cq_addr *a, int64_t now)
{
    if (!a)
        return true;
    refill_work(t, a, now);
    if (a->work_tokens < 1.0)
        return false;
    a->work_tokens -= 1.0;
    return true;
}

int cq_addr_game_start(struct cq_addr_table *t, struct cq_addr *a, int64_t now)
{
    if (!a)
        return 0;
    if (t->lim.games_live && a->games >= t->lim.games_live)
        return CQ_ETOO_MANY_GAMES;
    refill(&a->game_tokens, &a->game_at, t->lim.games_min, now);
    if (a->game_tokens < 1.0)
        return CQ_ETOO_MANY_CREATES;
    a->game_tokens -= 1.0;
    a->games++;
    return 0;
}

void cq_addr_game_end(struct cq_addr_table *t, struct cq_addr *a)
{
    (void)t;
    if (a && a->games)
        a->games--;
}
