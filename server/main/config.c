/* config.c: options table, environment, argv. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "room.h"

enum opt_kind { OPT_STR, OPT_INT, OPT_UINT, OPT_BOOL, OPT_LOG, OPT_SIZE };

struct opt {
    const char *flag, *env, *help;
    enum opt_kind kind;
    size_t off, cap; /* cap: string buffer size */
    long long lo, hi;
};

#define O(f) offsetof(struct cq_config, f)
#define S(f) sizeof(((struct cq_config *)0)->f)

static const struct opt opts[] = {
    {"port", "CHAINQUIZ_PORT", "TCP port for HTTP and WebSocket (default 8080)", OPT_INT, O(port),
     0, 1, 65535},
    {"bind", "CHAINQUIZ_BIND",
     "address to listen on (default 0.0.0.0: every interface, so phones on the LAN can join)",
     OPT_STR, O(bind), S(bind), 0, 0},
    {"content", "CHAINQUIZ_CONTENT", "folder of question banks (default ./content)", OPT_STR,
     O(content_dir), S(content_dir), 0, 0},
    {"web-root", "CHAINQUIZ_WEB_ROOT", "folder of the browser client (default ./web-client)",
     OPT_STR, O(web_root), S(web_root), 0, 0},
    {"data-dir", "CHAINQUIZ_DATA_DIR", "folder for the embedded Redis's data (default ./data)",
     OPT_STR, O(data_dir), S(data_dir), 0, 0},
    {"redis", "CHAINQUIZ_REDIS",
     "Redis URL (redis://host:port/db or unix:/path); default: start a private redis-server",
     OPT_STR, O(redis_url), S(redis_url), 0, 0},
    {"redis-server", "CHAINQUIZ_REDIS_SERVER", "redis-server program for the embedded Redis",
     OPT_STR, O(redis_server), S(redis_server), 0, 0},
    {"server-lease", "CHAINQUIZ_SERVER_LEASE",
     "seconds (2-300) a server's claim on its Redis key prefix lasts unrenewed: a second "
     "server on the same Redis and prefix waits this long for the first to go, and a server "
     "that finds its claim taken exits at once (renewed every second; give every server on "
     "one Redis the same value; default 10)",
     OPT_INT, O(server_lease_s), 0, 2, 300},
    {"key-prefix", "CHAINQUIZ_KEY_PREFIX", "prefix of every Redis key (default cq:)", OPT_STR,
     O(key_prefix), S(key_prefix), 0, 0},
    {"origins", "CHAINQUIZ_ORIGINS",
     "comma-separated WebSocket origins allowed (default: same origin as the Host header)", OPT_STR,
     O(origins), S(origins), 0, 0},
    {"tls-cert", "CHAINQUIZ_TLS_CERT",
     "PEM certificate (chain): serve HTTPS and WSS directly (needs --tls-key)", OPT_STR,
     O(tls_cert), S(tls_cert), 0, 0},
    {"tls-key", "CHAINQUIZ_TLS_KEY", "PEM private key for --tls-cert", OPT_STR, O(tls_key),
     S(tls_key), 0, 0},
    {"public-url", "CHAINQUIZ_PUBLIC_URL",
     "the address players open, e.g. https://quiz.example.org, for the join link and QR code "
     "(default: from the request's Host header)",
     OPT_STR, O(public_url), S(public_url), 0, 0},
    {"log-level", "CHAINQUIZ_LOG_LEVEL", "error, warn, info or debug (default info)", OPT_LOG,
     O(log_level), 0, 0, 0},
    {"log-json", "CHAINQUIZ_LOG_JSON", "log JSON lines", OPT_BOOL, O(log_json), 0, 0, 1},
    {"max-frame", "CHAINQUIZ_MAX_FRAME", "largest inbound message, bytes (default 4096)", OPT_SIZE,
     O(limits.frame_bytes), 0, 256, 65536},
    {"max-nickname", "CHAINQUIZ_MAX_NICKNAME", "nickname length, characters (default 20)", OPT_UINT,
     O(limits.nickname_max), 0, 2, 40},
    {"max-players", "CHAINQUIZ_MAX_PLAYERS", "players per game (default 20000)", OPT_UINT,
     O(limits.max_players), 0, 1, 100000},
    {"msgs-per-sec", "CHAINQUIZ_MSGS_PER_SEC", "messages per second per connection (default 20)",
     OPT_UINT, O(limits.msgs_per_sec), 0, 1, 10000},
    {"msgs-burst", "CHAINQUIZ_MSGS_BURST",
     "messages a connection may send at once before the per-second rate applies (default 40)",
     OPT_UINT, O(limits.msgs_burst), 0, 1, 100000},
    {"max-answer-text", "CHAINQUIZ_MAX_ANSWER_TEXT", "characters in a typed answer (default 60)",
     OPT_UINT, O(limits.answer_text_max), 0, 1, CQ_ANSWER_TEXT_HARD_MAX},
    {"max-games", "CHAINQUIZ_MAX_GAMES", "live games per server (default 1000)", OPT_UINT,
     O(max_games), 0, 1, 100000},
    {"max-conns", "CHAINQUIZ_MAX_CONNS",
     "WebSocket connections in all (default 0: the open-file limit less a margin)", OPT_UINT,
     O(max_conns), 0, 0, 1000000},
    {"max-conns-per-ip", "CHAINQUIZ_MAX_CONNS_PER_IP",
     "WebSocket connections per client address (IPv6: per /64) that are in no game yet "
     "(default 1024, and never over half of --max-conns; at the cap the address's oldest such "
     "connection is closed, never the new one; 0: no cap)",
     OPT_UINT, O(max_conns_per_ip), 0, 0, 1000000},
    {"max-http-conns-per-ip", "CHAINQUIZ_MAX_HTTP_CONNS_PER_IP",
     "plain HTTP connections per client address (those under 2 s old without a whole request "
     "are not counted, up to 5 times the cap, where the oldest silent one makes room); at the "
     "cap its oldest idle keep-alive, else its oldest stalled connection, is closed, else the "
     "new one refused (default 256; 0: no cap; trusted proxies are not capped)",
     OPT_UINT, O(max_http_conns_per_ip), 0, 0, 1000000},
    {"http-header-timeout", "CHAINQUIZ_HTTP_HEADER_TIMEOUT",
     "seconds a client has to send a request's headers (default 10)", OPT_INT,
     O(http_header_timeout_s), 0, 1, 3600},
    {"http-body-timeout", "CHAINQUIZ_HTTP_BODY_TIMEOUT",
     "seconds from a request's headers to its answer, body included; also TLS and WebSocket "
     "handshakes (default 10)",
     OPT_INT, O(http_body_timeout_s), 0, 1, 3600},
    {"http-idle-timeout", "CHAINQUIZ_HTTP_IDLE_TIMEOUT",
     "seconds a kept-alive HTTP connection may idle between requests (default 5)", OPT_INT,
     O(http_idle_timeout_s), 0, 1, 3600},
    {"games-per-ip", "CHAINQUIZ_GAMES_PER_IP",
     "live games created from one client address (default 20; teachers behind one NAT share it; "
     "0: no limit)",
     OPT_UINT, O(games_per_ip), 0, 0, 100000},
    {"games-per-min", "CHAINQUIZ_GAMES_PER_MIN",
     "games created per client address per minute (default 20)", OPT_UINT, O(games_per_min), 0, 1,
     100000},
    {"empty-lobby-timeout", "CHAINQUIZ_EMPTY_LOBBY_TIMEOUT",
     "seconds a game's lobby may stay without a player (none joined, or all left) before the "
     "game closes (default 600; 0: no limit)",
     OPT_INT, O(empty_lobby_timeout_s), 0, 0, 86400},
    {"max-hosts-per-game", "CHAINQUIZ_MAX_HOSTS_PER_GAME",
     "host connections (tabs, devices) of one game (default 8)", OPT_UINT, O(max_hosts_per_game), 0,
     1, 1000},
    {"max-log-entries", "CHAINQUIZ_MAX_LOG_ENTRIES",
     "entries in one game's restart log before it takes no more joins, pauses, added time or "
     "locks (default 1000000; answers are never refused)",
     OPT_UINT, O(max_log_entries), 0, 100, 100000000},
    {"work-per-sec", "CHAINQUIZ_WORK_PER_SEC",
     "costly messages (list_banks, create_game, join, watch, rejoin) per client address per "
     "second (default 200; a whole school behind one NAT shares it)",
     OPT_UINT, O(work_per_sec), 0, 1, 1000000},
    {"work-burst", "CHAINQUIZ_WORK_BURST",
     "costly messages a client address may send at once before --work-per-sec applies "
     "(default 1000: a class of 200 joining or reconnecting together, several times over)",
     OPT_UINT, O(work_burst), 0, 1, 10000000},
    {"join-deadline", "CHAINQUIZ_JOIN_DEADLINE",
     "seconds a WebSocket may stay in no game (no create, join, watch or rejoin) before it is "
     "closed (default 30; 0: no deadline)",
     OPT_INT, O(join_deadline_s), 0, 0, 3600},
    {"pin-misses-per-min", "CHAINQUIZ_PIN_MISSES_PER_MIN",
     "wrong PINs, join secrets or tokens per client address per minute answered at once; past "
     "it each wrong answer is delayed (default 30)",
     OPT_UINT, O(pin_misses_per_min), 0, 1, 100000},
    {"server-pin-misses-per-min", "CHAINQUIZ_SERVER_PIN_MISSES_PER_MIN",
     "wrong PINs, join secrets or tokens per minute over the whole server; past it every wrong "
     "answer waits --tarpit-max (default 600; 0: no server-wide budget)",
     OPT_UINT, O(server_pin_misses_per_min), 0, 0, 10000000},
    {"require-join-secret", "CHAINQUIZ_REQUIRE_JOIN_SECRET",
     "every game gets a join secret, as if its host had asked for one: players need the join "
     "link or QR code, the PIN alone is not enough (default off)",
     OPT_BOOL, O(require_join_secret), 0, 0, 1},
    {"tarpit-max", "CHAINQUIZ_TARPIT_MAX",
     "longest delay, in seconds, of a wrong answer past the budgets (default 30)", OPT_INT,
     O(tarpit_max_s), 0, 1, 3600},
    {"send-queue", "CHAINQUIZ_SEND_QUEUE",
     "messages queued per connection before it is cut off as too slow (default 64)", OPT_UINT,
     O(send_queue_max), 0, 4, 4096},
    {"send-queue-bytes", "CHAINQUIZ_SEND_QUEUE_BYTES",
     "bytes queued per connection before it is cut off as too slow (default 1048576)", OPT_UINT,
     O(send_queue_bytes), 0, 4096, 1u << 30},
    {"socket-send-buffer", "CHAINQUIZ_SOCKET_SEND_BUFFER",
     "kernel send buffer per connection, bytes (SO_SNDBUF, doubled by Linux; default 65536; "
     "0: the kernel's autotuning, up to 4 MiB per client that stops reading)",
     OPT_UINT, O(sndbuf), 0, 0, 16u << 20},
    {"rejoin-grace", "CHAINQUIZ_REJOIN_GRACE", "seconds a dropped player's seat is kept (300)",
     OPT_INT, O(rejoin_grace_s), 0, 0, 86400},
    {"max-show-delay", "CHAINQUIZ_MAX_SHOW_DELAY",
     "ms of display delay a player's clock may be credited (default 1000)", OPT_INT,
     O(max_show_delay_ms), 0, 0, 5000},
    {"ended-ttl", "CHAINQUIZ_ENDED_TTL", "seconds an ended game stays open for results (1800)",
     OPT_INT, O(ended_ttl_s), 0, 1, 86400},
    {"reveal-time", "CHAINQUIZ_REVEAL_TIME",
     "ms a game with auto_advance shows each reveal (default 5000)", OPT_INT, O(reveal_ms), 0, 100,
     60000},
    {"leaderboard-time", "CHAINQUIZ_LEADERBOARD_TIME",
     "ms a game with auto_advance shows each leaderboard (default 5000)", OPT_INT,
     O(leaderboard_ms), 0, 100, 60000},
    {"idle-timeout", "CHAINQUIZ_IDLE_TIMEOUT",
     "seconds of silence before a WebSocket is pinged (default 30)", OPT_INT, O(idle_timeout_s), 0,
     1, 3600},
    {"idle-grace", "CHAINQUIZ_IDLE_GRACE",
     "seconds more of silence after --idle-timeout before a WebSocket is closed (default 10)",
     OPT_INT, O(idle_grace_s), 0, 1, 3600},
    {"redis-timeout", "CHAINQUIZ_REDIS_TIMEOUT", "Redis connect/command timeout, ms (2000)",
     OPT_INT, O(redis_timeout_ms), 0, 100, 60000},
    {"results-ttl", "CHAINQUIZ_RESULTS_TTL",
     "seconds a finished game's results stay downloadable (default 2592000: 30 days)", OPT_INT,
     O(results_ttl_s), 0, 60, 31536000},
    {"journal-acks", "CHAINQUIZ_JOURNAL_ACKS",
     "with --redis: while Redis is away, acknowledge what the journal file holds (synced) "
     "instead of waiting for Redis; safe only where no other server can take this key prefix "
     "over meanwhile (the embedded Redis always does; default off)",
     OPT_BOOL, O(journal_acks), 0, 0, 1},
    {"redis-replicas", "CHAINQUIZ_REDIS_REPLICAS",
     "with --redis: replicas that must have a game's log entry before it is acknowledged "
     "(Redis WAIT, bounded by --redis-timeout; default 0: the primary's word)",
     OPT_UINT, O(redis_replicas), 0, 0, 16},
    {"journal-max", "CHAINQUIZ_JOURNAL_MAX",
     "Redis writes kept in memory while Redis is away (default 100000)", OPT_UINT, O(journal_max),
     0, 100, 10000000},
    {"trusted-proxies", "CHAINQUIZ_TRUSTED_PROXIES",
     "comma-separated addresses or networks of reverse proxies whose X-Forwarded-For names the "
     "client, e.g. 127.0.0.1,10.0.0.0/8,::1 (default: none; the header is ignored)",
     OPT_STR, O(trusted_proxies), S(trusted_proxies), 0, 0},
    {"metrics-allow", "CHAINQUIZ_METRICS_ALLOW",
     "comma-separated addresses or networks that may read /metrics; others get 403 (default "
     "127.0.0.0/8,::1: this machine only)",
     OPT_STR, O(metrics_allow), S(metrics_allow), 0, 0},
};

