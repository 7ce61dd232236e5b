/* redis_embed.c: supervising a private redis-server. */
#include "redis_embed.h"
#include "log.h"
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
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

/* How long a restart waits for the previous run's Redis to let go of the
 * data folder (it got SIGTERM when its server died and is finishing its
 * append-only file), and when it is told again, then killed. */
#define LOCK_WAIT_MS   10000
#define LOCK_RETERM_MS 3000
#define LOCK_KILL_MS   8000
#define LOCK_FILE      "chainquiz.lock"

/* Whether `pid` is alive and its command name starts with `name`. A zombie
 * (dead, not yet reaped by its parent: a server killed with kill -9 from a
 * shell that has not waited for it) is not alive. */
static bool proc_is(pid_t pid, const char *name)
{
    char path[64], stat[512] = "";
    if (pid <= 0 || (kill(pid, 0) && errno != EPERM))
        return false;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = '\0';
    /* "PID (COMM) STATE ...": COMM may hold spaces and parentheses. */
    char *open = strchr(stat, '('), *close = strrchr(stat, ')');
    if (!open || !close || close < open || close[1] != ' ')
        return false;
    size_t clen = (size_t)(close - open - 1), nlen = strlen(name);
    char state = close[2];
    return state != 'Z' && state != 'X' && clen >= nlen && !strncmp(open + 1, name, nlen);
}

/* The lock file holds "SERVER_PID REDIS_PID\n" of the run holding it. */
static void lock_pids(int fd, pid_t *server, pid_t *redis)
{
    char buf[64];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    int s = 0, r = 0;
    buf[n > 0 ? n : 0] = '\0';
    if (sscanf(buf, "%d %d", &s, &r) < 1)
        s = r = 0;
    *server = s;
    *redis = r;
}

static void lock_write_pids(int fd, pid_t server, pid_t redis)
{
    char buf[64];
    int n = snprintf(buf, sizeof buf, "%d %d\n", (int)server, (int)redis);
    if (ftruncate(fd, 0) || pwrite(fd, buf, (size_t)n, 0) != n)
        return; /* informative only: the lock itself is the flock */
}

/* Removes the socket files of earlier runs: with the folder locked, no
 * Redis of ours listens on them any more. */
static void remove_stale_sockets(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[PATH_MAX];
    if (!d)
        return;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (!strncmp(de->d_name, "redis", 5) && n > 5 && !strcmp(de->d_name + n - 5, ".sock") &&
            (size_t)snprintf(path, sizeof path, "%s/%s", dir, de->d_name) < sizeof path)
            unlink(path);
    }
    closedir(d);
}

/* Takes the data folder's lock into e->lock_fd. The descriptor is inherited
 * by the Redis child on purpose (no O_CLOEXEC). */
static int lock_data_dir(const char *dir, struct cq_redis_embed *e, char *err, size_t errlen)
{
    char path[PATH_MAX];
    int result = -1;
    bool retermed = false, killed = false;
    snprintf(path, sizeof path, "%.*s/%s", PATH_MAX - 32, dir, LOCK_FILE);
    int fd = open(path, O_RDWR | O_CREAT, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    int64_t start = mono_ms();
    for (;;) {
        pid_t server, redis;
        if (!flock(fd, LOCK_EX | LOCK_NB))
            break;
        if (errno != EWOULDBLOCK && errno != EINTR) {
            snprintf(err, errlen, "cannot lock %s: %s", path, strerror(errno));
            goto out;
        }
        lock_pids(fd, &server, &redis);
        if (server != getpid() && proc_is(server, "chainquiz")) {
            snprintf(err, errlen,
                     "the data folder %s is in use by another chainquiz server (pid %d); give "
                     "each server its own --data-dir",
                     dir, (int)server);
            goto out;
        }
        /* The previous run's Redis is still finishing its shutdown. */
        int64_t waited = mono_ms() - start;
        if (waited > LOCK_RETERM_MS && !retermed && proc_is(redis, "redis")) {
            kill(redis, SIGTERM);
            retermed = true;
        }
        if (waited > LOCK_KILL_MS && !killed && proc_is(redis, "redis")) {
            fprintf(stderr,
                    "chainquiz: the previous embedded Redis (pid %d) of %s did not stop; "
                    "killing it\n",
                    (int)redis, dir);
            kill(redis, SIGKILL);
            killed = true;
        }
        if (waited > LOCK_WAIT_MS) {
            snprintf(err, errlen,
                     "the data folder %s is still locked by a previous run (Redis pid %d) after "
                     "%d ms",
                     dir, (int)redis, LOCK_WAIT_MS);
            goto out;
        }
        struct timespec nap = {0, 20 * 1000000L};
        nanosleep(&nap, NULL);
    }
    lock_write_pids(fd, getpid(), 0);
    e->lock_fd = fd;
    fd = -1;
    result = 0;
out:
    if (fd >= 0)
        close(fd);
    return result;
}

static void unlock_data_dir(struct cq_redis_embed *e)
{
    if (e->lock_fd < 0)
        return;
    close(e->lock_fd); /* the flock goes with the last descriptor */
    e->lock_fd = -1;
}

/* Where the Redis child keeps the data folder's lock. */
#define LOCK_CHILD_FD 3

/* Closes every descriptor from `first` on (in a child, before exec). */
static void close_fds_from(int first)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    if (!d) {
        struct rlimit rl;
        int max = !getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < 65536 ? (int)rl.rlim_cur : 65536;
        for (int fd = first; fd < max; fd++)
            close(fd);
        return;
    }
    int self = dirfd(d);
    while ((de = readdir(d))) {
        int fd = atoi(de->d_name);
        if (de->d_name[0] != '.' && fd >= first && fd != self)
            close(fd);
    }
    closedir(d);
}

