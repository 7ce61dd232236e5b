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
    /* The data folder's lock (flock on chainquiz.lock), -1 when not held.
     * The Redis child inherits it, so the folder stays locked until both
     * this server and its Redis are gone: a restart right after a crash
     * waits for the old Redis to finish its shutdown instead of racing it. */
    int lock_fd;
    /* Per run (the server's pid in its name): an old Redis still shutting
     * down removes its own socket file, never the new one's. */
    char socket_path[108];
    char log_path[CQ_PATH_MAX];
};

/* Locks the data folder (one server per folder: a live one is a clear
 * error at once; a previous embedded Redis of that folder still shutting
 * down is waited for, then stopped), then starts Redis and waits for its
 * PING, all within `timeout_ms`. */
int cq_redis_embed_start(const char *program, const char *data_dir, int timeout_ms,
                         struct cq_redis_embed *e, char *err, size_t errlen);
/* Asks it to finish (SIGTERM: it flushes the AOF), waits for it, and
 * unlocks the data folder. */
void cq_redis_embed_stop(struct cq_redis_embed *e);

/* Blocking PING with a timeout, for start-up checks only. */
int cq_redis_ping(const struct cq_redis_target *t, int timeout_ms, char *err, size_t errlen);

#endif
