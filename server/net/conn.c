/* conn.c: one WebSocket: admission, framing, rate limit, bounded send queue,
 * keep-alive.
 *
 * Writes happen only in SERVER_WRITEABLE, while the socket takes them. A
 * connection whose queue fills (a phone on a bad network) is cut off, as
 * Redis cuts slow consumers off: the room is never slowed down by it, and
 * the player rejoins with their token.
 *
 * Keep-alive is ours, not lws': lws 4.1 keeps one validity timer per
 * connection in its sorted timer list and re-inserts it on every frame
 * received, O(connections) each (43 % of the server's CPU at 10,000
 * players). Instead every connection notes when it last heard from its
 * client, and one coarse sweep over all of them pings the silent ones and
 * closes those that stay silent.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <time.h>

#include "log.h"
#include "net_priv.h"

#define STRIKES_MAX              10 /* bad or throttled messages in a row before we close */
#define WORK_SHARE_US            1000000 /* a connection's own costly message, past its address's budget */
#define CQ_LWS_WRITE_CLOSE       ((enum lws_write_protocol)4)
#define CLOSE_LINGER_S           3    /* after our close frame, how long we wait for the client's */
#define CQ_CLOSE_TRY_AGAIN_LATER 1013 /* RFC 6455 registry; not in lws 4.1's enum */
#define CQ_CLOSE_MESSAGE_TOO_BIG 1009
/* Bytes of one oversized message read and dropped before the connection is
 * closed: reading an endless one would cost the loop for nothing. */
#define DISCARD_MAX (1u << 20)
/* Messages that wait for their game's log (behind a reply the session holds
 * until stored) are not the reader's slowness: they do not count towards
 * --send-queue, only towards --send-queue-bytes and this many times
 * --send-queue. A host's allowed burst of 40 commands queues 80 of them
 * (a broadcast and an `ok` each), and a player's held `answer_ack` has the
 * hosts' broadcasts behind it. */
#define HELD_QUEUE_FACTOR 16
#define SWEEP_US          2000000 /* keep-alive check period */
/* A sweep this late means the loop was busy: what the clients sent may be
 * unread in the sockets yet, so it pings but closes nobody, and looks again
 * once the loop has read them. */
#define SWEEP_LATE_US    1000000
#define SWEEP_RECHECK_US 100000
#define PING_PAYLOAD     "cq" /* echoed in the pong */

/* Prometheus's usual 1-2.5-5 steps: an answer acknowledged within a few
 * milliseconds is a healthy server, hundreds of milliseconds an overloaded
 * one (the ack waited behind broadcasts), seconds a broken one. */
const int64_t cq_answer_bucket_us[CQ_ANSWER_BUCKETS] = {
    1000,   2500,   5000,    10000,   25000,   50000,    100000,
    250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

int64_t cq_net_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Built messages (session.h) keep CQ_BUF_HEADROOM bytes in front for
 * lws_write's frame header. */
_Static_assert(LWS_PRE <= CQ_BUF_HEADROOM, "a built message has no room for lws' header");

static const struct cq_session_conn_ops conn_session_ops;
static void conn_set_idle(struct cq_conn *c, bool idle);

/* ---- admission --------------------------------------------------------- */

static bool origin_allowed(struct cq_net *net, struct lws *wsi)
{
    char origin[256], host[256];
    const char *list = net->deps.cfg->origins;
    int n_origin = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);
    /* Only a request without the header is "not a browser". lws reports an
     * absent and an empty header both as length 0; its first fragment tells
     * them apart (-1: absent). Too long for our buffer is refused, not
     * waved through. */
    if (n_origin <= 0)
        return lws_hdr_copy_fragment(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN, 0) < 0;
    if ((size_t)n_origin >= sizeof origin ||
        lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) <= 0)
        return false;
    if (list[0]) {
        size_t n = strlen(origin);
        for (const char *p = list; *p;) {
            size_t len = strcspn(p, ",");
            if (len == n && !strncmp(p, origin, n))
                return true;
            if (len == 1 && *p == '*')
                return true;
            p += len;
            if (*p == ',')
                p++;
        }
        return false;
    }
    /* Same origin: the Origin's host:port equals the Host header. */
    if (lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST) <= 0)
        return false;
    const char *o = strstr(origin, "://");
    return o && !strcasecmp(o + 3, host); /* host names are case-insensitive */
}

int cq_conn_filter(struct cq_net *net, struct lws *wsi)
{
    char uri[64];
    if (net->stopping)
        return -1;
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 || strcmp(uri, CQ_WS_PATH)) {
        cq_debug("ws: refused upgrade on %s", uri);
        return -1;
    }
    if (!origin_allowed(net, wsi)) {
        cq_warn("ws: refused a connection from a foreign origin");
        return -1;
    }
    return 0;
}

/* Behind a trusted proxy, the client is named by X-Forwarded-For: it
 * replaces the proxy's address in c->peer, for per-address limits and logs. */
