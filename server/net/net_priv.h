/* net_priv.h: what the files of the transport adapter share. */
#ifndef CQ_NET_PRIV_H
#define CQ_NET_PRIV_H

#include <jansson.h>
#include <limits.h>
#include <libwebsockets.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "addr.h"
#include "http_conns.h"
#include "cq_proto.h"
#include "net.h"
#include "proxy.h"
#include "room.h"
#include "secret.h"
#include "wire.h"

/* One serialised message, shared by every queue it sits in. */
struct cq_buf {
    unsigned refs;
    size_t len;
    /* An answer_ack: when its answer was received (cq_net_now_us), observed
     * into the latency histogram once written; 0 for every other message. */
    int64_t answer_at;
    unsigned char data[]; /* LWS_PRE bytes of headroom, then len bytes */
};

struct cq_live_room;
struct cq_group_check;

/* Per-WebSocket state, allocated by lws (per_session_data_size). */
struct cq_conn {
    struct cq_net *net;
    struct lws *wsi;
    unsigned role; /* CQ_ROLE_* */
    struct cq_live_room *lr;
    struct cq_player *player;
    unsigned room_slot;              /* index in room->conns */
    struct cq_group_check *creating; /* a create_game waiting for Redis (group.c) */

    struct cq_buf **q; /* ring of send_queue_max entries */
    unsigned qhead, qlen;
    size_t qbytes;

    char *rx; /* fragments of the message being received */
    size_t rx_len;
    bool rx_discard;   /* the current message is over the limit */
    int64_t rx_at;     /* when the message being handled was received */
    int64_t costly_at; /* its last costly message (list_banks, join...); see conn.c */

    double tokens; /* rate limit bucket */
    int64_t tokens_at;
    unsigned strikes; /* bad messages in a row */
    bool culled, close_after_flush, close_sent;
    bool write_asked; /* we asked lws for the next WRITEABLE (conn.c) */
    bool tls;         /* over TLS: lws_is_ssl(), asked once (conn.c) */
    /* Held until the game's log is stored (cq_conn_hold_until): the
     * messages queued from the `gate_pos`th on (counting every message ever
     * queued, `qout` of them written or dropped) wait until the log of
     * `gate_room` holds its entries below `gate_need`. 0: no gate. */
    uint64_t qout, gate_pos, gate_need;
    struct cq_live_room *gate_room;
    lws_dll2_t gate_link; /* in gate_room->gated */
    uint16_t close_code;
    char close_reason[64];
    char peer[64];
    struct cq_addr *addr; /* per-address accounting; NULL when out of memory */
    /* On the address's idle list while in no game (addr.h): capped per
     * address, oldest closed first, and closed after --join-deadline. */
    struct cq_addr_link idle;
    int64_t idle_since;
    /* The tarpit (cq_conn_hold): a wrong guess's answer waits in `held`
     * while the connection reads nothing, until tarpit_sul fires. */
    lws_sorted_usec_list_t tarpit_sul;
    json_t *held;
    unsigned held_n; /* answers held so far; the connection closes at TARPIT_CLOSE_AFTER */

    /* Keep-alive (see cq_conn_sweep): one list and one timer for all, not a
     * timer per connection, whose re-arming on every frame costs O(timers). */
    lws_dll2_t live;  /* in net->live_conns from ESTABLISHED to CLOSED */
    int64_t heard_at; /* last frame or pong from the client */
    int64_t ping_at;  /* our last ping; 0 when none since heard_at */
    bool ping_due;    /* write a ping at the next WRITEABLE */
};

