/* Per-address accounting (server/net/addr.c): keys, the idle cap that closes
 * the oldest instead of refusing, and the wrong-guess budget and tarpit.
 * Time is an argument: these run in microseconds of fake time. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

#define S 1000000LL /* one second in microseconds */

static void key_is(const char *ip, const char *want)
{
    char k[CQ_ADDR_KEY_MAX];
    cq_addr_key(ip, k, sizeof k);
    cr_assert_str_eq(k, want, "%s", ip);
}

Test(addr, key_ipv4_is_the_address)
{
    key_is("203.0.113.7", "203.0.113.7");
    key_is("127.0.0.1", "127.0.0.1");
}

Test(addr, key_ipv4_mapped_is_the_ipv4_address)
{
    key_is("::ffff:203.0.113.7", "203.0.113.7");
    key_is("::FFFF:cb00:7107", "203.0.113.7");
}

Test(addr, key_ipv6_is_the_64)
{
    key_is("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64");
    key_is("2001:db8:1:2::99", "2001:db8:1:2::/64");
    key_is("2001:DB8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64");
    key_is("2001:db8:1:3::1", "2001:db8:1:3::/64");
    key_is("fe80::1%eth0", "fe80::/64");
    key_is("::1", "::/64");
}

Test(addr, key_of_no_address_is_the_text)
{
    key_is("unknown", "unknown");
    key_is("", "");
}

Test(addr, one_ipv6_64_is_one_entry)
{
    struct cq_addr_limits lim = {.max_idle = 2, .misses_min = 30};
    struct cq_addr_table *t = cq_addr_table_new(&lim);
    struct cq_addr *a = cq_addr_acquire(t, "2001:db8:1:2::1", 0);
    struct cq_addr *b = cq_addr_acquire(t, "2001:db8:1:2:aaaa::7", 0);
    struct cq_addr *c = cq_addr_acquire(t, "2001:db8:1:3::1", 0);
    struct cq_addr *d = cq_addr_acquire(t, "::ffff:10.0.0.1", 0);
    struct cq_addr *e = cq_addr_acquire(t, "10.0.0.1", 0);
    cr_assert_eq(a, b);
    cr_assert_neq(a, c);
    cr_assert_eq(d, e);
    cr_assert_str_eq(cq_addr_name(a), "2001:db8:1:2::/64");
    cr_assert_eq(cq_addr_table_size(t), 3);
    cq_addr_table_free(t);
}

/* At the cap the oldest idle connection goes, never the new one; a
 * connection that joined a game is no longer counted. */
Test(addr, idle_cap_closes_the_oldest)
{
    struct cq_addr_limits lim = {.max_idle = 3, .misses_min = 30};
    struct cq_addr_table *t = cq_addr_table_new(&lim);
    struct cq_addr_link l[6];
    memset(l, 0, sizeof l);
    struct cq_addr *a = cq_addr_acquire(t, "192.0.2.1", 0);
    for (int i = 0; i < 3; i++)
        cr_assert_null(cq_addr_idle_add(t, a, &l[i]));
    cr_assert_eq(cq_addr_idle_count(a), 3);
    cr_assert_eq(cq_addr_idle_add(t, a, &l[3]), &l[0], "the oldest goes");
    cr_assert_not(l[0].linked);
    /* l[1] joins a game: out of the count, never closed for room. */
    cq_addr_idle_remove(a, &l[1]);
    cr_assert_null(cq_addr_idle_add(t, a, &l[4]));
    cr_assert_eq(cq_addr_idle_add(t, a, &l[5]), &l[2]);
    cr_assert_eq(cq_addr_idle_count(a), 3);
    cq_addr_idle_remove(a, &l[1]); /* twice: no-op */
    cq_addr_idle_remove(a, &l[3]);
    cq_addr_idle_remove(a, &l[4]);
    cq_addr_idle_remove(a, &l[5]);
    cr_assert_eq(cq_addr_idle_count(a), 0);
    /* Another address has its own room. */
    struct cq_addr *b = cq_addr_acquire(t, "192.0.2.2", 0);
    struct cq_addr_link m = {0};
    cr_assert_null(cq_addr_idle_add(t, b, &m));
    cq_addr_table_free(t);
}

Test(addr, idle_cap_zero_is_no_cap)
{
    struct cq_addr_limits lim = {.max_idle = 0, .misses_min = 30};
    struct cq_addr_table *t = cq_addr_table_new(&lim);
    static struct cq_addr_link l[5000];
    struct cq_addr *a = cq_addr_acquire(t, "192.0.2.1", 0);
    for (int i = 0; i < 5000; i++)
        cr_assert_null(cq_addr_idle_add(t, a, &l[i]));
    cq_addr_table_free(t);
}

static const struct cq_addr_limits guess_lim = {
    .max_idle = 64,
    .misses_min = 30,
    .server_misses_min = 0,
    .tarpit_first_us = 1 * S,
    .tarpit_max_us = 30 * S,
};

/* Within the budget, wrong answers at once; past it, delays that double up
 * to the cap. */
