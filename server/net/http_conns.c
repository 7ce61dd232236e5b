/* http_conns.c: plain-HTTP connections per address (http_conns.h). */
#include "http_conns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "log.h"
#include "net_priv.h"

#define SLOTS 1024 /* hash chains; entries exist only while connections do */
/* A connection younger than this that has not sent a whole request yet is
 * not counted: the server may not have read it (a burst of accepts in one
 * loop iteration, a class joining at once behind one NAT, a loop busy with
 * a fan-out). Older, it is stalled: a slow client, counted, and closed first
 * when its address needs room. */
#define YOUNG_US 2000000
/* Connections of one address in all, young ones included, as a multiple of
 * the cap: past it even a young one is refused (a flood of connections that
 * never send anything is bounded before YOUNG_US makes them count). */
#define YOUNG_FACTOR 5

struct http_addr {
    struct http_addr *next;
    lws_dll2_owner_t conns; /* oldest first */
    unsigned doomed;        /* idle ones closed for room, not yet gone */
    char ip[64];
};

/* One per counted connection, on the wsi as its opaque user data. */
struct http_conn {
    lws_dll2_t link; /* in addr->conns */
    struct lws *wsi;
    struct http_addr *addr;
    int64_t opened_at; /* cq_net_now_us() at accept */
    bool served;       /* answered at least one request */
    bool busy;         /* a request is under way */
    bool doomed;       /* closed to make room */
};

struct cq_http_conns {
    unsigned per_addr;
    unsigned n; /* counted connections */
    struct http_addr *slots[SLOTS];
};

unsigned cq_http_conns_count(const struct cq_http_conns *t)
{
    return t ? t->n : 0;
}

static unsigned slot_of(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (unsigned)(h % SLOTS);
}

struct cq_http_conns *cq_http_conns_new(unsigned per_addr)
{
    struct cq_http_conns *t = calloc(1, sizeof *t);
    if (t)
        t->per_addr = per_addr;
    return t;
}

void cq_http_conns_free(struct cq_http_conns *t)
{
    if (!t)
        return;
    /* Every connection is gone by now (the context is destroyed first);
     * entries left are freed all the same. */
    for (unsigned i = 0; i < SLOTS; i++)
        while (t->slots[i]) {
            struct http_addr *a = t->slots[i];
            t->slots[i] = a->next;
            free(a);
        }
    free(t);
}

static struct http_addr *addr_get(struct cq_http_conns *t, const char *ip, bool make)
{
    unsigned s = slot_of(ip);
    for (struct http_addr *a = t->slots[s]; a; a = a->next)
        if (!strcmp(a->ip, ip))
            return a;
    if (!make)
        return NULL;
    struct http_addr *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    snprintf(a->ip, sizeof a->ip, "%s", ip);
    a->next = t->slots[s];
    t->slots[s] = a;
    return a;
}

static void addr_drop_if_empty(struct cq_http_conns *t, struct http_addr *a)
{
    if (a->conns.count)
        return;
    for (struct http_addr **pp = &t->slots[slot_of(a->ip)]; *pp; pp = &(*pp)->next)
        if (*pp == a) {
            *pp = a->next;
            free(a);
            return;
        }
}

/* Bytes waiting unread in a connection's socket; 0 when it cannot tell. */
static int unread_bytes(struct lws *wsi)
{
    int n = 0;
    lws_sockfd_type fd = lws_get_socket_fd(wsi);
    return fd >= 0 && ioctl(fd, FIONREAD, &n) == 0 ? n : 0;
}

/* The oldest connection of `a` that has no request under way or answered
 * and nothing waiting to be read: it sent nothing, or only part of a request
 * we have read. A client whose whole request waits unread (a burst the loop
 * has not reached) is never it. */
static struct http_conn *oldest_silent(struct http_addr *a)
{
    struct http_conn *found = NULL;
    lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&a->conns))
    {
        struct http_conn *c = lws_container_of(d, struct http_conn, link);
        if (!found && !c->doomed && !c->served && !c->busy && !unread_bytes(c->wsi))
            found = c;
    }
    lws_end_foreach_dll(d);
    return found;
}

