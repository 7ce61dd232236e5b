/* redis_embed.h: the private redis-server started when no --redis is given.
 *
 * It listens only on a Unix socket in the data folder (no TCP port), keeps
 * an append-only file there, runs in its own session so Ctrl-C reaches only
 * us, and dies with us even on SIGKILL (PR_SET_PDEATHSIG). Start-up blocks
 * the caller, before the event loop runs, for at most `timeout_ms`.
 */
#ifndef CQ_REDIS_EMBED_H
#define CQ_REDIS_EMBED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

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
    char program[CQ_PATH_MAX];
    char dir[4096]; /* the data folder, absolute */
    int64_t started_ms;

    /* Supervision (cq_redis_embed_supervise): on the server's loop. */
    bool supervised;
    uv_signal_t sigchld;
    uv_timer_t restart_timer;
    int backoff_ms;
    uint64_t restarts;
    void (*on_restart)(void *ud);
    void *ud;
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

/* Watches the Redis on `loop`: when it dies (crash, OOM killer, kill -9)
 * it is reaped, logged and started again with capped back-off, and
 * `on_restart` is told (the store reconnects and replays its journal).
 * Nothing to do for an external Redis. */
int cq_redis_embed_supervise(struct cq_redis_embed *e, uv_loop_t *loop, void (*on_restart)(void *),
                             void *ud);
/* Stops watching (before cq_redis_embed_stop); closes the loop handles. */
void cq_redis_embed_unsupervise(struct cq_redis_embed *e);

#endif
