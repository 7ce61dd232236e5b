/* proxy.c: trusted-proxy list and X-Forwarded-For selection (see proxy.h). */
#include "proxy.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADDR_TEXT_MAX 64 /* longer than any IPv6 text (INET6_ADDRSTRLEN is 46) */

static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* Trims spaces and tabs around [*s, *s + *n). */
static void trim(const char **s, size_t *n)
{
    while (*n && is_space(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && is_space((*s)[*n - 1]))
        (*n)--;
}

/* Parses an IPv4 or IPv6 address of exactly `n` characters into 16 bytes;
 * *v4 tells which it was. */
static bool parse_addr(const char *s, size_t n, unsigned char out[16], bool *v4)
{
    char buf[ADDR_TEXT_MAX];
    if (!n || n >= sizeof buf)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET, buf, out + 12) == 1) {
        memcpy(out, v4_mapped, sizeof v4_mapped);
        *v4 = true;
        return true;
    }
    *v4 = false;
    return inet_pton(AF_INET6, buf, out) == 1;
}

/* A TCP port: 1 to 5 digits, at most 65535. */
static bool port_ok(const char *s, size_t n)
{
    unsigned long v = 0;
    if (!n || n > 5)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    return v <= 65535;
}

/* An X-Forwarded-For entry: an address, "[IPv6]" or "[IPv6]:port", or
 * "IPv4:port" (some proxies add the port). */
static bool parse_entry(const char *s, size_t n, unsigned char out[16])
{
    bool v4;
    if (n && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close)
            return false;
        size_t rest = n - (size_t)(close - s) - 1;
        if (rest && (close[1] != ':' || !port_ok(close + 2, rest - 1)))
            return false;
        return parse_addr(s + 1, (size_t)(close - s) - 1, out, &v4) && !v4;
    }
    const char *colon = memchr(s, ':', n);
    if (colon && !memchr(colon + 1, ':', n - (size_t)(colon - s) - 1)) {
        /* One colon: IPv4 with a port. */
        if (!port_ok(colon + 1, n - (size_t)(colon - s) - 1))
            return false;
        return parse_addr(s, (size_t)(colon - s), out, &v4) && v4;
    }
    return parse_addr(s, n, out, &v4);
}

static bool in_net(const struct cq_proxy_net *net, const unsigned char a[16])
{
    unsigned full = net->bits / 8, rest = net->bits % 8;
    if (memcmp(net->addr, a, full))
        return false;
    if (!rest)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (net->addr[full] & mask) == (a[full] & mask);
}

static bool trusted(const struct cq_proxy_list *l, const unsigned char a[16])
{
    for (unsigned i = 0; i < l->n; i++)
        if (in_net(&l->e[i], a))
            return true;
    return false;
}

/* One list entry: ADDRESS or ADDRESS/BITS, with no host bits past BITS. */
static int parse_net(const char *s, size_t n, struct cq_proxy_net *net, char *err, size_t errlen)
{
    const char *slash = memchr(s, '/', n);
    size_t alen = slash ? (size_t)(slash - s) : n;
    bool v4;
    if (!parse_addr(s, alen, net->addr, &v4)) {
        snprintf(err, errlen, "\"%.*s\" is not an IPv4 or IPv6 address", (int)alen, s);
        return -1;
    }
    unsigned max = v4 ? 32 : 128;
    net->bits = 128;
    if (slash) {
        size_t dl = n - alen - 1;
        unsigned long bits = 0;
        if (!dl || dl > 3 || strspn(slash + 1, "0123456789") < dl ||
            (bits = strtoul(slash + 1, NULL, 10)) > max) {
            snprintf(err, errlen, "\"%.*s\": the prefix length is 0 to %u", (int)n, s, max);
            return -1;
        }
        net->bits = (unsigned)bits + (v4 ? 96 : 0);
    }
    /* 10.0.0.1/8 is almost certainly a typo: refuse rather than guess. */
    for (unsigned b = net->bits; b < 128; b++)
        if (net->addr[b / 8] & (0x80 >> (b % 8))) {
            snprintf(err, errlen, "\"%.*s\" has address bits set past its /%u prefix", (int)n, s,
                     net->bits - (v4 ? 96 : 0));
            return -1;
        }
    return 0;
}

int cq_proxy_list_parse(const char *text, struct cq_proxy_list *l, char *err, size_t errlen)
{
    memset(l, 0, sizeof *l);
    if (strlen(text) >= CQ_PROXY_LIST_MAX) {
        snprintf(err, errlen, "the list is longer than %d characters", CQ_PROXY_LIST_MAX - 1);
        return -1;
    }
    const char *p = text;
    size_t all = strlen(text);
    trim(&p, &all);
    if (!all)
        return 0; /* empty: trust no one */
    for (;;) {
        const char *s = p;
        size_t n = strcspn(p, ",");
        p += n;
        trim(&s, &n);
        if (!n) {
            snprintf(err, errlen, "an empty entry (two commas, or one at an end)");
            return -1;
        }
        if (l->n == CQ_PROXY_MAX) {
            snprintf(err, errlen, "more than %d entries (use networks: 10.0.0.0/8)", CQ_PROXY_MAX);
            return -1;
        }
        if (parse_net(s, n, &l->e[l->n], err, errlen))
            return -1;
        l->n++;
        if (!*p)
            return 0;
        p++; /* the comma */
    }
}

bool cq_proxy_trusted(const struct cq_proxy_list *l, const char *addr)
{
    unsigned char a[16];
    bool v4;
    return l->n && parse_addr(addr, strlen(addr), a, &v4) && trusted(l, a);
}

static void format_addr(const unsigned char a[16], char *out, size_t outlen)
{
    char buf[ADDR_TEXT_MAX];
    const char *s = !memcmp(a, v4_mapped, sizeof v4_mapped)
                        ? inet_ntop(AF_INET, a + 12, buf, sizeof buf)
                        : inet_ntop(AF_INET6, a, buf, sizeof buf);
    snprintf(out, outlen, "%s", s ? s : "");
}

enum cq_proxy_pick cq_proxy_client(const struct cq_proxy_list *l, const char *peer, const char *xff,
                                   char *out, size_t outlen)
{
    unsigned char a[16], leftmost[16];
    bool any = false;
    snprintf(out, outlen, "%s", peer);
    if (!xff || !cq_proxy_trusted(l, peer))
        return CQ_PROXY_PEER;
    /* Right to left: each trusted proxy appended the address it saw. */
    for (size_t end = strlen(xff);;) {
        size_t start = end;
        while (start && xff[start - 1] != ',')
            start--;
        const char *s = xff + start;
        size_t n = end - start;
        trim(&s, &n);
        if (n) { /* empty list elements are allowed and mean nothing */
            if (!parse_entry(s, n, a))
                return CQ_PROXY_GARBAGE;
            if (!trusted(l, a)) {
                format_addr(a, out, outlen);
                return CQ_PROXY_FORWARDED;
            }
            memcpy(leftmost, a, sizeof a);
            any = true;
        }
        if (!start)
            break;
        end = start - 1;
    }
    if (!any)
        return CQ_PROXY_PEER;
    /* Every hop is a proxy of ours: the first one is as near as we get. */
    format_addr(leftmost, out, outlen);
    return CQ_PROXY_FORWARDED;
}