struct cq_live_room {
    struct cq_live_room *next;
    struct cq_net *net;
    struct cq_room *room;
    struct cq_conn **conns;
    unsigned n_conns, cap_conns;
    unsigned n_hosts;                   /* host connections, at most cfg->max_hosts_per_game */
    struct cq_addr *owner;              /* the address that created it (its games quota); NULL
                                           for a game resumed after a restart */
    char watch_token[CQ_TOKEN_MAX + 1]; /* `watch` needs it: the host's link */
    struct cq_buf *state_buf;           /* the host's and spectators' `state` (cache.c) */
    int64_t state_at;                   /* when state_buf was encoded */
    lws_sorted_usec_list_t tick_sul;    /* the game's next deadline */
    int64_t tick_at;                    /* when tick_sul fires; INT64_MAX: not armed */
    lws_sorted_usec_list_t flush_sul;   /* coalesced lobby and progress updates */
    bool flush_armed, progress_dirty, expired, in_tick;
    json_t *pending_joined, *pending_left, *pending_status; /* host deltas */
    int64_t created_at;
    long long created_unix;
    char game_id[32]; /* "<pin>-<unix time>": unique over time, unlike the PIN */
    char group_digest[CQ_SECRET_DIGEST_LEN + 1]; /* of its group secret (secret.h), or "" */
    /* The game's join secret ("" when the host did not ask for one): `join`
     * and `watch` must carry it beside the PIN (the join link's `k`). */
    char join_secret[CQ_TOKEN_MAX + 1];
    uint64_t log_seq; /* number of the game's next log entry (replay.h) */
    /* Entries below this number are stored (cq_live_stored): an answer is
     * acknowledged, a host command confirmed, a join welcomed and the end
     * announced only once the entries they depend on are. */
    uint64_t log_stored;
    uint64_t log_gap;       /* the first entry the store dropped: log_stored stays below it */
    lws_dll2_owner_t gated; /* connections held for it (struct cq_conn.gate_link) */
    json_t *ended_msg;      /* `ended`, sent once its input is logged (room_after) */
    /* Log entries made in this loop iteration, sent in one RPUSH after it. */
    char **log_e;
    size_t *log_len;
    size_t log_n, log_cap;
    bool log_ttl, log_queued;
    struct cq_live_room *log_next; /* in net->log_dirty */
};

/* Answer latency (received to acknowledgement written) histogram bounds,
 * 1 ms to 10 s; defined in conn.c. */
#define CQ_ANSWER_BUCKETS 13
extern const int64_t cq_answer_bucket_us[CQ_ANSWER_BUCKETS];

struct cq_net_metrics {
    uint64_t conns_total, msgs_in, msgs_out, bad_msgs, culled, answers, games_created;
    uint64_t refused_conns, refused_games, idle_dropped;
    uint64_t accept_refused, accept_failed; /* listen.c: over the fd ceiling; EMFILE and such */
    uint64_t refused_work;                  /* costly messages over their address's budget */
    uint64_t state_encodes; /* host/spectator `state` encoded (not from the cache) */
    /* Plain HTTP (http_conns.c): refused at an address's cap, and idle
     * keep-alives closed to make room under it. */
    uint64_t refused_http, http_idle_closed;
    /* Wrong PINs, secrets and tokens; those whose answer was delayed; idle
     * connections closed to make room for a newer one from their address,
     * or for not joining a game in time. */
    uint64_t wrong_guesses, tarpitted, idle_evicted, idle_expired;
    /* Per bucket, not cumulative (http.c sums them); the last is over 10 s. */
    uint64_t answer_hist[CQ_ANSWER_BUCKETS + 1];
    uint64_t answer_time_sum_us;
    /* On every connection's send queue, kept up to date at push, write,
     * cull and close. */
    uint64_t queued_msgs, queued_bytes;
    unsigned conns;
};

/* Descriptors kept free for Redis, the files served, the logs: a connection
 * whose socket would use one is closed at once (listen.c). */
#define CQ_FD_RESERVE 64
/* Sockets left for HTTP (health checks, the page, "server full") when
 * WebSockets are at their limit. */
#define CQ_HTTP_MARGIN 32
#define CQ_LISTEN_MAX  8 /* addresses one --bind may name */

struct cq_listen;
struct cq_listener {
    int fd;
    uv_poll_t poll;
    struct cq_listen *owner;
};