static void forwarded_peer(struct cq_net *net, struct cq_conn *c, struct lws *wsi)
{
    char xff[CQ_PROXY_XFF_MAX], client[sizeof c->peer];
    int n = lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR);
    enum cq_proxy_pick pick;
    if (n <= 0 || !cq_proxy_trusted(&net->proxies, c->peer))
        return;
    if ((size_t)n >= sizeof xff ||
        lws_hdr_copy(wsi, xff, (int)sizeof xff, WSI_TOKEN_X_FORWARDED_FOR) < 0)
        pick = CQ_PROXY_GARBAGE; /* too long to be a real chain of proxies */
    else
        pick = cq_proxy_client(&net->proxies, c->peer, xff, client, sizeof client);
    if (pick == CQ_PROXY_GARBAGE) {
        /* Once at warn (a misconfigured proxy would flood the log), then debug. */
        if (!net->xff_warned)
            cq_warn("ws: unusable X-Forwarded-For from trusted proxy %s: counting the client "
                    "as the proxy (further ones are logged at debug)",
                    c->peer);
        else
            cq_debug("ws: unusable X-Forwarded-For from trusted proxy %s", c->peer);
        net->xff_warned = true;
        return;
    }
    if (pick == CQ_PROXY_FORWARDED) {
        cq_debug("ws: %s forwarded by %s", client, c->peer);
        snprintf(c->peer, sizeof c->peer, "%s", client);
    }
}

int cq_conn_open(struct cq_net *net, struct cq_conn *c, struct lws *wsi)
{
    memset(c, 0, sizeof *c);
    c->q = calloc(net->deps.cfg->send_queue_max, sizeof *c->q);
    if (!c->q)
        return -1; /* c->net stays NULL: cq_conn_closed has nothing to undo */
    c->qcap = net->deps.cfg->send_queue_max;
    c->net = net;
    c->wsi = wsi;
    c->tls = lws_is_ssl(wsi);
    cq_session_conn_init(&c->s, &conn_session_ops, c->peer, NULL);
    c->tokens = net->deps.cfg->limits.msgs_burst;
    c->tokens_at = cq_net_now(net);
    c->heard_at = c->tokens_at;
    lws_dll2_add_tail(&c->live, &net->live_conns);
    lws_get_peer_simple(wsi, c->peer, sizeof c->peer);
    if (net->proxies.n)
        forwarded_peer(net, c, wsi);
    net->m.conns++;
    net->m.conns_total++;
    /* Refusals are told, then closed: the client sees why. */
    if (net->m.conns > net->max_conns) {
        net->m.refused_conns++;
        cq_warn("ws: refusing %s: %u connections is the server's limit", c->peer, net->max_conns);
        cq_conn_error(c, NULL, CQ_ESERVER_BUSY, NULL, "the server is full; try again later");
        cq_conn_close_after(c, CQ_CLOSE_TRY_AGAIN_LATER, "server full");
        return 0;
    }
    /* NULL only when out of memory: then this one connection is not
     * counted, which is better than refusing it. */
    c->addr = cq_addr_acquire(net->addrs, c->peer, c->tokens_at);
    c->s.addr = c->addr;
    cq_conn_send(c, cq_wire_welcome(&net->deps.cfg->limits));
    conn_set_idle(c, true);
    return 0;
}

/* ---- idle connections and the tarpit ---------------------------------------- */

/* Idle connections with unread input passed over per eviction, at most: a
 * flood that sends something cannot make the walk long. */
#define EVICT_SKIP_MAX 8

static bool has_input(struct cq_addr_link *l)
{
    struct cq_conn *c = lws_container_of(l, struct cq_conn, idle);
    int n = 0;
    lws_sockfd_type fd = lws_get_socket_fd(c->wsi);
    return fd >= 0 && !ioctl(fd, FIONREAD, &n) && n > 0;
}

static void conn_set_idle(struct cq_conn *c, bool idle)
{
    struct cq_net *net = c->net;
    if (!c->addr)
        return;
    if (!idle || net->stopping) {
        cq_addr_idle_remove(c->addr, &c->idle);
        return;
    }
    if (c->culled || c->close_after_flush)
        return; /* on its way out: it takes nobody's room */
    c->idle_since = cq_net_now(net);
    struct cq_addr_link *oldest = cq_addr_idle_add(net->addrs, c->addr, &c->idle);
    /* One whose request has arrived but is not read yet (the loop is busy
     * accepting a flood) is about to join: it goes to the back instead. */
    for (int i = 0; oldest && i < EVICT_SKIP_MAX && has_input(oldest); i++)
        oldest = cq_addr_idle_add(net->addrs, c->addr, oldest);
    if (!oldest)
        return;
    /* The address is at its cap of idle connections: the oldest makes room.
     * Refusing the new one instead would let a flood of idle sockets lock
     * out everyone behind the same address; closing the oldest costs an
     * honest client at most a reconnect (the web client resends its join). */
    struct cq_conn *old = lws_container_of(oldest, struct cq_conn, idle);
    net->m.idle_evicted++;
    if (!net->evicted_since_sweep++)
        cq_info("ws: closing %s, idle longest of the %u idle connections from %s", old->peer,
                cq_addr_idle_count(c->addr), cq_addr_name(c->addr));
    else
        cq_debug("ws: closing %s, idle longest of the %u idle connections from %s", old->peer,
                 cq_addr_idle_count(c->addr), cq_addr_name(c->addr));
    cq_conn_error(old, NULL, CQ_ETOO_MANY_CONNECTIONS, NULL, NULL);
    cq_conn_close_after(old, LWS_CLOSE_STATUS_POLICY_VIOLATION, "too many connections");
}

