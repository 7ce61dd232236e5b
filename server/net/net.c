/* net.c: the lws context on our libuv loop, and the WebSocket callback,
 * which only dispatches. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <uv.h>

#include "log.h"
#include "net_priv.h"

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    struct cq_net *net = lws_context_user(lws_get_context(wsi));
    struct cq_conn *c = user;

    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return cq_conn_filter(net, wsi);
    case LWS_CALLBACK_ESTABLISHED:
        return cq_conn_open(net, c, wsi);
    case LWS_CALLBACK_RECEIVE:
        return cq_conn_receive(c, in, len);
    case LWS_CALLBACK_RECEIVE_PONG:
        cq_conn_heard(c);
        cq_conn_control(c);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return cq_conn_writable(c);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        /* Our close frame went first (cq_conn_writable writes it itself, so
         * lws does not know): this is the client's answer, and lws would
         * echo it, a second close frame ("Close received after close" in a
         * browser). Both have been sent: hang up (RFC 6455 5.5.1). */
        if (c && c->close_sent)
            return -1;
        /* The client's came first: lws's echo is the one close frame. */
        if (c)
            c->close_sent = true;
        return 0;
    case LWS_CALLBACK_CLOSED:
        cq_conn_closed(c);
        return 0;
    default:
        return 0;
    }
}

/* Redis came or went: hosts are told (the game itself goes on). */
static void on_store_state(void *ud, bool connected)
{
    struct cq_net *net = ud;
    if (!net->stopping)
        cq_session_store_state(net->session, connected);
}

/* Once a second: this server is alive (a restart's downtime starts here). */
static void on_alive(uv_timer_t *t)
{
    struct cq_net *net = t->data;
    cq_store_alive(net->deps.store, cq_net_now_us());
}

void cq_net_set_last_alive(struct cq_net *net, int64_t mono_us)
{
    cq_session_set_last_alive(net->session, mono_us);
}

/* A game's log entries are stored: held acknowledgements go out. */
static void on_store_stored(void *ud, const char *game_id, uint64_t seq, bool stored)
{
    struct cq_net *net = ud;
    cq_session_stored(net->session, game_id, seq, stored);
}

/* ---- the session on the loop ------------------------------------------------ */

int64_t cq_net_now(struct cq_net *net)
{
    if (!net->clock_us) {
        net->clock_us = cq_net_now_us();
        if (net->session) /* the wall clock's seconds, read with it */
            cq_session_set_unix(net->session, (long long)time(NULL));
    }
    return net->clock_us;
}

/* The loop is about to wait, or has handled what woke it: the next reading
 * is a new one. */
static void forget_clock_prepare(uv_prepare_t *h)
{
    ((struct cq_net *)h->data)->clock_us = 0;
}

static void forget_clock_check(uv_check_t *h)
{
    ((struct cq_net *)h->data)->clock_us = 0;
}

/* A fresh reading, not the iteration's: libuv runs a timer re-armed for
 * 0 ms again within the same timer phase, and lws re-arms its timer for
 * 0 ms while a sul is due in under a millisecond. An iteration's reading
 * taken by an earlier timer callback of that phase would be older than
 * the deadline we were woken for; the session would do nothing and ask
 * for the same wake-up, over and over, and the loop never left the timer
 * phase (seen as a server spinning with no reply, in the chaos suite).
 * The reading taken here is the iteration's from now on. */
static void on_wake(lws_sorted_usec_list_t *sul)
{
    struct cq_net *net = lws_container_of(sul, struct cq_net, wake_sul);
    net->clock_us = 0;
    cq_session_tick(net->session, cq_net_now(net));
}

/* One timer for every game's deadlines: the session asks for its earliest. */
static void session_wake(void *ud, int64_t at)
{
    struct cq_net *net = ud;
    int64_t in = at - cq_net_now(net);
    lws_sul_schedule(net->ctx, 0, &net->wake_sul, on_wake, in > 0 ? in : 0);
}

