/* wsclient.c: blocking RFC 6455 client for tests. */
#define _GNU_SOURCE /* memmem */
#include "wsclient.h"
#include "wirelog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_all(int fd, const void *p, size_t n)
{
    const unsigned char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads more bytes into the buffer; 0 on data, -1 on close/error, 1 on timeout. */
static int fill(struct cq_ws *ws, int timeout_ms)
{
    struct pollfd pfd = {ws->fd, POLLIN, 0};
    int r = poll(&pfd, 1, timeout_ms < 0 ? 0 : timeout_ms);
    if (r == 0)
        return 1;
    if (r < 0)
        return errno == EINTR ? 1 : -1;
    if (ws->cap - ws->len < 65536) {
        size_t ncap = ws->cap ? ws->cap * 2 : 131072;
        unsigned char *nb = realloc(ws->buf, ncap);
        if (!nb)
            return -1;
        ws->buf = nb;
        ws->cap = ncap;
    }
    ssize_t n = recv(ws->fd, ws->buf + ws->len, ws->cap - ws->len, 0);
    if (n <= 0)
        return -1;
    ws->len += (size_t)n;
    return 0;
}

static int ws_connect(struct cq_ws *ws, int port, const char *path, const char *subprotocol,
                      const char *origin, int *status, int rcvbuf, const char *const *headers,
                      const char *from)
{
    struct sockaddr_in sa = {0};
    char req[4096];
    memset(ws, 0, sizeof *ws);
    if (status)
        *status = 0;
    ws->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (ws->fd < 0)
        return -1;
    if (rcvbuf)
        setsockopt(ws->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    int one = 1;
    setsockopt(ws->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (from) {
        /* A chosen loopback source address: many clients behind one NAT. */
        struct sockaddr_in src = {.sin_family = AF_INET};
        if (inet_pton(AF_INET, from, &src.sin_addr) != 1 ||
            bind(ws->fd, (struct sockaddr *)&src, sizeof src))
            goto fail;
    }
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(ws->fd, (struct sockaddr *)&sa, sizeof sa))
        goto fail;
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n",
                     path, port);
    if (subprotocol)
        n += snprintf(req + n, sizeof req - (size_t)n, "Sec-WebSocket-Protocol: %s\r\n",
                      subprotocol);
    if (origin)
        n += snprintf(req + n, sizeof req - (size_t)n, "Origin: %s\r\n", origin);
    for (; headers && *headers && n < (int)sizeof req; headers++)
        n += snprintf(req + n, sizeof req - (size_t)n, "%s\r\n", *headers);
    if (n < (int)sizeof req)
        n += snprintf(req + n, sizeof req - (size_t)n, "\r\n");
    if (n >= (int)sizeof req || write_all(ws->fd, req, (size_t)n))
        goto fail;
    int64_t until = now_ms() + 5000;
    for (;;) {
        unsigned char *end = ws->len ? memmem(ws->buf, ws->len, "\r\n\r\n", 4) : NULL;
        if (end) {
            int code = 0;
            sscanf((char *)ws->buf, "HTTP/1.1 %d", &code);
            if (status)
                *status = code;
            size_t hl = (size_t)(end - ws->buf) + 4;
            memmove(ws->buf, ws->buf + hl, ws->len - hl);
            ws->len -= hl;
            if (code != 101)
                goto fail;
            return 0;
        }
        int64_t left = until - now_ms();
        if (left <= 0 || fill(ws, (int)left) < 0)
            goto fail;
    }
fail:
    cq_ws_free(ws);
    return -1;
}

int cq_ws_connect(struct cq_ws *ws, int port, const char *path, const char *subprotocol,
                  const char *origin, int *status)
{
    return ws_connect(ws, port, path, subprotocol, origin, status, 0, NULL, NULL);
}

int cq_ws_connect_from(struct cq_ws *ws, int port, const char *from)
{
    return ws_connect(ws, port, "/ws", "chainquiz.v1", NULL, NULL, 0, NULL, from);
}

int cq_ws_connect_slow(struct cq_ws *ws, int port, int rcvbuf)
{
    return ws_connect(ws, port, "/ws", "chainquiz.v1", NULL, NULL, rcvbuf, NULL, NULL);
}

int cq_ws_connect_headers(struct cq_ws *ws, int port, const char *const *headers, int *status)
{
    return ws_connect(ws, port, "/ws", "chainquiz.v1", NULL, status, 0, headers, NULL);
}

void cq_ws_free(struct cq_ws *ws)
{
    if (ws->fd >= 0)
        close(ws->fd);
    ws->fd = -1;
    free(ws->buf);
    ws->buf = NULL;
    ws->len = ws->cap = 0;
}

/* One masked frame into `out` (room for n + 14 bytes); its length. */
static size_t encode_frame(unsigned char *out, int opcode, bool fin, const void *payload, size_t n)
{
    size_t h = 0;
    static const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
    out[h++] = (unsigned char)((fin ? 0x80 : 0) | (opcode & 0x0f));
    if (n < 126) {
        out[h++] = (unsigned char)(0x80 | n);
    } else if (n < 65536) {
        out[h++] = 0x80 | 126;
        out[h++] = (unsigned char)(n >> 8);
        out[h++] = (unsigned char)n;
    } else {
        out[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            out[h++] = (unsigned char)((uint64_t)n >> (8 * i));
    }
    memcpy(out + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < n; i++)
        out[h + i] = ((const unsigned char *)payload)[i] ^ mask[i % 4];
    return h + n;
}

int cq_ws_send_frame(struct cq_ws *ws, int opcode, bool fin, const void *payload, size_t n)
{
    unsigned char *frame = malloc(n + 14);
    if (!frame)
        return -1;
    int r = write_all(ws->fd, frame, encode_frame(frame, opcode, fin, payload, n));
    free(frame);
    return r;
}

int cq_ws_send_texts(struct cq_ws *ws, const char *const *texts, size_t n)
{
    size_t cap = 0, len = 0;
    for (size_t i = 0; i < n; i++)
        cap += strlen(texts[i]) + 14;
    unsigned char *buf = malloc(cap ? cap : 1);
    if (!buf)
        return -1;
    for (size_t i = 0; i < n; i++)
        len += encode_frame(buf + len, 0x1, true, texts[i], strlen(texts[i]));
    int r = write_all(ws->fd, buf, len);
    free(buf);
    return r;
}

int cq_ws_send_text(struct cq_ws *ws, const char *text)
{
    return cq_ws_send_frame(ws, 0x1, true, text, strlen(text));
}

int cq_ws_send_json(struct cq_ws *ws, json_t *msg)
{
    char *s = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (!s)
        return -1;
    int r = cq_ws_send_text(ws, s);
    free(s);
    return r;
}

int cq_ws_send_raw(struct cq_ws *ws, const void *bytes, size_t n)
{
    return write_all(ws->fd, bytes, n);
}

/* Parses one whole frame from the buffer; 1 when one was consumed. */
static int parse_frame(struct cq_ws *ws, int *opcode, unsigned char **payload, size_t *plen)
{
    if (ws->len < 2)
        return 0;
    size_t n = ws->buf[1] & 0x7f, h = 2;
    if (n == 126) {
        if (ws->len < 4)
            return 0;
        n = (size_t)ws->buf[2] << 8 | ws->buf[3];
        h = 4;
    } else if (n == 127) {
        if (ws->len < 10)
            return 0;
        n = 0;
        for (int i = 0; i < 8; i++)
            n = n << 8 | ws->buf[2 + i];
        h = 10;
    }
    if (ws->len < h + n)
        return 0;
    *opcode = ws->buf[0] & 0x0f;
    *payload = malloc(n + 1);
    memcpy(*payload, ws->buf + h, n);
    (*payload)[n] = '\0';
    *plen = n;
    memmove(ws->buf, ws->buf + h + n, ws->len - h - n);
    ws->len -= h + n;
    return 1;
}

json_t *cq_ws_recv(struct cq_ws *ws, int timeout_ms)
{
    int64_t until = now_ms() + timeout_ms;
    while (!ws->closed) {
        int op;
        unsigned char *p;
        size_t n;
        if (parse_frame(ws, &op, &p, &n)) {
            if (op == 0x1) {
                cq_wire_log(p, n);
                json_t *j = json_loadb((char *)p, n, 0, NULL);
                free(p);
                if (j)
                    return j;
                continue;
            }
            if (op == 0x9) { /* ping: answer */
                ws->pings++;
                cq_ws_send_frame(ws, 0xA, true, p, n);
            }
            if (op == 0xA)
                ws->pongs++;
            if (op == 0x8) {
                ws->closed = true;
                ws->close_code = n >= 2 ? (p[0] << 8 | p[1]) : 1005;
                snprintf(ws->close_reason, sizeof ws->close_reason, "%.*s",
                         n > 2 ? (int)(n - 2) : 0, n > 2 ? (char *)p + 2 : "");
            }
            free(p);
            continue;
        }
        /* Timeout 0 still reads what has already arrived. */
        int64_t left = until - now_ms();
        int r = fill(ws, left > 0 ? (int)left : 0);
        if (r == 1 && left <= 0)
            return NULL;
        if (r < 0) {
            ws->closed = true;
            if (!ws->close_code)
                ws->close_code = 1006;
        }
    }
    return NULL;
}

json_t *cq_ws_expect(struct cq_ws *ws, const char *type, int timeout_ms)
{
    int64_t until = now_ms() + timeout_ms;
    for (;;) {
        int64_t left = until - now_ms();
        if (left <= 0)
            return NULL;
        json_t *j = cq_ws_recv(ws, (int)left);
        if (!j)
            return NULL;
        const char *t = json_string_value(json_object_get(j, "type"));
        if (t && !strcmp(t, type))
            return j;
        json_decref(j);
    }
}

bool cq_ws_wait_closed(struct cq_ws *ws, int timeout_ms)
{
    int64_t until = now_ms() + timeout_ms;
    while (!ws->closed) {
        int64_t left = until - now_ms();
        if (left <= 0)
            return false;
        json_t *j = cq_ws_recv(ws, (int)left);
        json_decref(j);
    }
    return true;
}