/* Our listening sockets (--bind) and the accept loop's rationing. */
struct cq_listen {
    struct cq_net *net;
    struct cq_listener l[CQ_LISTEN_MAX];
    unsigned n;
    char where[CQ_LISTEN_MAX * 56]; /* "[::1]:8080, 127.0.0.1:8080" */
    unsigned fd_ceiling;            /* an accepted descriptor at or above: closed */
    uv_timer_t resume;              /* after EMFILE: accepting again */
    uv_timer_t log_timer;           /* at most one refusal line per interval */
    bool started, paused, log_armed;
    uint64_t refused_unlogged, failed_unlogged;
    int last_errno;
};

struct cq_net {
    struct cq_net_deps deps;
    struct cq_listen listen;
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    struct cq_live_room *rooms;
    unsigned n_rooms;
    bool stopping, failed; /* failed: did not start; stop and free it */
    struct cq_net_metrics m;
    struct cq_addr_table *addrs;
    struct cq_http_conns *http_conns; /* --max-http-conns-per-ip */
    struct cq_proxy_list proxies;     /* --trusted-proxies */
    bool xff_warned;                  /* an unusable X-Forwarded-For was logged at warn */
    int64_t guessing_warned_at;       /* the last warning of PIN guessing server-wide */
    /* Idle connections closed for newer ones since the last sweep: the
     * first is logged at info, the rest counted and logged by the sweep
     * (a flood would otherwise be a line per connection). */
    unsigned evicted_since_sweep;
    unsigned max_conns;
    /* The web root's real path (symlinks resolved; empty: none), and who
     * may read /metrics (--metrics-allow). */
    char web_root[PATH_MAX];
    struct cq_proxy_list metrics_allow;
    struct lws_protocol_vhost_options headers[5];
    struct lws_protocols protocols[3];
    lws_retry_bo_t retry;             /* all zero: no lws validity timers (see conn.c) */
    lws_dll2_owner_t live_conns;      /* every established WebSocket (struct cq_conn.live) */
    lws_sorted_usec_list_t sweep_sul; /* the keep-alive sweep */
    int64_t sweep_due;                /* when sweep_sul should fire */
    uv_check_t log_check;             /* after each loop iteration: send the games' logs */
    uv_timer_t alive_timer;           /* cq_store_alive, every second */
    int64_t last_alive_us;            /* the previous server's last heartbeat; -1: unknown */
    struct cq_live_room *log_dirty;
    struct cq_buf *banks_buf; /* the `banks` reply, encoded once (cache.c) */
};

int64_t cq_net_now_us(void);

/* conn.c */
int cq_conn_filter(struct cq_net *net, struct lws *wsi);
int cq_conn_open(struct cq_net *net, struct cq_conn *c, struct lws *wsi);
int cq_conn_receive(struct cq_conn *c, const void *in, size_t len);
int cq_conn_writable(struct cq_conn *c);
void cq_conn_closed(struct cq_conn *c);
/* A pong (or any frame) came in: the connection is alive. */
void cq_conn_heard(struct cq_conn *c);
/* A control frame from the client (a ping, a pong): it costs a token of
 * the message rate like a message, and a flood earns the same strikes. */
void cq_conn_control(struct cq_conn *c);
/* Starts the keep-alive sweep (after the context exists). */
void cq_conn_sweep_start(struct cq_net *net);
struct cq_buf *cq_buf_from_json(json_t *msg); /* steals msg; refs = 0 */
void cq_buf_unref(struct cq_buf *b);
/* Queues `b` (takes a ref); culls the connection when its queue is full. */
void cq_conn_push(struct cq_conn *c, struct cq_buf *b);
/* What is queued for `c` from now on waits until cq_conn_release: until the
 * game's log entries below `need` are stored (live.c). */
void cq_conn_hold_until(struct cq_conn *c, uint64_t need);
void cq_conn_release(struct cq_conn *c);
/* Sends one personal message (steals msg). */
void cq_conn_send(struct cq_conn *c, json_t *msg);
/* Sends the answer_ack for the message being handled (steals msg): the
 * answer latency is observed when it is written. */
void cq_conn_send_answer_ack(struct cq_conn *c, json_t *msg);
void cq_conn_error(struct cq_conn *c, const json_t *req_id, int code, const char *field,
                   const char *detail);
