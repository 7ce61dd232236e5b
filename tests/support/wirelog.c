/* wirelog.c: see wirelog.h. A file per process: Criterion runs each test
 * in its own, and O_APPEND keeps whole lines when several write at once. */
#include "wirelog.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

void cq_wire_log(const void *msg, size_t n)
{
    static const char *dir;
    static bool looked;
    char path[512];
    if (!looked) {
        dir = getenv("CQ_WIRE_LOG_DIR");
        looked = true;
    }
    if (!dir || !dir[0] || memchr(msg, '\n', n))
        return; /* compact JSON has no raw newline; one that does is not ours to split */
    snprintf(path, sizeof path, "%s/wire-%d.jsonl", dir, (int)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    struct iovec iov[2] = {{(void *)(uintptr_t)msg, n}, {"\n", 1}};
    if (writev(fd, iov, 2) < 0)
        fprintf(stderr, "wirelog: cannot log to %s\n", path);
    close(fd);
}