Test(addr, wrong_guesses_past_the_budget_wait_longer_and_longer)
{
    struct cq_addr_table *t = cq_addr_table_new(&guess_lim);
    struct cq_addr *a = cq_addr_acquire(t, "192.0.2.1", 0);
    int64_t now = 0;
    for (int i = 0; i < 30; i++)
        cr_assert_eq(cq_addr_miss(t, a, now), 0, "miss %d is within the budget", i + 1);
    int64_t want[] = {1 * S, 2 * S, 4 * S, 8 * S, 16 * S, 30 * S, 30 * S};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert_eq(cq_addr_miss(t, a, now), want[i], "miss %zu past the budget", i + 1);
    /* Another address is not affected. */
    struct cq_addr *b = cq_addr_acquire(t, "192.0.2.2", now);
    cr_assert_eq(cq_addr_miss(t, b, now), 0);
    cq_addr_table_free(t);
}

/* The debt is paid off at the budget's rate (30 a minute: one per 2 s), so
 * a guesser that stops is back to answers at once. */
Test(addr, the_budget_refills)
{
    struct cq_addr_table *t = cq_addr_table_new(&guess_lim);
    struct cq_addr *a = cq_addr_acquire(t, "192.0.2.1", 0);
    for (int i = 0; i < 35; i++)
        cq_addr_miss(t, a, 0);
    cr_assert_gt(cq_addr_miss(t, a, 0), 0);
    /* 6 in debt: 12 s pays it off, 2 s more earns one miss at once. */
    cr_assert_gt(cq_addr_miss(t, a, 10 * S), 0);
    cr_assert_eq(cq_addr_miss(t, a, 80 * S), 0);
    cq_addr_table_free(t);
}

/* A serial guesser that waits out every delay gets no more than the budget
 * in the long run: the measurable slow-down. */
Test(addr, a_patient_guesser_gets_the_budget_rate)
{
    struct cq_addr_table *t = cq_addr_table_new(&guess_lim);
    struct cq_addr *a = cq_addr_acquire(t, "192.0.2.1", 0);
    int64_t now = 0;
    int n = 0;
    while (now < 600 * S) {
        now += cq_addr_miss(t, a, now) + 1000; /* 1 ms to send the next */
        n++;
    }
    /* 30 at once, then 30 a minute over 10 minutes: about 330. */
    cr_assert_leq(n, 30 + 10 * 30 + 10, "%d guesses in 10 minutes", n);
    cr_assert_geq(n, 30 + 10 * 30 - 30, "%d guesses in 10 minutes", n);
    cq_addr_table_free(t);
}

/* Over the server-wide budget, every wrong answer waits the longest, from
 * any address, even one within its own budget. */
Test(addr, server_wide_budget_lengthens_wrong_answers)
{
    struct cq_addr_limits lim = guess_lim;
    lim.server_misses_min = 10;
    struct cq_addr_table *t = cq_addr_table_new(&lim);
    char ip[32];
    for (int i = 0; i < 10; i++) {
        snprintf(ip, sizeof ip, "198.51.100.%d", i + 1);
        cr_assert_eq(cq_addr_miss(t, cq_addr_acquire(t, ip, 0), 0), 0);
    }
    struct cq_addr *fresh = cq_addr_acquire(t, "198.51.100.200", 0);
    cr_assert_eq(cq_addr_miss(t, fresh, 0), 30 * S);
    cr_assert_eq(cq_addr_miss(t, NULL, 0), 30 * S);
    /* Refilled (10 a minute: one per 6 s), one is at once again. */
    cr_assert_eq(cq_addr_miss(t, fresh, 7 * S), 0);
    cq_addr_table_free(t);
}

/* One address alone cannot use the server-wide budget up: only the wrong
 * guesses its own budget lets through at once count there. */
Test(addr, one_address_does_not_use_the_server_budget_up)
{
    struct cq_addr_limits lim = guess_lim;
    lim.server_misses_min = 35;
    struct cq_addr_table *t = cq_addr_table_new(&lim);
    struct cq_addr *a = cq_addr_acquire(t, "198.51.100.1", 0);
    for (int i = 0; i < 100; i++)
        cq_addr_miss(t, a, 0);
    struct cq_addr *b = cq_addr_acquire(t, "198.51.100.2", 0);
    cr_assert_eq(cq_addr_miss(t, b, 0), 0, "another address is answered at once");
    cq_addr_table_free(t);
}

/* Entries go when no connection holds them and their budget is full. */
Test(addr, forgotten_entries_are_freed)
{
    struct cq_addr_table *t = cq_addr_table_new(&guess_lim);
    static struct cq_addr *held[1000];
    char ip[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(ip, sizeof ip, "10.0.%d.%d", i / 250, i % 250);
        held[i] = cq_addr_acquire(t, ip, 0);
        if (i % 2)
            cq_addr_miss(t, held[i], 0);
    }
    cr_assert_eq(cq_addr_table_size(t), 1000, "held entries stay");
    for (int i = 0; i < 1000; i++)
        cq_addr_release(t, held[i], 0);
    /* A minute later every budget is full; using the table drops them. */
    for (int i = 0; i < 1000; i++) {
        snprintf(ip, sizeof ip, "10.1.%d.%d", i / 250, i % 250);
        cq_addr_release(t, cq_addr_acquire(t, ip, 61 * S), 61 * S);
    }
    cr_assert_lt(cq_addr_table_size(t), 1000 + 500, "%zu entries", cq_addr_table_size(t));
    cq_addr_table_free(t);
}
