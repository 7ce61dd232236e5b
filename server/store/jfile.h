/* jfile.h: the journal file, the store's writes kept on disk while Redis is
 * away (docs/redis.md).
 *
 * One file, DATA/journal.resp, holding Redis commands as the RESP bytes
 * hiredis formats: a write is appended and fdatasync'd before anything that
 * depends on it is acknowledged, and the file is read back into Redis at the
 * next start-up, before the games' logs are read. The data folder is locked
 * (flock on the folder itself) while a jfile is open: one server per folder,
 * whichever Redis it uses. Plain POSIX, no hiredis: the parser below is
 * unit-tested with torn files. Who owns what: the store owns the open jfile
 * (main opens it and hands it over); entries are borrowed during a call.
 */
#ifndef CQ_JFILE_H
#define CQ_JFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define CQ_JFILE_NAME "journal.resp"

struct cq_jfile {
    int dir_fd; /* the data folder, flock'd */
    int fd;     /* the file, O_APPEND */
    size_t bytes;
    char path[4200];
    char tmp_path[4210];
};

/* Creates the folder when missing, locks it, opens (or creates) the file.
 * 0, or -1 with one line in `err` (a folder in use by another server says so). */
int cq_jfile_open(struct cq_jfile *f, const char *dir, char *err, size_t errlen);
void cq_jfile_close(struct cq_jfile *f);

/* Appends `n` buffers and waits for the disk (fdatasync). 0, or -1 with
 * errno set; after an error the file may hold part of the batch, which the
 * parser below treats as a torn tail when it is the end of the file. */
int cq_jfile_append(struct cq_jfile *f, const struct iovec *iov, size_t n);
/* Replaces the whole file by `n` buffers, atomically (a new file, synced,
 * renamed over the old, the folder synced). 0, or -1 with errno set. */
int cq_jfile_rewrite(struct cq_jfile *f, const struct iovec *iov, size_t n);
/* Empties the file: everything it held is in Redis. */
int cq_jfile_clear(struct cq_jfile *f);
/* Reads the whole file into a malloc'd buffer (`*len` bytes; NULL when empty). */
int cq_jfile_read(struct cq_jfile *f, char **buf, size_t *len);

/* Walks the complete RESP commands (arrays of bulk strings) at the start of
 * `buf`: `cb` gets each command's bytes. Returns the number of bytes they
 * take; the rest is a torn tail (a write cut short by a crash or a power
 * cut: never synced, so never acknowledged) or, when `*bad` is set, bytes
 * that are not RESP at all. */
typedef int (*cq_jfile_cmd_cb)(void *ud, const char *cmd, size_t len);
size_t cq_jfile_parse(const char *buf, size_t len, cq_jfile_cmd_cb cb, void *ud, bool *bad);

#endif
