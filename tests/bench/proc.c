/* proc.c: the server process: spawning it, reading its CPU time and memory
 * from /proc, finding it by port, and a tiny blocking HTTP GET. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

/* ---- /proc ------------------------------------------------------------- */

static bool read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n > 0;
}

/* utime + stime of /proc/PID/stat, in seconds; ppid and comm on request. */
static bool stat_cpu(pid_t pid, double *cpu, pid_t *ppid, char *comm, size_t commcap)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (!read_file(path, buf, sizeof buf))
        return false;
    char *open = strchr(buf, '('), *close = strrchr(buf, ')');
    if (!open || !close)
        return false;
    if (comm && commcap) {
        size_t n = (size_t)(close - open - 1);
        if (n >= commcap)
            n = commcap - 1;
        memcpy(comm, open + 1, n);
        comm[n] = '\0';
    }
    /* after ")": state(3) ppid(4) ... utime(14) stime(15) */
    char *p = close + 2;
    unsigned long long v[16] = {0};
    int field = 3;
    char *save = NULL;
    for (char *tok = strtok_r(p, " ", &save); tok && field <= 15;
         tok = strtok_r(NULL, " ", &save), field++)
        if (field >= 4)
            v[field] = strtoull(tok, NULL, 10);
    if (ppid)
        *ppid = (pid_t)v[4];
    long hz = sysconf(_SC_CLK_TCK);
    *cpu = (double)(v[14] + v[15]) / (double)(hz > 0 ? hz : 100);
    return true;
}

struct cqb_proc_sample cqb_proc_read(pid_t pid)
{
    struct cqb_proc_sample s = {0};
    char path[64], buf[4096];
    if (pid <= 0 || !stat_cpu(pid, &s.cpu_s, NULL, NULL, 0))
        return s;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if (!read_file(path, buf, sizeof buf))
        return s;
    char *l;
    if ((l = strstr(buf, "VmHWM:")))
        s.hwm_mb = strtod(l + 6, NULL) / 1024.0;
    if ((l = strstr(buf, "VmRSS:")))
        s.rss_mb = strtod(l + 6, NULL) / 1024.0;
    if ((l = strstr(buf, "Threads:")))
        s.threads = (unsigned)strtoul(l + 8, NULL, 10);
    snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
    unsigned long long run_ns, wait_ns;
    if (read_file(path, buf, sizeof buf) && sscanf(buf, "%llu %llu", &run_ns, &wait_ns) == 2)
        s.wait_s = (double)wait_ns / 1e9;
    s.ok = true;
    return s;
}

double cqb_machine_busy_s(void)
{
    char buf[512];
    unsigned long long v[8] = {0};
    if (!read_file("/proc/stat", buf, sizeof buf) || strncmp(buf, "cpu ", 4))
        return 0.0;
    /* user nice system idle iowait irq softirq steal */
    if (sscanf(buf + 4, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
               &v[4], &v[5], &v[6], &v[7]) < 7)
        return 0.0;
    long hz = sysconf(_SC_CLK_TCK);
    return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)(hz > 0 ? hz : 100);
}

double cqb_loadavg(void)
{
    char buf[128];
    return read_file("/proc/loadavg", buf, sizeof buf) ? strtod(buf, NULL) : -1.0;
}

double cqb_proc_children_cpu(pid_t pid, const char *comm, pid_t *child)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    double sum = 0.0;
    if (!d)
        return 0.0;
    while ((e = readdir(d))) {
        char name[64];
        double cpu;
        pid_t ppid, p = (pid_t)atoi(e->d_name);
        if (p <= 0 || !stat_cpu(p, &cpu, &ppid, name, sizeof name))
            continue;
        if (ppid == pid && !strcmp(name, comm)) {
            sum += cpu;
            if (child)
                *child = p;
        }
    }
    closedir(d);
    return sum;
}

/* The inode of the socket listening on `port`, from /proc/net/tcp{,6}. */
static unsigned long listen_inode(int port)
{
    const char *files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    for (int f = 0; f < 2; f++) {
        FILE *fp = fopen(files[f], "r");
        char line[512];
        if (!fp)
            continue;
        while (fgets(line, sizeof line, fp)) {
            char local[128], remote[128];
            unsigned st;
            unsigned long inode;
            /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
            if (sscanf(line, "%*s %127s %127s %x %*s %*s %*s %*s %*s %lu", local, remote, &st,
                       &inode) != 4)
                continue;
            char *colon = strrchr(local, ':');
            if (st == 0x0A && colon && strtol(colon + 1, NULL, 16) == port) {
                fclose(fp);
                return inode;
            }
        }
        fclose(fp);
    }
    return 0;
}

