/* Trusted-proxy lists and the client address from X-Forwarded-For. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "proxy.h"

static struct cq_proxy_list list(const char *text)
{
    struct cq_proxy_list l;
    char err[200] = "";
    cr_assert_eq(cq_proxy_list_parse(text, &l, err, sizeof err), 0, "%s: %s", text, err);
    return l;
}

static void refused(const char *text, const char *why)
{
    struct cq_proxy_list l;
    char err[200] = "";
    cr_assert_eq(cq_proxy_list_parse(text, &l, err, sizeof err), -1, "%s was accepted", text);
    cr_assert(strstr(err, why), "%s: \"%s\" does not say \"%s\"", text, err, why);
}

Test(proxy, list_parsing)
{
    struct cq_proxy_list l = list("");
    cr_assert_eq(l.n, 0);
    l = list("  ");
    cr_assert_eq(l.n, 0);
    l = list("127.0.0.1");
    cr_assert_eq(l.n, 1);
    cr_assert_eq(l.e[0].bits, 128);
    l = list(" 127.0.0.1 , 10.0.0.0/8,::1,fd00::/8, 0.0.0.0/0");
    cr_assert_eq(l.n, 5);
    cr_assert_eq(l.e[1].bits, 96 + 8);
    cr_assert_eq(l.e[2].bits, 128);
    cr_assert_eq(l.e[3].bits, 8);
    cr_assert_eq(l.e[4].bits, 96);

    refused("localhost", "not an IPv4 or IPv6 address");
    refused("127.0.0.1,", "empty entry");
    refused(",127.0.0.1", "empty entry");
    refused("127.0.0.1,,::1", "empty entry");
    refused("10.0.0.0/33", "prefix length is 0 to 32");
    refused("fd00::/129", "prefix length is 0 to 128");
    refused("10.0.0.0/", "prefix length");
    refused("10.0.0.0/8x", "prefix length");
    refused("10.0.0.0/-1", "prefix length");
    refused("10.0.0.1/8", "bits set past its /8 prefix");
    refused("fd00::1/64", "bits set past its /64 prefix");
    refused("1.2.3.4.5", "not an IPv4");
    refused("fe80::1%eth0", "not an IPv4");
}

Test(proxy, list_limits)
{
    char text[CQ_PROXY_LIST_MAX + 16] = "";
    size_t n = 0;
    for (int i = 0; i < CQ_PROXY_MAX; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s10.0.%d.0/24", i ? "," : "", i);
    struct cq_proxy_list l = list(text);
    cr_assert_eq(l.n, CQ_PROXY_MAX);
    snprintf(text + n, sizeof text - n, ",10.1.0.0/16");
    refused(text, "more than 32 entries");
    memset(text, ' ', CQ_PROXY_LIST_MAX);
    text[CQ_PROXY_LIST_MAX] = '\0';
    refused(text, "longer than");
}

Test(proxy, trusted_matches_networks_and_both_families)
{
    struct cq_proxy_list l = list("127.0.0.1,10.0.0.0/8,192.168.1.128/25,fd00::/8,::1");
    cr_assert(cq_proxy_trusted(&l, "127.0.0.1"));
    cr_assert(cq_proxy_trusted(&l, "::ffff:127.0.0.1")); /* a dual-stack socket's view */
    cr_assert(!cq_proxy_trusted(&l, "127.0.0.2"));
    cr_assert(cq_proxy_trusted(&l, "10.255.3.4"));
    cr_assert(!cq_proxy_trusted(&l, "11.0.0.1"));
    cr_assert(cq_proxy_trusted(&l, "192.168.1.200"));
    cr_assert(!cq_proxy_trusted(&l, "192.168.1.127"));
    cr_assert(cq_proxy_trusted(&l, "fd12:3456::1"));
    cr_assert(!cq_proxy_trusted(&l, "fe80::1"));
    cr_assert(cq_proxy_trusted(&l, "::1"));
    cr_assert(!cq_proxy_trusted(&l, "garbage"));
    struct cq_proxy_list none = list("");
    cr_assert(!cq_proxy_trusted(&none, "127.0.0.1"));
}

static enum cq_proxy_pick pick(const struct cq_proxy_list *l, const char *peer, const char *xff,
                               char *out)
{
    return cq_proxy_client(l, peer, xff, out, 64);
}