static void defaults(struct cq_config *c)
{
    memset(c, 0, sizeof *c);
    c->port = 8080;
    snprintf(c->bind, sizeof c->bind, "0.0.0.0");
    snprintf(c->content_dir, sizeof c->content_dir, "content");
    snprintf(c->web_root, sizeof c->web_root, "web-client");
    snprintf(c->data_dir, sizeof c->data_dir, "data");
    snprintf(c->redis_server, sizeof c->redis_server, "redis-server");
    snprintf(c->key_prefix, sizeof c->key_prefix, "cq:");
    c->log_level = CQ_LOG_INFO;
    cq_limits_default(&c->limits);
    c->max_games = 1000;
    c->send_queue_max = 64;
    c->max_conns_per_ip = 1024;
    c->join_deadline_s = 30;
    c->pin_misses_per_min = 30;
    c->server_pin_misses_per_min = 600;
    c->tarpit_max_s = 30;
    c->max_http_conns_per_ip = 256;
    c->http_header_timeout_s = 10;
    c->http_body_timeout_s = 10;
    c->http_idle_timeout_s = 5;
    c->games_per_ip = 20;
    c->games_per_min = 20;
    c->empty_lobby_timeout_s = CQ_DEFAULT_EMPTY_LOBBY_S;
    c->max_hosts_per_game = 8;
    c->max_log_entries = 1000000;
    c->work_per_sec = 200;
    c->work_burst = 1000;
    c->send_queue_bytes = 1u << 20;
    c->sndbuf = 1u << 16;
    c->rejoin_grace_s = CQ_DEFAULT_REJOIN_GRACE_S;
    c->max_show_delay_ms = CQ_DEFAULT_MAX_SHOW_DELAY_MS;
    c->ended_ttl_s = CQ_DEFAULT_ENDED_TTL_S;
    c->reveal_ms = CQ_DEFAULT_REVEAL_MS;
    c->leaderboard_ms = CQ_DEFAULT_LEADERBOARD_MS;
    c->idle_timeout_s = 30;
    c->idle_grace_s = 10;
    c->redis_timeout_ms = 2000;
    c->server_lease_s = 10;
    c->journal_max = 100000;
    c->results_ttl_s = 30 * 24 * 3600;
    snprintf(c->metrics_allow, sizeof c->metrics_allow, "127.0.0.0/8,::1");
}

