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
#include "session.h"
#include "wire.h"

/* Per-WebSocket state, allocated by lws (per_session_data_size). */
struct cq_conn {
    struct cq_net *net;
    struct lws *wsi;
    struct cq_session_conn s; /* the session's view: role, game, player */

    /* Ring of qcap entries: send_queue_max at first, grown (up to
     * HELD_QUEUE_FACTOR times it, conn.c) only for what waits for the log. */
    struct cq_buf **q;
    unsigned qhead, qlen, qcap;
    size_t qbytes;

    char *rx; /* fragments of the message being received */
    size_t rx_len;
    bool rx_discard;   /* the current message is over the limit */
    size_t rx_dropped; /* its bytes read and dropped so far (DISCARD_MAX, conn.c) */
    int64_t rx_at;     /* when the message being handled was received */
    int64_t costly_at; /* its last costly message (list_banks, join...); see conn.c */

    double tokens; /* rate limit bucket */
    int64_t tokens_at;
    unsigned strikes; /* bad messages in a row */
    bool culled, close_after_flush, close_sent;
    bool write_asked; /* we asked lws for the next WRITEABLE (conn.c) */
    bool tls;         /* over TLS: lws_is_ssl(), asked once (conn.c) */
    /* Held until the game's log is stored (the session's hold): the
     * messages queued from the `gate_pos`th on (counting every message ever
     * queued, `qout` of them written or dropped) wait until it releases. */
    uint64_t qout, gate_pos;
    bool gated;
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

/* Answer latency (received to acknowledgement written) histogram bounds,
 * 1 ms to 10 s; defined in conn.c. */
#define CQ_ANSWER_BUCKETS 13
extern const int64_t cq_answer_bucket_us[CQ_ANSWER_BUCKETS];

struct cq_net_metrics {
    uint64_t conns_total, msgs_in, msgs_out, bad_msgs, culled;
    uint64_t refused_conns, idle_dropped;
    uint64_t accept_refused, accept_failed; /* listen.c: over the fd ceiling; EMFILE and such */
    uint64_t refused_work;                  /* costly messages over their address's budget */
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
    struct cq_session *session;      /* the live games */
    lws_sorted_usec_list_t wake_sul; /* the session's next deadline (cq_session_tick) */
    bool stopping, failed;           /* failed: did not start; stop and free it */
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
    /* cq_net_now's reading (0: read again), forgotten before the loop waits
     * (clock_prepare) and after it handled what woke it (clock_check). */
    int64_t clock_us;
    uv_prepare_t clock_prepare;
    uv_check_t clock_check;
};

/* The monotonic clock, read now (µs). */
int64_t cq_net_now_us(void);
/* The loop iteration's time: read once after the loop wakes (at its timers,
 * then after its poll) and shared by everything that iteration handles, so
 * the game, the session and the rate limits see one time per event batch.
 * Not for measuring how long something took within an iteration. */
int64_t cq_net_now(struct cq_net *net);

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
/* Queues `b` (takes a ref); culls the connection when its queue is full. */
void cq_conn_push(struct cq_conn *c, struct cq_buf *b);
/* Sends one personal message (steals msg). */
void cq_conn_send(struct cq_conn *c, json_t *msg);
void cq_conn_error(struct cq_conn *c, const json_t *req_id, int code, const char *field,
                   const char *detail);
/* Sends what is queued, then closes with `code` and `reason`. */
void cq_conn_close_after(struct cq_conn *c, uint16_t code, const char *reason);

/* listen.c */
/* Resolves `bind_to` and listens on each of its addresses, before lws
 * exists; on error one line in `err`, nothing left open. */
int cq_listen_open(struct cq_listen *L, const char *bind_to, int port, char *err, size_t errlen);
void cq_listen_close(struct cq_listen *L);
/* Starts accepting on the loop (after the vhost exists). */
void cq_listen_start(struct cq_net *net, unsigned fd_ceiling);
void cq_listen_stop(struct cq_net *net);

/* joinurl.c: where players can reach us, for a host page opened as
 * localhost. Adds `local_only` and `public_url` or `lan_urls` to a host's
 * or spectator's `joined`. */
void cq_join_urls_add(json_t *joined, const struct cq_net *net);
/* A Host header naming this machine (localhost, 127.x.y.z, [::1]). */
bool cq_host_is_loopback(const char *host);
/* The first LAN base URL ("http://192.168.1.20:8080"); false when none. */
bool cq_join_first_lan(const struct cq_net *net, char *out, size_t cap);

/* http.c */
int cq_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len);
size_t cq_http_pss_size(void);

#endif
