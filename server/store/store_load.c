/* store_load.c: start-up work over a blocking connection: is Redis there,
 * and the logs of the games that were live when the server last stopped. */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jfile.h"
#include "store.h"

#define LOG_CHUNK 10000 /* entries per LRANGE: bounded replies */

/* A blocking connection (AUTH and SELECT done); NULL with the reason in
 * `err`. Free with redisFree. */
static redisContext *connect_sync(const struct cq_redis_target *t, int timeout_ms, char *err,
                                  size_t errlen)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c = t->unix_path[0] ? redisConnectUnixWithTimeout(t->unix_path, tv)
                                      : redisConnectWithTimeout(t->host, t->port, tv);
    redisReply *r = NULL;

    if (!c || c->err) {
        snprintf(err, errlen, "%s", c ? c->errstr : "out of memory");
        goto fail;
    }
    redisSetTimeout(c, tv);
    if (t->password[0]) {
        r = redisCommand(c, "AUTH %s", t->password);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            snprintf(err, errlen, "AUTH failed: %s", r ? r->str : c->errstr);
            goto fail;
        }
        freeReplyObject(r);
        r = NULL;
    }
    if (t->db) {
        r = redisCommand(c, "SELECT %d", t->db);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            snprintf(err, errlen, "SELECT failed: %s", r ? r->str : c->errstr);
            goto fail;
        }
        freeReplyObject(r);
    }
    return c;
fail:
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return NULL;
}

/* Reads one game's whole log into `out` (appending chunk by chunk). */
int cq_store_ping(const struct cq_redis_target *t, int timeout_ms, char *err, size_t errlen)
{
    int result = -1;
    redisReply *r = NULL;
    redisContext *c = connect_sync(t, timeout_ms, err, errlen);
    if (!c)
        return -1;
    r = redisCommand(c, "PING");
    if (!r || r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "PING failed: %s", r ? r->str : c->errstr);
        goto out;
    }
    result = 0;
out:
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return result;
}

