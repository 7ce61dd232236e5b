/* config.h: command line and environment, one struct for the whole server.
 *
 * Every option has a long flag and a CHAINQUIZ_* environment variable; the
 * flag wins. A bad value is a one-line error naming the option, never a
 * silent default.
 */
#ifndef CQ_CONFIG_H
#define CQ_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "cq_limits.h"
#include "proxy.h"

#define CQ_PATH_MAX 1024

/* Where Redis is: TCP or a Unix socket. */
struct cq_redis_target {
    char host[256];
    int port;
    char unix_path[CQ_PATH_MAX];
    int db;
    char password[256];
};

struct cq_config {
    int port;
    char bind[64];
    char content_dir[CQ_PATH_MAX];
    char web_root[CQ_PATH_MAX];
    char data_dir[CQ_PATH_MAX];
    char redis_url[CQ_PATH_MAX]; /* empty: start our own */
    char redis_server[CQ_PATH_MAX];
    char key_prefix[64];
    char origins[1024]; /* comma-separated allow-list; empty: same origin */
    char tls_cert[CQ_PATH_MAX], tls_key[CQ_PATH_MAX]; /* both set: HTTPS and WSS */
    char public_url[256]; /* how players reach us, for the join link; empty: from Host */
    int log_level;
    bool log_json;
    struct cq_limits limits;
    unsigned max_games;
    unsigned max_conns;                 /* WebSockets in all; 0: from the open-file limit */
    unsigned max_conns_per_ip;          /* idle ones (in no game) per address; 0: no limit */
    int join_deadline_s;                /* an idle connection is closed after this; 0: never */
    unsigned pin_misses_per_min;        /* wrong guesses per address answered at once */
    unsigned server_pin_misses_per_min; /* the same over the whole server; 0: none */
    int tarpit_max_s;                   /* longest delay of a wrong answer */
    bool require_join_secret;           /* every game gets a join secret */
    unsigned max_http_conns_per_ip;     /* plain HTTP (http_conns.h); 0: no limit */
    int http_header_timeout_s;          /* a request's headers, from its first byte */
    int http_body_timeout_s;            /* the rest of a request, to its answer */
    int http_idle_timeout_s;            /* a kept-alive connection between requests */
    unsigned games_per_ip;              /* live games created from one address; 0: no limit */
    unsigned games_per_min;             /* games created per address per minute */
    int empty_lobby_timeout_s;          /* a game nobody joined closes after this; 0: never */
    unsigned max_hosts_per_game;        /* host connections of one game */
    unsigned max_log_entries;           /* a game's log: joins and repeatable host commands stop */
    unsigned work_per_sec;              /* costly messages per address per second */
    unsigned work_burst;                /* ... at once */
    unsigned send_queue_max;            /* messages queued per connection */
    unsigned send_queue_bytes;
    /* SO_SNDBUF of each accepted socket (the kernel doubles it); 0: the
     * kernel's autotuning, up to net.ipv4.tcp_wmem's maximum. */
    unsigned sndbuf;
    int rejoin_grace_s;
    int max_show_delay_ms;
    int reveal_ms, leaderboard_ms; /* auto-advance: time on the reveal, on the leaderboard */
    int ended_ttl_s;
    int idle_timeout_s; /* WebSocket with no traffic (pongs included): pinged */
    int idle_grace_s;   /* after idle_timeout_s, this much more silence: closed */
    int redis_timeout_ms;
    bool journal_acks;       /* --redis: acknowledge from the journal file (store.h) */
    int server_lease_s;      /* our claim on the Redis key prefix (store.h, cq_store_claim) */
    unsigned journal_max;    /* Redis writes kept while Redis is away */
    unsigned redis_replicas; /* WAIT for this many before a log entry counts as stored */
    int results_ttl_s;       /* finished games' results kept in Redis */
    /* Reverse proxies whose X-Forwarded-For is believed (proxy.h); empty:
     * none, the header is ignored. */
    char trusted_proxies[CQ_PROXY_LIST_MAX];
    /* Addresses or networks allowed to read /metrics (proxy.h syntax);
     * empty: nobody. */
    char metrics_allow[CQ_PROXY_LIST_MAX];
};

enum cq_config_result { CQ_CONFIG_RUN = 0, CQ_CONFIG_EXIT_OK = 1, CQ_CONFIG_ERROR = 2 };

/* Fills `cfg` from defaults, environment, then argv. Prints --help and
 * --version itself; on error writes one line to `err`. */
enum cq_config_result cq_config_parse(struct cq_config *cfg, int argc, char **argv, char *err,
                                      unsigned errlen);

/* One option, as the table in config.c has it, for the tests that hold the
 * documents to the code (tests/unit/test_limits.c). */
struct cq_config_option {
    const char *flag, *env, *help;
    bool number;            /* a whole number from `lo` to `hi` */
    long long lo, hi, dflt; /* dflt: the value when neither flag nor environment sets it */
};
/* The `i`th option (0, 1, ...); false past the last. */
bool cq_config_option(size_t i, struct cq_config_option *out);

/* Parses redis://[:password@]host[:port][/db] or unix:/path[?db=N]. */
int cq_redis_url_parse(const char *url, struct cq_redis_target *t, char *err, unsigned errlen);

#endif
