/* store.c: hiredis async on libuv, reconnect, journal of writes. */
#include "store.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "log.h"
/* Defines file-static helpers; include in this file only. */
#include <hiredis/adapters/libuv.h>

enum conn_state { ST_CLOSED, ST_CONNECTING, ST_READY };

/* A formatted write waiting for Redis (RESP bytes). */
struct journal_entry {
    struct journal_entry *next;
    size_t len;
    char cmd[];
};

/* A read in flight: its callback runs once, from the reply, the timeout or
 * the teardown, whichever is first. */
struct pending {
    struct cq_store *store;
    cq_store_cb cb;
    void *ud;
    uv_timer_t timer;
    bool done;
    int refs; /* hiredis callback + timer handle */
};

struct cq_store {
    uv_loop_t *loop;
    struct cq_redis_target target;
    char prefix[64];
    int timeout_ms;
    unsigned journal_max;
    redisAsyncContext *ac;
    enum conn_state state;
    uv_timer_t retry; /* reconnect back-off and connect timeout */
    int backoff_ms;
    bool freeing;
    struct journal_entry *jhead, *jtail;
    size_t jdepth;
    unsigned inflight_writes;
    uint64_t errors, reconnects, dropped;
};

static void store_connect(struct cq_store *s);

static void on_retry(uv_timer_t *t)
{
    store_connect(t->data);
}

static void schedule_retry(struct cq_store *s)
{
    if (s->freeing)
        return;
    s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : 100;
    if (s->backoff_ms > 5000)
        s->backoff_ms = 5000;
    uv_timer_start(&s->retry, on_retry, (uint64_t)s->backoff_ms, 0);
}

static void journal_push(struct cq_store *s, const char *cmd, size_t len)
{
    if (s->jdepth >= s->journal_max) {
        s->dropped++;
        cq_err_log("redis journal full (%u writes): dropping a write; %llu dropped so far",
                   s->journal_max, (unsigned long long)s->dropped);
        return;
    }
    struct journal_entry *e = malloc(sizeof *e + len);
    if (!e) {
        s->dropped++;
        cq_err_log("redis journal: out of memory, dropping a write");
        return;
    }
    e->next = NULL;
    e->len = len;
    memcpy(e->cmd, cmd, len);
    if (s->jtail)
        s->jtail->next = e;
    else
        s->jhead = e;
    s->jtail = e;
    s->jdepth++;
}

/* A journaled write was answered; it leaves the journal only then, so a
 * connection lost in flight replays it (writes are idempotent). */
static void on_write_reply(redisAsyncContext *ac, void *r, void *priv)
{
    struct cq_store *s = ac->data;
    redisReply *reply = r;
    (void)priv;
    if (!s)
        return;
    s->inflight_writes--;
    if (!reply)
        return; /* disconnected: the entry is still in the journal */
    if (reply->type == REDIS_REPLY_ERROR) {
        s->errors++;
        cq_err_log("redis write failed: %s", reply->str);
    }
    struct journal_entry *e = s->jhead;
    if (e) {
        s->jhead = e->next;
        if (!s->jhead)
            s->jtail = NULL;
        s->jdepth--;
        free(e);
    }
}

static void journal_flush(struct cq_store *s)
{
    unsigned i = 0;
    /* Entries already sent are the first `inflight_writes` ones. */
    for (struct journal_entry *e = s->jhead; e; e = e->next, i++) {
        if (i < s->inflight_writes)
            continue;
        if (redisAsyncFormattedCommand(s->ac, on_write_reply, NULL, e->cmd, e->len) != REDIS_OK)
            return;
        s->inflight_writes++;
    }
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct cq_store *s = ac->data;
    if (!s)
        return;
    uv_timer_stop(&s->retry);
    if (status != REDIS_OK) {
        cq_warn("redis: connect failed: %s", ac->errstr);
        s->ac = NULL; /* hiredis frees the context after this callback */
        s->state = ST_CLOSED;
        s->errors++;
        schedule_retry(s);
        return;
    }
    s->state = ST_READY;
    if (s->reconnects)
        cq_info("redis: connected again; replaying %zu journaled writes", s->jdepth);
    s->reconnects++;
    s->backoff_ms = 0;
    s->inflight_writes = 0;
    if (s->target.password[0])
        redisAsyncCommand(s->ac, NULL, NULL, "AUTH %s", s->target.password);
    if (s->target.db)
        redisAsyncCommand(s->ac, NULL, NULL, "SELECT %d", s->target.db);
    journal_flush(s);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct cq_store *s = ac->data;
    (void)status;
    if (!s)
        return;
    s->ac = NULL;
    s->state = ST_CLOSED;
    s->inflight_writes = 0;
    if (!s->freeing) {
        cq_warn("redis: connection lost (%s); retrying", ac->errstr[0] ? ac->errstr : "closed");
        schedule_retry(s);
    }
}

