/* rand.c: the OS random source. */
#include "rand.h"

#include <errno.h>
#include <stdio.h>
#include <sys/random.h>

#include "cq_error.h"

int cq_rand_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return CQ_EINTERNAL;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int cq_rand_token(char *out, size_t cap)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char raw[CQ_TOKEN_BYTES];
    size_t o = 0;
    if (cap < CQ_TOKEN_BYTES * 4 / 3 + 1 || cq_rand_bytes(raw, sizeof raw))
        return CQ_EINTERNAL;
    for (size_t i = 0; i < sizeof raw; i += 3) {
        unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8 | raw[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
    }
    out[o] = '\0';
    return 0;
}

int cq_rand_pin(char out[7])
{
    uint32_t v;
    /* Rejection sampling keeps every PIN equally likely. */
    do {
        if (cq_rand_bytes(&v, sizeof v))
            return CQ_EINTERNAL;
    } while (v >= UINT32_MAX - UINT32_MAX % 900000u);
    snprintf(out, 7, "%06u", 100000u + v % 900000u);
    return 0;
}

uint64_t cq_rand_u64(void)
{
    uint64_t v = 0;
    cq_rand_bytes(&v, sizeof v);
    return v;
}
