/* wsclient.h: a small blocking WebSocket client for tests, written from
 * RFC 6455 and protocol/PROTOCOL.md only. It can also send malformed
 * frames on purpose (hostile-client tests). */
#ifndef CQ_WSCLIENT_H
#define CQ_WSCLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct cq_ws {
    int fd;
    unsigned char *buf; /* received, not yet parsed */
    size_t len, cap;
    bool closed;
    unsigned pings; /* WebSocket pings read (each answered with a pong) */
    unsigned pongs; /* WebSocket pongs read (answers to our pings) */
    int close_code;
    char close_reason[128];
};

/* Connects and upgrades; `origin` may be NULL. 0 on success, else -1 and
 * the HTTP status (or 0) in *status when given. */
int cq_ws_connect(struct cq_ws *ws, int port, const char *path, const char *subprotocol,
                  const char *origin, int *status);
/* The same with a receive buffer of `rcvbuf` bytes set before connecting:
 * a slow phone on a bad network, for the slow-consumer tests. */
int cq_ws_connect_slow(struct cq_ws *ws, int port, int rcvbuf);
/* The game's path and subprotocol with extra handshake header lines, each
 * "Name: value" without CRLF, NULL-terminated: what a reverse proxy adds
 * (X-Forwarded-For). */
int cq_ws_connect_headers(struct cq_ws *ws, int port, const char *const *headers, int *status);
/* The game's path and subprotocol from the loopback source address `from`
 * (e.g. "127.0.0.9"): clients that share one address, as behind a NAT. */
int cq_ws_connect_from(struct cq_ws *ws, int port, const char *from);
void cq_ws_free(struct cq_ws *ws);

int cq_ws_send_frame(struct cq_ws *ws, int opcode, bool fin, const void *payload, size_t n);
int cq_ws_send_text(struct cq_ws *ws, const char *text);
/* Several text messages in one write, as a client's pipelined burst. */
int cq_ws_send_texts(struct cq_ws *ws, const char *const *texts, size_t n);
/* Encodes and sends (steals msg). */
int cq_ws_send_json(struct cq_ws *ws, json_t *msg);
int cq_ws_send_raw(struct cq_ws *ws, const void *bytes, size_t n);

/* The next text message as JSON; NULL on timeout or close. */
json_t *cq_ws_recv(struct cq_ws *ws, int timeout_ms);
/* Skips messages until one of `type` arrives (returned); NULL if none in time. */
json_t *cq_ws_expect(struct cq_ws *ws, const char *type, int timeout_ms);
/* Waits for the server to close; true when it did within the time. */
bool cq_ws_wait_closed(struct cq_ws *ws, int timeout_ms);

#endif
