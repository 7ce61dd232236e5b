/* addr.c: per-address limits with token buckets in a chained hash table. */
#include "addr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cq_error.h"

#define BUCKETS_MIN 256

struct cq_addr {
    struct cq_addr *next;
    unsigned conns;
    unsigned games; /* live games created from here */
    double pin_tokens, join_tokens, game_tokens, work_tokens;
    int64_t pin_at, join_at, game_at, work_at;
    char ip[64];
};

struct cq_addr_table {
    struct cq_addr_limits lim;
    struct cq_addr **slots;
    size_t cap, n;
};

static uint64_t hash_ip(const char *s)
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

/* Refills a bucket of `per_min` tokens a minute, capped at `per_min`. */
static void refill(double *tokens, int64_t *at, unsigned per_min, int64_t now)
{
    *tokens += (double)(now - *at) * per_min / 60e6;
    if (*tokens > per_min)
        *tokens = per_min;
    *at = now;
}

static void refill_work(const struct cq_addr_table *t, struct cq_addr *a, int64_t now)
{
    a->work_tokens += (double)(now - a->work_at) * t->lim.work_per_sec / 1e6;
    if (a->work_tokens > t->lim.work_burst)
        a->work_tokens = t->lim.work_burst;
    a->work_at = now;
}

static bool idle(const struct cq_addr_table *t, struct cq_addr *a, int64_t now)
{
    refill(&a->pin_tokens, &a->pin_at, t->lim.pin_misses_min, now);
    refill(&a->join_tokens, &a->join_at, t->lim.joins_min, now);
    refill(&a->game_tokens, &a->game_at, t->lim.games_min, now);
    refill_work(t, a, now);
    return !a->conns && !a->games && a->work_tokens >= t->lim.work_burst &&
           a->pin_tokens >= t->lim.pin_misses_min && a->join_tokens >= t->lim.joins_min &&
           a->game_tokens >= t->lim.games_min;
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
            size_t k = (size_t)hash_ip(a->ip) & (ncap - 1);
            a->next = ns[k];
            ns[k] = a;
        }
    free(t->slots);
    t->slots = ns;
    t->cap = ncap;
}

struct cq_addr *cq_addr_acquire(struct cq_addr_table *t, const char *ip, int64_t now)
{
    if (t->n > 2 * t->cap)
        grow(t);
    size_t i = (size_t)hash_ip(ip) & (t->cap - 1);
    struct cq_addr **pp = &t->slots[i], *a;
    /* Walk the chain, dropping idle entries on the way. */
    while ((a = *pp)) {
        if (!strcmp(a->ip, ip))
            break;
        if (idle(t, a, now)) {
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
        snprintf(a->ip, sizeof a->ip, "%s", ip);
        a->pin_tokens = t->lim.pin_misses_min;
        a->join_tokens = t->lim.joins_min;
        a->game_tokens = t->lim.games_min;
        a->work_tokens = t->lim.work_burst;
        a->pin_at = a->join_at = a->game_at = a->work_at = now;
        a->next = t->slots[i];
        t->slots[i] = a;
        t->n++;
    }
    if (t->lim.max_conns && a->conns >= t->lim.max_conns)
        return NULL;
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

bool cq_addr_pin_ok(struct cq_addr_table *t, struct cq_addr *a, int64_t now)
{
    if (!a)
        return true;
    refill(&a->pin_tokens, &a->pin_at, t->lim.pin_misses_min, now);
    return a->pin_tokens >= 1.0;
}

void cq_addr_pin_miss(struct cq_addr_table *t, struct cq_addr *a, int64_t now)
{
    if (!a)
        return;
    refill(&a->pin_tokens, &a->pin_at, t->lim.pin_misses_min, now);
    a->pin_tokens = a->pin_tokens >= 1.0 ? a->pin_tokens - 1.0 : 0.0;
}

bool cq_addr_join(struct cq_addr_table *t, struct cq_addr *a, int64_t now)
{
    if (!a)
        return true;
    refill(&a->join_tokens, &a->join_at, t->lim.joins_min, now);
    if (a->join_tokens < 1.0)
        return false;
    a->join_tokens -= 1.0;
    return true;
}

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