/* Connect timeout: hiredis 0.14 has none for async connects. */
static void on_connect_timeout(uv_timer_t *t)
{
    struct cq_store *s = t->data;
    if (s->state == ST_CONNECTING && s->ac) {
        cq_warn("redis: connect timed out after %d ms", s->timeout_ms);
        redisAsyncDisconnect(s->ac); /* on_disconnect / on_connect schedule the retry */
    }
}

static void store_connect(struct cq_store *s)
{
    if (s->freeing || s->state != ST_CLOSED)
        return;
    redisAsyncContext *ac = s->target.unix_path[0]
                                ? redisAsyncConnectUnix(s->target.unix_path)
                                : redisAsyncConnect(s->target.host, s->target.port);
    if (!ac || ac->err) {
        cq_warn("redis: cannot connect: %s", ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        s->errors++;
        schedule_retry(s);
        return;
    }
    ac->data = s;
    if (redisLibuvAttach(ac, s->loop) != REDIS_OK) {
        redisAsyncFree(ac);
        schedule_retry(s);
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    s->ac = ac;
    s->state = ST_CONNECTING;
    uv_timer_start(&s->retry, on_connect_timeout, (uint64_t)s->timeout_ms, 0);
}

struct cq_store *cq_store_new(struct uv_loop_s *loop, const struct cq_redis_target *target,
                              const char *prefix, int timeout_ms, unsigned journal_max)
{
    struct cq_store *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->loop = loop;
    s->target = *target;
    snprintf(s->prefix, sizeof s->prefix, "%s", prefix);
    s->timeout_ms = timeout_ms;
    s->journal_max = journal_max;
    uv_timer_init(loop, &s->retry);
    s->retry.data = s;
    return s;
}

void cq_store_start(struct cq_store *s)
{
    store_connect(s);
}

static void free_after_close(uv_handle_t *h)
{
    free(h->data);
}

void cq_store_free(struct cq_store *s)
{
    if (!s)
        return;
    s->freeing = true;
    uv_timer_stop(&s->retry);
    if (s->ac) {
        redisAsyncContext *ac = s->ac;
        s->ac = NULL;
        ac->data = NULL; /* callbacks below see no store */
        redisAsyncFree(ac);
    }
    if (s->jdepth)
        cq_warn("redis: %zu journaled writes not delivered at shutdown", s->jdepth);
    while (s->jhead) {
        struct journal_entry *e = s->jhead;
        s->jhead = e->next;
        free(e);
    }
    uv_close((uv_handle_t *)&s->retry, free_after_close);
}

bool cq_store_connected(const struct cq_store *s)
{
    return s->state == ST_READY;
}

const char *cq_store_prefix(const struct cq_store *s)
{
    return s->prefix;
}

void cq_store_stats(const struct cq_store *s, struct cq_store_stats *out)
{
    out->errors = s->errors;
    out->reconnects = s->reconnects ? s->reconnects - 1 : 0;
    out->journal_dropped = s->dropped;
    out->journal_depth = s->jdepth;
    out->connected = s->state == ST_READY;
}

static void pending_release(struct pending *p)
{
    if (--p->refs == 0)
        free(p);
}

static void pending_timer_closed(uv_handle_t *h)
{
    pending_release(h->data);
}

static void pending_finish(struct pending *p, redisReply *reply)
{
    if (p->done)
        return;
    p->done = true;
    uv_timer_stop(&p->timer);
    uv_close((uv_handle_t *)&p->timer, pending_timer_closed);
    p->cb(p->ud, reply);
}

static void on_read_reply(redisAsyncContext *ac, void *r, void *priv)
{
    struct pending *p = priv;
    (void)ac;
    pending_finish(p, r);
    pending_release(p);
}

static void on_read_timeout(uv_timer_t *t)
{
    struct pending *p = t->data;
    p->store->errors++;
    pending_finish(p, NULL); /* the late reply, if any, finds `done` set */
}

int cq_store_read(struct cq_store *s, cq_store_cb cb, void *ud, int argc, const char **argv,
                  const size_t *argvlen)
{
    if (s->state != ST_READY) {
        cb(ud, NULL);
        return -1;
    }
    struct pending *p = calloc(1, sizeof *p);
    if (!p) {
        cb(ud, NULL);
        return -1;
    }
    p->store = s;
    p->cb = cb;
    p->ud = ud;
    p->refs = 2;
    uv_timer_init(s->loop, &p->timer);
    p->timer.data = p;
    if (redisAsyncCommandArgv(s->ac, on_read_reply, p, argc, argv, argvlen) != REDIS_OK) {
        p->refs = 1;
        pending_finish(p, NULL);
        return -1;
    }
    uv_timer_start(&p->timer, on_read_timeout, (uint64_t)s->timeout_ms, 0);
    return 0;
}

int cq_store_write(struct cq_store *s, int argc, const char **argv, const size_t *argvlen)
{
    char *cmd = NULL;
    long long len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
    if (len < 0)
        return -1;
    journal_push(s, cmd, (size_t)len);
    redisFreeCommand(cmd);
    if (s->state == ST_READY)
        journal_flush(s);
    return 0;
}
