/* harness.h: what every integration test uses to run the real thing.
 *
 * Starts a private redis-server and the real `chainquiz` on free loopback
 * ports, each in a fresh temporary folder, waits until both answer, and
 * stops both (children also die with the test process: PR_SET_PDEATHSIG).
 */
#ifndef CQ_HARNESS_H
#define CQ_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct cq_harness {
    pid_t redis_pid, server_pid;
    int redis_port, http_port;
    char dir[256];      /* temporary folder, removed by stop */
    char log_path[300]; /* the server's stderr */
    unsigned nofile;    /* when set: the server's open-file limit (soft and hard) */
    /* When set (before cq_harness_start_redis*): the program run instead of
     * redis-server, and more arguments after the harness's own. */
    const char *redis_program;
    const char *const *redis_args;
};

int cq_free_port(void);
/* Starts redis-server (unless `no_redis`) then chainquiz with `--redis` set to
 * it, the test content, and `extra` arguments (NULL-terminated, may be NULL). */
int cq_harness_start(struct cq_harness *h, bool no_redis, const char *const *extra);
/* Starts only chainquiz with exactly `args` (plus --port/--bind); returns its
 * pid without waiting for readiness. */
pid_t cq_harness_spawn(struct cq_harness *h, const char *const *args);
int cq_harness_start_redis(struct cq_harness *h);
/* Starts (again) on a given port, with the same folder and append-only file. */
int cq_harness_start_redis_on(struct cq_harness *h, int port);
void cq_harness_stop_redis(struct cq_harness *h);
/* Starts a replica of the harness's Redis on a free port (`*port`), in the
 * test's folder, and waits until the primary has it online; its pid, -1. */
pid_t cq_harness_start_replica(struct cq_harness *h, int *port);
int cq_harness_start_server(struct cq_harness *h, const char *const *extra);
void cq_harness_stop(struct cq_harness *h);
/* Waits for a child to exit; its exit status (or -1 on timeout). */
int cq_harness_wait(pid_t pid, int timeout_ms);

/* How many times `needle` stands in the server's log (its first MiB). */
int cq_log_count(const struct cq_harness *h, const char *needle);

/* A child of `parent` whose command name is `comm`; 0 when none. */
pid_t cq_child_named(pid_t parent, const char *comm);

/* A blocking HTTP GET on loopback: the status, body in `body`. */
int cq_http_get(int port, const char *path, char *body, size_t cap);
/* Runs a Redis command on the harness's Redis; reply as text in `out`. */
int cq_redis_cmd(struct cq_harness *h, char *out, size_t cap, const char *fmt, ...);

#endif
