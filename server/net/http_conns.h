/* http_conns.h: plain-HTTP connections per client address, capped.
 *
 * A connection counts until it is upgraded to a WebSocket (then addr.c's
 * per-address WebSocket limit applies) or closed, except while it is young:
 * under 2 s old without a whole request yet, the server may simply not have
 * read it (a class behind one NAT joining at once, accepted in one go). When
 * an address is at its cap, its oldest idle keep-alive connection (answered,
 * nothing sent since) is closed to make room, else its oldest stalled one
 * (2 s or more without a whole request: a slow client), and only when it
 * has neither is the new connection refused. An answer still being sent is
 * never idle. Young connections are bounded too: at 5 times the cap in all
 * (at most a quarter of the server's connections), the oldest silent one
 * (nothing unread, no request) makes room, then the rule above. Browsers
 * hold idle keep-alives they would give up anyway, and a slow client cannot
 * keep more than the cap. Addresses of trusted proxies (--trusted-proxies)
 * are not capped: they speak for many clients.
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
