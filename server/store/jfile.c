/* jfile.c: the journal file (jfile.h). */
#include "jfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define IOV_CHUNK 512 /* below IOV_MAX (1024 on Linux) */

int cq_jfile_open(struct cq_jfile *f, const char *dir, char *err, size_t errlen)
{
    struct stat st;
    memset(f, 0, sizeof *f);
    f->dir_fd = f->fd = -1;
    if (mkdir(dir, 0700) && errno != EEXIST) {
        snprintf(err, errlen, "cannot create the data folder %s: %s", dir, strerror(errno));
        return -1;
    }
    f->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (f->dir_fd < 0) {
        snprintf(err, errlen, "cannot open the data folder %s: %s", dir, strerror(errno));
        return -1;
    }
    if (flock(f->dir_fd, LOCK_EX | LOCK_NB)) {
        snprintf(err, errlen,
                 errno == EWOULDBLOCK
                     ? "the data folder %s is in use by another chainquiz server (its journal "
                       "file); give each server its own --data-dir"
                     : "cannot lock the data folder %s: %s",
                 dir, strerror(errno));
        goto fail;
    }
    snprintf(f->path, sizeof f->path, "%s/%s", dir, CQ_JFILE_NAME);
    snprintf(f->tmp_path, sizeof f->tmp_path, "%s.tmp", f->path);
    f->fd = open(f->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (f->fd < 0 || fstat(f->fd, &st)) {
        snprintf(err, errlen, "cannot open %s: %s", f->path, strerror(errno));
        goto fail;
    }
    f->bytes = (size_t)st.st_size;
    return 0;
fail:
    cq_jfile_close(f);
    return -1;
}

void cq_jfile_close(struct cq_jfile *f)
{
    if (f->fd >= 0)
        close(f->fd);
    if (f->dir_fd >= 0)
        close(f->dir_fd); /* the lock goes with it */
    f->fd = f->dir_fd = -1;
}

/* Writes every byte of `iov` to `fd` (writev may stop short). */
static int write_all(int fd, const struct iovec *iov, size_t n, size_t *written)
{
    struct iovec cur[IOV_CHUNK];
    *written = 0;
    for (size_t i = 0; i < n;) {
        size_t k = n - i < IOV_CHUNK ? n - i : IOV_CHUNK;
        memcpy(cur, iov + i, k * sizeof *cur);
        size_t first = 0;
        while (first < k) {
            ssize_t w = writev(fd, cur + first, (int)(k - first));
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                return -1;
            }
            *written += (size_t)w;
            size_t left = (size_t)w;
            while (first < k && left >= cur[first].iov_len)
                left -= cur[first++].iov_len;
            if (first < k) {
                cur[first].iov_base = (char *)cur[first].iov_base + left;
                cur[first].iov_len -= left;
            }
        }
        i += k;
    }
    return 0;
}

int cq_jfile_append(struct cq_jfile *f, const struct iovec *iov, size_t n)
{
    size_t w = 0;
    int r = write_all(f->fd, iov, n, &w);
    f->bytes += w;
    if (r || fdatasync(f->fd))
        return -1;
    return 0;
}

int cq_jfile_rewrite(struct cq_jfile *f, const struct iovec *iov, size_t n)
{
    size_t w = 0;
    int fd = open(f->tmp_path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    if (write_all(fd, iov, n, &w) || fdatasync(fd) || rename(f->tmp_path, f->path) ||
        fsync(f->dir_fd)) {
        int e = errno;
        close(fd);
        unlink(f->tmp_path);
        errno = e;
        return -1;
    }
    close(f->fd);
    f->fd = fd;
    f->bytes = w;
    return 0;
}

int cq_jfile_clear(struct cq_jfile *f)
{
    if (ftruncate(f->fd, 0))
        return -1;
    f->bytes = 0;
    return 0;
}

int cq_jfile_read(struct cq_jfile *f, char **buf, size_t *len)
{
    struct stat st;
    *buf = NULL;
    *len = 0;
    if (fstat(f->fd, &st))
        return -1;
    if (!st.st_size)
        return 0;
    char *b = malloc((size_t)st.st_size);
    if (!b)
        return -1;
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = pread(f->fd, b + got, (size_t)st.st_size - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break; /* shorter than fstat said: what was read */
        got += (size_t)r;
    }
    *buf = b;
    *len = got;
    return 0;
}

/* A decimal after `c` ('*' or '$') ending in CRLF at `buf[*at]`; -1: torn,
 * -2: not RESP. */
static long long resp_number(const char *buf, size_t len, size_t *at, char c)
{
    size_t i = *at;
    long long v = 0;
    if (i >= len)
        return -1;
    if (buf[i] != c)
        return -2;
    i++;
    size_t digits = 0;
    while (i < len && buf[i] >= '0' && buf[i] <= '9') {
        if (v > (LLONG_MAX - 9) / 10)
            return -2;
        v = v * 10 + (buf[i] - '0');
        i++;
        digits++;
    }
    if (i + 1 >= len)
        return -1;
    if (!digits || buf[i] != '\r' || buf[i + 1] != '\n')
        return -2;
    *at = i + 2;
    return v;
}

size_t cq_jfile_parse(const char *buf, size_t len, cq_jfile_cmd_cb cb, void *ud, bool *bad)
{
    size_t done = 0;
    *bad = false;
    while (done < len) {
        size_t at = done;
        long long n = resp_number(buf, len, &at, '*');
        if (n == -1)
            return done;
        if (n < 1 || n > 1024 * 1024) {
            *bad = true;
            return done;
        }
        for (long long i = 0; i < n; i++) {
            long long bl = resp_number(buf, len, &at, '$');
            if (bl == -1)
                return done;
            if (bl < 0) {
                *bad = true;
                return done;
            }
            if ((unsigned long long)bl > len || at + (size_t)bl + 2 > len)
                return done; /* torn */
            if (buf[at + (size_t)bl] != '\r' || buf[at + (size_t)bl + 1] != '\n') {
                *bad = true;
                return done;
            }
            at += (size_t)bl + 2;
        }
        if (cb && cb(ud, buf + done, at - done))
            return done;
        done = at;
    }
    return done;
}
