/* harness.c: private redis-server + chainquiz for integration tests. */
#include "harness.h"

#include <dirent.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CQ_SERVER_BIN
#error "CQ_SERVER_BIN must name the chainquiz binary"
#endif

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int cq_free_port(void)
{
    struct sockaddr_in sa = {0};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) ||
        getsockname(fd, (struct sockaddr *)&sa, &len)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

static pid_t spawn(const char *const *argv, const char *log_path, unsigned nofile)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
    }
    if (nofile) {
        struct rlimit rl = {nofile, nofile};
        if (setrlimit(RLIMIT_NOFILE, &rl))
            _exit(126);
    }
    execvp(argv[0], (char *const *)argv);
    _exit(127);
}

int cq_harness_wait(pid_t pid, int timeout_ms)
{
    int status;
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        nap_ms(20);
    }
    return -1;
}

static void stop_child(pid_t *pid)
{
    if (*pid <= 0)
        return;
    kill(*pid, SIGTERM);
    if (cq_harness_wait(*pid, 5000) < 0) {
        kill(*pid, SIGKILL);
        waitpid(*pid, NULL, 0);
    }
    *pid = -1;
}

int cq_http_get(int port, const char *path, char *body, size_t cap)
{
    struct sockaddr_in sa = {0};
    char req[512], buf[65536];
    size_t len = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;
    struct timeval tv = {5, 0};
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa))
        goto out;
    int n =
        snprintf(req, sizeof req,
                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n", path, port);
    if (write(fd, req, (size_t)n) != n)
        goto out;
    for (;;) {
        ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
        if (len == sizeof buf - 1)
            break;
    }
    buf[len] = '\0';
    if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
        status = -1;
    if (body && cap) {
        char *b = strstr(buf, "\r\n\r\n");
        snprintf(body, cap, "%s", b ? b + 4 : "");
    }
out:
    close(fd);
    return status;
}

int cq_harness_start_redis(struct cq_harness *h)
{
    return cq_harness_start_redis_on(h, cq_free_port());
}

int cq_harness_start_redis_on(struct cq_harness *h, int port_number)
{
    char port[16], rlog[300];
    h->redis_port = port_number;
    snprintf(port, sizeof port, "%d", h->redis_port);
    snprintf(rlog, sizeof rlog, "%s/redis.log", h->dir);
    const char *argv[40] = {h->redis_program ? h->redis_program : "redis-server",
                            "--port",
                            port,
                            "--bind",
                            "127.0.0.1",
                            "--save",
                            "",
                            "--dir",
                            h->dir,
                            "--appendonly",
                            "yes",
                            "--daemonize",
                            "no",
                            NULL};
    for (size_t i = 0, n = 13; h->redis_args && h->redis_args[i] && n < 39; i++)
        argv[n++] = h->redis_args[i];
    h->redis_pid = spawn(argv, rlog, 0);
    for (int i = 0; i < 250; i++) {
        char out[64];
        if (!cq_redis_cmd(h, out, sizeof out, "PING"))
            return 0;
        nap_ms(20);
    }
    return -1;
}

pid_t cq_harness_start_replica(struct cq_harness *h, int *port_out)
{
    char port[16], primary[16], rlog[300], dir[300], out[4096];
    int port_number = cq_free_port();
    snprintf(port, sizeof port, "%d", port_number);
    snprintf(primary, sizeof primary, "%d", h->redis_port);
    snprintf(rlog, sizeof rlog, "%s/replica.log", h->dir);
    snprintf(dir, sizeof dir, "%s/replica", h->dir);
    mkdir(dir, 0700);
    const char *argv[] = {"redis-server", "--port", port,          "--bind", "127.0.0.1",
                          "--save",       "",       "--dir",       dir,      "--replicaof",
                          "127.0.0.1",    primary,  "--daemonize", "no",     NULL};
    pid_t pid = spawn(argv, rlog, 0);
    /* Ready once the primary counts it as a replica that is online. */
    for (int i = 0; pid > 0 && i < 500; i++) {
        if (!cq_redis_cmd(h, out, sizeof out, "INFO replication") && strstr(out, "state=online")) {
            *port_out = port_number;
            return pid;
        }
        nap_ms(20);
    }
    if (pid > 0)
        stop_child(&pid);
    return -1;
}

void cq_harness_stop_redis(struct cq_harness *h)
{
    stop_child(&h->redis_pid);
}

