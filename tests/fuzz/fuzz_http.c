/* libFuzzer target: the real HTTP layer (lws on our libuv loop, http.c,
 * http_conns.c, and the WebSocket upgrade into conn.c) fed byte streams over
 * a loopback TCP connection. Any stream must be answered or closed, never
 * crash, leak, or leave state behind once the connection is gone.
 *
 * The server starts once (LLVMFuzzerInitialize) on a port the kernel picks,
 * with a store that points at nothing (leaderboards and results go the
 * asynchronous way and fail), the test content and the web client.
 *
 * Input: byte 0 says how the client behaves (FLAG_*); the rest is split on
 * SEP bytes into segments, each written on its own with the loop run in
 * between (so requests arrive split anywhere: mid-header, mid-frame).
 * Every input is bounded in time (TURN_MS, *_TURNS) so a run cannot hang. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "content.h"
#include "log.h"
#include "net.h"
#include "net_priv.h"
#include "store.h"
#include "wordlist.h"

#ifndef CQ_SOURCE_DIR
#error "CQ_SOURCE_DIR must name the source tree"
#endif

#define SEP            0xff /* splits the input into separate writes */
#define FLAG_SHUT_WR   0x01 /* half-close after the last segment */
#define FLAG_HANG_UP   0x02 /* close right after the last segment */
#define FLAG_READ_EACH 0x04 /* read answers between segments */
#define TURN_MS        1    /* one loop turn waits at most this for the client side */
#define SEGMENT_TURNS  3    /* loop turns after each segment */
#define IDLE_TURNS     5    /* turns without a byte from the server: it is done */
#define MAX_SEGMENTS   12   /* separate writes; the rest goes in the last one */
#define MAX_TURNS      400  /* hard bound per phase */

static struct {
    struct cq_config cfg;
    struct cq_bankset banks;
    struct cq_wordlist blocked;
    struct cq_redis_target target;
    uv_loop_t loop;
    struct cq_store *store;
    struct cq_net *net;
    int port;
} F;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[512];
    (void)argc;
    (void)argv;
    /* Redis on port 1: nothing listens, every store call fails fast. */
    char *args[] = {"fuzz_http",
                    "--bind",
                    "127.0.0.1",
                    "--content",
                    CQ_SOURCE_DIR "/tests/fixtures/content",
                    "--web-root",
                    CQ_SOURCE_DIR "/web-client",
                    "--redis",
                    "redis://127.0.0.1:1/0",
                    "--redis-timeout",
                    "100",
                    "--log-level",
                    "error",
                    NULL};
    signal(SIGPIPE, SIG_IGN);
    if (cq_config_parse(&F.cfg, 13, args, err, sizeof err) != CQ_CONFIG_RUN) {
        fprintf(stderr, "fuzz_http: %s\n", err);
        abort();
    }
    F.cfg.port = 0; /* the kernel picks */
    cq_log_setup(CQ_LOG_ERROR, false);
    struct cq_content_errors errs;
    cq_content_errors_init(&errs, 5);
    if (cq_bankset_load_dir(F.cfg.content_dir, &F.banks, &errs)) {
        fprintf(stderr, "fuzz_http: cannot load %s\n", F.cfg.content_dir);
        abort();
    }
    cq_content_errors_free(&errs);
    cq_redis_url_parse(F.cfg.redis_url, &F.target, err, sizeof err);
    uv_loop_init(&F.loop);
    F.store = cq_store_new(&F.loop, &F.target, F.cfg.key_prefix, F.cfg.redis_timeout_ms,
                           F.cfg.journal_max);
    if (!F.store)
        abort();
    cq_store_start(F.store);
    struct cq_net_deps deps = {&F.cfg, &F.banks, &F.blocked, F.store, &F.loop};
    F.net = cq_net_start(&deps, err, sizeof err);
    if (!F.net || cq_net_failed(F.net)) {
        fprintf(stderr, "fuzz_http: %s\n", err);
        abort();
    }
    /* Our own listener (listen.c) holds the socket the kernel gave a port. */
    struct sockaddr_in bound;
    socklen_t blen = sizeof bound;
    if (!F.net->listen.n || getsockname(F.net->listen.l[0].fd, (struct sockaddr *)&bound, &blen))
        abort();
    F.port = ntohs(bound.sin_port);
    return 0;
}