/* Wrong answers held past this many close the connection once sent: a
 * guesser must reconnect (and is an idle connection again) to go on. */
#define TARPIT_CLOSE_AFTER 10

static void tarpit_cb(lws_sorted_usec_list_t *sul)
{
    struct cq_conn *c = lws_container_of(sul, struct cq_conn, tarpit_sul);
    json_t *msg = c->held;
    c->held = NULL;
    if (c->culled || c->close_after_flush) {
        json_decref(msg); /* closed meanwhile (made room for a newer one): nobody to tell */
        return;
    }
    cq_conn_send(c, msg);
    if (c->held_n >= TARPIT_CLOSE_AFTER) {
        cq_info("ws: closing %s after %u delayed wrong guesses", c->peer, c->held_n);
        cq_conn_close_after(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "too many wrong guesses");
        return;
    }
    lws_rx_flow_control(c->wsi, 1);
}

static void conn_wrong_guess(struct cq_conn *c, const char *what, json_t *msg)
{
    struct cq_net *net = c->net;
    int64_t now = cq_net_now(net);
    net->m.wrong_guesses++;
    int64_t delay = cq_addr_miss(net->addrs, c->addr, now);
    /* Guessing spread over many addresses: the operator should know, and
     * what stops it for good (once a minute at most). */
    if (delay && now - net->guessing_warned_at > 60000000 && cq_addr_server_over(net->addrs, now)) {
        net->guessing_warned_at = now;
        cq_warn("ws: over %u wrong PINs/tokens a minute from all addresses (%llu so far): someone "
                "may be guessing PINs; games with a join secret (--require-join-secret) are safe",
                net->deps.cfg->server_pin_misses_per_min, (unsigned long long)net->m.wrong_guesses);
    }
    if (c->held) {
        json_decref(msg); /* not reached: a held connection reads nothing */
        return;
    }
    if (!delay) {
        cq_info("ws: %s tried %s", c->peer, what);
        cq_conn_send(c, msg);
        return;
    }
    /* The answer waits, and so does everything else the connection sends:
     * lws stops reading the socket (what it has read already stays in its
     * buffer), so a guesser gets one check per delay per connection. A
     * correct PIN or token never comes here: it was answered at once. */
    net->m.tarpitted++;
    c->held = msg;
    c->held_n++;
    cq_debug("ws: %s tried %s: answered in %lld ms (%s past its budget)", c->peer, what,
             (long long)(delay / 1000), c->addr ? cq_addr_name(c->addr) : "the server");
    lws_rx_flow_control(c->wsi, 0);
    lws_sul_schedule(net->ctx, 0, &c->tarpit_sul, tarpit_cb, delay);
}

/* ---- sending ------------------------------------------------------------ */

/* Every WRITEABLE we ask for is noted: lws 4.1 answers a client's ping
 * itself and tells us nothing, but the pong leaves POLLOUT armed and a
 * WRITEABLE nobody asked for follows. That is how pings are counted
 * (cq_conn_writable). A write lws could not finish also brings one, so it
 * counts as asked for (note_partial). */
static void want_writable(struct cq_conn *c)
{
    c->write_asked = true;
    lws_callback_on_writable(c->wsi);
}

static void note_partial(struct cq_conn *c)
{
    if (lws_partial_buffered(c->wsi))
        c->write_asked = true;
}

/* Whether the next message must wait for WRITEABLE. Without TLS that is when
 * lws still holds part of a message: a write to a full socket is taken whole
 * by lws (send() says EAGAIN, lws keeps it and asks for WRITEABLE itself),
 * so each connection has at most that one message in lws and the rest in our
 * bounded queue, as before, without a poll() per message (lws 4.1.6's check
 * for back-to-back writes, `could_have_pending`, is compiled out: it would
 * only log). Over TLS a retried SSL_write wants the same buffer: there we
 * ask the socket, as lws_send_pipe_choked does. */
static bool choked(struct cq_conn *c)
{
    return c->tls ? lws_send_pipe_choked(c->wsi) : lws_partial_buffered(c->wsi);
}