/* The join link's base: players' phones open it, the QR code carries it,
 * and the host page puts it in an href, so only a plain http(s) URL with a
 * host. */
static bool public_url_bad(const char *u)
{
    size_t skip = !strncmp(u, "https://", 8) ? 8 : !strncmp(u, "http://", 7) ? 7 : 0;
    if (!skip || !u[skip] || u[skip] == '/' || u[skip] == ':')
        return true;
    for (const char *p = u; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || strchr("\"'<>?#&\\`", *p))
            return true;
    return false;
}

static int set_opt(struct cq_config *c, const struct opt *o, const char *val, const char *from,
                   char *err, unsigned errlen)
{
    char *base = (char *)c + o->off;
    char *end;
    long long v;

    switch (o->kind) {
    case OPT_STR:
        if (strlen(val) >= o->cap) {
            snprintf(err, errlen, "%s: value is longer than %zu characters", from, o->cap - 1);
            return -1;
        }
        memcpy(base, val, strlen(val) + 1);
        return 0;
    case OPT_LOG: {
        int l = cq_log_level_from_name(val);
        if (l < 0) {
            snprintf(err, errlen, "%s: \"%s\" is not one of error, warn, info, debug", from, val);
            return -1;
        }
        *(int *)base = l;
        return 0;
    }
    case OPT_BOOL:
        if (!strcmp(val, "1") || !strcmp(val, "true") || !strcmp(val, "yes"))
            *(bool *)base = true;
        else if (!strcmp(val, "0") || !strcmp(val, "false") || !strcmp(val, "no"))
            *(bool *)base = false;
        else {
            snprintf(err, errlen, "%s: \"%s\" is not 1/0, true/false or yes/no", from, val);
            return -1;
        }
        return 0;
    case OPT_INT:
    case OPT_UINT:
    case OPT_SIZE:
        errno = 0;
        v = strtoll(val, &end, 10);
        if (errno || end == val || *end || v < o->lo || v > o->hi) {
            snprintf(err, errlen, "%s: \"%s\" is not a whole number from %lld to %lld", from, val,
                     o->lo, o->hi);
            return -1;
        }
        if (o->kind == OPT_INT)
            *(int *)base = (int)v;
        else if (o->kind == OPT_UINT)
            *(unsigned *)base = (unsigned)v;
        else
            *(size_t *)base = (size_t)v;
        return 0;
    }
    return -1;
}