Test(proxy, client_is_rightmost_untrusted_entry)
{
    struct cq_proxy_list l = list("127.0.0.1,10.0.0.0/8");
    char out[64];
    cr_assert_eq(pick(&l, "127.0.0.1", "203.0.113.7", out), CQ_PROXY_FORWARDED);
    cr_assert_str_eq(out, "203.0.113.7");
    /* A client's own header is prepended to: its claim is never taken. */
    cr_assert_eq(pick(&l, "127.0.0.1", "1.1.1.1, 203.0.113.7", out), CQ_PROXY_FORWARDED);
    cr_assert_str_eq(out, "203.0.113.7");
    /* Chains of our proxies are skipped. */
    cr_assert_eq(pick(&l, "127.0.0.1", "1.1.1.1,203.0.113.7 ,10.1.2.3,\t10.0.0.9", out),
                 CQ_PROXY_FORWARDED);
    cr_assert_str_eq(out, "203.0.113.7");
    /* Every hop trusted: the leftmost. */
    cr_assert_eq(pick(&l, "127.0.0.1", "10.0.0.1, 10.0.0.2", out), CQ_PROXY_FORWARDED);
    cr_assert_str_eq(out, "10.0.0.1");
    /* Empty elements mean nothing. */
    cr_assert_eq(pick(&l, "127.0.0.1", " , 203.0.113.8,,", out), CQ_PROXY_FORWARDED);
    cr_assert_str_eq(out, "203.0.113.8");
    cr_assert_eq(pick(&l, "127.0.0.1", " , ", out), CQ_PROXY_PEER);
    cr_assert_str_eq(out, "127.0.0.1");
    cr_assert_eq(pick(&l, "127.0.0.1", "", out), CQ_PROXY_PEER);
    cr_assert_eq(pick(&l, "127.0.0.1", NULL, out), CQ_PROXY_PEER);
    cr_assert_str_eq(out, "127.0.0.1");
}

Test(proxy, ipv6_and_ports_are_canonical)
{
    struct cq_proxy_list l = list("::1,127.0.0.1");
    char out[64];
    cr_assert_eq(pick(&l, "::1", "2001:DB8:0:0::1", out), CQ_PROXY_FORWARDED);
    cr_assert_str_eq(out, "2001:db8::1");
    cr_assert_eq(pick(&l, "::1", "[2001:db8::2]:4711", out), CQ_PROXY_FORWARDED);
    cr_assert_str_eq(out, "2001:db8::2");
    cr_assert_eq(pick(&l, "::1", "[2001:db8::3]", out), CQ_PROXY_FORWARDED);
    cr_assert_str_eq(out, "2001:db8::3");
    cr_assert_eq(pick(&l, "::1", "198.51.100.4:61000", out), CQ_PROXY_FORWARDED);
    cr_assert_str_eq(out, "198.51.100.4");
    /* An IPv4-mapped entry counts as the IPv4 address, so both spellings
     * of one client share its limits. */
    cr_assert_eq(pick(&l, "127.0.0.1", "::ffff:198.51.100.5", out), CQ_PROXY_FORWARDED);
    cr_assert_str_eq(out, "198.51.100.5");
    cr_assert_eq(pick(&l, "::ffff:127.0.0.1", "198.51.100.6, ::ffff:127.0.0.1", out),
                 CQ_PROXY_FORWARDED);
    cr_assert_str_eq(out, "198.51.100.6");
}

Test(proxy, garbage_falls_back_to_the_peer)
{
    struct cq_proxy_list l = list("127.0.0.1");
    char out[64];
    static const char *const bad[] = {
        "unknown",       "203.0.113.7 extra", "1.2.3.4.5",     "[2001:db8::1",
        "[1.2.3.4]:80",  "1.2.3.4:",          "1.2.3.4:99999", "[::1]:x",
        "1.2.3.4:80:90", "fe80::1%eth0",      "_hidden",       "1.2.3.4, nonsense",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(pick(&l, "127.0.0.1", bad[i], out), CQ_PROXY_GARBAGE, "%s", bad[i]);
        cr_assert_str_eq(out, "127.0.0.1", "%s", bad[i]);
    }
    /* Garbage left of the answer is never read. */
    cr_assert_eq(pick(&l, "127.0.0.1", "nonsense, 203.0.113.7", out), CQ_PROXY_FORWARDED);
    cr_assert_str_eq(out, "203.0.113.7");
}

Test(proxy, header_ignored_unless_peer_is_trusted)
{
    struct cq_proxy_list l = list("10.0.0.0/8"), none = list("");
    char out[64];
    cr_assert_eq(pick(&l, "203.0.113.9", "198.51.100.1", out), CQ_PROXY_PEER);
    cr_assert_str_eq(out, "203.0.113.9");
    cr_assert_eq(pick(&none, "127.0.0.1", "198.51.100.1", out), CQ_PROXY_PEER);
    cr_assert_str_eq(out, "127.0.0.1");
    cr_assert_eq(pick(&l, "203.0.113.9", "garbage", out), CQ_PROXY_PEER);
}