static void drop_queue(struct cq_conn *c)
{
    unsigned cap = c->qcap;
    c->net->m.queued_msgs -= c->qlen;
    c->net->m.queued_bytes -= c->qbytes;
    while (c->qlen) {
        cq_buf_unref(c->q[c->qhead]);
        c->qhead = (c->qhead + 1) % cap;
        c->qlen--;
        c->qout++;
    }
    c->qbytes = 0;
}

static void observe_answer(struct cq_net_metrics *m, int64_t us);

/* One whole message to the socket (lws keeps what the socket did not take
 * and asks for WRITEABLE itself); the caller still owns `b`. */
static int write_buf(struct cq_conn *c, struct cq_buf *b)
{
    int n = lws_write(c->wsi, b->data + CQ_BUF_HEADROOM, b->len, LWS_WRITE_TEXT);
    if (n < 0)
        return -1;
    note_partial(c);
    c->net->m.msgs_out++;
    if (b->answer_at)
        observe_answer(&c->net->m, cq_net_now_us() - b->answer_at);
    return 0;
}

/* Bytes the kernel holds for this connection, sent or not, unacknowledged
 * (SIOCOUTQ); 0 when it cannot tell (TLS counts lws' socket all the same). */
static size_t kernel_queued(struct cq_conn *c)
{
    int n = 0;
    lws_sockfd_type fd = lws_get_socket_fd(c->wsi);
    if (fd < 0 || ioctl(fd, SIOCOUTQ, &n) < 0 || n < 0)
        return 0;
    return (size_t)n;
}

/* Messages queued ahead of the durability gate: those that wait for the
 * socket, not for the log. */
static unsigned queued_ahead(const struct cq_conn *c)
{
    if (!c->gated)
        return c->qlen;
    uint64_t ahead = c->gate_pos > c->qout ? c->gate_pos - c->qout : 0;
    return ahead < c->qlen ? (unsigned)ahead : c->qlen;
}

/* Room for one more entry: the ring doubles, in order, up to the ceiling
 * for held messages. False when it is at the ceiling (or out of memory). */
static bool ring_room(struct cq_conn *c)
{
    unsigned max = c->net->deps.cfg->send_queue_max * HELD_QUEUE_FACTOR;
    if (c->qlen < c->qcap)
        return true;
    if (c->qcap >= max)
        return false;
    unsigned ncap = c->qcap * 2 < max ? c->qcap * 2 : max;
    struct cq_buf **nq = malloc(ncap * sizeof *nq);
    if (!nq)
        return false;
    for (unsigned i = 0; i < c->qlen; i++)
        nq[i] = c->q[(c->qhead + i) % c->qcap];
    free(c->q);
    c->q = nq;
    c->qhead = 0;
    c->qcap = ncap;
    return true;
}

void cq_conn_push(struct cq_conn *c, struct cq_buf *b)
{
    const struct cq_config *cfg = c->net->deps.cfg;
    if (!b || c->culled)
        return;
    /* The byte limit counts what waits behind the message in flight, the
     * kernel's share included (at most twice --socket-send-buffer; asked only
     * once our queue is in use, i.e. when the socket is already full: a
     * reader that keeps up costs no call). A message with nothing queued
     * ahead of it is never refused, whatever its size: the host's `state` of
     * a 20,000-player game is about 1.5 MiB (20-letter names), over the
     * 1 MiB default, and a projector must not be cut off for joining a full
     * hall. What lws keeps of a partly written message is that one message,
     * so a connection holds at most one message plus --send-queue-bytes. */
    if ((!c->gated && c->qlen >= cfg->send_queue_max) || !ring_room(c) ||
        (c->qlen && c->qbytes + b->len + kernel_queued(c) > cfg->send_queue_bytes)) {
        /* Too slow to keep up: cut off, asynchronously and at a safe point. */
        c->culled = true;
        c->net->m.culled++;
        cq_warn("ws: %s cut off: send queue over %u messages / %u bytes (kernel's included; "
                "%u messages queued, %u of them waiting for the game's log)",
                c->peer, cfg->send_queue_max, cfg->send_queue_bytes, c->qlen,
                c->qlen - queued_ahead(c));
        drop_queue(c);
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_LAGGING, LWS_TO_KILL_ASYNC);
        return;
    }
    /* Nothing waiting and lws holds nothing for it: write at once. That
     * saves the writable round trip (lws asks libuv for POLLOUT, then drops
     * it: two epoll_ctl and a callback per recipient per broadcast, most of
     * a fan-out's cost; docs/performance.md). Not when lws holds part of a
     * message (choked()), so a slow reader fills our bounded queue and not
     * lws' unbounded one; not over TLS, where a retried write wants its
     * buffer. */
    if (!c->qlen && !c->gated && !c->ping_due && !c->close_after_flush && !c->tls && !choked(c)) {
        if (write_buf(c, b) < 0) {
            c->culled = true; /* no more writes; lws closes it at a safe point */
            cq_debug("ws: %s: write failed, closing", c->peer);
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_LAGGING, LWS_TO_KILL_ASYNC);
        }
        return;
    }
    b->refs++;
    c->q[(c->qhead + c->qlen) % c->qcap] = b;
    c->qlen++;
    c->qbytes += b->len;
    c->net->m.queued_msgs++;
    c->net->m.queued_bytes += b->len;
    /* Behind the durability gate with nothing ahead of it, a WRITEABLE
     * would write nothing: cq_conn_release writes it (or asks then). Not
     * asking saves two epoll_ctl per held message (every answer_ack). */
    if (c->gated && c->qout >= c->gate_pos && !c->ping_due && !c->close_after_flush)
        return;
    want_writable(c);
}