bool cq_config_option(size_t i, struct cq_config_option *out)
{
    struct cq_config c;
    if (i >= sizeof opts / sizeof opts[0])
        return false;
    const struct opt *o = &opts[i];
    defaults(&c);
    const char *base = (const char *)&c + o->off;
    *out = (struct cq_config_option){o->flag, o->env, o->help, false, o->lo, o->hi, 0};
    switch (o->kind) {
    case OPT_INT:
        out->dflt = *(const int *)(const void *)base;
        out->number = true;
        break;
    case OPT_UINT:
        out->dflt = *(const unsigned *)(const void *)base;
        out->number = true;
        break;
    case OPT_SIZE:
        out->dflt = (long long)*(const size_t *)(const void *)base;
        out->number = true;
        break;
    case OPT_BOOL:
        out->dflt = *(const bool *)(const void *)base;
        break;
    default:
        break;
    }
    return true;
}

static void usage(void)
{
    printf("Usage: chainquiz [OPTION]...\n"
           "Live multiplayer quiz server: HTTP, WebSocket (" CQ_WS_PATH
           ", subprotocol " CQ_SUBPROTOCOL ") and Redis leaderboards.\n\n");
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        /* A switch takes no value on the command line (--flag, or
         * --flag=0 to turn it off); its environment variable takes 1/0. */
        if (opts[i].kind == OPT_BOOL)
            printf("  --%-18s %s (a switch: no value; --%s=0 turns it off)\n  %-20s env %s (1/0)\n",
                   opts[i].flag, opts[i].help, opts[i].flag, "", opts[i].env);
        else
            printf("  --%-18s %s\n  %-20s env %s\n", opts[i].flag, opts[i].help, "", opts[i].env);
    }
    printf("  --%-18s %s\n  --%-18s %s\n", "help", "show this help", "version", "show the version");
}

