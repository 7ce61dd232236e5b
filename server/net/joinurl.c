/* joinurl.c: where players' phones can reach this server, for the join link
 * and QR code of a host page opened as http://localhost (PROTOCOL.md
 * `joined`: public_url, lan_urls, local_only).
 *
 * --public-url when the operator gave one; otherwise the addresses of this
 * machine's interfaces that are up, not loopback and listened on (--bind
 * 0.0.0.0: every IPv4 one; `::`: every one; an address: that one), IPv4
 * first. A server bound to loopback only is unreachable from the LAN: then
 * no address and `local_only`, so the page warns instead of offering one.
 */
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "net_priv.h"

#define LAN_URLS_MAX 4

struct bound {
    bool any4, any6; /* a wildcard listener: IPv4 (and `::` dual-stack), IPv6 */
    bool reachable;  /* a listener not on loopback */
    int port;
    unsigned n;
    struct sockaddr_storage one[CQ_LISTEN_MAX]; /* listeners on one address */
};

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a))
            return a->s6_addr[12] == 127;
        return IN6_IS_ADDR_LOOPBACK(a);
    }
    return false;
}

static void listeners(const struct cq_net *net, struct bound *b)
{
    memset(b, 0, sizeof *b);
    for (unsigned i = 0; i < net->listen.n; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        if (getsockname(net->listen.l[i].fd, (struct sockaddr *)&ss, &len))
            continue;
        const struct sockaddr *sa = (const struct sockaddr *)&ss;
        if (sa->sa_family == AF_INET) {
            const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
            b->port = ntohs(s4->sin_port);
            if (s4->sin_addr.s_addr == htonl(INADDR_ANY)) {
                b->any4 = b->reachable = true;
                continue;
            }
        } else if (sa->sa_family == AF_INET6) {
            const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
            b->port = ntohs(s6->sin6_port);
            if (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr)) {
                int v6only = 1;
                socklen_t olen = sizeof v6only;
                getsockopt(net->listen.l[i].fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &olen);
                b->any6 = b->reachable = true;
                b->any4 = b->any4 || !v6only;
                continue;
            }
        } else
            continue;
        if (is_loopback(sa))
            continue;
        b->reachable = true;
        if (b->n < CQ_LISTEN_MAX)
            memcpy(&b->one[b->n++], &ss, len);
    }
}

static bool same_addr(const struct sockaddr *a, const struct sockaddr_storage *ss)
{
    const struct sockaddr *b = (const struct sockaddr *)ss;
    if (a->sa_family != b->sa_family)
        return false;
    if (a->sa_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                   &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr));
}

static bool wanted(const struct bound *b, const struct ifaddrs *ifa, int family)
{
    const struct sockaddr *sa = ifa->ifa_addr;
    if (!sa || sa->sa_family != family || !(ifa->ifa_flags & IFF_UP) ||
        (ifa->ifa_flags & IFF_LOOPBACK) || is_loopback(sa))
        return false;
    /* A link-local IPv6 address needs a zone a browser cannot be given. */
    if (family == AF_INET6 &&
        IN6_IS_ADDR_LINKLOCAL(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr))
        return false;
    if (family == AF_INET ? b->any4 : b->any6)
        return true;
    for (unsigned i = 0; i < b->n; i++)
        if (same_addr(sa, &b->one[i]))
            return true;
    return false;
}

/* The LAN base URLs ("http://192.168.1.20:8080"), IPv4 first, at most
 * `cap`; how many. */
static unsigned lan_urls(const struct cq_net *net, const struct bound *b, char (*out)[80],
                         unsigned cap)
{
    struct ifaddrs *all = NULL;
    unsigned n = 0;
    const char *scheme = net->deps.cfg->tls_cert[0] ? "https" : "http";
    if (!b->reachable || getifaddrs(&all))
        return 0;
    static const int families[] = {AF_INET, AF_INET6};
    for (size_t f = 0; f < 2; f++)
        for (const struct ifaddrs *ifa = all; ifa && n < cap; ifa = ifa->ifa_next) {
            char host[INET6_ADDRSTRLEN];
            if (!wanted(b, ifa, families[f]) ||
                getnameinfo(ifa->ifa_addr,
                            families[f] == AF_INET ? sizeof(struct sockaddr_in)
                                                   : sizeof(struct sockaddr_in6),
                            host, sizeof host, NULL, 0, NI_NUMERICHOST))
                continue;
            char url[80];
            snprintf(url, sizeof url, families[f] == AF_INET ? "%s://%s:%d" : "%s://[%s]:%d",
                     scheme, host, b->port);
            bool dup = false; /* one address on two interfaces */
            for (unsigned i = 0; i < n && !dup; i++)
                dup = !strcmp(out[i], url);
            if (!dup)
                snprintf(out[n++], sizeof out[0], "%s", url);
        }
    freeifaddrs(all);
    return n;
}

void cq_join_urls_add(json_t *joined, const struct cq_net *net)
{
    const char *pub = net->deps.cfg->public_url;
    struct bound b;
    if (!joined)
        return;
    listeners(net, &b);
    json_object_set_new(joined, "local_only", json_boolean(!b.reachable));
    if (pub[0]) {
        size_t len = strlen(pub);
        while (len > 0 && pub[len - 1] == '/')
            len--;
        json_object_set_new(joined, "public_url", json_stringn(pub, len));
        return;
    }
    char urls[LAN_URLS_MAX][80];
    unsigned n = lan_urls(net, &b, urls, LAN_URLS_MAX);
    json_t *arr = json_array();
    for (unsigned i = 0; i < n; i++)
        json_array_append_new(arr, json_string(urls[i]));
    json_object_set_new(joined, "lan_urls", arr);
}

bool cq_host_is_loopback(const char *host)
{
    /* "localhost[:port]", "x.localhost", "127.a.b.c[:port]", "[::1][:port]" */
    char name[200];
    size_t n;
    if (host[0] == '[') {
        n = strcspn(host, "]");
        return n == 4 && !strncmp(host + 1, "::1", 3);
    }
    n = strcspn(host, ":");
    if (n >= sizeof name)
        return false;
    memcpy(name, host, n);
    name[n] = '\0';
    if (n && name[n - 1] == '.')
        name[--n] = '\0';
    if (!strcasecmp(name, "localhost") || (n > 10 && !strcasecmp(name + n - 10, ".localhost")))
        return true;
    return !strncmp(name, "127.", 4) && strspn(name, "0123456789.") == n;
}

bool cq_join_first_lan(const struct cq_net *net, char *out, size_t cap)
{
    struct bound b;
    char urls[1][80];
    listeners(net, &b);
    if (!lan_urls(net, &b, urls, 1))
        return false;
    snprintf(out, cap, "%s", urls[0]);
    return true;
}