static void on_log_check(uv_check_t *h)
{
    struct cq_net *net = h->data;
    cq_session_flush_logs(net->session);
    uv_check_stop(&net->log_check);
}

/* The games' log entries of this iteration leave together once it ends. */
static void session_logs_pending(void *ud)
{
    struct cq_net *net = ud;
    uv_check_start(&net->log_check, on_log_check);
}

static void session_join_urls(void *ud, json_t *joined)
{
    cq_join_urls_add(joined, ud);
}

/* lws logs go through ours, a level lower: lws is chatty about clients. */
static void lws_log_emit(int level, const char *line)
{
    if (level & LLL_ERR)
        cq_warn("lws: %s", line);
    else if (level & LLL_WARN)
        cq_info("lws: %s", line);
    else
        cq_debug("lws: %s", line);
}

struct cq_net *cq_net_start(const struct cq_net_deps *deps, char *err, size_t errlen)
{
    struct lws_context_creation_info info;
    struct cq_net *net = calloc(1, sizeof *net);
    void *loops[1];
    if (!net) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    net->deps = *deps;
    const struct cq_config *cfg = deps->cfg;
    /* cq_config_parse has checked the list already; this cannot fail. */
    if (cq_proxy_list_parse(cfg->trusted_proxies, &net->proxies, err, errlen)) {
        free(net);
        return NULL;
    }
    /* Listening first, before lws exists: a bad --bind is a one-line error
     * with nothing to tear down (listen.c). */
    if (cq_listen_open(&net->listen, cfg->bind, cfg->port, err, errlen)) {
        free(net);
        return NULL;
    }
    if (net->proxies.n)
        cq_info("trusting X-Forwarded-For from %u proxy address(es): %s", net->proxies.n,
                cfg->trusted_proxies);
    /* Checked by cq_config_parse too. */
    if (cq_proxy_list_parse(cfg->metrics_allow, &net->metrics_allow, err, errlen)) {
        free(net);
        return NULL;
    }
    /* Static files are served only from inside this real path (http.c). */
    if (!realpath(cfg->web_root, net->web_root)) {
        cq_warn("web root %s: %s; no static files will be served", cfg->web_root, strerror(errno));
        net->web_root[0] = '\0';
    }

    lws_set_log_level(LLL_ERR | LLL_WARN | (cq_log_enabled(CQ_LOG_DEBUG) ? LLL_NOTICE : 0),
                      lws_log_emit);

    net->protocols[0] =
        (struct lws_protocols){"http", cq_http_callback, cq_http_pss_size(), 0, 0, NULL, 0};
    net->protocols[1] = (struct lws_protocols){
        CQ_SUBPROTOCOL, ws_callback, sizeof(struct cq_conn), cfg->limits.frame_bytes, 0, NULL, 0};

    /* No mounts: every HTTP request, static files included, comes to
     * cq_http_callback (protocols[0]), which serves one request at a time
     * per connection and keeps files inside the web root (http.c). */

    static const char *const hdr[][2] = {
        {"content-security-policy:",
         "default-src 'self'; img-src 'self' data: https:; connect-src 'self'; object-src 'none'; "
         "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"},
        {"x-content-type-options:", "nosniff"},
        {"referrer-policy:", "no-referrer"},
        {"x-frame-options:", "DENY"},
    };
    for (int i = 0; i < 4; i++) {
        net->headers[i].next = i < 3 ? &net->headers[i + 1] : NULL;
        net->headers[i].name = hdr[i][0];
        net->headers[i].value = hdr[i][1];
    }

