/* http_conns.h: plain-HTTP connections per client address, capped.
 *
 * A connection counts from its accept until it is upgraded to a WebSocket
 * (then addr.c's per-address WebSocket limit applies) or closed. When an
 * address is at its cap, its oldest idle keep-alive connection (it was
 * answered and sent nothing since) is closed to make room, and only when
 * it has none is the new connection refused: browsers hold idle keep-alives
 * they would give up anyway, while a slow client that never finishes a
 * request cannot take more than the cap. Addresses of trusted proxies
 * (--trusted-proxies) are not capped: they speak for many clients.
 */
#ifndef CQ_HTTP_CONNS_H
#define CQ_HTTP_CONNS_H

#include <stdbool.h>

struct lws;
struct cq_net;
struct cq_http_conns;

/* `per_addr`: plain-HTTP connections per address; 0: no cap. */
struct cq_http_conns *cq_http_conns_new(unsigned per_addr);
void cq_http_conns_free(struct cq_http_conns *t);

/* Connections counted now, all addresses (for the fuzzer and tests). */
unsigned cq_http_conns_count(const struct cq_http_conns *t);

/* A connection was accepted (SERVER_NEW_CLIENT_INSTANTIATED): 0 to keep it,
 * -1 to refuse it (the address is at its cap with nothing idle to close). */
int cq_http_conn_open(struct cq_net *net, struct lws *wsi);
/* It started a request (busy) or finished one and now idles (!busy). */
void cq_http_conn_busy(struct lws *wsi, bool busy);
/* It was upgraded to a WebSocket or closed: it no longer counts. */
void cq_http_conn_gone(struct cq_net *net, struct lws *wsi);

#endif