pid_t cq_harness_spawn(struct cq_harness *h, const char *const *args)
{
    const char *argv[64];
    char port[16];
    size_t n = 0;
    if (!h->http_port)
        h->http_port = cq_free_port();
    snprintf(port, sizeof port, "%d", h->http_port);
    argv[n++] = CQ_SERVER_BIN;
    argv[n++] = "--port";
    argv[n++] = strdup(port);
    argv[n++] = "--bind";
    argv[n++] = "127.0.0.1";
    for (size_t i = 0; args && args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    h->server_pid = spawn(argv, h->log_path, h->nofile);
    free((void *)argv[2]);
    return h->server_pid;
}

/* Whether a line with `what` (and `also`, unless NULL) was written to the
 * log after offset `from`. */
static bool log_line_since(const char *path, off_t from, const char *what, const char *also)
{
    char buf[8192];
    FILE *f = fopen(path, "r");
    bool found = false;
    if (!f)
        return false;
    if (!fseeko(f, from, SEEK_SET))
        while (!found && fgets(buf, sizeof buf, f))
            found = strstr(buf, what) != NULL && (!also || strstr(buf, also) != NULL);
    fclose(f);
    return found;
}

static bool log_says_since(const char *path, off_t from, const char *what)
{
    return log_line_since(path, from, what, NULL);
}

int cq_harness_start_server(struct cq_harness *h, const char *const *extra)
{
    const char *args[48];
    char url[64], data[300];
    size_t n = 0;
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", h->redis_port);
    snprintf(data, sizeof data, "%s/data", h->dir);
    args[n++] = "--content";
    args[n++] = CQ_SOURCE_DIR "/tests/fixtures/content";
    args[n++] = "--web-root";
    args[n++] = CQ_SOURCE_DIR "/web-client";
    args[n++] = "--data-dir";
    args[n++] = data;
    args[n++] = "--log-level";
    args[n++] = "debug";
    if (h->redis_pid > 0) {
        args[n++] = "--redis";
        args[n++] = url;
    }
    for (size_t i = 0; extra && extra[i] && n < 46; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    /* The port came from the kernel free, but another process may take it
     * before the server binds it: then another port, a few times. */
    for (int attempt = 0; attempt < 5; attempt++) {
        struct stat st;
        off_t before = stat(h->log_path, &st) ? 0 : st.st_size;
        if (cq_harness_spawn(h, args) < 0)
            return -1;
        bool exited = false;
        char port[16];
        snprintf(port, sizeof port, ":%d ", h->http_port);
        for (int i = 0; i < 500 && !exited; i++) {
            /* Ours, not another test's server that took the port while
             * ours could not: the /healthz answer counts once our own log
             * says it listens there. */
            if (log_line_since(h->log_path, before, "listening on ", port) &&
                cq_http_get(h->http_port, "/healthz", NULL, 0) == 200)
                return 0;
            int status;
            if (waitpid(h->server_pid, &status, WNOHANG) == h->server_pid) {
                h->server_pid = -1;
                exited = true;
            } else {
                nap_ms(20);
            }
        }
        if (!exited || !log_says_since(h->log_path, before, "cannot listen on"))
            return -1;
        h->http_port = cq_free_port();
    }
    return -1;
}

int cq_harness_start(struct cq_harness *h, bool no_redis, const char *const *extra)
{
    /* Criterion runs a suite's .init and then a test's own: the test's
     * start replaces the suite's, whose processes and folder go first. */
    if (h->dir[0])
        cq_harness_stop(h);
    memset(h, 0, sizeof *h);
    h->redis_pid = h->server_pid = -1;
    snprintf(h->dir, sizeof h->dir, "/tmp/cq-test-XXXXXX");
    if (!mkdtemp(h->dir))
        return -1;
    snprintf(h->log_path, sizeof h->log_path, "%s/server.log", h->dir);
    if (!no_redis && cq_harness_start_redis(h))
        return -1;
    return cq_harness_start_server(h, extra);
}

void cq_harness_stop(struct cq_harness *h)
{
    char cmd[300];
    stop_child(&h->server_pid);
    stop_child(&h->redis_pid);
    if (getenv("CQ_KEEP_TEST_DIRS") || !h->dir[0])
        return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", h->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "harness: could not remove %s\n", h->dir);
}

int cq_redis_cmd(struct cq_harness *h, char *out, size_t cap, const char *fmt, ...)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", h->redis_port, tv);
    int result = -1;
    va_list ap;
    if (!c || c->err)
        goto out;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (!r)
        goto out;
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(out, cap, "%s", r->str);
    } else if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
        snprintf(out, cap, "%s", r->str);
        result = 0;
    } else if (r->type == REDIS_REPLY_INTEGER) {
        snprintf(out, cap, "%lld", r->integer);
        result = 0;
    } else if (r->type == REDIS_REPLY_ARRAY) {
        size_t o = 0;
        out[0] = '\0';
        for (size_t i = 0; i < r->elements && o < cap; i++)
            o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? " " : "",
                                  r->element[i]->str ? r->element[i]->str : "");
        result = 0;
    } else {
        out[0] = '\0';
        result = 0;
    }
    freeReplyObject(r);
out:
    if (c)
        redisFree(c);
    return result;
}

pid_t cq_child_named(pid_t parent, const char *comm)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    pid_t found = 0;
    while (d && (e = readdir(d))) {
        char path[300], buf[512], name[64];
        int pid, ppid;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(buf, sizeof buf, f) &&
            sscanf(buf, "%d (%63[^)]) %*c %d", &pid, name, &ppid) == 3 && ppid == parent &&
            !strcmp(name, comm))
            found = pid;
        fclose(f);
    }
    if (d)
        closedir(d);
    return found;
}

int cq_log_count(const struct cq_harness *h, const char *needle)
{
    static char log[1 << 20];
    FILE *f = fopen(h->log_path, "r");
    if (!f)
        return 0;
    size_t n = fread(log, 1, sizeof log - 1, f);
    log[n] = '\0';
    fclose(f);
    int count = 0;
    for (const char *p = strstr(log, needle); p; p = strstr(p + 1, needle))
        count++;
    return count;
}
