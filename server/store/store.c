/* store.c: hiredis async on libuv, reconnect, journal of writes. */
#include "store.h"

#include <errno.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "jfile.h"
#include "log.h"

enum conn_state { ST_CLOSED, ST_CONNECTING, ST_READY };

/* A formatted write waiting for Redis (RESP bytes). */
struct journal_entry {
    struct journal_entry *next;
    uint64_t sent_ms; /* loop time it was last sent (the watchdog reads it) */
    /* A game log's RPUSH reports its last entry stored (cq_store_on_stored):
     * entries `first` to `seq` of game `game` ("" for any other write). */
    char game[32];
    uint64_t first, seq;
    bool fenced; /* sent through fence_script (not a script itself) */
    size_t len;
    char cmd[]; /* the plain command, as the journal file keeps it */
};

/* A read in flight: its callback runs once, from the reply, the timeout or
 * the teardown, whichever is first. `finish` turns the reply (NULL on
 * failure) into the caller's typed callback. */
struct pending {
    struct cq_store *store;
    void (*finish)(struct pending *p, redisReply *reply);
    union {
        cq_store_board_cb board;
        cq_store_text_cb text;
        cq_store_claim_cb claim;
    } cb;
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
    uv_timer_t retry;    /* reconnect back-off, connect and shutdown timeouts */
    uv_timer_t watchdog; /* an unanswered command recycles the connection */
    int handles_open;    /* retry + watchdog, until closed; then `s` is freed */
    int backoff_ms;
    bool freeing;
    struct journal_entry *jhead, *jtail;
    size_t jdepth;
    unsigned inflight_writes;
    uint64_t errors, reconnects, dropped, server_restarts, recycles;
    cq_store_state_cb on_state;
    void *on_state_ud;
    cq_store_stored_cb on_stored;
    void *on_stored_ud;

    /* With replicas to wait for (cq_store_set_replicas), a log write the
     * primary answered waits here for the WAIT sent after it. */
    unsigned replicas;
    struct stored_mark {
        char game[32];
        uint64_t seq;
    } * waiting;
    size_t n_waiting, cap_waiting;
    uint64_t wait_short; /* WAITs that timed out short of `replicas` */

    char identity[256]; /* our lease on the prefix (cq_store_claim); "" without */
    /* fence_script's EVAL and its own arguments, formatted once per identity
     * (send_entry puts the count line before it and the write after it) */
    char *fence_head;
    size_t fence_head_len;
    int lease_ms; /* its length (--server-lease) */
    /* The lease is surely ours until lease_until_ms (monotonic): the send
     * time of the last renewal Redis confirmed, plus the lease. Writes go
     * out only before its last quarter (lease_fresh), so that a server
     * paused or cut off longer than the lease, whose prefix another server
     * may have taken meanwhile, writes nothing before a renewal says so. */
    int64_t lease_until_ms, lease_sent_ms;
    bool lease_inflight, lease_lost;
    cq_store_lease_lost_cb on_lease_lost;
    void *on_lease_lost_ud;

    /* The journal file (jfile.h), NULL without one. While Redis is not
     * ready, what the journal gets is appended to it and synced at the end
     * of the loop iteration (the prepare handle runs after every check
     * handle, so after the games' logs left), and only then reported
     * stored. The entries in the file are always a prefix of the journal:
     * `unspilled` is the first that is not (NULL: all are). */
    struct cq_jfile *jf;
    bool jf_acks; /* what the file holds is told stored (the embedded Redis) */
    struct journal_entry *unspilled;
    uv_prepare_t spill_prep;
    bool spill_armed;
    /* Games whose log lost a write (the journal was full), told so from
     * the loop (on_spill_prep), never from inside cq_store_log_append: the
     * session's answer to it may close and free the game whose entries it
     * is handing over. Told before any later write is told stored
     * (report_drops), so no game counts a lost entry as stored. */
    struct stored_mark *drops;
    size_t n_drops, cap_drops;
    uint64_t spill_errors;
    int64_t spill_warned_ms;
};

static const char release_script[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
    "return 0";

static void store_connect(struct cq_store *s);
static void store_finish_free(struct cq_store *s);

/* ---- hiredis on our libuv loop --------------------------------------------
 * Not hiredis's own adapters/libuv.h (0.14): it ignores a poll error, and
 * libuv reports POLLERR (Redis killed with our writes unread in its socket)
 * as an error status and stops the handle, so the connection hung for good:
 * never read, never closed, never retried, the journal growing. Here the
 * error goes to hiredis, whose read or write then fails and disconnects
 * (every pending callback runs with NULL, and we reconnect). */
struct store_ev {
    redisAsyncContext *ac; /* NULL once hiredis cleaned up */
    uv_poll_t handle;
    int events;
};

static void ev_poll(uv_poll_t *h, int status, int events)
{
    struct store_ev *p = h->data;
    if (status < 0)
        events = UV_READABLE | (p->events & UV_WRITABLE);
    if (p->ac && (events & UV_READABLE))
        redisAsyncHandleRead(p->ac);
    if (p->ac && (events & UV_WRITABLE))
        redisAsyncHandleWrite(p->ac);
    /* libuv stopped the handle on the error; hiredis did not disconnect. */
    if (status < 0 && p->ac && p->events)
        uv_poll_start(&p->handle, p->events, ev_poll);
}

static void ev_update(struct store_ev *p, int add, int del)
{
    p->events = (p->events | add) & ~del;
    if (p->events)
        uv_poll_start(&p->handle, p->events, ev_poll);
    else
        uv_poll_stop(&p->handle);
}

static void ev_add_read(void *d)
{
    ev_update(d, UV_READABLE, 0);
}

static void ev_del_read(void *d)
{
    ev_update(d, 0, UV_READABLE);
}

static void ev_add_write(void *d)
{
    ev_update(d, UV_WRITABLE, 0);
}

static void ev_del_write(void *d)
{
    ev_update(d, 0, UV_WRITABLE);
}

static void ev_free(uv_handle_t *h)
{
    free(h->data);
}

static void ev_cleanup(void *d)
{
    struct store_ev *p = d;
    p->ac = NULL;
    uv_close((uv_handle_t *)&p->handle, ev_free);
}

static int ev_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
    struct store_ev *p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    if (uv_poll_init(loop, &p->handle, ac->c.fd)) {
        free(p);
        return -1;
    }
    p->ac = ac;
    p->handle.data = p;
    ac->ev.data = p;
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    return 0;
}

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

void cq_store_server_restarted(struct cq_store *s)
{
    s->server_restarts++;
    s->backoff_ms = 0;
    /* Waiting out a back-off: try now (a connect in progress goes on). */
    if (s->state == ST_CLOSED && !s->freeing)
        uv_timer_start(&s->retry, on_retry, 0, 0);
}

