/* proxy.h: the client's address when requests come through trusted reverse
 * proxies (nginx, Caddy) that name it in X-Forwarded-For.
 *
 * Pure functions (no lws, no I/O) so that the parsing and the choice are
 * unit-tested. The header is believed only when the TCP peer is in the
 * operator's list; by default the list is empty and the header ignored.
 */
#ifndef CQ_PROXY_H
#define CQ_PROXY_H

#include <stdbool.h>
#include <stddef.h>

#define CQ_PROXY_MAX      32   /* entries in --trusted-proxies */
#define CQ_PROXY_LIST_MAX 2048 /* characters of --trusted-proxies */
#define CQ_PROXY_XFF_MAX  2048 /* X-Forwarded-For bytes read; longer is not used */

/* One address or network. IPv4 is kept as IPv4-mapped IPv6 (::ffff:a.b.c.d,
 * prefix + 96) so that one comparison covers both families and a peer seen
 * as ::ffff:127.0.0.1 matches 127.0.0.1. */
struct cq_proxy_net {
    unsigned char addr[16];
    unsigned bits; /* prefix length, 0 to 128 */
};

struct cq_proxy_list {
    unsigned n;
    struct cq_proxy_net e[CQ_PROXY_MAX];
};

/* Parses "127.0.0.1,10.0.0.0/8,::1" (spaces around entries allowed; empty
 * text: an empty list). 0 on success; -1 with a one-line reason in `err`. */
int cq_proxy_list_parse(const char *text, struct cq_proxy_list *l, char *err, size_t errlen);

/* Whether the address text (IPv4 or IPv6) is in the list. */
bool cq_proxy_trusted(const struct cq_proxy_list *l, const char *addr);

enum cq_proxy_pick {
    CQ_PROXY_PEER,      /* the peer itself: not a trusted proxy, or no header */
    CQ_PROXY_FORWARDED, /* an address from the header */
    CQ_PROXY_GARBAGE,   /* a trusted proxy sent an unusable header: the peer */
};

/* The client's address: when `peer` is a trusted proxy and `xff` (the
 * header, all instances joined with commas; may be NULL) is present, the
 * rightmost entry that is not itself a trusted proxy (the leftmost when all
 * are); else the peer. Entries may be IPv4, IPv6, "[IPv6]:port" or
 * "IPv4:port". Writes the address (canonical text when from the header) to
 * `out`; an unparsable entry met before the answer gives CQ_PROXY_GARBAGE
 * and the peer. */
enum cq_proxy_pick cq_proxy_client(const struct cq_proxy_list *l, const char *peer, const char *xff,
                                   char *out, size_t outlen);

#endif
