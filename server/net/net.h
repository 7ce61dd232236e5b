/* net.h: the transport adapter (the only includer of libwebsockets.h).
 *
 * Serves the browser client as static files, /healthz, /readyz, /metrics
 * and the JSON API over HTTP, and the game over WebSocket (path CQ_WS_PATH,
 * subprotocol CQ_SUBPROTOCOL), all on the application's libuv loop.
 */
#ifndef CQ_NET_H
#define CQ_NET_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "content.h"
#include "store.h"
#include "wordlist.h"

struct uv_loop_s;
struct cq_net;

/* What the transport borrows; all must outlive it. */
struct cq_net_deps {
    const struct cq_config *cfg;
    const struct cq_bankset *banks;
    const struct cq_wordlist *blocked;
    struct cq_store *store;
    struct uv_loop_s *loop;
};

/* Creates the lws context on deps->loop and starts listening. NULL when
 * nothing was created; otherwise the net, which may have failed to listen
 * (cq_net_failed): stop and free it either way. */
struct cq_net *cq_net_start(const struct cq_net_deps *deps, char *err, size_t errlen);
bool cq_net_failed(const struct cq_net *net);
/* Where it listens, for the log: "127.0.0.1:8080" or "[::1]:8080, 127.0.0.1:8080". */
const char *cq_net_listening(const struct cq_net *net);
/* The monotonic time the previous server was last known alive
 * (cq_store_read_alive; -1: unknown): the games it ran went on until then,
 * and only the time after it is downtime. Before cq_net_restore_game. */
void cq_net_set_last_alive(struct cq_net *net, int64_t mono_us);
/* Resumes a game that was live when the server stopped, from its log
 * (replay.h); before the loop runs. False when it cannot be resumed. */
bool cq_net_restore_game(struct cq_net *net, const char *game_id, const char *const *entries,
                         const size_t *lens, size_t n);
/* Closes every connection and frees the games; the loop must then run
 * until lws has closed its handles, and cq_net_free finish the job. */
void cq_net_stop(struct cq_net *net);
void cq_net_free(struct cq_net *net);

#endif