/* Queues `b` ahead of what waits behind the durability gate: a notice that
 * confirms nothing (the storage warning) must not wait for the storage it
 * warns about. The gate moves past it. Without a gate, as cq_conn_push. */
static void conn_push_ahead(struct cq_conn *c, struct cq_buf *b)
{
    if (!b || c->culled)
        return;
    unsigned ahead = queued_ahead(c);
    if (!c->gated || ahead >= c->net->deps.cfg->send_queue_max || !ring_room(c)) {
        cq_conn_push(c, b); /* a full queue is culled there */
        return;
    }
    unsigned cap = c->qcap;
    for (unsigned i = c->qlen; i > ahead; i--)
        c->q[(c->qhead + i) % cap] = c->q[(c->qhead + i - 1) % cap];
    c->q[(c->qhead + ahead) % cap] = b;
    b->refs++;
    c->qlen++;
    c->qbytes += b->len;
    c->net->m.queued_msgs++;
    c->net->m.queued_bytes += b->len;
    c->gate_pos++;
    want_writable(c);
}

/* Queues a buffer nobody else holds; frees it when it was not queued. */
static void send_own(struct cq_conn *c, struct cq_buf *b)
{
    cq_conn_push(c, b);
    if (!b->refs)
        free(b);
}

static int write_queue(struct cq_conn *c);

/* What is queued from now on waits until conn_release (the session holds
 * it until the game's log is stored). A gate already set keeps its place:
 * what came since waits for the later entry too (coarser, never out of
 * order). */
static void conn_hold(struct cq_conn *c)
{
    if (!c->gated)
        c->gate_pos = c->qout + c->qlen;
    c->gated = true;
}

static void conn_release(struct cq_conn *c)
{
    c->gated = false;
    if (!c->qlen || c->culled)
        return;
    /* Written now when the socket takes it, as cq_conn_push does: a
     * question's thousands of acknowledgements are released together, and
     * a WRITEABLE round trip each would cost two epoll_ctl per player. */
    if (c->ping_due || c->close_after_flush || c->tls || choked(c)) {
        want_writable(c);
        return;
    }
    if (write_queue(c) < 0) {
        c->culled = true; /* no more writes; lws closes it at a safe point */
        cq_debug("ws: %s: write failed, closing", c->peer);
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_LAGGING, LWS_TO_KILL_ASYNC);
    }
}

void cq_conn_send(struct cq_conn *c, json_t *msg)
{
    struct cq_buf *b = cq_buf_from_json(msg);
    if (b)
        send_own(c, b);
}

/* Prometheus buckets are "less than or equal": 1 ms exactly is in le=0.001. */
static void observe_answer(struct cq_net_metrics *m, int64_t us)
{
    unsigned i = 0;
    if (us < 0)
        us = 0;
    while (i < CQ_ANSWER_BUCKETS && us > cq_answer_bucket_us[i])
        i++;
    m->answer_hist[i]++;
    m->answer_time_sum_us += (uint64_t)us;
}

void cq_conn_error(struct cq_conn *c, const json_t *req_id, int code, const char *field,
                   const char *detail)
{
    cq_conn_send(c, cq_proto_error_msg(req_id, code, field, detail));
}

void cq_conn_close_after(struct cq_conn *c, uint16_t code, const char *reason)
{
    c->close_after_flush = true;
    c->close_code = code;
    snprintf(c->close_reason, sizeof c->close_reason, "%s", reason);
    want_writable(c);
}

/* Writes what is queued, as much as the socket takes without blocking (one
 * write per callback would let a burst of broadcasts outrun a perfectly
 * healthy reader): 1 when the queue is empty, 0 when the rest waits (for the
 * socket: WRITEABLE asked; or for the game's log: conn_release), -1 when
 * a write failed. */
static int write_queue(struct cq_conn *c)
{
    unsigned cap = c->qcap;
    while (c->qlen) {
        if (c->gated && c->qout >= c->gate_pos)
            return 0;
        struct cq_buf *b = c->q[c->qhead];
        c->qhead = (c->qhead + 1) % cap;
        c->qlen--;
        c->qout++;
        c->qbytes -= b->len;
        c->net->m.queued_msgs--;
        c->net->m.queued_bytes -= b->len;
        int n = write_buf(c, b);
        cq_buf_unref(b);
        if (n < 0)
            return -1;
        if (c->qlen && choked(c)) {
            want_writable(c);
            return 0;
        }
    }
    return 1;
}

