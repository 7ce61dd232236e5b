/* main.c: configuration, content, Redis (ours or the operator's), one
 * libuv loop shared by libwebsockets and hiredis, orderly shutdown. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "content.h"
#include "jfile.h"
#include "log.h"
#include "net.h"
#include "redis_embed.h"
#include "store.h"
#include "wordlist.h"

#define BLOCKED_WORDS_FILE "blocked-words.txt"

/* Everything the process owns, in one place (no globals). */
struct app {
    struct cq_config cfg;
    struct cq_bankset banks;
    struct cq_wordlist blocked;
    struct cq_redis_embed redis;
    struct cq_redis_target target;
    uv_loop_t loop;
    uv_signal_t sigint, sigterm;
    struct cq_store *store;
    struct cq_jfile jfile; /* the store's writes while Redis is away (jfile.h) */
    char identity[256];    /* our lease on the Redis key prefix (cq_store_claim) */
    struct cq_net *net;
    int stopping;
};

static void app_stop(struct app *a)
{
    if (a->stopping++)
        return;
    cq_info("shutting down");
    cq_redis_embed_unsupervise(&a->redis);
    cq_net_stop(a->net);
    cq_store_free(a->store);
    a->store = NULL;
    uv_signal_stop(&a->sigint);
    uv_signal_stop(&a->sigterm);
    uv_close((uv_handle_t *)&a->sigint, NULL);
    uv_close((uv_handle_t *)&a->sigterm, NULL);
}

/* Another server holds our Redis prefix now (we were paused or cut off from
 * Redis for longer than the lease): stop at once, sending nothing more. The
 * journal file is set aside, not replayed at the next start: what it holds
 * was never acknowledged (with an external Redis only Redis's word
 * acknowledges), and written over the other server's game logs it would
 * clash with them. */
static void on_lease_lost(void *ud, const char *prefix)
{
    struct app *a = ud;
    char aside[sizeof a->jfile.path + 32];
    snprintf(aside, sizeof aside, "%s.lost-%lld", a->jfile.path, (long long)time(NULL));
    if (a->jfile.bytes && rename(a->jfile.path, aside) == 0)
        cq_err_log("journal file set aside as %s (never acknowledged)", aside);
    cq_err_log("exiting: prefix %s belongs to another server now", prefix);
    cq_redis_embed_stop(&a->redis);
    _exit(1);
}

/* The embedded Redis died and was started again: reconnect at once. */
static void on_redis_restart(void *ud)
{
    struct app *a = ud;
    if (a->store)
        cq_store_server_restarted(a->store);
}

static void on_signal(uv_signal_t *h, int signum)
{
    cq_info("signal %d", signum);
    app_stop(h->data);
}

static int load_content(struct app *a)
{
    struct cq_content_errors errs;
    char path[CQ_PATH_MAX + 32];
    cq_content_errors_init(&errs, 50);
    int r = cq_bankset_load_dir(a->cfg.content_dir, &a->banks, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "chainquiz: %s\n", errs.lines[i]);
    if (errs.dropped)
        fprintf(stderr, "chainquiz: ... and %zu more content errors\n", errs.dropped);
    cq_content_errors_free(&errs);
    if (r) {
        fprintf(stderr, "chainquiz: refusing to start: the content in %s is not valid\n",
                a->cfg.content_dir);
        return -1;
    }
    size_t nq = 0;
    for (size_t i = 0; i < a->banks.n; i++)
        nq += a->banks.banks[i]->n_questions;
    cq_info("loaded %zu question banks (%zu questions) from %s", a->banks.n, nq,
            a->cfg.content_dir);
    snprintf(path, sizeof path, "%s/%s", a->cfg.content_dir, BLOCKED_WORDS_FILE);
    if (cq_wordlist_load(path, &a->blocked)) {
        /* A --content folder of one's own still filters nicknames. */
        if (cq_wordlist_load_text(cq_wordlist_builtin, &a->blocked)) {
            cq_warn("no %s and no memory for the built-in list: nicknames are not filtered for "
                    "blocked words",
                    path);
        } else {
            cq_warn("no %s: nicknames are filtered with the built-in list of blocked words "
                    "(the shipped content/blocked-words.txt)",
                    path);
        }
    }
    return 0;
}

static bool restore_game(void *ud, const char *game_id, const char *const *entries,
                         const size_t *lens, size_t n)
{
    return cq_net_restore_game(ud, game_id, entries, lens, n);
}

