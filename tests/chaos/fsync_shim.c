/* fsync_shim.c: an LD_PRELOAD library for redis-server that records, for
 * every regular file it fsyncs or fdatasyncs, the file's size at that sync:
 * what a power cut would leave of it. The chaos suite (tests/chaos) truncates
 * each append-only file to that size after a kill -9, to emulate losing the
 * page cache. One side file per synced file, named DEV-INODE (so a file
 * synced under a temporary name and renamed keeps its record), holding the
 * size in decimal, in the folder $CQ_FSYNC_DIR. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void note(int fd)
{
    const char *dir = getenv("CQ_FSYNC_DIR");
    struct stat st;
    char path[512], tmp[560], line[32];
    if (!dir || fstat(fd, &st) || !S_ISREG(st.st_mode))
        return;
    snprintf(path, sizeof path, "%s/%llu-%llu", dir, (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    snprintf(tmp, sizeof tmp, "%s.%ld", path, (long)syscall(SYS_gettid));
    int n = snprintf(line, sizeof line, "%lld\n", (long long)st.st_size);
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0)
        return;
    if (write(out, line, (size_t)n) != n) {
        close(out);
        unlink(tmp);
        return;
    }
    close(out);
    rename(tmp, path);
}

int fsync(int fd)
{
    static int (*real)(int);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "fsync");
    int r = real(fd);
    if (r == 0)
        note(fd);
    return r;
}

int fdatasync(int fd)
{
    static int (*real)(int);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "fdatasync");
    int r = real(fd);
    if (r == 0)
        note(fd);
    return r;
}