static void report_drops(struct cq_store *s)
{
    size_t n = s->n_drops;
    s->n_drops = 0;
    for (size_t i = 0; i < n && s->on_stored; i++)
        s->on_stored(s->on_stored_ud, s->drops[i].game, s->drops[i].seq, false);
}

static void report_stored(struct cq_store *s, const struct journal_entry *e)
{
    if (!e->game[0] || !s->on_stored)
        return;
    report_drops(s);
    if (s->replicas && s->state == ST_READY) {
        if (s->n_waiting == s->cap_waiting) {
            size_t ncap = s->cap_waiting ? 2 * s->cap_waiting : 64;
            struct stored_mark *nw = realloc(s->waiting, ncap * sizeof *nw);
            if (nw) {
                s->waiting = nw;
                s->cap_waiting = ncap;
            }
        }
        if (s->n_waiting < s->cap_waiting) {
            struct stored_mark *m = &s->waiting[s->n_waiting++];
            memcpy(m->game, e->game, sizeof m->game);
            m->seq = e->seq;
            return;
        }
        /* Out of memory: the primary's word has to do. */
    }
    s->on_stored(s->on_stored_ud, e->game, e->seq, true);
}

/* What waited for the replicas is told stored: after their WAIT, or when
 * the connection goes (the primary had it; no later WAIT can cover a write
 * of a connection that is gone). */
static void release_waiting(struct cq_store *s)
{
    size_t n = s->n_waiting;
    s->n_waiting = 0;
    report_drops(s);
    for (size_t i = 0; i < n && s->on_stored; i++)
        s->on_stored(s->on_stored_ud, s->waiting[i].game, s->waiting[i].seq, true);
}

static void on_wait_reply(redisAsyncContext *ac, void *r, void *priv)
{
    struct cq_store *s = ac->data;
    redisReply *reply = r;
    (void)priv;
    if (!s)
        return;
    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer < (long long)s->replicas) {
        s->wait_short++;
        cq_warn("redis: WAIT: %lld of %u replicas have the games' latest log entries after "
                "%d ms; acknowledged anyway (%llu times so far)",
                reply->integer, s->replicas, s->timeout_ms / 2, (unsigned long long)s->wait_short);
    } else if (reply && reply->type == REDIS_REPLY_ERROR) {
        s->errors++;
        cq_err_log("redis: WAIT failed: %s", reply->str);
    }
    release_waiting(s);
}

static void on_spill_prep(uv_prepare_t *h);

static void spill_arm(struct cq_store *s)
{
    if (!s->n_drops && (!s->jf || !s->unspilled))
        return;
    if (s->spill_armed || s->freeing)
        return;
    s->spill_armed = true;
    uv_prepare_start(&s->spill_prep, on_spill_prep);
}

/* `game`: the game whose log entries up to `seq` this write holds (reported
 * stored once it is), or NULL for any other write. */
static void journal_push(struct cq_store *s, const char *cmd, size_t len, const char *game,
                         uint64_t first, uint64_t seq, bool fenced)
{
    struct journal_entry *e = NULL;
    if (s->jdepth >= s->journal_max) {
        s->dropped++;
        cq_err_log("redis journal full (%u writes): dropping a write; %llu dropped so far",
                   s->journal_max, (unsigned long long)s->dropped);
        goto dropped;
    }
    e = malloc(sizeof *e + len);
    if (!e) {
        s->dropped++;
        cq_err_log("redis journal: out of memory, dropping a write");
        goto dropped;
    }
    e->next = NULL;
    e->sent_ms = 0;
    snprintf(e->game, sizeof e->game, "%s", game ? game : "");
    e->first = first;
    e->seq = seq;
    e->fenced = fenced;
    e->len = len;
    memcpy(e->cmd, cmd, len);
    if (s->jtail)
        s->jtail->next = e;
    else
        s->jhead = e;
    s->jtail = e;
    s->jdepth++;
    if (!s->unspilled)
        s->unspilled = e;
    if (s->state != ST_READY)
        spill_arm(s);
    return;
dropped:
    /* A dropped log write leaves a gap: what depends on it is never told
     * stored (the game is not resumed after a restart; logged then). Told
     * from the loop (`drops`); a game told once is told of its first gap. */
    if (!game || !s->on_stored)
        return;
    for (size_t i = 0; i < s->n_drops; i++)
        if (!strcmp(s->drops[i].game, game))
            return;
    if (s->n_drops == s->cap_drops) {
        size_t ncap = s->cap_drops ? 2 * s->cap_drops : 16;
        struct stored_mark *nd = realloc(s->drops, ncap * sizeof *nd);
        if (!nd) {
            /* Out of memory: the game must still learn of its gap before
             * anything later is told stored; at once, then. */
            s->on_stored(s->on_stored_ud, game, first, false);
            return;
        }
        s->drops = nd;
        s->cap_drops = ncap;
    }
    struct stored_mark *m = &s->drops[s->n_drops++];
    snprintf(m->game, sizeof m->game, "%s", game);
    m->seq = first;
    spill_arm(s);
}

/* Appends (or, when the file holds nothing the journal still needs, writes
 * anew) the journal's unspilled entries to the journal file, syncs, and
 * reports them stored. On failure they stay unspilled: tried again with the
 * next write, and stored by Redis once it is back. */
static void spill(struct cq_store *s)
{
    size_t n = 0;
    if (!s->jf || !s->unspilled)
        return;
    bool anew = s->unspilled == s->jhead && s->jf->bytes > 0;
    for (struct journal_entry *e = s->unspilled; e; e = e->next)
        n++;
    struct iovec *iov = malloc(n * sizeof *iov);
    int r = -1;
    if (iov) {
        size_t i = 0;
        for (struct journal_entry *e = s->unspilled; e; e = e->next, i++)
            iov[i] = (struct iovec){e->cmd, e->len};
        r = anew ? cq_jfile_rewrite(s->jf, iov, n) : cq_jfile_append(s->jf, iov, n);
    } else {
        errno = ENOMEM;
    }
    free(iov);
    if (r) {
        s->spill_errors++;
        int64_t now = (int64_t)uv_now(s->loop);
        if (!s->spill_warned_ms || now - s->spill_warned_ms >= 10000) {
            s->spill_warned_ms = now;
            cq_err_log("journal file %s: %s; what Redis has not stored waits in memory "
                       "(%llu failures so far)",
                       s->jf->path, strerror(errno), (unsigned long long)s->spill_errors);
        }
        return;
    }
    struct journal_entry *e = s->unspilled;
    s->unspilled = NULL;
    for (; e && s->jf_acks; e = e->next)
        report_stored(s, e);
}