    memset(&info, 0, sizeof info);
    /* A server vhost without lws' listener: ours hands it each connection. */
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    info.protocols = net->protocols;
    info.headers = &net->headers[0];
    info.user = net;
    info.pcontext = &net->ctx;
    info.vhost_name = "chainquiz";
    /* An all-zero policy: no lws validity timers (without one, lws applies
     * its default of a ping after 5 minutes). Silent connections are pinged
     * and dropped by our own sweep (conn.c), which costs no timer per
     * connection. */
    info.retry_and_idle_policy = &net->retry;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8;
    if (cfg->tls_cert[0]) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = cfg->tls_cert;
        info.ssl_private_key_filepath = cfg->tls_key;
    }
    loops[0] = deps->loop;
    info.foreign_loops = loops;
    /* HTTP time-outs (named options, docs/deploy.md): headers from the
     * first byte of a request (lws keeps a deadline while it holds the
     * request's header table, not reset by more bytes); the rest of a request,
     * from its headers to its answer (and TLS and WebSocket handshakes); and
     * an idle kept-alive connection between requests. */
    info.timeout_secs_ah_idle = (unsigned)cfg->http_header_timeout_s;
    info.timeout_secs = (unsigned)cfg->http_body_timeout_s;
    info.keepalive_timeout = cfg->http_idle_timeout_s;
    info.fd_limit_per_thread = 0;

    net->ctx = lws_create_context(&info);
    if (!net->ctx) {
        snprintf(err, errlen, "cannot start the HTTP/WebSocket server (TLS files?)");
        cq_listen_close(&net->listen);
        free(net);
        return NULL;
    }
    /* From here `net` is stopped (which closes this handle) before it is freed. */
    uv_check_init(deps->loop, &net->log_check);
    net->log_check.data = net;
    uv_prepare_init(deps->loop, &net->clock_prepare);
    net->clock_prepare.data = net;
    uv_prepare_start(&net->clock_prepare, forget_clock_prepare);
    uv_check_init(deps->loop, &net->clock_check);
    net->clock_check.data = net;
    uv_check_start(&net->clock_check, forget_clock_check);
    uv_timer_init(deps->loop, &net->alive_timer);
    net->alive_timer.data = net;
    net->http_conns = cq_http_conns_new(cfg->max_http_conns_per_ip);
    /* One descriptor per connection: sockets stop at the open-file limit
     * less CQ_FD_RESERVE (listen.c), WebSockets CQ_HTTP_MARGIN below that,
     * so a full server still answers HTTP and tells newcomers it is full. */
    struct rlimit rl;
    unsigned fd_ceiling = 1064;
    if (!getrlimit(RLIMIT_NOFILE, &rl))
        fd_ceiling =
            rl.rlim_cur > 4 * CQ_FD_RESERVE
                ? (unsigned)(rl.rlim_cur < 10000000 ? rl.rlim_cur : 10000000) - CQ_FD_RESERVE
                : (unsigned)rl.rlim_cur * 3 / 4;
    unsigned fd_room =
        fd_ceiling > 2 * CQ_HTTP_MARGIN ? fd_ceiling - CQ_HTTP_MARGIN : fd_ceiling / 2;
    net->max_conns = cfg->max_conns && cfg->max_conns < fd_room ? cfg->max_conns : fd_room;
    /* One address's idle connections may hold at most half of them, whatever
     * --max-conns-per-ip says: with a small open-file limit (1,024 is common)
     * the default of 1,024 would let one address fill the server and lock
     * every other address out. */
    unsigned max_idle = cfg->max_conns_per_ip;
    if (max_idle && max_idle > net->max_conns / 2) {
        max_idle = net->max_conns / 2 ? net->max_conns / 2 : 1;
        cq_warn("--max-conns-per-ip %u is over half of the %u connections the open-file limit "
                "allows: each address may keep %u idle connections",
                cfg->max_conns_per_ip, net->max_conns, max_idle);
    }
    /* Every player in a game keeps one journal write back for its drop
     * (session.c, storage_full), Redis away or not: a journal smaller than
     * that for the connections allowed refuses joins once that many players
     * are in games, with Redis up (found by an attack with --journal-max 300
     * and 280 players). */
    if (cfg->journal_max < net->max_conns + cq_session_journal_tenth(cfg->journal_max))
        cq_warn("--journal-max %u is less than a write for each of the %u connections allowed "
                "plus a tenth: with that many players in games, joins are refused "
                "(storage_full) even with Redis up; give --journal-max %u or more",
                cfg->journal_max, net->max_conns, (net->max_conns + 10) * 10 / 9 + 1);
    /* The first delayed wrong answer waits a second, each next one twice
     * as long (addr.h), up to --tarpit-max. */
    struct cq_addr_limits al = {
        .max_idle = max_idle,
        .misses_min = cfg->pin_misses_per_min,
        .server_misses_min = cfg->server_pin_misses_per_min,
        .tarpit_first_us = 1000000,
        .tarpit_max_us = (int64_t)cfg->tarpit_max_s * 1000000,
        .games_live = cfg->games_per_ip,
        .games_min = cfg->games_per_min,
        .work_per_sec = cfg->work_per_sec,
        .work_burst = cfg->work_burst,
    };
    net->addrs = cq_addr_table_new(&al);
    net->vhost = lws_get_vhost_by_name(net->ctx, "chainquiz");
    struct cq_session_deps sd = {
        .cfg = cfg,
        .banks = deps->banks,
        .blocked = deps->blocked,
        .store_ops = deps->store ? &cq_store_session_ops : NULL,
        .store = deps->store,
        .addrs = net->addrs,
        .wake = session_wake,
        .logs_pending = session_logs_pending,
        .join_urls = session_join_urls,
        .ud = net,
    };
    net->session = net->addrs ? cq_session_new(&sd) : NULL;
    if (net->session)
        cq_session_set_unix(net->session, (long long)time(NULL));
    if (!net->addrs || !net->http_conns || !net->vhost || !net->session) {
        /* With a foreign loop lws 4.1 returns a context even when the
         * listening vhost failed; its teardown needs the loop, so `net`
         * goes back to the caller to be stopped and freed like any other. */
        snprintf(err, errlen, "%s",
                 net->addrs ? "cannot start the HTTP/WebSocket server (TLS files?)"
                            : "out of memory");
        net->failed = true;
        return net;
    }
    if (deps->store) {
        cq_store_on_state(deps->store, on_store_state, net);
        cq_store_on_stored(deps->store, on_store_stored, net);
        uv_timer_start(&net->alive_timer, on_alive, 0, 1000);
    }
    cq_listen_start(net, fd_ceiling);
    cq_conn_sweep_start(net);
    return net;
}