pid_t cqb_pid_by_port(int port)
{
    unsigned long inode = listen_inode(port);
    char want[64];
    pid_t found = -1;
    if (!inode)
        return -1;
    snprintf(want, sizeof want, "socket:[%lu]", inode);
    DIR *d = opendir("/proc");
    struct dirent *e;
    if (!d)
        return -1;
    while (found < 0 && (e = readdir(d))) {
        pid_t p = (pid_t)atoi(e->d_name);
        char fddir[64];
        if (p <= 0)
            continue;
        snprintf(fddir, sizeof fddir, "/proc/%d/fd", (int)p);
        DIR *fds = opendir(fddir);
        if (!fds)
            continue;
        struct dirent *fe;
        while ((fe = readdir(fds))) {
            char path[400], link[128];
            snprintf(path, sizeof path, "%s/%s", fddir, fe->d_name);
            ssize_t n = readlink(path, link, sizeof link - 1);
            if (n <= 0)
                continue;
            link[n] = '\0';
            if (!strcmp(link, want)) {
                found = p;
                break;
            }
        }
        closedir(fds);
    }
    closedir(d);
    return found;
}

/* ---- sockets -------------------------------------------------------------- */

int cqb_free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    if (fd < 0)
        return -1;
    if (!bind(fd, (struct sockaddr *)&a, sizeof a) && !getsockname(fd, (struct sockaddr *)&a, &len))
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

int cqb_http_get(const char *host, int port, const char *path, char *buf, size_t cap,
                 int timeout_ms)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    char req[512];
    int fd, status = -1;
    size_t got = 0;
    int64_t deadline = cqb_now_ns() + (int64_t)timeout_ms * 1000000;

    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return -1;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) && errno != EINPROGRESS)
        goto out;
    struct pollfd pfd = {fd, POLLOUT, 0};
    if (poll(&pfd, 1, timeout_ms) != 1)
        goto out;
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) || soerr)
        goto out;
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n",
                     path, host, port);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
        goto out;
    for (;;) {
        int left = (int)((deadline - cqb_now_ns()) / 1000000);
        pfd.events = POLLIN;
        if (left <= 0 || poll(&pfd, 1, left) != 1)
            break;
        ssize_t r = recv(fd, buf + got, cap - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
        if (got == cap - 1)
            break;
    }
    buf[got] = '\0';
    if (got > 12 && !strncmp(buf, "HTTP/1.", 7))
        status = atoi(buf + 9);
    char *body = strstr(buf, "\r\n\r\n");
    if (body)
        memmove(buf, body + 4, strlen(body + 4) + 1);
out:
    close(fd);
    return status;
}

double cqb_metric(const char *body, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = body; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (!strncmp(p, name, n) && (p[n] == ' ' || p[n] == '{')) {
            const char *sp = strchr(p + n, ' ');
            return sp ? strtod(sp + 1, NULL) : -1.0;
        }
    }
    return -1.0;
}

/* ---- spawning -------------------------------------------------------------- */

int cqb_server_spawn(struct cqb_server *s, char *const *argv, int ready_timeout_ms, char *err,
                     size_t errlen)
{
    char port[16], data[300];
    char *args[128];
    int n = 0;

    memset(s, 0, sizeof *s);
    s->pid = -1;
    snprintf(s->dir, sizeof s->dir, "/tmp/cqbench.XXXXXX");
    if (!mkdtemp(s->dir)) {
        snprintf(err, errlen, "mkdtemp: %s", strerror(errno));
        return -1;
    }
    snprintf(s->log, sizeof s->log, "%s/server.log", s->dir);
    snprintf(data, sizeof data, "%s/data", s->dir);
    s->port = cqb_free_port();
    if (s->port < 0) {
        snprintf(err, errlen, "no free port on 127.0.0.1");
        return -1;
    }
    snprintf(port, sizeof port, "%d", s->port);
    while (argv[n] && n < 120) {
        args[n] = argv[n];
        n++;
    }
    args[n++] = "--port";
    args[n++] = port;
    args[n++] = "--data-dir";
    args[n++] = data;
    args[n] = NULL;

    if (access(args[0], X_OK)) {
        snprintf(err, errlen, "server binary %s: %s (build it: scripts/build build)", args[0],
                 strerror(errno));
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* The server goes when we go, whatever happens to us. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        struct rlimit rl;
        if (!getrlimit(RLIMIT_NOFILE, &rl)) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
        }
        int fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(args[0], args);
        fprintf(stderr, "exec %s: %s\n", args[0], strerror(errno));
        _exit(127);
    }
    s->pid = pid;
    int64_t deadline = cqb_now_ns() + (int64_t)ready_timeout_ms * 1000000;
    char body[512];
    while (cqb_now_ns() < deadline) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            s->pid = -1;
            snprintf(err, errlen, "the server exited at start (status %d); see %s", status, s->log);
            return -1;
        }
        if (cqb_http_get("127.0.0.1", s->port, "/readyz", body, sizeof body, 500) == 200)
            return 0;
        usleep(50000);
    }
    snprintf(err, errlen, "the server was not ready within %d ms; see %s", ready_timeout_ms,
             s->log);
    return -1;
}

/* rm -r, without following links */
static void rm_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st))
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            char sub[1024];
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            rm_tree(sub);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

void cqb_server_stop(struct cqb_server *s, bool keep)
{
    if (s->pid > 0) {
        int status;
        kill(s->pid, SIGTERM);
        for (int i = 0; i < 200; i++) {
            if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
                s->pid = -1;
                break;
            }
            usleep(50000);
        }
        if (s->pid > 0) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &status, 0);
            s->pid = -1;
        }
    }
    if (!keep && s->dir[0])
        rm_tree(s->dir);
}
