/* flood.c: `cq-flood`, a measurement tool (not a test): how long another
 * client's ping takes while many connections from one address send a
 * message that costs the server work (docs/performance.md).
 *
 *   cq-flood PORT CONNS RATE SECONDS [TYPE]
 *
 * CONNS connections claim the client address 203.0.113.1 and each sends
 * TYPE (default list_banks) RATE times a second, reading and discarding the
 * replies; one more connection, as 203.0.113.2, pings 10 times a second
 * and reports the round trips. The server must trust loopback as a proxy
 * (--trusted-proxies 127.0.0.1) so that the two addresses are told apart.
 * Loopback only. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wsclient.h"

#define MAX_PINGS 100000

static int port, seconds;
static double rtt[MAX_PINGS];
static int n_rtt, lost;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static void *pinger(void *arg)
{
    (void)arg;
    struct cq_ws ws;
    const char *xff[] = {"X-Forwarded-For: 203.0.113.2", NULL};
    if (cq_ws_connect_headers(&ws, port, xff, NULL)) {
        fprintf(stderr, "pinger: cannot connect\n");
        exit(2);
    }
    json_decref(cq_ws_expect(&ws, "welcome", 5000));
    double end = now_s() + seconds;
    while (now_s() < end && n_rtt < MAX_PINGS) {
        double t0 = now_s();
        cq_ws_send_text(&ws, "{\"type\":\"ping\"}");
        json_t *p = cq_ws_expect(&ws, "pong", 10000);
        if (!p) {
            lost++;
            break;
        }
        json_decref(p);
        rtt[n_rtt++] = (now_s() - t0) * 1000.0;
        sleep_s(0.1);
    }
    cq_ws_free(&ws);
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: cq-flood PORT CONNS RATE SECONDS [TYPE]\n");
        return 2;
    }
    port = atoi(argv[1]);
    int conns = atoi(argv[2]);
    double rate = atof(argv[3]);
    seconds = atoi(argv[4]);
    char msg[128];
    snprintf(msg, sizeof msg, "{\"type\":\"%s\"}", argc > 5 ? argv[5] : "list_banks");
    struct cq_ws *ws = calloc((size_t)conns, sizeof *ws);
    const char *xff[] = {"X-Forwarded-For: 203.0.113.1", NULL};
    for (int i = 0; i < conns; i++)
        if (cq_ws_connect_headers(&ws[i], port, xff, NULL)) {
            fprintf(stderr, "connection %d refused\n", i);
            return 2;
        }
    pthread_t th;
    pthread_create(&th, NULL, pinger, NULL);
    static char sink[1 << 16];
    unsigned long long sent = 0, bytes = 0;
    double start = now_s(), end = start + seconds, credit = 0;
    const double tick = 0.05;
    while (now_s() < end) {
        double t0 = now_s();
        credit += rate * tick;
        for (; credit >= 1.0; credit -= 1.0)
            for (int i = 0; i < conns; i++) {
                cq_ws_send_text(&ws[i], msg);
                sent++;
            }
        for (int i = 0; i < conns; i++) {
            ssize_t n;
            while ((n = recv(ws[i].fd, sink, sizeof sink, MSG_DONTWAIT)) > 0)
                bytes += (unsigned long long)n;
        }
        double left = tick - (now_s() - t0);
        if (left > 0)
            sleep_s(left);
    }
    pthread_join(th, NULL);
    qsort(rtt, (size_t)n_rtt, sizeof rtt[0], cmp);
    double el = now_s() - start;
    printf("flood: %d connections x %.0f %s/s for %.1f s: %llu sent, %.1f MB received\n", conns,
           rate, argc > 5 ? argv[5] : "list_banks", el, sent, (double)bytes / 1e6);
    if (n_rtt)
        printf("ping from another address: %d pings, median %.1f ms, p95 %.1f ms, max %.1f ms%s\n",
               n_rtt, rtt[n_rtt / 2], rtt[(int)(n_rtt * 0.95)], rtt[n_rtt - 1],
               lost ? ", one lost (10 s)" : "");
    for (int i = 0; i < conns; i++)
        cq_ws_free(&ws[i]);
    free(ws);
    return 0;
}