/* Our name on the Redis prefix's lease: this machine's, its boot's and our pid. */
static void server_identity(char *out, size_t cap)
{
    char host[128] = "?", boot[64] = "?";
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (f) {
        if (!fgets(boot, sizeof boot, f))
            snprintf(boot, sizeof boot, "?");
        boot[strcspn(boot, "\n")] = '\0';
        fclose(f);
    }
    if (gethostname(host, sizeof host))
        snprintf(host, sizeof host, "?");
    host[sizeof host - 1] = '\0';
    snprintf(out, cap, "%s %s %d", host, boot, (int)getpid());
}

/* A lease holder is gone for sure when it was a process of this machine,
 * since its last boot, that no longer runs (a server killed a moment ago). */
static bool holder_gone(const char *holder)
{
    char me[256], host[128], boot[64];
    int pid;
    server_identity(me, sizeof me);
    if (sscanf(holder, "%127s %63s %d", host, boot, &pid) != 3 || pid <= 0)
        return false;
    size_t n = strlen(host) + 1 + strlen(boot) + 1;
    if (strncmp(me, holder, n))
        return false; /* another machine, or another boot of this one: wait */
    if (kill(pid, 0))
        return errno == ESRCH;
    /* Still there as a zombie (its parent has not reaped it): gone too. */
    char path[64], stat[256];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    size_t got = f ? fread(stat, 1, sizeof stat - 1, f) : 0;
    if (f)
        fclose(f);
    stat[got] = '\0';
    const char *close = strrchr(stat, ')');
    return close && close[1] == ' ' && close[2] == 'Z';
}

/* The journal file: what a previous run could not give Redis goes first, so
 * that the logs read next are whole. */
static int setup_journal_file(struct app *a)
{
    char err[512];
    size_t sent;
    server_identity(a->identity, sizeof a->identity);
    if (cq_store_claim(&a->target, a->cfg.key_prefix, a->identity, a->cfg.server_lease_s * 1000,
                       holder_gone, a->cfg.redis_timeout_ms, err, sizeof err)) {
        fprintf(stderr, "chainquiz: %s\n", err);
        return -1;
    }
    if (cq_jfile_open(&a->jfile, a->cfg.data_dir, err, sizeof err)) {
        fprintf(stderr, "chainquiz: %s\n", err);
        return -1;
    }
    if (cq_store_replay_journal_file(&a->target, &a->jfile, a->cfg.redis_timeout_ms, &sent, err,
                                     sizeof err)) {
        fprintf(stderr,
                "chainquiz: cannot send the journal file %s to Redis: %s (the file is kept; "
                "start again once Redis takes writes)\n",
                a->jfile.path, err);
        return -1;
    }
    if (sent)
        cq_info("sent %zu writes a previous run kept in %s to Redis", sent, a->jfile.path);
    return 0;
}

static int setup_redis(struct app *a)
{
    char err[512];
    if (a->cfg.redis_url[0]) {
        cq_redis_url_parse(a->cfg.redis_url, &a->target, err, sizeof err);
        if (cq_store_ping(&a->target, a->cfg.redis_timeout_ms, err, sizeof err)) {
            fprintf(stderr, "chainquiz: cannot reach Redis at %s: %s\n", a->cfg.redis_url, err);
            return -1;
        }
        cq_info("using Redis at %s", a->cfg.redis_url);
        return 0;
    }
    if (cq_redis_embed_start(a->cfg.redis_server, a->cfg.data_dir, 5000, &a->redis, err,
                             sizeof err)) {
        fprintf(stderr, "chainquiz: %s\n", err);
        return -1;
    }
    memset(&a->target, 0, sizeof a->target);
    snprintf(a->target.unix_path, sizeof a->target.unix_path, "%s", a->redis.socket_path);
    cq_info("started the embedded Redis (pid %d, data in %s)", (int)a->redis.pid, a->cfg.data_dir);
    return 0;
}

