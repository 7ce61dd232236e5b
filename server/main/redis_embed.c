/* redis_embed.c: supervising a private redis-server. */
#include "redis_embed.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int mkdir_p(const char *path)
{
    char tmp[CQ_PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0700) && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(tmp, 0700) && errno != EEXIST ? -1 : 0;
}

int cq_redis_ping(const struct cq_redis_target *t, int timeout_ms, char *err, size_t errlen)
{
    int result = -1;
    redisReply *r = NULL;
    redisContext *c = cq_store_connect_sync(t, timeout_ms, err, errlen);
    if (!c)
        return -1;
    r = redisCommand(c, "PING");
    if (!r || r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "PING failed: %s", r ? r->str : c->errstr);
        goto out;
    }
    result = 0;
out:
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return result;
}

/* The last line of the embedded server's log, for error messages. */
static void log_tail(const char *path, char *out, size_t cap)
{
    char line[512];
    FILE *f = fopen(path, "r");
    out[0] = '\0';
    if (!f)
        return;
    while (fgets(line, sizeof line, f))
        if (line[0] != '\n')
            snprintf(out, cap, "%.*s", (int)cap - 1, line);
    fclose(f);
    out[strcspn(out, "\n")] = '\0';
}

int cq_redis_embed_start(const char *program, const char *data_dir, int timeout_ms,
                         struct cq_redis_embed *e, char *err, size_t errlen)
{
    char dir[PATH_MAX];
    memset(e, 0, sizeof *e);
    e->pid = -1;
    if (mkdir_p(data_dir) || !realpath(data_dir, dir)) {
        snprintf(err, errlen, "cannot create the data folder %s: %s", data_dir, strerror(errno));
        return -1;
    }
    if (strlen(dir) > 90) { /* sun_path is 108 bytes */
        snprintf(err, errlen, "the data folder path %s is too long for a Unix socket", dir);
        return -1;
    }
    /* Lengths checked above; %.*s keeps the compiler sure of it. */
    snprintf(e->socket_path, sizeof e->socket_path, "%.*s/redis.sock", 90, dir);
    snprintf(e->log_path, sizeof e->log_path, "%.*s/redis.log", 1000, dir);
    unlink(e->socket_path);

    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        setsid();
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(1);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
        }
        execlp(program, program, "--port", "0", "--unixsocket", e->socket_path, "--unixsocketperm",
               "700", "--dir", dir, "--appendonly", "yes", "--appendfsync", "everysec", "--save",
               "", "--daemonize", "no", "--logfile", e->log_path, (char *)NULL);
        fprintf(stderr, "chainquiz: cannot run %s: %s\n", program, strerror(errno));
        _exit(127);
    }
    e->pid = pid;

    struct cq_redis_target t;
    memset(&t, 0, sizeof t);
    snprintf(t.unix_path, sizeof t.unix_path, "%s", e->socket_path);
    int64_t until = mono_ms() + timeout_ms;
    char why[256] = "";
    for (;;) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            char tail[400];
            e->pid = -1;
            log_tail(e->log_path, tail, sizeof tail);
            if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
                snprintf(err, errlen,
                         "cannot start the embedded Redis: \"%s\" not found (install "
                         "redis-server or pass --redis URL)",
                         program);
            else
                snprintf(err, errlen, "the embedded Redis exited at start-up: %s",
                         tail[0] ? tail : "no log");
            return -1;
        }
        if (!cq_redis_ping(&t, 200, why, sizeof why))
            return 0;
        if (mono_ms() > until) {
            snprintf(err, errlen, "the embedded Redis did not answer within %d ms: %s", timeout_ms,
                     why);
            cq_redis_embed_stop(e);
            return -1;
        }
        struct timespec nap = {0, 50 * 1000000L};
        nanosleep(&nap, NULL);
    }
}

void cq_redis_embed_stop(struct cq_redis_embed *e)
{
    if (e->pid <= 0)
        return;
    kill(e->pid, SIGTERM);
    /* Redis flushes the AOF on SIGTERM; give it a few seconds, then insist. */
    for (int i = 0; i < 100; i++) {
        if (waitpid(e->pid, NULL, WNOHANG) == e->pid) {
            e->pid = -1;
            return;
        }
        struct timespec nap = {0, 50 * 1000000L};
        nanosleep(&nap, NULL);
    }
    kill(e->pid, SIGKILL);
    waitpid(e->pid, NULL, 0);
    e->pid = -1;
}
