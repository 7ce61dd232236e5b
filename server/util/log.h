/* log.h: one line per event on stderr, plain or JSON lines.
 *
 * The level and format are process-wide and set once at start-up, before
 * the loop runs (the only file-static state of the server). Never log a
 * token: callers pass PINs and player ids, not secrets.
 */
#ifndef CQ_LOG_H
#define CQ_LOG_H

enum cq_log_level { CQ_LOG_ERROR = 0, CQ_LOG_WARN, CQ_LOG_INFO, CQ_LOG_DEBUG };

void cq_log_setup(enum cq_log_level level, int json);
int cq_log_level_from_name(const char *name); /* -1 when unknown */
int cq_log_enabled(enum cq_log_level level);
void cq_log(enum cq_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define cq_err_log(...) cq_log(CQ_LOG_ERROR, __VA_ARGS__)
#define cq_warn(...)    cq_log(CQ_LOG_WARN, __VA_ARGS__)
#define cq_info(...)    cq_log(CQ_LOG_INFO, __VA_ARGS__)
#define cq_debug(...)   cq_log(CQ_LOG_DEBUG, __VA_ARGS__)

#endif
