/* log.c: stderr logging. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static struct {
    enum cq_log_level level;
    int json;
} log_cfg = {CQ_LOG_INFO, 0};

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void cq_log_setup(enum cq_log_level level, int json)
{
    log_cfg.level = level;
    log_cfg.json = json;
}

int cq_log_level_from_name(const char *name)
{
    for (int i = 0; i <= CQ_LOG_DEBUG; i++)
        if (!strcmp(level_names[i], name))
            return i;
    return -1;
}

int cq_log_enabled(enum cq_log_level level)
{
    return level <= log_cfg.level;
}

static void json_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
}

void cq_log(enum cq_log_level level, const char *fmt, ...)
{
    char msg[1024], ts[40];
    struct timespec now;
    struct tm tm;
    va_list ap;

    if (!cq_log_enabled(level))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = '\0';
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    if (log_cfg.json) {
        fprintf(stderr, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"msg\":\"", ts,
                now.tv_nsec / 1000000, level_names[level]);
        json_escape(stderr, msg);
        fputs("\"}\n", stderr);
    } else {
        fprintf(stderr, "%s.%03ldZ %-5s %s\n", ts, now.tv_nsec / 1000000, level_names[level], msg);
    }
}