/* Forks and execs redis-server on e->socket_path with its data in e->dir;
 * returns at once (the caller waits for its PING, or the store connects). */
static int spawn(struct cq_redis_embed *e, char *err, size_t errlen)
{
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
        /* Keep only stdio and the data folder's lock: a restart forks from a
         * running server, whose listening socket, clients and Redis
         * connection must not live on in Redis. */
        if (e->lock_fd >= 0 && e->lock_fd != LOCK_CHILD_FD)
            dup2(e->lock_fd, LOCK_CHILD_FD);
        close_fds_from(LOCK_CHILD_FD + 1);
        /* appendfsync always: Redis answers a write only once it is on disk
         * (it group-commits the writes of one event-loop turn), so a write
         * the store saw acknowledged survives a kill -9 of Redis or a power
         * cut. */
        execlp(e->program, e->program, "--port", "0", "--unixsocket", e->socket_path,
               "--unixsocketperm", "700", "--dir", e->dir, "--appendonly", "yes", "--appendfsync",
               "always", "--save", "", "--daemonize", "no", "--logfile", e->log_path, (char *)NULL);
        fprintf(stderr, "chainquiz: cannot run %s: %s\n", e->program, strerror(errno));
        _exit(127);
    }
    e->pid = pid;
    e->started_ms = mono_ms();
    lock_write_pids(e->lock_fd, parent, pid);
    return 0;
}

int cq_redis_embed_start(const char *program, const char *data_dir, int timeout_ms,
                         struct cq_redis_embed *e, char *err, size_t errlen)
{
    memset(e, 0, sizeof *e);
    e->pid = -1;
    e->lock_fd = -1;
    if (mkdir_p(data_dir) || !realpath(data_dir, e->dir)) {
        snprintf(err, errlen, "cannot create the data folder %s: %s", data_dir, strerror(errno));
        return -1;
    }
    if (strlen(e->dir) > 80) { /* sun_path is 108 bytes; the name takes up to 27 */
        snprintf(err, errlen, "the data folder path %s is too long for a Unix socket", e->dir);
        return -1;
    }
    if (strlen(program) >= sizeof e->program) {
        snprintf(err, errlen, "the redis-server path is too long");
        return -1;
    }
    snprintf(e->program, sizeof e->program, "%s", program);
    if (lock_data_dir(e->dir, e, err, errlen))
        return -1;
    remove_stale_sockets(e->dir);
    /* Lengths checked above; %.*s keeps the compiler sure of it. */
    snprintf(e->socket_path, sizeof e->socket_path, "%.*s/redis-%d.sock", 80, e->dir,
             (int)getpid());
    snprintf(e->log_path, sizeof e->log_path, "%.*s/redis.log", 1000, e->dir);
    if (spawn(e, err, errlen)) {
        unlock_data_dir(e);
        return -1;
    }
    pid_t pid = e->pid;

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
                         e->program);
            else
                snprintf(err, errlen, "the embedded Redis exited at start-up: %s",
                         tail[0] ? tail : "no log");
            unlock_data_dir(e);
            return -1;
        }
        if (!cq_store_ping(&t, 200, why, sizeof why))
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
    if (e->pid > 0) {
        kill(e->pid, SIGTERM);
        /* Redis flushes the AOF on SIGTERM; give it a few seconds, then insist. */
        for (int i = 0; i < 100 && e->pid > 0; i++) {
            if (waitpid(e->pid, NULL, WNOHANG) == e->pid) {
                e->pid = -1;
                break;
            }
            struct timespec nap = {0, 50 * 1000000L};
            nanosleep(&nap, NULL);
        }
        if (e->pid > 0) {
            kill(e->pid, SIGKILL);
            waitpid(e->pid, NULL, 0);
            e->pid = -1;
        }
        unlink(e->socket_path);
    }
    unlock_data_dir(e);
}

