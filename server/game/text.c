/* text.c: UTF-8 decoding, folding and trimming for nicknames and answers. */
#include "text.h"

#include "cq_proto.h"

#include <stdint.h>
#include <string.h>

/* Base letters for U+00C0..U+017F; '.' keeps the code point as it is. */
static const char latin1_fold[64] = "aaaaaa.ceeeeiiiidnooooo.ouuuuy.."
                                    "aaaaaa.ceeeeiiiidnooooo.ouuuuy.y";
static const char latin_ext_a_fold[128] =
    "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiii..jjkk."
    "llllllllllnnnnnn...oooooo..rrrrrrssssssssttttttuuuuuuuuuuuu"
    "wwyyyzzzzzzs";

/* Decodes one code point; returns its byte length, 0 on invalid UTF-8. */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xe0) == 0xc0) {
        if ((s[1] & 0xc0) != 0x80 || s[0] < 0xc2)
            return 0;
        *cp = ((uint32_t)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
        return 2;
    }
    if ((s[0] & 0xf0) == 0xe0) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        *cp = ((uint32_t)(s[0] & 0x0f) << 12) | ((uint32_t)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
        if (*cp < 0x800 || (*cp >= 0xd800 && *cp <= 0xdfff))
            return 0;
        return 3;
    }
    if ((s[0] & 0xf8) == 0xf0) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        *cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3f) << 12) |
              ((uint32_t)(s[2] & 0x3f) << 6) | (s[3] & 0x3f);
        if (*cp < 0x10000 || *cp > 0x10ffff)
            return 0;
        return 4;
    }
    return 0;
}

static bool is_space(uint32_t cp)
{
    return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\f' || cp == '\v' ||
           cp == 0xa0;
}

static bool is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0x2028 || cp == 0x2029 ||
           (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) || cp == 0xfeff;
}

bool cq_text_secret_equal(const char *want, const char *guess)
{
    size_t n = strlen(want), m = strlen(guess);
    unsigned char diff = (unsigned char)(m != n);
    for (size_t i = 0; i < n; i++) {
        unsigned char g = i < m ? (unsigned char)guess[i] : 0;
        diff |= (unsigned char)((unsigned char)want[i] ^ g);
    }
    return n > 0 && diff == 0;
}

size_t cq_text_len(const char *s)
{
    return cq_utf8_len(s); /* the protocol's count: one rule for both */
}

bool cq_text_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp;
        size_t n = utf8_next(p, &cp);
        if (!n || is_control(cp))
            return false;
        p += n;
    }
    return true;
}

/* Shared walk: copy with white space collapsed, optionally folding letters. */
static bool text_copy(const char *in, char *out, size_t cap, bool fold)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t o = 0;
    bool pending_space = false;

    if (!cap)
        return false;
    while (*p) {
        uint32_t cp;
        size_t n = utf8_next(p, &cp);
        if (!n)
            return false;
        if (is_space(cp)) {
            pending_space = o > 0;
            p += n;
            continue;
        }
        if (pending_space) {
            if (o + 1 >= cap)
                return false;
            out[o++] = ' ';
            pending_space = false;
        }
        char base = 0;
        if (fold) {
            if (cp >= 'A' && cp <= 'Z')
                base = (char)(cp - 'A' + 'a');
            else if (cp >= 0xc0 && cp <= 0xff && latin1_fold[cp - 0xc0] != '.')
                base = latin1_fold[cp - 0xc0];
            else if (cp >= 0x100 && cp <= 0x17f && latin_ext_a_fold[cp - 0x100] != '.')
                base = latin_ext_a_fold[cp - 0x100];
        }
        if (base) {
            if (o + 1 >= cap)
                return false;
            out[o++] = base;
        } else {
            if (o + n >= cap)
                return false;
            memcpy(out + o, p, n);
            o += n;
        }
        p += n;
    }
    out[o] = '\0';
    return true;
}

bool cq_text_fold(const char *in, char *out, size_t cap)
{
    return text_copy(in, out, cap, true);
}

bool cq_text_trim(const char *in, char *out, size_t cap)
{
    return text_copy(in, out, cap, false);
}