int cq_conn_writable(struct cq_conn *c)
{
    bool asked = c->write_asked;
    if (c->culled)
        return -1;
    c->write_asked = false;
    if (!asked)
        cq_conn_control(c); /* lws just answered a ping from the client */
    /* The keep-alive ping goes first: a control frame may come between
     * messages, and each of ours is written whole by one lws_write. It
     * carries a payload because lws 4.1 does not report empty pongs. */
    if (c->ping_due) {
        unsigned char ping[LWS_PRE + sizeof PING_PAYLOAD];
        c->ping_due = false;
        memcpy(ping + LWS_PRE, PING_PAYLOAD, sizeof PING_PAYLOAD - 1);
        if (lws_write(c->wsi, ping + LWS_PRE, sizeof PING_PAYLOAD - 1, LWS_WRITE_PING) < 0)
            return -1;
        note_partial(c);
        if (c->qlen && choked(c)) {
            want_writable(c);
            return 0;
        }
    }
    int r = write_queue(c);
    if (r <= 0)
        return r;
    if (c->close_after_flush && !c->close_sent) {
        /* lws 4.1 drops the close frame when WRITEABLE returns -1 after
         * lws_close_reason() (lws issue #1159), so the frame is written here.
         * Then we linger, reading and dropping what the client still sends,
         * until it answers or CLOSE_LINGER_S passes: hanging up on unread
         * input would reset the connection and lose the frame. */
        unsigned char frame[LWS_PRE + 2 + sizeof c->close_reason];
        size_t n = strlen(c->close_reason);
        frame[LWS_PRE] = (unsigned char)(c->close_code >> 8);
        frame[LWS_PRE + 1] = (unsigned char)(c->close_code & 0xff);
        memcpy(frame + LWS_PRE + 2, c->close_reason, n);
        if (lws_write(c->wsi, frame + LWS_PRE, 2 + n, CQ_LWS_WRITE_CLOSE) < 0)
            return -1;
        note_partial(c);
        c->close_sent = true;
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_ACK, CLOSE_LINGER_S);
    }
    return 0;
}

/* ---- receiving ------------------------------------------------------------ */

static bool rate_ok(struct cq_conn *c)
{
    const struct cq_limits *l = &c->net->deps.cfg->limits;
    int64_t now = cq_net_now(c->net);
    c->tokens += (double)(now - c->tokens_at) * l->msgs_per_sec / 1e6;
    if (c->tokens > l->msgs_burst)
        c->tokens = l->msgs_burst;
    c->tokens_at = now;
    if (c->tokens < 1.0)
        return false;
    c->tokens -= 1.0;
    return true;
}

/* Counts a bad message; true when the connection has earned a close. */
static bool strike(struct cq_conn *c)
{
    c->net->m.bad_msgs++;
    if (++c->strikes < STRIKES_MAX)
        return false;
    cq_warn("ws: closing %s after %d bad messages in a row", c->peer, STRIKES_MAX);
    cq_conn_close_after(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "too many bad messages");
    return true;
}

void cq_conn_control(struct cq_conn *c)
{
    if (!c->net || c->culled || c->close_after_flush)
        return;
    if (!rate_ok(c) && !strike(c))
        cq_conn_error(c, NULL, CQ_ERATE_LIMITED, NULL, NULL);
}

/* Messages whose reply costs the server more than a few microseconds. */
static bool costly(enum cq_msg_type t)
{
    return t == CQ_MSG_LIST_BANKS || t == CQ_MSG_CREATE_GAME || t == CQ_MSG_JOIN ||
           t == CQ_MSG_WATCH || t == CQ_MSG_REJOIN;
}

static void handle_message(struct cq_conn *c, const char *buf, size_t len)
{
    struct cq_msg m;
    struct cq_proto_error perr;

    c->rx_at = cq_net_now(c->net);
    c->net->m.msgs_in++;
    if (!rate_ok(c)) {
        if (!strike(c))
            cq_conn_error(c, NULL, CQ_ERATE_LIMITED, NULL, NULL);
        return;
    }
    if (cq_proto_decode(buf, len, &c->net->deps.cfg->limits, &m, &perr)) {
        if (!strike(c))
            cq_conn_error(c, m.req_id, perr.code, perr.field, perr.detail);
        cq_msg_clear(&m);
        return;
    }
    if (!(cq_msg_roles(m.type) & c->s.role)) {
        bool closing = strike(c);
        if (!closing)
            cq_conn_error(c, m.req_id,
                          c->s.role == CQ_ROLE_NONE                ? CQ_ENOT_IN_GAME
                          : (cq_msg_roles(m.type) == CQ_ROLE_NONE) ? CQ_EALREADY_IN_GAME
                                                                   : CQ_EFORBIDDEN,
                          "type", NULL);
        cq_msg_clear(&m);
        return;
    }
    c->strikes = 0;
    /* Work is budgeted per address, not only per connection: past its
     * budget an address's costly messages are refused (no strike: its
     * other users did nothing wrong), other addresses are not slowed. But
     * every connection keeps its own share, one costly message per
     * WORK_SHARE_US whatever its address spent: a pupil flooding from the
     * class's address cannot refuse a classmate's join or the teacher's
     * bank list (found by an attack from the documents). */
    if (costly(m.type)) {
        bool own_share = c->rx_at - c->costly_at >= WORK_SHARE_US;
        bool budget = cq_addr_work(c->net->addrs, c->addr, c->rx_at);
        if (!budget && !own_share) {
            c->net->m.refused_work++;
            cq_conn_error(c, m.req_id, CQ_ERATE_LIMITED, "type", NULL);
            cq_msg_clear(&m);
            return;
        }
        c->costly_at = c->rx_at;
    }
    cq_session_handle(c->net->session, &c->s, &m, c->rx_at);
    cq_msg_clear(&m);
}