enum cq_config_result cq_config_parse(struct cq_config *cfg, int argc, char **argv, char *err,
                                      unsigned errlen)
{
    defaults(cfg);
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        const char *v = getenv(opts[i].env);
        if (v && *v && set_opt(cfg, &opts[i], v, opts[i].env, err, errlen))
            return CQ_CONFIG_ERROR;
    }
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage();
            return CQ_CONFIG_EXIT_OK;
        }
        if (!strcmp(arg, "--version")) {
            printf("chainquiz %s (protocol %d)\n", CQ_VERSION, CQ_PROTOCOL_VERSION);
            return CQ_CONFIG_EXIT_OK;
        }
        if (strncmp(arg, "--", 2)) {
            snprintf(err, errlen, "unexpected argument \"%s\" (see --help)", arg);
            return CQ_CONFIG_ERROR;
        }
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const struct opt *o = NULL;
        for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
            if (strlen(opts[i].flag) == nlen && !strncmp(opts[i].flag, name, nlen))
                o = &opts[i];
        if (!o) {
            snprintf(err, errlen, "unknown option \"%s\" (see --help)", arg);
            return CQ_CONFIG_ERROR;
        }
        const char *val = eq ? eq + 1 : NULL;
        if (!val && o->kind == OPT_BOOL)
            val = "1";
        if (!val) {
            if (a + 1 >= argc) {
                snprintf(err, errlen, "--%s needs a value", o->flag);
                return CQ_CONFIG_ERROR;
            }
            val = argv[++a];
        }
        char from[64];
        snprintf(from, sizeof from, "--%s", o->flag);
        if (set_opt(cfg, o, val, from, err, errlen))
            return CQ_CONFIG_ERROR;
    }
    /* The slow-consumer rule counts the kernel's bytes (conn.c): a queue
     * smaller than what the kernel may hold would cut healthy readers off. */
    if (cfg->sndbuf && cfg->send_queue_bytes < 2ull * cfg->sndbuf) {
        snprintf(err, errlen,
                 "--send-queue-bytes (%u) must be at least twice --socket-send-buffer (%u): "
                 "the kernel holds up to twice that much",
                 cfg->send_queue_bytes, cfg->sndbuf);
        return CQ_CONFIG_ERROR;
    }
    if (!cfg->tls_cert[0] != !cfg->tls_key[0]) {
        snprintf(err, errlen, "--tls-cert and --tls-key go together");
        return CQ_CONFIG_ERROR;
    }
    if (cfg->public_url[0] && public_url_bad(cfg->public_url)) {
        snprintf(err, errlen,
                 "--public-url %s: give http:// or https://, a host, and at most a path "
                 "(no spaces, quotes, <, >, ?, # or &)",
                 cfg->public_url);
        return CQ_CONFIG_ERROR;
    }
    if (cfg->trusted_proxies[0]) {
        struct cq_proxy_list pl;
        char why[200];
        if (cq_proxy_list_parse(cfg->trusted_proxies, &pl, why, sizeof why)) {
            snprintf(err, errlen, "--trusted-proxies: %s", why);
            return CQ_CONFIG_ERROR;
        }
    }
    {
        struct cq_proxy_list pl;
        char why[200];
        if (cq_proxy_list_parse(cfg->metrics_allow, &pl, why, sizeof why)) {
            snprintf(err, errlen, "--metrics-allow: %s", why);
            return CQ_CONFIG_ERROR;
        }
    }
    if (cfg->redis_url[0]) {
        struct cq_redis_target t;
        if (cq_redis_url_parse(cfg->redis_url, &t, err, errlen))
            return CQ_CONFIG_ERROR;
    }
    return CQ_CONFIG_RUN;
}