/* ---- supervision: a Redis that dies is started again ------------------- */

#define RESTART_FIRST_MS  100   /* first restart delay */
#define RESTART_MAX_MS    5000  /* back-off ceiling */
#define RESTART_STABLE_MS 30000 /* up this long: the next restart is quick again */

static void on_restart_timer(uv_timer_t *t)
{
    struct cq_redis_embed *e = t->data;
    char err[256];
    if (e->pid > 0 || !e->supervised)
        return;
    if (spawn(e, err, sizeof err)) {
        e->backoff_ms = e->backoff_ms * 2 > RESTART_MAX_MS ? RESTART_MAX_MS : e->backoff_ms * 2;
        cq_err_log("cannot restart the embedded Redis: %s; trying again in %d ms", err,
                   e->backoff_ms);
        uv_timer_start(&e->restart_timer, on_restart_timer, (uint64_t)e->backoff_ms, 0);
        return;
    }
    e->restarts++;
    cq_warn("restarted the embedded Redis (pid %d; %llu restart(s) so far)", (int)e->pid,
            (unsigned long long)e->restarts);
    if (e->on_restart)
        e->on_restart(e->ud);
}

static void on_sigchld(uv_signal_t *h, int signum)
{
    struct cq_redis_embed *e = h->data;
    int status;
    (void)signum;
    if (e->pid <= 0 || waitpid(e->pid, &status, WNOHANG) != e->pid)
        return; /* not ours, or still running */
    pid_t dead = e->pid;
    e->pid = -1;
    /* Stable for a while: start again fast; crashing in a loop: back off. */
    if (mono_ms() - e->started_ms > RESTART_STABLE_MS || !e->backoff_ms)
        e->backoff_ms = RESTART_FIRST_MS;
    else
        e->backoff_ms = e->backoff_ms * 2 > RESTART_MAX_MS ? RESTART_MAX_MS : e->backoff_ms * 2;
    char tail[400];
    log_tail(e->log_path, tail, sizeof tail);
    if (WIFSIGNALED(status))
        cq_err_log("the embedded Redis (pid %d) was killed by signal %d; restarting it in %d ms "
                   "(its log: %s)",
                   (int)dead, WTERMSIG(status), e->backoff_ms, tail);
    else
        cq_err_log("the embedded Redis (pid %d) exited with status %d; restarting it in %d ms "
                   "(its log: %s)",
                   (int)dead, WEXITSTATUS(status), e->backoff_ms, tail);
    uv_timer_start(&e->restart_timer, on_restart_timer, (uint64_t)e->backoff_ms, 0);
}

int cq_redis_embed_supervise(struct cq_redis_embed *e, uv_loop_t *loop, void (*on_restart)(void *),
                             void *ud)
{
    if (e->pid <= 0)
        return 0; /* not ours (an external Redis) */
    e->on_restart = on_restart;
    e->ud = ud;
    uv_signal_init(loop, &e->sigchld);
    uv_timer_init(loop, &e->restart_timer);
    e->sigchld.data = e->restart_timer.data = e;
    e->supervised = true;
    uv_signal_start(&e->sigchld, on_sigchld, SIGCHLD);
    /* It may have died before the watcher existed. */
    on_sigchld(&e->sigchld, SIGCHLD);
    return 0;
}

void cq_redis_embed_unsupervise(struct cq_redis_embed *e)
{
    if (!e->supervised)
        return;
    e->supervised = false;
    uv_signal_stop(&e->sigchld);
    uv_timer_stop(&e->restart_timer);
    uv_close((uv_handle_t *)&e->sigchld, NULL);
    uv_close((uv_handle_t *)&e->restart_timer, NULL);
}