int cq_http_conn_open(struct cq_net *net, struct lws *wsi)
{
    struct cq_http_conns *t = net->http_conns;
    char ip[64];
    if (!t || !t->per_addr)
        return 0;
    lws_get_peer_simple(wsi, ip, sizeof ip);
    if (cq_proxy_trusted(&net->proxies, ip))
        return 0;
    struct http_addr *a = addr_get(t, ip, true);
    if (!a)
        return -1;
    int64_t now = cq_net_now(net);
    unsigned open = a->conns.count - a->doomed;
    if (open >= t->per_addr) {
        /* Walked only at the cap, oldest first: what counts, and who would
         * make room (the oldest idle keep-alive, else the oldest stalled). */
        struct http_conn *idle = NULL, *stalled = NULL, *victim;
        unsigned counted = 0;
        lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&a->conns))
        {
            /* (no `continue` in lws' foreach: it would skip the step) */
            struct http_conn *c = lws_container_of(d, struct http_conn, link);
            bool young = !c->served && !c->busy && now - c->opened_at < YOUNG_US;
            if (!c->doomed && !young) {
                counted++;
                /* idle: answered, and the answer all sent (lws keeps what
                 * the socket did not take yet: a slow reader of a big file) */
                if (!idle && c->served && !c->busy && !lws_partial_buffered(c->wsi))
                    idle = c;
                if (!stalled && !c->served && !c->busy)
                    stalled = c;
            }
        }
        lws_end_foreach_dll(d);
        /* Under the cap when the rest are young (in flight, not counted
         * yet), unless even they are too many: YOUNG_FACTOR times the cap,
         * and never more than a quarter of the server's connections (one
         * address must not take the descriptors from every other). */
        unsigned long long ceiling = (unsigned long long)t->per_addr * YOUNG_FACTOR;
        if (ceiling > net->max_conns / 4)
            ceiling = net->max_conns / 4 > t->per_addr ? net->max_conns / 4 : t->per_addr;
        bool crowded = open >= ceiling;
        bool full = counted >= t->per_addr || crowded;
        victim = idle ? idle : stalled;
        if (!victim && crowded)
            victim = oldest_silent(a); /* a flood that never waits 2 s to count */
        if (full && !victim) {
            net->m.refused_http++;
            cq_debug("http: refusing %s: %u plain HTTP connections, none idle or stalled "
                     "(--max-http-conns-per-ip)",
                     ip, t->per_addr);
            addr_drop_if_empty(t, a);
            return -1;
        }
        if (full) {
            /* Closed from the loop, not from inside this callback. */
            victim->doomed = true;
            a->doomed++;
            net->m.http_idle_closed++;
            lws_set_timeout(victim->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        }
    }
    struct http_conn *c = calloc(1, sizeof *c);
    if (!c) {
        addr_drop_if_empty(t, a);
        return -1;
    }
    c->wsi = wsi;
    c->addr = a;
    c->opened_at = now;
    lws_dll2_add_tail(&c->link, &a->conns);
    t->n++;
    lws_set_opaque_user_data(wsi, c);
    return 0;
}

void cq_http_conn_busy(struct lws *wsi, bool busy)
{
    struct http_conn *c = lws_get_opaque_user_data(wsi);
    if (!c)
        return;
    c->busy = busy;
    if (!busy)
        c->served = true;
}

void cq_http_conn_gone(struct cq_net *net, struct lws *wsi)
{
    struct http_conn *c = lws_get_opaque_user_data(wsi);
    if (!c || !net->http_conns)
        return;
    lws_set_opaque_user_data(wsi, NULL);
    if (c->doomed)
        c->addr->doomed--;
    lws_dll2_remove(&c->link);
    net->http_conns->n--;
    addr_drop_if_empty(net->http_conns, c->addr);
    free(c);
}