/* Sends what is queued, then closes with `code` and `reason`. */
void cq_conn_close_after(struct cq_conn *c, uint16_t code, const char *reason);
/* The answer to a wrong guess (steals msg): counts it against the address
 * and the server, and sends it at once within their budgets; past them it
 * is held, and the connection reads nothing, for the delay addr.c sets. */
void cq_conn_wrong_guess(struct cq_conn *c, const char *what, json_t *msg);
/* The connection is in a game now (false), or in none again (true). */
void cq_conn_set_idle(struct cq_conn *c, bool idle);

/* listen.c */
/* Resolves `bind_to` and listens on each of its addresses, before lws
 * exists; on error one line in `err`, nothing left open. */
int cq_listen_open(struct cq_listen *L, const char *bind_to, int port, char *err, size_t errlen);
void cq_listen_close(struct cq_listen *L);
/* Starts accepting on the loop (after the vhost exists). */
void cq_listen_start(struct cq_net *net, unsigned fd_ceiling);
void cq_listen_stop(struct cq_net *net);

/* live.c */
void cq_live_handle(struct cq_conn *c, struct cq_msg *m);
/* Creates the game of a create_game. `group_digest`: the SHA-256 of the
 * group secret it is created with ("" without a group); `group_secret`:
 * the secret of the group this game creates, for the host, or NULL. */
void cq_live_create_game(struct cq_conn *c, const struct cq_msg *m, const char *group_digest,
                         const char *group_secret);
void cq_live_conn_gone(struct cq_conn *c);
void cq_live_stop(struct cq_net *net);
/* Sends the log entries the games made in this loop iteration. */
void cq_live_log_flush(struct cq_net *net);
/* Rebuilds a game from its log after a restart; false when it cannot be. */
bool cq_live_restore(struct cq_net *net, const char *game_id, const char *const *entries,
                     const size_t *lens, size_t n);
void cq_live_redis_state(struct cq_net *net, bool connected);
/* The store has game `game_id`'s log entries up to `seq`: what waited for
 * them goes out. With `stored` false, the entries from `seq` on were
 * dropped: what depends on them never goes out. */
void cq_live_stored(struct cq_net *net, const char *game_id, uint64_t seq, bool stored);
json_t *cq_live_redis_warning(bool connected);
unsigned cq_live_players(const struct cq_net *net);

/* group.c: create_game, after the group owner check (may wait for Redis). */
void cq_group_create(struct cq_conn *c, const struct cq_msg *m);
/* The connection is gone: a check still waiting for Redis forgets it. */
void cq_group_conn_gone(struct cq_conn *c);

/* joinurl.c: where players can reach us, for a host page opened as
 * localhost. Adds `local_only` and `public_url` or `lan_urls` to a host's
 * or spectator's `joined`. */
void cq_join_urls_add(json_t *joined, const struct cq_net *net);
/* A Host header naming this machine (localhost, 127.x.y.z, [::1]). */
bool cq_host_is_loopback(const char *host);
/* The first LAN base URL ("http://192.168.1.20:8080"); false when none. */
bool cq_join_first_lan(const struct cq_net *net, char *out, size_t cap);

/* cache.c: replies encoded once and shared. */
struct cq_buf *cq_buf_from_bytes(const void *data, size_t len); /* refs = 0 */
/* The `banks` reply, with the request's id when it has one. */
void cq_cache_send_banks(struct cq_conn *c, const json_t *req_id);
/* The game's host/spectator `state` while it is current, else NULL. */
struct cq_buf *cq_cache_state_get(struct cq_live_room *lr);
/* Encodes `state` (stolen) as the current one; NULL when out of memory. */
struct cq_buf *cq_cache_state_put(struct cq_live_room *lr, json_t *state);
/* The game changed: the next screen that asks gets a new encoding. */
void cq_cache_state_drop(struct cq_live_room *lr);
void cq_cache_free(struct cq_net *net);

/* http.c */
int cq_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len);
size_t cq_http_pss_size(void);

#endif