/* One loop turn: the server's events, then what the client received
 * (discarded). Returns bytes read, 0 at end of stream, -1 for none yet. */
static int turn(int fd)
{
    char buf[65536];
    uv_run(&F.loop, UV_RUN_NOWAIT);
    /* Wait (at most TURN_MS) for the client socket or the server's loop. */
    struct pollfd p[2] = {{uv_backend_fd(&F.loop), POLLIN, 0}, {fd, POLLIN, 0}};
    int n = poll(p, fd >= 0 ? 2 : 1, TURN_MS);
    if (fd < 0 || n <= 0 || !(p[1].revents & (POLLIN | POLLHUP | POLLERR)))
        return -1;
    ssize_t got = read(fd, buf, sizeof buf);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR))
        return 0;
    return got < 0 ? -1 : (int)got;
}

/* Runs the loop until the server ends the stream or is quiet. */
static bool drain(int fd)
{
    int idle = 0;
    for (int i = 0; i < MAX_TURNS && idle < IDLE_TURNS; i++) {
        int n = turn(fd);
        if (n == 0)
            return true; /* closed by the server */
        idle = n > 0 ? 0 : idle + 1;
    }
    return false;
}

static void send_all(int fd, const uint8_t *p, size_t n)
{
    for (int i = 0; n && i < MAX_TURNS; i++) {
        ssize_t w = write(fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
            return; /* the server closed it */
        }
        if (n)
            turn(fd);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    uint8_t flags = data[0];
    data++;
    size--;
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)F.port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* Non-blocking from the start: libFuzzer's SIGALRM (-timeout) would
     * interrupt a blocking connect. */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), err = 0;
    socklen_t elen = sizeof err;
    if (fd < 0)
        abort();
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) && errno != EINPROGRESS && errno != EINTR)
        err = errno;
    for (int i = 0; !err && i < MAX_TURNS; i++) {
        struct pollfd p = {fd, POLLOUT, 0};
        if (poll(&p, 1, TURN_MS) > 0) {
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen))
                err = errno;
            break;
        }
        uv_run(&F.loop, UV_RUN_NOWAIT);
    }
    if (err) {
        /* Loopback: the kernel accepts into the backlog at once. */
        fprintf(stderr, "fuzz_http: connect: %s (server holds %u HTTP, %u WebSocket)\n",
                strerror(err), cq_http_conns_count(F.net->http_conns), F.net->m.conns);
        abort();
    }
    bool closed = false;
    for (int seg = 0; size && !closed; seg++) {
        const uint8_t *sep = seg < MAX_SEGMENTS - 1 ? memchr(data, SEP, size) : NULL;
        size_t n = sep ? (size_t)(sep - data) : size;
        send_all(fd, data, n);
        data += n + (sep ? 1 : 0);
        size -= n + (sep ? 1 : 0);
        if (!n)
            continue;
        if (flags & FLAG_READ_EACH)
            closed = drain(fd);
        else
            for (int i = 0; i < SEGMENT_TURNS && !closed; i++)
                closed = turn(fd) == 0;
    }
    if (flags & FLAG_HANG_UP) {
        close(fd);
        fd = -1;
    } else if (flags & FLAG_SHUT_WR) {
        shutdown(fd, SHUT_WR);
    }
    if (fd >= 0 && !closed)
        drain(fd);
    if (fd >= 0)
        close(fd);
    /* The server lets the connection go: no HTTP or WebSocket state left
     * (a request waiting for the store is detached and freed when the
     * store answers). */
    for (int i = 0; i < MAX_TURNS; i++) {
        if (!cq_http_conns_count(F.net->http_conns) && !F.net->m.conns)
            break;
        turn(-1);
    }
    return 0;
}