int cq_conn_receive(struct cq_conn *c, const void *in, size_t len)
{
    size_t limit = c->net->deps.cfg->limits.frame_bytes;
    bool first = lws_is_first_fragment(c->wsi), final = lws_is_final_fragment(c->wsi);

    cq_conn_heard(c);
    if (c->culled || c->close_after_flush)
        return 0; /* on its way out: what it still sends is dropped */
    if (c->held) {
        /* Flow control stops reading; this is a frame lws had read before. */
        c->net->m.bad_msgs++;
        return 0;
    }
    if (lws_frame_is_binary(c->wsi)) {
        if (final && !strike(c))
            cq_conn_error(c, NULL, CQ_EBINARY_FRAME, NULL, NULL);
        return 0;
    }
    if (first) {
        c->rx_len = 0;
        c->rx_discard = false;
    }
    /* Whole message in one piece: no copy. */
    if (first && final && !c->rx_discard) {
        if (len > limit) {
            if (!strike(c))
                cq_conn_error(c, NULL, CQ_ETOO_LARGE, NULL, NULL);
            return 0;
        }
        handle_message(c, in, len);
        return 0;
    }
    if (!c->rx_discard) {
        if (c->rx_len + len > limit) {
            /* Read and drop the rest; answered now, not at its end: a frame
             * can announce 2^63 bytes, and its end may never come. */
            c->rx_discard = true;
            c->rx_dropped = c->rx_len;
            if (!strike(c))
                cq_conn_error(c, NULL, CQ_ETOO_LARGE, NULL, NULL);
        } else {
            if (!c->rx && !(c->rx = malloc(limit)))
                return -1;
            memcpy(c->rx + c->rx_len, in, len);
            c->rx_len += len;
        }
    }
    if (c->rx_discard) {
        c->rx_dropped += len;
        if (c->rx_dropped > DISCARD_MAX) {
            cq_info("ws: %s: closing, a message went on past %u bytes", c->peer, DISCARD_MAX);
            cq_conn_close_after(c, CQ_CLOSE_MESSAGE_TOO_BIG, "message too big");
            return 0;
        }
    }
    if (final) {
        if (!c->rx_discard)
            handle_message(c, c->rx, c->rx_len);
        c->rx_len = 0;
        c->rx_discard = false;
    }
    return 0;
}

void cq_conn_closed(struct cq_conn *c)
{
    if (!c->net)
        return; /* never opened */
    lws_dll2_remove(&c->live);
    c->culled = true; /* leaving its game does not make it idle */
    lws_sul_cancel(&c->tarpit_sul);
    json_decref(c->held);
    c->held = NULL;
    cq_session_conn_gone(c->net->session, &c->s, cq_net_now(c->net));
    cq_addr_idle_remove(c->addr, &c->idle);
    cq_addr_release(c->net->addrs, c->addr, cq_net_now(c->net));
    c->addr = NULL;
    c->s.addr = NULL;
    drop_queue(c);
    free(c->q);
    free(c->rx);
    c->q = NULL;
    c->rx = NULL;
    c->net->m.conns--;
    c->net = NULL;
}

/* ---- keep-alive ------------------------------------------------------------ */

void cq_conn_heard(struct cq_conn *c)
{
    c->heard_at = cq_net_now(c->net);
    c->ping_at = 0;
}

static void sweep_cb(lws_sorted_usec_list_t *sul);

/* SWEEP_US, or half the shortest of --idle-timeout and --idle-grace when
 * that is shorter (test-sized timeouts: a 1 s timeout is checked every
 * 0.5 s, so a silence is noticed within half its length). */
static int64_t sweep_period(const struct cq_config *cfg)
{
    int64_t shortest = (int64_t)(cfg->idle_timeout_s < cfg->idle_grace_s ? cfg->idle_timeout_s
                                                                         : cfg->idle_grace_s) *
                       1000000 / 2;
    return shortest < SWEEP_US ? shortest : SWEEP_US;
}

