/* net.c: the lws context on our libuv loop, and the WebSocket callback,
 * which only dispatches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return cq_conn_writable(c);
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
        cq_live_redis_state(net, connected);
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

static void mount(struct lws_http_mount *m, struct lws_http_mount *next, const char *point,
                  const char *origin, int proto)
{
    memset(m, 0, sizeof *m);
    m->mount_next = next;
    m->mountpoint = point;
    m->mountpoint_len = (unsigned char)strlen(point);
    m->origin = origin;
    m->origin_protocol = (unsigned char)proto;
    if (proto == LWSMPRO_FILE)
        m->def = "index.html";
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
    if (net->proxies.n)
        cq_info("trusting X-Forwarded-For from %u proxy address(es): %s", net->proxies.n,
                cfg->trusted_proxies);

    lws_set_log_level(LLL_ERR | LLL_WARN | (cq_log_enabled(CQ_LOG_DEBUG) ? LLL_NOTICE : 0),
                      lws_log_emit);

    net->protocols[0] =
        (struct lws_protocols){"http", cq_http_callback, cq_http_pss_size(), 0, 0, NULL, 0};
    net->protocols[1] = (struct lws_protocols){
        CQ_SUBPROTOCOL, ws_callback, sizeof(struct cq_conn), cfg->limits.frame_bytes, 0, NULL, 0};

    /* Longest prefix wins: the API and health checks, then the files. */
    mount(&net->mounts[0], NULL, "/", cfg->web_root, LWSMPRO_FILE);
    mount(&net->mounts[1], &net->mounts[0], "/healthz", "http", LWSMPRO_CALLBACK);
    mount(&net->mounts[2], &net->mounts[1], "/readyz", "http", LWSMPRO_CALLBACK);
    mount(&net->mounts[3], &net->mounts[2], "/metrics", "http", LWSMPRO_CALLBACK);
    mount(&net->mounts[4], &net->mounts[3], "/api", "http", LWSMPRO_CALLBACK);

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
    info.port = cfg->port;
    info.iface = cfg->bind;
    info.protocols = net->protocols;
    info.mounts = &net->mounts[4];
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
    info.timeout_secs = 10; /* handshakes and HTTP requests */
    info.fd_limit_per_thread = 0;

    net->ctx = lws_create_context(&info);
    if (!net->ctx) {
        snprintf(err, errlen, "cannot listen on %s:%d (in use, or not allowed)", cfg->bind,
                 cfg->port);
        free(net);
        return NULL;
    }
    /* From here `net` is stopped (which closes this handle) before it is freed. */
    uv_check_init(deps->loop, &net->log_check);
    net->log_check.data = net;
    /* The first delayed wrong answer waits a second, each next one twice
     * as long (addr.h), up to --tarpit-max. */
    struct cq_addr_limits al = {
        .max_idle = cfg->max_conns_per_ip,
        .misses_min = cfg->pin_misses_per_min,
        .server_misses_min = cfg->server_pin_misses_per_min,
        .tarpit_first_us = 1000000,
        .tarpit_max_us = (int64_t)cfg->tarpit_max_s * 1000000,
    };
    net->addrs = cq_addr_table_new(&al);
    /* One descriptor per connection, and a margin for Redis, files, logs. */
    struct rlimit rl;
    unsigned fd_room =
        !getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur > 128 ? (unsigned)(rl.rlim_cur - 64) : 1000;
    net->max_conns = cfg->max_conns && cfg->max_conns < fd_room ? cfg->max_conns : fd_room;
    net->vhost = lws_get_vhost_by_name(net->ctx, "chainquiz");
    if (!net->addrs || !net->vhost) {
        /* With a foreign loop lws 4.1 returns a context even when the
         * listening vhost failed; its teardown needs the loop, so `net`
         * goes back to the caller to be stopped and freed like any other. */
        snprintf(err, errlen, "%s",
                 net->addrs ? "cannot listen (address in use, or not allowed)" : "out of memory");
        if (net->vhost == NULL && net->addrs)
            snprintf(err, errlen, "cannot listen on %s:%d (address in use, or not allowed)",
                     cfg->bind, cfg->port);
        net->failed = true;
        return net;
    }
    if (deps->store)
        cq_store_on_state(deps->store, on_store_state, net);
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
    return cq_live_restore(net, game_id, entries, lens, n);
}

void cq_net_stop(struct cq_net *net)
{
    if (!net || net->stopping)
        return;
    net->stopping = true;
    if (net->deps.store)
        cq_store_on_state(net->deps.store, NULL, NULL);
    cq_live_stop(net);
    uv_close((uv_handle_t *)&net->log_check, NULL);
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
    cq_addr_table_free(net->addrs);
    free(net);
}