static void on_spill_prep(uv_prepare_t *h)
{
    struct cq_store *s = h->data;
    s->spill_armed = false;
    uv_prepare_stop(h);
    report_drops(s);
    if (s->state != ST_READY)
        spill(s);
}

static void store_recycle(struct cq_store *s, const char *why);
static void lease_lost(struct cq_store *s);

/* Errors that say "not now" rather than "never": the write is kept. */
static bool transient_error(const char *msg)
{
    static const char *const prefixes[] = {"LOADING", "BUSY",     "MISCONF",    "READONLY",
                                           "OOM",     "TRYAGAIN", "NOREPLICAS", "MASTERDOWN"};
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (!strncmp(msg, prefixes[i], strlen(prefixes[i])))
            return true;
    return false;
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
    if (s->lease_lost)
        return; /* fenced: nothing is reported stored any more */
    if (reply->type == REDIS_REPLY_ERROR && !strncmp(reply->str, "FENCED", 6)) {
        /* Another server holds the prefix: nothing of ours may be written
         * or acknowledged any more. The entry stays, never reported. */
        lease_lost(s);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR && transient_error(reply->str)) {
        /* Redis cannot take writes for now (loading, out of memory, a
         * read-only replica, a failing disk): keep the entry, back off and
         * try again on a new connection. */
        char why[256];
        snprintf(why, sizeof why, "a write was refused (\"%.200s\")", reply->str);
        store_recycle(s, why);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        s->errors++;
        cq_err_log("redis write failed: %s", reply->str);
    }
    struct journal_entry *e = s->jhead;
    if (e) {
        s->jhead = e->next;
        if (!s->jhead)
            s->jtail = NULL;
        if (s->unspilled == e)
            s->unspilled = e->next;
        s->jdepth--;
        report_stored(s, e); /* also after an error reply: holding would not help */
        free(e);
    }
    /* All in Redis: the journal file holds nothing needed any more. */
    if (!s->jdepth && s->jf && s->jf->bytes && cq_jfile_clear(s->jf))
        cq_warn("journal file %s: cannot empty it: %s", s->jf->path, strerror(errno));
}

/* Monotonic milliseconds, read now (uv_now is the loop iteration's start,
 * which a long iteration leaves behind). */
static int64_t mono_ms(void)
{
    return (int64_t)(uv_hrtime() / 1000000);
}

static bool lease_fresh(const struct cq_store *s)
{
    return !s->identity[0] || mono_ms() < s->lease_until_ms - s->lease_ms / 4;
}

static void lease_renew(struct cq_store *s);

/* Runs a journaled write only while the lease names this server, checked
 * in Redis itself: a server paused after handing a batch to hiredis writes
 * it on waking, before its next renewal could tell it the prefix is
 * another's (docs/redis.md). As the renewal does, a lapsed lease nobody
 * took is taken back. KEYS[1] the lease; ARGV[1] our identity, ARGV[2]
 * the lease in ms, ARGV[3...] the command. A long RPUSH goes in pieces
 * (Lua's unpack() stops at about 8,000 values). */
static const char fence_script[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v ~= ARGV[1] then\n"
    "  if v then return redis.error_reply('FENCED another server holds the prefix') end\n"
    "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
    "end\n"
    "if ARGV[3] == 'RPUSH' and #ARGV > 1004 then\n"
    "  local r\n"
    "  for i = 5, #ARGV, 1000 do\n"
    "    r = redis.call('RPUSH', ARGV[4], unpack(ARGV, i, math.min(i + 999, #ARGV)))\n"
    "  end\n"
    "  return r\n"
    "end\n"
    "return redis.call(unpack(ARGV, 3))\n";

/* Sends `e` to Redis: through fence_script when the server holds a lease.
 * The plain command's arguments are reused as they are: only its count
 * line changes, and the script's own arguments go in front. */
static int send_entry(struct cq_store *s, const struct journal_entry *e)
{
    char count[32];
    if (!s->fence_head || !e->fenced)
        return redisAsyncFormattedCommand(s->ac, on_write_reply, NULL, e->cmd, e->len);
    const char *body = memchr(e->cmd, '\n', e->len); /* after "*N\r\n" */
    if (e->len < 2 || e->cmd[0] != '*' || !body)
        return REDIS_ERR;
    body++;
    size_t body_len = e->len - (size_t)(body - e->cmd);
    int n = snprintf(count, sizeof count, "*%ld\r\n", strtol(e->cmd + 1, NULL, 10) + 6);
    char *cmd = malloc((size_t)n + s->fence_head_len + body_len);
    if (!cmd)
        return REDIS_ERR;
    memcpy(cmd, count, (size_t)n);
    memcpy(cmd + n, s->fence_head, s->fence_head_len);
    memcpy(cmd + (size_t)n + s->fence_head_len, body, body_len);
    int result = redisAsyncFormattedCommand(s->ac, on_write_reply, NULL, cmd,
                                            (size_t)n + s->fence_head_len + body_len);
    free(cmd);
    return result;
}

static void journal_flush(struct cq_store *s)
{
    unsigned i = 0;
    bool logs = false;
    if (s->lease_lost)
        return;
    if (!lease_fresh(s)) {
        lease_renew(s); /* its confirmation flushes */
        return;
    }
    /* Entries already sent are the first `inflight_writes` ones. */
    for (struct journal_entry *e = s->jhead; e; e = e->next, i++) {
        if (i < s->inflight_writes)
            continue;
        if (send_entry(s, e) != REDIS_OK)
            return;
        e->sent_ms = uv_now(s->loop);
        s->inflight_writes++;
        logs |= e->game[0] != '\0';
    }
    /* One WAIT after the batch covers every write before it. Half the
     * command timeout, so that the writes queued behind it are answered
     * before the watchdog gives up on them. */
    if (logs && s->replicas)
        redisAsyncCommand(s->ac, on_wait_reply, NULL, "WAIT %u %d", s->replicas, s->timeout_ms / 2);
}

/* Drops the connection (its pending callbacks run with NULL, the journal
 * keeps every unanswered write) and connects again after the back-off: for a
 * Redis that accepts the connection but stops answering, or answers an error
 * to our hello. Safe inside a hiredis callback (hiredis defers the free). */
static void store_recycle(struct cq_store *s, const char *why)
{
    redisAsyncContext *ac = s->ac;
    if (!ac || s->freeing)
        return;
    cq_warn("redis: %s; dropping the connection and connecting again", why);
    s->errors++;
    s->recycles++;
    if (ac->c.flags & REDIS_CONNECTED) {
        redisAsyncFree(ac); /* on_disconnect: hosts told, retry scheduled */
        return;
    }
    /* hiredis 0.14 frees a context that never connected without calling
     * either callback: detach it, and schedule the retry ourselves. */
    ac->data = NULL;
    s->ac = NULL;
    s->state = ST_CLOSED;
    redisAsyncDisconnect(ac);
    schedule_retry(s);
}

/* The reply to the PING that follows AUTH and SELECT: only now is Redis
 * answering (not refusing us, not loading its data), and the journal goes. */
static void on_hello(redisAsyncContext *ac, void *r, void *priv)
{
    struct cq_store *s = ac->data;
    redisReply *reply = r;
    char why[256];
    (void)priv;
    if (!s || !reply || s->freeing)
        return; /* lost meanwhile: on_disconnect has it */
    if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(why, sizeof why, "Redis answered \"%.200s\"", reply->str);
        store_recycle(s, why);
        return;
    }
    uv_timer_stop(&s->retry);
    s->state = ST_READY;
    if (s->on_state)
        s->on_state(s->on_state_ud, true);
    if (s->reconnects)
        cq_info("redis: connected again; replaying %zu journaled writes", s->jdepth);
    s->reconnects++;
    s->backoff_ms = 0;
    s->lease_inflight = false; /* a renewal on the old connection is gone with it */
    journal_flush(s);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct cq_store *s = ac->data;
    if (!s)
        return;
    if (status != REDIS_OK) {
        uv_timer_stop(&s->retry);
        cq_warn("redis: connect failed: %s", ac->errstr);
        s->ac = NULL; /* hiredis frees the context after this callback */
        s->state = ST_CLOSED;
        s->errors++;
        schedule_retry(s);
        return;
    }
    /* Still connecting until the hello's reply, within the connect timeout
     * (still running). */
    s->inflight_writes = 0;
    if (s->target.password[0])
        redisAsyncCommand(s->ac, NULL, NULL, "AUTH %s", s->target.password);
    if (s->target.db)
        redisAsyncCommand(s->ac, NULL, NULL, "SELECT %d", s->target.db);
    redisAsyncCommand(s->ac, on_hello, NULL, "PING");
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct cq_store *s = ac->data;
    (void)status;
    if (!s)
        return;
    bool was_ready = s->state == ST_READY;
    s->ac = NULL;
    s->state = ST_CLOSED;
    s->inflight_writes = 0;
    if (s->freeing) {
        store_finish_free(s); /* the shutdown's flush is over */
        return;
    }
    if (was_ready && s->on_state)
        s->on_state(s->on_state_ud, false);
    spill_arm(s); /* what was in flight is not stored yet */
    release_waiting(s);
    cq_warn("redis: connection lost (%s); retrying", ac->errstr[0] ? ac->errstr : "closed");
    schedule_retry(s);
}

