/* listen.c: our own listening sockets and accept loop; lws gets each
 * accepted connection (lws_adopt_descriptor_vhost), as its listener would.
 *
 * Why not lws' listener (lws 4.1):
 * - `info.iface` is looked up as an interface name, then as an address in
 *   the wrong family: with IPv6 built in, "127.0.0.1" listened on [::] (all
 *   interfaces), and an address the machine does not have was retried
 *   silently while we logged "listening".
 * - on EMFILE its accept loop logs "accept: errno 24" and is woken again at
 *   once, millions of times a minute, and serves nobody new.
 * Here --bind is resolved with getaddrinfo and every address it names is
 * bound (or the server does not start), and descriptors are rationed the way
 * Redis does (maxclients = open-file limit less a reserve): an accepted
 * socket whose descriptor is above the ceiling is closed at once, so the
 * reserve stays free for Redis, the files served and the logs; if accept
 * fails anyway (EMFILE, ENFILE), the listeners rest ACCEPT_PAUSE_MS and
 * try again. Both are logged at most once per REFUSED_LOG_S, with a count.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4 */
#endif
#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "net_priv.h"

#define ACCEPT_BATCH    64  /* accepts per wake-up: the loop serves the others between */
#define ACCEPT_PAUSE_MS 100 /* listeners rest this long after EMFILE/ENFILE */
#define REFUSED_LOG_S   10  /* at most one log line per this many seconds */

static void addr_text(const struct sockaddr *sa, int port, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET6) {
        getnameinfo(sa, sizeof(struct sockaddr_in6), host, sizeof host, NULL, 0, NI_NUMERICHOST);
        snprintf(out, cap, "[%s]:%d", host, port);
    } else {
        getnameinfo(sa, sizeof(struct sockaddr_in), host, sizeof host, NULL, 0, NI_NUMERICHOST);
        snprintf(out, cap, "%s:%d", host, port);
    }
}

/* One listening socket on `ai`; the descriptor, or -1 with errno set. */
static int listen_on(const struct addrinfo *ai, bool dual_stack)
{
    int one = 1, v6only = dual_stack ? 0 : 1;
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    /* As lws does: a restart binds again while old sockets are in TIME_WAIT. */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    /* "::" alone means every interface, IPv4 too; otherwise one address is
     * one address (and a name's IPv6 and IPv4 wildcards do not collide). */
    if (ai->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, SOMAXCONN)) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Whether `one` is an entry of the ", "-separated `where`. */
static bool listed(const char *where, const char *one)
{
    size_t n = strlen(one);
    for (const char *p = where; (p = strstr(p, one)) != NULL; p += n)
        if ((p == where || p[-1] == ' ') && (p[n] == '\0' || p[n] == ','))
            return true;
    return false;
}

/* The IPv4 and IPv6 addresses of the interface named `name`, as a list
 * of addrinfo in `ai` (storage in `sa`); how many. */
static unsigned interface_addrs(const char *name, int port, struct addrinfo *ai,
                                struct sockaddr_storage *sa)
{
    struct ifaddrs *all;
    unsigned n = 0;
    if (getifaddrs(&all))
        return 0;
    for (struct ifaddrs *i = all; i && n < CQ_LISTEN_MAX; i = i->ifa_next) {
        if (!i->ifa_addr || !i->ifa_name || strcmp(i->ifa_name, name))
            continue;
        int fam = i->ifa_addr->sa_family;
        if (fam != AF_INET && fam != AF_INET6)
            continue;
        socklen_t len = fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
        memset(&ai[n], 0, sizeof ai[n]);
        memcpy(&sa[n], i->ifa_addr, len);
        if (fam == AF_INET)
            ((struct sockaddr_in *)(void *)&sa[n])->sin_port = htons((uint16_t)port);
        else
            ((struct sockaddr_in6 *)(void *)&sa[n])->sin6_port = htons((uint16_t)port);
        ai[n].ai_family = fam;
        ai[n].ai_socktype = SOCK_STREAM;
        ai[n].ai_addr = (struct sockaddr *)&sa[n];
        ai[n].ai_addrlen = len;
        if (n)
            ai[n - 1].ai_next = &ai[n];
        n++;
    }
    freeifaddrs(all);
    return n;
}

/* Listens on each address of `res` (`found` of them in all). A name
 * listens on each of its addresses ("localhost": ::1 and 127.0.0.1). One
 * this machine does not have (EADDRNOTAVAIL; IPv6 turned off) is skipped
 * when another one works; a busy port or a refused address is an error: the
 * operator asked for it. */