static void sweep_arm(struct cq_net *net, int64_t in_us)
{
    net->sweep_due = cq_net_now(net) + in_us;
    lws_sul_schedule(net->ctx, 0, &net->sweep_sul, sweep_cb, in_us);
}

/* Every sweep_period: a connection silent for idle_timeout is pinged (once per
 * silence); one that stays silent idle_grace after that ping is closed
 * without a close frame (it does not answer: nobody would read one). The
 * walk is O(connections) every sweep (2 s by default), no system call unless a ping is
 * due (10,000 idle connections: 0.04 s of CPU in 20 s, docs/architecture.md). */
static void sweep_cb(lws_sorted_usec_list_t *sul)
{
    struct cq_net *net = lws_container_of(sul, struct cq_net, sweep_sul);
    const struct cq_config *cfg = net->deps.cfg;
    int64_t now = cq_net_now(net);
    int64_t ping_after = (int64_t)cfg->idle_timeout_s * 1000000;
    int64_t grace = (int64_t)cfg->idle_grace_s * 1000000;
    int64_t join_deadline = (int64_t)cfg->join_deadline_s * 1000000;
    bool late = now - net->sweep_due > SWEEP_LATE_US;
    unsigned closed = 0;

    if (net->stopping)
        return;
    lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&net->live_conns))
    {
        struct cq_conn *c = lws_container_of(d, struct cq_conn, live);
        int64_t silent = now - c->heard_at;
        if (c->culled || c->close_sent || c->held) {
            /* on its way out (lws' own timeout), or held by the tarpit: it
             * reads nothing, pongs included, until the tarpit ends */
        } else if (join_deadline && c->idle.linked && !c->held && !c->close_after_flush &&
                   now - c->idle_since >= join_deadline) {
            /* In no game for too long: idle connections are what the
             * per-address cap counts, so they must not last. */
            net->m.idle_expired++;
            cq_debug("ws: closing %s: no game joined within %d s", c->peer, cfg->join_deadline_s);
            cq_conn_close_after(c, LWS_CLOSE_STATUS_NORMAL, "no game joined in time");
        } else if (silent < ping_after) {
            /* recently heard */
        } else if (c->ping_at && now - c->ping_at >= grace && !late) {
            /* Cut off like a slow consumer: asynchronously, at a safe point. */
            cq_info("ws: %s silent for %lld s, no answer to a ping: closing", c->peer,
                    (long long)(silent / 1000000));
            c->culled = true;
            drop_queue(c);
            net->m.idle_dropped++;
            closed++;
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_WS_PONG_CHECK_GET_PONG, LWS_TO_KILL_ASYNC);
        } else if (!c->ping_at) {
            c->ping_at = now;
            c->ping_due = true;
            want_writable(c);
        }
    }
    lws_end_foreach_dll(d);
    if (closed)
        cq_warn("ws: closed %u silent connection(s): no answer to a ping within %d s", closed,
                cfg->idle_grace_s);
    if (net->evicted_since_sweep > 1)
        cq_warn("ws: closed %u idle connection(s) to make room for newer ones from the same "
                "address (--max-conns-per-ip %u): a flood of connections?",
                net->evicted_since_sweep, cfg->max_conns_per_ip);
    net->evicted_since_sweep = 0;
    sweep_arm(net, late ? SWEEP_RECHECK_US : sweep_period(cfg));
}

void cq_conn_sweep_start(struct cq_net *net)
{
    sweep_arm(net, sweep_period(net->deps.cfg));
}

/* ---- the session's view of a connection (session.h) ---------------------------- */

static struct cq_conn *conn_of(struct cq_session_conn *sc)
{
    return (struct cq_conn *)(void *)((char *)sc - offsetof(struct cq_conn, s));
}

static void op_push(struct cq_session_conn *sc, struct cq_buf *b)
{
    cq_conn_push(conn_of(sc), b);
}

static void op_push_ahead(struct cq_session_conn *sc, struct cq_buf *b)
{
    conn_push_ahead(conn_of(sc), b);
}

static void op_close_after(struct cq_session_conn *sc, uint16_t code, const char *reason)
{
    cq_conn_close_after(conn_of(sc), code, reason);
}

static void op_hold(struct cq_session_conn *sc)
{
    conn_hold(conn_of(sc));
}

static void op_release(struct cq_session_conn *sc)
{
    conn_release(conn_of(sc));
}

static void op_wrong_guess(struct cq_session_conn *sc, const char *what, json_t *msg)
{
    conn_wrong_guess(conn_of(sc), what, msg);
}

static void op_set_idle(struct cq_session_conn *sc, bool idle)
{
    conn_set_idle(conn_of(sc), idle);
}

static const struct cq_session_conn_ops conn_session_ops = {
    .push = op_push,
    .push_ahead = op_push_ahead,
    .close_after = op_close_after,
    .hold = op_hold,
    .release = op_release,
    .wrong_guess = op_wrong_guess,
    .set_idle = op_set_idle,
};
