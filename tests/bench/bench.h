/* bench.h: chainquiz-bench, the load generator. What its files share.
 *
 * One process, one libuv loop, one lws context, many WebSocket client
 * connections: one host per room and N players per room. docs/performance.md
 * says how to run it and what it measures.
 */
#ifndef CQB_BENCH_H
#define CQB_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

/* ---- time ------------------------------------------------------------ */

int64_t cqb_now_ns(void);
double cqb_ms(int64_t ns);

/* ---- a cheap scanner for compact server messages (jscan.c) ----------- */

/* The raw value of a top-level key of a JSON object (no copy, no unescape);
 * NULL when absent or when the text is not an object. */
const char *cqb_jtop(const char *s, size_t n, const char *key, size_t *vlen);
bool cqb_jtop_int(const char *s, size_t n, const char *key, long long *out);
bool cqb_jtop_bool(const char *s, size_t n, const char *key, bool *out);
/* The message type, unquoted, into buf (truncated to cap - 1). */
bool cqb_jtop_type(const char *s, size_t n, char *buf, size_t cap);

/* ---- samples and percentiles (stats.c) ------------------------------- */

struct cqb_series {
    double *v;
    size_t n, cap;
    bool sorted;
};

void cqb_series_add(struct cqb_series *s, double v);
/* p in [0, 100]; nearest-rank; 0 when empty. Sorts on first use. */
double cqb_series_pct(struct cqb_series *s, double p);
double cqb_series_max(struct cqb_series *s);
double cqb_series_mean(const struct cqb_series *s);
void cqb_series_free(struct cqb_series *s);
/* {"n", "p50", "p95", "p99", "max", "mean", "min"}, in the samples' unit. */
json_t *cqb_series_json(struct cqb_series *s);

/* ---- processes (proc.c) ---------------------------------------------- */

struct cqb_proc_sample {
    bool ok;
    double cpu_s;  /* user + system, seconds */
    double wait_s; /* runnable but waiting for a CPU (/proc/PID/schedstat), seconds */
    double hwm_mb, rss_mb;
    unsigned threads;
};

/* Reads /proc/PID/stat and /proc/PID/status. */
struct cqb_proc_sample cqb_proc_read(pid_t pid);
/* Busy CPU seconds of the whole machine so far (all cores, /proc/stat). */
double cqb_machine_busy_s(void);
/* The 1-minute load average. */
double cqb_loadavg(void);
/* CPU seconds of the children of `pid` named `comm` (the embedded Redis). */
double cqb_proc_children_cpu(pid_t pid, const char *comm, pid_t *child);
/* The pid that listens on TCP `port` (IPv4 or IPv6), or -1. */
pid_t cqb_pid_by_port(int port);
/* A free TCP port on 127.0.0.1, or -1. */
int cqb_free_port(void);
/* A blocking HTTP GET; the body into buf (NUL-terminated). Returns the
 * status code, or -1. */
int cqb_http_get(const char *host, int port, const char *path, char *buf, size_t cap,
                 int timeout_ms);
/* The value of one Prometheus metric in a /metrics body; -1 if absent. */
double cqb_metric(const char *body, const char *name);

struct cqb_server {
    pid_t pid;
    int port;
    char dir[256]; /* private data dir and log */
    char log[300];
};

/* Starts the server with the open-file soft limit raised to the hard
 * limit, stdout/stderr to a log in a private temporary folder. argv[0]
 * is the binary; --port and --data-dir are added here. Waits for /readyz.
 * 0 on success; on failure err says why. */
int cqb_server_spawn(struct cqb_server *s, char *const *argv, int ready_timeout_ms, char *err,
                     size_t errlen);
/* SIGTERM, wait, SIGKILL if needed; removes the folder unless `keep`. */
void cqb_server_stop(struct cqb_server *s, bool keep);

/* ---- answers from the bank (answers.c) ------------------------------- */

struct cqb_bank; /* the bank's questions, when the bench can read the file */

/* Loads <content>/<any folder>/bank.json whose id is `bank_id`; NULL when
 * not found (the bench then answers without knowing what is right). */
struct cqb_bank *cqb_bank_load(const char *content_dir, const char *bank_id);
void cqb_bank_free(struct cqb_bank *b);

/* What a player sends for one question: the JSON of the `answer` field. */
struct cqb_plan {
    bool ready;
    char qtype[16];
    unsigned n_options;
    char *right;     /* the right answer (or a plausible one when unknown) */
    char *wrong;     /* a wrong answer */
    int right_known; /* 1: `right` is right; 0: nothing is right (poll); -1: unknown */
    long long lead_in_ms, remaining_ms, time_limit_ms, total;
    size_t frame_bytes; /* size of the question message */
};

/* Builds the plan from a `question` object (a message, or state.question). */
int cqb_plan_build(struct cqb_plan *p, const struct cqb_bank *bank, json_t *question,
                   uint64_t seed);
void cqb_plan_free(struct cqb_plan *p);

/* ---- random ----------------------------------------------------------- */

uint64_t cqb_mix(uint64_t x);
/* Uniform in [0, 1), from a hash of the three values. */
double cqb_unit(uint64_t seed, uint64_t a, uint64_t b);

#endif
