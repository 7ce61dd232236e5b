/* jscan.c: top-level fields of the server's compact JSON, without parsing.
 *
 * The hot messages (question, progress, reveal, result, leaderboard,
 * answer_ack) arrive by the ten thousand within milliseconds; a full parse of
 * each would delay the reading of the sockets behind it and so inflate the
 * latencies measured. Everything else goes through jansson.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

int64_t cqb_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double cqb_ms(int64_t ns)
{
    return (double)ns / 1e6;
}

static size_t skip_ws(const char *s, size_t i, size_t n)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* s[i] is the opening quote; returns the index after the closing one. */
static size_t skip_string(const char *s, size_t i, size_t n)
{
    for (i++; i < n; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i + 1;
    }
    return n;
}

static size_t skip_value(const char *s, size_t i, size_t n)
{
    if (i >= n)
        return n;
    if (s[i] == '"')
        return skip_string(s, i, n);
    if (s[i] == '{' || s[i] == '[') {
        int depth = 0;
        while (i < n) {
            char c = s[i];
            if (c == '"') {
                i = skip_string(s, i, n);
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if ((c == '}' || c == ']') && --depth == 0)
                return i + 1;
            i++;
        }
        return n;
    }
    while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\n')
        i++;
    return i;
}

const char *cqb_jtop(const char *s, size_t n, const char *key, size_t *vlen)
{
    size_t klen = strlen(key), i = skip_ws(s, 0, n);
    if (i >= n || s[i] != '{')
        return NULL;
    i++;
    for (;;) {
        i = skip_ws(s, i, n);
        if (i >= n || s[i] != '"')
            return NULL;
        size_t ks = i + 1, ke = skip_string(s, i, n);
        bool match = ke - 1 - ks == klen && !memcmp(s + ks, key, klen);
        i = skip_ws(s, ke, n);
        if (i >= n || s[i] != ':')
            return NULL;
        i = skip_ws(s, i + 1, n);
        size_t ve = skip_value(s, i, n);
        if (match) {
            *vlen = ve - i;
            return s + i;
        }
        i = skip_ws(s, ve, n);
        if (i >= n || s[i] != ',')
            return NULL;
        i++;
    }
}

bool cqb_jtop_int(const char *s, size_t n, const char *key, long long *out)
{
    size_t len;
    const char *v = cqb_jtop(s, n, key, &len);
    char tmp[32], *end;
    if (!v || !len || len >= sizeof tmp)
        return false;
    memcpy(tmp, v, len);
    tmp[len] = '\0';
    long long x = strtoll(tmp, &end, 10);
    if (*end)
        return false;
    *out = x;
    return true;
}

bool cqb_jtop_bool(const char *s, size_t n, const char *key, bool *out)
{
    size_t len;
    const char *v = cqb_jtop(s, n, key, &len);
    if (v && len == 4 && !memcmp(v, "true", 4))
        *out = true;
    else if (v && len == 5 && !memcmp(v, "false", 5))
        *out = false;
    else
        return false;
    return true;
}

bool cqb_jtop_type(const char *s, size_t n, char *buf, size_t cap)
{
    size_t len;
    const char *v = cqb_jtop(s, n, "type", &len);
    if (!v || len < 2 || v[0] != '"' || !cap)
        return false;
    len -= 2;
    if (len >= cap)
        len = cap - 1;
    memcpy(buf, v + 1, len);
    buf[len] = '\0';
    return true;
}

uint64_t cqb_mix(uint64_t x)
{
    /* splitmix64 finaliser */
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

double cqb_unit(uint64_t seed, uint64_t a, uint64_t b)
{
    uint64_t h = cqb_mix(seed ^ cqb_mix(a * 0x100000001b3ull ^ cqb_mix(b + 0x51ed27ull)));
    return (double)(h >> 11) / 9007199254740992.0;
}
