/* idle_cost: what N idle WebSocket connections cost the server's loop.
 * Opens N connections (each reads `welcome` and then stays silent, as a
 * player's phone between questions does), then samples the server's CPU
 * time from /proc over SECONDS and prints it beside the same with none.
 *   cq-idle-cost PORT SERVER_PID N SECONDS
 * The server must allow N connections (ulimit -n, --max-conns-per-ip). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "wsclient.h"

static double cpu_seconds(int pid)
{
    char path[64], buf[1024];
    unsigned long ut = 0, st = 0;
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(buf, sizeof buf, f)) {
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    char *p = strrchr(buf, ')');
    /* fields after ")": state(3) ... utime(14) stime(15) */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double sample(int pid, int seconds)
{
    double a = cpu_seconds(pid);
    sleep((unsigned)seconds);
    return cpu_seconds(pid) - a;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: cq-idle-cost PORT SERVER_PID N SECONDS\n");
        return 2;
    }
    int port = atoi(argv[1]), pid = atoi(argv[2]), n = atoi(argv[3]), secs = atoi(argv[4]);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    double idle0 = sample(pid, secs);
    struct cq_ws *ws = calloc((size_t)n, sizeof *ws);
    int open = 0;
    for (int i = 0; i < n; i++) {
        if (cq_ws_connect(&ws[i], port, "/ws", "chainquiz.v1", NULL, NULL))
            break;
        json_t *w = cq_ws_expect(&ws[i], "welcome", 5000);
        if (!w)
            break;
        json_decref(w);
        open++;
    }
    double idle_n = sample(pid, secs);
    printf("connections %d/%d\n", open, n);
    printf("server CPU over %d s: %.3f s with none, %.3f s with %d idle (%.1f us/s per "
           "connection)\n",
           secs, idle0, idle_n, open, open ? (idle_n - idle0) / secs / open * 1e6 : 0.0);
    for (int i = 0; i < open; i++)
        cq_ws_free(&ws[i]);
    free(ws);
    return open == n ? 0 : 1;
}