int cq_redis_url_parse(const char *url, struct cq_redis_target *t, char *err, unsigned errlen)
{
    memset(t, 0, sizeof *t);
    t->port = 6379;
    if (!strncmp(url, "unix:", 5)) {
        const char *p = url + 5;
        while (p[0] == '/' && p[1] == '/')
            p++;
        const char *q = strchr(p, '?');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        if (!n || *p != '/' || n >= sizeof t->unix_path) {
            snprintf(err, errlen, "--redis: \"%s\" needs an absolute socket path (unix:/path)",
                     url);
            return -1;
        }
        memcpy(t->unix_path, p, n);
        if (q && sscanf(q, "?db=%d", &t->db) != 1) {
            snprintf(err, errlen, "--redis: \"%s\": only ?db=N may follow the path", url);
            return -1;
        }
        return 0;
    }
    if (strncmp(url, "redis://", 8)) {
        snprintf(err, errlen, "--redis: \"%s\" must start with redis:// or unix:", url);
        return -1;
    }
    const char *p = url + 8, *at = strchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        size_t n = (size_t)(at - pw);
        if (n >= sizeof t->password) {
            snprintf(err, errlen, "--redis: password too long");
            return -1;
        }
        memcpy(t->password, pw, n);
        p = at + 1;
    }
    size_t hl = strcspn(p, ":/");
    if (!hl || hl >= sizeof t->host) {
        snprintf(err, errlen, "--redis: \"%s\" has no host", url);
        return -1;
    }
    memcpy(t->host, p, hl);
    p += hl;
    if (*p == ':') {
        char *end;
        long v = strtol(p + 1, &end, 10);
        if (end == p + 1 || v < 1 || v > 65535 || (*end && *end != '/')) {
            snprintf(err, errlen, "--redis: \"%s\" has a bad port", url);
            return -1;
        }
        t->port = (int)v;
        p = end;
    }
    if (*p == '/' && p[1]) {
        char *end;
        long v = strtol(p + 1, &end, 10);
        if (end == p + 1 || *end || v < 0 || v > 15) {
            snprintf(err, errlen, "--redis: \"%s\" has a bad database number", url);
            return -1;
        }
        t->db = (int)v;
    } else if (*p && strcmp(p, "/")) {
        snprintf(err, errlen, "--redis: \"%s\" is not redis://host:port/db", url);
        return -1;
    }
    return 0;
}