/* Connect timeout (hiredis 0.14 has none for async connects), covering the
 * hello too: a Redis that accepts and never answers is given up on. */
static void on_connect_timeout(uv_timer_t *t)
{
    struct cq_store *s = t->data;
    char why[96];
    if (s->state == ST_CONNECTING && s->ac) {
        snprintf(why, sizeof why, "connect timed out after %d ms", s->timeout_ms);
        store_recycle(s, why);
    }
}

/* A write unanswered for the command timeout: the connection is recycled
 * (the journal still holds it, and replays it on the next connection). */
static void on_watchdog(uv_timer_t *t)
{
    struct cq_store *s = t->data;
    char why[96];
    if (s->state == ST_READY && s->inflight_writes && s->jhead &&
        uv_now(s->loop) - s->jhead->sent_ms > (uint64_t)s->timeout_ms) {
        snprintf(why, sizeof why, "no answer to a write within %d ms", s->timeout_ms);
        store_recycle(s, why);
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
    if (ev_attach(ac, s->loop)) {
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
    uv_timer_init(loop, &s->watchdog);
    uv_prepare_init(loop, &s->spill_prep);
    s->retry.data = s->watchdog.data = s->spill_prep.data = s;
    s->handles_open = 3;
    uint64_t every = s->timeout_ms / 4 > 25 ? (uint64_t)s->timeout_ms / 4 : 25;
    uv_timer_start(&s->watchdog, on_watchdog, every, every);
    return s;
}

void cq_store_start(struct cq_store *s)
{
    store_connect(s);
}

static void handle_closed(uv_handle_t *h)
{
    struct cq_store *s = h->data;
    if (--s->handles_open == 0) {
        free(s->waiting);
        free(s->drops);
        free(s->fence_head);
        free(s);
    }
}

static void store_finish_free(struct cq_store *s)
{
    if (s->jdepth && s->jf) {
        spill(s); /* the next start sends them */
        cq_warn("redis: %zu journaled writes not delivered at shutdown%s", s->jdepth,
                s->unspilled ? "" : "; kept in the journal file for the next start");
    } else if (s->jdepth) {
        cq_warn("redis: %zu journaled writes not delivered at shutdown", s->jdepth);
    }
    while (s->jhead) {
        struct journal_entry *e = s->jhead;
        s->jhead = e->next;
        free(e);
    }
    s->jtail = NULL;
    s->unspilled = NULL;
    s->jdepth = 0;
    uv_timer_stop(&s->retry);
    uv_prepare_stop(&s->spill_prep);
    uv_close((uv_handle_t *)&s->retry, handle_closed);
    uv_close((uv_handle_t *)&s->watchdog, handle_closed);
    uv_close((uv_handle_t *)&s->spill_prep, handle_closed);
}

/* Shutdown took longer than a command may: drop what is left. */
static void on_shutdown_timeout(uv_timer_t *t)
{
    struct cq_store *s = t->data;
    if (s->ac)
        redisAsyncFree(s->ac); /* on_disconnect finishes the free */
}

void cq_store_free(struct cq_store *s)
{
    if (!s)
        return;
    s->freeing = true;
    uv_timer_stop(&s->retry);
    uv_timer_stop(&s->watchdog);
    if (s->ac && s->state == ST_READY) {
        /* Send what the journal and hiredis hold, and wait for the replies
         * (bounded by the command timeout): disconnect, not free. The lease
         * on the prefix goes last: the next server need not wait it out.
         * With the lease unconfirmed, nothing is sent: the journal file keeps
         * it for the next start. */
        if (!lease_fresh(s))
            spill(s);
        journal_flush(s);
        if (s->identity[0]) {
            char key[128];
            snprintf(key, sizeof key, "%sserver", s->prefix);
            redisAsyncCommand(s->ac, NULL, NULL, "EVAL %s 1 %s %s", release_script, key,
                              s->identity);
        }
        uv_timer_start(&s->retry, on_shutdown_timeout, (uint64_t)s->timeout_ms, 0);
        redisAsyncDisconnect(s->ac); /* on_disconnect: store_finish_free; last use of `s` */
        return;
    }
    if (s->ac) {
        redisAsyncContext *ac = s->ac;
        s->ac = NULL;
        ac->data = NULL; /* callbacks below see no store */
        if (ac->c.flags & REDIS_CONNECTED)
            redisAsyncFree(ac);
        else
            redisAsyncDisconnect(ac);
    }
    store_finish_free(s);
}

size_t cq_store_journal_room(const struct cq_store *s)
{
    return s->jdepth < s->journal_max ? s->journal_max - s->jdepth : 0;
}

bool cq_store_connected(const struct cq_store *s)
{
    return s->state == ST_READY;
}

void cq_store_stats(const struct cq_store *s, struct cq_store_stats *out)
{
    out->errors = s->errors;
    out->reconnects = s->reconnects ? s->reconnects - 1 : 0;
    out->journal_dropped = s->dropped;
    out->journal_depth = s->jdepth;
    out->server_restarts = s->server_restarts;
    out->recycles = s->recycles;
    out->journal_file_errors = s->spill_errors;
    out->wait_short = s->wait_short;
    out->journal_file_bytes = s->jf ? s->jf->bytes : 0;
    out->connected = s->state == ST_READY;
}

void cq_store_on_state(struct cq_store *s, cq_store_state_cb cb, void *ud)
{
    s->on_state = cb;
    s->on_state_ud = ud;
}

void cq_store_on_stored(struct cq_store *s, cq_store_stored_cb cb, void *ud)
{
    s->on_stored = cb;
    s->on_stored_ud = ud;
}

void cq_store_set_journal_file(struct cq_store *s, struct cq_jfile *jf, bool acks)
{
    s->jf = jf;
    s->jf_acks = acks;
}

void cq_store_set_replicas(struct cq_store *s, unsigned replicas)
{
    s->replicas = replicas;
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
    p->finish(p, reply);
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
    struct cq_store *s = p->store;
    char why[96];
    pending_finish(p, NULL); /* the late reply, if any, finds `done` set */
    if (s->state == ST_READY) {
        snprintf(why, sizeof why, "no answer to a read within %d ms", s->timeout_ms);
        store_recycle(s, why);
    } else {
        s->errors++;
    }
}

/* Sends a read; `p` is filled but for the store-owned fields. */
static int store_query(struct cq_store *s, struct pending *p, int argc, const char **argv,
                       const size_t *argvlen)
{
    p->store = s;
    if (s->state != ST_READY) {
        p->finish(p, NULL);
        free(p);
        return -1;
    }
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

static int store_write(struct cq_store *s, int argc, const char **argv, const size_t *argvlen,
                       const char *game, uint64_t first, uint64_t seq)
{
    char *cmd = NULL;
    long long len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
    if (len < 0)
        return -1;
    /* A script cannot call EVAL: the scripts we journal (board counts,
     * group claims) are guarded by keys of their own instead. */
    journal_push(s, cmd, (size_t)len, game, first, seq, strncasecmp(argv[0], "EVAL", 4) != 0);
    redisFreeCommand(cmd);
    if (s->state == ST_READY)
        journal_flush(s);
    return 0;
}

int cq_store_write(struct cq_store *s, int argc, const char **argv, const size_t *argvlen)
{
    return store_write(s, argc, argv, argvlen, NULL, 0, 0);
}

/* ---- game data ------------------------------------------------------------ */

void cq_store_week_label(long long unix_time, char out[16])
{
    time_t t = (time_t)unix_time;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 16, "%G-W%V", &tm);
}

#define WEEK_TTL_S (8 * 7 * 24 * 3600) /* a weekly board is kept eight weeks */

/* Adds a game's points to boards, guarded so a replay counts nothing.
 * KEYS: guard, then per scope (bank, then group) names, all-time, week;
 * with a group, last, its owner. ARGV: guard TTL, week TTL, the game's
 * group digest, then (member, display, points) per player. A group counts
 * only if its owner is that digest or it has none (then it gets one). */
static const char count_script[] =
    "if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end\n"
    "local scopes, res = {{KEYS[2], KEYS[3], KEYS[4]}}, 1\n"
    "if #KEYS >= 8 then\n"
    "  local owner = redis.call('GET', KEYS[8])\n"
    "  if not owner and ARGV[3] ~= '' then redis.call('SET', KEYS[8], ARGV[3]) end\n"
    "  if not owner or owner == ARGV[3] then\n"
    "    table.insert(scopes, {KEYS[5], KEYS[6], KEYS[7]})\n"
    "  else res = 2 end\n"
    "end\n"
    "for i = 4, #ARGV, 3 do\n"
    "  for _, k in ipairs(scopes) do\n"
    "    redis.call('HSET', k[1], ARGV[i], ARGV[i + 1])\n"
    "    redis.call('ZINCRBY', k[2], ARGV[i + 2], ARGV[i])\n"
    "    redis.call('ZINCRBY', k[3], ARGV[i + 2], ARGV[i])\n"
    "  end\n"
    "end\n"
    "for _, k in ipairs(scopes) do redis.call('EXPIRE', k[3], ARGV[2]) end\n"
    "return res\n";

/* The owner of a group's boards: checked, or claimed when it has none.
 * KEYS[1] the owner; ARGV[1] the digest given ('' for none), ARGV[2] the
 * digest that becomes the owner of a new group. Comparing digests is not
 * constant-time here; it need not be: timing could at most reveal a prefix
 * of the SHA-256 of a 192-bit secret, which does not help find the secret. */
static const char claim_script[] =
    "local owner = redis.call('GET', KEYS[1])\n"
    "if not owner then redis.call('SET', KEYS[1], ARGV[2]) return 'new' end\n"
    "if ARGV[1] == '' then return 'required' end\n"
    "if owner == ARGV[1] then return 'owner' end\n"
    "return 'wrong'\n";

/* Top N and the neighbourhood of one member, ranks with ties shared. */
static const char board_script[] =
    "local function rows(list)\n"
    "  local out = {}\n"
    "  for i = 1, #list, 2 do\n"
    "    local m, sc = list[i], list[i + 1]\n"
    "    local rank = redis.call('ZCOUNT', KEYS[1], '(' .. sc, '+inf') + 1\n"
    "    local nick = redis.call('HGET', KEYS[2], m) or m\n"
    "    table.insert(out, m); table.insert(out, nick)\n"
    "    table.insert(out, sc); table.insert(out, rank)\n"
    "  end\n"
    "  return out\n"
    "end\n"
    "local top, span = tonumber(ARGV[1]), tonumber(ARGV[3])\n"
    "local res = {redis.call('ZCARD', KEYS[1]), {}, {}}\n"
    "if top > 0 then res[2] = rows(redis.call('ZREVRANGE', KEYS[1], 0, top - 1, 'WITHSCORES')) "
    "end\n"
    "if ARGV[2] ~= '' then\n"
    "  local r = redis.call('ZREVRANK', KEYS[1], ARGV[2])\n"
    "  if r then\n"
    "    local lo = r - span\n"
    "    if lo < 0 then lo = 0 end\n"
    "    res[3] = rows(redis.call('ZREVRANGE', KEYS[1], lo, r + span, 'WITHSCORES'))\n"
    "  end\n"
    "end\n"
    "return res\n";

static void board_key(struct cq_store *s, char *out, size_t cap, const char *scope,
                      const char *name, const char *period)
{
    snprintf(out, cap, "%sboard:%s:%s:%s", s->prefix, scope, name, period);
}

int cq_store_game_board(struct cq_store *s, const char *game_id, const char **ids,
                        const long long *scores, size_t n, unsigned ttl_s)
{
    char key[256], ttl[24];
    int result = -1;
    if (!n)
        return 0;
    size_t argc = 2 + 2 * n;
    const char **argv = calloc(argc, sizeof *argv);
    size_t *lens = calloc(argc, sizeof *lens);
    char *nums = calloc(n, 24);
    if (!argv || !lens || !nums)
        goto out;
    snprintf(key, sizeof key, "%sgame:%s:board", s->prefix, game_id);
    argv[0] = "ZADD";
    argv[1] = key;
    for (size_t i = 0; i < n; i++) {
        snprintf(nums + 24 * i, 24, "%lld", scores[i]);
        argv[2 + 2 * i] = nums + 24 * i;
        argv[3 + 2 * i] = ids[i];
    }
    for (size_t i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    result = cq_store_write(s, (int)argc, argv, lens);
    snprintf(ttl, sizeof ttl, "%u", ttl_s);
    const char *exp[] = {"EXPIRE", key, ttl};
    size_t exp_len[] = {6, strlen(key), strlen(ttl)};
    if (!result)
        result = cq_store_write(s, 3, exp, exp_len);
out:
    free(argv);
    free(lens);
    free(nums);
    return result;
}

int cq_store_count_game(struct cq_store *s, const char *game_id, const char *bank,
                        const char *group, const char *group_digest, const struct cq_board_entry *e,
                        size_t n, long long now)
{
    char keys[8][256], week[16], guard_ttl[24], week_ttl[24];
    size_t nkeys = 0;
    int result = -1;

    cq_store_week_label(now, week);
    snprintf(keys[nkeys++], sizeof keys[0], "%sgame:%s:counted", s->prefix, game_id);
    /* Display names per scope: a group's board shows the spelling used there. */
    snprintf(keys[nkeys++], sizeof keys[0], "%sboard:bank:%s:names", s->prefix, bank);
    board_key(s, keys[nkeys++], sizeof keys[0], "bank", bank, "all");
    board_key(s, keys[nkeys++], sizeof keys[0], "bank", bank, week);
    if (group && *group) {
        snprintf(keys[nkeys++], sizeof keys[0], "%sboard:group:%s:names", s->prefix, group);
        board_key(s, keys[nkeys++], sizeof keys[0], "group", group, "all");
        board_key(s, keys[nkeys++], sizeof keys[0], "group", group, week);
        snprintf(keys[nkeys++], sizeof keys[0], "%sboard:group:%s:owner", s->prefix, group);
    }
    snprintf(guard_ttl, sizeof guard_ttl, "%d", 400 * 24 * 3600);
    snprintf(week_ttl, sizeof week_ttl, "%d", WEEK_TTL_S);

    size_t argc = 3 + nkeys + 3 + 3 * n;
    const char **argv = calloc(argc, sizeof *argv);
    size_t *lens = calloc(argc, sizeof *lens);
    char *nums = calloc(n ? n : 1, 24), numkeys[8];
    if (!argv || !lens || !nums)
        goto out;
    size_t a = 0;
    snprintf(numkeys, sizeof numkeys, "%zu", nkeys);
    argv[a++] = "EVAL";
    argv[a++] = count_script;
    argv[a++] = numkeys;
    for (size_t k = 0; k < nkeys; k++)
        argv[a++] = keys[k];
    argv[a++] = guard_ttl;
    argv[a++] = week_ttl;
    argv[a++] = group_digest ? group_digest : "";
    for (size_t i = 0; i < n; i++) {
        snprintf(nums + 24 * i, 24, "%lld", e[i].score);
        argv[a++] = e[i].member;
        argv[a++] = e[i].display;
        argv[a++] = nums + 24 * i;
    }
    for (size_t i = 0; i < a; i++)
        lens[i] = strlen(argv[i]);
    result = cq_store_write(s, (int)a, argv, lens);
out:
    free(argv);
    free(lens);
    free(nums);
    return result;
}

static void finish_claim(struct pending *p, redisReply *reply)
{
    static const char *const names[] = {[CQ_GROUP_NEW] = "new",
                                        [CQ_GROUP_OWNER] = "owner",
                                        [CQ_GROUP_REQUIRED] = "required",
                                        [CQ_GROUP_WRONG] = "wrong"};
    enum cq_group_claim c = CQ_GROUP_UNKNOWN;
    if (reply && reply->type == REDIS_REPLY_STRING) {
        for (int i = CQ_GROUP_NEW; i <= CQ_GROUP_WRONG; i++)
            if (!strcmp(reply->str, names[i]))
                c = (enum cq_group_claim)i;
    } else if (reply && reply->type == REDIS_REPLY_ERROR) {
        cq_err_log("redis: group owner check failed: %s", reply->str);
    }
    p->cb.claim(p->ud, c);
}

int cq_store_group_claim(struct cq_store *s, const char *group, const char *digest,
                         const char *new_digest, cq_store_claim_cb cb, void *ud)
{
    char key[256];
    struct pending *p = calloc(1, sizeof *p);
    if (!p) {
        cb(ud, CQ_GROUP_UNKNOWN);
        return -1;
    }
    p->finish = finish_claim;
    p->cb.claim = cb;
    p->ud = ud;
    snprintf(key, sizeof key, "%sboard:group:%s:owner", s->prefix, group);
    const char *argv[] = {"EVAL", claim_script, "1", key, digest ? digest : "", new_digest};
    size_t lens[6];
    for (int i = 0; i < 6; i++)
        lens[i] = strlen(argv[i]);
    return store_query(s, p, 6, argv, lens);
}

/* Releases a claim made for a create_game that was never answered: only if
 * the owner is still that digest (compare and delete, one script). */
int cq_store_group_release(struct cq_store *s, const char *group, const char *digest)
{
    char key[256];
    snprintf(key, sizeof key, "%sboard:group:%s:owner", s->prefix, group);
    const char *argv[] = {"EVAL", release_script, "1", key, digest};
    size_t lens[5];
    for (int i = 0; i < 5; i++)
        lens[i] = strlen(argv[i]);
    return cq_store_write(s, 5, argv, lens);
}

/* ---- live games' logs ------------------------------------------------------ */

/* Renews our lease on the prefix, or takes it back when it lapsed (Redis
 * away longer than the lease); 0 when another server holds it. */
static const char lease_script[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v == ARGV[1] or not v then\n"
    "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end\n"
    "return 0";

static void on_lease_reply(redisAsyncContext *ac, void *r, void *priv)
{
    struct cq_store *s = ac->data;
    redisReply *reply = r;
    (void)priv;
    if (!s)
        return;
    s->lease_inflight = false;
    if (!reply || reply->type != REDIS_REPLY_INTEGER)
        return; /* disconnected or refused: tried again with the next write or second */
    if (reply->integer) {
        s->lease_until_ms = s->lease_sent_ms + s->lease_ms;
        if (s->state == ST_READY && s->jhead)
            journal_flush(s);
        return;
    }
    lease_lost(s);
}

static void lease_lost(struct cq_store *s)
{
    if (s->lease_lost)
        return;
    s->lease_lost = true;
    cq_err_log("redis: another chainquiz server has taken prefix %s over while this one was "
               "paused or cut off from Redis for longer than --server-lease (%d ms); stopping "
               "at once, acknowledging nothing more",
               s->prefix, s->lease_ms);
    if (s->on_lease_lost)
        s->on_lease_lost(s->on_lease_lost_ud, s->prefix);
}

/* One renewal in flight at a time; its send time starts the new lease. */
static void lease_renew(struct cq_store *s)
{
    char key[128], lease[16];
    if (!s->identity[0] || s->lease_inflight || s->lease_lost || s->state != ST_READY || s->freeing)
        return;
    snprintf(key, sizeof key, "%sserver", s->prefix);
    snprintf(lease, sizeof lease, "%d", s->lease_ms);
    s->lease_sent_ms = mono_ms();
    if (redisAsyncCommand(s->ac, on_lease_reply, NULL, "EVAL %s 1 %s %s %s", lease_script, key,
                          s->identity, lease) == REDIS_OK)
        s->lease_inflight = true;
}

void cq_store_on_lease_lost(struct cq_store *s, cq_store_lease_lost_cb cb, void *ud)
{
    s->on_lease_lost = cb;
    s->on_lease_lost_ud = ud;
}

void cq_store_set_identity(struct cq_store *s, const char *id, int lease_ms)
{
    char key[128], lease[16];
    snprintf(s->identity, sizeof s->identity, "%s", id);
    s->lease_ms = lease_ms;
    s->lease_until_ms = 0; /* confirmed by the first renewal before any write */
    snprintf(key, sizeof key, "%sserver", s->prefix);
    snprintf(lease, sizeof lease, "%d", lease_ms);
    free(s->fence_head);
    s->fence_head = NULL;
    s->fence_head_len = 0;
    if (!s->identity[0])
        return;
    size_t cap = sizeof fence_script + sizeof s->identity + sizeof key + 128;
    char *head = malloc(cap);
    int n = head ? snprintf(head, cap,
                            "$4\r\nEVAL\r\n$%zu\r\n%s\r\n$1\r\n1\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n"
                            "$%zu\r\n%s\r\n",
                            strlen(fence_script), fence_script, strlen(key), key,
                            strlen(s->identity), s->identity, strlen(lease), lease)
                 : -1;
    if (n < 0 || (size_t)n >= cap) {
        /* Unfenced, as before the fence: the renewal still guards the lease. */
        cq_err_log("redis: cannot format the lease fence; writes go unfenced");
        free(head);
        return;
    }
    s->fence_head = head;
    s->fence_head_len = (size_t)n;
}

void cq_store_alive(struct cq_store *s, int64_t now_us)
{
    char key[128];
    if (s->state != ST_READY || s->lease_lost)
        return;
    lease_renew(s);
    if (!lease_fresh(s))
        return; /* the heartbeat is a write too */
    snprintf(key, sizeof key, "%salive", s->prefix);
    redisAsyncCommand(s->ac, NULL, NULL, "SET %s %lld", key, (long long)now_us);
}

static int live_set(struct cq_store *s, const char *cmd, const char *game_id)
{
    char key[128];
    snprintf(key, sizeof key, "%slive", s->prefix);
    const char *argv[] = {cmd, key, game_id};
    size_t lens[] = {strlen(cmd), strlen(key), strlen(game_id)};
    return cq_store_write(s, 3, argv, lens);
}

int cq_store_live_add(struct cq_store *s, const char *game_id)
{
    return live_set(s, "SADD", game_id);
}

int cq_store_live_remove(struct cq_store *s, const char *game_id)
{
    char key[256];
    int result = live_set(s, "SREM", game_id);
    snprintf(key, sizeof key, "%sgame:%s:log", s->prefix, game_id);
    const char *argv[] = {"DEL", key};
    size_t lens[] = {3, strlen(key)};
    return result ? result : cq_store_write(s, 2, argv, lens);
}

int cq_store_log_append(struct cq_store *s, const char *game_id, const char *const *entries,
                        const size_t *lens, size_t n, unsigned ttl_s, uint64_t last_seq)
{
    char key[256], ttl[24];
    int result = -1;
    if (!n)
        return 0;
    const char **argv = calloc(n + 2, sizeof *argv);
    size_t *argl = calloc(n + 2, sizeof *argl);
    if (!argv || !argl)
        goto out;
    snprintf(key, sizeof key, "%sgame:%s:log", s->prefix, game_id);
    argv[0] = "RPUSH";
    argl[0] = 5;
    argv[1] = key;
    argl[1] = strlen(key);
    for (size_t i = 0; i < n; i++) {
        argv[2 + i] = entries[i];
        argl[2 + i] = lens[i];
    }
    result = store_write(s, (int)(n + 2), argv, argl, game_id, last_seq + 1 - n, last_seq);
    if (!result && ttl_s) {
        snprintf(ttl, sizeof ttl, "%u", ttl_s);
        const char *exp[] = {"EXPIRE", key, ttl};
        size_t exp_len[] = {6, strlen(key), strlen(ttl)};
        result = cq_store_write(s, 3, exp, exp_len);
    }
out:
    free(argv);
    free(argl);
    return result;
}

int cq_store_put_result(struct cq_store *s, const char *game_id, const char *json, size_t len,
                        unsigned ttl_s)
{
    char key[256], ttl[24];
    snprintf(key, sizeof key, "%sgame:%s:result", s->prefix, game_id);
    snprintf(ttl, sizeof ttl, "%u", ttl_s);
    const char *argv[] = {"SET", key, json, "EX", ttl};
    size_t lens[] = {3, strlen(key), len, 2, strlen(ttl)};
    return cq_store_write(s, 5, argv, lens);
}

/* Reads rows of four (member, nickname, score, rank) into `out`. */
static size_t board_rows(redisReply *flat, struct cq_board_row *out, size_t cap)
{
    size_t n = 0;
    if (!flat || flat->type != REDIS_REPLY_ARRAY)
        return 0;
    for (size_t i = 0; i + 3 < flat->elements && n < cap; i += 4) {
        redisReply **e = flat->element + i;
        if (e[0]->type != REDIS_REPLY_STRING || e[1]->type != REDIS_REPLY_STRING)
            continue;
        out[n].member = e[0]->str;
        out[n].nickname = e[1]->str;
        out[n].score =
            e[2]->type == REDIS_REPLY_STRING ? strtoll(e[2]->str, NULL, 10) : e[2]->integer;
        out[n].rank = e[3]->integer;
        n++;
    }
    return n;
}

#define BOARD_ROWS_MAX 200 /* top + around, per query */

static void finish_board(struct pending *p, redisReply *reply)
{
    struct cq_board_row rows[BOARD_ROWS_MAX];
    struct cq_board_page page = {0};
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) {
        if (reply && reply->type == REDIS_REPLY_ERROR)
            cq_err_log("redis: leaderboard query failed: %s", reply->str);
        p->cb.board(p->ud, NULL);
        return;
    }
    page.total = reply->element[0]->integer;
    page.top = rows;
    page.n_top = board_rows(reply->element[1], rows, BOARD_ROWS_MAX);
    page.around = rows + page.n_top;
    page.n_around = board_rows(reply->element[2], rows + page.n_top, BOARD_ROWS_MAX - page.n_top);
    p->cb.board(p->ud, &page);
}

int cq_store_leaderboard(struct cq_store *s, const char *board, const char *period, unsigned top,
                         const char *around, unsigned span, long long now, cq_store_board_cb cb,
                         void *ud)
{
    char key[300], names[300], topn[16], spann[16], week[16];
    struct pending *p = calloc(1, sizeof *p);
    if (!p) {
        cb(ud, NULL);
        return -1;
    }
    p->finish = finish_board;
    p->cb.board = cb;
    p->ud = ud;
    if (!strcmp(period, "week")) {
        cq_store_week_label(now, week);
        period = week;
    }
    snprintf(key, sizeof key, "%sboard:%s:%s", s->prefix, board, period);
    snprintf(names, sizeof names, "%sboard:%s:names", s->prefix, board);
    snprintf(topn, sizeof topn, "%u", top);
    snprintf(spann, sizeof spann, "%u", span);
    const char *argv[] = {"EVAL", board_script, "2", key, names, topn, around ? around : "", spann};
    size_t lens[8];
    for (int i = 0; i < 8; i++)
        lens[i] = strlen(argv[i]);
    return store_query(s, p, 8, argv, lens);
}

static void finish_text(struct pending *p, redisReply *reply)
{
    if (reply && reply->type == REDIS_REPLY_STRING)
        p->cb.text(p->ud, reply->str, reply->len);
    else
        p->cb.text(p->ud, NULL, 0);
}

int cq_store_get_result(struct cq_store *s, const char *game_id, cq_store_text_cb cb, void *ud)
{
    char key[256];
    struct pending *p = calloc(1, sizeof *p);
    if (!p) {
        cb(ud, NULL, 0);
        return -1;
    }
    p->finish = finish_text;
    p->cb.text = cb;
    p->ud = ud;
    snprintf(key, sizeof key, "%sgame:%s:result", s->prefix, game_id);
    const char *argv[] = {"GET", key};
    size_t lens[] = {3, strlen(key)};
    return store_query(s, p, 2, argv, lens);
}

/* ---- the session layer's view (session.h) ------------------------------------ */

/* Thin wrappers: the session reaches the store only through this table, so
 * its tests can put a fake in its place. Errors are the store's to log. */
static bool ss_connected(void *st)
{
    return cq_store_connected(st);
}

static size_t ss_journal_room(void *st)
{
    return cq_store_journal_room(st);
}

static void ss_log_append(void *st, const char *game_id, const char *const *entries,
                          const size_t *lens, size_t n, unsigned ttl_s, uint64_t last_seq)
{
    cq_store_log_append(st, game_id, entries, lens, n, ttl_s, last_seq);
}

static void ss_live_add(void *st, const char *game_id)
{
    cq_store_live_add(st, game_id);
}

static void ss_live_remove(void *st, const char *game_id)
{
    cq_store_live_remove(st, game_id);
}

static void ss_game_board(void *st, const char *game_id, const char **ids, const long long *scores,
                          unsigned n, unsigned ttl_s)
{
    cq_store_game_board(st, game_id, ids, scores, n, ttl_s);
}

static void ss_put_result(void *st, const char *game_id, const char *json, size_t len,
                          unsigned ttl_s)
{
    cq_store_put_result(st, game_id, json, len, ttl_s);
}

static void ss_count_game(void *st, const char *game_id, const char *bank, const char *group,
                          const char *group_digest, const struct cq_board_entry *e, size_t n,
                          long long unix_now)
{
    cq_store_count_game(st, game_id, bank, group, group_digest, e, n, unix_now);
}

static void ss_group_claim(void *st, const char *group, const char *digest, const char *new_digest,
                           cq_session_claim_cb cb, void *ud)
{
    cq_store_group_claim(st, group, digest, new_digest, cb, ud);
}

static void ss_group_release(void *st, const char *group, const char *digest)
{
    cq_store_group_release(st, group, digest);
}

const struct cq_session_store cq_store_session_ops = {
    .connected = ss_connected,
    .journal_room = ss_journal_room,
    .log_append = ss_log_append,
    .live_add = ss_live_add,
    .live_remove = ss_live_remove,
    .game_board = ss_game_board,
    .put_result = ss_put_result,
    .count_game = ss_count_game,
    .group_claim = ss_group_claim,
    .group_release = ss_group_release,
};
