/* store.h: the Redis adapter (the only includer of hiredis).
 *
 * One async connection on the server's libuv loop. It reconnects with
 * capped back-off when Redis goes away. Writes made while Redis is away are
 * kept in order in a bounded journal and replayed on reconnect; a write
 * that cannot be kept is logged loudly and counted. Every callback given to
 * cq_store_* runs exactly once: with the reply, or with NULL on failure
 * (including cq_store_free).
 */
#ifndef CQ_STORE_H
#define CQ_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct uv_loop_s;
struct redisReply;
struct cq_store;

typedef void (*cq_store_cb)(void *ud, struct redisReply *reply);

struct cq_store_stats {
    uint64_t errors, reconnects, journal_dropped;
    size_t journal_depth;
    bool connected;
};

struct cq_store *cq_store_new(struct uv_loop_s *loop, const struct cq_redis_target *target,
                              const char *prefix, int timeout_ms, unsigned journal_max);
/* Starts connecting; returns at once. */
void cq_store_start(struct cq_store *s);
/* Fails every pending callback (NULL reply) and frees. */
void cq_store_free(struct cq_store *s);

bool cq_store_connected(const struct cq_store *s);
void cq_store_stats(const struct cq_store *s, struct cq_store_stats *out);
const char *cq_store_prefix(const struct cq_store *s);

/* A read: fails (cb with NULL) when Redis is away or slower than the
 * command timeout. */
int cq_store_read(struct cq_store *s, cq_store_cb cb, void *ud, int argc, const char **argv,
                  const size_t *argvlen);
/* A write that must not be lost: sent now, or journaled until Redis is
 * back. Writes are replayed in order; each must be idempotent. */
int cq_store_write(struct cq_store *s, int argc, const char **argv, const size_t *argvlen);

#endif