int main(int argc, char **argv)
{
    struct app *a = calloc(1, sizeof *a);
    char err[512];
    int result = 1;

    if (!a)
        return 1;
    a->redis.pid = -1;
    a->redis.lock_fd = -1;
    a->jfile.fd = a->jfile.dir_fd = -1;

    switch (cq_config_parse(&a->cfg, argc, argv, err, sizeof err)) {
    case CQ_CONFIG_EXIT_OK:
        free(a);
        return 0;
    case CQ_CONFIG_ERROR:
        fprintf(stderr, "chainquiz: %s\n", err);
        free(a);
        return 2;
    case CQ_CONFIG_RUN:
        break;
    }
    cq_log_setup((enum cq_log_level)a->cfg.log_level, a->cfg.log_json);
    signal(SIGPIPE, SIG_IGN);
    /* A room of thousands needs a descriptor each: take what the hard limit allows. */
    struct rlimit rl;
    if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    if (load_content(a) || setup_redis(a))
        goto out;

    uv_loop_init(&a->loop);
    uv_signal_init(&a->loop, &a->sigint);
    uv_signal_init(&a->loop, &a->sigterm);
    a->sigint.data = a->sigterm.data = a;
    uv_signal_start(&a->sigint, on_signal, SIGINT);
    uv_signal_start(&a->sigterm, on_signal, SIGTERM);

    a->store = cq_store_new(&a->loop, &a->target, a->cfg.key_prefix, a->cfg.redis_timeout_ms,
                            a->cfg.journal_max);
    if (!a->store) {
        fprintf(stderr, "chainquiz: out of memory\n");
        goto loop_out;
    }
    if (a->cfg.redis_url[0])
        cq_store_set_replicas(a->store, a->cfg.redis_replicas);
    cq_store_start(a->store);
    cq_redis_embed_supervise(&a->redis, &a->loop, on_redis_restart, a);

    struct cq_net_deps deps = {&a->cfg, &a->banks, &a->blocked, a->store, &a->loop};
    a->net = cq_net_start(&deps, err, sizeof err);
    if (!a->net) {
        fprintf(stderr, "chainquiz: %s\n", err);
        goto loop_out;
    }
    if (cq_net_failed(a->net)) {
        /* lws 4.1 cannot tear down a context whose listener failed on a
         * foreign loop (its event-lib plugin is gone before its handles
         * close), so nothing is torn down: our Redis is stopped and we leave. */
        fprintf(stderr, "chainquiz: %s\n", err);
        cq_redis_embed_stop(&a->redis);
        _exit(1);
    }
    /* Listening (a busy port is the first error to hear of), and before the
     * loop runs: our lease on the Redis prefix, then what a previous run
     * left in the journal file. */
    if (setup_journal_file(a))
        goto loop_out; /* result is still 1 */
    /* Acknowledgements from the journal file only with our own Redis (or
     * --journal-acks): an external one may be reached by another server
     * while we cannot reach it, and it would resume our games without what
     * only our disk holds. */
    cq_store_set_journal_file(a->store, &a->jfile, !a->cfg.redis_url[0] || a->cfg.journal_acks);
    cq_store_on_lease_lost(a->store, on_lease_lost, a);
    cq_store_set_identity(a->store, a->identity, a->cfg.server_lease_s * 1000);
    /* Games that were live when the server last stopped (or was killed)
     * resume before the first connection is served, their clocks going on
     * from when that server last ran. */
    cq_net_set_last_alive(
        a->net, cq_store_read_alive(&a->target, a->cfg.key_prefix, a->cfg.redis_timeout_ms));
    if (cq_store_load_logs(&a->target, a->cfg.key_prefix, a->cfg.redis_timeout_ms, restore_game,
                           a->net, err, sizeof err))
        cq_err_log("could not read the live games' logs, none resumed: %s", err);
    cq_info("listening on %s (%s; WebSocket %s, subprotocol %s)", cq_net_listening(a->net),
            a->cfg.tls_cert[0] ? "https" : "http", CQ_WS_PATH, CQ_SUBPROTOCOL);
    uv_run(&a->loop, UV_RUN_DEFAULT);
    result = 0;
loop_out:
    app_stop(a);
    /* Let lws, hiredis and our handles finish closing. */
    uv_run(&a->loop, UV_RUN_DEFAULT);
    cq_net_free(a->net);
    a->net = NULL;
    uv_run(&a->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&a->loop))
        cq_warn("event loop closed with handles still open");
out:
    cq_jfile_close(&a->jfile);
    cq_redis_embed_stop(&a->redis);
    cq_bankset_free(&a->banks);
    cq_wordlist_free(&a->blocked);
    free(a);
    return result;
}