static int listen_each(struct cq_listen *L, const struct addrinfo *res, unsigned found,
                       const char *bind_to, int port, char *err, size_t errlen)
{
    char one[80];
    for (const struct addrinfo *ai = res; ai && L->n < CQ_LISTEN_MAX; ai = ai->ai_next) {
        bool any6 = ai->ai_family == AF_INET6 &&
                    !memcmp(&((const struct sockaddr_in6 *)(const void *)ai->ai_addr)->sin6_addr,
                            &in6addr_any, sizeof in6addr_any);
        addr_text(ai->ai_addr, port, one, sizeof one);
        if (listed(L->where, one))
            continue; /* /etc/hosts may name an address twice */
        int fd = listen_on(ai, any6 && found == 1);
        if (fd < 0) {
            int e = errno;
            bool missing = e == EADDRNOTAVAIL || e == EAFNOSUPPORT;
            if (missing && found > 1) {
                cq_warn("--bind %s: skipping %s: %s", bind_to, one, strerror(e));
                continue;
            }
            snprintf(err, errlen, "cannot listen on %s (--bind %s): %s%s", one, bind_to,
                     strerror(e), missing ? "; this machine has no such address" : "");
            return -1;
        }
        struct cq_listener *l = &L->l[L->n++];
        l->fd = fd;
        size_t w = strlen(L->where);
        snprintf(L->where + w, sizeof L->where - w, "%s%s", w ? ", " : "", one);
    }
    return 0;
}

int cq_listen_open(struct cq_listen *L, const char *bind_to, int port, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL, *res2 = NULL;
    char host[256], service[16];
    size_t n = strlen(bind_to);
    int result = -1, rc;
    unsigned found = 0;

    memset(L, 0, sizeof *L);
    for (unsigned i = 0; i < CQ_LISTEN_MAX; i++)
        L->l[i].fd = -1;
    /* "[::1]" as in a URL is "::1". */
    if (n >= 2 && bind_to[0] == '[' && bind_to[n - 1] == ']' && n - 2 < sizeof host) {
        memcpy(host, bind_to + 1, n - 2);
        host[n - 2] = '\0';
    } else {
        snprintf(host, sizeof host, "%s", bind_to);
    }
    snprintf(service, sizeof service, "%d", port);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (!host[0]) {
        snprintf(err, errlen, "--bind: empty address");
        return -1;
    }
    /* An interface's name ("eth0", as lws took it) is its addresses; no
     * DNS lookup for it. */
    struct addrinfo ifs[CQ_LISTEN_MAX];
    struct sockaddr_storage ifsa[CQ_LISTEN_MAX];
    unsigned nifs = interface_addrs(host, port, ifs, ifsa);
    bool by_interface = nifs > 0;
    /* "localhost" is the loopback addresses (RFC 6761), whatever /etc/hosts
     * or a resolver says (a minimal system may have neither). */
    bool loopback = !by_interface && !strcasecmp(host, "localhost");
    if (loopback) {
        hints.ai_flags |= AI_NUMERICHOST;
        rc = getaddrinfo("127.0.0.1", service, &hints, &res);
        if (!rc && getaddrinfo("::1", service, &hints, &res2))
            res2 = NULL; /* no IPv6 here: IPv4 loopback alone */
    } else {
        rc = by_interface ? 0 : getaddrinfo(host, service, &hints, &res);
    }
    if (by_interface)
        res = ifs;
    if (rc) {
        snprintf(err, errlen, "--bind %s: cannot resolve: %s", bind_to,
                 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -1;
    }
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next)
        found++;
    if (res2)
        found++;
    if (listen_each(L, res, found, bind_to, port, err, errlen) ||
        (res2 && listen_each(L, res2, found, bind_to, port, err, errlen)))
        goto out;
    if (!L->n) {
        snprintf(err, errlen, "--bind %s: no address of it can be listened on", bind_to);
        goto out;
    }
    result = 0;
out:
    if (!by_interface)
        freeaddrinfo(res);
    if (res2)
        freeaddrinfo(res2);
    if (result)
        cq_listen_close(L);
    return result;
}

void cq_listen_close(struct cq_listen *L)
{
    for (unsigned i = 0; i < L->n; i++)
        if (L->l[i].fd >= 0) {
            close(L->l[i].fd);
            L->l[i].fd = -1;
        }
    L->n = 0;
}

/* ---- the accept loop ---------------------------------------------------- */

static void on_readable(uv_poll_t *h, int status, int events);

static void set_polling(struct cq_listen *L, bool on)
{
    for (unsigned i = 0; i < L->n; i++) {
        if (on)
            uv_poll_start(&L->l[i].poll, UV_READABLE, on_readable);
        else
            uv_poll_stop(&L->l[i].poll);
    }
    L->paused = !on;
}