bool cq_net_failed(const struct cq_net *net)
{
    return net->failed;
}

bool cq_net_restore_game(struct cq_net *net, const char *game_id, const char *const *entries,
                         const size_t *lens, size_t n)
{
    net->clock_us = 0; /* before the loop runs: each game read at its own time */
    return cq_session_restore(net->session, game_id, entries, lens, n, cq_net_now(net));
}

void cq_net_stop(struct cq_net *net)
{
    if (!net || net->stopping)
        return;
    net->stopping = true;
    cq_listen_stop(net);
    if (net->deps.store) {
        cq_store_on_state(net->deps.store, NULL, NULL);
        cq_store_on_stored(net->deps.store, NULL, NULL);
    }
    if (net->session)
        cq_session_stop(net->session);
    lws_sul_cancel(&net->wake_sul);
    uv_close((uv_handle_t *)&net->log_check, NULL);
    uv_close((uv_handle_t *)&net->clock_prepare, NULL);
    uv_close((uv_handle_t *)&net->clock_check, NULL);
    uv_timer_stop(&net->alive_timer);
    if (net->deps.store)
        cq_store_alive(net->deps.store, cq_net_now_us()); /* the last word: stopping now */
    uv_close((uv_handle_t *)&net->alive_timer, NULL);
    lws_sul_cancel(&net->sweep_sul);
    /* With a foreign loop this only starts the teardown; lws finishes it as
     * the loop runs on, and sets net->ctx to NULL (info.pcontext) when done. */
    lws_context_destroy(net->ctx);
}

void cq_net_free(struct cq_net *net)
{
    if (!net)
        return;
    if (net->ctx)
        lws_context_destroy(net->ctx);
    cq_session_free(net->session);
    cq_addr_table_free(net->addrs);
    cq_http_conns_free(net->http_conns);
    free(net);
}
