/* redis_embed.h: the private redis-server started when no --redis is given.
 *
 * It listens only on a Unix socket in the data folder (no TCP port), keeps
 * an append-only file there, runs in its own session so Ctrl-C reaches only
 * us, and dies with us even on SIGKILL (PR_SET_PDEATHSIG). Start-up blocks
 * the caller, before the event loop runs, for at most `timeout_ms`.
 */
#ifndef CQ_REDIS_EMBED_H
#define CQ_REDIS_EMBED_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"

struct cq_redis_embed {
    pid_t pid;
    char socket_path[108];
    char log_path[CQ_PATH_MAX];
};

int cq_redis_embed_start(const char *program, const char *data_dir, int timeout_ms,
                         struct cq_redis_embed *e, char *err, size_t errlen);
/* Asks it to finish (SIGTERM: it flushes the AOF) and waits for it. */
void cq_redis_embed_stop(struct cq_redis_embed *e);

/* Blocking PING with a timeout, for start-up checks only. */
int cq_redis_ping(const struct cq_redis_target *t, int timeout_ms, char *err, size_t errlen);

#endif