static int read_log(redisContext *c, const char *key, redisReply ***chunks, size_t *n_chunks,
                    char *err, size_t errlen)
{
    for (long long start = 0;; start += LOG_CHUNK) {
        redisReply *r = redisCommand(c, "LRANGE %s %lld %lld", key, start, start + LOG_CHUNK - 1);
        if (!r || r->type != REDIS_REPLY_ARRAY) {
            snprintf(err, errlen, "LRANGE %s: %s", key,
                     r && r->type == REDIS_REPLY_ERROR ? r->str : c->errstr);
            if (r)
                freeReplyObject(r);
            return -1;
        }
        if (!r->elements) {
            freeReplyObject(r);
            return 0;
        }
        redisReply **grown = realloc(*chunks, (*n_chunks + 1) * sizeof *grown);
        if (!grown) {
            freeReplyObject(r);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        *chunks = grown;
        (*chunks)[(*n_chunks)++] = r;
        if (r->elements < LOG_CHUNK)
            return 0;
    }
}

/* Hands one game's log to `cb`; forgets the game when asked to. */
static int load_game(redisContext *c, const char *prefix, const char *game_id, cq_store_log_cb cb,
                     void *ud, char *err, size_t errlen)
{
    char key[256];
    redisReply **chunks = NULL;
    size_t n_chunks = 0, n = 0;
    const char **entries = NULL;
    size_t *lens = NULL;
    int result = -1;

    snprintf(key, sizeof key, "%sgame:%s:log", prefix, game_id);
    if (read_log(c, key, &chunks, &n_chunks, err, errlen))
        goto out;
    for (size_t i = 0; i < n_chunks; i++)
        n += chunks[i]->elements;
    entries = calloc(n ? n : 1, sizeof *entries);
    lens = calloc(n ? n : 1, sizeof *lens);
    if (!entries || !lens) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    size_t k = 0;
    for (size_t i = 0; i < n_chunks; i++)
        for (size_t j = 0; j < chunks[i]->elements; j++, k++) {
            entries[k] = chunks[i]->element[j]->str ? chunks[i]->element[j]->str : "";
            lens[k] = chunks[i]->element[j]->len;
        }
    if (!cb(ud, game_id, entries, lens, n)) {
        redisReply *r = redisCommand(c, "SREM %slive %s", prefix, game_id);
        if (r)
            freeReplyObject(r);
    }
    result = 0;
out:
    for (size_t i = 0; i < n_chunks; i++)
        freeReplyObject(chunks[i]);
    free(chunks);
    free(entries);
    free(lens);
    return result;
}

int cq_store_load_logs(const struct cq_redis_target *t, const char *prefix, int timeout_ms,
                       cq_store_log_cb cb, void *ud, char *err, size_t errlen)
{
    redisReply *live = NULL;
    int result = -1;
    redisContext *c = connect_sync(t, timeout_ms, err, errlen);
    if (!c)
        return -1;
    live = redisCommand(c, "SMEMBERS %slive", prefix);
    if (!live || live->type != REDIS_REPLY_ARRAY) {
        snprintf(err, errlen, "SMEMBERS: %s",
                 live && live->type == REDIS_REPLY_ERROR ? live->str : c->errstr);
        goto out;
    }
    for (size_t i = 0; i < live->elements; i++) {
        const redisReply *g = live->element[i];
        if (g->type != REDIS_REPLY_STRING || g->len > 64)
            continue;
        if (load_game(c, prefix, g->str, cb, ud, err, errlen))
            goto out;
    }
    result = 0;
out:
    if (live)
        freeReplyObject(live);
    redisFree(c);
    return result;
}

int cq_store_claim(const struct cq_redis_target *t, const char *prefix, const char *id,
                   int lease_ms, cq_store_gone_cb gone, int timeout_ms, char *err, size_t errlen)
{
    char key[128], holder[256] = "";
    int result = -1;
    redisContext *c = connect_sync(t, timeout_ms, err, errlen);
    if (!c)
        return -1;
    snprintf(key, sizeof key, "%sserver", prefix);
    /* Polled every 250 ms for at most the lease and a second. */
    for (int i = 0; i <= (lease_ms + 1000) / 250; i++) {
        redisReply *r = redisCommand(c, "SET %s %s NX PX %d", key, id, lease_ms);
        bool took = r && r->type == REDIS_REPLY_STATUS;
        if (r)
            freeReplyObject(r);
        if (took) {
            result = 0;
            goto out;
        }
        r = redisCommand(c, "GET %s", key);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            snprintf(err, errlen, "GET %s: %s", key, r ? r->str : c->errstr);
            if (r)
                freeReplyObject(r);
            goto out;
        }
        if (r->type == REDIS_REPLY_STRING)
            snprintf(holder, sizeof holder, "%s", r->str);
        freeReplyObject(r);
        if (holder[0] && (!strcmp(holder, id) || gone(holder))) {
            r = redisCommand(c, "SET %s %s PX %d", key, id, lease_ms);
            if (r)
                freeReplyObject(r);
            result = 0;
            goto out;
        }
        if (i == 0)
            fprintf(stderr,
                    "chainquiz: another chainquiz server (%s) uses this Redis with key prefix "
                    "%s; waiting up to %d s for it to stop\n",
                    holder, prefix, (lease_ms + 1000) / 1000);
        struct timespec ts = {0, 250 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    snprintf(err, errlen,
             "another chainquiz server (%s) uses this Redis with key prefix %s: stop it first, "
             "or give each server its own --key-prefix",
             holder, prefix);
out:
    redisFree(c);
    return result;
}

int64_t cq_store_read_alive(const struct cq_redis_target *t, const char *prefix, int timeout_ms)
{
    char err[256];
    int64_t v = -1;
    redisContext *c = connect_sync(t, timeout_ms, err, sizeof err);
    if (!c)
        return -1;
    redisReply *r = redisCommand(c, "GET %salive", prefix);
    if (r && r->type == REDIS_REPLY_STRING)
        v = strtoll(r->str, NULL, 10);
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return v;
}

/* ---- the journal file left by a previous run ------------------------------ */

#define REPLAY_PIPELINE 256 /* commands in flight on the blocking connection */

struct replay {
    redisContext *c;
    size_t queued, sent, errors;
    char *err;
    size_t errlen;
};

/* Reads the replies of what is queued; -1 when Redis cannot take writes. */
static int replay_drain(struct replay *rp)
{
    while (rp->queued) {
        void *v = NULL;
        if (redisGetReply(rp->c, &v) != REDIS_OK || !v) {
            snprintf(rp->err, rp->errlen, "%s", rp->c->errstr);
            return -1;
        }
        redisReply *r = v;
        rp->queued--;
        if (r->type == REDIS_REPLY_ERROR) {
            /* A refusal for now (loading, out of memory, read-only...) keeps
             * the file for the next start; any other error is that write's
             * own fault, and the rest still goes. */
            static const char *const later[] = {"LOADING", "BUSY",     "MISCONF",    "READONLY",
                                                "OOM",     "TRYAGAIN", "NOREPLICAS", "MASTERDOWN"};
            for (size_t i = 0; i < sizeof later / sizeof *later; i++)
                if (!strncmp(r->str, later[i], strlen(later[i]))) {
                    snprintf(rp->err, rp->errlen, "Redis refused a write: %s", r->str);
                    freeReplyObject(r);
                    return -1;
                }
            rp->errors++;
            fprintf(stderr, "chainquiz: journal file: a write failed: %s\n", r->str);
        }
        freeReplyObject(r);
    }
    return 0;
}

static int replay_cmd(void *ud, const char *cmd, size_t len)
{
    struct replay *rp = ud;
    if (redisAppendFormattedCommand(rp->c, cmd, len) != REDIS_OK) {
        snprintf(rp->err, rp->errlen, "%s", rp->c->errstr);
        return -1;
    }
    rp->queued++;
    rp->sent++;
    return rp->queued >= REPLAY_PIPELINE ? replay_drain(rp) : 0;
}

int cq_store_replay_journal_file(const struct cq_redis_target *t, struct cq_jfile *jf,
                                 int timeout_ms, size_t *sent, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    bool bad = false;
    int result = -1;
    struct replay rp = {.err = err, .errlen = errlen};
    *sent = 0;
    err[0] = '\0';
    if (cq_jfile_read(jf, &buf, &len)) {
        snprintf(err, errlen, "cannot read %s: %s", jf->path, strerror(errno));
        return -1;
    }
    if (!len)
        return 0;
    rp.c = connect_sync(t, timeout_ms, err, errlen);
    if (!rp.c)
        goto out;
    size_t used = cq_jfile_parse(buf, len, replay_cmd, &rp, &bad);
    if (rp.err[0] || replay_drain(&rp))
        goto out;
    if (used < len) {
        if (bad)
            fprintf(stderr,
                    "chainquiz: journal file %s: %zu bytes at offset %zu are not Redis "
                    "commands; left out\n",
                    jf->path, len - used, used);
        else
            fprintf(stderr,
                    "chainquiz: journal file %s: the last write (%zu bytes) was cut short by a "
                    "crash; left out (it was never acknowledged)\n",
                    jf->path, len - used);
    }
    if (cq_jfile_clear(jf)) {
        snprintf(err, errlen, "cannot empty %s: %s", jf->path, strerror(errno));
        goto out;
    }
    *sent = rp.sent;
    result = 0;
out:
    if (rp.c)
        redisFree(rp.c);
    free(buf);
    return result;
}