static void log_refusals(struct cq_listen *L)
{
    if (L->refused_unlogged)
        cq_warn("refused %llu connection(s) since the last report (at most one in %d s): %u "
                "descriptors in use is the limit "
                "(the open-file limit less %u kept for Redis and files; raise `ulimit -n`)",
                (unsigned long long)L->refused_unlogged, REFUSED_LOG_S, L->fd_ceiling,
                CQ_FD_RESERVE);
    if (L->failed_unlogged)
        cq_warn("accept failed %llu time(s) since the last report (at most one in %d s; last: %s): "
                "pausing %d ms each time",
                (unsigned long long)L->failed_unlogged, REFUSED_LOG_S, strerror(L->last_errno),
                ACCEPT_PAUSE_MS);
    L->refused_unlogged = L->failed_unlogged = 0;
}

static void on_log_timer(uv_timer_t *t)
{
    struct cq_listen *L = t->data;
    log_refusals(L);
    L->log_armed = false;
}

/* The first refusal is logged at once, the next ones once per REFUSED_LOG_S
 * with their count: a flood of connections never floods the log. */
static void note_refusal(struct cq_listen *L)
{
    if (L->log_armed)
        return;
    log_refusals(L);
    L->log_armed = true;
    uv_timer_start(&L->log_timer, on_log_timer, REFUSED_LOG_S * 1000, 0);
}

static void on_resume(uv_timer_t *t)
{
    struct cq_listen *L = t->data;
    if (!L->net->stopping)
        set_polling(L, true);
}

static void adopt(struct cq_listen *L, int fd)
{
    struct cq_net *net = L->net;
    const struct cq_config *cfg = net->deps.cfg;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* A fixed send buffer (no autotuning up to tcp_wmem's 4 MiB): what a
     * client that stops reading can hold in the kernel is bounded, and the
     * slow-consumer rule counts it (conn.c). */
    if (cfg->sndbuf) {
        int b = (int)cfg->sndbuf;
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &b, sizeof b);
    }
    lws_sock_file_fd_type sfd;
    sfd.sockfd = fd;
    lws_adoption_type how = LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP;
    if (cfg->tls_cert[0])
        how |= LWS_ADOPT_ALLOW_SSL;
    /* On failure lws has closed the socket. */
    if (!lws_adopt_descriptor_vhost(net->vhost, how, sfd, NULL, NULL))
        cq_debug("accept: lws could not take a connection");
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    struct cq_listener *l = h->data;
    struct cq_listen *L = l->owner;
    (void)events;
    if (status < 0 || L->net->stopping)
        return;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int e = errno;
            if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR)
                return;
            if (e == ECONNABORTED || e == EPROTO)
                continue; /* that client gave up; the next may not have */
            /* Out of descriptors or memory: the pending connection stays
             * queued and would wake us again at once. Rest, then retry. */
            L->net->m.accept_failed++;
            L->failed_unlogged++;
            L->last_errno = e;
            note_refusal(L);
            set_polling(L, false);
            uv_timer_start(&L->resume, on_resume, ACCEPT_PAUSE_MS, 0);
            return;
        }
        /* Descriptors are handed out lowest first: one at or above the
         * ceiling means the ceiling's worth are in use. */
        if ((unsigned)fd >= L->fd_ceiling) {
            close(fd);
            L->net->m.accept_refused++;
            L->refused_unlogged++;
            note_refusal(L);
            continue;
        }
        adopt(L, fd);
    }
}

void cq_listen_start(struct cq_net *net, unsigned fd_ceiling)
{
    struct cq_listen *L = &net->listen;
    L->net = net;
    L->fd_ceiling = fd_ceiling;
    uv_timer_init(net->deps.loop, &L->resume);
    uv_timer_init(net->deps.loop, &L->log_timer);
    L->resume.data = L->log_timer.data = L;
    for (unsigned i = 0; i < L->n; i++) {
        uv_poll_init_socket(net->deps.loop, &L->l[i].poll, L->l[i].fd);
        L->l[i].poll.data = &L->l[i];
        L->l[i].owner = L;
    }
    L->started = true;
    set_polling(L, true);
}

static void on_poll_closed(uv_handle_t *h)
{
    struct cq_listener *l = h->data;
    close(l->fd);
    l->fd = -1;
}

void cq_listen_stop(struct cq_net *net)
{
    struct cq_listen *L = &net->listen;
    if (!L->started) {
        cq_listen_close(L);
        return;
    }
    L->started = false;
    log_refusals(L);
    for (unsigned i = 0; i < L->n; i++)
        uv_close((uv_handle_t *)&L->l[i].poll, on_poll_closed);
    uv_close((uv_handle_t *)&L->resume, NULL);
    uv_close((uv_handle_t *)&L->log_timer, NULL);
}

const char *cq_net_listening(const struct cq_net *net)
{
    return net->listen.where;
}
